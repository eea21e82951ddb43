/* Unit tests: plan decisions (actions, safety, purge states, quotas) and the renderers. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/plan.h"
#include "reconcile/render.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <openssl/evp.h>

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void add_dir_rules(struct cache *c, int n, int ttl_base)
{
	for (int i = 0; i < n; i++) {
		char item[32];
		struct rule *r = cache_add_rule(c);
		snprintf(item, sizeof(item), "/d%d/", i);
		r->kind = RULE_DIR;
		r->ttl = ttl_base + i;
		svec_push(&r->items, item, NULL);
	}
}

struct fixture {
	struct account acct;
	struct endpoint ep;
	struct live_state live;
	struct safety safety;
};

static void fixture_init(struct fixture *f, int live_rules, int want_rules)
{
	memset(f, 0, sizeof(*f));
	sval_set(&f->acct.name, "cn", NULL);
	f->acct.provider = PROV_AZURE_CHINA;
	sval_set(&f->ep.name, "www", NULL);
	sval_set(&f->ep.account_name, "cn", NULL);
	f->ep.account = &f->acct;
	add_dir_rules(&f->ep.cache, want_rules, 100);
	f->live.exists = true;
	add_dir_rules(&f->live.cache, live_rules, 100);
	/* what read_parse also fills: the provider's own view of the rules read */
	f->live.sem.kind = SEM_AZURE_CHINA;
	cache_copy(&f->live.sem.cn, &f->live.cache);
	memcpy(f->live.digest, HASH_A, sizeof(HASH_A));
	f->safety.max_change_pct = 30;
	f->safety.min_rules = 5;
}

static void fixture_release(struct fixture *f)
{
	free(f->acct.name.s);
	free(f->ep.name.s);
	free(f->ep.account_name.s);
	cache_release(&f->ep.cache);
	live_state_release(&f->live);
}

static void test_plan__actions(void **state)
{
	(void)state;
	struct fixture f;
	struct plan p;
	fixture_init(&f, 3, 3);
	plan_init(&p);
	struct plan_endpoint *pe = plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL);
	assert_int_equal(pe->action, PLAN_EP_NONE);
	assert_string_equal(pe->digest, HASH_A);
	assert_false(plan_has_changes(&p));

	f.ep.cache.rules[1].ttl = 9999;
	pe = plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL);
	assert_int_equal(pe->action, PLAN_EP_UPDATE);
	assert_int_equal(pe->diff.nchange, 1);
	assert_true(plan_has_changes(&p));

	f.ep.mode = MODE_OBSERVE;
	pe = plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL);
	assert_int_equal(pe->action, PLAN_EP_DRIFT);

	f.ep.mode = MODE_PURGE_ONLY;
	pe = plan_add_endpoint(&p, &f.ep, NULL, NULL, &f.safety, NULL);
	assert_int_equal(pe->action, PLAN_EP_UNMANAGED);

	f.ep.mode = MODE_MANAGE;
	pe = plan_add_endpoint(&p, &f.ep, NULL, "HTTP 403 denied", &f.safety, NULL);
	assert_int_equal(pe->action, PLAN_EP_ERROR);
	assert_string_equal(pe->error, "HTTP 403 denied");

	struct plan_counts c;
	plan_count(&p, &c);
	assert_int_equal(c.update, 1);
	assert_int_equal(c.drift, 1);
	assert_int_equal(c.error, 1);
	assert_int_equal(c.same, 1);
	assert_int_equal(c.unmanaged, 1);
	plan_release(&p);
	fixture_release(&f);
}

/* Removing 5 of 10 rules is 50% > 30%: exceeded. With fewer than min_rules: not applied. */
static void test_plan__safety(void **state)
{
	(void)state;
	struct fixture f;
	struct plan p;
	fixture_init(&f, 10, 5);
	plan_init(&p);
	struct plan_endpoint *pe = plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL);
	assert_int_equal(pe->existing, 10);
	assert_int_equal(pe->disturbed, 5);
	assert_int_equal(pe->pct, 50);
	assert_true(pe->safety_exceeded);
	plan_release(&p);
	fixture_release(&f);

	fixture_init(&f, 4, 0);
	plan_init(&p);
	pe = plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL);
	assert_int_equal(pe->pct, 100);
	assert_false(pe->safety_applies);
	assert_false(pe->safety_exceeded);
	plan_release(&p);
	fixture_release(&f);

	/* exactly at the limit is allowed: 3 of 10 = 30% */
	fixture_init(&f, 10, 7);
	plan_init(&p);
	pe = plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL);
	assert_int_equal(pe->pct, 30);
	assert_false(pe->safety_exceeded);
	plan_release(&p);
	fixture_release(&f);
}

