// SPDX-License-Identifier: MIT
/*
 * pinshm(1): create, inspect and exercise pinshm regions and rings.
 *
 * This file holds main(), the global options, the command table and the
 * help texts; the commands live in tools/ctl/ (see ctl.h).
 *
 * Conventions (DESIGN.md, "The command line"): errors print one line,
 * "pinshm: CONTEXT: MESSAGE", on stderr and exit 1; usage errors print the
 * command's usage line and exit 2; --help exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "bench/bench.h"

int ctl_backend = PINSHM_BACKEND_AUTO;

static int cmd_help(int argc, char **argv);

static const struct ctl_cmd ctl_cmds[] = {
	{ "create", cmd_create,
	  "pinshm create NAME --size SIZE [--node N] [--mode OCTAL]",
	  "Create a region NAME with SIZE bytes of data (rounded up to 4 KiB), owned by\n"
	  "you. The region lives until `pinshm rm`, with or without attachers.\n"
	  "\n"
	  "Options:\n"
	  "  -s, --size SIZE    data bytes; K, M, G suffixes (powers of 1024); required\n"
	  "  -n, --node N       NUMA node for the memory (default: any)\n"
	  "  -m, --mode OCTAL   permission bits, as for files (default 0600)\n"
	  "\n"
	  "Examples:\n"
	  "  pinshm create md --size 64M\n"
	  "  pinshm --backend shm create orders --size 2M --mode 0660\n" },
	{ "ls", cmd_ls,
	  "pinshm ls [--json]",
	  "List the regions of the backend, one per line: name, data size, backend,\n"
	  "processes attached (not counting this one), generation (bumped whenever\n"
	  "an attacher dies) and crashes.\n"
	  "\n"
	  "Options:\n"
	  "  -j, --json         print a JSON array of {name, backend, size, attached,\n"
	  "                     generation, crashes}\n"
	  "\n"
	  "Examples:\n"
	  "  pinshm ls\n"
	  "  pinshm ls --json | python3 -m json.tool\n" },
	{ "info", cmd_info,
	  "pinshm info NAME [--json]",
	  "Show a region: size, NUMA node, flags, generation and crashes, the attach\n"
	  "table (every slot ever used: pid, ro/rw, attached/detached/died/exec, exit\n"
	  "code or signal) and its objects (rings and slots with their counters:\n"
	  "messages and bytes in and out, full events, lapped, recoveries of dead\n"
	  "producers' records, corrupt reads).\n"
	  "Dead attachers are detected first (as `pinshm recover` does), so a process\n"
	  "that died shows as died. This command's own attach is not shown.\n"
	  "\n"
	  "Options:\n"
	  "  -j, --json         print one JSON object: name, backend, size, numa_node,\n"
	  "                     contiguous, pinned, generation, crashes, created,\n"
	  "                     attachers[], objects[]\n"
	  "\n"
	  "Examples:\n"
	  "  pinshm info md\n"
	  "  pinshm info md --json\n" },
	{ "rm", cmd_rm,
	  "pinshm rm NAME",
	  "Destroy region NAME: its name goes at once; processes still attached keep\n"
	  "their mapping until they detach.\n"
	  "\n"
	  "Examples:\n"
	  "  pinshm rm md\n" },
	{ "recover", cmd_recover,
	  "pinshm recover NAME",
	  "Look for attachers of NAME whose process is gone and mark them died,\n"
	  "bumping the generation (the kmod backend does this itself at exit; the shm\n"
	  "backend detects deaths by polling). Prints how many were found.\n"
	  "\n"
	  "Examples:\n"
	  "  pinshm recover md\n" },
	{ "ring", cmd_ring,
	  "pinshm ring add NAME RING --type spsc|mpsc|bcast|slot --capacity SIZE [--max-record SIZE]",
	  "Add a ring (or a latest-value slot) called RING to region NAME.\n"
	  "\n"
	  "Types, and what --capacity and --max-record mean for each:\n"
	  "  spsc   one producer, one consumer, variable-length records.\n"
	  "         capacity: ring bytes, a power of two, at least 1K; max record:\n"
	  "         default capacity/4 - 16, with 3 * (max_record + 16) <= capacity\n"
	  "  mpsc   up to 64 producers (ids 0..63), one consumer.\n"
	  "         capacity: ring bytes, a power of two, 1K to 512M; max record:\n"
	  "         default capacity/4 - 8, with max_record + 8 <= capacity / 2\n"
	  "  bcast  one writer, any number of readers at their own pace (the writer\n"
	  "         never waits: a slow reader is lapped and loses records).\n"
	  "         capacity: the number of records kept (slots), a power of two, 2 to\n"
	  "         16M; max record: payload per slot, 1 to 1M - 16, default 48 (one\n"
	  "         64-byte line per record); rounded up to fill 64-byte lines\n"
	  "  slot   the latest value only (a seqlock): one writer, any number of readers.\n"
	  "         capacity: the value size, 1 to 64K; no --max-record\n"
	  "\n"
	  "Options:\n"
	  "  -t, --type TYPE        spsc, mpsc, bcast or slot; required\n"
	  "  -c, --capacity SIZE    see above; K, M, G suffixes; required\n"
	  "  -r, --max-record SIZE  largest payload (spsc, mpsc, bcast)\n"
	  "\n"
	  "Examples:\n"
	  "  pinshm ring add md quotes --type spsc --capacity 1M\n"
	  "  pinshm ring add md big --type spsc --capacity 64K --max-record 16K\n"
	  "  pinshm ring add md orders --type mpsc --capacity 4M\n"
	  "  pinshm ring add md feed --type bcast --capacity 64K\n"
	  "  pinshm ring add md book --type slot --capacity 256\n" },
	{ "pub", cmd_pub,
	  "pinshm pub NAME RING [--count N] [--rate R] [--size B] [--seq] [--id N]",
	  "Take the producer role of RING in region NAME (spsc: the producer; mpsc:\n"
	  "producer id --id; bcast, slot: the writer) and write messages (slot: values).\n"
	  "spsc and mpsc wait while the ring is full; a bcast writer never waits (slow\n"
	  "readers are lapped). SIGINT/SIGTERM: finish the current message, detach,\n"
	  "exit 0. Prints a summary on stderr at the end.\n"
	  "\n"
	  "Options:\n"
	  "  -n, --count N      messages to write (default 1; 0: until interrupted);\n"
	  "                     with --seq: the last sequence number to reach\n"
	  "  -r, --rate R       messages per second (default: as fast as possible)\n"
	  "  -s, --size B       payload bytes (default 64, or the ring's max record or\n"
	  "                     value size if smaller; K suffix allowed)\n"
	  "  -S, --seq          sequence-numbered, self-checking records (see below)\n"
	  "  -i, --id N         producer id written into --seq records (default 0); on\n"
	  "                     an mpsc ring also the producer slot taken (0..63; without\n"
	  "                     --id and --seq, the first free one)\n"
	  "  -q, --quiet        no summary\n"
	  "\n"
	  "With --seq each payload is: u64 sequence number, u32 magic, u32 producer id,\n"
	  "u32 length, u32 0, filler derived from (seq, id), then a trailer {u32 length,\n"
	  "u32 hash of everything before it}; --size must be 32 or more. Sequences\n"
	  "start at 1; a restarted pub finds the last sequence it committed in the ring\n"
	  "(spsc, bcast: the last record; mpsc: the last record of producer id --id;\n"
	  "slot: the current value) and resumes after it, so `pub --seq --count N` run\n"
	  "again after a crash finishes the same job.\n"
	  "\n"
	  "Testing only (to check that `tail --check-seq` catches faults):\n"
	  "  --skip-seq N       never write sequence N (a gap)\n"
	  "  --dup-seq N        write sequence N twice (a duplicate)\n"
	  "  --corrupt-seq N    write sequence N with a bad hash (a torn record)\n"
	  "\n"
	  "Examples:\n"
	  "  pinshm pub md quotes --count 1000 --size 56 --rate 10000\n"
	  "  pinshm pub md quotes --seq --count 1000000\n"
	  "  pinshm pub md orders --seq --id 2 --count 1000000\n" },
	{ "tail", cmd_tail,
	  "pinshm tail NAME RING [--count N] [--check-seq] [--producers K] [--rate R] [--hex] [--quiet]",
	  "Read RING in region NAME and print each record, one line each (seq, id and\n"
	  "length of --seq records; length and type of others). spsc, mpsc: takes the\n"
	  "consumer role, and a restarted tail continues after the last record\n"
	  "released; idle, it sleeps until the producer's next commit. bcast: a reader\n"
	  "(a read-only attach) from the oldest record still in the ring; when the\n"
	  "writer laps it, the records lost are reported on stderr (at most 10 lines a\n"
	  "second) and reading goes on: lapping is not a failure. slot: a reader\n"
	  "(read-only) polling the latest value, one line per new version seen. Runs\n"
	  "until --count is reached or SIGINT/SIGTERM (then exits 0 unless an error\n"
	  "was seen).\n"
	  "\n"
	  "Options:\n"
	  "  -n, --count N      exit after N records (slot: values); with --check-seq,\n"
	  "                     once every producer id 0..K-1 has reached sequence N\n"
	  "  -c, --check-seq    check `pub --seq` records, per producer id: stop and exit 1\n"
	  "                     at the first gap, duplicate, out-of-order or torn record\n"
	  "                     (bad length or hash), printing what it was on stderr.\n"
	  "                     bcast: a gap is fine where records were lost to lapping,\n"
	  "                     and received + lost must account for every sequence;\n"
	  "                     slot: sequences may skip, never repeat or go backwards\n"
	  "  -p, --producers K  producer ids 0..K-1 expected (default 1)\n"
	  "  -r, --rate R       read at most R records per second (a slow consumer)\n"
	  "  -x, --hex          hex dump of each payload\n"
	  "  -q, --quiet        print nothing per record\n"
	  "\n"
	  "A summary (records, last sequence per producer, rate; bcast: laps and\n"
	  "records lost) goes to stderr.\n"
	  "\n"
	  "Examples:\n"
	  "  pinshm tail md quotes\n"
	  "  pinshm tail md quotes --check-seq --count 1000000 --quiet\n"
	  "  pinshm tail md orders --check-seq --producers 3 --count 1000000 --quiet\n"
	  "  pinshm tail md feed --rate 1000\n" },
	{ "stat", cmd_stat,
	  "pinshm stat [NAME] [--interval MS] [--count N] [--json]",
	  "Every interval, print the rates of every ring of region NAME (or of all\n"
	  "regions): messages and bytes in and out per second, backlog (bytes\n"
	  "published but not yet released), full events (producer found the ring\n"
	  "full), producer and consumer pids. Read-only: takes no ring role. bcast and\n"
	  "slot have no backlog (0); a slot's messages in are its writes.\n"
	  "\n"
	  "Options:\n"
	  "  -i, --interval MS  milliseconds between reports (default 1000)\n"
	  "  -n, --count N      stop after N reports (default: until interrupted)\n"
	  "  -j, --json         one JSON object per report and line: {time, interval_s,\n"
	  "                     rings: [{region, ring, type, msgs_in, msgs_out, bytes_in,\n"
	  "                     bytes_out, full_events, lapped, recoveries, corrupt,\n"
	  "                     backlog_bytes, msgs_in_per_s,\n"
	  "                     msgs_out_per_s, bytes_in_per_s, bytes_out_per_s,\n"
	  "                     producer_pid, consumer_pid}]}\n"
	  "\n"
	  "Examples:\n"
	  "  pinshm stat md\n"
	  "  pinshm stat --interval 100 --count 10 --json\n" },
	{ "bench", cmd_bench,
	  "pinshm bench [pingpong|stream|oneway|bcast|mpsc] [--size B] [--count N] [--cpus A,B] [--vs LIST] [--reps R] [--readers N] [--capacity B] [--interval NS] [--rt] [--json] [--plot FILE.png]",
	  bench_help },
	{ "metrics", cmd_metrics,
	  "pinshm metrics load|unload|show",
	  "Load, unload or show the BPF metrics (not supported yet).\n" },
	{ "help", cmd_help,
	  "pinshm help [COMMAND]",
	  "Show the list of commands, or the help of one command.\n"
	  "\n"
	  "Examples:\n"
	  "  pinshm help pub\n" },
};

#define CTL_NR_CMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static const char ctl_main_help[] =
	"usage: pinshm [--backend auto|kmod|shm] COMMAND [ARGS]\n"
	"\n"
	"Named shared-memory regions and the rings inside them.\n"
	"\n"
	"Commands:\n"
	"  create NAME --size SIZE [--node N] [--mode OCTAL]   create a region\n"
	"  ls [--json]                                         list regions\n"
	"  info NAME [--json]                                  show a region, attachers, rings\n"
	"  rm NAME                                             destroy a region\n"
	"  recover NAME                                        find attachers that died\n"
	"  ring add NAME RING --type T --capacity SIZE         add a ring (spsc, mpsc, bcast)\n"
	"                                                      or a slot to a region\n"
	"  pub NAME RING [--count N] [--rate R] [--size B] [--seq] [--id N]\n"
	"                                                      write messages to a ring\n"
	"  tail NAME RING [--count N] [--check-seq] [--producers K] [--rate R] [--hex]\n"
	"                                                      read messages from a ring\n"
	"  stat [NAME] [--interval MS] [--count N] [--json]    ring rates, every interval\n"
	"  bench [PATTERN] [--vs LIST] [--json] [--plot FILE] rings vs raw limit and kernel IPC\n"
	"  metrics load|unload|show                            BPF metrics (not supported yet)\n"
	"  help [COMMAND]                                      this text, or a command's\n"
	"\n"
	"Global options:\n"
	"  -b, --backend B    kmod (pinshm.ko, /dev/pinshm), shm (files under /dev/shm)\n"
	"                     or auto (kmod when /dev/pinshm exists); the environment\n"
	"                     variable PINSHM_BACKEND overrides auto\n"
	"  -h, --help         this help; `pinshm COMMAND --help` for a command's\n"
	"  -V, --version      print the version\n"
	"\n"
	"Sizes take K, M, G suffixes (powers of 1024). Exit status: 0 success,\n"
	"1 failure (one line on stderr says why), 2 usage error.\n"
	"\n"
	"Examples:\n"
	"  pinshm create md --size 64M\n"
	"  pinshm ring add md quotes --type spsc --capacity 1M\n"
	"  pinshm pub md quotes --seq --count 1000000 &\n"
	"  pinshm tail md quotes --check-seq --count 1000000 --quiet\n"
	"  pinshm info md --json\n";

const struct ctl_cmd *ctl_find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < CTL_NR_CMDS; i++)
		if (!strcmp(ctl_cmds[i].name, name))
			return &ctl_cmds[i];
	return NULL;
}

void ctl_print_help(const struct ctl_cmd *c)
{
	printf("usage: %s\n\n%s", c->usage, c->help);
}

int ctl_usage_error(const struct ctl_cmd *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pinshm %s: %s\nusage: %s\n", c->name, msg, c->usage);
	return CTL_EXIT_USAGE;
}

/* getopt_long() returned '?' or ':' (optstring starts with ':'). */
int ctl_bad_option(const struct ctl_cmd *c, int opt, char **argv)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		return ctl_usage_error(c, "option '%s' needs a value", arg);
	if (optopt && (!arg || strncmp(arg, "--", 2)))
		return ctl_usage_error(c, "unknown option '-%c'", optopt);
	return ctl_usage_error(c, "unknown option '%s'", arg);
}

