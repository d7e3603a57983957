// SPDX-License-Identifier: MIT
/*
 * Risk: waits on risk.in, which carries the strategies' orders and OMS's
 * reports (tr_is_order() tells them apart).
 *
 * Order from strategy s for instrument i (pre-trade):
 *   position limit, open exposure included: a buy needs
 *     pos + open_buy + qty <= pos_limit, a sell pos - open_sell - qty >=
 *     -pos_limit;
 *   notional limit per strategy: sum over instruments of (|pos| + open) *
 *     the last order price seen there, plus this order's qty * px.
 * The verdict goes to oms.in; an accepted order's qty becomes open
 * exposure. Reports from OMS: a fill moves qty from open to the position,
 * a cancel releases its qty, a reject is counted. Every change of a
 * strategy's position or exposure is published in its slot pos.S.
 *
 * Restart (stages.h): the state is double-buffered in the recovery
 * mapping; a record is applied to the other buffer with its outbox (the
 * verdict, the log line), `cur` flips, then the outbox is sent and the
 * input released. A successor resends what tr_last() says is missing
 * (the verdict when tr_last(oms.in) is not its order id: so an order is
 * never forwarded twice) and skips inputs at or below the high-water
 * marks. OMS dedups by order id as well.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stages.h"

#define RISK_WAIT_NS	20000000LL

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

static int64_t notional(const struct tr_risk_state *k, unsigned int s)
{
	int64_t sum = 0;
	unsigned int i;

	for (i = 0; i < TR_INSTR; i++)
		sum += (abs64(k->pos[s][i]) + k->open_buy[s][i] +
			k->open_sell[s][i]) * (k->ref_px[i] / 100);
	return sum * 100;
}

static void publish(struct stage *g, const struct tr_risk_state *k,
		    unsigned int s)
{
	struct tr_pos p;

	memset(&p, 0, sizeof(p));
	p.version = k->version;
	memcpy(p.pos, k->pos[s], sizeof(p.pos));
	p.notional = notional(k, s);
	if (tr_slot_write(g->io, L_POS(s), &p, sizeof(p)) == 0)
		g->st->out[L_POS(s)]++;
}

static struct tr_risk_state *risk_next(struct tr_risk_rec *r)
{
	uint32_t c = r->cur & 1;

	r->s[!c] = r->s[c];
	r->s[!c].ob.n = 0;
	return &r->s[!c];
}

/* Apply an order; returns the strategy to publish, or -1. */
static int on_order(struct stage *g, struct tr_risk_rec *r,
		    const struct tr_order *in, struct tr_risk_state **out)
{
	const struct tr_cfg *cfg = &g->sh->cfg;
	const struct tr_risk_state *k = &r->s[r->cur & 1];
	struct tr_risk_state *n;
	struct tr_order o = *in;
	unsigned int s = o.strat, i = o.instr;
	uint64_t seq = TR_ORDER_SEQ(o.id);
	int64_t lim = cfg->pos_limit ? cfg->pos_limit : TR_POS_LIMIT_DEFAULT;
	int64_t nlim = cfg->notional_limit ? cfg->notional_limit :
		       TR_NOTIONAL_DEFAULT;
	int64_t q = o.qty;

	st_hop(g, H_STRAT_RISK, o.t_send);
	if (s >= g->sh->cfg.strategies || TR_ORDER_STRAT(o.id) != s ||
	    i >= TR_INSTR || o.side > SIDE_SELL || o.qty == 0 ||
	    o.px <= 0 || seq == 0) {
		r->s[r->cur & 1].bad++;	/* a bad record: count, drop */
		return -1;
	}
	if (seq <= k->hw_order[s]) {
		r->s[r->cur & 1].dups++;
		return -1;
	}
	n = risk_next(r);
	n->hw_order[s] = seq;
	n->ref_px[i] = o.px;
	n->version++;
	if ((o.side == SIDE_BUY &&
	     n->pos[s][i] + n->open_buy[s][i] + q > lim) ||
	    (o.side == SIDE_SELL &&
	     n->pos[s][i] - n->open_sell[s][i] - q < -lim)) {
		o.verdict = V_REJECT_POS;
		n->rej_pos[s]++;
	} else if (notional(n, s) + q * o.px > nlim) {
		o.verdict = V_REJECT_NOTIONAL;
		n->rej_notional[s]++;
	} else {
		o.verdict = V_ACCEPT;
		n->accepted[s]++;
		if (o.side == SIDE_BUY)
			n->open_buy[s][i] += q;
		else
			n->open_sell[s][i] += q;
	}
	/* oms.in: order ids are unique but not monotonic across strategies. */
	ob_add(&n->ob, L_OMS_IN, false, TR_TSEND_OFF, &o);
	ob_log(g, &n->ob, o.verdict == V_ACCEPT ? E_ACCEPT : E_REJECT, o.id,
	       o.instr, o.px, o.qty, o.t_send);
	*out = n;
	return (int)s;
}

