/* SPDX-License-Identifier: MIT */
/*
 * The command's helpers as tools/ctl/bench.c uses them, until bench.c moves
 * to tools/bench/ and follows cmd.h: bench.c returns an exit status (and
 * -1 from its option parser for "help printed"), where the rest of the
 * command returns 0 or -errno and leaves the exit status to main().
 */
#ifndef PINSHM_CTL_H
#define PINSHM_CTL_H

#include <errno.h>
#include <stdio.h>

#include "cmd.h"

#define CTL_EXIT_OK	0
#define CTL_EXIT_FAIL	1
#define CTL_EXIT_USAGE	2

/* The helpers that report, returning the exit status as bench.c expects. */
#define ctl_usage_error(...)	(ctl_usage_error(__VA_ARGS__), CTL_EXIT_USAGE)
#define ctl_bad_option(...)	(ctl_bad_option(__VA_ARGS__), CTL_EXIT_USAGE)
#define ctl_fail(...)		(ctl_fail(__VA_ARGS__), CTL_EXIT_FAIL)

/* bench's --help, after the usage line of the command's table. */
static void ctl_bench_help(const struct ctl_cmd *c)
{
	char usage[512];

	printf("usage: %s\n\n%s", ctl_usage(c, usage, sizeof(usage)),
	"Measure the rings beside the hardware limit and kernel IPC, in one run.\n"
	"Two processes, pinned to two cores, share a region of the backend; each\n"
	"measurement is repeated --reps times, interleaved, and reported as the median\n"
	"with the [min-max] spread across repetitions. Nothing is asserted.\n"
	"\n"
	"Patterns (default: pingpong and stream):\n"
	"  pingpong   round trips of --size bytes; latency percentiles from a histogram\n"
	"             of every sample (TSC timestamps, calibrated)\n"
	"  stream     one-way messages as fast as possible: msgs/s and GB/s\n"
	"  mpsc       the MPSC ring: stream with 1 and with 2 producer processes\n"
	"             (pinshm-mpsc, pinshm-mpsc-2p; with only two cores the producers\n"
	"             share the first), ratio to raw-stream and to the SPSC stream of\n"
	"             the same run; pinshm-mpsc-2p-batch32: one claim and one commit\n"
	"             per 32 records, against the batched raw ring and SPSC stream;\n"
	"             pingpong: request via MPSC, reply via SPSC\n"
	"  bcast      the broadcast ring: one writer that never waits, --readers\n"
	"             readers (extra ones share cores when there are too few): msgs/s\n"
	"             delivered to each reader, with lapped and lost counts (lapping\n"
	"             is reported, not an error); pinshm-bcast-keepup: the writer\n"
	"             held back by the bench so that readers keep up, who must lose\n"
	"             nothing (a target with --readers 2 or more); pingpong: request\n"
	"             via bcast, reply via SPSC. JSON patterns mpsc-stream,\n"
	"             mpsc-pingpong, bcast-stream, bcast-pingpong; --vs applies to\n"
	"             pingpong and stream only\n"
	"Always measured, with every result's ratio to it: raw-pingpong (one cache line\n"
	"each way between the two cores) and raw-stream (a plain inline ring). Also\n"
	"raw-ring-pingpong: raw-pingpong's protocol over two rings of one-line slots,\n"
	"each message in the next slot, the floor of any ring that moves one line per\n"
	"message (on some CPUs a fresh line costs more than one bounced back and forth).\n"
	"\n"
	"Options:\n"
	"  -s, --size B       payload bytes, 8..4096 (default 56: header and payload\n"
	"                     fill one cache line)\n"
	"  -n, --count N      samples per pingpong run (default 100000), messages per\n"
	"                     stream run (default 2000000); K, M suffixes\n"
	"  -c, --cpus A,B     the two cores (default: the first two we may run on)\n"
	"  -v, --vs LIST      kernel IPC too, same size and harness: pipe, unix (socketpair),\n"
	"                     tcp (127.0.0.1, TCP_NODELAY), eventfd (payload in shared\n"
	"                     memory), mq (POSIX queues), pinshm-spsc-sleep (the SPSC\n"
	"                     rings with a receiver that sleeps in pinshm_spsc_wait()\n"
	"                     at once instead of spinning, as the kernel's do), or\n"
	"                     all; comma-separated\n"
	"  -r, --reps R       repetitions, 1..64 (default 5)\n"
	"  -R, --readers N    bcast: readers, 1..16 (default 1), one process each\n"
	"  -j, --json         {\"results\": [{system, pattern, size, rtt_ns {p50, p90, p99,\n"
	"                     p999, p9999, max}, rtt_ns_spread, msgs_per_s, ratio_to_raw,\n"
	"                     ...}], tsc, noise, targets}\n"
	"  -p, --plot FILE    draw the pingpong percentile curves into a PNG (gnuplot)\n"
	"  -t, --timeout S    give up after S seconds (default 1800)\n"
	"\n"
	"A progress line goes to stderr when it is a terminal.\n"
	"\n"
	"Examples:\n"
	"  pinshm bench pingpong --vs unix,tcp\n"
	"  pinshm bench --vs all --json --plot latency.png\n"
	"  pinshm bench bcast --readers 2 --count 1M\n");
}
#define ctl_print_help(c)	ctl_bench_help(c)

/* main() calls cmd_bench(); bench.c's function of that name is this one. */
int ctl_bench_exit_status(int argc, char **argv);

/* Its exit status as 0 or -errno (the reason is printed already). */
int cmd_bench(int argc, char **argv)
{
	switch (ctl_bench_exit_status(argc, argv)) {
	case CTL_EXIT_OK:
		return 0;
	case CTL_EXIT_USAGE:
		return -CTL_EUSAGE;
	default:
		return -ECANCELED;
	}
}
#define cmd_bench ctl_bench_exit_status

#endif /* PINSHM_CTL_H */
