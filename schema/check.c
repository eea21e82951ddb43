#include "reconcile/compat.h"
#include "schema/check.h"

#include <ctype.h>
#include <strings.h>

#include "reconcile/xmem.h"
#include "schema/urlcheck.h"

#define CHECK_QUOTE_MAX	     80 /* bytes of a user value quoted in a message */
#define CHECK_SMALL_N	     16 /* up to this many, duplicates are found pairwise */
#define CHECK_NIDX_MIN	     16 /* smallest hash table */
#define CHECK_GUID_LEN	     36
#define CHECK_ARM_NAME_MAX   90 /* resource group, profile and endpoint names */
#define CHECK_RULE_NAME_BUF  32 /* "cacheform" + a rule number */
#define CHECK_PROVIDER_ALL   ((1u << PROV__COUNT) - 1)
#define CHECK_SCHEME_SEP_LEN 3 /* "://" */

/* Cache items: characters the azure-china API forbids; '.' is handled per kind. */
static const char forbidden_item_chars[] = "{}()[]?*\\^$";

#define P_AC  (1u << PROV_AZURE_CHINA)
#define P_AZ  (1u << PROV_AZURE)
#define P_PRO (1u << PROV_CDNPRO)

#define ERR(x, p, code, ...)  diag_add((x)->d, DIAG_ERROR, (p), (code), __VA_ARGS__)
#define WARN(x, p, code, ...) diag_add((x)->d, DIAG_WARNING, (p), (code), __VA_ARGS__)
#define NOTE(x, p, code, ...) diag_add((x)->d, DIAG_NOTICE, (p), (code), __VA_ARGS__)

/* Open-addressing string → index table, so name lookups stay O(1) for 10,000 endpoints. */
struct nidx {
	const char **key; /* borrowed from the config */
	size_t *val;
	size_t mask;
};

/* Which earlier rule item covers a rule's item (never-matches lints). */
struct cover {
	bool hit;
	size_t rule, item;
};

struct ctx {
	struct config *c;
	struct diag_list *d;
	struct nidx accounts, endpoints;
	struct cover *cov; /* scratch, one per item of the rule being linted */
	size_t covcap;
	bool no_settings; /* cacheform.yaml failed to load: do not blame every endpoint */
};

/* A message-safe rendering of a user value: control bytes escaped, long values cut. */
struct qbuf {
	char s[CHECK_QUOTE_MAX * 4 + 8];
};

static const char *q(struct qbuf *b, const char *s)
{
	size_t o = 0, i = 0;
	for (; i < CHECK_QUOTE_MAX && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < ' ' || c == 0x7f)
			o += (size_t)snprintf(b->s + o, sizeof(b->s) - o, "\\x%02x", c);
		else
			b->s[o++] = (char)c;
	}
	if (s[i]) {
		/* Cut on a UTF-8 character boundary so JSON and SARIF output stay valid. */
		while (o > 0 && ((unsigned char)b->s[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && ((unsigned char)b->s[o - 1] & 0xc0) == 0xc0)
			o--;
		o += (size_t)snprintf(b->s + o, sizeof(b->s) - o, "...");
	}
	b->s[o] = '\0';
	return b->s;
}

/* Returns p when it carries a location, else the fallback (the enclosing object). */
static const struct pos *at(const struct pos *p, const struct pos *fallback)
{
	return (p->file || p->line) ? p : fallback;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static void nidx_init(struct nidx *x, size_t n)
{
	size_t cap = CHECK_NIDX_MIN;
	while (cap < 2 * n)
		cap <<= 1;
	x->key = xcalloc(cap, sizeof(*x->key));
	x->val = xcalloc(cap, sizeof(*x->val));
	x->mask = cap - 1;
}

static void nidx_release(struct nidx *x)
{
	free(x->key);
	free(x->val);
	memset(x, 0, sizeof(*x));
}

/* Returns the slot holding key, or the empty slot where it belongs. */
static size_t nidx_slot(const struct nidx *x, const char *key)
{
	size_t i = (size_t)hash_str(key) & x->mask;
	while (x->key[i] && strcmp(x->key[i], key) != 0)
		i = (i + 1) & x->mask;
	return i;
}

/* Adds key → val; returns false (and *prev) when key is already there. Capacity ≥ 2n. */
static bool nidx_put(struct nidx *x, const char *key, size_t val, size_t *prev)
{
	size_t i = nidx_slot(x, key);
	if (x->key[i]) {
		*prev = x->val[i];
		return false;
	}
	x->key[i] = key;
	x->val[i] = val;
	return true;
}

static bool nidx_get(const struct nidx *x, const char *key, size_t *val)
{
	size_t i = nidx_slot(x, key);
	if (!x->key[i])
		return false;
	*val = x->val[i];
	return true;
}

typedef void dup_fn(struct ctx *x, const struct sval *dup, const struct sval *first,
		    const void *arg);

/* Calls fn for every item of v equal to an earlier one: pairwise when small, hashed beyond. */
static void find_dups(struct ctx *x, const struct svec *v, dup_fn *fn, const void *arg)
{
	struct nidx h;
	size_t prev;
	if (v->n <= CHECK_SMALL_N) {
		for (size_t i = 1; i < v->n; i++)
			for (size_t j = 0; j < i; j++)
				if (v->v[i].s && v->v[j].s && strcmp(v->v[i].s, v->v[j].s) == 0) {
					fn(x, &v->v[i], &v->v[j], arg);
					break;
				}
		return;
	}
	nidx_init(&h, v->n);
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].s && !nidx_put(&h, v->v[i].s, i, &prev))
			fn(x, &v->v[i], &v->v[prev], arg);
	nidx_release(&h);
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CHECK_NAME_MAX || !isalnum((unsigned char)s[0]))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Checks a required name; returns false when it is absent (already reported). */
static bool check_name(struct ctx *x, const struct sval *v, const struct pos *owner,
		       const char *what)
{
	struct qbuf b;
	if (!v->s) {
		ERR(x, owner, "CF217", "missing '%s'", what);
		return false;
	}
	if (!name_valid(v->s))
		ERR(x, at(&v->pos, owner), "CF220",
		    "%s '%s' must be 1 to %d letters, digits, '.', '_' or '-', starting with a "
		    "letter or digit",
		    what, q(&b, v->s), CHECK_NAME_MAX);
	return true;
}

