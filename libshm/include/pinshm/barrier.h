/* SPDX-License-Identifier: MIT */
/*
 * Memory-ordering primitives for memory shared between processes.
 *
 * Built on C11 <stdatomic.h> (as liburing does); no volatile, no asm. Every
 * use in the library names the access it pairs with.
 */
#ifndef PINSHM_BARRIER_H
#define PINSHM_BARRIER_H

#include <stdatomic.h>
#include <stdint.h>

#define pinshm_load_acquire(p)						\
	atomic_load_explicit((_Atomic __typeof__(*(p)) *)(p),		\
			     memory_order_acquire)
#define pinshm_store_release(p, v)					\
	atomic_store_explicit((_Atomic __typeof__(*(p)) *)(p), (v),	\
			      memory_order_release)
#define PINSHM_READ_ONCE(x)						\
	atomic_load_explicit((_Atomic __typeof__(x) *)&(x),		\
			     memory_order_relaxed)
#define PINSHM_WRITE_ONCE(x, v)						\
	atomic_store_explicit((_Atomic __typeof__(x) *)&(x), (v),	\
			      memory_order_relaxed)

/* Full fence and acquire/release fences. */
#define pinshm_smp_mb()	atomic_thread_fence(memory_order_seq_cst)
#define pinshm_smp_rmb() atomic_thread_fence(memory_order_acquire)
#define pinshm_smp_wmb() atomic_thread_fence(memory_order_release)

/* Spin-wait hint: lets the sibling hyperthread run, saves power. */
static inline void pinshm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

#endif /* PINSHM_BARRIER_H */
