/* SPDX-License-Identifier: MIT */
/*
 * What every ring type shares: the roles a handle is attached as, the wait
 * strategies of the copying helpers, the record a zero-copy peek hands out,
 * the wait step of those helpers, the size of a variable-length record, and
 * the seqlock copy helpers of the broadcast ring and the latest-value slot.
 *
 * Each ring header (spsc.h, mpsc.h, bcast.h, slot.h) includes this one and
 * no other ring header. Every ring type has the same verbs:
 *
 *	pinshm_X_create(r, name, sizes)        pinshm_X_attach(r, name, role, out)
 *	pinshm_X_detach(h)
 *	producer: pinshm_X_claim / _commit / _send, batch forms
 *	consumer: pinshm_X_peek / _release / _peek_batch / _recv / _wait
 */
#ifndef PINSHM_RING_H
#define PINSHM_RING_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <pinshm/barrier.h>
#include <pinshm/layout.h>

/*
 * Roles for pinshm_X_attach(). PINSHM_WRITER and PINSHM_READER are the
 * same values, spelled for the broadcast ring and the latest-value slot.
 * MPSC: PINSHM_PRODUCER takes the first free producer id,
 * PINSHM_PRODUCER_ID(n) takes id n (PINSHM_PRODUCER_ID(-1) is
 * PINSHM_PRODUCER; any n outside -1..PINSHM_MPSC_PRODUCERS-1 is refused
 * with -EINVAL).
 */
#define PINSHM_PRODUCER		1
#define PINSHM_CONSUMER		2
#define PINSHM_WRITER		PINSHM_PRODUCER
#define PINSHM_READER		PINSHM_CONSUMER
#define PINSHM_PRODUCER_ID(n)	(PINSHM_PRODUCER + ((n) + 1) * 256)

/* Wait strategies for the copying helpers. */
#define PINSHM_WAIT_NONE	0	/* return -EAGAIN at once */
#define PINSHM_WAIT_SPIN	1	/* busy-spin with a pause hint */
#define PINSHM_WAIT_YIELD	2	/* spin a while, then sched_yield() */
#define PINSHM_WAIT_FUTEX	3	/* spin a while, then sleep (consumers);
					 * yields where the kernel cannot sleep
					 * on this memory (a pinshm.ko without
					 * PINSHM_IOC_WAIT); producers, whom
					 * nobody would wake, yield */
#define PINSHM_WAIT_BACKOFF	4	/* spin, PINSHM_BACKOFF_PAUSES pauses
					 * between looks: for throughput */

#define PINSHM_YIELD_SPINS	1024	/* pauses before the first yield */
/*
 * PINSHM_WAIT_BACKOFF: pauses between two looks at a ring (about 3 us on
 * the 2-vCPU EPYC host of docs/performance.md). A reader that finds
 * nothing and looks again at once takes the cache line the writer is
 * filling, again and again; one that waits this long lets the writer get
 * a few dozen records ahead, which it then reads in a run: the stream
 * goes 1.3-2x faster, and a record that arrives while the reader waits
 * is seen up to that much later. Streams and batch work, not latency.
 */
#define PINSHM_BACKOFF_PAUSES	128

/* A record handed out by peek: valid until the next release. */
struct pinshm_msg {
	const void *data;
	uint32_t len;
	uint32_t type;
};

/* One step of a copying helper's wait for room or for a record. */
static inline void __pinshm_wait_step(int wait, unsigned int *spins)
{
	unsigned int k;

	pinshm_cpu_relax();
	if (wait == PINSHM_WAIT_BACKOFF) {
		for (k = 1; k < PINSHM_BACKOFF_PAUSES; k++)
			pinshm_cpu_relax();
	} else if (wait == PINSHM_WAIT_FUTEX) {
		++*spins;	/* the recv helpers sleep after enough */
	} else if (wait == PINSHM_WAIT_YIELD && ++*spins >= PINSHM_YIELD_SPINS) {
		*spins = PINSHM_YIELD_SPINS - 16;
		sched_yield();
	}
}

/*
 * Hand the cache lines of [p, p + len) over to the shared cache: a
 * consumer calls it on the lines it has just zeroed, which the producer
 * writes next. A zeroed line sits modified in the consumer's own cache,
 * and each producer write to it would fetch it from there, across the
 * chip; demoted, the producer takes it from the last-level cache. On x86
 * this is CLDEMOTE, a hint that CPUs without it run as a NOP (its opcode
 * is in the hint-NOP space, on AMD too); elsewhere nothing. On the 2-vCPU
 * Xeon host of docs/performance.md, SPSC streams of 64-byte records went
 * 1.3x as fast, and 1.7-1.9x in batches of 32.
 */
static inline void __pinshm_demote(const void *p, uint64_t len)
{
#if defined(__x86_64__) || defined(__i386__)
	const char *c = (const char *)((uintptr_t)p & ~(uintptr_t)63);
	const char *end = (const char *)p + len;

	/* The whole line is an input: the zeroing stores stay before. */
	for (; c < end; c += 64)
		__asm__ __volatile__("cldemote %0"
				     : : "m"(*(const char(*)[64])c));
#else
	(void)p;
	(void)len;
#endif
}

