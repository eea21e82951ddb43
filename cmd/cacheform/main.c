#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "reconcile/base/tty.h"

#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "reconcile/base/near.h"

/*
 * The heap grows by this much beyond each request and keeps that much free at its top. With
 * glibc's defaults (128 KiB, and an mmap threshold that moves with what was freed) loading
 * 100,000 endpoint files grew the heap 735 times and touched 16% more pages (page faults, dear
 * in a virtual machine): 5-8% more CPU before the first request. Untouched padding costs no
 * memory; at most this much freed memory stays mapped.
 */
#define CF_MALLOC_TOP_PAD (16 << 20)

/* The one command table. Keep it sorted by how often users run each command. */
static const struct cmd commands[] = {
    {"plan", cmd_plan, "show what apply would change",
     "plan [--repo DIR] [--ref REV] [-e NAME]... [--exclude NAME]... [--out FILE] "
     "[--format text|json|markdown|github] [--detailed-exitcode] [--parallelism N] [--no-purges] "
     "[--urls FILE]",
     plan_opts},
    {"apply", cmd_apply, "apply the plan (or a saved plan file)",
     "apply [PLANFILE] [--repo DIR] [--ref REV] [-e NAME]... [--exclude NAME]... [--yes] [--force] "
     "[--keep-going] [--no-wait] [--first-run] [--timeout DURATION] [--parallelism N] [--verify] "
     "[--verify-timeout DURATION] [--stage staging [--urls FILE]] [--promote]",
     apply_opts},
    {"rollback", cmd_rollback, "plan and apply the cache rules of an earlier commit",
     "rollback --to REV [--repo DIR] [-e NAME]... [--exclude NAME]... [--yes] [--force] "
     "[--keep-going] [--no-wait] [--timeout DURATION] [--parallelism N] [--format text|json]",
     rollback_opts},
    {"validate", cmd_validate, "check the desired-state repository offline",
     "validate [--repo DIR] [--ref REV] [--strict] [--format text|json|github|sarif]",
     validate_opts},
    {"drift", cmd_drift, "compare desired, live and last applied state",
     "drift [--repo DIR] [--ref REV] [-e NAME]... [--exclude NAME]... [--format "
     "text|json|markdown|gitlab|junit] [--shard I/N [--shard-budget whole|split]]",
     drift_opts},
    {"drift-merge", cmd_drift_merge, "merge the drift --format json reports of all shards",
     "drift-merge REPORT.json...", drift_merge_opts},
    {"diff", cmd_diff, "compare the desired state at two revisions (offline)",
     "diff --base REV [--head REV] [--repo DIR] [--format text|json|markdown] "
     "[--detailed-exitcode]",
     diff_opts},
    {"ledger", cmd_ledger, "list, show or mark records of the ledger",
     "ledger list | show ID | mark ID... [--repo DIR]", ledger_opts},
    {"import", cmd_import, "write endpoints/NAME.yaml from a live endpoint",
     "import --account NAME --remote KEY=VALUE... [--name NAME] [--host HOST]... [--repo DIR]",
     import_opts},
    {"explain", cmd_explain, "which rule decides a path, desired and live",
     "explain [--repo DIR] [--ref REV] [-e NAME]... [--live] [--format text|json] "
     "PATH_OR_URL...",
     explain_opts},
    {"migrate", cmd_migrate, "translate azure-china and azure endpoints to Front Door",
     "migrate --to ACCOUNT [-e NAME]... [--remote KEY=VALUE]... [--format text|json] [--write] "
     "[--repo DIR]",
     migrate_opts},
    {"fmt", cmd_fmt, "rewrite the YAML files into the canonical form",
     "fmt [--repo DIR] [--check] [--purges] [FILE...]", fmt_opts},
    {"version", cmd_version, "print the version, commit, build date and library versions",
     "version [--format text|json]", version_opts},
    {"help", cmd_help, "show help for a command", "help [COMMAND]", NULL},
};

const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

const struct cmd *cmd_table(size_t *n)
{
	*n = CF_ARRAY_LEN(commands);
	return commands;
}

