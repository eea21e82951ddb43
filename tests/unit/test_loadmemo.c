/*
 * Unit tests: a load given another load's memo (schema/load.h, cacheform diff) copies the
 * unchanged endpoint files instead of parsing them, and the result is what parsing gives:
 * the same endpoints member by member (positions naming the same file and place), the same
 * findings after check_config, cross-file ones included.
 */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/base/xmem.h"
#include "schema/check.h"
#include "schema/load.h"

/* One file of an in-memory source; id NULL: the source cannot name it (always read). */
struct mem_file {
	const char *path, *yaml, *id;
};

struct mem_src {
	const struct mem_file *v;
	size_t n;
};

static const struct mem_file *mem_find(const struct mem_src *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].path, path) == 0)
			return &m->v[i];
	return NULL;
}

/* The table lists each directory's files in sorted order already. */
static int mem_list(void *ctx, const char *dir, struct svec *names, struct cf_err *e)
{
	const struct mem_src *m = ctx;
	size_t n = strlen(dir);
	(void)e;
	for (size_t i = 0; i < m->n; i++)
		if (strncmp(m->v[i].path, dir, n) == 0 && m->v[i].path[n] == '/')
			svec_push(names, m->v[i].path, NULL);
	return 0;
}

static int mem_read(void *ctx, const char *path, size_t max, char **buf, size_t *len,
		    struct cf_err *e)
{
	const struct mem_file *f = mem_find(ctx, path);
	struct loc p = {path, 0, 0};
	(void)max;
	if (!f)
		return err_setat(e, CF_EIO, &p, SOURCE_CODE_IO, "no such file");
	*len = strlen(f->yaml);
	*buf = xstrdup(f->yaml);
	return 0;
}

static int mem_id(void *ctx, const char *path, char out[SOURCE_ID_MAX])
{
	const struct mem_file *f = mem_find(ctx, path);
	if (!f || !f->id)
		return -1;
	snprintf(out, SOURCE_ID_MAX, "%s", f->id);
	return 0;
}

static struct cf_source mem_source(struct mem_src *m)
{
	struct cf_source s = {m, mem_list, mem_read, "", mem_id};
	return s;
}

#define SETTINGS                                                                                   \
	"version: 1\n"                                                                             \
	"accounts:\n"                                                                              \
	"  cn:\n"                                                                                  \
	"    provider: azure-china\n"                                                              \
	"    subscription: e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb\n"                                 \
	"    key_id: {env: KEY_ID}\n"                                                              \
	"    key_value: {env: KEY_VALUE}\n"

/* Every member an endpoint file can set, and a suffix written with its dot (check_config
 * drops it with a notice: it must still be there to drop in the copy). */
#define EP_FULL                                                                                    \
	"endpoint: full\n"                                                                         \
	"account: cn\n"                                                                            \
	"remote:\n"                                                                                \
	"  endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a611\n"                                    \
	"  resource_group: rg\n"                                                                   \
	"  profile: pf\n"                                                                          \
	"  endpoint: ep\n"                                                                         \
	"  target: staging\n"                                                                      \
	"  property_id: '123'\n"                                                                   \
	"  route: rt\n"                                                                            \
	"  rule_set: rs\n"                                                                         \
	"hosts: [full.example.cn, img.example.cn]\n"                                               \
	"scheme: http\n"                                                                           \
	"mode: observe\n"                                                                          \
	"edge: {connect_to: '127.0.0.1:8080', scheme: http}\n"                                     \
	"cache:\n"                                                                                 \
	"  ignore_cache_control: true\n"                                                           \
	"  ignore_cookie: true\n"                                                                  \
	"  ignore_query_string: true\n"                                                            \
	"  rules:\n"                                                                               \
	"    - dir: [/pic/, /doc/]\n"                                                              \
	"      ttl: 1d\n"                                                                          \
	"    - suffix: [.jpg, png]\n"                                                              \
	"      ttl: 30d\n"                                                                         \
	"      ignore_cache_control: false\n"                                                      \
	"    - path: [/index.html]\n"                                                              \
	"      ttl: 0\n"                                                                           \
	"      name: home\n"

