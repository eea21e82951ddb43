#!/usr/bin/env bats
# Concurrent `drift --shard I/N --shard-budget split` processes sharing one ARM rate domain
# (issue 17): each shard's bucket runs at exactly 1/N of the domain's rate with 1/(2N) of its
# burst, and together they never overdraw the provider's bucket (fakecdn's, at the same limit).
load helpers
load fakecdn_helpers

RATE=2400 # a minute's tokens: 40 a second, 10 a second for each of 4 shards
BURST=16
SHARDS=4

setup() {
	F=$BATS_TEST_TMPDIR/fleet
	# 120 azure endpoints on two clients (global, global2) that declare one rate domain
	AZ_ONLY=1 bash "$TOP/tests/bench/gen_fleet.sh" "$F" 120 10 0 0 0 0 >/dev/null
	awk -v rate="$RATE" -v burst="$BURST" '{ print }
		/^    login_url: / { print "    rate_domain: shared-arm"; print "    rate_limit: {per_minute: " rate ", burst: " burst "}" }' \
		"$F/repo/cacheform.yaml" >"$F/cf.yaml" && mv "$F/cf.yaml" "$F/repo/cacheform.yaml"
	git -C "$F/repo" init -q -b main
	git -C "$F/repo" add -A
	git -C "$F/repo" -c user.name=t -c user.email=t@example.com -c commit.gpgsign=false commit -q -m fleet
	fakecdn_start "$F/state.json" --latency 5
	export AZURE_SUBSCRIPTION_ID=$ARM_SUB AZURE_TENANT_ID=$ARM_TENANT AZURE_CLIENT_ID=$ARM_CLIENT \
		AZURE_CLIENT_SECRET=$ARM_SECRET AZURE_CLIENT_SECRET2=fakecdn-client-secret-2
	run admin_curl POST faults "{\"arm_rate_per_minute\": $RATE, \"arm_burst\": $BURST}"
	[ "$(http_status)" = 200 ]
}

teardown() {
	fakecdn_stop
}

@test "drift --shard-budget split: $SHARDS concurrent shards at their full share, no answer 429" {
	local i pids=()
	for i in $(seq 1 "$SHARDS"); do
		"$CACHEFORM" drift --repo "$F/repo" --shard "$i/$SHARDS" --shard-budget split --parallelism 8 \
			--format json >"$BATS_TEST_TMPDIR/s$i.json" 2>"$BATS_TEST_TMPDIR/s$i.err" &
		pids+=($!)
	done
	for i in $(seq 0 $((SHARDS - 1))); do
		local rc=0
		wait "${pids[$i]}" || rc=$?
		# 2: drift found (10% of the fleet differs); anything else is a failure
		[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || { cat "$BATS_TEST_TMPDIR/s$((i + 1)).err" >&2; return 1; }
	done
	! grep -q 'AddressSanitizer\|runtime error' "$BATS_TEST_TMPDIR"/s*.err || false
	[ "$(jq -c 'select(.status == 429)' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
	[ "$(journal_count read_rules)" -eq 120 ]
	run "$CACHEFORM" drift-merge "$BATS_TEST_TMPDIR"/s*.json
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ]
	[ "$(jq '.endpoints | length' <<<"$output")" -eq 120 ]
}
