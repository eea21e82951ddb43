/* Load once: --repo/--ref -> a validated configuration, for every command. */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd_load.h"

#include <string.h>

#include "reconcile/base/sb.h"
#include "reconcile/repo.h"
#include "reconcile/revdiff.h"
#include "schema/load.h"
#include "schema/report.h"
#include "reconcile/base/xmem.h"

/* Opens dir at ref into r (initialised first); a failure lands in r->diags. overlap: the
 * working tree's check runs while the files are read (repo_src_open_overlapped); the caller
 * then settles it. */
static int cmd_open(const char *dir, const char *ref, bool defer, bool overlap, struct cmd_repo *r)
{
	struct cf_err e;
	memset(r, 0, sizeof(*r));
	r->dir = dir;
	diag_init(&r->diags);
	err_clear(&e);
	int rc = defer	   ? repo_src_open_deferred(dir, ref, &r->src, &e)
		 : overlap ? repo_src_open_overlapped(dir, ref, &r->src, &e)
			   : repo_src_open(dir, ref, &r->src, &e);
	if (rc < 0) {
		diag_add_err(&r->diags, &e);
		return e.rc < 0 ? e.rc : CF_EIO;
	}
	return 0;
}

static int cmd_check(const struct check_opts *co, struct cmd_repo *r)
{
	/* check_config also normalises (".jpg" -> "jpg"), so every command compares alike. */
	(void)check_config(r->cfg, co, &r->diags);
	diag_sort(&r->diags);
	return r->diags.nerrors ? CF_EINVAL : 0;
}

static int cmd_load_src(const char *dir, const char *ref, const struct check_opts *co, bool defer,
			struct cmd_repo *r)
{
	int rc = cmd_open(dir, ref, defer, !defer, r);
	if (rc < 0)
		return rc;
	struct cf_source ls = repo_src_source(r->src);
	(void)load_repo(&ls, &r->cfg, &r->diags);
	if (!defer) {
		/* the check ran in its child while the files were read (a quarter of validate's
		 * time at 10,000 endpoints): its answer decides the commit the config names */
		(void)repo_src_settle(r->src);
		snprintf(r->cfg->commit, sizeof(r->cfg->commit), "%s", ls.commit);
	}
	return cmd_check(co, r);
}

/* The twins of head's endpoints (struct cmd_pair): copied endpoints are equal as loaded, and
 * checking them with the same accounts (the same cacheform.yaml) keeps them equal. */
static void cmd_pair_twins(const struct load_memo *mb, const struct load_memo *mh,
			   struct cmd_pair *pair)
{
	if (!load_memo_same(mb, mh, LOAD_SETTINGS) || !mh->c->nendpoints)
		return;
	pair->ntwins = mh->c->nendpoints;
	pair->twins = xreallocarray(NULL, pair->ntwins, sizeof(*pair->twins));
	for (size_t i = 0; i < pair->ntwins; i++)
		pair->twins[i] = REVDIFF_NO_TWIN;
	for (size_t i = 0; i < mh->n; i++)
		if (mh->v[i].ep != LOAD_NONE && mh->v[i].from != LOAD_NONE)
			pair->twins[mh->v[i].ep] = mh->v[i].from;
}

int cmd_load_pair(const char *dir, const char *base_ref, const char *head_ref,
		  const struct check_opts *co, bool share, struct cmd_repo *base,
		  struct cmd_repo *head, struct cmd_pair *pair)
{
	struct load_memo mb, mh;
	memset(pair, 0, sizeof(*pair));
	memset(head, 0, sizeof(*head));
	head->dir = dir;
	diag_init(&head->diags);
	int rc = cmd_open(dir, base_ref, false, false, base);
	if (rc < 0)
		return rc;
	struct cf_source lb = repo_src_source(base->src);
	(void)load_repo_memo(&lb, NULL, &mb, &base->cfg, &base->diags);
	/* both loads before either check: the memo borrows base's config and findings as the
	 * loader left them */
	int hrc = cmd_open(dir, head_ref, false, false, head);
	/* base's repository (packs, object cache) is not needed while the head is read; given
	 * back once head holds libgit2, which is then not unloaded and loaded again (two
	 * dlopens of libgit2 and its libraries were 4% of diff's instructions) */
	repo_src_done(base->src);
	if (hrc == 0) {
		struct cf_source lh = repo_src_source(head->src);
		(void)load_repo_memo(&lh, share ? &mb : NULL, &mh, &head->cfg, &head->diags);
		repo_src_done(head->src);
		pair->shared = mh.ncopied;
		for (size_t i = 0; i < mh.n; i++)
			pair->read += mh.v[i].kind == LOAD_ENDPOINT;
		pair->read -= pair->shared;
		cmd_pair_twins(&mb, &mh, pair);
		load_memo_release(&mh);
	}
	load_memo_release(&mb);
	rc = cmd_check(co, base);
	if (hrc == 0)
		hrc = cmd_check(co, head);
	return rc < 0 ? rc : hrc;
}

