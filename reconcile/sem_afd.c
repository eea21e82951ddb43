/*
 * Front Door request-time semantics (sem_afd.h). Sources: D-RS (order, Stop route-wide),
 * D-MATCH (UrlPath subject without the first '/', operators, transforms on the request
 * value), D-ACT (an override without cacheConfiguration disables caching), S2610 (route
 * without cacheConfiguration does not cache). Where the documents are silent (precedence of
 * two overrides) the model is last writer wins, as classic Azure CDN documents.
 */
#include "reconcile/base/compat.h"

#include <ctype.h>
#include <strings.h>

#include "reconcile/sem_afd.h"
#include "reconcile/base/xmem.h"

#define SEM_AFD_VALUE_MAX 8192 /* bytes of a request value after a transform */

struct sem_afd_rule *sem_afd_add_rule(struct sem_afd_set *s)
{
	xgrow(&s->rules, &s->cap, s->n + 1, sizeof(*s->rules));
	struct sem_afd_rule *r = &s->rules[s->n++];
	memset(r, 0, sizeof(*r));
	r->duration = SEM_AFD_DURATION_NULL;
	return r;
}

struct sem_afd_cond *sem_afd_add_cond(struct sem_afd_rule *r)
{
	xgrow(&r->conds, &r->ccap, r->nconds + 1, sizeof(*r->conds));
	struct sem_afd_cond *c = &r->conds[r->nconds++];
	memset(c, 0, sizeof(*c));
	return c;
}

struct sem_afd_set *sem_afd_add_set(struct sem_afd_route *rt, const char *name)
{
	xgrow(&rt->sets, &rt->cap, rt->n + 1, sizeof(*rt->sets));
	struct sem_afd_set *s = &rt->sets[rt->n++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name ? name : "");
	return s;
}

static int cmp_rule(const void *a, const void *b)
{
	const struct sem_afd_rule *x = a, *y = b;
	if (x->order != y->order)
		return (x->order > y->order) - (x->order < y->order);
	return (x > y) - (x < y);
}

void sem_afd_sort(struct sem_afd_set *s)
{
	/* qsort is not stable: break ties by position, which is what the array holds now */
	if (s->n > 1)
		qsort(s->rules, s->n, sizeof(*s->rules), cmp_rule);
}

void sem_afd_rule_release(struct sem_afd_rule *r)
{
	for (size_t i = 0; i < r->nconds; i++)
		svec_release(&r->conds[i].values);
	free(r->conds);
	free(r->name);
	free(r->qparams);
	memset(r, 0, sizeof(*r));
}

