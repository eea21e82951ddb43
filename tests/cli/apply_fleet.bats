#!/usr/bin/env bats
# apply over a fleet with many in-sync endpoints (issue 17): their ledger records are committed
# while the writes run (a commit of their own), the written endpoints' records at the end.
load helpers
load fakecdn_helpers

setup() {
	F=$BATS_TEST_TMPDIR/fleet
	# 100 endpoints (50 azure-china, 50 azure), 10% changed, no purges
	bash "$TOP/tests/bench/gen_fleet.sh" "$F" 100 10 0 0 0 0 >/dev/null
	git -C "$F/repo" init -q -b main
	git -C "$F/repo" add -A
	git -C "$F/repo" -c user.name=t -c user.email=t@example.com -c commit.gpgsign=false commit -q -m fleet
	fakecdn_start "$F/state.json" --task-delay 200
	export AZURECDN_KEY_ID=fakecdn-rw AZURECDN_KEY_VALUE=fakecdn-rw-secret
	export AZURE_SUBSCRIPTION_ID=$ARM_SUB AZURE_TENANT_ID=$ARM_TENANT AZURE_CLIENT_ID=$ARM_CLIENT \
		AZURE_CLIENT_SECRET=$ARM_SECRET
	cd "$F/repo"
}

teardown() {
	fakecdn_stop
}

# records: endpoint records on the ledger's tip
records() { git ls-tree -r --name-only refs/cacheform/ledger | grep -c '^v2/endpoints/' || true; }

@test "apply: the in-sync endpoints' records in a commit of their own, the written ones at the end" {
	run "$CACHEFORM" apply --yes --parallelism 8
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"Apply: 10 done, 0 failed, 0 not attempted."* ]]
	[ "$(journal_count write_rules)" -eq 10 ]
	[ "$(records)" -eq 100 ]
	[ "$(git rev-list --count refs/cacheform/ledger)" -eq 2 ]
	[ "$(git log -1 --format=%s refs/cacheform/ledger~1)" = "cacheform apply: endpoints in sync" ]
	[ "$(git log -1 --format=%s refs/cacheform/ledger)" = "cacheform apply: finished" ]
	# 90 in sync first, then the 10 written
	[ "$(git diff --name-only refs/cacheform/ledger~1 refs/cacheform/ledger | wc -l)" -eq 10 ]
	run "$CACHEFORM" ledger show az0001
	[ "$status" -eq 0 ]
	[ "$(jq -r .desired_commit <<<"$output")" = "$(git rev-parse HEAD)" ]
	# converged: nothing to write, no ledger commit
	run "$CACHEFORM" apply --yes --parallelism 8
	[ "$status" -eq 0 ]
	[ "$(journal_count write_rules)" -eq 10 ]
	[ "$(git rev-list --count refs/cacheform/ledger)" -eq 2 ]
	run "$CACHEFORM" plan --no-purges --detailed-exitcode
	[ "$status" -eq 0 ]
	# one endpoint edited: its write and record; the 99 others' records still hold (only the
	# desired commit moved), so no commit of in-sync records
	sed -i 's/ttl: 10m/ttl: 20m/' endpoints/az0011.yaml
	git -c user.name=t -c user.email=t@example.com -c commit.gpgsign=false commit -qam edit
	run "$CACHEFORM" apply --yes --parallelism 8
	[ "$status" -eq 0 ]
	[ "$(journal_count write_rules)" -eq 11 ]
	[ "$(git rev-list --count refs/cacheform/ledger)" -eq 3 ]
	[ "$(git log -1 --format=%s refs/cacheform/ledger)" = "cacheform apply: finished" ]
	[ "$(git diff --name-only refs/cacheform/ledger~1 refs/cacheform/ledger)" = "$(git ls-tree -r --name-only refs/cacheform/ledger | grep /az0011.json)" ]
}

@test "apply: a ledger that refuses the in-sync commit: the writes are done, the apply fails naming it" {
	# a ref under the ledger's name: no commit can point the ledger's ref anywhere
	git update-ref refs/cacheform/ledger/x HEAD
	run "$CACHEFORM" apply --yes --parallelism 8
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	[[ "$output" == *"refs/cacheform/ledger"* ]]
	[ "$(journal_count write_rules)" -eq 10 ]
	[ "$(journal_count read_rules)" -eq 110 ]
}
