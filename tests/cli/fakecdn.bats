#!/usr/bin/env bats
# fakecdn acceptance: requests signed by an independent implementation (openssl + curl in
# fakecdn_helpers.bash) are accepted for all three providers and tampered ones are refused
# with the documented error bodies; async tasks, quotas, rate limits, admin, journal, --save.
load helpers
load fakecdn_helpers

CN_RULES=/subscriptions/$CN_SUB/endpoints/$CN_EP/cacherules

teardown() {
	fakecdn_stop
}

# state_with JQ-FILTER: a copy of the example state changed by a jq filter; prints its path.
state_with() {
	jq "$1" "$FAKECDN_EXAMPLE_STATE" >"$BATS_TEST_TMPDIR/state-variant.json"
	echo "$BATS_TEST_TMPDIR/state-variant.json"
}

cn_error_is() { # STATUS TYPE
	[ "$(http_status)" = "$1" ] || { echo "status $(http_status), want $1: $output" >&2; return 1; }
	[ "$(http_body | jq -r '.Succeeded, .ErrorInfo.Type' | paste -sd' ')" = "false $2" ] ||
		{ echo "body: $output" >&2; return 1; }
}

# ---- azure-china: signature ----

@test "azure-china: a correctly signed GET is accepted and journaled as authenticated" {
	fakecdn_start
	run cn_curl GET "$CN_RULES"
	[ "$(http_status)" = 200 ]
	[ "$(http_body | jq -r '.Rules[1].Items[0]')" = /pic/ ]
	[ "$(journal_count read_rules auth=true status=200)" = 1 ]
	grep -q '^X-Correlation-Id: ' "$CURL_HEADERS"
}

@test "azure-china: a wrong key value is refused with WrongSignature" {
	fakecdn_start
	CN_KEY_VALUE=not-the-secret run cn_curl GET "$CN_RULES"
	cn_error_is 401 WrongSignature
	[ "$(journal_count read_rules auth=false status=401)" = 1 ]
}

@test "azure-china: a tampered path or query is refused with WrongSignature" {
	fakecdn_start
	CN_SIGN_PATH=/subscriptions/$CN_SUB/endpoints/2b6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93/cacherules \
		run cn_curl GET "$CN_RULES"
	cn_error_is 401 WrongSignature
	# Signed for apiVersion=1.0 alone, sent with one more argument.
	sig=$(cn_sign GET "$CN_RULES" apiVersion=1.0 "$(cn_date)")
	CN_SIG=$sig CN_QUERY='apiVersion=1.0&x=1' run cn_curl GET "$CN_RULES"
	cn_error_is 401 WrongSignature
	# Query pairs are signed sorted by name: an unsorted signature is wrong.
	d=$(cn_date)
	bad=$(printf '%s\r\n%s\r\n%s\r\n%s' "$CN_RULES" 'x:1, apiVersion:1.0' "$d" GET |
		openssl dgst -sha256 -hmac "$CN_KEY_VALUE" | awk '{print toupper($NF)}')
	CN_DATE=$d CN_SIG=$bad CN_QUERY='x=1&apiVersion=1.0' run cn_curl GET "$CN_RULES"
	cn_error_is 401 WrongSignature
	CN_DATE=$d CN_QUERY='x=1&apiVersion=1.0' run cn_curl GET "$CN_RULES"
	[ "$(http_status)" = 200 ]
}

@test "azure-china: a lower-case hex signature is refused (upper case is required)" {
	fakecdn_start
	d=$(cn_date)
	sig=$(cn_sign GET "$CN_RULES" apiVersion=1.0 "$d" | tr 'A-F' 'a-f')
	CN_DATE=$d CN_SIG=$sig run cn_curl GET "$CN_RULES"
	cn_error_is 401 WrongSignature
}

@test "azure-china: a date outside the 15 minute window is refused; inside it is accepted" {
	fakecdn_start
	CN_DATE=$(date -u -d '-16 min' '+%Y-%m-%d %H:%M:%S') run cn_curl GET "$CN_RULES"
	cn_error_is 401 AuthorizationHeaderExpired
	CN_DATE=$(date -u -d '+16 min' '+%Y-%m-%d %H:%M:%S') run cn_curl GET "$CN_RULES"
	cn_error_is 401 AuthorizationHeaderExpired
	CN_DATE=$(date -u -d '-14 min' '+%Y-%m-%d %H:%M:%S') run cn_curl GET "$CN_RULES"
	[ "$(http_status)" = 200 ]
	CN_DATE='yesterday at noon' run cn_curl GET "$CN_RULES"
	cn_error_is 401 InvalidRequestDateHeader
}

@test "azure-china: missing headers, unknown and revoked keys get their documented types" {
	fakecdn_start
	run _curl_out "$FAKECDN_URL$CN_RULES?apiVersion=1.0"
	cn_error_is 401 MissingAuthorizationHeader
	[ "$(http_body | jq -r .ErrorInfo.Message)" = "Missing authorization header." ]
	run _curl_out -H "Authorization: AzureCDN $CN_KEY_ID:ABC" "$FAKECDN_URL$CN_RULES?apiVersion=1.0"
	cn_error_is 401 MissingRequestDateHeader
	run _curl_out -H 'Authorization: Bearer x' -H "x-azurecdn-request-date: $(cn_date)" "$FAKECDN_URL$CN_RULES?apiVersion=1.0"
	cn_error_is 401 InvalidAuthorizationHeader
	CN_KEY_ID=nobody run cn_curl GET "$CN_RULES"
	cn_error_is 401 ApiKeyNotFound
	CN_KEY_ID=fakecdn-revoked CN_KEY_VALUE=fakecdn-revoked-secret run cn_curl GET "$CN_RULES"
	cn_error_is 401 InvalidApiKey
	CN_QUERY= run cn_curl GET "$CN_RULES"
	cn_error_is 400 ParameterMissing
}

