/* SPDX-License-Identifier: MIT */
/*
 * pinshm-demo's runner: the options (main.c), one run of the trading
 * system over one transport (run.c) and what it prints (show.c).
 */
#ifndef PINSHM_DEMO_RUNNER_H
#define PINSHM_DEMO_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "trade.h"

#define DEMO_MAX_CPUS		256
#define DEMO_MAX_KILLS		16
#define DEMO_MAX_TRANSPORTS	3

struct demo_opts {
	enum tr_transport transport[DEMO_MAX_TRANSPORTS];
	unsigned int ntransports;
	int backend;		/* PINSHM_BACKEND_*, resolved */
	double seconds;		/* per transport */
	uint64_t ticks;		/* 0: --seconds */
	unsigned int rate;
	unsigned int strategies;
	uint64_t seed;
	uint32_t spin;		/* bit per enum tr_proc */
	int cpus[DEMO_MAX_CPUS];	/* the CPUs the demo may use */
	int ncpus;
	bool spread;		/* sleeping stages float over the CPUs */
	bool chaos;
	bool quiet;		/* no live status line */
	int64_t pos_limit, notional_limit;
	const char *plot;
	const char *log;	/* NULL: a temporary file, removed after */
	const char *pinshm;	/* the pinshm command, for ls; NULL: none */
};

/* One kill -9 of --chaos. */
struct demo_kill {
	double at_s;		/* planned, from the start of the run */
	double done_s;		/* when it happened (0: not yet) */
	int proc;
	pid_t pid, new_pid;
};

/* One transport's run: its shared state and how it ended. */
struct demo_run {
	enum tr_transport transport;
	struct tr_shared *sh;		/* kept mapped until demo_run_free */
	void *rec;
	size_t rec_size;
	char describe[256];
	char log_path[256];
	bool log_temp;			/* ours: removed after the run */
	char place[TR_MAX_PROCS][48];	/* where each stage ran, in words */
	double active_s;		/* md's start to stop = 1 */
	double drain_s;			/* stop = 1 to every stage idle */
	bool interrupted;		/* Ctrl-C or SIGTERM */
	int status[TR_MAX_PROCS];	/* wait status of the last exit */
	bool exited[TR_MAX_PROCS];
	struct demo_kill kill[DEMO_MAX_KILLS];
	unsigned int nkills;
	struct tr_log_summary log;
	int log_ret;			/* tr_log_read() */
	int account;			/* tr_account(): 0 reconciles */
	bool failed;
	char why[256];			/* the first failure, in words */
};

extern volatile sig_atomic_t demo_signal;

/*
 * Run the trading system over one transport and print its report (the
 * regions are listed before teardown). 0: every process exited 0 and the
 * accounting reconciles; -1 otherwise (r->why says what).
 */
int demo_run(const struct demo_opts *o, const struct bench_clock *clk,
	     enum tr_transport t, struct demo_run *r);
void demo_run_free(struct demo_run *r);

/* show.c */
/* Names: "md", "risk", "oms", "exec", "log", "strat0".. */
const char *demo_proc_name(int proc);
/* The processes of a run with these options, in start order. */
unsigned int demo_procs(unsigned int strategies, int *procs);
const char *demo_hop_name(int hop);
/* "exit 0", "killed by signal 9 (Killed)" */
void demo_status_text(int st, char *buf, size_t len);
void demo_show_status(const struct demo_run *r, double t_s, bool tty);
void demo_show_run(const struct demo_opts *o, const struct demo_run *r);
void demo_show_regions(const struct demo_opts *o, const struct demo_run *r);
void demo_show_compare(const struct demo_run *r, unsigned int n);
int demo_plot(const char *path, const struct demo_run *r, unsigned int n);

#endif /* PINSHM_DEMO_RUNNER_H */
