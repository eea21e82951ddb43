#include "reconcile/base/compat.h"
#include "reconcile/ledger.h"

#include <stdlib.h>
#include <string.h>

#include "reconcile/codec.h"
#include "reconcile/planfile.h"
#include "reconcile/base/xmem.h"

#define LEDGER_MAX_DEPTH 16

/* Records are cacheform's own documents; every member is optional (older records lack some). */
#define LF (CODEC_FILE | CODEC_OPTIONAL)

const char *ledger_status_name(enum ledger_status s)
{
	static const char *const names[] = {"submitted", "succeeded", "failed",
					    "marked",	 "unknown",   "claimed"};
	return (size_t)s < CF_ARRAY_LEN(names) ? names[s] : "?";
}

bool ledger_status_final(enum ledger_status s)
{
	return s != LEDGER_SUBMITTED && s != LEDGER_UNKNOWN && s != LEDGER_CLAIMED;
}

static int ledger_status_parse(const char *s, enum ledger_status *out)
{
	for (int i = LEDGER_SUBMITTED; i <= LEDGER_CLAIMED; i++)
		if (strcmp(s, ledger_status_name((enum ledger_status)i)) == 0) {
			*out = (enum ledger_status)i;
			return 0;
		}
	return -1;
}

const char *ledger_task_state_name(enum ledger_task_state s)
{
	static const char *const names[] = {"running", "succeeded", "failed", "unknown"};
	return (size_t)s < CF_ARRAY_LEN(names) ? names[s] : "?";
}

static int ledger_task_state_parse(const char *s, enum ledger_task_state *out)
{
	for (int i = LTASK_RUNNING; i <= LTASK_UNKNOWN; i++)
		if (strcmp(s, ledger_task_state_name((enum ledger_task_state)i)) == 0) {
			*out = (enum ledger_task_state)i;
			return 0;
		}
	return -1;
}

/* ---- the index ---- */

/*
 * Open addressing with linear probing, at most half full. A slot's ref says where the
 * record is: an index into the ledger's array (IX_ARRAY), into the records loaded on demand
 * (IX_LAZY, each allocated once so it never moves), or into the keys known to be absent
 * (IX_MISS). ref 0 is an empty slot, so refs are stored plus one.
 */
#define IX_MIN_SLOTS  64
#define IX_KIND_SHIFT 60
#define IX_ARRAY      0ULL
#define IX_LAZY	      1ULL
#define IX_MISS	      2ULL
#define IX_POS_MASK   ((1ULL << IX_KIND_SHIFT) - 1)

struct ix_slot {
	uint64_t hash;
	uint64_t ref; /* 0: empty; else (kind << IX_KIND_SHIFT | pos) + 1 */
};

struct ix_table {
	struct ix_slot *v;
	size_t nslots, used;
};

struct ledger_ix {
	struct ix_table purges, endpoints;
	struct ledger_purge **lazy_p; /* records loaded on demand */
	size_t nlazy_p, lazy_pcap;
	struct ledger_endpoint **lazy_e;
	size_t nlazy_e, lazy_ecap;
	char **miss_p; /* "id\0endpoint" keys absent from the source */
	size_t nmiss_p, miss_pcap;
	char **miss_e;
	size_t nmiss_e, miss_ecap;
	struct ledger_source src;
	bool have_src, loaded_all;
	int64_t win_since, win_until; /* the window read last (win_until 0: none) */
	struct cf_err err;	      /* first failure of an on-demand read */
};

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static uint64_t key_hash(const char *a, const char *b)
{
	uint64_t h = fnv1a(14695981039346656037ULL, a);
	if (b)
		h = fnv1a(h * 1099511628211ULL,
			  b); /* the separator counts: ("ab","c") != ("a","bc") */
	return h;
}

static struct ledger_ix *ix_of(const struct ledger *l)
{
	return l->ix;
}

static struct ledger_ix *ix_need(struct ledger *l)
{
	if (!l->ix)
		l->ix = xcalloc(1, sizeof(*l->ix));
	return l->ix;
}

static void table_insert_raw(struct ix_table *t, uint64_t hash, uint64_t ref)
{
	size_t m = t->nslots - 1, i = (size_t)hash & m;
	while (t->v[i].ref)
		i = (i + 1) & m;
	t->v[i].hash = hash;
	t->v[i].ref = ref;
	t->used++;
}

