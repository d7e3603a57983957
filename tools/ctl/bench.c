// SPDX-License-Identifier: MIT
/*
 * pinshm bench: the rings beside the hardware limit and the usual
 * alternatives, measured in one run by one harness (DESIGN.md,
 * "Performance protocol").
 *
 * Two processes share one region: side A (the initiator / producer) pinned
 * to the first of --cpus, side B (the responder / consumer) to the second.
 * For each pattern they run, --reps times and interleaved, every system:
 *
 *   pingpong  A sends --size bytes, B sends them back; A times each round
 *             trip with the calibrated TSC into a log-linear histogram of
 *             every sample (hist.h).
 *     raw-pingpong   two cache lines, each side spins on one and writes the
 *                    other: the physical floor (raw.h, bench_pp).
 *     raw-ring-pingpong  the same over two raw rings (below), each
 *                    message in the next one-line slot: the floor of a
 *                    ring, which moves a fresh line per message
 *                    (raw.h, bench_raw_ring_pp).
 *     pinshm-spsc    two SPSC rings, A->B and B->A.
 *   stream    A writes --count messages as fast as it can; B checks each
 *             one's sequence number and measures messages per second from
 *             the first arrival to the last.
 *     raw-stream     a plain inline fixed-slot ring (raw.h): the floor.
 *     pinshm-spsc    claim/commit per message.
 *     raw-stream-batch32, pinshm-spsc-batch32: publication every 32
 *                    messages (stage + publish for the ring).
 *   --vs, with the same message size and the same harness:
 *     pipe     two pipes (pingpong), one (stream)
 *     unix     socketpair(AF_UNIX, SOCK_STREAM)
 *     tcp      127.0.0.1, TCP_NODELAY, ephemeral port, 10 s socket timeouts
 *     eventfd  notification only: the payload goes through shared memory
 *              (pingpong: one buffer each way; stream: an inline ring, one
 *              eventfd write per message, the consumer drains per wakeup)
 *     mq       POSIX message queues (unlinked at once: nothing to clean)
 *     pinshm-spsc-sleep  the SPSC rings, but a receiver that finds nothing
 *              sleeps in pinshm_spsc_wait() at once (a futex, or the
 *              module's WAIT), without spinning first: the ring's
 *              wait/wake path against the kernel's blocking IPC, with
 *              the wake calls it cost per message (waitq.seq)
 *
 * Every kernel system blocks in the kernel (no busy polling), as they are
 * normally used. Nothing here asserts a timing: the machine's noise is part
 * of the result, shown as the spread across repetitions.
 *
 * Shared words and their writers (STYLE.md, memory ordering), besides the
 * protocols of harness.h (the barrier), raw.h (bench_pp, bench_raw_ring) and of
 * pinshm/spsc.h:
 *   bshared.cur, .lat[][], .all[], .mps_pp[][] ...... side A
 *   bshared.mps[][] ..................................... side B
 *   bshared.prog_run, .prog_rep ......................... side A (relaxed,
 *                                                         progress only)
 *   bshared.err[i] ...................................... side i
 *   All of them are read by the parent only after both sides exited
 *   (waitpid orders them), except the progress words.
 *   bscratch.ping ...... side A       bscratch.pong ...... side B
 *   (E1) A: write ping, release fence, write(efd_ab)
 *     pairs with
 *   (E2) B: read(efd_ab) returns, acquire fence, read ping;
 *   (E3) B: write pong, release fence, write(efd_ba)
 *     pairs with
 *   (E4) A: read(efd_ba) returns, acquire fence, read pong.
 *   The eventfd counter changes under its wait-queue lock, which already
 *   orders the two sides; the fences keep the compiler from moving the
 *   copies across the system calls and document the pairing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "bench/clock.h"
#include "bench/cpu.h"
#include "bench/harness.h"
#include "bench/hist.h"
#include "bench/raw.h"

#define BENCH_MAX_SIZE		4096
#define BENCH_MAX_REPS		64
#define BENCH_BATCH		32
#define BENCH_CAPACITY		(64 * 1024)
#define BENCH_SOCK_TIMEOUT_S	10

enum bench_pat { PAT_PINGPONG, PAT_STREAM, NR_PAT };

enum bench_sys {
	SYS_RAW, SYS_RAW_RING, SYS_SPSC, SYS_RAW_B, SYS_SPSC_B,
	SYS_MPSC, SYS_MPSC2, SYS_MPSC2_B,	/* pattern mpsc only */
	SYS_BCAST, SYS_BCAST_KEEP,	/* pattern bcast only */
	SYS_PIPE, SYS_UNIX, SYS_TCP, SYS_EVENTFD, SYS_MQ,
	SYS_SPSC_SLEEP,			/* --vs: the consumer sleeps at once */
	NR_SYS
};
#define SYS_FIRST_VS	SYS_PIPE

static const char *const pat_names[NR_PAT] = { "pingpong", "stream" };
static const char *const sys_names[NR_SYS] = {
	"raw", "raw-ring", "pinshm-spsc", "raw-batch32", "pinshm-spsc-batch32",
	"pinshm-mpsc", "pinshm-mpsc-2p", "pinshm-mpsc-2p-batch32",
	"pinshm-bcast", "pinshm-bcast-keepup",
	"pipe", "unix", "tcp", "eventfd", "mq", "pinshm-spsc-sleep",
};

/* The broadcast ring's systems: its writer never waits, or is held back. */
static bool is_bcast(int sys)
{
	return sys == SYS_BCAST || sys == SYS_BCAST_KEEP;
}

/* The percentiles reported (struct bench_lat), and their JSON keys. */
#define NR_PCT	5
static const char *const pct_key[NR_PCT] = { "p50", "p90", "p99", "p999",
					     "p9999" };

struct bench_run {
	int pat;
	int sys;
};
#define MAX_RUNS	(NR_PAT * NR_SYS)

/*
 * Pattern groups: `pinshm bench` and `pinshm bench pingpong|stream` run
 * the SPSC ring with its baselines and --vs; `pinshm bench mpsc` and
 * `pinshm bench bcast` run the baselines and the SPSC ring beside the MPSC
 * or broadcast ring (JSON patterns mpsc-pingpong, mpsc-stream,
 * bcast-pingpong, bcast-stream), with more processes:
 *   mpsc   side A: producer 0 (pingpong: the requester); side B: the
 *          consumer (pingpong: replies through the SPSC ring "ba");
 *          side C: producer 1 (pinshm-mpsc-2p stream only), on a third
 *          allowed CPU, else on A's CPU (said in the output).
 *   bcast  side A: the writer; side B: reader 1 (pingpong: replies through
 *          the SPSC ring "ba"); sides C...: readers 2..N (stream only), on
 *          further CPUs, else sharing the readers' CPUs (said too); they
 *          open the region read-only.
 */
enum bench_group { GRP_SPSC, GRP_MPSC, GRP_BCAST };

#define MAX_READERS	16
#define MAX_SIDES	(1 + MAX_READERS)
_Static_assert(MAX_SIDES <= HARNESS_MAX, "a process per side");
#define BENCH_BCAST_SLOTS	1024

struct bench_opts {
	bool pat[NR_PAT];
	uint32_t size;
	uint64_t count[NR_PAT];	/* samples (pingpong), messages (stream) */
	int cpus[2];
	unsigned int vs;	/* bit per enum bench_sys */
	unsigned int reps;
	unsigned int timeout_s;
	bool json;
	const char *plot;
	int backend;		/* resolved */
	int group;		/* enum bench_group */
	unsigned int readers;	/* bcast */
	unsigned int nsides;	/* processes: 2, 3 (mpsc), 1 + readers */
	int side_cpu[MAX_SIDES];
	bool shared_cpu;	/* an extra side shares a CPU with another */
};

/* Results: an anonymous shared mapping, not the region under test. */
struct bshared {
	struct harness_sync sync;
	_Alignas(BENCH_BLOCK) uint32_t prog_run;
	uint32_t prog_rep;
	struct bench_hist cur;			/* A: this run */
	struct bench_hist all[MAX_RUNS];	/* A: every rep merged */
	struct bench_lat lat[MAX_RUNS][BENCH_MAX_REPS];
	double mps[MAX_RUNS][BENCH_MAX_REPS];	/* stream: B; pingpong: A */
	uint64_t bc_t0;		/* A: bcast stream, before the first record */
	/* bcast stream, reader k (side 1 + k) only: */
	double bc_mps[MAX_RUNS][MAX_READERS][BENCH_MAX_REPS];
	uint64_t bc_msgs[MAX_RUNS][MAX_READERS][BENCH_MAX_REPS];
	uint64_t bc_lost[MAX_RUNS][MAX_READERS][BENCH_MAX_REPS];
	uint64_t bc_lapped[MAX_RUNS][MAX_READERS][BENCH_MAX_REPS];
	/* pinshm-bcast-keepup: records reader k has taken this run (it
	 * writes, A reads; a block each). */
	struct {
		_Alignas(BENCH_BLOCK) uint64_t taken;
	} bc_pos[MAX_READERS];
	/* pinshm-spsc-sleep: wake calls made to side A's, B's receive ring
	 * (waitq.seq moves once per FUTEX_WAKE or module WAKE). */
	uint32_t wakes[MAX_RUNS][BENCH_MAX_REPS][2];
	char err[MAX_SIDES][256];
};

/* The region's scratch area: raw lines, eventfd buffers, then two rings. */
struct bscratch {
	struct bench_pp pp;
	_Alignas(BENCH_BLOCK) uint8_t ping[BENCH_MAX_SIZE];	/* A only */
	_Alignas(BENCH_BLOCK) uint8_t pong[BENCH_MAX_SIZE];	/* B only */
};

/* Kernel IPC endpoints, made by the parent before the fork; -1: unused. */
struct bench_fds {
	int pipe_ab[2], pipe_ba[2];
	int unix_sv[2];
	int tcp[2];
	int efd_ab, efd_ba;	/* pingpong: one signal per message */
	int efd_st;		/* stream: may hold stale counts, harmless */
	mqd_t mq_ab, mq_ba;
};

struct bench_side {
	int id;				/* 0: A, 1: B */
	const struct bench_opts *o;
	struct bshared *sh;
	struct bench_clock clk;
	const struct bench_run *runs;
	unsigned int nruns;
	struct bench_fds *k;
	struct pinshm_region *r;
	struct pinshm_spsc tx, rx;	/* A: tx = ab, rx = ba; B: reverse */
	struct pinshm_mpsc_producer mp;	/* mpsc: A, C */
	struct pinshm_mpsc_consumer mc;	/* mpsc: B */
	struct pinshm_bcast_writer bw;	/* bcast: A */
	struct pinshm_bcast_reader br;	/* bcast: B, C... */
	struct bscratch *scr;
	struct bench_raw_ring *raw, *evr, *rback;
	struct bench_raw_shape shape;
	bool sleep;			/* pinshm-spsc-sleep: wait, no spin */
	_Alignas(BENCH_LINE) uint8_t tmpl[BENCH_MAX_SIZE];
	_Alignas(BENCH_LINE) uint8_t buf[BENCH_MAX_SIZE];
};

static char bench_region[PINSHM_NAME_MAX];

/* ---------------------------------------------------------------- */
/* Sides: errors and helpers                                         */
/* ---------------------------------------------------------------- */

static void __attribute__((format(printf, 2, 3), noreturn))
side_fail(struct bench_side *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->sh->err[s->id], sizeof(s->sh->err[0]), fmt, ap);
	va_end(ap);
	harness_sync_fail(&s->sh->sync);
	_exit(1);
}

static void side_sync(struct bench_side *s)
{
	if (harness_sync_wait(&s->sh->sync, s->id, s->o->nsides))
		_exit(1);
}

static uint64_t warm_of(uint64_t n)
{
	uint64_t w = n / 10;

	return w < 100 ? 100 : w > 10000 ? 10000 : w;
}

static void check_seq(struct bench_side *s, const void *p, uint32_t len,
		      uint64_t want, const char *what)
{
	uint64_t seq;

	memcpy(&seq, p, sizeof(seq));
	if (seq != want || len != s->o->size)
		side_fail(s, "%s: got seq %llu len %u, want seq %llu len %u",
			  what, (unsigned long long)seq, len,
			  (unsigned long long)want, s->o->size);
}

static void put_seq(struct bench_side *s, uint64_t seq)
{
	memcpy(s->tmpl, &seq, sizeof(seq));
}

