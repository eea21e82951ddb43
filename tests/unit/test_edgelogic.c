/* Unit tests: Edge Logic subset (reconcile/edgelogic.c) and nginx location precedence
 * (reconcile/sem_edgelogic.c), including the differential test against first match. */
#include "reconcile/base/compat.h"
#include <ctype.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/edgelogic.h"
#include "reconcile/sem_edgelogic.h"
#include "reconcile/base/xmem.h"

#define DIFF_LISTS 10000 /* random rule lists in the differential test */
#define DIFF_SEED  20261202u
#define DIFF_RULES 6 /* at most this many rules per list */
#define DIFF_ITEMS 3 /* at most this many items per rule */
#define PATH_BUF   128
#define HASH_ZERO  "0000000000000000000000000000000000000000000000000000000000000000"
#define BEGIN_ZERO EL_BEGIN HASH_ZERO "\n"

/* ---- parsing ---- */

static const struct {
	const char *text;
	int rc;
	size_t nlocs;
	const char *msg; /* substring of the error */
} parse_cases[] = {
    {"", 0, 0, NULL},
    {"location / { origin_pass o; }", 0, 1, NULL},
    {"location = /a { return 200; }\nlocation ^~ /s/ { origin_pass o; }\n"
     "location ~ \\.jpg$ { origin_pass o; }\nlocation ~* \"\\.PNG$\" { origin_pass o; }\n"
     "location @named { origin_pass o; }",
     0, 5, NULL},
    {"# comment { not a block\nlocation / { origin_pass o; } # trailing", 0, 1, NULL},
    {"set $x \"a;b{c}\"; location / { set $y ${x}z; origin_pass o; }", 0, 1, NULL},
    {"location ~ a#b { origin_pass o; }", 0, 1, NULL}, /* '#' inside a word is literal */
    {"location =/x { return 200; }\nlocation ~*\\.JPG$ { origin_pass o; }", 0, 2, NULL},
    {"if ($http_x) { return 403; }\nlocation / { origin_pass o; }", 0, 1, NULL},
    {"location / { origin_pass o;", CF_EINVAL, 0, "missing '}'"},
    {"location / { origin_pass o; }}", CF_EINVAL, 0, "unexpected '}'"},
    {"location / { origin_pass o }", CF_EINVAL, 0, "without ';'"},
    {"location \"/ { origin_pass o; }", CF_EINVAL, 0, "unterminated"},
    {"location \"/\"x { origin_pass o; }", CF_EINVAL, 0, "after a quoted"},
    {"location { origin_pass o; }", CF_EINVAL, 0, "location needs"},
    {"location = { origin_pass o; }", CF_EINVAL, 0, "location needs"},
    {"location / ;", CF_EINVAL, 0, "without a block"},
    {"{ return 200; }", CF_EINVAL, 0, "block without a name"},
    {BEGIN_ZERO "location / { origin_pass o; }\n", CF_EINVAL, 0, "without '# cacheform:end'"},
    {EL_END "\n", CF_EINVAL, 0, "without a region"},
    {"# cacheform:begin v1 sha256=xyz\n" EL_END "\n", CF_EINVAL, 0, "malformed"},
    {BEGIN_ZERO EL_END "\n" BEGIN_ZERO EL_END "\n", CF_EINVAL, 0, "second cacheform region"},
    {"location / {\n" BEGIN_ZERO "}\n", CF_EINVAL, 0, "top level"},
    {"location / { origin_pass o; } " BEGIN_ZERO EL_END "\n", CF_EINVAL, 0, "line of its own"},
    {"a {b {c {d {e {f {g {h {i {j {k {l {m {n {o {p {q {}}}}}}}}}}}}}}}}}", CF_EINVAL, 0,
     "too deep"},
};

static void test_edgelogic__parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(parse_cases); i++) {
		struct el_doc d;
		struct cf_err e = {0};
		const char *t = parse_cases[i].text;
		int rc = el_parse(t, strlen(t), &d, &e);
		if (rc != parse_cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		if (rc == 0)
			assert_int_equal(d.n, parse_cases[i].nlocs);
		else if (!strstr(e.msg, parse_cases[i].msg))
			fail_msg("case %zu: message '%s' lacks '%s'", i, e.msg, parse_cases[i].msg);
		el_doc_release(&d);
	}
}

