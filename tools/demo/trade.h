/* SPDX-License-Identifier: MIT */
/*
 * pinshm-demo: a trading system of separate processes, over pinshm rings or
 * over sockets, with the same stages and the same messages.
 *
 *   md ──ticks (bcast, lossy)──▶ strategy 0..N-1 ──orders──▶ risk.in (MPSC)
 *   md ──book.I (slots)──▶ exec                 strategies' orders and OMS's
 *   risk ──pos.S (slot)──▶ strategy S           reports, one inbox
 *   risk ──decided orders──▶ oms.in (MPSC) ◀──reports── exec
 *   oms ──exec.in (SPSC)──▶ exec
 *   oms ──rpt.S (SPSC)──▶ strategy S;  oms ──reports──▶ risk.in
 *   every stage ──log (MPSC)──▶ logger ──▶ file
 *
 * Every stage waits on exactly one input (its inbox, or the ticks for a
 * strategy) and polls the rest; a stage without a core of its own sleeps
 * in the link's wait strategy (futex, or the module's WAIT), one that owns
 * a core may spin (--spin).
 *
 * Every message is one 64-byte record. Its first 8 bytes are the sender's
 * sequence number on that link (or the order id), so a restarted producer
 * resumes exactly after its last committed record (tr_last()).
 *
 * The runner keeps struct tr_shared in an anonymous shared mapping: the
 * options, the clock, the stop flags, each process's counters and
 * histograms, and the stages' recovery state (what a restarted stage
 * resumes from). Each field has one writer, named beside it.
 */
#ifndef PINSHM_DEMO_TRADE_H
#define PINSHM_DEMO_TRADE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "clock.h"
#include "hist.h"

#define TR_MAX_STRAT	8
#define TR_INSTR	32		/* instruments */
#define TR_MSG		64		/* bytes, every record */
#define TR_PX_SCALE	10000		/* prices: fixed point, 1e-4 */

/* ---- processes ---------------------------------------------------------- */

enum tr_proc {
	P_MD,		/* market data engine */
	P_RISK,
	P_OMS,
	P_EXEC,
	P_LOG,		/* logger */
	P_STRAT0,	/* strategy s is P_STRAT0 + s */
	TR_MAX_PROCS = P_STRAT0 + TR_MAX_STRAT
};

#define P_STRAT(s)	(P_STRAT0 + (s))

/* ---- links -------------------------------------------------------------- */

/*
 * One link is one ring (or one slot, or, on sockets, one stream per
 * producer). Producer ids on the MPSC inboxes:
 *   risk.in: strategy s is id s, OMS is id TR_MAX_STRAT;
 *   oms.in:  risk is 0, exec is 1;
 *   log:     the process's enum tr_proc.
 */
enum tr_link {
	L_TICKS,			/* bcast: md -> strategies */
	L_RISK_IN,			/* MPSC: orders, OMS reports -> risk */
	L_OMS_IN,			/* MPSC: risk's decisions, exec's reports */
	L_EXEC_IN,			/* SPSC: oms -> exec */
	L_LOG,				/* MPSC: everyone -> logger */
	L_RPT0,				/* SPSC: oms -> strategy s */
	L_POS0 = L_RPT0 + TR_MAX_STRAT,	/* slot: risk -> strategy s */
	L_BOOK0 = L_POS0 + TR_MAX_STRAT, /* slot: md -> exec, per instrument */
	TR_LINKS = L_BOOK0 + TR_INSTR
};

#define L_RPT(s)	(L_RPT0 + (s))
#define L_POS(s)	(L_POS0 + (s))
#define L_BOOK(i)	(L_BOOK0 + (i))

#define TR_OMS_ID_RISK	TR_MAX_STRAT	/* OMS's producer id on risk.in */

/* ---- messages ----------------------------------------------------------- */

enum tr_side { SIDE_BUY, SIDE_SELL };

/* A tick, on L_TICKS; also the value of a book.I slot. */
struct tr_tick {
	uint64_t seq;		/* md's tick number, 1, 2, ... */
	uint64_t t_tick;	/* bench_now() when the tick was made */
	uint64_t t_send;	/* bench_now() at commit: the hop's start */
	uint32_t instr;
	uint32_t burst;		/* non-zero inside a burst */
	int64_t bid_px, ask_px;
	uint32_t bid_qty, ask_qty;
	uint64_t __pad;
};

