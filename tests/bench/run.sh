#!/usr/bin/env bash
# `make bench`: reproducible benchmarks of cacheform against fakecdn on loopback.
#
#   bash tests/bench/run.sh [validate|plan|apply|cdnpro|baseline|...|fleet|shard|cdnpro-props]...
#   (default: all of them, the fleet-size ones last)
#
#   validate  10,000 endpoints x 20 rules + 1,000 purges against a bare libyaml parse
#             (tests/bench/validate.sh; targets: time <= 2x, peak RSS <= 5x the input, peak RSS
#             minus that of an empty repository <= 3x the input)
#   plan      1,000 endpoints (azure-china + azure), fakecdn latency 50 ms, parallelism 1 (on a
#             200-endpoint subset: P1_ENDPOINTS), 8, 16, 32: wall time against the floor
#             (minimum requests x latency / parallelism; target <= 1.25x at 8, 16 and 32) and
#             requests made (fakecdn journal) against the minimum (one read per endpoint plus
#             one token per azure account)
#   apply     the same fleet with 10% of the endpoints changed and 200 purge manifests:
#             rule writes and purge requests against the minimum (one write per changed
#             endpoint, purges packed by the 100-item per-request cap), wall time against the
#             floor (minimum requests x latency / parallelism + two task waits)
#   cdnpro    purge manifests on cdnpro at its default 30/min bucket with burst 60: zero 429
#             answers and wall time within 10% of the bucket's own floor
#   sem       tests/bench/sem.sh: explain evaluations/s on a 25-rule endpoint per provider
#             (target >= 1,000,000/s) and plan's per-endpoint cost of the behaviour comparison
#   planbeh   plan over BEH_ENDPOINTS (10,000) endpoints, 10% of them changed, latency 0: the CPU
#             the behaviour comparison takes against the rest of plan's CPU (CACHEFORM_PLAN_STATS;
#             target <= 10%)
#   planrss   peak RSS of a plan over RSS_ENDPOINTS (1,000) azure-china endpoints whose answers are
#             8 MiB each (fakecdn read_padding_bytes), default parallelism (target < 256 MiB)
#   baseline  tests/bench/baseline.sh (curl + openssl + jq, one request per URL, one after
#             another) doing the apply benchmark's rule and purge job: speed-up and request ratio
#   ledger    plan and a ledger commit with LEDGER_RECORDS ("10000 1000000") purge records on
#             refs/cacheform/ledger (tests/bench/gen_ledger.py writes them directly), against the
#             same with an empty ledger (the floor), on the ENDPOINTS fleet at LEDGER_LATENCY_MS
#             (0: what is measured is cacheform's own cost): plan adds <= 0.5 s, a commit
#             (`ledger mark` of one manifest) adds <= 50 ms and writes <= 64 KiB (plan: the best
#             of LEDGER_PLAN_RUNS (3) runs, with its CPU seconds); reading every
#             record (`ledger list`: seconds, peak RSS) and `ledger compact` of all of them once.
#             Growth factors between the sizes. Never part of `make test`.
#   afd       Front Door (about 14 minutes at 30 s per operation):
#             AFD_ENDPOINTS (100) endpoints x 20 rules in AFD_PROFILES (4) profiles
#             (tests/bench/gen_afd_fleet.sh), converged, then 10% of the endpoints changed (2
#             rules each) and applied with global operations of AFD_OP_MS (30000) each: wall
#             time against the floor (the most changed rule sets in one profile x AFD_OP_MS: a
#             profile runs one global operation at a time; target <= 1.1x) and rule-set writes
#             (journal) against one per changed endpoint; then the Terraform way
#             (tests/bench/baseline_afd.sh: one operation per changed rule, serially, on
#             per-rule rule sets) against the same floor
#   fleet     FLEET_SIZES ("1000 10000 100000") endpoints, half azure-china, half azure, 10% of
#             them changed (tests/bench/gen_fleet.sh), fakecdn at FLEET_LATENCY_MS (20): validate
#             against a bare libyaml parse (tests/bench/yamlfloor.c; best of FLEET_RUNS, 3), diff
#             (two commits, 10% changed) and validate --ref against validate on the working tree
#             (target <= 1.3x), plan at FLEET_PLAN_P ("32 256") against requests x latency /
#             parallelism (target <= 1.1x) with client CPU per endpoint (user + sys / endpoints;
#             target <= 60 us), apply at FLEET_APPLY_P (32) against the apply section's floor
#             (target <= 1.15x) and drift at FLEET_DRIFT_P (32) against its requests' floor
#             (every endpoint in the report); the growth factor of each wall time between sizes.
#             fakecdn CPU figures include loading its state (about 20 s at 100,000 endpoints)
#   shard     drift of SHARD_ENDPOINTS (100000) azure endpoints on two accounts of one
#             rate_domain, as SHARDS (8) concurrent `drift --shard I/N --shard-budget split`
#             processes against one fakecdn whose ARM bucket (arm_rate_per_minute SHARD_RATE,
#             100000; arm_burst SHARD_BURST, 800) the accounts' rate_limit declares: each
#             shard's wall time against its share (its reads through its 1/N bucket, or through
#             its connections; target <= 1.2x), 0 answers 429, and `drift-merge` of the shards'
#             reports covering every endpoint
#   cdnpro-props  PROPS (100) CDN Pro properties in mode: manage, converged, then one rule
#             changed on each and applied through a bucket of PROPS_RATE (600)/min, burst
#             PROPS_BURST (60): 0 answers 429 (journal) and wall time against the bucket's floor
#             for the requests made (target <= 1.1x)
#
# Results: a table on stdout and bench/results.json. Env: CACHEFORM, FAKECDN (default bin/),
# (fleet, shard, cdnpro-props: their own knobs above; FK_START_WAIT_S, 300: how long fakecdn may
# take to load a state) LATENCY_MS (50), ENDPOINTS (1000), LEDGER_RECORDS ("10000 1000000"), LEDGER_LATENCY_MS (0), P1_ENDPOINTS (200), APPLY_PARALLELISM (16),
# PRO_PURGES (45), TASK_DELAY_MS (200), AFD_ENDPOINTS (100), AFD_PROFILES (4), AFD_OP_MS (30000),
# KEEP=1 keeps the work directory.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
CACHEFORM=${CACHEFORM:-$TOP/bin/cacheform}
FAKECDN=${FAKECDN:-$TOP/bin/fakecdn}
LATENCY_MS=${LATENCY_MS:-50}
ENDPOINTS=${ENDPOINTS:-1000}
P1_ENDPOINTS=${P1_ENDPOINTS:-200}
APPLY_PARALLELISM=${APPLY_PARALLELISM:-16}
PRO_PURGES=${PRO_PURGES:-45}
TASK_DELAY_MS=${TASK_DELAY_MS:-200}
AFD_ENDPOINTS=${AFD_ENDPOINTS:-100}
AFD_PROFILES=${AFD_PROFILES:-4}
AFD_OP_MS=${AFD_OP_MS:-30000}
LEDGER_RECORDS=${LEDGER_RECORDS:-10000 1000000}
LEDGER_LATENCY_MS=${LEDGER_LATENCY_MS:-0}
PLAN_TARGET=1.25 BUCKET_TARGET=1.10 AFD_TARGET=1.10
LEDGER_PLAN_ADD_S=0.5 LEDGER_COMMIT_ADD_S=0.05 LEDGER_COMMIT_BYTES=65536
RESULTS_DIR=$TOP/bench
RESULTS=$RESULTS_DIR/results.json

for tool in jq curl openssl awk git; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
for bin in "$CACHEFORM" "$FAKECDN"; do
	[ -x "$bin" ] || { echo "bench: $bin is missing (run make)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cf-bench.XXXXXX")
