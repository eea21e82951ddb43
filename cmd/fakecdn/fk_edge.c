#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_edge.h"
#include "cmd/fakecdn/fk_azure.h"
#include "cmd/fakecdn/fk_cdnpro_prop.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"
#include "reconcile/prov_afd.h"
#include "reconcile/prov_azure.h"
#include "reconcile/sem.h"
#include "reconcile/sem_edgelogic.h"

#include <ctype.h>
#include <regex.h>
#include <strings.h>

#define EDGE_HOST_MAX	   256
#define EDGE_ENTRIES_MAX   10000 /* past this the oldest object is dropped first */
#define EDGE_BODY_MAX	   (16 << 10)
#define EDGE_ADVANCE_MAX_S (366LL * 24 * 3600)
#define EDGE_MSG_MAX	   512
#define EDGE_DOMAINS_MAX   64
/* TTL of a response without caching headers when no rule decides. Azure CDN Standard from
 * Microsoft: "If no caching rules are set and the origin sends no cache directive headers,
 * the CDN caches for two days" (learn.microsoft.com, "How caching works", defaults table).
 * azure-china (21Vianet) documents no figure; we use the same. CDN Pro (nginx-based) does
 * not cache a response that carries no caching header unless Edge Logic says so. */
#define EDGE_DEFAULT_TTL_AZURE_S  (2LL * 24 * 3600)
#define EDGE_DEFAULT_TTL_CHINA_S  (2LL * 24 * 3600)
#define EDGE_DEFAULT_TTL_CDNPRO_S 0
/* Front Door: "if no Cache-Control header is present, Front Door caches the content for a
 * random duration between one and three days" (learn.microsoft.com, "Caching with Azure Front
 * Door"). The emulator is deterministic: it takes the lower bound. */
#define EDGE_DEFAULT_TTL_AFD_S (1LL * 24 * 3600)

enum site_kind { SITE_CHINA, SITE_AZURE, SITE_CDNPRO, SITE_AFD };

/* The endpoint serving a host. ep is borrowed from the state (for cdnpro: the configs of the
 * property version deployed where the request arrived, NULL for a plain `hosts` entry); prof is
 * the Front Door profile holding the afdEndpoint ep (NULL for the others); staging: the request
 * came through the CDN Pro staging listener (its objects are cached apart). */
struct site {
	enum site_kind kind;
	struct json_object *ep, *prof;
	bool staging;
};

/* One cached object. The body is the origin's, rebuilt from host, path and query. */
struct entry {
	char *key;   /* host + raw path [+ '?' query] */
	char *host;  /* lower case, no port */
	char *path;  /* raw, as requested */
	char *dpath; /* decoded (sem_path_of) */
	char *query;
	char *cc; /* origin Cache-Control, NULL when none */
	int64_t stored_ms, ttl_s;
};

struct fk_edge {
	int64_t advance_ms; /* the clock's lead over the wall clock, or over frozen_ms */
	bool frozen;	    /* the clock moves only when advanced */
	int64_t frozen_ms;  /* wall clock when it was frozen */
	struct entry *v;
	size_t n, cap;
};

/* ---- state ---- */

static struct fk_edge *edge_of(struct fk_app *app)
{
	if (!app->edge)
		app->edge = xcalloc(1, sizeof(*app->edge));
	return app->edge;
}

int64_t fk_edge_now(const struct fk_app *app, int64_t real_ms)
{
	const struct fk_edge *ed = app->edge;

	if (!ed)
		return real_ms;
	return (ed->frozen ? ed->frozen_ms : real_ms) + ed->advance_ms;
}

static void entry_free(struct entry *en)
{
	free(en->key);
	free(en->host);
	free(en->path);
	free(en->dpath);
	free(en->query);
	free(en->cc);
}

static void entry_del(struct fk_edge *ed, size_t i)
{
	entry_free(&ed->v[i]);
	memmove(&ed->v[i], &ed->v[i + 1], (ed->n - i - 1) * sizeof(*ed->v));
	ed->n--;
}

void fk_edge_reset(struct fk_app *app)
{
	struct fk_edge *ed = app->edge;

	for (size_t i = 0; ed && i < ed->n; i++)
		entry_free(&ed->v[i]);
	if (ed) {
		ed->n = 0;
		ed->advance_ms = 0;
		ed->frozen = false;
	}
}

void fk_edge_release(struct fk_app *app)
{
	fk_edge_reset(app);
	if (app->edge)
		free(app->edge->v);
	free(app->edge);
	app->edge = NULL;
}

/* ---- hosts ---- */

/* "*.example.com" covers one more label on the left, as cdnpro's host lists do. */
static bool host_match(const char *pattern, const char *host)
{
	size_t pl = strlen(pattern), hl = strlen(host);

	if (strcasecmp(pattern, host) == 0)
		return true;
	return pattern[0] == '*' && pattern[1] == '.' && hl > pl - 1 &&
	       strcasecmp(host + hl - (pl - 1), pattern + 1) == 0 &&
	       !memchr(host, '.', hl - (pl - 1));
}

static bool in_hosts(struct json_object *arr, const char *host)
{
	size_t n =
	    arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;

	for (size_t i = 0; i < n; i++) {
		const char *h = json_object_get_string(json_object_array_get_idx(arr, i));

		if (h && host_match(h, host))
			return true;
	}
	return false;
}

/* Custom domains as ARM returns them ({name, properties{hostName}}) or plain strings. */
static bool azure_has_host(struct json_object *ep, const char *host)
{
	struct json_object *props = fk_jobj(ep, "properties"),
			   *cds = fk_jarr(props, "customDomains");
	const char *hn = fk_jstr(props, "hostName");
	size_t n = cds ? json_object_array_length(cds) : 0;

	if (hn && strcasecmp(hn, host) == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		struct json_object *cd = json_object_array_get_idx(cds, i);
		const char *h = json_object_is_type(cd, json_type_string)
				    ? json_object_get_string(cd)
				    : fk_jstr(fk_jobj(cd, "properties"), "hostName");

		if (h && strcasecmp(h, host) == 0)
			return true;
	}
	return false;
}

