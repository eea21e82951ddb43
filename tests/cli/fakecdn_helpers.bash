# Helpers for tests that run against fakecdn. Requests are signed here with openssl and curl,
# independently of cacheform's own signing code, so the two can check each other.
#
#   fakecdn_start [STATE] [ARGS...]  start on a free port with a copy of STATE (default: the
#                                    example state); exports FAKECDN_URL, FAKECDN_PORT,
#                                    FAKECDN_JOURNAL, FAKECDN_STATE, FAKECDN_PID
#   fakecdn_stop                     SIGTERM, wait, fail on a non-zero exit (ASan leaks: 99)
#   journal_count OP [FIELD=VALUE]   journal lines with "op" OP (and e.g. changed=true)
#   cn_curl METHOD PATH [BODY]       azure-china request signed with $CN_KEY_ID/$CN_KEY_VALUE
#   pro_curl METHOD PATH [BODY]      cdnpro request with Basic HMAC-SHA1 auth ($PRO_USER/$PRO_KEY)
#   arm_token                        prints a bearer token for the example azure client
#   arm_curl METHOD PATH [BODY]      ARM request with $ARM_TOKEN
#   admin_curl METHOD PATH [BODY]    admin request under /_fakecdn/
# curl helpers print the body, then a last line "HTTP <status>"; headers go to $CURL_HEADERS.

# shellcheck disable=SC2034,SC2154 # credentials are used, and $output set, by the loading bats files
: "${TOP:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${FAKECDN:=$TOP/bin/fakecdn}"
FAKECDN_EXAMPLE_STATE="$TOP/examples/fakecdn/state.json"

# Credentials of the example state (examples/fakecdn/state.json).
CN_SUB=e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb
CN_EP=8137ecc4-71c4-11e7-8259-0017fa00a611
CN_KEY_ID=fakecdn-rw
CN_KEY_VALUE=fakecdn-rw-secret
ARM_SUB=11111111-1111-4111-8111-111111111111
ARM_TENANT=22222222-2222-4222-8222-222222222222
ARM_CLIENT=33333333-3333-4333-8333-333333333333
ARM_SECRET=fakecdn-client-secret
ARM_EP_PATH=/subscriptions/$ARM_SUB/resourceGroups/web-rg/providers/Microsoft.Cdn/profiles/web-cdn/endpoints/shop
PRO_USER=fakecdn
PRO_KEY=fakecdn-api-key

