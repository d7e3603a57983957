// SPDX-License-Identifier: MIT
/*
 * The log-linear histogram (hist.h): buckets, percentiles, summaries, and
 * the spread of a figure across repetitions.
 */
#include <stdlib.h>
#include <string.h>

#include "hist.h"

void bench_hist_reset(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint64_t bench_hist_low(unsigned int i)
{
	unsigned int shift;

	if (i < 2 * BENCH_HIST_SUB)
		return i;
	shift = i / BENCH_HIST_SUB - 1;
	return (uint64_t)(i % BENCH_HIST_SUB + BENCH_HIST_SUB) << shift;
}

uint64_t bench_hist_high(unsigned int i)
{
	unsigned int shift;

	if (i < 2 * BENCH_HIST_SUB)
		return i;
	shift = i / BENCH_HIST_SUB - 1;
	return bench_hist_low(i) + ((uint64_t)1 << shift) - 1;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
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
uint64_t bench_hist_rank(uint64_t count, double p)
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
 * The smallest bucket whose cumulative count reaches the nearest rank of
 * p, reported as the middle of that bucket and clamped to the exact min and
 * max seen (p100 is the max). Exact below 128, else within
 * BENCH_HIST_REL_ERR of the nearest-rank sample.
 */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p)
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

/* From the buckets' midpoints: within a bucket's width of the exact value. */
double bench_hist_mean_below(const struct bench_hist *h, double p)
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

void bench_hist_summary(const struct bench_hist *h,
			const struct bench_clock *c, struct bench_lat *out)
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct bench_spread bench_spread_of(const double *v, unsigned int n)
{
	struct bench_spread s = { 0, 0, 0 };
	double tmp[256];

	if (!n)
		return s;
	if (n > 256)
		n = 256;
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	s.min = tmp[0];
	s.max = tmp[n - 1];
	s.median = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
	return s;
}
