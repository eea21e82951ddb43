/* cacheform plan: read every selected endpoint once, diff it, print the plan. */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "cmd/cacheform/cmd_load.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "reconcile/base/progress.h"
#include "reconcile/engine.h"
#include "reconcile/planfile.h"
#include "cmd/cacheform/repo_label.h"
#include "reconcile/planurls.h"
#include "reconcile/sem.h"
#include "reconcile/render.h"

#define PLAN_URLS_LINE_MAX 4096	 /* bytes of one line of a --urls file */
#define PLAN_URLS_MAX	   10000 /* entries of a --urls file */
#define PLAN_WHERE_MAX	   1024	 /* the "full plan is in ..." sentence */

static const char *opt_repo, *opt_ref, *opt_out, *opt_format, *opt_urls;
static struct svec opt_only, opt_exclude, opt_purges;
static bool opt_detailed, opt_no_purges, opt_quiet, opt_show_unchanged;
static unsigned opt_parallelism;

const struct opt plan_opts[] = {
    {"detailed-exitcode", 0, OPT_BOOL, &opt_detailed, NULL,
     "exit 2 when there are changes to apply, 0 when none"},
    {"endpoint", 'e', OPT_STRLIST, &opt_only, "NAME",
     "plan only the endpoints NAME matches (a name or a glob such as 'cn-*'; repeatable)"},
    {"exclude", 0, OPT_STRLIST, &opt_exclude, "NAME",
     "leave out the endpoints NAME matches (a glob; repeatable)"},
    {"format", 0, OPT_STR, &opt_format, "FMT", "text (default), json, markdown or github"},
    {"no-purges", 0, OPT_BOOL, &opt_no_purges, NULL, "leave purge manifests out of the plan"},
    {"out", 0, OPT_STR, &opt_out, "FILE", "also save the plan (JSON) for 'cacheform apply FILE'"},
    {"parallelism", 0, OPT_UINT, &opt_parallelism, "N",
     "concurrent requests (default 8, at most 1024)"},
    {"purge", 0, OPT_STRLIST, &opt_purges, "ID",
     "plan only purge manifest ID (a name or a glob; repeatable) and the endpoints it targets"},
    {"quiet", 'q', OPT_BOOL, &opt_quiet, NULL,
     "text: only the summary line, errors and warnings; no progress"},
    {"ref", 0, OPT_STR, &opt_ref, "REV", "read the desired state from this commit"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {"show-unchanged", 0, OPT_BOOL, &opt_show_unchanged, NULL,
     "text: list every endpoint without changes (default: one line counting them)"},
    {"urls", 0, OPT_STR, &opt_urls, "FILE",
     "show which of these paths or URLs (one a line) change behaviour"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

int cmd_read_urls(const char *cmd, const char *file, struct svec *out)
{
	char line[PLAN_URLS_LINE_MAX], path[SEM_PATH_MAX];
	unsigned lineno = 0;
	int rc = 0;
	FILE *f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "cacheform %s: cannot read --urls file '%s'\n", cmd, file);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		size_t n = strcspn(line, "\r\n");
		line[n] = '\0';
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		const char *s = line + strspn(line, " \t");
		if (!*s || *s == '#')
			continue;
		if (sem_path_of(s, path, sizeof(path)) != 0 || out->n >= PLAN_URLS_MAX) {
			fprintf(stderr,
				"cacheform %s: %s:%u: '%.200s' is not a path or http(s) URL%s\n",
				cmd, file, lineno, s,
				out->n >= PLAN_URLS_MAX ? " (too many entries)" : "");
			rc = -1;
		} else {
			svec_push(out, s, NULL);
		}
	}
	fclose(f);
	return rc;
}

static int plan_exit(const struct plan *p)
{
	struct plan_counts c;
	plan_count(p, &c);
	if (c.error)
		return EXIT_ERROR;
	return opt_detailed && plan_has_changes(p) ? EXIT_CHANGES : EXIT_OK;
}

/*
 * Where a cut markdown plan says the whole plan is: this CI job's log (GitHub Actions or
 * GitLab CI, named by their own variables), where plan_print writes it as text.
 */
static void plan_full_location(struct sb *where)
{
	const char *gl = getenv("CI_JOB_URL");
	const char *srv = getenv("GITHUB_SERVER_URL"), *repo = getenv("GITHUB_REPOSITORY"),
		   *run = getenv("GITHUB_RUN_ID");
	sb_adds(where, "printed as text to the standard error of this run (the job log");
	if (srv && *srv && repo && *repo && run && *run)
		sb_addf(where, ": %s/%s/actions/runs/%s", srv, repo, run);
	else if (gl && *gl)
		sb_addf(where, ": %s", gl);
	sb_adds(where, "); `cacheform plan --format json` gives it as JSON");
}

static int plan_print(const struct plan *p, enum out_format fmt)
{
	bool cut = false;
	struct sb where;
	sb_init(&where, PLAN_WHERE_MAX);
	plan_full_location(&where);
	struct sb label;
	sb_init(&label, 0);
	repo_label(opt_repo, &label);
	struct render_opts ro = {fmt,	    fmt == OUT_TEXT && render_want_color(STDOUT_FILENO),
				 label.buf, where.buf,
				 0,	    &cut,
				 opt_quiet};
	struct sb out;
	sb_init(&out, 0);
	int rc = render_plan(p, &ro, &out);
	if (rc == 0 && fwrite(out.buf, 1, out.len, stdout) != out.len)
		rc = -1;
	if (rc == 0 && cut) {
		/* The comment names the job log as the place of the full plan: keep that true. */
		struct render_opts to = {OUT_TEXT, false, NULL, NULL, 0, NULL, false};
		sb_reset(&out);
		rc = render_plan(p, &to, &out);
		if (rc == 0)
			fwrite(out.buf, 1, out.len, stderr);
	}
	sb_release(&out);
	sb_release(&where);
	sb_release(&label);
	if (rc < 0)
		fprintf(stderr, "cacheform plan: cannot write the plan\n");
	return rc;
}

/* An error that stopped the plan, also as a workflow command so the run's summary shows it. */
static void gh_error(const char *msg)
{
	struct sb out;
	sb_init(&out, 0);
	render_github_command("error", "cacheform", msg, &out);
	fwrite(out.buf, 1, out.len, stdout);
	sb_release(&out);
}

/* CACHEFORM_PLAN_STATS=1 (make bench): what the behaviour comparison cost, against the
 * whole run's CPU, on stderr. */
static void plan_stats(const struct plan *p)
{
	struct rusage ru;
	if (!getenv("CACHEFORM_PLAN_STATS") || getrusage(RUSAGE_SELF, &ru) != 0)
		return;
	double total = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	fprintf(stderr,
		"plan stats: %zu endpoints, behaviour comparison on %zu: %.3f s of %.3f s CPU\n",
		p->neps, p->behaviour_n, p->behaviour_cpu_s, total);
}

int cmd_plan(int argc, char **argv)
{
	enum out_format fmt = OUT_TEXT;
	struct engine en;
	struct plan p;
	struct cf_err e;
	int npos, ret = EXIT_ERROR;
	if (opt_parse("plan", plan_opts, argc, argv, &npos) < 0)
		return EXIT_USAGE;
	if (npos > 0) {
		fprintf(stderr, "cacheform plan: unexpected argument '%s'\n", argv[0]);
		return EXIT_USAGE;
	}
	if (opt_format && render_format_parse(opt_format, &fmt) < 0) {
		fprintf(stderr,
			"cacheform plan: --format must be text, json, markdown or github\n");
		return EXIT_USAGE;
	}
	if (opt_no_purges && opt_purges.n) {
		fprintf(stderr, "cacheform plan: --purge cannot go with --no-purges\n");
		return EXIT_USAGE;
	}
	struct svec urls = {0};
	if (opt_urls && cmd_read_urls("plan", opt_urls, &urls) < 0) {
		svec_release(&urls);
		svec_release(&opt_only);
		return EXIT_ERROR;
	}
	progress_setup(opt_quiet);
	err_clear(&e);
	plan_init(&p);
	struct engine_opts eo = {NULL,	NULL,	      &opt_only,  opt_parallelism,
				 false, &opt_exclude, &opt_purges};
	struct engine_plan_opts po = {opt_no_purges};
	if (cmd_engine_open(&en, opt_repo, opt_ref, &eo, &e) < 0 || engine_connect(&en, &e) < 0 ||
	    engine_read_all(&en) < 0 || engine_plan(&en, &po, &p, &e) < 0) {
		err_print(&e);
		if (fmt == OUT_GITHUB)
			gh_error(e.msg);
		goto out;
	}
	p.show_unchanged = opt_show_unchanged; /* engine_plan starts the plan afresh */
	if (opt_urls)
		planurls_add(&p, &en, &urls);
	cmd_plan_errors("plan", &p);
	if (plan_print(&p, fmt) < 0)
		goto out;
	if (opt_out && planfile_write(&p, opt_out, &e) < 0) {
		err_print(&e);
		if (fmt == OUT_GITHUB)
			gh_error(e.msg);
		goto out;
	}
	ret = plan_exit(&p);
	plan_stats(&p);
out:
	plan_release(&p);
	engine_close(&en);
	svec_release(&opt_only);
	svec_release(&urls);
	svec_release(&opt_exclude);
	svec_release(&opt_purges);
	return ret;
}
