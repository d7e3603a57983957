// SPDX-License-Identifier: MIT
/*
 * Suite "mpsc": the MPSC ring in one process (several producer slots and
 * the consumer) and its crash recovery with forked producers —
 * libshm/src/mpsc.c and the inline paths of pinshm/mpsc.h.
 *
 * Records carry a sequence number in the type word and a payload computed
 * from it (t_pat), so every delivery is checked byte by byte. Crash windows
 * that a kill -9 cannot hit on purpose (right after the CAS, between the
 * intent and the CAS, a consumer between its zeroing steps) are made by
 * hand in a child that then dies, exactly as the library's stores would
 * have left them.
 */
#include <sched.h>

#include "testutil.h"

static struct pinshm_region *g_r;
static const char *g_name;

static void mpsc_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(mpsc, .fini = mpsc_fini, .timeout = 60);

static uint64_t mk_ring(uint64_t cap, uint64_t max_record)
{
	static int nr;
	struct pinshm_obj_info info;
	char tag[16];

	snprintf(tag, sizeof(tag), "mpsc%d", nr++);
	g_r = t_create(tag, cap + (64 << 10), &g_name);
	T_OK(pinshm_mpsc_create(g_r, "q", cap, max_record));
	T_OK(pinshm_obj_find(g_r, "q", &info));
	cr_assert_eq(info.type, PINSHM_OBJ_MPSC);
	return info.max_record;
}

static struct pinshm_mpsc_shared *hdr(struct pinshm_region *r)
{
	struct pinshm_obj_info info;

	T_OK(pinshm_obj_find(r, "q", &info));
	return (struct pinshm_mpsc_shared *)((uint8_t *)pinshm_region_data(r) +
					     info.offset);
}

static uint32_t *len_at(struct pinshm_region *r, uint64_t pos)
{
	struct pinshm_mpsc_shared *sh = hdr(r);

	return (uint32_t *)((uint8_t *)sh + PINSHM_MPSC_HDR_SIZE +
			    (pos & (sh->capacity - 1)));
}

static struct pinshm_ring_stats stats(void)
{
	struct pinshm_ring_stats s;

	T_OK(pinshm_obj_stats(g_r, "q", &s));
	return s;
}

static int send_seq(struct pinshm_mpsc *p, uint64_t seq, uint32_t len)
{
	void *d = NULL;
	int ret = pinshm_mpsc_claim(p, len, &d);

	if (ret)
		return ret;
	t_pat_fill(d, len, seq);
	pinshm_mpsc_commit(p, len, (uint32_t)seq);
	return 0;
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

static void expect_seq(struct pinshm_mpsc *c, uint64_t seq,
		       uint32_t len)
{
	struct pinshm_msg m = { 0 };

	T_OK(pinshm_mpsc_peek(c, &m));
	check_msg(&m, seq, len);
	pinshm_mpsc_release(c);
}

static void expect_type(struct pinshm_mpsc *c, uint32_t type)
{
	struct pinshm_msg m = { 0 };

	T_OK(pinshm_mpsc_peek(c, &m));
	cr_assert_eq(m.type, type);
	pinshm_mpsc_release(c);
}

static void expect_empty(struct pinshm_mpsc *c)
{
	struct pinshm_msg m = { 0 };

	T_ERR(pinshm_mpsc_peek(c, &m), -EAGAIN);
}

/* ---------------------------------------------------------------- */

Test(mpsc, create_checks_capacity_and_max_record)
{
	g_r = t_create("mpsc", 1 << 20, &g_name);
	T_ERR(pinshm_mpsc_create(g_r, "a", 1000, 0), -EINVAL);
	T_ERR(pinshm_mpsc_create(g_r, "a", 512, 0), -EINVAL);
	T_ERR(pinshm_mpsc_create(g_r, "a", 4096, 4096 / 2 - 7), -EINVAL);
	T_OK(pinshm_mpsc_create(g_r, "a", 4096, 4096 / 2 - 8));
	T_ERR(pinshm_mpsc_create(g_r, "a", 4096, 0), -EEXIST);
	T_ERR(pinshm_mpsc_create(g_r, "b", 1ULL << 30, 0), -EINVAL);
	T_ERR(pinshm_mpsc_create(g_r, "c", 1 << 20, 0), -ENOSPC);
	T_ERR(pinshm_mpsc_create(NULL, "c", 4096, 0), -EINVAL);
}

Test(mpsc, peek_on_an_empty_ring_gives_EAGAIN)
{
	struct pinshm_mpsc c;
	struct pinshm_msg m;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	T_ERR(pinshm_mpsc_peek(&c, &m), -EAGAIN);
	T_ERR(pinshm_mpsc_peek_batch(&c, &m, 1), 0);
	T_ERR(pinshm_mpsc_recv(&c, &m, sizeof(m), NULL, PINSHM_WAIT_NONE), -EAGAIN);
	T_OK(pinshm_mpsc_recover(&c));
	T_OK(pinshm_mpsc_detach(&c));
}

/*
 * A consumer that peeked a whole full ring without releasing came back to
 * its own first record and called the healthy ring corrupt. Found by the
 * CLI's tail on a 4 KiB ring with two full-speed producers.
 */
Test(mpsc, peeking_a_whole_full_ring_without_release_gives_EAGAIN)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	struct pinshm_ring_stats st;
	struct pinshm_msg m;
	int n = 0, k = 0, ret;
	void *d;

	mk_ring(1024, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	while ((ret = pinshm_mpsc_claim(&p, 56, &d)) == 0) {
		memset(d, n, 56);
		pinshm_mpsc_commit(&p, 56, (uint32_t)n);
		n++;
	}
	T_ERR(ret, -EAGAIN);
	cr_assert_eq(n, 1024 / 64, "a full ring holds %d records", n);
	while ((ret = pinshm_mpsc_peek(&c, &m)) == 0) {
		cr_assert_eq(m.type, (uint32_t)k);
		k++;
	}
	T_ERR(ret, -EAGAIN);
	cr_assert_eq(k, n);
	T_OK(pinshm_obj_stats(g_r, "q", &st));
	cr_assert_eq(st.corrupt, 0);
	pinshm_mpsc_release(&c);
	T_OK(pinshm_mpsc_claim(&p, 56, &d));	/* room again */
	pinshm_mpsc_commit(&p, 56, 99);
	T_OK(pinshm_mpsc_peek(&c, &m));
	cr_assert_eq(m.type, 99);
	T_OK(pinshm_mpsc_detach(&p));
	T_OK(pinshm_mpsc_detach(&c));
}

Test(mpsc, records_of_two_producers_arrive_in_claim_order_with_their_type)
{
	struct pinshm_mpsc a, b;
	struct pinshm_mpsc c;
	void *da = NULL, *db = NULL;
	uint64_t i;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER, &a));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER, &b));
	cr_assert_eq(a.id, 0);
	cr_assert_eq(b.id, 1);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	for (i = 0; i < 10; i += 2) {
		T_OK(send_seq(&a, i, 10 + (uint32_t)i));
		T_OK(send_seq(&b, i + 1, 11 + (uint32_t)i));
	}
	for (i = 0; i < 10; i++)
		expect_seq(&c, i, 10 + (uint32_t)i);
	expect_empty(&c);
	/* A later claim committed first waits behind an earlier one. */
	T_OK(pinshm_mpsc_claim(&a, 5, &da));
	T_OK(pinshm_mpsc_claim(&b, 6, &db));
	t_pat_fill(db, 6, 21);
	pinshm_mpsc_commit(&b, 6, 21);
	expect_empty(&c);
	t_pat_fill(da, 5, 20);
	pinshm_mpsc_commit(&a, 5, 20);
	expect_seq(&c, 20, 5);
	expect_seq(&c, 21, 6);
	T_OK(pinshm_mpsc_detach(&a));
	T_OK(pinshm_mpsc_detach(&b));
	T_OK(pinshm_mpsc_detach(&c));
}

