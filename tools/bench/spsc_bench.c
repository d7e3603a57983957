// SPDX-License-Identifier: MIT
/*
 * pinshm-spsc-bench: the SPSC ring against its physical baselines, in one
 * run, between two processes pinned to two cores and sharing one region.
 *
 *   raw ping-pong   two cache lines, each process spins on one and writes
 *                   the other: the floor for a round trip (raw.h).
 *   spsc ping-pong  two SPSC rings A->B and B->A, --size payload each way.
 *   raw stream      a minimal fixed-slot ring, inline (raw.h: a stamp
 *                   per slot polled by the consumer, cached opposite
 *                   index): the floor for streaming, unbatched and batch 32.
 *   spsc stream     the library ring, claim/commit each message, then
 *                   stage 32 + publish with peek_batch/release.
 *   one-way         paced (one message every --interval ns); the sender
 *                   stamps its TSC into the payload, the receiver records
 *                   now - stamp. Over one raw line, then over the ring.
 *
 * Every measurement is repeated --reps times, interleaved, and reported as
 * the median with the min-max spread across repetitions: the machine's
 * noise is part of the result. Nothing here asserts a timing.
 *
 * The inline baseline ring (struct bench_raw_ring) and its protocol live in
 * raw.h; `pinshm bench` uses the same one.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinshm.h>

#include "clock.h"
#include "cpu.h"
#include "harness.h"
#include "hist.h"
#include "raw.h"

#define MAX_REPS	64
#define BATCH		32
#define SKEW_PROBES	20000

enum { L_RAW_PP, L_SPSC_PP, L_RAW_OW, L_SPSC_OW, NR_L };
enum { T_RAW, T_SPSC, T_RAW_B, T_SPSC_B, NR_T };

struct opts {
	uint32_t size;
	uint64_t count;		/* streaming messages per run */
	uint64_t samples;	/* latency samples per run */
	uint64_t capacity;	/* ring bytes */
	unsigned int reps;
	unsigned int interval_ns;
	unsigned int timeout_s;
	int cpus[2];
	int backend;
	bool json;
	bool quick;
	bool rt;		/* SCHED_FIFO for the two processes */
};

/* Results, in an anonymous shared mapping (not the region under test). */
struct shared {
	struct harness_sync sync;
	struct bench_hist cur[NR_L];	/* this repetition */
	struct bench_lat lat[NR_L][MAX_REPS];
	double mps[NR_T][MAX_REPS];	/* messages per second */
	uint64_t max_ticks[NR_L];	/* over all repetitions */
	uint64_t negative[NR_L];	/* one-way stamps from the future */
	uint64_t missed;		/* raw one-way messages not seen */
	int64_t skew;			/* TSC of cpu B minus cpu A, ticks */
	uint64_t skew_unc;
	char err[2][256];
};

/* What else used our two CPUs during the run (parent's view). */
struct noise {
	double other_pct[2];	/* busy time not ours, % of the CPU */
	double steal_pct[2];	/* hypervisor steal, % of the CPU */
	long nivcsw[2];		/* our processes' involuntary switches */
};

/* The region's scratch area: the raw lines, then the inline ring. */
struct scratch {
	struct bench_pp pp;
	struct bench_raw_ring ring;
};

struct payload {
	uint64_t seq;
	uint64_t stamp;
};

struct side {
	int id;				/* 0: A (initiator/producer), 1: B */
	const struct opts *o;
	struct shared *sh;
	struct bench_clock clk;
	struct pinshm_region *r;
	struct pinshm_spsc tx, rx;	/* A: tx = ab, rx = ba; B: reverse */
	struct scratch *scr;
	uint64_t nslots;
	uint32_t slot;
	_Alignas(BENCH_LINE) uint8_t tmpl[4096];
};

static const char *const tp_name[NR_T] = {
	"raw ring, commit each", "spsc, commit each",
	"raw ring, batch 32", "spsc, stage 32 + publish",
};

static char region_name[PINSHM_NAME_MAX];
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void __attribute__((format(printf, 2, 3)))
side_fail(struct side *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->sh->err[s->id], sizeof(s->sh->err[0]), fmt, ap);
	va_end(ap);
	harness_sync_fail(&s->sh->sync);
	_exit(1);
}

static void sync_or_die(struct side *s)
{
	if (harness_sync_wait(&s->sh->sync, s->id, 2))
		_exit(1);
}

static uint64_t warm_of(uint64_t n)
{
	uint64_t w = n / 10;

	return w < 100 ? 100 : w > 10000 ? 10000 : w;
}

/* ---------------------------------------------------------------- */
/* Inline baseline ring                                              */
/* ---------------------------------------------------------------- */

static void raw_stream_produce(struct side *s, uint64_t count,
			       unsigned int batch)
{
	struct bench_raw_shape shp = { s->nslots, s->slot, s->o->size };

	bench_raw_produce(&s->scr->ring, &shp, s->tmpl, 0, count, batch,
			  false);
}

