#include "reconcile/base/compat.h"
#include "reconcile/base/diag.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <stdarg.h>

#define DIAG_MSG_MAX 4096

void err_clear(struct cf_err *e)
{
	memset(e, 0, sizeof(*e));
}

static void err_vfill(struct cf_err *e, const char *fmt, va_list ap)
{
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int err_set(struct cf_err *e, int rc, const char *fmt, ...)
{
	if (!e)
		return rc;
	va_list ap;
	err_clear(e);
	e->rc = rc;
	va_start(ap, fmt);
	err_vfill(e, fmt, ap);
	va_end(ap);
	return rc;
}

int err_setat(struct cf_err *e, int rc, const struct loc *pos, const char *code, const char *fmt,
	      ...)
{
	if (!e)
		return rc;
	va_list ap;
	err_clear(e);
	e->rc = rc;
	if (pos)
		e->pos = *pos;
	if (code)
		snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	err_vfill(e, fmt, ap);
	va_end(ap);
	return rc;
}

void err_prefix(struct cf_err *e, const char *fmt, ...)
{
	struct sb sb;
	va_list ap;
	if (!e)
		return;
	sb_init(&sb, sizeof(e->msg) - 1);
	va_start(ap, fmt);
	(void)sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	(void)sb_adds(&sb, ": ");
	/* Too long a message is cut at the cap rather than dropped. */
	(void)sb_add(&sb, e->msg, strnlen(e->msg, sb.max - sb.len));
	memcpy(e->msg, sb.buf, sb.len + 1);
	sb_release(&sb);
}

void err_print(const struct cf_err *e)
{
	if (e->pos.file)
		fprintf(stderr, "%s:%u:%u: error: %s", e->pos.file, e->pos.line, e->pos.col,
			e->msg);
	else
		fprintf(stderr, "error: %s", e->msg);
	if (e->code[0])
		fprintf(stderr, " [%s]", e->code);
	fputc('\n', stderr);
}

void diag_init(struct diag_list *d)
{
	memset(d, 0, sizeof(*d));
}

void diag_release(struct diag_list *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	diag_init(d);
}

void diag_add(struct diag_list *d, enum diag_sev sev, const struct loc *pos, const char *code,
	      const char *fmt, ...)
{
	char buf[DIAG_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	xgrow(&d->v, &d->cap, d->n + 1, sizeof(*d->v));
	struct diag *g = &d->v[d->n++];
	memset(g, 0, sizeof(*g));
	g->sev = sev;
	if (pos)
		g->pos = *pos;
	snprintf(g->code, sizeof(g->code), "%s", code ? code : "");
	g->msg = xstrdup(buf);
	g->seq = d->n - 1;
	if (sev == DIAG_ERROR)
		d->nerrors++;
	else if (sev == DIAG_WARNING)
		d->nwarnings++;
}

void diag_add_err(struct diag_list *d, const struct cf_err *e)
{
	diag_add(d, DIAG_ERROR, e->pos.file ? &e->pos : NULL, e->code, "%s", e->msg);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	int c = strcmp(x->pos.file ? x->pos.file : "", y->pos.file ? y->pos.file : "");
	if (c)
		return c;
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void diag_sort(struct diag_list *d)
{
	/* qsort is not stable; comparing seq last keeps insertion order for ties. */
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), diag_cmp);
}

void diag_promote_warnings(struct diag_list *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].sev == DIAG_WARNING) {
			d->v[i].sev = DIAG_ERROR;
			d->nwarnings--;
			d->nerrors++;
		}
	}
}
