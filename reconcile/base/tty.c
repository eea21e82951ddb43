/* Colour decision (see tty.h). */
#include "reconcile/base/compat.h"
#include "reconcile/base/tty.h"

#include <unistd.h>

static bool colour_off;

void tty_disable_colour(void)
{
	colour_off = true;
}

bool tty_redraw(int fd)
{
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fd) == 1;
}

bool tty_colour(int fd)
{
	if (colour_off || getenv("NO_COLOR") != NULL)
		return false;
	return tty_redraw(fd);
}