FK_PID=
cleanup() {
	fakecdn_stop
	if [ -n "${KEEP:-}" ]; then echo "bench: work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SECTIONS=("$@")
[ ${#SECTIONS[@]} -gt 0 ] || SECTIONS=(validate plan apply cdnpro baseline sem planbeh planrss ledger afd fleet shard cdnpro-props)
want() {
	local s
	for s in "${SECTIONS[@]}"; do [ "$s" = "$1" ] && return 0; done
	return 1
}

now_ms() { date +%s%3N; }
# secs MS: milliseconds as seconds with three decimals
secs() { awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "null" }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "null" && a <= b) }'; }

# ---- fakecdn ----
# fakecdn_start NAME ARGS...: a fresh emulator on a free port with journal $WORK/NAME.jsonl.
fakecdn_start() {
	local name=$1
	shift
	rm -f "$WORK/$name.port" "$WORK/$name.jsonl"
	"$FAKECDN" --state "${FK_STATE:-$WORK/fleet/state.json}" --port 0 --port-file "$WORK/$name.port" \
		--journal "$WORK/$name.jsonl" "$@" 2>"$WORK/$name.fakecdn.log" &
	FK_PID=$!
	local i
	# a fleet-size state (100,000 endpoints, ~110 MiB of JSON) takes a while to load
	for i in $(seq $((${FK_START_WAIT_S:-300} * 20))); do
		[ -s "$WORK/$name.port" ] && break
		kill -0 "$FK_PID" 2>/dev/null || { cat "$WORK/$name.fakecdn.log" >&2; FK_PID=; return 1; }
		sleep 0.05
	done
	[ -s "$WORK/$name.port" ] || { echo "bench: fakecdn did not start" >&2; return 1; }
	FAKECDN_URL=http://127.0.0.1:$(cat "$WORK/$name.port")
	export FAKECDN_URL
	JOURNAL=$WORK/$name.jsonl
}

fakecdn_stop() {
	[ -n "${FK_PID:-}" ] || return 0
	kill -TERM "$FK_PID" 2>/dev/null || true
	wait "$FK_PID" 2>/dev/null || true
	FK_PID=
}

# journal_stats JOURNAL: one JSON object: provider requests, per "provider op" counts, 429s, and
# per op the first and last answer time (s) relative to the first request.
journal_stats() {
	jq -s --argjson lat "$LATENCY_MS" '
		map(select(.provider != "admin"))
		| map(. + {ms: ((.time[0:19] + "Z" | fromdateiso8601) * 1000 + (.time[20:23] | tonumber))}) as $r
		| ($r | map(.ms) | min // 0) as $t0
		| {requests: ($r | length),
		   status_429: ($r | map(select(.status == 429)) | length),
		   faults: ($r | map(select(.fault != null)) | length),
		   span_s: ((($r | map(.ms) | max // 0) - $t0 + $lat) / 1000),
		   first_ms: $t0, last_ms: ($r | map(.ms) | max // 0),
		   ops: ($r | group_by(.provider + " " + .op)
			| map({key: (.[0].provider + " " + .[0].op),
			       value: {n: length, first_s: (((map(.ms) | min) - $t0) / 1000),
				       last_s: (((map(.ms) | max) - $t0) / 1000)}}) | from_entries)}' "$1"
}
# outside ST T0 T1: seconds of the run spent before the first request was sent and after the
# last answer (process start, repository load, ledger commits, exit).
outside() {
	jq -r --argjson t0 "$2" --argjson t1 "$3" --argjson lat "$LATENCY_MS" \
		'"\((.first_ms - $lat - $t0) / 1000) \(($t1 - .last_ms) / 1000)"' <<<"$1"
}
op_count() { jq -r --arg k "$2" '.ops[$k].n // 0' <<<"$1"; }

# ---- credentials of the generated state (fakecdn's example credentials) ----
export AZURECDN_KEY_ID=fakecdn-rw AZURECDN_KEY_VALUE=fakecdn-rw-secret
export AZURE_SUBSCRIPTION_ID=11111111-1111-4111-8111-111111111111
export AZURE_TENANT_ID=22222222-2222-4222-8222-222222222222
export AZURE_CLIENT_ID=33333333-3333-4333-8333-333333333333 AZURE_CLIENT_SECRET=fakecdn-client-secret
export CDNPRO_USER=fakecdn CDNPRO_API_KEY=fakecdn-api-key
export NO_COLOR=1

RES=$WORK/results.d
mkdir -p "$RES"
ROWS=$WORK/rows.tsv
: >"$ROWS"
# row NAME REQUESTS MIN_REQUESTS WALL_S FLOOR_S TARGET RESULT
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; }

# ---- validate ----
if want validate; then
	echo "== validate: 10,000 endpoints x 20 rules + 1,000 purges" >&2
	CACHEFORM=$CACHEFORM bash tests/bench/validate.sh >"$WORK/validate.txt" 2>&1
	vrc=$?
	sed 's/^/   /' "$WORK/validate.txt" >&2
	if [ -s tests/bench/out/validate.json ] && jq -e . tests/bench/out/validate.json >/dev/null 2>&1; then
		cp tests/bench/out/validate.json "$RES/validate.json"
		v=$RES/validate.json
		row "validate: wall vs libyaml" - - "$(jq -r .validate_seconds "$v")" "$(jq -r .floor_seconds "$v")" "<= 2.0x" \
			"$(jq -r 'if .time_ratio <= 2.0 then "ok" else "MISSED" end' "$v")"
		row "validate: peak RSS vs input (MB)" - - "$(jq -r '.validate_peak_rss_kb / 1024 * 100 | round / 100' "$v")" \
			"$(jq -r '.input_bytes / 1048576 * 100 | round / 100' "$v")" "<= 5.0x" \
			"$(jq -r 'if .rss_ratio <= 5.0 then "ok" else "MISSED" end' "$v")"
		# what the input costs on top of the process's own footprint (empty repository)
		row "validate: marginal RSS vs input (MB)" - - \
			"$(jq -r '(.validate_peak_rss_kb - .empty_repo_peak_rss_kb) / 1024 * 100 | round / 100' "$v")" \
			"$(jq -r '.input_bytes / 1048576 * 100 | round / 100' "$v")" "<= 3.0x" \
			"$(jq -r 'if .marginal_rss_ratio <= 3.0 then "ok" else "MISSED" end' "$v")"
	else
		echo "{\"benchmark\":\"validate\",\"error\":\"validate.sh failed (exit $vrc)\"}" >"$RES/validate.json"
		row "validate" - - - - "<= 2.0x" "FAILED"
	fi
fi

# ---- the fleet for plan, apply, cdnpro and baseline ----
if want plan || want apply || want cdnpro || want baseline || want ledger; then
	bash tests/bench/gen_fleet.sh "$WORK/fleet" "$ENDPOINTS" 10 200 4 "$PRO_PURGES" 5 ||
		{ echo "bench: fleet generation failed" >&2; exit 1; }
	# shellcheck disable=SC1091
	. "$WORK/fleet/expect.env"
	for r in repo repo-pro; do
		git -C "$WORK/fleet/$r" init -q -b main &&
			git -C "$WORK/fleet/$r" add -A &&
			git -C "$WORK/fleet/$r" -c user.name=bench -c user.email=bench@example.com \
				-c commit.gpgsign=false commit -q -m "bench fleet" ||
			{ echo "bench: git init of $r failed" >&2; exit 1; }
	done
	REPO=$WORK/fleet/repo
fi

# ---- plan ----
if want plan; then
	echo "== plan: $ENDPOINTS endpoints, latency ${LATENCY_MS} ms" >&2
	: >"$RES/plan.jsonl"
	for p in 1 8 16 32; do
		eps=() n=$FLEET_ENDPOINTS
		if [ "$p" = 1 ] && [ "$P1_ENDPOINTS" -lt "$FLEET_ENDPOINTS" ]; then
			# The first P1_ENDPOINTS endpoints of the fleet: half azure-china, half azure.
			n=$P1_ENDPOINTS
			for i in $(seq 0 $((n - 1))); do
				if [ $((i % 2)) = 0 ]; then eps+=(-e "$(printf 'cn%04d' "$i")"); else eps+=(-e "$(printf 'az%04d' "$i")"); fi
			done
		fi
		# one read per endpoint plus one token for the azure account
		min=$((n + 1))
		fakecdn_start "plan-p$p" --latency "$LATENCY_MS" || exit 1
		t0=$(now_ms)
		(cd "$REPO" && "$CACHEFORM" plan --parallelism "$p" "${eps[@]}" >"$WORK/plan-p$p.out" 2>&1)
		rc=$?
		t1=$(now_ms)
		fakecdn_stop
		st=$(journal_stats "$JOURNAL")
		req=$(jq .requests <<<"$st")
		wall=$(secs $((t1 - t0)))
		floor=$(awk -v m="$min" -v l="$LATENCY_MS" -v p="$p" 'BEGIN { printf "%.3f", m * l / p / 1000 }')
		wr=$(ratio "$wall" "$floor")
		read -r pre post < <(outside "$st" "$t0" "$t1")
		effp=$(awk -v r="$req" -v l="$LATENCY_MS" -v s="$(jq .span_s <<<"$st")" 'BEGIN { printf "%.1f", r * l / 1000 / s }')
		target=null result=info
		if [ "$p" -ge 8 ]; then
			target=$PLAN_TARGET
			if [ "$rc" = 0 ] && le "$wr" "$PLAN_TARGET" && [ "$req" -le "$min" ]; then result=ok; else result=MISSED; fi
		fi
		[ "$rc" = 0 ] || { result=FAILED; sed 's/^/   /' "$WORK/plan-p$p.out" | tail -5 >&2; }
		jq -cn --argjson p "$p" --argjson n "$n" --argjson req "$req" --argjson min "$min" \
			--argjson wall "$wall" --argjson floor "$floor" --argjson wr "$wr" --argjson effp "$effp" \
			--argjson target "$target" --arg result "$result" --argjson rc "$rc" --argjson st "$st" \
			--argjson pre "$pre" --argjson post "$post" \
			'{parallelism: $p, endpoints: $n, exit_code: $rc, requests: $req, min_requests: $min,
			  request_ratio: ($req / $min), wall_s: $wall, floor_s: $floor, wall_ratio: $wr,
			  before_first_request_s: $pre, after_last_answer_s: $post,
			  effective_parallelism: $effp, target: $target, result: $result, journal: $st}' >>"$RES/plan.jsonl"
		label="plan p=$p"
		[ "$n" != "$FLEET_ENDPOINTS" ] && label="plan p=$p ($n endpoints)"
		row "$label" "$req" "$min" "$wall" "$floor" "$([ "$target" = null ] && echo - || echo "<= ${target}x")" "$result"
		echo "   p=$p: $req requests (min $min), ${wall}s vs floor ${floor}s = ${wr}x, effective parallelism $effp, ${pre}s before the first request, ${post}s after the last" >&2
	done
fi

# ---- apply ----
APPLY_WALL=
if want apply; then
	echo "== apply: $FLEET_ENDPOINTS endpoints, $FLEET_CHANGED changed, $FLEET_PURGES purge manifests, p=$APPLY_PARALLELISM" >&2
	fakecdn_start apply --latency "$LATENCY_MS" --task-delay "$TASK_DELAY_MS" || exit 1
	t0=$(now_ms)
	(cd "$REPO" && "$CACHEFORM" apply --yes --first-run --parallelism "$APPLY_PARALLELISM" >"$WORK/apply.out" 2>&1)
	rc=$?
	t1=$(now_ms)
	napply=$(wc -l <"$JOURNAL")
	# Confirm the job is done: a second plan must find nothing to change (not counted).
	(cd "$REPO" && "$CACHEFORM" plan --detailed-exitcode --parallelism 32 >"$WORK/apply-replan.out" 2>&1)
	replan_rc=$?
	fakecdn_stop
	head -n "$napply" "$JOURNAL" >"$WORK/apply-only.jsonl"
	st=$(journal_stats "$WORK/apply-only.jsonl")
	wall=$(secs $((t1 - t0)))
	APPLY_WALL=$wall
	writes=$(($(op_count "$st" "azure-china write_rules") + $(op_count "$st" "azure write_rules")))
	purges=$(($(op_count "$st" "azure-china purge") + $(op_count "$st" "azure purge")))
	polls=$(($(op_count "$st" "azure-china poll") + $(op_count "$st" "azure poll")))
	reads=$(($(op_count "$st" "azure-china read_rules") + $(op_count "$st" "azure read_rules")))
	tokens=$(op_count "$st" "token token")
	req=$(jq .requests <<<"$st")
	read -r pre post < <(outside "$st" "$t0" "$t1")
	cn_changed=$(cut -f1 "$WORK/fleet/jobs/rules.tsv" | grep -c '^azure-china$')
	# Minimum: token + one read per endpoint + one write per changed endpoint + one poll per
	# asynchronous rule write (azure-china) + one confirming re-read per written endpoint +
	# purges packed by the caps + one poll per purge task.
	min=$((1 + FLEET_ENDPOINTS + FLEET_CHANGED + cn_changed + FLEET_CHANGED + MIN_PURGE_REQUESTS * 2))
	min_writes=$((FLEET_CHANGED + MIN_PURGE_REQUESTS))
	floor=$(awk -v m="$min" -v l="$LATENCY_MS" -v p="$APPLY_PARALLELISM" -v td="$TASK_DELAY_MS" \
		'BEGIN { printf "%.3f", (m * l / p + 2 * td) / 1000 }')
	wr=$(ratio "$wall" "$floor")
	result=ok
	if [ "$rc" != 0 ] || [ "$replan_rc" != 0 ]; then
		result=FAILED
		tail -5 "$WORK/apply.out" | sed 's/^/   /' >&2
		tail -5 "$WORK/apply-replan.out" | sed 's/^/   /' >&2
	elif [ "$writes" -ne "$FLEET_CHANGED" ] || [ "$purges" -ne "$MIN_PURGE_REQUESTS" ]; then
		result=MISSED
	fi
	wresult=info
	le "$wr" "$PLAN_TARGET" && wresult=ok || wresult=MISSED
	[ "$result" = FAILED ] && wresult=FAILED
	jq -n --argjson rc "$rc" --argjson replan "$replan_rc" --argjson p "$APPLY_PARALLELISM" \
		--argjson eps "$FLEET_ENDPOINTS" --argjson changed "$FLEET_CHANGED" --argjson manifests "$FLEET_PURGES" \
		--argjson writes "$writes" --argjson purges "$purges" --argjson polls "$polls" --argjson reads "$reads" \
		--argjson tokens "$tokens" --argjson req "$req" --argjson min "$min" --argjson minp "$MIN_PURGE_REQUESTS" \
		--argjson wall "$wall" --argjson floor "$floor" --argjson wr "$wr" --argjson td "$TASK_DELAY_MS" \
		--arg result "$result" --arg wresult "$wresult" --argjson st "$st" \
		--argjson pre "$pre" --argjson post "$post" \
		'{before_first_request_s: $pre, after_last_answer_s: $post, endpoints: $eps, changed: $changed, purge_manifests: $manifests, parallelism: $p, task_delay_ms: $td,
		  exit_code: $rc, replan_exit_code: $replan,
		  rule_writes: $writes, min_rule_writes: $changed, purge_requests: $purges, min_purge_requests: $minp,
		  write_ratio: (($writes + $purges) / ($changed + $minp)),
		  reads: $reads, tokens: $tokens, polls: $polls, requests: $req, min_requests: $min,
		  request_ratio: ($req / $min), wall_s: $wall, floor_s: $floor, wall_ratio: $wr,
		  writes_result: $result, wall_target: 1.25, wall_result: $wresult,
		  journal: $st}' >"$RES/apply.json"
	row "apply writes (rules+purges)" "$((writes + purges))" "$min_writes" - - "= min" "$result"
	row "apply p=$APPLY_PARALLELISM (all requests)" "$req" "$min" "$wall" "$floor" "<= 1.25x" "$wresult"
	echo "   rule writes $writes (min $FLEET_CHANGED), purge requests $purges (min $MIN_PURGE_REQUESTS), polls $polls, reads $reads" >&2
	echo "   ${wall}s vs floor ${floor}s = ${wr}x (${pre}s before the first request, ${post}s after the last); re-plan exit $replan_rc" >&2
	jq -r '.journal.ops | to_entries | sort_by(.value.first_s)[] | "     \(.key): \(.value.n) answered between \(.value.first_s)s and \(.value.last_s)s"' "$RES/apply.json" >&2
fi

# ---- cdnpro: the token bucket ----
if want cdnpro; then
	echo "== cdnpro: $PRO_PURGES purge manifests at 30/min, burst 60 (about a minute)" >&2
	fakecdn_start cdnpro --latency "$LATENCY_MS" --task-delay 0 || exit 1
	t0=$(now_ms)
	(cd "$WORK/fleet/repo-pro" && "$CACHEFORM" apply --yes --first-run >"$WORK/cdnpro.out" 2>&1)
	rc=$?
	t1=$(now_ms)
	fakecdn_stop
	st=$(journal_stats "$JOURNAL")
	req=$(jq .requests <<<"$st")
	n429=$(jq .status_429 <<<"$st")
	purges=$(op_count "$st" "cdnpro purge")
	polls=$(op_count "$st" "cdnpro poll")
	quota=$(op_count "$st" "cdnpro quota")
	rate=30 burst=60
	# Minimum: one purgeTokens per account and target, one purge and one status poll per manifest.
	min=$((1 + PRO_PURGES * 2))
	wall=$(secs $((t1 - t0)))
	bfloor() { awk -v r="$1" -v b="$burst" -v rate="$rate" 'BEGIN { x = r - b; if (x < 0) x = 0; printf "%.3f", x * 60 / rate }'; }
	floor_min=$(bfloor "$min")
	floor_act=$(bfloor "$req")
	wr=$(ratio "$wall" "$floor_min")
	wra=$(ratio "$wall" "$floor_act")
	# How close the client ran to the emulator's bucket: the smallest slack (ms) of a request
	# sent after the burst against its earliest allowed time (first request + k x 60/rate s).
	margin=$(jq -s --argjson b "$burst" --argjson r "$rate" '
		map(select(.provider == "cdnpro") | (.time[0:19] + "Z" | fromdateiso8601) * 1000 + (.time[20:23] | tonumber))
		| sort | . as $t | [range($b; length) | $t[.] - $t[0] - (. - $b + 1) * 60000 / $r] | min // null' "$JOURNAL")
	result=ok
	if [ "$rc" != 0 ]; then result=FAILED; tail -5 "$WORK/cdnpro.out" | sed 's/^/   /' >&2
	elif [ "$n429" -ne 0 ] || ! le "$wr" "$BUCKET_TARGET"; then result=MISSED
	elif le "$margin" 9; then result="ok (slack ${margin} ms: 429 risk)"; fi
	jq -n --argjson rc "$rc" --argjson manifests "$PRO_PURGES" --argjson req "$req" --argjson min "$min" \
		--argjson purges "$purges" --argjson polls "$polls" --argjson quota "$quota" --argjson n429 "$n429" \
		--argjson wall "$wall" --argjson fmin "$floor_min" --argjson fact "$floor_act" --argjson wr "$wr" \
		--argjson wra "$wra" --arg result "$result" --argjson st "$st" --argjson margin "$margin" \
		'{bucket_min_slack_ms: $margin, purge_manifests: $manifests, rate_per_minute: 30, burst: 60, exit_code: $rc,
		  requests: $req, min_requests: $min, purge_requests: $purges, polls: $polls, quota_requests: $quota,
		  answers_429: $n429, wall_s: $wall, bucket_floor_s: $fmin, bucket_floor_actual_requests_s: $fact,
		  wall_ratio: $wr, wall_ratio_actual_requests: $wra, target: 1.10, result: $result, journal: $st}' >"$RES/cdnpro.json"
	row "cdnpro bucket ($n429 x 429)" "$req" "$min" "$wall" "$floor_min" "<= 1.10x, 0 x 429" "$result"
	echo "   $req requests (min $min: 1 quota + $PRO_PURGES purges + $PRO_PURGES polls), $n429 answered 429;" \
		"smallest slack against the emulator's bucket: ${margin} ms" >&2
	echo "   ${wall}s vs bucket floor ${floor_min}s = ${wr}x (floor of the requests made: ${floor_act}s, ${wra}x)" >&2
fi

# ---- ledger: plan and commits with a large refs/cacheform/ledger ----
if want ledger; then
	echo "== ledger: $FLEET_ENDPOINTS endpoints, ${LEDGER_RECORDS// /, } ledger records, latency ${LEDGER_LATENCY_MS} ms" >&2
	: >"$RES/ledger.jsonl"
	# the manifest `ledger mark` records: one of the fleet's, never in the generated ledger
	mark_id=$(basename "$(find "$REPO/purges" -name '*.yaml' | sort | head -1)" .yaml)
	LOUT=$(mktemp) # the output of the step measured last
	# timed VAR CMD...: runs CMD in $LREPO, VAR = its wall seconds; its output goes to $LOUT
	timed() {
		local var=$1 a b
		shift
		a=$(now_ms)
		(cd "$LREPO" && "$@" >"$LOUT" 2>&1)
		local rc=$?
		b=$(now_ms)
		printf -v "$var" '%s' "$(secs $((b - a)))"
		[ $rc = 0 ] || { sed 's/^/   /' "$LOUT" | tail -5 >&2; return 1; }
	}
	# plan_best VAR CPUVAR: the fastest of LEDGER_PLAN_RUNS (3) plans and that run's CPU
	# seconds (user + system): one plan of 10,000 endpoints varies by more than the 0.5 s target
	plan_best() {
		local i s cpu best='' bcpu=''
		for i in $(seq "${LEDGER_PLAN_RUNS:-3}"); do
			timed s /usr/bin/time -f "%U %S" -o "$LOUT.cpu" "$CACHEFORM" plan --parallelism 32 || return 1
			cpu=$(awk '{ printf "%.3f", $1 + $2 }' "$LOUT.cpu")
			if [ -z "$best" ] || le "$s" "$best"; then best=$s bcpu=$cpu; fi
		done
		printf -v "$1" '%s' "$best"
		printf -v "$2" '%s' "$bcpu"
	}
	base_plan= base_plan_cpu= base_commit= prev_n= prev_plan= prev_read=
	for n in 0 $LEDGER_RECORDS; do
		LREPO=$WORK/ledger-repo-$n
		git clone -q --shared "$REPO" "$LREPO" || exit 1
		gen_s=0
		if [ "$n" -gt 0 ]; then
			a=$(now_ms)
			{ git init -q "$WORK/ledger-$n" && python3 tests/bench/gen_ledger.py "$WORK/ledger-$n" "$n"; } ||
				{ echo "bench: ledger generation failed" >&2; exit 1; }
			gen_s=$(secs $(($(now_ms) - a)))
			# the generated objects are shared, not copied: an alternate object directory
			echo "$WORK/ledger-$n/.git/objects" >>"$LREPO/.git/objects/info/alternates"
			git -C "$LREPO" update-ref refs/cacheform/ledger "$(git -C "$WORK/ledger-$n" rev-parse refs/cacheform/ledger)"
		fi
		fakecdn_start "ledger-$n" --latency "$LEDGER_LATENCY_MS" || exit 1
		rc=0
		plan_best plan_s plan_cpu || rc=1
		plan_runs=$(cd "$LREPO" && "$CACHEFORM" plan --parallelism 32 --format json 2>/dev/null |
			jq '[.purges[] | select(.state == "run")] | length')
		fakecdn_stop
		packs_before=$(find "$LREPO/.git/objects/pack" -name '*.pack' | sort)
		timed commit_s "$CACHEFORM" ledger mark "$mark_id" -m "bench" || rc=1
		new_pack=$(comm -13 <(echo "$packs_before") <(find "$LREPO/.git/objects/pack" -name '*.pack' | sort))
		commit_bytes=0
		[ -n "$new_pack" ] && commit_bytes=$(stat -c %s $new_pack | awk '{ s += $1 } END { print s + 0 }')
		timed read_s /usr/bin/time -f "%M" "$CACHEFORM" ledger list || rc=1
		read_rss_kb=$(tail -1 "$LOUT")
		read_lines=$(($(wc -l <"$LOUT") - 1))
		compact_s=null
		if [ "$n" -gt 0 ]; then
			timed compact_s "$CACHEFORM" ledger compact --before 2026-01-01 || rc=1
			sed 's/^/   /' "$LOUT" >&2
		fi
		if [ "$n" = 0 ]; then
			base_plan=$plan_s base_plan_cpu=$plan_cpu base_commit=$commit_s
			echo "   empty ledger: plan ${plan_s}s (${plan_cpu}s CPU), ledger mark ${commit_s}s (${commit_bytes} bytes), ledger list ${read_s}s" >&2
		else
			plan_add=$(awk -v a="$plan_s" -v b="$base_plan" 'BEGIN { printf "%.3f", a - b }')
			plan_add_cpu=$(awk -v a="$plan_cpu" -v b="$base_plan_cpu" 'BEGIN { printf "%.3f", a - b }')
			commit_add=$(awk -v a="$commit_s" -v b="$base_commit" 'BEGIN { printf "%.3f", a - b }')
			presult=ok cresult=ok
			le "$plan_add" "$LEDGER_PLAN_ADD_S" || presult=MISSED
			{ le "$commit_add" "$LEDGER_COMMIT_ADD_S" && [ "$commit_bytes" -le "$LEDGER_COMMIT_BYTES" ]; } || cresult=MISSED
			[ "$rc" = 0 ] || presult=FAILED cresult=FAILED
			growth_plan=null growth_read=null
			if [ -n "$prev_n" ]; then
				growth_plan=$(ratio "$plan_s" "$prev_plan")
				growth_read=$(ratio "$read_s" "$prev_read")
			fi
			jq -cn --argjson n "$n" --argjson eps "$FLEET_ENDPOINTS" --argjson gen "$gen_s" \
				--argjson plan "$plan_s" --argjson base "$base_plan" --argjson add "$plan_add" \
				--argjson runs "$plan_runs" --argjson commit "$commit_s" --argjson cbase "$base_commit" \
				--argjson cadd "$commit_add" --argjson bytes "$commit_bytes" --argjson read "$read_s" \
				--argjson rss "$read_rss_kb" --argjson lines "$read_lines" --argjson compact "$compact_s" \
				--argjson gp "$growth_plan" --argjson gr "$growth_read" --argjson prev "${prev_n:-null}" \
				--arg presult "$presult" --arg cresult "$cresult" --argjson lat "$LEDGER_LATENCY_MS" \
				--argjson pcpu "$plan_cpu" --argjson bcpu "$base_plan_cpu" --argjson acpu "$plan_add_cpu" \
				'{records: $n, endpoints: $eps, latency_ms: $lat, generate_s: $gen,
				  plan_s: $plan, plan_empty_ledger_s: $base, plan_added_s: $add, plan_ratio: ($plan / $base),
				  plan_cpu_s: $pcpu, plan_empty_ledger_cpu_s: $bcpu, plan_added_cpu_s: $acpu,
				  plan_purges_to_run: $runs, plan_target_added_s: 0.5, plan_result: $presult,
				  commit_s: $commit, commit_empty_ledger_s: $cbase, commit_added_s: $cadd,
				  commit_new_bytes: $bytes, commit_target_added_s: 0.05, commit_target_bytes: 65536,
				  commit_result: $cresult, read_all_s: $read, read_all_peak_rss_kb: $rss,
				  records_listed: $lines, compact_all_s: $compact,
				  growth_from_records: $prev, plan_growth: $gp, read_all_growth: $gr}' >>"$RES/ledger.jsonl"
			row "ledger $n: plan vs empty ledger" - - "$plan_s" "$base_plan" "+<= ${LEDGER_PLAN_ADD_S}s" "$presult"
			row "ledger $n: commit vs empty ledger" "$commit_bytes" "$LEDGER_COMMIT_BYTES" "$commit_s" "$base_commit" "+<= 0.05s, <= 64KiB" "$cresult"
			row "ledger $n: read all (ledger list)" "$read_lines" "$n" "$read_s" - "workable" info
			echo "   $n records (generated in ${gen_s}s): plan ${plan_s}s (+${plan_add}s over an empty ledger, best of ${LEDGER_PLAN_RUNS:-3}; CPU +${plan_add_cpu}s; $plan_runs purges to run), ledger mark ${commit_s}s (+${commit_add}s, ${commit_bytes} bytes of new objects), ledger list ${read_s}s and ${read_rss_kb} KiB peak RSS for $read_lines lines, compact ${compact_s}s; growth from ${prev_n:-none}: plan ${growth_plan}x, read ${growth_read}x" >&2
			prev_n=$n prev_plan=$plan_s prev_read=$read_s
		fi
		rm -rf "$LREPO" "$WORK/ledger-$n"
	done
	rm -f "$LOUT" "$LOUT.cpu"
fi

# ---- baseline ----
if want baseline; then
	echo "== baseline: curl + openssl, one request per URL, serial" >&2
	fakecdn_start baseline --latency "$LATENCY_MS" --task-delay "$TASK_DELAY_MS" || exit 1
	t0=$(now_ms)
	bash tests/bench/baseline.sh "$WORK/fleet/jobs" "$FAKECDN_URL" >"$WORK/baseline.out" 2>&1
	rc=$?
	t1=$(now_ms)
	sleep "$(secs "$TASK_DELAY_MS")"
	# The same job: the plan afterwards finds no rule left to change.
	(cd "$REPO" && "$CACHEFORM" plan --no-purges --detailed-exitcode --parallelism 32 >"$WORK/baseline-replan.out" 2>&1)
	replan_rc=$?
	fakecdn_stop
	st=$(journal_stats "$JOURNAL")
	req=$(($(wc -l <"$WORK/fleet/jobs/rules.tsv") + $(wc -l <"$WORK/fleet/jobs/purges.tsv") + 1))
	bwrites=$((req - 1))
	wall=$(secs $((t1 - t0)))
	cf_wall=${APPLY_WALL:-$(jq -r '.wall_s // empty' "$RES/apply.json" 2>/dev/null)}
	cf_req=$(jq -r '.requests // empty' "$RES/apply.json" 2>/dev/null)
	cf_writes=$(jq -r '(.rule_writes + .purge_requests) // empty' "$RES/apply.json" 2>/dev/null)
	speedup=$( [ -n "$cf_wall" ] && ratio "$wall" "$cf_wall" || echo null)
	rreq=$( [ -n "$cf_req" ] && ratio "$req" "$cf_req" || echo null)
	rwrites=$( [ -n "$cf_writes" ] && ratio "$bwrites" "$cf_writes" || echo null)
	result=info
	[ "$rc" = 0 ] && [ "$replan_rc" = 0 ] || { result=FAILED; tail -3 "$WORK/baseline.out" "$WORK/baseline-replan.out" | sed 's/^/   /' >&2; }
	jq -n --argjson rc "$rc" --argjson replan "$replan_rc" --argjson req "$req" --argjson bw "$bwrites" \
		--argjson wall "$wall" --argjson speedup "$speedup" --argjson rreq "$rreq" --argjson rw "$rwrites" \
		--arg out "$(tail -1 "$WORK/baseline.out")" --arg result "$result" \
		'{exit_code: $rc, replan_exit_code: $replan, requests: $req, write_requests: $bw, wall_s: $wall,
		  summary: $out, cacheform_speedup: $speedup, request_ratio_baseline_to_cacheform: $rreq,
		  write_request_ratio_baseline_to_cacheform: $rw, result: $result,
		  note: "serial, one request per URL; does not read endpoints, wait for tasks or confirm"}' >"$RES/baseline.json"
	row "baseline (curl, serial)" "$req" - "$wall" - "-" "$result"
	echo "   $req requests in ${wall}s: cacheform apply is ${speedup}x faster; baseline sends ${rwrites}x the write requests" >&2
fi

# ---- sem: explain evaluations/s on a 25-rule endpoint, plan's behaviour comparison ----
if want sem; then
	echo "== sem (tests/bench/sem.sh)" >&2
	sem_result=ok
	bash tests/bench/sem.sh 1 >"$WORK/sem.out" 2>&1 || sem_result=FAILED
	sed 's/^/   /' "$WORK/sem.out" >&2
	row "sem: explain evaluations/s" "-" - "-" - ">= 1000000/s" "$sem_result"
fi

# ---- planbeh: the behaviour comparison's share of plan's CPU at 10,000 endpoints ----
if want planbeh; then
	BEH_ENDPOINTS=${BEH_ENDPOINTS:-10000}
	echo "== planbeh: $BEH_ENDPOINTS endpoints, 10% changed, latency 0" >&2
	bash tests/bench/gen_fleet.sh "$WORK/fleet10k" "$BEH_ENDPOINTS" 10 0 0 0 0 >/dev/null ||
		{ echo "bench: fleet generation failed" >&2; exit 1; }
	git -C "$WORK/fleet10k/repo" init -q -b main && git -C "$WORK/fleet10k/repo" add -A &&
		git -C "$WORK/fleet10k/repo" -c user.name=bench -c user.email=bench@example.com \
			-c commit.gpgsign=false commit -q -m "bench fleet"
	FK_STATE=$WORK/fleet10k/state.json fakecdn_start planbeh || exit 1
	(cd "$WORK/fleet10k/repo" && CACHEFORM_PLAN_STATS=1 "$CACHEFORM" plan --no-purges \
		--parallelism 32 >"$WORK/planbeh.out" 2>"$WORK/planbeh.err")
	rc=$?
	fakecdn_stop
	# "plan stats: N endpoints, behaviour comparison on M: B s of T s CPU"
	read -r beh_n beh_s tot_s < <(sed -n 's/^plan stats: [0-9]* endpoints, behaviour comparison on \([0-9]*\): \([0-9.]*\) s of \([0-9.]*\) s CPU$/\1 \2 \3/p' "$WORK/planbeh.err")
	share=$(awk -v b="${beh_s:-0}" -v t="${tot_s:-0}" 'BEGIN { if (t - b > 0) printf "%.4f", b / (t - b); else print "null" }')
	result=ok
	{ [ "$rc" = 0 ] && le "$share" 0.10; } || result=MISSED
	[ -n "${tot_s:-}" ] || { result=FAILED; tail -5 "$WORK/planbeh.err" >&2; }
	echo "   $BEH_ENDPOINTS endpoints, behaviour comparison on ${beh_n:-?}: ${beh_s:-?} s CPU of ${tot_s:-?} s; adds $share of the rest" >&2
	jq -n --argjson n "$BEH_ENDPOINTS" --argjson m "${beh_n:-null}" --argjson b "${beh_s:-null}" \
		--argjson t "${tot_s:-null}" --argjson share "$share" --arg result "$result" --argjson rc "$rc" \
		'{endpoints: $n, compared: $m, behaviour_cpu_s: $b, plan_cpu_s: $t, added_share: $share,
		  target: 0.10, result: $result, exit_code: $rc}' >"$RES/planbeh.json"
	row "planbeh: behaviour CPU / rest of plan" - - "${beh_s:-null}" "${tot_s:-null}" "<= 0.10" "$result"
