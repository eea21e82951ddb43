#!/usr/bin/env bash
# The cacheform tour, against the local emulator: validate -> plan -> apply -> plan (nothing
# left) -> a change made behind cacheform's back -> drift reports it as `external` -> the edge
# caches what the YAML says -> www moves to Azure Front Door (`migrate`), planning clean.
#
# Runs from a clean clone after `make` (`make demo` does both). Nothing outside a temporary
# directory is touched and no real CDN is contacted: every account's base_url points at
# fakecdn on a free loopback port. CACHEFORM and FAKECDN select the binaries (default bin/).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHEFORM=${CACHEFORM:-$TOP/bin/cacheform}
FAKECDN=${FAKECDN:-$TOP/bin/fakecdn}
STATE=$TOP/examples/fakecdn/state.json
START_WAIT_TRIES=100 # x 0.05 s: how long the emulator may take to pick its port
started=$SECONDS
step_no=0
STEPS=10
FD_RG=fd-rg FD_PROFILE=web-afd # the Front Door profile the demo adds to the emulator's state

for bin in "$CACHEFORM" "$FAKECDN"; do
	[ -x "$bin" ] || { echo "demo: $bin is missing; run 'make' first" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cacheform-demo.XXXXXX")
FAKECDN_PID=
cleanup() {
	if [ -n "$FAKECDN_PID" ]; then
		kill -TERM "$FAKECDN_PID" 2>/dev/null || true
		wait "$FAKECDN_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
	step_no=$((step_no + 1))
	printf '\n==> [%d/%d] %s\n' "$step_no" "$STEPS" "$1"
}

# Prints the command, runs it, and returns its exit code without stopping the script.
show() {
	printf '$ %s\n' "$*"
	local rc=0
	"$@" || rc=$?
	return "$rc"
}

# expect CODE CMD...: runs CMD and stops the demo unless it exits with CODE.
expect() {
	local want=$1 rc=0
	shift
	show "$@" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "demo: expected exit code $want, got $rc" >&2
		exit 1
	fi
}

cacheform() {
	"$CACHEFORM" "$@"
}

step "Start fakecdn, the local emulator of the three CDN APIs"
# The example state plus an empty Front Door profile with an endpoint for www to move to.
jq --arg rg "$FD_RG" --arg p "$FD_PROFILE" '.settings.afd_op_ms = 200 | .frontdoor = {profiles: [{
	subscription: .azure.subscriptions[0].id, resource_group: $rg, name: $p,
	sku: "Standard_AzureFrontDoor", ruleSets: [],
	afdEndpoints: [{name: "www", hostName: "www-c3d4.z01.azurefd.net", routes: [{
		name: "default", properties: {
			cacheConfiguration: {queryStringCachingBehavior: "UseQueryString", queryParameters: null},
			ruleSets: [], patternsToMatch: ["/*"], supportedProtocols: ["Https", "Http"],
			linkToDefaultDomain: "Enabled"}}]}]}]}' "$STATE" >"$WORK/state.json"
"$FAKECDN" --state "$WORK/state.json" --port 0 --port-file "$WORK/port" \
	--journal "$WORK/journal.jsonl" 2>"$WORK/fakecdn.log" &
FAKECDN_PID=$!
for _ in $(seq "$START_WAIT_TRIES"); do
	[ -s "$WORK/port" ] && break
	kill -0 "$FAKECDN_PID" 2>/dev/null || { cat "$WORK/fakecdn.log" >&2; exit 1; }
	sleep 0.05
done
[ -s "$WORK/port" ] || { echo "demo: fakecdn did not start" >&2; exit 1; }
URL=http://127.0.0.1:$(cat "$WORK/port")
echo "fakecdn is serving azure-china, azure and cdnpro on $URL (pid $FAKECDN_PID)"

