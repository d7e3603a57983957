// SPDX-License-Identifier: MIT
/*
 * The fan-in ring under ThreadSanitizer: NPROD producer threads, each on a
 * lane of its own, and one consumer thread, over ring "f" in a region of
 * the shm backend (pinshm_region_create + pinshm_fanin_create).
 *
 * Three runs:
 *   single  claim/commit one at a time; the consumer peeks one or a few
 *           records before releasing, and sleeps (PINSHM_WAIT_FUTEX recv)
 *           every so often, so the producers' kicks (W1) meet its sleeps
 *           (W2);
 *   batch   each producer stages a random number (1..64) of records, then
 *           publishes them at once; the consumer takes random peek_batch()
 *           sizes and releases once per batch;
 *   merged  producers as in single; the consumer merges the lanes by the
 *           u64 at offset 8 (pinshm_fanin_peek_merged(), looking first now
 *           and then), releases every few records, and sleeps in
 *           pinshm_fanin_wait() when every lane is empty.
 * Each record carries (producer << 48 | seq) in its first 8 bytes and a
 * pattern computed from it in the rest (8..200 bytes); the consumer checks
 * every byte and each producer's order, so a gap, duplicate, reordering
 * within a producer or torn record fails the run.
 *
 * Any data race TSan reports is a real bug in the ordering protocol
 * (pinshm/spsc.h (A)..(E) on each lane, wait.h (W1)/(W2) on the ring's one
 * queue): run with TSAN_OPTIONS=halt_on_error=1. Exit 0 when every check
 * passed, 1 otherwise.
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

#define LANE_CAP	(16u << 10)
#define NPROD		3u
#define MAX_LEN		200u
#define MAX_BATCH	64u

struct run {
	const char *what;
	struct pinshm_region *r;
	uint64_t count;		/* per producer */
	int batch;
	int merge;		/* consumer: merged by the u64 at offset 8 */
	int failed;		/* consumer's, read after join */
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

static uint32_t rec_len(uint64_t w)
{
	return 8 + (uint32_t)((w * 0x9E3779B97F4A7C15ull >> 40) %
			      (MAX_LEN - 7));
}

static void fill(uint8_t *p, uint64_t w, uint32_t len)
{
	uint32_t i;

	memcpy(p, &w, 8);
	for (i = 8; i < len; i++)
		p[i] = (uint8_t)(w * 31 + i);
}

static void *producer(void *arg)
{
	struct prod_arg *a = arg;
	struct run *run = a->run;
	struct pinshm_fanin p;
	uint64_t seq = 0, rnd = 0x1234 + a->id, w;
	unsigned int k, n;
	uint32_t len;
	void *dst;
	int ret;

	ret = pinshm_fanin_attach(run->r, "f", PINSHM_PRODUCER_ID((int)a->id),
				  &p);
	if (ret) {
		fprintf(stderr, "producer %u attach: %s\n", a->id,
			strerror(-ret));
		exit(1);
	}
	while (seq < run->count) {
		n = run->batch ? 1 + (unsigned int)(xs(&rnd) % MAX_BATCH) : 1;
		for (k = 0; k < n && seq < run->count; k++) {
			w = (uint64_t)a->id << 48 | seq;
			len = rec_len(w);
			ret = pinshm_fanin_claim(&p, len, &dst);
			if (ret == -EAGAIN)
				break;
			if (ret) {
				fprintf(stderr, "claim: %s\n", strerror(-ret));
				exit(1);
			}
			fill(dst, w, len);
			if (run->batch)
				pinshm_fanin_stage(&p, len, a->id);
			else
				pinshm_fanin_commit(&p, len, a->id);
			seq++;
		}
		if (run->batch)
			pinshm_fanin_publish(&p);
		if (k == 0)
			sched_yield();
	}
	pinshm_fanin_detach(&p);
	return NULL;
}

static int check(struct run *run, const struct pinshm_msg *m, unsigned int id,
		 uint64_t *next)
{
	uint64_t w, want;
	uint8_t buf[MAX_LEN];

	if (id >= NPROD || m->len < 8 || m->type != id) {
		snprintf(run->err, sizeof(run->err), "lane %u len %u type %u",
			 id, m->len, m->type);
		return 1;
	}
	memcpy(&w, m->data, 8);
	want = (uint64_t)id << 48 | next[id];
	if (w != want || m->len != rec_len(w)) {
		snprintf(run->err, sizeof(run->err),
			 "lane %u: got %llx want %llx (len %u)", id,
			 (unsigned long long)w, (unsigned long long)want,
			 m->len);
		return 1;
	}
	fill(buf, w, m->len);
	if (memcmp(buf, m->data, m->len)) {
		snprintf(run->err, sizeof(run->err), "lane %u seq %llu torn",
			 id, (unsigned long long)next[id]);
		return 1;
	}
	next[id]++;
	return 0;
}

/* The merged consumer: each record checked against its producer's order
 * (the key only picks which lane goes next). */
