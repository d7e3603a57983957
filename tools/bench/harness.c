// SPDX-License-Identifier: MIT
/* The benchmark harness (harness.h, which holds the barrier's protocol). */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include <pinshm/barrier.h>

#include "harness.h"

int harness_sync_wait(struct harness_sync *s, int id, unsigned int n)
{
	uint64_t k = PINSHM_READ_ONCE(s->arrive[id].v) + 1;	/* ours */
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned int i;
	uint32_t w;

	/* (S1) pairs with (S2). */
	pinshm_store_release(&s->arrive[id].v, k);
	if (n > 2) {
		__atomic_fetch_add(&s->wake, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &s->wake, FUTEX_WAKE, INT32_MAX, NULL,
			NULL, 0);
	}
	for (i = 0; i < n; i++) {
		/* (S2) pairs with (S1). */
		for (;;) {
			w = __atomic_load_n(&s->wake, __ATOMIC_SEQ_CST);
			if (pinshm_load_acquire(&s->arrive[i].v) >= k)
				break;
			if (PINSHM_READ_ONCE(s->failed))
				return -ECANCELED;
			if (id >= 2)
				syscall(SYS_futex, &s->wake, FUTEX_WAIT, w,
					&ts, NULL, 0);
			else
				pinshm_cpu_relax();
		}
	}
	return 0;
}

void harness_sync_fail(struct harness_sync *s)
{
	PINSHM_WRITE_ONCE(s->failed, 1);	/* a flag; orders nothing */
}
