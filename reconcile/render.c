#include "reconcile/base/compat.h"
#include "reconcile/render.h"
#include "reconcile/base/tty.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reconcile/planfile.h"

#define COMMIT_SHOWN 12 /* hex digits of a commit id in human output */
#define HASH_SHOWN   12

#define RENDER_MD_MAX	   65536 /* GitHub refuses comments over 65,536 characters */
#define RENDER_MD_RESERVE  1024	 /* kept free for the "Not shown" section */
#define RENDER_MD_URLS_MAX 20	 /* purge URLs listed per purge; the rest are counted */

#define C_RESET "\033[0m"
#define C_ADD	"\033[32m"
#define C_DEL	"\033[31m"
#define C_CHG	"\033[33m"
#define C_DIM	"\033[2m"
#define C_BOLD	"\033[1m"

int render_format_parse(const char *s, enum out_format *out)
{
	return out_format_parse(
	    s, OUT_BIT(OUT_TEXT) | OUT_BIT(OUT_JSON) | OUT_BIT(OUT_MARKDOWN) | OUT_BIT(OUT_GITHUB),
	    out);
}

void render_rule_json(const struct rule *r, struct sb *sb)
{
	char ttl[32];
	if (!r) {
		sb_adds(sb, "null");
		return;
	}
	sb_addf(sb, "{\"kind\":\"%s\",\"items\":[", rule_kind_name(r->kind));
	for (size_t i = 0; i < r->items.n; i++) {
		if (i)
			sb_addc(sb, ',');
		sb_add_json_str(sb, r->items.v[i].s);
	}
	duration_format(r->ttl, ttl, sizeof(ttl));
	sb_addf(sb, "],\"ttl\":%lld,\"ttl_text\":\"%s\"", (long long)r->ttl, ttl);
	if (r->name.s) {
		sb_adds(sb, ",\"name\":");
		sb_add_json_str(sb, r->name.s);
	}
	if (r->cc != RULE_CC_INHERIT)
		sb_addf(sb, ",\"ignore_cache_control\":%s",
			r->cc == RULE_CC_IGNORE ? "true" : "false");
	sb_addc(sb, '}');
}

static void index_json(long i, struct sb *sb)
{
	if (i < 0)
		sb_adds(sb, "null");
	else
		sb_addf(sb, "%ld", i);
}

void render_change_json(const struct rulediff_entry *de, const struct rule *before,
			const struct rule *after, struct sb *sb)
{
	static const struct {
		unsigned bit;
		const char *name;
	} fields[] = {{RULEDIFF_F_KIND, "kind"},
		      {RULEDIFF_F_ITEMS, "items"},
		      {RULEDIFF_F_TTL, "ttl"},
		      {RULEDIFF_F_CC, "ignore_cache_control"}};
	bool first = true;
	sb_addf(sb, "{\"change\":\"%s\",\"before_index\":", rulediff_op_name(de->op));
	index_json(de->before, sb);
	sb_adds(sb, ",\"after_index\":");
	index_json(de->after, sb);
	sb_adds(sb, ",\"before\":");
	render_rule_json(before, sb);
	sb_adds(sb, ",\"after\":");
	render_rule_json(after, sb);
	sb_adds(sb, ",\"fields\":[");
	for (size_t i = 0; i < CF_ARRAY_LEN(fields); i++)
		if (de->fields & fields[i].bit) {
			sb_addf(sb, "%s\"%s\"", first ? "" : ",", fields[i].name);
			first = false;
		}
	sb_adds(sb, "]}");
}

bool render_want_color(int fd)
{
	return tty_colour(fd);
}

static void ttl_text(int64_t ttl, struct sb *out)
{
	char buf[32];
	duration_format(ttl, buf, sizeof(buf));
	sb_adds(out, buf);
	if (ttl == 0)
		sb_adds(out, " (no cache)");
}

void render_rule(const struct rule *r, struct sb *out)
{
	sb_addf(out, "%s ", rule_kind_name(r->kind));
	for (size_t i = 0; i < r->items.n; i++)
		sb_addf(out, "%s%s", i ? ", " : "", r->items.v[i].s);
	sb_adds(out, "  ttl ");
	ttl_text(r->ttl, out);
	if (r->cc != RULE_CC_INHERIT)
		sb_addf(out, "  ignore_cache_control %s",
			r->cc == RULE_CC_IGNORE ? "true" : "false");
}

