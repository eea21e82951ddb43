/*
 * cacheform drift-merge FILE...: one fleet report from the `drift --format json --shard I/N`
 * reports of all N shards (reconcile/driftmerge.h). Exit codes as drift's: 2 on drift, 1 when
 * an endpoint could not be checked or the reports do not make one fleet, 0 otherwise.
 */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"

#include <errno.h>
#include <string.h>

#include "reconcile/base/sb.h"
#include "reconcile/driftmerge.h"

#define DRIFT_MERGE_READ_CHUNK 65536

const struct opt drift_merge_opts[] = {
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

/* Reads path whole into out (capped at DRIFTMERGE_MAX_BYTES). Returns 0 or CF_EIO with e. */
static int read_report(const char *path, struct sb *out, struct cf_err *e)
{
	FILE *f = fopen(path, "rb");
	char buf[DRIFT_MERGE_READ_CHUNK];
	size_t n;
	int rc = CF_OK;
	if (!f)
		return err_set(e, CF_EIO, "%s: cannot open: %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (sb_add(out, buf, n) < 0) {
			rc = err_set(e, CF_EIO, "%s: larger than %zu bytes", path,
				     DRIFTMERGE_MAX_BYTES);
			goto done;
		}
	if (ferror(f))
		rc = err_set(e, CF_EIO, "%s: cannot read: %s", path, strerror(errno));
done:
	fclose(f);
	return rc;
}

static int merge_files(struct driftmerge *m, int n, char **paths, struct cf_err *e)
{
	for (int i = 0; i < n; i++) {
		struct sb text;
		sb_init(&text, DRIFTMERGE_MAX_BYTES);
		int rc = read_report(paths[i], &text, e);
		if (rc == 0)
			rc = driftmerge_add(m, paths[i], text.buf ? text.buf : "", text.len, e);
		sb_release(&text);
		if (rc < 0)
			return rc;
	}
	return CF_OK;
}

int cmd_drift_merge(int argc, char **argv)
{
	int npos, ret = EXIT_ERROR;
	struct cf_err e;
	struct sb out;
	bool drift = false, ledgers_differ = false;
	size_t errors = 0;
	err_clear(&e);
	sb_init(&out, 0);
	if (opt_parse("drift-merge", drift_merge_opts, argc, argv, &npos) < 0)
		return EXIT_USAGE;
	if (npos == 0) {
		fprintf(stderr, "cacheform drift-merge: give the shards' drift --format json "
				"reports\n");
		return EXIT_USAGE;
	}
	struct driftmerge *m = driftmerge_new();
	if (merge_files(m, npos, argv, &e) < 0 ||
	    driftmerge_write(m, &out, &drift, &errors, &ledgers_differ, &e) < 0) {
		fprintf(stderr, "cacheform drift-merge: %s\n", e.msg);
		goto done;
	}
	if (ledgers_differ)
		fprintf(stderr, "cacheform drift-merge: warning: the shards read different ledger "
				"tips (an apply ran between them); last_applied may mix them\n");
	if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout)) {
		fprintf(stderr, "cacheform drift-merge: cannot write the output\n");
		goto done;
	}
	ret = errors ? EXIT_ERROR : drift ? EXIT_CHANGES : EXIT_OK;
done:
	driftmerge_free(m);
	sb_release(&out);
	return ret;
}
