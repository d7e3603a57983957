#!/bin/bash
# SPDX-License-Identifier: MIT
# mpsc rings: three pub --seq --id 0/1/2 into one ring checked per producer
# id by tail --check-seq --producers 3; a producer killed with kill -9 at
# random points and restarted with the same id finishes its job with every
# sequence once; a gap on one producer id is caught; role errors.
. "$(dirname "$0")/lib.sh"

name mpsc
ok create "$N" --size 4M

# Three producers at once, one consumer.
ok ring add "$N" r --type mpsc --capacity 64K
TOTAL=200000
timeout 100 "$PINSHM" tail "$N" r --check-seq --producers 3 --count $TOTAL --quiet \
	>"$TMP/tout" 2>"$TMP/terr" &
tpid=$!
bg $tpid
pids=()
for id in 0 1 2; do
	"$PINSHM" pub "$N" r --seq --id $id --count $TOTAL --size $((40 + id * 8)) \
		2>"$TMP/perr$id" &
	pids+=($!)
	bg $!
done
for id in 0 1 2; do
	wait ${pids[$id]} || { cp "$TMP/perr$id" "$TMP/err"; fail "pub --id $id exited $?"; }
	grep -q "producer $id seq 1\.\.$TOTAL" "$TMP/perr$id" || fail "pub --id $id: $(cat "$TMP/perr$id")"
done
wait $tpid
st=$?
cp "$TMP/terr" "$TMP/err"
[ $st -eq 0 ] || fail "tail --check-seq --producers 3 exited $st"
err_has "$((3 * TOTAL)) records .*producer 0: last seq $TOTAL; producer 1: last seq $TOTAL; producer 2: last seq $TOTAL; 0 problems"
ok info "$N" --json
pyjson '
r = [o for o in d["objects"] if o["name"] == "r"][0]
assert r["type"] == "mpsc", r
assert r["msgs_in"] == r["msgs_out"] == 3 * '$TOTAL', r
assert r["bytes_in"] == '$TOTAL' * (40 + 48 + 56), r
assert r["producer_pid"] is None and r["consumer_pid"] is None, r
'

# A restarted pub --seq --id N resumes after that id's last sequence, even
# when the ring's last record is another producer's.
ok pub "$N" r --seq --id 1 --count $((TOTAL + 10))
err_has "producer 1 resumes after seq $TOTAL"
ok pub "$N" r --seq --id 2 --count $((TOTAL + 5))
err_has "producer 2 resumes after seq $TOTAL"
ok pub "$N" r --seq --id 1 --count $((TOTAL + 10))
err_has "producer 1 already at seq $((TOTAL + 10))"
ok tail "$N" r --count 15
[ "$(grep -c '^id=1 ' "$TMP/out")" -eq 10 ] || fail "expected 10 records of producer 1"
out_has "^id=2 seq=$((TOTAL + 5)) len=64\$"

# kill -9 one producer in the middle, three times, while two others run
# and tail checks every id; the restarted producer finishes the job.
ok ring add "$N" k --type mpsc --capacity 16K
TOTAL=300000
timeout 100 "$PINSHM" tail "$N" k --check-seq --producers 3 --count $TOTAL --quiet \
	>"$TMP/tout" 2>"$TMP/terr" &
tpid=$!
bg $tpid
"$PINSHM" pub "$N" k --seq --id 0 --count $TOTAL --rate 200000 --quiet 2>"$TMP/perr0" &
p0=$!
bg $p0
"$PINSHM" pub "$N" k --seq --id 2 --count $TOTAL --rate 200000 --quiet 2>"$TMP/perr2" &
p2=$!
bg $p2
kills=0
for i in 1 2 3; do
	"$PINSHM" pub "$N" k --seq --id 1 --count $TOTAL --rate 300000 --quiet 2>>"$TMP/perr1" &
	ppid=$!
	bg $ppid
	# 0.1 to 0.2 s: about a fifth of its job (a busy machine only slows it).
	sleep "0.$((100 + RANDOM % 100))"
	kill -0 $ppid 2>/dev/null || fail "pub --id 1 ended before it was killed: $(cat "$TMP/perr1")"
	kill -9 $ppid || fail "pub --id 1 gone before kill -9"
	wait $ppid
	st=$?
	[ $st -eq 137 ] || fail "killed pub exited $st, expected 137"
	kills=$((kills + 1))
