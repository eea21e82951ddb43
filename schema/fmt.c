/*
 * The canonical form (see fmt.h): line ranges moved by the node positions of schema/ytree.c,
 * durations rewritten in place, every result proven against the loader before it is returned.
 */
#include "reconcile/base/compat.h"
#include "schema/fmt.h"
#include "schema/ytree.h"
#include "reconcile/base/xmem.h"

#include <stdlib.h>
#include <string.h>

#define FMT_DURATION_MAX 32 /* longest duration_format() text, with room to spare */

/* ---- the canonical key order of each kind of mapping ---- */

enum fmt_shape { FS_LEAF, FS_MAP, FS_SEQ, FS_DURATION };

struct fmt_kind;

struct fmt_key {
	const char *key;
	enum fmt_shape shape;
	const struct fmt_kind *sub; /* FS_MAP: the value's kind; FS_SEQ: each item's kind */
};

/* Keys in canonical order; a kind with `each` keeps its (user-chosen) keys in their order and
 * reads every value as a mapping of that kind (accounts: {NAME: account}). */
struct fmt_kind {
	const struct fmt_key *keys;
	size_t n;
	const struct fmt_kind *each;
};

#define LEAF(k)                                                                                    \
	{                                                                                          \
		k, FS_LEAF, NULL                                                                   \
	}
#define KIND(keys)                                                                                 \
	{                                                                                          \
		keys, CF_ARRAY_LEN(keys), NULL                                                     \
	}

/* The order of schema/load.c's field tables (README "cacheform fmt" lists it). */
static const struct fmt_key rate_keys[] = {LEAF("per_minute"), LEAF("burst")};
static const struct fmt_kind rate_kind = KIND(rate_keys);
static const struct fmt_key edge_keys[] = {LEAF("connect_to"), LEAF("scheme")};
static const struct fmt_kind edge_kind = KIND(edge_keys);
static const struct fmt_key account_keys[] = {
    LEAF("provider"),
    LEAF("subscription"),
    LEAF("key_id"),
    LEAF("key_value"),
    LEAF("tenant"),
    LEAF("client_id"),
    LEAF("client_secret"),
    LEAF("user"),
    LEAF("api_key"),
    LEAF("base_url"),
    LEAF("login_url"),
    LEAF("api_version"),
    LEAF("ca_file"),
    LEAF("cloud"),
    {"rate_limit", FS_MAP, &rate_kind},
    {"timeout", FS_DURATION, NULL},
    {"edge", FS_MAP, &edge_kind},
};
static const struct fmt_kind account_kind = KIND(account_keys);
static const struct fmt_kind accounts_kind = {NULL, 0, &account_kind};
static const struct fmt_key safety_keys[] = {LEAF("max_change_pct"), LEAF("min_rules")};
static const struct fmt_kind safety_kind = KIND(safety_keys);
static const struct fmt_key settings_keys[] = {
    LEAF("version"),
    {"accounts", FS_MAP, &accounts_kind},
    {"safety", FS_MAP, &safety_kind},
};
static const struct fmt_kind settings_kind = KIND(settings_keys);

static const struct fmt_key rule_keys[] = {
    LEAF("dir"),  LEAF("suffix"),
    LEAF("path"), {"ttl", FS_DURATION, NULL},
    LEAF("name"), LEAF("ignore_cache_control"),
};
static const struct fmt_kind rule_kind = KIND(rule_keys);
static const struct fmt_key cache_keys[] = {
    LEAF("ignore_cache_control"),
    LEAF("ignore_cookie"),
    LEAF("ignore_query_string"),
    {"rules", FS_SEQ, &rule_kind},
};
static const struct fmt_kind cache_kind = KIND(cache_keys);
static const struct fmt_key remote_keys[] = {
    LEAF("endpoint_id"), LEAF("resource_group"), LEAF("profile"), LEAF("endpoint"),
    LEAF("target"),	 LEAF("property_id"),	 LEAF("route"),	  LEAF("rule_set"),
};
static const struct fmt_kind remote_kind = KIND(remote_keys);
static const struct fmt_key endpoint_keys[] = {
    LEAF("endpoint"),
    LEAF("account"),
    {"remote", FS_MAP, &remote_kind},
    LEAF("hosts"),
    LEAF("scheme"),
    LEAF("mode"),
    {"cache", FS_MAP, &cache_kind},
    {"edge", FS_MAP, &edge_kind},
};
static const struct fmt_kind endpoint_kind = KIND(endpoint_keys);
/* file_headers names are the user's: their order is kept. */
static const struct fmt_key purge_keys[] = {
    LEAF("purge"), LEAF("endpoints"), LEAF("files"),   LEAF("dirs"),	     LEAF("patterns"),
    LEAF("regex"), LEAF("action"),    LEAF("preload"), LEAF("file_headers"),
};
static const struct fmt_kind purge_kind = KIND(purge_keys);

