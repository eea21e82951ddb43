/*
 * Unit tests: libcrypto loaded on first use (reconcile/crypto_lib.c). Each forwarder is checked
 * against a published answer (FIPS 180 for SHA-1/SHA-256, RFC 2202 and RFC 4231 for HMAC,
 * RFC 4648 for base64): a forwarder that passed an argument wrongly would not give it.
 */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "reconcile/crypto_lib.h"

#define HEX_MAX (2 * EVP_MAX_MD_SIZE + 1)

static void hex(const unsigned char *md, size_t n, char out[HEX_MAX])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Nothing loads libcrypto before the first call of one of its functions; the first one does. */
static void test_crypto_lib__loaded_on_first_call(void **state)
{
	(void)state;
	assert_false(crypto_lib_loaded());
	assert_non_null(EVP_sha256());
	assert_true(crypto_lib_loaded());
	assert_true(strncmp(OpenSSL_version(OPENSSL_VERSION), "OpenSSL ", 8) == 0);
}

/* The one-shot digest, by the built-in and by the fetched implementation. */
static void digest_oneshot(const char *msg, const char *alg, char out[HEX_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD *fetched = strcmp(alg, "fetched SHA256") == 0 ? EVP_MD_fetch(NULL, "SHA256", NULL)
							      : NULL;
	const EVP_MD *type = fetched ? fetched : strcmp(alg, "SHA1") == 0 ? EVP_sha1() : EVP_sha256();
	assert_int_equal(EVP_Digest(msg, strlen(msg), md, &n, type, NULL), 1);
	EVP_MD_free(fetched);
	hex(md, n, out);
}

/* The streamed digest: init, one update per half, final. */
static void digest_streamed(const char *msg, const char *alg, char out[HEX_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t half = strlen(msg) / 2;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(
	    EVP_DigestInit_ex(ctx, strcmp(alg, "SHA1") == 0 ? EVP_sha1() : EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, msg, half), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, msg + half, strlen(msg) - half), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &n), 1);
	EVP_MD_CTX_free(ctx);
	hex(md, n, out);
}

/* HMAC by the one-shot function (what AzureCDN's SHA-1 signature uses). */
static void mac_oneshot(const char *msg, const char *key, char out[HEX_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	assert_non_null(HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)msg,
			     strlen(msg), md, &n));
	hex(md, n, out);
}

/* HMAC-SHA256 through EVP_MAC and its parameters (reconcile/sign.c's keyed context). */
static void mac_evp(const char *msg, const char *key, char out[HEX_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t n = 0;
	char digest[] = "SHA256";
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	assert_non_null(m);
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
	EVP_MAC_free(m);
	assert_non_null(c);
	OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
			  OSSL_PARAM_construct_end()};
	assert_int_equal(EVP_MAC_init(c, (const unsigned char *)key, strlen(key), p), 1);
	assert_int_equal(EVP_MAC_update(c, (const unsigned char *)msg, strlen(msg)), 1);
	assert_int_equal(EVP_MAC_final(c, md, &n, sizeof(md)), 1);
	EVP_MAC_CTX_free(c);
	hex(md, n, out);
}

static void base64(const char *msg, const char *unused, char out[HEX_MAX])
{
	(void)unused;
	int n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)msg, (int)strlen(msg));
	assert_true(n >= 0 && n < HEX_MAX);
}

static const struct {
	void (*fn)(const char *msg, const char *arg, char out[HEX_MAX]);
	const char *msg, *arg, *want;
} known[] = {
    {digest_oneshot, "abc", "SHA256",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {digest_oneshot, "abc", "fetched SHA256",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {digest_oneshot, "abc", "SHA1", "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {digest_streamed, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "SHA256",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {digest_streamed, "abc", "SHA1", "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {mac_oneshot, "what do ya want for nothing?", "Jefe",
     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    {mac_evp, "what do ya want for nothing?", "Jefe",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {base64, "foob", NULL, "Zm9vYg=="},
    {base64, "fooba", NULL, "Zm9vYmE="},
};

static void test_crypto_lib__known_answers(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(known); i++) {
		char got[HEX_MAX] = "";
		print_message("case %zu\n", i);
		known[i].fn(known[i].msg, known[i].arg, got);
		assert_string_equal(got, known[i].want);
	}
}

static void test_crypto_lib__cleanse(void **state)
{
	(void)state;
	char secret[] = "fakecdn-rw-secret";
	OPENSSL_cleanse(secret, sizeof(secret));
	for (size_t i = 0; i < sizeof(secret); i++)
		assert_int_equal(secret[i], 0);
}

int main(void)
{
	/* in this order: the first test needs a process that has not loaded libcrypto yet */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crypto_lib__loaded_on_first_call),
	    cmocka_unit_test(test_crypto_lib__known_answers),
	    cmocka_unit_test(test_crypto_lib__cleanse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
