#!/bin/bash
# SPDX-License-Identifier: MIT
# tail on an idle spsc or mpsc ring sleeps in the ring's wait (woken by the
# producer's commit), not polling: almost no CPU time, and a record
# published later still arrives at once.
. "$(dirname "$0")/lib.sh"

# CPU time (user + system) of pid, in clock ticks.
ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

name idle
ok create "$N" --size 1M
ok ring add "$N" s --type spsc --capacity 64K
ok ring add "$N" m --type mpsc --capacity 64K
for r in s m; do
	"$PINSHM" tail "$N" $r >"$TMP/tail.out" 2>"$TMP/tail.err" &
	tpid=$!
	bg $tpid
	sleep 1	# past the spins and the yields of its first 100 ms idle
	t0=$(ticks $tpid)
	sleep 2
	t1=$(ticks $tpid)
	# Polling every 200 us, as tail did, took 14 ticks in 2 s here.
	[ $((t1 - t0)) -le 4 ] ||
		fail "$r: idle tail used $((t1 - t0)) ticks of CPU in 2 s"
	ok pub "$N" $r --seq --count 1
	for i in $(seq 100); do
		grep -q 'seq=1 ' "$TMP/tail.out" && break
		sleep 0.02
	done
	kill -INT $tpid
	wait $tpid
	st=$?
	[ $st -eq 0 ] || fail "$r: tail exited $st after SIGINT"
	grep -q '^id=0 seq=1 len=' "$TMP/tail.out" ||
		fail "$r: the record never arrived: $(cat "$TMP/tail.out")"
	grep -q ': 1 record in' "$TMP/tail.err" ||
		fail "$r: tail summary: $(cat "$TMP/tail.err")"
done
echo PASS
