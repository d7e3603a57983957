// SPDX-License-Identifier: MIT
/*
 * Suite "spsc": the SPSC ring in one process — libshm/src/spsc.c (create,
 * attach, detach, last, stats) and the inline fast path of pinshm/spsc.h
 * (claim/stage/publish/commit, peek/peek_batch/release, send/recv).
 *
 * One process may hold both roles of a ring (each role once). Records
 * carry their sequence number in the type word and a payload computed from
 * it (t_pat), so every delivery is checked byte by byte.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "testutil.h"

static struct pinshm_region *g_r;
static const char *g_name;

static void spsc_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(spsc, .fini = spsc_fini, .timeout = 60);

/* A region holding ring "q"; returns the ring's max_record. */
static uint64_t mk_ring(uint64_t cap, uint64_t max_record)
{
	struct pinshm_obj_info info;

	g_r = t_create("spsc", cap + (64 << 10), &g_name);
	T_OK(pinshm_spsc_create(g_r, "q", cap, max_record));
	T_OK(pinshm_obj_find(g_r, "q", &info));
	return info.max_record;
}

static void attach2(struct pinshm_spsc *p, struct pinshm_spsc *c)
{
	if (p)
		T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, p));
	if (c)
		T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_CONSUMER, c));
}

static struct pinshm_ring_stats stats(void)
{
	struct pinshm_ring_stats s;

	T_OK(pinshm_obj_stats(g_r, "q", &s));
	return s;
}

/* Claim, fill and stage (not publish) record seq of len bytes. */
static int stage_seq(struct pinshm_spsc *p, uint64_t seq, uint32_t len)
{
	void *d = NULL;
	int ret = pinshm_spsc_claim(p, len, &d);

	if (ret)
		return ret;
	t_pat_fill(d, len, seq);
	pinshm_spsc_stage(p, len, (uint32_t)seq);
	return 0;
}

static int send_seq(struct pinshm_spsc *p, uint64_t seq, uint32_t len)
{
	int ret = stage_seq(p, seq, len);

	if (!ret)
		pinshm_spsc_publish(p);
	return ret;
}

static void check_msg(const struct pinshm_msg *m, uint64_t seq, uint32_t len)
{
	long bad;

	cr_assert_eq(m->type, (uint32_t)seq, "got record %u, expected %llu",
		     m->type, (unsigned long long)seq);
	cr_assert_eq(m->len, len, "record %llu: len %u, expected %u",
		     (unsigned long long)seq, m->len, len);
	bad = t_pat_check(m->data, m->len, seq);
	cr_assert_eq(bad, -1, "record %llu: byte %ld is wrong",
		     (unsigned long long)seq, bad);
}

/* Peek, check and release one record. */
static void expect_seq(struct pinshm_spsc *c, uint64_t seq, uint32_t len)
{
	struct pinshm_msg m = { 0 };

	T_OK(pinshm_spsc_peek(c, &m));
	check_msg(&m, seq, len);
	pinshm_spsc_release(c);
}

static void expect_empty(struct pinshm_spsc *c)
{
	struct pinshm_msg m = { 0 };

	T_ERR(pinshm_spsc_peek(c, &m), -EAGAIN);
}

Test(spsc, one_process_may_hold_both_roles)
{
	struct pinshm_spsc p, c;
	struct pinshm_ring_stats s;

	mk_ring(4096, 0);
	attach2(&p, &c);
	s = stats();
	cr_assert_eq(s.producer_pid, (uint32_t)getpid());
	cr_assert_eq(s.consumer_pid, (uint32_t)getpid());
	T_OK(send_seq(&p, 1, 10));
	expect_seq(&c, 1, 10);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
	s = stats();
	cr_assert_eq(s.producer_pid, 0);
	cr_assert_eq(s.consumer_pid, 0);
}

Test(spsc, the_default_max_record_is_a_quarter_of_the_capacity_less_16)
{
	cr_assert_eq(mk_ring(4096, 0), 4096 / 4 - 16);
}