fakecdn_start() {
	local state=${1:-$FAKECDN_EXAMPLE_STATE}
	[ $# -gt 0 ] && shift
	local dir
	dir=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/fakecdn.XXXXXX")
	cp "$state" "$dir/state.json"
	export FAKECDN_DIR=$dir FAKECDN_STATE=$dir/state.json FAKECDN_JOURNAL=$dir/journal.jsonl
	export CURL_HEADERS=$dir/last_headers
	"$FAKECDN" --state "$FAKECDN_STATE" --port 0 --port-file "$dir/port" \
		--journal "$FAKECDN_JOURNAL" "$@" 2>"$dir/stderr" &
	export FAKECDN_PID=$!
	local i
	for i in $(seq 1 200); do
		[ -s "$dir/port" ] && break
		kill -0 "$FAKECDN_PID" 2>/dev/null || { cat "$dir/stderr" >&2; return 1; }
		sleep 0.05
	done
	[ -s "$dir/port" ] || { echo "fakecdn did not start" >&2; return 1; }
	FAKECDN_PORT=$(cat "$dir/port")
	export FAKECDN_PORT FAKECDN_URL=http://127.0.0.1:$FAKECDN_PORT
}

fakecdn_stop() {
	[ -n "${FAKECDN_PID:-}" ] || return 0
	local rc=0
	kill -TERM "$FAKECDN_PID" 2>/dev/null || true
	wait "$FAKECDN_PID" || rc=$?
	FAKECDN_PID=
	if [ "$rc" -ne 0 ]; then
		echo "fakecdn exited with $rc" >&2
		cat "$FAKECDN_DIR/stderr" >&2
		return 1
	fi
}

# journal_count OP [KEY=VALUE...]: counts journal lines whose op is OP and whose other fields
# match (values compared as JSON text: changed=true, status=202, provider="azure").
journal_count() {
	local op=$1 filter
	shift
	filter=".op == \"$op\""
	local kv
	for kv in "$@"; do
		filter="$filter and (.${kv%%=*} | tojson) == (\"${kv#*=}\" | if test(\"^[0-9]+$|^true$|^false$|^null$\") then . else tojson end)"
	done
	jq -c "select($filter)" "$FAKECDN_JOURNAL" | wc -l
}

_curl_out() {
	: "${CURL_HEADERS:=${FAKECDN_DIR:-/tmp}/last_headers}"
	curl -sS -o - -w '\nHTTP %{http_code}\n' -D "$CURL_HEADERS" "$@"
}

# UTC date as the azure-china API wants it; CN_DATE overrides (for skew tests).
cn_date() {
	if [ -n "${CN_DATE:-}" ]; then echo "$CN_DATE"; else date -u '+%Y-%m-%d %H:%M:%S'; fi
}

# cn_sign METHOD PATH QUERY DATE: the AzureCDN signature. QUERY is "a=1&b=2" (decoded values).
cn_sign() {
	local method=$1 path=$2 query=$3 date=$4 pairs
	pairs=$(printf '%s' "$query" | tr '&' '\n' | sed 's/=/:/' | LC_ALL=C sort -t: -k1,1 | paste -sd'|' | sed 's/|/, /g')
	printf '%s\r\n%s\r\n%s\r\n%s' "$path" "$pairs" "$date" "$method" |
		openssl dgst -sha256 -hmac "${CN_KEY_VALUE}" | awk '{print toupper($NF)}'
}

# cn_curl METHOD PATH [BODY]: PATH without query; apiVersion=1.0 is added (CN_QUERY overrides).
cn_curl() {
	local method=$1 path=$2 body=${3:-} query=${CN_QUERY-apiVersion=1.0} date sig
	date=$(cn_date)
	sig=${CN_SIG:-$(cn_sign "$method" "${CN_SIGN_PATH:-$path}" "$query" "$date")}
	local args=(-X "$method" -H "x-azurecdn-request-date: $date" -H "Authorization: AzureCDN $CN_KEY_ID:$sig")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	_curl_out "${args[@]}" "$FAKECDN_URL$path${query:+?$query}"
}

pro_date() {
	if [ -n "${PRO_DATE:-}" ]; then echo "$PRO_DATE"; else LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT'; fi
}

pro_curl() {
	local method=$1 path=$2 body=${3:-} date pass
	date=$(pro_date)
	pass=$(printf '%s' "$date" | openssl dgst -sha1 -hmac "$PRO_KEY" -binary | base64)
	local args=(-X "$method" -H "Date: $date" -u "$PRO_USER:$pass" -H 'Accept: application/json')
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	_curl_out "${args[@]}" "$FAKECDN_URL$path"
}

arm_token() {
	curl -sS -X POST "$FAKECDN_URL/$ARM_TENANT/oauth2/v2.0/token" \
		--data-urlencode grant_type=client_credentials \
		--data-urlencode "client_id=$ARM_CLIENT" \
		--data-urlencode "client_secret=$ARM_SECRET" \
		--data-urlencode 'scope=https://management.azure.com/.default' | jq -r .access_token
}

arm_curl() {
	local method=$1 path=$2 body=${3:-}
	local args=(-X "$method")
	[ -n "${ARM_TOKEN:-}" ] && args+=(-H "Authorization: Bearer $ARM_TOKEN")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	_curl_out "${args[@]}" "$FAKECDN_URL$path"
}

admin_curl() {
	local method=$1 path=$2 body=${3:-}
	local args=(-X "$method")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	_curl_out "${args[@]}" "$FAKECDN_URL/_fakecdn/$path"
}

# http_status: the status from the last line of a *_curl output in $output.
http_status() {
	printf '%s\n' "$output" | tail -1 | awk '{print $2}'
}

# http_body: everything but the status line.
http_body() {
	printf '%s\n' "$output" | sed '$d'
}
