/*
 * cacheform ledger list | show ID | mark ID... | compact --before DATE: read, adopt and
 * summarise records on refs/cacheform/ledger.
 */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "cmd/cacheform/cmd_load.h"

#include <inttypes.h>
#include <time.h>

#include "reconcile/engine.h"
#include "reconcile/ledger.h"
#include "reconcile/planfile.h"
#include "reconcile/repo_ledger.h"
#include "reconcile/base/xmem.h"

static const char *opt_repo, *opt_message, *opt_before;

#define LEDGER_USAGE                                                                               \
	"usage: cacheform ledger list | show ID | mark ID... | compact --before DATE [--repo "     \
	"DIR]\n"

const struct opt ledger_opts[] = {
    {"before", 0, OPT_STR, &opt_before, "DATE",
     "compact: records finished before DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)"},
    {"message", 'm', OPT_STR, &opt_message, "TEXT", "mark: why the manifests count as applied"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

static void time_text(int64_t t, char *buf, size_t n)
{
	if (t)
		planfile_time_format(t, buf, n);
	else
		snprintf(buf, n, "-");
}

/* A ledger is shared through git: anyone who can push may put any text in an id. */
static const char *safe(struct sb *sb, const char *s)
{
	sb_reset(sb);
	(void)sb_add_safe(sb, s);
	return sb->buf ? sb->buf : "";
}

static int ledger_list(const struct ledger *l)
{
	struct sb a, b;
	char when[32];
	sb_init(&a, 0);
	sb_init(&b, 0);
	if (!l->npurges && !l->nendpoints) {
		printf("The ledger is empty (no %s yet).\n", REPO_LEDGER_REF);
		return EXIT_OK;
	}
	if (l->npurges)
		printf("%-32s %-20s %-10s %-20s %s\n", "PURGE", "ENDPOINT", "STATUS", "SUBMITTED",
		       "TASKS");
	for (size_t i = 0; i < l->npurges; i++) {
		const struct ledger_purge *p = &l->purges[i];
		time_text(p->submitted_at, when, sizeof(when));
		printf("%-32s %-20s %-10s %-20s %zu\n", safe(&a, p->id), safe(&b, p->endpoint),
		       ledger_status_name(p->status), when, p->ntasks);
	}
	if (l->nendpoints)
		printf("%s%-32s %-20s %-12s %s\n", l->npurges ? "\n" : "", "ENDPOINT", "APPLIED",
		       "COMMIT", "RULES");
	for (size_t i = 0; i < l->nendpoints; i++) {
		const struct ledger_endpoint *ep = &l->endpoints[i];
		time_text(ep->applied_at, when, sizeof(when));
		printf("%-32s %-20s %-12.12s %zu\n", safe(&a, ep->name), when,
		       ep->commit[0] ? safe(&b, ep->commit) : "-", ep->cache.nrules);
	}
	sb_release(&a);
	sb_release(&b);
	return EXIT_OK;
}

/* ID names a purge manifest (every endpoint's record) or an endpoint. */
static int ledger_show(const struct ledger *l, const char *id)
{
	struct sb out;
	int found = 0;
	sb_init(&out, 0);
	for (size_t i = 0; i < l->npurges; i++)
		if (strcmp(l->purges[i].id, id) == 0 &&
		    ledger_purge_encode(&l->purges[i], &out) == 0)
			found++;
	const struct ledger_endpoint *ep = ledger_find_endpoint(l, id);
	if (ep && ledger_endpoint_encode(ep, &out) == 0)
		found++;
	fwrite(out.buf, 1, out.len, stdout);
	sb_release(&out);
	if (!found) {
		fprintf(stderr, "cacheform ledger: no record for '%s'\n", id);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

static void mark_record(struct ledger_purge *r, const struct purge *m, const char *ep,
			const char *commit)
{
	memset(r, 0, sizeof(*r));
	r->id = (char *)m->id.s;
	r->endpoint = (char *)ep;
	memcpy(r->content_hash, m->content_hash, sizeof(r->content_hash));
	r->status = LEDGER_MARKED;
	r->finished_at = (int64_t)time(NULL);
	snprintf(r->commit, sizeof(r->commit), "%s", commit);
	r->message =
	    (char *)(opt_message ? opt_message : "marked as applied by 'cacheform ledger mark'");
}

/* Records each manifest, on each of its endpoints that has no final record, as applied. */
static int ledger_mark(char **ids, int n)
{
	struct engine en;
	struct cf_err e;
	struct engine_opts eo = {NULL, NULL, NULL, 0, true, NULL, NULL};
	struct ledger_purge *recs = NULL;
	size_t nrec = 0, cap = 0;
	int ret = EXIT_ERROR;
	err_clear(&e);
	if (cmd_engine_open(&en, opt_repo, NULL, &eo, &e) < 0) {
		err_print(&e);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct purge *m = config_purge(en.cfg, ids[i]);
		if (!m) {
			fprintf(stderr,
				"cacheform ledger: no purge manifest '%s' in the repository\n",
				ids[i]);
			goto out;
		}
		for (size_t j = 0; j < m->endpoints.n; j++) {
			const struct ledger_purge *old =
			    ledger_find_purge(&en.led, ids[i], m->endpoints.v[j].s);
			if (old && ledger_status_final(old->status) &&
			    old->status != LEDGER_FAILED) {
				printf("%s on %s: already %s\n", ids[i], m->endpoints.v[j].s,
				       ledger_status_name(old->status));
				continue;
			}
			xgrow(&recs, &cap, nrec + 1, sizeof(*recs));
			mark_record(&recs[nrec++], m, m->endpoints.v[j].s, en.commit);
			printf("%s on %s: marked\n", ids[i], m->endpoints.v[j].s);
		}
	}
	if (nrec &&
	    repo_ledger_record(en.rl, recs, nrec, NULL, 0, "cacheform ledger mark", &e) < 0) {
		err_print(&e);
		goto out;
	}
	ret = EXIT_OK;
out:
	free(recs);
	engine_close(&en);
	return ret;
}

static int ledger_read_only(int (*fn)(const struct ledger *, const char *), const char *arg)
{
	struct repo_ledger *rl = NULL;
	struct ledger l;
	struct cf_err e;
	int ret = EXIT_ERROR;
	err_clear(&e);
	ledger_init(&l);
	/* show (arg: a manifest id or endpoint name) reads its records only, list all of them */
	if (repo_ledger_open(opt_repo ? opt_repo : ".", &rl, &e) < 0 ||
	    (arg ? repo_ledger_read_manifest(rl, arg, &l, &e) : repo_ledger_read(rl, &l, &e)) < 0) {
		err_print(&e);
		goto out;
	}
	ret = fn(&l, arg);
out:
	ledger_release(&l);
	repo_ledger_close(rl);
	return ret;
}

static int list_adapter(const struct ledger *l, const char *unused)
{
	CF_UNUSED(unused);
	return ledger_list(l);
}

/* DATE as unix seconds: a day (its 00:00 UTC) or a UTC time. */
static int parse_before(const char *s, int64_t *t)
{
	struct sb full;
	sb_init(&full, 0);
	sb_adds(&full, s);
	if (strlen(s) == strlen("YYYY-MM-DD"))
		sb_adds(&full, "T00:00:00Z");
	int rc = planfile_time_parse(full.buf, t);
	sb_release(&full);
	return rc;
}

/*
 * Replaces old succeeded and marked records by one summary per manifest (one commit); what
 * plan and the quotas need of them stays (README: Compacting the ledger).
 */
static int ledger_compact(void)
{
	struct repo_ledger *rl = NULL;
	struct cf_err e;
	int64_t before;
	size_t records = 0, manifests = 0;
	char when[32];
	err_clear(&e);
	if (!opt_before || parse_before(opt_before, &before) < 0) {
		fprintf(stderr, "cacheform ledger: compact needs --before YYYY-MM-DD (or "
				"YYYY-MM-DDTHH:MM:SSZ)\n");
		return EXIT_USAGE;
	}
	planfile_time_format(before, when, sizeof(when));
	struct sb msg;
	sb_init(&msg, 0);
	sb_addf(&msg, "cacheform ledger compact --before %s", when);
	int ret = EXIT_ERROR;
	if (repo_ledger_open(opt_repo ? opt_repo : ".", &rl, &e) < 0 ||
	    repo_ledger_compact(rl, before, msg.buf, &records, &manifests, &e) < 0) {
		err_print(&e);
		goto out;
	}
	printf("Compacted %zu record%s of %zu manifest%s finished before %s.\n", records,
	       records == 1 ? "" : "s", manifests, manifests == 1 ? "" : "s", when);
	ret = EXIT_OK;
out:
	sb_release(&msg);
	repo_ledger_close(rl);
	return ret;
}

int cmd_ledger(int argc, char **argv)
{
	int npos;
	if (opt_parse("ledger", ledger_opts, argc, argv, &npos) < 0)
		return EXIT_USAGE;
	if (npos < 1) {
		fputs(LEDGER_USAGE, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "list") == 0 && npos == 1)
		return ledger_read_only(list_adapter, NULL);
	if (strcmp(argv[0], "show") == 0 && npos == 2)
		return ledger_read_only(ledger_show, argv[1]);
	if (strcmp(argv[0], "mark") == 0 && npos >= 2)
		return ledger_mark(argv + 1, npos - 1);
	if (strcmp(argv[0], "compact") == 0 && npos == 1)
		return ledger_compact();
	fputs(LEDGER_USAGE, stderr);
	return EXIT_USAGE;
}
