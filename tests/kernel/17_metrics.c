// SPDX-License-Identifier: GPL-2.0
/*
 * The metrics an operator reads with bpftool, on the module's regions:
 * `pinshm metrics load` (the guest's pinshm; the library's probes taken
 * from this program, which links libpinshm.a) attaches BPF programs to the
 * module's tracepoints and pins their maps under /sys/fs/bpf/pinshm/. Then
 * this program creates a region, lets children attach to it (mmap) and
 * end as each way says (two kill -9, one exit(3) without DETACH, one
 * DETACH), destroys it, and sleeps an SPSC consumer in the module's WAIT
 * until a producer in another process sends; and
 * `bpftool map dump pinned /sys/fs/bpf/pinshm/MAP -j` must show exactly
 * those counts by field name: regions (creates, attaches, detaches,
 * deaths_signal, deaths_exit, destroys, last_dead_pid = the last pid
 * killed, last_signal 9), procs (attaches and deaths per pid, its comm),
 * and entries in both histograms (sleep_ns_log2: time asleep;
 * wake_ns_log2: the module's WAKE to its sleeper's return).
 * `pinshm metrics unload` must leave nothing under /sys/fs/bpf/pinshm and
 * no program or link of ours in bpftool. All of it twice: with the
 * tracepoint programs load picks (tp_btf when the module has BTF,
 * /sys/kernel/btf/pinshm) and with PINSHM_METRICS_TP=raw (raw_tp), so
 * both bodies run on every kernel.
 * Issue 14 ("Tests, in make check": Guests).
 */
#include "common.h"

#include <pinshm.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/prctl.h>

#define PINSHM_CLI	"/usr/local/bin/pinshm"
#define BPFTOOL		"bpftool"
#define PIN_DIR		"/sys/fs/bpf/pinshm"
#define BTF_PINSHM	"/sys/kernel/btf/pinshm"
#define REGION_SIZE	(64 * 1024)
#define SEC		1000000000LL

static char self[PATH_MAX];

/* ---- running commands --------------------------------------------------- */

/* Run cmd (sh -c, stderr with stdout); its output, malloc'd; *rc its exit. */
static char *run(const char *cmd, int *rc)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap), full[1024];
	FILE *f;
	int st;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	f = popen(full, "r");
	if (!buf || !f) {
		free(buf);
		if (f)
			pclose(f);
		*rc = -1;
		return NULL;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (!n)
			break;
		len += n;
	}
	buf[len] = 0;
	st = pclose(f);
	*rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return buf;
}

/* Print text as TAP comments, line by line. */
static void diag_lines(const char *prefix, const char *text)
{
	const char *p = text, *e;

	while (p && *p) {
		e = strchr(p, '\n');
		tap_diag("%s%.*s", prefix, (int)(e ? e - p : (long)strlen(p)), p);
		p = e ? e + 1 : NULL;
	}
}

/* The JSON of `bpftool map dump pinned PIN_DIR/map -j`, blanks removed. */
static char *dump(const char *map)
{
	char cmd[256], *out, *s, *d;
	int rc, instr = 0;

	snprintf(cmd, sizeof(cmd), BPFTOOL " map dump pinned " PIN_DIR "/%s -j", map);
	out = run(cmd, &rc);
	if (!out || rc) {
		tap_diag("%s: exit %d: %s", cmd, rc, out ? out : "");
		free(out);
		return NULL;
	}
	for (s = d = out; *s; s++) {
		if (*s == '"' && (s == out || s[-1] != '\\'))
			instr = !instr;
		if (instr || (*s != ' ' && *s != '\n' && *s != '\t'))
			*d++ = *s;
	}
	*d = 0;
	return out;
}

/*
 * The entry of a dump whose key is {"kname":kval} (kval as JSON: a quoted
 * string or a number): a copy of its text up to the next entry. NULL if
 * none.
 */
