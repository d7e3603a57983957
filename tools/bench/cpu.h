/* SPDX-License-Identifier: MIT */
/*
 * CPUs for the benchmarks: cache geometry, placement (which CPUs we may
 * run on, pinning) and noise (what else ran on a CPU while we measured).
 */
#ifndef PINSHM_BENCH_CPU_H
#define PINSHM_BENCH_CPU_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_LINE	64
#define BENCH_BLOCK	128	/* adjacent-line prefetch pulls pairs */

/* Is flag listed in the first "flags" line of /proc/cpuinfo? */
bool bench_cpu_flag(const char *flag);

/* Pin the calling process to cpu: 0 or -errno. */
int bench_pin(int cpu);
/* The CPUs this process may run on, in order; returns how many or -errno. */
int bench_allowed_cpus(int *cpus, int max);
/* "A,B" -> two distinct CPU numbers: 0 or -EINVAL. */
int bench_parse_cpus(const char *s, int cpus[2]);

/*
 * Noise: what else ran on a CPU. From /proc/stat, in USER_HZ ticks: busy
 * (user, nice, system, irq, softirq), steal (the hypervisor ran something
 * else on our vCPU) and total. Compare with our own CPU time (rusage) to
 * see how much of the CPU other work took while we measured.
 */
struct bench_cpustat {
	uint64_t busy;
	uint64_t steal;
	uint64_t total;
};

int bench_cpustat_read(int cpu, struct bench_cpustat *out);
/*
 * Percent of a CPU's time between two reads that went to others than us
 * (ours_us: our CPU time there, microseconds), and to steal.
 */
void bench_cpustat_noise(const struct bench_cpustat *a,
			 const struct bench_cpustat *b, double ours_us,
			 double *other_pct, double *steal_pct);

#endif /* PINSHM_BENCH_CPU_H */
