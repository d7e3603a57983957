// SPDX-License-Identifier: MIT
/*
 * pinshm-demo: one run of the trading system over one transport.
 *
 * The runner forks every stage (no exec) after tr_setup(), places them on
 * CPUs, watches them, and ends the run in three phases:
 *   run    md makes ticks until --seconds or --ticks (or Ctrl-C/SIGTERM);
 *          --chaos kills a strategy, risk and the logger with SIGKILL at
 *          seeded moments and restarts each at once (restarted = true);
 *   drain  stop = 1: md stops, strategies stop ordering, every stage keeps
 *          consuming until its input stays empty and sets st[p].idle; the
 *          runner waits for every stage idle and every counter unchanged
 *          for DRAIN_STABLE_MS;
 *   quit   quit = 1: every stage exits 0; the runner reaps them.
 * A stage that exits otherwise (or early) fails the run: stop = 2, the
 * others are killed, the run returns -1.
 *
 * Flags the runner writes and the stages read (sh->stop, sh->quit): the
 * runner's release store pairs with the stage's acquire load (the stage
 * sees every field the runner wrote before, e.g. restarts[]). Flags and
 * counters the stages write (st[p].idle, st[p].in/out): the runner's
 * acquire loads pair with the stage's stores; a counter read late is only
 * a status line a little behind.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <pinshm.h>

#include "runner.h"

#define TICK_MS			50	/* the runner's loop */
#define DRAIN_STABLE_MS		250	/* every stage idle and still */
#define DRAIN_TIMEOUT_S		20.0
#define QUIT_TIMEOUT_S		5.0

enum phase { PH_RUN, PH_DRAIN, PH_QUIT, PH_DONE };

/* The state of one run in the runner (never shared). */
struct runner {
	const struct demo_opts *o;
	struct demo_run *r;
	struct tr_shared *sh;
	int procs[TR_MAX_PROCS];
	unsigned int nprocs;
	bool alive[TR_MAX_PROCS];
	cpu_set_t mask[TR_MAX_PROCS];
	char sock_dir[128];
	enum phase phase;
	uint64_t t0_ns;		/* md started */
	uint64_t stop_ns;	/* stop = 1 */
	unsigned int next_kill;
};

static double since_s(uint64_t t0_ns)
{
	return (double)(bench_mono_ns() - t0_ns) / 1e9;
}

static void set_why(struct demo_run *r, const char *fmt, ...)
{
	va_list ap;

	r->failed = true;
	if (r->why[0])
		return;		/* the first failure is the one to tell */
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

static void cpus_text(const int *cpu, int n, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%d",
					i ? "," : "", cpu[i]);
}

/*
 * Where each stage runs. A stage that spins gets a CPU of its own, taken
 * from the end of the list, as long as one CPU stays for the others.
 * Every other stage sleeps in its link's wait strategy, and all of them
 * share the first CPU (--spread: float over every CPU left), as a
 * trading host keeps its housekeeping on one core and isolates the rest:
 * a hand-off between two stages of one CPU is a context switch, where a
 * wake on another CPU that idles (in a VM, a halted vCPU) costs tens of
 * microseconds.
 */
static void place(struct runner *x)
{
	const struct demo_opts *o = x->o;
	struct tr_cfg *cfg = &x->sh->cfg;
	int last = o->ncpus - 1, p, i, upto;
	char rest[128];
	unsigned int k;

	for (k = 0; k < x->nprocs; k++) {
		p = x->procs[k];
		cfg->cpu[p] = -1;
		CPU_ZERO(&x->mask[p]);
		if (!(cfg->spin & (1u << p)) || last < 1)
			continue;
		cfg->cpu[p] = o->cpus[last--];
		CPU_SET(cfg->cpu[p], &x->mask[p]);
		snprintf(x->r->place[p], sizeof(x->r->place[p]),
			 "spins, CPU %d alone", cfg->cpu[p]);
	}
	upto = o->spread ? last : 0;
	cpus_text(o->cpus, upto + 1, rest, sizeof(rest));
	for (k = 0; k < x->nprocs; k++) {
		p = x->procs[k];
		if (cfg->cpu[p] >= 0)
			continue;
		for (i = 0; i <= upto; i++)
			CPU_SET(o->cpus[i], &x->mask[p]);
		if (upto == 0)
			cfg->cpu[p] = o->cpus[0];
		snprintf(x->r->place[p], sizeof(x->r->place[p]), "%s, CPU%s %s%s",
			 cfg->spin & (1u << p) ? "spins" : "sleeps",
			 upto ? "s" : "", rest,
			 cfg->spin & (1u << p) ? " (no CPU of its own left)" :
			 " (shared)");
	}
}

