// SPDX-License-Identifier: MIT
/*
 * The stages' common part: tr_stage_main(), sending with t_send stamps,
 * the write-ahead outbox (stages.h says how a killed stage resumes), log
 * records, hop histograms, and the drain (idle, quit). And the market data
 * engine, the one stage with no input.
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
#define WAIT_NS		20000000LL	/* a stage's longest sleep */

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

static uint32_t flag(const uint32_t *f)
{
	return __atomic_load_n(f, __ATOMIC_RELAXED);	/* the runner's */
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

/* bench_hist_add() with atomic operations, for a histogram with several
 * writers (the strategies'); all relaxed: statistics, read after the run. */
static void hist_add_shared(struct bench_hist *h, uint64_t v)
{
	uint64_t old;
	double s, ns;

	__atomic_fetch_add(&h->bucket[bench_hist_index(v)], 1,
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
	old = __atomic_load_n(&h->min, __ATOMIC_RELAXED);
	while (v < old && !__atomic_compare_exchange_n(&h->min, &old, v, true,
			__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	old = __atomic_load_n(&h->max, __ATOMIC_RELAXED);
	while (v > old && !__atomic_compare_exchange_n(&h->max, &old, v, true,
			__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	__atomic_load(&h->sum, &s, __ATOMIC_RELAXED);
	do {
		ns = s + (double)v;
	} while (!__atomic_compare_exchange(&h->sum, &s, &ns, true,
					    __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED));
}

void st_hop(struct stage *g, int hop, uint64_t t0, bool shared)
{
	uint64_t now = bench_now();
	uint64_t d = now > t0 ? now - t0 : 0;	/* TSC skew: clamp */

	if (hop < 0 || hop >= TR_HOPS || t0 == 0)
		return;
	if (shared)
		hist_add_shared(&g->sh->hop[hop], d);
	else
		bench_hist_add(&g->sh->hop[hop], d);
}

bool st_turn(struct stage *g, bool got)
{
	uint64_t now;

	if (flag(&g->sh->stop) == 2)
		return true;
	if (got) {
		g->quiet_since = 0;
		if (g->st->idle)
			__atomic_store_n(&g->st->idle, 0, __ATOMIC_RELAXED);
		return false;
	}
	if (!flag(&g->sh->stop))
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
	return g->st->idle && flag(&g->sh->quit);
}

int st_exit_code(const struct stage *g)
{
	return flag(&g->sh->stop) == 2 ? 1 : 0;
}

/* ---- market data ------------------------------------------------------- */

struct md_instr {
	int64_t mid;		/* 1e-4 */
	int64_t half;		/* half the spread */
};

/*
 * A seeded random walk of TR_INSTR instruments, paced to cfg.rate ticks/s:
 * tick k is due at start + k / rate (a burst of 20-200 ticks comes ten
 * times faster); the engine sleeps until then (clock_nanosleep on an
 * absolute time) or, named in --spin, spins. Every tick goes on the
 * broadcast ring and into its instrument's book slot.
 */
int tr_md_main(struct stage *g)
{
	struct md_instr in[TR_INSTR];
	uint64_t rng = g->sh->cfg.seed ^ 0x6d64ULL, burst_left = 0;
	uint64_t period = 1000000000ULL / (g->sh->cfg.rate ? g->sh->cfg.rate
					   : 10000), due, now;
	bool spin = (g->sh->cfg.spin >> P_MD) & 1;
	unsigned int i;
	struct tr_tick t;

	for (i = 0; i < TR_INSTR; i++) {
		in[i].mid = (50 + (int64_t)(st_rand(&rng) % 150)) *
			    TR_PX_SCALE;
		in[i].half = 100 * (1 + (int64_t)(st_rand(&rng) % 3));
	}
	due = st_now_ns();
	for (;;) {
		if (flag(&g->sh->stop) ||
		    (g->sh->cfg.ticks && g->rec->md.ticks >= g->sh->cfg.ticks))
			break;
		if (!burst_left && st_rand(&rng) % 4000 == 0) {
			burst_left = 20 + st_rand(&rng) % 181;
			g->rec->md.bursts++;
			st_log(g, E_BURST, 0, 0, 0, (uint32_t)burst_left, 0);
		}
		i = (unsigned int)(st_rand(&rng) % TR_INSTR);
		in[i].mid += ((int64_t)(st_rand(&rng) % 7) - 3) * 100;
		if (in[i].mid < 10 * TR_PX_SCALE)
			in[i].mid = 10 * TR_PX_SCALE;
		if (st_rand(&rng) % 16 == 0)
			in[i].half = 100 * (1 + (int64_t)(st_rand(&rng) % 3));
		memset(&t, 0, sizeof(t));
		t.seq = g->rec->md.ticks + 1;
		t.t_tick = bench_now();
		t.instr = i;
		t.burst = burst_left != 0;
		t.bid_px = in[i].mid - in[i].half;
		t.ask_px = in[i].mid + in[i].half;
		t.bid_qty = 10 + (uint32_t)(st_rand(&rng) % 200);
		t.ask_qty = 10 + (uint32_t)(st_rand(&rng) % 200);
		t.t_send = bench_now();
		if (tr_slot_write(g->io, L_BOOK(i), &t, sizeof(t)) == 0)
			g->st->out[L_BOOK(i)]++;
		if (st_send(g, L_TICKS, &t, TR_TSEND_OFF))
			break;
		g->rec->md.ticks++;
		due += burst_left ? period / 10 : period;
		if (burst_left)
			burst_left--;
		now = st_now_ns();
		if (due > now) {
			if (spin) {
				while (st_now_ns() < due)
					;
			} else {
				struct timespec ts = {
					(time_t)(due / 1000000000ULL),
					(long)(due % 1000000000ULL) };

				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
						&ts, NULL);
			}
		} else if (now - due > 100000000ULL) {
			due = now;	/* far behind (stopped?): no catch-up */
		}
	}
	/* No input to drain: idle once stopped, until quit. */
	while (!st_turn(g, false)) {
		struct timespec ts = { 0, WAIT_NS };

		nanosleep(&ts, NULL);
	}
	return st_exit_code(g);
}

/* ---- entry --------------------------------------------------------------- */

int tr_stage_main(struct tr_shared *sh, int proc, bool restarted)
{
	struct stage g;
	uint64_t last = 0;
	int ret;

	if (proc == P_LOG)
		return tr_logger_main(sh, restarted);
	if (proc < 0 || proc >= TR_MAX_PROCS || !sh->rec ||
	    (proc >= P_STRAT0 &&
	     (unsigned int)(proc - P_STRAT0) >= sh->cfg.strategies))
		return 2;
	memset(&g, 0, sizeof(g));
	g.sh = sh;
	g.rec = sh->rec;
	g.proc = proc;
	g.restarted = restarted;
	g.st = &sh->st[proc];
	g.st->spins = (sh->cfg.spin >> proc) & 1;
	ret = tr_io_open(sh, proc, restarted, &g.io);
	if (ret) {
		fprintf(stderr, "pinshm-demo: stage %d: %s\n", proc,
			strerror(-ret));
		return 1;
	}
	/* Continue the log seq after the last committed record (ours or a
	 * killed predecessor's). */
	if (tr_last(g.io, L_LOG, &last) == 0)
		g.log_seq = last;
	switch (proc) {
	case P_MD:
		st_log(&g, restarted ? E_RESTART : E_START, 0, 0, 0, 0, 0);
		ret = tr_md_main(&g);
		break;
	case P_RISK:
		ret = tr_risk_main(&g);
		break;
	case P_OMS:
		st_log(&g, restarted ? E_RESTART : E_START, 0, 0, 0, 0, 0);
		ret = tr_oms_main(&g);
		break;
	case P_EXEC:
		st_log(&g, restarted ? E_RESTART : E_START, 0, 0, 0, 0, 0);
		ret = tr_exec_main(&g);
		break;
	default:
		ret = tr_strat_main(&g);
		break;
	}
	tr_io_close(g.io);
	return ret;
}
