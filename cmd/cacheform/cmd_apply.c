/* cacheform apply: plan (or load a saved plan and prove it still holds), then execute it. */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "cmd/cacheform/cmd_load.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "reconcile/apply.h"
#include "reconcile/base/progress.h"
#include "reconcile/base/xmem.h"
#include "reconcile/engine.h"
#include "reconcile/planfile.h"
#include "reconcile/render.h"
#include "reconcile/repo.h"
#include "reconcile/repo_ledger.h"
#include "reconcile/stage.h"
#include "reconcile/repo_lock.h"
#include "reconcile/repo_remote.h"
#include "reconcile/verify.h"

#define APPLY_ANSWER_MAX   16
#define APPLY_JSON_VERSION 1 /* format_version of `apply --format json` */

static const char *opt_repo, *opt_ref, *opt_timeout, *opt_verify_timeout, *opt_format,
    *opt_ledger_remote;
static const char *opt_stage, *opt_urls; /* --stage staging, its --urls probes */
static bool opt_promote;
static int64_t timeout_s; /* --timeout, checked before any endpoint is read */
/* SIGINT or SIGTERM during the run: the loop stops starting work and the summary is printed */
static volatile sig_atomic_t got_signal;
static struct svec opt_only, opt_exclude, opt_purges;
static bool opt_yes, opt_force, opt_keep_going, opt_no_wait, opt_first_run, opt_verify, opt_quiet;
static unsigned opt_parallelism;
/* rollback (cmd_rollback.c): the desired state of opt_ref without its purges */
static const char *verb = "apply";
static bool no_purges;
static bool json; /* --format json: stdout holds one JSON document, people's text goes to stderr */

/* What the JSON document reports besides the operations. */
struct apply_outcome_doc {
	const char *result; /* "applied", "nothing to do", "refused", "stale", "interrupted",
			       "error" */
	char error[CF_ERR_MSG_MAX];
};