/* ---- one line per change, shared by text and markdown (diff blocks) ---- */

static char change_sign(enum rulediff_op op)
{
	switch (op) {
	case RULEDIFF_ADD:
		return '+';
	case RULEDIFF_REMOVE:
		return '-';
	case RULEDIFF_CHANGE:
		return '~';
	case RULEDIFF_MOVE:
		return '>';
	}
	return '?';
}

static void change_line(const struct plan_endpoint *pe, const struct rulediff_entry *d,
			struct sb *out)
{
	const struct rule *before = d->before >= 0 ? &pe->live.rules[d->before] : NULL;
	const struct rule *after = d->after >= 0 ? &pe->desired.rules[d->after] : NULL;
	switch (d->op) {
	case RULEDIFF_ADD:
		sb_addf(out, "rule %ld: ", d->after + 1);
		render_rule(after, out);
		break;
	case RULEDIFF_REMOVE:
		sb_addf(out, "rule %ld: ", d->before + 1);
		render_rule(before, out);
		break;
	case RULEDIFF_CHANGE:
	case RULEDIFF_MOVE:
		if (d->op == RULEDIFF_MOVE)
			sb_addf(out, "rule %ld (was %ld): ", d->after + 1, d->before + 1);
		else
			sb_addf(out, "rule %ld: ", d->after + 1);
		render_rule(after, out);
		if (d->fields & (RULEDIFF_F_ITEMS | RULEDIFF_F_KIND)) {
			sb_adds(out, "  (was ");
			render_rule(before, out);
			sb_addc(out, ')');
		} else if (d->fields & RULEDIFF_F_TTL) {
			sb_adds(out, "  (ttl was ");
			ttl_text(before->ttl, out);
			sb_addc(out, ')');
		} else if (d->fields & RULEDIFF_F_CC) {
			sb_adds(out, "  (origin Cache-Control handling changes)");
		}
		break;
	}
}

static const char *sign_color(char sign)
{
	return sign == '+' ? C_ADD : sign == '-' ? C_DEL : C_CHG;
}

static void behaviour_text(enum sem_mode m, int64_t ttl, struct sb *out);

/* The provider text's unified diff (CDN Pro's region), indented, coloured like the changes. */
static void text_diff(const struct plan_endpoint *pe, const char *indent, bool color,
		      struct sb *out)
{
	const char *p = pe->text_diff;
	if (!p)
		return;
	sb_addf(out, "%sregion diff (live -> desired):\n", indent);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *c = !color ? "" : *p == '+' ? C_ADD : *p == '-' ? C_DEL : "";
		sb_addf(out, "%s  %s", indent, c);
		sb_add(out, p, n);
		sb_addf(out, "%s\n", c[0] ? C_RESET : "");
		p += n + (nl ? 1 : 0);
	}
}

static void ep_changes(const struct plan_endpoint *pe, const char *indent, bool color,
		       struct sb *out)
{
	for (size_t i = 0; i < pe->diff.n; i++) {
		char s = change_sign(pe->diff.v[i].op);
		sb_addf(out, "%s%s%c ", indent, color ? sign_color(s) : "", s);
		change_line(pe, &pe->diff.v[i], out);
		sb_addf(out, "%s\n", color ? C_RESET : "");
	}
	for (size_t i = 0; i < pe->diff.nflags; i++) {
		const struct rulediff_flag_change *f = &pe->diff.flags[i];
		sb_addf(out, "%s%s~ %s: %s -> %s%s\n", indent, color ? C_CHG : "",
			rulediff_flag_name(f->flag), f->before ? "true" : "false",
			f->after ? "true" : "false", color ? C_RESET : "");
	}
	if (pe->inexact)
		sb_addf(out, "%s~ live settings have no exact form (%s); rewritten\n", indent,
			pe->inexact);
	for (size_t i = 0; i < pe->nforeign; i++)
		sb_addf(out,
			"%s= delivery rule '%s' (order %d) not managed by cacheform; preserved\n",
			indent, pe->foreign[i].name, pe->foreign[i].order);
	for (size_t i = 0; i < pe->notes.n; i++)
		sb_addf(out, "%s! %s\n", indent, pe->notes.v[i].s);
	if (pe->behaviour_path) { /* what a request would see change */
		sb_addf(out, "%sbehaviour: e.g. %s: ", indent, pe->behaviour_path);
		behaviour_text(pe->behaviour_before_mode, pe->behaviour_before_ttl, out);
		sb_adds(out, " -> ");
		behaviour_text(pe->behaviour_after_mode, pe->behaviour_after_ttl, out);
		sb_addc(out, '\n');
	}
}

