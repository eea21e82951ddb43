/* Unit tests: durations, string builder, cache comparison. */
#include "reconcile/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/model.h"
#include "reconcile/sb.h"

struct dur_case {
	const char *in;
	int ok;
	int64_t secs;
};

static const struct dur_case dur_cases[] = {
	{"0", 1, 0},	       {"86400", 1, 86400},	{"30d", 1, 2592000},
	{"1h30m", 1, 5400},    {"90s", 1, 90},		{"1w2d", 1, 777600},
	{"", 0, 0},	       {"-1", 0, 0},		{"1x", 0, 0},
	{"1m1h", 0, 0},	       {"1d2", 0, 0},		{"abc", 0, 0},
	{"99999999999999999999", 0, 0}, {"3153600001", 0, 0}, {"1.5h", 0, 0},
};

static void test_model__duration_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(dur_cases); i++) {
		int64_t v = -7;
		const char *why = NULL;
		int r = duration_parse(dur_cases[i].in, &v, &why);
		if (dur_cases[i].ok) {
			assert_int_equal(r, 0);
			assert_int_equal(v, dur_cases[i].secs);
		} else {
			assert_int_equal(r, -1);
			assert_non_null(why);
		}
	}
}

static void test_model__duration_format_roundtrip(void **state)
{
	(void)state;
	const int64_t v[] = {0, 1, 59, 60, 3600, 5400, 86400, 90061, 604800, 2592000};
	for (size_t i = 0; i < CF_ARRAY_LEN(v); i++) {
		char buf[64];
		int64_t back = -1;
		const char *why;
		duration_format(v[i], buf, sizeof(buf));
		assert_int_equal(duration_parse(buf, &back, &why), 0);
		assert_int_equal(back, v[i]);
	}
}

static void test_model__sb_cap(void **state)
{
	(void)state;
	struct sb sb;
	sb_init(&sb, 8);
	assert_int_equal(sb_adds(&sb, "12345678"), 0);
	assert_int_equal(sb_adds(&sb, "9"), -1);
	assert_true(sb.overflow);
	assert_string_equal(sb.buf, "12345678");
	sb_reset(&sb);
	assert_int_equal(sb_addf(&sb, "%d-%s", 7, "x"), 0);
	assert_string_equal(sb.buf, "7-x");
	sb_release(&sb);
	sb_init(&sb, 0);
	assert_int_equal(sb_add_json_str(&sb, "a\"\\\n\x01"), 0);
	assert_string_equal(sb.buf, "\"a\\\"\\\\\\n\\u0001\"");
	char *p = sb_detach(&sb);
	assert_string_equal(sb.buf, "");
	free(p);
}

static void test_model__cache_equal(void **state)
{
	(void)state;
	struct cache a = {0}, b = {0};
	struct rule *r = cache_add_rule(&a);
	r->kind = RULE_DIR;
	r->ttl = 60;
	svec_push(&r->items, "/img/", NULL);
	cache_copy(&b, &a);
	assert_true(cache_equal(&a, &b));
	b.rules[0].ttl = 61;
	assert_false(cache_equal(&a, &b));
	b.rules[0].ttl = 60;
	b.ignore_cookie = true;
	assert_false(cache_equal(&a, &b));
	cache_release(&a);
	cache_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model__duration_parse),
		cmocka_unit_test(test_model__duration_format_roundtrip),
		cmocka_unit_test(test_model__sb_cap),
		cmocka_unit_test(test_model__cache_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
