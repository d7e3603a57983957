#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm.sh - run the pinshm kernel tests in a qemu TCG guest (on the HOST).
#
# Builds an initramfs (static busybox + applet links, pinshm.ko, the test
# programs, run.sh, any EXTRA_BINS and bpftool with their shared libraries,
# bpffs mounted on /sys/fs/bpf), boots
# Debian's 6.1 kernel on it with qemu (TCG only: never KVM), collects the
# serial console, and parses what tests/kernel/run.sh printed there.
#
# Environment (all optional; the top-level Makefile sets them):
#   KVER        kernel release     (default: newest /boot/vmlinuz-6.1.*)
#   KMOD        pinshm.ko          (default: kmod/pinshm.ko)
#   TESTBIN     compiled tests     (default: build/tests/kernel)
#   OUT         work/log dir       (default: build/kernel)
#   EXTRA_BINS  space-separated host binaries to copy to /usr/local/bin
#   BPFTOOL     bpftool copied to /usr/sbin, with its libraries (default /usr/sbin/bpftool)
#   QEMU_TIMEOUT  seconds before the guest is killed (default 600)
#   QEMU_MEM      guest MiB (default 1024)    QEMU_SMP  cpus (default 2)
#   TESTS       space-separated subset of tests to run (default: all)
#   PINSHM_TIMEOUT  per-test seconds inside the guest (default 240)
#   KFUZZ_SECONDS, KFUZZ_SEED, KFUZZ_PROCS   20_fuzz's run time (default 60),
#               seed (default: the clock) and processes (default 6);
#               KFUZZ_SKIP operations it leaves out ("fork,madvise")
#   KFUZZ_RELOADS  21_reload_cycles' insmod/rmmod cycles
#
# Exit status 0 only if the guest booted and finished, every expected test
# (one per tests/kernel/*.c) ran its full TAP plan with no "not ok", and the
# kernel log shows no WARNING/BUG/Oops/panic. Otherwise 1, with a one-line
# reason last ("vm.sh: FAIL: ..."). Console log: $OUT/console.log.
#
# Run one test by hand in the guest:
#   TESTS=03_contiguity tests/kernel/vm.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

KVER=${KVER:-$(ls /boot/vmlinuz-6.1.* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)}
KMOD=${KMOD:-$root/kmod/pinshm.ko}
TESTBIN=${TESTBIN:-$root/build/tests/kernel}
OUT=${OUT:-$root/build/kernel}
EXTRA_BINS=${EXTRA_BINS:-}
KFUZZ_SECONDS=${KFUZZ_SECONDS:-}
KFUZZ_RELOADS=${KFUZZ_RELOADS:-}
# a longer fuzz or more reload cycles get a longer guest
QEMU_TIMEOUT=${QEMU_TIMEOUT:-$((600 + ${KFUZZ_SECONDS:-60} + ${KFUZZ_RELOADS:-0} / 5))}
QEMU_MEM=${QEMU_MEM:-1024}
QEMU_SMP=${QEMU_SMP:-2}
TESTS=${TESTS:-}
BUSYBOX=${BUSYBOX:-/bin/busybox}
BPFTOOL=${BPFTOOL:-/usr/sbin/bpftool}

fail() {
	echo "vm.sh: FAIL: $*" >&2
	exit 1
}

note() { echo "vm.sh: $*"; }

# ---------------------------------------------------------------- checks
[ -n "$KVER" ] || fail "no /boot/vmlinuz-6.1.* kernel found (set KVER)"
KERNEL=/boot/vmlinuz-$KVER
KCONFIG=/boot/config-$KVER
[ -r "$KERNEL" ] || fail "kernel image $KERNEL not readable"
for t in qemu-system-x86_64 cpio gzip timeout; do
	command -v $t >/dev/null || fail "$t not found (apt-get install qemu-system-x86 cpio gzip coreutils)"
done
[ -x "$BUSYBOX" ] || fail "$BUSYBOX not found (apt-get install busybox-static)"
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' ||
	fail "$BUSYBOX is not statically linked (apt-get install busybox-static)"

