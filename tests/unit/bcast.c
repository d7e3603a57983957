// SPDX-License-Identifier: MIT
/*
 * Suite "bcast": the broadcast ring in one process (plus forked read-only
 * readers) — libshm/src/bcast.c (create, writer attach/recovery, reader
 * attach/seek/stats) and the inline paths of pinshm/bcast.h (claim/stage/
 * publish/commit/send, peek/peek_batch/check/release/recv).
 *
 * Record n carries n in its type word and a payload computed from n
 * (t_pat), so every delivery is checked byte by byte; m.seq must equal n.
 */
#include <stddef.h>

#include "testutil.h"

static struct pinshm_region *g_r;
static const char *g_name;

static void bcast_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(bcast, .fini = bcast_fini, .timeout = 30);

/* A region holding ring "b"; returns its effective max payload. */
static uint32_t mk_ring(uint64_t slots, uint32_t max_payload)
{
	struct pinshm_obj_info info;

	g_r = t_create("bcast", slots * 4096 + (64 << 10), &g_name);
	T_OK(pinshm_bcast_create(g_r, "b", slots, max_payload));
	T_OK(pinshm_obj_find(g_r, "b", &info));
	cr_assert_eq(info.type, PINSHM_OBJ_BCAST);
	cr_assert_eq(info.capacity, slots);
	return (uint32_t)info.max_record;
}

static struct pinshm_bcast_shared *ring_hdr(void)
{
	return (struct pinshm_bcast_shared *)t_ring_hdr(g_r, "b");
}

static struct pinshm_bcast_slot *ring_slot(uint64_t i)
{
	struct pinshm_bcast_shared *sh = ring_hdr();

	return (struct pinshm_bcast_slot *)((uint8_t *)sh + sh->data_off +
					    (i & (sh->slots - 1)) *
					    sh->slot_size);
}

static void wattach(struct pinshm_bcast *w)
{
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, w));
}

static void rattach(struct pinshm_bcast *rd, int from)
{
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_READER, rd) ?: pinshm_bcast_seek(rd, from));
}

static struct pinshm_bcast_stats rstats(struct pinshm_bcast *rd)
{
	struct pinshm_bcast_stats s;

	T_OK(pinshm_bcast_stats(rd, &s));
	return s;
}

static struct pinshm_ring_stats stats(void)
{
	struct pinshm_ring_stats s;

	T_OK(pinshm_obj_stats(g_r, "b", &s));
	return s;
}

static uint32_t len_of(uint64_t n, uint32_t max)
{
	return (uint32_t)(n * 13 % (max + 1));
}

/* Claim, fill and stage record n of len bytes. */
static int stage_n(struct pinshm_bcast *w, uint64_t n, uint32_t len)
{
	void *d = NULL;
	int ret = pinshm_bcast_claim(w, len, &d);

	if (ret)
		return ret;
	t_pat_fill(d, len, n);
	pinshm_bcast_stage(w, len, (uint32_t)n);
	return 0;
}

static void send_n(struct pinshm_bcast *w, uint64_t n, uint32_t len)
{
	T_OK(stage_n(w, n, len));
	pinshm_bcast_publish(w);
}

static void check_msg(const struct pinshm_bcast_msg *m, uint64_t n,
		      uint32_t len)
{
	long bad;

	cr_assert_eq(m->seq, n, "got record %llu, expected %llu",
		     (unsigned long long)m->seq, (unsigned long long)n);
	cr_assert_eq(m->type, (uint32_t)n, "record %llu: type %u",
		     (unsigned long long)n, m->type);
	cr_assert_eq(m->len, len, "record %llu: len %u, expected %u",
		     (unsigned long long)n, m->len, len);
	bad = t_pat_check(m->data, m->len, n);
	cr_assert_eq(bad, -1, "record %llu: byte %ld is wrong",
		     (unsigned long long)n, bad);
}

/* Peek, check, release one record. */
static void expect_n(struct pinshm_bcast *rd, uint64_t n, uint32_t len)
{
	struct pinshm_bcast_msg m = { 0 };

	T_OK(pinshm_bcast_peek(rd, &m));
	check_msg(&m, n, len);
	T_OK(pinshm_bcast_release(rd));
}

