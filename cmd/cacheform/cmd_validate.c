/* cacheform validate: load the desired state, check it offline, report every finding. */
#include "reconcile/compat.h"
#include "cmd/cacheform/cmd.h"
#include "reconcile/repo.h"
#include "schema/check.h"
#include "schema/load.h"
#include "schema/report.h"

static const char *opt_repo, *opt_ref, *opt_format;
static bool opt_strict;

const struct opt validate_opts[] = {
    {"format", 0, OPT_STR, &opt_format, "FMT", "text (default), json, github or sarif"},
    {"ref", 0, OPT_STR, &opt_ref, "REV", "read this commit from git instead of the files"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {"strict", 0, OPT_BOOL, &opt_strict, NULL, "treat warnings as errors"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

/* Loads and checks; every problem, even failing to open the repository, lands in d. */
static void validate_run(struct diag_list *d, struct config **c)
{
	struct repo_src *src = NULL;
	struct check_opts co = {.strict = opt_strict};
	struct cf_err e;
	err_clear(&e);
	if (repo_src_open(opt_repo, opt_ref, &src, &e) < 0) {
		diag_add_err(d, &e);
		return;
	}
	(void)load_repo(src, c, d);
	(void)check_config(*c, &co, d);
	repo_src_free(src);
}

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
	struct report_opts ro = {REPORT_TEXT, NULL, NULL};
	struct diag_list d;
	struct config *c = NULL;
	int npos, ret;
	if (opt_parse("validate", validate_opts, argc, argv, &npos) < 0)
		return EXIT_USAGE;
	if (npos > 0) {
		fprintf(stderr, "cacheform validate: unexpected argument '%s'\n", argv[0]);
		return EXIT_USAGE;
	}
	if (opt_format && report_format_parse(opt_format, &ro.format) < 0) {
		fprintf(stderr,
			"cacheform validate: --format must be text, json, github or sarif\n");
		return EXIT_USAGE;
	}
	ro.path_prefix = opt_repo;
	diag_init(&d);
	validate_run(&d, &c);
	diag_sort(&d);
	ret = d.nerrors ? EXIT_ERROR : EXIT_OK;
	if (report_write(stdout, &d, &ro) < 0)
		ret = EXIT_ERROR;
	if (ro.format == REPORT_TEXT && c)
		validate_summary(c, &d);
	config_free(c);
	diag_release(&d);
	return ret;
}
