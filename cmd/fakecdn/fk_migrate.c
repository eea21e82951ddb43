#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_migrate.h"
#include "cmd/fakecdn/fk_afd.h"
#include "cmd/fakecdn/fk_azure.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/sb.h"

#include <ctype.h>
#include <strings.h>

#define MSG_MAX	     512
#define NAME_MAX_LEN 60 /* Front Door rule and rule set names: [a-zA-Z][a-zA-Z0-9]{0,59} */
#define HOST_SUFFIX  ".z01.azurefd.net"
#define RCO_TYPE     "DeliveryRuleRouteConfigurationOverrideActionParameters"
#define FNV_OFFSET   2166136261u
#define FNV_PRIME    16777619u
#define OG_TAIL	     "-origin-group"
#define ORIGIN_PRIO  1
#define ORIGIN_WT    1000

/* seg of the ARM operations: subscriptions/{1}/resourceGroups/{3}/.../profiles/{7}/{8} */
enum { S_SUB = 1, S_RG = 3, S_PROF = 7 };
/* seg of the admin route: _fakecdn/azure/{2}/{3}/migrate */
enum { A_RG = 2, A_PROF = 3 };

/* Conditions Front Door's rules engine has (fk_afd.c accepts the same list); the classic
 * engine's others (RemoteAddress, IsDevice, Cookies, ...) make the migration refuse. */
static const char *const afd_conditions[] = {
    "UrlPath",	     "UrlFileExtension", "UrlFileName",	  "RequestMethod",
    "RequestHeader", "QueryString",	 "RequestScheme", "HostName",
};
/* Actions copied as they are: the same name and parameters in both engines. */
static const char *const same_actions[] = {"ModifyRequestHeader", "ModifyResponseHeader",
					   "UrlRedirect", "UrlRewrite"};
/* UrlPath operators whose values are anchored at the path's start: Front Door matches the
 * path without its leading '/', the classic engine with it, so one leading '/' goes. */
static const char *const anchored_ops[] = {"Equal", "BeginsWith", "Wildcard"};
/* CacheKeyQueryString's queryStringBehavior -> Front Door's queryStringCachingBehavior. */
static const char *const ckqs_map[][2] = {
    {"IncludeAll", "UseQueryString"},
    {"ExcludeAll", "IgnoreQueryString"},
    {"Include", "IncludeSpecifiedQueryStrings"},
    {"Exclude", "IgnoreSpecifiedQueryStrings"},
};
/* CacheExpiration's cacheBehavior -> a cacheConfiguration's cacheBehavior. */
static const char *const expiry_map[][2] = {
    {"Override", "OverrideAlways"},
    {"SetIfMissing", "OverrideIfOriginMissing"},
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static const char *map_of(const char *s, const char *const (*tab)[2], size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(tab[i][0], s) == 0)
			return tab[i][1];
	return NULL;
}

static struct json_object *str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *copy(struct json_object *o)
{
	struct json_object *c = NULL;
	return json_object_deep_copy(o, &c, NULL) == 0 ? c : NULL;
}

void fk_migrate_set_name(const char *name, char *out, size_t outsz)
{
	size_t n = 0, tail = strlen(FK_MIGRATE_SET_TAIL);
	if (outsz == 0)
		return;
	for (const char *p = name; *p && n + tail + 1 < outsz && n + tail < NAME_MAX_LEN; p++)
		if (isalnum((unsigned char)*p) && (n > 0 || isalpha((unsigned char)*p)))
			out[n++] = *p;
	snprintf(out + n, outsz - n, "%s", FK_MIGRATE_SET_TAIL);
}

/* Classic IgnoreQueryString / NotSet / absent ignore the query string (the service default),
 * UseQueryString keys on it; BypassCaching has no route form in Front Door. */
static const char *route_qs(struct json_object *props, char *msg, size_t msgsz)
{
	const char *q = fk_jstr(props, "queryStringCachingBehavior");
	if (!q || strcmp(q, "IgnoreQueryString") == 0 || strcmp(q, "NotSet") == 0)
		return "IgnoreQueryString";
	if (strcmp(q, "UseQueryString") == 0)
		return "UseQueryString";
	snprintf(msg, msgsz,
		 "queryStringCachingBehavior '%s' has no Front Door route form: set it to "
		 "IgnoreQueryString or UseQueryString before migrating.",
		 q);
	return NULL;
}

