/* Unified line diff (see textdiff.h): longest common subsequence by dynamic programming. */
#include "reconcile/base/compat.h"
#include "reconcile/textdiff.h"

#include <string.h>

#include "reconcile/base/xmem.h"

struct lines {
	const char **s; /* starts, borrowed */
	size_t *len;	/* without the '\n' */
	size_t n;
};

static void split(const char *t, size_t len, struct lines *out)
{
	size_t cap = 0;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(t + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (t + i)) : len - i;
		if (out->n + 1 > cap) {
			cap = cap ? cap * 2 : 64;
			out->s = xreallocarray(out->s, cap, sizeof(*out->s));
			out->len = xreallocarray(out->len, cap, sizeof(*out->len));
		}
		out->s[out->n] = t + i;
		out->len[out->n++] = l;
		i += l + 1;
	}
}

static bool same(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] && memcmp(a->s[i], b->s[j], a->len[i]) == 0;
}

/* One edit script entry: ' ' kept, '-' only in a, '+' only in b. */
struct op {
	char k;
	size_t ai, bi; /* line indexes (the side's own for '-'/'+') */
};

/* The edit script from the LCS table (suffix lengths), in order. */
static struct op *script(const struct lines *a, const struct lines *b, size_t *nops)
{
	size_t w = b->n + 1;
	unsigned *t = xcalloc((a->n + 1) * w, sizeof(*t));
	for (size_t i = a->n; i-- > 0;)
		for (size_t j = b->n; j-- > 0;)
			t[i * w + j] = same(a, i, b, j) ? t[(i + 1) * w + j + 1] + 1
				       : t[(i + 1) * w + j] >= t[i * w + j + 1] ? t[(i + 1) * w + j]
										: t[i * w + j + 1];
	struct op *ops = xcalloc(a->n + b->n + 1, sizeof(*ops));
	size_t i = 0, j = 0, n = 0;
	while (i < a->n || j < b->n) {
		if (i < a->n && j < b->n && same(a, i, b, j))
			ops[n++] = (struct op){' ', i++, j++};
		else if (i < a->n && (j == b->n || t[(i + 1) * w + j] >= t[i * w + j + 1]))
			ops[n++] = (struct op){'-', i++, j}; /* removals first, as diff -u */
		else
			ops[n++] = (struct op){'+', i, j++};
	}
	free(t);
	*nops = n;
	return ops;
}

/* diff -u's range: "start,count", the count left out when it is 1; an empty range starts at
 * the line before it. */
static void range(size_t first, size_t count, struct sb *out)
{
	if (count == 1)
		sb_addf(out, "%zu", first + 1);
	else
		sb_addf(out, "%zu,%zu", count ? first + 1 : first, count);
}

static void hunk(const struct op *ops, size_t from, size_t to, const struct lines *a,
		 const struct lines *b, struct sb *out)
{
	size_t na = 0, nb = 0;
	for (size_t k = from; k < to; k++) {
		na += ops[k].k != '+';
		nb += ops[k].k != '-';
	}
	/* diff -u: a range's start is 1-based, or the line before it when it is empty */
	sb_adds(out, "@@ -");
	range(ops[from].ai, na, out);
	sb_adds(out, " +");
	range(ops[from].bi, nb, out);
	sb_adds(out, " @@\n");
	for (size_t k = from; k < to; k++) {
		const struct lines *side = ops[k].k == '+' ? b : a;
		size_t idx = ops[k].k == '+' ? ops[k].bi : ops[k].ai;
		sb_addc(out, ops[k].k);
		sb_add(out, side->s[idx], side->len[idx]);
		sb_addc(out, '\n');
	}
}

bool textdiff_unified(const char *a, size_t alen, const char *b, size_t blen, struct sb *out)
{
	struct lines la, lb;
	if (alen == blen && memcmp(a, b, alen) == 0)
		return false;
	split(a, alen, &la);
	split(b, blen, &lb);
	if (la.n > TEXTDIFF_LINES_MAX || lb.n > TEXTDIFF_LINES_MAX) {
		sb_addf(out, "@@ %zu lines -> %zu lines (too long to show) @@\n", la.n, lb.n);
		goto out;
	}
	size_t n;
	struct op *ops = script(&la, &lb, &n);
	for (size_t k = 0; k < n;) {
		if (ops[k].k == ' ') {
			k++;
			continue;
		}
		/* a hunk: from CONTEXT before this change to CONTEXT after the last change that
		 * is at most 2 * CONTEXT kept lines further */
		size_t from = k > TEXTDIFF_CONTEXT ? k - TEXTDIFF_CONTEXT : 0, end = k, kept = 0;
		for (size_t m = k; m < n; m++) {
			if (ops[m].k != ' ') {
				end = m;
				kept = 0;
			} else if (++kept > 2 * TEXTDIFF_CONTEXT) {
				break;
			}
		}
		size_t to = end + 1 + TEXTDIFF_CONTEXT < n ? end + 1 + TEXTDIFF_CONTEXT : n;
		hunk(ops, from, to, &la, &lb, out);
		k = to;
	}
	free(ops);
out:
	free(la.s);
	free(la.len);
	free(lb.s);
	free(lb.len);
	return true;
}
