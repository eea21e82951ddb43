/* Unit tests: YAML -> struct config, and every YAML-level rejection with its code and place. */
#include "reconcile/base/compat.h"
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
/* Only to make libyaml and libgit2 report running out of memory (see "out of memory" below);
 * the code under test keeps them to schema/ytree.c and reconcile/repo*.c. */
#include <yaml.h>

#include "reconcile/repo_lib.h"

#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"
#include "schema/load.h"
#include "reconcile/repo.h"

struct reject_case {
	enum load_kind kind;
	const char *yaml;
	const char *code;
	unsigned line, col;
};

#define EP_HEAD "endpoint: www\naccount: cn\n"

static const struct reject_case reject_cases[] = {
    /* syntax, located by libyaml */
    {LOAD_ENDPOINT, "endpoint: [www\naccount: cn\n", "CF105", 2, 8},
    {LOAD_ENDPOINT, "endpoint: www\n  account: cn\n", "CF105", 2, 10},
    /* encoding */
    {LOAD_ENDPOINT, "endpoint: w\xff\n", "CF103", 1, 12},
    {LOAD_ENDPOINT, "endpoint: ok\naccount: \xc0\xaf\n", "CF103", 2, 10},
    {LOAD_ENDPOINT, "endpoint: \xed\xa0\x80\n", "CF103", 1, 11},
    /* a NUL decoded from an escape, which a C string would cut to "w" */
    {LOAD_ENDPOINT, "endpoint: \"w\\0w\"\naccount: cn\n", "CF104", 1, 11},
    {LOAD_ENDPOINT, EP_HEAD "hosts: [\"a\\x00b\"]\n", "CF104", 3, 9},
    /* tags are refused, not ignored */
    {LOAD_ENDPOINT, "endpoint: !!str www\naccount: cn\n", "CF119", 1, 11},
    {LOAD_ENDPOINT, EP_HEAD "hosts: !seq [a]\n", "CF119", 3, 8},
    {LOAD_ENDPOINT, EP_HEAD "cache: !!map {ignore_cookie: true}\n", "CF119", 3, 8},
    {LOAD_ENDPOINT,
     "\xef\xbb\xbf"
     "endpoint: !x www\naccount: cn\n",
     "CF119", 1, 11},
    /* keys */
    {LOAD_ENDPOINT, EP_HEAD "endpoint: again\n", "CF110", 3, 1},
    {LOAD_ENDPOINT, EP_HEAD "colour: red\n", "CF111", 3, 1},
    {LOAD_ENDPOINT, "account: cn\n", "CF113", 1, 1},
    {LOAD_PURGE, "purge: p1\nfiles: [/a]\n", "CF113", 1, 1},
    {LOAD_SETTINGS, "accounts: {}\n", "CF113", 1, 1},
    {LOAD_SETTINGS, "version: 1\naccounts:\n  cn: {subscription: x}\n", "CF113", 3, 7},
    /* types */
    {LOAD_ENDPOINT, "endpoint: {a: 1}\naccount: cn\n", "CF112", 1, 11},
    {LOAD_ENDPOINT, EP_HEAD "hosts: www.example.com\n", "CF112", 3, 8},
    {LOAD_ENDPOINT, EP_HEAD "hosts: [[a]]\n", "CF112", 3, 9},
    {LOAD_ENDPOINT, EP_HEAD "cache:\n  rules:\n    - dir: [/a/]\n      ignore_cache_control: 1h\n",
     "CF112", 6, 29},
    {LOAD_ENDPOINT, EP_HEAD "cache: {ignore_cookie: \"true\"}\n", "CF112", 3, 24},
    {LOAD_ENDPOINT, EP_HEAD "cache: {ignore_cookie: yes}\n", "CF112", 3, 24},
    {LOAD_ENDPOINT, EP_HEAD "cache: {rules: {dir: [/a/]}}\n", "CF112", 3, 16},
    {LOAD_ENDPOINT, EP_HEAD "endpoint:\n", "CF110", 3, 1},
    {LOAD_ENDPOINT, "endpoint:\naccount: cn\n", "CF112", 1, 10},
    {LOAD_ENDPOINT, "- a\n- b\n", "CF112", 1, 1},
    {LOAD_ENDPOINT, "? [a]\n: b\n", "CF112", 1, 3},
    /* words and numbers */
    {LOAD_ENDPOINT, EP_HEAD "mode: sometimes\n", "CF114", 3, 7},
    {LOAD_PURGE, "purge: p\nendpoints: [www]\naction: nuke\n", "CF114", 3, 9},
    {LOAD_SETTINGS, "version: 1\naccounts:\n  x: {provider: akamai}\n", "CF114", 3, 17},
    {LOAD_SETTINGS, "version: one\n", "CF115", 1, 10},
    {LOAD_SETTINGS, "version: 1\nsafety: {max_change_pct: 101}\n", "CF114", 2, 26},
    {LOAD_ENDPOINT, EP_HEAD "cache:\n  rules:\n    - dir: [/a/]\n      ttl: -5\n", "CF115", 6, 12},
    {LOAD_ENDPOINT, EP_HEAD "cache:\n  rules:\n    - dir: [/a/]\n      ttl: 1.5h\n", "CF115", 6,
     12},
    {LOAD_ENDPOINT, EP_HEAD "cache:\n  rules:\n    - dir: [/a/]\n      ttl: 99999999999999999999\n",
     "CF115", 6, 12},
    /* rule shape */
    {LOAD_ENDPOINT, EP_HEAD "cache:\n  rules:\n    - dir: [/a/]\n      path: [/b]\n      ttl: 1\n",
     "CF116", 6, 13},
    {LOAD_ENDPOINT, EP_HEAD "cache:\n  rules:\n    - ttl: 1\n", "CF116", 5, 7},
    {LOAD_ENDPOINT, EP_HEAD "cache:\n  rules:\n    - dir: [/a/]\n", "CF113", 5, 7},
    /* indirect values */
    {LOAD_SETTINGS, "version: 1\naccounts:\n  c: {provider: azure, api_key: {vault: x}}\n", "CF117",
     3, 33},
    {LOAD_SETTINGS, "version: 1\naccounts:\n  c: {provider: azure, api_key: {env: 1BAD}}\n",
     "CF117", 3, 33},
    {LOAD_SETTINGS, "version: 1\naccounts:\n  c: {provider: azure, api_key: {env: A, file: b}}\n",
     "CF117", 3, 33},
    /* documents */
    {LOAD_ENDPOINT, "", "CF109", 1, 1},
    {LOAD_ENDPOINT, "# only a comment\n", "CF109", 1, 1},
    {LOAD_ENDPOINT, EP_HEAD "---\n" EP_HEAD, "CF109", 3, 1},
    /* aliases */
    {LOAD_ENDPOINT, "endpoint: *nope\naccount: cn\n", "CF108", 1, 11},
    {LOAD_ENDPOINT, "endpoint: &a [*a]\naccount: cn\n", "CF108", 1, 15},
};

