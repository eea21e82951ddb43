#!/usr/bin/env bats
# plan on CDN Pro `mode: manage` endpoints through the shared semantics module: the live Edge
# Logic (foreign locations included) against the Edge Logic apply would write, evaluated with
# nginx's location precedence. The real cacheform against fakecdn's property emulation.
load helpers
load reconcile_helpers

EL_ROOT='location / {\n  origin_pass origin1;\n}\n'
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

setup() {
	R=$BATS_TEST_TMPDIR/repo
	STATE=$BATS_TEST_TMPDIR/state.json
	jq '.settings.task_delay_ms = 0 | .settings.cdnpro_validation_ms = 0
	    | .settings.cdnpro_deploy_ms = 0 | .settings.cdnpro_rate_per_minute = 1000000
	    | .settings.cdnpro_burst = 1000000 | .cdnpro.service_quota = {allowProduction: true}' \
		"$FAKECDN_EXAMPLE_STATE" >"$STATE"
}

teardown() {
	fakecdn_stop
}

PROP=5dca2205f9e9cc0000000001

# seed EDGELOGIC: property p1 (host p1.example.com, origin origin1) deployed to production.
seed() {
	run admin_curl POST cdnpro/properties "$(jq -nc --arg id "$PROP" --arg el "$1" \
		'{id: $id, name: "p1", deploy: ["production"], version: {hostnames: ["p1.example.com"],
		  syntaxVersion: 1, origins: [{name: "origin1", servers: ["origin.example.com"]}],
		  edgeLogic: $el}}')"
	[ "$(http_status)" = 201 ]
}

# ep_yaml TTL: endpoint p1 with one rule, dir /img/ for TTL.
ep_yaml() {
	cat >"$R/endpoints/p1.yaml" <<Y
endpoint: p1
account: pro
mode: manage
hosts: [p1.example.com]
remote: {property_id: $PROP, target: production}
cache:
  rules:
    - dir: [/img/]
      ttl: $1
Y
}

repo_ttl() { # TTL
	mkdir -p "$R/endpoints"
	git init -q "$R"
	repo_settings >"$R/cacheform.yaml"
	ep_yaml "$1"
	repo_commit "$R" "ttl $1"
}

writes() {
	echo $(($(journal_count version_create) + $(journal_count version_patch) +
		$(journal_count validation_create) + $(journal_count deployment_create)))
}

@test "cdnpro plan: a changed TTL is a behaviour change on a real path, in text, json and --urls" {
	fakecdn_start "$STATE"
	seed "$(printf "$EL_ROOT")"
	repo_ttl 1d
	cd "$R"
	run cf apply --yes
	[ "$status" -eq 0 ]
	ep_yaml 2d
	repo_commit "$R" "ttl 2d"
	: >"$FAKECDN_JOURNAL"
	run cf plan --detailed-exitcode
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"behaviour: e.g. /img/"*": cached 1d if origin sends none -> cached 2d if origin sends none"* ]]
	# the live rules are read back from the region: one changed rule, not one added
	[[ "$output" == *"update cache rules (0 added, 1 changed, 0 removed, 0 moved)"* ]]
	[[ "$output" == *"~ rule 1: dir /img/  ttl 2d  (ttl was 1d)"* ]]
	[[ "$output" != *"live settings have no exact form"* ]]
	run cf plan --format json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.endpoints[0].behaviour
		| (.path | startswith("/img/")) and .before.mode == "if_missing"
		  and .before.ttl == 86400 and .after.ttl == 172800'
	echo "$output" | jq -e '.endpoints[0].rule_changes | length == 1 and (.[0]
		| .change == "change" and .before_index == 0 and .after_index == 0
		  and .before.items == ["/img/"] and .before.ttl == 86400
		  and .after.ttl == 172800 and .fields == ["ttl"])'
	# drift says the same, per rule: the repository moved, the live region did not
	run cf drift
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"p1 (cdnpro, account pro, manage): pending:"* ]]
	[[ "$output" == *"~ rule 1: dir /img/  ttl 2d  (was dir /img/  ttl 1d)"* ]]
	[[ "$output" == *"0 external, 1 pending, 0 both"* ]]
	printf '/img/a.png\n/other.html\n' >"$BATS_TEST_TMPDIR/urls"
	run cf plan --urls "$BATS_TEST_TMPDIR/urls"
	echo "$output"
	[[ "$output" == *"p1 /img/a.png: cached 1d if origin sends none -> cached 2d if origin sends none"* ]]
	[[ "$output" != *"/other.html:"* ]]
	[ "$(writes)" -eq 0 ]
}

@test "cdnpro plan: an unchanged repository plans no changes and writes nothing" {
	fakecdn_start "$STATE"
	seed "$(printf "$EL_ROOT")"
	repo_ttl 1h
	cd "$R"
	run cf apply --yes
	[ "$status" -eq 0 ]
	: >"$FAKECDN_JOURNAL"
	run cf plan --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"behaviour:"* ]]
	run cf plan --format json
	echo "$output" | jq -e '.summary.changes == false and (.endpoints[0] | has("behaviour") | not)'
	run cf apply --yes
	[ "$status" -eq 0 ]
	[ "$(writes)" -eq 0 ]
}