/* Calls fn on every endpoint object of a provider section's subscriptions. */
static struct json_object *find_in_subs(struct json_object *subs, const char *host,
					bool (*has)(struct json_object *, const char *))
{
	size_t ns = subs ? json_object_array_length(subs) : 0;

	for (size_t i = 0; i < ns; i++) {
		struct json_object *eps = fk_jarr(json_object_array_get_idx(subs, i), "endpoints");
		size_t ne = eps ? json_object_array_length(eps) : 0;

		for (size_t j = 0; j < ne; j++)
			if (has(json_object_array_get_idx(eps, j), host))
				return json_object_array_get_idx(eps, j);
	}
	return NULL;
}

static bool china_has_host(struct json_object *ep, const char *host)
{
	return in_hosts(fk_jarr(ep, "hosts"), host);
}

/* An afdEndpoint's host: its generated hostName (custom domains are not modelled). */
static bool afd_has_host(struct json_object *ep, const char *host)
{
	const char *hn = fk_jstr(ep, "hostName");

	return hn && strcasecmp(hn, host) == 0;
}

static bool find_afd(struct fk_app *app, const char *host, struct site *out)
{
	struct json_object *ps = fk_jarr(fk_jobj(app->state, "frontdoor"), "profiles");

	for (size_t i = 0; ps && i < json_object_array_length(ps); i++) {
		struct json_object *prof = json_object_array_get_idx(ps, i);
		struct json_object *eps = fk_jarr(prof, "afdEndpoints");

		for (size_t j = 0; eps && j < json_object_array_length(eps); j++)
			if (afd_has_host(json_object_array_get_idx(eps, j), host)) {
				*out = (struct site){SITE_AFD, json_object_array_get_idx(eps, j),
						     prof, false};
				return true;
			}
	}
	return false;
}

/* A CDN Pro host in target: a deployed property version's hostnames, else cdnpro.hosts. */
static bool find_cdnpro(struct fk_app *app, const char *host, bool staging, struct site *out)
{
	const char *target = staging ? "staging" : "production";
	struct json_object *cfg = fk_cdnpro_prop_serving(app, host, target);

	if (cfg ||
	    in_hosts(fk_jarr(fk_jobj(fk_jobj(app->state, "cdnpro"), "hosts"), target), host)) {
		*out = (struct site){SITE_CDNPRO, cfg, NULL, staging};
		return true;
	}
	return false;
}

/* staging: only CDN Pro's staging servers answer there. */
static bool find_site(struct fk_app *app, const char *host, bool staging, struct site *out)
{
	struct json_object *st = app->state, *ep;

	if (staging)
		return find_cdnpro(app, host, true, out);

	ep = find_in_subs(fk_jarr(fk_jobj(st, "azure_china"), "subscriptions"), host,
			  china_has_host);
	if (ep) {
		*out = (struct site){SITE_CHINA, ep, NULL, false};
		return true;
	}
	ep = find_in_subs(fk_jarr(fk_jobj(st, "azure"), "subscriptions"), host, azure_has_host);
	if (ep) {
		*out = (struct site){SITE_AZURE, ep, NULL, false};
		return true;
	}
	/* The edge is the production network; staging servers are the staging listener. */
	if (find_cdnpro(app, host, false, out))
		return true;
	return find_afd(app, host, out);
}

/* Host header without port, lower case; false when absent or too long. */
static bool req_host(const struct fk_req *req, char out[EDGE_HOST_MAX])
{
	const char *h = fk_req_header(req, "Host");
	size_t len;

	if (!h)
		return false;
	len = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":");
	if (len == 0 || len >= EDGE_HOST_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)h[i]);
	out[len] = '\0';
	return true;
}

bool fk_edge_claims(struct fk_app *app, const struct fk_req *req)
{
	char host[EDGE_HOST_MAX];
	struct site s;
	bool yes;

	/* API clients name the emulator by address: skip the host scan for them. */
	if (!req_host(req, host) || host[0] == '[' || strspn(host, "0123456789.") == strlen(host) ||
	    strcmp(host, "localhost") == 0)
		return false;
	pthread_mutex_lock(&app->mu);
	yes = find_site(app, host, req->staging, &s);
	pthread_mutex_unlock(&app->mu);
	return yes;
}

/* ---- live rules -> reconcile/sem.h ---- */

static void china_cfg(struct json_object *ep, struct sem_cfg *cfg)
{
	static const char *const types[] = {"Dir", "Suffix", "FullUri"};
	static const enum rule_kind kinds[] = {RULE_DIR, RULE_SUFFIX, RULE_PATH};
	struct json_object *pol = fk_jobj(ep, "cacherules"), *rules = fk_jarr(pol, "Rules");
	size_t n = rules ? json_object_array_length(rules) : 0;

	cfg->kind = SEM_AZURE_CHINA;
	cfg->cn.ignore_cache_control = fk_jbool(pol, "IgnoreCacheControl", false);
	cfg->cn.ignore_cookie = fk_jbool(pol, "IgnoreCookie", false);
	cfg->cn.ignore_query_string = fk_jbool(pol, "IgnoreQueryString", false);
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(rules, i);
		struct json_object *items = fk_jarr(r, "Items");
		const char *type = fk_jstr(r, "Type");
		struct rule *out = cache_add_rule(&cfg->cn);

		for (size_t k = 0; type && k < CF_ARRAY_LEN(types); k++)
			if (strcasecmp(type, types[k]) == 0)
				out->kind = kinds[k];
		out->ttl = fk_jint(r, "TTL", 0);
		for (size_t k = 0; items && k < json_object_array_length(items); k++) {
			const char *s = json_object_get_string(json_object_array_get_idx(items, k));

			svec_push(&out->items, s ? s : "", NULL);
		}
	}
}

