/*
 * nginx location selection for the top level of an Edge Logic document. Nested locations are
 * not searched: the parser marks a location holding one as uncertain instead.
 */
#include "reconcile/base/compat.h"
#include "reconcile/sem_edgelogic.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <ctype.h>

#include "reconcile/base/xmem.h"

#define EL_RE_MSG_MAX 160
#define EL_RE_META    "\\.+*?()[]{}|^$" /* where a regex's literal text ends */

struct el_eval {
	const struct el_doc *d;
	pcre2_code **re; /* per location; NULL for non-regex ones */
	pcre2_match_data *md;
};

const char *el_step_name(enum el_step s)
{
	static const char *const names[] = {"none", "exact match", "^~ prefix", "earlier regex",
					    "longest prefix"};
	return (unsigned)s < CF_ARRAY_LEN(names) ? names[s] : "?";
}

static int compile_one(const struct el_location *l, pcre2_code **out, struct cf_err *e)
{
	int code;
	PCRE2_SIZE off;
	uint32_t opts = l->match == EL_REGEX_CI ? PCRE2_CASELESS : 0;
	*out =
	    pcre2_compile((PCRE2_SPTR)l->pattern, PCRE2_ZERO_TERMINATED, opts, &code, &off, NULL);
	if (*out)
		return 0;
	PCRE2_UCHAR msg[EL_RE_MSG_MAX];
	pcre2_get_error_message(code, msg, sizeof(msg));
	return err_set(e, CF_EINVAL, "edgeLogic line %u: location regex does not compile: %s",
		       l->line, (const char *)msg);
}

int el_eval_open(const struct el_doc *d, struct el_eval **out, struct cf_err *e)
{
	struct el_eval *ev = xcalloc(1, sizeof(*ev));
	ev->d = d;
	ev->re = xcalloc(d->n ? d->n : 1, sizeof(*ev->re));
	for (size_t i = 0; i < d->n; i++) {
		if (d->locs[i].match != EL_REGEX && d->locs[i].match != EL_REGEX_CI)
			continue;
		int rc = compile_one(&d->locs[i], &ev->re[i], e);
		if (rc != 0) {
			el_eval_close(ev);
			*out = NULL;
			return rc;
		}
	}
	ev->md = pcre2_match_data_create(1, NULL);
	if (!ev->md)
		xmem_oom("PCRE2 match data");
	*out = ev;
	return 0;
}

void el_eval_close(struct el_eval *ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < ev->d->n; i++)
		pcre2_code_free(ev->re[i]);
	free(ev->re);
	pcre2_match_data_free(ev->md);
	free(ev);
}

static void choose(const struct el_eval *ev, int loc, enum el_step step, struct el_result *out)
{
	const struct el_location *l = &ev->d->locs[loc];
	out->loc = loc;
	out->owned = l->owned;
	out->mode = l->cache;
	out->ttl = l->ttl;
	out->uncertain = l->uncertain;
	out->step = step;
}

/* Steps 2-3: an equal exact location, else the longest prefix (plain or ^~). */
static int static_search(const struct el_doc *d, const char *path, bool *exact)
{
	int best = -1;
	size_t best_len = 0;
	*exact = false;
	for (size_t i = 0; i < d->n; i++) {
		const struct el_location *l = &d->locs[i];
		if (l->match == EL_EXACT && strcmp(l->pattern, path) == 0) {
			*exact = true;
			return (int)i;
		}
		if (l->match != EL_PREFIX && l->match != EL_PREFIX_STOP)
			continue;
		size_t n = strlen(l->pattern);
		if (strncmp(path, l->pattern, n) == 0 && (best < 0 || n > best_len))
			best = (int)i, best_len = n;
	}
	return best;
}

void el_eval_path(const struct el_eval *ev, const char *path, struct el_result *out)
{
	const struct el_doc *d = ev->d;
	bool exact;
	memset(out, 0, sizeof(*out));
	out->loc = -1;
	int pre = static_search(d, path, &exact);
	if (pre >= 0 && exact) {
		choose(ev, pre, EL_STEP_EXACT, out);
		return;
	}
	if (pre >= 0 && d->locs[pre].match == EL_PREFIX_STOP) {
		choose(ev, pre, EL_STEP_PREFIX_STOP, out);
		return;
	}
	for (size_t i = 0; i < d->n; i++) {
		if (!ev->re[i])
			continue;
		int rc = pcre2_match(ev->re[i], (PCRE2_SPTR)path, strlen(path), 0, 0, ev->md, NULL);
		if (rc >= 0) {
			choose(ev, (int)i, EL_STEP_REGEX, out);
			return;
		}
	}
	if (pre >= 0)
		choose(ev, pre, EL_STEP_PREFIX, out);
}

/* ---- the shared semantics module's hook ---- */

struct el_hook {
	struct el_doc doc;
	struct el_eval *ev;
	struct svec labels; /* per location: its rule_id, "location '^~ /x/' (line 3, foreign)" */
};

/* The rule_id of each location: how explain names what decides. */
static void hook_labels(struct el_hook *h)
{
	for (size_t i = 0; i < h->doc.n; i++) {
		const struct el_location *l = &h->doc.locs[i];
		struct sb sb;
		sb_init(&sb, 0);
		sb_addf(&sb, "location '%s%s' (line %u, %s)", el_match_mod(l->match), l->pattern,
			l->line, l->owned ? "cacheform's region" : "foreign");
		svec_push(&h->labels, sb.buf ? sb.buf : "", NULL);
		sb_release(&sb);
	}
}

