// SPDX-License-Identifier: MIT
/*
 * pinshm-demo (`make demo`): a market-data feed from one producer process
 * to one consumer process over one SPSC ring in one region.
 *
 *   1. burst: --count messages of 64 bytes as fast as the ring goes; the
 *      consumer checks every sequence number and every field (a torn or
 *      skipped record fails the run) and measures messages per second;
 *   2. paced: --paced messages, one every --interval ns, each stamped with
 *      the producer's TSC; the consumer records now - stamp: one-way
 *      latency from a histogram of every message;
 *   3. the physical floor, between the same two processes and cores: a raw
 *      cache-line ping-pong through the same region, half a round trip.
 *
 * Exits 0 when every message arrived in order and intact, 1 otherwise. The
 * region is destroyed on every exit path, SIGINT and SIGTERM included.
 * The processes are the benchmarks' (tools/bench/harness.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <pinshm.h>

#include "clock.h"
#include "cpu.h"
#include "harness.h"
#include "hist.h"
#include "raw.h"

#define RING		"md"
#define RING_CAP	(256 * 1024)
#define PP_SAMPLES	200000

/* One market-data update: exactly one 64-byte payload. */
struct md_msg {
	uint64_t seq;		/* 0, 1, 2, ... per run */
	uint64_t tsc;		/* producer's TSC when sent (paced run) */
	uint32_t instrument;	/* derived from seq, checked */
	uint32_t side;		/* 0 bid, 1 ask */
	int64_t price;		/* fixed point, 1e-4 */
	uint64_t qty;
	uint64_t order_id;
	uint64_t check;		/* seq ^ price ^ qty: catches torn records */
	uint64_t __pad;
};

_Static_assert(sizeof(struct md_msg) == 64, "one 64-byte payload");

enum { PH_BURST, PH_PACED, PH_PP, NR_PH };

/* Results, in an anonymous shared mapping (not the region under test). */
struct results {
	struct bench_hist oneway;	/* consumer: paced one-way */
	struct bench_hist rtt;		/* producer: raw ping-pong */
	uint64_t received[NR_PH];
	uint64_t burst_ticks;		/* consumer: first to last message */
	uint64_t negative;
};

struct opts {
	uint64_t count;
	uint64_t paced;
	unsigned int interval_ns;
	int cpus[2];
	bool pin;
	bool rt;		/* SCHED_FIFO for producer and consumer */
	int backend;
};

static char region_name[PINSHM_NAME_MAX];
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void fill(struct md_msg *m, uint64_t seq)
{
	m->seq = seq;
	m->instrument = (uint32_t)(seq % 500) + 1000;
	m->side = (uint32_t)(seq & 1);
	m->price = 1000000 + (int64_t)(seq * 7 % 2000) - 1000;
	m->qty = seq % 100 + 1;
	m->order_id = seq * 3 + 1;
	m->check = seq ^ (uint64_t)m->price ^ m->qty;
}

static bool valid(const struct md_msg *m, uint64_t seq)
{
	struct md_msg want;

	fill(&want, seq);
	return m->seq == seq && m->instrument == want.instrument &&
	       m->side == want.side && m->price == want.price &&
	       m->qty == want.qty && m->order_id == want.order_id &&
	       m->check == want.check;
}

struct proc {
	int id;			/* 0 producer, 1 consumer */
	struct harness *h;
	const struct opts *o;
	struct results *res;
	struct bench_clock clk;
	struct pinshm_region *r;
	struct pinshm_spsc ring;
	struct bench_pp *pp;
};

#define proc_fail(p, ...)	harness_fail((p)->h, (p)->id, __VA_ARGS__)

static void proc_sync(struct proc *p)
{
	harness_sync(p->h, p->id);
}

