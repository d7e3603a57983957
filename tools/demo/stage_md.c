// SPDX-License-Identifier: MIT
/*
 * The market data engine, the one stage with no input.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "stages.h"

#define WAIT_NS		20000000LL	/* a stage's longest sleep */

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
		if (st_flag(&g->sh->stop) ||
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
