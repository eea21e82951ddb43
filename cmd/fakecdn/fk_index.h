/*
 * Hashed lookups of state objects by name (issue 17): a linear scan per request was 36% of
 * the emulator's CPU at 10,000 ARM endpoints. Keys are a kind letter and the name's parts,
 * lowercased (the scans they replace compare case-insensitively), joined by '\n'. The index
 * borrows the objects: its owner drops it whenever objects are added to or removed from the
 * arrays it covers, and builds it again on the next lookup.
 */
#ifndef FK_INDEX_H
#define FK_INDEX_H

#include <stddef.h>

#include <json-c/json.h>

struct fk_index;

struct fk_index *fk_index_new(void);
void fk_index_free(struct fk_index *ix);
/* Adds the key of kind k from parts -> v; the first object added under a key keeps it (as a
 * scan in state order would find it). A NULL part adds nothing. */
void fk_index_add(struct fk_index *ix, char k, const char *const *parts, size_t n,
		  struct json_object *v);
/* The object under the key of kind k from parts, or NULL (also when a part is NULL). */
struct json_object *fk_index_find(const struct fk_index *ix, char k, const char *const *parts,
				  size_t n);

#endif
