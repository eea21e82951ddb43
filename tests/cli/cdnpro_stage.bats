#!/usr/bin/env bats
# Rollback, staging and promotion (issue 13, client side): `rollback --to REV` applies the
# cache rules of an earlier commit through fakecdn and its edge, recorded in the ledger, with
# no purge of that commit run again; assertions on fakecdn's journal and the edge's TTLs.
load helpers
load reconcile_helpers

setup() {
	R=$BATS_TEST_TMPDIR/repo
}

teardown() {
	fakecdn_stop
}

# edge HOST PATH: "X-CACHE AGE" of a GET through fakecdn's edge (AGE "-" when absent).
edge() {
	local h=$BATS_TEST_TMPDIR/edge_headers xc age
	curl -sS -o /dev/null -D "$h" --connect-to "$1:80:127.0.0.1:$FAKECDN_PORT" "http://$1$2"
	xc=$(tr -d '\r' <"$h" | awk -F': ' 'tolower($1) == "x-cache" { print $2 }')
	age=$(tr -d '\r' <"$h" | awk -F': ' 'tolower($1) == "age" { print $2 }')
	echo "$xc ${age:--}"
}

clock() {
	run admin_curl POST clock "$1"
	[ "$(http_status)" = 200 ]
}

# expect_ttl HOST PATH TTL: a miss, a hit, a hit at TTL-1 seconds, a miss at TTL (edge clock).
expect_ttl() {
	local host=$1 path=$2 ttl=$3 got
	got=$(edge "$host" "$path")
	[ "$got" = "TCP_MISS 0" ] || { echo "$host$path first: $got" >&2; return 1; }
	got=$(edge "$host" "$path")
	[ "$got" = "TCP_HIT 0" ] || { echo "$host$path second: $got" >&2; return 1; }
	clock "{\"advance_s\": $((ttl - 1))}"
	got=$(edge "$host" "$path")
	[ "$got" = "TCP_HIT $((ttl - 1))" ] || { echo "$host$path at ttl-1: $got" >&2; return 1; }
	clock '{"advance_s": 1}'
	got=$(edge "$host" "$path")
	[ "$got" = "TCP_MISS 0" ] || { echo "$host$path at ttl ($ttl): $got" >&2; return 1; }
}

# set_assets_ttl DIR TTL: the assets rule of shop gets TTL (the YAML's text).
set_assets_ttl() {
	awk -v ttl="$2" '
		/^    - dir: \[\/assets\/\]/ { print; getline; print "      ttl: " ttl; next }
		{ print }
	' "$1/endpoints/shop.yaml" >"$1/endpoints/shop.yaml.new"
	mv "$1/endpoints/shop.yaml.new" "$1/endpoints/shop.yaml"
}

# writes: journal lines of shop's rule writes (PUT or PATCH of the endpoint) so far.
writes() {
	jq -c 'select(.method == "PATCH" or .method == "PUT") | select(.path | test("/endpoints/shop"))' \
		"$FAKECDN_JOURNAL" | wc -l
}

purges() {
	jq -c 'select(.method == "POST") | select(.path | test("/endpoints/shop/purge"))' \
		"$FAKECDN_JOURNAL" | wc -l
}

