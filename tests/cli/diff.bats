#!/usr/bin/env bats
# cacheform diff: the desired state at two revisions, offline.
load gitops_helpers

setup() {
	R="$BATS_TEST_TMPDIR/repo"
	gitops_repo "$R"
	unset AZURECDN_KEY_ID AZURECDN_KEY_VALUE
}

@test "diff: identical revisions report no changes and exit 0 even with --detailed-exitcode" {
	run "$CACHEFORM" diff --repo "$R" --base HEAD --detailed-exitcode
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"no changes"* ]]
}

@test "diff: a changed TTL and a new suffix show as rule changes; --detailed-exitcode exits 2" {
	sed -i 's/ttl: 1d$/ttl: 2d/; s/suffix: \[jpg, png\]/suffix: [jpg, png, gif]/' "$R/endpoints/www.yaml"
	run "$CACHEFORM" diff --repo "$R" --base HEAD
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"endpoint www (azure-china, account cn): changed, 2 changed"* ]]
	[[ "$output" == *"~ rule 2: dir /pic/, /doc/  ttl 2d  (was dir /pic/, /doc/  ttl 1d)"* ]]
	[[ "$output" == *"~ rule 3: suffix jpg, png, gif  ttl "*"  (was suffix jpg, png  ttl "* ]]
	[[ "$output" != *"endpoint img"* ]]
	run "$CACHEFORM" diff --repo "$R" --base HEAD --detailed-exitcode
	[ "$status" -eq 2 ]
}

@test "diff: inserted rule is one add, flags and settings are listed" {
	sed -i 's/^  rules:$/  rules:\n    - dir: [\/api\/]\n      ttl: 0/; s/ignore_query_string: true/ignore_query_string: false/' "$R/endpoints/www.yaml"
	sed -i 's/mode: observe/mode: manage/' "$R/endpoints/img.yaml"
	run "$CACHEFORM" diff --repo "$R" --base HEAD
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"+ rule 1: dir /api/  ttl 0"* ]]
	[[ "$output" == *"changed, 1 added"* ]]
	[[ "$output" == *"~ ignore_query_string: true -> false"* ]]
	[[ "$output" == *"~ mode: observe -> manage"* ]]
	[[ "$output" != *"- rule"* && "$output" != *"~ rule"* ]]
}

@test "diff: endpoints added and removed" {
	git -C "$R" rm -q endpoints/img.yaml
	sed 's/endpoint: www/endpoint: shop/; s/8137ecc4/9137ecc4/; s/www.example.cn/shop.example.cn/' \
		"$R/endpoints/www.yaml" >"$R/endpoints/shop.yaml"
	run "$CACHEFORM" diff --repo "$R" --base HEAD --format json
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	run jq -r '.endpoints[] | "\(.name) \(.change) \(.rules | length)"' <<<"$output"
	[ "$output" = $'img removed 0\nshop added 3' ]
}

@test "diff: new purges run on merge, edited ones are flagged, removed ones change nothing" {
	printf 'purge: 2026-12-01-css\nendpoints: [www]\ndirs: [/doc/]\n' >"$R/purges/2026-12-01-css.yaml"
	echo "preload: [/logo.png]" >>"$R/purges/2026-11-21-logo.yaml"
	run "$CACHEFORM" diff --repo "$R" --base HEAD --detailed-exitcode
	assert_no_sanitizer
	[ "$status" -eq 2 ]
	[[ "$output" == *"purge 2026-12-01-css on www: runs on merge"* ]]
	[[ "$output" == *"purge 2026-11-21-logo on www: edited"* ]]
	gitops_commit "$R" "two purges"
	git -C "$R" rm -q purges/2026-12-01-css.yaml
	run "$CACHEFORM" diff --repo "$R" --base HEAD --detailed-exitcode --format json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.changed' <<<"$output")" = false ]
	[ "$(jq -r '.purges[0] | "\(.id) \(.change) \(.runs_on_merge)"' <<<"$output")" = "2026-12-01-css removed false" ]
}

