#!/usr/bin/env bats
# Fault injection: cacheform plan/apply against a fakecdn that fails in the ways real networks
# and providers do (random 5xx, 429 storms, dropped connections, truncated and malformed
# bodies, wrong JSON types, huge bodies, answers slower than the timeout, TLS from the wrong
# CA or for the wrong host name). Every scenario must end converged (after the faults stop) or
# with a clear message and a documented exit code; never a crash, a hang (every run is under
# `timeout`), a sanitizer report, or a ledger that disagrees with what the provider received
# (journal).
load helpers
load reconcile_helpers

RUN_LIMIT=60 # seconds for one cacheform run; a hang fails the test instead of the suite

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

no_faults() {
	set_faults '{"error_rate":0,"drop_rate":0,"truncate_rate":0,"malformed_rate":0,"throttle_every":0,"throttle_for_ms":0,"latency_ms":0}'
}

# bounded CMD...: runs cacheform under $RUN_LIMIT; fails on a hang, a sanitizer report or an
# exit code outside the documented table; a non-zero exit must come with an error line.
bounded() {
	run timeout -k 5 "$RUN_LIMIT" "$CACHEFORM" "$@"
	assert_no_sanitizer
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		echo "cacheform $* did not finish within ${RUN_LIMIT}s" >&2
		return 1
	fi
	case $status in
	0 | 1 | 2 | 3 | 4 | 5) ;;
	*) echo "cacheform $*: undocumented exit status $status: $output" >&2; return 1 ;;
	esac
	if [ "$status" -eq 1 ] || [ "$status" -eq 5 ]; then
		[[ "$output" == *"error"* || "$output" == *"FAILED"* ]] ||
			{ echo "exit $status without an error message: $output" >&2; return 1; }
	fi
}

# Records what a fault-free apply would submit: "ENDPOINT REQUESTS" per endpoint.
expect_requests() {
	bounded plan --format json
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -r '.purges[] | select(.state == "run") | "\(.endpoint) \(.requests)"' |
		awk '{n[$1] += $2} END {for (e in n) print e, n[e]}' | sort >"$BATS_TEST_TMPDIR/expected"
	[ -s "$BATS_TEST_TMPDIR/expected" ]
}

# Endpoint name for each purge or preload POST the provider accepted (changed its state),
# one line per request, from the journal and the repository's remote ids.
accepted_requests() {
	local script="" f name id
	for f in endpoints/*.yaml; do
		name=$(sed -n 's/^endpoint: *//p' "$f")
		id=$(sed -n 's/^ *endpoint_id: *//p' "$f")
		[ -n "$id" ] && script="$script;s#^/subscriptions/[^/]*/endpoints/$id/(purges|preloads)\$#$name#"
		id=$(sed -n 's/^ \{1,\}endpoint: *//p' "$f")
		[ -n "$id" ] && script="$script;s#^/subscriptions/.*/endpoints/$id/(purge|load)\$#$name#"
		grep -q '^ *target:' "$f" && script="$script;s#^/cdn/(purges|prefetches)\$#$name#"
	done
	jq -r 'select((.op == "purge" or .op == "preload") and .changed == true) | .path' "$FAKECDN_JOURNAL" |
		sed -E "${script#;}"
}

# "ENDPOINT STATUS" for each purge record in the ledger.
ledger_records() {
	run timeout 20 "$CACHEFORM" ledger list
	assert_no_sanitizer || return 1
	[ "$status" -eq 0 ] || { echo "ledger list: $output" >&2; return 1; }
	printf '%s\n' "$output" | awk '/^PURGE /{on=1; next} /^$/{on=0} on {print $2, $3}'
}

# The ledger agrees with the provider: every endpoint that received a purge or preload has a
# ledger record, and no endpoint has more succeeded records than requests the provider took.
ledger_matches_journal() {
	local led acc ep n_ok n_acc
	led=$(ledger_records) || return 1
	acc=$(accepted_requests)
	for ep in $(printf '%s\n' "$acc" | sort -u); do
		grep -q "^$ep " <<<"$led" || {
			echo "the provider accepted requests for '$ep' but the ledger has no record" >&2
			return 1
		}
	done
	for ep in $(awk '{print $1}' <<<"$led" | sort -u); do
		n_ok=$(awk -v e="$ep" '$1 == e && $2 == "succeeded"' <<<"$led" | wc -l)
		n_acc=$(grep -cx "$ep" <<<"$acc")
		[ "$n_ok" -le "$n_acc" ] || {
			echo "ledger: $n_ok succeeded purges on '$ep', the provider accepted $n_acc requests" >&2
			return 1
		}
	done
}