static void ep_summary(const struct plan_endpoint *pe, struct sb *out)
{
	const struct cache_diff *d = &pe->diff;
	sb_addf(out, "%zu added, %zu changed, %zu removed, %zu moved", d->nadd, d->nchange,
		d->nremove, d->nmove);
	if (d->nflags)
		sb_addf(out, ", %zu flag%s", d->nflags, d->nflags == 1 ? "" : "s");
}

static void safety_line(const struct plan_endpoint *pe, const char *indent, struct sb *out)
{
	if (pe->safety_exceeded)
		sb_addf(out,
			"%s! safety: %u%% of %zu existing rules removed, changed or moved "
			"(over the limit; apply needs --force)\n",
			indent, pe->pct, pe->existing);
}

/* ---- text ---- */

static void text_endpoint(const struct plan_endpoint *pe, bool color, struct sb *out)
{
	const char *b = color ? C_BOLD : "", *r = color ? C_RESET : "";
	sb_addf(out, "%s%s%s (%s, account %s", b, pe->name, r, provider_name(pe->provider),
		pe->account);
	if (pe->mode != MODE_MANAGE)
		sb_addf(out, ", mode %s", endpoint_mode_name(pe->mode));
	sb_adds(out, "): ");
	switch (pe->action) {
	case PLAN_EP_NONE:
		sb_adds(out, "no changes\n");
		break;
	case PLAN_EP_UNMANAGED:
		sb_adds(out, "cache rules not managed (purge-only)\n");
		break;
	case PLAN_EP_ERROR:
		sb_addf(out, "%serror%s: %s\n", color ? C_DEL : "", r, pe->error);
		break;
	case PLAN_EP_UPDATE:
	case PLAN_EP_DRIFT:
		sb_adds(out, pe->action == PLAN_EP_UPDATE ? "update cache rules ("
							  : "drift, not written (observe) (");
		ep_summary(pe, out);
		sb_adds(out, ")\n");
		ep_changes(pe, "    ", color, out);
		text_diff(pe, "    ", color, out);
		safety_line(pe, "    ", out);
		return;
	}
	if (pe->action == PLAN_EP_NONE)
		ep_changes(pe, "    ", false, out);
}

static void purge_desc(const struct plan_purge *pp, struct sb *out)
{
	sb_addf(out, "%" PRId64 " file%s, %" PRId64 " dir%s", pp->files, pp->files == 1 ? "" : "s",
		pp->dirs, pp->dirs == 1 ? "" : "s");
	if (pp->patterns)
		sb_addf(out, ", %" PRId64 " pattern%s", pp->patterns, pp->patterns == 1 ? "" : "s");
	if (pp->regex)
		sb_addf(out, ", %" PRId64 " regex", pp->regex);
	if (pp->preloads)
		sb_addf(out, ", %" PRId64 " preload%s", pp->preloads, pp->preloads == 1 ? "" : "s");
	sb_addf(out, " in %zu request%s", pp->requests, pp->requests == 1 ? "" : "s");
}

static void purge_state_text(const struct plan_purge *pp, struct sb *out)
{
	if (pp->blocked) {
		sb_adds(out, "blocked: its endpoint could not be read");
		return;
	}
	switch (pp->state) {
	case PLAN_PURGE_RUN:
		sb_adds(out, "will run");
		break;
	case PLAN_PURGE_RETRY:
		sb_adds(out, "will run again (the last attempt failed)");
		break;
	case PLAN_PURGE_PENDING:
		sb_adds(out, "submitted earlier; apply waits for its result");
		break;
	case PLAN_PURGE_EDITED:
		sb_addf(out,
			"edited after it ran (recorded %.*s, now %.*s); not run again, "
			"use a new purge id",
			HASH_SHOWN, pp->recorded_hash, HASH_SHOWN, pp->content_hash);
		break;
	case PLAN_PURGE_OVER_QUOTA:
		sb_adds(out, "refused: exceeds the daily purge quota");
		break;
	case PLAN_PURGE_RETRY_UNKNOWN:
		sb_adds(out, "will send again the requests whose answer could not be read (they "
			     "may have been accepted: sent once more)");
		break;
	}
}

