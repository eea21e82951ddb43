/* Unit tests: rule alignment (adds, removes, changes, moves) and flag changes. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/rulediff.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

/*
 * Builds a cache from "d:/a,/b=60 s:jpg=3600 p:/x=0": space-separated rules, kind letter,
 * comma-separated items, '=' TTL seconds, then '!' / '~' for the rule's own
 * ignore_cache_control true / false.
 */
static void cache_parse(struct cache *c, const char *spec)
{
	memset(c, 0, sizeof(*c));
	char *copy = xstrdup(spec), *save = NULL;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		struct rule *r = cache_add_rule(c);
		r->kind = tok[0] == 'd' ? RULE_DIR : tok[0] == 's' ? RULE_SUFFIX : RULE_PATH;
		char *eq = strchr(tok, '=');
		assert_non_null(eq);
		*eq = 0;
		char *end = NULL;
		r->ttl = strtoll(eq + 1, &end, 10);
		r->cc = *end == '!'   ? RULE_CC_IGNORE
			: *end == '~' ? RULE_CC_HONOUR
				      : RULE_CC_INHERIT;
		char *isave = NULL;
		for (char *it = strtok_r(tok + 2, ",", &isave); it;
		     it = strtok_r(NULL, ",", &isave))
			svec_push(&r->items, it, NULL);
	}
	free(copy);
}

/* Renders a diff as "add@2 change@0<-0[ttl] move@3<-1 remove<-4" for compact assertions. */
static void diff_show(const struct cache_diff *d, struct sb *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct rulediff_entry *x = &d->v[i];
		if (i)
			sb_addc(out, ' ');
		sb_adds(out, rulediff_op_name(x->op));
		if (x->after >= 0)
			sb_addf(out, "@%ld", x->after);
		if (x->before >= 0)
			sb_addf(out, "<-%ld", x->before);
		if (x->fields)
			sb_addf(out, "[%s%s%s%s]", x->fields & RULEDIFF_F_KIND ? "k" : "",
				x->fields & RULEDIFF_F_ITEMS ? "i" : "",
				x->fields & RULEDIFF_F_TTL ? "t" : "",
				x->fields & RULEDIFF_F_CC ? "c" : "");
	}
}

struct diff_case {
	const char *live, *want, *expect;
	size_t disturbed;
};

static const struct diff_case cases[] = {
    {"", "", "", 0},
    {"d:/a=1 d:/b=2 d:/c=3", "d:/a=1 d:/b=2 d:/c=3", "", 0},
    /* one insertion is one add, not N changes */
    {"d:/a=1 d:/b=2 d:/c=3 d:/e=5", "d:/x=9 d:/a=1 d:/b=2 d:/c=3 d:/e=5", "add@0", 0},
    {"d:/a=1 d:/b=2 d:/c=3", "d:/a=1 d:/b=2 d:/n=7 d:/c=3", "add@2", 0},
    {"d:/a=1 d:/b=2 d:/c=3", "d:/a=1 d:/c=3", "remove<-1", 1},
    /* TTL change keeps the pairing */
    {"d:/a=1 s:jpg=2 p:/i=0", "d:/a=1 s:jpg=20 p:/i=0", "change@1<-1[t]", 1},
    /* items change with overlap is a change, not remove + add */
    {"s:jpg,png=5", "s:jpg,gif=5", "change@0<-0[i]", 1},
    /* different kind and no overlap: remove + add */
    {"s:jpg=5", "d:/img/=5", "remove<-0 add@0", 1},
    /* order matters: moving a rule to the end is one move */
    {"d:/a=1 d:/b=2 d:/c=3", "d:/b=2 d:/c=3 d:/a=1", "move@2<-0", 1},
    {"d:/a=1 d:/b=2 d:/c=3", "d:/b=2 d:/c=3 d:/a=9", "move@2<-0[t]", 1},
    /* everything gone */
    {"d:/a=1 d:/b=2", "", "remove<-0 remove<-1", 2},
    {"", "d:/a=1 d:/b=2", "add@0 add@1", 0},
    /* a rule's own ignore_cache_control: compared by effect (the block's is false here) */
    {"d:/a=1 d:/b=2", "d:/a=1 d:/b=2!", "change@1<-1[c]", 1},
    {"d:/a=1~ d:/b=2", "d:/a=1 d:/b=2", "", 0},
    {"d:/a=0! d:/b=2", "d:/a=0~ d:/b=2", "", 0},
    {"d:/a=1! d:/b=2", "d:/b=2 d:/a=1", "move@1<-0[c]", 1},
};

