// SPDX-License-Identifier: MIT
/*
 * The lossless broadcast ring under ThreadSanitizer: a writer thread, two
 * registered reader threads and a churning one over ring "b" (64 slots of
 * 64 bytes, PINSHM_BCAST_LOSSLESS) in a region of the shm backend.
 *
 *   zc      registered; zero-copy peek_batch, copies each record out
 *           (with the header's word-atomic copy, as TSan wants) and
 *           releases;
 *   copy    registered; recv;
 *   churn   registers, reads a few records, leaves, again and again,
 *           while the writer runs: every record it reads between
 *           registering and leaving follows the one before.
 * The writer is held only by the library (-EAGAIN from the claim, gates
 * (G1)..(G7) of pinshm/bcast.h): no atomics of this test pace it. It
 * stages batches of 1..16 records. Each record carries its number, a
 * checksum and a pattern; the two registered readers must get every
 * record, in order, whole, with the library counting nothing lost,
 * lapped or stale. Any TSan report is a bug in the gates' protocol: run
 * with halt_on_error=1. Exit status 0 when every check passed.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinshm.h>

#define SLOTS		64
#define COUNT		300000ull

static struct pinshm_region *g_r;
static _Atomic int g_ready;	/* registered readers: the writer waits */
static _Atomic int g_done;
static uint64_t g_churns, g_churn_got;

#include "bcast_rec.h"

static void *writer(void *arg)
{
	struct pinshm_bcast w;
	uint64_t n, rs = 12345;
	unsigned int staged = 0, batch = 1, spins = 0;
	uint8_t buf[64];
	void *d;
	int ret;

	(void)arg;
	if (pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w)) {
		fail("writer", "attach", 0);
		return NULL;
	}
	while (atomic_load(&g_ready) < 2)
		sched_yield();
	for (n = 0; n < COUNT && !atomic_load(&g_failed); n++) {
		uint32_t len = rec_len(n);

		while ((ret = pinshm_bcast_claim(&w, len, &d)) == -EAGAIN) {
			/* Held by a reader: never hold a batch back. */
			pinshm_bcast_publish(&w);
			staged = 0;
			relax(&spins);
			if (atomic_load(&g_failed))
				break;
		}
		if (ret) {
			fail("writer", "claim", n);
			break;
		}
		fill(buf, n, len);
		__pinshm_copy_in(d, buf, len);
		pinshm_bcast_stage(&w, len, (uint32_t)n);
		if (++staged >= batch) {
			pinshm_bcast_publish(&w);
			staged = 0;
			rs = rs * 6364136223846793005ull + 1442695040888963407ull;
			batch = 1 + (unsigned int)((rs >> 33) % 16);
		}
	}
	pinshm_bcast_detach(&w);
	atomic_store(&g_done, 1);
	return NULL;
}

static int gattach(struct pinshm_bcast *rd)
{
	return pinshm_bcast_attach(g_r, "b", PINSHM_READER | PINSHM_BCAST_GATING,
				   rd);
}

static void check_stats(const char *who, const struct pinshm_bcast *rd)
{
	struct pinshm_bcast_stats st;

	pinshm_bcast_stats(rd, &st);
	if (st.lost || st.lapped || st.stale || st.corrupt)
		fail(who, "the library counted a loss", st.pos);
}

static void *zc(void *arg)
{
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m[32];
	uint8_t buf[32][64];
	uint64_t next = 0;
	unsigned int spins = 0;
	int n, i;

	(void)arg;
	if (gattach(&rd)) {
		fail("zc", "attach", 0);
		return NULL;
	}
	atomic_fetch_add(&g_ready, 1);
	while (next < COUNT && !atomic_load(&g_failed)) {
		n = pinshm_bcast_peek_batch(&rd, m, 1 + (unsigned int)(next % 32));
		if (n < 0) {
			fail("zc", "peek_batch", next);
			break;
		}
		if (n == 0) {
			relax(&spins);
			continue;
		}
		for (i = 0; i < n; i++)
			__pinshm_copy_out(buf[i], m[i].data, m[i].len);
		if (pinshm_bcast_release(&rd)) {
			fail("zc", "overwritten while registered", next);
			break;
		}
		for (i = 0; i < n; i++, next++)
			if (m[i].seq != next || verify(buf[i], m[i].len, next))
				fail("zc", "out of order or torn", next);
	}
	check_stats("zc", &rd);
	pinshm_bcast_detach(&rd);
	return NULL;
}

