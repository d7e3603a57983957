/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the benchmarks and the demo: TSC timestamps calibrated
 * against CLOCK_MONOTONIC, a log-linear histogram of every sample, CPU
 * pinning, a two-party spin barrier, and the physical baseline every ring is
 * compared with: a raw cache-line ping-pong between two cores.
 *
 * Header-only (static inline): this grows into the `pinshm bench` harness.
 *
 * Protocol of the shared words written here (STYLE.md, memory ordering):
 *   bench_sync.arrive[i] ........ side i only
 *   bench_pp.ping.seq/.tsc ...... initiator only
 *   bench_pp.pong.seq/.tsc ...... responder only
 *   (S1) side i: store-release arrive[i]  pairs with  (S2) side j:
 *        load-acquire arrive[i]; everything written before a barrier is
 *        visible after it.
 *   (P1) initiator: store-release ping.seq  pairs with  (P2) responder:
 *        load-acquire ping.seq.
 *   (P3) responder: store-release pong.seq (after pong.tsc)  pairs with
 *        (P4) initiator: load-acquire pong.seq, then read pong.tsc.
 *   (P1') one-way sender: store-release ping.tsc  pairs with  (P2')
 *        receiver: load-acquire ping.tsc (one word: nothing else to order,
 *        release/acquire only to mirror a real message's publication).
 * On x86-64 every one of these is a plain mov: the ping-pong costs exactly
 * the cache-line transfers, which is what makes it the baseline.
 */
#ifndef PINSHM_BENCH_COMMON_H
#define PINSHM_BENCH_COMMON_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinshm.h>
#include <pinshm/barrier.h>

#define BENCH_LINE	64
#define BENCH_BLOCK	128	/* adjacent-line prefetch pulls pairs */

/* ------------------------------------------------------------------ */
/* Timestamps                                                          */
/* ------------------------------------------------------------------ */

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

static inline uint64_t bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct bench_clock {
	double ticks_per_ns;	/* TSC ticks per nanosecond */
	double ts_cost_ns;	/* cost of one bench_now(), median */
	double resolution_ns;	/* smallest step the TSC is seen to take */
	bool constant_tsc;	/* /proc/cpuinfo flags */
	bool nonstop_tsc;
};

/* Is flag listed in the first "flags" line of /proc/cpuinfo? */
static inline bool bench_cpu_flag(const char *flag)
{
	char line[8192];
	size_t fl = strlen(flag);
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "flags", 5))
			continue;
		for (p = strstr(line, flag); p; p = strstr(p + 1, flag)) {
			if ((p == line || p[-1] == ' ') &&
			    (p[fl] == ' ' || p[fl] == '\n' || p[fl] == 0)) {
				found = true;
				break;
			}
		}
		break;
	}
	fclose(f);
	return found;
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Calibrate the TSC against CLOCK_MONOTONIC over about ms milliseconds
 * (bracketing each clock read by two TSC reads, keeping the tightest
 * pair), then measure what one bench_now() costs.
 */
static inline void bench_clock_init(struct bench_clock *c, unsigned int ms)
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
	qsort(cost, 9, sizeof(cost[0]), bench_cmp_u64);
	c->ts_cost_ns = (double)cost[4] / c->ticks_per_ns;
}

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

/* ------------------------------------------------------------------ */
/* Log-linear histogram (HdrHistogram-like)                            */
/* ------------------------------------------------------------------ */

/*
 * Every sample is counted. Values below 2 * 64 have a bucket each (exact);
 * above, each power of two [2^k, 2^(k+1)) is split into 64 linear
 * sub-buckets of width 2^(k-6). A percentile is reported as the middle of
 * its bucket, so it is within half a bucket width of the true sample:
 * a relative error below 1/128 (0.79%), BENCH_HIST_REL_ERR. Values are TSC
 * ticks (or any unit: the histogram does not care). 59 * 64 buckets cover
 * all of uint64_t; 30 KiB per histogram.
 */
#define BENCH_HIST_SUB_BITS	6
#define BENCH_HIST_SUB		(1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_BUCKETS	((64 - BENCH_HIST_SUB_BITS + 1) * BENCH_HIST_SUB)
#define BENCH_HIST_REL_ERR	(1.0 / (2 * BENCH_HIST_SUB))

