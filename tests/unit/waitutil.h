/* SPDX-License-Identifier: MIT */
/*
 * Fixtures of the futex suites, "wait" and "wait_rings": forked children
 * report their first failure in a page shared with the test, which reaps
 * them and prints it; the wait queue's counters, read atomically; the
 * membarrier check that skips a test on a kernel without it; a child's
 * own attach of the test's region.
 */
#ifndef PINSHM_WAITUTIL_H
#define PINSHM_WAITUTIL_H

#include <stdarg.h>
#include <stdatomic.h>

#include "testutil.h"

#define WT_ERRLEN	256

/* The first failure of a child, in memory shared with the test. */
struct wt_report {
	_Atomic int fail;
	char err[WT_ERRLEN];
};

static struct wt_report *wt_rep;
static pid_t wt_test_pid;

/* Before the first fork: the page children report in. */
static inline void wt_setup(void)
{
	wt_rep = t_shared_alloc(sizeof(*wt_rep));
	wt_test_pid = getpid();
}

/* In a child: record the failure (the first one wins) and leave. */
static inline __attribute__((format(printf, 1, 2), noreturn)) void
wt_fail(const char *fmt, ...)
{
	va_list ap;
	int zero = 0;

	if (atomic_compare_exchange_strong(&wt_rep->fail, &zero, 1)) {
		va_start(ap, fmt);
		vsnprintf(wt_rep->err, WT_ERRLEN, fmt, ap);
		va_end(ap);
	}
	_exit(1);
}

/* The first failure a child reported, or "". */
static inline const char *wt_err(void)
{
	return atomic_load(&wt_rep->fail) ? wt_rep->err : "";
}

/*
 * One turn of a loop that waits for another process: once any child has
 * reported a failure, what is awaited may never come, so the test fails
 * (a child leaves) instead of waiting for good.
 */
static inline void wt_yield(void)
{
	if (__builtin_expect(atomic_load(&wt_rep->fail), 0)) {
		if (getpid() != wt_test_pid)
			_exit(1);
		cr_assert_fail("a child failed: %s", wt_rep->err);
	}
	sched_yield();
}

static inline void wt_reap_ok(pid_t pid, const char *who)
{
	int st = t_wait(pid);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "%s (pid %d) failed (status %#x): %s", who, (int)pid, st,
		  wt_rep->fail ? wt_rep->err : "no message");
}

static inline uint32_t wt_waiters(const struct pinshm_waitq *wq)
{
	return atomic_load((_Atomic uint32_t *)&wq->waiters);
}

static inline uint32_t wt_seq(const struct pinshm_waitq *wq)
{
	return atomic_load((_Atomic uint32_t *)&wq->seq);
}

static inline void wt_need_membarrier(void)
{
	if (pinshm_wait_register() == -ENOSYS)
		cr_skip_test("no membarrier GLOBAL_EXPEDITED in this kernel");
}

/* In a child: die with the test, open the region by name. */
static inline struct pinshm_region *wt_open(const char *name, int access)
{
	struct pinshm_region *r;
	int ret;

	t_child_init();
	ret = pinshm_region_open(name, access, T_BACKEND, &r);
	if (ret)
		wt_fail("open: %s", strerror(-ret));
	return r;
}

#endif /* PINSHM_WAITUTIL_H */
