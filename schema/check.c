#include "reconcile/base/compat.h"
#include "schema/check.h"

#include <ctype.h>
#include <strings.h>

#include "reconcile/base/xmem.h"
#include "schema/check_int.h"
#include "reconcile/base/pathmatch.h"
#include "schema/urlcheck.h"
#include "reconcile/base/limits.h"

#define CHECK_SMALL_N	      16    /* up to this many, duplicates are found pairwise */
#define CHECK_PORT_MAX	      65535 /* edge connect_to ports are 1..this */
#define CHECK_NIDX_MIN	      16    /* smallest hash table */
#define CHECK_GUID_LEN	      36
#define CHECK_RATE_DOMAIN_MAX 128 /* a customer id or principal name, not prose */
#define CHECK_ARM_NAME_MAX    90  /* resource group, profile and endpoint names */
#define CHECK_RULE_NAME_BUF   32  /* "cacheform" + a rule number */
#define CHECK_PROVIDER_ALL    ((1u << PROV__COUNT) - 1)

/* Cache items: characters the azure-china API forbids; '.' is handled per kind. */
static const char forbidden_item_chars[] = "{}()[]?*\\^$";

#define P_AC  (1u << PROV_AZURE_CHINA)
#define P_AZ  (1u << PROV_AZURE)
#define P_PRO (1u << PROV_CDNPRO)
#define P_FD  (1u << PROV_AZURE_FRONTDOOR)

/* Which earlier rule item covers a rule's item (never-matches lints). */
struct check_cover {
	bool hit;
	size_t rule, item;
};

const char *check_quote(struct check_qbuf *b, const char *s)
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
const char *check_fname(const struct check_ctx *x, const struct pos *p)
{
	const char *f = config_file_name(x->c, p->file);
	return f ? f : "?";
}

const struct pos *check_at(const struct pos *p, const struct pos *fallback)
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

void check_nidx_init(struct check_nidx *x, size_t n)
{
	size_t cap = CHECK_NIDX_MIN;
	while (cap < 2 * n)
		cap <<= 1;
	x->key = xcalloc(cap, sizeof(*x->key));
	x->val = xcalloc(cap, sizeof(*x->val));
	x->mask = cap - 1;
}

void check_nidx_release(struct check_nidx *x)
{
	free(x->key);
	free(x->val);
	memset(x, 0, sizeof(*x));
}

/* Returns the slot holding key, or the empty slot where it belongs. */
static size_t nidx_slot(const struct check_nidx *x, const char *key)
{
	size_t i = (size_t)hash_str(key) & x->mask;
	while (x->key[i] && strcmp(x->key[i], key) != 0)
		i = (i + 1) & x->mask;
	return i;
}

/* Adds key → val; returns false (and *prev) when key is already there. Capacity ≥ 2n. */
bool check_nidx_put(struct check_nidx *x, const char *key, size_t val, size_t *prev)
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

bool check_nidx_get(const struct check_nidx *x, const char *key, size_t *val)
{
	size_t i = nidx_slot(x, key);
	if (!x->key[i])
		return false;
	*val = x->val[i];
	return true;
}

/* Calls fn for every item of v equal to an earlier one: pairwise when small, hashed beyond. */
void check_find_dups(struct check_ctx *x, const struct svec *v, check_dup_fn *fn, const void *arg)
{
	struct check_nidx h;
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
	check_nidx_init(&h, v->n);
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].s && !check_nidx_put(&h, v->v[i].s, i, &prev))
			fn(x, &v->v[i], &v->v[prev], arg);
	check_nidx_release(&h);
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CHECK_NAME_MAX || !isalnum((unsigned char)s[0]))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

bool check_name_valid(const char *s)
{
	return name_valid(s);
}

/* Checks a required name; returns false when it is absent (already reported). */
bool check_name(struct check_ctx *x, const struct sval *v, const struct pos *owner,
		const char *what)
{
	struct check_qbuf b;
	if (!v->s) {
		ERR(x, owner, "CF217", "missing '%s'", what);
		return false;
	}
	if (!name_valid(v->s))
		ERR(x, check_at(&v->pos, owner), "CF220",
		    "%s '%s' must be 1 to %d letters, digits, '.', '_' or '-', starting with a "
		    "letter or digit",
		    what, check_quote(&b, v->s), CHECK_NAME_MAX);
	return true;
}

static bool rate_domain_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CHECK_RATE_DOMAIN_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._:/@-", *s))
			return false;
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