/* recv, check. */
static void recv_n(struct pinshm_bcast *rd, uint64_t n, uint32_t len)
{
	struct pinshm_bcast_msg m = { 0 };
	uint8_t buf[4096];

	cr_assert_eq(pinshm_bcast_recv(rd, buf, sizeof(buf), &m,
				       PINSHM_WAIT_NONE), (int)len);
	cr_assert_eq(m.data, buf);
	check_msg(&m, n, len);
}

static void expect_empty(struct pinshm_bcast *rd)
{
	struct pinshm_bcast_msg m = { 0 };

	T_ERR(pinshm_bcast_peek(rd, &m), -EAGAIN);
}

/* ---- setup ----------------------------------------------------------- */

Test(bcast, slot_size_is_header_plus_payload_rounded_to_64)
{
	cr_assert_eq(mk_ring(8, 40), 48, "16 + 40 rounds to a 64-byte slot");
	cr_assert_eq(ring_hdr()->slot_size, 64);
	T_OK(pinshm_bcast_create(g_r, "c", 4, 48));
	T_OK(pinshm_bcast_create(g_r, "d", 4, 49));
	T_OK(pinshm_bcast_create(g_r, "e", 4, 0));
	struct pinshm_obj_info i;
	T_OK(pinshm_obj_find(g_r, "c", &i));
	cr_assert_eq(i.max_record, 48);
	T_OK(pinshm_obj_find(g_r, "d", &i));
	cr_assert_eq(i.max_record, 112);
	T_OK(pinshm_obj_find(g_r, "e", &i));
	cr_assert_eq(i.max_record, 48);
}

Test(bcast, create_rejects_bad_geometry)
{
	mk_ring(4, 48);
	T_ERR(pinshm_bcast_create(g_r, "x", 0, 48), -EINVAL);
	T_ERR(pinshm_bcast_create(g_r, "x", 1, 48), -EINVAL);
	T_ERR(pinshm_bcast_create(g_r, "x", 6, 48), -EINVAL);
	T_ERR(pinshm_bcast_create(g_r, "x", 1ull << 25, 48), -EINVAL);
	T_ERR(pinshm_bcast_create(g_r, "x", 4, 1u << 20), -EINVAL);
	T_ERR(pinshm_bcast_create(NULL, "x", 4, 48), -EINVAL);
	T_ERR(pinshm_bcast_create(g_r, "b", 4, 48), -EEXIST);
	T_ERR(pinshm_bcast_create(g_r, "x", 1u << 20, 48), -ENOSPC);
}

Test(bcast, attach_checks_type_role_and_arguments)
{
	struct pinshm_bcast w, w2;
	struct pinshm_bcast rd;

	mk_ring(8, 48);
	T_OK(pinshm_spsc_create(g_r, "s", 4096, 0));
	T_ERR(pinshm_bcast_attach(g_r, "s", PINSHM_WRITER, &w), -EPROTOTYPE);
	T_ERR(pinshm_bcast_attach(g_r, "s", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, PINSHM_BCAST_OLDEST),
	      -EPROTOTYPE);
	T_ERR(pinshm_bcast_attach(g_r, "nope", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, PINSHM_BCAST_OLDEST),
	      -ENOENT);
	T_ERR(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, 7), -EINVAL);
	wattach(&w);
	cr_assert_eq(stats().producer_pid, (uint32_t)getpid());
	T_ERR(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w2), -EBUSY);
	T_OK(pinshm_bcast_detach(&w));
	cr_assert_eq(stats().producer_pid, 0);
	wattach(&w2);
	T_OK(pinshm_bcast_detach(&w2));
}

/* ---- delivery -------------------------------------------------------- */

Test(bcast, an_empty_ring_gives_EAGAIN)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m[4];
	char buf[64];

	mk_ring(8, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	expect_empty(&rd);
	cr_assert_eq(pinshm_bcast_peek_batch(&rd, m, 4), 0);
	T_ERR(pinshm_bcast_recv(&rd, buf, sizeof(buf), NULL, PINSHM_WAIT_NONE),
	      -EAGAIN);
	T_OK(pinshm_bcast_release(&rd));	/* nothing peeked: no-op */
	send_n(&w, 0, 5);
	expect_n(&rd, 0, 5);
	expect_empty(&rd);
	/* A claimed (being written) record is not there yet. */
	void *d;
	T_OK(pinshm_bcast_claim(&w, 10, &d));
	expect_empty(&rd);
	cr_assert_eq(rstats(&rd).msgs, 1);
	T_OK(pinshm_bcast_detach(&w));
}

