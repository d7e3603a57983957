/* SPDX-License-Identifier: MIT */
/*
 * The records the broadcast ring's multi-process tests (tests/unit/
 * bcast_mp.c) and thread tests (tests/tsan/bcast_*threads.c) send: record
 * n is rec_len(n) bytes (16..48) of its number, a checksum and a pattern,
 * so that a reader tells a torn or misplaced record from record n.
 */
#ifndef PINSHM_TESTS_BCAST_RECORDS_H
#define PINSHM_TESTS_BCAST_RECORDS_H

#include <stdint.h>
#include <string.h>

#include "rec_csum.h"

static inline uint32_t rec_len(uint64_t n)
{
	return 16 + (uint32_t)((n * 0x9E3779B97F4A7C15ull >> 40) % 33);
}

static inline void fill(uint8_t *p, uint64_t n, uint32_t len)
{
	uint64_t c;
	uint32_t i;

	memcpy(p, &n, 8);
	for (i = 16; i < len; i++)
		p[i] = (uint8_t)(n * 31 + i);
	c = rec_csum(p, len, n);
	memcpy(p + 8, &c, 8);
}

/* 0 when the record is whole and carries number n. */
static inline int verify(const uint8_t *p, uint32_t len, uint64_t n)
{
	uint64_t s, c;

	if (len < 16 || len > 48)
		return 1;
	memcpy(&s, p, 8);
	memcpy(&c, p + 8, 8);
	return s != n || len != rec_len(n) || c != rec_csum(p, len, n);
}

#endif /* PINSHM_TESTS_BCAST_RECORDS_H */