step "Make a desired-state repository: a copy of examples/ pointed at the emulator"
REPO=$WORK/repo
mkdir -p "$REPO"
cp -R "$TOP/examples/cacheform.yaml" "$TOP/examples/endpoints" "$TOP/examples/purges" "$REPO/"
# Each account gets base_url (and login_url for azure) right after its secret's line; real
# repositories leave them out and talk to the providers' public endpoints.
awk -v url="$URL" '
	{ print }
	/^    (key_value|api_key):/ { print "    base_url: " url }
	/^    client_secret:/ { print "    base_url: " url; print "    login_url: " url }
' "$TOP/examples/cacheform.yaml" >"$REPO/cacheform.yaml"
git -C "$REPO" init -q -b main
git -C "$REPO" add -A
git -C "$REPO" -c user.name=demo -c user.email=demo@example.com -c commit.gpgsign=false \
	commit -q -m "CDN cache configuration"
echo "$REPO: $(find "$REPO/endpoints" -name '*.yaml' | wc -l) endpoints," \
	"$(find "$REPO/purges" -name '*.yaml' | wc -l) purge manifests, commit $(git -C "$REPO" rev-parse --short HEAD)"
cd "$REPO"
# The credentials the emulator's state file defines (secrets come from the environment).
AZURECDN_KEY_ID=$(jq -r '.azure_china.subscriptions[0].keys[] | select(.access == "read-write" and .status == "Active") | .id' "$STATE" | head -n 1)
AZURECDN_KEY_VALUE=$(jq -r --arg id "$AZURECDN_KEY_ID" '.azure_china.subscriptions[0].keys[] | select(.id == $id) | .value' "$STATE")
AZURE_SUBSCRIPTION_ID=$(jq -r '.azure.subscriptions[0].id' "$STATE")
AZURE_TENANT_ID=$(jq -r '.azure.tenants[0].id' "$STATE")
AZURE_CLIENT_ID=$(jq -r '.azure.tenants[0].clients[0].client_id' "$STATE")
AZURE_CLIENT_SECRET=$(jq -r '.azure.tenants[0].clients[0].client_secret' "$STATE")
CDNPRO_USER=$(jq -r '.cdnpro.users[0].user' "$STATE")
CDNPRO_API_KEY=$(jq -r '.cdnpro.users[0].api_key' "$STATE")
export AZURECDN_KEY_ID AZURECDN_KEY_VALUE AZURE_SUBSCRIPTION_ID AZURE_TENANT_ID AZURE_CLIENT_ID \
	AZURE_CLIENT_SECRET CDNPRO_USER CDNPRO_API_KEY
echo "credentials exported from $STATE (AZURECDN_KEY_ID, AZURE_CLIENT_ID, CDNPRO_USER, ...)"

step "Validate offline: syntax, rule semantics, purge URLs, provider limits"
expect 0 cacheform validate

step "Plan: read every endpoint once and show what apply would change"
expect 2 cacheform plan --detailed-exitcode

step "Apply: write the rules that differ, run the purges, record them in the ledger"
expect 0 cacheform apply --yes --first-run
echo
expect 0 cacheform ledger list

step "Plan again: nothing left to do (static-cn is observe-only: reported, never written)"
expect 0 cacheform plan --detailed-exitcode

step "Someone edits www's cache rules in the provider's console (the emulator's admin API)"
WWW_ID=$(awk '/endpoint_id:/ { print $2; exit }' "$REPO/endpoints/www.yaml")
curl -fsS "$URL/_fakecdn/state" |
	jq --arg id "$WWW_ID" '.azure_china.subscriptions[].endpoints[] | select(.id == $id) | .cacherules | .Rules[1].TTL = 300' \
		>"$WORK/console-rules.json"
printf '$ curl -X PUT %s/_fakecdn/azure-china/%s/cacherules  (rule 2 TTL -> 5 minutes)\n' "$URL" "$WWW_ID"
curl -fsS -X PUT -H 'Content-Type: application/json' --data-binary @"$WORK/console-rules.json" \
	"$URL/_fakecdn/azure-china/$WWW_ID/cacherules" >/dev/null

