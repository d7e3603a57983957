#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guest-test.sh - inside the qemu guest of tests/deb/vm.sh, as its init (PID 1, after the
# initramfs mounted the root filesystem): install, use, upgrade and purge pinshm's packages
# as an administrator would, on a Debian 12 debootstrapped for the test, with no network.
# Every result is a line "PINSHM-DEB-OK what" or "PINSHM-DEB-FAIL what: why" on the console,
# the last "PINSHM-DEB-END fails=N"; vm.sh parses them.
#
# /pinshm-test/old/*.deb   the packages of VERSION
# /pinshm-test/new/*.deb   the same of a higher version (make deb DEB_VERSION=...)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 HOME=/root
T=/pinshm-test
fails=0
t0=$(cut -d. -f1 /proc/uptime 2>/dev/null)

ok() { echo "PINSHM-DEB-OK $*"; }
bad() { echo "PINSHM-DEB-FAIL $*"; fails=$((fails + 1)); }
step() { echo "PINSHM-DEB-STEP $(( $(cut -d. -f1 /proc/uptime) - t0 ))s $*"; }
# run_as USER: run the command with USER's uid, gid and groups
run_as() { u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }
finish() {
	echo "PINSHM-DEB-END fails=$fails time=$(( $(cut -d. -f1 /proc/uptime) - t0 ))s"
	sync
	echo 1 > /proc/sys/kernel/sysrq
	echo o > /proc/sysrq-trigger
	sleep 10
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm /run/lock
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# what systemd would make in /dev (dkms's <(...) needs /dev/fd)
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount -o remount,rw /
t0=$(cut -d. -f1 /proc/uptime)
echo "PINSHM-DEB-BOOTED kernel=$(uname -r) cpus=$(nproc)"
hostname pinshm-deb
/lib/systemd/systemd-udevd --daemon >/dev/null 2>&1
udevadm trigger --action=add >/dev/null 2>&1
udevadm settle --timeout=30

# The file list to compare after the purge: all of / but pseudo file systems, this test,
# and what dpkg, apt and logs keep by design (their records and caches).
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path $T -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache/apt \
		-o -path /var/cache/debconf -o -path /var/log \) -prune -o -print | sort
}
snapshot > /tmp/files.before