static const struct {
	const char *body; /* one location's directives */
	enum el_cache cache;
	int64_t ttl;
	bool uncertain;
} cache_cases[] = {
    {"origin_pass o;", EL_ORIGIN, 0, false},
    {"proxy_no_cache 1; proxy_cache_bypass 1; origin_pass o;", EL_BYPASS, 0, false},
    {"proxy_no_cache 0; origin_pass o;", EL_ORIGIN, 0, false},
    {"proxy_no_cache $cookie_x; origin_pass o;", EL_ORIGIN, 0, true},
    {"proxy_ignore_headers X-Accel-Expires Cache-Control; proxy_cache_valid 7d; origin_pass o;",
     EL_OVERRIDE, 7 * 86400, false},
    {"proxy_ignore_headers Expires; proxy_cache_valid 1h30m; origin_pass o;", EL_OVERRIDE, 5400,
     false},
    {"proxy_cache_valid 90; origin_pass o;", EL_IF_MISSING, 90, false},
    {"proxy_cache_valid 0; origin_pass o;", EL_BYPASS, 0, false},
    {"proxy_cache_valid 200 10m; origin_pass o;", EL_IF_MISSING, 600, true},
    {"proxy_cache_valid 404 10m; origin_pass o;", EL_ORIGIN, 0, true},
    {"proxy_cache_valid 2x; origin_pass o;", EL_ORIGIN, 0, true},
    {"proxy_cache_min_age 1d; proxy_cache_valid 1d; origin_pass o;", EL_IF_MISSING, 86400, true},
    {"if ($arg_x) { proxy_cache_valid 1d; } origin_pass o;", EL_ORIGIN, 0, true},
    {"location /n/ { origin_pass o; } origin_pass o;", EL_ORIGIN, 0, true},
};

static void test_edgelogic__cache_directives(void **state)
{
	(void)state;
	char text[512];
	for (size_t i = 0; i < CF_ARRAY_LEN(cache_cases); i++) {
		struct el_doc d;
		struct cf_err e;
		snprintf(text, sizeof(text), "location /x/ { %s }", cache_cases[i].body);
		if (el_parse(text, strlen(text), &d, &e) != 0)
			fail_msg("case %zu: %s", i, e.msg);
		assert_int_equal(d.n, 1);
		if (d.locs[0].cache != cache_cases[i].cache ||
		    d.locs[0].ttl != cache_cases[i].ttl ||
		    d.locs[0].uncertain != cache_cases[i].uncertain)
			fail_msg("case %zu: cache %d ttl %lld uncertain %d", i, d.locs[0].cache,
				 (long long)d.locs[0].ttl, d.locs[0].uncertain);
		el_doc_release(&d);
	}
	/* server-level proxy_cache_valid is inherited only by locations without their own */
	const char *t = "proxy_cache_valid 1h;\nlocation /a/ { origin_pass o; }\n"
			"location /b/ { proxy_cache_valid 2h; origin_pass o; }";
	struct el_doc d;
	struct cf_err e;
	assert_int_equal(el_parse(t, strlen(t), &d, &e), 0);
	assert_int_equal(d.locs[0].ttl, 3600);
	assert_int_equal(d.locs[1].ttl, 7200);
	el_doc_release(&d);
}

/* ---- the region ---- */

static void make_cache(struct cache *c, const char *spec)
{
	/* spec: "d:/pic/,/doc/=86400;s:jpg=0;p:/i.html=60" */
	char *copy = xstrdup(spec), *save = NULL;
	memset(c, 0, sizeof(*c));
	c->ignore_query_string = true;
	for (char *r = strtok_r(copy, ";", &save); r; r = strtok_r(NULL, ";", &save)) {
		struct rule *ru = cache_add_rule(c);
		char *eq = strchr(r, '='), *save2 = NULL;
		*eq = '\0';
		ru->kind = r[0] == 'd' ? RULE_DIR : r[0] == 's' ? RULE_SUFFIX : RULE_PATH;
		ru->ttl = strtoll(eq + 1, NULL, 10);
		for (char *it = strtok_r(r + 2, ",", &save2); it; it = strtok_r(NULL, ",", &save2))
			svec_push(&ru->items, it, NULL);
	}
	free(copy);
}

