#!/bin/bash
# SPDX-License-Identifier: MIT
# Region errors: one clear line on stderr, exit 1 (usage errors: exit 2).
. "$(dirname "$0")/lib.sh"

rule="invalid name \(1-63 of A-Z a-z 0-9 \. _ -, not starting with '\.'\)"

rc 1 create "t$$/bad" --size 1M
err_is "^pinshm: create t$$/bad: $rule\$"
long=$(printf 'a%.0s' $(seq 300))
rc 1 create "$long" --size 1M
err_is "$rule"
rc 1 create ".hidden$$" --size 1M
err_is "$rule"
rc 1 info "a b"
err_is "$rule"

name zero
rc 1 create "$N" --size 0
err_is "^pinshm: create $N: invalid size 0"

name huge
if [ "$PINSHM_BACKEND" = shm ]; then
	rc 1 create "$N" --size 100G
	err_is "^pinshm: create $N: size above the backend's limit"
fi

rc 2 create "$N" --size 12Q
err_has "bad --size '12Q'"
err_has '^usage: pinshm create'
rc 2 create "$N"
err_has 'missing --size'
rc 2 create --size 1M
err_has 'missing region NAME'
rc 2 create "$N" --size 1M extra
err_has "unexpected argument 'extra'"
rc 2 create "$N" --size 1M --mode 999
err_has "bad --mode"
rc 2 create "$N" --size
err_has "needs a value"

rc 1 info "nosuch-$$"
err_is "^pinshm: info nosuch-$$: no such region\$"
rc 1 rm "nosuch-$$"
err_is "^pinshm: rm nosuch-$$: no such region\$"
rc 1 recover "nosuch-$$"
err_is "no such region"
rc 1 pub "nosuch-$$" r
err_is "^pinshm: pub nosuch-$$/r: no such region\$"

name dup
ok create "$N" --size 1M
rc 1 create "$N" --size 1M
err_is "^pinshm: create $N: region exists\$"

# A file that is not a pinshm region.
if [ "$PINSHM_BACKEND" = shm ]; then
	ok create "$N-x" --size 64K && REGIONS+=("$N-x")
	f=${PINSHM_SHM_DIR:-/dev/shm}/pinshm.$N-x
	[ -f "$f" ] || fail "no file $f for region $N-x"
	dd if=/dev/urandom of="$f" bs=4096 count=1 conv=notrunc 2>/dev/null
	rc 1 info "$N-x"
	err_is "region is corrupt \(not a pinshm region or wrong ABI\)"
fi

rc 2 bench --size 0
rc 2 bench nosuchpattern
rc 2 metrics frob
err_has "^pinshm metrics: unknown action 'frob' \\(load, unload or show\\)$"
# A bad sequence number names the option, not the value twice.
for o in skip-seq dup-seq corrupt-seq; do
	rc 2 pub x y --seq --$o abc
	err_has "^pinshm pub: bad --$o 'abc' \(a sequence number >= 1\)\$"
	rc 2 pub x y --seq --$o 0
	err_has "^pinshm pub: bad --$o '0' "
done
exit 0
