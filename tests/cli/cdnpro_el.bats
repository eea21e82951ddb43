#!/usr/bin/env bats
# CDN Pro Edge Logic against fakecdn's property emulation: the real cacheform (plan, apply)
# on `mode: manage` endpoints, counted on fakecdn's journal; the property API's documented
# errors signed with openssl and curl; the staging edge against the production one.
load helpers
load reconcile_helpers

PROPS=20
EL_ROOT='location / {\n  origin_pass origin1;\n}\n'

setup() {
	R=$BATS_TEST_TMPDIR/repo
	STATE=$BATS_TEST_TMPDIR/state.json
	# Tasks finish at once and the token bucket never runs dry: the counts are what is tested.
	jq '.settings.task_delay_ms = 0 | .settings.cdnpro_validation_ms = 0
	    | .settings.cdnpro_deploy_ms = 0 | .settings.cdnpro_rate_per_minute = 1000000
	    | .settings.cdnpro_burst = 1000000 | .cdnpro.service_quota = {allowProduction: true}' \
		"$FAKECDN_EXAMPLE_STATE" >"$STATE"
}

teardown() {
	fakecdn_stop
}

# prop_id N: the 24-hex id of property N.
prop_id() {
	printf '5dca2205f9e9cc00%08x' "$1"
}

# seed_prop N EDGELOGIC [DEPLOY_JSON]: property N (host pN.example.com, origin origin1).
seed_prop() {
	local deploy=${3:-'["production"]'}
	run admin_curl POST cdnpro/properties "$(jq -nc --arg id "$(prop_id "$1")" --arg el "$2" \
		--arg h "p$1.example.com" --argjson d "$deploy" \
		'{id: $id, name: ("p" + $id), deploy: $d, version: {hostnames: [$h], syntaxVersion: 1,
		  origins: [{name: "origin1", servers: ["origin.example.com"]}], edgeLogic: $el}}')"
	[ "$(http_status)" = 201 ]
}

# endpoint_yaml N TTL: endpoint pN on property N with one rule.
endpoint_yaml() {
	cat >"$R/endpoints/p$1.yaml" <<Y
endpoint: p$1
account: pro
mode: manage
hosts: [p$1.example.com]
remote: {property_id: $(prop_id "$1"), target: production}
cache:
  rules:
    - dir: [/img/]
      ttl: $2
Y
}

repo_with() { # COUNT TTL
	mkdir -p "$R/endpoints"
	git init -q "$R"
	repo_settings >"$R/cacheform.yaml"
	local i
	for i in $(seq 1 "$1"); do endpoint_yaml "$i" "$2"; done
	repo_commit "$R" init
}

# Version writes that succeeded (POST or PATCH of a version).
writes() {
	echo $(($(journal_count version_create changed=true) + $(journal_count version_patch changed=true)))
}

# max_drafts: the most undeployed (not frozen) versions any property holds.
max_drafts() {
	admin_curl GET state | sed '$d' |
		jq '[.cdnpro.properties[] | [.versions[] | select(.frozen | not)] | length] | max'
}

ttl_at() { # ADDRESS HOST PATH: X-Fakecdn-Ttl of a GET through that listener ("" when none)
	curl -sS -D - -o /dev/null --connect-to "$2:80:$1:$FAKECDN_PORT" "http://$2$3" |
		tr -d '\r' | sed -n 's/^X-Fakecdn-Ttl: //Ip'
}