static void produce(struct proc *p, uint64_t n, uint64_t interval)
{
	struct md_msg *m;
	uint64_t seq, next = bench_now() + interval, t = 0;
	void *dst;
	int ret;

	for (seq = 0; seq < n; seq++) {
		if (interval) {
			bench_wait_until(next);
			next += interval;
			t = bench_now();
		}
		while ((ret = pinshm_spsc_claim(&p->ring, sizeof(*m), &dst)) ==
		       -EAGAIN)
			pinshm_cpu_relax();
		if (ret)
			proc_fail(p, "claim: %s", strerror(-ret));
		m = dst;
		fill(m, seq);
		m->tsc = t;
		pinshm_spsc_commit(&p->ring, sizeof(*m), 1);
		if (interval && bench_now() > next + 100 * interval)
			next = bench_now() + interval;	/* we were preempted */
	}
}

static void consume(struct proc *p, uint64_t n, int phase)
{
	struct results *res = p->res;
	struct pinshm_msg msg;
	const struct md_msg *m;
	uint64_t seq, t, t_first = 0;
	int ret;

	for (seq = 0; seq < n; seq++) {
		while ((ret = pinshm_spsc_peek(&p->ring, &msg)) == -EAGAIN)
			pinshm_cpu_relax();
		/* A stamp per message only when measuring latency. */
		t = phase == PH_PACED || seq == 0 ? bench_now() : 0;
		if (ret)
			proc_fail(p, "peek: %s", strerror(-ret));
		m = msg.data;
		if (msg.len != sizeof(*m) || !valid(m, seq))
			proc_fail(p, "%s run: message %llu: got seq %llu, "
				  "len %u%s", phase == PH_BURST ? "burst" :
				  "paced", (unsigned long long)seq,
				  (unsigned long long)m->seq, msg.len,
				  m->seq == seq ? " (fields torn)" : "");
		if (phase == PH_PACED) {
			if (t < m->tsc) {
				res->negative++;
				t = m->tsc;
			}
			bench_hist_add(&res->oneway, t - m->tsc);
		} else if (seq == 0) {
			t_first = t;
		}
		pinshm_spsc_release(&p->ring);
		res->received[phase]++;
	}
	if (phase == PH_BURST)
		res->burst_ticks = bench_now() - t_first;
}