@test "azure-china: a read-only key reads but cannot write (PermissionDenied)" {
	fakecdn_start
	CN_KEY_ID=fakecdn-ro CN_KEY_VALUE=fakecdn-ro-secret run cn_curl GET "$CN_RULES"
	[ "$(http_status)" = 200 ]
	CN_KEY_ID=fakecdn-ro CN_KEY_VALUE=fakecdn-ro-secret run cn_curl PUT "$CN_RULES" '{"Rules":[]}'
	cn_error_is 403 PermissionDenied
	[ "$(journal_count write_rules changed=true)" = 0 ]
}

@test "azure-china: unknown subscription and endpoint" {
	fakecdn_start
	run cn_curl GET /subscriptions/00000000-0000-0000-0000-000000000000/endpoints
	cn_error_is 404 SubscriptionNotFound
	run cn_curl GET /subscriptions/$CN_SUB/endpoints/00000000-0000-0000-0000-000000000000/cacherules
	cn_error_is 404 EndpointNotFound
}

# ---- azure-china: cache rules, tasks, purges ----

@test "azure-china: PUT cacherules is async; the rules change when the task succeeds" {
	# task delays leave room for a loaded machine (sanitizers, 2 cores) between the requests
	fakecdn_start "" --task-delay 4000
	body='{"Rules":[{"Type":"Suffix","Items":["css","js"],"TTL":"604800"},{"Type":"FullUri","Items":["/a.html"],"TTL":0}],"IgnoreCacheControl":"true","IgnoreCookie":true,"IgnoreQueryString":false}'
	run cn_curl PUT "$CN_RULES" "$body"
	[ "$(http_status)" = 202 ]
	[ "$(http_body | jq -r '.Succeeded, .IsAsync, .AsyncInfo.TaskStatus' | paste -sd' ')" = "true true Processing" ]
	id=$(http_body | jq -r .AsyncInfo.TaskTrackId)
	run cn_curl GET "$CN_RULES"
	[ "$(http_body | jq -r '.Rules | length')" = 4 ]
	run cn_curl GET "/subscriptions/$CN_SUB/endpoints/$CN_EP/operations/$id"
	[ "$(http_body | jq -r .Status)" = Processing ]
	sleep 4.2
	run cn_curl GET "/subscriptions/$CN_SUB/endpoints/$CN_EP/operations/$id"
	[ "$(http_body | jq -r '.Status, .Type' | paste -sd' ')" = "Succeeded UpdateCacheRules" ]
	run cn_curl GET "$CN_RULES"
	[ "$(http_body | jq -c .)" = '{"Rules":[{"Type":"Suffix","Items":["css","js"],"TTL":604800},{"Type":"FullUri","Items":["/a.html"],"TTL":0}],"IgnoreCacheControl":true,"IgnoreCookie":true,"IgnoreQueryString":false}' ]
	[ "$(journal_count write_rules changed=true)" = 1 ]
	[ "$(journal_count read_rules changed=true)" = 0 ]
}

@test "azure-china: a failing task (knob) leaves the rules unchanged" {
	fakecdn_start "" --task-delay 0 --task-fail
	run cn_curl PUT "$CN_RULES" '{"Rules":[]}'
	id=$(http_body | jq -r .AsyncInfo.TaskTrackId)
	run cn_curl GET "/subscriptions/$CN_SUB/endpoints/$CN_EP/operations/$id"
	[ "$(http_body | jq -r .Status)" = Failed ]
	run cn_curl GET "$CN_RULES"
	[ "$(http_body | jq -r '.Rules | length')" = 4 ]
}

@test "azure-china: rule items are checked like the service does" {
	fakecdn_start
	for rule in '{"Type":"Dir","Items":["/a.b/"],"TTL":1}' '{"Type":"Suffix","Items":[".jpg"],"TTL":1}' \
		'{"Type":"FullUri","Items":["/a?b"],"TTL":1}' '{"Type":"Dir","Items":["/a$/"],"TTL":1}' \
		'{"Type":"Dir","Items":["/a\\\\b/"],"TTL":1}' '{"Type":"Dir","Items":["pic/"],"TTL":1}' \
		'{"Type":"Dir","Items":["/a/"],"TTL":-1}' '{"Type":"Regex","Items":["/a/"],"TTL":1}'; do
		run cn_curl PUT "$CN_RULES" "{\"Rules\":[$rule]}"
		cn_error_is 400 ParameterInvalid || { echo "rule $rule" >&2; return 1; }
	done
	run cn_curl PUT "$CN_RULES" '{"Rules":[{"Type":"FullUri","Items":["/doc/a.pdf"],"TTL":60}]}'
	[ "$(http_status)" = 202 ]
	[ "$(journal_count write_rules changed=true)" = 1 ]
	[ "$(journal_count write_rules changed=false status=400)" = 8 ]
}

