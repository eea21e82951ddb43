#include "reconcile/base/compat.h"
#include "reconcile/repo_ledger.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "reconcile/repo_lib.h" /* libgit2, loaded while used */

#include "reconcile/repo_lock.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define REPO_LEDGER_SIG_NAME	   "cacheform"
#define REPO_LEDGER_SIG_EMAIL	   "cacheform@localhost"
#define REPO_LEDGER_BACKOFF_MAX_US 20000 /* between lost compare-and-swap rounds */
/*
 * A ref lock is held for well under a millisecond; one older than this was left by a process
 * that died holding it (SIGKILL in CI) and is removed, so a killed apply cannot wedge the ledger.
 */
#define REPO_LEDGER_STALE_LOCK_S 2
/*
 * A commit's new objects (one blob per record, trees, the commit) are collected in memory
 * and written as one pack before the ref moves: as loose objects every record cost a file
 * creation, and a fleet-wide commit (a first apply records every in-sync endpoint) took
 * a second. The in-memory backend sits above a view of the repository's own so it takes the
 * writes (struct repo_ledger).
 */
#define REPO_LEDGER_MEMPACK_PRIORITY 999
#define REPO_LEDGER_VIEW_PRIORITY    1
/* The tree layout (repo_ledger.h) */
#define REPO_LEDGER_V2_PURGES	 "v2/purges"
#define REPO_LEDGER_V2_ENDPOINTS "v2/endpoints"
/* CDN Pro staging records (ledger_endpoint.staging): read only by name, never by a walk */
#define REPO_LEDGER_V2_STAGING	 "v2/staging"
#define REPO_LEDGER_V2_SUMMARIES "v2/compacted"
#define REPO_LEDGER_V2_DAYS	 "v2/days"
#define REPO_LEDGER_OLD_PURGES	 "purges"
#define REPO_LEDGER_DAY_S	 86400
#define REPO_LEDGER_DAY_LEN	 sizeof("YYYY-MM-DD")
/* a quota window longer than this is summed from a full read, not day by day */
#define REPO_LEDGER_WINDOW_DAYS_MAX 31
#define REPO_LEDGER_OLD_ENDPOINTS   "endpoints"

struct repo_ledger {
	git_repository *repo;
	git_odb_backend *mem; /* owned by writes; NULL: loose objects */
	/*
	 * A commit swaps the repository's object database (own) for writes: mem over a read-only
	 * view of own. Through own, git_odb_write looked for each new object in every backend
	 * and, not finding it, listed the pack directory again: a readdir per record and tree,
	 * growing with the packs the ledger's commits leave (100 packs: a 10,000-record commit
	 * took a second more).
	 */
	git_odb *own, *writes;
};

static int git_fail(struct cf_err *e, const char *what)
{
	const git_error *ge = git_error_last();
	return err_set(e, CF_EIO, "ledger: %s: %s", what,
		       ge && ge->message ? ge->message : "unknown error");
}

/* The view of own under a commit's writes: lookups that do not list the pack directory. */
struct odb_view {
	git_odb_backend base;
	git_odb *own; /* borrowed: repo_ledger.own */
};

/* An object of own, copied into memory the odb frees (len + 1 bytes: libgit2's own backends
 * end an object with a NUL). */
static int view_copy(git_odb_backend *b, git_odb_object *o, void **data, size_t *len,
		     git_object_t *type)
{
	*len = git_odb_object_size(o);
	*type = git_odb_object_type(o);
	*data = git_odb_backend_data_alloc(b, *len + 1);
	if (*data) {
		memcpy(*data, git_odb_object_data(o), *len);
		((char *)*data)[*len] = 0;
	}
	git_odb_object_free(o);
	return *data ? 0 : -1;
}

static int view_read(void **data, size_t *len, git_object_t *type, git_odb_backend *b,
		     const git_oid *id)
{
	git_odb_object *o = NULL;
	int rc = git_odb_read(&o, ((struct odb_view *)b)->own, id);
	return rc < 0 ? rc : view_copy(b, o, data, len, type);
}

static int view_read_prefix(git_oid *out, void **data, size_t *len, git_object_t *type,
			    git_odb_backend *b, const git_oid *prefix, size_t n)
{
	git_odb_object *o = NULL;
	int rc = git_odb_read_prefix(&o, ((struct odb_view *)b)->own, prefix, n);
	if (rc < 0)
		return rc;
	git_oid_cpy(out, git_odb_object_id(o));
	return view_copy(b, o, data, len, type);
}

static int view_read_header(size_t *len, git_object_t *type, git_odb_backend *b, const git_oid *id)
{
	return git_odb_read_header(len, type, ((struct odb_view *)b)->own, id);
}

/* Only the packs already known: a new object is not looked for again (it goes to mem). */
static int view_exists(git_odb_backend *b, const git_oid *id)
{
	return git_odb_exists_ext(((struct odb_view *)b)->own, id, GIT_ODB_LOOKUP_NO_REFRESH);
}

static void view_free(git_odb_backend *b)
{
	free(b);
}

/* Sets up rl->writes (rl->own, an in-memory backend over a view of it) and rl->mem; on any
 * failure neither: objects then go loose through the repository's own odb. */
static void writes_attach(struct repo_ledger *rl)
{
	git_odb *own = NULL, *w = NULL;
	git_odb_backend *mem = NULL;
	struct odb_view *v = NULL;
	if (git_repository_odb(&own, rl->repo) < 0)
		return;
	if (git_odb_new(&w) < 0 || git_mempack_new(&mem) < 0)
		goto fail;
	if (git_odb_add_backend(w, mem, REPO_LEDGER_MEMPACK_PRIORITY) < 0) {
		mem->free(mem);
		mem = NULL;
		goto fail;
	}
	v = xcalloc(1, sizeof(*v));
	git_odb_init_backend(&v->base, GIT_ODB_BACKEND_VERSION);
	v->base.read = view_read;
	v->base.read_prefix = view_read_prefix;
	v->base.read_header = view_read_header;
	v->base.exists = view_exists;
	v->base.free = view_free;
	v->own = own;
	if (git_odb_add_backend(w, &v->base, REPO_LEDGER_VIEW_PRIORITY) < 0) {
		free(v);
		goto fail;
	}
	rl->own = own;
	rl->writes = w;
	rl->mem = mem;
	return;
fail:
	git_odb_free(w); /* and mem, once added */
	git_odb_free(own);
}

