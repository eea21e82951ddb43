#!/usr/bin/env bats
# Operating cacheform in CI (issue 18): output reaches the log as it happens, write failures
# fail the command, signals leave a summary and a consistent ledger, files are written safely,
# names are escaped, and the plan says what apply would refuse.
load helpers
load reconcile_helpers

setup() {
	R=$BATS_TEST_TMPDIR/repo
}

teardown() {
	fakecdn_stop
}

# wait_for FILE TEXT [TENTHS]: until FILE contains TEXT (default 100 tenths of a second).
wait_for() {
	local i
	for i in $(seq 1 "${3:-100}"); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "'$2' never appeared in $1:" >&2
	cat "$1" >&2
	return 1
}

@test "stdout is line-buffered in a file: the plan is in the log while apply still waits" {
	fakecdn_start "" --task-delay 3000
	repo_init "$R"
	cd "$R"
	"$CACHEFORM" apply --yes --first-run >"$BATS_TEST_TMPDIR/log" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$!
	# tasks take 3 s: the plan must be in the log long before the apply ends
	wait_for "$BATS_TEST_TMPDIR/log" "www (azure-china, account cn)" 20
	kill -0 "$pid"
	wait "$pid"
	grep -q "Apply: 7 done" "$BATS_TEST_TMPDIR/log"
}

@test "SIGTERM during apply: summary printed, accepted purges recorded, exit 143" {
	fakecdn_start "" --task-delay 60000
	repo_init "$R"
	cd "$R"
	"$CACHEFORM" apply --yes --first-run >"$BATS_TEST_TMPDIR/log" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! rc=0
	# a purge was accepted (its record is committed) and apply now waits for its task
	local i
	for i in $(seq 1 100); do
		[ "$(journal_ops purge)" -ge 1 ] && break
		sleep 0.1
	done
	sleep 1
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	cat "$BATS_TEST_TMPDIR/log" "$BATS_TEST_TMPDIR/err"
	[ "$rc" -eq 143 ]
	grep -q "^Apply: .* done, .* failed, .* not attempted, .* submitted" "$BATS_TEST_TMPDIR/log"
	grep -q "stopped by SIGTERM" "$BATS_TEST_TMPDIR/err"
	# the ledger holds every purge the provider accepted, as submitted
	run cf ledger list
	[ "$status" -eq 0 ]
	[[ "$output" == *submitted* ]]
	# the next apply polls the accepted tasks instead of sending them again
	local sent
	sent=$(journal_ops purge)
	run cf plan
	[[ "$output" == *"submitted earlier; apply waits for its result"* ]]
	[ "$(journal_ops purge)" -eq "$sent" ]
}

@test "every command fails when its output cannot be written (/dev/full)" {
	fakecdn_start "" --task-delay 50
	repo_init "$R"
	cd "$R"
	run cf validate --format sarif
	[ "$status" -eq 0 ]
	run sh -c '"$0" validate --format sarif >/dev/full' "$CACHEFORM"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot write"* ]]
	run sh -c '"$0" plan >/dev/full' "$CACHEFORM"
	[ "$status" -eq 1 ]
	run sh -c '"$0" plan --format json >/dev/full' "$CACHEFORM"
	[ "$status" -eq 1 ]
	run sh -c '"$0" diff --base HEAD >/dev/full' "$CACHEFORM"
	[ "$status" -eq 1 ]
	run sh -c '"$0" drift >/dev/full' "$CACHEFORM"
	[ "$status" -eq 1 ]
	run sh -c '"$0" version >/dev/full' "$CACHEFORM"
	[ "$status" -eq 1 ]
	# apply refuses to change anything when its plan cannot be shown
	run sh -c '"$0" apply --yes --first-run >/dev/full' "$CACHEFORM"
	[ "$status" -eq 1 ]
	[[ "$output" == *"nothing was applied"* ]]
	[ "$(journal_ops write_rules)" -eq 0 ]
	[ "$(journal_ops purge)" -eq 0 ]
	run cf apply --yes --first-run
	[ "$status" -eq 0 ]
	run sh -c '"$0" ledger list >/dev/full' "$CACHEFORM"
	[ "$status" -eq 1 ]
}