const struct opt apply_opts[] = {
    {"endpoint", 'e', OPT_STRLIST, &opt_only, "NAME",
     "apply only the endpoints NAME matches (a name or a glob such as 'cn-*'; repeatable)"},
    {"exclude", 0, OPT_STRLIST, &opt_exclude, "NAME",
     "leave out the endpoints NAME matches (a glob; repeatable)"},
    {"first-run", 0, OPT_BOOL, &opt_first_run, NULL,
     "run purge manifests although the repository has no ledger yet"},
    {"force", 0, OPT_BOOL, &opt_force, NULL, "apply even over the safety thresholds"},
    {"format", 0, OPT_STR, &opt_format, "FMT",
     "text (default) or json (one document on stdout at the end; the plan goes to stderr)"},
    {"keep-going", 0, OPT_BOOL, &opt_keep_going, NULL,
     "a failed endpoint or purge does not stop the others (exit 5 when some failed)"},
    {"ledger-remote", 0, OPT_STR, &opt_ledger_remote, "NAME",
     "fetch the ledger from git remote NAME first and push every ledger commit to it "
     "(default: git config cacheform.ledgerRemote)"},
    {"no-wait", 0, OPT_BOOL, &opt_no_wait, NULL, "do not wait for asynchronous tasks"},
    {"parallelism", 0, OPT_UINT, &opt_parallelism, "N",
     "concurrent requests (default 8, at most 1024)"},
    {"purge", 0, OPT_STRLIST, &opt_purges, "ID",
     "apply only purge manifest ID (a name or a glob; repeatable) and the endpoints it targets"},
    {"quiet", 'q', OPT_BOOL, &opt_quiet, NULL,
     "only failures, errors, warnings and the summary line; no progress"},
    {"promote", 0, OPT_BOOL, &opt_promote, NULL,
     "CDN Pro: deploy to production the version staging runs (one task; refused, exit 7, "
     "when production changed since staging was deployed)"},
    {"ref", 0, OPT_STR, &opt_ref, "REV", "read the desired state from this commit"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {"stage", 0, OPT_STR, &opt_stage, "STAGE",
     "staging: CDN Pro endpoints deploy to staging whatever their target; no purges run"},
    {"timeout", 0, OPT_STR, &opt_timeout, "DURATION",
     "give up waiting for tasks after this (default 30m)"},
    {"urls", 0, OPT_STR, &opt_urls, "FILE",
     "with --stage staging: probe these paths or URLs through a staging server afterwards "
     "(exit 6 when one disagrees with the YAML)"},
    {"verify", 0, OPT_BOOL, &opt_verify, NULL,
     "probe purged and preloaded URLs at the edge afterwards (X-Cache, Age)"},
    {"verify-timeout", 0, OPT_STR, &opt_verify_timeout, "DURATION",
     "how long a purge may take to show at the edge (default 2m)"},
    {"yes", 'y', OPT_BOOL, &opt_yes, NULL, "do not ask for confirmation"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

/* Only the endpoints a plan file touches are read again (intersected with -e). */
static void select_from_planfile(const struct planfile *pf, struct svec *only)
{
	struct svec sel = {0};
	for (size_t i = 0; i < pf->neps; i++)
		if (engine_selects(pf->eps[i].name, &opt_only, &opt_exclude))
			svec_push(&sel, pf->eps[i].name, NULL);
	svec_release(only);
	*only = sel;
}

/* Where the text for people goes: stdout, or stderr when stdout carries the JSON document. */
static FILE *text_out(void)
{
	return json ? stderr : stdout;
}

static bool confirm(void)
{
	char answer[APPLY_ANSWER_MAX];
	fprintf(text_out(), "\nApply these changes? Only 'yes' is accepted: ");
	fflush(text_out());
	if (!fgets(answer, sizeof(answer), stdin))
		return false;
	return strcmp(answer, "yes\n") == 0 || strcmp(answer, "yes") == 0;
}

/*
 * The plan as text (--quiet: only its summary line). Returns 0, or -1 when the stream failed:
 * nothing is applied that nobody could see planned.
 */
static int print_plan(const struct plan *p, bool summary)
{
	FILE *f = text_out();
	struct render_opts ro = {
	    .format = OUT_TEXT, .color = render_want_color(fileno(f)), .quiet = summary};
	struct sb out;
	sb_init(&out, 0);
	render_plan(p, &ro, &out);
	fwrite(out.buf, 1, out.len, f);
	sb_release(&out);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* The JSON document of --format json: the outcome, then every operation (apply_report_json). */
static int print_json(const struct apply_result *r, const struct apply_outcome_doc *d,
		      const char *commit, int ex)
{
	struct sb out;
	sb_init(&out, 0);
	sb_addf(&out, "{\"format_version\":%d,\"commit\":", APPLY_JSON_VERSION);
	if (commit && commit[0])
		sb_add_json_str(&out, commit);
	else
		sb_adds(&out, "null");
	sb_adds(&out, ",\"result\":");
	sb_add_json_str(&out, d->result ? d->result : "error");
	sb_addf(&out, ",\"exit_code\":%d,\"error\":", ex);
	if (d->error[0])
		sb_add_json_str(&out, d->error);
	else
		sb_adds(&out, "null");
	sb_addc(&out, ',');
	apply_report_json(r, &out);
	sb_adds(&out, "}\n");
	int rc = out.overflow || fwrite(out.buf, 1, out.len, stdout) != out.len ? -1 : 0;
	sb_release(&out);
	return rc;
}

/* Notes why the run stopped, for the JSON document. */
static void outcome_set(struct apply_outcome_doc *d, const char *result, const char *error)
{
	d->result = result;
	snprintf(d->error, sizeof(d->error), "%s", error ? error : "");
}

static void on_signal(int sig)
{
	got_signal = sig;
}

/* Without SA_RESTART, so a wait between polls ends at once; restored by signals_restore. */
static void signals_catch(struct sigaction old[2])
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old[0]);
	sigaction(SIGTERM, &sa, &old[1]);
}

static void signals_restore(const struct sigaction old[2])
{
	sigaction(SIGINT, &old[0], NULL);
	sigaction(SIGTERM, &old[1], NULL);
}

static int parse_timeout(void)
{
	const char *why = NULL;
	if (!opt_timeout)
		return 0;
	if (duration_parse(opt_timeout, &timeout_s, &why) < 0 || timeout_s <= 0) {
		fprintf(stderr, "cacheform apply: --timeout '%s': %s\n", opt_timeout,
			why ? why : "must be positive");
		return -1;
	}
	return 0;
}

static int outcome_exit(int rc, const struct apply_result *r, size_t plan_errors)
{
	if (rc < 0 && rc != CF_EAPI)
		return EXIT_ERROR;
	if (!r->failed && !plan_errors)
		return EXIT_OK;
	return opt_keep_going && (r->done || r->submitted) ? EXIT_PARTIAL : EXIT_ERROR;
}

/*
 * A missing ledger is a decision, not a default: without it every manifest of the repository
 * would run, which is right on the first apply and a disaster after a failed `git fetch` of
 * the ledger. True (with the reason on stderr) when purges would run with no ledger and no
 * --first-run.
 */
static bool refuse_first_run(struct engine *en, const struct plan *p)
{
	char tip[64] = "";
	size_t runs = 0;
	if (opt_first_run || !en->rl)
		return false;
	repo_ledger_tip(en->rl, tip, sizeof(tip));
	if (tip[0])
		return false;
	for (size_t i = 0; i < p->npurges; i++)
		runs += plan_purge_runs(&p->purges[i]);
	if (!runs)
		return false;
	if (en->rr)
		fprintf(stderr,
			"cacheform apply: refusing: neither this repository nor remote '%s' has a "
			"ledger (" REPO_LEDGER_REF ") and %zu purge%s would run; nothing was "
			"applied.\n",
			repo_remote_name(en->rr), runs, runs == 1 ? "" : "s");
	else
		fprintf(stderr,
			"cacheform apply: refusing: this repository has no ledger (" REPO_LEDGER_REF
			") and %zu purge%s would run; nothing was applied.\n"
			"  If the ledger lives on a remote, pass --ledger-remote NAME (or fetch it "
			"first: git fetch origin " REPO_LEDGER_REF ":" REPO_LEDGER_REF ").\n",
			runs, runs == 1 ? "" : "s");
	fprintf(
	    stderr,
	    "  If these manifests already ran, record them with 'cacheform ledger mark ID...'.\n"
	    "  If this is the first apply, re-run with --first-run.\n");
	return true;
}

/* apply --verify: probes what the finished purges and preloads touched (reconcile/verify.h).
 * Returns the exit code, given the apply's. */
static int verify_applied(struct engine *en, const struct plan *p, const struct apply_result *r,
			  int64_t applied_ms, int ex)
{
	struct verify_opts vo = {applied_ms, 0};
	struct verify_set vs = {0};
	struct cf_err e;
	const char *why = NULL;
	err_clear(&e);
	if (opt_verify_timeout &&
	    (duration_parse(opt_verify_timeout, &vo.timeout_ms, &why) < 0 || vo.timeout_ms == 0)) {
		fprintf(stderr, "cacheform apply: --verify-timeout '%s': %s\n", opt_verify_timeout,
			why ? why : "must be positive");
		return EXIT_USAGE;
	}
	vo.timeout_ms *= 1000;
	if (verify_add_applied(&vs, en->cfg, p, r) == 0 || vs.n == 0) {
		fprintf(text_out(), "\nVerify: no purged file or preload to probe.\n");
		verify_release(&vs);
		return ex;
	}
	int rc = verify_run(en->http, &vs, &vo, &e);
	verify_report(&vs, text_out());
	if (rc < 0 && rc != CF_EAPI)
		err_print(&e);
	verify_release(&vs);
	return rc < 0 && ex == EXIT_OK ? EXIT_ERROR : ex;
}

/* The checks between the plan and the first write. Returns -1 to go on, or the exit code. */
static int before_writes(struct engine *en, const struct planfile *pf, struct plan *p,
			 struct apply_outcome_doc *d)
{
	struct plan_counts c;
	struct cf_err e;
	err_clear(&e);
	if (pf) {
		int rc = apply_check_planfile(p, pf, &e);
		if (rc == CF_ECONFLICT) {
			fprintf(stderr,
				"stale plan: %s; nothing was applied (re-run 'cacheform plan')\n",
				e.msg);
			outcome_set(d, "stale", e.msg);
			return EXIT_STALE;
		}
		if (rc < 0) {
			err_print(&e);
			outcome_set(d, "error", e.msg);
			return EXIT_ERROR;
		}
	}
	cmd_plan_errors("apply", p);
	plan_count(p, &c);
	bool nothing = !plan_has_changes(p) && !c.purges_pending;
	/* --quiet: the plan's summary line only when it is the last word (nothing to apply) */
	if ((!opt_quiet || nothing) && print_plan(p, opt_quiet) < 0) {
		fprintf(stderr, "cacheform apply: cannot write the plan; nothing was applied\n");
		outcome_set(d, "error", "cannot write the plan");
		return EXIT_ERROR;
	}
	if (c.error && !opt_keep_going) {
		fprintf(stderr,
			"cacheform apply: %zu endpoint%s could not be read; nothing was "
			"applied (--keep-going applies the others)\n",
			c.error, c.error == 1 ? "" : "s");
		outcome_set(d, "error", "some endpoints could not be read; nothing was applied");
		return EXIT_ERROR;
	}
	if (nothing) {
		/* nothing to write, but the endpoints confirmed in sync get their record (not
		 * for staging: the records say what each endpoint's own target runs) */
		if (!opt_stage && apply_record_in_sync(en, p, &e) < 0) {
			err_print(&e);
			outcome_set(d, "error", e.msg);
			return EXIT_ERROR;
		}
		if (c.error)
			outcome_set(d, "error", "some endpoints could not be read");
		else
			outcome_set(d, "nothing to do", NULL);
		return c.error ? EXIT_ERROR : EXIT_OK;
	}
	if (!opt_force && apply_safety_violations(p, stderr)) {
		outcome_set(d, "refused", "over the safety threshold (re-run with --force)");
		return EXIT_SAFETY;
	}
	if (!pf && !opt_yes) {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr,
				"cacheform apply: refusing to apply without a terminal; pass "
				"--yes or a plan file\n");
			outcome_set(d, "refused",
				    "no terminal to confirm; pass --yes or a plan file");
			return EXIT_ERROR;
		}
		/* --quiet printed no plan: nobody confirms what they were not shown */
		if (opt_quiet && print_plan(p, true) < 0)
			return EXIT_ERROR;
		if (!confirm()) {
			fprintf(stderr, "apply cancelled\n");
			outcome_set(d, "refused", "cancelled");
			return EXIT_ERROR;
		}
	}
	if (refuse_first_run(en, p)) {
		outcome_set(d, "refused", "no ledger; --first-run runs the purges");
		return EXIT_ERROR;
	}
	/* a ledger that cannot take the records must be found out before anything is sent */
	if (en->rl && repo_lock_probe(repo_ledger_gitdir(en->rl), REPO_LOCK_WAIT_MS, &e) < 0) {
		fprintf(stderr, "cacheform apply: %s; nothing was applied\n", e.msg);
		outcome_set(d, "error", e.msg);
		return EXIT_ERROR;
	}
	return -1;
}