static double rate_of(const struct bench_side *s, uint64_t count,
		      uint64_t t_first, uint64_t t_last)
{
	if (count < 2 || t_last <= t_first)
		return 0;
	/* The first message arrived at t_first: count what came after it. */
	return (double)(count - 1) /
	       (bench_ticks_to_ns(&s->clk, t_last - t_first) * 1e-9);
}

/* ---------------------------------------------------------------- */
/* The library ring                                                  */
/* ---------------------------------------------------------------- */

static void *spsc_claim_spin(struct bench_side *s, uint32_t len)
{
	void *dst;
	int ret;

	while ((ret = pinshm_spsc_claim(&s->tx, len, &dst)) == -EAGAIN)
		pinshm_cpu_relax();
	if (ret)
		side_fail(s, "pinshm_spsc_claim: %s", strerror(-ret));
	return dst;
}

/*
 * pinshm-spsc-sleep: nothing there, so sleep in pinshm_spsc_wait() at once,
 * as a blocking read of kernel IPC does: no spin first.
 */
static void spsc_sleep(struct bench_side *s)
{
	int ret = pinshm_spsc_wait(&s->rx, -1);

	if (ret && ret != -EINTR)
		side_fail(s, "pinshm_spsc_wait: %s%s", strerror(-ret),
			  ret == -EOPNOTSUPP || ret == -ENOSYS ?
			  " (the consumer cannot sleep on this kernel)" : "");
}

static void spsc_peek_spin(struct bench_side *s, struct pinshm_msg *m)
{
	int ret;

	while ((ret = pinshm_spsc_peek(&s->rx, m)) == -EAGAIN) {
		if (s->sleep)
			spsc_sleep(s);
		else
			pinshm_cpu_relax();
	}
	if (ret)
		side_fail(s, "pinshm_spsc_peek: %s", strerror(-ret));
}

static void spsc_pp_initiator(struct bench_side *s, uint64_t warm, uint64_t n)
{
	uint32_t size = s->o->size;
	struct pinshm_msg m;
	uint64_t i, t0, t1;
	void *dst;

	for (i = 0; i < warm + n; i++) {
		t0 = bench_now();
		dst = spsc_claim_spin(s, size);
		put_seq(s, i);
		memcpy(dst, s->tmpl, size);
		pinshm_spsc_commit(&s->tx, size, 0);
		spsc_peek_spin(s, &m);
		check_seq(s, m.data, m.len, i, "pinshm-spsc reply");
		pinshm_spsc_release(&s->rx);
		t1 = bench_now();
		if (i >= warm)
			bench_hist_add(&s->sh->cur, t1 - t0);
	}
}

static void spsc_pp_responder(struct bench_side *s, uint64_t warm, uint64_t n)
{
	struct pinshm_msg m;
	uint64_t i;
	void *dst;

	for (i = 0; i < warm + n; i++) {
		spsc_peek_spin(s, &m);
		check_seq(s, m.data, m.len, i, "pinshm-spsc request");
		dst = spsc_claim_spin(s, m.len);
		memcpy(dst, m.data, m.len);
		pinshm_spsc_commit(&s->tx, m.len, 0);
		pinshm_spsc_release(&s->rx);
	}
}

static void spsc_stream_produce(struct bench_side *s, uint64_t count,
				unsigned int batch)
{
	uint32_t size = s->o->size;
	uint64_t i = 0;
	unsigned int k;
	void *dst;
	int ret;

	if (batch <= 1) {
		for (i = 0; i < count; i++) {
			dst = spsc_claim_spin(s, size);
			put_seq(s, i);
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
			put_seq(s, i);
			memcpy(dst, s->tmpl, size);
			pinshm_spsc_stage(&s->tx, size, 0);
		}
		if (k)
			pinshm_spsc_publish(&s->tx);
		else
			pinshm_cpu_relax();
	}
}

static double spsc_stream_consume(struct bench_side *s, uint64_t count,
				  unsigned int batch)
{
	struct pinshm_msg m[BENCH_BATCH];
	uint64_t i = 0, t_first = 0;
	int n, j;

	if (batch > BENCH_BATCH)
		batch = BENCH_BATCH;
	while (i < count) {
		n = pinshm_spsc_peek_batch(&s->rx, m, batch);
		if (n == 0) {
			if (s->sleep)
				spsc_sleep(s);
			else
				pinshm_cpu_relax();
			continue;
		}
		if (n < 0)
			side_fail(s, "pinshm_spsc_peek_batch: %s",
				  strerror(-n));
		if (i == 0)
			t_first = bench_now();
		for (j = 0; j < n; j++, i++)
			check_seq(s, m[j].data, m[j].len, i,
				  "pinshm-spsc stream");
		pinshm_spsc_release(&s->rx);
	}
	return rate_of(s, count, t_first, bench_now());
}

/* ---------------------------------------------------------------- */
/* The MPSC and broadcast rings (patterns mpsc and bcast)            */
/* ---------------------------------------------------------------- */

/*
 * Spin a while, then yield: for a side whose wait ends only when another
 * side that may share its core runs. A full MPSC ring with two producers
 * on one core stays full while the other producer is preempted between
 * its claim and its commit (the consumer waits at that claim); two
 * pinshm-bcast-keepup readers on one core hold the writer back in turn.
 * Spinning would burn the rest of the time slice the other side needs.
 */
static void spin_then_yield(unsigned int *spins)
{
	pinshm_cpu_relax();
	if (++*spins >= PINSHM_YIELD_SPINS) {
		*spins = 0;
		sched_yield();
	}
}

static void *mpsc_claim_spin(struct bench_side *s, uint32_t len)
{
	unsigned int spins = 0;
	void *dst;
	int ret;

	while ((ret = pinshm_mpsc_claim(&s->mp, len, &dst)) == -EAGAIN)
		spin_then_yield(&spins);
	if (ret)
		side_fail(s, "pinshm_mpsc_claim: %s", strerror(-ret));
	return dst;
}

static void mpsc_peek_spin(struct bench_side *s, struct pinshm_msg *m)
{
	int ret;

	while ((ret = pinshm_mpsc_peek(&s->mc, m)) == -EAGAIN)
		pinshm_cpu_relax();
	if (ret)
		side_fail(s, "pinshm_mpsc_peek: %s", strerror(-ret));
}

/* Request through the MPSC ring, reply through the SPSC ring "ba". */
static void mpsc_pingpong(struct bench_side *s, uint64_t warm, uint64_t n)
{
	uint32_t size = s->o->size;
	struct pinshm_msg m;
	uint64_t i, t0, t1;
	void *dst;

	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			dst = mpsc_claim_spin(s, size);
			put_seq(s, i);
			memcpy(dst, s->tmpl, size);
			pinshm_mpsc_commit(&s->mp, size, 0);
			spsc_peek_spin(s, &m);
			check_seq(s, m.data, m.len, i, "pinshm-mpsc reply");
			pinshm_spsc_release(&s->rx);
			t1 = bench_now();
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
		} else {
			mpsc_peek_spin(s, &m);
			check_seq(s, m.data, m.len, i, "pinshm-mpsc request");
			dst = spsc_claim_spin(s, m.len);
			memcpy(dst, m.data, m.len);
			pinshm_spsc_commit(&s->tx, m.len, 0);
			pinshm_mpsc_release(&s->mc);
		}
	}
}

/* Producer k (type k) of nprod: its share of count, numbered from 0. */
static uint64_t mpsc_share(uint64_t count, unsigned int nprod, unsigned int k)
{
	return count / nprod + (k < count % nprod);
}

static void mpsc_stream_produce(struct bench_side *s, uint64_t count,
				unsigned int nprod, unsigned int batch)
{
	unsigned int k = s->id == 0 ? 0 : 1, j, spins = 0;
	uint64_t i, n = mpsc_share(count, nprod, k);
	uint32_t size = s->o->size, lens[BENCH_BATCH], types[BENCH_BATCH];
	void *dst, *outs[BENCH_BATCH];
	int ret;

	if (batch <= 1) {
		for (i = 0; i < n; i++) {
			dst = mpsc_claim_spin(s, size);
			put_seq(s, i);
			memcpy(dst, s->tmpl, size);
			pinshm_mpsc_commit(&s->mp, size, k);
		}
		return;
	}
	/* Batched: one claim (one CAS) and one commit per batch records. */
	for (j = 0; j < batch; j++) {
		lens[j] = size;
		types[j] = k;
	}
	for (i = 0; i < n; i += j) {
		unsigned int m = n - i < batch ? (unsigned int)(n - i) : batch;

		while ((ret = pinshm_mpsc_claim_batch(&s->mp, m, lens,
						      outs)) == -EAGAIN)
			spin_then_yield(&spins);
		if (ret)
			side_fail(s, "pinshm_mpsc_claim_batch: %s",
				  strerror(-ret));
		for (j = 0; j < m; j++) {
			put_seq(s, i + j);
			memcpy(outs[j], s->tmpl, size);
		}
		pinshm_mpsc_commit_batch(&s->mp, lens, types);
	}
}

/*
 * Each producer's records in its own order; count of them in all. The
 * consumer peeks batch records at a time, as the SPSC stream's consumer
 * it is compared with does (1 on the unbatched rows): how often a consumer
 * releases decides which regime a stream runs in (docs/performance.md).
 */
static double mpsc_stream_consume(struct bench_side *s, uint64_t count,
				  unsigned int nprod, unsigned int batch)
{
	struct pinshm_msg m[BENCH_BATCH];
	uint64_t i = 0, t_first = 0, next[2] = { 0, 0 };
	int n, j;

	if (batch > BENCH_BATCH)
		batch = BENCH_BATCH;
	while (i < count) {
		n = pinshm_mpsc_peek_batch(&s->mc, m, batch);
		if (n == 0) {
			pinshm_cpu_relax();
			continue;
		}
		if (n < 0)
			side_fail(s, "pinshm_mpsc_peek_batch: %s",
				  strerror(-n));
		if (i == 0)
			t_first = bench_now();
		for (j = 0; j < n; j++, i++) {
			if (m[j].type >= nprod)
				side_fail(s, "pinshm-mpsc stream: type %u from "
					  "%u producers", m[j].type, nprod);
			check_seq(s, m[j].data, m[j].len, next[m[j].type]++,
				  "pinshm-mpsc stream");
		}
		pinshm_mpsc_release(&s->mc);
	}
	return rate_of(s, count, t_first, bench_now());
}

/* Request published on the broadcast ring, reply through "ba" (SPSC). */
static void bcast_pingpong(struct bench_side *s, uint64_t warm, uint64_t n)
{
	uint32_t size = s->o->size;
	struct pinshm_bcast_msg bm;
	struct pinshm_msg m;
	uint64_t i, t0, t1;
	void *dst;
	int ret;

	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			ret = pinshm_bcast_claim(&s->bw, size, &dst);
			if (ret)
				side_fail(s, "pinshm_bcast_claim: %s",
					  strerror(-ret));
			put_seq(s, i);
			memcpy(dst, s->tmpl, size);
			pinshm_bcast_commit(&s->bw, size, 0);
			spsc_peek_spin(s, &m);
			check_seq(s, m.data, m.len, i, "pinshm-bcast reply");
			pinshm_spsc_release(&s->rx);
			t1 = bench_now();
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
			continue;
		}
		while ((ret = pinshm_bcast_peek(&s->br, &bm)) == -EAGAIN)
			pinshm_cpu_relax();
		if (ret)
			side_fail(s, "pinshm_bcast_peek: %s", strerror(-ret));
		dst = spsc_claim_spin(s, bm.len <= size ? bm.len : size);
		memcpy(dst, bm.data, bm.len <= size ? bm.len : size);
		/* The writer waits for our reply: nothing can lap us. */
		if (pinshm_bcast_release(&s->br))
			side_fail(s, "pinshm-bcast request: overwritten");
		check_seq(s, dst, bm.len, i, "pinshm-bcast request");
		pinshm_spsc_commit(&s->tx, bm.len, 0);
	}
}

/*
 * pinshm-bcast-keepup: the fewest records any reader has taken this run.
 * (K2) load-acquire each reader's count, pairs with (K1): the reader is
 * done with the records it counts.
 */
static uint64_t bcast_slowest(const struct bench_side *s)
{
	uint64_t min = UINT64_MAX, v;
	unsigned int k;

	for (k = 0; k < s->o->readers; k++) {
		v = pinshm_load_acquire(&s->sh->bc_pos[k].taken);
		if (v < min)
			min = v;
	}
	return min;
}

/*
 * pinshm-bcast: the writer never waits, and a slow reader is lapped and
 * loses records. pinshm-bcast-keepup (keep): the bench holds the writer
 * back instead, so readers keep up: what they lose then is a bug.
 */
