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

#include "cmd.h"

#define CTL_EXIT_OK	0
#define CTL_EXIT_FAIL	1
#define CTL_EXIT_USAGE	2

/* The helpers that report, returning the exit status as bench.c expects. */
#define ctl_usage_error(...)	(ctl_usage_error(__VA_ARGS__), CTL_EXIT_USAGE)
#define ctl_bad_option(...)	(ctl_bad_option(__VA_ARGS__), CTL_EXIT_USAGE)
#define ctl_fail(...)		(ctl_fail(__VA_ARGS__), CTL_EXIT_FAIL)

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
