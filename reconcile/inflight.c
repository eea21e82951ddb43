#include "reconcile/base/compat.h"
#include "reconcile/inflight.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define INFLIGHT_NEW_SUFFIX ".new" /* while it is created: never read, never folded */
#define INFLIGHT_RAND_LEN   6	   /* the XXXXXX of mkostemps */
#define INFLIGHT_NAME_MAX   64	   /* longest journal name read back */
#define INFLIGHT_OPEN_TRIES 16	   /* names tried before giving up (a name is random) */
#define INFLIGHT_ERR_MAX    200

struct inflight {
	int fd;
	char *path;
	char *gitdir;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* the writer waits for lines (or stop); syncers for synced */
	pthread_t th;
	struct sb q;		 /* lines queued, not written yet */
	uint64_t queued, synced; /* lines queued so far; lines durable so far */
	size_t syncs;
	bool stop, failed;
	char why[INFLIGHT_ERR_MAX];
};

/* ---- writing ---- */

static void fail_locked(struct inflight *f, const char *what, int err)
{
	if (f->failed)
		return;
	f->failed = true;
	snprintf(f->why, sizeof(f->why), "cannot %s '%s': %s", what, f->path, strerror(err));
}

/* The writer: takes the whole queue, writes it in one call, syncs it once, says so. */
static void *writer_main(void *arg)
{
	struct inflight *f = arg;
	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (!f->q.len && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		if (!f->q.len)
			break;
		struct sb w = f->q;
		uint64_t upto = f->queued;
		bool failed = f->failed;
		sb_init(&f->q, PENDING_MAX_BYTES);
		pthread_mutex_unlock(&f->mu);
		int err = 0;
		const char *what = "write";
		size_t off = 0;
		/* after a failure nothing more is appended: a torn line stays the last one */
		while (!failed && off < w.len) {
			ssize_t n = write(f->fd, w.buf + off, w.len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				err = n < 0 ? errno : EIO;
				break;
			}
			off += (size_t)n;
		}
		if (!failed && !err && fdatasync(f->fd) != 0) {
			err = errno;
			what = "sync";
		}
		sb_release(&w);
		pthread_mutex_lock(&f->mu);
		if (err)
			fail_locked(f, what, err);
		else if (!failed)
			f->syncs++;
		f->synced = upto;
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void sync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
}

/*
 * Creates the file under a name no reader looks at, locks it, then links it under its journal
 * name: a folding apply never sees it unlocked (it would take it for a dead apply's).
 */
static int create_locked(struct inflight *f, const char *gitdir, struct cf_err *e)
{
	struct sb tmp, fin;
	int rc = CF_EIO;
	sb_init(&tmp, 0);
	sb_init(&fin, 0);
	for (int i = 0; i < INFLIGHT_OPEN_TRIES && rc < 0; i++) {
		sb_reset(&tmp);
		sb_reset(&fin);
		pending_dir_file(gitdir, INFLIGHT_PREFIX "XXXXXX" INFLIGHT_NEW_SUFFIX, &tmp);
		int fd = mkostemps(tmp.buf, (int)strlen(INFLIGHT_NEW_SUFFIX), O_APPEND | O_CLOEXEC);
		if (fd < 0) {
			rc = err_set(e, CF_EIO, "cannot create '%s': %s", tmp.buf, strerror(errno));
			break;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			rc = err_set(e, CF_EIO, "cannot lock '%s': %s", tmp.buf, strerror(errno));
			close(fd);
			unlink(tmp.buf);
			break;
		}
		sb_add(&fin, tmp.buf, tmp.len - strlen(INFLIGHT_NEW_SUFFIX));
		sb_adds(&fin, INFLIGHT_SUFFIX);
		if (link(tmp.buf, fin.buf) != 0) {
			int err = errno;
			close(fd);
			unlink(tmp.buf);
			if (err == EEXIST)
				continue;
			rc = err_set(e, CF_EIO, "cannot create '%s': %s", fin.buf, strerror(err));
			break;
		}
		unlink(tmp.buf);
		f->fd = fd;
		f->path = sb_detach(&fin);
		rc = 0;
	}
	if (rc < 0 && !e->msg[0])
		err_set(e, CF_EIO, "cannot create an in-flight journal in '%s'", gitdir);
	sb_release(&tmp);
	sb_release(&fin);
	return rc;
}

/* Closes the journal (releasing its lock) and frees f; its writer is not running. */
static void journal_free(struct inflight *f)
{
	close(f->fd);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	sb_release(&f->q);
	free(f->path);
	free(f->gitdir);
	free(f);
}

int inflight_open(const char *gitdir, struct inflight **out, struct cf_err *e)
{
	sigset_t all, old;
	struct inflight *f = xcalloc(1, sizeof(*f));
	*out = NULL;
	f->fd = -1;
	if (create_locked(f, gitdir, e) < 0) {
		free(f);
		return CF_EIO;
	}
	f->gitdir = xstrdup(gitdir);
	sync_dir(gitdir); /* the journal's name survives a power loss */
	sb_init(&f->q, PENDING_MAX_BYTES);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	/* signals stay with the main thread: its handler stops the run */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int prc = pthread_create(&f->th, NULL, writer_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (prc != 0) {
		unlink(f->path);
		journal_free(f);
		return err_set(e, CF_EIO, "cannot start the in-flight journal's writer: %s",
			       strerror(prc));
	}
	*out = f;
	return 0;
}

void inflight_add(struct inflight *f, const struct ledger_purge *rec)
{
	struct sb line;
	sb_init(&line, PENDING_MAX_BYTES);
	bool ok = pending_encode(rec, 1, &line) == 0;
	pthread_mutex_lock(&f->mu);
	if (!ok || sb_add(&f->q, line.buf, line.len) < 0 || f->q.overflow) {
		fail_locked(f, "queue a line for", ENOSPC);
	} else {
		f->queued++;
		pthread_cond_signal(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	sb_release(&line);
}

int inflight_sync(struct inflight *f, struct cf_err *e)
{
	int rc = 0;
	pthread_mutex_lock(&f->mu);
	while (f->synced < f->queued && !f->failed)
		pthread_cond_wait(&f->cv, &f->mu);
	if (f->failed)
		rc = err_set(e, CF_EIO, "in-flight journal: %s", f->why);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

size_t inflight_syncs(const struct inflight *f)
{
	return f ? f->syncs : 0;
}

void inflight_close(struct inflight *f, bool remove)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->th, NULL);
	/* unlinked while still locked: no other apply folds it in between */
	if (remove && unlink(f->path) == 0)
		sync_dir(f->gitdir);
	journal_free(f);
}

/* ---- reading ---- */

static bool tasks_indexed(const struct ledger_purge *p)
{
	for (size_t i = 0; i < p->ntasks; i++)
		if (p->tasks[i].batch < 0)
			return false;
	return true;
}

static void task_move(struct ledger_task *dst, struct ledger_task *src)
{
	free(dst->id);
	free(dst->poll_url);
	*dst = *src;
	src->id = src->poll_url = NULL;
}

/* Merges r (taken) into out: a later line's tasks replace those of the same batch. */
static int merge(struct pending *out, struct ledger_purge *r, struct cf_err *e)
{
	struct ledger_purge *old = pending_find(out, r->id, r->endpoint);
	if (!old) {
		if (out->n >= PENDING_MAX_RECORDS) {
			ledger_purge_release(r);
			return err_set(e, CF_ELIMIT, "more than %d records", PENDING_MAX_RECORDS);
		}
		xgrow(&out->v, &out->cap, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = *r;
		return 0;
	}
	if (tasks_indexed(old) && tasks_indexed(r)) {
		for (size_t i = 0; i < r->ntasks; i++) {
			size_t k = 0;
			while (k < old->ntasks && old->tasks[k].batch != r->tasks[i].batch)
				k++;
			if (k == old->ntasks) {
				ledger_purge_push_task(old, &r->tasks[i]);
				continue;
			}
			task_move(&old->tasks[k], &r->tasks[i]);
		}
		/* the rest of the record from the later line, its tasks the merged ones */
		struct ledger_task *t = r->tasks;
		size_t nt = r->ntasks, tc = r->tcap;
		r->tasks = old->tasks;
		r->ntasks = old->ntasks;
		r->tcap = old->tcap;
		old->tasks = t;
		old->ntasks = nt;
		old->tcap = tc;
	}
	ledger_purge_release(old);
	*old = *r;
	return 0;
}

int inflight_parse(const char *buf, size_t len, struct pending *out, size_t *torn, struct cf_err *e)
{
	size_t line = 0;
	*torn = 0;
	if (len > PENDING_MAX_BYTES)
		return err_set(e, CF_ELIMIT, "in-flight journal larger than %zu bytes",
			       PENDING_MAX_BYTES);
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		if (!nl) {
			/* a crash cut the last append short: never decoded */
			*torn = len - at;
			break;
		}
		size_t end = (size_t)(nl - buf), k = at;
		struct ledger_purge r;
		line++;
		while (k < end && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r'))
			k++;
		if (k < end) {
			if (ledger_purge_decode(buf + at, end - at, &r, e) < 0)
				return err_prefix(e, "in-flight journal line %zu", line), CF_EINVAL;
			if (merge(out, &r, e) < 0)
				return err_prefix(e, "in-flight journal line %zu", line), CF_ELIMIT;
		}
		at = end + 1;
	}
	return 0;
}

/* A journal's name: the prefix, letters and digits, the suffix. */
static bool journal_name(const char *name)
{
	size_t n = strlen(name), p = strlen(INFLIGHT_PREFIX), s = strlen(INFLIGHT_SUFFIX);
	if (n > INFLIGHT_NAME_MAX || n <= p + s || strncmp(name, INFLIGHT_PREFIX, p) != 0 ||
	    strcmp(name + n - s, INFLIGHT_SUFFIX) != 0)
		return false;
	for (size_t i = p; i < n - s; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct names {
	char **v;
	size_t n;
};

static void names_release(struct names *nm)
{
	for (size_t i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	memset(nm, 0, sizeof(*nm));
}

/* The journal names in gitdir, sorted. */
static int list_journals(const char *gitdir, struct names *nm, struct cf_err *e)
{
	DIR *d = opendir(gitdir);
	struct dirent *de;
	if (!d)
		return errno == ENOENT
			   ? 0
			   : err_set(e, CF_EIO, "cannot list '%s': %s", gitdir, strerror(errno));
	while ((de = readdir(d))) {
		if (!journal_name(de->d_name))
			continue;
		if (nm->n >= INFLIGHT_MAX_FILES) {
			closedir(d);
			return err_set(e, CF_ELIMIT,
				       "more than %d in-flight journals in '%s' (an apply folds "
				       "those of dead applies into the ledger)",
				       INFLIGHT_MAX_FILES, gitdir);
		}
		nm->v = xreallocarray(nm->v, nm->n + 1, sizeof(*nm->v));
		nm->v[nm->n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (nm->n)
		qsort(nm->v, nm->n, sizeof(*nm->v), cmp_names);
	return 0;
}

/* Reads fd's regular file, at most room bytes, into *buf (NUL-terminated). */
static int read_fd(int fd, const char *path, size_t room, char **buf, size_t *len, struct cf_err *e)
{
	struct stat st;
	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return err_set(e, CF_EIO, "'%s' is not a regular file", path);
	if ((size_t)st.st_size > room)
		return err_set(e, CF_ELIMIT, "in-flight journals larger than %zu bytes in all",
			       PENDING_MAX_BYTES);
	*buf = xmalloc((size_t)st.st_size + 1);
	while (*len < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + *len, (size_t)st.st_size - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	(*buf)[*len] = 0;
	return 0;
}

int inflight_load(const char *gitdir, struct pending *out, struct inflight_taken *take,
		  struct cf_err *e)
{
	struct names names = {0};
	struct sb path;
	size_t room = PENDING_MAX_BYTES;
	int rc = list_journals(gitdir, &names, e);
	sb_init(&path, 0);
	if (take)
		memset(take, 0, sizeof(*take));
	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		char *buf;
		size_t len, torn;
		struct stat st;
		sb_reset(&path);
		pending_dir_file(gitdir, names.v[i], &path);
		int fd = open(path.buf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT) /* folded and removed meanwhile */
				continue;
			rc = err_set(e, CF_EIO, "cannot read '%s': %s", path.buf, strerror(errno));
			break;
		}
		/* take: only a dead apply's (its lock is free), and not one removed meanwhile */
		if (take && (flock(fd, LOCK_EX | LOCK_NB) != 0 ||
			     (fstat(fd, &st) == 0 && st.st_nlink == 0))) {
			close(fd);
			continue;
		}
		rc = read_fd(fd, path.buf, room, &buf, &len, e);
		if (rc == 0) {
			room -= len;
			rc = inflight_parse(buf, len, out, &torn, e);
			if (rc < 0)
				err_prefix(e, "'%s'", path.buf);
		}
		free(buf);
		if (rc == 0 && take) {
			take->fd = xreallocarray(take->fd, take->n + 1, sizeof(*take->fd));
			take->path = xreallocarray(take->path, take->n + 1, sizeof(*take->path));
			take->fd[take->n] = fd;
			take->path[take->n++] = xstrdup(path.buf);
		} else {
			close(fd);
		}
	}
	if (rc < 0 && take)
		inflight_release_taken(take, false);
	names_release(&names);
	sb_release(&path);
	return rc;
}

void inflight_release_taken(struct inflight_taken *t, bool remove)
{
	for (size_t i = 0; i < t->n; i++) {
		if (remove)
			unlink(t->path[i]);
		close(t->fd[i]);
		free(t->path[i]);
	}
	free(t->fd);
	free(t->path);
	memset(t, 0, sizeof(*t));
}
