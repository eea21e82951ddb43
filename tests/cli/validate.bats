#!/usr/bin/env bats
# cacheform validate: the examples are valid; each kind of broken repository exits 1 quickly
# with a located message and no sanitizer report; --ref reads past commits; all four formats.
load helpers

setup() {
	R="$BATS_TEST_TMPDIR/repo"
	mkdir -p "$R"
	cp -R "$TOP/examples/cacheform.yaml" "$TOP/examples/endpoints" "$TOP/examples/purges" "$R/"
}

# Runs validate on $R under a time limit (seconds, default 10).
validate() {
	run timeout "${LIMIT:-10}" "$CACHEFORM" validate --repo "$R" "$@"
	assert_no_sanitizer
}

@test "validate: the examples are valid" {
	run "$CACHEFORM" validate --repo "$TOP/examples"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"valid: 3 accounts, 5 endpoints, 5 purges"* ]]
	# retired services are said plainly, and --strict does not make them errors
	[[ "$output" == *"account 'cn': Azure CDN in China (21Vianet) was retired on 2025-12-01"*"[CF222]"* ]]
	[[ "$output" == *"account 'global': Azure CDN Standard from Microsoft (classic) retires on 2027-09-30"*"[CF221]"* ]]
	run "$CACHEFORM" validate --repo "$TOP/examples" --strict
	[ "$status" -eq 0 ]
}

@test "validate: a YAML syntax error is located" {
	printf 'endpoint: www\naccount: cn\nhosts: [a.example.com\n' > "$R/endpoints/bad.yaml"
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/endpoints/bad.yaml:4:1: error: YAML syntax error"*"[CF105]"* ]]
}

@test "validate: an unknown key is located" {
	printf 'endpoint: x\naccount: cn\nremote: {endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a611}\nhosts: [x.example.cn]\ncolour: blue\n' > "$R/endpoints/x.yaml"
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/endpoints/x.yaml:5:1: error: unknown key 'colour' in endpoint file"*"[CF111]"* ]]
}

@test "validate: errors in several files are all reported, sorted" {
	printf 'endpoint: x\naccount: cn\nhosts: a\n' > "$R/endpoints/x.yaml"
	printf 'purge: [p]\nendpoints: [www]\n' > "$R/purges/y.yaml"
	printf 'endpoint: z\naccount: cn\ncache: {ignore_cookie: "yes"}\n' > "$R/endpoints/z.yaml"
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"endpoints/x.yaml:3:8:"*"endpoints/z.yaml:3:24:"*"purges/y.yaml:1:8:"* ]]
}

@test "validate: a forbidden character in a rule item" {
	sed -i 's|dir: \[/pic/, /doc/\]|dir: [/pic/, /d?c/]|' "$R/endpoints/www.yaml"
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/endpoints/www.yaml:"*"error:"*"[CF301]"* ]]
}

@test "validate: a column past 4,095 is printed as 4,095 (README, Memory)" {
	# 700 items of 9 bytes put the bad one at column 6313 of line 16; a position keeps 12 bits
	items=$(for i in $(seq 1000 1699); do printf '/d%s/, ' "$i"; done)
	sed -i "s|dir: \[/pic/, /doc/\]|dir: [${items}/bad*dir/]|" "$R/endpoints/www.yaml"
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/endpoints/www.yaml:16:4095: error: dir item '/bad*dir/' contains '*' [CF301]"* ]]
}

@test "validate: a purge URL on a host the endpoint does not serve" {
	printf 'purge: bad-url\nendpoints: [www]\nfiles: [https://evil.example.org/x.png]\n' > "$R/purges/bad.yaml"
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/purges/bad.yaml:3:"*"[CF403]"* ]]
}

@test "validate: a literal secret is refused" {
	sed -i 's|key_value: {env: AZURECDN_KEY_VALUE}|key_value: hunter2hunter2|' "$R/cacheform.yaml"
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/cacheform.yaml:10:16: error:"*"[CF501]"* ]]
	[[ "$output" != *"hunter2"* ]]
}

@test "validate: an alias bomb (10^9 nodes) fails fast" {
	{
		printf 'endpoint: bomb\naccount: cn\nl0: &l0 [x,x,x,x,x,x,x,x,x,x]\n'
		for i in 1 2 3 4 5 6 7 8; do
			p=$((i - 1))
			printf 'l%d: &l%d [*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d]\n' $i $i $p $p $p $p $p $p $p $p $p $p
		done
	} > "$R/endpoints/bomb.yaml"
	LIMIT=5 validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/endpoints/bomb.yaml:7:"*"aliases expand to more than 100000 nodes [CF107]"* ]]
}