static struct json_object *condition(struct json_object *c, const char *rule, char *msg,
				     size_t msgsz)
{
	const char *name = fk_jstr(c, "name");
	if (!in_list(name, afd_conditions, CF_ARRAY_LEN(afd_conditions))) {
		snprintf(msg, msgsz, "Rule '%s': the condition '%s' cannot be migrated.", rule,
			 name ? name : "(missing)");
		return NULL;
	}
	struct json_object *o = copy(c), *p = fk_jobj(o, "parameters"), *mv;
	if (!p) {
		json_object_put(o);
		snprintf(msg, msgsz, "Rule '%s': the condition '%s' has no parameters.", rule,
			 name);
		return NULL;
	}
	mv = fk_jarr(p, "matchValues");
	if (strcmp(name, "UrlPath") == 0 &&
	    in_list(fk_jstr(p, "operator"), anchored_ops, CF_ARRAY_LEN(anchored_ops)))
		for (size_t i = 0; mv && i < json_object_array_length(mv); i++) {
			const char *v = json_object_get_string(json_object_array_get_idx(mv, i));
			if (v && v[0] == '/')
				json_object_array_put_idx(mv, i, json_object_new_string(v + 1));
		}
	if (!mv)
		json_object_object_add(p, "matchValues", json_object_new_array());
	if (!fk_jarr(p, "transforms"))
		json_object_object_add(p, "transforms", json_object_new_array());
	if (!json_object_object_get_ex(p, "negateCondition", NULL))
		json_object_object_add(p, "negateCondition", json_object_new_boolean(0));
	return o;
}

/* The RouteConfigurationOverride of a rule's CacheExpiration and CacheKeyQueryString (either
 * may be NULL, not both). BypassCache: an override without cacheConfiguration, which
 * disables caching. A query-string key alone keeps the origin's TTL (HonorOrigin). */
static struct json_object *cache_override(struct json_object *exp, struct json_object *key,
					  const char *qs)
{
	struct json_object *a = json_object_new_object(), *p = json_object_new_object(), *cc;
	const char *b = fk_jstr(fk_jobj(exp, "parameters"), "cacheBehavior");
	struct json_object *kp = fk_jobj(key, "parameters");
	json_object_object_add(a, "name", json_object_new_string("RouteConfigurationOverride"));
	json_object_object_add(p, "typeName", json_object_new_string(RCO_TYPE));
	json_object_object_add(p, "originGroupOverride", NULL);
	if (b && strcmp(b, "BypassCache") == 0) {
		json_object_object_add(p, "cacheConfiguration", NULL);
	} else {
		const char *beh = map_of(b, expiry_map, CF_ARRAY_LEN(expiry_map));
		const char *kq =
		    map_of(fk_jstr(kp, "queryStringBehavior"), ckqs_map, CF_ARRAY_LEN(ckqs_map));
		const char *qp = fk_jstr(kp, "queryParameters");
		cc = json_object_new_object();
		json_object_object_add(cc, "queryStringCachingBehavior", str(kq ? kq : qs));
		json_object_object_add(cc, "queryParameters", kq ? str(qp) : NULL);
		json_object_object_add(cc, "isCompressionEnabled",
				       json_object_new_string("Disabled"));
		json_object_object_add(cc, "cacheBehavior", str(beh ? beh : "HonorOrigin"));
		json_object_object_add(
		    cc, "cacheDuration",
		    beh ? str(fk_jstr(fk_jobj(exp, "parameters"), "cacheDuration")) : NULL);
		json_object_object_add(p, "cacheConfiguration", cc);
	}
	json_object_object_add(a, "parameters", p);
	return a;
}

