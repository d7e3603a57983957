#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run.sh - run the pinshm kernel tests against pinshm.ko, on the machine it
# runs on (normally the qemu guest that vm.sh boots; any root shell with a
# matching kernel works too). POSIX sh + busybox applets only.
#
#   run.sh [TEST...]          default: every executable NN_* in $PINSHM_TESTDIR
#
# Environment:
#   PINSHM_KO          module to load     (default: <dir of run.sh>/pinshm.ko)
#   PINSHM_TESTDIR     compiled tests     (default: <dir of run.sh>/tests)
#   PINSHM_TIMEOUT     seconds per test   (default: 240; more when KFUZZ_SECONDS
#                      or KFUZZ_RELOADS ask 20_fuzz or 21_reload_cycles for more)
#   PINSHM_KMSG_LINES  kernel log lines to echo at the end (default: 200)
#
# Steps: unload a stale pinshm, write a marker to /dev/kmsg, insmod, run each
# test under `timeout` (argv[1] = path of pinshm.ko, which 09/10 need to
# reload it), rmmod at the end (which also proves that no region was left
# behind), then fail if the kernel log after the marker shows WARNING:/BUG:/
# Oops:/general protection/KASAN/slab debug complaints, or the kernel picked
# up a new W/D/B/L taint.
#
# Output: each test's TAP between "PINSHM-TEST-BEGIN name" and
# "PINSHM-TEST-END name rc=N result=pass|fail|skip", then the kernel log after
# the marker prefixed "kmsg| ", then "PINSHM-RUN-SUMMARY ..." and last
# "PINSHM-RUN-END rc=N". Fatal setup errors print "PINSHM-RUN-FATAL reason".
# vm.sh parses exactly these lines. Exit status 0 all passed, 1 otherwise.
#
# By hand, one test, on a machine running the target kernel (as root):
#   make build/tests/kernel/03_contiguity kmod
#   PINSHM_KO=kmod/pinshm.ko PINSHM_TESTDIR=build/tests/kernel \
#       tests/kernel/run.sh 03_contiguity
# or, with the module already loaded, run the program directly:
#   build/tests/kernel/03_contiguity

here=$(cd "$(dirname "$0")" && pwd)
KO=${PINSHM_KO:-$here/pinshm.ko}
TESTDIR=${PINSHM_TESTDIR:-$here/tests}
TMO=${PINSHM_TIMEOUT:-240}
# 20_fuzz runs KFUZZ_SECONDS, 21_reload_cycles KFUZZ_RELOADS cycles: room for both
t=$(( ${KFUZZ_SECONDS:-60} + 180 ))
[ "$t" -gt "$TMO" ] && TMO=$t
t=$(( ${KFUZZ_RELOADS:-0} / 4 + 120 ))
[ "$t" -gt "$TMO" ] && TMO=$t
KMSG_LINES=${PINSHM_KMSG_LINES:-200}

# What counts as a kernel complaint (grep -E).
BAD='WARNING:|BUG:|BUG |Oops|general protection|KASAN|UBSAN|Redzone|Poison overwritten|Object padding|Padding overwritten|Freepointer|kernel BUG|Call Trace|list_add corruption|list_del corruption|refcount_t:|Bad page|page dumped because|soft lockup|hard LOCKUP|blocked for more than|Kernel panic|double free|use-after-free|still in use'
# A memory cgroup's OOM report is no complaint: a test that sets memory.max
# (18_limits) may meet it in an allocation the kernel makes for a CREATE (the
# fd's file), and the report prints a call trace. Global OOM reports stay.
drop_memcg_oom() {
	awk '
/invoked oom-killer/ { blk = 1; n = 0 }
blk {
	buf[n++] = $0
	# the end of a memory cgroup'"'"'s report (a global one with no
	# killable process panics, and says so)
	if (/Memory cgroup out of memory|Out of memory and no killable/)
		blk = 0
	else if (/Out of memory: Killed/) {
		for (i = 0; i < n; i++) print buf[i]
		blk = 0
	}
	next
}
{ print }
END { if (blk) for (i = 0; i < n; i++) print buf[i] }'
}
# taint bits that mean trouble: B(5) bad page, D(7) died, W(9) warning, L(14) soft lockup
TAINT_BAD=$(( (1 << 5) | (1 << 7) | (1 << 9) | (1 << 14) ))

MARK=""
fatal() {
	echo "PINSHM-RUN-FATAL $*"
	[ -n "$MARK" ] && check_kmsg
	echo "PINSHM-RUN-SUMMARY pass=${pass:-0} fail=${fail:-0} skip=${skip:-0} fatal=1"
	echo "PINSHM-RUN-END rc=1"
	exit 1
}

