/*
 * Unit tests: every content rule of schema/check.c. Configs are built programmatically with
 * known positions; a rejected row asserts the code, the severity and file:line:col.
 */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/base/model.h"
#include "reconcile/base/xmem.h"
#include "schema/check.h"
#include "schema/urlcheck.h"

#define F_CFG	"cacheform.yaml"
#define F_WWW	"endpoints/www.yaml"
#define F_AZ	"endpoints/az.yaml"
#define F_PRO	"endpoints/p.yaml"
#define F_PURGE "purges/x.yaml"
#define GUID1	"e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb"
#define GUID2	"8137ecc4-71c4-11e7-8259-0017fa00a611"

#define MAX_LIST 6

/* ---- fixture: one valid account and endpoint per provider ---- */

static struct pos mkpos(struct config *c, const char *file, unsigned line, unsigned col)
{
	return pos_make(config_intern_file(c, file), line, col);
}

static void set_m(struct config *c, struct mval *m, enum mval_kind k, const char *t, unsigned line,
		  unsigned col)
{
	mval_release(m);
	m->kind = k;
	m->text = xstrdup(t);
	m->pos = mkpos(c, F_CFG, line, col);
}

static struct account *add_account(struct config *c, const char *name, enum provider_kind pk,
				   unsigned line)
{
	xgrow(&c->accounts, &c->acap, c->naccounts + 1, sizeof(*c->accounts));
	struct account *a = &c->accounts[c->naccounts++];
	memset(a, 0, sizeof(*a));
	a->pos = mkpos(c, F_CFG, line, 3);
	sval_set(&a->name, name, &a->pos);
	a->provider = pk;
	return a;
}

static struct endpoint *add_endpoint(struct config *c, const char *file, const char *name,
				     const char *account)
{
	struct pos p;
	xgrow(&c->endpoints, &c->ecap, c->nendpoints + 1, sizeof(*c->endpoints));
	struct endpoint *e = &c->endpoints[c->nendpoints++];
	memset(e, 0, sizeof(*e));
	e->file = config_file_name(c, config_intern_file(c, file));
	e->pos = mkpos(c, file, 1, 1);
	p = mkpos(c, file, 1, 11);
	sval_set(&e->name, name, &p);
	p = mkpos(c, file, 2, 10);
	sval_set(&e->account_name, account, &p);
	e->hosts.pos = mkpos(c, file, 6, 8);
	e->mode_pos = mkpos(c, file, 7, 7);
	e->cache.pos = mkpos(c, file, 8, 1);
	e->cache.ignore_cookie_pos = mkpos(c, file, 9, 18);
	return e;
}

static void add_host(struct config *c, struct endpoint *e, const char *h)
{
	struct pos p = mkpos(c, e->file, 6, (unsigned)(9 + 20 * e->hosts.n));
	svec_push(&e->hosts, h, &p);
}

static struct config *fixture(void)
{
	struct config *c = config_new();
	struct account *a;
	struct endpoint *e;
	struct pos p;
	c->version = 1;
	c->version_pos = mkpos(c, F_CFG, 1, 10);
	a = add_account(c, "cn", PROV_AZURE_CHINA, 3);
	set_m(c, &a->subscription, MVAL_LITERAL, GUID1, 4, 19);
	set_m(c, &a->key_id, MVAL_ENV, "AZURECDN_KEY_ID", 5, 13);
	set_m(c, &a->key_value, MVAL_ENV, "AZURECDN_KEY_VALUE", 6, 16);
	a = add_account(c, "global", PROV_AZURE, 8);
	set_m(c, &a->subscription, MVAL_ENV, "AZURE_SUBSCRIPTION_ID", 9, 19);
	set_m(c, &a->tenant, MVAL_ENV, "AZURE_TENANT_ID", 10, 13);
	set_m(c, &a->client_id, MVAL_ENV, "AZURE_CLIENT_ID", 11, 16);
	set_m(c, &a->client_secret, MVAL_FILE, "secrets/azure", 12, 20);
	a = add_account(c, "pro", PROV_CDNPRO, 14);
	set_m(c, &a->user, MVAL_ENV, "CDNPRO_USER", 15, 11);
	set_m(c, &a->api_key, MVAL_ENV, "CDNPRO_API_KEY", 16, 14);

	e = add_endpoint(c, F_WWW, "www", "cn");
	p = mkpos(c, F_WWW, 4, 16);
	sval_set(&e->remote.endpoint_id, GUID2, &p);
	add_host(c, e, "www.example.com");
	e->has_cache = true;

	e = add_endpoint(c, F_AZ, "az", "global");
	p = mkpos(c, F_AZ, 4, 19);
	sval_set(&e->remote.resource_group, "web-rg", &p);
	p = mkpos(c, F_AZ, 5, 12);
	sval_set(&e->remote.profile, "web-cdn", &p);
	p = mkpos(c, F_AZ, 6, 13);
	sval_set(&e->remote.endpoint, "www", &p);
	add_host(c, e, "az.example.com");
	e->has_cache = true;

	e = add_endpoint(c, F_PRO, "p", "pro");
	p = mkpos(c, F_PRO, 4, 11);
	sval_set(&e->remote.target, "production", &p);
	add_host(c, e, "p.example.com");
	add_host(c, e, "img.example.com");
	e->mode = MODE_PURGE_ONLY;
	return c;
}

static struct endpoint *ep(struct config *c, const char *name)
{
	struct endpoint *e = config_endpoint(c, name);
	assert_non_null(e);
	return e;
}

/* Positions of rule r: the rule at (L, 7), item i at (L, 13 + 8i), ttl (L+1, 12), name (L+2, 13).
 */
static unsigned rule_line(size_t r)
{
	return (unsigned)(10 + 10 * r);
}

static unsigned item_col(size_t i)
{
	return (unsigned)(13 + 8 * i);
}

/* spec: "kind[#name][@ttl][!|~]|item|item..." (! / ~: the rule's own ignore_cache_control
 * true / false) */
static struct rule *add_rule(struct config *c, struct endpoint *e, const char *spec)
{
	size_t r = e->cache.nrules;
	struct rule *ru = cache_add_rule(&e->cache);
	unsigned line = rule_line(r);
	char head[64];
	const char *bar = strchr(spec, '|');
	size_t hl = bar ? (size_t)(bar - spec) : strlen(spec);
	snprintf(head, sizeof(head), "%.*s", (int)hl, spec);
	char *bang = strpbrk(head, "!~");
	if (bang) {
		ru->cc = *bang == '!' ? RULE_CC_IGNORE : RULE_CC_HONOUR;
		ru->cc_pos = mkpos(c, e->file, line + 3, 29);
		*bang = '\0';
	}
	char *at = strchr(head, '@'), *hash = strchr(head, '#');
	ru->ttl = 60;
	if (at) {
		*at = '\0';
		ru->ttl = strtoll(at + 1, NULL, 10);
	}
	if (hash) {
		struct pos np = mkpos(c, e->file, line + 2, 13);
		*hash = '\0';
		sval_set(&ru->name, hash + 1, &np);
	}
	ru->kind = strcmp(head, "dir") == 0	 ? RULE_DIR
		   : strcmp(head, "suffix") == 0 ? RULE_SUFFIX
						 : RULE_PATH;
	ru->pos = mkpos(c, e->file, line, 7);
	ru->ttl_pos = mkpos(c, e->file, line + 1, 12);
	ru->items.pos = mkpos(c, e->file, line, 12);
	while (bar) {
		const char *s = bar + 1;
		bar = strchr(s, '|');
		size_t n = bar ? (size_t)(bar - s) : strlen(s);
		char *item = xstrndup(s, n);
		struct pos ip = mkpos(c, e->file, line, item_col(ru->items.n));
		svec_push(&ru->items, item, &ip);
		free(item);
	}
	return ru;
}

static bool has_diag(const struct diag_list *d, const char *code, enum diag_sev sev,
		     const char *file, unsigned line, unsigned col)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		if (strcmp(g->code, code) == 0 && g->sev == sev && g->pos.file &&
		    strcmp(g->pos.file, file) == 0 && g->pos.line == line && g->pos.col == col)
			return true;
	}
	return false;
}

