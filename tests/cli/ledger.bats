#!/usr/bin/env bats
# cacheform ledger list | show | mark, and sharing refs/cacheform/ledger through a remote.
load helpers
load reconcile_helpers

setup() {
	fakecdn_start "" --task-delay 20
	R=$BATS_TEST_TMPDIR/repo
	repo_init "$R" www docs
	cd "$R"
}

teardown() {
	fakecdn_stop
}

@test "an empty ledger lists nothing; outside git the ledger is an error" {
	run cf ledger list
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"The ledger is empty"* ]]
	run cf ledger show nothing
	[ "$status" -eq 1 ]
	run cf ledger frobnicate
	[ "$status" -eq 129 ]
	mkdir -p "$BATS_TEST_TMPDIR/plain"
	cp -r "$R/cacheform.yaml" "$R/endpoints" "$BATS_TEST_TMPDIR/plain/"
	GIT_CEILING_DIRECTORIES=$BATS_TEST_TMPDIR run cf ledger list --repo "$BATS_TEST_TMPDIR/plain"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not inside a git repository"* ]]
}

@test "mark records manifests as applied without running them" {
	run cf ledger mark 2026-11-24-cn-pics -m "ran by hand in 2025"
	[ "$status" -eq 0 ]
	[[ "$output" == *"2026-11-24-cn-pics on www: marked"* ]]
	run cf ledger mark 2026-11-24-cn-pics
	[[ "$output" == *"already marked"* ]]
	run cf ledger mark no-such-purge
	[ "$status" -eq 1 ]
	run cf ledger show 2026-11-24-cn-pics
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.status == "marked" and .endpoint == "www" and (.content_hash | length) == 64'
	echo "$output" | jq -e '.message == "ran by hand in 2025"'
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	# only the docs and logo manifests and www's rules were applied; the marked one never ran
	[ "$(journal_ops purge)" -eq 2 ]
}

@test "show prints purge and endpoint records; the ledger is a commit chain on no branch" {
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	run cf ledger show 2026-11-22-docs-release
	echo "$output" | jq -e '.status == "succeeded" and (.tasks | length) == 1 and .submitted_at != null and .finished_at != null'
	run cf ledger show www
	echo "$output" | jq -e --arg c "$(git rev-parse HEAD)" '.desired_commit == $c and (.live_digest | length) == 64 and .rules_applied == 5'
	git rev-parse -q --verify refs/cacheform/ledger
	[ "$(git rev-list --count refs/cacheform/ledger)" -ge 2 ]
	# v2 layout: fan-out directories from a hash of the id or name (README: The ledger)
	git ls-tree -r --name-only refs/cacheform/ledger | grep -qx 'v2/purges/[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/2026-11-22-docs-release/docs.json'
	git ls-tree -r --name-only refs/cacheform/ledger | grep -qx 'v2/endpoints/[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/www.json'
	! git ls-tree -r --name-only refs/cacheform/ledger | grep -q '^purges/\|^endpoints/' || false
	[ -z "$(git branch -a --contains refs/cacheform/ledger)" ]
}

@test "a pipeline shares the ledger with git push/fetch of refs/cacheform/ledger" {
	local origin=$BATS_TEST_TMPDIR/origin.git other=$BATS_TEST_TMPDIR/other
	git clone -q --bare "$R" "$origin"
	git remote add origin "$origin"
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	git push -q origin refs/cacheform/ledger
	git clone -q "$origin" "$other"
	cd "$other"
	run cf plan --format json
	[ "$(echo "$output" | jq '[.purges[] | select(.state == "run")] | length')" -eq 3 ]
	git fetch -q origin refs/cacheform/ledger:refs/cacheform/ledger
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
	: >"$FAKECDN_JOURNAL"
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	[ "$(journal_ops purge)" -eq 0 ]
}

@test "compact replaces old records by summaries in one commit; plan never re-runs a compacted manifest" {
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	[ "$(journal_ops purge)" -eq 3 ]
	records() { git ls-tree -r --name-only refs/cacheform/ledger | grep -c "^v2/$1/" || true; }
	[ "$(records purges)" -eq 3 ]
	run cf ledger compact
	[ "$status" -eq 129 ]
	[[ "$output" == *"--before"* ]]
	# nothing finished before 2000: nothing changes, not even a commit
	local commits
	commits=$(git rev-list --count refs/cacheform/ledger)
	run cf ledger compact --before 2000-01-01
	[ "$status" -eq 0 ]
	[[ "$output" == *"Compacted 0 records of 0 manifests"* ]]
	[ "$(git rev-list --count refs/cacheform/ledger)" -eq "$commits" ]
	run cf ledger compact --before "$(date -u -d tomorrow +%F)"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"Compacted 3 records of 3 manifests"* ]]
	[ "$(git rev-list --count refs/cacheform/ledger)" -eq $((commits + 1)) ]
	[ "$(records purges)" -eq 0 ]
	[ "$(records compacted)" -eq 3 ]
	[ "$(records endpoints)" -ge 2 ]
	run cf ledger show 2026-11-22-docs-release
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.status == "succeeded" and .endpoint == "docs" and (.tasks | length) == 0 and .submitted_at != null and (.message | test("compacted"))'
	# the compacted manifests still count as applied: a clean plan, and apply sends no purge
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
	: >"$FAKECDN_JOURNAL"
	run cf apply --yes
	[ "$status" -eq 0 ]
	[ "$(journal_ops purge)" -eq 0 ]
	run cf ledger compact --before "$(date -u -d tomorrow +%F)"
	[[ "$output" == *"Compacted 0 records"* ]]
}
