#!/bin/bash
# SPDX-License-Identifier: MIT
# Latest-value slots: pub --seq at full speed with two tail --check-seq
# readers (read-only) checking that sequences never go backwards and that
# no value is torn; a writer killed with kill -9 and restarted resumes
# forward; a bad checksum and values that are not --seq values are caught.
. "$(dirname "$0")/lib.sh"

name slot
ok create "$N" --size 1M
ok ring add "$N" s --type slot --capacity 64
ok info "$N" --json
pyjson '
s = [o for o in d["objects"] if o["name"] == "s"][0]
assert s["type"] == "slot" and s["capacity"] == 64, s
'
# Nothing written yet: a tail waits (and SIGINT ends it cleanly).
"$PINSHM" tail "$N" s --count 1 >"$TMP/wout" 2>"$TMP/werr" &
wpid=$!
bg $wpid
sleep 0.2
kill -0 $wpid 2>/dev/null || fail "tail on an empty slot did not wait: $(cat "$TMP/werr")"
kill -INT $wpid
wait $wpid || fail "tail exited $? after SIGINT"

TOTAL=500000
for i in 1 2; do
	timeout 100 "$PINSHM" tail "$N" s --check-seq --count $TOTAL --quiet \
		>"$TMP/tout$i" 2>"$TMP/terr$i" &
	tpids[$i]=$!
	bg $!
done
for i in $(seq 200); do
	ok info "$N" --json
	n=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(len([a for a in d["attachers"] if a["state"] == "attached" and a["access"] == "ro"]))
' "$TMP/out")
	[ "$n" -eq 2 ] && break
	sleep 0.02
done
[ "$n" -eq 2 ] || fail "the two tails did not attach read-only ($n)"
ok pub "$N" s --seq --count $TOTAL
err_has "producer 0 seq 1\.\.$TOTAL"
for i in 1 2; do
	wait ${tpids[$i]}
	st=$?
	cp "$TMP/terr$i" "$TMP/err"
	[ $st -eq 0 ] || fail "tail $i --check-seq exited $st"
	err_has "[0-9]+ values? in .*producer 0: last seq $TOTAL; 0 problems"
done
ok info "$N" --json
pyjson '
s = [o for o in d["objects"] if o["name"] == "s"][0]
assert s["msgs_in"] == '$TOTAL' and s["bytes_in"] == 64 * '$TOTAL', s
assert s["recoveries"] == 0 and s["producer_pid"] is None, s
'

# A late tail sees the latest value at once.
ok tail "$N" s --check-seq --count $TOTAL
out_has "^id=0 seq=$TOTAL len=64 version=$TOTAL\$"
err_has "1 value in"
# A restarted writer resumes after the current value's sequence.
ok pub "$N" s --seq --count $((TOTAL + 10)) --size 40
err_has "producer 0 resumes after seq $TOTAL"
ok tail "$N" s --check-seq --count $((TOTAL + 10))
out_has "^id=0 seq=$((TOTAL + 10)) len=40 version=$((TOTAL + 10))\$"

# kill -9 the writer at random points; each restart goes on forward (a value
# torn by the kill is withdrawn by the library and skipped by the reader).
ok ring add "$N" k --type slot --capacity 256
END=2000000
timeout 100 "$PINSHM" tail "$N" k --check-seq --count $END --quiet >"$TMP/tout" 2>"$TMP/terr" &
tpid=$!
bg $tpid
for i in 1 2 3; do
	"$PINSHM" pub "$N" k --seq --count $END --size 200 --rate 1000000 --quiet 2>>"$TMP/perr" &
	ppid=$!
	bg $ppid
	sleep "0.$((100 + RANDOM % 100))"
	kill -9 $ppid || fail "pub gone before kill -9: $(cat "$TMP/perr")"
	wait $ppid
done
ok pub "$N" k --seq --count $END --size 200
err_has "producer 0 resumes after seq [0-9]+"
err_has "producer 0 seq [0-9]+\.\.$END"
wait $tpid
st=$?
cp "$TMP/terr" "$TMP/err"
[ $st -eq 0 ] || fail "tail --check-seq exited $st across writer kills"
err_has "producer 0: last seq $END; 0 problems\$"

# A bad checksum, and values that are not --seq values.
ok ring add "$N" torn --type slot --capacity 64
ok pub "$N" torn --seq --count 5 --corrupt-seq 5
rc 1 tail "$N" torn --check-seq --count 5 --quiet
err_has "^pinshm: tail $N/torn: version 5: torn record \(seq 5\?\): bad checksum\$"
ok pub "$N" torn --count 1
ok tail "$N" torn --count 1
out_has '^len=64 version=6$'
rc 1 tail "$N" torn --check-seq --count 5 --quiet
err_has "^pinshm: tail $N/torn: version 6: value is not a pub --seq value\$"

# One writer at a time; sizes.
ok ring add "$N" w --type slot --capacity 16
"$PINSHM" pub "$N" w --count 0 --rate 100 --quiet &
wpid=$!
bg $wpid
for i in $(seq 100); do
	[ "$(ring_stat "$N" w producer_pid)" = "$wpid" ] && break
	sleep 0.05
done
rc 1 pub "$N" w
err_is "^pinshm: pub $N/w: the writer role is held by live process $wpid\$"
ok tail "$N" w --count 2
kill -INT $wpid
wait $wpid || fail "pub exited $? after SIGINT"
rc 1 pub "$N" w --size 17
err_is "^pinshm: pub $N/w: --size 17 above the ring's value size 16\$"
rc 1 pub "$N" w --seq
err_is "^pinshm: pub $N/w: --size 16 too small for --seq records \(at least 32\)\$"
# A reader needs only read access to the region (run as nobody when root).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	name ro
	ok create "$N" --size 1M --mode 0644
	ok ring add "$N" s --type slot --capacity 64
	ok pub "$N" s --seq --count 7
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PINSHM" tail "$N" s --check-seq \
		--count 7 >"$TMP/out" 2>"$TMP/err" || fail "read-only tail exited $?"
	out_has "^id=0 seq=7 len=64 version=7\$"
fi
exit 0