static double raw_stream_consume(struct side *s, uint64_t count,
				 unsigned int batch)
{
	struct bench_raw_shape shp = { s->nslots, s->slot, s->o->size };
	double mps = bench_raw_consume(&s->scr->ring, &shp, count, batch,
				       &s->clk);

	if (mps < 0)
		side_fail(s, "raw ring: sequence out of order");
	return mps;
}

/* ---------------------------------------------------------------- */
/* The library ring                                                  */
/* ---------------------------------------------------------------- */

static void *spsc_claim_spin(struct side *s, struct pinshm_spsc *r,
			     uint32_t len)
{
	void *dst;
	int ret;

	while ((ret = pinshm_spsc_claim(r, len, &dst)) == -EAGAIN)
		pinshm_cpu_relax();
	if (ret)
		side_fail(s, "pinshm_spsc_claim: %s", strerror(-ret));
	return dst;
}

static void spsc_peek_spin(struct side *s, struct pinshm_spsc *r,
			   struct pinshm_msg *m)
{
	int ret;

	while ((ret = pinshm_spsc_peek(r, m)) == -EAGAIN)
		pinshm_cpu_relax();
	if (ret)
		side_fail(s, "pinshm_spsc_peek: %s", strerror(-ret));
}

static void check_msg(struct side *s, const struct pinshm_msg *m,
		      uint64_t want, const char *what)
{
	uint64_t seq;

	memcpy(&seq, m->data, sizeof(seq));
	if (seq != want || m->len != s->o->size)
		side_fail(s, "%s: got seq %llu len %u, want seq %llu len %u",
			  what, (unsigned long long)seq, m->len,
			  (unsigned long long)want, s->o->size);
}

static void spsc_stream_produce(struct side *s, uint64_t count,
				unsigned int batch)
{
	struct payload *p = (struct payload *)s->tmpl;
	uint32_t size = s->o->size;
	uint64_t i = 0;
	unsigned int k;
	void *dst;
	int ret;

	if (batch <= 1) {
		for (i = 0; i < count; i++) {
			dst = spsc_claim_spin(s, &s->tx, size);
			p->seq = i;
			memcpy(dst, s->tmpl, size);
			pinshm_spsc_commit(&s->tx, size, 0);
		}
		return;
	}
	while (i < count) {
		for (k = 0; k < batch && i < count; k++, i++) {
			ret = pinshm_spsc_claim(&s->tx, size, &dst);
			if (ret == -EAGAIN)
				break;
			if (ret)
				side_fail(s, "pinshm_spsc_claim: %s",
					  strerror(-ret));
			p->seq = i;
			memcpy(dst, s->tmpl, size);
			pinshm_spsc_stage(&s->tx, size, 0);
		}
		if (k)
			pinshm_spsc_publish(&s->tx);
		else
			pinshm_cpu_relax();
	}
}

static double spsc_stream_consume(struct side *s, uint64_t count,
				  unsigned int batch)
{
	struct pinshm_msg m[BATCH];
	uint64_t i = 0, t_first = 0, t_last;
	int n, j;

	if (batch > BATCH)
		batch = BATCH;
	while (i < count) {
		n = pinshm_spsc_peek_batch(&s->rx, m, batch);
		if (n == 0) {
			pinshm_cpu_relax();
			continue;
		}
		if (n < 0)
			side_fail(s, "pinshm_spsc_peek_batch: %s",
				  strerror(-n));
		if (i == 0)
			t_first = bench_now();
		for (j = 0; j < n; j++, i++)
			check_msg(s, &m[j], i, "spsc stream");
		pinshm_spsc_release(&s->rx);
	}
	t_last = bench_now();
	if (count < 2 || t_last <= t_first)
		return 0;
	/* The first batch arrived at t_first: count what came after it. */
	return (double)(count - 1) /
	       (bench_ticks_to_ns(&s->clk, t_last - t_first) * 1e-9);
}

static void spsc_pp_initiator(struct side *s, uint64_t warm, uint64_t n,
			      struct bench_hist *h)
{
	struct payload *p = (struct payload *)s->tmpl;
	uint32_t size = s->o->size;
	struct pinshm_msg m;
	uint64_t i, t0, t1;
	void *dst;

	for (i = 0; i < warm + n; i++) {
		t0 = bench_now();
		dst = spsc_claim_spin(s, &s->tx, size);
		p->seq = i;
		memcpy(dst, s->tmpl, size);
		pinshm_spsc_commit(&s->tx, size, 0);
		spsc_peek_spin(s, &s->rx, &m);
		check_msg(s, &m, i, "spsc ping-pong reply");
		pinshm_spsc_release(&s->rx);
		t1 = bench_now();
		if (i >= warm)
			bench_hist_add(h, t1 - t0);
	}
}