Test(bcast, delivers_records_in_order_to_every_reader)
{
	struct pinshm_bcast w;
	struct pinshm_bcast a, b;
	uint64_t n;

	mk_ring(64, 200);
	wattach(&w);
	rattach(&a, PINSHM_BCAST_OLDEST);
	rattach(&b, PINSHM_BCAST_OLDEST);
	for (n = 0; n < 40; n++)
		send_n(&w, n, len_of(n, 200));
	for (n = 0; n < 40; n++)
		expect_n(&a, n, len_of(n, 200));
	for (n = 0; n < 40; n++)
		recv_n(&b, n, len_of(n, 200));
	expect_empty(&a);
	expect_empty(&b);
	cr_assert_eq(rstats(&a).lost, 0);
	cr_assert_eq(rstats(&b).msgs, 40);
	cr_assert_eq(stats().msgs_in, 40);
	cr_assert_eq(stats().tail, 40);
	T_OK(pinshm_bcast_detach(&w));
}

/* Sizes 0..max for three slot sizes, zero-copy and copying. */
Test(bcast, carries_every_record_size_from_0_to_max_payload)
{
	static const uint32_t payloads[] = { 48, 112, 496 };
	struct pinshm_bcast w;
	struct pinshm_bcast a, b;
	uint8_t buf[512];
	char name[8];
	unsigned int k;
	uint32_t len;

	g_r = t_create("sizes", 1 << 20, &g_name);
	for (k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "b%u", k);
		T_OK(pinshm_bcast_create(g_r, name, 16, payloads[k]));
		T_OK(pinshm_bcast_attach(g_r, name, PINSHM_WRITER, &w));
		T_OK(pinshm_bcast_attach(g_r, name, PINSHM_READER,
					 &a) ?: pinshm_bcast_seek(&a, PINSHM_BCAST_OLDEST));
		T_OK(pinshm_bcast_attach(g_r, name, PINSHM_READER,
					 &b) ?: pinshm_bcast_seek(&b, PINSHM_BCAST_OLDEST));
		for (len = 0; len <= payloads[k]; len++) {
			struct pinshm_bcast_msg m;

			if (len & 1) {
				send_n(&w, len, len);
			} else {
				t_pat_fill(buf, len, len);
				T_OK(pinshm_bcast_send(&w, buf, len, len));
			}
			T_OK(pinshm_bcast_peek(&a, &m));
			check_msg(&m, len, len);
			T_OK(pinshm_bcast_check(&a, &m));
			T_OK(pinshm_bcast_release(&a));
			memset(buf, 0xee, sizeof(buf));
			cr_assert_eq(pinshm_bcast_recv(&b, buf, len, &m,
						       PINSHM_WAIT_NONE),
				     (int)len);
			check_msg(&m, len, len);
		}
		void *d;
		T_ERR(pinshm_bcast_claim(&w, payloads[k] + 1, &d), -EMSGSIZE);
		T_ERR(pinshm_bcast_send(&w, buf, payloads[k] + 1, 0), -EMSGSIZE);
		T_OK(pinshm_bcast_detach(&w));
	}
}

Test(bcast, recv_into_a_short_buffer_gives_EMSGSIZE_and_keeps_the_record)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	uint8_t buf[64];

	mk_ring(8, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	send_n(&w, 0, 30);
	send_n(&w, 1, 3);
	T_ERR(pinshm_bcast_recv(&rd, buf, 29, NULL, PINSHM_WAIT_NONE),
	      -EMSGSIZE);
	recv_n(&rd, 0, 30);
	recv_n(&rd, 1, 3);
	T_OK(pinshm_bcast_detach(&w));
}

Test(bcast, a_commit_may_shorten_the_claimed_record)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	void *d = NULL, *d2 = NULL;

	mk_ring(8, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	T_OK(pinshm_bcast_claim(&w, 48, &d));
	T_OK(pinshm_bcast_claim(&w, 48, &d2));
	cr_assert_eq(d, d2, "claiming twice gives the same slot");
	t_pat_fill(d, 48, 0);
	pinshm_bcast_commit(&w, 7, 0);
	expect_n(&rd, 0, 7);
	T_OK(pinshm_bcast_detach(&w));
}

