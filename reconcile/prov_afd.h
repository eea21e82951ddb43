/*
 * The Front Door driver's reading of a route and its rules into reconcile/sem_afd.h's structs.
 * One reading for the driver (plan, explain) and fakecdn's edge, so the emulator serves what
 * the driver predicts from the same JSON.
 */
#ifndef CF_PROV_AFD_H
#define CF_PROV_AFD_H

#include "reconcile/base/diag.h"
#include "reconcile/sem.h"
#include "reconcile/sem_afd.h"

struct json_object;

/*
 * Reads a route's properties (cacheConfiguration: present or not, queryStringCachingBehavior,
 * queryParameters) into rt's route settings; rt's rule sets are left alone. Returns 0, or a
 * negative code with e filled when a member has the wrong type or an unknown value.
 */
int prov_afd_sem_route(struct json_object *props, struct sem_afd_route *rt, struct cf_err *e);

/*
 * Appends to s the rule whose properties are props (a per-rule resource's "properties", or
 * one element of a batch-mode rules[]) under name (may be NULL). Returns 0, or a negative
 * code with e filled (the rule is then appended partly read; release s as usual).
 */
int prov_afd_sem_rule(struct json_object *props, const char *name, struct sem_afd_set *s,
		      struct cf_err *e);

/* Makes out (overwritten) a SEM_AZURE_FRONTDOOR config evaluating rt; rt must be heap-allocated
 * (xcalloc) with sorted sets, and is owned by out from then on (sem_cfg_release frees it). */
void prov_afd_sem_cfg(struct sem_afd_route *rt, struct sem_cfg *out);

#endif