static void dump(const char *desc, const struct diag_list *d)
{
	print_message("case '%s' findings:\n", desc);
	for (size_t i = 0; i < d->n; i++)
		print_message("  %s:%u:%u %d %s %s\n", d->v[i].pos.file ? d->v[i].pos.file : "-",
			      d->v[i].pos.line, d->v[i].pos.col, d->v[i].sev, d->v[i].code,
			      d->v[i].msg);
}

/* Runs the check; accepted (code NULL): no error and no warning; else the finding exists. */
static void expect(struct config *c, bool strict, const char *desc, const char *code,
		   enum diag_sev sev, const char *file, unsigned line, unsigned col)
{
	struct diag_list d;
	struct check_opts o = {.strict = strict};
	diag_init(&d);
	int rc = check_config(c, &o, &d);
	bool ok = code ? has_diag(&d, code, sev, file, line, col) : d.nerrors + d.nwarnings == 0;
	if (!ok) {
		dump(desc, &d);
		fail_msg("case '%s': expected %s at %s:%u:%u", desc, code ? code : "no findings",
			 file ? file : "-", line, col);
	}
	assert_int_equal(rc, d.nerrors ? CF_EINVAL : 0);
	diag_release(&d);
}

static void test_check__fixture_is_valid(void **state)
{
	(void)state;
	struct config *c = fixture();
	expect(c, true, "fixture", NULL, DIAG_ERROR, NULL, 0, 0);
	/* accounts are resolved */
	assert_ptr_equal(ep(c, "www")->account, &c->accounts[0]);
	assert_ptr_equal(ep(c, "az")->account, &c->accounts[1]);
	assert_ptr_equal(ep(c, "p")->account, &c->accounts[2]);
	config_free(c);
}

/* ---- cache rules ---- */

struct rule_case {
	const char *desc;
	enum provider_kind prov;
	const char *rules[MAX_LIST];
	const char *code; /* NULL = accepted */
	enum diag_sev sev;
	int rule;
	int item; /* >= 0 item, -1 rule, -2 ttl, -3 name */
};

#define E  DIAG_ERROR
#define W  DIAG_WARNING
#define N  DIAG_NOTICE
#define AC PROV_AZURE_CHINA
#define AZ PROV_AZURE

static const struct rule_case rule_cases[] = {
    {"spec example",
     AC,
     {"dir|/pic/|/doc/", "suffix|jpg|png", "path@0|/index.html"},
     NULL,
     E,
     0,
     0},
    {"dir root alone", AC, {"dir|/"}, NULL, E, 0, 0},
    {"path root", AC, {"path|/"}, NULL, E, 0, 0},
    {"dot allowed in path", AC, {"path|/a.b.c/x.html"}, NULL, E, 0, 0},
    {"non-ascii path", AC, {"path|/\xe5\x9b\xbe/a.png"}, NULL, E, 0, 0},
    {"other extension", AC, {"suffix|tar", "path|/a/x.js"}, NULL, E, 0, 0},
    {"disjoint dirs", AC, {"dir|/a/", "dir|/b/"}, NULL, E, 0, 0},
    {"path before dir", AC, {"path|/a/x.js", "dir|/a/"}, NULL, E, 0, 0},
    {"suffix before dir", AC, {"suffix|js", "dir|/a/"}, NULL, E, 0, 0},
    {"narrow dir first", AC, {"dir|/a/b/", "dir|/a/"}, NULL, E, 0, 0},
    {"dir does not cover suffix", AC, {"dir|/a/", "suffix|js"}, NULL, E, 0, 0},
    {"path without extension", AC, {"suffix|js", "path|/js"}, NULL, E, 0, 0},
    {"ttl max", AC, {"dir@3153600000|/a/"}, NULL, E, 0, 0},
    {"azure names", AZ, {"dir#Images|/img/", "suffix#css2|css", "path|/x"}, NULL, E, 0, 0},
    {"ignored cookie false on azure", AZ, {"dir|/a/"}, NULL, E, 0, 0},

    {"brace open", AC, {"dir|/a{/"}, "CF301", E, 0, 0},
    {"brace close", AC, {"dir|/a}/"}, "CF301", E, 0, 0},
    {"paren open", AC, {"dir|/a(/"}, "CF301", E, 0, 0},
    {"paren close", AC, {"path|/a)"}, "CF301", E, 0, 0},
    {"bracket open", AC, {"path|/ok|/a["}, "CF301", E, 0, 1},
    {"bracket close", AC, {"path|/a]"}, "CF301", E, 0, 0},
    {"question", AC, {"path|/a?x=1"}, "CF301", E, 0, 0},
    {"star", AC, {"dir|/a/*"}, "CF301", E, 0, 0},
    {"star suffix", AC, {"suffix|j*"}, "CF301", E, 0, 0},
    {"backslash", AC, {"dir|/a\\b/"}, "CF301", E, 0, 0},
    {"caret", AC, {"dir|/^a/"}, "CF301", E, 0, 0},
    {"dollar", AC, {"path|/a$"}, "CF301", E, 0, 0},
    {"dot in dir", AC, {"dir|/a.b/"}, "CF302", E, 0, 0},
    {"dot in suffix", AC, {"suffix|tar.gz"}, "CF302", E, 0, 0},
    {"dir without slash", AC, {"dir|pic/"}, "CF303", E, 0, 0},
    {"path without slash", AC, {"path|index.html"}, "CF303", E, 0, 0},
    {"slash in suffix", AC, {"suffix|a/b"}, "CF303", E, 0, 0},
    {"empty dir item", AC, {"dir|"}, "CF304", E, 0, 0},
    {"empty suffix", AC, {"suffix|js|"}, "CF304", E, 0, 1},
    {"lone dot suffix", AC, {"suffix|."}, "CF304", E, 0, 0},
    {"leading dot dropped", AC, {"suffix|.js"}, "CF307", N, 0, 0},
    {"leading dot then dot", AC, {"suffix|.tar.gz"}, "CF302", E, 0, 0},
    {"space", AC, {"dir|/a b/"}, "CF305", E, 0, 0},
    {"tab", AC, {"path|/a\tb"}, "CF305", E, 0, 0},
    {"newline", AC, {"suffix|js\n"}, "CF305", E, 0, 0},
    {"del", AC, {"path|/a\x7f"}, "CF305", E, 0, 0},
    {"duplicate in rule", AC, {"dir|/a/|/b/|/a/"}, "CF306", E, 0, 2},
    {"duplicate suffix after dot", AC, {"suffix|js|.js"}, "CF306", E, 0, 1},
    {"no items", AC, {"dir"}, "CF308", E, 0, -1},
    {"negative ttl", AC, {"dir@-1|/a/"}, "CF309", E, 0, -2},
    {"ttl overflow", AC, {"dir@3153600001|/a/"}, "CF309", E, 0, -2},

    {"after dir root", AC, {"dir|/", "dir|/a/"}, "CF310", W, 1, -1},
    {"after shorter dir", AC, {"dir|/a", "dir|/a/"}, "CF310", W, 1, -1},
    /* a dir item is a directory (SPEC §2.2): /pic does not take /picture.png */
    /* azure-china applies TTL-0 rules first: one that takes paths an earlier rule decides */
    {"cn ttl0 takeover", AC, {"dir@3600|/a/", "suffix@0|php"}, "CF316", E, 1, -1},
    {"cn ttl0 takeover path", AC, {"suffix@60|css", "path@0|/x/y.CSS"}, "CF316", E, 1, -1},
    {"cn ttl0 first is fine", AC, {"suffix@0|php", "dir@3600|/a/"}, NULL, E, 0, 0},
    {"cn ttl0 disjoint", AC, {"dir@3600|/a/", "dir@0|/ab/"}, NULL, E, 0, 0},
    {"azure takeover fine", AZ, {"dir@3600|/a/", "suffix@0|php"}, NULL, E, 0, 0},
    {"directory semantics", AC, {"dir|/pic", "path|/picture.png"}, NULL, E, 0, 0},
    {"directory covers its files", AC, {"dir|/pic", "path|/pic/a.png"}, "CF310", W, 1, -1},
    {"suffix case-insensitive", AC, {"suffix|JPG", "path|/a.jpg"}, "CF310", W, 1, -1},
    {"path under dir", AC, {"dir|/a/", "path|/a/x.js"}, "CF310", W, 1, -1},
    {"path with suffix", AC, {"suffix|js", "path|/a/x.js"}, "CF310", W, 1, -1},
    {"same suffix rule", AC, {"suffix|js", "suffix|js"}, "CF310", W, 1, -1},
    {"same suffix item", AC, {"suffix|js", "suffix|js"}, "CF311", W, 1, 0},
    {"root covers suffix", AC, {"dir|/", "suffix|js"}, "CF310", W, 1, -1},
    {"union covers", AC, {"dir|/a/", "dir|/b/", "dir|/a/x/|/b/y/"}, "CF310", W, 2, -1},
    {"same item two rules", AC, {"dir|/a/", "dir|/b/|/a/"}, "CF311", W, 1, 1},
    {"same path", AC, {"path|/a", "path|/x|/a"}, "CF311", W, 1, 1},
    {"dead item", AC, {"dir|/a/", "dir|/a/x/|/b/"}, "CF312", W, 1, 0},
    {"dead path item", AC, {"suffix|css", "path|/s.css|/t"}, "CF312", W, 1, 0},
    {"far earlier rule", AC, {"suffix|png", "dir|/x/", "path|/a.png"}, "CF310", W, 2, -1},

    /* SPEC 2.2: a ttl 0 rule that takes over paths an earlier rule decides is an error */
    {"azure-china: no-cache rule takes precedence",
     AC,
     {"dir|/", "path@0|/index.html"},
     "CF316",
     E,
     1,
     -1},
    {"azure-china: no-cache after no-cache",
     AC,
     {"dir@0|/", "path@0|/index.html"},
     "CF310",
     W,
     1,
     -1},
    {"azure: first match wins for ttl 0 too",
     AZ,
     {"dir|/", "path@0|/index.html"},
     "CF310",
     W,
     1,
     -1},
    {"azure bad name digit", AZ, {"dir#1rule|/a/"}, "CF503", E, 0, -3},
    {"azure bad name underscore", AZ, {"dir#rule_1|/a/"}, "CF503", E, 0, -3},
    {"azure bad name empty", AZ, {"dir#|/a/"}, "CF503", E, 0, -3},
    {"azure generated name clash", AZ, {"dir#cacheform2|/a/", "dir|/b/"}, "CF508", E, 1, -1},
    {"azure name clash", AZ, {"dir#Foo|/a/", "dir#foo|/b/"}, "CF508", E, 1, -3},
    {"name on azure-china", AC, {"dir#Foo|/a/"}, "CF507", W, 0, -3},
    /* ignore_cache_control per rule: azure-china's is endpoint-wide (the fixture's is false) */
    {"cn rule cc differs", AC, {"dir|/a/", "dir@60!|/b/"}, "CF317", E, 1, -4},
    {"cn rule cc same as block", AC, {"dir@60~|/a/"}, NULL, E, 0, 0},
    {"azure rule cc differs", AZ, {"dir|/a/", "dir@60!|/b/"}, NULL, E, 0, 0},
};

