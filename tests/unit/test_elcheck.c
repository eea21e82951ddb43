/* Unit tests: fakecdn's CDN Pro Edge Logic checks (cmd/fakecdn/fk_elcheck.c): which errors
 * the version call answers synchronously and which the validation task reports nginx-style. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cmd/fakecdn/fk_elcheck.h"

#define CONF FK_EL_CONF_FILE ":"

static const char *const origins[] = {"origin1", "backup"};
static const char *const granted[] = {"proxy_cache_vary"};

static const struct {
	const char *text;
	const char *code;    /* synchronous code, NULL = none */
	const char *msg;     /* substring of the synchronous message */
	const char *details; /* the validation's statusDetails, NULL = it succeeds */
} cases[] = {
    /* accepted */
    {"location / { origin_pass origin1; }", NULL, NULL, NULL},
    {"# comment { not a block\nlocation / {\n  proxy_cache_valid 200 301 10m;\n"
     "  proxy_cache_min_age 1d;\n  proxy_ignore_headers X-Accel-Expires Cache-Control;\n"
     "  origin_pass origin1;\n}\nlocation = /x { proxy_no_cache 1; proxy_cache_bypass 1; "
     "origin_pass backup; }\n",
     NULL, NULL, NULL},
    {"set $cache_misc \"?$sorted_querystring_args\";\nif ($http_x) { return 403; }\n"
     "location / { proxy_cache_vary on; origin_pass origin1; }",
     NULL, NULL, NULL},
    {"location ~ \"^/a{2}$\" { return 200; }\nlocation / { origin_pass $upstream; }", NULL, NULL,
     NULL},
    {"location / { proxy_cache_valid $ttl; origin_pass origin1; }", NULL, NULL, NULL},
    {"location = /a { return 200; }\nlocation /a { origin_pass origin1; }\n"
     "location / { origin_pass origin1; }",
     NULL, NULL, NULL}, /* = /a and /a may coexist */
    /* synchronous: names (case-sensitive), advanced not granted, structural rules */
    {"location / { ORIGIN_set_header X 1; origin_pass origin1; }", "InvalidDirective",
     "'ORIGIN_set_header'", NULL},
    {"location / { origin_fast_route on; origin_pass origin1; }", "UnauthorizedDirective",
     "'origin_fast_route'", NULL},
    {"location /x { proxy_cache_valid 1d; }\nlocation / { origin_pass origin1; }",
     "InvalidEdgeLogic", "without origin_pass or return", NULL},
    {"location /x { if ($a) { origin_pass origin1; } }\nlocation / { origin_pass origin1; }",
     "InvalidEdgeLogic", "Line 1", NULL}, /* (a): only directly */
    {"if ($a) { origin_pass origin1; }\nlocation / { origin_pass origin1; }", "InvalidEdgeLogic",
     "top-level if", NULL},
    {"location /x { break; return 200; }\nlocation / { origin_pass origin1; }", "InvalidEdgeLogic",
     "break", NULL},
    {"location /x { origin_pass origin1; }", "InvalidEdgeLogic", "no location /", NULL},
    {"location ^~ / { origin_pass origin1; }", "InvalidEdgeLogic", "no location /", NULL},
    /* asynchronous: what nginx refuses */
    {"location / {\n  expires;\n  origin_pass origin1;\n}", NULL, NULL,
     "invalid number of arguments in \"expires\" directive in " CONF "22"},
    {"location / {\n  proxy_cache_valid 1d 2d;\n  origin_pass origin1;\n}", NULL, NULL,
     "invalid status \"1d\" in " CONF "22"},
    {"location / { proxy_cache_valid 10x; origin_pass origin1; }", NULL, NULL,
     "invalid time value \"10x\" in " CONF "21"},
    {"location / { proxy_cache_min_age soon; origin_pass origin1; }", NULL, NULL,
     "invalid time value \"soon\" in " CONF "21"},
    {"location / { origin_pass nowhere; }", NULL, NULL,
     "origin \"nowhere\" is not defined in the property's origins in " CONF "21"},
    {"location / { origin_pass origin1;", NULL, NULL,
     "unexpected end of file, expecting \"}\" in " CONF "21"},
    {"location / { origin_pass origin1; }\n}", NULL, NULL, "unexpected \"}\" in " CONF "22"},
    {"location / { origin_pass \"origin1; }", NULL, NULL,
     "unexpected end of file, expecting a closing quote in " CONF "21"},
    {"location / { origin_pass origin1 }", NULL, NULL, "unexpected \"}\" in " CONF "21"},
    {"location / { origin_pass origin1; }\nlocation ^~ / { return 200; }", NULL, NULL,
     "duplicate location \"/\" in " CONF "22"},
    {"location = /a { location /a/b { return 200; } return 200; }\n"
     "location / { origin_pass origin1; }",
     NULL, NULL, "location \"/a/b\" cannot be inside the exact location \"/a\" in " CONF "21"},
    {"location / { if ($a) { proxy_cache_valid 1m; } origin_pass origin1; }", NULL, NULL,
     "\"proxy_cache_valid\" directive is not allowed here in " CONF "21"},
    {"location !! /x { return 200; }\nlocation / { origin_pass origin1; }", NULL, NULL,
     "invalid location modifier \"!!\" in " CONF "21"},
    {"location / { origin_pass origin1; }\n;", NULL, NULL, "unexpected \";\" in " CONF "22"},
    /* both: the synchronous error answers the call; the first nginx error is kept */
    {"location / { gzip on; origin_pass; }", "UnauthorizedDirective", "'gzip'",
     "invalid number of arguments in \"origin_pass\" directive in " CONF "21"},
};

