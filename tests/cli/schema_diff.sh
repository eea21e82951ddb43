#!/usr/bin/env bash
# schema_diff.sh CASES OUT: runs every case of schema_cases.py through ajv (schema_diff.mjs)
# and `cacheform validate` (the case's file written into its own copy of examples/, several
# cases at once), and writes OUT as "NNNN AJV CACHEFORM CODES KIND MUTATION" lines, sorted
# (AJV/CACHEFORM: valid|invalid; CODES: cacheform's error codes, comma-separated, or -).
set -euo pipefail
cases=$1 out=$2
SCHEMA_DIFF_JOBS=${SCHEMA_DIFF_JOBS:-4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$TOP/examples" "$work/base"
node "$TOP/tests/cli/schema_diff.mjs" "$TOP/schema/cacheform.schema.json" "$cases" >"$work/ajv"

one() { # ID VERDICT
	local id=$1 verdict=$2 kind path mut codes cf=valid
	read -r kind path mut <"$cases/$id/meta"
	# Hard links: the case's own file replaces its link, the rest is shared, not copied.
	cp -rl "$work/base" "$work/$id"
	rm "$work/$id/$path"
	cp "$cases/$id/case.yaml" "$work/$id/$path"
	codes=$("$CACHEFORM" validate --repo "$work/$id" --format json |
		grep -oE '"severity":"error","code":"CF[0-9]+"' | grep -oE 'CF[0-9]+' | sort -u | paste -sd, -) || true
	rm -rf "${work:?}/$id"
	[ -z "$codes" ] || cf=invalid
	echo "$id $verdict $cf ${codes:--} $kind $mut" >"$work/$id.res"
}
export -f one
export cases work
# shellcheck disable=SC2016 # expanded by the inner bash, per case
awk '{print $1, $2}' "$work/ajv" | xargs -P "$SCHEMA_DIFF_JOBS" -n 2 bash -c 'one "$0" "$1"'
cat "$work"/*.res | sort >"$out"
