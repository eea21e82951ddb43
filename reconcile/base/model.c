#include "reconcile/base/compat.h"
#include "reconcile/base/model.h"
#include "reconcile/base/xmem.h"

#include <ctype.h>

#define MODEL_DEFAULT_MAX_CHANGE_PCT 30
#define MODEL_DEFAULT_MIN_RULES	     5
#define MODEL_ARENA_CHUNK	     65536		     /* bytes per arena chunk */
#define MODEL_ARENA_BIG		     (MODEL_ARENA_CHUNK / 4) /* larger requests get their own */

static const char *const provider_names[PROV__COUNT] = {
    [PROV_AZURE_CHINA] = "azure-china",
    [PROV_AZURE] = "azure",
    [PROV_CDNPRO] = "cdnpro",
    [PROV_AZURE_FRONTDOOR] = "azure-frontdoor",
};

const char *provider_name(enum provider_kind p)
{
	return (unsigned)p < PROV__COUNT ? provider_names[p] : "?";
}

int provider_parse(const char *name, enum provider_kind *out)
{
	for (int i = 0; i < PROV__COUNT; i++) {
		if (strcmp(name, provider_names[i]) == 0) {
			*out = (enum provider_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *rule_kind_name(enum rule_kind k)
{
	switch (k) {
	case RULE_DIR:
		return "dir";
	case RULE_SUFFIX:
		return "suffix";
	case RULE_PATH:
		return "path";
	}
	return "?";
}

const char *endpoint_mode_name(enum endpoint_mode m)
{
	switch (m) {
	case MODE_MANAGE:
		return "manage";
	case MODE_OBSERVE:
		return "observe";
	case MODE_PURGE_ONLY:
		return "purge-only";
	}
	return "?";
}

/* ---- the config's arena: bump allocation, freed at once by config_free ---- */

/*
 * A chunk is filled from both ends: aligned blocks (list arrays) from the bottom, strings
 * (alignment 1) from the top. A list's array and its strings alternate, so from one end each
 * array would start after a string of any length and lose up to 15 bytes to alignment: about
 * 45 bytes per endpoint of a fleet, 4.5 MB at 100,000 endpoints. Free space is [used, top).
 */
struct model_chunk {
	struct model_chunk *next;
	size_t used, top, cap;
	max_align_t data[];
};

struct model_arena {
	struct model_chunk *head; /* the chunk being filled; big blocks are linked behind it */
	size_t held;		  /* bytes of all chunks, for config_arena_held */
};

static struct model_chunk *model_chunk_new(struct model_arena *a, size_t cap)
{
	struct model_chunk *k = xmalloc(sizeof(*k) + cap);
	k->next = NULL;
	k->used = 0;
	k->top = k->cap = cap;
	a->held += cap;
	return k;
}

/*
 * Returns n bytes aligned to align (a power of two, at most that of max_align_t). Strings ask
 * for alignment 1, so millions of short items cost their length, not a malloc chunk each.
 */
static void *model_arena_alloc(struct config *c, size_t n, size_t align)
{
	if (!c->arena)
		c->arena = xcalloc(1, sizeof(*c->arena));
	struct model_arena *a = c->arena;
	if (n > MODEL_ARENA_BIG) {
		struct model_chunk *k = model_chunk_new(a, n);
		k->used = k->top = n;
		/* Behind the head, so the head's free space is not given up. */
		k->next = a->head ? a->head->next : NULL;
		if (a->head)
			a->head->next = k;
		else
			a->head = k;
		return k->data;
	}
	struct model_chunk *k = a->head;
	size_t off = k ? (k->used + align - 1) & ~(align - 1) : 0;
	bool fits = k && (align == 1 ? k->top - k->used >= n : off <= k->top && k->top - off >= n);
	if (!fits) {
		k = model_chunk_new(a, MODEL_ARENA_CHUNK);
		k->next = a->head;
		a->head = k;
		off = 0;
	}
	if (align == 1) {
		k->top -= n;
		return (char *)k->data + k->top;
	}
	k->used = off + n;
	return (char *)k->data + off;
}

size_t config_arena_held(const struct config *c)
{
	return c->arena ? c->arena->held : 0;
}

static void model_arena_free(struct model_arena *a)
{
	if (!a)
		return;
	for (struct model_chunk *k = a->head, *next; k; k = next) {
		next = k->next;
		free(k);
	}
	free(a);
}

char *config_strndup(struct config *c, const char *s, size_t len)
{
	if (len == SIZE_MAX)
		return xstrndup(s, len); /* dies with the size asked for */
	char *p = model_arena_alloc(c, len + 1, 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *config_alloc(struct config *c, size_t n, size_t esz)
{
	if (esz && n > SIZE_MAX / esz)
		return xcalloc(n, esz); /* dies with the size asked for */
	/* The largest power of two dividing esz is enough for any element of that size. */
	size_t align = esz & (~esz + 1);
	if (align == 0 || align > _Alignof(max_align_t))
		align = _Alignof(max_align_t);
	void *p = model_arena_alloc(c, n * esz, align);
	memset(p, 0, n * esz);
	return p;
}

struct config *config_new(void)
{
	struct config *c = xcalloc(1, sizeof(*c));
	c->safety.max_change_pct = MODEL_DEFAULT_MAX_CHANGE_PCT;
	c->safety.min_rules = MODEL_DEFAULT_MIN_RULES;
	return c;
}

void sval_set(struct sval *v, const char *s, const struct pos *pos)
{
	free(v->s);
	v->s = xstrdup(s);
	if (pos)
		v->pos = *pos;
}

void mval_release(struct mval *m)
{
	free(m->text);
	memset(m, 0, sizeof(*m));
}

bool svec_borrowed(const struct svec *v)
{
	return v->cap == 0 && v->v != NULL;
}

/* Copies a borrowed v's array and strings to the heap, so that v can grow and be freed. */
static void svec_own(struct svec *v)
{
	if (!svec_borrowed(v))
		return;
	struct sval *arena_v = v->v;
	v->v = xcalloc(v->n ? v->n : 1, sizeof(*v->v));
	v->cap = v->n ? v->n : 1;
	for (size_t i = 0; i < v->n; i++) {
		v->v[i].s = xstrdup(arena_v[i].s);
		v->v[i].pos = arena_v[i].pos;
	}
}

void svec_push(struct svec *v, const char *s, const struct pos *pos)
{
	svec_own(v);
	xgrow(&v->v, &v->cap, v->n + 1, sizeof(*v->v));
	v->v[v->n].s = xstrdup(s);
	if (pos)
		v->v[v->n].pos = *pos;
	else
		memset(&v->v[v->n].pos, 0, sizeof(struct pos));
	v->n++;
}

void svec_reserve(struct svec *v, size_t n)
{
	svec_own(v);
	if (n <= v->cap)
		return;
	v->v = xreallocarray(v->v, n, sizeof(*v->v));
	v->cap = n;
}

void svec_release(struct svec *v)
{
	if (svec_borrowed(v)) {
		memset(v, 0, sizeof(*v));
		return;
	}
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i].s);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

bool svec_contains(const struct svec *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].s && strcmp(v->v[i].s, s) == 0)
			return true;
	return false;
}

struct rule *cache_add_rule(struct cache *c)
{
	xgrow(&c->rules, &c->cap, c->nrules + 1, sizeof(*c->rules));
	struct rule *r = &c->rules[c->nrules++];
	memset(r, 0, sizeof(*r));
	return r;
}

/* Whether s lies in c's pack (cache_pack): freed with it, never on its own. */
static bool in_pack(const struct cache *c, const char *s)
{
	return c->pack && s >= c->pack && s < c->pack + c->pack_len;
}

static void rule_release(const struct cache *c, struct rule *r)
{
	svec_release(&r->items);
	if (!in_pack(c, r->name.s))
		free(r->name.s);
}

void cache_release(struct cache *c)
{
	for (size_t i = 0; i < c->nrules; i++)
		rule_release(c, &c->rules[i]);
	free(c->rules);
	free(c->pack);
	memset(c, 0, sizeof(*c));
}

void cache_reserve(struct cache *c, size_t n)
{
	if (n <= c->cap)
		return;
	c->rules = xreallocarray(c->rules, n, sizeof(*c->rules));
	c->cap = n;
}

/* Appends n bytes of s and a NUL at *at in the pack; returns where they went. */
static char *pack_str(char *pack, size_t *at, const char *s, size_t n)
{
	char *d = pack + *at;
	memcpy(d, s, n);
	d[n] = '\0';
	*at += n + 1;
	return d;
}

void cache_pack(struct cache *dst, const struct cache *src)
{
	/* the same fields as cache_copy: the positions of the block stay unset */
	memset(dst, 0, sizeof(*dst));
	dst->ignore_cache_control = src->ignore_cache_control;
	dst->ignore_cookie = src->ignore_cookie;
	dst->ignore_query_string = src->ignore_query_string;
	if (!src->nrules)
		return;
	/* item arrays first (aligned as the block is), then the strings */
	size_t arrays = 0, strings = 0;
	for (size_t i = 0; i < src->nrules; i++) {
		const struct rule *s = &src->rules[i];
		arrays += s->items.n;
		strings += s->name.s ? strlen(s->name.s) + 1 : 0;
		for (size_t j = 0; j < s->items.n; j++)
			strings += strlen(s->items.v[j].s) + 1;
	}
	size_t len = arrays * sizeof(struct sval) + strings;
	char *pack = xmalloc(len);
	struct sval *sv = (struct sval *)(void *)pack;
	size_t at = arrays * sizeof(struct sval);
	dst->rules = xcalloc(src->nrules, sizeof(*dst->rules));
	dst->cap = dst->nrules = src->nrules;
	dst->pack = pack;
	dst->pack_len = len;
	for (size_t i = 0; i < src->nrules; i++) {
		const struct rule *s = &src->rules[i];
		struct rule *d = &dst->rules[i];
		*d = *s;
		d->name.s = s->name.s ? pack_str(pack, &at, s->name.s, strlen(s->name.s)) : NULL;
		/* borrowed (cap 0, v set): svec_release forgets it, svec_push copies it first */
		d->items.v = s->items.n ? sv : NULL;
		d->items.cap = 0;
		memset(&d->items.pos, 0, sizeof(d->items.pos)); /* as cache_copy leaves it */
		for (size_t j = 0; j < s->items.n; j++, sv++) {
			sv->s = pack_str(pack, &at, s->items.v[j].s, strlen(s->items.v[j].s));
			sv->pos = s->items.v[j].pos;
		}
	}
}

void cache_copy(struct cache *dst, const struct cache *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->ignore_cache_control = src->ignore_cache_control;
	dst->ignore_cookie = src->ignore_cookie;
	dst->ignore_query_string = src->ignore_query_string;
	for (size_t i = 0; i < src->nrules; i++) {
		const struct rule *s = &src->rules[i];
		struct rule *d = cache_add_rule(dst);
		d->kind = s->kind;
		d->ttl = s->ttl;
		d->ttl_pos = s->ttl_pos;
		d->cc = s->cc;
		d->cc_pos = s->cc_pos;
		d->pos = s->pos;
		if (s->name.s)
			sval_set(&d->name, s->name.s, &s->name.pos);
		for (size_t j = 0; j < s->items.n; j++)
			svec_push(&d->items, s->items.v[j].s, &s->items.v[j].pos);
	}
}

bool rule_equal(const struct rule *a, const struct rule *b)
{
	if (a->kind != b->kind || a->ttl != b->ttl || a->items.n != b->items.n)
		return false;
	for (size_t i = 0; i < a->items.n; i++)
		if (strcmp(a->items.v[i].s, b->items.v[i].s) != 0)
			return false;
	return true;
}

bool rule_ignores_cc(const struct cache *c, const struct rule *r)
{
	return r->cc == RULE_CC_INHERIT ? c->ignore_cache_control : r->cc == RULE_CC_IGNORE;
}

void cache_fold_cc(struct cache *c)
{
	for (size_t i = 0; i < c->nrules; i++) {
		struct rule *r = &c->rules[i];
		if (r->ttl == 0 || rule_ignores_cc(c, r) == c->ignore_cache_control)
			r->cc = RULE_CC_INHERIT;
	}
}

bool cache_equal(const struct cache *a, const struct cache *b)
{
	if (a->ignore_cache_control != b->ignore_cache_control ||
	    a->ignore_cookie != b->ignore_cookie ||
	    a->ignore_query_string != b->ignore_query_string || a->nrules != b->nrules)
		return false;
	for (size_t i = 0; i < a->nrules; i++)
		if (!rule_equal(&a->rules[i], &b->rules[i]) ||
		    (a->rules[i].ttl > 0 &&
		     rule_ignores_cc(a, &a->rules[i]) != rule_ignores_cc(b, &b->rules[i])))
			return false;
	return true;
}

static void account_release(struct account *a)
{
	free(a->name.s);
	struct mval *m[] = {&a->subscription, &a->key_id,	 &a->key_value,	  &a->tenant,
			    &a->client_id,    &a->client_secret, &a->user,	  &a->api_key,
			    &a->base_url,     &a->login_url,	 &a->api_version, &a->ca_file,
			    &a->cloud,	      &a->rate_domain};
	for (size_t i = 0; i < CF_ARRAY_LEN(m); i++)
		mval_release(m[i]);
	free(a->edge.connect_to.s);
	free(a->edge.scheme.s);
}

static void endpoint_release(struct endpoint *e)
{
	if (!e->arena_strs) { /* else they are the config's arena's, see struct endpoint */
		free(e->name.s);
		free(e->account_name.s);
		free(e->remote.endpoint_id.s);
		free(e->remote.resource_group.s);
		free(e->remote.profile.s);
		free(e->remote.endpoint.s);
		free(e->scheme.s);
	}
	free(e->remote.target.s);
	free(e->remote.property_id.s);
	free(e->remote.route.s);
	free(e->remote.rule_set.s);
	svec_release(&e->hosts);
	free(e->edge.connect_to.s);
	free(e->edge.scheme.s);
	cache_release(&e->cache);
}

static void purge_release(struct purge *p)
{
	free(p->id.s);
	svec_release(&p->endpoints);
	svec_release(&p->files);
	svec_release(&p->dirs);
	svec_release(&p->patterns);
	svec_release(&p->regex);
	svec_release(&p->preload);
	svec_release(&p->header_names);
	svec_release(&p->header_values);
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->naccounts; i++)
		account_release(&c->accounts[i]);
	for (size_t i = 0; i < c->nendpoints; i++)
		endpoint_release(&c->endpoints[i]);
	for (size_t i = 0; i < c->npurges; i++)
		purge_release(&c->purges[i]);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->accounts);
	free(c->endpoints);
	free(c->purges);
	free(c->files);
	model_arena_free(c->arena);
	free(c);
}

uint32_t config_intern_file(struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i], name) == 0)
			return (uint32_t)(i + 1);
	/* An index is 32 bits; a repository is read through far smaller caps (REPO_LIST_MAX). */
	if (c->nfiles >= UINT32_MAX - 1)
		xmem_oom("the file table");
	xgrow(&c->files, &c->fcap, c->nfiles + 1, sizeof(*c->files));
	c->files[c->nfiles] = xstrdup(name);
	return (uint32_t)++c->nfiles;
}

