#!/usr/bin/env bats
# SARIF for GitHub code scanning: Microsoft's SARIF validator (@microsoft/sarif-multitool from
# npm, a self-contained build) with the SARIF and GitHub rule sets reports no error or warning
# for `validate --format sarif` on a repository with 30+ kinds of error; every rule is
# documented in schema/codes.md and every code the sources use is in the catalogue.
load helpers

SARIF_PKGS="@microsoft/sarif-multitool@5.7.0"

setup_file() {
	export SARIF_NPM="$TOP/tests/.npm-sarif"
	local stamp="$SARIF_NPM/.installed"
	if [ "$(cat "$stamp" 2>/dev/null)" != "$SARIF_PKGS" ]; then
		mkdir -p "$SARIF_NPM"
		# shellcheck disable=SC2086
		npm install --prefix "$SARIF_NPM" --no-audit --no-fund --no-save --loglevel=error \
			$SARIF_PKGS >&3 2>&1 || return 1
		echo "$SARIF_PKGS" >"$stamp"
	fi
	export MULTITOOL="$SARIF_NPM/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
	# The tool is .NET; without ICU it runs in invariant mode.
	export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
	export BROKEN=$BATS_FILE_TMPDIR/broken
	broken_repo "$BROKEN"
}

# A repository with many kinds of error, warning and note at once (38 distinct codes).
broken_repo() {
	local r=$1
	mkdir -p "$r/endpoints" "$r/purges"
	cp "$TOP/examples/cacheform.yaml" "$r/"
	cp "$TOP"/examples/endpoints/*.yaml "$r/endpoints/"
	cp "$TOP"/examples/purges/*.yaml "$r/purges/"
	cd "$r"
	w() { printf '%s\n' "$2" >"$1"; }
	w endpoints/e01.yaml $'endpoint: e01\naccount: nope\nhosts: [e01.example.cn]\nremote: {endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a612}\ncache:\n  rules:\n    - dir: [static]\n      ttl: 1d\n    - dir: [/a/, /a/]\n      ttl: 1d\n    - suffix: [.jpg]\n      ttl: 1d\n    - dir: ["/s p/"]\n      ttl: 1d'
	w endpoints/e02.yaml $'endpoint: e02\naccount: cn\nhosts: [e02.example.cn]\nremote: {endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a613}\nbogus: 1\ncache:\n  rules:\n    - dir: [/x/]\n      ttl: 99999d\n    - dir: [/x/]\n      ttl: 1d\n    - suffix: []\n      ttl: 1d\n    - dir: [/y/]\n      suffix: [png]\n      ttl: 1d'
	w endpoints/e03.yaml $'endpoint: e03\nendpoint: e03'
	w endpoints/e04.yaml $'endpoint: [e04'
	w endpoints/e05.yaml $'endpoint: e05\naccount: cn\nhosts: [e05.example.cn]\nremote: {endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a614}\ncache:\n  rules:\n    - dir: [/x/]\n      ttl: soon'
	w endpoints/e06.yaml $'endpoint: e06\naccount: global\nhosts: [e06.example.com]\nremote: {resource_group: rg, profile: p, endpoint: e06}\ncache:\n  ignore_cookie: true\n  rules:\n    - dir: [/x/]\n      ttl: 1d\n      name: "bad name"'
	w endpoints/e07.yaml $'endpoint: e07\naccount: pro\nmode: manage\nhosts: [e07.example.com]\nremote: {property_id: "123", target: production}\ncache:\n  rules:\n    - dir: [/x/]\n      ttl: 1d'
	w endpoints/e08.yaml $'endpoint: e08\naccount: cn\nmode: sometimes\nscheme: gopher\nhosts: ["*.example.cn"]\nremote: {endpoint_id: not-a-guid}'
	w endpoints/e09.yaml $'endpoint: www\naccount: cn\nhosts: [www2.example.cn]\nremote: {endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a615}'
	w endpoints/e10.yaml $'endpoint: e10\naccount: cn\nhosts: [e10.example.cn]'
	w purges/p01.yaml $'purge: p01\nendpoints: [www, www]\nfiles: ["/a*b", "/%zz", "/a/../b", "ftp://x/y", "https://other.example.org/x"]\ndirs: [/nodir]\npatterns: [/x/*]\nregex: [".*"]'
	w purges/p02.yaml $'purge: p02\nendpoints: [ghost]'
	w purges/p03.yaml $'purge: 2026-11-21-logo\nendpoints: [www]\nfiles: [/a]'
	w purges/p04.yaml $'purge: p04\nendpoints: [www]'
	w purges/p05.yaml $'purge: p05\nendpoints: [shop]\nfiles: [/x]\naction: delete\npreload: ["/w*"]'
}

# multitool FILE: prints "LEVEL RULE: message" per finding at error or warning level.
multitool() {
	local out=$BATS_TEST_TMPDIR/mt.sarif
	rm -f "$out"
	timeout 300 "$MULTITOOL" validate --rule-kind "Gh;Sarif" --level "Error;Warning" \
		-o "$out" "$1" >"$BATS_TEST_TMPDIR/mt.log" 2>&1 || { cat "$BATS_TEST_TMPDIR/mt.log"; return 2; }
	jq -r '.runs[0].results[] | "\(.level) \(.ruleId): \(.message.arguments // [] | join(" | "))"' "$out"
}

@test "SARIF of 30+ kinds of finding: the SARIF validator with GitHub's rules reports nothing" {
	# As in CI: run at the top of the checkout, so URIs are relative to it.
	cd "$BROKEN"
	run "$CACHEFORM" validate --format sarif
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/v.sarif"
	kinds=$(jq '.runs[0].tool.driver.rules | length' "$BATS_TEST_TMPDIR/v.sarif")
	results=$(jq '.runs[0].results | length' "$BATS_TEST_TMPDIR/v.sarif")
	echo "rules: $kinds, results: $results" >&3
	[ "$kinds" -ge 30 ]
	run multitool "$BATS_TEST_TMPDIR/v.sarif"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the validator is live: it reports a rule without help and a result without a location" {
	run "$CACHEFORM" validate --repo "$BROKEN" --format sarif
	jq '.runs[0].tool.driver.rules[0] |= del(.help) | .runs[0].results[0] |= del(.locations)' <<<"$output" >"$BATS_TEST_TMPDIR/bad.sarif"
	run multitool "$BATS_TEST_TMPDIR/bad.sarif"
	echo "$output"
	[[ "$output" == *"GH2012"* ]]
	[ "$(grep -c '^error ' <<<"$output")" -ge 2 ]
}

@test "every rule has the fields code scanning shows; every result a location and a fingerprint" {
	run "$CACHEFORM" validate --repo "$BROKEN" --format sarif
	s=$output
	v=$("$CACHEFORM" version --format json)
	jq -e --argjson v "$v" '.runs[0].tool.driver | .version == $v.version and .informationUri == $v.home' <<<"$s"
	jq -e '.runs[0].tool.driver.rules as $r | [$r[] | select((.shortDescription.text | length) > 0 and (.fullDescription.text | length) > 0
		and (.helpUri | test("/schema/codes\\.md#cf[0-9]{3}$")) and (.defaultConfiguration.level | IN("error", "warning", "note"))
		and (.help.markdown | length) > 0)] | length == ($r | length)' <<<"$s"
	jq -e '.runs[0] as $r | [$r.results[] | select((.locations | length) == 1 and .locations[0].physicalLocation.region.startLine >= 1
		and (.partialFingerprints["cacheform/v1"] | test("^[0-9a-f]{16}$")) and $r.tool.driver.rules[.ruleIndex].id == .ruleId)]
		| length == ($r.results | length)' <<<"$s"
	# Fingerprints tell findings apart and survive a line move.
	jq -e '[.runs[0].results[].partialFingerprints["cacheform/v1"]] | length == (unique | length)' <<<"$s" || {
		jq -r '.runs[0].results[] | "\(.partialFingerprints["cacheform/v1"]) \(.ruleId) \(.message.text)"' <<<"$s" | sort | uniq -D -w16
		false
	}
	cp -r "$BROKEN" "$BATS_TEST_TMPDIR/moved"
	sed -i '1i # a new first line' "$BATS_TEST_TMPDIR/moved/endpoints/e01.yaml"
	a=$(jq -c '[.runs[0].results[] | select(.locations[0].physicalLocation.artifactLocation.uri | endswith("e01.yaml")) | .partialFingerprints] | sort' <<<"$s")
	b=$("$CACHEFORM" validate --repo "$BATS_TEST_TMPDIR/moved" --format sarif |
		jq -c '[.runs[0].results[] | select(.locations[0].physicalLocation.artifactLocation.uri | endswith("e01.yaml")) | .partialFingerprints] | sort')
	[ "$a" = "$b" ]
}

@test "a finding without a file is placed on cacheform.yaml line 1" {
	mkdir -p "$BATS_TEST_TMPDIR/empty"
	run "$CACHEFORM" validate --repo "$BATS_TEST_TMPDIR/empty" --format sarif
	[ "$status" -eq 1 ]
	jq -e '[.runs[0].results[].locations[0].physicalLocation | select(.artifactLocation.uri | endswith("cacheform.yaml")) | .region.startLine] | length > 0' <<<"$output"
	# Outside the checkout the URI is absolute: a file:// URI, percent-encoded.
	mkdir -p "$BATS_TEST_TMPDIR/a b"
	run "$CACHEFORM" validate --repo "$BATS_TEST_TMPDIR/a b" --format sarif
	jq -e '.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri | startswith("file:///") and contains("a%20b/")' <<<"$output"
}

@test "schema/codes.md has a section per catalogued code with the same short description" {
	run "$CACHEFORM" validate --repo "$BROKEN" --format sarif
	jq -r '.runs[0].tool.driver.rules[] | "\(.id)\t\(.shortDescription.text)"' <<<"$output" >"$BATS_TEST_TMPDIR/rules"
	while IFS=$'\t' read -r id short; do
		grep -qx "## $id" "$TOP/schema/codes.md" || { echo "no section for $id"; return 1; }
		grep -qF "**$short**" "$TOP/schema/codes.md" || { echo "$id: '$short' not in codes.md"; return 1; }
	done <"$BATS_TEST_TMPDIR/rules"
	# Every code the sources emit is catalogued, and the page and the table list the same codes.
	used=$(grep -rhoE '"CF[0-9]{3}"' "$TOP/schema" "$TOP/reconcile" "$TOP/cmd" --include=*.c --include=*.h | tr -d '"' | sort -u)
	table=$(grep -oE '^    \{"CF[0-9]{3}"' "$TOP/schema/codes.c" | grep -oE 'CF[0-9]{3}' | sort -u)
	page=$(sed -n 's/^## \(CF[0-9]\{3\}\)$/\1/p' "$TOP/schema/codes.md" | sort -u)
	[ "$table" = "$page" ]
	missing=$(comm -23 <(echo "$used") <(echo "$table"))
	[ -z "$missing" ] || { echo "not catalogued: $missing"; return 1; }
}