Test(spsc, peek_on_an_empty_ring_gives_EAGAIN)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m[4];
	char buf[64];

	mk_ring(4096, 0);
	attach2(&p, &c);
	expect_empty(&c);
	cr_assert_eq(pinshm_spsc_peek_batch(&c, m, 4), 0);
	T_ERR(pinshm_spsc_recv(&c, buf, sizeof(buf), NULL, PINSHM_WAIT_NONE),
	      -EAGAIN);
	T_OK(send_seq(&p, 0, 5));
	expect_seq(&c, 0, 5);
	expect_empty(&c);
	pinshm_spsc_release(&c);	/* nothing peeked: a no-op */
	cr_assert_eq(stats().msgs_out, 1);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, delivers_records_in_order_with_their_type)
{
	struct pinshm_spsc p, c;
	uint64_t i;

	mk_ring(8192, 0);
	attach2(&p, &c);
	for (i = 0; i < 20; i++)
		T_OK(send_seq(&p, 100 + i, (uint32_t)(i * 17 % 200)));
	for (i = 0; i < 20; i++)
		expect_seq(&c, 100 + i, (uint32_t)(i * 17 % 200));
	expect_empty(&c);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, a_commit_may_shorten_the_claimed_record)
{
	struct pinshm_spsc p, c;
	void *d = NULL;

	mk_ring(4096, 0);
	attach2(&p, &c);
	T_OK(pinshm_spsc_claim(&p, 500, &d));
	t_pat_fill(d, 500, 7);
	pinshm_spsc_commit(&p, 3, 7);
	T_OK(send_seq(&p, 8, 4));
	expect_seq(&c, 7, 3);
	expect_seq(&c, 8, 4);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/*
 * Odd sizes never divide the buffer, so records keep landing near its end
 * and padding is needed over and over. The ring is kept nearly full so
 * that the producer waits on the consumer many times per lap.
 */
Test(spsc, wraps_around_many_laps_with_odd_sizes)
{
	struct pinshm_spsc p, c;
	struct pinshm_ring_stats s;
	uint64_t max, sent = 0, got = 0, bytes = 0, recbytes = 0, laps;
	struct pinshm_msg m = { 0 };
	uint64_t rs = 99;

	max = mk_ring(4096, 0);
	attach2(&p, &c);
	while (recbytes < 500 * 4096ull) {
		/* Fill until full... */
		for (;;) {
			uint32_t len = (uint32_t)(t_rand(&rs) % max) | 1;

			if (send_seq(&p, sent, len) == -EAGAIN)
				break;
			bytes += len;
			recbytes += __pinshm_rec_size(len);
			sent++;
		}
		/* ...then drain a random part of it. */
		for (laps = t_rand(&rs) % 8 + 1; laps && got < sent; laps--) {
			T_OK(pinshm_spsc_peek(&c, &m));
			cr_assert_eq(m.type, (uint32_t)got);
			cr_assert_eq(t_pat_check(m.data, m.len, got), -1,
				     "record %llu torn", (unsigned long long)got);
			pinshm_spsc_release(&c);
			got++;
		}
	}
	while (got < sent) {
		T_OK(pinshm_spsc_peek(&c, &m));
		cr_assert_eq(m.type, (uint32_t)got);
		cr_assert_eq(t_pat_check(m.data, m.len, got), -1);
		pinshm_spsc_release(&c);
		got++;
	}
	expect_empty(&c);
	s = stats();
	cr_assert_eq(s.msgs_in, sent);
	cr_assert_eq(s.msgs_out, sent);
	cr_assert_eq(s.bytes_in, bytes);
	cr_assert_eq(s.bytes_out, bytes);
	cr_assert_eq(s.head, s.tail);
	cr_assert_gt(s.tail, recbytes, "no padding was ever needed (tail %llu)",
		     (unsigned long long)s.tail);
	cr_assert_gt(s.tail / 4096, 400, "only %llu laps",
		     (unsigned long long)(s.tail / 4096));
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, claim_on_a_full_ring_gives_EAGAIN_and_counts_one_full_event)
{
	struct pinshm_spsc p, c;
	uint64_t n = 0, i;
	void *d = NULL;

	mk_ring(4096, 0);
	attach2(&p, &c);
	while (send_seq(&p, n, 100) == 0)
		n++;
	/* 112 bytes a record, and a free header after the last. */
	cr_assert_geq(n, (4096 - 8) / 112 - 1, "only %llu fit",
		      (unsigned long long)n);
	cr_assert_leq(n, 4096 / 112);
	cr_assert_eq(stats().full_events, 1);
	/* Asking again for the same message is not a new event. */
	for (i = 0; i < 10; i++)
		T_ERR(pinshm_spsc_claim(&p, 100, &d), -EAGAIN);
	{
		static const char x[100];

		T_ERR(pinshm_spsc_send(&p, x, 100, 0, PINSHM_WAIT_NONE), -EAGAIN);
	}
	cr_assert_eq(stats().full_events, 1);
	/*
	 * Space comes back in batches of PINSHM_SPSC_ZERO_BATCH bytes, here
	 * the 1024 this ring has beyond three largest records: the 11th
	 * release zeroes the first ten records (1120 bytes; the newest
	 * released one is kept), and only then does the next record fit,
	 * with its filler to the end of the buffer. Later the ring is full
	 * again: a second event.
	 */
	for (i = 0; send_seq(&p, n, 100) == -EAGAIN; i++) {
		cr_assert_lt(i, n, "no room after %llu releases",
			     (unsigned long long)i);
		expect_seq(&c, i, 100);
	}
	cr_assert_eq(i, 11, "room after %llu releases, want 11",
		     (unsigned long long)i);
	cr_assert_eq(stats().full_events, 1);
	while (send_seq(&p, ++n, 100) == 0)
		;
	cr_assert_eq(stats().full_events, 2);
	for (; i < n; i++)
		expect_seq(&c, i, 100);
	expect_empty(&c);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/* Interleaved: every size 0..max_record once, checked byte by byte. */
Test(spsc, every_record_size_from_0_to_max_record_arrives_intact)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m = { 0 };
	uint64_t max, len, next = 0, bytes = 0;

	max = mk_ring(16384, 0);
	cr_assert_eq(max, 16384 / 4 - 16);
	attach2(&p, &c);
	for (len = 0; len <= max; len++) {
		while (send_seq(&p, len, (uint32_t)len) == -EAGAIN) {
			/* Drain what is there, then retry. */
			while (pinshm_spsc_peek(&c, &m) == 0) {
				check_msg(&m, next, (uint32_t)next);
				next++;
			}
			pinshm_spsc_release(&c);
		}
		bytes += len;
	}
	while (pinshm_spsc_peek(&c, &m) == 0) {
		check_msg(&m, next, (uint32_t)next);
		next++;
	}
	pinshm_spsc_release(&c);
	cr_assert_eq(next, max + 1);
	cr_assert_eq(stats().bytes_out, bytes);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, a_record_larger_than_max_record_gives_EMSGSIZE)
{
	struct pinshm_spsc p, c;
	uint64_t max;
	void *d = NULL;
	static char big[4096];

	max = mk_ring(4096, 1000);
	cr_assert_eq(max, 1000);
	attach2(&p, &c);
	T_ERR(pinshm_spsc_claim(&p, 1001, &d), -EMSGSIZE);
	T_ERR(pinshm_spsc_claim(&p, UINT32_MAX, &d), -EMSGSIZE);
	T_ERR(pinshm_spsc_send(&p, big, 1001, 0, PINSHM_WAIT_SPIN), -EMSGSIZE);
	cr_assert_eq(stats().full_events, 0, "too big is not full");
	T_OK(send_seq(&p, 1, 1000));
	expect_seq(&c, 1, 1000);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, staged_records_are_invisible_until_publish)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m[16];
	uint64_t i;

	mk_ring(8192, 0);
	attach2(&p, &c);
	for (i = 0; i < 10; i++) {
		T_OK(stage_seq(&p, i, (uint32_t)(i * 11)));
		expect_empty(&c);
	}
	cr_assert_eq(stats().msgs_in, 0, "nothing published yet");
	pinshm_spsc_publish(&p);
	cr_assert_eq(stats().msgs_in, 10);
	cr_assert_eq(pinshm_spsc_peek_batch(&c, m, 16), 10);
	for (i = 0; i < 10; i++)
		check_msg(&m[i], i, (uint32_t)(i * 11));
	pinshm_spsc_release(&c);
	pinshm_spsc_publish(&p);	/* nothing staged: a no-op */
	expect_empty(&c);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/* commit() takes a short way for a lone record; after staged records or a
 * wrap filler it must still publish everything before it, in order. */
Test(spsc, a_commit_publishes_the_records_staged_before_it_and_any_filler)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m[8];
	uint64_t seq = 0, lap;
	void *d = NULL;
	int i, n;

	mk_ring(2048, 0);
	attach2(&p, &c);
	for (lap = 0; lap < 40; lap++) {
		/* 3 staged + 1 committed: 4 x 200 bytes, so the ring's end
		 * falls inside a group at varying places (filler first). */
		for (i = 0; i < 3; i++)
			T_OK(stage_seq(&p, seq + i, 192));
		expect_empty(&c);
		T_OK(pinshm_spsc_claim(&p, 192, &d));
		t_pat_fill(d, 192, seq + 3);
		pinshm_spsc_commit(&p, 192, (uint32_t)(seq + 3));
		n = pinshm_spsc_peek_batch(&c, m, 8);
		cr_assert_eq(n, 4, "lap %llu: %d records visible",
			     (unsigned long long)lap, n);
		for (i = 0; i < 4; i++)
			check_msg(&m[i], seq + i, 192);
		pinshm_spsc_release(&c);
		/* and a lone commit, now and then right after a filler */
		T_OK(pinshm_spsc_claim(&p, (uint32_t)(lap * 8 % 200), &d));
		t_pat_fill(d, (uint32_t)(lap * 8 % 200), seq + 4);
		pinshm_spsc_commit(&p, (uint32_t)(lap * 8 % 200),
				   (uint32_t)(seq + 4));
		expect_seq(&c, seq + 4, (uint32_t)(lap * 8 % 200));
		seq += 5;
	}
	cr_assert_eq(stats().msgs_in, seq);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, peek_batch_returns_at_most_n_and_one_release_frees_them_all)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m[8];
	struct pinshm_ring_stats s;
	uint64_t i;

	mk_ring(8192, 0);
	attach2(&p, &c);
	for (i = 0; i < 20; i++)
		T_OK(stage_seq(&p, i, 30));
	pinshm_spsc_publish(&p);
	cr_assert_eq(pinshm_spsc_peek_batch(&c, m, 8), 8);
	for (i = 0; i < 8; i++)
		check_msg(&m[i], i, 30);
	cr_assert_eq(pinshm_spsc_peek_batch(&c, m, 5), 5);
	for (i = 0; i < 5; i++)
		check_msg(&m[i], 8 + i, 30);
	s = stats();
	cr_assert_eq(s.msgs_out, 0, "peeked is not consumed");
	cr_assert_eq(s.head, 0);
	pinshm_spsc_release(&c);
	s = stats();
	cr_assert_eq(s.msgs_out, 13);
	cr_assert_eq(s.bytes_out, 13 * 30);
	cr_assert_eq(s.head, 13 * __pinshm_rec_size(30));
	cr_assert_eq(pinshm_spsc_peek_batch(&c, m, 8), 7);
	for (i = 0; i < 7; i++)
		check_msg(&m[i], 13 + i, 30);
	cr_assert_eq(pinshm_spsc_peek_batch(&c, m, 8), 0);
	pinshm_spsc_release(&c);
	cr_assert_eq(stats().msgs_out, 20);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/* A batch whose records straddle the end of the buffer (with a filler). */