int repo_ledger_open(const char *dir, struct repo_ledger **out, struct cf_err *e)
{
	git_libgit2_init();
	git_repository *repo = NULL;
	if (git_repository_open_ext(&repo, dir, 0, NULL) < 0) {
		git_libgit2_shutdown();
		return err_set(e, CF_EIO, "ledger: '%s' is not inside a git repository", dir);
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->repo = repo;
	writes_attach(*out);
	return 0;
}

void repo_ledger_close(struct repo_ledger *rl)
{
	if (!rl)
		return;
	git_repository_free(rl->repo);
	git_odb_free(rl->writes);
	git_odb_free(rl->own);
	free(rl);
	git_libgit2_shutdown();
}

const char *repo_ledger_gitdir(const struct repo_ledger *rl)
{
	return git_repository_commondir(rl->repo);
}

void repo_ledger_tip(struct repo_ledger *rl, char *buf, size_t n)
{
	git_oid oid;
	buf[0] = 0;
	if (n > GIT_OID_HEXSZ && git_reference_name_to_id(&oid, rl->repo, REPO_LEDGER_REF) == 0)
		git_oid_tostr(buf, n, &oid);
}

/* Loads the tip's tree; *tree stays NULL (and 0 is returned) when the ref does not exist. */
static int tip_tree(struct repo_ledger *rl, git_oid *tip, bool *have_tip, git_tree **tree,
		    struct cf_err *e)
{
	git_commit *c = NULL;
	*tree = NULL;
	*have_tip = false;
	int r = git_reference_name_to_id(tip, rl->repo, REPO_LEDGER_REF);
	if (r == GIT_ENOTFOUND)
		return 0;
	if (r < 0)
		return git_fail(e, "cannot resolve " REPO_LEDGER_REF);
	*have_tip = true;
	if (git_commit_lookup(&c, rl->repo, tip) < 0 || git_commit_tree(tree, c) < 0) {
		git_commit_free(c);
		return git_fail(e, "cannot read the ledger commit");
	}
	git_commit_free(c);
	return 0;
}

static int blob_text(git_repository *repo, const git_oid *id, const char **buf, size_t *len,
		     git_blob **blob, struct cf_err *e)
{
	if (git_blob_lookup(blob, repo, id) < 0)
		return git_fail(e, "cannot read a ledger record");
	*buf = git_blob_rawcontent(*blob);
	*len = (size_t)git_blob_rawsize(*blob);
	if (*len > LEDGER_RECORD_MAX)
		return err_set(e, CF_ELIMIT, "ledger record larger than %zu bytes",
			       LEDGER_RECORD_MAX);
	return 0;
}

/* ---- paths ---- */

enum rec_where { REC_NONE, REC_V2, REC_OLD, REC_SUMMARY, REC_STAGING };

static uint32_t shard_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* "<h1>/<h2>/": the fan-out directories of a manifest id or endpoint name. */
static void shard(const char *s, struct sb *path)
{
	uint32_t h = shard_hash(s);
	sb_addf(path, "%02x/%02x/", (unsigned)(h >> 24), (unsigned)((h >> 16) & 0xff));
}

static void purge_path_of(const char *id, const char *ep, enum rec_where w, struct sb *path)
{
	if (w == REC_OLD) {
		sb_adds(path, REPO_LEDGER_OLD_PURGES "/");
	} else {
		sb_adds(path, w == REC_SUMMARY ? REPO_LEDGER_V2_SUMMARIES "/"
					       : REPO_LEDGER_V2_PURGES "/");
		shard(id, path);
	}
	ledger_path_component(id, path);
	if (w != REC_SUMMARY) {
		sb_addc(path, '/');
		ledger_path_component(ep, path);
	}
	sb_adds(path, ".json");
}

static void endpoint_path_of(const char *name, enum rec_where w, struct sb *path)
{
	if (w == REC_OLD) {
		sb_adds(path, REPO_LEDGER_OLD_ENDPOINTS "/");
	} else {
		sb_adds(path, w == REC_STAGING ? REPO_LEDGER_V2_STAGING "/"
					       : REPO_LEDGER_V2_ENDPOINTS "/");
		shard(name, path);
	}
	ledger_path_component(name, path);
	sb_adds(path, ".json");
}

static void day_text(int64_t t, char *buf)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, REPO_LEDGER_DAY_LEN, "%Y-%m-%d", &tm);
}

/* v2/days/<YYYY-MM-DD>/<h1>/<h2>/<id>/<endpoint>.json: the record again (the same blob),
 * under the day it was submitted, so a day's quota sum reads only that day's records. */
static void day_path_of(const char *id, const char *ep, int64_t submitted_at, struct sb *path)
{
	char day[REPO_LEDGER_DAY_LEN];
	day_text(submitted_at, day);
	sb_addf(path, REPO_LEDGER_V2_DAYS "/%s/", day);
	shard(id, path);
	ledger_path_component(id, path);
	sb_addc(path, '/');
	ledger_path_component(ep, path);
	sb_adds(path, ".json");
}

/* The blob at path: 1 (blob and text filled; caller frees blob), 0 absent, or an error. */
static int blob_at(git_repository *repo, git_tree *root, const char *path, git_blob **blob,
		   const char **buf, size_t *len, struct cf_err *e)
{
	git_tree_entry *te = NULL;
	*blob = NULL;
	int r = git_tree_entry_bypath(&te, root, path);
	if (r == GIT_ENOTFOUND)
		return 0;
	if (r < 0)
		return git_fail(e, "cannot read the ledger tree");
	int rc = git_tree_entry_type(te) == GIT_OBJECT_BLOB
		     ? blob_text(repo, git_tree_entry_id(te), buf, len, blob, e)
		     : err_set(e, CF_EINVAL, "ledger: '%s' is not a file", path);
	git_tree_entry_free(te);
	return rc < 0 ? rc : 1;
}

/*
 * The purge record of (id, endpoint) in the tree root: at its v2 path, its old path, or in
 * its manifest's summary. Returns 1 (*out filled, *where set), 0 absent, or an error.
 */
static int purge_in(git_repository *repo, git_tree *root, const char *id, const char *ep,
		    struct ledger_purge *out, enum rec_where *where, struct cf_err *e)
{
	static const enum rec_where order[] = {REC_V2, REC_OLD, REC_SUMMARY};
	struct sb path;
	int rc = 0;
	*where = REC_NONE;
	sb_init(&path, 0);
	for (size_t i = 0; i < CF_ARRAY_LEN(order) && rc == 0 && root; i++) {
		git_blob *blob = NULL;
		const char *buf;
		size_t len;
		sb_reset(&path);
		purge_path_of(id, ep, order[i], &path);
		rc = blob_at(repo, root, path.buf, &blob, &buf, &len, e);
		if (rc == 1 && order[i] != REC_SUMMARY) {
			rc = ledger_purge_decode(buf, len, out, e) < 0 ? CF_EINVAL : 1;
		} else if (rc == 1) {
			struct ledger_purge *v = NULL;
			size_t n = 0;
			rc = ledger_summary_decode(buf, len, &v, &n, e) < 0 ? CF_EINVAL : 0;
			for (size_t k = 0; k < n; k++) {
				if (rc == 0 && strcmp(v[k].endpoint, ep) == 0) {
					*out = v[k];
					rc = 1;
				} else {
					ledger_purge_release(&v[k]);
				}
			}
			free(v);
		}
		if (rc < 0)
			err_prefix(e, "ledger record '%s'", path.buf);
		if (rc == 1)
			*where = order[i];
		git_blob_free(blob);
	}
	sb_release(&path);
	return rc;
}

/* The endpoint record of name at its v2 path (unless skip_v2: the caller looked there) or its
 * old path. Returns 1 (*out filled, *where set), 0 absent, or an error. */
