/*
 * Unit tests: the canonical form (schema/fmt.c). Table of inputs and their exact canonical
 * text; the invariants (meaning kept, idempotent, comment lines kept) over every file of
 * examples/ and of the loader's fuzz corpus; errors located; the proof refusing a rewrite.
 */
#include "reconcile/base/compat.h"
#include <dirent.h>
#include <stdarg.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"
#include "schema/fmt.h"

struct fmt_case {
	const char *what;
	enum load_kind kind;
	const char *in;
	const char *out; /* NULL: unchanged */
	bool kept;	 /* left as it is, with a reason */
};

#define EP "endpoint: www\naccount: cn\n"

static const struct fmt_case cases[] = {
    {"canonical already", LOAD_ENDPOINT, EP "hosts: [a]\n", NULL, false},
    {"top-level order", LOAD_ENDPOINT, "hosts: [a]\naccount: cn\nendpoint: www\n",
     "endpoint: www\naccount: cn\nhosts: [a]\n", false},
    {"comment above a key moves with it", LOAD_ENDPOINT,
     "endpoint: www\nhosts: [a]\n# the account\naccount: cn\n",
     "endpoint: www\n# the account\naccount: cn\nhosts: [a]\n", false},
    {"file header stays on top", LOAD_ENDPOINT, "# header\naccount: cn\nendpoint: www\n",
     "# header\nendpoint: www\naccount: cn\n", false},
    {"blank lines stay where they were", LOAD_ENDPOINT, "account: cn\n\nendpoint: www\n",
     "endpoint: www\n\naccount: cn\n", false},
    {"closing comment stays last", LOAD_ENDPOINT, "account: cn\nendpoint: www\n# end\n",
     "endpoint: www\naccount: cn\n# end\n", false},
    {"durations", LOAD_ENDPOINT,
     EP "cache:\n  rules:\n    - dir: [/a/]\n      ttl: 86400 # a day\n"
	"    - dir: [/b/]\n      ttl: '5400'\n    - dir: [/c/]\n      ttl: 7d\n"
	"    - dir: [/d/]\n      ttl: 0s\n",
     EP "cache:\n  rules:\n    - dir: [/a/]\n      ttl: 1d # a day\n"
	"    - dir: [/b/]\n      ttl: '1h30m'\n    - dir: [/c/]\n      ttl: 1w\n"
	"    - dir: [/d/]\n      ttl: 0\n",
     false},
    {"rule keys, the dash moves to the new first key", LOAD_ENDPOINT,
     EP "cache:\n  rules:\n    - ignore_cache_control: false\n      name: n\n      ttl: 1h\n"
	"      suffix: [js]\n",
     EP "cache:\n  rules:\n    - suffix: [js]\n      ttl: 1h\n      name: n\n"
	"      ignore_cache_control: false\n",
     false},
    {"nested maps", LOAD_ENDPOINT,
     EP "cache:\n  rules: []\n  ignore_query_string: true\n  ignore_cache_control: false\n"
	"remote:\n  endpoint: e\n  resource_group: rg\n",
     EP "remote:\n  resource_group: rg\n  endpoint: e\n"
	"cache:\n  ignore_cache_control: false\n  ignore_query_string: true\n  rules: []\n",
     false},
    {"flow collections are left as written, durations rewritten", LOAD_ENDPOINT,
     EP "cache: {rules: [{ttl: 60, dir: [/a/]}], ignore_cookie: true}\n",
     EP "cache: {rules: [{ttl: 1m, dir: [/a/]}], ignore_cookie: true}\n", false},
    {"CRLF kept", LOAD_ENDPOINT, "account: cn\r\nendpoint: www\r\n",
     "endpoint: www\r\naccount: cn\r\n", false},
    {"missing final newline added", LOAD_ENDPOINT, EP "scheme: http", EP "scheme: http\n", false},
    {"byte order mark kept", LOAD_ENDPOINT,
     "\xef\xbb\xbf"
     "account: cn\nendpoint: www\n",
     "\xef\xbb\xbf"
     "endpoint: www\naccount: cn\n",
     false},
    {"settings: accounts keep their order, their keys do not", LOAD_SETTINGS,
     "accounts:\n  z:\n    timeout: 90\n    provider: azure\n  a:\n    provider: cdnpro\n"
     "version: 1\n",
     "version: 1\naccounts:\n  z:\n    provider: azure\n    timeout: 1m30s\n  a:\n"
     "    provider: cdnpro\n",
     false},
    {"purge manifest", LOAD_PURGE, "files: [/a]\naction: delete\nendpoints: [www]\npurge: p1\n",
     "purge: p1\nendpoints: [www]\nfiles: [/a]\naction: delete\n", false},
    {"explicit keys are not moved", LOAD_ENDPOINT, "? account\n: cn\nendpoint: www\n", NULL, false},
    {"a lone CR line break is not rewritten", LOAD_ENDPOINT, "account: cn\rendpoint: www\r", NULL,
     true},
    {"a final newline would change a block scalar: kept", LOAD_ENDPOINT,
     "endpoint: www\naccount: |\n  cn", NULL, true},
    {"a final newline added after a block scalar that had one", LOAD_ENDPOINT,
     "account: |\n  cn\n\nendpoint: www", "endpoint: www\n\naccount: |\n  cn\n", false},
    {"an anchor moved after its alias would not load", LOAD_ENDPOINT,
     "endpoint: www\nhosts: [&h cn]\naccount: *h\n", NULL, true},
    {"an anchor moved before its alias loads", LOAD_ENDPOINT,
     EP "cache:\n  rules:\n    - ttl: &t 1h\n      dir: [/a/]\n    - dir: [/b/]\n      ttl: *t\n",
     EP "cache:\n  rules:\n    - dir: [/a/]\n      ttl: &t 1h\n    - dir: [/b/]\n      ttl: *t\n",
     false},
};