static void text_purges(const struct plan *p, bool color, struct sb *out)
{
	if (p->no_purges) {
		sb_adds(out, "\nPurges: not planned (--no-purges)\n");
		return;
	}
	if (!p->npurges)
		return;
	sb_adds(out, "\nPurges:\n");
	for (size_t i = 0; i < p->npurges; i++) {
		const struct plan_purge *pp = &p->purges[i];
		char s = plan_purge_runs(pp) ? '+' : pp->state == PLAN_PURGE_PENDING ? '~' : '!';
		sb_addf(out, "  %s%c%s %s on %s: ", color ? sign_color(s) : "", s,
			color ? C_RESET : "", pp->id, pp->endpoint);
		purge_desc(pp, out);
		sb_adds(out, "; ");
		purge_state_text(pp, out);
		sb_addc(out, '\n');
	}
}

static void quota_text(const struct plan_quota *q, const char *indent, struct sb *out)
{
	if (!q->known) {
		sb_addf(out, "%s%s (%s): remaining quota unknown\n", indent, q->account,
			provider_name(q->provider));
		return;
	}
	sb_addf(out,
		"%s%s (%s): this plan uses %" PRId64 " of %" PRId64 " file and %" PRId64
		" of %" PRId64 " directory purges left today%s\n",
		indent, q->account, provider_name(q->provider), q->files_planned, q->files_left,
		q->dirs_planned, q->dirs_left, q->exceeded ? "; some purges do not fit" : "");
}

static void text_footer(const struct plan *p, struct sb *out)
{
	struct plan_counts c;
	plan_count(p, &c);
	if (!plan_has_changes(p) && !c.error && !c.drift) {
		sb_adds(out, "\nNo changes. Live state matches the repository.\n");
		return;
	}
	sb_addf(out,
		"\nPlan: %zu endpoint%s to update (%zu added, %zu changed, %zu removed, "
		"%zu moved), %zu purge%s to run",
		c.update, c.update == 1 ? "" : "s", c.added, c.changed, c.removed, c.moved,
		c.purges_run, c.purges_run == 1 ? "" : "s");
	if (c.drift)
		sb_addf(out, ", %zu drifted (observe)", c.drift);
	if (c.purges_over_quota)
		sb_addf(out, ", %zu over quota", c.purges_over_quota);
	if (c.error)
		sb_addf(out, ", %zu error%s", c.error, c.error == 1 ? "" : "s");
	sb_adds(out, ".\n");
	if (c.safety_exceeded)
		sb_addf(
		    out,
		    "%zu endpoint%s exceed the safety threshold; apply refuses without --force.\n",
		    c.safety_exceeded, c.safety_exceeded == 1 ? "" : "s");
}

/* --quiet: the footer without the blank line that separates it from the plan. */
static void text_summary(const struct plan *p, struct sb *out)
{
	struct sb f;
	sb_init(&f, 0);
	text_footer(p, &f);
	sb_adds(out, f.buf[0] == '\n' ? f.buf + 1 : f.buf);
	sb_release(&f);
}

/* ---- plan --urls ---- */

static void behaviour_text(enum sem_mode m, int64_t ttl, struct sb *out)
{
	char d[32];
	duration_format(ttl, d, sizeof(d));
	if (m == SEM_ORIGIN)
		sb_adds(out, "origin decides");
	else if (m == SEM_BYPASS)
		sb_adds(out, "not cached");
	else
		sb_addf(out, "cached %s%s", d, m == SEM_IF_MISSING ? " if origin sends none" : "");
}

static void url_effect_text(const struct plan_url_effect *u, struct sb *out)
{
	behaviour_text(u->before_mode, u->before_ttl, out);
	sb_adds(out, " -> ");
	behaviour_text(u->after_mode, u->after_ttl, out);
}

