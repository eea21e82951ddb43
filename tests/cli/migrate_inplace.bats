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
	run cf plan --format json -e shop-fd
	echo "$output"
	[ "$status" -eq 0 ]
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
