/* Unit tests of fakecdn's azure-china signature MAC (fk_azurecn_mac, cmd/fakecdn/fk_auth.c):
 * its own HMAC-SHA256 must give OpenSSL's HMAC() for every key length around SHA-256's block
 * (64 bytes: shorter keys are padded, longer ones hashed first) and any message. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cmd/fakecdn/fk_auth.h"
#include "cmd/fakecdn/fk_util.h"

#define KEY_MAX 200

static const size_t key_lens[] = {0, 1, 17, 63, 64, 65, 128, KEY_MAX};
static const char *const msgs[] = {
    "",
    "x",
    "/subscriptions/s/endpoints/e/cacherules\r\napiVersion:1.0\r\n2026-01-01 00:00:00\r\nGET",
    "a message longer than one block of SHA-256, so that the inner hash runs over two blocks "
    "of input and a bit more than that, to be sure",
};

static void test_mac_is_hmac_sha256(void **state)
{
	(void)state;
	for (size_t k = 0; k < CF_ARRAY_LEN(key_lens); k++)
		for (size_t m = 0; m < CF_ARRAY_LEN(msgs); m++) {
			char key[KEY_MAX + 1], mine[65], want[65];
			unsigned char mac[EVP_MAX_MD_SIZE];
			unsigned int len = 0;

			for (size_t i = 0; i < key_lens[k]; i++)
				key[i] = (char)('!' + (i * 7 + k) % 90);
			key[key_lens[k]] = '\0';
			HMAC(EVP_sha256(), key, (int)key_lens[k], (const unsigned char *)msgs[m],
			     strlen(msgs[m]), mac, &len);
			fk_hex(mac, len, true, want);
			fk_azurecn_mac(key, msgs[m], mine);
			assert_string_equal(mine, want);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mac_is_hmac_sha256),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
