#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (clang): `make fuzz FUZZ_SECONDS=N` or
# `bash tests/fuzz/run.sh [SECONDS] [TARGET...]`.
#
# Builds every tests/fuzz/fuzz_NAME.c (or only the TARGETs named) with
# -fsanitize=fuzzer,address,undefined against the library sources compiled with clang (the gcc
# objects of `make` are not reused), runs each for SECONDS (default 60) on a scratch copy of
# tests/fuzz/corpus/NAME/, merges inputs that reach new coverage back into that directory
# (-merge=1; hand-written seed_* files stay, the rest is a minimal set, under 200 files in all)
# and prints one table row per target. The corpus is replayed first; fuzzing then goes on past
# findings (fork mode). Crash, leak, timeout and out-of-memory reproducers are kept in
# $BUILD/fuzz/artifacts/NAME/ and fail the run (exit 1); replay one with
# $BUILD/fuzz/fuzz_NAME FILE, or with the gcc replayer $BUILD/san/fuzz/fuzz_NAME FILE.
set -u
cd "$(dirname "$0")/../.."
SECONDS_PER=${1:-60}
shift $(($# > 0 ? 1 : 0))
case $SECONDS_PER in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
[ "$SECONDS_PER" -gt 0 ] || SECONDS_PER=60
CLANG=${FUZZ_CC:-$(command -v clang || command -v clang-14 || true)}
[ -n "$CLANG" ] || { echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
CORPUS_MAX=199
OUT=${BUILD:-build}/fuzz
OBJ=$OUT/obj
mkdir -p "$OBJ" "$OUT/artifacts" "$OUT/logs"

PKGS="yaml-0.1 libcurl json-c openssl libgit2 libpcre2-8"
PKG_CFLAGS=$(pkg-config --cflags $PKGS) || exit 1
PKG_LIBS=$(pkg-config --libs $PKGS) || exit 1
# The project's gcc warning set is enforced by `make`; clang's -Wformat=2 differs, so the library
# is built here without -Werror and the targets with it.
CFLAGS="-std=c17 -g -O1 -fno-omit-frame-pointer -I. $PKG_CFLAGS -fno-common -fno-sanitize-recover=all
	-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wwrite-strings"
TFLAGS="-Werror"
LIBSAN="-fsanitize=fuzzer-no-link,address,undefined"
SAN="-fsanitize=fuzzer,address,undefined"

# 1. The library, once, instrumented for coverage (only sources newer than their object).
srcs=$(ls reconcile/base/*.c reconcile/*.c schema/*.c 2>/dev/null)
export CLANG CFLAGS LIBSAN OBJ
printf '%s\n' $srcs | xargs -r -P "$(nproc)" -I{} sh -c '
	o=$OBJ/$(echo {} | tr / _).o
	[ "$o" -nt {} ] && [ -z "$(find reconcile schema -name "*.h" -newer "$o" | head -1)" ] && exit 0
	$CLANG $CFLAGS $LIBSAN -c {} -o "$o" 2>"$o.log" || { echo "fuzz: cannot compile {} (see $o.log)" >&2; rm -f "$o"; }'
objs=""
for s in $srcs; do
	o=$OBJ/$(echo "$s" | tr / _).o
	[ -f "$o" ] && objs="$objs $o"
done
rm -f "$OUT/libcacheform-fuzz.a"
ar rcs "$OUT/libcacheform-fuzz.a" $objs || exit 1

targets=""
if [ $# -gt 0 ]; then
	for t in "$@"; do targets="$targets tests/fuzz/fuzz_${t#fuzz_}.c"; done
else
	targets=$(ls tests/fuzz/fuzz_*.c)
fi

status=0
rows=""
for src in $targets; do
	name=$(basename "$src" .c); name=${name#fuzz_}
	bin=$OUT/fuzz_$name
	log=$OUT/logs/$name.log
	if ! $CLANG $CFLAGS $TFLAGS $SAN "$src" "$OUT/libcacheform-fuzz.a" $PKG_LIBS -o "$bin" 2>"$log"; then
		echo "fuzz: cannot build $src:" >&2; tail -5 "$log" >&2
		rows="$rows$(printf '%-12s %12s %10s %8s %8s' "$name" - - - build-failed)\n"
		status=1
		continue
	fi
	corpus=tests/fuzz/corpus/$name
	mkdir -p "$corpus"
	work=$(mktemp -d); art=$OUT/artifacts/$name
	mkdir -p "$art"
	cp -p "$corpus"/* "$work"/ 2>/dev/null
	dict=(); [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	before=$(ls "$art" | wc -l)
	start=$(date +%s)
	# A scratch directory per run: targets that write files (fuzz_load) use TMPDIR.
	TMPDIR=$work.tmp; mkdir -p "$TMPDIR"
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	# The corpus itself first (fork mode would pass over a seed that crashes).
	TMPDIR=$TMPDIR timeout -k 10 600 "$bin" -runs=0 -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -artifact_prefix="$art/" "$work" >"$log.replay" 2>&1 ||
		grep -m3 -E 'ERROR:|runtime error|fuzz property' "$log.replay" >&2
	TMPDIR=$TMPDIR timeout -k 10 $((SECONDS_PER + 120)) "$bin" "${dict[@]}" -max_total_time="$SECONDS_PER" \
		-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
		-timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-artifact_prefix="$art/" "$work" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	# fork mode's status lines: "#EXECS: cov: .. exec/s N oom/timeout/crash: A/B/C time: .."
	last=$(grep -E '^#[0-9]+: ' "$log" | tail -1)
	execs=$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<<"$last")
	eps=$(sed -n 's/.* exec\/s \([0-9]*\).*/\1/p' <<<"$last")
	# a job that ends on a finding reports exec/s 0: use the run's average then
	if [ "${eps:-0}" -eq 0 ] && [ -n "$execs" ] && [ "$secs" -gt 0 ]; then eps=$((execs / secs)); fi
	crashes=$(($(ls "$art" | wc -l) - before))
	[ $rc -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1 # died without an artifact
	if [ "$crashes" -gt 0 ]; then
		status=1
		echo "fuzz: $name: $crashes finding(s); log $log, reproducers in $art/" >&2
		grep -m3 -E 'ERROR:|runtime error|fuzz property' "$log" >&2
	fi
	# Corpus upkeep: hand-written seeds (seed_*) always stay; the generated inputs are replaced
	# by a minimal set that keeps the coverage of seeds + old + new inputs, at most CORPUS_MAX.
	merged=$(mktemp -d)
	TMPDIR=$TMPDIR "$bin" -merge=1 -timeout=10 -max_len=65536 \
		-rss_limit_mb=2048 "$merged" "$corpus" "$work" >>"$log" 2>&1
	before_n=$(ls "$corpus" | wc -l)
	seeds=$(cd "$corpus" && ls | grep '^seed_' | xargs -r sha1sum | cut -d' ' -f1)
	if [ -n "$(ls "$merged")" ]; then
		find "$corpus" -maxdepth 1 -type f ! -name 'seed_*' -delete
		room=$((CORPUS_MAX - $(ls "$corpus" | wc -l)))
		for f in $(ls -S -r "$merged"); do
			[ "$room" -gt 0 ] || break
			case " $seeds " in *" $f "*) continue ;; esac
			cp "$merged/$f" "$corpus/$f"
			room=$((room - 1))
		done
	fi
	rm -rf "$work" "$merged" "$TMPDIR"
	rows="$rows$(printf '%-12s %12s %10s %8s %8s %4s -> %s' "$name" "${execs:--}" "${eps:--}" \
		"$secs" "$crashes" "$before_n" "$(ls "$corpus" | wc -l)")\n"
done

printf '%-12s %12s %10s %8s %8s %s\n' target executions exec/s seconds crashes corpus
printf "$rows"
exit $status
