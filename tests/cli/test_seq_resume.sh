#!/bin/bash
# SPDX-License-Identifier: MIT
# pub --seq resumes after its last committed sequence: after a clean run,
# with records still in the ring, and after kill -9 at random points of a
# 2000000-message run, while tail --check-seq watches every sequence arrive
# exactly once.
. "$(dirname "$0")/lib.sh"

name resume
ok create "$N" --size 4M
ok ring add "$N" r --type spsc --capacity 4K

ok pub "$N" r --seq --count 10
ok tail "$N" r --check-seq --count 10 --quiet
ok pub "$N" r --seq --count 20
err_has "producer 0 resumes after seq 10"
err_has "producer 0 seq 11\.\.20"
ok pub "$N" r --seq --count 20
err_has "producer 0 already at seq 20"
ok pub "$N" r --seq --count 5
err_has "producer 0 already at seq 20"
ok tail "$N" r --check-seq --count 20
err_has "10 records .*last seq 20; 0 problems"
out_has '^id=0 seq=11 len=64$'
# Resuming with records still unconsumed, and with another --size.
ok pub "$N" r --seq --count 30
ok pub "$N" r --seq --count 40 --size 100
err_has "resumes after seq 30"
ok tail "$N" r --check-seq --count 40 --quiet
err_has "20 records .*last seq 40; 0 problems"

# kill -9 in the middle, three times, then finish the job.
ok ring add "$N" k --type spsc --capacity 64K
TOTAL=2000000
timeout 100 "$PINSHM" tail "$N" k --check-seq --count $TOTAL --quiet >"$TMP/tout" 2>"$TMP/terr" &
tpid=$!
bg $tpid
kills=0
# Kill points and rate leave seconds, not milliseconds, between the last
# kill and the end of the job, so a loaded machine cannot race the poll.
for target in 200000 $((400000 + RANDOM * 5)) $((800000 + RANDOM * 5)); do
	: >"$TMP/serr"
	"$PINSHM" pub "$N" k --seq --count $TOTAL --rate 250000 --quiet 2>>"$TMP/perr" &
	ppid=$!
	bg $ppid
	while :; do
		m=$(ring_stat "$N" k msgs_in 2>>"$TMP/serr")
		[ -n "$m" ] && [ "$m" -ge $target ] && break
		[ -n "$m" ] || { "$PINSHM" info "$N" >/dev/null 2>>"$TMP/serr"; }
		kill -0 $ppid 2>/dev/null || fail "pub ended before it was killed (msgs_in $m)"
		sleep 0.005
	done
	kill -9 $ppid || { cat "$TMP/perr" "$TMP/serr" >&2; fail "pub gone at msgs_in $m (target $target)"; }
	wait $ppid
	st=$?
	[ $st -eq 137 ] || fail "killed pub exited $st, expected 137"
	kills=$((kills + 1))
done
m=$(ring_stat "$N" k msgs_in)
[ "$m" -lt $TOTAL ] || fail "pub finished before the last kill"
ok pub "$N" k --seq --count $TOTAL
err_has "producer 0 resumes after seq [0-9]+"
err_has "seq [0-9]+\.\.$TOTAL"
wait $tpid
st=$?
cp "$TMP/terr" "$TMP/err"
[ $st -eq 0 ] || fail "tail --check-seq exited $st"
err_has "$TOTAL records .*producer 0: last seq $TOTAL; 0 problems"

ok info "$N" --json
pyjson '
k = [o for o in d["objects"] if o["name"] == "k"][0]
assert k["msgs_in"] == '$TOTAL' and k["msgs_out"] == '$TOTAL', k
assert k["producer_pid"] is None and k["consumer_pid"] is None, k
died = [a for a in d["attachers"] if a["state"] == "died"]
assert len(died) == '$kills', d["attachers"]
assert all(a["signal"] in (9, None) for a in died), died
assert d["crashes"] == '$kills' and d["generation"] >= '$kills', d
'
exit 0
