#!/usr/bin/env bats
# cacheform apply against fakecdn, asserting on its journal: convergence, one write per
# changed endpoint, purges once, crash safety, stale plans, safety thresholds, partial applies.
load helpers
load reconcile_helpers

setup() {
	R=$BATS_TEST_TMPDIR/repo
}

teardown() {
	fakecdn_stop
}

changed_requests() {
	jq -c 'select(.changed == true)' "$FAKECDN_JOURNAL" | wc -l
}

# state_tasks_with TEXT: fakecdn tasks whose files mention TEXT.
state_tasks_with() {
	admin_curl GET state | sed '$d' | jq --arg t "$1" '[.tasks[] | select((.files // []) | map(tostring) | any(contains($t)))] | length'
}

@test "convergence for every provider: apply, then plan is clean and a second apply writes nothing" {
	fakecdn_start "" --task-delay 50
	repo_init "$R"
	cd "$R"
	run cf apply --first-run --yes
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"Apply: 7 done, 0 failed, 0 not attempted."* ]]
	[ "$(journal_ops write_rules)" -eq 2 ]
	[ "$(journal_ops purge provider=cdnpro)" -eq 1 ]
	[ "$(journal_ops purge provider=azure)" -eq 2 ]
	[ "$(journal_ops purge provider=azure-china)" -eq 2 ]
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
	: >"$FAKECDN_JOURNAL"
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	[ "$(changed_requests)" -eq 0 ]
	[ "$(journal_ops read_rules)" -eq 4 ]
}

@test "one changed rule in one of 50 endpoints makes exactly one write request" {
	local state=$BATS_TEST_TMPDIR/state50.json
	jq '.azure_china.subscriptions[0].endpoints = [range(1; 51) as $i | {
		id: ("00000000-0000-4000-8000-" + ("000000000000" + ($i | tostring))[-12:]),
		hosts: ["e\($i).example.cn"], origin: "o.example.cn", service_type: "Web", enabled: true,
		cacherules: {Rules: [{Type: "Dir", Items: ["/a/"], TTL: 3600}, {Type: "Suffix", Items: ["jpg"], TTL: 86400}],
			IgnoreCacheControl: false, IgnoreCookie: false, IgnoreQueryString: true}}]' \
		"$FAKECDN_EXAMPLE_STATE" >"$state"
	fakecdn_start "$state" --task-delay 20
	mkdir -p "$R/endpoints" "$R/purges"
	git init -q "$R"
	repo_settings >"$R/cacheform.yaml"
	local i ttl
	for i in $(seq 1 50); do
		ttl=1h
		[ "$i" -eq 17 ] && ttl=2h
		printf 'endpoint: e%d\naccount: cn\nremote:\n  endpoint_id: 00000000-0000-4000-8000-%012d\nhosts: [e%d.example.cn]\ncache:\n  ignore_query_string: true\n  rules:\n    - dir: [/a/]\n      ttl: %s\n    - suffix: [jpg]\n      ttl: 1d\n' \
			"$i" "$i" "$i" "$ttl" >"$R/endpoints/e$i.yaml"
	done
	repo_commit "$R" fifty
	cd "$R"
	run cf plan --detailed-exitcode
	[ "$status" -eq 2 ]
	[[ "$output" == *"Plan: 1 endpoint to update (0 added, 1 changed, 0 removed, 0 moved)"* ]]
	: >"$FAKECDN_JOURNAL"
	run cf apply --first-run --yes --parallelism 16
	[ "$status" -eq 0 ]
	[ "$(journal_ops write_rules)" -eq 1 ]
	[ "$(changed_requests)" -eq 1 ]
	# 50 reads for the plan and one to confirm the written endpoint
	[ "$(journal_ops read_rules)" -eq 51 ]
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "two applies submit each purge once" {
	fakecdn_start "" --task-delay 20
	repo_init "$R"
	cd "$R"
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	local first
	first=$(journal_ops purge)
	[ "$first" -eq 5 ]
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	[ "$(journal_ops purge)" -eq "$first" ]
	[ "$(journal_ops preload)" -eq 1 ]
	run cf ledger list
	[ "$(grep -c ' succeeded ' <<<"$output")" -eq 5 ]
}

