/* Unit tests: URL splitting, host predicates, purge/preload/base URL and CDN Pro regex checks. */
#include "reconcile/base/compat.h"
#include <dlfcn.h>
#include <stdarg.h>
#include <setjmp.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "schema/urlcheck.h"

struct split_case {
	const char *in;
	int rc;
	const char *scheme, *host, *port, *path, *query;
};

static const struct split_case split_cases[] = {
    {"https://www.example.com/a/b?x=1", 0, "https", "www.example.com", "", "/a/b", "x=1"},
    {"http://127.0.0.1:8080", 0, "http", "127.0.0.1", "8080", "", ""},
    {"https://[::1]:443/x", 0, "https", "[::1]", "443", "/x", ""},
    {"/img/a.png?v=2", 0, "", "", "", "/img/a.png", "v=2"},
    {"/", 0, "", "", "", "/", ""},
    {"HTTPS://H/x", 0, "HTTPS", "H", "", "/x", ""},
    {"//evil.com/x", URL_EFORM, NULL, NULL, NULL, NULL, NULL},
    {"https://user:pw@h/x", URL_EFORM, NULL, NULL, NULL, NULL, NULL},
    {"img/a.png", URL_EFORM, NULL, NULL, NULL, NULL, NULL},
    {"https:/h/x", URL_EFORM, NULL, NULL, NULL, NULL, NULL},
    {"", URL_EFORM, NULL, NULL, NULL, NULL, NULL},
    {"https://[::1/x", URL_EFORM, NULL, NULL, NULL, NULL, NULL},
    {"1http://h/", URL_EFORM, NULL, NULL, NULL, NULL, NULL},
};

static void expect_piece(const char *p, size_t n, const char *want)
{
	assert_int_equal(n, strlen(want));
	if (n)
		assert_memory_equal(p, want, n);
}

static void test_urlcheck__split(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(split_cases); i++) {
		const struct split_case *c = &split_cases[i];
		struct url_parts u;
		int rc = url_split(c->in, &u);
		assert_int_equal(rc, c->rc);
		if (rc)
			continue;
		expect_piece(u.scheme, u.scheme_len, c->scheme);
		expect_piece(u.host, u.host_len, c->host);
		expect_piece(u.port, u.port_len, c->port);
		expect_piece(u.path, u.path_len, c->path);
		expect_piece(u.query, u.query_len, c->query);
	}
}

struct host_case {
	const char *h;
	bool valid, loopback;
};

static const struct host_case host_cases[] = {
    {"www.example.com", true, false},
    {"a-b.example.cn", true, false},
    {"localhost", true, true},
    {"LocalHost", true, true},
    {"127.0.0.1", true, true},
    {"127.255.3.4", true, true},
    {"128.0.0.1", true, false},
    {"10.0.0.1", true, false},
    {"[::1]", true, true},
    {"[2001:db8::1]", true, false},
    {"", false, false},
    {"-a.com", false, false},
    {"a-.com", false, false},
    {"a..com", false, false},
    {"a.com.", false, false},
    {"a_b.com", false, false},
    {"256.1.1.1", false, false},
    {"1.2.3", false, false},
    {"127.0.0.1.evil.com", true, false},
    {"localhost.evil.com", true, false},
    {"[::g]", false, false},
    {"exa mple.com", false, false},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", false, false},
};

static void test_urlcheck__hosts(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(host_cases); i++) {
		const struct host_case *c = &host_cases[i];
		assert_int_equal(url_host_valid(c->h, strlen(c->h)), c->valid);
		assert_int_equal(url_host_is_loopback(c->h, strlen(c->h)), c->loopback);
	}
	assert_true(url_host_equal("WWW.Example.com", 15, "www.example.com"));
	assert_false(url_host_equal("www.example.co", 14, "www.example.com"));
	assert_false(url_host_equal("www.example.com", 15, "www.example.co"));
}

struct base_case {
	const char *in;
	enum url_problem want;
};