static const struct fmt_kind *fmt_file_kind(enum load_kind k)
{
	return k == LOAD_SETTINGS   ? &settings_kind
	       : k == LOAD_ENDPOINT ? &endpoint_kind
				    : &purge_kind;
}

/* Returns the key's index in k (its rank), or k->n for a key k does not list. */
static size_t fmt_rank(const struct fmt_kind *k, const struct ynode *key)
{
	for (size_t i = 0; i < k->n; i++)
		if (key->kind == YN_SCALAR && strcmp(key->s, k->keys[i].key) == 0)
			return i;
	return k->n;
}

/* ---- the source as lines ---- */

struct fmt_repl {
	size_t off, end; /* bytes replaced */
	char text[FMT_DURATION_MAX];
};

struct fmt_ctx {
	const char *buf; /* the input, ending in '\n' */
	size_t len;
	size_t *ls; /* ls[i]: start of line i (1-based); ls[nl + 1] == len */
	unsigned nl;
	struct fmt_repl *r;
	size_t nr, rcap;
	struct sb out;
	unsigned emitted;	  /* lines written to out: must end as nl */
	const struct ynode *root; /* the document's mapping */
};

static size_t fmt_line_end(const struct fmt_ctx *x, unsigned i)
{
	return x->ls[i + 1];
}

/* Index of the first byte of line i that is not a space or tab. */
static size_t fmt_first_char(const struct fmt_ctx *x, unsigned i)
{
	size_t o = x->ls[i];
	while (o < fmt_line_end(x, i) && (x->buf[o] == ' ' || x->buf[o] == '\t'))
		o++;
	return o;
}

static bool fmt_blank(const struct fmt_ctx *x, unsigned i)
{
	size_t o = fmt_first_char(x, i);
	return x->buf[o] == '\n' || (x->buf[o] == '\r' && x->buf[o + 1] == '\n');
}

static bool fmt_comment(const struct fmt_ctx *x, unsigned i)
{
	return x->buf[fmt_first_char(x, i)] == '#';
}

/* Byte offset of character column col (1-based) of line, or SIZE_MAX past the line's end. */
static size_t fmt_col_off(const struct fmt_ctx *x, unsigned line, unsigned col)
{
	if (line < 1 || line > x->nl)
		return SIZE_MAX;
	size_t o = x->ls[line], end = fmt_line_end(x, line) - 1; /* the '\n' */
	for (unsigned c = 1; c < col; c++) {
		if (o >= end)
			return SIZE_MAX;
		o++;
		while (o < end && ((unsigned char)x->buf[o] & 0xc0) == 0x80)
			o++;
	}
	return o;
}

/*
 * libyaml also breaks lines at a lone CR, NEL, LS and PS; positions would not match the
 * '\n'-separated lines here, so such files are not rewritten.
 */
static bool fmt_plain_breaks(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b[i] == '\r' && (i + 1 == n || b[i + 1] != '\n'))
			return false;
		if (i + 1 < n && (unsigned char)b[i] == 0xc2 && (unsigned char)b[i + 1] == 0x85)
			return false;
		if (i + 2 < n && (unsigned char)b[i] == 0xe2 && (unsigned char)b[i + 1] == 0x80 &&
		    ((unsigned char)b[i + 2] == 0xa8 || (unsigned char)b[i + 2] == 0xa9))
			return false;
	}
	return true;
}

static void fmt_lines(struct fmt_ctx *x, size_t skip)
{
	size_t cap = 0;
	unsigned n = 0;
	xgrow(&x->ls, &cap, 2, sizeof(*x->ls));
	x->ls[1] = skip; /* libyaml's line 1 starts after a byte order mark */
	for (size_t i = skip; i < x->len; i++)
		if (x->buf[i] == '\n') {
			n++;
			xgrow(&x->ls, &cap, n + 2, sizeof(*x->ls));
			x->ls[n + 1] = i + 1;
		}
	x->nl = n;
}

