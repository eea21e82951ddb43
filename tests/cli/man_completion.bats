#!/usr/bin/env bats
# The man page (cmd/cacheform/cacheform.1), bash completion (cmd/cacheform/cacheform.bash) and
# the zsh and fish completion `cacheform completion zsh|fish` generates:
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
	[ "$output" = "diff drift drift-merge" ]
	run complete_line cacheform drift --s
	[ "$output" = "--shard --shard-budget" ]
	run complete_line cacheform drift --shard-budget ""
	[ "$output" = "split whole" ]
	run complete_line cacheform diff --format ""
	[ "$output" = "json markdown text" ]
	run complete_line cacheform validate --format ""
	[ "$output" = "github gitlab json junit sarif text" ]
	run complete_line cacheform drift --format ""
	[ "$output" = "gitlab json junit markdown text" ]
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
	[ "$output" = "compact list mark show" ]
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

# ---- zsh and fish: generated from the command and option tables (cacheform completion) ----

# gen SHELL: writes the generated script to $BATS_TEST_TMPDIR and prints its path.
gen() {
	local f=$BATS_TEST_TMPDIR/completion.$1
	[ "$1" = zsh ] && { mkdir -p "$BATS_TEST_TMPDIR/zsh"; f=$BATS_TEST_TMPDIR/zsh/_cacheform; }
	"$CACHEFORM" completion "$1" >"$f" || return 1
	echo "$f"
}

@test "completion zsh|fish: both parse (zsh -n, fish -n); other shells are a usage error" {
	z=$(gen zsh)
	f=$(gen fish)
	run zsh -n "$z"
	[ "$status" -eq 0 ] && [ -z "$output" ]
	run fish -n "$f"
	[ "$status" -eq 0 ] && [ -z "$output" ]
	head -n 1 "$z" | grep -qx '#compdef cacheform'
	run "$CACHEFORM" completion tcsh
	[ "$status" -eq 129 ]
	run "$CACHEFORM" completion
	[ "$status" -eq 129 ]
	# a packaging aid, not a command users look for
	run "$CACHEFORM" help
	[[ "$output" != *completion* ]]
}

@test "completion zsh|fish: every command and every option of the binary, with its help text" {
	z=$(gen zsh)
	f=$(gen fish)
	for c in $(commands); do
		grep -qF "    '$c:" "$z" || { echo "zsh lacks command $c"; return 1; }
		grep -qF -- "-n __fish_use_subcommand -a '$c' -d '" "$f" || { echo "fish lacks command $c"; return 1; }
		block=$(sed -n "/^  $c)\$/,/^    ;;\$/p" "$z")
		for o in $(help_options "$c"); do
			case $o in
			--*)
				help=$("$CACHEFORM" help "$c" | grep -E -- "^ +(-[a-z], )?$o( |\$)" | sed -E 's/^ +(-[a-z], )?--[a-z-]+( [A-Z_/=]+)? +//')
				[[ "$block" == *"$o["* || "$block" == *",$o}'["* ]] || { echo "zsh: $c lacks $o"; return 1; }
				grep -F -- "__fish_seen_subcommand_from $c'" "$f" | grep -qF -- " -l ${o#--}" ||
					{ echo "fish: $c lacks $o"; return 1; }
				# the description is the option table's help text (quotes escaped)
				grep -F -- "__fish_seen_subcommand_from $c'" "$f" | grep -F -- " -l ${o#--}" |
					grep -qF -- "-d '${help//\'/\\\'}'" || { echo "fish: $c $o: no description '$help'"; return 1; }
				;;
			-?)
				[[ "$block" == *"{$o,"* ]] || { echo "zsh: $c lacks $o"; return 1; }
				grep -F -- "__fish_seen_subcommand_from $c'" "$f" | grep -qF -- " -s ${o#-} " ||
					{ echo "fish: $c lacks $o"; return 1; }
				;;
			esac
		done
	done
}

# fishc REPO LINE: fish's completions for LINE (run in REPO), candidates only, sorted.
fishc() {
	(cd "$1" && fish -c "source '$F'; complete -C '$2'") | cut -f1 | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}