Test(spsc, a_batch_that_wraps_is_delivered_whole)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m[128];
	uint64_t seq = 0, i, round;
	int n;

	mk_ring(4096, 0);
	attach2(&p, &c);
	for (round = 0; round < 200; round++) {
		uint64_t first = seq;
		uint32_t len = (uint32_t)(37 + round * 13 % 300);

		/* Stage as many as fit (the ring is empty: all of it). */
		while (stage_seq(&p, seq, len) == 0)
			seq++;
		cr_assert_gt(seq, first);
		expect_empty(&c);
		pinshm_spsc_publish(&p);
		n = pinshm_spsc_peek_batch(&c, m, 128);
		cr_assert_eq((uint64_t)n, seq - first, "round %llu: %d of %llu",
			     (unsigned long long)round, n,
			     (unsigned long long)(seq - first));
		for (i = 0; i < (uint64_t)n; i++)
			check_msg(&m[i], first + i, len);
		pinshm_spsc_release(&c);
	}
	cr_assert_gt(stats().tail, 100 * 4096ull);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, recv_with_a_short_buffer_gives_EMSGSIZE_and_keeps_the_record)
{
	struct pinshm_spsc p, c;
	uint8_t buf[200], want[100];
	uint32_t type = 0;

	mk_ring(4096, 0);
	attach2(&p, &c);
	T_OK(send_seq(&p, 5, 100));
	T_OK(send_seq(&p, 6, 10));
	T_ERR(pinshm_spsc_recv(&c, buf, 99, &type, PINSHM_WAIT_NONE),
	      -EMSGSIZE);
	T_ERR(pinshm_spsc_recv(&c, buf, 0, &type, PINSHM_WAIT_NONE),
	      -EMSGSIZE);
	cr_assert_eq(stats().msgs_out, 0);
	cr_assert_eq(pinshm_spsc_recv(&c, buf, 100, &type, PINSHM_WAIT_NONE),
		     100);
	cr_assert_eq(type, 5);
	t_pat_fill(want, 100, 5);
	cr_assert_arr_eq(buf, want, 100);
	cr_assert_eq(pinshm_spsc_recv(&c, buf, sizeof(buf), &type,
				      PINSHM_WAIT_SPIN), 10);
	cr_assert_eq(type, 6);
	cr_assert_eq(stats().msgs_out, 2);
	cr_assert_eq(stats().bytes_out, 110);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/* An EMSGSIZE in the middle of peeked records does not lose them. */
Test(spsc, recv_after_peeks_keeps_the_peeked_records_counted)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m = { 0 };
	uint8_t buf[8];

	mk_ring(4096, 0);
	attach2(&p, &c);
	T_OK(send_seq(&p, 1, 4));
	T_OK(send_seq(&p, 2, 50));
	T_OK(pinshm_spsc_peek(&c, &m));
	check_msg(&m, 1, 4);
	T_ERR(pinshm_spsc_recv(&c, buf, sizeof(buf), NULL, PINSHM_WAIT_NONE),
	      -EMSGSIZE);
	pinshm_spsc_release(&c);
	cr_assert_eq(stats().msgs_out, 1);
	cr_assert_eq(stats().bytes_out, 4);
	expect_seq(&c, 2, 50);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, send_and_recv_copy_whole_records)
{
	struct pinshm_spsc p, c;
	char out[64];
	uint32_t type;

	mk_ring(4096, 0);
	attach2(&p, &c);
	T_OK(pinshm_spsc_send(&p, "hello", 5, 42, PINSHM_WAIT_NONE));
	T_OK(pinshm_spsc_send(&p, "", 0, 43, PINSHM_WAIT_YIELD));
	cr_assert_eq(pinshm_spsc_recv(&c, out, sizeof(out), &type,
				      PINSHM_WAIT_NONE), 5);
	cr_assert_eq(type, 42);
	cr_assert_eq(memcmp(out, "hello", 5), 0);
	cr_assert_eq(pinshm_spsc_recv(&c, out, sizeof(out), &type,
				      PINSHM_WAIT_NONE), 0);
	cr_assert_eq(type, 43);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/*
 * Pin the calling thread to cpu (one the test may run on). No assert: this
 * runs in the test's own threads. Unpinned, the sender would have a CPU
 * to itself and spin on it: the test could only fail.
 */
static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct yield_test {
	struct pinshm_spsc *p;
	int cpu;
	_Atomic int started, stop, ret;
};

static void *spinner(void *arg)
{
	struct yield_test *y = arg;

	pin_to(y->cpu);
	while (!atomic_load(&y->stop))
		pinshm_cpu_relax();
	return NULL;
}

static void *blocked_sender(void *arg)
{
	struct yield_test *y = arg;
	char rec[56] = "blocked";

	pin_to(y->cpu);
	atomic_store(&y->started, 1);
	atomic_store(&y->ret, pinshm_spsc_send(y->p, rec, sizeof(rec), 7,
					       PINSHM_WAIT_FUTEX));
	return NULL;
}

/*
 * Nobody wakes a producer, so PINSHM_WAIT_FUTEX makes it yield on a full
 * ring: sharing one CPU with a busy thread, it takes a sliver of the CPU
 * (spinning took about half), and it still sends once there is room.
 */
Test(spsc, a_producer_waiting_with_WAIT_FUTEX_on_a_full_ring_yields_the_cpu)
{
	struct yield_test y = { 0 };
	struct pinshm_spsc p, c;
	struct pinshm_msg m;
	char rec[56] = { 0 };
	pthread_t ts, tx;
	clockid_t clk;
	cpu_set_t set;
	struct timespec a, b;
	uint64_t w0, w1, n = 0;
	double frac;

	mk_ring(4096, 0);
	attach2(&p, &c);
	while (pinshm_spsc_send(&p, rec, sizeof(rec), 0, PINSHM_WAIT_NONE) == 0)
		n++;
	cr_assert_gt(n, 0);
	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (y.cpu = 0; !CPU_ISSET(y.cpu, &set); y.cpu++)
		;
	y.p = &p;
	atomic_store(&y.ret, 1);
	cr_assert_eq(pthread_create(&tx, NULL, spinner, &y), 0);
	cr_assert_eq(pthread_create(&ts, NULL, blocked_sender, &y), 0);
	while (!atomic_load(&y.started))
		usleep(1000);
	usleep(20000);
	cr_assert_eq(pthread_getcpuclockid(ts, &clk), 0);
	clock_gettime(clk, &a);
	w0 = t_now_ns(CLOCK_MONOTONIC);
	usleep(300000);
	clock_gettime(clk, &b);
	w1 = t_now_ns(CLOCK_MONOTONIC);
	frac = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) /
	       (double)(w1 - w0);
	cr_assert_eq(atomic_load(&y.ret), 1, "send returned on a full ring");
	/* Room comes back once the consumer has zeroed a batch. */
	while (atomic_load(&y.ret) == 1) {
		T_OK(pinshm_spsc_peek(&c, &m));
		pinshm_spsc_release(&c);
		n--;
		usleep(1000);
	}
	cr_assert_eq(pthread_join(ts, NULL), 0);
	atomic_store(&y.stop, 1);
	cr_assert_eq(pthread_join(tx, NULL), 0);
	cr_assert_eq(atomic_load(&y.ret), 0);
	cr_assert_lt(frac, 0.15, "the waiting producer took %.0f%% of its CPU",
		     frac * 100);
	/* n records of the fill are left, then the blocked one. */
	while (n > 0 && pinshm_spsc_peek(&c, &m) == 0)
		n--;
	cr_assert_eq(n, 0);
	T_OK(pinshm_spsc_peek(&c, &m));
	cr_assert_eq(pinshm_spsc_peek(&c, &m), -EAGAIN);
	cr_assert_eq(m.type, 7, "the blocked record arrives last");
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, counters_track_messages_and_bytes_both_ways)
{
	struct pinshm_spsc p, c;
	struct pinshm_ring_stats s;
	uint64_t i, bin = 0, bout = 0, tail = 0;

	mk_ring(8192, 0);
	attach2(&p, &c);
	s = stats();
	cr_assert_eq(s.msgs_in + s.msgs_out + s.bytes_in + s.bytes_out +
		     s.full_events + s.corrupt + s.head + s.tail, 0);
	for (i = 0; i < 30; i++) {
		T_OK(send_seq(&p, i, (uint32_t)i * 3));
		bin += i * 3;
		tail += __pinshm_rec_size((uint32_t)i * 3);
	}
	for (i = 0; i < 12; i++) {
		expect_seq(&c, i, (uint32_t)i * 3);
		bout += i * 3;
	}
	s = stats();
	cr_assert_eq(s.msgs_in, 30);
	cr_assert_eq(s.bytes_in, bin);
	cr_assert_eq(s.msgs_out, 12);
	cr_assert_eq(s.bytes_out, bout);
	cr_assert_eq(s.tail, tail);
	cr_assert_eq(s.full_events, 0);
	cr_assert_eq(s.corrupt, 0);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
	s = stats();
	cr_assert_eq(s.msgs_in, 30, "counters survive detach");
	cr_assert_eq(s.msgs_out, 12);
}

