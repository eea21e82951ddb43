/*
 * The three kinds of file (cacheform.yaml, endpoints/, purges/) -> struct config: their field
 * tables over schema/yread.h, and reading the repository file by file. Knows nothing of
 * libyaml; the tree of each file is freed as soon as the file is converted.
 */
#include "reconcile/base/compat.h"
#include "schema/load.h"
#include "schema/yread.h"
#include "schema/ytree.h"
#include "reconcile/base/xmem.h"

#include <errno.h>
#include <stddef.h>

#include <openssl/evp.h>

#define LOAD_MSG_MAX 1024

/* Shorthand for the field tables below (struct yread_field). */
/* clang-format off */
#define FSV(T, k, m)   { #k, F_SVAL, offsetof(T, m), NULL, false }
#define FREQ(T, k, m)  { #k, F_SVAL, offsetof(T, m), NULL, true }
#define FASV(T, k, m)  { #k, F_ASVAL, offsetof(T, m), NULL, false } /* endpoints only */
#define FAREQ(T, k, m) { #k, F_ASVAL, offsetof(T, m), NULL, true }
#define FVEC(T, k, m)  { #k, F_SVEC, offsetof(T, m), NULL, false }
#define FMV(T, k)      { #k, F_MVAL, offsetof(T, k), NULL, false }
#define FBOOL(T, k)    { #k, F_BOOL, offsetof(T, k), NULL, false }
#define FFN(k, fn)     { k, F_FN, 0, fn, false }
/* clang-format on */

/* ---- cacheform.yaml ---- */

static void load_provider(struct yread *x, const struct ynode *v, const struct yread_field *f,
			  void *obj)
{
	static const char *const names[] = {"azure-china", "azure", "cdnpro", "azure-frontdoor"};
	int i = yread_word(x, v, f->key, names, CF_ARRAY_LEN(names));
	if (i >= 0)
		(void)provider_parse(names[i], &((struct account *)obj)->provider);
}

static void load_rate_limit(struct yread *x, const struct ynode *v, const struct yread_field *f,
			    void *obj);
static void load_timeout(struct yread *x, const struct ynode *v, const struct yread_field *f,
			 void *obj)
{
	int64_t s;
	((struct account *)obj)->timeout_pos = yread_npos(x, v);
	if (yread_duration(x, v, f->key, &s) == 0)
		((struct account *)obj)->timeout_s = s;
}

/* edge: {connect_to, scheme} on an account or an endpoint; the offset says which. */
static const struct yread_field edge_fields[] = {
    FSV(struct edge_cfg, connect_to, connect_to),
    FSV(struct edge_cfg, scheme, scheme),
};

static void load_edge_at(struct yread *x, const struct ynode *v, struct edge_cfg *ec)
{
	ec->pos = yread_npos(x, v);
	(void)yread_map(x, v, "edge", edge_fields, CF_ARRAY_LEN(edge_fields), ec);
}

static void load_account_edge(struct yread *x, const struct ynode *v, const struct yread_field *f,
			      void *obj)
{
	CF_UNUSED(f);
	load_edge_at(x, v, &((struct account *)obj)->edge);
}

static const struct yread_field account_fields[] = {
    {"provider", F_FN, 0, load_provider, true},
    FMV(struct account, subscription),
    FMV(struct account, key_id),
    FMV(struct account, key_value),
    FMV(struct account, tenant),
    FMV(struct account, client_id),
    FMV(struct account, client_secret),
    FMV(struct account, user),
    FMV(struct account, api_key),
    FMV(struct account, base_url),
    FMV(struct account, login_url),
    FMV(struct account, api_version),
    FMV(struct account, ca_file),
    FMV(struct account, cloud),
    FMV(struct account, rate_domain),
    FFN("rate_limit", load_rate_limit),
    FFN("timeout", load_timeout),
    FFN("edge", load_account_edge),
};

static void load_per_minute(struct yread *x, const struct ynode *v, const struct yread_field *f,
			    void *obj)
{
	int64_t n;
	/* Ranges are schema/check.c's; here only what fits the field. */
	if (yread_int(x, v, f->key, 0, UINT32_MAX, &n) == 0)
		((struct rate_limit *)obj)->per_minute = (unsigned)n;
}

static void load_burst(struct yread *x, const struct ynode *v, const struct yread_field *f,
		       void *obj)
{
	int64_t n;
	if (yread_int(x, v, f->key, 0, UINT32_MAX, &n) == 0)
		((struct rate_limit *)obj)->burst = (unsigned)n;
}

