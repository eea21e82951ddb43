/* Front Door compilation, comparison and write sequencing (afd_compile.h). */
#include "reconcile/base/compat.h"

#include <ctype.h>
#include <strings.h>

#include "reconcile/afd_compile.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define AFD_DAYS_DIGITS_MAX 6
#define AFD_ORDER_INF	    INT64_MAX

/* ---- names ---- */

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT32_C(16777619);
	return h;
}

static void base_name(const struct rule *r, char *buf, size_t n)
{
	uint32_t h = UINT32_C(2166136261);
	if (r->name.s) {
		snprintf(buf, n, "%s", r->name.s);
		return;
	}
	h = fnv1a(h, rule_kind_name(r->kind));
	for (size_t j = 0; j < r->items.n; j++) {
		h = fnv1a(h, "\n");
		h = fnv1a(h, r->items.v[j].s);
	}
	snprintf(buf, n, "cf%08x", (unsigned)h);
}

void afd_rule_name(const struct cache *c, size_t i, char *buf, size_t n)
{
	char other[AFD_NAME_BUF];
	base_name(&c->rules[i], buf, n);
	for (size_t j = 0; j < i; j++) {
		base_name(&c->rules[j], other, sizeof(other));
		if (strcasecmp(other, buf) == 0) {
			size_t len = strlen(buf);
			snprintf(buf + len, n - len, "n%zu", i + 1);
			return;
		}
	}
}

/* ---- compile ---- */

static void add_values(struct sem_afd_cond *cd, const struct rule *r)
{
	char buf[AFD_NAME_BUF * 4];
	for (size_t j = 0; j < r->items.n; j++) {
		const char *it = r->items.v[j].s;
		if (r->kind == RULE_SUFFIX) {
			size_t k = 0;
			for (; it[k] && k + 1 < sizeof(buf); k++)
				buf[k] = (char)tolower((unsigned char)it[k]);
			buf[k] = '\0';
			if (strlen(it) >= sizeof(buf) || svec_contains(&cd->values, buf)) {
				if (strlen(it) >= sizeof(buf))
					svec_push(&cd->values, it, NULL);
				continue;
			}
			svec_push(&cd->values, buf, NULL);
			continue;
		}
		/* UrlPath values go without the leading '/'; the root stays "/" */
		const char *v = strcmp(it, "/") == 0 ? it : it + (it[0] == '/');
		struct sb sb;
		sb_init(&sb, 0);
		sb_adds(&sb, v);
		if (r->kind == RULE_DIR && sb.len && sb.buf[sb.len - 1] != '/')
			sb_addc(&sb, '/');
		if (!svec_contains(&cd->values, sb.buf))
			svec_push(&cd->values, sb.buf, NULL);
		sb_release(&sb);
	}
}

static bool has_root_dir(const struct rule *r)
{
	if (r->kind != RULE_DIR)
		return false;
	for (size_t j = 0; j < r->items.n; j++)
		if (strcmp(r->items.v[j].s, "/") == 0)
			return true;
	return false;
}

void afd_compile(const struct cache *c, struct sem_afd_set *out)
{
	char name[AFD_NAME_BUF];
	out->owned = true;
	for (size_t k = c->nrules; k-- > 0;) {
		const struct rule *r = &c->rules[k];
		struct sem_afd_rule *ar = sem_afd_add_rule(out);
		afd_rule_name(c, k, name, sizeof(name));
		ar->name = xstrdup(name);
		if (!has_root_dir(r)) {
			struct sem_afd_cond *cd = sem_afd_add_cond(ar);
			cd->var = r->kind == RULE_SUFFIX ? AFDV_URL_EXT : AFDV_URL_PATH;
			cd->op = r->kind == RULE_DIR ? AFDO_BEGINS : AFDO_EQUAL;
			cd->transforms = r->kind == RULE_SUFFIX ? AFDT_LOWER : 0;
			add_values(cd, r);
		}
		ar->override = true;
		ar->has_cache = r->ttl > 0;
		if (ar->has_cache) {
			ar->behavior = rule_ignores_cc(c, r) ? AFDB_OVERRIDE : AFDB_IF_MISSING;
			ar->duration = r->ttl;
			ar->qs = c->ignore_query_string ? AFDQ_IGNORE : AFDQ_USE;
		}
	}
}

