/*
 * Request authentication, implemented here independently of the client's signing code
 * (reconcile/sign.*) so that a misunderstanding of the algorithm cannot hide in both.
 *
 *  - azure-china: Authorization: AzureCDN {KeyID}:{HEX}, x-azurecdn-request-date;
 *    HMAC-SHA256(key value bytes, path CRLF sorted "name:value" pairs joined by ", " CRLF
 *    date CRLF METHOD), upper-case hex (docs.azure.cn/cdn/cdn-api-signature).
 *  - cdnpro: Authorization: Basic base64(user:base64(HMAC-SHA1(api key, Date)))
 *    (docs.cdnetworks.com/cdn/apidocs, "Authentication").
 */
#ifndef FK_AUTH_H
#define FK_AUTH_H

#include <json-c/json.h>

#include "cmd/fakecdn/fk_http.h"

#define FK_AUTH_MSG_MAX 160

/* Outcome of an azure-china check: type "" means accepted. */
struct fk_azurecn_auth {
	const char *type; /* ErrorInfo.Type */
	int status;
	char message[FK_AUTH_MSG_MAX];
};

/* Builds the string to sign for req (caller frees). */
char *fk_azurecn_string_to_sign(const struct fk_req *req, const char *date);
/* Upper-case hex HMAC-SHA256 of msg under key (out holds 65). */
void fk_azurecn_mac(const char *key, const char *msg, char out[65]);
/*
 * Verifies req against the subscription's "keys" array (objects {id, value, access
 * "read-only"|"read-write", status}); write = the request needs a read-write key.
 */
void fk_azurecn_verify(const struct fk_req *req, struct json_object *keys, bool write,
		       int64_t window_s, struct fk_azurecn_auth *out);

/* Parses "yyyy-MM-dd HH:mm:ss" (lenient about zero padding) as UTC seconds; -1 when bad. */
int64_t fk_parse_china_date(const char *s);
/* Parses an RFC 1123 date ("Thu, 17 May 2012 19:37:58 GMT") as UTC seconds; -1 when bad. */
int64_t fk_parse_http_date(const char *s);

/* base64(HMAC-SHA1(api_key, date)); caller frees. */
char *fk_cdnpro_password(const char *api_key, const char *date);
/* True when req carries valid cdnpro Basic credentials of one of users [{user, api_key}]. */
bool fk_cdnpro_verify(const struct fk_req *req, struct json_object *users, int64_t window_s);

#endif
