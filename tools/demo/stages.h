/* SPDX-License-Identifier: MIT */
/*
 * The stages' recovery state (struct tr_recovery, in the runner's mapping
 * sh->rec) and the helpers every stage shares (stages.c).
 *
 * How a killed stage resumes, without losing or repeating a record:
 *
 * - Sequence numbers. The first 8 bytes of every record are the sender's
 *   seq on that link (or the order id, which grows per strategy). A
 *   restarted producer reads tr_last() of each link it sends on and
 *   continues after it: its log seq, a strategy's order seq, OMS's and
 *   exec's report seqs.
 *
 * - Write-ahead outbox (strategies, risk: the stages --chaos kills).
 *   Their state is double-buffered: a record is processed into the buffer
 *   that is not current, together with the records it makes (the outbox);
 *   a release store of `cur` then makes that buffer current, the commit
 *   point; only then are the outbox's records sent and the input
 *   released. A successor starts from buffer `cur` and sends each outbox
 *   record again unless tr_last() of its link shows it committed (a log
 *   record: its seq <= last; an order on risk.in: its id <= last; risk's
 *   verdict on oms.in: its id == last, ids are unique). An input it finds
 *   again (killed before the release) is skipped by the high-water marks
 *   in the state (risk: order seq per strategy and OMS report seq; a
 *   strategy: report seq). A killed strategy loses the ticks it had not
 *   acted on: ticks are lossy by design.
 *
 * - OMS and exec are not killed; still OMS deduplicates by order id (its
 *   table slot is taken: a duplicate, counted and reported, must be 0) and
 *   exec's reports by seq.
 */
#ifndef PINSHM_DEMO_STAGES_H
#define PINSHM_DEMO_STAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "trade.h"

#define TR_OUTBOX	4
#define TR_MAX_ORDERS_DEFAULT	(1u << 16)
#define TR_POS_LIMIT_DEFAULT	400
#define TR_NOTIONAL_DEFAULT	(2000000000LL)	/* 200,000.0000 */
#define TR_TSEND_OFF		16	/* t_send of a tick, order, log */
#define TR_TSEND_OFF_RPT	24	/* t_send of a report */

struct tr_out {
	uint16_t link;
	uint8_t mono;		/* first words grow on this link */
	uint8_t tsend_off;
	uint32_t __pad;
	uint64_t rec[TR_MSG / 8];
};

struct tr_outbox {
	uint32_t n;
	uint32_t __pad;
	struct tr_out o[TR_OUTBOX];
};

/* A strategy's journaled state (one of two buffers). */
struct tr_strat_state {
	uint64_t next_seq;	/* order seqs handed out, 1, 2, ... */
	uint64_t rpt_hw;	/* highest report seq applied */
	uint64_t reports, accepted, rejected, partials, filled, cancelled;
	int64_t fill_qty[TR_INSTR];	/* signed, from its reports */
	struct tr_outbox ob;
};

struct tr_strat_rec {
	uint32_t cur;		/* the current buffer; written last */
	uint32_t __pad;
	uint64_t sent;		/* orders committed (tr_last of risk.in) */
	uint64_t rng;		/* soft state, in place: ticks are lossy */
	int64_t ema[TR_INSTR];
	struct tr_strat_state s[2];
} __attribute__((aligned(128)));

struct tr_risk_state {
	uint64_t hw_order[TR_MAX_STRAT];	/* order seq per strategy */
	uint64_t hw_rpt;			/* OMS's report seq */
	uint64_t version;
	int64_t pos[TR_MAX_STRAT][TR_INSTR];
	int64_t open_buy[TR_MAX_STRAT][TR_INSTR];
	int64_t open_sell[TR_MAX_STRAT][TR_INSTR];
	int64_t ref_px[TR_INSTR];		/* last order price seen */
	uint64_t accepted[TR_MAX_STRAT];
	uint64_t rej_pos[TR_MAX_STRAT];
	uint64_t rej_notional[TR_MAX_STRAT];
	uint64_t fills[TR_MAX_STRAT];		/* fill reports applied */
	uint64_t cancels[TR_MAX_STRAT];
	uint64_t rejects[TR_MAX_STRAT];		/* OMS's reject reports */
	uint64_t dups;				/* inputs seen again */
	uint64_t bad;
	struct tr_outbox ob;
};

struct tr_risk_rec {
	uint32_t cur;
	uint32_t __pad;
	struct tr_risk_state s[2];
} __attribute__((aligned(128)));

enum tr_ord_state {
	O_EMPTY, O_NEW, O_ACCEPTED, O_PARTIAL, O_FILLED, O_REJECTED,
	O_CANCELLED
};