static void text_urls(const struct plan *p, struct sb *out)
{
	if (!p->urls_given)
		return;
	if (!p->nurls) {
		sb_adds(out, "\nPaths (--urls): no listed path changes behaviour.\n");
		return;
	}
	sb_adds(out, "\nPaths whose caching changes (--urls):\n");
	for (size_t i = 0; i < p->nurls; i++) {
		sb_addf(out, "  %s %s: ", p->urls[i].endpoint, p->urls[i].path);
		url_effect_text(&p->urls[i], out);
		sb_addc(out, '\n');
	}
}

static void render_text(const struct plan *p, bool color, struct sb *out)
{
	if (p->commit[0])
		sb_addf(out, "cacheform plan for commit %.*s\n\n", COMMIT_SHOWN, p->commit);
	else
		sb_adds(out, "cacheform plan\n\n");
	size_t unchanged = 0;
	for (size_t i = 0; i < p->neps; i++) {
		const struct plan_endpoint *pe = &p->eps[i];
		/* a long fleet would bury its few changes under "no changes" lines */
		if (pe->action == PLAN_EP_NONE && !pe->equivalent && !pe->notes.n &&
		    !p->show_unchanged)
			unchanged++;
		else
			text_endpoint(pe, color, out);
	}
	if (unchanged)
		sb_addf(out, "%zu endpoint%s without changes (--show-unchanged lists %s)\n",
			unchanged, unchanged == 1 ? "" : "s", unchanged == 1 ? "it" : "them");
	text_urls(p, out);
	text_purges(p, color, out);
	if (p->nquotas) {
		sb_adds(out, "\nQuotas:\n");
		for (size_t i = 0; i < p->nquotas; i++)
			quota_text(&p->quotas[i], "  ", out);
	}
	text_footer(p, out);
}

/* ---- markdown ---- */

/* Table cells: escape what would end the cell or start markup. */
static void md_cell(const char *s, struct sb *out)
{
	for (; *s; s++) {
		if (*s == '|' || *s == '\\' || *s == '`' || *s == '*' || *s == '_' || *s == '<' ||
		    *s == '>' || *s == '[' || *s == ']')
			sb_addc(out, '\\');
		sb_addc(out, *s == '\n' ? ' ' : *s);
	}
}

/*
 * A markdown plan is a pull-request comment, so it must fit GitHub's limit (65,536
 * characters; bytes are counted, which is never fewer). It is assembled piece by piece in
 * priority order (summary, safety, quotas, the changed endpoints' table, purges, the changed
 * endpoints' diffs, purge URLs); the first piece that does not fit ends the listing, and
 * a closing section says how much was left out and where the full plan is.
 */
struct md_doc {
	struct sb *out;
	size_t max; /* bytes the finished document may have */
	bool full;  /* a piece did not fit: everything after it is counted, not shown */
	size_t rows, details, purges, urls, effects; /* pieces left out, per kind */
};

static void md_urls(const struct plan *p, struct sb *out)
{
	if (!p->urls_given)
		return;
	if (!p->nurls) {
		sb_adds(out, "\nNo listed path (`--urls`) changes behaviour.\n");
		return;
	}
	sb_adds(out, "\n| Endpoint | Path | Before | After |\n|---|---|---|---|\n");
	for (size_t i = 0; i < p->nurls; i++) {
		const struct plan_url_effect *u = &p->urls[i];
		struct sb b;
		sb_init(&b, 0);
		sb_adds(out, "| ");
		md_cell(u->endpoint, out);
		sb_adds(out, " | ");
		md_cell(u->path, out);
		sb_adds(out, " | ");
		behaviour_text(u->before_mode, u->before_ttl, &b);
		md_cell(b.buf, out);
		sb_reset(&b);
		sb_adds(out, " | ");
		behaviour_text(u->after_mode, u->after_ttl, &b);
		md_cell(b.buf, out);
		sb_adds(out, " |\n");
		sb_release(&b);
	}
}

/* Appends piece when it fits (keeping room for the closing section); else counts it. */
static void md_put(struct md_doc *d, const struct sb *piece, size_t *left_out)
{
	if (!d->full && d->out->len + piece->len + RENDER_MD_RESERVE <= d->max &&
	    sb_add(d->out, piece->buf, piece->len) == 0)
		return;
	d->full = true;
	(*left_out)++;
}

/* The endpoints a comment lists: those apply would write, that drifted, failed or tripped
 * the safety threshold. The others are only counted. */
