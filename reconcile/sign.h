/*
 * Request signing for azure-china (AzureCDN HMAC-SHA256) and cdnpro (Basic auth over an
 * HMAC-SHA1 of the Date header). Pure functions of their inputs, so vectors computed with
 * openssl can check them. Keys are borrowed and never copied into output other than the MAC.
 */
#ifndef CF_SIGN_H
#define CF_SIGN_H

#include <stddef.h>
#include <time.h>

#include "reconcile/base/sb.h"

#define SIGN_AZURECN_DATE_LEN 19 /* "yyyy-MM-dd HH:mm:ss" */
#define SIGN_RFC1123_DATE_MAX 40

/* Formats t as UTC "yyyy-MM-dd HH:mm:ss" into date (size >= SIGN_AZURECN_DATE_LEN + 1). */
void sign_azurecn_date(time_t t, char *date, size_t n);

/*
 * Builds the string to sign for an AzureCDN request from method and an absolute or
 * path-only url (path, query pairs sorted by name as "name:value" joined by ", ", date,
 * METHOD; CRLF-joined) into out. Returns 0, or -1 for a url it cannot split.
 */
int sign_azurecn_string(const char *method, const char *url, const char *date, struct sb *out);

/*
 * Appends "AzureCDN KEYID:HEX" (upper-case hex HMAC-SHA256 of the string to sign, keyed with
 * the key value's bytes) to auth. Returns 0 or -1.
 */
int sign_azurecn_auth(const char *key_id, const char *key_value, const char *method,
		      const char *url, const char *date, struct sb *auth);

/* Formats t as RFC 1123 GMT in the C locale ("Thu, 17 May 2012 19:37:58 GMT"). */
void sign_rfc1123_date(time_t t, char *date, size_t n);

/* Appends "Basic base64(user:base64(HMAC-SHA1(api_key, date)))" to auth. Returns 0 or -1. */
int sign_cdnpro_auth(const char *user, const char *api_key, const char *date, struct sb *auth);

/* Overwrites n bytes at p with zeros in a way the compiler keeps. */
void sign_wipe(void *p, size_t n);

/* Returns the OpenSSL loaded at run time, e.g. "OpenSSL 3.0.15 3 Sep 2024". Static. */
const char *sign_lib_version(void);

#endif