@test "azure-china: purge on another host is MaliciousItemPathDetected; a good purge progresses" {
	fakecdn_start "" --task-delay 1000
	P=/subscriptions/$CN_SUB/endpoints/$CN_EP/purges
	run cn_curl POST "$P" '{"Files":["https://evil.example.com/a.png"]}'
	cn_error_is 400 MaliciousItemPathDetected
	run cn_curl POST "$P" '{"Files":["https://www.example.cn/a/../b.png"]}'
	cn_error_is 400 MaliciousItemPathDetected
	run cn_curl POST "$P" '{"Directories":["https://www.example.cn/pic"]}'
	cn_error_is 400 ParameterInvalid
	run cn_curl POST "$P" '{}'
	cn_error_is 400 ParameterMissing
	run cn_curl POST "$P" '{"Files":["https://www.example.cn/a.png"],"Directories":["http://WWW.example.cn/pic/"]}'
	[ "$(http_status)" = 202 ]
	id=$(http_body | jq -r .AsyncInfo.TaskTrackId)
	run cn_curl GET "$P/$id"
	[ "$(http_body | jq -r '.Files[0].Status, .Directories[0].Url' | paste -sd' ')" = "Running http://WWW.example.cn/pic/" ]
	sleep 1.2
	run cn_curl GET "$P/$id"
	[ "$(http_body | jq -r '.Files[0].Status, .Directories[0].Status' | paste -sd' ')" = "Succeed Succeed" ]
	[ "$(journal_count purge changed=true)" = 1 ]
	[ "$(journal_count poll)" = 2 ]
}

@test "azure-china: preloads are queued, then succeed" {
	fakecdn_start "" --task-delay 4000
	P=/subscriptions/$CN_SUB/endpoints/$CN_EP/preloads
	run cn_curl POST "$P" '{"Files":["https://www.example.cn/index.html"]}'
	[ "$(http_status)" = 202 ]
	id=$(http_body | jq -r .AsyncInfo.TaskTrackId)
	run cn_curl GET "$P/$id"
	[ "$(http_body | jq -r '.Files[0].Status')" = Waiting ]
	sleep 4.2
	run cn_curl GET "/subscriptions/$CN_SUB/endpoints/$CN_EP/operations/$id"
	[ "$(http_body | jq -r '.Status, .Type' | paste -sd' ')" = "Succeeded Preload" ]
}

@test "azure-china: the daily purge quota is per subscription per UTC day" {
	fakecdn_start "$(state_with '.azure_china.daily_file_purges = 3 | .azure_china.daily_dir_purges = 1')"
	P=/subscriptions/$CN_SUB/endpoints/$CN_EP/purges
	run cn_curl POST "$P" '{"Files":["https://www.example.cn/1","https://www.example.cn/2"],"Directories":["https://www.example.cn/d/"]}'
	[ "$(http_status)" = 202 ]
	run cn_curl POST "$P" '{"Files":["https://www.example.cn/3","https://www.example.cn/4"]}'
	cn_error_is 400 ParameterInvalid
	[[ "$(http_body | jq -r .ErrorInfo.Message)" == *"quota"* ]]
	run cn_curl POST "$P" '{"Files":["https://www.example.cn/3"]}'
	[ "$(http_status)" = 202 ]
	run cn_curl POST "$P" '{"Directories":["https://www.example.cn/e/"]}'
	cn_error_is 400 ParameterInvalid
}

@test "azure-china: the throttle knob answers RequestThrottled 429 on every Nth request" {
	fakecdn_start "" --throttle every=2
	run cn_curl GET "$CN_RULES"
	[ "$(http_status)" = 200 ]
	run cn_curl GET "$CN_RULES"
	cn_error_is 429 RequestThrottled
	grep -qi '^Retry-After: 1' "$CURL_HEADERS"
	[ "$(jq -c 'select(.fault == "throttle")' "$FAKECDN_JOURNAL" | wc -l)" = 1 ]
}

# ---- azure (ARM) ----

@test "azure: client-credentials tokens (v2 and v1); bad secret, tenant and grant are refused" {
	fakecdn_start
	run curl -sS -X POST "$FAKECDN_URL/$ARM_TENANT/oauth2/v2.0/token" -d grant_type=client_credentials \
		-d client_id=$ARM_CLIENT -d client_secret=$ARM_SECRET --data-urlencode scope=https://management.azure.com/.default
	[ "$(echo "$output" | jq -r '.token_type, (.expires_in|type), (.access_token|length)' | paste -sd' ')" = "Bearer number 64" ]
	run curl -sS -X POST "$FAKECDN_URL/$ARM_TENANT/oauth2/token" -d grant_type=client_credentials \
		-d client_id=$ARM_CLIENT -d client_secret=$ARM_SECRET --data-urlencode resource=https://management.azure.com/
	[ "$(echo "$output" | jq -r '(.expires_in|type), .expires_in' | paste -sd' ')" = "string 3599" ]
	run curl -sS -w '\n%{http_code}' -X POST "$FAKECDN_URL/$ARM_TENANT/oauth2/v2.0/token" -d grant_type=client_credentials \
		-d client_id=$ARM_CLIENT -d client_secret=wrong --data-urlencode scope=https://management.azure.com/.default
	[ "$(echo "$output" | tail -1)" = 401 ]
	[ "$(echo "$output" | sed '$d' | jq -r .error)" = invalid_client ]
	run curl -sS -w '\n%{http_code}' -X POST "$FAKECDN_URL/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token" \
		-d grant_type=client_credentials -d client_id=$ARM_CLIENT -d client_secret=$ARM_SECRET -d scope=x/.default
	[ "$(echo "$output" | tail -1)" = 400 ]
	run curl -sS -X POST "$FAKECDN_URL/$ARM_TENANT/oauth2/v2.0/token" -d grant_type=password \
		-d client_id=$ARM_CLIENT -d client_secret=$ARM_SECRET -d scope=x/.default
	[ "$(echo "$output" | jq -r .error)" = unsupported_grant_type ]
	[ "$(journal_count token auth=true)" = 2 ]
}

