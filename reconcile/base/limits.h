/*
 * Provider limits, from the vendors' documents: the one table that validation (schema/) and
 * the drivers (reconcile/prov_*.c) both read, so `validate`/`plan` refuse exactly what a
 * provider would refuse at apply. Sources are in the README's provider sections.
 */
#ifndef CF_LIMITS_H
#define CF_LIMITS_H

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

/* every provider */
#define LIM_PURGE_URL_LEN 2048 /* a purge URL (CDN Pro fileUrls/dirUrls maxLength) */

#endif
