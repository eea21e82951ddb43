/* Unit tests: durations, string builder, cache comparison, packed copies. */
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
	/* a byte at a time: through a growth (past the first 64 bytes) and up to the cap */
	static const size_t caps[] = {1, 63, 64, 65, 200};
	for (size_t i = 0; i < CF_ARRAY_LEN(caps); i++) {
		sb_init(&sb, caps[i]);
		for (size_t k = 0; k < caps[i]; k++)
			assert_int_equal(sb_addc(&sb, (char)('a' + k % 26)), 0);
		assert_int_equal(sb.len, caps[i]);
		assert_int_equal(strlen(sb.buf), caps[i]);
		assert_int_equal(sb.buf[caps[i] - 1], 'a' + (caps[i] - 1) % 26);
		assert_false(sb.overflow);
		assert_int_equal(sb_addc(&sb, 'z'), -1);
		assert_true(sb.overflow);
		assert_int_equal(sb.len, caps[i]);
		sb_release(&sb);
	}
	sb_init(&sb, 0);
	assert_int_equal(sb_add_json_str(&sb, "a\"\\\n\x01"), 0);
	assert_string_equal(sb.buf, "\"a\\\"\\\\\\n\\u0001\"");
	/* runs without an escape are copied whole, around escapes, UTF-8 and DEL */
	static const struct {
		const char *in, *out;
	} json_cases[] = {
	    {"", "\"\""},
	    {"plain run /with/ slashes", "\"plain run /with/ slashes\""},
	    {"ab\"cd\\ef\tg", "\"ab\\\"cd\\\\ef\\tg\""},
	    {"caf\xc3\xa9 ok\x7f", "\"caf\xc3\xa9 ok\x7f\""},
	    {"\x1f\x01x", "\"\\u001f\\u0001x\""},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(json_cases); i++) {
		struct sb j;
		sb_init(&j, 0);
		assert_int_equal(sb_add_json_str(&j, json_cases[i].in), 0);
		assert_string_equal(j.buf, json_cases[i].out);
		sb_release(&j);
	}
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

/*
 * The arena fills a chunk from both ends (arrays up, strings down), so a list's array after a
 * string of any length loses nothing to alignment: n pairs of (an array of k svals, a string
 * of slen bytes with its NUL) take exactly n * (16k + slen + 1) bytes, and a 64 KiB chunk holds
 * as many as fit. Each case: how many pairs, k, slen, and how many 64 KiB chunks they need.
 */
static const struct {
	size_t pairs, k, slen;
	size_t want_chunks;
} arena_cases[] = {
    {2800, 1, 6, 1},   /* 2800 * 23 = 64,400 bytes: one chunk (one-ended: 2800 * 32, two) */
    {2849, 1, 6, 1},   /* 65,527 bytes: the last 9 bytes of the chunk stay free */
    {2850, 1, 6, 2},   /* 65,550 bytes: one pair more than a chunk holds */
    {1000, 2, 0, 1},   /* 33,000 bytes of empty strings and two-sval arrays */
    {100, 0, 650, 1},  /* strings only: 100 * 651 = 65,100 bytes, one chunk... */
    {101, 0, 650, 2},  /* ...and the 101st needs a second */
    {5000, 3, 15, 5},  /* 1024 pairs of 64 bytes a chunk: 5 chunks for 5000 */
};

static void test_model__arena_two_ends(void **state)
{
	(void)state;
	for (size_t t = 0; t < CF_ARRAY_LEN(arena_cases); t++) {
		struct config *c = config_new();
		char str[1024];
		size_t k = arena_cases[t].k, slen = arena_cases[t].slen;
		memset(str, 'a' + (int)(t % 26), sizeof(str));
		char **strs = calloc(arena_cases[t].pairs, sizeof(*strs));
		struct sval **arrs = calloc(arena_cases[t].pairs, sizeof(*arrs));
		assert_non_null(strs);
		assert_non_null(arrs);
		for (size_t i = 0; i < arena_cases[t].pairs; i++) {
			if (k) {
				arrs[i] = config_alloc(c, k, sizeof(struct sval));
				assert_int_equal((uintptr_t)arrs[i] % _Alignof(struct sval), 0);
				for (size_t j = 0; j < k; j++)
					arrs[i][j].pos = pos_make(1, (unsigned)i, (unsigned)j);
			}
			strs[i] = config_strndup(c, str, slen);
			assert_int_equal(strlen(strs[i]), slen);
		}
		/* nothing overlapped: every array and string still holds what was written */
		for (size_t i = 0; i < arena_cases[t].pairs; i++) {
			for (size_t j = 0; j < k; j++) {
				assert_null(arrs[i][j].s);
				assert_int_equal(arrs[i][j].pos.line, i);
				assert_int_equal(arrs[i][j].pos.col, j);
			}
			assert_int_equal(strlen(strs[i]), slen);
			assert_true(slen == 0 || strs[i][0] == str[0]);
		}
		assert_int_equal(config_arena_held(c), arena_cases[t].want_chunks * 65536);
		free(strs);
		free(arrs);
		config_free(c);
	}
}