static int proc_of(const struct runner *x, pid_t pid)
{
	unsigned int k;

	for (k = 0; k < x->nprocs; k++)
		if (x->alive[x->procs[k]] && x->sh->pid[x->procs[k]] == pid)
			return x->procs[k];
	return -1;
}

static int spawn(struct runner *x, int proc, bool restarted)
{
	pid_t parent = getpid(), pid;
	sigset_t none;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int ret;

		/* The stage dies with the runner; it drains on stop, not on
		 * the terminal's Ctrl-C (the runner turns that into stop). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (CPU_COUNT(&x->mask[proc]) &&
		    sched_setaffinity(0, sizeof(x->mask[proc]), &x->mask[proc]))
			fprintf(stderr, "pinshm-demo: %s: cannot pin: %s\n",
				demo_proc_name(proc), strerror(errno));
		ret = tr_stage_main(x->sh, proc, restarted);
		fflush(NULL);
		_exit(ret == 0 ? 0 : 1);
	}
	/* Read by stages only for the report; a plain store is enough. */
	x->sh->pid[proc] = pid;
	x->alive[proc] = true;
	return 0;
}

/* stop = 2, SIGKILL to every stage alive, reap them. */
static void kill_all(struct runner *x)
{
	unsigned int k;
	int st, p;

	/* Relaxed, as every flag of sh (trade.h): it carries no data. */
	__atomic_store_n(&x->sh->stop, 2, __ATOMIC_RELAXED);
	for (k = 0; k < x->nprocs; k++) {
		p = x->procs[k];
		if (x->alive[p])
			kill(x->sh->pid[p], SIGKILL);
	}
	for (k = 0; k < x->nprocs; k++) {
		p = x->procs[k];
		if (!x->alive[p])
			continue;
		while (waitpid(x->sh->pid[p], &st, 0) < 0 && errno == EINTR)
			;
		x->alive[p] = false;
		x->r->exited[p] = true;
		x->r->status[p] = st;
	}
	x->phase = PH_DONE;
}

/* A random number of the seeded sequence (splitmix64). */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int cmp_kill(const void *a, const void *b)
{
	const struct demo_kill *ka = a, *kb = b;

	return (ka->at_s > kb->at_s) - (ka->at_s < kb->at_s);
}

/*
 * --chaos: a strategy (picked by the seed), risk and the logger, once
 * each, twice in a run of 8 s or more, at seeded moments between 15% and
 * 85% of the run.
 */
static void plan_chaos(struct runner *x)
{
	const struct demo_opts *o = x->o;
	double d = o->ticks ? (double)o->ticks / o->rate : o->seconds;
	uint64_t s = o->seed ^ 0xc4a05ULL;
	unsigned int rounds = d >= 8 ? 2 : 1, i;
	int victim[3];

	if (o->seconds > 0 && o->seconds < d)
		d = o->seconds;
	victim[0] = P_STRAT((unsigned int)(rnd(&s) % o->strategies));
	victim[1] = P_RISK;
	victim[2] = P_LOG;
	for (i = 0; i < rounds * 3 && i < DEMO_MAX_KILLS; i++) {
		struct demo_kill *k = &x->r->kill[x->r->nkills++];

		k->proc = victim[i % 3];
		k->at_s = d * (0.15 + 0.7 * (double)(rnd(&s) % 10000) / 1e4);
	}
	qsort(x->r->kill, x->r->nkills, sizeof(x->r->kill[0]), cmp_kill);
}

static void do_kill(struct runner *x, struct demo_kill *k)
{
	int p = k->proc, st, ret;
	char why[96];

	k->pid = x->sh->pid[p];
	k->done_s = since_s(x->t0_ns);
	kill(k->pid, SIGKILL);
	while ((ret = waitpid(k->pid, &st, 0)) < 0 && errno == EINTR)
		;
	x->alive[p] = false;
	x->r->status[p] = st;
	if (ret < 0 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
		demo_status_text(st, why, sizeof(why));
		set_why(x->r, "%s ended by itself before its kill -9 (%s)",
			demo_proc_name(p), why);
		kill_all(x);
		return;
	}
	x->sh->restarts[p]++;
	ret = spawn(x, p, true);
	if (ret) {
		set_why(x->r, "restart %s: %s", demo_proc_name(p), strerror(-ret));
		kill_all(x);
		return;
	}
	k->new_pid = x->sh->pid[p];
}