/* Everything from the plan to the exit code, once the engine is open and read; r receives
 * what was applied. */
static int apply_plan(struct engine *en, const struct planfile *pf, struct plan *p,
		      struct apply_result *r, struct apply_outcome_doc *d)
{
	struct apply_opts ao = {opt_force,	   opt_keep_going, opt_no_wait,
				timeout_s,	   &got_signal,	   text_out(),
				opt_quiet || json, verb,	   opt_stage != NULL};
	struct plan_counts c;
	struct cf_err e;
	err_clear(&e);
	int ex = before_writes(en, pf, p, d);
	if (ex >= 0)
		return ex;
	plan_count(p, &c);
	int64_t applied_ms = verify_wall_ms();
	struct sigaction old[2];
	signals_catch(old);
	int rc = apply_run(en, p, &ao, r, &e);
	signals_restore(old);
	apply_report(r, opt_quiet || json, text_out());
	if (rc < 0 && rc != CF_EAPI)
		err_print(&e);
	ex = outcome_exit(rc, r, c.error);
	outcome_set(d, "applied", rc < 0 && rc != CF_EAPI ? e.msg : NULL);
	if (got_signal) {
		fprintf(stderr,
			"cacheform apply: stopped by %s; what the provider accepted is in the "
			"ledger, the next apply continues from there\n",
			got_signal == SIGINT ? "SIGINT" : "SIGTERM");
		outcome_set(d, "interrupted", got_signal == SIGINT ? "SIGINT" : "SIGTERM");
		ex = 128 + got_signal;
	}
	if (opt_verify && (rc == 0 || rc == CF_EAPI))
		ex = verify_applied(en, p, r, applied_ms, ex);
	return ex;
}

