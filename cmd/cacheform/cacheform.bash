# bash completion for cacheform                                  -*- shell-script -*-
# Installed by `make install` as share/bash-completion/completions/cacheform; or source it.
# (zsh and fish: `cacheform completion zsh|fish` generates them from the option tables.)
# Completes commands, each command's options, --format values, git revisions for
# --ref/--base/--head, endpoint names (-e) from endpoints/*.yaml, account names from
# cacheform.yaml and purge ids (ledger show/mark, --purge) from purges/*.yaml of the --repo
# directory.

_cacheform_commands="validate plan apply rollback drift drift-merge diff import explain migrate ledger fmt version help"

# Options per command; keep in step with `cacheform help COMMAND` (a test checks it).
_cacheform_options() {
	case $1 in
	validate) echo "--repo --ref --strict --format --help" ;;
	plan) echo "--repo --ref -e --endpoint --exclude --out --format --detailed-exitcode --parallelism --no-purges --urls --purge --quiet -q --show-unchanged --help" ;;
	apply) echo "--repo --ref -e --endpoint --exclude --yes -y --force --keep-going --no-wait --first-run --ledger-remote --timeout --parallelism --verify --verify-timeout --format --purge --quiet -q --stage --urls --promote --help" ;;
	rollback) echo "--to --repo -e --endpoint --exclude --yes -y --force --keep-going --no-wait --timeout --parallelism --format --quiet -q --help" ;;
	drift) echo "--repo --ref -e --endpoint --exclude --format --shard --shard-budget --parallelism --quiet -q --help" ;;
	drift-merge) echo "--help" ;;
	diff) echo "--base --head --repo --format --detailed-exitcode --help" ;;
	import) echo "--account --all --remote --name --host --repo --parallelism --help" ;;
	explain) echo "--repo --ref -e --endpoint --live --format --help" ;;
	migrate) echo "--to -e --endpoint --remote --format --write --repo --help" ;;
	ledger) echo "--repo -m --message --before --help" ;;
	fmt) echo "--repo --check --purges --help" ;;
	version) echo "--format --help" ;;
	esac
}

_cacheform_formats() {
	case $1 in
	validate) echo "text json github sarif gitlab junit" ;;
	plan) echo "text json markdown github" ;;
	apply) echo "text json" ;;
	rollback) echo "text json" ;;
	explain) echo "text json" ;;
	migrate) echo "text json" ;;
	drift) echo "text json markdown gitlab junit" ;;
	diff) echo "text json markdown" ;;
	version) echo "text json" ;;
	esac
}

# The --repo value given earlier on the line, or ".".
_cacheform_repo() {
	local i
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} == --repo ]]; then
			echo "${COMP_WORDS[i + 1]}"
			return
		elif [[ ${COMP_WORDS[i]} == --repo=* ]]; then
			echo "${COMP_WORDS[i]#--repo=}"
			return
		fi
	done
	echo .
}

# Values of a top-level "KEY: value" line in each file (quotes and comments dropped).
_cacheform_yaml_values() {
	local key=$1
	shift
	sed -n "s/^$key:[[:space:]]*//p" "$@" 2>/dev/null | sed "s/[[:space:]]*#.*//; s/^[\"']//; s/[\"']\$//"
}

_cacheform_endpoints() {
	local repo
	repo=$(_cacheform_repo)
	_cacheform_yaml_values endpoint "$repo"/endpoints/*.yaml "$repo"/endpoints/*.yml
}

_cacheform_purges() {
	local repo
	repo=$(_cacheform_repo)
	_cacheform_yaml_values purge "$repo"/purges/*.yaml "$repo"/purges/*.yml
}

# Account names: the two-space-indented keys under "accounts:" in cacheform.yaml.
_cacheform_accounts() {
	local repo
	repo=$(_cacheform_repo)
	sed -n '/^accounts:/,/^[^[:space:]#]/ s/^  \([A-Za-z0-9._-]*\):.*/\1/p' "$repo/cacheform.yaml" 2>/dev/null
}

_cacheform_revisions() {
	local repo
	repo=$(_cacheform_repo)
	echo HEAD
	git -C "$repo" for-each-ref --format='%(refname:short)' refs/heads refs/remotes refs/tags 2>/dev/null
}

# Sets COMPREPLY to the words of the whitespace-separated list $1 that start with $2.
_cacheform_reply() {
	# shellcheck disable=SC2207 # names, refs and options hold no spaces or glob characters
	COMPREPLY=($(compgen -W "$1" -- "$2"))
}

_cacheform() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd=${COMP_WORDS[1]:-}
	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		_cacheform_reply "$_cacheform_commands --help --version" "$cur"
		return
	fi
	case $prev in
	--repo)
		# shellcheck disable=SC2207
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	--out)
		# shellcheck disable=SC2207
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--format)
		_cacheform_reply "$(_cacheform_formats "$cmd")" "$cur"
		return
		;;
	--ref | --base | --head)
		_cacheform_reply "$(_cacheform_revisions)" "$cur"
		return
		;;
	-e | --endpoint | --exclude)
		_cacheform_reply "$(_cacheform_endpoints)" "$cur"
		return
		;;
	--purge)
		_cacheform_reply "$(_cacheform_purges)" "$cur"
		return
		;;
	--stage)
		_cacheform_reply "staging" "$cur"
		return
		;;
	--urls)
		# shellcheck disable=SC2207
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--account | --to)
		# rollback --to takes a revision, migrate --to an account
		if [[ $cmd == rollback ]]; then
			_cacheform_reply "$(_cacheform_revisions)" "$cur"
		else
			_cacheform_reply "$(_cacheform_accounts)" "$cur"
		fi
		return
		;;
	--remote)
		_cacheform_reply "endpoint_id= resource_group= profile= endpoint=" "$cur"
		compopt -o nospace 2>/dev/null
		return
		;;
	--shard-budget)
		_cacheform_reply "whole split" "$cur"
		return
		;;
	--shard | --name | --host | --timeout | --verify-timeout | --parallelism | -m | --message)
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		_cacheform_reply "$(_cacheform_options "$cmd")" "$cur"
		return
	fi
	case $cmd in
	help) _cacheform_reply "$_cacheform_commands" "$cur" ;;
	drift-merge) compopt -o default 2>/dev/null ;;
	ledger)
		local i sub=
		for ((i = 2; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in list | show | mark | compact) sub=${COMP_WORDS[i]} ;; esac
		done
		if [[ -z $sub ]]; then
			_cacheform_reply "list show mark compact" "$cur"
		elif [[ $sub != list && $sub != compact ]]; then
			_cacheform_reply "$(_cacheform_purges)" "$cur"
		fi
		;;
	apply)
		# shellcheck disable=SC2207
		COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
		;;
	fmt)
		# shellcheck disable=SC2207
		COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur"))
		;;
	esac
}

complete -F _cacheform cacheform
