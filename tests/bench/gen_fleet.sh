#!/usr/bin/env bash
# Generates the fleet the plan/apply/baseline benchmarks run against:
#
#   gen_fleet.sh OUT [ENDPOINTS] [CHANGED_PCT] [PURGES] [BIG_PURGES] [PRO_PURGES] [PRO_ENDPOINTS]
#
#   OUT/repo/          desired state: ENDPOINTS endpoints, half azure-china (account cn), half
#                      azure (account global), 5 rules each; PURGES purge manifests over them
#                      (BIG_PURGES of them carry 110 files, over the 100-item per-request cap)
#   OUT/repo-pro/      cdnpro fleet: PRO_ENDPOINTS purge-only endpoints, PRO_PURGES manifests
#   OUT/state.json     a fakecdn state serving all of them: the live rules equal the desired
#                      rules except on CHANGED_PCT % of the endpoints (rule 2's TTL differs)
#   OUT/jobs/          the same job for tests/bench/baseline.sh: rules.tsv (one rule write per
#                      changed endpoint, body in a file) and purges.tsv (one line per URL)
#   OUT/expect.env     the minimum request counts (shell variables) the benchmark compares to
#
# AZ_ONLY=1: every endpoint is azure, alternately on accounts global and global2 (a second
# client of the same tenant and subscription: the shard benchmark declares them one rate
# domain). Credentials are fakecdn's example ones (tests/cli/fakecdn_helpers.bash).
set -euo pipefail
OUT=$1 N=${2:-1000} CHANGED_PCT=${3:-10} PURGES=${4:-200} BIG=${5:-4} PRO_PURGES=${6:-45} PRO_EPS=${7:-5}
mkdir -p "$OUT/repo/endpoints" "$OUT/repo/purges" "$OUT/repo-pro/endpoints" "$OUT/repo-pro/purges" "$OUT/jobs/bodies"

CN_SUB=e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb
ARM_SUB=11111111-1111-4111-8111-111111111111
ARM_TENANT=22222222-2222-4222-8222-222222222222
CLIENT2=44444444-4444-4444-8444-444444444444 # AZ_ONLY's second client (secret fakecdn-client-secret-2)

awk -v azonly="${AZ_ONLY:-0}" -v n="$N" -v pct="$CHANGED_PCT" -v npurges="$PURGES" -v nbig="$BIG" -v npro="$PRO_PURGES" \
    -v nproeps="$PRO_EPS" -v out="$OUT" -v cnsub="$CN_SUB" -v armsub="$ARM_SUB" -v tenant="$ARM_TENANT" -v client2="$CLIENT2" '
