#include "reconcile/base/compat.h"
#include "reconcile/repo_remote.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#include "reconcile/repo_lib.h" /* libgit2, loaded while used */

#include "reconcile/repo_lock.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define REPO_REMOTE_SIG_NAME	   "cacheform"
#define REPO_REMOTE_SIG_EMAIL	   "cacheform@localhost"
#define REPO_REMOTE_MERGE_MSG	   "cacheform: merge the ledger of remote '%s'"
#define REPO_REMOTE_PUSH_MSG	   "cacheform: ledger pushed"
#define REPO_REMOTE_BACKOFF_MAX_US 30000 /* between lost pushes, random */
#define REPO_REMOTE_FILE_SCHEME	   "file://"
#define REPO_REMOTE_SSH_USER	   "git" /* when the URL names none */
#define REPO_REMOTE_STATUS_MAX	   200
#define REPO_REMOTE_STALE_LOCK_S   2 /* as REPO_LEDGER_STALE_LOCK_S (repo_ledger.c) */

struct repo_remote {
	git_repository *repo;
	char *name;
	char *url;
	char *push_url; /* remote.NAME.pushurl, or NULL */
	char *path;	/* a repository on this file system: pushed by compare-and-swap, or NULL */
};

CF_PRINTF(2, 3)
static int git_fail(struct cf_err *e, const char *fmt, ...)
{
	const git_error *ge = git_error_last();
	struct sb what;
	va_list ap;
	sb_init(&what, 0);
	va_start(ap, fmt);
	sb_vaddf(&what, fmt, ap);
	va_end(ap);
	int rc = err_set(e, CF_EIO, "ledger remote: %s: %s", what.buf,
			 ge && ge->message ? ge->message : "unknown error");
	sb_release(&what);
	return rc;
}

bool repo_remote_url_path(const char *url, char *buf, size_t n)
{
	size_t fl = strlen(REPO_REMOTE_FILE_SCHEME);
	if (strncmp(url, REPO_REMOTE_FILE_SCHEME, fl) == 0) {
		snprintf(buf, n, "%s", url + fl);
		return buf[0] != 0;
	}
	if (strstr(url, "://"))
		return false;
	/* scp-like "host:path" (a ':' before any '/') is SSH, as git reads it */
	const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
	if (colon && (!slash || colon < slash))
		return false;
	snprintf(buf, n, "%s", url);
	return buf[0] != 0;
}

bool repo_remote_configured(const char *dir, char *buf, size_t n)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	git_buf val = {0};
	bool ok = false;
	buf[0] = 0;
	git_libgit2_init();
	if (git_repository_open_ext(&repo, dir, 0, NULL) == 0 &&
	    git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_string_buf(&val, cfg, REPO_REMOTE_CONFIG) == 0 && val.size) {
		snprintf(buf, n, "%s", val.ptr);
		ok = true;
	}
	git_buf_dispose(&val);
	git_config_free(cfg);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return ok;
}

/* A relative path is taken from the working tree's top (or the git directory when bare). */
static char *resolve_path(git_repository *repo, const char *p)
{
	struct sb sb;
	if (p[0] == '/')
		return xstrdup(p);
	const char *base = git_repository_workdir(repo);
	sb_init(&sb, 0);
	sb_adds(&sb, base ? base : git_repository_commondir(repo));
	sb_adds(&sb, p);
	return sb_detach(&sb);
}

/* git config value key of repo into a new string, or NULL. */
static char *config_string(git_repository *repo, const char *key)
{
	git_config *cfg = NULL;
	git_buf val = {0};
	char *out = NULL;
	if (git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_string_buf(&val, cfg, key) == 0 && val.size)
		out = xstrdup(val.ptr);
	git_buf_dispose(&val);
	git_config_free(cfg);
	return out;
}