@test "diff: validation errors in the head exit 1 with their location" {
	sed -i 's|dir: \[/pic/, /doc/\]|dir: [/pic/, doc.d/]|' "$R/endpoints/www.yaml"
	run "$CACHEFORM" diff --repo "$R" --base HEAD --detailed-exitcode
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	[[ "$output" == *"validation of the head:"* ]]
	[[ "$output" =~ endpoints/www\.yaml:[0-9]+:[0-9]+:\ error:.*\[CF30[23]\] ]]
	run "$CACHEFORM" diff --repo "$R" --base HEAD --format json
	[ "$status" -eq 1 ]
	[ "$(jq -r '.validation.valid' <<<"$output")" = false ]
	jq -e '.validation.diagnostics[] | select(.file | endswith("endpoints/www.yaml")) | .line > 0' <<<"$output"
}

@test "diff: markdown starts with the bot marker and folds each endpoint" {
	sed -i 's/ttl: 1d$/ttl: 2d/' "$R/endpoints/www.yaml"
	run "$CACHEFORM" diff --repo "$R" --base HEAD --format markdown
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "<!-- cacheform:diff:. -->" ]
	[[ "$output" == *"| www | azure-china | changed | 1 changed |"* ]]
	[[ "$output" == *"<details><summary><b>www</b>: changed</summary>"* ]]
	[[ "$output" == *$'```diff\n~ rule 2: dir /pic/, /doc/  ttl 2d  (was dir /pic/, /doc/  ttl 1d)\n```'* ]]
}

@test "diff: markdown escapes messages so a finding cannot break the comment" {
	sed -i 's/endpoints: \[www\]/endpoints: [www, "x|<b>"]/' "$R/purges/2026-11-21-logo.yaml"
	run "$CACHEFORM" diff --repo "$R" --base HEAD --format markdown
	[ "$status" -eq 1 ]
	[[ "$output" == *'x\|\<b\>'* ]]
	[[ "$output" != *"x|<b>"*"CF"* ]]
}

@test "diff: --head compares two commits and ignores the working tree" {
	sed -i 's/ttl: 30d/ttl: 60d/' "$R/endpoints/www.yaml"
	gitops_commit "$R" "longer ttl"
	sed -i 's/ttl: 0$/ttl: 1m/' "$R/endpoints/www.yaml" # uncommitted: must not show
	run "$CACHEFORM" diff --repo "$R" --base HEAD~1 --head HEAD --format json
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[ "$(jq -r '.head.worktree' <<<"$output")" = false ]
	[ "$(jq -r '.head.commit' <<<"$output")" = "$(git -C "$R" rev-parse HEAD)" ]
	[ "$(jq -r '.base.commit' <<<"$output")" = "$(git -C "$R" rev-parse HEAD~1)" ]
	[ "$(jq -r '.format_version' <<<"$output")" = 2 ]
	run jq -c '[.endpoints[].rules[] | [.change, .before_index, .after_index, .before.ttl, .after.ttl, .fields]]' <<<"$output"
	[ "$output" = '[["change",2,2,2592000,5184000,["ttl"]]]' ]
}

@test "diff: opens no network socket and needs no credentials" {
	# Point the account at a loopback port: whatever the tool did, it could not reach a CDN.
	R2="$BATS_TEST_TMPDIR/repo2"
	gitops_repo "$R2" "http://127.0.0.1:9"
	sed -i 's/ttl: 1d$/ttl: 2d/' "$R2/endpoints/www.yaml"
	# LeakSanitizer cannot run under ptrace; leaks are checked by every other test.
	ASAN_OPTIONS=detect_leaks=0 run strace -f -qq -e trace=socket,connect -o "$BATS_TEST_TMPDIR/trace" \
		"$CACHEFORM" diff --repo "$R2" --base HEAD --detailed-exitcode
	[ "$status" -eq 2 ]
	[ -f "$BATS_TEST_TMPDIR/trace" ]
	! grep -E 'AF_INET|AF_INET6' "$BATS_TEST_TMPDIR/trace" || false
	# And it works in a namespace with no network at all.
	run unshare -n "$CACHEFORM" diff --repo "$R2" --base HEAD --detailed-exitcode
	[ "$status" -eq 2 ]
}