# required kernel options
if [ -r "$KCONFIG" ]; then
	missing=""
	while read -r line; do
		line=${line%%#*}
		line=$(echo $line)
		[ -n "$line" ] || continue
		opt=${line%%=*} want=${line#*=}
		have=$(grep -E "^$opt=" "$KCONFIG" | head -n 1)
		have=${have#*=}
		case $want in
		m) [ "$have" = y ] || [ "$have" = m ] || missing="$missing $opt=$want(have:${have:-unset})" ;;
		*) [ "$have" = "$want" ] || missing="$missing $opt=$want(have:${have:-unset})" ;;
		esac
	done < "$here/config"
	[ -z "$missing" ] || fail "kernel $KVER lacks required options:$missing (see tests/kernel/config)"
else
	fail "$KCONFIG not readable: cannot check tests/kernel/config"
fi

# the module
if [ -f "$KMOD" ]; then
	vermagic=$(modinfo -F vermagic "$KMOD" 2>/dev/null | awk '{print $1}')
	[ -z "$vermagic" ] || [ "$vermagic" = "$KVER" ] ||
		fail "$KMOD was built for $vermagic, not $KVER (make kmod KDIR=/usr/src/linux-headers-$KVER)"
else
	note "WARNING: $KMOD does not exist; booting without it (the run will fail with 'insmod failed')"
fi

# expected tests: one per tests/kernel/*.c
expected=""
for src in "$here"/*.c; do
	[ -e "$src" ] || continue
	n=$(basename "$src" .c)
	if [ -n "$TESTS" ]; then
		case " $TESTS " in *" $n "*) ;; *) continue ;; esac
	fi
	[ -x "$TESTBIN/$n" ] || fail "test program $TESTBIN/$n not built (make $TESTBIN/$n)"
	[ "$TESTBIN/$n" -nt "$src" ] || note "WARNING: $TESTBIN/$n is older than $src"
	expected="$expected $n"
done
for n in $TESTS; do
	case " $expected " in *" $n "*) ;; *) fail "unknown test $n in TESTS" ;; esac
done
[ -n "$expected" ] || fail "no tests found in $here"

# ---------------------------------------------------------------- initramfs
mkdir -p "$OUT" || fail "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
RD=$OUT/initramfs
rm -rf "$RD"
mkdir -p "$RD"/bin "$RD"/sbin "$RD"/usr/bin "$RD"/usr/sbin "$RD"/usr/local/bin \
	"$RD"/proc "$RD"/sys "$RD"/dev "$RD"/tmp "$RD"/run "$RD"/etc \
	"$RD"/pinshm/tests || fail "cannot populate $RD"
cp "$BUSYBOX" "$RD"/bin/busybox
for app in $("$BUSYBOX" --list-full); do
	[ -e "$RD/$app" ] || ln -s /bin/busybox "$RD/$app"
done
[ -e "$RD"/bin/sh ] || ln -s busybox "$RD"/bin/sh
echo "root:x:0:0:root:/:/bin/sh" > "$RD"/etc/passwd
echo "nobody:x:65534:65534:nobody:/:/bin/false" >> "$RD"/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' > "$RD"/etc/group

[ -f "$KMOD" ] && cp "$KMOD" "$RD"/pinshm/pinshm.ko
cp "$here"/run.sh "$RD"/pinshm/run.sh
chmod 755 "$RD"/pinshm/run.sh
for n in $expected; do
	cp "$TESTBIN/$n" "$RD/pinshm/tests/$n"
done

# extra binaries and their shared libraries
copy_lib() {
	local src=$1
	[ -e "$RD$src" ] && return 0
	mkdir -p "$RD$(dirname "$src")"
	cp -L "$src" "$RD$src"
}
copy_libs_of() {
	local lib
	for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+'); do
		[ -f "$lib" ] && copy_lib "$lib"
	done
}
for b in $EXTRA_BINS; do
	if [ ! -x "$b" ]; then
		note "WARNING: EXTRA_BINS: $b not found; skipped"
		continue
	fi
	cp -L "$b" "$RD"/usr/local/bin/
	copy_libs_of "$b"
done
# bpftool, for the metrics test (17_metrics) to read the pinned maps
if [ -x "$BPFTOOL" ]; then
	cp -L "$BPFTOOL" "$RD"/usr/sbin/bpftool
	copy_libs_of "$BPFTOOL"
else
	note "WARNING: $BPFTOOL not found (apt-get install bpftool): 17_metrics will fail"
fi

cat > "$RD"/init <<'EOF'
#!/bin/sh
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
# From here on show warnings and worse on the console as they happen.
dmesg -n 5
echo
echo "PINSHM-GUEST-BOOTED kernel=$(uname -r) cmdline=$(cat /proc/cmdline)"
cd /pinshm
PINSHM_TESTS=$(cat /pinshm/tests.list 2>/dev/null)
[ -f /pinshm/env ] && . /pinshm/env
./run.sh $PINSHM_TESTS
echo "PINSHM-GUEST-DONE rc=$?"
sync
poweroff -f
sleep 5
echo o > /proc/sysrq-trigger
EOF
chmod 755 "$RD"/init
echo $expected > "$RD"/pinshm/tests.list
: > "$RD"/pinshm/env
[ -n "${PINSHM_TIMEOUT:-}" ] && echo "export PINSHM_TIMEOUT=$PINSHM_TIMEOUT" >> "$RD"/pinshm/env
for v in KFUZZ_SECONDS KFUZZ_SEED KFUZZ_PROCS KFUZZ_RELOADS; do
	eval "val=\${$v:-}"
	case $val in
	'') ;;
	*[!0-9a-fA-Fx]*) fail "$v=$val: a number, please" ;;
	*) echo "export $v=$val" >> "$RD"/pinshm/env ;;
	esac
done
case ${KFUZZ_SKIP:-} in
*[!a-zA-Z/,-]*) fail "KFUZZ_SKIP=$KFUZZ_SKIP: operation names, comma-separated" ;;
?*) echo "export KFUZZ_SKIP=$KFUZZ_SKIP" >> "$RD"/pinshm/env ;;
esac

(cd "$RD" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$OUT"/initramfs.cpio.gz ||
	fail "cannot build $OUT/initramfs.cpio.gz"

# ---------------------------------------------------------------- boot
LOG=$OUT/console.log
note "booting $KERNEL in qemu TCG (${QEMU_MEM} MiB, $QEMU_SMP cpus, timeout ${QEMU_TIMEOUT}s); log: $LOG"
note "tests:$expected"
t0=$(date +%s)
timeout -k 10 "$QEMU_TIMEOUT" qemu-system-x86_64 \
	-machine accel=tcg -cpu max -smp "$QEMU_SMP" -m "$QEMU_MEM" \
	-nographic -no-reboot \
	-kernel "$KERNEL" -initrd "$OUT"/initramfs.cpio.gz \
	-append "console=ttyS0 panic=-1 slub_debug=FZPU init_on_free=1 panic_on_warn=1 oops=panic quiet" \
	< /dev/null > "$LOG" 2>&1
qrc=$?
t1=$(date +%s)
note "guest ran $((t1 - t0)) s (qemu exit $qrc)"

# ---------------------------------------------------------------- parse
CLEAN=$OUT/console.clean.log
# drop CRs and the terminal escapes (ESC c, ESC [...x) the firmware prints
tr -d '\r' < "$LOG" | sed -E 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[A-Za-z]//g' > "$CLEAN"

BAD='WARNING:|BUG:|BUG |Oops|general protection|KASAN|UBSAN|Redzone|Poison overwritten|Object padding|Padding overwritten|Freepointer|kernel BUG|Call Trace|list_add corruption|list_del corruption|refcount_t:|Bad page|page dumped because|soft lockup|hard LOCKUP|blocked for more than|Kernel panic|double free|use-after-free|still in use'
# A memory cgroup's OOM report is no complaint (as in run.sh): 18_limits sets
# memory.max, and an allocation the kernel makes for a CREATE may meet it.
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
# kernel lines: everything but TAP, comments and our markers
kernel_bad=$(grep -vE '^(ok |not ok |# |1\.\.|PINSHM-|Bail out!)' "$CLEAN" | drop_memcg_oom |
	grep -E "$BAD" | head -n 20)

show_tail() {
	echo "---- last 40 lines of $LOG ----" >&2
	tail -n 40 "$CLEAN" >&2
	echo "----" >&2
}

reasons=""
add_reason() { reasons="$reasons${reasons:+; }$*"; }

if ! grep -q 'PINSHM-GUEST-BOOTED' "$CLEAN"; then
	show_tail
	[ $qrc -eq 124 ] && fail "guest did not boot within ${QEMU_TIMEOUT}s (no PINSHM-GUEST-BOOTED; see $LOG)"
	fail "guest did not boot (no PINSHM-GUEST-BOOTED, qemu exit $qrc; see $LOG)"
fi
fatal=$(grep -m1 '^PINSHM-RUN-FATAL' "$CLEAN" | sed 's/^PINSHM-RUN-FATAL //')
if [ -n "$fatal" ]; then
	show_tail
	extra=$(grep -m1 '^# kmsg-bad|' "$CLEAN" | sed 's/^# kmsg-bad| //')
	[ -n "$extra" ] || extra=$(printf '%s\n' "$kernel_bad" | head -n 1)
	fail "guest run.sh: $fatal${extra:+; kernel complained: $extra}"
fi

# per-test results
results=""
for n in $expected; do
	block=$(awk -v n="$n" '$0 == "PINSHM-TEST-BEGIN " n { on = 1; next }
		on && index($0, "PINSHM-TEST-END " n " ") == 1 { print; exit }
		on { print }' "$CLEAN")
	if ! grep -q "^PINSHM-TEST-BEGIN $n\$" "$CLEAN"; then
		results="$results\n  MISSING $n (never started)"
		add_reason "$n did not run"
		continue
	fi
	endl=$(printf '%s\n' "$block" | grep "^PINSHM-TEST-END $n ")
	plan=$(printf '%s\n' "$block" | grep -m1 -E '^1\.\.[0-9]+' | sed 's/^1\.\.//')
	nok=$(printf '%s\n' "$block" | grep -cE '^ok [0-9]+')
	nnot=$(printf '%s\n' "$block" | grep -cE '^not ok [0-9]+')
	nskip=$(printf '%s\n' "$block" | grep -cE '^ok [0-9]+ .*# SKIP')
	rc=$(printf '%s\n' "$endl" | sed -n 's/.* rc=\([0-9]*\).*/\1/p')
	tm=$(printf '%s\n' "$endl" | sed -n 's/.* time=\([0-9]*s\).*/\1/p')
	status=PASS why=""
	if [ -z "$endl" ]; then
		status=FAIL why="did not finish"
	elif [ -z "$plan" ]; then
		status=FAIL why="no TAP plan"
	elif [ $((nok + nnot)) -ne "$plan" ]; then
		status=FAIL why="ran $((nok + nnot)) of $plan planned"
	elif [ "$nnot" -gt 0 ]; then
		status=FAIL why="$nnot not ok"
	elif [ "$rc" = 4 ]; then
		status=FAIL why="skipped as a whole (exit 4): every kernel test is required"
	elif [ "$rc" != 0 ]; then
		status=FAIL why="exit status $rc"
	fi
	[ "$status" = FAIL ] && add_reason "$n: $why"
	line="  $status $n: $nok/${plan:-?} ok"
	[ "$nskip" -gt 0 ] && line="$line ($nskip skipped)"
	line="$line, ${tm:-?}${why:+ -- $why}"
	results="$results\n$line"
done

summary=$(grep -m1 '^PINSHM-RUN-SUMMARY' "$CLEAN")
if ! grep -q '^PINSHM-RUN-END' "$CLEAN"; then
	if [ $qrc -eq 124 ]; then
		add_reason "guest did not finish within ${QEMU_TIMEOUT}s (no PINSHM-RUN-END)"
	else
		add_reason "guest did not finish (no PINSHM-RUN-END, qemu exit $qrc)"
	fi
fi
case $summary in
*final_rmmod=FAILED*) add_reason "final rmmod pinshm failed (region or reference leaked)" ;;
esac
case $summary in
*kmsg=COMPLAINED*) add_reason "kernel log shows a complaint (see kmsg-bad lines in $LOG)" ;;
esac
if [ -n "$kernel_bad" ]; then
	add_reason "kernel WARNING/BUG/Oops/panic on the console: $(printf '%s\n' "$kernel_bad" | head -n 1)"
fi

printf 'vm.sh: results (%s, %s s):' "$KVER" "$((t1 - t0))"
printf "$results\n"
[ -n "$summary" ] && echo "vm.sh: guest: $summary"
if [ -n "$kernel_bad" ]; then
	echo "vm.sh: kernel complaints on the console:"
	printf '%s\n' "$kernel_bad" | sed 's/^/    /'
fi
grep -E '^not ok|^Bail out|^# kmsg-bad' "$CLEAN" | head -n 40 | sed 's/^/    /'
if [ -n "$reasons" ]; then
	grep -q 'PINSHM-RUN-END' "$CLEAN" || show_tail
	fail "$reasons"
fi
echo "vm.sh: PASS: $(echo $expected | wc -w) kernel test programs, $((t1 - t0)) s in the guest"
exit 0
