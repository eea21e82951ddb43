#include "reconcile/base/compat.h"
#include "reconcile/base/near.h"

#include <string.h>

#define NEAR_MAX_EDITS 3

void near_init(struct near *n, const char *word)
{
	n->word = word;
	n->best = NULL;
	n->dist = (size_t)-1;
}

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

/* Optimal string alignment distance over three rows. */
static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][NEAR_WORD_MAX + 1];
	size_t *pp = rows[0], *p = rows[1], *c = rows[2];
	for (size_t j = 0; j <= lb; j++)
		p[j] = j;
	for (size_t i = 1; i <= la; i++) {
		c[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			c[j] = min3(p[j] + 1, c[j - 1] + 1, p[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    pp[j - 2] + 1 < c[j])
				c[j] = pp[j - 2] + 1;
		}
		size_t *t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[lb];
}

void near_offer(struct near *n, const char *cand)
{
	if (!cand || !n->word)
		return;
	size_t la = strlen(n->word), lb = strlen(cand);
	if (la > NEAR_WORD_MAX || lb > NEAR_WORD_MAX || strcmp(n->word, cand) == 0)
		return;
	size_t d = distance(n->word, la, cand, lb);
	if (d < n->dist) {
		n->dist = d;
		n->best = cand;
	}
}

const char *near_result(const struct near *n)
{
	size_t len = n->word ? strlen(n->word) : 0, limit = len / 3;
	if (limit < 1)
		limit = 1;
	if (limit > NEAR_MAX_EDITS)
		limit = NEAR_MAX_EDITS;
	return n->best && n->dist <= limit ? n->best : NULL;
}
