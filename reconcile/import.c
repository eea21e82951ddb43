#include "reconcile/base/compat.h"
#include "reconcile/import.h"

#include <ctype.h>

#define IMPORT_DEFAULT_RULE_PREFIX "cacheform"

/* Words YAML 1.1 resolvers read as booleans or null, whatever their case. */
static const char *const yaml_special[] = {"true", "false", "yes", "no", "on",
					   "off",  "null",  "y",   "n",	 "~"};

static bool plain_safe(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '/'))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/._-", *p))
			return false;
	for (size_t i = 0; i < CF_ARRAY_LEN(yaml_special); i++)
		if (strcasecmp(s, yaml_special[i]) == 0)
			return false;
	return true;
}

void import_yaml_scalar(const char *s, struct sb *out)
{
	if (plain_safe(s)) {
		sb_adds(out, s);
		return;
	}
	/* single quotes: the only escape is '' for ' */
	sb_addc(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			sb_addc(out, '\'');
		sb_addc(out, *s);
	}
	sb_addc(out, '\'');
}

static void flow_list(const struct svec *v, struct sb *out)
{
	sb_addc(out, '[');
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			sb_adds(out, ", ");
		import_yaml_scalar(v->v[i].s, out);
	}
	sb_addc(out, ']');
}

static void remote_yaml(const struct endpoint *ep, struct sb *out)
{
	static const char *const keys[] = {"endpoint_id", "resource_group", "profile", "endpoint",
					   "route",	  "rule_set",	    "target"};
	const struct sval *vals[] = {&ep->remote.endpoint_id, &ep->remote.resource_group,
				     &ep->remote.profile,     &ep->remote.endpoint,
				     &ep->remote.route,	      &ep->remote.rule_set,
				     &ep->remote.target};
	sb_adds(out, "remote:\n");
	for (size_t i = 0; i < CF_ARRAY_LEN(keys); i++) {
		if (!vals[i]->s)
			continue;
		sb_addf(out, "  %s: ", keys[i]);
		import_yaml_scalar(vals[i]->s, out);
		sb_addc(out, '\n');
	}
}

/* True when name is what cacheform would call the rule at 1-based position pos anyway. */
static bool default_rule_name(const char *name, size_t pos)
{
	char def[sizeof(IMPORT_DEFAULT_RULE_PREFIX) + 24];
	snprintf(def, sizeof(def), IMPORT_DEFAULT_RULE_PREFIX "%zu", pos);
	return strcmp(name, def) == 0;
}

/* A TTL as people write it: days, hours, minutes, seconds ("30d", "1d12h", "0"); weeks are
 * left out because "4w2d" reads worse than "30d". duration_parse reads every form back. */
static void ttl_yaml(int64_t secs, struct sb *out)
{
	static const struct {
		char unit;
		int64_t secs;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	if (secs <= 0) {
		sb_addc(out, '0');
		return;
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(units); i++) {
		if (secs >= units[i].secs) {
			sb_addf(out, "%lld%c", (long long)(secs / units[i].secs), units[i].unit);
			secs %= units[i].secs;
		}
	}
}

static void rule_yaml(const struct cache *c, const struct rule *r, size_t pos, struct sb *out)
{
	sb_addf(out, "    - %s: ", rule_kind_name(r->kind));
	flow_list(&r->items, out);
	sb_adds(out, "\n      ttl: ");
	ttl_yaml(r->ttl, out);
	sb_addc(out, '\n');
	/* only where the live rule differs from the block: a list that mixes them */
	if (r->ttl > 0 && rule_ignores_cc(c, r) != c->ignore_cache_control)
		sb_addf(out, "      ignore_cache_control: %s\n",
			rule_ignores_cc(c, r) ? "true" : "false");
	if (r->name.s && !default_rule_name(r->name.s, pos)) {
		sb_adds(out, "      name: ");
		import_yaml_scalar(r->name.s, out);
		sb_addc(out, '\n');
	}
}

static void cache_yaml(const struct cache *c, enum provider_kind prov, struct sb *out)
{
	sb_addf(out, "cache:\n  ignore_cache_control: %s\n",
		c->ignore_cache_control ? "true" : "false");
	/* azure and Front Door cannot express ignore_cookie; writing the key fails validation */
	if (prov != PROV_AZURE && prov != PROV_AZURE_FRONTDOOR)
		sb_addf(out, "  ignore_cookie: %s\n", c->ignore_cookie ? "true" : "false");
	sb_addf(out, "  ignore_query_string: %s\n", c->ignore_query_string ? "true" : "false");
	if (!c->nrules) {
		sb_adds(out, "  rules: []\n");
		return;
	}
	sb_adds(out, "  rules:                          # ordered: the first matching rule wins\n");
	for (size_t i = 0; i < c->nrules; i++)
		rule_yaml(c, &c->rules[i], i + 1, out);
}

void import_yaml(const struct endpoint *ep, const struct live_state *live, struct sb *out)
{
	enum provider_kind prov = ep->account->provider;
	sb_addf(out, "# Imported from the live %s endpoint by `cacheform import`.\n",
		provider_name(prov));
	if (live->nforeign) {
		sb_adds(out,
			"# Delivery rules not managed by cacheform stay at the provider (apply "
			"preserves them):");
		for (size_t i = 0; i < live->nforeign; i++)
			sb_addf(out, "%s %s", i ? "," : "", live->foreign[i].name);
		sb_addc(out, '\n');
	}
	import_yaml_endpoint(ep, &live->cache, out);
}

void import_yaml_endpoint(const struct endpoint *ep, const struct cache *c, struct sb *out)
{
	sb_adds(out, "endpoint: ");
	import_yaml_scalar(ep->name.s, out);
	sb_adds(out, "\naccount: ");
	import_yaml_scalar(ep->account_name.s, out);
	sb_addc(out, '\n');
	remote_yaml(ep, out);
	sb_adds(out, "hosts: ");
	flow_list(&ep->hosts, out);
	if (ep->scheme.s) {
		sb_adds(out, "\nscheme: ");
		import_yaml_scalar(ep->scheme.s, out);
	}
	sb_addf(out, "\nmode: %s\n", endpoint_mode_name(ep->mode));
	if (ep->mode != MODE_PURGE_ONLY || c->nrules)
		cache_yaml(c, ep->account->provider, out);
}
