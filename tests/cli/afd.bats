#!/usr/bin/env bats
# azure-frontdoor against fakecdn, on both clouds: plan shows the rule set to create, apply
# converges, plan after apply is clean, a second apply writes nothing; a change to R of N
# rules costs R writes per rule (or one batch write), counted in fakecdn's journal.
load helpers
load reconcile_helpers

setup() {
	R=$BATS_TEST_TMPDIR/repo
	STATE=$BATS_TEST_TMPDIR/afd-state.json
	jq --arg sub "$ARM_SUB" '.settings.afd_op_ms = 40 | .frontdoor = {profiles: [{
		subscription: $sub, resource_group: "fd-rg", name: "web-afd",
		sku: "Standard_AzureFrontDoor",
		afdEndpoints: [{name: "web", hostName: "web-b2c3.z01.azurefd.net", routes: [{
			name: "default", properties: {
				cacheConfiguration: {queryStringCachingBehavior: "UseQueryString",
					queryParameters: null,
					compressionSettings: {isCompressionEnabled: true,
						contentTypesToCompress: ["text/html"]}},
				ruleSets: [], patternsToMatch: ["/*"],
				supportedProtocols: ["Https", "Http"], linkToDefaultDomain: "Enabled"}}]}],
		ruleSets: []}]}' "$FAKECDN_EXAMPLE_STATE" >"$STATE"
}

teardown() {
	fakecdn_stop
}

# afd_repo CLOUD API N: a repository with one Front Door endpoint of N dir rules.
afd_repo() {
	local cloud=$1 api=$2 n=$3 i
	mkdir -p "$R/endpoints" "$R/purges"
	git init -q "$R"
	cat >"$R/cacheform.yaml" <<Y
version: 1
accounts:
  fd:
    provider: azure-frontdoor
    cloud: $cloud
    subscription: $ARM_SUB
    tenant: $ARM_TENANT
    client_id: $ARM_CLIENT
    client_secret: {env: AZURE_CLIENT_SECRET}
    api_version: $api
    base_url: $FAKECDN_URL
    login_url: $FAKECDN_URL
Y
	{
		printf 'endpoint: web\naccount: fd\n'
		printf 'remote: {resource_group: fd-rg, profile: web-afd, endpoint: web, route: default, rule_set: cacheform}\n'
		printf 'hosts: [www.example.com]\ncache:\n  ignore_query_string: true\n  rules:\n'
		printf '    - {path: [/index.html], ttl: 0}\n'
		for i in $(seq 2 "$n"); do
			printf '    - {dir: [/d%s/], ttl: 1h}\n' "$i"
		done
	} >"$R/endpoints/web.yaml"
	repo_commit "$R" init
}

# afd_writes: journal lines of Front Door writes that changed the state.
afd_writes() {
	jq -c 'select((.op | test("^afd_(write|delete)")) and .changed == true)' "$FAKECDN_JOURNAL" | wc -l
}

converge() { # CLOUD API N
	fakecdn_start "$STATE"
	afd_repo "$@"
	cd "$R"
	run cf validate
	[ "$status" -eq 0 ]
	run cf plan --detailed-exitcode
	assert_no_sanitizer
	[ "$status" -eq 2 ]
	[[ "$output" == *"rule set 'cacheform' does not exist"* ]]
	run cf apply --yes --first-run
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 0 ]
	run cf plan --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "global cloud, batch api-version: create + attach in 2 writes, plan clean, second apply writes nothing" {
	converge global 2026-07-01 20
	[ "$(journal_ops afd_write_ruleset)" -eq 1 ]
	[ "$(journal_ops afd_write_route)" -eq 1 ]
	[ "$(journal_ops afd_write_rule)" -eq 0 ]
	: >"$FAKECDN_JOURNAL"
	run cf apply --yes --first-run
	[ "$status" -eq 0 ]
	[ "$(afd_writes)" -eq 0 ]
}

