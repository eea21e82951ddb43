/*
 * Reading a node tree (schema/ytree.h) into plain structs: typed scalar readers and field
 * tables that check a map's keys (duplicates, unknown, required). Knows nothing of libyaml or
 * of which files hold what; schema/load.c has the field tables for cacheform's three kinds of
 * file. Every reader reports its own error (on the tree's diag_list) and goes on.
 *
 * Lists are packed into the config's arena (borrowed svecs, see reconcile/base/model.h).
 */
#ifndef CF_YREAD_H
#define CF_YREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/base/model.h"
#include "schema/ytree.h"

/* The config being filled and the tree of the file being read. */
struct yread {
	struct config *c;
	uint32_t file; /* t.file's index in c's file table, for struct pos */
	struct ytree t;
};

#define YREAD_ERR(x, node, code, ...)                                                              \
	ytree_err(&(x)->t, (node)->line, (node)->col, code, __VA_ARGS__)

struct yread_field;
typedef void (*yread_fn)(struct yread *x, const struct ynode *v, const struct yread_field *f,
			 void *obj);

/* F_SVAL: a heap string (owned by the sval); F_ASVAL: a string in the config's arena, for
 * objects that say their strings are borrowed (struct endpoint's arena_strs). */
enum yread_kind { F_SVAL, F_ASVAL, F_SVEC, F_MVAL, F_BOOL, F_FN };

struct yread_field {
	const char *key;
	enum yread_kind kind;
	size_t off; /* where the value goes in obj (all kinds but F_FN) */
	yread_fn fn;
	bool required;
};

/* The position of n in the current file. */
struct pos yread_npos(const struct yread *x, const struct ynode *n);
/* "null", "a map", "a list" or "a scalar", for messages. */
const char *yread_kind_name(const struct ynode *n);

/* Typed readers: each returns 0, or -1 after adding its error (key names the value). */
int yread_bool(struct yread *x, const struct ynode *n, const char *key, bool *out);
int yread_int(struct yread *x, const struct ynode *n, const char *key, int64_t lo, int64_t hi,
	      int64_t *out);
int yread_duration(struct yread *x, const struct ynode *n, const char *key, int64_t *out);
/* Returns the index of n's text in words, or -1 after adding an error. */
int yread_word(struct yread *x, const struct ynode *n, const char *key, const char *const *words,
	       size_t nwords);
/* Reads a list of strings into v (in the config's arena); wrong items are reported, skipped. */
void yread_svec(struct yread *x, const struct ynode *n, const char *key, struct svec *v);

/*
 * Checks that n is a map with string keys and no duplicates. Returns the key count and sets
 * *keys, *vals and *dup (scratch, freed with the tree), or returns -1 after an error.
 */
long yread_pairs(struct yread *x, const struct ynode *n, const char *what, struct ynode ***keys,
		 struct ynode ***vals, bool **dup);
/*
 * Reads map n into obj through the field table. Returns 0, or -1 when n is not a map or a
 * required key is missing (both reported); other errors are reported and skipped.
 */
int yread_map(struct yread *x, const struct ynode *n, const char *what,
	      const struct yread_field *fields, size_t nf, void *obj);

#endif