/* An order: strategy -> risk, and risk's verdict -> oms. */
enum tr_verdict { V_NEW, V_ACCEPT, V_REJECT_POS, V_REJECT_NOTIONAL };

struct tr_order {
	uint64_t id;		/* TR_ORDER_ID(strategy, seq) */
	uint64_t t_tick;	/* the tick it answers */
	uint64_t t_send;	/* this hop's commit */
	uint32_t instr;
	uint8_t strat;
	uint8_t side;		/* enum tr_side */
	uint8_t verdict;	/* enum tr_verdict; V_NEW from a strategy */
	uint8_t __pad0;
	int64_t px;		/* limit price */
	uint32_t qty;
	uint32_t __pad1;
	uint64_t t_order;	/* strategy's commit (tick-to-order ends at exec) */
	uint64_t __pad2;
};

#define TR_ORDER_SEQ_BITS	40
#define TR_ORDER_ID(s, seq)	(((uint64_t)(s) + 1) << TR_ORDER_SEQ_BITS | (seq))
#define TR_ORDER_STRAT(id)	((unsigned int)((id) >> TR_ORDER_SEQ_BITS) - 1)
#define TR_ORDER_SEQ(id)	((id) & ((1ULL << TR_ORDER_SEQ_BITS) - 1))

/*
 * risk.in and oms.in carry orders and reports: an order's first word is
 * its id (strategy + 1 above bit 40), a report's its seq (below 2^40).
 */
static inline bool tr_is_order(const void *m)
{
	uint64_t w;

	__builtin_memcpy(&w, m, sizeof(w));
	return (w >> TR_ORDER_SEQ_BITS) != 0;
}

/* An execution report: exec -> oms, oms -> risk, oms -> strategy. */
enum tr_rpt_kind {
	R_ACCEPTED,		/* oms -> strategy: risk accepted, sent on */
	R_REJECTED,		/* oms -> strategy and risk: risk rejected */
	R_PARTIAL,		/* a fill, with qty left open */
	R_FILLED,		/* the last fill */
	R_CANCELLED,		/* what was left is cancelled (IOC) */
};

struct tr_report {
	uint64_t seq;		/* sender's sequence number on this link */
	uint64_t order_id;
	uint64_t t_tick;	/* the order's tick */
	uint64_t t_send;	/* this hop's commit */
	uint32_t instr;
	uint8_t strat;
	uint8_t side;
	uint8_t kind;		/* enum tr_rpt_kind */
	uint8_t reason;		/* enum tr_verdict of a reject */
	int64_t px;		/* fill price */
	uint32_t qty;		/* filled by this report (R_CANCELLED: the
				 * quantity cancelled) */
	uint32_t leaves;	/* still open after it */
	uint64_t fill_id;	/* exec's fill number, 0: not a fill */
};

/* A log record: every stage -> logger, one line of the log file each. */
enum tr_log_event {
	E_START, E_RESTART,	/* a stage began (again) */
	E_BURST,		/* md: a burst of ticks began */
	E_ORDER,		/* strategy: sent an order */
	E_ACCEPT, E_REJECT,	/* risk */
	E_OMS_NEW, E_OMS_ACCEPTED, E_OMS_REJECTED,
	E_OMS_PARTIAL, E_OMS_FILLED, E_OMS_CANCELLED,
	E_FILL, E_CANCEL,	/* exec */
	E_REPORT,		/* strategy: saw a report */
	E_STOP,			/* a stage drained and left */
	TR_LOG_EVENTS
};

struct tr_log {
	uint64_t seq;		/* per source process, 1, 2, ... no gaps */
	uint64_t t;		/* bench_now() */
	uint64_t t_send;	/* the hop's commit */
	uint64_t order_id;	/* 0: none */
	uint8_t src;		/* enum tr_proc */
	uint8_t event;		/* enum tr_log_event */
	uint16_t __pad0;
	uint32_t instr;
	int64_t px;
	uint32_t qty;
	uint32_t __pad1;
	uint64_t __pad2;
};