/* The driver's reading (reconcile/prov_azure.h): the edge serves what plan predicts. */
static void azure_cfg(struct json_object *ep, struct sem_cfg *cfg)
{
	struct json_object *rules =
	    fk_jarr(fk_jobj(fk_jobj(ep, "properties"), "deliveryPolicy"), "rules");
	size_t n = rules ? json_object_array_length(rules) : 0;

	cfg->kind = SEM_AZURE;
	for (size_t i = 0; i < n; i++)
		prov_azure_sem_rule(json_object_array_get_idx(rules, i), &cfg->az, false);
	sem_az_sort(&cfg->az);
}

/* Whether a route pattern (a prefix ending in a star, or an exact path) takes path; *len: its
 * weight. */
static bool pattern_takes(const char *pat, const char *path, size_t *len)
{
	size_t l = strlen(pat);

	*len = l;
	if (l && pat[l - 1] == '*')
		return strncmp(path, pat, l - 1) == 0;
	return strcmp(path, pat) == 0;
}

/* The route of an afdEndpoint serving dpath: the one with the longest matching
 * patternsToMatch entry (Front Door's most specific match); NULL when none does. */
static struct json_object *afd_route(struct json_object *ep, const char *dpath)
{
	struct json_object *routes = fk_jarr(ep, "routes"), *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; routes && i < json_object_array_length(routes); i++) {
		struct json_object *rt = json_object_array_get_idx(routes, i);
		struct json_object *pats = fk_jarr(fk_jobj(rt, "properties"), "patternsToMatch");
		size_t np = pats ? json_object_array_length(pats) : 0, l;

		if (!pats && pattern_takes("/*", dpath, &l) && (!best || l > best_len))
			best = rt, best_len = l;
		for (size_t k = 0; k < np; k++) {
			const char *p = json_object_get_string(json_object_array_get_idx(pats, k));

			if (p && pattern_takes(p, dpath, &l) && (!best || l > best_len))
				best = rt, best_len = l;
		}
	}
	return best;
}

/* The driver's reading (reconcile/prov_afd.h) of route: its cache settings and the profile's
 * rule sets it names, in its order. A part that does not decode is left out. Owned. */
static struct sem_afd_route *afd_sem(struct json_object *prof, struct json_object *route)
{
	struct sem_afd_route *rt = xcalloc(1, sizeof(*rt));
	struct json_object *props = fk_jobj(route, "properties"), *ids = fk_jarr(props, "ruleSets");
	struct cf_err e;

	(void)prov_afd_sem_route(props, rt, &e);
	for (size_t i = 0; ids && i < json_object_array_length(ids); i++) {
		const char *id = fk_jstr(json_object_array_get_idx(ids, i), "id");
		const char *name = id && strrchr(id, '/') ? strrchr(id, '/') + 1 : id;
		struct json_object *set = fk_jfind(fk_jarr(prof, "ruleSets"), "name", name);
		struct json_object *rules = fk_jarr(set, "rules");
		struct sem_afd_set *s;

		if (!set)
			continue;
		s = sem_afd_add_set(rt, name);
		for (size_t k = 0; rules && k < json_object_array_length(rules); k++) {
			struct json_object *r = json_object_array_get_idx(rules, k);

			(void)prov_afd_sem_rule(fk_jobj(r, "properties"), fk_jstr(r, "name"), s,
						&e);
		}
		sem_afd_sort(s);
	}
	return rt;
}

/* The Front Door config serving dpath; false when no route takes the path. */
static bool afd_cfg(const struct site *s, const char *dpath, struct sem_cfg *cfg)
{
	struct json_object *route = afd_route(s->ep, dpath);

	if (!route)
		return false;
	prov_afd_sem_cfg(afd_sem(s->prof, route), cfg);
	return true;
}

/* The deployed version's Edge Logic through the evaluator `explain` uses
 * (reconcile/sem_edgelogic.h); a plain `hosts` entry or unparsable text has none: the origin
 * decides. */
static void cdnpro_cfg(struct json_object *configs, struct sem_cfg *cfg)
{
	const char *el = fk_jstr(configs, "edgeLogic");
	struct el_doc d;
	struct cf_err e;

	cfg->kind = SEM_CDNPRO;
	if (!el || el_parse(el, strlen(el), &d, &e) != 0)
		return;
	if (sem_el_hook(&d, &cfg->hook, &e) != 0)
		memset(&cfg->hook, 0, sizeof(cfg->hook));
}

static void site_cfg(const struct site *s, const char *dpath, struct sem_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (s->kind == SITE_CHINA)
		china_cfg(s->ep, cfg);
	else if (s->kind == SITE_AZURE)
		azure_cfg(s->ep, cfg);
	else if (s->kind == SITE_AFD)
		cfg->kind = afd_cfg(s, dpath, cfg) ? cfg->kind : SEM_AZURE_FRONTDOOR;
	else
		cdnpro_cfg(s->ep, cfg);
}

static int64_t default_ttl(enum site_kind k)
{
	switch (k) {
	case SITE_CHINA:
		return EDGE_DEFAULT_TTL_CHINA_S;
	case SITE_AZURE:
		return EDGE_DEFAULT_TTL_AZURE_S;
	case SITE_AFD:
		return EDGE_DEFAULT_TTL_AFD_S;
	case SITE_CDNPRO:
		break;
	}
	return EDGE_DEFAULT_TTL_CDNPRO_S;
}

static void decide_site(const struct site *s, const char *dpath, const char *cc,
			struct fk_edge_decision *out)
{
	struct sem_cfg cfg;
	struct sem_result r;

