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
	bounded apply --first-run --yes
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
	bounded apply --first-run --yes
	[ "$status" -ne 0 ]
	[ "$(jq -c 'select(.fault == "act_drop")' "$FAKECDN_JOURNAL" | wc -l)" -eq 2 ]
	# one request per endpoint reached the provider: nothing was repeated behind our back
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 1 ]
	[ "$(accepted_on '^/cdn/purges$')" -eq 1 ]
	[[ "$output" == *"unknown"* ]]
	[[ "$output" != *"  done          purge"* ]]
	run git cat-file -p refs/cacheform/ledger:$(ledger_rec p-shop shop)
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.status == "unknown"'
}

@test "status URLs on another host: polled on base_url by id, the purges end succeeded" {
	two_provider_repo
	set_faults '{"status_elsewhere":true}'
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 1 ]
	[ "$(accepted_on '^/cdn/purges$')" -eq 1 ]
	# polled on fakecdn (base_url), signed, by the id from the foreign URL
	[ "$(jq -c 'select(.op == "poll" and .auth == true and (.path | test("/operationresults/")))' "$FAKECDN_JOURNAL" | wc -l)" -ge 1 ]
	[ "$(jq -c 'select(.op == "poll" and .auth == true and (.path | test("^/cdn/purges/[^/]+$")))' "$FAKECDN_JOURNAL" | wc -l)" -ge 1 ]
	for r in "$(ledger_rec p-shop shop)" "$(ledger_rec p-media media)"; do
		git cat-file -p "refs/cacheform/ledger:$r" | jq -e '.status == "succeeded"'
	done
	# nothing is sent again
	bounded apply --first-run --yes
	[ "$status" -eq 0 ]
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 1 ]
	[ "$(accepted_on '^/cdn/purges$')" -eq 1 ]
}

# listener_start: an HTTP server on another port that logs "METHOD PATH AUTHORIZATION" per
# request to $BATS_TEST_TMPDIR/listener.log and answers 200 {"status":"finished"}.
listener_start() {
	cat >"$BATS_TEST_TMPDIR/listener.py" <<'PY'
import http.server, sys
log = open(sys.argv[1], 'a'); port_file = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write('%s %s %s\n' % (self.command, self.path, self.headers.get('Authorization')))
        log.flush()
        body = b'{"status":"finished","successRate":100}'
        self.send_response(200); self.send_header('Content-Length', str(len(body)))
        self.end_headers(); self.wfile.write(body)
    do_POST = do_GET
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
open(port_file, 'w').write(str(s.server_address[1]))
s.serve_forever()
PY
	: >"$BATS_TEST_TMPDIR/listener.log"
	python3 "$BATS_TEST_TMPDIR/listener.py" "$BATS_TEST_TMPDIR/listener.log" "$BATS_TEST_TMPDIR/listener.port" &
	STUB_PID=$!
	local i
	for i in $(seq 1 100); do [ -s "$BATS_TEST_TMPDIR/listener.port" ] && break; sleep 0.05; done
	OTHER=$(cat "$BATS_TEST_TMPDIR/listener.port")
}

# rewrite_rec RECORD MESSAGE JQ_ARGS...: a commit on the ledger ref (as anyone with push access
# to the ledger could write) in which the record and its copies in other directories (the day
# it was submitted) are rewritten by `jq JQ_ARGS...`.
rewrite_rec() {
	local rec=$1 msg=$2 old blob path tree c idx=$BATS_TEST_TMPDIR/rewrite.idx
	shift 2
	rm -f "$idx"
	GIT_INDEX_FILE=$idx git read-tree refs/cacheform/ledger
	old=$(git rev-parse "refs/cacheform/ledger:$rec")
	blob=$(git cat-file -p "$old" | jq "$@" | git hash-object -w --stdin)
	for path in $(git ls-tree -r refs/cacheform/ledger | awk -v o="$old" '$3 == o { print $4 }'); do
		GIT_INDEX_FILE=$idx git update-index --cacheinfo "100644,$blob,$path"
	done
	tree=$(GIT_INDEX_FILE=$idx git write-tree)
	c=$(git -c user.name=x -c user.email=x@x commit-tree "$tree" -p refs/cacheform/ledger -m "$msg")
	git update-ref refs/cacheform/ledger "$c"
}

