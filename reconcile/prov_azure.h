/*
 * The Azure CDN driver's reading of delivery rules as the rules engine evaluates them
 * (reconcile/sem.h). One reading for the driver (plan, explain) and fakecdn's edge, so the
 * emulator serves what the driver predicts from the same JSON.
 */
#ifndef CF_PROV_AZURE_H
#define CF_PROV_AZURE_H

#include <stdbool.h>

#include "reconcile/sem.h"

struct json_object;

/*
 * Appends delivery rule j (one element of deliveryPolicy.rules) to az as the engine reads it:
 * UrlPath / UrlFileExtension / UrlFileName conditions, the last CacheExpiration action; what
 * the model lacks becomes SEM_OP_OTHER / SEM_AZ_OTHER (uncertain). foreign marks a rule
 * cacheform does not own. Never fails: malformed parts read as unknown.
 */
void prov_azure_sem_rule(struct json_object *j, struct sem_az *az, bool foreign);

#endif