int repo_remote_open(const char *dir, const char *name, struct repo_remote **out, struct cf_err *e)
{
	git_repository *repo = NULL;
	char path[PATH_MAX];
	struct sb key;
	git_libgit2_init();
	if (git_repository_open_ext(&repo, dir, 0, NULL) < 0) {
		git_libgit2_shutdown();
		return err_set(e, CF_EIO, "ledger remote: '%s' is not inside a git repository",
			       dir);
	}
	/*
	 * The URL is read from the configuration, and fetches and pushes use anonymous remotes
	 * on it (remote_on): libgit2 1.5's git_remote_lookup leaks regex match data on every call.
	 */
	sb_init(&key, 0);
	sb_addf(&key, "remote.%s.url", name);
	int valid = 0;
	char *url = git_remote_name_is_valid(&valid, name) == 0 && valid
			? config_string(repo, key.buf)
			: NULL;
	if (!url) {
		sb_release(&key);
		git_repository_free(repo);
		git_libgit2_shutdown();
		return err_set(e, CF_EINVAL,
			       "ledger remote: this repository has no git remote '%s' (git remote "
			       "add %s URL)",
			       name, name);
	}
	struct repo_remote *rr = xcalloc(1, sizeof(*rr));
	rr->repo = repo;
	rr->name = xstrdup(name);
	rr->url = url;
	sb_reset(&key);
	sb_addf(&key, "remote.%s.pushurl", name);
	rr->push_url = config_string(repo, key.buf);
	sb_release(&key);
	if (repo_remote_url_path(rr->url, path, sizeof(path)))
		rr->path = resolve_path(repo, path);
	*out = rr;
	return 0;
}

void repo_remote_close(struct repo_remote *rr)
{
	if (!rr)
		return;
	git_repository_free(rr->repo);
	free(rr->name);
	free(rr->url);
	free(rr->push_url);
	free(rr->path);
	free(rr);
	git_libgit2_shutdown();
}

const char *repo_remote_name(const struct repo_remote *rr)
{
	return rr->name;
}

/*
 * An in-memory remote on url, without url.*.insteadOf rewriting: libgit2 1.5 looks those up
 * with a regex whose match data it leaks on every call (as git_remote_lookup does).
 */
static int remote_on(struct repo_remote *rr, const char *url, git_remote **out)
{
	git_remote_create_options o;
	git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	o.repository = rr->repo;
	o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	return git_remote_create_with_opts(out, url, &o);
}

/* SSH through ssh-agent; everything else as the URL and libgit2's defaults allow. */
static int credentials(git_credential **out, const char *url, const char *user,
		       unsigned int allowed, void *payload)
{
	(void)url;
	(void)payload;
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out, user ? user : REPO_REMOTE_SSH_USER);
	return GIT_PASSTHROUGH;
}

/* Extra HTTP headers for a remote: owned strings. */
struct headers {
	char **v;
	size_t n, cap;
};

/*
 * git's http.extraheader and http.<url>.extraheader values that apply to url, as git sends
 * them: actions/checkout leaves the job's token there, and libgit2 does not read them itself.
 */
static void headers_load(git_repository *repo, const char *url, struct headers *h)
{
	static const char key[] = ".extraheader", section[] = "http.";
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *ent;
	memset(h, 0, sizeof(*h));
	if (git_repository_config_snapshot(&cfg, repo) < 0)
		return;
	/* every entry, filtered here: libgit2's glob iterator leaks its regex match data */
	if (git_config_iterator_new(&it, cfg) == 0)
		while (git_config_next(&ent, it) == 0) {
			if (strncmp(ent->name, section, sizeof(section) - 1) != 0)
				continue;
			const char *name = ent->name + sizeof(section) - 1;
			size_t len = strlen(name), plen = len - (sizeof(key) - 1);
			bool sub = len > sizeof(key) - 1 && strcmp(name + plen, key) == 0;
			bool applies =
			    strcmp(name, key + 1) == 0 || (sub && strncmp(url, name, plen) == 0);
			if (!applies || !ent->value || !ent->value[0])
				continue;
			xgrow(&h->v, &h->cap, h->n + 1, sizeof(*h->v));
			h->v[h->n++] = xstrdup(ent->value);
		}
	git_config_iterator_free(it);
	git_config_free(cfg);
}

