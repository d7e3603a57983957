// SPDX-License-Identifier: MIT
/*
 * pinshm-demo (`make demo`): a trading system of separate processes (see
 * trade.h) over pinshm rings, then the same system over UNIX sockets, in
 * one run, compared. The runner (run.c) starts and places every stage,
 * shows a live status line, stops them cleanly, optionally kills and
 * restarts some (--chaos), and prints the latencies, the rings, the
 * counters, the accounting and the regions (show.c).
 *
 * Exit status: 0 when, for every transport, every process exited 0 (or
 * was killed by --chaos and replaced), the log holds every record once and
 * the accounting reconciles; 1 otherwise; 2 for a bad command line.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinshm.h>

#include "cpu.h"
#include "plot.h"
#include "runner.h"

volatile sig_atomic_t demo_signal;

static void on_signal(int sig)
{
	(void)sig;
	/* The first one drains, a second one kills. */
	if (demo_signal < 2)
		demo_signal++;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: pinshm-demo [OPTIONS]\n"
"\n"
"A trading system of separate processes: a market data engine (md), N\n"
"strategies, risk, order management (oms), a simulated exchange (exec) and a\n"
"logger, over pinshm rings and then over sockets, with the same stages and\n"
"the same 64-byte messages; it prints tick-to-order and tick-to-trade\n"
"latencies, per-hop latencies, messages/s per ring, the counters, the\n"
"accounting (every order, fill and log line reconciled) and the regions.\n"
"\n"
"  -t, --transport LIST   pinshm, unix, tcp or all, comma-separated\n"
"                         (default: pinshm,unix, compared)\n"
"  -s, --seconds S        ticks for S seconds per transport (default 8)\n"
"  -n, --ticks N          stop after N ticks (with --seconds: what comes first)\n"
"  -r, --rate R           ticks per second, on average (default 10000)\n"
"  -S, --strategies N     strategy processes, 1..%d (default 2)\n"
"      --seed N           seeds the feed, the strategies and --chaos (default 1)\n"
"      --spin LIST        these stages spin on their input instead of sleeping:\n"
"                         md, risk, oms, exec, strat (every strategy) or\n"
"                         stratN; each gets a CPU of its own while one is left\n"
"                         for the others (the logger always sleeps)\n"
"      --cpus LIST        the CPUs to use, e.g. 0-3 or 0,2 (default: all allowed);\n"
"                         the sleeping stages share the first\n"
"      --spread           the sleeping stages float over every CPU no spinning\n"
"                         stage holds, instead of sharing the first\n"
"      --chaos            kill -9 a strategy, risk and the logger at random\n"
"                         (seeded) moments and restart them; pinshm only\n"
"      --plot FILE        per-hop latency percentile curves, a PNG (gnuplot)\n"
"      --log FILE         keep the log there (FILE.TRANSPORT for several)\n"
"  -b, --backend B        auto, kmod or shm (default auto: kmod when\n"
"                         /dev/pinshm exists; PINSHM_BACKEND overrides)\n"
"      --pos-limit Q      risk: position limit per strategy and instrument\n"
"                         (default 2000)\n"
"      --notional-limit X risk: notional limit per strategy (default 2e7)\n"
"  -q, --quiet            no live status line\n"
"  -h, --help\n"
"\n"
"Stages without a CPU of their own sleep in the link's wait strategy (a futex\n"
"on the shm backend, the module's WAIT on pinshm.ko; poll() on sockets).\n"
"Ctrl-C or SIGTERM stops the run cleanly (drain, then report); a second one\n"
"kills the stages. See pinshm-demo(1).\n", TR_MAX_STRAT);
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "pinshm-demo: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (--help)\n");
	return -EINVAL;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_transports(const char *arg, struct demo_opts *o)
{
	char buf[64], *tok, *save = NULL;
	unsigned int i;

	snprintf(buf, sizeof(buf), "%s", arg);
	o->ntransports = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		enum tr_transport t;

		if (!strcmp(tok, "all")) {
			o->transport[0] = T_PINSHM;
			o->transport[1] = T_UNIX;
			o->transport[2] = T_TCP;
			o->ntransports = 3;
			continue;
		}
		if (!strcmp(tok, "pinshm"))
			t = T_PINSHM;
		else if (!strcmp(tok, "unix"))
			t = T_UNIX;
		else if (!strcmp(tok, "tcp"))
			t = T_TCP;
		else
			return bad("--transport %s: want pinshm, unix, tcp or all", tok);
		for (i = 0; i < o->ntransports && o->transport[i] != t; i++)
			;
		if (i == o->ntransports && o->ntransports < DEMO_MAX_TRANSPORTS)
			o->transport[o->ntransports++] = t;
	}
	if (!o->ntransports)
		return bad("--transport %s: name one", arg);
	return 0;
}

