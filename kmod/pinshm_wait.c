// SPDX-License-Identifier: GPL-2.0
/*
 * pinshm: WAIT/WAKE on a region fd, a futex on a word of the data, for
 * the pages a shared futex cannot key on (uapi header), and the queues
 * their sleepers wait on. A sleeper waits on the queue of its word:
 * wakeq[] by a hash of the word's 128-byte block, or for a read-only
 * sleeper (PINSHM_IOC_WAIT_F_RO) wordq[] of its ro_pending word, which a
 * WAKE of any word sharing that word's bit must reach. Queues are shared
 * by the words that hash alike; every sleeper re-reads its own word.
 *   (K1) waker: user store to the word, then WAKE: wake_up_all() takes
 *        the queue lock
 *     pairs with
 *   (K2) sleeper: prepare_to_wait() under that lock (and its barrier of
 *        set_current_state()), then read the word: a WAKE before the
 *        sleeper queued itself came after the store, which the read sees.
 *   (K3) WAIT_F_ARM: set the word's bit of ro_pending (cmpxchg: a full
 *        barrier, uapi header); the sleeper then runs its membarrier and
 *        re-checks its ring ((W2) of the library) before it WAITs
 *     pairs with
 *   (K4) WAKE: clear the word's bit, then wake_up_all() (K1): an arm
 *        after that waits for the next WAKE, one before it is woken now:
 *        its WAIT (PINSHM_IOC_WAIT_F_RO) sees the word change or its bit
 *        clear, or is queued. Words that share the bit share the arm:
 *        their sleepers return too, and arm again.
 */
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/wait.h>

#include "pinshm_priv.h"
#include "pinshm_trace.h"

static wait_queue_head_t *pinshm_word_queue(struct pinshm_region *r, u64 off,
					    bool ro)
{
	if (ro)
		return &r->wordq[PINSHM_WAITQ_OF(off)];
	return &r->wakeq[hash_32((u32)(off >> 7), PINSHM_WAKEQ_BITS)];
}

/* The word at off, or NULL: off must be 4-aligned and inside the data. */
static u32 *pinshm_word(struct pinshm_region *r, u64 off)
{
	u64 bytes = (u64)r->nr_pages << PAGE_SHIFT;

	if (off % sizeof(u32) || off >= bytes)
		return NULL;
	/* Contiguous lowmem pages (pinshm_region_alloc()): one range. */
	return (u32 *)((char *)page_address(r->pages) + off);
}

/* The word moved on, or (a read-only sleeper) its bit was cleared. */
static bool pinshm_wait_done(const u32 *word, u32 val, const u32 *armed,
			     u32 bit)
{
	return READ_ONCE(*word) != val || (armed && !(READ_ONCE(*armed) & bit));
}

/* (K3): set our bit (a cmpxchg even when it is set: a full barrier). */
static void pinshm_ro_arm(u32 *ro, u32 bit)
{
	u32 old = READ_ONCE(*ro), prev;

	while ((prev = cmpxchg(ro, old, old | bit)) != old)
		old = prev;
}

/* (K4): clear our bit; the other words' stay. True if we cleared it. */
static bool pinshm_ro_take(u32 *ro, u32 bit)
{
	u32 old = READ_ONCE(*ro), prev;

	while (old & bit) {
		prev = cmpxchg(ro, old, old & ~bit);
		if (prev == old)
			return true;
		old = prev;
	}
	return false;
}

long pinshm_ioc_wait(struct pinshm_region *r, void __user *uarg)
{
	struct pinshm_wait k;
	u32 usize, *word, *armed = NULL, bit;
	wait_queue_head_t *wq;
	u64 t0;
	long ret;

	ret = pinshm_copy_in(&k, sizeof(k), sizeof(k), uarg, &usize);
	if (ret)
		return ret;
	word = pinshm_word(r, k.offset);
	if ((k.flags & ~(PINSHM_IOC_WAIT_F_ARM | PINSHM_IOC_WAIT_F_RO)) ||
	    k.__reserved || !word)
		return -EINVAL;
	bit = PINSHM_RO_BIT(k.offset);
	if (k.flags & PINSHM_IOC_WAIT_F_ARM) {
		/* (K3) pairs with (K4): the arm (a full barrier) first */
		pinshm_ro_arm(&r->meta->ro_pending[PINSHM_WAITQ_OF(k.offset)],
			      bit);
		return 0;
	}
	if (k.flags & PINSHM_IOC_WAIT_F_RO)
		armed = &r->meta->ro_pending[PINSHM_WAITQ_OF(k.offset)];
	if (READ_ONCE(*word) != k.val)
		return -EAGAIN;
	if (armed && !(READ_ONCE(*armed) & bit))
		return 0;	/* (K4) took the arm: the caller arms again */
	if (k.timeout_ns == 0)
		return -ETIMEDOUT;
	t0 = ktime_get_ns();
	/* (K2) pairs with (K1), and with (K4) for a read-only sleeper. */
	wq = pinshm_word_queue(r, k.offset, armed != NULL);
	if (k.timeout_ns < 0)
		ret = wait_event_interruptible(*wq,
					       pinshm_wait_done(word, k.val,
								armed, bit));
	else
		ret = wait_event_interruptible_hrtimeout(
			*wq, pinshm_wait_done(word, k.val, armed, bit),
			ns_to_ktime(k.timeout_ns));
	if (ret == -ETIME)
		ret = -ETIMEDOUT;
	else if (ret == -ERESTARTSYS)
		ret = -EINTR;	/* the timeout is relative: no restart */
	trace_pinshm_wait(r->name, k.offset, ktime_get_ns() - t0, (int)ret);
	return ret;
}

/*
 * wake_up_interruptible_all(wq) (K1), and how many tasks it woke: those
 * queued now, counted under the queue's lock the wake holds anyway (our
 * sleepers are all interruptible and not exclusive, so all are woken;
 * one already on its way out, by a signal or its timeout, is counted too).
 */
static u32 pinshm_wake_all(wait_queue_head_t *wq)
{
	struct wait_queue_entry *e;
	unsigned long flags;
	u32 n = 0;

	spin_lock_irqsave(&wq->lock, flags);
	list_for_each_entry(e, &wq->head, entry)
		n++;
	if (n)
		__wake_up_locked(wq, TASK_INTERRUPTIBLE, 0);
	spin_unlock_irqrestore(&wq->lock, flags);
	return n;
}

long pinshm_ioc_wake(struct file *file, struct pinshm_region *r,
		     void __user *uarg)
{
	struct pinshm_wake k;
	u32 usize;
	u32 woken;
	bool took;
	int ret;

	ret = pinshm_copy_in(&k, sizeof(k), sizeof(k), uarg, &usize);
	if (ret)
		return ret;
	if (k.flags || !pinshm_word(r, k.offset))
		return -EINVAL;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	took = pinshm_ro_take(&r->meta->ro_pending[PINSHM_WAITQ_OF(k.offset)],
			      PINSHM_RO_BIT(k.offset));
	/* (K4) pairs with (K3): the disarm before the wakes (K1) */
	smp_mb();
	woken = pinshm_wake_all(pinshm_word_queue(r, k.offset, false));
	/*
	 * Read-only sleepers return once the bit is clear: only its taker
	 * wakes them (whoever cleared it before us woke them then).
	 */
	if (took)
		woken += pinshm_wake_all(pinshm_word_queue(r, k.offset, true));
	trace_pinshm_wake(r->name, k.offset, woken);
	return 0;
}
