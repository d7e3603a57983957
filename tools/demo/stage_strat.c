// SPDX-License-Identifier: MIT
/*
 * A strategy: waits on the ticks (a read-only mapping of the md region),
 * keeps an exponential average of each instrument's mid price and, on some
 * ticks that stray from it, sends an order to risk: strategies of even
 * number trade mean reversion (buy below the average), odd ones momentum.
 * Before deciding it reads its position slot (risk's); after every wake
 * and timeout it drains its reports from OMS. It stops ordering when the
 * runner says stop, or at cfg.max_orders (the size of OMS's table).
 *
 * State and restart: see stages.h. Orders and reports are journaled
 * (double buffer + outbox); the averages and the random state are soft
 * (updated in place: a kill loses a tick's worth, which changes nothing
 * the accounting checks).
 */
#include <string.h>

#include "stages.h"

#define TICK_WAIT_NS	20000000LL

/* Make buffer n current: the commit point of everything built in it. */
static void strat_flip(struct tr_strat_rec *r, uint32_t n)
{
	/* Release: the buffer's contents before cur names it; pairs with the
	 * successor's acquire load in tr_strat_main(). */
	__atomic_store_n(&r->cur, n, __ATOMIC_RELEASE);
}

static struct tr_strat_state *strat_next(struct tr_strat_rec *r)
{
	uint32_t c = r->cur & 1;

	r->s[!c] = r->s[c];
	r->s[!c].ob.n = 0;
	return &r->s[!c];
}

static void strat_sent(struct stage *g, struct tr_strat_rec *r)
{
	uint64_t last;

	if (tr_last(g->io, L_RISK_IN, &last) == 0)
		r->sent = TR_ORDER_SEQ(last);
}

static void on_tick(struct stage *g, unsigned int s, const struct tr_tick *t)
{
	struct tr_strat_rec *r = &g->rec->strat[s];
	const struct tr_cfg *cfg = &g->sh->cfg;
	struct tr_strat_state *n;
	struct tr_order o;
	struct tr_pos pos;
	int64_t mid, dev, thr = 150, p = 0, lim;
	uint64_t rnd;
	int side = -1;
	unsigned int i = t->instr;

	if (i >= TR_INSTR || t->ask_px <= t->bid_px || t->bid_px <= 0)
		return;
	mid = (t->bid_px + t->ask_px) / 2;
	if (!r->ema[i])
		r->ema[i] = mid;
	dev = mid - r->ema[i];
	r->ema[i] += dev / 8;
	if (__atomic_load_n(&g->sh->stop, __ATOMIC_RELAXED) ||
	    r->s[r->cur & 1].next_seq >= tr_max_orders(cfg))
		return;
	rnd = st_rand(&r->rng);
	if (rnd % 100 >= 25)
		return;
	if (dev > thr)
		side = (s & 1) ? SIDE_BUY : SIDE_SELL;
	else if (dev < -thr)
		side = (s & 1) ? SIDE_SELL : SIDE_BUY;
	if (side < 0)
		return;
	lim = cfg->pos_limit ? cfg->pos_limit : TR_POS_LIMIT_DEFAULT;
	if (tr_slot_read(g->io, L_POS(s), &pos, sizeof(pos)) == 0) {
		g->st->in[L_POS(s)]++;
		p = pos.pos[i];
	}
	/* Mostly within limits; now and then not, so risk has work. */
	if ((rnd >> 8) % 8 && ((side == SIDE_BUY && p >= lim * 3 / 4) ||
			       (side == SIDE_SELL && p <= -lim * 3 / 4)))
		return;
	n = strat_next(r);
	memset(&o, 0, sizeof(o));
	o.id = TR_ORDER_ID(s, ++n->next_seq);
	o.t_tick = t->t_tick;
	o.instr = i;
	o.strat = (uint8_t)s;
	o.side = (uint8_t)side;
	o.verdict = V_NEW;
	/* Marketable: at the touch, a tick through it half the time. */
	o.px = side == SIDE_BUY ? t->ask_px + (int64_t)((rnd >> 16) & 1) * 100
				: t->bid_px - (int64_t)((rnd >> 16) & 1) * 100;
	o.qty = 1 + (uint32_t)((rnd >> 20) % 200);
	ob_add(&n->ob, L_RISK_IN, true, TR_TSEND_OFF, &o);
	ob_log(g, &n->ob, E_ORDER, o.id, o.instr, o.px, o.qty, 0);
	strat_flip(r, (r->cur & 1) ^ 1);
	ob_flush(g, &n->ob, false);
	r->sent = TR_ORDER_SEQ(o.id);
}

static void on_report(struct stage *g, unsigned int s,
		      const struct tr_report *m)
{
	struct tr_strat_rec *r = &g->rec->strat[s];
	struct tr_strat_state *n;
	struct tr_report rp = *m;
	int64_t q;

	st_hop(g, H_OMS_STRAT, rp.t_send);
	if (rp.seq <= r->s[r->cur & 1].rpt_hw)
		return;		/* seen before a kill */
	n = strat_next(r);
	n->rpt_hw = rp.seq;
	n->reports++;
	q = rp.side == SIDE_BUY ? (int64_t)rp.qty : -(int64_t)rp.qty;
	switch (rp.kind) {
	case R_ACCEPTED:
		n->accepted++;
		break;
	case R_REJECTED:
		n->rejected++;
		break;
	case R_PARTIAL:
		n->partials++;
		if (rp.instr < TR_INSTR)
			n->fill_qty[rp.instr] += q;
		break;
	case R_FILLED:
		n->filled++;
		if (rp.instr < TR_INSTR)
			n->fill_qty[rp.instr] += q;
		break;
	case R_CANCELLED:
		n->cancelled++;
		break;
	default:
		break;
	}
	ob_log(g, &n->ob, E_REPORT, rp.order_id, rp.instr, rp.px, rp.qty,
	       rp.t_send);
	strat_flip(r, (r->cur & 1) ^ 1);
	ob_flush(g, &n->ob, false);
}

int tr_strat_main(struct stage *g)
{
	unsigned int s = (unsigned int)(g->proc - P_STRAT0);
	struct tr_strat_rec *r = &g->rec->strat[s];
	const void *m;
	struct tr_tick t;
	bool got;
	int ret;

	if (!g->restarted) {
		memset(r, 0, sizeof(*r));
		r->rng = g->sh->cfg.seed * 0x9e3779b97f4a7c15ULL + s + 1;
	} else {
		/* Acquire: pairs with strat_flip()'s release. Send what the
		 * current buffer's outbox holds and is not committed. */
		uint32_t c = __atomic_load_n(&r->cur, __ATOMIC_ACQUIRE) & 1;

		ob_flush(g, &r->s[c].ob, true);
		st_log_resync(g);
		r->rng ^= bench_now();
	}
	strat_sent(g, r);
	st_log(g, g->restarted ? E_RESTART : E_START, 0, 0, 0, 0, 0);
	for (;;) {
		got = false;
		ret = tr_peek(g->io, L_TICKS, &m, TICK_WAIT_NS);
		if (ret == 1) {
			memcpy(&t, m, sizeof(t));
			tr_release(g->io, L_TICKS);
			g->st->in[L_TICKS]++;
			st_hop(g, H_MD_STRAT, t.t_send);
			on_tick(g, s, &t);
			got = true;
		}
		while (tr_peek(g->io, L_RPT(s), &m, 0) == 1) {
			on_report(g, s, m);
			tr_release(g->io, L_RPT(s));
			g->st->in[L_RPT(s)]++;
			got = true;
		}
		if (st_turn(g, got))
			break;
	}
	return st_exit_code(g);
}