# Per endpoint, accepted requests compared with the fault-free count: OP is -eq (faults the
# provider never processed: nothing may be repeated or lost) or -ge (nothing lost).
requests_vs_expected() {
	local op=$1 ep want got
	while read -r ep want; do
		got=$(accepted_requests | grep -cx "$ep")
		[ "$got" "$op" "$want" ] || {
			echo "'$ep': the provider accepted $got purge/preload requests, expected $op $want" >&2
			return 1
		}
	done <"$BATS_TEST_TMPDIR/expected"
}

# Up to N applies under the current faults, then the faults stop and one more apply must
# converge: exit 0, every ledger record succeeded, and a plan shows nothing pending.
apply_then_converge() {
	local n=$1 i
	for i in $(seq 1 "$n"); do
		bounded apply --first-run --yes
		[ "$status" -eq 0 ] && break
	done
	no_faults
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	bounded plan --detailed-exitcode
	[ "$status" -eq 0 ] || { echo "not converged: $output" >&2; return 1; }
	! ledger_records | grep -v ' succeeded$' | grep -q . || {
		echo "ledger records not succeeded after convergence:" >&2
		ledger_records >&2
		return 1
	}
}

@test "random 5xx: retried, converges, each purge submitted exactly once" {
	expect_requests
	set_faults '{"error_rate":0.4}'
	apply_then_converge 3
	[ "$(jq -c 'select(.fault == "error")' "$FAKECDN_JOURNAL" | wc -l)" -gt 0 ]
	ledger_matches_journal
	requests_vs_expected -eq
}

@test "429 storm: Retry-After honoured, converges, nothing submitted twice" {
	expect_requests
	set_faults '{"throttle_every":2,"retry_after_s":1}'
	apply_then_converge 2
	[ "$(jq -c 'select(.fault == "throttle")' "$FAKECDN_JOURNAL" | wc -l)" -gt 3 ]
	ledger_matches_journal
	requests_vs_expected -eq
}

@test "throttled for longer than the retries last: clear failure, nothing half-recorded" {
	set_faults '{"throttle_for_ms":600000,"retry_after_s":1}'
	bounded apply --first-run --yes
	[ "$status" -eq 1 ]
	[[ "$output" == *"429"* || "$output" == *"throttl"* || "$output" == *"Too"* ]]
	[ "$(accepted_requests | wc -l)" -eq 0 ]
	ledger_matches_journal
	[ -z "$(ledger_records)" ]
}

@test "dropped connections: a purge is retried only when it provably was not accepted" {
	expect_requests
	set_faults '{"drop_rate":0.3}'
	apply_then_converge 3
	[ "$(jq -c 'select(.fault == "drop")' "$FAKECDN_JOURNAL" | wc -l)" -gt 0 ]
	ledger_matches_journal
	requests_vs_expected -eq
}

@test "truncated bodies: clear errors, ledger knows every accepted purge, converges" {
	expect_requests
	set_faults '{"truncate_rate":0.3}'
	apply_then_converge 3
	[ "$(jq -c 'select(.fault == "truncate")' "$FAKECDN_JOURNAL" | wc -l)" -gt 0 ]
	ledger_matches_journal
	requests_vs_expected -ge
}

@test "malformed JSON: clear errors, ledger knows every accepted purge, converges" {
	expect_requests
	set_faults '{"malformed_rate":0.3}'
	apply_then_converge 3
	[ "$(jq -c 'select(.fault == "malformed")' "$FAKECDN_JOURNAL" | wc -l)" -gt 0 ]
	ledger_matches_journal
	requests_vs_expected -ge
}