static void check_invariants(enum load_kind kind, const char *in, size_t len,
			     const struct fmt_result *r);

static void test_fmt__cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		const struct fmt_case *c = &cases[i];
		struct fmt_result r;
		struct diag_list d;
		diag_init(&d);
		print_message("case: %s\n", c->what);
		assert_int_equal(fmt_buffer(c->kind, "f.yaml", c->in, strlen(c->in), &r, &d), 0);
		assert_int_equal(d.nerrors, 0);
		assert_string_equal(r.text, c->out ? c->out : c->in);
		assert_int_equal(r.changed, c->out != NULL);
		assert_int_equal(r.kept != NULL, c->kept);
		check_invariants(c->kind, c->in, strlen(c->in), &r);
		fmt_result_release(&r);
		diag_release(&d);
	}
}

static void dump(enum load_kind kind, const char *buf, size_t len, struct sb *out)
{
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	assert_int_equal(load_buffer(c, kind, "f.yaml", buf, len, &d), 0);
	fmt_model_dump(c, out);
	diag_release(&d);
	config_free(c);
}

/* Meaning kept, idempotent, every comment line kept. */
static void check_invariants(enum load_kind kind, const char *in, size_t len,
			     const struct fmt_result *r)
{
	struct sb a, b;
	struct fmt_result again;
	struct diag_list d;
	sb_init(&a, 0);
	sb_init(&b, 0);
	diag_init(&d);
	dump(kind, in, len, &a);
	dump(kind, r->text, r->len, &b);
	assert_string_equal(a.buf, b.buf);
	assert_true(fmt_comments_kept(in, len, r->text, r->len));
	assert_int_equal(fmt_buffer(kind, "f.yaml", r->text, r->len, &again, &d), 0);
	assert_false(again.changed);
	assert_memory_equal(again.text, r->text, r->len);
	fmt_result_release(&again);
	sb_release(&a);
	sb_release(&b);
	diag_release(&d);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct sb sb;
	char chunk[4096];
	size_t n;
	assert_non_null(f);
	sb_init(&sb, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sb_add(&sb, chunk, n);
	fclose(f);
	*len = sb.len;
	return sb_detach(&sb);
}

/* Runs every file of dir (as kind, or as each kind when all) through the invariants. */
static void check_dir(const char *dir, enum load_kind kind, bool all, size_t *loaded,
		      size_t *changed)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[1024];
		struct stat st;
		size_t len;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		char *buf = slurp(path, &len);
		for (int k = all ? 0 : (int)kind; k <= (all ? (int)LOAD_PURGE : (int)kind); k++) {
			struct fmt_result r;
			struct diag_list dl;
			diag_init(&dl);
			if (fmt_buffer((enum load_kind)k, path, buf, len, &r, &dl) == 0) {
				check_invariants((enum load_kind)k, buf, len, &r);
				++*loaded;
				*changed += r.changed;
			} else {
				assert_true(dl.nerrors > 0);
				assert_null(r.text);
			}
			fmt_result_release(&r);
			diag_release(&dl);
		}
		free(buf);
	}
	closedir(d);
}

