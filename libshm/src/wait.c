// SPDX-License-Identifier: MIT
/*
 * Futex wait/wake: the slow paths of pinshm/wait.h, and the SPSC
 * consumer's sleep (pinshm/spsc.h). The MPSC consumer's, broadcast
 * readers' and slot readers' sleeps are in mpsc.c, bcast.c and slot.c.
 *
 * Shared fields (struct pinshm_waitq, a 128-byte block of its own) and
 * their writers:
 *   waitq.waiters ...... sleepers only (atomic add/sub: one per sleeper)
 *   waitq.seq .......... wakers only (atomic add), the futex word
 *   waitq.pending ...... sleepers set it to 1 (store) before they sleep,
 *                        wakers take it to 0 (exchange)
 * Several sleepers (broadcast and slot readers) or several wakers (MPSC
 * producers) may share one queue, hence read-modify-write atomics rather
 * than plain stores.
 *
 * Ordering (the asymmetric Dekker pattern of liburcu's sys_membarrier):
 *   (W1) waker: publish the record (store), compiler barrier, load-acquire
 *        waiters, load pending; if both non-zero: exchange pending with 0
 *        and, if it was 1, add 1 to seq, FUTEX_WAKE
 *     pairs with
 *   (W2) sleeper: load-acquire seq, add 1 to waiters, store-release
 *        pending = 1, membarrier(GLOBAL_EXPEDITED), re-check the ring,
 *        FUTEX_WAIT(seq, the value loaded first).
 *   The membarrier runs a full fence on every CPU that is running a
 *   registered process (pinshm_wait_register()), so it orders the waker's
 *   store before its loads of waiters and pending: either the sleeper's
 *   re-check sees the record, or the waker sees waiters != 0 and pending
 *   == 1. Then either this waker takes pending to 0, or another did after
 *   our store of 1; whichever did bumps seq after the sleeper's seq load,
 *   so FUTEX_WAIT either finds seq changed (EAGAIN) or is queued before
 *   FUTEX_WAKE runs (the kernel orders both under the futex hash-bucket
 *   lock). No wakeup is lost; extra ones are harmless (the sleeper
 *   re-checks and sleeps again). A sleeper that was woken and has not run
 *   yet leaves pending at 0: the publishes meanwhile make no system call
 *   (without pending, each of them did, for the 10-20 us a wakeup takes).
 *
 * The futexes are shared (no FUTEX_PRIVATE_FLAG): sleeper and waker are
 * different processes, each with its own mapping of the page. The kernel
 * keys such a futex on the page's inode or anon_vma: pages of the shm
 * backend (tmpfs) have one. Pages pinshm.ko inserts with vm_insert_pages()
 * have page->mapping == NULL, for which Linux 6.1's get_futex_key() returns
 * -EFAULT: pinshm_waitq_wait() then says -EOPNOTSUPP and the caller spins
 * (tests/kernel/15_futex_wait checks which one the running kernel does).
 *
 * So on pinshm.ko regions the futex is the module's instead: WAIT and WAKE
 * ioctls on the region fd, with the same word and the same protocol (the
 * uapi header; the kernel orders WAKE and a sleeper's re-read under its
 * wait-queue lock, as the futex code does under the hash-bucket lock).
 * Every ring handle carries what that takes (struct pinshm_waitq_ref,
 * filled in by __pinshm_waitq_ref_init() at attach): the region fd of a
 * module region and the word's offset in its data; a module region's word
 * goes to its fd, any other to a futex, and a queue in memory of the
 * caller's own (pinshm_waitq_kick(), pinshm_waitq_wait(): no ref) to a
 * futex. A module without WAIT (ENOTTY) gives -EOPNOTSUPP as before.
 *
 * A reader with a read-only mapping (broadcast, slot) can sleep too. It
 * cannot write waiters or pending, so it arms a word of the region's
 * metadata page instead, ro_pending[PINSHM_WAITQ_OF(offset of seq)], which
 * broadcast and slot writers load after waiters (__pinshm_waitq_kick_ro()).
 * The word is shared by every queue of that index (the broadcast rings and
 * slots of a region all have theirs at the same offset of a 4 KiB-aligned
 * object), so a sleeper sets its queue's bit of it, PINSHM_RO_BIT() (uapi
 * header), and a writer clears only its own bit and wakes every sleeper on
 * the word; one whose ring has nothing new arms again (its bit is still
 * set, or set again). Another queue's bit costs a writer nothing; queues
 * that share a bit wake each other's sleepers, which is why dir.c places
 * bcast rings and slots where their bits differ, room permitting.
 *   pinshm.ko region: the module sets the bit (PINSHM_IOC_WAIT_F_ARM, (K3) of
 *   the uapi header), its WAKE clears it (K4), and a WAIT with
 *   PINSHM_IOC_WAIT_F_RO returns once the sleeper's bit is clear.
 *   shm region (the sleeper needs write access to the region's file, for
 *   a writable mapping of the metadata page):
 *   (R1) waker, __pinshm_waitq_kick_ro(): publish, compiler barrier, load
 *        ro_pending; if our bit is set: clear it (compare-and-swap), bump
 *        seq (the wake count), FUTEX_WAKE every sleeper on the word
 *     pairs with
 *   (R2) read-only sleeper: set our bit (compare-and-swap, a write even
 *        if it is set), membarrier, re-check the ring, FUTEX_WAIT(
 *        ro_pending, the value we left). As (W1)/(W2): either the re-check
 *        sees the record or the waker sees the bit; any change of the word
 *        before the FUTEX_WAIT makes it fail (EAGAIN: re-check, arm again).
 * See __pinshm_waitq_sleep().
 *
 * A sleeper that dies asleep leaves waiters too high: correctness does not
 * suffer, but the publish after its death makes one wake syscall and every
 * later one loads pending too, until someone resets the counter (a
 * consumer taking over a dead one's role; broadcast and slot readers have
 * no role, so there it stays).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "probes.h"

void __pinshm_waitq_ref_init(struct pinshm_waitq_ref *ref,
			     const struct pinshm_region *r,
			     const struct pinshm_waitq *wq)
{
	uint64_t off = (uint64_t)((const uint8_t *)&wq->seq -
				  (const uint8_t *)r->data);
	bool kmod = r->backend == PINSHM_BACKEND_KMOD;

	ref->kfd = kmod ? r->fd : -1;
	ref->off = off;
	ref->ro_bit = (uint16_t)__builtin_ctz(PINSHM_RO_BIT(off));
	/*
	 * The module's ro_pending is read (only) by writers, and the shm
	 * backend's armed by read-only sleepers themselves: only where this
	 * process may write the metadata page.
	 */
	ref->ro_pending = kmod || r->meta_writable ?
			  &r->meta->ro_pending[PINSHM_WAITQ_OF(off)] : NULL;
}

