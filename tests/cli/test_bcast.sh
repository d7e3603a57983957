#!/bin/bash
# SPDX-License-Identifier: MIT
# bcast rings: one writer, a fast tail and a deliberately slow one (tail
# --rate); the slow one is lapped, reports the records it lost, and still
# exits 0 with received + lost = every sequence. Tails are read-only
# attachers. Resume, torn and gap detection, role and size errors.
. "$(dirname "$0")/lib.sh"

# summary_counts FILE: "records lost" from tail's summary line.
summary_counts() {
	sed -nE 's/.*: ([0-9]+) records? in .*; lapped ([0-9]+) times?, ([0-9]+) records? lost.*/\1 \3 \2/p' "$1"
}

name bcast
ok create "$N" --size 4M
ok ring add "$N" b --type bcast --capacity 4K
ok info "$N" --json
pyjson '
b = [o for o in d["objects"] if o["name"] == "b"][0]
assert b["type"] == "bcast" and b["capacity"] == 4096 and b["max_record"] == 48, b
'

TOTAL=50000
timeout 100 "$PINSHM" tail "$N" b --check-seq --count $TOTAL --quiet >"$TMP/fout" 2>"$TMP/ferr" &
fpid=$!
bg $fpid
timeout 100 "$PINSHM" tail "$N" b --check-seq --count $TOTAL --quiet --rate 2000 \
	>"$TMP/sout" 2>"$TMP/serr" &
spid=$!
bg $spid
# Both readers attached (read-only) before the writer starts.
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
# 0.5 s of records: the slow tail reads 2000/s, so it is lapped many times.
ok pub "$N" b --seq --count $TOTAL --rate 100000
err_has "producer 0 seq 1\.\.$TOTAL"

wait $fpid
st=$?
cp "$TMP/ferr" "$TMP/err"
[ $st -eq 0 ] || fail "fast tail exited $st"
err_has "producer 0: last seq $TOTAL; 0 problems"
read -r recs lost laps <<<"$(summary_counts "$TMP/ferr")"
[ -n "$recs" ] && [ $((recs + lost)) -eq $TOTAL ] || fail "fast tail: $recs received + $lost lost != $TOTAL"

wait $spid
st=$?
cp "$TMP/serr" "$TMP/err"
[ $st -eq 0 ] || fail "slow tail exited $st"
err_has "^pinshm: tail $N/b: lapped( [0-9]+ times)?: lost [0-9]+ records"
err_has "producer 0: last seq $TOTAL; 0 problems"
read -r recs lost laps <<<"$(summary_counts "$TMP/serr")"
[ -n "$recs" ] || fail "no summary"
[ "$lost" -gt 0 ] && [ "$laps" -gt 0 ] || fail "slow tail was not lapped ($recs received, $lost lost)"
[ $((recs + lost)) -eq $TOTAL ] || fail "slow tail: $recs received + $lost lost != $TOTAL"
# The lap lines add up to the summary.
sum=$(sed -nE 's/.*lapped( [0-9]+ times)?: lost ([0-9]+) record.*/\2/p' "$TMP/serr" |
      awk '{ s += $1 } END { print s + 0 }')
[ "$sum" -eq "$lost" ] || fail "lap lines say $sum lost, the summary $lost"

# Without --check-seq: N records, then exit. A tail started late begins at
# the oldest record still in the ring.
ok tail "$N" b --count 5
[ "$(wc -l <"$TMP/out")" -eq 5 ] || fail "tail --count 5 printed $(wc -l <"$TMP/out") lines"
out_has "^id=0 seq=$((TOTAL - 4096 + 1)) len=48\$"
ok tail "$N" b --check-seq --count $TOTAL
err_has "producer 0: first seq $((TOTAL - 4096 + 1)) \(older records are gone\)"
err_has "4096 records .*lapped 0 times, 0 records lost; producer 0: last seq $TOTAL; 0 problems"

# A restarted writer resumes after the last published sequence.
ok pub "$N" b --seq --count $((TOTAL + 10))
err_has "producer 0 resumes after seq $TOTAL"
err_has "producer 0 seq $((TOTAL + 1))\.\.$((TOTAL + 10))"
ok info "$N" --json
pyjson '
b = [o for o in d["objects"] if o["name"] == "b"][0]
assert b["msgs_in"] == '$((TOTAL + 10))' and b["tail"] == '$((TOTAL + 10))', b
assert b["bytes_in"] == 48 * '$((TOTAL + 10))', b
'

# A torn record, and a gap that no lapping explains, fail --check-seq.
ok ring add "$N" torn --type bcast --capacity 64 --max-record 100
ok pub "$N" torn --seq --count 20 --corrupt-seq 7 --size 100
rc 1 tail "$N" torn --check-seq --count 20 --quiet
err_has "^pinshm: tail $N/torn: record 7: torn record \(seq 7\?\): bad checksum\$"
ok ring add "$N" gap --type bcast --capacity 64
ok pub "$N" gap --seq --count 20 --skip-seq 11
rc 1 tail "$N" gap --check-seq --count 20 --quiet
err_has "^pinshm: tail $N/gap: producer 0: gap: expected seq 11, got 12 \(1 missing, 0 lost to lapping unaccounted for\)\$"

# One writer at a time; sizes.
"$PINSHM" pub "$N" gap --count 0 --rate 100 --quiet &
wpid=$!
bg $wpid
for i in $(seq 100); do
	[ "$(ring_stat "$N" gap producer_pid)" = "$wpid" ] && break
	sleep 0.05
done
rc 1 pub "$N" gap
err_is "^pinshm: pub $N/gap: the writer role is held by live process $wpid\$"
# Readers are not roles: any number of them.
ok tail "$N" gap --count 3
kill -INT $wpid
wait $wpid || fail "pub exited $? after SIGINT"
rc 1 pub "$N" gap --size 49
err_is "^pinshm: pub $N/gap: --size 49 above the ring's max record 48\$"
rc 1 pub "$N" gap --seq --size 16
err_is "too small for --seq records"
# A reader needs only read access to the region (run as nobody when root).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	name ro
	ok create "$N" --size 1M --mode 0644
	ok ring add "$N" b --type bcast --capacity 64
	ok pub "$N" b --seq --count 100
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PINSHM" tail "$N" b --check-seq \
		--count 100 --quiet >"$TMP/out" 2>"$TMP/err" || fail "read-only tail exited $?"
	err_has "64 records .*producer 0: last seq 100; 0 problems"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PINSHM" pub "$N" b >"$TMP/out" 2>"$TMP/err" &&
		fail "pub without write access succeeded"
	err_is "^pinshm: pub $N/b: permission denied\$"
fi
exit 0
