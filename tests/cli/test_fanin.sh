#!/bin/bash
# SPDX-License-Identifier: MIT
# fan-in rings: three pub --seq --id 0/1/2, each on its own lane, checked
# per producer id by tail --check-seq --producers 3; a restarted pub --seq
# --id N resumes after its lane's last record; kill -9 chaos: producers and
# the consumer killed at random moments and restarted, every sequence of
# every producer delivered, in order within each tail's output, none lost
# (a restarted tail gets again what its predecessor peeked and had not
# released, at most a batch); ring add errors.
. "$(dirname "$0")/lib.sh"

name fanin
ok create "$N" --size 8M

# Three producers at once, one consumer.
ok ring add "$N" r --type fanin --lanes 4 --capacity 64K
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
assert r["type"] == "fanin", r
assert r["lanes"] == 4 and r["capacity"] == 65536, r
assert r["msgs_in"] == r["msgs_out"] == 3 * '$TOTAL', r
assert r["bytes_in"] == '$TOTAL' * (40 + 48 + 56), r
'
ok info "$N"
out_has "^  r +fanin +4x64K "

# A restarted pub --seq --id N resumes after its lane's last record.
ok pub "$N" r --seq --id 1 --count $((TOTAL + 10))
err_has "producer 1 resumes after seq $TOTAL"
ok pub "$N" r --seq --id 1 --count $((TOTAL + 10))
err_has "producer 1 already at seq $((TOTAL + 10))"
ok pub "$N" r --seq --id 3 --count 5
ok tail "$N" r --count 15
[ "$(grep -c '^id=1 ' "$TMP/out")" -eq 10 ] || fail "expected 10 records of producer 1"
[ "$(grep -c '^id=3 ' "$TMP/out")" -eq 5 ] || fail "expected 5 records of producer 3"

# Chaos: producers 0 and 2 run paced; producer 1 and the consumer are
# killed with kill -9 at random moments and restarted, three times each.
ok ring add "$N" k --type fanin --lanes 3 --capacity 16K
TOTAL=150000
"$PINSHM" pub "$N" k --seq --id 0 --count $TOTAL --rate 100000 --quiet 2>"$TMP/perr0" &
p0=$!
bg $p0
"$PINSHM" pub "$N" k --seq --id 2 --count $TOTAL --rate 100000 --quiet 2>"$TMP/perr2" &
p2=$!
bg $p2
for i in 1 2 3; do
	"$PINSHM" pub "$N" k --seq --id 1 --count $TOTAL --rate 150000 --quiet 2>>"$TMP/perr1" &
	ppid=$!
	bg $ppid
	"$PINSHM" tail "$N" k >"$TMP/chaos$i" 2>>"$TMP/terr" &
	cpid=$!
	bg $cpid
	sleep "0.$((100 + RANDOM % 150))"
	kill -9 $ppid 2>/dev/null || fail "pub --id 1 ended before it was killed: $(cat "$TMP/perr1")"
	sleep "0.0$((RANDOM % 50))"
	kill -9 $cpid 2>/dev/null || fail "tail ended before it was killed: $(cat "$TMP/terr")"
	wait $ppid
	wait $cpid
done
timeout 100 "$PINSHM" tail "$N" k --check-seq --producers 3 --count $TOTAL >"$TMP/chaos4" \
	2>"$TMP/terr" &
tpid=$!
bg $tpid
ok pub "$N" k --seq --id 1 --count $TOTAL
err_has "producer 1 resumes after seq [0-9]+"
wait $tpid || { cp "$TMP/terr" "$TMP/err"; fail "last tail --check-seq exited $?"; }
wait $p0 || fail "pub --id 0 exited $?: $(cat "$TMP/perr0")"
wait $p2 || fail "pub --id 2 exited $?: $(cat "$TMP/perr2")"
cp "$TMP/terr" "$TMP/err"
err_has "producer 0: last seq $TOTAL; producer 1: last seq $TOTAL; producer 2: last seq $TOTAL; 0 problems"
# Over the four tails' outputs, per producer: consecutive within each
# output; each output starts at most a batch (64) back from where the last
# one stopped and never past it (+1); all of 1..TOTAL seen.
awk -v total=$TOTAL '
	FNR == 1 { for (i in cur) start[i] = 1 }
	!/^id=[0-9]+ seq=[0-9]+ len=[0-9]+$/ {
		# a tail killed mid-line leaves a cut last line: skip it
		next
	}
	{
		split($1, a, "="); split($2, b, "="); id = a[2]; s = b[2] + 0
		if (id in start && start[id]) {
			if (s > max[id] + 1 || s < max[id] + 1 - 64) {
				printf "producer %s: output %s starts at %d after %d\n", id, FILENAME, s, max[id]
				bad = 1
			}
			start[id] = 0
		} else if (id in cur && s != cur[id] + 1) {
			printf "producer %s: %d after %d in %s\n", id, s, cur[id], FILENAME
			bad = 1
		}
		cur[id] = s
		if (s > max[id]) max[id] = s
	}
	FNR == 1 && !(id in cur) { }
	END {
		for (id = 0; id < 3; id++)
			if (max[id] != total) { printf "producer %d: max %d\n", id, max[id]; bad = 1 }
		exit bad
	}' "$TMP/chaos1" "$TMP/chaos2" "$TMP/chaos3" "$TMP/chaos4" >"$TMP/err" ||
	fail "chaos: $(head -5 "$TMP/err")"
ok info "$N" --json
pyjson '
k = [o for o in d["objects"] if o["name"] == "k"][0]
died = [a for a in d["attachers"] if a["state"] == "died"]
assert len(died) == 6, d["attachers"]
'

# Errors.
rc 2 ring add "$N" x --type spsc --capacity 4K --lanes 2
rc 2 ring add "$N" x --type fanin --capacity 4K --lanes 65
rc 1 ring add "$N" x --type fanin --capacity 3K
rc 1 pub "$N" k --id 3 --count 1
err_has "--id 3 out of range"
exit 0