static void test_load__rejections(void **state)
{
	size_t bad = 0;
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(reject_cases); i++) {
		const struct reject_case *rc = &reject_cases[i];
		struct config *c = config_new();
		struct diag_list d;
		diag_init(&d);
		int r = load_buffer(c, rc->kind, "t.yaml", rc->yaml, strlen(rc->yaml), &d);
		bool found = false;
		for (size_t j = 0; j < d.n; j++)
			if (strcmp(d.v[j].code, rc->code) == 0 && d.v[j].pos.line == rc->line &&
			    d.v[j].pos.col == rc->col && strcmp(d.v[j].pos.file, "t.yaml") == 0)
				found = true;
		/* Report every failing row, not only the first. */
		if (!found || r != CF_EINVAL) {
			bad++;
			print_error("case %zu (%s): wanted %s at %u:%u, got:\n", i, rc->yaml,
				    rc->code, rc->line, rc->col);
			for (size_t j = 0; j < d.n; j++)
				print_error("  %s %u:%u %s\n", d.v[j].code, d.v[j].pos.line,
					    d.v[j].pos.col, d.v[j].msg);
		}
		diag_release(&d);
		config_free(c);
	}
	assert_int_equal(bad, 0);
}

static int load_one_str(struct config *c, enum load_kind k, const char *s, struct diag_list *d)
{
	return load_buffer(c, k, "t.yaml", s, strlen(s), d);
}

