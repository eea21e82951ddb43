/*
 * Error records and diagnostic lists.
 *
 * struct cf_err carries one failure out of a function (functions return 0 or a negative
 * CF_E* code and fill the record). struct diag_list collects the located findings of a
 * validation run so all of them can be reported together.
 * Messages follow git's rules: lower case, no full stop, the subject in quotes.
 */
#ifndef CF_DIAG_H
#define CF_DIAG_H

#include <stddef.h>
#include <stdbool.h>

#define CF_ERR_MSG_MAX 1024

/* Return codes shared by every module. */
enum cf_rc {
	CF_OK = 0,
	CF_EINVAL = -1,	   /* bad input (configuration, arguments, plan file) */
	CF_EIO = -2,	   /* file system or git failure */
	CF_ENET = -3,	   /* network failure after retries */
	CF_EAUTH = -4,	   /* authentication refused */
	CF_EAPI = -5,	   /* provider answered with an error */
	CF_ELIMIT = -6,	   /* a size, depth or quota bound was hit */
	CF_ECONFLICT = -7, /* compare-and-swap lost, stale plan */
	CF_ETIMEOUT = -8,
};

/*
 * A resolved source location, as errors and findings carry it: file is borrowed (from a
 * config's file table, a tree being parsed or the caller). The model stores the packed 8-byte
 * struct pos instead (reconcile/base/model.h); config_loc() turns one into the other.
 */
struct loc {
	const char *file;
	unsigned line;
	unsigned col;
};

struct cf_err {
	int rc;
	struct loc pos; /* file == NULL when the error has no location */
	char code[32];	/* stable code, e.g. "CF0101" or a provider code; may be empty */
	char msg[CF_ERR_MSG_MAX];
};

/* Clears the record. */
void err_clear(struct cf_err *e);
/* Fills e (when e is not NULL) and returns rc, so callers can `return err_set(...)`. */
int err_set(struct cf_err *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, with a location and a stable code. */
int err_setat(struct cf_err *e, int rc, const struct loc *pos, const char *code, const char *fmt,
	      ...) __attribute__((format(printf, 5, 6)));
/* Prefixes the message with "prefix: " (for adding context while unwinding). */
void err_prefix(struct cf_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "file:line:col: error: msg [code]" (or "error: msg") on stderr. */
void err_print(const struct cf_err *e);

enum diag_sev { DIAG_ERROR, DIAG_WARNING, DIAG_NOTICE };

struct diag {
	enum diag_sev sev;
	struct loc pos;
	char code[16];
	char *msg;  /* owned */
	size_t seq; /* insertion order, keeps sorting stable */
};

struct diag_list {
	struct diag *v;
	size_t n, cap;
	size_t nerrors, nwarnings;
};

void diag_init(struct diag_list *d);
void diag_release(struct diag_list *d);
/* Appends a finding; the message is copied. */
void diag_add(struct diag_list *d, enum diag_sev sev, const struct loc *pos, const char *code,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Appends a finding from an error record (its code and position). */
void diag_add_err(struct diag_list *d, const struct cf_err *e);
/* Sorts by file, line, column (stable for equal positions). */
void diag_sort(struct diag_list *d);
/* Turns every warning into an error (--strict). */
void diag_promote_warnings(struct diag_list *d);

#endif
