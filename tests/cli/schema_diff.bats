#!/usr/bin/env bats
# The JSON Schema and `cacheform validate` agree: >= 500 generated YAML cases
# (tests/cli/schema_cases.py: one mutation of one example file each) go through ajv and
# through cacheform; a case where they disagree fails the test unless cacheform rejects it
# only with codes the README lists as intentional ("Checked by cacheform only"), and the
# schema may never reject what cacheform accepts. Also: every property is documented.
load helpers

SCHEMA_NPM_PKGS="ajv-cli@5.0.0 ajv-formats@2.1.1"
SCHEMA_DIFF_CASES=510
SCHEMA_DIFF_SEED=7

setup_file() {
	# The same prefix and package list as schema.bats, so neither reinstalls.
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

# The codes of the README's "Checked by cacheform only" line.
intentional_codes() {
	sed -n 's/^Checked by cacheform only: //p' "$TOP/README.md" | grep -oE 'CF[0-9]{3}' | sort -u
}

@test "schema and validator agree on ${SCHEMA_DIFF_CASES} generated cases, up to the README's list" {
	cases=$BATS_TEST_TMPDIR/cases
	python3 "$TOP/tests/cli/schema_cases.py" "$cases" "$SCHEMA_DIFF_CASES" "$SCHEMA_DIFF_SEED"
	[ "$(ls "$cases" | wc -l)" -ge 500 ]
	# The optimised build (same validator as the sanitizer build the other suites run): the
	# corpus is large and the machine shared.
	make -s -C "$TOP" -j2 BUILD="${BUILD:-build}" VARIANT=release binaries >/dev/null
	rel=$TOP/bin/cacheform
	[ "${BUILD:-build}" = build ] || rel=$TOP/${BUILD}/bin/cacheform
	CACHEFORM=$rel bash "$TOP/tests/cli/schema_diff.sh" "$cases" "$BATS_TEST_TMPDIR/diff"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/diff")" -eq "$SCHEMA_DIFF_CASES" ]
	ok=$(intentional_codes)
	[ -n "$ok" ]
	total=0 explained=0 unexplained=0
	while read -r id ajv cf codes kind mut; do
		[ "$ajv" != "$cf" ] || continue
		total=$((total + 1))
		if [ "$ajv" = valid ] && [ -z "$(comm -23 <(tr ',' '\n' <<<"$codes" | sort -u) <(echo "$ok"))" ]; then
			explained=$((explained + 1))
		else
			unexplained=$((unexplained + 1))
			echo "unexplained: case $id ($kind, $mut): ajv $ajv, cacheform $cf $codes"
			cat "$cases/$id/case.yaml"
		fi
	done <"$BATS_TEST_TMPDIR/diff"
	rejected=$(awk '$3 == "invalid"' "$BATS_TEST_TMPDIR/diff" | wc -l)
	echo "cases: $SCHEMA_DIFF_CASES, rejected by cacheform: $rejected, disagreements: $total ($explained intentional, $unexplained unexplained)" >&3
	# The corpus must exercise both verdicts.
	[ "$rejected" -ge 100 ] && [ "$rejected" -le $((SCHEMA_DIFF_CASES - 100)) ]
	[ "$unexplained" -eq 0 ]
}

@test "the differential test is live: a schema that accepts any ttl disagrees" {
	cases=$BATS_TEST_TMPDIR/cases
	python3 "$TOP/tests/cli/schema_cases.py" "$cases" 60 "$SCHEMA_DIFF_SEED"
	jq '.definitions.ttl = {}' "$TOP/schema/cacheform.schema.json" >"$BATS_TEST_TMPDIR/loose.json"
	node "$TOP/tests/cli/schema_diff.mjs" "$TOP/schema/cacheform.schema.json" "$cases" >"$BATS_TEST_TMPDIR/strict"
	node "$TOP/tests/cli/schema_diff.mjs" "$BATS_TEST_TMPDIR/loose.json" "$cases" >"$BATS_TEST_TMPDIR/loose"
	[ "$(grep -c ' invalid' "$BATS_TEST_TMPDIR/loose")" -lt "$(grep -c ' invalid' "$BATS_TEST_TMPDIR/strict")" ]
}

@test "every property of the schema has a description and examples; optional ones a default" {
	run python3 - "$TOP/schema/cacheform.schema.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
bad, n = [], 0
def walk(node, path, in_if=False):
    global n
    if isinstance(node, dict):
        req = set(node.get("required", []))
        for k, v in node.get("properties", {}).items():
            if not in_if:
                n += 1
                miss = [f for f in ("description", "examples") if f not in v]
                if "default" not in v and k not in req and path.split("/")[-1] not in ("indirect",) \
                        and not path.startswith("/definitions/indirect") and k not in OWN_NAMES \
                        and f"{path}/{k}" not in INHERITED:
                    miss.append("default")
                if miss:
                    bad.append(f"{path}/{k}: {', '.join(miss)}")
            walk(v, f"{path}/{k}", in_if)
        for k, v in node.items():
            if k != "properties":
                walk(v, f"{path}/{k}", in_if or k in ("if", "then"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, f"{path}/{i}", in_if)
# Fields with no default by nature: identities, credentials and references to other files
# (rate_domain's absence means "derived from the account's identity", not a value).
OWN_NAMES = {"provider", "rate_domain", "subscription", "key_id", "key_value", "tenant", "client_id", "client_secret",
             "user", "api_key", "ca_file", "endpoint_id", "resource_group", "profile", "endpoint",
             "hosts", "cache", "dir", "suffix", "path", "ttl", "name", "accounts", "property_id",
             "route", "rule_set", "connect_to"}
# Fields whose default is another field's value: a rule's own ignore_cache_control is the cache block's.
INHERITED = {"/definitions/rule/ignore_cache_control"}
walk(s, "")
print(n)
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" -ge 50 ]
}