	if (s->kind == SITE_AFD && !afd_route(s->ep, dpath)) {
		memset(out, 0, sizeof(*out)); /* no route: Front Door answers 404, nothing cached */
		out->kind = FK_EDGE_NOCACHE;
		out->rule = -1;
		return;
	}
	site_cfg(s, dpath, &cfg);
	sem_eval(&cfg, dpath, &r);
	memset(out, 0, sizeof(*out));
	out->rule = r.rule;
	out->kind = r.mode == SEM_ORIGIN   ? FK_EDGE_DEFAULT
		    : r.mode == SEM_BYPASS ? FK_EDGE_NOCACHE
					   : FK_EDGE_TTL;
	out->rule_ttl_s = r.ttl;
	out->ttl_s = sem_effective_ttl(&r, cc, default_ttl(s->kind));
	sem_cfg_release(&cfg);
}

int fk_edge_decide(struct fk_app *app, const char *host, const char *path, const char *cc,
		   struct fk_edge_decision *out)
{
	char dpath[SEM_PATH_MAX];
	struct site s;

	if (!find_site(app, host, false, &s) || sem_path_of(path, dpath, sizeof(dpath)) < 0)
		return -1;
	decide_site(&s, dpath, cc, out);
	return 0;
}

/* ---- origin and cache key ---- */

/* The origin's Cache-Control for a decoded path: exact path, else "*", else none. */
static const char *origin_cc(struct fk_app *app, const char *dpath)
{
	struct json_object *m = fk_jobj(fk_jobj(app->state, "edge"), "cache_control");
	const char *v = fk_jstr(m, dpath);

	if (!v)
		v = fk_jstr(m, "*");
	return v && *v ? v : NULL;
}

static char *origin_body(const char *host, const char *path, const char *query)
{
	struct sb sb;

	sb_init(&sb, EDGE_BODY_MAX);
	sb_addf(&sb, "fakecdn origin\nhost: %s\npath: %s\nquery: %s\n", host, path, query);
	return sb_detach(&sb);
}

/* Whether name is one of the comma-separated names of list. */
static bool in_list(const char *list, const char *name, size_t len)
{
	for (const char *p = list; p && *p;) {
		size_t l = strcspn(p, ",");
		const char *b = p;

		while (l && *b == ' ')
			b++, l--;
		while (l && b[l - 1] == ' ')
			l--;
		if (l == len && strncmp(b, name, len) == 0)
			return true;
		p += strcspn(p, ",");
		p += *p == ',';
	}
	return false;
}

/* The parameters of query kept (include) or dropped (!include) by name list. Owned. */
static char *query_filter(const char *query, const char *list, bool include)
{
	struct sb sb;

	sb_init(&sb, 0);
	for (const char *p = query; *p;) {
		size_t l = strcspn(p, "&"), nl = strcspn(p, "=&");

		if (l && in_list(list, p, nl) == include)
			sb_addf(&sb, "%s%.*s", sb.len ? "&" : "", (int)l, p);
		p += l;
		p += *p == '&';
	}
	return sb_detach(&sb);
}

/* Front Door's query part of the key: the route's, or the deciding override's. Owned. */
static char *afd_key_query(const struct site *s, const char *dpath, const char *query)
{
	struct json_object *route = afd_route(s->ep, dpath);
	struct sem_afd_route *rt = route ? afd_sem(s->prof, route) : NULL;
	struct sem_afd_result r;
	char *out;

	if (!rt)
		return xstrdup("");
	sem_afd_eval(rt, dpath, &r);
	if (r.qs == AFDQ_USE)
		out = xstrdup(query);
	else if (r.qs == AFDQ_IGNORE)
		out = xstrdup("");
	else
		out = query_filter(query, r.qparams, r.qs == AFDQ_INCLUDE_SPECIFIED);
	sem_afd_route_release(rt);
	free(rt);
	return out;
}

/* The query part of the cache key for dpath (owned, "" = none); *bypass: a query makes the
 * response uncached. */
static char *key_query(const struct site *s, const char *dpath, const char *query, bool *bypass)
{
	const char *qs;
	bool with;

	*bypass = false;
	if (s->kind == SITE_AFD)
		return afd_key_query(s, dpath, query);
	if (s->kind == SITE_CHINA) {
		with = !fk_jbool(fk_jobj(s->ep, "cacherules"), "IgnoreQueryString", false);
	} else if (s->kind == SITE_CDNPRO) {
		/* Key = host + URI + $cache_misc (reference §3.5): a version's Edge Logic adds the
		 * query only by setting $cache_misc (not evaluated per location: anywhere counts);
		 * a plain `hosts` entry keeps the query, as before properties were emulated. */
		qs = fk_jstr(s->ep, "edgeLogic");
		with = !s->ep || (qs && strstr(qs, "$cache_misc"));
	} else {
		qs = fk_jstr(fk_jobj(s->ep, "properties"), "queryStringCachingBehavior");
		*bypass = qs && strcmp(qs, "BypassCaching") == 0;
		with = qs && strcmp(qs, "UseQueryString") == 0;
	}
	return xstrdup(with ? query : "");
}

static char *cache_key(bool staging, const char *host, const char *path, const char *kquery)
{
	struct sb sb;

	sb_init(&sb, 0);
	sb_addf(&sb, "%s%s%s", staging ? "staging|" : "", host, path);
	if (*kquery)
		sb_addf(&sb, "?%s", kquery);
	return sb_detach(&sb);
}

/* The cache key of a request; *bypass as key_query's. Owned. */
static char *request_key(const struct site *s, const char *host, const char *path,
			 const char *dpath, const char *query, bool *bypass)
{
	char *kq = key_query(s, dpath, query, bypass), *key = cache_key(s->staging, host, path, kq);

	free(kq);
	return key;
}

static struct entry *lookup(struct fk_edge *ed, const char *key, int64_t now)
{
	for (size_t i = 0; i < ed->n; i++) {
		if (strcmp(ed->v[i].key, key) != 0)
			continue;
		if (now < ed->v[i].stored_ms + ed->v[i].ttl_s * 1000)
			return &ed->v[i];
		entry_del(ed, i); /* expired */
		return NULL;
	}
	return NULL;
}

