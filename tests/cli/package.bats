#!/usr/bin/env bats
# Release artefacts built from a clean clone of HEAD: the tarball (`make dist`) carries a
# VERSION file and builds without git; the Debian package (`make deb`) installs, validates
# the examples and removes cleanly.
load helpers

setup_file() {
	export CLONE="$BATS_FILE_TMPDIR/src"
	git clone -q "$TOP" "$CLONE"
}

@test "make dist: a tarball with VERSION that builds outside git and reports that version" {
	run make -s -C "$CLONE" dist
	echo "$output"
	[ "$status" -eq 0 ]
	tarball=$CLONE/${lines[${#lines[@]} - 1]}
	[ -f "$tarball" ]
	v=$(basename "$tarball" .tar.gz)
	v=${v#cacheform-}
	[ "$v" = "0.2.0-dev+g$(git -C "$CLONE" rev-parse --short HEAD)" ] || [[ "$v" == [0-9]*.[0-9]*.[0-9]* ]]
	x=$BATS_TEST_TMPDIR/x
	mkdir -p "$x" && tar -xzf "$tarball" -C "$x"
	[ "$(sed -n 1p "$x/cacheform-$v/VERSION")" = "$v" ]
	[ "$(sed -n 2p "$x/cacheform-$v/VERSION")" = "$(git -C "$CLONE" rev-parse HEAD)" ]
	[ -f "$x/cacheform-$v/LICENSE" ] && [ -f "$x/cacheform-$v/CHANGELOG.md" ]
	# Outside any git checkout (GIT_CEILING_DIRECTORIES), only VERSION can say what this is.
	GIT_CEILING_DIRECTORIES=$x run make -s -C "$x/cacheform-$v" -j2 VARIANT=release BUILD=build binaries
	[ "$status" -eq 0 ]
	run "$x/cacheform-$v/bin/cacheform" version --format json
	[ "$(jq -r .version <<<"$output")" = "$v" ]
	[ "$(jq -r .commit <<<"$output")" = "$(git -C "$CLONE" rev-parse HEAD)" ]
}

@test "make dist refuses a tree with uncommitted changes" {
	echo "# local edit" >>"$CLONE/README.md"
	run make -s -C "$CLONE" dist
	git -C "$CLONE" checkout -q README.md
	[ "$status" -ne 0 ]
	[[ "$output" == *"uncommitted changes"* ]]
}

@test "make deb: dpkg -i, cacheform validate on the examples, dpkg -r" {
	[ "$(id -u)" = 0 ] || skip "installing a package with dpkg -i needs root"
	if dpkg-query -W -f='${Status}' cacheform 2>/dev/null | grep -q 'install ok installed'; then
		skip "a cacheform package is already installed on this machine; not replacing it"
	fi
	run make -s -C "$CLONE" deb
	echo "$output"
	[ "$status" -eq 0 ]
	deb=${lines[${#lines[@]} - 1]}
	[[ "$deb" == /* ]] || deb=$CLONE/$deb
	[ -f "$deb" ]
	run dpkg-deb -f "$deb" Package Depends
	[[ "$output" == *"Package: cacheform"* && "$output" == *libgit2* && "$output" == *libcurl* ]]
	run dpkg -i "$deb"
	echo "$output"
	[ "$status" -eq 0 ]
	run /usr/bin/cacheform validate --repo "$TOP/examples"
	echo "$output"
	s=$status
	v=$(/usr/bin/cacheform version --format json | jq -r .version)
	files=no
	[ -f /usr/share/man/man1/cacheform.1.gz ] && [ -f /usr/share/cacheform/cacheform.schema.json ] &&
		[ -f /usr/share/bash-completion/completions/cacheform ] &&
		grep -qx '#compdef cacheform' /usr/share/zsh/vendor-completions/_cacheform &&
		grep -q '^complete -c cacheform ' /usr/share/fish/vendor_completions.d/cacheform.fish && files=yes
	# Removed before any assertion, so a failure never leaves the package installed.
	run dpkg -r cacheform
	[ "$status" -eq 0 ]
	[ "$s" -eq 0 ]
	[ "$files" = yes ]
	[ "$v" = "$(dpkg-deb -f "$deb" Version | tr '~' '-')" ]
	[ ! -e /usr/bin/cacheform ]
}
