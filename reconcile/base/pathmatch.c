/* Item matching for cache rules; see pathmatch.h. */
#include "reconcile/base/compat.h"

#include <strings.h>

#include "reconcile/base/pathmatch.h"

static bool dir_matches(const char *item, const char *path)
{
	size_t n = strlen(item);
	if (n > 0 && item[n - 1] == '/')
		n--; /* "/pic/" and "/pic" both mean the directory "/pic/" */
	return strncmp(path, item, n) == 0 && path[n] == '/';
}

static bool suffix_matches(const char *item, const char *path)
{
	const char *seg = strrchr(path, '/');
	seg = seg ? seg + 1 : path;
	size_t sl = strlen(seg), il = strlen(item);
	return sl > il && seg[sl - il - 1] == '.' && strcasecmp(seg + sl - il, item) == 0;
}

bool pathmatch_item(enum rule_kind k, const char *item, const char *path)
{
	switch (k) {
	case RULE_DIR:
		return dir_matches(item, path);
	case RULE_SUFFIX:
		return suffix_matches(item, path);
	case RULE_PATH:
		return strcmp(item, path) == 0;
	}
	return false;
}

bool pathmatch_rule(const struct rule *r, const char *path)
{
	for (size_t j = 0; j < r->items.n; j++)
		if (pathmatch_item(r->kind, r->items.v[j].s, path))
			return true;
	return false;
}

long pathmatch_first(const struct cache *c, const char *path)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (pathmatch_rule(&c->rules[i], path))
			return (long)i;
	return -1;
}
