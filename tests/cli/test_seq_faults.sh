#!/bin/bash
# SPDX-License-Identifier: MIT
# tail --check-seq catches a gap, a duplicate, a torn record and an
# unexpected producer id (pub's test-only --skip-seq/--dup-seq/--corrupt-seq
# make them), and exits 1 with a line naming the first problem.
. "$(dirname "$0")/lib.sh"

name faults
ok create "$N" --size 1M

ok ring add "$N" gap --type spsc --capacity 256K
ok pub "$N" gap --seq --count 2000 --skip-seq 1001
rc 1 tail "$N" gap --check-seq --count 2000 --quiet
grep -q "^pinshm: tail $N/gap: producer 0: gap: expected seq 1001, got 1002\$" "$TMP/err" ||
	fail "no gap line: $(cat "$TMP/err")"
err_has "1001 records .*producer 0: last seq 1002; 1 problem\$"

ok ring add "$N" dup --type spsc --capacity 4K
ok pub "$N" dup --seq --count 20 --dup-seq 7
rc 1 tail "$N" dup --check-seq --count 20
err_has "^pinshm: tail $N/dup: producer 0: duplicate: seq 7 twice\$"
[ "$(grep -c '^id=0 seq=7 ' "$TMP/out")" -eq 2 ] || fail "seq 7 not printed twice"

ok ring add "$N" torn --type spsc --capacity 4K
ok pub "$N" torn --seq --count 20 --corrupt-seq 5
rc 1 tail "$N" torn --check-seq --count 20 --quiet
err_has "^pinshm: tail $N/torn: record 5: torn record \(seq 5\?\): bad checksum\$"
err_has "5 records .*producer 0: last seq 4; 1 problem\$"

# Records that are not --seq records at all.
ok ring add "$N" raw --type spsc --capacity 4K
ok pub "$N" raw --count 3
rc 1 tail "$N" raw --check-seq --count 3
err_has "record 1: record of type 0x0 is not a pub --seq record"
# Without --check-seq the same records are fine.
ok pub "$N" raw --count 3
ok tail "$N" raw --count 3

# A producer id beyond --producers.
ok ring add "$N" ids --type spsc --capacity 4K
ok pub "$N" ids --seq --count 5 --id 3
rc 1 tail "$N" ids --check-seq --producers 2 --count 5 --quiet
err_has "^pinshm: tail $N/ids: producer 3: unexpected producer id \(--producers 2\)\$"
err_has "1 record .*producer 0: nothing; producer 1: nothing; 1 problem\$"

# A tail restarted on a ring consumed before takes the first seq it sees
# as the start, per producer.
ok ring add "$N" again --type spsc --capacity 4K
ok pub "$N" again --seq --count 10
ok tail "$N" again --count 3
out_has '^id=0 seq=3 len=64$'
ok tail "$N" again --check-seq --count 10
err_has "producer 0: first seq 4 \(the ring was consumed before\)"
err_has "7 records .*producer 0: last seq 10; 0 problems"
exit 0