@test "answers slower than the timeout: bounded failure with a timeout message" {
	sed -i "s#^    base_url: $FAKECDN_URL\$#&\n    timeout: 1s#" cacheform.yaml
	[ "$(grep -c 'timeout: 1s' cacheform.yaml)" -eq 3 ]
	repo_commit "$R" timeout
	set_faults '{"latency_ms":2500}'
	local t0=$SECONDS
	bounded plan
	[ "$status" -eq 1 ]
	[[ "$output" == *"imeout"* || "$output" == *"timed out"* ]]
	[ $((SECONDS - t0)) -lt 50 ]
	no_faults
	bounded plan
	[ "$status" -eq 0 ]
}

# A stub provider for what fakecdn does not inject: answers every request with one body.
stub_start() {
	local body=$1
	cat >"$BATS_TEST_TMPDIR/stub.py" <<'PY'
import http.server, sys
body = open(sys.argv[1], 'rb').read()
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get('Content-Length') or 0)
        if n: self.rfile.read(n)
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        try: self.wfile.write(body)
        except BrokenPipeError: pass
    do_GET = do_PUT = do_POST = do_PATCH = answer
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
open(sys.argv[2], 'w').write(str(s.server_address[1]))
s.serve_forever()
PY
	python3 "$BATS_TEST_TMPDIR/stub.py" "$body" "$BATS_TEST_TMPDIR/stub.port" &
	STUB_PID=$!
	local i
	for i in $(seq 1 100); do [ -s "$BATS_TEST_TMPDIR/stub.port" ] && break; sleep 0.05; done
	STUB_URL=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/stub.port")
	# point the azure-china account (endpoint www) at the stub
	awk -v u="$STUB_URL" '/^  cn:/{cn=1} /^  [a-z]+:$/ && !/^  cn:/{cn=0} cn && /base_url:/{sub(/base_url: .*/, "base_url: " u)} {print}' \
		cacheform.yaml >cacheform.yaml.new && mv cacheform.yaml.new cacheform.yaml
	grep -q "base_url: $STUB_URL" cacheform.yaml
	repo_commit "$R" stub
}

@test "wrong JSON types from the provider: refused with a located message, exit 1" {
	printf '%s' '{"Rules":"all of them","IgnoreCacheControl":1,"IgnoreCookie":[],"IgnoreQueryString":{"a":null}}' \
		>"$BATS_TEST_TMPDIR/body"
	stub_start "$BATS_TEST_TMPDIR/body"
	bounded plan -e www
	[ "$status" -eq 1 ]
	[[ "$output" == *"www"* && "$output" == *"error"* ]]
	bounded apply --first-run --yes -e www
	[ "$status" -eq 1 ]
	# nothing was written to a provider whose state could not be read
	[ "$(ledger_records | wc -l)" -eq 0 ]
}

@test "huge response body: capped, refused, no memory blow-up" {
	python3 -c "import sys; sys.stdout.write('{\"Rules\":[' + '{\"Type\":\"Dir\",\"Items\":[\"/a/\"],\"TTL\":1},' * 500000 + '{\"Type\":\"Dir\",\"Items\":[\"/b/\"],\"TTL\":1}],\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}')" \
		>"$BATS_TEST_TMPDIR/body"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/body")" -gt $((16 << 20)) ]
	stub_start "$BATS_TEST_TMPDIR/body"
	bounded plan -e www
	[ "$status" -eq 1 ]
	[[ "$output" == *"www"* && "$output" == *"error"* ]]
}

# Certificates for 127.0.0.1 from one CA, and an unrelated CA.
make_certs() {
	local d=$BATS_TEST_TMPDIR/pki
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=good-ca -keyout "$d/ca.key" \
		-out "$d/ca.pem" 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout "$d/other.key" \
		-out "$d/other.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$d/server.key" \
		-out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null
	[ -s "$d/server.pem" ]
}

# https base URLs for every account with the given CA bundle.
use_tls() {
	local ca=$1
	sed -i -E -e "s#http(s?)://127.0.0.1:[0-9]+#https://127.0.0.1:$FAKECDN_PORT#" \
		-e '/^    ca_file:/d' cacheform.yaml
	sed -i "s#^    base_url: https://127.0.0.1:$FAKECDN_PORT\$#&\n    ca_file: $ca#" cacheform.yaml
	[ "$(grep -c "ca_file: $ca" cacheform.yaml)" -eq 3 ]
	repo_commit "$R" tls
}

