// SPDX-License-Identifier: GPL-2.0
/*
 * Futex wait/wake (libshm/src/wait.c) on memory of pinshm.ko. A shared
 * futex cannot be keyed on pages the module inserts with vm_insert_pages()
 * (page->mapping NULL: Linux 6.1's get_futex_key() says -EFAULT; the raw
 * FUTEX_WAKE below reports what the running kernel does). The module's
 * WAIT/WAKE ioctls stand in for it, and this program checks that:
 *   - the ioctls refuse bad arguments (offset outside the data or not
 *     4-aligned, flags, a WAKE through a read-only fd), say -EAGAIN for a
 *     word that differs and -ETIMEDOUT after a timeout;
 *   - a consumer asleep in pinshm_spsc_wait() is really asleep (almost no
 *     CPU time over 200 ms) and is woken by a producer in another process;
 *   - a stream with a consumer that sleeps whenever the ring is empty loses
 *     nothing, and no waiter is left counted;
 *   - WAKEs of one ring's word do not wake a consumer asleep on another
 *     ring's word at the same offset of its page.
 * A control run on MAP_SHARED anonymous memory (shmem, which has a
 * mapping) shows that the library's wait/wake works in this guest kernel,
 * and a forked child sleeps on such memory where the region was mapped in
 * its parent (the library keeps no table of the module's mappings that a
 * child could inherit: each ring handle carries its region fd).
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
		/* The send kicks the consumer's queue through the handle. */
		if (pinshm_spsc_send(&p, &seq, sizeof(seq), 1, PINSHM_WAIT_YIELD))
			_exit(12);
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
 * empty (spinning when it says -EOPNOTSUPP). Returns problems seen: a
 * sequence out of order, or a wait that outlasted its wake by seconds.
 */