/* The harness runs this in the producer (0) and the consumer (1). */
static void proc_run(struct harness *h, int id, void *arg)
{
	struct proc *p = arg;
	const struct opts *o = p->o;
	uint64_t interval = bench_ns_to_ticks(&p->clk, o->interval_ns);
	void *scr;
	int ret;

	/* A signal ends us at once; the parent removes the region. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	p->id = id;
	p->h = h;
	/* Our own attachment: the creator's mapping may not survive fork. */
	ret = pinshm_region_open(region_name, PINSHM_RDWR, o->backend, &p->r);
	if (ret)
		proc_fail(p, "open region %s: %s", region_name,
			  strerror(-ret));
	ret = pinshm_spsc_attach(p->r, RING, p->id ? PINSHM_CONSUMER :
				 PINSHM_PRODUCER, &p->ring);
	if (ret)
		proc_fail(p, "attach ring %s: %s", RING, strerror(-ret));
	ret = bench_region_scratch(p->r, sizeof(struct bench_pp), &scr);
	if (ret)
		proc_fail(p, "scratch area: %s", strerror(-ret));
	p->pp = scr;

	proc_sync(p);
	if (p->id == 0)
		produce(p, o->count, 0);
	else
		consume(p, o->count, PH_BURST);
	proc_sync(p);
	if (p->id == 0)
		produce(p, o->paced, interval);
	else
		consume(p, o->paced, PH_PACED);
	proc_sync(p);
	if (p->id == 0)
		bench_pp_initiator(p->pp, PP_SAMPLES / 10, PP_SAMPLES,
				   &p->res->rtt);
	else
		bench_pp_responder(p->pp, PP_SAMPLES / 10, PP_SAMPLES);
	p->res->received[PH_PP] = PP_SAMPLES;
	proc_sync(p);
	pinshm_spsc_detach(&p->ring);
	pinshm_region_close(p->r);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pinshm-demo [--count N] [--paced N] [--interval NS] "
		"[--cpus A,B]\n"
		"                   [--backend auto|kmod|shm] [--rt]\n"
		"  --count N      burst messages (default 5000000)\n"
		"  --paced N      paced messages for one-way latency "
		"(default 500000)\n"
		"  --interval NS  pacing (default 1000)\n"
		"  --cpus A,B     producer and consumer cores (default: the "
		"first two allowed)\n"
		"  --rt           run both SCHED_FIFO (root): keeps other "
		"work off the two cores\n");
}

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pinshm-demo: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint64_t parse_num(const char *opt, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= 1e3; end++; break;
	case 'm': case 'M': v *= 1e6; end++; break;
	}
	if (end == s || *end || v < 1 || v > 1e12)
		die("%s %s: want a positive number (k, M suffixes)", opt, s);
	return (uint64_t)v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "paced", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "backend", required_argument, NULL, 'b' },
		{ "rt", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, n, cpus[2];
	bool have_cpus = false;

	memset(o, 0, sizeof(*o));
	o->count = 5000000;
	o->paced = 500000;
	o->interval_ns = 1000;
	o->backend = PINSHM_BACKEND_AUTO;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->count = parse_num("--count", optarg);
			break;
		case 'p':
			o->paced = parse_num("--paced", optarg);
			break;
		case 'i':
			o->interval_ns = (unsigned int)parse_num("--interval",
								 optarg);
			break;
		case 'c':
			if (bench_parse_cpus(optarg, o->cpus))
				die("--cpus %s: want two different CPUs, A,B",
				    optarg);
			have_cpus = true;
			break;
		case 'b':
			o->backend = pinshm_backend_parse(optarg);
			if (o->backend < 0)
				die("--backend %s: want auto, kmod or shm",
				    optarg);
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
	o->pin = true;
	if (!have_cpus) {
		n = bench_allowed_cpus(cpus, 2);
		o->pin = n >= 2;
		o->cpus[0] = n >= 1 ? cpus[0] : 0;
		o->cpus[1] = n >= 2 ? cpus[1] : o->cpus[0];
	}
}

/* "12.3 ns", "456 ns", "4.56 us", "7.89 ms" into buf. */
static const char *fmt_ns(char *buf, size_t len, double ns)
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

