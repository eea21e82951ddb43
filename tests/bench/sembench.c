/*
 * Driver for tests/bench/sem.sh: `explain` evaluations per second on a 25-rule endpoint (the
 * desired meaning, and each provider's evaluator on what its driver writes), and what the
 * behaviour comparison costs plan per endpoint (prov_behaves_as) next to the exact comparison.
 * Usage: sembench SECONDS_PER_MEASURE. Prints "name value unit" lines.
 */
#include "reconcile/base/compat.h"

#include <stdio.h>
#include <time.h>

#include "reconcile/provider.h"
#include "reconcile/sem.h"

#define BENCH_RULES 25
#define BENCH_PATHS 1024

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 25 rules the way real endpoints look: no-cache paths first, directories, extensions. */
static void build(struct cache *c)
{
	char item[64];
	for (int i = 0; i < BENCH_RULES; i++) {
		struct rule *r = cache_add_rule(c);
		r->kind = (enum rule_kind)(i % 3 == 0 ? RULE_PATH : i % 3 == 1 ? RULE_DIR : RULE_SUFFIX);
		r->ttl = i < 3 ? 0 : 3600 * (i + 1);
		for (int k = 0; k < 4; k++) {
			if (r->kind == RULE_PATH)
				snprintf(item, sizeof(item), "/app/v%d/page%d.html", i, k);
			else if (r->kind == RULE_DIR)
				snprintf(item, sizeof(item), "/static/s%d/part%d", i, k);
			else
				snprintf(item, sizeof(item), "e%dx%d", i, k);
			svec_push(&r->items, item, NULL);
		}
	}
}

static void paths(char p[][96])
{
	for (int i = 0; i < BENCH_PATHS; i++) {
		int r = (i * 7) % BENCH_RULES, k = i % 4;
		switch (i % 4) {
		case 0:
			snprintf(p[i], 96, "/app/v%d/page%d.html", r, k);
			break;
		case 1:
			snprintf(p[i], 96, "/static/s%d/part%d/img/%d.png", r, k, i);
			break;
		case 2:
			snprintf(p[i], 96, "/media/%d/file.E%dX%d", i, r, k);
			break;
		default:
			snprintf(p[i], 96, "/nothing/matches/%d.txt", i);
		}
	}
}

static char bench_paths[BENCH_PATHS][96];

/* Evaluations per second of fn over the paths for about secs of CPU time. */
static double rate(const struct cache *c, const struct sem_cfg *cfg, double secs)
{
	volatile long sink = 0;
	long n = 0;
	double t0 = now_s(), t;
	do {
		for (int i = 0; i < BENCH_PATHS; i++) {
			struct sem_result r;
			if (cfg)
				sem_eval(cfg, bench_paths[i], &r);
			else
				sem_desired(c, bench_paths[i], &r);
			sink += r.ttl;
		}
		n += BENCH_PATHS;
		t = now_s() - t0;
	} while (t < secs);
	(void)sink;
	return (double)n / t;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 1.0;
	struct account a = {0};
	struct endpoint ep = {0};
	ep.name.s = (char *)"bench";
	ep.account = &a;
	build(&ep.cache);
	ep.cache.ignore_query_string = true;
	paths(bench_paths);
	printf("desired_eval_per_s %.0f evaluations/s\n", rate(&ep.cache, NULL, secs));
	enum provider_kind kinds[] = {PROV_AZURE_CHINA, PROV_AZURE};
	for (size_t k = 0; k < 2; k++) {
		struct sem_cfg cfg;
		struct live_state live = {0};
		a.provider = kinds[k];
		if (prov_sem_write(&ep, NULL, &cfg, NULL) != 0)
			return 1;
		printf("%s_eval_per_s %.0f evaluations/s\n", provider_name(kinds[k]),
		       rate(NULL, &cfg, secs));
		/* plan's comparison of one endpoint: exact, then by behaviour */
		live.exists = true;
		cache_copy(&live.cache, &ep.cache);
		live.sem = cfg;
		long n = 0;
		double t0 = now_s(), t;
		do {
			n += cache_equal(&live.cache, &ep.cache);
			t = now_s() - t0;
		} while (t < secs / 4);
		printf("%s_exact_compare_us %.3f us/endpoint\n", provider_name(kinds[k]), t / n * 1e6);
		n = 0;
		t0 = now_s();
		do {
			n += prov_behaves_as(&ep, &live);
			t = now_s() - t0;
		} while (t < secs / 4);
		printf("%s_behaviour_compare_us %.3f us/endpoint\n", provider_name(kinds[k]),
		       t / n * 1e6);
		live_state_release(&live);
	}
	cache_release(&ep.cache);
	return 0;
}