static void table_grow(struct ix_table *t)
{
	if (t->nslots && (t->used + 1) * 2 <= t->nslots)
		return;
	struct ix_table n = {0};
	n.nslots = t->nslots ? t->nslots * 2 : IX_MIN_SLOTS;
	n.v = xcalloc(n.nslots, sizeof(*n.v));
	for (size_t i = 0; i < t->nslots; i++)
		if (t->v[i].ref)
			table_insert_raw(&n, t->v[i].hash, t->v[i].ref);
	free(t->v);
	*t = n;
}

static uint64_t make_ref(uint64_t kind, size_t pos)
{
	return ((kind << IX_KIND_SHIFT) | (uint64_t)pos) + 1;
}

static uint64_t ref_kind(uint64_t ref)
{
	return (ref - 1) >> IX_KIND_SHIFT;
}

static size_t ref_pos(uint64_t ref)
{
	return (size_t)((ref - 1) & IX_POS_MASK);
}

static struct ledger_purge *purge_at(const struct ledger *l, uint64_t ref)
{
	if (ref_kind(ref) == IX_ARRAY)
		return &l->purges[ref_pos(ref)];
	return ref_kind(ref) == IX_LAZY ? l->ix->lazy_p[ref_pos(ref)] : NULL;
}

static struct ledger_endpoint *endpoint_at(const struct ledger *l, uint64_t ref)
{
	if (ref_kind(ref) == IX_ARRAY)
		return &l->endpoints[ref_pos(ref)];
	return ref_kind(ref) == IX_LAZY ? l->ix->lazy_e[ref_pos(ref)] : NULL;
}

static bool purge_key_is(const struct ledger *l, uint64_t ref, const char *id, const char *ep)
{
	const struct ledger_purge *p = purge_at(l, ref);
	if (p)
		return strcmp(p->id, id) == 0 && strcmp(p->endpoint, ep) == 0;
	const char *k = l->ix->miss_p[ref_pos(ref)];
	return strcmp(k, id) == 0 && strcmp(k + strlen(k) + 1, ep) == 0;
}

static bool endpoint_key_is(const struct ledger *l, uint64_t ref, const char *name)
{
	const struct ledger_endpoint *x = endpoint_at(l, ref);
	return strcmp(x ? x->name : l->ix->miss_e[ref_pos(ref)], name) == 0;
}

/* The slot holding the key, or NULL. */
static struct ix_slot *purge_slot(const struct ledger *l, const char *id, const char *ep)
{
	const struct ix_table *t = l->ix ? &l->ix->purges : NULL;
	if (!t || !t->nslots)
		return NULL;
	uint64_t h = key_hash(id, ep);
	size_t m = t->nslots - 1;
	for (size_t i = (size_t)h & m; t->v[i].ref; i = (i + 1) & m)
		if (t->v[i].hash == h && purge_key_is(l, t->v[i].ref, id, ep))
			return &t->v[i];
	return NULL;
}

static struct ix_slot *endpoint_slot(const struct ledger *l, const char *name)
{
	const struct ix_table *t = l->ix ? &l->ix->endpoints : NULL;
	if (!t || !t->nslots)
		return NULL;
	uint64_t h = key_hash(name, NULL);
	size_t m = t->nslots - 1;
	for (size_t i = (size_t)h & m; t->v[i].ref; i = (i + 1) & m)
		if (t->v[i].hash == h && endpoint_key_is(l, t->v[i].ref, name))
			return &t->v[i];
	return NULL;
}

static void purge_index(struct ledger_ix *ix, const char *id, const char *ep, uint64_t ref)
{
	table_grow(&ix->purges);
	table_insert_raw(&ix->purges, key_hash(id, ep), ref);
}

static void endpoint_index(struct ledger_ix *ix, const char *name, uint64_t ref)
{
	table_grow(&ix->endpoints);
	table_insert_raw(&ix->endpoints, key_hash(name, NULL), ref);
}

void ledger_init(struct ledger *l)
{
	memset(l, 0, sizeof(*l));
}

static void ix_free(struct ledger_ix *ix)
{
	if (!ix)
		return;
	free(ix->purges.v);
	free(ix->endpoints.v);
	for (size_t i = 0; i < ix->nlazy_p; i++) {
		ledger_purge_release(ix->lazy_p[i]);
		free(ix->lazy_p[i]);
	}
	free(ix->lazy_p);
	for (size_t i = 0; i < ix->nlazy_e; i++) {
		ledger_endpoint_release(ix->lazy_e[i]);
		free(ix->lazy_e[i]);
	}
	free(ix->lazy_e);
	for (size_t i = 0; i < ix->nmiss_p; i++)
		free(ix->miss_p[i]);
	free(ix->miss_p);
	for (size_t i = 0; i < ix->nmiss_e; i++)
		free(ix->miss_e[i]);
	free(ix->miss_e);
	if (ix->have_src && ix->src.release)
		ix->src.release(ix->src.ctx);
	free(ix);
}