static void test_plan__inexact_live_forces_update(void **state)
{
	(void)state;
	struct fixture f;
	struct plan p;
	fixture_init(&f, 2, 2);
	f.live.inexact = xstrdup("queryStringCachingBehavior NotSet");
	f.live.cache_control_unknown = true;
	f.ep.cache.ignore_cache_control = true; /* unobservable: not a difference */
	plan_init(&p);
	struct plan_endpoint *pe = plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL);
	assert_int_equal(pe->diff.nflags, 0);
	assert_int_equal(pe->action, PLAN_EP_UPDATE);
	plan_release(&p);
	fixture_release(&f);
}

static void make_purge(struct purge *m, const char *id, const char *hash)
{
	memset(m, 0, sizeof(*m));
	sval_set(&m->id, id, NULL);
	memcpy(m->content_hash, hash, 65);
}

static void make_batch(struct purge_batch *b, int files, int dirs)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < files; i++)
		svec_push(&b->files, "https://www.example.com/x", NULL);
	for (int i = 0; i < dirs; i++)
		svec_push(&b->dirs, "https://www.example.com/d/", NULL);
}

static void ledger_with(struct ledger *l, const char *id, const char *hash, enum ledger_status st)
{
	struct ledger_purge r = {0};
	r.id = (char *)id;
	r.endpoint = (char *)"www";
	memcpy(r.content_hash, hash, 65);
	r.status = st;
	ledger_put_purge(l, &r);
}

static void test_plan__purge_states(void **state)
{
	(void)state;
	struct fixture f;
	struct plan p;
	struct ledger l;
	struct purge m;
	struct purge_batch b[2];
	fixture_init(&f, 1, 1);
	plan_init(&p);
	ledger_init(&l);
	ledger_with(&l, "done", HASH_A, LEDGER_SUCCEEDED);
	ledger_with(&l, "edited", HASH_A, LEDGER_SUCCEEDED);
	ledger_with(&l, "failed", HASH_A, LEDGER_FAILED);
	ledger_with(&l, "pending", HASH_A, LEDGER_SUBMITTED);
	ledger_with(&l, "marked", HASH_B, LEDGER_MARKED);
	ledger_with(&l, "unknown", HASH_A, LEDGER_UNKNOWN);
	make_batch(&b[0], 3, 1);
	make_batch(&b[1], 2, 0);
	plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL);

	static const struct {
		const char *id, *hash;
		int state; /* -1 = not in the plan */
	} rows[] = {
		{"new", HASH_A, PLAN_PURGE_RUN},     {"done", HASH_A, -1},
		{"edited", HASH_B, PLAN_PURGE_EDITED}, {"failed", HASH_A, PLAN_PURGE_RETRY},
		{"pending", HASH_A, PLAN_PURGE_PENDING}, {"marked", HASH_A, -1},
		{"unknown", HASH_A, PLAN_PURGE_RETRY_UNKNOWN},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(rows); i++) {
		make_purge(&m, rows[i].id, rows[i].hash);
		struct plan_purge *pp = plan_add_purge(&p, &m, &f.ep, b, 2, &l);
		if (rows[i].state < 0) {
			assert_null(pp);
		} else {
			assert_non_null(pp);
			assert_int_equal(pp->state, rows[i].state);
			assert_int_equal(pp->files, 5);
			assert_int_equal(pp->dirs, 1);
			assert_int_equal(pp->requests, 2);
			assert_string_equal(pp->quota, "cn");
			assert_int_equal(plan_purge_runs(pp),
					 rows[i].state != PLAN_PURGE_EDITED &&
					     rows[i].state != PLAN_PURGE_PENDING);
		}
		free(m.id.s);
	}
	purge_batch_release(&b[0]);
	purge_batch_release(&b[1]);
	ledger_release(&l);
	plan_release(&p);
	fixture_release(&f);
}