fi

# ---- planrss: peak RSS of a plan whose answers are 8 MiB each ----
if want planrss; then
	RSS_ENDPOINTS=${RSS_ENDPOINTS:-1000}
	echo "== planrss: $RSS_ENDPOINTS azure-china endpoints, 8 MiB answers" >&2
	# gen_fleet alternates azure-china and azure: twice as many, then select the azure-china ones
	bash tests/bench/gen_fleet.sh "$WORK/fleetrss" $((RSS_ENDPOINTS * 2)) 0 0 0 0 0 >/dev/null ||
		{ echo "bench: fleet generation failed" >&2; exit 1; }
	git -C "$WORK/fleetrss/repo" init -q -b main && git -C "$WORK/fleetrss/repo" add -A &&
		git -C "$WORK/fleetrss/repo" -c user.name=bench -c user.email=bench@example.com \
			-c commit.gpgsign=false commit -q -m "bench fleet"
	FK_STATE=$WORK/fleetrss/state.json fakecdn_start planrss || exit 1
	curl -sf -X POST "$FAKECDN_URL/_fakecdn/faults" -d '{"read_padding_bytes": 8388000}' >/dev/null
	t0=$(now_ms)
	(cd "$WORK/fleetrss/repo" && /usr/bin/time -f '%M' -o "$WORK/planrss.time" "$CACHEFORM" plan \
		--no-purges -e 'cn*' >"$WORK/planrss.out" 2>&1)
	rc=$?
	t1=$(now_ms)
	fakecdn_stop
	reads=$(jq -c 'select(.op == "read_rules")' "$JOURNAL" | wc -l)
	rss_mb=$(awk '{ printf "%.1f", $1 / 1024 }' "$WORK/planrss.time" 2>/dev/null)
	result=ok
	{ [ "$rc" = 0 ] && [ "$reads" -eq "$RSS_ENDPOINTS" ] && le "$rss_mb" 256; } || result=MISSED
	echo "   $reads answers of 8 MiB ($((reads * 8)) MiB in all): peak RSS ${rss_mb} MiB, $(secs $((t1 - t0)))s" >&2
	jq -n --argjson n "$RSS_ENDPOINTS" --argjson reads "$reads" --argjson rss "${rss_mb:-null}" \
		--arg result "$result" --argjson rc "$rc" --argjson wall "$(secs $((t1 - t0)))" \
		'{endpoints: $n, answers: $reads, answer_mib: 8, peak_rss_mib: $rss, target_mib: 256,
		  wall_s: $wall, result: $result, exit_code: $rc}' >"$RES/planrss.json"
	row "planrss: peak RSS MiB (1000 x 8 MiB)" "$reads" "$RSS_ENDPOINTS" "${rss_mb:-null}" 256 "< 256 MiB" "$result"
