#!/usr/bin/env bats
# cacheform migrate: azure-china and azure endpoints translated to a Front Door account, the
# gaps said with codes, Microsoft's cdnCanMigrateToAfd answer shown (fakecdn's journal), and
# --write followed by apply: plan is then clean and explain --live agrees on a path corpus.
load helpers
load reconcile_helpers

setup() {
	R=$BATS_TEST_TMPDIR/repo
	STATE=$BATS_TEST_TMPDIR/mig-state.json
	jq --arg sub "$ARM_SUB" '.settings.afd_op_ms = 0 | .frontdoor = {profiles: [{
		subscription: $sub, resource_group: "fd-rg", name: "web-afd",
		sku: "Standard_AzureFrontDoor",
		afdEndpoints: ([["shop", "shop-a1b2"], ["www", "www-c3d4"]] | map({name: .[0],
			hostName: (.[1] + ".z01.azurefd.net"), routes: [{
			name: "default", properties: {
				cacheConfiguration: {queryStringCachingBehavior: "UseQueryString",
					queryParameters: null},
				ruleSets: [], patternsToMatch: ["/*"],
				supportedProtocols: ["Https", "Http"], linkToDefaultDomain: "Enabled"}}]})),
		ruleSets: []}]}' "$FAKECDN_EXAMPLE_STATE" >"$STATE"
	fakecdn_start "$STATE"
	repo_init "$R" www shop static-cn media
	# the Front Door account, first in accounts:
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

FD_REMOTE=(--remote resource_group=fd-rg --remote profile=web-afd --remote route=default)

@test "dry run: every endpoint, its gaps with codes, Microsoft's answer; nothing written" {
	run cf migrate --to fd "${FD_REMOTE[@]}"
	echo "$output"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"www (azure-china, endpoints/www.yaml) -> www-fd (endpoints/www-fd.yaml)"* ]]
	[[ "$output" == *"shop (azure, endpoints/shop.yaml) -> shop-fd (endpoints/shop-fd.yaml)"* ]]
	[[ "$output" == *"warning CF601: ignore_cookie: true is dropped"* ]]
	[[ "$output" == *"notice CF606"* ]]
	[[ "$output" == *"cdnCanMigrateToAfd: can migrate (default SKU Standard_AzureFrontDoor)"* ]]
	[[ "$output" != *"probe paths differently"* ]]
	[ "$(journal_ops afd_can_migrate)" -eq 1 ]
	[ ! -e endpoints/www-fd.yaml ] && [ ! -e endpoints/shop-fd.yaml ]
	[ -z "$(git status --porcelain)" ]
}

