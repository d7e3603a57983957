/* SPDX-License-Identifier: MIT */
/*
 * The checksum the multi-process and thread tests put in their records
 * (tests/bcast_records.h, tests/unit/slot_mp.c, tests/tsan/slot_threads.c):
 * FNV-1a over bytes 16..len of record n, seeded with n, so that a reader
 * tells a torn or misplaced record from record n. Bytes 0..16 hold the
 * number and the checksum itself.
 */
#ifndef PINSHM_TESTS_REC_CSUM_H
#define PINSHM_TESTS_REC_CSUM_H

#include <stdint.h>

static inline uint64_t rec_csum(const uint8_t *p, uint32_t len, uint64_t n)
{
	uint64_t h = 1469598103934665603ull ^ n;
	uint32_t i;

	for (i = 16; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

#endif /* PINSHM_TESTS_REC_CSUM_H */
