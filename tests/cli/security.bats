#!/usr/bin/env bats
# Security properties, end to end: secrets never leave memory (outputs, debug traces, plan
# files, the ledger), no CR/LF reaches a header, purges stay on the endpoint's own hosts and
# paths, secret files must be private, and plain http:// only ever goes to loopback.
load helpers
load reconcile_helpers

setup() {
	fakecdn_start "" --task-delay 20
	R=$BATS_TEST_TMPDIR/repo
	repo_init "$R"
	cd "$R"
}

teardown() {
	fakecdn_stop
	if [ -n "${STUB_PID:-}" ]; then kill "$STUB_PID" 2>/dev/null; wait "$STUB_PID" 2>/dev/null; fi
	true
}

# cacheform under a time bound, with the sanitizer check every run gets.
cfb() {
	run timeout -k 5 60 "$CACHEFORM" "$@"
	assert_no_sanitizer
	[ "$status" -ne 124 ] || { echo "cacheform $* hung" >&2; return 1; }
}

# Fails when any of the known secret values occurs in the file or text given.
no_secret_in() {
	local s
	for s in "$CN_KEY_VALUE" "$ARM_SECRET" "$PRO_KEY"; do
		if grep -aqF -- "$s" "$@"; then
			echo "secret '$s' found in $*:" >&2
			grep -anF -- "$s" "$@" | head -5 >&2
			return 1
		fi
	done
}

# refute_grep ERE FILE: fails when the pattern occurs (bats ignores a bare `! cmd`).
refute_grep() {
	if grep -aE -- "$1" "$2"; then
		echo "unexpected match for '$1' in $2" >&2
		return 1
	fi
}

# Journal lines other than the admin surface.
provider_requests() {
	jq -c 'select(.provider != "admin")' "$FAKECDN_JOURNAL" | wc -l
}