static bool md_listed(const struct plan_endpoint *pe)
{
	return pe->action == PLAN_EP_UPDATE || pe->action == PLAN_EP_DRIFT ||
	       pe->action == PLAN_EP_ERROR || pe->safety_exceeded;
}

/* HTML comment text: no "--", no ">", nothing a path would not hold. */
void render_md_marker(const char *kind, const char *path, struct sb *out)
{
	sb_addf(out, "<!-- cacheform:%s:", kind);
	char prev = 0;
	for (const char *c = path && *path ? path : "."; *c; c++) {
		char ch =
		    (strchr("/._+@", *c) || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
		     (*c >= 'A' && *c <= 'Z') || (*c == '-' && prev != '-'))
			? *c
			: '_';
		sb_addc(out, ch);
		prev = ch;
	}
	sb_adds(out, " -->\n");
}

static void md_table_row(const struct plan_endpoint *pe, struct sb *out)
{
	sb_adds(out, "| ");
	md_cell(pe->name, out);
	sb_addf(out, " | %s | %s%s | %zu | %zu | %zu | %zu |\n", provider_name(pe->provider),
		plan_ep_action_name(pe->action), pe->safety_exceeded ? " (safety)" : "",
		pe->diff.nadd, pe->diff.nchange, pe->diff.nremove, pe->diff.nmove);
}

static void md_purge_row(const struct plan_purge *pp, struct sb *out)
{
	struct sb cost;
	sb_init(&cost, 0);
	purge_desc(pp, &cost);
	sb_adds(out, "| ");
	md_cell(pp->id, out);
	sb_adds(out, " | ");
	md_cell(pp->endpoint, out);
	sb_addf(out, " | %s%s | %s |\n", plan_purge_state_name(pp->state),
		pp->blocked ? " (blocked)" : "", cost.buf);
	sb_release(&cost);
}

/* The URLs a purge sends, in a code block (so nothing in them is markup), capped. */
static void md_purge_urls(const struct plan_purge *pp, struct sb *out)
{
	sb_adds(out, "\n<details><summary>");
	md_cell(pp->id, out);
	sb_adds(out, " on ");
	md_cell(pp->endpoint, out);
	sb_addf(out, ": %zu URL%s</summary>\n\n```\n", pp->urls.n, pp->urls.n == 1 ? "" : "s");
	for (size_t i = 0; i < pp->urls.n && i < RENDER_MD_URLS_MAX; i++) {
		for (const char *c = pp->urls.v[i].s; *c; c++)
			sb_addc(out, *c == '`' || *c == '\n' ? '?' : *c);
		sb_addc(out, '\n');
	}
	if (pp->urls.n > RENDER_MD_URLS_MAX)
		sb_addf(out, "... and %zu more\n", pp->urls.n - RENDER_MD_URLS_MAX);
	sb_adds(out, "```\n\n</details>\n");
}

/*
 * Inside a ```diff block the only thing to avoid is a line that closes the fence. GitHub
 * colours only "+", "-" and "!" lines, so changes and moves ("~", ">") are shown as "!".
 */
static void md_details(const struct plan_endpoint *pe, struct sb *out)
{
	sb_adds(out, "\n<details><summary>");
	md_cell(pe->name, out);
	sb_addf(out, ": %s", plan_ep_action_name(pe->action));
	if (pe->action == PLAN_EP_UPDATE || pe->action == PLAN_EP_DRIFT) {
		sb_adds(out, " (");
		ep_summary(pe, out);
		sb_addc(out, ')');
	}
	sb_adds(out, "</summary>\n\n");
	if (pe->action == PLAN_EP_ERROR) {
		sb_adds(out, "Error: ");
		md_cell(pe->error, out);
		sb_adds(out, "\n\n</details>\n");
		return;
	}
	struct sb body;
	sb_init(&body, 0);
	ep_changes(pe, "", false, &body);
	safety_line(pe, "", &body);
	for (char *q = strstr(body.buf, "```"); q; q = strstr(q, "```"))
		*q = '\'';
	for (size_t i = 0; i < body.len; i++)
		if ((i == 0 || body.buf[i - 1] == '\n') &&
		    (body.buf[i] == '~' || body.buf[i] == '>'))
			body.buf[i] = '!';
	sb_addf(out, "```diff\n%s```\n\n</details>\n", body.len ? body.buf : "  no changes\n");
	sb_release(&body);
}

