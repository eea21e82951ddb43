#include "reconcile/base/compat.h"
#include "reconcile/rulediff.h"

#include <stdlib.h>
#include <string.h>

#include "reconcile/base/xmem.h"

/*
 * Alignment scores. An identical rule is worth more than any partial match so that the
 * alignment keeps as many rules untouched as possible; a TTL-only change beats an item
 * change so the plan says "ttl 1d -> 2d" rather than remove + add. Pairs scoring 0 are
 * never aligned.
 */
#define SCORE_EQUAL	 4
#define SCORE_SAME_ITEMS 3
#define SCORE_OVERLAP	 2

const char *rulediff_flag_name(enum rulediff_flag f)
{
	switch (f) {
	case RULEDIFF_FLAG_CACHE_CONTROL:
		return "ignore_cache_control";
	case RULEDIFF_FLAG_COOKIE:
		return "ignore_cookie";
	case RULEDIFF_FLAG_QUERY_STRING:
		return "ignore_query_string";
	}
	return "?";
}

const char *rulediff_op_name(enum rulediff_op op)
{
	static const char *const names[] = {"add", "remove", "change", "move"};
	return (size_t)op < CF_ARRAY_LEN(names) ? names[op] : "?";
}

static bool items_same(const struct rule *a, const struct rule *b)
{
	if (a->items.n != b->items.n)
		return false;
	for (size_t i = 0; i < a->items.n; i++)
		if (strcmp(a->items.v[i].s, b->items.v[i].s) != 0)
			return false;
	return true;
}

static bool items_overlap(const struct rule *a, const struct rule *b)
{
	for (size_t i = 0; i < a->items.n; i++)
		if (svec_contains(&b->items, a->items.v[i].s))
			return true;
	return false;
}

static int pair_score(const struct rule *live, const struct rule *want)
{
	if (live->kind != want->kind)
		return 0;
	if (items_same(live, want))
		return live->ttl == want->ttl ? SCORE_EQUAL : SCORE_SAME_ITEMS;
	return items_overlap(live, want) ? SCORE_OVERLAP : 0;
}

static unsigned changed_fields(const struct cache *lc, const struct rule *live,
			       const struct cache *wc, const struct rule *want)
{
	unsigned f = 0;
	if (live->ttl != want->ttl)
		f |= RULEDIFF_F_TTL;
	if (live->ttl > 0 && want->ttl > 0 &&
	    rule_ignores_cc(lc, live) != rule_ignores_cc(wc, want))
		f |= RULEDIFF_F_CC;
	if (live->kind != want->kind)
		f |= RULEDIFF_F_KIND;
	if (!items_same(live, want))
		f |= RULEDIFF_F_ITEMS;
	return f;
}

static void push(struct cache_diff *d, enum rulediff_op op, long before, long after,
		 unsigned fields)
{
	xgrow(&d->v, &d->cap, d->n + 1, sizeof(*d->v));
	d->v[d->n++] = (struct rulediff_entry){op, before, after, fields};
}

/* One step of the alignment, in order: (i, -1) removal, (-1, j) addition, (i, j) pair. */
struct step {
	long i, j;
};

/*
 * Needleman-Wunsch with zero gap cost: score[i][j] is the best total over live[i..] and
 * want[j..]. Filling from the end lets the traceback run forwards, so steps come out in
 * reading order.
 */
static size_t align(const struct cache *live, const struct cache *want, struct step *steps)
{
	size_t n = live->nrules, m = want->nrules, w = m + 1, ns = 0;
	int *score = xcalloc((n + 1) * w, sizeof(*score));
	for (size_t i = n; i-- > 0;)
		for (size_t j = m; j-- > 0;) {
			int best = score[(i + 1) * w + j];
			if (score[i * w + j + 1] > best)
				best = score[i * w + j + 1];
			int s = pair_score(&live->rules[i], &want->rules[j]);
			if (s && s + score[(i + 1) * w + j + 1] > best)
				best = s + score[(i + 1) * w + j + 1];
			score[i * w + j] = best;
		}
	size_t i = 0, j = 0;
	while (i < n || j < m) {
		int s = (i < n && j < m) ? pair_score(&live->rules[i], &want->rules[j]) : 0;
		if (s && score[i * w + j] == s + score[(i + 1) * w + j + 1]) {
			steps[ns++] = (struct step){(long)i++, (long)j++};
		} else if (i < n && (j == m || score[i * w + j] == score[(i + 1) * w + j])) {
			/* prefer showing a removal before the addition that replaces it */
			steps[ns++] = (struct step){(long)i++, -1};
		} else {
			steps[ns++] = (struct step){-1, (long)j++};
		}
	}
	free(score);
	return ns;
}

