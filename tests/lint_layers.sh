#!/usr/bin/env bash
# Checks the include rules ARCHITECTURE.md states. Prints each violation and exits 1 if any.
#   reconcile/base/  includes only reconcile/base/
#   schema/          includes only schema/ and reconcile/base/
#   reconcile/       includes only reconcile/ (base included); never schema/ or cmd/
#   cmd/fakecdn/     includes only cmd/fakecdn/, reconcile/base/, reconcile/sem.h,
#                    reconcile/sem_edgelogic.h and reconcile/edgelogic.h (the edge evaluates
#                    live rules with the evaluators explain uses; CDN Pro Edge Logic is parsed
#                    with cacheform's pure parser) and
#                    reconcile/prov_azure.h, reconcile/prov_afd.h (the Azure and Front Door
#                    drivers' reading of live rules; prov_afd.h brings reconcile/sem_afd.h)
#   cmd/cacheform/   anything of the project
# and each library stays in its edge module(s).
set -u
cd "$(dirname "$0")/.."
bad=0
say() { echo "lint-layers: $*" >&2; bad=1; }

check_dir() { # DIR (files directly in it) ALLOWED-REGEX
	local dir=$1 allow=$2 f inc
	for f in "$dir"/*.[ch]; do
		[ -e "$f" ] || continue
		while IFS= read -r inc; do
			[[ $inc =~ $allow ]] || say "$f includes \"$inc\" (allowed: $allow)"
		done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
	done
}
check_dir reconcile/base '^reconcile/base/'
check_dir schema '^(schema/|reconcile/base/)'
check_dir reconcile '^reconcile/'
check_dir cmd/fakecdn '^(cmd/fakecdn/|reconcile/base/|reconcile/sem(_afd|_edgelogic)?\.h$|reconcile/edgelogic\.h$|reconcile/prov_(azure|afd)\.h$)'

# Libraries at the edge: <header prefix> then the only files that may include it.
edge() { # HEADER-REGEX FILE-REGEX
	local f
	for f in $(grep -lE "^#include <($1)" reconcile/*.[ch] reconcile/base/*.[ch] schema/*.[ch] cmd/*/*.[ch]); do
		[[ $f =~ $2 ]] || say "$f includes a <$1> header (only $2 may)"
	done
}
edge 'yaml\.h' '^schema/ytree\.c$'
edge 'curl/' '^reconcile/http(_lib)?\.c$'
edge 'git2' '^reconcile/(repo|repo_ledger|repo_remote|repo_lib)\.[ch]$'
# OpenSSL: the modules that hash or sign, each function they call forwarded by
# reconcile/crypto_lib.c (cacheform is not linked against libcrypto), and fakecdn
edge 'openssl/' '^(reconcile/(crypto_lib|sign|provider|prov_afd|edgelogic)\.c|schema/load\.c|cmd/fakecdn/.*)$'
edge 'microhttpd\.h' '^cmd/fakecdn/'
# json-c (<json-c/...> or <json.h>): the JSON layer reconcile/codec.c, and fakecdn (its own state)
edge 'json-c/|json\.h' '^(reconcile/codec\.c|cmd/fakecdn/.*)$'
[ $bad -eq 0 ] && echo "lint-layers: ok"
exit $bad
