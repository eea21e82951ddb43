#!/usr/bin/env bash
# Runs every test layer against the build of $VARIANT (san = ASan+UBSan) and ends with one
# line "N passed, N failed". Layers: unit tests (cmocka), fuzz corpus replay, command-line
# tests (bats, against the real binaries and fakecdn on loopback).
set -u
cd "$(dirname "$0")/.."
VARIANT=${VARIANT:-san}
BUILD=${BUILD:-build}
if [ "$VARIANT" = san ]; then BIN=$PWD/$BUILD/san/bin; else BIN=$PWD/bin; fi
export CACHEFORM="$BIN/cacheform" FAKECDN="$BIN/fakecdn" TOP=$PWD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}
LOG=$BUILD/$VARIANT/test-logs
rm -rf "$LOG"; mkdir -p "$LOG"
passed=0 failed=0

# The layering ARCHITECTURE.md states (include rules, libraries at the edge).
if bash tests/lint_layers.sh >"$LOG/lint_layers.log" 2>&1; then
	passed=$((passed + 1)); echo "ok   lint-layers"
else
	failed=$((failed + 1)); echo "FAIL lint-layers"; cat "$LOG/lint_layers.log"
fi

# cmocka: one binary per module; TAP output counts each test.
for t in $BUILD/$VARIANT/unit/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$LOG/$name.tap" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$LOG/$name.tap"); f=$(grep -c '^not ok ' "$LOG/$name.tap")
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or sanitizer report
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then echo "FAIL unit $name (see $LOG/$name.tap)"; grep -v '^ok ' "$LOG/$name.tap" | head -30; else echo "ok   unit $name ($p)"; fi
done

# Fuzz corpora replayed through the standalone driver: every file must run clean.
for t in $BUILD/$VARIANT/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	dir=tests/fuzz/corpus/${name#fuzz_}
	[ -d "$dir" ] || continue
	if "$t" "$dir" >"$LOG/$name.log" 2>&1; then
		passed=$((passed + 1)); echo "ok   fuzz-replay $name ($(ls "$dir" | wc -l) inputs)"
	else
		failed=$((failed + 1)); echo "FAIL fuzz-replay $name"; tail -20 "$LOG/$name.log"
	fi
done

# bats: TAP output, one line per test.
if ls tests/cli/*.bats >/dev/null 2>&1; then
	bats --tap tests/cli >"$LOG/cli.tap" 2>&1
	p=$(grep -c '^ok ' "$LOG/cli.tap"); f=$(grep -c '^not ok ' "$LOG/cli.tap")
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$LOG/cli.tap" | head -1)
	if [ -n "$planned" ] && [ $((p + f)) -lt "$planned" ]; then f=$((f + planned - p - f)); fi
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		echo "FAIL cli ($f of $((p + f)))"
		awk '/^not ok /{show=1} /^ok /{show=0} show' "$LOG/cli.tap" | head -120
	else
		echo "ok   cli ($p)"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
