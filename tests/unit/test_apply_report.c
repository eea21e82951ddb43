/* Unit tests: `apply --format json` operations (reconcile/apply.c apply_report_json). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/apply.h"
#include "reconcile/base/xmem.h"

/* One item: a rule write or a purge, its operations' statuses and one task each. */
struct item_case {
	const char *endpoint, *manifest, *detail;
	enum apply_outcome outcome;
	int nops; /* rules: 1 (ops[0] = rules); purge: 2 (purge, preload) */
	enum apply_status st[2];
	const char *task_id; /* NULL: the task whose answer could not be read */
	const char *task_state;
};

struct report_case {
	const char *name;
	struct item_case items[3];
	size_t nitems;
	const char *want; /* the whole output of apply_report_json */
};

static const struct report_case cases[] = {
    {"nothing applied",
     {{0}},
     0,
     "\"operations\":[],\"totals\":{\"done\":0,\"failed\":0,\"not attempted\":0,\"submitted\":0,"
     "\"unknown\":0}"},
    {"a rule write and a purge whose preload was not attempted",
     {{"www", NULL, NULL, APPLY_DONE, 1, {APPLY_ST_DONE}, "t-1", "succeeded"},
      {"www",
       "logo",
       "HTTP 500",
       APPLY_FAILED,
       2,
       {APPLY_ST_FAILED, APPLY_ST_NOT_ATTEMPTED},
       "t-2",
       "failed"}},
     2,
     "\"operations\":[\n"
     "{\"operation\":\"rules\",\"endpoint\":\"www\",\"manifest\":null,\"status\":\"done\","
     "\"tasks\":[{\"id\":\"t-1\",\"state\":\"succeeded\"}],\"error\":null},\n"
     "{\"operation\":\"purge\",\"endpoint\":\"www\",\"manifest\":\"logo\",\"status\":\"failed\","
     "\"tasks\":[{\"id\":\"t-2\",\"state\":\"failed\"}],\"error\":\"HTTP 500\"},\n"
     "{\"operation\":\"preload\",\"endpoint\":\"www\",\"manifest\":\"logo\",\"status\":\"not "
     "attempted\",\"tasks\":[{\"id\":\"t-2\",\"state\":\"failed\"}],\"error\":\"HTTP 500\"}],"
     "\"totals\":{\"done\":1,\"failed\":1,\"not attempted\":1,\"submitted\":0,\"unknown\":0}"},
    {"names and errors escaped: quote, backslash, newline, control byte; unknown task",
     {{"w\"w",
       "a\\b",
       "line1\nline2\x01",
       APPLY_FAILED,
       2,
       {APPLY_ST_UNKNOWN, APPLY_ST_DONE},
       NULL,
       "unknown"}},
     1,
     "\"operations\":[\n"
     "{\"operation\":\"purge\",\"endpoint\":\"w\\\"w\",\"manifest\":\"a\\\\b\",\"status\":"
     "\"unknown\",\"tasks\":[{\"id\":null,\"state\":\"unknown\"}],\"error\":\"line1\\nline2"
     "\\u0001\"},\n"
     "{\"operation\":\"preload\",\"endpoint\":\"w\\\"w\",\"manifest\":\"a\\\\b\",\"status\":"
     "\"done\",\"tasks\":[{\"id\":null,\"state\":\"unknown\"}],\"error\":null}],"
     "\"totals\":{\"done\":1,\"failed\":0,\"not attempted\":0,\"submitted\":0,\"unknown\":1}"},
};

static void item_build(struct apply_item *it, const struct item_case *ic)
{
	it->what = xstrdup("x");
	it->endpoint = xstrdup(ic->endpoint);
	it->manifest = ic->manifest ? xstrdup(ic->manifest) : NULL;
	it->detail = ic->detail ? xstrdup(ic->detail) : NULL;
	it->outcome = ic->outcome;
	for (int k = 0; k < ic->nops; k++) {
		struct apply_opres *op =
		    &it->ops[ic->manifest ? APPLY_OP_PURGE + k : APPLY_OP_RULES];
		op->present = true;
		op->status = ic->st[k];
		op->tasks = xcalloc(1, sizeof(*op->tasks));
		op->tasks[0].id = ic->task_id ? xstrdup(ic->task_id) : NULL;
		op->tasks[0].state = ic->task_state;
		op->ntasks = 1;
	}
}

static void test_apply_report__json(void **state)
{
	(void)state;
	for (size_t c = 0; c < CF_ARRAY_LEN(cases); c++) {
		struct apply_result r = {0};
		struct sb out;
		r.v = xcalloc(cases[c].nitems + 1, sizeof(*r.v));
		r.n = r.cap = cases[c].nitems;
		for (size_t i = 0; i < cases[c].nitems; i++)
			item_build(&r.v[i], &cases[c].items[i]);
		sb_init(&out, 0);
		apply_report_json(&r, &out);
		if (strcmp(out.buf, cases[c].want) != 0)
			fail_msg("%s:\n got  %s\n want %s", cases[c].name, out.buf, cases[c].want);
		sb_release(&out);
		apply_result_release(&r);
	}
}

static void test_apply_report__names(void **state)
{
	(void)state;
	assert_string_equal(apply_status_name(APPLY_ST_NOT_ATTEMPTED), "not attempted");
	assert_string_equal(apply_status_name(APPLY_ST_UNKNOWN), "unknown");
	assert_string_equal(apply_op_name(APPLY_OP_PRELOAD), "preload");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apply_report__json),
	    cmocka_unit_test(test_apply_report__names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