/* ---- durations, rewritten in place ---- */

static int fmt_repl_cmp(const void *a, const void *b)
{
	const struct fmt_repl *p = a, *q = b;
	return p->off < q->off ? -1 : p->off > q->off;
}

/* Sorts the rewrites by offset, once each (an alias reaches its anchor's scalar again). */
static void fmt_repl_sort(struct fmt_ctx *x)
{
	size_t n = 0;
	if (!x->nr)
		return;
	qsort(x->r, x->nr, sizeof(*x->r), fmt_repl_cmp);
	for (size_t i = 0; i < x->nr; i++)
		if (n == 0 || x->r[n - 1].off != x->r[i].off)
			x->r[n++] = x->r[i];
	x->nr = n;
}

/* Records the rewrite of scalar n to duration_format's text when its span is exactly it. */
static void fmt_duration(struct fmt_ctx *x, const struct ynode *n)
{
	int64_t secs;
	const char *why;
	char text[FMT_DURATION_MAX];
	if (n->kind != YN_SCALAR || n->style == YS_BLOCK || n->line != n->end_line ||
	    duration_parse(n->s, &secs, &why) < 0)
		return;
	duration_format(secs, text, sizeof(text));
	size_t off = fmt_col_off(x, n->line, n->col), end = fmt_col_off(x, n->end_line, n->end_col);
	if (strcmp(text, n->s) == 0 || off == SIZE_MAX || end == SIZE_MAX || end < off)
		return;
	if (n->style != YS_PLAIN) {
		/* quotes kept; an escape inside them makes the span differ from the text */
		if (end - off < 2)
			return;
		off++;
		end--;
	}
	if (end - off != n->len || memcmp(x->buf + off, n->s, n->len) != 0)
		return; /* an anchor in the span, or an escape: not a plain rewrite */
	xgrow(&x->r, &x->rcap, x->nr + 1, sizeof(*x->r));
	x->r[x->nr].off = off;
	x->r[x->nr].end = end;
	snprintf(x->r[x->nr++].text, sizeof(x->r->text), "%s", text);
}

/* Walks the kinds (a bounded depth: they do not nest themselves) to find the durations. */
static void fmt_collect(struct fmt_ctx *x, const struct ynode *n, const struct fmt_kind *k)
{
	if (n->kind != YN_MAP)
		return;
	for (struct yitem *it = n->head; it && it->next; it = it->next->next) {
		const struct ynode *key = it->node, *val = it->next->node;
		if (k->each) {
			fmt_collect(x, val, k->each);
			continue;
		}
		size_t r = fmt_rank(k, key);
		if (r == k->n)
			continue;
		const struct fmt_key *fk = &k->keys[r];
		if (fk->shape == FS_DURATION)
			fmt_duration(x, val);
		else if (fk->shape == FS_MAP)
			fmt_collect(x, val, fk->sub);
		else if (fk->shape == FS_SEQ && val->kind == YN_SEQ)
			for (struct yitem *i = val->head; i; i = i->next)
				fmt_collect(x, i->node, fk->sub);
	}
}

/* ---- moving line ranges ---- */

/*
 * Writes line i, its first pn bytes replaced by pfx (or by pn spaces when pfx is NULL), with
 * the duration rewrites that fall in it.
 */