static const struct yread_field rate_fields[] = {
    FFN("per_minute", load_per_minute),
    FFN("burst", load_burst),
};

static void load_rate_limit(struct yread *x, const struct ynode *v, const struct yread_field *f,
			    void *obj)
{
	struct rate_limit *rl = &((struct account *)obj)->rate_limit;
	CF_UNUSED(f);
	rl->pos = yread_npos(x, v);
	if (yread_map(x, v, "rate_limit", rate_fields, CF_ARRAY_LEN(rate_fields), rl) == 0)
		rl->set = true;
}

static void load_accounts(struct yread *x, const struct ynode *v, const struct yread_field *f,
			  void *obj)
{
	struct config *c = obj;
	struct ynode **keys, **vals;
	bool *dup;
	long np = yread_pairs(x, v, "accounts", &keys, &vals, &dup);
	CF_UNUSED(f);
	for (long i = 0; i < np; i++) {
		struct account a;
		struct pos kp = yread_npos(x, keys[i]);
		char what[LOAD_MSG_MAX];
		if (dup[i])
			continue;
		memset(&a, 0, sizeof(a));
		snprintf(what, sizeof(what), "account '%s'", keys[i]->s);
		a.file = x->t.file;
		sval_set(&a.name, keys[i]->s, &kp);
		a.pos = yread_npos(x, vals[i]);
		a.provider = PROV__COUNT; /* set by load_provider when the value is valid */
		(void)yread_map(x, vals[i], what, account_fields, CF_ARRAY_LEN(account_fields), &a);
		struct config *dst = c;
		/* An account without a valid provider cannot be checked or used: leave it out. */
		if (a.provider == PROV__COUNT)
			dst = config_new();
		xgrow(&dst->accounts, &dst->acap, dst->naccounts + 1, sizeof(*dst->accounts));
		dst->accounts[dst->naccounts++] = a;
		if (dst != c)
			config_free(dst);
	}
}

static void load_version(struct yread *x, const struct ynode *v, const struct yread_field *f,
			 void *obj)
{
	int64_t n;
	/* Only the type is checked here; schema/check.c says which versions exist. */
	((struct config *)obj)->version_pos = yread_npos(x, v);
	if (yread_int(x, v, f->key, 0, INT32_MAX, &n) == 0)
		((struct config *)obj)->version = n;
}

static void load_max_change(struct yread *x, const struct ynode *v, const struct yread_field *f,
			    void *obj)
{
	(void)yread_int(x, v, f->key, 0, 100, &((struct safety *)obj)->max_change_pct);
}

#define LOAD_MIN_RULES_MAX 100000

static void load_min_rules(struct yread *x, const struct ynode *v, const struct yread_field *f,
			   void *obj)
{
	(void)yread_int(x, v, f->key, 0, LOAD_MIN_RULES_MAX, &((struct safety *)obj)->min_rules);
}

static const struct yread_field safety_fields[] = {
    FFN("max_change_pct", load_max_change),
    FFN("min_rules", load_min_rules),
};

static void load_safety(struct yread *x, const struct ynode *v, const struct yread_field *f,
			void *obj)
{
	CF_UNUSED(f);
	(void)yread_map(x, v, "safety", safety_fields, CF_ARRAY_LEN(safety_fields),
			&((struct config *)obj)->safety);
}

static const struct yread_field settings_fields[] = {
    {"version", F_FN, 0, load_version, true},
    FFN("accounts", load_accounts),
    FFN("safety", load_safety),
};

/* ---- endpoints/NAME.yaml ---- */

struct rule_ctx {
	struct rule r;
	int nkinds;
};

static void load_rule_items(struct yread *x, const struct ynode *v, const struct yread_field *f,
			    void *obj)
{
	struct rule_ctx *rc = obj;
	if (rc->nkinds++) {
		YREAD_ERR(x, v, "CF116",
			  "a rule has exactly one of dir, suffix or path ('%s' is extra)", f->key);
		return;
	}
	rc->r.kind = f->key[0] == 'd' ? RULE_DIR : f->key[0] == 's' ? RULE_SUFFIX : RULE_PATH;
	yread_svec(x, v, f->key, &rc->r.items);
}

static void load_rule_ttl(struct yread *x, const struct ynode *v, const struct yread_field *f,
			  void *obj)
{
	struct rule_ctx *rc = obj;
	rc->r.ttl_pos = yread_npos(x, v);
	(void)yread_duration(x, v, f->key, &rc->r.ttl);
}