/* A UTF-8 byte order mark at the start of a file is skipped, not a syntax error. */
static void test_load__bom(void **state)
{
	(void)state;
	static const char y[] = "\xef\xbb\xbf"
				"endpoint: www\naccount: cn\nhosts: [a.example.com]\n";
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_one_str(c, LOAD_ENDPOINT, y, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->nendpoints, 1);
	assert_string_equal(c->endpoints[0].name.s, "www");
	diag_release(&d);
	config_free(c);
}

static void test_load__nul_byte(void **state)
{
	(void)state;
	static const char buf[] = "endpoint: a\naccount: c\0d\n";
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_buffer(c, LOAD_ENDPOINT, "n.yaml", buf, sizeof(buf) - 1, &d),
			 CF_EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "CF104");
	assert_int_equal(d.v[0].pos.line, 2);
	assert_int_equal(d.v[0].pos.col, 11);
	assert_int_equal(c->nendpoints, 0);
	diag_release(&d);
	config_free(c);
}

/* Builds "a: &a [x,x,...]" then each level a list of ten aliases of the previous one. */
static char *alias_bomb(int levels)
{
	struct sb sb;
	sb_init(&sb, 0);
	(void)sb_adds(&sb, "endpoint: www\naccount: cn\nhosts: x\nl0: &l0 [x,x,x,x,x,x,x,x,x,x]\n");
	for (int i = 1; i < levels; i++)
		(void)sb_addf(
		    &sb, "l%d: &l%d [*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d]\n", i, i,
		    i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	return sb_detach(&sb);
}

static void test_load__alias_bomb(void **state)
{
	(void)state;
	char *bomb = alias_bomb(9); /* 10^9 nodes when expanded */
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_one_str(c, LOAD_ENDPOINT, bomb, &d), CF_EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "CF107");
	/* The level whose aliases first pass 100,000 expanded nodes: line 3 + 5. */
	assert_int_equal(d.v[0].pos.line, 8);
	diag_release(&d);
	config_free(c);
	free(bomb);
}

static void test_load__small_aliases_allowed(void **state)
{
	(void)state;
	const char *y = "endpoint: www\naccount: cn\nhosts: &h [a.example.com, b.example.com]\n"
			"cache:\n  rules:\n    - dir: &d [/a/]\n      ttl: 1d\n"
			"    - path: *d\n      ttl: 0\n";
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_one_str(c, LOAD_ENDPOINT, y, &d), 0);
	assert_int_equal(c->endpoints[0].cache.nrules, 2);
	assert_string_equal(c->endpoints[0].cache.rules[1].items.v[0].s, "/a/");
	diag_release(&d);
	config_free(c);
}

static void test_load__deep_nesting(void **state)
{
	(void)state;
	size_t depth = 100000;
	char *buf = xmalloc(depth * 2 + 32);
	size_t n = 0;
	n += (size_t)snprintf(buf, 32, "endpoint: ");
	for (size_t i = 0; i < depth; i++)
		buf[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		buf[n++] = ']';
	buf[n] = '\0';
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_buffer(c, LOAD_ENDPOINT, "deep.yaml", buf, n, &d), CF_EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "CF106");
	assert_int_equal(d.v[0].pos.line, 1);
	assert_int_equal(d.v[0].pos.col, 11 + 63);
	diag_release(&d);
	config_free(c);
	free(buf);
}

static void test_load__too_big(void **state)
{
	(void)state;
	size_t n = LOAD_MAX_FILE_BYTES + 1;
	char *buf = xmalloc(n);
	memset(buf, '#', n);
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_buffer(c, LOAD_PURGE, "big.yaml", buf, n, &d), CF_EINVAL);
	assert_string_equal(d.v[0].code, "CF101");
	diag_release(&d);
	config_free(c);
	free(buf);
}

static void test_load__error_cap(void **state)
{
	(void)state;
	struct sb sb;
	sb_init(&sb, 0);
	(void)sb_adds(&sb, EP_HEAD);
	for (int i = 0; i < 500; i++)
		(void)sb_addf(&sb, "k%d: 1\n", i);
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_one_str(c, LOAD_ENDPOINT, sb.buf, &d), CF_EINVAL);
	assert_int_equal(d.n, 51);
	assert_string_equal(d.v[50].code, "CF118");
	diag_release(&d);
	config_free(c);
	sb_release(&sb);
}