/* Many laps with a reader that keeps up: nothing lost, wrap invisible. */
Test(bcast, wraps_around_many_laps_without_loss_when_the_reader_keeps_up)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	uint64_t n, got = 0;

	mk_ring(8, 112);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	for (n = 0; n < 8 * 500; n++) {
		send_n(&w, n, len_of(n, 112));
		/* Stay up to 6 behind (a ring of 8 keeps 7 valid). */
		if (n % 7 == 6)
			while (got <= n) {
				expect_n(&rd, got, len_of(got, 112));
				got++;
			}
	}
	while (got < n) {
		recv_n(&rd, got, len_of(got, 112));
		got++;
	}
	expect_empty(&rd);
	cr_assert_eq(rstats(&rd).lost, 0);
	cr_assert_eq(rstats(&rd).lapped, 0);
	cr_assert_eq(rstats(&rd).msgs, n);
	T_OK(pinshm_bcast_detach(&w));
}

/* ---- batches --------------------------------------------------------- */

Test(bcast, a_staged_batch_is_invisible_until_published)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	uint64_t n;

	mk_ring(16, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	for (n = 0; n < 5; n++) {
		T_OK(stage_n(&w, n, 8));
		expect_empty(&rd);
	}
	cr_assert_eq(stats().tail, 0);
	cr_assert_eq(stats().msgs_in, 0);
	pinshm_bcast_publish(&w);
	cr_assert_eq(stats().tail, 5);
	cr_assert_eq(stats().msgs_in, 5);
	cr_assert_eq(stats().bytes_in, 40);
	for (n = 0; n < 5; n++)
		expect_n(&rd, n, 8);
	expect_empty(&rd);
	T_OK(pinshm_bcast_detach(&w));
}

/* Every batch size 1..slots-1, peeked in batches of other sizes. */
Test(bcast, batches_of_every_size_up_to_slots_minus_one)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m[16];
	uint64_t n = 0, got = 0;
	unsigned int b, k;
	void *d;
	int i, cnt;

	mk_ring(16, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	for (b = 1; b <= 15; b++) {
		for (k = 0; k < b; k++, n++)
			T_OK(stage_n(&w, n, len_of(n, 48)));
		if (b == 15)
			T_ERR(pinshm_bcast_claim(&w, 1, &d), -ENOBUFS);
		pinshm_bcast_publish(&w);
		while (got < n) {
			cnt = pinshm_bcast_peek_batch(&rd, m, 1 + (b * 5) % 16);
			cr_assert_gt(cnt, 0, "peek_batch: %d", cnt);
			for (i = 0; i < cnt; i++, got++)
				check_msg(&m[i], got, len_of(got, 48));
			T_OK(pinshm_bcast_release(&rd));
		}
		cr_assert_eq(pinshm_bcast_peek_batch(&rd, m, 16), 0);
	}
	cr_assert_eq(rstats(&rd).lost, 0);
	T_OK(pinshm_bcast_detach(&w));
}

Test(bcast, detach_publishes_a_staged_batch)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;

	mk_ring(8, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	T_OK(stage_n(&w, 0, 4));
	T_OK(stage_n(&w, 1, 4));
	T_OK(pinshm_bcast_detach(&w));
	expect_n(&rd, 0, 4);
	expect_n(&rd, 1, 4);
}

/* ---- lapping --------------------------------------------------------- */

/*
 * For every lead k of the writer over an idle reader (0..3 rings), the
 * reader gets exactly the records still valid — the last `slots`, as the
 * writer is idle — and counts exactly the others as lost.
 */
