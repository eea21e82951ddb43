/*
 * One YAML file as a tree of plain nodes. schema/ytree.c owns everything libyaml: it is the
 * only file that includes yaml.h. It checks the bytes (UTF-8, NUL), runs libyaml's event
 * parser and builds the tree without recursion, enforcing the YAML-level bounds on the way:
 * depth, node and anchor counts, alias expansion, one document. schema/load.c turns the tree
 * into the model.
 *
 * Ownership: every node, string and scratch block handed out lives in the tree's arena and
 * is freed at once by the next ytree_begin() or by ytree_release(), so a file's tree never
 * outlives its conversion.
 * Errors (codes CF103-CF109, CF118, CF119; see schema/load.h) go to the tree's diag_list, at most
 * YTREE_MAX_FILE_ERRORS per file. Running out of memory inside libyaml ends the process
 * the way reconcile/xmem.c does, never as a YAML error.
 */
#ifndef CF_YTREE_H
#define CF_YTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/base/diag.h"

#define YTREE_MAX_DEPTH	      64     /* nested collections in one file */
#define YTREE_MAX_NODES	      500000 /* nodes in one file, before alias expansion */
#define YTREE_MAX_ALIAS_NODES 100000 /* nodes reached through aliases in one file */
#define YTREE_MAX_ANCHORS     256    /* anchors defined in one file */
#define YTREE_MAX_FILE_ERRORS 50     /* errors reported per file before CF118 */

enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP };

/* How a scalar was written (schema/fmt.c rewrites scalars in place by their spans). */
enum yscalar_style { YS_PLAIN, YS_SINGLE, YS_DOUBLE, YS_BLOCK };

struct yitem {
	struct ynode *node;
	struct yitem *next;
};

struct ynode {
	enum ynode_kind kind;
	bool plain; /* plain untagged scalar: may mean null, a boolean or a number */
	bool open;  /* collection still being parsed: an alias to it would be recursive */
	bool flow;  /* collection written in flow style, [a, b] or {k: v} */
	enum yscalar_style style;
	unsigned line, col;	    /* where the node starts (its anchor, if any), 1-based */
	unsigned end_line, end_col; /* scalars: just past the last character, 1-based */
	const char *s;		    /* scalar text, NUL-terminated */
	size_t len;
	struct yitem *head, *tail; /* seq: items; map: key, value, key, value ... */
	size_t n;
	uint64_t weight; /* nodes in this subtree, counting aliased subtrees again */
};

struct ytree_chunk;

struct ytree {
	struct diag_list *d; /* where errors go */
	const char *file;    /* name used in positions; borrowed */
	const char *buf;     /* the file's bytes; borrowed */
	size_t len;
	unsigned nerr;	    /* errors added for this file */
	struct ynode *root; /* after ytree_parse: the document, NULL for an empty stream */
	struct ytree_chunk *chunks;
};

/* Prepares t; errors will go to d. */
void ytree_init(struct ytree *t, struct diag_list *d);
/* Starts a new file: frees the previous file's nodes and clears the error count. */
void ytree_begin(struct ytree *t, const char *file, const char *buf, size_t len);
/* Checks the bytes and parses them into t->root. Returns 0, or -1 after adding the error. */
int ytree_parse(struct ytree *t);
/* Frees everything; t may be initialised again. */
void ytree_release(struct ytree *t);

/* Adds an error at line:col of the current file (CF118 once the per-file cap is reached). */
void ytree_err(struct ytree *t, unsigned line, unsigned col, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Scratch memory freed with the file's nodes: never NULL. */
void *ytree_alloc(struct ytree *t, size_t n);
void *ytree_calloc(struct ytree *t, size_t n, size_t size);

/* Whether n is a YAML null (empty, ~, null, Null, NULL, unquoted). */
bool ytree_is_null(const struct ynode *n);

/* Returns the version of the libyaml loaded at run time, e.g. "0.2.5". Static. */
const char *ytree_lib_version(void);

#endif
