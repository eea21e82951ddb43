#include "reconcile/base/compat.h"
#include "reconcile/repo.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reconcile/repo_lib.h" /* libgit2, loaded while used */

#define REPO_PATH_MAX	4096	/* longest relative path accepted */
#define REPO_LIST_MAX	1000000 /* entries listed from one directory */
#define REPO_LINK_HOPS	8	/* symbolic links followed inside a commit's tree */
#define REPO_READ_CHUNK 65536

struct repo_src {
	char *root; /* realpath of the directory */
	char *ref;  /* NULL: working tree */
	git_repository *git;
	git_tree *tree; /* --ref: the tree of root's directory inside the commit */
	char *okdir;	/* last directory (relative) found to resolve inside root */
	int okfd;	/* that directory, open (O_PATH): files are opened relative to it, so
			 * 100,000 endpoint files cost one path component each, not the
			 * root's whole path walk; -1 when none */
	/* --ref: the last subtree looked up (the loader reads a directory's files in a row), so
	 * a 10,000-entry endpoints/ tree is inflated once, not once per file: libgit2's object
	 * cache skips trees over 4 KiB. */
	char *subdir;
	git_tree *subtree;
	/* --ref: the entry source_id found last, with its path: the loader asks for a file's id
	 * and then reads it, and each lookup is a search of a 10,000-entry tree */
	char *idpath;
	git_tree_entry *idte;
	char commit[GIT_OID_HEXSZ + 1];
	bool dirty;	/* working tree differs from HEAD: commit is "" */
	bool unsettled; /* repo_src_open_deferred: dirty not checked yet (repo_src_settle) */
	bool libgit2;	/* holds a git_libgit2_init (repo_release_git gives it back) */
	/* repo_src_settle_start: the check runs on settler, with a repository handle of its own
	 * (libgit2 objects are not shared between threads); settle joins it */
	pthread_t settler;
	bool settling;
	bool settled;	    /* the settler answered (it could open the repository) */
	bool settled_dirty; /* its answer, read after the join */
	/* repo_probe_start's child: its pid until waited for (0 = none), and the pipe its answer
	 * comes through until read (-1 = read, or none) */
	pid_t probe;
	int probe_fd;
};

/*
 * Out of memory ends the process (reconcile/base/xmem.h), even when a library or the C library
 * reported it as an error: "cannot open directory: Cannot allocate memory" or a libgit2
 * failure must not be mistaken for a repository problem. Call right after a C library call
 * failed.
 */
static void repo_check_errno(void)
{
	if (errno == ENOMEM)
		xmem_oom("the C library");
}

/* Call right after a libgit2 call failed. */
static void repo_check_git(void)
{
	const git_error *ge = git_error_last();
	if (ge && ge->klass == GIT_ERROR_NOMEMORY)
		xmem_oom("libgit2");
}

static const char *repo_git_msg(void)
{
	repo_check_git();
	const git_error *ge = git_error_last();
	return ge && ge->message ? ge->message : "unknown libgit2 error";
}

/* A relative path whose components are all ordinary names: no "", ".", ".." or leading '/'. */
static bool repo_path_ok(const char *p)
{
	size_t n = strnlen(p, REPO_PATH_MAX + 1);
	if (n == 0 || n > REPO_PATH_MAX || p[0] == '/')
		return false;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return false;
	}
	return true;
}