static void load_rule_cc(struct yread *x, const struct ynode *v, const struct yread_field *f,
			 void *obj)
{
	struct rule_ctx *rc = obj;
	bool b = false;
	if (yread_bool(x, v, f->key, &b) != 0)
		return;
	rc->r.cc = b ? RULE_CC_IGNORE : RULE_CC_HONOUR;
	rc->r.cc_pos = yread_npos(x, v);
}

static const struct yread_field rule_fields[] = {
    FFN("dir", load_rule_items),	FFN("suffix", load_rule_items),
    FFN("path", load_rule_items),	{"ttl", F_FN, 0, load_rule_ttl, true},
    FSV(struct rule_ctx, name, r.name), FFN("ignore_cache_control", load_rule_cc),
};

static void load_rules(struct yread *x, const struct ynode *v, const struct yread_field *f,
		       void *obj)
{
	struct cache *c = obj;
	if (v->kind != YN_SEQ) {
		YREAD_ERR(x, v, "CF112", "'%s' must be a list, not %s", f->key, yread_kind_name(v));
		return;
	}
	if (!c->rules && v->n) {
		c->rules = xcalloc(v->n, sizeof(*c->rules));
		c->cap = v->n;
	}
	for (struct yitem *it = v->head; it; it = it->next) {
		struct rule_ctx rc;
		memset(&rc, 0, sizeof(rc));
		rc.r.pos = yread_npos(x, it->node);
		int r = yread_map(x, it->node, "rule", rule_fields, CF_ARRAY_LEN(rule_fields), &rc);
		if (r == 0 && rc.nkinds == 0)
			YREAD_ERR(x, it->node, "CF116", "a rule needs one of dir, suffix or path");
		if (r < 0 || rc.nkinds == 0) {
			svec_release(&rc.r.items);
			free(rc.r.name.s);
			continue;
		}
		*cache_add_rule(c) = rc.r;
	}
}

static void load_ignore_cookie(struct yread *x, const struct ynode *v, const struct yread_field *f,
			       void *obj)
{
	struct cache *c = obj;
	c->ignore_cookie_pos = yread_npos(x, v);
	(void)yread_bool(x, v, f->key, &c->ignore_cookie);
}

static const struct yread_field cache_fields[] = {
    FBOOL(struct cache, ignore_cache_control),
    FFN("ignore_cookie", load_ignore_cookie),
    FBOOL(struct cache, ignore_query_string),
    FFN("rules", load_rules),
};

static void load_cache(struct yread *x, const struct ynode *v, const struct yread_field *f,
		       void *obj)
{
	struct endpoint *ep = obj;
	CF_UNUSED(f);
	ep->has_cache = true;
	ep->cache.pos = yread_npos(x, v);
	(void)yread_map(x, v, "cache", cache_fields, CF_ARRAY_LEN(cache_fields), &ep->cache);
}

static const struct yread_field remote_fields[] = {
    FASV(struct remote, endpoint_id, endpoint_id),
    FASV(struct remote, resource_group, resource_group),
    FASV(struct remote, profile, profile),
    FASV(struct remote, endpoint, endpoint),
    FSV(struct remote, target, target),
    FSV(struct remote, property_id, property_id),
    FSV(struct remote, route, route),
    FSV(struct remote, rule_set, rule_set),
};

static void load_remote(struct yread *x, const struct ynode *v, const struct yread_field *f,
			void *obj)
{
	CF_UNUSED(f);
	(void)yread_map(x, v, "remote", remote_fields, CF_ARRAY_LEN(remote_fields),
			&((struct endpoint *)obj)->remote);
}

static void load_mode(struct yread *x, const struct ynode *v, const struct yread_field *f,
		      void *obj)
{
	static const char *const names[] = {"manage", "observe", "purge-only"};
	int i = yread_word(x, v, f->key, names, CF_ARRAY_LEN(names));
	((struct endpoint *)obj)->mode_pos = yread_npos(x, v);
	if (i >= 0)
		((struct endpoint *)obj)->mode = i == 0	  ? MODE_MANAGE
						 : i == 1 ? MODE_OBSERVE
							  : MODE_PURGE_ONLY;
}

static void load_endpoint_edge(struct yread *x, const struct ynode *v, const struct yread_field *f,
			       void *obj)
{
	CF_UNUSED(f);
	load_edge_at(x, v, &((struct endpoint *)obj)->edge);
}

