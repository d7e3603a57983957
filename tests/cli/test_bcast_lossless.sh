#!/bin/bash
# SPDX-License-Identifier: MIT
# Lossless bcast rings (ring add --lossless): tails register, the writer
# waits for the slowest of them. Chaos: a slow registered tail is killed
# with -9 mid-stream (the writer, held by it, resumes once the region's
# metadata records the death), then restarted; the two survivors get every
# sequence, in order, none lost (--check-seq).
. "$(dirname "$0")/lib.sh"

# lost_laps FILE: "records lost" and "lapped" from tail's summary line.
lost_laps() {
	sed -nE 's/.*; lapped ([0-9]+) times?, ([0-9]+) records? lost.*/\2 \1/p' "$1"
}

# attached_rw: how many attachers hold the region read-write.
attached_rw() {
	"$PINSHM" info "$N" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(len([a for a in d["attachers"] if a["state"] == "attached" and a["access"] == "rw"]))
'
}

name bcll
ok create "$N" --size 4M
rc 2 ring add "$N" s --type spsc --capacity 4K --lossless
ok ring add "$N" b --type bcast --lossless --capacity 256

TOTAL=200000
for k in 1 2; do
	timeout 100 "$PINSHM" tail "$N" b --check-seq --count $TOTAL --quiet \
		>"$TMP/out$k" 2>"$TMP/err$k" &
	eval "t$k=$!"
	bg $!
done
# The victim reads slowly: the writer waits for it. (No timeout(1) in
# front: kill -9 must hit the reader itself; cleanup kills it at worst.)
"$PINSHM" tail "$N" b --quiet --rate 20000 >/dev/null 2>"$TMP/errv" &
vpid=$!
bg $vpid
for i in $(seq 200); do
	n=$(attached_rw)
	[ "$n" -eq 3 ] && break
	sleep 0.02
done
[ "$n" -eq 3 ] || fail "the three tails did not register read-write ($n)"

timeout 100 "$PINSHM" pub "$N" b --seq --count $TOTAL --quiet >/dev/null 2>"$TMP/perr" &
ppid=$!
bg $ppid
sleep 0.3
kill -9 $vpid
wait $vpid 2>/dev/null
# Restarted: registers again, at the writer's position.
timeout 100 "$PINSHM" tail "$N" b --quiet --count 1000 >/dev/null 2>"$TMP/errr" &
rpid=$!
bg $rpid

wait $ppid || { cp "$TMP/perr" "$TMP/err"; fail "pub exited $?"; }
for k in 1 2; do
	eval "p=\$t$k"
	wait "$p"
	st=$?
	cp "$TMP/err$k" "$TMP/err"
	[ $st -eq 0 ] || fail "survivor $k exited $st"
	err_has "producer 0: last seq $TOTAL; 0 problems"
	read -r lost laps <<<"$(lost_laps "$TMP/err$k")"
	[ "$lost" = 0 ] && [ "$laps" = 0 ] || fail "survivor $k: $lost lost, $laps laps"
done
wait $rpid
st=$?
cp "$TMP/errr" "$TMP/err"
[ $st -eq 0 ] || fail "the restarted tail exited $st"
read -r lost laps <<<"$(lost_laps "$TMP/errr")"
[ "$lost" = 0 ] || fail "the restarted tail lost $lost"

# The victim's gate was dropped (recoveries), the writer was held (full).
[ "$(ring_stat "$N" b recoveries)" -ge 1 ] || fail "no dead reader dropped"
[ "$(ring_stat "$N" b full_events)" -ge 1 ] || fail "the writer was never held"
[ "$(ring_stat "$N" b msgs_in)" -eq $TOTAL ] || fail "msgs_in"
exit 0
