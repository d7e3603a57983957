// SPDX-License-Identifier: MIT
/* The benchmark harness (harness.h, which holds the barrier's protocol). */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <pinshm/barrier.h>

#include "clock.h"
#include "harness.h"

int harness_sync_wait(struct harness_sync *s, int id, unsigned int n)
{
	uint64_t k = PINSHM_READ_ONCE(s->arrive[id].v) + 1;	/* ours */
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned int i;
	uint32_t w;

	/* (S1) pairs with (S2). */
	pinshm_store_release(&s->arrive[id].v, k);
	if (n > 2) {
		__atomic_fetch_add(&s->wake, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &s->wake, FUTEX_WAKE, INT32_MAX, NULL,
			NULL, 0);
	}
	for (i = 0; i < n; i++) {
		/* (S2) pairs with (S1). */
		for (;;) {
			w = __atomic_load_n(&s->wake, __ATOMIC_SEQ_CST);
			if (pinshm_load_acquire(&s->arrive[i].v) >= k)
				break;
			if (PINSHM_READ_ONCE(s->failed))
				return -ECANCELED;
			if (id >= 2)
				syscall(SYS_futex, &s->wake, FUTEX_WAIT, w,
					&ts, NULL, 0);
			else
				pinshm_cpu_relax();
		}
	}
	return 0;
}

void harness_sync_fail(struct harness_sync *s)
{
	PINSHM_WRITE_ONCE(s->failed, 1);	/* a flag; orders nothing */
}

int harness_init(struct harness *h, unsigned int n)
{
	unsigned int i;

	memset(h, 0, sizeof(*h));
	if (n < 1 || n > HARNESS_MAX)
		return -EINVAL;
	h->n = n;
	h->failed = -1;
	for (i = 0; i < n; i++)
		h->proc[i].cpu = -1;
	h->sh = mmap(NULL, sizeof(*h->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (h->sh == MAP_FAILED) {
		h->sh = NULL;
		return -errno;
	}
	return 0;
}

void harness_free(struct harness *h)
{
	if (h->sh)
		munmap(h->sh, sizeof(*h->sh));
	h->sh = NULL;
}

void harness_fail(struct harness *h, int id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->sh->err[id], sizeof(h->sh->err[0]), fmt, ap);
	va_end(ap);
	harness_sync_fail(&h->sh->sync);
	_exit(1);
}

void harness_sync(struct harness *h, int id)
{
	if (harness_sync_wait(&h->sh->sync, id, h->n))
		_exit(1);
}

static void __attribute__((noreturn))
proc_main(struct harness *h, int id,
	  void (*body)(struct harness *h, int id, void *arg), void *arg)
{
	const struct harness_proc *p = &h->proc[id];
	int ret;

	if (p->cpu >= 0 && (ret = bench_pin(p->cpu)))
		harness_fail(h, id, "pin to cpu %d: %s", p->cpu,
			     strerror(-ret));
	if (p->rt) {
		struct sched_param sp = { .sched_priority = 1 };

		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
			harness_fail(h, id, "--rt: SCHED_FIFO: %s",
				     strerror(errno));
	}
	body(h, id, arg);
	_exit(0);
}

int harness_start(struct harness *h,
		  void (*body)(struct harness *h, int id, void *arg),
		  void *arg)
{
	unsigned int i;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < h->n; i++) {
		pid = fork();
		if (pid < 0) {
			int err = -errno;

			harness_sync_fail(&h->sh->sync);
			return err;
		}
		if (pid == 0)
			proc_main(h, (int)i, body, arg);
		h->proc[i].pid = pid;
	}
	return 0;
}

static void kill_all(struct harness *h)
{
	unsigned int i;

	for (i = 0; i < h->n; i++)
		if (h->proc[i].pid > 0)
			kill(h->proc[i].pid, SIGKILL);
}

int harness_wait(struct harness *h, const volatile sig_atomic_t *stop,
		 uint64_t deadline_ns, void (*tick)(void *arg), void *arg)
{
	unsigned int i, alive = 0;
	struct rusage ru;
	int status, ret = 0;
	pid_t w;

	for (i = 0; i < h->n; i++)
		alive += h->proc[i].pid > 0;
	while (alive) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		w = wait4(-1, &status, WNOHANG, &ru);
		if (w < 0 && errno != EINTR)
			break;
		if (w <= 0) {
			if (!ret && ((stop && *stop) ||
				     (deadline_ns && bench_mono_ns() > deadline_ns))) {
				ret = stop && *stop ? -EINTR : -ETIMEDOUT;
				kill_all(h);
			} else if (!ret && tick) {
				tick(arg);
			}
			nanosleep(&ts, NULL);
			continue;
		}
		for (i = 0; i < h->n; i++) {
			struct harness_proc *p = &h->proc[i];

			if (w != p->pid)
				continue;
			p->pid = 0;
			p->status = status;
			p->cpu_us = (double)ru.ru_utime.tv_sec * 1e6 +
				    (double)ru.ru_utime.tv_usec +
				    (double)ru.ru_stime.tv_sec * 1e6 +
				    (double)ru.ru_stime.tv_usec;
			p->nivcsw = ru.ru_nivcsw;
			alive--;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				continue;
			if (!ret) {
				ret = -EIO;
				h->failed = (int)i;
			}
			kill_all(h);
		}
	}
	return ret;
}

const char *harness_why(const struct harness *h, int id, char *buf,
			size_t len)
{
	int st = h->proc[id].status;

	if (h->sh->err[id][0])
		snprintf(buf, len, "%s", h->sh->err[id]);
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "failed");
	return buf;
}