static const struct yread_field endpoint_fields[] = {
    FAREQ(struct endpoint, endpoint, name),
    FAREQ(struct endpoint, account, account_name),
    FFN("remote", load_remote),
    FVEC(struct endpoint, hosts, hosts),
    FASV(struct endpoint, scheme, scheme),
    FFN("mode", load_mode),
    FFN("cache", load_cache),
    FFN("edge", load_endpoint_edge),
};

/* ---- purges/NAME.yaml ---- */

static void load_action(struct yread *x, const struct ynode *v, const struct yread_field *f,
			void *obj)
{
	static const char *const names[] = {"invalidate", "delete"};
	int i = yread_word(x, v, f->key, names, CF_ARRAY_LEN(names));
	((struct purge *)obj)->action_pos = yread_npos(x, v);
	if (i >= 0)
		((struct purge *)obj)->action = i == 0 ? PURGE_INVALIDATE : PURGE_DELETE;
}

/* file_headers: {Name: value}; names are checked (token, case-insensitive duplicates) later */
static void load_file_headers(struct yread *x, const struct ynode *v, const struct yread_field *f,
			      void *obj)
{
	struct purge *p = obj;
	struct ynode **keys, **vals;
	bool *dup;
	long np = yread_pairs(x, v, f->key, &keys, &vals, &dup);
	p->header_names.pos = yread_npos(x, v);
	for (long i = 0; i < np; i++) {
		if (dup[i])
			continue;
		if (vals[i]->kind != YN_SCALAR) {
			YREAD_ERR(x, vals[i], "CF112", "header '%.40s' must have a string value",
				  keys[i]->s);
			continue;
		}
		struct pos kp = yread_npos(x, keys[i]), vp = yread_npos(x, vals[i]);
		svec_push(&p->header_names, keys[i]->s, &kp);
		svec_push(&p->header_values, vals[i]->s ? vals[i]->s : "", &vp);
	}
}

static const struct yread_field purge_fields[] = {
    FREQ(struct purge, purge, id),
    {"endpoints", F_SVEC, offsetof(struct purge, endpoints), NULL, true},
    FVEC(struct purge, files, files),
    FVEC(struct purge, dirs, dirs),
    FVEC(struct purge, patterns, patterns),
    FVEC(struct purge, regex, regex),
    FFN("action", load_action),
    FVEC(struct purge, preload, preload),
    FFN("file_headers", load_file_headers),
};

/* ---- files ---- */

/*
 * The manifest's hash is its ledger key. SHA-256 from OpenSSL's default provider only fails
 * when an allocation does, and an empty hash would silently break the ledger: out of memory.
 */
static void load_sha256_hex(const char *buf, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const char hex[] = "0123456789abcdef";
	if (!EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) || n != 32) {
		xmem_oom("hashing a purge manifest");
	}
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static void load_endpoint_doc(struct yread *x, const struct ynode *root)
{
	struct endpoint ep;
	memset(&ep, 0, sizeof(ep));
	ep.file = x->t.file;
	ep.pos = yread_npos(x, root);
	ep.arena_strs = true; /* the F_ASVAL fields below; a dropped endpoint's stay there too */
	if (yread_map(x, root, "endpoint file", endpoint_fields, CF_ARRAY_LEN(endpoint_fields),
		      &ep) < 0 ||
	    !ep.name.s || !ep.account_name.s) {
		/* Unnamed endpoints would only cause follow-on errors in the cross-file checks. */
		struct config *tmp = config_new();
		xgrow(&tmp->endpoints, &tmp->ecap, 1, sizeof(ep));
		tmp->endpoints[tmp->nendpoints++] = ep;
		config_free(tmp);
		return;
	}
	struct config *c = x->c;
	if (!ep.scheme.s) {
		ep.scheme.s = config_strndup(c, "https", strlen("https"));
		ep.scheme.pos = ep.pos;
	}
	xgrow(&c->endpoints, &c->ecap, c->nendpoints + 1, sizeof(*c->endpoints));
	c->endpoints[c->nendpoints++] = ep;
}