/* Front Door rule-set and rule names: a letter, then letters and digits, at most 60. */
static bool afd_name_valid(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= AFD_RULE_NAME_MAX && isalpha((unsigned char)s[0]) &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
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

enum field_check { FC_NONE, FC_SECRET, FC_URL, FC_GUID, FC_APIVER, FC_CLOUD, FC_DOMAIN };

struct account_field {
	const char *name;
	size_t off;
	unsigned need, allow; /* provider bit masks */
	enum field_check check;
};

static const struct account_field account_fields[] = {
    {"subscription", offsetof(struct account, subscription), P_AC | P_AZ | P_FD, P_AC | P_AZ | P_FD,
     FC_GUID},
    {"key_id", offsetof(struct account, key_id), P_AC, P_AC, FC_NONE},
    {"key_value", offsetof(struct account, key_value), P_AC, P_AC, FC_SECRET},
    {"tenant", offsetof(struct account, tenant), P_AZ | P_FD, P_AZ | P_FD, FC_NONE},
    {"client_id", offsetof(struct account, client_id), P_AZ | P_FD, P_AZ | P_FD, FC_NONE},
    {"client_secret", offsetof(struct account, client_secret), P_AZ | P_FD, P_AZ | P_FD, FC_SECRET},
    {"user", offsetof(struct account, user), P_PRO, P_PRO, FC_NONE},
    {"api_key", offsetof(struct account, api_key), P_PRO, P_PRO, FC_SECRET},
    {"base_url", offsetof(struct account, base_url), 0, CHECK_PROVIDER_ALL, FC_URL},
    {"login_url", offsetof(struct account, login_url), 0, P_AZ | P_FD, FC_URL},
    {"api_version", offsetof(struct account, api_version), 0, P_AZ | P_FD, FC_APIVER},
    {"ca_file", offsetof(struct account, ca_file), 0, CHECK_PROVIDER_ALL, FC_NONE},
    {"cloud", offsetof(struct account, cloud), 0, P_FD, FC_CLOUD},
    {"rate_domain", offsetof(struct account, rate_domain), 0, CHECK_PROVIDER_ALL, FC_DOMAIN},
};

static void check_indirect(struct check_ctx *x, const struct mval *m, const struct account_field *f,
			   const struct pos *owner)
{
	const char *t = m->text ? m->text : "";
	if (f->check == FC_CLOUD)
		ERR(x, check_at(&m->pos, owner), "CF219",
		    "'%s' must be written literally (global or china)", f->name);
	if (f->check == FC_DOMAIN)
		ERR(x, check_at(&m->pos, owner), "CF219",
		    "'%s' must be written literally (it is a name, not a secret)", f->name);
	if (m->kind == MVAL_ENV && !env_name_valid(t))
		ERR(x, check_at(&m->pos, owner), "CF218",
		    "'%s' names an invalid environment variable (use [A-Za-z_][A-Za-z0-9_]*)",
		    f->name);
	if (m->kind == MVAL_FILE && (!*t || has_ctrl(t)))
		ERR(x, check_at(&m->pos, owner), "CF218",
		    "'%s' names an empty or invalid file path", f->name);
}

static void check_literal(struct check_ctx *x, const struct mval *m, const struct account_field *f,
			  const struct pos *owner)
{
	const struct pos *p = check_at(&m->pos, owner);
	const char *t = m->text ? m->text : "";
	struct check_qbuf b;
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
			    f->name, check_quote(&b, t), url_problem_str(up));
		break;
	case FC_GUID:
		if (!guid_valid(t))
			ERR(x, p, "CF219", "'%s' %s is not a GUID", f->name, check_quote(&b, t));
		break;
	case FC_APIVER:
		if (!api_version_valid(t))
			ERR(x, p, "CF219", "'%s' %s is not a YYYY-MM-DD[-preview] version", f->name,
			    check_quote(&b, t));
		break;
	case FC_CLOUD:
		if (strcmp(t, "global") != 0 && strcmp(t, "china") != 0)
			ERR(x, p, "CF219", "'%s' %s must be global or china", f->name,
			    check_quote(&b, t));
		break;
	case FC_DOMAIN:
		if (!rate_domain_valid(t))
			ERR(x, p, "CF219",
			    "'%s' %s must be 1 to %d characters of letters, digits and . _ : / @ -",
			    f->name, check_quote(&b, t), CHECK_RATE_DOMAIN_MAX);
		break;
	case FC_NONE:
		if (!*t)
			ERR(x, p, "CF219", "'%s' is empty", f->name);
		break;
	}
}