/* ---- comparison ---- */

static const char *norm_value(const struct sem_afd_cond *c, const char *v)
{
	return c->var == AFDV_URL_PATH && v[0] == '/' ? v + 1 : v;
}

static bool values_cover(const struct sem_afd_cond *a, const struct sem_afd_cond *b)
{
	for (size_t i = 0; i < a->values.n; i++) {
		const char *v = norm_value(a, a->values.v[i].s);
		bool found = false;
		for (size_t j = 0; j < b->values.n && !found; j++)
			found = strcmp(v, norm_value(b, b->values.v[j].s)) == 0;
		if (!found)
			return false;
	}
	return true;
}

static bool cond_same(const struct sem_afd_cond *a, const struct sem_afd_cond *b)
{
	if (a->var != b->var || a->op != b->op || a->negate != b->negate ||
	    a->transforms != b->transforms || a->var == AFDV_OTHER || a->op == AFDO_OTHER)
		return false;
	if (a->op == AFDO_ANY)
		return true;
	return values_cover(a, b) && values_cover(b, a);
}

static bool conds_cover(const struct sem_afd_rule *a, const struct sem_afd_rule *b)
{
	for (size_t i = 0; i < a->nconds; i++) {
		bool found = false;
		for (size_t j = 0; j < b->nconds && !found; j++)
			found = cond_same(&a->conds[i], &b->conds[j]);
		if (!found)
			return false;
	}
	return true;
}

static bool qs_same(const struct sem_afd_rule *a, const struct sem_afd_rule *b)
{
	if (a->qs != b->qs)
		return false;
	if (a->qs != AFDQ_IGNORE_SPECIFIED && a->qs != AFDQ_INCLUDE_SPECIFIED)
		return true;
	return strcmp(a->qparams ? a->qparams : "", b->qparams ? b->qparams : "") == 0;
}

static bool action_same(const struct sem_afd_rule *a, const struct sem_afd_rule *b)
{
	if (a->override != b->override || a->other_actions || b->other_actions)
		return false;
	if (!a->override)
		return true;
	if (a->has_cache != b->has_cache)
		return false;
	if (!a->has_cache)
		return true;
	if (a->behavior != b->behavior || !qs_same(a, b))
		return false;
	/* HonorOrigin ignores the duration: null, absent or "00:00:00" alike */
	return a->behavior == AFDB_HONOR || a->duration == b->duration;
}

bool afd_rule_same(const struct sem_afd_rule *a, const struct sem_afd_rule *b)
{
	return a->stop == b->stop && action_same(a, b) && conds_cover(a, b) && conds_cover(b, a);
}

bool afd_set_same(const struct sem_afd_set *a, const struct sem_afd_set *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!afd_rule_same(&a->rules[i], &b->rules[i]))
			return false;
	return true;
}

/* ---- durations ---- */

void afd_duration_format(int64_t secs, char *buf, size_t n)
{
	int64_t d = secs / 86400, r = secs % 86400;
	int h = (int)(r / 3600), m = (int)(r % 3600 / 60), s = (int)(r % 60);
	if (d > 0)
		snprintf(buf, n, "%lld.%02d:%02d:%02d", (long long)d, h, m, s);
	else
		snprintf(buf, n, "%02d:%02d:%02d", h, m, s);
}

static int two_digits(const char *p, int max)
{
	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
		return -1;
	int v = (p[0] - '0') * 10 + (p[1] - '0');
	return v <= max ? v : -1;
}