static int parse_spin(const char *arg, struct demo_opts *o)
{
	char buf[128], *tok, *save = NULL;
	unsigned int s;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "md"))
			o->spin |= 1u << P_MD;
		else if (!strcmp(tok, "risk"))
			o->spin |= 1u << P_RISK;
		else if (!strcmp(tok, "oms"))
			o->spin |= 1u << P_OMS;
		else if (!strcmp(tok, "exec"))
			o->spin |= 1u << P_EXEC;
		else if (!strcmp(tok, "strat"))
			for (s = 0; s < TR_MAX_STRAT; s++)
				o->spin |= 1u << P_STRAT(s);
		else if (sscanf(tok, "strat%u", &s) == 1 && s < TR_MAX_STRAT)
			o->spin |= 1u << P_STRAT(s);
		else if (!strcmp(tok, "log"))
			return bad("--spin %s: the logger always sleeps (it must "
				   "not burn a core)", tok);
		else
			return bad("--spin %s: want md, risk, oms, exec, strat or "
				   "stratN", tok);
	}
	return 0;
}

/* "0-3,6" against the CPUs we may run on. */
static int parse_cpus(const char *arg, struct demo_opts *o)
{
	int allowed[DEMO_MAX_CPUS], na, i, a, b, k;
	const char *p = arg;
	char *end;

	na = bench_allowed_cpus(allowed, DEMO_MAX_CPUS);
	if (na < 0)
		return na;
	o->ncpus = 0;
	while (*p) {
		a = (int)strtol(p, &end, 10);
		if (end == p || a < 0)
			return bad("--cpus %s: want a list like 0-3 or 0,2", arg);
		b = a;
		p = end;
		if (*p == '-') {
			b = (int)strtol(p + 1, &end, 10);
			if (end == p + 1 || b < a)
				return bad("--cpus %s: want a list like 0-3 or 0,2", arg);
			p = end;
		}
		for (k = a; k <= b; k++) {
			for (i = 0; i < na && allowed[i] != k; i++)
				;
			if (i == na)
				return bad("--cpus %s: a CPU we may not run on", arg);
			for (i = 0; i < o->ncpus && o->cpus[i] != k; i++)
				;
			if (i == o->ncpus && o->ncpus < DEMO_MAX_CPUS)
				o->cpus[o->ncpus++] = k;
		}
		if (*p == ',')
			p++;
		else if (*p)
			return bad("--cpus %s: want a list like 0-3 or 0,2", arg);
	}
	return o->ncpus ? 0 : bad("--cpus %s: name one", arg);
}

/* The pinshm command beside this program, for the listing of regions. */
static const char *find_pinshm(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 16);
	char *slash;

	if (n <= 0)
		return NULL;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (!slash)
		return NULL;
	strcpy(slash + 1, "pinshm");
	return access(path, X_OK) ? NULL : path;
}

enum { O_SEED = 256, O_SPIN, O_CPUS, O_SPREAD, O_CHAOS, O_PLOT, O_LOG, O_POS, O_NOT };

