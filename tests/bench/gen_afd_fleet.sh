#!/usr/bin/env bash
# Generates the Front Door fleet of the `afd` benchmark (tests/bench/run.sh):
#
#   gen_afd_fleet.sh OUT [ENDPOINTS] [PROFILES] [RULES] [API_VERSION]
#
#   OUT/state.json    a fakecdn state with PROFILES Front Door profiles holding ENDPOINTS
#                     afdEndpoints between them (endpoint i in profile i * PROFILES / ENDPOINTS),
#                     each with a route "default" and no rule set yet; global operations take
#                     0 ms (the benchmark converges first, then sets the afd_op_ms knob)
#   OUT/repo/         desired state: one azure-frontdoor endpoint per afdEndpoint, RULES dir rules
#                     each (/dK/ ttl 1h), cacheform's rule set "cfNNN" on the route
#   OUT/change.sh     edits the repository: on every tenth endpoint (10%), rules 5 and 9 get new
#                     TTLs (2h, 3h); writes OUT/jobs/afd_rules.tsv (profile, rule set, rule match
#                     value, new duration: one line per changed rule, for baseline_afd.sh)
#   OUT/expect.env    AFD_ENDPOINTS, AFD_CHANGED (endpoints), AFD_CHANGED_RULES, AFD_FLOOR_OPS:
#                     the most changed endpoints in one profile, i.e. the global operations that
#                     must run one after another in a profile when one rule set costs one write
#
# Credentials are fakecdn's example ones.
set -euo pipefail
OUT=$1 N=${2:-100} P=${3:-4} RULES=${4:-20} API=${5:-2026-07-01}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ARM_SUB=11111111-1111-4111-8111-111111111111
ARM_TENANT=22222222-2222-4222-8222-222222222222
mkdir -p "$OUT/repo/endpoints" "$OUT/repo/purges" "$OUT/jobs"

prof_of() { echo $(($1 * P / N)); }

# state: profiles fdpK, endpoints fdNNN with hostName fdNNN.z01.azurefd.net
jq --arg sub "$ARM_SUB" --argjson n "$N" --argjson p "$P" '
	.settings.afd_op_ms = 0
	| .frontdoor = {profiles: [range(0; $p) as $k | {
		subscription: $sub, resource_group: "fd-rg", name: "fdp\($k)", sku: "Standard_AzureFrontDoor",
		ruleSets: [],
		afdEndpoints: [range(0; $n) | select((. * $p / $n | floor) == $k) | . as $i |
			("fd" + ("00\($i)" | .[-3:])) as $name | {
			name: $name, hostName: "\($name).z01.azurefd.net",
			routes: [{name: "default", properties: {
				cacheConfiguration: {queryStringCachingBehavior: "IgnoreQueryString",
					queryParameters: null, compressionSettings: {isCompressionEnabled: false}},
				ruleSets: [], patternsToMatch: ["/*"], supportedProtocols: ["Https"],
				linkToDefaultDomain: "Enabled"}}]}]}]}' \
	"$TOP/examples/fakecdn/state.json" >"$OUT/state.json"

cat >"$OUT/repo/cacheform.yaml" <<Y
version: 1
accounts:
  fd:
    provider: azure-frontdoor
    cloud: global
    subscription: $ARM_SUB
    tenant: $ARM_TENANT
    client_id: 33333333-3333-4333-8333-333333333333
    client_secret: {env: AZURE_CLIENT_SECRET}
    api_version: $API
    base_url: {env: FAKECDN_URL}
    login_url: {env: FAKECDN_URL}
Y
for i in $(seq 0 $((N - 1))); do
	name=$(printf 'fd%03d' "$i")
	{
		printf 'endpoint: %s\naccount: fd\n' "$name"
		printf 'remote: {resource_group: fd-rg, profile: fdp%s, endpoint: %s, route: default, rule_set: cf%03d}\n' \
			"$(prof_of "$i")" "$name" "$i"
		printf 'hosts: [%s.z01.azurefd.net]\ncache:\n  ignore_query_string: true\n  rules:\n' "$name"
		for k in $(seq 1 "$RULES"); do printf '    - {dir: [/d%s/], ttl: 1h}\n' "$k"; done
	} >"$OUT/repo/endpoints/$name.yaml"
done

# the change, and the floor: changed endpoints per profile, the largest count
changed=0 floor=0
declare -A per
: >"$OUT/change.list"
for i in $(seq 0 10 $((N - 1))); do
	p=$(prof_of "$i")
	per[$p]=$((${per[$p]:-0} + 1))
	[ "${per[$p]}" -gt "$floor" ] && floor=${per[$p]}
	changed=$((changed + 1))
	printf '%03d\t%s\n' "$i" "$p" >>"$OUT/change.list"
done
cat >"$OUT/change.sh" <<'S'
#!/usr/bin/env bash
# Applies the benchmark's change to the repository and lists the changed rules for the baseline.
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
: >"$D/jobs/afd_rules.tsv"
while IFS=$'\t' read -r i p; do
	sed -i 's|{dir: \[/d5/\], ttl: 1h}|{dir: [/d5/], ttl: 2h}|; s|{dir: \[/d9/\], ttl: 1h}|{dir: [/d9/], ttl: 3h}|' \
		"$D/repo/endpoints/fd$i.yaml"
	printf 'fdp%s\tcf%s\td5/\t02:00:00\n' "$p" "$i" >>"$D/jobs/afd_rules.tsv"
	printf 'fdp%s\tcf%s\td9/\t03:00:00\n' "$p" "$i" >>"$D/jobs/afd_rules.tsv"
done <"$D/change.list"
S
cat >"$OUT/expect.env" <<E
AFD_ENDPOINTS=$N
AFD_PROFILES=$P
AFD_CHANGED=$changed
AFD_CHANGED_RULES=$((changed * 2))
AFD_FLOOR_OPS=$floor
E