int afd_duration_parse(const char *s, int64_t *out)
{
	int64_t days = 0;
	const char *dot = strchr(s, '.');
	if (dot) {
		size_t nd = (size_t)(dot - s);
		if (nd == 0 || nd > AFD_DAYS_DIGITS_MAX || strspn(s, "0123456789") != nd)
			return -1;
		for (const char *p = s; p < dot; p++)
			days = days * 10 + (*p - '0');
		s = dot + 1;
	}
	if (strlen(s) != 8 || s[2] != ':' || s[5] != ':')
		return -1;
	int h = two_digits(s, 23), m = two_digits(s + 3, 59), sec = two_digits(s + 6, 59);
	if (h < 0 || m < 0 || sec < 0)
		return -1;
	*out = days * 86400 + h * 3600 + m * 60 + sec;
	return 0;
}

/* ---- write sequence ---- */

struct seq {
	const struct sem_afd_set *live, *want;
	long *match;	 /* want j -> live index, -1 */
	bool *same;	 /* want j behaves like its match */
	bool *anchor;	 /* want j keeps its live order unwritten */
	int64_t *target; /* want j's order */
	int64_t *cur;	 /* live i's order now (AFD_ORDER_INF once deleted) */
	struct afd_op *ops;
	size_t nops, cap;
};

static void emit(struct seq *q, enum afd_op_kind k, size_t idx, int64_t order, bool temp)
{
	xgrow(&q->ops, &q->cap, q->nops + 1, sizeof(*q->ops));
	q->ops[q->nops++] = (struct afd_op){k, idx, order, temp};
}

static void match_names(struct seq *q)
{
	for (size_t j = 0; j < q->want->n; j++) {
		q->match[j] = -1;
		for (size_t i = 0; i < q->live->n && q->match[j] < 0; i++)
			if (q->live->rules[i].name && q->want->rules[j].name &&
			    strcasecmp(q->live->rules[i].name, q->want->rules[j].name) == 0)
				q->match[j] = (long)i;
		q->same[j] = q->match[j] >= 0 &&
			     afd_rule_same(&q->live->rules[q->match[j]], &q->want->rules[j]);
	}
}

static int64_t live_order(const struct seq *q, size_t j)
{
	return q->live->rules[q->match[j]].order;
}

/* Longest chain of unchanged rules that can keep their orders: increasing orders, and
 * between two of them (and before the first, orders >= 1) room for the rules in between. */
static void choose_anchors(struct seq *q)
{
	size_t n = q->want->n, bestj = 0;
	long *best = xcalloc(n + 1, sizeof(*best)), *prev = xcalloc(n + 1, sizeof(*prev));
	long top = 0;
	for (size_t j = 0; j < n; j++) {
		prev[j] = -1;
		if (!q->same[j])
			continue;
		int64_t oj = live_order(q, j);
		best[j] = oj - 1 >= (int64_t)j ? 1 : 0;
		for (size_t i = 0; i < j; i++) {
			if (best[i] == 0 || best[i] + 1 <= best[j])
				continue;
			int64_t oi = live_order(q, i);
			if (oi < oj && oj - oi - 1 >= (int64_t)(j - i - 1)) {
				best[j] = best[i] + 1;
				prev[j] = (long)i;
			}
		}
		if (best[j] > top) {
			top = best[j];
			bestj = j;
		}
	}
	for (long j = top ? (long)bestj : -1; j >= 0; j = prev[j])
		q->anchor[j] = true;
	free(best);
	free(prev);
}

static bool order_held(const struct seq *q, int64_t o, long except)
{
	for (size_t i = 0; i < q->live->n; i++)
		if ((long)i != except && q->cur[i] == o)
			return true;
	return false;
}

/* Orders for want positions a+1..b-1, strictly between lo and hi. */
static void fill_gap(struct seq *q, long a, size_t b, int64_t lo, int64_t hi)
{
	size_t k = b - (size_t)(a + 1);
	int64_t cur = lo;
	for (size_t t = 0; t < k; t++) {
		size_t j = (size_t)(a + 1) + t;
		/* room left for this and the later positions: spread evenly, at most the step */
		int64_t step = AFD_ORDER_STEP;
		if (hi != AFD_ORDER_INF && (hi - cur) / (int64_t)(k - t + 1) < step)
			step = (hi - cur) / (int64_t)(k - t + 1);
		if (step < 1)
			step = 1;
		int64_t maxo = hi == AFD_ORDER_INF ? AFD_ORDER_INF - 1 : hi - (int64_t)(k - t);
		long m = q->match[j];
		int64_t own = m >= 0 ? q->live->rules[m].order : -1;
		int64_t o = cur + step < maxo ? cur + step : maxo;
		if (own > cur && own <= maxo && own <= cur + 2 * step) {
			o = own; /* staying put saves a write (same rule) or a conflict */
		} else {
			for (int64_t s = 0; s < step && o + 1 <= maxo && order_held(q, o, m); s++)
				o++;
		}
		q->target[j] = o;
		cur = o;
	}
}