/* The origin's answer for (host, path, query) as the edge would store it; NULL when the
 * rules and headers say it is not cached (then *cc_out still says what the origin sent). */
static void store(struct fk_edge *ed, char *key, const char *host, const char *path,
		  const char *dpath, const char *query, const char *cc, int64_t ttl_s, int64_t now)
{
	struct entry *en;

	for (size_t i = 0; i < ed->n; i++)
		if (strcmp(ed->v[i].key, key) == 0) {
			entry_del(ed, i);
			break;
		}
	if (ed->n >= EDGE_ENTRIES_MAX)
		entry_del(ed, 0);
	xgrow(&ed->v, &ed->cap, ed->n + 1, sizeof(*ed->v));
	en = &ed->v[ed->n++];
	en->key = key;
	en->host = xstrdup(host);
	en->path = xstrdup(path);
	en->dpath = xstrdup(dpath);
	en->query = xstrdup(query);
	en->cc = cc ? xstrdup(cc) : NULL;
	en->stored_ms = now;
	en->ttl_s = ttl_s;
}

/* Fetches from the origin and stores when cacheable. Returns the TTL (0 = not stored). */
static int64_t fill(struct fk_app *app, const struct site *s, const char *host, const char *path,
		    const char *dpath, const char *query, int64_t now)
{
	const char *cc = origin_cc(app, dpath);
	struct fk_edge_decision d;
	bool bypass;
	char *key = request_key(s, host, path, dpath, query, &bypass);

	decide_site(s, dpath, cc, &d);
	if (d.ttl_s <= 0 || (bypass && *query)) {
		free(key);
		return 0;
	}
	store(edge_of(app), key, host, path, dpath, query, cc, d.ttl_s, now);
	return d.ttl_s;
}

/* ---- serving ---- */

static void answer(struct fk_resp *resp, const char *host, const char *path, const char *query,
		   const char *cc, bool hit, int64_t age_s, int64_t ttl_s)
{
	char num[32], *body = origin_body(host, path, query);

	fk_resp_text(resp, 200, "text/plain; charset=utf-8", body);
	free(body);
	fk_resp_header(resp, "X-Cache", hit ? "TCP_HIT" : "TCP_MISS");
	if (hit || ttl_s > 0) {
		snprintf(num, sizeof(num), "%lld", (long long)age_s);
		fk_resp_header(resp, "Age", num);
		snprintf(num, sizeof(num), "%lld", (long long)ttl_s);
		fk_resp_header(resp, "X-Fakecdn-Ttl", num);
	}
	if (cc)
		fk_resp_header(resp, "Cache-Control", cc);
}

static void h_edge(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		   struct fk_resp *resp)
{
	char host[EDGE_HOST_MAX], dpath[SEM_PATH_MAX], *key;
	int64_t now = fk_edge_now(app, req->now_ms), ttl;
	bool bypass;
	struct entry *en;
	struct site s;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	resp->op = "edge_miss";
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		resp->op = "edge_method";
		fk_resp_text(resp, 405, "text/plain; charset=utf-8", "method not allowed\n");
		fk_resp_header(resp, "Allow", "GET, HEAD");
		return;
	}
	if (!req_host(req, host) || !find_site(app, host, req->staging, &s) ||
	    sem_path_of(req->path, dpath, sizeof(dpath)) < 0) {
		resp->op = "edge_bad";
		fk_resp_text(resp, 400, "text/plain; charset=utf-8", "bad request\n");
		return;
	}
	if (s.kind == SITE_AFD && !afd_route(s.ep, dpath)) {
		resp->op = "edge_noroute"; /* as the service: no route of the endpoint takes it */
		fk_resp_text(resp, 404, "text/plain; charset=utf-8", "no route\n");
		return;
	}
	key = request_key(&s, host, req->path, dpath, req->query, &bypass);
	en = lookup(edge_of(app), key, now);
	free(key);
	if (en) {
		resp->op = "edge_hit";
		answer(resp, host, req->path, req->query, en->cc, true,
		       (now - en->stored_ms) / 1000, en->ttl_s);
		return;
	}
	ttl = fill(app, &s, host, req->path, dpath, req->query, now);
	answer(resp, host, req->path, req->query, origin_cc(app, dpath), false, 0, ttl);
}

const struct fk_route fk_edge_route = {"GET", "*", "edge_miss", h_edge};

/* ---- purges and preloads ---- */

/* Splits an absolute http(s) URL into lower-case host, raw path and query (owned). */
static bool split_url(const char *url, char host[EDGE_HOST_MAX], char **path, char **query)
{
	const char *h, *p, *q;
	size_t hl;

	if (!url)
		return false;
	if (strncasecmp(url, "https://", 8) == 0)
		h = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		h = url + 7;
	else
		return false;
	hl = strcspn(h, ":/?#");
	p = h + strcspn(h, "/?#");
	if (hl == 0 || hl >= EDGE_HOST_MAX)
		return false;
	for (size_t i = 0; i < hl; i++)
		host[i] = (char)tolower((unsigned char)h[i]);
	host[hl] = '\0';
	q = strchr(p, '?');
	*path = *p == '/' ? xstrndup(p, q ? (size_t)(q - p) : strcspn(p, "#")) : xstrdup("/");
	*query = q ? xstrndup(q + 1, strcspn(q + 1, "#")) : xstrdup("");
	return true;
}

/* What a purge item selects: entries of host (NULL = any of hosts) whose decoded path equals
 * path, or starts with it when dir; query, when non-empty, must equal the entry's. */
struct sel {
	const char *host;
	struct json_object *hosts; /* used when host is NULL */
	char dpath[SEM_PATH_MAX];
	const char *query;
	bool dir, all;
};

