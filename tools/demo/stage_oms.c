// SPDX-License-Identifier: MIT
/*
 * Order management and the simulated exchange.
 *
 * OMS waits on oms.in: risk's verdicts (orders) and exec's reports. Its
 * table, in the recovery mapping, holds every order by (strategy, seq):
 * new -> accepted | rejected; accepted -> partially filled -> filled |
 * cancelled (IOC: what the first match leaves is cancelled). A verdict
 * for a slot already taken is a duplicate: dropped and counted (it must
 * stay 0: risk never forwards twice, see stage_risk.c). Accepted orders
 * go to exec (exec.in); every state change goes to the strategy (rpt.S);
 * fills, cancels and rejects also to risk (risk.in), so its exposure
 * follows. Report seqs on each link continue after tr_last().
 *
 * Exec waits on exec.in and matches each order, immediate-or-cancel,
 * against the current book slot of its instrument: a buy at px >= ask
 * fills min(qty, ask_qty) at the ask, a sell at px <= bid likewise at the
 * bid; the rest is cancelled. Reports go to oms.in.
 */
#include <errno.h>
#include <string.h>

#include "stages.h"

#define OMS_WAIT_NS	20000000LL

static struct tr_oms_ord *oms_slot(struct stage *g, uint64_t id)
{
	uint64_t seq = TR_ORDER_SEQ(id), max = tr_max_orders(&g->sh->cfg);
	unsigned int s = TR_ORDER_STRAT(id);

	if (s >= g->sh->cfg.strategies || seq == 0 || seq > max)
		return NULL;
	return &g->rec->ord[(uint64_t)s * max + seq - 1];
}

struct oms_seq {
	uint64_t rpt[TR_MAX_STRAT];
	uint64_t risk;
};

static void report(struct stage *g, struct oms_seq *q, const struct tr_oms_ord *e,
		   int kind, int reason, int64_t px, uint32_t qty,
		   uint64_t t_tick, uint64_t fill_id, bool to_risk)
{
	unsigned int s = TR_ORDER_STRAT(e->id);
	struct tr_report rp;

	memset(&rp, 0, sizeof(rp));
	rp.order_id = e->id;
	rp.t_tick = t_tick;
	rp.instr = e->instr;
	rp.strat = (uint8_t)s;
	rp.side = e->side;
	rp.kind = (uint8_t)kind;
	rp.reason = (uint8_t)reason;
	rp.px = px;
	rp.qty = qty;
	rp.leaves = e->qty - e->filled;
	if (kind == R_CANCELLED || kind == R_REJECTED)
		rp.leaves = 0;
	rp.fill_id = fill_id;
	rp.seq = ++q->rpt[s];
	if (st_send(g, L_RPT(s), &rp, TR_TSEND_OFF_RPT) == 0)
		g->rec->oms.rpt_sent[s]++;
	if (to_risk) {
		rp.seq = ++q->risk;
		if (st_send(g, L_RISK_IN, &rp, TR_TSEND_OFF_RPT) == 0)
			g->rec->oms.risk_sent++;
	}
}

static void oms_order(struct stage *g, struct oms_seq *q,
		      const struct tr_order *o)
{
	struct tr_oms_rec *k = &g->rec->oms;
	struct tr_oms_ord *e = oms_slot(g, o->id);
	unsigned int s = TR_ORDER_STRAT(o->id);
	struct tr_order x;

	st_hop(g, H_RISK_OMS, o->t_send);
	if (!e || o->instr >= TR_INSTR || o->side > SIDE_SELL ||
	    o->verdict == V_NEW || o->verdict > V_REJECT_NOTIONAL) {
		k->bad++;
		return;
	}
	if (e->state != O_EMPTY) {
		k->dups++;
		return;
	}
	e->id = o->id;
	e->px = o->px;
	e->instr = o->instr;
	e->qty = o->qty;
	e->side = o->side;
	e->filled = 0;
	e->state = O_NEW;
	k->received[s]++;
	st_log(g, E_OMS_NEW, o->id, o->instr, o->px, o->qty, o->t_send);
	if (o->verdict == V_ACCEPT) {
		e->state = O_ACCEPTED;
		k->accepted[s]++;
		x = *o;
		st_send(g, L_EXEC_IN, &x, TR_TSEND_OFF);
		report(g, q, e, R_ACCEPTED, 0, o->px, 0, o->t_tick, 0, false);
		st_log(g, E_OMS_ACCEPTED, o->id, o->instr, o->px, o->qty, 0);
	} else {
		e->state = O_REJECTED;
		k->rejected[s]++;
		report(g, q, e, R_REJECTED, o->verdict, o->px, 0, o->t_tick, 0,
		       true);
		st_log(g, E_OMS_REJECTED, o->id, o->instr, o->px, o->qty, 0);
	}
}

