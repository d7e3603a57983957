// SPDX-License-Identifier: MIT
/*
 * The SPSC ring under ThreadSanitizer: a producer thread and a consumer
 * thread in one process, over ring "q" in a region of the shm backend
 * (laid out by the library: pinshm_region_create + pinshm_spsc_create).
 *
 * Two runs:
 *   single  3,000,000 records: claim/commit one at a time, peek/release one
 *           at a time (every few records the consumer holds a couple of
 *           peeks before releasing);
 *   batch   2,000,000 records: stage a random number (1..64) of records,
 *           then publish them at once; the consumer takes random
 *           peek_batch() sizes and releases once per batch.
 * Each record carries its sequence number in its first 8 bytes and a
 * pattern computed from it in the rest (8..200 bytes); the consumer checks
 * every byte, so a gap, duplicate or torn record fails the run.
 *
 * Any data race TSan reports is a real bug in the ring's ordering protocol
 * (pinshm/spsc.h, (A)..(E)): run with TSAN_OPTIONS=halt_on_error=1.
 * Exit status 0 when every check passed, 1 otherwise.
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

#define RING_CAP	(64u << 10)
#define MAX_LEN		200u
#define MAX_BATCH	64u

struct run {
	const char *what;
	struct pinshm_region *r;
	uint64_t count;
	int batch;		/* 0: one at a time; 1: staged batches */
	int failed;		/* written by the consumer, read after join */
	char err[256];
	uint64_t full_events;
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

static uint32_t rec_len(uint64_t seq)
{
	return 8 + (uint32_t)((seq * 0x9E3779B97F4A7C15ull >> 40) %
			      (MAX_LEN - 7));
}

static void fill(uint8_t *p, uint64_t seq, uint32_t len)
{
	uint32_t i;

	memcpy(p, &seq, 8);
	for (i = 8; i < len; i++)
		p[i] = (uint8_t)(seq * 29 + i);
}

static int check(struct run *run, const struct pinshm_msg *m, uint64_t want)
{
	const uint8_t *p = m->data;
	uint64_t seq;
	uint32_t i;

	if (m->len < 8 || m->len > MAX_LEN) {
		snprintf(run->err, sizeof(run->err),
			 "after seq %llu: a record of %u bytes",
			 (unsigned long long)want, m->len);
		return -1;
	}
	memcpy(&seq, p, 8);
	if (seq != want || m->len != rec_len(seq) || m->type != m->len) {
		snprintf(run->err, sizeof(run->err),
			 "expected seq %llu (len %u), got seq %llu len %u type %u",
			 (unsigned long long)want, rec_len(want),
			 (unsigned long long)seq, m->len, m->type);
		return -1;
	}
	for (i = 8; i < m->len; i++)
		if (p[i] != (uint8_t)(seq * 29 + i)) {
			snprintf(run->err, sizeof(run->err),
				 "seq %llu torn at byte %u",
				 (unsigned long long)seq, i);
			return -1;
		}
	return 0;
}

static void relax(unsigned int *spins)
{
	pinshm_cpu_relax();
	if (++*spins >= 128) {
		*spins = 0;
		sched_yield();
	}
}

static void *producer(void *arg)
{
	struct run *run = arg;
	struct pinshm_spsc p;
	uint64_t seq, rs = 12345;
	unsigned int spins = 0, staged = 0, batch = 1;
	void *d;
	int ret;

	ret = pinshm_spsc_attach(run->r, "q", PINSHM_PRODUCER, &p);
	if (ret) {
		fprintf(stderr, "producer attach: %s\n", strerror(-ret));
		exit(1);
	}
	for (seq = 0; seq < run->count; seq++) {
		uint32_t len = rec_len(seq);

		while ((ret = pinshm_spsc_claim(&p, len, &d)) == -EAGAIN) {
			if (staged) {	/* never wait holding a batch back */
				pinshm_spsc_publish(&p);
				staged = 0;
			}
			relax(&spins);
		}
		if (ret) {
			fprintf(stderr, "claim: %s\n", strerror(-ret));
			exit(1);
		}
		fill(d, seq, len);
		if (!run->batch) {
			pinshm_spsc_commit(&p, len, len);
			continue;
		}
		pinshm_spsc_stage(&p, len, len);
		if (++staged >= batch) {
			pinshm_spsc_publish(&p);
			staged = 0;
			batch = 1 + (unsigned int)(xs(&rs) % MAX_BATCH);
		}
	}
	run->full_events = p.full_events;
	pinshm_spsc_detach(&p);	/* publishes the last batch */
	return NULL;
}