static const struct base_case base_cases[] = {
    {"https://restapi.cdn.azure.cn", URL_OK},
    {"https://proxy.corp:8443/cdn", URL_OK},
    {"http://127.0.0.1:8080", URL_OK},
    {"http://localhost:9000/", URL_OK},
    {"http://[::1]:8080", URL_OK},
    {"http://127.9.9.9", URL_OK},
    {"http://example.com", URL_ESCHEME},
    {"http://127.0.0.1.nip.io", URL_ESCHEME},
    {"ftp://example.com", URL_ESCHEME},
    {"https://user@example.com", URL_EFORM},
    {"https://example.com/?x=1", URL_EFORM},
    {"https://example.com/#f", URL_EFORM},
    {"example.com", URL_EFORM},
    {"https://exa_mple.com", URL_EHOST},
    {"https://example.com:0", URL_EHOST},
    {"https://example.com:99999", URL_EHOST},
    {"https://example.com:8a", URL_EHOST},
    {"https://example.com/a b", URL_ECTRL},
    {"https://example.com/\r\nX: y", URL_ECRLF},
};

static void test_urlcheck__base(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(base_cases); i++) {
		enum url_problem got = url_check_base(base_cases[i].in);
		if (got != base_cases[i].want)
			fail_msg("%s: got %d want %d", base_cases[i].in, got, base_cases[i].want);
	}
}

struct check_case {
	const char *in;
	unsigned flags;
	enum url_problem want;
	size_t off;
};

#define P URL_F_ALLOW_PATH
#define S URL_F_ALLOW_STAR

static const struct check_case check_cases[] = {
    {"/logo.png", P, URL_OK, 0},
    {"https://www.example.com/app.js", P, URL_OK, 0},
    {"http://www.example.com/a%20b.png?x=1&y=%2F", P, URL_OK, 0},
    {"/img/", P, URL_OK, 0},
    {"/a/.../b", P, URL_OK, 0},
    {"/a/.hidden", P, URL_OK, 0},
    {"/a/..b", P, URL_OK, 0},
    {"/a?x=/../", P, URL_OK, 0},
    {"https://www.example.com/assets/*.css", S, URL_OK, 0},
    {"https://www.example.com/assets/**", S, URL_OK, 0},
    {"/logo.png", 0, URL_EFORM, 0},
    {"logo.png", P, URL_EFORM, 0},
    {"//www.example.com/x", P, URL_EFORM, 0},
    {"ftp://www.example.com/x", P, URL_ESCHEME, 0},
    {"https://bad_host/x", P, URL_EHOST, 8},
    {"https://u@www.example.com/x", P, URL_EFORM, 0},
    {"/a*.png", P, URL_ESTAR, 2},
    {"/a b", P, URL_ECTRL, 2},
    {"/a\tb", P, URL_ECTRL, 2},
    {"/a\x7f", P, URL_ECTRL, 2},
    {"/a\rb", P, URL_ECRLF, 2},
    {"/a\nb", P, URL_ECRLF, 2},
    {"/a%0ab", P, URL_ECRLF, 2},
    {"/a%0Db", P, URL_ECRLF, 2},
    {"/a%00b", P, URL_ECRLF, 2},
    {"/new[1].png", P, URL_EUNSAFE, 4},
    {"/a]", P, URL_EUNSAFE, 2},
    {"/a{", P, URL_EUNSAFE, 2},
    {"/a}", P, URL_EUNSAFE, 2},
    {"/a\\b", P, URL_EUNSAFE, 2},
    {"/a`b", P, URL_EUNSAFE, 2},
    {"/a|b", P, URL_EUNSAFE, 2},
    {"/a^b", P, URL_EUNSAFE, 2},
    {"/a<b", P, URL_EUNSAFE, 2},
    {"/a>b", P, URL_EUNSAFE, 2},
    {"/a\"b", P, URL_EUNSAFE, 2},
    {"/a#frag", P, URL_EUNSAFE, 2},
    {"/caf\xc3\xa9", P, URL_EUNSAFE, 4},
    {"/123%zbc.jpg", P, URL_EPERCENT, 4},
    /* the vendor's 400 example: "%ab" is well-formed but 0xAB 'c' is not UTF-8 */
    {"/123%abc.jpg", P, URL_EUTF8, 4},
    {"http://domain.info/i/image/gallery/123%abc.jpg", P, URL_EUTF8, 38},
    {"/caf%C3%A9.jpg", P, URL_OK, 0},
    {"/%E4%B8%AD%E6%96%87?q=%F0%9F%98%80", P, URL_OK, 0},
    {"/a%C3", P, URL_EUTF8, 2},
    {"/a%C3b", P, URL_EUTF8, 2},
    {"/%C0%AF", P, URL_EUTF8, 1},	/* overlong '/' */
    {"/%E0%80%AF", P, URL_EUTF8, 1},	/* overlong, 3 bytes */
    {"/%ED%A0%80", P, URL_EUTF8, 1},	/* surrogate */
    {"/%F4%90%80%80", P, URL_EUTF8, 1}, /* above U+10FFFF */
    {"/%80", P, URL_EUTF8, 1},
    {"/a?x=%FF", P, URL_EUTF8, 5},
    {"/a%", P, URL_EPERCENT, 2},
    {"/a%4", P, URL_EPERCENT, 2},
    {"/a/./b", P, URL_EDOTSEG, 3},
    {"/a/../b", P, URL_EDOTSEG, 3},
    {"/a/..", P, URL_EDOTSEG, 3},
    {"/.", P, URL_EDOTSEG, 1},
    {"/a/%2e%2e/b", P, URL_EDOTSEG, 3},
    {"/a/%2E%2e/b", P, URL_EDOTSEG, 3},
    {"/a/.%2E/b", P, URL_EDOTSEG, 3},
    {"/a/%2e/b", P, URL_EDOTSEG, 3},
    {"https://www.example.com/../x", P, URL_EDOTSEG, 24},
};