const char *config_file_name(const struct config *c, uint32_t id)
{
	return id && id <= c->nfiles ? c->files[id - 1] : NULL;
}

const struct loc *config_loc(const struct config *c, const struct pos *p, struct loc *out)
{
	if (!p)
		return NULL;
	out->file = config_file_name(c, p->file);
	out->line = p->line;
	out->col = p->col;
	return out;
}

struct account *config_account(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->naccounts; i++)
		if (c->accounts[i].name.s && strcmp(c->accounts[i].name.s, name) == 0)
			return &c->accounts[i];
	return NULL;
}

struct endpoint *config_endpoint(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nendpoints; i++)
		if (c->endpoints[i].name.s && strcmp(c->endpoints[i].name.s, name) == 0)
			return &c->endpoints[i];
	return NULL;
}

struct purge *config_purge(const struct config *c, const char *id)
{
	for (size_t i = 0; i < c->npurges; i++)
		if (c->purges[i].id.s && strcmp(c->purges[i].id.s, id) == 0)
			return &c->purges[i];
	return NULL;
}

static int64_t duration_unit(char u)
{
	switch (u) {
	case 'w':
		return 604800;
	case 'd':
		return 86400;
	case 'h':
		return 3600;
	case 'm':
		return 60;
	case 's':
		return 1;
	}
	return 0;
}