static void md_head(const struct plan *p, const struct render_opts *o, struct md_doc *d)
{
	struct plan_counts c;
	plan_count(p, &c);
	size_t listed = 0;
	for (size_t i = 0; i < p->neps; i++)
		listed += md_listed(&p->eps[i]);
	struct sb *out = d->out;
	render_md_marker("plan", o->md_path, out);
	sb_adds(out, "### cacheform plan\n\n");
	if (p->commit[0])
		sb_addf(out, "Desired commit `%.*s`. ", COMMIT_SHOWN, p->commit);
	sb_addf(out,
		"**%zu** to update, **%zu** purge%s to run, %zu drifted, %zu error%s; "
		"%zu of %zu endpoint%s unchanged (not listed).\n",
		c.update, c.purges_run, c.purges_run == 1 ? "" : "s", c.drift, c.error,
		c.error == 1 ? "" : "s", p->neps - listed, p->neps, p->neps == 1 ? "" : "s");
	if (c.safety_exceeded)
		sb_adds(out,
			"\n> [!WARNING]\n> Safety threshold exceeded; apply needs `--force`.\n");
	if (p->no_purges)
		sb_adds(out, "\nPurges: not planned (`--no-purges`).\n");
	if (p->nquotas)
		sb_adds(out, "\n**Purge quotas**\n\n");
	for (size_t i = 0; i < p->nquotas; i++)
		quota_text(&p->quotas[i], "- ", out);
}

/* The listing, piece by piece, each appended only if it fits (md_put). */
static void md_body(const struct plan *p, struct md_doc *d)
{
	struct sb piece;
	sb_init(&piece, 0);
	bool any = false;
	for (size_t i = 0; i < p->neps; i++) {
		if (!md_listed(&p->eps[i]))
			continue;
		sb_reset(&piece);
		if (!any)
			sb_adds(&piece,
				"\n| Endpoint | Provider | Action | Added | Changed | Removed | "
				"Moved |\n|---|---|---|---:|---:|---:|---:|\n");
		any = true;
		md_table_row(&p->eps[i], &piece);
		md_put(d, &piece, &d->rows);
	}
	sb_reset(&piece);
	md_urls(p, &piece); /* plan --urls: the paths whose behaviour changes */
	if (piece.len)
		md_put(d, &piece, &d->effects);
	for (size_t i = 0; i < p->npurges; i++) {
		sb_reset(&piece);
		if (i == 0)
			sb_adds(&piece,
				"\n| Purge | Endpoint | State | Cost |\n|---|---|---|---|\n");
		md_purge_row(&p->purges[i], &piece);
		md_put(d, &piece, &d->purges);
	}
	for (size_t i = 0; i < p->neps; i++) {
		if (!md_listed(&p->eps[i]))
			continue;
		sb_reset(&piece);
		md_details(&p->eps[i], &piece);
		md_put(d, &piece, &d->details);
	}
	for (size_t i = 0; i < p->npurges; i++) {
		if (!p->purges[i].urls.n)
			continue;
		sb_reset(&piece);
		md_purge_urls(&p->purges[i], &piece);
		md_put(d, &piece, &d->urls);
	}
	sb_release(&piece);
}

static void md_left_out(const struct md_doc *d, const struct render_opts *o)
{
	struct sb *out = d->out;
	sb_addf(out,
		"\n### Not shown\n\nThis comment stops at %zu characters to stay under GitHub's "
		"limit of %d. Left out:",
		out->len, RENDER_MD_MAX);
	const char *sep = " ";
	const struct {
		size_t n;
		const char *what;
	} kinds[] = {{d->rows, "endpoint table row"},
		     {d->purges, "purge row"},
		     {d->details, "endpoint diff"},
		     {d->urls, "purge URL list"},
		     {d->effects, "behaviour table (--urls)"}};
	for (size_t i = 0; i < CF_ARRAY_LEN(kinds); i++) {
		if (!kinds[i].n)
			continue;
		sb_addf(out, "%s%zu %s%s", sep, kinds[i].n, kinds[i].what,
			kinds[i].n == 1 ? "" : "s");
		sep = ", ";
	}
	sb_addf(out, ".\nThe full plan: %s.\n",
		o->md_full_plan ? o->md_full_plan
				: "run `cacheform plan` (text) or `cacheform plan --format json` "
				  "at the same commit");
}