/* --stage, --urls and --promote: what they go with. Returns 0 or EXIT_USAGE (said). */
static int check_stage_options(int npos)
{
	const char *why = NULL;
	if (opt_stage && strcmp(opt_stage, "staging") != 0)
		why = "--stage takes 'staging' (production is --promote)";
	else if (opt_urls && !opt_stage)
		why = "--urls goes with --stage staging (plan --urls shows behaviour changes)";
	else if (opt_promote && opt_stage)
		why = "--promote and --stage are two runs: stage first, then promote";
	else if ((opt_promote || opt_stage) && npos > 0)
		why = "--stage and --promote plan afresh; they take no plan file";
	else if ((opt_promote || opt_stage) && (opt_verify || opt_purges.n))
		why = "--stage and --promote run no purges (--verify, --purge)";
	else if (opt_promote && opt_ref)
		why = "--promote deploys what staging runs; it reads no revision (--ref)";
	if (!why)
		return 0;
	fprintf(stderr, "cacheform apply: %s\n", why);
	return EXIT_USAGE;
}

/* apply --promote: the engine is read; promotes and returns the exit code. */
static int promote(struct engine *en, struct apply_outcome_doc *d)
{
	struct cf_err e;
	err_clear(&e);
	if (!opt_yes && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "cacheform apply: refusing to promote without a terminal; pass "
				"--yes\n");
		outcome_set(d, "refused", "no terminal to confirm; pass --yes");
		return EXIT_ERROR;
	}
	if (!opt_yes) {
		fprintf(text_out(), "Promote what staging runs to production.");
		if (!confirm()) {
			outcome_set(d, "refused", "cancelled");
			return EXIT_ERROR;
		}
	}
	struct sigaction old[2];
	signals_catch(old);
	int rc = stage_promote(en, timeout_s > 0 ? timeout_s : APPLY_DEFAULT_TIMEOUT_S, &got_signal,
			       text_out(), &e);
	signals_restore(old);
	if (rc < 0) {
		err_print(&e);
		outcome_set(d, rc == CF_ECONFLICT ? "refused" : "error", e.msg);
		return rc == CF_ECONFLICT ? EXIT_PROMOTE_REFUSED : EXIT_ERROR;
	}
	outcome_set(d, "applied", NULL);
	return EXIT_OK;
}

