#!/usr/bin/env bats
# schema/cacheform.schema.json (for yaml-language-server) agrees with the examples and rejects
# what cacheform rejects, checked by a real validator: ajv-cli, which reads YAML data files.
load helpers

SCHEMA_NPM_PKGS="ajv-cli@5.0.0 ajv-formats@2.1.1"

setup_file() {
	# A prefix of its own under tests/.npm, so other suites' --no-save installs are untouched.
	export SCHEMA_NPM="$TOP/tests/.npm/schema"
	local stamp="$SCHEMA_NPM/.installed"
	if [ "$(cat "$stamp" 2>/dev/null)" != "$SCHEMA_NPM_PKGS" ]; then
		mkdir -p "$SCHEMA_NPM"
		# shellcheck disable=SC2086
		npm install --prefix "$SCHEMA_NPM" --ignore-scripts --no-audit --no-fund --no-save \
			--loglevel=error $SCHEMA_NPM_PKGS >&3 2>&1 || return 1
		echo "$SCHEMA_NPM_PKGS" >"$stamp"
	fi
}

ajv() {
	"$SCHEMA_NPM/node_modules/.bin/ajv" validate -c ajv-formats --errors=text \
		-s "$TOP/schema/cacheform.schema.json" "$@"
}

@test "schema: every file under examples/ is valid" {
	args=()
	for f in "$TOP"/examples/cacheform.yaml "$TOP"/examples/endpoints/*.yaml "$TOP"/examples/purges/*.yaml; do
		args+=(-d "$f")
	done
	[ "${#args[@]}" -ge 20 ]
	run ajv "${args[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c ' valid$' <<<"$output")" -eq $((${#args[@]} / 2)) ]
}

@test "schema: rejects what validate rejects at the YAML level" {
	d="$BATS_TEST_TMPDIR"
	printf 'endpoint: x\naccount: cn\ncolour: 1\n' >"$d/unknown.yaml"
	printf 'endpoint: x\naccount: cn\ncache: {ignore_cookie: "true"}\n' >"$d/quoted-bool.yaml"
	printf 'endpoint: x\naccount: cn\ncache: {rules: [{dir: [/a/], path: [/b], ttl: 1}]}\n' >"$d/two-kinds.yaml"
	printf 'endpoint: x\naccount: cn\ncache: {rules: [{dir: [/a/], ttl: 1x}]}\n' >"$d/bad-ttl.yaml"
	printf 'version: 1\naccounts: {c: {provider: azure, client_secret: literal}}\n' >"$d/literal-secret.yaml"
	printf 'purge: p\nfiles: [/a]\n' >"$d/no-endpoints.yaml"
	for f in "$d"/*.yaml; do
		run ajv -d "$f"
		echo "$f: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"invalid"* ]]
	done
}
