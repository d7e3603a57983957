/* SPDX-License-Identifier: MIT */
/*
 * pinshm bench: the types its parts share, and the command's entry point.
 *
 *   bench.c        options, --help, the command, one process's runs
 *   systems.c      the systems measured and their properties
 *   sys_pinshm.c   the pinshm rings and the raw baselines in the region
 *   sys_kernel.c   kernel IPC: pipe, unix, tcp, eventfd, mq
 *   sys_peers.c    other libraries' rings: ck_ring, DPDK's rte_ring
 *   report.c       results, targets, text, JSON, the gnuplot plot
 *   harness.c      processes, barrier, reaping (shared with the demo)
 *   clock.c hist.c cpu.c raw.c   the instrument
 *
 * Shared words and their writers (STYLE.md, memory ordering), besides the
 * protocols of harness.h (the barrier), raw.h (bench_pp, bench_raw_ring)
 * and pinshm/spsc.h:
 *   bshared.cur, .lat[][], .all[], .mps_pp[][] ...... side A
 *   bshared.mps[][] ..................................... side B
 *   bshared.prog_run, .prog_rep ......................... side A (relaxed,
 *                                                         progress only)
 *   harness_shared.err[i] ............................... side i
 *   All of them are read by the parent only after both sides exited
 *   (waitpid orders them), except the progress words.
 *   bscratch.ping ...... side A       bscratch.pong ...... side B
 *   (E1)..(E4): the eventfd pingpong, sys_kernel.c.
 *   (K1)/(K2): pinshm-bcast-keepup's reader counts, sys_pinshm.c.
 */
#ifndef PINSHM_BENCH_H
#define PINSHM_BENCH_H

#include <mqueue.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <pinshm.h>

#include "clock.h"
#include "cpu.h"
#include "harness.h"
#include "hist.h"
#include "plot.h"
#include "raw.h"

/*
 * The command (the command table of pinshm(1) calls it): 0 or -errno once
 * said on stderr; -CTL_EUSAGE (tools/pinshm/cmd.h) after a usage error.
 */
int cmd_bench(int argc, char **argv);

#define BENCH_MAX_SIZE		4096
#define BENCH_MAX_REPS		64
#define BENCH_BATCH		32
#define BENCH_CAPACITY		(64 * 1024)
#define BENCH_SOCK_TIMEOUT_S	10
#define BENCH_BCAST_SLOTS	1024
/* The lossless ring (default; --lossless-slots): readers sharing a core
 * take turns, a ring each. */
#define BENCH_BCAST_LL_SLOTS	8192
#define BENCH_BCAST_LL_SPINS	64	/* pauses before a reader yields */
#define BENCH_MAX_CAPACITY	(256ULL << 20)
#define BENCH_INTERVAL_NS	2000	/* oneway: default pacing */
#define BENCH_SKEW_PROBES	20000

enum bench_pat { PAT_PINGPONG, PAT_STREAM, PAT_ONEWAY, NR_PAT };

enum bench_sys {
	SYS_RAW, SYS_RAW_RING, SYS_SPSC, SYS_RAW_B, SYS_SPSC_B, SYS_SPSC_BK,
	SYS_MPSC, SYS_MPSC2, SYS_MPSC2_B,	/* pattern mpsc only */
	SYS_FANIN, SYS_FANIN2, SYS_FANIN2_B,	/* pattern mpsc only */
	SYS_BCAST, SYS_BCAST_KEEP, SYS_BCAST_LOSSLESS,	/* pattern bcast only */
	SYS_BCAST_LOSSLESS_P, SYS_BCAST_LOSSLESS_BK,
	SYS_PIPE, SYS_UNIX, SYS_TCP, SYS_EVENTFD, SYS_MQ,
	SYS_SPSC_SLEEP,			/* --vs: the consumer sleeps at once */
	/* Peers (--vs ck, rte), when built in: sys_peers.c. */
	SYS_CK_SPSC, SYS_RTE_SPSC, SYS_RTE_SPSC_B,
	SYS_RTE_MP, SYS_RTE_MP2, SYS_RTE_RTS, SYS_RTE_RTS2,	/* mpsc */
	SYS_RTE_HTS, SYS_RTE_HTS2,				/* mpsc */
	NR_SYS
};
_Static_assert(NR_SYS <= 32, "a bit per system in bench_opts.vs");

