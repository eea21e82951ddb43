/*
 * Unit tests: AzureCDN and CDN Pro signing. Every expected MAC was computed with the openssl
 * CLI, independently of this code:
 *   printf '%s' "$STS" | openssl dgst -sha256 -hmac "$KEY"        (upper-cased)
 *   printf '%s' "$DATE" | openssl dgst -sha1 -hmac "$KEY" -binary | base64
 * and the dates with `date -u -d @T`.
 */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/base/sb.h"
#include "reconcile/sign.h"

#define AZ_KEY "dGVzdGtleQ==" /* used as UTF-8 bytes, not base64-decoded */

struct sts_case {
	const char *method, *url, *date;
	const char *sts; /* expected string to sign */
	const char *mac; /* expected upper-case hex HMAC-SHA256 with AZ_KEY */
};

static const struct sts_case sts_cases[] = {
    /* unsorted query, an escaped value, a repeated name (first value wins), lower-case method */
    {"put",
     "https://restapi.cdn.azure.cn/subscriptions/SUB/endpoints/EP/cacherules"
     "?b=2&apiVersion=1.0&a=x%20y&b=3",
     "2017-09-01 09:00:00",
     "/subscriptions/SUB/endpoints/EP/cacherules\r\na:x y, apiVersion:1.0, b:2\r\n"
     "2017-09-01 09:00:00\r\nPUT",
     "C495D5CE1693D76C1DFE3EC26798DF2859576DA517936E11A7A8BE3BA42A45FA"},
    /* no query at all: an empty line */
    {"GET", "https://restapi.cdn.azure.cn/subscriptions/s/endpoints/e", "2017-09-01 09:00:00",
     "/subscriptions/s/endpoints/e\r\n\r\n2017-09-01 09:00:00\r\nGET",
     "B7BAE132E25464634E083A8989B0A5AC8717572EAF73C591B745B1EF1B4B4AF6"},
    /* path-only url, the usual single apiVersion pair, midnight */
    {"POST",
     "/subscriptions/11111111-2222-3333-4444-555555555555/endpoints/"
     "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/purges?apiVersion=1.0",
     "2026-11-21 00:00:00",
     "/subscriptions/11111111-2222-3333-4444-555555555555/endpoints/"
     "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/purges\r\napiVersion:1.0\r\n2026-11-21 00:00:00\r\n"
     "POST",
     "3EFE99BF174142710A4686CEFFA20A58B07396D8EF0659C4491B1C0CC0F711EC"},
};

static void test_sign__azurecn_string(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(sts_cases); i++) {
		const struct sts_case *c = &sts_cases[i];
		struct sb sb;
		sb_init(&sb, 0);
		assert_int_equal(sign_azurecn_string(c->method, c->url, c->date, &sb), 0);
		assert_string_equal(sb.buf, c->sts);
		sb_release(&sb);
	}
}

static void test_sign__azurecn_auth(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(sts_cases); i++) {
		const struct sts_case *c = &sts_cases[i];
		struct sb sb, want;
		sb_init(&sb, 0);
		sb_init(&want, 0);
		assert_int_equal(
		    sign_azurecn_auth("key-1", AZ_KEY, c->method, c->url, c->date, &sb), 0);
		sb_addf(&want, "AzureCDN key-1:%s", c->mac);
		assert_string_equal(sb.buf, want.buf);
		sb_release(&sb);
		sb_release(&want);
	}
}

/* The keyed HMAC context is kept between signatures: a change of key (two azure-china accounts
 * in one run) must re-key it, and a return to the first key must not keep the second. */
static const struct {
	const char *key, *mac;
} key_switch[] = {
    {AZ_KEY, "B7BAE132E25464634E083A8989B0A5AC8717572EAF73C591B745B1EF1B4B4AF6"},
    {"other-key", "C2B0751EB29D56C279C15EBB3BBB419E837D1835A11043E236CF0205A74ED88F"},
    {"other-key", "C2B0751EB29D56C279C15EBB3BBB419E837D1835A11043E236CF0205A74ED88F"},
    {AZ_KEY, "B7BAE132E25464634E083A8989B0A5AC8717572EAF73C591B745B1EF1B4B4AF6"},
};

