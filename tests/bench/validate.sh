#!/usr/bin/env bash
# Benchmark: `cacheform validate` on 10,000 endpoints x 20 rules + 1,000 purge manifests,
# against the floor (tests/bench/yamlfloor.c: libyaml's parser alone over the same files).
# Targets: validate wall time <= 2x the floor; validate peak RSS <= 5x the input size; the
# marginal RSS (peak RSS - the RSS of validate on a repository with only cacheform.yaml) <= 3x
# the input size at every size (issue 17: 1,000 to 500,000 endpoints).
# Standalone: builds the floor itself. Env: CACHEFORM (default bin/cacheform), ENDPOINTS,
# RULES, PURGES, RUNS (best of N, default 3). Writes tests/bench/out/validate.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOP=$PWD
CACHEFORM=${CACHEFORM:-$TOP/bin/cacheform}
ENDPOINTS=${ENDPOINTS:-10000} RULES=${RULES:-20} PURGES=${PURGES:-1000} RUNS=${RUNS:-3}
OUT=$TOP/tests/bench/out
TIME=/usr/bin/time
mkdir -p "$OUT"
[ -x "$CACHEFORM" ] || { echo "validate.sh: $CACHEFORM not built (run make)" >&2; exit 1; }
[ -x "$TIME" ] || { echo "validate.sh: $TIME missing (apt-get install time)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cf-bench-validate.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
FLOOR=$WORK/yamlfloor
# shellcheck disable=SC2046
cc -std=c17 -O2 -o "$FLOOR" tests/bench/yamlfloor.c $(pkg-config --cflags --libs yaml-0.1)

# The generated repository is valid: distinct items, no lints, real-looking GUIDs and hosts.
R=$WORK/repo
mkdir -p "$R/endpoints" "$R/purges"
cat >"$R/cacheform.yaml" <<'YAML'
version: 1
accounts:
  cn:
    provider: azure-china
    subscription: e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb
    key_id: {env: AZURECDN_KEY_ID}
    key_value: {env: AZURECDN_KEY_VALUE}
YAML
awk -v n="$ENDPOINTS" -v rules="$RULES" -v purges="$PURGES" -v dir="$R" 'BEGIN {
	for (i = 0; i < n; i++) {
		f = sprintf("%s/endpoints/ep%05d.yaml", dir, i)
		printf "endpoint: ep%05d\naccount: cn\nremote:\n  endpoint_id: %08x-71c4-11e7-8259-0017fa00a611\n", i, i > f
		printf "hosts: [ep%05d.example.cn, img-ep%05d.example.cn]\nscheme: https\n", i, i > f
		printf "cache:\n  ignore_cache_control: false\n  ignore_cookie: true\n  ignore_query_string: true\n  rules:\n" > f
		for (r = 0; r < rules; r++) {
			k = r % 3
			if (k == 0) printf "    - dir: [/dir%d/, /static%d/]\n      ttl: %dd\n", r, r, r + 1 > f
			else if (k == 1) printf "    - suffix: [ext%d, bin%d]\n      ttl: %dh30m\n", r, r, r + 1 > f
			else printf "    - path: [/page%d.html]\n      ttl: %d\n", r, r * 60 > f
		}
		close(f)
	}
	for (i = 0; i < purges; i++) {
		f = sprintf("%s/purges/p%05d.yaml", dir, i)
		e = i % n
		printf "purge: 2026-01-01-p%05d\nendpoints: [ep%05d]\n", i, e > f
		printf "files: [/page2.html, https://ep%05d.example.cn/dir0/a.png]\ndirs: [/static0/]\n", e > f
		close(f)
	}
}'
# summed by find: a glob of 500,000 files is over the kernel's argument size limit
INPUT_BYTES=$(find "$R" -type f -name '*.yaml' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
NFILES=$((ENDPOINTS + PURGES + 1))

# Prints "seconds kilobytes" of the best (fastest) of RUNS runs of "$@"; fails if a run fails.
measure() {
	local best_t="" best_m="" t m
	for _ in $(seq "$RUNS"); do
		"$TIME" -f '%e %M' -o "$WORK/time" "$@" >"$WORK/stdout" 2>"$WORK/stderr" ||
			{ cat "$WORK/stdout" "$WORK/stderr" >&2; return 1; }
		read -r t m <"$WORK/time"
		if [ -z "$best_t" ] || awk -v a="$t" -v b="$best_t" 'BEGIN{exit !(a < b)}'; then best_t=$t; fi
		if [ -z "$best_m" ] || [ "$m" -gt "$best_m" ]; then best_m=$m; fi
	done
	echo "$best_t $best_m"
}

# A repository with only cacheform.yaml: the process's own footprint (libraries, libgit2).
mkdir -p "$WORK/empty" && cp "$R/cacheform.yaml" "$WORK/empty/"
read -r _ BASE_M < <(measure "$CACHEFORM" validate --repo "$WORK/empty")
read -r FLOOR_T FLOOR_M < <(measure "$FLOOR" "$R")
read -r VAL_T VAL_M < <(measure "$CACHEFORM" validate --repo "$R")
grep -q '^valid:' "$WORK/stdout" || { echo "validate.sh: generated repository not valid" >&2; head "$WORK/stdout" >&2; exit 1; }

awk -v ft="$FLOOR_T" -v fm="$FLOOR_M" -v vt="$VAL_T" -v vm="$VAL_M" -v bm="$BASE_M" -v in_b="$INPUT_BYTES" \
    -v files="$NFILES" -v eps="$ENDPOINTS" -v rules="$RULES" -v purges="$PURGES" -v out="$OUT/validate.json" 'BEGIN {
	tr = ft > 0 ? vt / ft : (vt > 0 ? 99 : 1)
	mr = (vm * 1024) / in_b
	dr = ((vm - bm) * 1024) / in_b
	tok = tr <= 2.0; mok = mr <= 5.0
	printf "%-28s %12s %12s\n", "", "wall (s)", "peak RSS (MB)"
	printf "%-28s %12.2f %12.1f\n", "libyaml floor (yamlfloor)", ft, fm / 1024
	printf "%-28s %12.2f %12.1f\n", "cacheform validate", vt, vm / 1024
	printf "%-28s %12s %12.1f\n", "validate, empty repository", "", bm / 1024
	printf "input: %d files, %.1f MB (%d endpoints x %d rules, %d purges)\n", files, in_b / 1048576, eps, rules, purges
	printf "time ratio validate/floor: %.2f (target <= 2.0) %s\n", tr, tok ? "ok" : "MISSED"
	printf "RSS / input size:          %.2f (target <= 5.0) %s\n", mr, mok ? "ok" : "MISSED"
	printf "(RSS - empty-repo RSS) / input size: %.2f (marginal; target <= 3.0) %s\n", dr, dr <= 3.0 ? "ok" : "MISSED"
	printf "{\"benchmark\":\"validate\",\"endpoints\":%d,\"rules_per_endpoint\":%d,\"purges\":%d,\"files\":%d,\"input_bytes\":%d,", eps, rules, purges, files, in_b > out
	printf "\"floor_seconds\":%s,\"floor_peak_rss_kb\":%d,\"validate_seconds\":%s,\"validate_peak_rss_kb\":%d,\"empty_repo_peak_rss_kb\":%d,", ft, fm, vt, vm, bm > out
	printf "\"time_ratio\":%.3f,\"rss_ratio\":%.3f,\"marginal_rss_ratio\":%.3f,\"time_target\":2.0,\"rss_target\":5.0,\"marginal_rss_target\":3.0,\"ok\":%s}\n", tr, mr, dr, (tok && mok) ? "true" : "false" > out
	exit !(tok && mok)
}'