/* Bytes a variable-length record of len payload bytes takes (SPSC, MPSC). */
static inline uint64_t __pinshm_rec_size(uint32_t len)
{
	return PINSHM_REC_HDR + (((uint64_t)len + PINSHM_REC_ALIGN - 1) &
				 ~(uint64_t)(PINSHM_REC_ALIGN - 1));
}

/*
 * The filler before a record of size bytes at buffer offset off: none,
 * or, where the record would run past the end of the buffer (cap), the
 * rest of the buffer. Decided by a branch, which the CPU predicts (taken
 * once a lap) and runs past: the record's address is known at once. The
 * same choice made by a conditional move held every store to the record
 * until the move was done, and made the SPSC round trip of 64-byte
 * records 1.3-1.4x slower near and 1.1x far (docs/performance.md). The
 * MPSC claim, whose address waits for its CAS anyway, measured the same
 * either way; it shares the branch.
 */
static inline uint64_t __pinshm_wrap_pad(uint64_t off, uint64_t size,
					 uint64_t cap)
{
	if (__builtin_expect(off + size > cap, 0)) {
		/* A volatile asm cannot run speculatively: it keeps the
		 * compiler from turning the branch into a conditional move. */
		__asm__ __volatile__("" : "+r"(off));
		return cap - off;
	}
	return 0;
}

/*
 * ThreadSanitizer sees a seqlock's optimistic copy as a data race (it is
 * one, benign by construction) and does not model fences (gcc refuses
 * atomic_thread_fence under -fsanitize=thread). So under TSan everything a
 * seqlock protects is copied with 8-byte acquire loads (readers) and
 * release stores (the writer): an acquire load orders itself before the
 * re-check of seq as the reader's fence (R) does, a release store orders
 * the odd seq before itself as the writer's fence (W) does, so the fences
 * become compiler barriers and TSan checks the real protocol. Otherwise
 * the copies are memcpy() between the fences (x86: both fences are
 * compiler barriers anyway).
 */
#if defined(__SANITIZE_THREAD__)
#define PINSHM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PINSHM_TSAN 1
#endif
#endif
#ifndef PINSHM_TSAN
#define PINSHM_TSAN 0
#endif

#if PINSHM_TSAN
#define __pinshm_seq_rmb()	atomic_signal_fence(memory_order_seq_cst)
#define __pinshm_seq_wmb()	atomic_signal_fence(memory_order_seq_cst)
#define __PINSHM_SEQ_LOAD(x)	pinshm_load_acquire(&(x))
#define __PINSHM_SEQ_STORE(x, v) pinshm_store_release(&(x), (v))
#else
#define __pinshm_seq_rmb()	pinshm_smp_rmb()
#define __pinshm_seq_wmb()	pinshm_smp_wmb()
#define __PINSHM_SEQ_LOAD(x)	PINSHM_READ_ONCE(x)
#define __PINSHM_SEQ_STORE(x, v) PINSHM_WRITE_ONCE(x, v)
#endif

/*
 * Copy len bytes out of a shared area that a writer may be changing. src
 * must be 8-byte aligned and readable up to len rounded up to 8.
 */
static inline void __pinshm_copy_out(void *dst, const void *src, size_t len)
{
#if PINSHM_TSAN
	const uint64_t *s = (const uint64_t *)src;
	uint8_t *d = (uint8_t *)dst;
	uint64_t w;
	size_t n;

	for (n = 0; n + 8 <= len; n += 8) {
		w = __PINSHM_SEQ_LOAD(s[n / 8]);
		memcpy(d + n, &w, 8);
	}
	if (n < len) {
		w = __PINSHM_SEQ_LOAD(s[n / 8]);
		memcpy(d + n, &w, len - n);
	}
#else
	memcpy(dst, src, len);
#endif
}

/*
 * Copy len bytes into a shared area only the caller writes. dst must be
 * 8-byte aligned and writable up to len rounded up to 8.
 */
static inline void __pinshm_copy_in(void *dst, const void *src, size_t len)
{
#if PINSHM_TSAN
	uint64_t *d = (uint64_t *)dst;
	const uint8_t *s = (const uint8_t *)src;
	uint64_t w;
	size_t n;

	for (n = 0; n + 8 <= len; n += 8) {
		memcpy(&w, s + n, 8);
		__PINSHM_SEQ_STORE(d[n / 8], w);
	}
	if (n < len) {
		w = PINSHM_READ_ONCE(d[n / 8]);	/* our own bytes */
		memcpy(&w, s + n, len - n);
		__PINSHM_SEQ_STORE(d[n / 8], w);
	}
#else
	memcpy(dst, src, len);
#endif
}

#endif /* PINSHM_RING_H */
