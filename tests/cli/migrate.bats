#!/usr/bin/env bats
# cacheform migrate: azure-china and azure endpoints translated to a Front Door account, the
# gaps said with codes, Microsoft's cdnCanMigrateToAfd answer shown (fakecdn's journal), and
# --write followed by apply: plan is then clean and explain --live agrees on a path corpus.
load helpers
load reconcile_helpers

setup() {
	R=$BATS_TEST_TMPDIR/repo
	STATE=$BATS_TEST_TMPDIR/mig-state.json
	jq --arg sub "$ARM_SUB" '.settings.afd_op_ms = 20 | .frontdoor = {profiles: [{
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
	repo_init "$R" www shop static-cn
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