static double bcast_stream_write(struct bench_side *s, uint64_t count,
				 bool keep)
{
	uint32_t size = s->o->size;
	uint64_t i, t0 = bench_now(), slowest = 0;
	unsigned int spins = 0;
	void *dst;
	int ret;

	/* Read by readers after a record: published with it (W3)/(R1). */
	s->sh->bc_t0 = t0;
	for (i = 0; i < count; i++) {
		/* keepup: never more than half the ring ahead of the slowest
		 * reader, which then loses nothing (the library's writer
		 * never waits; this one is held back by the bench). */
		while (keep && i - slowest >= BENCH_BCAST_SLOTS / 2) {
			slowest = bcast_slowest(s);
			if (i - slowest >= BENCH_BCAST_SLOTS / 2)
				spin_then_yield(&spins);
		}
		ret = pinshm_bcast_claim(&s->bw, size, &dst);
		if (ret)
			side_fail(s, "pinshm_bcast_claim: %s", strerror(-ret));
		put_seq(s, i);
		memcpy(dst, s->tmpl, size);
		pinshm_bcast_commit(&s->bw, size, 0);
	}
	return rate_of(s, count + 1, t0, bench_now());
}

/*
 * Reader k: take records until the last one (count - 1, never
 * overwritten: the writer stops there), checking that each intact one
 * holds what the writer put in that record number. Stores what it got,
 * what it lost to lapping and its rate: records delivered per second from
 * the writer's start to the last one (the TSC is the same on every CPU:
 * constant_tsc), so a reader that gets only the end of the stream is not
 * credited with its drain rate.
 */
static void bcast_stream_read(struct bench_side *s, uint64_t count,
			      unsigned int run, unsigned int rep, bool keep)
{
	struct pinshm_bcast_reader_stats st0, st1;
	unsigned int k = (unsigned int)s->id - 1, spins = 0;
	uint64_t seq, base = 0, got = 0, t_first = 0, t_last = 0;
	struct pinshm_bcast_msg bm;
	uint32_t len;
	int ret;

	pinshm_bcast_reader_stats(&s->br, &st0);
	for (;;) {
		ret = pinshm_bcast_peek(&s->br, &bm);
		if (ret == -EAGAIN) {
			if (keep)
				spin_then_yield(&spins);
			else
				pinshm_cpu_relax();
			continue;
		}
		if (ret == -ESTALE)
			continue;
		if (ret)
			side_fail(s, "pinshm_bcast_peek: %s", strerror(-ret));
		memcpy(&seq, bm.data, sizeof(seq));
		len = bm.len;
		if (pinshm_bcast_release(&s->br))
			continue;	/* overwritten while we read it */
		t_last = bench_now();
		if (got++ == 0) {
			t_first = t_last;
			base = bm.seq - seq;
		}
		if (bm.seq - seq != base || len != s->o->size || seq >= count)
			side_fail(s, "pinshm-bcast stream: record %llu holds "
				  "seq %llu len %u", (unsigned long long)bm.seq,
				  (unsigned long long)seq, len);
		if (keep)	/* (K1) pairs with (K2): done with seq */
			pinshm_store_release(&s->sh->bc_pos[k].taken,
					     seq + 1);
		if (seq == count - 1)
			break;
	}
	pinshm_bcast_reader_stats(&s->br, &st1);
	(void)t_first;
	s->sh->bc_mps[run][k][rep] = rate_of(s, got + 1, s->sh->bc_t0,
					     t_last);
	s->sh->bc_msgs[run][k][rep] = got;
	s->sh->bc_lost[run][k][rep] = count - got;
	s->sh->bc_lapped[run][k][rep] = st1.lapped - st0.lapped;
}

/* ---------------------------------------------------------------- */
/* Kernel IPC                                                        */
/* ---------------------------------------------------------------- */

static void fd_write_all(struct bench_side *s, int fd, const void *p,
			 size_t n, const char *what)
{
	const uint8_t *q = p;
	ssize_t w;

	while (n) {
		w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			side_fail(s, "%s: write: %s", what,
				  w < 0 && (errno == EAGAIN) ? "timed out" :
				  strerror(w < 0 ? errno : EPIPE));
		q += w;
		n -= (size_t)w;
	}
}

static void fd_read_all(struct bench_side *s, int fd, void *p, size_t n,
			const char *what)
{
	uint8_t *q = p;
	ssize_t r;

	while (n) {
		r = read(fd, q, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			side_fail(s, "%s: read: %s", what,
				  r == 0 ? "peer closed" :
				  errno == EAGAIN ? "timed out" :
				  strerror(errno));
		q += r;
		n -= (size_t)r;
	}
}

/* The descriptors of a byte-stream system, for side s. */
static void fd_pair(const struct bench_side *s, int sys, int *tx, int *rx)
{
	const struct bench_fds *k = s->k;
	bool a = s->id == 0;

	switch (sys) {
	case SYS_PIPE:
		*tx = a ? k->pipe_ab[1] : k->pipe_ba[1];
		*rx = a ? k->pipe_ba[0] : k->pipe_ab[0];
		break;
	case SYS_UNIX:
		*tx = *rx = k->unix_sv[s->id];
		break;
	default:
		*tx = *rx = k->tcp[s->id];
		break;
	}
}

static void fd_pingpong(struct bench_side *s, int sys, uint64_t warm,
			uint64_t n)
{
	const char *what = sys_names[sys];
	uint32_t size = s->o->size;
	uint64_t i, t0, t1;
	int tx, rx;

	fd_pair(s, sys, &tx, &rx);
	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			put_seq(s, i);
			fd_write_all(s, tx, s->tmpl, size, what);
			fd_read_all(s, rx, s->buf, size, what);
			t1 = bench_now();
			check_seq(s, s->buf, size, i, what);
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
		} else {
			fd_read_all(s, rx, s->buf, size, what);
			check_seq(s, s->buf, size, i, what);
			fd_write_all(s, tx, s->buf, size, what);
		}
	}
}

static double fd_stream(struct bench_side *s, int sys, uint64_t count)
{
	const char *what = sys_names[sys];
	uint32_t size = s->o->size;
	uint64_t i, t_first = 0;
	int tx, rx;

	fd_pair(s, sys, &tx, &rx);
	if (s->id == 0) {
		for (i = 0; i < count; i++) {
			put_seq(s, i);
			fd_write_all(s, tx, s->tmpl, size, what);
		}
		return 0;
	}
	for (i = 0; i < count; i++) {
		fd_read_all(s, rx, s->buf, size, what);
		if (i == 0)
			t_first = bench_now();
		check_seq(s, s->buf, size, i, what);
	}
	return rate_of(s, count, t_first, bench_now());
}

static void efd_signal(struct bench_side *s, int fd)
{
	uint64_t one = 1;

	fd_write_all(s, fd, &one, sizeof(one), "eventfd");
}

static uint64_t efd_wait(struct bench_side *s, int fd)
{
	uint64_t v;

	fd_read_all(s, fd, &v, sizeof(v), "eventfd");
	return v;
}

static void efd_pingpong(struct bench_side *s, uint64_t warm, uint64_t n)
{
	uint32_t size = s->o->size;
	uint64_t i, t0, t1;

	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			put_seq(s, i);
			memcpy(s->scr->ping, s->tmpl, size);
			/* (E1) pairs with (E2): ping before the signal. */
			pinshm_smp_wmb();
			efd_signal(s, s->k->efd_ab);
			efd_wait(s, s->k->efd_ba);
			/* (E4) pairs with (E3): pong after the signal. */
			pinshm_smp_rmb();
			memcpy(s->buf, s->scr->pong, size);
			t1 = bench_now();
			check_seq(s, s->buf, size, i, "eventfd reply");
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
		} else {
			efd_wait(s, s->k->efd_ab);
			/* (E2) pairs with (E1). */
			pinshm_smp_rmb();
			memcpy(s->scr->pong, s->scr->ping, size);
			check_seq(s, s->scr->pong, size, i, "eventfd request");
			/* (E3) pairs with (E4): pong before the signal. */
			pinshm_smp_wmb();
			efd_signal(s, s->k->efd_ba);
		}
	}
}

/*
 * The inline ring with a wakeup per message. No wakeup is lost: the
 * producer publishes a slot before it signals, and the consumer drains the
 * ring after each wait, so a message is either seen by a drain or followed
 * by a signal that ends the next wait. Signals of messages a drain already
 * took stay counted in efd_st (even into the next run): a wait that returns
 * for them finds nothing new and waits again.
 */
static double efd_stream(struct bench_side *s, uint64_t count)
{
	uint64_t i, next = 0, t_first = 0;
	int64_t got;

	if (s->id == 0) {
		for (i = 0; i < count; i++) {
			bench_raw_produce(s->evr, &s->shape, s->tmpl, i, 1, 1,
					  true);
			efd_signal(s, s->k->efd_st);
		}
		return 0;
	}
	while (next < count) {
		efd_wait(s, s->k->efd_st);
		got = bench_raw_take(s->evr, &s->shape, &next, count - next,
				     1, true, &t_first);
		if (got < 0)
			side_fail(s, "eventfd stream: sequence out of order");
	}
	return rate_of(s, count, t_first, bench_now());
}

static void mq_put(struct bench_side *s, mqd_t q, const void *p)
{
	while (mq_send(q, p, s->o->size, 0) < 0)
		if (errno != EINTR)
			side_fail(s, "mq: mq_send: %s", strerror(errno));
}

static void mq_get(struct bench_side *s, mqd_t q, void *p, uint64_t want,
		   const char *what)
{
	ssize_t r;

	while ((r = mq_receive(q, p, BENCH_MAX_SIZE, NULL)) < 0)
		if (errno != EINTR)
			side_fail(s, "mq: mq_receive: %s", strerror(errno));
	check_seq(s, p, (uint32_t)r, want, what);
}

static void mq_pingpong(struct bench_side *s, uint64_t warm, uint64_t n)
{
	uint64_t i, t0, t1;

	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			put_seq(s, i);
			mq_put(s, s->k->mq_ab, s->tmpl);
			mq_get(s, s->k->mq_ba, s->buf, i, "mq reply");
			t1 = bench_now();
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
		} else {
			mq_get(s, s->k->mq_ab, s->buf, i, "mq request");
			mq_put(s, s->k->mq_ba, s->buf);
		}
	}
}

static double mq_stream(struct bench_side *s, uint64_t count)
{
	uint64_t i, t_first = 0;

	if (s->id == 0) {
		for (i = 0; i < count; i++) {
			put_seq(s, i);
			mq_put(s, s->k->mq_ab, s->tmpl);
		}
		return 0;
	}
	for (i = 0; i < count; i++) {
		mq_get(s, s->k->mq_ab, s->buf, i, "mq stream");
		if (i == 0)
			t_first = bench_now();
	}
	return rate_of(s, count, t_first, bench_now());
}

/* ---------------------------------------------------------------- */
/* One process: side A or side B                                     */
/* ---------------------------------------------------------------- */

static void side_setup(struct bench_side *s)
{
	const struct bench_opts *o = s->o;
	const char *tx = s->id ? "ba" : "ab", *rx = s->id ? "ab" : "ba";
	uint64_t rbytes = bench_raw_ring_bytes(&s->shape);
	void *scr;
	int ret;

	ret = bench_pin(o->side_cpu[s->id]);
	if (ret)
		side_fail(s, "pin to cpu %d: %s", o->side_cpu[s->id],
			  strerror(-ret));
	/* The extra broadcast readers need no more than a read-only map. */
	ret = pinshm_region_open(bench_region, o->group == GRP_BCAST &&
				 s->id >= 2 ? PINSHM_RDONLY : PINSHM_RDWR,
				 o->backend, &s->r);
	if (ret)
		side_fail(s, "open region %s: %s", bench_region,
			  strerror(-ret));
	memset(s->tmpl, 0xa5, sizeof(s->tmpl));
	if (o->group == GRP_MPSC) {
		if (s->id == 1)
			ret = pinshm_mpsc_attach_consumer(s->r, "mp", &s->mc);
		else
			ret = pinshm_mpsc_attach_producer(s->r, "mp",
							  s->id ? 1 : 0,
							  &s->mp);
		if (ret)
			side_fail(s, "pinshm_mpsc_attach: %s", strerror(-ret));
	} else if (o->group == GRP_BCAST) {
		if (s->id == 0)
			ret = pinshm_bcast_writer_attach(s->r, "bc", &s->bw);
		else
			ret = pinshm_bcast_reader_attach(s->r, "bc",
							 PINSHM_BCAST_NEXT,
							 &s->br);
		if (ret)
			side_fail(s, "pinshm_bcast_attach: %s",
				  strerror(-ret));
	}
	if (s->id >= 2)
		return;	/* extra producer or readers: that ring only */
	ret = pinshm_spsc_attach(s->r, tx, PINSHM_PRODUCER, &s->tx);
	if (!ret)
		ret = pinshm_spsc_attach(s->r, rx, PINSHM_CONSUMER, &s->rx);
	if (ret)
		side_fail(s, "pinshm_spsc_attach: %s", strerror(-ret));
	rbytes = (rbytes + BENCH_BLOCK - 1) & ~(uint64_t)(BENCH_BLOCK - 1);
	ret = bench_region_scratch(s->r, sizeof(struct bscratch) + 3 * rbytes,
				   &scr);
	if (ret)
		side_fail(s, "scratch area: %s", strerror(-ret));
	s->scr = scr;
	s->raw = (struct bench_raw_ring *)((uint8_t *)scr +
					   sizeof(struct bscratch));
	s->evr = (struct bench_raw_ring *)((uint8_t *)s->raw + rbytes);
	s->rback = (struct bench_raw_ring *)((uint8_t *)s->evr + rbytes);
}