void ledger_purge_release(struct ledger_purge *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->endpoint);
	free(p->account);
	free(p->message);
	free(p->claim_by);
	free(p->claim_proc);
	ledger_purge_clear_tasks(p);
	memset(p, 0, sizeof(*p));
}

void ledger_purge_clear_tasks(struct ledger_purge *p)
{
	for (size_t i = 0; i < p->ntasks; i++) {
		free(p->tasks[i].id);
		free(p->tasks[i].poll_url);
	}
	free(p->tasks);
	p->tasks = NULL;
	p->ntasks = p->tcap = 0;
}

void ledger_endpoint_release(struct ledger_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->name);
	free(ep->account);
	cache_release(&ep->cache);
	memset(ep, 0, sizeof(*ep));
}

void ledger_release(struct ledger *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->npurges; i++)
		ledger_purge_release(&l->purges[i]);
	free(l->purges);
	for (size_t i = 0; i < l->nendpoints; i++)
		ledger_endpoint_release(&l->endpoints[i]);
	free(l->endpoints);
	ix_free(l->ix);
	memset(l, 0, sizeof(*l));
}

void ledger_purge_add_task(struct ledger_purge *p, const char *id, const char *poll_url,
			   bool preload)
{
	xgrow(&p->tasks, &p->tcap, p->ntasks + 1, sizeof(*p->tasks));
	struct ledger_task *t = &p->tasks[p->ntasks++];
	t->id = xstrdup(id ? id : "");
	t->poll_url = xstrdup(poll_url);
	t->preload = preload;
	t->batch = -1;
	t->state = LTASK_RUNNING;
}

void ledger_purge_push_task(struct ledger_purge *p, const struct ledger_task *t)
{
	ledger_purge_add_task(p, t->id, t->poll_url, t->preload);
	p->tasks[p->ntasks - 1].batch = t->batch;
	p->tasks[p->ntasks - 1].state = t->state;
}

void ledger_purge_copy(struct ledger_purge *dst, const struct ledger_purge *src)
{
	*dst = *src;
	dst->id = xstrdup(src->id);
	dst->endpoint = xstrdup(src->endpoint);
	dst->account = xstrdup(src->account);
	dst->message = xstrdup(src->message);
	dst->claim_by = xstrdup(src->claim_by);
	dst->claim_proc = xstrdup(src->claim_proc);
	dst->tasks = NULL;
	dst->ntasks = dst->tcap = 0;
	for (size_t i = 0; i < src->ntasks; i++)
		ledger_purge_push_task(dst, &src->tasks[i]);
}

void ledger_endpoint_copy(struct ledger_endpoint *dst, const struct ledger_endpoint *src)
{
	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->account = xstrdup(src->account);
	cache_copy(&dst->cache, &src->cache);
}

static bool source_usable(const struct ledger_ix *ix)
{
	return ix && ix->have_src && !ix->loaded_all && ix->err.rc == 0;
}

static char *miss_key(const char *id, const char *ep)
{
	size_t a = strlen(id) + 1, b = strlen(ep) + 1;
	char *k = xmalloc(a + b);
	memcpy(k, id, a);
	memcpy(k + a, ep, b);
	return k;
}

/* Reads (id, endpoint) from the source into the index: the record, or a remembered miss. */
static struct ledger_purge *purge_fetch(struct ledger_ix *ix, const char *id, const char *ep)
{
	struct ledger_purge got;
	int r = ix->src.purge(ix->src.ctx, id, ep, &got, &ix->err);
	if (r < 0) {
		if (!ix->err.rc)
			ix->err.rc = r;
		return NULL;
	}
	if (r == 0) {
		xgrow(&ix->miss_p, &ix->miss_pcap, ix->nmiss_p + 1, sizeof(*ix->miss_p));
		ix->miss_p[ix->nmiss_p] = miss_key(id, ep);
		purge_index(ix, id, ep, make_ref(IX_MISS, ix->nmiss_p++));
		return NULL;
	}
	struct ledger_purge *p = xmalloc(sizeof(*p));
	*p = got;
	xgrow(&ix->lazy_p, &ix->lazy_pcap, ix->nlazy_p + 1, sizeof(*ix->lazy_p));
	ix->lazy_p[ix->nlazy_p] = p;
	purge_index(ix, p->id, p->endpoint, make_ref(IX_LAZY, ix->nlazy_p++));
	return p;
}

