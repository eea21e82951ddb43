#!/usr/bin/env bash
# fakecdn load test (issue 3):
#   1. throughput: wrk against signed azure-china, cdnpro and azure GETs with the latency knob
#      at 1 ms; needs >= 2,000 req/s and no socket errors or non-2xx answers;
#   2. memory: RSS after 100,000 more requests must not grow past MAX_GROWTH_KB;
#   3. leaks: a shorter run against the ASan build, which must exit 0 on SIGTERM.
# Usage: tests/bench/fakecdn_load.sh [RELEASE_BIN [SAN_BIN]]   (defaults: bin/fakecdn, build/san/bin/fakecdn)
set -euo pipefail
cd "$(dirname "$0")/../.."
TOP=$PWD
REL=${1:-${FAKECDN:-$TOP/bin/fakecdn}}
SAN=${2:-${FAKECDN_SAN:-$TOP/build/san/bin/fakecdn}}
MIN_RPS=${MIN_RPS:-2000}
MEM_REQUESTS=${MEM_REQUESTS:-100000}
SAN_REQUESTS=${SAN_REQUESTS:-5000}
MAX_GROWTH_KB=${MAX_GROWTH_KB:-4096}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10s}
command -v wrk >/dev/null || { echo "fakecdn_load: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

start() { # BIN [ARGS...]
	local bin=$1; shift
	rm -f "$WORK/port"
	cp "$TOP/examples/fakecdn/state.json" "$WORK/state.json"
	"$bin" --state "$WORK/state.json" --port 0 --port-file "$WORK/port" --journal "$WORK/journal.jsonl" "$@" 2>"$WORK/stderr" &
	PID=$!
	for _ in $(seq 1 200); do [ -s "$WORK/port" ] && break; sleep 0.05; done
	URL=http://127.0.0.1:$(cat "$WORK/port")
	# No rate limit for the benchmark: the bucket is the thing under test elsewhere.
	curl -sf -X POST "$URL/_fakecdn/faults" -d '{"cdnpro_rate_per_minute":100000000,"cdnpro_burst":100000000}' >/dev/null
}

stop() { # prints nothing; fails when the server does not exit 0
	local rc=0
	kill -TERM "$PID"; wait "$PID" || rc=$?
	PID=
	[ "$rc" -eq 0 ] || { echo "fakecdn exited $rc" >&2; cat "$WORK/stderr" >&2; return 1; }
}

# The Lua script cycles through three authenticated GETs; headers are computed here with
# openssl (the azure-china signature and the cdnpro password hold for the whole run, since
# both only sign the date, which stays inside the skew windows).
write_lua() {
	local cn_path=/subscriptions/e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb/endpoints/8137ecc4-71c4-11e7-8259-0017fa00a611/cacherules
	local d sig pd pass tok
	d=$(date -u '+%Y-%m-%d %H:%M:%S')
	sig=$(printf '%s\r\napiVersion:1.0\r\n%s\r\nGET' "$cn_path" "$d" | openssl dgst -sha256 -hmac fakecdn-rw-secret | awk '{print toupper($NF)}')
	pd=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
	pass=$(printf '%s' "$pd" | openssl dgst -sha1 -hmac fakecdn-api-key -binary | base64)
	tok=$(curl -sf -X POST "$URL/22222222-2222-4222-8222-222222222222/oauth2/v2.0/token" \
		-d grant_type=client_credentials -d client_id=33333333-3333-4333-8333-333333333333 \
		-d client_secret=fakecdn-client-secret --data-urlencode scope=https://management.azure.com/.default | jq -r .access_token)
	cat >"$WORK/mix.lua" <<LUA
local reqs = {
  wrk.format("GET", "$cn_path?apiVersion=1.0", {["x-azurecdn-request-date"] = "$d", ["Authorization"] = "AzureCDN fakecdn-rw:$sig"}),
  wrk.format("GET", "/cdn/purges/purgeTokens?target=production", {["Date"] = "$pd", ["Authorization"] = "Basic $(printf 'fakecdn:%s' "$pass" | base64 -w0)"}),
  wrk.format("GET", "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/web-rg/providers/Microsoft.Cdn/profiles/web-cdn/endpoints/shop?api-version=2024-09-01", {["Authorization"] = "Bearer $tok"}),
}
local i = 0
function request() i = i % #reqs + 1; return reqs[i] end
LUA
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }

# run_count N: at least N more requests, counted in the journal (one line per request).
run_count() {
	local target=$(( $(wc -l <"$WORK/journal.jsonl") + $1 ))
	while [ "$(wc -l <"$WORK/journal.jsonl")" -lt "$target" ]; do
		wrk -t"$THREADS" -c"$CONNS" -d1s -s "$WORK/mix.lua" "$URL" >"$WORK/wrk-count.txt"
		check_clean "$WORK/wrk-count.txt"
	done
}

check_clean() { # wrk output must show no socket errors and no non-2xx answers
	if grep -qE 'Socket errors|Non-2xx' "$1"; then
		cat "$1" >&2
		jq -r '"\(.provider) \(.op) \(.status)"' "$WORK/journal.jsonl" | sort | uniq -c >&2
		echo "fakecdn_load: errors under load" >&2
		return 1
	fi
}

echo "== throughput: $CONNS connections, latency knob 1 ms, $DURATION"
start "$REL" --latency 1
write_lua
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$WORK/mix.lua" "$URL" >"$WORK/wrk.txt"
cat "$WORK/wrk.txt"
check_clean "$WORK/wrk.txt"
rps=$(awk '/^Requests\/sec:/ {printf "%d", $2}' "$WORK/wrk.txt")
echo "requests/s: $rps (need >= $MIN_RPS)"
[ "$rps" -ge "$MIN_RPS" ] || { echo "fakecdn_load: too slow" >&2; exit 1; }
stop

echo "== memory: RSS over $MEM_REQUESTS requests (after a warm-up of the same size)"
start "$REL"
write_lua
run_count "$MEM_REQUESTS"
before=$(rss_kb)
run_count "$MEM_REQUESTS"
after=$(rss_kb)
growth=$(( after - before ))
echo "RSS after warm-up ${before} kB, after $MEM_REQUESTS more requests ${after} kB, growth ${growth} kB (max $MAX_GROWTH_KB)"
lines=$(wc -l <"$WORK/journal.jsonl")
echo "journal lines: $lines"
stop
[ "$growth" -le "$MAX_GROWTH_KB" ] || { echo "fakecdn_load: memory grows" >&2; exit 1; }

if [ -x "$SAN" ]; then
	echo "== leaks: $SAN_REQUESTS requests against the ASan build, then SIGTERM"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=99}
	start "$SAN"
	write_lua
	run_count "$SAN_REQUESTS"
	# A few writes too, so task bookkeeping is exercised before the leak check.
	curl -sf -X PUT "$URL/_fakecdn/azure-china/8137ecc4-71c4-11e7-8259-0017fa00a611/cacherules" -d '{"Rules":[]}' >/dev/null
	stop
	echo "ASan: clean exit"
else
	echo "== leaks: skipped ($SAN not built; make VARIANT=san)"
fi
echo "fakecdn_load: ok"