static void fmt_emit_line(struct fmt_ctx *x, unsigned i, const char *pfx, size_t pn)
{
	size_t off = x->ls[i], end = fmt_line_end(x, i);
	for (size_t k = 0; k < pn; k++)
		sb_addc(&x->out, pfx ? pfx[k] : ' ');
	off += pn;
	size_t lo = 0, hi = x->nr;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (x->r[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo; k < x->nr && x->r[k].off < end; k++) {
		sb_add(&x->out, x->buf + off, x->r[k].off - off);
		sb_adds(&x->out, x->r[k].text);
		off = x->r[k].end;
	}
	sb_add(&x->out, x->buf + off, end - off);
	x->emitted++;
}

static void fmt_emit_lines(struct fmt_ctx *x, unsigned a, unsigned b)
{
	for (unsigned i = a; i < b; i++)
		fmt_emit_line(x, i, NULL, 0);
}

/* First line of the comment lines directly above line l (none deeper than col), not above floor. */
static unsigned fmt_attach(const struct fmt_ctx *x, unsigned l, unsigned col, unsigned floor)
{
	while (l > floor && fmt_comment(x, l - 1) &&
	       fmt_first_char(x, l - 1) - x->ls[l - 1] + 1 <= col)
		l--;
	return l;
}

/* Whether the col - 1 bytes before column col of line are spaces (and dashes when dash). */
static bool fmt_key_prefix(const struct fmt_ctx *x, unsigned line, unsigned col, bool dash)
{
	size_t o = x->ls[line];
	bool seen = false;
	if (col < 1 || o + col - 1 >= fmt_line_end(x, line))
		return false;
	for (size_t i = 0; i + 1 < col; i++) {
		char c = x->buf[o + i];
		if (c == '-' && dash)
			seen = true;
		else if (c != ' ')
			return false;
	}
	return seen == dash;
}

static void fmt_emit_map(struct fmt_ctx *x, const struct ynode *m, const struct fmt_kind *k,
			 unsigned a, unsigned b, bool item);
static void fmt_emit_seq(struct fmt_ctx *x, const struct ynode *s, const struct fmt_kind *k,
			 unsigned a, unsigned b);

/* Lines [a, b) hold value v of a key on line keyline: recurse when it is a block collection. */
static void fmt_emit_value(struct fmt_ctx *x, const struct ynode *v, const struct fmt_key *fk,
			   unsigned keyline, unsigned a, unsigned b)
{
	if (fk && !v->flow && v->line > keyline && v->line >= a && v->line < b) {
		if (fk->shape == FS_MAP && v->kind == YN_MAP) {
			fmt_emit_map(x, v, fk->sub, a, b, false);
			return;
		}
		if (fk->shape == FS_SEQ && v->kind == YN_SEQ) {
			fmt_emit_seq(x, v, fk->sub, a, b);
			return;
		}
	}
	fmt_emit_lines(x, a, b);
}

/* One entry of a block mapping: where its lines are. */
struct fmt_entry {
	const struct ynode *key, *val;
	unsigned start; /* first line: the comments directly above the key, or the key */
	unsigned end;	/* past its last line that is not blank */
	unsigned next;	/* start of the next entry (or the mapping's end): blank lines between */
	size_t rank;
};

/* Fills e[0..np) for mapping m over lines [a, b); returns false when it cannot be moved. */
static bool fmt_entries(const struct fmt_ctx *x, const struct ynode *m, const struct fmt_kind *k,
			unsigned a, unsigned b, bool item, struct fmt_entry *e, size_t np)
{
	size_t j = 0;
	unsigned col = m->head->node->col;
	for (struct yitem *it = m->head; it && it->next; it = it->next->next, j++) {
		const struct ynode *key = it->node;
		unsigned floor = j ? e[j - 1].key->line + 1 : a;
		if (key->kind != YN_SCALAR || key->col != col || key->line < floor ||
		    key->line >= b || !fmt_key_prefix(x, key->line, col, item && j == 0))
			return false;
		e[j].key = key;
		e[j].val = it->next->node;
		/* the comments above the document's first key are the file's header: they stay */
		e[j].start = j == 0 && (item || m == x->root)
				 ? key->line
				 : fmt_attach(x, key->line, col, floor);
		e[j].rank = k->each ? j : fmt_rank(k, key);
	}
	if (j != np || (item && e[0].key->line != a))
		return false;
	for (j = 0; j < np; j++) {
		e[j].next = j + 1 < np ? e[j + 1].start : b;
		e[j].end = e[j].next;
		/* after the last entry, comments no deeper than the keys close the mapping: they
		 * stay at its end */
		while (e[j].end > e[j].key->line + 1 &&
		       (fmt_blank(x, e[j].end - 1) ||
			(j + 1 == np && fmt_comment(x, e[j].end - 1) &&
			 fmt_first_char(x, e[j].end - 1) - x->ls[e[j].end - 1] + 1 <= col)))
			e[j].end--;
	}
	return true;
}

static const struct fmt_key *fmt_child(const struct fmt_kind *k, const struct fmt_entry *e,
				       struct fmt_key *each)
{
	if (k->each) {
		each->key = NULL;
		each->shape = FS_MAP;
		each->sub = k->each;
		return each;
	}
	return e->rank < k->n ? &k->keys[e->rank] : NULL;
}

/* Stable order of the entries by rank. */
static void fmt_order(const struct fmt_entry *e, size_t np, size_t *ord)
{
	for (size_t i = 0; i < np; i++) {
		size_t j = i;
		while (j > 0 && e[ord[j - 1]].rank > e[i].rank) {
			ord[j] = ord[j - 1];
			j--;
		}
		ord[j] = i;
	}
}

/*
 * Writes entry e at position p. In a sequence item the first line carries the item's "- ":
 * the entry placed first takes it (its comment lines go above it) and the original first key
 * gets spaces instead.
 */
static void fmt_emit_entry(struct fmt_ctx *x, const struct fmt_entry *e, size_t p, size_t j,
			   const struct fmt_key *fk, const char *dash, size_t dn)
{
	unsigned kl = e->key->line;
	fmt_emit_lines(x, e->start, kl);
	if (dash && p == 0 && j != 0)
		fmt_emit_line(x, kl, dash, dn);
	else if (dash && j == 0 && p != 0)
		fmt_emit_line(x, kl, NULL, dn);
	else
		fmt_emit_line(x, kl, NULL, 0);
	fmt_emit_value(x, e->val, fk, kl, kl + 1, e->end);
}

static void fmt_emit_map(struct fmt_ctx *x, const struct ynode *m, const struct fmt_kind *k,
			 unsigned a, unsigned b, bool item)
{
	size_t np = m->n / 2;
	if (m->flow || np == 0 || m->n % 2) {
		fmt_emit_lines(x, a, b);
		return;
	}
	struct fmt_entry *e = xcalloc(np, sizeof(*e));
	size_t *ord = xcalloc(np, sizeof(*ord));
	if (!fmt_entries(x, m, k, a, b, item, e, np)) {
		fmt_emit_lines(x, a, b);
		goto out;
	}
	fmt_order(e, np, ord);
	const char *dash = item ? x->buf + x->ls[a] : NULL;
	size_t dn = item ? e[0].key->col - 1 : 0;
	fmt_emit_lines(x, a, e[0].start);
	for (size_t p = 0; p < np; p++) {
		struct fmt_key each;
		const struct fmt_entry *ej = &e[ord[p]];
		fmt_emit_entry(x, ej, p, ord[p], fmt_child(k, ej, &each), dash, dn);
		fmt_emit_lines(x, e[p].end, e[p].next);
	}
out:
	free(e);
	free(ord);
}

/* Column of the last '-' before column col of line, or 0. */
static unsigned fmt_dash_col(const struct fmt_ctx *x, unsigned line, unsigned col)
{
	unsigned d = 0;
	for (unsigned i = 1; i < col && x->ls[line] + i - 1 < fmt_line_end(x, line); i++)
		if (x->buf[x->ls[line] + i - 1] == '-')
			d = i;
	return d;
}

/* A block sequence of mappings over lines [a, b): the items stay, their keys are ordered. */
static void fmt_emit_seq(struct fmt_ctx *x, const struct ynode *s, const struct fmt_kind *k,
			 unsigned a, unsigned b)
{
	unsigned prev = a;
	for (struct yitem *it = s->head; it; it = it->next) {
		const struct ynode *n = it->node;
		/* each item a block mapping starting on its own "- " line, in order */
		if (n->kind != YN_MAP || n->flow || n->line < prev || n->line >= b ||
		    !fmt_key_prefix(x, n->line, n->col, true)) {
			fmt_emit_lines(x, a, b);
			return;
		}
		prev = n->line + 1;
	}
	const struct yitem *it = s->head;
	if (!it) {
		fmt_emit_lines(x, a, b);
		return;
	}
	fmt_emit_lines(x, a, it->node->line);
	for (; it; it = it->next) {
		const struct ynode *n = it->node, *nx = it->next ? it->next->node : NULL;
		unsigned end =
		    nx ? fmt_attach(x, nx->line, fmt_dash_col(x, nx->line, nx->col), n->line + 1)
		       : b;
		fmt_emit_map(x, n, k, n->line, end, true);
		if (nx)
			fmt_emit_lines(x, end, nx->line);
	}
}

/* ---- proving a rewrite ---- */

static void fmt_dump_sval(struct sb *o, const char *name, const struct sval *v)
{
	if (v->s)
		sb_addf(o, " %s=%zu:%s", name, strlen(v->s), v->s);
}

static void fmt_dump_svec(struct sb *o, const char *name, const struct svec *v)
{
	if (!v->n && !v->pos.file)
		return;
	sb_addf(o, " %s=[", name);
	for (size_t i = 0; i < v->n; i++)
		sb_addf(o, "%zu:%s,", strlen(v->v[i].s), v->v[i].s);
	sb_adds(o, "]");
}

static void fmt_dump_mval(struct sb *o, const char *name, const struct mval *m)
{
	if (m->kind != MVAL_ABSENT)
		sb_addf(o, " %s=%d:%zu:%s", name, (int)m->kind, m->text ? strlen(m->text) : 0,
			m->text ? m->text : "");
}

static void fmt_dump_edge(struct sb *o, const struct edge_cfg *e)
{
	if (!e->pos.file)
		return;
	sb_adds(o, " edge{");
	fmt_dump_sval(o, "connect_to", &e->connect_to);
	fmt_dump_sval(o, "scheme", &e->scheme);
	sb_adds(o, "}");
}

static void fmt_dump_account(struct sb *o, const struct account *a)
{
	const struct {
		const char *name;
		const struct mval *m;
	} mv[] = {
	    {"subscription", &a->subscription},
	    {"key_id", &a->key_id},
	    {"key_value", &a->key_value},
	    {"tenant", &a->tenant},
	    {"client_id", &a->client_id},
	    {"client_secret", &a->client_secret},
	    {"user", &a->user},
	    {"api_key", &a->api_key},
	    {"base_url", &a->base_url},
	    {"login_url", &a->login_url},
	    {"api_version", &a->api_version},
	    {"ca_file", &a->ca_file},
	    {"cloud", &a->cloud},
	};
	sb_adds(o, "account");
	fmt_dump_sval(o, "name", &a->name);
	sb_addf(o, " provider=%s", provider_name(a->provider));
	for (size_t i = 0; i < CF_ARRAY_LEN(mv); i++)
		fmt_dump_mval(o, mv[i].name, mv[i].m);
	if (a->rate_limit.set)
		sb_addf(o, " rate=%u/%u", a->rate_limit.per_minute, a->rate_limit.burst);
	if (a->timeout_pos.file)
		sb_addf(o, " timeout=%lld", (long long)a->timeout_s);
	fmt_dump_edge(o, &a->edge);
	sb_adds(o, "\n");
}

static void fmt_dump_endpoint(struct sb *o, const struct endpoint *ep)
{
	const struct remote *r = &ep->remote;
	sb_adds(o, "endpoint");
	fmt_dump_sval(o, "name", &ep->name);
	fmt_dump_sval(o, "account", &ep->account_name);
	fmt_dump_sval(o, "endpoint_id", &r->endpoint_id);
	fmt_dump_sval(o, "resource_group", &r->resource_group);
	fmt_dump_sval(o, "profile", &r->profile);
	fmt_dump_sval(o, "remote_endpoint", &r->endpoint);
	fmt_dump_sval(o, "target", &r->target);
	fmt_dump_sval(o, "property_id", &r->property_id);
	fmt_dump_sval(o, "route", &r->route);
	fmt_dump_sval(o, "rule_set", &r->rule_set);
	fmt_dump_svec(o, "hosts", &ep->hosts);
	fmt_dump_sval(o, "scheme", &ep->scheme);
	sb_addf(o, " mode=%s%s", endpoint_mode_name(ep->mode), ep->mode_pos.file ? "!" : "");
	fmt_dump_edge(o, &ep->edge);
	if (ep->has_cache) {
		const struct cache *c = &ep->cache;
		sb_addf(o, " cache{%d%d%d%s", c->ignore_cache_control, c->ignore_cookie,
			c->ignore_query_string, c->ignore_cookie_pos.file ? "!" : "");
		for (size_t i = 0; i < c->nrules; i++) {
			sb_addf(o, " rule %s", rule_kind_name(c->rules[i].kind));
			fmt_dump_svec(o, "items", &c->rules[i].items);
			sb_addf(o, " ttl=%lld cc=%d", (long long)c->rules[i].ttl,
				(int)c->rules[i].cc);
			fmt_dump_sval(o, "name", &c->rules[i].name);
		}
		sb_adds(o, "}");
	}
	sb_adds(o, "\n");
}

static void fmt_dump_purge(struct sb *o, const struct purge *p)
{
	sb_adds(o, "purge");
	fmt_dump_sval(o, "id", &p->id);
	fmt_dump_svec(o, "endpoints", &p->endpoints);
	fmt_dump_svec(o, "files", &p->files);
	fmt_dump_svec(o, "dirs", &p->dirs);
	fmt_dump_svec(o, "patterns", &p->patterns);
	fmt_dump_svec(o, "regex", &p->regex);
	fmt_dump_svec(o, "preload", &p->preload);
	fmt_dump_svec(o, "header_names", &p->header_names);
	fmt_dump_svec(o, "header_values", &p->header_values);
	sb_addf(o, " action=%d%s\n", (int)p->action, p->action_pos.file ? "!" : "");
}

void fmt_model_dump(const struct config *c, struct sb *out)
{
	sb_addf(out, "version=%lld%s safety=%lld/%lld\n", (long long)c->version,
		c->version_pos.file ? "!" : "", (long long)c->safety.max_change_pct,
		(long long)c->safety.min_rules);
	for (size_t i = 0; i < c->naccounts; i++)
		fmt_dump_account(out, &c->accounts[i]);
	for (size_t i = 0; i < c->nendpoints; i++)
		fmt_dump_endpoint(out, &c->endpoints[i]);
	for (size_t i = 0; i < c->npurges; i++)
		fmt_dump_purge(out, &c->purges[i]);
}

/* Strips a comment line's indentation and line break; returns false for other lines. */
static bool fmt_comment_text(const char *l, size_t n, const char **s, size_t *sn)
{
	while (n && (*l == ' ' || *l == '\t'))
		l++, n--;
	while (n && (l[n - 1] == '\n' || l[n - 1] == '\r'))
		n--;
	*s = l;
	*sn = n;
	return n && *l == '#';
}

struct fmt_span {
	const char *s;
	size_t n;
};

static int fmt_span_cmp(const void *a, const void *b)
{
	const struct fmt_span *p = a, *q = b;
	int c = memcmp(p->s, q->s, p->n < q->n ? p->n : q->n);
	return c ? c : p->n < q->n ? -1 : p->n > q->n;
}

/* The comment lines of b, sorted (a multiset compared in O(n log n), whatever the size). */
static struct fmt_span *fmt_comment_lines(const char *b, size_t blen, size_t *n)
{
	struct fmt_span *v = NULL;
	size_t cap = 0;
	*n = 0;
	for (size_t i = 0; i < blen;) {
		const char *nl = memchr(b + i, '\n', blen - i);
		size_t e = nl ? (size_t)(nl - b) + 1 : blen;
		struct fmt_span sp;
		if (fmt_comment_text(b + i, e - i, &sp.s, &sp.n)) {
			xgrow(&v, &cap, *n + 1, sizeof(*v));
			v[(*n)++] = sp;
		}
		i = e;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), fmt_span_cmp);
	return v;
}

