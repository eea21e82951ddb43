/* Unit tests: libcurl loaded on first use (reconcile/http_lib.c) and its variadic forwarders. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "reconcile/http_lib.h"

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* Nothing loads libcurl before the first curl_* call; the first one does. */
static void test_http_lib__loaded_on_first_call(void **state)
{
	(void)state;
	assert_false(http_lib_loaded());
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	assert_true(http_lib_loaded());
	assert_non_null(v);
	assert_true(strlen(v->version) > 0);
}

/* One option of every argument type (curl.h's CURLOPTTYPE_* ranges): each must arrive as
 * the type it was given, which libcurl confirms by accepting it or by reading it back. */
static void test_http_lib__setopt_argument_types(void **state)
{
	(void)state;
	CURL *h = curl_easy_init();
	assert_non_null(h);
	static const char url[] = "http://127.0.0.1:9/http-lib";
	struct {
		const char *what;
		CURLcode rc;
	} cases[] = {
	    {"long", curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L)},
	    {"string", curl_easy_setopt(h, CURLOPT_URL, url)},
	    {"object", curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)h)},
	    {"function", curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard)},
	    {"off_t", curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 40)},
	    {"bad long", curl_easy_setopt(h, CURLOPT_SSLVERSION, 12345L)},
	};
	for (size_t i = 0; i + 1 < CF_ARRAY_LEN(cases); i++) {
		print_message("%s\n", cases[i].what);
		assert_int_equal(cases[i].rc, CURLE_OK);
	}
	/* a long read as anything else would not be this exact refusal */
	assert_int_not_equal(cases[CF_ARRAY_LEN(cases) - 1].rc, CURLE_OK);
	char *got = NULL;
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &got), CURLE_OK);
	assert_non_null(got);
	assert_string_equal(got, url);
	curl_easy_cleanup(h);

	CURLM *m = curl_multi_init();
	assert_non_null(m);
	assert_int_equal(curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 4L), CURLM_OK);
	assert_int_equal(curl_multi_setopt(m, CURLMOPT_SOCKETDATA, (void *)m), CURLM_OK);
	curl_multi_cleanup(m);
}

int main(void)
{
	/* in this order: the first test needs a process that has not loaded libcurl yet */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_lib__loaded_on_first_call),
	    cmocka_unit_test(test_http_lib__setopt_argument_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