static void test_urlcheck__check(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(check_cases); i++) {
		const struct check_case *c = &check_cases[i];
		size_t off = 999;
		enum url_problem got = url_check(c->in, 0, c->flags, NULL, &off);
		if (got != c->want)
			fail_msg("%s: got %s want %s", c->in, url_problem_str(got),
				 url_problem_str(c->want));
		if (got != URL_OK && off != c->off)
			fail_msg("%s: offset %zu want %zu", c->in, off, c->off);
	}
}

static void test_urlcheck__length(void **state)
{
	(void)state;
	char buf[URL_MAX + 2];
	memset(buf, 'a', sizeof(buf) - 1);
	buf[0] = '/';
	buf[URL_MAX] = '\0';
	assert_int_equal(url_check(buf, 0, P, NULL, NULL), URL_OK);
	buf[URL_MAX] = 'a';
	buf[URL_MAX + 1] = '\0';
	assert_int_equal(url_check(buf, 0, P, NULL, NULL), URL_ETOOLONG);
	assert_int_equal(url_check("/abcdef", 4, P, NULL, NULL), URL_ETOOLONG);
}

static const struct check_case load_cases[] = {
    {"/index.html", 0, URL_OK, 0},
    {"/a/b-c_d.e%20f=g h", 0, URL_OK, 0},
    {"/a?x=1&y=a/b:c;d!e,f.g+h'i", 0, URL_OK, 0},
    {"/a?", 0, URL_OK, 0},
    {"/a/*", 0, URL_ESTAR, 3},
    {"/a/", 0, URL_ELOADCHARS, 2},
    {"/a//b", 0, URL_ELOADCHARS, 2},
    {"/", 0, URL_ELOADCHARS, 0},
    {"/a~b", 0, URL_ELOADCHARS, 2},
    {"/a?x=(1)", 0, URL_ELOADCHARS, 5},
    {"/a?x#y", 0, URL_ELOADCHARS, 4},
    {"a/b", 0, URL_EFORM, 0},
    {"/a%zz", 0, URL_EPERCENT, 2},
    {"/a/../b", 0, URL_EDOTSEG, 3},
    {"/a\nb", 0, URL_ECRLF, 2},
};

