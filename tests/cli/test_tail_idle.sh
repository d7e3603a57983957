#!/bin/bash
# SPDX-License-Identifier: MIT
# tail on an idle ring sleeps in the ring's wait (woken by the writer's
# commit), not polling: almost no CPU time, and a record published later
# still arrives at once. On bcast and slot tail is a read-only reader, which
# arms the region's metadata page to sleep; one barred from writing the
# region's file cannot, and polls instead: the record still arrives.
. "$(dirname "$0")/lib.sh"

# CPU time (user + system) of pid, in clock ticks.
ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# idle_tail RING MAX_TICKS WCHAN [PREFIX...]: start tail (through PREFIX),
# check its CPU time over 2 idle seconds and where it waits (the kernel
# function in /proc/PID/wchan, a grep -E pattern), publish one record,
# check it arrives.
idle_tail() {
	local r=$1 max=$2 where=$3 t0 t1 st i w
	shift 3
	"$@" "$PINSHM" tail "$N" "$r" >"$TMP/tail.out" 2>"$TMP/tail.err" &
	tpid=$!
	bg $tpid
	sleep 1	# past the spins and the yields of its first 100 ms idle
	t0=$(ticks $tpid)
	[ -n "${AFTER_START:-}" ] && $AFTER_START
	sleep 2
	t1=$(ticks $tpid)
	# Polling every 200 us, as tail did, took 14 ticks in 2 s here.
	[ $((t1 - t0)) -le "$max" ] ||
		fail "$r: idle tail used $((t1 - t0)) ticks of CPU in 2 s"
	for i in 1 2 3 4 5; do
		w=$(cat "/proc/$tpid/wchan")
		echo "$w" | grep -Eq "$where" && break
		sleep 0.05
	done
	echo "$w" | grep -Eq "$where" ||
		fail "$r: idle tail waits in $w, not in /$where/"
	ok pub "$N" "$r" --seq --count 1
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
	grep -Eq ': 1 (record|value) in' "$TMP/tail.err" ||
		fail "$r: tail summary: $(cat "$TMP/tail.err")"
}

name idle
ok create "$N" --size 1M
ok ring add "$N" s --type spsc --capacity 64K
ok ring add "$N" m --type mpsc --capacity 64K
ok ring add "$N" b --type bcast --capacity 64
ok ring add "$N" v --type slot --capacity 64
for r in s m b v; do
	idle_tail $r 4 futex
done

# Barred from writing the file (mode 0444 while tail opens it; root also
# loses CAP_DAC_OVERRIDE), a read-only tail cannot arm: it polls, well
# short of spinning (200 ticks in 2 s), and still gets the record.
file="${PINSHM_SHM_DIR:-/dev/shm}/pinshm.$N"
[ -f "$file" ] || fail "no region file at $file"
drop=()
[ "$(id -u)" -eq 0 ] &&
	drop=(setpriv --inh-caps=-dac_override --bounding-set=-dac_override)
reopen() {
	chmod 0600 "$file"	# for pub
}
for r in b v; do
	chmod 0444 "$file"
	AFTER_START=reopen idle_tail $r 100 nanosleep "${drop[@]}"
	grep -q 'seq=1 ' "$TMP/tail.out" || fail "$r: barred tail"
done
echo PASS