static void *consumer(void *arg)
{
	struct run *run = arg;
	struct pinshm_spsc c;
	struct pinshm_msg m[MAX_BATCH];
	uint64_t next = 0, rs = 777;
	unsigned int spins = 0, held = 0;
	int n, i, ret;

	ret = pinshm_spsc_attach(run->r, "q", PINSHM_CONSUMER, &c);
	if (ret) {
		fprintf(stderr, "consumer attach: %s\n", strerror(-ret));
		exit(1);
	}
	while (next < run->count) {
		if (run->batch)
			n = pinshm_spsc_peek_batch(&c, m, 1 + (unsigned int)
						   (xs(&rs) % MAX_BATCH));
		else
			n = (ret = pinshm_spsc_peek(&c, &m[0])) == 0 ? 1 :
			    ret == -EAGAIN ? 0 : ret;
		if (n < 0) {
			snprintf(run->err, sizeof(run->err),
				 "peek at seq %llu: %s",
				 (unsigned long long)next, strerror(-n));
			run->failed = 1;
			break;
		}
		if (n == 0) {
			/* Give back what we hold before we wait. */
			pinshm_spsc_release(&c);
			held = 0;
			relax(&spins);
			continue;
		}
		for (i = 0; i < n; i++, next++)
			if (check(run, &m[i], next)) {
				run->failed = 1;
				goto out;
			}
		/* One at a time: hold up to three peeks now and then. */
		if (run->batch || ++held >= (next % 5 == 0 ? 3u : 1u)) {
			pinshm_spsc_release(&c);
			held = 0;
		}
	}
	pinshm_spsc_release(&c);
out:
	pinshm_spsc_detach(&c);
	return NULL;
}

static int run_one(struct run *run)
{
	struct pinshm_ring_stats s;
	pthread_t pt, ct;
	int ret;

	ret = pinshm_spsc_create(run->r, "q", RING_CAP, 0);
	if (ret) {
		fprintf(stderr, "spsc_create: %s\n", strerror(-ret));
		return 1;
	}
	if (pthread_create(&ct, NULL, consumer, run) ||
	    pthread_create(&pt, NULL, producer, run)) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	pthread_join(pt, NULL);
	pthread_join(ct, NULL);
	if (run->failed) {
		printf("FAIL %s: %s\n", run->what, run->err);
		return 1;
	}
	ret = pinshm_obj_stats(run->r, "q", &s);
	if (ret || s.msgs_in != run->count || s.msgs_out != run->count ||
	    s.bytes_in != s.bytes_out || s.head != s.tail || s.corrupt) {
		printf("FAIL %s: counters in %llu out %llu bytes %llu/%llu "
		       "head %llu tail %llu corrupt %llu (ret %d)\n", run->what,
		       (unsigned long long)s.msgs_in,
		       (unsigned long long)s.msgs_out,
		       (unsigned long long)s.bytes_in,
		       (unsigned long long)s.bytes_out,
		       (unsigned long long)s.head, (unsigned long long)s.tail,
		       (unsigned long long)s.corrupt, ret);
		return 1;
	}
	printf("ok %s: %llu records (8..%u bytes) in order, none torn; "
	       "%llu full events\n", run->what,
	       (unsigned long long)run->count, MAX_LEN,
	       (unsigned long long)run->full_events);
	return 0;
}

int main(void)
{
	struct pinshm_region_opts o;
	struct run runs[2] = {
		{ .what = "single (claim/commit, peek/release)",
		  .count = 3000000, .batch = 0 },
		{ .what = "batch (stage+publish, peek_batch)",
		  .count = 2000000, .batch = 1 },
	};
	char name[PINSHM_NAME_MAX];
	int i, ret, failed = 0;

	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "tsan-%d-%d", (int)getpid(), i);
		pinshm_region_opts_init(&o);
		o.size = RING_CAP + (64 << 10);
		o.backend = PINSHM_BACKEND_SHM;
		ret = pinshm_region_create(name, &o, &runs[i].r);
		if (ret) {
			fprintf(stderr, "create %s: %s\n", name, strerror(-ret));
			return 1;
		}
		failed |= run_one(&runs[i]);
		pinshm_region_close(runs[i].r);
		pinshm_region_destroy(name, PINSHM_BACKEND_SHM);
	}
	printf("%s\n", failed ? "FAIL" : "PASS");
	return failed;
}
