#!/usr/bin/env bats
# Microsoft's in-place migration of an azure (classic) profile to Front Door, as fakecdn does
# it (POST /_fakecdn/azure/{rg}/{profile}/migrate, or cdnMigrateToAfd + migrationCommit), checked
# against `cacheform migrate --write`: the translated files plan to 0 behaviour changes against
# the migrated profile, and the edge gives every probe path the same TTL before and after.
load helpers
load reconcile_helpers

PROFILE=web-cdn
FD_REMOTE=(--remote route=default-route --remote rule_set=shopMigratedRuleSet)
PATHS=(/ /index.html /checkout.html /checkout.htm /assets/a.css /assets/ /x/assets/y /f.woff2
	/g.ttf /h.TTF /api/x /api/ /apix /other.js)

setup() {
	R=$BATS_TEST_TMPDIR/repo
	STATE=$BATS_TEST_TMPDIR/inplace-state.json
	jq '.settings.afd_op_ms = 0' "$FAKECDN_EXAMPLE_STATE" >"$STATE"
	fakecdn_start "$STATE"
	repo_init "$R" shop
	sed -i "/^accounts:/r /dev/stdin" "$R/cacheform.yaml" <<Y
  fd:
    provider: azure-frontdoor
    subscription: $ARM_SUB
    tenant: $ARM_TENANT
    client_id: $ARM_CLIENT
    client_secret: {env: AZURE_CLIENT_SECRET}
    base_url: $FAKECDN_URL
    login_url: $FAKECDN_URL
Y
	repo_commit "$R" fd
	cd "$R"
}

teardown() {
	fakecdn_stop
}

# edge_ttls HOST: "path ttl" per probe path, as the edge serves them (first request: a miss)
edge_ttls() {
	local p
	for p in "${PATHS[@]}"; do
		printf '%s %s\n' "$p" "$(curl -sS -o /dev/null -D - -H "Host: $1" "$FAKECDN_URL$p" |
			tr -d '\r' | sed -n 's/^X-Fakecdn-Ttl: //Ip')"
	done
}

# live_ttls EP: "path ttl" per probe path, explain --live's reading of the live configuration
live_ttls() {
	cf explain --live -e "$1" --format json "${PATHS[@]}" |
		jq -r '.results[] | "\(.path) \(.live.mode) \(.live.ttl)"'
}

@test "admin migration in place: the translated files plan to 0 behaviour changes, same TTLs" {
	run cf apply --yes --first-run -e shop
	echo "$output"
	[ "$status" -eq 0 ]
	# the origin sends a TTL: without one each service caches for its own default (classic
	# 2 days, Front Door 1 day in fakecdn), a difference no configuration carries
	admin_curl PUT edge/origin '{"cache_control": {"*": "max-age=3600"}}' >/dev/null
	local live_before edge_before
	live_before=$(live_ttls shop)
	edge_before=$(edge_ttls shop.azureedge.net)
	run cf migrate --to fd "${FD_REMOTE[@]}" -e shop --write
	echo "$output"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	grep -qx 'mode: observe' endpoints/shop.yaml
	repo_commit "$R" migrated
	# Microsoft's migration, done by the emulator: the classic endpoint is gone afterwards
	run admin_curl POST azure/web-rg/$PROFILE/migrate
	echo "$output"
	[ "${lines[-1]}" = "HTTP 200" ]
	[ "$(journal_ops admin_migrate)" -eq 1 ]
	local fd
	fd=$(curl -sS "$FAKECDN_URL/_fakecdn/state")
	[ "$(jq '[.azure.subscriptions[].endpoints[] | select(.profile == "web-cdn")] | length' <<<"$fd")" -eq 0 ]
	[ "$(jq -r '.frontdoor.profiles[] | select(.name == "web-cdn") | .afdEndpoints[0].routes[0].name' <<<"$fd")" = default-route ]
	local host
	host=$(jq -r '.frontdoor.profiles[] | select(.name == "web-cdn") | .afdEndpoints[0].hostName' <<<"$fd")
	local writes
	writes=$(jq -c 'select(.op | test("^afd_(write|delete)"))' "$FAKECDN_JOURNAL" | wc -l)
	printf '%s\n' "${PATHS[@]}" >"$BATS_TEST_TMPDIR/urls"
	run cf plan --urls "$BATS_TEST_TMPDIR/urls" --format json -e shop-fd
	echo "$output"
	[ "$status" -eq 0 ]
	# 0 behaviour changes: nothing to do, none of the probe paths cached differently
	[ "$(jq '.summary.changes' <<<"$output")" = false ]
	[ "$(jq '.url_effects | length' <<<"$output")" -eq 0 ]
	[ "$(jq '.url_effects | type' <<<"$output")" = '"array"' ]
	[ "$(jq '[.endpoints[] | select(.action != "none")] | length' <<<"$output")" -eq 0 ]
	run cf plan --detailed-exitcode -e shop-fd
	echo "$output"
	[ "$status" -eq 0 ]
	# plan wrote nothing; explain --live and the edge give every path the TTL it had
	[ "$(jq -c 'select(.op | test("^afd_(write|delete)"))' "$FAKECDN_JOURNAL" | wc -l)" -eq "$writes" ]
	[ "$(live_ttls shop-fd)" = "$live_before" ]
	[ "$(edge_ttls "$host")" = "$edge_before" ]
	[[ "$edge_before" == *"/assets/a.css 2592000"* && "$edge_before" == *"/other.js 3600"* ]]
	run cf explain --live -e shop-fd --format json "${PATHS[@]}"
	[ "$(jq '[.results[] | select(.agree != true)] | length' <<<"$output")" -eq 0 ]
}