@test "rollback --to HEAD~1 restores shop's old TTLs at the edge (azure), recorded in the ledger, no purge re-run" {
	fakecdn_start "" --task-delay 0
	clock '{"freeze": true}'
	repo_init "$R" shop
	cd "$R"
	# a purge manifest that exists at HEAD~1 and has never run: rollback must not run it
	cat >purges/rb-never.yaml <<'Y'
purge: rb-never
endpoints: [shop]
files: [/rb-never.png]
Y
	repo_commit "$R" "assets 30d, a manifest never applied"
	run cf plan --no-purges --out "$BATS_TEST_TMPDIR/p1.json"
	[ "$status" -eq 0 ]
	run cf apply --yes "$BATS_TEST_TMPDIR/p1.json"
	[ "$status" -eq 0 ]
	expect_ttl shop.example.com /assets/one.js 2592000
	local old
	old=$(git rev-parse HEAD)

	set_assets_ttl "$R" 2d
	repo_commit "$R" "assets 2d"
	run cf plan --no-purges --out "$BATS_TEST_TMPDIR/p2.json"
	[ "$status" -eq 0 ]
	run cf apply --yes "$BATS_TEST_TMPDIR/p2.json"
	[ "$status" -eq 0 ]
	expect_ttl shop.example.com /assets/two.js 172800
	local w0 p0
	w0=$(writes)
	p0=$(purges)
	[ "$p0" -eq 0 ]

	run cf rollback --to HEAD~1 --yes
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Rollback to HEAD~1 (commit ${old:0:12})"* ]]
	[[ "$output" == *"purge manifests do not run"* ]]
	# exactly one rule write, and not one purge (rb-never exists at HEAD~1, never applied)
	[ "$(writes)" -eq $((w0 + 1)) ]
	[ "$(purges)" -eq 0 ]
	expect_ttl shop.example.com /assets/three.js 2592000
	# recorded like an apply: the endpoint's record names HEAD~1's commit, the message says rollback
	git log -1 --format=%s refs/cacheform/ledger | grep -q '^cacheform rollback: finished'
	run cf ledger show shop
	[[ "$output" == *"$old"* ]]
	# a second rollback to the same commit writes nothing
	run cf rollback --to HEAD~1 --yes
	[ "$status" -eq 0 ]
	[ "$(writes)" -eq $((w0 + 1)) ]
	# and HEAD is pending again: the next apply restores 2d and runs rb-never (the counter works)
	run cf plan --no-purges --detailed-exitcode
	[ "$status" -eq 2 ]
	run cf apply --yes
	[ "$status" -eq 0 ]
	[ "$(purges)" -ge 1 ]
	expect_ttl shop.example.com /assets/four.js 172800
}

