/* Unit tests: redaction of traces and header validity. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/redact.h"
#include "reconcile/base/sb.h"

struct hdr_case {
	const char *name, *value, *want;
};

static const struct hdr_case hdr_cases[] = {
    {"Authorization", "AzureCDN key-1:C495D5CE16", "AzureCDN <redacted>"},
    {"authorization", "Basic YWxpY2U6dGFF", "Basic <redacted>"},
    {"Authorization", "Bearer eyJ0eXAi.abc.def", "Bearer <redacted>"},
    {"Authorization", "rawsecretwithoutscheme", "<redacted>"},
    {"Proxy-Authorization", "Basic Zm9v", "Basic <redacted>"},
    {"Cookie", "session=abc", "<redacted>"},
    {"Set-Cookie", "session=abc; HttpOnly", "<redacted>"},
    {"x-api-key", "k123", "<redacted>"},
    {"X-Signature", "abc", "<redacted>"},
    {"x-ms-client-secret", "s", "<redacted>"},
    {"x-azurecdn-request-date", "2017-09-01 09:00:00", "2017-09-01 09:00:00"},
    {"Content-Type", "application/json", "application/json"},
    {"x-rate-limit-remaining", "29", "29"},
    {"Date", "Thu, 17 May 2012 19:37:58 GMT", "Thu, 17 May 2012 19:37:58 GMT"},
    {"X-Evil", "a\x1b[2Jb", "a\\x1b[2Jb"}, /* terminal escapes are neutralised */
};

static void test_redact__header(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(hdr_cases); i++) {
		struct sb sb;
		sb_init(&sb, 0);
		redact_header(hdr_cases[i].name, hdr_cases[i].value, &sb);
		assert_string_equal(sb.buf, hdr_cases[i].want);
		sb_release(&sb);
	}
}

struct body_case {
	const char *in, *want;
};

static const struct body_case body_cases[] = {
    /* token endpoint answers (v2 and v1 shapes) */
    {"{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"eyJ0eXAi.x.y\"}",
     "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"<redacted>\"}"},
    {"{ \"access_token\" : \"a\\\"b\", \"refresh_token\":\"r\", \"id_token\": \"i\" }",
     "{ \"access_token\" : \"<redacted>\", \"refresh_token\":\"<redacted>\", \"id_token\": "
     "\"<redacted>\" }"},
    /* nested objects, camelCase keys, numbers left alone */
    {"{\"credentials\":{\"user\":\"u\",\"secretKey\":\"sk\"},\"apiKey\":\"ak\",\"password\":1}",
     "{\"credentials\":{\"user\":\"u\",\"secretKey\":\"<redacted>\"},\"apiKey\":\"<redacted>\","
     "\"password\":1}"},
    /* a quota count is not a credential */
    {"{\"purgeTokens\":\"12\"}", "{\"purgeTokens\":\"12\"}"},
    /* a secret name as a value is not a key */
    {"[\"access_token\",\"x\"]", "[\"access_token\",\"x\"]"},
    /* form bodies: client credentials grant */
    {"client_id=abc&scope=https%3A%2F%2Fmanagement.azure.com%2F.default&client_secret=s%2B3"
     "&grant_type=client_credentials",
     "client_id=abc&scope=https%3A%2F%2Fmanagement.azure.com%2F.default&client_secret="
     "<redacted>&grant_type=client_credentials"},
    {"client_assertion=eyJ&x=1", "client_assertion=<redacted>&x=1"},
    /* form fields quoted inside other text (an echoed request, an error message) */
    {"POST /t HTTP/1.1\r\nHost: h\r\n\r\nclient_id=a&client_secret=TOP&x=1",
     "POST /t HTTP/1.1\\x0d\nHost: h\\x0d\n\\x0d\nclient_id=a&client_secret=<redacted>&x=1"},
    {"{\"error\":\"bad form password=hunter2, retry\"}",
     "{\"error\":\"bad form password=<redacted>, retry\"}"},
    /* Bearer values anywhere, e.g. echoed in an error message */
    {"{\"message\":\"bad header Bearer abc.def-ghi\"}",
     "{\"message\":\"bad header Bearer <redacted>\"}"},
    {"plain text bearer xyz123 end", "plain text bearer <redacted> end"},
    /* hostile control bytes escaped, newlines kept */
    {"line1\nline2\r\x07", "line1\nline2\\x0d\\x07"},
    /* unterminated JSON must not leak or crash */
    {"{\"access_token\":\"abc", "{\"access_token\":\"<redacted>\""},
    {"", ""},
};

