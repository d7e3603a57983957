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

/* Slow path of pinshm_waitq_kick(): the first waker since a sleeper went
 * to sleep bumps seq and wakes the sleepers; later ones return at once. */
int __pinshm_waitq_wake(struct pinshm_waitq *wq);

/* Waker side, after publishing. One load of a line only sleepers write
 * (and, while one sleeps, one more of the same line). */
static inline void pinshm_waitq_kick(struct pinshm_waitq *wq)
{
	/* (W1) the publish before this load: a compiler barrier is enough,
	 * the sleeper's membarrier (W2) supplies the fence. Acquire: pending
	 * is read after waiters. */
	atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(pinshm_load_acquire(&wq->waiters) != 0, 0) &&
	    PINSHM_READ_ONCE(wq->pending))
		__pinshm_waitq_wake(wq);
}

/* Slow path of pinshm_waitq_kick_ro(): clear our bit of ro_pending (the
 * module's WAKE does on its regions), bump seq, wake. */
int __pinshm_waitq_wake_ro(struct pinshm_waitq *wq);

/*
 * pinshm_waitq_kick() for a queue whose sleepers may also be read-only
 * readers (broadcast and slot writers): they cannot count themselves in
 * the queue, so they set their queue's bit (number ro_bit) of a word of
 * the region's metadata page instead, ro_pending (on a pinshm.ko region
 * the module does, (K3) of the uapi header). One more load of a line that
 * changes only when such a reader sleeps; another queue's bit there costs
 * nothing.
 */
static inline void pinshm_waitq_kick_ro(struct pinshm_waitq *wq,
					const uint32_t *ro_pending,
					uint16_t ro_bit)
{
	/* (W1) as in pinshm_waitq_kick(); the read-only sleeper's
	 * membarrier comes after its arm, as the writable one's after its
	 * pending store. */
	atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(pinshm_load_acquire(&wq->waiters) != 0, 0) &&
	    PINSHM_READ_ONCE(wq->pending))
		__pinshm_waitq_wake(wq);
	if (ro_pending && __builtin_expect(
			(PINSHM_READ_ONCE(*ro_pending) >> (ro_bit & 31)) & 1, 0))
		__pinshm_waitq_wake_ro(wq);
}

/*
 * Sleeper side: sleep until ready(arg) is true (checked after every wake,
 * which alone does not end the wait) or timeout_ns passes (< 0: no
 * timeout). Returns 0 when ready, -ETIMEDOUT, -EINTR, -ENOSYS when the
 * kernel lacks membarrier, or -EOPNOTSUPP when it cannot sleep on this
 * memory (no shared futex on these pages and no PINSHM_IOC_WAIT: a
 * pinshm.ko older than the ioctl): both are permanent, callers spin or
 * yield instead. On pinshm.ko regions the module's WAIT
 * and WAKE ioctls stand in for the futex (Linux 6.1 cannot key a shared
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