/*
 * Pairs removals with additions of the same kind and items: those rules only moved (and
 * perhaps changed TTL). partner[] maps a removal step to its addition step and back.
 */
static void find_moves(const struct cache *live, const struct cache *want, const struct step *st,
		       size_t ns, long *partner)
{
	for (size_t k = 0; k < ns; k++)
		partner[k] = -1;
	for (int pass = 0; pass < 2; pass++)
		for (size_t a = 0; a < ns; a++) {
			if (st[a].j < 0 || st[a].i >= 0 || partner[a] >= 0)
				continue;
			for (size_t r = 0; r < ns; r++) {
				if (st[r].i < 0 || st[r].j >= 0 || partner[r] >= 0)
					continue;
				const struct rule *lr = &live->rules[st[r].i];
				const struct rule *wr = &want->rules[st[a].j];
				int s = pair_score(lr, wr);
				if (s == (pass == 0 ? SCORE_EQUAL : SCORE_SAME_ITEMS)) {
					partner[a] = (long)r;
					partner[r] = (long)a;
					break;
				}
			}
		}
}

static void diff_flags(const struct cache *want, const struct cache *live, struct cache_diff *d)
{
	const bool b[3] = {live->ignore_cache_control, live->ignore_cookie,
			   live->ignore_query_string};
	const bool a[3] = {want->ignore_cache_control, want->ignore_cookie,
			   want->ignore_query_string};
	for (int f = 0; f < 3; f++)
		if (a[f] != b[f])
			d->flags[d->nflags++] =
			    (struct rulediff_flag_change){(enum rulediff_flag)f, b[f], a[f]};
}

int rulediff_cache(const struct cache *desired, const struct cache *live, struct cache_diff *out,
		   struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	if (desired->nrules > RULEDIFF_MAX_RULES || live->nrules > RULEDIFF_MAX_RULES)
		return err_set(e, CF_ELIMIT, "cannot compare more than %d cache rules",
			       RULEDIFF_MAX_RULES);
	diff_flags(desired, live, out);
	size_t cap = live->nrules + desired->nrules + 1;
	struct step *st = xcalloc(cap, sizeof(*st));
	long *partner = xcalloc(cap, sizeof(*partner));
	size_t ns = align(live, desired, st);
	find_moves(live, desired, st, ns, partner);
	for (size_t k = 0; k < ns; k++) {
		long i = st[k].i, j = st[k].j;
		if (i >= 0 && j >= 0) {
			unsigned f =
			    changed_fields(live, &live->rules[i], desired, &desired->rules[j]);
			if (f) {
				push(out, RULEDIFF_CHANGE, i, j, f);
				out->nchange++;
			} else {
				out->nsame++;
			}
		} else if (partner[k] >= 0 && j >= 0) {
			long from = st[partner[k]].i;
			push(out, RULEDIFF_MOVE, from, j,
			     changed_fields(live, &live->rules[from], desired, &desired->rules[j]));
			out->nmove++;
		} else if (partner[k] < 0 && i >= 0) {
			push(out, RULEDIFF_REMOVE, i, -1, 0);
			out->nremove++;
		} else if (partner[k] < 0) {
			push(out, RULEDIFF_ADD, -1, j, 0);
			out->nadd++;
		}
	}
	free(partner);
	free(st);
	return 0;
}

void cache_diff_release(struct cache_diff *d)
{
	if (!d)
		return;
	free(d->v);
	memset(d, 0, sizeof(*d));
}

bool cache_diff_empty(const struct cache_diff *d)
{
	return d->n == 0 && d->nflags == 0;
}

size_t cache_diff_disturbed(const struct cache_diff *d)
{
	return d->nremove + d->nchange + d->nmove;
}