/* Peeked records still occupy the ring: the producer cannot reuse them. */
Test(spsc, peeked_records_hold_their_space_until_release)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m = { 0 };
	uint64_t n = 0, i;

	mk_ring(4096, 0);
	attach2(&p, &c);
	while (send_seq(&p, n, 200) == 0)
		n++;
	for (i = 0; i < n; i++) {
		T_OK(pinshm_spsc_peek(&c, &m));
		check_msg(&m, i, 200);
	}
	T_ERR(send_seq(&p, n, 200), -EAGAIN);
	pinshm_spsc_release(&c);
	T_OK(send_seq(&p, n, 200));
	expect_seq(&c, n, 200);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/* Bytes [from, to) of the ring's buffer are all zero. */
static bool buf_zero(const struct pinshm_spsc *c, uint64_t from, uint64_t to)
{
	for (; from < to; from++)
		if (c->buf[from & c->mask])
			return false;
	return true;
}

/*
 * Released space is zeroed when the consumer finds nothing to read (the
 * older half, once PINSHM_SPSC_ZERO_BATCH bytes are pending), or by a
 * release once zero_batch are (all of it), and never while records are
 * peeked but unreleased: an empty peek then leaves them, and the space,
 * as they are.
 */
Test(spsc, released_space_is_zeroed_by_an_empty_peek_or_a_full_batch)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m = { 0 };
	uint64_t n = 0, i, z;

	/* 64 KiB and records of 256 bytes: zero_batch is ZERO_MAX. */
	mk_ring(65536, 1024);
	attach2(&p, &c);
	cr_assert_eq(c.zero_batch, PINSHM_SPSC_ZERO_MAX);
	for (; n < 24; n++)
		T_OK(send_seq(&p, n, 248));
	for (i = 0; i < 24; i++)
		expect_seq(&c, i, 248);
	/* 23 records pending: more than ZERO_BATCH, less than ZERO_MAX. */
	cr_assert_eq(PINSHM_READ_ONCE(c.sh->zeroed), 0);
	cr_assert(!buf_zero(&c, 0, 8));
	expect_empty(&c);
	z = PINSHM_SPSC_ZERO_BATCH / 2;
	cr_assert_eq(PINSHM_READ_ONCE(c.sh->zeroed), z);
	cr_assert(buf_zero(&c, 0, z));
	cr_assert(!buf_zero(&c, z, z + 8), "a record past the half kept");
	/* Less than ZERO_BATCH left: the next empty peek leaves it. */
	expect_empty(&c);
	cr_assert_eq(PINSHM_READ_ONCE(c.sh->zeroed), z);

	/* Two records peeked, not released: an empty peek zeroes nothing. */
	for (; n < 36; n++)
		T_OK(send_seq(&p, n, 248));
	for (; i < 34; i++)
		expect_seq(&c, i, 248);
	T_OK(pinshm_spsc_peek(&c, &m));
	check_msg(&m, 34, 248);
	T_OK(pinshm_spsc_peek(&c, &m));
	expect_empty(&c);
	cr_assert_eq(PINSHM_READ_ONCE(c.sh->zeroed), z);
	cr_assert(!buf_zero(&c, 34 * 256, 34 * 256 + 8));
	check_msg(&m, 35, 248);
	pinshm_spsc_release(&c);
	i = 36;
	/* 35 * 256 - 2048 pending: empty peeks zero two halves, no more. */
	expect_empty(&c);
	expect_empty(&c);
	expect_empty(&c);
	z += PINSHM_SPSC_ZERO_BATCH;
	cr_assert_eq(PINSHM_READ_ONCE(c.sh->zeroed), z);
	cr_assert(buf_zero(&c, 0, z));
	cr_assert(!buf_zero(&c, 35 * 256, 35 * 256 + 8), "the newest kept");

	/* Never empty: the release that finds ZERO_MAX pending zeroes all
	 * (35 * 256 - z pending now: 32 records later, at the latest). */
	while (PINSHM_READ_ONCE(c.sh->zeroed) == z) {
		cr_assert_lt(i, 36 + 32, "nothing zeroed by release");
		T_OK(send_seq(&p, n++, 248));
		expect_seq(&c, i++, 248);
	}
	cr_assert_eq(PINSHM_READ_ONCE(c.sh->zeroed), (i - 1) * 256);
	cr_assert(buf_zero(&c, z, (i - 1) * 256));
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/*
 * Detach, re-attach: the producer continues after the last published
 * record, the consumer from the last release (peeked but unreleased
 * records come again); nothing lost, nothing delivered twice once
 * released.
 */
