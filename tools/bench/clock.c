// SPDX-License-Identifier: MIT
/*
 * The benchmarks' clock (clock.h): CLOCK_MONOTONIC for deadlines, the TSC
 * for samples, and the calibration between the two.
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "cpu.h"

uint64_t bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Bracket each clock read by two TSC reads and keep the tightest pair, at
 * the start and after ms milliseconds: their ratio is the TSC's rate.
 */
void bench_clock_init(struct bench_clock *c, unsigned int ms)
{
	uint64_t t0 = 0, t1 = 0, n0 = 0, n1 = 0, best, a, b, n, end;
	uint64_t cost[9];
	int i, k;

	c->constant_tsc = bench_cpu_flag("constant_tsc");
	c->nonstop_tsc = bench_cpu_flag("nonstop_tsc");
	for (k = 0; k < 2; k++) {
		best = UINT64_MAX;
		for (i = 0; i < 50; i++) {
			a = bench_now();
			n = bench_mono_ns();
			b = bench_now();
			if (b - a < best) {
				best = b - a;
				if (k == 0) {
					t0 = a + (b - a) / 2;
					n0 = n;
				} else {
					t1 = a + (b - a) / 2;
					n1 = n;
				}
			}
		}
		if (k == 0) {
			end = bench_mono_ns() + (uint64_t)ms * 1000000ULL;
			while (bench_mono_ns() < end)
				;
		}
	}
	c->ticks_per_ns = n1 > n0 ? (double)(t1 - t0) / (double)(n1 - n0) : 1.0;

	/*
	 * Resolution: some TSCs advance in steps (AMD: 26 ticks every 10 ns
	 * at 2.6 GHz), which quantizes every single sample; means over many
	 * samples are not quantized, since the phase is random.
	 */
	best = UINT64_MAX;
	for (i = 0; i < 100000; i++) {
		a = bench_now();
		b = bench_now();
		if (b > a && b - a < best)
			best = b - a;
	}
	c->resolution_ns = (double)best / c->ticks_per_ns;

	/* Median over 9 runs of 10000 back-to-back reads. */
	for (k = 0; k < 9; k++) {
		a = bench_now();
		for (i = 0; i < 10000; i++)
			b = bench_now();
		cost[k] = (b - a) / 10000;
	}
	qsort(cost, 9, sizeof(cost[0]), cmp_u64);
	c->ts_cost_ns = (double)cost[4] / c->ticks_per_ns;
}
