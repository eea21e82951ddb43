#!/usr/bin/env bats
# What a release carries: the version (git describe, a tarball's VERSION file, the
# development fallback), `cacheform version --format json` with the libraries really loaded,
# and the version in the HTTP User-Agent.
load helpers
load reconcile_helpers

teardown() {
	if [ -n "${STUB_PID:-}" ]; then kill "$STUB_PID" 2>/dev/null; wait "$STUB_PID" 2>/dev/null; fi
	true
}

SEMVER='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'

@test "version --format json: version, commit, build date and the loaded libraries" {
	run "$CACHEFORM" version --format json
	[ "$status" -eq 0 ]
	assert_no_sanitizer
	j=$output
	jq -e --arg re "$SEMVER" '.version | test($re)' <<<"$j"
	jq -e '.build_date | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}")' <<<"$j"
	# Built from this checkout: the commit is HEAD or, when commits came after the build, one
	# of its ancestors.
	git -C "$TOP" merge-base --is-ancestor "$(jq -r .commit <<<"$j")" HEAD
	# Each library answers at run time; compare with what the system has installed.
	[ "$(jq -r .libraries.libcurl <<<"$j")" = "$(curl --version | grep -oE 'libcurl/[0-9.]+' | cut -d/ -f2)" ]
	[ "$(jq -r .libraries.libgit2 <<<"$j")" = "$(pkg-config --modversion libgit2)" ]
	[ "$(jq -r .libraries.libyaml <<<"$j")" = "$(pkg-config --modversion yaml-0.1)" ]
	[[ "$(pkg-config --modversion json-c)" == "$(jq -r '.libraries["json-c"]' <<<"$j")"* ]]
	[[ "$(openssl version)" == "$(jq -r .libraries.openssl <<<"$j" | cut -d' ' -f1-2)"* ]]
	[[ "$(jq -r .libraries.pcre2 <<<"$j")" == "$(pkg-config --modversion libpcre2-8) "* ]]
	# The text form says the same.
	run "$CACHEFORM" version
	[ "${lines[0]}" = "cacheform $(jq -r .version <<<"$j")" ]
	[[ "$output" == *"libgit2 $(jq -r .libraries.libgit2 <<<"$j")"* ]]
	run "$CACHEFORM" version --format yaml
	[ "$status" -eq 129 ]
}

# gen_version.sh copied into a scratch tree, so tags and dirt can be made up.
gen_in() { # DIR -> prints the generated version
	sh "$1/reconcile/base/gen_version.sh" "$1/out.h" https://example.com >/dev/null
	sed -n 's/^#define CF_GEN_VERSION "\(.*\)"$/\1/p' "$1/out.h"
}

@test "the version follows git describe, then a VERSION file, then 0.2.0-dev" {
	d=$BATS_TEST_TMPDIR/v
	mkdir -p "$d/reconcile/base"
	cp "$TOP/reconcile/base/gen_version.sh" "$d/reconcile/base/"
	[ "$(gen_in "$d")" = 0.2.0-dev ]
	printf '0.3.1\n0123456789abcdef0123456789abcdef01234567\n' >"$d/VERSION"
	[ "$(gen_in "$d")" = 0.3.1 ]
	grep -q 'CF_GEN_COMMIT "0123456789abcdef0123456789abcdef01234567"' "$d/out.h"
	rm "$d/VERSION"
	echo out.h >"$d/.gitignore"
	git init -q "$d"
	repo_commit "$d" one
	h=$(git -C "$d" rev-parse --short HEAD)
	[ "$(gen_in "$d")" = "0.2.0-dev+g$h" ]
	git -C "$d" tag v0.1.0
	[ "$(gen_in "$d")" = 0.1.0 ]
	echo x >"$d/file" && git -C "$d" add file
	[ "$(gen_in "$d")" = 0.1.0+dirty ]
	repo_commit "$d" two && repo_commit "$d" three
	h=$(git -C "$d" rev-parse --short HEAD)
	[ "$(gen_in "$d")" = "0.1.0+2.g$h" ]
	# Unchanged content leaves the header's timestamp alone (nothing is rebuilt).
	touch -d '2001-01-01' "$d/out.h"
	gen_in "$d" >/dev/null
	[ "$(stat -c %Y "$d/out.h")" = "$(date -d 2001-01-01 +%s)" ]
	# A reproducible build takes its date from SOURCE_DATE_EPOCH.
	SOURCE_DATE_EPOCH=86400 gen_in "$d" >/dev/null
	grep -q 'CF_GEN_BUILD_DATE "1970-01-02T00:00:00Z"' "$d/out.h"
}

@test "the HTTP User-Agent carries the version" {
	cat >"$BATS_TEST_TMPDIR/ua.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[2], 'a') as f: f.write(self.headers.get('User-Agent', '') + '\n')
        self.send_response(404); self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', '2'); self.end_headers(); self.wfile.write(b'{}')
    def log_message(self, *a): pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
open(sys.argv[1], 'w').write(str(s.server_address[1]))
s.serve_forever()
PY
	python3 "$BATS_TEST_TMPDIR/ua.py" "$BATS_TEST_TMPDIR/port" "$BATS_TEST_TMPDIR/ua" &
	STUB_PID=$!
	for _ in $(seq 1 100); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.05; done
	FAKECDN_URL=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")
	R=$BATS_TEST_TMPDIR/repo
	repo_init "$R" www
	run timeout 60 "$CACHEFORM" plan --repo "$R" -e www
	assert_no_sanitizer
	[ -s "$BATS_TEST_TMPDIR/ua" ]
	v=$("$CACHEFORM" version --format json | jq -r .version)
	head -1 "$BATS_TEST_TMPDIR/ua"
	[[ "$(head -1 "$BATS_TEST_TMPDIR/ua")" == "cacheform/$v (+http"* ]]
}
