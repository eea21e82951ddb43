#include "reconcile/base/compat.h"
#include "reconcile/migrate.h"

#include <ctype.h>
#include <stdarg.h>

#include "reconcile/afd_compile.h"
#include "reconcile/import.h"
#include "reconcile/sem.h"
#include "reconcile/sem_afd.h"
#include "reconcile/base/limits.h"
#include "reconcile/base/xmem.h"

#define MIGRATE_MSG_MAX	   1024 /* bytes of one gap sentence */
#define MIGRATE_NAME_ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static void add_gap(struct migrate_result *r, const char *code, enum diag_sev sev, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

static void add_gap(struct migrate_result *r, const char *code, enum diag_sev sev, const char *fmt,
		    ...)
{
	struct sb sb;
	va_list ap;
	if (r->ngaps == r->gcap) {
		r->gcap = r->gcap ? r->gcap * 2 : 4;
		r->gaps = xreallocarray(r->gaps, r->gcap, sizeof(*r->gaps));
	}
	sb_init(&sb, MIGRATE_MSG_MAX);
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	r->gaps[r->ngaps++] = (struct migrate_gap){code, sev, sb_detach(&sb)};
	r->blocked |= sev == DIAG_ERROR;
}

/* Front Door rule and rule set names: ^[a-zA-Z][a-zA-Z0-9]{0,59}$ */
static bool afd_name_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= AFD_RULE_NAME_MAX && isalpha((unsigned char)s[0]) &&
	       strspn(s, MIGRATE_NAME_ALNUM) == n;
}

static void set_or(struct sval *v, const char *opt, const char *def)
{
	if (opt || def)
		sval_set(v, opt ? opt : def, NULL);
}

/* MIGRATE_SET_PREFIX + the letters and digits of name, cut to the rule-name limit. */
static void default_rule_set(const char *name, struct sval *out)
{
	struct sb sb;
	sb_init(&sb, 0);
	sb_adds(&sb, MIGRATE_SET_PREFIX);
	for (const char *p = name; *p && sb.len < AFD_RULE_NAME_MAX; p++)
		if (isalnum((unsigned char)*p))
			sb_addc(&sb, *p);
	sval_set(out, sb.buf, NULL);
	sb_release(&sb);
}

static void build_remote(const struct endpoint *old, const struct migrate_target *t,
			 struct migrate_result *r)
{
	struct remote *rm = &r->ep.remote;
	bool az = old->account->provider == PROV_AZURE;
	set_or(&rm->resource_group, t->resource_group, az ? old->remote.resource_group.s : NULL);
	set_or(&rm->profile, t->profile, az ? old->remote.profile.s : NULL);
	set_or(&rm->endpoint, t->endpoint, az ? old->remote.endpoint.s : old->name.s);
	set_or(&rm->route, t->route, MIGRATE_ROUTE_DEFAULT);
	if (t->rule_set)
		sval_set(&rm->rule_set, t->rule_set, NULL);
	else
		default_rule_set(old->name.s, &rm->rule_set);
	if (!rm->resource_group.s || !rm->profile.s)
		add_gap(r, "CF607", DIAG_ERROR,
			"an %s endpoint names no Azure resource group or profile: give the Front "
			"Door profile with --remote resource_group=RG --remote profile=NAME",
			provider_name(old->account->provider));
}

static void build_endpoint(const struct config *cfg, const struct endpoint *old,
			   const struct migrate_target *t, struct migrate_result *r)
{
	struct endpoint *ep = &r->ep;
	struct sb name;
	sb_init(&name, 0);
	sb_addf(&name, "%s" MIGRATE_NAME_SUFFIX, old->name.s);
	sval_set(&ep->name, name.buf, NULL);
	sb_release(&name);
	sval_set(&ep->account_name, t->account_name, NULL);
	ep->account = (struct account *)t->account;
	for (size_t i = 0; i < old->hosts.n; i++)
		svec_push(&ep->hosts, old->hosts.v[i].s, NULL);
	if (old->scheme.s)
		sval_set(&ep->scheme, old->scheme.s, NULL);
	ep->mode = old->mode;
	ep->has_cache = old->has_cache;
	cache_copy(&ep->cache, &old->cache);
	build_remote(old, t, r);
	if (config_endpoint(cfg, ep->name.s))
		add_gap(r, "CF608", DIAG_ERROR,
			"the repository already has an endpoint '%s': rename or remove it first",
			ep->name.s);
}