fi

# ---- afd: Front Door global operations ----
# afd_commit DIR MSG
afd_commit() {
	git -C "$1" add -A && git -C "$1" -c user.name=bench -c user.email=bench@example.com \
		-c commit.gpgsign=false commit -q -m "$2"
}
if want afd; then
	F=$WORK/afd
	echo "== afd: $AFD_ENDPOINTS Front Door endpoints x 20 rules in $AFD_PROFILES profiles, 10% changed, ${AFD_OP_MS} ms per global operation" >&2
	bash tests/bench/gen_afd_fleet.sh "$F" "$AFD_ENDPOINTS" "$AFD_PROFILES" 20 ||
		{ echo "bench: Front Door fleet generation failed" >&2; exit 1; }
	# shellcheck disable=SC1091
	. "$F/expect.env"
	git -C "$F/repo" init -q -b main && afd_commit "$F/repo" "bench fleet"
	FK_STATE=$F/state.json fakecdn_start afd || exit 1
	# converge (not measured): operations take 0 ms
	(cd "$F/repo" && "$CACHEFORM" apply --yes --first-run --parallelism 16 >"$WORK/afd-converge.out" 2>&1)
	crc=$?
	curl -sf "$FAKECDN_URL/_fakecdn/state" >"$F/converged.json"
	bash "$F/change.sh" && afd_commit "$F/repo" "10% changed"
	curl -sf -X POST "$FAKECDN_URL/_fakecdn/faults" -d "{\"afd_op_ms\": $AFD_OP_MS}" >/dev/null
	n0=$(wc -l <"$JOURNAL")
	t0=$(now_ms)
	(cd "$F/repo" && "$CACHEFORM" apply --yes --parallelism 16 >"$WORK/afd-apply.out" 2>&1)
	rc=$?
	t1=$(now_ms)
	n1=$(wc -l <"$JOURNAL")
	(cd "$F/repo" && "$CACHEFORM" plan --detailed-exitcode --parallelism 16 >"$WORK/afd-replan.out" 2>&1)
	replan_rc=$?
	fakecdn_stop
	sed -n "$((n0 + 1)),${n1}p" "$JOURNAL" >"$WORK/afd-apply.jsonl"
	writes=$(jq -c 'select((.op | test("^afd_(write|delete)")) and .status < 300)' "$WORK/afd-apply.jsonl" | wc -l)
	n409=$(jq -c 'select(.status == 409)' "$WORK/afd-apply.jsonl" | wc -l)
	areq=$(wc -l <"$WORK/afd-apply.jsonl")
	wall=$(secs $((t1 - t0)))
	floor=$(secs $((AFD_FLOOR_OPS * AFD_OP_MS)))
	wr=$(ratio "$wall" "$floor")
	result=ok
	if [ "$crc" != 0 ] || [ "$rc" != 0 ] || [ "$replan_rc" != 0 ]; then
		result=FAILED
		tail -3 "$WORK/afd-converge.out" "$WORK/afd-apply.out" "$WORK/afd-replan.out" | sed 's/^/   /' >&2
	elif ! le "$wr" "$AFD_TARGET" || [ "$writes" -ne "$AFD_CHANGED" ] || [ "$n409" -ne 0 ]; then
		result=MISSED
	fi
	echo "   cacheform: ${wall}s vs floor ${floor}s ($AFD_FLOOR_OPS operations in one profile) = ${wr}x; $writes rule-set writes (min $AFD_CHANGED), $n409 x 409, $areq requests" >&2
	# The Terraform way: per-rule rule sets (the converged state with batch mode off), one
	# operation per changed rule, serially.
	jq '.settings.afd_op_ms = 0 | .tasks = []
		| .frontdoor.profiles[].ruleSets[] |= (.batchMode = false | .rules |= map(del(._caching)))' \
		"$F/converged.json" >"$F/perrule.json"
	FK_STATE=$F/perrule.json fakecdn_start afd-tf || exit 1
	curl -sf -X POST "$FAKECDN_URL/_fakecdn/faults" -d "{\"afd_op_ms\": $AFD_OP_MS}" >/dev/null
	t0=$(now_ms)
	bash tests/bench/baseline_afd.sh "$F/jobs/afd_rules.tsv" "$FAKECDN_URL" "$AZURE_SUBSCRIPTION_ID" fd-rg 2025-06-01 \
		>"$WORK/afd-tf.out" 2>&1
	trc=$?
	t1=$(now_ms)
	# the same job: the changed repository, read with the per-rule api-version, plans clean
	sed -i 's/api_version: .*/api_version: 2025-06-01/' "$F/repo/cacheform.yaml" && afd_commit "$F/repo" per-rule
	(cd "$F/repo" && "$CACHEFORM" plan --detailed-exitcode --parallelism 16 >"$WORK/afd-tf-replan.out" 2>&1)
	tf_replan=$?
	fakecdn_stop
	twall=$(secs $((t1 - t0)))
	twr=$(ratio "$twall" "$floor")
	tspeed=$(ratio "$twall" "$wall")
	tresult=info
	[ "$trc" = 0 ] && [ "$tf_replan" = 0 ] || { tresult=FAILED; tail -3 "$WORK/afd-tf.out" "$WORK/afd-tf-replan.out" | sed 's/^/   /' >&2; }
	echo "   Terraform way: ${twall}s = ${twr}x the floor ($(tail -1 "$WORK/afd-tf.out")); cacheform is ${tspeed}x faster" >&2
	jq -n --argjson eps "$AFD_ENDPOINTS" --argjson profiles "$AFD_PROFILES" --argjson changed "$AFD_CHANGED" \
		--argjson crules "$AFD_CHANGED_RULES" --argjson opms "$AFD_OP_MS" --argjson fops "$AFD_FLOOR_OPS" \
		--argjson rc "$rc" --argjson crc "$crc" --argjson replan "$replan_rc" --argjson writes "$writes" \
		--argjson n409 "$n409" --argjson req "$areq" --argjson wall "$wall" --argjson floor "$floor" \
		--argjson wr "$wr" --arg result "$result" --argjson trc "$trc" --argjson treplan "$tf_replan" \
		--argjson twall "$twall" --argjson twr "$twr" --argjson tspeed "$tspeed" --arg tout "$(tail -1 "$WORK/afd-tf.out")" \
		--arg tresult "$tresult" \
		'{endpoints: $eps, profiles: $profiles, rules_per_endpoint: 20, changed_endpoints: $changed,
		  changed_rules: $crules, op_ms: $opms, floor_ops: $fops, floor_s: $floor,
		  converge_exit_code: $crc, exit_code: $rc, replan_exit_code: $replan,
		  rule_set_writes: $writes, min_writes: $changed, answers_409: $n409, requests: $req,
		  wall_s: $wall, wall_ratio: $wr, target: 1.10, result: $result,
		  terraform_way: {exit_code: $trc, replan_exit_code: $treplan, wall_s: $twall,
		    wall_ratio: $twr, cacheform_speedup: $tspeed, summary: $tout, result: $tresult}}' >"$RES/afd.json"
	row "afd apply ($AFD_OP_MS ms/op)" "$writes" "$AFD_CHANGED" "$wall" "$floor" "<= 1.10x" "$result"
	row "afd Terraform way (serial/rule)" "$AFD_CHANGED_RULES" "$AFD_CHANGED" "$twall" "$floor" "-" "$tresult"
