// SPDX-License-Identifier: MIT
/*
 * pinshm(1): create, inspect and exercise pinshm regions and rings.
 *
 * This file holds main(), the global options and the list of commands;
 * the commands, each with its table of options and help, live beside it
 * in tools/pinshm/ (see cmd.h).
 *
 * Conventions (DESIGN.md, "The command line"): errors print one line,
 * "pinshm: CONTEXT: MESSAGE", on stderr and exit 1; usage errors print the
 * command's usage line and exit 2; --help exits 0.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "bench.h"

/* The exit status; inside, the commands return 0 or -errno (cmd.h). */
#define CTL_EXIT_OK	0
#define CTL_EXIT_FAIL	1
#define CTL_EXIT_USAGE	2

int ctl_backend = PINSHM_BACKEND_AUTO;

static const struct ctl_opt ctl_main_opts[] = {
	{ "backend", 'b', "auto|kmod|shm", "kmod (pinshm.ko, /dev/pinshm), shm (files under "
	  "/dev/shm) or auto (kmod when /dev/pinshm exists); the environment variable "
	  "PINSHM_BACKEND overrides auto", 0 },
	{ "help", 'h', NULL, "this help; `pinshm COMMAND --help` for a command's",
	  CTL_OPT_NOUSAGE },
	{ "version", 'V', NULL, "print the version", CTL_OPT_NOUSAGE },
	{ NULL },
};

/* The command itself: no name, its options before COMMAND (opts.c). */
static const struct ctl_cmd ctl_main = {
	.args = "COMMAND [ARGS]", .opts = ctl_main_opts,
	.help = "Named shared-memory regions and the rings inside them.\n",
	.notes =
	"Sizes take K, M, G suffixes (powers of 1024). Exit status: 0 success,\n"
	"1 failure (one line on stderr says why), 2 usage error.\n",
	.examples =
	"  pinshm create md --size 64M\n"
	"  pinshm ring add md quotes --type spsc --capacity 1M\n"
	"  pinshm pub md quotes --seq --count 1000000 &\n"
	"  pinshm tail md quotes --check-seq --count 1000000 --quiet\n"
	"  pinshm info md --json\n",
};

static int cmd_help(int argc, char **argv);

static const struct ctl_cmd ctl_cmd_bench = {
	.name = "bench", .run = cmd_bench,
	/* Its options and --help are the bench code's (tools/bench/bench.c). */
	.args = "[pingpong|stream|oneway|bcast|mpsc|peers] [--size B] [--count N] [--cpus A,B] "
		"[--vs LIST] [--reps R] [--readers N] [--capacity B] [--lossless-slots N] "
		"[--interval NS] [--rt] [--json] [--plot FILE.png] [--timeout S]",
	.summary = "benchmark the rings",
};

static const struct ctl_cmd ctl_cmd_help = {
	.name = "help", .run = cmd_help, .args = "[COMMAND]",
	.summary = "this text, or a command's",
	.help = "Show the list of commands, or the help of one command.\n",
	.examples = "  pinshm help pub\n",
};

static const struct ctl_cmd *const ctl_cmds[] = {
	&ctl_cmd_create, &ctl_cmd_ls, &ctl_cmd_info, &ctl_cmd_rm, &ctl_cmd_recover,
	&ctl_cmd_ring, &ctl_cmd_pub, &ctl_cmd_tail, &ctl_cmd_stat, &ctl_cmd_bench,
	&ctl_cmd_metrics, &ctl_cmd_help,
};

#define CTL_NR_CMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

const struct ctl_cmd *ctl_find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < CTL_NR_CMDS; i++)
		if (!strcmp(ctl_cmds[i]->name, name))
			return ctl_cmds[i];
	return NULL;
}

static void ctl_main_help(void)
{
	char usage[256];
	size_t i;

	printf("usage: %s\n\n%s\nCommands:\n", ctl_usage(&ctl_main, usage, sizeof(usage)),
	       ctl_main.help);
	for (i = 0; i < CTL_NR_CMDS; i++)
		ctl_print_summary(ctl_cmds[i]);
	printf("\nGlobal options:\n");
	ctl_print_opts(stdout, ctl_main.opts);
	printf("\n%s\nExamples:\n%s", ctl_main.notes, ctl_main.examples);
}

static int cmd_help(int argc, char **argv)
{
	const struct ctl_cmd *c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		ctl_main_help();
		return 0;
	}
	c = ctl_find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "pinshm help: unknown command '%s'\n", argv[1]);
		return -CTL_EUSAGE;
	}
	if (c->help)
		ctl_print_help(c);
	else	/* a command with a --help of its own */
		return c->run(2, (char *[]){ argv[1], "--help", NULL });
	return 0;
}

/* What the commands return (cmd.h), as the exit status. */
static int ctl_exit_status(int ret)
{
	if (!ret)
		return CTL_EXIT_OK;
	return ret == -CTL_EUSAGE ? CTL_EXIT_USAGE : CTL_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct option lo[CTL_MAX_OPTS + 2];
	char so[3 * CTL_MAX_OPTS + 4];
	const struct ctl_cmd *c;
	int opt, ret;

	opterr = 0;
	ctl_getopt_tables(ctl_main.opts, false, "+", lo, so);
	while ((opt = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		switch (opt) {
		case 'b':
			ret = pinshm_backend_parse(optarg);
			if (ret < 0)
				return ctl_exit_status(ctl_usage_error(&ctl_main,
					"unknown backend '%s' (auto, kmod or shm)", optarg));
			ctl_backend = ret;
			break;
		case 'h':
			ctl_main_help();
			return CTL_EXIT_OK;
		case 'V':
			printf("pinshm %d.%d\n", PINSHM_VERSION_MAJOR, PINSHM_VERSION_MINOR);
			return CTL_EXIT_OK;
		default:
			return ctl_exit_status(ctl_bad_option(&ctl_main, opt, argv));
		}
	}
	if (optind >= argc)
		return ctl_exit_status(ctl_usage_error(&ctl_main, "no command given"));
	c = ctl_find_cmd(argv[optind]);
	if (!c)
		return ctl_exit_status(ctl_usage_error(&ctl_main, "unknown command '%s'",
						       argv[optind]));
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: start over for the command's own options */
	return ctl_exit_status(c->run(argc, argv));
}
