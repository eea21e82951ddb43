#!/usr/bin/env bats
# cacheform explain against fakecdn: which desired rule decides a path, what the live rules do
# under the provider's semantics, and whether they agree; the azure order fix end to end.
load helpers
load reconcile_helpers

setup() {
	fakecdn_start "" --task-delay 20
	R=$BATS_TEST_TMPDIR/repo
	repo_init "$R"
	cd "$R"
}

teardown() {
	fakecdn_stop
}

@test "explain: the desired rule (file:line) and TTL, offline, for paths and URLs" {
	run cf explain /pic/a.jpg https://docs.example.com/_static/A.HTML
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"www (azure-china) /pic/a.jpg: rule 2 (endpoints/www.yaml:16), cached 1d when the origin sends no Cache-Control"* ]]
	[[ "$output" == *"docs (azure) /_static/A.HTML: rule 1 (endpoints/docs.yaml:13), cached 1h"* ]]
	# a URL goes to the endpoints that serve its host only
	[[ "$output" != *"www (azure-china) /_static/A.HTML"* ]]
	# /pic is a directory: /picture.png falls through to dir /
	run cf explain -e www /picture.txt /pic/x.txt /index.html
	[[ "$output" == *"/picture.txt: rule 5 (endpoints/www.yaml:22), cached 10m"* ]]
	[[ "$output" == *"/pic/x.txt: rule 2 (endpoints/www.yaml:16), cached 1d"* ]]
	[[ "$output" == *"/index.html: rule 1 (endpoints/www.yaml:14), not cached"* ]]
	# no network without --live
	[ "$(journal_ops read_rules)" -eq 0 ]
	run cf explain --format json -e shop /nothing /checkout.html
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.format_version == 1 and (.results | length) == 2'
	echo "$output" | jq -e '.results[0].desired == {"rule": null, "ttl": null, "cached": null, "mode": "origin"}'
	echo "$output" | jq -e '.results[1].desired.rule == {"file": "endpoints/shop.yaml", "line": 14, "index": 1} and .results[1].desired.cached == false'
	echo "$output" | jq -e '.results[0] | has("live") | not'
	run cf explain relative/path
	[ "$status" -eq 129 ]
	[[ "$output" == *"is not a path"* ]]
}

@test "explain --live: provider semantics on what was read, agreement, and agreement after apply" {
	run cf explain --live -e www /pic/a.jpg /x.css
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"/pic/a.jpg: rule 2 (endpoints/www.yaml:16), cached 1d"*"  live: rule 2, cached 1h when the origin sends no Cache-Control: DIFFERS from the desired rules"* ]]
	[ "$(journal_ops read_rules)" -eq 1 ]
	run cf explain --live --format json -e www /pic/a.jpg
	echo "$output" | jq -e '.results[0].agree == false and .results[0].live.ttl == 3600 and .results[0].desired.ttl == 86400'
	# docs: the stored rules act in order, the last match wins; they agree with the YAML
	run cf explain --live https://docs.example.com/_static/page.html https://docs.example.com/_static/app.js
	[[ "$output" == *"/_static/page.html: rule 1 "*"live: delivery rule 'cacheform1' (order 2), cached 1h"*": agrees"* ]]
	[[ "$output" == *"/_static/app.js: rule 2 "*"live: delivery rule 'cacheform2' (order 1), cached 1d12h"*": agrees"* ]]
	run cf apply --yes --first-run -e www --no-wait
	[ "$status" -eq 0 ]
	run cf explain --live --format json -e www /pic/a.jpg /index.html /a/b.PNG /picture.png
	echo "$output" | jq -e '[.results[].agree] == [true, true, true, true]'
}