/* A loader error (unknown key), a check error (item with a dot) and a warning-level lint. */
#define EP_BAD                                                                                     \
	"endpoint: bad\n"                                                                          \
	"account: cn\n"                                                                            \
	"colour: blue\n"                                                                           \
	"remote: {endpoint_id: 2b6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93}\n"                            \
	"cache:\n"                                                                                 \
	"  rules:\n"                                                                               \
	"    - dir: [/a/]\n"                                                                       \
	"      ttl: 1h\n"                                                                          \
	"    - dir: [/a/b/, doc.d/]\n"                                                             \
	"      ttl: 2h\n"

#define EP_SAME                                                                                    \
	"endpoint: same\n"                                                                         \
	"account: cn\n"                                                                            \
	"remote: {endpoint_id: 3c6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93}\n"                            \
	"cache: {rules: [{suffix: [css], ttl: 1d}]}\n"

/* Dropped by the loader (no account): findings only, no endpoint. */
#define EP_DROPPED "endpoint: dropped\nhosts: [x.example.cn]\n"

static const struct mem_file base_files[] = {
    {"cacheform.yaml", SETTINGS, "s1"},
    {"endpoints/bad.yaml", EP_BAD, "b1"},
    {"endpoints/dropped.yaml", EP_DROPPED, "x1"},
    {"endpoints/full.yaml", EP_FULL, "f1"},
    {"endpoints/gone.yaml", "endpoint: gone\naccount: cn\n", "g1"},
    {"endpoints/same.yaml", EP_SAME, "m1"},
    {"endpoints/twin.yaml",
     "endpoint: twin\naccount: cn\nremote: {endpoint_id: 4c6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93}\n",
     "t1"},
};

/* aa.yaml is new (every later file's index moves); twin.yaml now names the endpoint that
 * same.yaml defines, so the unchanged same.yaml is part of a new cross-file error; unnamed.yaml
 * has the content of same.yaml under another path and no id (it is read). */
static const struct mem_file head_files[] = {
    {"cacheform.yaml", SETTINGS, "s1"},
    {"endpoints/aa.yaml", "endpoint: aa\naccount: cn\nmode: purge-only\n", "a2"},
    {"endpoints/bad.yaml", EP_BAD, "b1"},
    {"endpoints/dropped.yaml", EP_DROPPED, "x1"},
    {"endpoints/full.yaml", EP_FULL, "f1"},
    {"endpoints/same.yaml", EP_SAME, "m1"},
    {"endpoints/twin.yaml",
     "endpoint: same\naccount: cn\nremote: {endpoint_id: 4c6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93}\n",
     "t2"},
    {"endpoints/unnamed.yaml", EP_SAME, NULL},
};

static void same_pos(const struct config *ca, struct pos a, const struct config *cb, struct pos b)
{
	const char *fa = config_file_name(ca, a.file), *fb = config_file_name(cb, b.file);
	if (!fa || !fb)
		assert_true(fa == fb);
	else
		assert_string_equal(fa, fb);
	assert_int_equal(a.line, b.line);
	assert_int_equal(a.col, b.col);
}

static void same_sval(const struct config *ca, const struct sval *a, const struct config *cb,
		      const struct sval *b)
{
	if (!a->s || !b->s)
		assert_true(a->s == b->s);
	else
		assert_string_equal(a->s, b->s);
	same_pos(ca, a->pos, cb, b->pos);
}

static void same_svec(const struct config *ca, const struct svec *a, const struct config *cb,
		      const struct svec *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(svec_borrowed(a), svec_borrowed(b));
	same_pos(ca, a->pos, cb, b->pos);
	for (size_t i = 0; i < a->n; i++)
		same_sval(ca, &a->v[i], cb, &b->v[i]);
}

static void same_cache(const struct config *ca, const struct cache *a, const struct config *cb,
		       const struct cache *b)
{
	assert_int_equal(a->ignore_cache_control, b->ignore_cache_control);
	assert_int_equal(a->ignore_cookie, b->ignore_cookie);
	assert_int_equal(a->ignore_query_string, b->ignore_query_string);
	same_pos(ca, a->pos, cb, b->pos);
	same_pos(ca, a->ignore_cookie_pos, cb, b->ignore_cookie_pos);
	assert_int_equal(a->nrules, b->nrules);
	for (size_t i = 0; i < a->nrules; i++) {
		const struct rule *x = &a->rules[i], *y = &b->rules[i];
		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->cc, y->cc);
		assert_int_equal(x->ttl, y->ttl);
		same_svec(ca, &x->items, cb, &y->items);
		same_sval(ca, &x->name, cb, &y->name);
		same_pos(ca, x->ttl_pos, cb, y->ttl_pos);
		same_pos(ca, x->cc_pos, cb, y->cc_pos);
		same_pos(ca, x->pos, cb, y->pos);
	}
}

