/*
 * "Did you mean": the closest of a set of known words to a mistyped one, by edit distance
 * (insertions, deletions, substitutions and swaps of neighbours), for unknown commands,
 * options, endpoints, accounts and purges.
 */
#ifndef CF_NEAR_H
#define CF_NEAR_H

#include <stddef.h>

#define NEAR_WORD_MAX 128 /* longer words are not compared (no suggestion) */

struct near {
	const char *word; /* borrowed */
	const char *best; /* borrowed from the offered candidates; NULL = none close enough */
	size_t dist;
};

void near_init(struct near *n, const char *word);
/* Considers one candidate (NULL is ignored). */
void near_offer(struct near *n, const char *cand);
/* The closest candidate within a third of the word's length (at least 1, at most 3 edits), or
 * NULL. Borrowed. */
const char *near_result(const struct near *n);

#endif