fi

# ---- fleet, shard, cdnpro-props: helpers ----
# run_timed NAME DIR CMD...: CMD in DIR under /usr/bin/time, output in $WORK/NAME.out and .err.
# Sets T_RC, T_WALL (s), T_CPU (user + sys s), T_RSS_KB, T_START_MS, T_END_MS.
run_timed() {
	local name=$1 dir=$2 u s m
	shift 2
	T_START_MS=$(now_ms)
	(cd "$dir" && /usr/bin/time -f '%U %S %M' -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err")
	T_RC=$?
	T_END_MS=$(now_ms)
	T_WALL=$(secs $((T_END_MS - T_START_MS)))
	# a failing command's time file starts with "Command exited with non-zero status N"
	read -r u s m < <(tail -1 "$WORK/$name.time")
	T_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
	T_RSS_KB=$m
}
# best_of RUNS NAME DIR CMD...: the fastest of RUNS runs (exit 0 each); sets B_WALL, B_RSS_KB
# (the largest), B_RC (the first non-zero exit, else 0).
best_of() {
	local runs=$1 name=$2 dir=$3 i
	shift 3
	B_WALL= B_RSS_KB=0 B_RC=0
	for i in $(seq "$runs"); do
		run_timed "$name" "$dir" "$@"
		[ "$T_RC" = 0 ] || { B_RC=$T_RC; tail -n 3 "$WORK/$name.out" "$WORK/$name.err" | sed 's/^/   /' >&2; return; }
		if [ -z "$B_WALL" ] || awk -v a="$T_WALL" -v b="$B_WALL" 'BEGIN { exit !(a < b) }'; then B_WALL=$T_WALL; fi
		[ "${T_RSS_KB:-0}" -gt "$B_RSS_KB" ] && B_RSS_KB=$T_RSS_KB
	done
}
# fk_cpu: CPU seconds fakecdn has used so far (user + sys)
fk_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$FK_PID/stat" 2>/dev/null || echo null
}
# jcount JOURNAL [JQ-FILTER]: provider requests (admin ones left out) the filter selects
jcount() {
	jq -c "select(.provider != \"admin\") | ${2:-.}" "$1" | wc -l
}
load_now() { cut -d' ' -f1 /proc/loadavg; }
git_commit_all() {
	git -C "$1" add -A && git -C "$1" -c user.name=bench -c user.email=bench@example.com \
		-c commit.gpgsign=false commit -q -m "$2"
}
# res VALUE TARGET [OK]: ok when VALUE <= TARGET (and OK is 0 or absent), else MISSED
res() {
	if [ "${3:-0}" != 0 ]; then echo FAILED; elif le "$1" "$2"; then echo ok; else echo MISSED; fi
}
GROWTH=$WORK/growth.tsv
: >"$GROWTH"

