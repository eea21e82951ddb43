/* Unit tests: drift sharding (reconcile/shard.c). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/shard.h"

#include <string.h>

#define FLEET_SIZE   1000
#define NAME_MAX_LEN 32

/* Published FNV-1a 64 vectors plus endpoint-like names: if these move, every fleet's shard
 * assignment moves with them, so they are fixed forever. */
struct golden {
	const char *name;
	uint64_t hash;
	unsigned shard_of_4;
};

static const struct golden goldens[] = {
    {"", UINT64_C(0xcbf29ce484222325), 2},	    {"a", UINT64_C(0xaf63dc4c8601ec8c), 1},
    {"foobar", UINT64_C(0x85944171f73967e8), 1},    {"www", UINT64_C(0x5e63e419483e75ec), 1},
    {"static-cn", UINT64_C(0xa73a0f1e856d2047), 4}, {"img", UINT64_C(0x2b9cee192bd27584), 1},
};

static void test_shard__golden_hashes(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(goldens); i++) {
		assert_true(shard_hash(goldens[i].name) == goldens[i].hash);
		assert_int_equal(shard_of(goldens[i].name, 4), goldens[i].shard_of_4);
	}
}

static void fleet_name(char *buf, size_t n, int i)
{
	snprintf(buf, n, "endpoint-%04d", i);
}

/* Every endpoint lands in exactly one shard, for several N, and no shard of a large fleet
 * is left empty (the hash spreads). */
static void test_shard__partition(void **state)
{
	static const unsigned counts[] = {1, 2, 3, 4, 7, 16};
	char name[NAME_MAX_LEN];
	(void)state;
	for (size_t c = 0; c < CF_ARRAY_LEN(counts); c++) {
		unsigned n = counts[c];
		unsigned per_shard[16] = {0};
		for (int i = 0; i < FLEET_SIZE; i++) {
			fleet_name(name, sizeof(name), i);
			unsigned hits = 0;
			for (unsigned k = 1; k <= n; k++) {
				struct shard s = {k, n, SHARD_SPLIT};
				if (shard_contains(&s, name)) {
					hits++;
					per_shard[k - 1]++;
				}
			}
			assert_int_equal(hits, 1);
		}
		for (unsigned k = 0; k < n; k++)
			assert_true(per_shard[k] > 0);
	}
}

static void test_shard__stable_across_calls(void **state)
{
	char name[NAME_MAX_LEN];
	(void)state;
	for (int i = 0; i < FLEET_SIZE; i++) {
		fleet_name(name, sizeof(name), i);
		assert_int_equal(shard_of(name, 5), shard_of(name, 5));
		assert_int_equal(shard_of(name, 1), 1);
	}
}

struct parse_case {
	const char *in;
	int ok;
	unsigned index, count;
};

static const struct parse_case parse_cases[] = {
    {"1/4", 1, 1, 4},	      {"4/4", 1, 4, 4},	   {"1/1", 1, 1, 1},
    {"12/4096", 1, 12, 4096}, {"0/4", 0, 0, 0},	   {"5/4", 0, 0, 0},
    {"1/0", 0, 0, 0},	      {"1/4097", 0, 0, 0}, {"", 0, 0, 0},
    {"1", 0, 0, 0},	      {"1/", 0, 0, 0},	   {"/4", 0, 0, 0},
    {"-1/4", 0, 0, 0},	      {"+1/4", 0, 0, 0},   {"1/4x", 0, 0, 0},
    {"1 /4", 0, 0, 0},	      {"1/ 4", 0, 0, 0},   {"99999999999999999999/4", 0, 0, 0},
};

static void test_shard__parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(parse_cases); i++) {
		struct shard s = {0, 0, SHARD_WHOLE};
		struct cf_err e;
		err_clear(&e);
		int r = shard_parse(parse_cases[i].in, &s, &e);
		if (parse_cases[i].ok) {
			assert_int_equal(r, CF_OK);
			assert_int_equal(s.index, parse_cases[i].index);
			assert_int_equal(s.count, parse_cases[i].count);
		} else {
			assert_int_equal(r, CF_EINVAL);
			assert_non_null(strstr(e.msg, "--shard"));
		}
	}
}