static void test_load__many_duplicate_keys(void **state)
{
	(void)state;
	struct sb sb;
	sb_init(&sb, 0);
	(void)sb_adds(&sb, "version: 1\naccounts:\n");
	for (int i = 0; i < 40; i++)
		(void)sb_addf(&sb, "  a%d: {provider: cdnpro}\n", i % 30);
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_one_str(c, LOAD_SETTINGS, sb.buf, &d), CF_EINVAL);
	assert_int_equal(d.n, 10);
	for (size_t i = 0; i < d.n; i++)
		assert_string_equal(d.v[i].code, "CF110");
	assert_int_equal(c->naccounts, 30);
	diag_release(&d);
	config_free(c);
	sb_release(&sb);
}

static const char settings_ok[] = "version: 1\n"
				  "accounts:\n"
				  "  cn:\n"
				  "    provider: azure-china\n"
				  "    subscription: e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb\n"
				  "    key_id: {env: KEY_ID}\n"
				  "    key_value: {file: secrets/key}\n"
				  "    timeout: 1m\n"
				  "  pro:\n"
				  "    provider: cdnpro\n"
				  "    rate_limit: {per_minute: 30, burst: 60}\n"
				  "safety: {max_change_pct: 10, min_rules: 2}\n";

static void test_load__settings(void **state)
{
	(void)state;
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_one_str(c, LOAD_SETTINGS, settings_ok, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->version, 1);
	assert_int_equal(c->naccounts, 2);
	const struct account *a = &c->accounts[0];
	assert_string_equal(a->name.s, "cn");
	assert_int_equal(a->name.pos.line, 3);
	assert_int_equal(a->name.pos.col, 3);
	assert_int_equal(a->provider, PROV_AZURE_CHINA);
	assert_int_equal(a->subscription.kind, MVAL_LITERAL);
	assert_int_equal(a->key_id.kind, MVAL_ENV);
	assert_string_equal(a->key_id.text, "KEY_ID");
	assert_int_equal(a->key_id.pos.line, 6);
	assert_int_equal(a->key_value.kind, MVAL_FILE);
	assert_string_equal(a->key_value.text, "secrets/key");
	assert_int_equal(a->timeout_s, 60);
	assert_int_equal(a->api_key.kind, MVAL_ABSENT);
	assert_int_equal(c->accounts[1].provider, PROV_CDNPRO);
	assert_true(c->accounts[1].rate_limit.set);
	assert_int_equal(c->accounts[1].rate_limit.per_minute, 30);
	assert_int_equal(c->accounts[1].rate_limit.burst, 60);
	assert_int_equal(c->safety.max_change_pct, 10);
	assert_int_equal(c->safety.min_rules, 2);
	diag_release(&d);
	config_free(c);
}

static const char endpoint_ok[] = "endpoint: www\n"
				  "account: cn\n"
				  "remote:\n"
				  "  endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a611\n"
				  "hosts: [www.example.com, img.example.com]\n"
				  "mode: observe\n"
				  "cache:\n"
				  "  ignore_cache_control: true\n"
				  "  ignore_query_string: True\n"
				  "  rules:\n"
				  "    - dir: [/pic/, /doc/]\n"
				  "      ttl: 1d\n"
				  "    - suffix: [jpg, png]\n"
				  "      ttl: 2592000\n"
				  "      ignore_cache_control: false\n"
				  "    - path: [/index.html]\n"
				  "      ttl: 0\n"
				  "      name: home\n";

