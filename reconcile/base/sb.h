/*
 * Capped string builder. Invariants: buf is never NULL and always NUL-terminated;
 * len never exceeds max. An append that would pass max appends nothing, sets
 * `overflow` and returns -1; the builder stays usable. Allocation failure exits (xmem).
 */
#ifndef CF_SB_H
#define CF_SB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#define SB_DEFAULT_MAX ((size_t)64 << 20)
/* What sb_add_json_str writes for a byte that is not UTF-8: U+FFFD as an escape. */
#define SB_JSON_INVALID_UTF8 "\\ufffd"

struct sb {
	char *buf;
	size_t len;
	size_t cap;
	size_t max;
	bool overflow;
};

/* Initialises an empty builder that refuses to grow past max bytes (0 = SB_DEFAULT_MAX). */
void sb_init(struct sb *sb, size_t max);
/* Frees the buffer; the builder is left empty and reusable. NULL-safe. */
void sb_release(struct sb *sb);
/* Empties the builder, keeping its allocation. */
void sb_reset(struct sb *sb);
/* Returns the buffer and leaves the builder empty; caller frees the returned string. */
char *sb_detach(struct sb *sb);

/* Appends; each returns 0, or -1 when the cap would be passed (nothing appended). */
int sb_add(struct sb *sb, const void *p, size_t n);
int sb_adds(struct sb *sb, const char *s);
int sb_addc(struct sb *sb, char c);
int sb_addf(struct sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_vaddf(struct sb *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Decimal, as "%llu" / "%lld" print them, without a format string (hot loops). */
int sb_addu(struct sb *sb, uint64_t v);
int sb_addi(struct sb *sb, int64_t v);
/*
 * The one JSON string escaper: every JSON output (and the tree writer, reconcile/codec.h)
 * writes its strings here. Appends s as a JSON string literal, quotes included: '"' and '\\'
 * escaped, \n \r \t as such, other bytes below 0x20 as \u00xx; well-formed UTF-8 as is; each
 * byte that does not start a well-formed UTF-8 sequence as \ufffd (the replacement
 * character), so the output is valid JSON whatever the input. Returns 0 or -1 (cap; the
 * builder may then hold part of the literal).
 */
int sb_add_json_str(struct sb *sb, const char *s);
/* The same for the n bytes at s (a NUL among them is written as \u0000). */
int sb_add_json_strn(struct sb *sb, const char *s, size_t n);
/*
 * Appends a name (a file name, a ledger id) for text output that a terminal or a CI log reads:
 * control bytes and DEL as \xNN (no ESC sequence, no forged second line), and a leading
 * "::" as "\x3a:" (no GitHub workflow command). Returns 0 or -1 (cap).
 */
int sb_add_safe(struct sb *sb, const char *s);
/* Shortens the content to n bytes (n <= len). */
void sb_truncate(struct sb *sb, size_t n);

#endif
