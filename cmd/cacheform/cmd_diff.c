/*
 * cacheform diff: the desired state at two revisions, compared offline. It needs no
 * credentials and opens no connection, so it is the pull-request check for untrusted
 * branches: what rules change per endpoint, which endpoints come or go, which purges run on
 * merge, and whether the head validates. Without --head the working tree is the head (what
 * the checked-out pull request holds, uncommitted edits included).
 */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "reconcile/base/outfmt.h"
#include "cmd/cacheform/cmd_load.h"
#include "cmd/cacheform/repo_label.h"
#include "reconcile/render.h"
#include "reconcile/repo.h"
#include "reconcile/revdiff.h"
#include "reconcile/base/sb.h"
#include "schema/check.h"
#include "schema/report.h"

#define DIFF_SHORT_COMMIT 12

static const char *opt_base, *opt_head, *opt_repo, *opt_format;
static bool opt_detailed;

const struct opt diff_opts[] = {
    {"base", 0, OPT_STR, &opt_base, "REV", "revision to compare against (required)"},
    {"detailed-exitcode", 0, OPT_BOOL, &opt_detailed, NULL, "exit 2 when something changes"},
    {"format", 0, OPT_STR, &opt_format, "FMT", "text (default), json or markdown"},
    {"head", 0, OPT_STR, &opt_head, "REV", "revision to compare (default: the working tree)"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

/* One side of the comparison: what was read at a revision and what validation said. */
struct side {
	const char *rev; /* NULL = working tree */
	char commit[41];
	struct config *cfg;
	struct diag_list diags;
};

/* Takes what cmd_load_pair read at rev out of r (released). */
static int side_take(struct side *s, const char *rev, struct cmd_repo *r, struct cf_err *e)
{
	int rc = CF_OK;
	s->rev = rev;
	s->diags = r->diags;
	diag_init(&r->diags);
	if (!r->src) {
		rc = err_set(e, CF_EIO, "%s",
			     s->diags.n ? s->diags.v[0].msg : "cannot open the repository");
	} else {
		snprintf(s->commit, sizeof(s->commit), "%s", r->cfg->commit);
		s->cfg = r->cfg;
		r->cfg = NULL;
	}
	cmd_repo_release(r);
	return rc;
}

/*
 * Both sides: the head's unchanged endpoint files are copied from the base's load (issue 17:
 * reading and parsing them again made diff 1.6x a validate). CACHEFORM_DIFF_STATS=1 says how
 * many, on stderr; CACHEFORM_DIFF_NOSHARE=1 reads every file (the output is the same: for
 * comparing, and for doubting).
 */
static int sides_load(struct side *base, struct side *head, struct cmd_pair *pair, struct cf_err *e)
{
	struct cmd_repo rb, rh;
	(void)cmd_load_pair(opt_repo, opt_base, opt_head, NULL, !getenv("CACHEFORM_DIFF_NOSHARE"),
			    &rb, &rh, pair);
	if (getenv("CACHEFORM_DIFF_STATS"))
		fprintf(stderr, "diff stats: %zu endpoint files shared with the base, %zu read\n",
			pair->shared, pair->read);
	int rc = side_take(base, opt_base, &rb, e);
	if (rc < 0) {
		cmd_repo_release(&rh);
		return rc;
	}
	return side_take(head, opt_head, &rh, e);
}

static void side_release(struct side *s)
{
	config_free(s->cfg);
	diag_release(&s->diags);
}

/* "origin/main (0123456789ab)" or "working tree". */
static void side_label(struct sb *sb, const struct side *s)
{
	if (!s->rev)
		sb_adds(sb, "working tree");
	else if (s->commit[0])
		sb_addf(sb, "%s (%.*s)", s->rev, DIFF_SHORT_COMMIT, s->commit);
	else
		sb_adds(sb, s->rev);
}

static const char *str_or(const char *s)
{
	return s ? s : "?";
}

/* ---- lines shared by text and markdown: one per rule change, diff(1)-style prefixes ---- */

static const struct rule *rule_at(const struct endpoint *ep, long i)
{
	return ep && i >= 0 && (size_t)i < ep->cache.nrules ? &ep->cache.rules[i] : NULL;
}

static void ep_lines(struct sb *sb, const char *indent, const struct revdiff_ep *x)
{
	for (size_t i = 0; i < x->nsettings; i++)
		sb_addf(sb, "%s~ %s: %s -> %s\n", indent, x->settings[i].field,
			x->settings[i].before[0] ? x->settings[i].before : "(none)",
			x->settings[i].after[0] ? x->settings[i].after : "(none)");
	static const struct cache empty;
	revdiff_cache_lines(sb, indent, x->base ? &x->base->cache : &empty,
			    x->head ? &x->head->cache : &empty, &x->rules);
	if (x->kind == REVDIFF_EP_REMOVED)
		sb_addf(sb, "%s  no longer managed: its live configuration is left as it is\n",
			indent);
	else if (!x->rules_managed)
		sb_addf(sb, "%s  mode purge-only: cache rules are not managed\n", indent);
}

static const char *ep_name(const struct revdiff_ep *x)
{
	return x->head ? x->head->name.s : x->base->name.s;
}

static const struct endpoint *ep_any(const struct revdiff_ep *x)
{
	return x->head ? x->head : x->base;
}

/* "1 added, 2 changed, 1 removed, 1 moved" for an endpoint's rules. */
static void rule_counts(struct sb *sb, const struct revdiff_ep *x)
{
	const struct cache_diff *r = &x->rules;
	size_t before = sb->len;
	if (r->nadd)
		sb_addf(sb, "%zu added", r->nadd);
	if (r->nchange)
		sb_addf(sb, "%s%zu changed", sb->len > before ? ", " : "", r->nchange);
	if (r->nremove)
		sb_addf(sb, "%s%zu removed", sb->len > before ? ", " : "", r->nremove);
	if (r->nmove)
		sb_addf(sb, "%s%zu moved", sb->len > before ? ", " : "", r->nmove);
	if (sb->len == before)
		sb_adds(sb, "no rule change");
}

static void purge_endpoints(struct sb *sb, const struct purge *p)
{
	for (size_t i = 0; i < p->endpoints.n; i++)
		sb_addf(sb, "%s%s", i ? ", " : "", p->endpoints.v[i].s);
}

static const char *const purge_notes[] = {
    [REVDIFF_PURGE_NEW] = "runs on merge",
    [REVDIFF_PURGE_EDITED] = "edited: if it already ran it is not run again (use a new id)",
    [REVDIFF_PURGE_REMOVED] = "manifest removed (no effect at the CDN)",
};

/* ---- text ---- */

static void render_text(struct sb *sb, const struct side *base, const struct side *head,
			const struct revdiff *d)
{
	sb_adds(sb, "diff ");
	side_label(sb, base);
	sb_adds(sb, " -> ");
	side_label(sb, head);
	sb_addc(sb, '\n');
	if (!d->neps && !d->npurges)
		sb_adds(sb, "no changes\n");
	for (size_t i = 0; i < d->neps; i++) {
		const struct revdiff_ep *x = &d->eps[i];
		const struct endpoint *ep = ep_any(x);
		sb_addf(sb, "\nendpoint %s (%s, account %s): %s", ep_name(x),
			ep->account ? provider_name(ep->account->provider) : "unknown account",
			str_or(ep->account_name.s), revdiff_ep_kind_name(x->kind));
		if (x->rules_managed) {
			sb_adds(sb, ", ");
			rule_counts(sb, x);
		}
		sb_addc(sb, '\n');
		ep_lines(sb, "  ", x);
	}
	for (size_t i = 0; i < d->npurges; i++) {
		const struct revdiff_purge *p = &d->purges[i];
		const struct purge *m = p->head ? p->head : p->base;
		sb_addf(sb, "%spurge %s on ", i ? "" : "\n", m->id.s);
		purge_endpoints(sb, m);
		sb_addf(sb, ": %s\n", purge_notes[p->kind]);
	}
}

/* ---- markdown (pull-request comments) ---- */

/* Escapes what Markdown would interpret, so a message cannot break the comment's layout. */
static void md_text(struct sb *sb, const char *s)
{
	for (; *s; s++) {
		if (strchr("\\`*_[]<>|#~", *s))
			sb_addc(sb, '\\');
		sb_addc(sb, *s == '\n' || *s == '\r' ? ' ' : *s);
	}
}

static void md_findings(struct sb *sb, const struct diag_list *d)
{
	sb_addf(sb, "\n#### Validation of the head: %zu error%s, %zu warning%s\n\n", d->nerrors,
		d->nerrors == 1 ? "" : "s", d->nwarnings, d->nwarnings == 1 ? "" : "s");
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		sb_adds(sb, "- ");
		if (g->pos.file)
			sb_addf(sb, "`%s:%u:%u` ", g->pos.file, g->pos.line, g->pos.col);
		sb_addf(sb, "**%s** %s: ", g->sev == DIAG_ERROR ? "error" : "warning", g->code);
		md_text(sb, g->msg);
		sb_addc(sb, '\n');
	}
}

static void md_endpoints(struct sb *sb, const struct revdiff *d)
{
	sb_adds(sb, "\n| endpoint | provider | change | rules |\n|---|---|---|---|\n");
	for (size_t i = 0; i < d->neps; i++) {
		const struct revdiff_ep *x = &d->eps[i];
		const struct endpoint *ep = ep_any(x);
		sb_addf(sb, "| %s | %s | %s | ", ep_name(x),
			ep->account ? provider_name(ep->account->provider) : "?",
			revdiff_ep_kind_name(x->kind));
		if (x->rules_managed)
			rule_counts(sb, x);
		else
			sb_adds(sb, "not managed");
		sb_adds(sb, " |\n");
	}
	for (size_t i = 0; i < d->neps; i++) {
		const struct revdiff_ep *x = &d->eps[i];
		sb_addf(sb, "\n<details><summary><b>%s</b>: %s</summary>\n\n```diff\n", ep_name(x),
			revdiff_ep_kind_name(x->kind));
		ep_lines(sb, "", x);
		sb_adds(sb, "```\n\n</details>\n");
	}
}

static void md_purges(struct sb *sb, const struct revdiff *d)
{
	if (!d->npurges)
		return;
	sb_adds(sb, "\n#### Purges\n\n| purge | endpoints | effect |\n|---|---|---|\n");
	for (size_t i = 0; i < d->npurges; i++) {
		const struct revdiff_purge *p = &d->purges[i];
		const struct purge *m = p->head ? p->head : p->base;
		sb_addf(sb, "| %s | ", m->id.s);
		purge_endpoints(sb, m);
		sb_addf(sb, " | %s |\n", purge_notes[p->kind]);
	}
}

static size_t purges_of(const struct revdiff *d, enum revdiff_purge_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < d->npurges; i++)
		n += d->purges[i].kind == k;
	return n;
}