static int parse(int argc, char **argv, struct demo_opts *o)
{
	static const struct option lo[] = {
		{ "transport", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "ticks", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "strategies", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, O_SEED },
		{ "spin", required_argument, NULL, O_SPIN },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "spread", no_argument, NULL, O_SPREAD },
		{ "chaos", no_argument, NULL, O_CHAOS },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "log", required_argument, NULL, O_LOG },
		{ "backend", required_argument, NULL, 'b' },
		{ "pos-limit", required_argument, NULL, O_POS },
		{ "notional-limit", required_argument, NULL, O_NOT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool chose_transport = false, chose_seconds = false;
	uint64_t v;
	char *end;
	int c, ret, s;

	o->transport[0] = T_PINSHM;
	o->transport[1] = T_UNIX;
	o->ntransports = 2;
	o->seconds = 8;
	o->rate = 10000;
	o->strategies = 2;
	o->seed = 1;
	o->backend = PINSHM_BACKEND_AUTO;
	o->pos_limit = 2000;
	o->notional_limit = 20000000LL * TR_PX_SCALE;
	while ((c = getopt_long(argc, argv, "t:s:n:r:S:b:qh", lo, NULL)) != -1) {
		ret = 0;
		switch (c) {
		case 't':
			ret = parse_transports(optarg, o);
			chose_transport = true;
			break;
		case 's':
			errno = 0;
			o->seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->seconds > 0) ||
			    o->seconds > 86400)
				ret = bad("--seconds %s: want 0 < S <= 86400", optarg);
			chose_seconds = true;
			break;
		case 'n':
			if (parse_u64(optarg, 1, 1ULL << 40, &o->ticks))
				ret = bad("--ticks %s: want 1 or more", optarg);
			break;
		case 'r':
			if (parse_u64(optarg, 1, 10000000, &v))
				ret = bad("--rate %s: want 1..10000000", optarg);
			o->rate = (unsigned int)v;
			break;
		case 'S':
			if (parse_u64(optarg, 1, TR_MAX_STRAT, &v))
				ret = bad("--strategies %s: want 1..8", optarg);
			o->strategies = (unsigned int)v;
			break;
		case O_SEED:
			if (parse_u64(optarg, 0, UINT64_MAX, &o->seed))
				ret = bad("--seed %s: want a number", optarg);
			break;
		case O_SPIN:
			ret = parse_spin(optarg, o);
			break;
		case O_CPUS:
			ret = parse_cpus(optarg, o);
			break;
		case O_SPREAD:
			o->spread = true;
			break;
		case O_CHAOS:
			o->chaos = true;
			break;
		case O_PLOT:
			o->plot = optarg;
			break;
		case O_LOG:
			o->log = optarg;
			break;
		case 'b':
			o->backend = pinshm_backend_parse(optarg);
			if (o->backend < 0)
				ret = bad("--backend %s: want auto, kmod or shm", optarg);
			break;
		case O_POS:
			if (parse_u64(optarg, 1, 1ULL << 40, &v))
				ret = bad("--pos-limit %s: want 1 or more", optarg);
			o->pos_limit = (int64_t)v;
			break;
		case O_NOT:
			errno = 0;
			o->notional_limit = (int64_t)(strtod(optarg, &end) * TR_PX_SCALE);
			if (errno || end == optarg || *end || o->notional_limit <= 0)
				ret = bad("--notional-limit %s: want a positive amount",
					  optarg);
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (ret)
			return ret;
	}
	if (optind < argc)
		return bad("%s: no arguments expected", argv[optind]);
	if (o->ticks && !chose_seconds)
		o->seconds = 0;		/* --ticks alone: as long as it takes */
	if (!o->ncpus) {
		o->ncpus = bench_allowed_cpus(o->cpus, DEMO_MAX_CPUS);
		if (o->ncpus <= 0) {
			fprintf(stderr, "pinshm-demo: cannot read the CPUs we may "
				"run on\n");
			return -EINVAL;
		}
	}
	for (s = (int)o->strategies; s < TR_MAX_STRAT; s++)
		o->spin &= ~(1u << P_STRAT(s));
	if (o->chaos) {
		unsigned int i;

		for (i = 0; i < o->ntransports; i++)
			if (o->transport[i] != T_PINSHM && chose_transport)
				return bad("--chaos with %s: a killed process takes "
					   "what its socket buffers held with it, so "
					   "nothing could reconcile; --chaos runs on "
					   "pinshm only",
					   tr_transport_name(o->transport[i]));
		o->transport[0] = T_PINSHM;
		o->ntransports = 1;
	}
	if (o->plot && !bench_have_gnuplot())
		return bad("--plot %s: gnuplot not found (apt-get install "
			   "gnuplot-nox)", o->plot);
	return 0;
}

