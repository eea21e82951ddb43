#!/usr/bin/env bats
# cacheform drift against fakecdn: desired (repository) vs live (emulator) vs last applied
# (ledger), classified pending / external / both; sharding; exit codes.
load gitops_helpers
load fakecdn_helpers

# A console user's edit of www's rules, through the emulator's admin surface.
CONSOLE_RULES='{"Rules":[{"Type":"FullUri","Items":["/index.html"],"TTL":0},{"Type":"Dir","Items":["/pic/","/doc/"],"TTL":60},{"Type":"Suffix","Items":["jpg","png"],"TTL":2592000}],"IgnoreCacheControl":false,"IgnoreCookie":false,"IgnoreQueryString":true}'

setup() {
	fakecdn_start
	R="$BATS_TEST_TMPDIR/repo"
	gitops_repo "$R" "$FAKECDN_URL"
	git -C "$R" rm -q -r purges # drift is about rules; no purge to wait for
	# An endpoint whose rules cacheform does not manage: never read, never reported.
	sed 's/endpoint: www/endpoint: dl/; s/^cache:.*//; s/^  .*rules.*//; /^    /d; s/^  ignore.*//' \
		"$R/endpoints/www.yaml" >"$R/endpoints/dl.yaml"
	printf 'mode: purge-only\n' >>"$R/endpoints/dl.yaml"
	gitops_commit "$R" "fixture"
	export AZURECDN_KEY_ID=$CN_KEY_ID AZURECDN_KEY_VALUE=$CN_KEY_VALUE
}

teardown() {
	fakecdn_stop
}

applied() {
	run "$CACHEFORM" apply --repo "$R" --first-run --yes
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "drift: before any apply a managed difference is pending, an observed one external" {
	run "$CACHEFORM" drift --repo "$R" --format json
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 2 ]
	run jq -r '.endpoints[] | "\(.name) \(.status) \(.last_applied)"' <<<"$output"
	[ "$output" = $'img external null\nwww pending null' ]
}

@test "drift: right after apply the managed endpoint is in sync and drift exits 0" {
	applied
	run "$CACHEFORM" drift --repo "$R" -e www
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"www (azure-china, account cn, manage): in-sync"* ]]
	[[ "$output" == *"no drift: 0 external, 0 pending, 0 both, 1 in sync, 0 not checked"* ]]
}

@test "drift: a console edit after apply is external, naming the applied commit" {
	applied
	commit=$(git -C "$R" rev-parse HEAD)
	run admin_curl PUT "azure-china/$CN_EP/cacherules" "$CONSOLE_RULES"
	[ "$(http_status)" = 200 ]
	run "$CACHEFORM" drift --repo "$R" -e www
	assert_no_sanitizer
	[ "$status" -eq 2 ]
	[[ "$output" == *"www (azure-china, account cn, manage): external: live changed outside cacheform since the last apply (${commit:0:12})"* ]]
	[[ "$output" == *"~ rule 2: dir /pic/, /doc/  ttl 1d  (was dir /pic/, /doc/  ttl 1m)"* ]]
	run "$CACHEFORM" drift --repo "$R" -e www --format json
	[ "$(jq -r '.endpoints[0] | "\(.status) \(.last_applied.commit)"' <<<"$output")" = "external $commit" ]
	[ "$(jq -c '.endpoints[0].changes[0] | [.change, .before.ttl, .after.ttl]' <<<"$output")" = '["change",60,86400]' ]
	[ "$(jq -r '.format_version' <<<"$output")" = 2 ]
}

# Forgets every apply, as in a repository adopted with its endpoints already in sync.
forget_ledger() {
	git -C "$R" update-ref -d refs/cacheform/ledger
	run "$CACHEFORM" ledger list --repo "$R"
	[[ "$output" != *www* ]]
}