@test "one changed rule on 20 properties: 20 version writes and 20 validations; a second apply writes nothing" {
	fakecdn_start "$STATE"
	for i in $(seq 1 $PROPS); do seed_prop "$i" "$(printf "$EL_ROOT")"; done
	repo_with $PROPS 1d
	cd "$R"
	run cf apply --yes
	[ "$status" -eq 0 ]
	[ "$(writes)" -eq $PROPS ]
	for i in $(seq 1 $PROPS); do endpoint_yaml "$i" 2d; done
	repo_commit "$R" "ttl 2d"
	: >"$FAKECDN_JOURNAL"
	run cf plan --detailed-exitcode
	[ "$status" -eq 2 ]
	[ "$(writes)" -eq 0 ]
	run cf apply --yes
	[ "$status" -eq 0 ]
	[[ "$output" == *"Apply: $PROPS done, 0 failed"* ]]
	[ "$(writes)" -eq $PROPS ]
	[ "$(journal_count validation_create changed=true)" -eq $PROPS ]
	[ "$(journal_count validation_create status=400)" -eq 0 ]
	# Not asserted yet: the client makes one deployment task per property today.
	echo "# deployment tasks for $PROPS properties: $(journal_count deployment_create changed=true) (production)" >&3
	echo "# cdnpro calls for one changed rule on $PROPS properties: $(jq -c 'select(.provider == "cdnpro")' "$FAKECDN_JOURNAL" | wc -l)" >&3
	# Deployed to production: the edge serves the new TTL.
	[ "$(ttl_at 127.0.0.1 p7.example.com /img/a.png)" = 172800 ]
	: >"$FAKECDN_JOURNAL"
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
	run cf apply --yes
	[ "$status" -eq 0 ]
	[ "$(writes)" -eq 0 ]
	[ "$(journal_count validation_create)" -eq 0 ]
	[ "$(journal_count deployment_create)" -eq 0 ]
}

@test "50 consecutive applies with changes leave at most one draft per property" {
	fakecdn_start "$STATE"
	seed_prop 1 "$(printf "$EL_ROOT")"
	seed_prop 2 "$(printf "$EL_ROOT")"
	repo_with 2 1h
	cd "$R"
	local failed=0
	for n in $(seq 2 51); do
		endpoint_yaml 1 "${n}h"
		endpoint_yaml 2 "${n}h"
		repo_commit "$R" "ttl ${n}h"
		# Every fifth apply the validation fails: the draft stays undeployed, and the next
		# apply must reuse it (PATCH) instead of adding one.
		admin_curl POST faults "{\"task_fail\": $([ $((n % 5)) = 0 ] && echo true || echo false)}" >/dev/null
		run cf apply --yes
		[ "$status" -eq 0 ] || failed=$((failed + 1))
		[ "$(max_drafts)" -le 1 ]
	done
	echo "# 50 applies: $failed failed (injected), $(journal_count version_create changed=true) versions created, $(journal_count version_patch changed=true) drafts reused, max drafts $(max_drafts)" >&3
	[ "$failed" -eq 10 ]
	[ "$(journal_count version_patch changed=true)" -eq 20 ] # 10 failed applies x 2 properties
	admin_curl POST faults '{"task_fail": false}' >/dev/null
	run cf apply --yes
	[ "$status" -eq 0 ]
	[ "$(max_drafts)" -eq 0 ]
	[ "$(ttl_at 127.0.0.1 p2.example.com /img/x)" = $((51 * 3600)) ]
}