static bool guid_valid(const char *s)
{
	if (strlen(s) != CHECK_GUID_LEN)
		return false;
	for (size_t i = 0; i < CHECK_GUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* "2024-09-01" or "2024-09-01-preview". */
static bool api_version_valid(const char *s)
{
	static const char shape[] = "dddd-dd-dd";
	size_t n = strlen(shape);
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	if (!s[n])
		return true;
	return s[n] == '-' && s[n + 1] &&
	       strspn(s + n + 1, "abcdefghijklmnopqrstuvwxyz") == strlen(s + n + 1);
}

/* ARM resource names go into URL paths: letters, digits, "._()-" only. */
static bool arm_name_valid(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= CHECK_ARM_NAME_MAX && s[n - 1] != '.' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._()-") ==
		   n;
}

static bool env_name_valid(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= CHECK_NAME_MAX && !isdigit((unsigned char)s[0]) &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

static bool has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return true;
	return false;
}

/* ---- accounts ---- */

enum field_check { FC_NONE, FC_SECRET, FC_URL, FC_GUID, FC_APIVER };

struct account_field {
	const char *name;
	size_t off;
	unsigned need, allow; /* provider bit masks */
	enum field_check check;
};

static const struct account_field account_fields[] = {
    {"subscription", offsetof(struct account, subscription), P_AC | P_AZ, P_AC | P_AZ, FC_GUID},
    {"key_id", offsetof(struct account, key_id), P_AC, P_AC, FC_NONE},
    {"key_value", offsetof(struct account, key_value), P_AC, P_AC, FC_SECRET},
    {"tenant", offsetof(struct account, tenant), P_AZ, P_AZ, FC_NONE},
    {"client_id", offsetof(struct account, client_id), P_AZ, P_AZ, FC_NONE},
    {"client_secret", offsetof(struct account, client_secret), P_AZ, P_AZ, FC_SECRET},
    {"user", offsetof(struct account, user), P_PRO, P_PRO, FC_NONE},
    {"api_key", offsetof(struct account, api_key), P_PRO, P_PRO, FC_SECRET},
    {"base_url", offsetof(struct account, base_url), 0, CHECK_PROVIDER_ALL, FC_URL},
    {"login_url", offsetof(struct account, login_url), 0, P_AZ, FC_URL},
    {"api_version", offsetof(struct account, api_version), 0, P_AZ, FC_APIVER},
    {"ca_file", offsetof(struct account, ca_file), 0, CHECK_PROVIDER_ALL, FC_NONE},
};

static void check_indirect(struct ctx *x, const struct mval *m, const struct account_field *f,
			   const struct pos *owner)
{
	const char *t = m->text ? m->text : "";
	if (m->kind == MVAL_ENV && !env_name_valid(t))
		ERR(x, at(&m->pos, owner), "CF218",
		    "'%s' names an invalid environment variable (use [A-Za-z_][A-Za-z0-9_]*)",
		    f->name);
	if (m->kind == MVAL_FILE && (!*t || has_ctrl(t)))
		ERR(x, at(&m->pos, owner), "CF218", "'%s' names an empty or invalid file path",
		    f->name);
}

static void check_literal(struct ctx *x, const struct mval *m, const struct account_field *f,
			  const struct pos *owner)
{
	const struct pos *p = at(&m->pos, owner);
	const char *t = m->text ? m->text : "";
	struct qbuf b;
	enum url_problem up;
	switch (f->check) {
	case FC_SECRET:
		/* Never quote the value: it is a secret. */
		ERR(x, p, "CF501", "secret '%s' must be written as {env: NAME} or {file: PATH}",
		    f->name);
		break;
	case FC_URL:
		if ((up = url_check_base(t)) != URL_OK)
			ERR(x, p, "CF210",
			    "'%s' %s must be https://host[:port][/path] (http:// only to a "
			    "loopback "
			    "host): %s",
			    f->name, q(&b, t), url_problem_str(up));
		break;
	case FC_GUID:
		if (!guid_valid(t))
			ERR(x, p, "CF219", "'%s' %s is not a GUID", f->name, q(&b, t));
		break;
	case FC_APIVER:
		if (!api_version_valid(t))
			ERR(x, p, "CF219", "'%s' %s is not a YYYY-MM-DD[-preview] version", f->name,
			    q(&b, t));
		break;
	case FC_NONE:
		if (!*t)
			ERR(x, p, "CF219", "'%s' is empty", f->name);
		break;
	}
}

static void check_account_field(struct ctx *x, struct account *a, const struct account_field *f)
{
	const struct mval *m = (const struct mval *)((const char *)a + f->off);
	unsigned bit = 1u << a->provider;
	const char *prov = provider_name(a->provider);
	struct qbuf b;
	if (m->kind == MVAL_ABSENT) {
		if (f->need & bit)
			ERR(x, &a->pos, "CF206", "account '%s' (%s) needs '%s'", q(&b, a->name.s),
			    prov, f->name);
		return;
	}
	if (!(f->allow & bit)) {
		ERR(x, at(&m->pos, &a->pos), "CF207", "'%s' is not a field of %s accounts", f->name,
		    prov);
		return;
	}
	if (m->kind == MVAL_LITERAL)
		check_literal(x, m, f, &a->pos);
	else
		check_indirect(x, m, f, &a->pos);
}

static void check_account_limits(struct ctx *x, const struct account *a)
{
	const struct rate_limit *r = &a->rate_limit;
	if (r->set && (r->per_minute < 1 || r->per_minute > CHECK_RATE_PER_MIN_MAX ||
		       r->burst < 1 || r->burst > CHECK_RATE_BURST_MAX))
		ERR(x, at(&r->pos, &a->pos), "CF213",
		    "rate_limit needs per_minute 1..%d and burst 1..%d", CHECK_RATE_PER_MIN_MAX,
		    CHECK_RATE_BURST_MAX);
	if (a->timeout_s < 0 || a->timeout_s > CHECK_TIMEOUT_MAX_S)
		ERR(x, at(&a->timeout_pos, &a->pos), "CF213", "timeout must be 0..%d seconds",
		    CHECK_TIMEOUT_MAX_S);
}

static void check_accounts(struct ctx *x)
{
	struct config *c = x->c;
	size_t prev;
	struct qbuf b;
	nidx_init(&x->accounts, c->naccounts);
	for (size_t i = 0; i < c->naccounts; i++) {
		struct account *a = &c->accounts[i];
		if (!check_name(x, &a->name, &a->pos, "account"))
			continue;
		if (!nidx_put(&x->accounts, a->name.s, i, &prev)) {
			const struct pos *f = &c->accounts[prev].name.pos;
			ERR(x, at(&a->name.pos, &a->pos), "CF216",
			    "account '%s' is already defined at %s:%u:%u", q(&b, a->name.s),
			    f->file ? f->file : "?", f->line, f->col);
			continue;
		}
		if ((unsigned)a->provider >= PROV__COUNT)
			continue; /* the loader reported the unknown provider */
		for (size_t k = 0; k < CF_ARRAY_LEN(account_fields); k++)
			check_account_field(x, a, &account_fields[k]);
		check_account_limits(x, a);
	}
}

/* ---- endpoints: identity, account, remote, hosts ---- */

enum remote_check { RC_GUID, RC_ARM, RC_TARGET };

struct remote_field {
	const char *name;
	size_t off;
	unsigned need;
	enum remote_check check;
};

static const struct remote_field remote_fields[] = {
    {"endpoint_id", offsetof(struct remote, endpoint_id), P_AC, RC_GUID},
    {"resource_group", offsetof(struct remote, resource_group), P_AZ, RC_ARM},
    {"profile", offsetof(struct remote, profile), P_AZ, RC_ARM},
    {"endpoint", offsetof(struct remote, endpoint), P_AZ, RC_ARM},
    {"target", offsetof(struct remote, target), P_PRO, RC_TARGET},
};

static bool remote_value_ok(const struct remote_field *f, const char *s)
{
	switch (f->check) {
	case RC_GUID:
		return guid_valid(s);
	case RC_ARM:
		return arm_name_valid(s);
	case RC_TARGET:
		return strcmp(s, "staging") == 0 || strcmp(s, "production") == 0;
	}
	return false;
}

static void check_remote(struct ctx *x, const struct endpoint *e)
{
	enum provider_kind pk = e->account->provider;
	unsigned bit = 1u << pk;
	struct qbuf b;
	for (size_t i = 0; i < CF_ARRAY_LEN(remote_fields); i++) {
		const struct remote_field *f = &remote_fields[i];
		const struct sval *v = (const struct sval *)((const char *)&e->remote + f->off);
		if (!v->s) {
			if (f->need & bit)
				ERR(x, &e->pos, "CF208", "remote needs '%s' for %s account '%s'",
				    f->name, provider_name(pk), q(&b, e->account->name.s));
		} else if (!(f->need & bit)) {
			ERR(x, at(&v->pos, &e->pos), "CF209",
			    "remote '%s' is not valid for %s account '%s'", f->name,
			    provider_name(pk), q(&b, e->account->name.s));
		} else if (!remote_value_ok(f, v->s)) {
			ERR(x, at(&v->pos, &e->pos), "CF209", "remote '%s' %s is malformed%s",
			    f->name, q(&b, v->s),
			    f->check == RC_TARGET ? " (staging or production)" : "");
		}
	}
}

static void report_dup_host(struct ctx *x, const struct sval *dup, const struct sval *first,
			    const void *arg)
{
	struct qbuf b;
	CF_UNUSED(first);
	ERR(x, at(&dup->pos, arg), "CF214", "host '%s' is listed twice", q(&b, dup->s));
}

static void check_hosts(struct ctx *x, const struct endpoint *e)
{
	struct qbuf b;
	if (e->hosts.n == 0) {
		ERR(x, at(&e->hosts.pos, &e->pos), "CF214", "endpoint '%s' has no hosts",
		    q(&b, e->name.s ? e->name.s : "?"));
		return;
	}
	for (size_t i = 0; i < e->hosts.n; i++) {
		const struct sval *h = &e->hosts.v[i];
		if (!h->s || !url_host_valid(h->s, strlen(h->s)))
			ERR(x, at(&h->pos, &e->pos), "CF214",
			    "host '%s' is not a DNS name or IP address", q(&b, h->s ? h->s : ""));
	}
	find_dups(x, &e->hosts, report_dup_host, &e->pos);
}

static void check_endpoint_head(struct ctx *x, struct endpoint *e, size_t i)
{
	size_t prev;
	struct qbuf b;
	if (check_name(x, &e->name, &e->pos, "endpoint") &&
	    !nidx_put(&x->endpoints, e->name.s, i, &prev)) {
		const struct pos *f = &x->c->endpoints[prev].name.pos;
		ERR(x, at(&e->name.pos, &e->pos), "CF202",
		    "endpoint '%s' is already defined at %s:%u:%u", q(&b, e->name.s),
		    f->file ? f->file : "?", f->line, f->col);
	}
	e->account = NULL;
	if (!e->account_name.s) {
		ERR(x, &e->pos, "CF217", "missing 'account'");
	} else if (nidx_get(&x->accounts, e->account_name.s, &prev)) {
		e->account = &x->c->accounts[prev];
		if ((unsigned)e->account->provider >= PROV__COUNT)
			e->account = NULL;
	} else if (!x->no_settings) {
		ERR(x, at(&e->account_name.pos, &e->pos), "CF204", "unknown account '%s'",
		    q(&b, e->account_name.s));
	}
	if (e->scheme.s && strcmp(e->scheme.s, "http") != 0 && strcmp(e->scheme.s, "https") != 0)
		ERR(x, at(&e->scheme.pos, &e->pos), "CF211", "scheme '%s' must be http or https",
		    q(&b, e->scheme.s));
	if ((unsigned)e->mode > MODE_PURGE_ONLY)
		ERR(x, at(&e->mode_pos, &e->pos), "CF212",
		    "mode must be manage, observe or purge-only");
	check_hosts(x, e);
}

/* ---- cache rules ---- */

static void check_item_chars(struct ctx *x, const struct rule *r, const struct sval *it)
{
	const char *s = it->s;
	struct qbuf b;
	size_t bad = strcspn(s, forbidden_item_chars);
	if (s[bad])
		ERR(x, &it->pos, "CF301", "%s item '%s' contains '%c'", rule_kind_name(r->kind),
		    q(&b, s), s[bad]);
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			ERR(x, &it->pos, "CF305",
			    "%s item '%s' contains whitespace or a control character",
			    rule_kind_name(r->kind), q(&b, s));
			break;
		}
	}
	if (r->kind != RULE_PATH && strchr(s, '.'))
		ERR(x, &it->pos, "CF302", "%s item '%s' must not contain '.'",
		    rule_kind_name(r->kind), q(&b, s));
	if (r->kind != RULE_SUFFIX && s[0] != '/')
		ERR(x, &it->pos, "CF303", "%s item '%s' must start with '/'",
		    rule_kind_name(r->kind), q(&b, s));
	if (r->kind == RULE_SUFFIX && strchr(s, '/'))
		ERR(x, &it->pos, "CF303", "suffix '%s' must not contain '/'", q(&b, s));
}