@test "drift: an apply with nothing to write records the in-sync endpoint; a console edit is then external" {
	applied
	forget_ledger
	: >"$FAKECDN_JOURNAL"
	applied
	[ "$(journal_count write_rules)" -eq 0 ]
	run "$CACHEFORM" ledger list --repo "$R"
	grep -Eq "^www +[0-9T:Z-]+ +$(git -C "$R" rev-parse --short=12 HEAD) " <<<"$output"
	[[ "$output" != *img* ]] # observe-mode endpoints are never recorded as applied
	# converged: a re-apply finds every record holding and makes no ledger commit
	tip=$(git -C "$R" rev-parse refs/cacheform/ledger)
	applied
	[ "$(git -C "$R" rev-parse refs/cacheform/ledger)" = "$tip" ]
	run admin_curl PUT "azure-china/$CN_EP/cacherules" "$CONSOLE_RULES"
	[ "$(http_status)" = 200 ]
	run "$CACHEFORM" drift --repo "$R" -e www --format json
	assert_no_sanitizer
	[ "$status" -eq 2 ]
	[ "$(jq -r '.endpoints[0].status' <<<"$output")" = external ]
}

@test "drift: an apply that only purges records the in-sync endpoint in the same ledger commits" {
	applied
	forget_ledger
	mkdir -p "$R/purges"
	printf 'purge: drift-p1\nendpoints: [www]\nfiles: [/x.png]\n' >"$R/purges/drift-p1.yaml"
	gitops_commit "$R" "a purge"
	applied
	# the claim before sending, one commit when the purge was accepted, one at the end (the
	# endpoint record rides along)
	[ "$(git -C "$R" rev-list --count refs/cacheform/ledger)" -eq 3 ]
	run "$CACHEFORM" ledger show www --repo "$R"
	[ "$(jq -r .desired_commit <<<"$output")" = "$(git -C "$R" rev-parse HEAD)" ]
	run admin_curl PUT "azure-china/$CN_EP/cacherules" "$CONSOLE_RULES"
	run "$CACHEFORM" drift --repo "$R" -e www --format json
	[ "$status" -eq 2 ]
	[ "$(jq -r '.endpoints[0].status' <<<"$output")" = external ]
}

@test "drift: a repository change after apply is pending; with a console edit too it is both" {
	applied
	sed -i 's/ttl: 30d/ttl: 7d/' "$R/endpoints/www.yaml"
	gitops_commit "$R" "shorter ttl"
	run "$CACHEFORM" drift --repo "$R" -e www --format json
	assert_no_sanitizer
	[ "$status" -eq 2 ]
	[ "$(jq -r '.endpoints[0].status' <<<"$output")" = pending ]
	run admin_curl PUT "azure-china/$CN_EP/cacherules" "$CONSOLE_RULES"
	run "$CACHEFORM" drift --repo "$R" -e www --format json
	[ "$status" -eq 2 ]
	[ "$(jq -r '.endpoints[0].status' <<<"$output")" = both ]
	[ "$(jq -r '.summary.both' <<<"$output")" = 1 ]
}

@test "drift: --ref reads the desired state of an older commit" {
	applied
	sed -i 's/ttl: 30d/ttl: 7d/' "$R/endpoints/www.yaml"
	gitops_commit "$R" "shorter ttl"
	run "$CACHEFORM" drift --repo "$R" -e www --ref HEAD~1
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"in-sync"* ]]
}

@test "drift: purge-only endpoints are not read or reported" {
	run "$CACHEFORM" drift --repo "$R" --format json
	[ "$(jq -r '[.endpoints[].name] | index("dl")' <<<"$output")" = null ]
	[ "$(journal_count read_rules)" -eq 2 ] # www and img; dl (same remote as www) is not read
}

@test "drift: markdown has the marker, a table row per endpoint and details for drift" {
	run "$CACHEFORM" drift --repo "$R" --format markdown
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "<!-- cacheform:drift:. -->" ]
	[[ "$output" == *"| www | azure-china | manage | pending |"* ]]
	[[ "$output" == *"| img | azure-china | observe | external |"* ]]
	[[ "$output" == *"<details><summary><b>www</b>: pending</summary>"* ]]
}

