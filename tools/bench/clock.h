/* SPDX-License-Identifier: MIT */
/*
 * The benchmarks' clock: TSC timestamps calibrated against CLOCK_MONOTONIC.
 *
 * bench_now() and bench_wait_until() stay inline: they sit inside every
 * measured loop, where a call would be part of each sample.
 */
#ifndef PINSHM_BENCH_CLOCK_H
#define PINSHM_BENCH_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <pinshm/barrier.h>

/*
 * A TSC read that does not start before earlier instructions finish (the
 * lfence), so an interval ends after the load that ended the wait. Falls
 * back to CLOCK_MONOTONIC nanoseconds on other architectures.
 */
static inline uint64_t bench_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_lfence();
	return __builtin_ia32_rdtsc();
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
#endif
}

/* CLOCK_MONOTONIC in nanoseconds: deadlines and elapsed times. */
uint64_t bench_mono_ns(void);

struct bench_clock {
	double ticks_per_ns;	/* TSC ticks per nanosecond */
	double ts_cost_ns;	/* cost of one bench_now(), median */
	double resolution_ns;	/* smallest step the TSC is seen to take */
	bool constant_tsc;	/* /proc/cpuinfo flags */
	bool nonstop_tsc;
};

/*
 * Calibrate the TSC against CLOCK_MONOTONIC over about ms milliseconds,
 * then measure what one bench_now() costs.
 */
void bench_clock_init(struct bench_clock *c, unsigned int ms);

static inline double bench_ticks_to_ns(const struct bench_clock *c,
				       uint64_t ticks)
{
	return (double)ticks / c->ticks_per_ns;
}

static inline uint64_t bench_ns_to_ticks(const struct bench_clock *c,
					 double ns)
{
	return (uint64_t)(ns * c->ticks_per_ns + 0.5);
}

/* Busy-wait until the TSC reaches t. */
static inline void bench_wait_until(uint64_t t)
{
	while (bench_now() < t)
		pinshm_cpu_relax();
}

#endif /* PINSHM_BENCH_CLOCK_H */
