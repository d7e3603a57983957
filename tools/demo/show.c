// SPDX-License-Identifier: MIT
/*
 * pinshm-demo: what the runner prints. The live status line (stderr), the
 * report of one run (latencies, hops, rings, processes, kills), the
 * regions (pinshm ls), the comparison of the transports and the plot,
 * and the names they use (stages, hops, exit statuses). Everything here
 * only reads the run's shared state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <pinshm.h>

#include "plot.h"
#include "runner.h"

static const char *const proc_names[P_STRAT0] = {
	[P_MD] = "md", [P_RISK] = "risk", [P_OMS] = "oms", [P_EXEC] = "exec",
	[P_LOG] = "log",
};

const char *demo_proc_name(int proc)
{
	static const char *const strat[TR_MAX_STRAT] = { "strat0", "strat1",
		"strat2", "strat3", "strat4", "strat5", "strat6", "strat7" };

	if (proc >= 0 && proc < P_STRAT0)
		return proc_names[proc];
	if (proc >= P_STRAT0 && proc < TR_MAX_PROCS)
		return strat[proc - P_STRAT0];
	return "?";
}

/* Consumers first, md last: the ticks find every reader there. */
unsigned int demo_procs(unsigned int strategies, int *procs)
{
	unsigned int n = 0, s;

	procs[n++] = P_LOG;
	procs[n++] = P_EXEC;
	procs[n++] = P_OMS;
	procs[n++] = P_RISK;
	for (s = 0; s < strategies && s < TR_MAX_STRAT; s++)
		procs[n++] = P_STRAT(s);
	procs[n++] = P_MD;
	return n;
}

void demo_status_text(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status 0x%x", st);
}

static const char *const hop_names[TR_HOPS] = {
	[H_MD_STRAT] = "md -> strat (ticks)",
	[H_STRAT_RISK] = "strat -> risk (orders)",
	[H_RISK_OMS] = "risk -> oms (decisions)",
	[H_OMS_EXEC] = "oms -> exec",
	[H_EXEC_OMS] = "exec -> oms (reports)",
	[H_OMS_STRAT] = "oms -> strat (reports)",
	[H_OMS_RISK] = "oms -> risk (reports)",
	[H_TO_LOG] = "stages -> log",
	[H_TICK_TO_ORDER] = "tick-to-order",
	[H_TICK_TO_TRADE] = "tick-to-trade",
};

const char *demo_hop_name(int hop)
{
	return hop >= 0 && hop < TR_HOPS ? hop_names[hop] : "?";
}

/* The rings (and slots) of the report, each counted at its consumer. */
enum ring { RG_TICKS, RG_BOOK, RG_RISK, RG_OMS, RG_EXEC, RG_RPT, RG_POS,
	    RG_LOG, NR_RG };

static const char *const ring_names[NR_RG] = {
	[RG_TICKS] = "ticks (bcast, md)",
	[RG_BOOK] = "book.I (slots, md)",
	[RG_RISK] = "risk.in (mpsc)",
	[RG_OMS] = "oms.in (mpsc)",
	[RG_EXEC] = "exec.in (spsc)",
	[RG_RPT] = "rpt.S (spsc)",
	[RG_POS] = "pos.S (slots, risk)",
	[RG_LOG] = "log (mpsc)",
};

