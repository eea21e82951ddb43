/*
 * Allocation wrappers: out of memory prints the size asked for and exits 1, so callers
 * never thread allocation failure. Every allocation in cacheform goes through here.
 */
#ifndef CF_XMEM_H
#define CF_XMEM_H

#include <stddef.h>

/* Returns a block of n bytes; never NULL. Caller frees with free(). */
void *xmalloc(size_t n);
/* Returns n*size zeroed bytes; overflow of n*size counts as out of memory. Caller frees. */
void *xcalloc(size_t n, size_t size);
/* Returns p resized to n*size bytes (overflow-checked); never NULL. */
void *xreallocarray(void *p, size_t n, size_t size);
/* Returns a copy of s (s may be NULL: returns NULL). Caller frees. */
char *xstrdup(const char *s);
/* Returns a NUL-terminated copy of the first n bytes of s. Caller frees. */
char *xstrndup(const char *s, size_t n);

/*
 * Ends the process the way every out-of-memory does: "cacheform: out of memory (in WHAT)",
 * exit 1. For allocation failures a library reports as an ordinary error (libyaml, json-c,
 * libgit2, PCRE2, OpenSSL), so they are never mistaken for a problem with the input.
 */
void xmem_oom(const char *what) __attribute__((noreturn));

/* Grows *arr (element size esz) so that index `need - 1` fits; *cap is updated. */
void xgrow(void *arr, size_t *cap, size_t need, size_t esz);

#endif