static void spsc_pp_responder(struct side *s, uint64_t warm, uint64_t n)
{
	struct pinshm_msg m;
	uint64_t i;
	void *dst;

	for (i = 0; i < warm + n; i++) {
		spsc_peek_spin(s, &s->rx, &m);
		check_msg(s, &m, i, "spsc ping-pong request");
		dst = spsc_claim_spin(s, &s->tx, m.len);
		memcpy(dst, m.data, m.len);
		pinshm_spsc_commit(&s->tx, m.len, 0);
		pinshm_spsc_release(&s->rx);
	}
}

static void spsc_oneway_send(struct side *s, uint64_t warm, uint64_t n,
			     uint64_t interval)
{
	struct payload *p = (struct payload *)s->tmpl;
	uint32_t size = s->o->size;
	uint64_t i, next = bench_now() + interval;
	void *dst;

	for (i = 0; i < warm + n; i++) {
		bench_wait_until(next);
		next += interval;
		p->stamp = bench_now();
		p->seq = i;
		dst = spsc_claim_spin(s, &s->tx, size);
		memcpy(dst, s->tmpl, size);
		pinshm_spsc_commit(&s->tx, size, 0);
		if (bench_now() > next + 100 * interval)
			next = bench_now() + interval;	/* we were preempted */
	}
}

static uint64_t spsc_oneway_recv(struct side *s, uint64_t warm, uint64_t n,
				 struct bench_hist *h)
{
	struct pinshm_msg m;
	struct payload p;
	uint64_t i, t, neg = 0;

	for (i = 0; i < warm + n; i++) {
		spsc_peek_spin(s, &s->rx, &m);
		t = bench_now();
		check_msg(s, &m, i, "spsc one-way");
		memcpy(&p, m.data, sizeof(p));
		pinshm_spsc_release(&s->rx);
		if (i < warm)
			continue;
		if (t < p.stamp) {
			neg++;
			t = p.stamp;
		}
		bench_hist_add(h, t - p.stamp);
	}
	return neg;
}

/* ---------------------------------------------------------------- */
/* One process: side 0 (A) or side 1 (B)                             */
/* ---------------------------------------------------------------- */

static void side_setup(struct side *s)
{
	const struct opts *o = s->o;
	const char *tx = s->id ? "ba" : "ab", *rx = s->id ? "ab" : "ba";
	void *scr;
	int ret;

	ret = bench_pin(o->cpus[s->id]);
	if (ret)
		side_fail(s, "pin to cpu %d: %s", o->cpus[s->id],
			  strerror(-ret));
	if (o->rt) {
		struct sched_param sp = { .sched_priority = 1 };

		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
			side_fail(s, "--rt: SCHED_FIFO: %s", strerror(errno));
	}
	ret = pinshm_region_open(region_name, PINSHM_RDWR, o->backend, &s->r);
	if (ret)
		side_fail(s, "pinshm_region_open %s: %s", region_name,
			  strerror(-ret));
	ret = pinshm_spsc_attach(s->r, tx, PINSHM_PRODUCER, &s->tx);
	if (!ret)
		ret = pinshm_spsc_attach(s->r, rx, PINSHM_CONSUMER, &s->rx);
	if (ret)
		side_fail(s, "pinshm_spsc_attach: %s", strerror(-ret));
	ret = bench_region_scratch(s->r, sizeof(struct scratch) +
				   s->nslots * s->slot, &scr);
	if (ret)
		side_fail(s, "scratch area: %s", strerror(-ret));
	s->scr = scr;
	memset(s->tmpl, 0xa5, sizeof(s->tmpl));
}

static void side_summarize(struct side *s, unsigned int rep, int l)
{
	struct shared *sh = s->sh;

	bench_hist_summary(&sh->cur[l], &s->clk, &sh->lat[l][rep]);
	if (sh->cur[l].max > sh->max_ticks[l])
		sh->max_ticks[l] = sh->cur[l].max;
	bench_hist_reset(&sh->cur[l]);
}