static void test_load__endpoint(void **state)
{
	(void)state;
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_one_str(c, LOAD_ENDPOINT, endpoint_ok, &d), 0);
	assert_int_equal(c->nendpoints, 1);
	const struct endpoint *e = &c->endpoints[0];
	assert_string_equal(e->name.s, "www");
	assert_string_equal(e->file, "t.yaml");
	assert_string_equal(e->account_name.s, "cn");
	assert_string_equal(e->remote.endpoint_id.s, "8137ecc4-71c4-11e7-8259-0017fa00a611");
	assert_null(e->remote.profile.s);
	assert_int_equal(e->hosts.n, 2);
	assert_int_equal(e->hosts.v[1].pos.line, 5);
	assert_int_equal(e->hosts.v[1].pos.col, 26);
	assert_string_equal(e->scheme.s, "https");
	assert_int_equal(e->mode, MODE_OBSERVE);
	assert_true(e->has_cache);
	assert_true(e->cache.ignore_cache_control);
	assert_false(e->cache.ignore_cookie);
	assert_true(e->cache.ignore_query_string);
	assert_int_equal(e->cache.nrules, 3);
	assert_int_equal(e->cache.rules[0].kind, RULE_DIR);
	assert_int_equal(e->cache.rules[0].items.n, 2);
	assert_int_equal(e->cache.rules[0].ttl, 86400);
	assert_int_equal(e->cache.rules[0].ttl_pos.line, 12);
	assert_int_equal(e->cache.rules[0].ttl_pos.col, 12);
	assert_int_equal(e->cache.rules[0].pos.line, 11);
	assert_int_equal(e->cache.rules[0].pos.col, 7);
	assert_int_equal(e->cache.rules[1].kind, RULE_SUFFIX);
	assert_int_equal(e->cache.rules[1].ttl, 2592000);
	assert_int_equal(e->cache.rules[0].cc, RULE_CC_INHERIT);
	assert_int_equal(e->cache.rules[1].cc, RULE_CC_HONOUR);
	assert_int_equal(e->cache.rules[1].cc_pos.line, 15);
	assert_int_equal(e->cache.rules[1].cc_pos.col, 29);
	assert_false(rule_ignores_cc(&e->cache, &e->cache.rules[1]));
	assert_true(rule_ignores_cc(&e->cache, &e->cache.rules[0]));
	assert_int_equal(e->cache.rules[2].kind, RULE_PATH);
	assert_int_equal(e->cache.rules[2].ttl, 0);
	assert_string_equal(e->cache.rules[2].name.s, "home");
	assert_null(e->cache.rules[0].name.s);
	/* Lists live in the config's arena (validate's memory bound), not one block per item. */
	assert_true(svec_borrowed(&e->hosts));
	assert_true(svec_borrowed(&e->cache.rules[0].items));
	assert_string_equal(e->cache.rules[0].items.v[1].s, "/doc/");
	diag_release(&d);
	config_free(c);
}

/*
 * An endpoint's name, account, scheme and remote ids are read into the config's arena
 * (arena_strs): kept endpoints, repeated keys (reported; the first value is kept) and dropped
 * endpoints (no account: freed through a scratch config) all free cleanly under ASan, and the
 * arena grows by their bytes instead of one heap block each.
 */
static const struct {
	const char *yaml;
	int want_rc;
	size_t want_n; /* endpoints kept */
	const char *name, *account, *scheme, *rg; /* of the kept endpoint; NULL = unset */
} arena_str_cases[] = {
    {"endpoint: a1\naccount: g\nremote: {resource_group: rg, profile: p, endpoint: a1}\n"
     "hosts: [a.example.com]\n",
     0, 1, "a1", "g", "https", "rg"},
    {"endpoint: a1\naccount: g\nscheme: http\nremote: {endpoint_id: id1, target: t}\n", 0, 1,
     "a1", "g", "http", NULL},
    {"endpoint: a1\nendpoint: a2\naccount: g\nscheme: http\nscheme: https\n"
     "remote: {resource_group: r1, resource_group: r2}\n",
     CF_EINVAL, 1, "a1", "g", "http", "r1"},
    {"endpoint: a1\nremote: {resource_group: rg, profile: p}\n", CF_EINVAL, 0, NULL, NULL, NULL,
     NULL},
    {"account: g\nscheme: http\nremote: {endpoint_id: [x], route: r}\n", CF_EINVAL, 0, NULL,
     NULL, NULL, NULL},
};

