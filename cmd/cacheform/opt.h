/*
 * Declarative command-line options: each command lists its options in a table and one
 * parser serves all of them; `cacheform help CMD` prints the same table.
 */
#ifndef CF_OPT_H
#define CF_OPT_H

#include <stddef.h>
#include <stdbool.h>

#include "reconcile/base/model.h"

enum opt_type {
	OPT_BOOL,    /* bool *; no argument */
	OPT_STR,     /* const char **; one argument (borrowed from argv) */
	OPT_STRLIST, /* struct svec *; repeatable */
	OPT_UINT,    /* unsigned *; decimal */
};

struct opt {
	const char *lname; /* without the leading "--" */
	char sname;	   /* 0 = none */
	enum opt_type type;
	void *dest;
	const char *argname; /* shown in help, e.g. "DIR" */
	const char *help;
};

/*
 * Parses argv[1..argc) against opts (terminated by an entry with lname NULL). Non-option
 * arguments are moved, in order, to argv[0..*npos) (argv[0] is overwritten). Returns 0, or
 * -1 after printing "cacheform CMD: ..." on stderr for an unknown option or a bad value.
 */
int opt_parse(const char *cmd, const struct opt *opts, int argc, char **argv, int *npos);

/* Prints the option table as help text to f. */
void opt_usage(FILE *f, const struct opt *opts);

#endif