static void __attribute__((noreturn)) side_run(struct side *s)
{
	const struct opts *o = s->o;
	struct shared *sh = s->sh;
	uint64_t n = o->samples, warm = warm_of(n);
	uint64_t interval = bench_ns_to_ticks(&s->clk, o->interval_ns);
	bool a = s->id == 0;
	uint64_t ow_last = 0;	/* receiver: last raw one-way word seen */
	unsigned int rep;
	double mps;

	side_setup(s);
	sync_or_die(s);
	if (a)
		bench_skew_initiator(&s->scr->pp, SKEW_PROBES, &sh->skew,
				     &sh->skew_unc);
	else
		bench_skew_responder(&s->scr->pp, SKEW_PROBES);

	for (rep = 0; rep < o->reps; rep++) {
		/* a. raw cache-line ping-pong */
		sync_or_die(s);
		if (a)
			bench_pp_initiator(&s->scr->pp, warm, n,
					   &sh->cur[L_RAW_PP]);
		else
			bench_pp_responder(&s->scr->pp, warm, n);

		/* b. SPSC ping-pong */
		sync_or_die(s);
		if (a)
			spsc_pp_initiator(s, warm, n, &sh->cur[L_SPSC_PP]);
		else
			spsc_pp_responder(s, warm, n);

		/* c. streaming: raw ring and spsc, unbatched then batched */
		for (int t = 0; t < NR_T; t++) {
			unsigned int batch = t >= T_RAW_B ? BATCH : 1;
			bool raw = t == T_RAW || t == T_RAW_B;

			sync_or_die(s);
			if (a && raw)
				raw_stream_produce(s, o->count, batch);
			else if (a)
				spsc_stream_produce(s, o->count, batch);
			else {
				mps = raw ? raw_stream_consume(s, o->count,
							       batch)
					  : spsc_stream_consume(s, o->count,
								batch);
				sh->mps[t][rep] = mps;
			}
		}

		/* d. paced one-way: raw line, then spsc */
		sync_or_die(s);
		if (a)
			bench_oneway_raw_send(&s->scr->pp, warm, n, interval);
		else
			sh->negative[L_RAW_OW] +=
				bench_oneway_raw_recv(&s->scr->pp, warm, n,
						      &sh->cur[L_RAW_OW],
						      &sh->missed, &ow_last);
		sync_or_die(s);
		if (a)
			spsc_oneway_send(s, warm, n, interval);
		else
			sh->negative[L_SPSC_OW] +=
				spsc_oneway_recv(s, warm, n,
						 &sh->cur[L_SPSC_OW]);

		sync_or_die(s);
		if (a) {
			side_summarize(s, rep, L_RAW_PP);
			side_summarize(s, rep, L_SPSC_PP);
		} else {
			side_summarize(s, rep, L_RAW_OW);
			side_summarize(s, rep, L_SPSC_OW);
		}
	}
	sync_or_die(s);
	pinshm_spsc_detach(&s->tx);
	pinshm_spsc_detach(&s->rx);
	pinshm_region_close(s->r);
	_exit(0);
}

/* ---------------------------------------------------------------- */
/* Report                                                            */
/* ---------------------------------------------------------------- */

struct lat_report {
	struct bench_spread p50, p99, p999, tmean;
	double max;
};

static struct lat_report lat_report(const struct shared *sh,
				    const struct bench_clock *clk, int l,
				    unsigned int reps)
{
	double v[4][MAX_REPS];
	struct lat_report r;
	unsigned int i;

	for (i = 0; i < reps; i++) {
		v[0][i] = sh->lat[l][i].p50;
		v[1][i] = sh->lat[l][i].p99;
		v[2][i] = sh->lat[l][i].p999;
		v[3][i] = sh->lat[l][i].tmean;
	}
	r.p50 = bench_spread_of(v[0], reps);
	r.p99 = bench_spread_of(v[1], reps);
	r.p999 = bench_spread_of(v[2], reps);
	r.tmean = bench_spread_of(v[3], reps);
	r.max = bench_ticks_to_ns(clk, sh->max_ticks[l]);
	return r;
}

/* Ratios of a latency to its baseline (scale 0.5: half a round trip). */
struct lat_ratio {
	double p50, p99, tmean;
};

static struct lat_ratio lat_ratio(const struct lat_report *x,
				  const struct lat_report *base, double scale)
{
	struct lat_ratio q;

	q.p50 = x->p50.median / (base->p50.median * scale);
	q.p99 = x->p99.median / (base->p99.median * scale);
	q.tmean = x->tmean.median / (base->tmean.median * scale);
	return q;
}

static const char *spread_str(char *buf, size_t len, struct bench_spread s,
			      int prec)
{
	snprintf(buf, len, "%.*f [%.*f-%.*f]", prec, s.median, prec, s.min,
		 prec, s.max);
	return buf;
}

static void print_lat_row(const char *name, const struct lat_report *r,
			  const struct lat_ratio *q)
{
	char b[3][64];

	printf("  %-20s %-16s %-16s %-20s %7.0f %9.0f", name,
	       spread_str(b[0], sizeof(b[0]), r->p50, 0),
	       spread_str(b[1], sizeof(b[1]), r->p99, 0),
	       spread_str(b[2], sizeof(b[2]), r->tmean, 1), r->p999.median,
	       r->max);
	if (q)
		printf("  %5.2fx %5.2fx %5.2fx", q->p50, q->p99, q->tmean);
	printf("\n");
}

static void print_spread_json(const char *key, struct bench_spread s)
{
	printf("\"%s\": {\"median\": %.2f, \"min\": %.2f, \"max\": %.2f}", key,
	       s.median, s.min, s.max);
}