step "Drift: desired vs live vs last applied; www changed outside cacheform"
rc=0
show cacheform drift >"$WORK/drift.txt" || rc=$?
cat "$WORK/drift.txt"
if [ "$rc" -ne 2 ] || ! grep -q '^www (.*): external: ' "$WORK/drift.txt"; then
	echo "demo: drift should exit 2 and report www as external (exit $rc)" >&2
	exit 1
fi

step "Through the edge: www's /about.html is cached for the 10m its YAML gives dir: [/]"
# fakecdn is also the CDNs' edge: a request for an endpoint's host name is answered as that CDN
# would, cached by the live rules, with X-Cache and Age. Its clock is frozen and moved on here
# instead of waiting ten minutes.
PORT=$(cat "$WORK/port")
curl -fsS -X POST -d '{"freeze": true}' "$URL/_fakecdn/clock" >/dev/null
edge_get() { # prints and returns "X-Cache Age" of the next request
	local got
	got=$(curl -sS -o /dev/null -D - --connect-to "www.example.cn:80:127.0.0.1:$PORT" \
		http://www.example.cn/about.html | tr -d '\r' | awk -F': ' '
		tolower($1) == "x-cache" { x = $2 } tolower($1) == "age" { a = $2 }
		END { print x, a }')
	printf '$ curl -sD- -o /dev/null --connect-to www.example.cn:80:127.0.0.1:%s http://www.example.cn/about.html\n' "$PORT" >&2
	printf '  X-Cache: %s  Age: %s\n' "${got% *}" "${got#* }" >&2
	echo "$got"
}
advance() {
	printf '$ curl -X POST %s/_fakecdn/clock -d '"'"'{"advance_s": %s}'"'"'\n' "$URL" "$1"
	curl -fsS -X POST -d "{\"advance_s\": $1}" "$URL/_fakecdn/clock" >/dev/null
}
want() { # want EXPECTED GOT
	[ "$1" = "$2" ] || { echo "demo: expected '$1' through the edge, got '$2'" >&2; exit 1; }
}
want "TCP_MISS 0" "$(edge_get)"
want "TCP_HIT 0" "$(edge_get)"
advance 599
want "TCP_HIT 599" "$(edge_get)"
advance 1
want "TCP_MISS 0" "$(edge_get)"
echo "cached for exactly 600 s = 10m, as endpoints/www.yaml says"

step "Move www off the retired azure-china to Azure Front Door: migrate, apply, plan clean"
# A Front Door account (the emulator's azure tenant), then the translation of www with every gap
# named; --write writes endpoints/www-fd.yaml and sets www to mode: observe.
sed -i "/^accounts:/r /dev/stdin" cacheform.yaml <<YAML
  fd:
    provider: azure-frontdoor
    subscription: {env: AZURE_SUBSCRIPTION_ID}
    tenant: {env: AZURE_TENANT_ID}
    client_id: {env: AZURE_CLIENT_ID}
    client_secret: {env: AZURE_CLIENT_SECRET}
    base_url: $URL
    login_url: $URL
YAML
git -c user.name=demo -c user.email=demo@example.com -c commit.gpgsign=false commit -q -am "Front Door account"
expect 0 cacheform migrate --to fd --remote resource_group="$FD_RG" --remote profile="$FD_PROFILE" \
	--remote route=default -e www --write
git add -A
git -c user.name=demo -c user.email=demo@example.com -c commit.gpgsign=false commit -q -m "www on Front Door"
expect 0 cacheform apply --yes -e www-fd
expect 0 cacheform plan --detailed-exitcode -e www-fd
expect 0 cacheform explain --live -e www-fd /index.html /pic/a.jpg /about.html

printf '\ndemo finished in %ds: %d requests served by fakecdn (journal: one JSON line each)\n' \
	$((SECONDS - started)) "$(wc -l <"$WORK/journal.jsonl")"