/* PINSHM_IOC_WAIT; like sys_futex(): -1 and errno on failure. */
static int kmod_wait(int fd, uint64_t off, uint32_t val, int64_t timeout_ns,
		     uint32_t flags)
{
	struct pinshm_wait w = {
		.size = sizeof(w),
		.flags = flags,
		.offset = off,
		.val = val,
		.timeout_ns = timeout_ns,
	};

	return ioctl(fd, PINSHM_IOC_WAIT, &w);
}

/* membarrier support of the kernel: 0 unknown, 1 yes, -errno no. */
static _Atomic int membarrier_ok;

static long sys_futex(uint32_t *uaddr, int op, uint32_t val,
		      const struct timespec *ts, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, val3);
}

static int membarrier_query(void)
{
	int ok = atomic_load_explicit(&membarrier_ok, memory_order_relaxed);
	long ret;

	if (ok)
		return ok > 0 ? 0 : ok;
	ret = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (ret < 0 || !(ret & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
	    !(ret & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED))
		ok = -ENOSYS;
	else
		ok = 1;
	/* A racing thread computes the same answer. */
	atomic_store_explicit(&membarrier_ok, ok, memory_order_relaxed);
	return ok > 0 ? 0 : ok;
}

/*
 * The kernel keeps the registration in the process's mm: it survives
 * fork() but not execve(). Asking again when registered costs one cheap
 * syscall and no IPI, so no per-process cache that fork() could make stale.
 */
__pinshm_export int pinshm_wait_register(void)
{
	int ret = membarrier_query();

	if (ret)
		return ret;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
		    0, 0) < 0)
		return errno == EINVAL ? -ENOSYS : -errno;
	return 0;
}

/*
 * (R2) arm: set our bit; returns the word as we left it. The
 * compare-and-swap is a write even when the bit is set already, so it
 * orders as (W2)'s store does.
 */
static uint32_t ro_arm(uint32_t *ro, uint32_t bit)
{
	uint32_t old = PINSHM_READ_ONCE(*ro);

	while (!atomic_compare_exchange_weak_explicit(
			(_Atomic uint32_t *)ro, &old, old | bit,
			memory_order_seq_cst, memory_order_relaxed))
		;
	return old | bit;
}