/* One order in OMS's table, [strategy][seq - 1]. */
struct tr_oms_ord {
	uint64_t id;
	int64_t px;
	uint32_t instr;
	uint32_t qty;
	uint32_t filled;
	uint8_t state;		/* enum tr_ord_state */
	uint8_t side;
	uint16_t __pad;
};

struct tr_oms_rec {
	uint64_t exec_hw;		/* exec's report seq */
	uint64_t dups;			/* verdicts for a taken slot */
	uint64_t exec_dups;		/* exec reports seen again */
	uint64_t bad;			/* records that make no sense */
	uint64_t received[TR_MAX_STRAT];
	uint64_t accepted[TR_MAX_STRAT];
	uint64_t rejected[TR_MAX_STRAT];
	uint64_t filled[TR_MAX_STRAT];	/* orders that ended filled */
	uint64_t cancelled[TR_MAX_STRAT];
	uint64_t partials[TR_MAX_STRAT];	/* partial fill reports */
	uint64_t fills[TR_MAX_STRAT];	/* fill reports (partial + last) */
	uint64_t rpt_sent[TR_MAX_STRAT];	/* reports to strategy S */
	uint64_t risk_sent;
} __attribute__((aligned(128)));

struct tr_exec_rec {
	uint64_t orders, fills, cancels, no_book;
	int64_t qty[TR_MAX_STRAT][TR_INSTR];	/* signed, filled */
} __attribute__((aligned(128)));

struct tr_md_rec {
	uint64_t ticks, bursts;
} __attribute__((aligned(128)));

struct tr_log_last {
	uint64_t seq;		/* the process's last committed log seq */
} __attribute__((aligned(128)));

struct tr_recovery {
	uint32_t strategies;	/* runner: as cfg, for a sanity check */
	uint32_t __pad;
	uint64_t max_orders;
	struct tr_log_last log[TR_MAX_PROCS];	/* each process its own */
	struct tr_md_rec md;
	struct tr_strat_rec strat[TR_MAX_STRAT];
	struct tr_risk_rec risk;
	struct tr_oms_rec oms;
	struct tr_exec_rec exec;
	struct tr_oms_ord ord[];	/* OMS's table */
};

/* ---- stages.c: what every stage uses ------------------------------------ */

struct stage {
	struct tr_shared *sh;
	struct tr_recovery *rec;
	struct tr_io *io;
	struct tr_proc_stats *st;
	int proc;
	bool restarted;
	bool stopped;		/* logged E_STOP */
	uint64_t log_seq;
	uint64_t quiet_since;	/* ns, input empty since (after stop) */
};

uint64_t tr_max_orders(const struct tr_cfg *cfg);
uint64_t st_now_ns(void);
/* Send rec (64 bytes) on link, stamping t_send; 0 or -1 (stop == 2). */
int st_send(struct stage *g, int link, void *rec, unsigned int tsend_off);
/* A log record, sent now. */
int st_log(struct stage *g, int event, uint64_t order_id, uint32_t instr,
	   int64_t px, uint32_t qty, uint64_t t_send);
void ob_add(struct tr_outbox *ob, int link, bool mono, unsigned int off,
	    const void *rec);
void ob_log(struct stage *g, struct tr_outbox *ob, int event,
	    uint64_t order_id, uint32_t instr, int64_t px, uint32_t qty,
	    uint64_t t_send);
/* Send an outbox; recovering: only what tr_last() says is not there. */
int ob_flush(struct stage *g, const struct tr_outbox *ob, bool recovering);
/* The log seq after whatever was committed (tr_last of L_LOG). */
void st_log_resync(struct stage *g);
void st_hop(struct stage *g, int hop, uint64_t t0);
/* After each turn of a stage's loop: idle and quit. true: leave. */
bool st_turn(struct stage *g, bool got);
int st_exit_code(const struct stage *g);
uint64_t st_rand(uint64_t *s);

/* A flag the runner writes (sh->stop, sh->quit): relaxed, seen eventually. */
static inline uint32_t st_flag(const uint32_t *f)
{
	return __atomic_load_n(f, __ATOMIC_RELAXED);
}

int tr_md_main(struct stage *g);
int tr_strat_main(struct stage *g);
int tr_risk_main(struct stage *g);
int tr_oms_main(struct stage *g);
int tr_exec_main(struct stage *g);
int tr_logger_main(struct tr_shared *sh, bool restarted);	/* logger.c */

#endif /* PINSHM_DEMO_STAGES_H */