static int endpoint_in_from(git_repository *repo, git_tree *root, const char *name, bool skip_v2,
			    struct ledger_endpoint *out, enum rec_where *where, struct cf_err *e)
{
	static const enum rec_where order[] = {REC_V2, REC_OLD};
	struct sb path;
	int rc = 0;
	*where = REC_NONE;
	sb_init(&path, 0);
	for (size_t i = skip_v2 ? 1 : 0; i < CF_ARRAY_LEN(order) && rc == 0 && root; i++) {
		git_blob *blob = NULL;
		const char *buf;
		size_t len;
		sb_reset(&path);
		endpoint_path_of(name, order[i], &path);
		rc = blob_at(repo, root, path.buf, &blob, &buf, &len, e);
		if (rc == 1)
			rc = ledger_endpoint_decode(buf, len, out, e) < 0 ? CF_EINVAL : 1;
		if (rc < 0)
			err_prefix(e, "ledger record '%s'", path.buf);
		if (rc == 1)
			*where = order[i];
		git_blob_free(blob);
	}
	sb_release(&path);
	return rc;
}

static int endpoint_in(git_repository *repo, git_tree *root, const char *name,
		       struct ledger_endpoint *out, enum rec_where *where, struct cf_err *e)
{
	return endpoint_in_from(repo, root, name, false, out, where, e);
}

/* ---- reading every record ---- */

enum rec_kind { KIND_PURGE, KIND_ENDPOINT, KIND_SUMMARY };

/* Decodes one blob and adds its record(s) to l. */
static int adopt_blob(git_repository *repo, const git_tree_entry *te, enum rec_kind kind,
		      struct ledger *l, struct cf_err *e)
{
	git_blob *blob = NULL;
	const char *buf;
	size_t len;
	int rc = blob_text(repo, git_tree_entry_id(te), &buf, &len, &blob, e);
	if (rc == 0 && kind == KIND_PURGE) {
		struct ledger_purge p;
		if ((rc = ledger_purge_decode(buf, len, &p, e)) == 0)
			ledger_adopt_purge(l, &p);
	} else if (rc == 0 && kind == KIND_ENDPOINT) {
		struct ledger_endpoint ep;
		if ((rc = ledger_endpoint_decode(buf, len, &ep, e)) == 0)
			ledger_adopt_endpoint(l, &ep);
	} else if (rc == 0) {
		struct ledger_purge *v = NULL;
		size_t n = 0;
		rc = ledger_summary_decode(buf, len, &v, &n, e);
		for (size_t i = 0; i < n; i++)
			ledger_adopt_purge(l, &v[i]);
		free(v);
	}
	git_blob_free(blob);
	if (rc < 0)
		err_prefix(e, "ledger record '%s'", git_tree_entry_name(te));
	return rc;
}

/* Adds every blob depth directories below t (0: t's own files). */
static int walk(git_repository *repo, git_tree *t, int depth, enum rec_kind kind, struct ledger *l,
		struct cf_err *e)
{
	int rc = 0;
	for (size_t i = 0; i < git_tree_entrycount(t) && rc == 0; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(t, i);
		git_tree *sub = NULL;
		if (depth == 0 && git_tree_entry_type(te) == GIT_OBJECT_BLOB) {
			rc = adopt_blob(repo, te, kind, l, e);
		} else if (depth > 0 && git_tree_entry_type(te) == GIT_OBJECT_TREE) {
			if (git_tree_lookup(&sub, repo, git_tree_entry_id(te)) < 0)
				rc = git_fail(e, "cannot read a ledger directory");
			else
				rc = walk(repo, sub, depth - 1, kind, l, e);
			git_tree_free(sub);
		}
	}
	return rc;
}

/* The directory at path in root, walked; absent is empty. */
static int walk_dir(git_repository *repo, git_tree *root, const char *path, int depth,
		    enum rec_kind kind, struct ledger *l, struct cf_err *e)
{
	git_tree_entry *te = NULL;
	git_tree *t = NULL;
	int r = git_tree_entry_bypath(&te, root, path), rc = 0;
	if (r == GIT_ENOTFOUND)
		return 0;
	if (r < 0 || git_tree_entry_type(te) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&t, repo, git_tree_entry_id(te)) < 0)
		rc = git_fail(e, "cannot read a ledger directory");
	else
		rc = walk(repo, t, depth, kind, l, e);
	git_tree_free(t);
	git_tree_entry_free(te);
	return rc;
}

/* Old layout first, then summaries, then v2: the later read wins (see repo_ledger.h). */
static int read_tree(git_repository *repo, git_tree *root, struct ledger *l, struct cf_err *e)
{
	static const struct {
		const char *dir;
		int depth;
		enum rec_kind kind;
	} dirs[] = {
	    {REPO_LEDGER_OLD_PURGES, 1, KIND_PURGE},
	    {REPO_LEDGER_V2_SUMMARIES, 2, KIND_SUMMARY},
	    {REPO_LEDGER_V2_PURGES, 3, KIND_PURGE},
	    {REPO_LEDGER_OLD_ENDPOINTS, 0, KIND_ENDPOINT},
	    {REPO_LEDGER_V2_ENDPOINTS, 2, KIND_ENDPOINT},
	};
	int rc = 0;
	for (size_t i = 0; i < CF_ARRAY_LEN(dirs) && rc == 0 && root; i++)
		rc = walk_dir(repo, root, dirs[i].dir, dirs[i].depth, dirs[i].kind, l, e);
	return rc;
}

int repo_ledger_read(struct repo_ledger *rl, struct ledger *out, struct cf_err *e)
{
	git_oid tip;
	bool have;
	git_tree *tree = NULL;
	ledger_init(out);
	int rc = tip_tree(rl, &tip, &have, &tree, e);
	if (rc == 0)
		rc = read_tree(rl->repo, tree, out, e);
	git_tree_free(tree);
	if (rc < 0)
		ledger_release(out);
	return rc;
}

/*
 * One manifest's records (and the endpoint record of that name): its directories in the old
 * layout, its summary and its v2 directory, in read_tree's order (the later read wins), so
 * `ledger show` reads a few paths, not the whole ledger.
 */
int repo_ledger_read_manifest(struct repo_ledger *rl, const char *id, struct ledger *out,
			      struct cf_err *e)
{
	git_oid tip;
	bool have;
	git_tree *root = NULL;
	git_tree_entry *te = NULL;
	struct ledger_endpoint ep;
	enum rec_where where;
	struct sb path;
	sb_init(&path, 0);
	ledger_init(out);
	int rc = tip_tree(rl, &tip, &have, &root, e);
	if (rc == 0 && root) {
		sb_adds(&path, REPO_LEDGER_OLD_PURGES "/");
		ledger_path_component(id, &path);
		rc = walk_dir(rl->repo, root, path.buf, 0, KIND_PURGE, out, e);
	}
	if (rc == 0 && root) {
		sb_reset(&path);
		purge_path_of(id, "", REC_SUMMARY, &path);
		int r = git_tree_entry_bypath(&te, root, path.buf);
		if (r == 0 && git_tree_entry_type(te) == GIT_OBJECT_BLOB)
			rc = adopt_blob(rl->repo, te, KIND_SUMMARY, out, e);
		else if (r < 0 && r != GIT_ENOTFOUND)
			rc = git_fail(e, "cannot read the ledger tree");
	}
	if (rc == 0 && root) {
		sb_reset(&path);
		sb_adds(&path, REPO_LEDGER_V2_PURGES "/");
		shard(id, &path);
		ledger_path_component(id, &path);
		rc = walk_dir(rl->repo, root, path.buf, 0, KIND_PURGE, out, e);
	}
	if (rc == 0 && root && (rc = endpoint_in(rl->repo, root, id, &ep, &where, e)) == 1) {
		ledger_adopt_endpoint(out, &ep);
		rc = 0;
	}
	git_tree_entry_free(te);
	git_tree_free(root);
	sb_release(&path);
	if (rc < 0)
		ledger_release(out);
	return rc;
}