@test "azure: requests without a valid bearer token get 401 with the ARM error body" {
	fakecdn_start
	ARM_TOKEN= run arm_curl GET "$ARM_EP_PATH?api-version=2024-09-01"
	[ "$(http_status)" = 401 ]
	[ "$(http_body | jq -r .error.code)" = AuthenticationFailed ]
	grep -qi '^WWW-Authenticate: Bearer' "$CURL_HEADERS"
	ARM_TOKEN=0123456789abcdef run arm_curl GET "$ARM_EP_PATH?api-version=2024-09-01"
	[ "$(http_body | jq -r .error.code)" = InvalidAuthenticationToken ]
	# api-version 2015-06-01 uses the flat error body.
	ARM_TOKEN=0123456789abcdef run arm_curl GET "$ARM_EP_PATH?api-version=2015-06-01"
	[ "$(http_body | jq -r .code)" = InvalidAuthenticationToken ]
}

@test "azure: tokens expire after token_expiry_s" {
	fakecdn_start "$(state_with '.settings.token_expiry_s = 1')"
	ARM_TOKEN=$(arm_token)
	run arm_curl GET "$ARM_EP_PATH?api-version=2024-09-01"
	[ "$(http_status)" = 200 ]
	sleep 1.2
	run arm_curl GET "$ARM_EP_PATH?api-version=2024-09-01"
	[ "$(http_status)" = 401 ]
	[ "$(http_body | jq -r .error.code)" = ExpiredAuthenticationToken ]
}

@test "azure: GET returns lower-case resourcegroups ids; unknown endpoints are 404" {
	fakecdn_start
	ARM_TOKEN=$(arm_token)
	run arm_curl GET "$ARM_EP_PATH?api-version=2024-09-01"
	[[ "$(http_body | jq -r .id)" == "/subscriptions/$ARM_SUB/resourcegroups/web-rg/providers/Microsoft.Cdn/profiles/web-cdn/endpoints/shop" ]]
	[ "$(http_body | jq -r '.properties.deliveryPolicy.rules[0].conditions[0].parameters.typeName')" = DeliveryRuleUrlPathMatchConditionParameters ]
	run arm_curl GET "${ARM_EP_PATH%/shop}/nope?api-version=2024-09-01"
	[ "$(http_status)" = 404 ]
	[ "$(http_body | jq -r .error.code)" = ResourceNotFound ]
	run arm_curl GET "$ARM_EP_PATH"
	[ "$(http_body | jq -r .error.code)" = MissingApiVersionParameter ]
	# Old api-versions echo the @odata.type discriminator.
	run arm_curl GET "$ARM_EP_PATH?api-version=2020-09-01"
	[ "$(http_body | jq -r '.properties.deliveryPolicy.rules[0].actions[0].parameters["@odata.type"]')" = "#Microsoft.Azure.Cdn.Models.DeliveryRuleCacheExpirationActionParameters" ]
}

