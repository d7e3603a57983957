#!/bin/bash
# SPDX-License-Identifier: MIT
# pub | tail: plain records, --hex, and 100000 --seq records through a 4K
# ring (it wraps about 1800 times) checked by tail --check-seq.
. "$(dirname "$0")/lib.sh"

name seq
ok create "$N" --size 1M
ok ring add "$N" r --type spsc --capacity 4K

# Plain records: default one message of 64 bytes.
ok pub "$N" r
ok pub "$N" r --count 2 --size 5
ok tail "$N" r --count 3
[ "$(wc -l <"$TMP/out")" -eq 3 ] || fail "tail printed $(wc -l <"$TMP/out") lines, expected 3"
out_has '^len=64 type=0$'
out_has '^len=5 type=0$'
err_has "tail $N/r: 3 records"
ok pub "$N" r --size 20
ok tail "$N" r --count 1 --hex
out_has '^len=20 type=0$'
out_has '^  000000  00 00 00 00 00 00 00 00 69 6e 73 68 6d 20 70 69  \|\.\.\.\.\.\.\.\.inshm pi\|$'
out_has '^  000010  6e 73 68 6d {38}\|nshm\|$'
ok pub "$N" r --size 0
ok tail "$N" r --count 1
out_has '^len=0 type=0$'
# --rate paces: 50 messages at 500/s take about 0.1 s.
t0=$(date +%s%N)
ok pub "$N" r --count 50 --rate 500
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -ge 90 ] || fail "--rate 500 sent 50 messages in $(( (t1 - t0) / 1000000 )) ms"
ok tail "$N" r --count 50 --quiet
[ ! -s "$TMP/out" ] || fail "tail --quiet printed records"

# Too large for the ring, too small for --seq.
rc 1 pub "$N" r --size 2K
err_is "^pinshm: pub $N/r: --size 2048 above the ring's max record 1008\$"
rc 1 pub "$N" r --seq --size 16
err_is "^pinshm: pub $N/r: --size 16 too small for --seq records \(at least 32\)\$"
ok ring add "$N" b --type spsc --capacity 4K --max-record 1349
rc 1 pub "$N" b --seq --size 1350
err_is "^pinshm: pub $N/b: --size 1350 above the ring's max record 1349\$"
rc 2 pub "$N" r --count -5
rc 2 pub "$N" r --rate 0
rc 2 tail "$N" r --producers 2
err_has -- '--producers needs --check-seq'

# A fresh ring for the sequence run.
ok ring add "$N" s --type spsc --capacity 4K
timeout 120 "$PINSHM" tail "$N" s --check-seq --count 100000 --quiet >"$TMP/tout" 2>"$TMP/terr" &
tpid=$!
bg $tpid
ok pub "$N" s --seq --count 100000
err_has "producer 0 seq 1\.\.100000"
wait $tpid
st=$?
cp "$TMP/terr" "$TMP/err"
[ $st -eq 0 ] || fail "tail --check-seq exited $st"
err_has "tail $N/s: 100000 records .*producer 0: last seq 100000; 0 problems"
[ ! -s "$TMP/tout" ] || fail "tail --quiet printed records"

ok info "$N" --json
pyjson '
s = [o for o in d["objects"] if o["name"] == "s"][0]
assert s["msgs_in"] == 100000 and s["msgs_out"] == 100000, s
assert s["bytes_in"] == 6400000 and s["head"] == s["tail"] > 4096 * 1000, s
'

# Two producer ids, one after the other, sizes that need alignment padding.
ok ring add "$N" m --type spsc --capacity 64K
ok pub "$N" m --seq --count 300 --size 37
ok pub "$N" m --seq --count 300 --size 45 --id 1
err_has "last record in the ring is from producer 0; producer 1 starts at seq 1"
ok tail "$N" m --check-seq --producers 2 --count 300
err_has "600 records .*producer 0: last seq 300; producer 1: last seq 300; 0 problems"
out_has '^id=1 seq=300 len=45$'
exit 0