Test(bcast, a_lapped_reader_counts_exactly_what_it_lost_and_resyncs_to_the_oldest)
{
	const uint64_t slots = 8;
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	struct pinshm_bcast_stats s0, s1;
	uint64_t n = 0, k, start, j, oldest, lapped = 0;

	mk_ring(slots, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	for (k = 0; k <= 3 * slots; k++) {
		s0 = rstats(&rd);
		start = n;
		for (j = 0; j < k; j++, n++)
			send_n(&w, n, len_of(n, 48));
		oldest = n - start > slots ? n - slots : start;
		if (n - start > slots)
			lapped++;
		for (j = oldest; j < n; j++)
			expect_n(&rd, j, len_of(j, 48));
		expect_empty(&rd);
		s1 = rstats(&rd);
		cr_assert_eq(s1.lost - s0.lost, oldest - start,
			     "lead %llu: lost %llu, expected %llu",
			     (unsigned long long)k,
			     (unsigned long long)(s1.lost - s0.lost),
			     (unsigned long long)(oldest - start));
		cr_assert_eq(s1.msgs - s0.msgs, n - oldest);
		cr_assert_eq(s1.lapped, lapped);
		cr_assert_eq(s1.msgs + s1.lost, n, "received + lost == sent");
		cr_assert_eq(s1.pos, n);
	}
	cr_assert_eq(s1.stale, 0);
	cr_assert_eq(s1.corrupt, 0);
	T_OK(pinshm_bcast_detach(&w));
}

/* A writer in the middle of a record: that slot's old record is gone too. */
Test(bcast, a_claimed_slot_is_not_counted_as_valid)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	uint64_t n;
	void *d = NULL;

	mk_ring(4, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	for (n = 0; n < 4; n++)
		send_n(&w, n, 8);
	T_OK(pinshm_bcast_claim(&w, 8, &d));	/* record 4 overwrites 0 */
	expect_n(&rd, 1, 8);
	cr_assert_eq(rstats(&rd).lost, 1);
	expect_n(&rd, 2, 8);
	expect_n(&rd, 3, 8);
	expect_empty(&rd);
	t_pat_fill(d, 8, 4);
	pinshm_bcast_commit(&w, 8, 4);
	expect_n(&rd, 4, 8);
	T_OK(pinshm_bcast_detach(&w));
}

/* A staged (unpublished) batch laps a reader too: it is counted. */
Test(bcast, a_staged_batch_laps_a_reader_that_is_behind)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	uint64_t n;

	mk_ring(8, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	for (n = 0; n < 7; n++)
		send_n(&w, n, 8);
	for (; n < 10; n++)
		T_OK(stage_n(&w, n, 8));	/* 7, 8, 9: overwrite 0, 1 */
	expect_n(&rd, 2, 8);
	cr_assert_eq(rstats(&rd).lost, 2);
	for (n = 3; n < 7; n++)
		expect_n(&rd, n, 8);
	expect_empty(&rd);
	pinshm_bcast_publish(&w);
	for (n = 7; n < 10; n++)
		expect_n(&rd, n, 8);
	T_OK(pinshm_bcast_detach(&w));
}

/* Zero copy: a record overwritten while looked at fails its check. */
Test(bcast, a_record_overwritten_during_a_zero_copy_read_is_reported_stale)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m, m2;
	uint64_t n;

	mk_ring(4, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	for (n = 0; n < 3; n++)
		send_n(&w, n, 8);
	T_OK(pinshm_bcast_peek(&rd, &m));
	T_OK(pinshm_bcast_peek(&rd, &m2));
	check_msg(&m, 0, 8);
	T_OK(pinshm_bcast_check(&rd, &m));
	send_n(&w, 3, 8);
	T_OK(pinshm_bcast_check(&rd, &m));	/* slot 3 was free */
	send_n(&w, 4, 8);			/* overwrites record 0 */
	T_ERR(pinshm_bcast_check(&rd, &m), -ESTALE);
	T_OK(pinshm_bcast_check(&rd, &m2));	/* record 1 still there */
	T_ERR(pinshm_bcast_release(&rd), -ESTALE);
	cr_assert_eq(rstats(&rd).stale, 1);
	cr_assert_eq(rstats(&rd).msgs, 0, "nothing consumed");
	/* The next peek counts the lap: 0 and 1 lost (4 is in 0's slot,
	 * and the oldest valid is 4 - 4 + 1 = 1: only 0 is gone). */
	expect_n(&rd, 1, 8);
	cr_assert_eq(rstats(&rd).lost, 1);
	for (n = 2; n < 5; n++)
		expect_n(&rd, n, 8);
	cr_assert_eq(rstats(&rd).msgs + rstats(&rd).lost, 5);
	T_OK(pinshm_bcast_detach(&w));
}

/* Peeking further after the writer lapped the held peeks drops them. */
Test(bcast, peeking_past_a_lap_drops_the_held_peeks_with_ESTALE)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m[8];
	uint64_t n;

	mk_ring(4, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	for (n = 0; n < 2; n++)
		send_n(&w, n, 8);
	cr_assert_eq(pinshm_bcast_peek_batch(&rd, m, 8), 2);
	for (; n < 7; n++)
		send_n(&w, n, 8);	/* 4, 5, 6 overwrite 0, 1, 2 */
	T_ERR(pinshm_bcast_peek_batch(&rd, m, 8), -ESTALE);
	/* Records 3..6 remain (7 written into 4 slots, writer idle). */
	cr_assert_eq(pinshm_bcast_peek_batch(&rd, m, 8), 4);
	check_msg(&m[0], 3, 8);
	check_msg(&m[3], 6, 8);
	T_OK(pinshm_bcast_release(&rd));
	cr_assert_eq(rstats(&rd).lost, 3);
	cr_assert_eq(rstats(&rd).msgs, 4);
	T_OK(pinshm_bcast_detach(&w));
}

Test(bcast, readers_start_at_oldest_newest_or_next)
{
	struct pinshm_bcast w;
	struct pinshm_bcast a, b, c;
	uint64_t n;

	mk_ring(8, 48);
	rattach(&a, PINSHM_BCAST_NEWEST);
	expect_empty(&a);
	wattach(&w);
	for (n = 0; n < 20; n++)
		send_n(&w, n, 8);
	rattach(&a, PINSHM_BCAST_OLDEST);
	rattach(&b, PINSHM_BCAST_NEWEST);
	rattach(&c, PINSHM_BCAST_NEXT);
	expect_n(&a, 12, 8);
	expect_n(&b, 19, 8);
	expect_empty(&b);
	expect_empty(&c);
	send_n(&w, 20, 8);
	expect_n(&b, 20, 8);
	expect_n(&c, 20, 8);
	T_OK(pinshm_bcast_seek(&c, PINSHM_BCAST_OLDEST));
	expect_n(&c, 13, 8);
	cr_assert_eq(rstats(&a).lost, 0, "a start is not a loss");
	T_OK(pinshm_bcast_detach(&a));
	T_ERR(pinshm_bcast_seek(&a, PINSHM_BCAST_OLDEST), -EINVAL);
	T_OK(pinshm_bcast_detach(&w));
}

/* ---- read-only readers ------------------------------------------------ */

/* In a child: open read-only, read everything, get lapped once, exit 0. */
static void ro_child(int access)
{
	struct pinshm_region *r;
	struct pinshm_bcast rd;
	struct pinshm_bcast w;
	struct pinshm_bcast_stats s;
	struct pinshm_bcast_msg m;
	uint8_t buf[64];
	uint64_t n;

	t_child_init();
	if (pinshm_region_open(g_name, access, T_BACKEND, &r))
		_exit(10);
	if (pinshm_region_writable(r))
		_exit(11);
	if (pinshm_bcast_attach(r, "b", PINSHM_WRITER, &w) != -EACCES)
		_exit(12);
	if (pinshm_bcast_attach(r, "b", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, PINSHM_BCAST_OLDEST))
		_exit(13);
	/* The parent wrote 0..19 into 8 slots: 12..19 remain. */
	for (n = 12; n < 20; n++) {
		if (n & 1) {
			if (pinshm_bcast_peek(&rd, &m) || m.seq != n ||
			    t_pat_check(m.data, m.len, n) != -1 ||
			    pinshm_bcast_release(&rd))
				_exit(14);
		} else if (pinshm_bcast_recv(&rd, buf, sizeof(buf), &m,
					     PINSHM_WAIT_NONE) != 8 ||
			   m.seq != n || t_pat_check(buf, 8, n) != -1) {
			_exit(15);
		}
	}
	if (pinshm_bcast_peek(&rd, &m) != -EAGAIN)
		_exit(16);
	/* A reader that starts at record 0 is lapped: 12 lost. */
	rd.pos = rd.rpos = 0;
	if (pinshm_bcast_peek(&rd, &m) || m.seq != 12)
		_exit(17);
	pinshm_bcast_stats(&rd, &s);
	if (s.lost != 12 || s.lapped != 1)
		_exit(18);
	pinshm_region_close(r);
	_exit(0);
}

static void ro_reader(int access)
{
	struct pinshm_bcast w;
	uint64_t n;
	pid_t pid;

	mk_ring(8, 48);
	wattach(&w);
	for (n = 0; n < 20; n++)
		send_n(&w, n, 8);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		ro_child(access);
	T_CHILD_OK(pid);
	T_OK(pinshm_bcast_detach(&w));
}

Test(bcast, a_reader_works_on_a_read_only_mapping)
{
	ro_reader(PINSHM_RDONLY);
}

Test(bcast, a_reader_works_on_an_observe_mapping)
{
	ro_reader(PINSHM_OBSERVE);
}

/* ---- hostile rings ---------------------------------------------------- */

Test(bcast, a_length_beyond_max_payload_is_EBADMSG)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;
	uint8_t buf[64];

	mk_ring(8, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	send_n(&w, 0, 8);
	ring_slot(0)->len = 49;
	T_ERR(pinshm_bcast_peek(&rd, &m), -EBADMSG);
	T_ERR(pinshm_bcast_recv(&rd, buf, sizeof(buf), NULL, PINSHM_WAIT_SPIN),
	      -EBADMSG);
	ring_slot(0)->len = 0xffffffffu;
	T_ERR(pinshm_bcast_peek(&rd, &m), -EBADMSG);
	cr_assert_eq(rstats(&rd).corrupt, 3);
	ring_slot(0)->len = 8;
	expect_n(&rd, 0, 8);
	T_OK(pinshm_bcast_detach(&w));
}

Test(bcast, a_seq_of_another_slot_or_too_far_ahead_is_EBADMSG)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;

	mk_ring(8, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	send_n(&w, 0, 8);
	ring_slot(0)->seq = 2 * 3 + 2;		/* record 3 is not in slot 0 */
	T_ERR(pinshm_bcast_peek(&rd, &m), -EBADMSG);
	ring_slot(0)->seq = 2 * 64 + 2;		/* a ring ahead of tail 1 */
	T_ERR(pinshm_bcast_peek(&rd, &m), -EBADMSG);
	ring_slot(0)->seq = UINT64_MAX;
	T_ERR(pinshm_bcast_peek(&rd, &m), -EBADMSG);
	ring_hdr()->tail = UINT64_MAX - 2;	/* tail + slots wraps */
	T_ERR(pinshm_bcast_peek(&rd, &m), -EBADMSG);
	cr_assert_eq(rstats(&rd).corrupt, 4);
	cr_assert_eq(rstats(&rd).lost, 0, "no loss counted from garbage");
	/* seq 0 or an old record's seq: just "not yet" (a writer gone quiet
	 * looks the same). */
	ring_slot(0)->seq = 0;
	T_ERR(pinshm_bcast_peek(&rd, &m), -EAGAIN);
}

/* Random garbage everywhere in the slots and tail: no crash, no hang. */
Test(bcast, random_garbage_never_crashes_or_hangs_a_reader, .timeout = 20)
{
	struct pinshm_bcast rd;
	struct pinshm_bcast_shared *sh;
	struct pinshm_bcast_msg m[4];
	uint8_t buf[128];
	uint64_t rs = 4242, round;
	int ret, i;

	mk_ring(8, 112);
	sh = ring_hdr();
	for (round = 0; round < 20000; round++) {
		/* Garbage in every slot; plausible seqs now and then. */
		t_fill_random((uint8_t *)sh + sh->data_off, 8 * sh->slot_size,
			      t_rand(&rs));
		for (i = 0; i < 8; i++)
			if (t_rand(&rs) & 1)
				ring_slot((uint64_t)i)->seq = t_rand(&rs) % 64;
		sh->tail = t_rand(&rs) % 40;
		rattach(&rd, (int)(round % 3));
		rd.pos = rd.rpos = t_rand(&rs) % 40;
		for (i = 0; i < 6; i++) {
			switch (i % 3) {
			case 0:
				ret = pinshm_bcast_peek_batch(&rd, m, 4);
				if (ret > 0)
					for (int k = 0; k < ret; k++)
						cr_assert_leq(m[k].len, 112);
				pinshm_bcast_release(&rd);
				break;
			case 1:
				ret = pinshm_bcast_recv(&rd, buf, sizeof(buf),
							NULL, PINSHM_WAIT_NONE);
				cr_assert_leq(ret, 112);
				break;
			default:
				ret = pinshm_bcast_peek(&rd, m);
				if (!ret)
					pinshm_bcast_check(&rd, m);
			}
		}
	}
	/* A corrupt header is refused at attach. */
	sh->slot_size = 65;
	T_ERR(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, 0), -EBADMSG);
	sh->slot_size = 128;
	sh->slots = 1024;
	T_ERR(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, 0), -EBADMSG);
	sh->slots = 8;
	sh->magic = 0;
	T_ERR(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, 0), -EBADMSG);
}