# Each round adds a purge and a rule change, kills an apply at a random moment, then re-runs
# it to completion: the re-run must converge, and a purge may be sent again only when the kill
# fell between the provider's acceptance and the ledger write (so at most twice).
@test "apply killed with SIGKILL 20 times: re-runs converge, no ledger record lost, no purge sent more than twice" {
	fakecdn_start "" --task-delay 30
	repo_init "$R" www
	cd "$R"
	local i pid
	for i in $(seq 1 20); do
		printf 'purge: iter-%d\nendpoints: [www]\nfiles: [/iter-%d.png]\n' "$i" "$i" >"purges/iter-$i.yaml"
		sed -i "s/^      ttl: 10m\$/      ttl: ${i}m/; s/^      ttl: $((i - 1))m\$/      ttl: ${i}m/" endpoints/www.yaml
		repo_commit "$R" "iteration $i"
		# the binary itself, not a shell function's subshell: the kill must reach the apply
		"$CACHEFORM" apply --first-run --yes >/dev/null 2>&1 &
		pid=$!
		sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", (r % 600) / 1000 }')"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run cf apply --first-run --yes
		assert_no_sanitizer
		[ "$status" -eq 0 ]
	done
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
	run cf ledger list
	for i in $(seq 1 20); do
		grep -Eq "^iter-$i +www +succeeded " <<<"$output"
		local n
		n=$(state_tasks_with "/iter-$i.png")
		[ "$n" -ge 1 ] && [ "$n" -le 2 ]
	done
}

@test "stale plan: an admin change between plan --out and apply PLAN exits 4 and writes nothing" {
	fakecdn_start "" --task-delay 20
	repo_init "$R" www
	cd "$R"
	run cf plan --out plan.json
	[ "$status" -eq 0 ]
	run admin_curl PUT "azure-china/$CN_EP/cacherules" '{"Rules":[{"Type":"Dir","Items":["/x/"],"TTL":60}],"IgnoreCacheControl":false,"IgnoreCookie":false,"IgnoreQueryString":true}'
	[ "$(http_status)" = 200 ]
	: >"$FAKECDN_JOURNAL"
	run cf apply plan.json --first-run
	[ "$status" -eq 4 ]
	[[ "$output" == *"stale plan: endpoint 'www' changed since the plan was made"* ]]
	[ "$(changed_requests)" -eq 0 ]
	# a fresh plan applies without --yes: the plan file is the confirmation
	run cf plan --out plan.json
	run cf apply plan.json --first-run
	[ "$status" -eq 0 ]
	[ "$(journal_ops write_rules)" -eq 1 ]
}

@test "a plan file whose repository changed is stale too" {
	fakecdn_start "" --task-delay 20
	repo_init "$R" www
	cd "$R"
	run cf plan --out plan.json
	sed -i 's/ttl: 10m/ttl: 11m/' endpoints/www.yaml
	: >"$FAKECDN_JOURNAL"
	run cf apply plan.json --first-run
	[ "$status" -eq 4 ]
	[[ "$output" == *"desired rules of endpoint 'www' changed"* ]]
	[ "$(changed_requests)" -eq 0 ]
}

