/* Unit tests: merging the shards' drift reports (reconcile/driftmerge.c). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "reconcile/driftmerge.h"

#define SUMMARY_0 "\"in-sync\":0,\"pending\":0,\"external\":0,\"both\":0,\"error\":0"

/* A report of shard i/n with the given endpoints (JSON array members) and summary. */
#define REPORT(commit, ledger, shard, drift, summary, eps)                                         \
	"{\"format_version\":2,\"commit\":\"" commit "\",\"ledger\":\"" ledger                     \
	"\",\"shard\":" shard ",\"drift\":" drift ",\"summary\":{" summary "},\"endpoints\":[" eps \
	"]}"

#define EP(name, status) "{\"name\":\"" name "\",\"status\":\"" status "\"}"

static const char *const s1of2 =
    REPORT("c1", "l1", "{\"index\":1,\"count\":2,\"budget\":\"whole\"}", "true",
	   "\"in-sync\":1,\"pending\":1,\"external\":0,\"both\":0,\"error\":0",
	   EP("zeta", "pending") "," EP("alpha", "in-sync"));
static const char *const s2of2 = REPORT(
    "c1", "l1", "{\"index\":2,\"count\":2,\"budget\":\"whole\"}", "false",
    "\"in-sync\":1,\"pending\":0,\"external\":0,\"both\":0,\"error\":0", EP("mid", "in-sync"));

struct merge_case {
	const char *what;
	const char *docs[3];
	const char *err; /* substring of the error, NULL: merges */
	bool drift;
	const char *names; /* merged endpoint order */
};

static const struct merge_case cases[] = {
    {"two shards, any order", {s2of2, s1of2}, NULL, true, "alpha,mid,zeta"},
    {"a missing shard", {s1of2}, "shard 2/2 is missing", false, NULL},
    {"a repeated shard", {s1of2, s1of2}, "shard 1/2 is also in", false, NULL},
    {"another commit",
     {s1of2, REPORT("c2", "l1", "{\"index\":2,\"count\":2}", "false", SUMMARY_0, "")},
     "commit c2 differs",
     false,
     NULL},
    {"another count",
     {s1of2, REPORT("c1", "l1", "{\"index\":2,\"count\":3}", "false", SUMMARY_0, "")},
     "of 2",
     false,
     NULL},
    {"another budget",
     {s1of2,
      REPORT("c1", "l1", "{\"index\":2,\"count\":2,\"budget\":\"split\"}", "false", SUMMARY_0, "")},
     "--shard-budget split differs",
     false,
     NULL},
    {"an endpoint in two shards",
     {s1of2,
      REPORT("c1", "l1", "{\"index\":2,\"count\":2}", "false", SUMMARY_0, EP("alpha", "in-sync"))},
     "endpoint alpha is also in another shard",
     false,
     NULL},
    {"an unsharded report is 1/1",
     {REPORT("c1", "l1", "null", "false", SUMMARY_0, "")},
     NULL,
     false,
     ""},
    {"not JSON", {"{\"format_version\":2"}, "not a drift --format json report", false, NULL},
    {"another format", {"{\"format_version\":1}"}, "not a drift --format json report", false, NULL},
    {"a summary without error",
     {REPORT("c1", "l1", "null", "false", "\"in-sync\":0", "")},
     "summary",
     false,
     NULL},
};

static void names_of(const char *json, char *buf, size_t n)
{
	size_t at = 0;
	buf[0] = '\0';
	for (const char *p = strstr(json, "\"name\":\""); p; p = strstr(p, "\"name\":\"")) {
		p += 8;
		const char *q = strchr(p, '"');
		at += (size_t)snprintf(buf + at, n - at, "%s%.*s", at ? "," : "", (int)(q - p), p);
	}
}

static void test_driftmerge__cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		const struct merge_case *c = &cases[i];
		struct driftmerge *m = driftmerge_new();
		struct cf_err e;
		struct sb out;
		bool drift = false, differ = false;
		size_t errors = 0;
		int rc = 0;
		err_clear(&e);
		sb_init(&out, 0);
		for (size_t d = 0; d < 3 && c->docs[d] && rc == 0; d++)
			rc = driftmerge_add(m, "r.json", c->docs[d], strlen(c->docs[d]), &e);
		if (rc == 0)
			rc = driftmerge_write(m, &out, &drift, &errors, &differ, &e);
		if (c->err) {
			if (rc == 0 || !strstr(e.msg, c->err))
				fail_msg("%s: expected '%s', got rc %d '%s'", c->what, c->err, rc,
					 e.msg);
		} else {
			char names[256];
			if (rc != 0)
				fail_msg("%s: %s", c->what, e.msg);
			assert_int_equal(drift, c->drift);
			names_of(out.buf, names, sizeof(names));
			assert_string_equal(names, c->names);
		}
		sb_release(&out);
		driftmerge_free(m);
	}
}

/* Summaries add up and a ledger that moved between shards is said, not hidden. */
static void test_driftmerge__sums_and_ledgers(void **state)
{
	(void)state;
	const char *other =
	    REPORT("c1", "l2", "{\"index\":2,\"count\":2}", "false",
		   "\"in-sync\":0,\"pending\":0,\"external\":0,\"both\":0,\"error\":3",
		   EP("mid", "error"));
	struct driftmerge *m = driftmerge_new();
	struct cf_err e;
	struct sb out;
	bool drift = false, differ = false;
	size_t errors = 0;
	sb_init(&out, 0);
	assert_int_equal(driftmerge_add(m, "a", s1of2, strlen(s1of2), &e), 0);
	assert_int_equal(driftmerge_add(m, "b", other, strlen(other), &e), 0);
	assert_int_equal(driftmerge_write(m, &out, &drift, &errors, &differ, &e), 0);
	assert_true(drift);
	assert_true(differ);
	assert_int_equal(errors, 3);
	assert_non_null(strstr(out.buf, "\"summary\":{\"in-sync\":1,\"pending\":1,\"external\":0,"
					"\"both\":0,\"error\":3}"));
	assert_non_null(strstr(out.buf, "\"ledgers_differ\":true"));
	sb_release(&out);
	driftmerge_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_driftmerge__cases),
	    cmocka_unit_test(test_driftmerge__sums_and_ledgers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
