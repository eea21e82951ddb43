#include "reconcile/base/compat.h"
#include "reconcile/repo_ledger.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>

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
 * a second. The in-memory backend sits above the repository's own so it takes the writes.
 */
#define REPO_LEDGER_MEMPACK_PRIORITY 999

struct repo_ledger {
	git_repository *repo;
	git_odb_backend *mem; /* owned by the repository's odb; NULL: loose objects */
};

static int git_fail(struct cf_err *e, const char *what)
{
	const git_error *ge = git_error_last();
	return err_set(e, CF_EIO, "ledger: %s: %s", what,
		       ge && ge->message ? ge->message : "unknown error");
}

/* Returns the in-memory backend added to repo's odb, or NULL (objects then go loose). */
static git_odb_backend *mempack_attach(git_repository *repo)
{
	git_odb *odb = NULL;
	git_odb_backend *mem = NULL;
	if (git_repository_odb(&odb, repo) < 0)
		return NULL;
	if (git_mempack_new(&mem) == 0 &&
	    git_odb_add_backend(odb, mem, REPO_LEDGER_MEMPACK_PRIORITY) < 0) {
		mem->free(mem);
		mem = NULL;
	}
	git_odb_free(odb);
	return mem;
}

/* Writes the objects collected in memory as one pack in the repository. */
static int mempack_flush(struct repo_ledger *rl, struct cf_err *e)
{
	git_buf pack = {0};
	git_odb *odb = NULL;
	git_odb_writepack *wp = NULL;
	git_indexer_progress st;
	int rc = 0;
	memset(&st, 0, sizeof(st));
	if (git_mempack_dump(&pack, rl->repo, rl->mem) < 0 ||
	    git_repository_odb(&odb, rl->repo) < 0 ||
	    git_odb_write_pack(&wp, odb, NULL, NULL) < 0 ||
	    wp->append(wp, pack.ptr, pack.size, &st) < 0 || wp->commit(wp, &st) < 0)
		rc = git_fail(e, "cannot write the ledger objects");
	if (wp)
		wp->free(wp);
	git_odb_free(odb);
	git_buf_dispose(&pack);
	return rc;
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
	(*out)->mem = mempack_attach(repo);
	return 0;
}