void cmd_pair_release(struct cmd_pair *pair)
{
	free(pair->twins);
	memset(pair, 0, sizeof(*pair));
}

int cmd_load(const char *dir, const char *ref, const struct check_opts *co, struct cmd_repo *r)
{
	return cmd_load_src(dir, ref, co, false, r);
}

int cmd_load_print(FILE *f, const struct cmd_repo *r)
{
	struct diag_list shown;
	struct report_opts ro = {.format = OUT_TEXT, .path_prefix = r->dir};
	diag_init(&shown);
	for (size_t i = 0; i < r->diags.n && shown.nerrors < CMD_LOAD_DIAG_SHOWN; i++)
		if (r->diags.v[i].sev == DIAG_ERROR)
			diag_add(&shown, DIAG_ERROR, &r->diags.v[i].pos, r->diags.v[i].code, "%s",
				 r->diags.v[i].msg);
	int rc = report_write(f, &shown, &ro);
	if (rc == 0 && r->diags.nerrors > shown.nerrors &&
	    fprintf(f, "... and %zu more (run 'cacheform validate')\n",
		    r->diags.nerrors - shown.nerrors) < 0)
		rc = CF_EIO;
	diag_release(&shown);
	return rc;
}

void cmd_repo_take(struct cmd_repo *r, struct repo_src **src, struct config **cfg)
{
	*src = r->src;
	*cfg = r->cfg;
	r->src = NULL;
	r->cfg = NULL;
}

int cmd_engine_open(struct engine *en, const char *dir, const char *ref, struct engine_opts *o,
		    struct cf_err *e)
{
	return cmd_engine_open_shard(en, dir, ref, o, NULL, e);
}

int cmd_engine_open_shard(struct engine *en, const char *dir, const char *ref,
			  struct engine_opts *o, const struct shard *s, struct cf_err *e)
{
	struct cmd_repo r;
	memset(en, 0, sizeof(*en));
	if (o->parallelism > HTTP_PARALLELISM_MAX)
		return err_set(e, CF_EINVAL, "--parallelism %u: at most %d concurrent requests",
			       o->parallelism, HTTP_PARALLELISM_MAX);
	/* one load of libgit2 for the source and the ledger (repo_git_hold) */
	repo_git_hold();
	/* a shard's drift settles the working-tree check after its reads (drift_settle_commit) */
	int rc = cmd_load_src(dir, ref, NULL, s != NULL, &r);
	if (rc < 0) {
		(void)cmd_load_print(stderr, &r);
		if (r.diags.nerrors)
			rc = err_set(e, CF_EINVAL, "the configuration has %zu error%s",
				     r.diags.nerrors, r.diags.nerrors == 1 ? "" : "s");
		cmd_repo_release(&r);
		repo_git_release();
		return rc;
	}
	cmd_repo_take(&r, &o->src, &o->cfg);
	cmd_repo_release(&r);
	rc = engine_open_shard(en, o, s, e);
	repo_git_release();
	return rc;
}

void cmd_repo_release(struct cmd_repo *r)
{
	if (!r)
		return;
	config_free(r->cfg);
	repo_src_free(r->src);
	diag_release(&r->diags);
	memset(r, 0, sizeof(*r));
}

void cmd_plan_errors(const char *cmd, const struct plan *p)
{
	static const char subject[] = "endpoint '";
	for (size_t i = 0; i < p->neps; i++) {
		const struct plan_endpoint *pe = &p->eps[i];
		if (pe->action != PLAN_EP_ERROR)
			continue;
		/* a provider error already names its endpoint */
		if (strncmp(pe->error, subject, sizeof(subject) - 1) == 0)
			fprintf(stderr, "cacheform %s: %s\n", cmd, pe->error);
		else
			fprintf(stderr, "cacheform %s: endpoint '%s': %s\n", cmd, pe->name,
				pe->error);
	}
}