static void oms_report(struct stage *g, struct oms_seq *q,
		       const struct tr_report *rp)
{
	struct tr_oms_rec *k = &g->rec->oms;
	struct tr_oms_ord *e = oms_slot(g, rp->order_id);
	unsigned int s = TR_ORDER_STRAT(rp->order_id);
	int ev;

	st_hop(g, H_EXEC_OMS, rp->t_send);
	if (rp->seq <= k->exec_hw) {
		k->exec_dups++;
		return;
	}
	k->exec_hw = rp->seq;
	if (!e || e->id != rp->order_id ||
	    (e->state != O_ACCEPTED && e->state != O_PARTIAL) ||
	    rp->qty > e->qty - e->filled) {
		k->bad++;
		return;
	}
	switch (rp->kind) {
	case R_PARTIAL:
	case R_FILLED:
		st_hop(g, H_TICK_TO_TRADE, rp->t_tick);
		e->filled += rp->qty;
		k->fills[s]++;
		if (e->filled < e->qty) {
			e->state = O_PARTIAL;
			k->partials[s]++;
			ev = E_OMS_PARTIAL;
			report(g, q, e, R_PARTIAL, 0, rp->px, rp->qty,
			       rp->t_tick, rp->fill_id, true);
		} else {
			e->state = O_FILLED;
			k->filled[s]++;
			ev = E_OMS_FILLED;
			report(g, q, e, R_FILLED, 0, rp->px, rp->qty,
			       rp->t_tick, rp->fill_id, true);
		}
		break;
	case R_CANCELLED:
		e->state = O_CANCELLED;
		k->cancelled[s]++;
		ev = E_OMS_CANCELLED;
		report(g, q, e, R_CANCELLED, 0, e->px, e->qty - e->filled,
		       rp->t_tick, 0, true);
		break;
	default:
		k->bad++;
		return;
	}
	st_log(g, ev, e->id, e->instr, rp->px, rp->qty, rp->t_send);
}

int tr_oms_main(struct stage *g)
{
	struct oms_seq q;
	union {
		struct tr_order o;
		struct tr_report rp;
	} u;
	const void *m;
	unsigned int s;
	uint64_t last;
	bool got;
	int ret;

	memset(&q, 0, sizeof(q));
	for (s = 0; s < g->sh->cfg.strategies; s++)
		if (tr_last(g->io, L_RPT(s), &last) == 0)
			q.rpt[s] = last;
	if (tr_last(g->io, L_RISK_IN, &last) == 0)
		q.risk = last;
	for (;;) {
		ret = tr_peek(g->io, L_OMS_IN, &m, OMS_WAIT_NS);
		got = ret == 1;
		if (got) {
			memcpy(&u, m, sizeof(u));
			if (tr_is_order(&u))
				oms_order(g, &q, &u.o);
			else
				oms_report(g, &q, &u.rp);
			tr_release(g->io, L_OMS_IN);
			g->st->in[L_OMS_IN]++;
		}
		if (st_turn(g, got))
			break;
	}
	return st_exit_code(g);
}

/* ---- exec ---------------------------------------------------------------- */

static void exec_report(struct stage *g, uint64_t *seq,
			const struct tr_order *o, int kind, int64_t px,
			uint32_t qty, uint32_t leaves, uint64_t fill_id)
{
	struct tr_report rp;

	memset(&rp, 0, sizeof(rp));
	rp.seq = ++*seq;
	rp.order_id = o->id;
	rp.t_tick = o->t_tick;
	rp.instr = o->instr;
	rp.strat = o->strat;
	rp.side = o->side;
	rp.kind = (uint8_t)kind;
	rp.px = px;
	rp.qty = qty;
	rp.leaves = leaves;
	rp.fill_id = fill_id;
	st_send(g, L_OMS_IN, &rp, TR_TSEND_OFF_RPT);
}

static void exec_order(struct stage *g, uint64_t *seq, const struct tr_order *o)
{
	struct tr_exec_rec *k = &g->rec->exec;
	struct tr_tick b;
	uint32_t fill = 0;
	int64_t px = 0;
	unsigned int s = o->strat;

	st_hop(g, H_OMS_EXEC, o->t_send);
	st_hop(g, H_TICK_TO_ORDER, o->t_tick);
	if (s >= g->sh->cfg.strategies || o->instr >= TR_INSTR ||
	    o->side > SIDE_SELL || o->qty == 0)
		return;
	k->orders++;
	if (tr_slot_read(g->io, L_BOOK(o->instr), &b, sizeof(b)) == 0)
		g->st->in[L_BOOK(o->instr)]++;
	else
		b.instr = TR_INSTR;	/* no book: cancel */
	if (b.instr != o->instr) {
		k->no_book++;
	} else if (o->side == SIDE_BUY && o->px >= b.ask_px) {
		fill = o->qty < b.ask_qty ? o->qty : b.ask_qty;
		px = b.ask_px;
	} else if (o->side == SIDE_SELL && o->px <= b.bid_px) {
		fill = o->qty < b.bid_qty ? o->qty : b.bid_qty;
		px = b.bid_px;
	}
	if (fill) {
		k->fills++;
		k->qty[s][o->instr] += o->side == SIDE_BUY ? (int64_t)fill :
				       -(int64_t)fill;
		exec_report(g, seq, o, fill == o->qty ? R_FILLED : R_PARTIAL,
			    px, fill, o->qty - fill, k->fills);
		st_log(g, E_FILL, o->id, o->instr, px, fill, 0);
	}
	if (fill < o->qty) {
		k->cancels++;
		exec_report(g, seq, o, R_CANCELLED, o->px, o->qty - fill, 0, 0);
		st_log(g, E_CANCEL, o->id, o->instr, o->px, o->qty - fill, 0);
	}
}

int tr_exec_main(struct stage *g)
{
	struct tr_order o;
	const void *m;
	uint64_t seq = 0;
	bool got;

	if (tr_last(g->io, L_OMS_IN, &seq) != 0)
		seq = 0;
	for (;;) {
		got = tr_peek(g->io, L_EXEC_IN, &m, OMS_WAIT_NS) == 1;
		if (got) {
			memcpy(&o, m, sizeof(o));
			exec_order(g, &seq, &o);
			tr_release(g->io, L_EXEC_IN);
			g->st->in[L_EXEC_IN]++;
		}
		if (st_turn(g, got))
			break;
	}
	return st_exit_code(g);
}