static void headers_release(struct headers *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i]);
	free(h->v);
}

/* The local tip; false when the ref does not exist. */
static bool local_tip(git_repository *repo, git_oid *out)
{
	return git_reference_name_to_id(out, repo, REPO_LEDGER_REF) == 0;
}

/* Moves the ref from old (zero: must not exist) to id (zero: delete), compare-and-swap. */
static int ref_move(git_repository *repo, const git_oid *old, const git_oid *id, const char *msg,
		    bool *lost)
{
	git_reference *ref = NULL;
	int r;
	*lost = false;
	if (git_oid_is_zero(id)) {
		r = git_reference_lookup(&ref, repo, REPO_LEDGER_REF);
		if (r == GIT_ENOTFOUND)
			return 0;
		if (r == 0 && !git_oid_equal(git_reference_target(ref), old))
			r = GIT_EMODIFIED;
		else if (r == 0)
			r = git_reference_delete(ref);
	} else {
		r = git_reference_create_matching(&ref, repo, REPO_LEDGER_REF, id, 1, old, msg);
	}
	git_reference_free(ref);
	if (r == GIT_EMODIFIED || r == GIT_EEXISTS || r == GIT_ELOCKED) {
		*lost = true;
		return 0;
	}
	return r;
}

/* ---- merging the local ledger on top of the remote's ---- */

/* True when the remote's record at path must stay: final there, not final locally. */
static bool remote_wins(git_repository *repo, const git_oid *remote_blob, const git_oid *local_blob)
{
	git_blob *rb = NULL, *lb = NULL;
	struct ledger_purge rp, lp;
	struct cf_err e;
	bool keep = false;
	if (git_blob_lookup(&rb, repo, remote_blob) < 0 ||
	    git_blob_lookup(&lb, repo, local_blob) < 0)
		goto out;
	if (ledger_purge_decode(git_blob_rawcontent(rb), (size_t)git_blob_rawsize(rb), &rp, &e) < 0)
		goto out;
	if (ledger_purge_decode(git_blob_rawcontent(lb), (size_t)git_blob_rawsize(lb), &lp, &e) ==
	    0) {
		keep = ledger_status_final(rp.status) && !ledger_status_final(lp.status);
		ledger_purge_release(&lp);
	}
	ledger_purge_release(&rp);
out:
	git_blob_free(rb);
	git_blob_free(lb);
	return keep;
}

/* A purge record's file, in the v1 layout or the v2 one (its fan-out and its day index). */
static bool purge_record_path(const char *path)
{
	static const char *const prefixes[] = {"purges/", "v2/purges/", "v2/days/"};
	for (size_t i = 0; i < CF_ARRAY_LEN(prefixes); i++)
		if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

struct merge_ups {
	git_tree_update *v;
	size_t n, cap;
	git_tree *remote;
	git_repository *repo;
};

static int merge_delta(const git_diff_delta *d, float progress, void *payload)
{
	struct merge_ups *m = payload;
	git_tree_entry *te = NULL;
	(void)progress;
	const char *path = d->new_file.path ? d->new_file.path : d->old_file.path;
	bool in_remote = git_tree_entry_bypath(&te, m->remote, path) == 0;
	const git_oid *rid = in_remote ? git_tree_entry_id(te) : NULL;
	/* the remote changed it too: a final record there is not replaced by a local one that
	 * is not */
	bool changed_there =
	    in_remote ? !git_oid_equal(rid, &d->old_file.id) : d->status != GIT_DELTA_ADDED;
	bool skip = false;
	if (d->status == GIT_DELTA_DELETED)
		skip = changed_there || !in_remote;
	else if (changed_there && in_remote && purge_record_path(path))
		skip = remote_wins(m->repo, rid, &d->new_file.id);
	git_tree_entry_free(te);
	if (skip)
		return 0;
	xgrow(&m->v, &m->cap, m->n + 1, sizeof(*m->v));
	git_tree_update *u = &m->v[m->n++];
	memset(u, 0, sizeof(*u));
	u->action =
	    d->status == GIT_DELTA_DELETED ? GIT_TREE_UPDATE_REMOVE : GIT_TREE_UPDATE_UPSERT;
	u->id = d->new_file.id;
	u->filemode = GIT_FILEMODE_BLOB;
	u->path = xstrdup(path);
	return 0;
}

static git_tree *commit_tree(git_repository *repo, const git_oid *id)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	if (git_commit_lookup(&c, repo, id) == 0)
		(void)git_commit_tree(&t, c);
	git_commit_free(c);
	return t;
}

