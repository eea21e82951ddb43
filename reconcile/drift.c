#include "reconcile/base/compat.h"
#include "reconcile/drift.h"
#include "reconcile/repo.h"
#include "reconcile/base/xmem.h"

#define DRIFT_SHORT_COMMIT 12 /* hex digits of a commit in a reason */

const char *drift_class_name(enum drift_class c)
{
	static const char *const names[] = {"in-sync", "pending", "external", "both", "error"};
	return names[c];
}

enum drift_class drift_classify(const struct cache *desired, const struct cache *live,
				const struct cache *applied, enum endpoint_mode mode)
{
	if (cache_equal(desired, live))
		return DRIFT_IN_SYNC;
	if (!applied)
		return mode == MODE_OBSERVE ? DRIFT_EXTERNAL : DRIFT_PENDING;
	bool repo_moved = !cache_equal(desired, applied);
	bool live_moved = !cache_equal(live, applied);
	if (repo_moved && live_moved)
		return DRIFT_BOTH;
	return repo_moved ? DRIFT_PENDING : DRIFT_EXTERNAL;
}

size_t drift_select_shard(struct engine *en, const struct shard *s)
{
	size_t kept = 0;
	for (size_t i = 0; i < en->naccts; i++)
		en->accts[i].used = false;
	for (size_t i = 0; i < en->neps; i++) {
		if (!shard_takes(s, en->eps[i].acct->a, en->eps[i].ep->name.s))
			continue;
		/* nothing is read yet, so moving the entry moves no owned state */
		en->eps[kept] = en->eps[i];
		en->eps[kept].acct->used = true;
		kept++;
	}
	en->neps = kept;
	engine_index_names(en); /* the name index pointed into the array before compaction */
	en->rate_share = s->budget == SHARD_SPLIT ? s->count : 1;
	return kept;
}

void drift_settle_begin(struct engine *en)
{
	if (en->src)
		repo_src_settle_start(en->src);
}

void drift_settle_commit(struct engine *en)
{
	if (en->src && repo_src_settle(en->src)) {
		en->commit[0] = '\0';
		en->cfg->commit[0] = '\0';
	}
}

static void drift_ep_release(struct drift_ep *d)
{
	free(d->name);
	free(d->account);
	free(d->file);
	free(d->error);
	cache_release(&d->desired);
	cache_release(&d->live);
	cache_diff_release(&d->diff);
}

void drift_report_release(struct drift_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		drift_ep_release(&r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static struct drift_ep *drift_add(struct drift_report *r, const struct eng_endpoint *x)
{
	xgrow(&r->v, &r->cap, r->n + 1, sizeof(*r->v));
	struct drift_ep *d = &r->v[r->n++];
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(x->ep->name.s);
	d->account = xstrdup(x->ep->account_name.s);
	d->file = xstrdup(x->ep->file ? x->ep->file : "");
	d->line = x->ep->pos.line;
	d->provider = x->acct->a->provider;
	d->mode = x->ep->mode;
	cache_copy(&d->desired, &x->ep->cache);
	return d;
}

static int drift_one(const struct engine *en, const struct eng_endpoint *x, struct drift_ep *d,
		     struct cf_err *e)
{
	if (!x->read || x->rc < 0 || !x->live.exists) {
		d->cls = DRIFT_ERROR;
		d->error = xstrdup(x->rc < 0  ? engine_ep_why(x)
				   : !x->read ? "live state was not read"
					      : "the endpoint does not exist at the provider");
		return CF_OK;
	}
	cache_copy(&d->live, &x->live.cache);
	const struct ledger_endpoint *rec = ledger_find_endpoint(&en->led, d->name);
	if (rec) {
		d->has_record = true;
		snprintf(d->applied_commit, sizeof(d->applied_commit), "%s", rec->commit);
		d->applied_at = rec->applied_at;
	}
	d->cls = drift_classify(&d->desired, &d->live, rec ? &rec->cache : NULL, d->mode);
	/* spelled or ordered differently but caching every path alike: in sync, as plan says */
	if (d->cls != DRIFT_IN_SYNC && prov_behaves_as(x->ep, &x->live)) {
		d->cls = DRIFT_IN_SYNC;
		return CF_OK;
	}
	int rc = rulediff_cache(&d->desired, &d->live, &d->diff, e);
	if (rc < 0)
		err_prefix(e, "endpoint '%s'", d->name);
	return rc;
}

int drift_build(const struct engine *en, struct drift_report *out, struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < en->neps; i++) {
		const struct eng_endpoint *x = &en->eps[i];
		if (!engine_needs_read(x)) {
			out->skipped++;
			continue;
		}
		struct drift_ep *d = drift_add(out, x);
		int rc = drift_one(en, x, d, e);
		if (rc < 0)
			return rc;
		out->counts[d->cls]++;
	}
	/* a ledger record that could not be read must not pass as "never applied" */
	return ledger_source_error(&en->led, e);
}

bool drift_found(const struct drift_report *r)
{
	return r->counts[DRIFT_PENDING] + r->counts[DRIFT_EXTERNAL] + r->counts[DRIFT_BOTH] > 0;
}

void drift_reason(struct sb *sb, const struct drift_ep *d)
{
	char at[DRIFT_SHORT_COMMIT + 16] = "";
	if (d->has_record)
		snprintf(at, sizeof(at), " (%.*s)", DRIFT_SHORT_COMMIT,
			 d->applied_commit[0] ? d->applied_commit : "unknown");
	switch (d->cls) {
	case DRIFT_IN_SYNC:
		sb_adds(sb, "live matches the repository");
		break;
	case DRIFT_PENDING:
		if (d->has_record)
			sb_addf(sb, "the repository changed since the last apply%s", at);
		else
			sb_adds(sb, "never applied by cacheform: live differs from the repository");
		break;
	case DRIFT_EXTERNAL:
		if (d->has_record)
			sb_addf(sb, "live changed outside cacheform since the last apply%s", at);
		else
			sb_adds(sb,
				"live differs from the repository (observe mode: cacheform never "
				"writes it)");
		break;
	case DRIFT_BOTH:
		sb_addf(sb, "the repository and live both changed since the last apply%s", at);
		break;
	case DRIFT_ERROR:
		sb_addf(sb, "not checked: %s", d->error);
		break;
	}
}
