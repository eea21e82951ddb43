#!/usr/bin/env bats
# validate and drift for CI systems other than GitHub: --format gitlab (a GitLab Code Quality
# report, checked by ajv against tests/cli/gitlab_codequality.schema.json, written from GitLab's
# documentation) and --format junit (JUnit XML, checked by xmllint and by counting testcases and
# failures). File and endpoint names come from pull requests: a hostile one must stay well-formed
# and bring no ESC byte into the output. Exit codes are the other formats'.
load gitops_helpers
load fakecdn_helpers

# The same prefix and package list as schema.bats, so neither reinstalls.
SCHEMA_NPM_PKGS="ajv-cli@5.0.0 ajv-formats@2.1.1"
HOSTILE=$'x<&"\'\x01\x1b[31m.yaml'

setup_file() {
	export SCHEMA_NPM="$TOP/tests/.npm/schema"
	local stamp="$SCHEMA_NPM/.installed"
	if [ "$(cat "$stamp" 2>/dev/null)" != "$SCHEMA_NPM_PKGS" ]; then
		mkdir -p "$SCHEMA_NPM"
		# shellcheck disable=SC2086
		npm install --prefix "$SCHEMA_NPM" --ignore-scripts --no-audit --no-fund --no-save \
			--loglevel=error $SCHEMA_NPM_PKGS >&3 2>&1 || return 1
		echo "$SCHEMA_NPM_PKGS" >"$stamp"
	fi
}

# codequality FILE: validates FILE against GitLab's Code Quality format.
codequality() {
	"$SCHEMA_NPM/node_modules/.bin/ajv" validate --spec=draft7 --errors=text \
		-s "$TOP/tests/cli/gitlab_codequality.schema.json" -d "$1"
}

# xcount FILE XPATH: the number XPATH evaluates to.
xcount() {
	xmllint --xpath "$2" "$1"
}

