# Shared bats helpers. $CACHEFORM and $FAKECDN point at the binaries under test (tests/run.sh).
: "${TOP:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${CACHEFORM:=$TOP/bin/cacheform}"
: "${FAKECDN:=$TOP/bin/fakecdn}"

# Fails the test when a sanitizer reported anything in $output.
assert_no_sanitizer() {
	if [[ "$output" == *"ERROR: AddressSanitizer"* || "$output" == *"runtime error:"* || "$output" == *"LeakSanitizer"* ]]; then
		echo "$output" >&2
		return 1
	fi
}