static int on_report(struct stage *g, struct tr_risk_rec *r,
		     const struct tr_report *in, struct tr_risk_state **out)
{
	const struct tr_risk_state *k = &r->s[r->cur & 1];
	struct tr_risk_state *n;
	struct tr_report rp = *in;
	unsigned int s = rp.strat, i = rp.instr;
	int64_t q = rp.qty;

	st_hop(g, H_OMS_RISK, rp.t_send);
	if (s >= g->sh->cfg.strategies || i >= TR_INSTR ||
	    rp.side > SIDE_SELL || rp.kind > R_CANCELLED || rp.seq == 0) {
		r->s[r->cur & 1].bad++;
		return -1;
	}
	if (rp.seq <= k->hw_rpt) {
		r->s[r->cur & 1].dups++;
		return -1;
	}
	n = risk_next(r);
	n->hw_rpt = rp.seq;
	n->version++;
	switch (rp.kind) {
	case R_PARTIAL:
	case R_FILLED:
		n->fills[s]++;
		if (rp.side == SIDE_BUY) {
			n->pos[s][i] += q;
			n->open_buy[s][i] -= q;
		} else {
			n->pos[s][i] -= q;
			n->open_sell[s][i] -= q;
		}
		break;
	case R_CANCELLED:
		n->cancels[s]++;
		if (rp.side == SIDE_BUY)
			n->open_buy[s][i] -= q;
		else
			n->open_sell[s][i] -= q;
		break;
	case R_REJECTED:
		n->rejects[s]++;
		break;
	default:
		break;
	}
	*out = n;
	return (int)s;
}

int tr_risk_main(struct stage *g)
{
	struct tr_risk_rec *r = &g->rec->risk;
	struct tr_risk_state *n;
	union {
		struct tr_order o;
		struct tr_report rp;
	} u;
	const void *m;
	unsigned int s;
	uint32_t c;
	int ret, pub;
	bool got;

	if (!g->restarted) {
		memset(r, 0, sizeof(*r));
	} else {
		/* Acquire: pairs with the flip's release below. */
		c = __atomic_load_n(&r->cur, __ATOMIC_ACQUIRE) & 1;
		ob_flush(g, &r->s[c].ob, true);
		st_log_resync(g);
	}
	for (s = 0; s < g->sh->cfg.strategies; s++)
		publish(g, &r->s[r->cur & 1], s);
	st_log(g, g->restarted ? E_RESTART : E_START, 0, 0, 0, 0, 0);
	for (;;) {
		ret = tr_peek(g->io, L_RISK_IN, &m, RISK_WAIT_NS);
		got = ret == 1;
		if (got) {
			memcpy(&u, m, sizeof(u));
			n = NULL;
			if (tr_is_order(&u))
				pub = on_order(g, r, &u.o, &n);
			else
				pub = on_report(g, r, &u.rp, &n);
			if (n) {
				c = (r->cur & 1) ^ 1;
				/* The commit point: release, the buffer
				 * before cur names it (pairs with the
				 * successor's acquire above). */
				__atomic_store_n(&r->cur, c, __ATOMIC_RELEASE);
				ob_flush(g, &n->ob, false);
			}
			if (pub >= 0)
				publish(g, &r->s[r->cur & 1], (unsigned int)pub);
			tr_release(g->io, L_RISK_IN);
			g->st->in[L_RISK_IN]++;
		} else if (ret < 0 && ret != -EINTR) {
			r->s[r->cur & 1].bad++;
		}
		if (st_turn(g, got))
			break;
	}
	return st_exit_code(g);
}
