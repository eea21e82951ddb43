#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_index.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Open addressing, linear probing, at most half full: lookups stay near one probe. */
#define INDEX_MIN_SLOTS 1024

struct slot {
	char *key; /* NULL: empty */
	struct json_object *v;
};

struct fk_index {
	struct slot *v;
	size_t nslots, used;
};

/* FNV-1a 64 */
static uint64_t key_hash(const char *k)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h;
}

static void put(struct fk_index *ix, char *key, struct json_object *v)
{
	if ((ix->used + 1) * 2 > ix->nslots) {
		struct fk_index n = {0};
		n.nslots = ix->nslots ? ix->nslots * 2 : INDEX_MIN_SLOTS;
		n.v = xcalloc(n.nslots, sizeof(*n.v));
		for (size_t i = 0; i < ix->nslots; i++)
			if (ix->v[i].key)
				put(&n, ix->v[i].key, ix->v[i].v);
		free(ix->v);
		*ix = n;
	}
	size_t m = ix->nslots - 1, i = (size_t)key_hash(key) & m;
	for (; ix->v[i].key; i = (i + 1) & m)
		if (strcmp(ix->v[i].key, key) == 0) {
			free(key); /* an earlier object holds the key */
			return;
		}
	ix->v[i].key = key;
	ix->v[i].v = v;
	ix->used++;
}

/* The key of kind k from parts, lowercased; NULL when a part is missing. */
static char *make_key(char k, const char *const *parts, size_t n)
{
	struct sb key;
	sb_init(&key, 0);
	sb_addc(&key, k);
	for (size_t i = 0; i < n; i++) {
		if (!parts[i]) {
			sb_release(&key);
			return NULL;
		}
		sb_addc(&key, '\n');
		for (const char *c = parts[i]; *c; c++)
			sb_addc(&key, (char)tolower((unsigned char)*c));
	}
	return sb_detach(&key);
}

struct fk_index *fk_index_new(void)
{
	return xcalloc(1, sizeof(struct fk_index));
}

void fk_index_free(struct fk_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->nslots; i++)
		free(ix->v[i].key);
	free(ix->v);
	free(ix);
}

void fk_index_add(struct fk_index *ix, char k, const char *const *parts, size_t n,
		  struct json_object *v)
{
	char *key = make_key(k, parts, n);
	if (key)
		put(ix, key, v);
}

struct json_object *fk_index_find(const struct fk_index *ix, char k, const char *const *parts,
				  size_t n)
{
	char *key = ix->nslots ? make_key(k, parts, n) : NULL;
	struct json_object *v = NULL;
	if (!key)
		return NULL;
	size_t m = ix->nslots - 1;
	for (size_t i = (size_t)key_hash(key) & m; ix->v[i].key; i = (i + 1) & m)
		if (strcmp(ix->v[i].key, key) == 0) {
			v = ix->v[i].v;
			break;
		}
	free(key);
	return v;
}