@test "azure: the YAML's first rule acts last; a live list in YAML order is a change, then agrees" {
	cat >"$R/endpoints/docs.yaml" <<'Y'
endpoint: docs
account: global
remote: {resource_group: docs-rg, profile: docs-cdn, endpoint: docs}
hosts: [docs.example.com]
cache:
  ignore_query_string: true
  rules:
    - path: [/index.html]
      ttl: 0
    - dir: [/]
      ttl: 10m
Y
	repo_commit "$R"
	run cf apply --yes --first-run -e docs
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	# written in reverse: dir / (order 1) runs first, the BypassCache rule overwrites it
	run cf explain --live -e docs /index.html /a.html
	[[ "$output" == *"/index.html: rule 1 (endpoints/docs.yaml:8), not cached"*"live: delivery rule 'cacheform1' (order 2), not cached: agrees"* ]]
	[[ "$output" == *"/a.html: rule 2 (endpoints/docs.yaml:10), cached 10m"*"live: delivery rule 'cacheform2' (order 1), cached 10m"*": agrees"* ]]
	run cf plan -e docs --detailed-exitcode --no-purges
	[ "$status" -eq 0 ]
	# someone stores the rules in YAML order (what cacheform used to write): /index.html is
	# then cached for 10 minutes, and plan says so
	ARM_TOKEN=$(arm_token)
	local ep=/subscriptions/$ARM_SUB/resourceGroups/docs-rg/providers/Microsoft.Cdn/profiles/docs-cdn/endpoints/docs
	local cond='"negateCondition":false,"transforms":[]'
	ARM_TOKEN=$ARM_TOKEN run arm_curl PATCH "$ep?api-version=2024-09-01" '{"properties":{"queryStringCachingBehavior":"IgnoreQueryString","deliveryPolicy":{"rules":[
	 {"name":"cacheform1","order":1,"conditions":[{"name":"UrlPath","parameters":{"typeName":"DeliveryRuleUrlPathMatchConditionParameters","operator":"Equal","matchValues":["/index.html"],'"$cond"'}}],"actions":[{"name":"CacheExpiration","parameters":{"typeName":"DeliveryRuleCacheExpirationActionParameters","cacheBehavior":"BypassCache","cacheType":"All"}}]},
	 {"name":"cacheform2","order":2,"conditions":[{"name":"UrlPath","parameters":{"typeName":"DeliveryRuleUrlPathMatchConditionParameters","operator":"BeginsWith","matchValues":["/"],'"$cond"'}}],"actions":[{"name":"CacheExpiration","parameters":{"typeName":"DeliveryRuleCacheExpirationActionParameters","cacheBehavior":"SetIfMissing","cacheType":"All","cacheDuration":"00:10:00"}}]}]}}}'
	[[ "$output" == *"HTTP 20"* ]]
	run cf explain --live -e docs /index.html
	[[ "$output" == *"live: delivery rule 'cacheform2' (order 2), cached 10m"*"DIFFERS from the desired rules"* ]]
	run cf plan -e docs --detailed-exitcode --no-purges
	[ "$status" -eq 2 ]
	# the plan says what a request would see change, not only which rules move
	[[ "$output" == *"behaviour: e.g. /index.html: cached 10m if origin sends none -> not cached"* ]]
	run cf apply --yes --first-run -e docs
	[ "$status" -eq 0 ]
	run cf explain --live --format json -e docs /index.html /x
	echo "$output" | jq -e '[.results[].agree] == [true, true]'
}

@test "plan: a live list that only differs in spelling and order is no change and no write" {
	# www's live rules made equal in behaviour but with items reordered inside rules
	run cf apply --yes --first-run -e www
	[ "$status" -eq 0 ]
	sed -i 's|\[/pic/, /doc/\]|[/doc, /pic]|; s|\[jpg, png, webp, svg\]|[SVG, webp, png, jpg]|' "$R/endpoints/www.yaml"
	repo_commit "$R"
	: >"$FAKECDN_JOURNAL"
	run cf plan -e www --detailed-exitcode --no-purges
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"www (azure-china, account cn): no changes"* ]]
	run cf apply --yes --first-run -e www
	[ "$status" -eq 0 ]
	[ "$(journal_ops write_rules)" -eq 0 ]
	[ "$(journal_ops read_rules)" -eq 2 ]
}

@test "plan --urls: the listed paths whose caching the plan changes, in every format" {
	printf '# paths to watch\n/pic/a.jpg\n/index.html\n\nhttps://docs.example.com/x.html\nhttps://www.example.cn/doc/d.txt\n' >"$BATS_TEST_TMPDIR/urls"
	run cf plan --no-purges --urls "$BATS_TEST_TMPDIR/urls"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[[ "$output" == *"Paths whose caching changes (--urls):"* ]]
	[[ "$output" == *"  www /pic/a.jpg: cached 1h if origin sends none -> cached 1d if origin sends none"* ]]
	[[ "$output" == *"  www /doc/d.txt: cached 1h if origin sends none -> cached 1d if origin sends none"* ]]
	[[ "$output" != *"/index.html: "* ]]
	[[ "$output" != *"docs /x.html"* ]]
	run cf plan --no-purges --format json --urls "$BATS_TEST_TMPDIR/urls"
	echo "$output" | jq -e '[.url_effects[] | select(.endpoint == "www")] | length == 2'
	echo "$output" | jq -e '.url_effects[0] == {"endpoint": "www", "path": "/pic/a.jpg", "before": {"mode": "if_missing", "ttl": 3600}, "after": {"mode": "if_missing", "ttl": 86400}}'
	run cf plan --no-purges --format markdown --urls "$BATS_TEST_TMPDIR/urls"
	[[ "$output" == *"| Endpoint | Path | Before | After |"* ]]
	[[ "$output" == *"| www | /pic/a.jpg | cached 1h if origin sends none | cached 1d if origin sends none |"* ]]
	run cf plan --no-purges --format github --urls "$BATS_TEST_TMPDIR/urls"
	[[ "$output" == *"::notice title=cacheform behaviour::www /pic/a.jpg: cached 1h if origin sends none -> cached 1d if origin sends none"* ]]
	# without --urls nothing changes in the output; a bad entry is named with its line
	run cf plan --no-purges --format json
	echo "$output" | jq -e 'has("url_effects") | not'
	printf '/ok\nnot a path\n' >"$BATS_TEST_TMPDIR/bad"
	run cf plan --urls "$BATS_TEST_TMPDIR/bad"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad:2: 'not a path' is not a path or http(s) URL"* ]]
}
