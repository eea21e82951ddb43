#!/usr/bin/env bats
# Operator conveniences (issues 15 and 18): progress on stderr (a redrawn line on a terminal,
# a plain line every N seconds in a log), --quiet, `apply --format json`, and --purge ID to
# target one purge manifest.
load helpers
load reconcile_helpers

setup() {
	R=$BATS_TEST_TMPDIR/repo
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
}

teardown() {
	fakecdn_stop
}

# The purge manifests in the ledger (ID ENDPOINT STATUS), one a line.
ledger_purges() {
	"$CACHEFORM" ledger list | awk '/^PURGE /{on=1; next} /^$/{on=0} on {print $1, $2, $3}'
}

# ---- progress ----

@test "progress without a terminal: a plain line every CACHEFORM_PROGRESS_EVERY s on stderr, never on stdout" {
	fakecdn_start "" --task-delay 2500 --latency 700
	repo_init "$R"
	cd "$R"
	CACHEFORM_PROGRESS_EVERY=1 cf plan --parallelism 1 >"$OUT" 2>"$ERR"
	grep -qE '^cacheform: reading [0-9]+/4 endpoints \([0-9]+ s\)$' "$ERR" || { cat "$ERR"; false; }
	! grep -q 'reading' "$OUT" || false
	! grep -q $'\r' "$ERR" || false
	# apply: the writes and the task waits, naming what is pending
	CACHEFORM_PROGRESS_EVERY=1 cf apply --yes --first-run >"$OUT" 2>"$ERR"
	grep -qE '^cacheform: writing [0-9]+/7(, waiting for [0-9]+ tasks?)? \([0-9]+ s\)' "$ERR" ||
		{ cat "$ERR"; false; }
	grep -qE "^cacheform: writing [0-9]+/7, waiting for [0-9]+ tasks? \([0-9]+ s\): (purge|preload) '" "$ERR"
	! grep -qE 'writing|waiting for' "$OUT" || false
	grep -q '^Apply: 7 done, 0 failed, 0 not attempted.$' "$OUT"
	# the default interval (10 s) is longer than this plan: nothing is printed
	cf plan >"$OUT" 2>"$ERR"
	[ ! -s "$ERR" ] || { cat "$ERR"; false; }
}

@test "progress on a terminal: one line redrawn with \\r and erased; TERM=dumb gets plain lines" {
	command -v script >/dev/null || skip "util-linux script is not installed"
	fakecdn_start "" --latency 400
	repo_init "$R"
	cd "$R"
	# stdout to a file, stderr to the pseudo-terminal script(1) records
	TERM=xterm script -qec "'$CACHEFORM' plan --parallelism 1 >'$OUT'" "$BATS_TEST_TMPDIR/tty" >/dev/null
	grep -q $'\rreading 2/4 endpoints' "$BATS_TEST_TMPDIR/tty" || { od -c "$BATS_TEST_TMPDIR/tty" | head -20; false; }
	! grep -q '^cacheform: reading' "$BATS_TEST_TMPDIR/tty" || false
	! grep -q 'reading' "$OUT" || false
	grep -q '^Plan: ' "$OUT"
	# TERM=dumb: no redraws, the plain lines of a log
	TERM=dumb CACHEFORM_PROGRESS_EVERY=1 script -qec "'$CACHEFORM' plan --parallelism 1 >'$OUT'" \
		"$BATS_TEST_TMPDIR/tty" >/dev/null
	! grep -q $'\r[a-z]' "$BATS_TEST_TMPDIR/tty" || false
	grep -q 'cacheform: reading ' "$BATS_TEST_TMPDIR/tty"
	# --quiet: nothing at all on the terminal's stderr
	TERM=xterm script -qec "'$CACHEFORM' plan -q --parallelism 1 >'$OUT'" "$BATS_TEST_TMPDIR/tty" >/dev/null
	! grep -q 'reading' "$BATS_TEST_TMPDIR/tty" || false
}

