#!/bin/bash
# SPDX-License-Identifier: MIT
# fan-in rings: three pub --seq --id 0/1/2, each on its own lane, checked
# per producer id by tail --check-seq --producers 3; a restarted pub --seq
# --id N resumes after its lane's last record; kill -9 chaos: producers and
# the consumer killed at random moments and restarted, every sequence of
# every producer delivered, in order within each tail's output, none lost
# (a restarted tail gets again what its predecessor peeked and had not
# released, at most a batch); tail --merge 0 on pub --seq records: the
# lanes merged by sequence number, ties to the lower producer id, a
# drained lane holding nobody up, a restarted merged tail going on where
# the last one released; ring add and tail --merge errors.
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

# Merge by key: pub --seq writes its sequence number at offset 0. Three
# producers' records, all there before tail starts, come out seq by seq,
# producer 0 then 1 then 2 (ties to the lower lane); producer 1 stops at
# 30, and its drained lane holds the others up in nothing. A restarted
# tail goes on after the last release, still merged.
ok ring add "$N" m --type fanin --lanes 3 --capacity 16K
ok pub "$N" m --seq --id 2 --count 40 --size 48 --quiet
ok pub "$N" m --seq --id 1 --count 30 --size 40 --quiet
ok pub "$N" m --seq --id 0 --count 40 --size 32 --quiet
merged() {	# merged FILE FROM TO: lines FROM..TO-1 of the merged order
	python3 - "$@" <<'PY'
import sys
path, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
got = [tuple(int(f.split('=')[1]) for f in l.split()) for l in open(path)]
want = sorted(((i, s, 32 + 8 * i) for i, n in ((0, 40), (1, 30), (2, 40))
               for s in range(1, n + 1)), key=lambda r: (r[1], r[0]))
assert got == want[lo:hi], [(k, g, w) for k, (g, w) in
                            enumerate(zip(got, want[lo:hi])) if g != w][:3] or len(got)
PY
}
ok tail "$N" m --merge 0 --count 100
merged "$TMP/out" 0 100 || fail "tail --merge 0: $(head -3 "$TMP/out")"
ok tail "$N" m --merge 0 --count 10
merged "$TMP/out" 100 110 || fail "restarted tail --merge 0: $(cat "$TMP/out")"
# A short record (pub's records without --seq carry their index at 0,
# --size 4 has none) counts as 0: first out.
ok pub "$N" m --id 2 --count 2 --size 16 --quiet
ok pub "$N" m --id 1 --count 1 --size 4 --quiet
ok pub "$N" m --seq --id 0 --count 41 --size 32 --quiet
ok tail "$N" m --merge 0 --count 4
[ "$(cut -d' ' -f1-2 "$TMP/out" | tr '\n' ' ')" = "len=4 type=0 len=16 type=0 len=16 type=0 id=0 seq=41 " ] ||
	fail "short record, then keys 0 and 1 of lane 2, then seq 41: $(cat "$TMP/out")"

# Errors.
rc 2 tail "$N" m --merge x
rc 2 tail "$N" m --merge 4294967296
rc 1 tail "$N" m --merge 4090 --count 1
err_has "--merge 4090: the 8-byte key lies past the ring's max record \(4080 bytes\)"
ok ring add "$N" s --type spsc --capacity 4K
rc 1 tail "$N" s --merge 0 --count 1
err_has "--merge takes the lanes of a fanin ring; this one is spsc"
rc 2 ring add "$N" x --type spsc --capacity 4K --lanes 2
rc 2 ring add "$N" x --type fanin --capacity 4K --lanes 65
rc 1 ring add "$N" x --type fanin --capacity 3K
rc 1 pub "$N" k --id 3 --count 1
err_has "--id 3 out of range"
exit 0
