/*
 * Whether to colour output: one answer for every command and format (validate, plan, diff,
 * drift, apply), so NO_COLOR, TERM=dumb and --no-color behave the same everywhere.
 */
#ifndef CF_TTY_H
#define CF_TTY_H

#include <stdbool.h>

/* --no-color: turns colour off for the rest of the process. */
void tty_disable_colour(void);

/*
 * True when fd is a terminal that can redraw a line in place: a terminal and TERM is not
 * "dumb". Progress lines (progress.h) use it; colour settings do not change it.
 */
bool tty_redraw(int fd);

/*
 * True when fd is a terminal and colour is not turned off: NO_COLOR set to any value (even
 * empty, https://no-color.org), TERM=dumb, or tty_disable_colour() called.
 */
bool tty_colour(int fd);

#endif