/* Reap what exited; anything but a clean exit at quit fails the run. */
static void reap(struct runner *x)
{
	char why[96];
	pid_t pid;
	int st, p;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		p = proc_of(x, pid);
		if (p < 0)
			continue;
		x->alive[p] = false;
		x->r->exited[p] = true;
		x->r->status[p] = st;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
		    x->phase >= PH_DRAIN)
			continue;	/* at quit; or drained and left early */
		demo_status_text(st, why, sizeof(why));
		set_why(x->r, "%s (pid %d) %s %s", demo_proc_name(p), (int)pid,
			why, x->phase == PH_RUN ? "during the run" :
			x->phase == PH_DRAIN ? "while draining" : "at quit");
		kill_all(x);
		return;
	}
}

/* Everything the stages count, summed: unchanged while drained. */
static uint64_t activity(const struct runner *x)
{
	uint64_t sum = 0;
	unsigned int k, l;

	for (k = 0; k < x->nprocs; k++) {
		const struct tr_proc_stats *st = &x->sh->st[x->procs[k]];

		for (l = 0; l < TR_LINKS; l++)
			sum += __atomic_load_n(&st->in[l], __ATOMIC_RELAXED) +
			       __atomic_load_n(&st->out[l], __ATOMIC_RELAXED);
	}
	return sum;
}

static bool all_idle(const struct runner *x, char *busy, size_t len)
{
	size_t off = 0;
	unsigned int k;
	bool idle = true;
	int p;

	busy[0] = '\0';
	for (k = 0; k < x->nprocs; k++) {
		p = x->procs[k];
		if (!x->alive[p])
			continue;
		/* Relaxed (trade.h): idle only says when to look again. */
		if (__atomic_load_n(&x->sh->st[p].idle, __ATOMIC_RELAXED))
			continue;
		idle = false;
		if (off < len)
			off += (size_t)snprintf(busy + off, len - off, " %s",
						demo_proc_name(p));
	}
	return idle;
}

static void begin_stop(struct runner *x)
{
	x->stop_ns = bench_mono_ns();
	x->r->active_s = (double)(x->stop_ns - x->t0_ns) / 1e9;
	/* Relaxed (trade.h): the stages see it within a wait's timeout. */
	__atomic_store_n(&x->sh->stop, 1, __ATOMIC_RELAXED);
	x->phase = PH_DRAIN;
}

static bool run_over(const struct runner *x, double t)
{
	const struct demo_opts *o = x->o;
	uint64_t ticks;

	if (o->seconds > 0 && t >= o->seconds)
		return true;
	if (!o->ticks)
		return false;
	ticks = __atomic_load_n(&x->sh->st[P_MD].out[L_TICKS], __ATOMIC_RELAXED);
	/* md paced at --rate: give it three times as long, then stop. */
	return ticks >= o->ticks || t > 3.0 * (double)o->ticks / o->rate + 10;
}

