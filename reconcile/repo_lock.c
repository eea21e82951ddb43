#include "reconcile/base/compat.h"
#include "reconcile/repo_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "reconcile/base/sb.h"
#include "reconcile/claimant.h"

#define REPO_LOCK_POLL_US 2000 /* between two tries of a held lock */
#define REPO_LOCK_PROBE	  "objects/cacheform-probe-XXXXXX"

static void lock_path(const char *gitdir, struct sb *path)
{
	size_t len = strlen(gitdir);
	sb_adds(path, gitdir);
	if (len && gitdir[len - 1] != '/')
		sb_addc(path, '/');
	sb_adds(path, REPO_LOCK_FILE);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The holder's text from an open lock file, one line, at most n-1 bytes. */
static void read_holder(int fd, char *buf, size_t n)
{
	ssize_t r = pread(fd, buf, n - 1, 0);
	buf[r > 0 ? (size_t)r : 0] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
}

int repo_lock_take(const char *gitdir, int wait_ms, struct repo_lock *lk, struct cf_err *e)
{
	struct sb path;
	char me[REPO_LOCK_HOLDER_MAX];
	int rc = 0;
	lk->fd = -1;
	sb_init(&path, 0);
	lock_path(gitdir, &path);
	int fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = err_set(e, CF_EIO, "ledger: cannot create the lock '%s': %s", path.buf,
			     strerror(errno));
		goto out;
	}
	/*
	 * The wait counts from the last time the lock changed hands (each holder rewrites the
	 * file): writers queued behind busy but moving ones keep waiting, up to
	 * REPO_LOCK_WAIT_MAX_MS, while one stuck holder is named after wait_ms.
	 */
	int64_t start = now_ms(), until = start + wait_ms;
	struct timespec seen = {0, 0};
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		struct stat cur;
		if (fstat(fd, &cur) == 0 &&
		    (cur.st_mtim.tv_sec != seen.tv_sec || cur.st_mtim.tv_nsec != seen.tv_nsec)) {
			int64_t moved = now_ms() + wait_ms, cap = start + REPO_LOCK_WAIT_MAX_MS;
			if (seen.tv_sec || seen.tv_nsec)
				until = moved < cap ? moved : cap;
			seen = cur.st_mtim;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = err_set(e, CF_EIO, "ledger: cannot lock '%s': %s", path.buf,
				     strerror(errno));
			goto out;
		}
		if (now_ms() >= until) {
			char who[REPO_LOCK_HOLDER_MAX];
			struct stat st;
			read_holder(fd, who, sizeof(who));
			long held = fstat(fd, &st) == 0 ? (long)(time(NULL) - st.st_mtime) : -1;
			rc = err_set(e, CF_ECONFLICT,
				     "ledger locked by %s (held for %ld s; waited %d ms for '%s')",
				     who[0] ? who : "an unnamed process", held < 0 ? 0 : held,
				     wait_ms, path.buf);
			goto out;
		}
		usleep(REPO_LOCK_POLL_US);
	}
	/* name ourselves: whoever waits for us can say who holds the ledger */
	claimant_name(me, sizeof(me));
	size_t len = strlen(me);
	me[len++] = '\n';
	if (ftruncate(fd, 0) != 0 || pwrite(fd, me, len, 0) != (ssize_t)len) {
		rc = err_set(e, CF_EIO, "ledger: cannot write the lock '%s': %s", path.buf,
			     strerror(errno));
		goto out;
	}
	lk->fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd); /* also drops the flock, if it was taken */
	sb_release(&path);
	return rc;
}

void repo_lock_release(struct repo_lock *lk)
{
	if (!lk || lk->fd < 0)
		return;
	/* the text stays: it is read only while the flock is held, and the next holder
	 * rewrites it */
	close(lk->fd);
	lk->fd = -1;
}

bool repo_lock_holder(const char *gitdir, char *buf, size_t n)
{
	struct sb path;
	bool held = false;
	buf[0] = 0;
	sb_init(&path, 0);
	lock_path(gitdir, &path);
	int fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
			held = true;
			read_holder(fd, buf, n);
		}
		close(fd);
	}
	sb_release(&path);
	return held;
}

int repo_lock_probe(const char *gitdir, int wait_ms, struct cf_err *e)
{
	struct repo_lock lk;
	struct sb path;
	int rc = repo_lock_take(gitdir, wait_ms, &lk, e);
	if (rc < 0)
		return rc;
	sb_init(&path, 0);
	sb_adds(&path, gitdir);
	if (path.len && path.buf[path.len - 1] != '/')
		sb_addc(&path, '/');
	sb_adds(&path, REPO_LOCK_PROBE);
	int fd = mkstemp(path.buf);
	if (fd < 0 || write(fd, "x", 1) != 1 || fsync(fd) != 0)
		rc = err_set(e, CF_EIO, "the ledger cannot be written ('%s': %s)", path.buf,
			     strerror(errno));
	if (fd >= 0) {
		close(fd);
		unlink(path.buf);
	}
	sb_release(&path);
	repo_lock_release(&lk);
	return rc;
}