static void test_diff__table(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct cache live, want;
		struct cache_diff d;
		struct sb out;
		cache_parse(&live, cases[i].live);
		cache_parse(&want, cases[i].want);
		assert_int_equal(rulediff_cache(&want, &live, &d, NULL), 0);
		sb_init(&out, 0);
		diff_show(&d, &out);
		if (strcmp(out.buf, cases[i].expect) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, out.buf, cases[i].expect);
		assert_int_equal(cache_diff_disturbed(&d), cases[i].disturbed);
		assert_int_equal(cache_diff_empty(&d), cases[i].expect[0] == 0);
		assert_int_equal(d.nsame + d.nchange + d.nremove + d.nmove, live.nrules);
		sb_release(&out);
		cache_diff_release(&d);
		cache_release(&live);
		cache_release(&want);
	}
}

static void test_diff__flags(void **state)
{
	(void)state;
	struct cache live, want;
	struct cache_diff d;
	cache_parse(&live, "d:/a=1");
	cache_parse(&want, "d:/a=1");
	want.ignore_query_string = true;
	live.ignore_cookie = true;
	assert_int_equal(rulediff_cache(&want, &live, &d, NULL), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(d.nflags, 2);
	assert_string_equal(rulediff_flag_name(d.flags[0].flag), "ignore_cookie");
	assert_true(d.flags[0].before);
	assert_false(d.flags[0].after);
	assert_string_equal(rulediff_flag_name(d.flags[1].flag), "ignore_query_string");
	assert_false(cache_diff_empty(&d));
	cache_diff_release(&d);
	cache_release(&live);
	cache_release(&want);
}

/* A large insertion in the middle of many rules stays one add (the alignment is global). */
static void test_diff__large_insert(void **state)
{
	(void)state;
	struct sb ls, ws;
	sb_init(&ls, 0);
	sb_init(&ws, 0);
	for (int i = 0; i < 200; i++) {
		sb_addf(&ls, "%sd:/r%d/=%d", i ? " " : "", i, i);
		if (i == 100)
			sb_adds(&ws, " p:/new=1");
		sb_addf(&ws, "%sd:/r%d/=%d", i ? " " : "", i, i);
	}
	struct cache live, want;
	struct cache_diff d;
	cache_parse(&live, ls.buf);
	cache_parse(&want, ws.buf);
	assert_int_equal(rulediff_cache(&want, &live, &d, NULL), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].op, RULEDIFF_ADD);
	assert_int_equal(d.v[0].after, 100);
	assert_int_equal(d.nsame, 200);
	cache_diff_release(&d);
	cache_release(&live);
	cache_release(&want);
	sb_release(&ls);
	sb_release(&ws);
}

static void test_diff__limit(void **state)
{
	(void)state;
	struct cache big = {0}, none = {0};
	for (int i = 0; i <= RULEDIFF_MAX_RULES; i++) {
		struct rule *r = cache_add_rule(&big);
		svec_push(&r->items, "/x", NULL);
	}
	struct cache_diff d;
	struct cf_err e;
	err_clear(&e);
	assert_int_equal(rulediff_cache(&big, &none, &d, &e), CF_ELIMIT);
	assert_non_null(strstr(e.msg, "cache rules"));
	cache_release(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_diff__table),
	    cmocka_unit_test(test_diff__flags),
	    cmocka_unit_test(test_diff__large_insert),
	    cmocka_unit_test(test_diff__limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