Test(mpsc, a_commit_may_shorten_the_claimed_record)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	void *d = NULL;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	T_OK(pinshm_mpsc_claim(&p, 200, &d));
	t_pat_fill(d, 3, 1);
	pinshm_mpsc_commit(&p, 3, 1);
	T_OK(send_seq(&p, 2, 17));
	expect_seq(&c, 1, 3);
	expect_seq(&c, 2, 17);
	expect_empty(&c);
}

Test(mpsc, wraps_around_many_laps_with_odd_sizes_and_padding)
{
	struct pinshm_mpsc p[3];
	struct pinshm_mpsc c;
	uint64_t seq, rs = 7, next = 0, pads = 0, before;
	unsigned int i;

	mk_ring(1024, 0);
	for (i = 0; i < 3; i++)
		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID((int)i), &p[i]));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	for (seq = 0; seq < 20000; seq++) {
		uint32_t len = (uint32_t)(t_rand(&rs) % 200);
		uint64_t t = hdr(g_r)->tail;
		int ret;

		while ((ret = send_seq(&p[seq % 3], seq, len)) == -EAGAIN) {
			struct pinshm_msg m;

			T_OK(pinshm_mpsc_peek(&c, &m));
			cr_assert_eq(m.type, (uint32_t)next);
			check_msg(&m, next, m.len);
			next++;
			pinshm_mpsc_release(&c);
		}
		T_OK(ret);
		/* A record that would cross the end starts the next lap. */
		before = t & 1023;
		if (before + 8 + ((len + 7) & ~7u) > 1024) {
			cr_assert_eq(hdr(g_r)->tail & 1023, 8 + ((len + 7) & ~7u));
			pads++;
		}
	}
	while (next < seq) {
		struct pinshm_msg m;

		T_OK(pinshm_mpsc_peek(&c, &m));
		check_msg(&m, next, m.len);
		next++;
		pinshm_mpsc_release(&c);
	}
	expect_empty(&c);
	cr_assert_gt(pads, 100);
	cr_assert_eq(stats().corrupt, 0);
	cr_assert_eq(stats().msgs_in, 20000);
	cr_assert_eq(stats().msgs_out, 20000);
}

Test(mpsc, claim_on_a_full_ring_gives_EAGAIN_and_counts_one_full_event)
{
	struct pinshm_mpsc p, q;
	struct pinshm_mpsc c;
	void *d = NULL;
	uint64_t n = 0;
	int i;

	mk_ring(1024, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(1), &q));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	while (send_seq(&p, n, 56) == 0)
		n++;
	cr_assert_eq(n, 1024 / 64, "a 1 KiB ring holds 16 64-byte records");
	for (i = 0; i < 10; i++)
		T_ERR(pinshm_mpsc_claim(&p, 56, &d), -EAGAIN);
	T_ERR(pinshm_mpsc_claim(&q, 0, &d), -EAGAIN);
	cr_assert_eq(stats().full_events, 2, "once per refused message");
	cr_assert_eq(hdr(g_r)->prod[0].full_events, 1);
	cr_assert_eq(hdr(g_r)->prod[1].full_events, 1);
	/* Peeked but unreleased space is still taken; released space comes
	 * back once the consumer's zeroing lag (256 bytes here) is reached. */
	{
		struct pinshm_msg m;

		T_OK(pinshm_mpsc_peek(&c, &m));
		T_ERR(pinshm_mpsc_claim(&q, 0, &d), -EAGAIN);
		cr_assert_eq(stats().full_events, 2);
		pinshm_mpsc_release(&c);
		T_ERR(pinshm_mpsc_claim(&q, 0, &d), -EAGAIN);
		for (i = 1; i < 4; i++)
			expect_seq(&c, (uint64_t)i, 56);
	}
	for (i = 0; i < 4; i++)
		T_OK(send_seq(&q, n + (uint64_t)i, 56));
	/* p is still retrying the message refused before: no new event. */
	T_ERR(pinshm_mpsc_claim(&p, 56, &d), -EAGAIN);
	cr_assert_eq(stats().full_events, 2);
	for (i = 4; i < (int)n + 4; i++)
		expect_seq(&c, (uint64_t)i, 56);
	expect_empty(&c);
	T_OK(send_seq(&p, 100, 56));
	expect_seq(&c, 100, 56);
	cr_assert_eq(pinshm_mpsc_send(&p, "x", 1, 1, PINSHM_WAIT_NONE), 0);
}

