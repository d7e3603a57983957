/* SPDX-License-Identifier: GPL-2.0 */
/*
 * common.h - TAP output and raw pinshm ioctl helpers for tests/kernel.
 *
 * Header only: every test program is one .c file, built statically
 * against the uapi header and libpinshm.a (see the Makefile). Tests 01-13
 * check the module alone: they talk to /dev/pinshm with raw ioctls and
 * mmap, as the uapi header describes, and use no library call. Tests 14
 * and 15 check libpinshm on the module's regions (the kmod backend, and
 * the module's WAIT/WAKE under the rings' sleeps).
 *
 * Include it first (it defines _GNU_SOURCE).
 *
 * Output is TAP: "1..N" first, then "ok N - what" / "not ok N - what",
 * comments start with "# ". Exit status (kselftest): 0 all passed,
 * 1 something failed (or the plan was not met), 4 the whole program skipped.
 */
#ifndef PINSHM_TESTS_KERNEL_COMMON_H
#define PINSHM_TESTS_KERNEL_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/pinshm.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

#define PAGE_SZ 4096UL
#define SYSFS_REGIONS "/sys/class/misc/pinshm/regions"
#define MODPARAM_DIR "/sys/module/pinshm/parameters"

_Static_assert(sizeof(struct pinshm_attach) == 40, "pinshm_attach is 40 bytes");
_Static_assert(sizeof(struct pinshm_meta) <= PINSHM_META_SIZE,
	       "pinshm_meta fits the metadata page");

/* ------------------------------------------------------------------ */
/* TAP                                                                  */
/* ------------------------------------------------------------------ */

static int tap_planned;
static int tap_n;
static int tap_failed;

static inline void tap_plan(int n)
{
	tap_planned = n;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", n);
	fflush(stdout);
}

__attribute__((format(printf, 1, 2)))
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Report one test point; returns cond so callers can chain. */
__attribute__((format(printf, 2, 3)))
static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 2, 3)))
static inline void tap_skip(const char *why, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("ok %d - ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", why);
	fflush(stdout);
}

/* Stop now: fail the remaining plan. */
__attribute__((format(printf, 1, 2), noreturn))
static inline void tap_bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(KSFT_FAIL);
}

/* Print the result line count check and return the exit status. */
static inline int tap_finish(void)
{
	if (tap_n != tap_planned) {
		tap_diag("planned %d tests but ran %d", tap_planned, tap_n);
		return KSFT_FAIL;
	}
	if (tap_failed) {
		tap_diag("%d of %d tests failed", tap_failed, tap_n);
		return KSFT_FAIL;
	}
	return KSFT_PASS;
}

/* ok if ret < 0 with errno == want (ret is a syscall return value). */
#define tap_errno(ret, want, ...) ({					\
	long __r = (long)(ret);						\
	int __e = errno;						\
	int __c = (__r == -1 && __e == (want));				\
	tap_ok(__c, __VA_ARGS__);					\
	if (!__c)							\
		tap_diag("  got ret=%ld errno=%d (%s), want errno %d (%s)", \
			 __r, __r == -1 ? __e : 0,			\
			 __r == -1 ? strerror(__e) : "none",		\
			 (want), strerror(want));			\
	__c;								\
})

/* ok if ret >= 0 */
#define tap_success(ret, ...) ({					\
	long __r = (long)(ret);						\
	int __e = errno;						\
	int __c = (__r >= 0);						\
	tap_ok(__c, __VA_ARGS__);					\
	if (!__c)							\
		tap_diag("  got ret=%ld errno=%d (%s)", __r, __e,	\
			 strerror(__e));				\
	__c;								\
})

#define tap_eq_u64(got, want, ...) ({					\
	unsigned long long __g = (unsigned long long)(got);		\
	unsigned long long __w = (unsigned long long)(want);		\
	int __c = (__g == __w);						\
	tap_ok(__c, __VA_ARGS__);					\
	if (!__c)							\
		tap_diag("  got %llu (0x%llx), want %llu (0x%llx)",	\
			 __g, __g, __w, __w);				\
	__c;								\
})

/* ------------------------------------------------------------------ */
/* time                                                                 */
/* ------------------------------------------------------------------ */

