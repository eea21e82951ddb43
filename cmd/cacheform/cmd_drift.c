/*
 * cacheform drift: read every selected endpoint and compare desired, live and last applied
 * (reconcile/drift.h says how each difference is classified). Exit 2 on drift, 1 when an
 * endpoint could not be checked (an incomplete check must not pass as clean), 0 otherwise.
 * --shard I/N checks shard I of N (1-based): whole rate domains (reconcile/shard.h), or with
 * --shard-budget split every domain's endpoints by name, each shard on 1/N of the budget.
 */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "reconcile/base/outfmt.h"
#include "reconcile/base/progress.h"
#include "cmd/cacheform/cmd_load.h"
#include "reconcile/drift.h"
#include "reconcile/driftci.h"
#include "reconcile/engine.h"
#include "cmd/cacheform/repo_label.h"
#include "reconcile/render.h"
#include "reconcile/repo_ledger.h"
#include "reconcile/revdiff.h"
#include "reconcile/base/sb.h"
#include "reconcile/shard.h"

#define DRIFT_SHORT_COMMIT 12

static unsigned opt_parallelism;
static const char *opt_repo, *opt_ref, *opt_format, *opt_shard, *opt_shard_budget;
static struct svec opt_only, opt_exclude;
static bool opt_quiet;
/*
 * The configuration of the last run, left to the process's exit: it holds every endpoint of
 * the repository (not only a shard's), and freeing 100,000 endpoints string by string took
 * ~0.25 s of CPU after the report was out, in all N shards at the same moment. Kept reachable
 * here, so leak checkers do not count it; a second run in one process frees the first's.
 */
static struct config *drift_cfg_kept;

