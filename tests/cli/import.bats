#!/usr/bin/env bats
# cacheform import against fakecdn: the written file validates and plans to no change.
load gitops_helpers
load fakecdn_helpers

setup() {
	fakecdn_start
	R="$BATS_TEST_TMPDIR/repo"
	gitops_repo "$R" "$FAKECDN_URL"
	git -C "$R" rm -q -r purges endpoints/www.yaml
	gitops_commit "$R" "only img"
	export AZURECDN_KEY_ID=$CN_KEY_ID AZURECDN_KEY_VALUE=$CN_KEY_VALUE
}

teardown() {
	fakecdn_stop
}

azure_repo() {
	cat >>"$R/cacheform.yaml" <<YAML
  global:
    provider: azure
    subscription: {env: AZURE_SUBSCRIPTION_ID}
    tenant: {env: AZURE_TENANT_ID}
    client_id: {env: AZURE_CLIENT_ID}
    client_secret: {env: AZURE_CLIENT_SECRET}
    base_url: $FAKECDN_URL
    login_url: $FAKECDN_URL
YAML
	export AZURE_SUBSCRIPTION_ID=$ARM_SUB AZURE_TENANT_ID=$ARM_TENANT AZURE_CLIENT_ID=$ARM_CLIENT \
		AZURE_CLIENT_SECRET=$ARM_SECRET
}

@test "import: an azure-china endpoint round-trips: plan right after shows no change" {
	run "$CACHEFORM" import --repo "$R" --account cn --remote "endpoint_id=$CN_EP" --name www --host www.example.cn
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote endpoints/www.yaml: 4 rules from azure-china account 'cn'"* ]]
	grep -q '^    - dir: \[/pic/, /doc/\]$' "$R/endpoints/www.yaml"
	grep -q '^      ttl: 30d$' "$R/endpoints/www.yaml"
	run "$CACHEFORM" validate --repo "$R"
	[ "$status" -eq 0 ]
	run "$CACHEFORM" plan --repo "$R" -e www --detailed-exitcode
	echo "$output"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	[ "$(journal_count write_rules)" -eq 0 ]
}

@test "import: the round trip holds after a console edit of the live rules" {
	body='{"Rules":[{"Type":"Suffix","Items":["7z","true","a#b"],"TTL":90},{"Type":"Dir","Items":["/"],"TTL":93784}],"IgnoreCacheControl":true,"IgnoreCookie":true,"IgnoreQueryString":false}'
	run admin_curl PUT "azure-china/$CN_EP/cacherules" "$body"
	[ "$(http_status)" = 200 ]
	run "$CACHEFORM" import --repo "$R" --account cn --remote "endpoint_id=$CN_EP" --name www --host www.example.cn
	[ "$status" -eq 0 ]
	cat "$R/endpoints/www.yaml"
	grep -q "suffix: \['7z', 'true', 'a#b'\]" "$R/endpoints/www.yaml"
	grep -q '^      ttl: 1d2h3m4s$' "$R/endpoints/www.yaml"
	run "$CACHEFORM" plan --repo "$R" -e www --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "import: an azure endpoint keeps rule names and leaves foreign delivery rules alone" {
	azure_repo
	run "$CACHEFORM" import --repo "$R" --account global --remote resource_group=web-rg \
		--remote profile=web-cdn --remote endpoint=shop
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"(1 foreign delivery rule left at the provider)"* ]]
	grep -q '^hosts: \[shop.azureedge.net\]$' "$R/endpoints/shop.yaml"
	grep -q '^      name: noCacheCheckout$' "$R/endpoints/shop.yaml"
	! grep -q 'ignore_cookie' "$R/endpoints/shop.yaml" || false
	run "$CACHEFORM" plan --repo "$R" -e shop --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "import: never overwrites a file, a name or a remote the repository has" {
	run "$CACHEFORM" import --repo "$R" --account cn --remote "endpoint_id=$CN_EP" --name img --host a.example.cn
	[ "$status" -eq 1 ]
	[[ "$output" == *"endpoint 'img' already exists"* ]]
	run "$CACHEFORM" import --repo "$R" --account cn --remote endpoint_id=2b6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93 --name other --host a.example.cn
	[ "$status" -eq 1 ]
	[[ "$output" == *"endpoints/img.yaml already manages that remote endpoint"* ]]
	echo "# hand-written" >"$R/endpoints/www.yaml.keep"
	cp "$R/endpoints/www.yaml.keep" "$R/endpoints/www.yaml"
	run "$CACHEFORM" import --repo "$R" --account cn --remote "endpoint_id=$CN_EP" --name www --host www.example.cn
	[ "$status" -eq 1 ]
	cmp "$R/endpoints/www.yaml" "$R/endpoints/www.yaml.keep"
	[ "$(journal_count read_rules)" -eq 0 ]
}

