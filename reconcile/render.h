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

enum render_format { RENDER_TEXT, RENDER_JSON, RENDER_MARKDOWN, RENDER_GITHUB };

/* Parses "text", "json", "markdown" or "github". Returns 0 or -1. */
int render_format_parse(const char *s, enum render_format *out);

struct render_opts {
	enum render_format format;
	bool color; /* text only: ANSI colours (callers decide: a terminal and no NO_COLOR) */
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
 * Appends one GitHub workflow command line "::LEVEL title=TITLE::MSG\n", MSG escaped (%, CR,
 * LF) so it stays one command.
 */
void render_github_command(const char *level, const char *title, const char *msg, struct sb *out);

/* True when colour is wanted on this stream: a terminal and NO_COLOR unset or empty. */
bool render_want_color(int fd);

#endif