arm_rule() { # ORDER PATH BEHAVIOR [DURATION]
	local dur=${4:+\"cacheDuration\":\"$4\",}
	echo "{\"name\":\"r$1\",\"order\":$1,\"actions\":[{\"name\":\"CacheExpiration\",\"parameters\":{$dur\"@odata.type\":\"#Microsoft.Azure.Cdn.Models.DeliveryRuleCacheExpirationActionParameters\",\"cacheBehavior\":\"$3\",\"cacheType\":\"All\"}}],\"conditions\":[{\"name\":\"UrlPath\",\"parameters\":{\"operator\":\"BeginsWith\",\"matchValues\":[\"$2\"],\"typeName\":\"DeliveryRuleUrlPathMatchConditionParameters\"}}]}"
}

@test "azure: PATCH replaces the rules; both discriminators accepted; transforms echoed" {
	fakecdn_start
	ARM_TOKEN=$(arm_token)
	body="{\"properties\":{\"queryStringCachingBehavior\":\"UseQueryString\",\"deliveryPolicy\":{\"rules\":[$(arm_rule 1 /a/ Override 30.00:00:00),$(arm_rule 2 /b/ BypassCache)]}}}"
	run arm_curl PATCH "$ARM_EP_PATH?api-version=2024-09-01" "$body"
	[ "$(http_status)" = 200 ]
	[ "$(http_body | jq -r .properties.queryStringCachingBehavior)" = UseQueryString ]
	[ "$(http_body | jq -c '.properties.deliveryPolicy.rules[0].conditions[0].parameters.transforms')" = '[]' ]
	[ "$(http_body | jq -r '.properties.deliveryPolicy.rules[0].actions[0].parameters.typeName')" = DeliveryRuleCacheExpirationActionParameters ]
	[ "$(http_body | jq -r '.properties.deliveryPolicy.rules | length')" = 2 ]
	run arm_curl GET "$ARM_EP_PATH?api-version=2024-09-01"
	[ "$(http_body | jq -r '.properties.deliveryPolicy.rules[1].actions[0].parameters.cacheBehavior')" = BypassCache ]
	[ "$(http_body | jq -r '.properties.hostName')" = shop.azureedge.net ]
	[ "$(journal_count write_rules changed=true)" = 1 ]
}

@test "azure: PATCH enforces 25 rules, consecutive order, actions, durations" {
	fakecdn_start
	ARM_TOKEN=$(arm_token)
	patch() { arm_curl PATCH "$ARM_EP_PATH?api-version=2024-09-01" "{\"properties\":{\"deliveryPolicy\":{\"rules\":[$1]}}}"; }
	rules=$(for i in $(seq 1 26); do arm_rule $i /p$i/ Override 01:00:00; done | paste -sd,)
	run patch "$rules"
	[ "$(http_status)" = 400 ]
	[ "$(http_body | jq -r .error.code)" = BadRequest ]
	rules=$(for i in $(seq 1 25); do arm_rule $i /p$i/ Override 01:00:00; done | paste -sd,)
	run patch "$rules"
	[ "$(http_status)" = 200 ]
	run patch "$(arm_rule 1 /a/ Override 01:00:00),$(arm_rule 3 /b/ Override 01:00:00)"
	[[ "$(http_body | jq -r .error.message)" == *"must start from 0"* ]]
	run patch "$(arm_rule 2 /a/ Override 01:00:00)"
	[ "$(http_status)" = 400 ]
	run patch "$(arm_rule 1 /a/ BypassCache 01:00:00)"
	[ "$(http_status)" = 400 ]
	run patch "$(arm_rule 1 /a/ Override 24:00:00)"
	[ "$(http_status)" = 400 ]
	run patch "$(arm_rule 1 /a/ SetIfMissing 2.23:59:59)"
	[ "$(http_status)" = 200 ]
	run patch '{"name":"x","order":1,"actions":[]}'
	[ "$(http_status)" = 400 ]
	[ "$(journal_count write_rules changed=true)" = 2 ]
}

@test "azure: purge and load answer 202 with LRO headers; polling ends Succeeded or Failed" {
	fakecdn_start "" --task-delay 1000
	ARM_TOKEN=$(arm_token)
	run arm_curl POST "$ARM_EP_PATH/purge?api-version=2024-09-01" '{"contentPaths":["/img/*","/logo.png"]}'
	[ "$(http_status)" = 202 ]
	[ -z "$(http_body)" ]
	op=$(grep -i '^Azure-AsyncOperation:' "$CURL_HEADERS" | cut -d' ' -f2 | tr -d '\r')
	loc=$(grep -i '^Location:' "$CURL_HEADERS" | cut -d' ' -f2 | tr -d '\r')
	[[ "$op" == "$FAKECDN_URL/subscriptions/$ARM_SUB/resourcegroups/web-rg/providers/Microsoft.Cdn/operationresults/"*"?api-version=2024-09-01" ]]
	[[ "$loc" == *"/profileresults/web-cdn/endpointresults/shop?api-version=2024-09-01" ]]
	run arm_curl GET "${op#$FAKECDN_URL}"
	[ "$(http_body)" = '{"status":"InProgress","error":{"code":"None","message":null}}' ]
	run arm_curl GET "${loc#$FAKECDN_URL}"
	[ "$(http_status)" = 202 ]
	sleep 1.2
	run arm_curl GET "${op#$FAKECDN_URL}"
	[ "$(http_body)" = '{"status":"Succeeded","error":{"code":"None","message":null}}' ]
	run arm_curl GET "${loc#$FAKECDN_URL}"
	[ "$(http_status)" = 200 ]
	run arm_curl POST "$ARM_EP_PATH/purge?api-version=2024-09-01" '{"contentPaths":["/$web/*"]}'
	[ "$(http_status)" = 400 ]
	[[ "$(http_body | jq -r .error.message)" == 'Invalid ContentPath "/$web/*"'* ]]
	run arm_curl POST "$ARM_EP_PATH/load?api-version=2024-09-01" '{"contentPaths":["/img/*"]}'
	[ "$(http_status)" = 400 ]
	admin_curl POST faults '{"task_fail":true,"task_delay_ms":0}' >/dev/null
	run arm_curl POST "$ARM_EP_PATH/load?api-version=2024-09-01" '{"contentPaths":["/index.html"]}'
	[ "$(http_status)" = 202 ]
	op=$(grep -i '^Azure-AsyncOperation:' "$CURL_HEADERS" | cut -d' ' -f2 | tr -d '\r')
	run arm_curl GET "${op#$FAKECDN_URL}"
	[ "$(http_body | jq -r .status)" = Failed ]
	[ "$(journal_count purge changed=true)" = 1 ]
	[ "$(journal_count preload changed=true)" = 1 ]
}

@test "azure: throttling answers 429 TooManyRequests with Retry-After" {
	fakecdn_start
	ARM_TOKEN=$(arm_token)
	admin_curl POST faults '{"throttle_for_ms":60000,"retry_after_s":7,"only":"azure"}' >/dev/null
	run arm_curl GET "$ARM_EP_PATH?api-version=2024-09-01"
	[ "$(http_status)" = 429 ]
	[ "$(http_body | jq -r .error.code)" = TooManyRequests ]
	grep -qi '^Retry-After: 7' "$CURL_HEADERS"
	# "only" keeps the other providers unaffected.
	run cn_curl GET "$CN_RULES"
	[ "$(http_status)" = 200 ]
}

# ---- cdnpro ----

pro_error_is() { # STATUS CODE
	[ "$(http_status)" = "$1" ] || { echo "status $(http_status), want $1: $output" >&2; return 1; }
	[ "$(http_body | jq -r .code)" = "$2" ] || { echo "body: $output" >&2; return 1; }
}

@test "cdnpro: Basic HMAC-SHA1 over the Date header is accepted; bad ones are AccessDenied" {
	fakecdn_start
	run pro_curl GET "/cdn/purges/purgeTokens?target=production"
	[ "$(http_status)" = 200 ]
	grep -qi '^x-rate-limit-remaining: ' "$CURL_HEADERS"
	PRO_KEY=wrong run pro_curl GET /cdn/purges
	pro_error_is 403 AccessDenied
	[ "$(http_body | jq -c .)" = '{"code":"AccessDenied","message":"Please enter valid credentials."}' ]
	PRO_DATE=$(LC_ALL=C date -u -d '-6 min' '+%a, %d %b %Y %H:%M:%S GMT') run pro_curl GET /cdn/purges
	pro_error_is 403 AccessDenied
	PRO_DATE=$(LC_ALL=C date -u -d '-4 min' '+%a, %d %b %Y %H:%M:%S GMT') run pro_curl GET /cdn/purges
	[ "$(http_status)" = 200 ]
	PRO_USER=someone run pro_curl GET /cdn/purges
	pro_error_is 403 AccessDenied
	run _curl_out -u "$PRO_USER:x" "$FAKECDN_URL/cdn/purges"
	pro_error_is 403 AccessDenied
	# The password signs the Date header: a signature of another date fails.
	d=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
	pass=$(printf '%s' "$d" | openssl dgst -sha1 -hmac "$PRO_KEY" -binary | base64)
	run _curl_out -H "Date: $(LC_ALL=C date -u -d '-1 min' '+%a, %d %b %Y %H:%M:%S GMT')" -u "$PRO_USER:$pass" "$FAKECDN_URL/cdn/purges"
	pro_error_is 403 AccessDenied
	[ "$(journal_count list_purges auth=false)" = 5 ]
}

@test "cdnpro: purge is 201 + Location, then waiting, inprogress, finished" {
	fakecdn_start "" --task-delay 3000
	run pro_curl POST /cdn/purges '{"target":"production","fileUrls":["https://media.example.com/a.mp4"],"dirUrls":["https://img.example.com/thumbs/**"],"regexPatterns":["https://media.example.com/v[0-9]+/.*\\.mp4"]}'
	[ "$(http_status)" = 201 ]
	[ -z "$(http_body)" ]
	loc=$(grep -i '^Location:' "$CURL_HEADERS" | cut -d' ' -f2 | tr -d '\r')
	[[ "$loc" == "$FAKECDN_URL/cdn/purges/"* ]]
	run pro_curl GET "${loc#$FAKECDN_URL}"
	[ "$(http_body | jq -r '.status, .action, .successRate' | paste -sd' ')" = "waiting invalidate 0" ]
	sleep 1.2
	run pro_curl GET "${loc#$FAKECDN_URL}"
	[ "$(http_body | jq -r .status)" = inprogress ]
	sleep 2
	run pro_curl GET "${loc#$FAKECDN_URL}"
	[ "$(http_body | jq -r '.status, .successRate' | paste -sd' ')" = "finished 100" ]
	[ -n "$(http_body | jq -r .finishTime)" ]
	run pro_curl GET '/cdn/purges?target=production'
	[ "$(http_body | jq -r '.count, .purgeRequests[0].fileEntries, .purgeRequests[0].regexEntries' | paste -sd' ')" = "1 1 1" ]
	run pro_curl GET /cdn/purges/0123456789abcdef01234567
	pro_error_is 404 InvalidPurgeTaskId
	[ "$(journal_count purge changed=true)" = 1 ]
}

@test "cdnpro: purge validation follows the CDN Pro createPurge spec" {
	fakecdn_start
	check() { # CODE BODY
		run pro_curl POST /cdn/purges "$2"
		pro_error_is 400 "$1" || { echo "body $2" >&2; return 1; }
	}
	check InvalidTarget '{"fileUrls":["https://media.example.com/a"]}'
	check InvalidPurgeUrl '{"target":"production","fileUrls":["https://other.example.com/a.png"]}'
	check InvalidPurgeUrl '{"target":"production","fileUrls":["https://staging.example.com/a.png"]}'
	check InvalidPurgeUrl '{"target":"production","fileUrls":["https://media.example.com/a*.png"]}'
	check InvalidPurgeUrl '{"target":"production","fileUrls":["https://media.example.com/100%.png"]}'
	check InvalidPurgeUrl '{"target":"production","fileUrls":["https://media.example.com/a[1].png"]}'
	check InvalidPurgeUrl '{"target":"production","fileUrls":["http://a.b"]}'
	check InvalidPurgeUrl '{"target":"production","dirUrls":["ftp://media.example.com/x/"]}'
	check DuplicateFileHeaderName '{"target":"production","fileUrls":["https://media.example.com/a"],"fileHeaders":[{"name":"X-A","value":"1"},{"name":"x-a","value":"2"}]}'
	check InvalidRegexPattern '{"target":"production","regexPatterns":["https://media.example.com/a.*b.*c.*"]}'
	check InvalidRegexPattern '{"target":"production","regexPatterns":["https://media.example.com/a{1,60}"]}'
	check InvalidRegexPattern '{"target":"production","regexPatterns":["media.example.com/a.*"]}'
	check InvalidRegexPattern '{"target":"production","regexPatterns":["https://media.example.com/(a"]}'
	long=$(printf 'a%.0s' $(seq 1 127))
	check InvalidRegexPattern "{\"target\":\"production\",\"regexPatterns\":[\"https://media.example.com/$long\"]}"
	check TooManyPurgeEntries '{"target":"production","regexPatterns":["any://media.example.com/a","any://media.example.com/b","any://media.example.com/c"]}'
	dirs=$(for i in $(seq 1 21); do printf '"https://media.example.com/d%d/",' $i; done)
	check TooManyPurgeEntries "{\"target\":\"production\",\"dirUrls\":[${dirs%,}]}"
	files=$(for i in $(seq 1 1001); do printf '"https://media.example.com/f%d",' $i; done)
	check TooManyPurgeEntries "{\"target\":\"production\",\"fileUrls\":[${files%,}]}"
	check EmptyPurgeRequest '{"target":"staging"}'
	run pro_curl POST /cdn/purges '{"target":"staging","fileUrls":["https://staging.example.com/a%20b.png"],"regexPatterns":["any://media.example.com/a{1,59}\\.(jpg|png)\\?q=.+"],"action":"delete"}'
	[ "$(http_status)" = 201 ]
	[ "$(journal_count purge changed=false)" = 18 ]
}

@test "cdnpro: purgeTokens is a rolling 24 h quota per environment" {
	fakecdn_start "$(state_with '.cdnpro.quota.file_purge_production = 3 | .cdnpro.quota.dir_purge_production = 2')"
	run pro_curl POST /cdn/purges '{"target":"production","fileUrls":["https://media.example.com/a","https://media.example.com/b"],"dirUrls":["https://media.example.com/d/"]}'
	[ "$(http_status)" = 201 ]
	run pro_curl GET '/cdn/purges/purgeTokens?target=production'
	[ "$(http_body | jq -c .)" = '{"filePurgeTokens":1,"dirPurgeTokens":1}' ]
	run pro_curl GET '/cdn/purges/purgeTokens?target=staging'
	[ "$(http_body | jq -c .)" = '{"filePurgeTokens":5000,"dirPurgeTokens":20}' ]
	run pro_curl POST /cdn/purges '{"target":"production","fileUrls":["https://media.example.com/c","https://media.example.com/d"]}'
	pro_error_is 403 PurgeQuotaExceeded
	run pro_curl GET '/cdn/purges/purgeTokens?target=bogus'
	pro_error_is 400 InvalidTarget
	[ "$(journal_count quota)" = 3 ]
}

@test "cdnpro: the token bucket answers 429 with x-rate-limit-retry-after-seconds; failures cost tokens" {
	fakecdn_start "$(state_with '.settings.cdnpro_rate_per_minute = 1 | .settings.cdnpro_burst = 3')"
	run pro_curl GET /cdn/purges
	grep -qi '^x-rate-limit-remaining: 2' "$CURL_HEADERS"
	PRO_KEY=wrong run pro_curl GET /cdn/purges
	pro_error_is 403 AccessDenied
	run pro_curl GET /cdn/purges
	grep -qi '^x-rate-limit-remaining: 0' "$CURL_HEADERS"
	run pro_curl GET /cdn/purges
	[ "$(http_status)" = 429 ]
	retry=$(grep -i '^x-rate-limit-retry-after-seconds:' "$CURL_HEADERS" | awk '{print $2}' | tr -d '\r')
	[ "$retry" -ge 1 ] && [ "$retry" -le 60 ]
	# Raising the limit at run time refills the bucket.
	admin_curl POST faults '{"cdnpro_rate_per_minute":120,"cdnpro_burst":10}' >/dev/null
	run pro_curl GET /cdn/purges
	[ "$(http_status)" = 200 ]
}

@test "cdnpro: prefetch is 201 + Location; hosts must be in production" {
	fakecdn_start "" --task-delay 0
	run pro_curl POST /cdn/prefetches '{"fileList":[{"url":"https://staging.example.com/a.png"}]}'
	pro_error_is 400 NoSuchDomain
	run pro_curl POST /cdn/prefetches '{"fileList":[]}'
	pro_error_is 400 InvalidPrefetchUrl
	run pro_curl POST /cdn/prefetches '{"fileList":[{"url":"https://media.example.com/a.png","headers":[{"name":"","value":"x"}]}]}'
	pro_error_is 400 InvalidPrefetchUrl
	run pro_curl POST /cdn/prefetches '{"fileList":[{"url":"https://media.example.com/a.png"}],"regions":["Mars"]}'
	pro_error_is 400 InvalidRegion
	run pro_curl POST /cdn/prefetches '{"fileList":[{"url":"https://media.example.com/a.png"}],"regions":["Asia"]}'
	[ "$(http_status)" = 201 ]
	loc=$(grep -i '^Location:' "$CURL_HEADERS" | cut -d' ' -f2 | tr -d '\r')
	run pro_curl GET "${loc#$FAKECDN_URL}"
	[ "$(http_body | jq -r '.metadata.status, .fileList[0].url' | paste -sd' ')" = "finished https://media.example.com/a.png" ]
	run pro_curl GET /cdn/prefetches/prefetchTokens
	[ "$(http_body | jq -r .prefetchTokens)" = 4999 ]
	[ "$(journal_count preload changed=true)" = 1 ]
}

# ---- admin, journal, faults, state file ----

@test "admin: a console change to azure-china rules is visible to the API at once" {
	fakecdn_start
	run admin_curl PUT "azure-china/$CN_EP/cacherules" '{"Rules":[{"Type":"Dir","Items":["/x/"],"TTL":5}],"IgnoreQueryString":true}'
	[ "$(http_status)" = 200 ]
	run cn_curl GET "$CN_RULES"
	[ "$(http_body | jq -c .Rules)" = '[{"Type":"Dir","Items":["/x/"],"TTL":5}]' ]
	run admin_curl PUT "azure-china/$CN_EP/cacherules" '{"Rules":[{"Type":"Dir","Items":["/x.y/"],"TTL":5}]}'
	[ "$(http_status)" = 400 ]
	run admin_curl PATCH azure/web-rg/web-cdn/shop '{"properties":{"queryStringCachingBehavior":"BypassCaching"}}'
	[ "$(http_status)" = 200 ]
	run admin_curl GET state
	[ "$(http_body | jq -r '.azure.subscriptions[0].endpoints[0].properties.queryStringCachingBehavior')" = BypassCaching ]
	[ "$(journal_count admin_rules provider=admin changed=true)" = 2 ]
	run admin_curl PATCH "azure-china/$CN_EP" '{"enabled":false}'
	run cn_curl PUT "$CN_RULES" '{"Rules":[]}'
	cn_error_is 409 EndpointNotInActiveState
	run admin_curl POST reset
	run cn_curl GET "$CN_RULES"
	[ "$(http_body | jq -r '.Rules | length')" = 4 ]
}

@test "admin: faults can be read and set; bad knobs are refused" {
	fakecdn_start
	run admin_curl POST faults '{"latency_ms":20,"error_rate":0.5}'
	[ "$(http_status)" = 200 ]
	run admin_curl GET faults
	[ "$(http_body | jq -r '.latency_ms, .error_rate' | paste -sd' ')" = "20 0.5" ]
	run admin_curl POST faults '{"error_rate":2}'
	[ "$(http_status)" = 400 ]
	run admin_curl POST faults '{"no_such_knob":1}'
	[ "$(http_status)" = 400 ]
	[ "$(journal_count admin_faults changed=false)" = 4 ]
}

@test "journal: one line per request with the documented fields" {
	fakecdn_start
	cn_curl GET "$CN_RULES" >/dev/null
	pro_curl GET /cdn/purges >/dev/null
	curl -s "$FAKECDN_URL/nowhere" >/dev/null
	[ "$(wc -l <"$FAKECDN_JOURNAL")" = 3 ]
	run jq -e -s 'all(.[]; has("time") and has("provider") and has("method") and has("path") and has("query") and has("status") and has("auth") and has("changed") and has("op"))' "$FAKECDN_JOURNAL"
	[ "$status" -eq 0 ]
	[ "$(jq -r -s '.[2] | "\(.provider) \(.op) \(.status)"' "$FAKECDN_JOURNAL")" = "unknown unknown 404" ]
}

@test "faults: error rate, dropped connections, truncated and malformed bodies" {
	fakecdn_start "" --error-rate 1
	run cn_curl GET "$CN_RULES"
	[[ "$(http_status)" == 50[03] ]]
	[ "$(http_body | jq -r .ErrorInfo.Type)" = InternalError ]
	admin_curl POST faults '{"error_rate":0,"drop_rate":1}' >/dev/null
	run curl -sS "$FAKECDN_URL/cdn/purges"
	[ "$status" -eq 52 ]
	admin_curl POST faults '{"drop_rate":0,"truncate_rate":1}' >/dev/null
	run cn_curl GET "$CN_RULES"
	[[ "$output" == *"curl: (18)"* ]]
	admin_curl POST faults '{"truncate_rate":0,"malformed_rate":1}' >/dev/null
	run cn_curl GET "$CN_RULES"
	[ "$(http_status)" = 200 ]
	! http_body | jq . >/dev/null 2>&1 || false
	[ "$(jq -c 'select(.fault != null) | .fault' "$FAKECDN_JOURNAL" | sort -u | paste -sd' ')" = '"drop" "error" "malformed" "truncate"' ]
}

@test "faults: latency delays answers without serialising them" {
	fakecdn_start "" --latency 300
	start=$(date +%s%N)
	pids=()
	for i in 1 2 3 4 5 6; do
		curl -s -o /dev/null "$FAKECDN_URL/cdn/purges" &
		pids+=($!)
	done
	wait "${pids[@]}" # not a bare wait: fakecdn itself is a background job
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$ms" -ge 300 ] && [ "$ms" -lt 1500 ] # serialised would take 1800
}

@test "--save writes the state atomically on every change, and only on changes" {
	fakecdn_start "" --save --task-delay 0
	before=$(md5sum <"$FAKECDN_STATE")
	cn_curl GET "$CN_RULES" >/dev/null
	[ "$(md5sum <"$FAKECDN_STATE")" = "$before" ]
	cn_curl PUT "$CN_RULES" '{"Rules":[{"Type":"Dir","Items":["/saved/"],"TTL":9}]}' >/dev/null
	[ "$(jq -r '.azure_china.subscriptions[0].endpoints[0].cacherules.Rules[0].Items[0]' "$FAKECDN_STATE")" = /saved/ ]
	[ -z "$(ls "$FAKECDN_DIR" | grep '\.tmp\.')" ]
	# A restart from the saved file serves the saved rules.
	fakecdn_stop
	"$FAKECDN" --state "$FAKECDN_STATE" --port 0 --port-file "$FAKECDN_DIR/port2" &
	FAKECDN_PID=$!
	for i in $(seq 1 100); do [ -s "$FAKECDN_DIR/port2" ] && break; sleep 0.05; done
	FAKECDN_URL=http://127.0.0.1:$(cat "$FAKECDN_DIR/port2")
	run cn_curl GET "$CN_RULES"
	[ "$(http_body | jq -r '.Rules[0].Items[0]')" = /saved/ ]
}

@test "TLS: --tls-cert and --tls-key serve https" {
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
		-keyout "$BATS_TEST_TMPDIR/key.pem" -out "$BATS_TEST_TMPDIR/cert.pem" 2>/dev/null
	fakecdn_start "" --tls-cert "$BATS_TEST_TMPDIR/cert.pem" --tls-key "$BATS_TEST_TMPDIR/key.pem"
	run curl -sS --cacert "$BATS_TEST_TMPDIR/cert.pem" "https://127.0.0.1:$FAKECDN_PORT/_fakecdn/health"
	[ "$output" = '{"ok":true}' ]
	run curl -sS "http://127.0.0.1:$FAKECDN_PORT/_fakecdn/health"
	[ "$status" -ne 0 ]
}

@test "usage errors exit 2; SIGTERM exits 0" {
	run "$FAKECDN"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--state is required"* ]]
	run "$FAKECDN" --state "$FAKECDN_EXAMPLE_STATE" --error-rate 3
	[ "$status" -eq 2 ]
	run "$FAKECDN" --state /nonexistent --port 0
	[ "$status" -eq 1 ]
	run "$FAKECDN" --state "$(state_with '.settings.error_rate = 5')" --port 0
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad value for knob 'error_rate'"* ]]
	fakecdn_start
	fakecdn_stop
}
