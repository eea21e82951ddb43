/*
 * Progress of long runs (reading endpoints, writing, waiting for tasks) on stderr, never on
 * stdout, which carries results and JSON. One policy for the process, like tty.h's colour:
 *   - a terminal (stderr is one and TERM is not dumb): one status line redrawn in place with
 *     "\r", at most every PROGRESS_REDRAW_MS, erased when the phase ends;
 *   - otherwise (a CI log): a plain line at most every PROGRESS_LINE_EVERY_S seconds (or
 *     PROGRESS_EVERY_ENV), and only while something still runs, so a long run is never
 *     silent and a short one prints nothing;
 *   - off under --quiet.
 */
#ifndef CF_PROGRESS_H
#define CF_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#define PROGRESS_REDRAW_MS    100 /* terminal: redraw at most this often */
#define PROGRESS_LINE_EVERY_S 10  /* no terminal: one line at most this often */
#define PROGRESS_EVERY_ENV    "CACHEFORM_PROGRESS_EVERY" /* whole seconds, overrides the above */
#define PROGRESS_EVERY_MAX_S  86400
#define PROGRESS_LINE_MAX     512 /* bytes of one status line */

enum progress_mode { PROGRESS_OFF, PROGRESS_TERMINAL, PROGRESS_LINES };

/*
 * Decides the mode for the rest of the process: off when quiet, a terminal line when stderr
 * can redraw (tty_redraw: a terminal, TERM not "dumb"), plain lines otherwise. The line has
 * no colour, so NO_COLOR and --no-color leave it as it is. Until it is called the mode is
 * off (commands that never call it print no progress).
 */
void progress_setup(bool quiet);

enum progress_mode progress_mode(void);

/* Milliseconds between plain lines: PROGRESS_EVERY_ENV when it is a whole number of seconds in
 * [1, PROGRESS_EVERY_MAX_S], PROGRESS_LINE_EVERY_S otherwise. */
int64_t progress_line_every_ms(void);

/*
 * The current state, e.g. "reading 312/1000 endpoints". Drawn when due (terminal: the line
 * "STATUS (N s)" is redrawn; lines: "cacheform: STATUS (N s)[: DETAIL]" when the last line is
 * old enough), N being the seconds since progress_setup.
 * detail (may be NULL) is for plain lines only: a terminal line stays one short line.
 * Call it as often as convenient: it rate-limits itself.
 */
void progress_show(const char *status, const char *detail);

/* True when progress_show would draw now: callers skip building a status nobody sees. */
bool progress_due(void);

/* Erases the terminal line (before other output on stderr, or at the end of a phase); the
 * next progress_show draws it again. No-op in the other modes. */
void progress_clear(void);

#endif