@test "rollback: --to is required, a bad revision is an error before any request" {
	fakecdn_start "" --task-delay 0
	repo_init "$R" shop
	cd "$R"
	run cf rollback --yes
	[ "$status" -eq 129 ]
	[[ "$output" == *"--to REV is required"* ]]
	run cf rollback HEAD~1
	[ "$status" -eq 129 ]
	run cf rollback --to no-such-rev --yes
	[ "$status" -eq 1 ]
	[ "$(jq -c . "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
}

# ---- CDN Pro properties on fakecdn (mode: manage) ----

# pro_repo DIR N TTL [I]: a repository of N cdnpro endpoints p00.. on N seeded properties,
# each deployed to production with a foreign `location /`; the rule list is dir /img/ TTL.
# Property I (if given) does not allow production (fakecdn's per-property allowProduction).
pro_repo() {
	local dir=$1 n=$2 ttl=$3 deny=${4:--1} i id name allow
	mkdir -p "$dir/endpoints"
	git init -q "$dir"
	repo_settings | sed 's/^    base_url: \(.*\)$/    base_url: \1/' >"$dir/cacheform.yaml"
	# the test's own bucket: the run is about request counts, not the default 30/min
	awk '{ print } /^    provider: cdnpro/ { print "    rate_limit: {per_minute: 60000, burst: 6000}" }' \
		"$dir/cacheform.yaml" >"$dir/c.new" && mv "$dir/c.new" "$dir/cacheform.yaml"
	for ((i = 0; i < n; i++)); do
		name=$(printf 'p%02d' "$i")
		id=$(printf '5dca2205f9e9cc0001df%04x' "$i")
		allow=true
		[ "$i" -ne "$deny" ] || allow=false
		run admin_curl POST cdnpro/properties "{\"id\":\"$id\",\"name\":\"$name\",\"version\":{\"hostnames\":[\"$name.example.com\"],\"origins\":[{\"name\":\"o1\",\"servers\":[\"127.0.0.1\"]}],\"edgeLogic\":\"location / { origin_pass o1; }\\n\",\"syntaxVersion\":1},\"allowProduction\":$allow,\"deploy\":[\"production\"]}"
		[ "$(http_status)" = 201 ] || { echo "$output" >&2; return 1; }
		cat >"$dir/endpoints/$name.yaml" <<Y
endpoint: $name
account: pro
remote: {property_id: $id, target: production}
hosts: [$name.example.com]
cache:
  ignore_cache_control: true
  rules:
    - dir: [/img/]
      ttl: $ttl
Y
	done
	repo_commit "$dir" init
}

pro_knobs() {
	run admin_curl POST faults '{"cdnpro_validation_ms": 0, "cdnpro_deploy_ms": 0, "cdnpro_rate_per_minute": 600000, "cdnpro_burst": 60000}'
	[ "$(http_status)" = 200 ] || { echo "$output" >&2; return 1; }
}

@test "cdnpro: one changed rule on 20 properties: 20 version writes, 20 validations, 1 deployment task; a second apply writes nothing" {
	fakecdn_start "" --task-delay 0
	pro_knobs
	pro_repo "$R" 20 1d
	cd "$R"
	run cf apply --yes
	echo "$output"
	[ "$status" -eq 0 ]
	# the first apply writes the region into 20 properties: one task for all of them
	[ "$(journal_count deployment_create)" -eq 1 ]
	[ "$(($(journal_count version_create) + $(journal_count version_patch)))" -eq 20 ]
	[ "$(journal_count validation_create)" -eq 20 ]
	local before
	before=$(wc -l <"$FAKECDN_JOURNAL")
	# one rule changes everywhere (one line of the one YAML rule, in every file)
	sed -i 's/ttl: 1d/ttl: 2d/' endpoints/*.yaml
	repo_commit "$R" "2d"
	run cf apply --yes
	echo "$output"
	[ "$status" -eq 0 ]
	tail -n +"$((before + 1))" "$FAKECDN_JOURNAL" >"$BATS_TEST_TMPDIR/j2"
	FAKECDN_JOURNAL=$BATS_TEST_TMPDIR/j2
	[ "$(($(journal_count version_create) + $(journal_count version_patch)))" -eq 20 ]
	[ "$(journal_count validation_create)" -eq 20 ]
	[ "$(journal_count deployment_create)" -eq 1 ]
	# one task, twenty actions
	[ "$(jq -s '[.[] | select(.op == "deployment_create")][0].status' "$FAKECDN_JOURNAL")" = 201 ]
	FAKECDN_JOURNAL=$FAKECDN_DIR/journal.jsonl
	before=$(wc -l <"$FAKECDN_JOURNAL")
	run cf apply --yes
	[ "$status" -eq 0 ]
	tail -n +"$((before + 1))" "$FAKECDN_JOURNAL" >"$BATS_TEST_TMPDIR/j3"
	FAKECDN_JOURNAL=$BATS_TEST_TMPDIR/j3
	[ "$(($(journal_count version_create) + $(journal_count version_patch) + $(journal_count validation_create) + $(journal_count deployment_create)))" -eq 0 ]
	# the deployment carried every property: the state has each property's production version
	local n
	n=$(curl -sS "$FAKECDN_URL/_fakecdn/state" | jq '[.cdnpro.properties[] | select(.production.version >= 2)] | length')
	[ "$n" -eq 20 ]
}

# pro_edge HOST PATH [IP]: "X-CACHE AGE" through fakecdn's production edge (127.0.0.1) or
# its staging listener (IP 127.0.0.2, the address GET /cdn/stagingServers names).
pro_edge() {
	local h=$BATS_TEST_TMPDIR/edge_headers xc age
	curl -sS -o /dev/null -D "$h" --connect-to "$1:80:${3:-127.0.0.1}:$FAKECDN_PORT" "http://$1$2"
	xc=$(tr -d '\r' <"$h" | awk -F': ' 'tolower($1) == "x-cache" { print $2 }')
	age=$(tr -d '\r' <"$h" | awk -F': ' 'tolower($1) == "age" { print $2 }')
	echo "$xc ${age:--}"
}

# pro_ttl HOST PATH TTL [IP]: a miss, a hit, a hit at TTL-1, a miss at TTL (edge clock).
pro_ttl() {
	local got
	got=$(pro_edge "$1" "$2" "${4:-}")
	[ "${got%% *}" = TCP_MISS ] || { echo "$1$2 first: $got" >&2; return 1; }
	got=$(pro_edge "$1" "$2" "${4:-}")
	[ "$got" = "TCP_HIT 0" ] || { echo "$1$2 second: $got" >&2; return 1; }
	clock "{\"advance_s\": $(($3 - 1))}"
	got=$(pro_edge "$1" "$2" "${4:-}")
	[ "$got" = "TCP_HIT $(($3 - 1))" ] || { echo "$1$2 at ttl-1: $got" >&2; return 1; }
	clock '{"advance_s": 1}'
	got=$(pro_edge "$1" "$2" "${4:-}")
	[ "${got%% *}" = TCP_MISS ] || { echo "$1$2 at ttl ($3): $got" >&2; return 1; }
}

# pro_with_edge DIR: the accounts' probes go to fakecdn over http.
pro_with_edge() {
	awk -v port="$FAKECDN_PORT" '
		{ print }
		/^    base_url:/ { print "    edge: {connect_to: \"127.0.0.1:" port "\", scheme: http}" }
	' "$1/cacheform.yaml" >"$1/c.new" && mv "$1/c.new" "$1/cacheform.yaml"
	repo_commit "$1" edge
}

pro_state() {
	curl -sS "$FAKECDN_URL/_fakecdn/state" | jq -c "$1"
}

# ledger_ep DIR NAME: endpoint NAME's record in v2/DIR (endpoints, or staging) of the ledger.
ledger_ep() {
	local p
	p=$(git ls-tree -r --name-only refs/cacheform/ledger | grep -m1 -x "v2/$1/../../$2[.]json") || return 1
	git cat-file -p "refs/cacheform/ledger:$p"
}

@test "cdnpro: --stage staging serves the new TTL on staging only; --promote moves it to production; rollback --to HEAD~1 restores the old TTL" {
	fakecdn_start "" --task-delay 0
	pro_knobs
	clock '{"freeze": true}'
	pro_repo "$R" 1 1d
	pro_with_edge "$R"
	cd "$R"
	run cf apply --yes
	[ "$status" -eq 0 ]
	pro_ttl p00.example.com /img/a.png 86400
	local c1 c2
	c1=$(git rev-parse HEAD)
	[ "$(ledger_ep endpoints p00 | jq -r .desired_commit)" = "$c1" ]

	sed -i 's/ttl: 1d/ttl: 2d/' endpoints/p00.yaml
	repo_commit "$R" "2d"
	c2=$(git rev-parse HEAD)
	printf '/img/probe.png\n/other.html\nhttp://p00.example.com/img/x.png\n' >"$BATS_TEST_TMPDIR/urls"
	local deploys
	deploys=$(journal_count deployment_create)
	run cf apply --stage staging --urls "$BATS_TEST_TMPDIR/urls" --yes
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Staging probes: 3, 0 failed."* ]]
	[[ "$output" == *"http://p00.example.com/img/probe.png via 127.0.0.2:$FAKECDN_PORT: HTTP 200, X-Cache TCP_HIT"* ]]
	[ "$(journal_count deployment_create)" -eq $((deploys + 1)) ]
	[ "$(journal_count staging_servers)" -eq 1 ]
	# staging runs the new version, production still the old one
	local st pr
	st=$(pro_state '.cdnpro.properties[0].staging.version')
	pr=$(pro_state '.cdnpro.properties[0].production.version')
	[ "$st" -gt "$pr" ]
	pro_ttl p00.example.com /img/s.png 172800 127.0.0.2
	pro_ttl p00.example.com /img/p.png 86400
	# a staging apply is not what production runs: the plan still shows the change
	run cf plan --detailed-exitcode
	[ "$status" -eq 2 ]
	# the ledger: a staging record (commit, version, deployment task); the endpoint record
	# (what production runs) still names the first apply's commit
	git log -1 --format=%s refs/cacheform/ledger | grep -qx 'cacheform apply --stage staging: finished'
	local srec stask
	srec=$(ledger_ep staging p00)
	echo "$srec"
	[ "$(jq -r .target <<<"$srec")" = staging ]
	[ "$(jq -r .desired_commit <<<"$srec")" = "$c2" ]
	[ "$(jq -r .property_version <<<"$srec")" -eq "$st" ]
	stask=$(jq -r .deployment_task <<<"$srec")
	[ -n "$stask" ] && [ "$stask" != null ]
	[ "$(ledger_ep endpoints p00 | jq -r .desired_commit)" = "$c1" ]
	# a staging apply with nothing to change writes no ledger commit
	local tip
	tip=$(git rev-parse refs/cacheform/ledger)
	run cf apply --stage staging --yes
	[ "$status" -eq 0 ]
	[ "$(git rev-parse refs/cacheform/ledger)" = "$tip" ]

	run cf apply --promote --yes
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"p00: version $st: staging -> production (was $pr)"* ]]
	[ "$(pro_state '.cdnpro.properties[0].production.version')" -eq "$st" ]
	[ "$(journal_count deployment_create)" -eq $((deploys + 2)) ]
	pro_ttl p00.example.com /img/q.png 172800
	# production now runs the YAML: nothing to write
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
	# recorded like an apply: the staged commit, the version, the promotion's task and the
	# staging deployment it promoted
	git log -1 --format=%s refs/cacheform/ledger | grep -qx 'cacheform apply --promote: finished'
	local prec
	prec=$(ledger_ep endpoints p00)
	echo "$prec"
	[ "$(jq -r .desired_commit <<<"$prec")" = "$c2" ]
	[ "$(jq -r .property_version <<<"$prec")" -eq "$st" ]
	[ "$(jq -r .promoted_from_task <<<"$prec")" = "$stask" ]
	[ "$(jq -r .deployment_task <<<"$prec")" != "$stask" ]
	[ "$(jq -r '.target // "production"' <<<"$prec")" = production ]
	run cf drift
	echo "$output"
	[ "$status" -eq 0 ]

	# rollback to the 1d commit: production serves 1d again
	run cf rollback --to HEAD~1 --yes
	echo "$output"
	[ "$status" -eq 0 ]
	pro_ttl p00.example.com /img/r.png 86400
	[ "$(journal_count deployment_create)" -eq $((deploys + 3)) ]
	# recorded in the ledger like any apply, naming HEAD~1's commit
	git log -1 --format=%s refs/cacheform/ledger | grep -qx 'cacheform rollback: finished'
	[ "$(ledger_ep endpoints p00 | jq -r .desired_commit)" = "$c1" ]
}

@test "cdnpro: --promote refuses (exit 7) when production was deployed after staging; a staging probe that disagrees exits 6" {
	fakecdn_start "" --task-delay 0
	pro_knobs
	pro_repo "$R" 1 1d
	pro_with_edge "$R"
	cd "$R"
	run cf apply --yes
	[ "$status" -eq 0 ]
	sed -i 's/ttl: 1d/ttl: 2d/' endpoints/p00.yaml
	repo_commit "$R" "2d"
	run cf apply --stage staging --yes
	[ "$status" -eq 0 ]
	# someone else deploys production afterwards (deployment times have whole seconds)
	sleep 1.1
	sed -i 's/ttl: 2d/ttl: 3d/' endpoints/p00.yaml
	repo_commit "$R" "3d"
	run cf apply --yes
	[ "$status" -eq 0 ]
	local deploys
	deploys=$(journal_count deployment_create)
	run cf apply --promote --yes
	echo "$output"
	[ "$status" -eq 7 ]
	[[ "$output" == *"REFUSED: production"* ]]
	[ "$(journal_count deployment_create)" -eq "$deploys" ]

	# a foreign exact location keeps /img/keep.png out of the cache: the probe disagrees
	local id
	id=$(pro_state '.cdnpro.properties[0].id' | tr -d '"')
	sed -i 's/ttl: 3d/ttl: 4d/' endpoints/p00.yaml
	repo_commit "$R" "4d"
	printf '/img/keep.png\n/img/fine.png\n' >"$BATS_TEST_TMPDIR/urls"
	# the foreign location arrives through a version someone else deployed to staging
	run pro_curl POST "/cdn/properties/$id/versions" "{\"hostnames\":[\"p00.example.com\"],\"origins\":[{\"name\":\"o1\",\"servers\":[\"127.0.0.1\"]}],\"edgeLogic\":\"location = /img/keep.png { proxy_no_cache 1; proxy_cache_bypass 1; origin_pass o1; }\\nlocation / { origin_pass o1; }\\n\",\"syntaxVersion\":1,\"description\":\"by hand\"}"
	echo "$output"
	[ "$(http_status)" = 201 ]
	local v
	v=$(tr -d '\r' <"$CURL_HEADERS" | awk -F'/versions/' 'tolower($1) ~ /^location/ { print $2 }')
	run pro_curl POST /cdn/validations "{\"propertyId\":\"$id\",\"version\":$v}"
	[ "$(http_status)" = 201 ]
	run pro_curl POST /cdn/deploymentTasks "{\"name\":\"by hand\",\"target\":\"staging\",\"actions\":[{\"action\":\"deploy_property\",\"propertyId\":\"$id\",\"version\":$v}]}"
	[ "$(http_status)" = 201 ]
	sleep 0.2
	run cf apply --stage staging --urls "$BATS_TEST_TMPDIR/urls" --yes
	echo "$output"
	[ "$status" -eq 6 ]
	[[ "$output" == *"FAIL http://p00.example.com/img/keep.png via "*"expected TTL 345600 s, observed TTL 0 s (not cached)"* ]]
	[[ "$output" == *"ok   http://p00.example.com/img/fine.png"*"expected TTL 345600 s, cached"* ]]
	[[ "$output" == *"foreign location '= /img/keep.png'"* ]]
}

@test "cdnpro: a staging probe whose hit agrees but whose TTL does not (a hit older than the YAML's TTL) exits 6, naming both TTLs" {
	fakecdn_start "" --task-delay 0
	pro_knobs
	clock '{"freeze": true}'
	pro_repo "$R" 1 1d
	pro_with_edge "$R"
	cd "$R"
	run cf apply --yes
	[ "$status" -eq 0 ]
	sed -i 's/ttl: 1d/ttl: 2d/' endpoints/p00.yaml
	repo_commit "$R" "2d"
	run cf apply --stage staging --yes
	[ "$status" -eq 0 ]
	# staging caches /img/old.png under the 2d rule; two hours pass
	[ "$(pro_edge p00.example.com /img/old.png 127.0.0.2)" = "TCP_MISS 0" ]
	clock '{"advance_s": 7200}'
	[ "$(pro_edge p00.example.com /img/old.png 127.0.0.2)" = "TCP_HIT 7200" ]
	# the rule becomes 1h: the edge keeps serving the object cached for 2d, a hit as the YAML
	# says, but older than 1h
	sed -i 's/ttl: 2d/ttl: 1h/' endpoints/p00.yaml
	repo_commit "$R" "1h"
	printf '/img/old.png\n/img/new.png\n' >"$BATS_TEST_TMPDIR/urls"
	run cf apply --stage staging --urls "$BATS_TEST_TMPDIR/urls" --yes
	echo "$output"
	[ "$status" -eq 6 ]
	[[ "$output" == *"FAIL http://p00.example.com/img/old.png via 127.0.0.2:$FAKECDN_PORT: HTTP 200, X-Cache TCP_HIT, Age 7200; expected TTL 3600 s, observed TTL > 7200 s"* ]]
	[[ "$output" == *"ok   http://p00.example.com/img/new.png via 127.0.0.2:$FAKECDN_PORT: HTTP 200, X-Cache TCP_HIT, Age 0; expected TTL 3600 s, cached"* ]]
	[[ "$output" == *"Staging probes: 2, 1 failed."* ]]
	# the staging deployment itself is recorded (the probe judged the edge, not the deploy)
	git log -1 --format=%s refs/cacheform/ledger | grep -qx 'cacheform apply --stage staging: finished'
	[ "$(ledger_ep staging p00 | jq -r .desired_commit)" = "$(git rev-parse HEAD)" ]
}

@test "cdnpro: --stage staging on an endpoint whose own target is staging records its endpoint record too; drift is in sync" {
	fakecdn_start "" --task-delay 0
	pro_knobs
	pro_repo "$R" 1 1d
	cd "$R"
	sed -i 's/target: production/target: staging/' endpoints/p00.yaml
	repo_commit "$R" "p00 on staging"
	run cf apply --stage staging --yes
	echo "$output"
	[ "$status" -eq 0 ]
	local st rec
	st=$(pro_state '.cdnpro.properties[0].staging.version')
	[ "$(ledger_ep staging p00 | jq -r .property_version)" -eq "$st" ]
	rec=$(ledger_ep endpoints p00)
	echo "$rec"
	[ "$(jq -r .desired_commit <<<"$rec")" = "$(git rev-parse HEAD)" ]
	[ "$(jq -r .property_version <<<"$rec")" -eq "$st" ]
	[ "$(jq -r '.target // "own"' <<<"$rec")" = own ]
	run cf drift
	echo "$output"
	[ "$status" -eq 0 ]
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
	# nothing to change: no ledger commit
	local tip
	tip=$(git rev-parse refs/cacheform/ledger)
	run cf apply --stage staging --yes
	[ "$status" -eq 0 ]
	[ "$(git rev-parse refs/cacheform/ledger)" = "$tip" ]
}

@test "cdnpro: --promote records what it promoted when another account's task fails" {
	fakecdn_start "" --task-delay 0
	pro_knobs
	# p01 does not allow production, and belongs to a second account: two promotion tasks
	pro_repo "$R" 2 1d 1
	cd "$R"
	# the second account: the same customer and credentials under another name
	local block
	block=$(awk '/^  pro:$/ { p = 1 } p && /^(safety|[a-z])/ && !/^  / { p = 0 } p' cacheform.yaml | sed 's/^  pro:$/  pro2:/')
	awk -v blk="$block" '/^safety:/ { print blk } { print }' cacheform.yaml >c.new && mv c.new cacheform.yaml
	sed -i 's/^account: pro$/account: pro2/' endpoints/p01.yaml
	repo_commit "$R" "p01 on pro2"
	run cf apply --stage staging --yes
	echo "$output"
	[ "$status" -eq 0 ]
	local st0
	st0=$(pro_state '.cdnpro.properties[0].staging.version')
	run cf apply --promote --yes
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Promoted 1 property to production"* ]]
	[[ "$output" == *"allowProduction"* ]]
	# p00 went to production and is recorded; p01 did not and is not
	[ "$(pro_state '.cdnpro.properties[0].production.version')" -eq "$st0" ]
	git log -1 --format=%s refs/cacheform/ledger | grep -qx 'cacheform apply --promote: finished'
	[ "$(ledger_ep endpoints p00 | jq -r .property_version)" -eq "$st0" ]
	[ "$(ledger_ep endpoints p00 | jq -r .promoted_from_task)" = "$(ledger_ep staging p00 | jq -r .deployment_task)" ]
	! ledger_ep endpoints p01 || false
}

@test "cdnpro: 50 consecutive applies with changes leave at most one undeployed version per property" {
	fakecdn_start "" --task-delay 0
	pro_knobs
	pro_repo "$R" 2 1d
	cd "$R"
	local i drafts
	for ((i = 1; i <= 50; i++)); do
		sed -i "s/ttl: .*/ttl: ${i}h/" endpoints/*.yaml
		repo_commit "$R" "ttl ${i}h"
		run cf apply --yes --quiet
		[ "$status" -eq 0 ] || { echo "apply $i: $output" >&2; return 1; }
		drafts=$(pro_state '[.cdnpro.properties[] | [.versions[] | select(.frozen != true)] | length] | max')
		[ "$drafts" -le 1 ] || { echo "apply $i: $drafts drafts" >&2; return 1; }
	done
	# every apply deployed its version: 50 deployment tasks, one per run for both properties
	[ "$(journal_count deployment_create)" -eq 50 ]
}

@test "cdnpro: a service quota with allowProduction: false is refused in plan, before any write; staging still goes" {
	jq '.cdnpro.service_quota = {"allowProduction": false}' "$FAKECDN_EXAMPLE_STATE" >"$BATS_TEST_TMPDIR/state.json"
	fakecdn_start "$BATS_TEST_TMPDIR/state.json" --task-delay 0
	pro_knobs
	pro_repo "$R" 3 1d
	cd "$R"
	run cf plan
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"endpoint 'p00' (cdnpro): the customer's service quota says allowProduction: false"* ]]
	# read once for the account, whatever the number of properties
	[ "$(journal_count service_quota)" -eq 1 ]
	run cf apply --yes
	[ "$status" -eq 1 ]
	[ "$(($(journal_count version_create) + $(journal_count version_patch) + $(journal_count deployment_create)))" -eq 0 ]
	# staging is always permitted
	run cf apply --stage staging --yes
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(journal_count deployment_create)" -eq 1 ]
}