static void render_markdown(struct sb *sb, const struct side *base, const struct side *head,
			    const struct revdiff *d, const struct diag_list *findings)
{
	struct sb label;
	sb_init(&label, 0);
	repo_label(opt_repo, &label);
	render_md_marker("diff", label.buf, sb);
	sb_release(&label);
	sb_adds(sb, "### cacheform diff: `");
	side_label(sb, base);
	sb_adds(sb, "` → `");
	side_label(sb, head);
	sb_adds(sb, "`\n\n");
	if (!revdiff_has_changes(d))
		sb_adds(sb, "**No changes** to cache rules or purges.\n");
	else
		sb_addf(sb, "**%zu endpoint%s change, %zu purge%s run%s on merge.**\n", d->neps,
			d->neps == 1 ? "" : "s", purges_of(d, REVDIFF_PURGE_NEW),
			purges_of(d, REVDIFF_PURGE_NEW) == 1 ? "" : "s",
			purges_of(d, REVDIFF_PURGE_NEW) == 1 ? "s" : "");
	if (findings->n)
		md_findings(sb, findings);
	if (d->neps)
		md_endpoints(sb, d);
	md_purges(sb, d);
}

/* ---- json (format_version 2: rule changes in the shape of render_change_json) ---- */

static void json_side(struct sb *sb, const struct side *s)
{
	sb_adds(sb, "{\"rev\":");
	if (s->rev)
		sb_add_json_str(sb, s->rev);
	else
		sb_adds(sb, "null");
	sb_addf(sb, ",\"commit\":\"%s\",\"worktree\":%s}", s->commit, s->rev ? "false" : "true");
}