static char *compile(const struct cache *c, bool root)
{
	struct sb sb;
	sb_init(&sb, SB_DEFAULT_MAX);
	el_compile(c, "www_origin", root, &sb);
	return sb_detach(&sb);
}

static void test_edgelogic__compile_and_region(void **state)
{
	(void)state;
	struct cache c;
	struct el_doc d;
	struct cf_err e;
	make_cache(&c, "d:/static/=604800;s:jpg=2592000;p:/index.html=0");
	c.ignore_cache_control = true;
	char *region = compile(&c, true);
	assert_non_null(strstr(region, "location ~ \"^/static/\" {\n  proxy_ignore_headers "
				       "X-Accel-Expires Cache-Control;\n  proxy_cache_valid 7d;\n"
				       "  origin_pass \"www_origin\";\n}\n"));
	assert_non_null(strstr(region, "location ~* \"\\.jpg$\" {"));
	assert_non_null(strstr(region, "location = \"/index.html\" {\n  proxy_no_cache 1;\n"
				       "  proxy_cache_bypass 1;\n"));
	assert_non_null(strstr(region, "location / {\n  origin_pass \"www_origin\";\n}\n" EL_END));

	/* foreign text around it survives byte for byte; the region is found and verified */
	const char *foreign_head = "# theirs\nset $a 1;\n";
	const char *foreign_tail = "location ^~ /api/ {   origin_pass api; }\n# end\n";
	size_t n = strlen(foreign_head) + strlen(region) + strlen(foreign_tail) + 1;
	char *text = xmalloc(n);
	snprintf(text, n, "%s%s%s", foreign_head, region, foreign_tail);
	assert_int_equal(el_parse(text, strlen(text), &d, &e), 0);
	assert_true(d.has_region);
	assert_true(d.hash_ok);
	assert_int_equal(d.n, 5);
	assert_true(d.locs[0].owned && d.locs[3].owned && !d.locs[4].owned);
	assert_int_equal(d.region_begin, strlen(foreign_head));

	struct cache c2;
	make_cache(&c2, "d:/static/=60");
	char *region2 = compile(&c2, true);
	char *out = el_replace_region(text, strlen(text), &d, region2);
	assert_memory_equal(out, foreign_head, strlen(foreign_head));
	assert_string_equal(out + strlen(foreign_head) + strlen(region2), foreign_tail);
	el_doc_release(&d);

	/* a hand edit inside the region is detected */
	char *edited = xstrdup(text);
	char *p = strstr(edited, "7d;");
	p[0] = '8';
	assert_int_equal(el_parse(edited, strlen(edited), &d, &e), 0);
	assert_false(d.hash_ok);
	el_doc_release(&d);

	/* no region yet: it goes first, before any foreign regex */
	assert_int_equal(el_parse(foreign_tail, strlen(foreign_tail), &d, &e), 0);
	char *fresh = el_replace_region(foreign_tail, strlen(foreign_tail), &d, region2);
	assert_memory_equal(fresh, region2, strlen(region2));
	el_doc_release(&d);
	free(fresh);
	free(edited);
	free(out);
	free(region2);
	free(text);
	free(region);
	cache_release(&c);
	cache_release(&c2);
}

/* ---- precedence: the reference's worked example (§3.6) ---- */

static const char example[] =
    "location = /index.html { proxy_no_cache 1; proxy_cache_bypass 1; origin_pass o; }\n"
    "location /static/ { proxy_ignore_headers X-Accel-Expires Cache-Control;"
    " proxy_cache_valid 7d; origin_pass o; }\n"
    "location ~ \\.jpg$ { proxy_ignore_headers X-Accel-Expires Cache-Control;"
    " proxy_cache_valid 30d; origin_pass o; }\n"
    "location ^~ /raw/ { origin_pass o; }\n"
    "location / { origin_pass o; }\n";