@test "--write: new files validate, old ones observe; after apply plan is clean and explain --live agrees" {
	chmod 640 endpoints/shop.yaml
	run cf migrate --to fd "${FD_REMOTE[@]}" --write
	echo "$output"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[ -f endpoints/www-fd.yaml ] && [ -f endpoints/shop-fd.yaml ]
	grep -qx 'mode: observe' endpoints/www.yaml
	grep -qx 'mode: observe' endpoints/shop.yaml
	[ "$(stat -c %a endpoints/shop.yaml)" = 640 ]
	# the edit is minimal: comments and every other line kept
	[ "$(git diff --numstat endpoints/www.yaml | cut -f1,2)" = "$(printf '1\t0')" ]
	head -2 endpoints/www.yaml | grep -q '^# The main site'
	grep -q '^# CF601: ignore_cookie' endpoints/www-fd.yaml
	run cf validate
	echo "$output"
	[ "$status" -eq 0 ]
	repo_commit "$R" migrated
	run cf migrate --to fd "${FD_REMOTE[@]}" -e www
	[ "$status" -eq 1 ]
	[[ "$output" == *"CF608: the repository already has an endpoint 'www-fd'"* ]]
	# the acceptance check: build the Front Door side from the translated files
	# both rule sets live in one profile: operations take no time here (afd.bats covers the queue)
	run cf apply --yes --first-run -e www-fd -e shop-fd
	echo "$output"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[ "$(journal_ops afd_write_ruleset)" -eq 2 ]
	run cf plan --detailed-exitcode -e www-fd -e shop-fd
	echo "$output"
	[ "$status" -eq 0 ]
	local paths=(/ /index.html /sw.js /pic/a.jpg /doc/x /doc/ /a.JPG /b.png /c.webp /d.svg
		/s.css /app.js /x/y.html /checkout.html /assets/a /assets/ /f.woff2 /g.ttf
		/api/x /api/ /other)
	run cf explain --live -e www-fd -e shop-fd --format json "${paths[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq '.results | length' <<<"$output")" -eq $((2 * ${#paths[@]})) ]
	[ "$(jq '[.results[] | select(.agree != true)] | length' <<<"$output")" -eq 0 ]
}

@test "--write is all or nothing: a repository that does not validate afterwards is put back" {
	run cf migrate --to fd "${FD_REMOTE[@]}" --remote rule_set=shared -e www -e shop --write
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"CF511"* ]]
	[[ "$output" == *"everything written was put back"* ]]
	[ -z "$(git status --porcelain)" ]
}

@test "a blocking gap: ttl beyond Front Door's 365.23:59:59 is CF603, exit 1, nothing written" {
	sed -i 's|ttl: 30d|ttl: 400d|' endpoints/www.yaml
	repo_commit "$R" long
	run cf migrate --to fd "${FD_REMOTE[@]}" -e www --write
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"www-fd (endpoints/www-fd.yaml): NOT TRANSLATED"* ]]
	[[ "$output" == *"error CF603: rule 3 (endpoints/www.yaml:"*"ttl 34560000 s"* ]]
	[ -z "$(git status --porcelain)" ]
}

@test "without network access to the azure account: said, and the rest goes on offline" {
	fakecdn_stop
	run cf migrate --to fd "${FD_REMOTE[@]}" -e shop
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cdnCanMigrateToAfd: not checked ("*"); continuing offline"* ]]
	[[ "$output" == *"1 endpoint: 1 translated"* ]]
}

@test "cdnCanMigrateToAfd says no: the errors are shown" {
	local old=$FAKECDN_URL
	fakecdn_stop
	jq '(.azure.subscriptions[0].endpoints[] | select(.name == "shop")).can_migrate = false' \
		"$STATE" >"$STATE.2"
	fakecdn_start "$STATE.2"
	sed -i "s|$old|$FAKECDN_URL|" cacheform.yaml
	run cf migrate --to fd "${FD_REMOTE[@]}" -e shop --format json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.endpoints[0].cdn_can_migrate_to_afd.can_migrate' <<<"$output")" = false ]
	[[ "$(jq -r '.endpoints[0].cdn_can_migrate_to_afd.errors[0]' <<<"$output")" == "MigrationBlocked shop: "* ]]
	[ "$(journal_ops afd_can_migrate)" -eq 1 ]
}

@test "errors: unknown account (did you mean), --to not azure-frontdoor, -e not azure" {
	run cf migrate --to fdd
	[ "$status" -eq 1 ]
	[[ "$output" == *"unknown account 'fdd'; did you mean 'fd'?"* ]]
	run cf migrate --to global
	[ "$status" -eq 1 ]
	[[ "$output" == *"--to 'global' is a azure account; migrate moves endpoints to an azure-frontdoor account"* ]]
	run cf migrate --to fd -e media
	[ "$status" -eq 1 ]
	[[ "$output" == *"endpoint 'media' is cdnpro: migrate translates azure-china and azure endpoints"* ]]
	run cf migrate --to fd -e wwww
	[ "$status" -eq 1 ]
	[[ "$output" == *"did you mean 'www'?"* ]]
	run cf migrate --to fd --remote bogus=1
	[ "$status" -eq 1 ]
	run cf migrate
	[ "$status" -eq 129 ]
	# azure-china without a Front Door profile: CF607
	run cf migrate --to fd -e www
	[ "$status" -eq 1 ]
	[[ "$output" == *"error CF607"* ]]
}