@test "import: an endpoint the provider does not have is an error and writes nothing" {
	run "$CACHEFORM" import --repo "$R" --account cn --remote endpoint_id=00000000-0000-4000-8000-000000000000 --name ghost --host g.example.cn
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	[ ! -e "$R/endpoints/ghost.yaml" ]
}

@test "import: command-line mistakes" {
	run "$CACHEFORM" import --repo "$R" --account cn
	[ "$status" -eq 129 ]
	run "$CACHEFORM" import --repo "$R" --account nope --remote endpoint_id=x --name a --host h
	[ "$status" -eq 1 ]
	[[ "$output" == *"unknown account 'nope'"* ]]
	run "$CACHEFORM" import --repo "$R" --account cn --remote profile=x --name a --host h
	[ "$status" -eq 1 ]
	[[ "$output" == *"--remote 'profile=x'"* ]]
	run "$CACHEFORM" import --repo "$R" --account cn --remote "endpoint_id=$CN_EP" --host h
	[ "$status" -eq 1 ]
	[[ "$output" == *"--name NAME is required"* ]]
	run "$CACHEFORM" import --repo "$R" --account cn --remote "endpoint_id=$CN_EP" --name www
	[ "$status" -eq 1 ]
	[[ "$output" == *"--host HOST is required"* ]]
	[ "$(journal_count read_rules)" -eq 0 ]
}

@test "import: --name that is a path or a hidden file is refused, nothing is written" {
	local n
	for n in ../../x ../x x/y .x "" "-x"; do
		run "$CACHEFORM" import --repo "$R" --account cn --remote "endpoint_id=$CN_EP" --name "$n" --host www.example.cn
		assert_no_sanitizer
		[ "$status" -eq 1 ]
		[[ "$output" == *"--name '$n' must be 1 to 128 letters"* ]]
	done
	[ ! -e "$BATS_TEST_TMPDIR/x.yaml" ]
	[ ! -e "$R/x.yaml" ]
	[ -z "$(ls -A "$R/endpoints" | grep -v '^img.yaml$')" ]
}

@test "import: an existing endpoints/NAME.yaml symlink is refused, its target untouched" {
	echo keep >"$BATS_TEST_TMPDIR/victim"
	ln -s "$BATS_TEST_TMPDIR/victim" "$R/endpoints/www.yaml"
	run "$CACHEFORM" import --repo "$R" --account cn --remote "endpoint_id=$CN_EP" --name www --host www.example.cn
	assert_no_sanitizer
	[ "$status" -eq 1 ]
	[ "$(cat "$BATS_TEST_TMPDIR/victim")" = keep ]
	[ -L "$R/endpoints/www.yaml" ]
}

