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

/* ---- decoding a region: el_compile's inverse ---- */

/* Decodes text's region with hint; 0 and the origin and root it says, or -1. */
static int decode_text(const char *text, const struct cache *hint, struct cache *out,
		       char **origin, bool *root)
{
	struct el_doc d;
	struct cf_err e;
	if (el_parse(text, strlen(text), &d, &e) != 0)
		fail_msg("parse: %s\n%s", e.msg, text);
	int rc = el_decode(text, &d, hint, out, origin, root);
	el_doc_release(&d);
	return rc;
}

/* cc: one letter per rule, its own ignore_cache_control: '.' unset, 'I' true, 'H' false */
static void set_cc(struct cache *c, const char *cc)
{
	for (size_t r = 0; cc && cc[r] && r < c->nrules; r++)
		c->rules[r].cc = cc[r] == 'I'	? RULE_CC_IGNORE
				 : cc[r] == 'H' ? RULE_CC_HONOUR
						: RULE_CC_INHERIT;
}

/*
 * Every rule kind and every setting the compiler writes. canonical: the list is the one a
 * region says by itself; otherwise only the desired list as hint tells it from the lists
 * that compile alike (a dir's spelling, a split between alike rules, left-out path items).
 */
static const struct {
	const char *spec; /* make_cache's; "" = no rule */
	const char *cc;	  /* set_cc's */
	bool icc, cookie, qs, root, canonical;
} roundtrip_cases[] = {
    {"d:/img/=86400", NULL, false, false, true, true, true},
    {"d:/img/=86400", NULL, false, false, true, false, true},
    {"d:/=60", NULL, false, false, true, true, true},
    {"d:/a/b/,/c/=3600", NULL, true, false, true, true, true},
    {"d:/pic,/doc/=86400", NULL, false, false, true, true, false}, /* "/pic" = "/pic/" */
    {"d:/a+b/,/a|b/,/a.b/=600", NULL, false, false, true, true, true},
    {"d:/tmp/=0", NULL, false, false, true, true, true},
    {"s:jpg=2592000", NULL, false, false, true, true, true},
    {"s:jpg,PNG,tar.gz=2592000", NULL, true, true, false, true, true},
    {"s:gif=0", NULL, false, true, true, true, false}, /* no cached location: cookie unsaid */
    {"p:/index.html=60", NULL, false, false, true, true, true},
    {"p:/index.html,/a+b.html,/q\"x,/h#x,/b\\s=0", NULL, false, false, true, true, true},
    {"d:/static/=604800;s:jpg=2592000;p:/index.html=0", NULL, false, false, true, true, true},
    {"d:/static/=604800;s:jpg=2592000;p:/index.html=0", NULL, true, true, false, false, true},
    {"d:/a/=90;s:gz=5400;p:/x=3601;d:/b/=7d", NULL, false, false, true, true, true},
    {"d:/a/=60;s:css=120;p:/x=180", "I.H", false, false, true, true, false},
    {"d:/a/=60;s:css=120;p:/x=180", "H.I", true, true, false, true, false},
    {"d:/a/=60;d:/b/=120;d:/c/=0;s:js=0;p:/y=0", NULL, false, false, true, true, true},
    {"d:/a/=60;d:/b/=60", NULL, false, false, true, true, false}, /* two alike rules */
    {"s:jpg=60;s:png=60;p:/a=0;p:/b=0", NULL, false, false, true, true, false},
    {"d:/a/=60;p:/a/x,/b=0", NULL, false, false, true, true, false}, /* /a/x left out */
    {"p:/b=0;d:/a/=60;p:/b,/c=60", NULL, false, false, true, true, false},
    {"d:/a/=60;d:/a/=120", NULL, false, false, true, true, true}, /* the same item twice */
    {"", NULL, false, false, true, true, true},
    {"", NULL, false, false, false, true, true},
    {"", NULL, true, true, true, false, false}, /* an empty region says no flag */
};

