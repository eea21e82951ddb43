/* Unit tests: unified line diff (reconcile/textdiff.c), checked against `diff -u` output. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/textdiff.h"

struct tcase {
	const char *a, *b;
	const char *want; /* NULL: equal texts, nothing appended */
};

/* The hunks are what GNU diff -u prints for the same two files (headers dropped). */
static const struct tcase cases[] = {
    {"a\nb\n", "a\nb\n", NULL},
    {"", "", NULL},
    {"a\n", "b\n", "@@ -1 +1 @@\n-a\n+b\n"},
    {"", "x\ny\n", "@@ -0,0 +1,2 @@\n+x\n+y\n"},
    {"x\ny\n", "", "@@ -1,2 +0,0 @@\n-x\n-y\n"},
    /* one changed line in the middle: three lines of context each side */
    {"1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n",
     "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n"},
    /* two changes 8 kept lines apart: two hunks */
    {"a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n", "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n",
     "@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-b\n+B\n"},
    /* two changes 6 kept lines apart: one hunk */
    {"a\n1\n2\n3\n4\n5\n6\nb\n", "A\n1\n2\n3\n4\n5\n6\nB\n",
     "@@ -1,8 +1,8 @@\n-a\n+A\n 1\n 2\n 3\n 4\n 5\n 6\n-b\n+B\n"},
    /* a TTL change in an Edge Logic region, no final newline on either side */
    {"location ~ \"^/img/\" {\n  proxy_cache_valid 1d;\n}",
     "location ~ \"^/img/\" {\n  "
     "proxy_cache_valid 2d;\n}",
     "@@ -1,3 +1,3 @@\n location ~ \"^/img/\" {\n-  proxy_cache_valid 1d;\n+  proxy_cache_valid "
     "2d;\n }\n"},
    /* an inserted block */
    {"b\nc\n", "a\nb\nc\n", "@@ -1,2 +1,3 @@\n+a\n b\n c\n"},
};

static void test_textdiff__cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct sb out;
		sb_init(&out, 0);
		bool differ = textdiff_unified(cases[i].a, strlen(cases[i].a), cases[i].b,
					       strlen(cases[i].b), &out);
		if (!cases[i].want) {
			assert_false(differ);
			assert_int_equal(out.len, 0);
		} else {
			assert_true(differ);
			if (strcmp(out.buf, cases[i].want) != 0)
				fail_msg("case %zu:\n%s\nwant:\n%s", i, out.buf, cases[i].want);
		}
		sb_release(&out);
	}
}

/* Over TEXTDIFF_LINES_MAX lines a side: one line says so (no quadratic table). */
static void test_textdiff__too_long(void **state)
{
	(void)state;
	struct sb a, out;
	sb_init(&a, 0);
	sb_init(&out, 0);
	for (int i = 0; i <= TEXTDIFF_LINES_MAX; i++)
		sb_addf(&a, "%d\n", i);
	assert_true(textdiff_unified(a.buf, a.len, "x\n", 2, &out));
	assert_string_equal(out.buf, "@@ 4001 lines -> 1 lines (too long to show) @@\n");
	sb_release(&a);
	sb_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_textdiff__cases),
	    cmocka_unit_test(test_textdiff__too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