/* A classic delivery rule as a Front Door rule {name, properties, _caching}; NULL with msg. */
static struct json_object *rule(struct json_object *r, const char *qs, char *msg, size_t msgsz)
{
	const char *rname = fk_jstr(r, "name");
	int64_t order = fk_jint(r, "order", 0);
	struct json_object *conds = fk_jarr(r, "conditions"), *acts = fk_jarr(r, "actions");
	struct json_object *exp = NULL, *key = NULL;
	struct json_object *out = json_object_new_object(), *p = json_object_new_object();
	struct json_object *oc = json_object_new_array(), *oa = json_object_new_array();
	char name[NAME_MAX_LEN + 1];
	bool caching = false;

	/* classic and Front Door rule names share their pattern; the global rule has none */
	if (rname && isalpha((unsigned char)rname[0]) && strlen(rname) <= NAME_MAX_LEN)
		snprintf(name, sizeof(name), "%s", rname);
	else if (order == 0)
		snprintf(name, sizeof(name), "Global");
	else
		snprintf(name, sizeof(name), "Rule%lld", (long long)order);
	json_object_object_add(out, "name", json_object_new_string(name));
	json_object_object_add(out, "properties", p);
	json_object_object_add(p, "order", json_object_new_int64(order));
	json_object_object_add(p, "conditions", oc);
	json_object_object_add(p, "actions", oa);
	json_object_object_add(p, "matchProcessingBehavior", json_object_new_string("Continue"));
	for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
		struct json_object *c =
		    condition(json_object_array_get_idx(conds, i), name, msg, msgsz);
		if (!c)
			goto fail;
		json_object_array_add(oc, c);
	}
	for (size_t i = 0; acts && i < json_object_array_length(acts); i++) {
		struct json_object *a = json_object_array_get_idx(acts, i);
		const char *an = fk_jstr(a, "name");
		if (an && strcmp(an, "CacheExpiration") == 0)
			exp = a;
		else if (an && strcmp(an, "CacheKeyQueryString") == 0)
			key = a;
		else if (in_list(an, same_actions, CF_ARRAY_LEN(same_actions)))
			json_object_array_add(oa, copy(a));
		else {
			snprintf(msg, msgsz, "Rule '%s': the action '%s' cannot be migrated.", name,
				 an ? an : "(missing)");
			goto fail;
		}
	}
	if (exp || key) {
		struct json_object *o = cache_override(exp, key, qs);
		caching = fk_jobj(fk_jobj(o, "parameters"), "cacheConfiguration") != NULL;
		json_object_array_add(oa, o);
	}
	if (json_object_array_length(oa) == 0) {
		snprintf(msg, msgsz, "Rule '%s' has no action.", name);
		goto fail;
	}
	json_object_object_add(out, "_caching", json_object_new_boolean(caching));
	return out;
fail:
	json_object_put(out);
	return NULL;
}

static uint32_t fnv1a(const char *a, const char *b)
{
	uint32_t h = FNV_OFFSET;
	for (const char *p = a; *p; p++)
		h = (h ^ (unsigned char)*p) * FNV_PRIME;
	for (const char *p = b; *p; p++)
		h = (h ^ (unsigned char)*p) * FNV_PRIME;
	return h;
}

static struct json_object *id_ref(const char *profile_id, const char *kind, const char *name)
{
	struct json_object *o = json_object_new_object();
	struct sb id;
	sb_init(&id, 0);
	sb_addf(&id, "%s/%s/%s", profile_id, kind, name);
	json_object_object_add(o, "id", json_object_new_string(id.buf));
	sb_release(&id);
	return o;
}