# ---- fleet: every command at FLEET_SIZES endpoints, each against its floor ----
if want fleet; then
	FLEET_SIZES=${FLEET_SIZES:-1000 10000 100000}
	FL=${FLEET_LATENCY_MS:-20}
	FLEET_PLAN_P=${FLEET_PLAN_P:-32 256}
	FLEET_APPLY_P=${FLEET_APPLY_P:-32}
	FLEET_DRIFT_P=${FLEET_DRIFT_P:-32}
	FLEET_RUNS=${FLEET_RUNS:-3}
	FLOOR_BIN=$WORK/yamlfloor
	# shellcheck disable=SC2046
	cc -std=c17 -O2 -o "$FLOOR_BIN" tests/bench/yamlfloor.c $(pkg-config --cflags --libs yaml-0.1) ||
		{ echo "bench: cannot build tests/bench/yamlfloor.c" >&2; exit 1; }
	: >"$RES/fleet.jsonl"
	declare -A PREV_WALL=()
	prev_n=
	for n in $FLEET_SIZES; do
		F=$WORK/fleet-$n
		echo "== fleet: $n endpoints (half azure-china, half azure; 10% changed), latency ${FL} ms, load $(load_now)" >&2
		a=$(now_ms)
		bash tests/bench/gen_fleet.sh "$F" "$n" 10 0 0 0 0 && git -C "$F/repo" init -q -b main &&
			git_commit_all "$F/repo" "bench fleet" || { echo "bench: fleet generation failed" >&2; exit 1; }
		changed=$(sed -n 's/^FLEET_CHANGED=//p' "$F/expect.env")
		cn_changed=$(cut -f1 "$F/jobs/rules.tsv" | grep -c '^azure-china$')
		echo "   generated and committed in $(secs $(($(now_ms) - a)))s" >&2
		R=$F/repo
		J=$WORK/fleet-$n.jsonl
		: >"$J"
		declare -A W=() # this size's wall times, by measurement
		# row_fleet KEY LABEL REQ MIN WALL FLOOR TARGET RESULT JSON: a table row, a JSON line
		row_fleet() {
			W[$1]=$5
			row "fleet $n: $2" "$3" "$4" "$5" "$6" "$7" "$8"
			local g=null
			[ -n "$prev_n" ] && [ -n "${PREV_WALL[$1]:-}" ] && g=$(ratio "$5" "${PREV_WALL[$1]}")
			[ "$g" != null ] && printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$2" "$prev_n" "$n" "${PREV_WALL[$1]}" "$5" "$g" >>"$GROWTH"
			jq -c --arg key "$1" --argjson n "$n" --argjson g "$g" --argjson prev "${prev_n:-null}" \
				'. + {measure: $key, endpoints: $n, growth_from_endpoints: $prev, wall_growth: $g}' <<<"$9" >>"$J"
		}

		# -- validate: against a bare libyaml parse of the same files
		best_of "$FLEET_RUNS" fleet-floor "$R" "$FLOOR_BIN" .
		fl_wall=$B_WALL
		best_of "$FLEET_RUNS" fleet-validate "$R" "$CACHEFORM" validate
		v_wall=$B_WALL v_rss=$B_RSS_KB v_rc=$B_RC
		in_bytes=$(find "$R/cacheform.yaml" "$R/endpoints" -name '*.yaml' -print0 | xargs -0 cat | wc -c)
		vr=$(ratio "$v_wall" "$fl_wall")
		row_fleet validate "validate vs libyaml" - - "$v_wall" "$fl_wall" "<= 2.0x" "$(res "$vr" 2.0 "$v_rc")" \
			"$(jq -nc --argjson w "$v_wall" --argjson f "$fl_wall" --argjson r "$vr" --argjson rss "${v_rss:-0}" \
				--argjson in "$in_bytes" --argjson rc "$v_rc" --arg load "$(load_now)" \
				'{wall_s: $w, floor_s: $f, floor: "libyaml parse (tests/bench/yamlfloor.c)", wall_ratio: $r,
				  target: 2.0, peak_rss_kb: $rss, input_bytes: $in, rss_ratio: ($rss * 1024 / $in), exit_code: $rc, load: $load}')"
		echo "   validate ${v_wall}s vs libyaml ${fl_wall}s = ${vr}x; peak RSS $((v_rss / 1024)) MiB for $((in_bytes / 1048576)) MiB of YAML" >&2

		# -- plan at each parallelism: one read per endpoint + one token (the azure account)
		min=$((n + 1))
		for p in $FLEET_PLAN_P; do
			FK_STATE=$F/state.json fakecdn_start "fleet-$n-plan-p$p" --latency "$FL" || exit 1
			load=$(load_now)
			run_timed "fleet-$n-plan-p$p" "$R" "$CACHEFORM" plan --no-purges --parallelism "$p"
			rc=$T_RC wall=$T_WALL cpu=$T_CPU fkcpu=$(fk_cpu)
			fakecdn_stop
			req=$(jcount "$JOURNAL")
			n429=$(jcount "$JOURNAL" 'select(.status == 429)')
			floor=$(awk -v m="$min" -v l="$FL" -v p="$p" 'BEGIN { printf "%.3f", m * l / p / 1000 }')
			wr=$(ratio "$wall" "$floor")
			us=$(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.1f", c / n * 1e6 }')
			fkus=$(awk -v c="$fkcpu" -v n="$n" 'BEGIN { if (c == "null") print "null"; else printf "%.1f", c / n * 1e6 }')
			[ "$rc" = 0 ] || tail -n 3 "$WORK/fleet-$n-plan-p$p.err" | sed 's/^/   /' >&2
			result=$(res "$wr" 1.10 "$rc")
			[ "$result" = ok ] && [ "$req" -gt "$min" ] && result=MISSED
			row_fleet "plan-p$p" "plan p=$p" "$req" "$min" "$wall" "$floor" "<= 1.10x" "$result" \
				"$(jq -nc --argjson p "$p" --argjson req "$req" --argjson min "$min" --argjson w "$wall" \
					--argjson f "$floor" --argjson r "$wr" --argjson cpu "$cpu" --argjson us "$us" \
					--argjson fk "$fkcpu" --argjson fkus "$fkus" --argjson n429 "$n429" --argjson rc "$rc" \
					--arg load "$load" --argjson lat "$FL" \
					'{parallelism: $p, latency_ms: $lat, requests: $req, min_requests: $min, wall_s: $w, floor_s: $f,
					  wall_ratio: $r, target: 1.10, client_cpu_s: $cpu, client_cpu_us_per_endpoint: $us,
					  cpu_target_us_per_endpoint: 60, fakecdn_cpu_s: $fk, fakecdn_cpu_us_per_endpoint: $fkus,
					  answers_429: $n429, exit_code: $rc, load: $load}')"
			row "fleet $n: plan p=$p client CPU (us/endpoint)" - - "$us" 60 "<= 60 us" "$(res "$us" 60 "$rc")"
			echo "   plan p=$p: $req requests (min $min), ${wall}s vs floor ${floor}s = ${wr}x; cacheform CPU ${cpu}s = ${us} us/endpoint; fakecdn CPU ${fkcpu}s; load $load" >&2
		done

		# -- apply: 10% changed; the floor as the apply section computes it (no purges here)
		FK_STATE=$F/state.json fakecdn_start "fleet-$n-apply" --latency "$FL" --task-delay "$TASK_DELAY_MS" || exit 1
		load=$(load_now)
		run_timed "fleet-$n-apply" "$R" "$CACHEFORM" apply --yes --parallelism "$FLEET_APPLY_P"
		rc=$T_RC wall=$T_WALL cpu=$T_CPU fkcpu=$(fk_cpu)
		napply=$(wc -l <"$JOURNAL")
		(cd "$R" && "$CACHEFORM" plan --no-purges --detailed-exitcode --parallelism 256 >"$WORK/fleet-$n-replan.out" 2>&1)
		replan_rc=$?
		fakecdn_stop
		head -n "$napply" "$JOURNAL" >"$WORK/fleet-$n-apply-only.jsonl"
		AJ=$WORK/fleet-$n-apply-only.jsonl
		req=$(jcount "$AJ")
		writes=$(jcount "$AJ" 'select(.op == "write_rules")')
		min=$((1 + n + changed + cn_changed + changed))
		floor=$(awk -v m="$min" -v l="$FL" -v p="$FLEET_APPLY_P" -v td="$TASK_DELAY_MS" \
			'BEGIN { printf "%.3f", (m * l / p + 2 * td) / 1000 }')
		wr=$(ratio "$wall" "$floor")
		ok=0
		{ [ "$rc" = 0 ] && [ "$replan_rc" = 0 ]; } || {
			ok=1
			tail -n 3 "$WORK/fleet-$n-apply.out" "$WORK/fleet-$n-apply.err" "$WORK/fleet-$n-replan.out" | sed 's/^/   /' >&2
		}
		result=$(res "$wr" 1.15 "$ok")
		[ "$result" = ok ] && [ "$writes" -ne "$changed" ] && result=MISSED
		row_fleet apply "apply p=$FLEET_APPLY_P, $changed changed" "$req" "$min" "$wall" "$floor" "<= 1.15x" "$result" \
			"$(jq -nc --argjson p "$FLEET_APPLY_P" --argjson req "$req" --argjson min "$min" --argjson w "$wall" \
				--argjson f "$floor" --argjson r "$wr" --argjson cpu "$cpu" --argjson fk "$fkcpu" \
				--argjson writes "$writes" --argjson changed "$changed" --argjson rc "$rc" \
				--argjson replan "$replan_rc" --arg load "$load" --argjson td "$TASK_DELAY_MS" --argjson lat "$FL" \
				'{parallelism: $p, latency_ms: $lat, task_delay_ms: $td, changed: $changed, rule_writes: $writes,
				  requests: $req, min_requests: $min, wall_s: $w, floor_s: $f, wall_ratio: $r, target: 1.15,
				  client_cpu_s: $cpu, fakecdn_cpu_s: $fk, exit_code: $rc, replan_exit_code: $replan, load: $load}')"
		echo "   apply p=$FLEET_APPLY_P: $writes rule writes (min $changed), $req requests (min $min), ${wall}s vs floor ${floor}s = ${wr}x; cacheform CPU ${cpu}s, fakecdn ${fkcpu}s; re-plan exit $replan_rc; load $load" >&2

		# -- drift: one read per endpoint + one token; the report covers every endpoint
		FK_STATE=$F/state.json fakecdn_start "fleet-$n-drift" --latency "$FL" || exit 1
		load=$(load_now)
		run_timed "fleet-$n-drift" "$R" "$CACHEFORM" drift --parallelism "$FLEET_DRIFT_P" --format json
		rc=$T_RC wall=$T_WALL cpu=$T_CPU fkcpu=$(fk_cpu)
		fakecdn_stop
		req=$(jcount "$JOURNAL")
		min=$((n + 1))
		covered=$(jq '.endpoints | length' "$WORK/fleet-$n-drift.out" 2>/dev/null || echo 0)
		floor=$(awk -v m="$min" -v l="$FL" -v p="$FLEET_DRIFT_P" 'BEGIN { printf "%.3f", m * l / p / 1000 }')
		wr=$(ratio "$wall" "$floor")
		ok=0
		{ [ "$rc" = 0 ] || [ "$rc" = 2 ]; } && [ "$covered" = "$n" ] || { ok=1; tail -n 3 "$WORK/fleet-$n-drift.err" | sed 's/^/   /' >&2; }
		row_fleet drift "drift p=$FLEET_DRIFT_P" "$req" "$min" "$wall" "$floor" "<= 1.10x" "$(res "$wr" 1.10 "$ok")" \
			"$(jq -nc --argjson p "$FLEET_DRIFT_P" --argjson req "$req" --argjson min "$min" --argjson w "$wall" \
				--argjson f "$floor" --argjson r "$wr" --argjson cpu "$cpu" --argjson fk "$fkcpu" \
				--argjson covered "$covered" --argjson rc "$rc" --arg load "$load" --argjson lat "$FL" \
				'{parallelism: $p, latency_ms: $lat, requests: $req, min_requests: $min, wall_s: $w, floor_s: $f,
				  wall_ratio: $r, target: 1.10, endpoints_reported: $covered, client_cpu_s: $cpu,
				  fakecdn_cpu_s: $fk, exit_code: $rc, load: $load}')"
		echo "   drift p=$FLEET_DRIFT_P: $req requests (min $min), ${wall}s vs floor ${floor}s = ${wr}x, $covered endpoints reported; cacheform CPU ${cpu}s, fakecdn ${fkcpu}s; load $load" >&2

		# -- diff and validate --ref: a second commit changes 10% of the endpoints
		find "$R/endpoints" -name '*.yaml' | sort | awk 'NR % 10 == 1' | xargs sed -i 's/ttl: 10m$/ttl: 11m/'
		git_commit_all "$R" "10% changed"
		best_of "$FLEET_RUNS" "fleet-$n-diff" "$R" "$CACHEFORM" diff --base HEAD~1 --head HEAD
		d_wall=$B_WALL d_rc=$B_RC
		best_of "$FLEET_RUNS" "fleet-$n-ref" "$R" "$CACHEFORM" validate --ref HEAD~1
		r_wall=$B_WALL r_rc=$B_RC
		for k in diff ref; do
			if [ "$k" = diff ]; then w=$d_wall rc=$d_rc label="diff --base HEAD~1 --head HEAD vs validate"
			else w=$r_wall rc=$r_rc label="validate --ref vs validate"; fi
			[ -n "$w" ] || w=null
			r=$(ratio "$w" "$v_wall")
			row_fleet "$k" "$label" - - "$w" "$v_wall" "<= 1.30x" "$(res "$r" 1.30 "$rc")" \
				"$(jq -nc --argjson w "$w" --argjson f "$v_wall" --argjson r "$r" --argjson rc "$rc" --arg load "$(load_now)" \
					'{wall_s: $w, floor_s: $f, floor: "validate on the working tree", wall_ratio: $r, target: 1.30,
					  exit_code: $rc, load: $load}')"
		done
		echo "   diff ${d_wall}s, validate --ref ${r_wall}s, against validate ${v_wall}s" >&2
		jq -s --argjson n "$n" '{endpoints: $n, measures: .}' "$J" >>"$RES/fleet.jsonl"
		for k in "${!W[@]}"; do PREV_WALL[$k]=${W[$k]}; done
		prev_n=$n
		rm -rf "$F"
	done