int repo_ledger_staging(struct repo_ledger *rl, const char *name, struct ledger_endpoint *out,
			struct cf_err *e)
{
	git_oid tip;
	bool have;
	git_tree *tree = NULL;
	git_blob *blob = NULL;
	const char *buf = NULL;
	size_t len = 0;
	struct sb path;
	memset(out, 0, sizeof(*out));
	int rc = tip_tree(rl, &tip, &have, &tree, e);
	sb_init(&path, 0);
	endpoint_path_of(name, REC_STAGING, &path);
	if (rc == 0 && tree)
		rc = blob_at(rl->repo, tree, path.buf, &blob, &buf, &len, e);
	if (rc == 1 && ledger_endpoint_decode(buf, len, out, e) < 0) {
		err_prefix(e, "ledger record '%s'", path.buf);
		rc = CF_EINVAL;
	}
	git_blob_free(blob);
	git_tree_free(tree);
	sb_release(&path);
	return rc;
}

/* ---- reading on demand ---- */

/*
 * A lookup by path parses every tree on it, and libgit2 keeps no tree over 4 KiB in its
 * cache: v2/endpoints and its <h1> directories (256 entries each from a few thousand
 * records on) were inflated and parsed again for every endpoint, most of drift's ledger
 * cost. The source holds them once read, so an endpoint lookup parses only its small <h2>
 * directory.
 */
#define LSRC_FANOUT 256

struct lsrc {
	git_repository *repo;
	git_tree *root; /* the tip's tree when attached; NULL: no ledger yet */
	bool ep_dir_read;
	git_tree *ep_dir;	      /* v2/endpoints; NULL: none */
	git_tree *ep_h1[LSRC_FANOUT]; /* its <h1> directories read so far */
	bool ep_h1_read[LSRC_FANOUT];
};

static int lsrc_purge(void *ctx, const char *id, const char *ep, struct ledger_purge *out,
		      struct cf_err *e)
{
	struct lsrc *s = ctx;
	enum rec_where w;
	return purge_in(s->repo, s->root, id, ep, out, &w, e);
}

/* The subtree called name in t: 0 (*sub NULL when absent or not a directory) or an error. */
static int subtree(git_repository *repo, const git_tree *t, const char *name, git_tree **sub,
		   struct cf_err *e)
{
	const git_tree_entry *te = t ? git_tree_entry_byname(t, name) : NULL;
	*sub = NULL;
	if (!te || git_tree_entry_type(te) != GIT_OBJECT_TREE)
		return 0;
	if (git_tree_lookup(sub, repo, git_tree_entry_id(te)) < 0)
		return git_fail(e, "cannot read a ledger directory");
	return 0;
}

/* The <h1> directory of v2/endpoints for hash h (read once): 0 (*out NULL: none) or an error. */
static int lsrc_ep_h1(struct lsrc *s, uint32_t h, git_tree **out, struct cf_err *e)
{
	unsigned h1 = (unsigned)(h >> 24);
	char name[4];
	*out = NULL;
	if (!s->ep_dir_read) {
		git_tree_entry *te = NULL;
		int r = git_tree_entry_bypath(&te, s->root, REPO_LEDGER_V2_ENDPOINTS);
		if (r < 0 && r != GIT_ENOTFOUND)
			return git_fail(e, "cannot read the ledger tree");
		if (r == 0 && git_tree_entry_type(te) == GIT_OBJECT_TREE &&
		    git_tree_lookup(&s->ep_dir, s->repo, git_tree_entry_id(te)) < 0) {
			git_tree_entry_free(te);
			return git_fail(e, "cannot read a ledger directory");
		}
		git_tree_entry_free(te);
		s->ep_dir_read = true;
	}
	if (!s->ep_h1_read[h1]) {
		snprintf(name, sizeof(name), "%02x", h1);
		int rc = subtree(s->repo, s->ep_dir, name, &s->ep_h1[h1], e);
		if (rc < 0)
			return rc;
		s->ep_h1_read[h1] = true;
	}
	*out = s->ep_h1[h1];
	return 0;
}

/* The record at name's v2 path, through the held directories: 1 (*out filled), 0 or an error. */
static int lsrc_endpoint_v2(struct lsrc *s, const char *name, struct ledger_endpoint *out,
			    struct cf_err *e)
{
	uint32_t h = shard_hash(name);
	git_tree *h1 = NULL, *h2 = NULL;
	git_blob *blob = NULL;
	const char *buf;
	size_t len;
	char dir[4];
	struct sb file;
	int rc = lsrc_ep_h1(s, h, &h1, e);
	if (rc < 0 || !h1)
		return rc;
	snprintf(dir, sizeof(dir), "%02x", (unsigned)((h >> 16) & 0xff));
	if ((rc = subtree(s->repo, h1, dir, &h2, e)) < 0 || !h2)
		return rc;
	sb_init(&file, 0);
	ledger_path_component(name, &file);
	sb_adds(&file, ".json");
	const git_tree_entry *te = git_tree_entry_byname(h2, file.buf);
	if (te && git_tree_entry_type(te) != GIT_OBJECT_BLOB)
		rc = err_set(e, CF_EINVAL, "ledger: '%s' is not a file", file.buf);
	else if (te && (rc = blob_text(s->repo, git_tree_entry_id(te), &buf, &len, &blob, e)) == 0)
		rc = ledger_endpoint_decode(buf, len, out, e) < 0 ? CF_EINVAL : 1;
	if (rc < 0) {
		sb_reset(&file);
		endpoint_path_of(name, REC_V2, &file);
		err_prefix(e, "ledger record '%s'", file.buf);
	}
	git_blob_free(blob);
	git_tree_free(h2);
	sb_release(&file);
	return rc;
}

static int lsrc_endpoint(void *ctx, const char *name, struct ledger_endpoint *out, struct cf_err *e)
{
	struct lsrc *s = ctx;
	enum rec_where w;
	int rc = s->root ? lsrc_endpoint_v2(s, name, out, e) : 0;
	if (rc != 0)
		return rc;
	return endpoint_in_from(s->repo, s->root, name, true, out, &w, e);
}

static int lsrc_all(void *ctx, struct ledger *l, struct cf_err *e)
{
	struct lsrc *s = ctx;
	return read_tree(s->repo, s->root, l, e);
}

/* The records submitted in [since, until): the day directories it covers. A ledger with
 * records in the old layout has no such index: read whole. */