int duration_parse(const char *s, int64_t *secs, const char **err)
{
	const char *order = "wdhms";
	int64_t total = 0;
	size_t next_unit = 0;
	if (!s || !*s)
		return *err = "empty duration", -1;
	if (*s == '-')
		return *err = "negative duration", -1;
	while (*s) {
		int64_t n = 0;
		if (!isdigit((unsigned char)*s))
			return *err = "expected a number of seconds or a duration such as 30d or "
				      "1h30m",
			       -1;
		for (; isdigit((unsigned char)*s); s++) {
			if (n > (INT64_MAX - 9) / 10)
				return *err = "duration overflows", -1;
			n = n * 10 + (*s - '0');
		}
		int64_t unit = 1;
		if (*s) {
			const char *u = strchr(order + next_unit, *s);
			if (!u || !*s)
				return *err =
					   "unknown or out-of-order duration unit (use w d h m s)",
				       -1;
			unit = duration_unit(*s);
			next_unit = (size_t)(u - order) + 1;
			s++;
		} else if (next_unit) {
			return *err = "missing unit after the last number", -1;
		}
		if (n > (MODEL_TTL_MAX - total) / unit)
			return *err = "duration overflows (at most 100 years)", -1;
		total += n * unit;
	}
	*secs = total;
	return 0;
}

void duration_format(int64_t secs, char *buf, size_t n)
{
	static const char units[] = "wdhms";
	size_t off = 0;
	if (secs <= 0) {
		snprintf(buf, n, "0");
		return;
	}
	buf[0] = '\0';
	/* Weeks only for a whole number of them: people write 30d, and "4w2d" reads badly. */
	size_t first = secs % duration_unit('w') == 0 ? 0 : 1;
	for (size_t i = first; i < sizeof(units) - 1 && off < n; i++) {
		int64_t u = duration_unit(units[i]);
		if (secs >= u) {
			int w =
			    snprintf(buf + off, n - off, "%lld%c", (long long)(secs / u), units[i]);
			if (w < 0)
				return;
			off += (size_t)w;
			secs %= u;
		}
	}
}