/*
 * Pattern groups: `pinshm bench` and `pinshm bench pingpong|stream` run
 * the SPSC ring with its baselines and --vs; `pinshm bench mpsc` and
 * `pinshm bench bcast` run the baselines and the SPSC ring beside the MPSC
 * or broadcast ring (JSON patterns mpsc-pingpong, mpsc-stream,
 * bcast-pingpong, bcast-stream), with more processes:
 *   mpsc   side A: producer 0 (pingpong: the requester); side B: the
 *          consumer (pingpong: replies through the SPSC ring "ba");
 *          side C: producer 1 (pinshm-mpsc-2p stream only), on a third
 *          allowed CPU, else on A's CPU (said in the output). The fan-in
 *          ring "fi" the same way: A lane 0, C lane 1, B the consumer.
 *   bcast  side A: the writer; side B: reader 1 (pingpong: replies through
 *          the SPSC ring "ba"); sides C...: readers 2..N (stream only), on
 *          further CPUs, else sharing the readers' CPUs (said too); they
 *          open the region read-only.
 *   peers  `pinshm bench peers`: the rows of the peers table in one run,
 *          the SPSC ring's pingpong and streams and the mpsc group's
 *          streams, beside ck_ring and rte_ring where built in, with the
 *          mpsc group's processes and rings (bench_group_mpsc()).
 */
enum bench_group { GRP_SPSC, GRP_MPSC, GRP_BCAST, GRP_PEERS, NR_GRP };

/* Does the group run the mpsc group's three processes and its rings? */
static inline bool bench_group_mpsc(int group)
{
	return group == GRP_MPSC || group == GRP_PEERS;
}

enum bench_kind {
	KIND_RAW,	/* a physical baseline: raw lines or the raw ring */
	KIND_PINSHM,	/* a pinshm ring */
	KIND_KERNEL,	/* kernel IPC */
	KIND_PEER,	/* another library's ring (sys_peers.c) */
};

#define MAX_READERS	16
#define MAX_SIDES	(1 + MAX_READERS)
_Static_assert(MAX_SIDES <= HARNESS_MAX, "a process per side");

struct bench_side;

/* A system measured: its properties, names and runners (systems.c). */
struct bench_system {
	const char *name;	/* --vs and the text report */
	enum bench_kind kind;
	unsigned int pats;	/* bit per enum bench_pat it runs in */
	unsigned int groups;	/* bit per enum bench_group: run by default */
	bool vs;		/* chosen with --vs */
	unsigned int vs_groups;	/* --vs adds it to these groups; 0: spsc */
	const char *peer;	/* --vs name of its library: ck, rte */
	bool named_only;	/* --vs takes it by its own name only, not
				 * as part of its peer's or of all */
	const char *pkg;	/* the Debian package it is built with */
	const char *json[NR_PAT];	/* JSON system name; NULL: name */
	const char *json_group;	/* JSON patterns GROUP-PATTERN; NULL: PATTERN */
	unsigned int batch;	/* stream: messages per publication */
	unsigned int producers;	/* mpsc stream: producer processes */
	bool bcast;		/* the broadcast ring: readers, lapping */
	bool keepup;		/* bcast: the bench holds the writer back */
	bool lossless;		/* bcast: the lossless ring "bcl", gated
				 * readers hold the writer back */
	unsigned int poll;	/* bcast readers: records peeked per
				 * release (0, 1: one at a time) */
	bool sleep;		/* the receiver sleeps at once: count wakes */
	int idle;		/* stream readers, finding nothing: 0, one
				 * pause; PINSHM_WAIT_BACKOFF, its pauses */
	bool vs_spsc;		/* stream: a ratio to the SPSC stream too */
	bool all_sides;		/* stream: the extra processes take part */
	/* warm + n round trips; side A times each into bshared.cur */
	void (*pingpong)(struct bench_side *s, int sys, uint64_t warm,
			 uint64_t n);
	/* n messages; returns msgs/s where measured (B, bcast: A), else 0 */
	double (*stream)(struct bench_side *s, int sys, uint64_t n);
	/* warm + n messages paced by interval; B times each into .cur */
	void (*oneway)(struct bench_side *s, int sys, uint64_t warm,
		       uint64_t n);
};

extern const struct bench_system bench_systems[NR_SYS];
extern const char *const bench_pat_names[NR_PAT];

/* The percentiles reported (struct bench_lat), and their JSON keys. */
#define NR_PCT	5

struct bench_run {
	int pat;
	int sys;
};
#define MAX_RUNS	(NR_PAT * NR_SYS)

