#!/bin/bash
# SPDX-License-Identifier: MIT
# stat: periodic ring rates, human and JSON lines.
. "$(dirname "$0")/lib.sh"

name stat
ok create "$N" --size 1M
ok ring add "$N" r --type spsc --capacity 64K
ok ring add "$N" idle --type spsc --capacity 4K

"$PINSHM" pub "$N" r --count 0 --rate 20000 --quiet &
ppid=$!
bg $ppid
"$PINSHM" tail "$N" r --quiet 2>/dev/null &
tpid=$!
bg $tpid
sleep 0.2

ok stat "$N" --interval 200 --count 3 --json
[ "$(wc -l <"$TMP/out")" -eq 3 ] || fail "expected 3 JSON lines"
python3 - "$TMP/out" "$ppid" "$tpid" "$N" <<'PY' || fail "stat --json check failed"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ppid, tpid = int(sys.argv[2]), int(sys.argv[3])
for d in lines:
    assert 0.15 < d["interval_s"] < 1.0, d
    rings = {r["ring"]: r for r in d["rings"]}
    assert set(rings) == {"r", "idle"}, rings
    r = rings["r"]
    assert r["region"] == sys.argv[4], r
    # No timing is asserted: the rates must only be the counters' deltas
    # divided by the interval, all taken from the same output.
    assert r["msgs_in_per_s"] >= 0 and r["msgs_out_per_s"] >= 0, r
    assert r["producer_pid"] == ppid and r["consumer_pid"] == tpid, r
    assert rings["idle"]["msgs_in_per_s"] == 0 and rings["idle"]["producer_pid"] is None
assert lines[2]["rings"][0]["msgs_in"] > lines[0]["rings"][0]["msgs_in"]
for prev, cur in zip(lines, lines[1:]):
    p = {r["ring"]: r for r in prev["rings"]}["r"]
    c = {r["ring"]: r for r in cur["rings"]}["r"]
    want = (c["msgs_in"] - p["msgs_in"]) / cur["interval_s"]
    assert abs(c["msgs_in_per_s"] - want) <= 0.01 * want + 1, (c, want)
PY

ok stat "$N" --interval 100 --count 2
out_has '^REGION/RING +MSGS_IN/S +MSGS_OUT/S'
out_has "^$N/r +[0-9.]+k +[0-9.]+k "
out_has "^$N/idle +0 +0 +0 +0 +0 +0 +- +-\$"

kill -INT $ppid $tpid
wait $ppid || fail "pub exited $? after SIGINT"
wait $tpid || fail "tail exited $? after SIGINT"

rc 1 stat "nosuch-$$" --count 1
err_is "^pinshm: stat nosuch-$$: no such region\$"
rc 2 stat --interval 0
err_has "bad --interval '0'"
exit 0
