/*
 * The catalogue of diagnostic codes (CF100...): a short and a full description and the
 * default level of each, for SARIF rules and the reference page schema/codes.md.
 */
#ifndef CF_CODES_H
#define CF_CODES_H

#include <stddef.h>

#include "reconcile/base/diag.h"

struct code_info {
	const char *code;  /* "CF303" */
	enum diag_sev sev; /* default level */
	const char *short_desc;
	const char *full_desc;
};

/* Returns the entry for code, or NULL when the catalogue lacks it. Static storage. */
const struct code_info *code_find(const char *code);

/* Returns the i-th entry (catalogue order), or NULL past the end. Static storage. */
const struct code_info *code_at(size_t i);

#endif
