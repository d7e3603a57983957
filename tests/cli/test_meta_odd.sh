#!/bin/bash
# SPDX-License-Identifier: MIT
# A shm region whose metadata writer died mid-update (its sequence left
# odd) is "being updated" to ls, not corrupt, and recover repairs it
# (issue 15); info, which recovers first, repairs it too.
. "$(dirname "$0")/lib.sh"

[ "$PINSHM_BACKEND" = shm ] || { echo "shm backend only: skipped"; exit 0; }

name odd
ok create "$N" --size 64K
file="${PINSHM_SHM_DIR:-/dev/shm}/pinshm.$N"
[ -f "$file" ] || fail "no region file $file"

# make_odd: the sequence (offset 12 of the metadata page) as a writer
# killed between its two stores leaves it.
make_odd() {
	python3 -c '
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(12)
    seq, = struct.unpack("<I", f.read(4))
    f.seek(12)
    f.write(struct.pack("<I", seq | 1))
' "$file" || fail "could not write $file"
}

make_odd
ok ls
out_has "^$N .*being updated.*pinshm recover"
grep -q corrupt "$TMP/out" && fail "ls calls it corrupt: $(cat "$TMP/out")"
ok recover "$N"
out_has "^$N: [0-9]+ dead attachers? found; generation"
ok ls
grep -q "being updated" "$TMP/out" && fail "recover did not repair it: $(cat "$TMP/out")"
out_has "^$N "

make_odd
ok info "$N"
out_has "$N"
ok ls
grep -q "being updated" "$TMP/out" && fail "info did not repair it"
exit 0