static void watch(struct runner *x)
{
	const struct demo_opts *o = x->o;
	struct demo_run *r = x->r;
	uint64_t last_act = 0, still_since = 0, drain_start = 0;
	double next_status = 1, t;
	bool tty = isatty(STDERR_FILENO);
	char busy[160];
	struct timespec tick = { 0, TICK_MS * 1000000L };

	while (x->phase != PH_DONE) {
		nanosleep(&tick, NULL);
		reap(x);
		if (x->phase == PH_DONE)
			break;
		t = since_s(x->t0_ns);
		if (x->phase == PH_RUN) {
			while (x->next_kill < r->nkills &&
			       r->kill[x->next_kill].at_s <= t &&
			       x->phase == PH_RUN)
				do_kill(x, &r->kill[x->next_kill++]);
			if (x->phase != PH_RUN)
				break;
			if (demo_signal) {
				r->interrupted = true;
				begin_stop(x);
			} else if (run_over(x, t)) {
				begin_stop(x);
			}
		}
		if (!o->quiet && t >= next_status) {
			demo_show_status(r, t, tty);
			next_status += 1;
		}
		if (x->phase == PH_DRAIN) {
			uint64_t act = activity(x), now = bench_mono_ns();

			if (!drain_start)
				drain_start = now;
			if (act != last_act || !all_idle(x, busy, sizeof(busy))) {
				last_act = act;
				still_since = now;
			} else if (now - still_since >= DRAIN_STABLE_MS * 1000000ULL) {
				r->drain_s = (double)(now - x->stop_ns) / 1e9;
				/* Relaxed (trade.h): a flag, no data. */
				__atomic_store_n(&x->sh->quit, 1, __ATOMIC_RELAXED);
				x->phase = PH_QUIT;
				drain_start = now;
			}
			if (x->phase == PH_DRAIN &&
			    (double)(now - drain_start) / 1e9 > DRAIN_TIMEOUT_S) {
				all_idle(x, busy, sizeof(busy));
				set_why(r, "not drained %.0f s after stop:%s%s",
					DRAIN_TIMEOUT_S, busy[0] ? busy : " counters still moving",
					busy[0] ? " not idle" : "");
				kill_all(x);
			}
		} else if (x->phase == PH_QUIT) {
			unsigned int k, left = 0;

			for (k = 0; k < x->nprocs; k++)
				left += x->alive[x->procs[k]];
			if (!left) {
				x->phase = PH_DONE;
			} else if ((double)(bench_mono_ns() - drain_start) / 1e9 >
				   QUIT_TIMEOUT_S) {
				set_why(r, "%u stage(s) still running %.0f s after quit",
					left, QUIT_TIMEOUT_S);
				kill_all(x);
			}
		}
		if (demo_signal >= 2 && x->phase != PH_DONE) {
			set_why(r, "interrupted twice: stages killed");
			kill_all(x);
		}
	}
	if (!o->quiet && tty)
		fputc('\n', stderr);
	for (; x->next_kill < r->nkills; x->next_kill++)
		if (!r->failed && !r->interrupted)
			set_why(r, "chaos: the kill of %s at %.1f s did not happen "
				"(the run ended first)",
				demo_proc_name(r->kill[x->next_kill].proc),
				r->kill[x->next_kill].at_s);
}

static void fill_cfg(const struct demo_opts *o, struct runner *x,
		     enum tr_transport t)
{
	struct tr_cfg *cfg = &x->sh->cfg;
	double ticks = o->ticks ? (double)o->ticks : o->rate * o->seconds;
	uint64_t orders = (uint64_t)(ticks * 1.25) + 1024, want = 1024;

	cfg->transport = t;
	cfg->backend = o->backend;
	cfg->strategies = o->strategies;
	cfg->seed = o->seed;
	cfg->ticks = o->ticks;
	cfg->seconds = o->seconds;
	cfg->rate = o->rate;
	cfg->spin = o->spin;
	cfg->pos_limit = o->pos_limit;
	cfg->notional_limit = o->notional_limit;
	/* The OMS's table: room for an order on every tick, a power of 2. */
	while (want < orders && want < (1u << 22))
		want <<= 1;
	cfg->max_orders = want;
	snprintf(cfg->prefix, sizeof(cfg->prefix), "demo%d", (int)getpid());
	snprintf(cfg->log_path, sizeof(cfg->log_path), "%s", x->r->log_path);
	snprintf(cfg->sock_dir, sizeof(cfg->sock_dir), "%s", x->sock_dir);
}

static int log_path(const struct demo_opts *o, struct demo_run *r,
		    enum tr_transport t)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (o->log && o->ntransports == 1)
		n = snprintf(r->log_path, sizeof(r->log_path), "%s", o->log);
	else if (o->log)
		n = snprintf(r->log_path, sizeof(r->log_path), "%s.%s", o->log,
			     tr_transport_name(t));
	else
		n = snprintf(r->log_path, sizeof(r->log_path),
			     "%s/pinshm-demo.%d.%s.log", tmp && *tmp ? tmp : "/tmp",
			     (int)getpid(), tr_transport_name(t));
	if (n < 0 || (size_t)n >= sizeof(r->log_path))
		return -ENAMETOOLONG;
	r->log_temp = !o->log;
	/* The logger appends after what the file holds: start empty. */
	if (unlink(r->log_path) && errno != ENOENT)
		return -errno;
	return 0;
}

static void remove_sock_dir(const char *dir)
{
	char cmd[200];

	if (!dir[0])
		return;
	if (rmdir(dir) && errno == ENOTEMPTY) {
		/* What teardown left (it should leave nothing). */
		snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
		if (system(cmd))
			fprintf(stderr, "pinshm-demo: cannot remove %s\n", dir);
	}
}

int demo_run(const struct demo_opts *o, const struct bench_clock *clk,
	     enum tr_transport t, struct demo_run *r)
{
	struct runner x = { .o = o, .r = r };
	unsigned int k;
	int ret, h;

