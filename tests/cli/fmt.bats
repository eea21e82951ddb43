#!/usr/bin/env bats
# cacheform fmt: rewrites a copy of examples/ into the canonical form without changing what it
# means (offline diff, validate), keeps comments, is idempotent; --check exit codes; errors
# located with nothing written; purge manifests only when asked.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	R="$BATS_TEST_TMPDIR/repo"
	mkdir -p "$R"
	cp -R "$TOP/examples/cacheform.yaml" "$TOP/examples/endpoints" "$TOP/examples/purges" "$R/"
}

fmt() {
	run --separate-stderr "$CACHEFORM" fmt --repo "$R" "$@"
	assert_no_sanitizer
}

sums() {
	(cd "$R" && find . -type f -name '*.y*ml' | sort | xargs sha256sum)
}

# validate's findings without their positions (reordering moves lines).
findings() {
	"$CACHEFORM" validate --repo "$R" --format json | jq -c '[.diagnostics[] | del(.line, .column)] | sort_by(.code, .message)'
}

SCRAMBLED='# yaml-language-server: $schema=../../schema/cacheform.schema.json
# header

cache:
  rules:
    # pictures, for a day
    - ttl: 86400  # one day
      dir: [/pic/]
    - name: scripts
      suffix: [js]
      ttl: "3600"
  # cookies do not change pages
  ignore_cookie: true
# the account
account: cn
hosts: [www.example.cn]
remote:
  endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a611
endpoint: www
'

@test "fmt: examples are rewritten without changing what they mean, then nothing changes" {
	before=$(findings)
	git -C "$R" init -q && git -C "$R" add -A &&
		git -C "$R" -c user.name=t -c user.email=t@example.com commit -qm base
	fmt
	[ "$status" -eq 0 ]
	[ "$output" = "$R/cacheform.yaml
$R/endpoints/www.yaml" ]
	grep -qx '    timeout: 1m' "$R/cacheform.yaml"
	grep -qx '      ttl: 1w' "$R/endpoints/www.yaml"
	# meaning: no change in the offline diff, the same findings
	run "$CACHEFORM" diff --repo "$R" --base HEAD --detailed-exitcode
	[ "$status" -eq 0 ]
	[ "$(findings)" = "$before" ]
	# idempotent
	s=$(sums)
	fmt
	[ "$status" -eq 0 ] && [ -z "$output" ]
	[ "$(sums)" = "$s" ]
	fmt --check
	[ "$status" -eq 0 ] && [ -z "$output" ]
}

@test "fmt --check: lists the files not canonical, exits 1, writes nothing" {
	printf '%s' "$SCRAMBLED" >"$R/endpoints/www.yaml"
	s=$(sums)
	fmt --check
	[ "$status" -eq 1 ]
	[ "$output" = "$R/cacheform.yaml
$R/endpoints/www.yaml" ]
	[[ "$stderr" == *"--- $R/endpoints/www.yaml"*"@@ line 4 @@"*"-cache:"*"+endpoint: www"* ]]
	[ "$(sums)" = "$s" ]
	fmt
	[ "$status" -eq 0 ]
	fmt --check
	[ "$status" -eq 0 ] && [ -z "$output" ]
}

@test "fmt: canonical key order and every comment kept" {
	printf '%s' "$SCRAMBLED" >"$R/endpoints/www.yaml"
	fmt endpoints/www.yaml
	[ "$status" -eq 0 ]
	[ "$output" = "$R/endpoints/www.yaml" ]
	want='# yaml-language-server: $schema=../../schema/cacheform.schema.json
# header

endpoint: www
# the account
account: cn
remote:
  endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a611
hosts: [www.example.cn]
cache:
  # cookies do not change pages
  ignore_cookie: true
  rules:
    # pictures, for a day
    - dir: [/pic/]
      ttl: 1d  # one day
    - suffix: [js]
      ttl: "1h"
      name: scripts'
	[ "$(cat "$R/endpoints/www.yaml")" = "$want" ]
	while IFS= read -r line; do
		c=${line#"${line%%[! ]*}"}
		[[ $c == \#* ]] || continue
		grep -qF -- "$c" "$R/endpoints/www.yaml" || { echo "lost: $c"; return 1; }
	done <<<"$SCRAMBLED"
	grep -qF '# one day' "$R/endpoints/www.yaml"
	# a FILE argument restricts the run: cacheform.yaml was not touched
	cmp "$R/cacheform.yaml" "$TOP/examples/cacheform.yaml"
}

@test "fmt: an unparseable file is located and nothing is written" {
	printf '%s' "$SCRAMBLED" >"$R/endpoints/a.yaml"
	sed -i 's/endpoint: www/endpoint: a/; s/hosts: .*/hosts: [a.example.cn]/' "$R/endpoints/a.yaml"
	printf 'endpoint: bad\naccount: cn\nhosts: [bad.example.com\n' >"$R/endpoints/bad.yaml"
	s=$(sums)
	fmt
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"$R/endpoints/bad.yaml:4:1: error: YAML syntax error"*"[CF105]"* ]]
	[[ "$stderr" == *"nothing written"* ]]
	[ "$(sums)" = "$s" ]
	fmt --check
	[ "$status" -eq 1 ]
	[ "$(sums)" = "$s" ]
	# a loader error (an unknown key) too
	printf 'endpoint: bad\naccount: cn\ncolour: red\n' >"$R/endpoints/bad.yaml"
	fmt
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$R/endpoints/bad.yaml:3:1: error:"*"[CF111]"* ]]
	ls -a "$R/endpoints" | grep -v -E '^(\.|\.\.|[a-z-]+\.yaml)$' && return 1 # no temporary file left
	true
}

@test "fmt: purge manifests only with --purges or when named" {
	m=purges/2026-11-22-docs-release.yaml
	fmt
	[ "$status" -eq 0 ]
	cmp "$R/$m" "$TOP/examples/$m"
	fmt --check --purges
	[ "$status" -eq 1 ]
	[[ "$output" == *"$R/$m"* ]]
	fmt "$R/$m"
	[ "$status" -eq 0 ]
	[ "$output" = "$R/$m" ]
	[ "$(sed -n 4,5p "$R/$m")" = "files: [https://docs.example.com/index.html]
dirs: [/_static/]" ]
	fmt --purges --check
	[ "$status" -eq 1 ]
	[ "$output" = "$R/purges/2026-11-24-cn-pics.yaml" ]
}

@test "fmt: keeps the file mode; refuses a file cacheform does not read" {
	printf '%s' "$SCRAMBLED" >"$R/endpoints/www.yaml"
	chmod 600 "$R/endpoints/www.yaml"
	fmt
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$R/endpoints/www.yaml")" = 600 ]
	fmt README.md
	[ "$status" -eq 129 ]
	[[ "$stderr" == *"'README.md' is not a file cacheform reads"* ]]
	run "$CACHEFORM" fmt --repo "$BATS_TEST_TMPDIR/none"
	[ "$status" -eq 1 ]
}