@test "a version deployed to staging only: the staging listener serves its TTLs, production the old ones" {
	fakecdn_start "$STATE"
	seed_prop 1 "$(printf 'location / {\n  proxy_cache_valid 1h;\n  origin_pass origin1;\n}\n')" '["staging","production"]'
	run pro_curl GET /cdn/stagingServers
	[ "$(http_status)" = 200 ]
	ip=$(http_body | jq -r '.stagingServers[0].ip')
	[ "$ip" = 127.0.0.2 ]
	[ "$(ttl_at 127.0.0.1 p1.example.com /a)" = 3600 ]
	[ "$(ttl_at "$ip" p1.example.com /a)" = 3600 ]
	P=/cdn/properties/$(prop_id 1)
	body=$(jq -nc '{hostnames: ["p1.example.com"], syntaxVersion: 1, description: "two hours",
		origins: [{name: "origin1", servers: ["origin.example.com"]}],
		edgeLogic: "location / {\n  proxy_cache_valid 2h;\n  origin_pass origin1;\n}\n"}')
	run pro_curl POST "$P/versions" "$body"
	[ "$(http_status)" = 201 ]
	grep -qi "^Location: .*$P/versions/2" "$CURL_HEADERS"
	run pro_curl POST /cdn/validations "{\"propertyId\":\"$(prop_id 1)\",\"version\":2}"
	[ "$(http_status)" = 201 ]
	vid=$(tr -d '\r' <"$CURL_HEADERS" | sed -n 's|^Location: .*/cdn/validations/||Ip')
	run pro_curl GET "/cdn/validations/$vid"
	[ "$(http_body | jq -r .status)" = succeeded ]
	[ "$(http_body | jq -r .statusDetails | jq -r '.[0].url')" = http://p1.example.com ]
	run pro_curl POST /cdn/deploymentTasks "{\"target\":\"staging\",\"actions\":[{\"action\":\"deploy_property\",\"propertyId\":\"$(prop_id 1)\",\"version\":\"2\"}]}"
	[ "$(http_status)" = 201 ]
	did=$(tr -d '\r' <"$CURL_HEADERS" | sed -n 's|^Location: .*/cdn/deploymentTasks/||Ip')
	run pro_curl GET "/cdn/deploymentTasks/$did"
	[ "$(http_body | jq -r .status)" = succeeded ]
	run pro_curl GET "$P"
	[ "$(http_body | jq -c '[.versionInStaging, .versionInProduction]')" = '[2,1]' ]
	# New objects: staging caches for 2 h, production still for 1 h.
	[ "$(ttl_at "$ip" p1.example.com /b)" = 7200 ]
	[ "$(ttl_at 127.0.0.1 p1.example.com /b)" = 3600 ]
	run pro_curl GET /cdn/hostnames/p1.example.com
	[ "$(http_body | jq -c '[.propertyInStaging.version, .propertyInProduction.version]')" = '[2,1]' ]
	# Promoted: production serves version 2 too; the staging listener does not serve
	# production-only hosts.
	run pro_curl POST /cdn/deploymentTasks "{\"target\":\"production\",\"actions\":[{\"action\":\"deploy_property\",\"propertyId\":\"$(prop_id 1)\",\"version\":2}]}"
	[ "$(http_status)" = 201 ]
	[ "$(ttl_at 127.0.0.1 p1.example.com /c)" = 7200 ]
	seed_prop 2 "$(printf "$EL_ROOT")"
	[ "$(curl -s -o /dev/null -w '%{http_code}' --connect-to "p2.example.com:80:$ip:$FAKECDN_PORT" http://p2.example.com/x)" = 404 ]
	[ "$(journal_count version_create)" -eq 1 ]
	[ "$(journal_count deployment_create changed=true)" -eq 2 ]
	[ "$(journal_count staging_servers)" -eq 1 ]
}

@test "versions: frozen once deployed, If-Unmodified-Since, the version cap, list order, Edge Logic errors" {
	fakecdn_start "$STATE"
	seed_prop 1 "$(printf "$EL_ROOT")"
	P=/cdn/properties/$(prop_id 1)
	cfg() { # EDGELOGIC [DESCRIPTION]
		jq -nc --arg el "$1" --arg d "${2:-}" '{hostnames: ["p1.example.com"], syntaxVersion: 1,
			description: $d, origins: [{name: "origin1", servers: ["origin.example.com"]}], edgeLogic: $el}'
	}
	ok_el=$(printf 'location / {\n  proxy_cache_valid 1d;\n  origin_pass origin1;\n}\n')
	run pro_curl PATCH "$P/versions/1" "$(cfg "$ok_el")"
	[ "$(http_status)" = 400 ]
	[ "$(http_body | jq -r .code)" = FrozenPropertyVersion ]
	run pro_curl PATCH "$P/versions/1" '{"description":"renamed"}'
	[ "$(http_status)" = 204 ]
	# Still deployable after a new description: a rollback target.
	run pro_curl POST /cdn/deploymentTasks "{\"target\":\"staging\",\"actions\":[{\"action\":\"deploy_property\",\"propertyId\":\"$(prop_id 1)\",\"version\":1}]}"
	[ "$(http_status)" = 201 ]
	run pro_curl GET "$P/versions/1"
	[ "$(http_body | jq -c '[.configs.description, .status.inStaging, .status.frozen]')" = '["renamed",true,true]' ]
	run pro_curl POST "$P/versions" "$(cfg "$ok_el" draft)"
	[ "$(http_status)" = 201 ]
	run pro_curl GET "$P/versions/2"
	lm=$(tr -d '\r' <"$CURL_HEADERS" | sed -n 's/^Last-Modified: //Ip')
	[ -n "$lm" ]
	sleep 1.1
	run curl_pro_ius "$lm" PATCH "$P/versions/2" "$(cfg "$ok_el" again)"
	[ "$(http_status)" = 204 ]
	run curl_pro_ius "$lm" PATCH "$P/versions/2" "$(cfg "$ok_el" stale)"
	[ "$(http_status)" = 412 ]
	[ "$(http_body | jq -r .code)" = PreconditionFailed ]
	run pro_curl PATCH "$P/versions/2" "$(cfg "$ok_el" | jq -c '.nonexistentfield = 1')"
	[ "$(http_body | jq -r .code)" = InvalidInput ]
	run pro_curl POST "$P/versions" "$(cfg "$(printf 'location / {\n  ORIGIN_set_header X 1;\n  origin_pass origin1;\n}\n')")"
	[ "$(http_status)" = 400 ]
	[ "$(http_body | jq -r .code)" = InvalidDirective ]
	[[ "$(http_body | jq -r .message)" == *"'ORIGIN_set_header'"* ]]
	run pro_curl POST "$P/versions" "$(cfg "$(printf 'location / {\n  origin_fast_route on;\n  origin_pass origin1;\n}\n')")"
	[ "$(http_body | jq -r .code)" = UnauthorizedDirective ]
	run pro_curl POST "$P/versions" "$(cfg "$(printf 'location /x {\n  proxy_cache_valid 1d;\n}\n')")"
	[ "$(http_body | jq -r .code)" = InvalidEdgeLogic ]
	# What nginx refuses passes the create call and fails the validation, nginx-style.
	run pro_curl POST "$P/versions" "$(cfg "$(printf 'location / {\n  proxy_cache_valid 1d 2d 3d;\n  origin_pass origin1;\n}\n')")"
	[ "$(http_status)" = 201 ]
	run pro_curl POST /cdn/validations "{\"propertyId\":\"$(prop_id 1)\",\"version\":3}"
	vid=$(tr -d '\r' <"$CURL_HEADERS" | sed -n 's|^Location: .*/cdn/validations/||Ip')
	run pro_curl GET "/cdn/validations/$vid"
	[ "$(http_body | jq -r .status)" = failed ]
	[ "$(http_body | jq -r .statusDetails)" = 'invalid status "1d" in /usr/local/qtl-nginx/conf/../domain_conf/ccve-validation.conf:22' ]
	# Not validated, or failed: not deployable.
	run pro_curl POST /cdn/deploymentTasks "{\"target\":\"staging\",\"actions\":[{\"action\":\"deploy_property\",\"propertyId\":\"$(prop_id 1)\",\"version\":3}]}"
	[ "$(http_body | jq -r .code)" = OutdatedProperty ]
	run pro_curl GET "$P/versions?sortBy=version&sortOrder=desc&limit=2"
	[ "$(http_body | jq -c '[.count, [.propertyVersions[].version], .propertyVersions[0].lastValidationStatus]')" = '[3,[3,2],"Failed"]' ]
	run pro_curl GET "$P/versions"
	[ "$(http_body | jq -c '[.propertyVersions[].version]')" = '[1,2,3]' ]
	run pro_curl GET "$P/versions?sortOrder=up"
	[ "$(http_body | jq -r .code)" = InvalidSortOrder ]
	run pro_curl GET "$P/versions?limit=201"
	[ "$(http_body | jq -r .code)" = InvalidListLimit ]
	# The cap (a knob; the service publishes none).
	admin_curl POST faults '{"cdnpro_version_cap": 3}' >/dev/null
	run pro_curl POST "$P/versions" "$(cfg "$ok_el")"
	[ "$(http_status)" = 403 ]
	[ "$(http_body | jq -r .code)" = TooManyVersions ]
	run pro_curl GET "$P/versions/0"
	[ "$(http_body | jq -r .code)" = InvalidVersion ]
	run pro_curl GET /cdn/properties/000000000000000000000000
	[ "$(http_status)" = 404 ]
	[ "$(http_body | jq -r .code)" = InvalidPropertyId ]
	[ "$(journal_count version_patch)" -eq 5 ]
	[ "$(journal_count version_create)" -eq 6 ]
}