static void same_endpoint(const struct config *ca, const struct endpoint *a,
			  const struct config *cb, const struct endpoint *b)
{
	same_sval(ca, &a->name, cb, &b->name);
	assert_string_equal(a->file, b->file);
	same_sval(ca, &a->account_name, cb, &b->account_name);
	assert_true(!a->account == !b->account);
	if (a->account)
		assert_string_equal(a->account->name.s, b->account->name.s);
	const struct sval *ra[] = {&a->remote.endpoint_id, &a->remote.resource_group,
				   &a->remote.profile,	   &a->remote.endpoint,
				   &a->remote.target,	   &a->remote.property_id,
				   &a->remote.route,	   &a->remote.rule_set};
	const struct sval *rb[] = {&b->remote.endpoint_id, &b->remote.resource_group,
				   &b->remote.profile,	   &b->remote.endpoint,
				   &b->remote.target,	   &b->remote.property_id,
				   &b->remote.route,	   &b->remote.rule_set};
	for (size_t i = 0; i < CF_ARRAY_LEN(ra); i++)
		same_sval(ca, ra[i], cb, rb[i]);
	same_svec(ca, &a->hosts, cb, &b->hosts);
	same_sval(ca, &a->scheme, cb, &b->scheme);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->has_cache, b->has_cache);
	assert_int_equal(a->arena_strs, b->arena_strs);
	same_cache(ca, &a->cache, cb, &b->cache);
	same_pos(ca, a->pos, cb, b->pos);
	same_pos(ca, a->mode_pos, cb, b->mode_pos);
	same_sval(ca, &a->edge.connect_to, cb, &b->edge.connect_to);
	same_sval(ca, &a->edge.scheme, cb, &b->edge.scheme);
	same_pos(ca, a->edge.pos, cb, b->edge.pos);
}

static void same_diags(const struct diag_list *a, const struct diag_list *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->nerrors, b->nerrors);
	assert_int_equal(a->nwarnings, b->nwarnings);
	for (size_t i = 0; i < a->n; i++) {
		const struct diag *x = &a->v[i], *y = &b->v[i];
		assert_int_equal(x->sev, y->sev);
		assert_string_equal(x->code, y->code);
		assert_true(!x->pos.file == !y->pos.file);
		if (x->pos.file)
			assert_string_equal(x->pos.file, y->pos.file);
		assert_int_equal(x->pos.line, y->pos.line);
		assert_int_equal(x->pos.col, y->pos.col);
		assert_string_equal(x->msg, y->msg);
	}
}

static bool has_diag(const struct diag_list *d, const char *code, const char *file)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].code, code) == 0 && d->v[i].pos.file &&
		    strcmp(d->v[i].pos.file, file) == 0)
			return true;
	return false;
}

/* A side loaded and checked as cmd_load_pair does it, or alone as cmd_load does. */
struct side {
	struct config *c;
	struct diag_list d;
	struct load_memo m;
};

static void side_check(struct side *s)
{
	(void)check_config(s->c, NULL, &s->d);
	diag_sort(&s->d);
}

static void side_release(struct side *s)
{
	config_free(s->c);
	diag_release(&s->d);
	load_memo_release(&s->m);
}

