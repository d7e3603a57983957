// SPDX-License-Identifier: GPL-2.0
/*
 * Futex wait/wake (libshm/src/wait.c) on memory of pinshm.ko: does a
 * shared futex work on pages the module inserts with vm_insert_pages()
 * (page->mapping NULL)? Linux 6.1's get_futex_key() refuses such pages with
 * -EFAULT. This program asks the running kernel directly (a raw shared
 * FUTEX_WAKE on the ring's wait queue word), then checks that the library
 * does the right thing either way:
 *   - futexes work: a consumer asleep in pinshm_spsc_wait() is woken by a
 *     producer in another process, timeouts give -ETIMEDOUT, and a stream
 *     with a consumer that sleeps whenever the ring is empty loses nothing;
 *   - futexes refused: pinshm_spsc_wait() says -EOPNOTSUPP at once (the
 *     caller spins), never hangs, never leaves a waiter counted, and
 *     messages still arrive by spinning.
 * A control run on MAP_SHARED anonymous memory (shmem, which has a
 * mapping) shows that the library's wait/wake works in this guest kernel.
 * Issue 4 ("futex wait/wake that costs the producer nothing unless a reader
 * is actually sleeping").
 */
#include "common.h"

#include <linux/futex.h>
#include <pinshm.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#define NMSG		20000ULL
#define SEC		1000000000LL

static const char *region;
static int futex_ok;

static uint32_t waiters_of(struct pinshm_waitq *wq)
{
	return atomic_load((_Atomic uint32_t *)&wq->waiters);
}

/*
 * A producer in its own process: kmod mappings are not inherited by fork,
 * so it opens the region itself. Sends seqs 1..n; with wait_sleeper, waits
 * for the consumer to be asleep before the first one.
 */
static void producer(uint64_t n, int wait_sleeper)
{
	struct pinshm_region *r;
	struct pinshm_spsc p;
	uint64_t seq, spins;

	if (pinshm_region_open(region, PINSHM_RDWR, PINSHM_BACKEND_AUTO, &r) ||
	    pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &p))
		_exit(10);
	if (pinshm_wait_register())
		_exit(11);
	if (wait_sleeper) {
		uint64_t deadline = mono_us() + 10 * 1000000ULL;

		while (waiters_of(&p.sh->waitq) == 0 && mono_us() < deadline)
			sched_yield();
		usleep(20000);	/* from the membarrier into the futex */
	}
	for (seq = 1; seq <= n; seq++) {
		if (pinshm_spsc_send(&p, &seq, sizeof(seq), 1, PINSHM_WAIT_YIELD))
			_exit(12);
		pinshm_waitq_kick(&p.sh->waitq);
		if (seq % 97 == 0)
			for (spins = 0; spins < (seq * 7919) % 3000; spins++)
				pinshm_cpu_relax();
		if (seq % 1000 == 0)
			usleep(100);
	}
	pinshm_spsc_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

/*
 * Receive seqs 1..n, sleeping in pinshm_spsc_wait() whenever the ring is
 * empty (spinning when it says -EOPNOTSUPP). Returns problems seen.
 */
static uint64_t consume(struct pinshm_spsc *c, uint64_t n, uint64_t *sleeps,
			int *wait_ret)
{
	uint64_t next = 1, bad = 0, seq;
	uint64_t deadline = mono_us() + 120 * 1000000ULL;
	struct pinshm_msg m;
	int ret;

	*wait_ret = 0;
	while (next <= n) {
		ret = pinshm_spsc_peek(c, &m);
		if (ret == -EAGAIN) {
			if (mono_us() > deadline)
				return bad + 1000000;
			ret = pinshm_spsc_wait(c, 10 * SEC);
			if (ret == 0) {
				++*sleeps;
				continue;
			}
			if (ret != -EOPNOTSUPP)
				return bad + 1000000 + (uint64_t)-ret;
			*wait_ret = ret;
			sched_yield();
			continue;
		}
		if (ret || m.len != sizeof(seq))
			return bad + 1;
		memcpy(&seq, m.data, sizeof(seq));
		if (seq != next)
			bad++;
		next = seq + 1;
		pinshm_spsc_release(c);
	}
	return bad;
}

/* Control: wait/wake on shmem (MAP_SHARED | MAP_ANONYMOUS) across fork. */
struct ctl_shared {
	struct pinshm_waitq wq;
	_Atomic uint32_t flag;
};

static bool flag_ready(void *arg)
{
	return atomic_load((_Atomic uint32_t *)arg) != 0;
}

static int control_run(void)
{
	struct ctl_shared *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ret, st;
	pid_t pid;

	if (s == MAP_FAILED)
		return -errno;
	pid = fork();
	if (pid == 0) {
		pinshm_wait_register();
		while (waiters_of(&s->wq) == 0)
			sched_yield();
		usleep(20000);
		atomic_store(&s->flag, 1);
		pinshm_waitq_kick(&s->wq);
		_exit(0);
	}
	ret = pinshm_waitq_wait(&s->wq, flag_ready, &s->flag, 20 * SEC);
	st = wait_child(pid, 30000);
	if (ret == 0 && (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)))
		ret = -ECHILD;
	if (ret == 0 && (waiters_of(&s->wq) != 0 || s->wq.seq == 0))
		ret = -EPROTO;
	munmap(s, 4096);
	return ret;
}