const struct opt drift_opts[] = {
    {"endpoint", 'e', OPT_STRLIST, &opt_only, "NAME",
     "check only the endpoints NAME matches (a name or a glob such as 'cn-*'; repeatable)"},
    {"exclude", 0, OPT_STRLIST, &opt_exclude, "NAME",
     "leave out the endpoints NAME matches (a glob; repeatable)"},
    {"format", 0, OPT_STR, &opt_format, "FMT",
     "text (default), json, markdown, gitlab (Code Quality) or junit"},
    {"parallelism", 0, OPT_UINT, &opt_parallelism, "N",
     "concurrent requests (default 8, at most 1024)"},
    {"quiet", 'q', OPT_BOOL, &opt_quiet, NULL,
     "text: only the endpoints not checked and the summary line; no progress"},
    {"ref", 0, OPT_STR, &opt_ref, "REV", "desired state at this commit instead of the files"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {"shard", 0, OPT_STR, &opt_shard, "I/N",
     "check only shard I of N (1 <= I <= N): whole rate domains by a stable hash"},
    {"shard-budget", 0, OPT_STR, &opt_shard_budget, "HOW",
     "whole (default: each shard takes whole rate domains) or split (every domain over "
     "all shards, each with 1/N of its rate limit)"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

struct drift_run {
	struct engine en;
	struct drift_report rep;
	bool sharded;
	struct shard shard;
	char ledger_tip[41];
};

/* ---- wording shared by the formats ---- */

static void change_lines(struct sb *sb, const char *indent, const struct drift_ep *d)
{
	revdiff_cache_lines(sb, indent, &d->live, &d->desired, &d->diff);
}

static void summary_line(struct sb *sb, const struct drift_report *r)
{
	sb_addf(sb, "%zu external, %zu pending, %zu both, %zu in sync, %zu not checked",
		r->counts[DRIFT_EXTERNAL], r->counts[DRIFT_PENDING], r->counts[DRIFT_BOTH],
		r->counts[DRIFT_IN_SYNC], r->counts[DRIFT_ERROR]);
}

static void scope_line(struct sb *sb, const struct drift_run *run)
{
	sb_addf(sb, "%zu endpoint%s", run->rep.n, run->rep.n == 1 ? "" : "s");
	if (run->sharded)
		sb_addf(sb, " in shard %u/%u", run->shard.index, run->shard.count);
	if (run->en.commit[0])
		sb_addf(sb, " at %.*s", DRIFT_SHORT_COMMIT, run->en.commit);
	else
		sb_adds(sb, " (working tree)");
}

/*
 * The verdict: "no drift" only when every selected endpoint was checked. An endpoint that
 * could not be read is not in sync, so a run where nothing could be checked must not say so.
 */
static void verdict(struct sb *sb, const struct drift_report *r, bool capital)
{
	size_t bad = r->counts[DRIFT_ERROR];
	if (drift_found(r))
		sb_adds(sb, capital ? "Drift found" : "drift found");
	else if (!bad)
		sb_adds(sb, capital ? "No drift" : "no drift");
	if (bad)
		sb_addf(sb, "%s%s %zu endpoint%s", drift_found(r) ? "; " : "",
			capital && !drift_found(r) ? "Could not check" : "could not check", bad,
			bad == 1 ? "" : "s");
}

/* ---- text ---- */

static void render_text(struct sb *sb, const struct drift_run *run)
{
	const struct drift_report *r = &run->rep;
	if (!opt_quiet) {
		sb_adds(sb, "drift: ");
		scope_line(sb, run);
		sb_addc(sb, '\n');
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct drift_ep *d = &r->v[i];
		if (opt_quiet && d->cls != DRIFT_ERROR)
			continue;
		sb_addf(sb, "%s (%s, account %s, %s): %s: ", d->name, provider_name(d->provider),
			d->account, endpoint_mode_name(d->mode), drift_class_name(d->cls));
		drift_reason(sb, d);
		sb_addc(sb, '\n');
		if (d->cls != DRIFT_IN_SYNC && d->cls != DRIFT_ERROR) {
			sb_addf(sb, "  %s\n",
				d->mode == MODE_OBSERVE
				    ? "the repository says (observe: never applied):"
				    : "apply would change live:");
			change_lines(sb, "    ", d);
		}
	}
	verdict(sb, r, false);
	sb_adds(sb, ": ");
	summary_line(sb, r);
	sb_addc(sb, '\n');
}

/* ---- markdown ---- */

static void render_markdown(struct sb *sb, const struct drift_run *run)
{
	const struct drift_report *r = &run->rep;
	struct sb label;
	sb_init(&label, 0);
	repo_label(opt_repo, &label);
	render_md_marker("drift", label.buf, sb);
	sb_release(&label);
	sb_adds(sb, "### cacheform drift: ");
	scope_line(sb, run);
	sb_adds(sb, "\n\n**");
	verdict(sb, r, true);
	sb_adds(sb, ":** ");
	summary_line(sb, r);
	sb_adds(sb, ".\n\n| endpoint | provider | mode | status |\n|---|---|---|---|\n");
	for (size_t i = 0; i < r->n; i++)
		sb_addf(sb, "| %s | %s | %s | %s |\n", r->v[i].name,
			provider_name(r->v[i].provider), endpoint_mode_name(r->v[i].mode),
			drift_class_name(r->v[i].cls));
	for (size_t i = 0; i < r->n; i++) {
		const struct drift_ep *d = &r->v[i];
		if (d->cls == DRIFT_IN_SYNC)
			continue;
		sb_addf(sb, "\n<details><summary><b>%s</b>: %s</summary>\n\n", d->name,
			drift_class_name(d->cls));
		/* reasons hold provider error text: keep them out of Markdown's reach */
		sb_adds(sb, "```\n");
		drift_reason(sb, d);
		sb_adds(sb, "\n```\n");
		if (d->cls != DRIFT_ERROR) {
			sb_adds(sb, "\n```diff\n");
			change_lines(sb, "", d);
			sb_adds(sb, "```\n");
		}
		sb_adds(sb, "\n</details>\n");
	}
}

/* ---- json ---- */

static void json_changes(struct sb *sb, const struct drift_ep *d)
{
	sb_adds(sb, ",\"changes\":[");
	for (size_t i = 0; i < d->diff.n; i++) {
		const struct rulediff_entry *de = &d->diff.v[i];
		if (i)
			sb_addc(sb, ',');
		render_change_json(de, de->before >= 0 ? &d->live.rules[de->before] : NULL,
				   de->after >= 0 ? &d->desired.rules[de->after] : NULL, sb);
	}
	sb_adds(sb, "],\"flags\":[");
	for (size_t i = 0; i < d->diff.nflags; i++)
		sb_addf(sb, "%s{\"flag\":\"%s\",\"live\":%s,\"desired\":%s}", i ? "," : "",
			rulediff_flag_name(d->diff.flags[i].flag),
			d->diff.flags[i].before ? "true" : "false",
			d->diff.flags[i].after ? "true" : "false");
	sb_addc(sb, ']');
}

static void json_ep(struct sb *sb, const struct drift_ep *d)
{
	struct sb reason;
	sb_init(&reason, 0);
	drift_reason(&reason, d);
	sb_adds(sb, "{\"name\":");
	sb_add_json_str(sb, d->name);
	sb_adds(sb, ",\"account\":");
	sb_add_json_str(sb, d->account);
	sb_addf(sb, ",\"provider\":\"%s\",\"mode\":\"%s\",\"status\":\"%s\",\"reason\":",
		provider_name(d->provider), endpoint_mode_name(d->mode), drift_class_name(d->cls));
	sb_add_json_str(sb, reason.buf);
	if (d->has_record)
		sb_addf(sb, ",\"last_applied\":{\"commit\":\"%s\",\"applied_at\":%lld}",
			d->applied_commit, (long long)d->applied_at);
	else
		sb_adds(sb, ",\"last_applied\":null");
	json_changes(sb, d);
	sb_addc(sb, '}');
	sb_release(&reason);
}

static void render_json(struct sb *sb, const struct drift_run *run)
{
	const struct drift_report *r = &run->rep;
	sb_addf(sb, "{\"format_version\":2,\"commit\":\"%s\",\"ledger\":\"%s\",\"shard\":",
		run->en.commit, run->ledger_tip);
	if (run->sharded)
		sb_addf(sb, "{\"index\":%u,\"count\":%u,\"budget\":\"%s\"}", run->shard.index,
			run->shard.count, run->shard.budget == SHARD_SPLIT ? "split" : "whole");
	else
		sb_adds(sb, "null");
	sb_addf(sb, ",\"drift\":%s,\"summary\":{", drift_found(r) ? "true" : "false");
	for (int c = DRIFT_IN_SYNC; c <= DRIFT_ERROR; c++)
		sb_addf(sb, "%s\"%s\":%zu", c ? "," : "", drift_class_name(c), r->counts[c]);
	sb_adds(sb, "},\"endpoints\":[");
	for (size_t i = 0; i < r->n; i++) {
		sb_adds(sb, i ? ",\n" : "\n");
		json_ep(sb, &r->v[i]);
	}
	sb_adds(sb, "]}\n");
}

/* ---- gitlab, junit ---- */

static void render_ci(struct sb *sb, const struct drift_run *run, enum out_format fmt)
{
	struct sb scope;
	sb_init(&scope, 0);
	scope_line(&scope, run);
	struct driftci_opts o = {fmt, opt_repo, scope.buf};
	if (driftci_write(sb, &run->rep, &o) < 0)
		sb->overflow = true; /* cmd_drift reports it cannot write the output */
	sb_release(&scope);
}

/* ---- the command ---- */

static int drift_parse_args(int argc, char **argv, enum out_format *fmt, struct drift_run *run)
{
	int npos;
	struct cf_err e;
	if (opt_parse("drift", drift_opts, argc, argv, &npos) < 0)
		return -1;
	if (npos > 0) {
		fprintf(stderr, "cacheform drift: unexpected argument '%s'\n", argv[0]);
		return -1;
	}
	*fmt = OUT_TEXT;
	if (opt_format &&
	    out_format_parse(opt_format,
			     OUT_BIT(OUT_TEXT) | OUT_BIT(OUT_JSON) | OUT_BIT(OUT_MARKDOWN) |
				 OUT_BIT(OUT_GITLAB) | OUT_BIT(OUT_JUNIT),
			     fmt) < 0) {
		fprintf(stderr, "cacheform drift: --format must be text, json, markdown, gitlab or "
				"junit\n");
		return -1;
	}
	if (opt_shard) {
		if (shard_parse(opt_shard, &run->shard, &e) < 0) {
			fprintf(stderr, "cacheform drift: %s\n", e.msg);
			return -1;
		}
		run->sharded = true;
	}
	if (opt_shard_budget) {
		if (!opt_shard) {
			fprintf(stderr, "cacheform drift: --shard-budget needs --shard I/N\n");
			return -1;
		}
		if (shard_budget_parse(opt_shard_budget, &run->shard.budget, &e) < 0) {
			fprintf(stderr, "cacheform drift: %s\n", e.msg);
			return -1;
		}
	}
	return 0;
}

static int drift_check(struct drift_run *run, struct cf_err *e)
{
	struct engine_opts eo = {NULL, NULL, &opt_only, opt_parallelism, false, &opt_exclude, NULL};
	/* the engine builds entries for this shard's endpoints only; drift_select_shard below
	 * then drops nothing and sets the bucket share */
	int rc = cmd_engine_open_shard(&run->en, opt_repo, opt_ref, &eo,
				       run->sharded ? &run->shard : NULL, e);
	if (rc < 0)
		return rc;
	/* the working-tree check (a git status of every file) runs while the reads wait */
	drift_settle_begin(&run->en);
	if (run->en.rl)
		repo_ledger_tip(run->en.rl, run->ledger_tip, sizeof(run->ledger_tip));
	if (run->sharded)
		(void)drift_select_shard(&run->en, &run->shard);
	rc = engine_connect(&run->en, e);
	if (rc < 0)
		return rc;
	progress_setup(opt_quiet);
	(void)engine_read_all(&run->en);
	drift_settle_commit(&run->en);
	return drift_build(&run->en, &run->rep, e);
}

int cmd_drift(int argc, char **argv)
{
	struct drift_run run;
	enum out_format fmt = OUT_TEXT;
	struct cf_err e;
	struct sb out;
	int ret = EXIT_ERROR;
	memset(&run, 0, sizeof(run));
	err_clear(&e);
	sb_init(&out, 0);
	if (drift_parse_args(argc, argv, &fmt, &run) < 0) {
		ret = EXIT_USAGE;
		goto done;
	}
	if (drift_check(&run, &e) < 0) {
		err_print(&e);
		goto done;
	}
	if (fmt == OUT_GITLAB || fmt == OUT_JUNIT)
		render_ci(&out, &run, fmt);
	else if (fmt == OUT_JSON)
		render_json(&out, &run);
	else if (fmt == OUT_MARKDOWN)
		render_markdown(&out, &run);
	else
		render_text(&out, &run);
	if (out.overflow || fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout)) {
		fprintf(stderr, "cacheform drift: cannot write the output\n");
		goto done;
	}
	ret = run.rep.counts[DRIFT_ERROR] ? EXIT_ERROR
	      : drift_found(&run.rep)	  ? EXIT_CHANGES
					  : EXIT_OK;
done:
	sb_release(&out);
	drift_report_release(&run.rep);
	config_free(drift_cfg_kept);
	drift_cfg_kept = run.en.cfg;
	run.en.cfg = NULL; /* engine_close frees the rest; the accounts it closes stay valid */
	engine_close(&run.en);
	svec_release(&opt_only);
	svec_release(&opt_exclude);
	return ret;
}