/* (R1) clear our bit, if set; the other queues' stay. */
static bool ro_take(uint32_t *ro, uint32_t bit)
{
	uint32_t old = PINSHM_READ_ONCE(*ro);

	while (old & bit)
		if (atomic_compare_exchange_weak_explicit(
				(_Atomic uint32_t *)ro, &old, old & ~bit,
				memory_order_seq_cst, memory_order_relaxed))
			return true;
	return false;
}

/*
 * Wake every sleeper on wq->seq: the module's WAKE, else FUTEX_WAKE; the
 * wake probe reports the handle's names (probe, 0: none).
 */
static int wake_all(struct pinshm_waitq *wq, int kfd, uint64_t off,
		    uint16_t probe)
{
	long ret;

	if (kfd >= 0) {
		struct pinshm_wake k = { .size = sizeof(k), .offset = off };

		/* (K1) of the module: our seq bump before its wake; (K4)
		 * disarms the queue's ro_pending. */
		ret = ioctl(kfd, PINSHM_IOC_WAKE, &k);
		__pinshm_probe_wake(probe);
		if (ret < 0 && errno != ENOTTY)
			return -errno;
		return 0;
	}
	/* EFAULT: memory the kernel cannot key a futex on (see the top);
	 * its sleepers never slept. */
	ret = sys_futex(&wq->seq, FUTEX_WAKE, INT_MAX, NULL, 0);
	__pinshm_probe_wake(probe);
	if (ret < 0 && errno != EFAULT)
		return -errno;
	return 0;
}

__pinshm_export int __pinshm_waitq_wake(struct pinshm_waitq *wq,
					const struct pinshm_waitq_ref *ref)
{
	/* (W1) one wake per sleep: the waker that takes pending from 1. */
	if (!atomic_exchange_explicit((_Atomic uint32_t *)&wq->pending, 0,
				      memory_order_seq_cst))
		return 0;
	/* (W1) the seq bump after the loads that saw a sleeper. */
	atomic_fetch_add_explicit((_Atomic uint32_t *)&wq->seq, 1,
				  memory_order_seq_cst);
	return ref ? wake_all(wq, ref->kfd, ref->off, ref->probe) :
		     wake_all(wq, -1, 0, 0);
}

__pinshm_export int __pinshm_waitq_wake_ro(struct pinshm_waitq *wq,
					   const struct pinshm_waitq_ref *ref)
{
	uint64_t off = ref->off;
	uint32_t *ro = ref->ro_pending;
	int kfd = ref->kfd;
	long ret;

	if (kfd < 0) {
		/*
		 * (R1) an shm region: read-only sleepers sleep on the
		 * ro_pending word itself. The waker that clears our bit
		 * wakes them all; those whose ring has nothing new arm
		 * again.
		 */
		if (!ro || !ro_take(ro, PINSHM_RO_BIT(off)))
			return 0;
		/* Counted in seq like every wake (a sleeper on seq only
		 * finds it moved: EAGAIN, and re-checks). */
		atomic_fetch_add_explicit((_Atomic uint32_t *)&wq->seq, 1,
					  memory_order_relaxed);
		ret = sys_futex(ro, FUTEX_WAKE, INT_MAX, NULL, 0);
		__pinshm_probe_wake(ref->probe);
		if (ret < 0 && errno != EFAULT)
			return -errno;
		return 0;
	}
	/* The module's WAKE takes the arm; none of ours: no system call. */
	if (ro && !(PINSHM_READ_ONCE(*ro) & PINSHM_RO_BIT(off)))
		return 0;
	/* (W1) the seq bump after the load that saw the arm. */
	atomic_fetch_add_explicit((_Atomic uint32_t *)&wq->seq, 1,
				  memory_order_seq_cst);
	/* (K4), (K1) of the module: disarm, wake every sleeper of the
	 * queue; its read-only ones whose arm is gone return
	 * (PINSHM_IOC_WAIT_F_RO) and arm again. */
	return wake_all(wq, kfd, off, ref->probe);
}

