// SPDX-License-Identifier: MIT
/*
 * What the stages share: sending with t_send stamps, the write-ahead
 * outbox (stages.h says how a killed stage resumes), log records, hop
 * histograms, and the drain (idle, quit). The stages are in stage_*.c,
 * the entry that picks one in entry.c.
 *
 * Flags the runner writes (sh->stop, sh->quit) are read with relaxed
 * atomic loads: they only need to be seen eventually; the counters each
 * process writes are its own (plain stores, read by the runner as
 * statistics).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stages.h"

#define IDLE_NS		100000000ULL	/* empty this long after stop: idle */

uint64_t tr_max_orders(const struct tr_cfg *cfg)
{
	return cfg->max_orders ? cfg->max_orders : TR_MAX_ORDERS_DEFAULT;
}

size_t tr_recovery_size(const struct tr_cfg *cfg)
{
	return sizeof(struct tr_recovery) + (size_t)TR_MAX_STRAT *
	       tr_max_orders(cfg) * sizeof(struct tr_oms_ord);
}

uint64_t st_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t st_rand(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int st_send(struct stage *g, int link, void *rec, unsigned int tsend_off)
{
	uint64_t t;
	void *d = tr_claim(g->io, link);

	if (!d)
		return -1;
	memcpy(d, rec, TR_MSG);
	t = bench_now();
	memcpy((char *)d + tsend_off, &t, sizeof(t));
	tr_commit(g->io, link);
	g->st->out[link]++;
	if (link == L_LOG)
		memcpy(&g->rec->log[g->proc].seq, rec, sizeof(uint64_t));
	return 0;
}

static void make_log(struct stage *g, struct tr_log *l, int event,
		     uint64_t order_id, uint32_t instr, int64_t px,
		     uint32_t qty, uint64_t t_send)
{
	memset(l, 0, sizeof(*l));
	l->seq = ++g->log_seq;
	l->t = bench_now();
	l->t_send = t_send;
	l->order_id = order_id;
	l->src = (uint8_t)g->proc;
	l->event = (uint8_t)event;
	l->instr = instr;
	l->px = px;
	l->qty = qty;
}

int st_log(struct stage *g, int event, uint64_t order_id, uint32_t instr,
	   int64_t px, uint32_t qty, uint64_t t_send)
{
	struct tr_log l;

	make_log(g, &l, event, order_id, instr, px, qty, t_send);
	return st_send(g, L_LOG, &l, TR_TSEND_OFF);
}

void ob_add(struct tr_outbox *ob, int link, bool mono, unsigned int off,
	    const void *rec)
{
	struct tr_out *o;

	if (ob->n >= TR_OUTBOX)
		abort();	/* a stage's bug: at most TR_OUTBOX per input */
	o = &ob->o[ob->n++];
	o->link = (uint16_t)link;
	o->mono = mono;
	o->tsend_off = (uint8_t)off;
	memcpy(o->rec, rec, TR_MSG);
}

void ob_log(struct stage *g, struct tr_outbox *ob, int event,
	    uint64_t order_id, uint32_t instr, int64_t px, uint32_t qty,
	    uint64_t t_send)
{
	struct tr_log l;

	make_log(g, &l, event, order_id, instr, px, qty, t_send);
	ob_add(ob, L_LOG, true, TR_TSEND_OFF, &l);
}

int ob_flush(struct stage *g, const struct tr_outbox *ob, bool recovering)
{
	struct tr_out o;
	uint32_t i, n = ob->n < TR_OUTBOX ? ob->n : TR_OUTBOX;
	uint64_t last;

	for (i = 0; i < n; i++) {
		o = ob->o[i];	/* a copy: st_send stamps it */
		if (o.link >= TR_LINKS || o.tsend_off > TR_MSG - 8)
			continue;
		if (recovering && tr_last(g->io, o.link, &last) == 0 &&
		    (o.rec[0] == last || (o.mono && o.rec[0] < last)))
			continue;	/* committed before the kill */
		if (st_send(g, o.link, o.rec, o.tsend_off))
			return -1;
	}
	return 0;
}

void st_log_resync(struct stage *g)
{
	uint64_t last = 0;

	if (tr_last(g->io, L_LOG, &last) == 0 && last > g->log_seq)
		g->log_seq = last;
	g->rec->log[g->proc].seq = g->log_seq;
}

/* The strategies' two hops: a histogram each, strat_hop[s][i]. */
static int strat_hop_index(int hop)
{
	return hop == H_MD_STRAT ? 0 : hop == H_OMS_STRAT ? 1 : -1;
}

void st_hop(struct stage *g, int hop, uint64_t t0)
{
	uint64_t now = bench_now();
	uint64_t d = now > t0 ? now - t0 : 0;	/* TSC skew: clamp */
	int i = strat_hop_index(hop);

	if (hop < 0 || hop >= TR_HOPS || t0 == 0)
		return;
	if (g->proc >= P_STRAT0 && i >= 0)
		bench_hist_add(&g->sh->strat_hop[g->proc - P_STRAT0][i], d);
	else
		bench_hist_add(&g->sh->hop[hop], d);
}

void tr_merge_hops(struct tr_shared *sh)
{
	unsigned int s;

	for (s = 0; s < TR_MAX_STRAT; s++) {
		bench_hist_merge(&sh->hop[H_MD_STRAT], &sh->strat_hop[s][0]);
		bench_hist_merge(&sh->hop[H_OMS_STRAT], &sh->strat_hop[s][1]);
	}
}

bool st_turn(struct stage *g, bool got)
{
	uint64_t now;

	if (st_flag(&g->sh->stop) == 2)
		return true;
	if (got) {
		g->quiet_since = 0;
		if (g->st->idle)
			__atomic_store_n(&g->st->idle, 0, __ATOMIC_RELAXED);
		return false;
	}
	if (!st_flag(&g->sh->stop))
		return false;
	now = st_now_ns();
	if (!g->quiet_since)
		g->quiet_since = now;
	if (!g->st->idle && now - g->quiet_since >= IDLE_NS) {
		if (!g->stopped) {
			g->stopped = true;
			st_log(g, E_STOP, 0, 0, 0, 0, 0);
		}
		/* The runner reads idle after quiet counters: relaxed. */
		__atomic_store_n(&g->st->idle, 1, __ATOMIC_RELAXED);
	}
	return g->st->idle && st_flag(&g->sh->quit);
}

int st_exit_code(const struct stage *g)
{
	return st_flag(&g->sh->stop) == 2 ? 1 : 0;
}