# Endpoints www1..www3 on account cn; www4..www6 on account cn2, another azure-china key of
# another subscription (another rate domain); both accounts reach the same emulator.
shard_fleet() {
	for i in 1 2 3; do
		sed "s/endpoint: www/endpoint: www$i/" "$R/endpoints/www.yaml" >"$R/endpoints/www$i.yaml"
	done
	for i in 4 5 6; do
		sed "s/endpoint: www/endpoint: www$i/; s/^account: cn$/account: cn2/" \
			"$R/endpoints/www.yaml" >"$R/endpoints/www$i.yaml"
	done
	python3 - "$R/cacheform.yaml" <<'PY'
import sys, re
p = sys.argv[1]; s = open(p).read()
m = re.search(r"^  cn:\n((?:    .*\n)+)", s, re.M)
block = m.group(1).replace("subscription: ", "subscription: ", 1)
block = re.sub(r"key_id: .*", "key_id: {env: AZURECDN_KEY_ID}\n    rate_domain: cn-second-key", block, 1)
s = s[:m.end()] + "  cn2:\n" + block + s[m.end():]
open(p, "w").write(s)
PY
	gitops_commit "$R" "fleet"
}

@test "drift: shards 1..N partition the endpoints, each read only by its shard" {
	shard_fleet
	reads=0
	for budget in whole split; do
		for n in 2 3; do
			seen=""
			for i in $(seq 1 "$n"); do
				run "$CACHEFORM" drift --repo "$R" --shard "$i/$n" --shard-budget "$budget" --format json
				assert_no_sanitizer
				[ "$status" -ne 1 ]
				[ "$(jq -c '.shard' <<<"$output")" = "{\"index\":$i,\"count\":$n,\"budget\":\"$budget\"}" ]
				seen="$seen $(jq -r '.endpoints[].name' <<<"$output" | tr '\n' ' ')"
			done
			sorted=$(tr ' ' '\n' <<<"$seen" | sed '/^$/d' | sort | tr '\n' ' ')
			[ "$sorted" = "img www www1 www2 www3 www4 www5 www6 " ]
			reads=$((reads + 8))
			[ "$(journal_count read_rules)" -eq "$reads" ] # no endpoint read twice
		done
	done
}

@test "drift: by default a shard takes whole rate domains; split spreads them by name" {
	shard_fleet
	for i in 1 2 3 4; do
		run "$CACHEFORM" drift --repo "$R" --shard "$i/4" --format json
		[ "$status" -ne 1 ]
		# every account's endpoints are all in this shard or none of them are
		cn=$(jq '[.endpoints[] | select(.account == "cn")] | length' <<<"$output")
		cn2=$(jq '[.endpoints[] | select(.account == "cn2")] | length' <<<"$output")
		[[ "$cn" == 0 || "$cn" == 5 ]]
		[[ "$cn2" == 0 || "$cn2" == 3 ]]
	done
	# Golden assignment by name (FNV-1a 64, tests/unit/test_shard.c): www is in 1/4.
	run "$CACHEFORM" drift --repo "$R" --shard 1/4 --shard-budget split --format json
	[[ "$(jq -r '.endpoints[].name' <<<"$output")" == *www* ]]
}

