/*
 * Internals shared by the two halves of the plan-file codec (planfile.c encodes,
 * planfile_decode.c decodes). Not for callers: they see only planfile.h.
 */
#ifndef CF_PLANFILE_INT_H
#define CF_PLANFILE_INT_H

#include <stddef.h>

struct json_object;

/*
 * One parse of exactly len bytes: the root, or NULL with *why (static text) and *at (byte
 * offset) set; NULL with *why NULL is the document `null`. Unlike planfile_json_parse it does
 * not parse twice to detect json-c allocation failures: planfile_json_text uses it to read
 * back its own output, and compares trees itself.
 */
struct json_object *planfile_parse_once(const char *json, size_t len, int depth, const char **why,
					size_t *at);

#endif