Test(spsc, detach_then_reattach_continues_from_the_committed_positions)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m = { 0 };
	uint64_t i;

	mk_ring(4096, 0);
	attach2(&p, &c);
	for (i = 0; i < 10; i++)
		T_OK(send_seq(&p, i, 40));
	for (i = 0; i < 4; i++)
		expect_seq(&c, i, 40);
	/* Two peeked, not released. */
	T_OK(pinshm_spsc_peek(&c, &m));
	T_OK(pinshm_spsc_peek(&c, &m));
	/* Three staged: detach publishes them. */
	for (i = 10; i < 13; i++)
		T_OK(stage_seq(&p, i, 40));
	T_OK(pinshm_spsc_detach(&p));
	cr_assert_eq(stats().msgs_in, 13);
	T_OK(pinshm_spsc_detach(&c));

	attach2(&p, &c);
	for (i = 13; i < 16; i++)
		T_OK(send_seq(&p, i, 40));
	/* detach of the consumer released its peeks (it said so). */
	for (i = 6; i < 16; i++)
		expect_seq(&c, i, 40);
	expect_empty(&c);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
	/* Many cycles in the wrapped state. */
	for (i = 16; i < 400; i++) {
		attach2(&p, NULL);
		T_OK(send_seq(&p, i, (uint32_t)(i % 97)));
		T_OK(pinshm_spsc_detach(&p));
		attach2(NULL, &c);
		expect_seq(&c, i, (uint32_t)(i % 97));
		T_OK(pinshm_spsc_detach(&c));
	}
}