static bool repo_under_root(const struct repo_src *src, const char *real)
{
	size_t n = strlen(src->root);
	if (n == 1) /* root is "/" */
		return real[0] == '/';
	return strncmp(real, src->root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

/* Finds the subdirectory of the work tree that root is, so --ref reads the same place. */
static int repo_prefix(struct repo_src *src, struct sb *prefix, struct cf_err *e)
{
	const char *wd = git_repository_workdir(src->git);
	if (!wd)
		return 0; /* bare repository: the commit's root is the repository root */
	char *real = realpath(wd, NULL);
	if (!real)
		repo_check_errno();
	if (!real)
		return err_set(e, CF_EIO, "cannot resolve '%s': %s", wd, strerror(errno));
	size_t n = strlen(real);
	int ret = 0;
	if (strncmp(src->root, real, n) == 0 && src->root[n] == '/')
		ret = sb_adds(prefix, src->root + n + 1) < 0
			  ? err_set(e, CF_ELIMIT, "repository path too long")
			  : 0;
	free(real);
	return ret;
}

static int repo_open_tree(struct repo_src *src, git_commit *commit, struct cf_err *e)
{
	git_tree *top = NULL;
	git_tree_entry *te = NULL;
	struct sb prefix;
	int ret;
	sb_init(&prefix, REPO_PATH_MAX);
	if (git_commit_tree(&top, commit) < 0) {
		ret = err_set(e, CF_EIO, "cannot read the tree of '%s': %s", src->ref,
			      repo_git_msg());
		goto out;
	}
	ret = repo_prefix(src, &prefix, e);
	if (ret < 0 || prefix.len == 0) {
		src->tree = top;
		top = NULL;
		goto out;
	}
	if (git_tree_entry_bypath(&te, top, prefix.buf) < 0 ||
	    git_tree_entry_type(te) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&src->tree, src->git, git_tree_entry_id(te)) < 0) {
		repo_check_git();
		ret = err_set(e, CF_EIO, "directory '%s' does not exist in '%s'", prefix.buf,
			      src->ref);
	}
out:
	git_tree_entry_free(te);
	git_tree_free(top);
	sb_release(&prefix);
	return ret;
}

static int repo_open_ref(struct repo_src *src, struct cf_err *e)
{
	git_object *obj = NULL;
	git_commit *commit = NULL;
	int ret = 0;
	if (!src->git)
		return err_set(e, CF_EIO, "'%s' is not a git repository (needed for --ref)",
			       src->root);
	if (git_revparse_single(&obj, src->git, src->ref) < 0 ||
	    git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		ret = err_set(e, CF_EINVAL, "unknown revision '%s': %s", src->ref, repo_git_msg());
		goto out;
	}
	git_oid_tostr(src->commit, sizeof(src->commit), git_commit_id(commit));
	ret = repo_open_tree(src, commit, e);
out:
	git_commit_free(commit);
	git_object_free(obj);
	return ret;
}

/*
 * True when the files cacheform reads (cacheform.yaml, endpoints/, purges/ under root) differ
 * from HEAD: modified, staged, deleted or untracked (ignored files do not count). Such a
 * state is no commit, so it must not be planned or recorded as HEAD.
 */
static bool repo_worktree_dirty(git_repository *git, const char *root)
{
	static const char *const files[] = {"cacheform.yaml", "endpoints", "purges"};
	const char *wd = git_repository_workdir(git);
	size_t wl = wd ? strlen(wd) : 0;
	char *spec[CF_ARRAY_LEN(files)];
	git_status_list *st = NULL;
	git_status_options o;
	bool dirty = false;
	/* root inside the work tree: wd is root itself, or a parent of it ending with '/' */
	if (!wd || strncmp(root, wd, wl - 1) != 0)
		return false;
	const char *rel = root[wl - 1] == '/' ? root + wl : "";
	for (size_t i = 0; i < CF_ARRAY_LEN(files); i++) {
		struct sb p;
		sb_init(&p, 0);
		sb_addf(&p, "%s%s%s", rel, *rel ? "/" : "", files[i]);
		spec[i] = sb_detach(&p);
	}
	if (git_status_options_init(&o, GIT_STATUS_OPTIONS_VERSION) < 0) {
		repo_check_git();
		o.version = GIT_STATUS_OPTIONS_VERSION;
	}
	o.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	o.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		  GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
	o.pathspec.strings = spec;
	o.pathspec.count = CF_ARRAY_LEN(files);
	if (git_status_list_new(&st, git, &o) == 0)
		dirty = git_status_list_entrycount(st) > 0;
	else
		repo_check_git();
	git_status_list_free(st);
	for (size_t i = 0; i < CF_ARRAY_LEN(files); i++)
		free(spec[i]);
	return dirty;
}

/*
 * Frees the repository and gives back this source's git_libgit2_init: the last one given back
 * unloads libgit2 (reconcile/repo_lib.h). The working tree needs git only for its commit and
 * check, so it is released once they are known, before the files are read: neither libgit2's
 * libraries nor the mapped packs of the repository then add to the files' peak.
 */
static void repo_release_git(struct repo_src *src)
{
	if (!src->libgit2)
		return;
	git_tree_free(src->subtree);
	src->subtree = NULL;
	free(src->subdir); /* with its tree: the one-entry cache stays consistent */
	src->subdir = NULL;
	git_tree_entry_free(src->idte);
	src->idte = NULL;
	free(src->idpath);
	src->idpath = NULL;
	git_tree_free(src->tree);
	src->tree = NULL;
	git_repository_free(src->git);
	src->git = NULL;
	src->libgit2 = false;
	git_libgit2_shutdown();
}

/* A working tree that differs from HEAD is no commit: its commit becomes "". */
static void repo_set_dirty(struct repo_src *src, bool dirty)
{
	src->dirty = src->commit[0] && dirty;
	if (src->dirty)
		src->commit[0] = '\0';
	repo_release_git(src);
}

static void repo_check_dirty(struct repo_src *src)
{
	repo_set_dirty(src, src->commit[0] && repo_worktree_dirty(src->git, src->root));
}

/* The settler: the same check through its own handle. One that cannot open the repository
 * leaves settled false, and repo_src_settle runs the check itself. */
static void *repo_settler(void *arg)
{
	struct repo_src *src = arg;
	git_repository *git = NULL;
	if (git_repository_open_ext(&git, src->root, 0, NULL) < 0) {
		repo_check_git();
		return NULL;
	}
	src->settled_dirty = repo_worktree_dirty(git, src->root);
	src->settled = true;
	git_repository_free(git);
	return NULL;
}

/* Waits for the settler, if one runs. */
static void repo_settler_join(struct repo_src *src)
{
	if (!src->settling)
		return;
	(void)pthread_join(src->settler, NULL);
	src->settling = false;
}

/* What the child of repo_probe_start answers: HEAD's id ("" when none) and the check. */
struct repo_probe {
	char commit[GIT_OID_HEXSZ + 1];
	bool dirty;
};

static void repo_probe_reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* The child's side: never returns. */
static void repo_probe_child(const struct repo_src *src, int fd)
{
	struct repo_probe pr;
	git_repository *git = NULL;
	git_oid head;
	memset(&pr, 0, sizeof(pr));
	git_libgit2_init();
	if (git_repository_open_ext(&git, src->root, 0, NULL) == 0) {
		if (git_reference_name_to_id(&head, git, "HEAD") == 0)
			git_oid_tostr(pr.commit, sizeof(pr.commit), &head);
		else
			repo_check_git();
		pr.dirty = pr.commit[0] && repo_worktree_dirty(git, src->root);
	} else {
		repo_check_git();
	}
	const char *p = (const char *)&pr;
	size_t left = sizeof(pr);
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		p += w;
		left -= (size_t)w;
	}
	/* _exit: the parent's atexit handlers and buffered output are the parent's to run */
	_exit(0);
}

