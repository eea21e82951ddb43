/* Unit tests: names found by binary search, the first position of a name winning
 * (reconcile/base/nameidx.c). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/base/nameidx.h"

#define NAMES_MAX 8
#define FINDS_MAX 8

struct find {
	const char *name;
	size_t want; /* a position, or NAMEIDX_NONE */
};

struct tcase {
	const char *names[NAMES_MAX]; /* added at positions 0.. ; a NULL entry is skipped */
	size_t n;
	struct find finds[FINDS_MAX];
	size_t nfinds;
};

static const struct tcase cases[] = {
    /* empty: nothing is found, not even the empty name */
    {{NULL}, 0, {{"a", NAMEIDX_NONE}, {"", NAMEIDX_NONE}, {NULL, NAMEIDX_NONE}}, 3},
    /* one name */
    {{"www"}, 1, {{"www", 0}, {"ww", NAMEIDX_NONE}, {"wwww", NAMEIDX_NONE}}, 3},
    /* unsorted input, found at its own position */
    {{"m", "b", "z", "a"}, 4, {{"a", 3}, {"b", 1}, {"m", 0}, {"z", 2}, {"c", NAMEIDX_NONE}}, 5},
    /* equal names: the first position wins, however many follow */
    {{"b", "a", "b", "b", "a"}, 5, {{"a", 1}, {"b", 0}}, 2},
    /* a NULL name (an unnamed endpoint) is not recorded and matches nothing */
    {{"a", NULL, "c"}, 3, {{"a", 0}, {"c", 2}, {NULL, NAMEIDX_NONE}, {"", NAMEIDX_NONE}}, 4},
    /* prefixes and byte order (strcmp: upper case sorts first) */
    {{"ab", "a", "abc", "B", "b"}, 5, {{"a", 1}, {"ab", 0}, {"abc", 2}, {"B", 3}, {"b", 4}}, 5},
};

static void test_nameidx__cases(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
		struct nameidx x;
		nameidx_init(&x);
		for (size_t i = 0; i < cases[c].n; i++)
			nameidx_add(&x, cases[c].names[i], i);
		nameidx_sort(&x);
		for (size_t f = 0; f < cases[c].nfinds; f++) {
			const struct find *q = &cases[c].finds[f];
			size_t got = nameidx_find(&x, q->name);
			if (got != q->want)
				fail_msg("case %zu, '%s': got %zu, want %zu", c,
					 q->name ? q->name : "(null)", got, q->want);
		}
		nameidx_release(&x);
	}
}

/* A reset index is rebuilt from scratch: no name of before is found. */
static void test_nameidx__reset(void **state)
{
	(void)state;
	struct nameidx x;
	nameidx_init(&x);
	nameidx_add(&x, "old", 0);
	nameidx_sort(&x);
	assert_int_equal(nameidx_find(&x, "old"), 0);
	nameidx_reset(&x);
	nameidx_add(&x, "new", 7);
	nameidx_sort(&x);
	assert_int_equal(nameidx_find(&x, "old"), NAMEIDX_NONE);
	assert_int_equal(nameidx_find(&x, "new"), 7);
	nameidx_release(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nameidx__cases),
	    cmocka_unit_test(test_nameidx__reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