bool fmt_comments_kept(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t na, nb, j = 0;
	struct fmt_span *va = fmt_comment_lines(a, alen, &na),
			*vb = fmt_comment_lines(b, blen, &nb);
	bool kept = true;
	/* every line of va matched by its own line of vb: a merge of the two sorted lists */
	for (size_t i = 0; i < na && kept; i++) {
		while (j < nb && fmt_span_cmp(&vb[j], &va[i]) < 0)
			j++;
		kept = j < nb && fmt_span_cmp(&vb[j], &va[i]) == 0;
		j++;
	}
	free(va);
	free(vb);
	return kept;
}

/* Loads buf as kind into a dump; returns the number of errors the loader found. */
static size_t fmt_meaning(enum load_kind kind, const char *file, const char *buf, size_t len,
			  struct sb *dump, struct diag_list *d)
{
	struct config *c = config_new();
	size_t before = d->nerrors;
	(void)load_buffer(c, kind, file, buf, len, d);
	fmt_model_dump(c, dump);
	config_free(c);
	return d->nerrors - before;
}

/*
 * Returns NULL when text (the rewrite) means what the input meant, else why not. Checked
 * against the bytes as given: the final newline fmt adds can itself change a block scalar.
 */
static const char *fmt_prove(enum load_kind kind, const char *file, const char *in, size_t inlen,
			     const struct sb *text)
{
	struct sb a, b;
	struct diag_list d;
	const char *why = NULL;
	sb_init(&a, 0);
	sb_init(&b, 0);
	diag_init(&d);
	(void)fmt_meaning(kind, file, in, inlen, &a, &d);
	if (fmt_meaning(kind, file, text->buf, text->len, &b, &d))
		why = "the rewritten file would not load";
	else if (a.overflow || b.overflow || a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)
		why = "the rewritten file would mean something else";
	else if (!fmt_comments_kept(in, inlen, text->buf, text->len))
		why = "a comment would be lost";
	sb_release(&a);
	sb_release(&b);
	diag_release(&d);
	return why;
}

