#!/usr/bin/env bats
# The in-flight journal (SPEC §5, README "Exactly once"): every purge acceptance is durable as
# soon as it is seen, so an apply SIGKILLed before its round's ledger commit repeats none of the
# purges whose acceptance had arrived, and still sends those never accepted. Every test asserts
# on fakecdn's journal.
load helpers
load reconcile_helpers

RUN_LIMIT=60

setup() {
	set -o pipefail
	fakecdn_start "" --task-delay 20
	R=$BATS_TEST_TMPDIR/repo
}

teardown() {
	if [ -n "${APPLY_PID:-}" ]; then kill -9 "$APPLY_PID" 2>/dev/null; wait "$APPLY_PID" 2>/dev/null; fi
	fakecdn_stop
	true
}

# accepted_on PATH_RE: purge requests the provider acted on, whose path matches.
accepted_on() {
	jq -c --arg re "$1" 'select(.op == "purge" and .changed == true and (.path | test($re)))' \
		"$FAKECDN_JOURNAL" | wc -l
}

# journal_lines: complete lines of the in-flight journals in the repository's git directory.
journal_lines() {
	cat "$R"/.git/cacheform-inflight-*.jsonl 2>/dev/null | grep -c '^{' || true
}

# shop (azure) and media (cdnpro), rules applied; then N one-file purges on shop and two on
# media.
repo_with_purges() {
	local n=$1 i
	repo_init "$R" shop media
	cd "$R"
	rm -f purges/*.yaml
	repo_commit "$R" rules
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	for i in $(seq 1 "$n"); do
		printf 'purge: p-shop-%s\nendpoints: [shop]\nfiles: [/s%s.png]\n' "$i" "$i" >"purges/p-shop-$i.yaml"
	done
	for i in 1 2; do
		printf 'purge: p-media-%s\nendpoints: [media]\nfiles: [/m%s.png]\n' "$i" "$i" >"purges/p-media-$i.yaml"
	done
	repo_commit "$R" purges
}

@test "SIGKILL after some acceptances arrived, before the round's ledger commit: none of them is sent again" {
	repo_with_purges 6
	# CDN Pro answers after 4 s (its read in the plan too): the round (and its ledger commit)
	# waits for its purges, while the six azure purges are accepted at once
	set_faults '{"latency_ms":4000,"only":"cdnpro"}'
	"$CACHEFORM" apply --yes >"$BATS_TEST_TMPDIR/killed.out" 2>&1 &
	APPLY_PID=$!
	local i
	for i in $(seq 1 400); do
		[ "$(accepted_on '/endpoints/shop/purge$')" -ge 6 ] && break
		sleep 0.05
	done
	# the provider answered them; half a second later (ample for one fdatasync) the apply dies
	sleep 0.5
	kill -9 "$APPLY_PID"
	wait "$APPLY_PID" 2>/dev/null || true
	APPLY_PID=
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 6 ]
	[ "$(accepted_on '^/cdn/purges$')" -eq 0 ]
	echo "in-flight journal: $(journal_lines) lines after $i polls" >&3
	[ "$(journal_lines)" -eq 6 ]
	# the ledger still says claimed: the round's commit never came
	ledger_cat p-shop-1 shop | jq -e '.status == "claimed"'
	# plan already counts them as sent; the never-accepted ones still run
	set_faults '{"latency_ms":0,"only":""}'
	bounded plan
	[[ "$output" != *"p-shop-"*"will run"* ]] || { echo "$output" >&2; return 1; }
	bounded apply --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[[ "$output" == *"Recorded 6 purges from the in-flight journal"* ]]
	# each azure purge reached the provider once; the CDN Pro ones once, now
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 6 ]
	[ "$(accepted_on '^/cdn/purges$')" -eq 2 ]
	for i in 1 2 3 4 5 6; do
		ledger_cat "p-shop-$i" shop | jq -e '.status == "succeeded" and (.tasks | length) == 1'
	done
	for i in 1 2; do
		ledger_cat "p-media-$i" media | jq -e '.status == "succeeded"'
	done
	# folded and removed; the second apply's own journal is gone too
	! ls "$R"/.git/cacheform-inflight-* 2>/dev/null || false
}

@test "a finished apply leaves no in-flight journal; a dead apply's torn last line is ignored, its records already final are not recorded again" {
	repo_with_purges 2
	bounded apply --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	! ls "$R"/.git/cacheform-inflight-* 2>/dev/null || false
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 2 ]
	# a dead apply's journal cut short in the middle of a line: nothing is read from it
	printf '{"format_version": 1, "purge": "p-shop-1", "endpoint": "shop", "status": "subm' \
		>"$R/.git/cacheform-inflight-AAAAAA.jsonl"
	bounded plan
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	bounded apply --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	! ls "$R"/.git/cacheform-inflight-* 2>/dev/null || false
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 2 ]
	ledger_cat p-shop-1 shop | jq -e '.status == "succeeded"'
	# a dead apply's complete line for a purge the ledger holds as final (killed after its last
	# commit): removed, not recorded again, nothing sent
	ledger_cat p-shop-2 shop | jq -c '.status = "submitted" | .tasks[0].state = "running"' \
		>"$R/.git/cacheform-inflight-CCCCCC.jsonl"
	bounded plan
	[[ "$output" != *"p-shop-2"* ]] || { echo "$output" >&2; return 1; }
	bounded apply --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[[ "$output" != *"in-flight journal"* ]]
	! ls "$R"/.git/cacheform-inflight-* 2>/dev/null || false
	ledger_cat p-shop-2 shop | jq -e '.status == "succeeded"'
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 2 ]
}

@test "a corrupt complete line in an in-flight journal is an error naming it; nothing is sent" {
	repo_with_purges 1
	printf 'not json\n' >"$R/.git/cacheform-inflight-BBBBBB.jsonl"
	bounded apply --yes
	[ "$status" -ne 0 ]
	[[ "$output" == *"cacheform-inflight-BBBBBB.jsonl"*"line 1"* ]] || { echo "$output" >&2; return 1; }
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 0 ]
	[ -e "$R/.git/cacheform-inflight-BBBBBB.jsonl" ]
}
