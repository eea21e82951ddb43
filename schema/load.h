/*
 * The desired-state repository as YAML -> struct config, with every YAML-level check:
 * syntax, size, depth, aliases, encoding, duplicate and unknown keys, types.
 * Content rules (characters, URLs, references, provider limits, lints, secrets) are
 * schema/check.c's. libyaml stays inside schema/ytree.c (bytes -> node tree); load.c turns the
 * tree into the model.
 *
 * Stable codes (README table):
 *   CF100 file cannot be read (missing cacheform.yaml, not a regular file, I/O)
 *   CF101 file larger than LOAD_MAX_FILE_BYTES
 *   CF102 path or symbolic link leads outside the repository
 *   CF103 invalid UTF-8
 *   CF104 NUL byte, in the file or decoded in a value ("w\0w")
 *   CF105 YAML syntax error
 *   CF106 nesting deeper than YTREE_MAX_DEPTH
 *   CF107 too many nodes or anchors, or aliases expanding beyond YTREE_MAX_ALIAS_NODES
 *   CF108 undefined or self-referencing alias
 *   CF109 empty file or more than one YAML document
 *   CF110 duplicate key
 *   CF111 unknown key
 *   CF112 wrong type (a map where a string is expected, a quoted boolean, ...)
 *   CF113 required key missing
 *   CF114 value not one of the allowed words, or an integer out of range
 *   CF115 invalid integer or duration
 *   CF116 a cache rule needs exactly one of dir, suffix, path
 *   CF117 malformed {env: NAME} or {file: PATH}
 *   CF118 too many errors in one file; the rest of the file is not reported
 *   CF119 a YAML tag (!!str, !custom): refused rather than ignored
 */
#ifndef CF_LOAD_H
#define CF_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/base/source.h"

#define LOAD_MAX_FILE_BYTES ((size_t)8 << 20)

enum load_kind { LOAD_SETTINGS, LOAD_ENDPOINT, LOAD_PURGE };

/*
 * Loads cacheform.yaml, endpoints/ *.yaml|yml and purges/ *.yaml|yml from src into a new
 * config, going on past errors so that every file's errors are added to d.
 * *out is always set (caller frees with config_free); with errors it holds what could be
 * read, which is enough for schema/check.c to report further errors (objects missing a
 * required key are left out).
 * Returns 0 when no error was added, CF_EINVAL when some were, CF_EIO when a directory
 * could not be listed (also added to d).
 */
int load_repo(const struct cf_source *src, struct config **out, struct diag_list *d);

/*
 * Two revisions of one repository (cacheform diff) share most of their endpoint files, and
 * reading and parsing them is most of a load's cost. A load_memo records, for each file one
 * load read, the id its source gave it (struct cf_source's id) and what loading it gave; a
 * second load given that memo copies the endpoint and the findings of every endpoint file
 * whose path and id are unchanged instead of reading and parsing it again. The copy is what
 * parsing the same bytes gives, positions and findings included (they name the second
 * config's file table), so check_config sees and reports exactly what it would have.
 */
#define LOAD_NONE SIZE_MAX

struct load_memo_file {
	const char *path;	/* from the config's file table; borrowed */
	char id[SOURCE_ID_MAX]; /* "" when the source gave none (never matches) */
	enum load_kind kind;
	uint32_t file; /* index in the config's file table */
	size_t ep;     /* index of the endpoint it gave in the config's endpoints, or LOAD_NONE */
	size_t from;   /* index of the prior's endpoint it was copied from, or LOAD_NONE */
	size_t d0, d1; /* the findings it added: [d0, d1) of the load's diag_list */
};

struct load_memo {
	const struct config *c; /* the load's config and findings; borrowed */
	const struct diag_list *d;
	struct load_memo_file *v; /* sorted by path */
	size_t n, cap;
	size_t ncopied; /* endpoint files copied from the prior, not read */
};

/*
 * load_repo, recording each file in rec (when not NULL; release with load_memo_release) and
 * copying unchanged endpoint files from prior (when not NULL): a memo that another load
 * recorded, whose config and diag_list are still as that load left them. check_config edits
 * both (a suffix's dot is dropped), so it runs on neither config until both loads are done.
 */
int load_repo_memo(const struct cf_source *src, const struct load_memo *prior,
		   struct load_memo *rec, struct config **out, struct diag_list *d);
/* Whether a and b read the same files of kind (same paths) with the same known ids. */
bool load_memo_same(const struct load_memo *a, const struct load_memo *b, enum load_kind kind);
/* Finds path in m (NULL when absent). */
const struct load_memo_file *load_memo_find(const struct load_memo *m, const char *path);
void load_memo_release(struct load_memo *m);

/* One file the loader reads. */
struct load_file {
	char *path; /* relative to the repository ("endpoints/www.yaml"); owned */
	enum load_kind kind;
};

/*
 * Lists the files load_repo reads, in the order it reads them: cacheform.yaml (listed even
 * when missing: reading it reports that), then the YAML files of endpoints/ and purges/ as
 * src->list gives them. *out and *n are always set; free with load_files_free. Returns 0, or
 * CF_EIO when a directory could not be listed (added to d; the other files are listed).
 */
int load_files(const struct cf_source *src, struct load_file **out, size_t *n, struct diag_list *d);
void load_files_free(struct load_file *v, size_t n);

/*
 * Loads one file's bytes (of the given kind) into c, as load_repo does for each file.
 * file is the name used in positions (interned into c). Returns 0, or CF_EINVAL when errors
 * were added to d.
 */
int load_buffer(struct config *c, enum load_kind kind, const char *file, const char *buf,
		size_t len, struct diag_list *d);

#endif