@test "drift-merge: the shards' reports make one fleet report; a missing or repeated shard is an error" {
	shard_fleet
	for i in 1 2 3; do
		run "$CACHEFORM" drift --repo "$R" --shard "$i/3" --format json
		[ "$status" -ne 1 ]
		printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/s$i.json"
	done
	run "$CACHEFORM" drift --repo "$R" --format json
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/all.json"
	run "$CACHEFORM" drift-merge "$BATS_TEST_TMPDIR"/s3.json "$BATS_TEST_TMPDIR"/s1.json "$BATS_TEST_TMPDIR"/s2.json
	assert_no_sanitizer
	[ "$status" -eq 2 ]
	merged=$output
	[ "$(jq -c '.merged' <<<"$merged")" = '{"count":3,"budget":"whole"}' ]
	[ "$(jq -c '.summary' <<<"$merged")" = "$(jq -c '.summary' "$BATS_TEST_TMPDIR/all.json")" ]
	[ "$(jq -c '[.endpoints[] | del(.reason)]' <<<"$merged")" = "$(jq -c '[.endpoints[] | del(.reason)] | sort_by(.name)' "$BATS_TEST_TMPDIR/all.json")" ]
	run "$CACHEFORM" drift-merge "$BATS_TEST_TMPDIR"/s1.json "$BATS_TEST_TMPDIR"/s2.json
	[ "$status" -eq 1 ]
	[[ "$output" == *"shard 3/3 is missing"* ]]
	run "$CACHEFORM" drift-merge "$BATS_TEST_TMPDIR"/s1.json "$BATS_TEST_TMPDIR"/s1.json "$BATS_TEST_TMPDIR"/s2.json
	[ "$status" -eq 1 ]
	[[ "$output" == *"shard 1/3 is also in"* ]]
	run "$CACHEFORM" drift-merge "$BATS_TEST_TMPDIR"/all.json "$BATS_TEST_TMPDIR"/s1.json
	[ "$status" -eq 1 ]
	[[ "$output" == *"of 3"* || "$output" == *"but the other shards"* ]]
	printf '{"format_version":2' >"$BATS_TEST_TMPDIR/cut.json"
	run "$CACHEFORM" drift-merge "$BATS_TEST_TMPDIR/cut.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cut.json: not a drift --format json report"* ]]
}

@test "drift --shard: every shard validates the whole repository and refuses an error in any file" {
	shard_fleet
	# www6 belongs to one shard of 3 only; the others must refuse the repository all the same
	sed -i 's/ttl: .*/ttl: forever/' "$R/endpoints/www6.yaml"
	gitops_commit "$R" "break www6"
	for i in 1 2 3; do
		run "$CACHEFORM" drift --repo "$R" --shard "$i/3" --shard-budget split --format json
		assert_no_sanitizer
		[ "$status" -eq 1 ]
		[[ "$output" == *"endpoints/www6.yaml"* ]]
		[[ "$output" == *"the configuration has"* ]]
	done
	[ "$(journal_count read_rules)" -eq 0 ]
}

@test "drift --shard: an uncommitted change in another shard's file still makes every report name no commit" {
	shard_fleet
	printf '# edited\n' >>"$R/endpoints/www6.yaml"
	for i in 1 2 3; do
		run "$CACHEFORM" drift --repo "$R" --shard "$i/3" --shard-budget split --format json
		[ "$status" -ne 1 ]
		[ "$(jq -r '.commit' <<<"$output")" = "" ]
	done
}

@test "drift: a bad --shard is a usage error" {
	for s in 0/4 5/4 1/0 x 1/4/2 -1/4; do
		run "$CACHEFORM" drift --repo "$R" --shard "$s"
		[ "$status" -eq 129 ]
		[[ "$output" == *"--shard"* ]]
	done
}

@test "drift: an endpoint that cannot be read makes the run fail (exit 1), not pass" {
	export AZURECDN_KEY_VALUE=wrong-secret
	run "$CACHEFORM" drift --repo "$R" --format json
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	[ "$(jq -r '.summary.error' <<<"$output")" = 2 ]
	[[ "$(jq -r '.endpoints[0].reason' <<<"$output")" == "not checked: "* ]]
	[[ "$output" != *wrong-secret* ]]
}

@test "drift: when endpoints cannot be checked it says so, never 'no drift'" {
	export AZURECDN_KEY_VALUE=wrong-secret
	run "$CACHEFORM" drift --repo "$R"
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	[[ "$output" != *"no drift"* ]]
	[[ "$output" == *"could not check 2 endpoints: "* ]]
	run "$CACHEFORM" drift --repo "$R" --format markdown
	[[ "$output" != *"No drift"* ]]
	[[ "$output" == *"**Could not check 2 endpoints:**"* ]]
}
