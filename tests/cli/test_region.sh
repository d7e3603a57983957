#!/bin/bash
# SPDX-License-Identifier: MIT
# create / ls / info / rm round trip, human and --json forms.
. "$(dirname "$0")/lib.sh"

name md
ok create "$N" --size 2M --mode 0640
[ ! -s "$TMP/out" ] || fail "create printed something"

ok ls
grep -Eq "^$N +2M +shm +0 +0 +0\$" "$TMP/out" || fail "ls line for $N: $(grep "$N" "$TMP/out")"
ok ls --json
pyjson '
r = [x for x in d if x["name"] == "'"$N"'"]
assert len(r) == 1, r
r = r[0]
assert r["size"] == 2 << 20 and r["backend"] == "shm", r
assert r["attached"] == 0 and r["generation"] == 0 and r["crashes"] == 0, r
'

ok info "$N"
out_has "^region $N\$"
out_has '^  size +2M \(2097152 bytes\)'
out_has '^  backend +shm'

ok info "$N" --json
pyjson '
for k in ("name", "backend", "size", "numa_node", "contiguous", "pinned", "generation",
          "crashes", "created", "attachers", "objects"):
    assert k in d, k
assert d["name"] == "'"$N"'"
assert d["backend"] == "shm"
assert d["size"] == 2097152
assert d["numa_node"] == -1
assert isinstance(d["contiguous"], bool) and isinstance(d["pinned"], bool)
assert d["generation"] == 0 and d["crashes"] == 0
assert d["mode"] == "0640", d["mode"]
assert d["objects"] == []
import os
for a in d["attachers"]:
    assert set(("pid", "access", "state", "exit", "signal")) <= set(a), a
    assert a["access"] in ("ro", "rw") and a["state"] in ("attached", "detached", "died", "exec"), a
    assert a["pid"] != os.getpid()
# create attached rw and detached again; nobody is attached now
assert any(a["access"] == "rw" and a["state"] == "detached" for a in d["attachers"]), d["attachers"]
assert not any(a["state"] == "attached" for a in d["attachers"]), d["attachers"]
'

# Sizes with suffixes, rounded up to 4K.
name small
ok create "$N" --size 5000
ok info "$N" --json
pyjson 'assert d["size"] == 8192, d["size"]'
ok rm "$N"

# The global --backend option.
name be
ok --backend shm create "$N" --size 64K
ok --backend shm info "$N" --json
pyjson 'assert d["backend"] == "shm" and d["size"] == 65536'

ok rm "$N"
rc 1 info "$N"
err_is "^pinshm: info $N: no such region\$"
ok ls
grep -q "^$N " "$TMP/out" && fail "ls still shows $N after rm"
exit 0