static struct json_object *origin_group(struct json_object *props, const char *name)
{
	struct json_object *og = json_object_new_object(), *os = json_object_new_array();
	struct json_object *src = fk_jarr(props, "origins");
	json_object_object_add(og, "name", json_object_new_string(name));
	for (size_t i = 0; src && i < json_object_array_length(src); i++) {
		struct json_object *o = json_object_array_get_idx(src, i),
				   *op = fk_jobj(o, "properties");
		struct json_object *n = json_object_new_object(), *np = json_object_new_object();
		const char *hh = fk_jstr(props, "originHostHeader");
		json_object_object_add(n, "name", str(fk_jstr(o, "name")));
		json_object_object_add(np, "hostName", str(fk_jstr(op, "hostName")));
		json_object_object_add(np, "httpPort",
				       json_object_new_int64(fk_jint(op, "httpPort", 80)));
		json_object_object_add(np, "httpsPort",
				       json_object_new_int64(fk_jint(op, "httpsPort", 443)));
		json_object_object_add(np, "originHostHeader",
				       str(hh ? hh : fk_jstr(op, "hostName")));
		json_object_object_add(np, "priority", json_object_new_int(ORIGIN_PRIO));
		json_object_object_add(np, "weight", json_object_new_int(ORIGIN_WT));
		json_object_object_add(
		    np, "enabledState",
		    json_object_new_string(fk_jbool(op, "enabled", true) ? "Enabled" : "Disabled"));
		json_object_object_add(n, "properties", np);
		json_object_array_add(os, n);
	}
	json_object_object_add(og, "origins", os);
	return og;
}

static struct json_object *protocols(struct json_object *props)
{
	struct json_object *a = json_object_new_array();
	if (fk_jbool(props, "isHttpsAllowed", true))
		json_object_array_add(a, json_object_new_string("Https"));
	if (fk_jbool(props, "isHttpAllowed", true))
		json_object_array_add(a, json_object_new_string("Http"));
	return a;
}

/* Classic rules run in order, every matching one, later actions overwriting: Front Door's
 * engine does the same, so the orders are kept as they are (the global rule is order 0). */
static struct json_object *rule_set(struct json_object *rules, const char *name, const char *qs,
				    char *msg, size_t msgsz)
{
	struct json_object *set = json_object_new_object(), *out = json_object_new_array();
	json_object_object_add(set, "name", json_object_new_string(name));
	json_object_object_add(set, "batchMode", json_object_new_boolean(0));
	json_object_object_add(set, "rules", out);
	for (size_t i = 0; i < json_object_array_length(rules); i++) {
		struct json_object *r = rule(json_object_array_get_idx(rules, i), qs, msg, msgsz);
		if (!r) {
			json_object_put(set);
			return NULL;
		}
		json_object_array_add(out, r);
	}
	return set;
}

int fk_migrate_endpoint(struct json_object *classic, const char *to, const char *profile_id,
			struct json_object **afd_ep, struct json_object **og,
			struct json_object **set, char *msg, size_t msgsz)
{
	struct json_object *props = fk_jobj(classic, "properties");
	struct json_object *rules = fk_jarr(fk_jobj(props, "deliveryPolicy"), "rules");
	const char *from = fk_jstr(classic, "name"), *qs = route_qs(props, msg, msgsz);
	char set_name[NAME_MAX_LEN + 1], host[FK_UUID_LEN + NAME_MAX_LEN * 2];
	struct sb og_name;

	*afd_ep = *og = *set = NULL;
	if (!from || !to || !qs)
		return from && to ? -1 : (snprintf(msg, msgsz, "The endpoint has no name."), -1);
	fk_migrate_set_name(from, set_name, sizeof(set_name));
	if (rules && json_object_array_length(rules) > 0) {
		*set = rule_set(rules, set_name, qs, msg, msgsz);
		if (!*set)
			return -1;
	}
	sb_init(&og_name, 0);
	sb_addf(&og_name, "%s" OG_TAIL, from);
	*og = origin_group(props, og_name.buf);

