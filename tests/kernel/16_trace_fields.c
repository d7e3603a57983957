// SPDX-License-Identifier: GPL-2.0
/*
 * The fields of the pinshm tracepoints, as an operator (or a BPF program)
 * reads them, and the module's BTF. With every pinshm event enabled in
 * tracefs, this program creates a region, lets children attach to it and
 * end their attaches in each way (kill -9; exit(3) as uid 65534 without
 * DETACH; DETACH then exit), sleeps a child in WAIT and wakes it, and
 * destroys the region; then it finds each event in the trace and checks
 * its fields: name, pid, comm and uid of the task it fired in, and size,
 * mode, tgid, access, state, exit code and signal, how long each attach
 * lasted, the region's lifetime, the wait's sleep and the wake's count of
 * sleepers woken. Each event's format file must list the fields (by type),
 * and /sys/kernel/btf/pinshm must hold the module's BTF with the
 * btf_trace_pinshm_* types that tp_btf programs attach by.
 * Issue 14 ("the module's tracepoints carry what an operator needs").
 */
#include "common.h"

#include <grp.h>
#include <sys/prctl.h>

#define TRACEFS		"/sys/kernel/tracing"
#define EVDIR		TRACEFS "/events/pinshm"
#define BTF_PINSHM	"/sys/kernel/btf/pinshm"
#define NOBODY		65534
#define HOLD_MS		100	/* each attach lasts at least this long */
#define REGION_SIZE	(64 * 1024)

static const char *region;
static char *trace;		/* the trace buffer, read at the end */

/* ---- what the trace says ---------------------------------------------- */

/*
 * The value of key (e.g. "pid") in line: the text after " key=" up to the
 * next space, copied into buf. NULL when the line has no such key.
 */
static const char *field(const char *line, const char *key, char *buf,
			 size_t len)
{
	char pat[64];
	const char *p, *end;
	size_t n;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	end = strpbrk(p, " \n");
	n = end ? (size_t)(end - p) : strlen(p);
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = 0;
	return buf;
}

static long long num(const char *line, const char *key)
{
	char buf[64];

	return field(line, key, buf, sizeof(buf)) ? strtoll(buf, NULL, 0) : -1;
}

static int str_is(const char *line, const char *key, const char *want)
{
	char buf[80];

	return field(line, key, buf, sizeof(buf)) && strcmp(buf, want) == 0;
}

/*
 * The nth (0-based) line of event ev for our region whose key equals val
 * (key NULL: any), copied into a static buffer; NULL if none.
 */
static const char *find_event(const char *ev, const char *key, long long val,
			      int nth)
{
	static char line[1024];
	char pat[128];
	const char *p, *eol;
	size_t n;

	snprintf(pat, sizeof(pat), "%s: ", ev);
	for (p = strstr(trace, pat); p; p = strstr(p + 1, pat)) {
		eol = strchr(p, '\n');
		n = eol ? (size_t)(eol - p) : strlen(p);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p + strlen(pat) - 1, n - strlen(pat) + 1);
		line[n - strlen(pat) + 1] = 0;
		if (!str_is(line, "name", region))
			continue;
		if (key && num(line, key) != val)
			continue;
		if (nth-- == 0)
			return line;
	}
	return NULL;
}

/* Show what we looked at, for the log. */
static void show(const char *what, const char *line)
{
	tap_diag("%s:%s", what, line ? line : " (not found)");
}

/* pid, comm and uid are those of the task (current) the event fired in. */
static int who_is(const char *line, pid_t pid, const char *comm, unsigned int uid)
{
	return line && num(line, "pid") == pid && str_is(line, "comm", comm) &&
	       num(line, "uid") == uid;
}

/* ---- tracefs ----------------------------------------------------------- */

static int trace_enable(int on)
{
	return write_file(EVDIR "/enable", on ? "1" : "0");
}