Test(mpsc, every_record_size_from_0_to_max_record_arrives_intact)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	uint64_t max = mk_ring(4096, 0);
	uint32_t len;

	cr_assert_eq(max, 4096 / 4 - 8);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	for (len = 0; len <= max; len++) {
		T_OK(send_seq(&p, len, len));
		expect_seq(&c, len, len);
	}
	/* The largest allowed max_record (half the ring) works too. */
	pinshm_region_close(g_r);
	g_r = NULL;
	max = mk_ring(1024, 1024 / 2 - 8);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	for (len = 0; len < 50; len++) {
		T_OK(send_seq(&p, len, (uint32_t)max - len % 3));
		expect_seq(&c, len, (uint32_t)max - len % 3);
	}
}

Test(mpsc, a_record_larger_than_max_record_gives_EMSGSIZE)
{
	struct pinshm_mpsc p;
	void *d = NULL;
	uint64_t max = mk_ring(4096, 100);
	uint32_t lens[3] = { 100, 100, 100 };
	void *outs[3];

	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_ERR(pinshm_mpsc_claim(&p, (uint32_t)max + 1, &d), -EMSGSIZE);
	T_ERR(pinshm_mpsc_claim(&p, UINT32_MAX, &d), -EMSGSIZE);
	T_OK(pinshm_mpsc_claim_batch(&p, 3, lens, outs));
	T_ERR(pinshm_mpsc_claim(&p, 1, &d), -EINVAL);	/* one at a time */
	T_OK(pinshm_mpsc_abort(&p));
	T_ERR(pinshm_mpsc_claim_batch(&p, 0, lens, outs), -EINVAL);
	T_ERR(pinshm_mpsc_claim_batch(&p, PINSHM_MPSC_BATCH_MAX + 1, lens,
				      outs), -EINVAL);
	cr_assert_eq(stats().full_events, 0);
}

Test(mpsc, a_batch_above_batch_max_gives_EMSGSIZE)
{
	struct pinshm_mpsc p;
	uint32_t lens[8];
	void *outs[8];
	int i;

	/* 1 KiB, max_record 248: the consumer zeroes every 256 bytes, so a
	 * claim may take (1024 - 256) / 2 = 384 bytes. */
	mk_ring(1024, 0);
	for (i = 0; i < 8; i++)
		lens[i] = 56;
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	cr_assert_eq(pinshm_mpsc_batch_max(&p), 384);
	T_OK(pinshm_mpsc_claim_batch(&p, 6, lens, outs));	/* 384 */
	T_OK(pinshm_mpsc_abort(&p));
	lens[5] = 57;
	T_ERR(pinshm_mpsc_claim_batch(&p, 6, lens, outs), -EMSGSIZE);
	T_OK(pinshm_mpsc_detach(&p));

	/* The largest max_record leaves no room for a lag: half the ring. */
	T_OK(pinshm_mpsc_create(g_r, "q2", 1024, 512 - 8));
	T_OK(pinshm_mpsc_attach(g_r, "q2", PINSHM_PRODUCER_ID(0), &p));
	cr_assert_eq(pinshm_mpsc_batch_max(&p), 512);
	lens[5] = 56;
	T_OK(pinshm_mpsc_claim_batch(&p, 8, lens, outs));	/* 512 */
	T_OK(pinshm_mpsc_abort(&p));
	lens[7] = 57;
	T_ERR(pinshm_mpsc_claim_batch(&p, 8, lens, outs), -EMSGSIZE);
}

/*
 * The zeroing lag never starves a producer: once the consumer has caught
 * up, a claim of pinshm_mpsc_batch_max() bytes fits wherever the tail is
 * (the filler at the wrap included), for every ring shape.
 */
Test(mpsc, a_claim_of_batch_max_fits_whenever_the_consumer_has_caught_up)
{
	static const uint64_t caps[] = { 1024, 4096, 16384 };
	unsigned int k, step;

	g_r = t_create("mpscz", 1 << 20, &g_name);

	for (k = 0; k < 3; k++) {
		uint64_t cap = caps[k], maxes[3] = { 0, cap / 2 - 8, 100 };
		unsigned int v;

		for (v = 0; v < 3; v++) {
			struct pinshm_mpsc p;
			struct pinshm_mpsc c;
			struct pinshm_msg m[64];
			char name[16];
			uint32_t lens[64], types[64] = { 0 };
			void *outs[64];
			uint64_t bmax;
			unsigned int n, i;
			int got;

			snprintf(name, sizeof(name), "z%u%u", k, v);
			T_OK(pinshm_mpsc_create(g_r, name, cap, maxes[v]));
			T_OK(pinshm_mpsc_attach(g_r, name, PINSHM_PRODUCER_ID(0), &p));
			T_OK(pinshm_mpsc_attach(g_r, name, PINSHM_CONSUMER, &c));
			bmax = pinshm_mpsc_batch_max(&p);
			/* n records filling bmax: 8-byte headers, payloads of
			 * up to max_record, the last one taking the rest. */
			for (step = 0; step < 3 * cap / 8; step++) {
				uint64_t left = bmax, mr = p.max_record;

				for (n = 0; left >= 8 && n < 64; n++) {
					uint64_t l = left - 8 > mr ? mr : left - 8;

					if (n < 63 && l > 40 + step % 50)
						l = 40 + step % 50;
					l &= ~7ULL;
					lens[n] = (uint32_t)l;
					left -= 8 + l;
				}
				T_OK(pinshm_mpsc_claim_batch(&p, n, lens, outs));
				pinshm_mpsc_commit_batch(&p, lens, types);
				for (i = 0; i < n; i += (unsigned int)got) {
					got = pinshm_mpsc_peek_batch(&c, m, 64);
					cr_assert_gt(got, 0);
				}
				pinshm_mpsc_release(&c);
				/* Small records, each released alone, move the
				 * wrap point along and leave up to a lag of
				 * released bytes not zeroed yet. */
				for (i = 0; i < step % 37; i++) {
					T_OK(send_seq(&p, i, i % 3 * 8));
					expect_seq(&c, i, i % 3 * 8);
				}
			}
			T_OK(pinshm_mpsc_detach(&p));
			T_OK(pinshm_mpsc_detach(&c));
		}
	}
}

