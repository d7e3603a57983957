#!/bin/bash
# SPDX-License-Identifier: MIT
# A producer killed by SIGKILL shows as died (signal 9) in info, recover
# counts it, and its role is taken over; a role held by a live process is
# refused with a clear line.
. "$(dirname "$0")/lib.sh"

name died
ok create "$N" --size 1M
ok ring add "$N" r --type spsc --capacity 4K

# No consumer: pub fills the ring and waits there.
"$PINSHM" pub "$N" r --count 1000 --quiet 2>"$TMP/perr" &
ppid=$!
bg $ppid
for i in $(seq 200); do
	[ "$(ring_stat "$N" r full_events)" -ge 1 ] 2>/dev/null && break
	sleep 0.01
done
[ "$(ring_stat "$N" r producer_pid)" = "$ppid" ] || fail "producer_pid is not $ppid"

# A second producer is refused while the first lives.
rc 1 pub "$N" r
err_is "^pinshm: pub $N/r: the producer role is held by live process $ppid\$"

kill -9 $ppid
wait $ppid 2>/dev/null
# (Opening a shm region reaps the dead too, so this recover may find 0.)
ok recover "$N"
out_has "^$N: [01] dead attachers? found; generation 1, crashes 1\$"
ok recover "$N"
out_has "^$N: 0 dead attachers found; generation 1, crashes 1\$"

ok info "$N" --json
pyjson '
died = [a for a in d["attachers"] if a["pid"] == '$ppid']
assert len(died) == 1, d["attachers"]
a = died[0]
assert a["state"] == "died" and a["access"] == "rw", a
assert a["signal"] in (9, None) and a["exit"] is None, a
assert d["generation"] == 1 and d["crashes"] == 1, d
'
ok info "$N"
grep -Eq "^  $ppid +rw +died " "$TMP/out" || fail "info does not show $ppid as died"

# The dead producer's role is taken over; everything it committed arrives.
n=$(ring_stat "$N" r msgs_in)
ok tail "$N" r --count "$n" --quiet
ok pub "$N" r --count 3
ok tail "$N" r --count 3
out_has '^len=64 type=0$'

# info on its own (no recover first) also finds a death.
"$PINSHM" tail "$N" r --quiet 2>/dev/null &
tpid=$!
bg $tpid
sleep 0.3
rc 1 tail "$N" r
err_is "^pinshm: tail $N/r: the consumer role is held by live process $tpid\$"
kill -9 $tpid
wait $tpid 2>/dev/null
ok info "$N" --json
pyjson '
a = [a for a in d["attachers"] if a["pid"] == '$tpid'][0]
assert a["state"] == "died", a
assert d["crashes"] == 2, d
'
exit 0