_Static_assert(sizeof(struct tr_tick) == TR_MSG, "one record");
_Static_assert(sizeof(struct tr_order) == TR_MSG, "one record");
_Static_assert(sizeof(struct tr_report) == TR_MSG, "one record");
_Static_assert(sizeof(struct tr_log) == TR_MSG, "one record");

/* A strategy's position slot value (risk -> strategy s). */
struct tr_pos {
	uint64_t version;	/* risk's state version it was taken from */
	int64_t pos[TR_INSTR];	/* signed quantity */
	int64_t notional;	/* sum of |pos| * last price, 1e-4 */
};

/* ---- options and shared state ------------------------------------------- */

enum tr_transport { T_PINSHM, T_UNIX, T_TCP };

/* "pinshm", "unix", "tcp" */
const char *tr_transport_name(enum tr_transport t);

struct tr_cfg {
	enum tr_transport transport;
	int backend;		/* pinshm: PINSHM_BACKEND_KMOD or _SHM */
	unsigned int strategies;
	uint64_t seed;
	uint64_t ticks;		/* stop after this many ticks (0: --seconds) */
	double seconds;
	unsigned int rate;	/* ticks per second, on average */
	uint32_t spin;		/* bit per enum tr_proc: spins on its input */
	int cpu[TR_MAX_PROCS];	/* -1: not pinned */
	int64_t pos_limit;	/* per strategy and instrument, quantity */
	int64_t notional_limit;	/* per strategy, 1e-4 */
	uint64_t max_orders;	/* per strategy: size of the OMS's table */
	char prefix[24];	/* region / socket names: "<prefix>-..." */
	char log_path[256];	/* the logger's file */
	char sock_dir[128];	/* unix sockets live here */
	uint16_t tcp_port[TR_LINKS];	/* tcp: listening port per inbox */
};

/* Per process, written by that process only (a restart continues them). */
struct tr_proc_stats {
	uint64_t out[TR_LINKS];		/* records committed on a link */
	uint64_t in[TR_LINKS];		/* records consumed from a link */
	uint64_t wakes;			/* sleeps that ended with a record */
	uint64_t lapped;		/* ticks lost to laps (strategies) */
	uint32_t idle;			/* stop seen, input empty: drained */
	uint32_t spins;			/* it spins rather than sleeps */
};

/*
 * Latency in TSC ticks (sh->clk converts), each histogram written by the
 * one process that receives; the strategies' two hops go to strat_hop[s]
 * first, merged into hop[] after the run. The runner bench_hist_reset()s
 * them all before the first fork.
 */
enum tr_hop {
	H_MD_STRAT,		/* ticks: md -> strategy (commit to peek) */
	H_STRAT_RISK,		/* risk.in, orders */
	H_RISK_OMS,		/* oms.in, decisions */
	H_OMS_EXEC,		/* exec.in */
	H_EXEC_OMS,		/* oms.in, exec's reports */
	H_OMS_STRAT,		/* rpt.S (polled after each tick wake) */
	H_OMS_RISK,		/* risk.in, reports */
	H_TO_LOG,		/* log */
	H_TICK_TO_ORDER,	/* tick made -> its order peeked by exec */
	H_TICK_TO_TRADE,	/* tick made -> the fill peeked by oms */
	TR_HOPS
};

/*
 * Recovery state of the stages, the H1 stages' own; the runner only
 * zeroes it before the first start and reads it for the accounting.
 * (Filled in by the stages; stages.h has it.)
 */
struct tr_recovery;

/*
 * The flags (stop, quit, each st[].idle) are loaded and stored relaxed:
 * they publish no data. A stage sees stop or quit within its wait's
 * timeout; the runner takes idle as a hint and still waits for the
 * counters to stand still; and it reads the stages' counters, histograms
 * and recovery state for the report only after waitpid() has reaped them,
 * which orders every store of theirs before its loads.
 */