@test "china cloud, per-rule api-version: set, N rules and the route; plan clean; nothing the second time" {
	converge china 2025-06-01 20
	[ "$(journal_ops afd_write_ruleset)" -eq 1 ]
	[ "$(journal_ops afd_write_rule)" -eq 20 ]
	[ "$(journal_ops afd_write_route)" -eq 1 ]
	# the token was asked for the China cloud's scope
	: >"$FAKECDN_JOURNAL"
	run cf apply --yes --first-run
	[ "$status" -eq 0 ]
	[ "$(afd_writes)" -eq 0 ]
}

@test "a change to R=3 of N=20 rules: 3 writes per rule, 1 write in batch mode" {
	local api
	for api in 2025-06-01 2026-07-01; do
		rm -rf "$R"
		converge global "$api" 20
		sed -i 's|/d5/], ttl: 1h|/d5/], ttl: 2h|; s|/d9/], ttl: 1h|/d9/], ttl: 3h|; s|/d17/], ttl: 1h|/d17/], ttl: 4h|' \
			"$R/endpoints/web.yaml"
		repo_commit "$R" ttl
		: >"$FAKECDN_JOURNAL"
		run cf apply --yes --first-run
		echo "$output"
		[ "$status" -eq 0 ]
		if [ "$api" = 2025-06-01 ]; then
			[ "$(journal_ops afd_write_rule)" -eq 3 ]
			[ "$(afd_writes)" -eq 3 ]
		else
			[ "$(journal_ops afd_write_ruleset)" -eq 1 ]
			[ "$(afd_writes)" -eq 1 ]
		fi
		run cf plan --detailed-exitcode
		[ "$status" -eq 0 ]
		fakecdn_stop
	done
}

