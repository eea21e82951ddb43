#!/usr/bin/env bats
# fakecdn's Front Door routes driven by Microsoft's JavaScript SDK (@azure/arm-cdn): get/update
# route, rule set and rule create/update/delete, purge, usages and long-running operations, so
# the emulator (and with it cacheform's tests) agrees with the SDK's shapes.
load helpers
load fakecdn_helpers

SDK_NPM_PKGS="@azure/arm-cdn@9.1.0 @azure/core-auth@1.11.0"

setup() {
	export SDK_NPM="$TOP/tests/.npm/afd_sdk"
	local stamp="$SDK_NPM/.installed"
	if [ "$(cat "$stamp" 2>/dev/null)" != "$SDK_NPM_PKGS" ]; then
		if ! timeout 20 npm ping >/dev/null 2>&1; then
			skip "the npm registry is unreachable: cannot install $SDK_NPM_PKGS"
		fi
		mkdir -p "$SDK_NPM"
		# shellcheck disable=SC2086 # the package list is split on purpose
		npm install --prefix "$SDK_NPM" --ignore-scripts --no-audit --no-fund --no-save \
			--loglevel=error $SDK_NPM_PKGS >&3 2>&1 || return 1
		echo "$SDK_NPM_PKGS" >"$stamp"
	fi
	STATE=$BATS_TEST_TMPDIR/afd-state.json
	jq --arg sub "$ARM_SUB" '.settings.afd_op_ms = 60 | .frontdoor = {profiles: [{
		subscription: $sub, resource_group: "fd-rg", name: "web-afd",
		sku: "Standard_AzureFrontDoor",
		afdEndpoints: [{name: "web", hostName: "web-b2c3.z01.azurefd.net", routes: [{
			name: "default", properties: {
				cacheConfiguration: {queryStringCachingBehavior: "UseQueryString"},
				ruleSets: [], patternsToMatch: ["/*"], linkToDefaultDomain: "Enabled"}}]}],
		ruleSets: []}]}' "$FAKECDN_EXAMPLE_STATE" >"$STATE"
}

teardown() {
	fakecdn_stop
}

@test "the @azure/arm-cdn SDK drives fakecdn's Front Door routes, LROs included" {
	# the SDK sends bearer tokens over https only: fakecdn serves TLS with a throwaway cert
	local cert=$BATS_TEST_TMPDIR/cert.pem key=$BATS_TEST_TMPDIR/key.pem
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$key" -out "$cert" 2>/dev/null
	fakecdn_start "$STATE" --tls-cert "$cert" --tls-key "$key"
	FAKECDN_URL=https://127.0.0.1:$FAKECDN_PORT
	ARM_TOKEN=$(curl -sS --cacert "$cert" -X POST "$FAKECDN_URL/$ARM_TENANT/oauth2/v2.0/token" \
		--data-urlencode grant_type=client_credentials --data-urlencode "client_id=$ARM_CLIENT" \
		--data-urlencode "client_secret=$ARM_SECRET" \
		--data-urlencode 'scope=https://management.azure.com/.default' | jq -r .access_token)
	export ARM_TOKEN ARM_SUB FAKECDN_URL NODE_EXTRA_CA_CERTS=$cert
	run node "$TOP/tests/cli/afd_sdk.mjs" "$SDK_NPM/node_modules"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *FAIL* ]]
	[ "$(journal_count afd_write_rule)" -ge 1 ]
	[ "$(journal_count poll)" -ge 3 ]
}