Test(mpsc, batches_are_delivered_whole_across_the_wrap_and_peek_batch_boundaries)
{
	struct pinshm_mpsc p, q;
	struct pinshm_mpsc c;
	struct pinshm_msg m[PINSHM_MPSC_BATCH_MAX];
	uint64_t seq = 0, next = 0, rs = 3;
	int round;

	mk_ring(2048, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(7), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(63), &q));
	cr_assert_eq(q.id, 63);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	for (round = 0; round < 3000; round++) {
		struct pinshm_mpsc *x = round & 1 ? &q : &p;
		unsigned int n = 1 + (unsigned int)(t_rand(&rs) % 12), i;
		uint32_t lens[12], types[12];
		void *outs[12];
		int got, k;

		for (i = 0; i < n; i++)
			lens[i] = (uint32_t)(t_rand(&rs) % 60);
		while (pinshm_mpsc_claim_batch(x, n, lens, outs) == -EAGAIN) {
			/* Drain in peek_batch pieces of 1..5. */
			unsigned int want = 1 + (unsigned int)(t_rand(&rs) % 5);

			got = pinshm_mpsc_peek_batch(&c, m, want);
			cr_assert_gt(got, 0);
			cr_assert_leq(got, (int)want);
			for (k = 0; k < got; k++)
				check_msg(&m[k], next + (uint64_t)k, m[k].len);
			next += (uint64_t)got;
			pinshm_mpsc_release(&c);
		}
		for (i = 0; i < n; i++) {
			t_pat_fill(outs[i], lens[i], seq + i);
			types[i] = (uint32_t)(seq + i);
			/* Committing shorter is allowed per record. */
			if (i == 1 && lens[i] > 4)
				lens[i] -= 4;
		}
		pinshm_mpsc_commit_batch(x, lens, types);
		seq += n;
	}
	for (;;) {
		int got = pinshm_mpsc_peek_batch(&c, m, PINSHM_MPSC_BATCH_MAX), k;

		cr_assert_geq(got, 0);
		if (got == 0)
			break;
		for (k = 0; k < got; k++)
			check_msg(&m[k], next + (uint64_t)k, m[k].len);
		next += (uint64_t)got;
		pinshm_mpsc_release(&c);
	}
	cr_assert_eq(next, seq);
	cr_assert_eq(stats().msgs_out, seq);
}

Test(mpsc, recv_with_a_short_buffer_gives_EMSGSIZE_and_keeps_the_record)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	char buf[64];
	uint32_t type = 0;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	T_OK(pinshm_mpsc_send(&p, "hello, world", 12, 9, PINSHM_WAIT_SPIN));
	T_ERR(pinshm_mpsc_recv(&c, buf, 5, &type, PINSHM_WAIT_NONE), -EMSGSIZE);
	cr_assert_eq(pinshm_mpsc_recv(&c, buf, sizeof(buf), &type,
				      PINSHM_WAIT_YIELD), 12);
	cr_assert_eq(type, 9);
	cr_assert_eq(memcmp(buf, "hello, world", 12), 0);
	cr_assert_eq(stats().msgs_out, 1);
	cr_assert_eq(stats().bytes_out, 12);
	cr_assert_eq(stats().bytes_in, 12);
}

Test(mpsc, the_consumer_zeroes_what_it_releases)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	struct pinshm_mpsc_shared *sh;
	uint8_t *buf;
	unsigned int i;

	mk_ring(1024, 0);
	sh = hdr(g_r);
	buf = (uint8_t *)sh + PINSHM_MPSC_HDR_SIZE;
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	/* 1 KiB ring: it zeroes once 256 released bytes are pending. */
	for (i = 1; i <= 4; i++)
		T_OK(send_seq(&p, i, 100));
	expect_seq(&c, 1, 100);
	expect_seq(&c, 2, 100);
	cr_assert_eq(sh->head, 224);
	cr_assert_eq(sh->zeroed, 0, "2 x 112 bytes: not yet");
	cr_assert_neq(buf[0], 0);
	expect_seq(&c, 3, 100);
	cr_assert_eq(sh->head, 336);
	cr_assert_eq(sh->zeroed, 336);
	for (i = 0; i < 336; i++)
		cr_assert_eq(buf[i], 0, "byte %u not zeroed", i);
	cr_assert_neq(buf[336], 0);
}

/*
 * Released bytes below the zeroing lag still hold old records: a ring
 * filled up to zeroed + capacity must end there for the consumer too, or
 * it would deliver a record of the last lap again.
 */
Test(mpsc, a_ring_filled_up_to_the_unzeroed_bytes_delivers_nothing_twice)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	struct pinshm_mpsc_shared *sh;
	struct pinshm_msg m;
	uint64_t n = 2, i;

	mk_ring(1024, 0);
	sh = hdr(g_r);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	T_OK(send_seq(&p, 0, 56));
	T_OK(send_seq(&p, 1, 56));
	expect_seq(&c, 0, 56);
	expect_seq(&c, 1, 56);
	cr_assert_eq(sh->head, 128);
	cr_assert_eq(sh->zeroed, 0, "128 bytes released: below the lag");
	while (send_seq(&p, n, 56) == 0)
		n++;
	cr_assert_eq(sh->tail, 1024, "up to zeroed + capacity");
	for (i = 2; i < n; i++) {
		T_OK(pinshm_mpsc_peek(&c, &m));
		check_msg(&m, i, 56);
	}
	T_ERR(pinshm_mpsc_peek(&c, &m), -EAGAIN);
	cr_assert_eq(pinshm_mpsc_wait(&c, 0), 0, "peek has its answer");
	cr_assert_eq(pinshm_mpsc_recover(&c), 0);
	pinshm_mpsc_release(&c);
	cr_assert_eq(sh->zeroed, 1024);
	expect_empty(&c);
	T_OK(send_seq(&p, n, 56));
	expect_seq(&c, n, 56);
	cr_assert_eq(stats().corrupt, 0);
}

Test(mpsc, the_producer_table_holds_64_and_ids_are_checked)
{
	struct pinshm_mpsc p[PINSHM_MPSC_PRODUCERS + 1];
	int i;

	mk_ring(4096, 0);
	T_ERR(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(PINSHM_MPSC_PRODUCERS), &p[0]),
	      -EINVAL);
	T_ERR(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(-2), &p[0]), -EINVAL);
	T_ERR(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), NULL), -EINVAL);
	T_ERR(pinshm_mpsc_attach(g_r, "nope", PINSHM_PRODUCER_ID(0), &p[0]), -ENOENT);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(5), &p[0]));
	T_ERR(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(5), &p[1]), -EBUSY);
	for (i = 1; i < PINSHM_MPSC_PRODUCERS; i++)
		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER, &p[i]));
	T_ERR(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER, &p[64]), -ENOSPC);
	T_OK(pinshm_mpsc_detach(&p[10]));
	T_ERR(pinshm_mpsc_detach(&p[10]), -EINVAL);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER, &p[64]));
	cr_assert_eq(p[64].id, p[10].id);
}

