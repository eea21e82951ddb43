#include "reconcile/base/compat.h"
#include "reconcile/shard.h"

#include <errno.h>

/* FNV-1a 64 parameters (Fowler/Noll/Vo, IETF draft-eastlake-fnv). */
#define FNV64_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV64_PRIME  UINT64_C(0x100000001b3)

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
	return CF_OK;
}