/*
 * The working tree's commit and check, made in a child process when libgit2 is not loaded
 * here yet. libgit2 brings libssh2 and with it OpenSSL's libcrypto, which is linked never to
 * be unloaded (NODELETE): checked in this process, it stayed mapped after libgit2 went, ~3 MB
 * of resident memory for the rest of a `validate` that reads its files from the file system
 * (README: "Memory"). The child's memory is its own and ends with it. Starts the child;
 * repo_probe_finish reads its answer. False when no child could be started.
 */
static bool repo_probe_start(struct repo_src *src)
{
	int fd[2];
	if (repo_lib_loaded() || pipe2(fd, O_CLOEXEC) < 0)
		return false;
	/* a child that ends through exit() (out of memory) must not write the parent's
	 * buffered output a second time */
	(void)fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		repo_probe_child(src, fd[1]);
	}
	close(fd[1]);
	if (pid < 0) {
		close(fd[0]);
		return false;
	}
	src->probe = pid;
	src->probe_fd = fd[0];
	return true;
}

static void repo_open_worktree(struct repo_src *src, bool defer);

/*
 * Reads the child's answer (waiting for it); a child that gave none (a failure in it) leaves
 * the check to this process, as without a child. The child's exit (unmapping libgit2 and its
 * libraries) is waited for when the source is freed, not here.
 */