/*
 * pinshm-spsc-sleep: the wake calls our receive ring got during the run
 * (both directions of a pingpong; the stream's B only). The last one that
 * woke us came before the record we waited for, so none is missed.
 */
static void wakes_done(struct bench_side *s, const struct bench_run *run,
		       unsigned int i, unsigned int rep)
{
	uint32_t *w;

	if (run->sys != SYS_SPSC_SLEEP)
		return;
	w = &s->sh->wakes[i][rep][s->id];
	*w = PINSHM_READ_ONCE(s->rx.sh->waitq.seq) - *w;
}

static void side_pingpong(struct bench_side *s, int sys, uint64_t n)
{
	uint64_t warm = warm_of(n);
	bool a = s->id == 0;

	switch (sys) {
	case SYS_RAW:
		if (a)
			bench_pp_initiator(&s->scr->pp, warm, n, &s->sh->cur);
		else
			bench_pp_responder(&s->scr->pp, warm, n);
		break;
	case SYS_RAW_RING:
		/* A writes raw, B writes rback. */
		if (bench_raw_ring_pp(a ? s->raw : s->rback,
				      a ? s->rback : s->raw, &s->shape,
				      s->tmpl, warm, n,
				      a ? &s->sh->cur : NULL))
			side_fail(s, "raw-ring pingpong: out of sequence");
		break;
	case SYS_SPSC:
	case SYS_SPSC_SLEEP:
		s->sleep = sys == SYS_SPSC_SLEEP;
		if (a)
			spsc_pp_initiator(s, warm, n);
		else
			spsc_pp_responder(s, warm, n);
		s->sleep = false;
		break;
	case SYS_PIPE:
	case SYS_UNIX:
	case SYS_TCP:
		fd_pingpong(s, sys, warm, n);
		break;
	case SYS_EVENTFD:
		efd_pingpong(s, warm, n);
		break;
	case SYS_MQ:
		mq_pingpong(s, warm, n);
		break;
	case SYS_MPSC:
		mpsc_pingpong(s, warm, n);
		break;
	case SYS_BCAST:
		bcast_pingpong(s, warm, n);
		break;
	}
}

static double side_stream(struct bench_side *s, int sys, uint64_t n)
{
	unsigned int batch = sys == SYS_RAW_B || sys == SYS_SPSC_B ||
			     sys == SYS_MPSC2_B ? BENCH_BATCH : 1;
	bool a = s->id == 0;
	double mps;

	switch (sys) {
	case SYS_RAW:
	case SYS_RAW_B:
		if (a) {
			bench_raw_produce(s->raw, &s->shape, s->tmpl, 0, n,
					  batch, false);
			return 0;
		}
		mps = bench_raw_consume(s->raw, &s->shape, n, batch, &s->clk);
		if (mps < 0)
			side_fail(s, "raw stream: sequence out of order");
		return mps;
	case SYS_SPSC:
	case SYS_SPSC_B:
	case SYS_SPSC_SLEEP:
		if (a) {
			spsc_stream_produce(s, n, batch);
			return 0;
		}
		s->sleep = sys == SYS_SPSC_SLEEP;
		mps = spsc_stream_consume(s, n, batch);
		s->sleep = false;
		return mps;
	case SYS_PIPE:
	case SYS_UNIX:
	case SYS_TCP:
		return fd_stream(s, sys, n);
	case SYS_EVENTFD:
		return efd_stream(s, n);
	case SYS_MQ:
		return mq_stream(s, n);
	case SYS_MPSC:
	case SYS_MPSC2:
	case SYS_MPSC2_B:
		if (s->id == 1)
			return mpsc_stream_consume(s, n, sys == SYS_MPSC ?
						   1 : 2, batch);
		mpsc_stream_produce(s, n, sys == SYS_MPSC ? 1 : 2, batch);
		return 0;
	}
	return 0;
}

/* Does side id take part in this run? (Extra sides sit most out.) */
static bool side_in_run(const struct bench_side *s, const struct bench_run *run)
{
	if (s->id < 2)
		return true;
	if (run->sys == SYS_MPSC2 || run->sys == SYS_MPSC2_B)
		return true;
	return is_bcast(run->sys) && run->pat == PAT_STREAM;
}

static void __attribute__((noreturn)) side_run(struct bench_side *s)
{
	const struct bench_opts *o = s->o;
	struct bshared *sh = s->sh;
	unsigned int rep, i;
	bool a = s->id == 0;

	side_setup(s);
	for (rep = 0; rep < o->reps; rep++) {
		for (i = 0; i < s->nruns; i++) {
			const struct bench_run *run = &s->runs[i];
			uint64_t n = o->count[run->pat];

			if (a && run->sys == SYS_BCAST_KEEP)
				/* Readers write theirs after the sync. */
				memset(sh->bc_pos, 0, sizeof(sh->bc_pos));
			side_sync(s);
			if (is_bcast(run->sys)) {
				/* Readers start at the next record: past what
				 * earlier runs left (the writer is idle). */
				if (s->id)
					pinshm_bcast_reader_seek(&s->br,
								 PINSHM_BCAST_NEXT);
				side_sync(s);
			}
			if (a) {
				PINSHM_WRITE_ONCE(sh->prog_rep, rep);
				PINSHM_WRITE_ONCE(sh->prog_run, i);
			}
			if (!side_in_run(s, run))
				continue;
			if (is_bcast(run->sys) && run->pat == PAT_STREAM) {
				bool keep = run->sys == SYS_BCAST_KEEP;

				if (a)
					sh->mps[i][rep] =
						bcast_stream_write(s, n, keep);
				else
					bcast_stream_read(s, n, i, rep, keep);
				continue;
			}
			if (run->sys == SYS_SPSC_SLEEP)	/* we receive on rx */
				sh->wakes[i][rep][s->id] =
					PINSHM_READ_ONCE(s->rx.sh->waitq.seq);
			if (run->pat == PAT_PINGPONG) {
				uint64_t t0 = bench_now(), t1;

				side_pingpong(s, run->sys, n);
				t1 = bench_now();
				wakes_done(s, run, i, rep);
				if (!a)
					continue;
				bench_hist_summary(&sh->cur, &s->clk,
						   &sh->lat[i][rep]);
				bench_hist_merge(&sh->all[i], &sh->cur);
				bench_hist_reset(&sh->cur);
				/* Round trips per second, warm-up included. */
				sh->mps[i][rep] = rate_of(s, n + warm_of(n) + 1,
							  t0, t1);
			} else {
				double mps = side_stream(s, run->sys, n);

				wakes_done(s, run, i, rep);
				if (s->id == 1)
					sh->mps[i][rep] = mps;
			}
		}
	}
	side_sync(s);
	if (o->group == GRP_MPSC && s->id == 1)
		pinshm_mpsc_detach_consumer(&s->mc);
	else if (o->group == GRP_MPSC)
		pinshm_mpsc_detach_producer(&s->mp);
	else if (o->group == GRP_BCAST && s->id == 0)
		pinshm_bcast_writer_detach(&s->bw);
	else if (o->group == GRP_BCAST)
		pinshm_bcast_reader_detach(&s->br);
	if (s->id < 2) {
		pinshm_spsc_detach(&s->tx);
		pinshm_spsc_detach(&s->rx);
	}
	pinshm_region_close(s->r);
	_exit(0);
}

/* ---------------------------------------------------------------- */
/* Set-up of the kernel endpoints (parent, before the fork)          */
/* ---------------------------------------------------------------- */

static void fds_init(struct bench_fds *k)
{
	k->pipe_ab[0] = k->pipe_ab[1] = k->pipe_ba[0] = k->pipe_ba[1] = -1;
	k->unix_sv[0] = k->unix_sv[1] = -1;
	k->tcp[0] = k->tcp[1] = -1;
	k->efd_ab = k->efd_ba = k->efd_st = -1;
	k->mq_ab = k->mq_ba = (mqd_t)-1;
}

static void fds_close(struct bench_fds *k)
{
	int *fds[] = { &k->pipe_ab[0], &k->pipe_ab[1], &k->pipe_ba[0],
		       &k->pipe_ba[1], &k->unix_sv[0], &k->unix_sv[1],
		       &k->tcp[0], &k->tcp[1], &k->efd_ab, &k->efd_ba,
		       &k->efd_st };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (k->mq_ab != (mqd_t)-1)
		mq_close(k->mq_ab);
	if (k->mq_ba != (mqd_t)-1)
		mq_close(k->mq_ba);
	k->mq_ab = k->mq_ba = (mqd_t)-1;
}

