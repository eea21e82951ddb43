/*
 * Secret resolution. A secret file must be private to its owner: a key that other local
 * users can read is already leaked, so refusing it is the only safe answer.
 */
#include "reconcile/base/compat.h"
#include "reconcile/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconcile/base/sb.h"
#include "reconcile/sign.h"
#include "reconcile/base/xmem.h"

#define SECRET_PERM_MASK 077 /* any group or other permission bit */

static int resolve_env(const struct mval *m, const struct loc *at, const char *what, char **out,
		       struct cf_err *e)
{
	const char *v = getenv(m->text);
	if (!v)
		return err_setat(e, CF_EINVAL, at, NULL, "%s: environment variable '%s' is not set",
				 what, m->text);
	if (!*v)
		return err_setat(e, CF_EINVAL, at, NULL, "%s: environment variable '%s' is empty",
				 what, m->text);
	*out = xstrdup(v);
	return 0;
}

/* Reads the whole of fd into a fresh buffer (at most SECRET_FILE_MAX bytes). */
static int read_all(int fd, const char *path, const char *what, const struct loc *at, char **out,
		    size_t *len, struct cf_err *e)
{
	size_t cap = SECRET_FILE_MAX + 1, n = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int er = errno;
			sign_wipe(buf, n);
			free(buf);
			return err_setat(e, CF_EIO, at, NULL,
					 "%s: cannot read secret file '%s': %s", what, path,
					 strerror(er));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > SECRET_FILE_MAX) {
			sign_wipe(buf, n);
			free(buf);
			return err_setat(e, CF_EIO, at, NULL,
					 "%s: secret file '%s' is larger than %d bytes", what, path,
					 SECRET_FILE_MAX);
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Refuses anything but a regular file private to its owner. */
static int check_file(int fd, const char *path, const char *what, const struct loc *at,
		      struct cf_err *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_setat(e, CF_EIO, at, NULL, "%s: cannot stat secret file '%s': %s", what,
				 path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_setat(e, CF_EIO, at, NULL, "%s: secret file '%s' is not a regular file",
				 what, path);
	if (st.st_mode & SECRET_PERM_MASK)
		return err_setat(e, CF_EIO, at, NULL,
				 "%s: secret file '%s' is readable by group or others (mode %04o); "
				 "chmod 600 it",
				 what, path, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int resolve_file(const struct mval *m, const struct loc *at, const char *repo_root,
			const char *what, char **out, struct cf_err *e)
{
	struct sb path;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, ret;

	sb_init(&path, 0);
	if (m->text[0] != '/' && repo_root && *repo_root)
		(void)sb_addf(&path, "%s/", repo_root);
	(void)sb_adds(&path, m->text);
	/* O_NONBLOCK: opening a FIFO must not hang; the type check then refuses it. */
	fd = open(path.buf, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = err_setat(e, CF_EIO, at, NULL, "%s: cannot open secret file '%s': %s", what,
				m->text, strerror(errno));
		goto out;
	}
	ret = check_file(fd, m->text, what, at, e);
	if (ret == 0)
		ret = read_all(fd, m->text, what, at, &buf, &len, e);
	if (ret < 0)
		goto out;
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (strlen(buf) != len || len == 0) {
		ret = err_setat(e, CF_EINVAL, at, NULL, "%s: secret file '%s' is %s", what, m->text,
				len ? "binary (contains a NUL byte)" : "empty");
		sign_wipe(buf, len);
		free(buf);
		goto out;
	}
	*out = buf;
out:
	if (fd >= 0)
		close(fd);
	sb_release(&path);
	return ret;
}

int secret_resolve(const struct mval *m, const char *file, const char *repo_root, const char *what,
		   char **out, struct cf_err *e)
{
	*out = NULL;
	if (!m || m->kind == MVAL_ABSENT || !m->text)
		return err_set(e, CF_EINVAL, "%s: no value given", what);
	/* The resolution happens at the value's position when it has one. */
	struct loc l = {file, m->pos.line, m->pos.col};
	const struct loc *at = file && m->pos.file ? &l : NULL;
	switch (m->kind) {
	case MVAL_LITERAL:
		if (!*m->text)
			return err_setat(e, CF_EINVAL, at, NULL, "%s: empty value", what);
		*out = xstrdup(m->text);
		return 0;
	case MVAL_ENV:
		return resolve_env(m, at, what, out, e);
	case MVAL_FILE:
		return resolve_file(m, at, repo_root, what, out, e);
	case MVAL_ABSENT:
		break;
	}
	return err_set(e, CF_EINVAL, "%s: no value given", what);
}

void secret_free(char *s)
{
	if (!s)
		return;
	sign_wipe(s, strlen(s));
	free(s);
}