	struct json_object *ep = json_object_new_object(), *routes = json_object_new_array();
	struct json_object *rt = json_object_new_object(), *rp = json_object_new_object();
	struct json_object *cc = json_object_new_object(), *sets = json_object_new_array();
	struct json_object *pats = json_object_new_array(), *cds = json_object_new_array();
	struct json_object *src_cds = fk_jarr(props, "customDomains");
	snprintf(host, sizeof(host), "%s-%08x" HOST_SUFFIX, to, fnv1a(profile_id, to));
	json_object_object_add(ep, "name", json_object_new_string(to));
	json_object_object_add(ep, "hostName", json_object_new_string(host));
	json_object_object_add(ep, "enabledState", json_object_new_string("Enabled"));
	json_object_object_add(ep, "migratedFrom", json_object_new_string(from));
	json_object_object_add(cc, "queryStringCachingBehavior", json_object_new_string(qs));
	json_object_object_add(cc, "queryParameters", NULL);
	json_object_object_add(rp, "cacheConfiguration", cc);
	if (*set)
		json_object_array_add(sets, id_ref(profile_id, "ruleSets", set_name));
	json_object_object_add(rp, "ruleSets", sets);
	json_object_array_add(pats, json_object_new_string("/*"));
	json_object_object_add(rp, "patternsToMatch", pats);
	json_object_object_add(rp, "supportedProtocols", protocols(props));
	json_object_object_add(rp, "originGroup", id_ref(profile_id, "originGroups", og_name.buf));
	json_object_object_add(rp, "originPath", str(fk_jstr(props, "originPath")));
	json_object_object_add(rp, "forwardingProtocol", json_object_new_string("MatchRequest"));
	json_object_object_add(rp, "linkToDefaultDomain", json_object_new_string("Enabled"));
	json_object_object_add(rp, "httpsRedirect", json_object_new_string("Disabled"));
	json_object_object_add(rp, "enabledState", json_object_new_string("Enabled"));
	for (size_t i = 0; src_cds && i < json_object_array_length(src_cds); i++) {
		const char *cn = fk_jstr(json_object_array_get_idx(src_cds, i), "name");
		if (cn)
			json_object_array_add(cds, id_ref(profile_id, "customDomains", cn));
	}
	json_object_object_add(rp, "customDomains", cds);
	json_object_object_add(rt, "name", json_object_new_string(FK_MIGRATE_ROUTE));
	json_object_object_add(rt, "properties", rp);
	json_object_array_add(routes, rt);
	json_object_object_add(ep, "routes", routes);
	sb_release(&og_name);
	*afd_ep = ep;
	return 0;
}

/* ---- the profile ---- */

struct target {
	const char *sub, *rg, *prof; /* sub NULL: any subscription (the admin surface) */
};

/* The subscription holding the classic profile (its endpoints), or NULL. */
static struct json_object *classic_sub(struct fk_app *app, const struct target *t)
{
	struct json_object *subs = fk_jarr(fk_jobj(app->state, "azure"), "subscriptions");
	for (size_t i = 0; subs && i < json_object_array_length(subs); i++) {
		struct json_object *sub = json_object_array_get_idx(subs, i);
		if (t->sub && strcasecmp(fk_jstr(sub, "id") ? fk_jstr(sub, "id") : "", t->sub))
			continue;
		if (fk_azure_find_profile(app, fk_jstr(sub, "id"), t->rg, t->prof))
			return sub;
	}
	return NULL;
}

static bool of_profile(struct json_object *ep, const struct target *t)
{
	const char *r = fk_jstr(ep, "resource_group"), *p = fk_jstr(ep, "profile");
	return r && p && !strcasecmp(r, t->rg) && !strcasecmp(p, t->prof);
}

static struct json_object *fd_profile(struct fk_app *app, const char *sub, const struct target *t)
{
	struct json_object *ps = fk_jarr(fk_jobj(app->state, "frontdoor"), "profiles");
	for (size_t i = 0; ps && i < json_object_array_length(ps); i++) {
		struct json_object *p = json_object_array_get_idx(ps, i);
		const char *s = fk_jstr(p, "subscription"), *rg = fk_jstr(p, "resource_group"),
			   *n = fk_jstr(p, "name");
		if (s && rg && n && !strcasecmp(s, sub) && !strcasecmp(rg, t->rg) &&
		    !strcasecmp(n, t->prof))
			return p;
	}
	return NULL;
}

/* The migratedTo of from in [{migratedFrom, migratedTo}] (from itself when not mapped). */
static const char *mapped(struct json_object *maps, const char *from)
{
	const char *to = fk_jstr(fk_jfind(maps, "migratedFrom", from), "migratedTo");
	return to ? to : from;
}

/* Removes the classic endpoints of t from sub: what the commit does. */
static void drop_classic(struct json_object *sub, const struct target *t)
{
	struct json_object *eps = fk_jarr(sub, "endpoints");
	for (size_t i = eps ? json_object_array_length(eps) : 0; i-- > 0;)
		if (of_profile(json_object_array_get_idx(eps, i), t))
			json_object_array_del_idx(eps, i, 1);
}

