/*
 * The command table's contract. Each command lives in cmd/cacheform/cmd_NAME.c and exports
 * `int cmd_NAME(int argc, char **argv)` (argv[0] is the command name) returning an exit code.
 */
#ifndef CF_CMD_H
#define CF_CMD_H

#include <stdio.h>

#include "cmd/cacheform/opt.h"

/* Exit codes (SPEC §4), stable and documented in the README and `cacheform help`. */
enum cf_exit {
	EXIT_OK = 0,	      /* success; no changes pending; configuration valid */
	EXIT_ERROR = 1,	      /* invalid configuration, network, authentication or API failure */
	EXIT_CHANGES = 2,     /* changes pending (--detailed-exitcode) or drift found */
	EXIT_SAFETY = 3,      /* refused by a safety threshold (re-run with --force) */
	EXIT_STALE = 4,	      /* stale plan (re-plan) */
	EXIT_PARTIAL = 5,     /* partial apply */
	EXIT_STAGE_PROBE = 6, /* apply --stage staging: deployed, a staging probe disagreed */
	EXIT_PROMOTE_REFUSED = 7, /* apply --promote: production changed since staging */
	EXIT_USAGE = 129,	  /* bad command line */
};

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage;	/* one line after "cacheform " */
	const struct opt *opts; /* may be NULL */
};

/* Returns the command of that name, or NULL. */
const struct cmd *cmd_find(const char *name);

/* Returns the command table (static) and sets *n to its length. */
const struct cmd *cmd_table(size_t *n);

/* cmd_completion.c: `cacheform completion zsh|fish`, not listed in help (a packaging aid). */
int cmd_completion(int argc, char **argv);

/* cmd_version.c */
int cmd_version(int argc, char **argv);
extern const struct opt version_opts[];
int cmd_help(int argc, char **argv);

/* cmd_validate.c */
int cmd_validate(int argc, char **argv);
extern const struct opt validate_opts[];

/* cmd_diff.c */
int cmd_diff(int argc, char **argv);
extern const struct opt diff_opts[];

/* cmd_plan.c, cmd_apply.c, cmd_ledger.c */
int cmd_plan(int argc, char **argv);
/* Reads a --urls file: one path or URL a line; blank lines and '#' comments skipped. Returns
 * 0, or -1 after saying why on stderr ("cacheform CMD: ..."). */
int cmd_read_urls(const char *cmd, const char *file, struct svec *out);
extern const struct opt plan_opts[];
int cmd_apply(int argc, char **argv);
extern const struct opt apply_opts[];
int cmd_ledger(int argc, char **argv);

/* What cmd_rollback.c hands to apply: the options rollback shares with it. */
struct apply_args {
	const char *repo, *to, *timeout, *format;
	struct svec *only, *exclude; /* moved into apply (emptied here) */
	bool yes, force, keep_going, no_wait, quiet;
	unsigned parallelism;
};

/* Plans and applies the desired state of a->to without its purge manifests, recorded in the
 * ledger like any apply (commit messages say "rollback"). Returns the exit code. */
int cmd_apply_rollback(const struct apply_args *a);

/* cmd_rollback.c */
int cmd_rollback(int argc, char **argv);
extern const struct opt rollback_opts[];
extern const struct opt ledger_opts[];

/* cmd_drift.c */
int cmd_drift(int argc, char **argv);
extern const struct opt drift_opts[];

/* cmd_drift_merge.c */
int cmd_drift_merge(int argc, char **argv);
extern const struct opt drift_merge_opts[];

/* cmd_import.c */
int cmd_import(int argc, char **argv);
extern const struct opt import_opts[];

/* cmd_explain.c */
int cmd_explain(int argc, char **argv);
extern const struct opt explain_opts[];

/* cmd_migrate.c */
int cmd_migrate(int argc, char **argv);
extern const struct opt migrate_opts[];

/* cmd_fmt.c */
int cmd_fmt(int argc, char **argv);
extern const struct opt fmt_opts[];

#endif
