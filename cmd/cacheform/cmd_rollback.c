/*
 * cacheform rollback --to REV: plans and applies the desired state of an earlier commit, for
 * every provider, through apply's own path (cmd_apply_rollback): the same plan, safety
 * thresholds, confirmation, rounds, confirming re-reads and ledger records (the endpoint
 * records name REV's commit, so `drift` then reports HEAD's rules as pending).
 *
 * Only cache rules are restored. The purge manifests of REV do not run again: a purge is an
 * event that already happened (or was deliberately removed), not a state to return to, and
 * re-running it would empty caches the rollback is meant to keep serving.
 */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"

static const char *opt_to, *opt_repo, *opt_timeout, *opt_format;
static struct svec opt_only, opt_exclude;
static bool opt_yes, opt_force, opt_keep_going, opt_no_wait, opt_quiet;
static unsigned opt_parallelism;

const struct opt rollback_opts[] = {
    {"endpoint", 'e', OPT_STRLIST, &opt_only, "NAME",
     "roll back only the endpoints NAME matches (a name or a glob; repeatable)"},
    {"exclude", 0, OPT_STRLIST, &opt_exclude, "NAME",
     "leave out the endpoints NAME matches (a glob; repeatable)"},
    {"force", 0, OPT_BOOL, &opt_force, NULL, "roll back even over the safety thresholds"},
    {"format", 0, OPT_STR, &opt_format, "FMT",
     "text (default) or json (apply's document on stdout; the plan goes to stderr)"},
    {"keep-going", 0, OPT_BOOL, &opt_keep_going, NULL,
     "a failed endpoint does not stop the others (exit 5 when some failed)"},
    {"no-wait", 0, OPT_BOOL, &opt_no_wait, NULL, "do not wait for asynchronous tasks"},
    {"parallelism", 0, OPT_UINT, &opt_parallelism, "N",
     "concurrent requests (default 8, at most 1024)"},
    {"quiet", 'q', OPT_BOOL, &opt_quiet, NULL,
     "only failures, errors, warnings and the summary line; no progress"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {"timeout", 0, OPT_STR, &opt_timeout, "DURATION",
     "give up waiting for tasks after this (default 30m)"},
    {"to", 0, OPT_STR, &opt_to, "REV",
     "the commit whose cache rules to restore (HEAD~1, a tag, a commit id; required)"},
    {"yes", 'y', OPT_BOOL, &opt_yes, NULL, "do not ask for confirmation"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

int cmd_rollback(int argc, char **argv)
{
	int npos;
	if (opt_parse("rollback", rollback_opts, argc, argv, &npos) < 0)
		return EXIT_USAGE;
	if (npos > 0) {
		fprintf(stderr,
			"cacheform rollback: unexpected argument '%s' (the revision goes after "
			"--to)\n",
			argv[0]);
		goto usage;
	}
	if (!opt_to || !opt_to[0]) {
		fprintf(stderr, "cacheform rollback: --to REV is required (e.g. --to HEAD~1)\n");
		goto usage;
	}
	struct apply_args a = {opt_repo,       opt_to,	     opt_timeout, opt_format,
			       &opt_only,      &opt_exclude, opt_yes,	  opt_force,
			       opt_keep_going, opt_no_wait,  opt_quiet,	  opt_parallelism};
	return cmd_apply_rollback(&a);
usage:
	svec_release(&opt_only);
	svec_release(&opt_exclude);
	return EXIT_USAGE;
}