@test "completion fish: commands, options, --format values and names from the --repo directory" {
	F=$(gen fish)
	R="$BATS_TEST_TMPDIR/repo"
	gitops_repo "$R"
	sed 's/endpoint: img/endpoint: images-eu/' "$R/endpoints/img.yaml" >"$R/endpoints/other-file.yaml"
	[ "$(fishc "$R" 'cacheform d')" = "diff drift drift-merge" ]
	[ "$(fishc "$R" 'cacheform drift --s')" = "--shard --shard-budget" ]
	[ "$(fishc "$R" 'cacheform validate --format ')" = "github gitlab json junit sarif text" ]
	[ "$(fishc "$R" 'cacheform drift --format ')" = "gitlab json junit markdown text" ]
	[ "$(fishc "$R" 'cacheform plan --format ')" = "github json markdown text" ]
	[ "$(fishc "$R" 'cacheform help i')" = "import" ]
	[ "$(fishc "$BATS_TEST_TMPDIR" "cacheform plan --repo $R -e ")" = "images-eu img www" ]
	[ "$(fishc "$R" 'cacheform drift --endpoint i')" = "images-eu img" ]
	[ "$(fishc "$R" 'cacheform import --account ')" = "cn" ]
	[ "$(fishc "$R" 'cacheform ledger ')" = "compact list mark show" ]
	[ "$(fishc "$BATS_TEST_TMPDIR" "cacheform ledger --repo $R show ")" = "2026-11-21-logo" ]
	git -C "$R" branch feature/ttl
	[ "$(fishc "$R" 'cacheform diff --base f')" = "feature/ttl" ]
}

@test "completion zsh: registers under compinit; names come from the --repo directory" {
	z=$(gen zsh)
	R="$BATS_TEST_TMPDIR/repo"
	gitops_repo "$R"
	sed 's/endpoint: img/endpoint: images-eu/' "$R/endpoints/img.yaml" >"$R/endpoints/other-file.yaml"
	# compadd prints the candidates it is given (the array named by its last argument), in
	# file order: img.yaml, other-file.yaml (images-eu), www.yaml
	run env LC_ALL=C zsh -fc "fpath=('${z%/*}' \$fpath); autoload -Uz compinit; compinit -u -d '$BATS_TEST_TMPDIR/zcd'
		print -r -- \"reg \${_comps[cacheform]}\"; source '$z'
		compadd() { print -r -- \"\${(j: :)\${(P)\${@[-1]}}}\" }
		words=(cacheform plan --repo '$R' -e ''); CURRENT=5
		_cacheform_endpoints; _cacheform_purges; _cacheform_accounts
		cd '$R'; words=(cacheform drift -e ''); CURRENT=3; _cacheform_endpoints"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reg _cacheform" ]
	[ "${lines[1]}" = "img images-eu www" ]
	[ "${lines[2]}" = "2026-11-21-logo" ]
	[ "${lines[3]}" = "cn" ]
	[ "${lines[4]}" = "img images-eu www" ]
	grep -qF "'--format[text (default), json, github, sarif, gitlab (Code Quality) or junit]:FMT:(text json github sarif gitlab junit)'" "$z"
}

# zshc REPO LINE: what zsh's completion system offers for LINE (run in REPO), space-separated.
zshc() {
	(cd "$1" && timeout 30 zsh -f "$TOP/tests/cli/zsh_complete.zsh" "${Z%/*}" "$2") | tr '\n' ' ' | sed 's/ $//'
}

@test "completion zsh: what a user gets on TAB (an interactive zsh through zpty)" {
	Z=$(gen zsh)
	R="$BATS_TEST_TMPDIR/repo"
	gitops_repo "$R"
	sed 's/endpoint: img/endpoint: images-eu/' "$R/endpoints/img.yaml" >"$R/endpoints/other-file.yaml"
	[ "$(zshc "$R" 'cacheform d')" = "diff drift drift-merge" ]
	[ "$(zshc "$R" 'cacheform drift --s')" = "--shard --shard-budget" ]
	[ "$(zshc "$R" 'cacheform validate --format ')" = "github gitlab json junit sarif text" ]
	[ "$(zshc "$R" 'cacheform help i')" = "import" ]
	[ "$(zshc "$BATS_TEST_TMPDIR" "cacheform plan --repo $R -e ")" = "images-eu img www" ]
	[ "$(zshc "$R" 'cacheform import --account ')" = "cn" ]
	[ "$(zshc "$R" 'cacheform ledger show ')" = "2026-11-21-logo" ]
}