static void run_rule_case(const struct rule_case *rc)
{
	struct config *c = fixture();
	struct endpoint *e = ep(c, rc->prov == PROV_AZURE ? "az" : "www");
	struct rule *r = NULL;
	unsigned line = 0, col = 0;
	for (size_t i = 0; i < MAX_LIST && rc->rules[i]; i++)
		add_rule(c, e, rc->rules[i]);
	if (rc->code) {
		r = &e->cache.rules[rc->rule];
		line = rule_line((size_t)rc->rule);
		col = rc->item >= 0 ? item_col((size_t)rc->item) : 7;
		if (rc->item == -2)
			line = r->ttl_pos.line, col = r->ttl_pos.col;
		if (rc->item == -3)
			line = r->name.pos.line, col = r->name.pos.col;
		if (rc->item == -4)
			line = r->cc_pos.line, col = r->cc_pos.col;
	}
	expect(c, false, rc->desc, rc->code, rc->sev, e->file, line, col);
	config_free(c);
}

static void test_check__rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(rule_cases); i++)
		run_rule_case(&rule_cases[i]);
}

static void test_check__suffix_normalised(void **state)
{
	(void)state;
	struct config *c = fixture();
	struct endpoint *e = ep(c, "www");
	struct diag_list d;
	add_rule(c, e, "suffix|.js|png");
	diag_init(&d);
	assert_int_equal(check_config(c, NULL, &d), 0);
	assert_string_equal(e->cache.rules[0].items.v[0].s, "js");
	assert_string_equal(e->cache.rules[0].items.v[1].s, "png");
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].sev, DIAG_NOTICE);
	diag_release(&d);
	config_free(c);
}

static void test_check__long_item(void **state)
{
	(void)state;
	struct config *c = fixture();
	struct endpoint *e = ep(c, "www");
	char *spec = xmalloc(CHECK_ITEM_MAX + 16);
	snprintf(spec, CHECK_ITEM_MAX + 16, "path|/%0*d", CHECK_ITEM_MAX - 1, 0);
	add_rule(c, e, spec);
	expect(c, false, "item at the limit", NULL, E, NULL, 0, 0);
	snprintf(spec, CHECK_ITEM_MAX + 16, "path|/%0*d", CHECK_ITEM_MAX, 0);
	add_rule(c, e, spec);
	expect(c, false, "item over the limit", "CF313", E, F_WWW, rule_line(1), item_col(0));
	free(spec);
	config_free(c);
}

static void test_check__strict(void **state)
{
	(void)state;
	struct config *c = fixture();
	struct diag_list d;
	add_rule(c, ep(c, "www"), "suffix|js");
	add_rule(c, ep(c, "www"), "suffix|js");
	diag_init(&d);
	assert_int_equal(check_config(c, NULL, &d), 0); /* warnings only */
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 2);
	diag_release(&d);
	expect(c, true, "strict", "CF310", E, F_WWW, rule_line(1), 7);
	config_free(c);
}

static void test_check__azure_rule_count(void **state)
{
	(void)state;
	struct config *c = fixture();
	struct endpoint *e = ep(c, "az");
	char spec[32];
	for (int i = 0; i < CHECK_AZURE_RULES_MAX; i++) {
		snprintf(spec, sizeof(spec), "dir|/d%d/", i);
		add_rule(c, e, spec);
	}
	expect(c, true, "25 azure rules", NULL, E, NULL, 0, 0);
	add_rule(c, e, "dir|/last/");
	expect(c, false, "26 azure rules", "CF502", E, F_AZ, rule_line(CHECK_AZURE_RULES_MAX), 7);
	config_free(c);
}

static void test_check__lint_cap(void **state)
{
	(void)state;
	struct config *c = fixture();
	struct endpoint *e = ep(c, "www");
	char spec[32];
	for (int i = 0; i <= CHECK_LINT_MAX_ITEMS; i++) {
		snprintf(spec, sizeof(spec), "dir|/d%d/", i);
		add_rule(c, e, spec);
	}
	expect(c, false, "lint cap", "CF315", N, F_WWW, 1, 1);
	config_free(c);
}

/* ---- accounts, endpoints, references ---- */

struct misc_case {
	const char *desc;
	void (*mutate)(struct config *c);
	const char *code; /* NULL = accepted */
	enum diag_sev sev;
	const char *file;
	unsigned line, col;
};

static struct account *acct(struct config *c, const char *name)
{
	struct account *a = config_account(c, name);
	assert_non_null(a);
	return a;
}