@test "import: an azure list that mixes Override and SetIfMissing round-trips per rule" {
	azure_repo
	ARM_TOKEN=$(arm_token)
	local ep=/subscriptions/$ARM_SUB/resourceGroups/web-rg/providers/Microsoft.Cdn/profiles/web-cdn/endpoints/shop
	local cond='"negateCondition":false,"transforms":[]'
	local ptype='"typeName":"DeliveryRuleCacheExpirationActionParameters","cacheType":"All"'
	ARM_TOKEN=$ARM_TOKEN run arm_curl PATCH "$ep?api-version=2024-09-01" '{"properties":{"queryStringCachingBehavior":"NotSet","deliveryPolicy":{"rules":[
	 {"name":"cacheform1","order":1,"conditions":[{"name":"UrlPath","parameters":{"typeName":"DeliveryRuleUrlPathMatchConditionParameters","operator":"BeginsWith","matchValues":["/"],'"$cond"'}}],"actions":[{"name":"CacheExpiration","parameters":{'"$ptype"',"cacheBehavior":"SetIfMissing","cacheDuration":"00:10:00"}}]},
	 {"name":"cacheform2","order":2,"conditions":[{"name":"UrlPath","parameters":{"typeName":"DeliveryRuleUrlPathMatchConditionParameters","operator":"BeginsWith","matchValues":["/img/"],'"$cond"'}}],"actions":[{"name":"CacheExpiration","parameters":{'"$ptype"',"cacheBehavior":"Override","cacheDuration":"1.00:00:00"}}]},
	 {"name":"cacheform3","order":3,"conditions":[{"name":"UrlPath","parameters":{"typeName":"DeliveryRuleUrlPathMatchConditionParameters","operator":"BeginsWith","matchValues":["/css/"],'"$cond"'}}],"actions":[{"name":"CacheExpiration","parameters":{'"$ptype"',"cacheBehavior":"SetIfMissing","cacheDuration":"01:00:00"}}]}]}}}'
	[[ "$output" == *"HTTP 20"* ]]
	run "$CACHEFORM" import --repo "$R" --account global --remote resource_group=web-rg \
		--remote profile=web-cdn --remote endpoint=shop
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 0 ]
	cat "$R/endpoints/shop.yaml"
	# the block takes the majority (SetIfMissing); only the Override rule says otherwise
	grep -q '^  ignore_cache_control: false$' "$R/endpoints/shop.yaml"
	[ "$(grep -c '^      ignore_cache_control: true$' "$R/endpoints/shop.yaml")" -eq 1 ]
	grep -B2 '^      ignore_cache_control: true$' "$R/endpoints/shop.yaml" | grep -q 'dir: \[/img/\]'
	# NotSet is the service default: ignore query strings
	grep -q '^  ignore_query_string: true$' "$R/endpoints/shop.yaml"
	run "$CACHEFORM" plan --repo "$R" -e shop --detailed-exitcode
	echo "$output"
	assert_no_sanitizer
	[ "$status" -eq 0 ]
	# flipping the one rule is one change, written as one Override -> SetIfMissing
	sed -i 's/^      ignore_cache_control: true$/      ignore_cache_control: false/' "$R/endpoints/shop.yaml"
	gitops_commit "$R" "honour the origin on /img/"
	run "$CACHEFORM" plan --repo "$R" -e shop --detailed-exitcode
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"dir /img/  ttl 1d  ignore_cache_control false  (origin Cache-Control handling changes)"* ]]
	run "$CACHEFORM" apply --repo "$R" -e shop --yes
	echo "$output"
	[ "$status" -eq 0 ]
	ARM_TOKEN=$ARM_TOKEN run arm_curl GET "$ep?api-version=2024-09-01"
	[[ "$output" != *'"Override"'* ]]
	run "$CACHEFORM" plan --repo "$R" -e shop --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "import --all: every listed endpoint the repository lacks, in one run, planning clean" {
	run "$CACHEFORM" import --repo "$R" --account cn --all
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote endpoints/www.example.cn.yaml: 4 rules from azure-china account 'cn'"* ]]
	[[ "$output" == *"imported "*" skipped "* ]]
	grep -q '^hosts: \[www.example.cn\]$' "$R/endpoints/www.example.cn.yaml"
	[ "$(journal_count list_endpoints)" -eq 1 ]
	git -C "$R" add -A
	gitops_commit "$R" "import --all"
	run "$CACHEFORM" plan --repo "$R" --detailed-exitcode --no-purges
	echo "$output"
	[ "$status" -eq 0 ]
	# a second run finds them all managed and writes nothing
	run "$CACHEFORM" import --repo "$R" --account cn --all
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"imported nothing"* ]]
	[[ "$output" != *"wrote "* ]]
}

@test "import --all on azure: profiles, then each profile's endpoints; --all refuses --remote" {
	azure_repo
	run "$CACHEFORM" import --repo "$R" --account global --all
	assert_no_sanitizer
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote endpoints/shop.yaml"* ]]
	[ "$(journal_count list_profiles)" -eq 1 ]
	[ "$(journal_count list_endpoints)" -ge 1 ]
	run "$CACHEFORM" plan --repo "$R" -e shop --detailed-exitcode --no-purges
	[ "$status" -eq 0 ]
	run "$CACHEFORM" import --repo "$R" --account global --all --remote endpoint=x
	[ "$status" -eq 129 ] || [ "$status" -eq 2 ]
	[[ "$output" == *"--all takes the remotes"* ]]
	# --parallelism as asked, up to the documented 1024; above it an error, never a clamp
	run "$CACHEFORM" import --repo "$R" --account global --all --parallelism 1025
	[ "$status" -eq 129 ]
	[[ "$output" == *"--parallelism 1025: at most 1024"* ]]
	run "$CACHEFORM" import --repo "$R" --account global --all --parallelism 1024
	[ "$status" -eq 0 ]
	[[ "$output" == *"imported nothing"* ]]
}