/* Purges are charged in order; the one that does not fit is refused, later small ones run. */
static void test_plan__quota(void **state)
{
	(void)state;
	struct fixture f;
	struct plan p;
	struct purge m;
	struct purge_batch b;
	fixture_init(&f, 1, 1);
	plan_init(&p);
	plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL);
	plan_set_quota(&p, "cn", PROV_AZURE_CHINA, true, 10, 2);
	static const int files[] = {6, 5, 4};
	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof(id), "p%d", i);
		make_purge(&m, id, HASH_A);
		make_batch(&b, files[i], 0);
		plan_add_purge(&p, &m, &f.ep, &b, 1, NULL);
		purge_batch_release(&b);
		free(m.id.s);
	}
	plan_check_quotas(&p);
	assert_int_equal(p.purges[0].state, PLAN_PURGE_RUN);
	assert_int_equal(p.purges[1].state, PLAN_PURGE_OVER_QUOTA);
	assert_int_equal(p.purges[2].state, PLAN_PURGE_RUN);
	struct plan_quota *q = plan_quota_find(&p, "cn");
	assert_int_equal(q->files_planned, 10);
	assert_true(q->exceeded);
	assert_true(plan_has_changes(&p));
	plan_release(&p);
	fixture_release(&f);
}

static char *render(const struct plan *p, enum out_format fmt, bool color)
{
	struct render_opts ro = {.format = fmt, .color = color};
	struct sb out;
	sb_init(&out, 0);
	assert_int_equal(render_plan(p, &ro, &out), 0);
	return sb_detach(&out);
}

static void test_plan__renderers(void **state)
{
	(void)state;
	struct fixture f;
	struct plan p;
	fixture_init(&f, 3, 3);
	f.ep.cache.rules[0].ttl = 86400; /* live 100 s */
	struct rule *r = cache_add_rule(&f.ep.cache);
	r->kind = RULE_SUFFIX;
	r->ttl = 0;
	svec_push(&r->items, "php", NULL);
	plan_init(&p);
	memcpy(p.commit, "0123456789abcdef0123456789abcdef01234567", 41);
	plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL);

	char *t = render(&p, OUT_TEXT, false);
	assert_non_null(strstr(t, "cacheform plan for commit 0123456789ab\n"));
	assert_non_null(strstr(t, "    ~ rule 1: dir /d0/  ttl 1d  (ttl was 1m40s)\n"));
	assert_non_null(strstr(t, "    + rule 4: suffix php  ttl 0 (no cache)\n"));
	assert_non_null(strstr(t, "Plan: 1 endpoint to update (1 added, 1 changed"));
	assert_null(strchr(t, '\033'));
	free(t);
	t = render(&p, OUT_TEXT, true);
	assert_non_null(strstr(t, "\033[32m+ rule 4"));
	free(t);

	t = render(&p, OUT_MARKDOWN, false);
	assert_memory_equal(t, "<!-- cacheform:plan:. -->\n", 26);
	assert_non_null(strstr(t, "| www | azure-china | update | 1 | 1 | 0 | 0 |"));
	assert_non_null(strstr(t, "<details><summary>www: update"));
	assert_non_null(strstr(t, "```diff\n! rule 1"));
	free(t);

	t = render(&p, OUT_GITHUB, false);
	assert_memory_equal(t, "::notice title=cacheform plan::www: update cache rules", 54);
	assert_non_null(strstr(t, "%0A~ rule 1"));
	assert_non_null(strstr(t, "::group::cacheform plan\n"));
	free(t);

	t = render(&p, OUT_JSON, false);
	assert_non_null(strstr(t, "\"format_version\": 1"));
	free(t);
	plan_release(&p);
	fixture_release(&f);
}

/* Endpoints by name: the first of a name wins, whether it was indexed (plan_index_endpoints)
 * or added after the index was built, or no index was built at all. */
static const char *const find_names[] = {"m", "b", "z", "b", "a", "m", "c"};

