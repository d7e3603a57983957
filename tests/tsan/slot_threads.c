// SPDX-License-Identifier: MIT
/*
 * The latest-value slot under ThreadSanitizer: a writer thread writing at
 * full speed (alternating pinshm_slot_send() and in-place write_begin/
 * write_end with word-atomic stores) and two reader threads:
 *   copy      pinshm_slot_read();
 *   in-place  read_begin, copy the value out word-atomically, read_retry.
 * Each value carries its sequence number, a checksum and a pattern; a
 * reader fails on a torn value, on a value or version going backwards, and
 * if its last read after the writer finished is not the last value.
 * Any TSan report is a bug in the protocol of pinshm/slot.h ((W1)/(W3),
 * (R1)/(R2)): run with halt_on_error=1. Exit 0 when every check passed.
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

#include "../rec_csum.h"

#define SIZE	200u
#define WRITES	300000ull

static struct pinshm_region *g_r;
static _Atomic int g_done, g_failed, g_ready;

static void fill(uint8_t *p, uint64_t s)
{
	uint64_t c;
	uint32_t i;

	memcpy(p, &s, 8);
	for (i = 16; i < SIZE; i++)
		p[i] = (uint8_t)(s * 13 + i * 7);
	c = rec_csum(p, SIZE, s);
	memcpy(p + 8, &c, 8);
}

static void fail(const char *who, const char *what, uint64_t s)
{
	printf("FAIL %s: %s (value %llu)\n", who, what, (unsigned long long)s);
	atomic_store(&g_failed, 1);
}

static void *writer(void *arg)
{
	struct pinshm_slot w;
	uint8_t buf[SIZE];
	uint64_t s;

	(void)arg;
	if (pinshm_slot_attach(g_r, "v", PINSHM_WRITER, &w)) {
		fail("writer", "attach", 0);
		return NULL;
	}
	while (atomic_load(&g_ready) < 2)
		sched_yield();
	for (s = 1; s <= WRITES && !atomic_load(&g_failed); s++) {
		fill(buf, s);
		if (s & 1) {
			pinshm_slot_send(&w, buf, SIZE);
		} else {
			__pinshm_copy_in(pinshm_slot_claim(&w), buf, SIZE);
			pinshm_slot_commit(&w, SIZE);
		}
	}
	pinshm_slot_detach(&w);
	atomic_store(&g_done, 1);
	return NULL;
}

static uint64_t g_stats[2][3];

static void *reader(void *arg)
{
	int who = (int)(intptr_t)arg;
	const char *name = who ? "in-place" : "copy";
	struct pinshm_slot rd;
	uint8_t buf[SIZE];
	uint64_t s, c, prev = 0, ver, prev_ver = 0, seq, busy = 0, retries = 0;
	const void *v;
	unsigned int tries;
	int ret, done;

	if (pinshm_slot_attach(g_r, "v", PINSHM_READER, &rd)) {
		fail(name, "attach", 0);
		return NULL;
	}
	atomic_fetch_add(&g_ready, 1);
	do {
		done = atomic_load(&g_done);
		if (!who) {
			ret = pinshm_slot_read(&rd, buf, SIZE, &ver);
			if (ret == -ENODATA || ret == -EAGAIN)
				continue;
			if (ret != (int)SIZE) {
				fail(name, "read", (uint64_t)ret);
				break;
			}
		} else {
			for (tries = 0; tries < PINSHM_SLOT_READ_TRIES;
			     tries++) {
				v = pinshm_slot_peek(&rd, &seq);
				if (v)
					__pinshm_copy_out(buf, v, SIZE);
				if (!pinshm_slot_release(&rd, seq))
					break;
				retries++;
				sched_yield();
			}
			if (tries == PINSHM_SLOT_READ_TRIES) {
				busy++;
				continue;
			}
			if (!v)
				continue;
			ver = pinshm_slot_version(seq);
		}
		memcpy(&s, buf, 8);
		memcpy(&c, buf + 8, 8);
		if (c != rec_csum(buf, SIZE, s)) {
			fail(name, "torn value", s);
			break;
		}
		if (s < prev || ver < prev_ver || s != ver) {
			fail(name, "went backwards", s);
			break;
		}
		prev = s;
		prev_ver = ver;
	} while (!done && !atomic_load(&g_failed));
	if (!atomic_load(&g_failed) && prev != WRITES)
		fail(name, "did not end at the last value", prev);
	g_stats[who][0] = who ? 0 : rd.reads;
	g_stats[who][1] = who ? retries : rd.retries;
	g_stats[who][2] = who ? busy : rd.busy;
	return NULL;
}

int main(void)
{
	struct pinshm_region_opts o;
	char name[PINSHM_NAME_MAX];
	pthread_t t[3];
	int ret, i;

	snprintf(name, sizeof(name), "tsan-slot-%d", (int)getpid());
	pinshm_region_opts_init(&o);
	o.size = 64 << 10;
	o.backend = PINSHM_BACKEND_SHM;
	ret = pinshm_region_create(name, &o, &g_r);
	if (!ret)
		ret = pinshm_slot_create(g_r, "v", SIZE);
	if (ret) {
		fprintf(stderr, "setup: %s\n", strerror(-ret));
		return 1;
	}
	if (pthread_create(&t[0], NULL, reader, (void *)0) ||
	    pthread_create(&t[1], NULL, reader, (void *)1) ||
	    pthread_create(&t[2], NULL, writer, NULL)) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	pinshm_region_close(g_r);
	pinshm_region_destroy(name, PINSHM_BACKEND_SHM);
	if (!atomic_load(&g_failed))
		printf("ok slot: %llu writes of %u bytes; copy reader %llu "
		       "reads, %llu retries, %llu gave up; in-place reader "
		       "%llu retries, %llu gave up\n", WRITES, SIZE,
		       (unsigned long long)g_stats[0][0],
		       (unsigned long long)g_stats[0][1],
		       (unsigned long long)g_stats[0][2],
		       (unsigned long long)g_stats[1][1],
		       (unsigned long long)g_stats[1][2]);
	printf("%s\n", atomic_load(&g_failed) ? "FAIL" : "PASS");
	return atomic_load(&g_failed);
}
