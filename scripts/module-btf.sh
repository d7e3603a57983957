#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# module-btf.sh - give pinshm.ko its BTF where kbuild could not.
#
#   scripts/module-btf.sh KO KDIR [CACHE_DIR]
#
# KO is the module just built against the kernel build tree KDIR; CACHE_DIR
# (optional) keeps the kernel's BTF extracted from /boot between runs.
#
# Module BTF (the .BTF section: the module's types, described against the
# kernel's own BTF) is what `bpftool btf dump file /sys/kernel/btf/pinshm`
# prints and what BPF programs need to attach with tp_btf. kbuild makes it
# when KDIR holds a vmlinux: Debian's 6.12 headers ship one (only its .BTF),
# Debian's 6.1 headers do not, and kbuild says "Skipping BTF generation ...
# due to unavailability of vmlinux". Then this script does what kbuild's
# scripts/Makefile.modfinal would do,
#     pahole -J $(PAHOLE_FLAGS) --btf_base BASE KO
# with BASE the BTF of exactly the kernel KO is for:
#   1. /sys/kernel/btf/vmlinux, when that kernel is the running one;
#   2. else the .BTF section of the vmlinux inside /boot/vmlinuz-KVER
#      (decompressed here: lz4 on Debian's 6.1, zstd on 6.12).
# A module described against another kernel's BTF loads without its BTF
# (CONFIG_MODULE_ALLOW_BTF_MISMATCH) or not at all, so there is no guess.
# kbuild also runs resolve_btfids on modules: it fills .BTF_ids sections,
# which only BTF_ID() sets create; pinshm has none, so it is not needed.
#
# The module works without BTF (tracepoint and raw_tp BPF programs attach
# all the same; tp_btf ones do not): when BTF cannot be made, the script
# says why on one line and exits 0. Exit 2 on bad usage only.
set -u

say() { echo "  BTF     $*"; }
skip() { echo "  BTF     $ko: left without BTF: $*" >&2; exit 0; }

[ $# -ge 2 ] || { echo "usage: $0 KO KDIR [CACHE_DIR]" >&2; exit 2; }
ko=$1 kdir=$2 cache=${3:-}
[ -f "$ko" ] || { echo "$0: $ko: no such module" >&2; exit 2; }

has_btf() { LC_ALL=C readelf -S -W "$1" 2>/dev/null | grep -q ' \.BTF  *PROGBITS'; }

if has_btf "$ko"; then
	say "$ko: has BTF already"
	exit 0
fi

# The release the module is for (Debian's 6.1 headers have the upstream
# version in include/config/kernel.release: take the one built in).
kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
	"$kdir/include/generated/utsrelease.h" 2>/dev/null)
[ -n "$kver" ] || skip "no kernel release in $kdir/include/generated/utsrelease.h"
config=$kdir/.config
[ -r "$config" ] || config=/boot/config-$kver
grep -qs '^CONFIG_DEBUG_INFO_BTF_MODULES=y' "$config" ||
	skip "kernel $kver is built without CONFIG_DEBUG_INFO_BTF_MODULES"
PAHOLE=${PAHOLE:-pahole}
command -v "$PAHOLE" >/dev/null 2>&1 || skip "no pahole (apt-get install pahole)"
for t in readelf objcopy; do
	command -v $t >/dev/null 2>&1 || skip "no $t (apt-get install binutils)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pinshm-btf.XXXXXX") || skip "no temporary directory"
trap 'rm -rf "$tmp"' EXIT

# The vmlinux ELF inside a bzImage: try each compressed stream the image
# holds (found by its magic) until one decompresses to an ELF file.
extract_vmlinux() {
	img=$1 out=$2
	for m in '\x02\x21\x4c\x18:lz4 -dc' '\x28\xb5\x2f\xfd:zstd -dcq' \
		 '\xfd\x37\x7a\x58\x5a\x00:xz -dcq' '\x1f\x8b\x08:gzip -dcq'; do
		magic=${m%%:*} cmd=${m#*:}
		command -v "${cmd%% *}" >/dev/null 2>&1 || continue
		for off in $(LC_ALL=C grep -obUaP "$magic" "$img" 2>/dev/null |
			     cut -d: -f1 | head -n 8); do
			tail -c +$((off + 1)) "$img" | $cmd > "$out" 2>/dev/null
			LC_ALL=C readelf -h "$out" >/dev/null 2>&1 && return 0
		done
	done
	return 1
}

if [ "$kver" = "$(uname -r)" ] && [ -r /sys/kernel/btf/vmlinux ]; then
	base=/sys/kernel/btf/vmlinux
elif [ -r "/boot/vmlinuz-$kver" ]; then
	base=${cache:-$tmp}/vmlinux-$kver.btf
	# (re)extract unless cached from this very image
	if [ ! -s "$base" ] ||
	   [ -n "$(find "/boot/vmlinuz-$kver" -newer "$base" 2>/dev/null)" ]; then
		[ -n "$cache" ] && mkdir -p "$cache"
		extract_vmlinux "/boot/vmlinuz-$kver" "$tmp/vmlinux" ||
			skip "cannot decompress /boot/vmlinuz-$kver (apt-get install lz4 zstd xz-utils)"
		if ! objcopy -O binary --only-section=.BTF "$tmp/vmlinux" \
			"$base.tmp" || [ ! -s "$base.tmp" ]; then
			rm -f "$base.tmp"
			skip "/boot/vmlinuz-$kver has no .BTF"
		fi
		mv "$base.tmp" "$base"
		rm -f "$tmp/vmlinux"
	fi
else
	skip "kernel $kver is not running and /boot/vmlinuz-$kver is missing: no BTF to build against"
fi

# The flags kbuild gives pahole for this kernel (scripts/pahole-flags.sh
# of 6.1; later trees compute them in their Makefiles).
flags=
if [ -x "$kdir/scripts/pahole-flags.sh" ]; then
	flags=$(PAHOLE=$PAHOLE "$kdir/scripts/pahole-flags.sh")
fi
# shellcheck disable=SC2086 # $flags: one word per option
LLVM_OBJCOPY=${OBJCOPY:-objcopy} "$PAHOLE" -J $flags --btf_base "$base" "$ko" \
	> "$tmp/pahole.log" 2>&1 || skip "pahole failed: $(head -n 1 "$tmp/pahole.log")"
has_btf "$ko" || skip "pahole added no .BTF section"
say "$ko (base: $base)"
