#!/usr/bin/env bats
# Bounded memory while reading (issue 18): answers are decoded and dropped as they arrive, so a
# read batch holds at most --parallelism answer bodies, not one per endpoint.
load helpers
load fakecdn_helpers

setup() {
	F=$BATS_TEST_TMPDIR/fleet
	# 128 endpoints: 64 azure-china (the padded answers), 64 azure; no purges
	bash "$TOP/tests/bench/gen_fleet.sh" "$F" 128 0 0 0 0 0 >/dev/null
	git -C "$F/repo" init -q -b main
	git -C "$F/repo" add -A
	git -C "$F/repo" -c user.name=t -c user.email=t@example.com -c commit.gpgsign=false commit -q -m fleet
	fakecdn_start "$F/state.json"
	export AZURECDN_KEY_ID=fakecdn-rw AZURECDN_KEY_VALUE=fakecdn-rw-secret
	export AZURE_SUBSCRIPTION_ID=$ARM_SUB AZURE_TENANT_ID=$ARM_TENANT AZURE_CLIENT_ID=$ARM_CLIENT \
		AZURE_CLIENT_SECRET=$ARM_SECRET
}

teardown() {
	fakecdn_stop
}

@test "plan over 64 answers of 4 MiB each (256 MiB in all) peaks far below their sum" {
	run admin_curl POST faults '{"read_padding_bytes": 4194304}'
	[[ "$output" == *"HTTP 200"* ]]
	cd "$F/repo"
	# ASan (make test) keeps freed blocks in a 256 MiB quarantine; without it RSS shows the
	# program's own peak
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0:thread_local_quarantine_size_kb=0" \
		/usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/rss" "$CACHEFORM" plan --no-purges --parallelism 4 \
		>"$BATS_TEST_TMPDIR/out" 2>&1
	status=$?
	tail -5 "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	rss_kb=$(tail -1 "$BATS_TEST_TMPDIR/rss")
	echo "peak RSS: $rss_kb kB"
	# every padded answer was read
	[ "$(jq -c 'select(.op == "read_rules" and .provider == "azure-china")' "$FAKECDN_JOURNAL" | wc -l)" -eq 64 ]
	# held all at once, the bodies alone are 256 MiB; 4 in flight are 16 MiB (plus the
	# sanitizer's own overhead in `make test`)
	[ "$rss_kb" -lt $((160 * 1024)) ]
}

@test "libcurl is loaded by the commands that reach the network, not by validate" {
	cd "$F/repo"
	# LD_DEBUG=files: the dynamic loader names every library it maps, dlopen included
	LD_DEBUG=files "$CACHEFORM" validate >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/ld"
	status=$?
	cat "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'file=libcurl' "$BATS_TEST_TMPDIR/ld")" -eq 0 ]
	LD_DEBUG=files "$CACHEFORM" plan --no-purges >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/ld"
	status=$?
	grep -v '^ *[0-9]*:' "$BATS_TEST_TMPDIR/ld" | tail -5
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ]
	grep -q 'file=libcurl.*dynamically loaded' "$BATS_TEST_TMPDIR/ld"
	# and the plan really read the endpoints through it
	[ "$(jq -c 'select(.op == "read_rules")' "$FAKECDN_JOURNAL" | wc -l)" -eq 128 ]
}

# LD_DEBUG=files names every library the loader maps, each line after the pid of the process
# that mapped it; the first line is cacheform's own. Prints the lines of that process only.
main_process_loads() { # LD_DEBUG-OUTPUT
	local pid
	pid=$(sed -n 's/^ *\([0-9][0-9]*\):.*/\1/p;q' "$1")
	[ -n "$pid" ] && grep "^ *$pid:" "$1"
}