static inline uint64_t now_ns(int clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_us(void)
{
	return now_ns(CLOCK_MONOTONIC) / 1000;
}

/* ------------------------------------------------------------------ */
/* raw ioctls                                                           */
/* ------------------------------------------------------------------ */

static inline void set_name(char dst[PINSHM_NAME_MAX], const char *name)
{
	size_t n = strnlen(name, PINSHM_NAME_MAX - 1);

	memset(dst, 0, PINSHM_NAME_MAX);
	memcpy(dst, name, n);
}

static inline int ctl_open(void)
{
	int fd = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		tap_bail("cannot open %s: %s (is pinshm.ko loaded?)",
			 PINSHM_DEV_PATH, strerror(errno));
	return fd;
}

/* All wrappers return the ioctl result: >= 0, or -1 with errno set. */
static inline int pshm_create(int ctl, const char *name, uint64_t bytes, int node,
		       unsigned int mode)
{
	struct pinshm_create c;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	set_name(c.name, name);
	c.bytes = bytes;
	c.node = node;
	c.mode = mode;
	return ioctl(ctl, PINSHM_IOC_CREATE, &c);
}

static inline int pshm_open(int ctl, const char *name, unsigned int flags)
{
	struct pinshm_open o;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.flags = flags;
	set_name(o.name, name);
	return ioctl(ctl, PINSHM_IOC_OPEN, &o);
}

static inline int pshm_destroy(int ctl, const char *name)
{
	struct pinshm_destroy d;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	set_name(d.name, name);
	return ioctl(ctl, PINSHM_IOC_DESTROY, &d);
}

static inline int pshm_detach(int rfd)
{
	struct pinshm_detach d;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	return ioctl(rfd, PINSHM_IOC_DETACH, &d);
}

/* INFO by name on the control fd (name != NULL) or on a region fd. */
static inline int pshm_info(int fd, const char *name, struct pinshm_info *inf)
{
	memset(inf, 0, sizeof(*inf));
	inf->size = sizeof(*inf);
	if (name)
		set_name(inf->name, name);
	return ioctl(fd, PINSHM_IOC_INFO, inf);
}

/* LIST into names[max][64]; returns count copied, *total set. */
static inline int pshm_list(int ctl, char (*names)[PINSHM_NAME_MAX], unsigned int max,
		     unsigned int *total)
{
	struct pinshm_list l;
	int r;

	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.max = max;
	l.names = (uintptr_t)names;
	r = ioctl(ctl, PINSHM_IOC_LIST, &l);
	if (total)
		*total = l.total;
	return r;
}

/* Is name among the listed regions? 1 yes, 0 no, -1 LIST failed. */
static inline int pshm_listed(int ctl, const char *name)
{
	static char names[256][PINSHM_NAME_MAX];
	unsigned int total = 0;
	int n, i;

	n = pshm_list(ctl, names, 256, &total);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (strncmp(names[i], name, PINSHM_NAME_MAX) == 0)
			return 1;
	return 0;
}

/* A unique region name for this process: "<prefix>-<pid>-<tag>". */
static inline const char *tname(const char *tag)
{
	static char buf[8][PINSHM_NAME_MAX];
	static int idx;
	char *b = buf[idx++ & 7];

	snprintf(b, PINSHM_NAME_MAX, "%.20s-%d-%.20s",
		 program_invocation_short_name, (int)getpid(), tag);
	/* keep to the legal charset */
	for (char *p = b; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		      *p == '.'))
			*p = '_';
	return b;
}

/* ------------------------------------------------------------------ */
/* best-effort cleanup of the regions a test created                    */
/* ------------------------------------------------------------------ */

static char cleanup_names[64][PINSHM_NAME_MAX];
static int cleanup_n;
static pid_t cleanup_pid;

static inline void cleanup_run(void)
{
	int ctl, i;

	if (getpid() != cleanup_pid)
		return;
	ctl = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return;
	for (i = 0; i < cleanup_n; i++)
		if (pshm_destroy(ctl, cleanup_names[i]) == 0)
			printf("# cleanup: destroyed leftover region %s\n",
			       cleanup_names[i]);
	close(ctl);
}

/* Remember name so that it is destroyed at exit if still there. */
static inline void cleanup_add(const char *name)
{
	if (!cleanup_n) {
		cleanup_pid = getpid();
		atexit(cleanup_run);
	}
	if (cleanup_n < 64)
		set_name(cleanup_names[cleanup_n++], name);
}

/* ------------------------------------------------------------------ */
/* metadata page                                                        */
/* ------------------------------------------------------------------ */

static inline void *map_meta(int rfd)
{
	return mmap(NULL, PINSHM_META_SIZE, PROT_READ, MAP_SHARED, rfd, 0);
}

