/*
 * The output formats, one enum for every command: validate (text, json, github, sarif, gitlab,
 * junit), plan and show (text, json, markdown, github), diff (text, json, markdown) and drift
 * (text, json, markdown, gitlab, junit). gitlab is a GitLab Code Quality report, junit JUnit
 * XML (reconcile/base/cirep.h). Each
 * command says which it accepts with a mask; the renderers switch on the same values.
 */
#ifndef CF_OUTFMT_H
#define CF_OUTFMT_H

enum out_format {
	OUT_TEXT,
	OUT_JSON,
	OUT_MARKDOWN,
	OUT_GITHUB,
	OUT_SARIF,
	OUT_GITLAB,
	OUT_JUNIT,
	OUT__COUNT
};

#define OUT_BIT(f) (1u << (f))

/* Returns "text", "json", "markdown", "github", "sarif", "gitlab" or "junit". */
const char *out_format_name(enum out_format f);

/*
 * Sets *out to the format named s when its bit is in allowed; returns 0, or -1 for an unknown
 * or not allowed name (the caller names the allowed ones in its message).
 */
int out_format_parse(const char *s, unsigned allowed, enum out_format *out);

#endif