function cnid(i) { return sprintf("%08x-71c4-4e17-8259-0017fa00a611", i + 1) }
# Endpoint i is azure-china (account cn) when even, else azure (global; AZ_ONLY: all azure).
function iscn(i) { return !azonly && i % 2 == 0 }
function acct(i) { return iscn(i) ? "cn" : (azonly && i % 2 ? "global2" : "global") }
function name(i) { return (iscn(i) ? "cn" : "az") sprintf("%04d", i) }
function host(i) { return name(i) (iscn(i) ? ".example.cn" : ".example.com") }
function days(i) { return i % 7 + 1 }
# Endpoint i is "changed" (live differs) when it falls in the first pct % of a 100-cycle.
function changed(i) { return (i % 100) < pct }
function dur(s,   d, h, m, sec) {
	d = int(s / 86400); s -= d * 86400; h = int(s / 3600); s -= h * 3600; m = int(s / 60); sec = s - m * 60
	return (d ? d "." : "") sprintf("%02d:%02d:%02d", h, m, sec)
}
# Desired TTLs (seconds) of the five rules; the live rule 2 is 1h on changed endpoints.
function ttl(i, r) {
	if (r == 1) return 0
	if (r == 2) return days(i) * 86400
	if (r == 3) return 30 * 86400
	if (r == 4) return 7 * 86400
	return 600
}
function cn_rules(i, live,   t2) {
	t2 = (live && changed(i)) ? 3600 : ttl(i, 2)
	return "{\"Rules\": [{\"Type\": \"FullUri\", \"Items\": [\"/index.html\"], \"TTL\": 0}, " \
		"{\"Type\": \"Dir\", \"Items\": [\"/static/\", \"/assets/\"], \"TTL\": " t2 "}, " \
		"{\"Type\": \"Suffix\", \"Items\": [\"jpg\", \"png\"], \"TTL\": " ttl(i, 3) "}, " \
		"{\"Type\": \"Suffix\", \"Items\": [\"css\", \"js\"], \"TTL\": " ttl(i, 4) "}, " \
		"{\"Type\": \"Dir\", \"Items\": [\"/\"], \"TTL\": " ttl(i, 5) "}], " \
		"\"IgnoreCacheControl\": false, \"IgnoreCookie\": false, \"IgnoreQueryString\": true}"
}
# Written as the cacheform azure writer does (reconcile/prov_azure.c): the first YAML rule acts
# last (order 5), suffixes lower-case behind a Lowercase transform, names cacheformN by YAML rule.
function arm_rule(order, n, cond, op, vals, t,   ctype, beh, tr) {
	tr = cond == "UrlFileExtension" ? "\"Lowercase\"" : ""
	ctype = cond == "UrlPath" ? "DeliveryRuleUrlPathMatchConditionParameters" : "DeliveryRuleUrlFileExtensionMatchConditionParameters"
	beh = t == 0 ? "\"cacheBehavior\": \"BypassCache\", \"cacheType\": \"All\", \"cacheDuration\": null" : \
		"\"cacheBehavior\": \"SetIfMissing\", \"cacheType\": \"All\", \"cacheDuration\": \"" dur(t) "\""
	return "{\"name\": \"cacheform" n "\", \"order\": " order ", \"conditions\": [{\"name\": \"" cond "\", " \
		"\"parameters\": {\"typeName\": \"" ctype "\", \"operator\": \"" op "\", \"negateCondition\": false, " \
		"\"matchValues\": " vals ", \"transforms\": [" tr "]}}], \"actions\": [{\"name\": \"CacheExpiration\", " \
		"\"parameters\": {\"typeName\": \"DeliveryRuleCacheExpirationActionParameters\", " beh "}}]}"
}
function arm_policy(i, live,   t2) {
	t2 = (live && changed(i)) ? 3600 : ttl(i, 2)
	return "{\"description\": \"\", \"rules\": [" \
		arm_rule(1, 5, "UrlPath", "BeginsWith", "[\"/\"]", ttl(i, 5)) ", " \
		arm_rule(2, 4, "UrlFileExtension", "Equal", "[\"css\", \"js\"]", ttl(i, 4)) ", " \
		arm_rule(3, 3, "UrlFileExtension", "Equal", "[\"jpg\", \"png\"]", ttl(i, 3)) ", " \
		arm_rule(4, 2, "UrlPath", "BeginsWith", "[\"/static/\", \"/assets/\"]", t2) ", " \
		arm_rule(5, 1, "UrlPath", "Equal", "[\"/index.html\"]", 0) "]}"
}
function arm_path(i) {
	return "/subscriptions/" armsub "/resourceGroups/bench-rg/providers/Microsoft.Cdn/profiles/bench-cdn/endpoints/" name(i)
}
function ceil_div(a, b) { return int((a + b - 1) / b) }
BEGIN {
	repo = out "/repo"; pro = out "/repo-pro"; st = out "/state.json"; jobs = out "/jobs"
	# ---- desired state ----
	f = repo "/cacheform.yaml"
	print "version: 1\naccounts:" > f
	if (!azonly) {
		print "  cn:\n    provider: azure-china\n    subscription: " cnsub > f
		print "    key_id: {env: AZURECDN_KEY_ID}\n    key_value: {env: AZURECDN_KEY_VALUE}\n    base_url: {env: FAKECDN_URL}" > f
	}
	print "  global:\n    provider: azure\n    subscription: {env: AZURE_SUBSCRIPTION_ID}\n    tenant: {env: AZURE_TENANT_ID}" > f
	print "    client_id: {env: AZURE_CLIENT_ID}\n    client_secret: {env: AZURE_CLIENT_SECRET}" > f
	print "    base_url: {env: FAKECDN_URL}\n    login_url: {env: FAKECDN_URL}" > f
	if (azonly) {
		print "  global2:\n    provider: azure\n    subscription: {env: AZURE_SUBSCRIPTION_ID}\n    tenant: {env: AZURE_TENANT_ID}" > f
		print "    client_id: " client2 "\n    client_secret: {env: AZURE_CLIENT_SECRET2}" > f
		print "    base_url: {env: FAKECDN_URL}\n    login_url: {env: FAKECDN_URL}" > f
	}
	print "safety:\n  max_change_pct: 30\n  min_rules: 5" > f
	close(f)
	for (i = 0; i < n; i++) {
		f = repo "/endpoints/" name(i) ".yaml"
		printf "endpoint: %s\naccount: %s\nremote:\n", name(i), acct(i) > f
		if (iscn(i)) ncn++
		if (iscn(i)) printf "  endpoint_id: %s\n", cnid(i) > f
		else printf "  resource_group: bench-rg\n  profile: bench-cdn\n  endpoint: %s\n", name(i) > f
		printf "hosts: [%s]\ncache:\n  ignore_cache_control: false\n", host(i) > f
		if (iscn(i)) printf "  ignore_cookie: false\n" > f
		printf "  ignore_query_string: true\n  rules:\n" > f
		printf "    - path: [/index.html]\n      ttl: 0\n" > f
		printf "    - dir: [/static/, /assets/]\n      ttl: %dd\n", days(i) > f
		printf "    - suffix: [jpg, png]\n      ttl: 30d\n    - suffix: [css, js]\n      ttl: 7d\n" > f
		printf "    - dir: [/]\n      ttl: 10m\n" > f
		close(f)
		if (changed(i)) {
			nchanged++
			b = jobs "/bodies/" name(i) ".json"
			if (iscn(i)) {
				print cn_rules(i, 0) > b
				printf "azure-china\t/subscriptions/%s/endpoints/%s/cacherules\t%s\n", cnsub, cnid(i), b > (jobs "/rules.tsv")
			} else {
				print "{\"properties\": {\"queryStringCachingBehavior\": \"IgnoreQueryString\", \"deliveryPolicy\": " arm_policy(i, 0) "}}" > b
				printf "azure\t%s\t%s\n", arm_path(i), b > (jobs "/rules.tsv")
			}
			close(b)
		}
	}
	# Purge manifests: manifest j goes to endpoint (j * 7) % n; the first nbig carry 110 files.
	minpurge = 0
	for (j = 0; j < npurges; j++) {
		e = (j * 7) % n
		f = repo "/purges/" sprintf("bench-p%04d", j) ".yaml"
		printf "purge: bench-p%04d\nendpoints: [%s]\n", j, name(e) > f
		nf = j < nbig ? 110 : 2
		printf "files:\n" > f
		for (k = 0; k < nf; k++) {
			path = sprintf("/img/p%04d/f%03d.png", j, k)
			printf "  - %s\n", path > f
			if (iscn(e)) printf "azure-china\t/subscriptions/%s/endpoints/%s/purges\tfile\thttps://%s%s\n", cnsub, cnid(e), host(e), path > (jobs "/purges.tsv")
			else printf "azure\t%s/purge\tfile\t%s\n", arm_path(e), path > (jobs "/purges.tsv")
		}
		printf "dirs: [/static/]\n" > f
		if (iscn(e)) printf "azure-china\t/subscriptions/%s/endpoints/%s/purges\tdir\thttps://%s/static/\n", cnsub, cnid(e), host(e) > (jobs "/purges.tsv")
		else printf "azure\t%s/purge\tdir\t/static/*\n", arm_path(e) > (jobs "/purges.tsv")
		close(f)
		minpurge += ceil_div(nf + 1, 100)	# azure-china and azure: 100 items per request
		baseline_urls += nf + 1
	}
	# ---- cdnpro fleet ----
	f = pro "/cacheform.yaml"
	print "version: 1\naccounts:\n  pro:\n    provider: cdnpro\n    user: {env: CDNPRO_USER}\n    api_key: {env: CDNPRO_API_KEY}" > f
	print "    base_url: {env: FAKECDN_URL}" > f
	close(f)
	for (i = 0; i < nproeps; i++) {
		f = pro "/endpoints/" sprintf("pro%02d", i) ".yaml"
		printf "endpoint: pro%02d\naccount: pro\nremote:\n  target: production\nhosts: [pro%02d.example.net]\nmode: purge-only\n", i, i > f
		close(f)
		prohosts = prohosts (i ? ", " : "") sprintf("\"pro%02d.example.net\"", i)
	}
	for (j = 0; j < npro; j++) {
		f = pro "/purges/" sprintf("pro-p%04d", j) ".yaml"
		printf "purge: pro-p%04d\nendpoints: [pro%02d]\nfiles: [/v/%04d/a.mp4, /v/%04d/b.mp4, /v/%04d/c.jpg]\ndirs: [/thumbs/%04d/]\n", j, j % nproeps, j, j, j, j > f
		close(f)
	}
	# ---- fakecdn state ----
	print "{\n  \"settings\": {\"task_delay_ms\": 200, \"token_expiry_s\": 3599, \"china_date_window_s\": 900," > st
	print "    \"cdnpro_date_window_s\": 300, \"cdnpro_rate_per_minute\": 30, \"cdnpro_burst\": 60}," > st
	print "  \"azure_china\": {\"daily_file_purges\": 1000000, \"daily_dir_purges\": 1000000, \"daily_file_preloads\": 1000000," > st
	print "    \"subscriptions\": [{\"id\": \"" cnsub "\"," > st
	print "      \"keys\": [{\"id\": \"fakecdn-rw\", \"value\": \"fakecdn-rw-secret\", \"access\": \"read-write\", \"status\": \"Active\"}]," > st
	print "      \"endpoints\": [" > st
	sep = ""
	for (i = 0; i < n; i++) {
		if (!iscn(i)) continue
		printf "%s        {\"id\": \"%s\", \"hosts\": [\"%s\"], \"origin\": \"origin.example.cn\", \"service_type\": \"Web\", \"enabled\": true,\n", sep, cnid(i), host(i) > st
		printf "         \"cacherules\": %s}", cn_rules(i, 1) > st
		sep = ",\n"
	}
	print "\n      ]}]}," > st
	print "  \"azure\": {\"tenants\": [{\"id\": \"" tenant "\", \"clients\": [{\"client_id\": \"33333333-3333-4333-8333-333333333333\", \"client_secret\": \"fakecdn-client-secret\"}, {\"client_id\": \"" client2 "\", \"client_secret\": \"fakecdn-client-secret-2\"}]}]," > st
	print "    \"subscriptions\": [{\"id\": \"" armsub "\", \"tenant\": \"" tenant "\", \"endpoints\": [" > st
	sep = ""
	for (i = 0; i < n; i++) {
		if (iscn(i)) continue
		printf "%s      {\"resource_group\": \"bench-rg\", \"profile\": \"bench-cdn\", \"name\": \"%s\", \"location\": \"Global\", \"tags\": {},\n", sep, name(i) > st
		printf "       \"properties\": {\"hostName\": \"%s.azureedge.net\", \"isHttpAllowed\": true, \"isHttpsAllowed\": true,\n", name(i) > st
		printf "        \"queryStringCachingBehavior\": \"IgnoreQueryString\", \"optimizationType\": \"GeneralWebDelivery\", \"provisioningState\": \"Succeeded\", \"resourceState\": \"Running\",\n" > st
		printf "        \"origins\": [{\"name\": \"origin\", \"properties\": {\"hostName\": \"origin.example.com\", \"httpPort\": 80, \"httpsPort\": 443, \"enabled\": true}}],\n" > st
		printf "        \"customDomains\": [], \"geoFilters\": [], \"urlSigningKeys\": [],\n        \"deliveryPolicy\": %s}}", arm_policy(i, 1) > st
		sep = ",\n"
	}
	print "\n    ]}]}," > st
	print "  \"cdnpro\": {\"customer_id\": 10000021, \"users\": [{\"user\": \"fakecdn\", \"api_key\": \"fakecdn-api-key\"}]," > st
	print "    \"hosts\": {\"production\": [" prohosts "], \"staging\": [" prohosts "]}," > st
	print "    \"quota\": {\"file_purge_production\": 100000, \"file_purge_staging\": 100000, \"dir_purge_production\": 10000, \"dir_purge_staging\": 10000," > st
	print "      \"max_file_entries\": 1000, \"max_dir_entries\": 20, \"prefetch\": 5000}}," > st
	print "  \"tasks\": []\n}" > st
	close(st)
	# ---- minimum request counts ----
	f = out "/expect.env"
	printf "FLEET_ENDPOINTS=%d\nFLEET_CN=%d\nFLEET_AZ=%d\nFLEET_CHANGED=%d\nFLEET_PURGES=%d\n", n, ncn, n - ncn, nchanged, npurges > f
	printf "MIN_PURGE_REQUESTS=%d\nBASELINE_PURGE_REQUESTS=%d\nPRO_PURGES=%d\nPRO_ENDPOINTS=%d\n", minpurge, baseline_urls, npro, nproeps > f
	close(f)
}'
: >>"$OUT/jobs/rules.tsv"