static void load_purge_doc(struct yread *x, const struct ynode *root)
{
	struct purge pg;
	memset(&pg, 0, sizeof(pg));
	pg.file = x->t.file;
	pg.pos = yread_npos(x, root);
	load_sha256_hex(x->t.buf, x->t.len, pg.content_hash);
	if (yread_map(x, root, "purge file", purge_fields, CF_ARRAY_LEN(purge_fields), &pg) < 0 ||
	    !pg.id.s) {
		struct config *tmp = config_new();
		xgrow(&tmp->purges, &tmp->pcap, 1, sizeof(pg));
		tmp->purges[tmp->npurges++] = pg;
		config_free(tmp);
		return;
	}
	struct config *c = x->c;
	xgrow(&c->purges, &c->pcap, c->npurges + 1, sizeof(*c->purges));
	c->purges[c->npurges++] = pg;
}

static void load_doc(struct yread *x, enum load_kind kind)
{
	const struct ynode *root = x->t.root;
	if (!root || ytree_is_null(root)) {
		ytree_err(&x->t, 1, 1, "CF109", "file is empty");
		return;
	}
	switch (kind) {
	case LOAD_SETTINGS:
		(void)yread_map(x, root, "cacheform.yaml", settings_fields,
				CF_ARRAY_LEN(settings_fields), x->c);
		break;
	case LOAD_ENDPOINT:
		load_endpoint_doc(x, root);
		break;
	case LOAD_PURGE:
		load_purge_doc(x, root);
		break;
	}
}

/*
 * Adds name (a heap string, which the file table takes over) to c's file table and makes it
 * x's current file. Each file is loaded once, so no lookup is needed (config_intern_file's would
 * make loading a fleet quadratic).
 */
static const char *load_intern(struct yread *x, char *name)
{
	struct config *c = x->c;
	if (c->nfiles >= UINT32_MAX - 1)
		xmem_oom("the file table");
	xgrow(&c->files, &c->fcap, c->nfiles + 1, sizeof(*c->files));
	c->files[c->nfiles] = name;
	x->file = (uint32_t)++c->nfiles;
	return c->files[c->nfiles - 1];
}

/* Parses and converts one file; its node tree is freed before the next file is read. */
static int load_one(struct yread *x, enum load_kind kind, const char *file, const char *buf,
		    size_t len)
{
	ytree_begin(&x->t, file, buf, len);
	if (len > LOAD_MAX_FILE_BYTES)
		ytree_err(&x->t, 1, 1, "CF101",
			  "file is %zu bytes, more than the limit of %zu bytes", len,
			  LOAD_MAX_FILE_BYTES);
	else if (ytree_parse(&x->t) == 0)
		load_doc(x, kind);
	int ret = x->t.nerr ? CF_EINVAL : 0;
	ytree_begin(&x->t, NULL, NULL, 0);
	return ret;
}

static void load_ctx_init(struct yread *x, struct config *c, struct diag_list *d)
{
	memset(x, 0, sizeof(*x));
	x->c = c;
	ytree_init(&x->t, d);
}

int load_buffer(struct config *c, enum load_kind kind, const char *file, const char *buf,
		size_t len, struct diag_list *d)
{
	struct yread x;
	load_ctx_init(&x, c, d);
	int ret = load_one(&x, kind, load_intern(&x, xstrdup(file)), buf, len);
	ytree_release(&x.t);
	return ret;
}

/* ---- copying an endpoint file another load read (struct load_memo) ---- */

/* The copy's config and the file index its positions move from and to. */
struct load_copy {
	struct config *c;
	uint32_t from, to;
};

static struct pos copy_pos(const struct load_copy *k, struct pos p)
{
	if (p.file == k->from)
		p.file = k->to;
	return p;
}

/* arena: the string goes in the config's arena (F_ASVAL, yread_svec), else on the heap. */
static void copy_sval(const struct load_copy *k, struct sval *dst, const struct sval *src,
		      bool arena)
{
	dst->pos = copy_pos(k, src->pos);
	dst->s = !src->s ? NULL
		 : arena ? config_strndup(k->c, src->s, strlen(src->s))
			 : xstrdup(src->s);
}

/* Borrowed (yread_svec's arena list) or owned (a repeated key's), as the original is. */
static void copy_svec(const struct load_copy *k, struct svec *dst, const struct svec *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->pos = copy_pos(k, src->pos);
	if (!svec_borrowed(src)) {
		for (size_t i = 0; i < src->n; i++) {
			struct pos p = copy_pos(k, src->v[i].pos);
			svec_push(dst, src->v[i].s, &p);
		}
		return;
	}
	dst->v = config_alloc(k->c, src->n, sizeof(*dst->v));
	for (size_t i = 0; i < src->n; i++)
		copy_sval(k, &dst->v[i], &src->v[i], true);
	dst->n = src->n;
}

