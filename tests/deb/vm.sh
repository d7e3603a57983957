#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm.sh - install, upgrade and purge pinshm's Debian packages in a qemu TCG guest of
# Debian's 6.1 kernel (on the HOST, as root). Run by `make check-deb`.
#
#   1. A root file system made for the test: debootstrap bookworm (minbase with dkms, make,
#      gcc, kmod, udev, adduser and the tools' libraries), the matching linux-headers (from
#      the host's apt: the 6.1 kernels come from bookworm-security), users trader and
#      outsider. Cached in $CACHE (debootstrap is most of the time), keyed by its inputs.
#   2. An ext4 image of it (mkfs.ext4 -d: no mounts) with the packages and
#      tests/deb/guest-test.sh added.
#   3. An initramfs of busybox and the virtio modules of the kernel, which mounts the image
#      and runs guest-test.sh as init.
#   4. qemu TCG (never KVM), the console saved in $LOG; PINSHM-DEB-* lines parsed.
#
# Environment (the Makefile sets them):
#   KVER     the kernel (default: newest /boot/vmlinuz-6.1.*)
#   OLD_DEBS, NEW_DEBS   the packages of VERSION, and of a higher version (space-separated)
#   OUT      work directory (default build/deb-guest)   LOG  transcript (default build/deb-guest.log)
#   CACHE    the debootstrap cache (default $OUT/cache); DEB_GUEST_NOCACHE=1 rebuilds it
#   MIRROR   (default http://deb.debian.org/debian)
#   QEMU_TIMEOUT (default 900)  QEMU_MEM (default 1024)  QEMU_SMP (default 2)
# Exit 0 only when the guest booted, ran to its end and reported no failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
KVER=${KVER:-$(ls /boot/vmlinuz-6.1.* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)}
OUT=${OUT:-$root/build/deb-guest}
LOG=${LOG:-$root/build/deb-guest.log}
CACHE=${CACHE:-$OUT/cache}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-900}
QEMU_MEM=${QEMU_MEM:-1024}
QEMU_SMP=${QEMU_SMP:-2}
BUSYBOX=${BUSYBOX:-/bin/busybox}
OLD_DEBS=${OLD_DEBS:-}
NEW_DEBS=${NEW_DEBS:-}
# What the guest needs besides the packages under test: dkms and its compiler, udev for the
# rule, adduser for the postinst, pahole (pinshm-dkms recommends it: the module's BTF),
# libc6-dev (libpinshm-dev's headers include libc's) and what pinshm-tools links: the guest
# has no network.
INCLUDE=dkms,make,gcc,libc6-dev,kmod,udev,adduser,pahole,libbpf1,libjson-c5,libelf1

fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }
note() { echo "check-deb: $*"; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, files owned by root in the image)"
[ -n "$KVER" ] || fail "no /boot/vmlinuz-6.1.* kernel found (set KVER)"
[ -r "/boot/vmlinuz-$KVER" ] || fail "/boot/vmlinuz-$KVER not readable"
[ -d "/lib/modules/$KVER/kernel" ] || fail "/lib/modules/$KVER: the kernel's modules are missing"
for t in qemu-system-x86_64 debootstrap mkfs.ext4 cpio gzip timeout apt-get dpkg-deb; do
	command -v $t >/dev/null || fail "$t not found (scripts/deps.sh check)"
done
[ -x "$BUSYBOX" ] || fail "$BUSYBOX not found (apt-get install busybox-static)"
[ -n "$OLD_DEBS" ] && [ -n "$NEW_DEBS" ] || fail "OLD_DEBS and NEW_DEBS: the packages to test"
for d in $OLD_DEBS $NEW_DEBS; do [ -f "$d" ] || fail "$d: no such package"; done
mkdir -p "$OUT" "$CACHE" || fail "cannot create $OUT"
T0=$(date +%s)

