#!/usr/bin/env bats
# Pull-request comments that fit: the markdown plan of a 1,000-endpoint fleet with 500
# changed (tests/bench/gen_fleet.sh, served by fakecdn) stays within GitHub's 65,536
# characters, lists only the changed endpoints, says what it left out and where the full
# plan is, and the markers name the output kind and the repository path.
load helpers
load reconcile_helpers
bats_require_minimum_version 1.5.0

# GitHub's limit on an issue or pull-request comment body, in characters.
GITHUB_COMMENT_MAX=65536

setup_file() {
	# The fleet's cacheform.yaml names these (fakecdn's example credentials).
	export AZURE_SUBSCRIPTION_ID=$ARM_SUB AZURE_TENANT_ID=$ARM_TENANT AZURE_CLIENT_ID=$ARM_CLIENT
	export CDNPRO_USER=$PRO_USER
	export FLEET=$BATS_FILE_TMPDIR/fleet
	bash "$TOP/tests/bench/gen_fleet.sh" "$FLEET" 1000 50 20 2 0 0 >/dev/null
	git init -q -b main "$FLEET/repo"
	repo_commit "$FLEET/repo" fleet
}

teardown() {
	fakecdn_stop
}

@test "a plan of 1,000 endpoints with 500 changed fits a comment and names what it left out" {
	fakecdn_start "$FLEET/state.json"
	cd "$FLEET/repo"
	GITHUB_SERVER_URL=https://github.example GITHUB_REPOSITORY=acme/cdn GITHUB_RUN_ID=42 \
		run --separate-stderr timeout 300 "$CACHEFORM" plan --format markdown --parallelism 16
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/plan.md"
	chars=$(wc -m <"$BATS_TEST_TMPDIR/plan.md")
	echo "markdown: $chars characters" >&3
	[ "$chars" -le "$GITHUB_COMMENT_MAX" ]
	[ "${lines[0]}" = "<!-- cacheform:plan:. -->" ]
	# The summary comes first (bats drops empty lines), with the unchanged endpoints only counted.
	[ "${lines[1]}" = "### cacheform plan" ]
	[[ "${lines[2]}" == *"**500** to update, **"*"500 of 1000 endpoints unchanged (not listed)."* ]]
	# Unchanged endpoints (cn0050..cn0098, az0051..) are not listed; changed ones are.
	[[ "$output" == *"| cn0000 | azure-china | update |"* ]]
	[[ "$output" != *"| cn0050 |"* && "$output" != *"cn0050: "* ]]
	# Changed lines are "!" lines in the diff blocks, which GitHub colours.
	grep -q '^! rule 2: dir /static/, /assets/  ttl ' "$BATS_TEST_TMPDIR/plan.md"
	! grep -q '^~ ' "$BATS_TEST_TMPDIR/plan.md" || false
	# The cut is explained: how much is not shown and where the full plan is.
	grep -q '^### Not shown$' "$BATS_TEST_TMPDIR/plan.md"
	left=$(grep -oE '[0-9]+ endpoint diffs' "$BATS_TEST_TMPDIR/plan.md" | grep -oE '^[0-9]+')
	shown=$(grep -c '^<details><summary>[ca][nz][0-9]*: update' "$BATS_TEST_TMPDIR/plan.md")
	echo "diffs shown: $shown, left out: $left" >&3
	[ "$((shown + left))" -eq 500 ]
	[ "$shown" -gt 0 ]
	grep -q 'The full plan: printed as text to the standard error of this run (the job log: https://github.example/acme/cdn/actions/runs/42)' "$BATS_TEST_TMPDIR/plan.md"
	# ... and it is there: every changed endpoint, as text.
	for ep in cn0000 az0049 cn0948 az0949; do [[ "$stderr" == *"$ep"* ]]; done
	[[ "$stderr" == *"Plan: 500 endpoints to update"* ]]
}

@test "purges list their URLs; a small plan is not cut and prints nothing extra" {
	fakecdn_start
	R=$BATS_TEST_TMPDIR/repo
	repo_init "$R"
	cd "$R"
	run --separate-stderr "$CACHEFORM" plan --format markdown
	[ "$status" -eq 0 ]
	[[ "$output" != *"### Not shown"* ]]
	[ -z "$stderr" ]
	[[ "$output" == *"<details><summary>2026-11-21-logo on www: "*" URL"* ]]
	[[ "$output" == *"https://www.example.cn/logo.png"* ]]
}

@test "markers name the kind and the directory inside the work tree" {
	fakecdn_start
	M=$BATS_TEST_TMPDIR/mono
	mkdir -p "$M"
	git init -q "$M"
	repo_init "$M/cdn/prod" www
	rm -rf "$M/cdn/prod/.git"
	repo_commit "$M" mono
	run "$CACHEFORM" plan --repo "$M/cdn/prod" --format markdown
	[ "${lines[0]}" = "<!-- cacheform:plan:cdn/prod -->" ]
	run "$CACHEFORM" diff --repo "$M/cdn/prod" --base HEAD --format markdown
	[ "${lines[0]}" = "<!-- cacheform:diff:cdn/prod -->" ]
	cd "$M/cdn/prod"
	run "$CACHEFORM" drift --format markdown
	[ "${lines[0]}" = "<!-- cacheform:drift:cdn/prod -->" ]
}
