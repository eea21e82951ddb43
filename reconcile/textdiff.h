/*
 * A unified diff of two texts, line by line (the format of `diff -u`: "@@ -a,b +c,d @@" hunks
 * with TEXTDIFF_CONTEXT lines of context), for plan to show what a provider's own text
 * (CDN Pro's Edge Logic region) becomes. Pure computation.
 */
#ifndef CF_TEXTDIFF_H
#define CF_TEXTDIFF_H

#include <stddef.h>
#include <stdbool.h>

#include "reconcile/base/sb.h"

#define TEXTDIFF_CONTEXT   3
#define TEXTDIFF_LINES_MAX 4000 /* per side: over it, one line says how many lines differ */

/*
 * Appends to out the hunks (no "---"/"+++" header) turning a (alen bytes) into b (blen
 * bytes), each line ending in '\n'. Returns false (out untouched) when the texts are equal.
 */
bool textdiff_unified(const char *a, size_t alen, const char *b, size_t blen, struct sb *out);

#endif