static struct ledger_endpoint *endpoint_fetch(struct ledger_ix *ix, const char *name)
{
	struct ledger_endpoint got;
	int r = ix->src.endpoint(ix->src.ctx, name, &got, &ix->err);
	if (r < 0) {
		if (!ix->err.rc)
			ix->err.rc = r;
		return NULL;
	}
	if (r == 0) {
		xgrow(&ix->miss_e, &ix->miss_ecap, ix->nmiss_e + 1, sizeof(*ix->miss_e));
		ix->miss_e[ix->nmiss_e] = xstrdup(name);
		endpoint_index(ix, name, make_ref(IX_MISS, ix->nmiss_e++));
		return NULL;
	}
	struct ledger_endpoint *x = xmalloc(sizeof(*x));
	*x = got;
	xgrow(&ix->lazy_e, &ix->lazy_ecap, ix->nlazy_e + 1, sizeof(*ix->lazy_e));
	ix->lazy_e[ix->nlazy_e] = x;
	endpoint_index(ix, x->name, make_ref(IX_LAZY, ix->nlazy_e++));
	return x;
}

struct ledger_purge *ledger_find_purge(const struct ledger *l, const char *id, const char *endpoint)
{
	const struct ix_slot *s = purge_slot(l, id, endpoint);
	if (s)
		return purge_at(l, s->ref);
	return source_usable(ix_of(l)) ? purge_fetch(ix_of(l), id, endpoint) : NULL;
}

struct ledger_endpoint *ledger_find_endpoint(const struct ledger *l, const char *name)
{
	const struct ix_slot *s = endpoint_slot(l, name);
	if (s)
		return endpoint_at(l, s->ref);
	return source_usable(ix_of(l)) ? endpoint_fetch(ix_of(l), name) : NULL;
}

bool ledger_endpoint_current(const struct ledger_endpoint *old, const char *digest,
			     const char *account, const struct cache *cache)
{
	return old && strcmp(old->digest, digest) == 0 &&
	       strcmp(old->account ? old->account : "", account ? account : "") == 0 &&
	       cache_equal(&old->cache, cache);
}

void ledger_adopt_purge(struct ledger *l, struct ledger_purge *p)
{
	struct ix_slot *s = purge_slot(l, p->id, p->endpoint);
	struct ledger_purge *old = s ? purge_at(l, s->ref) : NULL;
	if (old) {
		ledger_purge_release(old);
		*old = *p;
	} else {
		xgrow(&l->purges, &l->pcap, l->npurges + 1, sizeof(*l->purges));
		l->purges[l->npurges] = *p;
		if (s) /* a remembered miss: the key now has a record */
			s->ref = make_ref(IX_ARRAY, l->npurges);
		else
			purge_index(ix_need(l), p->id, p->endpoint, make_ref(IX_ARRAY, l->npurges));
		l->npurges++;
	}
	memset(p, 0, sizeof(*p));
}

void ledger_adopt_endpoint(struct ledger *l, struct ledger_endpoint *ep)
{
	struct ix_slot *s = endpoint_slot(l, ep->name);
	struct ledger_endpoint *old = s ? endpoint_at(l, s->ref) : NULL;
	if (old) {
		ledger_endpoint_release(old);
		*old = *ep;
	} else {
		xgrow(&l->endpoints, &l->ecap, l->nendpoints + 1, sizeof(*l->endpoints));
		l->endpoints[l->nendpoints] = *ep;
		if (s)
			s->ref = make_ref(IX_ARRAY, l->nendpoints);
		else
			endpoint_index(ix_need(l), ep->name, make_ref(IX_ARRAY, l->nendpoints));
		l->nendpoints++;
	}
	memset(ep, 0, sizeof(*ep));
}

void ledger_put_purge(struct ledger *l, const struct ledger_purge *p)
{
	struct ledger_purge copy;
	ledger_purge_copy(&copy, p);
	ledger_adopt_purge(l, &copy);
}

void ledger_put_endpoint(struct ledger *l, const struct ledger_endpoint *ep)
{
	struct ledger_endpoint copy;
	ledger_endpoint_copy(&copy, ep);
	ledger_adopt_endpoint(l, &copy);
}

void ledger_set_source(struct ledger *l, const struct ledger_source *src)
{
	struct ledger_ix *ix = ix_need(l);
	if (ix->have_src && ix->src.release)
		ix->src.release(ix->src.ctx);
	ix->src = *src;
	ix->have_src = true;
	ix->loaded_all = false;
	err_clear(&ix->err);
}