static void test_loadmemo__copy_is_a_parse(void **state)
{
	struct mem_src mb = {base_files, CF_ARRAY_LEN(base_files)};
	struct mem_src mh = {head_files, CF_ARRAY_LEN(head_files)};
	struct cf_source sb = mem_source(&mb), sh = mem_source(&mh);
	struct side base = {0}, head = {0}, plain_base = {0}, plain_head = {0};
	(void)state;
	diag_init(&base.d);
	diag_init(&head.d);
	diag_init(&plain_base.d);
	diag_init(&plain_head.d);
	(void)load_repo_memo(&sb, NULL, &base.m, &base.c, &base.d);
	(void)load_repo_memo(&sh, &base.m, &head.m, &head.c, &head.d);
	(void)load_repo(&sb, &plain_base.c, &plain_base.d);
	(void)load_repo(&sh, &plain_head.c, &plain_head.d);
	/* bad, dropped, full and same: same path, same id; unnamed has no id; twin changed */
	assert_int_equal(head.m.ncopied, 4);
	const struct load_memo_file *f = load_memo_find(&head.m, "endpoints/same.yaml");
	assert_non_null(f);
	assert_int_not_equal(f->from, LOAD_NONE);
	assert_string_equal(base.c->endpoints[f->from].name.s, "same");
	f = load_memo_find(&head.m, "endpoints/dropped.yaml");
	assert_int_equal(f->ep, LOAD_NONE);
	assert_int_equal(load_memo_find(&head.m, "endpoints/twin.yaml")->from, LOAD_NONE);
	assert_int_equal(load_memo_find(&head.m, "endpoints/unnamed.yaml")->from, LOAD_NONE);
	assert_true(load_memo_same(&base.m, &head.m, LOAD_SETTINGS));
	assert_false(load_memo_same(&base.m, &head.m, LOAD_ENDPOINT));
	side_check(&base);
	side_check(&head);
	side_check(&plain_base);
	side_check(&plain_head);
	same_diags(&plain_base.d, &base.d);
	same_diags(&plain_head.d, &head.d);
	assert_int_equal(plain_head.c->nendpoints, head.c->nendpoints);
	for (size_t i = 0; i < head.c->nendpoints; i++)
		same_endpoint(plain_head.c, &plain_head.c->endpoints[i], head.c,
			      &head.c->endpoints[i]);
	/* the copies' findings: the loader's (unknown key), the checker's (a dot in a dir item,
	 * the dropped suffix dot), and the new duplicate that the unchanged same.yaml is part of */
	assert_true(has_diag(&head.d, "CF111", "endpoints/bad.yaml"));
	assert_true(has_diag(&head.d, "CF302", "endpoints/bad.yaml"));
	assert_true(has_diag(&head.d, "CF307", "endpoints/full.yaml"));
	assert_true(has_diag(&head.d, "CF113", "endpoints/dropped.yaml"));
	assert_true(has_diag(&head.d, "CF202", "endpoints/twin.yaml"));
	assert_false(has_diag(&base.d, "CF202", "endpoints/twin.yaml"));
	side_release(&base);
	side_release(&head);
	side_release(&plain_base);
	side_release(&plain_head);
}

/* A different cacheform.yaml (or none named) is not "the same settings". */
static void test_loadmemo__settings_compared(void **state)
{
	static const struct mem_file other[] = {
	    {"cacheform.yaml", SETTINGS "safety: {min_rules: 1}\n", "s2"},
	    {"endpoints/same.yaml", EP_SAME, "m1"},
	};
	static const struct mem_file noid[] = {
	    {"cacheform.yaml", SETTINGS, NULL},
	    {"endpoints/same.yaml", EP_SAME, "m1"},
	};
	struct mem_src mb = {base_files, CF_ARRAY_LEN(base_files)};
	struct mem_src mo = {other, CF_ARRAY_LEN(other)}, mn = {noid, CF_ARRAY_LEN(noid)};
	struct cf_source sb = mem_source(&mb), so = mem_source(&mo), sn = mem_source(&mn);
	struct side base = {0}, o = {0}, n = {0};
	(void)state;
	diag_init(&base.d);
	diag_init(&o.d);
	diag_init(&n.d);
	(void)load_repo_memo(&sb, NULL, &base.m, &base.c, &base.d);
	(void)load_repo_memo(&so, &base.m, &o.m, &o.c, &o.d);
	(void)load_repo_memo(&sn, &base.m, &n.m, &n.c, &n.d);
	assert_int_equal(o.m.ncopied, 1);
	assert_false(load_memo_same(&base.m, &o.m, LOAD_SETTINGS));
	assert_false(load_memo_same(&base.m, &n.m, LOAD_SETTINGS));
	assert_true(load_memo_same(&base.m, &base.m, LOAD_SETTINGS));
	side_release(&base);
	side_release(&o);
	side_release(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loadmemo__copy_is_a_parse),
	    cmocka_unit_test(test_loadmemo__settings_compared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