# A repository with several kinds of error, one of them in a file with a hostile name.
broken_repo() {
	local r=$1
	mkdir -p "$r/endpoints" "$r/purges"
	cp "$TOP/examples/cacheform.yaml" "$r/"
	cp "$TOP"/examples/endpoints/*.yaml "$r/endpoints/"
	cp "$TOP"/examples/purges/*.yaml "$r/purges/"
	w() { printf '%s\n' "$2" >"$r/$1"; }
	w endpoints/e01.yaml $'endpoint: e01\naccount: nope\nhosts: [e01.example.cn]\nremote: {endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a612}\ncache:\n  rules:\n    - dir: [static]\n      ttl: 1d'
	w endpoints/e02.yaml $'endpoint: e02\naccount: cn\nhosts: [e02.example.cn]\nremote: {endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a613}\nbogus: 1\ncache:\n  rules:\n    - dir: [/x/]\n      ttl: soon'
	w endpoints/e03.yaml $'endpoint: [e03'
	w endpoints/e04.yaml $'endpoint: www\naccount: cn\nhosts: [www2.example.cn]\nremote: {endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a615}'
	w "endpoints/$HOSTILE" $'endpoint: hostile\naccount: cn\nhosts: [h.example.cn]\nremote: {endpoint_id: not-a-guid}\ncache:\n  rules:\n    - dir: [/a*b/]\n      ttl: 1d'
	w purges/p01.yaml $'purge: p01\nendpoints: [ghost]\nfiles: ["ftp://x/y"]'
}

setup() {
	B="$BATS_TEST_TMPDIR/bad"
	broken_repo "$B"
}

@test "validate --format gitlab: one issue per finding, GitLab's format, stable fingerprints, exit 1" {
	"$CACHEFORM" validate --repo "$B" --format json >"$BATS_TEST_TMPDIR/v.json" || true
	nerr=$(jq '.errors' "$BATS_TEST_TMPDIR/v.json")
	ndiag=$(jq '.diagnostics | length' "$BATS_TEST_TMPDIR/v.json")
	kinds=$(jq '[.diagnostics[] | select(.severity == "error") | .code] | unique | length' "$BATS_TEST_TMPDIR/v.json")
	[ "$nerr" -ge 8 ] && [ "$kinds" -ge 6 ]
	run "$CACHEFORM" validate --repo "$B" --format gitlab
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/cq.json"
	run codequality "$BATS_TEST_TMPDIR/cq.json"
	echo "$output"
	[ "$status" -eq 0 ]
	cq=$BATS_TEST_TMPDIR/cq.json
	[ "$(jq length "$cq")" -eq "$ndiag" ]
	[ "$(jq '[.[] | select(.severity == "major")] | length' "$cq")" -eq "$nerr" ]
	[ "$(jq '[.[].fingerprint] | unique | length' "$cq")" -eq "$ndiag" ]
	# paths carry the --repo prefix, as the other formats do
	[ "$(jq -r '[.[].location.path | startswith("'"$B"'/")] | all' "$cq")" = true ]
	jq -e '.[] | select(.check_name == "CF301" and (.location.path | endswith(".yaml")) and (.location.path | contains("x<&\"")))' "$cq" >/dev/null
	run grep -c $'\x1b' "$cq"
	[ "$output" = 0 ]
	# a second run gives the same fingerprints: GitLab compares them between pipelines
	"$CACHEFORM" validate --repo "$B" --format gitlab >"$BATS_TEST_TMPDIR/cq2.json" || true
	cmp "$cq" "$BATS_TEST_TMPDIR/cq2.json"
}

@test "validate --format gitlab on a valid repository: exit 0, warnings and notices only" {
	run "$CACHEFORM" validate --repo "$TOP/examples" --format gitlab
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/cq.json"
	run codequality "$BATS_TEST_TMPDIR/cq.json"
	[ "$status" -eq 0 ]
	[ "$(jq '[.[] | select(.severity == "major")] | length' "$BATS_TEST_TMPDIR/cq.json")" -eq 0 ]
	[ "$(jq length "$BATS_TEST_TMPDIR/cq.json")" -ge 1 ] # the examples' retirement notices
}

@test "validate --format junit: well-formed, a testsuite per file, a failure per error" {
	"$CACHEFORM" validate --repo "$B" --format json >"$BATS_TEST_TMPDIR/v.json" || true
	nerr=$(jq '.errors' "$BATS_TEST_TMPDIR/v.json")
	ndiag=$(jq '.diagnostics | length' "$BATS_TEST_TMPDIR/v.json")
	run "$CACHEFORM" validate --repo "$B" --format junit
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	x=$BATS_TEST_TMPDIR/v.xml
	printf '%s\n' "$output" >"$x"
	run xmllint --noout "$x"
	echo "$output"
	[ "$status" -eq 0 ]
	nfiles=$(($(ls "$B/endpoints" "$B/purges" | grep -c '\.yaml$') + 1))
	[ "$(xcount "$x" 'count(/testsuites/testsuite)')" -eq "$nfiles" ]
	[ "$(xcount "$x" 'count(//testcase/failure)')" -eq "$nerr" ]
	[ "$(xcount "$x" 'string(/testsuites/@failures)')" -eq "$nerr" ]
	[ "$(xcount "$x" 'string(/testsuites/@tests)')" -eq "$(xcount "$x" 'count(//testcase)')" ]
	# every finding is a testcase, plus one passing "valid" per file without findings
	clean=$(xcount "$x" 'count(//testcase[@name="valid"])')
	[ "$(xcount "$x" 'count(//testcase)')" -eq $((ndiag + clean)) ]
	[ "$clean" -ge 5 ]
	# the hostile name, escaped: the parser gets it back with the ESC shown as \x1b
	name=$(xcount "$x" 'string(//testsuite[contains(@name, "x<&")]/@name)')
	[ "$name" = "$B/endpoints/x<&\"'\\x01\\x1b[31m.yaml" ]
	[ "$(xcount "$x" 'count(//testsuite[contains(@name, "x<&")]/testcase/failure)')" -ge 2 ]
	run grep -c $'\x1b' "$x"
	[ "$output" = 0 ]
	# each failure names its location
	msg=$(xcount "$x" 'string(//testcase/failure[@type="CF301"]/@message)')
	[[ "$msg" == "$B/endpoints/x<&"*".yaml:7:13: "*"[CF301]" ]]
}

@test "validate --format junit on a valid repository: every file passes, exit 0" {
	run "$CACHEFORM" validate --repo "$TOP/examples" --format junit
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/v.xml"
	xmllint --noout "$BATS_TEST_TMPDIR/v.xml"
	[ "$(xcount "$BATS_TEST_TMPDIR/v.xml" 'count(//failure)')" -eq 0 ]
	[ "$(xcount "$BATS_TEST_TMPDIR/v.xml" 'count(//testsuite)')" -eq \
		$(($(ls "$TOP"/examples/endpoints/*.yaml "$TOP"/examples/purges/*.yaml | wc -l) + 1)) ]
}

@test "the new formats are refused where they do not apply, and bad names are usage errors" {
	run "$CACHEFORM" validate --format junitx
	[ "$status" -eq 129 ]
	[[ "$output" == *"text, json, github, sarif, gitlab or junit"* ]]
	run "$CACHEFORM" diff --base HEAD --format gitlab
	[ "$status" -eq 129 ]
	run "$CACHEFORM" plan --format junit
	[ "$status" -eq 129 ]
}

# ---- drift ----

drift_repo() {
	fakecdn_start
	R="$BATS_TEST_TMPDIR/repo"
	gitops_repo "$R" "$FAKECDN_URL"
	git -C "$R" rm -q -r purges
	# an endpoint the provider does not have: drift cannot check it
	sed 's/endpoint: img/endpoint: ghost/; s/2b6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93/0badc0de-0000-4000-8000-000000000000/' \
		"$R/endpoints/img.yaml" >"$R/endpoints/ghost.yaml"
	gitops_commit "$R" "fixture"
	export AZURECDN_KEY_ID=$CN_KEY_ID AZURECDN_KEY_VALUE=$CN_KEY_VALUE
}

teardown() {
	[ -z "${FAKECDN_PID:-}" ] || fakecdn_stop
}

@test "drift --format junit: a testcase per endpoint, failure when drifted, error when not checked" {
	drift_repo
	run "$CACHEFORM" drift --repo "$R" --format text
	text_status=$status
	[ "$text_status" -eq 1 ] # an endpoint could not be checked
	run "$CACHEFORM" drift --repo "$R" --format junit
	assert_no_sanitizer
	[ "$status" -eq "$text_status" ]
	x=$BATS_TEST_TMPDIR/d.xml
	printf '%s\n' "$output" >"$x"
	xmllint --noout "$x"
	[ "$(xcount "$x" 'count(//testcase)')" -eq 3 ]
	[ "$(xcount "$x" 'string(//testcase[@name="www"]/failure/@type)')" = pending ]
	[ "$(xcount "$x" 'string(//testcase[@name="img"]/failure/@type)')" = external ]
	[ "$(xcount "$x" 'string(//testcase[@name="ghost"]/error/@type)')" = not-checked ]
	[ "$(xcount "$x" 'string(/testsuites/@failures)') $(xcount "$x" 'string(/testsuites/@errors)')" = "2 1" ]
	[ "$(xcount "$x" 'string(//testcase[@name="img"]/@file)')" = "$R/endpoints/img.yaml" ]
	# the failure's text is what apply would change, as the text format shows it
	[[ "$(xcount "$x" 'string(//testcase[@name="www"]/failure)')" == *"rule"* ]]
}

@test "drift --format gitlab: an issue per drifted or unchecked endpoint; none when in sync" {
	drift_repo
	run "$CACHEFORM" drift --repo "$R" --format gitlab
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/cq.json"
	run codequality "$BATS_TEST_TMPDIR/cq.json"
	echo "$output"
	[ "$status" -eq 0 ]
	run jq -r '.[] | "\(.check_name) \(.severity) \(.location.path | ltrimstr("'"$R"'/")):\(.location.lines.begin)"' "$BATS_TEST_TMPDIR/cq.json"
	[ "${lines[0]}" = "cacheform/drift-not-checked major endpoints/ghost.yaml:1" ]
	[ "${lines[1]}" = "cacheform/drift-external major endpoints/img.yaml:1" ]
	[ "${lines[2]}" = "cacheform/drift-pending minor endpoints/www.yaml:1" ]
	# in sync after apply: an empty report, exit 0
	run "$CACHEFORM" apply --repo "$R" --first-run --yes -e www
	[ "$status" -eq 0 ]
	run "$CACHEFORM" drift --repo "$R" -e www --format gitlab
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" -eq 0 ]
	run "$CACHEFORM" drift --repo "$R" -e www --format junit
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/d.xml"
	[ "$(xcount "$BATS_TEST_TMPDIR/d.xml" 'count(//testcase)') $(xcount "$BATS_TEST_TMPDIR/d.xml" 'count(//failure)')" = "1 0" ]
}
