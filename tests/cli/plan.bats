#!/usr/bin/env bats
# cacheform plan against fakecdn: reads, formats, plan files, quotas, ledger interplay.
load helpers
load reconcile_helpers

setup() {
	fakecdn_start "" --task-delay 50
	R=$BATS_TEST_TMPDIR/repo
	repo_init "$R"
	cd "$R"
}

teardown() {
	fakecdn_stop
}

@test "plan shows rule changes, foreign rules, drift and purges; reads each endpoint once" {
	run cf plan
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"www (azure-china, account cn): update cache rules (1 added, 1 changed, 0 removed, 0 moved, 1 flag)"* ]]
	[[ "$output" == *"~ rule 2: dir /pic/, /doc/  ttl 1d  (ttl was 1h)"* ]]
	[[ "$output" == *"+ rule 4: suffix css, js  ttl 1w"* ]]
	[[ "$output" == *"~ ignore_cookie: false -> true"* ]]
	[[ "$output" == *"delivery rule 'corsFonts' (order 3) not managed by cacheform; preserved"* ]]
	[[ "$output" == *"static-cn (azure-china, account cn, mode observe): drift, not written"* ]]
	[[ "$output" == *"+ 2026-11-21-logo on www: 2 files, 0 dirs, 1 preload in 2 requests; will run"* ]]
	[[ "$output" == *"cn (azure-china): this plan uses 3 of 2000 file and 1 of 500 directory purges left today"* ]]
	[[ "$output" != *$'\033'* ]]
	# 4 endpoints with readable rules (media is purge-only cdnpro), one token, one quota read
	[ "$(journal_ops read_rules)" -eq 4 ]
	[ "$(journal_ops token)" -eq 1 ]
	[ "$(journal_ops quota)" -eq 1 ]
	[ "$(jq -c 'select(.changed == true)' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
}

@test "--detailed-exitcode is 2 with changes; -e selects endpoints; --no-purges" {
	run cf plan --detailed-exitcode
	[ "$status" -eq 2 ]
	: >"$FAKECDN_JOURNAL"
	run cf plan -e docs --detailed-exitcode --no-purges
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 endpoint without changes (--show-unchanged lists it)"* ]]
	[[ "$output" != *"docs (azure"* ]]
	[[ "$output" != *"www"* ]]
	[[ "$output" == *"Purges: not planned (--no-purges)"* ]]
	[ "$(journal_ops read_rules)" -eq 1 ]
	run cf plan -e docs --detailed-exitcode --no-purges --show-unchanged
	echo "$output"
	[[ "$output" == *"docs (azure, account global): no changes"* ]]
	run cf plan -e nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"unknown endpoint 'nosuch'"* ]]
}

@test "json format: format_version 1, stable fields" {
	run cf plan --format json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.format_version == 1'
	echo "$output" | jq -e --arg c "$(git rev-parse HEAD)" '.desired_commit == $c'
	echo "$output" | jq -e '.summary.update == 2 and .summary.drift == 1 and .summary.purges_run == 5'
	echo "$output" | jq -e '.endpoints[] | select(.name == "www") | .action == "update" and (.live_state.digest | length) == 64'
	echo "$output" | jq -e '[.endpoints[] | select(.name == "www") | .rule_changes[].change] == ["change", "add"]'
	echo "$output" | jq -e '.endpoints[] | select(.name == "shop") | .foreign_rules[0].name == "corsFonts"'
	echo "$output" | jq -e '.purges[] | select(.id == "2026-11-23-media-thumbs") | .state == "run" and .regex == 1'
	echo "$output" | jq -e '.quotas[] | select(.account == "pro:production") | .known and .files_left == 5000'
}

@test "markdown and github formats" {
	run cf plan --format markdown
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "<!-- cacheform:plan:. -->" ]
	[[ "$output" == *"| Endpoint | Provider | Action |"* ]]
	[[ "$output" == *"<details><summary>www: update"* ]]
	[[ "$output" == *"- cn (azure-china): this plan uses 3 of 2000 file"* ]]
	# Only the changed endpoints are listed (update, drift); the two unchanged are counted.
	[ "$(grep -c '^<details><summary>[a-z-]*: ' <<<"$output")" -eq 3 ]
	[[ "$output" == *"2 of 5 endpoints unchanged (not listed)"* ]]
	[ "$(grep -cE '^<details><summary>(2026-|shop-logo-)' <<<"$output")" -eq 5 ]
	run cf plan --format github
	[ "$status" -eq 0 ]
	[[ "$output" == *"::notice title=cacheform plan::www: update cache rules"* ]]
	[[ "$output" == *"::warning title=cacheform drift::static-cn"* ]]
	[[ "$output" == *"::notice title=cacheform purge::2026-11-24-cn-pics on www"* ]]
	run cf plan --format yaml
	[ "$status" -eq 129 ]
}