/*
 * A record already loaded on demand is replaced in place (it stays where borrowed pointers
 * point); every other one goes to the arrays. The remembered misses stay valid: the source
 * is one snapshot, so a key absent then is absent from the full read too.
 */
int ledger_load_all(struct ledger *l, struct cf_err *e)
{
	struct ledger_ix *ix = ix_need(l);
	if (!ix->have_src || ix->loaded_all)
		return 0;
	if (ix->err.rc) {
		if (e)
			*e = ix->err;
		return ix->err.rc;
	}
	int rc = ix->src.all(ix->src.ctx, l, e);
	if (rc < 0)
		return rc;
	ix->loaded_all = true;
	return 0;
}

int ledger_source_error(const struct ledger *l, struct cf_err *e)
{
	const struct ledger_ix *ix = ix_of(l);
	if (!ix || !ix->err.rc)
		return 0;
	if (e)
		*e = ix->err;
	return ix->err.rc;
}

/* a + b for a, b >= 0, stopping at INT64_MAX: counts come from records other pipelines push,
 * and an absurd one must read as "quota spent", not overflow. */
static int64_t add_saturating(int64_t a, int64_t b)
{
	return b > INT64_MAX - a ? INT64_MAX : a + b;
}

int ledger_usage(struct ledger *l, const char *account, int64_t since, int64_t until,
		 int64_t *files, int64_t *dirs, struct cf_err *e)
{
	*files = *dirs = 0;
	struct ledger_ix *ix = l->ix;
	int rc = 0;
	if (ix && ix->have_src && !ix->loaded_all && ix->src.window && ix->err.rc == 0) {
		if (ix->win_until == 0 || ix->win_since != since || ix->win_until != until)
			rc = ix->src.window(ix->src.ctx, since, until, l, e);
		if (rc == 0) {
			ix->win_since = since;
			ix->win_until = until;
		}
	} else {
		rc = ledger_load_all(l, e);
	}
	if (rc < 0)
		return rc;
	size_t nlazy = l->ix ? l->ix->nlazy_p : 0;
	for (size_t i = 0; i < l->npurges + nlazy; i++) {
		const struct ledger_purge *p =
		    i < l->npurges ? &l->purges[i] : l->ix->lazy_p[i - l->npurges];
		if (!p->account || strcmp(p->account, account) != 0 || p->status == LEDGER_MARKED)
			continue;
		if (p->submitted_at < since || p->submitted_at >= until)
			continue;
		*files = add_saturating(*files, p->files);
		*dirs = add_saturating(*dirs, p->dirs);
	}
	return 0;
}

void ledger_path_component(const char *s, struct sb *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '_' || c == '-' || (c == '.' && i > 0);
		if (keep) {
			sb_addc(out, (char)c);
		} else {
			sb_addc(out, '%');
			sb_addc(out, hex[c >> 4]);
			sb_addc(out, hex[c & 15]);
		}
	}
}

/* ---- codec ---- */

static struct json_object *jtime(int64_t t)
{
	if (!t)
		return NULL;
	char buf[32];
	planfile_time_format(t, buf, sizeof(buf));
	return codec_new_str(buf);
}

static int emit(struct json_object *o, struct sb *out)
{
	int rc = codec_write(out, o, CODEC_PRETTY) < 0 || sb_addc(out, '\n') < 0 ? -1 : 0;
	codec_put(o);
	return rc;
}

