/* cacheform plan: read every selected endpoint once, diff it, print the plan. */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "cmd/cacheform/cmd_load.h"

#include <unistd.h>

#include "reconcile/engine.h"
#include "reconcile/planfile.h"
#include "reconcile/render.h"

static const char *opt_repo, *opt_ref, *opt_out, *opt_format;
static struct svec opt_only, opt_exclude;
static bool opt_detailed, opt_no_purges;
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
    {"parallelism", 0, OPT_UINT, &opt_parallelism, "N", "concurrent requests (default 8)"},
    {"ref", 0, OPT_STR, &opt_ref, "REV", "read the desired state from this commit"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

static int plan_exit(const struct plan *p)
{
	struct plan_counts c;
	plan_count(p, &c);
	if (c.error)
		return EXIT_ERROR;
	return opt_detailed && plan_has_changes(p) ? EXIT_CHANGES : EXIT_OK;
}

static int plan_print(const struct plan *p, enum render_format fmt)
{
	struct render_opts ro = {fmt, fmt == RENDER_TEXT && render_want_color(STDOUT_FILENO)};
	struct sb out;
	sb_init(&out, 0);
	int rc = render_plan(p, &ro, &out);
	if (rc == 0 && fwrite(out.buf, 1, out.len, stdout) != out.len)
		rc = -1;
	sb_release(&out);
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

int cmd_plan(int argc, char **argv)
{
	enum render_format fmt = RENDER_TEXT;
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
	err_clear(&e);
	plan_init(&p);
	struct engine_opts eo = {NULL, NULL, &opt_only, opt_parallelism, false, &opt_exclude};
	struct engine_plan_opts po = {opt_no_purges};
	if (cmd_engine_open(&en, opt_repo, opt_ref, &eo, &e) < 0 || engine_connect(&en, &e) < 0 ||
	    engine_read_all(&en) < 0 || engine_plan(&en, &po, &p, &e) < 0) {
		err_print(&e);
		if (fmt == RENDER_GITHUB)
			gh_error(e.msg);
		goto out;
	}
	cmd_plan_errors("plan", &p);
	if (plan_print(&p, fmt) < 0)
		goto out;
	if (opt_out && planfile_write(&p, opt_out, &e) < 0) {
		err_print(&e);
		if (fmt == RENDER_GITHUB)
			gh_error(e.msg);
		goto out;
	}
	ret = plan_exit(&p);
out:
	plan_release(&p);
	engine_close(&en);
	svec_release(&opt_only);
	svec_release(&opt_exclude);
	return ret;
}