@test "libcrypto is loaded by the commands that hash or sign, not by a validate without purges" {
	cd "$F/repo"
	LD_DEBUG=files "$CACHEFORM" validate >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/ld"
	status=$?
	cat "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	main_process_loads "$BATS_TEST_TMPDIR/ld" >"$BATS_TEST_TMPDIR/main"
	grep -q 'file=libyaml' "$BATS_TEST_TMPDIR/main" # the filter found the process
	[ "$(grep -c 'file=libcrypto' "$BATS_TEST_TMPDIR/main")" -eq 0 ]
	# a purge manifest is hashed (its ledger key): libcrypto is loaded for it, by cacheform
	mkdir -p purges
	printf 'purge: rss-p1\nendpoints: [cn0000]\nfiles: [/img/a.png]\n' >purges/rss-p1.yaml
	LD_DEBUG=files "$CACHEFORM" validate >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/ld"
	status=$?
	cat "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	grep -q ', 1 purge$' "$BATS_TEST_TMPDIR/out" # untracked: no commit named
	# (dlopen'd: "by" cacheform, or by libasan, whose dlopen wraps cacheform's under ASan)
	main_process_loads "$BATS_TEST_TMPDIR/ld" | grep -q 'file=libcrypto.*dynamically loaded by'
	rm purges/rss-p1.yaml
	# azure-china requests are signed (HMAC-SHA256) through it: fakecdn checks every signature
	LD_DEBUG=files "$CACHEFORM" plan --no-purges >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/ld"
	status=$?
	grep -v '^ *[0-9]*:' "$BATS_TEST_TMPDIR/ld" | tail -5
	[ "$status" -eq 0 ] || [ "$status" -eq 2 ]
	main_process_loads "$BATS_TEST_TMPDIR/ld" | grep -q 'file=libcrypto'
	[ "$(jq -c 'select(.op == "read_rules" and .provider == "azure-china")' "$FAKECDN_JOURNAL" | wc -l)" -eq 64 ]
	[ "$(grep -ci 'signature' "$BATS_TEST_TMPDIR/out")" -eq 0 ]
}

@test "a working-tree validate checks git in a child process: libgit2 never maps in its own; --ref loads it" {
	cd "$F/repo"
	LD_DEBUG=files "$CACHEFORM" validate >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/ld"
	status=$?
	cat "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	# the commit still comes from git, through the child
	head=$(git rev-parse HEAD)
	grep -q "^valid: 2 accounts, 128 endpoints, 0 purges at ${head:0:12}\$" "$BATS_TEST_TMPDIR/out"
	grep -q 'file=libgit2.*dynamically loaded' "$BATS_TEST_TMPDIR/ld" # by the child
	main_process_loads "$BATS_TEST_TMPDIR/ld" >"$BATS_TEST_TMPDIR/main"
	grep -q 'file=libyaml' "$BATS_TEST_TMPDIR/main"
	[ "$(grep -c 'file=libgit2\|file=libssh2\|file=libcrypto' "$BATS_TEST_TMPDIR/main")" -eq 0 ]
	# a change in the working tree is seen by the child's check
	echo '# changed' >>endpoints/cn0000.yaml
	run "$CACHEFORM" validate
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"valid: 2 accounts, 128 endpoints, 0 purges"* ]]
	[[ "$output" != *"purges at "* ]]
	git checkout -q endpoints/cn0000.yaml

	# --ref reads the files out of the commit through libgit2, so it is still loaded then
	git rm -q endpoints/cn0000.yaml
	run "$CACHEFORM" validate --ref HEAD
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"valid: 2 accounts, 128 endpoints, 0 purges at ${head:0:12}"* ]]
	LD_DEBUG=files "$CACHEFORM" validate --ref HEAD >/dev/null 2>"$BATS_TEST_TMPDIR/ld"
	main_process_loads "$BATS_TEST_TMPDIR/ld" | grep -q 'file=libgit2.*dynamically loaded'
	run "$CACHEFORM" validate
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"valid: 2 accounts, 127 endpoints, 0 purges"* ]]
	[[ "$output" != *"purges at "* ]] # an uncommitted change: no commit named
}