@test "an inserted rule costs one write; a removed one one delete" {
	converge global 2025-06-01 6
	sed -i 's|^    - {dir: \[/d3/\], ttl: 1h}|    - {dir: [/new/], ttl: 5m}\n&|' "$R/endpoints/web.yaml"
	sed -i '/\/d6\//d' "$R/endpoints/web.yaml"
	repo_commit "$R" insert
	: >"$FAKECDN_JOURNAL"
	run cf apply --yes --first-run
	[ "$status" -eq 0 ]
	[ "$(journal_ops afd_write_rule)" -eq 1 ]
	[ "$(journal_ops afd_delete_rule)" -eq 1 ]
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "fakecdn: a write while the profile's operation runs is refused with 409 Conflict" {
	fakecdn_start "$STATE"
	admin_curl POST faults '{"afd_op_ms": 60000}' >/dev/null
	ARM_TOKEN=$(arm_token)
	local p=/subscriptions/$ARM_SUB/resourceGroups/fd-rg/providers/Microsoft.Cdn/profiles/web-afd
	run arm_curl PUT "$p/ruleSets/a?api-version=2026-07-01" '{}'
	[ "${lines[-1]}" = "HTTP 201" ]
	run arm_curl PUT "$p/ruleSets/b?api-version=2026-07-01" '{}'
	[ "${lines[-1]}" = "HTTP 409" ]
	[[ "$output" == *'"code":"Conflict"'* ]]
	[[ "$output" == *"another operation is in progress"* ]]
}

@test "purge: contentPaths at most 100 a request, with the endpoint's domains" {
	fakecdn_start "$STATE"
	afd_repo global 2026-07-01 3
	{
		printf 'purge: p1\nendpoints: [web]\nfiles:\n'
		for i in $(seq 1 150); do printf '  - /f%s.png\n' "$i"; done
		printf 'dirs: [/img/]\n'
	} >"$R/purges/p1.yaml"
	repo_commit "$R" purge
	cd "$R"
	run cf apply --yes --first-run
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(journal_ops afd_purge)" -eq 2 ]
}

@test "plan names the paths a foreign rule set's Stop takes from the YAML, in text, json and markdown" {
	# a foreign rule set before cacheform's: /d2/ overridden to 5 min with Stop
	jq --arg sub "$ARM_SUB" '.frontdoor.profiles[0].ruleSets = [{name: "legacy", batchMode: false, rules: [
		{name: "old", properties: {order: 1, matchProcessingBehavior: "Stop",
			conditions: [{name: "UrlPath", parameters: {typeName: "DeliveryRuleUrlPathMatchConditionParameters",
				operator: "BeginsWith", negateCondition: false, matchValues: ["d2/"], transforms: []}}],
			actions: [{name: "RouteConfigurationOverride", parameters: {
				typeName: "DeliveryRuleRouteConfigurationOverrideActionParameters",
				cacheConfiguration: {queryStringCachingBehavior: "IgnoreQueryString",
					cacheBehavior: "OverrideAlways", cacheDuration: "00:05:00",
					isCompressionEnabled: "Disabled"}}}]}}]}]
		| .frontdoor.profiles[0].afdEndpoints[0].routes[0].properties.ruleSets = [{id:
			"/subscriptions/\($sub)/resourceGroups/fd-rg/providers/Microsoft.Cdn/profiles/web-afd/ruleSets/legacy"}]' \
		"$STATE" >"$STATE.new" && mv "$STATE.new" "$STATE"
	fakecdn_start "$STATE"
	afd_repo global 2026-07-01 3
	cd "$R"
	local note="rule set 'legacy', rule 'old' (order 1) stops evaluation before cacheform's rule set runs: /d2/"
	run cf plan
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"! $note"*"cannot be cached as the YAML says"* ]]
	[[ "$output" == *"= delivery rule 'legacy/old' (order 1) not managed by cacheform; preserved"* ]]
	[[ "$output" != *"old: Stop"* ]]
	run cf plan --format json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg n "$note" '.endpoints[0].notes | length == 1 and (.[0] | startswith($n))'
	echo "$output" | jq -e '.endpoints[0].foreign_rules | map(.name) == ["legacy/old"]'
	run cf plan --format markdown
	[ "$status" -eq 0 ]
	[[ "$output" == *"! $note"* ]]
	# after apply the note stays (the Stop still runs first) and the plan is otherwise clean
	run cf apply --yes --first-run
	[ "$status" -eq 0 ]
	run cf plan --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"! $note"* ]]
}

@test "endpoints of one profile are written one global operation at a time: no 409, each op starts after the last" {
	# a second afdEndpoint in the same profile; operations take 300 ms
	jq '.settings.afd_op_ms = 300 | .frontdoor.profiles[0].afdEndpoints += [
		.frontdoor.profiles[0].afdEndpoints[0] | .name = "web2" | .hostName = "web2-d4e5.z01.azurefd.net"]' \
		"$STATE" >"$STATE.new" && mv "$STATE.new" "$STATE"
	fakecdn_start "$STATE"
	afd_repo global 2026-07-01 3
	sed 's/^endpoint: web$/endpoint: web2/; s/endpoint: web, route/endpoint: web2, route/; s/rule_set: cacheform}/rule_set: cacheform2}/' \
		"$R/endpoints/web.yaml" >"$R/endpoints/web2.yaml"
	repo_commit "$R" web2
	cd "$R"
	run cf apply --yes --first-run --parallelism 8
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.status == 409)' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
	# 2 endpoints x (create the set + attach it): 4 operations, each sent once the one
	# before has run its 300 ms
	[ "$(afd_writes)" -eq 4 ]
	[ "$(jq -rs 'map(select((.op | test("^afd_write")) and .status < 300)
		| (.time[0:19] + "Z" | fromdateiso8601) * 1000 + (.time[20:23] | tonumber))
		| [range(1; length) as $i | .[$i] - .[$i - 1]] | min >= 300' "$FAKECDN_JOURNAL")" = true ]
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
}