@test "ARM cdnMigrateToAfd then migrationCommit: long-running, classic serves until the commit" {
	run cf apply --yes --first-run -e shop
	[ "$status" -eq 0 ]
	run cf migrate --to fd "${FD_REMOTE[@]}" --remote endpoint=shop-web -e shop --write
	[ "$status" -eq 0 ]
	repo_commit "$R" migrated
	admin_curl POST faults '{"afd_op_ms": 1500}' >/dev/null
	ARM_TOKEN=$(arm_token)
	local p=/subscriptions/$ARM_SUB/resourceGroups/web-rg/providers/Microsoft.Cdn/profiles/$PROFILE
	local v=api-version=2025-06-01
	run arm_curl POST "$p/cdnMigrateToAfd?$v" '{"migrationEndpointMappings": [{"migratedFrom": "shop", "migratedTo": "shop-web"}]}'
	[ "${lines[-1]}" = "HTTP 400" ]
	[[ "$output" == *"'sku'"* ]]
	run arm_curl POST "$p/cdnMigrateToAfd?$v" '{"sku": {"name": "Standard_AzureFrontDoor"},
		"migrationEndpointMappings": [{"migratedFrom": "shop", "migratedTo": "shop-web"}]}'
	echo "$output"
	[ "${lines[-1]}" = "HTTP 202" ]
	[[ "$output" == *"\"migratedProfileResourceId\":{\"id\":\"$p\"}"* ]]
	local op
	op=$(tr -d '\r' <"$CURL_HEADERS" | sed -n 's/^Azure-AsyncOperation: //Ip')
	[ -n "$op" ]
	run curl -sS -H "Authorization: Bearer $ARM_TOKEN" "$op"
	[[ "$output" == *'"status":"InProgress"'* ]]
	sleep 1.6
	run curl -sS -H "Authorization: Bearer $ARM_TOKEN" "$op"
	[[ "$output" == *'"status":"Succeeded"'* ]]
	# migrating: both exist, the classic endpoint still serves; a second migration is refused
	local st
	st=$(curl -sS "$FAKECDN_URL/_fakecdn/state")
	[ "$(jq -r '.frontdoor.profiles[] | select(.name == "web-cdn") | .migration_state' <<<"$st")" = Migrating ]
	[ "$(jq -r '.frontdoor.profiles[] | select(.name == "web-cdn") | .afdEndpoints[0].name' <<<"$st")" = shop-web ]
	[ "$(jq '[.azure.subscriptions[].endpoints[] | select(.profile == "web-cdn")] | length' <<<"$st")" -eq 1 ]
	run curl -sS -o /dev/null -w '%{http_code}' -H 'Host: shop.azureedge.net' "$FAKECDN_URL/a.js"
	[ "$output" = 200 ]
	run arm_curl POST "$p/cdnMigrateToAfd?$v" '{"sku": {"name": "Standard_AzureFrontDoor"}}'
	[ "${lines[-1]}" = "HTTP 409" ]
	run arm_curl POST "$p/migrationCommit?$v"
	echo "$output"
	[ "${lines[-1]}" = "HTTP 202" ]
	grep -qi '^Azure-AsyncOperation: ' "$CURL_HEADERS"
	st=$(curl -sS "$FAKECDN_URL/_fakecdn/state")
	[ "$(jq '[.azure.subscriptions[].endpoints[] | select(.profile == "web-cdn")] | length' <<<"$st")" -eq 0 ]
	[ "$(jq -r '.frontdoor.profiles[] | select(.name == "web-cdn") | .migration_state' <<<"$st")" = null ]
	run arm_curl POST "$p/migrationCommit?$v"
	[ "${lines[-1]}" = "HTTP 400" ]
	[ "$(journal_ops afd_migrate)" -eq 3 ]
	[ "$(journal_ops afd_migration_commit)" -eq 2 ]
	sleep 1.6
	printf '%s\n' "${PATHS[@]}" >"$BATS_TEST_TMPDIR/urls"
	run cf plan --urls "$BATS_TEST_TMPDIR/urls" --format json -e shop-fd
	echo "$output"
	[ "$status" -eq 0 ]
	# 0 behaviour changes: nothing to do, none of the probe paths cached differently
	[ "$(jq '.summary.changes' <<<"$output")" = false ]
	[ "$(jq '.url_effects | length' <<<"$output")" -eq 0 ]
	[ "$(jq '.url_effects | type' <<<"$output")" = '"array"' ]
	[ "$(jq '[.endpoints[] | select(.action != "none")] | length' <<<"$output")" -eq 0 ]
}