Test(mpsc, a_second_consumer_gets_EBUSY_and_read_only_regions_EACCES)
{
	struct pinshm_mpsc c, d;
	struct pinshm_mpsc p;
	struct pinshm_region *ro;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	T_ERR(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &d), -EBUSY);
	T_OK(pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &ro));
	T_ERR(pinshm_mpsc_attach(ro, "q", PINSHM_CONSUMER, &d), -EACCES);
	T_ERR(pinshm_mpsc_attach(ro, "q", PINSHM_PRODUCER_ID(0), &p), -EACCES);
	pinshm_region_close(ro);
	T_OK(pinshm_spsc_create(g_r, "s", 4096, 0));
	T_ERR(pinshm_mpsc_attach(g_r, "s", PINSHM_PRODUCER_ID(0), &p), -EPROTOTYPE);
}

/* ---------------------------------------------------------------- */
/* Crash recovery                                                    */
/* ---------------------------------------------------------------- */

struct sync {
	_Atomic int stage;
	_Atomic uint64_t pos;
};

/* Child: open, take slot id; -> region and producer. */
static void child_attach(struct pinshm_region **r,
			 struct pinshm_mpsc *y, int id)
{
	int ret;

	t_child_init();
	if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, r))
		_exit(2);
	while ((ret = pinshm_mpsc_attach(*r, "q", PINSHM_PRODUCER_ID(id), y)) == -EAGAIN)
		usleep(1000);
	if (ret)
		_exit(3);
}

static void wait_stage(struct sync *s, int stage)
{
	uint64_t end = t_now_ns(CLOCK_MONOTONIC) + 10000000000ull;

	while (atomic_load(&s->stage) < stage) {
		cr_assert_lt(t_now_ns(CLOCK_MONOTONIC), end, "child stuck");
		usleep(100);
	}
}

static void kill_wait(pid_t pid)
{
	kill(pid, SIGKILL);
	t_wait(pid);
}

/*
 * mode 0: claim and write, never commit (header CLAIMED);
 * mode 1: killed right after winning the CAS (header still 0);
 * mode 2: a batch of 3, the first committed, then killed;
 * mode 3: a claim that wraps, killed after the CAS.
 */
static pid_t fork_stuck_producer(struct sync *s, int id, int mode)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_mpsc y;
		void *d = NULL;

		child_attach(&r, &y, id);
		if (mode == 0) {
			if (pinshm_mpsc_claim(&y, 40, &d))
				_exit(4);
			t_pat_fill(d, 40, 999);
		} else if (mode == 1 || mode == 3) {
			/* What claim does up to and including its CAS. */
			struct pinshm_mpsc_shared *sh = y.sh;
			uint64_t t = sh->tail, sz = 48;

			if (mode == 3)
				sz = y.cap - (t & y.mask) + 48;
			y.slot->intent_size = sz;
			pinshm_store_release(&y.slot->intent_pos, t);
			if (!atomic_compare_exchange_strong(
				    (_Atomic uint64_t *)&sh->tail, &t, t + sz))
				_exit(5);
		} else {
			uint32_t lens[3] = { 8, 8, 8 }, types[1] = { 500 };
			void *outs[3];

			if (pinshm_mpsc_claim_batch(&y, 3, lens, outs))
				_exit(6);
			t_pat_fill(outs[0], 8, 500);
			/* Commit only the first, as commit_batch would. */
			__pinshm_mpsc_commit_one(&y, y.claim_pos, y.csize[0], 8,
						 types[0]);
		}
		atomic_store(&s->stage, 1);
		pause();
		_exit(0);
	}
	wait_stage(s, 1);
	return pid;
}

Test(mpsc, a_dead_producers_claim_becomes_padding_only_after_its_death_is_recorded)
{
	int mode;

	for (mode = 0; mode < 4; mode++) {
		struct pinshm_mpsc p;
		struct pinshm_mpsc c;
		struct sync *s = t_shared_alloc(sizeof(*s));
		struct pinshm_msg m;
		uint64_t stuck;
		uint32_t before;
		pid_t pid;
		int i;

		if (g_r) {
			pinshm_region_close(g_r);
			g_r = NULL;
		}
		mk_ring(1024, 0);
		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
		/* Move to 976, so that the child claims at 1000 and wraps. */
		if (mode == 3) {
			for (i = 0; i < 3; i++) {
				T_OK(send_seq(&p, 0, 248));
				expect_seq(&c, 0, 248);
			}
			T_OK(send_seq(&p, 0, 200));
			expect_seq(&c, 0, 200);
		}
		T_OK(send_seq(&p, 1, 16));
		pid = fork_stuck_producer(s, 9, mode);
		T_OK(send_seq(&p, 2, 16));
		expect_seq(&c, 1, 16);
		if (mode == 2)
			expect_seq(&c, 500, 8);
		stuck = c.rpos;
		before = *len_at(g_r, stuck);
		/* Alive: never padded, whatever the consumer tries. */
		for (i = 0; i < 3; i++) {
			T_ERR(pinshm_mpsc_peek(&c, &m), -EAGAIN);
			T_OK(pinshm_mpsc_recover(&c));
		}
		kill(pid, SIGSTOP);
		T_OK(pinshm_mpsc_recover(&c));
		cr_assert_eq(*len_at(g_r, stuck), before);
		/* Dead, but the metadata does not say so yet: still waits. */
		kill_wait(pid);
		T_ERR(pinshm_mpsc_peek(&c, &m), -EAGAIN);
		cr_assert_eq(*len_at(g_r, stuck), before);
		cr_assert_eq(stats().recoveries, 0);
		/* The death is recorded: the next peek pads and moves on. */
		cr_assert_gt(pinshm_region_recover(g_r), 0);
		T_OK(pinshm_mpsc_peek(&c, &m));
		check_msg(&m, 2, 16);
		pinshm_mpsc_release(&c);
		expect_empty(&c);
		cr_assert_eq(stats().recoveries, 1, "mode %d", mode);
		cr_assert_eq(stats().corrupt, 0);
		cr_assert_eq(hdr(g_r)->rec_pad[9], stuck);
		/* The ring works on, over the recovered space. */
		for (i = 0; i < 100; i++) {
			T_OK(send_seq(&p, 10 + (uint64_t)i, 30));
			expect_seq(&c, 10 + (uint64_t)i, 30);
		}
		T_OK(pinshm_mpsc_detach(&c));
		T_OK(pinshm_mpsc_detach(&p));
	}
}