/* ---- writer recovery -------------------------------------------------- */

/*
 * A writer killed with a claimed record and a staged batch: its successor
 * withdraws them (readers never see them), continues at the published
 * tail, and no reader counts a loss that did not happen.
 */
Test(bcast, a_dead_writers_unpublished_records_are_withdrawn_by_its_successor)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd, late;
	pid_t pid;
	uint64_t n;

	mk_ring(8, 48);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_bcast cw;
		void *d;

		t_child_init();
		if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
		    pinshm_bcast_attach(r, "b", PINSHM_WRITER, &cw))
			_exit(1);
		for (n = 0; n < 3; n++)
			if (pinshm_bcast_send(&cw, &n, 8, (uint32_t)n))
				_exit(2);
		for (n = 100; n < 104; n++) {	/* staged, never published */
			if (pinshm_bcast_claim(&cw, 8, &d))
				_exit(3);
			memcpy(d, &n, 8);
			pinshm_bcast_stage(&cw, 8, (uint32_t)n);
		}
		pinshm_bcast_claim(&cw, 8, &d);	/* and one claimed */
		_exit(0);			/* dies holding the role */
	}
	T_CHILD_OK(pid);
	for (n = 0; n < 3; n++) {
		struct pinshm_bcast_msg m;

		T_OK(pinshm_bcast_peek(&rd, &m));
		cr_assert_eq(m.seq, n);
		cr_assert_eq(m.type, (uint32_t)n);
		T_OK(pinshm_bcast_release(&rd));
	}
	expect_empty(&rd);
	wattach(&w);	/* the child is gone: its role is taken over */
	cr_assert_eq(stats().recoveries, 1);
	cr_assert_eq(stats().tail, 3);
	expect_empty(&rd);
	for (n = 3; n < 6; n++)
		send_n(&w, n, 8);
	for (n = 3; n < 6; n++)
		expect_n(&rd, n, 8);
	/* Records 0..2 kept their slots: a late reader gets them all. */
	rattach(&late, PINSHM_BCAST_OLDEST);
	for (n = 0; n < 3; n++) {
		struct pinshm_bcast_msg m;

		T_OK(pinshm_bcast_peek(&late, &m));
		cr_assert_eq(m.seq, n);
		T_OK(pinshm_bcast_release(&late));
	}
	for (n = 3; n < 6; n++)
		expect_n(&late, n, 8);
	cr_assert_eq(rstats(&late).lost, 0);
	cr_assert_eq(rstats(&rd).lost, 0);
	cr_assert_eq(stats().msgs_in, 6);
	T_OK(pinshm_bcast_detach(&w));
}

