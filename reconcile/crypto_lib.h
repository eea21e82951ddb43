/*
 * OpenSSL's libcrypto on demand: reconcile/crypto_lib.c defines the libcrypto functions
 * cacheform calls (hashes, HMAC, base64, wiping) and loads libcrypto (dlopen) the first time one
 * of them runs, so commands that hash nothing (validate of a repository without purge manifests
 * or Edge Logic, fmt, explain, ...) do not map it (README: "Memory"). Callers include the
 * OpenSSL headers and call the functions by their own names; this header only answers whether
 * the library was loaded. A libcrypto that cannot be loaded ends the process with a message
 * naming it, as a missing library at startup would.
 */
#ifndef CF_CRYPTO_LIB_H
#define CF_CRYPTO_LIB_H

#include <stdbool.h>

/* True once libcrypto was loaded in this process (by this module). */
bool crypto_lib_loaded(void);

#endif
