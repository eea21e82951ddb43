/*
 * Rule-list semantics; see sem.h. Each provider evaluator follows the vendor text quoted in
 * the README section "What a rule list means"; keep the two in step.
 */
#include "reconcile/base/compat.h"

#include <ctype.h>
#include <strings.h>

#include "reconcile/sem.h"
#include "reconcile/base/pathmatch.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define SEM_PROBE_NAME "cf~probe" /* file name of generated probe paths */
#define SEM_CC_MAX     64	  /* bytes of one Cache-Control directive name we look at */

const char *sem_kind_name(enum sem_kind k)
{
	static const char *const names[SEM__COUNT] = {"azure-china", "azure", "azure-frontdoor",
						      "cdnpro"};
	return (unsigned)k < SEM__COUNT ? names[k] : "unknown";
}

bool sem_same(const struct sem_result *a, const struct sem_result *b)
{
	return a->mode == b->mode && a->ttl == b->ttl;
}

static void result_none(struct sem_result *out)
{
	memset(out, 0, sizeof(*out));
	out->rule = SEM_NO_RULE;
	out->mode = SEM_ORIGIN;
}

/* ---- origin Cache-Control ---- */

struct origin_cc {
	bool uncacheable; /* no-store, private or no-cache */
	bool has_ttl;
	int64_t ttl; /* s-maxage, else max-age */
};

static int64_t cc_seconds(const char *v, size_t n)
{
	int64_t x = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
		if (x > MODEL_TTL_MAX)
			x = MODEL_TTL_MAX;
	}
	return x;
}

static void cc_directive(struct origin_cc *cc, const char *d, size_t n, bool *smax)
{
	size_t k = 0;
	while (k < n && d[k] != '=')
		k++;
	char name[SEM_CC_MAX];
	if (k == 0 || k >= sizeof(name))
		return;
	for (size_t i = 0; i < k; i++)
		name[i] = (char)tolower((unsigned char)d[i]);
	name[k] = '\0';
	const char *v = k < n ? d + k + 1 : d + n;
	size_t vn = k < n ? n - k - 1 : 0;
	if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"')
		v++, vn -= 2;
	if (!strcmp(name, "no-store") || !strcmp(name, "private") || !strcmp(name, "no-cache")) {
		cc->uncacheable = true;
		return;
	}
	bool is_s = !strcmp(name, "s-maxage");
	int64_t secs = cc_seconds(v, vn);
	if ((!is_s && strcmp(name, "max-age")) || secs < 0 || (*smax && !is_s))
		return;
	cc->has_ttl = true;
	cc->ttl = secs;
	*smax = *smax || is_s;
}

static void cc_parse(const char *h, struct origin_cc *cc)
{
	bool smax = false;
	memset(cc, 0, sizeof(*cc));
	while (h && *h) {
		size_t n = strcspn(h, ",");
		const char *d = h;
		size_t m = n;
		while (m > 0 && (*d == ' ' || *d == '\t'))
			d++, m--;
		while (m > 0 && (d[m - 1] == ' ' || d[m - 1] == '\t'))
			m--;
		cc_directive(cc, d, m, &smax);
		h += n + (h[n] == ',');
	}
}

int64_t sem_effective_ttl(const struct sem_result *r, const char *origin_cache_control,
			  int64_t provider_default_ttl)
{
	struct origin_cc cc;
	cc_parse(origin_cache_control, &cc);
	switch (r->mode) {
	case SEM_BYPASS:
		return 0;
	case SEM_OVERRIDE:
		return cc.uncacheable && r->yields_to_no_store ? 0 : r->ttl;
	case SEM_IF_MISSING:
		if (cc.uncacheable)
			return 0;
		return cc.has_ttl ? cc.ttl : r->ttl;
	case SEM_ORIGIN:
		break;
	}
	if (cc.uncacheable)
		return 0;
	return cc.has_ttl ? cc.ttl : provider_default_ttl;
}

/* ---- cacheform's meaning ---- */

bool sem_item_matches(enum rule_kind k, const char *item, const char *path)
{
	return pathmatch_item(k, item, path);
}

static void result_rule(struct sem_result *out, size_t i, int64_t ttl, bool override, bool yields)
{
	result_none(out);
	out->rule = (int)i;
	out->mode = ttl == 0 ? SEM_BYPASS : override ? SEM_OVERRIDE : SEM_IF_MISSING;
	out->ttl = ttl;
	out->yields_to_no_store = yields && out->mode == SEM_OVERRIDE;
}

void sem_desired(const struct cache *c, const char *path, struct sem_result *out)
{
	long i = pathmatch_first(c, path);
	if (i < 0) {
		result_none(out);
		return;
	}
	result_rule(out, (size_t)i, c->rules[i].ttl, rule_ignores_cc(c, &c->rules[i]), false);
	out->rule_id = c->rules[i].name.s;
}