static void roundtrip_case(size_t i)
{
	struct cache c, got;
	char *origin = NULL;
	bool root = false;
	if (roundtrip_cases[i].spec[0])
		make_cache(&c, roundtrip_cases[i].spec);
	else
		memset(&c, 0, sizeof(c));
	set_cc(&c, roundtrip_cases[i].cc);
	c.ignore_cache_control = roundtrip_cases[i].icc;
	c.ignore_cookie = roundtrip_cases[i].cookie;
	c.ignore_query_string = roundtrip_cases[i].qs;
	char *region = compile(&c, roundtrip_cases[i].root);
	/* with the desired list as hint: exactly that list */
	if (decode_text(region, &c, &got, &origin, &root) != 0)
		fail_msg("case %zu: not decoded\n%s", i, region);
	if (!cache_equal(&got, &c))
		fail_msg("case %zu: decoded to another list\n%s", i, region);
	if (root != roundtrip_cases[i].root || (c.nrules || root) != (origin != NULL) ||
	    (origin && strcmp(origin, "www_origin") != 0))
		fail_msg("case %zu: root %d origin %s", i, root, origin ? origin : "(none)");
	free(origin);
	/* without a hint: a list that compiles to the same region; the canonical one itself */
	cache_release(&got);
	if (decode_text(region, NULL, &got, &origin, &root) != 0)
		fail_msg("case %zu: not decoded without a hint", i);
	char *again = compile(&got, root);
	assert_string_equal(again, region);
	if (roundtrip_cases[i].canonical && !cache_equal(&got, &c))
		fail_msg("case %zu: without a hint, another list", i);
	free(again);
	free(origin);
	free(region);
	cache_release(&got);
	cache_release(&c);
}

static void test_edgelogic__decode_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(roundtrip_cases); i++)
		roundtrip_case(i);
}

/* A region body wrapped in its markers with the right hash: only its text is off. */
static char *region_of(const char *body)
{
	char hex[EL_HASH_HEX + 1];
	struct sb sb;
	el_hash(body, strlen(body), hex);
	sb_init(&sb, SB_DEFAULT_MAX);
	sb_addf(&sb, "%s%s\n%s%s\n", EL_BEGIN, hex, body, EL_END);
	return sb_detach(&sb);
}

#define LOC_IMG	 "location ~ \"^/img/\" {\n"
#define PASS_O	 "  origin_pass \"o\";\n}\n"
#define ROOT_O	 "location / {\n" PASS_O
#define VALID_1D "  proxy_cache_valid 1d;\n"

/* Regions that parse, with a good hash, but that el_compile never writes. */
static const char *const not_compiled[] = {
    LOC_IMG "  proxy_cache_valid 24h;\n" PASS_O,		       /* another spelling */
    LOC_IMG "  proxy_cache_valid 1d; # mine\n" PASS_O,		       /* a comment */
    LOC_IMG "  add_header X 1;\n" VALID_1D PASS_O,		       /* a foreign directive */
    LOC_IMG "  origin_pass \"o\";\n" VALID_1D "}\n",		       /* another order */
    LOC_IMG VALID_1D "  origin_pass o;\n}\n",			       /* unquoted */
    ROOT_O LOC_IMG VALID_1D PASS_O,				       /* the root not last */
    "location ^~ /img/ {\n" VALID_1D PASS_O,			       /* a modifier it never uses */
    "location /img/ {\n" VALID_1D PASS_O,			       /* a plain prefix */
    LOC_IMG "  proxy_cache_valid 0;\n" PASS_O,			       /* ttl 0 its other way */
    LOC_IMG "  proxy_cache_valid 200 1d;\n" PASS_O,		       /* a status list */
    LOC_IMG VALID_1D PASS_O "location ~* \"\\.gif$\" {\n" VALID_1D "  origin_pass \"p\";\n}\n",
    LOC_IMG "  set $cache_misc \"?$sorted_querystring_args\";\n" VALID_1D PASS_O,
    LOC_IMG VALID_1D PASS_O "location ~* \"\\.gif$\" {\n" VALID_1D
	"  set $cache_misc \"?$sorted_querystring_args\";\n" PASS_O, /* the key differs */
    "location ~* \"\\.tar.gz$\" {\n" VALID_1D PASS_O,		       /* an unescaped '.' */
    "location ~ \"^/img\" {\n" VALID_1D PASS_O,			       /* no trailing '/' */
    "location ~ \"/img/\" {\n" VALID_1D PASS_O,			       /* unanchored */
    "  " LOC_IMG VALID_1D PASS_O,				       /* indented */
    LOC_IMG "  if ($arg_x) {\n" VALID_1D "  }\n" PASS_O,	       /* a nested block */
    LOC_IMG VALID_1D "}\n",					       /* no origin_pass */
    LOC_IMG "  proxy_no_cache 1;\n" PASS_O,			       /* half a bypass */
    LOC_IMG "  proxy_no_cache 1;\n  proxy_cache_bypass 1;\n" VALID_1D PASS_O,
    "location / {\n" VALID_1D PASS_O,				       /* a cached root */
    "location = \"\" {\n" VALID_1D PASS_O,			       /* an empty item */
    "set $x 1;\n" LOC_IMG VALID_1D PASS_O,			       /* a server directive */
    LOC_IMG VALID_1D PASS_O "\n",				       /* a blank line */
};