@test "apply prints each result line as it completes, while the rest still runs" {
	fakecdn_start "" --task-delay 4000
	repo_init "$R"
	cd "$R"
	cf apply --yes --first-run >"$OUT" 2>"$ERR" &
	local pid=$! i
	# shop's rules need no task: its line is in the log while www's tasks take 4 s
	for i in $(seq 1 40); do
		grep -q "^  done          endpoint 'shop': cache rules$" "$OUT" && break
		sleep 0.1
	done
	grep -q "^  done          endpoint 'shop': cache rules$" "$OUT" || { cat "$OUT" "$ERR"; false; }
	kill -0 "$pid"
	! grep -q '^Apply: ' "$OUT" || false
	wait "$pid"
	grep -q '^Apply: 7 done, 0 failed, 0 not attempted.$' "$OUT"
	# each line once
	[ "$(grep -c "endpoint 'shop': cache rules" "$OUT")" -eq 1 ]
	[ "$(grep -c '^  done ' "$OUT")" -eq 7 ]
}

# ---- --quiet ----

@test "--quiet: plan, apply and drift print only the summary line and errors; exit codes unchanged" {
	fakecdn_start "" --task-delay 20 --latency 300
	repo_init "$R"
	cd "$R"
	CACHEFORM_PROGRESS_EVERY=1 run cf plan --quiet --detailed-exitcode --parallelism 1
	[ "$status" -eq 2 ]
	[ "$output" = "Plan: 2 endpoints to update (3 added, 1 changed, 0 removed, 1 moved), 5 purges to run, 1 drifted (observe)." ]
	CACHEFORM_PROGRESS_EVERY=1 run cf apply -q --yes --first-run --parallelism 1
	[ "$status" -eq 0 ]
	[ "$output" = "Apply: 7 done, 0 failed, 0 not attempted." ]
	run cf apply -q --yes --first-run
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "Plan: 0 endpoints to update "*", 0 purges to run, 1 drifted (observe)." ]]
	run cf drift -q
	[ "$status" -eq 2 ] # the observe endpoint differs
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "drift found: "*" not checked" ]]
	# an error still shows
	run cf plan -q -e nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"unknown endpoint 'nosuch'"* ]]
}

@test "apply --quiet on a terminal still shows the plan's summary before asking" {
	command -v script >/dev/null || skip "util-linux script is not installed"
	fakecdn_start "" --task-delay 20
	repo_init "$R"
	cd "$R"
	printf 'no\n' | TERM=xterm script -qec "'$CACHEFORM' apply -q --first-run" "$BATS_TEST_TMPDIR/tty" >/dev/null || true
	grep -q 'Plan: 2 endpoints to update' "$BATS_TEST_TMPDIR/tty"
	grep -q "Apply these changes?" "$BATS_TEST_TMPDIR/tty"
	grep -q 'apply cancelled' "$BATS_TEST_TMPDIR/tty"
	! grep -q 'rule 2:' "$BATS_TEST_TMPDIR/tty" || false
	[ "$(journal_ops purge)" -eq 0 ]
}

@test "apply --quiet: the failed operations and the summary, exit 5 with --keep-going" {
	fakecdn_start "" --task-delay 20 --task-fail
	repo_init "$R"
	cd "$R"
	run cf apply -q --yes --first-run --keep-going
	[ "$status" -eq 5 ] || { echo "$output"; false; }
	[[ "$output" == *"FAILED"*"purge '"* ]]
	[[ "$output" != *"  done "* ]]
	[[ "${lines[-1]}" == "Apply: "*" done, "*" failed, "*" not attempted." ]]
}

# ---- apply --format json ----

@test "apply --format json: one document on stdout with every operation, its tasks and status" {
	fakecdn_start "" --task-delay 20
	repo_init "$R"
	cd "$R"
	cf apply --yes --first-run --format json >"$OUT" 2>"$ERR"
	node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$OUT"
	jq -e '.format_version == 1 and .result == "applied" and .exit_code == 0 and .error == null' "$OUT"
	jq -e '.totals == {"done": 8, "failed": 0, "not attempted": 0, "submitted": 0, "unknown": 0}' "$OUT"
	# the plan and the report went to stderr for people
	grep -q '^Plan: ' "$ERR"
	! grep -q '^Plan: ' "$OUT" || false
	jq -e '[.operations[] | select(.operation == "rules")] | map(.endpoint) | sort == ["shop", "www"]' "$OUT"
	jq -e '.operations[] | select(.operation == "preload") | .endpoint == "www" and .manifest == "2026-11-21-logo" and .status == "done"' "$OUT"
	# every task id is one fakecdn handed out
	local id
	for id in $(jq -r '.operations[] | select(.operation != "rules") | .tasks[].id' "$OUT"); do
		grep -q "$id" "$FAKECDN_JOURNAL" || { echo "task $id is not in the journal"; false; }
	done
	[ "$(jq '[.operations[] | select(.operation == "purge") | .tasks[]] | length' "$OUT")" -ge 5 ]
	# nothing left: still one document
	cf apply --yes --first-run --format json >"$OUT"
	jq -e '.result == "nothing to do" and .operations == [] and .exit_code == 0' "$OUT"
}