static int lsrc_window(void *ctx, int64_t since, int64_t until, struct ledger *l, struct cf_err *e)
{
	struct lsrc *s = ctx;
	if (!s->root)
		return 0;
	if (git_tree_entry_byname(s->root, REPO_LEDGER_OLD_PURGES) ||
	    until - since > (int64_t)REPO_LEDGER_WINDOW_DAYS_MAX * REPO_LEDGER_DAY_S)
		return read_tree(s->repo, s->root, l, e);
	struct sb dir;
	int rc = 0;
	sb_init(&dir, 0);
	int64_t first = since - (since % REPO_LEDGER_DAY_S + REPO_LEDGER_DAY_S) % REPO_LEDGER_DAY_S;
	for (int64_t t = first; t < until && rc == 0; t += REPO_LEDGER_DAY_S) {
		char day[REPO_LEDGER_DAY_LEN];
		day_text(t, day);
		sb_reset(&dir);
		sb_addf(&dir, REPO_LEDGER_V2_DAYS "/%s", day);
		rc = walk_dir(s->repo, s->root, dir.buf, 3, KIND_PURGE, l, e);
	}
	sb_release(&dir);
	return rc;
}

static void lsrc_release(void *ctx)
{
	struct lsrc *s = ctx;
	for (size_t i = 0; i < LSRC_FANOUT; i++)
		git_tree_free(s->ep_h1[i]);
	git_tree_free(s->ep_dir);
	git_tree_free(s->root);
	free(s);
}

int repo_ledger_attach(struct repo_ledger *rl, struct ledger *out, struct cf_err *e)
{
	git_oid tip;
	bool have;
	struct lsrc *s = xcalloc(1, sizeof(*s));
	ledger_init(out);
	s->repo = rl->repo;
	int rc = tip_tree(rl, &tip, &have, &s->root, e);
	if (rc < 0) {
		free(s);
		return rc;
	}
	struct ledger_source src = {s,	      lsrc_purge,   lsrc_endpoint,
				    lsrc_all, lsrc_release, lsrc_window};
	ledger_set_source(out, &src);
	return 0;
}

/* ---- writing ---- */

struct upserts {
	git_tree_update *v;
	char **paths;
	size_t n, cap, pcap;
};

static void add_update(struct upserts *u, char *path, git_tree_update_t action, const git_oid *id)
{
	xgrow(&u->v, &u->cap, u->n + 1, sizeof(*u->v));
	xgrow(&u->paths, &u->pcap, u->n + 1, sizeof(*u->paths));
	git_tree_update *up = &u->v[u->n];
	memset(up, 0, sizeof(*up));
	if (id)
		up->id = *id;
	up->action = action;
	up->filemode = GIT_FILEMODE_BLOB;
	up->path = path;
	u->paths[u->n++] = path;
}

static int add_blob(struct repo_ledger *rl, struct upserts *u, char *path, const struct sb *body,
		    struct cf_err *e)
{
	git_oid id;
	/*
	 * Into the in-memory backend directly: through the odb, each new object was first looked
	 * for in every backend and, not found, had the pack directory listed again (a readdir per
	 * record, growing with the ledger's packs). A record already stored elsewhere is packed
	 * again either way (pack_commit inserts it).
	 */
	int rc = rl->mem ? git_odb_hash(&id, body->buf, body->len, GIT_OBJECT_BLOB)
			 : git_blob_create_from_buffer(&id, rl->repo, body->buf, body->len);
	if (rc == 0 && rl->mem)
		rc = rl->mem->write(rl->mem, &id, body->buf, body->len, GIT_OBJECT_BLOB);
	if (rc < 0) {
		free(path);
		return git_fail(e, "cannot write a ledger record");
	}
	add_update(u, path, GIT_TREE_UPDATE_UPSERT, &id);
	return 0;
}

/* Removes the record's old-layout path: it moves to its v2 path in this commit. */
static void drop_old(struct upserts *u, enum rec_where where, const struct sb *old_path)
{
	if (where == REC_OLD)
		add_update(u, xstrdup(old_path->buf), GIT_TREE_UPDATE_REMOVE, NULL);
}

/* Removes path when base has it. */
static void remove_if_there(git_tree *base, const char *path, struct upserts *u)
{
	git_tree_entry *te = NULL;
	if (base && git_tree_entry_bypath(&te, base, path) == 0)
		add_update(u, xstrdup(path), GIT_TREE_UPDATE_REMOVE, NULL);
	git_tree_entry_free(te);
}

static int upsert_purge(struct repo_ledger *rl, git_tree *base, const struct ledger_purge *p,
			struct upserts *u, struct sb *path, struct sb *body, struct cf_err *e)
{
	struct ledger_purge old;
	enum rec_where where = REC_NONE;
	struct cf_err ignored;
	int64_t old_day = -1; /* submitted_at of the record at the tip, when it has one */
	/* an unreadable record at the tip is replaced, as before the v2 layout */
	if (base && purge_in(rl->repo, base, p->id, p->endpoint, &old, &where, &ignored) == 1) {
		bool keep = p->status == LEDGER_SUBMITTED && ledger_status_final(old.status);
		old_day = old.submitted_at ? old.submitted_at : -1;
		ledger_purge_release(&old);
		if (keep) /* a concurrent apply finished it */
			return 0;
	}
	sb_reset(path);
	purge_path_of(p->id, p->endpoint, REC_OLD, path);
	drop_old(u, where, path);
	if (old_day >= 0 && (!p->submitted_at ||
			     old_day / REPO_LEDGER_DAY_S != p->submitted_at / REPO_LEDGER_DAY_S)) {
		sb_reset(path);
		day_path_of(p->id, p->endpoint, old_day, path);
		remove_if_there(base, path->buf, u);
	}
	sb_reset(path);
	sb_reset(body);
	purge_path_of(p->id, p->endpoint, REC_V2, path);
	if (ledger_purge_encode(p, body) < 0)
		return err_set(e, CF_ELIMIT, "ledger record for '%s' is too large", p->id);
	int rc = add_blob(rl, u, xstrdup(path->buf), body, e);
	if (rc == 0 && p->submitted_at) {
		git_oid id = u->v[u->n - 1].id;
		sb_reset(path);
		day_path_of(p->id, p->endpoint, p->submitted_at, path);
		add_update(u, xstrdup(path->buf), GIT_TREE_UPDATE_UPSERT, &id);
	}
	return rc;
}

static int upsert_endpoint(struct repo_ledger *rl, git_tree *base, const struct ledger_endpoint *ep,
			   struct upserts *u, struct sb *path, struct sb *body, struct cf_err *e)
{
	git_tree_entry *te = NULL;
	if (ep->staging) {
		sb_reset(path);
		sb_reset(body);
		endpoint_path_of(ep->name, REC_STAGING, path);
		if (ledger_endpoint_encode(ep, body) < 0)
			return err_set(e, CF_ELIMIT, "staging record for '%s' is too large",
				       ep->name);
		return add_blob(rl, u, xstrdup(path->buf), body, e);
	}
	/*
	 * A record only at its old path moves to the v2 path. Whether it is there is all that
	 * matters: the records themselves are not read (a fleet-wide commit decoded every
	 * endpoint's previous record for nothing).
	 */
	sb_reset(path);
	endpoint_path_of(ep->name, REC_OLD, path);
	if (base && git_tree_entry_byname(base, REPO_LEDGER_OLD_ENDPOINTS) &&
	    git_tree_entry_bypath(&te, base, path->buf) == 0) {
		git_tree_entry_free(te);
		te = NULL;
		sb_reset(body);
		endpoint_path_of(ep->name, REC_V2, body);
		bool v2 = git_tree_entry_bypath(&te, base, body->buf) == 0;
		git_tree_entry_free(te);
		drop_old(u, v2 ? REC_V2 : REC_OLD, path);
	}
	sb_reset(path);
	sb_reset(body);
	endpoint_path_of(ep->name, REC_V2, path);
	if (ledger_endpoint_encode(ep, body) < 0)
		return err_set(e, CF_ELIMIT, "ledger record for '%s' is too large", ep->name);
	return add_blob(rl, u, xstrdup(path->buf), body, e);
}