void repo_ledger_close(struct repo_ledger *rl)
{
	if (!rl)
		return;
	git_repository_free(rl->repo);
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

static int read_purge_dir(struct repo_ledger *rl, git_tree *dir, struct ledger *out,
			  struct cf_err *e)
{
	for (size_t i = 0; i < git_tree_entrycount(dir); i++) {
		const git_tree_entry *te = git_tree_entry_byindex(dir, i);
		if (git_tree_entry_type(te) != GIT_OBJECT_BLOB)
			continue;
		git_blob *blob = NULL;
		const char *buf;
		size_t len;
		struct ledger_purge p;
		int rc = blob_text(rl->repo, git_tree_entry_id(te), &buf, &len, &blob, e);
		if (rc == 0)
			rc = ledger_purge_decode(buf, len, &p, e);
		git_blob_free(blob);
		if (rc < 0) {
			err_prefix(e, "ledger record '%s'", git_tree_entry_name(te));
			return rc;
		}
		if (out->npurges >= REPO_LEDGER_MAX_RECORDS) {
			ledger_purge_release(&p);
			return err_set(e, CF_ELIMIT, "ledger holds more than %d records",
				       REPO_LEDGER_MAX_RECORDS);
		}
		xgrow(&out->purges, &out->pcap, out->npurges + 1, sizeof(*out->purges));
		out->purges[out->npurges++] = p;
	}
	return 0;
}

static int read_purges(struct repo_ledger *rl, git_tree *root, struct ledger *out, struct cf_err *e)
{
	const git_tree_entry *te = git_tree_entry_byname(root, "purges");
	git_tree *purges = NULL;
	if (!te)
		return 0;
	if (git_tree_lookup(&purges, rl->repo, git_tree_entry_id(te)) < 0)
		return git_fail(e, "cannot read purges/");
	int rc = 0;
	for (size_t i = 0; i < git_tree_entrycount(purges) && rc == 0; i++) {
		const git_tree_entry *d = git_tree_entry_byindex(purges, i);
		git_tree *dir = NULL;
		if (git_tree_entry_type(d) != GIT_OBJECT_TREE)
			continue;
		if (git_tree_lookup(&dir, rl->repo, git_tree_entry_id(d)) < 0)
			rc = git_fail(e, "cannot read a purge directory");
		else
			rc = read_purge_dir(rl, dir, out, e);
		git_tree_free(dir);
	}
	git_tree_free(purges);
	return rc;
}

static int read_endpoints(struct repo_ledger *rl, git_tree *root, struct ledger *out,
			  struct cf_err *e)
{
	const git_tree_entry *te = git_tree_entry_byname(root, "endpoints");
	git_tree *eps = NULL;
	if (!te)
		return 0;
	if (git_tree_lookup(&eps, rl->repo, git_tree_entry_id(te)) < 0)
		return git_fail(e, "cannot read endpoints/");
	int rc = 0;
	for (size_t i = 0; i < git_tree_entrycount(eps) && rc == 0; i++) {
		const git_tree_entry *f = git_tree_entry_byindex(eps, i);
		git_blob *blob = NULL;
		const char *buf;
		size_t len;
		struct ledger_endpoint ep;
		if (git_tree_entry_type(f) != GIT_OBJECT_BLOB)
			continue;
		rc = blob_text(rl->repo, git_tree_entry_id(f), &buf, &len, &blob, e);
		if (rc == 0)
			rc = ledger_endpoint_decode(buf, len, &ep, e);
		git_blob_free(blob);
		if (rc < 0) {
			err_prefix(e, "ledger record 'endpoints/%s'", git_tree_entry_name(f));
			break;
		}
		xgrow(&out->endpoints, &out->ecap, out->nendpoints + 1, sizeof(*out->endpoints));
		out->endpoints[out->nendpoints++] = ep;
	}
	git_tree_free(eps);
	return rc;
}

int repo_ledger_read(struct repo_ledger *rl, struct ledger *out, struct cf_err *e)
{
	git_oid tip;
	bool have;
	git_tree *tree = NULL;
	ledger_init(out);
	int rc = tip_tree(rl, &tip, &have, &tree, e);
	if (rc == 0 && tree)
		rc = read_purges(rl, tree, out, e);
	if (rc == 0 && tree)
		rc = read_endpoints(rl, tree, out, e);
	git_tree_free(tree);
	if (rc < 0)
		ledger_release(out);
	return rc;
}

static void purge_path(const struct ledger_purge *p, struct sb *path)
{
	sb_adds(path, "purges/");
	ledger_path_component(p->id, path);
	sb_addc(path, '/');
	ledger_path_component(p->endpoint, path);
	sb_adds(path, ".json");
}

static void endpoint_path(const struct ledger_endpoint *ep, struct sb *path)
{
	sb_adds(path, "endpoints/");
	ledger_path_component(ep->name, path);
	sb_adds(path, ".json");
}

/* True when the tip already holds a final record that a "submitted" one must not replace. */
static bool keeps_final(git_repository *repo, git_tree *base, const char *path,
			const struct ledger_purge *p)
{
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	bool keep = false;
	if (p->status != LEDGER_SUBMITTED || !base || git_tree_entry_bypath(&te, base, path) < 0)
		return false;
	struct ledger_purge old;
	struct cf_err e;
	const char *buf;
	size_t len;
	if (blob_text(repo, git_tree_entry_id(te), &buf, &len, &blob, &e) == 0 &&
	    ledger_purge_decode(buf, len, &old, &e) == 0) {
		keep = ledger_status_final(old.status);
		ledger_purge_release(&old);
	}
	git_blob_free(blob);
	git_tree_entry_free(te);
	return keep;
}

struct upserts {
	git_tree_update *v;
	char **paths;
	size_t n;
};

static int add_blob(git_repository *repo, struct upserts *u, char *path, const struct sb *body,
		    struct cf_err *e)
{
	git_tree_update *up = &u->v[u->n];
	memset(up, 0, sizeof(*up));
	if (git_blob_create_from_buffer(&up->id, repo, body->buf, body->len) < 0) {
		free(path);
		return git_fail(e, "cannot write a ledger record");
	}
	up->action = GIT_TREE_UPDATE_UPSERT;
	up->filemode = GIT_FILEMODE_BLOB;
	up->path = path;
	u->paths[u->n++] = path;
	return 0;
}

static int build_upserts(struct repo_ledger *rl, git_tree *base, const struct ledger_purge *p,
			 size_t np, const struct ledger_endpoint *eps, size_t nep,
			 struct upserts *u, struct cf_err *e)
{
	struct sb path, body;
	int rc = 0;
	sb_init(&path, 0);
	sb_init(&body, LEDGER_RECORD_MAX);
	for (size_t i = 0; i < np && rc == 0; i++) {
		sb_reset(&path);
		sb_reset(&body);
		purge_path(&p[i], &path);
		if (keeps_final(rl->repo, base, path.buf, &p[i]))
			continue;
		if (ledger_purge_encode(&p[i], &body) < 0)
			rc = err_set(e, CF_ELIMIT, "ledger record for '%s' is too large", p[i].id);
		else
			rc = add_blob(rl->repo, u, xstrdup(path.buf), &body, e);
	}
	for (size_t i = 0; i < nep && rc == 0; i++) {
		sb_reset(&path);
		sb_reset(&body);
		endpoint_path(&eps[i], &path);
		if (ledger_endpoint_encode(&eps[i], &body) < 0)
			rc = err_set(e, CF_ELIMIT, "ledger record for '%s' is too large",
				     eps[i].name);
		else
			rc = add_blob(rl->repo, u, xstrdup(path.buf), &body, e);
	}
	sb_release(&path);
	sb_release(&body);
	return rc;
}

static void upserts_clear(struct upserts *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->paths[i]);
	u->n = 0;
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
static int cas_once(struct repo_ledger *rl, const struct ledger_purge *p, size_t np,
		    const struct ledger_endpoint *eps, size_t nep, const char *message,
		    struct upserts *u, const git_oid *want_tip, struct cf_err *e)
{
	git_oid tip, tree_id, commit_id;
	bool have;
	git_tree *base = NULL, *tree = NULL;
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	int rc = tip_tree(rl, &tip, &have, &base, e);
	if (rc < 0)
		goto out;
	if (want_tip && (have ? !git_oid_equal(&tip, want_tip) : !git_oid_is_zero(want_tip))) {
		rc = 1; /* moved since the caller looked: look again */
		goto out;
	}
	rc = build_upserts(rl, base, p, np, eps, nep, u, e);
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
	if (rl->mem && (rc = mempack_flush(rl, e)) < 0)
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
	git_reference_free(ref);
	git_signature_free(sig);
	git_commit_free(parent);
	git_tree_free(tree);
	git_tree_free(base);
	upserts_clear(u);
	return rc;
}

int repo_ledger_record(struct repo_ledger *rl, const struct ledger_purge *p, size_t np,
		       const struct ledger_endpoint *eps, size_t nep, const char *message,
		       struct cf_err *e)
{
	struct upserts u = {0};
	struct repo_lock lk;
	int rc = repo_lock_take(repo_ledger_gitdir(rl), REPO_LOCK_WAIT_MS, &lk, e);
	if (rc < 0)
		return rc;
	u.v = xcalloc(np + nep + 1, sizeof(*u.v));
	u.paths = xcalloc(np + nep + 1, sizeof(*u.paths));
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	rc = 1;
	for (int attempt = 0; attempt < REPO_LEDGER_CAS_TRIES && rc == 1; attempt++) {
		rc = cas_once(rl, p, np, eps, nep, message, &u, NULL, e);
		if (rc == 1)
			usleep((useconds_t)(rand_r(&seed) % REPO_LEDGER_BACKOFF_MAX_US));
		if (rc == 1 && attempt % 20 == 19)
			clear_stale_lock(rl);
	}
	if (rc == 1)
		rc = races_lost(rl, e);
	repo_lock_release(&lk);
	free(u.v);
	free(u.paths);
	return rc;
}

/* ---- claims ---- */

/* The purge record at path in tree, decoded into *out; false when absent or unreadable. */
static bool tip_record(git_repository *repo, git_tree *tree, const char *path,
		       struct ledger_purge *out)
{
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	struct cf_err e;
	const char *buf;
	size_t len;
	bool ok = false;
	if (tree && git_tree_entry_bypath(&te, tree, path) == 0 &&
	    blob_text(repo, git_tree_entry_id(te), &buf, &len, &blob, &e) == 0)
		ok = ledger_purge_decode(buf, len, out, &e) == 0;
	git_blob_free(blob);
	git_tree_entry_free(te);
	return ok;
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
	struct sb path;
	int rc = tip_tree(rl, tip, &have, &base, e);
	if (rc < 0)
		return rc;
	if (!have)
		memset(tip, 0, sizeof(*tip));
	sb_init(&path, 0);
	for (size_t i = 0; i < n; i++) {
		struct ledger_purge now;
		sb_reset(&path);
		purge_path(&claims[i], &path);
		bool there = tip_record(rl->repo, base, path.buf, &now);
		won[i] = same_state(there ? &now : NULL, expected[i]);
		if (there)
			ledger_purge_release(&now);
	}
	sb_release(&path);
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
	u.v = xcalloc(n + 1, sizeof(*u.v));
	u.paths = xcalloc(n + 1, sizeof(*u.paths));
	for (int attempt = 0; attempt < REPO_LEDGER_CAS_TRIES && rc == 1; attempt++) {
		git_oid tip;
		size_t nt = 0;
		if ((rc = claims_decide(rl, claims, expected, n, won, &tip, e)) < 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (won[i])
				take[nt++] = claims[i]; /* shallow: borrowed for encoding */
		rc = nt ? cas_once(rl, take, nt, NULL, 0, message, &u, &tip, e) : 0;
		if (rc == 1)
			usleep((useconds_t)(rand_r(&seed) % REPO_LEDGER_BACKOFF_MAX_US));
		if (rc == 1 && attempt % 20 == 19)
			clear_stale_lock(rl);
	}
	if (rc == 1)
		rc = races_lost(rl, e);
	repo_lock_release(&lk);
	free(take);
	free(u.v);
	free(u.paths);
	return rc;
}