static void check_item(struct ctx *x, const struct rule *r, struct sval *it)
{
	size_t n;
	struct qbuf b;
	if (!it->s)
		return;
	if (r->kind == RULE_SUFFIX && it->s[0] == '.') {
		NOTE(x, &it->pos, "CF307", "suffix '%s' is written without the dot; using '%s'",
		     q(&b, it->s), it->s + 1);
		memmove(it->s, it->s + 1, strlen(it->s));
	}
	n = strlen(it->s);
	if (n == 0) {
		ERR(x, &it->pos, "CF304", "empty %s item", rule_kind_name(r->kind));
		return;
	}
	if (n > CHECK_ITEM_MAX) {
		ERR(x, &it->pos, "CF313", "%s item is longer than %d characters",
		    rule_kind_name(r->kind), CHECK_ITEM_MAX);
		return;
	}
	check_item_chars(x, r, it);
}

static void report_dup_item(struct ctx *x, const struct sval *dup, const struct sval *first,
			    const void *arg)
{
	struct qbuf b;
	CF_UNUSED(first);
	CF_UNUSED(arg);
	ERR(x, &dup->pos, "CF306", "item '%s' is listed twice in this rule", q(&b, dup->s));
}

static void check_rule(struct ctx *x, struct rule *r)
{
	if ((unsigned)r->kind > RULE_PATH)
		return; /* the loader reported it */
	if (r->items.n == 0)
		ERR(x, &r->pos, "CF308", "rule has no %s items", rule_kind_name(r->kind));
	for (size_t i = 0; i < r->items.n; i++)
		check_item(x, r, &r->items.v[i]);
	find_dups(x, &r->items, report_dup_item, NULL);
	if (r->ttl < 0 || r->ttl > MODEL_TTL_MAX)
		ERR(x, at(&r->ttl_pos, &r->pos), "CF309", "ttl must be 0..%lld seconds",
		    (long long)MODEL_TTL_MAX);
}