struct bench_opts {
	bool pat[NR_PAT];
	uint32_t size;
	uint64_t count[NR_PAT];	/* samples (pingpong, oneway), messages */
	uint64_t capacity;	/* ring bytes */
	bool capacity_given;
	unsigned int interval_ns;	/* oneway: one message every */
	bool rt;		/* sides A and B SCHED_FIFO */
	int cpus[2];
	unsigned int vs;	/* bit per enum bench_sys */
	unsigned int reps;
	unsigned int timeout_s;
	bool json;
	bool help;		/* --help: print it, run nothing */
	const char *plot;
	int backend;		/* resolved */
	int group;		/* enum bench_group */
	unsigned int readers;	/* bcast */
	unsigned int ll_slots;	/* bcast: the lossless ring's slots */
	unsigned int nsides;	/* processes: 2, 3 (mpsc), 1 + readers */
	int side_cpu[MAX_SIDES];
	bool shared_cpu;	/* an extra side shares a CPU with another */
};

/* Results: an anonymous shared mapping, not the region under test. */
struct bshared {
	_Alignas(BENCH_BLOCK) uint32_t prog_run;
	uint32_t prog_rep;
	struct bench_hist cur;			/* A (oneway: B): this run */
	struct bench_hist all[MAX_RUNS];	/* A (oneway: B): every rep */
	struct bench_lat lat[MAX_RUNS][BENCH_MAX_REPS];
	double mps[MAX_RUNS][BENCH_MAX_REPS];	/* stream: B; pingpong: A */
	/* oneway, B: stamps ahead of its TSC (counted as 0), raw-oneway
	 * messages it was late for (not sampled); sums over reps. */
	uint64_t ow_ahead[MAX_RUNS], ow_missed[MAX_RUNS];
	int64_t skew;		/* A: TSC of cpu B minus cpu A, ticks */
	uint64_t skew_unc;	/* A: its uncertainty, ticks */
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

/* One process of the run: side A (0), B (1), or an extra one (2...). */
struct bench_side {
	int id;
	struct harness *h;
	const struct bench_opts *o;
	struct bshared *sh;
	struct bench_clock clk;
	const struct bench_run *runs;
	unsigned int nruns;
	unsigned int run, rep;		/* the run being measured */
	struct bench_fds *k;
	const char *region;
	struct pinshm_region *r;
	struct pinshm_spsc tx, rx;	/* A: tx = ab, rx = ba; B: reverse */
	struct pinshm_mpsc mp;	/* mpsc: A, C */
	struct pinshm_mpsc mc;	/* mpsc: B */
	struct pinshm_fanin fp;	/* mpsc: A (lane 0), C (lane 1) */
	struct pinshm_fanin fc;	/* mpsc: B */
	struct pinshm_bcast bw;	/* bcast: A */
	struct pinshm_bcast br;	/* bcast: B, C... */
	struct pinshm_bcast blw;	/* bcast, lossless ring: A */
	struct pinshm_bcast blr;	/* bcast, lossless ring: B, C... (gated) */
	struct bscratch *scr;
	struct bench_raw_ring *raw, *evr, *rback;
	struct bench_raw_shape shape;
	bool sleep;			/* pinshm-spsc-sleep: wait, no spin */
	uint64_t interval;		/* oneway: ticks between messages */
	uint64_t ow_last;		/* oneway B: last raw word seen */
	_Alignas(BENCH_LINE) uint8_t tmpl[BENCH_MAX_SIZE];
	_Alignas(BENCH_LINE) uint8_t buf[BENCH_MAX_SIZE];
};

/* In a side: say why it failed, make the others give up, exit. */
#define side_fail(s, ...)	harness_fail((s)->h, (s)->id, __VA_ARGS__)

/* Unrecorded warm-up messages before n recorded ones. */
static inline uint64_t warm_of(uint64_t n)
{
	uint64_t w = n / 10;

	return w < 100 ? 100 : w > 10000 ? 10000 : w;
}

/* Latency patterns: a histogram of every sample, by side A or (oneway) B. */
static inline bool bench_pat_latency(int pat)
{
	return pat == PAT_PINGPONG || pat == PAT_ONEWAY;
}

/* Inline: once per message, inside the measured loops. */
static inline void check_seq(struct bench_side *s, const void *p,
			     uint32_t len, uint64_t want, const char *what)
{
	uint64_t seq;

	memcpy(&seq, p, sizeof(seq));
	if (seq != want || len != s->o->size)
		side_fail(s, "%s: got seq %llu len %u, want seq %llu len %u",
			  what, (unsigned long long)seq, len,
			  (unsigned long long)want, s->o->size);
}

static inline void put_seq(struct bench_side *s, uint64_t seq)
{
	memcpy(s->tmpl, &seq, sizeof(seq));
}

/*
 * Write message seq in place, as a zero-copy producer does: the template,
 * then the sequence number over its first 8 bytes. Storing the number into
 * the template first and copying that would make the copy's wide loads
 * wait for the narrow store to retire (a failed store-to-load forward),
 * 2.3 ns a message here (docs/performance.md).
 */
static inline void put_msg(struct bench_side *s, void *dst, uint64_t seq)
{
	memcpy(dst, s->tmpl, s->o->size);
	memcpy(dst, &seq, sizeof(seq));
}

/*
 * Spin a while, then yield: for a side whose wait ends only when another
 * side that may share its core runs. Two pinshm-bcast-keepup readers on
 * one core hold the writer back in turn; a producer alone on its core
 * (producer_full_wait()) waits here too. Spinning on would burn the rest
 * of the time slice the other side needs.
 */
static inline void spin_then_yield(unsigned int *spins)
{
	pinshm_cpu_relax();
	if (++*spins >= PINSHM_YIELD_SPINS) {
		*spins = 0;
		sched_yield();
	}
}

/*
 * A producer of nprod found its ring full. When the producers share one
 * core (two CPUs: o->shared_cpu), it yields at once: the room comes from
 * the consumer on the other core, or, on a shared MPSC ring, from the
 * other producer, which may be preempted between its claim and its commit
 * (the consumer waits at that claim); either way the core is better spent
 * on the other producer. Spinning first cost the fan-in ring's two
 * producers a third of their stream on the far placement
 * (docs/performance.md). Otherwise it spins a while first.
 */
static inline void producer_full_wait(struct bench_side *s,
				      unsigned int nprod,
				      unsigned int *spins)
{
	if (nprod > 1 && s->o->shared_cpu)
		sched_yield();
	else
		spin_then_yield(spins);
}

/* Messages per second: count of them from t_first to t_last (TSC). */
static inline double bench_rate(const struct bench_side *s, uint64_t count,
				uint64_t t_first, uint64_t t_last)
{
	if (count < 2 || t_last <= t_first)
		return 0;
	/* The first message arrived at t_first: count what came after it. */
	return (double)(count - 1) /
	       (bench_ticks_to_ns(&s->clk, t_last - t_first) * 1e-9);
}

/* systems.c */
const char *bench_pat_json_name(const struct bench_run *run);
const char *bench_sys_json_name(const struct bench_run *run);
int bench_find_run(const struct bench_run *runs, unsigned int nruns, int pat,
		   int sys);
unsigned int bench_group_vs(int group);
unsigned int bench_vs_in_group(unsigned int vs, int group);
/* 0; -EINVAL: bad names an unknown system; -ENOPKG: bad names the
 * package a peer asked for needs (not built in). */
int bench_parse_vs(const char *s, unsigned int *vs, char *bad, size_t len);
unsigned int bench_plan(const struct bench_opts *o, struct bench_run *runs);

/* sys_pinshm.c: a side's region, rings and scratch area */
/* The scratch area: bscratch, three raw rings, then the peers' rings. */
uint64_t bench_scratch_bytes(const struct bench_opts *o,
			     const struct bench_raw_shape *shape,
			     uint64_t *peers_off);
void bench_side_attach(struct bench_side *s);
void bench_side_detach(struct bench_side *s);
void bench_raw_pingpong(struct bench_side *s, int sys, uint64_t warm,
			uint64_t n);
void bench_raw_ring_pingpong(struct bench_side *s, int sys, uint64_t warm,
			     uint64_t n);
double bench_raw_stream(struct bench_side *s, int sys, uint64_t n);
void bench_raw_oneway(struct bench_side *s, int sys, uint64_t warm,
		      uint64_t n);
void bench_spsc_pingpong(struct bench_side *s, int sys, uint64_t warm,
			 uint64_t n);
double bench_spsc_stream(struct bench_side *s, int sys, uint64_t n);
void bench_spsc_oneway(struct bench_side *s, int sys, uint64_t warm,
		       uint64_t n);
void bench_mpsc_pingpong(struct bench_side *s, int sys, uint64_t warm,
			 uint64_t n);
double bench_mpsc_stream(struct bench_side *s, int sys, uint64_t n);
double bench_fanin_stream(struct bench_side *s, int sys, uint64_t n);
void bench_bcast_pingpong(struct bench_side *s, int sys, uint64_t warm,
			  uint64_t n);
double bench_bcast_stream(struct bench_side *s, int sys, uint64_t n);

/* sys_peers.c: the peers' rings in the scratch area, after the raw rings */
bool bench_peer_built(int sys);
uint64_t bench_peers_bytes(const struct bench_opts *o);
int bench_peers_init(const struct bench_opts *o, void *area);
void bench_peers_attach(struct bench_side *s, void *area);
void bench_peers_detach(struct bench_side *s);
void bench_ck_pingpong(struct bench_side *s, int sys, uint64_t warm,
		       uint64_t n);
double bench_ck_stream(struct bench_side *s, int sys, uint64_t n);
void bench_rte_pingpong(struct bench_side *s, int sys, uint64_t warm,
			uint64_t n);
double bench_rte_stream(struct bench_side *s, int sys, uint64_t n);

/* sys_kernel.c */
void bench_fds_init(struct bench_fds *k);
int bench_fds_open(struct bench_fds *k, unsigned int vs, uint32_t size,
		   char *why, size_t len);
void bench_fds_close(struct bench_fds *k);
void bench_fd_pingpong(struct bench_side *s, int sys, uint64_t warm,
		       uint64_t n);
double bench_fd_stream(struct bench_side *s, int sys, uint64_t n);
void bench_efd_pingpong(struct bench_side *s, int sys, uint64_t warm,
			uint64_t n);
double bench_efd_stream(struct bench_side *s, int sys, uint64_t n);
void bench_mq_pingpong(struct bench_side *s, int sys, uint64_t warm,
		       uint64_t n);
double bench_mq_stream(struct bench_side *s, int sys, uint64_t n);

/* report.c */

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
	struct bench_spread pct[NR_PCT];	/* pingpong, oneway: ns */
	struct bench_spread rep_max;	/* the max of each rep */
	struct bench_spread mps;
	double max;			/* over every rep, ns */
	double ratio;			/* p50 / base p50; mps / base mps */
	double ratio_p99;		/* pingpong, oneway */
	uint64_t ahead, missed;		/* oneway: bshared.ow_* */
	double skew_ns, skew_unc_ns;	/* oneway: TSC of cpu B - cpu A */
	double ratio_spsc;		/* mpsc/bcast stream: / pinshm-spsc */
	/* bcast stream, per reader: rate, and sums over the reps. */
	struct bench_spread rd_mps[MAX_READERS];
	uint64_t rd_msgs[MAX_READERS], rd_lost[MAX_READERS];
	uint64_t rd_lapped[MAX_READERS];
	struct bench_spread wr_mps;	/* bcast stream: the writer's rate */
	double wakes_per_msg;		/* pinshm-spsc-sleep, median of reps */
};