static void test_sign__azurecn_key_switch(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(key_switch); i++) {
		struct sb sb, want;
		sb_init(&sb, 0);
		sb_init(&want, 0);
		assert_int_equal(sign_azurecn_auth("k", key_switch[i].key, "GET",
						   "https://restapi.cdn.azure.cn/subscriptions/s/"
						   "endpoints/e",
						   "2017-09-01 09:00:00", &sb),
				 0);
		sb_addf(&want, "AzureCDN k:%s", key_switch[i].mac);
		assert_string_equal(sb.buf, want.buf);
		sb_release(&sb);
		sb_release(&want);
	}
}

static void test_sign__azurecn_bad_url(void **state)
{
	(void)state;
	const char *bad[] = {"https://h/p?a=%zz", "https://h/p?a=%4", "https://h/p?a=%00",
			     "relative/path"};
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		struct sb sb;
		sb_init(&sb, 0);
		assert_int_equal(sign_azurecn_string("GET", bad[i], "2017-09-01 09:00:00", &sb),
				 -1);
		sb_release(&sb);
	}
}

struct date_case {
	time_t t;
	const char *azure, *rfc1123;
};

static const struct date_case date_cases[] = {
    {0, "1970-01-01 00:00:00", "Thu, 01 Jan 1970 00:00:00 GMT"},
    {1735689600, "2025-01-01 00:00:00", "Wed, 01 Jan 2025 00:00:00 GMT"}, /* midnight */
    {1735689599, "2024-12-31 23:59:59", "Tue, 31 Dec 2024 23:59:59 GMT"}, /* year end */
    {1336354321, "2012-05-07 01:32:01", "Mon, 07 May 2012 01:32:01 GMT"}, /* one digit */
    {1709208309, "2024-02-29 12:05:09", "Thu, 29 Feb 2024 12:05:09 GMT"}, /* leap day */
    {951782400, "2000-02-29 00:00:00", "Tue, 29 Feb 2000 00:00:00 GMT"},
    {4102444799, "2099-12-31 23:59:59", "Thu, 31 Dec 2099 23:59:59 GMT"},
};

static void test_sign__dates(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(date_cases); i++) {
		char a[SIGN_AZURECN_DATE_LEN + 1], r[SIGN_RFC1123_DATE_MAX];
		sign_azurecn_date(date_cases[i].t, a, sizeof(a));
		sign_rfc1123_date(date_cases[i].t, r, sizeof(r));
		assert_string_equal(a, date_cases[i].azure);
		assert_string_equal(r, date_cases[i].rfc1123);
	}
}

static void test_sign__cdnpro(void **state)
{
	(void)state;
	struct sb sb;
	sb_init(&sb, 0);
	/* password taE50qq6puf+EKbpF+Bnhg9cXp8= ; header base64("alice:" password) */
	assert_int_equal(
	    sign_cdnpro_auth("alice", "secretkey123", "Thu, 17 May 2012 19:37:58 GMT", &sb), 0);
	assert_string_equal(sb.buf, "Basic YWxpY2U6dGFFNTBxcTZwdWYrRUticEYrQm5oZzljWHA4PQ==");
	sb_reset(&sb);
	/* a ':' in the user name would make the Basic credential ambiguous */
	assert_int_equal(sign_cdnpro_auth("a:b", "k", "Thu, 17 May 2012 19:37:58 GMT", &sb), -1);
	sb_release(&sb);
}

static void test_sign__wipe(void **state)
{
	(void)state;
	char buf[16] = "supersecretvalue";
	sign_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	sign_wipe(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign__azurecn_string),  cmocka_unit_test(test_sign__azurecn_auth),
	    cmocka_unit_test(test_sign__azurecn_key_switch),
	    cmocka_unit_test(test_sign__azurecn_bad_url), cmocka_unit_test(test_sign__dates),
	    cmocka_unit_test(test_sign__cdnpro),	  cmocka_unit_test(test_sign__wipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