/* sb_addu / sb_addi write what "%llu" / "%lld" write; sb_addf formats into the room there is,
 * grows when it does not fit, and appends nothing past the cap. */
static const uint64_t addu_cases[] = {0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u,
				      UINT64_C(9999999999999999999), UINT64_MAX};
static const int64_t addi_cases[] = {0, 1, -1, 9, -9, 10, -10, INT32_MIN, INT32_MAX,
				     INT64_MAX, INT64_MIN, INT64_MIN + 1};

static const struct {
	size_t max;	   /* builder cap */
	const char *first; /* appended first (sets how much room is left) */
	int n;		   /* then sb_addf("%0*d", n, 7) */
	int want_rc;
	size_t want_len;
} addf_cases[] = {
    {0, "", 3, 0, 3},	      /* no buffer yet: measured, then written */
    {0, "abc", 3, 0, 6},      /* fits the room left */
    {0, "abc", 61, 0, 64},    /* fills the 64-byte buffer to its last byte: grows */
    {0, "abc", 200, 0, 203},  /* does not fit: grows */
    {10, "abc", 7, 0, 10},    /* exactly at the cap */
    {10, "abc", 8, -1, 3},    /* one past the cap: nothing appended */
    {10, "", 11, -1, 0},      /* past the cap with no buffer */
    {100, "abc", 97, 0, 100}, /* at the cap, written after growing */
};

static void test_model__sb_numbers(void **state)
{
	(void)state;
	char want[64];
	struct sb sb;
	sb_init(&sb, 0);
	for (size_t i = 0; i < CF_ARRAY_LEN(addu_cases); i++) {
		sb_reset(&sb);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)addu_cases[i]);
		assert_int_equal(sb_addu(&sb, addu_cases[i]), 0);
		assert_string_equal(sb.buf, want);
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(addi_cases); i++) {
		sb_reset(&sb);
		snprintf(want, sizeof(want), "x%lldy", (long long)addi_cases[i]);
		sb_addc(&sb, 'x');
		assert_int_equal(sb_addi(&sb, addi_cases[i]), 0);
		sb_addc(&sb, 'y');
		assert_string_equal(sb.buf, want);
	}
	sb_release(&sb);
	sb_init(&sb, 3);
	assert_int_equal(sb_addu(&sb, 1234), -1);
	assert_true(sb.overflow);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb_addi(&sb, -12), 0);
	assert_string_equal(sb.buf, "-12");
	sb_release(&sb);

	for (size_t i = 0; i < CF_ARRAY_LEN(addf_cases); i++) {
		sb_init(&sb, addf_cases[i].max);
		sb_adds(&sb, addf_cases[i].first);
		size_t before = sb.len;
		int rc = sb_addf(&sb, "%0*d", addf_cases[i].n, 7);
		assert_int_equal(rc, addf_cases[i].want_rc);
		assert_int_equal(sb.len, addf_cases[i].want_len);
		assert_int_equal(strlen(sb.buf), sb.len); /* NUL-terminated at len */
		assert_int_equal(sb.overflow, rc < 0);
		assert_memory_equal(sb.buf, addf_cases[i].first, before);
		for (size_t k = before; k < sb.len; k++)
			assert_int_equal(sb.buf[k], k + 1 == sb.len ? '7' : '0');
		sb_release(&sb);
	}
}

/* Sources for cache_pack: empty, rules without items, names, several items, positions. */
static void pack_source(int which, struct cache *c)
{
	memset(c, 0, sizeof(*c));
	c->ignore_cache_control = which % 2;
	c->ignore_cookie = which == 2;
	c->ignore_query_string = which == 3;
	struct pos p = pos_make(1, 10 + (unsigned)which, 3);
	for (int i = 0; i < which; i++) {
		struct rule *r = cache_add_rule(c);
		r->kind = (enum rule_kind)(i % 3);
		r->cc = (enum rule_cc)(i % 3);
		r->ttl = 60 * i;
		r->pos = p;
		r->ttl_pos = p;
		if (i % 2)
			sval_set(&r->name, i == 1 ? "" : "cacheform-rule", &p);
		for (int j = 0; j < i; j++)
			svec_push(&r->items, j % 2 ? "/img/" : "/a-longer/item/path/", &p);
	}
}

