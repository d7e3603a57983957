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
 *   oneway    A sends a message every --interval ns, stamped with its TSC;
 *             B times now - stamp into the histogram (the TSC offset
 *             between the cores, measured first, is reported with it).
 *     raw-oneway     one raw line holding stamp and number (raw.h): the
 *                    floor; messages B was late for are counted, not
 *                    sampled.
 *     pinshm-spsc    one SPSC ring, A->B.
 *   --vs, with the same message size and the same harness:
 *     pipe     two pipes (pingpong), one (stream)
 *     unix     socketpair(AF_UNIX, SOCK_STREAM)
 *     tcp      127.0.0.1, TCP_NODELAY, ephemeral port, 10 s socket timeouts
 *     eventfd  notification only: the payload goes through shared memory
 *              (pingpong: one buffer each way; stream: an inline ring, one
 *              eventfd write per message, the consumer drains per wakeup)
 *     mq       POSIX message queues (unlinked at once: nothing to clean)
 *     ck, rte  other libraries' rings (sys_peers.c), when built in
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
 * The parts: bench.h. This file holds the options, the help text, the
 * command, and what one process runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "cmd.h"

/* --help, after the usage line of pinshm(1)'s command table. */
static const char bench_help[] =
	"Measure the rings beside the hardware limit and kernel IPC, in one run.\n"
	"Two processes, pinned to two cores, share a region of the backend; each\n"
	"measurement is repeated --reps times, interleaved, and reported as the median\n"
	"with the [min-max] spread across repetitions. Nothing is asserted.\n"
	"\n"
	"Patterns (default: pingpong, stream, and oneway when --size is 16 or more):\n"
	"  pingpong   round trips of --size bytes; latency percentiles from a histogram\n"
	"             of every sample (TSC timestamps, calibrated)\n"
	"  stream     one-way messages as fast as possible: msgs/s and GB/s;\n"
	"             pinshm-spsc-backoff: a consumer that, finding nothing, waits\n"
	"             PINSHM_WAIT_BACKOFF's 128 pauses, not one, before it looks again\n"
	"  oneway     one message every --interval ns, stamped with the sender's TSC;\n"
	"             the receiver's TSC minus the stamp, percentiles as for pingpong:\n"
	"             pinshm-spsc against raw-oneway (one cache line holding the\n"
	"             stamp); the TSC offset between the two cores is reported\n"
	"  mpsc       the MPSC ring: stream with 1 and with 2 producer processes\n"
	"             (pinshm-mpsc, pinshm-mpsc-2p; with only two cores the producers\n"
	"             share the first), ratio to raw-stream and to the SPSC stream of\n"
	"             the same run; pinshm-mpsc-2p-batch32: one claim and one commit\n"
	"             per 32 records, against the batched raw ring and SPSC stream;\n"
	"             pingpong: request via MPSC, reply via SPSC; the fan-in ring\n"
	"             (a lane per producer) the same way: pinshm-fanin, -fanin-2p,\n"
	"             -fanin-2p-batch32 (stream only)\n"
	"  bcast      the broadcast ring: one writer that never waits, --readers\n"
	"             readers (extra ones share cores when there are too few): msgs/s\n"
	"             delivered to each reader, with lapped and lost counts (lapping\n"
	"             is reported, not an error); pinshm-bcast-keepup: the writer\n"
	"             held back by the bench so that readers keep up, who must lose\n"
	"             nothing (a target with --readers 2 or more);\n"
	"             pinshm-bcast-lossless: the writer held by the library at its\n"
	"             slowest registered reader, its readers taking one record at a\n"
	"             time (-poll32: up to 32 per release; -backoff: backing off as\n"
	"             pinshm-spsc-backoff's consumer does); pingpong: request\n"
	"             via bcast, reply via SPSC. JSON patterns mpsc-stream,\n"
	"             mpsc-pingpong, bcast-stream, bcast-pingpong; --vs applies to\n"
	"             pingpong and stream only (mpsc: the rte many-producer peers)\n"
	"  peers      pinshm against the peers built in (--vs ck,rte implied) in\n"
	"             one run: pingpong, stream, stream batch 32 and mpsc's streams\n"
	"             from one producer and from two (no rte-mp-2p unless named),\n"
	"             then their table: a row per shape, a column per library\n"
	"             (pinshm's names its ring: spsc, mpsc, fanin), each figure the\n"
	"             median [min-max] with its ratio to the row's first pinshm\n"
	"             one, round trips also over raw-pingpong; its head counts the\n"
	"             reps on each placement of the two cores (near, far: told\n"
	"             apart by raw-pingpong); a column not built in names the\n"
	"             package that adds it\n"
	"Always measured, with every result's ratio to it: raw-pingpong (one cache line\n"
	"each way between the two cores) and raw-stream (a plain inline ring). Also\n"
	"raw-ring-pingpong: raw-pingpong's protocol over two rings of one-line slots,\n"
	"each message in the next slot, the floor of any ring that moves one line per\n"
	"message (on some CPUs a fresh line costs more than one bounced back and forth).\n"
	"\n"
	"Options:\n"
	"  -s, --size B       payload bytes, 8..4096 (default 56: header and payload\n"
	"                     fill one cache line)\n"
	"  -n, --count N      samples per pingpong and oneway run (default 100000),\n"
	"                     messages per stream run (default 2000000); K, M suffixes\n"
	"  -c, --cpus A,B     the two cores (default: the first two we may run on)\n"
	"  -v, --vs LIST      kernel IPC too, same size and harness: pipe, unix (socketpair),\n"
	"                     tcp (127.0.0.1, TCP_NODELAY), eventfd (payload in shared\n"
	"                     memory), mq (POSIX queues), pinshm-spsc-sleep (the SPSC\n"
	"                     rings with a receiver that sleeps in pinshm_spsc_wait()\n"
	"                     at once instead of spinning, as the kernel's do); peers,\n"
	"                     when built in (libck-dev, libdpdk-dev): ck (ck-spsc,\n"
	"                     Concurrency Kit's ck_ring), rte (rte-spsc,\n"
	"                     rte-spsc-burst32; with mpsc: rte-mp, rte-rts, rte-hts\n"
	"                     and their -2p rows: DPDK's rte_ring), each moving the\n"
	"                     payload through its ring in the same region; or all;\n"
	"                     comma-separated (rte-mp-2p only when named: its two\n"
	"                     producers stall each other when they share a core)\n"
	"  -r, --reps R       repetitions, 1..64 (default 5)\n"
	"  -R, --readers N    bcast: readers, 1..16 (default 1), one process each\n"
	"  -j, --json         {\"results\": [{system, pattern, size, rtt_ns {p50, p90, p99,\n"
	"                     p999, p9999, max}, rtt_ns_spread, msgs_per_s, ratio_to_raw,\n"
	"                     ...}], tsc, noise, targets}; oneway rows have oneway_ns\n"
	"                     and oneway_ns_spread (rtt_ns is null); peers adds\n"
	"                     \"peers\": {placement, not_built_in, rows: [{shape,\n"
	"                     reference, pinshm, ck_ring, rte_ring}]}\n"
	"  -p, --plot FILE    draw the pingpong percentile curves into a PNG (gnuplot)\n"
	"  -t, --timeout S    give up after S seconds (default 1800)\n"
	"  -C, --capacity B   ring bytes, a power of two, 4K..256M (default 64K, more\n"
	"                     for large --size: 8 records)\n"
	"  -L, --lossless-slots N\n"
	"                     bcast: slots of the lossless ring, a power of two,\n"
	"                     64..16M, at most 256 MiB in all (default 8192)\n"
	"  -i, --interval NS  oneway: nanoseconds between messages (default 2000)\n"
	"      --rt           sides A and B SCHED_FIFO (root): other work on the two\n"
	"                     CPUs waits, except for the kernel's RT throttling\n"
	"\n"
	"A progress line goes to stderr when it is a terminal.\n"
	"\n"
	"Examples:\n"
	"  pinshm bench pingpong --vs unix,tcp\n"
	"  pinshm bench peers --size 64\n"
	"  pinshm bench --vs ck,rte; pinshm bench mpsc --vs rte\n"
	"  pinshm bench --vs all --json --plot latency.png\n"
	"  pinshm bench bcast --readers 2 --count 1M\n";