static bool selected(const struct sel *s, const struct entry *en)
{
	size_t l = strlen(s->dpath);

	if (s->host ? strcmp(s->host, en->host) != 0 : !in_hosts(s->hosts, en->host))
		return false;
	if (s->all)
		return true;
	if (*s->query && strcmp(s->query, en->query) != 0)
		return false;
	return s->dir ? strncmp(en->dpath, s->dpath, l) == 0 : strcmp(en->dpath, s->dpath) == 0;
}

static void evict(struct fk_edge *ed, const struct sel *s)
{
	for (size_t i = ed->n; i-- > 0;)
		if (selected(s, &ed->v[i]))
			entry_del(ed, i);
}

/* A URL item of a purge (dir: a directory URL). */
static void evict_url(struct fk_edge *ed, const char *url, bool dir)
{
	char host[EDGE_HOST_MAX], *path, *query;
	struct sel s;

	if (!split_url(url, host, &path, &query))
		return;
	memset(&s, 0, sizeof(s));
	s.host = host;
	s.query = query;
	s.dir = dir;
	if (sem_path_of(path, s.dpath, sizeof(s.dpath)) == 0)
		evict(ed, &s);
	free(path);
	free(query);
}

/* cdnpro regexPatterns match the whole URL; the scheme of a cached object is not kept, so
 * both are tried. */
static bool regex_hits(const regex_t *rx, const struct entry *en)
{
	static const char *const schemes[] = {"https", "http"};
	bool hit = false;

	for (size_t k = 0; !hit && k < CF_ARRAY_LEN(schemes); k++) {
		struct sb u;

		sb_init(&u, 0);
		sb_addf(&u, "%s://%s%s%s%s", schemes[k], en->host, en->path, *en->query ? "?" : "",
			en->query);
		hit = regexec(rx, u.buf, 0, NULL, 0) == 0;
		sb_release(&u);
	}
	return hit;
}

static void evict_regex(struct fk_edge *ed, const char *re)
{
	regex_t rx;

	if (!re || regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return;
	for (size_t i = ed->n; i-- > 0;)
		if (regex_hits(&rx, &ed->v[i]))
			entry_del(ed, i);
	regfree(&rx);
}

/* Warms one URL: the origin's answer is stored as a miss would store it. */
static void warm_url(struct fk_app *app, const char *url, int64_t now)
{
	char host[EDGE_HOST_MAX], dpath[SEM_PATH_MAX], *path, *query;
	struct site s;

	if (!split_url(url, host, &path, &query))
		return;
	/* Prefetches warm production (the only target CDN Pro prefetches to). */
	if (find_site(app, host, false, &s) && sem_path_of(path, dpath, sizeof(dpath)) == 0)
		(void)fill(app, &s, host, path, dpath, query, now);
	free(path);
	free(query);
}

/* The hosts of the azure endpoints a task names (name within the subscription). */
static struct json_object *azure_task_hosts(struct fk_app *app, struct json_object *t)
{
	struct json_object *subs = fk_jarr(fk_jobj(app->state, "azure"), "subscriptions");
	struct json_object *sub = fk_jfind(subs, "id", fk_jstr(t, "subscription"));
	struct json_object *eps = fk_jarr(sub, "endpoints"), *out = json_object_new_array();
	const char *name = fk_jstr(t, "endpoint");

	for (size_t i = 0; eps && name && i < json_object_array_length(eps); i++) {
		struct json_object *ep = json_object_array_get_idx(eps, i), *props, *cds;
		const char *en = fk_jstr(ep, "name");

		if (!en || strcasecmp(en, name) != 0)
			continue;
		props = fk_jobj(ep, "properties");
		cds = fk_jarr(props, "customDomains");
		if (fk_jstr(props, "hostName"))
			json_object_array_add(out,
					      json_object_new_string(fk_jstr(props, "hostName")));
		for (size_t k = 0; cds && k < json_object_array_length(cds); k++) {
			struct json_object *cd = json_object_array_get_idx(cds, k);
			const char *h = json_object_is_type(cd, json_type_string)
					    ? json_object_get_string(cd)
					    : fk_jstr(fk_jobj(cd, "properties"), "hostName");

			if (h)
				json_object_array_add(out, json_object_new_string(h));
		}
	}
	return out;
}

/* The hosts a Front Door purge task (fk_afd.c) covers: its domains when given, else the
 * hostName of the afdEndpoint it names. */
static struct json_object *afd_task_hosts(struct fk_app *app, struct json_object *t)
{
	struct json_object *ps = fk_jarr(fk_jobj(app->state, "frontdoor"), "profiles");
	struct json_object *doms = fk_jarr(t, "domains"), *out = json_object_new_array();
	const char *sub = fk_jstr(t, "subscription"), *rg = fk_jstr(t, "resource_group"),
		   *pn = fk_jstr(t, "profile"), *en = fk_jstr(t, "endpoint");

	for (size_t i = 0; doms && i < json_object_array_length(doms); i++)
		json_object_array_add(out, json_object_get(json_object_array_get_idx(doms, i)));
	for (size_t i = 0; !json_object_array_length(out) && ps && i < json_object_array_length(ps);
	     i++) {
		struct json_object *p = json_object_array_get_idx(ps, i), *ep;
		const char *ps_sub = fk_jstr(p, "subscription"),
			   *ps_rg = fk_jstr(p, "resource_group"), *ps_name = fk_jstr(p, "name");

		if (!sub || !rg || !pn || !ps_sub || !ps_rg || !ps_name ||
		    strcasecmp(sub, ps_sub) || strcasecmp(rg, ps_rg) || strcasecmp(pn, ps_name))
			continue;
		ep = fk_jfind(fk_jarr(p, "afdEndpoints"), "name", en);
		if (fk_jstr(ep, "hostName"))
			json_object_array_add(out, json_object_new_string(fk_jstr(ep, "hostName")));
	}
	return out;
}

/* azure and Front Door contentPaths: a file path, a directory path ending in a star, or the
 * root star, on every host given (hosts is consumed). */
static void arm_paths(struct fk_app *app, struct json_object *hosts, struct json_object *paths,
		      bool load, int64_t now)
{
	for (size_t i = 0; paths && i < json_object_array_length(paths); i++) {
		const char *p = json_object_get_string(json_object_array_get_idx(paths, i));
		size_t l = p ? strlen(p) : 0;
		struct sel s;

		if (!l)
			continue;
		if (load) {
			for (size_t h = 0; h < json_object_array_length(hosts); h++) {
				struct sb u;

				sb_init(&u, 0);
				sb_addf(&u, "https://%s%s",
					json_object_get_string(json_object_array_get_idx(hosts, h)),
					p);
				warm_url(app, u.buf, now);
				sb_release(&u);
			}
			continue;
		}
		memset(&s, 0, sizeof(s));
		s.hosts = hosts;
		s.query = "";
		s.dir = p[l - 1] == '*';
		s.all = strcmp(p, "/*") == 0;
		if (s.dir && sem_path_of(p, s.dpath, sizeof(s.dpath)) == 0)
			s.dpath[strlen(s.dpath) - 1] = '\0'; /* drop the star, keep the '/' */
		else if (!s.dir && sem_path_of(p, s.dpath, sizeof(s.dpath)) < 0)
			continue;
		evict(edge_of(app), &s);
	}
	json_object_put(hosts);
}

static void each_string(struct json_object *arr, const char *member,
			void (*fn)(struct fk_app *, const char *, bool, int64_t),
			struct fk_app *app, bool flag, int64_t now)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		const char *s = member ? fk_jstr(v, member) : json_object_get_string(v);

		if (s)
			fn(app, s, flag, now);
	}
}