static int cmd_help(int argc, char **argv)
{
	const struct ctl_cmd *c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(ctl_main_help, stdout);
		return CTL_EXIT_OK;
	}
	c = ctl_find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "pinshm help: unknown command '%s'\n", argv[1]);
		return CTL_EXIT_USAGE;
	}
	ctl_print_help(c);
	return CTL_EXIT_OK;
}

static int ctl_not_yet(const char *cmd, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			ctl_print_help(ctl_find_cmd(cmd));
			return CTL_EXIT_OK;
		}
	}
	ctl_errorf("%s: not supported yet", cmd);
	return CTL_EXIT_FAIL;
}

int cmd_metrics(int argc, char **argv)
{
	return ctl_not_yet("metrics", argc, argv);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c;
	int opt, ret;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:b:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			ret = pinshm_backend_parse(optarg);
			if (ret < 0) {
				fprintf(stderr, "pinshm: unknown backend '%s' (auto, kmod or shm)\n"
					"usage: pinshm [--backend auto|kmod|shm] COMMAND [ARGS]\n",
					optarg);
				return CTL_EXIT_USAGE;
			}
			ctl_backend = ret;
			break;
		case 'h':
			fputs(ctl_main_help, stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("pinshm %d.%d\n", PINSHM_VERSION_MAJOR, PINSHM_VERSION_MINOR);
			return CTL_EXIT_OK;
		case ':':
			fprintf(stderr, "pinshm: option '%s' needs a value\n"
				"usage: pinshm [--backend auto|kmod|shm] COMMAND [ARGS]\n",
				argv[optind - 1]);
			return CTL_EXIT_USAGE;
		default:
			fprintf(stderr, "pinshm: unknown option '%s'\n"
				"usage: pinshm [--backend auto|kmod|shm] COMMAND [ARGS]\n",
				argv[optind - 1]);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs("pinshm: no command given\n"
		      "usage: pinshm [--backend auto|kmod|shm] COMMAND [ARGS]  (pinshm --help)\n",
		      stderr);
		return CTL_EXIT_USAGE;
	}
	c = ctl_find_cmd(argv[optind]);
	if (!c) {
		fprintf(stderr, "pinshm: unknown command '%s'\n"
			"usage: pinshm [--backend auto|kmod|shm] COMMAND [ARGS]  (pinshm --help)\n",
			argv[optind]);
		return CTL_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: start over for the command's own options */
	ret = c->run(argc, argv);
	/* bench returns 0 / -errno (-EINVAL: usage); the others an exit code. */
	return ret == -EINVAL ? CTL_EXIT_USAGE : ret < 0 ? CTL_EXIT_FAIL : ret;
}
