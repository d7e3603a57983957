// SPDX-License-Identifier: MIT
/*
 * The logger stage (tools/demo/logger.c): its file holds every record of
 * every source exactly once, across kill -9 and restarts of the logger, on
 * the pinshm transport (shm backend); and the file reader counts gaps,
 * duplicates and torn lines.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>

#include <pinshm.h>

#include "demotest.h"

static char log_path[256];

static void tmp_log(struct tr_shared *sh)
{
	snprintf(log_path, sizeof(log_path), "/tmp/pinshm-demo-log-%d.txt",
		 (int)getpid());
	snprintf(sh->cfg.log_path, sizeof(sh->cfg.log_path), "%s", log_path);
}

/* A stage that logs n records, seq 1..n, a little at a time. */
static int log_records(struct tr_shared *sh, int proc, uint64_t n)
{
	struct tr_io *io;
	int err;

	err = tr_io_open(sh, proc, false, &io);
	if (err) {
		fprintf(stderr, "open %d: %s\n", proc, strerror(-err));
		return 10;
	}
	for (uint64_t i = 1; i <= n; i++) {
		struct tr_log *r = tr_claim(io, L_LOG);

		if (!r)
			return 11;
		memset(r, 0, sizeof(*r));
		r->seq = i;
		r->t = bench_now();
		r->t_send = r->t;
		r->src = (uint8_t)proc;
		r->event = (uint8_t)(i % 2 ? E_ORDER : E_FILL);
		r->order_id = TR_ORDER_ID(0, i);
		r->instr = (uint32_t)(i % TR_INSTR);
		r->px = (int64_t)(i * 3) - 5000;
		r->qty = (uint32_t)i;
		tr_commit(io, L_LOG);
		if (i % 16 == 0)
			usleep(200);
	}
	tr_io_close(io);
	_exit(0);
}

static pid_t start_logger(struct tr_shared *sh, bool restarted)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(tr_logger_main(sh, restarted));
	return pid;
}

Test(logger, writes_every_record_once_across_kill_and_restart, .timeout = 120)
{
	enum { N = 30000, NP = 4 };
	int procs[NP] = { P_MD, P_RISK, P_OMS, P_STRAT(0) };
	struct tr_shared *sh = demo_shared(T_PINSHM, 1);
	struct tr_log_summary s;
	pid_t pid[NP], logger;
	unsigned int kills = 0;
	int err;

	sh->cfg.backend = PINSHM_BACKEND_SHM;
	tmp_log(sh);
	err = tr_setup(sh);
	cr_assert_eq(err, 0, "tr_setup: %s", strerror(-err));
	logger = start_logger(sh, false);
	for (int i = 0; i < NP; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(log_records(sh, procs[i], N));
	}
	/* kill -9 the logger at seeded moments while the records flow. */
	srandom(16);
	for (int k = 0; k < 5; k++) {
		uint64_t in = __atomic_load_n(&sh->st[P_LOG].in[L_LOG],
					      __ATOMIC_RELAXED);

		/* Once it consumes (its START or RESTART line is out)... */
		while (__atomic_load_n(&sh->st[P_LOG].in[L_LOG],
				       __ATOMIC_RELAXED) == in)
			usleep(500);
		usleep(5000 + (useconds_t)(random() % 60000));
		kill(logger, SIGKILL);
		cr_assert_eq(demo_wait(logger), 128 + SIGKILL);
		kills++;
		logger = start_logger(sh, true);
	}
	for (int i = 0; i < NP; i++)
		cr_assert_eq(demo_wait(pid[i]), 0, "producer %d", i);
	cr_log_info("%u kills; %lu records consumed", kills,
		    (unsigned long)sh->st[P_LOG].in[L_LOG]);
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	for (uint64_t end = demo_ms() + 20000; demo_ms() < end &&
	     !__atomic_load_n(&sh->st[P_LOG].idle, __ATOMIC_ACQUIRE);)
		usleep(1000);
	cr_assert(sh->st[P_LOG].idle, "the logger drained");
	demo_quit(sh);
	cr_assert_eq(demo_wait(logger), 0);
	tr_teardown(sh);

	err = tr_log_read(log_path, &s);
	cr_assert_eq(err, 0, "tr_log_read: %s", strerror(-err));
	cr_expect_eq(s.bad, 0);
	cr_expect_eq(s.dups, 0);
	cr_expect_eq(s.gaps, 0);
	for (int i = 0; i < NP; i++) {
		cr_expect_eq(s.last[procs[i]], N, "%s", tr_proc_name(procs[i]));
		cr_expect_eq(s.events[procs[i]][E_ORDER], (N + 1) / 2);
		cr_expect_eq(s.events[procs[i]][E_FILL], N / 2);
	}
	/* The logger's own lines: START, a RESTART per kill, STOP. */
	cr_expect_eq(s.events[P_LOG][E_START], 1);
	cr_expect_eq(s.events[P_LOG][E_RESTART], kills);
	cr_expect_eq(s.events[P_LOG][E_STOP], 1);
	cr_expect_eq(s.lines, (uint64_t)NP * N + kills + 2);
	unlink(log_path);
}

static void write_file(const char *text)
{
	FILE *f = fopen(log_path, "w");

	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

Test(logger, reader_counts_gaps_duplicates_and_torn_lines)
{
	struct tr_log_summary s;

	snprintf(log_path, sizeof(log_path), "/tmp/pinshm-demo-read-%d.txt",
		 (int)getpid());
	write_file("md 1 START id=0 instr=0 px=0.0000 qty=0 t=1\n"
		   "md 2 BURST id=0 instr=3 px=-1.0500 qty=0 t=2\n"
		   "md 2 BURST id=0 instr=3 px=-1.0500 qty=0 t=2\n"
		   "md 5 STOP id=0 instr=0 px=0.0000 qty=0 t=3\n"
		   "strat.1 1 ORDER id=0x20000000001 instr=4 px=100.1250 qty=30 t=4\n"
		   "nonsense\n"
		   "risk 1 ACCEPT id=0x20000000001 instr=4 px=100.1250 qty=30 t=5\n"
		   "risk 2 ACC");
	cr_assert_eq(tr_log_read(log_path, &s), 0);
	cr_expect_eq(s.lines, 8);
	cr_expect_eq(s.bad, 2);
	cr_expect_eq(s.dups, 1);
	cr_expect_eq(s.gaps, 2);	/* md 3 and 4 */
	cr_expect_eq(s.last[P_MD], 5);
	cr_expect_eq(s.last[P_STRAT(1)], 1);
	cr_expect_eq(s.events[P_MD][E_BURST], 1);
	cr_expect_eq(s.events[P_RISK][E_ACCEPT], 1);
	cr_expect_eq(tr_log_read("/nonexistent/x", &s), -ENOENT);
	unlink(log_path);
}