static void test_urlcheck__azure_load(void **state)
{
	(void)state;
	char buf[URL_AZURE_LOAD_MAX + 2];
	for (size_t i = 0; i < CF_ARRAY_LEN(load_cases); i++) {
		const struct check_case *c = &load_cases[i];
		size_t off = 999;
		enum url_problem got = url_check_azure_load(c->in, &off);
		if (got != c->want)
			fail_msg("%s: got %s want %s", c->in, url_problem_str(got),
				 url_problem_str(c->want));
		if (got != URL_OK && off != c->off)
			fail_msg("%s: offset %zu want %zu", c->in, off, c->off);
	}
	memset(buf, 'a', sizeof(buf));
	buf[0] = '/';
	buf[URL_AZURE_LOAD_MAX] = '\0';
	assert_int_equal(url_check_azure_load(buf, NULL), URL_OK);
	buf[URL_AZURE_LOAD_MAX] = 'a';
	buf[URL_AZURE_LOAD_MAX + 1] = '\0';
	assert_int_equal(url_check_azure_load(buf, NULL), URL_ETOOLONG);
}

struct regex_case {
	const char *re;
	enum url_problem want;
	const char *host;
};

static const struct regex_case regex_cases[] = {
    {"https://www.example.com/v[0-9]+/.*\\.js", URL_OK, "www.example.com"},
    {"any://img.example.com/my.*\\.(jpg|png)\\?q=", URL_OK, "img.example.com"},
    {"http://h.example.com/a{1,59}", URL_OK, "h.example.com"},
    {"http://h.example.com/a{59}", URL_OK, "h.example.com"},
    {"http://h.example.com/a*+b+?", URL_OK, "h.example.com"},		  /* possessive, lazy */
    {"http://h.example.com/[*+]*x+", URL_OK, "h.example.com"},		  /* class is literal */
    {"http://h.example.com/\\*\\+\\{1,99\\}.*", URL_OK, "h.example.com"}, /* escaped */
    {"http://h.example.com/\\x{41}{2}", URL_OK, "h.example.com"},
    {"http://h.example.com/a{,}", URL_OK, "h.example.com"}, /* literal braces */
    {"http://h.example.com/\\Q*+*\\E.*", URL_OK, "h.example.com"},
    {"http://h.example.com/a?b?c?d?", URL_OK, "h.example.com"},
    {"ftp://h.example.com/a", URL_ERE_PREFIX, NULL},
    {"https://h.example.com", URL_ERE_PREFIX, NULL},
    {"https://h.example.com:80/a", URL_ERE_PREFIX, NULL},
    {"https://h\\.example\\.com/a", URL_ERE_PREFIX, NULL},
    {"https://.*/a", URL_ERE_PREFIX, NULL},
    {"/a/.*", URL_ERE_PREFIX, NULL},
    {"http://h.example.com/a*b+c*", URL_ERE_UNLIMITED, "h.example.com"},
    {"http://h.example.com/a{2,}b*c+", URL_ERE_UNLIMITED, "h.example.com"},
    {"http://h.example.com/a{1,60}", URL_ERE_BOUND, "h.example.com"},
    {"http://h.example.com/a{60}", URL_ERE_BOUND, "h.example.com"},
    {"http://h.example.com/a{,60}", URL_ERE_BOUND, "h.example.com"},
    {"http://h.example.com/a{1,99999999999999}", URL_ERE_BOUND, "h.example.com"},
    {"http://h.example.com/(a", URL_ERE_COMPILE, "h.example.com"},
    {"http://h.example.com/[a", URL_ERE_COMPILE, "h.example.com"},
    {"http://h.example.com/a{2,1}", URL_ERE_COMPILE, "h.example.com"},
    {"http://h.example.com/(*BOGUS)a", URL_ERE_COMPILE, "h.example.com"},
    {"http://h.example.com/a\nb", URL_ECRLF, NULL},
    {"http://h.example.com/a\tb", URL_ECTRL, NULL},
};