/* ignore_cookie, rule names, TTLs and the rule set's capacity. */
static void check_cache(const struct endpoint *old, const struct migrate_target *t,
			struct migrate_result *r)
{
	struct cache *c = &r->ep.cache;
	size_t weight = 0;
	if (c->ignore_cookie) {
		c->ignore_cookie = false;
		add_gap(r, "CF601", DIAG_WARNING,
			"ignore_cookie: true is dropped: Front Door has no such switch; check "
			"how the origin's responses with cookies are cached there");
	}
	for (size_t i = 0; i < c->nrules; i++) {
		struct rule *ru = &c->rules[i];
		weight += ru->ttl > 0 && t->batch ? AFD_BATCH_CACHING_WEIGHT : 1;
		if (ru->name.s && !afd_name_ok(ru->name.s)) {
			add_gap(r, "CF605", DIAG_NOTICE,
				"rule %zu: name '%s' is not a Front Door rule name (letters and "
				"digits, at most %d): dropped, cacheform names the rule",
				i + 1, ru->name.s, AFD_RULE_NAME_MAX);
			free(ru->name.s);
			ru->name.s = NULL;
		}
		if (ru->ttl > AFD_DURATION_MAX_S)
			add_gap(r, "CF603", DIAG_ERROR,
				"rule %zu (%s:%d): ttl %lld s is longer than Front Door caches "
				"(365.23:59:59 = %lld s)",
				i + 1, old->file ? old->file : "?", ru->pos.line,
				(long long)ru->ttl, (long long)AFD_DURATION_MAX_S);
	}
	if (weight > AFD_RULES_PER_SET)
		add_gap(r, "CF604", DIAG_ERROR,
			"%zu rules count %zu in one Front Door rule set, which holds at most %d%s",
			c->nrules, weight, AFD_RULES_PER_SET,
			t->batch ? " (batch mode: a rule that caches counts twice)" : "");
	if (r->ep.mode != MODE_PURGE_ONLY)
		add_gap(r, "CF606", DIAG_NOTICE,
			"the query-string cache key (ignore_query_string: %s) becomes route '%s''s "
			"queryStringCachingBehavior %s: it covers every request of that route, and "
			"a foreign rule set on the route can override it (plan names such paths)",
			c->ignore_query_string ? "true" : "false", r->ep.remote.route.s,
			c->ignore_query_string ? "IgnoreQueryString" : "UseQueryString");
}

/* Purge manifests that preload through this endpoint: Front Door has no preload. */
static void check_preloads(const struct config *cfg, const struct endpoint *old,
			   struct migrate_result *r)
{
	for (size_t i = 0; i < cfg->npurges; i++) {
		const struct purge *p = &cfg->purges[i];
		if (p->preload.n && svec_contains(&p->endpoints, old->name.s))
			add_gap(r, "CF602", DIAG_NOTICE,
				"purge '%s' (%s) preloads %zu file%s through this endpoint: Front "
				"Door has no preload, so a manifest naming '%s' may not preload "
				"(CF425)",
				p->id.s, p->file ? p->file : "?", p->preload.n,
				p->preload.n == 1 ? "" : "s", r->ep.name.s);
	}
}

/* The old list's meaning against Front Door's evaluation of what afd_compile writes, on
 * every probe path (the owned rule set alone on a route that caches with the YAML's key). */
static void compare_meaning(const struct endpoint *old, struct migrate_result *r)
{
	struct sem_afd_set want = {0};
	struct sem_afd_route rt = {0};
	struct sem_probe pr;
	struct svec paths = {0};
	memset(&pr, 0, sizeof(pr));
	afd_compile(&r->ep.cache, &want);
	for (size_t i = 0; i < want.n; i++)
		want.rules[i].order = (int64_t)(i + 1) * AFD_ORDER_STEP;
	rt.has_cache = true;
	rt.qs = r->ep.cache.ignore_query_string ? AFDQ_IGNORE : AFDQ_USE;
	rt.sets = &want;
	rt.n = 1;
	sem_probe_add_cache(&pr, &old->cache);
	sem_probe_add_cache(&pr, &r->ep.cache);
	sem_probe_paths(&pr, &paths);
	for (size_t i = 0; i < paths.n; i++) {
		struct sem_afd_result d, g;
		sem_afd_desired(&old->cache, paths.v[i].s, &d);
		sem_afd_eval(&rt, paths.v[i].s, &g);
		if (sem_afd_same(&d, &g))
			continue;
		if (!r->differ++)
			r->first_diff = xstrdup(paths.v[i].s);
	}
	r->probes = paths.n;
	if (r->differ)
		add_gap(
		    r, "CF609", DIAG_ERROR,
		    "the compiled Front Door rule set caches %zu of %zu probe paths differently "
		    "from the rule list (first: %s)",
		    r->differ, r->probes, r->first_diff);
	svec_release(&paths);
	sem_probe_release(&pr);
	sem_afd_set_release(&want);
}

