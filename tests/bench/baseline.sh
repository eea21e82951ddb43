#!/usr/bin/env bash
# The way teams run this job today, without cacheform: a shell loop with curl, openssl and jq
# that sends one request per URL, one after another (seeds 000, 001 and 003): an Entra ID
# token fetched with curl, every azure-china request signed with openssl HMAC-SHA256
# (Authorization: AzureCDN KEYID:HEX over "path\r\nquery pairs\r\ndate\r\nMETHOD"), one
# PUT/PATCH per endpoint whose rules changed, then one purge POST per file or directory URL.
# It does not read endpoints first, wait for tasks or check the result: the cheapest form.
#
#   baseline.sh JOBS_DIR BASE_URL
#
# JOBS_DIR (from tests/bench/gen_fleet.sh) holds rules.tsv (provider, API path, body file) and
# purges.tsv (provider, API path, file|dir, URL or path). Credentials come from the
# environment: AZURECDN_KEY_ID, AZURECDN_KEY_VALUE, AZURE_TENANT_ID, AZURE_CLIENT_ID,
# AZURE_CLIENT_SECRET. Prints "requests=N failed=M".
set -euo pipefail
JOBS=$1 BASE=$2
ARM_API=${ARM_API_VERSION:-2024-09-01}
requests=0 failed=0

# One azure-china request: date header, signature over path, sorted query pairs, date, method.
cn_request() {
	local method=$1 path=$2 body=$3 date sig code
	date=$(date -u '+%Y-%m-%d %H:%M:%S')
	sig=$(printf '%s\r\n%s\r\n%s\r\n%s' "$path" "apiVersion:1.0" "$date" "$method" |
		openssl dgst -sha256 -hmac "$AZURECDN_KEY_VALUE" | awk '{print toupper($NF)}')
	code=$(curl -sS -o /dev/null -w '%{http_code}' -X "$method" \
		-H "x-azurecdn-request-date: $date" -H "Authorization: AzureCDN $AZURECDN_KEY_ID:$sig" \
		-H 'Content-Type: application/json' --data-binary "$body" "$BASE$path?apiVersion=1.0") || code=000
	count "$code"
}

arm_request() {
	local method=$1 path=$2 body=$3 code
	code=$(curl -sS -o /dev/null -w '%{http_code}' -X "$method" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --data-binary "$body" "$BASE$path?api-version=$ARM_API") || code=000
	count "$code"
}

count() {
	requests=$((requests + 1))
	case $1 in 2??) ;; *) failed=$((failed + 1)) ;; esac
}

# The token, once, as the seed's script does before its calls.
TOKEN=$(curl -sS -X POST "$BASE/$AZURE_TENANT_ID/oauth2/v2.0/token" \
	--data-urlencode grant_type=client_credentials --data-urlencode "client_id=$AZURE_CLIENT_ID" \
	--data-urlencode "client_secret=$AZURE_CLIENT_SECRET" \
	--data-urlencode 'scope=https://management.azure.com/.default' | jq -r .access_token)
count 200
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || { echo "baseline: no token" >&2; exit 1; }

# Rule writes: the whole policy of each changed endpoint.
while IFS=$'\t' read -r provider path file; do
	[ -n "$provider" ] || continue
	if [ "$provider" = azure-china ]; then
		cn_request PUT "$path" "$(cat "$file")"
	else
		arm_request PATCH "$path" "$(cat "$file")"
	fi
done <"$JOBS/rules.tsv"

# Purges: one request per URL.
while IFS=$'\t' read -r provider path kind url; do
	[ -n "$provider" ] || continue
	if [ "$provider" = azure-china ]; then
		if [ "$kind" = dir ]; then
			cn_request POST "$path" "$(jq -cn --arg u "$url" '{Files: [], Directories: [$u]}')"
		else
			cn_request POST "$path" "$(jq -cn --arg u "$url" '{Files: [$u], Directories: []}')"
		fi
	else
		arm_request POST "$path" "$(jq -cn --arg u "$url" '{contentPaths: [$u]}')"
	fi
done <"$JOBS/purges.tsv"

echo "requests=$requests failed=$failed"
