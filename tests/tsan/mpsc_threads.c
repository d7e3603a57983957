// SPDX-License-Identifier: MIT
/*
 * The MPSC ring under ThreadSanitizer: producer threads and a consumer
 * thread in one process, over ring "q" of a shm-backend region (each
 * producer thread holds its own producer slot).
 *
 * Two runs:
 *   single  3 producers x 300,000 records: claim/commit one at a time
 *           (every third through send()); the consumer peeks one record
 *           at a time, sometimes holding two before releasing;
 *   batch   3 producers x 200,000 records in claim_batch() groups of
 *           1..16; the consumer takes peek_batch() of random sizes and
 *           releases once per batch.
 * A record is its producer's sequence number (8 bytes), its producer id
 * (type word) and a pattern from both (8..120 bytes); the consumer checks
 * each producer's sequence and every byte. Any data race TSan reports is a
 * bug in the ordering protocol of pinshm/mpsc.h. Exit 0 when all passed.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinshm.h>

#define NPROD		3
#define RING_CAP	(16u << 10)

struct run {
	const char *what;
	struct pinshm_region *r;
	uint64_t count;
	int batch;
	int failed;
	char err[256];
};

struct prod_arg {
	struct run *run;
	unsigned int id;
};

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static uint32_t rec_len(uint64_t seq, unsigned int id)
{
	return 8 + (uint32_t)(((seq + id) * 0x9E3779B97F4A7C15ull >> 40) % 113);
}

static uint8_t pat(uint64_t seq, unsigned int id, uint32_t i)
{
	return (uint8_t)(seq * 131u + i * 7u + id * 29u);
}

static void fill(uint8_t *d, uint64_t seq, unsigned int id, uint32_t len)
{
	uint32_t i;

	memcpy(d, &seq, 8);
	for (i = 8; i < len; i++)
		d[i] = pat(seq, id, i);
}

static void *producer(void *arg)
{
	struct prod_arg *pa = arg;
	struct run *run = pa->run;
	struct pinshm_mpsc p;
	uint64_t seq = 0, rs = pa->id + 1;
	int ret;

	ret = pinshm_mpsc_attach(run->r, "q", PINSHM_PRODUCER_ID((int)pa->id), &p);
	if (ret) {
		fprintf(stderr, "attach producer: %s\n", strerror(-ret));
		exit(1);
	}
	while (seq < run->count) {
		if (run->batch) {
			unsigned int n = 1 + (unsigned int)(xs(&rs) % 16), i;
			uint32_t lens[16], types[16];
			void *outs[16];

			if (n > run->count - seq)
				n = (unsigned int)(run->count - seq);
			for (i = 0; i < n; i++) {
				lens[i] = rec_len(seq + i, pa->id);
				types[i] = pa->id;
			}
			while ((ret = pinshm_mpsc_claim_batch(&p, n, lens, outs)) ==
			       -EAGAIN)
				sched_yield();
			if (ret)
				exit(2);
			for (i = 0; i < n; i++)
				fill(outs[i], seq + i, pa->id, lens[i]);
			pinshm_mpsc_commit_batch(&p, lens, types);
			seq += n;
		} else if (seq % 3 == 2) {
			uint8_t buf[128];
			uint32_t len = rec_len(seq, pa->id);

			fill(buf, seq, pa->id, len);
			if (pinshm_mpsc_send(&p, buf, len, pa->id,
					     PINSHM_WAIT_YIELD))
				exit(3);
			seq++;
		} else {
			uint32_t len = rec_len(seq, pa->id);
			void *d;

			while ((ret = pinshm_mpsc_claim(&p, len, &d)) == -EAGAIN)
				sched_yield();
			if (ret)
				exit(4);
			fill(d, seq, pa->id, len);
			pinshm_mpsc_commit(&p, len, pa->id);
			seq++;
		}
	}
	pinshm_mpsc_detach(&p);
	return NULL;
}

static int check(struct run *run, const struct pinshm_msg *m,
		 uint64_t *next)
{
	const uint8_t *d = m->data;
	uint64_t seq;
	uint32_t i;

	if (m->type >= NPROD || m->len < 8) {
		snprintf(run->err, sizeof(run->err), "bad record type %u len %u",
			 m->type, m->len);
		return -1;
	}
	memcpy(&seq, d, 8);
	if (seq != next[m->type] || m->len != rec_len(seq, m->type)) {
		snprintf(run->err, sizeof(run->err),
			 "producer %u: expected %llu, got %llu (len %u)",
			 m->type, (unsigned long long)next[m->type],
			 (unsigned long long)seq, m->len);
		return -1;
	}
	for (i = 8; i < m->len; i++)
		if (d[i] != pat(seq, m->type, i)) {
			snprintf(run->err, sizeof(run->err),
				 "producer %u seq %llu torn at %u", m->type,
				 (unsigned long long)seq, i);
			return -1;
		}
	next[m->type]++;
	return 0;
}

static void *consumer(void *arg)
{
	struct run *run = arg;
	struct pinshm_mpsc c;
	struct pinshm_msg m[32];
	uint64_t next[NPROD] = { 0 }, got = 0, rs = 99;
	int ret, i;

	ret = pinshm_mpsc_attach(run->r, "q", PINSHM_CONSUMER, &c);
	if (ret) {
		fprintf(stderr, "attach consumer: %s\n", strerror(-ret));
		exit(1);
	}
	while (got < NPROD * run->count) {
		int want = run->batch ? 1 + (int)(xs(&rs) % 32) :
					1 + (int)(xs(&rs) % 2);
		int n = pinshm_mpsc_peek_batch(&c, m, (unsigned int)want);

		if (n < 0) {
			snprintf(run->err, sizeof(run->err), "peek: %s",
				 strerror(-n));
			run->failed = 1;
			break;
		}
		if (n == 0) {
			sched_yield();
			continue;
		}
		for (i = 0; i < n; i++)
			if (check(run, &m[i], next)) {
				run->failed = 1;
				goto out;
			}
		got += (uint64_t)n;
		pinshm_mpsc_release(&c);
	}
out:
	pinshm_mpsc_detach(&c);
	return NULL;
}

static int one_run(const char *what, uint64_t count, int batch)
{
	char name[64];
	struct pinshm_region_opts o;
	struct run run = { .what = what, .count = count, .batch = batch };
	struct prod_arg pa[NPROD];
	pthread_t pt[NPROD], ct;
	struct pinshm_ring_stats s;
	unsigned int i;
	int ret;

	snprintf(name, sizeof(name), "tsan-mpsc-%d-%s", (int)getpid(), what);
	pinshm_region_opts_init(&o);
	o.size = RING_CAP + (64 << 10);
	o.backend = PINSHM_BACKEND_SHM;
	ret = pinshm_region_create(name, &o, &run.r);
	if (!ret)
		ret = pinshm_mpsc_create(run.r, "q", RING_CAP, 0);
	if (ret) {
		fprintf(stderr, "setup: %s\n", strerror(-ret));
		return 1;
	}
	pthread_create(&ct, NULL, consumer, &run);
	for (i = 0; i < NPROD; i++) {
		pa[i].run = &run;
		pa[i].id = i;
		pthread_create(&pt[i], NULL, producer, &pa[i]);
	}
	for (i = 0; i < NPROD; i++)
		pthread_join(pt[i], NULL);
	pthread_join(ct, NULL);
	pinshm_obj_stats(run.r, "q", &s);
	pinshm_region_close(run.r);
	pinshm_region_destroy(name, PINSHM_BACKEND_SHM);
	if (run.failed || s.msgs_out != NPROD * count || s.corrupt) {
		fprintf(stderr, "mpsc %s: FAILED: %s (out %llu)\n", what, run.err,
			(unsigned long long)s.msgs_out);
		return 1;
	}
	printf("mpsc %s: %u x %llu records ok, %llu full events\n", what, NPROD,
	       (unsigned long long)count, (unsigned long long)s.full_events);
	return 0;
}

int main(void)
{
	int fail = 0;

	fail |= one_run("single", 300000, 0);
	fail |= one_run("batch", 200000, 1);
	return fail;
}