/* apply --stage staging, after the apply: the staging records. Returns the exit code. */
static int stage_ledger(struct engine *en, const struct apply_result *r, const bool *own_staging,
			int ex, struct apply_outcome_doc *d)
{
	struct cf_err e;
	size_t n;
	err_clear(&e);
	if (stage_record_staging(en, r, own_staging, &n, &e) < 0) {
		fprintf(stderr, "cacheform apply: the staging records: %s\n", e.msg);
		outcome_set(d, "error", e.msg);
		return EXIT_ERROR;
	}
	if (n && !opt_quiet)
		fprintf(text_out(), "Recorded %zu staging deployment%s in the ledger.\n", n,
			n == 1 ? "" : "s");
	return ex;
}

/* apply --stage staging --urls FILE, after a successful apply: the probes' exit code. */
static int stage_probes(struct engine *en, struct apply_outcome_doc *d)
{
	struct svec urls = {0};
	struct cf_err e;
	size_t bad = 0;
	err_clear(&e);
	if (cmd_read_urls("apply", opt_urls, &urls) < 0) {
		outcome_set(d, "error", "cannot read --urls");
		return EXIT_USAGE;
	}
	fprintf(text_out(), "\nStaging probes (--urls %s):\n", opt_urls);
	int rc = stage_probe(en, &urls, text_out(), &bad, &e);
	svec_release(&urls);
	if (rc < 0) {
		err_print(&e);
		outcome_set(d, "error", e.msg);
		return EXIT_ERROR;
	}
	if (bad) {
		outcome_set(d, "staging probe failed", NULL);
		return EXIT_STAGE_PROBE;
	}
	return EXIT_OK;
}