/* The targets of the issue, reported, never asserted. */
struct bench_target {
	char what[96];
	double value;
	double want;
	bool at_least;		/* value >= want, else value <= want */
	bool count;		/* a count, not a ratio */
};
#define BENCH_MAX_TARGETS	12

/*
 * Where the hypervisor (or the machine) put the two cores in each rep, told
 * apart by that rep's raw-pingpong p50: two placements when the reps fall
 * in two groups at least BENCH_PLACEMENT_GAP apart (docs/performance.md:
 * "near" and "far"), else one.
 */
#define BENCH_PLACEMENT_GAP	2.0

struct bench_placement {
	unsigned int n;		/* 0 (no raw-pingpong), 1, 2: near, far */
	unsigned int reps[2];	/* reps on each */
	struct bench_spread raw_p50[2];	/* their raw-pingpong p50, ns */
};

void bench_results(const struct bench_opts *o, const struct bshared *sh,
		   const struct bench_clock *clk, const struct bench_run *runs,
		   unsigned int nruns, struct bench_result *res);
unsigned int bench_targets(const struct bench_opts *o,
			   const struct bench_result *res,
			   const struct bench_run *runs, unsigned int nruns,
			   struct bench_target *t);
void bench_placement_of(const struct bench_opts *o, const struct bshared *sh,
			const struct bench_run *runs, unsigned int nruns,
			struct bench_placement *pl);
/* The peers group: say on stderr which columns of its table are missing,
 * and the package that adds each. */
void bench_peers_missing(void);
/* pl: the run's placement, for the peers table (the peers group). */
void bench_print_text(const struct bench_opts *o,
		      const struct bench_clock *clk,
		      const struct bench_noise *nz,
		      const struct bench_result *res, unsigned int nruns,
		      const struct bench_target *t, unsigned int nt,
		      const struct bench_placement *pl);
void bench_print_json(const struct bench_opts *o,
		      const struct bench_clock *clk,
		      const struct bench_noise *nz,
		      const struct bench_result *res, unsigned int nruns,
		      const struct bench_target *t, unsigned int nt,
		      const struct bench_placement *pl);
/* The pingpong percentile curves into o->plot: 0, -EIO (gnuplot
 * failed) or -errno. */
int bench_plot(const struct bench_opts *o, const struct bshared *sh,
	       const struct bench_clock *clk, const struct bench_result *res,
	       unsigned int nruns);

#endif /* PINSHM_BENCH_H */
