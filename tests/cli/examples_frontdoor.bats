#!/usr/bin/env bats
# examples/frontdoor: validates as it is; against fakecdn's example state the classic endpoint
# plans clean, `migrate --write` writes exactly the committed shop-fd.yaml, and after fakecdn
# migrates the profile in place (admin route) shop-fd.yaml plans to no changes.
load helpers
load reconcile_helpers

EX=$TOP/examples/frontdoor
FD_REMOTE=(--remote route=default-route --remote rule_set=shopMigratedRuleSet)

setup() {
	export AZURE_SUBSCRIPTION_ID=$ARM_SUB AZURE_TENANT_ID=$ARM_TENANT AZURE_CLIENT_ID=$ARM_CLIENT
	R=$BATS_TEST_TMPDIR/fd
	STATE=$BATS_TEST_TMPDIR/fd-state.json
	jq '.settings.afd_op_ms = 0' "$FAKECDN_EXAMPLE_STATE" >"$STATE"
	fakecdn_start "$STATE"
	cp -r "$EX" "$R"
	git init -q "$R"
	sed -i "s|^    client_secret: {env: AZURE_CLIENT_SECRET}$|&\n    base_url: $FAKECDN_URL\n    login_url: $FAKECDN_URL|" \
		"$R/cacheform.yaml"
	[ "$(grep -c "base_url: $FAKECDN_URL" "$R/cacheform.yaml")" -eq 2 ]
	repo_commit "$R" init
	cd "$R"
}

teardown() {
	fakecdn_stop
}

@test "examples/frontdoor validates in place" {
	run cf validate --repo "$EX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"valid: 2 accounts, 2 endpoints, 0 purges"* ]]
	[[ "$output" == *"CF221"* ]]
}

@test "migrate --write gives the committed shop-fd.yaml" {
	rm endpoints/shop-fd.yaml
	sed -i 's/^mode: observe$/mode: manage/' endpoints/shop.yaml
	repo_commit "$R" before
	run cf migrate --to fd "${FD_REMOTE[@]}" -e shop --write
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(journal_ops afd_can_migrate)" -eq 1 ]
	diff <(tail -n +2 "$EX/endpoints/shop-fd.yaml") endpoints/shop-fd.yaml
	diff <(tail -n +2 "$EX/endpoints/shop.yaml") <(tail -n +2 endpoints/shop.yaml)
}

@test "classic plans clean; after the in-place migration shop-fd plans to no changes" {
	run cf plan --detailed-exitcode -e shop
	echo "$output"
	[ "$status" -eq 0 ]
	run cf plan --detailed-exitcode -e shop-fd
	echo "$output"
	[ "$status" -ne 0 ] # no Front Door profile yet
	run admin_curl POST azure/web-rg/web-cdn/migrate
	[ "${lines[-1]}" = "HTTP 200" ]
	[ "$(journal_ops admin_migrate)" -eq 1 ]
	printf '%s\n' / /index.html /checkout.html /checkout.htm /assets/a.js /assets/ /x/assets/y /f.woff2 /other >"$BATS_TEST_TMPDIR/urls"
	run cf plan --urls "$BATS_TEST_TMPDIR/urls" --format json -e shop-fd
	echo "$output"
	[ "$status" -eq 0 ]
	# 0 behaviour changes: nothing to do, none of the probe paths cached differently
	[ "$(jq '.summary.changes' <<<"$output")" = false ]
	[ "$(jq '.url_effects | length' <<<"$output")" -eq 0 ]
	[ "$(jq '.url_effects | type' <<<"$output")" = '"array"' ]
	[ "$(jq '.endpoints | length' <<<"$output")" -eq 1 ]
	[ "$(jq '[.endpoints[] | select(.action != "none")] | length' <<<"$output")" -eq 0 ]
	run cf plan --detailed-exitcode -e shop-fd
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.op | test("^afd_(write|delete)"))' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
	[ "$(journal_ops afd_read_route)" -ge 2 ]
}
