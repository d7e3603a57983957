/* SPDX-License-Identifier: MIT */
/*
 * pinshm(1): shared declarations of the command's parts.
 *
 *   tools/pinshmctl.c      main, global options, dispatch, help texts
 *   tools/ctl/util.c       errors, number/size parsing, signals, clocks
 *   tools/ctl/region.c     create, ls, info, rm, recover, stat
 *   tools/ctl/ring.c       ring add, pub, tail (and the --seq record format)
 */
#ifndef PINSHM_CTL_H
#define PINSHM_CTL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <pinshm.h>

/* Exit codes: 0 success, 1 failure, 2 usage. */
#define CTL_EXIT_OK	0
#define CTL_EXIT_FAIL	1
#define CTL_EXIT_USAGE	2

/* What an errno is about, to pick the message that explains it. */
enum ctl_what {
	CTL_CREATE,	/* creating a region */
	CTL_REGION,	/* opening, destroying, reading a region */
	CTL_OBJ_CREATE,	/* adding a ring or slot to a region */
	CTL_OBJECT,	/* finding or reading a ring or slot */
	CTL_ROLE,	/* taking a ring's producer/consumer role */
};

struct ctl_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;	/* one line, after "usage: " */
	const char *help;	/* the rest of --help */
};

/* Global options (before the command). */
extern int ctl_backend;			/* PINSHM_BACKEND_* */
extern volatile sig_atomic_t ctl_stop;	/* SIGINT/SIGTERM seen */

/* pinshmctl.c */
const struct ctl_cmd *ctl_find_cmd(const char *name);
void ctl_print_help(const struct ctl_cmd *c);
int ctl_usage_error(const struct ctl_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Parse a subcommand's options: common getopt loop helpers. */
int ctl_bad_option(const struct ctl_cmd *c, int opt, char **argv);

/* util.c */
const char *ctl_strerror(int err, enum ctl_what what);
int ctl_fail(const char *ctx, int err, enum ctl_what what);
void ctl_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_parse_u64(const char *s, uint64_t *out);
int ctl_parse_size(const char *s, uint64_t *out);
int ctl_parse_double(const char *s, double *out);
int ctl_parse_octal(const char *s, unsigned int *out);
int ctl_parse_int(const char *s, long min, long max, long *out);
char *ctl_fmt_size(uint64_t v, char *buf, size_t len);
char *ctl_fmt_rate(double v, char *buf, size_t len);
char *ctl_fmt_time(uint64_t realtime_ns, char *buf, size_t len);
uint64_t ctl_now_ns(void);
void ctl_install_signals(void);
int ctl_open_region(const char *name, int access, struct pinshm_region **out);
bool ctl_is_power_of_two(uint64_t v);
const char *ctl_name_rule(void);
const char *ctl_obj_name_rule(void);

/* region.c */
int cmd_create(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_stat(int argc, char **argv);

/* ring.c */
int cmd_ring(int argc, char **argv);
int cmd_pub(int argc, char **argv);
int cmd_tail(int argc, char **argv);

/* pinshmctl.c: commands of the contract not built yet */
int cmd_bench(int argc, char **argv);
int cmd_metrics(int argc, char **argv);

/* bench.c (declared above too, from when it was not built yet) */
int cmd_bench(int argc, char **argv);

#endif /* PINSHM_CTL_H */
