#!/usr/bin/env bats
# The man page (cmd/cacheform/cacheform.1) and bash completion (cmd/cacheform/cacheform.bash):
# both render or load cleanly and both match the options the binary really has.
load gitops_helpers

MAN="$TOP/cmd/cacheform/cacheform.1"
COMPLETION="$TOP/cmd/cacheform/cacheform.bash"

# Commands and options from the binary's own help.
commands() {
	"$CACHEFORM" help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p'
}
help_options() {
	"$CACHEFORM" help "$1" | grep -oE '^ +(-[a-z], )?--[a-z-]+' | grep -oE -- '-[a-z]\b|--[a-z-]+'
}

@test "man: groff renders the page with no warning" {
	run groff -man -Tutf8 -ww -z "$MAN"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run env MANWIDTH=80 man -l "$MAN"
	[ "$status" -eq 0 ]
	for s in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES; do
		[[ "$output" == *"$s"* ]]
	done
	[[ "$output" == *"CACHEFORM_DEBUG"* && "$output" == *"NO_COLOR"* ]]
	[[ "$output" == *"refs/cacheform/ledger"* ]]
}

@test "man: every command has a synopsis and every option of the binary is documented" {
	run commands
	[ "${#lines[@]}" -ge 8 ]
	for c in "${lines[@]}"; do
		grep -q "^\.SY \"cacheform $c\"" "$MAN" || { echo "no synopsis for $c"; return 1; }
		for o in $(help_options "$c"); do
			esc=${o//-/\\-}
			grep -qF -- "$esc" "$MAN" || { echo "man page lacks $o of $c"; return 1; }
		done
	done
}

@test "man: every option in a synopsis exists in the binary" {
	for c in $(commands); do
		syn=$(sed -n "/^\.SY \"cacheform $c\"/,/^\.YS/p" "$MAN" | grep -oE '\\-\\-[a-z\\-]+|^\.OP \\-[a-z]\b' | sed 's/^\.OP //; s/\\//g')
		for o in $syn; do
			[ "$o" = "-e" ] && continue # the -e NAME form is shown for --endpoint
			help_options "$c" | grep -qxF -- "$o" || { echo "$c has no $o"; return 1; }
		done
	done
}

@test "man: the exit codes are the ones cacheform help prints" {
	for code in 0 1 2 3 4 5 129; do
		grep -qx "\.B $code" "$MAN"
	done
	run "$CACHEFORM" help
	for code in 0 1 2 3 4 5; do
		[[ "$output" == *"  $code  "* ]]
	done
}

# complete WORDS...: runs the completion for the command line WORDS (the last is the one
# being completed) and prints COMPREPLY sorted, space-separated.
complete_line() {
	# shellcheck disable=SC1090
	source "$COMPLETION"
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_cacheform
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

@test "completion: loads cleanly and registers itself" {
	run bash -c "source '$COMPLETION' && complete -p cacheform"
	[ "$status" -eq 0 ]
	[[ "$output" == "complete -F _cacheform cacheform" ]]
}

@test "completion: commands, options and --format values" {
	run complete_line cacheform d
	[ "$output" = "diff drift" ]
	run complete_line cacheform drift --s
	[ "$output" = "--shard" ]
	run complete_line cacheform diff --format ""
	[ "$output" = "json markdown text" ]
	run complete_line cacheform validate --format ""
	[ "$output" = "github json sarif text" ]
	run complete_line cacheform help i
	[ "$output" = "import" ]
}

@test "completion: endpoint, account and purge names come from the --repo directory" {
	R="$BATS_TEST_TMPDIR/repo"
	gitops_repo "$R"
	sed 's/endpoint: img/endpoint: images-eu/' "$R/endpoints/img.yaml" >"$R/endpoints/other-file.yaml"
	run complete_line cacheform plan --repo "$R" -e ""
	[ "$output" = "images-eu img www" ]
	run complete_line cacheform drift --repo "$R" --endpoint i
	[ "$output" = "images-eu img" ]
	run complete_line cacheform import --repo "$R" --account ""
	[ "$output" = "cn" ]
	run complete_line cacheform ledger --repo "$R" ""
	[ "$output" = "list mark show" ]
	run complete_line cacheform ledger show --repo "$R" ""
	[ "$output" = "2026-11-21-logo" ]
	run complete_line cacheform ledger --repo "$R" mark 2026
	[ "$output" = "2026-11-21-logo" ]
	cd "$R"
	run complete_line cacheform ledger show 2026
	[ "$output" = "2026-11-21-logo" ]
	git -C "$R" branch feature/ttl
	run complete_line cacheform diff --base f
	[ "$output" = "feature/ttl" ]
}

@test "completion: each command's options are exactly the binary's" {
	# shellcheck disable=SC1090
	source "$COMPLETION"
	for c in $(commands); do
		[ "$c" = version ] || [ "$c" = help ] && continue
		want=$( (help_options "$c"; echo --help) | sort -u | tr '\n' ' ')
		got=$(printf '%s\n' $(_cacheform_options "$c") | sort -u | tr '\n' ' ')
		[ "$want" = "$got" ] || { echo "$c: binary has [$want], completion [$got]"; return 1; }
	done
}