int main(void)
{
	struct pinshm_region_opts o;
	struct pinshm_region *r;
	struct pinshm_spsc c;
	struct pinshm_msg m;
	uint64_t t0, us, sleeps = 0, bad;
	int ret, want, st, wret;
	long fret;
	pid_t pid;

	tap_plan(11);
	test_timeout(600);
	region = tname("futex");
	cleanup_add(region);

	pinshm_region_opts_init(&o);
	o.size = 1 << 20;
	ret = pinshm_region_create(region, &o, &r);
	if (!tap_ok(ret == 0 && pinshm_region_backend(r) == PINSHM_BACKEND_KMOD,
		    "a 1 MiB region on the kmod backend (%d)", ret))
		tap_bail("no region");
	ret = pinshm_spsc_create(r, "q", 64 << 10, 0);
	if (!ret)
		ret = pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &c);
	if (!tap_ok(ret == 0, "SPSC ring in module memory, consumer attached (%d)", ret))
		tap_bail("no ring");
	ret = pinshm_wait_register();
	tap_ok(ret == 0, "membarrier GLOBAL_EXPEDITED registration (%d)", ret);

	/* The question itself: a shared futex key on a vm_insert_pages page. */
	fret = syscall(SYS_futex, &c.sh->waitq.seq, FUTEX_WAKE, 1, NULL, NULL, 0);
	futex_ok = fret >= 0;
	tap_ok(fret >= 0 || errno == EFAULT,
	       "shared FUTEX_WAKE on module memory: %s",
	       fret >= 0 ? "works" : strerror(errno));
	tap_diag("shared futexes on pinshm.ko pages %s on this kernel: "
		 "pinshm_spsc_wait() %s", futex_ok ? "WORK" : "are REFUSED (EFAULT)",
		 futex_ok ? "sleeps" : "returns -EOPNOTSUPP and callers spin");

	want = futex_ok ? -ETIMEDOUT : -EOPNOTSUPP;
	t0 = mono_us();
	ret = pinshm_spsc_wait(&c, 20000000);
	us = mono_us() - t0;
	tap_ok(ret == want && waiters_of(&c.sh->waitq) == 0,
	       "waiting 20 ms on an empty ring: %d (%s) after %llu us, no waiter left",
	       ret, strerror(-ret), (unsigned long long)us);

	/* One producer process, one record, the consumer asleep (or not). */
	pid = fork();
	if (pid == 0)
		producer(1, futex_ok);
	want = futex_ok ? 0 : -EOPNOTSUPP;
	t0 = mono_us();
	ret = pinshm_spsc_wait(&c, 20 * SEC);
	us = mono_us() - t0;
	/*
	 * Without futexes the wait says "spin" at once, unless the child
	 * committed first: then the record is there and 0 is right too
	 * (the consume below checks that it really arrived).
	 */
	tap_ok(ret == want || (!futex_ok && ret == 0),
	       "consumer %s when another process commits: %d (%s), %llu us",
	       futex_ok ? "woken" : "told to spin", ret, strerror(-ret),
	       (unsigned long long)us);
	bad = consume(&c, 1, &sleeps, &wret);
	st = wait_child(pid, 30000);
	tap_ok(bad == 0 && st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	       waiters_of(&c.sh->waitq) == 0,
	       "the record arrived, the producer exited cleanly, no waiter left");

	/* A stream: the consumer sleeps every time the ring is empty. */
	sleeps = 0;
	pinshm_spsc_detach(&c);
	ret = pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &c);
	pid = fork();
	if (pid == 0)
		producer(NMSG, 0);
	t0 = mono_us();
	bad = ret ? 1 : consume(&c, NMSG, &sleeps, &wret);
	us = mono_us() - t0;
	st = wait_child(pid, 60000);
	tap_ok(bad == 0 && st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "%llu messages with a consumer that waits whenever empty: in order "
	       "(bad %llu, %llu sleeps, %llu ms)", NMSG, (unsigned long long)bad,
	       (unsigned long long)sleeps, (unsigned long long)us / 1000);
	tap_ok(waiters_of(&c.sh->waitq) == 0 &&
	       pinshm_spsc_peek(&c, &m) == -EAGAIN,
	       "nothing left over, waiters back to 0 (seq %u)", c.sh->waitq.seq);

	ret = control_run();
	tap_ok(ret == 0, "control: cross-process wait/wake on MAP_SHARED anonymous "
	       "memory (%d %s)", ret, ret ? strerror(-ret) : "");

	pinshm_spsc_detach(&c);
	pinshm_region_close(r);
	tap_ok(pinshm_region_destroy(region, PINSHM_BACKEND_AUTO) == 0,
	       "destroy the region");
	return tap_finish();
}
