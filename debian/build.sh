#!/bin/sh
# `make deb`: build.sh TARBALL unpacks the release tarball (made by `make dist` just
# before), gives debian/changelog an entry for its version when the top one differs, and
# builds the binary package with dpkg-buildpackage -us -uc -b. debhelper is installed with
# apt-get when missing and running as root. Prints the .deb's path.
set -eu
BUILD=${BUILD:-build}
tarball=$1
[ -f "$tarball" ] || { echo "deb: no tarball $tarball (run make dist)" >&2; exit 1; }
if ! command -v dh >/dev/null 2>&1 || ! command -v dpkg-buildpackage >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debhelper dpkg-dev >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debhelper dpkg-dev >/dev/null; }
	else
		echo "deb: missing packages; run: sudo apt-get install -y debhelper dpkg-dev" >&2
		exit 1
	fi
fi
work=$BUILD/deb
rm -rf "$work" && mkdir -p "$work"
tar -xzf "$tarball" -C "$work"
src=$(cd "$work"/cacheform-* && pwd)
version=$(sed -n 1p "$src/VERSION")
# Debian versions sort "~" before anything, so a semver pre-release (0.2.0-dev) becomes
# 0.2.0~dev; a native package's version may not contain "-".
dversion=$(printf '%s' "$version" | tr '-' '~')
top=$(sed -n '1s/^cacheform (\([^)]*\)).*/\1/p' "$src/debian/changelog")
if [ "$top" != "$dversion" ]; then
	{
		printf 'cacheform (%s) unstable; urgency=medium\n\n' "$dversion"
		printf '  * Release build of cacheform %s (see CHANGELOG.md).\n\n' "$version"
		printf ' -- cacheform maintainers <cacheform@example.com>  %s\n\n' "$(date -R)"
		cat "$src/debian/changelog"
	} >"$src/debian/changelog.new"
	mv "$src/debian/changelog.new" "$src/debian/changelog"
fi
# Two jobs at most: the machines this runs on are shared.
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}"
(cd "$src" && dpkg-buildpackage -us -uc -b >../build.log 2>&1) ||
	{ tail -40 "$work/build.log" >&2; echo "deb: dpkg-buildpackage failed (log: $work/build.log)" >&2; exit 1; }
ls "$work"/cacheform_*.deb