static void hook_eval(const void *cfg, const char *path, struct sem_result *out)
{
	const struct el_hook *h = cfg;
	struct el_result r;
	el_eval_path(h->ev, path, &r);
	memset(out, 0, sizeof(*out));
	out->mode = (enum sem_mode)r.mode;
	out->rule = r.mode == EL_ORIGIN ? SEM_NO_RULE : r.loc;
	out->ttl = r.mode == EL_OVERRIDE || r.mode == EL_IF_MISSING ? r.ttl : 0;
	/* proxy_ignore_headers Cache-Control also ignores no-store; proxy_cache_valid alone
	 * applies only when the origin says nothing */
	out->yields_to_no_store = r.mode == EL_IF_MISSING;
	out->uncertain = r.uncertain;
	out->rule_id = r.loc >= 0 ? h->labels.v[r.loc].s : NULL;
}

/* Adds v (as written, lower and upper case when ci) to the set, once. */
static void add_probe(struct svec *v, const char *s, size_t n, bool ci)
{
	char *t = xmalloc(n + 1);
	memcpy(t, s, n);
	t[n] = '\0';
	for (int pass = 0; pass < (ci ? 3 : 1); pass++) {
		for (char *q = t; pass && *q; q++)
			*q = (char)(pass == 1 ? tolower((unsigned char)*q)
					      : toupper((unsigned char)*q));
		if (*t && !svec_contains(v, t))
			svec_push(v, t, NULL);
	}
	free(t);
}

/* The literal path a regex anchored with '^' starts with ("^/img/" -> "/img/"); its length. */
static size_t regex_prefix(const char *re, char *buf, size_t n)
{
	size_t o = 0;
	if (re[0] != '^')
		return 0;
	for (const char *s = re + 1; *s && o + 1 < n; s++) {
		if (*s == '\\' && s[1] && !isalnum((unsigned char)s[1]))
			s++;
		else if (strchr(EL_RE_META, *s))
			break;
		buf[o++] = *s;
	}
	buf[o] = '\0';
	return o;
}

/* The extensions a regex ending in "\.ext$" or "\.(a|b)$" names. */
static void regex_exts(const char *re, bool ci, struct sem_probe *p)
{
	const char *dot = NULL;
	for (const char *s = strstr(re, "\\."); s; s = strstr(s + 1, "\\."))
		dot = s;
	size_t n = strlen(re);
	if (!dot || n < 2 || re[n - 1] != '$' || re[n - 2] == '\\')
		return;
	const char *s = dot + 2, *end = re + n - 1;
	bool group = *s == '(' && end[-1] == ')';
	if (group)
		s++, end--;
	while (s < end) {
		size_t w = strcspn(s, "|)$");
		if (w && w <= (size_t)(end - s) && strcspn(s, EL_RE_META) >= w)
			add_probe(&p->exts, s, w, ci);
		s += w + 1;
		if (!group)
			break;
	}
}

/* A prefix or exact location's literal, or what a regex location anchors or ends with. */
static void probe_location(const struct el_location *l, struct sem_probe *p)
{
	char lit[SEM_PATH_MAX];
	bool ci = l->match == EL_REGEX_CI;
	switch (l->match) {
	case EL_EXACT:
		add_probe(&p->paths, l->pattern, strlen(l->pattern), false);
		return;
	case EL_PREFIX:
	case EL_PREFIX_STOP:
		add_probe(&p->dirs, l->pattern, strlen(l->pattern), false);
		add_probe(&p->paths, l->pattern, strlen(l->pattern), false);
		return;
	case EL_REGEX:
	case EL_REGEX_CI:
		if (regex_prefix(l->pattern, lit, sizeof(lit)) > 0 && lit[0] == '/') {
			add_probe(&p->dirs, lit, strlen(lit), ci);
			add_probe(&p->paths, lit, strlen(lit), ci);
		}
		regex_exts(l->pattern, ci, p);
		return;
	case EL_NAMED:
		return;
	}
}

void el_probe_add(const struct el_doc *d, struct sem_probe *p)
{
	for (size_t i = 0; i < d->n; i++)
		probe_location(&d->locs[i], p);
}

/* Every location's paths, owned and foreign alike: a foreign one may take a path the YAML
 * covers, and a live region may hold rules the YAML no longer has. */
static void hook_probe(const void *cfg, struct sem_probe *p)
{
	el_probe_add(&((const struct el_hook *)cfg)->doc, p);
}

static void hook_free(void *cfg)
{
	struct el_hook *h = cfg;
	el_eval_close(h->ev);
	el_doc_release(&h->doc);
	svec_release(&h->labels);
	free(h);
}

int sem_el_hook(struct el_doc *d, struct sem_hook *out, struct cf_err *e)
{
	struct el_hook *h = xcalloc(1, sizeof(*h));
	h->doc = *d;
	memset(d, 0, sizeof(*d));
	memset(out, 0, sizeof(*out));
	int rc = el_eval_open(&h->doc, &h->ev, e);
	if (rc != 0) {
		el_doc_release(&h->doc);
		free(h);
		return rc;
	}
	hook_labels(h);
	out->eval = hook_eval;
	out->cfg = h;
	out->free_cfg = hook_free;
	out->probe = hook_probe;
	return 0;
}