Test(mpsc, a_producer_that_closed_the_region_holding_a_claim_is_padded)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	pid_t pid;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_mpsc y;
		void *d = NULL;

		child_attach(&r, &y, 8);
		if (pinshm_mpsc_claim(&y, 24, &d))
			_exit(4);
		pinshm_region_close(r);		/* DETACHED: unmapped for good */
		pause();			/* alive, but can never write */
		_exit(0);
	}
	/* Wait until the child's claim is there and it has detached. */
	while (hdr(g_r)->tail == 0)
		usleep(100);
	T_OK(send_seq(&p, 1, 16));
	for (;;) {
		struct pinshm_meta m;
		unsigned int i;
		bool attached = false;

		T_OK(pinshm_region_meta(g_r, &m));
		for (i = 0; i < PINSHM_MAX_ATTACH; i++)
			if (m.attach[i].tgid == (uint32_t)pid &&
			    m.attach[i].state == PINSHM_ST_ATTACHED)
				attached = true;
		if (!attached)
			break;
		usleep(100);
	}
	cr_assert_eq(pinshm_mpsc_recover(&c), 1);
	expect_seq(&c, 1, 16);
	kill_wait(pid);
}

Test(mpsc, recover_pads_a_dead_claim_when_called_explicitly)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	struct sync *s = t_shared_alloc(sizeof(*s));
	pid_t pid;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	pid = fork_stuck_producer(s, 3, 0);
	T_OK(send_seq(&p, 1, 16));
	expect_empty(&c);
	kill_wait(pid);
	cr_assert_eq(pinshm_mpsc_recover(&c), 1);
	expect_seq(&c, 1, 16);
	cr_assert_eq(pinshm_mpsc_recover(&c), 0);
}

Test(mpsc, a_live_stopped_producer_is_never_padded_and_finishes_later, .timeout = 30)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	struct sync *s = t_shared_alloc(sizeof(*s));
	struct pinshm_msg m;
	pid_t pid;
	int i;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_mpsc y;
		void *d = NULL;

		child_attach(&r, &y, 4);
		if (pinshm_mpsc_claim(&y, 40, &d))
			_exit(4);
		t_pat_fill(d, 40, 77);
		atomic_store(&s->stage, 1);
		raise(SIGSTOP);		/* "slow": stopped mid-record */
		pinshm_mpsc_commit(&y, 40, 77);
		pinshm_mpsc_detach(&y);
		pinshm_region_close(r);
		_exit(0);
	}
	wait_stage(s, 1);
	T_OK(send_seq(&p, 78, 8));
	/* Many misses (past the periodic check) and explicit recovery. */
	for (i = 0; i < 3 * (int)PINSHM_MPSC_RECOVER_POLLS; i++)
		T_ERR(pinshm_mpsc_peek(&c, &m), -EAGAIN);
	for (i = 0; i < 5; i++) {
		pinshm_region_recover(g_r);
		T_OK(pinshm_mpsc_recover(&c));
	}
	cr_assert_eq(stats().recoveries, 0);
	kill(pid, SIGCONT);
	T_CHILD_OK(pid);
	expect_seq(&c, 77, 40);
	expect_seq(&c, 78, 8);
}

Test(mpsc, an_intent_without_a_claim_is_never_padded)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	pid_t pid;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	T_OK(send_seq(&p, 1, 16));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_mpsc y;

		child_attach(&r, &y, 2);
		/* Killed between the intent and the CAS. */
		y.slot->intent_size = 64;
		pinshm_store_release(&y.slot->intent_pos, y.sh->tail);
		_exit(0);
	}
	T_CHILD_OK(pid);
	pinshm_region_recover(g_r);
	expect_seq(&c, 1, 16);
	T_OK(pinshm_mpsc_recover(&c));
	/* Our live producer now claims that very position: it is ours. */
	{
		void *d = NULL;

		T_OK(pinshm_mpsc_claim(&p, 32, &d));
		T_OK(pinshm_mpsc_recover(&c));
		T_OK(pinshm_mpsc_recover(&c));
		t_pat_fill(d, 32, 2);
		pinshm_mpsc_commit(&p, 32, 2);
	}
	expect_seq(&c, 2, 32);
	cr_assert_eq(stats().recoveries, 0);
	/* The dead slot is taken over at once: its intent was never a claim. */
	{
		struct pinshm_mpsc z;

		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(2), &z));
		T_OK(send_seq(&z, 3, 8));
		expect_seq(&c, 3, 8);
	}
}

/*
 * Two producers killed at one position, both with their intent at the tail
 * t (sizes 32 and 64), one after its CAS, the other before (or after a
 * failed one): the header at t stays 0 and the intents disagree. After
 * them: a live producer's record (follow 0), nothing (1), or a third
 * producer killed after its own CAS, before its header (2).
 */
enum { FOLLOW_RECORD, FOLLOW_NOTHING, FOLLOW_DEAD_CLAIM };

static void killed_together(int winner, int follow)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	struct pinshm_mpsc_shared *sh;
	uint64_t t, wsize = winner ? 64 : 32;
	pid_t pid;
	int k;

	mk_ring(4096, 0);
	sh = hdr(g_r);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	t = sh->tail;
	for (k = 0; k < 3; k++) {
		if (k == 2 && follow != FOLLOW_DEAD_CLAIM)
			break;
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			struct pinshm_region *r;
			struct pinshm_mpsc y;

			child_attach(&r, &y, 10 + k);
			y.slot->intent_size = k == 2 ? 48 : k ? 64 : 32;
			pinshm_store_release(&y.slot->intent_pos,
					     k == 2 ? t + wsize : t);
			if (k == winner || k == 2)	/* won the CAS, died */
				atomic_fetch_add((_Atomic uint64_t *)&sh->tail,
						 y.slot->intent_size);
			_exit(0);
		}
		T_CHILD_OK(pid);
	}
	if (follow != FOLLOW_NOTHING)
		T_OK(send_seq(&p, 1, 8));
	pinshm_region_recover(g_r);
	T_ERR(pinshm_mpsc_recover(&c), follow == FOLLOW_DEAD_CLAIM ? 2 : 1);
	cr_assert_eq(stats().recoveries, follow == FOLLOW_DEAD_CLAIM ? 2 : 1);
	if (follow == FOLLOW_NOTHING)
		T_OK(send_seq(&p, 1, 8));
	expect_seq(&c, 1, 8);
	expect_empty(&c);
	cr_assert_eq(stats().corrupt, 0);
	/* Nothing was delivered twice, and the live producer goes on. */
	T_OK(send_seq(&p, 2, 8));
	expect_seq(&c, 2, 8);
}