static void check_account_field(struct check_ctx *x, struct account *a,
				const struct account_field *f)
{
	const struct mval *m = (const struct mval *)((const char *)a + f->off);
	unsigned bit = 1u << a->provider;
	const char *prov = provider_name(a->provider);
	struct check_qbuf b;
	if (m->kind == MVAL_ABSENT) {
		if (f->need & bit)
			ERR(x, &a->pos, "CF206", "account '%s' (%s) needs '%s'",
			    check_quote(&b, a->name.s), prov, f->name);
		return;
	}
	if (!(f->allow & bit)) {
		ERR(x, check_at(&m->pos, &a->pos), "CF207", "'%s' is not a field of %s accounts",
		    f->name, prov);
		return;
	}
	if (m->kind == MVAL_LITERAL)
		check_literal(x, m, f, &a->pos);
	else
		check_indirect(x, m, f, &a->pos);
}

/* edge: {connect_to: HOST:PORT, scheme: http|https}, on an account or an endpoint. */
static void check_edge(struct check_ctx *x, const struct edge_cfg *ec, const struct pos *owner)
{
	const char *hp = ec->connect_to.s, *colon = hp ? strrchr(hp, ':') : NULL;
	struct check_qbuf b;
	char *end = NULL;
	long port = colon ? strtol(colon + 1, &end, 10) : 0;
	bool v6 = hp && hp[0] == '[' && colon && colon > hp && colon[-1] == ']';
	size_t hl = colon ? (size_t)(colon - hp) : 0;

	if (hp && (!colon || hl == 0 || !end || *end || end == colon + 1 || port < 1 ||
		   port > CHECK_PORT_MAX ||
		   !(v6 ? url_host_valid(hp, hl) : url_host_valid(hp, hl) && !memchr(hp, ':', hl))))
		ERR(x, check_at(&ec->connect_to.pos, check_at(&ec->pos, owner)), "CF230",
		    "edge connect_to '%s' must be HOST:PORT (a DNS name or IP address, port "
		    "1..%d)",
		    check_quote(&b, hp), CHECK_PORT_MAX);
	if (ec->scheme.s && strcmp(ec->scheme.s, "http") != 0 && strcmp(ec->scheme.s, "https") != 0)
		ERR(x, check_at(&ec->scheme.pos, check_at(&ec->pos, owner)), "CF230",
		    "edge scheme '%s' must be http or https", check_quote(&b, ec->scheme.s));
}

static void check_account_limits(struct check_ctx *x, const struct account *a)
{
	const struct rate_limit *r = &a->rate_limit;
	if (r->set && (r->per_minute < 1 || r->per_minute > CHECK_RATE_PER_MIN_MAX ||
		       r->burst < 1 || r->burst > CHECK_RATE_BURST_MAX))
		ERR(x, check_at(&r->pos, &a->pos), "CF213",
		    "rate_limit needs per_minute 1..%d and burst 1..%d", CHECK_RATE_PER_MIN_MAX,
		    CHECK_RATE_BURST_MAX);
	if (a->timeout_s < 0 || a->timeout_s > CHECK_TIMEOUT_MAX_S)
		ERR(x, check_at(&a->timeout_pos, &a->pos), "CF213", "timeout must be 0..%d seconds",
		    CHECK_TIMEOUT_MAX_S);
}

static void check_accounts(struct check_ctx *x)
{
	struct config *c = x->c;
	size_t prev;
	struct check_qbuf b;
	check_nidx_init(&x->accounts, c->naccounts);
	for (size_t i = 0; i < c->naccounts; i++) {
		struct account *a = &c->accounts[i];
		if (!check_name(x, &a->name, &a->pos, "account"))
			continue;
		if (!check_nidx_put(&x->accounts, a->name.s, i, &prev)) {
			const struct pos *f = &c->accounts[prev].name.pos;
			ERR(x, check_at(&a->name.pos, &a->pos), "CF216",
			    "account '%s' is already defined at %s:%u:%u",
			    check_quote(&b, a->name.s), check_fname(x, f), (unsigned)f->line,
			    (unsigned)f->col);
			continue;
		}
		if ((unsigned)a->provider >= PROV__COUNT)
			continue; /* the loader reported the unknown provider */
		for (size_t k = 0; k < CF_ARRAY_LEN(account_fields); k++)
			check_account_field(x, a, &account_fields[k]);
		check_account_limits(x, a);
		check_edge(x, &a->edge, &a->pos);
	}
}

/* ---- endpoints: identity, account, remote, hosts ---- */

enum remote_check { RC_GUID, RC_ARM, RC_TARGET, RC_HEX24, RC_RULESET };

#define CHECK_PROPERTY_ID_LEN 24 /* CDN Pro property ids are 24 hex digits */

struct remote_field {
	const char *name;
	size_t off;
	unsigned need;
	enum remote_check check;
	unsigned allow; /* providers where it is optional (need: required) */
};

