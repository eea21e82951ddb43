/*
 * Renders a plan for people and CI: text (terminal), markdown (pull-request comment),
 * github (workflow commands). JSON is planfile_encode(), the same document a plan file holds.
 * Renderers see only the plan model, which holds no credentials, so no output can leak one.
 */
#ifndef CF_RENDER_H
#define CF_RENDER_H

#include <stdbool.h>

#include "reconcile/plan.h"
#include "reconcile/base/sb.h"

#include "reconcile/base/outfmt.h"

/* Parses "text", "json", "markdown" or "github". Returns 0 or -1. */
int render_format_parse(const char *s, enum out_format *out);

struct render_opts {
	enum out_format format;
	bool color; /* text only: ANSI colours (callers decide: a terminal and no NO_COLOR) */
	/* markdown only (a pull-request comment of at most 65,536 characters): */
	const char *md_path; /* repository path in the first line, <!-- cacheform:plan:PATH -->;
				NULL = "." */
	const char *md_full_plan; /* where the whole plan is, named when the comment is cut;
				     NULL = how to print it */
	size_t md_max;		  /* cap in bytes; 0 = 65,536 */
	bool *md_truncated;	  /* when not NULL, set to whether something was left out */
	bool quiet; /* text only: the summary line (and the safety warning) alone (--quiet) */
};

/* Appends the rendered plan to out. Returns 0, or -1 when out's cap was hit. */
int render_plan(const struct plan *p, const struct render_opts *o, struct sb *out);

/* Appends one rule as "suffix jpg, png  ttl 30d" (no colour, no newline). */
void render_rule(const struct rule *r, struct sb *out);

/*
 * Appends one rule as JSON, {"kind","items","ttl","name"} ("null" when r is NULL; name null when
 * the rule has none), for the documents diff and drift write themselves.
 */
void render_rule_json(const struct rule *r, struct sb *out);

/*
 * Appends one rule change in the one JSON shape every output uses (plan, diff, drift; README
 * "JSON output"): {"change", "before_index", "after_index" (0-based or null), "before",
 * "after" (rules or null), "fields"}. before/after are the rules the indexes point at.
 */
void render_change_json(const struct rulediff_entry *de, const struct rule *before,
			const struct rule *after, struct sb *sb);

/*
 * Appends the first line of a markdown document, "<!-- cacheform:KIND:PATH -->\n", by which
 * CI finds its earlier pull-request comment for that kind and repository path (NULL = ".");
 * characters a path seldom holds, and "--", become "_".
 */
void render_md_marker(const char *kind, const char *path, struct sb *out);

/*
 * Appends one GitHub workflow command line "::LEVEL title=TITLE::MSG\n", MSG escaped (%, CR,
 * LF) so it stays one command.
 */
void render_github_command(const char *level, const char *title, const char *msg, struct sb *out);

/* True when colour is wanted on this stream (reconcile/base/tty.h decides). */
bool render_want_color(int fd);

#endif