/* ---- never-matches lints (see the semantics in check.h) ---- */

static bool path_has_ext(const char *path, const char *ext)
{
	const char *seg = strrchr(path, '/');
	const char *dot = strrchr(seg ? seg : path, '.');
	return dot && strcmp(dot + 1, ext) == 0;
}

static bool is_prefix(const char *p, const char *s)
{
	while (*p && *p == *s)
		p++, s++;
	return *p == '\0';
}

/* True when every request the later item l matches is matched by the earlier item e. */
static bool covers(enum rule_kind ek, const char *e, enum rule_kind lk, const char *l)
{
	if (!e[0] || !l[0])
		return false;
	switch (ek) {
	case RULE_DIR:
		if (strcmp(e, "/") == 0)
			return true;
		return lk != RULE_SUFFIX && is_prefix(e, l);
	case RULE_SUFFIX:
		if (lk == RULE_SUFFIX)
			return strcmp(e, l) == 0;
		return lk == RULE_PATH && path_has_ext(l, e);
	case RULE_PATH:
		return lk == RULE_PATH && strcmp(e, l) == 0;
	}
	return false;
}

/*
 * Finds the first item of rules [0, j) covering l; returns false when none does. With
 * ttl0_first (azure-china: "no-cache rules take precedence") a TTL-0 rule j can only be
 * shadowed by earlier TTL-0 rules.
 */