static void repo_probe_finish(struct repo_src *src)
{
	struct repo_probe pr;
	char *p = (char *)&pr;
	size_t got = 0;
	if (src->probe_fd < 0)
		return;
	while (got < sizeof(pr)) {
		ssize_t r = read(src->probe_fd, p + got, sizeof(pr) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(src->probe_fd);
	src->probe_fd = -1;
	if (got != sizeof(pr) || memchr(pr.commit, '\0', sizeof(pr.commit)) == NULL) {
		repo_probe_reap(src->probe);
		src->probe = 0;
		repo_open_worktree(src, false);
		return;
	}
	memcpy(src->commit, pr.commit, sizeof(src->commit));
	src->dirty = false;
	repo_set_dirty(src, pr.dirty);
}

/* The working tree's commit and check through libgit2 in this process. */
static void repo_open_worktree(struct repo_src *src, bool defer)
{
	git_oid head;
	git_libgit2_init();
	src->libgit2 = true;
	/* Not being a git repository is fine for the working tree. */
	if (git_repository_open_ext(&src->git, src->root, 0, NULL) < 0) {
		repo_check_git();
		src->git = NULL;
	}
	if (!src->git) {
		repo_release_git(src); /* no repository: the working tree alone */
		return;
	}
	/* No HEAD (an unborn branch) leaves the commit empty; no memory is not that. */
	if (git_reference_name_to_id(&head, src->git, "HEAD") == 0)
		git_oid_tostr(src->commit, sizeof(src->commit), &head);
	else
		repo_check_git();
	src->unsettled = defer && src->commit[0];
	if (!src->unsettled)
		repo_check_dirty(src);
}

/* How repo_open makes the working tree's check: now, deferred to repo_src_settle (drift: in
 * this process, HEAD read now), or overlapped (in a child, answered at repo_src_settle). */
enum repo_check_when { REPO_CHECK_NOW, REPO_CHECK_DEFERRED, REPO_CHECK_OVERLAPPED };

static int repo_open(const char *dir, const char *ref, enum repo_check_when when,
		     struct repo_src **out, struct cf_err *e)
{
	struct repo_src *src = xcalloc(1, sizeof(*src));
	struct stat st;
	src->okfd = -1;
	src->probe_fd = -1;
	int ret = 0;
	src->ref = xstrdup(ref);
	src->root = realpath(dir ? dir : ".", NULL);
	if (!src->root)
		repo_check_errno();
	if (!src->root || stat(src->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ret = err_set(e, CF_EIO, "repository '%s' is not a directory", dir ? dir : ".");
		goto fail;
	}
	if (!ref) {
		if (when != REPO_CHECK_DEFERRED && repo_probe_start(src)) {
			if (when == REPO_CHECK_NOW)
				repo_probe_finish(src);
		} else {
			repo_open_worktree(src, when == REPO_CHECK_DEFERRED);
		}
		*out = src;
		return 0;
	}
	git_libgit2_init();
	src->libgit2 = true;
	if (git_repository_open_ext(&src->git, src->root, 0, NULL) < 0) {
		repo_check_git();
		src->git = NULL;
	}
	ret = repo_open_ref(src, e);
	if (ret < 0)
		goto fail;
	*out = src;
	return 0;
fail:
	repo_src_free(src);
	return ret;
}

int repo_src_open(const char *dir, const char *ref, struct repo_src **out, struct cf_err *e)
{
	return repo_open(dir, ref, REPO_CHECK_NOW, out, e);
}

int repo_src_open_deferred(const char *dir, const char *ref, struct repo_src **out,
			   struct cf_err *e)
{
	return repo_open(dir, ref, REPO_CHECK_DEFERRED, out, e);
}

int repo_src_open_overlapped(const char *dir, const char *ref, struct repo_src **out,
			     struct cf_err *e)
{
	return repo_open(dir, ref, REPO_CHECK_OVERLAPPED, out, e);
}

void repo_src_settle_start(struct repo_src *src)
{
	if (!src->unsettled || src->settling)
		return;
	/* no thread (EAGAIN) is no error: repo_src_settle then checks on the caller's */
	src->settling = pthread_create(&src->settler, NULL, repo_settler, src) == 0;
}

bool repo_src_settle(struct repo_src *src)
{
	repo_probe_finish(src);
	repo_settler_join(src);
	if (src->unsettled) {
		src->unsettled = false;
		if (src->settled)
			repo_set_dirty(src, src->settled_dirty);
		else
			repo_check_dirty(src);
	}
	return src->dirty;
}

void repo_src_free(struct repo_src *src)
{
	if (!src)
		return;
	/* the settler's handle goes before libgit2 can be unloaded */
	repo_settler_join(src);
	repo_release_git(src);
	if (src->probe_fd >= 0)
		close(src->probe_fd); /* never asked for: the child's write fails, it ends */
	if (src->probe > 0)
		repo_probe_reap(src->probe);
	free(src->okdir);
	if (src->okfd >= 0)
		close(src->okfd);
	free(src->root);
	free(src->ref);
	free(src);
}

void repo_src_done(struct repo_src *src)
{
	if (!src)
		return;
	repo_settler_join(src);
	repo_release_git(src);
}

const char *repo_src_commit(const struct repo_src *src)
{
	return src->commit;
}

bool repo_src_dirty(const struct repo_src *src)
{
	return src->dirty;
}

const char *repo_src_root(const struct repo_src *src)
{
	return src->root;
}

const char *repo_src_ref(const struct repo_src *src)
{
	return src->ref;
}

static bool repo_name_wanted(const char *name)
{
	size_t n = strlen(name);
	if (name[0] == '.')
		return false;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int repo_push_name(struct svec *names, const char *dir, const char *name, struct cf_err *e)
{
	struct sb p;
	if (names->n >= REPO_LIST_MAX)
		return err_set(e, CF_ELIMIT, "more than %d files in '%s'", REPO_LIST_MAX, dir);
	sb_init(&p, REPO_PATH_MAX);
	if (sb_addf(&p, "%s/%s", dir, name) < 0) {
		sb_release(&p);
		return err_set(e, CF_ELIMIT, "path '%s/%s' is too long", dir, name);
	}
	svec_push(names, p.buf, NULL);
	sb_release(&p);
	return 0;
}

static int repo_list_wt(struct repo_src *src, const char *dir, struct svec *names, struct cf_err *e)
{
	struct sb full;
	char *real = NULL;
	DIR *dh = NULL;
	struct dirent *de;
	int ret = 0;
	sb_init(&full, REPO_PATH_MAX * 2);
	(void)sb_addf(&full, "%s/%s", src->root, dir);
	real = realpath(full.buf, NULL);
	if (!real) {
		repo_check_errno();
		if (errno != ENOENT)
			ret = err_set(e, CF_EIO, "cannot open directory '%s': %s", dir,
				      strerror(errno));
		goto out;
	}
	if (!repo_under_root(src, real)) {
		ret = err_setat(e, CF_EINVAL, NULL, REPO_CODE_ESCAPE,
				"directory '%s' leads outside the repository", dir);
		goto out;
	}
	dh = opendir(real);
	if (!dh) {
		repo_check_errno();
		ret = err_set(e, CF_EIO, "cannot open directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	while (ret == 0 && (de = readdir(dh)) != NULL)
		if (repo_name_wanted(de->d_name))
			ret = repo_push_name(names, dir, de->d_name, e);
out:
	if (dh)
		closedir(dh);
	free(real);
	sb_release(&full);
	return ret;
}

static int repo_list_tree(struct repo_src *src, const char *dir, struct svec *names,
			  struct cf_err *e)
{
	git_tree_entry *te = NULL;
	git_tree *t = NULL;
	int ret = 0, r = git_tree_entry_bypath(&te, src->tree, dir);
	if (r < 0)
		repo_check_git();
	if (r == GIT_ENOTFOUND)
		return 0;
	if (r < 0 || git_tree_entry_type(te) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&t, src->git, git_tree_entry_id(te)) < 0) {
		repo_check_git();
		ret = err_set(e, CF_EIO, "'%s' is not a directory in '%s'", dir, src->ref);
		goto out;
	}
	for (size_t i = 0, n = git_tree_entrycount(t); ret == 0 && i < n; i++) {
		const char *name = git_tree_entry_name(git_tree_entry_byindex(t, i));
		if (repo_name_wanted(name))
			ret = repo_push_name(names, dir, name, e);
	}
out:
	git_tree_free(t);
	git_tree_entry_free(te);
	return ret;
}

static int repo_sval_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sval *)a)->s, ((const struct sval *)b)->s);
}

int repo_src_list(struct repo_src *src, const char *dir, struct svec *names, struct cf_err *e)
{
	size_t first = names->n;
	if (!repo_path_ok(dir))
		return err_set(e, CF_EINVAL, "invalid directory name '%s'", dir);
	int ret = src->tree ? repo_list_tree(src, dir, names, e) : repo_list_wt(src, dir, names, e);
	if (ret == 0 && names->n - first > 1)
		qsort(names->v + first, names->n - first, sizeof(*names->v), repo_sval_cmp);
	return ret;
}

static struct loc repo_pos(const char *path)
{
	struct loc p = {path, 0, 0};
	return p;
}

static int repo_too_big(const char *path, size_t size, size_t max, struct cf_err *e)
{
	struct loc p = repo_pos(path);
	return err_setat(e, CF_ELIMIT, &p, REPO_CODE_SIZE,
			 "file is %zu bytes, more than the limit of %zu bytes", size, max);
}

/*
 * Reads at most max+1 bytes from fd (a regular file), so a file that grew after fstat is still
 * refused. A short read of a regular file is its end (Linux, POSIX for regular files), so a
 * file that fits its hint costs one read, not a second one that returns 0: 100,000 system
 * calls fewer for a fleet.
 */
static int repo_read_fd(int fd, const char *path, size_t hint, size_t max, char **buf, size_t *len,
			struct cf_err *e)
{
	size_t cap = (hint < max ? hint : max) + 1, n = 0;
	char *b = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				free(b);
				return repo_too_big(path, n, max, e);
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			b = xreallocarray(b, cap + 1, 1);
		}
		size_t want = cap - n < REPO_READ_CHUNK ? cap - n : REPO_READ_CHUNK;
		ssize_t r = read(fd, b + n, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			struct loc p = repo_pos(path);
			free(b);
			return err_setat(e, CF_EIO, &p, REPO_CODE_IO, "cannot read: %s",
					 strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if ((size_t)r < want)
			break;
	}
	if (n > max) {
		free(b);
		return repo_too_big(path, n, max, e);
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/*
 * Whether path's directory resolves inside root; when it does, src->okfd is that directory,
 * opened. The answer for the last directory is kept: a repository's files sit in two or three
 * directories, and realpath costs a system call per component.
 */
static bool repo_dir_inside(struct repo_src *src, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	struct sb full;
	bool ok;
	if (src->okdir && strlen(src->okdir) == n && strncmp(src->okdir, path, n) == 0)
		return true;
	sb_init(&full, REPO_PATH_MAX * 2);
	(void)sb_adds(&full, src->root);
	if (n)
		(void)sb_addc(&full, '/'), (void)sb_add(&full, path, n);
	char *real = realpath(full.buf, NULL);
	if (!real)
		repo_check_errno();
	ok = real && repo_under_root(src, real);
	if (ok) {
		/* the directory realpath checked, not a name a link could swap under us */
		int fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			repo_check_errno();
		ok = fd >= 0;
		if (src->okfd >= 0)
			close(src->okfd);
		src->okfd = fd;
		free(src->okdir);
		src->okdir = ok ? xstrndup(path, n) : NULL;
	}
	free(real);
	sb_release(&full);
	return ok;
}

/* Opens root/path when no symbolic link is involved; -1 (errno ELOOP) for a final link. */
static int repo_open_direct(struct repo_src *src, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!repo_dir_inside(src, path)) {
		errno = ELOOP;
		return -1;
	}
	/* O_NONBLOCK: opening a FIFO must not hang; fstat then refuses it. */
	int fd = openat(src->okfd, slash ? slash + 1 : path,
			O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		repo_check_errno();
	return fd;
}

/* Opens through symbolic links, refusing any that resolve outside root. */
static int repo_open_resolved(struct repo_src *src, const char *path, int *fd, struct cf_err *e)
{
	struct loc p = repo_pos(path);
	struct sb full;
	char *real;
	int ret = 0;
	sb_init(&full, REPO_PATH_MAX * 2);
	(void)sb_addf(&full, "%s/%s", src->root, path);
	real = realpath(full.buf, NULL);
	if (!real)
		repo_check_errno();
	if (!real)
		ret = err_setat(e, CF_EIO, &p, REPO_CODE_IO, "cannot open: %s", strerror(errno));
	else if (!repo_under_root(src, real))
		ret = err_setat(e, CF_EINVAL, &p, REPO_CODE_ESCAPE,
				"symbolic link leads outside the repository");
	else if ((*fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		ret = err_setat(e, CF_EIO, &p, REPO_CODE_IO, "cannot open: %s", strerror(errno));
	free(real);
	sb_release(&full);
	return ret;
}

static int repo_open_wt(struct repo_src *src, const char *path, int *fd, struct stat *st,
			struct cf_err *e)
{
	struct loc p = repo_pos(path);
	int ret = 0;
	*fd = repo_open_direct(src, path);
	if (*fd < 0 && errno != ELOOP && errno != ENOENT)
		return err_setat(e, CF_EIO, &p, REPO_CODE_IO, "cannot open: %s", strerror(errno));
	if (*fd < 0) {
		ret = repo_open_resolved(src, path, fd, e);
		if (ret < 0)
			return ret;
	}
	if (fstat(*fd, st) < 0)
		return err_setat(e, CF_EIO, &p, REPO_CODE_IO, "cannot open: %s", strerror(errno));
	if (!S_ISREG(st->st_mode))
		return err_setat(e, CF_EIO, &p, REPO_CODE_IO, "not a regular file");
	return 0;
}

static int repo_read_wt(struct repo_src *src, const char *path, size_t max, char **buf, size_t *len,
			struct cf_err *e)
{
	struct stat st;
	int fd = -1;
	int ret = repo_open_wt(src, path, &fd, &st, e);
	if (ret < 0)
		goto out;
	if ((uint64_t)st.st_size > (uint64_t)max) {
		ret = repo_too_big(path, (size_t)st.st_size, max, e);
		goto out;
	}
	ret = repo_read_fd(fd, path, (size_t)st.st_size, max, buf, len, e);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Appends link target to the directory of from, resolving ".."; fails when it leaves root. */
static int repo_link_join(const char *from, const char *target, struct sb *out)
{
	const char *slash = strrchr(from, '/');
	sb_reset(out);
	if (target[0] == '/')
		return -1;
	if (slash && sb_add(out, from, (size_t)(slash - from)) < 0)
		return -1;
	for (const char *p = target; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *up = strrchr(out->buf, '/');
			if (out->len == 0)
				return -1;
			sb_truncate(out, up ? (size_t)(up - out->buf) : 0);
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			if ((out->len && sb_addc(out, '/') < 0) || sb_add(out, p, n) < 0)
				return -1;
		}
		p += n + (p[n] == '/');
	}
	return out->len ? 0 : -1;
}

static int repo_blob_size(struct repo_src *src, const git_oid *id, size_t *size)
{
	git_odb *odb = NULL;
	git_object_t type = GIT_OBJECT_INVALID;
	int r = git_repository_odb(&odb, src->git);
	if (r == 0)
		r = git_odb_read_header(size, &type, odb, id);
	if (r < 0)
		repo_check_git();
	git_odb_free(odb);
	return r < 0 || type != GIT_OBJECT_BLOB ? -1 : 0;
}

static int repo_blob_copy(struct repo_src *src, const git_oid *id, char **buf, size_t *len)
{
	git_blob *blob = NULL;
	if (git_blob_lookup(&blob, src->git, id) < 0) {
		repo_check_git();
		return -1;
	}
	size_t n = (size_t)git_blob_rawsize(blob);
	*buf = xmalloc(n + 1);
	memcpy(*buf, git_blob_rawcontent(blob), n);
	(*buf)[n] = '\0';
	*len = n;
	git_blob_free(blob);
	return 0;
}

/* The tree of directory dir (relative, no trailing '/'), from the one-entry cache. Borrowed. */
static git_tree *repo_subtree(struct repo_src *src, const char *dir)
{
	git_tree_entry *te = NULL;
	git_tree *t = NULL;
	if (src->subdir && strcmp(src->subdir, dir) == 0)
		return src->subtree;
	if (git_tree_entry_bypath(&te, src->tree, dir) < 0 ||
	    git_tree_entry_type(te) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&t, src->git, git_tree_entry_id(te)) < 0) {
		git_tree_entry_free(te);
		return NULL;
	}
	git_tree_entry_free(te);
	git_tree_free(src->subtree);
	free(src->subdir);
	src->subtree = t;
	src->subdir = xstrdup(dir);
	return t;
}

/* git_tree_entry_bypath through the subtree cache: same result, same ownership (caller frees). */
static int repo_entry_bypath(git_tree_entry **te, struct repo_src *src, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return git_tree_entry_bypath(te, src->tree, path);
	char *dir = xstrndup(path, (size_t)(slash - path));
	git_tree *t = repo_subtree(src, dir);
	free(dir);
	const git_tree_entry *found = t ? git_tree_entry_byname(t, slash + 1) : NULL;
	if (!found)
		return git_tree_entry_bypath(te, src->tree, path);
	return git_tree_entry_dup(te, found);
}

/* Looks path up in the tree, following in-tree symbolic links; *te is the final blob entry. */
static int repo_tree_find(struct repo_src *src, const char *path, git_tree_entry **te,
			  struct cf_err *e)
{
	struct loc p = repo_pos(path);
	struct sb cur, next;
	char *target = NULL;
	size_t tlen;
	int ret = 0;
	sb_init(&cur, REPO_PATH_MAX);
	sb_init(&next, REPO_PATH_MAX);
	(void)sb_adds(&cur, path);
	for (int hop = 0;; hop++) {
		if (repo_entry_bypath(te, src, cur.buf) < 0) {
			repo_check_git();
			ret = err_setat(e, CF_EIO, &p, REPO_CODE_IO, "no such file in '%s'",
					src->ref);
			goto out;
		}
		if (git_tree_entry_filemode(*te) != GIT_FILEMODE_LINK)
			break;
		if (hop == REPO_LINK_HOPS ||
		    repo_blob_copy(src, git_tree_entry_id(*te), &target, &tlen) < 0 ||
		    repo_link_join(cur.buf, target, &next) < 0) {
			ret = err_setat(e, CF_EINVAL, &p, REPO_CODE_ESCAPE,
					"symbolic link leads outside the repository");
			goto out;
		}
		free(target);
		target = NULL;
		git_tree_entry_free(*te);
		*te = NULL;
		sb_reset(&cur);
		(void)sb_add(&cur, next.buf, next.len);
	}
	if (git_tree_entry_type(*te) != GIT_OBJECT_BLOB)
		ret = err_setat(e, CF_EIO, &p, REPO_CODE_IO, "not a regular file");
out:
	if (ret < 0) {
		git_tree_entry_free(*te);
		*te = NULL;
	}
	free(target);
	sb_release(&cur);
	sb_release(&next);
	return ret;
}

static int repo_read_tree(struct repo_src *src, const char *path, size_t max, char **buf,
			  size_t *len, struct cf_err *e)
{
	struct loc p = repo_pos(path);
	git_tree_entry *te = NULL;
	size_t size = 0;
	int ret = 0;
	if (src->idpath && strcmp(src->idpath, path) == 0) {
		te = src->idte; /* source_id just found it */
		src->idte = NULL;
		free(src->idpath);
		src->idpath = NULL;
	} else {
		ret = repo_tree_find(src, path, &te, e);
	}
	if (ret < 0)
		return ret;
	/* The object header gives the size without inflating the blob. */
	if (repo_blob_size(src, git_tree_entry_id(te), &size) < 0)
		ret = err_setat(e, CF_EIO, &p, REPO_CODE_IO, "cannot read: %s", repo_git_msg());
	else if (size > max)
		ret = repo_too_big(path, size, max, e);
	else if (repo_blob_copy(src, git_tree_entry_id(te), buf, len) < 0)
		ret = err_setat(e, CF_EIO, &p, REPO_CODE_IO, "cannot read: %s", repo_git_msg());
	git_tree_entry_free(te);
	return ret;
}

int repo_src_read(struct repo_src *src, const char *path, size_t max_bytes, char **buf, size_t *len,
		  struct cf_err *e)
{
	if (!repo_path_ok(path)) {
		struct loc p = repo_pos(path);
		return err_setat(e, CF_EINVAL, &p, REPO_CODE_ESCAPE,
				 "path must be relative to the repository, without '.' or '..'");
	}
	if (src->tree)
		return repo_read_tree(src, path, max_bytes, buf, len, e);
	return repo_read_wt(src, path, max_bytes, buf, len, e);
}

/* A commit's files are named by their blob id (after in-tree links); the working tree keeps no
 * ids: hashing a file costs about what reading it does. */
static int source_id(void *ctx, const char *path, char out[SOURCE_ID_MAX])
{
	struct repo_src *src = ctx;
	git_tree_entry *te = NULL;
	struct cf_err e;
	if (!src->tree || !repo_path_ok(path))
		return -1;
	err_clear(&e);
	if (repo_tree_find(src, path, &te, &e) < 0)
		return -1;
	git_oid_tostr(out, SOURCE_ID_MAX, git_tree_entry_id(te));
	git_tree_entry_free(src->idte);
	free(src->idpath);
	src->idte = te; /* for the read that follows */
	src->idpath = xstrdup(path);
	return 0;
}

static int source_list(void *ctx, const char *dir, struct svec *names, struct cf_err *e)
{
	return repo_src_list(ctx, dir, names, e);
}

static int source_read(void *ctx, const char *path, size_t max, char **buf, size_t *len,
		       struct cf_err *e)
{
	return repo_src_read(ctx, path, max, buf, len, e);
}

struct cf_source repo_src_source(struct repo_src *src)
{
	struct cf_source s = {src, source_list, source_read, repo_src_commit(src), source_id};
	return s;
}

void repo_git_hold(void)
{
	git_libgit2_init();
}

void repo_git_release(void)
{
	git_libgit2_shutdown();
}

const char *repo_lib_version(void)
{
	static char v[32];
	int major = 0, minor = 0, rev = 0;
	git_libgit2_init(); /* loads it: the version is the library's, not the header's */
	int r = git_libgit2_version(&major, &minor, &rev);
	git_libgit2_shutdown();
	if (r != 0)
		return "unknown";
	snprintf(v, sizeof(v), "%d.%d.%d", major, minor, rev);
	return v;
}
