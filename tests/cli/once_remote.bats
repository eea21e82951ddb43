#!/usr/bin/env bats
# Exactly once across clones (issue 14): applies on clones that share the ledger through a git
# remote (apply --ledger-remote) send each purge once, a killed one repeats at most the purge it
# had in flight, a ledger that cannot be written loses no accepted purge (the pending journal),
# and a held ledger lock names its holder. Every test asserts on fakecdn's journal.
load helpers
load reconcile_helpers

RUN_LIMIT=60

setup() {
	set -o pipefail # a failed git cat-file must not feed jq -e an empty, "true" input
	fakecdn_start "" --task-delay 20
	R=$BATS_TEST_TMPDIR/repo
	BARE=$BATS_TEST_TMPDIR/ledger.git
}

teardown() {
	fakecdn_stop
	if [ -n "${HOLD_PID:-}" ]; then kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null; fi
	true
}

# purges_accepted: purge requests fakecdn acted on.
purges_accepted() {
	jq -c 'select(.op == "purge" and .changed == true)' "$FAKECDN_JOURNAL" | wc -l
}

# per_pair: "COUNT URL" for every purged URL among the tasks fakecdn holds (each manifest here
# purges one URL of its own on one endpoint, so a URL is a (manifest, endpoint) pair).
per_pair() {
	curl -s "$FAKECDN_URL/_fakecdn/state" |
		jq -r '.tasks[] | select(.kind | test("purge")) | (.files // .fileUrls // [])[] | tostring' |
		sort | uniq -c
}