# ---------------------------------------------------------------- 1. root file system
# The kernel's headers, exactly the host's: the packages and versions installed for /boot's
# kernel (linux-headers-KVER and the linux-* packages it depends on: -common, kbuild, compiler).
hdr_pkgs="linux-headers-$KVER $(dpkg-query -W -f='${Depends}' "linux-headers-$KVER" 2>/dev/null |
	tr ',' '\n' | sed -n 's/^ *\(linux-[^ ]*\).*/\1/p' | tr '\n' ' ')"
for p in $hdr_pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		fail "$p is not installed on the host (scripts/deps.sh build)"
done
[ "$hdr_pkgs" != "linux-headers-$KVER " ] || fail "linux-headers-$KVER is not installed on the host"
# bump "recipe N" below when what is done to the root file system changes
key=$(printf '%s\n' "$KVER" "$INCLUDE" "$MIRROR" \
	$(for p in $hdr_pkgs; do dpkg-query -W -f='${Package}=${Version}\n' "$p"; done) \
	"recipe 1" | sha256sum | cut -c1-12)
rootfs=$CACHE/rootfs-$key
if [ "${DEB_GUEST_NOCACHE:-0}" = 1 ] || [ ! -f "$rootfs/.pinshm-complete" ]; then
	rm -rf "$CACHE"/rootfs-*
	note "debootstrap bookworm (minbase + $INCLUDE) into $rootfs"
	t=$(date +%s)
	mkdir -p "$CACHE/debs"
	debootstrap --variant=minbase --include="$INCLUDE" --cache-dir="$CACHE/debs" \
		bookworm "$rootfs" "$MIRROR" > "$OUT/debootstrap.log" 2>&1 || {
		tail -n 20 "$OUT/debootstrap.log" >&2
		fail "debootstrap failed; see $OUT/debootstrap.log"
	}
	note "debootstrap: $(( $(date +%s) - t )) s"
	# the headers: the host's versions, from the host's apt (bookworm-security)
	mkdir -p "$CACHE/hdr" "$rootfs/tmp/hdr"
	for p in $hdr_pkgs; do
		v=$(dpkg-query -W -f='${Version}' "$p")
		ls "$CACHE"/hdr/"${p}"_*.deb >/dev/null 2>&1 ||
			(cd "$CACHE/hdr" && apt-get download -q "$p=$v" >/dev/null 2>&1) ||
			fail "apt-get download $p=$v failed"
	done
	cp "$CACHE"/hdr/*.deb "$rootfs/tmp/hdr/"
	chroot "$rootfs" sh -c 'dpkg -i /tmp/hdr/*.deb' > "$OUT/headers.log" 2>&1 || {
		tail -n 20 "$OUT/headers.log" >&2
		fail "installing the kernel headers in the root file system failed; see $OUT/headers.log"
	}
	rm -rf "$rootfs/tmp/hdr" "$rootfs"/var/cache/apt/archives/*.deb
	# a kernel's module index, as an installed linux-image leaves it (the guest's own
	# modules stay in its initramfs): so the purge's file list compares like with like
	depmod -b "$rootfs" "$KVER" 2>/dev/null || :
	chroot "$rootfs" useradd -M -s /bin/sh trader
	chroot "$rootfs" useradd -M -s /bin/sh outsider
	echo "pinshm-deb" > "$rootfs/etc/hostname"
	touch "$rootfs/.pinshm-complete"
else
	note "root file system from the cache: $rootfs"
fi

# ---------------------------------------------------------------- 2. the image
rm -rf "$rootfs/pinshm-test"
mkdir -p "$rootfs/pinshm-test/old" "$rootfs/pinshm-test/new"
cp $OLD_DEBS "$rootfs/pinshm-test/old/"
cp $NEW_DEBS "$rootfs/pinshm-test/new/"
install -m 755 "$here/guest-test.sh" "$rootfs/pinshm-test/guest-test.sh"
# the README's API example, built in the guest against libpinshm-dev
awk '/^```c$/{f=1;next} /^```$/{f=0} f' "$root/README.md" > "$rootfs/pinshm-test/example.c"
img=$OUT/rootfs.img
rm -f "$img"
truncate -s 3G "$img"
mkfs.ext4 -q -F -L pinshm-deb -d "$rootfs" "$img" > "$OUT/mkfs.log" 2>&1 || {
	cat "$OUT/mkfs.log" >&2
	fail "mkfs.ext4 -d failed"
}
rm -rf "$rootfs/pinshm-test"

# ---------------------------------------------------------------- 3. the initramfs
rd=$OUT/initramfs
rm -rf "$rd"
mkdir -p "$rd"/bin "$rd"/proc "$rd"/sys "$rd"/dev "$rd"/newroot "$rd"/modules
cp "$BUSYBOX" "$rd"/bin/busybox
for a in sh mount umount insmod switch_root sleep echo cat; do ln -s busybox "$rd/bin/$a"; done
mods=""
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
	f=$(find "/lib/modules/$KVER/kernel/drivers" -name "$m.ko*" | head -n 1)
	[ -n "$f" ] || fail "$m.ko not found in /lib/modules/$KVER"
	case $f in
	*.ko.xz) xz -dc "$f" > "$rd/modules/$m.ko" ;;
	*.ko.zst) zstd -dcq "$f" > "$rd/modules/$m.ko" ;;
	*) cp "$f" "$rd/modules/$m.ko" ;;
	esac
	mods="$mods $m"
done
cat > "$rd"/init <<EOF2
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $mods; do insmod /modules/\$m.ko; done
i=0
while [ ! -b /dev/vda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
echo "PINSHM-DEB-INITRAMFS /dev/vda after \$i tries"
mount -t ext4 -o rw /dev/vda /newroot || { echo "PINSHM-DEB-FAIL boot: cannot mount /dev/vda"; echo o > /proc/sysrq-trigger; }
umount /proc /sys /dev
exec switch_root /newroot /pinshm-test/guest-test.sh
EOF2
chmod 755 "$rd"/init
(cd "$rd" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$OUT/initramfs.cpio.gz" ||
	fail "cannot build the initramfs"

# ---------------------------------------------------------------- 4. boot
note "booting /boot/vmlinuz-$KVER in qemu TCG ($QEMU_MEM MiB, $QEMU_SMP cpus, timeout ${QEMU_TIMEOUT}s); transcript: $LOG"
t=$(date +%s)
timeout -k 10 "$QEMU_TIMEOUT" qemu-system-x86_64 \
	-machine accel=tcg -cpu max -smp "$QEMU_SMP" -m "$QEMU_MEM" \
	-nographic -no-reboot -nic none \
	-drive file="$img",format=raw,if=virtio \
	-kernel "/boot/vmlinuz-$KVER" -initrd "$OUT/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 oops=panic quiet" \
	< /dev/null 2>&1 | tr -d '\r' | sed -E 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[A-Za-z]//g' > "$LOG"
qrc=${PIPESTATUS[0]}
guest_s=$(( $(date +%s) - t ))
rm -f "$img"

grep -q '^PINSHM-DEB-BOOTED' "$LOG" || {
	tail -n 30 "$LOG" >&2
	fail "the guest did not boot (qemu exit $qrc); see $LOG"
}
grep -E '^PINSHM-DEB-(BOOTED|STEP|OK|FAIL|END)|^  (dkms status|info|diff|note|metrics):' "$LOG" | sed 's/^/  /'
end=$(grep -m1 '^PINSHM-DEB-END' "$LOG")
[ -n "$end" ] || fail "the guest did not finish (qemu exit $qrc, ${guest_s}s); see $LOG"
note "guest ${guest_s}s, all $(( $(date +%s) - T0 ))s"
nfail=$(grep -c '^PINSHM-DEB-FAIL' "$LOG")
[ "$nfail" -eq 0 ] || fail "$nfail failures in the guest; see $LOG"
note "PASS: $(grep -c '^PINSHM-DEB-OK' "$LOG") checks"