static void json_ep_rules(struct sb *sb, const struct revdiff_ep *x)
{
	sb_adds(sb, ",\"flags\":[");
	for (size_t i = 0; i < x->rules.nflags; i++)
		sb_addf(sb, "%s{\"flag\":\"%s\",\"before\":%s,\"after\":%s}", i ? "," : "",
			rulediff_flag_name(x->rules.flags[i].flag),
			x->rules.flags[i].before ? "true" : "false",
			x->rules.flags[i].after ? "true" : "false");
	sb_adds(sb, "],\"rules\":[");
	for (size_t i = 0; i < x->rules.n; i++) {
		const struct rulediff_entry *de = &x->rules.v[i];
		if (i)
			sb_addc(sb, ',');
		render_change_json(de, rule_at(x->base, de->before), rule_at(x->head, de->after),
				   sb);
	}
	sb_addc(sb, ']');
}

static void json_ep(struct sb *sb, const struct revdiff_ep *x)
{
	const struct endpoint *ep = ep_any(x);
	sb_adds(sb, "{\"name\":");
	sb_add_json_str(sb, ep_name(x));
	sb_addf(sb, ",\"change\":\"%s\",\"provider\":", revdiff_ep_kind_name(x->kind));
	if (ep->account)
		sb_addf(sb, "\"%s\"", provider_name(ep->account->provider));
	else
		sb_adds(sb, "null");
	sb_addf(sb, ",\"rules_managed\":%s,\"settings\":[", x->rules_managed ? "true" : "false");
	for (size_t i = 0; i < x->nsettings; i++) {
		sb_addf(sb, "%s{\"field\":\"%s\",\"before\":", i ? "," : "", x->settings[i].field);
		sb_add_json_str(sb, x->settings[i].before);
		sb_adds(sb, ",\"after\":");
		sb_add_json_str(sb, x->settings[i].after);
		sb_addc(sb, '}');
	}
	sb_addc(sb, ']');
	json_ep_rules(sb, x);
	sb_addc(sb, '}');
}