fi

# ---- shard: drift of SHARD_ENDPOINTS over SHARDS concurrent shards sharing one rate domain ----
if want shard; then
	SN=${SHARD_ENDPOINTS:-100000} SHARDS=${SHARDS:-8}
	SRATE=${SHARD_RATE:-100000} SBURST=${SHARD_BURST:-800} SL=${SHARD_LATENCY_MS:-20} SP=${SHARD_PARALLELISM:-32}
	S=$WORK/shard
	echo "== shard: drift of $SN azure endpoints (accounts global and global2, one rate_domain) over $SHARDS shards, --shard-budget split, ARM bucket $SRATE/min burst $SBURST, latency ${SL} ms, load $(load_now)" >&2
	export AZURE_CLIENT_SECRET2=fakecdn-client-secret-2
	AZ_ONLY=1 bash tests/bench/gen_fleet.sh "$S" "$SN" 10 0 0 0 0 || { echo "bench: shard fleet generation failed" >&2; exit 1; }
	# both accounts declare the one limit they share (two clients of one principal's budget)
	awk -v rate="$SRATE" -v burst="$SBURST" '{ print }
		/^    login_url: / { print "    rate_domain: bench-arm"; print "    rate_limit: {per_minute: " rate ", burst: " burst "}" }' \
		"$S/repo/cacheform.yaml" >"$S/cf.yaml" && mv "$S/cf.yaml" "$S/repo/cacheform.yaml"
	git -C "$S/repo" init -q -b main && git_commit_all "$S/repo" "shard fleet" || exit 1
	FK_STATE=$S/state.json fakecdn_start shard --latency "$SL" || exit 1
	curl -sf -X POST "$FAKECDN_URL/_fakecdn/faults" -d "{\"arm_rate_per_minute\": $SRATE, \"arm_burst\": $SBURST}" >/dev/null ||
		{ echo "bench: fakecdn refused the ARM bucket knobs" >&2; exit 1; }
	load=$(load_now)
	t0=$(now_ms)
	spids=()
	for i in $(seq 1 "$SHARDS"); do
		(
			a=$(now_ms)
			cd "$S/repo" && /usr/bin/time -f '%U %S %M' -o "$WORK/shard-$i.time" "$CACHEFORM" drift --shard "$i/$SHARDS" \
				--shard-budget split --parallelism "$SP" --format json >"$WORK/shard-$i.json" 2>"$WORK/shard-$i.err"
			echo "$? $a $(now_ms)" >"$WORK/shard-$i.rc"
		) &
		spids+=($!)
	done
	wait "${spids[@]}" # not fakecdn's
	t1=$(now_ms)
	fkcpu=$(fk_cpu)
	fakecdn_stop
	n429=$(jcount "$JOURNAL" 'select(.status == 429)')
	reads=$(jcount "$JOURNAL" 'select(.op == "read_rules")')
	# each shard's bucket: 1/N of the domain's rate, 1/(2N) of its burst (reconcile/shard.c)
	srate=$(awk -v r="$SRATE" -v n="$SHARDS" 'BEGIN { x = int(r / n); print (x < 1 ? 1 : x) }')
	sburst=$(awk -v r="$SBURST" -v n="$SHARDS" 'BEGIN { x = (n > 1 ? int(r / (2 * n)) : r); print (x < 1 ? 1 : x) }')
	: >"$RES/shard.jsonl"
	worst=0 allok=0 sum=0
	for i in $(seq 1 "$SHARDS"); do
		read -r rc a b <"$WORK/shard-$i.rc"
		read -r u s m < <(tail -1 "$WORK/shard-$i.time")
		eps=$(jq '.endpoints | length' "$WORK/shard-$i.json" 2>/dev/null || echo 0)
		sum=$((sum + eps))
		wall=$(secs $((b - a)))
		# its share of the work: its reads through its bucket, or through its connections
		floor=$(awk -v e="$eps" -v r="$srate" -v bu="$sburst" -v l="$SL" -v p="$SP" 'BEGIN {
			x = e - bu; if (x < 0) x = 0; fb = x * 60 / r; fl = e * l / p / 1000
			printf "%.3f", (fb > fl ? fb : fl) }')
		wr=$(ratio "$wall" "$floor")
		rok=0 # drift exits 2 when it finds drift (10% of the fleet differs)
		{ [ "$rc" = 0 ] || [ "$rc" = 2 ]; } || { rok=1 allok=1; tail -n 3 "$WORK/shard-$i.err" | sed 's/^/   /' >&2; }
		awk -v a="$wr" -v b="$worst" 'BEGIN { exit !(a > b) }' && worst=$wr
		cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
		jq -nc --argjson i "$i" --argjson eps "$eps" --argjson w "$wall" --argjson f "$floor" --argjson r "$wr" \
			--argjson rc "$rc" --argjson cpu "$cpu" --argjson rss "$m" \
			'{shard: $i, endpoints: $eps, wall_s: $w, floor_s: $f, wall_ratio: $r, exit_code: $rc, client_cpu_s: $cpu, peak_rss_kb: $rss}' \
			>>"$RES/shard.jsonl"
		row "shard $i/$SHARDS (its share of the work)" "$eps" - "$wall" "$floor" "<= 1.20x" "$(res "$wr" 1.20 "$rok")"
		echo "   shard $i/$SHARDS: $eps endpoints in ${wall}s vs its floor ${floor}s = ${wr}x (exit $rc, CPU ${cpu}s)" >&2
	done
	# merge: one report of every endpoint
	(cd "$S/repo" && "$CACHEFORM" drift-merge "$WORK"/shard-*.json >"$WORK/shard-merged.json" 2>"$WORK/shard-merge.err")
	mrc=$?
	merged=$(jq '.endpoints | length' "$WORK/shard-merged.json" 2>/dev/null || echo 0)
	mres=ok
	{ [ "$mrc" = 0 ] || [ "$mrc" = 2 ]; } && [ "$merged" = "$SN" ] || { mres=FAILED; tail -n 3 "$WORK/shard-merge.err" | sed 's/^/   /' >&2; }
	total=$(secs $((t1 - t0)))
	tfloor=$(awk -v e="$SN" -v r="$SRATE" -v bu="$SBURST" 'BEGIN { x = e - bu; if (x < 0) x = 0; printf "%.3f", x * 60 / r }')
	row "shard: 429 answers, $SHARDS shards one domain" "$n429" 0 "$total" "$tfloor" "0 x 429" "$([ "$n429" = 0 ] && [ "$allok" = 0 ] && echo ok || echo MISSED)"
	row "shard: drift-merge covers all" "$merged" "$SN" - - "= $SN" "$mres"
	echo "   all shards ${total}s (domain floor ${tfloor}s); $reads reads, $n429 answers 429; merged report: $merged endpoints (exit $mrc); fakecdn CPU ${fkcpu}s; load at start $load, now $(load_now)" >&2
	jq -n --argjson n "$SN" --argjson shards "$SHARDS" --argjson rate "$SRATE" --argjson burst "$SBURST" \
		--argjson srate "$srate" --argjson sburst "$sburst" --argjson lat "$SL" --argjson p "$SP" \
		--argjson n429 "$n429" --argjson reads "$reads" --argjson total "$total" --argjson tfloor "$tfloor" \
		--argjson merged "$merged" --argjson mrc "$mrc" --argjson worst "$worst" --argjson fk "$fkcpu" \
		--argjson per "$(jq -s . "$RES/shard.jsonl")" --arg load "$load" \
		'{endpoints: $n, shards: $shards, budget: "split", rate_domain: "bench-arm (accounts global, global2)",
		  domain_rate_per_minute: $rate, domain_burst: $burst, shard_rate_per_minute: $srate, shard_burst: $sburst,
		  latency_ms: $lat, parallelism: $p, reads: $reads, answers_429: $n429, wall_s: $total,
		  domain_floor_s: $tfloor, worst_shard_ratio: $worst, shard_target: 1.20, merged_endpoints: $merged,
		  merge_exit_code: $mrc, fakecdn_cpu_s: $fk, load: $load, per_shard: $per}' >"$RES/shard.json"
	rm -rf "$S"