@test "plan errors also go to stderr, and to ::error with --format github" {
	fakecdn_start "" --task-delay 50
	repo_init "$R"
	cd "$R"
	sed -i "s/8137ecc4-71c4-11e7-8259-0017fa00a611/8137ecc4-71c4-11e7-8259-0017fa00a6ff/" endpoints/www.yaml
	run sh -c '"$0" plan 2>&1 >/dev/null' "$CACHEFORM"
	[[ "$output" == *"cacheform plan: endpoint 'www'"* ]]
	run sh -c '"$0" plan --format github 2>/dev/null' "$CACHEFORM"
	[[ "$output" == *"::error title=cacheform::www: "* ]]
	export AZURECDN_KEY_ID=
	run sh -c '"$0" plan --format github --repo /nonexistent 2>/dev/null' "$CACHEFORM"
	[ "$status" -eq 1 ]
	[[ "$output" == "::error title=cacheform::"* ]]
}

@test "apply --timeout 0 is a usage error before any endpoint is read" {
	fakecdn_start "" --task-delay 50
	repo_init "$R"
	cd "$R"
	run cf apply --yes --first-run --timeout 0
	assert_no_sanitizer
	[ "$status" -eq 129 ]
	[[ "$output" == *"--timeout '0': must be positive"* ]]
	run cf apply --yes --first-run --timeout nonsense
	[ "$status" -eq 129 ]
	[ "$(journal_ops read_rules)" -eq 0 ]
}

@test "plan --out: written atomically; a symlink or device at the target is refused, not replaced" {
	fakecdn_start "" --task-delay 50
	repo_init "$R"
	cd "$R"
	local t=$BATS_TEST_TMPDIR
	run cf plan --out "$t/plan.json"
	[ "$status" -eq 0 ]
	jq -e '.format_version' "$t/plan.json"
	# an existing plan is replaced in one step; no temporary file is left
	run cf plan --out "$t/plan.json"
	[ "$status" -eq 0 ]
	[ -z "$(find "$t" -maxdepth 1 -name '.cacheform-*' -o -maxdepth 1 -name '*.tmp')" ]
	# a planted symlink (also at the old PATH.tmp) is never followed nor replaced
	echo keep >"$t/victim"
	ln -s "$t/victim" "$t/link.json"
	ln -s "$t/victim" "$t/plan2.json.tmp"
	run cf plan --out "$t/link.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a regular file"* ]]
	[ -L "$t/link.json" ]
	run cf plan --out "$t/plan2.json"
	[ "$status" -eq 0 ]
	[ "$(cat "$t/victim")" = keep ]
	run cf plan --out /dev/null
	[ "$status" -eq 1 ]
	[ -c /dev/null ]
	mkdir "$t/dir.json"
	run cf plan --out "$t/dir.json"
	[ "$status" -eq 1 ]
	[ -d "$t/dir.json" ]
}