static void copy_cache(const struct load_copy *k, struct cache *dst, const struct cache *src)
{
	*dst = *src; /* the flags */
	dst->pos = copy_pos(k, src->pos);
	dst->ignore_cookie_pos = copy_pos(k, src->ignore_cookie_pos);
	dst->rules = NULL;
	dst->nrules = dst->cap = 0;
	dst->pack = NULL; /* the loader never packs */
	dst->pack_len = 0;
	if (!src->rules)
		return;
	dst->cap = src->cap > src->nrules ? src->cap : src->nrules;
	dst->rules = xcalloc(dst->cap ? dst->cap : 1, sizeof(*dst->rules));
	for (size_t i = 0; i < src->nrules; i++) {
		const struct rule *r = &src->rules[i];
		struct rule *q = &dst->rules[i];
		*q = *r; /* kind, cc, ttl */
		copy_svec(k, &q->items, &r->items);
		q->ttl_pos = copy_pos(k, r->ttl_pos);
		copy_sval(k, &q->name, &r->name, false);
		q->cc_pos = copy_pos(k, r->cc_pos);
		q->pos = copy_pos(k, r->pos);
	}
	dst->nrules = src->nrules;
}

static void copy_edge(const struct load_copy *k, struct edge_cfg *dst, const struct edge_cfg *src)
{
	copy_sval(k, &dst->connect_to, &src->connect_to, false);
	copy_sval(k, &dst->scheme, &src->scheme, false);
	dst->pos = copy_pos(k, src->pos);
}

/*
 * src as load_endpoint_doc left it (before check_config), into k's config: every member of
 * struct endpoint (a new one must be copied here too), each string where the loader put it.
 */
static void copy_endpoint(const struct load_copy *k, struct endpoint *dst,
			  const struct endpoint *src, const char *file)
{
	bool a = src->arena_strs;
	memset(dst, 0, sizeof(*dst));
	copy_sval(k, &dst->name, &src->name, a);
	dst->file = file;
	copy_sval(k, &dst->account_name, &src->account_name, a);
	dst->account = NULL; /* resolved by validation */
	copy_sval(k, &dst->remote.endpoint_id, &src->remote.endpoint_id, a);
	copy_sval(k, &dst->remote.resource_group, &src->remote.resource_group, a);
	copy_sval(k, &dst->remote.profile, &src->remote.profile, a);
	copy_sval(k, &dst->remote.endpoint, &src->remote.endpoint, a);
	copy_sval(k, &dst->remote.target, &src->remote.target, false);
	copy_sval(k, &dst->remote.property_id, &src->remote.property_id, false);
	copy_sval(k, &dst->remote.route, &src->remote.route, false);
	copy_sval(k, &dst->remote.rule_set, &src->remote.rule_set, false);
	copy_svec(k, &dst->hosts, &src->hosts);
	copy_sval(k, &dst->scheme, &src->scheme, a);
	dst->mode = src->mode;
	dst->has_cache = src->has_cache;
	dst->arena_strs = src->arena_strs;
	copy_cache(k, &dst->cache, &src->cache);
	dst->pos = copy_pos(k, src->pos);
	dst->mode_pos = copy_pos(k, src->mode_pos);
	copy_edge(k, &dst->edge, &src->edge);
}

/* What loading p's file gave the prior, again in x's config and diag_list: its findings (at
 * x's file name) and its endpoint, if it gave one. */
static int load_copy_file(struct yread *x, const struct load_memo *prior,
			  const struct load_memo_file *p, const char *file)
{
	struct load_copy k = {x->c, p->file, x->file};
	for (size_t i = p->d0; i < p->d1; i++) {
		const struct diag *g = &prior->d->v[i];
		struct loc l = g->pos;
		if (l.file)
			l.file = file;
		diag_add(x->t.d, g->sev, &l, g->code, "%s", g->msg);
	}
	if (p->ep != LOAD_NONE) {
		struct config *c = x->c;
		xgrow(&c->endpoints, &c->ecap, c->nendpoints + 1, sizeof(*c->endpoints));
		copy_endpoint(&k, &c->endpoints[c->nendpoints++], &prior->c->endpoints[p->ep],
			      file);
	}
	return p->d1 > p->d0 ? CF_EINVAL : 0;
}

