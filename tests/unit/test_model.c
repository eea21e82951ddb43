/* Unit tests: durations, string builder, cache comparison. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/base/model.h"
#include "reconcile/base/sb.h"

struct dur_case {
	const char *in;
	int ok;
	int64_t secs;
};

static const struct dur_case dur_cases[] = {
    {"0", 1, 0},
    {"86400", 1, 86400},
    {"30d", 1, 2592000},
    {"1h30m", 1, 5400},
    {"90s", 1, 90},
    {"1w2d", 1, 777600},
    {"", 0, 0},
    {"-1", 0, 0},
    {"1x", 0, 0},
    {"1m1h", 0, 0},
    {"1d2", 0, 0},
    {"abc", 0, 0},
    {"99999999999999999999", 0, 0},
    {"3153600001", 0, 0},
    {"1.5h", 0, 0},
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

struct fmt_case {
	int64_t secs;
	const char *text;
};

static const struct fmt_case fmt_cases[] = {
    {0, "0"},	     {59, "59s"},      {5400, "1h30m"}, {86400, "1d"},	     {604800, "1w"},
    {1209600, "2w"}, {2592000, "30d"}, {777600, "9d"},	{90061, "1d1h1m1s"},
};

static void test_model__duration_format_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(fmt_cases); i++) {
		char buf[64];
		duration_format(fmt_cases[i].secs, buf, sizeof(buf));
		assert_string_equal(buf, fmt_cases[i].text);
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

/* A list packed into a config's arena behaves like an owned one for every svec helper. */
static void test_model__borrowed_svec(void **state)
{
	(void)state;
	struct config *c = config_new();
	struct pos p = pos_make(config_intern_file(c, "t.yaml"), 3, 7);
	struct svec v = {0};
	v.v = config_alloc(c, 2, sizeof(*v.v));
	v.v[0].s = config_strndup(c, "/img/xyz", 5);
	v.v[0].pos = p;
	v.v[1].s = config_strndup(c, "/doc/", 5);
	v.n = 2;
	assert_true(svec_borrowed(&v));
	assert_string_equal(v.v[0].s, "/img/");
	assert_true(svec_contains(&v, "/doc/"));

	/* pushing copies the list to the heap first; the arena copy is left alone */
	struct svec w = v;
	svec_push(&w, "/js/", NULL);
	assert_false(svec_borrowed(&w));
	assert_int_equal(w.n, 3);
	assert_ptr_not_equal(w.v[0].s, v.v[0].s);
	assert_string_equal(w.v[0].s, "/img/");
	assert_int_equal(w.v[0].pos.line, 7 - 4);
	assert_string_equal(w.v[2].s, "/js/");
	svec_release(&w); /* frees heap strings: ASan reports any arena pointer freed */

	/* releasing a borrowed list, alone or in a rule, only forgets it */
	struct cache cache;
	memset(&cache, 0, sizeof(cache));
	cache_add_rule(&cache)->items = v;
	struct cache copy;
	cache_copy(&copy, &cache);
	assert_true(cache_equal(&copy, &cache));
	assert_false(svec_borrowed(&copy.rules[0].items));
	cache_release(&copy);
	cache_release(&cache);
	svec_release(&v);
	assert_null(v.v);
	assert_int_equal(v.n, 0);

	/* many blocks, one bigger than a chunk, alignment kept for arrays */
	for (int i = 0; i < 10000; i++) {
		struct sval *a = config_alloc(c, 3, sizeof(*a));
		assert_int_equal((uintptr_t)a % _Alignof(struct sval), 0);
		assert_null(a[2].s);
		(void)config_strndup(c, "abc", 1 + (size_t)(i % 3));
	}
	char big[100000];
	memset(big, 'x', sizeof(big));
	char *b = config_strndup(c, big, sizeof(big));
	assert_int_equal(strlen(b), sizeof(big));
	config_free(c);
}

/* A position is 8 bytes; line and column saturate at their field's maximum, never wrap. */
static const struct {
	unsigned line, col, want_line, want_col;
} pos_cases[] = {
    {1, 1, 1, 1},
    {0, 0, 0, 0},
    {POS_LINE_MAX, POS_COL_MAX, POS_LINE_MAX, POS_COL_MAX},
    {POS_LINE_MAX + 1, 7, POS_LINE_MAX, 7},
    {12, POS_COL_MAX + 1, 12, POS_COL_MAX},
    {UINT32_MAX, UINT32_MAX, POS_LINE_MAX, POS_COL_MAX},
};

static void test_model__pos(void **state)
{
	(void)state;
	struct config *c = config_new();
	assert_int_equal(sizeof(struct pos), 8);
	assert_int_equal(POS_LINE_MAX, 1048575);
	assert_int_equal(POS_COL_MAX, 4095);
	uint32_t a = config_intern_file(c, "endpoints/a.yaml");
	uint32_t b = config_intern_file(c, "endpoints/b.yaml");
	assert_int_not_equal(a, 0);
	assert_int_not_equal(a, b);
	assert_int_equal(config_intern_file(c, "endpoints/a.yaml"), a);
	for (size_t i = 0; i < CF_ARRAY_LEN(pos_cases); i++) {
		struct pos p = pos_make(b, pos_cases[i].line, pos_cases[i].col);
		struct loc l;
		assert_ptr_equal(config_loc(c, &p, &l), &l);
		assert_string_equal(l.file, "endpoints/b.yaml");
		assert_int_equal(l.line, pos_cases[i].want_line);
		assert_int_equal(l.col, pos_cases[i].want_col);
	}
	struct pos none = {0};
	struct loc l;
	assert_null(config_loc(c, NULL, &l));
	assert_ptr_equal(config_loc(c, &none, &l), &l);
	assert_null(l.file);
	assert_null(config_file_name(c, 0));
	assert_null(config_file_name(c, b + 1));
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_model__duration_parse),
	    cmocka_unit_test(test_model__duration_format_roundtrip),
	    cmocka_unit_test(test_model__duration_format_text),
	    cmocka_unit_test(test_model__sb_cap),
	    cmocka_unit_test(test_model__cache_equal),
	    cmocka_unit_test(test_model__borrowed_svec),
	    cmocka_unit_test(test_model__pos),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