static const struct {
	const char *path;
	int loc;
	enum el_step step;
	enum el_cache cache;
	int64_t ttl;
} example_cases[] = {
    {"/index.html", 0, EL_STEP_EXACT, EL_BYPASS, 0},
    {"/static/app.css", 1, EL_STEP_PREFIX, EL_OVERRIDE, 7 * 86400},
    {"/static/logo.jpg", 2, EL_STEP_REGEX, EL_OVERRIDE, 30 * 86400},
    {"/img/a.jpg", 2, EL_STEP_REGEX, EL_OVERRIDE, 30 * 86400},
    {"/img/a.JPG", 4, EL_STEP_PREFIX, EL_ORIGIN, 0},
    {"/a.jpg.map", 4, EL_STEP_PREFIX, EL_ORIGIN, 0},
    {"/static/index.html", 1, EL_STEP_PREFIX, EL_OVERRIDE, 7 * 86400},
    {"/static", 4, EL_STEP_PREFIX, EL_ORIGIN, 0},
    {"/raw/x.jpg", 3, EL_STEP_PREFIX_STOP, EL_ORIGIN, 0},
    {"/about", 4, EL_STEP_PREFIX, EL_ORIGIN, 0},
};

static void test_edgelogic__precedence(void **state)
{
	(void)state;
	struct el_doc d;
	struct el_eval *ev;
	struct cf_err e;
	assert_int_equal(el_parse(example, strlen(example), &d, &e), 0);
	assert_int_equal(el_eval_open(&d, &ev, &e), 0);
	for (size_t i = 0; i < CF_ARRAY_LEN(example_cases); i++) {
		struct el_result r;
		el_eval_path(ev, example_cases[i].path, &r);
		if (r.loc != example_cases[i].loc || r.step != example_cases[i].step ||
		    r.mode != example_cases[i].cache || r.ttl != example_cases[i].ttl)
			fail_msg("%s: loc %d step %s mode %d ttl %lld", example_cases[i].path,
				 r.loc, el_step_name(r.step), r.mode, (long long)r.ttl);
	}
	el_eval_close(ev);
	el_doc_release(&d);

	const char *bad = "location ~ \"(a\" { origin_pass o; }";
	assert_int_equal(el_parse(bad, strlen(bad), &d, &e), 0);
	assert_int_equal(el_eval_open(&d, &ev, &e), CF_EINVAL);
	assert_non_null(strstr(e.msg, "line 1"));
	el_doc_release(&d);
}

/* ---- differential: compiled region vs cacheform's first match ---- */

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static const char *const dir_pool[] = {"/", "/a", "/a/", "/a/b/", "/b", "/ab/", "/a.b/"};
static const char *const suf_pool[] = {"jpg", "JPG", "png", "b", "gz", "tar.gz"};
static const char *const path_pool[] = {"/a",	     "/a/x.jpg", "/index.html",
					"/ab/c.png", "/a.b/c",	 "/x.JPG"};
static const char *const seg_pool[] = {"a",	"b",	    "ab",	  "a.b", "x.jpg", "x.JPG",
				       "y.png", "c.tar.gz", "index.html", "q.b", "jpg",	  ""};

static void random_list(uint32_t *s, struct cache *c)
{
	memset(c, 0, sizeof(*c));
	c->ignore_query_string = true;
	c->ignore_cache_control = rnd(s) & 1;
	size_t nr = 1 + rnd(s) % DIFF_RULES;
	for (size_t r = 0; r < nr; r++) {
		struct rule *ru = cache_add_rule(c);
		ru->kind = (enum rule_kind)(rnd(s) % 3);
		ru->ttl = (rnd(s) % 3 == 0) ? 0 : 60 * (1 + rnd(s) % 5);
		size_t ni = 1 + rnd(s) % DIFF_ITEMS;
		for (size_t i = 0; i < ni; i++) {
			const char *it = ru->kind == RULE_DIR	   ? dir_pool[rnd(s) % 7]
					 : ru->kind == RULE_SUFFIX ? suf_pool[rnd(s) % 6]
								   : path_pool[rnd(s) % 6];
			if (!svec_contains(&ru->items, it))
				svec_push(&ru->items, it, NULL);
		}
	}
}