@test "apply --format json: failed, not attempted and refused operations, with their errors" {
	fakecdn_start "" --task-delay 20 --task-fail
	repo_init "$R"
	cd "$R"
	local rc=0
	cf apply --yes --first-run --keep-going --format json >"$OUT" 2>"$ERR" || rc=$?
	[ "$rc" -eq 5 ]
	node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$OUT"
	jq -e '.exit_code == 5 and .result == "applied"' "$OUT"
	jq -e '.totals.failed >= 1 and .totals.done >= 1' "$OUT"
	# a failed task: its id, state failed, the provider's message
	jq -e '[.operations[] | select(.status == "failed")] | all(.error != null and (.error | length) > 0)' "$OUT"
	jq -e '[.operations[] | select(.status == "failed") | .tasks[] | select(.state == "failed")] | length >= 1' "$OUT"
	# the preload after a failed purge was never attempted
	jq -e '.operations[] | select(.operation == "preload") | .status == "not attempted"' "$OUT"
	grep -q 'FAILED' "$ERR"
	# without --keep-going a stale or refused run still writes its document
	cf plan --out "$BATS_TEST_TMPDIR/plan.json" >/dev/null || true
	sed -i 's/ttl: 10m/ttl: 20m/' endpoints/www.yaml
	rc=0
	cf apply "$BATS_TEST_TMPDIR/plan.json" --format json >"$OUT" 2>"$ERR" || rc=$?
	[ "$rc" -eq 4 ]
	jq -e '.result == "stale" and .exit_code == 4 and (.error | test("since the plan was made"))' "$OUT"
}

@test "apply --format with another value is a usage error" {
	run "$CACHEFORM" apply --format markdown
	[ "$status" -eq 129 ]
	[[ "$output" == *"--format must be text or json"* ]]
}

# ---- --purge ----

@test "--purge ID: only that manifest is planned, POSTed and recorded; a typo gets 'did you mean'" {
	fakecdn_start "" --task-delay 20
	repo_init "$R"
	cd "$R"
	run cf plan --purge 2026-11-24-cn-pic
	[ "$status" -eq 1 ]
	[[ "$output" == *"unknown purge manifest '2026-11-24-cn-pic' (--purge); did you mean '2026-11-24-cn-pics'?"* ]]
	run cf plan --purge 'nomatch-*'
	[ "$status" -eq 1 ]
	[[ "$output" == *"--purge 'nomatch-*' matches no purge manifest"* ]]
	run cf plan --purge 2026-11-24-cn-pics --no-purges
	[ "$status" -eq 129 ]
	run cf plan --purge 2026-11-24-cn-pics --format json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r '[.purges[].id] | unique | join(",")')" = 2026-11-24-cn-pics ]
	[ "$(printf '%s\n' "$output" | jq -r '[.endpoints[].name] | join(",")')" = www ]
	run cf apply --yes --first-run --purge 2026-11-24-cn-pics
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	# www's purge API saw one request, for the chosen manifest's dir and file
	[ "$(journal_ops purge)" -eq 1 ]
	[ "$(journal_ops preload)" -eq 0 ]
	jq -r 'select(.op == "purge") | .path' "$FAKECDN_JOURNAL" | grep -q '/purges$'
	[ "$(ledger_purges)" = "2026-11-24-cn-pics www succeeded" ]
	# the other manifests are still to run
	run cf plan --format json
	[ "$(printf '%s\n' "$output" | jq '[.purges[] | select(.state == "run")] | length')" -eq 4 ]
	# a glob, and a plan file made with --purge applies only what it lists
	cf plan --purge '2026-11-2[23]-*' --out "$BATS_TEST_TMPDIR/plan.json" >/dev/null
	run cf apply "$BATS_TEST_TMPDIR/plan.json" --first-run
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(ledger_purges | awk '{print $1}' | sort | tr '\n' ' ')" = "2026-11-22-docs-release 2026-11-23-media-thumbs 2026-11-24-cn-pics " ]
}
