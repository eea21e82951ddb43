#!/usr/bin/env bats
# examples/demo.sh (`make demo`) end to end, with the binaries under test.
load helpers

DEMO_MAX_SECONDS=120

@test "demo: runs every step, reports www as external drift, in under two minutes" {
	start=$SECONDS
	run env CACHEFORM="$CACHEFORM" FAKECDN="$FAKECDN" TMPDIR="$BATS_TEST_TMPDIR" bash "$TOP/examples/demo.sh"
	elapsed=$((SECONDS - start))
	echo "$output"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[ "$elapsed" -lt "$DEMO_MAX_SECONDS" ]
	for n in 1 2 3 4 5 6 7 8 9 10; do
		[[ "$output" == *"==> [$n/10] "* ]]
	done
	[[ "$output" == *"valid: "* ]]
	[[ "$output" == *"Apply: "*" 0 failed"* ]]
	[[ "$output" =~ www\ \(azure-china,\ account\ cn,\ manage\):\ external: ]]
	[[ "$output" == *"X-Cache: TCP_HIT  Age: 599"* ]]
	[[ "$output" == *"cached for exactly 600 s = 10m, as endpoints/www.yaml says"* ]]
	# www moved to Front Door: translated, applied, then plan finds nothing to change
	[[ "$output" == *"www (azure-china, endpoints/www.yaml) -> www-fd (endpoints/www-fd.yaml)"* ]]
	[[ "$output" == *"1 endpoint without changes (--show-unchanged lists it)"*"No changes. Live state matches the repository."* ]]
	[[ "$output" == *"demo finished in "* ]]
	# The emulator was stopped and the temporary directory removed.
	url=$(grep -o 'http://127.0.0.1:[0-9]*' <<<"$output" | head -n 1)
	! curl -s --max-time 2 "$url/_fakecdn/health" || false
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep cacheform-demo || true)" ]
}

@test "demo: a failing step stops the demo and still stops the emulator" {
	# A cacheform that fails validation: the demo must exit non-zero and clean up.
	fake="$BATS_TEST_TMPDIR/cacheform"
	printf '#!/bin/sh\necho "pretend failure"\nexit 1\n' >"$fake"
	chmod +x "$fake"
	run env CACHEFORM="$fake" FAKECDN="$FAKECDN" TMPDIR="$BATS_TEST_TMPDIR" bash "$TOP/examples/demo.sh"
	[ "$status" -ne 0 ]
	[[ "$output" == *"expected exit code 0, got 1"* ]]
	url=$(grep -o 'http://127.0.0.1:[0-9]*' <<<"$output" | head -n 1)
	[ -n "$url" ]
	! curl -s --max-time 2 "$url/_fakecdn/health" || false
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep cacheform-demo || true)" ]
}

@test "demo: refuses to run without the binaries" {
	run env CACHEFORM="$BATS_TEST_TMPDIR/none" FAKECDN="$FAKECDN" bash "$TOP/examples/demo.sh"
	[ "$status" -eq 1 ]
	[[ "$output" == *"run 'make' first"* ]]
}