/* One purge record as a JSON object; a summary entry (ledger compact) keeps no tasks. */
static struct json_object *purge_obj(const struct ledger_purge *p, bool summary)
{
	struct json_object *o = codec_new_obj();
	codec_add(o, "format_version", codec_new_int(LEDGER_FORMAT_VERSION));
	codec_add(o, "purge", codec_new_str(p->id));
	codec_add(o, "endpoint", codec_new_str(p->endpoint));
	codec_add(o, "account", codec_new_str(p->account));
	codec_add(o, "content_hash", codec_new_str(p->content_hash));
	codec_add(o, "status", codec_new_str(ledger_status_name(p->status)));
	if (summary) {
		codec_add(o, "files", codec_new_int(p->files));
		codec_add(o, "dirs", codec_new_int(p->dirs));
		codec_add(o, "submitted_at", jtime(p->submitted_at));
		codec_add(o, "finished_at", jtime(p->finished_at));
		return o;
	}
	struct json_object *tasks = codec_new_arr();
	for (size_t i = 0; i < p->ntasks; i++) {
		struct json_object *t = codec_new_obj();
		codec_add(t, "id", codec_new_str(p->tasks[i].id));
		codec_add(t, "poll_url", codec_new_str(p->tasks[i].poll_url));
		codec_add(t, "preload", codec_new_bool(p->tasks[i].preload));
		if (p->tasks[i].batch >= 0)
			codec_add(t, "batch", codec_new_int(p->tasks[i].batch));
		codec_add(t, "state", codec_new_str(ledger_task_state_name(p->tasks[i].state)));
		codec_push(tasks, t);
	}
	codec_add(o, "tasks", tasks);
	codec_add(o, "batches", codec_new_int((int64_t)p->batches));
	codec_add(o, "files", codec_new_int(p->files));
	codec_add(o, "dirs", codec_new_int(p->dirs));
	codec_add(o, "submitted_at", jtime(p->submitted_at));
	codec_add(o, "finished_at", jtime(p->finished_at));
	codec_add(o, "desired_commit", p->commit[0] ? codec_new_str(p->commit) : NULL);
	codec_add(o, "message", codec_new_str(p->message));
	if (p->claim_by) {
		codec_add(o, "claim_by", codec_new_str(p->claim_by));
		if (p->claim_proc && p->claim_proc[0])
			codec_add(o, "claim_proc", codec_new_str(p->claim_proc));
		codec_add(o, "claimed_at", jtime(p->claimed_at));
		codec_add(o, "claims", codec_new_int(p->claims));
	}
	return o;
}

int ledger_purge_encode(const struct ledger_purge *p, struct sb *out)
{
	return emit(purge_obj(p, false), out);
}

int ledger_summary_encode(const struct ledger_purge *recs, size_t n, int64_t compacted_at,
			  struct sb *out)
{
	struct json_object *o = codec_new_obj(), *a = codec_new_arr();
	codec_add(o, "format_version", codec_new_int(LEDGER_FORMAT_VERSION));
	codec_add(o, "purge", codec_new_str(n ? recs[0].id : ""));
	codec_add(o, "compacted_at", jtime(compacted_at));
	for (size_t i = 0; i < n; i++)
		codec_push(a, purge_obj(&recs[i], true));
	codec_add(o, "records", a);
	return emit(o, out);
}

int ledger_endpoint_encode(const struct ledger_endpoint *ep, struct sb *out)
{
	struct json_object *o = codec_new_obj();
	codec_add(o, "format_version", codec_new_int(LEDGER_FORMAT_VERSION));
	codec_add(o, "endpoint", codec_new_str(ep->name));
	codec_add(o, "account", codec_new_str(ep->account));
	codec_add(o, "desired_commit", ep->commit[0] ? codec_new_str(ep->commit) : NULL);
	codec_add(o, "live_digest", codec_new_str(ep->digest));
	codec_add(o, "applied_at", jtime(ep->applied_at));
	codec_add(o, "rules_applied", codec_new_int((int64_t)ep->cache.nrules));
	codec_add(o, "cache", planfile_cache_to_json(&ep->cache));
	if (ep->staging)
		codec_add(o, "target", codec_new_str("staging"));
	if (ep->version > 0)
		codec_add(o, "property_version", codec_new_int(ep->version));
	if (ep->task[0])
		codec_add(o, "deployment_task", codec_new_str(ep->task));
	if (ep->promoted_from[0])
		codec_add(o, "promoted_from_task", codec_new_str(ep->promoted_from));
	return emit(o, out);
}

static struct json_object *parse(const char *json, size_t len, struct cf_err *e)
{
	if (len > LEDGER_RECORD_MAX) {
		err_set(e, CF_ELIMIT, "ledger record larger than %zu bytes", LEDGER_RECORD_MAX);
		return NULL;
	}
	const char *why;
	size_t at;
	struct json_object *o = codec_parse_doc(json, len, LEDGER_MAX_DEPTH, &why, &at);
	if (!o || codec_type_of(o) != CODEC_OBJECT) {
		err_set(e, CF_EINVAL, "ledger record is not a JSON object%s%s", why ? ": " : "",
			why ? why : "");
		codec_put(o);
		o = NULL;
	}
	return o;
}

/* Optional string member, copied (NULL when absent or null). */
static int opt_str(struct json_object *o, const char *at, const char *k, char **dst,
		   struct cf_err *e)
{
	const char *s;
	*dst = NULL;
	if (codec_str(o, at, k, LF, &s, e) < 0)
		return CF_EINVAL;
	*dst = s ? xstrdup(s) : NULL;
	return 0;
}