static const struct remote_field remote_fields[] = {
    {"endpoint_id", offsetof(struct remote, endpoint_id), P_AC, RC_GUID, 0},
    {"resource_group", offsetof(struct remote, resource_group), P_AZ | P_FD, RC_ARM, 0},
    {"profile", offsetof(struct remote, profile), P_AZ | P_FD, RC_ARM, 0},
    {"endpoint", offsetof(struct remote, endpoint), P_AZ | P_FD, RC_ARM, 0},
    {"target", offsetof(struct remote, target), P_PRO, RC_TARGET, 0},
    {"route", offsetof(struct remote, route), P_FD, RC_ARM, 0},
    {"rule_set", offsetof(struct remote, rule_set), P_FD, RC_RULESET, 0},
    /* required by cdnpro mode manage/observe: checked with the mode */
    {"property_id", offsetof(struct remote, property_id), 0, RC_HEX24, P_PRO},
};

static bool hex24(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return n == CHECK_PROPERTY_ID_LEN;
}

static bool remote_value_ok(const struct remote_field *f, const char *s)
{
	switch (f->check) {
	case RC_GUID:
		return guid_valid(s);
	case RC_ARM:
		return arm_name_valid(s);
	case RC_TARGET:
		return strcmp(s, "staging") == 0 || strcmp(s, "production") == 0;
	case RC_HEX24:
		return hex24(s);
	case RC_RULESET:
		return afd_name_valid(s);
	}
	return false;
}

static void check_remote(struct check_ctx *x, const struct endpoint *e)
{
	enum provider_kind pk = e->account->provider;
	unsigned bit = 1u << pk;
	struct check_qbuf b;
	for (size_t i = 0; i < CF_ARRAY_LEN(remote_fields); i++) {
		const struct remote_field *f = &remote_fields[i];
		const struct sval *v = (const struct sval *)((const char *)&e->remote + f->off);
		if (!v->s) {
			if (f->need & bit)
				ERR(x, &e->pos, "CF208", "remote needs '%s' for %s account '%s'",
				    f->name, provider_name(pk),
				    check_quote(&b, e->account->name.s));
		} else if (!((f->need | f->allow) & bit)) {
			ERR(x, check_at(&v->pos, &e->pos), "CF209",
			    "remote '%s' is not valid for %s account '%s'", f->name,
			    provider_name(pk), check_quote(&b, e->account->name.s));
		} else if (!remote_value_ok(f, v->s)) {
			ERR(x, check_at(&v->pos, &e->pos), "CF209", "remote '%s' %s is malformed%s",
			    f->name, check_quote(&b, v->s),
			    f->check == RC_TARGET  ? " (staging or production)"
			    : f->check == RC_HEX24 ? " (24 hex digits)"
						   : "");
		}
	}
}

static void report_dup_host(struct check_ctx *x, const struct sval *dup, const struct sval *first,
			    const void *arg)
{
	struct check_qbuf b;
	CF_UNUSED(first);
	ERR(x, check_at(&dup->pos, arg), "CF214", "host '%s' is listed twice",
	    check_quote(&b, dup->s));
}

static void check_hosts(struct check_ctx *x, const struct endpoint *e)
{
	struct check_qbuf b;
	if (e->hosts.n == 0) {
		ERR(x, check_at(&e->hosts.pos, &e->pos), "CF214", "endpoint '%s' has no hosts",
		    check_quote(&b, e->name.s ? e->name.s : "?"));
		return;
	}
	for (size_t i = 0; i < e->hosts.n; i++) {
		const struct sval *h = &e->hosts.v[i];
		if (!h->s || !url_host_valid(h->s, strlen(h->s)))
			ERR(x, check_at(&h->pos, &e->pos), "CF214",
			    "host '%s' is not a DNS name or IP address",
			    check_quote(&b, h->s ? h->s : ""));
	}
	check_find_dups(x, &e->hosts, report_dup_host, &e->pos);
}

