/* SPDX-License-Identifier: MIT */
/*
 * The benchmark harness: processes pinned to CPUs that start each
 * measurement together at a barrier.
 *
 * N-party barrier, for up to HARNESS_MAX processes: arrive[i] is written
 * by process i only. Processes 0 and 1 (the measured pair) spin; the
 * others sleep on a futex, so that waiting out runs they take no part in
 * takes nothing from a measured process on a CPU they share (no polling
 * wakeups).
 *   (S1) process i: store-release arrive[i]  pairs with  (S2) process j:
 *        load-acquire arrive[i]; everything written before a barrier is
 *        visible after it.
 *   wake ...... every process, by atomic add after its arrive (n > 2
 *               only), then FUTEX_WAKE; a sleeping process loads wake,
 *               checks the arrivals, and sleeps only if wake has not moved
 *               since (the futex compares it), so no arrival is missed;
 *               the sleep is bounded (a failed process does not add).
 */
#ifndef PINSHM_BENCH_HARNESS_H
#define PINSHM_BENCH_HARNESS_H

#include <stdint.h>

#include "cpu.h"

#define HARNESS_MAX	17

struct harness_sync {
	struct {
		_Alignas(BENCH_BLOCK) uint64_t v;
	} arrive[HARNESS_MAX];
	_Alignas(BENCH_BLOCK) uint32_t failed;	/* any process: give up */
	_Alignas(BENCH_BLOCK) uint32_t wake;
};

/* Wait for all n processes; 0, or -ECANCELED when one gave up. */
int harness_sync_wait(struct harness_sync *s, int id, unsigned int n);
/* Give up: every process waiting at the barrier, or coming to it, fails. */
void harness_sync_fail(struct harness_sync *s);

#endif /* PINSHM_BENCH_HARNESS_H */
