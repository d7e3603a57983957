#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGINT/SIGTERM: pub finishes its message and detaches, tail detaches;
# both exit 0 and count as detached, not died. Nothing is lost or torn.
. "$(dirname "$0")/lib.sh"

name sig
ok create "$N" --size 1M
ok ring add "$N" r --type spsc --capacity 4K

# tail with nothing to read.
"$PINSHM" tail "$N" r >"$TMP/out" 2>"$TMP/err" &
tpid=$!
bg $tpid
sleep 0.3
kill -INT $tpid
wait $tpid
st=$?
[ $st -eq 0 ] || fail "tail exited $st after SIGINT"
err_has "0 records .*\(interrupted\)\$"

# pub blocked on a full ring, then SIGTERM.
"$PINSHM" pub "$N" r --seq --count 1000000 >/dev/null 2>"$TMP/err" &
ppid=$!
bg $ppid
for i in $(seq 200); do
	[ "$(ring_stat "$N" r full_events)" -ge 1 ] 2>/dev/null && break
	sleep 0.01
done
kill -TERM $ppid
wait $ppid
st=$?
[ $st -eq 0 ] || fail "pub exited $st after SIGTERM"
err_has "producer 0 seq 1\.\.[0-9]+ \(interrupted\)\$"
n=$(ring_stat "$N" r msgs_in)
[ "$n" -gt 10 ] || fail "only $n messages in the ring"
ok tail "$N" r --check-seq --count "$n" --quiet
err_has "$n records .*last seq $n; 0 problems"

# A tail in the middle of a stream, stopped and restarted, misses nothing.
ok ring add "$N" s --type spsc --capacity 4K
"$PINSHM" pub "$N" s --seq --count 300000 --rate 500000 --quiet &
ppid=$!
bg $ppid
"$PINSHM" tail "$N" s --check-seq --count 300000 --quiet 2>"$TMP/t1" &
tpid=$!
bg $tpid
sleep 0.2
kill -INT $tpid
wait $tpid
st=$?
[ $st -eq 0 ] || { cat "$TMP/t1" >&2; fail "tail exited $st after SIGINT"; }
ok tail "$N" s --check-seq --count 300000 --quiet
err_has "last seq 300000; 0 problems"
wait $ppid || fail "pub failed"

ok info "$N" --json
pyjson '
assert d["crashes"] == 0 and d["generation"] == 0, d
assert not [a for a in d["attachers"] if a["state"] != "detached"], d["attachers"]
'
exit 0