	memset(r, 0, sizeof(*r));
	r->transport = t;
	r->sh = mmap(NULL, sizeof(*r->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->sh == MAP_FAILED) {
		r->sh = NULL;
		set_why(r, "shared state: %s", strerror(errno));
		return -1;
	}
	x.sh = r->sh;
	x.nprocs = demo_procs(o->strategies, x.procs);
	if (t == T_UNIX) {
		snprintf(x.sock_dir, sizeof(x.sock_dir), "%s/pinshm-demo.XXXXXX",
			 "/tmp");
		if (!mkdtemp(x.sock_dir)) {
			x.sock_dir[0] = '\0';
			set_why(r, "socket directory: %s", strerror(errno));
			return -1;
		}
	}
	ret = log_path(o, r, t);
	if (ret) {
		set_why(r, "log file %s: %s", r->log_path, strerror(-ret));
		goto out_dir;
	}
	fill_cfg(o, &x, t);
	x.sh->clk = *clk;
	for (h = 0; h < TR_HOPS; h++)
		bench_hist_reset(&x.sh->hop[h]);
	for (h = 0; h < TR_MAX_STRAT; h++) {
		bench_hist_reset(&x.sh->strat_hop[h][0]);
		bench_hist_reset(&x.sh->strat_hop[h][1]);
	}
	r->rec_size = tr_recovery_size(&x.sh->cfg);
	r->rec = mmap(NULL, r->rec_size ? r->rec_size : 1, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->rec == MAP_FAILED) {
		r->rec = NULL;
		set_why(r, "recovery state (%zu bytes): %s", r->rec_size,
			strerror(errno));
		goto out_dir;
	}
	x.sh->rec = r->rec;
	place(&x);
	ret = tr_setup(x.sh);
	if (ret) {
		set_why(r, "%s setup: %s", tr_transport_name(t), strerror(-ret));
		tr_teardown(x.sh);	/* whatever it made before failing */
		goto out_dir;
	}
	tr_describe(x.sh, r->describe, sizeof(r->describe));
	printf("\n== %s: %s\n", tr_transport_name(t), r->describe);
	printf("   %u strategies, %u ticks/s, %s, seed %llu, log %s\n",
	       o->strategies, o->rate, o->chaos && t == T_PINSHM ?
	       "chaos (kill -9 and restart)" : "no chaos",
	       (unsigned long long)o->seed, r->log_path);
	fflush(stdout);
	if (o->chaos && t == T_PINSHM)
		plan_chaos(&x);
	for (k = 0; k < x.nprocs; k++) {
		if (x.procs[k] == P_MD)
			x.t0_ns = bench_mono_ns();
		ret = spawn(&x, x.procs[k], false);
		if (ret) {
			set_why(r, "fork %s: %s", demo_proc_name(x.procs[k]),
				strerror(-ret));
			kill_all(&x);
			break;
		}
	}
	if (x.phase != PH_DONE)
		watch(&x);
	if (!r->active_s)
		r->active_s = since_s(x.t0_ns);
	tr_merge_hops(x.sh);	/* every stage is reaped */
	r->log_ret = tr_log_read(r->log_path, &r->log);
	demo_show_run(o, r);
	if (!r->failed) {
		printf("\n");
		fflush(stdout);
		r->account = tr_account(x.sh, &r->log, stdout);
		fflush(stdout);
		if (r->log_ret)
			set_why(r, "log %s: %s", r->log_path, strerror(-r->log_ret));
		else if (r->log.gaps || r->log.dups || r->log.bad)
			set_why(r, "log %s: %llu gaps, %llu duplicates, %llu bad lines",
				r->log_path, (unsigned long long)r->log.gaps,
				(unsigned long long)r->log.dups,
				(unsigned long long)r->log.bad);
		if (r->account)
			set_why(r, "the accounting does not reconcile");
	}
	if (t == T_PINSHM)
		demo_show_regions(o, r);
	tr_teardown(x.sh);
out_dir:
	remove_sock_dir(x.sock_dir);
	if (r->log_temp && !r->failed)
		unlink(r->log_path);
	else if (r->log_path[0])
		printf("log kept: %s\n", r->log_path);
	return r->failed ? -1 : 0;
}

void demo_run_free(struct demo_run *r)
{
	if (r->rec)
		munmap(r->rec, r->rec_size ? r->rec_size : 1);
	if (r->sh)
		munmap(r->sh, sizeof(*r->sh));
	r->rec = NULL;
	r->sh = NULL;
}