static void m_version(struct config *c)
{
	c->version = 2;
}
static void m_dup_endpoint(struct config *c)
{
	struct endpoint *e = add_endpoint(c, "endpoints/www2.yaml", "www", "cn");
	struct pos p = mkpos(c, e->file, 4, 16);
	sval_set(&e->remote.endpoint_id, GUID2, &p);
	add_host(c, e, "www2.example.com");
}
static void m_dup_account(struct config *c)
{
	struct account *a = add_account(c, "pro", PROV_CDNPRO, 20);
	set_m(c, &a->user, MVAL_ENV, "U", 21, 11);
	set_m(c, &a->api_key, MVAL_ENV, "K", 22, 14);
}
static void m_unknown_account(struct config *c)
{
	sval_set(&ep(c, "www")->account_name, "nope", NULL);
}
static void m_missing_account(struct config *c)
{
	struct endpoint *e = ep(c, "www");
	free(e->account_name.s);
	e->account_name.s = NULL;
}
static void m_missing_key_value(struct config *c)
{
	mval_release(&acct(c, "cn")->key_value);
}
static void m_missing_tenant(struct config *c)
{
	mval_release(&acct(c, "global")->tenant);
}
static void m_missing_user(struct config *c)
{
	mval_release(&acct(c, "pro")->user);
}
static void m_api_key_on_cn(struct config *c)
{
	set_m(c, &acct(c, "cn")->api_key, MVAL_ENV, "X", 7, 5);
}
static void m_login_url_on_pro(struct config *c)
{
	set_m(c, &acct(c, "pro")->login_url, MVAL_LITERAL, "https://login.example.com", 17, 5);
}
static void m_subscription_on_pro(struct config *c)
{
	set_m(c, &acct(c, "pro")->subscription, MVAL_LITERAL, GUID1, 17, 5);
}
static void m_literal_key_value(struct config *c)
{
	set_m(c, &acct(c, "cn")->key_value, MVAL_LITERAL, "hunter2", 6, 16);
}
static void m_literal_client_secret(struct config *c)
{
	set_m(c, &acct(c, "global")->client_secret, MVAL_LITERAL, "hunter2", 12, 20);
}
static void m_literal_api_key(struct config *c)
{
	set_m(c, &acct(c, "pro")->api_key, MVAL_LITERAL, "hunter2", 16, 14);
}
static void m_bad_env(struct config *c)
{
	set_m(c, &acct(c, "pro")->user, MVAL_ENV, "1BAD-NAME", 15, 11);
}
static void m_empty_file(struct config *c)
{
	set_m(c, &acct(c, "global")->client_secret, MVAL_FILE, "", 12, 20);
}
static void m_bad_subscription(struct config *c)
{
	set_m(c, &acct(c, "cn")->subscription, MVAL_LITERAL, "not-a-guid", 4, 19);
}
static void m_bad_api_version(struct config *c)
{
	set_m(c, &acct(c, "global")->api_version, MVAL_LITERAL, "latest", 13, 18);
}
static void m_good_api_version(struct config *c)
{
	set_m(c, &acct(c, "global")->api_version, MVAL_LITERAL, "2024-09-01", 13, 18);
}
static void m_preview_api_version(struct config *c)
{
	set_m(c, &acct(c, "global")->api_version, MVAL_LITERAL, "2024-09-01-preview", 13, 18);
}
static void m_http_base(struct config *c)
{
	set_m(c, &acct(c, "cn")->base_url, MVAL_LITERAL, "http://restapi.cdn.azure.cn", 7, 15);
}
static void m_http_loopback_base(struct config *c)
{
	set_m(c, &acct(c, "cn")->base_url, MVAL_LITERAL, "http://127.0.0.1:8080", 7, 15);
}
static void m_https_base(struct config *c)
{
	set_m(c, &acct(c, "pro")->base_url, MVAL_LITERAL, "https://proxy.corp:8443/cdnpro", 17, 15);
}
static void m_http_localhost_login(struct config *c)
{
	set_m(c, &acct(c, "global")->login_url, MVAL_LITERAL, "http://localhost:9000", 13, 15);
}
static void m_http_login(struct config *c)
{
	set_m(c, &acct(c, "global")->login_url, MVAL_LITERAL, "http://login.example", 13, 15);
}
static void m_userinfo_base(struct config *c)
{
	set_m(c, &acct(c, "global")->base_url, MVAL_LITERAL, "https://u:p@mgmt.example", 13, 15);
}
static void m_env_base(struct config *c)
{
	set_m(c, &acct(c, "global")->base_url, MVAL_ENV, "CDN_BASE", 13, 15);
}
static void m_rate_zero(struct config *c)
{
	struct account *a = acct(c, "pro");
	a->rate_limit.set = true;
	a->rate_limit.per_minute = 0;
	a->rate_limit.burst = 60;
	a->rate_limit.pos = mkpos(c, F_CFG, 17, 17);
}
static void m_rate_ok(struct config *c)
{
	struct account *a = acct(c, "pro");
	a->rate_limit.set = true;
	a->rate_limit.per_minute = 30;
	a->rate_limit.burst = 60;
}
static void m_rate_nopos(struct config *c)
{
	struct account *a = acct(c, "pro");
	a->rate_limit.set = true;
	a->rate_limit.per_minute = 30;
	a->rate_limit.burst = 0;
}
static void m_timeout(struct config *c)
{
	struct account *a = acct(c, "cn");
	a->timeout_s = -5;
	a->timeout_pos = mkpos(c, F_CFG, 7, 14);
}
static void m_missing_endpoint_id(struct config *c)
{
	struct endpoint *e = ep(c, "www");
	free(e->remote.endpoint_id.s);
	e->remote.endpoint_id.s = NULL;
}
static void m_missing_profile(struct config *c)
{
	struct endpoint *e = ep(c, "az");
	free(e->remote.profile.s);
	e->remote.profile.s = NULL;
}
static void m_missing_target(struct config *c)
{
	struct endpoint *e = ep(c, "p");
	free(e->remote.target.s);
	e->remote.target.s = NULL;
}
static void m_target_on_cn(struct config *c)
{
	struct pos p = mkpos(c, F_WWW, 5, 11);
	sval_set(&ep(c, "www")->remote.target, "production", &p);
}
static void m_bad_target(struct config *c)
{
	sval_set(&ep(c, "p")->remote.target, "prod", NULL);
}
static void m_staging(struct config *c)
{
	sval_set(&ep(c, "p")->remote.target, "staging", NULL);
}
static void m_bad_endpoint_id(struct config *c)
{
	sval_set(&ep(c, "www")->remote.endpoint_id, "8137ecc4", NULL);
}
static void m_bad_rg(struct config *c)
{
	sval_set(&ep(c, "az")->remote.resource_group, "../subscriptions", NULL);
}
static void m_scheme_ftp(struct config *c)
{
	struct pos p = mkpos(c, F_WWW, 7, 9);
	sval_set(&ep(c, "www")->scheme, "ftp", &p);
}
static void m_scheme_http(struct config *c)
{
	struct pos p = mkpos(c, F_WWW, 7, 9);
	sval_set(&ep(c, "www")->scheme, "http", &p);
}
static void m_mode_bad(struct config *c)
{
	ep(c, "www")->mode = (enum endpoint_mode)7;
}
static void m_no_hosts(struct config *c)
{
	svec_release(&ep(c, "www")->hosts);
	ep(c, "www")->hosts.pos = mkpos(c, F_WWW, 6, 8);
}
static void m_bad_host(struct config *c)
{
	add_host(c, ep(c, "www"), "bad host");
}
static void m_host_with_port(struct config *c)
{
	add_host(c, ep(c, "www"), "www.example.com:8080");
}
static void m_dup_host(struct config *c)
{
	add_host(c, ep(c, "www"), "www.example.com");
}
static void m_bad_name(struct config *c)
{
	sval_set(&ep(c, "www")->name, "../etc", NULL);
}
static void m_azure_cookie(struct config *c)
{
	ep(c, "az")->cache.ignore_cookie = true;
}
static void m_cn_cookie(struct config *c)
{
	ep(c, "www")->cache.ignore_cookie = true;
}
static void m_pro_manage(struct config *c)
{
	ep(c, "p")->mode = MODE_MANAGE;
}
static void m_pro_cache(struct config *c)
{
	ep(c, "p")->has_cache = true;
}
static void m_pro_rules(struct config *c)
{
	add_rule(c, ep(c, "p"), "dir|/a/");
}
static void m_pro_manage_ok(struct config *c)
{
	struct pos p = mkpos(c, F_PRO, 5, 16);
	ep(c, "p")->mode = MODE_MANAGE;
	sval_set(&ep(c, "p")->remote.property_id, "5dca2205f9e9cc0001df7b33", &p);
	add_rule(c, ep(c, "p"), "dir|/a/");
}
static void m_pro_bad_property(struct config *c)
{
	struct pos p = mkpos(c, F_PRO, 5, 16);
	ep(c, "p")->mode = MODE_MANAGE;
	sval_set(&ep(c, "p")->remote.property_id, "5dca2205f9e9cc0001df7b3", &p);
}
static void m_property_on_cn(struct config *c)
{
	struct pos p = mkpos(c, F_WWW, 5, 16);
	sval_set(&ep(c, "www")->remote.property_id, "5dca2205f9e9cc0001df7b33", &p);
}
static void m_purge_only_rules(struct config *c)
{
	ep(c, "www")->mode = MODE_PURGE_ONLY;
	add_rule(c, ep(c, "www"), "dir|/a/");
}
static void m_observe_rules(struct config *c)
{
	ep(c, "www")->mode = MODE_OBSERVE;
	add_rule(c, ep(c, "www"), "dir|/a/");
}
static void m_unknown_provider(struct config *c)
{
	acct(c, "cn")->provider = (enum provider_kind)9;
}