static bool find_cover(const struct cache *c, size_t j, bool ttl0_first, const char *l, size_t *ri,
		       size_t *ii)
{
	enum rule_kind lk = c->rules[j].kind;
	bool only_ttl0 = ttl0_first && c->rules[j].ttl == 0;
	for (size_t r = 0; r < j; r++) {
		const struct rule *e = &c->rules[r];
		if ((unsigned)e->kind > RULE_PATH || (only_ttl0 && e->ttl != 0))
			continue;
		for (size_t i = 0; i < e->items.n; i++) {
			if (e->items.v[i].s && covers(e->kind, e->items.v[i].s, lk, l)) {
				*ri = r;
				*ii = i;
				return true;
			}
		}
	}
	return false;
}

static void lint_rule(struct ctx *x, const struct cache *c, size_t j, bool ttl0_first)
{
	const struct rule *r = &c->rules[j];
	size_t dead = 0, n = r->items.n;
	struct qbuf b;
	xgrow(&x->cov, &x->covcap, n ? n : 1, sizeof(*x->cov));
	/* One coverage search per item; the findings below reuse it. */
	for (size_t i = 0; i < n; i++) {
		struct cover *cv = &x->cov[i];
		cv->hit = r->items.v[i].s &&
			  find_cover(c, j, ttl0_first, r->items.v[i].s, &cv->rule, &cv->item);
		dead += cv->hit;
	}
	bool all_dead = n > 0 && dead == n;
	struct qbuf b2;
	if (all_dead)
		WARN(x, &r->pos, "CF310",
		     "rule %zu can never match: earlier rules cover all its items (first match "
		     "wins; e.g. rule %zu %s '%s')",
		     j + 1, x->cov[0].rule + 1, rule_kind_name(c->rules[x->cov[0].rule].kind),
		     q(&b, c->rules[x->cov[0].rule].items.v[x->cov[0].item].s));
	for (size_t i = 0; i < n; i++) {
		const struct sval *it = &r->items.v[i];
		if (!x->cov[i].hit)
			continue;
		const struct rule *e = &c->rules[x->cov[i].rule];
		const struct sval *ei = &e->items.v[x->cov[i].item];
		if (e->kind == r->kind && strcmp(ei->s, it->s) == 0)
			WARN(x, &it->pos, "CF311", "%s '%s' is also in rule %zu (line %u)",
			     rule_kind_name(r->kind), q(&b, it->s), x->cov[i].rule + 1,
			     ei->pos.line);
		else if (!all_dead)
			WARN(x, &it->pos, "CF312",
			     "%s '%s' can never match: %s '%s' in rule %zu covers it",
			     rule_kind_name(r->kind), q(&b, it->s), rule_kind_name(e->kind),
			     q(&b2, ei->s), x->cov[i].rule + 1);
	}
}

static void lint_cache(struct ctx *x, const struct endpoint *e)
{
	const struct cache *c = &e->cache;
	bool ttl0_first = e->account && e->account->provider == PROV_AZURE_CHINA;
	size_t total = 0;
	for (size_t j = 0; j < c->nrules; j++)
		total += c->rules[j].items.n;
	if (total > CHECK_LINT_MAX_ITEMS) {
		NOTE(x, &e->pos, "CF315", "%zu cache items: never-matches lints skipped (limit %d)",
		     total, CHECK_LINT_MAX_ITEMS);
		return;
	}
	for (size_t j = 1; j < c->nrules; j++)
		if ((unsigned)c->rules[j].kind <= RULE_PATH)
			lint_rule(x, c, j, ttl0_first);
}

/* ---- provider limits ---- */

static bool azure_rule_name_valid(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && isalpha((unsigned char)s[0]) &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

static const char *effective_name(const struct rule *r, size_t i, char *buf, size_t n)
{
	if (r->name.s)
		return r->name.s;
	snprintf(buf, n, "cacheform%zu", i + 1);
	return buf;
}

static void check_azure_names(struct ctx *x, const struct endpoint *e)
{
	const struct cache *c = &e->cache;
	char a[CHECK_RULE_NAME_BUF], b[CHECK_RULE_NAME_BUF];
	struct qbuf qb;
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i].name.s && !azure_rule_name_valid(c->rules[i].name.s))
			ERR(x, at(&c->rules[i].name.pos, &c->rules[i].pos), "CF503",
			    "azure rule name '%s' must match ^[a-zA-Z][a-zA-Z0-9]*$",
			    q(&qb, c->rules[i].name.s));
	/* Pairwise is fine: more than CHECK_AZURE_RULES_MAX rules is an error already. */
	if (c->nrules > CHECK_AZURE_RULES_MAX)
		return;
	for (size_t i = 1; i < c->nrules; i++) {
		const char *ni = effective_name(&c->rules[i], i, a, sizeof(a));
		for (size_t j = 0; j < i; j++) {
			if (strcasecmp(ni, effective_name(&c->rules[j], j, b, sizeof(b))) == 0) {
				ERR(x, at(&c->rules[i].name.pos, &c->rules[i].pos), "CF508",
				    "rule %zu and rule %zu would both be named '%s'", j + 1, i + 1,
				    q(&qb, ni));
				break;
			}
		}
	}
}

