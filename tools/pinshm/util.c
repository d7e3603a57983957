// SPDX-License-Identifier: MIT
/*
 * pinshm(1): error messages, argument parsing, signals, pacing and idling.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cmd.h"

volatile sig_atomic_t ctl_stop;

const char *ctl_name_rule(void)
{
	return "invalid name (1-63 of A-Z a-z 0-9 . _ -, not starting with '.')";
}

const char *ctl_obj_name_rule(void)
{
	return "invalid ring name (1-31 of A-Z a-z 0-9 . _ -, not starting with '.')";
}

/*
 * The library returns -errno; say what it means for what we were doing,
 * in the words of its documentation (pinshm.h).
 */
const char *ctl_strerror(int err, enum ctl_what what)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case EEXIST:
		return what == CTL_OBJ_CREATE ? "an object of that name exists in the region"
					      : "region exists";
	case ENOENT:
		return (what == CTL_OBJECT || what == CTL_ROLE) ? "no such ring in the region"
								: "no such region";
	case EAGAIN:
		if (what == CTL_REGION)
			return "region metadata is being updated (if it stays so, its writer died "
			       "mid-update: pinshm recover repairs it)";
		return strerror(err);
	case EBADMSG:
		if (what == CTL_OBJECT || what == CTL_ROLE || what == CTL_OBJ_CREATE)
			return "ring or object directory is corrupt";
		return "region is corrupt (not a pinshm region or wrong ABI)";
	case EFBIG:
		return "size above the backend's limit";
	case ENOSPC:
		if (what == CTL_CREATE)
			return "no room for the region (tmpfs full or module cap reached)";
		if (what == CTL_OBJ_CREATE)
			return "no room left in the region or its object directory";
		return "attach table of the region is full";
	case ENOMEM:
		return what == CTL_CREATE ? "out of memory (no contiguous memory free right now)"
					  : "out of memory";
	case EACCES:
		if (what == CTL_OBJ_CREATE || what == CTL_ROLE)
			return "permission denied (region is read-only to us)";
		return "permission denied";
	case EPERM:
		return "operation not permitted (not the owner)";
	case ENODEV:
		return "kmod backend asked for but /dev/pinshm is missing (module not loaded?)";
	case EBUSY:
		return "role is held by another live process";
	case EINVAL:
		if (what == CTL_CREATE)
			return "invalid argument (name, size or NUMA node)";
		if (what == CTL_OBJ_CREATE)
			return "invalid argument (name, capacity or max record)";
		return "invalid argument";
	case EMSGSIZE:
		return "message larger than the ring's max record";
	case ERANGE:
		return "value out of range";
	case EOPNOTSUPP:
		return "not supported yet";
	case EPROTONOSUPPORT:
		return "made by another version of libpinshm (its layout differs: "
		       "recreate it, or use that version)";
	default:
		return strerror(err);
	}
}

static void ctl_vmsg(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "pinshm: %s%s\n", prefix, line);
}

void ctl_errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vmsg("", fmt, ap);
	va_end(ap);
}

void ctl_warnf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vmsg("warning: ", fmt, ap);
	va_end(ap);
}

/* "pinshm: CTX: MESSAGE"; returns err (-errno), for the caller to pass up. */
int ctl_fail(const char *ctx, int err, enum ctl_what what)
{
	ctl_errorf("%s: %s", ctx, ctl_strerror(err, what));
	return err;
}

/* The end of a command's output: 0, or -errno when it could not be written. */
int ctl_flush_stdout(void)
{
	if (!fflush(stdout) && !ferror(stdout))
		return 0;
	return errno ? -errno : -EIO;
}

