/* SPDX-License-Identifier: MIT */
/*
 * The library's USDT probes: provider pinshm, the table in libpinshm.3
 * (PROBES). Each probe has a semaphore, pinshm_<probe>_semaphore in section
 * .probes, whose address its ELF note carries: a tracer attached to the
 * probe (bpftrace, libbpf's USDT support, perf) raises it. An unused probe
 * costs one load and one predictable branch, and its arguments are not even
 * computed. Probes fire in the library's own code, on slow paths only: a
 * per-message path that meets an event (a full ring, a lapped reader) calls
 * an out-of-line function that counts and fires.
 *
 * Strings passed to probes are the process's own copies, made at attach
 * (probes.c), never names read from shared memory.
 */
#ifndef PINSHM_PROBES_H
#define PINSHM_PROBES_H

#include <stdint.h>

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include <pinshm.h>

/* Every probe, for the semaphores' declarations and definitions. */
#define PINSHM_PROBE_LIST(X)						\
	X(region_create) X(region_open) X(region_close) X(region_destroy) \
	X(role_attach) X(role_takeover) X(role_detach)			\
	X(backpressure) X(lapped) X(recovery) X(mpsc_pad)		\
	X(sleep) X(woken) X(wake)

#define __PINSHM_SEMAPHORE_DECL(n)					\
	extern unsigned short pinshm_##n##_semaphore			\
		__attribute__((visibility("hidden")));
PINSHM_PROBE_LIST(__PINSHM_SEMAPHORE_DECL)

/* Is a tracer attached to probe n? Test it before building arguments. */
#define PINSHM_PROBE_ON(n)	__builtin_expect(pinshm_##n##_semaphore, 0)

#define PINSHM_PROBE1(n, a)						\
	do { if (PINSHM_PROBE_ON(n)) STAP_PROBE1(pinshm, n, a); } while (0)
#define PINSHM_PROBE2(n, a, b)						\
	do { if (PINSHM_PROBE_ON(n)) STAP_PROBE2(pinshm, n, a, b); } while (0)
#define PINSHM_PROBE3(n, a, b, c)					\
	do { if (PINSHM_PROBE_ON(n)) STAP_PROBE3(pinshm, n, a, b, c); } while (0)
#define PINSHM_PROBE4(n, a, b, c, d)					\
	do { if (PINSHM_PROBE_ON(n))					\
		STAP_PROBE4(pinshm, n, a, b, c, d); } while (0)
#define PINSHM_PROBE5(n, a, b, c, d, e)					\
	do { if (PINSHM_PROBE_ON(n))					\
		STAP_PROBE5(pinshm, n, a, b, c, d, e); } while (0)
#define PINSHM_PROBE6(n, a, b, c, d, e, f)				\
	do { if (PINSHM_PROBE_ON(n))					\
		STAP_PROBE6(pinshm, n, a, b, c, d, e, f); } while (0)

/*
 * Who a ring handle is, for its probes: a process-private copy of its
 * region's and ring's names, made at attach and kept for the life of the
 * process (handles are copied by value and need not be detached, so
 * nothing frees it; the same names share one entry). A handle holds its
 * number, struct pinshm_waitq_ref's probe field, which fills padding
 * that was there already.
 */
struct pinshm_probe_names {
	char region[PINSHM_NAME_MAX];
	char ring[PINSHM_OBJ_NAME_MAX];
	int type;		/* PINSHM_OBJ_*, 0 unknown */
	int id;			/* MPSC producer id, else -1 */
	int ready;		/* written: store-released once, then read-only */
};

/* The entry's number; 0 (no names) when out of memory or numbers. */
uint16_t __pinshm_probe_intern(const char *region, const char *ring,
			       uint32_t type, int id);
/* Entry n; entry 0 and unknown numbers give empty names. */
const struct pinshm_probe_names *__pinshm_probe_names(uint16_t n);

/*
 * The ring probes, each fired at one place (so that `perf probe` makes one
 * event of it): each tests its semaphore before it looks the names up.
 * role_attach, or role_takeover when dead_pid (the holder it replaced) is
 * not 0.
 */
void __pinshm_probe_role_attach(uint16_t n, int role, uint32_t dead_pid);
void __pinshm_probe_role_detach(uint16_t n, int role);
void __pinshm_probe_backpressure(uint16_t n);
void __pinshm_probe_recovery(uint16_t n, uint64_t count);
void __pinshm_probe_wake(uint16_t n);

#endif /* PINSHM_PROBES_H */
