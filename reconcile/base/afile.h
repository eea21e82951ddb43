/*
 * Atomic file writes for every file cacheform creates (plan files, imported endpoint files):
 * the text goes to a fresh mkstemp() file in the target's own directory, is fsync()ed, and is
 * then renamed (or, when an existing file must not be replaced, hard-linked) into place. A
 * reader therefore sees the old file or the whole new one, never half of it; a planted
 * symlink or a predictable temporary name cannot redirect the write; and a target that exists
 * but is not a regular file (a symlink, a device such as /dev/full, a directory) is refused
 * rather than replaced by a file.
 */
#ifndef CF_AFILE_H
#define CF_AFILE_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>

#include "reconcile/base/diag.h"

enum afile_mode {
	AFILE_REPLACE, /* an existing regular file is replaced */
	AFILE_CREATE,  /* an existing file of any kind is refused (CF_EINVAL) */
};

/*
 * Writes len bytes of data to path with permissions perm. what names the file in errors
 * ("plan", "endpoint file"). Returns 0, CF_EINVAL (target not a regular file, or exists under
 * AFILE_CREATE) or CF_EIO, with e filled; on error no temporary file is left behind and the
 * target is untouched.
 */
int afile_write(const char *path, const void *data, size_t len, mode_t perm, enum afile_mode mode,
		const char *what, struct cf_err *e);

#endif