static char *entry(const char *json, const char *kname, const char *kval)
{
	char pat[160], *e;
	const char *p, *end;

	if (!json)
		return NULL;
	snprintf(pat, sizeof(pat), "{\"key\":{\"%s\":%s}", kname, kval);
	p = strstr(json, pat);
	if (!p)
		return NULL;
	end = strstr(p + 1, "{\"key\":");
	e = strndup(p, end ? (size_t)(end - p) : strlen(p));
	return e;
}

/* The number after "name": in text; LLONG_MIN if there is none. */
static long long jnum(const char *text, const char *name)
{
	char pat[64];
	const char *p;

	if (!text)
		return LLONG_MIN;
	snprintf(pat, sizeof(pat), "\"%s\":", name);
	p = strstr(text, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : LLONG_MIN;
}

/* Is "name":"want" in text? */
static int jstr_is(const char *text, const char *name, const char *want)
{
	char pat[128];

	if (!text)
		return 0;
	snprintf(pat, sizeof(pat), "\"%s\":\"%s\"", name, want);
	return strstr(text, pat) != NULL;
}

/* The sum of every "count": in a histogram's dump. */
static long long hist_total(const char *map)
{
	char *d = dump(map);
	const char *p;
	long long n = 0;

	if (!d)
		return -1;
	for (p = d; (p = strstr(p, "\"count\":")); p += 8)
		n += strtoll(p + 8, NULL, 10);
	free(d);
	return n;
}

/* ---- the children ------------------------------------------------------- */

enum how { KILLED, EXIT3, CLEAN };

static const char *const comm_of[] = {
	[KILLED] = "metrics-killed", [EXIT3] = "metrics-exit3", [CLEAN] = "metrics-clean",
};

/* Open region, map its data (an attach), say so on wfd, then end as how says. */
static void child(const char *region, enum how how, int wfd)
{
	int ctl, rfd;
	void *p;

	prctl(PR_SET_NAME, comm_of[how]);
	ctl = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);
	rfd = ctl < 0 ? -1 : pshm_open(ctl, region, PINSHM_OPEN_WRITE);
	if (rfd < 0)
		_exit(21);
	p = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, PAGE_SZ);
	if (p == MAP_FAILED)
		_exit(22);
	if (write(wfd, "a", 1) != 1)
		_exit(23);
	switch (how) {
	case KILLED:
		pause();
		_exit(24);
	case EXIT3:
		exit(3);
	case CLEAN:
		_exit(pshm_detach(rfd) == 0 ? 0 : 25);
	}
	_exit(26);
}

/* Start a child; its pid once it has attached, or -1. */
static pid_t spawn(const char *region, enum how how)
{
	int fds[2];
	char c;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		child(region, how, fds[1]);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &c, 1) != 1)
		pid = -1;
	close(fds[0]);
	return pid;
}

struct lifecycle {
	pid_t killed[2], exit3, clean;
	int nkilled;
};

/*
 * Create region, attach nkilled + 2 children (nkilled of them killed with
 * SIGKILL, the last one last of all; one exit(3) without DETACH; one
 * DETACH), destroy it. 0 when every step did what it should.
 */
static int lifecycle(const char *region, int nkilled, struct lifecycle *lc)
{
	int ctl, rfd, i, st, bad = 0;

	memset(lc, 0, sizeof(*lc));
	lc->nkilled = nkilled;
	ctl = ctl_open();
	if (ctl < 0)
		return -1;
	rfd = pshm_create(ctl, region, REGION_SIZE, PINSHM_NODE_ANY, 0600);
	if (rfd < 0) {
		tap_diag("create %s: %s", region, strerror(errno));
		close(ctl);
		return -1;
	}
	cleanup_add(region);
	lc->clean = spawn(region, CLEAN);
	lc->exit3 = spawn(region, EXIT3);
	for (i = 0; i < nkilled; i++)
		lc->killed[i] = spawn(region, KILLED);
	st = wait_child(lc->clean, 10000);
	bad |= st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	st = wait_child(lc->exit3, 10000);
	bad |= st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 3;
	for (i = 0; i < nkilled; i++) {
		if (lc->killed[i] <= 0) {
			bad = 1;
			continue;
		}
		kill(lc->killed[i], SIGKILL);
		st = wait_child(lc->killed[i], 10000);
		bad |= st < 0 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL;
	}
	close(rfd);
	if (pshm_destroy(ctl, region)) {
		tap_diag("destroy %s: %s", region, strerror(errno));
		bad = 1;
	}
	close(ctl);
	if (bad)
		tap_diag("a child of %s did not end as planned", region);
	return bad ? -1 : 0;
}