done
ok pub "$N" k --seq --id 1 --count $TOTAL
err_has "producer 1 resumes after seq [0-9]+"
err_has "producer 1 seq [0-9]+\.\.$TOTAL"
wait $p0 || fail "pub --id 0 exited $?: $(cat "$TMP/perr0")"
wait $p2 || fail "pub --id 2 exited $?: $(cat "$TMP/perr2")"
wait $tpid
st=$?
cp "$TMP/terr" "$TMP/err"
[ $st -eq 0 ] || fail "tail --check-seq exited $st after $kills kills"
err_has "$((3 * TOTAL)) records .*producer 0: last seq $TOTAL; producer 1: last seq $TOTAL; producer 2: last seq $TOTAL; 0 problems"
ok info "$N" --json
pyjson '
k = [o for o in d["objects"] if o["name"] == "k"][0]
assert k["msgs_in"] == k["msgs_out"] == 3 * '$TOTAL', k
assert k["recoveries"] <= '$kills', k
died = [a for a in d["attachers"] if a["state"] == "died"]
assert len(died) == '$kills', d["attachers"]
'

# A gap in one producer's sequence is caught, and named by its id.
ok ring add "$N" gap --type mpsc --capacity 256K
ok pub "$N" gap --seq --id 0 --count 500
ok pub "$N" gap --seq --id 1 --count 500 --skip-seq 301
ok pub "$N" gap --seq --id 2 --count 500
rc 1 tail "$N" gap --check-seq --producers 3 --count 500 --quiet
err_has "^pinshm: tail $N/gap: producer 1: gap: expected seq 301, got 302\$"
err_has "producer 1: last seq 302; .*1 problem\$"
# A duplicate too.
ok ring add "$N" dup --type mpsc --capacity 64K
ok pub "$N" dup --seq --id 3 --count 50 --dup-seq 20
rc 1 tail "$N" dup --check-seq --producers 4 --count 50 --quiet
err_has "^pinshm: tail $N/dup: producer 3: duplicate: seq 20 twice\$"

# Roles: a producer id and the consumer are held by live processes.
ok ring add "$N" roles --type mpsc --capacity 4K
"$PINSHM" pub "$N" roles --id 5 --count 0 --rate 50 --quiet &
ppid=$!
bg $ppid
"$PINSHM" tail "$N" roles --quiet 2>/dev/null &
tpid=$!
bg $tpid
for i in $(seq 100); do
	[ "$(ring_stat "$N" roles consumer_pid)" = "$tpid" ] && [ "$(ring_stat "$N" roles msgs_in)" -gt 0 ] && break
	sleep 0.05
done
rc 1 pub "$N" roles --id 5
err_is "^pinshm: pub $N/roles: producer id 5 is held by another live process\$"
rc 1 tail "$N" roles
err_is "^pinshm: tail $N/roles: the consumer role is held by live process $tpid\$"
# Without --id (and --seq), pub takes a free producer id.
ok pub "$N" roles --count 3
kill -INT $ppid $tpid
wait $ppid || fail "pub exited $? after SIGINT"
wait $tpid || fail "tail exited $? after SIGINT"
rc 1 pub "$N" roles --id 64
err_is "^pinshm: pub $N/roles: --id 64 out of range \(an mpsc ring has producer ids 0\.\.63\)\$"
rc 1 pub "$N" roles --size 2K
err_is "^pinshm: pub $N/roles: --size 2048 above the ring's max record 1016\$"
exit 0