# forge_task RECORD POLL_URL: the record's first task polled at that URL.
forge_task() {
	rewrite_rec "$1" forged --arg u "$2" '.tasks[0].poll_url = $u'
}

@test "forged poll_url in the ledger (host suffix, other port, userinfo, ..): no credential leaves base_url" {
	two_provider_repo
	listener_start
	local variants=(
		".evil.net/cdn/purges/ID"
		"http://127.0.0.1:$OTHER/cdn/purges/ID"
		"http://127.0.0.1:$FAKECDN_PORT@127.0.0.1:$OTHER/cdn/purges/ID"
		"http://127.0.0.1:$FAKECDN_PORT/cdn/purges/../../_fakecdn/state"
		"http://127.0.0.1:$FAKECDN_PORT/cdn/purges/%2e%2e/%2E%2E/_fakecdn/state"
	)
	local i=0 v id
	rm -f purges/p-shop.yaml
	for v in "${variants[@]}"; do
		i=$((i + 1))
		printf 'purge: p-m%s\nendpoints: [media]\nfiles: [/m%s.png]\n' "$i" "$i" >"purges/p-m$i.yaml"
		repo_commit "$R" "m$i"
		bounded apply --first-run --yes --no-wait
		[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
		id=$(git cat-file -p "refs/cacheform/ledger:$(ledger_rec p-m$i media)" | jq -r '.tasks[0].id')
		forge_task "$(ledger_rec p-m$i media)" "${v//ID/$id}"
		bounded apply --first-run --yes
		[ "$status" -eq 0 ] || { echo "variant $v: $output" >&2; return 1; }
		git cat-file -p "refs/cacheform/ledger:$(ledger_rec p-m$i media)" | jq -e '.status == "succeeded"'
	done
	# azure: the bearer token stays on base_url; the operation is polled there by its path
	printf 'purge: p-shop\nendpoints: [shop]\nfiles: [/a.png]\n' >purges/p-shop.yaml
	repo_commit "$R" shop
	bounded apply --first-run --yes --no-wait
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	v=$(git cat-file -p refs/cacheform/ledger:$(ledger_rec p-shop shop) | jq -r '.tasks[0].poll_url')
	forge_task "$(ledger_rec p-shop shop)" "http://127.0.0.1:$OTHER/${v#http*://*/}"
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	git cat-file -p refs/cacheform/ledger:$(ledger_rec p-shop shop) | jq -e '.status == "succeeded"'
	# nothing reached the other host, nothing escaped the API paths, nothing was sent twice
	[ ! -s "$BATS_TEST_TMPDIR/listener.log" ] || { cat "$BATS_TEST_TMPDIR/listener.log" >&2; return 1; }
	[ "$(jq -c 'select(.auth == true and (.path | test("_fakecdn|\\.\\.")))' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
	[ "$(accepted_on '^/cdn/purges$')" -eq 6 ] # p-media and p-m1..5
	[ "$(accepted_on '/endpoints/shop/purge$')" -eq 1 ]
}

# secrets_absent FILE...: none of the example credentials, and no unredacted echo of an
# Authorization value, in the files.
secrets_absent() {
	local f s
	for f in "$@"; do
		for s in "$CN_KEY_VALUE" "$ARM_SECRET" "$PRO_KEY"; do
			! grep -qF -- "$s" "$f" || { echo "$s found in $f" >&2; return 1; }
		done
		! grep -qE 'Authorization=[^<;]' "$f" || { grep -E 'Authorization=' "$f" >&2; return 1; }
	done
}

@test "a provider echoing the request's credentials: scrubbed from stdout, stderr and every git object" {
	repo_init "$R" www shop media
	cd "$R"
	rm -f purges/*.yaml
	repo_commit "$R" rules
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	printf 'purge: p-all\nendpoints: [www, shop, media]\nfiles: [/a.png]\n' >purges/p-all.yaml
	repo_commit "$R" purges
	set_faults '{"echo_secrets":true}'
	"$CACHEFORM" plan >"$BATS_TEST_TMPDIR/out1" 2>"$BATS_TEST_TMPDIR/err1" || true
	"$CACHEFORM" apply --first-run --yes --keep-going >"$BATS_TEST_TMPDIR/out2" 2>"$BATS_TEST_TMPDIR/err2" || true
	# the gateway's message is shown, with the credentials replaced
	grep -q 'Authorization=<redacted>' "$BATS_TEST_TMPDIR/out2" "$BATS_TEST_TMPDIR/err2" "$BATS_TEST_TMPDIR/err1" "$BATS_TEST_TMPDIR/out1"
	[ "$(jq -c 'select(.fault == "echo")' "$FAKECDN_JOURNAL" | wc -l)" -gt 2 ]
	# purges accepted, then their task polls echoed: the failure lands in the ledger scrubbed
	set_faults '{"echo_secrets":false,"task_delay_ms":400}'
	printf 'purge: p-two\nendpoints: [www, shop, media]\nfiles: [/b.png]\n' >purges/p-two.yaml
	repo_commit "$R" two
	"$CACHEFORM" apply --first-run --yes --no-wait >"$BATS_TEST_TMPDIR/out3" 2>"$BATS_TEST_TMPDIR/err3" || true
	set_faults '{"echo_secrets":true}'
	"$CACHEFORM" apply --first-run --yes --keep-going >"$BATS_TEST_TMPDIR/out4" 2>"$BATS_TEST_TMPDIR/err4" || true
	secrets_absent "$BATS_TEST_TMPDIR"/out* "$BATS_TEST_TMPDIR"/err*
	git cat-file --batch-all-objects --batch >"$BATS_TEST_TMPDIR/objects"
	grep -q 'p-two' "$BATS_TEST_TMPDIR/objects"
	secrets_absent "$BATS_TEST_TMPDIR/objects"
}

@test "core dumps are off while cacheform runs (RLIMIT_CORE 0, not dumpable)" {
	repo_init "$R" www
	cd "$R"
	set_faults '{"latency_ms":1500}'
	( ulimit -c unlimited 2>/dev/null || true; exec "$CACHEFORM" plan >/dev/null 2>&1 ) &
	local pid=$! i
	sleep 0.7
	kill -0 "$pid"
	grep -E '^Max core file size +0 +0 ' "/proc/$pid/limits"
	# a non-dumpable process's /proc files belong to root
	[ "$(id -u)" -eq 0 ] || [ "$(stat -c %u "/proc/$pid/environ")" -eq 0 ]
	wait "$pid" || true
}

# nine_manifests: endpoints www (azure-china) and media (cdnpro), rules applied, then nine
# one-file purge manifests spread over them.
nine_manifests() {
	repo_init "$R" www media
	cd "$R"
	rm -f purges/*.yaml
	repo_commit "$R" rules
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	local i ep
	for i in 1 2 3 4 5 6 7 8 9; do
		ep=www
		[ $((i % 2)) -eq 0 ] && ep=media
		printf 'purge: p-%s\nendpoints: [%s]\nfiles: [/f%s.png]\n' "$i" "$ep" "$i" >"purges/p-$i.yaml"
	done
	repo_commit "$R" nine
}

@test "three concurrent applies on one repository: each purge reaches the provider once" {
	nine_manifests
	local pids=() k rc
	for k in 1 2 3; do
		"$CACHEFORM" apply --first-run --yes >"$BATS_TEST_TMPDIR/a$k.out" 2>&1 &
		pids+=($!)
	done
	for k in 0 1 2; do
		rc=0
		wait "${pids[$k]}" || rc=$?
		[ "$rc" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/a$((k + 1)).out" >&2; return 1; }
	done
	cat "$BATS_TEST_TMPDIR"/a*.out >&3
	! grep -q 'AddressSanitizer\|runtime error' "$BATS_TEST_TMPDIR"/a*.out || false
	[ "$(jq -c 'select(.op == "purge" and .changed == true)' "$FAKECDN_JOURNAL" | wc -l)" -eq 9 ]
	# the losers said so; a later apply finds everything settled
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ "$(jq -c 'select(.op == "purge" and .changed == true)' "$FAKECDN_JOURNAL" | wc -l)" -eq 9 ]
	[ "$(git cat-file -p refs/cacheform/ledger:$(ledger_rec p-1 www) | jq -r .claim_by)" != null ]
}

# claim_rec REC PROC: the ledger's record REC rewritten as a claim of the apply PROC
# (reconcile/claimant.h) made just now that never sent anything
claim_rec() {
	rewrite_rec "$1" claimed --arg p "$2" --arg now "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		'.status = "claimed" | .tasks = [] | .submitted_at = null | .claim_by = "1@elsewhere"
		 | .claimed_at = $now | .claims = 1 | .claim_proc = $p'
}

@test "a claim whose apply died in this clone is taken over at once; one from another clone or machine waits for its lease" {
	repo_init "$R" www
	cd "$R"
	printf 'purge: p-dead\nendpoints: [www]\nfiles: [/dead.png]\n' >purges/p-dead.yaml
	printf 'purge: p-far\nendpoints: [www]\nfiles: [/far.png]\n' >purges/p-far.yaml
	printf 'purge: p-near\nendpoints: [www]\nfiles: [/near.png]\n' >purges/p-near.yaml
	repo_commit "$R" purges
	bounded apply --first-run --yes --no-wait
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	# an apply that ran here and is gone: its pid, start time, clone, pid namespace and boot
	local pid start clone ns boot
	sleep 30 &
	pid=$!
	start=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f20)
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	ns=$(readlink /proc/self/ns/pid)
	boot=$(cat /proc/sys/kernel/random/boot_id)
	clone=$(stat -c '%d.%i' .git)
	claim_rec "$(ledger_rec p-dead www)" "$pid:$start:$clone:$ns:$boot"
	# the same apply on another machine (another boot): nothing here can tell it is gone
	claim_rec "$(ledger_rec p-far www)" "$pid:$start:$clone:$ns:00000000-0000-4000-8000-000000000000"
	# the same apply in another clone here: it may have sent, so this apply does not race it
	claim_rec "$(ledger_rec p-near www)" "$pid:$start:$(stat -c '%d.%i' "$BATS_TEST_TMPDIR"):$ns:$boot"
	local before
	before=$(jq -c 'select(.op == "purge")' "$FAKECDN_JOURNAL" | wc -l)
	bounded plan
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	grep -q "purge 'p-far' on 'www': taken by another apply (1@elsewhere" <<<"$output"
	grep -q "purge 'p-near' on 'www': taken by another apply (1@elsewhere" <<<"$output"
	grep -q "done .*purge 'p-dead' on 'www'" <<<"$output"
	# one purge more: the dead apply's, sent again; the other claim's stays unsent
	[ "$(jq -c 'select(.op == "purge")' "$FAKECDN_JOURNAL" | wc -l)" -eq $((before + 1)) ]
	git cat-file -p "refs/cacheform/ledger:$(ledger_rec p-dead www)" | jq -e '.status == "succeeded" and .claims == 2'
	git cat-file -p "refs/cacheform/ledger:$(ledger_rec p-far www)" | jq -e '.status == "claimed"'
	git cat-file -p "refs/cacheform/ledger:$(ledger_rec p-near www)" | jq -e '.status == "claimed"'
}

@test "no ledger and purges to run: apply refuses without --first-run; ledger mark or --first-run proceed" {
	repo_init "$R" www
	cd "$R"
	bounded apply --yes
	[ "$status" -eq 1 ]
	[[ "$output" == *"no ledger"*"--first-run"* ]]
	[[ "$output" == *"ledger mark"* ]]
	# nothing at all was applied: no rule write, no purge
	[ "$(jq -c 'select(.changed == true)' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
	run git rev-parse -q --verify refs/cacheform/ledger
	[ "$status" -ne 0 ]
	# adopting the manifests that already ran: the rest needs no flag any more
	bounded ledger mark 2026-11-24-cn-pics 2026-11-21-logo
	[ "$status" -eq 0 ]
	bounded apply --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ "$(jq -c 'select(.op == "purge" and .changed == true)' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
	# a second repository: --first-run runs them
	fakecdn_stop
	fakecdn_start "" --task-delay 20
	rm -rf "$R"
	repo_init "$R" www
	cd "$R"
	bounded apply --yes --first-run
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ "$(jq -c 'select(.op == "purge" and .changed == true)' "$FAKECDN_JOURNAL" | wc -l)" -ge 1 ]
}
