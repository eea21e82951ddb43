#!/usr/bin/env bash
# The Terraform way of the Front Door benchmark (azurerm_cdn_frontdoor_rule: one resource per
# rule, in per-rule rule sets): for each changed rule, one after another, a PUT of that rule
# and polls of its long-running operation (Azure-AsyncOperation, every Retry-After seconds)
# until it succeeded, as the provider's LRO poller does before the next resource. The rule
# is found in its rule set's listing (the state Terraform would hold). Not general: it edits
# the cacheDuration of a rule whose UrlPath matchValues end with the given value.
#
#   baseline_afd.sh RULES_TSV BASE_URL SUBSCRIPTION RESOURCE_GROUP API_VERSION
#
# RULES_TSV (tests/bench/gen_afd_fleet.sh's change.sh): profile, rule set, match value, new
# cacheDuration. Credentials: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET.
# Prints "rules=N writes=N polls=N failed=N".
set -euo pipefail
TSV=$1 BASE=$2 SUB=$3 RG=$4 API=$5
writes=0 polls=0 failed=0 rules=0
TOKEN=$(curl -sS -X POST "$BASE/$AZURE_TENANT_ID/oauth2/v2.0/token" \
	--data-urlencode grant_type=client_credentials --data-urlencode "client_id=$AZURE_CLIENT_ID" \
	--data-urlencode "client_secret=$AZURE_CLIENT_SECRET" \
	--data-urlencode 'scope=https://management.azure.com/.default' | jq -r .access_token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || { echo "baseline_afd: no token" >&2; exit 1; }
H=$(mktemp) B=$(mktemp)
trap 'rm -f "$H" "$B"' EXIT

# wait_op: polls the operation of the last answer ($H) until it is no longer InProgress.
wait_op() {
	local url st after
	url=$(tr -d '\r' <"$H" | awk -F': ' 'tolower($1) == "azure-asyncoperation" { print $2 }')
	after=$(tr -d '\r' <"$H" | awk -F': ' 'tolower($1) == "retry-after" { print $2 }')
	[ -n "$url" ] || return 0
	while :; do
		sleep "${after:-1}"
		st=$(curl -sS -H "Authorization: Bearer $TOKEN" "$url" | jq -r .status)
		polls=$((polls + 1))
		[ "$st" = InProgress ] || break
	done
	[ "$st" = Succeeded ] || failed=$((failed + 1))
}

while IFS=$'\t' read -r prof set value dur; do
	[ -n "$prof" ] || continue
	rules=$((rules + 1))
	base="$BASE/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Cdn/profiles/$prof/ruleSets/$set/rules"
	curl -sS -H "Authorization: Bearer $TOKEN" "$base?api-version=$API" >"$B"
	name=$(jq -r --arg v "$value" '[.value[] | select(any(.properties.conditions[]?.parameters.matchValues[]?; endswith($v)))][0].name' "$B")
	body=$(jq -c --arg n "$name" --arg d "$dur" '.value[] | select(.name == $n)
		| {properties: (.properties | del(.ruleSetName, .provisioningState, .deploymentStatus)
			| .actions |= map(if .name == "RouteConfigurationOverride"
				then .parameters.cacheConfiguration.cacheDuration = $d else . end))}' "$B")
	code=$(curl -sS -o /dev/null -D "$H" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --data-binary "$body" "$base/$name?api-version=$API") || code=000
	writes=$((writes + 1))
	case $code in 2??) wait_op ;; *) failed=$((failed + 1)) ;; esac
done <"$TSV"
echo "rules=$rules writes=$writes polls=$polls failed=$failed"