static void assign_orders(struct seq *q)
{
	size_t n = q->want->n;
	long last = -1;
	int64_t lo = 0;
	for (size_t j = 0; j <= n; j++) {
		if (j < n && !q->anchor[j])
			continue;
		int64_t hi = j < n ? live_order(q, j) : AFD_ORDER_INF;
		fill_gap(q, last, j, lo, hi);
		if (j < n) {
			q->target[j] = hi;
			lo = hi;
			last = (long)j;
		}
	}
}

static bool needs_put(const struct seq *q, size_t j)
{
	return !q->anchor[j] && (!q->same[j] || q->target[j] != live_order(q, j));
}

/* PUTs in an order where no two rules ever share an order. */
static void sequence_puts(struct seq *q)
{
	size_t n = q->want->n, left = 0;
	bool *todo = xcalloc(n + 1, sizeof(*todo));
	for (size_t j = 0; j < n; j++)
		left += todo[j] = needs_put(q, j);
	while (left) {
		long pick = -1;
		for (size_t j = 0; j < n && pick < 0; j++)
			if (todo[j] && !order_held(q, q->target[j], q->match[j]))
				pick = (long)j;
		if (pick < 0) {
			/* a cycle of moves: park one moved rule above every order in play */
			int64_t top = 0;
			for (size_t i = 0; i < q->live->n; i++)
				if (q->cur[i] != AFD_ORDER_INF && q->cur[i] > top)
					top = q->cur[i];
			for (size_t j = 0; j < n; j++)
				if (q->target[j] > top)
					top = q->target[j];
			for (size_t j = 0; j < n && pick < 0; j++)
				if (todo[j] && q->match[j] >= 0)
					pick = (long)j;
			emit(q, AFD_OP_PUT, (size_t)pick, top + 1, true);
			q->cur[q->match[pick]] = top + 1;
			continue;
		}
		emit(q, AFD_OP_PUT, (size_t)pick, q->target[pick], false);
		if (q->match[pick] >= 0)
			q->cur[q->match[pick]] = q->target[pick];
		todo[pick] = false;
		left--;
	}
	free(todo);
}

size_t afd_plan_writes(const struct sem_afd_set *live, const struct sem_afd_set *want,
		       struct afd_op **ops)
{
	size_t nw = want->n, nl = live->n;
	struct seq q = {.live = live, .want = want};
	q.match = xcalloc(nw + 1, sizeof(*q.match));
	q.same = xcalloc(nw + 1, sizeof(*q.same));
	q.anchor = xcalloc(nw + 1, sizeof(*q.anchor));
	q.target = xcalloc(nw + 1, sizeof(*q.target));
	q.cur = xcalloc(nl + 1, sizeof(*q.cur));
	match_names(&q);
	for (size_t i = 0; i < nl; i++)
		q.cur[i] = live->rules[i].order;
	for (size_t i = 0; i < nl; i++) {
		bool used = false;
		for (size_t j = 0; j < nw && !used; j++)
			used = q.match[j] == (long)i;
		if (!used) {
			emit(&q, AFD_OP_DELETE, i, 0, false);
			q.cur[i] = AFD_ORDER_INF;
		}
	}
	choose_anchors(&q);
	assign_orders(&q);
	sequence_puts(&q);
	free(q.match);
	free(q.same);
	free(q.anchor);
	free(q.target);
	free(q.cur);
	*ops = q.ops;
	return q.nops;
}
