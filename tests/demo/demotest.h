/* SPDX-License-Identifier: MIT */
/*
 * The demo's transport tests: a struct tr_shared in an anonymous shared
 * mapping, as the runner makes it, and forked stage processes.
 */
#ifndef PINSHM_TESTS_DEMOTEST_H
#define PINSHM_TESTS_DEMOTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "xp.h"

static inline struct tr_shared *demo_shared(enum tr_transport t,
					    unsigned int strategies)
{
	struct tr_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	sh->cfg.transport = t;
	sh->cfg.strategies = strategies;
	sh->cfg.seed = 1;
	snprintf(sh->cfg.prefix, sizeof(sh->cfg.prefix), "dt%d", (int)getpid());
	for (int p = 0; p < TR_MAX_PROCS; p++)
		sh->cfg.cpu[p] = -1;
	bench_clock_init(&sh->clk, 5);
	for (int h = 0; h < TR_HOPS; h++)
		bench_hist_reset(&sh->hop[h]);
	return sh;
}

static inline uint64_t demo_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sets quit (the stages may leave) as the runner does. */
static inline void demo_quit(struct tr_shared *sh)
{
	__atomic_store_n(&sh->quit, 1, __ATOMIC_RELEASE);
}

/* A forked stage's body ends here: wait for quit, then exit. */
static inline void demo_child_exit(struct tr_shared *sh, int status)
{
	while (!__atomic_load_n(&sh->quit, __ATOMIC_ACQUIRE))
		usleep(1000);
	_exit(status);
}

static inline int demo_wait(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif /* PINSHM_TESTS_DEMOTEST_H */