/* 5000000 -> "5,000,000" */
static const char *commas(char *buf, size_t len, uint64_t v)
{
	char tmp[32];
	size_t n, i, j = 0;

	n = (size_t)snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	for (i = 0; i < n && j + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = 0;
	return buf;
}

static void report(const struct opts *o, const struct results *res,
		   const struct bench_clock *clk)
{
	struct bench_lat ow, rtt;
	double secs, half;
	char a[32], b[32], c[32], d[32], n[32];

	bench_hist_summary(&res->oneway, clk, &ow);
	bench_hist_summary(&res->rtt, clk, &rtt);
	secs = bench_ticks_to_ns(clk, res->burst_ticks) * 1e-9;
	half = rtt.p50 / 2;

	printf("burst   %s msgs x %zu B, as fast as the ring goes:\n"
	       "        %.1f M msgs/s, %.2f GB/s of payload; "
	       "every sequence and field checked: no gaps, no torn records\n",
	       commas(n, sizeof(n), o->count), sizeof(struct md_msg),
	       (double)(o->count - 1) / secs / 1e6,
	       (double)(o->count - 1) * sizeof(struct md_msg) / secs / 1e9);
	printf("paced   %s msgs, 1 every %u ns, producer TSC stamp -> "
	       "consumer TSC (claim+write+commit+peek):\n"
	       "        one-way latency p50 %s  p99 %s  p99.9 %s  max %s\n",
	       commas(n, sizeof(n), o->paced), o->interval_ns,
	       fmt_ns(a, sizeof(a), ow.p50),
	       fmt_ns(b, sizeof(b), ow.p99),
	       fmt_ns(c, sizeof(c), ow.p999),
	       fmt_ns(d, sizeof(d), ow.max));
	if (res->negative)
		printf("        (%llu stamps ahead of the consumer's TSC, "
		       "counted as 0 ns)\n",
		       (unsigned long long)res->negative);
	printf("floor   raw cache-line ping-pong, same cores, same region, "
	       "%s round trips:\n"
	       "        RTT p50 %s  p99 %s; half RTT p50 %s\n",
	       commas(n, sizeof(n), PP_SAMPLES),
	       fmt_ns(a, sizeof(a), rtt.p50),
	       fmt_ns(b, sizeof(b), rtt.p99),
	       fmt_ns(c, sizeof(c), half));
	printf("ratio   one-way p50 / raw half RTT p50 = %.2fx; "
	       "means below p99: %s / %s = %.2fx\n",
	       half > 0 ? ow.p50 / half : 0,
	       fmt_ns(a, sizeof(a), ow.tmean),
	       fmt_ns(b, sizeof(b), rtt.tmean / 2),
	       rtt.tmean > 0 ? ow.tmean / (rtt.tmean / 2) : 0);
}

int main(int argc, char **argv)
{
	struct pinshm_region_opts ro;
	struct pinshm_region *r = NULL;
	struct pinshm_ring_stats st;
	struct bench_clock clk;
	struct results *res;
	struct sigaction sa;
	struct harness h;
	struct proc p;
	struct opts o;
	struct bench_cpustat cs0[2], cs1[2];
	double other[2] = { 0, 0 }, steal[2] = { 0, 0 }, ours[2] = { 0, 0 };
	long nivcsw[2] = { 0, 0 };
	char cnt[2][32];
	int ret, i, failed = 0, backend;
	void *scr;

	parse_opts(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* the harness sees got_signal */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	bench_clock_init(&clk, 50);
	ret = harness_init(&h, 2);
	if (ret)
		die("mmap: %s", strerror(-ret));
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(res, 0, sizeof(*res));
	bench_hist_reset(&res->oneway);
	bench_hist_reset(&res->rtt);

	snprintf(region_name, sizeof(region_name), "pinshm-demo-%d",
		 (int)getpid());
	pinshm_region_opts_init(&ro);
	ro.size = 2ULL << 20;
	ro.backend = o.backend;
	ret = pinshm_region_create(region_name, &ro, &r);
	if (ret)
		die("create region %s (backend %s): %s", region_name,
		    pinshm_backend_name(pinshm_backend_resolve(o.backend)),
		    strerror(-ret));
	backend = pinshm_region_backend(r);
	o.backend = backend;	/* the children open what we created */
	ret = pinshm_spsc_create(r, RING, RING_CAP, 0);
	if (!ret)
		ret = bench_region_scratch(r, sizeof(struct bench_pp), &scr);
	if (ret) {
		fprintf(stderr, "pinshm-demo: set up region %s: %s\n",
			region_name, strerror(-ret));
		failed = 1;
		goto out_destroy;
	}

	printf("pinshm demo: market data, 1 producer -> 1 consumer process, "
	       "SPSC ring \"%s\" (%d KiB)\n", RING, RING_CAP / 1024);
	printf("region  %s, %llu KiB, backend %s (%s)\n", region_name,
	       (unsigned long long)pinshm_region_size(r) / 1024,
	       pinshm_backend_name(backend),
	       backend == PINSHM_BACKEND_KMOD ?
	       "pinshm.ko: pinned, physically contiguous" :
	       access(PINSHM_DEV_PATH, F_OK) ?
	       "file in /dev/shm; " PINSHM_DEV_PATH " absent" :
	       "file in /dev/shm");
	if (o.pin)
		printf("cpus    producer on cpu %d, consumer on cpu %d "
		       "(sched_setaffinity%s)\n", o.cpus[0], o.cpus[1],
		       o.rt ? ", SCHED_FIFO" : "");
	else
		printf("cpus    only one CPU allowed: not pinned, latencies "
		       "include scheduling\n");
	printf("clock   TSC %.0f MHz, invariant: %s; one timestamp "
	       "costs %.0f ns, resolution %.0f ns\n", clk.ticks_per_ns * 1e3,
	       clk.constant_tsc && clk.nonstop_tsc ? "yes" :
	       "NO (one-way figures unreliable)", clk.ts_cost_ns,
	       clk.resolution_ns);

	for (i = 0; i < 2; i++)
		bench_cpustat_read(o.cpus[i], &cs0[i]);
	memset(&p, 0, sizeof(p));
	p.o = &o;
	p.res = res;
	p.clk = clk;
	for (i = 0; i < 2; i++) {
		h.proc[i].cpu = o.pin ? o.cpus[i] : -1;
		h.proc[i].rt = o.rt;
	}
	ret = harness_start(&h, proc_run, &p);
	if (ret) {
		fprintf(stderr, "pinshm-demo: fork: %s\n", strerror(-ret));
		failed = 1;
	}
	ret = harness_wait(&h, &got_signal, 0, NULL, NULL);
	if (ret)
		failed = 1;
	if (ret == -EIO) {
		int st = h.proc[h.failed].status;
		int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
		const char *who = h.failed ? "consumer" : "producer";

		/* Killed by us or by the user's signal: nothing to add. */
		if (h.sh->err[h.failed][0])
			fprintf(stderr, "pinshm-demo: %s: %s\n", who,
				h.sh->err[h.failed]);
		else if (sig && sig != SIGKILL && sig != SIGINT &&
			 sig != SIGTERM && sig != SIGHUP)
			fprintf(stderr, "pinshm-demo: %s killed by signal "
				"%d\n", who, sig);
	}
	for (i = 0; i < 2; i++) {
		ours[i] = h.proc[i].cpu_us;
		nivcsw[i] = h.proc[i].nivcsw;
	}

	if (!failed && (res->received[PH_BURST] != o.count ||
			res->received[PH_PACED] != o.paced)) {
		fprintf(stderr, "pinshm-demo: received %llu + %llu messages, "
			"sent %llu + %llu\n",
			(unsigned long long)res->received[PH_BURST],
			(unsigned long long)res->received[PH_PACED],
			(unsigned long long)o.count,
			(unsigned long long)o.paced);
		failed = 1;
	}
	if (!failed) {
		report(&o, res, &clk);
		ret = pinshm_obj_stats(r, RING, &st);
		if (!ret)
			printf("ring    counters: %s msgs in, %s out, "
			       "%llu times full (producer waited)\n",
			       commas(cnt[0], sizeof(cnt[0]), st.msgs_in),
			       commas(cnt[1], sizeof(cnt[1]), st.msgs_out),
			       (unsigned long long)st.full_events);
		for (i = 0; i < 2 && o.pin; i++) {
			bench_cpustat_read(o.cpus[i], &cs1[i]);
			bench_cpustat_noise(&cs0[i], &cs1[i], ours[i],
					    &other[i], &steal[i]);
		}
		printf("noise   other work took %.0f%% of cpu%d, %.0f%% of "
		       "cpu%d; steal %.0f%%/%.0f%%; involuntary switches "
		       "%ld/%ld%s\n", other[0], o.cpus[0], other[1], o.cpus[1],
		       steal[0], steal[1], nivcsw[0], nivcsw[1],
		       other[0] > 5 || other[1] > 5 ||
		       steal[0] + steal[1] > 2 || nivcsw[0] + nivcsw[1] > 50 ?
		       " (CPUs shared: tails are the machine's)" : "");
		printf("OK\n");
	}

out_destroy:
	ret = pinshm_region_destroy(region_name, backend);
	if (ret)
		fprintf(stderr, "pinshm-demo: destroy region %s: %s\n",
			region_name, strerror(-ret));
	pinshm_region_close(r);
	harness_free(&h);
	if (got_signal) {
		fprintf(stderr, "pinshm-demo: %s; region %s removed\n",
			got_signal == SIGALRM ? "timed out" :
			strsignal(got_signal), region_name);
		return 128 + got_signal;
	}
	return failed;
}