static void test_edgelogic__decode_not_compiled(void **state)
{
	(void)state;
	struct cache hint, got;
	char *origin = (char *)"untouched";
	bool root = true;
	make_cache(&hint, "d:/img/=86400");
	for (size_t i = 0; i < CF_ARRAY_LEN(not_compiled); i++) {
		char *text = region_of(not_compiled[i]);
		if (decode_text(text, &hint, &got, &origin, &root) != -1)
			fail_msg("case %zu: decoded\n%s", i, text);
		assert_null(origin);
		assert_int_equal(got.nrules, 0);
		free(text);
		origin = (char *)"untouched";
	}
	/* the compiler's own text is decoded; with a stale hash or no region it is not */
	char *text = region_of(LOC_IMG VALID_1D PASS_O ROOT_O);
	assert_int_equal(decode_text(text, &hint, &got, &origin, &root), 0);
	assert_true(cache_equal(&got, &hint));
	assert_string_equal(origin, "o");
	free(origin);
	cache_release(&got);
	memset(text + strlen(EL_BEGIN), '0', EL_HASH_HEX);
	assert_int_equal(decode_text(text, &hint, &got, &origin, &root), -1);
	assert_int_equal(decode_text(ROOT_O, &hint, &got, &origin, &root), -1);
	free(text);
	cache_release(&hint);
}

static void print_cache(const char *what, const struct cache *c)
{
	print_message("%s: icc %d cookie %d qs %d\n", what, c->ignore_cache_control,
		      c->ignore_cookie, c->ignore_query_string);
	for (size_t r = 0; r < c->nrules; r++) {
		print_message("  %s ttl %lld cc %d:", rule_kind_name(c->rules[r].kind),
			      (long long)c->rules[r].ttl, c->rules[r].cc);
		for (size_t i = 0; i < c->rules[r].items.n; i++)
			print_message(" %s", c->rules[r].items.v[i].s);
		print_message("\n");
	}
}

/* cacheform's meaning: whether an earlier rule than upto decides path p */
static bool decided_before_spec(const struct cache *c, size_t upto, const char *p)
{
	for (size_t r = 0; r < upto; r++)
		for (size_t i = 0; i < c->rules[r].items.n; i++)
			if (spec_match(c->rules[r].kind, c->rules[r].items.v[i].s, p))
				return true;
	return false;
}

/* Every random list: its region decodes, compiles back to itself, and with the list as hint
 * is the list, also when a path rule compiles to nothing (every item decided earlier). */
static void test_edgelogic__decode_random(void **state)
{
	(void)state;
	uint32_t s = DIFF_SEED ^ 0x0decu;
	size_t other = 0, vanished = 0;
	for (size_t n = 0; n < DIFF_LISTS; n++) {
		struct cache c, got;
		char *origin;
		bool root, with_root = rnd(&s) & 1, none = false;
		random_list(&s, &c);
		c.ignore_cookie = rnd(&s) & 1;
		c.ignore_query_string = rnd(&s) & 1;
		for (size_t r = 0; r < c.nrules; r++) {
			bool all = c.rules[r].kind == RULE_PATH;
			for (size_t i = 0; all && i < c.rules[r].items.n; i++)
				all = decided_before_spec(&c, r, c.rules[r].items.v[i].s);
			none |= all;
			if (rnd(&s) % 4 == 0)
				c.rules[r].cc = rnd(&s) & 1 ? RULE_CC_IGNORE : RULE_CC_HONOUR;
		}
		char *region = compile(&c, with_root);
		if (decode_text(region, &c, &got, &origin, &root) != 0)
			fail_msg("list %zu: not decoded\n%s", n, region);
		char *again = compile(&got, root);
		assert_string_equal(again, region);
		assert_int_equal(root, with_root);
		vanished += none;
		if (!cache_equal(&got, &c) && other++ < 3) {
			print_message("list %zu: decoded to another list\n%s", n, region);
			print_cache("want", &c);
			print_cache("got", &got);
		}
		free(again);
		free(origin);
		free(region);
		cache_release(&got);
		cache_release(&c);
	}
	print_message("decode: %d lists, %zu with a path rule compiled to nothing, %zu others\n",
		      DIFF_LISTS, vanished, other);
	assert_int_equal(other, 0);
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
	    cmocka_unit_test(test_edgelogic__decode_roundtrip),
	    cmocka_unit_test(test_edgelogic__decode_not_compiled),
	    cmocka_unit_test(test_edgelogic__decode_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
