/* SPDX-License-Identifier: MIT */
/*
 * A log-linear histogram of every sample (HdrHistogram-like), its
 * percentiles, and the median and spread of a figure across repetitions.
 *
 * Every sample is counted. Values below 2 * 64 have a bucket each (exact);
 * above, each power of two [2^k, 2^(k+1)) is split into 64 linear
 * sub-buckets of width 2^(k-6). A percentile is reported as the middle of
 * its bucket, so it is within half a bucket width of the true sample:
 * a relative error below 1/128 (0.79%), BENCH_HIST_REL_ERR. Values are TSC
 * ticks (or any unit: the histogram does not care). 59 * 64 buckets cover
 * all of uint64_t; 30 KiB per histogram.
 *
 * bench_hist_add() stays inline: it runs once per sample, inside the
 * measured loops.
 */
#ifndef PINSHM_BENCH_HIST_H
#define PINSHM_BENCH_HIST_H

#include <stdint.h>

#include "clock.h"

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

void bench_hist_reset(struct bench_hist *h);
/* Lowest and highest value that land in bucket i. */
uint64_t bench_hist_low(unsigned int i);
uint64_t bench_hist_high(unsigned int i);
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* How many samples make p percent of count (nearest rank), 1..count. */
uint64_t bench_hist_rank(uint64_t count, double p);
/* The value at percentile p (0..100]; p100 is the max. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);
/* Mean of the samples up to percentile p (outliers left out). */
double bench_hist_mean_below(const struct bench_hist *h, double p);

/* A summary in nanoseconds. tmean: mean of the samples up to p99. */
struct bench_lat {
	double p50, p90, p99, p999, p9999, max, min, mean, tmean;
	uint64_t count;
};

void bench_hist_summary(const struct bench_hist *h,
			const struct bench_clock *c, struct bench_lat *out);

/* Statistics across repetitions. */
struct bench_spread {
	double median, min, max;
};

/* Median (mean of the middle two for even n), min and max of v[0..n). */
struct bench_spread bench_spread_of(const double *v, unsigned int n);

#endif /* PINSHM_BENCH_HIST_H */