static void check_endpoint_head(struct check_ctx *x, struct endpoint *e, size_t i)
{
	size_t prev;
	struct check_qbuf b;
	if (check_name(x, &e->name, &e->pos, "endpoint") &&
	    !check_nidx_put(&x->endpoints, e->name.s, i, &prev)) {
		const struct pos *f = &x->c->endpoints[prev].name.pos;
		ERR(x, check_at(&e->name.pos, &e->pos), "CF202",
		    "endpoint '%s' is already defined at %s:%u:%u", check_quote(&b, e->name.s),
		    check_fname(x, f), (unsigned)f->line, (unsigned)f->col);
	}
	e->account = NULL;
	if (!e->account_name.s) {
		ERR(x, &e->pos, "CF217", "missing 'account'");
	} else if (check_nidx_get(&x->accounts, e->account_name.s, &prev)) {
		e->account = &x->c->accounts[prev];
		if ((unsigned)e->account->provider >= PROV__COUNT)
			e->account = NULL;
	} else if (!x->no_settings) {
		ERR(x, check_at(&e->account_name.pos, &e->pos), "CF204", "unknown account '%s'",
		    check_quote(&b, e->account_name.s));
	}
	if (e->scheme.s && strcmp(e->scheme.s, "http") != 0 && strcmp(e->scheme.s, "https") != 0)
		ERR(x, check_at(&e->scheme.pos, &e->pos), "CF211",
		    "scheme '%s' must be http or https", check_quote(&b, e->scheme.s));
	if ((unsigned)e->mode > MODE_PURGE_ONLY)
		ERR(x, check_at(&e->mode_pos, &e->pos), "CF212",
		    "mode must be manage, observe or purge-only");
	check_hosts(x, e);
	check_edge(x, &e->edge, &e->pos);
}

/* ---- cache rules ---- */

static void check_item_chars(struct check_ctx *x, const struct rule *r, const struct sval *it)
{
	const char *s = it->s;
	struct check_qbuf b;
	size_t bad = strcspn(s, forbidden_item_chars);
	if (s[bad])
		ERR(x, &it->pos, "CF301", "%s item '%s' contains '%c'", rule_kind_name(r->kind),
		    check_quote(&b, s), s[bad]);
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			ERR(x, &it->pos, "CF305",
			    "%s item '%s' contains whitespace or a control character",
			    rule_kind_name(r->kind), check_quote(&b, s));
			break;
		}
	}
	if (r->kind != RULE_PATH && strchr(s, '.'))
		ERR(x, &it->pos, "CF302", "%s item '%s' must not contain '.'",
		    rule_kind_name(r->kind), check_quote(&b, s));
	if (r->kind != RULE_SUFFIX && s[0] != '/')
		ERR(x, &it->pos, "CF303", "%s item '%s' must start with '/'",
		    rule_kind_name(r->kind), check_quote(&b, s));
	if (r->kind == RULE_SUFFIX && strchr(s, '/'))
		ERR(x, &it->pos, "CF303", "suffix '%s' must not contain '/'", check_quote(&b, s));
}