@test "cdnpro plan: a foreign ^~ prefix that takes paths from the YAML is named, with why" {
	fakecdn_start "$STATE"
	seed "$(printf 'location ^~ /img/old/ {\n  proxy_cache_valid 5m;\n  origin_pass origin1;\n}\n%b' "$EL_ROOT")"
	repo_ttl 1d
	cd "$R"
	run cf plan --detailed-exitcode
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"! foreign location '^~ /img/old/' (Edge Logic line 1) takes /img/old/"*"(^~ prefix): not cached as the YAML says"* ]]
	# the region is not in place yet: the behaviour line says what the write changes
	[[ "$output" == *"behaviour: e.g. /img/"*"origin decides -> cached 1d if origin sends none"* ]]
	run cf plan --format json
	echo "$output" | jq -e '.endpoints[0].notes
		| any(contains("\u0027^~ /img/old/\u0027") and contains("(^~ prefix)"))'
	# applied, the note stays (the foreign location is kept) and nothing else is to do
	run cf apply --yes
	[ "$status" -eq 0 ]
	: >"$FAKECDN_JOURNAL"
	run cf plan --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"foreign location '^~ /img/old/'"* ]]
	[ "$(writes)" -eq 0 ]
	# explain --live names the location that decides, foreign or cacheform's
	run cf explain --live -e p1 /img/old/a.png /img/a.png
	echo "$output"
	[[ "$output" == *"live: Edge Logic location '^~ /img/old/' (line "*", foreign), cached 5m when the origin sends no Cache-Control: DIFFERS"* ]]
	[[ "$output" == *"live: Edge Logic location '~ ^/img/' ("*"cacheform's region), cached 1d when the origin sends no Cache-Control: agrees"* ]]
}

@test "cdnpro plan: a foreign regex above the region takes what it matches (earlier regex)" {
	fakecdn_start "$STATE"
	# the region (empty, hash of nothing) below a foreign case-insensitive regex
	seed "$(printf 'location ~* "\\.png$" {\n  proxy_no_cache 1;\n  proxy_cache_bypass 1;\n  origin_pass origin1;\n}\n# cacheform:begin v1 sha256=%s\n# cacheform:end\n%b' "$EMPTY_SHA" "$EL_ROOT")"
	repo_ttl 1d
	cd "$R"
	run cf plan --detailed-exitcode
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"! foreign location '~* \\.png\$' (Edge Logic line 1) takes /img/"*".png"*"(earlier regex): not cached as the YAML says"* ]]
	# /img/x.png is not cached either way: the behaviour line names a path the region decides
	[[ "$output" == *"behaviour: e.g. /img/"* ]]
	[[ "$output" != *"behaviour: e.g. /img/"*".png:"* ]]
}

@test "cdnpro plan: a region spelled differently that caches every path alike is no change and no write" {
	fakecdn_start "$STATE"
	local body sha
	body=$(printf 'location ~ "^/img/" {\n  proxy_cache_valid 24h;\n  set $cache_misc "?$sorted_querystring_args";\n  origin_pass "origin1";\n}\nlocation / {\n  set $cache_misc "?$sorted_querystring_args";\n  origin_pass "origin1";\n}\nx')
	body=${body%x}
	sha=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
	seed "$(printf '# cacheform:begin v1 sha256=%s\n%s# cacheform:end\n' "$sha" "$body")"
	repo_ttl 1d
	cd "$R"
	: >"$FAKECDN_JOURNAL"
	run cf plan --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
	# listed, not summarised: an endpoint equivalent by behaviour (the region's text differs)
	[[ "$output" == *"p1 (cdnpro, account pro): no changes"* ]]
	[[ "$output" != *"behaviour:"* ]]
	run cf apply --yes
	[ "$status" -eq 0 ]
	[ "$(writes)" -eq 0 ]
	# drift compares the same way: the region's other spelling is no drift
	run cf drift
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 in sync"* ]]
	# one TTL really changed: the behaviour line names it
	ep_yaml 2d
	repo_commit "$R" "ttl 2d"
	run cf plan --detailed-exitcode
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"behaviour: e.g. /img/"*": cached 1d if origin sends none -> cached 2d if origin sends none"* ]]
}

# ep_rules TTL1 TTL2: endpoint p1 with six dir rules, /r1/ and /r2/ for TTL1, the rest 1h.
ep_rules() {
	{
		printf 'endpoint: p1\naccount: pro\nmode: manage\nhosts: [p1.example.com]\n'
		printf 'remote: {property_id: %s, target: production}\ncache:\n  rules:\n' "$PROP"
		for i in 1 2 3 4 5 6; do
			printf '    - dir: [/r%d/]\n      ttl: %s\n' "$i" "$([ "$i" -le 2 ] && echo "$1" || echo 1h)"
		done
	} >"$R/endpoints/p1.yaml"
}

@test "cdnpro plan: the safety threshold counts the live rules read back from the region" {
	fakecdn_start "$STATE"
	seed "$(printf "$EL_ROOT")"
	repo_ttl 1d
	ep_rules 1h
	repo_commit "$R" "six rules"
	cd "$R"
	run cf apply --yes
	[ "$status" -eq 0 ]
	# 2 of 6 existing rules change (33%, over the default 30%): refused, nothing written
	ep_rules 2h
	repo_commit "$R" "two TTLs"
	: >"$FAKECDN_JOURNAL"
	run cf apply --yes
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"refusing: endpoint 'p1' would remove, change or move 2 of its 6 rules (33%"*"--force"* ]]
	[ "$(writes)" -eq 0 ]
	run cf plan --format json
	echo "$output" | jq -e '.endpoints[0].safety.exceeded and .endpoints[0].safety.percent == 33'
	run cf apply --yes --force
	[ "$status" -eq 0 ]
	[ "$(journal_count version_patch)" -eq 1 ] || [ "$(journal_count version_create)" -eq 1 ]
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
}
