# Helpers for plan/apply/ledger tests: desired-state repositories pointed at fakecdn.
#
#   repo_init DIR [ENDPOINT...]   examples/ endpoints and purges (all, or the named endpoints
#                                 and the purges that only use them) + accounts on $FAKECDN_URL,
#                                 committed in a fresh git repository
#   repo_commit DIR [MSG]         commits every change in DIR
#   cf ARGS...                    runs cacheform with the example credentials in the environment
#   journal_ops OP                journal lines with that op (count)
load fakecdn_helpers

export AZURECDN_KEY_ID=$CN_KEY_ID AZURECDN_KEY_VALUE=$CN_KEY_VALUE
export AZURE_CLIENT_SECRET=$ARM_SECRET CDNPRO_API_KEY=$PRO_KEY
export NO_COLOR=1
# Retries back off quickly in tests; fakecdn's tasks finish fast.
export CACHEFORM_RETRY_SCALE=0.01

repo_settings() {
	cat <<Y
version: 1
accounts:
  cn:
    provider: azure-china
    subscription: $CN_SUB
    key_id: {env: AZURECDN_KEY_ID}
    key_value: {env: AZURECDN_KEY_VALUE}
    base_url: $FAKECDN_URL
  global:
    provider: azure
    subscription: $ARM_SUB
    tenant: $ARM_TENANT
    client_id: $ARM_CLIENT
    client_secret: {env: AZURE_CLIENT_SECRET}
    base_url: $FAKECDN_URL
    login_url: $FAKECDN_URL
  pro:
    provider: cdnpro
    user: $PRO_USER
    api_key: {env: CDNPRO_API_KEY}
    base_url: $FAKECDN_URL
safety:
  max_change_pct: 30
  min_rules: 5
Y
}

repo_commit() {
	git -C "$1" add -A
	git -C "$1" -c user.name=test -c user.email=test@example.com commit -qm "${2:-change}" --allow-empty
}

repo_init() {
	local dir=$1
	shift
	mkdir -p "$dir/endpoints" "$dir/purges"
	git init -q "$dir"
	repo_settings >"$dir/cacheform.yaml"
	if [ $# -eq 0 ]; then
		cp "$TOP"/examples/endpoints/*.yaml "$dir/endpoints/"
		cp "$TOP"/examples/purges/*.yaml "$dir/purges/"
	else
		local ep p
		for ep in "$@"; do cp "$TOP/examples/endpoints/$ep.yaml" "$dir/endpoints/"; done
		for p in "$TOP"/examples/purges/*.yaml; do
			local ok=1 e
			for e in $(sed -n 's/^endpoints: \[\(.*\)\]/\1/p' "$p" | tr ',' ' '); do
				[ -f "$dir/endpoints/$e.yaml" ] || ok=0
			done
			[ $ok = 1 ] && cp "$p" "$dir/purges/"
		done
	fi
	repo_commit "$dir" init
}

cf() {
	"$CACHEFORM" "$@"
}

journal_ops() {
	journal_count "$@"
}

# ledger_rec ID ENDPOINT: the purge record's path on refs/cacheform/ledger (v2 fan-out layout,
# README "The ledger").
# ledger_cat [GIT_OPTION...] ID ENDPOINT: prints the purge record (v2 layout, any fan-out).
ledger_cat() {
	local id=${*: -2:1} ep=${*: -1} p
	set -- "${@:1:$#-2}"
	p=$(git "$@" ls-tree -r --name-only refs/cacheform/ledger | grep -m1 -x "v2/purges/../../$id/$ep[.]json") || return 1
	git "$@" cat-file -p "refs/cacheform/ledger:$p"
}

ledger_rec() {
	git ls-tree -r --name-only refs/cacheform/ledger | grep -m1 -x "v2/purges/../../$1/$2[.]json"
}

# set_faults JSON: sets fakecdn's fault knobs (admin API); fails when it refuses them.
set_faults() {
	run admin_curl POST faults "$1"
	[ "$(http_status)" = 200 ] || { echo "fakecdn refused knobs $1: $output" >&2; return 1; }
}

# bounded CMD...: cacheform under $RUN_LIMIT (set by the test file); no hang, no sanitizer
# report. faults.bats defines a stricter one (documented exit codes, an error line).
bounded() {
	run timeout -k 5 "$RUN_LIMIT" "$CACHEFORM" "$@"
	assert_no_sanitizer
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		echo "cacheform $* did not finish within ${RUN_LIMIT}s" >&2
		return 1
	fi
}