@test "diff: the strace check is live (it sees a process that does connect)" {
	run strace -f -qq -e trace=socket,connect -o "$BATS_TEST_TMPDIR/trace" \
		bash -c 'exec 3<>/dev/tcp/127.0.0.1/9'
	grep -E 'AF_INET' "$BATS_TEST_TMPDIR/trace"
}

@test "diff: usage errors exit 129; an unknown revision exits 1" {
	run "$CACHEFORM" diff --repo "$R"
	[ "$status" -eq 129 ]
	[[ "$output" == *"--base REV is required"* ]]
	run "$CACHEFORM" diff --repo "$R" --base HEAD --format yaml
	[ "$status" -eq 129 ]
	run "$CACHEFORM" diff --repo "$R" --base no-such-branch
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	[[ "$output" == *"no-such-branch"* ]]
}

# diff_fixture: a base commit with an unchanged file that has errors (bad), one with a warning
# (lint), one with an error the head fixes (fixme); the head changes www, adds aaa (every
# later file's index moves), removes img and renames shop's endpoint to lint, a cross-file
# error that the unchanged lint.yaml is half of.
diff_fixture() {
	cat >"$R/endpoints/bad.yaml" <<'YAML'
endpoint: bad
account: cn
colour: blue
remote: {endpoint_id: 3c6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93}
cache:
  rules:
    - dir: [/a/]
      ttl: 1h
    - suffix: [.css]
      ttl: 1d
YAML
	cat >"$R/endpoints/lint.yaml" <<'YAML'
endpoint: lint
account: cn
hosts: [lint.example.cn]
remote: {endpoint_id: 4c6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93}
cache:
  rules:
    - dir: [/a/]
      ttl: 1h
    - dir: [/a/b/]
      ttl: 2h
YAML
	printf 'endpoint: shop\naccount: cn\nhosts: [shop.example.cn]\nremote: {endpoint_id: 5c6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93}\n' \
		>"$R/endpoints/shop.yaml"
	printf 'endpoint: fixme\naccount: nope\nhosts: [fixme.example.cn]\nremote: {endpoint_id: 6c6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93}\n' \
		>"$R/endpoints/fixme.yaml"
	gitops_commit "$R" "base with findings"
	sed -i 's/ttl: 1d$/ttl: 2d/' "$R/endpoints/www.yaml"
	sed -i 's/^endpoint: shop$/endpoint: lint/' "$R/endpoints/shop.yaml"
	sed -i 's/account: nope/account: cn/' "$R/endpoints/fixme.yaml"
	printf 'endpoint: aaa\naccount: cn\nhosts: [aaa.example.cn]\nremote: {endpoint_id: 7c6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93}\n' \
		>"$R/endpoints/aaa.yaml"
	git -C "$R" rm -q endpoints/img.yaml
	gitops_commit "$R" "head"
}

# diff_same_as_read FORMAT [--head HEAD]: diff of HEAD~1 and the head, with the head's
# unchanged files shared with the base, prints what it prints when every file is read
# (CACHEFORM_DIFF_NOSHARE), byte for byte, with the same exit code.
diff_same_as_read() {
	local out=$BATS_TEST_TMPDIR/$1${2:+-ref} rc=0
	CACHEFORM_DIFF_STATS=1 "$CACHEFORM" diff --repo "$R" --base HEAD~1 "${@:2}" --format "$1" \
		>"$out.shared" 2>"$out.shared.err" || rc=$?
	echo "$rc" >"$out.shared.rc"
	rc=0
	CACHEFORM_DIFF_NOSHARE=1 CACHEFORM_DIFF_STATS=1 "$CACHEFORM" diff --repo "$R" --base HEAD~1 "${@:2}" \
		--format "$1" >"$out.read" 2>"$out.read.err" || rc=$?
	echo "$rc" >"$out.read.rc"
	output=$(cat "$out.shared.err" "$out.read.err")
	assert_no_sanitizer
	cmp "$out.shared.rc" "$out.read.rc"
	grep -q ' 0 endpoint files shared' "$out.read.err"
	cmp "$out.read" "$out.shared"
}

