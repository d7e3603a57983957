// SPDX-License-Identifier: MIT
/*
 * The USDT probes' semaphores (probes.h) and the names their ring probes
 * report. A handle's names are copied at attach from the caller's ring
 * name and the region handle's own copy of its name, never from the
 * region's directory, which any attacher may rewrite.
 *
 * The table only grows, without a lock (a fork can never leave one held
 * in the child): a thread takes a fresh number with an atomic add, writes
 * the entry, then store-releases its ready flag; a look-up or a search
 * load-acquires the flag before reading the entry. Two threads interning
 * the same names at once may each get an entry: harmless, both say the
 * same. A chunk of entries is allocated by whoever first needs it and
 * published with a compare-and-swap; the loser frees its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "probes.h"

#define __PINSHM_SEMAPHORE_DEF(n)					\
	__attribute__((visibility("hidden"), section(".probes"), used))	\
	unsigned short pinshm_##n##_semaphore;
PINSHM_PROBE_LIST(__PINSHM_SEMAPHORE_DEF)

/* The number fills padding: handles keep their size and layout. */
_Static_assert(sizeof(struct pinshm_waitq_ref) == 24,
	       "struct pinshm_waitq_ref changed size");

#define CHUNK_SHIFT	8
#define CHUNK		(1u << CHUNK_SHIFT)
#define NR_CHUNKS	(65536u / CHUNK)

static struct pinshm_probe_names *chunks[NR_CHUNKS];
static uint32_t nr_names = 1;		/* numbers handed out; 0 is "no names" */
static const struct pinshm_probe_names none = { .id = -1 };

/* Entry n, or NULL if its chunk is not there yet. */
static struct pinshm_probe_names *entry(uint32_t n)
{
	/* Pairs with the CAS's release in chunk_of(): zeroes before pointer. */
	struct pinshm_probe_names *c = __atomic_load_n(&chunks[n >> CHUNK_SHIFT],
						       __ATOMIC_ACQUIRE);

	return c ? &c[n & (CHUNK - 1)] : NULL;
}

/* Entry n, written and published (its ready flag seen), or NULL. */
static const struct pinshm_probe_names *ready_entry(uint32_t n)
{
	const struct pinshm_probe_names *e = entry(n);

	/* Pairs with intern's store-release of ready: the entry before it. */
	return e && __atomic_load_n(&e->ready, __ATOMIC_ACQUIRE) ? e : NULL;
}

/* Entry n's place, allocating its chunk if nobody has; NULL without memory. */
static struct pinshm_probe_names *chunk_of(uint32_t n)
{
	struct pinshm_probe_names *c = entry(n), *expected = NULL;

	if (c)
		return c;
	c = calloc(CHUNK, sizeof(*c));
	if (!c)
		return NULL;
	/* Release: the zeroed chunk before its pointer (entry()'s acquire). */
	if (!__atomic_compare_exchange_n(&chunks[n >> CHUNK_SHIFT], &expected, c,
					 false, __ATOMIC_RELEASE,
					 __ATOMIC_ACQUIRE)) {
		free(c);	/* another thread's chunk is there */
		return entry(n);
	}
	return &c[n & (CHUNK - 1)];
}

uint16_t __pinshm_probe_intern(const char *region, const char *ring,
			       uint32_t type, int id)
{
	struct pinshm_probe_names *e;
	const struct pinshm_probe_names *f;
	uint32_t n, end;

	/* Relaxed: the entries found are checked through their ready flags. */
	end = __atomic_load_n(&nr_names, __ATOMIC_RELAXED);
	for (n = 1; n < end && n < 65536u; n++) {
		f = ready_entry(n);
		if (f && f->type == (int)type && f->id == id &&
		    !strcmp(f->region, region) && !strcmp(f->ring, ring))
			return (uint16_t)n;
	}
	if (end >= 65536u)
		return 0;	/* numbers used up: no names from now on */
	/* Relaxed: the number is ours alone; publishing is by ready. */
	n = __atomic_fetch_add(&nr_names, 1, __ATOMIC_RELAXED);
	if (n >= 65536u)
		return 0;
	e = chunk_of(n);
	if (!e)
		return 0;
	/* Both validated by the callers: NUL-terminated, short enough. */
	snprintf(e->region, sizeof(e->region), "%s", region);
	snprintf(e->ring, sizeof(e->ring), "%s", ring);
	e->type = (int)type;
	e->id = id;
	/* Pairs with ready_entry()'s acquire: the entry before the flag. */
	__atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
	return (uint16_t)n;
}

const struct pinshm_probe_names *__pinshm_probe_names(uint16_t n)
{
	const struct pinshm_probe_names *e = n ? ready_entry(n) : NULL;

	return e ? e : &none;
}

void __pinshm_probe_role_attach(uint16_t n, int role, uint32_t dead_pid)
{
	const struct pinshm_probe_names *p;

	if (dead_pid) {
		if (PINSHM_PROBE_ON(role_takeover)) {
			p = __pinshm_probe_names(n);
			STAP_PROBE6(pinshm, role_takeover, p->region, p->ring,
				    p->type, role, p->id, (int)dead_pid);
		}
	} else if (PINSHM_PROBE_ON(role_attach)) {
		p = __pinshm_probe_names(n);
		STAP_PROBE5(pinshm, role_attach, p->region, p->ring, p->type,
			    role, p->id);
	}
}

void __pinshm_probe_role_detach(uint16_t n, int role)
{
	const struct pinshm_probe_names *p;

	if (PINSHM_PROBE_ON(role_detach)) {
		p = __pinshm_probe_names(n);
		STAP_PROBE5(pinshm, role_detach, p->region, p->ring, p->type,
			    role, p->id);
	}
}

void __pinshm_probe_backpressure(uint16_t n)
{
	const struct pinshm_probe_names *p;

	if (PINSHM_PROBE_ON(backpressure)) {
		p = __pinshm_probe_names(n);
		STAP_PROBE4(pinshm, backpressure, p->region, p->ring, p->type,
			    p->id);
	}
}

void __pinshm_probe_recovery(uint16_t n, uint64_t count)
{
	const struct pinshm_probe_names *p;

	if (PINSHM_PROBE_ON(recovery)) {
		p = __pinshm_probe_names(n);
		STAP_PROBE4(pinshm, recovery, p->region, p->ring, p->type,
			    count);
	}
}

void __pinshm_probe_wake(uint16_t n)
{
	const struct pinshm_probe_names *p;

	if (PINSHM_PROBE_ON(wake)) {
		p = __pinshm_probe_names(n);
		STAP_PROBE3(pinshm, wake, p->region, p->ring, p->type);
	}
}