/* Bounded: a peer that stops answering gives an error, not a hang. */
static int sock_bound(int fd)
{
	struct timeval tv = { .tv_sec = BENCH_SOCK_TIMEOUT_S };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/* A loopback TCP connection on an ephemeral port: tcp[0] and tcp[1]. */
static int tcp_pair(int tcp[2], char *why, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1, ls, ret = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0) {
		snprintf(why, len, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls, 1) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
		snprintf(why, len, "listen on 127.0.0.1: %s", strerror(errno));
		ret = -1;
		goto out;
	}
	tcp[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tcp[0] < 0 || sock_bound(tcp[0]) ||
	    connect(tcp[0], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(why, len, "connect to 127.0.0.1:%u: %s",
			 ntohs(sa.sin_port), strerror(errno));
		ret = -1;
		goto out;
	}
	/* The connection is queued already: accept cannot block. */
	tcp[1] = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (tcp[1] < 0 || sock_bound(tcp[1]) ||
	    setsockopt(tcp[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(tcp[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
		snprintf(why, len, "accept: %s", strerror(errno));
		ret = -1;
	}
out:
	close(ls);
	return ret;
}

static mqd_t mq_make(const char *dir, uint32_t size, char *why, size_t len)
{
	struct mq_attr attr = { .mq_maxmsg = 8, .mq_msgsize = size };
	char name[64];
	mqd_t q;

	snprintf(name, sizeof(name), "/pinshm-bench-%d-%s", (int)getpid(),
		 dir);
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
	if (q == (mqd_t)-1) {
		snprintf(why, len, "mq_open: %s", strerror(errno));
		return q;
	}
	mq_unlink(name);	/* the descriptors keep it alive */
	return q;
}

/* Returns 0, or -1 with why[] saying which system failed and how. */
static int fds_open(struct bench_fds *k, unsigned int vs, uint32_t size,
		    char *why, size_t len)
{
	char m[200] = "";

	if (vs & (1u << SYS_PIPE)) {
		if (pipe2(k->pipe_ab, O_CLOEXEC) || pipe2(k->pipe_ba, O_CLOEXEC)) {
			snprintf(why, len, "pipe: %s", strerror(errno));
			return -1;
		}
	}
	if (vs & (1u << SYS_UNIX)) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			       k->unix_sv) ||
		    sock_bound(k->unix_sv[0]) || sock_bound(k->unix_sv[1])) {
			snprintf(why, len, "unix: socketpair: %s",
				 strerror(errno));
			return -1;
		}
	}
	if ((vs & (1u << SYS_TCP)) && tcp_pair(k->tcp, m, sizeof(m))) {
		snprintf(why, len, "tcp: %s", m);
		return -1;
	}
	if (vs & (1u << SYS_EVENTFD)) {
		k->efd_ab = eventfd(0, EFD_CLOEXEC);
		k->efd_ba = eventfd(0, EFD_CLOEXEC);
		k->efd_st = eventfd(0, EFD_CLOEXEC);
		if (k->efd_ab < 0 || k->efd_ba < 0 || k->efd_st < 0) {
			snprintf(why, len, "eventfd: %s", strerror(errno));
			return -1;
		}
	}
	if (vs & (1u << SYS_MQ)) {
		k->mq_ab = mq_make("ab", size, m, sizeof(m));
		if (k->mq_ab != (mqd_t)-1)
			k->mq_ba = mq_make("ba", size, m, sizeof(m));
		if (k->mq_ab == (mqd_t)-1 || k->mq_ba == (mqd_t)-1) {
			snprintf(why, len, "mq: %s", m);
			return -1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* Report                                                            */
/* ---------------------------------------------------------------- */

/* What else used our two CPUs during the run (parent's view). */
struct bench_noise {
	double other_pct[2];
	double steal_pct[2];
	long nivcsw[2];
};

struct bench_result {
	const struct bench_run *run;
	const char *system;		/* JSON name */
	int base;			/* run index of its baseline */
	struct bench_spread pct[NR_PCT];	/* pingpong, ns */
	struct bench_spread rep_max;	/* pingpong: max of each rep */
	struct bench_spread mps;
	double max;			/* pingpong: over every rep, ns */
	double ratio;			/* p50 / base p50; mps / base mps */
	double ratio_p99;		/* pingpong */
	double ratio_spsc;		/* mpsc/bcast stream: / pinshm-spsc */
	/* bcast stream, per reader: rate, and sums over the reps. */
	struct bench_spread rd_mps[MAX_READERS];
	uint64_t rd_msgs[MAX_READERS], rd_lost[MAX_READERS];
	uint64_t rd_lapped[MAX_READERS];
	struct bench_spread wr_mps;	/* bcast stream: the writer's rate */
	double wakes_per_msg;		/* pinshm-spsc-sleep, median of reps */
};

/* JSON pattern name: mpsc-pingpong, bcast-stream, ... for the new rings. */
static const char *pat_json_name(const struct bench_run *run)
{
	bool pp = run->pat == PAT_PINGPONG;

	if (run->sys == SYS_MPSC || run->sys == SYS_MPSC2 ||
	    run->sys == SYS_MPSC2_B)
		return pp ? "mpsc-pingpong" : "mpsc-stream";
	if (is_bcast(run->sys))
		return pp ? "bcast-pingpong" : "bcast-stream";
	return pat_names[run->pat];
}

static const char *sys_json_name(const struct bench_run *run)
{
	if (run->sys == SYS_RAW)
		return run->pat == PAT_PINGPONG ? "raw-pingpong" : "raw-stream";
	if (run->sys == SYS_RAW_RING)
		return "raw-ring-pingpong";
	if (run->sys == SYS_RAW_B)
		return "raw-stream-batch32";
	return sys_names[run->sys];
}

static int find_run(const struct bench_run *runs, unsigned int nruns, int pat,
		    int sys)
{
	unsigned int i;

	for (i = 0; i < nruns; i++)
		if (runs[i].pat == pat && runs[i].sys == sys)
			return (int)i;
	return -1;
}

/* Under a pinshm-spsc-sleep row: what its sleeping cost the senders. */
static void print_wakes(const struct bench_result *r)
{
	if (r->run->sys == SYS_SPSC_SLEEP)
		printf("    (%.4f wake calls per message: the sender's system "
		       "call, made only while the receiver sleeps)\n",
		       r->wakes_per_msg);
}

static void results_of(const struct bench_opts *o, const struct bshared *sh,
		       const struct bench_clock *clk,
		       const struct bench_run *runs, unsigned int nruns,
		       struct bench_result *res)
{
	double v[BENCH_MAX_REPS];
	unsigned int i, rep;
	int k;

	for (i = 0; i < nruns; i++) {
		struct bench_result *r = &res[i];
		const struct bench_run *run = &runs[i];

		memset(r, 0, sizeof(*r));
		r->run = run;
		r->system = sys_json_name(run);
		if (run->pat == PAT_PINGPONG)
			r->base = find_run(runs, nruns, run->pat, SYS_RAW);
		else
			r->base = find_run(runs, nruns, run->pat,
					   run->sys == SYS_RAW_B ||
					   run->sys == SYS_SPSC_B ||
					   run->sys == SYS_MPSC2_B ?
					   SYS_RAW_B : SYS_RAW);
		r->mps = bench_spread_of(sh->mps[i], o->reps);
		if (run->sys == SYS_SPSC_SLEEP) {
			/* Messages per rep: 2 per round trip, warm-up in. */
			uint64_t n = o->count[run->pat];
			double msgs = run->pat == PAT_PINGPONG ?
				      2.0 * (double)(n + warm_of(n)) : (double)n;

			for (rep = 0; rep < o->reps; rep++)
				v[rep] = (sh->wakes[i][rep][0] +
					  sh->wakes[i][rep][1]) / msgs;
			r->wakes_per_msg = bench_spread_of(v, o->reps).median;
		}
		if (is_bcast(run->sys) && run->pat == PAT_STREAM) {
			unsigned int rd;

			r->wr_mps = r->mps;
			/* The rate every reader kept up: the slowest's. */
			for (rep = 0; rep < o->reps; rep++) {
				v[rep] = sh->bc_mps[i][0][rep];
				for (rd = 1; rd < o->readers; rd++)
					if (sh->bc_mps[i][rd][rep] < v[rep])
						v[rep] = sh->bc_mps[i][rd][rep];
			}
			r->mps = bench_spread_of(v, o->reps);
			for (rd = 0; rd < o->readers; rd++) {
				r->rd_mps[rd] = bench_spread_of(sh->bc_mps[i][rd],
								o->reps);
				for (rep = 0; rep < o->reps; rep++) {
					r->rd_msgs[rd] += sh->bc_msgs[i][rd][rep];
					r->rd_lost[rd] += sh->bc_lost[i][rd][rep];
					r->rd_lapped[rd] +=
						sh->bc_lapped[i][rd][rep];
				}
			}
		}
		if (run->pat != PAT_PINGPONG)
			continue;
		for (k = 0; k < NR_PCT; k++) {
			for (rep = 0; rep < o->reps; rep++) {
				const struct bench_lat *l = &sh->lat[i][rep];
				const double x[NR_PCT] = { l->p50, l->p90,
					l->p99, l->p999, l->p9999 };

				v[rep] = x[k];
			}
			r->pct[k] = bench_spread_of(v, o->reps);
		}
		for (rep = 0; rep < o->reps; rep++)
			v[rep] = sh->lat[i][rep].max;
		r->rep_max = bench_spread_of(v, o->reps);
		r->max = bench_ticks_to_ns(clk, sh->all[i].max);
	}
	for (i = 0; i < nruns; i++) {
		struct bench_result *r = &res[i], *b = &res[r->base];

		if (runs[i].pat == PAT_PINGPONG) {
			r->ratio = r->pct[0].median / b->pct[0].median;
			r->ratio_p99 = r->pct[2].median / b->pct[2].median;
		} else {
			/* Batched rows against the batched SPSC stream. */
			int sp = find_run(runs, nruns, PAT_STREAM,
					  runs[i].sys == SYS_MPSC2_B ?
					  SYS_SPSC_B : SYS_SPSC);

			r->ratio = b->mps.median > 0 ?
				   r->mps.median / b->mps.median : 0;
			if (sp >= 0 && res[sp].mps.median > 0)
				r->ratio_spsc = r->mps.median /
						res[sp].mps.median;
		}
	}
}

/* The targets of the issue, reported, never asserted. */
struct bench_target {
	char what[96];
	double value;
	double want;
	bool at_least;		/* value >= want, else value <= want */
	bool count;		/* a count, not a ratio */
};

static unsigned int targets_of(const struct bench_opts *o,
			       const struct bench_result *res,
			       const struct bench_run *runs,
			       unsigned int nruns, struct bench_target *t)
{
	int spsc = find_run(runs, nruns, PAT_PINGPONG, SYS_SPSC);
	int rring = find_run(runs, nruns, PAT_PINGPONG, SYS_RAW_RING);
	int st = find_run(runs, nruns, PAT_STREAM, SYS_SPSC);
	int stb = find_run(runs, nruns, PAT_STREAM, SYS_SPSC_B);
	int m2 = find_run(runs, nruns, PAT_STREAM, SYS_MPSC2);
	int m2b = find_run(runs, nruns, PAT_STREAM, SYS_MPSC2_B);
	int bk = find_run(runs, nruns, PAT_STREAM, SYS_BCAST_KEEP);
	unsigned int n = 0;
	int other, k;

	if (spsc >= 0 && o->size <= 120) {
		/* DESIGN.md: one line moved up to 56 bytes, two above. */
		double want = o->size <= 56 ? 1.15 : 1.6;

		snprintf(t[n].what, sizeof(t[n].what),
			 "spsc round trip p50 / raw p50 (%s)",
			 o->size <= 56 ? "one line" : "two lines");
		t[n].value = res[spsc].ratio;
		t[n].want = want;
		t[n++].at_least = false;
	}
	if (spsc >= 0 && rring >= 0 && res[rring].pct[0].median > 0) {
		/* Not the issue's: the same bar against the floor of any
		 * ring that moves fresh lines per message (the raw ring's
		 * slots take as many lines as the records, at any size). */
		snprintf(t[n].what, sizeof(t[n].what),
			 "spsc round trip p50 / raw-ring p50 (ring floor)");
		t[n].value = res[spsc].pct[0].median /
			     res[rring].pct[0].median;
		t[n].want = 1.15;
		t[n++].at_least = false;
	}
	if (spsc >= 0) {
		snprintf(t[n].what, sizeof(t[n].what),
			 "spsc round trip p99 / raw p99");
		t[n].value = res[spsc].ratio_p99;
		t[n].want = 2.0;
		t[n++].at_least = false;
	}
	if (st >= 0) {
		snprintf(t[n].what, sizeof(t[n].what),
			 "spsc stream msgs/s / raw-stream msgs/s");
		t[n].value = res[st].ratio;
		t[n].want = 0.9;
		t[n++].at_least = true;
	}
	if (stb >= 0) {
		snprintf(t[n].what, sizeof(t[n].what),
			 "spsc batch32 msgs/s / raw-stream-batch32");
		t[n].value = res[stb].ratio;
		t[n].want = 0.9;
		t[n++].at_least = true;
	}
	if (m2 >= 0 && res[m2].ratio_spsc > 0) {
		snprintf(t[n].what, sizeof(t[n].what),
			 "mpsc 2 producers msgs/s / spsc msgs/s");
		t[n].value = res[m2].ratio_spsc;
		t[n].want = 0.5;
		t[n++].at_least = true;
	}
	if (m2b >= 0 && res[m2b].ratio_spsc > 0) {
		snprintf(t[n].what, sizeof(t[n].what),
			 "mpsc 2 producers batch32 / spsc batch32");
		t[n].value = res[m2b].ratio_spsc;
		t[n].want = 0.5;
		t[n++].at_least = true;
	}
	if (bk >= 0 && o->readers >= 2) {
		uint64_t lost = 0;
		unsigned int rd;

		for (rd = 0; rd < o->readers; rd++)
			lost += res[bk].rd_lost[rd];
		snprintf(t[n].what, sizeof(t[n].what),
			 "bcast %u readers keeping up: records lost",
			 o->readers);
		t[n].value = (double)lost;
		t[n].want = 0;
		t[n].count = true;
		t[n++].at_least = false;
	}
	for (k = SYS_UNIX; spsc >= 0 && k <= SYS_TCP; k++) {
		other = find_run(runs, nruns, PAT_PINGPONG, k);
		if (other < 0)
			continue;
		snprintf(t[n].what, sizeof(t[n].what),
			 "%s p50 / spsc p50", sys_names[k]);
		t[n].value = res[other].pct[0].median /
			     res[spsc].pct[0].median;
		t[n].want = 20;
		t[n++].at_least = true;
	}
	return n;
}

static bool target_met(const struct bench_target *t)
{
	return t->at_least ? t->value >= t->want : t->value <= t->want;
}

static const char *fmt_spread(char *buf, size_t len, struct bench_spread s,
			      double scale, int prec)
{
	snprintf(buf, len, "%.*f [%.*f-%.*f]", prec, s.median / scale, prec,
		 s.min / scale, prec, s.max / scale);
	return buf;
}

static void print_text(const struct bench_opts *o,
		       const struct bench_clock *clk,
		       const struct bench_noise *nz,
		       const struct bench_result *res, unsigned int nruns,
		       const struct bench_target *t, unsigned int nt)
{
	char b[3][64];
	unsigned int i;
	int pat, k;

	printf("pinshm bench: backend %s, cpus %d,%d (%s processes), "
	       "payload %u B, %u reps\n",
	       pinshm_backend_name(o->backend), o->cpus[0], o->cpus[1],
	       o->nsides == 2 ? "two" : "several", o->size, o->reps);
	if (o->group == GRP_MPSC)
		printf("mpsc: producer 1 on cpu%d, consumer on cpu%d, "
		       "producer 2 (pinshm-mpsc-2p) on cpu%d%s\n",
		       o->side_cpu[0], o->side_cpu[1], o->side_cpu[2],
		       o->shared_cpu ? ": only two CPUs, the two producers "
		       "SHARE cpu" : "");
	if (o->group == GRP_BCAST) {
		printf("bcast: writer on cpu%d, %u reader%s on cpu", o->side_cpu[0],
		       o->readers, o->readers > 1 ? "s" : "");
		for (i = 1; i <= o->readers; i++)
			printf("%s%d", i > 1 ? "," : "", o->side_cpu[i]);
		printf("%s\n", o->shared_cpu ? " (more readers than CPUs: "
		       "readers SHARE cpus)" : "");
	}
	printf("TSC %.1f MHz (calibrated against CLOCK_MONOTONIC), "
	       "constant_tsc %s, nonstop_tsc %s;\n"
	       "  one timestamp (lfence+rdtsc) costs %.1f ns and is in every "
	       "sample; resolution %.1f ns\n",
	       clk->ticks_per_ns * 1e3, clk->constant_tsc ? "yes" : "MISSING",
	       clk->nonstop_tsc ? "yes" : "MISSING", clk->ts_cost_ns,
	       clk->resolution_ns);
	printf("noise: other work took %.1f%% of cpu%d and %.1f%% of cpu%d, "
	       "steal %.1f%%/%.1f%%, involuntary switches %ld/%ld%s\n",
	       nz->other_pct[0], o->cpus[0], nz->other_pct[1], o->cpus[1],
	       nz->steal_pct[0], nz->steal_pct[1], nz->nivcsw[0],
	       nz->nivcsw[1],
	       nz->other_pct[0] > 5 || nz->other_pct[1] > 5 ||
	       nz->steal_pct[0] + nz->steal_pct[1] > 2 ?
	       "\n  (the CPUs were shared: expect outliers and wide spreads)" :
	       "");
	for (pat = 0; pat < NR_PAT; pat++) {
		if (!o->pat[pat])
			continue;
		if (pat == PAT_PINGPONG) {
			printf("\npingpong: round trip, ns: median of %u reps "
			       "[min-max], %llu samples each\n", o->reps,
			       (unsigned long long)o->count[pat]);
			printf("  %-20s %-20s %8s %-20s %8s %8s %10s %8s %8s\n",
			       "system", "p50", "p90", "p99", "p99.9",
			       "p99.99", "max(all)", "p50/raw", "p99/raw");
		} else {
			printf("\nstream: %llu messages of %u B per run: median "
			       "[min-max] of %u reps\n",
			       (unsigned long long)o->count[pat], o->size,
			       o->reps);
			printf("  %-20s %-26s %8s %10s\n", "system",
			       "M msgs/s", "GB/s", "ratio");
		}
		for (i = 0; i < nruns; i++) {
			const struct bench_result *r = &res[i];

			if (r->run->pat != pat)
				continue;
			if (pat == PAT_PINGPONG) {
				printf("  %-20s %-20s %8.0f %-20s %8.0f %8.0f "
				       "%10.0f %7.2fx %7.2fx\n", r->system,
				       fmt_spread(b[0], sizeof(b[0]),
						  r->pct[0], 1, 0),
				       r->pct[1].median,
				       fmt_spread(b[1], sizeof(b[1]),
						  r->pct[2], 1, 0),
				       r->pct[3].median, r->pct[4].median,
				       r->max, r->ratio, r->ratio_p99);
				print_wakes(r);
			} else {
				unsigned int rd;

				printf("  %-20s %-26s %8.3f %9.3fx",
				       r->system,
				       fmt_spread(b[2], sizeof(b[2]), r->mps,
						  1e6, 2),
				       r->mps.median * o->size / 1e9,
				       r->ratio);
				if (r->run->sys >= SYS_MPSC &&
				    r->run->sys <= SYS_BCAST_KEEP)
					printf(" %7.3fx of pinshm-spsc%s",
					       r->ratio_spsc,
					       r->run->sys == SYS_MPSC2_B ?
					       "-batch32" : "");
				printf("\n");
				print_wakes(r);
				if (!is_bcast(r->run->sys))
					continue;
				printf("    writer (cpu%d): %s M msgs/s, %s\n",
				       o->side_cpu[0],
				       fmt_spread(b[2], sizeof(b[2]), r->wr_mps,
						  1e6, 2),
				       r->run->sys == SYS_BCAST ?
				       "never waits for readers" :
				       "held within half the ring of the "
				       "slowest reader by the bench");
				for (rd = 0; rd < o->readers; rd++)
					printf("    reader %u (cpu%d): %s M msgs/s, "
					       "got %llu, lost %llu, lapped %llu "
					       "times (sums over reps)\n",
					       rd + 1, o->side_cpu[rd + 1],
					       fmt_spread(b[2], sizeof(b[2]),
							  r->rd_mps[rd], 1e6, 2),
					       (unsigned long long)r->rd_msgs[rd],
					       (unsigned long long)r->rd_lost[rd],
					       (unsigned long long)r->rd_lapped[rd]);
			}
		}
	}
	if (o->pat[PAT_STREAM] && o->group == GRP_SPSC)
		printf("  (stream ratios: to raw-stream, the batch32 rows to "
		       "raw-stream-batch32)\n");
	if (o->pat[PAT_STREAM] && o->group == GRP_MPSC)
		printf("  (stream ratios: to raw-stream and to the pinshm-spsc "
		       "stream of this run, the batch32 rows to their batched "
		       "counterparts; pinshm-mpsc-2p: two producer "
		       "processes, half the messages each; -batch32: one "
		       "claim and one commit per 32; every consumer peeks "
		       "and releases as many at a time as the producer "
		       "claims)\n");
	if (o->pat[PAT_STREAM] && o->group == GRP_BCAST)
		printf("  (pinshm-bcast: records delivered per second to the "
		       "slowest reader; the writer never waits, so it laps "
		       "slower readers, who lose records: counted, not an "
		       "error; pinshm-bcast-keepup: the bench holds the "
		       "writer back so that readers keep up: they must lose "
		       "nothing)\n");
	if (o->group != GRP_SPSC && o->pat[PAT_PINGPONG])
		printf("  (%s-pingpong: request through the %s ring, reply "
		       "through an SPSC ring)\n",
		       o->group == GRP_MPSC ? "mpsc" : "bcast",
		       o->group == GRP_MPSC ? "MPSC" : "broadcast");
	for (i = 0; i < nruns && res[i].run->sys != SYS_RAW_RING; i++)
		;
	if (i < nruns)
		printf("  (raw-ring-pingpong: raw-pingpong's protocol over two "
		       "rings of one-line slots, each message in the next "
		       "slot: the floor of any ring)\n");
	if (nt) {
		printf("\ntargets (reported, not asserted):\n");
		for (k = 0; k < (int)nt; k++)
			printf(t[k].count ? "  %-48s %8.0f   want %s %.0f  %s\n" :
			       "  %-48s %8.2fx  want %s %.2fx  %s\n",
			       t[k].what, t[k].value,
			       t[k].at_least ? ">=" : "<=", t[k].want,
			       target_met(&t[k]) ? "met" : "MISSED");
	}
}

/* A number with a fixed number of decimals in the JSON text. */
static struct json_object *jnum(double v, int prec)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.*f", prec, v);
	return json_object_new_double_s(v, buf);
}

static struct json_object *jspread(struct bench_spread s, int prec)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "median", jnum(s.median, prec));
	json_object_object_add(o, "min", jnum(s.min, prec));
	json_object_object_add(o, "max", jnum(s.max, prec));
	return o;
}

static void print_json(const struct bench_opts *o,
		       const struct bench_clock *clk,
		       const struct bench_noise *nz,
		       const struct bench_result *res, unsigned int nruns,
		       const struct bench_target *t, unsigned int nt)
{
	struct json_object *top = json_object_new_object(), *a, *x, *y;
	unsigned int i;
	int k;

	json_object_object_add(top, "tool", json_object_new_string("pinshm bench"));
	json_object_object_add(top, "backend",
			       json_object_new_string(pinshm_backend_name(o->backend)));
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_int(o->cpus[0]));
	json_object_array_add(a, json_object_new_int(o->cpus[1]));
	json_object_object_add(top, "cpus", a);
	json_object_object_add(top, "size", json_object_new_int64(o->size));
	json_object_object_add(top, "reps", json_object_new_int64(o->reps));
	json_object_object_add(top, "processes",
			       json_object_new_int64(o->nsides));
	a = json_object_new_array();
	for (i = 0; i < o->nsides; i++)
		json_object_array_add(a, json_object_new_int(o->side_cpu[i]));
	json_object_object_add(top, "process_cpus", a);
	json_object_object_add(top, "shared_cpu",
			       json_object_new_boolean(o->shared_cpu));
	if (o->group == GRP_BCAST)
		json_object_object_add(top, "readers",
				       json_object_new_int64(o->readers));
	x = json_object_new_object();
	for (k = 0; k < NR_PAT; k++)
		if (o->pat[k])
			json_object_object_add(x, pat_names[k],
					       json_object_new_int64((int64_t)o->count[k]));
	json_object_object_add(top, "count", x);
	x = json_object_new_object();
	json_object_object_add(x, "mhz", jnum(clk->ticks_per_ns * 1e3, 1));
	json_object_object_add(x, "constant_tsc",
			       json_object_new_boolean(clk->constant_tsc));
	json_object_object_add(x, "nonstop_tsc",
			       json_object_new_boolean(clk->nonstop_tsc));
	json_object_object_add(x, "timestamp_cost_ns", jnum(clk->ts_cost_ns, 2));
	json_object_object_add(x, "resolution_ns", jnum(clk->resolution_ns, 2));
	json_object_object_add(top, "tsc", x);
	x = json_object_new_object();
	for (k = 0; k < 3; k++) {
		a = json_object_new_array();
		for (i = 0; i < 2; i++)
			json_object_array_add(a, k == 0 ? jnum(nz->other_pct[i], 1) :
					      k == 1 ? jnum(nz->steal_pct[i], 1) :
					      json_object_new_int64(nz->nivcsw[i]));
		json_object_object_add(x, k == 0 ? "other_busy_pct" :
				       k == 1 ? "steal_pct" : "involuntary_switches", a);
	}
	json_object_object_add(top, "noise", x);

	a = json_object_new_array();
	for (i = 0; i < nruns; i++) {
		const struct bench_result *r = &res[i];
		bool pp = r->run->pat == PAT_PINGPONG;

		x = json_object_new_object();
		json_object_object_add(x, "system", json_object_new_string(r->system));
		json_object_object_add(x, "pattern",
				       json_object_new_string(pat_json_name(r->run)));
		json_object_object_add(x, "size", json_object_new_int64(o->size));
		if (pp) {
			y = json_object_new_object();
			for (k = 0; k < NR_PCT; k++)
				json_object_object_add(y, pct_key[k],
						       jnum(r->pct[k].median, 1));
			json_object_object_add(y, "max", jnum(r->max, 1));
			json_object_object_add(x, "rtt_ns", y);
			y = json_object_new_object();
			for (k = 0; k < NR_PCT; k++)
				json_object_object_add(y, pct_key[k],
						       jspread(r->pct[k], 1));
			json_object_object_add(y, "max", jspread(r->rep_max, 1));
			json_object_object_add(x, "rtt_ns_spread", y);
		} else {
			json_object_object_add(x, "rtt_ns", NULL);
		}
		json_object_object_add(x, "msgs_per_s", jnum(r->mps.median, 0));
		json_object_object_add(x, "msgs_per_s_spread", jspread(r->mps, 0));
		json_object_object_add(x, "gb_per_s",
				       jnum(r->mps.median * o->size / 1e9, 4));
		json_object_object_add(x, "ratio_to_raw", jnum(r->ratio, 4));
		if (pp)
			json_object_object_add(x, "ratio_to_raw_p99",
					       jnum(r->ratio_p99, 4));
		json_object_object_add(x, "baseline",
				       json_object_new_string(res[r->base].system));
		if (!pp && r->run->sys >= SYS_MPSC &&
		    r->run->sys <= SYS_BCAST_KEEP)
			json_object_object_add(x, "ratio_to_spsc",
					       jnum(r->ratio_spsc, 4));
		if (r->run->sys == SYS_SPSC_SLEEP)
			json_object_object_add(x, "wakes_per_msg",
					       jnum(r->wakes_per_msg, 4));
		if (r->run->sys == SYS_MPSC || r->run->sys == SYS_MPSC2 ||
		    r->run->sys == SYS_MPSC2_B)
			json_object_object_add(x, "producers",
					       json_object_new_int(pp ? 1 :
						       r->run->sys == SYS_MPSC ?
						       1 : 2));
		if (is_bcast(r->run->sys) && !pp) {
			unsigned int rd;

			y = json_object_new_array();
			for (rd = 0; rd < o->readers; rd++) {
				struct json_object *z = json_object_new_object();

				json_object_object_add(z, "reader",
						       json_object_new_int(rd + 1));
				json_object_object_add(z, "cpu",
						       json_object_new_int(o->side_cpu[rd + 1]));
				json_object_object_add(z, "msgs_per_s",
						       jnum(r->rd_mps[rd].median, 0));
				json_object_object_add(z, "msgs_per_s_spread",
						       jspread(r->rd_mps[rd], 0));
				json_object_object_add(z, "delivered",
						       json_object_new_int64((int64_t)r->rd_msgs[rd]));
				json_object_object_add(z, "lost",
						       json_object_new_int64((int64_t)r->rd_lost[rd]));
				json_object_object_add(z, "lapped",
						       json_object_new_int64((int64_t)r->rd_lapped[rd]));
				json_object_array_add(y, z);
			}
			json_object_object_add(x, "readers", y);
			json_object_object_add(x, "writer_msgs_per_s",
					       jnum(r->wr_mps.median, 0));
		}
		json_object_array_add(a, x);
	}
	json_object_object_add(top, "results", a);
	a = json_object_new_array();
	for (k = 0; k < (int)nt; k++) {
		x = json_object_new_object();
		json_object_object_add(x, "what", json_object_new_string(t[k].what));
		json_object_object_add(x, "value", jnum(t[k].value, 3));
		json_object_object_add(x, "want",
				       json_object_new_string(t[k].at_least ? ">=" : "<="));
		json_object_object_add(x, "limit", jnum(t[k].want, 2));
		json_object_object_add(x, "met", json_object_new_boolean(target_met(&t[k])));
		json_object_array_add(a, x);
	}
	json_object_object_add(top, "targets", a);
	json_object_object_add(top, "notes", json_object_new_string(
		"latency: median across reps of each rep's percentile, from a "
		"log-linear histogram of every sample (relative error < 0.8%); "
		"max: over every rep; msgs_per_s for pingpong: round trips per "
		"second; ratio_to_raw: p50 over the raw-pingpong p50 (pingpong), "
		"msgs/s over the baseline's (stream); mpsc-*, bcast-*: "
		"pinshm bench mpsc|bcast, see docs/performance.md (ratio_to_spsc: "
		"over this run's pinshm-spsc stream; bcast-stream msgs_per_s: "
		"the slowest reader's records delivered per second, lost: "
		"records it never got, summed over reps; pinshm-bcast-keepup: "
		"the writer held back by the bench so that readers keep up)"));
	puts(json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED));
	json_object_put(top);
}