# every format, with HEAD and with the working tree as the head
diff_same_as_read_all() {
	local f
	for f in text json markdown; do
		diff_same_as_read "$f" --head HEAD
		diff_same_as_read "$f"
	done
	assert_no_sanitizer
}

@test "diff: unchanged files are shared with the base; the output is what reading them gives" {
	diff_fixture
	diff_same_as_read_all
	# bad and lint are the same blob in both commits; aaa, fixme, shop and www are read
	grep -qx 'diff stats: 2 endpoint files shared with the base, 4 read' "$BATS_TEST_TMPDIR/text-ref.shared.err"
	[ "$(cat "$BATS_TEST_TMPDIR/text-ref.shared.rc")" = 1 ]
	# the new duplicate is found though lint.yaml was not read again
	grep -q "endpoints/shop.yaml:1:11: error: endpoint 'lint' is already defined at endpoints/lint.yaml:1:11 \[CF202\]" \
		"$BATS_TEST_TMPDIR/text-ref.shared"
	# the unchanged bad.yaml's loader error and lint.yaml's warning are the head's still
	grep -q 'endpoints/bad.yaml:3:1: error: .*\[CF111\]' "$BATS_TEST_TMPDIR/text-ref.shared"
	grep -q 'endpoints/lint.yaml:9:7: warning: .*\[CF310\]' "$BATS_TEST_TMPDIR/text-ref.shared"
	# the base's errors are counted, those of its unchanged files included (as validate counts them)
	run "$CACHEFORM" validate --repo "$R" --ref HEAD~1
	[[ "$output" == *"3 errors, 2 warnings"* ]]
	grep -q 'note: the base has 3 validation errors' "$BATS_TEST_TMPDIR/text-ref.shared"
	# unchanged endpoints are no change: only the four that moved are listed
	[ "$(jq -r '[.endpoints[] | "\(.name) \(.change)"] | join(",")' "$BATS_TEST_TMPDIR/json-ref.shared")" = \
		"aaa added,fixme changed,img removed,lint changed,shop removed,www changed" ]
	# the working tree as the head: its files have no blob id; the same bytes are the same blob
	grep -qx 'diff stats: 2 endpoint files shared with the base, 4 read' "$BATS_TEST_TMPDIR/text.shared.err"
	# an uncommitted edit of a file the commits share is read, and shows
	sed -i 's/ttl: 2h$/ttl: 3h/' "$R/endpoints/lint.yaml"
	for f in text json markdown; do diff_same_as_read "$f"; done
	grep -qx 'diff stats: 1 endpoint files shared with the base, 5 read' "$BATS_TEST_TMPDIR/text.shared.err"
	grep -q '~ rule 2: dir /a/b/  ttl 3h  (was dir /a/b/  ttl 2h)' "$BATS_TEST_TMPDIR/text.shared"
}

@test "diff: a changed cacheform.yaml still shares the endpoint files, each side checked with its own" {
	diff_fixture
	# the head renames account cn: its unchanged endpoint files now name an unknown account
	sed -i 's/^  cn:$/  china:/' "$R/cacheform.yaml"
	gitops_commit "$R" "settings"
	git -C "$R" reset -q --soft HEAD~2
	gitops_commit "$R" "head with settings"
	diff_same_as_read_all
	grep -qx 'diff stats: 2 endpoint files shared with the base, 4 read' "$BATS_TEST_TMPDIR/text-ref.shared.err"
	grep -q "endpoints/lint.yaml:2:10: error: unknown account 'cn' \[CF204\]" "$BATS_TEST_TMPDIR/text-ref.shared"
	grep -q 'endpoints/bad.yaml:3:1: error: .*\[CF111\]' "$BATS_TEST_TMPDIR/text-ref.shared"
}
