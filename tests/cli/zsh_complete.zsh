#!/usr/bin/env zsh
# zsh_complete.zsh COMPDIR LINE: completes LINE (TAB at its end) in an interactive zsh driven
# through zsh/zpty, with COMPDIR (holding _cacheform) first in fpath and compinit loaded, and
# prints each candidate the completion system was given (compadd wrapped), sorted, one a line.
# Used by man_completion.bats to test the generated zsh completion as a user would meet it.
emulate -L zsh
zmodload zsh/zpty || exit 2
local compdir=$1 line=$2 x
local tmp=$(mktemp -d "${TMPDIR:-/tmp}/zsh-complete.XXXXXX")
cat >$tmp/.zshrc <<'RC'
PROMPT='%% '
fpath=($CF_COMPDIR $fpath)
autoload -Uz compinit
compinit -u -d $CF_TMP/zcompdump
compadd() {
  # -O, -A and -D only collect matches: not candidates shown to the user
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a h
  builtin compadd -A h "$@"
  (( $#h )) && print -rl -- $h >>$CF_TMP/out
  builtin compadd "$@"
}
zstyle ':completion:*' list-prompt ''
zstyle ':completion:*' menu no
print READY
RC
: >$tmp/out
export CF_COMPDIR=$compdir CF_TMP=$tmp ZDOTDIR=$tmp
zpty z zsh -i
zpty -r -m z x '*READY*' || { print -u2 "zsh_complete: the shell did not start"; exit 2; }
zpty -n -w z "$line"$'\t'
sleep 1
zpty -w z $'\C-u'"print DO""NE"
zpty -r -m z x '*DONE*'
zpty -d z
LC_ALL=C sort -u $tmp/out
rm -rf $tmp