static struct json_object *fd_section(struct fk_app *app)
{
	struct json_object *fd = fk_jobj(app->state, "frontdoor");
	if (!fd) {
		fd = json_object_new_object();
		json_object_object_add(app->state, "frontdoor", fd);
	}
	return fd;
}

/* Builds the Front Door profile of t and adds it to the state (the classic endpoints keep
 * serving until the commit). Returns the HTTP status: 200, or 4xx with msg. */
static int migrate(struct fk_app *app, const struct target *t, struct json_object *maps,
		   const char *sku, struct json_object **out, char *msg, size_t msgsz)
{
	struct json_object *sub = classic_sub(app, t), *eps, *prof, *aeps, *ogs, *sets;
	struct sb pid;
	int status = 200;

	*out = NULL;
	if (!sub)
		return snprintf(msg, msgsz,
				"The profile '%s' under resource group '%s' was not found.",
				t->prof, t->rg),
		       404;
	if (fd_profile(app, fk_jstr(sub, "id"), t))
		return snprintf(msg, msgsz, "The profile '%s' is already migrated.", t->prof), 409;
	eps = fk_jarr(sub, "endpoints");
	prof = json_object_new_object();
	aeps = json_object_new_array();
	ogs = json_object_new_array();
	sets = json_object_new_array();
	sb_init(&pid, 0);
	sb_addf(&pid, "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Cdn/profiles/%s",
		fk_jstr(sub, "id"), t->rg, t->prof);
	json_object_object_add(prof, "subscription", str(fk_jstr(sub, "id")));
	json_object_object_add(prof, "resource_group", json_object_new_string(t->rg));
	json_object_object_add(prof, "name", json_object_new_string(t->prof));
	json_object_object_add(prof, "sku", json_object_new_string(sku));
	json_object_object_add(prof, "migration_state", json_object_new_string("Migrating"));
	json_object_object_add(prof, "afdEndpoints", aeps);
	json_object_object_add(prof, "originGroups", ogs);
	json_object_object_add(prof, "ruleSets", sets);
	for (size_t i = 0; i < json_object_array_length(eps) && status == 200; i++) {
		struct json_object *ep = json_object_array_get_idx(eps, i), *a, *og, *set;
		if (!of_profile(ep, t))
			continue;
		if (!fk_jbool(ep, "can_migrate", true)) {
			snprintf(msg, msgsz,
				 "MigrationBlocked %s: The endpoint uses a feature Front Door does "
				 "not have.",
				 fk_jstr(ep, "name"));
			status = 409;
		} else if (fk_migrate_endpoint(ep, mapped(maps, fk_jstr(ep, "name")), pid.buf, &a,
					       &og, &set, msg, msgsz) < 0) {
			status = 400;
		} else {
			json_object_array_add(aeps, a);
			json_object_array_add(ogs, og);
			if (set)
				json_object_array_add(sets, set);
		}
	}
	sb_release(&pid);
	if (status != 200) {
		json_object_put(prof);
		return status;
	}
	json_object_array_add(fk_jarr_ensure(fd_section(app), "profiles"), prof);
	fk_afd_index_drop(app);
	*out = prof;
	return status;
}

/* Migration and commit complete: the classic endpoints are gone, the profile is Front Door. */
static void commit(struct fk_app *app, struct json_object *prof, const struct target *t)
{
	struct json_object *subs = fk_jarr(fk_jobj(app->state, "azure"), "subscriptions");
	struct json_object *sub = fk_jfind(subs, "id", fk_jstr(prof, "subscription"));
	if (sub)
		drop_classic(sub, t);
	fk_azure_index_drop(app); /* the ARM lookup must not find the removed endpoints */
	json_object_object_del(prof, "migration_state");
}

static const char *sku_of(struct json_object *body)
{
	const char *s = fk_jstr(fk_jobj(body, "sku"), "name");
	return s ? s : FK_MIGRATE_SKU;
}