@test "safety: removing 5 of 10 rules exits 3 without --force" {
	fakecdn_start "" --task-delay 20
	repo_init "$R" www
	cd "$R"
	local rules="" i
	for i in $(seq 1 10); do rules="$rules{\"Type\":\"Dir\",\"Items\":[\"/r$i/\"],\"TTL\":60},"; done
	run admin_curl PUT "azure-china/$CN_EP/cacherules" "{\"Rules\":[${rules%,}],\"IgnoreCacheControl\":false,\"IgnoreCookie\":true,\"IgnoreQueryString\":true}"
	[ "$(http_status)" = 200 ]
	{
		printf 'endpoint: www\naccount: cn\nremote:\n  endpoint_id: %s\nhosts: [www.example.cn]\n' "$CN_EP"
		printf 'cache:\n  ignore_cookie: true\n  ignore_query_string: true\n  rules:\n'
		for i in 1 2 3 4 5; do printf '    - dir: [/r%d/]\n      ttl: 1m\n' "$i"; done
	} >endpoints/www.yaml
	rm -f purges/*.yaml
	repo_commit "$R" shrink
	: >"$FAKECDN_JOURNAL"
	run cf apply --first-run --yes
	[ "$status" -eq 3 ]
	[[ "$output" == *"refusing: endpoint 'www' would remove, change or move 5 of its 10 rules (50%"*"--force"* ]]
	[ "$(changed_requests)" -eq 0 ]
	run cf plan --format json
	echo "$output" | jq -e '.endpoints[0].safety.exceeded and .endpoints[0].safety.percent == 50'
	run cf apply --first-run --yes --force
	[ "$status" -eq 0 ]
	[ "$(journal_ops write_rules)" -eq 1 ]
}

@test "without a terminal, apply needs --yes or a plan file" {
	fakecdn_start "" --task-delay 20
	repo_init "$R" www
	cd "$R"
	run cf apply </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"pass --yes or a plan file"* ]]
	[ "$(changed_requests)" -eq 0 ]
}

@test "a failed endpoint: stop (exit 1) or --keep-going (exit 5); a re-run finishes the rest" {
	fakecdn_start "" --task-delay 20
	repo_init "$R" www shop docs
	cd "$R"
	run admin_curl PATCH "azure-china/$CN_EP" '{"enabled": false}'
	[ "$(http_status)" = 200 ]
	run cf apply --first-run --yes
	[ "$status" -eq 1 ]
	# the provider's error is one line naming endpoint, operation, status and code, shown once
	[[ "$output" == *"FAILED        endpoint 'www' (azure-china): write cache rules: HTTP 409 EndpointNotInActiveState"* ]]
	[[ "$output" != *"cache rules: endpoint 'www'"* ]]
	[[ "$output" == *"not attempted purge '2026-11-24-cn-pics' on 'www'"* ]]
	# nothing starts after the failure: shop's purge waited for shop's write to be confirmed
	[[ "$output" == *"not attempted purge 'shop-logo-2026-11-21' on 'shop'"* ]]
	# docs has no rule write, so its purge went in the first round, alongside www's failing
	# write; it finishes and is recorded, and is not sent again
	[[ "$output" == *"done          purge '2026-11-22-docs-release' on 'docs'"* ]]
	[ "$(journal_ops purge)" -eq 1 ]
	run cf ledger list
	grep -Eq "^2026-11-22-docs-release +docs +succeeded " <<<"$output"
	run cf apply --first-run --yes --keep-going
	[ "$status" -eq 5 ]
	[[ "$output" == *"done          purge 'shop-logo-2026-11-21' on 'shop'"* ]]
	[[ "$output" != *"2026-11-22-docs-release"* ]]
	[ "$(journal_ops purge)" -eq 2 ]
	[[ "$output" == *"not attempted purge '2026-11-24-cn-pics' on 'www': the endpoint's rule write failed"* ]]
	run admin_curl PATCH "azure-china/$CN_EP" '{"enabled": true}'
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "--no-wait leaves purges submitted; the next apply waits for them without resubmitting" {
	fakecdn_start "" --task-delay 300
	repo_init "$R" docs
	cd "$R"
	run cf apply --first-run --yes --no-wait
	[ "$status" -eq 0 ]
	[[ "$output" == *"submitted (not waited for)"* ]]
	run cf ledger list
	[[ "$output" == *"2026-11-22-docs-release"*"submitted"* ]]
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	[ "$(journal_ops purge)" -eq 1 ]
	run cf ledger list
	[[ "$output" == *"2026-11-22-docs-release"*"succeeded"* ]]
}

@test "two concurrent applies on one repository lose no ledger record" {
	fakecdn_start "" --task-delay 20
	repo_init "$R" www docs
	cd "$R"
	local i
	for i in $(seq 1 12); do
		printf 'purge: c-%d\nendpoints: [www, docs]\nfiles: [/c-%d.png]\n' "$i" "$i" >"purges/c-$i.yaml"
	done
	repo_commit "$R" many
	cf apply --first-run --yes >"$BATS_TEST_TMPDIR/a.out" 2>&1 &
	local a=$!
	cf apply --first-run --yes >"$BATS_TEST_TMPDIR/b.out" 2>&1 &
	local b=$!
	wait "$a"
	wait "$b"
	run cf ledger list
	# 12 manifests x 2 endpoints + 2 example purges (logo is on shop too, not selected)
	for i in $(seq 1 12); do
		grep -Eq "^c-$i +www +succeeded " <<<"$output"
		grep -Eq "^c-$i +docs +succeeded " <<<"$output"
	done
	grep -Eq "^2026-11-22-docs-release +docs +succeeded " <<<"$output"
	grep -Eq "^2026-11-24-cn-pics +www +succeeded " <<<"$output"
	run cf plan --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "on a terminal apply asks, and only 'yes' applies" {
	command -v script >/dev/null || skip "script(1) not installed"
	fakecdn_start "" --task-delay 20
	repo_init "$R" docs
	cd "$R"
	run script -qec "$CACHEFORM apply --first-run" /dev/null <<<"no"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Only 'yes' is accepted"* ]]
	[[ "$output" == *"apply cancelled"* ]]
	[ "$(changed_requests)" -eq 0 ]
	run script -qec "$CACHEFORM apply --first-run" /dev/null <<<"yes"
	[ "$status" -eq 0 ]
	[ "$(journal_ops purge)" -eq 1 ]
}

@test "--timeout gives up waiting (exit 1, purge stays submitted); a re-run resumes without resubmitting" {
	fakecdn_start "" --task-delay 2500
	repo_init "$R" docs
	cd "$R"
	run cf apply --first-run --yes --timeout 1s
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAILED        purge '2026-11-22-docs-release' on 'docs': timed out waiting for the provider's task"* ]]
	run cf ledger list
	[[ "$output" == *"2026-11-22-docs-release"*"submitted"* ]]
	run cf apply --first-run --yes --timeout 1x
	[ "$status" -eq 129 ]
	run cf apply --first-run --yes
	[ "$status" -eq 0 ]
	[ "$(journal_ops purge)" -eq 1 ]
	run cf ledger show 2026-11-22-docs-release
	echo "$output" | jq -e '.status == "succeeded"'
}

@test "accounts of one rate domain share one token bucket: 0 answers 429 where two buckets overrun it" {
	# fakecdn's bucket (burst 3, 120/min) is the customer's; accounts pro and pro2 are two
	# names for one API user, each told the limit. Six purges at once: two buckets would send 6.
	jq '.settings.cdnpro_rate_per_minute = 120 | .settings.cdnpro_burst = 3' "$FAKECDN_EXAMPLE_STATE" >"$BATS_TEST_TMPDIR/s.json"
	fakecdn_start "$BATS_TEST_TMPDIR/s.json" --task-delay 0
	repo_init "$R" media
	rm -f "$R"/purges/*.yaml
	cat >>"$R/cacheform.yaml.new" <<Y
$(sed '/^safety:/,$d' "$R/cacheform.yaml" | sed 's/^  pro:$/  pro:\n    rate_limit: {per_minute: 120, burst: 3}/')
  pro2:
    provider: cdnpro
    user: $PRO_USER
    api_key: {env: CDNPRO_API_KEY}
    base_url: $FAKECDN_URL
    rate_limit: {per_minute: 120, burst: 3}
Y
	mv "$R/cacheform.yaml.new" "$R/cacheform.yaml"
	sed 's/^endpoint: media/endpoint: media2/; s/^account: pro/account: pro2/' "$R/endpoints/media.yaml" >"$R/endpoints/media2.yaml"
	for i in 1 2 3; do
		for ep in media media2; do
			printf 'purge: p-%s-%s\nendpoints: [%s]\nfiles: [https://media.example.com/%s-%s.png]\n' \
				"$ep" "$i" "$ep" "$ep" "$i" >"$R/purges/p-$ep-$i.yaml"
		done
	done
	repo_commit "$R" fleet
	cd "$R"
	run cf apply --first-run --yes
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(journal_ops purge provider=cdnpro)" -eq 6 ]
	[ "$(jq -c 'select(.status == 429)' "$FAKECDN_JOURNAL" | wc -l)" -eq 0 ]
}
