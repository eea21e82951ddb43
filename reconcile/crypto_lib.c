/*
 * libcrypto, loaded when the first libcrypto function is called (reconcile/crypto_lib.h).
 *
 * Every libcrypto function cacheform calls (schema/load.c, reconcile/sign.c, provider.c,
 * prov_afd.c, edgelogic.c) is defined here under its own name and forwards to the library's,
 * looked up with dlsym after dlopen. cacheform is not linked against libcrypto: the dynamic
 * loader's relocation of it alone touched ~3 MB of every process's resident memory, most of
 * `validate`'s fixed cost, though validate hashes only purge manifests and Edge Logic.
 *
 * A function missing here fails the link (undefined reference), never the run. Macros
 * (EVP_MAX_MD_SIZE, OSSL_MAC_PARAM_DIGEST, OPENSSL_VERSION) need no forwarding.
 *
 * fakecdn and the unit tests link libcrypto themselves and this module as well: their calls
 * of the functions below come here and go on to the libcrypto already mapped (lib_load).
 */
#include "reconcile/crypto_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#ifndef CRYPTO_LIBCRYPTO_SONAME
#define CRYPTO_LIBCRYPTO_SONAME "libcrypto.so.3" /* what libssl-dev (OpenSSL 3) links against */
#endif

/* X(name): one line per libcrypto function used anywhere in cacheform */
#define CRYPTO_LIB_FUNCTIONS(X)                                                                    \
	X(EVP_Digest)                                                                              \
	X(EVP_DigestFinal_ex)                                                                      \
	X(EVP_DigestInit_ex)                                                                       \
	X(EVP_DigestUpdate)                                                                        \
	X(EVP_EncodeBlock)                                                                         \
	X(EVP_MAC_CTX_free)                                                                        \
	X(EVP_MAC_CTX_new)                                                                         \
	X(EVP_MAC_fetch)                                                                           \
	X(EVP_MAC_final)                                                                           \
	X(EVP_MAC_free)                                                                            \
	X(EVP_MAC_init)                                                                            \
	X(EVP_MAC_update)                                                                          \
	X(EVP_MD_CTX_free)                                                                         \
	X(EVP_MD_CTX_new)                                                                          \
	X(EVP_MD_fetch)                                                                            \
	X(EVP_sha1)                                                                                \
	X(EVP_sha256)                                                                              \
	X(HMAC)                                                                                    \
	X(OPENSSL_cleanse)                                                                         \
	X(OSSL_PARAM_construct_end)                                                                \
	X(OSSL_PARAM_construct_utf8_string)                                                        \
	X(OpenSSL_version)

#define CRYPTO_LIB_POINTER(f) __typeof__(f) *f;
static struct {
	CRYPTO_LIB_FUNCTIONS(CRYPTO_LIB_POINTER)
} lib;
#undef CRYPTO_LIB_POINTER

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static bool lib_loaded;

/*
 * Like a library missing at startup, a libcrypto that cannot be loaded ends the process: no
 * caller of a hash or HMAC could go on without it.
 */
static void lib_die(const char *what)
{
	const char *why = dlerror();
	fprintf(stderr, "cacheform: cannot load %s (%s): %s\n", CRYPTO_LIBCRYPTO_SONAME, what,
		why ? why : "unknown error");
	exit(1);
}

/*
 * A process linked against libcrypto (fakecdn, the unit tests) finds its functions next in
 * the global scope, after these definitions: dlopen is not asked for a library the loader
 * mapped at startup, which glibc 2.36 answers by allocating a dependency list it never frees
 * (LeakSanitizer reported it at every exit). cacheform itself is not linked against it: RTLD_NEXT
 * finds nothing and the library is opened.
 */