/* cacheform's meaning, written again here from SPEC §2.2 so the test is independent */
static bool spec_match(enum rule_kind k, const char *item, const char *p)
{
	size_t n = strlen(item);
	if (k == RULE_PATH)
		return strcmp(item, p) == 0;
	if (k == RULE_DIR) {
		char d[PATH_BUF];
		snprintf(d, sizeof(d), "%s%s", item, item[n - 1] == '/' ? "" : "/");
		return strncmp(p, d, strlen(d)) == 0;
	}
	const char *last = strrchr(p, '/') + 1;
	size_t ln = strlen(last);
	if (ln < n + 1 || last[ln - n - 1] != '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)last[ln - n + i]) != tolower((unsigned char)item[i]))
			return false;
	return true;
}

static void spec_eval(const struct cache *c, const char *p, enum el_cache *mode, int64_t *ttl)
{
	for (size_t r = 0; r < c->nrules; r++)
		for (size_t i = 0; i < c->rules[r].items.n; i++)
			if (spec_match(c->rules[r].kind, c->rules[r].items.v[i].s, p)) {
				*ttl = c->rules[r].ttl;
				*mode = *ttl == 0		  ? EL_BYPASS
					: c->ignore_cache_control ? EL_OVERRIDE
								  : EL_IF_MISSING;
				if (*ttl == 0)
					*ttl = 0;
				return;
			}
	*mode = EL_ORIGIN;
	*ttl = 0;
}

static void random_path(uint32_t *s, char *buf)
{
	size_t nseg = 1 + rnd(s) % 3, off = 0;
	for (size_t i = 0; i < nseg; i++)
		off += (size_t)snprintf(buf + off, PATH_BUF - off, "/%s", seg_pool[rnd(s) % 12]);
	if (rnd(s) % 4 == 0)
		snprintf(buf, PATH_BUF, "%s", path_pool[rnd(s) % 6]);
}

static void test_edgelogic__differential(void **state)
{
	(void)state;
	uint32_t s = DIFF_SEED;
	size_t disagreements = 0, checked = 0;
	for (size_t n = 0; n < DIFF_LISTS; n++) {
		struct cache c;
		struct el_doc d;
		struct el_eval *ev;
		struct cf_err e;
		random_list(&s, &c);
		char *region = compile(&c, true);
		assert_int_equal(el_parse(region, strlen(region), &d, &e), 0);
		assert_true(d.hash_ok);
		assert_int_equal(el_eval_open(&d, &ev, &e), 0);
		for (int k = 0; k < 24; k++) {
			char p[PATH_BUF];
			struct el_result r;
			enum el_cache want;
			int64_t ttl;
			random_path(&s, p);
			el_eval_path(ev, p, &r);
			spec_eval(&c, p, &want, &ttl);
			checked++;
			if (r.mode != want || r.ttl != ttl || !r.owned || r.uncertain) {
				if (disagreements++ < 5)
					print_message(
					    "list %zu path %s: el %d/%lld want %d/%lld\n%s", n, p,
					    r.mode, (long long)r.ttl, want, (long long)ttl, region);
			}
		}
		el_eval_close(ev);
		el_doc_release(&d);
		free(region);
		cache_release(&c);
	}
	print_message("differential: %d lists, %zu paths, %zu disagreements\n", DIFF_LISTS, checked,
		      disagreements);
	assert_int_equal(disagreements, 0);
}

/* ---- the shared semantics module: its first match and probe paths against the hook ---- */

static void test_edgelogic__sem_hook(void **state)
{
	(void)state;
	uint32_t s = DIFF_SEED ^ 0x5a5a5a5au;
	size_t differ = 0;
	for (size_t n = 0; n < DIFF_LISTS / 10; n++) {
		struct cache c;
		struct el_doc d;
		struct cf_err e;
		struct sem_cfg cfg = {.kind = SEM_CDNPRO};
		struct sem_probe pr = {0};
		struct svec probes = {0};
		random_list(&s, &c);
		char *region = compile(&c, true);
		assert_int_equal(el_parse(region, strlen(region), &d, &e), 0);
		assert_int_equal(sem_el_hook(&d, &cfg.hook, &e), 0);
		sem_probe_add_cache(&pr, &c);
		sem_probe_paths(&pr, &probes);
		differ += sem_first_difference_desired(&c, &cfg, &probes) >= 0;
		svec_release(&probes);
		sem_probe_release(&pr);
		sem_cfg_release(&cfg);
		free(region);
		cache_release(&c);
	}
	assert_int_equal(differ, 0);
}

/* ---- foreign locations: which paths they take, and why ---- */

static void test_edgelogic__foreign_wins(void **state)
{
	(void)state;
	struct cache c;
	struct el_doc d;
	struct el_eval *ev;
	struct cf_err e;
	make_cache(&c, "d:/img/=3600;s:css=60");
	char *region = compile(&c, false);
	const char *before = "location ~ \"^/img/private/\" { origin_pass o; }\n";
	const char *after = "location = /img/logo.png { origin_pass o; }\n"
			    "location ^~ /img/raw/ { origin_pass o; }\n"
			    "location / { origin_pass o; }\n";
	size_t n = strlen(before) + strlen(region) + strlen(after) + 1;
	char *text = xmalloc(n);
	snprintf(text, n, "%s%s%s", before, region, after);
	assert_int_equal(el_parse(text, strlen(text), &d, &e), 0);
	assert_true(d.has_root && d.root_foreign);
	assert_int_equal(el_eval_open(&d, &ev, &e), 0);
	const struct {
		const char *path;
		bool owned;
		enum el_step step;
	} cases[] = {
	    {"/img/a.png", true, EL_STEP_REGEX},
	    {"/img/private/a.png", false, EL_STEP_REGEX}, /* an earlier foreign regex */
	    {"/img/logo.png", false, EL_STEP_EXACT},
	    {"/img/raw/a.css", false, EL_STEP_PREFIX_STOP},
	    {"/x.css", true, EL_STEP_REGEX},
	    {"/x.html", false, EL_STEP_PREFIX}, /* no rule: the foreign default decides */
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct el_result r;
		el_eval_path(ev, cases[i].path, &r);
		if (r.owned != cases[i].owned || r.step != cases[i].step)
			fail_msg("%s: owned %d step %s", cases[i].path, r.owned,
				 el_step_name(r.step));
	}
	el_eval_close(ev);
	el_doc_release(&d);
	free(text);
	free(region);
	cache_release(&c);
}

/* ---- probe paths: what each location mentions, for the behaviour comparison ---- */

static void test_edgelogic__probe(void **state)
{
	(void)state;
	const struct {
		const char *loc;  /* one location's head */
		const char *dirs; /* expected probe dirs, ' '-separated ("" = none) */
		const char *exts;
		const char *paths;
	} cases[] = {
	    {"location = /a/b.png", "", "", "/a/b.png"},
	    {"location /img/", "/img/", "", "/img/"},
	    {"location ^~ /static", "/static", "", "/static"},
	    {"location ~ \"^/img/\"", "/img/", "", "/img/"},
	    {"location ~ \"^/a\\.b/c\"", "/a.b/c", "", "/a.b/c"},
	    {"location ~ \"^/v[0-9]/\"", "/v", "", "/v"},
	    {"location ~* \"^/Up/\"", "/Up/ /up/ /UP/", "", "/Up/ /up/ /UP/"},
	    {"location ~ \"^x\"", "", "", ""},
	    {"location ~* \"\\.png$\"", "", "png PNG", ""},
	    {"location ~ \"\\.(jpg|webp)$\"", "", "jpg webp", ""},
	    {"location ~ \"\\.p.g$\"", "", "", ""},
	    {"location ~ \"/x\\$\"", "", "", ""},
	    {"location @named", "", "", ""},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		char text[256];
		struct el_doc d;
		struct cf_err e;
		struct sem_probe p;
		memset(&p, 0, sizeof(p));
		snprintf(text, sizeof(text), "%s { origin_pass o; }\n", cases[i].loc);
		if (el_parse(text, strlen(text), &d, &e) != 0)
			fail_msg("%s: %s", cases[i].loc, e.msg);
		el_probe_add(&d, &p);
		const struct svec *got[] = {&p.dirs, &p.exts, &p.paths};
		const char *want[] = {cases[i].dirs, cases[i].exts, cases[i].paths};
		for (size_t k = 0; k < 3; k++) {
			struct sb sb;
			sb_init(&sb, 0);
			for (size_t j = 0; j < got[k]->n; j++)
				sb_addf(&sb, "%s%s", j ? " " : "", got[k]->v[j].s);
			if (strcmp(sb.buf ? sb.buf : "", want[k]) != 0)
				fail_msg("%s: set %zu is '%s', want '%s'", cases[i].loc, k,
					 sb.buf ? sb.buf : "", want[k]);
			sb_release(&sb);
		}
		sem_probe_release(&p);
		el_doc_release(&d);
	}
}

/* The cache-key flags read back from a compiled region; left alone where it cannot say. */
static void test_edgelogic__region_flags(void **state)
{
	(void)state;
	const struct {
		const char *spec; /* make_cache's; "" = no rule */
		bool root, qs, cookie;
		bool want_qs, want_cookie; /* from (true, true) as they were */
	} cases[] = {
	    {"d:/img/=60", true, false, false, false, false},
	    {"d:/img/=60", true, true, true, true, true},
	    {"d:/img/=60", false, false, true, false, true},
	    {"s:gif=0", true, false, false, false, true}, /* no cached location: cookie unsaid */
	    {"", true, false, false, false, true},	  /* the root location alone */
	    {"", false, false, false, true, true},	  /* an empty region says nothing */
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct cache c;
		struct el_doc d;
		struct cf_err e;
		if (cases[i].spec[0])
			make_cache(&c, cases[i].spec);
		else
			memset(&c, 0, sizeof(c));
		c.ignore_query_string = cases[i].qs;
		c.ignore_cookie = cases[i].cookie;
		char *region = compile(&c, cases[i].root);
		bool qs = true, cookie = true;
		assert_int_equal(el_parse(region, strlen(region), &d, &e), 0);
		el_region_flags(region, &d, &qs, &cookie);
		if (qs != cases[i].want_qs || cookie != cases[i].want_cookie)
			fail_msg("case %zu: qs %d cookie %d", i, qs, cookie);
		el_doc_release(&d);
		free(region);
		cache_release(&c);
	}
}

static void test_edgelogic__time(void **state)
{
	(void)state;
	const struct {
		const char *s;
		int rc;
		int64_t v;
	} cases[] = {{"0", 0, 0},	 {"90", 0, 90},		 {"30d", 0, 2592000},
		     {"1h30m", 0, 5400}, {"1w", 0, 604800},	 {"1y", 0, 31536000},
		     {"", -1, 0},	 {"d", -1, 0},		 {"1x", -1, 0},
		     {"-1", -1, 0},	 {"99999999999y", -1, 0}};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		int64_t v = -7;
		assert_int_equal(el_time(cases[i].s, &v), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(v, cases[i].v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edgelogic__parse),
	    cmocka_unit_test(test_edgelogic__cache_directives),
	    cmocka_unit_test(test_edgelogic__compile_and_region),
	    cmocka_unit_test(test_edgelogic__precedence),
	    cmocka_unit_test(test_edgelogic__differential),
	    cmocka_unit_test(test_edgelogic__sem_hook),
	    cmocka_unit_test(test_edgelogic__foreign_wins),
	    cmocka_unit_test(test_edgelogic__probe),
	    cmocka_unit_test(test_edgelogic__region_flags),
	    cmocka_unit_test(test_edgelogic__time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