/* A commit with parents (remote, local) whose tree is the remote's plus the local changes. */
static int merge(struct repo_remote *rr, const git_oid *local, const git_oid *remote, git_oid *out,
		 struct cf_err *e)
{
	git_oid base, tree_id;
	git_tree *tb = NULL, *tl = NULL, *tr = NULL, *tm = NULL;
	git_diff *diff = NULL;
	git_commit *pc[2] = {NULL, NULL};
	git_signature *sig = NULL;
	struct merge_ups m = {0};
	struct sb msg;
	int rc = 0;
	sb_init(&msg, 0);
	bool have_base = git_merge_base(&base, rr->repo, local, remote) == 0;
	tl = commit_tree(rr->repo, local);
	tr = commit_tree(rr->repo, remote);
	if (have_base)
		tb = commit_tree(rr->repo, &base);
	if (!tl || !tr || (have_base && !tb) ||
	    git_diff_tree_to_tree(&diff, rr->repo, tb, tl, NULL) < 0) {
		rc = git_fail(e, "cannot compare the local ledger with remote '%s'", rr->name);
		goto out;
	}
	m.remote = tr;
	m.repo = rr->repo;
	if (git_diff_foreach(diff, merge_delta, NULL, NULL, NULL, &m) < 0 ||
	    git_tree_create_updated(&tree_id, rr->repo, tr, m.n, m.v) < 0 ||
	    git_tree_lookup(&tm, rr->repo, &tree_id) < 0 ||
	    git_commit_lookup(&pc[0], rr->repo, remote) < 0 ||
	    git_commit_lookup(&pc[1], rr->repo, local) < 0 ||
	    git_signature_now(&sig, REPO_REMOTE_SIG_NAME, REPO_REMOTE_SIG_EMAIL) < 0) {
		rc = git_fail(e, "cannot merge the local ledger with remote '%s'", rr->name);
		goto out;
	}
	sb_addf(&msg, REPO_REMOTE_MERGE_MSG, rr->name);
	const git_commit *parents[2] = {pc[0], pc[1]};
	if (git_commit_create(out, rr->repo, NULL, sig, sig, NULL, msg.buf, tm, 2, parents) < 0)
		rc = git_fail(e, "cannot write the merge of remote '%s'", rr->name);
out:
	for (size_t i = 0; i < m.n; i++)
		free((char *)m.v[i].path);
	free(m.v);
	git_signature_free(sig);
	git_commit_free(pc[0]);
	git_commit_free(pc[1]);
	git_diff_free(diff);
	git_tree_free(tm);
	git_tree_free(tb);
	git_tree_free(tl);
	git_tree_free(tr);
	sb_release(&msg);
	return rc;
}

/* Brings the fetched remote tip into the local ref (forward, keep, or merge). */
static int integrate(struct repo_remote *rr, const git_oid *remote, struct cf_err *e)
{
	git_oid local, zero, to;
	memset(&zero, 0, sizeof(zero));
	for (int attempt = 0; attempt < REPO_LEDGER_CAS_TRIES; attempt++) {
		bool have = local_tip(rr->repo, &local), lost;
		int r;
		if (!have) {
			to = *remote;
		} else if (git_oid_equal(&local, remote) ||
			   git_graph_descendant_of(rr->repo, &local, remote) == 1) {
			return 0; /* the same, or ahead: the next push sends it */
		} else if (git_graph_descendant_of(rr->repo, remote, &local) == 1) {
			to = *remote;
		} else if ((r = merge(rr, &local, remote, &to, e)) < 0) {
			return r;
		}
		r = ref_move(rr->repo, have ? &local : &zero, &to, "cacheform: ledger fetched",
			     &lost);
		if (r < 0)
			return git_fail(e, "cannot update the local ledger from remote '%s'",
					rr->name);
		if (!lost)
			return 0;
	}
	return err_set(e, CF_ECONFLICT, "ledger: lost %d races to update " REPO_LEDGER_REF,
		       REPO_LEDGER_CAS_TRIES);
}

