/*
 * Semantic checks: whether a provider can express a rule list's meaning (SPEC §3,
 * "Semantics"). azure-china: no-cache rules take precedence over the first match, so a TTL-0
 * rule must not match a path an earlier rule with a TTL decides (CF316).
 */
#include "reconcile/base/compat.h"

#include "schema/check.h"
#include "schema/check_int.h"
#include "reconcile/base/pathmatch.h"
#include "reconcile/base/sb.h"

#define SEM_CAND_MAX   4096 /* bytes of a candidate example path */
#define SEM_NAME_A     "cf-example"
#define SEM_NAME_B     "cf-example-2"
#define SEM_LINT_ITEMS 4000 /* item pairs beyond this are not searched (CF315 covers lints) */

/* Whether the directory item d (taken with a trailing '/') holds the path or directory s. */
static bool dir_holds(const char *d, const char *s)
{
	return pathmatch_item(RULE_DIR, d, s);
}

/* dir item written with its trailing '/' */
static void add_dir(struct sb *sb, const char *d)
{
	sb_adds(sb, d);
	if (!*d || d[strlen(d) - 1] != '/')
		sb_addc(sb, '/');
}

/* Tries candidate s: the first rule deciding it is i and rule j matches it too. */
static bool try_path(const struct cache *c, size_t i, size_t j, const char *s, char *ex, size_t n)
{
	if (pathmatch_first(c, s) != (long)i || !pathmatch_rule(&c->rules[j], s))
		return false;
	snprintf(ex, n, "%s", s);
	return true;
}

/*
 * Candidate paths matched by both item a (kind ka) and item b (kind kb): every way the two
 * can overlap, with a file name no other item is likely to name.
 */
static bool try_pair(const struct cache *c, size_t i, size_t j, enum rule_kind ka, const char *a,
		     enum rule_kind kb, const char *b, char *ex, size_t n)
{
	static const char *const names[] = {SEM_NAME_A, SEM_NAME_B};
	if (ka == RULE_PATH || kb == RULE_PATH)
		return try_path(c, i, j, ka == RULE_PATH ? a : b, ex, n);
	struct sb sb;
	bool hit = false;
	sb_init(&sb, SEM_CAND_MAX);
	for (size_t k = 0; k < CF_ARRAY_LEN(names) && !hit; k++) {
		sb_reset(&sb);
		if (ka == RULE_DIR && kb == RULE_DIR) {
			/* the deeper directory, when one holds the other */
			const char *deep = dir_holds(a, b) || strcmp(a, b) == 0 ? b : a;
			add_dir(&sb, deep);
			sb_adds(&sb, names[k]);
		} else if (ka == RULE_DIR || kb == RULE_DIR) {
			add_dir(&sb, ka == RULE_DIR ? a : b);
			sb_addf(&sb, "%s.%s", names[k], ka == RULE_DIR ? b : a);
		} else {
			sb_addf(&sb, "/%s.%s", names[k], a);
		}
		hit = !sb.overflow && try_path(c, i, j, sb.buf, ex, n);
	}
	sb_release(&sb);
	return hit;
}

static bool rules_conflict(const struct cache *c, size_t i, size_t j, char *ex, size_t n)
{
	const struct rule *ri = &c->rules[i], *rj = &c->rules[j];
	for (size_t x = 0; x < ri->items.n; x++)
		for (size_t y = 0; y < rj->items.n; y++)
			if (ri->items.v[x].s && rj->items.v[y].s &&
			    try_pair(c, i, j, ri->kind, ri->items.v[x].s, rj->kind,
				     rj->items.v[y].s, ex, n))
				return true;
	return false;
}

bool check_cn_takeover(const struct cache *c, size_t *earlier, size_t *later, char *example,
		       size_t n)
{
	size_t pairs = 0;
	for (size_t j = 1; j < c->nrules; j++) {
		if (c->rules[j].ttl != 0)
			continue;
		for (size_t i = 0; i < j; i++) {
			if (c->rules[i].ttl == 0)
				continue;
			pairs += c->rules[i].items.n * c->rules[j].items.n;
			if (pairs > SEM_LINT_ITEMS)
				return false;
			if (rules_conflict(c, i, j, example, n)) {
				*earlier = i;
				*later = j;
				return true;
			}
		}
	}
	return false;
}

void check_cn_semantics(struct check_ctx *x, const struct endpoint *e)
{
	const struct cache *c = &e->cache;
	size_t i, j;
	char ex[SEM_CAND_MAX];
	struct check_qbuf b;
	if (!check_cn_takeover(c, &i, &j, ex, sizeof(ex)))
		return;
	ERR(x, &c->rules[j].pos, "CF316",
	    "rule %zu (ttl 0) would take over paths that rule %zu (line %u) decides, e.g. '%s': "
	    "azure-china applies no-cache rules before the first match; move rule %zu before "
	    "rule %zu or narrow it",
	    j + 1, i + 1, c->rules[i].pos.line, check_quote(&b, ex), j + 1, i + 1);
}

void check_cn_rule_cc(struct check_ctx *x, const struct endpoint *e)
{
	const struct cache *c = &e->cache;
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		if (r->cc == RULE_CC_INHERIT || rule_ignores_cc(c, r) == c->ignore_cache_control)
			continue;
		ERR(x, &r->cc_pos, "CF317",
		    "rule %zu sets ignore_cache_control: %s, but azure-china's IgnoreCacheControl "
		    "is endpoint-wide (the cache block says %s)",
		    i + 1, r->cc == RULE_CC_IGNORE ? "true" : "false",
		    c->ignore_cache_control ? "true" : "false");
	}
}
