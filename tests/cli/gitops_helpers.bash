# Helpers for the GitOps command tests (diff, drift, import): a small desired-state
# repository in a fresh git repo, independent of examples/.
load helpers

GIT_ID=(-c user.name=cacheform-test -c user.email=test@example.com -c commit.gpgsign=false)

# Writes a two-endpoint azure-china repository into $1 and commits it as "base".
# $2 (optional) is the account's base_url.
gitops_repo() {
	local dir=$1 url=${2:-}
	mkdir -p "$dir/endpoints" "$dir/purges"
	{
		echo "version: 1"
		echo "accounts:"
		echo "  cn:"
		echo "    provider: azure-china"
		echo "    subscription: e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb"
		echo "    key_id: {env: AZURECDN_KEY_ID}"
		echo "    key_value: {env: AZURECDN_KEY_VALUE}"
		if [ -n "$url" ]; then echo "    base_url: $url"; fi
	} >"$dir/cacheform.yaml"
	cat >"$dir/endpoints/www.yaml" <<'YAML'
endpoint: www
account: cn
remote:
  endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a611
hosts: [www.example.cn]
cache:
  ignore_query_string: true
  rules:
    - path: [/index.html]
      ttl: 0
    - dir: [/pic/, /doc/]
      ttl: 1d
    - suffix: [jpg, png]
      ttl: 30d
YAML
	cat >"$dir/endpoints/img.yaml" <<'YAML'
endpoint: img
account: cn
remote:
  endpoint_id: 2b6a1f0e-3c44-4d8e-9a51-7f1d0c2e4b93
hosts: [img.example.cn]
mode: observe
cache:
  rules:
    - suffix: [webp]
      ttl: 7d
YAML
	cat >"$dir/purges/2026-11-21-logo.yaml" <<'YAML'
purge: 2026-11-21-logo
endpoints: [www]
files: [/logo.png]
YAML
	git -C "$dir" init -q -b main
	git -C "$dir" add -A
	git "${GIT_ID[@]}" -C "$dir" commit -q -m base
}

# Commits everything in $1 with message $2.
gitops_commit() {
	git -C "$1" add -A
	git "${GIT_ID[@]}" -C "$1" commit -q -m "$2"
}