static void render_markdown(const struct plan *p, const struct render_opts *o, struct sb *out)
{
	struct md_doc d = {out, o->md_max ? o->md_max : RENDER_MD_MAX, false, 0, 0, 0, 0, 0};
	d.max += out->len;
	md_head(p, o, &d);
	md_body(p, &d);
	if (d.full)
		md_left_out(&d, o);
	if (o->md_truncated)
		*o->md_truncated = d.full;
}

/* ---- github workflow commands ---- */

static void gh_data(const char *s, struct sb *out)
{
	for (; *s; s++) {
		if (*s == '%')
			sb_adds(out, "%25");
		else if (*s == '\r')
			sb_adds(out, "%0D");
		else if (*s == '\n')
			sb_adds(out, "%0A");
		else
			sb_addc(out, *s);
	}
}

void render_github_command(const char *level, const char *title, const char *msg, struct sb *out)
{
	sb_addf(out, "::%s title=%s::", level, title);
	gh_data(msg, out);
	sb_addc(out, '\n');
}

static void gh_endpoint(const struct plan_endpoint *pe, struct sb *out)
{
	struct sb m;
	sb_init(&m, 0);
	sb_addf(&m, "%s: ", pe->name);
	if (pe->action == PLAN_EP_ERROR) {
		sb_adds(&m, pe->error);
		render_github_command("error", "cacheform", m.buf, out);
	} else if (pe->action == PLAN_EP_UPDATE || pe->action == PLAN_EP_DRIFT) {
		sb_adds(&m, pe->action == PLAN_EP_UPDATE ? "update cache rules ("
							 : "drift (observe) (");
		ep_summary(pe, &m);
		sb_adds(&m, ")\n");
		ep_changes(pe, "", false, &m);
		render_github_command(pe->action == PLAN_EP_UPDATE ? "notice" : "warning",
				      pe->action == PLAN_EP_UPDATE ? "cacheform plan"
								   : "cacheform drift",
				      m.buf, out);
		if (pe->safety_exceeded) {
			sb_reset(&m);
			sb_addf(&m, "%s: %u%% of %zu existing rules disturbed; apply needs --force",
				pe->name, pe->pct, pe->existing);
			render_github_command("warning", "cacheform safety", m.buf, out);
		}
	}
	sb_release(&m);
}

static void render_github(const struct plan *p, struct sb *out)
{
	for (size_t i = 0; i < p->neps; i++)
		gh_endpoint(&p->eps[i], out);
	for (size_t i = 0; i < p->npurges; i++) {
		const struct plan_purge *pp = &p->purges[i];
		struct sb m;
		sb_init(&m, 0);
		sb_addf(&m, "%s on %s: ", pp->id, pp->endpoint);
		purge_desc(pp, &m);
		sb_adds(&m, "; ");
		purge_state_text(pp, &m);
		render_github_command(
		    plan_purge_runs(pp) || pp->state == PLAN_PURGE_PENDING ? "notice" : "warning",
		    "cacheform purge", m.buf, out);
		sb_release(&m);
	}
	for (size_t i = 0; i < p->nurls; i++) {
		struct sb m;
		sb_init(&m, 0);
		sb_addf(&m, "%s %s: ", p->urls[i].endpoint, p->urls[i].path);
		url_effect_text(&p->urls[i], &m);
		render_github_command("notice", "cacheform behaviour", m.buf, out);
		sb_release(&m);
	}
	sb_adds(out, "::group::cacheform plan\n");
	render_text(p, false, out);
	sb_adds(out, "::endgroup::\n");
}

int render_plan(const struct plan *p, const struct render_opts *o, struct sb *out)
{
	switch (o->format) {
	case OUT_TEXT:
		if (o->quiet)
			text_summary(p, out);
		else
			render_text(p, o->color, out);
		break;
	case OUT_JSON:
		return planfile_encode(p, out);
	case OUT_MARKDOWN:
		render_markdown(p, o, out);
		break;
	case OUT_GITHUB:
		render_github(p, out);
		break;
	default: /* not a plan format: render_format_parse never yields one */
		return -1;
	}
	return out->overflow ? -1 : 0;
}
