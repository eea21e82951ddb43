/* Progress on stderr (see progress.h). */
#include "reconcile/base/compat.h"
#include "reconcile/base/progress.h"
#include "reconcile/base/tty.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static enum progress_mode mode = PROGRESS_OFF;
static int64_t start_ms, last_ms;
static size_t drawn; /* bytes of the terminal line now shown (0 = none) */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void progress_setup(bool quiet)
{
	start_ms = last_ms = now_ms();
	drawn = 0;
	if (quiet)
		mode = PROGRESS_OFF;
	else if (tty_redraw(STDERR_FILENO))
		mode = PROGRESS_TERMINAL;
	else
		mode = PROGRESS_LINES;
}

enum progress_mode progress_mode(void)
{
	return mode;
}

int64_t progress_line_every_ms(void)
{
	const char *v = getenv(PROGRESS_EVERY_ENV);
	char *end = NULL;
	if (v && *v) {
		long long n = strtoll(v, &end, 10);
		if (!*end && n >= 1 && n <= PROGRESS_EVERY_MAX_S)
			return (int64_t)n * 1000;
	}
	return (int64_t)PROGRESS_LINE_EVERY_S * 1000;
}

/* One terminal line; what is left of a longer old one is blanked. */
static void draw(const char *status, int64_t now)
{
	char line[PROGRESS_LINE_MAX];
	int n = snprintf(line, sizeof(line), "%s (%" PRId64 " s)", status, (now - start_ms) / 1000);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(line) ? sizeof(line) - 1 : (size_t)n;
	fprintf(stderr, "\r%s", line);
	for (size_t i = len; i < drawn; i++)
		fputc(' ', stderr);
	if (drawn > len)
		fprintf(stderr, "\r%s", line);
	fflush(stderr);
	drawn = len;
}

bool progress_due(void)
{
	int64_t since = now_ms() - last_ms;
	if (mode == PROGRESS_TERMINAL)
		return !drawn || since >= PROGRESS_REDRAW_MS;
	return mode == PROGRESS_LINES && since >= progress_line_every_ms();
}

void progress_show(const char *status, const char *detail)
{
	int64_t now = now_ms();
	if (mode == PROGRESS_TERMINAL) {
		if (drawn && now - last_ms < PROGRESS_REDRAW_MS)
			return;
		last_ms = now;
		draw(status, now);
	} else if (mode == PROGRESS_LINES) {
		if (now - last_ms < progress_line_every_ms())
			return;
		last_ms = now;
		fprintf(stderr, "cacheform: %s (%" PRId64 " s)%s%s\n", status,
			(now - start_ms) / 1000, detail && *detail ? ": " : "",
			detail ? detail : "");
		fflush(stderr);
	}
}

void progress_clear(void)
{
	if (mode != PROGRESS_TERMINAL || !drawn)
		return;
	fputc('\r', stderr);
	for (size_t i = 0; i < drawn; i++)
		fputc(' ', stderr);
	fputc('\r', stderr);
	fflush(stderr);
	drawn = 0;
}
