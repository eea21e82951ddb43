#!/usr/bin/env bash
# Rule semantics benchmark (issue 11): `explain` evaluations per second on a 25-rule endpoint,
# single core, for cacheform's meaning and each provider's evaluator on what its driver writes
# (target >= 1,000,000/s), and plan's per-endpoint cost of the behaviour comparison next to the
# exact comparison. Builds tests/bench/sembench.c against the release library (make first).
#
#   bash tests/bench/sem.sh [SECONDS_PER_MEASURE]     (default 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-1}
LIB=build/release/obj/libcacheform.a
[ -f "$LIB" ] || { echo "sem.sh: $LIB missing: run make first" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PKGS="yaml-0.1 libcurl json-c openssl libgit2 libpcre2-8"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -std=c17 -O2 -I. $(pkg-config --cflags $PKGS) -o "$WORK/sembench" tests/bench/sembench.c \
	"$LIB" $(pkg-config --libs $PKGS) -lm
"$WORK/sembench" "$SECS" | tee "$WORK/out"
awk '$1 ~ /_eval_per_s$/ && $2 < 1000000 { bad = 1; print "below target: " $1 }
     END { exit bad }' "$WORK/out"
