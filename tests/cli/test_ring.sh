#!/bin/bash
# SPDX-License-Identifier: MIT
# ring add: spsc, mpsc, bcast and slot rings, bad capacities and record sizes.
. "$(dirname "$0")/lib.sh"

name rings
ok create "$N" --size 1M
ok ring add "$N" q --type spsc --capacity 64K
ok ring add "$N" big --type spsc --capacity 16K --max-record 4K
ok info "$N" --json
pyjson '
o = {x["name"]: x for x in d["objects"]}
assert o["q"]["type"] == "spsc" and o["q"]["capacity"] == 65536, o
assert o["q"]["max_record"] == 65536 // 4 - 16, o
assert o["big"]["max_record"] == 4096, o
for k in ("msgs_in", "msgs_out", "bytes_in", "bytes_out", "full_events"):
    assert o["q"][k] == 0, (k, o["q"])
'
ok info "$N"
out_has '^  q +spsc +64K'

rc 1 ring add "$N" q --type spsc --capacity 64K
err_is "^pinshm: ring add $N/q: ring exists"
rc 1 ring add "$N" r1 --type spsc --capacity 5000
err_is "^pinshm: ring add $N/r1: invalid capacity 5000 \(a power of two, at least 1K\)\$"
rc 1 ring add "$N" r1 --type spsc --capacity 512
err_is "invalid capacity 512"
rc 1 ring add "$N" r1 --type spsc --capacity 4K --max-record 4K
err_is "invalid max record 4096 \(at most 1349 for capacity 4K"
rc 1 ring add "$N" r1 --type spsc --capacity 4M
err_is "no room left in the region"
rc 2 ring add "$N" r1 --type spsc --capacity lots
err_has "bad --capacity 'lots'"
rc 2 ring add "$N" r1 --type fifo --capacity 4K
err_has "unknown --type 'fifo'"
rc 2 ring add "$N" r1 --capacity 4K
err_has 'missing --type'
rc 2 ring add "$N" r1 --type spsc
err_has 'missing --capacity'
rc 2 ring del "$N" r1
err_has "unknown subcommand 'del'"
rc 1 ring add "$N" "bad/ring" --type spsc --capacity 4K
err_is "invalid ring name"
# The other types (more in test_mpsc.sh, test_bcast.sh, test_slot.sh).
ok ring add "$N" mp --type mpsc --capacity 4K
ok ring add "$N" bc --type bcast --capacity 256 --max-record 100
ok ring add "$N" sl --type slot --capacity 48
ok info "$N" --json
pyjson '
o = {x["name"]: x for x in d["objects"]}
assert o["mp"]["type"] == "mpsc" and o["mp"]["capacity"] == 4096, o["mp"]
assert o["mp"]["max_record"] == 4096 // 4 - 8, o["mp"]
assert o["bc"]["type"] == "bcast" and o["bc"]["capacity"] == 256, o["bc"]
assert o["bc"]["max_record"] == 112, o["bc"]
assert o["sl"]["type"] == "slot" and o["sl"]["capacity"] == 48, o["sl"]
'
rc 1 ring add "$N" r1 --type mpsc --capacity 3K
err_is "^pinshm: ring add $N/r1: invalid capacity 3K \(a power of two, 1K to 512M\)\$"
rc 1 ring add "$N" r1 --type mpsc --capacity 4K --max-record 4K
err_is "invalid max record 4096 \(1 to 2040 for capacity 4K"
rc 1 ring add "$N" r1 --type bcast --capacity 100
err_is "^pinshm: ring add $N/r1: invalid capacity 100 \(bcast: a number of slots, a power of two, 2 to 16M\)\$"
rc 1 ring add "$N" r1 --type bcast --capacity 64 --max-record 2M
err_is "invalid max record 2097152 \(bcast: 1 to 1048560\)"
rc 1 ring add "$N" r1 --type slot --capacity 128K
err_is "^pinshm: ring add $N/r1: invalid capacity 128K \(slot: the value size, 1 to 64K\)\$"
rc 1 ring add "$N" r1 --type slot --capacity 64 --max-record 32
err_is "max-record does not apply to a slot"
rc 1 ring add "$N" sl --type bcast --capacity 64
err_is "^pinshm: ring add $N/sl: ring exists"
rc 1 ring add "nosuch-$$" r1 --type spsc --capacity 4K
err_is "no such region"

rc 1 pub "$N" nosuch
err_is "^pinshm: pub $N/nosuch: no such ring in the region\$"
rc 1 tail "$N" nosuch
err_is "^pinshm: tail $N/nosuch: no such ring in the region\$"
exit 0