@test "a 50,000-URL purge (with duplicates) plans in linear time, each URL once" {
	fakecdn_start "" --task-delay 50
	repo_init "$R" docs
	cd "$R"
	rm -f purges/*
	{
		echo "purge: big"
		echo "endpoints: [docs]"
		echo "files:"
		seq 1 50000 | sed 's|.*|  - /f/&.html|'
		seq 1 1000 | sed 's|.*|  - https://docs.example.com/f/&.html|'
	} >purges/big.yaml
	repo_commit "$R" big
	# quadratic de-duplication took minutes here (45 s for 100,000 URLs in a release build)
	run timeout 20 "$CACHEFORM" plan --out "$BATS_TEST_TMPDIR/plan.json"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	jq -e '.purges[0].files == 50000' "$BATS_TEST_TMPDIR/plan.json"
}

@test "a long apply refreshes the azure token before it expires" {
	local state=$BATS_TEST_TMPDIR/state.json
	jq '.settings.token_expiry_s = 2' "$FAKECDN_EXAMPLE_STATE" >"$state"
	fakecdn_start "$state" --task-delay 4000
	repo_init "$R" shop
	cd "$R"
	printf 'purge: shop-css\nendpoints: [shop]\nfiles: [/a.css]\n' >purges/shop-css.yaml
	repo_commit "$R" purge
	run cf apply --yes --first-run
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"expired"* ]]
	[ "$(journal_ops token)" -ge 2 ]
}

@test "a value read from {file: PATH} is never echoed when it is invalid" {
	fakecdn_start "" --task-delay 50
	repo_init "$R" www
	cd "$R"
	printf 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABsecretsecret\n' >"$BATS_TEST_TMPDIR/sub.txt"
	chmod 600 "$BATS_TEST_TMPDIR/sub.txt"
	sed -i "s|subscription: $CN_SUB|subscription: {file: $BATS_TEST_TMPDIR/sub.txt}|" cacheform.yaml
	grep -q "sub.txt" cacheform.yaml
	repo_commit "$R" file
	run cf plan
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	echo "$output"
	[[ "$output" == *"subscription is not a GUID"* ]]
	[[ "$output" != *AAAAB3* ]]
	[[ "$output" != *ssh-rsa* ]]
}

@test "fakecdn: a journal line is never cut, however long the request path" {
	fakecdn_start
	local long
	long=$(head -c 20000 /dev/zero | tr '\0' 'a')
	curl -s -o /dev/null "$FAKECDN_URL/$long" || true
	curl -s -o /dev/null "$FAKECDN_URL/after" || true
	# every line is one whole JSON object, the long one marked as cut
	jq -e . "$FAKECDN_JOURNAL" >/dev/null
	[ "$(jq -s 'length' "$FAKECDN_JOURNAL")" -eq "$(wc -l <"$FAKECDN_JOURNAL")" ]
	[ "$(jq -s 'map(select(.cut == true)) | length' "$FAKECDN_JOURNAL")" -eq 1 ]
	[ "$(jq -r -s '.[-1].path' "$FAKECDN_JOURNAL")" = /after ]
}

@test "file names and ledger ids are escaped in text output (no ESC, no forged ::error line)" {
	fakecdn_start "" --task-delay 50
	repo_init "$R" docs
	cd "$R"
	# a pull request adds a file whose name carries a newline, a workflow command and ESC
	local bad
	bad=$(printf 'endpoints/x\n::error::forged\033[2J.yaml')
	printf 'endpoint: [\n' >"$bad"
	run cf validate
	[ "$status" -eq 1 ]
	[[ "$output" != *$'\033'* ]]
	! grep -q '^::' <<<"$output" || false
	[[ "$output" == *'x\x0a::error::forged\x1b[2J.yaml'* ]]
	rm -f "$bad"
	# a ledger record pushed by someone else, with such an id
	run cf apply --yes --first-run
	[ "$status" -eq 0 ]
	export GIT_INDEX_FILE=$BATS_TEST_TMPDIR/idx
	git read-tree refs/cacheform/ledger
	local f blob tree c
	f=$(ledger_rec 2026-11-22-docs-release docs)
	git show "refs/cacheform/ledger:$f" | jq '.purge = "::error::forged\u001b[2J" | .endpoint = "e\nx"' >"$BATS_TEST_TMPDIR/rec.json"
	blob=$(git hash-object -w "$BATS_TEST_TMPDIR/rec.json")
	git update-index --cacheinfo "100644,$blob,$f"
	tree=$(git write-tree)
	c=$(git commit-tree "$tree" -p refs/cacheform/ledger -m forged)
	git update-ref refs/cacheform/ledger "$c"
	unset GIT_INDEX_FILE
	run cf ledger list
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *$'\033'* ]]
	! grep -q '^::' <<<"$output" || false
	[[ "$output" == *'\x3a:error::forged\x1b[2J'*'e\x0ax'* ]]
}

@test "azure-china daily quota is counted per subscription: two accounts on one cannot both spend it" {
	fakecdn_start "" --task-delay 50
	repo_init "$R" www static-cn
	cd "$R"
	rm -f purges/*
	# a second account (another key pair) on the same subscription
	cat >"$BATS_TEST_TMPDIR/cn2" <<Y
  cn2:
    provider: azure-china
    subscription: $CN_SUB
    key_id: {env: AZURECDN_KEY_ID}
    key_value: {env: AZURECDN_KEY_VALUE}
    base_url: $FAKECDN_URL
Y
	awk -v f="$BATS_TEST_TMPDIR/cn2" '/^safety:/ { while ((getline l < f) > 0) print l } { print }' \
		cacheform.yaml >"$BATS_TEST_TMPDIR/c.yaml"
	mv "$BATS_TEST_TMPDIR/c.yaml" cacheform.yaml
	sed -i 's/^account: cn$/account: cn2/; s/^mode: observe$/mode: purge-only/; /^cache:/,$d' endpoints/static-cn.yaml
	big() { # ID ENDPOINT HOST: 1,200 files
		{
			echo "purge: $1"
			echo "endpoints: [$2]"
			echo "files:"
			seq 1 1200 | sed "s|.*|  - https://$3/f&.png|"
		} >"purges/$1.yaml"
	}
	big one www www.example.cn
	big two static-cn static.example.cn
	repo_commit "$R" quota
	run cf plan --format json
	echo "$output"
	[ "$status" -eq 0 ]
	# 2,400 files on one subscription: only one of the two fits its 2,000 a day
	[ "$(jq '[.purges[] | select(.state == "over-quota")] | length' <<<"$output")" -eq 1 ]
	[ "$(jq '[.purges[] | select(.state == "run")] | length' <<<"$output")" -eq 1 ]
	[ "$(jq '.quotas | length' <<<"$output")" -eq 1 ]
}

@test "wrong cdnpro credentials or an unreadable quota fail the plan (exit 1), not 'will run'" {
	fakecdn_start "" --task-delay 50
	repo_init "$R" media
	cd "$R"
	CDNPRO_API_KEY=wrong-key run cf plan
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"media (cdnpro, account pro, mode purge-only): error: "* ]]
	[[ "$output" != *"will run"* ]]
	[[ "$output" != *wrong-key* ]]
	CDNPRO_API_KEY=wrong-key run cf apply --yes --first-run
	[ "$status" -eq 1 ]
	[ "$(journal_ops purge)" -eq 0 ]
	# the right key: the plan runs the purge
	run cf plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"will run"* ]]
}

# live_rules ENDPOINT: the azure endpoint's delivery policy in fakecdn's state.
live_policy() {
	admin_curl GET state | sed '$d' | jq -c --arg n "$1" '.. | objects | select(.name? == $n and .properties.deliveryPolicy?) | .properties.deliveryPolicy'
}

@test "azure: more than 25 rules (own + preserved) are refused by plan with apply's words" {
	fakecdn_start "" --task-delay 50
	repo_init "$R" shop
	cd "$R"
	local i
	for i in $(seq 1 21); do printf '    - dir: [/d%d/]\n      ttl: 1h\n' "$i"; done >>endpoints/shop.yaml
	repo_commit "$R" many
	local msg="25 cache rules and 1 preserved rules exceed the 25 delivery rules azure allows"
	run cf plan
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"shop (azure, account global): error: $msg"* ]]
	run cf apply --yes --first-run --keep-going
	[ "$status" -eq 1 ]
	[[ "$output" == *"$msg"* ]]
	[ "$(journal_ops write_rules)" -eq 0 ]
}

@test "azure: apply keeps deliveryPolicy.description and does not rename cacheformN rules" {
	local state=$BATS_TEST_TMPDIR/state.json
	jq '(.. | objects | select(.deliveryPolicy? != null) | .deliveryPolicy.description) |= "owned by the web team"' \
		"$FAKECDN_EXAMPLE_STATE" >"$state"
	fakecdn_start "$state" --task-delay 50
	repo_init "$R" docs
	cd "$R"
	# the first rule (cacheform1) goes: cacheform2 stays cacheform2
	sed -i '/- suffix: \[html\]/,+1d' endpoints/docs.yaml
	repo_commit "$R" drop-html
	run cf apply --yes --first-run
	echo "$output"
	[ "$status" -eq 0 ]
	local pol
	pol=$(live_policy docs)
	echo "$pol"
	[ "$(jq -r .description <<<"$pol")" = "owned by the web team" ]
	[ "$(jq -c '[.rules[] | {name, v: .conditions[0].parameters.matchValues}]' <<<"$pol")" = '[{"name":"cacheform2","v":["/_static/"]}]' ]
	# a new rule takes a free name, never one that is already there
	printf '    - suffix: [css]\n      ttl: 1h\n' >>endpoints/docs.yaml
	repo_commit "$R" css
	run cf apply --yes --first-run
	[ "$status" -eq 0 ]
	pol=$(live_policy docs)
	[ "$(jq -c '[.rules[].name]' <<<"$pol")" = '["cacheform1","cacheform2"]' ] # order 1 acts first: the YAML's last rule
}

@test "a dirty working tree is planned and recorded as no commit, not as HEAD" {
	fakecdn_start "" --task-delay 50
	repo_init "$R" docs
	cd "$R"
	rm -f purges/*
	repo_commit "$R" no-purges
	sed -i 's/ttl: 1h$/ttl: 2h/' endpoints/docs.yaml # not committed
	run cf plan --out "$BATS_TEST_TMPDIR/plan.json"
	[ "$status" -eq 0 ]
	jq -e '.desired_commit == null' "$BATS_TEST_TMPDIR/plan.json"
	run cf apply --yes --first-run
	[ "$status" -eq 0 ]
	run cf ledger show docs
	echo "$output"
	jq -e '.desired_commit == null' <<<"$output"
	# an untracked endpoint file makes the tree dirty too; a clean tree names HEAD
	git checkout -q endpoints/docs.yaml
	run cf plan --out "$BATS_TEST_TMPDIR/plan.json"
	jq -e --arg c "$(git rev-parse HEAD)" '.desired_commit == $c' "$BATS_TEST_TMPDIR/plan.json"
	cp endpoints/docs.yaml endpoints/docs2.yaml
	sed -i 's/^endpoint: docs/endpoint: docs2/; s/endpoint: docs$/endpoint: docs/' endpoints/docs2.yaml
	run cf plan --out "$BATS_TEST_TMPDIR/plan.json" -e docs
	jq -e '.desired_commit == null' "$BATS_TEST_TMPDIR/plan.json"
}

@test "a saved plan does not go stale on an observe endpoint it never writes" {
	fakecdn_start "" --task-delay 20
	repo_init "$R" www static-cn
	cd "$R"
	run cf plan --out "$BATS_TEST_TMPDIR/plan.json"
	[ "$status" -eq 0 ]
	# a console edit on the observe endpoint (static-cn) after the plan
	run admin_curl PUT "azure-china/2b6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93/cacherules" '{"Rules":[{"Type":"Dir","Items":["/x/"],"TTL":60}],"IgnoreCacheControl":false,"IgnoreCookie":false,"IgnoreQueryString":true}'
	[ "$(http_status)" = 200 ]
	run cf apply "$BATS_TEST_TMPDIR/plan.json" --first-run
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(journal_ops write_rules)" -eq 1 ]
	# the managed endpoint still goes stale
	run cf plan --out "$BATS_TEST_TMPDIR/plan.json"
	run admin_curl PUT "azure-china/$CN_EP/cacherules" '{"Rules":[{"Type":"Dir","Items":["/x/"],"TTL":60}],"IgnoreCacheControl":false,"IgnoreCookie":false,"IgnoreQueryString":true}'
	run cf apply "$BATS_TEST_TMPDIR/plan.json" --first-run
	[ "$status" -eq 4 ]
}

@test "the plan file lists every URL each purge sends, not only counts" {
	fakecdn_start "" --task-delay 50
	repo_init "$R" www shop media
	cd "$R"
	run cf plan --out "$BATS_TEST_TMPDIR/plan.json"
	[ "$status" -eq 0 ]
	local f=$BATS_TEST_TMPDIR/plan.json
	# azure-china: expanded against the endpoint's hosts
	jq -e '.purges[] | select(.id == "2026-11-24-cn-pics" and .endpoint == "www") | .urls == {"files": ["https://www.example.cn/doc/manual.pdf"], "dirs": ["https://www.example.cn/pic/"]}' "$f"
	# azure: paths (azure offers no preload)
	jq -e '.purges[] | select(.id == "shop-logo-2026-11-21" and .endpoint == "shop") | .urls == {"files": ["/logo.png", "/favicon.ico"]}' "$f"
	# cdnpro: patterns and regex too
	jq -e '.purges[] | select(.endpoint == "media") | (.urls.patterns | length) == 1 and (.urls.regex | length) == 1' "$f"
	# the counts agree with the lists
	jq -e '[.purges[] | (.urls.files // [] | length) == .files] | all' "$f"
}

@test "-e globs, --exclude, and 'did you mean' for commands, options and endpoints" {
	fakecdn_start "" --task-delay 50
	repo_init "$R"
	cd "$R"
	run cf plan -e 'sh*' -e 'do?s' --format json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.endpoints[].name]' <<<"$output")" = '["docs","shop"]' ]
	run cf plan --exclude 'static-*' --exclude media --format json
	[ "$(jq -c '[.endpoints[].name]' <<<"$output")" = '["docs","shop","www"]' ]
	run cf plan -e 'x*'
	[ "$status" -eq 1 ]
	[[ "$output" == *"-e 'x*' matches no endpoint"* ]]
	run cf plan -e wwww
	[ "$status" -eq 1 ]
	[[ "$output" == *"unknown endpoint 'wwww' (-e); did you mean 'www'?"* ]]
	run cf drift --exclude shpo
	[[ "$output" == *"did you mean 'shop'?"* ]]
	run cf paln
	[ "$status" -eq 129 ]
	[[ "$output" == *"unknown command 'paln'; did you mean 'plan'?"* ]]
	run cf plan --detailed-exitcdoe
	[ "$status" -eq 129 ]
	[[ "$output" == *"did you mean '--detailed-exitcode'?"* ]]
	run cf import --account cm --remote endpoint_id=x --name y --host h
	[[ "$output" == *"unknown account 'cm'; did you mean 'cn'?"* ]]
}