static const struct misc_case misc_cases[] = {
    {"version 2", m_version, "CF201", E, F_CFG, 1, 10},
    {"duplicate endpoint", m_dup_endpoint, "CF202", E, "endpoints/www2.yaml", 1, 11},
    {"unknown account", m_unknown_account, "CF204", E, F_WWW, 2, 10},
    {"missing key_value", m_missing_key_value, "CF206", E, F_CFG, 3, 3},
    {"missing tenant", m_missing_tenant, "CF206", E, F_CFG, 8, 3},
    {"missing user", m_missing_user, "CF206", E, F_CFG, 14, 3},
    {"api_key on azure-china", m_api_key_on_cn, "CF207", E, F_CFG, 7, 5},
    {"login_url on cdnpro", m_login_url_on_pro, "CF207", E, F_CFG, 17, 5},
    {"subscription on cdnpro", m_subscription_on_pro, "CF207", E, F_CFG, 17, 5},
    {"missing endpoint_id", m_missing_endpoint_id, "CF208", E, F_WWW, 1, 1},
    {"missing profile", m_missing_profile, "CF208", E, F_AZ, 1, 1},
    {"missing target", m_missing_target, "CF208", E, F_PRO, 1, 1},
    {"target on azure-china", m_target_on_cn, "CF209", E, F_WWW, 5, 11},
    {"bad target", m_bad_target, "CF209", E, F_PRO, 4, 11},
    {"staging target", m_staging, NULL, E, NULL, 0, 0},
    {"bad endpoint_id", m_bad_endpoint_id, "CF209", E, F_WWW, 4, 16},
    {"bad resource group", m_bad_rg, "CF209", E, F_AZ, 4, 19},
    {"http base_url", m_http_base, "CF210", E, F_CFG, 7, 15},
    {"http loopback base_url", m_http_loopback_base, NULL, E, NULL, 0, 0},
    {"https base_url with path", m_https_base, NULL, E, NULL, 0, 0},
    {"http localhost login_url", m_http_localhost_login, NULL, E, NULL, 0, 0},
    {"http login_url", m_http_login, "CF210", E, F_CFG, 13, 15},
    {"userinfo base_url", m_userinfo_base, "CF210", E, F_CFG, 13, 15},
    {"env base_url is not judged offline", m_env_base, NULL, E, NULL, 0, 0},
    {"scheme ftp", m_scheme_ftp, "CF211", E, F_WWW, 7, 9},
    {"scheme http", m_scheme_http, NULL, E, NULL, 0, 0},
    {"mode out of range", m_mode_bad, "CF212", E, F_WWW, 7, 7},
    {"rate_limit zero", m_rate_zero, "CF213", E, F_CFG, 17, 17},
    {"rate_limit ok", m_rate_ok, NULL, E, NULL, 0, 0},
    {"rate_limit without position", m_rate_nopos, "CF213", E, F_CFG, 14, 3},
    {"negative timeout", m_timeout, "CF213", E, F_CFG, 7, 14},
    {"no hosts", m_no_hosts, "CF214", E, F_WWW, 6, 8},
    {"bad host", m_bad_host, "CF214", E, F_WWW, 6, 29},
    {"host with port", m_host_with_port, "CF214", E, F_WWW, 6, 29},
    {"duplicate host", m_dup_host, "CF214", E, F_WWW, 6, 29},
    {"duplicate account", m_dup_account, "CF216", E, F_CFG, 20, 3},
    {"missing account", m_missing_account, "CF217", E, F_WWW, 1, 1},
    {"bad env name", m_bad_env, "CF218", E, F_CFG, 15, 11},
    {"empty file path", m_empty_file, "CF218", E, F_CFG, 12, 20},
    {"bad subscription", m_bad_subscription, "CF219", E, F_CFG, 4, 19},
    {"bad api_version", m_bad_api_version, "CF219", E, F_CFG, 13, 18},
    {"good api_version", m_good_api_version, NULL, E, NULL, 0, 0},
    {"preview api_version", m_preview_api_version, NULL, E, NULL, 0, 0},
    {"bad endpoint name", m_bad_name, "CF220", E, F_WWW, 1, 11},
    {"literal key_value", m_literal_key_value, "CF501", E, F_CFG, 6, 16},
    {"literal client_secret", m_literal_client_secret, "CF501", E, F_CFG, 12, 20},
    {"literal api_key", m_literal_api_key, "CF501", E, F_CFG, 16, 14},
    {"ignore_cookie on azure", m_azure_cookie, "CF504", E, F_AZ, 9, 18},
    {"ignore_cookie on azure-china", m_cn_cookie, NULL, E, NULL, 0, 0},
    {"cdnpro manage", m_pro_manage, "CF505", E, F_PRO, 7, 7},
    {"cdnpro cache block", m_pro_cache, "CF506", E, F_PRO, 8, 1},
    {"cdnpro rules", m_pro_rules, "CF506", E, F_PRO, 8, 1},
    {"cdnpro manage with a property", m_pro_manage_ok, NULL, E, NULL, 0, 0},
    {"cdnpro bad property id", m_pro_bad_property, "CF209", E, F_PRO, 5, 16},
    {"property_id on azure-china", m_property_on_cn, "CF209", E, F_WWW, 5, 16},
    {"purge-only with rules", m_purge_only_rules, "CF314", W, F_WWW, 8, 1},
    {"observe with rules", m_observe_rules, NULL, E, NULL, 0, 0},
};

static void test_check__misc(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(misc_cases); i++) {
		const struct misc_case *mc = &misc_cases[i];
		struct config *c = fixture();
		mc->mutate(c);
		expect(c, false, mc->desc, mc->code, mc->sev, mc->file, mc->line, mc->col);
		config_free(c);
	}
}

static void test_check__secret_not_in_message(void **state)
{
	(void)state;
	struct config *c = fixture();
	struct diag_list d;
	m_literal_key_value(c);
	m_literal_api_key(c);
	diag_init(&d);
	assert_int_equal(check_config(c, NULL, &d), CF_EINVAL);
	assert_int_equal(d.nerrors, 2);
	for (size_t i = 0; i < d.n; i++)
		assert_null(strstr(d.v[i].msg, "hunter2"));
	diag_release(&d);
	config_free(c);
}

static void test_check__unknown_provider_skipped(void **state)
{
	(void)state;
	struct config *c = fixture();
	struct diag_list d;
	m_unknown_provider(c);
	diag_init(&d);
	(void)check_config(c, NULL, &d);
	/* the loader reports the provider; check must not crash or invent field errors */
	assert_null(ep(c, "www")->account);
	for (size_t i = 0; i < d.n; i++)
		assert_string_not_equal(d.v[i].code, "CF206");
	diag_release(&d);
	config_free(c);
}

/* ---- purges ---- */