/* True when path holds a git repository (a remote on this file system that exists). */
static bool repo_at(const char *path)
{
	git_repository *r = NULL;
	bool ok = git_repository_open_ext(&r, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0;
	git_repository_free(r);
	return ok;
}

int repo_remote_fetch(struct repo_remote *rr, bool *absent, struct cf_err *e)
{
	git_remote *remote = NULL;
	git_remote_callbacks cbs;
	git_fetch_options fo;
	const git_remote_head **heads = NULL;
	size_t nh = 0;
	git_oid tip;
	bool found = false;
	char ref[] = REPO_LEDGER_REF;
	char *spec = ref;
	git_strarray specs = {&spec, 1};
	int rc = 0;
	*absent = false;
	struct headers hd;
	git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	headers_load(rr->repo, rr->url, &hd);
	git_strarray hdrs = {hd.v, hd.n};
	fo.custom_headers = hdrs;
	cbs.credentials = credentials;
	fo.callbacks = cbs;
	if (rr->path && !repo_at(rr->path)) {
		rc = err_set(e, CF_EIO,
			     "ledger remote: cannot fetch the ledger from '%s': '%s' is not a git "
			     "repository",
			     rr->name, rr->path);
		goto out;
	}
	/* a path is read where it was resolved, not from the current directory */
	if (remote_on(rr, rr->path ? rr->path : rr->url, &remote) < 0 ||
	    git_remote_connect(remote, GIT_DIRECTION_FETCH, &cbs, NULL, &hdrs) < 0 ||
	    git_remote_ls(&heads, &nh, remote) < 0) {
		rc = git_fail(e, "cannot fetch the ledger from '%s'", rr->name);
		goto out;
	}
	for (size_t i = 0; i < nh && !found; i++)
		if (strcmp(heads[i]->name, REPO_LEDGER_REF) == 0) {
			tip = heads[i]->oid;
			found = true;
		}
	if (!found) {
		*absent = true;
		goto out;
	}
	if (git_remote_download(remote, &specs, &fo) < 0) {
		rc = git_fail(e, "cannot fetch the ledger from '%s'", rr->name);
		goto out;
	}
	git_remote_disconnect(remote);
	rc = integrate(rr, &tip, e);
out:
	if (remote)
		git_remote_disconnect(remote);
	git_remote_free(remote);
	headers_release(&hd);
	return rc;
}

/* ---- pushing ---- */

struct pack_sink {
	git_odb_writepack *wp;
	git_indexer_progress st;
};

static int pack_append(void *buf, size_t size, void *payload)
{
	struct pack_sink *s = payload;
	return s->wp->append(s->wp, buf, size, &s->st);
}

/* Copies what local has and the remote lacks (everything after old) into the remote. */
static int copy_objects(git_repository *from, git_repository *to, const git_oid *tip,
			const git_oid *old)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	git_odb *odb = NULL;
	struct pack_sink s;
	int r;
	memset(&s, 0, sizeof(s));
	if ((r = git_packbuilder_new(&pb, from)) < 0 || (r = git_revwalk_new(&walk, from)) < 0 ||
	    (r = git_revwalk_push(walk, tip)) < 0)
		goto out;
	if (!git_oid_is_zero(old) && (r = git_revwalk_hide(walk, old)) < 0)
		goto out;
	if ((r = git_packbuilder_insert_walk(pb, walk)) < 0 ||
	    (r = git_repository_odb(&odb, to)) < 0 ||
	    (r = git_odb_write_pack(&s.wp, odb, NULL, NULL)) < 0 ||
	    (r = git_packbuilder_foreach(pb, pack_append, &s)) < 0)
		goto out;
	r = s.wp->commit(s.wp, &s.st);
out:
	if (s.wp)
		s.wp->free(s.wp);
	git_odb_free(odb);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	return r;
}