@test "TLS: a certificate from the wrong CA is refused before any request; the right CA works" {
	make_certs
	fakecdn_stop
	fakecdn_start "" --task-delay 20 --tls-cert "$BATS_TEST_TMPDIR/pki/server.pem" \
		--tls-key "$BATS_TEST_TMPDIR/pki/server.key"
	use_tls "$BATS_TEST_TMPDIR/pki/other.pem"
	bounded plan
	[ "$status" -eq 1 ]
	[[ "$output" == *"certificate"* || "$output" == *"SSL"* || "$output" == *"TLS"* ]]
	[ "$(jq -c 'select(.provider != "admin")' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
	use_tls "$BATS_TEST_TMPDIR/pki/ca.pem"
	bounded plan
	[ "$status" -eq 0 ]
	[ "$(journal_ops read_rules)" -gt 0 ]
}

# A server certificate signed by the trusted CA (make_certs first) but issued for another
# host name: CN and SAN other.example, so neither 127.0.0.1 nor localhost matches it.
make_wrong_name_cert() {
	local d=$BATS_TEST_TMPDIR/pki
	openssl req -newkey rsa:2048 -nodes -subj /CN=other.example -keyout "$d/wrong-name.key" \
		-out "$d/wrong-name.csr" 2>/dev/null
	printf 'subjectAltName=DNS:other.example\n' >"$d/wrong-name.ext"
	openssl x509 -req -in "$d/wrong-name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/wrong-name.ext" -out "$d/wrong-name.pem" 2>/dev/null
	[ -s "$d/wrong-name.pem" ]
}

@test "TLS: a trusted certificate for another host name is refused before any request" {
	make_certs
	make_wrong_name_cert
	fakecdn_stop
	fakecdn_start "" --task-delay 20 --tls-cert "$BATS_TEST_TMPDIR/pki/wrong-name.pem" \
		--tls-key "$BATS_TEST_TMPDIR/pki/wrong-name.key"
	use_tls "$BATS_TEST_TMPDIR/pki/ca.pem"
	bounded plan
	[ "$status" -eq 1 ]
	# libcurl (OpenSSL): "SSL: no alternative certificate subject name matches target host
	# name '127.0.0.1'"; a refused peer is fatal, so no retries either
	[[ "$output" == *"certificate subject name"*"127.0.0.1"* ]] || { echo "$output" >&2; return 1; }
	[[ "$output" == *"(1 attempt)"* && "$output" != *"attempts)"* ]]
	[ "$(jq -c 'select(.provider != "admin")' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
	# positive control: the same CA, a certificate for IP:127.0.0.1 and DNS:localhost
	fakecdn_stop
	fakecdn_start "" --task-delay 20 --tls-cert "$BATS_TEST_TMPDIR/pki/server.pem" \
		--tls-key "$BATS_TEST_TMPDIR/pki/server.key"
	use_tls "$BATS_TEST_TMPDIR/pki/ca.pem"
	bounded plan
	[ "$status" -eq 0 ]
	[ "$(journal_ops read_rules)" -gt 0 ]
}

@test "a purge the provider accepted is not submitted again after the connection fails" {
	# One azure endpoint, one manifest: a purge (azure offers no preload: CF425).
	# Connections drop after the purge was accepted, while apply polls its task (whose delay
	# leaves room for a loaded machine to set the fault first).
	fakecdn_stop
	fakecdn_start "" --task-delay 6000
	cd "$BATS_TEST_TMPDIR"
	rm -rf "$R"
	repo_init "$R" shop
	cd "$R"
	rm -f purges/*.yaml # one manifest: the example's shop logo purge is not part of this story
	cat >purges/p-shop.yaml <<'Y'
purge: p-shop
endpoints: [shop]
files: [/a.png]
Y
	repo_commit "$R" p-shop
	expect_requests
	timeout -k 5 "$RUN_LIMIT" "$CACHEFORM" apply --first-run --yes --timeout 5s >"$BATS_TEST_TMPDIR/apply1" 2>&1 &
	local pid=$! i
	for i in $(seq 1 200); do
		[ "$(accepted_requests | wc -l)" -ge 1 ] && break
		sleep 0.05
	done
	[ "$(accepted_requests | wc -l)" -eq 1 ]
	set_faults '{"drop_rate":1,"only":"azure"}'
	local rc=0
	wait "$pid" || rc=$?
	output=$(cat "$BATS_TEST_TMPDIR/apply1")
	assert_no_sanitizer
	[ "$rc" -eq 1 ] || [ "$rc" -eq 5 ] || { echo "apply: exit $rc: $output" >&2; return 1; }
	set_faults '{"drop_rate":0,"only":""}'
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	ledger_matches_journal
	# the purge went out once
	requests_vs_expected -eq
}

# ---- deterministic faults on chosen requests: a proxy in front of fakecdn for the cn account.
# proxy_rules JSON: [{"method", "path_re", "action": "error"|"malformed", "times": N}]; times -1
# is every time. "error" answers 500 without forwarding (the provider never saw it);
# "malformed" forwards, then replaces the provider's answer body (it processed the request).

proxy_start() {
	PROXY_RULES=$BATS_TEST_TMPDIR/proxy-rules.json
	echo '[]' >"$PROXY_RULES"
	cat >"$BATS_TEST_TMPDIR/proxy.py" <<'PY'
import http.server, http.client, json, re, sys, threading
upstream_port = int(sys.argv[1]); rules_path = sys.argv[2]; port_file = sys.argv[3]
lock = threading.Lock()
HOP = {'connection', 'keep-alive', 'transfer-encoding', 'content-length'}
def take(method, path):
    with lock:
        try: rules = json.load(open(rules_path))
        except (OSError, ValueError): return None
        for r in rules:
            if r['method'] == method and re.search(r['path_re'], path) and r.get('times', -1) != 0:
                if r.get('times', -1) > 0:
                    r['times'] -= 1
                    json.dump(rules, open(rules_path, 'w'))
                return r['action']
    return None
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP: self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def answer(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else None
        action = take(self.command, self.path.split('?')[0])
        if action == 'error':
            return self.reply(500, [('Content-Type', 'application/json')], b'{"error":"injected"}')
        c = http.client.HTTPConnection('127.0.0.1', upstream_port, timeout=30)
        c.request(self.command, self.path, body,
                  {k: v for k, v in self.headers.items() if k.lower() not in HOP})
        r = c.getresponse()
        data = r.read()
        if action == 'malformed':
            data = b'{"malformed'
        self.reply(r.status, r.getheaders(), data)
    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = answer
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
open(port_file, 'w').write(str(s.server_address[1]))
s.serve_forever()
PY
	python3 "$BATS_TEST_TMPDIR/proxy.py" "$FAKECDN_PORT" "$PROXY_RULES" "$BATS_TEST_TMPDIR/proxy.port" &
	STUB_PID=$!
	local i
	for i in $(seq 1 100); do [ -s "$BATS_TEST_TMPDIR/proxy.port" ] && break; sleep 0.05; done
	local url=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/proxy.port")
	awk -v u="$url" '/^  cn:/{cn=1} /^  [a-z]+:$/ && !/^  cn:/{cn=0} cn && /base_url:/{sub(/base_url: .*/, "base_url: " u)} {print}' \
		cacheform.yaml >cacheform.yaml.new && mv cacheform.yaml.new cacheform.yaml
	grep -q "base_url: $url" cacheform.yaml
}