Test(spsc, a_second_live_producer_or_consumer_gets_EBUSY)
{
	struct pinshm_spsc p, c, x;
	pid_t pid;

	mk_ring(4096, 0);
	attach2(&p, &c);
	T_ERR(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &x), -EBUSY);
	T_ERR(pinshm_spsc_attach(g_r, "q", PINSHM_CONSUMER, &x), -EBUSY);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_spsc y;

		t_child_init();
		if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r))
			_exit(2);
		if (pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &y) != -EBUSY)
			_exit(3);
		if (pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &y) != -EBUSY)
			_exit(4);
		pinshm_region_close(r);
		_exit(0);
	}
	T_CHILD_OK(pid);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &x));
	T_OK(pinshm_spsc_detach(&x));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, last_returns_the_last_committed_record)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m = { 0 };

	mk_ring(4096, 0);
	attach2(&p, &c);
	T_ERR(pinshm_spsc_last(&p, &m), -ENOENT);
	T_ERR(pinshm_spsc_last(&c, &m), -EPERM);
	T_OK(send_seq(&p, 1, 30));
	T_OK(send_seq(&p, 2, 31));
	T_OK(pinshm_spsc_last(&p, &m));
	check_msg(&m, 2, 31);
	T_OK(pinshm_spsc_detach(&p));
	attach2(&p, NULL);
	T_OK(pinshm_spsc_last(&p, &m));
	check_msg(&m, 2, 31);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/*
 * The usual restart: the consumer has drained the ring before the new
 * producer attaches. The last record is still in the buffer (nobody
 * overwrote it), so `pinshm pub --seq` can resume after it.
 */