static void check_provider_rules(struct ctx *x, const struct endpoint *e)
{
	const struct cache *c = &e->cache;
	enum provider_kind pk = e->account->provider;
	const struct pos *cpos = at(&c->pos, &e->pos);
	if (pk == PROV_CDNPRO) {
		if (e->mode != MODE_PURGE_ONLY)
			ERR(x, at(&e->mode_pos, &e->pos), "CF505",
			    "cdnpro endpoints must be 'mode: purge-only'");
		if (e->has_cache || c->nrules)
			ERR(x, cpos, "CF506",
			    "cdnpro endpoints take no cache block (rules live "
			    "in Edge Logic)");
		return;
	}
	if (e->mode == MODE_PURGE_ONLY && c->nrules)
		WARN(x, cpos, "CF314", "cache rules of a purge-only endpoint are not managed");
	if (pk != PROV_AZURE) {
		for (size_t i = 0; i < c->nrules; i++)
			if (c->rules[i].name.s)
				WARN(x, at(&c->rules[i].name.pos, &c->rules[i].pos), "CF507",
				     "rule names are used by azure only; ignored for %s",
				     provider_name(pk));
		return;
	}
	if (c->ignore_cookie)
		ERR(x, at(&c->ignore_cookie_pos, cpos), "CF504",
		    "ignore_cookie: true cannot be expressed on azure");
	if (c->nrules > CHECK_AZURE_RULES_MAX)
		ERR(x, &c->rules[CHECK_AZURE_RULES_MAX].pos, "CF502",
		    "azure allows at most %d delivery rules per endpoint (this is rule %d of %zu)",
		    CHECK_AZURE_RULES_MAX, CHECK_AZURE_RULES_MAX + 1, c->nrules);
	check_azure_names(x, e);
}

static void check_endpoints(struct ctx *x)
{
	struct config *c = x->c;
	nidx_init(&x->endpoints, c->nendpoints);
	for (size_t i = 0; i < c->nendpoints; i++) {
		struct endpoint *e = &c->endpoints[i];
		check_endpoint_head(x, e, i);
		for (size_t j = 0; j < e->cache.nrules; j++)
			check_rule(x, &e->cache.rules[j]);
		lint_cache(x, e);
		if (e->account) {
			check_remote(x, e);
			check_provider_rules(x, e);
		}
	}
}

/* ---- purges ---- */

struct purge_ctx {
	const struct purge *p;
	struct endpoint **eps; /* resolved, distinct */
	size_t n;
	/* Over the resolved endpoints; unknown ones are reported on their own. */
	bool any_azure, any_other, any_other_than_cdnpro;
};

static const char *const problem_code[] = {
    [URL_ETOOLONG] = "CF404",	 [URL_EFORM] = "CF402",		[URL_ESCHEME] = "CF402",
    [URL_EHOST] = "CF402",	 [URL_ECRLF] = "CF409",		[URL_ECTRL] = "CF407",
    [URL_EUNSAFE] = "CF407",	 [URL_EPERCENT] = "CF406",	[URL_EDOTSEG] = "CF408",
    [URL_ESTAR] = "CF405",	 [URL_ELOADCHARS] = "CF422",	[URL_ERE_PREFIX] = "CF414",
    [URL_ERE_LONG] = "CF415",	 [URL_ERE_UNLIMITED] = "CF416", [URL_ERE_BOUND] = "CF417",
    [URL_ERE_COMPILE] = "CF418",
};

static void url_err(struct ctx *x, const struct sval *v, const char *list, enum url_problem up,
		    size_t off, const char *code)
{
	struct qbuf b;
	if (!code)
		code = (unsigned)up < CF_ARRAY_LEN(problem_code) && problem_code[up]
			   ? problem_code[up]
			   : "CF402";
	ERR(x, &v->pos, code, "%s entry '%s': %s (at character %zu)", list, q(&b, v->s),
	    url_problem_str(up), off + 1);
}

static bool ep_serves(const struct endpoint *e, const char *h, size_t n)
{
	for (size_t i = 0; i < e->hosts.n; i++)
		if (e->hosts.v[i].s && url_host_equal(h, n, e->hosts.v[i].s))
			return true;
	return false;
}

/* An absolute URL goes to every endpoint of the manifest, so each must serve its host. */
static void check_host(struct ctx *x, const struct purge_ctx *pc, const struct sval *v,
		       const char *h, size_t n)
{
	struct qbuf b, b2;
	for (size_t i = 0; i < pc->n; i++)
		if (!ep_serves(pc->eps[i], h, n))
			ERR(x, &v->pos, "CF403",
			    "host '%.*s' of '%s' is not a host of endpoint '%s'",
			    (int)(n > CHECK_QUOTE_MAX ? CHECK_QUOTE_MAX : n), h, q(&b, v->s),
			    q(&b2, pc->eps[i]->name.s));
}

