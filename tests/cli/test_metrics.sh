#!/bin/bash
# SPDX-License-Identifier: MIT
# metrics: the BPF programs on libpinshm's USDT probes count exactly the
# slow-path events a program provokes, bpftool reads the pinned maps with
# named fields, a sleeping tail's wake fills the histograms, unload leaves
# nothing, and bad input fails with one line and pins nothing. Needs root
# (CI runs as root) and a kernel with BPF, BTF and uprobes.
. "$(dirname "$0")/lib.sh"

PIN=/sys/fs/bpf/pinshm
PROVOKE=$ROOT/build/tests/usdt/provoke
LIBSO=$(ls "$ROOT"/build/libpinshm.so.[0-9]*.[0-9]* | head -n 1)
[ "$(id -u)" -eq 0 ] || fail "needs root (loads BPF programs)"
[ -x "$PROVOKE" ] || fail "$PROVOKE not built (make $PROVOKE)"
command -v bpftool >/dev/null || fail "bpftool not installed (apt-get install bpftool)"
[ ! -e "$PIN" ] || fail "$PIN exists: metrics already loaded (pinshm metrics unload)"
trap '"$PINSHM" metrics unload >/dev/null 2>&1; cleanup' EXIT

# Nothing of ours left: no pin, and (soon: programs are freed after an RCU
# grace period) no program or link of ours in bpftool.
gone() {
	local i
	[ ! -e "$PIN" ] || fail "$PIN still there after unload"
	for i in $(seq 50); do
		bpftool prog show 2>/dev/null | grep -Eq 'name (usdt_|btf_|raw_)[a-z_]+ ' || break
		sleep 0.1
	done
	bpftool prog show | grep -E 'name (usdt_|btf_|raw_)[a-z_]+ ' && fail "pinshm programs left"
	bpftool link show | grep -E 'prog [0-9]+' | while read -r l; do
		id=$(echo "$l" | sed -n 's/.*prog \([0-9]*\).*/\1/p')
		bpftool prog show id "$id" 2>/dev/null | grep -Eq 'name (usdt_|btf_|raw_)' &&
			fail "pinshm link left: $l"
	done
	return 0
}

# 1. The library's probes, system-wide, in the shared library provoke uses.
ok metrics load --binary "$LIBSO"
out_has '^loaded in [0-9.]+ ms: [0-9]+ links pinned'
out_has "probes: 11 of 11 in $LIBSO"
[ -d "$PIN/links" ] || fail "no $PIN/links"
ls "$PIN"/links | grep -q '^usdt_backpressure_' || fail "no backpressure link pinned"

# load twice: one line, exit 1, what was pinned stays as it was
before=$(ls -R "$PIN")
rc 1 metrics load --binary "$LIBSO"
err_is '^pinshm: metrics load: already loaded; pinshm metrics unload first$'
[ "$(ls -R "$PIN")" = "$before" ] || fail "a second load changed $PIN"

NB=7 NL=3 NK=2
name prov
PINSHM_BACKEND=shm "$PROVOKE" --backpressure $NB --laps $NL --recoveries $NK --region "$N" \
	>"$TMP/provoke" 2>&1 || fail "provoke failed: $(cat "$TMP/provoke")"
bpftool map dump pinned "$PIN/rings" >"$TMP/rings.json" || fail "bpftool map dump rings failed"
python3 - "$TMP/rings.json" "$N" $NB $NL $NK <<'PY' || fail "bpftool's rings dump is not N, M, K"
import json, sys
d = json.load(open(sys.argv[1]))
region, nb, nl, nk = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
mine = [e for e in d if e["key"]["region"] == region]
tot = lambda f: sum(e["value"][f] for e in mine)
assert tot("backpressure") == nb, (tot("backpressure"), mine)
assert tot("laps") == nl, (tot("laps"), mine)
assert tot("recoveries") == nk and tot("pads") == nk, mine
assert tot("lost") > 0, mine
PY
ok metrics show --json
pyjson "
r = {g['ring']: g for g in d['rings'] if g['region'] == '$N'}
assert sum(g['backpressure'] for g in r.values()) == $NB, r
assert sum(g['laps'] for g in r.values()) == $NL, r
assert sum(g['recoveries'] for g in r.values()) == $NK, r
reg = [x for x in d['regions'] if x['region'] == '$N'][0]
assert reg['creates'] == 1 and reg['destroys'] == 1 and reg['opens'] >= 1, reg
assert any(p['comm'] == 'provoke' and p['backpressure'] == $NB for p in d['procs']), d['procs']
"
lost=$(sed -n 's/.*lapped [0-9]* lost \([0-9]*\).*/\1/p' "$TMP/provoke")
pyjson "assert sum(g['lost'] for g in d['rings'] if g['region'] == '$N') == $lost"
ok metrics show --prometheus
out_has '^# TYPE pinshm_ring_backpressure_total counter$'
grep -E "^pinshm_ring_backpressure_total\{region=\"$N\",ring=\"[a-z]+\"\} $NB\$" "$TMP/out" >/dev/null ||
	fail "no pinshm_ring_backpressure_total $NB for $N: $(grep backpressure_total "$TMP/out")"