static void json_purge(struct sb *sb, const struct revdiff_purge *p)
{
	const struct purge *m = p->head ? p->head : p->base;
	sb_adds(sb, "{\"id\":");
	sb_add_json_str(sb, m->id.s);
	sb_addf(sb, ",\"change\":\"%s\",\"runs_on_merge\":%s,\"endpoints\":[",
		revdiff_purge_kind_name(p->kind), p->kind == REVDIFF_PURGE_NEW ? "true" : "false");
	for (size_t i = 0; i < m->endpoints.n; i++) {
		if (i)
			sb_addc(sb, ',');
		sb_add_json_str(sb, m->endpoints.v[i].s);
	}
	sb_addf(sb, "],\"content_hash\":\"%s\"}", m->content_hash);
}

/* The head's findings as schema/report.c renders them, embedded as one member. */
static int json_validation(struct sb *sb, const struct diag_list *findings)
{
	struct report_opts ro = {.format = OUT_JSON, .path_prefix = opt_repo};
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return CF_EIO;
	int rc = report_write(mem, findings, &ro);
	if (fclose(mem) != 0 && rc == 0)
		rc = CF_EIO;
	if (rc == 0)
		sb_add(sb, buf, len);
	free(buf);
	return rc;
}

static int render_json(struct sb *sb, const struct side *base, const struct side *head,
		       const struct revdiff *d, const struct diag_list *findings)
{
	sb_adds(sb, "{\"format_version\":2,\"base\":");
	json_side(sb, base);
	sb_adds(sb, ",\"head\":");
	json_side(sb, head);
	sb_addf(sb, ",\"changed\":%s,\"endpoints\":[", revdiff_has_changes(d) ? "true" : "false");
	for (size_t i = 0; i < d->neps; i++) {
		sb_adds(sb, i ? ",\n" : "\n");
		json_ep(sb, &d->eps[i]);
	}
	sb_adds(sb, "],\"purges\":[");
	for (size_t i = 0; i < d->npurges; i++) {
		sb_adds(sb, i ? ",\n" : "\n");
		json_purge(sb, &d->purges[i]);
	}
	sb_adds(sb, "],\"validation\":");
	int rc = json_validation(sb, findings);
	sb_adds(sb, "}\n");
	return rc;
}