static struct account acct(enum provider_kind p, const char *a, const char *b, const char *c)
{
	struct account x;
	memset(&x, 0, sizeof(x));
	x.provider = p;
	struct mval *f[3];
	if (p == PROV_CDNPRO) {
		f[0] = &x.base_url, f[1] = &x.user, f[2] = &x.rate_domain;
	} else if (p == PROV_AZURE_CHINA) {
		f[0] = &x.subscription, f[1] = &x.key_id, f[2] = &x.rate_domain;
	} else {
		f[0] = &x.tenant, f[1] = &x.client_id, f[2] = &x.subscription;
	}
	const char *v[] = {a, b, c};
	for (int i = 0; i < 3; i++)
		if (v[i]) {
			f[i]->kind = strncmp(v[i], "env:", 4) == 0 ? MVAL_ENV : MVAL_LITERAL;
			f[i]->text = (char *)(f[i]->kind == MVAL_ENV ? v[i] + 4 : v[i]);
		}
	return x;
}

struct domain_case {
	struct account a, b;
	bool same; /* one rate domain */
};

/* Accounts meter together exactly when the provider meters them together. */
static void test_shard__domain_keys(void **state)
{
	(void)state;
	const struct domain_case cases[] = {
	    /* azure and Front Door: one principal in one subscription, whatever the provider */
	    {acct(PROV_AZURE, "t", "c", "s"), acct(PROV_AZURE_FRONTDOOR, "t", "c", "s"), true},
	    {acct(PROV_AZURE, "t", "c", "s"), acct(PROV_AZURE, "t", "c", "s2"), false},
	    {acct(PROV_AZURE, "t", "c", "s"), acct(PROV_AZURE, "t", "c2", "s"), false},
	    {acct(PROV_CDNPRO, NULL, "u", NULL), acct(PROV_CDNPRO, NULL, "u", NULL), true},
	    {acct(PROV_CDNPRO, NULL, "u", NULL), acct(PROV_CDNPRO, NULL, "u2", NULL), false},
	    /* a variable's name is not its value: another name is another domain */
	    {acct(PROV_CDNPRO, NULL, "env:U", NULL), acct(PROV_CDNPRO, NULL, "U", NULL), false},
	    /* two API users of one customer share its bucket once rate_domain says so */
	    {acct(PROV_CDNPRO, NULL, "u", "cust-1"), acct(PROV_CDNPRO, NULL, "u2", "cust-1"), true},
	    {acct(PROV_CDNPRO, NULL, "u", "cust-1"), acct(PROV_CDNPRO, NULL, "u", "cust-2"), false},
	    {acct(PROV_AZURE_CHINA, "s", "k", NULL), acct(PROV_AZURE_CHINA, "s", "k", NULL), true},
	    {acct(PROV_AZURE_CHINA, "s", "k", NULL), acct(PROV_AZURE_CHINA, "s", "k2", NULL),
	     false},
	    {acct(PROV_AZURE_CHINA, "s", "k", NULL), acct(PROV_CDNPRO, NULL, "k", NULL), false},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct sb x, y;
		sb_init(&x, 0);
		sb_init(&y, 0);
		shard_domain_key(&cases[i].a, &x);
		shard_domain_key(&cases[i].b, &y);
		if ((strcmp(x.buf, y.buf) == 0) != cases[i].same)
			fail_msg("case %zu: %s vs %s", i, x.buf, y.buf);
		sb_release(&x);
		sb_release(&y);
	}
}

/* Rendezvous hashing: growing N to N+1 moves only domains to the new shard, about 1/(N+1)
 * of them; every shard gets some of a large set of domains. */