static void *copy(void *arg)
{
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;
	uint8_t buf[64];
	uint64_t next = 0;
	int ret;

	(void)arg;
	if (gattach(&rd)) {
		fail("copy", "attach", 0);
		return NULL;
	}
	atomic_fetch_add(&g_ready, 1);
	while (next < COUNT && !atomic_load(&g_failed)) {
		ret = pinshm_bcast_recv(&rd, buf, sizeof(buf), &m,
					PINSHM_WAIT_YIELD);
		if (ret < 0) {
			fail("copy", "recv", next);
			break;
		}
		if (m.seq != next || verify(buf, m.len, next))
			fail("copy", "out of order or torn", next);
		next++;
	}
	check_stats("copy", &rd);
	pinshm_bcast_detach(&rd);
	return NULL;
}

/* Register, read up to 100 records, leave; again until the writer ends. */
static void *churn(void *arg)
{
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;
	uint8_t buf[64];
	uint64_t prev, k;
	int ret;

	(void)arg;
	while (!atomic_load(&g_done) && !atomic_load(&g_failed)) {
		if (gattach(&rd)) {
			fail("churn", "attach", 0);
			break;
		}
		g_churns++;
		prev = UINT64_MAX;
		for (k = 0; k < 100 && !atomic_load(&g_done);) {
			ret = pinshm_bcast_recv(&rd, buf, sizeof(buf), &m,
						PINSHM_WAIT_NONE);
			if (ret == -EAGAIN) {
				sched_yield();
				continue;
			}
			if (ret < 0) {
				fail("churn", "recv", prev);
				break;
			}
			if ((prev != UINT64_MAX && m.seq != prev + 1) ||
			    verify(buf, m.len, m.seq))
				fail("churn", "a gap or a torn record", m.seq);
			prev = m.seq;
			k++;
			g_churn_got++;
		}
		check_stats("churn", &rd);
		pinshm_bcast_detach(&rd);
	}
	return NULL;
}

int main(void)
{
	struct pinshm_region_opts o;
	char name[PINSHM_NAME_MAX];
	pthread_t t[4];
	int ret, i;

	snprintf(name, sizeof(name), "tsan-bcll-%d", (int)getpid());
	pinshm_region_opts_init(&o);
	o.size = SLOTS * 64 + (64 << 10);
	o.backend = PINSHM_BACKEND_SHM;
	ret = pinshm_region_create(name, &o, &g_r);
	if (!ret)
		ret = pinshm_bcast_create_flags(g_r, "b", SLOTS, 48,
						PINSHM_BCAST_LOSSLESS);
	if (ret) {
		fprintf(stderr, "setup: %s\n", strerror(-ret));
		return 1;
	}
	if (pthread_create(&t[0], NULL, zc, NULL) ||
	    pthread_create(&t[1], NULL, copy, NULL) ||
	    pthread_create(&t[2], NULL, churn, NULL) ||
	    pthread_create(&t[3], NULL, writer, NULL)) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pinshm_region_close(g_r);
	pinshm_region_destroy(name, PINSHM_BACKEND_SHM);
	if (!atomic_load(&g_failed))
		printf("ok bcast lossless: %llu records to two registered "
		       "readers, none lost; %llu registrations read %llu "
		       "records without a gap\n", COUNT,
		       (unsigned long long)g_churns,
		       (unsigned long long)g_churn_got);
	printf("%s\n", atomic_load(&g_failed) ? "FAIL" : "PASS");
	return atomic_load(&g_failed);
}