proxy_rules() {
	printf '%s\n' "$1" >"$PROXY_RULES"
}

# One azure-china endpoint (www, through the proxy), its rules applied, then one manifest
# p-www; $1: extra YAML for it.
www_repo() {
	cd "$BATS_TEST_TMPDIR"
	rm -rf "$R"
	repo_init "$R" www
	cd "$R"
	rm -f purges/*.yaml
	proxy_start
	repo_commit "$R" www
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	printf 'purge: p-www\nendpoints: [www]\nfiles: [/a.png]\n%s' "${1:-}" >purges/p-www.yaml
	repo_commit "$R" p-www
}

# accepted OP: requests of that op ("purge" or "preload") the provider accepted.
accepted() {
	jq -c --arg op "$1" 'select(.op == $op and .changed == true)' "$FAKECDN_JOURNAL" | wc -l
}

# purge_record: the ledger's JSON record of p-www on www.
purge_record() {
	git cat-file -p refs/cacheform/ledger:$(ledger_rec p-www www)
}

@test "a purge accepted before its preload was refused is not sent again: only the preload is" {
	www_repo 'preload: [/index.html]
'
	proxy_rules '[{"method":"POST","path_re":"/preloads$","action":"error","times":-1}]'
	bounded apply --first-run --yes
	[ "$status" -eq 1 ]
	[ "$(accepted purge)" -eq 1 ]
	[ "$(accepted preload)" -eq 0 ]
	purge_record | jq -e '.status == "failed" and ([.tasks[] | select(.preload == false and .batch == 0 and .state == "succeeded")] | length == 1)'
	bounded plan --format json
	[ "$(printf '%s\n' "$output" | jq -r '.purges[] | select(.id == "p-www") | .state')" = retry ]
	# still refused: the retry sends the preload again, never the purge
	bounded apply --first-run --yes
	[ "$status" -eq 1 ]
	[ "$(accepted purge)" -eq 1 ]
	proxy_rules '[]'
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ "$(accepted purge)" -eq 1 ]
	[ "$(accepted preload)" -eq 1 ]
	purge_record | jq -e '.status == "succeeded"'
	bounded plan --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "an unreadable answer to a purge: recorded unknown, retry-unknown in the plan, sent once more" {
	www_repo
	proxy_rules '[{"method":"POST","path_re":"/purges$","action":"malformed","times":1}]'
	bounded apply --first-run --yes
	[ "$status" -eq 1 ]
	[[ "$output" == *"may have accepted it"* ]]
	[ "$(accepted purge)" -eq 1 ]
	purge_record | jq -e '.status == "unknown" and .tasks[0].state == "unknown" and .tasks[0].batch == 0'
	[ "$(ledger_records)" = "www unknown" ]
	bounded plan --format json
	[ "$(printf '%s\n' "$output" | jq -r '.purges[] | select(.id == "p-www") | .state')" = retry-unknown ]
	bounded plan --detailed-exitcode
	[ "$status" -eq 2 ]
	[[ "$output" == *"could not be read"* ]]
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ "$(accepted purge)" -eq 2 ]
	purge_record | jq -e '.status == "succeeded"'
	# settled: never sent again
	bounded apply --first-run --yes
	[ "$status" -eq 0 ]
	[ "$(accepted purge)" -eq 2 ]
}

@test "polls that keep failing: apply gives up on the task, names it, leaves it submitted" {
	www_repo
	proxy_rules '[{"method":"GET","path_re":"/operations/","action":"error","times":-1}]'
	local t0=$SECONDS
	CACHEFORM_PROGRESS_EVERY=1 bounded apply --first-run --yes
	[ "$status" -eq 1 ]
	[ $((SECONDS - t0)) -lt 30 ] || { echo "$output" >&2; return 1; }
	local id
	id=$(purge_record | jq -r '.tasks[0].id')
	[ -n "$id" ] || { echo "$output" >&2; return 1; }
	[[ "$output" == *"purge 'p-www' on 'www': gave up on purge task $id after 5 failed polls"* ]]
	[[ "$output" == *"last error: "*"500"* ]]
	# without a terminal, a line at most every CACHEFORM_PROGRESS_EVERY seconds
	[[ "$output" == *"cacheform: writing 0/1, waiting for 1 task ("*" s): purge 'p-www' on 'www' (task $id)"* ]]
	purge_record | jq -e '.status == "submitted"'
	bounded plan --format json
	[ "$(printf '%s\n' "$output" | jq -r '.purges[] | select(.id == "p-www") | .state')" = pending ]
	proxy_rules '[]'
	bounded apply --first-run --yes
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ "$(accepted purge)" -eq 1 ]
	purge_record | jq -e '.status == "succeeded"'
}
