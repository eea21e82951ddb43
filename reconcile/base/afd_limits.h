/*
 * Azure Front Door Standard/Premium: the documented limits and per-cloud hosts, one table
 * shared by validation (schema/check.c) and the driver (reconcile/prov_afd.c), so a limit is
 * checked by `validate`/`plan` with the same number the driver enforces before a write.
 * Sources: ../shared/reference/azure-frontdoor-api.md §1 and §5 (D-LIM, D-BATCH, D-RS, D-NC, TF).
 */
#ifndef CF_AFD_LIMITS_H
#define CF_AFD_LIMITS_H

#include <stdint.h>

#define AFD_RULES_PER_SET	 100 /* rules in one rule set (Standard and Premium) */
#define AFD_BATCH_CACHING_WEIGHT 2   /* batch mode: a rule whose override caches counts twice */
#define AFD_RULE_SETS_STANDARD	 100 /* rule sets per profile */
#define AFD_RULE_SETS_PREMIUM	 200
#define AFD_CONDITIONS_PER_RULE	 10
#define AFD_ACTIONS_PER_RULE	 5
#define AFD_PURGE_PATHS		 100 /* contentPaths per purge request */
#define AFD_RULE_NAME_MAX	 60  /* batch ruleName ^[a-zA-Z][a-zA-Z0-9]{0,59}$ */
/* cacheDuration: at most 365.23:59:59 (terraform's validator; the spec gives no maximum) */
#define AFD_DURATION_MAX_S (INT64_C(365) * 86400 + 86399)
/* First stable api-version with batch rule sets (batchMode, rules[]): 2026-07-01. */
#define AFD_BATCH_API_MIN "2026-07-01"
#define AFD_DEFAULT_API	  "2026-07-01"

/* Clouds: ARM host, Entra ID login host, token scope (derived from the ARM host). */
#define AFD_GLOBAL_ARM	 "https://management.azure.com"
#define AFD_GLOBAL_LOGIN "https://login.microsoftonline.com"
#define AFD_CHINA_ARM	 "https://management.chinacloudapi.cn"
#define AFD_CHINA_LOGIN	 "https://login.chinacloudapi.cn"

/* Retirement dates said by validate (SPEC §3). */
#define AFD_AZURE_CHINA_RETIRED "2025-12-01"
#define AFD_AZURE_RETIRES	"2027-09-30"

#endif
