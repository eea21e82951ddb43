#include "reconcile/base/compat.h"
#include "reconcile/pending.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "reconcile/inflight.h"
#include "reconcile/base/xmem.h"

#define PENDING_TMP_SUFFIX ".tmp-XXXXXX"

void pending_release(struct pending *p)
{
	for (size_t i = 0; i < p->n; i++)
		ledger_purge_release(&p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

struct ledger_purge *pending_find(struct pending *p, const char *id, const char *endpoint)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].id, id) == 0 && strcmp(p->v[i].endpoint, endpoint) == 0)
			return &p->v[i];
	return NULL;
}

int pending_parse(const char *buf, size_t len, struct pending *out, struct cf_err *e)
{
	size_t line = 0;
	memset(out, 0, sizeof(*out));
	if (len > PENDING_MAX_BYTES)
		return err_set(e, CF_ELIMIT, "pending journal larger than %zu bytes",
			       PENDING_MAX_BYTES);
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - buf) : len, n = end - at;
		struct ledger_purge r;
		line++;
		size_t k = at;
		while (k < end && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r'))
			k++;
		if (k == end) {
			at = end + 1;
			continue;
		}
		if (ledger_purge_decode(buf + at, n, &r, e) < 0) {
			err_prefix(e, "pending journal line %zu", line);
			pending_release(out);
			return CF_EINVAL;
		}
		struct ledger_purge *old = pending_find(out, r.id, r.endpoint);
		if (old) {
			ledger_purge_release(old);
			*old = r;
		} else if (out->n >= PENDING_MAX_RECORDS) {
			ledger_purge_release(&r);
			pending_release(out);
			return err_set(e, CF_ELIMIT, "pending journal holds more than %d records",
				       PENDING_MAX_RECORDS);
		} else {
			xgrow(&out->v, &out->cap, out->n + 1, sizeof(*out->v));
			out->v[out->n++] = r;
		}
		at = end + 1;
	}
	return 0;
}

int pending_encode(const struct ledger_purge *recs, size_t n, struct sb *out)
{
	for (size_t i = 0; i < n; i++) {
		size_t from = out->len;
		if (ledger_purge_encode(&recs[i], out) < 0)
			return -1;
		/* one record, one line: a newline outside a JSON string is only white space
		 * (inside one it is escaped) */
		for (size_t k = from; k < out->len; k++)
			if (out->buf[k] == '\n')
				out->buf[k] = ' ';
		sb_addc(out, '\n');
		if (out->overflow)
			return -1;
	}
	return 0;
}

void pending_dir_file(const char *gitdir, const char *name, struct sb *path)
{
	size_t len = strlen(gitdir);
	sb_adds(path, gitdir);
	if (len && gitdir[len - 1] != '/')
		sb_addc(path, '/');
	sb_adds(path, name);
}

void pending_path(const char *gitdir, struct sb *path)
{
	pending_dir_file(gitdir, PENDING_FILE, path);
}

/* Reads the whole file (at most PENDING_MAX_BYTES); *buf NULL when it does not exist. */
static int read_file(const char *path, char **buf, size_t *len, struct cf_err *e)
{
	struct stat st;
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			   ? 0
			   : err_set(e, CF_EIO, "cannot read '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || (size_t)st.st_size > PENDING_MAX_BYTES) {
		close(fd);
		return err_set(e, CF_ELIMIT, "'%s' is larger than %zu bytes", path,
			       PENDING_MAX_BYTES);
	}
	*buf = xmalloc((size_t)st.st_size + 1);
	while (*len < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + *len, (size_t)st.st_size - *len);
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	(*buf)[*len] = 0;
	close(fd);
	return 0;
}

int pending_load_file(const char *gitdir, struct pending *out, struct cf_err *e)
{
	struct sb path;
	char *buf;
	size_t len;
	memset(out, 0, sizeof(*out));
	sb_init(&path, 0);
	pending_path(gitdir, &path);
	int rc = read_file(path.buf, &buf, &len, e);
	if (rc == 0 && buf && (rc = pending_parse(buf, len, out, e)) < 0)
		err_prefix(e, "'%s'", path.buf);
	free(buf);
	sb_release(&path);
	return rc;
}

int pending_load(const char *gitdir, struct pending *out, struct cf_err *e)
{
	int rc = pending_load_file(gitdir, out, e);
	if (rc == 0 && (rc = inflight_load(gitdir, out, NULL, e)) < 0)
		pending_release(out);
	return rc;
}

/* Writes all of data to a new file beside path, syncs it, renames it over path and syncs the
 * directory, so the journal is the old one or the new one after any crash. */
static int write_atomic(const char *gitdir, const char *path, const struct sb *data,
			struct cf_err *e)
{
	struct sb tmp;
	int rc = 0;
	sb_init(&tmp, 0);
	sb_addf(&tmp, "%s%s", path, PENDING_TMP_SUFFIX);
	int fd = mkstemp(tmp.buf);
	if (fd < 0) {
		rc = err_set(e, CF_EIO, "cannot create '%s': %s", tmp.buf, strerror(errno));
		goto out;
	}
	size_t off = 0;
	while (off < data->len) {
		ssize_t w = write(fd, data->buf + off, data->len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != data->len || fsync(fd) != 0 || close(fd) != 0) {
		rc = err_set(e, CF_EIO, "cannot write '%s': %s", tmp.buf, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		unlink(tmp.buf);
		goto out;
	}
	if (rename(tmp.buf, path) != 0) {
		rc = err_set(e, CF_EIO, "cannot rename '%s': %s", tmp.buf, strerror(errno));
		unlink(tmp.buf);
		goto out;
	}
	int dfd = open(gitdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
out:
	sb_release(&tmp);
	return rc;
}

int pending_save(const char *gitdir, const struct ledger_purge *recs, size_t n, struct cf_err *e)
{
	struct sb path, data;
	char *old = NULL;
	size_t len = 0;
	sb_init(&path, 0);
	sb_init(&data, PENDING_MAX_BYTES);
	pending_path(gitdir, &path);
	int rc = read_file(path.buf, &old, &len, e);
	if (rc == 0) {
		sb_add(&data, old ? old : "", len);
		if (len && old[len - 1] != '\n')
			sb_addc(&data, '\n');
		if (pending_encode(recs, n, &data) < 0 || data.overflow)
			rc = err_set(e, CF_ELIMIT, "'%s' would be larger than %zu bytes", path.buf,
				     PENDING_MAX_BYTES);
	}
	if (rc == 0)
		rc = write_atomic(gitdir, path.buf, &data, e);
	free(old);
	sb_release(&data);
	sb_release(&path);
	return rc;
}

int pending_remove(const char *gitdir, struct cf_err *e)
{
	struct sb path;
	int rc = 0;
	sb_init(&path, 0);
	pending_path(gitdir, &path);
	if (unlink(path.buf) != 0 && errno != ENOENT)
		rc = err_set(e, CF_EIO, "cannot remove '%s': %s", path.buf, strerror(errno));
	sb_release(&path);
	return rc;
}

void pending_overlay(const struct pending *p, struct ledger *l)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct ledger_purge *have =
		    ledger_find_purge(l, p->v[i].id, p->v[i].endpoint);
		if (!have || !ledger_status_final(have->status))
			ledger_put_purge(l, &p->v[i]);
	}
}