static void do_evict(struct fk_app *app, const char *url, bool dir, int64_t now)
{
	CF_UNUSED(now);
	evict_url(edge_of(app), url, dir);
}

static void do_regex(struct fk_app *app, const char *re, bool flag, int64_t now)
{
	CF_UNUSED(flag);
	CF_UNUSED(now);
	evict_regex(edge_of(app), re);
}

static void do_warm(struct fk_app *app, const char *url, bool flag, int64_t now)
{
	CF_UNUSED(flag);
	warm_url(app, url, now);
}

void fk_edge_task_done(struct fk_app *app, struct json_object *t, int64_t now_ms)
{
	const char *kind = fk_jstr(t, "kind"), *target = fk_jstr(t, "target");
	int64_t now = fk_edge_now(app, now_ms);

	if (!kind)
		return;
	if (strcmp(kind, "purge") == 0) {
		each_string(fk_jarr(t, "files"), NULL, do_evict, app, false, now);
		each_string(fk_jarr(t, "dirs"), NULL, do_evict, app, true, now);
	} else if (strcmp(kind, "preload") == 0) {
		each_string(fk_jarr(t, "files"), NULL, do_warm, app, false, now);
	} else if (strcmp(kind, "arm_purge") == 0 || strcmp(kind, "arm_load") == 0) {
		arm_paths(app, azure_task_hosts(app, t), fk_jarr(t, "paths"),
			  strcmp(kind, "arm_load") == 0, now);
	} else if (strcmp(kind, "afd_op") == 0 && fk_jarr(t, "paths")) {
		arm_paths(app, afd_task_hosts(app, t), fk_jarr(t, "paths"), false, now);
	} else if (strcmp(kind, "cdnpro_purge") == 0 &&
		   (!target || strcmp(target, "production") == 0)) {
		each_string(fk_jarr(t, "fileUrls"), NULL, do_evict, app, false, now);
		each_string(fk_jarr(t, "dirUrls"), NULL, do_evict, app, true, now);
		each_string(fk_jarr(t, "regexPatterns"), NULL, do_regex, app, false, now);
	} else if (strcmp(kind, "cdnpro_prefetch") == 0) {
		each_string(fk_jarr(t, "fileList"), "url", do_warm, app, false, now);
	}
}

/* ---- admin ---- */

static void clock_json(struct fk_app *app, const struct fk_req *req, struct fk_resp *resp)
{
	struct json_object *o = json_object_new_object();
	int64_t now = fk_edge_now(app, req->now_ms);
	char when[FK_TIME_LEN];

	fk_fmt_time(now, true, when);
	json_object_object_add(o, "advance_s",
			       json_object_new_int64(app->edge ? app->edge->advance_ms / 1000 : 0));
	json_object_object_add(o, "now", json_object_new_string(when));
	json_object_object_add(o, "frozen",
			       json_object_new_boolean(app->edge && app->edge->frozen));
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

void fk_edge_h_clock_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp)
{
	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	clock_json(app, req, resp);
}

/* Running tasks come due as if the time had passed; their other times stay real. */
static void tasks_sooner(struct fk_app *app, int64_t ms)
{
	struct json_object *tasks = fk_jarr(app->state, "tasks");

	app->tasks_next_due_ms = 0; /* due times move */
	for (size_t i = 0; tasks && i < json_object_array_length(tasks); i++) {
		struct json_object *t = json_object_array_get_idx(tasks, i);

		if (strcmp(fk_task_status(t), "running") == 0)
			json_object_object_add(t, "due_ms",
					       json_object_new_int64(fk_jint(t, "due_ms", 0) - ms));
	}
}

/* Freezes or thaws the clock without a jump in edge time. */
static void set_frozen(struct fk_edge *ed, bool frozen, int64_t real_ms)
{
	if (frozen == ed->frozen)
		return;
	if (frozen)
		ed->frozen_ms = real_ms; /* edge time stays frozen_ms + advance_ms */
	else
		ed->advance_ms += ed->frozen_ms - real_ms; /* and goes on from there */
	ed->frozen = frozen;
}

