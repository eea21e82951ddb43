#include "reconcile/base/compat.h"
#include "reconcile/base/nameidx.h"

#include <stdlib.h>
#include <string.h>

#include "reconcile/base/xmem.h"

void nameidx_init(struct nameidx *x)
{
	memset(x, 0, sizeof(*x));
}

void nameidx_release(struct nameidx *x)
{
	free(x->v);
	nameidx_init(x);
}

void nameidx_reset(struct nameidx *x)
{
	x->n = 0;
}

void nameidx_add(struct nameidx *x, const char *name, size_t pos)
{
	if (!name)
		return;
	xgrow(&x->v, &x->cap, x->n + 1, sizeof(*x->v));
	x->v[x->n++] = (struct nameidx_ent){name, pos};
}

static int ent_cmp(const void *a, const void *b)
{
	const struct nameidx_ent *p = a, *q = b;
	int c = strcmp(p->name, q->name);
	/* qsort is not stable: the position orders equal names, so the first one is found */
	return c ? c : (p->pos > q->pos) - (p->pos < q->pos);
}

void nameidx_sort(struct nameidx *x)
{
	if (x->n > 1) /* qsort of no array is undefined even for 0 elements */
		qsort(x->v, x->n, sizeof(*x->v), ent_cmp);
}

size_t nameidx_find(const struct nameidx *x, const char *name)
{
	size_t lo = 0, hi = x->n;
	if (!name)
		return NAMEIDX_NONE;
	while (lo < hi) { /* the first entry not below name */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(x->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->n && strcmp(x->v[lo].name, name) == 0 ? x->v[lo].pos : NAMEIDX_NONE;
}
