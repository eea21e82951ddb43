/*
 * Making HTTP exchanges safe to print, and headers safe to send. Pure functions over
 * strings: credentials (Authorization values, signatures, tokens, secret JSON members and
 * form fields, Bearer values) become "<redacted>", and control bytes are escaped so a
 * hostile response cannot drive the terminal.
 */
#ifndef CF_REDACT_H
#define CF_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/base/sb.h"

#define REDACT_MARK "<redacted>"

/*
 * True when a header, JSON member, form field or query parameter of this name carries a
 * credential (case-insensitive; '-' and '_' ignored): authorization, cookie, sig,
 * api keys, and names ending in token, secret, password, secretkey or signature.
 */
bool redact_name_is_secret(const char *name, size_t n);

/* Appends a header value as it may be printed: a secret one keeps only its auth scheme
 * ("Basic <redacted>"). Control bytes are escaped. */
void redact_header(const char *name, const char *value, struct sb *out);

/* Appends url with the values of secret query parameters replaced. */
void redact_url(const char *url, struct sb *out);

/* Appends body[0..len) with secret JSON string members, secret form fields and Bearer
 * values replaced, control bytes escaped. */
void redact_body(const char *body, size_t len, struct sb *out);

/* Appends s[0..n) with control bytes other than LF and TAB written as \xNN. */
void redact_escape(const char *s, size_t n, struct sb *out);

/*
 * The secret values this process holds (account keys, client secrets, tokens, the
 * Authorization values it signed), so that a provider message echoing one (a gateway or WAF
 * quoting the request) is scrubbed before it is printed or recorded. Values shorter than
 * REDACT_KNOWN_MIN_LEN are not remembered: they would scrub ordinary words.
 * redact_known_add copies value (account secrets: kept; signed values: the last
 * REDACT_RECENT_MAX); redact_known_clear wipes and forgets all of them.
 */
#define REDACT_KNOWN_MIN_LEN 6
#define REDACT_RECENT_MAX    64
void redact_known_add(const char *value, bool recent);
void redact_known_clear(void);

/* Appends s with every remembered secret value replaced by REDACT_MARK, then the redact_body
 * rules (secret members, Bearer values) applied: provider text made safe to print and to
 * record. */
void redact_text(const char *s, struct sb *out);

/* True when name is an RFC 9110 token and value holds no CR, LF or other control byte
 * except TAB: what may go on the wire without letting a value inject a header. */
bool redact_header_valid(const char *name, const char *value);

#endif