static void test_model__cache_pack(void **state)
{
	(void)state;
	for (int which = 0; which < 6; which++) {
		struct cache src, packed, copied;
		pack_source(which, &src);
		cache_pack(&packed, &src);
		cache_copy(&copied, &src);
		assert_true(cache_equal(&packed, &src));
		assert_int_equal(packed.nrules, src.nrules);
		assert_int_equal(packed.cap, src.nrules); /* exact, not xgrow's 8 */
		assert_int_equal(packed.pos.line, copied.pos.line);
		for (size_t i = 0; i < src.nrules; i++) {
			const struct rule *a = &packed.rules[i], *b = &copied.rules[i];
			assert_int_equal(a->cc, b->cc);
			assert_int_equal(a->ttl_pos.line, b->ttl_pos.line);
			assert_int_equal(a->pos.line, b->pos.line);
			assert_int_equal(a->items.pos.line, b->items.pos.line);
			assert_true(!a->name.s == !b->name.s);
			if (a->name.s) {
				assert_string_equal(a->name.s, b->name.s);
				assert_ptr_not_equal(a->name.s, src.rules[i].name.s);
				assert_int_equal(a->name.pos.line, b->name.pos.line);
			}
			assert_int_equal(a->items.n, b->items.n);
			assert_true(a->items.n == 0 || svec_borrowed(&a->items));
			for (size_t j = 0; j < a->items.n; j++) {
				assert_string_equal(a->items.v[j].s, b->items.v[j].s);
				assert_ptr_not_equal(a->items.v[j].s, src.rules[i].items.v[j].s);
				assert_int_equal(a->items.v[j].pos.line, b->items.v[j].pos.line);
			}
		}
		/* the copy stands alone: the source goes first */
		cache_release(&src);
		cache_fold_cc(&packed);
		cache_fold_cc(&copied);
		assert_true(cache_equal(&packed, &copied));
		/* editable as documented: a pushed item, an added rule with a heap name */
		if (packed.nrules) {
			svec_push(&packed.rules[0].items, "/js/", NULL);
			assert_false(svec_borrowed(&packed.rules[0].items));
		}
		struct rule *r = cache_add_rule(&packed);
		sval_set(&r->name, "added", NULL);
		svec_push(&r->items, "/x/", NULL);
		cache_release(&packed); /* ASan: no pack pointer freed, nothing leaked */
		cache_release(&copied);
		assert_null(packed.pack);
	}
}

/* svec_reserve: room for n in all, exactly; never shrinks; a borrowed list moves to the heap. */
static const struct {
	size_t have, reserve, want_cap;
} reserve_cases[] = {
    {0, 0, 0}, {0, 1, 1}, {0, 3, 3}, {2, 1, 8}, {2, 8, 8}, {2, 9, 9}, {9, 20, 20},
};

static void test_model__svec_reserve(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(reserve_cases); i++) {
		struct svec v = {0};
		for (size_t k = 0; k < reserve_cases[i].have; k++)
			svec_push(&v, "x", NULL);
		svec_reserve(&v, reserve_cases[i].reserve);
		assert_int_equal(v.cap, reserve_cases[i].want_cap);
		assert_int_equal(v.n, reserve_cases[i].have);
		svec_push(&v, "y", NULL);
		assert_string_equal(v.v[v.n - 1].s, "y");
		svec_release(&v);
	}
	struct config *c = config_new();
	struct svec b = {0};
	b.v = config_alloc(c, 1, sizeof(*b.v));
	b.v[0].s = config_strndup(c, "/img/", 5);
	b.n = 1;
	svec_reserve(&b, 4);
	assert_false(svec_borrowed(&b));
	assert_int_equal(b.cap, 4);
	assert_string_equal(b.v[0].s, "/img/");
	svec_release(&b);
	config_free(c);

	struct cache k = {0};
	cache_reserve(&k, 5);
	assert_int_equal(k.cap, 5);
	struct rule *r0 = cache_add_rule(&k);
	for (int i = 0; i < 4; i++)
		assert_ptr_equal(cache_add_rule(&k), r0 + 1 + i); /* no move within the room */
	cache_reserve(&k, 2); /* never shrinks */
	assert_int_equal(k.cap, 5);
	cache_release(&k);
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
	    cmocka_unit_test(test_model__sb_numbers),
	    cmocka_unit_test(test_model__cache_pack),
	    cmocka_unit_test(test_model__svec_reserve),
	    cmocka_unit_test(test_model__arena_two_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
