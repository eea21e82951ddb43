/* cacheform validate: load the desired state, check it offline, report every finding. */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "cmd/cacheform/cmd_load.h"
#include "schema/report.h"

static const char *opt_repo, *opt_ref, *opt_format;
static bool opt_strict;

const struct opt validate_opts[] = {
    {"format", 0, OPT_STR, &opt_format, "FMT",
     "text (default), json, github, sarif, gitlab (Code Quality) or junit"},
    {"ref", 0, OPT_STR, &opt_ref, "REV", "read this commit from git instead of the files"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {"strict", 0, OPT_BOOL, &opt_strict, NULL, "treat warnings as errors"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

static void validate_summary(const struct config *c, const struct diag_list *d)
{
	if (d->nerrors)
		return;
	printf("valid: %zu account%s, %zu endpoint%s, %zu purge%s", c->naccounts,
	       c->naccounts == 1 ? "" : "s", c->nendpoints, c->nendpoints == 1 ? "" : "s",
	       c->npurges, c->npurges == 1 ? "" : "s");
	if (c->commit[0])
		printf(" at %.12s", c->commit);
	printf("\n");
}

int cmd_validate(int argc, char **argv)
{
	struct report_opts ro = {.format = OUT_TEXT};
	struct cmd_repo r;
	struct check_opts co = {.strict = false};
	int npos, ret;
	if (opt_parse("validate", validate_opts, argc, argv, &npos) < 0)
		return EXIT_USAGE;
	if (npos > 0) {
		fprintf(stderr, "cacheform validate: unexpected argument '%s'\n", argv[0]);
		return EXIT_USAGE;
	}
	if (opt_format && report_format_parse(opt_format, &ro.format) < 0) {
		fprintf(stderr,
			"cacheform validate: --format must be text, json, github, sarif, gitlab or "
			"junit\n");
		return EXIT_USAGE;
	}
	ro.path_prefix = opt_repo;
	co.strict = opt_strict;
	co.retired = true;
	(void)cmd_load(opt_repo, opt_ref, &co, &r);
	ret = r.diags.nerrors ? EXIT_ERROR : EXIT_OK;
	if (r.cfg) {
		ro.files = r.cfg->files;
		ro.nfiles = r.cfg->nfiles;
	}
	if (report_write(stdout, &r.diags, &ro) < 0)
		ret = EXIT_ERROR;
	if (ro.format == OUT_TEXT && r.cfg)
		validate_summary(r.cfg, &r.diags);
	if (fflush(stdout) != 0 || ferror(stdout))
		ret = EXIT_ERROR;
	cmd_repo_release(&r);
	return ret;
}