@test "what Front Door cannot take is refused whole: nothing changes" {
	jq '(.azure.subscriptions[0].endpoints[] | select(.name == "shop") | .properties.deliveryPolicy.rules) += [{
		name: "office", order: 9, conditions: [{name: "RemoteAddress", parameters: {
			typeName: "DeliveryRuleRemoteAddressConditionParameters", operator: "IPMatch",
			matchValues: ["10.0.0.0/8"]}}],
		actions: [{name: "CacheExpiration", parameters: {typeName:
			"DeliveryRuleCacheExpirationActionParameters", cacheBehavior: "BypassCache",
			cacheType: "All", cacheDuration: null}}]}]' "$STATE" >"$STATE.2"
	fakecdn_stop
	fakecdn_start "$STATE.2"
	run admin_curl POST azure/web-rg/$PROFILE/migrate
	echo "$output"
	[ "${lines[-1]}" = "HTTP 400" ]
	[[ "$output" == *"Rule 'office': the condition 'RemoteAddress' cannot be migrated."* ]]
	run curl -sS "$FAKECDN_URL/_fakecdn/state"
	[ "$(jq '(.frontdoor.profiles // []) | map(select(.name == "web-cdn")) | length' <<<"$output")" -eq 0 ]
	[ "$(jq '[.azure.subscriptions[].endpoints[] | select(.profile == "web-cdn")] | length' <<<"$output")" -eq 1 ]
	jq '(.azure.subscriptions[0].endpoints[] | select(.name == "shop")).can_migrate = false' \
		"$STATE" >"$STATE.3"
	fakecdn_stop
	fakecdn_start "$STATE.3"
	run admin_curl POST azure/web-rg/$PROFILE/migrate
	[ "${lines[-1]}" = "HTTP 409" ]
	[[ "$output" == *"MigrationBlocked shop"* ]]
	run admin_curl POST azure/web-rg/nosuch/migrate
	[ "${lines[-1]}" = "HTTP 404" ]
	run admin_curl POST azure/web-rg/$PROFILE/migrate '[1]'
	[ "${lines[-1]}" = "HTTP 400" ]
}
