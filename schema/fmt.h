/*
 * The canonical form of a desired-state file (`cacheform fmt`): keys in one order per kind of
 * mapping (FMT_ORDER_* below, the order of schema/load.c's field tables), durations as
 * duration_format() writes them ("86400" -> "1d"), comments kept.
 *
 * libyaml drops comments, so the text is never re-emitted from the tree: the node positions
 * (schema/ytree.h) locate each key's block of lines (with the comment lines directly above it)
 * and whole line ranges are moved; duration scalars are rewritten in place by their spans.
 * Flow collections ([..], {..}), mappings whose keys do not start their own lines and anything
 * else that cannot be moved line by line are left as written (their durations are still
 * rewritten).
 *
 * Every rewrite is proven before it is returned: the result must load without error to the
 * same model (fmt_model_dump) and keep every comment line; otherwise the file is left as it
 * is and the result says why (kept).
 */
#ifndef CF_FMT_H
#define CF_FMT_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/base/sb.h"
#include "schema/load.h"

struct fmt_result {
	char *text;	  /* the canonical text, NUL-terminated; owned (fmt_result_release) */
	size_t len;	  /* bytes in text */
	bool changed;	  /* text differs from the input */
	const char *kept; /* static reason the file was left as it is, or NULL */
};

/*
 * Formats one file's bytes as a file of the given kind; file names it in errors. The file must
 * load without error (load_buffer): otherwise every error (file:line:column) is added to d
 * and CF_EINVAL is returned with *r empty. Returns 0 with *r filled (r->text is a copy of the
 * input when nothing changes or when the rewrite was not proven safe, see r->kept).
 */
int fmt_buffer(enum load_kind kind, const char *file, const char *buf, size_t len,
	       struct fmt_result *r, struct diag_list *d);

/* Frees r->text; r is empty afterwards. NULL-safe. */
void fmt_result_release(struct fmt_result *r);

/*
 * Appends to out a text form of everything c means (accounts, endpoints, purges, safety, in
 * order, with which optional keys were given), without positions, file names or purge
 * content hashes: two configurations mean the same when their dumps are equal.
 */
void fmt_model_dump(const struct config *c, struct sb *out);

/*
 * Whether every comment line of a (a line whose first non-blank character is '#', compared
 * without its indentation) is still a line of b, as many times as in a.
 */
bool fmt_comments_kept(const char *a, size_t alen, const char *b, size_t blen);

#endif
