#include "reconcile/base/compat.h"
#include "reconcile/base/afile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconcile/base/sb.h"

#define AFILE_TMP_TEMPLATE ".cacheform-XXXXXX" /* in the target's directory: same file system */

/* The target's directory with a trailing '/', or "" for a bare file name. */
static void dir_of(const char *path, struct sb *out)
{
	const char *slash = strrchr(path, '/');
	if (slash)
		sb_add(out, path, (size_t)(slash - path) + 1);
}

static int check_target(const char *path, enum afile_mode mode, const char *what, struct cf_err *e)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, CF_EIO, "cannot write %s '%s': %s", what, path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return err_set(e, CF_EINVAL,
			       "cannot write %s '%s': it exists and is not a regular file (a "
			       "symlink, device or directory is never replaced)",
			       what, path);
	if (mode == AFILE_CREATE)
		return err_set(e, CF_EINVAL, "cannot write %s '%s': it already exists", what, path);
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Moves tmp to path: rename (replace) or link (create: fails when path appeared meanwhile). */
static int put_in_place(const char *tmp, const char *path, enum afile_mode mode)
{
	if (mode == AFILE_REPLACE)
		return rename(tmp, path);
	if (link(tmp, path) < 0)
		return -1;
	(void)unlink(tmp);
	return 0;
}

int afile_write(const char *path, const void *data, size_t len, mode_t perm, enum afile_mode mode,
		const char *what, struct cf_err *e)
{
	struct sb tmp;
	int fd = -1, rc = check_target(path, mode, what, e);
	sb_init(&tmp, 0);
	if (rc < 0)
		goto out;
	dir_of(path, &tmp);
	sb_adds(&tmp, AFILE_TMP_TEMPLATE);
	fd = mkstemp(tmp.buf);
	if (fd < 0) {
		rc = err_set(e, CF_EIO, "cannot write %s '%s': %s", what, path, strerror(errno));
		sb_reset(&tmp);
		goto out;
	}
	if (fchmod(fd, perm) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		rc = err_set(e, CF_EIO, "cannot write %s '%s': %s", what, path, strerror(errno));
		goto out;
	}
	int crc = close(fd);
	fd = -1;
	if (crc < 0 || put_in_place(tmp.buf, path, mode) < 0) {
		rc = err_set(e, errno == EEXIST ? CF_EINVAL : CF_EIO, "cannot write %s '%s': %s",
			     what, path, strerror(errno));
		goto out;
	}
	sb_reset(&tmp); /* in place: nothing to remove */
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp.len)
		(void)unlink(tmp.buf);
	sb_release(&tmp);
	return rc;
}