# three_clones: endpoints www (azure-china) and media (cdnpro) in $R, rules applied with the
# ledger pushed to the bare repository $BARE, cloned three times as $R1 $R2 $R3.
three_clones() {
	repo_init "$R" www media
	cd "$R"
	rm -f purges/*.yaml
	repo_commit "$R" rules
	git init -q --bare "$BARE"
	git remote add origin "$BARE"
	git push -q origin HEAD:refs/heads/main
	bounded apply --first-run --yes --ledger-remote origin
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	git --git-dir="$BARE" rev-parse -q --verify refs/cacheform/ledger >/dev/null
	local k
	for k in 1 2 3; do
		git clone -q -b main "$BARE" "$BATS_TEST_TMPDIR/c$k"
	done
	R1=$BATS_TEST_TMPDIR/c1 R2=$BATS_TEST_TMPDIR/c2 R3=$BATS_TEST_TMPDIR/c3
}

# manifests TAG N: N one-file purge manifests p-TAG-1..N over www and media, committed in each
# clone (the same content: the same manifests).
manifests() {
	local tag=$1 n=$2 k i ep
	for k in 1 2 3; do
		mkdir -p "$BATS_TEST_TMPDIR/c$k/purges"
		for i in $(seq 1 "$n"); do
			ep=www
			[ $((i % 2)) -eq 0 ] && ep=media
			printf 'purge: p-%s-%s\nendpoints: [%s]\nfiles: [/%s-%s.png]\n' "$tag" "$i" "$ep" "$tag" "$i" \
				>"$BATS_TEST_TMPDIR/c$k/purges/p-$tag-$i.yaml"
		done
		repo_commit "$BATS_TEST_TMPDIR/c$k" "$tag"
	done
}

@test "three concurrent applies on three clones sharing a ledger remote: each purge reaches the provider once" {
	three_clones
	manifests a 9
	local before pids=() k rc
	before=$(purges_accepted)
	for k in 1 2 3; do
		(cd "$BATS_TEST_TMPDIR/c$k" && exec "$CACHEFORM" apply --yes --ledger-remote origin) \
			>"$BATS_TEST_TMPDIR/a$k.out" 2>&1 &
		pids+=($!)
	done
	for k in 0 1 2; do
		rc=0
		wait "${pids[$k]}" || rc=$?
		[ "$rc" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/a$((k + 1)).out" >&2; return 1; }
	done
	! grep -q 'AddressSanitizer\|runtime error' "$BATS_TEST_TMPDIR"/a*.out || false
	[ $(($(purges_accepted) - before)) -eq 9 ] || { per_pair >&2; cat "$BATS_TEST_TMPDIR"/a*.out >&2; return 1; }
	# every pair once: nine distinct requests
	[ "$(per_pair | awk '$1 != 1' | wc -l)" -eq 0 ]
	# the losers said so
	cat "$BATS_TEST_TMPDIR"/a*.out | grep -c 'taken by another apply' >&3 || true
	# the remote holds every record, finished; a fourth apply in any clone sends nothing
	for i in 1 2 3 4 5 6 7 8 9; do
		ep=www
		[ $((i % 2)) -eq 0 ] && ep=media
		ledger_cat --git-dir="$BARE" "p-a-$i" "$ep" | jq -e '.status == "succeeded"'
	done
	cd "$R2"
	bounded apply --yes --ledger-remote origin
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ $(($(purges_accepted) - before)) -eq 9 ]
}

@test "a failed ledger fetch is not an absent ledger: nothing is sent; an absent one needs --first-run" {
	three_clones
	manifests b 2
	cd "$R1"
	local before
	before=$(purges_accepted)
	git remote add gone "$BATS_TEST_TMPDIR/nowhere.git"
	bounded apply --yes --ledger-remote gone
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot fetch the ledger from 'gone'"*"nothing was applied"* ]]
	bounded apply --yes --ledger-remote nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"no git remote 'nosuch'"* ]]
	[ "$(purges_accepted)" -eq "$before" ]
	# a remote without a ledger, and no local one: refused without --first-run
	git init -q --bare "$BATS_TEST_TMPDIR/empty.git"
	git remote add empty "$BATS_TEST_TMPDIR/empty.git"
	git update-ref -d refs/cacheform/ledger
	bounded apply --yes --ledger-remote empty
	[ "$status" -eq 1 ]
	[[ "$output" == *"neither this repository nor remote 'empty' has a ledger"* ]]
	[ "$(purges_accepted)" -eq "$before" ]
	# the git setting names the remote as the flag does
	git config cacheform.ledgerRemote origin
	bounded apply --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ $(($(purges_accepted) - before)) -eq 2 ]
	ledger_cat --git-dir="$BARE" "p-b-1" "www" | jq -e '.status == "succeeded"'
}

# hold_lock DIR HOLDER SECONDS: holds cacheform's ledger writers' lock in git directory DIR as
# HOLDER would (its "PID@HOST" in the file) for SECONDS, in the background ($HOLD_PID).
hold_lock() {
	local lock=$1/cacheform-ledger.lock
	: >"$lock"
	flock -o -x "$lock" sh -c 'printf "%s\n" "$1" >"$2"; exec sleep "$3"' sh "$2" "$lock" "$3" &
	HOLD_PID=$!
	local i
	for i in $(seq 1 100); do grep -q "$2" "$lock" 2>/dev/null && break; sleep 0.05; done
}

# one_purge_repo: endpoint www, rules applied, then one purge manifest p-one.
one_purge_repo() {
	repo_init "$R" www
	cd "$R"
	rm -f purges/*.yaml
	repo_commit "$R" rules
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	printf 'purge: p-one\nendpoints: [www]\nfiles: [/one.png]\n' >purges/p-one.yaml
	repo_commit "$R" one
}

@test "a held ledger lock: apply names its holder and sends nothing" {
	one_purge_repo
	local before
	before=$(purges_accepted)
	hold_lock "$R/.git" 4242@ci-runner-7 30
	bounded apply --yes
	[ "$status" -eq 1 ]
	[[ "$output" == *"ledger locked by 4242@ci-runner-7"* ]] || { echo "$output" >&2; return 1; }
	[[ "$output" != *"lost"*"races"* ]]
	[[ "$output" == *"nothing was applied"* ]]
	[ "$(purges_accepted)" -eq "$before" ]
	kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null || true; HOLD_PID=
	bounded apply --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ $(($(purges_accepted) - before)) -eq 1 ]
}

@test "the ledger fails after the provider accepted: reported, kept in the pending journal, folded in next run" {
	one_purge_repo
	local before i
	before=$(purges_accepted)
	# slow answers: the claim is on the ref well before the purge's answer comes back
	set_faults '{"latency_ms":1500}'
	"$CACHEFORM" apply --yes >"$BATS_TEST_TMPDIR/out" 2>&1 &
	local pid=$!
	for i in $(seq 1 200); do
		ledger_cat "p-one" "www" 2>/dev/null | grep -Eq '"status": *"claimed"' && break
		sleep 0.05
	done
	echo "claim seen after $i polls" >&3
	hold_lock "$R/.git" 4242@ci-runner-7 30
	local rc=0
	wait "$pid" || rc=$?
	cat "$BATS_TEST_TMPDIR/out" >&3
	[ "$rc" -eq 1 ]
	grep -q 'ledger locked by 4242@ci-runner-7' "$BATS_TEST_TMPDIR/out"
	grep -q "accepted by the provider and not in the ledger" "$BATS_TEST_TMPDIR/out"
	grep -q "purge 'p-one' on 'www': purge task" "$BATS_TEST_TMPDIR/out"
	grep -q "submitted *purge 'p-one' on 'www'" "$BATS_TEST_TMPDIR/out"
	[ $(($(purges_accepted) - before)) -eq 1 ]
	# the journal holds the accepted task; the ledger still says claimed
	[ -s .git/cacheform-pending.jsonl ]
	jq -e 'select(.purge == "p-one") | .status == "submitted" and (.tasks[0].id | length) > 0' .git/cacheform-pending.jsonl
	ledger_cat "p-one" "www" | jq -e '.status == "claimed"'
	# plan already counts it as sent (pending, not to run)
	kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null || true; HOLD_PID=
	set_faults '{"latency_ms":0}'
	bounded plan
	[[ "$output" != *"p-one"*"will run"* ]]
	# the next apply records it, polls it and sends nothing again
	bounded apply --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[[ "$output" == *"Recorded 1 purge from the pending journal"* ]]
	[ ! -e .git/cacheform-pending.jsonl ]
	ledger_cat "p-one" "www" | jq -e '.status == "succeeded"'
	[ $(($(purges_accepted) - before)) -eq 1 ]
}

@test "three clones, one apply SIGKILLed at a random moment (20 trials): at most one repeat per trial" {
	three_clones
	# 60 applies in 20 trials of three processes, each pacing itself on its own bucket: together
	# they outrun one customer's 30/min. What is tested is claims, so the customer's limit is high.
	set_faults '{"cdnpro_rate_per_minute":6000,"cdnpro_burst":600}'
	local t k victim pids rc repeats worst start=$SECONDS
	for t in $(seq 1 20); do
		manifests "k$t" 3
		pids=()
		for k in 1 2 3; do
			(cd "$BATS_TEST_TMPDIR/c$k" && exec "$CACHEFORM" apply --yes --quiet --ledger-remote origin) \
				>"$BATS_TEST_TMPDIR/k$t-$k.out" 2>&1 &
			pids+=($!)
		done
		victim=$((RANDOM % 3))
		sleep "0.$((RANDOM % 6))$((RANDOM % 10))"
		kill -9 "${pids[$victim]}" 2>/dev/null || true
		for k in 0 1 2; do
			rc=0
			wait "${pids[$k]}" || rc=$?
			if [ "$k" -ne "$victim" ] && [ "$rc" -ne 0 ]; then
				cat "$BATS_TEST_TMPDIR/k$t-$((k + 1)).out" >&2
				return 1
			fi
		done
		# this trial's URLs: none sent more than twice, at most one sent twice
		repeats=$(per_pair | awk -v re="/k$t-" '$2 ~ re && $1 == 2' | wc -l)
		worst=$(per_pair | awk -v re="/k$t-" '$2 ~ re {print $1}' | sort -n | tail -1)
		echo "trial $t: victim $((victim + 1)), repeats $repeats, most sends ${worst:-0}" >&3
		[ "${worst:-0}" -le 2 ] && [ "$repeats" -le 1 ] || { per_pair >&2; return 1; }
	done
	echo "20 trials in $((SECONDS - start)) s" >&3
	! grep -q 'AddressSanitizer\|runtime error' "$BATS_TEST_TMPDIR"/k*.out || false
}

@test "a lost answer (unknown) is looked up in CDN Pro's task list before any resend: found, it is polled, not sent again" {
	repo_init "$R" media
	cd "$R"
	rm -f purges/*.yaml
	repo_commit "$R" rules
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	printf 'purge: p-lost\nendpoints: [media]\nfiles: [/lost.png]\n' >purges/p-lost.yaml
	printf 'purge: p-lost2\nendpoints: [media]\nfiles: [/lost2.png, /lost3.png]\n' >purges/p-lost2.yaml
	repo_commit "$R" lost
	bounded plan
	set_faults '{"act_drop_rate":1}'
	bounded apply --first-run --yes
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown"* ]]
	ledger_cat "p-lost" "media" | jq -e '.status == "unknown"'
	[ "$(jq -c 'select(.op == "purge" and .changed == true and .path == "/cdn/purges")' "$FAKECDN_JOURNAL" | wc -l)" -eq 2 ]
	set_faults '{"act_drop_rate":0}'
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	# asked the list, sent nothing again, and the records name the tasks fakecdn holds
	[ "$(jq -c 'select(.op == "list_purges" and .auth == true)' "$FAKECDN_JOURNAL" | wc -l)" -ge 2 ]
	[ "$(jq -c 'select(.op == "purge" and .changed == true and .path == "/cdn/purges")' "$FAKECDN_JOURNAL" | wc -l)" -eq 2 ]
	local ids
	ids=$(curl -s "$FAKECDN_URL/_fakecdn/state" | jq -r '[.tasks[] | select(.kind == "cdnpro_purge") | .id] | sort | join(" ")')
	[ "$(for m in p-lost p-lost2; do ledger_cat "$m" "media" | jq -r '.tasks[0].id'; done | sort | paste -sd' ')" = "$ids" ]
	for m in p-lost p-lost2; do
		ledger_cat "$m" "media" | jq -e '.status == "succeeded"'
	done
}

@test "a lost answer the task list does not hold is sent again once" {
	repo_init "$R" media
	cd "$R"
	rm -f purges/*.yaml
	printf 'purge: p-gone\nendpoints: [media]\nfiles: [/gone.png]\n' >purges/p-gone.yaml
	repo_commit "$R" gone
	bounded plan
	set_faults '{"act_drop_rate":1}'
	bounded apply --first-run --yes
	[ "$status" -ne 0 ]
	ledger_cat "p-gone" "media" | jq -e '.status == "unknown"'
	# a provider that no longer holds the task (a fresh fakecdn, on another port)
	fakecdn_stop
	fakecdn_start "" --task-delay 20
	repo_settings >cacheform.yaml
	repo_commit "$R" moved
	bounded apply --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ "$(jq -c 'select(.op == "list_purges" and .auth == true)' "$FAKECDN_JOURNAL" | wc -l)" -eq 1 ]
	[ "$(jq -c 'select(.op == "purge" and .changed == true and .path == "/cdn/purges")' "$FAKECDN_JOURNAL" | wc -l)" -eq 1 ]
	ledger_cat "p-gone" "media" | jq -e '.status == "succeeded"'
	# and only once
	bounded apply --yes
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.op == "purge" and .changed == true and .path == "/cdn/purges")' "$FAKECDN_JOURNAL" | wc -l)" -eq 1 ]
}
