/* SPDX-License-Identifier: MIT */
/*
 * What the broadcast rings' TSan programs (bcast_threads.c,
 * bcast_lossless_threads.c) share: their records (../bcast_records.h),
 * fail(), which marks the run failed (g_failed, defined here), and
 * relax(), the spinning threads' pause.
 */
#ifndef PINSHM_TSAN_BCAST_REC_H
#define PINSHM_TSAN_BCAST_REC_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <pinshm.h>

#include "../bcast_records.h"

static _Atomic int g_failed;

static void fail(const char *who, const char *what, uint64_t n)
{
	printf("FAIL %s: %s at record %llu\n", who, what,
	       (unsigned long long)n);
	atomic_store(&g_failed, 1);
}

static void relax(unsigned int *spins)
{
	pinshm_cpu_relax();
	if (++*spins >= 64) {
		*spins = 0;
		sched_yield();
	}
}

#endif /* PINSHM_TSAN_BCAST_REC_H */