Test(mpsc, two_producers_killed_at_one_position_the_larger_claim_won)
{
	killed_together(1, FOLLOW_RECORD);
}

Test(mpsc, two_producers_killed_at_one_position_the_smaller_claim_won)
{
	killed_together(0, FOLLOW_RECORD);
}

Test(mpsc, two_producers_killed_at_one_position_with_nothing_after)
{
	killed_together(1, FOLLOW_NOTHING);
	killed_together(0, FOLLOW_NOTHING);
}

Test(mpsc, two_producers_killed_at_one_position_then_a_third_after_its_claim)
{
	killed_together(1, FOLLOW_DEAD_CLAIM);
	killed_together(0, FOLLOW_DEAD_CLAIM);
}

Test(mpsc, a_consumer_killed_between_its_zeroing_steps_is_repaired_by_the_next)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	struct pinshm_mpsc_shared *sh;
	uint8_t *buf;
	uint64_t seq = 0, next = 0, z0, pos;
	int round;

	mk_ring(1024, 0);
	sh = hdr(g_r);
	buf = (uint8_t *)sh + PINSHM_MPSC_HDR_SIZE;
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	for (round = 0; round < 6; round++) {
		pid_t pid;
		int i;

		for (i = 0; i < 5; i++)
			T_OK(send_seq(&p, seq++, 60));
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			struct pinshm_region *r;
			struct pinshm_mpsc y;
			struct pinshm_msg m;
			uint64_t h;

			t_child_init();
			if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
			    pinshm_mpsc_attach(r, "q", PINSHM_CONSUMER, &y))
				_exit(2);
			for (i = 0; i < 3; i++)
				if (pinshm_mpsc_peek(&y, &m) ||
				    m.type != (uint32_t)(next + (uint64_t)i))
					_exit(3);
			/* release() up to the crash point: head stored, then
			 * nothing (odd rounds: half the bytes zeroed). */
			h = y.rpos;
			pinshm_store_release(&y.sh->head, h);
			if (round & 1)
				__pinshm_mpsc_zero(y.buf, y.mask, y.zeroed,
						   y.zeroed + (h - y.zeroed) / 2);
			_exit(0);
		}
		T_CHILD_OK(pid);
		next += 3;
		z0 = sh->zeroed;
		cr_assert_eq(sh->head - z0, 3 * 72);
		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
		cr_assert_eq(sh->zeroed, sh->head);
		for (pos = z0; pos < sh->head; pos++)
			cr_assert_eq(buf[pos & 1023], 0, "byte %llu",
				     (unsigned long long)pos);
		/* Idempotent: a second repair changes nothing. */
		T_OK(pinshm_mpsc_detach(&c));
		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
		while (next < seq)
			expect_seq(&c, next++, 60);
		expect_empty(&c);
		T_OK(pinshm_mpsc_detach(&c));
	}
	cr_assert_eq(stats().corrupt, 0);
}

Test(mpsc, last_gives_ENOENT_then_the_last_committed_record_of_the_id)
{
	struct pinshm_mpsc p, q;
	struct pinshm_mpsc c;
	uint64_t w = 0;
	uint32_t type = 0;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(3), &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	T_ERR(pinshm_mpsc_last(&p, &w, &type), -ENOENT);
	T_OK(pinshm_mpsc_send(&p, "\x01\x02\x03", 3, 40, PINSHM_WAIT_NONE));
	T_OK(pinshm_mpsc_last(&p, &w, &type));
	cr_assert_eq(w, 0x030201);
	cr_assert_eq(type, 40);
	T_OK(pinshm_mpsc_send(&p, "ABCDEFGHIJ", 10, 41, PINSHM_WAIT_NONE));
	/* Drained by the consumer and the slot re-attached: still there. */
	while (pinshm_mpsc_recv(&c, (char[16]){ 0 }, 16, NULL, PINSHM_WAIT_NONE) > 0)
		;
	T_OK(pinshm_mpsc_detach(&p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(3), &q));
	T_OK(pinshm_mpsc_last(&q, &w, &type));
	cr_assert_eq(memcmp(&w, "ABCDEFGH", 8), 0);
	cr_assert_eq(type, 41);
}

/*
 * A producer killed in each window around its commit; the slot's next
 * holder must know exactly whether the record was committed.
 *   w 0: after pend_* and before the COMMIT store: not committed
 *   w 1: after the COMMIT store, before last_*: committed
 *   w 2: in the middle of updating last_* (last_pos not yet): committed
 *   w 3: after the whole commit, before the intent is cleared: committed
 * The next holder may attach only once the consumer is past the dead
 * holder's claim (-EAGAIN before); w 0 needs recovery to get there.
 */