struct record_job {
	const struct ledger_purge *p;
	size_t np;
	const struct ledger_endpoint *eps;
	size_t nep;
};

/* Builds the updates of one commit against base (the tip's tree; NULL: no ledger yet). */
typedef int (*build_fn)(struct repo_ledger *rl, git_tree *base, void *arg, struct upserts *u,
			struct cf_err *e);

static int build_record(struct repo_ledger *rl, git_tree *base, void *arg, struct upserts *u,
			struct cf_err *e)
{
	const struct record_job *j = arg;
	struct sb path, body;
	int rc = 0;
	sb_init(&path, 0);
	sb_init(&body, LEDGER_RECORD_MAX);
	for (size_t i = 0; i < j->np && rc == 0; i++)
		rc = upsert_purge(rl, base, &j->p[i], u, &path, &body, e);
	for (size_t i = 0; i < j->nep && rc == 0; i++)
		rc = upsert_endpoint(rl, base, &j->eps[i], u, &path, &body, e);
	sb_release(&path);
	sb_release(&body);
	return rc;
}

/* Paths in depth-first order: '/' sorts first, so "a/x" comes before "a-b" as it follows "a". */
static int by_path(const void *a, const void *b)
{
	const unsigned char *x = *(const unsigned char *const *)a;
	const unsigned char *y = *(const unsigned char *const *)b;
	for (; *x && *x == *y; x++, y++)
		;
	int cx = *x == '/' ? 1 : *x ? *x + 1 : 0, cy = *y == '/' ? 1 : *y ? *y + 1 : 0;
	return cx - cy;
}

/*
 * Adds the trees of the directories the updates' paths run through in tree (the new ones:
 * each holds a changed entry). Each directory once, each read from its parent: looked up
 * by path per update, a fleet-wide commit read the big upper directories (past libgit2's
 * 4 KiB tree cache) again for every record. Sorted, a directory follows its parent, so a
 * stack of the open directories holds every parent needed.
 */
#define PACK_DIR_DEPTH_MAX 16

static int insert_path_trees(git_repository *repo, git_packbuilder *pb, git_tree *tree,
			     const struct upserts *u)
{
	size_t n = 0, cap = 0;
	char **dirs = NULL;
	for (size_t i = 0; i < u->n; i++)
		for (const char *slash = strchr(u->v[i].path, '/'); slash;
		     slash = strchr(slash + 1, '/')) {
			xgrow(&dirs, &cap, n + 1, sizeof(*dirs));
			dirs[n++] = xstrndup(u->v[i].path, (size_t)(slash - u->v[i].path));
		}
	if (n)
		qsort(dirs, n, sizeof(*dirs), by_path);
	git_tree *open[PACK_DIR_DEPTH_MAX + 1] = {tree};
	const char *open_path[PACK_DIR_DEPTH_MAX + 1] = {""};
	size_t depth = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i && strcmp(dirs[i], dirs[i - 1]) == 0)
			continue;
		const char *name = strrchr(dirs[i], '/');
		size_t plen = name ? (size_t)(name - dirs[i]) : 0;
		name = name ? name + 1 : dirs[i];
		/* close the directories that are not this one's parent */
		while (depth > 0 && (strlen(open_path[depth]) != plen ||
				     strncmp(open_path[depth], dirs[i], plen) != 0)) {
			git_tree_free(open[depth]);
			depth--;
		}
		/* a parent that is not a directory (any more) or too deep: by path */
		git_tree_entry *owned = NULL;
		const git_tree_entry *te = NULL;
		if (depth == 0 && plen > 0)
			te = git_tree_entry_bypath(&owned, tree, dirs[i]) == 0 ? owned : NULL;
		else
			te = git_tree_entry_byname(open[depth], name);
		git_tree *sub = NULL;
		if (te && git_tree_entry_type(te) == GIT_OBJECT_TREE) { /* else removed */
			rc = git_packbuilder_insert(pb, git_tree_entry_id(te), NULL);
			if (rc == 0 && depth < PACK_DIR_DEPTH_MAX &&
			    git_tree_lookup(&sub, repo, git_tree_entry_id(te)) == 0) {
				open[++depth] = sub;
				open_path[depth] = dirs[i];
			}
		}
		git_tree_entry_free(owned);
	}
	for (; depth > 0; depth--)
		git_tree_free(open[depth]);
	for (size_t i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
	return rc;
}

/*
 * Writes this commit's new objects (from the in-memory backend) as one pack: the commit, the
 * records and the trees on their paths. Not git_mempack_dump: it adds the commit's whole
 * tree, so every commit re-packed the ledger (8 s and 23 MiB at 100,000 records).
 */
static int pack_commit(struct repo_ledger *rl, const git_oid *commit, git_tree *tree,
		       const struct upserts *u, struct cf_err *e)
{
	git_packbuilder *pb = NULL;
	git_buf pack = {0};
	git_odb_writepack *wp = NULL;
	git_indexer_progress st;
	int rc = 0;
	memset(&st, 0, sizeof(st));
	if (git_packbuilder_new(&pb, rl->repo) < 0)
		return git_fail(e, "cannot write the ledger objects");
	git_packbuilder_set_threads(pb, 1);
	rc = git_packbuilder_insert(pb, commit, NULL);
	if (rc == 0)
		rc = git_packbuilder_insert(pb, git_tree_id(tree), NULL);
	if (rc == 0)
		rc = insert_path_trees(rl->repo, pb, tree, u);
	for (size_t i = 0; i < u->n && rc == 0; i++)
		if (u->v[i].action == GIT_TREE_UPDATE_UPSERT)
			rc = git_packbuilder_insert(pb, &u->v[i].id, NULL);
	if (rc < 0 || git_packbuilder_write_buf(&pack, pb) < 0 ||
	    git_odb_write_pack(&wp, rl->own, NULL, NULL) < 0 ||
	    wp->append(wp, pack.ptr, pack.size, &st) < 0 || wp->commit(wp, &st) < 0)
		rc = git_fail(e, "cannot write the ledger objects");
	if (wp)
		wp->free(wp);
	git_buf_dispose(&pack);
	git_packbuilder_free(pb);
	return rc;
}

static void upserts_clear(struct upserts *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->paths[i]);
	u->n = 0;
}

static void upserts_free(struct upserts *u)
{
	upserts_clear(u);
	free(u->v);
	free(u->paths);
}

