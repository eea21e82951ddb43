/*
 * Resolving the secrets of an account: a literal, {env: NAME} or {file: PATH}. Resolved
 * values live only in memory that secret_free() wipes; error messages name the variable or
 * file, never the value.
 */
#ifndef CF_SECRET_H
#define CF_SECRET_H

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"

#define SECRET_FILE_MAX 65536 /* bytes; a key or password file, not a data file */

/*
 * Resolves m into *out (caller frees with secret_free). A relative {file:} path is taken
 * from repo_root (NULL = current directory); one trailing newline (LF or CRLF) is stripped.
 * `what` names the field in messages ("account 'prod': key_value"); file names the file m was
 * read from (the account's, NULL = no location).
 * Returns 0, CF_EINVAL (absent, unset or empty variable, empty value, embedded NUL) or
 * CF_EIO (unreadable, not a regular file, readable by group or others, too large).
 */
int secret_resolve(const struct mval *m, const char *file, const char *repo_root, const char *what,
		   char **out, struct cf_err *e);

/* Wipes and frees a resolved secret. NULL-safe. */
void secret_free(char *s);

#endif