struct purge_case {
	const char *desc;
	const char *eps[MAX_LIST];
	const char *list; /* NULL: an empty manifest */
	const char *entries[MAX_LIST];
	const char *code; /* NULL = accepted */
	enum diag_sev sev;
	int where; /* >= 0 entry, -1 purge, -2 action, -3 - k endpoint reference k */
	enum purge_action action;
};

/* Purge positions: purge (1,1), id (1,8), endpoints (2,12) with ref k at (2,13+8k), action
 * (3,9), list entry i at (4+i,7). */
static struct purge *add_purge(struct config *c, const char *id, const char *const *eps,
			       const char *list, const char *const *entries)
{
	struct pos p;
	xgrow(&c->purges, &c->pcap, c->npurges + 1, sizeof(*c->purges));
	struct purge *pu = &c->purges[c->npurges++];
	memset(pu, 0, sizeof(*pu));
	pu->file = config_file_name(c, config_intern_file(c, F_PURGE));
	pu->pos = mkpos(c, F_PURGE, 1, 1);
	p = mkpos(c, F_PURGE, 1, 8);
	sval_set(&pu->id, id, &p);
	pu->endpoints.pos = mkpos(c, F_PURGE, 2, 12);
	pu->action_pos = mkpos(c, F_PURGE, 3, 9);
	for (size_t k = 0; k < MAX_LIST && eps[k]; k++) {
		p = mkpos(c, F_PURGE, 2, (unsigned)(13 + 8 * k));
		svec_push(&pu->endpoints, eps[k], &p);
	}
	if (!list)
		return pu;
	struct svec *v = strcmp(list, "files") == 0	 ? &pu->files
			 : strcmp(list, "dirs") == 0	 ? &pu->dirs
			 : strcmp(list, "patterns") == 0 ? &pu->patterns
			 : strcmp(list, "regex") == 0	 ? &pu->regex
							 : &pu->preload;
	v->pos = mkpos(c, F_PURGE, 4, 3);
	for (size_t i = 0; i < MAX_LIST && entries[i]; i++) {
		p = mkpos(c, F_PURGE, (unsigned)(4 + i), 7);
		svec_push(v, entries[i], &p);
	}
	return pu;
}

#define RX "https://p.example.com/"

static const struct purge_case purge_cases[] = {
    {"files",
     {"www"},
     "files",
     {"/logo.png", "https://www.example.com/app.js"},
     NULL,
     E,
     0,
     PURGE_INVALIDATE},
    {"files http",
     {"www"},
     "files",
     {"http://www.example.com/a%20b.png?x=1"},
     NULL,
     E,
     0,
     PURGE_INVALIDATE},
    {"host case", {"www"}, "files", {"https://WWW.Example.COM/a"}, NULL, E, 0, PURGE_INVALIDATE},
    {"dirs",
     {"www"},
     "dirs",
     {"/img/", "https://www.example.com/css/"},
     NULL,
     E,
     0,
     PURGE_INVALIDATE},
    {"preload azure-china", {"www"}, "preload", {"/index.html"}, NULL, E, 0, PURGE_INVALIDATE},
    {"multi endpoint paths", {"www", "az", "p"}, "files", {"/a.png"}, NULL, E, 0, PURGE_INVALIDATE},
    {"patterns",
     {"p"},
     "patterns",
     {RX "assets/*.css", "https://img.example.com/a/**"},
     NULL,
     E,
     0,
     PURGE_INVALIDATE},
    {"regex",
     {"p"},
     "regex",
     {RX "v[0-9]+/.*\\.js", "any://img.example.com/a.*"},
     NULL,
     E,
     0,
     PURGE_INVALIDATE},
    {"delete on cdnpro", {"p"}, "files", {"/a"}, NULL, E, 0, PURGE_DELETE},
    {"azure preload (Edgio-only, retired)",
     {"az"},
     "preload",
     {"/a/b.html?x=1", "/a b/c%20d.png"},
     "CF425",
     E,
     0,
     PURGE_INVALIDATE},
    {"azure preload url",
     {"az"},
     "preload",
     {"https://az.example.com/x.html"},
     "CF425",
     E,
     0,
     PURGE_INVALIDATE},
    {"cdnpro preload",
     {"p"},
     "preload",
     {"/a.html", "https://img.example.com/b"},
     NULL,
     E,
     0,
     PURGE_INVALIDATE},

    {"nothing to do", {"www"}, NULL, {NULL}, "CF401", E, -1, PURGE_INVALIDATE},
    {"no endpoints", {NULL}, "files", {"/a"}, "CF217", E, -9, PURGE_INVALIDATE},
    {"unknown endpoint", {"nope"}, "files", {"/a"}, "CF205", E, -3, PURGE_INVALIDATE},
    {"unknown second endpoint", {"www", "nope"}, "files", {"/a"}, "CF205", E, -4, PURGE_INVALIDATE},
    {"duplicate endpoint", {"www", "www"}, "files", {"/a"}, "CF215", E, -4, PURGE_INVALIDATE},
    {"relative", {"www"}, "files", {"logo.png"}, "CF402", E, 0, PURGE_INVALIDATE},
    {"ftp", {"www"}, "files", {"ftp://www.example.com/a"}, "CF402", E, 0, PURGE_INVALIDATE},
    {"bad host syntax",
     {"www"},
     "files",
     {"https://www_example.com/a"},
     "CF402",
     E,
     0,
     PURGE_INVALIDATE},
    {"userinfo",
     {"www"},
     "files",
     {"https://u@www.example.com/a"},
     "CF402",
     E,
     0,
     PURGE_INVALIDATE},
    {"network path", {"www"}, "files", {"//www.example.com/a"}, "CF402", E, 0, PURGE_INVALIDATE},
    {"foreign host",
     {"www"},
     "files",
     {"/ok", "https://evil.com/a"},
     "CF403",
     E,
     1,
     PURGE_INVALIDATE},
    {"host of other endpoint",
     {"www", "az"},
     "files",
     {"https://www.example.com/a"},
     "CF403",
     E,
     0,
     PURGE_INVALIDATE},
    {"star in files", {"www"}, "files", {"/a*.png"}, "CF405", E, 0, PURGE_INVALIDATE},
    {"star in dirs", {"www"}, "dirs", {"/img/*/"}, "CF405", E, 0, PURGE_INVALIDATE},
    {"bad percent", {"www"}, "files", {"/123%zz.jpg"}, "CF406", E, 0, PURGE_INVALIDATE},
    {"trailing percent", {"www"}, "files", {"/a%"}, "CF406", E, 0, PURGE_INVALIDATE},
    {"escapes not utf-8", {"p"}, "files", {"/i/123%abc.jpg"}, "CF406", E, 0, PURGE_INVALIDATE},
    {"escapes utf-8", {"p"}, "files", {"/caf%C3%A9.jpg"}, NULL, E, 0, PURGE_INVALIDATE},
    {"brackets", {"www"}, "files", {"/newfile[1].png"}, "CF407", E, 0, PURGE_INVALIDATE},
    {"braces", {"www"}, "files", {"/a{b}"}, "CF407", E, 0, PURGE_INVALIDATE},
    {"backslash", {"www"}, "files", {"/a\\b"}, "CF407", E, 0, PURGE_INVALIDATE},
    {"backtick", {"www"}, "files", {"/a`b"}, "CF407", E, 0, PURGE_INVALIDATE},
    {"pipe", {"www"}, "files", {"/a|b"}, "CF407", E, 0, PURGE_INVALIDATE},
    {"caret", {"www"}, "files", {"/a^b"}, "CF407", E, 0, PURGE_INVALIDATE},
    {"angle", {"www"}, "files", {"/a<b>"}, "CF407", E, 0, PURGE_INVALIDATE},
    {"space", {"www"}, "files", {"/a b"}, "CF407", E, 0, PURGE_INVALIDATE},
    {"tab", {"www"}, "dirs", {"/a\tb/"}, "CF407", E, 0, PURGE_INVALIDATE},
    {"dot segment", {"www"}, "files", {"/a/./b"}, "CF408", E, 0, PURGE_INVALIDATE},
    {"dotdot segment", {"www"}, "files", {"/a/../b"}, "CF408", E, 0, PURGE_INVALIDATE},
    {"encoded dotdot", {"www"}, "files", {"/a/%2e%2E/b"}, "CF408", E, 0, PURGE_INVALIDATE},
    {"half encoded dotdot", {"www"}, "dirs", {"/a/.%2e/"}, "CF408", E, 0, PURGE_INVALIDATE},
    {"url dotdot",
     {"www"},
     "files",
     {"https://www.example.com/../x"},
     "CF408",
     E,
     0,
     PURGE_INVALIDATE},
    {"lf", {"www"}, "files", {"/a\nb"}, "CF409", E, 0, PURGE_INVALIDATE},
    {"cr", {"www"}, "files", {"/a\rb"}, "CF409", E, 0, PURGE_INVALIDATE},
    {"encoded crlf", {"www"}, "files", {"/a%0d%0aSet-Cookie:x"}, "CF409", E, 0, PURGE_INVALIDATE},
    {"dir without slash", {"www"}, "dirs", {"/img"}, "CF410", E, 0, PURGE_INVALIDATE},
    {"patterns on azure-china",
     {"www"},
     "patterns",
     {"https://www.example.com/*"},
     "CF411",
     E,
     0,
     PURGE_INVALIDATE},
    {"patterns mixed",
     {"p", "az"},
     "patterns",
     {"https://p.example.com/*"},
     "CF411",
     E,
     0,
     PURGE_INVALIDATE},
    {"patterns path", {"p"}, "patterns", {"/assets/*.css"}, "CF402", E, 0, PURGE_INVALIDATE},
    {"patterns foreign host",
     {"p"},
     "patterns",
     {"https://evil.com/*"},
     "CF403",
     E,
     0,
     PURGE_INVALIDATE},
    {"regex on azure",
     {"az"},
     "regex",
     {"https://az.example.com/.*"},
     "CF412",
     E,
     0,
     PURGE_INVALIDATE},
    {"regex mixed", {"www", "p"}, "regex", {RX ".*"}, "CF412", E, 0, PURGE_INVALIDATE},
    {"three regex",
     {"p"},
     "regex",
     {RX "a.*", RX "b.*", RX "c.*"},
     "CF413",
     E,
     2,
     PURGE_INVALIDATE},
    {"regex scheme", {"p"}, "regex", {"ftp://p.example.com/a"}, "CF414", E, 0, PURGE_INVALIDATE},
    {"regex no slash", {"p"}, "regex", {"https://p.example.com"}, "CF414", E, 0, PURGE_INVALIDATE},
    {"regex foreign host",
     {"p"},
     "regex",
     {"https://evil.com/a.*"},
     "CF403",
     E,
     0,
     PURGE_INVALIDATE},
    {"regex unlimited", {"p"}, "regex", {RX "a*b+c*"}, "CF416", E, 0, PURGE_INVALIDATE},
    {"regex open bound", {"p"}, "regex", {RX "a{2,}b*c+"}, "CF416", E, 0, PURGE_INVALIDATE},
    {"regex bound", {"p"}, "regex", {RX "a{1,60}"}, "CF417", E, 0, PURGE_INVALIDATE},
    {"regex compile", {"p"}, "regex", {RX "(a"}, "CF418", E, 0, PURGE_INVALIDATE},
    {"regex lf", {"p"}, "regex", {RX "a\nb"}, "CF409", E, 0, PURGE_INVALIDATE},
    {"delete on azure-china", {"www"}, "files", {"/a"}, "CF419", E, -2, PURGE_DELETE},
    {"delete mixed", {"p", "www"}, "files", {"/a"}, "CF419", E, -2, PURGE_DELETE},
    {"azure preload star", {"az"}, "preload", {"/a/*"}, "CF425", E, 0, PURGE_INVALIDATE},
    {"azure preload tilde", {"az"}, "preload", {"/a/b~c"}, "CF425", E, 0, PURGE_INVALIDATE},
    {"azure preload trailing slash", {"az"}, "preload", {"/a/"}, "CF425", E, 0, PURGE_INVALIDATE},
    {"azure preload relative", {"az"}, "preload", {"a.html"}, "CF425", E, 0, PURGE_INVALIDATE},
    {"azure preload foreign url",
     {"az"},
     "preload",
     {"https://evil.com/a"},
     "CF425",
     E,
     0,
     PURGE_INVALIDATE},
    {"azure preload ftp",
     {"az"},
     "preload",
     {"ftp://az.example.com/a"},
     "CF425",
     E,
     0,
     PURGE_INVALIDATE},
    {"azure preload bad host",
     {"az"},
     "preload",
     {"https://a\x01z/a"},
     "CF425",
     E,
     0,
     PURGE_INVALIDATE},
    {"regex with an unknown endpoint",
     {"www", "nope"},
     "regex",
     {RX ".*"},
     "CF412",
     E,
     0,
     PURGE_INVALIDATE},
    {"delete with an unknown endpoint",
     {"nope", "www"},
     "files",
     {"/a"},
     "CF419",
     E,
     -2,
     PURGE_DELETE},
    {"patterns, only unknown endpoints",
     {"nope"},
     "patterns",
     {RX "*"},
     "CF205",
     E,
     -3,
     PURGE_INVALIDATE},
    {"delete and regex on azure-china", {"www"}, "regex", {RX ".*"}, "CF419", E, -2, PURGE_DELETE},
    {"azure preload dotdot", {"az"}, "preload", {"/a/../b"}, "CF425", E, 0, PURGE_INVALIDATE},
    {"azure-china preload star", {"www"}, "preload", {"/a*"}, "CF405", E, 0, PURGE_INVALIDATE},
    {"duplicate file", {"www"}, "files", {"/a", "/b", "/a"}, "CF423", W, 2, PURGE_INVALIDATE},
    {"duplicate regex", {"p"}, "regex", {RX "a.*", RX "a.*"}, "CF423", W, 1, PURGE_INVALIDATE},
};