Test(mpsc, a_restarted_producer_resumes_after_exactly_its_last_committed_record)
{
	int w;

	for (w = 0; w < 4; w++) {
		struct pinshm_mpsc p, z;
		struct pinshm_mpsc c;
		uint64_t word = 0;
		uint32_t type = 0;
		pid_t pid;

		if (g_r) {
			pinshm_region_close(g_r);
			g_r = NULL;
		}
		mk_ring(4096, 0);
		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			struct pinshm_region *r;
			struct pinshm_mpsc y;
			struct pinshm_mpsc_pslot *s;
			struct pinshm_rec *rec;
			uint64_t seq = 5;
			void *d = NULL;

			child_attach(&r, &y, 6);
			if (pinshm_mpsc_send(&y, &seq, 8, 5, PINSHM_WAIT_NONE))
				_exit(4);
			seq = 6;
			if (pinshm_mpsc_claim(&y, 8, &d))
				_exit(5);
			memcpy(d, &seq, 8);
			if (w == 3) {
				__pinshm_mpsc_commit_one(&y, y.claim_pos, 16, 8, 6);
				_exit(0);
			}
			/* __pinshm_mpsc_commit_one() up to the window. */
			s = y.slot;
			rec = (struct pinshm_rec *)d - 1;
			s->pend_word = seq;
			s->pend_type = 6;
			s->pend_len = 8;
			pinshm_store_release(&s->pend_pos, y.claim_pos);
			if (w >= 1) {
				rec->type = 6;
				pinshm_store_release(&rec->len,
						     PINSHM_REC_COMMIT | 8);
			}
			if (w == 2) {
				s->last_word = seq;
				s->last_type = 6;
			}
			_exit(0);
		}
		T_CHILD_OK(pid);
		T_OK(send_seq(&p, 100, 8));
		T_ERR(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(6), &z), -EAGAIN);
		pinshm_region_recover(g_r);
		expect_type(&c, 5);
		if (w >= 1) {
			struct pinshm_msg m;

			T_OK(pinshm_mpsc_peek(&c, &m));
			cr_assert_eq(m.type, 6);
			pinshm_mpsc_release(&c);
		}
		expect_seq(&c, 100, 8);
		expect_empty(&c);
		cr_assert_eq(stats().recoveries, w == 0 ? 1 : 0);
		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(6), &z));
		T_OK(pinshm_mpsc_last(&z, &word, &type));
		cr_assert_eq(word, w ? 6 : 5, "window %d", w);
		cr_assert_eq(type, w ? 6 : 5);
		/* And it goes on. */
		word = 7;
		T_OK(pinshm_mpsc_send(&z, &word, 8, 7, PINSHM_WAIT_NONE));
		T_OK(pinshm_mpsc_last(&z, &word, &type));
		cr_assert_eq(word, 7);
		T_OK(pinshm_mpsc_detach(&z));
		T_OK(pinshm_mpsc_detach(&p));
		T_OK(pinshm_mpsc_detach(&c));
	}
}

Test(mpsc, a_forked_child_without_its_own_attach_may_not_produce)
{
	pid_t pid;

	mk_ring(4096, 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_mpsc y;

		t_child_init();
		_exit(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &y) == -EPERM ?
		      0 : 1);
	}
	T_CHILD_OK(pid);
}

/* ---------------------------------------------------------------- */
/* Hostile ring contents                                             */
/* ---------------------------------------------------------------- */

Test(mpsc, garbage_headers_give_EBADMSG_and_count_as_corrupt)
{
	static const uint32_t bad[] = {
		PINSHM_REC_COMMIT | 0x3fffffff,		/* len too large */
		PINSHM_REC_COMMIT | 1500,		/* > max_record */
		PINSHM_MPSC_PAD,			/* empty filler */
		PINSHM_MPSC_PAD | (4096 >> 3),		/* past the end */
		0x10000000,				/* no such kind */
	};
	struct pinshm_mpsc c;
	struct pinshm_msg m;
	unsigned int i;

	mk_ring(4096, 0);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		*len_at(g_r, 8) = bad[i];
		*len_at(g_r, 0) = PINSHM_MPSC_PAD | 1;	/* skip 8 bytes */
		T_ERR(pinshm_mpsc_peek(&c, &m), -EBADMSG);
		c.rpos = c.head;
		cr_assert_eq(stats().corrupt, i + 1);
	}
}

Test(mpsc, a_hostile_claim_or_intent_never_makes_recovery_write_out_of_bounds)
{
	struct pinshm_mpsc c;
	struct pinshm_mpsc_shared *sh;

	mk_ring(4096, 0);
	sh = hdr(g_r);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	/* A claimed header whose size runs past the buffer. */
	*len_at(g_r, 0) = PINSHM_MPSC_CLAIMED | (3u << PINSHM_MPSC_ID_SHIFT) |
			  PINSHM_MPSC_CUNITS;
	sh->tail = 64;
	T_ERR(pinshm_mpsc_recover(&c), -EBADMSG);
	/* A tail a lap ahead. */
	*len_at(g_r, 0) = 0;
	sh->tail = 8192;
	T_ERR(pinshm_mpsc_recover(&c), -EBADMSG);
	/* An intent covering h, of a live owner: wait, whatever it says. */
	sh->tail = 64;
	{
		struct pinshm_mpsc live;

		T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(6), &live));
		sh->prod[6].intent_pos = 0;
		sh->prod[6].intent_size = 1ull << 40;
		T_OK(pinshm_mpsc_recover(&c));
		sh->prod[6].intent_size = 0;
	}
	/* The same from a dead owner: refused, nothing written. */
	{
		pid_t pid = fork();

		cr_assert_geq(pid, 0);
		if (pid == 0) {
			struct pinshm_region *r;
			struct pinshm_mpsc y;

			child_attach(&r, &y, 5);
			y.slot->intent_size = 64;
			pinshm_store_release(&y.slot->intent_pos, 0);
			_exit(0);
		}
		T_CHILD_OK(pid);
	}
	sh->prod[5].intent_size = 1ull << 40;
	pinshm_region_recover(g_r);
	T_ERR(pinshm_mpsc_recover(&c), -EBADMSG);
	cr_assert_eq(*len_at(g_r, 0), 0);
	cr_assert_eq(stats().recoveries, 0);
}

Test(mpsc, hostile_indices_are_refused_at_attach_and_claim)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	struct pinshm_mpsc_shared *sh;
	void *d = NULL;

	mk_ring(4096, 0);
	sh = hdr(g_r);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER_ID(0), &p));
	sh->head = 12;
	T_ERR(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c), -EBADMSG);
	sh->head = 8192;
	T_ERR(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c), -EBADMSG);
	sh->head = 0;
	sh->tail = 3;
	T_ERR(pinshm_mpsc_claim(&p, 8, &d), -EBADMSG);
	sh->tail = 1ull << 40;
	T_ERR(pinshm_mpsc_claim(&p, 8, &d), -EBADMSG);
	/* A tail behind zeroed (found by the fuzzer: it used to spin). */
	sh->tail = 0;
	sh->zeroed = 64;
	p.zeroed_cache = 64;
	T_ERR(pinshm_mpsc_claim(&p, 8, &d), -EBADMSG);
	sh->zeroed = 0;
	p.zeroed_cache = 0;
	T_OK(pinshm_mpsc_claim(&p, 8, &d));
	sh->capacity = 3000;
	T_ERR(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c), -EBADMSG);
}