static int opt_fixed(struct json_object *o, const char *k, char *dst, size_t n, struct cf_err *e)
{
	const char *s;
	dst[0] = 0;
	if (codec_str(o, "", k, LF, &s, e) < 0)
		return CF_EINVAL;
	if (s && strlen(s) >= n)
		return codec_err(e, CODEC_FILE, k, "too long");
	if (s)
		memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int opt_int(struct json_object *o, const char *k, int64_t *dst, struct cf_err *e)
{
	*dst = 0;
	return codec_int(o, "", k, LF, 0, INT64_MAX, dst, NULL, e);
}

/*
 * A record written by a newer cacheform (another format_version) is refused rather than read
 * with this version's meaning; a record without one predates the field.
 */
static int check_format(struct json_object *o, struct cf_err *e)
{
	int64_t v;
	if (opt_int(o, "format_version", &v, e) < 0)
		return CF_EINVAL;
	if (v != 0 && v != LEDGER_FORMAT_VERSION)
		return err_set(e, CF_EINVAL,
			       "ledger record has format_version %lld; this cacheform reads %d "
			       "(upgrade cacheform)",
			       (long long)v, LEDGER_FORMAT_VERSION);
	return 0;
}

static int opt_time(struct json_object *o, const char *k, int64_t *dst, struct cf_err *e)
{
	char buf[40];
	*dst = 0;
	if (opt_fixed(o, k, buf, sizeof(buf), e) < 0)
		return CF_EINVAL;
	if (buf[0] && planfile_time_parse(buf, dst) < 0)
		return codec_err(e, CODEC_FILE, k, "not a UTC time");
	return 0;
}

/* One task of "tasks": an id, and batch and state when present (older records lack them). */
static int task_from_json(struct json_object *t, const char *at, struct ledger_task *lt,
			  struct cf_err *e)
{
	const char *state = NULL;
	int64_t batch = -1;
	lt->state = LTASK_RUNNING;
	if (codec_is(t, at, CODEC_OBJECT, CODEC_FILE, e) < 0 ||
	    opt_str(t, at, "id", &lt->id, e) < 0 ||
	    opt_str(t, at, "poll_url", &lt->poll_url, e) < 0 ||
	    codec_bool(t, at, "preload", LF, &lt->preload, NULL, e) < 0 ||
	    codec_int(t, at, "batch", LF, 0, LEDGER_MAX_TASKS - 1, &batch, NULL, e) < 0 ||
	    codec_str(t, at, "state", LF, &state, e) < 0)
		return CF_EINVAL;
	struct codec_path p;
	if (state && ledger_task_state_parse(state, &lt->state) < 0)
		return codec_err(e, CODEC_FILE, codec_path_key(&p, at, "state"),
				 "not a known state");
	if (!lt->id)
		return codec_err(e, CODEC_FILE, codec_path_key(&p, at, "id"), "missing");
	lt->batch = batch;
	return 0;
}

/* A record has "tasks"; a summary entry has none. */
static int purge_tasks(struct json_object *o, struct ledger_purge *p, bool summary,
		       struct cf_err *e)
{
	struct json_object *a;
	size_t n;
	if (codec_arr(o, "", "tasks", summary ? LF : CODEC_FILE, &a, &n, e) < 0)
		return CF_EINVAL;
	if (n > LEDGER_MAX_TASKS)
		return err_set(e, CF_ELIMIT, "ledger record has too many tasks");
	for (size_t i = 0; i < n; i++) {
		struct ledger_task lt = {0};
		struct codec_path at;
		int rc = task_from_json(codec_at(a, i), codec_path_idx(&at, "tasks", i), &lt, e);
		if (rc == 0)
			ledger_purge_push_task(p, &lt);
		free(lt.id);
		free(lt.poll_url);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Fills *out (zeroed here) from one record object; released on failure. */
static int purge_from_obj(struct json_object *o, struct ledger_purge *out, bool summary,
			  struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	char status[16];
	int64_t batches = 0;
	int rc = CF_EINVAL;
	if (check_format(o, e) < 0 || opt_str(o, "", "purge", &out->id, e) < 0 ||
	    opt_str(o, "", "endpoint", &out->endpoint, e) < 0 ||
	    opt_str(o, "", "account", &out->account, e) < 0 ||
	    opt_fixed(o, "content_hash", out->content_hash, sizeof(out->content_hash), e) < 0 ||
	    opt_fixed(o, "status", status, sizeof(status), e) < 0 ||
	    purge_tasks(o, out, summary, e) < 0 || opt_int(o, "batches", &batches, e) < 0 ||
	    opt_int(o, "files", &out->files, e) < 0 || opt_int(o, "dirs", &out->dirs, e) < 0 ||
	    opt_time(o, "submitted_at", &out->submitted_at, e) < 0 ||
	    opt_time(o, "finished_at", &out->finished_at, e) < 0 ||
	    opt_fixed(o, "desired_commit", out->commit, sizeof(out->commit), e) < 0 ||
	    opt_str(o, "", "message", &out->message, e) < 0 ||
	    opt_str(o, "", "claim_by", &out->claim_by, e) < 0 ||
	    opt_str(o, "", "claim_proc", &out->claim_proc, e) < 0 ||
	    opt_time(o, "claimed_at", &out->claimed_at, e) < 0 ||
	    opt_int(o, "claims", &out->claims, e) < 0)
		goto out;
	if (!out->id || !out->endpoint || ledger_status_parse(status, &out->status) < 0) {
		err_set(e, CF_EINVAL, "ledger record lacks purge, endpoint or a known status");
		goto out;
	}
	out->batches = (size_t)batches;
	rc = 0;
out:
	if (rc < 0)
		ledger_purge_release(out);
	return rc;
}

int ledger_purge_decode(const char *json, size_t len, struct ledger_purge *out, struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	struct json_object *o = parse(json, len, e);
	if (!o)
		return CF_EINVAL;
	int rc = purge_from_obj(o, out, false, e);
	codec_put(o);
	return rc;
}

int ledger_summary_decode(const char *json, size_t len, struct ledger_purge **recs, size_t *n,
			  struct cf_err *e)
{
	struct json_object *o = parse(json, len, e), *a;
	size_t na = 0, cap = 0;
	const char *id = NULL;
	int rc = CF_EINVAL;
	*recs = NULL;
	*n = 0;
	if (!o)
		return CF_EINVAL;
	if (check_format(o, e) < 0 || codec_str(o, "", "purge", CODEC_FILE, &id, e) < 0 ||
	    codec_arr(o, "", "records", CODEC_FILE, &a, &na, e) < 0)
		goto out;
	for (size_t i = 0; i < na; i++) {
		struct ledger_purge p;
		if (purge_from_obj(codec_at(a, i), &p, true, e) < 0)
			goto out;
		/* a summary keeps only final records of its own manifest */
		if (strcmp(p.id, id) != 0 || !ledger_status_final(p.status)) {
			ledger_purge_release(&p);
			err_set(e, CF_EINVAL, "ledger summary of '%s' holds a record it cannot",
				id);
			goto out;
		}
		p.message = xstrdup(LEDGER_COMPACTED_MESSAGE);
		p.compacted = true;
		xgrow(recs, &cap, *n + 1, sizeof(**recs));
		(*recs)[(*n)++] = p;
	}
	rc = 0;
out:
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			ledger_purge_release(&(*recs)[i]);
		free(*recs);
		*recs = NULL;
		*n = 0;
	}
	codec_put(o);
	return rc;
}

int ledger_endpoint_decode(const char *json, size_t len, struct ledger_endpoint *out,
			   struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	struct json_object *o = parse(json, len, e), *cache;
	char target[16];
	if (!o)
		return CF_EINVAL;
	int rc = CF_EINVAL;
	if (check_format(o, e) < 0 || opt_str(o, "", "endpoint", &out->name, e) < 0 ||
	    opt_str(o, "", "account", &out->account, e) < 0 ||
	    opt_fixed(o, "desired_commit", out->commit, sizeof(out->commit), e) < 0 ||
	    opt_fixed(o, "live_digest", out->digest, sizeof(out->digest), e) < 0 ||
	    opt_time(o, "applied_at", &out->applied_at, e) < 0 ||
	    opt_fixed(o, "target", target, sizeof(target), e) < 0 ||
	    opt_int(o, "property_version", &out->version, e) < 0 ||
	    opt_fixed(o, "deployment_task", out->task, sizeof(out->task), e) < 0 ||
	    opt_fixed(o, "promoted_from_task", out->promoted_from, sizeof(out->promoted_from), e) <
		0)
		goto out;
	out->staging = strcmp(target, "staging") == 0;
	if (!out->name) {
		err_set(e, CF_EINVAL, "ledger endpoint record lacks 'endpoint'");
		goto out;
	}
	if (codec_obj(o, "", "cache", LF, &cache, e) < 0 ||
	    (cache && planfile_cache_from_json(cache, &out->cache, e) < 0))
		goto out;
	rc = 0;
out:
	if (rc < 0)
		ledger_endpoint_release(out);
	codec_put(o);
	return rc;
}