/* Reads {"advance_s": N, "freeze": bool} (either or both); false when malformed. */
static bool clock_body(struct json_object *body, int64_t *adv_s, int *freeze)
{
	struct json_object *v;
	bool any = false;

	*adv_s = 0;
	*freeze = -1;
	if (!body || !json_object_is_type(body, json_type_object))
		return false;
	json_object_object_foreach(body, key, val)
	{
		if (strcmp(key, "advance_s") != 0 && strcmp(key, "freeze") != 0)
			return false;
		CF_UNUSED(val);
	}
	if (json_object_object_get_ex(body, "advance_s", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > EDGE_ADVANCE_MAX_S)
			return false;
		*adv_s = json_object_get_int64(v);
		any = true;
	}
	if (json_object_object_get_ex(body, "freeze", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return false;
		*freeze = json_object_get_boolean(v);
		any = true;
	}
	return any;
}

/* POST /_fakecdn/clock {"advance_s": N, "freeze": bool}. */
void fk_edge_h_clock_set(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp)
{
	struct json_object *body = fk_req_json(req);
	int64_t s;
	int freeze;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!clock_body(body, &s, &freeze)) {
		fk_error_admin(resp, 400,
			       "the body must be {\"advance_s\": N (0..31622400), \"freeze\": "
			       "true|false} (either or both)");
	} else {
		if (freeze >= 0)
			set_frozen(edge_of(app), freeze == 1, req->now_ms);
		edge_of(app)->advance_ms += s * 1000;
		tasks_sooner(app, s * 1000);
		fk_tasks_advance(app, req->now_ms);
		fk_state_changed(app, resp);
		clock_json(app, req, resp);
	}
	json_object_put(body);
}

/* PUT /_fakecdn/edge/origin {"cache_control": {"/path": "max-age=60", "*": "..."}}. */
void fk_edge_h_origin(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		      struct fk_resp *resp)
{
	struct json_object *body = fk_req_json(req), *cc = fk_jobj(body, "cache_control");
	bool ok = cc != NULL;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (ok) {
		json_object_object_foreach(cc, key, val)
		{
			ok = ok && key[0] && json_object_is_type(val, json_type_string);
		}
	}
	if (!ok) {
		fk_error_admin(resp, 400,
			       "the body must be {\"cache_control\": {\"/path\" or \"*\": "
			       "\"header value\", ...}}");
	} else {
		struct json_object *edge = fk_jobj(app->state, "edge");

		if (!edge) {
			edge = json_object_new_object();
			json_object_object_add(app->state, "edge", edge);
		}
		json_object_object_add(edge, "cache_control", json_object_get(cc));
		fk_state_changed(app, resp);
		fk_resp_json(resp, 200, edge);
	}
	json_object_put(body);
}

/* GET /_fakecdn/edge/cache: the cached objects, oldest first, with their age at edge time. */
void fk_edge_h_cache(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		     struct fk_resp *resp)
{
	struct json_object *arr = json_object_new_array();
	struct fk_edge *ed = edge_of(app);
	int64_t now = fk_edge_now(app, req->now_ms);

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	for (size_t i = 0; i < ed->n; i++) {
		struct json_object *o = json_object_new_object();

		if (now >= ed->v[i].stored_ms + ed->v[i].ttl_s * 1000)
			continue;
		json_object_object_add(o, "key", json_object_new_string(ed->v[i].key));
		json_object_object_add(o, "age_s",
				       json_object_new_int64((now - ed->v[i].stored_ms) / 1000));
		json_object_object_add(o, "ttl_s", json_object_new_int64(ed->v[i].ttl_s));
		json_object_array_add(arr, o);
	}
	fk_resp_json(resp, 200, arr);
	json_object_put(arr);
}

/* PUT /_fakecdn/azure/{rg}/{profile}/{endpoint}/customdomains ["shop.example.com", ...]:
 * the endpoint's custom domains, stored as ARM returns them. */
void fk_edge_h_domains(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		       struct fk_resp *resp)
{
	struct json_object *ep = fk_azure_find_endpoint(app, NULL, seg[2], seg[3], seg[4]);
	struct json_object *body = fk_req_json(req), *cds, *props;
	size_t n = body && json_object_is_type(body, json_type_array)
		       ? json_object_array_length(body)
		       : EDGE_DOMAINS_MAX + 1;

	CF_UNUSED(nseg);
	for (size_t i = 0; n <= EDGE_DOMAINS_MAX && i < n; i++) {
		const char *h = json_object_get_string(json_object_array_get_idx(body, i));

		if (!json_object_is_type(json_object_array_get_idx(body, i), json_type_string) ||
		    !*h || strlen(h) >= EDGE_HOST_MAX || strpbrk(h, "/:?# "))
			n = EDGE_DOMAINS_MAX + 1;
	}
	if (!ep) {
		fk_error_admin(resp, 404, "no such azure endpoint");
	} else if (n > EDGE_DOMAINS_MAX) {
		fk_error_admin(resp, 400, "the body must be an array of at most 64 host names");
	} else {
		cds = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			const char *h = json_object_get_string(json_object_array_get_idx(body, i));
			struct json_object *cd = json_object_new_object(), *p;
			char name[EDGE_HOST_MAX];

			/* ARM names a custom domain by its host name with dots as dashes */
			snprintf(name, sizeof(name), "%s", h);
			for (char *c = name; *c; c++)
				*c = *c == '.' ? '-' : *c;
			p = json_object_new_object();
			json_object_object_add(p, "hostName", json_object_new_string(h));
			json_object_object_add(cd, "name", json_object_new_string(name));
			json_object_object_add(cd, "properties", p);
			json_object_array_add(cds, cd);
		}
		props = fk_jobj(ep, "properties");
		if (!props) {
			props = json_object_new_object();
			json_object_object_add(ep, "properties", props);
		}
		json_object_object_add(props, "customDomains", cds);
		fk_state_changed(app, resp);
		fk_resp_json(resp, 200, cds);
	}
	json_object_put(body);
}