/* A path is expanded to scheme://host/path for every host; the result must fit too. */
static void check_expanded_len(struct ctx *x, const struct purge_ctx *pc, const struct sval *v)
{
	struct qbuf b;
	size_t len = strlen(v->s);
	for (size_t i = 0; i < pc->n; i++) {
		const struct endpoint *e = pc->eps[i];
		size_t sl = e->scheme.s ? strlen(e->scheme.s) : strlen("https");
		for (size_t h = 0; h < e->hosts.n; h++) {
			if (e->hosts.v[h].s &&
			    sl + CHECK_SCHEME_SEP_LEN + strlen(e->hosts.v[h].s) + len > URL_MAX) {
				ERR(x, &v->pos, "CF404",
				    "'%.20s...' expanded with host '%s' is longer than %d "
				    "characters",
				    v->s, q(&b, e->hosts.v[h].s), URL_MAX);
				return;
			}
		}
	}
}

static void check_url_entry(struct ctx *x, const struct purge_ctx *pc, const struct sval *v,
			    const char *list, unsigned flags)
{
	struct url_parts u;
	size_t off = 0;
	enum url_problem up;
	struct qbuf b;
	if (!v->s)
		return;
	if ((up = url_check(v->s, URL_MAX, flags, &u, &off)) != URL_OK) {
		url_err(x, v, list, up, off, NULL);
		return;
	}
	if (strcmp(list, "dirs") == 0 && v->s[strlen(v->s) - 1] != '/')
		ERR(x, &v->pos, "CF410", "dirs entry '%s' must end with '/'", q(&b, v->s));
	if (u.scheme_len)
		check_host(x, pc, v, u.host, u.host_len);
	else
		check_expanded_len(x, pc, v);
}

static void check_azure_preload(struct ctx *x, const struct purge_ctx *pc, const struct sval *v)
{
	struct url_parts u;
	size_t off = 0;
	enum url_problem up;
	const char *path = v->s;
	if (url_split(v->s, &u) == 0 && u.scheme_len) {
		if (!url_scheme_is(&u, "http") && !url_scheme_is(&u, "https")) {
			url_err(x, v, "preload", URL_ESCHEME, 0, NULL);
			return;
		}
		if (!url_host_valid(u.host, u.host_len) || u.port) {
			url_err(x, v, "preload", URL_EHOST, (size_t)(u.host - v->s), NULL);
			return;
		}
		/* An absolute URL is sent as its path; its host must still be the endpoint's. */
		check_host(x, pc, v, u.host, u.host_len);
		path = u.path;
	}
	up = url_check_azure_load(path, &off);
	if (up == URL_ETOOLONG)
		url_err(x, v, "preload", up, off, "CF421");
	else if (up == URL_ESTAR)
		url_err(x, v, "preload", up, off, "CF420");
	else if (up == URL_EFORM)
		url_err(x, v, "preload", URL_ELOADCHARS, off, "CF422");
	else if (up != URL_OK)
		url_err(x, v, "preload", up, (size_t)(path - v->s) + off, NULL);
}

static void check_regex_entry(struct ctx *x, const struct purge_ctx *pc, const struct sval *v)
{
	char msg[CF_ERR_MSG_MAX / 4];
	const char *h = NULL;
	size_t hl = 0, off = 0;
	struct qbuf b;
	enum url_problem up = url_check_regex(v->s, &h, &hl, msg, sizeof(msg), &off);
	if (up == URL_ERE_COMPILE)
		ERR(x, &v->pos, "CF418", "regex '%s' does not compile: %s (at character %zu)",
		    q(&b, v->s), msg, off + 1);
	else if (up != URL_OK)
		url_err(x, v, "regex", up, off, NULL);
	/* h is set once a scheme prefix matched; a malformed host is the CF414 itself. */
	if (h && up != URL_ERE_PREFIX)
		check_host(x, pc, v, h, hl);
}

static const struct pos *list_pos(const struct svec *v, const struct purge *p)
{
	return at(v->n ? &v->v[0].pos : &v->pos, at(&v->pos, &p->pos));
}

static void check_cdnpro_lists(struct ctx *x, const struct purge_ctx *pc)
{
	const struct purge *p = pc->p;
	if (p->patterns.n && pc->any_other_than_cdnpro)
		ERR(x, list_pos(&p->patterns, p), "CF411",
		    "patterns are only supported for cdnpro endpoints");
	else
		for (size_t i = 0; i < p->patterns.n; i++)
			check_url_entry(x, pc, &p->patterns.v[i], "patterns", URL_F_ALLOW_STAR);
	if (p->action == PURGE_DELETE && pc->any_other_than_cdnpro)
		ERR(x, at(&p->action_pos, &p->pos), "CF419",
		    "action 'delete' is only supported for cdnpro endpoints");
	if (p->regex.n && pc->any_other_than_cdnpro) {
		ERR(x, list_pos(&p->regex, p), "CF412",
		    "regex is only supported for cdnpro endpoints");
		return;
	}
	if (p->regex.n > URL_REGEX_PER_REQUEST)
		ERR(x, &p->regex.v[URL_REGEX_PER_REQUEST].pos, "CF413",
		    "at most %d regex per manifest (cdnpro takes %d per request, one request per "
		    "endpoint)",
		    URL_REGEX_PER_REQUEST, URL_REGEX_PER_REQUEST);
	for (size_t i = 0; i < p->regex.n; i++)
		if (p->regex.v[i].s)
			check_regex_entry(x, pc, &p->regex.v[i]);
}