static void say_backend(const struct demo_opts *o)
{
	unsigned int i;

	for (i = 0; i < o->ntransports && o->transport[i] != T_PINSHM; i++)
		;
	if (i == o->ntransports)
		return;
	if (o->backend == PINSHM_BACKEND_KMOD)
		printf("pinshm backend: kmod (pinshm.ko: pinned, contiguous "
		       "regions; sleeping stages wait in the module's WAIT)\n");
	else
		printf("pinshm backend: shm (%s; files under /dev/shm; sleeping "
		       "stages wait on a futex)\n", access("/dev/pinshm", F_OK) ?
		       "no /dev/pinshm, so the embedded backend" :
		       "asked for, though /dev/pinshm exists");
}

int main(int argc, char **argv)
{
	struct demo_run run[DEMO_MAX_TRANSPORTS];
	struct demo_opts o = { 0 };
	struct bench_clock clk;
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned int i, n = 0;
	int failed = 0, ret;

	if (parse(argc, argv, &o))
		return 2;
	o.backend = pinshm_backend_resolve(o.backend);
	if (o.backend < 0) {
		fprintf(stderr, "pinshm-demo: backend: %s\n", strerror(-o.backend));
		return 1;
	}
	o.pinshm = find_pinshm();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("pinshm-demo: a trading system of %u processes (md, %u strateg%s, "
	       "risk, oms, exec, log) over", o.strategies + 5, o.strategies,
	       o.strategies == 1 ? "y" : "ies");
	for (i = 0; i < o.ntransports; i++)
		printf("%s %s", i ? (i + 1 == o.ntransports ? " then" : ",") : "",
		       tr_transport_name(o.transport[i]));
	if (o.ticks)
		printf("; %llu ticks", (unsigned long long)o.ticks);
	if (o.seconds > 0)
		printf("; %s%.1f s each", o.ticks ? "at most " : "", o.seconds);
	printf("\n");
	say_backend(&o);
	bench_clock_init(&clk, 100);
	printf("clock: TSC %.3f GHz%s\n", clk.ticks_per_ns,
	       clk.constant_tsc && clk.nonstop_tsc ? "" :
	       " (not an invariant TSC: latencies may be off)");

	memset(run, 0, sizeof(run));
	for (i = 0; i < o.ntransports; i++) {
		if (demo_signal)
			break;
		ret = demo_run(&o, &clk, o.transport[i], &run[n]);
		if (ret) {
			failed = 1;
			printf("\n%s: FAILED: %s\n",
			       tr_transport_name(o.transport[i]), run[n].why);
		}
		n++;
	}
	if (n > 1 || (n == 1 && !run[0].failed))
		demo_show_compare(run, n);
	if (o.plot && n) {
		ret = demo_plot(o.plot, run, n);
		if (ret) {
			fprintf(stderr, "pinshm-demo: --plot %s: %s\n", o.plot,
				ret == -EIO ? "gnuplot failed" : strerror(-ret));
			failed = 1;
		} else {
			printf("\nplot: %s\n", o.plot);
		}
	}
	for (i = 0; i < n; i++)
		demo_run_free(&run[i]);
	if (demo_signal && !failed)
		printf("\ninterrupted: the runs so far reconciled\n");
	printf("\npinshm-demo: %s\n", failed ? "FAILED" :
	       "every process exited 0, every order and log line accounted for");
	return failed;
}
