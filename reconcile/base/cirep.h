/*
 * The pieces of the two report formats other CI systems read, shared by validate and drift:
 * GitLab Code Quality (a JSON array of issues, docs.gitlab.com/ci/testing/code_quality/
 * "Code Quality report format") and JUnit XML (testsuites > testsuite > testcase, with
 * <failure>, <error> or <skipped>). Names in them come from a pull request (file names,
 * endpoint names, provider messages), so every string is escaped here: XML metacharacters as
 * entities, control bytes as visible "\xNN" (no ESC or forged line reaches a CI page) and
 * invalid UTF-8 as U+FFFD (a parser must not reject the whole report).
 */
#ifndef CF_CIREP_H
#define CF_CIREP_H

#include <stddef.h>
#include <stdbool.h>

#include "reconcile/base/sb.h"

#define CIREP_FINGERPRINT_LEN 32 /* hex digits */

/* Appends s as XML character data or attribute value (either quote). Returns 0 or -1 (cap). */
int cirep_xml(struct sb *sb, const char *s);

/* Appends s as a JSON string literal with invalid UTF-8 replaced. Returns 0 or -1 (cap). */
int cirep_json(struct sb *sb, const char *s);

/*
 * Appends file as the user should see it: "PREFIX/FILE" (prefix is --repo; NULL, "" or "."
 * for none, trailing slashes dropped). Returns 0 or -1 (cap).
 */
int cirep_path(struct sb *sb, const char *prefix, const char *file);

/*
 * Writes the fingerprint of parts (NULL parts count as empty) into out: CIREP_FINGERPRINT_LEN
 * lowercase hex digits and a NUL. Equal parts give the same value on every run and machine.
 */
void cirep_fingerprint(const char *const *parts, size_t n, char out[CIREP_FINGERPRINT_LEN + 1]);

/* GitLab's severities, lowest first. */
enum cirep_severity { CIREP_INFO, CIREP_MINOR, CIREP_MAJOR, CIREP_CRITICAL, CIREP_BLOCKER };

/* One Code Quality issue; path is already prefixed (cirep_path), line >= 1 (0 = 1). */
struct cirep_issue {
	const char *check, *description, *path;
	unsigned line;
	enum cirep_severity severity;
	/* what identifies the finding across runs when its wording may change (an endpoint name
	 * whose reason names the last applied commit); NULL = line and description */
	const char *key;
};

/*
 * Appends one issue object, preceded by "," unless first. Its fingerprint hashes check, path
 * and key, or without a key line and description, so an unchanged finding keeps it across
 * runs and two findings of one check in one file differ. Returns 0 or -1 (cap).
 */
int cirep_cq_issue(struct sb *sb, const struct cirep_issue *is, bool first);

enum cirep_outcome { CIREP_PASS, CIREP_FAILURE, CIREP_ERROR, CIREP_SKIPPED };

/* One JUnit testcase. file (line > 0 to show one) and type, message, body may be NULL. */
struct cirep_case {
	const char *classname, *name, *file;
	unsigned line;
	enum cirep_outcome outcome;
	const char *type;    /* failure/error type attribute */
	const char *message; /* the one-line reason */
	const char *body;    /* details: element text (failure/error) or <system-out> (pass) */
};

struct cirep_counts {
	size_t tests, failures, errors, skipped;
};

/* The testcases of one testsuite, collected before its counts are known. */
struct cirep_suite {
	struct sb cases;
	struct cirep_counts n;
};

/* Initialises an empty suite; release it with cirep_suite_release. */
void cirep_suite_init(struct cirep_suite *s);
void cirep_suite_release(struct cirep_suite *s);

/* Adds one testcase. Returns 0 or -1 (cap). */
int cirep_suite_add(struct cirep_suite *s, const struct cirep_case *c);

/*
 * Appends <testsuite name=NAME ...> with s's testcases to out, adds its counts to *total and
 * empties s for the next suite. Returns 0 or -1 (cap).
 */
int cirep_suite_flush(struct sb *out, struct cirep_suite *s, const char *name,
		      struct cirep_counts *total);

/*
 * Appends the whole document: the XML declaration, <testsuites name=NAME> with total's counts,
 * then suites (what cirep_suite_flush wrote). Returns 0 or -1 (cap).
 */
int cirep_junit_doc(struct sb *out, const char *name, const struct cirep_counts *total,
		    const struct sb *suites);

#endif