static const char exit_codes_help[] =
    "Exit codes:\n"
    "  0  success; no changes pending; configuration valid\n"
    "  1  error: invalid configuration, network, authentication or API failure\n"
    "  2  changes pending (--detailed-exitcode) or drift found\n"
    "  3  refused by a safety threshold (re-run with --force)\n"
    "  4  stale plan (re-plan)\n"
    "  5  partial apply: some endpoints or purges failed, the rest were applied\n"
    "  6  apply --stage staging: deployed to staging, but a staging probe disagreed\n"
    "  7  apply --promote refused: production changed since staging was deployed\n";

static void usage_all(FILE *f)
{
	fprintf(f, "usage: cacheform COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < CF_ARRAY_LEN(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nGlobal options:\n  --debug    trace every HTTP exchange on stderr, secrets "
		   "shown as <redacted>\n             (same as CACHEFORM_DEBUG=1)\n"
		   "  --no-color no ANSI colours (also NO_COLOR set to any value, or TERM=dumb)\n");
	fprintf(f, "\n%s\nRun 'cacheform help COMMAND' for a command's options.\n",
		exit_codes_help);
}

int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		usage_all(stdout);
		return EXIT_OK;
	}
	const struct cmd *c = cmd_find(argv[1]);
	if (!c) {
		fprintf(stderr, "cacheform help: unknown command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	printf("usage: cacheform %s\n\n%s\n", c->usage, c->summary);
	if (c->opts) {
		printf("\nOptions:\n");
		opt_usage(stdout, c->opts);
	}
	printf("\n%s", exit_codes_help);
	return EXIT_OK;
}

/*
 * --debug and --no-color are global. --debug: every command that talks to a provider traces its
 * HTTP exchanges. The HTTP module reads CACHEFORM_DEBUG, so the flag is turned into that variable
 * and removed from argv before the command's own option table sees it.
 */
static int take_global_flags(int argc, char **argv)
{
	int n = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--debug") == 0) {
			setenv("CACHEFORM_DEBUG", "1", 1);
			continue;
		}
		if (strcmp(argv[i], "--no-color") == 0) {
			tty_disable_colour();
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

/*
 * Before any secret is read: no core file (a crash under `ulimit -c unlimited` would write
 * every key and token into the work tree), and not dumpable (no core through a pipe
 * handler, no ptrace or /proc/PID/mem by other processes of the same user).
 */
static void no_core_dumps(void)
{
	const struct rlimit zero = {0, 0};
	if (setrlimit(RLIMIT_CORE, &zero) != 0 || prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
		fprintf(stderr, "cacheform: warning: cannot disable core dumps: %s\n",
			strerror(errno));
}

/*
 * A write error on stdout (a full disk, a closed pipe, /dev/full) turns a success into exit 1:
 * a CI job must not pass with its plan or report lost. Codes that already say something went
 * wrong are kept.
 */
static int output_checked(int ret)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return ret;
	fprintf(stderr, "cacheform: cannot write the output: %s\n", strerror(errno));
	return ret == EXIT_OK || ret == EXIT_CHANGES ? EXIT_ERROR : ret;
}

int main(int argc, char **argv)
{
	no_core_dumps();
	(void)mallopt(M_TOP_PAD, CF_MALLOC_TOP_PAD);
	/* a CI log (a pipe or a file) sees each line when it is printed, not at exit */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
	argc = take_global_flags(argc, argv);
	if (argc < 2) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return output_checked(cmd_help(1, argv + 1));
	if (strcmp(argv[1], "--version") == 0)
		return output_checked(cmd_version(1, argv + 1));
	if (strcmp(argv[1], "completion") == 0)
		return output_checked(cmd_completion(argc - 1, argv + 1));
	const struct cmd *c = cmd_find(argv[1]);
	if (!c) {
		struct near n;
		near_init(&n, argv[1]);
		for (size_t i = 0; i < CF_ARRAY_LEN(commands); i++)
			near_offer(&n, commands[i].name);
		fprintf(stderr, "cacheform: unknown command '%s'", argv[1]);
		if (near_result(&n))
			fprintf(stderr, "; did you mean '%s'?", near_result(&n));
		fprintf(stderr, " (see 'cacheform help')\n");
		return EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			char help_s[] = "help";
			char *hv[] = {help_s, (char *)c->name};
			return output_checked(cmd_help(2, hv));
		}
	}
	return output_checked(c->fn(argc - 1, argv + 1));
}