void sem_afd_set_release(struct sem_afd_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		sem_afd_rule_release(&s->rules[i]);
	free(s->rules);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

void sem_afd_route_release(struct sem_afd_route *rt)
{
	for (size_t i = 0; i < rt->n; i++)
		sem_afd_set_release(&rt->sets[i]);
	free(rt->sets);
	free(rt->qparams);
	memset(rt, 0, sizeof(*rt));
}

void sem_afd_rule_copy(struct sem_afd_rule *dst, const struct sem_afd_rule *src)
{
	*dst = *src;
	dst->name = src->name ? xstrdup(src->name) : NULL;
	dst->qparams = src->qparams ? xstrdup(src->qparams) : NULL;
	dst->conds = NULL;
	dst->nconds = dst->ccap = 0;
	for (size_t i = 0; i < src->nconds; i++) {
		struct sem_afd_cond *c = sem_afd_add_cond(dst);
		c->var = src->conds[i].var;
		c->op = src->conds[i].op;
		c->negate = src->conds[i].negate;
		c->transforms = src->conds[i].transforms;
		for (size_t j = 0; j < src->conds[i].values.n; j++)
			svec_push(&c->values, src->conds[i].values.v[j].s, NULL);
	}
}

/* ---- request values ---- */

static const char *last_segment(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The request value a condition looks at; NULL when the request has none (no extension). */
static const char *subject(enum sem_afd_var v, const char *path)
{
	switch (v) {
	case AFDV_URL_PATH:
		return path[0] == '/' ? path + 1 : path;
	case AFDV_URL_FILENAME:
		return last_segment(path);
	case AFDV_URL_EXT: {
		const char *seg = last_segment(path), *dot = strrchr(seg, '.');
		return dot ? dot + 1 : NULL;
	}
	case AFDV_OTHER:
		break;
	}
	return NULL;
}

static void apply_transforms(unsigned tf, const char *in, char *out, size_t n)
{
	snprintf(out, n, "%s", in);
	if (tf & AFDT_TRIM) {
		size_t a = strspn(out, " \t"), len = strlen(out);
		while (len > a && (out[len - 1] == ' ' || out[len - 1] == '\t'))
			len--;
		memmove(out, out + a, len - a);
		out[len - a] = '\0';
	}
	for (char *p = out; *p; p++) {
		if (tf & AFDT_LOWER)
			*p = (char)tolower((unsigned char)*p);
		else if (tf & AFDT_UPPER)
			*p = (char)toupper((unsigned char)*p);
	}
}

/* '*' = zero or more characters (D-MATCH), crossing '/' (emulator choice, §4.9). */
static bool wildcard(const char *pat, const char *s)
{
	const char *star = NULL, *back = NULL;
	while (*s) {
		if (*pat == '*') {
			star = pat++;
			back = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++back;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static bool length_cmp(enum sem_afd_op op, size_t len, const char *v)
{
	char *end;
	long long want = strtoll(v, &end, 10);
	if (end == v || *end)
		return false;
	long long l = (long long)len;
	return op == AFDO_LT   ? l < want
	       : op == AFDO_LE ? l <= want
	       : op == AFDO_GT ? l > want
			       : l >= want;
}

static bool one_value(enum sem_afd_op op, bool path, const char *subj, const char *val)
{
	if (path && val[0] == '/')
		val++; /* a stored leading '/' is ignored (D-MATCH 2023; "/" = the root) */
	size_t sl = strlen(subj), vl = strlen(val);
	switch (op) {
	case AFDO_EQUAL:
		return strcmp(subj, val) == 0;
	case AFDO_CONTAINS:
		return strstr(subj, val) != NULL;
	case AFDO_BEGINS:
		return strncmp(subj, val, vl) == 0;
	case AFDO_ENDS:
		return sl >= vl && strcmp(subj + sl - vl, val) == 0;
	case AFDO_WILDCARD:
		return wildcard(val, subj);
	case AFDO_LT:
	case AFDO_LE:
	case AFDO_GT:
	case AFDO_GE:
		return length_cmp(op, sl, val);
	case AFDO_ANY:
	case AFDO_OTHER:
		break;
	}
	return false;
}

bool sem_afd_cond_matches(const struct sem_afd_cond *c, const char *path, bool *uncertain)
{
	char buf[SEM_AFD_VALUE_MAX];
	if (c->var == AFDV_OTHER || c->op == AFDO_OTHER) {
		*uncertain = true;
		return false;
	}
	const char *subj = subject(c->var, path);
	bool hit = false;
	if (subj) {
		apply_transforms(c->transforms, subj, buf, sizeof(buf));
		hit = c->op == AFDO_ANY;
		for (size_t i = 0; i < c->values.n && !hit; i++)
			hit = one_value(c->op, c->var == AFDV_URL_PATH, buf, c->values.v[i].s);
	}
	return c->negate ? !hit : hit;
}

/* ---- evaluation ---- */

static void decide(const struct sem_afd_rule *r, int set, int rule, struct sem_afd_result *out)
{
	out->set = set;
	out->rule = rule;
	out->rule_id = r->name;
	if (!r->has_cache) {
		out->mode = AFDM_BYPASS;
		out->ttl = 0;
		return;
	}
	out->qs = r->qs;
	out->qparams = r->qparams;
	out->ttl = r->behavior == AFDB_HONOR || r->duration < 0 ? 0 : r->duration;
	out->mode = r->behavior == AFDB_HONOR	   ? AFDM_ORIGIN
		    : r->behavior == AFDB_OVERRIDE ? AFDM_OVERRIDE
						   : AFDM_IF_MISSING;
	/* OverrideAlways applies "only if the response is cacheable" (D-ACT) */
	out->yields_to_no_store = true;
	if (out->mode != AFDM_ORIGIN && out->ttl == 0)
		out->mode = AFDM_BYPASS;
}

static bool rule_matches(const struct sem_afd_rule *r, const char *path, bool *uncertain)
{
	for (size_t i = 0; i < r->nconds; i++)
		if (!sem_afd_cond_matches(&r->conds[i], path, uncertain))
			return false;
	return true;
}

void sem_afd_eval(const struct sem_afd_route *rt, const char *path, struct sem_afd_result *out)
{
	memset(out, 0, sizeof(*out));
	out->rule = SEM_AFD_NO_RULE;
	out->set = out->stop_set = out->stop_rule = -1;
	out->mode = rt->has_cache ? AFDM_ORIGIN : AFDM_BYPASS;
	out->qs = rt->qs;
	out->qparams = rt->qparams;
	out->yields_to_no_store = true;
	for (size_t s = 0; s < rt->n; s++) {
		const struct sem_afd_set *set = &rt->sets[s];
		for (size_t i = 0; i < set->n; i++) {
			const struct sem_afd_rule *r = &set->rules[i];
			if (!rule_matches(r, path, &out->uncertain))
				continue;
			if (r->override)
				decide(r, (int)s, (int)i, out);
			if (r->stop) {
				out->stop_set = (int)s;
				out->stop_rule = (int)i;
				return;
			}
		}
	}
}

bool sem_afd_same(const struct sem_afd_result *a, const struct sem_afd_result *b)
{
	if (a->mode != b->mode || a->ttl != b->ttl)
		return false;
	if (a->mode == AFDM_BYPASS)
		return true; /* nothing is cached: the key does not matter */
	if (a->qs != b->qs)
		return false;
	if (a->qs != AFDQ_IGNORE_SPECIFIED && a->qs != AFDQ_INCLUDE_SPECIFIED)
		return true;
	return strcmp(a->qparams ? a->qparams : "", b->qparams ? b->qparams : "") == 0;
}

/* ---- cacheform's meaning (SPEC §2.2) ---- */

static bool item_matches(enum rule_kind k, const char *item, const char *path)
{
	size_t n = strlen(item);
	switch (k) {
	case RULE_DIR:
		if (strcmp(item, "/") == 0)
			return true;
		if (strncmp(path, item, n) != 0)
			return false;
		return item[n - 1] == '/' || path[n] == '/';
	case RULE_SUFFIX: {
		const char *seg = last_segment(path);
		size_t sl = strlen(seg);
		return sl > n && seg[sl - n - 1] == '.' && strcasecmp(seg + sl - n, item) == 0;
	}
	case RULE_PATH:
		return strcmp(item, path) == 0;
	}
	return false;
}

void sem_afd_desired(const struct cache *c, const char *path, struct sem_afd_result *out)
{
	memset(out, 0, sizeof(*out));
	out->rule = SEM_AFD_NO_RULE;
	out->set = out->stop_set = out->stop_rule = -1;
	out->mode = AFDM_ORIGIN;
	out->qs = c->ignore_query_string ? AFDQ_IGNORE : AFDQ_USE;
	out->yields_to_no_store = true;
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		for (size_t j = 0; j < r->items.n; j++) {
			if (!item_matches(r->kind, r->items.v[j].s, path))
				continue;
			out->rule = (int)i;
			out->rule_id = r->name.s;
			out->ttl = r->ttl;
			out->mode = r->ttl == 0		    ? AFDM_BYPASS
				    : rule_ignores_cc(c, r) ? AFDM_OVERRIDE
							    : AFDM_IF_MISSING;
			return;
		}
	}
}