# ---- install
step "apt-get install ./*.deb (VERSION)"
cd $T/old
if apt-get install -y ./*.deb 2>&1 | tee /tmp/install.log | sed 's/^/  | /'; then :; fi
if dpkg-query -W -f='${Status}\n' pinshm-dkms libpinshm1 libpinshm-dev pinshm-tools 2>/dev/null |
   grep -cx 'install ok installed' | grep -qx 4; then
	ok "install: apt-get install of the 4 packages"
else
	bad "install: not every package installed"
	finish
fi
step "installed"
ko=$(find /lib/modules/"$(uname -r)" -name 'pinshm.ko*')
[ -n "$ko" ] && ok "dkms: built and installed $ko" || bad "dkms: no pinshm.ko for $(uname -r)"
dkms status pinshm | sed 's/^/  dkms status: /'
if modprobe pinshm; then ok "modprobe pinshm"; else bad "modprobe pinshm failed"; fi
udevadm settle --timeout=30
perm=$(stat -c '%U:%G %a' /dev/pinshm 2>&1)
[ "$perm" = "root:pinshm 660" ] && ok "/dev/pinshm is $perm" || bad "/dev/pinshm is $perm, not root:pinshm 660"

# ---- a member of pinshm, and someone who is not
usermod -aG pinshm trader
export PINSHM_BACKEND=kmod
if run_as trader pinshm create md --size 1M && run_as trader pinshm ring add md q --type spsc --capacity 64K; then
	ok "member: created region md and ring q"
else
	bad "member: cannot create a region"
fi
run_as trader pinshm info md | grep -E 'backend|contiguous' | sed 's/^/  info: /'
run_as trader pinshm tail md q --check-seq --count 100 --quiet > /tmp/tail1.out 2>&1 &
tp=$!
run_as trader pinshm pub md q --seq --count 100 > /tmp/pub1.out 2>&1 || bad "member: pub failed: $(cat /tmp/pub1.out)"
if wait $tp; then
	ok "member: pub/tail of 100 sequence-numbered messages: $(tail -n 1 /tmp/tail1.out)"
else
	bad "member: tail failed: $(cat /tmp/tail1.out)"
fi
if run_as outsider sh -c 'exec 3< /dev/pinshm' > /tmp/outsider.out 2>&1; then
	bad "non-member: opened /dev/pinshm"
elif grep -q 'Permission denied' /tmp/outsider.out; then
	ok "non-member: open(/dev/pinshm) refused: $(head -n 1 /tmp/outsider.out)"
else
	bad "non-member: open(/dev/pinshm) failed, but not with EACCES: $(cat /tmp/outsider.out)"
fi
if run_as outsider pinshm ls > /tmp/outsider.out 2>&1; then
	bad "non-member: pinshm ls worked: $(cat /tmp/outsider.out)"
elif grep -qi 'permission denied' /tmp/outsider.out; then
	ok "non-member refused: $(head -n 1 /tmp/outsider.out)"
else
	bad "non-member: failed, but not with EACCES: $(cat /tmp/outsider.out)"
fi

# ---- libpinshm-dev: the README's example, built with the installed headers and library
if gcc -O2 -o /tmp/example $T/example.c -lpinshm > /tmp/example.out 2>&1 &&
   PINSHM_BACKEND=shm /tmp/example >> /tmp/example.out 2>&1; then
	ok "dev: the README example builds with -lpinshm and runs ($(ldd /tmp/example | grep -o 'libpinshm[^ ]* => [^ ]*'))"
else
	bad "dev: the README example: $(tail -n 3 /tmp/example.out)"
fi

# ---- pinshm-metrics.service's commands, as installed (no systemd in this guest: run them)
unit=$(ls /lib/systemd/system/pinshm-metrics.service /usr/lib/systemd/system/pinshm-metrics.service 2>/dev/null | head -n 1)
if [ -z "$unit" ]; then
	bad "metrics: no pinshm-metrics.service installed"
elif ls /etc/systemd/system/*.wants/pinshm-metrics.service >/dev/null 2>&1; then
	bad "metrics: pinshm-metrics.service is enabled by default"
else
	ok "metrics: $unit installed, not enabled"
	start=$(sed -n 's/^ExecStart=//p' "$unit") stop=$(sed -n 's/^ExecStop=//p' "$unit")
	if $start > /tmp/metrics.out 2>&1 && /usr/bin/pinshm metrics show >> /tmp/metrics.out 2>&1 &&
	   $stop >> /tmp/metrics.out 2>&1 && [ ! -e /sys/fs/bpf/pinshm ]; then
		ok "metrics: the unit's ExecStart ($start), show and ExecStop ($stop) work"
	else
		bad "metrics: $(tail -n 3 /tmp/metrics.out)"
	fi
	sed 's/^/  metrics: /' /tmp/metrics.out | grep -iE 'loaded|tp_btf|raw_tp|libpinshm|error' | head -n 4
fi

# ---- upgrade while the module is loaded and the region in use
step "upgrade: apt-get install ./*.deb (the higher version), tail waiting on md/q"
run_as trader pinshm tail md q --check-seq --count 200 --quiet > /tmp/tail2.out 2>&1 &
tp=$!
sleep 1
cd $T/new
apt-get install -y ./*.deb 2>&1 | tee /tmp/upgrade.log | sed 's/^/  | /'
step "upgraded"
newver=$(dpkg-query -W -f='${Version}' pinshm-dkms)
ls $T/new/pinshm-dkms_"$newver"_all.deb >/dev/null 2>&1 &&
	ok "upgrade: pinshm-dkms is now $newver" || bad "upgrade: pinshm-dkms is $newver"
grep -q 'existing regions keep working' /tmp/upgrade.log &&
	ok "upgrade: postinst says: $(grep -m1 'existing regions keep working' /tmp/upgrade.log)" ||
	bad "upgrade: postinst did not say the loaded module stays"
dkms status pinshm | sed 's/^/  dkms status: /'
[ -d /sys/module/pinshm ] && ok "upgrade: the old module is still loaded" || bad "upgrade: module unloaded"
run_as trader pinshm pub md q --seq --count 200 > /tmp/pub2.out 2>&1 || bad "upgrade: pub failed: $(cat /tmp/pub2.out)"
if wait $tp; then
	ok "upgrade: the region kept working: a tail started before the upgrade got seq 101..200: $(tail -n 1 /tmp/tail2.out)"
else
	bad "upgrade: tail across the upgrade failed: $(cat /tmp/tail2.out)"
fi
if modprobe -r pinshm 2>/tmp/rmmod.out; then
	bad "upgrade: the module unloaded with a region alive"
else
	ok "upgrade: modprobe -r refused while region md lives: $(head -n 1 /tmp/rmmod.out)"
fi
run_as trader pinshm rm md || bad "rm md failed"
if modprobe -r pinshm && modprobe pinshm; then
	ok "upgrade: reloaded (modprobe -r pinshm && modprobe pinshm) once no region was in use"
else
	bad "upgrade: reload failed"
fi
udevadm settle --timeout=30
run_as trader pinshm create md2 --size 64K && run_as trader pinshm rm md2 &&
	ok "upgrade: the new module works for the member" || bad "upgrade: new module refuses the member"
modprobe -r pinshm || bad "final modprobe -r failed"

# ---- purge
step "apt-get purge"
apt-get purge -y pinshm-dkms libpinshm1 libpinshm-dev pinshm-tools 2>&1 | tee /tmp/purge.log | sed 's/^/  | /'
step "purged"
left=$(find /lib/modules /usr/lib/modules -name 'pinshm*' 2>/dev/null)
[ -z "$left" ] && ok "purge: no pinshm module left" || bad "purge: left $left"
left=$(ls /etc/udev/rules.d/*pinshm* /lib/udev/rules.d/*pinshm* /usr/lib/udev/rules.d/*pinshm* 2>/dev/null)
[ -z "$left" ] && ok "purge: no udev rule left" || bad "purge: left $left"
dpkg -l 'pinshm*' 'libpinshm*' 2>/dev/null | grep -E '^[a-z][a-z] ' | grep -v '^un ' | sed 's/^/  dpkg: /'
snapshot > /tmp/files.after
if diff /tmp/files.before /tmp/files.after > /tmp/files.diff; then
	ok "purge: the file list is the same as before the install ($(wc -l < /tmp/files.before) paths)"
else
	bad "purge: files differ from before the install:"
	sed 's/^/  diff: /' /tmp/files.diff | head -n 40
fi
getent group pinshm >/dev/null && echo "  note: group pinshm stays (system groups are not removed on purge)"
finish