static uint64_t ld(const uint64_t *p)
{
	/* A counter of another process: relaxed, a snapshot. */
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void ring_counts(const struct tr_shared *sh, uint64_t *n)
{
	unsigned int s, i;

	memset(n, 0, NR_RG * sizeof(*n));
	n[RG_TICKS] = ld(&sh->st[P_MD].out[L_TICKS]);
	for (i = 0; i < TR_INSTR; i++)
		n[RG_BOOK] += ld(&sh->st[P_MD].out[L_BOOK(i)]);
	n[RG_RISK] = ld(&sh->st[P_RISK].in[L_RISK_IN]);
	n[RG_OMS] = ld(&sh->st[P_OMS].in[L_OMS_IN]);
	n[RG_EXEC] = ld(&sh->st[P_EXEC].in[L_EXEC_IN]);
	for (s = 0; s < sh->cfg.strategies && s < TR_MAX_STRAT; s++) {
		n[RG_RPT] += ld(&sh->st[P_STRAT(s)].in[L_RPT(s)]);
		n[RG_POS] += ld(&sh->st[P_RISK].out[L_POS(s)]);
	}
	n[RG_LOG] = ld(&sh->st[P_LOG].in[L_LOG]);
}

/* Orders sent, fills seen by the OMS, rejects (risk's verdicts the OMS
 * did not send on; a little behind while orders are in flight). */
static void order_counts(const struct tr_shared *sh, uint64_t *orders,
			 uint64_t *fills, uint64_t *rejects)
{
	uint64_t decided = ld(&sh->st[P_RISK].out[L_OMS_IN]);
	uint64_t sent_on = ld(&sh->st[P_OMS].out[L_EXEC_IN]);
	unsigned int s;

	*orders = 0;
	for (s = 0; s < sh->cfg.strategies && s < TR_MAX_STRAT; s++)
		*orders += ld(&sh->st[P_STRAT(s)].out[L_RISK_IN]);
	*fills = ld(&sh->hop[H_TICK_TO_TRADE].count);
	*rejects = decided > sent_on ? decided - sent_on : 0;
}

static const char *si(double v, char *buf, size_t len)
{
	if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

void demo_show_status(const struct demo_run *r, double t_s, bool tty)
{
	static const struct tr_shared *prev_sh;
	static uint64_t prev[NR_RG];
	static double prev_t;
	static const enum ring shown[] = { RG_TICKS, RG_RISK, RG_OMS, RG_EXEC,
					   RG_RPT, RG_LOG };
	const struct tr_shared *sh = r->sh;
	uint64_t n[NR_RG], orders, fills, rejects, restarts = 0;
	char line[400], b[16];
	size_t off = 0;
	double dt;
	unsigned int i;

	if (prev_sh != sh) {
		prev_sh = sh;
		memset(prev, 0, sizeof(prev));
		prev_t = 0;
	}
	ring_counts(sh, n);
	order_counts(sh, &orders, &fills, &rejects);
	for (i = 0; i < TR_MAX_PROCS; i++)
		restarts += sh->restarts[i];
	dt = t_s - prev_t > 0.01 ? t_s - prev_t : 1;
	off += (size_t)snprintf(line + off, sizeof(line) - off, "[%s %3.0fs%s] ",
				tr_transport_name(r->transport), t_s,
				__atomic_load_n(&sh->stop, __ATOMIC_RELAXED) ?
				" drain" : "");
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		const char *name = ring_names[shown[i]];

		off += (size_t)snprintf(line + off, sizeof(line) - off, "%.*s %s/s ",
					(int)(strchrnul(name, ' ') - name), name, si((double)(n[shown[i]] - prev[shown[i]]) / dt,
						 b, sizeof(b)));
	}
	snprintf(line + off, sizeof(line) - off,
		 "| orders %llu fills %llu rejects %llu restarts %llu",
		 (unsigned long long)orders, (unsigned long long)fills,
		 (unsigned long long)rejects, (unsigned long long)restarts);
	memcpy(prev, n, sizeof(prev));
	prev_t = t_s;
	if (tty)
		fprintf(stderr, "\r\033[K%s", line);
	else
		fprintf(stderr, "%s\n", line);
	fflush(stderr);
}

static void lat_row(const char *name, const struct bench_hist *h,
		    const struct bench_clock *clk)
{
	struct bench_lat l;

	if (!h->count) {
		printf("  %-26s %10s\n", name, "0");
		return;
	}
	bench_hist_summary(h, clk, &l);
	printf("  %-26s %10llu %9.0f %9.0f %9.0f %10.0f\n", name,
	       (unsigned long long)l.count, l.p50, l.p99, l.p999, l.max);
}

static void show_latency(const struct demo_run *r)
{
	const struct tr_shared *sh = r->sh;
	int h;

	printf("\n  %-26s %10s %9s %9s %9s %10s\n", "latency, ns", "samples",
	       "p50", "p99", "p99.9", "max");
	lat_row(hop_names[H_TICK_TO_ORDER], &sh->hop[H_TICK_TO_ORDER], &sh->clk);
	lat_row(hop_names[H_TICK_TO_TRADE], &sh->hop[H_TICK_TO_TRADE], &sh->clk);
	printf("  per hop (commit to peek):\n");
	for (h = 0; h < H_TICK_TO_ORDER; h++)
		lat_row(hop_names[h], &sh->hop[h], &sh->clk);
}

static void show_rings(const struct demo_run *r)
{
	uint64_t n[NR_RG];
	double t = r->active_s > 0 ? r->active_s : 1;
	char b[16];
	int i;

	ring_counts(r->sh, n);
	printf("\n  %-26s %10s %9s   (records over the %.1f s of ticks)\n",
	       "ring", "records", "msgs/s", r->active_s);
	for (i = 0; i < NR_RG; i++)
		printf("  %-26s %10llu %9s\n", ring_names[i],
		       (unsigned long long)n[i], si((double)n[i] / t, b, sizeof(b)));
}

static void show_procs(const struct demo_run *r)
{
	const struct tr_shared *sh = r->sh;
	int procs[TR_MAX_PROCS];
	unsigned int n = demo_procs(sh->cfg.strategies, procs), k, l;
	char st[64];

	printf("\n  %-7s %7s %3s %10s %10s %9s %7s  %-16s %s\n", "stage", "pid",
	       "rst", "in", "out", "wakes", "lapped", "exit", "placement");
	for (k = 0; k < n; k++) {
		const struct tr_proc_stats *ps = &sh->st[procs[k]];
		uint64_t in = 0, out = 0;
		int p = procs[k];

		for (l = 0; l < TR_LINKS; l++) {
			in += ld(&ps->in[l]);
			out += ld(&ps->out[l]);
		}
		if (r->exited[p])
			demo_status_text(r->status[p], st, sizeof(st));
		else
			snprintf(st, sizeof(st), "?");
		printf("  %-7s %7d %3u %10llu %10llu %9llu %7llu  %-16s %s%s\n",
		       demo_proc_name(p), (int)sh->pid[p], sh->restarts[p],
		       (unsigned long long)in, (unsigned long long)out,
		       (unsigned long long)ld(&ps->wakes),
		       (unsigned long long)ld(&ps->lapped), st, r->place[p],
		       !ps->spins != !(sh->cfg.spin & (1u << p)) ?
		       (ps->spins ? " (said it spins)" : " (said it sleeps)") : "");
	}
}

static void show_kills(const struct demo_run *r)
{
	unsigned int i;

	if (!r->nkills)
		return;
	printf("\n  chaos: kill -9 and restart (restarted = true)\n");
	for (i = 0; i < r->nkills; i++) {
		const struct demo_kill *k = &r->kill[i];

		if (!k->done_s)
			printf("    %6.2f s  %-7s not done: the run ended first\n",
			       k->at_s, demo_proc_name(k->proc));
		else
			printf("    %6.2f s  %-7s pid %d killed, pid %d took over\n",
			       k->done_s, demo_proc_name(k->proc), (int)k->pid,
			       (int)k->new_pid);
	}
}

void demo_show_run(const struct demo_opts *o, const struct demo_run *r)
{
	(void)o;
	printf("\n-- %s: %.1f s of ticks, drained in %.2f s%s%s%s\n",
	       tr_transport_name(r->transport), r->active_s, r->drain_s,
	       r->interrupted ? ", interrupted" : "",
	       r->failed ? ", FAILED: " : "", r->failed ? r->why : "");
	show_latency(r);
	show_rings(r);
	show_procs(r);
	show_kills(r);
	if (r->log_ret)
		printf("\n  log %s: %s\n", r->log_path, strerror(-r->log_ret));
	else
		printf("\n  log %s: %llu lines, %llu gaps, %llu duplicates, "
		       "%llu bad\n", r->log_path,
		       (unsigned long long)r->log.lines,
		       (unsigned long long)r->log.gaps,
		       (unsigned long long)r->log.dups,
		       (unsigned long long)r->log.bad);
	fflush(stdout);
}

/*
 * The run's regions as pinshm ls shows them, before teardown: its own
 * command when there, else the library's list of names.
 */
void demo_show_regions(const struct demo_opts *o, const struct demo_run *r)
{
	const char *prefix = r->sh->cfg.prefix;
	size_t plen = strlen(prefix);
	char cmd[1200], line[512];
	FILE *p = NULL;
	int n = 0;

	printf("\n  regions (pinshm ls, backend %s):\n",
	       pinshm_backend_name(r->sh->cfg.backend));
	fflush(stdout);
	if (o->pinshm && !strchr(o->pinshm, '\'')) {
		snprintf(cmd, sizeof(cmd), "'%s' --backend %s ls 2>&1", o->pinshm,
			 pinshm_backend_name(r->sh->cfg.backend));
		p = popen(cmd, "r");
	}
	if (p) {
		bool head = true;

		while (fgets(line, sizeof(line), p)) {
			/* The header, and our regions only. */
			if (head || !strncmp(line, prefix, plen)) {
				printf("    %s", line);
				n += !head;
			}
			head = false;
		}
		if (pclose(p) == 0 && n)
			return;
	}
	{
		char (*names)[PINSHM_NAME_MAX] = calloc(256, PINSHM_NAME_MAX);
		int i, total;

		if (!names)
			return;
		total = pinshm_region_list(r->sh->cfg.backend, names, 256);
		for (i = 0; i < total && i < 256; i++)
			if (!strncmp(names[i], prefix, plen))
				printf("    %s\n", names[i]);
		if (total < 0)
			printf("    (cannot list: %s)\n", strerror(-total));
		free(names);
	}
}

static double pct_ns(const struct demo_run *r, int hop, double p)
{
	const struct bench_hist *h = &r->sh->hop[hop];

	if (!h->count)
		return 0;
	return bench_ticks_to_ns(&r->sh->clk, bench_hist_percentile(h, p));
}

void demo_show_compare(const struct demo_run *r, unsigned int n)
{
	static const int hops[] = { H_TICK_TO_ORDER, H_TICK_TO_TRADE };
	unsigned int i, j, base = n;

	for (i = 0; i < n; i++)
		if (r[i].transport == T_PINSHM && r[i].sh)
			base = i;
	printf("\n== tick-to-order and tick-to-trade, ns, every transport of "
	       "this run\n  %-8s %-14s %9s %9s %9s %10s\n", "transport",
	       "", "p50", "p99", "p99.9", "samples");
	for (i = 0; i < n; i++) {
		if (!r[i].sh)
			continue;
		for (j = 0; j < 2; j++)
			printf("  %-8s %-14s %9.0f %9.0f %9.0f %10llu%s\n",
			       j ? "" : tr_transport_name(r[i].transport),
			       hop_names[hops[j]], pct_ns(&r[i], hops[j], 50),
			       pct_ns(&r[i], hops[j], 99),
			       pct_ns(&r[i], hops[j], 99.9),
			       (unsigned long long)r[i].sh->hop[hops[j]].count,
			       r[i].failed ? "  (run failed)" : "");
	}
	if (base == n)
		return;
	for (i = 0; i < n; i++) {
		if (i == base || !r[i].sh)
			continue;
		printf("  %s vs pinshm:", tr_transport_name(r[i].transport));
		for (j = 0; j < 2; j++) {
			double a50 = pct_ns(&r[base], hops[j], 50);
			double a99 = pct_ns(&r[base], hops[j], 99);

			printf("%s %s p50 %.2fx, p99 %.2fx", j ? ";" : "",
			       hop_names[hops[j]],
			       a50 > 0 ? pct_ns(&r[i], hops[j], 50) / a50 : 0,
			       a99 > 0 ? pct_ns(&r[i], hops[j], 99) / a99 : 0);
		}
		printf(" (its latency over pinshm's)\n");
	}
}

/* One panel per hop, one curve per transport. */
int demo_plot(const char *path, const struct demo_run *r, unsigned int n)
{
	static const int order[TR_HOPS] = { H_TICK_TO_ORDER, H_TICK_TO_TRADE,
		H_MD_STRAT, H_STRAT_RISK, H_RISK_OMS, H_OMS_EXEC, H_EXEC_OMS,
		H_OMS_STRAT, H_OMS_RISK, H_TO_LOG };
	struct bench_plot_panel panel[TR_HOPS];
	struct bench_plot_curve curve[TR_HOPS][DEMO_MAX_TRANSPORTS];
	char legend[TR_HOPS][DEMO_MAX_TRANSPORTS][64];
	const struct bench_clock *clk = NULL;
	unsigned int i, j, c;

	for (i = 0; i < TR_HOPS; i++) {
		int h = order[i];

		c = 0;
		for (j = 0; j < n && j < DEMO_MAX_TRANSPORTS; j++) {
			if (!r[j].sh)
				continue;
			clk = &r[j].sh->clk;
			snprintf(legend[i][c], sizeof(legend[i][c]),
				 "%s (p50 %.0f ns, p99 %.0f ns)",
				 tr_transport_name(r[j].transport),
				 pct_ns(&r[j], h, 50), pct_ns(&r[j], h, 99));
			curve[i][c].legend = legend[i][c];
			curve[i][c].h = &r[j].sh->hop[h];
			c++;
		}
		panel[i].title = hop_names[h];
		panel[i].ylabel = "latency (log scale)";
		panel[i].curve = curve[i];
		panel[i].ncurves = c;
	}
	if (!clk)
		return -ENODATA;
	return bench_plot_hists(path, "pinshm-demo: per-hop latency, commit to "
				"peek (tick-to-order/trade: tick made to exec / "
				"the fill)", panel, TR_HOPS, clk);
}