/*
 * Before the plan: fetches the ledger from its remote (--ledger-remote, or the git setting
 * cacheform.ledgerRemote) and records the pending journal's purges. A failed fetch is not an
 * absent ledger: it stops the apply before anything is read or sent.
 */
static int ledger_prepare(struct engine *en, struct cf_err *e)
{
	char conf[REPO_REMOTE_NAME_MAX];
	const char *name = opt_ledger_remote;
	size_t folded = 0, inflight = 0;
	bool absent; /* the remote has no ledger: like a repository without one (--first-run) */
	int rc;
	if (!en->rl) {
		if (name)
			return err_set(e, CF_EINVAL,
				       "--ledger-remote needs the repository to be in git");
		return 0;
	}
	if (!name && repo_remote_configured(repo_src_root(en->src), conf, sizeof(conf)))
		name = conf;
	if (name) {
		if ((rc = repo_remote_open(repo_src_root(en->src), name, &en->rr, e)) < 0)
			return rc;
		if ((rc = repo_remote_fetch(en->rr, &absent, e)) < 0) {
			size_t len = strlen(e->msg);
			snprintf(e->msg + len, sizeof(e->msg) - len, "; nothing was applied");
			return rc;
		}
	}
	if ((rc = apply_fold_pending(en, &folded, &inflight, e)) < 0) {
		err_prefix(e, "the pending journal");
		return rc;
	}
	if (folded)
		fprintf(text_out(),
			"Recorded %zu purge%s from the pending journal (accepted by the provider "
			"when the ledger could not be written).\n",
			folded, folded == 1 ? "" : "s");
	if (inflight)
		fprintf(text_out(),
			"Recorded %zu purge%s from the in-flight journal of an apply that was "
			"killed (accepted by the provider before its ledger write).\n",
			inflight, inflight == 1 ? "" : "s");
	return name ? engine_ledger_reload(en, e) : 0;
}