/* Published but tail not stored yet: the successor keeps the records. */
Test(bcast, records_published_before_a_writer_died_are_kept)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	uint64_t n;

	mk_ring(8, 48);
	wattach(&w);
	rattach(&rd, PINSHM_BCAST_OLDEST);
	for (n = 0; n < 5; n++)
		send_n(&w, n, 8);
	/* As if killed between (W3) and (W4) for records 3 and 4. */
	ring_hdr()->tail = 3;
	ring_hdr()->writer.holder = 0;
	wattach(&w);
	cr_assert_eq(stats().tail, 5);
	send_n(&w, 5, 8);
	for (n = 0; n < 6; n++)
		expect_n(&rd, n, 8);
	T_OK(pinshm_bcast_detach(&w));
}

Test(bcast, stats_report_the_writers_counters)
{
	struct pinshm_bcast w;
	struct pinshm_ring_stats s;
	uint64_t n;

	mk_ring(8, 48);
	wattach(&w);
	for (n = 0; n < 11; n++)
		send_n(&w, n, 10);
	s = stats();
	cr_assert_eq(s.msgs_in, 11);
	cr_assert_eq(s.bytes_in, 110);
	cr_assert_eq(s.tail, 11);
	cr_assert_eq(s.head, 3);
	cr_assert_eq(s.producer_pid, (uint32_t)getpid());
	cr_assert_eq(s.corrupt, 0);
	T_OK(pinshm_bcast_detach(&w));
}