void migrate_endpoint(const struct config *cfg, const struct endpoint *old,
		      const struct migrate_target *t, struct migrate_result *out)
{
	memset(out, 0, sizeof(*out));
	build_endpoint(cfg, old, t, out);
	check_cache(old, t, out);
	check_preloads(cfg, old, out);
	compare_meaning(old, out);
}

void migrate_result_release(struct migrate_result *r)
{
	struct endpoint *ep = &r->ep;
	struct sval *sv[] = {&ep->name,		  &ep->account_name,
			     &ep->scheme,	  &ep->remote.resource_group,
			     &ep->remote.profile, &ep->remote.endpoint,
			     &ep->remote.route,	  &ep->remote.rule_set};
	for (size_t i = 0; i < CF_ARRAY_LEN(sv); i++)
		free(sv[i]->s);
	svec_release(&ep->hosts);
	cache_release(&ep->cache);
	for (size_t i = 0; i < r->ngaps; i++)
		free(r->gaps[i].msg);
	free(r->gaps);
	free(r->first_diff);
	memset(r, 0, sizeof(*r));
}

void migrate_yaml(const struct endpoint *old, const struct migrate_result *r, struct sb *out)
{
	sb_addf(out,
		"# Translated by `cacheform migrate` from endpoint '%s' (%s, %s): the same rule\n"
		"# list, so Front Door caches every path as before (%zu probe paths compared).\n"
		"# Check that remote names the Front Door profile, endpoint and route serving\n"
		"# these hosts before `cacheform apply`.\n",
		old->name.s, provider_name(old->account->provider), old->file ? old->file : "?",
		r->probes);
	for (size_t i = 0; i < r->ngaps; i++)
		if (r->gaps[i].sev != DIAG_NOTICE || strcmp(r->gaps[i].code, "CF606") != 0)
			sb_addf(out, "# %s: %s\n", r->gaps[i].code, r->gaps[i].msg);
	import_yaml_endpoint(&r->ep, &r->ep.cache, out);
}

/* ---- mode: observe ---- */

/* Length of the line at p (without its newline). */
static size_t line_len(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return (size_t)((nl ? nl : end) - p);
}

static bool key_line(const char *p, size_t n, const char *key)
{
	size_t k = strlen(key);
	return n > k && strncmp(p, key, k) == 0 && p[k] == ':';
}

/* The comment of a `key: value  # comment` line, from its '#', or NULL. */
static const char *line_comment(const char *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (p[i] == '#' && (p[i - 1] == ' ' || p[i - 1] == '\t'))
			return p + i;
	return NULL;
}

int migrate_observe_text(const char *text, size_t len, struct sb *out)
{
	const char *end = text + len, *mode = NULL, *after = NULL;
	for (const char *p = text; p < end;) {
		size_t n = line_len(p, end);
		if (n && (*p == '{' || *p == '&' || *p == '*'))
			return -1; /* a flow mapping or anchors: not edited by line */
		if (key_line(p, n, "mode"))
			mode = p;
		else if (key_line(p, n, "endpoint") && !after)
			after = p + n + (p + n < end);
		p += n + (p + n < end);
	}
	if (mode) {
		size_t n = line_len(mode, end);
		const char *c = line_comment(mode, n);
		sb_add(out, text, (size_t)(mode - text));
		sb_adds(out, "mode: observe");
		bool cr = n && mode[n - 1] == '\r' && (!c || c < mode + n - 1);
		if (c) {
			sb_addc(out, ' ');
			sb_add(out, c, (size_t)(mode + n - c - cr));
		}
		if (cr)
			sb_addc(out, '\r');
		sb_add(out, mode + n, (size_t)(end - (mode + n)));
		return 0;
	}
	const char *at = after ? after : text;
	sb_add(out, text, (size_t)(at - text));
	if (at > text && at[-1] != '\n')
		sb_addc(out, '\n');
	sb_adds(out, "mode: observe\n");
	sb_add(out, at, (size_t)(end - at));
	return 0;
}