# curl_pro_ius DATE METHOD PATH BODY: pro_curl with If-Unmodified-Since.
curl_pro_ius() {
	local ius=$1 method=$2 path=$3 body=$4 date pass
	date=$(pro_date)
	pass=$(printf '%s' "$date" | openssl dgst -sha1 -hmac "$PRO_KEY" -binary | base64)
	_curl_out -X "$method" -H "Date: $date" -u "$PRO_USER:$pass" -H "If-Unmodified-Since: $ius" \
		-H 'Content-Type: application/json' --data-binary "$body" "$FAKECDN_URL$path"
}

@test "deployment tasks: several properties per task, allowProduction, the token bucket, service quotas" {
	jq '.cdnpro.service_quota = {allowProduction: false} | .settings.cdnpro_burst = 60 | .settings.cdnpro_rate_per_minute = 1' "$STATE" >"$STATE.2"
	fakecdn_start "$STATE.2"
	seed_prop 1 "$(printf "$EL_ROOT")" '[]'
	seed_prop 2 "$(printf "$EL_ROOT")" '[]'
	acts="[{\"action\":\"deploy_property\",\"propertyId\":\"$(prop_id 1)\",\"version\":1},{\"action\":\"deploy_property\",\"propertyId\":\"$(prop_id 2)\",\"version\":1}]"
	run pro_curl POST /cdn/deploymentTasks "{\"target\":\"production\",\"actions\":$acts}"
	[ "$(http_status)" = 403 ]
	[ "$(http_body | jq -r .code)" = AccessDenied ]
	left1=$(tr -d '\r' <"$CURL_HEADERS" | sed -n 's/^x-rate-limit-remaining: //Ip')
	run pro_curl POST /cdn/deploymentTasks "{\"target\":\"staging\",\"actions\":$acts}"
	[ "$(http_status)" = 201 ]
	left2=$(tr -d '\r' <"$CURL_HEADERS" | sed -n 's/^x-rate-limit-remaining: //Ip')
	# One token per call, the refused one included (59 left after it, 58 after this).
	[ -z "$left1" ]
	[ "$left2" -le 58 ]
	for i in 1 2; do
		run pro_curl GET "/cdn/properties/$(prop_id $i)"
		[ "$(http_body | jq -c '[.versionInStaging, .versionInProduction]')" = '[1,null]' ]
	done
	run pro_curl GET /cdn/serviceQuotas/customer/me
	[ "$(http_status)" = 200 ]
	[ "$(http_body | jq -c '[.allowProduction, .propertyLimit]')" = '[false,100]' ]
	run pro_curl GET "/cdn/properties?target=staging"
	[ "$(http_body | jq -c '[.count, [.properties[].stagingVersion.version]]')" = '[2,[1,1]]' ]
	[ "$(journal_count deployment_create status=403)" -eq 1 ]
	[ "$(journal_count deployment_create changed=true)" -eq 1 ]
}

