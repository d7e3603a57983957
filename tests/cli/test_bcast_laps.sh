#!/bin/bash
# SPDX-License-Identifier: MIT
# A lapped bcast tail reports its losses at most 10 lines a second, also
# when it catches up and idles between laps (issue 15), and a full stderr
# never stops it reading: reports wait (gathered into later lines) while
# stderr would block, and the summary says how many were held back.
. "$(dirname "$0")/lib.sh"

name laps
ok create "$N" --size 1M
ok ring add "$N" b --type bcast --capacity 4

# stopcont PID: stop and continue PID every 10 ms until it is gone. Each
# stop lets the writer lap it; after each it catches up and idles.
stopcont() {
	while kill -STOP "$1" 2>/dev/null; do
		sleep 0.01
		kill -CONT "$1" 2>/dev/null
		sleep 0.01
	done
}

"$PINSHM" pub "$N" b --seq --count 40000 --rate 20000 >/dev/null 2>&1 &
pub=$!
bg $pub
sleep 0.1
"$PINSHM" tail "$N" b --count 100000000 >/dev/null 2>"$TMP/err" &
t=$!
bg $t
stopcont $t &
sc=$!
bg $sc
wait $pub
kill -INT $t
kill -CONT $t 2>/dev/null
wait $t
kill $sc 2>/dev/null
wait $sc 2>/dev/null
secs=$(sed -nE 's/.* records? in ([0-9.]+) s .*/\1/p' "$TMP/err")
lines=$(grep -c ': lapped' "$TMP/err")
laps=$(sed -nE 's/.*; lapped ([0-9]+) times?, .*/\1/p' "$TMP/err")
[ -n "$secs" ] && [ -n "$laps" ] || fail "no summary"
[ "$laps" -ge 20 ] || fail "lapped only $laps times in $secs s: the test did not lap it"
# at most 10 a second, the first at once, and the last at the end
max=$(awk -v s="$secs" 'BEGIN { print int(s * 10) + 2 }')
[ "$lines" -le "$max" ] || fail "$lines lap lines in $secs s (at most $max)"

# stderr a full pipe nobody reads: tail goes on reading to its count.
name full
ok create "$N" --size 1M
ok ring add "$N" b --type bcast --capacity 4
mkfifo "$TMP/fifo"
exec 3<>"$TMP/fifo"	# a reader that never reads
python3 -c '
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
try:
    while True:
        os.write(fd, b"x" * 4096)
except BlockingIOError:
    pass
' "$TMP/fifo" || fail "could not fill the pipe"
"$PINSHM" pub "$N" b --seq --count 20000 --rate 20000 >/dev/null 2>&1 &
pub=$!
bg $pub
sleep 0.1
"$PINSHM" tail "$N" b --count 100000000 >"$TMP/out" 2>"$TMP/fifo" &
t=$!
bg $t
stopcont $t &
sc=$!
bg $sc
wait $pub
kill $sc 2>/dev/null
wait $sc 2>/dev/null
kill -CONT $t 2>/dev/null
sleep 0.3
# The last record arrived: the tail kept reading with stderr full.
grep -q '^id=0 seq=20000 ' "$TMP/out" || {
	cat "$TMP/fifo" >/dev/null &
	fail "tail stopped reading at $(tail -1 "$TMP/out") with stderr full"
}
kill -INT $t
cat <&3 >"$TMP/err" &
drain=$!
bg $drain
wait $t || fail "tail exited $?"
exec 3>&-
sleep 0.2
kill $drain 2>/dev/null
grep -Eq 'lap reports? held back \(stderr full\)' "$TMP/err" ||
	fail "no held back reports in: $(grep -v '^x*$' "$TMP/err" | tr -d x)"
exit 0
