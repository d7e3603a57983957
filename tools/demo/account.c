// SPDX-License-Identifier: MIT
/*
 * The accounting after a run: every order, fill and log line accounted
 * for, from the stages' recovery state (sh->rec) and the log file's
 * summary (tr_log_read()). Printed as a table; 0 when it reconciles.
 *
 *   sent (a strategy's last committed order seq, exact: tr_last)
 *     = risk accepted + rejected = OMS received, accepted, rejected
 *   accepted = filled + cancelled + open (OMS's table), open = 0
 *   fills per strategy and instrument: OMS's table = risk's positions =
 *     exec's totals = what the strategy's reports add up to; risk's open
 *     exposure back to 0
 *   OMS duplicates = 0
 *   the log: no gap, no duplicate, no bad line; each process's last seq
 *     is the one it committed; lines per event = the counts above.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "stages.h"

struct acct {
	FILE *out;
	int bad;
};

static void check(struct acct *a, bool ok, const char *what, uint64_t l,
		  uint64_t r)
{
	if (ok)
		return;
	a->bad++;
	fprintf(a->out, "  MISMATCH %-44s %" PRIu64 " != %" PRIu64 "\n",
		what, l, r);
}

static void eq(struct acct *a, const char *what, uint64_t l, uint64_t r)
{
	check(a, l == r, what, l, r);
}

static const char *proc_name(int p, char *buf, size_t len)
{
	static const char *const n[] = { "md", "risk", "oms", "exec", "log" };

	if (p < P_STRAT0)
		snprintf(buf, len, "%s", n[p]);
	else
		snprintf(buf, len, "strat%d", p - P_STRAT0);
	return buf;
}

static void account_log(struct acct *a, const struct tr_shared *sh,
			const struct tr_log_summary *log)
{
	const struct tr_recovery *rec = sh->rec;
	const struct tr_risk_state *k = &rec->risk.s[rec->risk.cur & 1];
	const struct tr_oms_rec *o = &rec->oms;
	unsigned int s, ns = sh->cfg.strategies;
	uint64_t acc = 0, rej = 0, rcv = 0, oacc = 0, orej = 0, fil = 0,
		 can = 0, par = 0;
	char what[64], nm[16];
	int p;

	eq(a, "log: lines with a gap below them", log->gaps, 0);
	eq(a, "log: lines written twice", log->dups, 0);
	eq(a, "log: lines that do not parse", log->bad, 0);
	for (p = 0; p < P_STRAT0 + (int)ns; p++) {
		if (p == P_LOG)
			continue;	/* the logger's own lines are its own */
		proc_name(p, nm, sizeof(nm));
		snprintf(what, sizeof(what), "log: %s last seq = committed", nm);
		eq(a, what, log->last[p], rec->log[p].seq);
		/* A stage killed again before it logged its E_RESTART leaves
		 * none: one E_START, at most one E_RESTART per restart. */
		snprintf(what, sizeof(what), "log: %s E_START lines", nm);
		eq(a, what, log->events[p][E_START], 1);
		snprintf(what, sizeof(what), "log: %s E_RESTART <= restarts",
			 nm);
		check(a, log->events[p][E_RESTART] <= sh->restarts[p], what, log->events[p][E_RESTART], sh->restarts[p]);
	}
	for (s = 0; s < ns; s++) {
		const struct tr_strat_rec *r = &rec->strat[s];

		snprintf(what, sizeof(what), "log: strat%u E_ORDER = sent", s);
		eq(a, what, log->events[P_STRAT(s)][E_ORDER], r->sent);
		snprintf(what, sizeof(what),
			 "log: strat%u E_REPORT = OMS's reports", s);
		eq(a, what, log->events[P_STRAT(s)][E_REPORT], o->rpt_sent[s]);
		acc += k->accepted[s];
		rej += k->rej_pos[s] + k->rej_notional[s];
		rcv += o->received[s];
		oacc += o->accepted[s];
		orej += o->rejected[s];
		fil += o->filled[s];
		can += o->cancelled[s];
		par += o->partials[s];
	}
	eq(a, "log: risk E_ACCEPT = accepted", log->events[P_RISK][E_ACCEPT],
	   acc);
	eq(a, "log: risk E_REJECT = rejected", log->events[P_RISK][E_REJECT],
	   rej);
	eq(a, "log: oms E_OMS_NEW = received", log->events[P_OMS][E_OMS_NEW],
	   rcv);
	eq(a, "log: oms E_OMS_ACCEPTED", log->events[P_OMS][E_OMS_ACCEPTED],
	   oacc);
	eq(a, "log: oms E_OMS_REJECTED", log->events[P_OMS][E_OMS_REJECTED],
	   orej);
	eq(a, "log: oms E_OMS_FILLED = filled orders",
	   log->events[P_OMS][E_OMS_FILLED], fil);
	eq(a, "log: oms E_OMS_CANCELLED", log->events[P_OMS][E_OMS_CANCELLED],
	   can);
	eq(a, "log: oms E_OMS_PARTIAL", log->events[P_OMS][E_OMS_PARTIAL], par);
	eq(a, "log: exec E_FILL = fills", log->events[P_EXEC][E_FILL],
	   rec->exec.fills);
	eq(a, "log: exec E_CANCEL = cancels", log->events[P_EXEC][E_CANCEL],
	   rec->exec.cancels);
	eq(a, "log: md E_BURST = bursts", log->events[P_MD][E_BURST],
	   rec->md.bursts);
}