/*
 * An SPSC ring on a module region: this process's consumer sleeps in
 * pinshm_spsc_wait() (the module's WAIT) until a producer in a child
 * process sends one record. 0 when the consumer was woken with it.
 */
static int sleep_and_wake(const char *region)
{
	struct pinshm_region_opts o;
	struct pinshm_region *r;
	struct pinshm_spsc c;
	struct pinshm_msg m;
	uint64_t seq = 0;
	int ret, st;
	pid_t pid;

	pinshm_region_opts_init(&o);
	o.size = 1 << 20;
	ret = pinshm_region_create(region, &o, &r);
	if (ret || pinshm_region_backend(r) != PINSHM_BACKEND_KMOD) {
		tap_diag("region %s on the module: %d", region, ret);
		return -1;
	}
	cleanup_add(region);
	ret = pinshm_spsc_create(r, "q", 64 << 10, 0);
	if (!ret)
		ret = pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &c);
	if (!ret)
		ret = pinshm_wait_register();
	if (ret) {
		tap_diag("ring q on %s: %d", region, ret);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		struct pinshm_region *q;
		struct pinshm_spsc p;
		uint64_t deadline = mono_us() + 10 * 1000000ULL;

		if (pinshm_region_open(region, PINSHM_RDWR, PINSHM_BACKEND_AUTO, &q) ||
		    pinshm_spsc_attach(q, "q", PINSHM_PRODUCER, &p) ||
		    pinshm_wait_register())
			_exit(10);
		while (!atomic_load((_Atomic uint32_t *)&p.sh->waitq.waiters) &&
		       mono_us() < deadline)
			usleep(1000);
		/* Asleep for good, in the module's WAIT, however slowly an
		 * emulated guest on a busy host gets it there: a WAKE that
		 * finds nobody asleep measures nothing. */
		if (!proc_settled(getppid()))
			_exit(12);
		seq = 42;
		if (pinshm_spsc_send(&p, &seq, sizeof(seq), 1, PINSHM_WAIT_YIELD))
			_exit(11);
		pinshm_spsc_detach(&p);
		pinshm_region_close(q);
		_exit(0);
	}
	ret = pinshm_spsc_wait(&c, 20 * SEC);
	st = wait_child(pid, 30000);
	if (!ret && pinshm_spsc_peek(&c, &m) == 0 && m.len == sizeof(seq)) {
		memcpy(&seq, m.data, sizeof(seq));
		pinshm_spsc_release(&c);
	}
	pinshm_spsc_detach(&c);
	pinshm_region_close(r);
	if (pinshm_region_destroy(region, PINSHM_BACKEND_KMOD))
		tap_diag("destroy %s failed", region);
	if (ret || seq != 42 || st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		tap_diag("wait %d, got %llu, producer status %d", ret,
			 (unsigned long long)seq, st);
		return -1;
	}
	return 0;
}

/* ---- what bpftool shows -------------------------------------------------- */

/* Our programs' ids (names btf_*, raw_*, usdt_*) in `bpftool prog show`. */
static int our_progs(int *ids, int max)
{
	char *out, *line, *save = NULL;
	int rc, n = 0;

	out = run(BPFTOOL " prog show", &rc);
	if (!out)
		return -1;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *nm = strstr(line, " name ");
		int id;

		if (!nm || sscanf(line, "%d:", &id) != 1)
			continue;
		nm += 6;
		if (!strncmp(nm, "btf_", 4) || !strncmp(nm, "raw_", 4) || !strncmp(nm, "usdt_", 5))
			if (n < max)
				ids[n++] = id;
	}
	free(out);
	return n;
}