static void deadline_of(int64_t timeout_ns, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(timeout_ns / 1000000000LL);
	ts->tv_nsec += (long)(timeout_ns % 1000000000LL);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Nanoseconds from now to the deadline d, 0 once it passed. */
static int64_t deadline_left(const struct timespec *d)
{
	struct timespec now;
	int64_t left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (int64_t)(d->tv_sec - now.tv_sec) * 1000000000LL +
	       (d->tv_nsec - now.tv_nsec);
	return left > 0 ? left : 0;
}

static bool deadline_passed(const struct timespec *d)
{
	return deadline_left(d) == 0;
}

/*
 * The sleep probe, before a WAIT or FUTEX_WAIT; returns when it started for
 * the woken probe after it (0: nobody traces woken). noinline: one place
 * each, whichever system call sleeps.
 */
static __attribute__((noinline)) uint64_t probe_sleep(uint16_t n)
{
	const struct pinshm_probe_names *p;

	if (PINSHM_PROBE_ON(sleep)) {
		p = __pinshm_probe_names(n);
		STAP_PROBE3(pinshm, sleep, p->region, p->ring, p->type);
	}
	return PINSHM_PROBE_ON(woken) ? __pinshm_mono_ns() : 0;
}

/* The woken probe: ret 0 woken, else -errno of the system call. */
static __attribute__((noinline)) void probe_woken(uint16_t n, uint64_t start,
						  int ret)
{
	const struct pinshm_probe_names *p;

	if (PINSHM_PROBE_ON(woken) && start) {
		uint64_t slept_ns = __pinshm_mono_ns() - start;

		p = __pinshm_probe_names(n);
		STAP_PROBE5(pinshm, woken, p->region, p->ring, p->type,
			    slept_ns, ret);
	}
}

/*
 * A sleep on wq (ref NULL: memory of the caller's own, a futex), and the
 * read-only sleeper (ro): it cannot count itself in waiters nor set
 * pending, so it arms its queue's ro_pending in the metadata page instead,
 * which broadcast and slot writers load (__pinshm_waitq_kick_ro()): the
 * module does it on a pinshm.ko region ((K3) of the uapi header), the
 * sleeper itself on an shm region whose file it may write (the metadata
 * page is mapped writable then, the data not).
 * Then the same membarrier, re-check and WAIT. Else ro gives -EACCES.
 */
int __pinshm_waitq_sleep(struct pinshm_waitq *wq,
			 const struct pinshm_waitq_ref *ref,
			 bool (*ready)(void *arg), void *arg, int64_t timeout_ns,
			 bool ro)
{
	_Atomic uint32_t *waiters = (_Atomic uint32_t *)&wq->waiters;
	struct pinshm_wait arm = { .size = sizeof(arm),
				   .flags = PINSHM_IOC_WAIT_F_ARM };
	struct timespec deadline;
	uint32_t seq, armed = 0, *rop = ref ? ref->ro_pending : NULL, *fw;
	uint64_t koff = ref ? ref->off : 0, slept;
	uint16_t probe = ref ? ref->probe : 0;
	int64_t left;
	long ret;
	int err, kfd = ref ? ref->kfd : -1;

	if (ro && kfd < 0 && !rop)
		return -EACCES;	/* no way to tell a writer it sleeps */
	/* The futex word: the read-only sleeper of an shm region sleeps on
	 * its arm, (R2); the others on seq. */
	fw = ro && kfd < 0 ? rop : &wq->seq;
	if (ready(arg))
		return 0;
	if (timeout_ns == 0)
		return -ETIMEDOUT;
	err = membarrier_query();
	if (err)
		return err;
	/*
	 * Can the kernel sleep on this word? A module region: a WAIT that
	 * only looks (ENOTTY: a module without it; the read-only sleeper's
	 * first ARM tells the same). Else a FUTEX_WAKE of no one looks the
	 * futex key up and stops: no IPI, no waiter counted; EFAULT says the
	 * kernel cannot key a futex on this page. Either way the caller must
	 * spin, and our membarrier would only disturb the producer's CPU.
	 */
	if (kfd >= 0 && !ro) {
		if (kmod_wait(kfd, koff, PINSHM_READ_ONCE(wq->seq), 0, 0) < 0 &&
		    errno != ETIMEDOUT && errno != EAGAIN)
			return errno == ENOTTY ? -EOPNOTSUPP : -errno;
	} else if (kfd < 0 && sys_futex(fw, FUTEX_WAKE, 0, NULL, 0) < 0) {
		return errno == EFAULT || errno == ENOSYS ? -EOPNOTSUPP : -errno;
	}
	arm.offset = koff;
	if (timeout_ns > 0)
		deadline_of(timeout_ns, &deadline);

	for (;;) {
		/* (W2) seq first: a wake after this load changes it. */
		seq = pinshm_load_acquire(&wq->seq);
		if (ro && kfd < 0) {
			/* (R2) pairs with (R1): arm before the membarrier
			 * and re-check; we sleep while it holds our arm. */
			armed = ro_arm(rop, PINSHM_RO_BIT(koff));
		} else if (ro) {
			/* (W2) with (K3): the module arms our queue for the
			 * writers; a module without ARM cannot let us sleep. */
			if (ioctl(kfd, PINSHM_IOC_WAIT, &arm) < 0)
				return errno == EINVAL || errno == ENOTTY ?
				       -EOPNOTSUPP : -errno;
		} else {
			atomic_fetch_add_explicit(waiters, 1,
						  memory_order_seq_cst);
			/* (W2) after our seq load: a waker that takes it
			 * bumps seq past the value we sleep on. */
			atomic_store_explicit((_Atomic uint32_t *)&wq->pending,
					      1, memory_order_release);
		}
		/* (W2) pairs with (W1): a fence on the waker's CPU between
		 * its publish and its loads of waiters and pending (or
		 * ro_pending). */
		err = syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED,
			      0, 0) < 0 ? -errno : 0;
		if (err || ready(arg)) {
			/* Relaxed: leaving orders nothing; a waker that still
			 * sees us only makes one spare wake. */
			if (!ro)
				atomic_fetch_sub_explicit(waiters, 1,
							  memory_order_relaxed);
			return err == -EINVAL ? -ENOSYS : err;
		}
		/* Absolute CLOCK_MONOTONIC deadline: retries do not drift
		 * (the module's WAIT takes what is left of it). */
		left = kfd >= 0 && timeout_ns > 0 ? deadline_left(&deadline) :
						     -1;
		if (!left) {
			err = ETIMEDOUT;
		} else {
			slept = probe_sleep(probe);
			if (kfd >= 0)
				/* Read-only: it also returns once our bit
				 * is clear, (K4): we arm again. */
				ret = kmod_wait(kfd, koff, seq, left,
						ro ? PINSHM_IOC_WAIT_F_RO : 0);
			else
				/* Read-only: while the word is as we left
				 * it (EAGAIN: re-check, arm again). */
				ret = sys_futex(fw, FUTEX_WAIT_BITSET,
						ro ? armed : seq,
						timeout_ns > 0 ? &deadline :
								 NULL,
						FUTEX_BITSET_MATCH_ANY);
			err = ret < 0 ? errno : 0;
			probe_woken(probe, slept, -err);
		}
		/* A module that arms but has no WAIT_F_RO. */
		if (kfd >= 0 && err == EINVAL && ro)
			return -EOPNOTSUPP;
		if (!ro)
			atomic_fetch_sub_explicit(waiters, 1,
						  memory_order_relaxed);

		if (ready(arg))
			return 0;
		switch (err) {
		case 0:		/* woken, maybe spuriously */
		case EAGAIN:	/* seq moved before we slept */
			break;
		case ETIMEDOUT:
			return -ETIMEDOUT;
		case EINTR:
			return -EINTR;
		case EFAULT:
		case ENOSYS:
			return -EOPNOTSUPP;
		default:
			return -err;
		}
		if (timeout_ns > 0 && deadline_passed(&deadline))
			return -ETIMEDOUT;
	}
}