/* ---- one file ---- */

/*
 * Loads buf only for its errors. Their positions would point into the scratch config's file
 * table: they are pointed at the caller's file name instead.
 */
static int fmt_loads(enum load_kind kind, const char *file, const char *buf, size_t len,
		     struct diag_list *d)
{
	struct config *c = config_new();
	size_t first = d->n;
	int rc = load_buffer(c, kind, file, buf, len, d);
	for (size_t i = first; i < d->n; i++)
		if (d->v[i].pos.file)
			d->v[i].pos.file = file;
	config_free(c);
	return rc;
}

static const char *fmt_rewrite(struct fmt_ctx *x, enum load_kind kind, size_t skip,
			       struct diag_list *d)
{
	struct ytree t;
	const char *why = NULL;
	ytree_init(&t, d);
	ytree_begin(&t, "", x->buf, x->len);
	if (ytree_parse(&t) < 0 || !t.root) {
		why = "it does not parse";
		goto out;
	}
	fmt_lines(x, skip);
	fmt_collect(x, t.root, fmt_file_kind(kind));
	fmt_repl_sort(x);
	sb_add(&x->out, x->buf, skip);
	x->root = t.root;
	if (t.root->kind == YN_MAP && !t.root->flow && t.root->line >= 1)
		fmt_emit_map(x, t.root, fmt_file_kind(kind), 1, x->nl + 1, false);
	else
		fmt_emit_lines(x, 1, x->nl + 1);
	if (x->emitted != x->nl || x->out.overflow)
		why = "its lines could not be placed";
out:
	ytree_release(&t);
	return why;
}