static const struct {
	const char *name;
	long want; /* position in find_names, -1: absent */
} find_cases[] = {
    {"m", 0}, {"b", 1}, {"z", 2}, {"a", 4}, {"c", 6}, {"x", -1}, {"", -1}, {"bb", -1},
};

static void test_plan__endpoint_find(void **state)
{
	(void)state;
	const size_t n = sizeof(find_names) / sizeof(*find_names);
	/* where the index is built: never, part way (the rest is scanned), after all */
	const size_t index_at[] = {0, 1, 4, 5, n};
	for (size_t k = 0; k < sizeof(index_at) / sizeof(*index_at); k++) {
		struct fixture f;
		struct plan p;
		fixture_init(&f, 1, 1);
		plan_init(&p);
		for (size_t i = 0; i < n; i++) {
			if (index_at[k] && i == index_at[k])
				plan_index_endpoints(&p);
			sval_set(&f.ep.name, find_names[i], NULL);
			assert_non_null(
			    plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, NULL));
		}
		if (index_at[k] == n)
			plan_index_endpoints(&p);
		for (size_t c = 0; c < sizeof(find_cases) / sizeof(*find_cases); c++) {
			struct plan_endpoint *pe = plan_endpoint_find(&p, find_cases[c].name);
			long got = pe ? (long)(pe - p.eps) : -1;
			if (got != find_cases[c].want)
				fail_msg("index at %zu, '%s': got %ld, want %ld", index_at[k],
					 find_cases[c].name, got, find_cases[c].want);
		}
		plan_release(&p);
		fixture_release(&f);
	}
}

/* ---- the live digest: byte for byte the form digests were always taken of ---- */

/* The canonical form as prov_digest wrote it with sb_addf before issue 17: stored digests
 * (ledger, plan files) must keep comparing equal. */
static void ref_str(struct sb *sb, const char *s)
{
	s = s ? s : "";
	sb_addf(sb, "%zu:", strlen(s));
	sb_adds(sb, s);
}

static void ref_digest(const struct live_state *ls, char out[65])
{
	struct sb sb;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const struct cache *c = &ls->cache;
	sb_init(&sb, 0);
	sb_adds(&sb, "cacheform-live/1\n");
	sb_addf(&sb, "exists %d ccunknown %d inexact ", ls->exists, ls->cache_control_unknown);
	ref_str(&sb, ls->inexact);
	sb_addc(&sb, '\n');
	sb_addf(&sb, "icc %d icookie %d iqs %d rules %zu\n", c->ignore_cache_control,
		c->ignore_cookie, c->ignore_query_string, c->nrules);
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		sb_addf(&sb, "rule %s %lld ", rule_kind_name(r->kind), (long long)r->ttl);
		ref_str(&sb, r->name.s);
		sb_addf(&sb, " %zu\n", r->items.n);
		if (r->cc != RULE_CC_INHERIT)
			sb_addf(&sb, "cc %d\n", (int)r->cc);
		for (size_t j = 0; j < r->items.n; j++) {
			sb_adds(&sb, "item ");
			ref_str(&sb, r->items.v[j].s);
			sb_addc(&sb, '\n');
		}
	}
	sb_addf(&sb, "foreign %zu\n", ls->nforeign);
	for (size_t i = 0; i < ls->nforeign; i++) {
		sb_addf(&sb, "f %d ", ls->foreign[i].order);
		ref_str(&sb, ls->foreign[i].name);
		sb_addc(&sb, ' ');
		ref_str(&sb, ls->foreign[i].json);
		sb_addc(&sb, '\n');
	}
	EVP_Digest(sb.buf, sb.len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	sb_release(&sb);
}

static const struct {
	bool exists, ccunknown, icc, icookie, iqs;
	const char *inexact;
	int nrules;
	int64_t ttl;
	const char *name;
	enum rule_cc cc;
	int order; /* of the one foreign rule; 0 = none */
} digest_cases[] = {
    {false, false, false, false, false, NULL, 0, 0, NULL, RULE_CC_INHERIT, 0},
    {true, false, false, false, false, NULL, 0, 0, NULL, RULE_CC_INHERIT, 0},
    {true, true, true, true, true, "queryStringCachingBehavior is BypassCaching", 1, 0, NULL,
     RULE_CC_INHERIT, 0},
    {true, false, true, false, true, "", 3, 86400, "", RULE_CC_IGNORE, 0},
    {true, false, false, true, false, NULL, 2, MODEL_TTL_MAX, "cacheform1", RULE_CC_HONOUR, 7},
    {true, true, false, false, false, NULL, 12, 1, "r\xc3\xa9gle", RULE_CC_HONOUR, -3},
    {true, false, false, false, false, NULL, 1, INT64_MAX, NULL, RULE_CC_INHERIT, INT32_MIN},
};