__pinshm_export int pinshm_waitq_wait(struct pinshm_waitq *wq,
				      bool (*ready)(void *arg), void *arg,
				      int64_t timeout_ns)
{
	if (!wq || !ready)
		return -EINVAL;
	return __pinshm_waitq_sleep(wq, NULL, ready, arg, timeout_ns, false);
}

/* ------------------------------------------------------------------ */
/* SPSC consumer                                                       */
/* ------------------------------------------------------------------ */

/*
 * Would pinshm_spsc_peek() find something? The same walk as peek (a pad
 * record skips to the start of the buffer), without consuming anything.
 * Anything peek would call corrupt counts as ready: peek then says
 * -EBADMSG to the caller instead of the caller sleeping on it.
 */
bool __pinshm_spsc_ready(const struct pinshm_spsc *r)
{
	uint64_t off = r->rpos & r->mask;
	uint32_t len;

	/* (B) pairs with (A) of spsc.h: the same load peek makes. */
	len = pinshm_load_acquire(&((struct pinshm_rec *)(r->buf + off))->len);
	if (len == PINSHM_REC_PAD && off != 0)
		/* (B) again, for the record after the filler. */
		len = pinshm_load_acquire(&((struct pinshm_rec *)r->buf)->len);
	return len != 0;
}

static bool spsc_ready(void *arg)
{
	return __pinshm_spsc_ready(arg);
}

__pinshm_export int pinshm_spsc_wait(struct pinshm_spsc *ring,
				     int64_t timeout_ns)
{
	if (!ring || !ring->sh)
		return -EINVAL;
	if (ring->role != PINSHM_CONSUMER)
		return -EPERM;
	return __pinshm_waitq_sleep(&ring->sh->waitq, &ring->wref, spsc_ready,
				    ring, timeout_ns, false);
}