/* Removes refs/cacheform/ledger.lock when it is older than REPO_LEDGER_STALE_LOCK_S. */
static void clear_stale_lock(struct repo_ledger *rl)
{
	struct sb path;
	struct stat st;
	sb_init(&path, 0);
	sb_addf(&path, "%s%s.lock", git_repository_commondir(rl->repo), REPO_LEDGER_REF);
	if (stat(path.buf, &st) == 0 && time(NULL) - st.st_mtime > REPO_LEDGER_STALE_LOCK_S) {
		fprintf(stderr, "warning: removing stale ledger lock '%s'\n", path.buf);
		unlink(path.buf);
	}
	sb_release(&path);
}

/* Every round lost: to git's ref lock held by another program (named), or to writers. */
static int races_lost(struct repo_ledger *rl, struct cf_err *e)
{
	struct sb path;
	struct stat st;
	sb_init(&path, 0);
	sb_addf(&path, "%s%s.lock", git_repository_commondir(rl->repo), REPO_LEDGER_REF);
	int rc = stat(path.buf, &st) == 0
		     ? err_set(e, CF_ECONFLICT,
			       "ledger locked by a program other than cacheform: '%s' exists "
			       "(%ld s old)",
			       path.buf, (long)(time(NULL) - st.st_mtime))
		     : err_set(e, CF_ECONFLICT, "ledger: lost %d races to update " REPO_LEDGER_REF,
			       REPO_LEDGER_CAS_TRIES);
	sb_release(&path);
	return rc;
}

static bool lost_race(int r)
{
	return r == GIT_EMODIFIED || r == GIT_EEXISTS || r == GIT_ELOCKED;
}

/* One compare-and-swap round. Returns 0, 1 when the race was lost, or a negative code. */
static int cas_once(struct repo_ledger *rl, build_fn build, void *arg, const char *message,
		    struct upserts *u, const git_oid *want_tip, struct cf_err *e)
{
	git_oid tip, tree_id, commit_id;
	bool have;
	git_tree *base = NULL, *tree = NULL;
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	/* new objects go to mem (pack_commit packs them into own before the ref moves) */
	if (rl->writes && git_repository_set_odb(rl->repo, rl->writes) < 0)
		return git_fail(e, "cannot write the ledger objects");
	int rc = tip_tree(rl, &tip, &have, &base, e);
	if (rc < 0)
		goto out;
	if (want_tip && (have ? !git_oid_equal(&tip, want_tip) : !git_oid_is_zero(want_tip))) {
		rc = 1; /* moved since the caller looked: look again */
		goto out;
	}
	rc = build(rl, base, arg, u, e);
	if (rc < 0 || u->n == 0)
		goto out;
	if (git_tree_create_updated(&tree_id, rl->repo, base, u->n, u->v) < 0 ||
	    git_tree_lookup(&tree, rl->repo, &tree_id) < 0 ||
	    git_signature_now(&sig, REPO_LEDGER_SIG_NAME, REPO_LEDGER_SIG_EMAIL) < 0 ||
	    (have && git_commit_lookup(&parent, rl->repo, &tip) < 0)) {
		rc = git_fail(e, "cannot build the ledger commit");
		goto out;
	}
	const git_commit *parents[1] = {parent};
	if (git_commit_create(&commit_id, rl->repo, NULL, sig, sig, NULL, message, tree,
			      have ? 1 : 0, parents) < 0) {
		rc = git_fail(e, "cannot write the ledger commit");
		goto out;
	}
	/* the objects are on disk before the ref can point at them */
	if (rl->mem && (rc = pack_commit(rl, &commit_id, tree, u, e)) < 0)
		goto out;
	/*
	 * The expected old value is checked under the ref's lock. A zero id means "must not
	 * exist yet": git_reference_create(force=0) checks existence before locking, so two
	 * first writers could both succeed and one record would be lost.
	 */
	if (!have)
		memset(&tip, 0, sizeof(tip));
	int r = git_reference_create_matching(&ref, rl->repo, REPO_LEDGER_REF, &commit_id, 1, &tip,
					      message);
	if (lost_race(r))
		rc = 1;
	else if (r < 0)
		rc = git_fail(e, "cannot update " REPO_LEDGER_REF);
out:
	if (rl->mem)
		git_mempack_reset(rl->mem); /* after a lost race too: the next round rebuilds */
	if (rl->writes)
		(void)git_repository_set_odb(rl->repo, rl->own);
	git_reference_free(ref);
	git_signature_free(sig);
	git_commit_free(parent);
	git_tree_free(tree);
	git_tree_free(base);
	upserts_clear(u);
	return rc;
}

/* Compare-and-swap rounds until one wins: 0, CF_ECONFLICT or an error. */
static int cas_loop(struct repo_ledger *rl, build_fn build, void *arg, const char *message,
		    struct cf_err *e)
{
	struct upserts u = {0};
	struct repo_lock lk;
	int rc = repo_lock_take(repo_ledger_gitdir(rl), REPO_LOCK_WAIT_MS, &lk, e);
	if (rc < 0)
		return rc;
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	rc = 1;
	for (int attempt = 0; attempt < REPO_LEDGER_CAS_TRIES && rc == 1; attempt++) {
		rc = cas_once(rl, build, arg, message, &u, NULL, e);
		if (rc == 1)
			usleep((useconds_t)(rand_r(&seed) % REPO_LEDGER_BACKOFF_MAX_US));
		if (rc == 1 && attempt % 20 == 19)
			clear_stale_lock(rl);
	}
	if (rc == 1)
		rc = races_lost(rl, e);
	repo_lock_release(&lk);
	upserts_free(&u);
	return rc;
}

int repo_ledger_record(struct repo_ledger *rl, const struct ledger_purge *p, size_t np,
		       const struct ledger_endpoint *eps, size_t nep, const char *message,
		       struct cf_err *e)
{
	struct record_job j = {p, np, eps, nep};
	return cas_loop(rl, build_record, &j, message, e);
}

/* ---- compaction ---- */

struct compact_job {
	int64_t before;
	size_t records, manifests;
};

static bool compactable(const struct ledger_purge *p, int64_t before)
{
	int64_t t = p->finished_at ? p->finished_at : p->submitted_at;
	return !p->compacted && (p->status == LEDGER_SUCCEEDED || p->status == LEDGER_MARKED) &&
	       t < before;
}

static int by_id(const void *a, const void *b)
{
	const struct ledger_purge *x = *(const struct ledger_purge *const *)a;
	const struct ledger_purge *y = *(const struct ledger_purge *const *)b;
	int c = strcmp(x->id, y->id);
	return c ? c : strcmp(x->endpoint, y->endpoint);
}

/* Removes the record's file, wherever it is (v2 or old path). */
static void remove_record(git_tree *base, const struct ledger_purge *p, struct upserts *u,
			  struct sb *path)
{
	static const enum rec_where at[] = {REC_V2, REC_OLD};
	for (size_t i = 0; i < CF_ARRAY_LEN(at); i++) {
		git_tree_entry *te = NULL;
		sb_reset(path);
		purge_path_of(p->id, p->endpoint, at[i], path);
		if (git_tree_entry_bypath(&te, base, path->buf) == 0)
			add_update(u, xstrdup(path->buf), GIT_TREE_UPDATE_REMOVE, NULL);
		git_tree_entry_free(te);
	}
}

