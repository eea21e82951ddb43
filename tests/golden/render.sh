#!/usr/bin/env bash
# Renders every output format of validate, plan, diff and drift (gitlab and junit included) on a copy of examples/ against
# fakecdn, normalised (ports, commit ids, times, temporary paths), one file per case into
# OUTDIR. tests/cli/golden.bats compares them with tests/golden/*.out; `UPDATE_GOLDEN=1 bats
# tests/cli/golden.bats` rewrites those after an intended change (review the git diff).
# usage: render.sh OUTDIR   (CACHEFORM, FAKECDN: the binaries)
set -euo pipefail
OUT=$1
TOP=$(cd "$(dirname "$0")/../.." && pwd)
STATE=$TOP/examples/fakecdn/state.json
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cacheform-golden.XXXXXX")
FAKECDN_PID=
cleanup() {
	[ -z "$FAKECDN_PID" ] || { kill -TERM "$FAKECDN_PID" 2>/dev/null || true; wait "$FAKECDN_PID" 2>/dev/null || true; }
	rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"

cp "$STATE" "$WORK/state.json"
"$FAKECDN" --state "$WORK/state.json" --port 0 --port-file "$WORK/port" --task-delay 0 \
	--journal "$WORK/journal.jsonl" 2>"$WORK/fakecdn.log" &
FAKECDN_PID=$!
for _ in $(seq 200); do [ -s "$WORK/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(cat "$WORK/port")

REPO=$WORK/repo
mkdir -p "$REPO"
cp -R "$TOP/examples/endpoints" "$TOP/examples/purges" "$REPO/"
awk -v url="$URL" '
	{ print }
	/^    (key_value|api_key):/ { print "    base_url: " url }
	/^    client_secret:/ { print "    base_url: " url; print "    login_url: " url }
' "$TOP/examples/cacheform.yaml" >"$REPO/cacheform.yaml"
g() { git -C "$REPO" -c user.name=golden -c user.email=golden@example.com -c commit.gpgsign=false "$@"; }
g init -q -b main
g add -A
g commit -q -m "examples"

export AZURECDN_KEY_ID=$(jq -r '.azure_china.subscriptions[0].keys[] | select(.access == "read-write" and .status == "Active") | .id' "$STATE" | head -n 1)
export AZURECDN_KEY_VALUE=$(jq -r --arg id "$AZURECDN_KEY_ID" '.azure_china.subscriptions[0].keys[] | select(.id == $id) | .value' "$STATE")
export AZURE_SUBSCRIPTION_ID=$(jq -r '.azure.subscriptions[0].id' "$STATE")
export AZURE_TENANT_ID=$(jq -r '.azure.tenants[0].id' "$STATE")
export AZURE_CLIENT_ID=$(jq -r '.azure.tenants[0].clients[0].client_id' "$STATE")
export AZURE_CLIENT_SECRET=$(jq -r '.azure.tenants[0].clients[0].client_secret' "$STATE")
export CDNPRO_USER=$(jq -r '.cdnpro.users[0].user' "$STATE")
export CDNPRO_API_KEY=$(jq -r '.cdnpro.users[0].api_key' "$STATE")
export NO_COLOR=1

# normalise < raw > stable: what differs between runs is replaced by a placeholder.
normalise() {
	sed -E -e "s#$WORK#<work>#g" -e "s#127\.0\.0\.1:[0-9]+#127.0.0.1:<port>#g" \
		-e 's#\b[0-9a-f]{40}\b#<commit>#g' -e 's#\b[0-9a-f]{12}\b#<commit12>#g' \
		-e 's#[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z#<time>#g' \
		-e 's#"(applied_at|submitted_at|generated_at|time)":[0-9]+#"\1":<time>#g' \
		-e 's#in [0-9]+(\.[0-9]+)? ?(ms|s)\b#in <elapsed>#g' \
		-e 's#[0-9]+\.[0-9]+\.[0-9]+(-dev)?\+([0-9]+\.)?g[0-9a-f]+(\.dirty)?#<version>#g'
}
# case NAME EXPECTED-EXIT CMD...: records stdout and the exit code.
case_() {
	local name=$1 want=$2 rc=0
	shift 2
	(cd "$REPO" && "$CACHEFORM" "$@") >"$WORK/raw" 2>"$WORK/err" || rc=$?
	{ normalise <"$WORK/raw"; echo "[exit $rc]"; } >"$OUT/$name.out"
	if [ "$rc" -ne "$want" ]; then
		echo "golden: '$*' exited $rc, expected $want" >&2
		cat "$WORK/err" >&2
	fi
}

for f in text json github sarif gitlab junit; do case_ "validate-$f" 0 validate --format "$f"; done
# a broken copy: a bad rule item, an unknown key and a purge URL on a foreign host
BAD=$WORK/bad
cp -R "$REPO" "$BAD"
printf 'endpoint: bad\naccount: cn\nremote: {endpoint_id: 00000000-0000-0000-0000-000000000000}\nhosts: [bad.example.com]\ncolour: blue\ncache:\n  rules:\n    - dir: [/a*b/]\n      ttl: 1d\n' >"$BAD/endpoints/bad.yaml"
printf 'purge: p1\nendpoints: [bad]\nfiles: [https://elsewhere.example.com/x.png]\n' >"$BAD/purges/p1.yaml"
# (gitlab's fingerprints hash the path as printed, which holds the temporary directory here)
for f in text json github sarif gitlab junit; do
	rc=0
	"$CACHEFORM" validate --repo "$BAD" --format "$f" >"$WORK/raw" 2>&1 || rc=$?
	{ normalise <"$WORK/raw" | sed -E 's#"fingerprint":"[0-9a-f]{32}"#"fingerprint":"<fp>"#g'; echo "[exit $rc]"; } >"$OUT/validate-bad-$f.out"
done
for f in text json markdown github; do case_ "plan-$f" 2 plan --detailed-exitcode --format "$f"; done

# a commit that changes rules, adds an endpoint file and a purge: what diff reports
sed -i 's/ttl: 30d$/ttl: 60d/' "$REPO/endpoints/www.yaml"
g commit -q -am "longer ttl"
for f in text json markdown; do case_ "diff-$f" 0 diff --base HEAD~1 --head HEAD --format "$f"; done

(cd "$REPO" && "$CACHEFORM" apply --yes --first-run >/dev/null 2>&1) ||
	(cd "$REPO" && "$CACHEFORM" apply --yes >/dev/null 2>&1) || true
for f in text json markdown gitlab junit; do case_ "drift-applied-$f" 2 drift --format "$f"; done # static-cn is observe-only
# a change behind cacheform's back: drift reports it as external
WWW_ID=$(awk '/endpoint_id:/ { print $2; exit }' "$REPO/endpoints/www.yaml")
curl -fsS "$URL/_fakecdn/state" |
	jq --arg id "$WWW_ID" '.azure_china.subscriptions[].endpoints[] | select(.id == $id) | .cacherules | .Rules[1].TTL = 300' \
		>"$WORK/rules.json"
curl -fsS -X PUT -H 'Content-Type: application/json' --data-binary @"$WORK/rules.json" \
	"$URL/_fakecdn/azure-china/$WWW_ID/cacherules" >/dev/null
for f in text json markdown gitlab junit; do case_ "drift-external-$f" 2 drift --format "$f"; done
