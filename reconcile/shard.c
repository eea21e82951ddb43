#include "reconcile/base/compat.h"
#include "reconcile/shard.h"

#include <errno.h>
#include <string.h>

/* FNV-1a 64 parameters (Fowler/Noll/Vo, IETF draft-eastlake-fnv). */
#define FNV64_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV64_PRIME  UINT64_C(0x100000001b3)
/* A split shard's burst is 1/(N x this) of the domain's: the N buckets together leave half the
 * provider's burst unspent, so requests that were in flight while its bucket sat full (and lost
 * refill) cannot overdraw it (99 answers 429 in 100,099 at an exact 1/N). */
#define SHARD_BURST_HEADROOM 2

uint64_t shard_hash(const char *name)
{
	uint64_t h = FNV64_OFFSET;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= FNV64_PRIME;
	}
	return h;
}

unsigned shard_of(const char *name, unsigned count)
{
	if (count <= 1)
		return 1;
	return (unsigned)(shard_hash(name) % count) + 1;
}

bool shard_contains(const struct shard *s, const char *name)
{
	return shard_of(name, s->count) == s->index;
}

/* splitmix64's finaliser: FNV alone mixes the low bits of a short suffix poorly. */
static uint64_t shard_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

unsigned shard_of_domain(const char *key, unsigned count)
{
	uint64_t h = shard_hash(key), best = 0;
	unsigned pick = 1;
	for (unsigned i = 1; i <= count; i++) {
		uint64_t w = shard_mix(h ^ shard_mix(i));
		if (i == 1 || w > best) {
			best = w;
			pick = i;
		}
	}
	return pick;
}

static void key_part(struct sb *out, const char *tag, const struct mval *m)
{
	sb_addf(out, "|%s=", tag);
	if (m->kind == MVAL_ENV)
		sb_adds(out, "env:");
	else if (m->kind == MVAL_FILE)
		sb_adds(out, "file:");
	if (m->kind != MVAL_ABSENT && m->text)
		sb_adds(out, m->text);
}

void shard_domain_key(const struct account *a, struct sb *out)
{
	if (a->rate_domain.kind == MVAL_LITERAL && a->rate_domain.text) {
		sb_addf(out, "domain:%s", a->rate_domain.text);
		return;
	}
	switch (a->provider) {
	case PROV_CDNPRO:
		sb_adds(out, "cdnpro");
		key_part(out, "base", &a->base_url);
		key_part(out, "user", &a->user);
		break;
	case PROV_AZURE_CHINA:
		sb_adds(out, "azure-china");
		key_part(out, "base", &a->base_url);
		key_part(out, "sub", &a->subscription);
		key_part(out, "key", &a->key_id);
		break;
	default: /* ARM: azure and azure-frontdoor draw on one principal's limit */
		sb_adds(out, "arm");
		key_part(out, "tenant", &a->tenant);
		key_part(out, "client", &a->client_id);
		key_part(out, "sub", &a->subscription);
		break;
	}
}

bool shard_takes(const struct shard *s, const struct account *a, const char *name)
{
	if (s->count <= 1)
		return true;
	if (s->budget == SHARD_SPLIT)
		return shard_contains(s, name);
	struct sb key;
	sb_init(&key, 0);
	shard_domain_key(a, &key);
	bool mine = shard_of_domain(key.buf, s->count) == s->index;
	sb_release(&key);
	return mine;
}

unsigned shard_share(unsigned amount, unsigned count)
{
	if (count <= 1)
		return amount;
	unsigned part = amount / count;
	return part ? part : 1;
}

unsigned shard_burst_share(unsigned burst, unsigned count)
{
	if (count <= 1)
		return burst;
	return shard_share(burst, count * SHARD_BURST_HEADROOM);
}

int shard_budget_parse(const char *text, enum shard_budget *out, struct cf_err *e)
{
	if (text && strcmp(text, "whole") == 0)
		*out = SHARD_WHOLE;
	else if (text && strcmp(text, "split") == 0)
		*out = SHARD_SPLIT;
	else
		return err_set(e, CF_EINVAL, "--shard-budget '%s': expected whole or split",
			       text ? text : "");
	return CF_OK;
}

/* Reads one decimal number without sign or leading '+'; *end is left after it. */
static int shard_number(const char *s, char **end, unsigned *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, end, 10);
	if (errno || v > SHARD_MAX_COUNT)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int shard_parse(const char *text, struct shard *out, struct cf_err *e)
{
	char *end = NULL;
	unsigned i = 0, n = 0;
	if (!text || shard_number(text, &end, &i) < 0 || *end != '/' ||
	    shard_number(end + 1, &end, &n) < 0 || *end != '\0')
		return err_set(
		    e, CF_EINVAL,
		    "--shard '%s': expected I/N, two whole numbers with 1 <= I <= N <= %u",
		    text ? text : "", SHARD_MAX_COUNT);
	if (n == 0 || i == 0 || i > n)
		return err_set(e, CF_EINVAL,
			       "--shard '%s': shards are numbered from 1 to N (1 <= I <= N <= %u)",
			       text, SHARD_MAX_COUNT);
	out->index = i;
	out->count = n;
	out->budget = SHARD_WHOLE;
	return CF_OK;
}