struct bench_hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	double sum;
	uint64_t bucket[BENCH_HIST_BUCKETS];
};

static inline void bench_hist_reset(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static inline unsigned int bench_hist_index(uint64_t v)
{
	unsigned int msb, shift;

	if (v < 2 * BENCH_HIST_SUB)
		return (unsigned int)v;
	msb = 63 - (unsigned int)__builtin_clzll(v);
	shift = msb - BENCH_HIST_SUB_BITS;
	return (shift + 1) * BENCH_HIST_SUB +
	       (unsigned int)(v >> shift) - BENCH_HIST_SUB;
}

/* Lowest and highest value that land in bucket i. */
static inline uint64_t bench_hist_low(unsigned int i)
{
	unsigned int shift;

	if (i < 2 * BENCH_HIST_SUB)
		return i;
	shift = i / BENCH_HIST_SUB - 1;
	return (uint64_t)(i % BENCH_HIST_SUB + BENCH_HIST_SUB) << shift;
}

static inline uint64_t bench_hist_high(unsigned int i)
{
	unsigned int shift;

	if (i < 2 * BENCH_HIST_SUB)
		return i;
	shift = i / BENCH_HIST_SUB - 1;
	return bench_hist_low(i) + ((uint64_t)1 << shift) - 1;
}

static inline void bench_hist_add(struct bench_hist *h, uint64_t v)
{
	h->bucket[bench_hist_index(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

static inline void bench_hist_merge(struct bench_hist *dst,
				    const struct bench_hist *src)
{
	unsigned int i;

	if (!src->count)
		return;
	for (i = 0; i < BENCH_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/*
 * How many samples make p percent of count, rounded up (the nearest-rank
 * definition: the p-th percentile is the rank-th smallest sample), at least
 * 1 and at most count. Integer rounding: no libm.
 */
static inline uint64_t bench_hist_rank(uint64_t count, double p)
{
	double x = p / 100.0 * (double)count;
	uint64_t want;

	if (x <= 1)
		return 1;
	if (x >= (double)count)
		return count;
	want = (uint64_t)x;
	/* Round up, but not for decimal noise: 99.9% of 10^6 is 999000. */
	if ((double)want < x - 1e-9 * x)
		want++;
	return want;
}

/*
 * The value at percentile p (0..100]: the smallest bucket whose cumulative
 * count reaches the nearest rank of p, reported as the middle of that
 * bucket and clamped to the exact min and max seen (p100 is the max).
 * Exact below 128, else within BENCH_HIST_REL_ERR of the nearest-rank
 * sample.
 */
static inline uint64_t bench_hist_percentile(const struct bench_hist *h,
					     double p)
{
	uint64_t want, seen = 0, v;
	unsigned int i;

	if (!h->count)
		return 0;
	want = bench_hist_rank(h->count, p);
	if (want == h->count)
		return h->max;	/* p100 is the max, exactly */
	for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want)
			break;
	}
	if (i == BENCH_HIST_BUCKETS)
		return h->max;
	v = bench_hist_low(i) + (bench_hist_high(i) - bench_hist_low(i)) / 2;
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

/*
 * Mean of the samples up to percentile p (outliers left out), from the
 * buckets' midpoints: within a bucket's width of the exact value.
 */
static inline double bench_hist_mean_below(const struct bench_hist *h,
					   double p)
{
	uint64_t want, seen = 0, take;
	double sum = 0;
	unsigned int i;

	if (!h->count)
		return 0;
	want = bench_hist_rank(h->count, p);
	for (i = 0; i < BENCH_HIST_BUCKETS && seen < want; i++) {
		if (!h->bucket[i])
			continue;
		take = h->bucket[i] < want - seen ? h->bucket[i] : want - seen;
		sum += (double)take * ((double)bench_hist_low(i) +
				       (double)(bench_hist_high(i) -
						bench_hist_low(i)) / 2);
		seen += take;
	}
	return sum / (double)seen;
}

/* A summary in nanoseconds. tmean: mean of the samples up to p99. */
struct bench_lat {
	double p50, p90, p99, p999, p9999, max, min, mean, tmean;
	uint64_t count;
};

static inline void bench_hist_summary(const struct bench_hist *h,
				      const struct bench_clock *c,
				      struct bench_lat *out)
{
	out->count = h->count;
	out->p50 = bench_ticks_to_ns(c, bench_hist_percentile(h, 50.0));
	out->p90 = bench_ticks_to_ns(c, bench_hist_percentile(h, 90.0));
	out->p99 = bench_ticks_to_ns(c, bench_hist_percentile(h, 99.0));
	out->p999 = bench_ticks_to_ns(c, bench_hist_percentile(h, 99.9));
	out->p9999 = bench_ticks_to_ns(c, bench_hist_percentile(h, 99.99));
	out->max = h->count ? bench_ticks_to_ns(c, h->max) : 0;
	out->min = h->count ? bench_ticks_to_ns(c, h->min) : 0;
	out->mean = h->count ? h->sum / (double)h->count / c->ticks_per_ns : 0;
	out->tmean = bench_hist_mean_below(h, 99.0) / c->ticks_per_ns;
}

/* ------------------------------------------------------------------ */
/* Statistics across repetitions                                       */
/* ------------------------------------------------------------------ */

struct bench_spread {
	double median, min, max;
};

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median (mean of the middle two for even n), min and max of v[0..n). */
static inline struct bench_spread bench_spread_of(const double *v,
						  unsigned int n)
{
	struct bench_spread s = { 0, 0, 0 };
	double tmp[256];

	if (!n)
		return s;
	if (n > 256)
		n = 256;
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), bench_cmp_double);
	s.min = tmp[0];
	s.max = tmp[n - 1];
	s.median = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
	return s;
}

/* ------------------------------------------------------------------ */
/* CPUs                                                                */
/* ------------------------------------------------------------------ */

static inline int bench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	return 0;
}

/* The CPUs this process may run on, in order; returns how many. */
static inline int bench_allowed_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int i, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (i = 0; i < CPU_SETSIZE && n < max; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	return n;
}

/* "A,B" → two distinct CPU numbers. */
static inline int bench_parse_cpus(const char *s, int cpus[2])
{
	char *end;
	long a, b;

	a = strtol(s, &end, 10);
	if (end == s || *end != ',')
		return -EINVAL;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (end == s || *end || a < 0 || b < 0 || a >= CPU_SETSIZE ||
	    b >= CPU_SETSIZE || a == b)
		return -EINVAL;
	cpus[0] = (int)a;
	cpus[1] = (int)b;
	return 0;
}

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

static inline int bench_cpustat_read(int cpu, struct bench_cpustat *out)
{
	unsigned long long v[10] = { 0 };
	char line[512], want[32];
	int n, ret = -ENOENT;
	FILE *f = fopen("/proc/stat", "r");

	memset(out, 0, sizeof(*out));
	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		n = sscanf(line + strlen(want),
			   "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7], &v[8], &v[9]);
		if (n >= 8) {
			out->busy = v[0] + v[1] + v[2] + v[5] + v[6];
			out->steal = v[7];
			out->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] +
				     v[6] + v[7];
			ret = 0;
		}
		break;
	}
	fclose(f);
	return ret;
}

/*
 * Percent of a CPU's time between two reads that went to others than us
 * (ours_us: our CPU time there, microseconds), and to steal.
 */
static inline void bench_cpustat_noise(const struct bench_cpustat *a,
				       const struct bench_cpustat *b,
				       double ours_us, double *other_pct,
				       double *steal_pct)
{
	double hz = (double)sysconf(_SC_CLK_TCK);
	double total = (double)(b->total - a->total);
	double other = (double)(b->busy - a->busy) - ours_us * 1e-6 * hz;

	*other_pct = 0;
	*steal_pct = 0;
	if (total <= 0)
		return;
	*other_pct = other > 0 ? 100.0 * other / total : 0;
	*steal_pct = 100.0 * (double)(b->steal - a->steal) / total;
}

/* ------------------------------------------------------------------ */
/* Two-party spin barrier                                              */
/* ------------------------------------------------------------------ */

struct bench_sync {
	_Alignas(BENCH_BLOCK) uint64_t arrive0;	/* side 0 only */
	_Alignas(BENCH_BLOCK) uint64_t arrive1;	/* side 1 only */
	_Alignas(BENCH_BLOCK) uint32_t failed;	/* any side: give up */
};

/* Returns 0, or -ECANCELED when the other side gave up. */
static inline int bench_sync_wait(struct bench_sync *s, int side)
{
	uint64_t *mine = side ? &s->arrive1 : &s->arrive0;
	uint64_t *theirs = side ? &s->arrive0 : &s->arrive1;
	uint64_t k = PINSHM_READ_ONCE(*mine) + 1;	/* we are its writer */

	/* (S1) pairs with (S2): our writes before the barrier are seen. */
	pinshm_store_release(mine, k);
	/* (S2) pairs with (S1): their writes before the barrier are seen. */
	while (pinshm_load_acquire(theirs) < k) {
		if (PINSHM_READ_ONCE(s->failed))
			return -ECANCELED;
		pinshm_cpu_relax();
	}
	return 0;
}

static inline void bench_sync_fail(struct bench_sync *s)
{
	PINSHM_WRITE_ONCE(s->failed, 1);	/* a flag; orders nothing */
}

/* ------------------------------------------------------------------ */
/* Scratch memory in a region                                          */
/* ------------------------------------------------------------------ */

/*
 * The last bytes of a region's data area, for baselines that must live in
 * the same memory as the rings (raw lines, an inline ring). Checks that no
 * object of the directory reaches into them: create every object first.
 * Returns 0 or -ENOSPC / -EBADMSG.
 */
static inline int bench_region_scratch(const struct pinshm_region *r,
				       uint64_t bytes, void **out)
{
	struct pinshm_obj_info obj[PINSHM_DIR_MAX];
	uint64_t size = pinshm_region_size(r), end = 0, start;
	int i, n;

	bytes = (bytes + 4095) & ~4095ULL;
	n = pinshm_obj_list(r, obj, PINSHM_DIR_MAX);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < PINSHM_DIR_MAX; i++)
		if (obj[i].offset + obj[i].size > end)
			end = obj[i].offset + obj[i].size;
	if (bytes > size)
		return -ENOSPC;
	start = size - bytes;
	if (end > start)
		return -ENOSPC;
	*out = (uint8_t *)pinshm_region_data(r) + start;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Raw cache-line ping-pong: the physical baseline                     */
/* ------------------------------------------------------------------ */

struct bench_pp_line {
	_Alignas(BENCH_BLOCK) uint64_t seq;
	uint64_t tsc;
	uint8_t __pad[BENCH_BLOCK - 16];
};

/* Two lines, each alone in its 128-byte block; lives in shared memory. */
struct bench_pp {
	struct bench_pp_line ping;	/* initiator writes */
	struct bench_pp_line pong;	/* responder writes */
};

/*
 * Initiator: n round trips after warm unrecorded ones; each round trip's
 * TSC delta goes into h. The sequence continues from where the lines are,
 * so the same lines serve any number of runs.
 */
static inline void bench_pp_initiator(struct bench_pp *pp, uint64_t warm,
				      uint64_t n, struct bench_hist *h)
{
	uint64_t seq = PINSHM_READ_ONCE(pp->ping.seq);	/* we are its writer */
	uint64_t i, t0, t1;

	for (i = 0; i < warm + n; i++) {
		seq++;
		t0 = bench_now();
		/* (P1) pairs with (P2). */
		pinshm_store_release(&pp->ping.seq, seq);
		/* (P4) pairs with (P3). */
		while (pinshm_load_acquire(&pp->pong.seq) != seq)
			pinshm_cpu_relax();
		t1 = bench_now();
		if (i >= warm)
			bench_hist_add(h, t1 - t0);
	}
}

static inline void bench_pp_responder(struct bench_pp *pp, uint64_t warm,
				      uint64_t n)
{
	uint64_t seq = PINSHM_READ_ONCE(pp->pong.seq);	/* we are its writer */
	uint64_t i;

	for (i = 0; i < warm + n; i++) {
		seq++;
		/* (P2) pairs with (P1). */
		while (pinshm_load_acquire(&pp->ping.seq) != seq)
			pinshm_cpu_relax();
		/* (P3) pairs with (P4). */
		pinshm_store_release(&pp->pong.seq, seq);
	}
}

/*
 * TSC offset between the responder's core and ours: the responder stamps
 * its TSC into the pong line; from the fastest of n round trips,
 * offset = t_responder - (t0 + t1) / 2, good to +- half that round trip.
 * Sets *offset and *uncertainty in ticks.
 */
static inline void bench_skew_initiator(struct bench_pp *pp, uint64_t n,
					int64_t *offset, uint64_t *uncertainty)
{
	uint64_t seq = PINSHM_READ_ONCE(pp->ping.seq);	/* we are its writer */
	uint64_t i, t0, t1, tr, best = UINT64_MAX;

	*offset = 0;
	*uncertainty = 0;
	for (i = 0; i < n; i++) {
		seq++;
		t0 = bench_now();
		/* (P1) pairs with (P2). */
		pinshm_store_release(&pp->ping.seq, seq);
		/* (P4) pairs with (P3): pong.tsc is written before pong.seq. */
		while (pinshm_load_acquire(&pp->pong.seq) != seq)
			pinshm_cpu_relax();
		t1 = bench_now();
		tr = PINSHM_READ_ONCE(pp->pong.tsc);
		if (t1 - t0 < best) {
			best = t1 - t0;
			*offset = (int64_t)(tr - (t0 + (t1 - t0) / 2));
			*uncertainty = best / 2;
		}
	}
}

static inline void bench_skew_responder(struct bench_pp *pp, uint64_t n)
{
	uint64_t seq = PINSHM_READ_ONCE(pp->pong.seq);	/* we are its writer */
	uint64_t i;

	for (i = 0; i < n; i++) {
		seq++;
		/* (P2) pairs with (P1). */
		while (pinshm_load_acquire(&pp->ping.seq) != seq)
			pinshm_cpu_relax();
		/* Ordered before pong.seq by (P3). */
		PINSHM_WRITE_ONCE(pp->pong.tsc, bench_now());
		/* (P3) pairs with (P4). */
		pinshm_store_release(&pp->pong.seq, seq);
	}
}

/*
 * Paced one-way latency over one raw line. The sender publishes one word,
 * ping.tsc = (TSC << 16) | (message number & 0xffff), so stamp and number
 * travel in a single store and can never be torn apart; the receiver spins
 * until the word changes and records now - stamp (modulo 2^48 ticks, a day
 * and more). The line holds only the latest message: messages the receiver
 * missed while it was late (preempted) are counted, not sampled. Both sides
 * pass the same warm and n. ping.seq is left alone (ping-pong continues).
 */
#define BENCH_OW_MASK	((1ULL << 48) - 1)

static inline void bench_oneway_raw_send(struct bench_pp *pp, uint64_t warm,
					 uint64_t n, uint64_t interval)
{
	uint64_t base = PINSHM_READ_ONCE(pp->ping.tsc);	/* we are its writer */
	uint64_t i, next = bench_now() + interval, t;

	for (i = 1; i <= warm + n; i++) {
		bench_wait_until(next);
		next += interval;
		t = bench_now();
		/* (P1') pairs with (P2'): one word, stamp and number. */
		pinshm_store_release(&pp->ping.tsc,
				     (t << 16) | ((base + i) & 0xffff));
		if (bench_now() > next + 100 * interval)
			next = bench_now() + interval;	/* we were preempted */
	}
}

/*
 * *last is the receiver's own memory of the last word it saw (0 before the
 * first run), so a run that starts before we look is still counted right.
 * Returns how many stamps were ahead of our TSC (skew); they count as 0.
 */
static inline uint64_t bench_oneway_raw_recv(struct bench_pp *pp,
					     uint64_t warm, uint64_t n,
					     struct bench_hist *h,
					     uint64_t *missed, uint64_t *last)
{
	uint64_t base = *last & 0xffff, got = 0, w, t, d, k, neg = 0;

	while (got < warm + n) {
		/* (P2') pairs with (P1'). */
		while ((w = pinshm_load_acquire(&pp->ping.tsc)) == *last)
			pinshm_cpu_relax();
		t = bench_now();
		*last = w;
		/* Messages since the last one we saw: 1 unless we were late. */
		k = ((w & 0xffff) - ((base + got) & 0xffff)) & 0xffff;
		*missed += k - 1;
		got += k;
		d = ((t & BENCH_OW_MASK) - (w >> 16)) & BENCH_OW_MASK;
		if (d > BENCH_OW_MASK / 2) {
			neg++;
			d = 0;
		}
		if (got > warm)
			bench_hist_add(h, d);
	}
	return neg;
}

/* ------------------------------------------------------------------ */
/* Inline streaming ring: the baseline for throughput                  */
/* ------------------------------------------------------------------ */

/*
 * A minimal fixed-slot ring, everything inline: each slot is a u64 stamp
 * followed by the payload, so a 56-byte payload fills exactly one 64-byte
 * line, as an SPSC record with its 8-byte header does. The consumer polls
 * the stamp of the slot at its position (never the producer's index); the
 * producer reads the consumer's index only when its cached copy says full.
 * One memcpy per message. The floor for streaming: one line moved per
 * message and nothing else shared on the way.
 *
 * A slot's stamp is its free-running position + 1, so a stamp left from an
 * earlier lap (or run) never looks new. Each payload starts with its u64
 * sequence number (first, first + 1, ...), which the consumer checks.
 * Positions continue across runs.
 *
 * With batch > 1 the producer writes the stamps of a batch relaxed but
 * keeps the first back, and store-releases it last: the consumer sees the
 * whole batch at once (as pinshm_spsc_stage()/publish() do); the consumer
 * releases its index once per batch.
 *
 * Protocol (STYLE.md, memory ordering):
 *   the slots (stamp and payload), bench_raw_ring.tail ...... producer only
 *   bench_raw_ring.head ...................................... consumer only
 *   (R1) producer: write the payload (and later stamps of a batch), then
 *        store-release the stamp
 *     pairs with
 *   (R2) consumer: load-acquire the stamp, then read the payload.
 *   (R3) consumer: read the payload, then store-release head
 *     pairs with
 *   (R4) producer: load-acquire head, then overwrite slots below it.
 *   tail is the producer's own position, kept between runs; nobody else
 *   reads it.
 */
struct bench_raw_ring {
	_Alignas(BENCH_BLOCK) uint64_t tail;	/* producer only */
	_Alignas(BENCH_BLOCK) uint64_t head;	/* consumer only */
	_Alignas(BENCH_BLOCK) uint8_t slots[];
};

/* Shape of a raw ring: nslots (a power of two) slots of slot bytes. */
struct bench_raw_shape {
	uint64_t nslots;
	uint32_t slot;		/* stamp + payload rounded up to 8 */
	uint32_t size;		/* payload bytes, >= 8 */
};

/* The largest power-of-two slot count whose slots fit in bytes. */
static inline struct bench_raw_shape bench_raw_shape_of(uint32_t size,
							uint64_t bytes)
{
	struct bench_raw_shape sh;

	sh.size = size;
	sh.slot = 8 + ((size + 7) & ~7u);
	for (sh.nslots = 2; sh.nslots * 2 * sh.slot <= bytes;)
		sh.nslots *= 2;
	return sh;
}

static inline uint64_t bench_raw_ring_bytes(const struct bench_raw_shape *sh)
{
	return sizeof(struct bench_raw_ring) + sh->nslots * sh->slot;
}

static inline uint64_t *bench_raw_stamp(struct bench_raw_ring *rr,
					const struct bench_raw_shape *sh,
					uint64_t pos)
{
	return (uint64_t *)(rr->slots + (pos & (sh->nslots - 1)) * sh->slot);
}

/*
 * Producer: count messages copied from tmpl (size bytes; its first 8 are
 * overwritten with the sequence number, first, first + 1, ...). yield:
 * sched_yield() while full instead of spinning (for a consumer that
 * sleeps).
 */
static inline void bench_raw_produce(struct bench_raw_ring *rr,
				     const struct bench_raw_shape *sh,
				     void *tmpl, uint64_t first,
				     uint64_t count, unsigned int batch,
				     bool yield)
{
	uint64_t tail = PINSHM_READ_ONCE(rr->tail);	/* we are its writer */
	uint64_t head_cache, i, held_v = 0, *stamp, *held = NULL;
	unsigned int k = 0;

	/* (R4) pairs with (R3). */
	head_cache = pinshm_load_acquire(&rr->head);
	for (i = first; i < first + count; i++) {
		while (tail - head_cache >= sh->nslots) {
			if (held) {
				/* (R1) pairs with (R2): the batch so far. */
				pinshm_store_release(held, held_v);
				held = NULL;
				k = 0;
			}
			/* (R4) pairs with (R3): the consumer is done. */
			head_cache = pinshm_load_acquire(&rr->head);
			if (tail - head_cache >= sh->nslots) {
				if (yield)
					sched_yield();
				else
					pinshm_cpu_relax();
			}
		}
		stamp = bench_raw_stamp(rr, sh, tail);
		memcpy(tmpl, &i, sizeof(i));
		memcpy(stamp + 1, tmpl, sh->size);
		if (batch <= 1) {
			/* (R1) pairs with (R2): payload before stamp. */
			pinshm_store_release(stamp, tail + 1);
		} else if (!held) {
			held = stamp;
			held_v = tail + 1;
		} else {
			/* Made visible by the release of the held stamp. */
			PINSHM_WRITE_ONCE(*stamp, tail + 1);
		}
		tail++;
		if (held && ++k >= batch) {
			/* (R1) pairs with (R2): the whole batch. */
			pinshm_store_release(held, held_v);
			held = NULL;
			k = 0;
		}
	}
	if (held)
		/* (R1) pairs with (R2): the whole batch. */
		pinshm_store_release(held, held_v);
	PINSHM_WRITE_ONCE(rr->tail, tail);
}

/*
 * Consumer: take what has been published, up to want messages, checking
 * sequence numbers from *next on. Spins until at least one is there unless
 * nowait. Returns how many were taken, or -EBADMSG on a wrong sequence.
 * *t_first is stamped when the first message of the run (*next == 0)
 * arrives.
 */
static inline int64_t bench_raw_take(struct bench_raw_ring *rr,
				     const struct bench_raw_shape *sh,
				     uint64_t *next, uint64_t want,
				     unsigned int batch, bool nowait,
				     uint64_t *t_first)
{
	uint64_t head = PINSHM_READ_ONCE(rr->head);	/* we are its writer */
	uint64_t released = head, seq, n = 0, *stamp;

	stamp = bench_raw_stamp(rr, sh, head);
	/* (R2) pairs with (R1): the payload is written. */
	while (pinshm_load_acquire(stamp) != head + 1) {
		if (nowait)
			return 0;
		pinshm_cpu_relax();
	}
	if (*next == 0)
		*t_first = bench_now();
	while (n < want) {
		stamp = bench_raw_stamp(rr, sh, head);
		/* (R2) pairs with (R1): the payload is written. */
		if (pinshm_load_acquire(stamp) != head + 1)
			break;
		memcpy(&seq, stamp + 1, sizeof(seq));
		if (seq != *next)
			return -EBADMSG;
		(*next)++;
		head++;
		n++;
		if (head - released >= batch) {
			/* (R3) pairs with (R4): payload read. */
			pinshm_store_release(&rr->head, head);
			released = head;
		}
	}
	if (released != head)
		/* (R3) pairs with (R4): payload read. */
		pinshm_store_release(&rr->head, head);
	return (int64_t)n;
}

/*
 * Consumer of a whole run: count messages; returns messages per second
 * from the first arrival to the last, 0 if unmeasurable, or -EBADMSG.
 */
static inline double bench_raw_consume(struct bench_raw_ring *rr,
				       const struct bench_raw_shape *sh,
				       uint64_t count, unsigned int batch,
				       const struct bench_clock *clk)
{
	uint64_t next = 0, t_first = 0, t_last;
	int64_t n;

	while (next < count) {
		n = bench_raw_take(rr, sh, &next, count - next, batch, false,
				   &t_first);
		if (n < 0)
			return (double)n;
	}
	t_last = bench_now();
	if (count < 2 || t_last <= t_first)
		return 0;
	return (double)(count - 1) /
	       (bench_ticks_to_ns(clk, t_last - t_first) * 1e-9);
}

/* One message of bench_raw_ring_pp(): seq and the rest of tmpl. */
static inline void __bench_raw_ring_send(struct bench_raw_ring *out,
					 const struct bench_raw_shape *sh,
					 void *tmpl, uint64_t seq,
					 uint64_t *tail, uint64_t *head_cache)
{
	uint64_t *stamp;

	while (*tail - *head_cache >= sh->nslots)
		/* (R4) pairs with (R3): the consumer is done. */
		*head_cache = pinshm_load_acquire(&out->head);
	stamp = bench_raw_stamp(out, sh, *tail);
	memcpy(tmpl, &seq, sizeof(seq));
	memcpy(stamp + 1, tmpl, sh->size);
	/* (R1) pairs with (R2): payload before stamp. */
	pinshm_store_release(stamp, *tail + 1);
	++*tail;
}

/* Wait for message seq at *head and copy it into tmpl; -EBADMSG if not. */
static inline int __bench_raw_ring_recv(struct bench_raw_ring *in,
					const struct bench_raw_shape *sh,
					void *tmpl, uint64_t seq,
					uint64_t *head)
{
	uint64_t *stamp = bench_raw_stamp(in, sh, *head), got;

	/* (R2) pairs with (R1): the payload is written. */
	while (pinshm_load_acquire(stamp) != *head + 1)
		pinshm_cpu_relax();
	memcpy(&got, stamp + 1, sizeof(got));
	if (got != seq)
		return -EBADMSG;
	memcpy(tmpl, stamp + 1, sh->size);
	++*head;
	/* (R3) pairs with (R4): payload read. */
	pinshm_store_release(&in->head, *head);
	return 0;
}

/*
 * Round trips over two raw rings, out (ours to write) and in (theirs):
 * every message goes to the next slot, a line the ring has not used since
 * its last lap, as a ring's records do, where raw-pingpong rewrites the
 * same two lines. On some machines (AMD Zen 4 here, docs/performance.md) a
 * different line each time costs up to twice a bounced one: this is the
 * floor for any ring that moves one line per message. The initiator (h
 * not NULL) sends sequence numbers 0..warm+n-1 and times each reply into
 * h after warm; the responder (h NULL) sends each request back. Returns 0
 * or -EBADMSG (a reply out of sequence). Protocol: (R1)..(R4) above; the
 * producer loads head only when its cached copy says full. Not built on
 * bench_raw_produce(), which loads the consumer's head on every call (one
 * more line per message when called per message), nor on bench_raw_take(),
 * which does not copy the payload: the responder echoes it, as the ring's
 * responder in `pinshm bench` does.
 */
static inline int bench_raw_ring_pp(struct bench_raw_ring *out,
				    struct bench_raw_ring *in,
				    const struct bench_raw_shape *sh,
				    void *tmpl, uint64_t warm, uint64_t n,
				    struct bench_hist *h)
{
	uint64_t tail = PINSHM_READ_ONCE(out->tail);	/* we are its writer */
	uint64_t head = PINSHM_READ_ONCE(in->head);	/* we are its writer */
	uint64_t head_cache, i, t0;
	int ret = 0;

	/* (R4) pairs with (R3). */
	head_cache = pinshm_load_acquire(&out->head);
	for (i = 0; i < warm + n && !ret; i++) {
		if (!h) {	/* responder */
			ret = __bench_raw_ring_recv(in, sh, tmpl, i, &head);
			if (!ret)
				__bench_raw_ring_send(out, sh, tmpl, i, &tail,
						      &head_cache);
			continue;
		}
		t0 = bench_now();
		__bench_raw_ring_send(out, sh, tmpl, i, &tail, &head_cache);
		ret = __bench_raw_ring_recv(in, sh, tmpl, i, &head);
		if (i >= warm)
			bench_hist_add(h, bench_now() - t0);
	}
	PINSHM_WRITE_ONCE(out->tail, tail);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

/* "12.3 ns", "456 ns", "4.56 us", "7.89 ms" into buf. */
static inline const char *bench_fmt_ns(char *buf, size_t len, double ns)
{
	if (ns < 100)
		snprintf(buf, len, "%.1f ns", ns);
	else if (ns < 1000)
		snprintf(buf, len, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.2f us", ns / 1e3);
	else
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	return buf;
}

#endif /* PINSHM_BENCH_COMMON_H */