/* POST /_fakecdn/azure/{rg}/{profile}/migrate [{"sku": {"name": ...},
 * "migrationEndpointMappings": [{"migratedFrom", "migratedTo"}]}]: migrate and commit. */
void fk_migrate_h_admin(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp)
{
	struct target t = {NULL, seg[A_RG], seg[A_PROF]};
	struct json_object *body = req->body_len ? fk_req_json(req) : NULL, *prof;
	char msg[MSG_MAX];
	int status;

	CF_UNUSED(nseg);
	if (req->body_len && (!body || !json_object_is_type(body, json_type_object))) {
		fk_error_admin(resp, 400, "the body must be a JSON object");
		json_object_put(body);
		return;
	}
	status = migrate(app, &t, fk_jarr(body, "migrationEndpointMappings"), sku_of(body), &prof,
			 msg, sizeof(msg));
	json_object_put(body);
	if (status != 200) {
		fk_error_admin(resp, status, msg);
		return;
	}
	commit(app, prof, &t);
	fk_state_changed(app, resp);
	fk_resp_json(resp, 200, prof);
}

/* {"id": the profile's resource id} */
static struct json_object *profile_ref(const char **seg)
{
	struct json_object *o = json_object_new_object();
	struct sb id;
	sb_init(&id, 0);
	sb_addf(&id, "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Cdn/profiles/%s",
		seg[S_SUB], seg[S_RG], seg[S_PROF]);
	json_object_object_add(o, "id", json_object_new_string(id.buf));
	sb_release(&id);
	return o;
}

static const char *arm_code(int status)
{
	return status == 404 ? "ResourceNotFound" : status == 409 ? "Conflict" : "BadRequest";
}

/* POST .../profiles/{p}/cdnMigrateToAfd (CdnMigrationToAfdParameters): 202, the profile is
 * Front Door with the classic endpoints still serving until migrationCommit. */
void fk_migrate_h_arm(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		      struct fk_resp *resp)
{
	struct target t = {seg[S_SUB], seg[S_RG], seg[S_PROF]};
	struct json_object *body, *prof, *o, *p;
	char msg[MSG_MAX];
	int status;

	CF_UNUSED(nseg);
	if (!fk_azure_begin(app, req, seg[S_SUB], resp))
		return;
	body = fk_req_json(req);
	if (!body || !json_object_is_type(body, json_type_object) ||
	    !fk_jstr(fk_jobj(body, "sku"), "name")) {
		json_object_put(body);
		fk_error_arm(resp, req, 400, "BadRequest",
			     "The request body needs 'sku': {'name': 'Standard_AzureFrontDoor' or "
			     "'Premium_AzureFrontDoor'}.");
		return;
	}
	status = migrate(app, &t, fk_jarr(body, "migrationEndpointMappings"), sku_of(body), &prof,
			 msg, sizeof(msg));
	json_object_put(body);
	if (status != 200) {
		fk_error_arm(resp, req, status, arm_code(status), msg);
		return;
	}
	(void)fk_afd_op_start(app, req, seg, resp);
	o = json_object_new_object();
	p = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("Microsoft.Cdn/profiles/migrate"));
	json_object_object_add(p, "migratedProfileResourceId", profile_ref(seg));
	json_object_object_add(o, "properties", p);
	fk_resp_json(resp, 202, o);
	json_object_put(o);
}

/* POST .../profiles/{p}/migrationCommit: 202; the classic endpoints are removed. */
void fk_migrate_h_commit(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp)
{
	struct target t = {seg[S_SUB], seg[S_RG], seg[S_PROF]};
	struct json_object *prof;

	CF_UNUSED(nseg);
	if (!fk_azure_begin(app, req, seg[S_SUB], resp))
		return;
	prof = fd_profile(app, seg[S_SUB], &t);
	if (!prof || !fk_jstr(prof, "migration_state")) {
		fk_error_arm(resp, req, 400, "BadRequest",
			     "The profile has no migration to commit.");
		return;
	}
	commit(app, prof, &t);
	(void)fk_afd_op_start(app, req, seg, resp);
	fk_resp_text(resp, 202, "application/json", "");
}
