// SPDX-License-Identifier: MIT
/*
 * The broadcast ring under ThreadSanitizer: a writer thread and three
 * reader threads in one process over ring "b" (64 slots of 64 bytes) in a
 * region of the shm backend.
 *
 *   fast-zc    zero-copy peek_batch, copies each record out (with the
 *              header's word-atomic copy, as TSan wants) and releases;
 *   fast-copy  recv;
 *   slow       recv with pauses: lapped again and again.
 * The writer stays less than half a ring ahead of the two fast readers
 * (through atomics of this test, never through the ring) and stages
 * batches of 1..16 records. Each record carries its number in bytes
 * [0, 8), a checksum in [8, 16) and a pattern; every reader checks them,
 * that m.seq matches, that seqs strictly increase, and (slow) that
 * received + lost == records. Any TSan report is a bug in the protocol of
 * pinshm/bcast.h ((W1)..(W4), (R1)..(R4)): run with halt_on_error=1.
 * Exit status 0 when every check passed.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinshm.h>

#define SLOTS		64
#define COUNT		1000000ull

static struct pinshm_region *g_r;
static _Atomic uint64_t g_fast[2];
static _Atomic int g_ready;	/* readers attached: the writer waits */

#include "bcast_rec.h"

static void *writer(void *arg)
{
	struct pinshm_bcast w;
	uint64_t n, rs = 12345;
	unsigned int staged = 0, batch = 1, spins = 0;
	uint8_t buf[64];
	void *d;

	(void)arg;
	if (pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w)) {
		fail("writer", "attach", 0);
		return NULL;
	}
	while (atomic_load(&g_ready) < 3)
		sched_yield();
	for (n = 0; n < COUNT && !atomic_load(&g_failed); n++) {
		uint32_t len = rec_len(n);

		while (n - atomic_load(&g_fast[0]) >= SLOTS / 2 ||
		       n - atomic_load(&g_fast[1]) >= SLOTS / 2) {
			pinshm_bcast_publish(&w);	/* never hold back */
			staged = 0;
			relax(&spins);
			if (atomic_load(&g_failed))
				break;
		}
		if (pinshm_bcast_claim(&w, len, &d)) {
			fail("writer", "claim", n);
			break;
		}
		fill(buf, n, len);
		/* In place, but word-atomic: TSan checks the protocol. */
		__pinshm_copy_in(d, buf, len);
		pinshm_bcast_stage(&w, len, (uint32_t)n);
		if (++staged >= batch) {
			pinshm_bcast_publish(&w);
			staged = 0;
			rs ^= rs << 13;
			rs ^= rs >> 7;
			rs ^= rs << 17;
			batch = 1 + (unsigned int)(rs % 16);
		}
	}
	pinshm_bcast_detach(&w);
	return NULL;
}

static void *fast_zc(void *arg)
{
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m[16];
	uint8_t buf[16][64];
	uint64_t next = 0;
	unsigned int spins = 0;
	int n, i;

	(void)arg;
	if (pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, PINSHM_BCAST_OLDEST)) {
		fail("fast-zc", "attach", 0);
		return NULL;
	}
	atomic_fetch_add(&g_ready, 1);
	while (next < COUNT && !atomic_load(&g_failed)) {
		n = pinshm_bcast_peek_batch(&rd, m, 16);
		if (n < 0) {
			fail("fast-zc", strerror(-n), next);
			break;
		}
		if (n == 0) {
			relax(&spins);
			continue;
		}
		for (i = 0; i < n; i++)
			__pinshm_copy_out(buf[i], m[i].data, m[i].len);
		if (pinshm_bcast_release(&rd)) {
			fail("fast-zc", "lapped", next);
			break;
		}
		for (i = 0; i < n; i++, next++)
			if (m[i].seq != next ||
			    verify(buf[i], m[i].len, next)) {
				fail("fast-zc", "bad record", next);
				return NULL;
			}
		atomic_store(&g_fast[0], next);
	}
	return NULL;
}

