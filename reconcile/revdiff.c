#include "reconcile/base/compat.h"
#include "reconcile/render.h"
#include "reconcile/revdiff.h"
#include "reconcile/base/nameidx.h"
#include "reconcile/base/xmem.h"

const char *revdiff_ep_kind_name(enum revdiff_ep_kind k)
{
	static const char *const names[] = {"added", "removed", "changed"};
	return names[k];
}

const char *revdiff_purge_kind_name(enum revdiff_purge_kind k)
{
	static const char *const names[] = {"new", "edited", "removed"};
	return names[k];
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

static void add_setting(struct revdiff_ep *d, const char *field, const char *before,
			const char *after)
{
	if (strcmp(str_or_empty(before), str_or_empty(after)) == 0)
		return;
	xgrow(&d->settings, &d->scap, d->nsettings + 1, sizeof(*d->settings));
	struct revdiff_setting *s = &d->settings[d->nsettings++];
	s->field = field;
	s->before = xstrdup(str_or_empty(before));
	s->after = xstrdup(str_or_empty(after));
}

static char *hosts_text(const struct endpoint *ep)
{
	struct sb sb;
	sb_init(&sb, 0);
	for (size_t i = 0; i < ep->hosts.n; i++)
		sb_addf(&sb, "%s%s", i ? ", " : "", ep->hosts.v[i].s);
	return sb_detach(&sb);
}

/* Everything an endpoint file says besides its rules, compared as text. */
static void compare_settings(struct revdiff_ep *d, const struct endpoint *b,
			     const struct endpoint *h)
{
	char *hb = hosts_text(b), *hh = hosts_text(h);
	add_setting(d, "account", b->account_name.s, h->account_name.s);
	add_setting(d, "mode", endpoint_mode_name(b->mode), endpoint_mode_name(h->mode));
	add_setting(d, "remote.endpoint_id", b->remote.endpoint_id.s, h->remote.endpoint_id.s);
	add_setting(d, "remote.resource_group", b->remote.resource_group.s,
		    h->remote.resource_group.s);
	add_setting(d, "remote.profile", b->remote.profile.s, h->remote.profile.s);
	add_setting(d, "remote.endpoint", b->remote.endpoint.s, h->remote.endpoint.s);
	add_setting(d, "remote.target", b->remote.target.s, h->remote.target.s);
	add_setting(d, "hosts", hb, hh);
	add_setting(d, "scheme", b->scheme.s ? b->scheme.s : "https",
		    h->scheme.s ? h->scheme.s : "https");
	free(hb);
	free(hh);
}

static struct revdiff_ep *ep_new(struct revdiff *d, enum revdiff_ep_kind kind,
				 const struct endpoint *b, const struct endpoint *h)
{
	xgrow(&d->eps, &d->ecap, d->neps + 1, sizeof(*d->eps));
	struct revdiff_ep *x = &d->eps[d->neps++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->base = b;
	x->head = h;
	x->rules_managed = h && h->mode != MODE_PURGE_ONLY;
	return x;
}

static void ep_release(struct revdiff_ep *x)
{
	cache_diff_release(&x->rules);
	for (size_t i = 0; i < x->nsettings; i++) {
		free(x->settings[i].before);
		free(x->settings[i].after);
	}
	free(x->settings);
}

/* Diffs one head endpoint against its base (NULL when added); drops it when nothing moved. */
static int diff_endpoint(struct revdiff *d, const struct endpoint *b, const struct endpoint *h,
			 struct cf_err *e)
{
	static const struct cache empty;
	struct revdiff_ep *x = ep_new(d, b ? REVDIFF_EP_CHANGED : REVDIFF_EP_ADDED, b, h);
	int rc = CF_OK;
	if (x->rules_managed) {
		rc = rulediff_cache(&h->cache, b ? &b->cache : &empty, &x->rules, e);
		if (rc < 0) {
			err_prefix(e, "endpoint '%s'", h->name.s);
			return rc;
		}
	}
	if (b)
		compare_settings(x, b, h);
	if (b && x->nsettings == 0 && (!x->rules_managed || cache_diff_empty(&x->rules))) {
		ep_release(x);
		d->neps--;
	}
	return rc;
}

static void purge_add(struct revdiff *d, enum revdiff_purge_kind kind, const struct purge *b,
		      const struct purge *h)
{
	xgrow(&d->purges, &d->pcap, d->npurges + 1, sizeof(*d->purges));
	d->purges[d->npurges++] = (struct revdiff_purge){kind, b, h};
}

/* A config's purges by id: the first of an id wins, as config_purge()'s scan does. */
static void purge_index(struct nameidx *x, const struct config *c)
{
	nameidx_init(x);
	for (size_t i = 0; i < c->npurges; i++)
		nameidx_add(x, c->purges[i].id.s, i);
	nameidx_sort(x);
}

/* Manifests matched by id through an index: a config_purge() scan per manifest made diff
 * quadratic in the manifests (issue 17). */
static void diff_purges(struct revdiff *d, const struct config *base, const struct config *head)
{
	struct nameidx bx, hx;
	purge_index(&bx, base);
	purge_index(&hx, head);
	for (size_t i = 0; i < head->npurges; i++) {
		const struct purge *h = &head->purges[i];
		size_t j = nameidx_find(&bx, h->id.s);
		const struct purge *b = j == NAMEIDX_NONE ? NULL : &base->purges[j];
		if (!b)
			purge_add(d, REVDIFF_PURGE_NEW, NULL, h);
		else if (strcmp(b->content_hash, h->content_hash) != 0)
			purge_add(d, REVDIFF_PURGE_EDITED, b, h);
	}
	for (size_t i = 0; i < base->npurges; i++)
		if (nameidx_find(&hx, base->purges[i].id.s) == NAMEIDX_NONE)
			purge_add(d, REVDIFF_PURGE_REMOVED, &base->purges[i], NULL);
	nameidx_release(&bx);
	nameidx_release(&hx);
}

static const char *ep_name(const struct revdiff_ep *x)
{
	return x->head ? x->head->name.s : x->base->name.s;
}

static int cmp_ep(const void *a, const void *b)
{
	return strcmp(ep_name(a), ep_name(b));
}

static int cmp_purge(const void *a, const void *b)
{
	const struct revdiff_purge *x = a, *y = b;
	return strcmp(x->head ? x->head->id.s : x->base->id.s,
		      y->head ? y->head->id.s : y->base->id.s);
}

/* A config's endpoints by name: the first of a name wins, as config_endpoint()'s scan does. A
 * scan per endpoint made diff quadratic (half of its time at 10,000 endpoints, issue 17). */
static void endpoint_index(struct nameidx *x, const struct config *c)
{
	nameidx_init(x);
	for (size_t i = 0; i < c->nendpoints; i++)
		nameidx_add(x, c->endpoints[i].name.s, i);
	nameidx_sort(x);
}

static const struct endpoint *endpoint_find(const struct nameidx *x, const struct config *c,
					    const char *name)
{
	size_t i = nameidx_find(x, name);
	return i == NAMEIDX_NONE ? NULL : &c->endpoints[i];
}

int revdiff_build(const struct config *base, const struct config *head, const size_t *twins,
		  struct revdiff *out, struct cf_err *e)
{
	struct nameidx bx, hx;
	memset(out, 0, sizeof(*out));
	endpoint_index(&bx, base);
	endpoint_index(&hx, head);
	for (size_t i = 0; i < head->nendpoints; i++) {
		const struct endpoint *h = &head->endpoints[i];
		size_t j = nameidx_find(&bx, h->name.s);
		/* most of a pull request's endpoints are unchanged: no diff to build and drop */
		if (twins && j != NAMEIDX_NONE && twins[i] == j)
			continue;
		int rc = diff_endpoint(out, j == NAMEIDX_NONE ? NULL : &base->endpoints[j], h, e);
		if (rc < 0) {
			nameidx_release(&bx);
			nameidx_release(&hx);
			return rc;
		}
	}
	for (size_t i = 0; i < base->nendpoints; i++)
		if (!endpoint_find(&hx, head, base->endpoints[i].name.s))
			ep_new(out, REVDIFF_EP_REMOVED, &base->endpoints[i], NULL);
	nameidx_release(&bx);
	nameidx_release(&hx);
	diff_purges(out, base, head);
	if (out->neps)
		qsort(out->eps, out->neps, sizeof(*out->eps), cmp_ep);
	if (out->npurges)
		qsort(out->purges, out->npurges, sizeof(*out->purges), cmp_purge);
	return CF_OK;
}

void revdiff_release(struct revdiff *d)
{
	for (size_t i = 0; i < d->neps; i++)
		ep_release(&d->eps[i]);
	free(d->eps);
	free(d->purges);
	memset(d, 0, sizeof(*d));
}

bool revdiff_has_changes(const struct revdiff *d)
{
	if (d->neps)
		return true;
	for (size_t i = 0; i < d->npurges; i++)
		if (d->purges[i].kind != REVDIFF_PURGE_REMOVED)
			return true;
	return false;
}

static const char *const op_signs = "+-~>"; /* indexed by enum rulediff_op */

static void change_line(struct sb *out, const struct rule *before, const struct rule *after,
			const struct rulediff_entry *de)
{
	if (de->op == RULEDIFF_MOVE)
		sb_addf(out, "rule %ld (was %ld): ", de->after + 1, de->before + 1);
	else
		sb_addf(out,
			"rule %ld: ", (de->op == RULEDIFF_REMOVE ? de->before : de->after) + 1);
	render_rule(after ? after : before, out);
	if (de->op == RULEDIFF_CHANGE || (de->op == RULEDIFF_MOVE && de->fields)) {
		sb_adds(out, "  (was ");
		render_rule(before, out);
		sb_addc(out, ')');
	}
}

void revdiff_cache_lines(struct sb *out, const char *indent, const struct cache *before,
			 const struct cache *after, const struct cache_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct rulediff_entry *de = &d->v[i];
		sb_addf(out, "%s%c ", indent, op_signs[de->op]);
		change_line(out, de->before >= 0 ? &before->rules[de->before] : NULL,
			    de->after >= 0 ? &after->rules[de->after] : NULL, de);
		sb_addc(out, '\n');
	}
	for (size_t i = 0; i < d->nflags; i++)
		sb_addf(out, "%s~ %s: %s -> %s\n", indent, rulediff_flag_name(d->flags[i].flag),
			d->flags[i].before ? "true" : "false",
			d->flags[i].after ? "true" : "false");
}