/*
 * Removes the day directories before `before`'s day, except yesterday's and today's: a quota
 * window is read from them (lsrc_window); older days' sums come from the summaries.
 */
static void drop_days(git_tree *base, int64_t before, struct upserts *u)
{
	git_tree_entry *te = NULL;
	git_tree *days = NULL;
	char cut[REPO_LEDGER_DAY_LEN], keep[REPO_LEDGER_DAY_LEN];
	day_text(before, cut);
	day_text((int64_t)time(NULL) - REPO_LEDGER_DAY_S, keep);
	if (strcmp(keep, cut) < 0)
		memcpy(cut, keep, sizeof(cut));
	if (git_tree_entry_bypath(&te, base, REPO_LEDGER_V2_DAYS) == 0 &&
	    git_tree_entry_type(te) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&days, git_tree_owner(base), git_tree_entry_id(te)) == 0) {
		for (size_t i = 0; i < git_tree_entrycount(days); i++) {
			const char *name = git_tree_entry_name(git_tree_entry_byindex(days, i));
			struct sb path;
			if (strcmp(name, cut) >= 0)
				continue;
			sb_init(&path, 0);
			sb_addf(&path, REPO_LEDGER_V2_DAYS "/%s", name);
			add_update(u, sb_detach(&path), GIT_TREE_UPDATE_REMOVE, NULL);
		}
	}
	git_tree_free(days);
	git_tree_entry_free(te);
}

/*
 * One summary per manifest with a record to compact: its earlier summary's entries (those a
 * newer record did not replace) and the records compacted now, sorted by endpoint.
 */
static int build_compact(struct repo_ledger *rl, git_tree *base, void *arg, struct upserts *u,
			 struct cf_err *e)
{
	struct compact_job *j = arg;
	struct ledger l;
	struct sb path, body;
	int rc = 0;
	j->records = j->manifests = 0;
	ledger_init(&l);
	if (!base || (rc = read_tree(rl->repo, base, &l, e)) < 0) {
		ledger_release(&l);
		return base ? rc : 0;
	}
	drop_days(base, j->before, u);
	const struct ledger_purge **v = xcalloc(l.npurges + 1, sizeof(*v));
	struct ledger_purge *group = xcalloc(l.npurges + 1, sizeof(*group));
	for (size_t i = 0; i < l.npurges; i++)
		v[i] = &l.purges[i];
	qsort(v, l.npurges, sizeof(*v), by_id);
	sb_init(&path, 0);
	sb_init(&body, 0);
	for (size_t i = 0, k; i < l.npurges && rc == 0; i = k) {
		size_t ng = 0, fresh = 0;
		for (k = i; k < l.npurges && strcmp(v[k]->id, v[i]->id) == 0; k++) {
			if (compactable(v[k], j->before)) {
				remove_record(base, v[k], u, &path);
				fresh++;
			} else if (!v[k]->compacted) {
				continue;
			}
			group[ng++] = *v[k]; /* shallow: borrowed for encoding */
		}
		if (!fresh)
			continue;
		sb_reset(&path);
		sb_reset(&body);
		purge_path_of(v[i]->id, "", REC_SUMMARY, &path);
		if (ledger_summary_encode(group, ng, (int64_t)time(NULL), &body) < 0)
			rc = err_set(e, CF_ELIMIT, "ledger summary of '%s' is too large", v[i]->id);
		else
			rc = add_blob(rl, u, xstrdup(path.buf), &body, e);
		j->records += fresh;
		j->manifests++;
	}
	sb_release(&path);
	sb_release(&body);
	free(group);
	free(v);
	ledger_release(&l);
	return rc;
}

int repo_ledger_compact(struct repo_ledger *rl, int64_t before, const char *message,
			size_t *records, size_t *manifests, struct cf_err *e)
{
	struct compact_job j = {before, 0, 0};
	int rc = cas_loop(rl, build_compact, &j, message, e);
	*records = rc == 0 ? j.records : 0;
	*manifests = rc == 0 ? j.manifests : 0;
	return rc;
}

/* ---- claims ---- */

/* The purge record of p's key in tree, decoded into *out; false when absent or unreadable. */
static bool tip_record(git_repository *repo, git_tree *tree, const struct ledger_purge *p,
		       struct ledger_purge *out)
{
	struct cf_err e;
	enum rec_where w;
	return tree && purge_in(repo, tree, p->id, p->endpoint, out, &w, &e) == 1;
}

/* True when two records are the same state of a purge (NULL: absent). */
static bool same_state(const struct ledger_purge *a, const struct ledger_purge *b)
{
	if (!a || !b)
		return !a && !b;
	return a->status == b->status && a->submitted_at == b->submitted_at &&
	       a->finished_at == b->finished_at && a->claimed_at == b->claimed_at &&
	       a->claims == b->claims && a->ntasks == b->ntasks &&
	       strcmp(a->claim_by ? a->claim_by : "", b->claim_by ? b->claim_by : "") == 0;
}

/* Which claims still find the record they expect at the tip (one read of it). */
static int claims_decide(struct repo_ledger *rl, const struct ledger_purge *claims,
			 const struct ledger_purge *const *expected, size_t n, bool *won,
			 git_oid *tip, struct cf_err *e)
{
	bool have;
	git_tree *base = NULL;
	int rc = tip_tree(rl, tip, &have, &base, e);
	if (rc < 0)
		return rc;
	if (!have)
		memset(tip, 0, sizeof(*tip));
	for (size_t i = 0; i < n; i++) {
		struct ledger_purge now;
		bool there = tip_record(rl->repo, base, &claims[i], &now);
		won[i] = same_state(there ? &now : NULL, expected[i]);
		if (there)
			ledger_purge_release(&now);
	}
	git_tree_free(base);
	return 0;
}

int repo_ledger_claim(struct repo_ledger *rl, const struct ledger_purge *claims,
		      const struct ledger_purge *const *expected, size_t n, bool *won,
		      const char *message, struct cf_err *e)
{
	struct upserts u = {0};
	struct repo_lock lk;
	int rc = repo_lock_take(repo_ledger_gitdir(rl), REPO_LOCK_WAIT_MS, &lk, e);
	if (rc < 0)
		return rc;
	struct ledger_purge *take = xcalloc(n + 1, sizeof(*take));
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	rc = 1;
	for (int attempt = 0; attempt < REPO_LEDGER_CAS_TRIES && rc == 1; attempt++) {
		git_oid tip;
		size_t nt = 0;
		if ((rc = claims_decide(rl, claims, expected, n, won, &tip, e)) < 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (won[i])
				take[nt++] = claims[i]; /* shallow: borrowed for encoding */
		struct record_job j = {take, nt, NULL, 0};
		rc = nt ? cas_once(rl, build_record, &j, message, &u, &tip, e) : 0;
		if (rc == 1)
			usleep((useconds_t)(rand_r(&seed) % REPO_LEDGER_BACKOFF_MAX_US));
		if (rc == 1 && attempt % 20 == 19)
			clear_stale_lock(rl);
	}
	if (rc == 1)
		rc = races_lost(rl, e);
	repo_lock_release(&lk);
	free(take);
	upserts_free(&u);
	return rc;
}