/* ---- azure-china ---- */

void sem_cn_eval(const struct cache *c, const char *path, struct sem_result *out)
{
	long first = -1;
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		if (!pathmatch_rule(r, path))
			continue;
		if (r->ttl == 0) { /* "the no-cache rules are prioritized" */
			first = (long)i;
			break;
		}
		if (first < 0)
			first = (long)i;
	}
	if (first < 0) {
		result_none(out);
		return;
	}
	result_rule(out, (size_t)first, c->rules[first].ttl, c->ignore_cache_control, false);
}

/* ---- azure classic ---- */

struct sem_az_rule *sem_az_add_rule(struct sem_az *az)
{
	xgrow(&az->rules, &az->cap, az->n + 1, sizeof(*az->rules));
	struct sem_az_rule *r = &az->rules[az->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

struct sem_az_cond *sem_az_add_cond(struct sem_az_rule *r)
{
	xgrow(&r->conds, &r->ccap, r->nconds + 1, sizeof(*r->conds));
	struct sem_az_cond *c = &r->conds[r->nconds++];
	memset(c, 0, sizeof(*c));
	return c;
}

void sem_az_reserve_rules(struct sem_az *az, size_t n)
{
	if (n > az->cap) {
		az->rules = xreallocarray(az->rules, n, sizeof(*az->rules));
		az->cap = n;
	}
}

void sem_az_reserve_conds(struct sem_az_rule *r, size_t n)
{
	if (n > r->ccap) {
		r->conds = xreallocarray(r->conds, n, sizeof(*r->conds));
		r->ccap = n;
	}
}

void sem_az_sort(struct sem_az *az)
{
	/* insertion sort: stable, and lists hold at most a few dozen rules */
	for (size_t i = 1; i < az->n; i++) {
		struct sem_az_rule t = az->rules[i];
		size_t j = i;
		for (; j > 0 && az->rules[j - 1].order > t.order; j--)
			az->rules[j] = az->rules[j - 1];
		az->rules[j] = t;
	}
}

void sem_az_release(struct sem_az *az)
{
	for (size_t i = 0; i < az->n; i++) {
		struct sem_az_rule *r = &az->rules[i];
		for (size_t j = 0; j < r->nconds; j++)
			svec_release(&r->conds[j].values);
		free(r->conds);
		free(r->name);
	}
	free(az->rules);
	memset(az, 0, sizeof(*az));
}

enum tri { TRI_NO, TRI_YES, TRI_MAYBE };

/* The request value a condition looks at (borrowed from path). */
static const char *az_value(enum sem_az_var var, const char *path)
{
	const char *seg = strrchr(path, '/');
	seg = seg ? seg + 1 : path;
	if (var == SEM_AZ_URL_FILENAME)
		return seg;
	if (var == SEM_AZ_URL_EXT) {
		const char *dot = strrchr(seg, '.');
		return dot ? dot + 1 : "";
	}
	return path;
}

static bool az_op(enum sem_az_op op, const char *v, const char *want)
{
	size_t vl, wl;
	switch (op) {
	case SEM_OP_ANY:
		return true;
	case SEM_OP_EQUAL:
		return strcmp(v, want) == 0;
	case SEM_OP_BEGINS:
		return strncmp(v, want, strlen(want)) == 0;
	case SEM_OP_ENDS:
		vl = strlen(v), wl = strlen(want);
		return vl >= wl && strcmp(v + vl - wl, want) == 0;
	case SEM_OP_CONTAINS:
		return strstr(v, want) != NULL;
	case SEM_OP_OTHER:
		break;
	}
	return false;
}

static enum tri az_cond(const struct sem_az_cond *c, const char *path)
{
	char buf[SEM_PATH_MAX];
	if (c->var == SEM_AZ_OTHER || c->op == SEM_OP_OTHER)
		return TRI_MAYBE;
	const char *v = az_value(c->var, path);
	if (c->transform != SEM_CASE_KEEP) {
		size_t n = strlen(v);
		if (n >= sizeof(buf))
			return TRI_MAYBE;
		for (size_t i = 0; i <= n; i++)
			buf[i] =
			    (char)(c->transform == SEM_CASE_LOWER ? tolower((unsigned char)v[i])
								  : toupper((unsigned char)v[i]));
		v = buf;
	}
	bool hit = c->op == SEM_OP_ANY;
	for (size_t i = 0; i < c->values.n && !hit; i++)
		hit = az_op(c->op, v, c->values.v[i].s);
	return hit != c->negate ? TRI_YES : TRI_NO;
}

static enum tri az_rule(const struct sem_az_rule *r, const char *path)
{
	enum tri all = TRI_YES;
	for (size_t i = 0; i < r->nconds && all != TRI_NO; i++) {
		enum tri t = az_cond(&r->conds[i], path);
		if (t != TRI_YES)
			all = t; /* TRI_NO ends the loop; TRI_MAYBE stays unless a later NO */
	}
	return all;
}

void sem_az_eval(const struct sem_az *az, const char *path, struct sem_result *out)
{
	result_none(out);
	for (size_t i = 0; i < az->n; i++) {
		const struct sem_az_rule *r = &az->rules[i];
		if (!r->has_cache)
			continue;
		enum tri t = az_rule(r, path);
		if (t == TRI_MAYBE) {
			out->uncertain = true;
		} else if (t == TRI_YES) { /* later rules overwrite earlier actions */
			bool unc = out->uncertain;
			result_none(out);
			out->rule = (int)i;
			out->mode = r->mode;
			out->ttl = r->mode == SEM_BYPASS ? 0 : r->ttl;
			out->yields_to_no_store = r->mode == SEM_OVERRIDE;
			out->uncertain = unc;
			out->rule_id = r->name;
		}
	}
}

/* ---- any provider ---- */

void sem_eval(const struct sem_cfg *cfg, const char *path, struct sem_result *out)
{
	switch (cfg->kind) {
	case SEM_AZURE_CHINA:
		sem_cn_eval(&cfg->cn, path, out);
		return;
	case SEM_AZURE:
		sem_az_eval(&cfg->az, path, out);
		return;
	case SEM_AZURE_FRONTDOOR:
	case SEM_CDNPRO:
	case SEM__COUNT:
		break;
	}
	if (cfg->hook.eval)
		cfg->hook.eval(cfg->hook.cfg, path, out);
	else
		result_none(out);
}

void sem_cfg_release(struct sem_cfg *cfg)
{
	if (!cfg)
		return;
	cache_release(&cfg->cn);
	sem_az_release(&cfg->az);
	if (cfg->hook.free_cfg && cfg->hook.cfg)
		cfg->hook.free_cfg(cfg->hook.cfg);
	enum sem_kind k = cfg->kind;
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = k;
}

/* ---- paths ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int sem_path_of(const char *s, char *buf, size_t n)
{
	size_t o = 0;
	if (!strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8)) {
		s = strstr(s, "//") + 2;
		s += strcspn(s, "/?#");
		if (*s != '/') {
			if (n < 2)
				return -1;
			memcpy(buf, "/", 2);
			return 0;
		}
	}
	if (*s != '/')
		return -1;
	for (; *s && *s != '?' && *s != '#'; s++) {
		char c = *s;
		if (c == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -1;
			c = (char)(hi * 16 + lo);
			s += 2;
		}
		if (o + 1 >= n)
			return -1;
		buf[o++] = c;
	}
	buf[o] = '\0';
	return 0;
}

/* ---- probe paths ---- */

static void add_unique(struct svec *v, const char *s)
{
	if (*s && !svec_contains(v, s))
		svec_push(v, s, NULL);
}

/*
 * A value compared with case c: a case-sensitive one (SEM_CASE_KEEP) is probed as written,
 * lower, upper and capitalised; one compared after a case transform only in that case.
 */
static void add_cased(struct svec *v, const char *s, enum sem_case c)
{
	char *t = xstrdup(s);
	if (c == SEM_CASE_KEEP)
		add_unique(v, s);
	for (char *q = t; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	if (c != SEM_CASE_UPPER)
		add_unique(v, t);
	if (c == SEM_CASE_KEEP && t[0]) {
		t[0] = (char)toupper((unsigned char)t[0]);
		add_unique(v, t);
	}
	for (char *q = t; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	if (c != SEM_CASE_LOWER)
		add_unique(v, t);
	free(t);
}

/* A directory item: probed inside (with its '/') and as the bare path without it. */
static void add_dir(struct sem_probe *p, const char *item)
{
	size_t n = strlen(item);
	char *d = xmalloc(n + 2);
	memcpy(d, item, n + 1);
	if (n == 0 || d[n - 1] != '/')
		memcpy(d + n, "/", 2);
	add_unique(&p->dirs, d);
	d[strlen(d) - 1] = '\0';
	add_unique(&p->paths, d);
	free(d);
}

void sem_probe_add_cache(struct sem_probe *p, const struct cache *c)
{
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		for (size_t j = 0; j < r->items.n; j++) {
			const char *s = r->items.v[j].s;
			if (r->kind == RULE_DIR)
				add_dir(p, s);
			else if (r->kind == RULE_SUFFIX) /* compared case-insensitively */
				add_cased(&p->exts, s, SEM_CASE_LOWER);
			else
				add_unique(&p->paths, s);
		}
	}
}

static void add_az_value(struct sem_probe *p, const struct sem_az_cond *c, const char *s)
{
	struct sb sb;
	switch (c->var) {
	case SEM_AZ_URL_EXT:
		add_cased(&p->exts, s, c->transform);
		return;
	case SEM_AZ_URL_PATH:
		if (c->op == SEM_OP_BEGINS) { /* a prefix, with or without its '/' */
			add_unique(&p->dirs, s);
			add_dir(p, s);
		}
		add_cased(&p->paths, s, c->transform);
		return;
	case SEM_AZ_URL_FILENAME:
	case SEM_AZ_OTHER:
		break;
	}
	sb_init(&sb, SEM_PATH_MAX);
	sb_addf(&sb, "/%s", s);
	add_cased(&p->paths, sb.buf, c->transform);
	sb_release(&sb);
	const char *dot = strrchr(s, '.');
	if (c->var == SEM_AZ_URL_FILENAME && dot)
		add_cased(&p->exts, dot + 1, c->transform);
}

void sem_probe_add_az(struct sem_probe *p, const struct sem_az *az)
{
	for (size_t i = 0; i < az->n; i++)
		for (size_t j = 0; j < az->rules[i].nconds; j++) {
			const struct sem_az_cond *c = &az->rules[i].conds[j];
			for (size_t k = 0; k < c->values.n; k++)
				add_az_value(p, c, c->values.v[k].s);
		}
}

void sem_probe_add_cfg(struct sem_probe *p, const struct sem_cfg *cfg)
{
	sem_probe_add_cache(p, &cfg->cn);
	sem_probe_add_az(p, &cfg->az);
	if (cfg->hook.probe && cfg->hook.cfg)
		cfg->hook.probe(cfg->hook.cfg, p);
}

/*
 * prefix + probe name + each extension (and none). The name contains no '/', so no deeper
 * directory takes it: the probe stands for every path whose longest matching prefix is this
 * one. Generated paths are distinct by construction and are not de-duplicated (that search
 * would cost more than evaluating a duplicate).
 */
static void probes_under(const struct sem_probe *p, const char *prefix, struct svec *out,
			 struct sb *sb)
{
	size_t pl = strlen(prefix);
	bool slash = pl > 0 && prefix[pl - 1] == '/';
	for (size_t e = 0; e <= p->exts.n; e++) {
		sb_reset(sb);
		sb_addf(sb, "%s%s%s", prefix, slash ? "" : "/", SEM_PROBE_NAME);
		if (e < p->exts.n)
			sb_addf(sb, ".%s", p->exts.v[e].s);
		if (!sb->overflow)
			svec_push(out, sb->buf, NULL);
	}
	if (!slash) { /* BeginsWith without '/' also takes a longer segment */
		sb_reset(sb);
		sb_addf(sb, "%sx", prefix);
		if (!sb->overflow)
			svec_push(out, sb->buf, NULL);
	}
}

void sem_probe_paths(const struct sem_probe *p, struct svec *out)
{
	struct sb sb;
	sb_init(&sb, SEM_PATH_MAX);
	svec_push(out, "/", NULL);
	probes_under(p, "/", out, &sb);
	for (size_t e = 0; e < p->exts.n; e++) { /* a last segment that is only ".ext" */
		sb_reset(&sb);
		sb_addf(&sb, "/.%s", p->exts.v[e].s);
		if (!sb.overflow)
			svec_push(out, sb.buf, NULL);
	}
	for (size_t i = 0; i < p->dirs.n; i++)
		probes_under(p, p->dirs.v[i].s, out, &sb);
	for (size_t i = 0; i < p->paths.n; i++)
		svec_push(out, p->paths.v[i].s, NULL);
	sb_release(&sb);
}

void sem_probe_release(struct sem_probe *p)
{
	svec_release(&p->dirs);
	svec_release(&p->exts);
	svec_release(&p->paths);
}

long sem_first_difference(const struct sem_cfg *a, const struct sem_cfg *b,
			  const struct svec *probes)
{
	struct sem_result ra, rb;
	for (size_t i = 0; i < probes->n; i++) {
		sem_eval(a, probes->v[i].s, &ra);
		sem_eval(b, probes->v[i].s, &rb);
		if (!sem_same(&ra, &rb))
			return (long)i;
	}
	return -1;
}

long sem_first_difference_desired(const struct cache *desired, const struct sem_cfg *b,
				  const struct svec *probes)
{
	struct sem_result ra, rb;
	for (size_t i = 0; i < probes->n; i++) {
		sem_desired(desired, probes->v[i].s, &ra);
		sem_eval(b, probes->v[i].s, &rb);
		if (!sem_same(&ra, &rb))
			return (long)i;
	}
	return -1;
}