static void *fast_copy(void *arg)
{
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m = { 0 };
	uint8_t buf[64];
	uint64_t next = 0;
	int ret;

	(void)arg;
	if (pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, PINSHM_BCAST_OLDEST)) {
		fail("fast-copy", "attach", 0);
		return NULL;
	}
	atomic_fetch_add(&g_ready, 1);
	while (next < COUNT && !atomic_load(&g_failed)) {
		ret = pinshm_bcast_recv(&rd, buf, sizeof(buf), &m,
					PINSHM_WAIT_NONE);
		if (ret == -EAGAIN) {
			sched_yield();
			continue;
		}
		if (ret < 0 || m.seq != next || verify(buf, m.len, next)) {
			fail("fast-copy", "bad record", next);
			break;
		}
		atomic_store(&g_fast[1], ++next);
	}
	return NULL;
}

static uint64_t g_slow_got, g_slow_lost, g_slow_laps;

static void *slow(void *arg)
{
	struct pinshm_bcast rd;
	struct pinshm_bcast_stats s;
	struct pinshm_bcast_msg m = { 0 };
	uint8_t buf[64];
	uint64_t prev = UINT64_MAX, got = 0;
	struct timespec ts = { 0, 50000 };
	int ret;

	(void)arg;
	if (pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, PINSHM_BCAST_OLDEST)) {
		fail("slow", "attach", 0);
		return NULL;
	}
	atomic_fetch_add(&g_ready, 1);
	while (prev != COUNT - 1 && !atomic_load(&g_failed)) {
		ret = pinshm_bcast_recv(&rd, buf, sizeof(buf), &m,
					PINSHM_WAIT_NONE);
		if (ret == -EAGAIN) {
			sched_yield();
			continue;
		}
		if (ret < 0 || verify(buf, m.len, m.seq) ||
		    (prev != UINT64_MAX && m.seq <= prev)) {
			fail("slow", ret < 0 ? strerror(-ret) : "bad record",
			     m.seq);
			break;
		}
		prev = m.seq;
		if (++got % 32 == 0)
			nanosleep(&ts, NULL);
	}
	pinshm_bcast_stats(&rd, &s);
	g_slow_got = s.msgs;
	g_slow_lost = s.lost;
	g_slow_laps = s.lapped;
	if (!atomic_load(&g_failed) && s.msgs + s.lost != COUNT)
		fail("slow", "received + lost != records", s.msgs + s.lost);
	return NULL;
}

int main(void)
{
	struct pinshm_region_opts o;
	char name[PINSHM_NAME_MAX];
	pthread_t t[4];
	int ret, i;

	snprintf(name, sizeof(name), "tsan-bcast-%d", (int)getpid());
	pinshm_region_opts_init(&o);
	o.size = SLOTS * 64 + (64 << 10);
	o.backend = PINSHM_BACKEND_SHM;
	ret = pinshm_region_create(name, &o, &g_r);
	if (!ret)
		ret = pinshm_bcast_create(g_r, "b", SLOTS, 48);
	if (ret) {
		fprintf(stderr, "setup: %s\n", strerror(-ret));
		return 1;
	}
	if (pthread_create(&t[0], NULL, fast_zc, NULL) ||
	    pthread_create(&t[1], NULL, fast_copy, NULL) ||
	    pthread_create(&t[2], NULL, slow, NULL) ||
	    pthread_create(&t[3], NULL, writer, NULL)) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pinshm_region_close(g_r);
	pinshm_region_destroy(name, PINSHM_BACKEND_SHM);
	if (!atomic_load(&g_failed))
		printf("ok bcast: %llu records to two fast readers, none lost; "
		       "slow reader %llu received + %llu lost in %llu laps\n",
		       COUNT, (unsigned long long)g_slow_got,
		       (unsigned long long)g_slow_lost,
		       (unsigned long long)g_slow_laps);
	printf("%s\n", atomic_load(&g_failed) ? "FAIL" : "PASS");
	return atomic_load(&g_failed);
}