static int trace_clear(void)
{
	int fd = open(TRACEFS "/trace", O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return -1;
	close(fd);
	return write_file(TRACEFS "/tracing_on", "1");
}

static char *slurp(const char *path, size_t max)
{
	char *buf = malloc(max + 1);
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (len < max && (n = read(fd, buf + len, max - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	return buf;
}

/*
 * Does the format file of ev list every field of want ("type name;" each,
 * as the format file writes them after "field:")? Prints what is missing.
 */
static int format_has(const char *ev, const char *const *want)
{
	char path[128];
	char *fmt;
	int ok = 1;

	snprintf(path, sizeof(path), EVDIR "/%s/format", ev);
	fmt = slurp(path, 1 << 16);
	if (!fmt) {
		tap_diag("cannot read %s", path);
		return 0;
	}
	for (; *want; want++) {
		char pat[96];

		snprintf(pat, sizeof(pat), "field:%s", *want);
		if (!strstr(fmt, pat)) {
			tap_diag("%s: no \"%s\"", path, pat);
			ok = 0;
		}
	}
	free(fmt);
	return ok;
}

/* Print the field lines of a format file (for the log). */
static void format_show(const char *ev)
{
	char path[128];
	char *fmt, *line, *save = NULL;

	snprintf(path, sizeof(path), EVDIR "/%s/format", ev);
	fmt = slurp(path, 1 << 16);
	if (!fmt)
		return;
	tap_diag("%s:", path);
	for (line = strtok_r(fmt, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "field:") && !strstr(line, "common_"))
			tap_diag("  %s", line + strspn(line, " \t"));
	free(fmt);
}

/* ---- the children ------------------------------------------------------ */

enum how { KILLED, NOBODY_EXIT3, CLEAN_DETACH, WAITER };

static const char *const comm_of[] = {
	[KILLED] = "pinshm-victim",
	[NOBODY_EXIT3] = "pinshm-nobody",
	[CLEAN_DETACH] = "pinshm-clean",
	[WAITER] = "pinshm-waiter",
};

/*
 * A child named comm_of[how]: opens the region read-write, maps its data
 * (an attach), says so on the pipe, then ends as how says. The waiter
 * does not map the data: it sleeps in WAIT on the word at offset 0.
 */
static void child(enum how how, int wfd)
{
	int ctl, rfd;
	void *p;

	prctl(PR_SET_NAME, comm_of[how]);
	/* Opened as root: /dev/pinshm is root:pinshm 0660. */
	ctl = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (how == NOBODY_EXIT3 &&
	    (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	     setresuid(NOBODY, NOBODY, NOBODY)))
		_exit(20);
	rfd = ctl < 0 ? -1 : pshm_open(ctl, region, PINSHM_OPEN_WRITE);
	if (rfd < 0)
		_exit(21);
	if (how == WAITER) {
		struct pinshm_wait w = {
			.size = sizeof(w), .offset = 0, .val = 0,
			.timeout_ns = 20LL * 1000000000,
		};

		if (write(wfd, "w", 1) != 1)
			_exit(22);
		_exit(ioctl(rfd, PINSHM_IOC_WAIT, &w) == 0 ? 0 : 23);
	}
	p = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, rfd,
		 PAGE_SZ);
	if (p == MAP_FAILED)
		_exit(24);
	usleep(HOLD_MS * 1000);
	if (write(wfd, "a", 1) != 1)
		_exit(25);
	switch (how) {
	case KILLED:
		pause();
		_exit(26);
	case NOBODY_EXIT3:
		exit(3);
	case CLEAN_DETACH:
		_exit(pshm_detach(rfd) == 0 ? 0 : 27);
	default:
		_exit(28);
	}
}

/* Start a child; returns its pid once it has attached (or is about to wait). */
static pid_t spawn(enum how how)
{
	int fds[2];
	char c;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		child(how, fds[1]);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &c, 1) != 1) {
		close(fds[0]);
		return -1;
	}
	close(fds[0]);
	return pid;
}

/* Is pid asleep (state S in /proc/pid/stat)? */
static int asleep(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/* ---- BTF --------------------------------------------------------------- */

/*
 * The module's BTF: its size, and whether it is BTF (magic 0xeb9f) naming
 * the tracepoints' types (*names: how many of want[] it names).
 */
static int btf_ok(size_t *len, int *names)
{
	static const char *const want[] = {
		"btf_trace_pinshm_region_create", "btf_trace_pinshm_region_destroy",
		"btf_trace_pinshm_attach", "btf_trace_pinshm_detach",
		"btf_trace_pinshm_alloc_fail", "btf_trace_pinshm_wait",
		"btf_trace_pinshm_wake", "pinshm_region", "pinshm_mapping",
	};
	const int nwant = sizeof(want) / sizeof(want[0]);
	struct stat st;
	char *b;
	int i, magic;

	*len = 0;
	*names = 0;
	/* a sysfs binary file: its size is the BTF's */
	if (stat(BTF_PINSHM, &st) || st.st_size <= 0)
		return 0;
	b = slurp(BTF_PINSHM, (size_t)st.st_size);
	if (!b)
		return 0;
	*len = (size_t)st.st_size;
	for (i = 0; i < nwant; i++) {
		/* with its NUL, as the string section holds it */
		if (memmem(b, *len, want[i], strlen(want[i]) + 1))
			++*names;
		else
			tap_diag("%s: no \"%s\"", BTF_PINSHM, want[i]);
	}
	magic = *len >= 2 && (unsigned char)b[0] == 0x9f &&
		(unsigned char)b[1] == 0xeb;
	free(b);
	return magic && *names == nwant;
}

int main(void)
{
	static const char *const f_create[] = {
		"char name[64];", "u64 size;", "int node;", "u32 flags;",
		"u32 uid;", "u32 mode;", "pid_t pid;", "char comm[16];", NULL };
	static const char *const f_destroy[] = {
		"char name[64];", "u64 size;", "u64 generation;", "u64 crashes;",
		"u32 nr_attached;", "u64 lifetime_ns;", "pid_t pid;", "u32 uid;",
		"char comm[16];", NULL };
	static const char *const f_attach[] = {
		"char name[64];", "pid_t tgid;", "int slot;", "u16 access;",
		"pid_t pid;", "u32 uid;", "char comm[16];", NULL };
	static const char *const f_detach[] = {
		"char name[64];", "pid_t tgid;", "int slot;", "u16 state;",
		"u8 clean;", "s32 exit_code;", "u32 signal;", "u64 attached_ns;",
		"pid_t pid;", "u32 uid;", "char comm[16];", NULL };
	static const char *const f_alloc_fail[] = {
		"u64 size;", "unsigned int order;", "int node;", "int error;",
		"char name[64];", "pid_t pid;", "u32 uid;", "char comm[16];", NULL };
	static const char *const f_wait[] = {
		"char name[64];", "u64 offset;", "u64 slept_ns;", "int ret;",
		"pid_t pid;", "u32 uid;", "char comm[16];", NULL };
	static const char *const f_wake[] = {
		"char name[64];", "u64 offset;", "u32 woken;", "pid_t pid;",
		"u32 uid;", "char comm[16];", NULL };
	const long long hold_ns = HOLD_MS * 1000000LL;
	const char *me = program_invocation_short_name;
	char comm[16];
	pid_t victim, nobody, clean, waiter;
	uint64_t t_create, t_created, t_destroy, t_end;
	const char *l;
	int ctl, rfd, st, ret, names, i;
	struct pinshm_wake wk = { .size = sizeof(wk), .offset = 0 };
	uint32_t *data;
	size_t len;

	tap_plan(20);
	test_timeout(300);
	region = tname("tf");
	cleanup_add(region);
	snprintf(comm, sizeof(comm), "%s", me);	/* as the kernel keeps it */

	/* 1-2: the module's BTF */
	ret = btf_ok(&len, &names);
	tap_ok(path_exists(BTF_PINSHM) && len > 0,
	       "%s exists (%zu bytes of module BTF)", BTF_PINSHM, len);
	tap_ok(ret, "it is BTF and names the btf_trace_pinshm_* types tp_btf "
	       "attaches by, struct pinshm_region and pinshm_mapping (%d of 9)",
	       names);

	/* 3: the format files */
	ret = format_has("pinshm_region_create", f_create) &
	      format_has("pinshm_region_destroy", f_destroy) &
	      format_has("pinshm_attach", f_attach) &
	      format_has("pinshm_detach", f_detach) &
	      format_has("pinshm_alloc_fail", f_alloc_fail) &
	      format_has("pinshm_wait", f_wait) &
	      format_has("pinshm_wake", f_wake);
	tap_ok(ret, "every pinshm event's format lists its fields, old and new, "
	       "with their types");
	format_show("pinshm_detach");

	if (!tap_ok(trace_enable(1) == 0 && trace_clear() == 0,
		    "all pinshm events enabled, trace buffer cleared"))
		tap_bail("no tracing");

	/* The story the trace must tell. */
	ctl = ctl_open();
	t_create = now_ns(CLOCK_BOOTTIME);
	rfd = pshm_create(ctl, region, REGION_SIZE, PINSHM_NODE_ANY, 0666);
	t_created = now_ns(CLOCK_BOOTTIME);
	if (rfd < 0)
		tap_bail("CREATE: %s", strerror(errno));
	data = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, rfd,
		    PAGE_SZ);
	if (data == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));

	victim = spawn(KILLED);
	kill(victim, SIGKILL);
	st = wait_child(victim, 10000);
	nobody = spawn(NOBODY_EXIT3);
	st |= wait_child(nobody, 10000) ^ (3 << 8);
	clean = spawn(CLEAN_DETACH);
	st |= wait_child(clean, 10000);
	waiter = spawn(WAITER);
	for (i = 0; i < 1000 && !asleep(waiter); i++)
		usleep(5000);
	usleep(HOLD_MS * 1000);
	__atomic_store_n(&data[0], 1, __ATOMIC_RELEASE);
	ret = ioctl(rfd, PINSHM_IOC_WAKE, &wk);
	st |= wait_child(waiter, 10000);
	munmap(data, REGION_SIZE);
	close(rfd);
	t_destroy = now_ns(CLOCK_BOOTTIME);
	ret |= pshm_destroy(ctl, region);
	t_end = now_ns(CLOCK_BOOTTIME);
	close(ctl);
	tap_ok(victim > 0 && nobody > 0 && clean > 0 && waiter > 0 && st == 9 &&
	       ret == 0, "create; attach and kill -9; attach as uid %d and "
	       "exit(3); attach and DETACH; WAIT woken by WAKE; destroy "
	       "(status %#x, %d)", NOBODY, st, ret);

	trace_enable(0);
	trace = slurp(TRACEFS "/trace", 8 << 20);
	if (!trace)
		tap_bail("cannot read %s", TRACEFS "/trace");
	tap_diag("pids: test %d, victim %d, nobody %d, clean %d, waiter %d",
		 (int)getpid(), (int)victim, (int)nobody, (int)clean,
		 (int)waiter);

	/* 6-7: region_create */
	l = find_event("pinshm_region_create", NULL, 0, 0);
	show("region_create", l);
	tap_ok(l && num(l, "size") == REGION_SIZE && str_is(l, "mode", "0666") &&
	       num(l, "uid") == 0, "region_create: name, size, mode, owner uid");
	tap_ok(l && num(l, "pid") == getpid() && str_is(l, "comm", comm),
	       "region_create: pid and comm of the creator (%s)", comm);

	/* 8-9: the victim, killed */
	l = find_event("pinshm_attach", "tgid", victim, 0);
	show("attach (victim)", l);
	tap_ok(who_is(l, victim, "pinshm-victim", 0) && str_is(l, "access", "rw"),
	       "attach: tgid, access rw, pid, comm and uid of the attacher");
	l = find_event("pinshm_detach", "tgid", victim, 0);
	show("detach (victim)", l);
	tap_ok(l && str_is(l, "state", "died") && num(l, "clean") == 0 &&
	       num(l, "exit_code") == 0 && num(l, "signal") == SIGKILL &&
	       num(l, "attached_ns") >= hold_ns &&
	       num(l, "attached_ns") < 60 * 1000000000LL &&
	       who_is(l, victim, "pinshm-victim", 0),
	       "detach after kill -9: died, signal 9, attached_ns >= %d ms, "
	       "seen in the dying process (pid = tgid)", HOLD_MS);

	/* 10-11: nobody, exit(3) */
	l = find_event("pinshm_attach", "tgid", nobody, 0);
	show("attach (nobody)", l);
	tap_ok(who_is(l, nobody, "pinshm-nobody", NOBODY),
	       "attach by uid %d: uid %d", NOBODY, NOBODY);
	l = find_event("pinshm_detach", "tgid", nobody, 0);
	show("detach (nobody)", l);
	tap_ok(l && str_is(l, "state", "died") && num(l, "exit_code") == 3 &&
	       num(l, "signal") == 0 && num(l, "attached_ns") >= hold_ns &&
	       who_is(l, nobody, "pinshm-nobody", NOBODY),
	       "detach after exit(3) without DETACH: died, exit_code 3, "
	       "signal 0, attached_ns, uid %d", NOBODY);

	/* 12-13: clean DETACH */
	l = find_event("pinshm_detach", "tgid", clean, 0);
	show("detach (clean)", l);
	tap_ok(l && str_is(l, "state", "detached") && num(l, "clean") == 1 &&
	       num(l, "exit_code") == 0 && num(l, "signal") == 0 &&
	       num(l, "attached_ns") >= hold_ns &&
	       who_is(l, clean, "pinshm-clean", 0),
	       "detach by DETACH: detached, clean 1, attached_ns");
	l = find_event("pinshm_detach", "tgid", getpid(), 0);
	show("detach (test, munmap)", l);
	tap_ok(l && str_is(l, "state", "detached") &&
	       num(l, "attached_ns") >= 4 * hold_ns &&
	       who_is(l, getpid(), comm, 0),
	       "detach by munmap of the test's own mapping, attached through "
	       "all of it (attached_ns >= %d ms)", 4 * HOLD_MS);

	/* 14-15: wait and wake */
	l = find_event("pinshm_wait", "pid", waiter, 0);
	show("wait", l);
	tap_ok(l && num(l, "offset") == 0 && num(l, "ret") == 0 &&
	       num(l, "slept_ns") >= hold_ns &&
	       who_is(l, waiter, "pinshm-waiter", 0),
	       "wait: offset, ret 0 (woken), slept_ns >= %d ms, pid and comm "
	       "of the sleeper", HOLD_MS);
	l = find_event("pinshm_wake", NULL, 0, 0);
	show("wake", l);
	tap_ok(l && num(l, "offset") == 0 && num(l, "woken") == 1 &&
	       who_is(l, getpid(), comm, 0),
	       "wake: offset, woken 1 (the one sleeper), pid and comm of the waker");

	/* 16-18: region_destroy */
	l = find_event("pinshm_region_destroy", NULL, 0, 0);
	show("region_destroy", l);
	tap_ok(l && num(l, "size") == REGION_SIZE && num(l, "generation") == 2 &&
	       num(l, "crashes") == 2 && num(l, "attached") == 0,
	       "region_destroy: size, generation 2 and crashes 2 (two deaths), "
	       "nobody attached");
	tap_ok(l && num(l, "lifetime_ns") >= (long long)(t_destroy - t_created) &&
	       num(l, "lifetime_ns") <= (long long)(t_end - t_create),
	       "region_destroy: lifetime_ns %lld within [%llu, %llu] (CLOCK_BOOTTIME "
	       "from CREATE to DESTROY)", l ? num(l, "lifetime_ns") : -1,
	       (unsigned long long)(t_destroy - t_created),
	       (unsigned long long)(t_end - t_create));
	tap_ok(who_is(l, getpid(), comm, 0),
	       "region_destroy: pid, comm and uid of the destroyer");

	/* 19: counts: the test's mapping and three children's (the waiter
	 * maps nothing), each attach ended once */
	tap_ok(!find_event("pinshm_region_create", NULL, 0, 1) &&
	       find_event("pinshm_attach", NULL, 0, 3) &&
	       !find_event("pinshm_attach", NULL, 0, 4) &&
	       find_event("pinshm_detach", NULL, 0, 3) &&
	       !find_event("pinshm_detach", NULL, 0, 4) &&
	       !find_event("pinshm_region_destroy", NULL, 0, 1) &&
	       find_event("pinshm_wait", NULL, 0, 0) &&
	       !find_event("pinshm_wait", NULL, 0, 1),
	       "one create, four attaches, four detaches, one wait, one destroy");

	/* 20: alloc_fail carries the region's name too (format only) */
	tap_ok(format_has("pinshm_alloc_fail", f_alloc_fail),
	       "alloc_fail names the region and the task (format; not provoked "
	       "here: it needs the memory to run out)");
	free(trace);
	return tap_finish();
}