static void report_dup_entry(struct ctx *x, const struct sval *dup, const struct sval *first,
			     const void *arg)
{
	struct qbuf b;
	CF_UNUSED(arg);
	WARN(x, &dup->pos, "CF423", "'%s' is listed twice (first on line %u)", q(&b, dup->s),
	     first->pos.line);
}

static void check_purge_lists(struct ctx *x, const struct purge_ctx *pc)
{
	const struct purge *p = pc->p;
	const struct svec *lists[] = {&p->files, &p->dirs, &p->patterns, &p->regex, &p->preload};
	for (size_t i = 0; i < p->files.n; i++)
		check_url_entry(x, pc, &p->files.v[i], "files", URL_F_ALLOW_PATH);
	for (size_t i = 0; i < p->dirs.n; i++)
		check_url_entry(x, pc, &p->dirs.v[i], "dirs", URL_F_ALLOW_PATH);
	check_cdnpro_lists(x, pc);
	for (size_t i = 0; i < p->preload.n; i++) {
		if (!p->preload.v[i].s)
			continue;
		if (pc->any_azure)
			check_azure_preload(x, pc, &p->preload.v[i]);
		if (pc->any_other || pc->n == 0)
			check_url_entry(x, pc, &p->preload.v[i], "preload", URL_F_ALLOW_PATH);
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(lists); i++)
		find_dups(x, lists[i], report_dup_entry, NULL);
}

static void report_dup_ref(struct ctx *x, const struct sval *dup, const struct sval *first,
			   const void *arg)
{
	struct qbuf b;
	CF_UNUSED(first);
	CF_UNUSED(arg);
	ERR(x, &dup->pos, "CF215", "endpoint '%s' is listed twice", q(&b, dup->s));
}

/* Resolves the endpoint names of p into pc (each endpoint once). */
static void resolve_refs(struct ctx *x, const struct purge *p, struct purge_ctx *pc)
{
	struct qbuf b;
	size_t k;
	pc->eps = xcalloc(p->endpoints.n ? p->endpoints.n : 1, sizeof(*pc->eps));
	find_dups(x, &p->endpoints, report_dup_ref, NULL);
	for (size_t i = 0; i < p->endpoints.n; i++) {
		const struct sval *v = &p->endpoints.v[i];
		if (!v->s || !nidx_get(&x->endpoints, v->s, &k)) {
			ERR(x, at(&v->pos, &p->pos), "CF205", "unknown endpoint '%s'",
			    q(&b, v->s ? v->s : ""));
			continue;
		}
		struct endpoint *e = &x->c->endpoints[k];
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = p->endpoints.v[j].s && strcmp(p->endpoints.v[j].s, v->s) == 0;
		if (seen || !e->account)
			continue; /* reported as a duplicate, or its account is unknown */
		if (e->mode == MODE_OBSERVE)
			WARN(x, &v->pos, "CF424",
			     "endpoint '%s' is in observe mode: this purge will not run",
			     q(&b, e->name.s));
		pc->eps[pc->n++] = e;
		pc->any_azure |= e->account->provider == PROV_AZURE;
		pc->any_other |= e->account->provider != PROV_AZURE;
		pc->any_other_than_cdnpro |= e->account->provider != PROV_CDNPRO;
	}
}

static void check_purge(struct ctx *x, const struct purge *p, struct nidx *ids, size_t i)
{
	struct purge_ctx pc = {.p = p};
	size_t prev;
	struct qbuf b;
	if (check_name(x, &p->id, &p->pos, "purge") && !nidx_put(ids, p->id.s, i, &prev)) {
		const struct pos *f = &x->c->purges[prev].id.pos;
		ERR(x, at(&p->id.pos, &p->pos), "CF203",
		    "purge '%s' is already defined at %s:%u:%u", q(&b, p->id.s),
		    f->file ? f->file : "?", f->line, f->col);
	}
	if (!p->files.n && !p->dirs.n && !p->patterns.n && !p->regex.n && !p->preload.n)
		ERR(x, &p->pos, "CF401",
		    "purge has nothing to do: give files, dirs, patterns, regex or preload");
	if (!p->endpoints.n)
		ERR(x, at(&p->endpoints.pos, &p->pos), "CF217", "missing 'endpoints'");
	resolve_refs(x, p, &pc);
	check_purge_lists(x, &pc);
	free(pc.eps);
}

static void check_purges(struct ctx *x)
{
	struct nidx ids;
	nidx_init(&ids, x->c->npurges);
	for (size_t i = 0; i < x->c->npurges; i++)
		check_purge(x, &x->c->purges[i], &ids, i);
	nidx_release(&ids);
}

int check_config(struct config *c, const struct check_opts *o, struct diag_list *d)
{
	struct ctx x = {.c = c, .d = d};
	x.no_settings = d->nerrors > 0 && c->naccounts == 0;
	/* An unlocated bad version after loader errors means the loader already said why. */
	if (c->version != 1 && (c->version_pos.file || d->nerrors == 0))
		ERR(&x, c->version_pos.file ? &c->version_pos : NULL, "CF201",
		    "version %lld is not supported (use 1)", (long long)c->version);
	check_accounts(&x);
	check_endpoints(&x);
	check_purges(&x);
	nidx_release(&x.accounts);
	nidx_release(&x.endpoints);
	free(x.cov);
	if (o && o->strict)
		diag_promote_warnings(d);
	return d->nerrors ? CF_EINVAL : CF_OK;
}
