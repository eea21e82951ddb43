#!/usr/bin/env bats
# Exactly once, whatever happens (issue 14): lost answers are never re-sent behind cacheform's
# back, status URLs on another host are polled by id, URLs from the ledger or a provider never
# carry a credential elsewhere, provider text never leaks a secret, concurrent applies send each
# purge once, and a ledger that cannot be written loses nothing. Every test asserts on
# fakecdn's journal.
load helpers
load reconcile_helpers

RUN_LIMIT=60

setup() {
	fakecdn_start "" --task-delay 20
	R=$BATS_TEST_TMPDIR/repo
}

teardown() {
	fakecdn_stop
	if [ -n "${STUB_PID:-}" ]; then kill "$STUB_PID" 2>/dev/null; wait "$STUB_PID" 2>/dev/null; fi
	true
}

set_faults() {
	run admin_curl POST faults "$1"
	[ "$(http_status)" = 200 ] || { echo "fakecdn refused knobs $1: $output" >&2; return 1; }
}

# bounded CMD...: cacheform under $RUN_LIMIT; no hang, no sanitizer report.
bounded() {
	run timeout -k 5 "$RUN_LIMIT" "$CACHEFORM" "$@"
	assert_no_sanitizer
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		echo "cacheform $* did not finish within ${RUN_LIMIT}s" >&2
		return 1
	fi
}

# accepted_on PATH_RE: purge/preload requests the provider acted on, whose path matches.
accepted_on() {
	jq -c --arg re "$1" 'select((.op == "purge" or .op == "preload") and .changed == true and (.path | test($re)))' \
		"$FAKECDN_JOURNAL" | wc -l
}

# A repository with the azure endpoint shop and the cdnpro endpoint media, rules applied,
# then one purge manifest per endpoint (no preload).
two_provider_repo() {
	repo_init "$R" shop media
	cd "$R"
	rm -f purges/*.yaml
	repo_commit "$R" rules
	bounded apply --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	printf 'purge: p-shop\nendpoints: [shop]\nfiles: [/a.png]\n' >purges/p-shop.yaml
	printf 'purge: p-media\nendpoints: [media]\nfiles: [/a.png]\n' >purges/p-media.yaml
	repo_commit "$R" purges
}

@test "act, then drop: a purge POST is never re-sent by libcurl; the lost answer is unknown" {
	two_provider_repo
	# reads first, so the connection cache holds live keep-alive connections to fakecdn
	bounded plan
	set_faults '{"act_drop_rate":1}'
	bounded apply --yes
	[ "$status" -ne 0 ]
	[ "$(jq -c 'select(.fault == "act_drop")' "$FAKECDN_JOURNAL" | wc -l)" -eq 2 ]
	# one request per endpoint reached the provider: nothing was repeated behind our back
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 1 ]
	[ "$(accepted_on '^/cdn/purges$')" -eq 1 ]
	[[ "$output" == *"unknown"* ]]
	[[ "$output" != *"  done          purge"* ]]
	run git cat-file -p refs/cacheform/ledger:purges/p-shop/shop.json
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.status == "unknown"'
}
