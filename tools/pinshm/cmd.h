/* SPDX-License-Identifier: MIT */
/*
 * pinshm(1): shared declarations of the command's parts.
 *
 *   main.c         main, the global options, the list of commands
 *   opts.c         options, usage lines and --help, from each command's table
 *   util.c         errors, number/size parsing, signals, pacing, idling
 *   cmd_region.c   create, ls, rm, recover
 *   cmd_info.c     info, and how the metadata page reads
 *   cmd_stat.c     stat
 *   cmd_metrics.c  metrics: the BPF programs of tools/bpf/; Prometheus output
 *   cmd_ring.c     ring add
 *   pubtail.c      pub and tail: options, the parts every ring type shares
 *   ring_spsc.c, ring_mpsc.c, ring_bcast.c, ring_slot.c   pub and tail per type
 *   seq.c          the --seq record format; tail's checks of what it reads
 */
#ifndef PINSHM_CMD_H
#define PINSHM_CMD_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <pinshm.h>

#include "clock.h"	/* tools/bench/: bench_mono_ns(), the tools' one monotonic clock */

/*
 * Errors: every function returns 0 (or a count) on success and -errno on
 * failure, once the failure has been said on stderr; -CTL_EUSAGE is a
 * usage error, said with the command's usage line. Only main() turns
 * these into the exit status: 0 success, 1 failure, 2 usage error.
 */
#define CTL_EUSAGE	4096	/* above every errno, as the kernel's own codes */

/* What an errno is about, to pick the message that explains it. */
enum ctl_what {
	CTL_CREATE,	/* creating a region */
	CTL_REGION,	/* opening, destroying, reading a region */
	CTL_OBJ_CREATE,	/* adding a ring or slot to a region */
	CTL_OBJECT,	/* finding or reading a ring or slot */
	CTL_ROLE,	/* taking a ring's producer/consumer role */
};

/*
 * A command and its help, from which its options are parsed and its usage
 * line, --help and its line in `pinshm --help` are made (opts.c).
 */
struct ctl_cmd {
	const char *name;	/* NULL: pinshm itself, its global options */
	int (*run)(int argc, char **argv);
	const char *args;	/* operands, in the usage line before the options */
	const char *summary;	/* what it does, in `pinshm --help` */
	const char *help;	/* --help: what it does, before the options */
	const struct ctl_opt *opts;	/* ends with { NULL }; NULL: none */
	const char *notes;	/* --help: after the options */
	const char *examples;	/* --help: "Examples:" */
};

/*
 * An option: its getopt_long() entry and its line in --help. An entry
 * with a doc and no name is a heading in --help; { NULL } ends the table.
 * Every command takes -h, --help besides (ctl_parse()).
 */
struct ctl_opt {
	const char *name;	/* --name */
	int key;		/* -k, or CTL_OPT_LONG + n: --name only */
	const char *arg;	/* its value's name; NULL: it takes none */
	const char *doc;	/* one description, wrapped by --help */
	unsigned int flags;
};
#define CTL_OPT_LONG		256
#define CTL_OPT_REQUIRED	0x1	/* in the usage line without [ ] */
#define CTL_OPT_NOUSAGE		0x2	/* not in the usage line (--help shows it) */
#define CTL_MAX_OPTS		16

/*
 * ctl_parse()'s call for each option given: opt is its table entry, arg
 * its value (NULL for none); 0 or -CTL_EUSAGE (ctl_usage_error()).
 */
typedef int ctl_opt_fn(const struct ctl_cmd *c, const struct ctl_opt *opt, const char *arg,
		       void *data);

/* Global options (before the command). */
extern int ctl_backend;			/* PINSHM_BACKEND_* */
extern volatile sig_atomic_t ctl_stop;	/* SIGINT/SIGTERM seen */

/* main.c */
const struct ctl_cmd *ctl_find_cmd(const char *name);

/* The commands, each defined beside its code; main.c lists them. */
extern const struct ctl_cmd ctl_cmd_create, ctl_cmd_ls, ctl_cmd_rm, ctl_cmd_recover,
	ctl_cmd_info, ctl_cmd_stat, ctl_cmd_ring, ctl_cmd_pub, ctl_cmd_tail, ctl_cmd_metrics;

/* opts.c */
/*
 * Parse c's options in argv[1..], calling set for each: 0 with optind at
 * the first operand, 1 when --help was printed (then exit 0), or
 * -CTL_EUSAGE when an option was bad (said so with the usage line).
 */
int ctl_parse(const struct ctl_cmd *c, int argc, char **argv, ctl_opt_fn *set, void *data);
/*
 * After ctl_parse(), the operands argv[optind..argc): at least one per
 * name in need (NULL-terminated, for "missing NAME"), at most max; 0 or
 * -CTL_EUSAGE.
 */
