/* SPDX-License-Identifier: MIT */
/*
 * The benchmark harness: the one place that forks the measured processes,
 * pins them to their CPUs, starts each measurement at a barrier, reaps
 * them, and kills the rest when one fails (they would wait for it forever).
 *
 *   harness_init()    the shared part (barrier, error messages)
 *   harness_start()   fork n processes; each is pinned (and made SCHED_FIFO
 *                     if asked), then runs body(h, id, arg) and exits 0
 *   harness_sync()    in a process: the barrier, or _exit(1) if one failed
 *   harness_fail()    in a process: say why in the shared part, _exit(1)
 *   harness_wait()    in the parent: reap them all
 *   harness_free()
 *
 * N-party barrier, for up to HARNESS_MAX processes: arrive[i] is written
 * by process i only. Processes 0 and 1 (the measured pair) spin; the
 * others sleep on a futex, so that waiting out runs they take no part in
 * takes nothing from a measured process on a CPU they share (no polling
 * wakeups).
 *   (S1) process i: store-release arrive[i]  pairs with  (S2) process j:
 *        load-acquire arrive[i]; everything written before a barrier is
 *        visible after it.
 *   wake ...... every process, by atomic add after its arrive (n > 2
 *               only), then FUTEX_WAKE; a sleeping process loads wake,
 *               checks the arrivals, and sleeps only if wake has not moved
 *               since (the futex compares it), so no arrival is missed;
 *               the sleep is bounded (a failed process does not add).
 */
#ifndef PINSHM_BENCH_HARNESS_H
#define PINSHM_BENCH_HARNESS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cpu.h"

#define HARNESS_MAX	17

struct harness_sync {
	struct {
		_Alignas(BENCH_BLOCK) uint64_t v;
	} arrive[HARNESS_MAX];
	_Alignas(BENCH_BLOCK) uint32_t failed;	/* any process: give up */
	_Alignas(BENCH_BLOCK) uint32_t wake;
};

/* Wait for all n processes; 0, or -ECANCELED when one gave up. */
int harness_sync_wait(struct harness_sync *s, int id, unsigned int n);
/* Give up: every process waiting at the barrier, or coming to it, fails. */
void harness_sync_fail(struct harness_sync *s);

/* Shared by the parent and its processes (an anonymous shared mapping). */
struct harness_shared {
	struct harness_sync sync;
	char err[HARNESS_MAX][256];	/* process i only */
};

struct harness_proc {
	int cpu;		/* pinned there; -1: not pinned */
	bool rt;		/* SCHED_FIFO, priority 1 */
	pid_t pid;		/* parent: 0 once reaped */
	int status;		/* its wait status, once reaped */
	double cpu_us;		/* its user + system time, once reaped */
	long nivcsw;		/* its involuntary context switches */
};

struct harness {
	unsigned int n;
	struct harness_proc proc[HARNESS_MAX];
	struct harness_shared *sh;
	int failed;		/* the first process that failed, or -1 */
};

/* n processes, not pinned yet (set proc[i].cpu, .rt): 0 or -errno. */
int harness_init(struct harness *h, unsigned int n);
void harness_free(struct harness *h);

/*
 * Fork the processes. Returns 0, or -errno when a fork failed: the ones
 * started give up at their next barrier; harness_wait() still reaps them.
 */
int harness_start(struct harness *h,
		  void (*body)(struct harness *h, int id, void *arg),
		  void *arg);

/*
 * Reap every process, calling tick(arg) every 50 ms while they run (tick
 * may be NULL). When one fails, or *stop is set (a signal), or
 * deadline_ns (bench_mono_ns(), 0: none) passes, the rest are killed.
 * Returns 0 when all exited 0; -EINTR (stopped), -ETIMEDOUT, or -EIO (a
 * process failed: h->failed says which, harness_why() why).
 */
int harness_wait(struct harness *h, const volatile sig_atomic_t *stop,
		 uint64_t deadline_ns, void (*tick)(void *arg), void *arg);

/* Why process id failed: its own message, or how it ended. */
const char *harness_why(const struct harness *h, int id, char *buf,
			size_t len);

/* In process id: the barrier of all n; _exit(1) when one gave up. */
void harness_sync(struct harness *h, int id);

/* In process id: record why it failed, make the others give up, _exit(1). */
void __attribute__((format(printf, 3, 4), noreturn))
harness_fail(struct harness *h, int id, const char *fmt, ...);

#endif /* PINSHM_BENCH_HARNESS_H */