Test(spsc, last_survives_a_consumer_that_drained_the_ring)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m = { 0 };
	uint64_t i;

	mk_ring(4096, 0);
	attach2(&p, &c);
	for (i = 1; i <= 3; i++)
		T_OK(send_seq(&p, i, 30));
	T_OK(pinshm_spsc_detach(&p));
	for (i = 1; i <= 3; i++)
		expect_seq(&c, i, 30);
	attach2(&p, NULL);
	T_OK(pinshm_spsc_last(&p, &m));
	check_msg(&m, 3, 30);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/*
 * A producer that dies mid-message: published records stay, the claimed
 * one and a staged batch never appear, a new producer takes the role over
 * and its first record follows the last committed one.
 */
Test(spsc, a_dead_producers_uncommitted_records_are_never_delivered)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m = { 0 };
	int how;

	for (how = 0; how < 2; how++) {
		pid_t pid;
		uint64_t base = (uint64_t)how * 100;

		if (!g_r)
			mk_ring(4096, 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			struct pinshm_region *r;
			struct pinshm_spsc y;
			uint64_t i;
			void *d = NULL;

			t_child_init();
			if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
			    pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &y))
				_exit(2);
			for (i = 0; i < 3; i++)
				if (send_seq(&y, base + i, 60))
					_exit(3);
			if (how == 0) {
				/* Claimed and written, never committed. */
				if (pinshm_spsc_claim(&y, 60, &d))
					_exit(4);
				t_pat_fill(d, 60, base + 3);
			} else {
				/* A staged batch, never published. */
				for (i = 3; i < 8; i++)
					if (stage_seq(&y, base + i, 60))
						_exit(5);
			}
			_exit(0);	/* no detach: dies holding the role */
		}
		T_CHILD_OK(pid);
		if (how == 0)
			attach2(NULL, &c);
		expect_seq(&c, base + 0, 60);
		expect_seq(&c, base + 1, 60);
		expect_seq(&c, base + 2, 60);
		expect_empty(&c);
		/* The role of the dead is taken over. */
		attach2(&p, NULL);
		T_OK(pinshm_spsc_last(&p, &m));
		check_msg(&m, base + 2, 60);
		T_OK(send_seq(&p, base + 3, 20));
		T_OK(send_seq(&p, base + 4, 21));
		expect_seq(&c, base + 3, 20);
		expect_seq(&c, base + 4, 21);
		expect_empty(&c);
		T_OK(pinshm_spsc_detach(&p));
	}
	T_OK(pinshm_spsc_detach(&c));
}

/*
 * A producer killed between publishing a record (A) and storing the tail
 * hint (E) leaves sh->tail behind the published records. We make that
 * state by hand: the restarted producer must walk over them, not write on
 * top of them.
 */