@test "cdnpro: a refused shared deployment task fails each of its endpoints, each named; nothing is deployed" {
	fakecdn_start "" --task-delay 0
	pro_knobs
	pro_repo "$R" 3 1d 1
	cd "$R"
	run cf apply --yes --keep-going
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$(journal_count deployment_create)" -eq 1 ]
	[ "$(journal_count validation_create)" -eq 3 ]
	[[ "$output" == *"Apply: 0 done, 3 failed, 0 not attempted."* ]]
	local ep
	for ep in p00 p01 p02; do
		grep -q "FAILED .*endpoint '$ep'" <<<"$output"
	done
	[[ "$output" == *"endpoint 'p01': its step shared with 'p00' failed: "*"allowProduction"* ]]
	# production still runs version 1 everywhere
	[ "$(pro_state '[.cdnpro.properties[].production.version] | max')" -eq 1 ]
	# the drafts stay (validated, undeployed) and are reused: no new version on the next run
	run cf apply --yes --keep-going
	[ "$(journal_count version_create)" -eq 3 ]
}

@test "apply --stage / --promote refuse a selection with endpoints that have no staging; bad combinations are usage errors" {
	fakecdn_start "" --task-delay 0
	repo_init "$R" shop
	cd "$R"
	run cf apply --stage staging --yes
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--stage: endpoint 'shop' is not a CDN Pro endpoint with mode: manage"* ]]
	run cf apply --promote --yes
	[ "$status" -eq 1 ]
	[ "$(jq -c 'select(.method == "PATCH" or .method == "PUT" or .method == "POST")' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
	run cf apply --stage production --yes
	[ "$status" -eq 129 ]
	run cf apply --urls /dev/null --yes
	[ "$status" -eq 129 ]
	run cf apply --stage staging --promote --yes
	[ "$status" -eq 129 ]
	run cf apply --promote --ref HEAD --yes
	[ "$status" -eq 129 ]
}