static void check_item(struct check_ctx *x, const struct rule *r, struct sval *it)
{
	size_t n;
	struct check_qbuf b;
	if (!it->s)
		return;
	if (r->kind == RULE_SUFFIX && it->s[0] == '.') {
		NOTE(x, &it->pos, "CF307", "suffix '%s' is written without the dot; using '%s'",
		     check_quote(&b, it->s), it->s + 1);
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

static void report_dup_item(struct check_ctx *x, const struct sval *dup, const struct sval *first,
			    const void *arg)
{
	struct check_qbuf b;
	CF_UNUSED(first);
	CF_UNUSED(arg);
	ERR(x, &dup->pos, "CF306", "item '%s' is listed twice in this rule",
	    check_quote(&b, dup->s));
}

static void check_rule(struct check_ctx *x, struct rule *r)
{
	if ((unsigned)r->kind > RULE_PATH)
		return; /* the loader reported it */
	if (r->items.n == 0)
		ERR(x, &r->pos, "CF308", "rule has no %s items", rule_kind_name(r->kind));
	for (size_t i = 0; i < r->items.n; i++)
		check_item(x, r, &r->items.v[i]);
	check_find_dups(x, &r->items, report_dup_item, NULL);
	if (r->ttl < 0 || r->ttl > MODEL_TTL_MAX)
		ERR(x, check_at(&r->ttl_pos, &r->pos), "CF309", "ttl must be 0..%lld seconds",
		    (long long)MODEL_TTL_MAX);
}

/* ---- never-matches lints (see the semantics in check.h) ---- */

/* Directory e (taken with a trailing '/') holds directory l (also taken with one). */
static bool dir_holds_dir(const char *e, const char *l)
{
	size_t en = strlen(e), ln = strlen(l);
	en -= en > 0 && e[en - 1] == '/';
	ln -= ln > 0 && l[ln - 1] == '/';
	return en <= ln && strncmp(e, l, en) == 0 && (ln == en || l[en] == '/');
}

/* True when every request the later item l matches is matched by the earlier item e
 * (SPEC §2.2: a dir item is a directory, suffixes compare case-insensitively). */
static bool covers(enum rule_kind ek, const char *e, enum rule_kind lk, const char *l)
{
	if (!e[0] || !l[0])
		return false;
	switch (ek) {
	case RULE_DIR:
		if (strcmp(e, "/") == 0)
			return true;
		if (lk == RULE_DIR)
			return dir_holds_dir(e, l);
		return lk == RULE_PATH && pathmatch_item(RULE_DIR, e, l);
	case RULE_SUFFIX:
		if (lk == RULE_SUFFIX)
			return strcasecmp(e, l) == 0;
		return lk == RULE_PATH && pathmatch_item(RULE_SUFFIX, e, l);
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

static void lint_rule(struct check_ctx *x, const struct cache *c, size_t j, bool ttl0_first)
{
	const struct rule *r = &c->rules[j];
	size_t dead = 0, n = r->items.n;
	struct check_qbuf b;
	xgrow(&x->cov, &x->covcap, n ? n : 1, sizeof(*x->cov));
	/* One coverage search per item; the findings below reuse it. */
	for (size_t i = 0; i < n; i++) {
		struct check_cover *cv = &x->cov[i];
		cv->hit = r->items.v[i].s &&
			  find_cover(c, j, ttl0_first, r->items.v[i].s, &cv->rule, &cv->item);
		dead += cv->hit;
	}
	bool all_dead = n > 0 && dead == n;
	struct check_qbuf b2;
	if (all_dead)
		WARN(x, &r->pos, "CF310",
		     "rule %zu can never match: earlier rules cover all its items (first match "
		     "wins; e.g. rule %zu %s '%s')",
		     j + 1, x->cov[0].rule + 1, rule_kind_name(c->rules[x->cov[0].rule].kind),
		     check_quote(&b, c->rules[x->cov[0].rule].items.v[x->cov[0].item].s));
	for (size_t i = 0; i < n; i++) {
		const struct sval *it = &r->items.v[i];
		if (!x->cov[i].hit)
			continue;
		const struct rule *e = &c->rules[x->cov[i].rule];
		const struct sval *ei = &e->items.v[x->cov[i].item];
		if (e->kind == r->kind && strcmp(ei->s, it->s) == 0)
			WARN(x, &it->pos, "CF311", "%s '%s' is also in rule %zu (line %u)",
			     rule_kind_name(r->kind), check_quote(&b, it->s), x->cov[i].rule + 1,
			     ei->pos.line);
		else if (!all_dead)
			WARN(x, &it->pos, "CF312",
			     "%s '%s' can never match: %s '%s' in rule %zu covers it",
			     rule_kind_name(r->kind), check_quote(&b, it->s),
			     rule_kind_name(e->kind), check_quote(&b2, ei->s), x->cov[i].rule + 1);
	}
}

static void lint_cache(struct check_ctx *x, const struct endpoint *e)
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

static void check_azure_names(struct check_ctx *x, const struct endpoint *e)
{
	const struct cache *c = &e->cache;
	/* each name once, not once per pair: an unnamed rule's is formatted */
	char names[CHECK_AZURE_RULES_MAX][CHECK_RULE_NAME_BUF];
	const char *name[CHECK_AZURE_RULES_MAX];
	struct check_qbuf qb;
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i].name.s && !azure_rule_name_valid(c->rules[i].name.s))
			ERR(x, check_at(&c->rules[i].name.pos, &c->rules[i].pos), "CF503",
			    "azure rule name '%s' must match ^[a-zA-Z][a-zA-Z0-9]*$",
			    check_quote(&qb, c->rules[i].name.s));
	/* Pairwise is fine: more than CHECK_AZURE_RULES_MAX rules is an error already. */
	if (c->nrules > CHECK_AZURE_RULES_MAX)
		return;
	for (size_t i = 0; i < c->nrules; i++)
		name[i] = effective_name(&c->rules[i], i, names[i], sizeof(names[i]));
	for (size_t i = 1; i < c->nrules; i++) {
		const char *ni = name[i];
		for (size_t j = 0; j < i; j++) {
			if (strcasecmp(ni, name[j]) == 0) {
				ERR(x, check_at(&c->rules[i].name.pos, &c->rules[i].pos), "CF508",
				    "rule %zu and rule %zu would both be named '%s'", j + 1, i + 1,
				    check_quote(&qb, ni));
				break;
			}
		}
	}
}

/* The api-version an azure-frontdoor account uses, when it is written literally. */
static const char *afd_api_version(const struct account *a)
{
	if (a->api_version.kind == MVAL_LITERAL && a->api_version.text)
		return a->api_version.text;
	return a->api_version.kind == MVAL_ABSENT ? AFD_DEFAULT_API : NULL;
}

/* Front Door: rule names, durations and the rule set's capacity (batch mode counts a
 * caching override twice, D-BATCH). */
static void check_afd_rules(struct check_ctx *x, const struct endpoint *e)
{
	const struct cache *c = &e->cache;
	const struct pos *cpos = check_at(&c->pos, &e->pos);
	const char *api = afd_api_version(e->account);
	bool batch = api && strcmp(api, AFD_BATCH_API_MIN) >= 0;
	size_t weight = 0;
	struct check_qbuf qb;
	if (c->ignore_cookie)
		ERR(x, check_at(&c->ignore_cookie_pos, cpos), "CF504",
		    "ignore_cookie: true cannot be expressed on azure-frontdoor");
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		weight += r->ttl > 0 && batch ? AFD_BATCH_CACHING_WEIGHT : 1;
		if (r->name.s && !afd_name_valid(r->name.s))
			ERR(x, check_at(&r->name.pos, &r->pos), "CF503",
			    "azure-frontdoor rule name '%s' must match ^[a-zA-Z][a-zA-Z0-9]{0,59}$",
			    check_quote(&qb, r->name.s));
		if (r->ttl > AFD_DURATION_MAX_S)
			ERR(x, check_at(&r->ttl_pos, &r->pos), "CF509",
			    "azure-frontdoor caches for at most 365.23:59:59 (%lld s), not %lld s",
			    (long long)AFD_DURATION_MAX_S, (long long)r->ttl);
	}
	if (weight > AFD_RULES_PER_SET)
		ERR(x, cpos, "CF502",
		    "a Front Door rule set holds at most %d rules%s; these %zu rules count %zu",
		    AFD_RULES_PER_SET,
		    batch ? " (batch mode: a rule that caches counts twice)" : "", c->nrules,
		    weight);
}

static void check_provider_rules(struct check_ctx *x, const struct endpoint *e)
{
	const struct cache *c = &e->cache;
	enum provider_kind pk = e->account->provider;
	const struct pos *cpos = check_at(&c->pos, &e->pos);
	if (pk == PROV_CDNPRO) {
		/* rules live in a cacheform-owned region of the property's Edge Logic (SPEC 2.5) */
		if (e->mode != MODE_PURGE_ONLY && !e->remote.property_id.s)
			ERR(x, check_at(&e->mode_pos, &e->pos), "CF505",
			    "cdnpro 'mode: %s' needs remote.property_id (the property whose Edge "
			    "Logic cacheform manages), or use 'mode: purge-only'",
			    endpoint_mode_name(e->mode));
		if (e->mode == MODE_PURGE_ONLY && (e->has_cache || c->nrules))
			ERR(x, cpos, "CF506",
			    "a purge-only cdnpro endpoint takes no cache block (set mode: manage "
			    "and remote.property_id to manage its Edge Logic)");
		return;
	}
	if (e->mode == MODE_PURGE_ONLY && c->nrules)
		WARN(x, cpos, "CF314", "cache rules of a purge-only endpoint are not managed");
	if (pk == PROV_AZURE_FRONTDOOR) {
		check_afd_rules(x, e);
		return;
	}
	if (pk == PROV_AZURE_CHINA) {
		check_cn_semantics(x, e);
		check_cn_rule_cc(x, e);
	}
	if (pk != PROV_AZURE) {
		for (size_t i = 0; i < c->nrules; i++)
			if (c->rules[i].name.s)
				WARN(x, check_at(&c->rules[i].name.pos, &c->rules[i].pos), "CF507",
				     "rule names are used by azure only; ignored for %s",
				     provider_name(pk));
		return;
	}
	if (c->ignore_cookie)
		ERR(x, check_at(&c->ignore_cookie_pos, cpos), "CF504",
		    "ignore_cookie: true cannot be expressed on azure");
	if (c->nrules > CHECK_AZURE_RULES_MAX)
		ERR(x, &c->rules[CHECK_AZURE_RULES_MAX].pos, "CF502",
		    "azure allows at most %d delivery rules per endpoint (this is rule %d of %zu)",
		    CHECK_AZURE_RULES_MAX, CHECK_AZURE_RULES_MAX + 1, c->nrules);
	check_azure_names(x, e);
}

static void check_endpoints(struct check_ctx *x)
{
	struct config *c = x->c;
	check_nidx_init(&x->endpoints, c->nendpoints);
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

/* SPEC §3 "Retired services". */
static void check_retired(struct check_ctx *x)
{
	struct check_qbuf b;
	for (size_t i = 0; i < x->c->naccounts; i++) {
		const struct account *a = &x->c->accounts[i];
		if (a->provider == PROV_AZURE_CHINA)
			WARN(
			    x, &a->pos, "CF222",
			    "account '%s': Azure CDN in China (21Vianet) was retired on %s; move "
			    "to azure-frontdoor with cloud: china (cacheform migrate --to ACCOUNT)",
			    check_quote(&b, a->name.s ? a->name.s : "?"), AFD_AZURE_CHINA_RETIRED);
		else if (a->provider == PROV_AZURE)
			NOTE(
			    x, &a->pos, "CF221",
			    "account '%s': Azure CDN Standard from Microsoft (classic) retires on "
			    "%s; its successor is azure-frontdoor (cacheform migrate --to ACCOUNT)",
			    check_quote(&b, a->name.s ? a->name.s : "?"), AFD_AZURE_RETIRES);
	}
}

/* A managed Front Door endpoint's rule set, keyed by the profile it lives in. */
struct afd_set_key {
	const char *acct, *rg, *profile, *set, *ep;
};

static int cmp_profile(const struct afd_set_key *a, const struct afd_set_key *b)
{
	int d = strcmp(a->acct, b->acct);
	if (d == 0)
		d = strcasecmp(a->rg, b->rg);
	return d ? d : strcasecmp(a->profile, b->profile);
}

static int cmp_set_key(const void *pa, const void *pb)
{
	const struct afd_set_key *a = pa, *b = pb;
	int d = cmp_profile(a, b);
	return d ? d : strcasecmp(a->set, b->set);
}

/* Rule sets per profile (D-LIM: 100 Standard, 200 Premium; the SKU is not known offline, so
 * the Premium bound is an error and the Standard one a warning). */
static bool check_afd_owns_set(const struct endpoint *e)
{
	const struct remote *r = &e->remote;
	return e->account && e->account->provider == PROV_AZURE_FRONTDOOR &&
	       e->mode == MODE_MANAGE && r->resource_group.s && r->profile.s && r->rule_set.s;
}

static void check_afd_rule_sets(struct check_ctx *x)
{
	const struct config *c = x->c;
	size_t n = 0, nsets = 0;
	struct check_qbuf b;
	/* counted first: one key per Front Door endpoint, not per endpoint (a fleet without Front
	 * Door allocated 40 bytes per endpoint here, at validate's peak) */
	for (size_t i = 0; i < c->nendpoints; i++)
		nsets += check_afd_owns_set(&c->endpoints[i]);
	if (!nsets)
		return;
	struct afd_set_key *k = xcalloc(nsets, sizeof(*k));
	for (size_t i = 0; i < c->nendpoints; i++) {
		const struct endpoint *e = &c->endpoints[i];
		const struct remote *r = &e->remote;
		if (check_afd_owns_set(e))
			k[n++] = (struct afd_set_key){e->account->name.s, r->resource_group.s,
						      r->profile.s, r->rule_set.s, e->name.s};
	}
	qsort(k, n, sizeof(*k), cmp_set_key);
	for (size_t i = 0, distinct = 0; i < n; i++) {
		bool same = i > 0 && cmp_profile(&k[i], &k[i - 1]) == 0;
		bool dup = same && strcasecmp(k[i].set, k[i - 1].set) == 0;
		distinct = same ? distinct + !dup : 1;
		if (dup)
			ERR(x, NULL, "CF511",
			    "endpoints '%s' and '%s' both own rule set '%s' of Front Door profile "
			    "'%s'",
			    k[i - 1].ep, k[i].ep, k[i].set, k[i].profile);
		if (distinct == AFD_RULE_SETS_STANDARD + 1)
			WARN(x, NULL, "CF510",
			     "Front Door profile '%s' gets more than %d cacheform rule sets (the "
			     "Standard tier's limit)",
			     check_quote(&b, k[i].profile), AFD_RULE_SETS_STANDARD);
		if (distinct == AFD_RULE_SETS_PREMIUM + 1)
			ERR(x, NULL, "CF510", "Front Door profile '%s' gets more than %d rule sets",
			    check_quote(&b, k[i].profile), AFD_RULE_SETS_PREMIUM);
	}
	free(k);
}

int check_config(struct config *c, const struct check_opts *o, struct diag_list *d)
{
	struct check_ctx x = {.c = c, .d = d};
	x.no_settings = d->nerrors > 0 && c->naccounts == 0;
	/* An unlocated bad version after loader errors means the loader already said why. */
	if (c->version != 1 && (c->version_pos.file || d->nerrors == 0))
		ERR(&x, c->version_pos.file ? &c->version_pos : NULL, "CF201",
		    "version %lld is not supported (use 1)", (long long)c->version);
	check_accounts(&x);
	check_endpoints(&x);
	check_afd_rule_sets(&x);
	check_purges(&x);
	check_nidx_release(&x.accounts);
	check_nidx_release(&x.endpoints);
	free(x.cov);
	if (o && o->strict)
		diag_promote_warnings(d);
	if (o && o->retired)
		check_retired(&x); /* after --strict: a retirement is news, not an error */
	return d->nerrors ? CF_EINVAL : CF_OK;
}