static void test_load__endpoint_arena_strings(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(arena_str_cases); i++) {
		struct config *c = config_new();
		struct diag_list d;
		diag_init(&d);
		assert_int_equal(load_one_str(c, LOAD_ENDPOINT, arena_str_cases[i].yaml, &d),
				 arena_str_cases[i].want_rc);
		assert_int_equal(c->nendpoints, arena_str_cases[i].want_n);
		if (c->nendpoints) {
			const struct endpoint *e = &c->endpoints[0];
			assert_true(e->arena_strs);
			assert_string_equal(e->name.s, arena_str_cases[i].name);
			assert_string_equal(e->account_name.s, arena_str_cases[i].account);
			assert_string_equal(e->scheme.s, arena_str_cases[i].scheme);
			if (arena_str_cases[i].rg)
				assert_string_equal(e->remote.resource_group.s, arena_str_cases[i].rg);
			else
				assert_null(e->remote.resource_group.s);
			assert_true(config_arena_held(c) > 0);
		}
		diag_release(&d);
		config_free(c);
	}
}

static void test_load__purge_hash(void **state)
{
	(void)state;
	const char *y = "purge: p1\nendpoints: [www]\nfiles: [/a.png]\naction: delete\n";
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_one_str(c, LOAD_PURGE, y, &d), 0);
	assert_int_equal(c->npurges, 1);
	const struct purge *p = &c->purges[0];
	assert_string_equal(p->id.s, "p1");
	assert_int_equal(p->action, PURGE_DELETE);
	assert_int_equal(p->files.n, 1);
	assert_int_equal(p->dirs.n, 0);
	/* printf 'purge: p1\nendpoints: [www]\nfiles: [/a.png]\naction: delete\n' | sha256sum */
	assert_string_equal(p->content_hash,
			    "998ce14013c6300320ced8c181294d8867527f0493aa7044a3636e8f6ec353a6");
	diag_release(&d);
	config_free(c);
}

static void test_load__file_headers(void **state)
{
	(void)state;
	const char *y = "purge: p1\nendpoints: [p]\nfiles: [/a.png]\n"
			"file_headers: {X-Device: mobile, Accept-Language: \"de\"}\n";
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_one_str(c, LOAD_PURGE, y, &d), 0);
	const struct purge *p = &c->purges[0];
	assert_int_equal(p->header_names.n, 2);
	assert_int_equal(p->header_values.n, 2);
	assert_string_equal(p->header_names.v[1].s, "Accept-Language");
	assert_string_equal(p->header_values.v[1].s, "de");
	assert_int_equal(p->header_names.v[1].pos.line, 4);
	diag_release(&d);
	config_free(c);

	const char *bad[] = {"purge: p1\nendpoints: [p]\nfile_headers: [X-A]\n",
			     "purge: p1\nendpoints: [p]\nfile_headers: {X-A: [1]}\n",
			     "purge: p1\nendpoints: [p]\nfile_headers: {X-A: a, X-A: b}\n"};
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		c = config_new();
		diag_init(&d);
		load_one_str(c, LOAD_PURGE, bad[i], &d);
		if (d.nerrors == 0)
			fail_msg("case %zu: no error", i);
		diag_release(&d);
		config_free(c);
	}
}

/* ---- out of memory: libraries that report it as an error end the process like xmem ---- */

enum oom_fake { FAKE_NONE, FAKE_YAML_INIT, FAKE_YAML_PARSE, FAKE_OPENDIR, FAKE_GIT_OPEN };
static enum oom_fake oom_fake; /* set only in the forked child */

/* These preempt the libraries' definitions; without a fake they forward (RTLD_NEXT). */
int yaml_parser_initialize(yaml_parser_t *p)
{
	int (*real)(yaml_parser_t *) =
	    (int (*)(yaml_parser_t *))dlsym(RTLD_NEXT, "yaml_parser_initialize");
	return oom_fake == FAKE_YAML_INIT ? 0 : real(p);
}

int yaml_parser_parse(yaml_parser_t *p, yaml_event_t *ev)
{
	int (*real)(yaml_parser_t *, yaml_event_t *) =
	    (int (*)(yaml_parser_t *, yaml_event_t *))dlsym(RTLD_NEXT, "yaml_parser_parse");
	if (oom_fake != FAKE_YAML_PARSE)
		return real(p, ev);
	p->error = YAML_MEMORY_ERROR; /* what libyaml sets when its allocator fails */
	p->problem = NULL;
	return 0;
}