static void run_purge_case(const struct purge_case *pc)
{
	struct config *c = fixture();
	struct purge *p = add_purge(c, "2026-11-21-logo", pc->eps, pc->list, pc->entries);
	unsigned line = 0, col = 0;
	p->action = pc->action;
	if (pc->code && pc->where >= 0)
		line = (unsigned)(4 + pc->where), col = 7;
	else if (pc->where == -1)
		line = 1, col = 1;
	else if (pc->where == -2)
		line = 3, col = 9;
	else if (pc->where == -9)
		line = 2, col = 12;
	else if (pc->code)
		line = 2, col = (unsigned)(13 + 8 * (-3 - pc->where));
	expect(c, false, pc->desc, pc->code, pc->sev, F_PURGE, line, col);
	config_free(c);
}

static void test_check__purges(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(purge_cases); i++)
		run_purge_case(&purge_cases[i]);
}

static void test_check__purge_lengths(void **state)
{
	(void)state;
	const char *eps[] = {"www", NULL};
	const char *pro[] = {"p", NULL};
	char *s = xmalloc(URL_MAX + 64);
	const char *entries[] = {s, NULL};
	struct config *c;

	/* a path that fits alone but not once "https://www.example.com" is put in front */
	snprintf(s, URL_MAX + 64, "/%0*d", URL_MAX - 10, 0);
	c = fixture();
	add_purge(c, "long", eps, "files", entries);
	expect(c, false, "expanded too long", "CF404", E, F_PURGE, 4, 7);
	config_free(c);

	snprintf(s, URL_MAX + 64, "https://www.example.com/%0*d", URL_MAX - 24, 0);
	c = fixture();
	add_purge(c, "fits", eps, "files", entries);
	expect(c, false, "url at limit", NULL, E, NULL, 0, 0);
	config_free(c);

	snprintf(s, URL_MAX + 64, "https://www.example.com/%0*d", URL_MAX - 23, 0);
	c = fixture();
	add_purge(c, "too-long", eps, "files", entries);
	expect(c, false, "url over limit", "CF404", E, F_PURGE, 4, 7);
	config_free(c);

	snprintf(s, URL_MAX + 64, "/%0*d", URL_AZURE_LOAD_MAX, 0);
	c = fixture();
	const char *az[] = {"az", NULL};
	add_purge(c, "preload", az, "preload", entries);
	expect(c, false, "azure preload too long", "CF425", E, F_PURGE, 4, 7);
	config_free(c);

	snprintf(s, URL_MAX + 64, RX "%0*d", URL_REGEX_TAIL_MAX + 1, 0);
	c = fixture();
	add_purge(c, "regex", pro, "regex", entries);
	expect(c, false, "regex too long", "CF415", E, F_PURGE, 4, 7);
	config_free(c);
	free(s);
}