/* ---- the command ---- */

/* The head's errors and warnings (notices such as a dropped suffix dot are noise here). */
static void head_findings(const struct diag_list *all, struct diag_list *out)
{
	diag_init(out);
	for (size_t i = 0; i < all->n; i++)
		if (all->v[i].sev != DIAG_NOTICE)
			diag_add(out, all->v[i].sev, &all->v[i].pos, all->v[i].code, "%s",
				 all->v[i].msg);
}

static int diff_parse_args(int argc, char **argv, enum out_format *fmt)
{
	int npos;
	if (opt_parse("diff", diff_opts, argc, argv, &npos) < 0)
		return -1;
	if (npos > 0) {
		fprintf(stderr, "cacheform diff: unexpected argument '%s'\n", argv[0]);
		return -1;
	}
	if (!opt_base) {
		fprintf(stderr, "cacheform diff: --base REV is required\n");
		return -1;
	}
	*fmt = OUT_TEXT;
	if (opt_format &&
	    out_format_parse(opt_format,
			     OUT_BIT(OUT_TEXT) | OUT_BIT(OUT_JSON) | OUT_BIT(OUT_MARKDOWN),
			     fmt) < 0) {
		fprintf(stderr, "cacheform diff: --format must be text, json or markdown\n");
		return -1;
	}
	return 0;
}

static int diff_render(enum out_format fmt, const struct side *base, const struct side *head,
		       const struct revdiff *d, const struct diag_list *findings)
{
	struct report_opts ro = {.format = OUT_TEXT, .path_prefix = opt_repo};
	struct sb sb;
	int rc = 0;
	sb_init(&sb, 0);
	if (fmt == OUT_JSON)
		rc = render_json(&sb, base, head, d, findings);
	else if (fmt == OUT_MARKDOWN)
		render_markdown(&sb, base, head, d, findings);
	else
		render_text(&sb, base, head, d);
	if (sb.overflow)
		rc = CF_ELIMIT;
	if (fwrite(sb.buf, 1, sb.len, stdout) != sb.len)
		rc = CF_EIO;
	if (fmt == OUT_TEXT && findings->n) {
		printf("\nvalidation of the head:\n");
		if (report_write(stdout, findings, &ro) < 0)
			rc = CF_EIO;
	}
	if (fmt == OUT_TEXT && base->diags.nerrors)
		printf("note: the base has %zu validation error%s; it was compared as far as it "
		       "could be read\n",
		       base->diags.nerrors, base->diags.nerrors == 1 ? "" : "s");
	sb_release(&sb);
	return rc;
}

int cmd_diff(int argc, char **argv)
{
	struct side base = {0}, head = {0};
	struct revdiff d = {0};
	struct cmd_pair pair = {0};
	struct diag_list findings;
	enum out_format fmt = OUT_TEXT;
	struct cf_err e;
	int ret = EXIT_ERROR;
	err_clear(&e);
	diag_init(&findings);
	if (diff_parse_args(argc, argv, &fmt) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (sides_load(&base, &head, &pair, &e) < 0 ||
	    revdiff_build(base.cfg, head.cfg, pair.twins, &d, &e) < 0) {
		err_print(&e);
		goto out;
	}
	head_findings(&head.diags, &findings);
	if (diff_render(fmt, &base, &head, &d, &findings) < 0) {
		fprintf(stderr, "cacheform diff: cannot write the output\n");
		goto out;
	}
	if (head.diags.nerrors)
		ret = EXIT_ERROR;
	else
		ret = opt_detailed && revdiff_has_changes(&d) ? EXIT_CHANGES : EXIT_OK;
out:
	revdiff_release(&d);
	cmd_pair_release(&pair);
	diag_release(&findings);
	side_release(&base);
	side_release(&head);
	return ret;
}