/* ---------------------------------------------------------------- */
/* Plot                                                              */
/* ---------------------------------------------------------------- */

static bool have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char dir[4096], file[4200];
	const char *p, *e;

	for (p = path ? path : "/usr/bin:/bin"; *p; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		snprintf(dir, sizeof(dir), "%.*s", (int)(e - p), p);
		snprintf(file, sizeof(file), "%s/gnuplot", *dir ? dir : ".");
		if (!access(file, X_OK))
			return true;
	}
	return false;
}

/*
 * The percentile curves of every pingpong system, from the histograms of
 * all reps merged, on log-log axes: x is 1 / (1 - p), so 90% is 10, 99% is
 * 100, and so on (HdrHistogram's plot).
 */
static int plot(const struct bench_opts *o, const struct bshared *sh,
		const struct bench_clock *clk, const struct bench_result *res,
		unsigned int nruns)
{
	char dir[] = "/tmp/pinshm-bench-plot.XXXXXX", data[64], script[64];
	static const char *const colors[] = { "#000000", "#d62728", "#1f77b4",
		"#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2" };
	uint64_t total = 0;
	unsigned int i, c = 0;
	double x, xmax = 10;
	FILE *f;
	pid_t pid;
	int st, ret = 0;

	if (!mkdtemp(dir))
		return -errno;
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(script, sizeof(script), "%s/plot.gp", dir);
	f = fopen(data, "w");
	if (!f) {
		ret = -errno;
		goto out;
	}
	for (i = 0; i < nruns; i++) {
		const struct bench_hist *h = &sh->all[i];

		if (res[i].run->pat != PAT_PINGPONG)
			continue;
		total = h->count;
		fprintf(f, "# %s\n", res[i].system);
		for (x = 1; x < (double)total; x *= 1.06) {
			double p = 100.0 * (1.0 - 1.0 / x);

			fprintf(f, "%.6g %.1f\n", x,
				bench_ticks_to_ns(clk, bench_hist_percentile(h, p)));
			if (x > xmax)
				xmax = x;
		}
		fprintf(f, "%.6g %.1f\n\n\n", (double)total,
			bench_ticks_to_ns(clk, h->max));
	}
	if (fclose(f)) {
		ret = -errno;
		goto out;
	}
	f = fopen(script, "w");
	if (!f) {
		ret = -errno;
		goto out;
	}
	fprintf(f,
		"set terminal pngcairo size 960,600 font 'sans,11'\n"
		"set output '%s'\n"
		"set title 'pinshm bench pingpong: round trip, %u-byte payload, "
		"cpus %d,%d, %u reps x %llu samples'\n"
		"set logscale xy\n"
		"set xrange [1:%g]\n"
		/* gnuplot reads tic labels as formats: it wants %% for %. */
		"set xtics ('0%%%%' 1, '50%%%%' 2, '90%%%%' 10, '99%%%%' 100, "
		"'99.9%%%%' 1000, '99.99%%%%' 10000, '99.999%%%%' 100000, "
		"'99.9999%%%%' 1000000)\n"
		"set ytics ('10 ns' 10, '100 ns' 100, '1 us' 1000, "
		"'10 us' 10000, '100 us' 100000, '1 ms' 1000000, "
		"'10 ms' 10000000, '100 ms' 100000000, '1 s' 1000000000)\n"
		"set xlabel 'percentile'\n"
		"set ylabel 'round-trip latency (log scale)'\n"
		"set grid xtics ytics mytics lc rgb '#dddddd'\n"
		"set key top left box opaque\n"
		"plot ",
		o->plot, o->size, o->cpus[0], o->cpus[1], o->reps,
		(unsigned long long)o->count[PAT_PINGPONG], xmax * 1.3);
	for (i = 0; i < nruns; i++) {
		if (res[i].run->pat != PAT_PINGPONG)
			continue;
		fprintf(f, "%s'%s' index %u with lines lw 2 lc rgb '%s' "
			"title '%s (p50 %.0f ns)'", c ? ", \\\n     " : "",
			data, c, colors[c % 8], res[i].system,
			res[i].pct[0].median);
		c++;
	}
	fprintf(f, "\n");
	if (fclose(f)) {
		ret = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			ret = -errno;
			goto out;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		ret = -EIO;
out:
	unlink(data);
	unlink(script);
	rmdir(dir);
	return ret;
}

/* ---------------------------------------------------------------- */
/* Options                                                           */
/* ---------------------------------------------------------------- */

static int parse_vs(const char *s, unsigned int *vs, char *bad, size_t len)
{
	char buf[256], *tok, *save = NULL;
	int k;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all")) {
			for (k = SYS_FIRST_VS; k < NR_SYS; k++)
				*vs |= 1u << k;
			continue;
		}
		for (k = SYS_FIRST_VS; k < NR_SYS; k++)
			if (!strcmp(tok, sys_names[k]))
				break;
		if (k == NR_SYS) {
			snprintf(bad, len, "%s", tok);
			return -EINVAL;
		}
		*vs |= 1u << k;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "vs", required_argument, NULL, 'v' },
		{ "reps", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "plot", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "readers", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c = ctl_find_cmd("bench");
	int opt, allowed[CPU_SETSIZE], n, i, k, extra[CPU_SETSIZE], nextra;
	bool have_cpus = false, have_readers = false, ok0, ok1;
	uint64_t v;
	long l;
	char bad[64];

	memset(o, 0, sizeof(*o));
	o->size = 56;
	o->count[PAT_PINGPONG] = 100000;
	o->count[PAT_STREAM] = 2000000;
	o->reps = 5;
	o->timeout_s = 1800;
	o->readers = 1;
	o->vs = (1u << SYS_RAW) | (1u << SYS_RAW_RING) | (1u << SYS_SPSC) |
		(1u << SYS_RAW_B) | (1u << SYS_SPSC_B);
	while ((opt = getopt_long(argc, argv, ":s:n:c:v:r:jp:t:R:h", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 's':
			if (ctl_parse_size(optarg, &v) || v < 8 ||
			    v > BENCH_MAX_SIZE)
				return ctl_usage_error(c, "bad --size '%s' (payload bytes, 8..4096)",
						       optarg);
			o->size = (uint32_t)v;
			break;
		case 'n':
			if (ctl_parse_size(optarg, &v) || v < 2 ||
			    v > 1000000000000ULL)
				return ctl_usage_error(c, "bad --count '%s' (2 or more)",
						       optarg);
			o->count[PAT_PINGPONG] = o->count[PAT_STREAM] = v;
			break;
		case 'c':
			if (bench_parse_cpus(optarg, o->cpus))
				return ctl_usage_error(c, "bad --cpus '%s' (two different CPUs: A,B)",
						       optarg);
			have_cpus = true;
			break;
		case 'v':
			if (parse_vs(optarg, &o->vs, bad, sizeof(bad)))
				return ctl_usage_error(c, "unknown system '%s' in --vs (pipe, unix, tcp, eventfd, mq, all)",
						       bad);
			break;
		case 'r':
			if (ctl_parse_int(optarg, 1, BENCH_MAX_REPS, &l))
				return ctl_usage_error(c, "bad --reps '%s' (1..%d)", optarg,
						       BENCH_MAX_REPS);
			o->reps = (unsigned int)l;
			break;
		case 'j':
			o->json = true;
			break;
		case 'p':
			o->plot = optarg;
			break;
		case 't':
			if (ctl_parse_int(optarg, 1, 86400, &l))
				return ctl_usage_error(c, "bad --timeout '%s' (seconds, 1..86400)",
						       optarg);
			o->timeout_s = (unsigned int)l;
			break;
		case 'R':
			if (ctl_parse_int(optarg, 1, MAX_READERS, &l))
				return ctl_usage_error(c, "bad --readers '%s' (1..%d)",
						       optarg, MAX_READERS);
			o->readers = (unsigned int)l;
			have_readers = true;
			break;
		case 'h':
			ctl_print_help(c);
			return -1;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	if (argc - optind > 1)
		return ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc) {
		const char *p = argv[optind];

		for (k = 0; k < NR_PAT; k++)
			if (!strcmp(p, pat_names[k]))
				break;
		if (k < NR_PAT) {
			o->pat[k] = true;
		} else if (!strcmp(p, "bcast") || !strcmp(p, "mpsc")) {
			/* The ring's pingpong and stream, beside the raw
			 * baselines and the SPSC ring; no kernel IPC. */
			o->group = p[0] == 'b' ? GRP_BCAST : GRP_MPSC;
			o->pat[PAT_PINGPONG] = o->pat[PAT_STREAM] = true;
			o->vs = (1u << SYS_RAW) | (1u << SYS_RAW_RING) |
				(1u << SYS_SPSC) |
				(o->group == GRP_BCAST ?
				 (1u << SYS_BCAST) | (1u << SYS_BCAST_KEEP) :
				 (1u << SYS_RAW_B) | (1u << SYS_SPSC_B) |
				 (1u << SYS_MPSC) | (1u << SYS_MPSC2) |
				 (1u << SYS_MPSC2_B));
		} else {
			return ctl_usage_error(c, "unknown pattern '%s' (pingpong, stream, bcast, mpsc)",
					       p);
		}
	} else {
		o->pat[PAT_PINGPONG] = o->pat[PAT_STREAM] = true;
	}
	if (have_readers && o->group != GRP_BCAST)
		return ctl_usage_error(c, "--readers is for the bcast pattern");
	if (o->plot && !o->pat[PAT_PINGPONG])
		return ctl_usage_error(c, "--plot draws latency: it needs the pingpong pattern");
	if (o->plot && !have_gnuplot()) {
		ctl_errorf("bench: --plot: gnuplot not found (apt-get install gnuplot-nox)");
		return CTL_EXIT_FAIL;
	}

	n = bench_allowed_cpus(allowed, CPU_SETSIZE);
	if (n < 0) {
		ctl_errorf("bench: sched_getaffinity: %s", strerror(-n));
		return CTL_EXIT_FAIL;
	}
	if (!have_cpus) {
		if (n < 2) {
			ctl_errorf("bench: need two CPUs to run on, have %d", n);
			return CTL_EXIT_FAIL;
		}
		o->cpus[0] = allowed[0];
		o->cpus[1] = allowed[1];
	}
	for (i = 0, ok0 = ok1 = false; i < n; i++) {
		ok0 |= allowed[i] == o->cpus[0];
		ok1 |= allowed[i] == o->cpus[1];
	}
	if (!ok0 || !ok1) {
		ctl_errorf("bench: --cpus %d,%d: cpu %d is not one we may run on",
			   o->cpus[0], o->cpus[1], ok0 ? o->cpus[1] : o->cpus[0]);
		return CTL_EXIT_FAIL;
	}

	/* Processes and their CPUs: A, B on --cpus; extras on other allowed
	 * CPUs while there are any, else sharing (and the output says so). */
	for (i = 0, nextra = 0; i < n; i++)
		if (allowed[i] != o->cpus[0] && allowed[i] != o->cpus[1])
			extra[nextra++] = allowed[i];
	o->side_cpu[0] = o->cpus[0];
	o->side_cpu[1] = o->cpus[1];
	o->nsides = 2;
	if (o->group == GRP_MPSC) {
		o->nsides = 3;
		o->side_cpu[2] = nextra ? extra[0] : o->cpus[0];
		o->shared_cpu = !nextra;
	} else if (o->group == GRP_BCAST) {
		o->nsides = 1 + o->readers;
		for (i = 2; i < (int)o->nsides; i++) {
			/* Readers' CPUs: cpus[1], then the extras, in turn. */
			k = (i - 1) % (nextra + 1);
			o->side_cpu[i] = k ? extra[k - 1] : o->cpus[1];
		}
		o->shared_cpu = o->readers > (unsigned int)nextra + 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* The command                                                       */
/* ---------------------------------------------------------------- */

static void progress(const struct bench_opts *o, const struct bshared *sh,
		     const struct bench_run *runs, unsigned int nruns,
		     uint64_t t_start)
{
	unsigned int run = PINSHM_READ_ONCE(sh->prog_run);
	unsigned int rep = PINSHM_READ_ONCE(sh->prog_rep);
	unsigned int done = rep * nruns + run;

	if (run >= nruns)
		return;
	fprintf(stderr, "\rpinshm bench: rep %u/%u, %s %s (%u%%), %.0f s\033[K",
		rep + 1, o->reps, pat_names[runs[run].pat],
		sys_json_name(&runs[run]), 100 * done / (o->reps * nruns),
		(double)(ctl_now_ns() - t_start) / 1e9);
}

static void kill_all(pid_t pid[MAX_SIDES])
{
	int i;

	for (i = 0; i < MAX_SIDES; i++)
		if (pid[i] > 0)
			kill(pid[i], SIGKILL);
}

int cmd_bench(int argc, char **argv)
{
	struct bench_run runs[MAX_RUNS];
	struct bench_result res[MAX_RUNS];
	struct bench_target tg[12] = { 0 };
	struct pinshm_region_opts ro;
	struct pinshm_region *r = NULL;
	struct bench_cpustat cs0[2], cs1[2];
	struct bench_noise nz;
	struct bench_opts o;
	struct bench_clock clk;
	struct bench_fds k;
	struct bench_side *s;
	struct bshared *sh;
	struct rusage ru;
	pid_t pid[MAX_SIDES] = { 0 };
	double ours_us[2] = { 0, 0 };
	uint64_t cap, rbytes, scratch, need, t_start, deadline;
	unsigned int nruns = 0, nt, i;
	bool tty = isatty(2), shown = false, failed = false;
	char why[256];
	void *scr;
	int ret, pat, sys, alive = 0, status, backend;

	ret = parse_opts(argc, argv, &o);
	if (ret)
		return ret < 0 ? CTL_EXIT_OK : ret;
	for (pat = 0; pat < NR_PAT; pat++) {
		for (sys = 0; o.pat[pat] && sys < NR_SYS; sys++) {
			if (!(o.vs & (1u << sys)))
				continue;
			if (pat == PAT_PINGPONG &&
			    (sys == SYS_RAW_B || sys == SYS_SPSC_B ||
			     sys == SYS_MPSC2 || sys == SYS_MPSC2_B))
				continue;
			if (pat == PAT_STREAM && sys == SYS_RAW_RING)
				continue;	/* raw-stream is one */
			if (pat == PAT_PINGPONG && sys == SYS_BCAST_KEEP)
				continue;	/* a stream only */
			runs[nruns].pat = pat;
			runs[nruns++].sys = sys;
		}
	}

	ctl_install_signals();
	bench_clock_init(&clk, 100);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || s == MAP_FAILED)
		return ctl_fail("bench: mmap", -errno, CTL_REGION);
	bench_hist_reset(&sh->cur);
	for (i = 0; i < nruns; i++)
		bench_hist_reset(&sh->all[i]);
	sh->prog_run = UINT32_MAX;

	/* Rings big enough for 8 records of the largest size. */
	for (cap = BENCH_CAPACITY; cap < 8 * (o.size + 16ULL); cap *= 2)
		;
	s->o = &o;
	s->sh = sh;
	s->clk = clk;
	s->runs = runs;
	s->nruns = nruns;
	s->k = &k;
	s->shape = bench_raw_shape_of(o.size, cap);
	rbytes = (bench_raw_ring_bytes(&s->shape) + BENCH_BLOCK - 1) &
		 ~(uint64_t)(BENCH_BLOCK - 1);
	scratch = (sizeof(struct bscratch) + 3 * rbytes + 4095) & ~4095ULL;
	/* Directory, two rings (header + buffer, page-rounded), scratch. */
	need = 8192 + 2 * (PINSHM_SPSC_HDR_SIZE + cap + 4096) + scratch +
	       65536;
	if (o.group == GRP_MPSC)
		need += PINSHM_MPSC_HDR_SIZE + cap + 4096;
	if (o.group == GRP_BCAST)	/* slots of payload + 16, 64-rounded */
		need += 65536 + BENCH_BCAST_SLOTS *
			((o.size + 16 + 63) & ~63ULL);
	need = (need + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);

	fds_init(&k);
	if (fds_open(&k, o.vs, o.size, why, sizeof(why))) {
		ctl_errorf("bench: --vs %s", why);
		fds_close(&k);
		return CTL_EXIT_FAIL;
	}

	snprintf(bench_region, sizeof(bench_region), "pinshm-bench-%d",
		 (int)getpid());
	pinshm_region_opts_init(&ro);
	ro.size = need;
	ro.backend = ctl_backend;
	ret = pinshm_region_create(bench_region, &ro, &r);
	if (ret) {
		char ctx[128];

		snprintf(ctx, sizeof(ctx), "bench: create region %s",
			 bench_region);
		fds_close(&k);
		return ctl_fail(ctx, ret, CTL_CREATE);
	}
	backend = pinshm_region_backend(r);
	o.backend = backend;	/* the children open what we created */
	ret = pinshm_spsc_create(r, "ab", cap, 0);
	if (!ret)
		ret = pinshm_spsc_create(r, "ba", cap, 0);
	if (!ret && o.group == GRP_MPSC)
		ret = pinshm_mpsc_create(r, "mp", cap, 0);
	if (!ret && o.group == GRP_BCAST)
		ret = pinshm_bcast_create(r, "bc", BENCH_BCAST_SLOTS, o.size);
	if (!ret)
		ret = bench_region_scratch(r, scratch, &scr);
	if (ret) {
		ctl_errorf("bench: set up region %s: %s", bench_region,
			   ctl_strerror(ret, CTL_OBJ_CREATE));
		failed = true;
		goto out_destroy;
	}

	memset(&nz, 0, sizeof(nz));
	for (i = 0; i < 2; i++)
		bench_cpustat_read(o.cpus[i], &cs0[i]);
	fflush(stdout);
	fflush(stderr);
	t_start = ctl_now_ns();
	deadline = t_start + (uint64_t)o.timeout_s * 1000000000ULL;
	for (i = 0; i < o.nsides; i++) {
		pid[i] = fork();
		if (pid[i] < 0) {
			ctl_errorf("bench: fork: %s", strerror(errno));
			pid[i] = 0;
			harness_sync_fail(&sh->sync);
			failed = true;
			break;
		}
		if (pid[i] == 0) {
			s->id = (int)i;
			side_run(s);
		}
		alive++;
	}

	while (alive) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		pid_t w = wait4(-1, &status, WNOHANG, &ru);

		if (w < 0 && errno != EINTR)
			break;
		if (w <= 0) {
			if (ctl_stop || ctl_now_ns() > deadline) {
				if (!failed)
					ctl_errorf("bench: %s", ctl_stop ?
						   "interrupted" :
						   "timed out (--timeout)");
				failed = true;
				kill_all(pid);
			} else if (tty) {
				progress(&o, sh, runs, nruns, t_start);
				shown = true;
			}
			nanosleep(&ts, NULL);
			continue;
		}
		for (i = 0; i < o.nsides; i++) {
			/* Our time on each of the two CPUs: the sides there. */
			int c = o.side_cpu[i] == o.cpus[0] ? 0 :
				o.side_cpu[i] == o.cpus[1] ? 1 : -1;

			if (w != pid[i])
				continue;
			pid[i] = 0;
			alive--;
			if (c >= 0) {
				ours_us[c] += (double)ru.ru_utime.tv_sec * 1e6 +
					      (double)ru.ru_utime.tv_usec +
					      (double)ru.ru_stime.tv_sec * 1e6 +
					      (double)ru.ru_stime.tv_usec;
				nz.nivcsw[c] += ru.ru_nivcsw;
			}
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				continue;
			if (shown) {
				fprintf(stderr, "\r\033[K");
				shown = false;
			}
			if (!failed && sh->err[i][0])
				ctl_errorf("bench: side %c: %s", 'A' + i,
					   sh->err[i]);
			else if (!failed && WIFSIGNALED(status))
				ctl_errorf("bench: side %c killed by signal %d",
					   'A' + i, WTERMSIG(status));
			else if (!failed)
				ctl_errorf("bench: side %c failed", 'A' + i);
			failed = true;
			kill_all(pid);	/* the other side would spin forever */
		}
	}
	if (shown)
		fprintf(stderr, "\r\033[K");
	for (i = 0; i < 2; i++) {
		bench_cpustat_read(o.cpus[i], &cs1[i]);
		bench_cpustat_noise(&cs0[i], &cs1[i], ours_us[i],
				    &nz.other_pct[i], &nz.steal_pct[i]);
	}
	if (!failed) {
		results_of(&o, sh, &clk, runs, nruns, res);
		nt = targets_of(&o, res, runs, nruns, tg);
		if (o.json)
			print_json(&o, &clk, &nz, res, nruns, tg, nt);
		else
			print_text(&o, &clk, &nz, res, nruns, tg, nt);
		if (o.plot) {
			ret = plot(&o, sh, &clk, res, nruns);
			if (ret) {
				ctl_errorf("bench: --plot %s: %s", o.plot,
					   ret == -EIO ? "gnuplot failed" :
					   strerror(-ret));
				failed = true;
			} else if (!o.json) {
				printf("\nplot: %s\n", o.plot);
			}
		}
	}

out_destroy:
	fds_close(&k);
	ret = pinshm_region_destroy(bench_region, backend);
	if (ret)
		ctl_warnf("bench: destroy region %s: %s", bench_region,
			  ctl_strerror(ret, CTL_REGION));
	pinshm_region_close(r);
	munmap(s, sizeof(*s));
	munmap(sh, sizeof(*sh));
	return failed ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
