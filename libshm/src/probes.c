// SPDX-License-Identifier: MIT
/*
 * The USDT probes' semaphores (probes.h) and the names their ring probes
 * report. A handle's names are copied at attach from the caller's ring
 * name and the region handle's own copy of its name, never from the
 * region's directory, which any attacher may rewrite.
 *
 * The table only grows: entries are written once, under the lock, before
 * their number is handed out; a chunk's pointer is published with a
 * release store, and readers load it with acquire, so a number that
 * reached a thread (through whatever gave it the handle) finds its entry
 * whole.
 */
#include <pthread.h>
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
static uint32_t nr_names = 1;		/* 0 is "no names" */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const struct pinshm_probe_names none = { .id = -1 };

static struct pinshm_probe_names *entry(uint32_t n)
{
	struct pinshm_probe_names *c = __atomic_load_n(&chunks[n >> CHUNK_SHIFT],
						       __ATOMIC_ACQUIRE);

	return c ? &c[n & (CHUNK - 1)] : NULL;
}

uint16_t __pinshm_probe_intern(const char *region, const char *ring,
			       uint32_t type, int id)
{
	struct pinshm_probe_names *e, *c;
	uint32_t n;

	pthread_mutex_lock(&lock);
	for (n = 1; n < nr_names; n++) {
		e = entry(n);
		if (e->type == (int)type && e->id == id &&
		    !strcmp(e->region, region) && !strcmp(e->ring, ring))
			goto out;
	}
	if (n >= 65536u) {
		n = 0;
		goto out;
	}
	c = chunks[n >> CHUNK_SHIFT];	/* ours to write: under the lock */
	if (!c) {
		c = calloc(CHUNK, sizeof(*c));
		if (!c) {
			n = 0;
			goto out;
		}
		/* Pairs with entry()'s acquire: the zeroes before the chunk. */
		__atomic_store_n(&chunks[n >> CHUNK_SHIFT], c, __ATOMIC_RELEASE);
	}
	e = &c[n & (CHUNK - 1)];
	/* Both validated by the callers: NUL-terminated, short enough. */
	snprintf(e->region, sizeof(e->region), "%s", region);
	snprintf(e->ring, sizeof(e->ring), "%s", ring);
	e->type = (int)type;
	e->id = id;
	nr_names = n + 1;
out:
	pthread_mutex_unlock(&lock);
	return (uint16_t)n;
}

const struct pinshm_probe_names *__pinshm_probe_names(uint16_t n)
{
	const struct pinshm_probe_names *e = n ? entry(n) : NULL;

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