/* Consistent copy of the kernel-written page; 0, or -1 if seq stays odd. */
static inline int meta_snapshot(const struct pinshm_meta *m, struct pinshm_meta *out)
{
	for (int tries = 0; tries < 1000000; tries++) {
		uint32_t s1 = __atomic_load_n(&m->seq, __ATOMIC_ACQUIRE);

		if (s1 & 1) {
			if (tries > 1000)
				usleep(10);
			continue;
		}
		memcpy(out, (const void *)m, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&m->seq, __ATOMIC_RELAXED) == s1)
			return 0;
	}
	return -1;
}

/* Find the most recent slot of tgid (highest attach_ns); NULL if none. */
static inline const struct pinshm_attach *meta_slot(const struct pinshm_meta *m,
					     pid_t tgid)
{
	const struct pinshm_attach *best = NULL;
	unsigned int n = m->nr_slots;

	if (n > PINSHM_MAX_ATTACH)
		n = PINSHM_MAX_ATTACH;
	for (unsigned int i = 0; i < n; i++) {
		const struct pinshm_attach *a = &m->attach[i];

		if (a->state == PINSHM_ST_FREE || a->tgid != (uint32_t)tgid)
			continue;
		if (!best || a->attach_ns >= best->attach_ns)
			best = a;
	}
	return best;
}

static inline const char *state_name(unsigned int st)
{
	switch (st) {
	case PINSHM_ST_FREE: return "FREE";
	case PINSHM_ST_ATTACHED: return "ATTACHED";
	case PINSHM_ST_DETACHED: return "DETACHED";
	case PINSHM_ST_DIED: return "DIED";
	case PINSHM_ST_EXEC: return "EXEC";
	}
	return "?";
}

static inline void meta_dump_slots(const struct pinshm_meta *m)
{
	unsigned int n = m->nr_slots > PINSHM_MAX_ATTACH ? PINSHM_MAX_ATTACH
							 : m->nr_slots;

	tap_diag("  meta: gen=%llu crashes=%llu nr_attached=%u seq=%u",
		 (unsigned long long)m->generation,
		 (unsigned long long)m->crashes, m->nr_attached, m->seq);
	for (unsigned int i = 0; i < n; i++) {
		const struct pinshm_attach *a = &m->attach[i];

		if (a->state == PINSHM_ST_FREE)
			continue;
		tap_diag("  slot %u: tgid=%u access=%u state=%s exit=%d sig=%u",
			 i, a->tgid, a->access, state_name(a->state),
			 a->exit_code, a->signal);
	}
}

/* ------------------------------------------------------------------ */
/* misc                                                                 */
/* ------------------------------------------------------------------ */

/*
 * Load the module at path ko with params (finit_module(2)); unload it
 * (delete_module(2), O_NONBLOCK: EAGAIN/EBUSY while it is in use). Both
 * return 0 or -1 with errno set.
 */
static inline long mod_load(const char *ko, const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), e;
	long r;

	if (fd < 0)
		return -1;
	r = syscall(SYS_finit_module, fd, params, 0);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

static inline long mod_unload(void)
{
	return syscall(SYS_delete_module, "pinshm", O_NONBLOCK);
}

/* Read a small sysfs/proc file into buf (trailing newline stripped). */
static inline int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

/*
 * Wait, up to 10 s, until pid has sat in an interruptible sleep ('S' in
 * /proc/PID/stat) at five looks 20 ms apart: past its start, its spins and
 * its first yields, however slowly an emulated guest on a busy host runs
 * them. True once it has.
 */
static inline bool proc_settled(pid_t pid)
{
	char path[64], buf[1024], *p;
	int i, quiet = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (i = 0; i < 500 && quiet < 5; i++) {
		usleep(20000);
		if (read_file(path, buf, sizeof(buf)) < 0)
			return false;
		p = strrchr(buf, ')');
		quiet = p && p[1] == ' ' && p[2] == 'S' ? quiet + 1 : 0;
	}
	return quiet >= 5;
}

/*
 * The number the first line of a text file that matches fmt gives (fmt:
 * a scanf format with one %ld, e.g. "MemFree: %ld kB"), or -1.
 */
static inline long file_field(const char *path, const char *fmt)
{
	char line[256];
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &v) == 1)
			break;
	fclose(f);
	return v;
}

static inline int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static inline int path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Wait for a child; return its raw wait status, or -1 on timeout (killed). */
static inline int wait_child(pid_t pid, int timeout_ms)
{
	int st;

	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Guard against a hung kernel path: SIGALRM kills the test. */
static inline void test_timeout(unsigned int secs)
{
	alarm(secs);
}

#endif /* PINSHM_TESTS_KERNEL_COMMON_H */
