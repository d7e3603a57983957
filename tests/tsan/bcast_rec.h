/* SPDX-License-Identifier: MIT */
/*
 * The records of the broadcast rings' TSan programs (bcast_threads.c,
 * bcast_lossless_threads.c): record n is rec_len(n) bytes (16..48) of its
 * number, a checksum and a pattern; verify() says whether a record read
 * back is record n, whole. fail() marks the run failed (g_failed, defined
 * here) and relax() is the spinning threads' pause.
 */
#ifndef PINSHM_TSAN_BCAST_REC_H
#define PINSHM_TSAN_BCAST_REC_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <pinshm.h>

static _Atomic int g_failed;

static uint32_t rec_len(uint64_t n)
{
	return 16 + (uint32_t)((n * 0x9E3779B97F4A7C15ull >> 40) % 33);
}

static uint64_t csum(const uint8_t *p, uint32_t len, uint64_t n)
{
	uint64_t h = 1469598103934665603ull ^ n;
	uint32_t i;

	for (i = 16; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void fill(uint8_t *p, uint64_t n, uint32_t len)
{
	uint64_t c;
	uint32_t i;

	memcpy(p, &n, 8);
	for (i = 16; i < len; i++)
		p[i] = (uint8_t)(n * 31 + i);
	c = csum(p, len, n);
	memcpy(p + 8, &c, 8);
}

static int verify(const uint8_t *p, uint32_t len, uint64_t n)
{
	uint64_t s, c;

	if (len < 16 || len > 48)
		return 1;
	memcpy(&s, p, 8);
	memcpy(&c, p + 8, 8);
	return s != n || len != rec_len(n) || c != csum(p, len, n);
}

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