static void consume_merged(struct run *run, struct pinshm_fanin *c)
{
	struct pinshm_msg m;
	uint64_t next[NPROD] = { 0 }, got = 0, total = run->count * NPROD;
	uint64_t rnd = 77;
	unsigned int held = 0;
	int ret;

	while (got < total && !run->failed) {
		if (xs(&rnd) % 8 == 0) {
			ret = pinshm_fanin_look_merged(c, &m, 8, NULL);
			if (ret >= 0 && m.type != (uint32_t)ret) {
				snprintf(run->err, sizeof(run->err),
					 "look: lane %d type %u", ret, m.type);
				run->failed = 1;
				break;
			}
		}
		ret = pinshm_fanin_peek_merged(c, &m, 8, NULL);
		if (ret == -EAGAIN) {
			pinshm_fanin_release(c);
			held = 0;
			/* (W2) against the producers' kicks. */
			ret = pinshm_fanin_wait(c, 1000000);
			if (ret && ret != -ETIMEDOUT && ret != -ENOSYS &&
			    ret != -EOPNOTSUPP) {
				snprintf(run->err, sizeof(run->err),
					 "wait: %d", ret);
				run->failed = 1;
			}
			continue;
		}
		if (ret) {
			snprintf(run->err, sizeof(run->err), "merged: %d", ret);
			run->failed = 1;
			break;
		}
		run->failed = check(run, &m, c->id, next);
		got++;
		if (++held >= 1 + xs(&rnd) % 4) {
			pinshm_fanin_release(c);
			held = 0;
		}
	}
}

static void *consumer(void *arg)
{
	struct run *run = arg;
	struct pinshm_msg m[MAX_BATCH];
	struct pinshm_fanin c;
	uint64_t next[NPROD] = { 0 }, got = 0, total = run->count * NPROD;
	uint64_t rnd = 99;
	uint8_t buf[MAX_LEN];
	uint32_t type;
	unsigned int empty = 0;
	int n, i, ret;

	ret = pinshm_fanin_attach(run->r, "f", PINSHM_CONSUMER, &c);
	if (ret) {
		snprintf(run->err, sizeof(run->err), "attach: %d", ret);
		run->failed = 1;
		return NULL;
	}
	if (run->merge) {
		consume_merged(run, &c);
		pinshm_fanin_detach(&c);
		return NULL;
	}
	while (got < total && !run->failed) {
		if (!run->batch && xs(&rnd) % 512 == 0) {
			/* Sleep until a commit: (W2) against the kicks. */
			ret = pinshm_fanin_recv(&c, buf, sizeof(buf), &type,
						PINSHM_WAIT_FUTEX);
			if (ret < 0) {
				snprintf(run->err, sizeof(run->err),
					 "recv: %d", ret);
				run->failed = 1;
				break;
			}
			m[0] = (struct pinshm_msg){ buf, (uint32_t)ret, type };
			run->failed = check(run, &m[0], c.id, next);
			got++;
			continue;
		}
		n = pinshm_fanin_peek_batch(&c, m, run->batch ?
					    1 + (unsigned int)(xs(&rnd) % MAX_BATCH) :
					    1 + (unsigned int)(xs(&rnd) % 3));
		if (n < 0) {
			snprintf(run->err, sizeof(run->err), "peek: %d", n);
			run->failed = 1;
			break;
		}
		if (n == 0) {
			if (++empty % 64 == 0)
				sched_yield();
			continue;
		}
		/* Each peek's lane is c.id only for the last one: batches
		 * come from one lane at a time unless a burst ends, so
		 * check lanes by the type word (the producer's id). */
		for (i = 0; i < n && !run->failed; i++)
			run->failed = check(run, &m[i], m[i].type, next);
		got += (uint64_t)n;
		pinshm_fanin_release(&c);
	}
	pinshm_fanin_detach(&c);
	return NULL;
}

static int run_one(struct run *run)
{
	struct prod_arg pa[NPROD];
	struct pinshm_ring_stats s;
	pthread_t pt[NPROD], ct;
	unsigned int i;
	int ret;

	ret = pinshm_fanin_create(run->r, "f", NPROD, LANE_CAP, 0);
	if (ret) {
		fprintf(stderr, "fanin_create: %s\n", strerror(-ret));
		return 1;
	}
	if (pthread_create(&ct, NULL, consumer, run))
		return 1;
	for (i = 0; i < NPROD; i++) {
		pa[i] = (struct prod_arg){ run, i };
		if (pthread_create(&pt[i], NULL, producer, &pa[i]))
			return 1;
	}
	for (i = 0; i < NPROD; i++)
		pthread_join(pt[i], NULL);
	pthread_join(ct, NULL);
	if (run->failed) {
		printf("FAIL %s: %s\n", run->what, run->err);
		return 1;
	}
	ret = pinshm_obj_stats(run->r, "f", &s);
	if (ret || s.msgs_in != NPROD * run->count ||
	    s.msgs_out != NPROD * run->count || s.bytes_in != s.bytes_out ||
	    s.head != s.tail || s.corrupt) {
		printf("FAIL %s: counters in %llu out %llu corrupt %llu\n",
		       run->what, (unsigned long long)s.msgs_in,
		       (unsigned long long)s.msgs_out,
		       (unsigned long long)s.corrupt);
		return 1;
	}
	printf("ok %s: %u producers x %llu records, each in order, none "
	       "torn\n", run->what, NPROD, (unsigned long long)run->count);
	return 0;
}

int main(void)
{
	struct pinshm_region_opts o;
	struct run runs[3] = {
		{ .what = "single (claim/commit, peek/release, futex sleeps)",
		  .count = 300000, .batch = 0 },
		{ .what = "batch (stage+publish, peek_batch)",
		  .count = 300000, .batch = 1 },
		{ .what = "merged (claim/commit, peek_merged/look_merged, "
			  "waits)", .count = 100000, .merge = 1 },
	};
	char name[PINSHM_NAME_MAX];
	int i, ret, failed = 0;

	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "tsan-fi-%d-%d", (int)getpid(), i);
		pinshm_region_opts_init(&o);
		o.size = NPROD * (LANE_CAP + 4096) + (64 << 10);
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