int ctl_operands(const struct ctl_cmd *c, int argc, char **argv, const char *const need[],
		 int max);
ctl_opt_fn ctl_opt_true;
int ctl_usage_error(const struct ctl_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int ctl_bad_option(const struct ctl_cmd *c, int opt, char **argv);
char *ctl_usage(const struct ctl_cmd *c, char *buf, size_t len);
void ctl_print_help(const struct ctl_cmd *c);
void ctl_print_summary(const struct ctl_cmd *c);
void ctl_print_opts(FILE *f, const struct ctl_opt *opts);
int ctl_getopt_tables(const struct ctl_opt *opts, bool help, const char *prefix,
		      struct option *lo, char *so);

/* util.c */
const char *ctl_strerror(int err, enum ctl_what what);
int ctl_fail(const char *ctx, int err, enum ctl_what what);
int ctl_flush_stdout(void);
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
void ctl_pace(uint64_t t);
void ctl_idle(uint64_t *idle_since, unsigned int *spins);
void ctl_idle_wait(uint64_t *idle_since, unsigned int *spins,
		   int (*wait)(void *ring, int64_t timeout_ns), void *ring, bool *cannot);
void ctl_install_signals(void);
int ctl_open_region(const char *name, int access, struct pinshm_region **out);
int ctl_role_busy(const char *ctx, struct pinshm_region *r, const char *ring, const char *role,
		  bool producer);
int ctl_list_regions(const char *ctx, char (**names)[PINSHM_NAME_MAX]);
bool ctl_is_power_of_two(uint64_t v);
const char *ctl_name_rule(void);
const char *ctl_obj_name_rule(void);
/* The one operand of a region command, NAME; 0 or -errno. */
int ctl_one_name(const struct ctl_cmd *c, int argc, char **argv, const char **name);
int ctl_open_for_recovery(const char *name, struct pinshm_region **r);
const char *ctl_meta_backend(const struct pinshm_meta *m);
unsigned int ctl_nr_slots(const struct pinshm_meta *m);
bool ctl_is_self(const struct pinshm_attach *a);
unsigned int ctl_attached_others(const struct pinshm_meta *m);
struct json_object;
struct json_object *ctl_deaths_json(const struct pinshm_meta *m);
void ctl_put_json(struct json_object *o, int flags);

/* cmd_region.c */
int cmd_create(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_recover(int argc, char **argv);

/* cmd_info.c */
int cmd_info(int argc, char **argv);

/* cmd_stat.c */
int cmd_stat(int argc, char **argv);

/* cmd_metrics.c */
int cmd_metrics(int argc, char **argv);
const char *ctl_prom_label(const char *s, char *buf, size_t len);
void ctl_prom_head(const char *name, const char *type, const char *help);

/* cmd_ring.c */
int cmd_ring(int argc, char **argv);

/* pubtail.c */
int cmd_pub(int argc, char **argv);
int cmd_tail(int argc, char **argv);

/*
 * pubtail.c and ring_{spsc,mpsc,bcast,slot}.c: pub and tail for every ring
 * type. pubtail.c parses the options and holds the parts every type
 * shares; each ring_TYPE.c runs its type.
 */

/* The --seq record format (seq.c). */
#define CTL_SEQ_MAGIC	0x31515350U	/* "PSQ1" */
#define CTL_SEQ_TYPE	0x51455350U	/* record type "PSEQ" */
#define CTL_SEQ_HDR	24u
#define CTL_SEQ_TRAILER	8u
#define CTL_SEQ_MIN	(CTL_SEQ_HDR + CTL_SEQ_TRAILER)

struct ctl_seq_hdr {
	uint64_t seq;		/* first: pinshm_mpsc_last() returns these 8 bytes */
	uint32_t magic;
	uint32_t id;
	uint32_t len;
	uint32_t flags;
};

void ctl_seq_fill(uint8_t *p, uint32_t len, uint32_t id, uint64_t seq, bool corrupt);
int ctl_seq_check(const uint8_t *p, uint32_t len, uint32_t type, struct ctl_seq_hdr *h,
		  char *why, size_t whylen);

struct ctl_pub {
	const char *ctx;
	uint64_t count;
	double rate;
	uint64_t size;
	bool size_given;
	bool seq;
	bool quiet;
	bool id_given;
	uint32_t id;
	uint64_t skip_seq, dup_seq, corrupt_seq;
};

/* How pub writes to a ring of some type whose role it took (ctl_pub_run()). */
struct ctl_pub_ops {
	/* Room for len bytes at *dst: 0, -EAGAIN while the ring is full
	 * (pub waits), or -errno. */
	int (*claim)(void *ring, uint32_t len, void **dst);
	void (*commit)(void *ring, uint32_t len, uint32_t type);
	/*
	 * The header of this producer's last --seq record in the ring, where
	 * a restarted `pub --seq` resumes: 0, -ENOENT (none), -ENOMSG (not a
	 * --seq record), -EBADMSG with why (one that does not check out), or
	 * -errno.
	 */
	int (*last)(void *ring, struct ctl_seq_hdr *h, char *why, size_t whylen);
	int (*detach)(void *ring);
	const char *max_what;	/* what --size is held to: "max record" */
	const char *last_where;	/* what last() reads: "last record in the ring" */
};

/* Write to the ring, whose largest payload is max, then detach; 0 or -errno. */
int ctl_pub_run(struct ctl_pub *o, const struct ctl_pub_ops *ops, void *ring, uint64_t max);

/* What tail checks, per ring type. */
enum ctl_tail_kind {
	CTL_TAIL_QUEUE,		/* spsc, mpsc: every record exactly once, in order */
	CTL_TAIL_BCAST,		/* gaps only where the reader was lapped */
	CTL_TAIL_SLOT,		/* latest value: never backwards, never torn */
};

struct ctl_prod {
	uint64_t last;		/* highest seq seen */
	uint64_t first;		/* first seq seen */
	uint64_t records;
	bool seen;
};

struct ctl_tail {
	const char *ctx;
	uint64_t count;
	double rate;
	uint32_t producers;
	bool check, hex, quiet;
	bool fresh;		/* reading from the ring's first record: seqs start at 1 */
	bool merge;		/* fanin: lanes merged by the u64 at merge_off */
	uint32_t merge_off;
	enum ctl_tail_kind kind;

	uint64_t records;
	uint64_t problems;
	struct ctl_prod *prod;
	uint64_t t_first, t_last;

	/* bcast: lapping */
	uint64_t laps;		/* lap events seen */
	uint64_t lost;		/* records lost to them */
	uint64_t unexplained;	/* lost records not yet matched by a sequence gap */
	uint64_t explained;	/* sequence gaps matched by lost records */
	uint64_t held_back;	/* lap reports held back: stderr would block */
	/* slot: the version of the value being looked at */
	uint64_t version;
};

void ctl_problem(struct ctl_tail *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ctl_tail_record(struct ctl_tail *t, const uint8_t *p, uint32_t len, uint32_t type);
bool ctl_tail_done(const struct ctl_tail *t);

/* One record (or slot value) tail has read. */
struct ctl_rec {
	const uint8_t *data;
	uint32_t len, type;
};

/* How tail reads a ring of some type (ctl_tail_loop()). */
struct ctl_tail_ops {
	/*
	 * The next record into *rec: 0, -EAGAIN when there is none yet (tail
	 * may sleep in wait), -EINPROGRESS when a write is under way (it
	 * spins), or -errno. It may report a problem (ctl_problem()): the
	 * loop ends there.
	 */
	int (*next)(struct ctl_tail *t, void *ring, struct ctl_rec *rec);
	/* Give back the records read in place so far; NULL: next() copies. */
	void (*release)(void *ring);
	/* Idle, before sleeping: 1 to look again at once, 0, or -errno once
	 * said; NULL: nothing to do. */
	int (*idle)(struct ctl_tail *t, void *ring);
	/* Sleep until the writer's next commit or timeout_ns: 0 or -errno. */
	int (*wait)(void *ring, int64_t timeout_ns);
	/* After the last record (done: --count was reached); NULL: nothing. */
	void (*end)(struct ctl_tail *t, void *ring, bool done);
};

int ctl_tail_loop(struct ctl_tail *t, const struct ctl_tail_ops *ops, void *ring);

/*
 * pub and tail on one ring type (ring_TYPE.c), with the region open:
 * read-write for pub, tail_access for tail.
 */
struct ctl_ring_type {
	uint32_t type;			/* PINSHM_OBJ_* */
	enum ctl_tail_kind kind;	/* what tail checks */
	int tail_access;		/* PINSHM_RDWR: a consumer; PINSHM_RDONLY: a reader */
	/* If set: the access tail needs for this ring (r: an observer) */
	int (*tail_access_of)(struct pinshm_region *r, const char *ring);
	int (*pub)(struct ctl_pub *o, struct pinshm_region *r, const char *ring);
	int (*tail)(struct ctl_tail *t, struct pinshm_region *r, const char *ring);
};

extern const struct ctl_ring_type ctl_ring_spsc, ctl_ring_mpsc, ctl_ring_bcast, ctl_ring_slot,
	ctl_ring_fanin;

#endif /* PINSHM_CMD_H */