/* How many links of `bpftool link show` run one of ids. */
static int links_of(const int *ids, int n)
{
	char *out, pat[32];
	int rc, i, found = 0;

	out = run(BPFTOOL " link show", &rc);
	if (!out)
		return -1;
	for (i = 0; i < n; i++) {
		const char *p = out;

		snprintf(pat, sizeof(pat), "prog %d", ids[i]);
		while ((p = strstr(p, pat))) {
			p += strlen(pat);
			if (*p < '0' || *p > '9')
				found++;
		}
	}
	free(out);
	return found;
}

/* One full round: load (variant env: NULL or "raw"), provoke, check, unload. */
static void round_(const char *env, int nkilled)
{
	const char *want = env ? "raw_tp" : path_exists(BTF_PINSHM) ? "tp_btf" : "raw_tp";
	const char *tag = env ? "raw_tp" : want;
	char cmd[PATH_MAX + 128], qname[96], kpid[32], *out, *reg, *e, *procs;
	struct lifecycle lc;
	const char *region = tname(env ? "raw" : "auto");
	const char *wregion = tname(env ? "rawwait" : "autowait");
	int ids[64], left[64], nids, nleft = -1, rc, i, ok, lc_ok, sw_ok, tries;
	long long sleeps, wakes;

	snprintf(cmd, sizeof(cmd), "%s%s " PINSHM_CLI " metrics load --binary %s",
		 env ? "PINSHM_METRICS_TP=" : "", env ? env : "", self);
	out = run(cmd, &rc);
	diag_lines("load| ", out);
	ok = rc == 0 && out && strstr(out, "tracepoints: ") &&
	     !strncmp(strstr(out, "tracepoints: ") + 13, want, strlen(want));
	tap_ok(ok, "[%s] pinshm metrics load: exit %d, tracepoints: %s", tag, rc, want);
	free(out);
	if (!ok) {
		for (i = 0; i < 8; i++)
			tap_skip("not loaded", "[%s] check %d", tag, i + 2);
		run(PINSHM_CLI " metrics unload", &rc);
		return;
	}
	tap_diag("[%s] tracepoint programs: %s", tag, want);

	lc_ok = lifecycle(region, nkilled, &lc) == 0;
	sw_ok = sleep_and_wake(wregion) == 0;
	tap_ok(lc_ok && sw_ok, "[%s] created, attached from %d children, %d killed, "
	       "destroyed; a consumer slept in WAIT and was woken", tag, nkilled + 2, nkilled);

	/* regions */
	out = run(BPFTOOL " map dump pinned " PIN_DIR "/regions", &rc);
	diag_lines("regions| ", out);
	free(out);
	reg = dump("regions");
	snprintf(qname, sizeof(qname), "\"%s\"", region);
	e = entry(reg, "name", qname);
	ok = e && jnum(e, "creates") == 1 && jnum(e, "attaches") == nkilled + 2 &&
	     jnum(e, "detaches") == 1 && jnum(e, "deaths_signal") == nkilled &&
	     jnum(e, "deaths_exit") == 1 && jnum(e, "destroys") == 1 && jnum(e, "opens") == 0;
	tap_ok(ok, "[%s] regions[%s]: creates 1, attaches %d, detaches 1, deaths_signal %d, "
	       "deaths_exit 1, destroys 1, opens 0", tag, region, nkilled + 2, nkilled);
	tap_ok(e && jnum(e, "last_dead_pid") == lc.killed[nkilled - 1] &&
	       jnum(e, "last_signal") == SIGKILL,
	       "[%s] regions[%s]: last_dead_pid %lld == the pid killed last %d, last_signal %lld",
	       tag, region, e ? jnum(e, "last_dead_pid") : -1, (int)lc.killed[nkilled - 1],
	       e ? jnum(e, "last_signal") : -1);
	free(e);
	snprintf(qname, sizeof(qname), "\"%s\"", wregion);
	e = entry(reg, "name", qname);
	tap_ok(e && jnum(e, "creates") == 1 && jnum(e, "destroys") == 1 &&
	       jnum(e, "opens") >= 1 && jnum(e, "attaches") >= 2,
	       "[%s] regions[%s] (the library's): creates 1, destroys 1, opens %lld, attaches %lld",
	       tag, wregion, e ? jnum(e, "opens") : -1, e ? jnum(e, "attaches") : -1);
	free(e);
	free(reg);

	/* procs */
	procs = dump("procs");
	ok = procs != NULL;
	for (i = 0; ok && i < nkilled; i++) {
		snprintf(kpid, sizeof(kpid), "%d", (int)lc.killed[i]);
		e = entry(procs, "pid", kpid);
		ok = e && jnum(e, "attaches") == 1 && jnum(e, "deaths") == 1 &&
		     jstr_is(e, "comm", comm_of[KILLED]);
		if (!ok)
			tap_diag("procs[%s]: %s", kpid, e ? e : "(none)");
		free(e);
	}
	snprintf(kpid, sizeof(kpid), "%d", (int)lc.exit3);
	e = entry(procs, "pid", kpid);
	ok = ok && e && jnum(e, "attaches") == 1 && jnum(e, "deaths") == 1;
	free(e);
	snprintf(kpid, sizeof(kpid), "%d", (int)lc.clean);
	e = entry(procs, "pid", kpid);
	ok = ok && e && jnum(e, "attaches") == 1 && jnum(e, "deaths") == 0 &&
	     jstr_is(e, "comm", comm_of[CLEAN]);
	free(e);
	tap_ok(ok, "[%s] procs: attaches 1 and deaths 1 for each killed pid and the exit(3) "
	       "one, deaths 0 for the clean one, with their comm", tag);
	free(procs);

	/* histograms */
	sleeps = hist_total("sleep_ns_log2");
	wakes = hist_total("wake_ns_log2");
	/* A wake's sample is added by whichever of its two events comes
	 * second; seen landing just after a first read: look for 3 s. */
	for (int i = 0; i < 30 && wakes == 0; i++) {
		usleep(100000);
		wakes = hist_total("wake_ns_log2");
	}
	out = run(BPFTOOL " map dump pinned " PIN_DIR "/wake_ns_log2 | grep -B3 -A4 "
		  "'\"count\": [1-9]'", &rc);
	diag_lines("wake_ns_log2| ", out);
	free(out);
	tap_ok(sleeps >= 1, "[%s] sleep_ns_log2 has %lld entries", tag, sleeps);
	tap_ok(wakes >= 1, "[%s] wake_ns_log2 (WAKE to the sleeper's return) has %lld entries",
	       tag, wakes);

	/* unload */
	nids = our_progs(ids, 64);
	tap_diag("[%s] %d programs of ours before unload, %d links running them", tag, nids,
		 links_of(ids, nids > 0 ? nids : 0));
	out = run(PINSHM_CLI " metrics unload", &rc);
	diag_lines("unload| ", out);
	free(out);
	/* programs are freed after an RCU grace period */
	for (tries = 0; tries < 100; tries++) {
		nleft = our_progs(left, 64);
		if (nleft == 0 && links_of(ids, nids > 0 ? nids : 0) == 0)
			break;
		usleep(100000);
	}
	tap_ok(rc == 0 && !path_exists(PIN_DIR) && nleft == 0 &&
	       links_of(ids, nids > 0 ? nids : 0) == 0,
	       "[%s] pinshm metrics unload: exit %d, no %s, no program or link of ours",
	       tag, rc, PIN_DIR);
}

int main(void)
{
	ssize_t n;
	int rc;
	char *out;

	tap_plan(20);
	test_timeout(600);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		tap_bail("readlink /proc/self/exe");
	self[n] = 0;

	out = run(BPFTOOL " version", &rc);
	if (rc)
		tap_bail("no bpftool in the guest: %s", out ? out : "");
	diag_lines("", out);
	free(out);
	tap_ok(path_exists("/sys/fs/bpf") && !path_exists(PIN_DIR),
	       "/sys/fs/bpf there, no metrics loaded yet");
	tap_ok(path_exists(BTF_PINSHM), "the module has BTF (%s): tp_btf programs can attach",
	       BTF_PINSHM);

	round_(NULL, 2);
	round_("raw", 1);
	return tap_finish();
}
