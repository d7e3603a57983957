#!/bin/bash
# SPDX-License-Identifier: MIT
# --help of the command and of every subcommand exits 0 and names its options.
. "$(dirname "$0")/lib.sh"

ok --help
out_has '^usage: pinshm'
for c in create ls info rm recover ring pub tail stat bench metrics; do
	out_has "^  $c"
done
ok help
out_has '^usage: pinshm'

check() {	# check CMD OPTIONS...
	local c=$1 o
	shift
	ok "$c" --help
	out_has "^usage: pinshm $c"
	out_has '^Examples:|not supported yet'
	for o in "$@"; do
		out_has -- "$o"
	done
	[ ! -s "$TMP/err" ] || fail "$c --help wrote to stderr"
	ok help "$c"
	out_has "^usage: pinshm $c"
}
check create --size --node --mode
check ls --json
check info --json
check rm
check recover
check ring --type --capacity --max-record spsc
check pub --count --rate --size --seq --id
check tail --count --check-seq --producers --hex --quiet
check stat --interval --count --json
check bench
check metrics
# --help wins even among other arguments.
ok pub somewhere ring --seq --help
out_has '^usage: pinshm pub'

# Usage errors exit 2 with a usage line.
rc 2
err_has '^usage: pinshm'
rc 2 frobnicate
err_has "unknown command 'frobnicate'"
rc 2 create x --size 1M --bogus
err_has "unknown option '--bogus'"
err_has '^usage: pinshm create'
rc 2 help frobnicate
rc 2 --backend bogus ls
err_has "unknown backend 'bogus'"
ok --version
out_has '^pinshm [0-9]+\.[0-9]+'
exit 0