static void print_lat_json(const char *system, const char *pattern,
			   const char *key, const struct opts *o,
			   const struct lat_report *r, const struct lat_ratio *q,
			   bool last)
{
	printf("    {\"system\": \"%s\", \"pattern\": \"%s\", \"size\": %u, "
	       "\"%s\": {\"p50\": %.2f, \"p99\": %.2f, \"p999\": %.2f, "
	       "\"max\": %.2f, \"mean_below_p99\": %.2f}, ",
	       system, pattern, o->size, key, r->p50.median, r->p99.median,
	       r->p999.median, r->max, r->tmean.median);
	print_spread_json("p50_spread_ns", r->p50);
	printf(", ");
	print_spread_json("p99_spread_ns", r->p99);
	printf(", ");
	print_spread_json("mean_below_p99_spread_ns", r->tmean);
	printf(", \"ratio_to_raw\": %.4f, \"ratio_to_raw_p99\": %.4f, "
	       "\"ratio_to_raw_mean\": %.4f}%s\n",
	       q->p50, q->p99, q->tmean, last ? "" : ",");
}

static void report(const struct opts *o, const struct shared *sh,
		   const struct bench_clock *clk, const char *backend,
		   const struct noise *nz)
{
	struct lat_report l[NR_L];
	struct bench_spread t[NR_T];
	struct lat_ratio one = { 1, 1, 1 }, q_pp, q_row, q_ow;
	int i;

	for (i = 0; i < NR_L; i++)
		l[i] = lat_report(sh, clk, i, o->reps);
	for (i = 0; i < NR_T; i++)
		t[i] = bench_spread_of(sh->mps[i], o->reps);
	q_pp = lat_ratio(&l[L_SPSC_PP], &l[L_RAW_PP], 1.0);
	q_row = lat_ratio(&l[L_RAW_OW], &l[L_RAW_PP], 0.5);
	q_ow = lat_ratio(&l[L_SPSC_OW], &l[L_RAW_PP], 0.5);

	if (o->json) {
		printf("{\n  \"tool\": \"pinshm-spsc-bench\", "
		       "\"backend\": \"%s\", \"cpus\": [%d, %d], "
		       "\"size\": %u, \"capacity\": %llu, \"reps\": %u, "
		       "\"samples\": %llu, \"count\": %llu, "
		       "\"interval_ns\": %u, \"sched_fifo\": %s,\n",
		       backend, o->cpus[0], o->cpus[1], o->size,
		       (unsigned long long)o->capacity, o->reps,
		       (unsigned long long)o->samples,
		       (unsigned long long)o->count, o->interval_ns,
		       o->rt ? "true" : "false");
		printf("  \"tsc\": {\"mhz\": %.1f, \"constant_tsc\": %s, "
		       "\"nonstop_tsc\": %s, \"timestamp_cost_ns\": %.2f, "
		       "\"resolution_ns\": %.2f, "
		       "\"skew_ns\": %.1f, \"skew_uncertainty_ns\": %.1f},\n",
		       clk->ticks_per_ns * 1e3,
		       clk->constant_tsc ? "true" : "false",
		       clk->nonstop_tsc ? "true" : "false", clk->ts_cost_ns,
		       clk->resolution_ns,
		       (double)sh->skew / clk->ticks_per_ns,
		       bench_ticks_to_ns(clk, sh->skew_unc));
		printf("  \"noise\": {\"other_busy_pct\": [%.1f, %.1f], "
		       "\"steal_pct\": [%.1f, %.1f], "
		       "\"involuntary_switches\": [%ld, %ld], "
		       "\"raw_oneway_missed\": %llu},\n",
		       nz->other_pct[0], nz->other_pct[1], nz->steal_pct[0],
		       nz->steal_pct[1], nz->nivcsw[0], nz->nivcsw[1],
		       (unsigned long long)sh->missed);
		printf("  \"results\": [\n");
		print_lat_json("raw-pingpong", "pingpong", "rtt_ns", o,
			       &l[L_RAW_PP], &one, false);
		print_lat_json("pinshm-spsc", "pingpong", "rtt_ns", o,
			       &l[L_SPSC_PP], &q_pp, false);
		for (i = 0; i < NR_T; i++) {
			bool raw = i == T_RAW || i == T_RAW_B;
			int base = i >= T_RAW_B ? T_RAW_B : T_RAW;

			printf("    {\"system\": \"%s\", \"pattern\": \"%s\", "
			       "\"size\": %u, \"msgs_per_s\": %.0f, "
			       "\"gb_per_s\": %.3f, ",
			       raw ? "raw-stream" : "pinshm-spsc",
			       i >= T_RAW_B ? "stream-batch32" : "stream",
			       o->size, t[i].median,
			       t[i].median * o->size / 1e9);
			print_spread_json("msgs_per_s_spread", t[i]);
			printf(", \"ratio_to_raw\": %.4f},\n",
			       t[i].median / t[base].median);
		}
		print_lat_json("raw-oneway", "oneway-paced", "oneway_ns", o,
			       &l[L_RAW_OW], &q_row, false);
		print_lat_json("pinshm-spsc", "oneway-paced", "oneway_ns", o,
			       &l[L_SPSC_OW], &q_ow, true);
		printf("  ],\n  \"notes\": \"latency: median across reps of "
		       "each rep's percentile; ratios to the raw ping-pong "
		       "(one-way: to its half round trip); stream ratios: "
		       "msgs/s over the raw ring's with the same batching\"\n"
		       "}\n");
		return;
	}

	printf("pinshm-spsc-bench: backend %s, cpus %d,%d (separate "
	       "processes%s), payload %u B, ring %llu KiB, %u reps\n",
	       backend, o->cpus[0], o->cpus[1], o->rt ? ", SCHED_FIFO" : "",
	       o->size, (unsigned long long)o->capacity / 1024, o->reps);
	printf("TSC %.1f MHz (vs CLOCK_MONOTONIC), constant_tsc %s, "
	       "nonstop_tsc %s; one timestamp (lfence+rdtsc) %.1f ns,\n"
	       "  resolution %.1f ns (single samples are quantized to it; "
	       "means are not); TSC offset cpu%d-cpu%d %+.1f ns (+-%.1f)\n",
	       clk->ticks_per_ns * 1e3, clk->constant_tsc ? "yes" : "MISSING",
	       clk->nonstop_tsc ? "yes" : "MISSING", clk->ts_cost_ns,
	       clk->resolution_ns, o->cpus[1], o->cpus[0],
	       (double)sh->skew / clk->ticks_per_ns,
	       bench_ticks_to_ns(clk, sh->skew_unc));
	if (!clk->constant_tsc || !clk->nonstop_tsc)
		printf("WARNING: TSC not invariant here: one-way figures "
		       "may be wrong\n");
	printf("noise: other work took %.1f%% of cpu%d and %.1f%% of cpu%d, "
	       "steal %.1f%%/%.1f%%, involuntary switches %ld/%ld%s\n",
	       nz->other_pct[0], o->cpus[0], nz->other_pct[1], o->cpus[1],
	       nz->steal_pct[0], nz->steal_pct[1], nz->nivcsw[0],
	       nz->nivcsw[1],
	       nz->other_pct[0] > 5 || nz->other_pct[1] > 5 ||
	       nz->steal_pct[0] + nz->steal_pct[1] > 2 ||
	       nz->nivcsw[0] + nz->nivcsw[1] > 50 ?
	       "\n  (the CPUs were shared: expect outliers and wide spreads)" :
	       "");
	printf("\nlatency, ns: median of %u reps [min-max across reps], "
	       "%llu samples each; mean<p99 = mean of the samples below p99\n",
	       o->reps, (unsigned long long)o->samples);
	printf("  %-20s %-16s %-16s %-20s %7s %9s  %s\n", "", "p50", "p99",
	       "mean<p99", "p99.9", "max(all)", "ratio p50 / p99 / mean");
	print_lat_row("raw ping-pong RTT", &l[L_RAW_PP], NULL);
	print_lat_row("spsc ping-pong RTT", &l[L_SPSC_PP], &q_pp);
	printf("  %-20s %.1f (raw)  %.1f (spsc)\n", "half RTT p50",
	       l[L_RAW_PP].p50.median / 2, l[L_SPSC_PP].p50.median / 2);
	printf("  one-way, paced 1 msg / %u ns; ratios to the raw half RTT:\n",
	       o->interval_ns);
	print_lat_row("raw line one-way", &l[L_RAW_OW], &q_row);
	print_lat_row("spsc one-way", &l[L_SPSC_OW], &q_ow);
	if (sh->negative[L_RAW_OW] || sh->negative[L_SPSC_OW])
		printf("  (%llu one-way stamps were ahead of the receiver's "
		       "TSC and count as 0)\n",
		       (unsigned long long)(sh->negative[L_RAW_OW] +
					    sh->negative[L_SPSC_OW]));
	if (sh->missed)
		printf("  (the raw one-way receiver was late for %llu "
		       "messages: not sampled; the ring queues them)\n",
		       (unsigned long long)sh->missed);
	printf("\nstreaming, %llu msgs of %u B per run: median "
	       "[min-max across reps]\n", (unsigned long long)o->count,
	       o->size);
	printf("  %-26s %-24s %8s   %s\n", "", "M msgs/s", "GB/s",
	       "ratio to raw ring");
	for (i = 0; i < NR_T; i++) {
		int base = i >= T_RAW_B ? T_RAW_B : T_RAW;
		char b[64];

		snprintf(b, sizeof(b), "%.1f [%.1f-%.1f]", t[i].median / 1e6,
			 t[i].min / 1e6, t[i].max / 1e6);
		printf("  %-26s %-24s %8.2f", tp_name[i], b,
		       t[i].median * o->size / 1e9);
		if (i != base)
			printf("   %5.2fx", t[i].median / t[base].median);
		printf("\n");
	}
	printf("\nlatency ratios above 1 are slower; msgs/s ratios below 1 "
	       "are slower. Nothing is asserted: read the spreads.\n");
}

