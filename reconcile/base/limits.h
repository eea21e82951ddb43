/*
 * Provider limits, from the vendors' documents: the one table that validation (schema/) and
 * the drivers (reconcile/prov_*.c) both read, so `validate`/`plan` refuse exactly what a
 * provider would refuse at apply. Sources are in the README's provider sections.
 */
#ifndef CF_LIMITS_H
#define CF_LIMITS_H

#include <stdint.h>

/* azure (classic Azure CDN Standard from Microsoft, ARM Microsoft.Cdn endpoints) */
#define LIM_AZURE_RULES		25   /* delivery rules per endpoint, preserved ones included */
#define LIM_AZURE_PURGE_PATHS	100  /* contentPaths per purge request */
#define LIM_AZURE_LOAD_PATHS	50   /* per load request: processed 50 paths at a time */
#define LIM_AZURE_LOAD_PATH_LEN 1024 /* one /load path */

/* azure-china (Azure CDN operated by 21Vianet, REST v1.0) */
#define LIM_AZCN_PURGE_ITEMS 100 /* Files + Directories per request */

/* cdnpro (CDNetworks CDN Pro) */
#define LIM_PRO_PURGE_FILES	1000 /* fileUrls per purge (maxFilePurgeEntries default) */
#define LIM_PRO_PURGE_DIRS	20   /* dirUrls per purge */
#define LIM_PRO_PURGE_REGEX	2    /* regexPatterns per purge (maxItems) */
#define LIM_PRO_PREFETCH_FILES	1000 /* fileList per prefetch: undocumented, as fileUrls */
#define LIM_PRO_REGEX_TAIL	126  /* characters after "host/" in a regex pattern */
#define LIM_PRO_REGEX_UNLIMITED 2    /* at most this many *, + or {n,} in a pattern */
#define LIM_PRO_REGEX_BOUND	59   /* largest {m,n} upper bound */

/* azure-frontdoor (Azure Front Door Standard/Premium; learn.microsoft.com "Azure Front Door
 * limits" and the Microsoft.Cdn OpenAPI specs in Azure/azure-rest-api-specs) */
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

/* every provider */
#define LIM_PURGE_URL_LEN 2048 /* a purge URL (CDN Pro fileUrls/dirUrls maxLength) */

#endif