fi

# ---- cdnpro-props: PROPS CDN Pro properties in mode: manage, one changed rule each ----
if want cdnpro-props; then
	NP=${PROPS:-100} PRATE=${PROPS_RATE:-600} PBURST=${PROPS_BURST:-60} PL=${PROPS_LATENCY_MS:-20}
	P=$WORK/props
	echo "== cdnpro-props: $NP properties (mode: manage), one changed rule each, bucket $PRATE/min burst $PBURST, latency ${PL} ms, load $(load_now)" >&2
	mkdir -p "$P/repo/endpoints"
	# fakecdn: the example state, tasks done at once, the properties seeded (version 1 deployed)
	jq --argjson n "$NP" '.settings.task_delay_ms = 0 | .settings.cdnpro_validation_ms = 0
		| .settings.cdnpro_deploy_ms = 0 | .settings.cdnpro_rate_per_minute = 1000000
		| .settings.cdnpro_burst = 1000000 | .cdnpro.service_quota = {allowProduction: true}
		| .cdnpro.properties = [range(1; $n + 1) | . as $i | ("5dca2205f9e9cc00" + ("0000000" + ($i | tostring))[-8:]) as $id
			| {id: $id, name: ("p" + $id), deploy: ["production"],
			   version: {hostnames: ["p\($i).example.com"], syntaxVersion: 1,
				     origins: [{name: "origin1", servers: ["origin.example.com"]}],
				     edgeLogic: "location / {\n  origin_pass origin1;\n}\n"}}]' \
		examples/fakecdn/state.json >"$P/state.json" || exit 1
	props_repo() { # PER_MINUTE BURST TTL
		printf 'version: 1\naccounts:\n  pro:\n    provider: cdnpro\n    user: {env: CDNPRO_USER}\n    api_key: {env: CDNPRO_API_KEY}\n    base_url: {env: FAKECDN_URL}\n    rate_limit: {per_minute: %s, burst: %s}\n' "$1" "$2" >"$P/repo/cacheform.yaml"
		local i
		for i in $(seq 1 "$NP"); do
			printf 'endpoint: p%s\naccount: pro\nmode: manage\nhosts: [p%s.example.com]\nremote: {property_id: 5dca2205f9e9cc00%08d, target: production}\ncache:\n  rules:\n    - dir: [/img/]\n      ttl: %s\n' \
				"$i" "$i" "$i" "$3" >"$P/repo/endpoints/p$i.yaml"
		done
	}
	git init -q -b main "$P/repo"
	props_repo 100000 100000 1d && git_commit_all "$P/repo" "1d" || exit 1
	FK_STATE=$P/state.json fakecdn_start props --latency "$PL" || exit 1
	# converged first (not measured): the bucket out of the way
	(cd "$P/repo" && "$CACHEFORM" apply --yes >"$WORK/props-converge.out" 2>&1)
	crc=$?
	props_repo "$PRATE" "$PBURST" 2d && git_commit_all "$P/repo" "2d"
	curl -sf -X POST "$FAKECDN_URL/_fakecdn/faults" -d "{\"cdnpro_rate_per_minute\": $PRATE, \"cdnpro_burst\": $PBURST}" >/dev/null
	n0=$(wc -l <"$JOURNAL")
	load=$(load_now)
	run_timed props-apply "$P/repo" "$CACHEFORM" apply --yes
	rc=$T_RC wall=$T_WALL cpu=$T_CPU
	n1=$(wc -l <"$JOURNAL")
	(cd "$P/repo" && "$CACHEFORM" plan --detailed-exitcode >"$WORK/props-replan.out" 2>&1)
	replan_rc=$?
	fakecdn_stop
	sed -n "$((n0 + 1)),${n1}p" "$JOURNAL" >"$WORK/props-apply.jsonl"
	PJ=$WORK/props-apply.jsonl
	req=$(jcount "$PJ" 'select(.provider == "cdnpro")')
	n429=$(jcount "$PJ" 'select(.status == 429)')
	writes=$(jcount "$PJ" 'select((.op == "version_create" or .op == "version_patch") and .changed == true)')
	floor=$(awk -v r="$req" -v b="$PBURST" -v rate="$PRATE" 'BEGIN { x = r - b; if (x < 0) x = 0; printf "%.3f", x * 60 / rate }')
	wr=$(ratio "$wall" "$floor")
	ok=0
	{ [ "$crc" = 0 ] && [ "$rc" = 0 ] && [ "$replan_rc" = 0 ]; } || {
		ok=1
		tail -n 3 "$WORK/props-converge.out" "$WORK/props-apply.out" "$WORK/props-apply.err" "$WORK/props-replan.out" | sed 's/^/   /' >&2
	}
	result=$(res "$wr" 1.10 "$ok")
	[ "$result" = ok ] && { [ "$n429" -ne 0 ] || [ "$writes" -ne "$NP" ]; } && result=MISSED
	ops=$(jq -sc 'map(select(.provider == "cdnpro")) | group_by(.op) | map({key: .[0].op, value: length}) | from_entries' "$PJ")
	row "cdnpro-props: $NP properties ($n429 x 429)" "$req" - "$wall" "$floor" "<= 1.10x, 0 x 429" "$result"
	echo "   $writes version writes (min $NP), $req cdnpro requests ($(awk -v r="$req" -v n="$NP" 'BEGIN { printf "%.1f", r / n }') per property), $n429 answered 429; ${wall}s vs the bucket's floor ${floor}s = ${wr}x; re-plan exit $replan_rc; load $load" >&2
	echo "   requests by op: $ops" >&2
	jq -n --argjson n "$NP" --argjson rate "$PRATE" --argjson burst "$PBURST" --argjson lat "$PL" \
		--argjson req "$req" --argjson n429 "$n429" --argjson writes "$writes" --argjson w "$wall" \
		--argjson f "$floor" --argjson r "$wr" --argjson rc "$rc" --argjson crc "$crc" --argjson replan "$replan_rc" \
		--argjson cpu "$cpu" --argjson ops "$ops" --arg result "$result" --arg load "$load" \
		'{properties: $n, rate_per_minute: $rate, burst: $burst, latency_ms: $lat, requests: $req,
		  requests_by_op: $ops, answers_429: $n429, version_writes: $writes, wall_s: $w,
		  bucket_floor_s: $f, floor: "(requests - burst) x 60 / rate", wall_ratio: $r, target: 1.10,
		  client_cpu_s: $cpu, converge_exit_code: $crc, exit_code: $rc, replan_exit_code: $replan,
		  result: $result, load: $load}' >"$RES/cdnpro_props.json"
	rm -rf "$P"
fi

# ---- results ----
mkdir -p "$RESULTS_DIR"
# Only a run of every section is "the" result; a partial run (make bench-validate) writes its own file.
if [ $# -gt 0 ]; then RESULTS=$RESULTS_DIR/results-$(IFS=-; echo "$*").json; fi
slurp() { if [ -s "$1" ]; then cat "$1"; else echo null; fi; }
plan_json=null
[ -s "$RES/plan.jsonl" ] && plan_json=$(jq -s . "$RES/plan.jsonl")
jq -n --arg when "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg version "$("$CACHEFORM" version 2>/dev/null | head -1)" \
	--arg host "$(uname -srm)" --argjson cores "$(nproc)" --argjson lat "$LATENCY_MS" \
	--argjson validate "$(slurp "$RES/validate.json")" --argjson plan "$plan_json" \
	--argjson apply "$(slurp "$RES/apply.json")" --argjson cdnpro "$(slurp "$RES/cdnpro.json")" \
	--argjson baseline "$(slurp "$RES/baseline.json")" --argjson planbeh "$(slurp "$RES/planbeh.json")" \
	--argjson planrss "$(slurp "$RES/planrss.json")" --argjson afd "$(slurp "$RES/afd.json")" \
	--argjson ledger "$(if [ -s "$RES/ledger.jsonl" ]; then jq -s . "$RES/ledger.jsonl"; else echo null; fi)" \
	--argjson fleet "$(if [ -s "$RES/fleet.jsonl" ]; then jq -s . "$RES/fleet.jsonl"; else echo null; fi)" \
	--argjson shard "$(slurp "$RES/shard.json")" --argjson props "$(slurp "$RES/cdnpro_props.json")" \
	'{format_version: 1, generated_at: $when, cacheform: $version, host: $host, cores: $cores,
	  latency_ms: $lat, validate: $validate, plan: $plan, apply: $apply, cdnpro: $cdnpro, baseline: $baseline,
	  planbeh: $planbeh, planrss: $planrss, ledger: $ledger, afd: $afd, fleet: $fleet, shard: $shard,
	  cdnpro_props: $props}' \
	>"$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"

printf '\n%-34s %9s %9s %9s %9s %8s %-18s %s\n' benchmark requests minimum "wall" floor ratio target result
awk -F'\t' '{
	r = ($5 != "-" && $5 + 0 > 0 && $4 != "-") ? sprintf("%.2fx", $4 / $5) : "-"
	printf "%-34s %9s %9s %9s %9s %8s %-18s %s\n", $1, $2, $3, $4, $5, r, $6, $7
}' "$ROWS"
if [ -s "$RES/baseline.json" ]; then
	jq -r '"baseline: \(.requests) requests in \(.wall_s)s; cacheform apply is \(.cacheform_speedup)x faster and the baseline sends \(.write_request_ratio_baseline_to_cacheform)x its write requests (all requests: \(.request_ratio_baseline_to_cacheform)x; the baseline reads nothing and waits for nothing)"' "$RES/baseline.json"
fi
if [ -s "$GROWTH" ]; then
	printf '\n%-44s %8s %8s %9s %9s %8s\n' "fleet growth" from to "wall" "wall" growth
	awk -F'\t' '{ printf "%-44s %8s %8s %9s %9s %7.2fx\n", $1, $2, $3, $4, $5, $6 }' "$GROWTH"
fi
echo
echo "results: ${RESULTS#"$TOP"/}"
! grep -q $'\tFAILED$' "$ROWS"