static void test_urlcheck__regex(void **state)
{
	(void)state;
	char msg[256], re[URL_REGEX_TAIL_MAX + 64];
	for (size_t i = 0; i < CF_ARRAY_LEN(regex_cases); i++) {
		const struct regex_case *c = &regex_cases[i];
		const char *h = NULL;
		size_t hl = 0;
		enum url_problem got = url_check_regex(c->re, &h, &hl, msg, sizeof(msg), NULL);
		if (got != c->want)
			fail_msg("%s: got %s want %s", c->re, url_problem_str(got),
				 url_problem_str(c->want));
		if (c->host)
			expect_piece(h, hl, c->host);
		if (got == URL_ERE_COMPILE)
			assert_true(msg[0] != '\0');
	}
	/* exactly URL_REGEX_TAIL_MAX characters after "host/" pass, one more does not */
	snprintf(re, sizeof(re), "https://h.example.com/%0*d", URL_REGEX_TAIL_MAX, 0);
	const char *h;
	size_t hl;
	assert_int_equal(url_check_regex(re, &h, &hl, NULL, 0, NULL), URL_OK);
	snprintf(re, sizeof(re), "https://h.example.com/%0*d", URL_REGEX_TAIL_MAX + 1, 0);
	assert_int_equal(url_check_regex(re, &h, &hl, NULL, 0, NULL), URL_ERE_LONG);
}

static void test_urlcheck__problem_str(void **state)
{
	(void)state;
	for (int p = URL_OK; p <= URL_ERE_COMPILE; p++)
		assert_true(strlen(url_problem_str((enum url_problem)p)) > 1);
	assert_string_equal(url_problem_str((enum url_problem)999), "?");
}

/* pcre2 reports a failed allocation as a compile error; the fake below makes it do that. */
static bool fake_pcre2_oom;

pcre2_code *pcre2_compile_8(PCRE2_SPTR re, PCRE2_SIZE len, uint32_t opts, int *code,
			    PCRE2_SIZE *off, pcre2_compile_context *cc)
{
	pcre2_code *(*real)(PCRE2_SPTR, PCRE2_SIZE, uint32_t, int *, PCRE2_SIZE *,
			    pcre2_compile_context *) =
	    (pcre2_code * (*)(PCRE2_SPTR, PCRE2_SIZE, uint32_t, int *, PCRE2_SIZE *,
			      pcre2_compile_context *)) dlsym(RTLD_NEXT, "pcre2_compile_8");
	if (!fake_pcre2_oom)
		return real(re, len, opts, code, off, cc);
	*code = PCRE2_ERROR_HEAP_FAILED;
	*off = 0;
	return NULL;
}

void __lsan_disable(void) __attribute__((weak));

/* Out of memory in pcre2 ends the process like xmem does, not as "invalid regex". */
static void test_urlcheck__regex_out_of_memory(void **state)
{
	(void)state;
	int fds[2];
	char out[1024];
	ssize_t n;
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *h;
		size_t hl;
		if (__lsan_disable)
			__lsan_disable();
		dup2(fds[1], STDERR_FILENO);
		fake_pcre2_oom = true;
		(void)url_check_regex("https://h.example.com/v[0-9]+/a", &h, &hl, NULL, 0, NULL);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_non_null(strstr(out, "cacheform: out of memory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_urlcheck__split),
	    cmocka_unit_test(test_urlcheck__hosts),
	    cmocka_unit_test(test_urlcheck__base),
	    cmocka_unit_test(test_urlcheck__check),
	    cmocka_unit_test(test_urlcheck__length),
	    cmocka_unit_test(test_urlcheck__azure_load),
	    cmocka_unit_test(test_urlcheck__regex),
	    cmocka_unit_test(test_urlcheck__problem_str),
	    cmocka_unit_test(test_urlcheck__regex_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
