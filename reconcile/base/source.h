/*
 * A read-only source of desired-state files, as an interface: the loader (schema/) reads
 * through it without knowing about git or the file system, and reconcile/repo.c provides the
 * one implementation (working tree or a commit's tree). Header only: no code of its own.
 */
#ifndef CF_SOURCE_H
#define CF_SOURCE_H

#include <stddef.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"

/* Codes a source puts in struct cf_err (the whole CF1xx table is in schema/load.h). */
#define SOURCE_CODE_IO	   "CF100" /* cannot open, list or read */
#define SOURCE_CODE_SIZE   "CF101" /* file larger than the caller's cap */
#define SOURCE_CODE_ESCAPE "CF102" /* path or symbolic link leads outside the repository */

#define SOURCE_ID_MAX 65 /* a content id and its NUL: 40 hex digits (SHA-1), 64 (SHA-256) */

/*
 * list appends "DIR/NAME" of the directory's YAML files, sorted bytewise (a missing directory
 * lists nothing); read reads one regular file into a NUL-terminated buffer the caller frees,
 * refusing one over max bytes. Both return 0 or a negative code and fill e.
 * id, when not NULL, names path's content without reading it (a git blob id: two files with
 * the same id have the same bytes) and returns 0, or returns -1 when it cannot say (the file
 * is missing, not a regular file, or the source keeps no ids): the caller then reads it.
 */
struct cf_source {
	void *ctx;
	int (*list)(void *ctx, const char *dir, struct svec *names, struct cf_err *e);
	int (*read)(void *ctx, const char *path, size_t max, char **buf, size_t *len,
		    struct cf_err *e);
	const char *commit; /* 40 hex digits of the commit read, or "" */
	int (*id)(void *ctx, const char *path, char out[SOURCE_ID_MAX]);
};

#endif