@test "--out writes a plan file with the commit, live digests and operations" {
	run cf plan --out "$BATS_TEST_TMPDIR/plan.json"
	[ "$status" -eq 0 ]
	local f=$BATS_TEST_TMPDIR/plan.json
	jq -e --arg c "$(git rev-parse HEAD)" '.desired_commit == $c' "$f"
	jq -e '[.endpoints[] | select(.live_state.read) | .live_state.digest | length] == [64, 64, 64, 64]' "$f"
	jq -e '[.purges[].id] | length == 5' "$f"
	# no secret reaches the file
	! grep -q -e "$CN_KEY_VALUE" -e "$ARM_SECRET" -e "$PRO_KEY" "$f" || false
}

@test "an unreadable endpoint is an error (exit 1), the rest is still planned" {
	sed -i "s/8137ecc4-71c4-11e7-8259-0017fa00a611/8137ecc4-71c4-11e7-8259-0017fa00a6ff/" endpoints/www.yaml
	run cf plan
	[ "$status" -eq 1 ]
	[[ "$output" == *"www (azure-china, account cn): error:"* ]]
	[[ "$output" == *"1 endpoint without changes"* ]]
	[[ "$output" == *"2026-11-24-cn-pics on www"*"blocked"* ]]
}

@test "purges in the ledger are not planned again; an edited manifest is reported" {
	run cf ledger mark 2026-11-24-cn-pics
	[ "$status" -eq 0 ]
	run cf plan --format json
	echo "$output" | jq -e '[.purges[].id] | index("2026-11-24-cn-pics") == null'
	# a manifest that ran with other content
	run cf apply --first-run --yes -e docs
	[ "$status" -eq 0 ]
	sed -i 's|files: \[https://docs.example.com/index.html\]|files: [https://docs.example.com/index.html, /extra.html]|' purges/2026-11-22-docs-release.yaml
	run cf plan -e docs --detailed-exitcode
	[ "$status" -eq 0 ]
	[[ "$output" == *"2026-11-22-docs-release on docs:"*"edited after it ran"*"use a new purge id"* ]]
}

@test "azure-china daily quota: a purge that does not fit is refused" {
	{
		echo "purge: big"
		echo "endpoints: [www]"
		printf 'files: ['
		for i in $(seq 1 2001); do printf '/f%d.png, ' "$i"; done
		echo '/last.png]'
	} >purges/big.yaml
	run cf plan --format json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.purges[] | select(.id == "big") | .state == "over-quota" and .files == 2002'
	echo "$output" | jq -e '.quotas[] | select(.account == "cn") | .exceeded'
	echo "$output" | jq -e '.purges[] | select(.id == "2026-11-24-cn-pics") | .state == "run"'
	run cf apply --first-run --yes -e www
	[ "$status" -eq 1 ]
	[[ "$output" == *"purge 'big' on 'www': refused: it would exceed the daily purge quota"* ]]
	# the small purges ran, the big one sent nothing
	[ "$(journal_ops purge)" -eq 2 ]
}

@test "a missing secret fails its account's endpoints only, and names the variable, not a value" {
	unset AZURECDN_KEY_VALUE
	run cf plan
	[ "$status" -eq 1 ]
	[[ "$output" == *"www (azure-china, account cn): error:"*"AZURECDN_KEY_VALUE"* ]]
	[[ "$output" == *"1 endpoint without changes"* ]]
	[[ "$output" == *"2026-11-24-cn-pics on www"*"blocked"* ]]
	[ "$(journal_ops read_rules provider=azure-china)" -eq 0 ]
}

@test "CACHEFORM_PLAN_STATS: the behaviour comparison's CPU, on stderr only, for changed endpoints" {
	CACHEFORM_PLAN_STATS=1 "$CACHEFORM" plan --no-purges >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	cat "$BATS_TEST_TMPDIR/err"
	! grep -q 'plan stats' "$BATS_TEST_TMPDIR/out" || false
	# www differs from its live rules (compared by behaviour); the others do not
	grep -Eq '^plan stats: [0-9]+ endpoints, behaviour comparison on [1-9][0-9]*: [0-9.]+ s of [0-9.]+ s CPU$' "$BATS_TEST_TMPDIR/err"
	run cf plan --no-purges
	[[ "$output" != *"plan stats"* ]]
}