@test "service quotas: 404 with the defaults when none is set; a state-file property seed" {
	jq 'del(.cdnpro.service_quota) | .cdnpro.properties = [{id: "aaaaaaaaaaaaaaaaaaaaaaaa", name: "seeded",
	    deploy: ["production"], allowProduction: true, version: {hostnames: ["seed.example.com"], syntaxVersion: 1,
	    origins: [{name: "o", servers: ["origin.example.com"]}],
	    edgeLogic: "location / { proxy_cache_valid 5m; origin_pass o; }"}}]' "$STATE" >"$STATE.3"
	fakecdn_start "$STATE.3"
	run pro_curl GET /cdn/serviceQuotas/customer/me
	[ "$(http_status)" = 404 ]
	[ "$(http_body | jq -c '[.allowProduction, .allowedCacheDirectives, .propertyLimit]')" = '[false,[],100]' ]
	run pro_curl GET /cdn/properties/aaaaaaaaaaaaaaaaaaaaaaaa
	[ "$(http_body | jq -c '[.name, .versionInProduction]')" = '["seeded",1]' ]
	[ "$(ttl_at 127.0.0.1 seed.example.com /x)" = 300 ]
	run admin_curl POST reset
	run pro_curl GET /cdn/properties/aaaaaaaaaaaaaaaaaaaaaaaa
	[ "$(http_status)" = 200 ]
}