static void test_check__purge_ids_and_observe(void **state)
{
	(void)state;
	const char *eps[] = {"www", NULL};
	const char *files[] = {"/a", NULL};
	struct config *c = fixture();
	add_purge(c, "same", eps, "files", files);
	struct purge *p = add_purge(c, "same", eps, "files", files);
	p->pos.line = p->id.pos.line = 30;
	expect(c, false, "duplicate purge id", "CF203", E, F_PURGE, 30, 8);
	config_free(c);

	c = fixture();
	p = add_purge(c, "../x", eps, "files", files);
	expect(c, false, "bad purge id", "CF220", E, F_PURGE, 1, 8);
	config_free(c);

	c = fixture();
	ep(c, "www")->mode = MODE_OBSERVE;
	add_purge(c, "obs", eps, "files", files);
	expect(c, false, "observe endpoint", "CF424", W, F_PURGE, 2, 13);
	config_free(c);
}

static void add_header(struct config *c, struct purge *p, const char *name, const char *value,
		       unsigned line)
{
	struct pos kp = mkpos(c, F_PURGE, line, 3), vp = mkpos(c, F_PURGE, line, 20);
	p->header_names.pos = mkpos(c, F_PURGE, 9, 1);
	svec_push(&p->header_names, name, &kp);
	svec_push(&p->header_values, value, &vp);
}

/* CDN Pro specifics: prefetch is production-only; fileHeaders (cdnpro, unique names) */
static void test_check__purge_cdnpro_extras(void **state)
{
	(void)state;
	const char *pro[] = {"p", NULL}, *www[] = {"www", NULL};
	const char *files[] = {"/a", NULL};
	struct config *c = fixture();
	struct purge *p;
	sval_set(&ep(c, "p")->remote.target, "staging", NULL);
	add_purge(c, "pre", pro, "preload", files);
	expect(c, false, "preload on staging", "CF425", E, F_PURGE, 4, 7);
	config_free(c);

	c = fixture();
	p = add_purge(c, "h", pro, "files", files);
	add_header(c, p, "X-Device", "mobile", 10);
	add_header(c, p, "Accept-Language", "de, en;q=0.5", 11);
	expect(c, false, "file headers", NULL, E, NULL, 0, 0);
	add_header(c, p, "x-device", "tablet", 12);
	expect(c, false, "duplicate header name", "CF427", E, F_PURGE, 12, 3);
	config_free(c);

	c = fixture();
	p = add_purge(c, "h", pro, "files", files);
	add_header(c, p, "X Device", "a", 10);
	expect(c, false, "bad header name", "CF427", E, F_PURGE, 10, 3);
	config_free(c);

	c = fixture();
	p = add_purge(c, "h", pro, "files", files);
	add_header(c, p, "X-A", "a\r\nb", 10);
	expect(c, false, "header value with CR LF", "CF427", E, F_PURGE, 10, 20);
	config_free(c);

	c = fixture();
	p = add_purge(c, "h", www, "files", files);
	add_header(c, p, "X-A", "a", 10);
	expect(c, false, "file headers on azure-china", "CF426", E, F_PURGE, 10, 3);
	config_free(c);

	c = fixture();
	p = add_purge(c, "h", pro, "dirs", (const char *[]){"/d/", NULL});
	add_header(c, p, "X-A", "a", 10);
	expect(c, false, "file headers without files", "CF427", W, F_PURGE, 10, 3);
	config_free(c);
}

static void test_check__after_loader_errors(void **state)
{
	(void)state;
	struct config *c = fixture();
	struct diag_list d;
	struct loc p = {"cacheform.yaml", 0, 0};
	/* cacheform.yaml could not be read: no accounts, no version */
	for (size_t i = 0; i < c->naccounts; i++) {
		free(c->accounts[i].name.s);
		c->accounts[i].name.s = NULL;
		struct mval *m[] = {&c->accounts[i].subscription, &c->accounts[i].key_id,
				    &c->accounts[i].key_value,	  &c->accounts[i].tenant,
				    &c->accounts[i].client_id,	  &c->accounts[i].client_secret,
				    &c->accounts[i].user,	  &c->accounts[i].api_key};
		for (size_t k = 0; k < CF_ARRAY_LEN(m); k++)
			mval_release(m[k]);
	}
	c->naccounts = 0;
	c->version = 0;
	memset(&c->version_pos, 0, sizeof(c->version_pos));
	diag_init(&d);
	diag_add(&d, DIAG_ERROR, &p, "CF100", "cannot read 'cacheform.yaml'");
	assert_int_equal(check_config(c, NULL, &d), CF_EINVAL);
	assert_int_equal(d.n, 1); /* no CF201, no CF204 per endpoint */
	diag_release(&d);
	/* the same config without a loader error: both are reported */
	diag_init(&d);
	assert_int_equal(check_config(c, NULL, &d), CF_EINVAL);
	assert_int_equal(d.nerrors, 4); /* CF201 + CF204 for www, az, p */
	diag_release(&d);
	config_free(c);
}

/* 10,000 endpoints: name lookups must be hashed, not pairwise (runs well under a second). */
static void test_check__many_endpoints(void **state)
{
	(void)state;
	struct config *c = fixture();
	char name[32];
	const char *refs[MAX_LIST] = {NULL};
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		struct endpoint *e = add_endpoint(c, "endpoints/many.yaml", name, "cn");
		struct pos p = mkpos(c, e->file, 4, 16);
		sval_set(&e->remote.endpoint_id, GUID2, &p);
		add_host(c, e, "www.example.com");
		for (int r = 0; r < 20; r++) {
			snprintf(name, sizeof(name), "dir|/d%d/", r);
			add_rule(c, e, name);
		}
	}
	refs[0] = "e9999";
	refs[1] = "e0";
	const char *files[] = {"/x", NULL};
	add_purge(c, "many", refs, "files", files);
	expect(c, false, "many endpoints", NULL, E, NULL, 0, 0);
	config_free(c);
}

static void test_check__cdnpro_staging_preload(void **state)
{
	(void)state;
	const char *eps[] = {"p", NULL};
	const char *urls[] = {"https://p.example.com/a.js", NULL};
	struct config *c = fixture();
	sval_set(&ep(c, "p")->remote.target, "staging", NULL);
	add_purge(c, "warm", eps, "preload", urls);
	expect(c, false, "preload on staging", "CF425", E, F_PURGE, 4, 3);
	config_free(c);

	c = fixture();
	sval_set(&ep(c, "p")->remote.target, "staging", NULL);
	add_purge(c, "cold", eps, "files", urls);
	expect(c, true, "files on staging", NULL, E, F_PURGE, 0, 0);
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check__fixture_is_valid),
	    cmocka_unit_test(test_check__rules),
	    cmocka_unit_test(test_check__suffix_normalised),
	    cmocka_unit_test(test_check__long_item),
	    cmocka_unit_test(test_check__strict),
	    cmocka_unit_test(test_check__azure_rule_count),
	    cmocka_unit_test(test_check__lint_cap),
	    cmocka_unit_test(test_check__misc),
	    cmocka_unit_test(test_check__secret_not_in_message),
	    cmocka_unit_test(test_check__unknown_provider_skipped),
	    cmocka_unit_test(test_check__purges),
	    cmocka_unit_test(test_check__purge_lengths),
	    cmocka_unit_test(test_check__purge_cdnpro_extras),
	    cmocka_unit_test(test_check__purge_ids_and_observe),
	    cmocka_unit_test(test_check__cdnpro_staging_preload),
	    cmocka_unit_test(test_check__after_loader_errors),
	    cmocka_unit_test(test_check__many_endpoints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