static void test_elcheck__cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct fk_el_report r;

		fk_el_check(cases[i].text, strlen(cases[i].text), origins, CF_ARRAY_LEN(origins),
			    granted, CF_ARRAY_LEN(granted), &r);
		if (cases[i].code == NULL && r.code != NULL)
			fail_msg("case %zu: unexpected %s: %s", i, r.code, r.message);
		if (cases[i].code) {
			if (!r.code || strcmp(r.code, cases[i].code) != 0 ||
			    !strstr(r.message, cases[i].msg))
				fail_msg("case %zu: want %s (%s), got %s: %s", i, cases[i].code,
					 cases[i].msg, r.code ? r.code : "none",
					 r.code ? r.message : "");
		}
		if (cases[i].details == NULL && r.failed)
			fail_msg("case %zu: unexpected failure: %s", i, r.details);
		if (cases[i].details && (!r.failed || strcmp(r.details, cases[i].details) != 0))
			fail_msg("case %zu: want '%s', got '%s'", i, cases[i].details,
				 r.failed ? r.details : "(no failure)");
	}
}

/* Too long for the field: synchronous, whatever the text. */
static void test_elcheck__length(void **state)
{
	static const char head[] = "location / { origin_pass origin1; }\n";
	size_t len = 65531;
	char *text = malloc(len + 1);
	struct fk_el_report r;

	(void)state;
	assert_non_null(text);
	memset(text, ' ', len);
	memcpy(text, head, sizeof(head) - 1);
	text[len] = '\0';
	fk_el_check(text, len, origins, 1, NULL, 0, &r);
	assert_string_equal(r.code, "InvalidEdgeLogic");
	assert_false(r.failed);
	fk_el_check(text, len - 1, origins, 1, NULL, 0, &r);
	assert_null(r.code);
	free(text);
}

/* Embedded NULs and binary bytes are read as bytes, never past len. */
static void test_elcheck__bytes(void **state)
{
	static const char text[] = "location / { origin_pass origin1; }\0location /x {";
	struct fk_el_report r;

	(void)state;
	fk_el_check(text, strlen(text), origins, 1, NULL, 0, &r);
	assert_null(r.code);
	assert_false(r.failed);
	fk_el_check(text, sizeof(text) - 1, origins, 1, NULL, 0, &r);
	assert_true(r.failed);
	assert_true(r.directives >= 2);
}

static void test_elcheck__lists(void **state)
{
	size_t n;
	const char *const *base = fk_el_directives(false, &n);

	(void)state;
	assert_true(n > 20);
	assert_string_equal(base[0], "location");
	assert_true(fk_el_base_directive("proxy_cache_valid"));
	assert_false(fk_el_base_directive("Proxy_cache_valid"));
	assert_true(fk_el_advanced_directive("proxy_cache_vary"));
	assert_false(fk_el_advanced_directive("proxy_cache_valid"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_elcheck__cases),
	    cmocka_unit_test(test_elcheck__length),
	    cmocka_unit_test(test_elcheck__bytes),
	    cmocka_unit_test(test_elcheck__lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