static void lib_load(void)
{
	void *h = NULL;
	/* RTLD_LOCAL: its symbols never interpose on the definitions in this file */
	if (!dlsym(RTLD_NEXT, "EVP_Digest") &&
	    !(h = dlopen(CRYPTO_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL)))
		lib_die("dlopen");
#define CRYPTO_LIB_LOOKUP(f)                                                                       \
	if (!(*(void **)&lib.f = h ? dlsym(h, #f) : dlsym(RTLD_NEXT, #f)))                         \
		lib_die(#f);
	CRYPTO_LIB_FUNCTIONS(CRYPTO_LIB_LOOKUP)
#undef CRYPTO_LIB_LOOKUP
	lib_loaded = true;
}

static void need(void)
{
	pthread_once(&lib_once, lib_load);
}

bool crypto_lib_loaded(void)
{
	return lib_loaded;
}

/* ---- digests ---- */

int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
	       const EVP_MD *type, ENGINE *impl)
{
	need();
	return lib.EVP_Digest(data, count, md, size, type, impl);
}

int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s)
{
	need();
	return lib.EVP_DigestFinal_ex(ctx, md, s);
}

int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
{
	need();
	return lib.EVP_DigestInit_ex(ctx, type, impl);
}

int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt)
{
	need();
	return lib.EVP_DigestUpdate(ctx, d, cnt);
}

void EVP_MD_CTX_free(EVP_MD_CTX *ctx)
{
	need();
	lib.EVP_MD_CTX_free(ctx);
}

EVP_MD_CTX *EVP_MD_CTX_new(void)
{
	need();
	return lib.EVP_MD_CTX_new();
}

EVP_MD *EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties)
{
	need();
	return lib.EVP_MD_fetch(ctx, algorithm, properties);
}

const EVP_MD *EVP_sha1(void)
{
	need();
	return lib.EVP_sha1();
}

const EVP_MD *EVP_sha256(void)
{
	need();
	return lib.EVP_sha256();
}

/* ---- MACs ---- */

void EVP_MAC_CTX_free(EVP_MAC_CTX *ctx)
{
	need();
	lib.EVP_MAC_CTX_free(ctx);
}

EVP_MAC_CTX *EVP_MAC_CTX_new(EVP_MAC *mac)
{
	need();
	return lib.EVP_MAC_CTX_new(mac);
}

EVP_MAC *EVP_MAC_fetch(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties)
{
	need();
	return lib.EVP_MAC_fetch(libctx, algorithm, properties);
}

int EVP_MAC_final(EVP_MAC_CTX *ctx, unsigned char *out, size_t *outl, size_t outsize)
{
	need();
	return lib.EVP_MAC_final(ctx, out, outl, outsize);
}

void EVP_MAC_free(EVP_MAC *mac)
{
	need();
	lib.EVP_MAC_free(mac);
}

int EVP_MAC_init(EVP_MAC_CTX *ctx, const unsigned char *key, size_t keylen,
		 const OSSL_PARAM params[])
{
	need();
	return lib.EVP_MAC_init(ctx, key, keylen, params);
}

int EVP_MAC_update(EVP_MAC_CTX *ctx, const unsigned char *data, size_t datalen)
{
	need();
	return lib.EVP_MAC_update(ctx, data, datalen);
}

unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data,
		    size_t data_len, unsigned char *md, unsigned int *md_len)
{
	need();
	return lib.HMAC(evp_md, key, key_len, data, data_len, md, md_len);
}

OSSL_PARAM OSSL_PARAM_construct_end(void)
{
	need();
	return lib.OSSL_PARAM_construct_end();
}

OSSL_PARAM OSSL_PARAM_construct_utf8_string(const char *key, char *buf, size_t bsize)
{
	need();
	return lib.OSSL_PARAM_construct_utf8_string(key, buf, bsize);
}

/* ---- the rest ---- */

int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n)
{
	need();
	return lib.EVP_EncodeBlock(t, f, n);
}

void OPENSSL_cleanse(void *ptr, size_t len)
{
	need();
	lib.OPENSSL_cleanse(ptr, len);
}

const char *OpenSSL_version(int type)
{
	need();
	return lib.OpenSSL_version(type);
}