static int memo_cmp(const void *a, const void *b)
{
	return strcmp(((const struct load_memo_file *)a)->path,
		      ((const struct load_memo_file *)b)->path);
}

const struct load_memo_file *load_memo_find(const struct load_memo *m, const char *path)
{
	struct load_memo_file key = {.path = path};
	return m->n ? bsearch(&key, m->v, m->n, sizeof(*m->v), memo_cmp) : NULL;
}

bool load_memo_same(const struct load_memo *a, const struct load_memo *b, enum load_kind kind)
{
	size_t na = 0, nb = 0;
	for (size_t i = 0; i < b->n; i++)
		nb += b->v[i].kind == kind;
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].kind != kind)
			continue;
		const struct load_memo_file *f = load_memo_find(b, a->v[i].path);
		if (!f || f->kind != kind || !a->v[i].id[0] || strcmp(f->id, a->v[i].id) != 0)
			return false;
		na++;
	}
	return na == nb;
}

void load_memo_release(struct load_memo *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* The prior's record of file when its endpoint can be copied: same path, same id. */
static const struct load_memo_file *memo_reusable(const struct load_memo *prior, const char *file,
						  const char *id)
{
	if (!prior || !id[0])
		return NULL;
	const struct load_memo_file *p = load_memo_find(prior, file);
	return p && p->kind == LOAD_ENDPOINT && strcmp(p->id, id) == 0 ? p : NULL;
}

/* Reads and parses file (interned in x's config). */
/* Reads file's bytes into *buf (caller frees); CF_EINVAL after adding the problem to x's list. */
static int load_fetch(struct yread *x, const struct cf_source *src, const char *file, char **buf,
		      size_t *len)
{
	struct cf_err e;
	*buf = NULL;
	*len = 0;
	err_clear(&e);
	if (src->read(src->ctx, file, LOAD_MAX_FILE_BYTES, buf, len, &e) < 0) {
		/* Whole-file problems point at the file's first character. */
		e.pos.file = file;
		e.pos.line = e.pos.col = 1;
		diag_add_err(x->t.d, &e);
		return CF_EINVAL;
	}
	return 0;
}

/*
 * The id git gives a blob of these bytes (SHA-1 of "blob LEN\0" and the bytes), in hex: a
 * working tree keeps no ids, and a file whose bytes hash to the base's blob id is that blob
 * byte for byte. A SHA-256 repository's ids are longer and never match: the file is parsed.
 */
static void load_blob_id(const char *buf, size_t len, char out[SOURCE_ID_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char head[32];
	unsigned int n = 0;
	int hl = snprintf(head, sizeof(head), "blob %zu", len);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) ||
	    !EVP_DigestUpdate(ctx, head, (size_t)hl + 1) || !EVP_DigestUpdate(ctx, buf, len) ||
	    !EVP_DigestFinal_ex(ctx, md, &n) || n != 20)
		xmem_oom("hashing an endpoint file");
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * Loads one file: copied from prior when unchanged there, else read; recorded in rec. Takes
 * over *path (load_files' copy: a fleet's 10^5 paths are not copied again).
 */
static int load_path_memo(struct yread *x, const struct cf_source *src, enum load_kind kind,
			  char **path, const struct load_memo *prior, struct load_memo *rec)
{
	struct config *c = x->c;
	const char *file = load_intern(x, *path);
	const struct load_memo_file *p = NULL;
	char id[SOURCE_ID_MAX] = "";
	size_t d0 = x->t.d->n, neps = c->nendpoints, from = LOAD_NONE, len = 0;
	char *buf = NULL;
	int ret = 0;
	*path = NULL;
	if ((prior || rec) && src->id && src->id(src->ctx, file, id) < 0)
		id[0] = '\0';
	/* without an id from the source (a working tree), the bytes give one: an endpoint file is
	 * parsed unless it is the prior's blob, and cacheform.yaml's says whether the accounts
	 * changed (cmd_load_pair) */
	bool hash = prior && kind != LOAD_PURGE && !id[0];
	if (hash) {
		ret = load_fetch(x, src, file, &buf, &len);
		if (ret == 0)
			load_blob_id(buf, len, id);
	}
	if (kind == LOAD_ENDPOINT)
		p = memo_reusable(prior, file, id);
	if (p) {
		ret = load_copy_file(x, prior, p, file);
		from = p->ep;
	} else if (!hash) {
		if ((ret = load_fetch(x, src, file, &buf, &len)) == 0)
			ret = load_one(x, kind, file, buf, len);
	} else if (ret == 0) {
		ret = load_one(x, kind, file, buf, len);
	}
	free(buf);
	if (rec) {
		xgrow(&rec->v, &rec->cap, rec->n + 1, sizeof(*rec->v));
		struct load_memo_file *m = &rec->v[rec->n++];
		m->path = file;
		snprintf(m->id, sizeof(m->id), "%s", id);
		m->kind = kind;
		m->file = x->file;
		m->ep = c->nendpoints > neps ? c->nendpoints - 1 : LOAD_NONE;
		m->from = from;
		m->d0 = d0;
		m->d1 = x->t.d->n;
		rec->ncopied += p != NULL;
	}
	return ret;
}

/* Where the loader finds each kind of file: the one list of the repository's layout. */
static const struct {
	const char *path;
	bool dir;
	enum load_kind kind;
} load_layout[] = {
    {"cacheform.yaml", false, LOAD_SETTINGS},
    {"endpoints", true, LOAD_ENDPOINT},
    {"purges", true, LOAD_PURGE},
};

static void load_files_add(struct load_file **v, size_t *n, size_t *cap, const char *path,
			   enum load_kind kind)
{
	xgrow(v, cap, *n + 1, sizeof(**v));
	(*v)[*n].path = xstrdup(path);
	(*v)[(*n)++].kind = kind;
}

int load_files(const struct cf_source *src, struct load_file **out, size_t *n, struct diag_list *d)
{
	size_t cap = 0;
	int ret = 0;
	*out = NULL;
	*n = 0;
	for (size_t l = 0; l < CF_ARRAY_LEN(load_layout); l++) {
		struct svec names = {0};
		struct cf_err e;
		if (!load_layout[l].dir) {
			load_files_add(out, n, &cap, load_layout[l].path, load_layout[l].kind);
			continue;
		}
		err_clear(&e);
		if (src->list(src->ctx, load_layout[l].path, &names, &e) < 0) {
			if (!e.code[0])
				snprintf(e.code, sizeof(e.code), "%s", SOURCE_CODE_IO);
			diag_add_err(d, &e);
			ret = CF_EIO;
		}
		for (size_t i = 0; i < names.n; i++)
			load_files_add(out, n, &cap, names.v[i].s, load_layout[l].kind);
		svec_release(&names);
	}
	return ret;
}

void load_files_free(struct load_file *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

/*
 * Sizes c's endpoint and file tables to the files listed, before any is read: grown by
 * doubling, the endpoint table of a fleet had up to twice the slots it used (16,384 for
 * 10,000 endpoints, 352 bytes each), and each doubling kept the half-size copy's pages in the
 * heap. A file holding several endpoints grows the table as before.
 */
static void load_reserve(struct config *c, const struct load_file *files, size_t n)
{
	size_t neps = 0;
	for (size_t i = 0; i < n; i++)
		neps += files[i].kind == LOAD_ENDPOINT;
	if (neps > c->ecap) {
		c->endpoints = xreallocarray(c->endpoints, neps, sizeof(*c->endpoints));
		c->ecap = neps;
	}
	if (n > c->fcap) {
		c->files = xreallocarray(c->files, n, sizeof(*c->files));
		c->fcap = n;
	}
}

int load_repo_memo(const struct cf_source *src, const struct load_memo *prior,
		   struct load_memo *rec, struct config **out, struct diag_list *d)
{
	struct yread x;
	struct load_file *files;
	size_t n;
	load_ctx_init(&x, config_new(), d);
	snprintf(x.c->commit, sizeof(x.c->commit), "%s", src->commit);
	if (rec) {
		memset(rec, 0, sizeof(*rec));
		rec->c = x.c;
		rec->d = d;
	}
	int ret = load_files(src, &files, &n, d);
	load_reserve(x.c, files, n);
	for (size_t i = 0; i < n; i++)
		if (load_path_memo(&x, src, files[i].kind, &files[i].path, prior, rec) < 0 &&
		    ret == 0)
			ret = CF_EINVAL;
	load_files_free(files, n);
	ytree_release(&x.t);
	/* the loader reads files in list order: sorted per directory, not necessarily overall */
	if (rec && rec->n > 1)
		qsort(rec->v, rec->n, sizeof(*rec->v), memo_cmp);
	*out = x.c;
	return ret;
}

int load_repo(const struct cf_source *src, struct config **out, struct diag_list *d)
{
	return load_repo_memo(src, NULL, NULL, out, d);
}