DIR *opendir(const char *name)
{
	DIR *(*real)(const char *) = (DIR * (*)(const char *)) dlsym(RTLD_NEXT, "opendir");
	if (oom_fake != FAKE_OPENDIR)
		return real(name);
	errno = ENOMEM;
	return NULL;
}

/*
 * libgit2 is loaded with dlopen and called through repo_lib's table (reconcile/repo_lib.h), so
 * its functions are faked by replacing their entry there, not by interposing a definition. The
 * child holds a git_libgit2_init of its own, so the table outlives the open's init/shutdown.
 */
static int fake_git_open(git_repository **out, const char *path, unsigned int flags,
			 const char *ceiling)
{
	(void)out;
	(void)path;
	(void)flags;
	(void)ceiling;
	void *h = dlopen(REPO_LIBGIT2_SONAME, RTLD_NOW | RTLD_NOLOAD);
	void (*set_oom)(void) = NULL;
	if (h)
		*(void **)&set_oom = dlsym(h, "git_error_set_oom");
	if (set_oom)
		set_oom();
	if (h)
		dlclose(h);
	return -1;
}

static void fake_git_install(void)
{
	git_libgit2_init();
	git_repository_open_ext = fake_git_open; /* the table's entry (repo_lib.h's macro) */
}

void __lsan_disable(void) __attribute__((weak));

static char oom_repo[64];

/* Loads oom_repo (or one buffer for the YAML fakes); exits 0 when the load returned. */
static void oom_child(void)
{
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	if (oom_fake == FAKE_YAML_INIT || oom_fake == FAKE_YAML_PARSE) {
		(void)load_one_str(c, LOAD_ENDPOINT, EP_HEAD, &d);
	} else {
		struct repo_src *src = NULL;
		struct config *rc = NULL;
		struct cf_err e;
		if (repo_src_open(oom_repo, NULL, &src, &e) == 0) {
			struct cf_source ls = repo_src_source(src);
			(void)load_repo(&ls, &rc, &d);
		}
		config_free(rc);
		repo_src_free(src);
	}
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s %s\n", d.v[i].code, d.v[i].msg);
	_exit(0);
}

/* Runs oom_child with fake f in a child; asserts it exited 1 through the out-of-memory path. */
static void expect_oom_exit(enum oom_fake f)
{
	int fds[2];
	char out[4096];
	size_t n = 0;
	ssize_t r;
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (__lsan_disable)
			__lsan_disable(); /* exiting on out of memory leaks by design */
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		oom_fake = f;
		if (f == FAKE_GIT_OPEN)
			fake_git_install();
		oom_child();
	}
	close(fds[1]);
	while ((r = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 || !strstr(out, "cacheform: out of memory"))
		print_error("fake %d: wait status 0x%x, output:\n%s\n", (int)f, st, out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_non_null(strstr(out, "cacheform: out of memory"));
}

static void test_load__out_of_memory(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	char path[128];
	snprintf(oom_repo, sizeof(oom_repo), "%s/cf-load-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(oom_repo));
	snprintf(path, sizeof(path), "%s/cacheform.yaml", oom_repo);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("version: 1\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/endpoints", oom_repo);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_oom_exit(FAKE_YAML_INIT);
	expect_oom_exit(FAKE_YAML_PARSE);
	expect_oom_exit(FAKE_OPENDIR);
	expect_oom_exit(FAKE_GIT_OPEN);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/cacheform.yaml", oom_repo);
	remove(path);
	rmdir(oom_repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load__rejections),
	    cmocka_unit_test(test_load__nul_byte),
	    cmocka_unit_test(test_load__bom),
	    cmocka_unit_test(test_load__alias_bomb),
	    cmocka_unit_test(test_load__small_aliases_allowed),
	    cmocka_unit_test(test_load__deep_nesting),
	    cmocka_unit_test(test_load__too_big),
	    cmocka_unit_test(test_load__error_cap),
	    cmocka_unit_test(test_load__many_duplicate_keys),
	    cmocka_unit_test(test_load__settings),
	    cmocka_unit_test(test_load__endpoint),
	    cmocka_unit_test(test_load__endpoint_arena_strings),
	    cmocka_unit_test(test_load__purge_hash),
	    cmocka_unit_test(test_load__file_headers),
	    cmocka_unit_test(test_load__out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