out_has '^pinshm_consumer_sleep_seconds_bucket\{le="\+Inf"\} [0-9]+$'
out_has '^pinshm_consumer_sleep_seconds_count [0-9]+$'
ok metrics show
out_has "^$N/[a-z]+ +$NB "
ok metrics unload
out_has "^unloaded"
gone

# 2. A program linked with libpinshm.a: pinshm itself. An idle tail sleeps,
# pub wakes it: both histograms get entries.
ok metrics load --binary "$PINSHM"
name sleep
ok create "$N" --size 1M
ok ring add "$N" r --type spsc --capacity 4K
"$PINSHM" tail "$N" r --count 1 >"$TMP/tail.out" 2>&1 &
tpid=$!
bg $tpid
# Past its spins and yields: asleep (S) at five looks 20 ms apart, 10 s at most.
quiet=0
for i in $(seq 500); do
	[ "$quiet" -ge 5 ] && break
	sleep 0.02
	st=$(sed 's/.*) //' /proc/$tpid/stat 2>/dev/null | cut -c1)
	if [ "$st" = S ]; then quiet=$((quiet + 1)); else quiet=0; fi
done
[ "$quiet" -ge 5 ] || fail "tail never fell asleep"
ok pub "$N" r --count 1
wait $tpid || fail "tail exited $?"
# A wake's sample is added by whichever of its two events comes second.
for i in $(seq 30); do
	ok metrics show --json
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if sum(s["count"] for s in d["wake_ns_log2"]) else 1)' "$TMP/out" && break
	sleep 0.1
done
pyjson "
r = [g for g in d['rings'] if g['region'] == '$N' and g['ring'] == 'r'][0]
assert r['sleeps'] >= 1 and r['wakes'] >= 1, r
assert sum(s['count'] for s in d['sleep_ns_log2']) >= 1, d['sleep_ns_log2']
assert sum(s['count'] for s in d['wake_ns_log2']) >= 1, d['wake_ns_log2']
"
ok metrics unload
gone

# 3. Bad input: one line, exit 1, nothing pinned.
rc 1 metrics unload
err_is '^pinshm: metrics unload: nothing loaded \(no /sys/fs/bpf/pinshm\)$'
rc 1 metrics show
err_is '^pinshm: metrics show: nothing loaded'
rc 1 metrics load --binary /bin/true
err_is '^pinshm: metrics load: /bin/true has no pinshm USDT probes'
[ ! -e "$PIN" ] || fail "a failed load left $PIN"
rc 1 metrics load --binary "$TMP/nosuch"
err_is "^pinshm: metrics load: $TMP/nosuch: No such file or directory\$"
"$PINSHM" --version >/dev/null
setpriv --reuid=65534 --regid=65534 --clear-groups "$PINSHM" metrics load --binary "$LIBSO" \
	>"$TMP/out" 2>"$TMP/err"
RC=$?
[ $RC -eq 1 ] || fail "load as nobody exited $RC"
err_is '^pinshm: metrics load: needs root'
[ ! -e "$PIN" ] || fail "a failed load left $PIN"
# No bpffs on /sys/fs/bpf and no right to mount one: root without
# CAP_SYS_ADMIN, in a mount namespace of its own where bpffs is unmounted.
unshare -m sh -c 'umount /sys/fs/bpf 2>/dev/null; exec setpriv --inh-caps=-sys_admin \
	--bounding-set=-sys_admin "$0" metrics load --binary "$1"' "$PINSHM" "$LIBSO" \
	>"$TMP/out" 2>"$TMP/err"
RC=$?
[ $RC -eq 1 ] || fail "load without bpffs nor CAP_SYS_ADMIN exited $RC"
err_is '^pinshm: metrics load: no bpffs on /sys/fs/bpf and cannot mount it: Operation not permitted$'
[ ! -e "$PIN" ] || fail "a failed load left $PIN"
# A kernel without BTF: /sys/kernel/btf hidden under an empty tmpfs.
unshare -m sh -c 'mount -t tmpfs none /sys/kernel/btf && exec "$0" metrics load --binary "$1"' \
	"$PINSHM" "$LIBSO" >"$TMP/out" 2>"$TMP/err"
RC=$?
[ $RC -eq 1 ] || fail "load without vmlinux BTF exited $RC"
err_is '^pinshm: metrics load: this kernel has no BTF \(/sys/kernel/btf/vmlinux missing: CONFIG_DEBUG_INFO_BTF=y is needed\)$'
[ ! -e "$PIN" ] || fail "a failed load left $PIN"
# A tracepoint variant that does not exist.
PINSHM_METRICS_TP=fast rc 1 metrics load --binary "$LIBSO"
err_is '^pinshm: metrics load: PINSHM_METRICS_TP=fast: raw or auto$'
[ ! -e "$PIN" ] || fail "a failed load left $PIN"
rc 2 metrics show --binary x
rc 2 metrics show --json --prometheus
gone
exit 0
