#!/bin/sh
# deps.sh "DEBIAN-PACKAGES" "COMMAND:PACKAGE ...": installs what is missing when run as
# root; otherwise prints the one apt-get line to run and fails. Used by `make deps` (the
# runtime build) and `make deps-dev` (tests, lint, fuzzing).
set -u
missing=""
for p in $1; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
for t in $2; do
	command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing"
	# shellcheck disable=SC2086 # the list is meant to split into package names
	(DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null ||
		(apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null)) ||
		{ echo "deps: apt-get install failed:$missing" >&2; exit 1; }
else
	echo "deps: missing packages; run: sudo apt-get install -y$missing" >&2
	exit 1
fi