int tr_account(const struct tr_shared *sh, const struct tr_log_summary *log,
	       FILE *out)
{
	const struct tr_recovery *rec = sh->rec;
	const struct tr_risk_state *k;
	const struct tr_oms_rec *o;
	unsigned int s, i, ns = sh->cfg.strategies;
	uint64_t max = tr_max_orders(&sh->cfg), j, lines = 0;
	struct acct a = { out, 0 };
	char what[96];

	if (!rec || ns > TR_MAX_STRAT) {
		fprintf(out, "accounting: no recovery state\n");
		return -1;
	}
	k = &rec->risk.s[rec->risk.cur & 1];
	o = &rec->oms;
	fprintf(out, "accounting (orders):\n"
		"  %-6s %8s %8s %8s %8s %8s %8s %8s %6s\n", "strat", "sent",
		"accepted", "rej.pos", "rej.ntl", "filled", "partial",
		"cancel", "open");
	for (s = 0; s < ns; s++) {
		const struct tr_strat_rec *r = &rec->strat[s];
		const struct tr_strat_state *ss = &r->s[r->cur & 1];
		uint64_t n[O_CANCELLED + 1] = { 0 }, open;
		int64_t fq[TR_INSTR] = { 0 };

		for (j = 0; j < max; j++) {
			const struct tr_oms_ord *e = &rec->ord[s * max + j];

			if (e->state > O_CANCELLED)
				continue;
			n[e->state]++;
			if (e->state != O_EMPTY && e->instr < TR_INSTR)
				fq[e->instr] += e->side == SIDE_BUY ?
					(int64_t)e->filled : -(int64_t)e->filled;
		}
		open = n[O_NEW] + n[O_ACCEPTED] + n[O_PARTIAL];
		fprintf(out, "  %-6u %8" PRIu64 " %8" PRIu64 " %8" PRIu64
			" %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
			" %6" PRIu64 "\n", s, r->sent, k->accepted[s],
			k->rej_pos[s], k->rej_notional[s], o->filled[s],
			o->partials[s], o->cancelled[s], open);
		snprintf(what, sizeof(what),
			 "strat%u: sent = risk accepted + rejected", s);
		eq(&a, what, r->sent, k->accepted[s] + k->rej_pos[s] +
		   k->rej_notional[s]);
		snprintf(what, sizeof(what), "strat%u: sent = OMS received", s);
		eq(&a, what, r->sent, o->received[s]);
		snprintf(what, sizeof(what), "strat%u: OMS accepted = risk's", s);
		eq(&a, what, o->accepted[s], k->accepted[s]);
		snprintf(what, sizeof(what), "strat%u: OMS rejected = risk's", s);
		eq(&a, what, o->rejected[s], k->rej_pos[s] + k->rej_notional[s]);
		snprintf(what, sizeof(what),
			 "strat%u: accepted = filled + cancelled + open", s);
		eq(&a, what, o->accepted[s], n[O_FILLED] + n[O_CANCELLED] + open);
		snprintf(what, sizeof(what), "strat%u: table filled = count", s);
		eq(&a, what, n[O_FILLED], o->filled[s]);
		snprintf(what, sizeof(what), "strat%u: open after the drain", s);
		eq(&a, what, open, 0);
		snprintf(what, sizeof(what), "strat%u: reports seen = sent", s);
		eq(&a, what, ss->reports, o->rpt_sent[s]);
		for (i = 0; i < TR_INSTR; i++) {
			snprintf(what, sizeof(what),
				 "strat%u instr %u: OMS fills = risk position",
				 s, i);
			eq(&a, what, (uint64_t)fq[i], (uint64_t)k->pos[s][i]);
			snprintf(what, sizeof(what),
				 "strat%u instr %u: exec fills = risk position",
				 s, i);
			eq(&a, what, (uint64_t)rec->exec.qty[s][i],
			   (uint64_t)k->pos[s][i]);
			snprintf(what, sizeof(what),
				 "strat%u instr %u: its reports = position",
				 s, i);
			eq(&a, what, (uint64_t)ss->fill_qty[i],
			   (uint64_t)k->pos[s][i]);
			snprintf(what, sizeof(what),
				 "strat%u instr %u: open exposure", s, i);
			eq(&a, what, (uint64_t)(k->open_buy[s][i] +
						k->open_sell[s][i]), 0);
		}
	}
	eq(&a, "OMS: duplicate orders", o->dups, 0);
	eq(&a, "OMS: exec reports seen twice", o->exec_dups, 0);
	eq(&a, "OMS: records that make no sense", o->bad, 0);
	eq(&a, "risk: records that make no sense", k->bad, 0);
	fprintf(out, "  exec: %" PRIu64 " orders, %" PRIu64 " fills, %" PRIu64
		" cancels; risk saw %" PRIu64 " inputs again after restarts"
		" (skipped)\n", rec->exec.orders, rec->exec.fills,
		rec->exec.cancels, k->dups);
	if (log) {
		account_log(&a, sh, log);
		for (i = 0; i < TR_MAX_PROCS; i++)
			for (j = 0; j < TR_LOG_EVENTS; j++)
				lines += log->events[i][j];
		fprintf(out, "  log: %" PRIu64 " lines, %" PRIu64
			" gaps, %" PRIu64 " duplicates, %" PRIu64 " bad\n",
			log->lines, log->gaps, log->dups, log->bad);
	}
	(void)lines;
	fprintf(out, "  accounting %s (%d mismatches)\n",
		a.bad ? "FAILS" : "reconciles", a.bad);
	return a.bad ? -1 : 0;
}