static void test_shard__domains_move_little(void **state)
{
	char key[NAME_MAX_LEN];
	(void)state;
	for (unsigned n = 1; n < 16; n++) {
		unsigned moved = 0, per_shard[17] = {0};
		for (int i = 0; i < FLEET_SIZE; i++) {
			snprintf(key, sizeof(key), "domain:cust-%d", i);
			unsigned before = shard_of_domain(key, n),
				 after = shard_of_domain(key, n + 1);
			assert_true(before >= 1 && before <= n);
			per_shard[after]++;
			if (before != after) {
				assert_int_equal(after, n + 1); /* only to the new shard */
				moved++;
			}
		}
		double expect = (double)FLEET_SIZE / (n + 1);
		assert_true(moved > expect * 0.6 && moved < expect * 1.4);
		for (unsigned k = 1; k <= n + 1; k++)
			assert_true(per_shard[k] > 0);
	}
}

struct share_case {
	unsigned amount, count, part;
};

static void test_shard__share(void **state)
{
	(void)state;
	static const struct share_case cases[] = {
	    {30, 1, 30}, {30, 8, 3}, {60, 8, 7}, {30, 30, 1}, {30, 64, 1}, {0, 1, 0}, {7, 0, 7},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		unsigned p = shard_share(cases[i].amount, cases[i].count);
		assert_int_equal(p, cases[i].part);
		if (cases[i].amount >= cases[i].count && cases[i].count)
			assert_true(p * cases[i].count <= cases[i].amount);
	}
}

static void test_shard__burst_share(void **state)
{
	(void)state;
	static const struct share_case cases[] = {
	    {800, 8, 50}, {800, 1, 800}, {800, 0, 800}, {60, 8, 3}, {3, 2, 1}, {1, 8, 1}, {60, 2, 15},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		unsigned p = shard_burst_share(cases[i].amount, cases[i].count);
		assert_int_equal(p, cases[i].part);
		/* N shards leave at least half the burst unspent once it holds two tokens a shard */
		if (cases[i].count > 1 && cases[i].amount >= 2 * cases[i].count)
			assert_true(2 * p * cases[i].count <= cases[i].amount);
	}
}

static void test_shard__takes(void **state)
{
	(void)state;
	struct account a = acct(PROV_CDNPRO, NULL, "u", "cust-9");
	struct sb key;
	sb_init(&key, 0);
	shard_domain_key(&a, &key);
	unsigned mine = shard_of_domain(key.buf, 5);
	sb_release(&key);
	char name[NAME_MAX_LEN];
	for (int i = 0; i < 50; i++) {
		fleet_name(name, sizeof(name), i);
		for (unsigned k = 1; k <= 5; k++) {
			struct shard whole = {k, 5, SHARD_WHOLE}, split = {k, 5, SHARD_SPLIT};
			assert_int_equal(shard_takes(&whole, &a, name), k == mine);
			assert_int_equal(shard_takes(&split, &a, name), shard_of(name, 5) == k);
		}
	}
	enum shard_budget b;
	struct cf_err e;
	assert_int_equal(shard_budget_parse("split", &b, &e), 0);
	assert_int_equal(b, SHARD_SPLIT);
	assert_int_equal(shard_budget_parse("whole", &b, &e), 0);
	assert_int_equal(b, SHARD_WHOLE);
	assert_int_equal(shard_budget_parse("half", &b, &e), CF_EINVAL);
	assert_int_equal(shard_budget_parse(NULL, &b, &e), CF_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shard__golden_hashes),
	    cmocka_unit_test(test_shard__partition),
	    cmocka_unit_test(test_shard__stable_across_calls),
	    cmocka_unit_test(test_shard__parse),
	    cmocka_unit_test(test_shard__domain_keys),
	    cmocka_unit_test(test_shard__domains_move_little),
	    cmocka_unit_test(test_shard__share),
	    cmocka_unit_test(test_shard__burst_share),
	    cmocka_unit_test(test_shard__takes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