static void test_redact__body(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(body_cases); i++) {
		struct sb sb;
		sb_init(&sb, 0);
		redact_body(body_cases[i].in, strlen(body_cases[i].in), &sb);
		assert_string_equal(sb.buf, body_cases[i].want);
		sb_release(&sb);
	}
}

static const struct body_case url_cases[] = {
    {"https://h/p?apiVersion=1.0", "https://h/p?apiVersion=1.0"},
    {"https://h/p?sig=abc&se=2026&token=t#frag",
     "https://h/p?sig=<redacted>&se=2026&token=<redacted>#frag"},
    {"https://h/oauth2/v2.0/token", "https://h/oauth2/v2.0/token"},
};

static void test_redact__url(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(url_cases); i++) {
		struct sb sb;
		sb_init(&sb, 0);
		redact_url(url_cases[i].in, &sb);
		assert_string_equal(sb.buf, url_cases[i].want);
		sb_release(&sb);
	}
}

struct valid_case {
	const char *name, *value;
	bool ok;
};

static const struct valid_case valid_cases[] = {
    {"Authorization", "AzureCDN k:ABC", true},
    {"x-azurecdn-request-date", "2017-09-01 09:00:00", true},
    {"X-Tab", "a\tb", true},
    {"X-Empty", "", true},
    {"X-Inject", "v\r\nX-Evil: 1", false},
    {"X-Inject", "v\nX-Evil: 1", false},
    {"X-Inject", "v\r", false},
    {"X-Ctl", "a\x01", false},
    {"Bad Name", "v", false},
    {"Bad:Name", "v", false},
    {"Bad\r\nName", "v", false},
    {"", "v", false},
};

static void test_redact__header_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(valid_cases); i++)
		assert_int_equal(redact_header_valid(valid_cases[i].name, valid_cases[i].value),
				 valid_cases[i].ok);
}

static void test_redact__names(void **state)
{
	(void)state;
	const char *yes[] = {"client_secret", "ACCESS_TOKEN", "x-api-key", "key_value",
			     "password",      "privateKey",   "sig"};
	const char *no[] = {"client_id",  "purgeTokens", "token_type",
			    "expires_in", "user",	 "x-rate-limit-remaining"};
	for (size_t i = 0; i < CF_ARRAY_LEN(yes); i++)
		assert_true(redact_name_is_secret(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < CF_ARRAY_LEN(no); i++)
		assert_false(redact_name_is_secret(no[i], strlen(no[i])));
}

/* Provider text quoting a secret value this process holds: scrubbed wherever it stands. */
static void test_redact__known_values(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"bad key s3cr3t-value here", "bad key <redacted> here"},
	    {"Authorization=Basic dXNlcjpzaWc=; body=x", "Authorization=<redacted>; body=x"},
	    {"client_secret=s3cr3t-value&x=1", "client_secret=<redacted>&x=1"},
	    {"short abc stays", "short abc stays"},
	    {"", ""},
	};
	redact_known_add("s3cr3t-value", false);
	redact_known_add("abc", false); /* too short to be remembered */
	redact_known_add("Basic dXNlcjpzaWc=", true);
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct sb out;
		sb_init(&out, 0);
		redact_text(cases[i].in, &out);
		assert_string_equal(out.buf ? out.buf : "", cases[i].out);
		sb_release(&out);
	}
	redact_known_clear();
	struct sb out;
	sb_init(&out, 0);
	redact_text("s3cr3t-value", &out);
	assert_string_equal(out.buf, "s3cr3t-value");
	sb_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redact__header), cmocka_unit_test(test_redact__body),
	    cmocka_unit_test(test_redact__url),	   cmocka_unit_test(test_redact__header_valid),
	    cmocka_unit_test(test_redact__names),  cmocka_unit_test(test_redact__known_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