struct tr_shared {
	struct tr_cfg cfg;			/* runner, before any fork */
	struct bench_clock clk;			/* runner, before any fork */
	uint32_t stop;		/* runner: 1 stop making ticks and orders,
				 * drain; 2 leave now (a failure) */
	uint32_t quit;		/* runner: everything drained, exit 0 */
	pid_t pid[TR_MAX_PROCS];		/* runner */
	uint32_t restarts[TR_MAX_PROCS];	/* runner */
	struct tr_proc_stats st[TR_MAX_PROCS];
	struct bench_hist hop[TR_HOPS];		/* see enum tr_hop */
	/* Strategy s's H_MD_STRAT and H_OMS_STRAT samples, its own (no
	 * shared write per tick); the runner merges them into hop[] after
	 * the run (tr_merge_hops()). */
	struct bench_hist strat_hop[TR_MAX_STRAT][2];
	struct tr_recovery *rec;		/* runner: its own mapping */
};

/* ---- transports (xp_pinshm.c, xp_sock.c) --------------------------------- */

struct tr_io;

/* Runner, before any stage starts: regions and objects, or sockets. */
int tr_setup(struct tr_shared *sh);
/* Runner, on every exit path: nothing of the run is left behind. */
void tr_teardown(struct tr_shared *sh);
/* Runner: the backend or transport in words, for the report. */
const char *tr_describe(const struct tr_shared *sh, char *buf, size_t len);

/*
 * In a stage process: its ends of the links it uses. restarted: its
 * predecessor was killed; take its roles over. 0 or -errno.
 */
int tr_io_open(struct tr_shared *sh, int proc, bool restarted,
	       struct tr_io **out);
void tr_io_close(struct tr_io *io);

/*
 * Producer: the 64-byte record to fill in on link; waits while the link is
 * full (back-pressure), checking sh->stop == 2. NULL only then.
 */
void *tr_claim(struct tr_io *io, int link);
void tr_commit(struct tr_io *io, int link);

/*
 * Consumer: the next record of link, waiting up to timeout_ns (0: poll;
 * spinning or sleeping as cfg.spin says). 1 with *m set (valid until
 * tr_release()), 0 nothing came, -errno.
 */
int tr_peek(struct tr_io *io, int link, const void **m, int64_t timeout_ns);
void tr_release(struct tr_io *io, int link);

/* Slots (L_POS, L_BOOK): write the latest value; read it. 0, -ENODATA. */
int tr_slot_write(struct tr_io *io, int link, const void *v, size_t len);
int tr_slot_read(struct tr_io *io, int link, void *v, size_t len);

/*
 * The first 8 bytes of the last record this process's producer end of link
 * committed, across restarts: 0, or -ENOENT when none.
 */
int tr_last(struct tr_io *io, int link, uint64_t *word);

/* ---- stages (entry.c, stage_*.c) ---------------------------------------- */

/* The body of process proc; returns its exit status. */
int tr_stage_main(struct tr_shared *sh, int proc, bool restarted);

/* After the run: the strategies' histograms into hop[]. */
void tr_merge_hops(struct tr_shared *sh);

/* Bytes of struct tr_recovery (the runner maps that many, zeroed). */
size_t tr_recovery_size(const struct tr_cfg *cfg);

/*
 * The logger (logger.c): tr_stage_main(sh, P_LOG, restarted) returns
 * this. It writes one line per record of the log link to cfg.log_path,
 * each source's records once, in its seq order, across its own restarts.
 */
int tr_logger_main(struct tr_shared *sh, bool restarted);

/* "ORDER", "OMS_FILLED", ... as the log file spells them; "?" if unknown. */
const char *tr_log_event_name(int event);

/* ---- checks after the run ----------------------------------------------- */

/* What the log file holds (logger.c reads it back). */
struct tr_log_summary {
	uint64_t lines;
	uint64_t last[TR_MAX_PROCS];	/* highest seq per source */
	uint64_t events[TR_MAX_PROCS][TR_LOG_EVENTS];
	uint64_t gaps;		/* seqs missing below a source's last */
	uint64_t dups;		/* seqs seen twice */
	uint64_t bad;		/* lines that do not parse */
};

int tr_log_read(const char *path, struct tr_log_summary *out);

/*
 * The accounting: orders sent = accepted + rejected, accepted = filled +
 * cancelled + open, fills reconcile with positions, every event logged
 * once. Prints it to out; returns 0 when everything reconciles, else -1.
 */
int tr_account(const struct tr_shared *sh, const struct tr_log_summary *log,
	       FILE *out);

#endif /* PINSHM_DEMO_TRADE_H */
