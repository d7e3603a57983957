/* SPDX-License-Identifier: MIT */
/*
 * Futex wait/wake for readers that would rather sleep than spin, at no
 * cost to the writer unless a reader is actually asleep.
 *
 * A struct pinshm_waitq (layout.h) sits in a 128-byte block of its own in a
 * ring's header: seq is the futex word, waiters counts sleepers.
 *
 *   (W1) waker: publish a record (store), compiler barrier, load-acquire
 *        waiters, then load pending; if both are non-zero (slow path, in
 *        wait.c): take pending back to 0 by an exchange and, if it was 1,
 *        bump seq and FUTEX_WAKE
 *     pairs with
 *   (W2) sleeper: increment waiters, set pending, membarrier(MEMBARRIER_
 *        CMD_GLOBAL_EXPEDITED), re-check the ring, FUTEX_WAIT on seq.
 *
 * The membarrier on the sleeper's side stands for a full fence on every
 * CPU running a registered process, so the waker needs none: either the
 * sleeper sees the record, or the waker sees the sleeper (the asymmetric
 * Dekker pattern of liburcu's sys_membarrier). Processes that publish
 * register once with pinshm_wait_register() (called by the attach
 * functions).
 *
 * A ring's handle carries what its wakes and waits need of the region
 * (struct pinshm_waitq_ref, filled in by the attach calls), as struct
 * io_uring carries its ring fd: on a pinshm.ko region the module's WAIT and
 * WAKE on the region fd stand in for the futex, elsewhere the futex is
 * used. pinshm_waitq_kick() and pinshm_waitq_wait() are for a queue in
 * memory of the caller's own (a shared anonymous mapping, a file of its
 * own): a futex.
 */
#ifndef PINSHM_WAIT_H
#define PINSHM_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include <pinshm/barrier.h>
#include <pinshm/layout.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a handle's wake and wait need of the region its queue lives in. */
struct pinshm_waitq_ref {
	int kfd;		/* pinshm.ko: the region fd, for WAIT/WAKE;
				 * -1: a futex (the shm backend) */
	uint16_t ro_bit;	/* the queue's bit in *ro_pending,
				 * PINSHM_RO_BIT() of off */
	uint16_t probe;		/* the library's: the names its probes
				 * report for this handle (0: none) */
	uint64_t off;		/* the queue's seq, from the start of the
				 * region's data */
	uint32_t *ro_pending;	/* the metadata page's word that read-only
				 * sleepers of the queue arm (written here on
				 * the shm backend only); NULL: none this
				 * handle may use */
};

/* Slow path of the kicks: the first waker since a sleeper went to sleep
 * bumps seq and wakes the sleepers; later ones return at once. ref NULL:
 * a queue in memory of the caller's own. */
int __pinshm_waitq_wake(struct pinshm_waitq *wq,
			const struct pinshm_waitq_ref *ref);

/* Waker side, after publishing. One load of a line only sleepers write
 * (and, while one sleeps, one more of the same line). */
static inline void __pinshm_waitq_kick(struct pinshm_waitq *wq,
				       const struct pinshm_waitq_ref *ref)
{
	/* (W1) the publish before this load: a compiler barrier is enough,
	 * the sleeper's membarrier (W2) supplies the fence. Acquire: pending
	 * is read after waiters. */
	atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(pinshm_load_acquire(&wq->waiters) != 0, 0) &&
	    PINSHM_READ_ONCE(wq->pending))
		__pinshm_waitq_wake(wq, ref);
}

/* The kick of a queue in memory of the caller's own (a futex). */
static inline void pinshm_waitq_kick(struct pinshm_waitq *wq)
{
	__pinshm_waitq_kick(wq, NULL);
}

/* Slow path of __pinshm_waitq_kick_ro(): clear our bit of ro_pending (the
 * module's WAKE does on its regions), bump seq, wake. */
int __pinshm_waitq_wake_ro(struct pinshm_waitq *wq,
			   const struct pinshm_waitq_ref *ref);

/*
 * __pinshm_waitq_kick() for a queue whose sleepers may also be read-only
 * readers (broadcast and slot writers): they cannot count themselves in
 * the queue, so they set their queue's bit (number ref->ro_bit) of a word
 * of the region's metadata page instead, ref->ro_pending (on a pinshm.ko
 * region the module does, (K3) of the uapi header). One more load of a
 * line that changes only when such a reader sleeps; another queue's bit
 * there costs nothing.
 */
static inline void __pinshm_waitq_kick_ro(struct pinshm_waitq *wq,
					  const struct pinshm_waitq_ref *ref)
{
	/* (W1) as in __pinshm_waitq_kick(); the read-only sleeper's
	 * membarrier comes after its arm, as the writable one's after its
	 * pending store. */
	atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(pinshm_load_acquire(&wq->waiters) != 0, 0) &&
	    PINSHM_READ_ONCE(wq->pending))
		__pinshm_waitq_wake(wq, ref);
	if (ref->ro_pending && __builtin_expect(
			(PINSHM_READ_ONCE(*ref->ro_pending) >>
			 (ref->ro_bit & 31)) & 1, 0))
		__pinshm_waitq_wake_ro(wq, ref);
}

/*
 * Sleeper side, on a queue in memory of the caller's own (the rings' wait
 * calls sleep on theirs): sleep until ready(arg) is true (checked after every wake,
 * which alone does not end the wait) or timeout_ns passes (< 0: no
 * timeout). Returns 0 when ready, -ETIMEDOUT, -EINTR, -ENOSYS when the
 * kernel lacks membarrier, or -EOPNOTSUPP when it cannot sleep on this
 * memory (no shared futex on these pages and no PINSHM_IOC_WAIT: a
 * pinshm.ko older than the ioctl): both are permanent, callers spin or
 * yield instead. On pinshm.ko regions the rings' waits use the module's
 * WAIT and WAKE ioctls instead of the futex (Linux 6.1 cannot key a shared
 * futex on its pages).
 */
int pinshm_waitq_wait(struct pinshm_waitq *wq, bool (*ready)(void *arg),
		      void *arg, int64_t timeout_ns);

/* Register this process as a waker for the membarrier pairing (W1/W2). */
int pinshm_wait_register(void);

#ifdef __cplusplus
}
#endif

#endif /* PINSHM_WAIT_H */
