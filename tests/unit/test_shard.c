/* Unit tests: drift sharding (reconcile/shard.c). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/shard.h"

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
				struct shard s = {k, n};
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
		struct shard s = {0, 0};
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shard__golden_hashes),
	    cmocka_unit_test(test_shard__partition),
	    cmocka_unit_test(test_shard__stable_across_calls),
	    cmocka_unit_test(test_shard__parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
