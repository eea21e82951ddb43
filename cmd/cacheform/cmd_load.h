/*
 * Load once: the one place a command turns --repo/--ref into a validated configuration.
 * Every command that reads the desired state calls cmd_load(), so they all open the
 * repository the same way, check it the same way and print findings the same way (with the
 * --repo prefix). The engine (reconcile/) then receives plain validated structs.
 */
#ifndef CF_CMD_LOAD_H
#define CF_CMD_LOAD_H

#include <stdio.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/engine.h"
#include "reconcile/plan.h"
#include "schema/check.h"

#define CMD_LOAD_DIAG_SHOWN 20 /* errors printed by cmd_load_print before "and N more" */

struct repo_src;

struct cmd_repo {
	const char *dir;	/* --repo as given (NULL = "."), for printed paths */
	struct repo_src *src;	/* NULL when the repository could not be opened */
	struct config *cfg;	/* NULL only when src is NULL */
	struct diag_list diags; /* every finding, sorted */
};

/*
 * Opens dir (NULL = ".") at ref (NULL = working tree), loads and checks it with co (NULL =
 * defaults). Every problem, even failing to open, lands in r->diags. Returns 0 when there is
 * no error finding, CF_EINVAL (or CF_EIO) otherwise; r is always initialised and the caller
 * releases it with cmd_repo_release.
 */
int cmd_load(const char *dir, const char *ref, const struct check_opts *co, struct cmd_repo *r);

/* What cmd_load_pair shared between its two revisions. */
struct cmd_pair {
	/* one per head endpoint: the index of the base endpoint it equals once both are checked
	 * (the same endpoint file, the same blob, and the same cacheform.yaml), else
	 * REVDIFF_NO_TWIN: revdiff_build's twins. NULL when nothing is known. Owned:
	 * cmd_pair_release. */
	size_t *twins;
	size_t ntwins;
	size_t shared; /* head endpoint files copied from the base's load, not read again */
	size_t read;   /* head endpoint files read and parsed */
};

/*
 * cmd_load of two revisions of dir (cacheform diff): base at base_ref, then head at head_ref
 * (NULL = working tree), each checked with co as cmd_load checks it, so each side's config
 * and findings are what cmd_load would give. Head's endpoint files whose blob is the same as
 * base's are copied from base's load instead of being read and parsed again (struct
 * load_memo; a working tree's files are read and hashed as git hashes a blob): with 10% of a
 * fleet changed, that is most of diff's cost. share false reads and parses every file (the
 * output is the same; for comparing). base and head are
 * always initialised (release them with cmd_repo_release, pair with cmd_pair_release); when
 * base cannot be opened, head is left empty (no source, no findings). Returns cmd_load's
 * answer for base, else for head.
 */
int cmd_load_pair(const char *dir, const char *base_ref, const char *head_ref,
		  const struct check_opts *co, bool share, struct cmd_repo *base,
		  struct cmd_repo *head, struct cmd_pair *pair);
void cmd_pair_release(struct cmd_pair *pair);

/*
 * Prints r's error findings as text to f (file:line:col with the --repo prefix), at most
 * CMD_LOAD_DIAG_SHOWN of them, then "... and N more". Returns 0 or CF_EIO when f failed.
 */
int cmd_load_print(FILE *f, const struct cmd_repo *r);

/* Hands the source and the config to the caller (for the engine); r keeps the findings. */
void cmd_repo_take(struct cmd_repo *r, struct repo_src **src, struct config **cfg);

/*
 * cmd_load (default checks), then engine_open with the loaded configuration. Validation
 * errors are printed on stderr and e says how many. Returns 0 or a negative code with e
 * filled; engine_close(en) is always safe afterwards.
 */
int cmd_engine_open(struct engine *en, const char *dir, const char *ref, struct engine_opts *o,
		    struct cf_err *e);
/* cmd_engine_open through engine_open_shard: only shard s's endpoints are selected. With a
 * shard the working-tree check is deferred (repo_src_open_deferred): the caller settles it
 * before it reports the commit (drift_settle_commit). */
int cmd_engine_open_shard(struct engine *en, const char *dir, const char *ref,
			  struct engine_opts *o, const struct shard *s, struct cf_err *e);

/*
 * Prints every endpoint the plan could not read on stderr ("cacheform CMD: ..."), so an error
 * reaches a log that keeps only stderr, whatever the --format on stdout.
 */
void cmd_plan_errors(const char *cmd, const struct plan *p);

/* Frees what r still owns. NULL-safe. */
void cmd_repo_release(struct cmd_repo *r);

#endif