int ctl_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int ctl_parse_int(const char *s, long min, long max, long *out)
{
	long v;
	char *end;

	if (!s || !*s || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* A size: digits and an optional K/M/G suffix (the library's rules). */
int ctl_parse_size(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	return pinshm_parse_size(s, out);
}

int ctl_parse_double(const char *s, double *out)
{
	double v;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno == ERANGE || *end || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

int ctl_parse_octal(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || *end || v > 0777)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

bool ctl_is_power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Exact sizes keep a suffix so that they read back the same: 2M, 4K. */
char *ctl_fmt_size(uint64_t v, char *buf, size_t len)
{
	static const char sfx[] = "KMGT";
	int i = -1;

	while (v && !(v & 1023) && i < 3) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "%" PRIu64 "%c", v, sfx[i]);
	return buf;
}

char *ctl_fmt_rate(double v, char *buf, size_t len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

/* CLOCK_REALTIME ns → ISO 8601 UTC with milliseconds. */
char *ctl_fmt_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;
	char tmp[32];

	if (!ns || !gmtime_r(&t, &tm)) {
		snprintf(buf, len, "-");
		return buf;
	}
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", tmp,
		 (unsigned int)(ns % 1000000000ULL / 1000000ULL));
	return buf;
}

/* Wait until the absolute CLOCK_MONOTONIC time t (ns). */
void ctl_pace(uint64_t t)
{
	uint64_t now = bench_mono_ns();
	struct timespec ts;

	if (now >= t)
		return;
	if (t - now > 200000) {
		/* Sleep most of it, spin the rest: clock_nanosleep oversleeps. */
		uint64_t wake = t - 50000;

		ts.tv_sec = (time_t)(wake / 1000000000ULL);
		ts.tv_nsec = (long)(wake % 1000000000ULL);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	while (!ctl_stop && bench_mono_ns() < t)
		pinshm_cpu_relax();
}

/* -EBUSY taking a role: say who holds it when the counters tell. */
int ctl_role_busy(const char *ctx, struct pinshm_region *r, const char *ring, const char *role,
		  bool producer)
{
	struct pinshm_ring_stats st;
	uint32_t pid = 0;

	if (!pinshm_obj_stats(r, ring, &st))
		pid = producer ? st.producer_pid : st.consumer_pid;
	if (pid)
		ctl_errorf("%s: the %s role is held by live process %u", ctx, role, pid);
	else
		ctl_errorf("%s: the %s role is held by another live process", ctx, role);
	return -EBUSY;
}

/* Nothing to read: spin, then yield, then poll every 200 us. */
void ctl_idle(uint64_t *idle_since, unsigned int *spins)
{
	uint64_t now;

	/* (Counted here: __pinshm_wait_step() keeps its count below
	 * PINSHM_YIELD_SPINS, so the sleep below would never come.) */
	if (*spins < PINSHM_YIELD_SPINS) {
		++*spins;
		pinshm_cpu_relax();
		return;
	}
	now = bench_mono_ns();
	if (!*idle_since)
		*idle_since = now;
	if (now - *idle_since < 100000000ULL) {
		sched_yield();
	} else {
		/* Idle for a while: do not burn a CPU, poll every 200 us. */
		struct timespec ts = { 0, 200000 };

		nanosleep(&ts, NULL);
	}
}

/*
 * ctl_idle() for a tail that may sleep on its ring: once the spins are
 * over, sleep in the ring's wait (a futex, or pinshm.ko's WAIT) for up to
 * 100 ms, until the writer's next commit wakes us, instead of yielding and
 * polling. Where the ring cannot sleep (-EOPNOTSUPP, -ENOSYS; -EACCES: a
 * read-only reader that may not write the region's file either), *cannot
 * is set and ctl_idle() takes over.
 */
void ctl_idle_wait(uint64_t *idle_since, unsigned int *spins,
		   int (*wait)(void *ring, int64_t timeout_ns), void *ring, bool *cannot)
{
	int ret;

	if (*cannot || *spins < PINSHM_YIELD_SPINS) {
		ctl_idle(idle_since, spins);
		return;
	}
	ret = wait(ring, 100000000LL);
	if (ret == -EOPNOTSUPP || ret == -ENOSYS || ret == -EACCES)
		*cannot = true;
}

static void ctl_on_signal(int sig)
{
	(void)sig;
	ctl_stop = 1;
}

/* No SA_RESTART: a blocking call returns and the loop sees ctl_stop. */
void ctl_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * The names of the backend's regions into *names (to free): their number,
 * or -errno (said, with ctx).
 */
int ctl_list_regions(const char *ctx, char (**names)[PINSHM_NAME_MAX])
{
	unsigned int max = 256;
	int n;

	for (;;) {
		*names = calloc(max, sizeof(**names));
		if (!*names)
			return ctl_fail(ctx, -ENOMEM, CTL_REGION);
		n = pinshm_region_list(ctl_backend, *names, max);
		if (n < 0 || (unsigned int)n <= max)
			break;
		/* More than fit: again, with room for a few more. */
		free(*names);
		max = (unsigned int)n + 16;
	}
	if (n < 0) {
		free(*names);
		*names = NULL;
		return ctl_fail(ctx, n, CTL_REGION);
	}
	return n;
}

int ctl_open_region(const char *name, int access, struct pinshm_region **out)
{
	if (!pinshm_name_valid(name))
		return -EINVAL;
	return pinshm_region_open(name, access, ctl_backend, out);
}

/* ---- shared by the region commands (create, ls, info, rm, recover) ---- */

const char *ctl_meta_backend(const struct pinshm_meta *m)
{
	switch (m->backend) {
	case PINSHM_BACKEND_KMOD:
		return "kmod";
	case PINSHM_BACKEND_SHM:
		return "shm";
	default:
		return "?";
	}
}

/* Our own inspection attach is not interesting: leave it out. */
bool ctl_is_self(const struct pinshm_attach *a)
{
	return a->state == PINSHM_ST_ATTACHED && a->tgid == (uint32_t)getpid();
}

unsigned int ctl_nr_slots(const struct pinshm_meta *m)
{
	return m->nr_slots < PINSHM_MAX_ATTACH ? m->nr_slots : PINSHM_MAX_ATTACH;
}

unsigned int ctl_attached_others(const struct pinshm_meta *m)
{
	unsigned int i, n = 0;

	for (i = 0; i < ctl_nr_slots(m); i++)
		if (m->attach[i].state == PINSHM_ST_ATTACHED && !ctl_is_self(&m->attach[i]))
			n++;
	return n;
}

/* Print o as one JSON text (json-c's flags), then free it. */
void ctl_put_json(struct json_object *o, int flags)
{
	puts(json_object_to_json_string_ext(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* The one operand of a region command, NAME; 0 or -errno. */
int ctl_one_name(const struct ctl_cmd *c, int argc, char **argv, const char **name)
{
	static const char *const need[] = { "region NAME", NULL };
	int ret;

	ret = ctl_operands(c, argc, argv, need, 1);
	if (ret)
		return ret;
	*name = argv[optind];
	if (!pinshm_name_valid(*name)) {
		ctl_errorf("%s %s: %s", c->name, *name, ctl_name_rule());
		return -EINVAL;
	}
	return 0;
}

/*
 * Open to look and to recover: an observer leaves no attach slot behind
 * on the shm backend, and may still mark the dead (the shm backend writes
 * the metadata itself when the file is writable to us; the kernel marks
 * them on its own).
 */
int ctl_open_for_recovery(const char *name, struct pinshm_region **r)
{
	return ctl_open_region(name, PINSHM_OBSERVE, r);
}
