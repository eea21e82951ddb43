#!/usr/bin/env bats
# Golden outputs: every output format of validate, plan, diff and drift on examples/, so a
# refactor cannot change what users and their tools read without the diff showing here.
# After an intended change: UPDATE_GOLDEN=1 bats tests/cli/golden.bats, then review git diff.
load helpers

@test "golden: validate, plan, diff and drift outputs on examples/ are unchanged" {
	out="$BATS_TEST_TMPDIR/golden"
	run env CACHEFORM="$CACHEFORM" FAKECDN="$FAKECDN" TMPDIR="$BATS_TEST_TMPDIR" \
		bash "$TOP/tests/golden/render.sh" "$out"
	echo "$output"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" != *"golden: "* ]]
	n=$(ls "$out" | wc -l)
	[ "$n" -eq 29 ]
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		cp "$out"/*.out "$TOP/tests/golden/"
	fi
	for f in "$out"/*.out; do
		diff -u "$TOP/tests/golden/$(basename "$f")" "$f"
	done
}
