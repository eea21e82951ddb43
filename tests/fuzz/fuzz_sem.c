/*
 * The differential check of tests/unit/test_sem.c on libFuzzer input: the bytes build a rule
 * list (valid as validation would leave it) and extra paths; for azure-china and azure,
 * cacheform's meaning must equal the provider's evaluation of what the driver writes, on
 * every probe path and every extra path. azure-china lists that CF316 refuses are skipped,
 * but their example path must show the takeover.
 */
#include "reconcile/base/compat.h"

#include "reconcile/provider.h"
#include "reconcile/sem.h"
#include "schema/check.h"
#include "reconcile/base/xmem.h"
#include "tests/fuzz/fuzz.h"

#define FZ_MAX_RULES 10
#define FZ_MAX_ITEM  8

static const int64_t fz_ttls[] = {0, 60, 3600, 86400, 2592000};

struct reader {
	const uint8_t *p;
	size_t n;
};

static int next(struct reader *r)
{
	if (r->n == 0)
		return -1;
	r->n--;
	return *r->p++;
}

/* An item of kind k: dir and path items start with '/', dir and suffix have no '.'. */
static void read_item(struct reader *r, enum rule_kind k, char *buf)
{
	static const char dir_abc[] = "/abAB", path_abc[] = "/abAB.jpg", suf_abc[] = "jpgJPGab";
	const char *abc = k == RULE_DIR ? dir_abc : k == RULE_PATH ? path_abc : suf_abc;
	size_t alen = strlen(abc), len = 1 + (size_t)(next(r) & 0xff) % FZ_MAX_ITEM, o = 0;
	if (k != RULE_SUFFIX)
		buf[o++] = '/';
	for (size_t i = 0; i < len; i++) {
		int c = next(r);
		if (c < 0)
			break;
		buf[o++] = abc[(size_t)c % alen];
	}
	if (o == 0)
		buf[o++] = 'j';
	buf[o] = '\0';
}

static void build(struct reader *r, struct cache *c)
{
	int f = next(r);
	c->ignore_cache_control = f > 0 && (f & 1);
	c->ignore_query_string = f > 0 && (f & 2);
	for (int i = 0; i < FZ_MAX_RULES; i++) {
		int h = next(r);
		if (h < 0 || h == 0xff) /* 0xff ends the rules; the rest are paths */
			break;
		struct rule *ru = cache_add_rule(c);
		ru->kind = (enum rule_kind)(h % 3);
		ru->ttl = fz_ttls[(h / 3) % 5];
		for (int k = 0; k < 1 + (h / 15) % 3; k++) {
			char item[FZ_MAX_ITEM + 2];
			read_item(r, ru->kind, item);
			if (!svec_contains(&ru->items, item))
				svec_push(&ru->items, item, NULL);
		}
	}
}

static void check_provider(struct endpoint *ep, const struct svec *extra)
{
	struct sem_cfg after;
	struct sem_probe pr;
	struct svec paths = {0};
	size_t i, j;
	char ex[256];
	if (ep->account->provider == PROV_AZURE_CHINA &&
	    check_cn_takeover(&ep->cache, &i, &j, ex, sizeof(ex))) {
		struct sem_result want, got;
		sem_desired(&ep->cache, ex, &want);
		sem_cn_eval(&ep->cache, ex, &got);
		FUZZ_CHECK(!sem_same(&want, &got));
		return;
	}
	FUZZ_CHECK(prov_sem_write(ep, NULL, &after, NULL) == 0);
	memset(&pr, 0, sizeof(pr));
	sem_probe_add_cache(&pr, &ep->cache);
	sem_probe_add_cfg(&pr, &after);
	sem_probe_paths(&pr, &paths);
	for (size_t k = 0; k < extra->n; k++)
		svec_push(&paths, extra->v[k].s, NULL);
	for (size_t k = 0; k < paths.n; k++) {
		struct sem_result want, got;
		sem_desired(&ep->cache, paths.v[k].s, &want);
		sem_eval(&after, paths.v[k].s, &got);
		if (!sem_same(&want, &got))
			fprintf(stderr, "%s: %s: want %d/%lld got %d/%lld\n",
				provider_name(ep->account->provider), paths.v[k].s, want.mode,
				(long long)want.ttl, got.mode, (long long)got.ttl);
		FUZZ_CHECK(sem_same(&want, &got));
	}
	sem_probe_release(&pr);
	svec_release(&paths);
	sem_cfg_release(&after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	struct reader r = {data, size};
	struct account a;
	struct endpoint ep;
	struct svec extra = {0};
	memset(&a, 0, sizeof(a));
	memset(&ep, 0, sizeof(ep));
	ep.name.s = (char *)"fuzz";
	ep.account = &a;
	build(&r, &ep.cache);
	/* the rest: paths, '\n'-separated, each made to start with '/' */
	while (r.n > 0) {
		char path[64];
		size_t o = 0;
		path[o++] = '/';
		int c;
		while ((c = next(&r)) >= 0 && c != '\n' && o < sizeof(path) - 1)
			path[o++] = c ? (char)c : 'x';
		path[o] = '\0';
		svec_push(&extra, path, NULL);
	}
	a.provider = PROV_AZURE_CHINA;
	check_provider(&ep, &extra);
	a.provider = PROV_AZURE;
	check_provider(&ep, &extra);
	cache_release(&ep.cache);
	svec_release(&extra);
	return 0;
}
