/*
 * Renders a diagnostic list in the formats users and CI systems read: text for people,
 * json (format_version 1), GitHub workflow commands and SARIF 2.1.0 for code scanning, a GitLab
 * Code Quality report and JUnit XML (one testsuite per file) for other CI systems.
 * Any command that collects struct diag_list findings prints them through here.
 */
#ifndef CF_REPORT_H
#define CF_REPORT_H

#include <stdio.h>

#include "reconcile/base/diag.h"

#include "reconcile/base/outfmt.h"

/*
 * Returns 0 and sets *out for "text", "json", "github", "sarif", "gitlab" or "junit"; -1
 * otherwise.
 */
int report_format_parse(const char *name, enum out_format *out);

struct report_opts {
	enum out_format format;
	/* Prepended with '/' to every file name ("examples" -> "examples/endpoints/a.yaml") so
	 * paths are relative to where the user ran the command; NULL or "." for none. */
	const char *path_prefix;
	const char *tool_version; /* SARIF driver version; may be NULL */
	/* junit: every file read (the configuration's file table), so a file without findings
	 * still shows as a passing testcase; may be NULL */
	char *const *files;
	size_t nfiles;
};

/*
 * Writes every entry of d, in d's order (callers sort first), to f. text writes only the
 * findings, one per line, plus a summary line when there are any; the other formats write one
 * complete document. Returns 0, or CF_EIO when writing failed or the output would pass
 * REPORT_MAX_BYTES.
 */
int report_write(FILE *f, const struct diag_list *d, const struct report_opts *o);

#endif
