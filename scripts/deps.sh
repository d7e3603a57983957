#!/usr/bin/env bash
# Install what pinshm needs from Debian's archive, or say exactly what to
# install. Usage: scripts/deps.sh build|check|newer
#   build: compile the library, the tools and the module
#   check: everything `make check` runs (tests, qemu guest, static checks, the
#          Debian packages and the guest they are installed in)
#   newer: the 6.12 kernels of `make check-kernel-newer` (below)
set -euo pipefail

build_pkgs=(gcc make pkg-config libjson-c-dev systemtap-sdt-dev clang libbpf-dev bpftool libelf-dev
	    linux-headers-cloud-amd64 python3 gnuplot-nox
	    pahole lz4 zstd)
# pinshm bench's peers (--vs ck, rte): Concurrency Kit's ring and DPDK's
# rte_ring (libdpdk-dev holds DPDK's only headers; it brings librte-ring23).
# Installed when we can (root); without them the bench is built without
# the peers (scripts/bench-peers.sh), so they never fail a build.
peer_pkgs=(libck-dev libdpdk-dev)
check_pkgs=("${build_pkgs[@]}" libcriterion-dev qemu-system-x86 busybox-static
	    linux-image-cloud-amd64 cpio gzip sparse linux-source-6.1 xz-utils
	    clang libclang-rt-14-dev groff-base
	    debhelper dh-dkms dkms dpkg-dev fakeroot lintian debootstrap e2fsprogs)

# newer: the newest Linux 6.12 and 6.12 PREEMPT_RT images and headers of
# Debian's bookworm-backports (versioned packages: the metapackages, and so
# the 6.1 kernel the other tests use, are left alone), for
# `make check-kernel-newer`. Adds the suite to apt's sources if missing.
newer_kernels() {
	local f have ver pkgs=()

	for f in cloud-amd64 rt-amd64; do
		have=$(ls /boot/vmlinuz-6.12.*-"$f" 2>/dev/null | sort -V | tail -n 1 || :)
		have=${have#/boot/vmlinuz-}
		[ -n "$have" ] && [ -f "/usr/src/linux-headers-$have/Makefile" ] &&
			continue
		pkgs+=("$f")
	done
	[ ${#pkgs[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "pinshm: no 6.12 ${pkgs[*]} kernel and headers; as root:" >&2
		echo "  scripts/deps.sh newer" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
		echo "  DEPS    adding bookworm-backports to /etc/apt/sources.list.d/"
		cat >/etc/apt/sources.list.d/pinshm-backports.sources <<-EOS
		Types: deb
		URIs: http://deb.debian.org/debian
		Suites: bookworm-backports
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOS
	fi
	apt-get update -q >/dev/null
	want=()
	for f in "${pkgs[@]}"; do
		ver=$(apt-cache search --names-only "^linux-headers-6\.12\.[0-9.]+\+deb12-$f\$" |
		      awk '{ print $1 }' | sed 's/^linux-headers-//' | sort -V | tail -n 1)
		if [ -z "$ver" ]; then
			echo "pinshm: no linux-headers-6.12.*-$f in apt's sources" >&2
			exit 1
		fi
		want+=("linux-image-$ver" "linux-headers-$ver")
	done
	echo "  DEPS    apt-get install ${want[*]}"
	apt-get install -y -q --no-install-recommends "${want[@]}" >/dev/null
}

case "${1:-build}" in
build) want=("${build_pkgs[@]}"); optional=("${peer_pkgs[@]}") ;;
check) want=("${check_pkgs[@]}"); optional=("${peer_pkgs[@]}") ;;
newer) newer_kernels; exit 0 ;;
*) echo "usage: $0 build|check|newer" >&2; exit 2 ;;
esac

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for p in "${want[@]}"; do
	installed "$p" || missing+=("$p")
done
opt_missing=()
for p in "${optional[@]}"; do
	installed "$p" || opt_missing+=("$p")
done
if [ ${#opt_missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		missing+=("${opt_missing[@]}")
	else
		echo "pinshm: bench peers (--vs ck, rte) left out; as root:" >&2
		echo "  apt-get install -y ${opt_missing[*]}" >&2
	fi
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "pinshm: missing packages; run as root:" >&2
	echo "  apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "  DEPS    apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