static void test_plan__digest_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(digest_cases); i++) {
		struct live_state ls;
		memset(&ls, 0, sizeof(ls));
		ls.exists = digest_cases[i].exists;
		ls.cache_control_unknown = digest_cases[i].ccunknown;
		ls.inexact = digest_cases[i].inexact ? xstrdup(digest_cases[i].inexact) : NULL;
		ls.cache.ignore_cache_control = digest_cases[i].icc;
		ls.cache.ignore_cookie = digest_cases[i].icookie;
		ls.cache.ignore_query_string = digest_cases[i].iqs;
		add_dir_rules(&ls.cache, digest_cases[i].nrules, 0);
		for (int r = 0; r < digest_cases[i].nrules; r++) {
			struct rule *ru = &ls.cache.rules[r];
			ru->kind = (enum rule_kind)(r % 3);
			ru->ttl = r ? (int64_t)r * 60 : digest_cases[i].ttl;
			ru->cc = r % 2 ? RULE_CC_INHERIT : digest_cases[i].cc;
			if (digest_cases[i].name && r != 1)
				sval_set(&ru->name, digest_cases[i].name, NULL);
			for (int k = 0; k < r; k++)
				svec_push(&ru->items, k % 2 ? "/x/" : "png", NULL);
		}
		if (digest_cases[i].order) {
			ls.foreign = xcalloc(1, sizeof(*ls.foreign));
			ls.foreign[0].name = xstrdup("Global");
			ls.foreign[0].order = digest_cases[i].order;
			ls.foreign[0].json = xstrdup("{\"name\":\"Global\",\"order\":0}");
			ls.nforeign = 1;
		}
		char want[65] = "";
		ref_digest(&ls, want);
		prov_digest(&ls);
		if (strcmp(ls.digest, want) != 0)
			fail_msg("case %zu: digest %s, want %s", i, ls.digest, want);
		live_state_release(&ls);
	}
}

/* plan_reserve: room for every endpoint at once; entries stay where they were put. */
static void test_plan__reserve(void **state)
{
	(void)state;
	static const size_t counts[] = {0, 1, 7, 100};
	for (size_t c = 0; c < CF_ARRAY_LEN(counts); c++) {
		struct fixture f;
		fixture_init(&f, 3, 4); /* a difference: an update, live and desired copied */
		struct plan p;
		plan_init(&p);
		plan_reserve(&p, counts[c]);
		assert_true(p.ecap >= counts[c]);
		struct plan_endpoint *first = NULL;
		for (size_t i = 0; i < counts[c]; i++) {
			struct cf_err e;
			err_clear(&e);
			struct plan_endpoint *pe =
			    plan_add_endpoint(&p, &f.ep, &f.live, NULL, &f.safety, &e);
			assert_non_null(pe);
			first = first ? first : pe;
			assert_ptr_equal(&p.eps[0], first); /* never moved */
			assert_int_equal(pe->action, PLAN_EP_UPDATE);
			assert_true(cache_equal(&pe->desired, &f.ep.cache));
			assert_true(cache_equal(&pe->live, &f.live.cache));
		}
		plan_reserve(&p, 1); /* never shrinks */
		assert_int_equal(p.neps, counts[c]);
		plan_release(&p);
		fixture_release(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan__actions),
		cmocka_unit_test(test_plan__safety),
		cmocka_unit_test(test_plan__inexact_live_forces_update),
		cmocka_unit_test(test_plan__purge_states),
		cmocka_unit_test(test_plan__quota),
		cmocka_unit_test(test_plan__renderers),
		cmocka_unit_test(test_plan__endpoint_find),
		cmocka_unit_test(test_plan__digest_format),
		cmocka_unit_test(test_plan__reserve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
