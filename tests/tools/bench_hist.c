// SPDX-License-Identifier: MIT
/*
 * Suite "bench_hist": the measuring instrument of `pinshm bench` (issue 5),
 * tools/bench/hist.c and raw.c: the log-linear histogram's percentiles against
 * known distributions (a constant, uniform, exponential, a two-point
 * mixture), exact below 128 and within its stated relative error
 * (BENCH_HIST_REL_ERR, half a bucket width: < 1/128) above; its buckets;
 * merging; the nearest-rank definition; the median and spread across
 * repetitions; and the inline baseline ring.
 *
 * The reference is the nearest-rank percentile of the sorted samples: the
 * ceil(p/100 * n)-th smallest.
 */
#include <stdbool.h>

#include <criterion/criterion.h>

#include "hist.h"
#include "raw.h"

TestSuite(bench_hist, .timeout = 30);

static struct bench_hist hist;	/* 30 KiB: not on the stack */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)	/* xorshift64*: deterministic */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Uniform in (0, 1]. */
static double rng_unit(void)
{
	return ((double)(rng() >> 11) + 1.0) / 9007199254740992.0;
}

/* Natural log without libm: x = m * 2^e, ln m = 2 atanh((m-1)/(m+1)). */
static double ln(double x)
{
	double z, z2, term, sum = 0;
	int e = 0, k;

	while (x < 0.5) {
		x *= 2;
		e--;
	}
	while (x >= 1) {
		x /= 2;
		e++;
	}
	z = (x - 1) / (x + 1);
	z2 = z * z;
	term = z;
	for (k = 1; k < 60; k += 2) {
		sum += term / k;
		term *= z2;
	}
	return 2 * sum + e * 0.69314718055994530942;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t exact_percentile(const uint64_t *sorted, uint64_t n, double p)
{
	return sorted[bench_hist_rank(n, p) - 1];
}

static const double pcts[] = { 0.001, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99,
			       99.999, 100 };

/* Fill the histogram with v[0..n), then compare every percentile. */
static void check_against_exact(uint64_t *v, uint64_t n, const char *what)
{
	uint64_t i, got, want;
	size_t k;

	bench_hist_reset(&hist);
	for (i = 0; i < n; i++)
		bench_hist_add(&hist, v[i]);
	qsort(v, n, sizeof(*v), cmp_u64);
	cr_assert_eq(hist.count, n);
	cr_assert_eq(hist.min, v[0]);
	cr_assert_eq(hist.max, v[n - 1]);
	for (k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
		got = bench_hist_percentile(&hist, pcts[k]);
		want = exact_percentile(v, n, pcts[k]);
		if (want < 2 * BENCH_HIST_SUB)
			cr_assert_eq(got, want, "%s p%g: got %llu, want exactly %llu",
				     what, pcts[k], (unsigned long long)got,
				     (unsigned long long)want);
		else
			cr_assert_leq((double)(got > want ? got - want : want - got),
				      BENCH_HIST_REL_ERR * (double)want,
				      "%s p%g: got %llu, want %llu within %.3f%%", what,
				      pcts[k], (unsigned long long)got,
				      (unsigned long long)want, 100 * BENCH_HIST_REL_ERR);
	}
}

Test(bench_hist, a_constant_gives_that_constant_at_every_percentile)
{
	static const uint64_t consts[] = { 0, 7, 127, 128, 1000, 123456789,
					   UINT64_MAX / 3 };
	size_t c, k;
	int i;

	for (c = 0; c < sizeof(consts) / sizeof(consts[0]); c++) {
		bench_hist_reset(&hist);
		for (i = 0; i < 1000; i++)
			bench_hist_add(&hist, consts[c]);
		for (k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++)
			cr_assert_eq(bench_hist_percentile(&hist, pcts[k]), consts[c],
				     "constant %llu, p%g",
				     (unsigned long long)consts[c], pcts[k]);
		cr_assert_eq(hist.max, consts[c]);
	}
}

Test(bench_hist, small_values_are_exact)
{
	uint64_t v[2000];
	int i;

	for (i = 0; i < 2000; i++)
		v[i] = rng() % 128;
	check_against_exact(v, 2000, "uniform 0..127");
}

Test(bench_hist, uniform_percentiles_are_within_the_stated_error)
{
	uint64_t n = 200000, i, *v = malloc(n * sizeof(*v));

	cr_assert_not_null(v);
	for (i = 0; i < n; i++)
		v[i] = 1 + rng() % 100000;
	check_against_exact(v, n, "uniform 1..100000");
	/* A permutation of 1..n: the nearest-rank percentile is known. */
	for (i = 0; i < n; i++)
		v[i] = i + 1;
	for (i = n - 1; i > 0; i--) {
		uint64_t j = rng() % (i + 1), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
	check_against_exact(v, n, "permutation of 1..200000");
	cr_assert_leq(bench_hist_percentile(&hist, 50) > 100000 ?
		      bench_hist_percentile(&hist, 50) - 100000 :
		      100000 - bench_hist_percentile(&hist, 50),
		      100000 * BENCH_HIST_REL_ERR);
	free(v);
}

Test(bench_hist, exponential_percentiles_are_within_the_stated_error)
{
	uint64_t n = 200000, i, *v = malloc(n * sizeof(*v));
	double mean = 5000, p50;

	cr_assert_not_null(v);
	for (i = 0; i < n; i++)
		v[i] = (uint64_t)(-mean * ln(rng_unit()));
	check_against_exact(v, n, "exponential, mean 5000");
	/* And the distribution is what we think: median = mean * ln 2. */
	p50 = (double)bench_hist_percentile(&hist, 50);
	cr_assert(p50 > 0.97 * mean * 0.693 && p50 < 1.03 * mean * 0.693,
		  "exponential median %g", p50);
	/* Long tail: a latency-like distribution with outliers in ms. */
	for (i = 0; i < n; i++)
		v[i] = 2000 + (uint64_t)(-300 * ln(rng_unit())) +
		       (rng() % 1000 == 0 ? 5000000 + rng() % 1000000 : 0);
	check_against_exact(v, n, "exponential plus rare outliers");
	free(v);
}

Test(bench_hist, a_two_point_mixture_switches_at_the_right_rank)
{
	uint64_t v[10000], got;
	int i;

	/* 90% at 100 ticks, 10% at 100000, interleaved. */
	for (i = 0; i < 10000; i++)
		v[i] = i % 10 == 9 ? 100000 : 100;
	check_against_exact(v, 10000, "two-point mixture");
	cr_assert_eq(bench_hist_percentile(&hist, 50), 100);
	cr_assert_eq(bench_hist_percentile(&hist, 90), 100,
		     "rank 9000 is the last of the 100s");
	got = bench_hist_percentile(&hist, 90.01);
	cr_assert(got >= 100000 * (1 - BENCH_HIST_REL_ERR) &&
		  got <= 100000 * (1 + BENCH_HIST_REL_ERR),
		  "rank 9001 is the first of the high mode: %llu",
		  (unsigned long long)got);
	cr_assert_eq(bench_hist_percentile(&hist, 100), 100000, "p100 is the max");
}

Test(bench_hist, every_value_lands_in_a_bucket_that_contains_it)
{
	uint64_t v;
	unsigned int i, prev = 0;
	int s;

	for (v = 0; v < 100000; v++) {
		i = bench_hist_index(v);
		cr_assert(i >= prev, "index is monotonic at %llu",
			  (unsigned long long)v);
		cr_assert(bench_hist_low(i) <= v && v <= bench_hist_high(i));
		prev = i;
	}
	for (s = 0; s < 64; s++) {
		uint64_t vals[3] = { 1ULL << s, (1ULL << s) - 1,
				     (1ULL << s) + (1ULL << s) / 3 };

		for (i = 0; i < 3; i++) {
			unsigned int b = bench_hist_index(vals[i]);

			cr_assert_lt(b, BENCH_HIST_BUCKETS);
			cr_assert(bench_hist_low(b) <= vals[i] &&
				  vals[i] <= bench_hist_high(b));
			/* Width over low: the histogram's resolution. */
			cr_assert_leq((double)(bench_hist_high(b) - bench_hist_low(b)),
				      2 * BENCH_HIST_REL_ERR * (double)bench_hist_low(b) + 0.5);
		}
	}
	cr_assert_lt(bench_hist_index(UINT64_MAX), BENCH_HIST_BUCKETS);
}

Test(bench_hist, merging_equals_adding_everything_to_one)
{
	static struct bench_hist a, b, all;
	uint64_t x;
	unsigned int i;
	int k;

	bench_hist_reset(&a);
	bench_hist_reset(&b);
	bench_hist_reset(&all);
	for (k = 0; k < 50000; k++) {
		x = rng() % 1000000;
		bench_hist_add(k % 3 ? &a : &b, x);
		bench_hist_add(&all, x);
	}
	bench_hist_merge(&a, &b);
	cr_assert_eq(a.count, all.count);
	cr_assert_eq(a.min, all.min);
	cr_assert_eq(a.max, all.max);
	for (i = 0; i < BENCH_HIST_BUCKETS; i++)
		cr_assert_eq(a.bucket[i], all.bucket[i]);
}

Test(bench_hist, an_empty_histogram_reports_zero)
{
	bench_hist_reset(&hist);
	cr_assert_eq(bench_hist_percentile(&hist, 50), 0);
	cr_assert_eq(bench_hist_percentile(&hist, 100), 0);
}

Test(bench_hist, rank_is_the_nearest_rank_definition)
{
	cr_assert_eq(bench_hist_rank(100, 50), 50);
	cr_assert_eq(bench_hist_rank(100, 50.5), 51);
	cr_assert_eq(bench_hist_rank(100, 99.99), 100);
	cr_assert_eq(bench_hist_rank(100, 0), 1);
	cr_assert_eq(bench_hist_rank(100, 100), 100);
	cr_assert_eq(bench_hist_rank(1, 99.9), 1);
	cr_assert_eq(bench_hist_rank(1000000, 99.9), 999000);
}

Test(bench_hist, the_spread_is_median_min_and_max)
{
	double odd[] = { 5, 1, 9, 3, 7 }, even[] = { 4, 1, 3, 2 };
	struct bench_spread s;

	s = bench_spread_of(odd, 5);
	cr_assert_float_eq(s.median, 5, 1e-12);
	cr_assert_float_eq(s.min, 1, 1e-12);
	cr_assert_float_eq(s.max, 9, 1e-12);
	s = bench_spread_of(even, 4);
	cr_assert_float_eq(s.median, 2.5, 1e-12);
	s = bench_spread_of(odd, 1);
	cr_assert_float_eq(s.median, 5, 1e-12);
}

Test(bench_hist, the_inline_ring_delivers_in_order_across_laps_and_batches)
{
	struct bench_raw_shape shape = bench_raw_shape_of(56, 4096);
	uint8_t tmpl[64] = { 0 };
	struct bench_raw_ring *rr;
	uint64_t next, t_first = 0, sent;
	int64_t n;
	unsigned int batch;

	cr_assert_eq(shape.slot, 64, "56-byte payload + stamp: one line");
	rr = aligned_alloc(BENCH_BLOCK, (bench_raw_ring_bytes(&shape) + 127) & ~127UL);
	cr_assert_not_null(rr);
	memset(rr, 0, bench_raw_ring_bytes(&shape));
	for (batch = 1; batch <= 32; batch *= 4) {
		/* Several runs, each over several laps, taking in pieces. */
		next = 0;
		sent = 0;
		while (sent < 10 * shape.nslots) {
			bench_raw_produce(rr, &shape, tmpl, sent, shape.nslots / 2 + 1,
					  batch, false);
			sent += shape.nslots / 2 + 1;
			while (next < sent) {
				n = bench_raw_take(rr, &shape, &next, sent - next, batch,
						   true, &t_first);
				cr_assert_geq(n, 0, "sequence checked, batch %u", batch);
				if (!n)
					break;
			}
			cr_assert_eq(next, sent, "batch %u: all taken", batch);
		}
		cr_assert_eq(bench_raw_take(rr, &shape, &next, 1, batch, true, &t_first), 0,
			     "nothing left over");
	}
	free(rr);
}
