#!/usr/bin/env bash
# Install what pinshm needs from Debian's archive, or say exactly what to
# install. Usage: scripts/deps.sh build|check
#   build: compile the library, the tools and the module
#   check: everything `make check` runs (tests, qemu guest, static checks)
set -euo pipefail

build_pkgs=(gcc make pkg-config libjson-c-dev systemtap-sdt-dev
	    linux-headers-cloud-amd64 python3 gnuplot-nox)
check_pkgs=("${build_pkgs[@]}" libcriterion-dev qemu-system-x86 busybox-static
	    linux-image-cloud-amd64 cpio gzip sparse linux-source-6.1 xz-utils
	    clang libclang-rt-14-dev)

case "${1:-build}" in
build) want=("${build_pkgs[@]}") ;;
check) want=("${check_pkgs[@]}") ;;
*) echo "usage: $0 build|check" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	     grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
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