static void fmt_keep(struct fmt_result *r, const char *buf, size_t len, const char *why)
{
	free(r->text);
	r->text = xstrndup(buf, len);
	r->len = len;
	r->changed = false;
	r->kept = why;
}

int fmt_buffer(enum load_kind kind, const char *file, const char *buf, size_t len,
	       struct fmt_result *r, struct diag_list *d)
{
	struct fmt_ctx x;
	struct sb in;
	struct diag_list scratch;
	memset(r, 0, sizeof(*r));
	if (fmt_loads(kind, file, buf, len, d) < 0)
		return CF_EINVAL;
	memset(&x, 0, sizeof(x));
	sb_init(&x.out, 0);
	sb_init(&in, 0);
	diag_init(&scratch);
	/* a last line without its '\n' could not be moved: the canonical file ends in one */
	sb_add(&in, buf, len);
	if (len && buf[len - 1] != '\n')
		sb_addc(&in, '\n');
	x.buf = in.buf;
	x.len = in.len;
	size_t skip = len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	const char *why = !fmt_plain_breaks(buf, len) ? "it has line breaks other than LF and CRLF"
			  : in.overflow		      ? "it is too large"
						      : fmt_rewrite(&x, kind, skip, &scratch);
	if (!why && (x.out.len != len || memcmp(x.out.buf, buf, len) != 0))
		why = fmt_prove(kind, file, buf, len, &x.out);
	if (why) {
		fmt_keep(r, buf, len, why);
	} else {
		r->len = x.out.len;
		r->text = sb_detach(&x.out);
		r->changed = r->len != len || memcmp(r->text, buf, len) != 0;
	}
	sb_release(&x.out);
	sb_release(&in);
	diag_release(&scratch);
	free(x.ls);
	free(x.r);
	return 0;
}

void fmt_result_release(struct fmt_result *r)
{
	if (!r)
		return;
	free(r->text);
	memset(r, 0, sizeof(*r));
}