@test "validate: 100,000-deep nesting fails fast" {
	{ printf 'endpoint: '; head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; echo; } > "$R/endpoints/deep.yaml"
	LIMIT=5 validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/endpoints/deep.yaml:1:74: error: nesting deeper than 64 levels [CF106]"* ]]
}

@test "validate: a 50 MB file fails fast" {
	{ printf 'purge: big\nendpoints: [www]\nfiles:\n'; yes '  - /a.png' | head -c 52428800; } > "$R/purges/big.yaml"
	LIMIT=5 validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/purges/big.yaml:1:1: error: file is "*" bytes, more than the limit of 8388608 bytes [CF101]"* ]]
}

@test "validate: invalid UTF-8 and NUL bytes are located" {
	printf 'endpoint: caf\xe9\naccount: cn\n' > "$R/endpoints/latin1.yaml"
	printf 'endpoint: n\naccount: c\0n\n' > "$R/endpoints/nul.yaml"
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/endpoints/latin1.yaml:1:14: error: invalid UTF-8 byte 0xe9 [CF103]"* ]]
	[[ "$output" == *"/endpoints/nul.yaml:2:11: error: NUL byte in file [CF104]"* ]]
}

@test "validate: a symbolic link out of the repository is refused" {
	ln -s /etc/hostname "$R/endpoints/escape.yaml"
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/endpoints/escape.yaml:1:1: error: symbolic link leads outside the repository [CF102]"* ]]
}

@test "validate: a missing cacheform.yaml" {
	rm "$R/cacheform.yaml"
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"/cacheform.yaml:1:1: error: cannot open"*"[CF100]"* ]]
}

@test "validate --ref reads a past commit, not the working tree" {
	cd "$R"
	git init -q . && git config user.email t@example.com && git config user.name t
	git add -A && git commit -qm good
	printf 'endpoint: [\n' > endpoints/www.yaml
	git commit -qam broken
	printf 'endpoint: oops\n' > endpoints/www.yaml
	validate --ref HEAD~1
	[ "$status" -eq 0 ]
	[[ "$output" == *"valid: 3 accounts, 5 endpoints, 5 purges at $(git rev-parse --short=12 HEAD~1)" ]]
	validate --ref HEAD
	[ "$status" -eq 1 ]
	[[ "$output" == *"endpoints/www.yaml:2:1: error: YAML syntax error"* ]]
	validate
	[ "$status" -eq 1 ]
	[[ "$output" == *"endpoints/www.yaml:1:1: error: endpoint file has no 'account' [CF113]"* ]]
	validate --ref no-such-rev
	[ "$status" -eq 1 ]
	[[ "$output" == *"unknown revision 'no-such-rev'"* ]]
}

@test "validate --format json" {
	printf 'endpoint: x\naccount: cn\nhosts: a\n' > "$R/endpoints/x.yaml"
	validate --format json
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.format_version == 1 and .valid == false and .errors >= 1'
	echo "$output" | jq -e '.diagnostics[] | select(.code == "CF112") | .severity == "error" and .line == 3 and .column == 8 and (.file | endswith("endpoints/x.yaml"))'
	run "$CACHEFORM" validate --repo "$TOP/examples" --format json
	echo "$output" | jq -e '.valid == true and .errors == 0 and ([.diagnostics[].code] | sort) == ["CF221", "CF222"]'
}

@test "validate --format sarif" {
	printf 'endpoint: x\naccount: cn\nhosts: a\n' > "$R/endpoints/x.yaml"
	validate --format sarif
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.version == "2.1.0" and (.runs[0].tool.driver.name == "cacheform")'
	echo "$output" | jq -e '.runs[0].results[] | select(.ruleId == "CF112") | .level == "error" and .level == "error" and .locations[0].physicalLocation.region.startLine == 3'
	echo "$output" | jq -e '[.runs[0].tool.driver.rules[].id] | index("CF112") != null'
}

@test "validate --format github" {
	printf 'endpoint: x\naccount: cn\nhosts: a\n' > "$R/endpoints/x.yaml"
	cd "$R"
	run "$CACHEFORM" validate --format github
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	[[ "$output" == *"::error file=endpoints/x.yaml,line=3,col=8,title=CF112::'hosts' must be a list, not a scalar"* ]]
}

@test "validate: usage errors exit 129" {
	run "$CACHEFORM" validate --format yaml
	[ "$status" -eq 129 ]
	run "$CACHEFORM" validate --bogus
	[ "$status" -eq 129 ]
	run "$CACHEFORM" validate extra
	[ "$status" -eq 129 ]
}

@test "validate needs no credentials" {
	run env -i PATH="$PATH" ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$CACHEFORM" validate --repo "$TOP/examples"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
}