/* ---------------------------------------------------------------- */
/* Options                                                           */
/* ---------------------------------------------------------------- */

/*
 * Can the plot be written to path? Tried now, not after the whole run: a
 * file we create is removed again, an existing one is opened and left as
 * it is. 0 or -errno.
 */
static int plot_writable(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

	if (fd >= 0) {
		close(fd);
		unlink(path);
		return 0;
	}
	if (errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
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
		{ "capacity", required_argument, NULL, 'C' },
		{ "lossless-slots", required_argument, NULL, 'L' },
		{ "interval", required_argument, NULL, 'i' },
		{ "rt", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, allowed[CPU_SETSIZE], n, i, k, extra[CPU_SETSIZE], nextra, ret;
	bool have_cpus = false, have_readers = false, have_ll_slots = false;
	bool ok0, ok1;
	uint64_t v;
	long l;
	char bad[64];
	unsigned int vs_asked = 0;
	const struct ctl_cmd *c = ctl_find_cmd("bench");

	memset(o, 0, sizeof(*o));
	o->size = 56;
	o->count[PAT_PINGPONG] = 100000;
	o->count[PAT_STREAM] = 2000000;
	o->count[PAT_ONEWAY] = 100000;
	o->interval_ns = BENCH_INTERVAL_NS;
	o->reps = 5;
	o->timeout_s = 1800;
	o->readers = 1;
	o->ll_slots = BENCH_BCAST_LL_SLOTS;
	o->vs = bench_group_vs(GRP_SPSC);
	while ((opt = getopt_long(argc, argv, ":s:n:c:v:r:jp:t:R:C:L:i:h", opts,
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
			for (k = 0; k < NR_PAT; k++)
				o->count[k] = v;
			break;
		case 'c':
			if (bench_parse_cpus(optarg, o->cpus))
				return ctl_usage_error(c, "bad --cpus '%s' (two different CPUs: A,B)",
						       optarg);
			have_cpus = true;
			break;
		case 'v':
			ret = bench_parse_vs(optarg, &vs_asked, bad, sizeof(bad));
			if (ret == -ENOPKG) {
				ctl_errorf("bench: --vs %s: not built in: install %s (apt-get install -y %s, "
					   "or scripts/deps.sh build as root), then make",
					   optarg, bad, bad);
				return ret;
			}
			if (ret)
				return ctl_usage_error(c, "unknown system '%s' in --vs (pipe, unix, tcp, eventfd, mq, "
						       "pinshm-spsc-sleep, ck, rte, all)",
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
		case 'C':
			if (ctl_parse_size(optarg, &v) || v < 4096 ||
			    v > BENCH_MAX_CAPACITY || (v & (v - 1)))
				return ctl_usage_error(c, "bad --capacity '%s' (ring bytes, a power of two, 4K..256M)",
						       optarg);
			o->capacity = v;
			o->capacity_given = true;
			break;
		case 'L':
			if (ctl_parse_size(optarg, &v) || v < 64 ||
			    v > PINSHM_BCAST_MAX_SLOTS || (v & (v - 1)))
				return ctl_usage_error(c, "bad --lossless-slots '%s' (a power of two, 64..16M)",
						       optarg);
			o->ll_slots = (unsigned int)v;
			have_ll_slots = true;
			break;
		case 'i':
			if (ctl_parse_int(optarg, 1, 1000000000, &l))
				return ctl_usage_error(c, "bad --interval '%s' (nanoseconds, 1..1000000000)",
						       optarg);
			o->interval_ns = (unsigned int)l;
			break;
		case 'F':
			o->rt = true;
			break;
		case 'h':
			o->help = true;
			return 0;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	if (argc - optind > 1)
		return ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc) {
		const char *p = argv[optind];

		for (k = 0; k < NR_PAT; k++)
			if (!strcmp(p, bench_pat_names[k]))
				break;
		if (k < NR_PAT) {
			o->pat[k] = true;
		} else if (!strcmp(p, "bcast") || !strcmp(p, "mpsc") ||
			   !strcmp(p, "peers")) {
			/* The ring's pingpong and stream, beside the raw
			 * baselines and the SPSC ring; no kernel IPC.
			 * peers: the rows of its table, and the peers. */
			o->group = p[0] == 'b' ? GRP_BCAST :
				   p[0] == 'm' ? GRP_MPSC : GRP_PEERS;
			o->pat[PAT_PINGPONG] = o->pat[PAT_STREAM] = true;
		} else {
			return ctl_usage_error(c, "unknown pattern '%s' (pingpong, stream, oneway, bcast, mpsc, peers)",
					       p);
		}
	} else {
		/* oneway's payload holds a sequence number and a stamp. */
		o->pat[PAT_PINGPONG] = o->pat[PAT_STREAM] = true;
		o->pat[PAT_ONEWAY] = o->size >= 16;
	}
	/* The group's systems, and those of --vs that run in it. */
	o->vs = bench_group_vs(o->group) | bench_vs_in_group(vs_asked, o->group);
	if (o->pat[PAT_ONEWAY] && o->size < 16)
		return ctl_usage_error(c, "the oneway pattern needs --size 16 or more (a sequence number and a stamp)");
	/* Rings big enough for 8 records of the largest size. */
	if (!o->capacity_given)
		for (o->capacity = BENCH_CAPACITY;
		     o->capacity < 8 * (o->size + 16ULL); o->capacity *= 2)
			;
	else if (o->capacity < 8 * (o->size + 16ULL))
		return ctl_usage_error(c, "--capacity %llu is too small for --size %u (8 records of size + 16)",
				       (unsigned long long)o->capacity, o->size);
	if (have_readers && o->group != GRP_BCAST)
		return ctl_usage_error(c, "--readers is for the bcast pattern");
	if (have_ll_slots && o->group != GRP_BCAST)
		return ctl_usage_error(c, "--lossless-slots is for the bcast pattern");
	if (o->ll_slots * __pinshm_bcast_slot_size(o->size) >
	    BENCH_MAX_CAPACITY)
		return ctl_usage_error(c, "--lossless-slots %u of %llu bytes is over 256M",
				       o->ll_slots,
				       (unsigned long long)__pinshm_bcast_slot_size(o->size));
	if (o->plot && !o->pat[PAT_PINGPONG])
		return ctl_usage_error(c, "--plot draws latency: it needs the pingpong pattern");
	if (o->plot && !bench_have_gnuplot()) {
		ctl_errorf("bench: --plot: gnuplot not found (apt-get install gnuplot-nox)");
		return -ENOENT;
	}
	if (o->plot) {
		int ret = plot_writable(o->plot);

		if (ret) {
			ctl_errorf("bench: --plot %s: %s", o->plot, strerror(-ret));
			return ret;
		}
	}

	n = bench_allowed_cpus(allowed, CPU_SETSIZE);
	if (n < 0) {
		ctl_errorf("bench: sched_getaffinity: %s", strerror(-n));
		return n;
	}
	if (!have_cpus) {
		if (n < 2) {
			ctl_errorf("bench: need two CPUs to run on, have %d", n);
			return -ENODEV;
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
		return -ENODEV;
	}

	/* Processes and their CPUs: A, B on --cpus; extras on other allowed
	 * CPUs while there are any, else sharing (and the output says so). */
	for (i = 0, nextra = 0; i < n; i++)
		if (allowed[i] != o->cpus[0] && allowed[i] != o->cpus[1])
			extra[nextra++] = allowed[i];
	o->side_cpu[0] = o->cpus[0];
	o->side_cpu[1] = o->cpus[1];
	o->nsides = 2;
	if (bench_group_mpsc(o->group)) {
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
/* One process: side A, B, or an extra one                           */
/* ---------------------------------------------------------------- */

/* Does side id take part in this run? (Extra sides sit most out.) */
static bool side_in_run(const struct bench_side *s, const struct bench_run *run)
{
	return s->id < 2 || (bench_systems[run->sys].all_sides &&
			     run->pat == PAT_STREAM);
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

	if (!bench_systems[run->sys].sleep)
		return;
	w = &s->sh->wakes[i][rep][s->id];
	*w = PINSHM_READ_ONCE(s->rx.sh->waitq.seq) - *w;
}

/* The harness runs this in each process, pinned to its CPU. */
static void side_run(struct harness *h, int id, void *arg)
{
	struct bench_side *s = arg;
	const struct bench_opts *o = s->o;
	struct bshared *sh = s->sh;
	unsigned int rep, i;
	bool a = id == 0;

	s->id = id;
	s->h = h;
	bench_side_attach(s);
	if (o->pat[PAT_ONEWAY]) {
		/* One-way figures compare two cores' TSCs: measure how far
		 * apart they are (sides A and B only: the SPSC group). */
		harness_sync(h, id);
		if (a)
			bench_skew_initiator(&s->scr->pp, BENCH_SKEW_PROBES,
					     &sh->skew, &sh->skew_unc);
		else
			bench_skew_responder(&s->scr->pp, BENCH_SKEW_PROBES);
	}
	for (rep = 0; rep < o->reps; rep++) {
		for (i = 0; i < s->nruns; i++) {
			const struct bench_run *run = &s->runs[i];
			const struct bench_system *y = &bench_systems[run->sys];
			uint64_t n = o->count[run->pat];

			s->run = i;
			s->rep = rep;
			if (a && y->keepup)
				/* Readers write theirs after the sync. */
				memset(sh->bc_pos, 0, sizeof(sh->bc_pos));
			harness_sync(h, id);
			if (y->bcast) {
				/* Readers start at the next record: past what
				 * earlier runs left (the writer is idle). */
				if (id)
					pinshm_bcast_seek(y->lossless ? &s->blr :
							  &s->br,
							  PINSHM_BCAST_NEXT);
				harness_sync(h, id);
			}
			if (a) {
				PINSHM_WRITE_ONCE(sh->prog_rep, rep);
				PINSHM_WRITE_ONCE(sh->prog_run, i);
			}
			if (!side_in_run(s, run))
				continue;
			if (y->sleep)	/* we receive on rx */
				sh->wakes[i][rep][id] =
					PINSHM_READ_ONCE(s->rx.sh->waitq.seq);
			if (bench_pat_latency(run->pat)) {
				bool ow = run->pat == PAT_ONEWAY;
				uint64_t t0 = bench_now(), t1;

				(ow ? y->oneway : y->pingpong)(s, run->sys,
							       warm_of(n), n);
				t1 = bench_now();
				wakes_done(s, run, i, rep);
				/* The side that timed it: A, oneway's B. */
				if (id != (ow ? 1 : 0))
					continue;
				bench_hist_summary(&sh->cur, &s->clk,
						   &sh->lat[i][rep]);
				bench_hist_merge(&sh->all[i], &sh->cur);
				bench_hist_reset(&sh->cur);
				/* Round trips (oneway: messages) per second,
				 * warm-up included. */
				sh->mps[i][rep] = bench_rate(s, n + warm_of(n) + 1,
							     t0, t1);
			} else {
				double mps = y->stream(s, run->sys, n);

				wakes_done(s, run, i, rep);
				/* The receiver's rate; bcast: the writer's
				 * (the readers keep theirs per reader). */
				if (id == (y->bcast ? 0 : 1))
					sh->mps[i][rep] = mps;
			}
		}
	}
	harness_sync(h, id);
	bench_side_detach(s);
}

/* ---------------------------------------------------------------- */
/* The command                                                       */
/* ---------------------------------------------------------------- */

struct progress {
	const struct bench_opts *o;
	const struct bshared *sh;
	const struct bench_run *runs;
	unsigned int nruns;
	uint64_t t_start;
	bool shown;
};

/* A progress line on stderr, while the sides run (a terminal only). */
static void progress(void *arg)
{
	struct progress *p = arg;
	unsigned int run = PINSHM_READ_ONCE(p->sh->prog_run);
	unsigned int rep = PINSHM_READ_ONCE(p->sh->prog_rep);
	unsigned int done = rep * p->nruns + run;

	if (run >= p->nruns)
		return;
	fprintf(stderr, "\rpinshm bench: rep %u/%u, %s %s (%u%%), %.0f s\033[K",
		rep + 1, p->o->reps, bench_pat_names[p->runs[run].pat],
		bench_sys_json_name(&p->runs[run]),
		100 * done / (p->o->reps * p->nruns),
		(double)(bench_mono_ns() - p->t_start) / 1e9);
	p->shown = true;
}

/*
 * The sides' processes, from fork to reaping: 0, or -errno after saying
 * why on stderr. Adds up what they cost the two measured CPUs into *nz.
 */
static int run_sides(struct harness *h, struct bench_side *s,
		     struct progress *p, struct bench_noise *nz)
{
	const struct bench_opts *o = s->o;
	struct bench_cpustat cs0[2], cs1[2];
	double ours_us[2] = { 0, 0 };
	unsigned int i;
	char why[256];
	int ret, wret;

	for (i = 0; i < o->nsides; i++) {
		h->proc[i].cpu = o->side_cpu[i];
		h->proc[i].rt = o->rt && i < 2;	/* the measured pair */
	}
	for (i = 0; i < 2; i++)
		bench_cpustat_read(o->cpus[i], &cs0[i]);
	p->t_start = bench_mono_ns();
	ret = harness_start(h, side_run, s);
	if (ret)
		ctl_errorf("bench: fork: %s", strerror(-ret));
	wret = harness_wait(h, &ctl_stop, p->t_start +
			    (uint64_t)o->timeout_s * 1000000000ULL,
			    isatty(2) ? progress : NULL, p);
	if (p->shown)
		fprintf(stderr, "\r\033[K");
	if (!ret && wret == -EIO)
		ctl_errorf("bench: side %c: %s", 'A' + h->failed,
			   harness_why(h, h->failed, why, sizeof(why)));
	else if (!ret && wret)
		ctl_errorf("bench: %s", wret == -EINTR ? "interrupted" :
			   "timed out (--timeout)");
	for (i = 0; i < o->nsides; i++) {
		/* Our time on each of the two CPUs: the sides there. */
		int c = o->side_cpu[i] == o->cpus[0] ? 0 :
			o->side_cpu[i] == o->cpus[1] ? 1 : -1;

		if (c < 0)
			continue;
		ours_us[c] += h->proc[i].cpu_us;
		nz->nivcsw[c] += h->proc[i].nivcsw;
	}
	for (i = 0; i < 2; i++) {
		bench_cpustat_read(o->cpus[i], &cs1[i]);
		bench_cpustat_noise(&cs0[i], &cs1[i], ours_us[i],
				    &nz->other_pct[i], &nz->steal_pct[i]);
	}
	return ret ? ret : wret;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_run runs[MAX_RUNS];
	struct bench_result res[MAX_RUNS];
	struct bench_target tg[BENCH_MAX_TARGETS] = { 0 };
	struct bench_placement pl, *ppl = NULL;
	struct pinshm_region_opts ro;
	struct pinshm_region *r = NULL;
	char region[PINSHM_NAME_MAX];
	struct progress prog = { 0 };
	struct bench_noise nz;
	struct bench_opts o;
	struct bench_clock clk;
	struct bench_fds k;
	struct bench_side *s;
	struct bshared *sh;
	struct harness h;
	uint64_t cap, scratch, need, peers_off;
	unsigned int nruns, nt, i;
	char why[256];
	void *scr;
	int ret, err, backend;

	ret = parse_opts(argc, argv, &o);
	if (ret)
		return ret;
	if (o.help) {
		ctl_print_help(ctl_find_cmd("bench"));	/* the usage line */
		printf("\n%s", bench_help);
		return 0;
	}
	nruns = bench_plan(&o, runs);
	if (o.group == GRP_PEERS)
		bench_peers_missing();

	ctl_install_signals();
	bench_clock_init(&clk, 100);
	ret = harness_init(&h, o.nsides);
	if (ret) {
		ctl_errorf("bench: mmap: %s", strerror(-ret));
		return ret;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || s == MAP_FAILED) {
		ret = -errno;
		ctl_errorf("bench: mmap: %s", strerror(-ret));
		goto out_unmap;
	}
	bench_hist_reset(&sh->cur);
	for (i = 0; i < nruns; i++)
		bench_hist_reset(&sh->all[i]);
	sh->prog_run = UINT32_MAX;

	cap = o.capacity;
	s->o = &o;
	s->sh = sh;
	s->clk = clk;
	s->runs = runs;
	s->nruns = nruns;
	s->k = &k;
	s->region = region;
	s->shape = bench_raw_shape_of(o.size, cap);
	s->interval = bench_ns_to_ticks(&clk, o.interval_ns);
	scratch = bench_scratch_bytes(&o, &s->shape, &peers_off);
	/* Directory, two rings (header + buffer, page-rounded), scratch. */
	need = 8192 + 2 * (PINSHM_SPSC_HDR_SIZE + cap + 4096) + scratch +
	       65536;
	if (bench_group_mpsc(o.group))	/* the MPSC ring, the 2-lane fan-in ring */
		need += PINSHM_MPSC_HDR_SIZE + cap + 4096 +
			PINSHM_FANIN_HDR_SIZE + 2 * (PINSHM_SPSC_HDR_SIZE + cap) + 4096;
	if (o.group == GRP_BCAST)
		need += 2 * 65536 + (BENCH_BCAST_SLOTS + (uint64_t)o.ll_slots) *
			__pinshm_bcast_slot_size(o.size);
	need = (need + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);

	bench_fds_init(&k);
	ret = bench_fds_open(&k, o.vs, o.size, why, sizeof(why));
	if (ret) {
		ctl_errorf("bench: --vs %s", why);
		goto out_fds;
	}

	snprintf(region, sizeof(region), "pinshm-bench-%d", (int)getpid());
	pinshm_region_opts_init(&ro);
	ro.size = need;
	ro.backend = ctl_backend;
	ret = pinshm_region_create(region, &ro, &r);
	if (ret) {
		ctl_errorf("bench: create region %s: %s", region,
			   ctl_strerror(ret, CTL_CREATE));
		goto out_fds;
	}
	backend = pinshm_region_backend(r);
	o.backend = backend;	/* the children open what we created */
	ret = pinshm_spsc_create(r, "ab", cap, 0);
	if (!ret)
		ret = pinshm_spsc_create(r, "ba", cap, 0);
	if (!ret && bench_group_mpsc(o.group))
		ret = pinshm_mpsc_create(r, "mp", cap, 0);
	if (!ret && bench_group_mpsc(o.group))
		ret = pinshm_fanin_create(r, "fi", 2, cap, 0);
	if (!ret && o.group == GRP_BCAST)
		ret = pinshm_bcast_create(r, "bc", BENCH_BCAST_SLOTS, o.size);
	if (!ret && o.group == GRP_BCAST)
		ret = pinshm_bcast_create_flags(r, "bcl", o.ll_slots,
						o.size, PINSHM_BCAST_LOSSLESS);
	if (!ret)
		ret = bench_region_scratch(r, scratch, &scr);
	if (!ret)
		ret = bench_peers_init(&o, (uint8_t *)scr + peers_off);
	if (ret) {
		ctl_errorf("bench: set up region %s: %s", region,
			   ctl_strerror(ret, CTL_OBJ_CREATE));
		goto out_destroy;
	}

	memset(&nz, 0, sizeof(nz));
	prog.o = &o;
	prog.sh = sh;
	prog.runs = runs;
	prog.nruns = nruns;
	ret = run_sides(&h, s, &prog, &nz);
	if (ret)
		goto out_destroy;
	bench_results(&o, sh, &clk, runs, nruns, res);
	nt = bench_targets(&o, res, runs, nruns, tg);
	if (o.group == GRP_PEERS) {	/* and its table */
		bench_placement_of(&o, sh, runs, nruns, &pl);
		ppl = &pl;
	}
	if (o.json)
		bench_print_json(&o, &clk, &nz, res, nruns, tg, nt, ppl);
	else
		bench_print_text(&o, &clk, &nz, res, nruns, tg, nt, ppl);
	if (o.plot) {
		ret = bench_plot(&o, sh, &clk, res, nruns);
		if (ret)
			ctl_errorf("bench: --plot %s: %s", o.plot,
				   ret == -EIO ? "gnuplot failed" :
				   strerror(-ret));
		else if (!o.json)
			printf("\nplot: %s\n", o.plot);
	}

out_destroy:
	err = pinshm_region_destroy(region, backend);
	if (err)
		ctl_warnf("bench: destroy region %s: %s", region,
			  ctl_strerror(err, CTL_REGION));
	pinshm_region_close(r);
out_fds:
	bench_fds_close(&k);
out_unmap:
	if (s != MAP_FAILED)
		munmap(s, sizeof(*s));
	if (sh != MAP_FAILED)
		munmap(sh, sizeof(*sh));
	harness_free(&h);
	return ret;
}