@test "secrets (env and {file:}) never reach stdout, stderr, debug traces, plan files or the ledger" {
	# the azure client secret comes from a private file, the others from the environment
	mkdir -p secrets
	printf '%s\n' "$ARM_SECRET" >secrets/azure
	chmod 600 secrets/azure
	sed -i 's#client_secret: {env: AZURE_CLIENT_SECRET}#client_secret: {file: secrets/azure}#' cacheform.yaml
	grep -q 'client_secret: {file: secrets/azure}' cacheform.yaml
	printf 'secrets/\n' >.gitignore
	repo_commit "$R" secrets
	unset AZURE_CLIENT_SECRET
	local out=$BATS_TEST_TMPDIR/out
	mkdir -p "$out"

	CACHEFORM_DEBUG=1 cfb plan --out "$out/plan.json"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$out/plan.log"
	# the trace is on and shows redacted credentials, so the grep below means something
	grep -q 'Authorization' "$out/plan.log"
	grep -q '<redacted>' "$out/plan.log"
	refute_grep 'Bearer [A-Za-z0-9._-]{16,}' "$out/plan.log"
	refute_grep 'AzureCDN [^ <]+:[0-9A-Fa-f]{16,}' "$out/plan.log"
	refute_grep '[Aa]uthorization: *[Bb]asic [A-Za-z0-9+/=]{8,}' "$out/plan.log"

	# --debug is the command-line spelling of CACHEFORM_DEBUG=1, accepted anywhere
	cfb --debug apply "$out/plan.json" --yes --first-run
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$out/apply.log"
	grep -q 'Authorization' "$out/apply.log"
	grep -q '<redacted>' "$out/apply.log"
	cfb ledger list
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$out/ledger.log"
	cfb ledger show 2026-11-21-logo
	printf '%s\n' "$output" >>"$out/ledger.log"
	cfb drift --format json
	printf '%s\n' "$output" >"$out/drift.log"
	cfb plan --format markdown
	printf '%s\n' "$output" >"$out/plan.md"
	# every object in the repository, the ledger ref's commits and blobs included
	git rev-parse --verify -q refs/cacheform/ledger
	git cat-file --batch-all-objects --batch >"$out/objects"
	[ -s "$out/objects" ]
	no_secret_in "$out"/*
}

@test "secret files readable by group or others are refused, saying so" {
	mkdir -p secrets
	printf '%s\n' "$ARM_SECRET" >secrets/azure
	sed -i 's#client_secret: {env: AZURE_CLIENT_SECRET}#client_secret: {file: secrets/azure}#' cacheform.yaml
	repo_commit "$R" file-secret
	local mode
	for mode in 640 604 644; do
		chmod "$mode" secrets/azure
		: >"$FAKECDN_JOURNAL"
		cfb plan -e shop
		[ "$status" -eq 1 ]
		[[ "$output" == *"secrets/azure"* && "$output" == *"readable by group or others"* ]]
		no_secret_in <(printf '%s\n' "$output")
		[ "$(journal_ops token)" -eq 0 ]
	done
	chmod 600 secrets/azure
	cfb plan -e shop
	[ "$status" -eq 0 ]
	[ "$(journal_ops token)" -eq 1 ]
}

@test "{file: ../../etc/passwd}: refused without echoing the file" {
	sed -i 's#client_secret: {env: AZURE_CLIENT_SECRET}#client_secret: {file: ../../../../../../etc/passwd}#' cacheform.yaml
	repo_commit "$R" traversal
	cfb plan -e shop
	[ "$status" -eq 1 ]
	[[ "$output" == *"readable by group or others"* ]]
	[[ "$output" != *"root:"* ]]
	[ "$(journal_ops token)" -eq 0 ]
}

# expect_refused CODE: validate and apply both refuse the repository, apply before any
# provider request.
expect_refused() {
	local code=$1
	repo_commit "$R" hostile
	cfb validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"$code"* ]] || { echo "expected $code: $output" >&2; return 1; }
	: >"$FAKECDN_JOURNAL"
	cfb apply --first-run --yes
	[ "$status" -eq 1 ]
	[ "$(provider_requests)" -eq 0 ] || { echo "requests were sent:" >&2; cat "$FAKECDN_JOURNAL" >&2; return 1; }
}

@test "CR/LF in a host is refused before any request" {
	sed -i 's#^hosts: \[www.example.cn\]#hosts: ["www.example.cn\\r\\nX-Injected: 1"]#' endpoints/www.yaml
	grep -q 'X-Injected' endpoints/www.yaml
	expect_refused CF214
}

@test "encoded CR/LF in a purge URL is refused before any request" {
	cat >purges/evil-crlf.yaml <<'Y'
purge: evil-crlf
endpoints: [www]
files: ["/a%0d%0aX-Injected:%201.png", "https://www.example.cn/b%0Ac"]
Y
	expect_refused CF409
}

@test "CR/LF in a key id (literal or from the environment) never reaches a header" {
	sed -i 's#key_id: {env: AZURECDN_KEY_ID}#key_id: "fakecdn-rw\\r\\nX-Injected: 1"#' cacheform.yaml
	grep -q 'X-Injected' cacheform.yaml
	repo_commit "$R" keyid
	: >"$FAKECDN_JOURNAL"
	cfb plan -e www
	[ "$status" -eq 1 ]
	[ "$(provider_requests)" -eq 0 ]
	repo_settings >cacheform.yaml
	repo_commit "$R" restore
	AZURECDN_KEY_ID=$'fakecdn-rw\r\nX-Injected: 1' cfb plan -e www
	[ "$status" -eq 1 ]
	[ "$(provider_requests)" -eq 0 ]
	[[ "$output" != *$'\r'* ]]
}

@test "purge URLs for hosts outside the endpoint are refused before any request" {
	cat >purges/evil-host.yaml <<'Y'
purge: evil-host
endpoints: [www]
files: [https://victim.example.org/logo.png]
dirs: ["https://www.example.cn.evil.example.org/img/"]
Y
	expect_refused CF403
	[[ "$output" == *"victim.example.org"* ]]
}

@test "'..' and '.' segments in purge URLs are refused, plain or encoded" {
	cat >purges/evil-dots.yaml <<'Y'
purge: evil-dots
endpoints: [www]
files: [/img/../../etc/passwd, "/img/%2e%2e/admin", "https://www.example.cn/./x", "/a/%2E/b"]
dirs: [/img/../]
Y
	expect_refused CF408
	[ "$(grep -c CF408 <<<"$output")" -ge 1 ]
	cfb validate --format json
	[ "$(printf '%s\n' "$output" | jq '[.. | objects | select(.code? == "CF408")] | length')" -ge 5 ]
}

# A listener on every interface that records connections, for the http:// checks.
stub_start() {
	cat >"$BATS_TEST_TMPDIR/stub.py" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 0)); s.listen(16)
open(sys.argv[1], 'w').write(str(s.getsockname()[1]))
while True:
    c, a = s.accept()
    with open(sys.argv[2], 'a') as f: f.write('%s\n' % a[0])
    c.close()
PY
	: >"$BATS_TEST_TMPDIR/conns"
	python3 "$BATS_TEST_TMPDIR/stub.py" "$BATS_TEST_TMPDIR/stub.port" "$BATS_TEST_TMPDIR/conns" &
	STUB_PID=$!
	local i
	for i in $(seq 1 100); do [ -s "$BATS_TEST_TMPDIR/stub.port" ] && break; sleep 0.05; done
	STUB_PORT=$(cat "$BATS_TEST_TMPDIR/stub.port")
}

@test "plain http:// to a non-loopback base_url is refused by validate and never connected" {
	stub_start
	local ip
	ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -1)
	[ -n "$ip" ] || ip=192.0.2.1
	local url
	for url in "http://$ip:$STUB_PORT" "http://127.0.0.1.nip.io:$STUB_PORT" "http://2130706433:$STUB_PORT"; do
		repo_settings | sed "0,\#base_url: $FAKECDN_URL#s##base_url: $url#" >cacheform.yaml
		grep -q "base_url: $url" cacheform.yaml
		repo_commit "$R" "http $url"
		cfb validate
		[ "$status" -eq 1 ]
		[[ "$output" == *CF210* ]]
		cfb plan -e www
		[ "$status" -eq 1 ]
		cfb import --account cn --remote endpoint_id=$CN_EP --name probe
		[ "$status" -ne 0 ]
		[ ! -e endpoints/probe.yaml ]
	done
	[ ! -s "$BATS_TEST_TMPDIR/conns" ] || { echo "connections were made:" >&2; cat "$BATS_TEST_TMPDIR/conns" >&2; return 1; }
	# the same listener on loopback is accepted (so the refusals above are about the host)
	repo_settings | sed "0,\#base_url: $FAKECDN_URL#s##base_url: http://127.0.0.1:$STUB_PORT#" >cacheform.yaml
	repo_commit "$R" loopback
	cfb validate
	[ "$status" -eq 0 ]
}
