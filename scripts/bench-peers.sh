#!/bin/sh
# SPDX-License-Identifier: MIT
# Which peers `pinshm bench --vs` can build in: Concurrency Kit's ring
# (libck-dev) and DPDK's rte_ring (libdpdk-dev), each found by a test
# compile and link. Writes OUT: line 1 the compiler flags of
# tools/bench/sys_peers.c, line 2 the libraries pinshm links; OUT is
# rewritten only when that changes, so nothing relinks for nothing.
# BENCH_PEERS=no: none, whatever is installed.
# Usage: CC=gcc [BENCH_PEERS=auto|no] scripts/bench-peers.sh OUT
set -eu
out=$1
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cflags= libs=
if [ "${BENCH_PEERS:-auto}" = no ]; then
	printf '\n\n' >"$tmp/flags"
	cmp -s "$tmp/flags" "$out" 2>/dev/null || { mkdir -p "$(dirname "$out")"; cp "$tmp/flags" "$out"; }
	exit 0
fi

cat >"$tmp/ck.c" <<'EOC'
#include <ck_ring.h>
int main(void) { struct ck_ring r; ck_ring_init(&r, 64); return (int)ck_ring_size(&r); }
EOC
if $cc -o "$tmp/ck" "$tmp/ck.c" 2>/dev/null; then
	cflags="-DPINSHM_BENCH_CK"
fi

# DPDK's own flags (-include rte_config.h, -march=...), its headers as
# system headers (our warnings are not theirs to pass); the ring library
# only: rte_ring_init() on our memory needs no EAL (no rte_eal_init()).
if pkg-config --exists libdpdk 2>/dev/null; then
	rte=$(pkg-config --cflags libdpdk | sed 's/-I/-isystem /g')
	cat >"$tmp/rte.c" <<'EOC'
#include <rte_ring.h>
#include <rte_ring_elem.h>
int main(void) { return (int)rte_ring_get_memsize_elem(64, 1024); }
EOC
	if $cc $rte -o "$tmp/rte" "$tmp/rte.c" -lrte_ring 2>/dev/null; then
		cflags="$cflags -DPINSHM_BENCH_RTE $rte"
		libs="-lrte_ring"
	fi
fi

printf '%s\n%s\n' "$cflags" "$libs" >"$tmp/flags"
if ! cmp -s "$tmp/flags" "$out" 2>/dev/null; then
	mkdir -p "$(dirname "$out")"
	cp "$tmp/flags" "$out"
fi