# Echo the kernel log after $MARK; kmsg_ok=0 on any complaint or bad taint.
check_kmsg() {
	kmsg_ok=1
	sleep 1
	dmesg > /tmp/pinshm-kmsg.$$ 2>/dev/null
	awk -v m="$MARK" 'found { print } index($0, m) { found = 1 }' \
		/tmp/pinshm-kmsg.$$ > /tmp/pinshm-kmsg-after.$$
	if ! grep -q "$MARK" /tmp/pinshm-kmsg.$$; then
		echo "# kernel log marker lost (ring buffer wrapped?): checking the whole log"
		cp /tmp/pinshm-kmsg.$$ /tmp/pinshm-kmsg-after.$$
	fi
	n=$(wc -l < /tmp/pinshm-kmsg-after.$$)
	echo "# kernel log after the marker: $n lines (last $KMSG_LINES follow)"
	tail -n "$KMSG_LINES" /tmp/pinshm-kmsg-after.$$ | sed 's/^/kmsg| /'
	if drop_memcg_oom < /tmp/pinshm-kmsg-after.$$ |
	   grep -E "$BAD" > /tmp/pinshm-kmsg-bad.$$; then
		kmsg_ok=0
		echo "# KERNEL COMPLAINED after the marker:"
		head -n 20 /tmp/pinshm-kmsg-bad.$$ | sed 's/^/# kmsg-bad| /'
	fi
	taint1=$(cat /proc/sys/kernel/tainted)
	new_taint=$(( (taint1 & ~taint0) & TAINT_BAD ))
	if [ "$new_taint" -ne 0 ]; then
		kmsg_ok=0
		echo "# kernel taint went from $taint0 to $taint1 (new bad bits $new_taint)"
		echo "# kmsg-bad| new taint bits $new_taint"
	fi
	rm -f /tmp/pinshm-kmsg.$$ /tmp/pinshm-kmsg-after.$$ /tmp/pinshm-kmsg-bad.$$
}

loaded() { grep -q '^pinshm ' /proc/modules 2>/dev/null; }

[ "$(id -u)" = 0 ] || fatal "run.sh must run as root"
[ -d /proc/self ] || fatal "/proc is not mounted"
[ -d /sys/class ] || fatal "/sys is not mounted"
[ -w /dev/kmsg ] || fatal "/dev/kmsg is missing (mount devtmpfs on /dev)"

if [ $# -gt 0 ]; then
	tests="$*"
else
	tests=$(cd "$TESTDIR" 2>/dev/null && for f in [0-9][0-9]_*; do
		[ -f "$f" ] && [ -x "$f" ] && echo "$f"; done | sort)
fi
[ -n "$tests" ] || fatal "no test programs in $TESTDIR"
echo "# tests: $(echo $tests)"
echo "# module: $KO"
echo "# kernel: $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpus, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"

# A stale module from an earlier run would test the wrong thing.
if loaded; then
	rmmod pinshm 2>&1 || fatal "a pinshm module is already loaded and cannot be unloaded"
fi

taint0=$(cat /proc/sys/kernel/tainted)
MARK="pinshm-run.sh-marker-$$-$(date +%s)"
echo "<6>$MARK" > /dev/kmsg || fatal "cannot write to /dev/kmsg"
dmesg | grep -q "$MARK" || fatal "marker not found in the kernel log (dmesg)"

[ -f "$KO" ] || fatal "insmod failed: module file $KO does not exist"
out=$(insmod "$KO" 2>&1) || fatal "insmod failed: $KO: $out"
i=0
while [ ! -c /dev/pinshm ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -c /dev/pinshm ] || fatal "insmod succeeded but /dev/pinshm did not appear"
echo "# insmod ok; /dev/pinshm: $(ls -l /dev/pinshm)"

pass=0 fail=0 skip=0 failed=""
for t in $tests; do
	prog=$TESTDIR/$t
	echo "PINSHM-TEST-BEGIN $t"
	start=$(date +%s)
	if [ ! -x "$prog" ]; then
		echo "# $prog: not found or not executable"
		rc=127
	else
		timeout -s KILL "$TMO" "$prog" "$KO" </dev/null 2>&1
		rc=$?
	fi
	dur=$(( $(date +%s) - start ))
	case $rc in
	0) res=pass; pass=$((pass + 1)) ;;
	4) res=skip; skip=$((skip + 1)) ;;
	*) res=fail; fail=$((fail + 1)); failed="$failed $t"
	   [ $rc -eq 137 ] || [ $rc -eq 124 ] && echo "# $t: killed after ${TMO}s timeout (or SIGKILL)"
	   [ $rc -gt 128 ] && [ $rc -ne 137 ] && echo "# $t: died of signal $((rc - 128))" ;;
	esac
	echo "PINSHM-TEST-END $t rc=$rc result=$res time=${dur}s"
	# 09/10 unload and reload the module; make sure the next test has it
	if ! loaded; then
		echo "# pinshm not loaded after $t; loading it again"
		insmod "$KO" 2>&1 || fatal "insmod failed after $t"
	fi
	left=$(ls /sys/class/misc/pinshm/regions 2>/dev/null | tr '\n' ' ')
	[ -z "$left" ] || echo "# regions left after $t: $left"
done

# Final unload: also proves no region or reference was leaked.
final_ok=1
out=$(rmmod pinshm 2>&1) || {
	final_ok=0
	echo "# final rmmod pinshm failed: $out"
	echo "# regions left: $(ls /sys/class/misc/pinshm/regions 2>/dev/null | tr '\n' ' ')"
	echo "# refcnt: $(cat /sys/module/pinshm/refcnt 2>/dev/null)"
}
[ $final_ok = 1 ] && echo "# final rmmod ok"

# Kernel log after the marker.
check_kmsg

rc=0
[ $fail -eq 0 ] || rc=1
[ $final_ok = 1 ] || rc=1
[ $kmsg_ok = 1 ] || rc=1
echo "PINSHM-RUN-SUMMARY pass=$pass fail=$fail skip=$skip final_rmmod=$([ $final_ok = 1 ] && echo ok || echo FAILED) kmsg=$([ $kmsg_ok = 1 ] && echo clean || echo COMPLAINED) failed=[${failed# }]"
echo "PINSHM-RUN-END rc=$rc"
exit $rc
