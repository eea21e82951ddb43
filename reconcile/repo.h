/*
 * A read-only source of desired-state files: either the working tree under a directory or the
 * tree of one git commit read straight from the object database (no checkout).
 *
 * Paths given to and returned by this module are relative to the repository root, use '/'
 * and never contain "." or ".." components. Files (and symbolic links) that resolve outside
 * the root are refused. libgit2 stays inside this module (and repo_ledger.c).
 */
#ifndef CF_REPO_H
#define CF_REPO_H

#include <stddef.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/base/source.h"

/* Error codes: SOURCE_CODE_* (reconcile/base/source.h). */
#define REPO_CODE_IO	 SOURCE_CODE_IO
#define REPO_CODE_SIZE	 SOURCE_CODE_SIZE
#define REPO_CODE_ESCAPE SOURCE_CODE_ESCAPE

struct repo_src;

/*
 * Opens dir (default "." when NULL) as a source. ref NULL reads the working tree; otherwise ref
 * is any revision git understands (branch, tag, sha, HEAD~2) and that commit's tree is read.
 * dir may be a subdirectory of a git repository; --ref then reads the same subdirectory.
 * Returns 0 and sets *out (caller frees with repo_src_free), or CF_EIO/CF_EINVAL and fills e.
 */
int repo_src_open(const char *dir, const char *ref, struct repo_src **out, struct cf_err *e);

/*
 * repo_src_open leaving the working-tree check (repo_src_dirty) to repo_src_settle: until then
 * the commit reads as HEAD and repo_src_dirty as false. For drift, which names the commit only
 * in its report: its reads go out without waiting for the check (a status of 100,000 files,
 * ~0.3 s of CPU per shard), and a check made after the files were read is no less exact than
 * one made before (a change made while they were read is seen). repo_src_settle_start runs it
 * during the reads.
 */
int repo_src_open_deferred(const char *dir, const char *ref, struct repo_src **out,
			   struct cf_err *e);

/*
 * repo_src_open with the working tree's commit and check made alongside what the caller does
 * next (reading the files): in a child process, which repo_src_settle waits for. Until then
 * the commit reads as "" and repo_src_dirty as false, so the caller settles before it uses
 * them (cmd_load: the loader copies the commit when it starts; it is copied again after). With
 * a ref, or when no child can be started, it is repo_src_open.
 */
int repo_src_open_overlapped(const char *dir, const char *ref, struct repo_src **out,
			     struct cf_err *e);

/*
 * Starts a deferred working-tree check on a thread of its own (with its own libgit2 handle),
 * so it runs while the caller waits on the network instead of after; repo_src_settle collects
 * its answer. A no-op when nothing is deferred; when no thread can be started, repo_src_settle
 * runs the check itself. Call once the files are read: the check sees the files as they are
 * then (a change made while they were read is still seen).
 */
void repo_src_settle_start(struct repo_src *src);

/* Runs a deferred working-tree check or collects an overlapped one (once; a no-op after
 * repo_src_open). Returns
 * repo_src_dirty(src); when dirty, repo_src_commit(src) is "" from then on. */
bool repo_src_settle(struct repo_src *src);

/*
 * Frees src's repository handle and gives back its libgit2 (with its mapped packs and object
 * cache) once every file has been read: commit, root and ref still answer, but src must not be
 * listed or read from again. For diff, which holds two sources and reads the second after the
 * first. NULL-safe.
 */
void repo_src_done(struct repo_src *src);

/* Frees the source. NULL-safe. */
void repo_src_free(struct repo_src *src);

/*
 * Keeps libgit2 loaded and initialised until the matching repo_git_release. A command that
 * opens the repository and then its ledger would otherwise load libgit2 twice, since the
 * source gives it back before reading the files, and each first git_libgit2_init of a load
 * parses the system's CA certificates again (mbedTLS builds: 55 million instructions, as much
 * as 27,000 endpoints' YAML, issue 17). What stays is libgit2's global state, no repository.
 */
void repo_git_hold(void);
void repo_git_release(void);

/*
 * Appends to names, sorted bytewise, "DIR/NAME" for every entry of directory dir whose name
 * ends in ".yaml" or ".yml" and does not start with '.'. A missing directory lists nothing.
 * Returns 0, or CF_EIO/CF_EINVAL and fills e. Strings in names are owned by names.
 */
int repo_src_list(struct repo_src *src, const char *dir, struct svec *names, struct cf_err *e);

/*
 * Reads the regular file at path. A file larger than max_bytes is refused with CF_ELIMIT
 * before its content is read. On success *buf (NUL-terminated, caller frees) holds *len
 * bytes. Errors carry pos.file = path (the caller's pointer, borrowed) and a REPO_CODE_*.
 * A missing file is CF_EIO with e->code REPO_CODE_IO.
 */
int repo_src_read(struct repo_src *src, const char *path, size_t max_bytes, char **buf, size_t *len,
		  struct cf_err *e);

/*
 * Returns the 40-hex id of the commit read (--ref), or of HEAD when reading the working tree of
 * a git repository whose cacheform files are as committed; "" when there is none, or when the
 * working tree has uncommitted changes (repo_src_dirty): what is read is then no commit, and
 * plans and ledger records must not name HEAD for it. Borrowed; valid until repo_src_free.
 */
const char *repo_src_commit(const struct repo_src *src);

/* True when the working tree's cacheform.yaml, endpoints/ or purges/ differ from HEAD. */
bool repo_src_dirty(const struct repo_src *src);

/* Returns src as the loader's file source (borrowing src; valid until repo_src_free). */
struct cf_source repo_src_source(struct repo_src *src);

/* Returns the absolute, symlink-free repository root (for {file: PATH}). Borrowed. */
const char *repo_src_root(const struct repo_src *src);

/* Returns the revision given to repo_src_open, or NULL for the working tree. Borrowed. */
const char *repo_src_ref(const struct repo_src *src);

/* Returns the version of the libgit2 loaded at run time, e.g. "1.5.1". Static. */
const char *repo_lib_version(void);

#endif