/* Options that need no repository. Returns 0 or EXIT_USAGE (said on stderr). */
static int check_options(int npos, char **argv)
{
	if (opt_verify && opt_no_wait) {
		fprintf(stderr,
			"cacheform apply: --verify needs the purges to finish; it cannot go "
			"with --no-wait\n");
		return EXIT_USAGE;
	}
	if (npos > 1) {
		fprintf(stderr, "cacheform apply: unexpected argument '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	if (check_stage_options(npos) != 0)
		return EXIT_USAGE;
	if (opt_format && strcmp(opt_format, "text") != 0 && strcmp(opt_format, "json") != 0) {
		fprintf(stderr, "cacheform apply: --format must be text or json\n");
		return EXIT_USAGE;
	}
	json = opt_format && strcmp(opt_format, "json") == 0;
	return parse_timeout() < 0 ? EXIT_USAGE : 0;
}

/* Everything after the options: plan (or read PLANFILE argv[0] when npos is 1) and apply. */
static int apply_main(int npos, char **argv)
{
	struct planfile pf = {0};
	struct apply_result r = {0};
	struct apply_outcome_doc doc = {"error", ""};
	bool *own_staging = NULL; /* --stage: the endpoints whose own target is staging */
	struct engine en;
	struct plan p;
	struct cf_err e;
	int ret = EXIT_ERROR;
	bool have_pf = false;
	progress_setup(opt_quiet);
	err_clear(&e);
	plan_init(&p);
	memset(&en, 0, sizeof(en));
	if (npos == 1) {
		if (planfile_read(argv[0], &pf, &e) < 0) {
			err_print(&e);
			outcome_set(&doc, "error", e.msg);
			goto out;
		}
		have_pf = true;
		select_from_planfile(&pf, &opt_only);
	}
	struct engine_opts eo = {NULL, NULL,	     &opt_only,	 opt_parallelism,
				 true, &opt_exclude, &opt_purges};
	struct engine_plan_opts po = {no_purges || (have_pf && pf.no_purges)};
	if (have_pf && pf.neps == 0 && pf.npurges == 0) {
		fprintf(text_out(), "The plan is empty.\n");
		outcome_set(&doc, "nothing to do", NULL);
		ret = EXIT_OK;
		goto out;
	}
	if (opt_stage)
		po.no_purges = true;
	if (cmd_engine_open(&en, opt_repo, opt_ref, &eo, &e) < 0 || ledger_prepare(&en, &e) < 0) {
		err_print(&e);
		outcome_set(&doc, "error", e.msg);
		goto out;
	}
	if (opt_stage || opt_promote) {
		/* staging exists on CDN Pro only: anything else selected would be written live */
		for (size_t i = 0; i < en.neps; i++) {
			if (stage_applies(en.eps[i].ep))
				continue;
			fprintf(
			    stderr,
			    "cacheform apply: --%s: endpoint '%s' is not a CDN Pro endpoint with "
			    "mode: manage (no staging); select the CDN Pro endpoints with -e or "
			    "--exclude the others\n",
			    opt_stage ? "stage" : "promote", en.eps[i].ep->name.s);
			outcome_set(&doc, "refused", "an endpoint without staging is selected");
			goto out;
		}
	}
	if (opt_stage) {
		own_staging = xcalloc(en.neps + 1, sizeof(*own_staging));
		stage_force_staging(&en, own_staging);
	}
	if (engine_connect(&en, &e) < 0 || engine_read_all(&en) < 0) {
		err_print(&e);
		outcome_set(&doc, "error", e.msg);
		goto out;
	}
	if (opt_promote) {
		ret = promote(&en, &doc);
		goto out;
	}
	if (engine_plan(&en, &po, &p, &e) < 0) {
		err_print(&e);
		outcome_set(&doc, "error", e.msg);
		goto out;
	}
	if (no_purges)
		fprintf(text_out(),
			"Rollback to %s (commit %.12s): the cache rules of that commit; purge "
			"manifests do not run.\n\n",
			opt_ref, en.commit);
	ret = apply_plan(&en, have_pf ? &pf : NULL, &p, &r, &doc);
	if ((ret == EXIT_OK || ret == EXIT_PARTIAL) && opt_stage)
		ret = stage_ledger(&en, &r, own_staging, ret, &doc);
	if (ret == EXIT_OK && opt_stage && opt_urls)
		ret = stage_probes(&en, &doc);
out:
	if (json && print_json(&r, &doc, en.commit, ret) < 0 && ret == EXIT_OK)
		ret = EXIT_ERROR;
	apply_result_release(&r);
	free(own_staging);
	plan_release(&p);
	engine_close(&en);
	planfile_release(&pf);
	svec_release(&opt_only);
	svec_release(&opt_exclude);
	svec_release(&opt_purges);
	return ret;
}

int cmd_apply(int argc, char **argv)
{
	int npos;
	if (opt_parse("apply", apply_opts, argc, argv, &npos) < 0)
		return EXIT_USAGE;
	if (check_options(npos, argv) != 0)
		return EXIT_USAGE;
	return apply_main(npos, argv);
}

int cmd_apply_rollback(const struct apply_args *a)
{
	opt_repo = a->repo;
	opt_ref = a->to;
	opt_timeout = a->timeout;
	opt_format = a->format;
	opt_only = *a->only;
	opt_exclude = *a->exclude;
	memset(a->only, 0, sizeof(*a->only));
	memset(a->exclude, 0, sizeof(*a->exclude));
	opt_yes = a->yes;
	opt_force = a->force;
	opt_keep_going = a->keep_going;
	opt_no_wait = a->no_wait;
	opt_quiet = a->quiet;
	opt_parallelism = a->parallelism;
	verb = "rollback";
	no_purges = true;
	if (check_options(0, NULL) != 0) {
		svec_release(&opt_only);
		svec_release(&opt_exclude);
		return EXIT_USAGE;
	}
	return apply_main(0, NULL);
}