static uint64_t consume(struct pinshm_spsc *c, uint64_t n, uint64_t *sleeps,
			int *wait_ret)
{
	uint64_t next = 1, bad = 0, seq;
	uint64_t deadline = mono_us() + 120 * 1000000ULL, t0;
	struct pinshm_msg m;
	int ret;

	*wait_ret = 0;
	while (next <= n) {
		ret = pinshm_spsc_peek(c, &m);
		if (ret == -EAGAIN) {
			if (mono_us() > deadline)
				return bad + 1000000;
			t0 = mono_us();
			ret = pinshm_spsc_wait(c, 10 * SEC);
			if (ret == 0) {
				++*sleeps;
				/* The producer never pauses for 2 s: a wait this
				 * long missed its wake. */
				if (mono_us() - t0 > 2000000)
					bad++;
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

/* CPU time of this process so far, us. */
static uint64_t cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * MPSC: the consumer sleeps in pinshm_mpsc_wait() (slices of 20 ms with a
 * look for dead producers in between) until a producer process commits.
 * Returns 0, or what went wrong.
 */
static int mpsc_run(struct pinshm_region *r, uint64_t *cpu_used, uint64_t *us)
{
	struct pinshm_mpsc c;
	struct pinshm_msg m = { 0 };
	uint64_t t0, c0, seq = 0;
	int ret, st;
	pid_t pid;

	ret = pinshm_mpsc_create(r, "m", 64 << 10, 0);
	if (!ret)
		ret = pinshm_mpsc_attach(r, "m", PINSHM_CONSUMER, &c);
	if (ret)
		return ret;
	pid = fork();
	if (pid == 0) {
		struct pinshm_region *q;
		struct pinshm_mpsc p;
		uint64_t deadline = mono_us() + 10 * 1000000ULL;

		if (pinshm_region_open(region, PINSHM_RDWR, PINSHM_BACKEND_AUTO,
				       &q) ||
		    pinshm_mpsc_attach(q, "m", PINSHM_PRODUCER, &p) ||
		    pinshm_wait_register())
			_exit(10);
		while (waiters_of(&p.sh->waitq) == 0 && mono_us() < deadline)
			sched_yield();
		usleep(100000);	/* asleep for a few slices first */
		seq = 42;
		if (pinshm_mpsc_send(&p, &seq, sizeof(seq), 0, PINSHM_WAIT_YIELD))
			_exit(11);
		pinshm_mpsc_detach(&p);
		pinshm_region_close(q);
		_exit(0);
	}
	c0 = cpu_us();
	t0 = mono_us();
	ret = pinshm_mpsc_wait(&c, 20 * SEC);
	*us = mono_us() - t0;
	*cpu_used = cpu_us() - c0;
	st = wait_child(pid, 30000);
	if (!ret && pinshm_mpsc_peek(&c, &m) == 0 && m.len == sizeof(seq))
		memcpy(&seq, m.data, sizeof(seq));
	if (!ret && (seq != 42 || st < 0 || !WIFEXITED(st) ||
		     WEXITSTATUS(st) || waiters_of(&c.sh->waitq) != 0))
		ret = -EPROTO;
	pinshm_mpsc_release(&c);
	pinshm_mpsc_detach(&c);
	return ret;
}

#define PINSHM_CLI	"/usr/local/bin/pinshm"

/* CPU time of process pid so far, in clock ticks (utime + stime). */
static long proc_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')');	/* after the command name */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/*
 * The command line as a user runs it: `pinshm tail` on an idle ring of the
 * module, of the given type, sleeps in the module's WAIT (almost no CPU
 * over a second; on bcast and slot it is a read-only reader, which the
 * module arms for), and a record from `pinshm pub` still reaches it.
 * Returns 0 or what failed.
 */
static int cli_tail_sleeps(const char *type, uint64_t *ticks, char *out,
			   size_t outlen)
{
	char cmd[256];
	int fds[2], st;
	long t0, t1;
	ssize_t n;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), PINSHM_CLI " ring add %s t-%s --type %s "
		 "--capacity 4K >/dev/null", region, type, type);
	if (system(cmd) != 0 || pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		snprintf(cmd, sizeof(cmd), "t-%s", type);
		execl(PINSHM_CLI, "pinshm", "tail", region, cmd, "--count",
		      "1", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	sleep(1);	/* past its spins and its first 100 ms of yields */
	if (!proc_settled(pid))
		t0 = -1;	/* never asleep: fails below, after the child */
	else
		t0 = proc_ticks(pid);
	sleep(1);
	t1 = proc_ticks(pid);
	*ticks = (uint64_t)(t1 - t0);
	snprintf(cmd, sizeof(cmd), PINSHM_CLI " pub %s t-%s --seq --count 1 "
		 "2>/dev/null", region, type);
	if (system(cmd) != 0)
		return -2;
	n = read(fds[0], out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	st = wait_child(pid, 10000);
	if (t0 < 0 || t1 < 0)
		return -3;
	return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -4;
}

/*
 * Read-only readers (bcast and slot) of a module region: they cannot count
 * themselves in the ring's wait queue, so the module arms their queue
 * (PINSHM_IOC_WAIT_F_ARM, ro_pending in the metadata page) and the writer's kick
 * wakes them. The child opens the region read-only, sleeps in
 * pinshm_bcast_wait() and then pinshm_slot_wait(); the parent publishes a
 * record, then writes a value, each 300 ms later. Exit status: 0, or the
 * step that failed.
 */
static void ro_reader(void)
{
	struct pinshm_region *r;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;
	struct pinshm_slot sl;
	uint64_t c0, t0;

	if (pinshm_region_open(region, PINSHM_RDONLY, PINSHM_BACKEND_AUTO, &r) ||
	    pinshm_bcast_attach(r, "b", PINSHM_READER, &rd) ||
	    pinshm_slot_attach(r, "l", PINSHM_READER, &sl))
		_exit(20);
	c0 = cpu_us();
	t0 = mono_us();
	if (pinshm_bcast_wait(&rd, 20 * SEC))
		_exit(21);
	/* Slept until the record came (300 ms), not to the timeout. */
	if (mono_us() - t0 < 100000 || mono_us() - t0 > 5000000 ||
	    cpu_us() - c0 > 50000)
		_exit(22);
	if (pinshm_bcast_peek(&rd, &m) || m.len != 8)
		_exit(23);
	c0 = cpu_us();
	t0 = mono_us();
	if (pinshm_slot_wait(&sl, 0, 20 * SEC))
		_exit(24);
	if (mono_us() - t0 < 100000 || mono_us() - t0 > 5000000 ||
	    cpu_us() - c0 > 50000)
		_exit(25);
	/* Again, while the broadcast ring, whose queue shares the arm,
	 * publishes first (it takes the arm: we must arm again). */
	t0 = mono_us();
	if (pinshm_slot_wait(&sl, 1, 20 * SEC))
		_exit(26);
	if (mono_us() - t0 < 100000 || mono_us() - t0 > 5000000)
		_exit(27);
	_exit(0);
}

static int ro_run(struct pinshm_region *r)
{
	struct pinshm_bcast bw;
	struct pinshm_slot sw;
	uint32_t tag, seq0;
	uint64_t v = 7;
	int ret, st;
	pid_t pid;

	ret = pinshm_bcast_create(r, "b", 16, 64);
	if (!ret)
		ret = pinshm_slot_create(r, "l", 8);
	if (!ret)
		ret = pinshm_bcast_attach(r, "b", PINSHM_WRITER, &bw);
	if (!ret)
		ret = pinshm_slot_attach(r, "l", PINSHM_WRITER, &sw);
	if (ret)
		return ret;
	if (!bw.wref.ro_pending || !sw.wref.ro_pending)
		return -ENOLINK;	/* the writers should watch ro_pending */
	pid = fork();
	if (pid == 0)
		ro_reader();
	usleep(300000);
	ret = pinshm_bcast_send(&bw, &v, sizeof(v), 0);
	usleep(300000);
	if (!ret)
		ret = pinshm_slot_send(&sw, &v, sizeof(v));
	/*
	 * Once it sleeps again (the slot's bit set): a record to "b", whose
	 * queue shares the word but not the bit, which must make no wake
	 * call and leave the arm; then 300 ms later a value.
	 */
	tag = 1u << sw.wref.ro_bit;
	for (int i = 0; !ret && i < 500 &&
	     PINSHM_READ_ONCE(*sw.wref.ro_pending) != tag; i++)
		usleep(10000);
	usleep(50000);
	seq0 = bw.sh->waitq.seq;
	if (!ret)
		ret = pinshm_bcast_send(&bw, &v, sizeof(v), 0);
	if (!ret && (bw.sh->waitq.seq != seq0 ||
		     PINSHM_READ_ONCE(*sw.wref.ro_pending) != tag))
		ret = -EPROTO;
	usleep(300000);
	if (!ret)
		ret = pinshm_slot_send(&sw, &v, sizeof(v));
	st = wait_child(pid, 30000);
	if (!ret && (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)))
		ret = st < 0 ? -ECHILD : 1000 + WEXITSTATUS(st);
	return ret;
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

/*
 * fork(): the child gets none of the module's mappings (VM_DONTCOPY), and
 * the library must not take memory at their old addresses for the
 * module's (no process-wide table of mappings: each ring handle carries
 * its region fd). A child that closes the fds it inherited, as a daemon
 * does, and maps memory of its own where the region's data was must sleep
 * on that memory with a futex: a mapping remembered from the parent would
 * send its WAIT to the region's closed fd (-EBADF) instead. Exit status 0,
 * or what went wrong.
 */
static int fork_forgets_module_maps(struct pinshm_region *r)
{
	void *at = pinshm_region_data(r);
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		struct ctl_shared *s;
		uint64_t t0;
		int fd, ret;

		for (fd = 3; fd < 1024; fd++)
			close(fd);
		s = mmap(at, 4096, PROT_READ | PROT_WRITE, MAP_SHARED |
			 MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (s != at)	/* the region is still mapped here */
			_exit(2);
		t0 = mono_us();
		ret = pinshm_waitq_wait(&s->wq, flag_ready, &s->flag,
					50000000);
		if (ret != -ETIMEDOUT)
			_exit(ret == -EBADF ? 3 : 4);
		_exit(mono_us() - t0 >= 50000 && waiters_of(&s->wq) == 0 ?
		      0 : 5);
	}
	st = wait_child(pid, 30000);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Voluntary context switches of pid so far (/proc), or -1. */
static long vol_switches(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return file_field(path, "voluntary_ctxt_switches: %ld");
}

/*
 * Consumers of two SPSC rings of one region asleep in the module's WAIT:
 * their wait words sit at one offset of their pages. 2000 WAKEs of ring
 * q's word must leave the consumer of ring q2 asleep: each wake that
 * reached it would be a context switch in which it re-checks and sleeps
 * on. Returns the switches seen (negative on a setup failure).
 */
static long wake_reaches_other_ring(struct pinshm_region *r,
				    struct pinshm_spsc *c)
{
	uint64_t off = (uint64_t)((char *)&c->sh->waitq.seq -
				  (char *)pinshm_region_data(r));
	struct pinshm_wake k = { .size = sizeof(k), .offset = off };
	struct pinshm_spsc c2;
	long s0, s1;
	int ctl = ctl_open(), rw, i, st;
	pid_t pid;

	if (pinshm_spsc_create(r, "q2", 64 << 10, 0) ||
	    pinshm_spsc_attach(r, "q2", PINSHM_CONSUMER, &c2))
		return -2;
	pinshm_spsc_detach(&c2);
	rw = pshm_open(ctl, region, PINSHM_OPEN_WRITE);
	if (rw < 0)
		return -3;
	pid = fork();
	if (pid == 0) {
		struct pinshm_region *cr;

		if (pinshm_region_open(region, PINSHM_RDWR, PINSHM_BACKEND_KMOD,
				       &cr) ||
		    pinshm_spsc_attach(cr, "q2", PINSHM_CONSUMER, &c2))
			_exit(2);
		_exit(pinshm_spsc_wait(&c2, 3 * SEC) == -ETIMEDOUT ? 0 : 3);
	}
	/* The child's mapping is its own; its waiter count is in ours. */
	if (pinshm_spsc_attach(r, "q2", PINSHM_PRODUCER, &c2)) {
		wait_child(pid, 10000);
		return -4;
	}
	for (i = 0; i < 2000 && waiters_of(&c2.sh->waitq) == 0; i++)
		usleep(1000);
	usleep(20000);	/* in the kernel's WAIT by now */
	s0 = vol_switches(pid);
	for (i = 0; i < 2000; i++)
		ioctl(rw, PINSHM_IOC_WAKE, &k);
	usleep(20000);
	s1 = vol_switches(pid);
	st = wait_child(pid, 10000);
	pinshm_spsc_detach(&c2);
	close(rw);
	close(ctl);
	if (s0 < 0 || s1 < 0 || st < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -5;
	return s1 - s0;
}

/* The WAIT/WAKE ioctls driven raw on the ring's wait word. */
static int raw_ioctls(struct pinshm_region *r, struct pinshm_spsc *c)
{
	uint64_t off = (uint64_t)((char *)&c->sh->waitq.seq -
				  (char *)pinshm_region_data(r));
	struct pinshm_info inf;
	struct pinshm_wait w;
	struct pinshm_wake k;
	struct pinshm_meta *meta;
	volatile uint32_t *ro_word;
	uint64_t o2, o3;
	uint32_t b1, b2;
	int ctl = ctl_open(), rw, ro, bad = 0;
	uint32_t seq = c->sh->waitq.seq;

	rw = pshm_open(ctl, region, PINSHM_OPEN_WRITE);
	ro = pshm_open(ctl, region, 0);
	if (rw < 0 || ro < 0 || pshm_info(rw, NULL, &inf))
		return -1;
#define WAIT_IS(want_errno, ...) do {					\
		w = (struct pinshm_wait){ .size = sizeof(w), __VA_ARGS__ };	\
		if (ioctl(ro, PINSHM_IOC_WAIT, &w) != -1 || errno != want_errno) { \
			tap_diag("WAIT %s: errno %d", #__VA_ARGS__, errno);	\
			bad++;						\
		}							\
	} while (0)
	WAIT_IS(EINVAL, .offset = off + 2, .val = seq, .timeout_ns = 0);
	WAIT_IS(EINVAL, .offset = inf.bytes, .val = seq, .timeout_ns = 0);
	WAIT_IS(EINVAL, .offset = UINT64_MAX - 3, .val = seq, .timeout_ns = 0);
	WAIT_IS(EINVAL, .flags = 4, .offset = off, .val = seq, .timeout_ns = 0);
	WAIT_IS(EINVAL, .flags = PINSHM_IOC_WAIT_F_ARM, .offset = inf.bytes);
	WAIT_IS(EAGAIN, .offset = off, .val = seq + 1, .timeout_ns = -1);
	WAIT_IS(ETIMEDOUT, .offset = off, .val = seq, .timeout_ns = 0);
	WAIT_IS(ETIMEDOUT, .offset = off, .val = seq, .timeout_ns = 1000000);
#undef WAIT_IS
	k = (struct pinshm_wake){ .size = sizeof(k), .offset = off };
	if (ioctl(ro, PINSHM_IOC_WAKE, &k) != -1 || errno != EBADF)
		bad++;
	if (ioctl(rw, PINSHM_IOC_WAKE, &k) != 0)
		bad++;
	k.offset = inf.bytes;
	if (ioctl(rw, PINSHM_IOC_WAKE, &k) != -1 || errno != EINVAL)
		bad++;
	/*
	 * ARM (allowed on a read-only fd) sets the word's bit of its queue's
	 * ro_pending in the metadata page; a WAKE clears the bit of its word
	 * only. o2 and o3: words of the same queue with other bits.
	 */
	meta = map_meta(ro);
	if (meta == MAP_FAILED)
		return bad + 1;
	ro_word = &meta->ro_pending[PINSHM_WAITQ_OF(off)];
	b1 = PINSHM_RO_BIT(off);
	for (o2 = off + 4096; o2 + 4 <= inf.bytes && PINSHM_RO_BIT(o2) == b1;)
		o2 += 4096;
	b2 = PINSHM_RO_BIT(o2);
	for (o3 = o2 + 4096; o3 + 4 <= inf.bytes &&
	     (PINSHM_RO_BIT(o3) == b1 || PINSHM_RO_BIT(o3) == b2);)
		o3 += 4096;
	if (o3 + 4 > inf.bytes || PINSHM_WAITQ_OF(o3) != PINSHM_WAITQ_OF(off) ||
	    *ro_word != 0)
		return bad + 1;
#define ARM_IS(o, want) do {						\
		w = (struct pinshm_wait){ .size = sizeof(w),		\
					  .flags = PINSHM_IOC_WAIT_F_ARM, \
					  .offset = (o) };		\
		if (ioctl(ro, PINSHM_IOC_WAIT, &w) != 0 || *ro_word != (want)) { \
			tap_diag("ARM %s: %#x", #o, *ro_word);		\
			bad++;						\
		}							\
	} while (0)
#define WAKE_IS(o, want) do {						\
		k = (struct pinshm_wake){ .size = sizeof(k), .offset = (o) }; \
		if (ioctl(rw, PINSHM_IOC_WAKE, &k) != 0 || *ro_word != (want)) { \
			tap_diag("WAKE %s: %#x", #o, *ro_word);		\
			bad++;						\
		}							\
	} while (0)
	ARM_IS(off, b1);
	/* WAIT_F_RO sleeps while the word holds val and its bit is set... */
	w = (struct pinshm_wait){ .size = sizeof(w), .flags = PINSHM_IOC_WAIT_F_RO,
				  .offset = off, .val = seq, .timeout_ns = 0 };
	if (ioctl(ro, PINSHM_IOC_WAIT, &w) != -1 || errno != ETIMEDOUT)
		bad++;
	/* ...and returns at once where its bit is clear. */
	w.offset = o2;
	w.val = *(uint32_t *)((char *)pinshm_region_data(r) + o2);
	w.timeout_ns = 1000000000;
	if (ioctl(ro, PINSHM_IOC_WAIT, &w) != 0)
		bad++;
	WAKE_IS(o2, b1);		/* another word's bit: stays */
	ARM_IS(o2, b1 | b2);
	ARM_IS(off, b1 | b2);
	WAKE_IS(o3, b1 | b2);
	WAKE_IS(off, b2);
	WAKE_IS(o2, 0u);
#undef ARM_IS
#undef WAKE_IS
	/* Disarmed: WAIT_F_RO returns at once, for the caller to arm again. */
	w.offset = off;
	w.val = seq;
	if (ioctl(ro, PINSHM_IOC_WAIT, &w) != 0)
		bad++;
	if (meta != MAP_FAILED)
		munmap(meta, PINSHM_META_SIZE);
	close(rw);
	close(ro);
	close(ctl);
	return bad;
}

#define TRACEFS	"/sys/kernel/tracing"

/* Turn the pinshm_wait and pinshm_wake tracepoints on (1) or off (0). */
static int trace_events(int on)
{
	const char *v = on ? "1" : "0";

	return write_file(TRACEFS "/events/pinshm/pinshm_wait/enable", v) ||
	       write_file(TRACEFS "/events/pinshm/pinshm_wake/enable", v);
}

/*
 * Did the trace buffer record a wake of our region and, for the same
 * word, a wait that slept and was woken (ret=0)? Region names are unique
 * to this run, so older lines do not count.
 */
static int traced_wait_and_wake(void)
{
	static char buf[1 << 20];
	unsigned long long off, slept;
	char want[160];
	size_t len = 0;
	ssize_t n;
	char *p;
	int fd = open(TRACEFS "/trace", O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return 0;
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	snprintf(want, sizeof(want), "pinshm_wake: name=%s offset=", region);
	p = strstr(buf, want);
	if (!p || sscanf(p + strlen(want), "%llu", &off) != 1)
		return 0;
	snprintf(want, sizeof(want), "pinshm_wait: name=%s offset=%llu ",
		 region, off);
	for (p = strstr(buf, want); p; p = strstr(p + 1, want))
		if (sscanf(p + strlen(want), "slept_ns=%llu ret=%d", &slept,
			   &ret) == 2 && ret == 0 && slept > 0) {
			tap_diag("traced: %sslept_ns=%llu ret=0", want, slept);
			return 1;
		}
	return 0;
}

int main(void)
{
	struct pinshm_region_opts o;
	struct pinshm_region *r;
	struct pinshm_spsc c;
	struct pinshm_msg m;
	uint64_t t0, us, sleeps = 0, bad, cpu0, cpu;
	int ret, st, wret, tracing;
	long fret;
	pid_t pid;

	tap_plan(21);
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
		 "pinshm_spsc_wait() sleeps in the module's WAIT either way",
		 futex_ok ? "WORK" : "are REFUSED (EFAULT)");

	tap_ok(raw_ioctls(r, &c) == 0, "WAIT/WAKE ioctls: bad arguments refused, "
	       "EAGAIN, ETIMEDOUT, EBADF on a read-only fd");

	cpu0 = cpu_us();
	t0 = mono_us();
	ret = pinshm_spsc_wait(&c, 200000000);
	us = mono_us() - t0;
	cpu = cpu_us() - cpu0;
	tap_ok(ret == -ETIMEDOUT && us >= 200000 && waiters_of(&c.sh->waitq) == 0,
	       "waiting 200 ms on an empty ring: %d (%s) after %llu us, no waiter left",
	       ret, strerror(-ret), (unsigned long long)us);
	tap_ok(cpu < 50000, "asleep meanwhile: %llu us of CPU time in 200 ms",
	       (unsigned long long)cpu);

	/* One producer process, one record, the consumer asleep. */
	tracing = trace_events(1) == 0;
	pid = fork();
	if (pid == 0)
		producer(1, 1);
	t0 = mono_us();
	ret = pinshm_spsc_wait(&c, 20 * SEC);
	us = mono_us() - t0;
	tap_ok(ret == 0 && us < 15 * 1000000ULL,
	       "consumer woken when another process commits: %d (%s), %llu us",
	       ret, strerror(-ret), (unsigned long long)us);
	bad = consume(&c, 1, &sleeps, &wret);
	st = wait_child(pid, 30000);
	tap_ok(bad == 0 && st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	       waiters_of(&c.sh->waitq) == 0,
	       "the record arrived, the producer exited cleanly, no waiter left");
	tap_ok(tracing && traced_wait_and_wake() && trace_events(0) == 0,
	       "tracepoints pinshm_wait (woken, after a sleep) and pinshm_wake "
	       "of the same word recorded (tracing %s)", tracing ? "on" : "FAILED");

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
	tap_ok(bad == 0 && wret == 0 && sleeps > 0 && st >= 0 &&
	       WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "%llu messages with a consumer that sleeps whenever empty: in order "
	       "(bad %llu, %llu sleeps, never told to spin: %d, %llu ms)", NMSG,
	       (unsigned long long)bad, (unsigned long long)sleeps, wret,
	       (unsigned long long)us / 1000);
	tap_ok(waiters_of(&c.sh->waitq) == 0 &&
	       pinshm_spsc_peek(&c, &m) == -EAGAIN,
	       "nothing left over, waiters back to 0 (seq %u)", c.sh->waitq.seq);

	ret = mpsc_run(r, &cpu, &us);
	tap_ok(ret == 0 && cpu < us / 4,
	       "MPSC: consumer asleep in pinshm_mpsc_wait() until another process "
	       "commits: %d, %llu us, %llu us of CPU", ret,
	       (unsigned long long)us, (unsigned long long)cpu);

	ret = ro_run(r);
	tap_ok(ret == 0, "read-only bcast and slot readers sleep until the "
	       "writer publishes (the module arms for them); a ring sharing "
	       "the slot's arm word publishes first, with no wake call: %d",
	       ret);

	{
		static const char *const types[] = { "spsc", "bcast", "slot" };
		char out[256];
		uint64_t ticks;
		unsigned int i;

		for (i = 0; i < 3; i++) {
			ticks = 0;
			ret = cli_tail_sleeps(types[i], &ticks, out,
					      sizeof(out));
			tap_ok(ret == 0 && ticks <= 3 && strstr(out, "seq=1 "),
			       "pinshm tail on an idle module %s ring: %llu "
			       "ticks of CPU in 1 s, then got `%.40s` from "
			       "pinshm pub (%d)", types[i],
			       (unsigned long long)ticks, out, ret);
		}
	}

	ret = control_run();
	tap_ok(ret == 0, "control: cross-process wait/wake on MAP_SHARED anonymous "
	       "memory (%d %s)", ret, ret ? strerror(-ret) : "");

	fret = wake_reaches_other_ring(r, &c);
	tap_ok(fret >= 0 && fret <= 5, "2000 WAKEs of one ring's word leave "
	       "the consumer asleep on another ring's word asleep: %ld "
	       "context switches", fret);

	ret = fork_forgets_module_maps(r);
	tap_ok(ret == 0, "a forked child that closed its fds sleeps 50 ms with "
	       "a futex on its own memory where the region was mapped: %d "
	       "(2: still mapped, 3: sent to the region's closed fd)", ret);

	pinshm_spsc_detach(&c);
	pinshm_region_close(r);
	tap_ok(pinshm_region_destroy(region, PINSHM_BACKEND_AUTO) == 0,
	       "destroy the region");
	return tap_finish();
}