Test(spsc, a_restarted_producer_walks_past_records_published_after_the_tail_hint)
{
	struct pinshm_spsc p, c;
	struct pinshm_spsc_shared *sh;
	struct pinshm_msg m = { 0 };
	uint64_t i, stale_tail, stale_last, stale_msgs, stale_bytes;

	mk_ring(4096, 0);
	attach2(&p, &c);
	sh = t_ring_hdr(g_r, "q");
	for (i = 0; i < 2; i++)
		T_OK(send_seq(&p, i, 50));
	stale_tail = sh->tail;
	stale_last = sh->last;
	stale_msgs = sh->msgs_in;
	stale_bytes = sh->bytes_in;
	for (i = 2; i < 5; i++)
		T_OK(send_seq(&p, i, 50));
	T_OK(pinshm_spsc_detach(&p));
	/* (A) done for records 2..4, (E) and the counters not. */
	sh->tail = stale_tail;
	sh->last = stale_last;
	sh->msgs_in = stale_msgs;
	sh->bytes_in = stale_bytes;

	attach2(&p, NULL);
	T_OK(pinshm_spsc_last(&p, &m));
	check_msg(&m, 4, 50);
	T_OK(send_seq(&p, 5, 50));
	for (i = 0; i < 6; i++)
		expect_seq(&c, i, 50);
	expect_empty(&c);
	cr_assert_eq(stats().msgs_in, 6, "the walk counts what it found");
	cr_assert_eq(stats().bytes_in, 6 * 50);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/*
 * Likewise when the consumer already ate what the hint does not cover:
 * the last record is then the newest released one (sh->rlast; the
 * released records below it are not even zeroed yet, see spsc.h).
 */
Test(spsc, a_restarted_producer_trusts_a_consumer_ahead_of_the_tail_hint)
{
	struct pinshm_spsc p, c;
	struct pinshm_spsc_shared *sh;
	struct pinshm_msg m = { 0 };
	uint64_t i, stale_tail, stale_last;

	mk_ring(4096, 0);
	attach2(&p, &c);
	sh = t_ring_hdr(g_r, "q");
	T_OK(send_seq(&p, 0, 50));
	stale_tail = sh->tail;
	stale_last = sh->last;
	for (i = 1; i < 5; i++)
		T_OK(send_seq(&p, i, 50));
	T_OK(pinshm_spsc_detach(&p));
	sh->tail = stale_tail;
	sh->last = stale_last;
	for (i = 0; i < 5; i++)
		expect_seq(&c, i, 50);
	cr_assert_eq(sh->zeroed, 0, "5 records of 64 bytes: nothing zeroed");
	attach2(&p, NULL);
	T_OK(pinshm_spsc_last(&p, &m));
	check_msg(&m, 4, 50);
	T_OK(send_seq(&p, 5, 50));
	expect_seq(&c, 5, 50);
	expect_empty(&c);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, a_consumer_role_left_by_a_dead_process_is_taken_over)
{
	struct pinshm_spsc p, c;
	uint64_t i;
	pid_t pid;

	mk_ring(4096, 0);
	attach2(&p, NULL);
	for (i = 0; i < 6; i++)
		T_OK(send_seq(&p, i, 8));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_spsc y;
		struct pinshm_msg m = { 0 };

		t_child_init();
		if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
		    pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &y))
			_exit(2);
		/* Release two, peek two more, die. */
		for (i = 0; i < 4; i++) {
			if (pinshm_spsc_peek(&y, &m) || m.type != i)
				_exit(3);
			if (i == 1)
				pinshm_spsc_release(&y);
		}
		_exit(0);
	}
	T_CHILD_OK(pid);
	attach2(NULL, &c);
	/* The two peeked but unreleased come again. */
	for (i = 2; i < 6; i++)
		expect_seq(&c, i, 8);
	expect_empty(&c);
	cr_assert_eq(stats().msgs_out, 6);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

Test(spsc, attach_to_a_missing_ring_or_with_a_bad_role_fails)
{
	struct pinshm_spsc x;

	mk_ring(4096, 0);
	T_ERR(pinshm_spsc_attach(g_r, "nope", PINSHM_PRODUCER, &x), -ENOENT);
	T_ERR(pinshm_spsc_attach(g_r, "q", 0, &x), -EINVAL);
	T_ERR(pinshm_spsc_attach(g_r, "q", 3, &x), -EINVAL);
	T_ERR(pinshm_spsc_attach(g_r, "bad/name", PINSHM_CONSUMER, &x),
	      -EINVAL);
}

Test(spsc, attach_on_a_read_only_region_gives_EACCES)
{
	struct pinshm_region *ro;
	struct pinshm_spsc x;
	struct pinshm_ring_stats s;

	mk_ring(4096, 0);
	T_OK(pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &ro));
	T_ERR(pinshm_spsc_attach(ro, "q", PINSHM_PRODUCER, &x), -EACCES);
	T_ERR(pinshm_spsc_attach(ro, "q", PINSHM_CONSUMER, &x), -EACCES);
	/* Reading the counters needs no role and no write access. */
	T_OK(pinshm_obj_stats(ro, "q", &s));
	cr_assert_eq(s.producer_pid, 0);
	T_OK(pinshm_region_close(ro));
}

Test(spsc, detach_twice_is_an_error_not_a_crash)
{
	struct pinshm_spsc p;

	mk_ring(4096, 0);
	attach2(&p, NULL);
	T_OK(pinshm_spsc_detach(&p));
	T_ERR(pinshm_spsc_detach(&p), -EINVAL);
	cr_assert_eq(stats().producer_pid, 0);
}

/* 3 * (max_record + 16) <= capacity: the largest record always fits. */
Test(spsc, a_ring_of_the_largest_record_size_takes_one_after_another)
{
	struct pinshm_spsc p, c;
	uint64_t max, i;

	max = mk_ring(4096, 4096 / 3 - 16);
	cr_assert_eq(max, 1349);
	attach2(&p, &c);
	for (i = 0; i < 12; i++) {	/* wraps, with fillers */
		T_OK(send_seq(&p, i, 1349));
		expect_seq(&c, i, 1349);
	}
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}