/*
 * Removes the remote's refs/cacheform/ledger.lock when it is older than
 * REPO_REMOTE_STALE_LOCK_S: with the writers' lock held no cacheform process is inside its
 * compare-and-swap, so a lock that old was left by one killed there (or by a dead git).
 */
static void clear_stale_ref_lock(git_repository *far)
{
	struct sb path;
	struct stat st;
	sb_init(&path, 0);
	sb_addf(&path, "%s%s.lock", git_repository_commondir(far), REPO_LEDGER_REF);
	if (stat(path.buf, &st) == 0 && time(NULL) - st.st_mtime > REPO_REMOTE_STALE_LOCK_S) {
		fprintf(stderr, "warning: removing stale ledger lock '%s'\n", path.buf);
		unlink(path.buf);
	}
	sb_release(&path);
}

/* A remote on this file system: its ref moved by compare-and-swap under its writers' lock. */
static int push_path(struct repo_remote *rr, const git_oid *tip, bool *rejected, struct cf_err *e)
{
	git_repository *far = NULL;
	git_oid old;
	struct repo_lock lk = {-1};
	bool lost;
	int rc = 0;
	if (git_repository_open_ext(&far, rr->path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		return git_fail(e, "cannot open remote '%s'", rr->name);
	if ((rc = repo_lock_take(git_repository_commondir(far), REPO_LOCK_WAIT_MS, &lk, e)) < 0) {
		err_prefix(e, "ledger remote '%s'", rr->name);
		goto out;
	}
	if (!local_tip(far, &old))
		memset(&old, 0, sizeof(old));
	if (git_oid_equal(&old, tip))
		goto out;
	if (!git_oid_is_zero(&old) && git_graph_descendant_of(rr->repo, tip, &old) != 1) {
		*rejected = true; /* another clone pushed since our fetch */
		goto out;
	}
	if (copy_objects(rr->repo, far, tip, &old) < 0) {
		rc = git_fail(e, "cannot write the ledger objects to remote '%s'", rr->name);
		goto out;
	}
	clear_stale_ref_lock(far);
	if (ref_move(far, &old, tip, REPO_REMOTE_PUSH_MSG, &lost) < 0)
		rc = git_fail(e, "cannot update the ledger on remote '%s'", rr->name);
	*rejected = lost;
out:
	repo_lock_release(&lk);
	git_repository_free(far);
	return rc;
}

struct push_status {
	bool rejected;
	char why[REPO_REMOTE_STATUS_MAX];
};

static int push_ref_status(const char *refname, const char *status, void *data)
{
	struct push_status *ps = data;
	(void)refname;
	if (status) {
		ps->rejected = true;
		snprintf(ps->why, sizeof(ps->why), "%s", status);
	}
	return 0;
}

/* Through the transport; the server checks the old value of the ref. */
static int push_net(struct repo_remote *rr, bool *rejected, struct cf_err *e)
{
	git_remote *remote = NULL;
	git_push_options po;
	struct push_status ps = {false, ""};
	char ref[] = REPO_LEDGER_REF ":" REPO_LEDGER_REF;
	char *spec = ref;
	git_strarray specs = {&spec, 1};
	int rc = 0;
	struct headers hd;
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	headers_load(rr->repo, rr->url, &hd);
	po.custom_headers = (git_strarray){hd.v, hd.n};
	po.callbacks.credentials = credentials;
	po.callbacks.push_update_reference = push_ref_status;
	po.callbacks.payload = &ps;
	if (remote_on(rr, rr->push_url ? rr->push_url : rr->url, &remote) < 0) {
		headers_release(&hd);
		return git_fail(e, "cannot push the ledger to '%s'", rr->name);
	}
	int r = git_remote_push(remote, &specs, &po);
	if (r == GIT_ENONFASTFORWARD)
		*rejected = true;
	else if (r < 0)
		rc = git_fail(e, "cannot push the ledger to '%s'", rr->name);
	else
		*rejected = ps.rejected;
	git_remote_free(remote);
	headers_release(&hd);
	return rc;
}

int repo_remote_push(struct repo_remote *rr, bool *rejected, struct cf_err *e)
{
	git_oid tip;
	*rejected = false;
	if (!local_tip(rr->repo, &tip))
		return 0;
	return rr->path ? push_path(rr, &tip, rejected, e) : push_net(rr, rejected, e);
}

/* ---- claims and records through the remote ---- */

static void backoff(unsigned *seed)
{
	usleep((useconds_t)(rand_r(seed) % REPO_REMOTE_BACKOFF_MAX_US));
}

static int fetch_quiet(struct repo_remote *rr, struct cf_err *e)
{
	bool absent;
	return repo_remote_fetch(rr, &absent, e);
}

int repo_remote_claim(struct repo_remote *rr, struct repo_ledger *rl,
		      const struct ledger_purge *claims, const struct ledger_purge *const *expected,
		      size_t n, bool *won, const char *message, struct cf_err *e)
{
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	git_oid zero;
	memset(&zero, 0, sizeof(zero));
	for (int attempt = 0; attempt < REPO_REMOTE_PUSH_TRIES; attempt++) {
		git_oid before, after;
		bool rejected = false, lost;
		int rc = fetch_quiet(rr, e);
		if (rc < 0)
			return rc;
		bool had = local_tip(rr->repo, &before);
		if ((rc = repo_ledger_claim(rl, claims, expected, n, won, message, e)) < 0)
			return rc;
		if (!local_tip(rr->repo, &after) || (had && git_oid_equal(&before, &after)))
			return 0; /* nothing won, nothing committed */
		rc = repo_remote_push(rr, &rejected, e);
		if (rc == 0 && !rejected)
			return 0;
		/* the remote does not hold the claim: it does not count, undo it */
		struct cf_err ue;
		if (ref_move(rr->repo, &after, had ? &before : &zero, "cacheform: claim undone",
			     &lost) < 0 ||
		    lost) {
			(void)git_fail(&ue, "cannot undo a claim that remote '%s' refused",
				       rr->name);
			if (rc == 0)
				*e = ue;
			return rc < 0 ? rc : ue.rc;
		}
		if (rc < 0) {
			err_prefix(e, "the claim was not pushed, nothing was sent");
			return rc;
		}
		backoff(&seed);
	}
	return err_set(e, CF_ECONFLICT,
		       "ledger: lost %d pushes to remote '%s' (other clones kept pushing)",
		       REPO_REMOTE_PUSH_TRIES, rr->name);
}

int repo_remote_record(struct repo_remote *rr, struct repo_ledger *rl, const struct ledger_purge *p,
		       size_t np, const struct ledger_endpoint *eps, size_t nep,
		       const char *message, bool *local, struct cf_err *e)
{
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	*local = false;
	int rc = repo_ledger_record(rl, p, np, eps, nep, message, e);
	if (rc < 0)
		return rc;
	*local = true;
	for (int attempt = 0; attempt < REPO_REMOTE_PUSH_TRIES; attempt++) {
		bool rejected = false;
		rc = repo_remote_push(rr, &rejected, e);
		if (rc == 0 && !rejected)
			return 0;
		/* merged on top of what the other clones pushed, then pushed again */
		if (rc == 0)
			rc = fetch_quiet(rr, e);
		if (rc < 0)
			break;
		backoff(&seed);
	}
	if (rc == 0)
		rc = err_set(e, CF_ECONFLICT, "lost %d pushes to remote '%s'",
			     REPO_REMOTE_PUSH_TRIES, rr->name);
	err_prefix(e, "ledger: recorded in this repository but not pushed (the next apply with "
		      "--ledger-remote pushes it)");
	return rc;
}