static void test_fmt__examples_and_corpus(void **state)
{
	size_t loaded = 0, changed = 0;
	(void)state;
	check_dir("examples/endpoints", LOAD_ENDPOINT, false, &loaded, &changed);
	check_dir("examples/purges", LOAD_PURGE, false, &loaded, &changed);
	size_t ex = loaded;
	check_dir("tests/fuzz/corpus/load", 0, true, &loaded, &changed);
	check_dir("tests/fuzz/corpus/fmt", 0, true, &loaded, &changed);
	print_message("fmt: %zu example and %zu corpus file loads checked, %zu rewritten\n", ex,
		      loaded - ex, changed);
	assert_true(ex == 10);
	assert_true(changed > 10);
}

static void test_fmt__settings_example(void **state)
{
	size_t len;
	struct fmt_result r;
	struct diag_list d;
	(void)state;
	diag_init(&d);
	char *buf = slurp("examples/cacheform.yaml", &len);
	assert_int_equal(fmt_buffer(LOAD_SETTINGS, "cacheform.yaml", buf, len, &r, &d), 0);
	check_invariants(LOAD_SETTINGS, buf, len, &r);
	assert_non_null(strstr(r.text, "timeout: 1m\n"));
	fmt_result_release(&r);
	diag_release(&d);
	free(buf);
}

static const struct {
	const char *in;
	const char *code;
	unsigned line, col;
} errors[] = {
    {"endpoint: [www\naccount: cn\n", "CF105", 2, 8},
    {EP "colour: red\n", "CF111", 3, 1},
    {EP "cache:\n  rules:\n    - dir: [/a/]\n      ttl: soon\n", "CF115", 6, 12},
};

static void test_fmt__errors_located(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(errors); i++) {
		struct fmt_result r;
		struct diag_list d;
		diag_init(&d);
		assert_int_equal(fmt_buffer(LOAD_ENDPOINT, "endpoints/www.yaml", errors[i].in,
					    strlen(errors[i].in), &r, &d),
				 CF_EINVAL);
		assert_null(r.text);
		assert_true(d.nerrors >= 1);
		assert_string_equal(d.v[0].code, errors[i].code);
		assert_string_equal(d.v[0].pos.file, "endpoints/www.yaml");
		assert_int_equal(d.v[0].pos.line, errors[i].line);
		assert_int_equal(d.v[0].pos.col, errors[i].col);
		diag_release(&d);
	}
}

static const struct {
	const char *a, *b;
	bool kept;
} comments[] = {
    {"# a\nx: 1\n", "x: 1\n  # a\n", true},
    {"# a\nx: 1\n", "x: 1\n", false},
    {"# a\n# a\nx: 1\n", "# a\nx: 1\n", false},
    {"x: 1 # inline\n", "x: 1\n", true}, /* only whole comment lines count */
    {"# a\r\n", "# a\n", true},
};

static void test_fmt__comments_kept(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(comments); i++)
		assert_int_equal(fmt_comments_kept(comments[i].a, strlen(comments[i].a),
						   comments[i].b, strlen(comments[i].b)),
				 comments[i].kept);
}

/* The dump tells meanings apart (else the proof would accept anything). */
static void test_fmt__dump_differs(void **state)
{
	static const char *const pairs[][2] = {
	    {EP "cache:\n  rules:\n    - dir: [/a/]\n      ttl: 1d\n",
	     EP "cache:\n  rules:\n    - dir: [/a/]\n      ttl: 2d\n"},
	    {EP "hosts: [a, b]\n", EP "hosts: [b, a]\n"},
	    {EP "cache:\n  rules:\n    - dir: [/a/]\n      ttl: 1d\n",
	     EP "cache:\n  rules:\n    - dir: [/a/]\n      ttl: 1d\n      ignore_cache_control: "
		"true\n"},
	    {EP, EP "cache: {}\n"},
	    {EP, EP "mode: manage\n"},
	    {EP "edge: {}\n", EP},
	};
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(pairs); i++) {
		struct sb a, b;
		sb_init(&a, 0);
		sb_init(&b, 0);
		dump(LOAD_ENDPOINT, pairs[i][0], strlen(pairs[i][0]), &a);
		dump(LOAD_ENDPOINT, pairs[i][1], strlen(pairs[i][1]), &b);
		assert_string_not_equal(a.buf, b.buf);
		sb_release(&a);
		sb_release(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fmt__cases),
	    cmocka_unit_test(test_fmt__examples_and_corpus),
	    cmocka_unit_test(test_fmt__settings_example),
	    cmocka_unit_test(test_fmt__errors_located),
	    cmocka_unit_test(test_fmt__comments_kept),
	    cmocka_unit_test(test_fmt__dump_differs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