/* ---------------------------------------------------------------- */
/* Main                                                              */
/* ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pinshm-spsc-bench [--size B] [--count N] [--samples N]"
		" [--cpus A,B] [--reps R]\n"
		"         [--backend shm|kmod|auto] [--capacity BYTES] "
		"[--interval NS] [--timeout S]\n"
		"         [--json] [--quick] [--rt]\n"
		"  --size B       payload bytes, >= 16 (default 64)\n"
		"  --count N      messages per streaming run (default 5M)\n"
		"  --samples N    latency samples per run (default 100k)\n"
		"  --cpus A,B     the two cores (default: the first two "
		"allowed)\n"
		"  --reps R       repetitions, median and spread (default 5)\n"
		"  --capacity B   ring bytes, power of two (default 64K)\n"
		"  --interval NS  pacing of the one-way test (default 2000)\n"
		"  --quick        tiny counts: proves it runs (make check)\n"
		"  --rt           both sides SCHED_FIFO (root): other work "
		"on the two CPUs\n"
		"                 waits, except for the kernel's RT "
		"throttling\n");
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v *= 1e3; end++; break;
	case 'm': case 'M': v *= 1e6; end++; break;
	case 'g': case 'G': v *= 1e9; end++; break;
	}
	if (*end)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						     noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pinshm-spsc-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "samples", required_argument, NULL, 'S' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "reps", required_argument, NULL, 'r' },
		{ "backend", required_argument, NULL, 'b' },
		{ "capacity", required_argument, NULL, 'C' },
		{ "interval", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "rt", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool have_cpus = false, have_reps = false, have_count = false;
	bool have_samples = false;
	uint64_t v;
	int c, ret, cpus[2];

	memset(o, 0, sizeof(*o));
	o->size = 64;
	o->count = 5000000;
	o->samples = 100000;
	o->capacity = 64 * 1024;
	o->reps = 5;
	o->interval_ns = 2000;
	o->timeout_s = 600;
	o->backend = PINSHM_BACKEND_AUTO;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (pinshm_parse_size(optarg, &v) || v < 16 ||
			    v > 1024)
				die("--size %s: want 16..1024 bytes", optarg);
			o->size = (uint32_t)v;
			break;
		case 'n':
			if (parse_count(optarg, &o->count) || o->count < 2)
				die("--count %s: want a number >= 2", optarg);
			have_count = true;
			break;
		case 'S':
			if (parse_count(optarg, &o->samples) || !o->samples)
				die("--samples %s: want a number >= 1",
				    optarg);
			have_samples = true;
			break;
		case 'c':
			if (bench_parse_cpus(optarg, o->cpus))
				die("--cpus %s: want two different CPUs, A,B",
				    optarg);
			have_cpus = true;
			break;
		case 'r':
			o->reps = (unsigned int)strtoul(optarg, NULL, 10);
			if (o->reps < 1 || o->reps > MAX_REPS)
				die("--reps %s: want 1..%d", optarg, MAX_REPS);
			have_reps = true;
			break;
		case 'b':
			ret = pinshm_backend_parse(optarg);
			if (ret < 0)
				die("--backend %s: want auto, kmod or shm",
				    optarg);
			o->backend = ret;
			break;
		case 'C':
			if (pinshm_parse_size(optarg, &o->capacity) ||
			    o->capacity < 4096 ||
			    (o->capacity & (o->capacity - 1)) ||
			    o->capacity > (256ULL << 20))
				die("--capacity %s: want a power of two, "
				    "4K..256M", optarg);
			break;
		case 'i':
			o->interval_ns = (unsigned int)strtoul(optarg, NULL,
							       10);
			if (!o->interval_ns)
				die("--interval %s: want nanoseconds > 0",
				    optarg);
			break;
		case 't':
			o->timeout_s = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'j':
			o->json = true;
			break;
		case 'q':
			o->quick = true;
			break;
		case 'R':
			o->rt = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (o->quick) {
		if (!have_count)
			o->count = 100000;
		if (!have_samples)
			o->samples = 5000;
		if (!have_reps)
			o->reps = 2;
		if (!o->timeout_s || o->timeout_s > 60)
			o->timeout_s = 60;
	}
	if (!have_cpus) {
		ret = bench_allowed_cpus(cpus, 2);
		if (ret < 2)
			die("need two CPUs to run on, have %d", ret);
		o->cpus[0] = cpus[0];
		o->cpus[1] = cpus[1];
	}
	if (2 * (o->size + 2 * PINSHM_REC_HDR) > o->capacity / 2)
		die("--size %u too large for a %llu-byte ring", o->size,
		    (unsigned long long)o->capacity);
}

int main(int argc, char **argv)
{
	struct pinshm_region_opts ro;
	struct pinshm_region *r = NULL;
	struct bench_clock clk;
	struct shared *sh;
	struct side s;
	struct opts o;
	struct sigaction sa;
	pid_t pid[2] = { 0, 0 };
	struct bench_cpustat cs0[2], cs1[2];
	double ours_us[2] = { 0, 0 };
	struct noise nz;
	struct rusage ru;
	uint64_t scratch, need;
	int ret, i, status, alive = 0, failed = 0, backend;
	void *scr;

	parse_opts(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: waitpid sees EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);

	bench_clock_init(&clk, o.quick ? 20 : 200);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(sh, 0, sizeof(*sh));
	for (i = 0; i < NR_L; i++)
		bench_hist_reset(&sh->cur[i]);

	memset(&s, 0, sizeof(s));
	s.o = &o;
	s.sh = sh;
	s.clk = clk;
	{
		struct bench_raw_shape shp = bench_raw_shape_of(o.size,
								o.capacity);

		s.slot = shp.slot;
		s.nslots = shp.nslots;
	}
	scratch = (sizeof(struct scratch) + s.nslots * s.slot + 4095) &
		  ~4095ULL;
	/* Directory, two rings (header + buffer, page-rounded), scratch. */
	need = 8192 + 2 * (PINSHM_SPSC_HDR_SIZE + o.capacity + 4096) +
	       scratch + 65536;
	need = (need + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);

	snprintf(region_name, sizeof(region_name), "pinshm-spsc-bench-%d",
		 (int)getpid());
	pinshm_region_opts_init(&ro);
	ro.size = need;
	ro.backend = o.backend;
	ret = pinshm_region_create(region_name, &ro, &r);
	if (ret)
		die("create region %s (%s backend): %s", region_name,
		    pinshm_backend_name(pinshm_backend_resolve(o.backend)),
		    strerror(-ret));
	backend = pinshm_region_backend(r);
	o.backend = backend;	/* the children open what we created */
	ret = pinshm_spsc_create(r, "ab", o.capacity, 0);
	if (!ret)
		ret = pinshm_spsc_create(r, "ba", o.capacity, 0);
	if (!ret)
		ret = bench_region_scratch(r, scratch, &scr);
	if (ret) {
		fprintf(stderr, "pinshm-spsc-bench: set up region %s: %s\n",
			region_name, strerror(-ret));
		failed = 1;
		goto out_destroy;
	}

	memset(&nz, 0, sizeof(nz));
	for (i = 0; i < 2; i++)
		bench_cpustat_read(o.cpus[i], &cs0[i]);
	alarm(o.timeout_s);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] < 0) {
			fprintf(stderr, "pinshm-spsc-bench: fork: %s\n",
				strerror(errno));
			pid[i] = 0;
			harness_sync_fail(&sh->sync);
			failed = 1;
			break;
		}
		if (pid[i] == 0) {
			s.id = i;
			side_run(&s);
		}
		alive++;
	}

	while (alive) {
		pid_t w = wait4(-1, &status, 0, &ru);

		if (w < 0) {
			if (errno != EINTR)
				break;
			if (got_signal) {
				failed = 1;
				for (i = 0; i < 2; i++)
					if (pid[i] > 0)
						kill(pid[i], SIGKILL);
			}
			continue;
		}
		for (i = 0; i < 2; i++) {
			if (w != pid[i])
				continue;
			pid[i] = 0;
			alive--;
			ours_us[i] = (double)ru.ru_utime.tv_sec * 1e6 +
				     (double)ru.ru_utime.tv_usec +
				     (double)ru.ru_stime.tv_sec * 1e6 +
				     (double)ru.ru_stime.tv_usec;
			nz.nivcsw[i] = ru.ru_nivcsw;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				continue;
			failed = 1;
			if (sh->err[i][0])
				fprintf(stderr, "pinshm-spsc-bench: side %c: "
					"%s\n", 'A' + i, sh->err[i]);
			else if (WIFSIGNALED(status) &&
				 WTERMSIG(status) != SIGKILL &&
				 WTERMSIG(status) != SIGINT &&
				 WTERMSIG(status) != SIGTERM &&
				 WTERMSIG(status) != SIGHUP)
				fprintf(stderr, "pinshm-spsc-bench: side %c "
					"killed by signal %d\n", 'A' + i,
					WTERMSIG(status));
			/* The other side would spin forever. */
			for (int j = 0; j < 2; j++)
				if (pid[j] > 0)
					kill(pid[j], SIGKILL);
		}
	}
	alarm(0);
	for (i = 0; i < 2; i++) {
		bench_cpustat_read(o.cpus[i], &cs1[i]);
		bench_cpustat_noise(&cs0[i], &cs1[i], ours_us[i],
				    &nz.other_pct[i], &nz.steal_pct[i]);
	}
	if (!failed)
		report(&o, sh, &clk, pinshm_backend_name(backend), &nz);

out_destroy:
	ret = pinshm_region_destroy(region_name, backend);
	if (ret)
		fprintf(stderr, "pinshm-spsc-bench: destroy %s: %s\n",
			region_name, strerror(-ret));
	pinshm_region_close(r);
	if (got_signal) {
		fprintf(stderr, "pinshm-spsc-bench: %s; region %s removed\n",
			got_signal == SIGALRM ? "timed out" :
			strsignal(got_signal), region_name);
		return 128 + got_signal;
	}
	return failed;
}
