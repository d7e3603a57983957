// SPDX-License-Identifier: MIT
/*
 * Suite "fanin": the fan-in ring in one process — libshm/src/fanin.c
 * (create, attach, detach, last, wait, stats) and the inline paths of
 * pinshm/fanin.h (claim/commit/stage/publish/send on a lane;
 * peek/peek_batch/release/recv across lanes).
 *
 * One process may hold the consumer and any number of lanes. Records
 * carry (lane << 32 | seq) in their first 8 bytes and the seq in the type
 * word, so per-lane order and every delivery are checked.
 */
#include "testutil.h"

static struct pinshm_region *g_r;
static const char *g_name;

static void fanin_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(fanin, .fini = fanin_fini, .timeout = 60);

static struct pinshm_fanin_shared *mk_ring(unsigned int lanes, uint64_t cap,
					   uint64_t max_record)
{
	struct pinshm_obj_info info;

	g_r = t_create("fanin", lanes * (cap + 4096) + (64 << 10), &g_name);
	T_OK(pinshm_fanin_create(g_r, "f", lanes, cap, max_record));
	T_OK(pinshm_obj_find(g_r, "f", &info));
	cr_assert_eq(info.type, PINSHM_OBJ_FANIN);
	cr_assert_eq(info.capacity, cap);
	return (struct pinshm_fanin_shared *)((uint8_t *)pinshm_region_data(g_r) +
					      info.offset);
}

static struct pinshm_spsc_shared *lane_sh(struct pinshm_fanin_shared *sh,
					  unsigned int i)
{
	return (struct pinshm_spsc_shared *)((uint8_t *)sh + sh->lane_off +
					     i * sh->lane_size);
}

static void send_one(struct pinshm_fanin *p, uint32_t seq, uint32_t len)
{
	uint8_t buf[256];
	uint64_t w = (uint64_t)p->id << 32 | seq;

	cr_assert_leq(len, sizeof(buf));
	memset(buf, (int)(seq & 0xff), len);
	memcpy(buf, &w, len < 8 ? len : 8);
	T_OK(pinshm_fanin_send(p, buf, len, seq, PINSHM_WAIT_NONE));
}

static uint64_t word_of(const struct pinshm_msg *m)
{
	uint64_t w = 0;

	memcpy(&w, m->data, m->len < 8 ? m->len : 8);
	return w;
}

Test(fanin, creates_and_rejects_bad_geometry)
{
	mk_ring(4, 4096, 0);
	T_ERR(pinshm_fanin_create(g_r, "f", 4, 4096, 0), -EEXIST);
	T_ERR(pinshm_fanin_create(g_r, "a", 0, 4096, 0), -EINVAL);
	T_ERR(pinshm_fanin_create(g_r, "a", PINSHM_FANIN_LANES + 1, 4096, 0),
	      -EINVAL);
	T_ERR(pinshm_fanin_create(g_r, "a", 2, 3000, 0), -EINVAL);
	T_ERR(pinshm_fanin_create(g_r, "a", 2, 512, 0), -EINVAL);
	T_ERR(pinshm_fanin_create(g_r, "a", 2, 4096, 4096), -EINVAL);
	T_ERR(pinshm_fanin_create(NULL, "a", 2, 4096, 0), -EINVAL);
	T_OK(pinshm_fanin_create(g_r, "a", 1, 1024, 100));
}

Test(fanin, attaches_roles_and_refuses_twice)
{
	struct pinshm_fanin p0, p1, p2, c, x;

	mk_ring(2, 4096, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p1));
	cr_assert_eq(p1.id, 1);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER, &p0));
	cr_assert_eq(p0.id, 0);
	T_ERR(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER, &p2), -ENOSPC);
	T_ERR(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &x), -EBUSY);
	T_ERR(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(2), &x), -EINVAL);
	T_ERR(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(64), &x),
	      -EINVAL);
	T_ERR(pinshm_fanin_attach(g_r, "f", 77, &x), -EINVAL);
	T_ERR(pinshm_fanin_attach(g_r, "nope", PINSHM_CONSUMER, &x), -ENOENT);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	T_ERR(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &x), -EBUSY);
	T_OK(pinshm_fanin_detach(&p1));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER, &p2));
	cr_assert_eq(p2.id, 1);
	T_ERR(pinshm_fanin_detach(&p1), -EINVAL);
	T_OK(pinshm_fanin_detach(&p2));
	T_OK(pinshm_fanin_detach(&p0));
	T_OK(pinshm_fanin_detach(&c));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	T_OK(pinshm_fanin_detach(&c));
}

Test(fanin, refuses_other_types)
{
	struct pinshm_fanin x;
	struct pinshm_spsc s;

	mk_ring(2, 4096, 0);
	T_OK(pinshm_spsc_create(g_r, "s", 4096, 0));
	T_ERR(pinshm_fanin_attach(g_r, "s", PINSHM_CONSUMER, &x), -EPROTOTYPE);
	T_ERR(pinshm_spsc_attach(g_r, "f", PINSHM_CONSUMER, &s), -EPROTOTYPE);
}

Test(fanin, delivers_fifo_per_producer_from_every_lane)
{
	struct pinshm_fanin p[3], c;
	struct pinshm_msg m;
	uint32_t next[3] = { 0 }, i, n = 0;
	unsigned int l;

	mk_ring(3, 4096, 0);
	for (l = 0; l < 3; l++)
		T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(l), &p[l]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	T_ERR(pinshm_fanin_peek(&c, &m), -EAGAIN);
	for (i = 0; i < 20; i++)
		for (l = 0; l < 3; l++)
			send_one(&p[l], i, 8 + (i % 5) * 8);
	while (pinshm_fanin_peek(&c, &m) == 0) {
		uint64_t w = word_of(&m);

		cr_assert_eq(w >> 32, c.id);
		cr_assert_eq((uint32_t)w, next[c.id], "lane %u: %u, want %u",
			     c.id, (uint32_t)w, next[c.id]);
		cr_assert_eq(m.type, next[c.id]);
		cr_assert_eq(m.len, 8 + (next[c.id] % 5) * 8);
		next[c.id]++;
		n++;
		if (n % 7 == 0)
			pinshm_fanin_release(&c);
	}
	pinshm_fanin_release(&c);
	cr_assert_eq(n, 60);
	for (l = 0; l < 3; l++)
		cr_assert_eq(next[l], 20);
	T_ERR(pinshm_fanin_peek(&c, &m), -EAGAIN);
}

Test(fanin, serves_lanes_in_bursts_so_none_starves)
{
	struct pinshm_fanin p[2], c;
	struct pinshm_msg m;
	unsigned int i, first_b = 0;

	mk_ring(2, 1 << 16, 64);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(0), &p[0]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p[1]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	for (i = 0; i < 3 * PINSHM_FANIN_BURST; i++) {
		send_one(&p[0], i, 8);
		send_one(&p[1], i, 8);
	}
	for (i = 0; i < 3 * PINSHM_FANIN_BURST; i++) {
		T_OK(pinshm_fanin_peek(&c, &m));
		if (c.id == 1 && !first_b)
			first_b = i + 1;
		pinshm_fanin_release(&c);
	}
	cr_assert(first_b > 0 && first_b <= PINSHM_FANIN_BURST + 1,
		  "lane 1 first served at %u", first_b);
	T_OK(pinshm_fanin_detach(&c));
}

/*
 * peek_batch takes a lane's records in a row up to the burst, then moves
 * on; every record once, FIFO per lane, over several batch sizes.
 */
Test(fanin, peek_batch_keeps_bursts_and_fifo_per_lane)
{
	static const unsigned int sizes[] = { 1, 5, 32, 64, 100 };
	struct pinshm_fanin p[3], c;
	struct pinshm_msg m[100];
	uint32_t next[3], total = 3 * 3 * PINSHM_FANIN_BURST, got;
	unsigned int l, k, run, lane;
	int n, j;

	mk_ring(3, 1 << 16, 64);
	for (l = 0; l < 3; l++)
		T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(l), &p[l]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (l = 0; l < 3; l++) {
			next[l] = 0;
			for (j = 0; j < 3 * PINSHM_FANIN_BURST; j++)
				send_one(&p[l], (uint32_t)j, 8 + (j % 3) * 8);
		}
		got = 0;
		run = 0;
		lane = 3;
		while ((n = pinshm_fanin_peek_batch(&c, m, sizes[k])) > 0) {
			cr_assert_leq((unsigned int)n, sizes[k]);
			for (j = 0; j < n; j++) {
				uint64_t w = word_of(&m[j]);

				l = (unsigned int)(w >> 32);
				cr_assert_lt(l, 3);
				cr_assert_eq((uint32_t)w, next[l],
					     "batch %u, lane %u: %u, want %u",
					     sizes[k], l, (uint32_t)w, next[l]);
				next[l]++;
				run = l == lane ? run + 1 : 1;
				lane = l;
				cr_assert_leq(run, PINSHM_FANIN_BURST,
					      "lane %u served %u in a row", l,
					      run);
			}
			cr_assert_eq(c.id, lane, "c.id is the last one's lane");
			got += (uint32_t)n;
			pinshm_fanin_release(&c);
		}
		cr_assert_eq(n, 0);
		cr_assert_eq(got, total, "batch %u: %u of %u", sizes[k], got,
			     total);
	}
	T_OK(pinshm_fanin_detach(&c));
}

/* A corrupt record met in the middle of a batch ends the batch before it;
 * that lane is dropped and the others go on. */
Test(fanin, peek_batch_stops_at_a_corrupt_record)
{
	struct pinshm_fanin_shared *sh;
	struct pinshm_fanin p[2], c;
	struct pinshm_msg m[16];
	struct pinshm_rec *rec;
	int n;

	sh = mk_ring(2, 4096, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(0), &p[0]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p[1]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	send_one(&p[0], 0, 8);
	send_one(&p[0], 1, 8);
	send_one(&p[0], 2, 8);
	send_one(&p[1], 7, 8);
	/* Lane 0's third record (at 2 * 16) lies about its length. */
	rec = (struct pinshm_rec *)((uint8_t *)lane_sh(sh, 0) +
				    PINSHM_SPSC_HDR_SIZE + 32);
	rec->len = PINSHM_REC_COMMIT | 100000;
	n = pinshm_fanin_peek_batch(&c, m, 16);
	cr_assert_eq(n, 2, "the two good records of lane 0: %d", n);
	cr_assert_eq(c.id, 0);
	cr_assert_eq(word_of(&m[1]), 1);
	pinshm_fanin_release(&c);
	n = pinshm_fanin_peek_batch(&c, m, 16);
	cr_assert_eq(n, 1);
	cr_assert_eq(c.id, 1);
	cr_assert_eq(word_of(&m[0]), (1ULL << 32) | 7);
	pinshm_fanin_release(&c);
	cr_assert_eq(pinshm_fanin_peek_batch(&c, m, 16), 0);
	T_OK(pinshm_fanin_detach(&c));
}

Test(fanin, zero_copy_claim_commit_and_batches)
{
	struct pinshm_fanin p, c;
	struct pinshm_msg m[8];
	void *d = NULL;
	int i, n;

	mk_ring(1, 4096, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER, &p));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	T_OK(pinshm_fanin_claim(&p, 16, &d));
	memcpy(d, "hello, fan-in!!", 16);
	pinshm_fanin_commit(&p, 16, 7);
	for (i = 0; i < 4; i++) {
		T_OK(pinshm_fanin_claim(&p, 8, &d));
		memcpy(d, &i, sizeof(i));
		pinshm_fanin_stage(&p, 8, 100 + i);
	}
	n = pinshm_fanin_peek_batch(&c, m, 8);
	cr_assert_eq(n, 1, "staged records are invisible: %d", n);
	pinshm_fanin_publish(&p);
	n = pinshm_fanin_peek_batch(&c, m + 1, 7);
	cr_assert_eq(n, 4);
	cr_assert_eq(memcmp(m[0].data, "hello, fan-in!!", 16), 0);
	cr_assert_eq(m[0].type, 7);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(m[i + 1].type, 100 + (uint32_t)i);
		cr_assert_eq(*(const int *)m[i + 1].data, i);
	}
	pinshm_fanin_release(&c);
	T_ERR(pinshm_fanin_claim(&p, 5000, &d), -EMSGSIZE);
	T_OK(pinshm_fanin_detach(&p));
	T_OK(pinshm_fanin_detach(&c));
}

Test(fanin, wraps_and_refuses_when_a_lane_is_full)
{
	struct pinshm_fanin p[2], c;
	uint8_t buf[200];
	uint32_t type, want = 0, sent;
	int ret, full = 0, i, got;

	mk_ring(2, 1024, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(0), &p[0]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p[1]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	/* Lane 0 fills up; lane 1 is not concerned. */
	for (i = 0; i < 100; i++) {
		memset(buf, i, 100);
		ret = pinshm_fanin_send(&p[0], buf, 100, (uint32_t)i,
					PINSHM_WAIT_NONE);
		if (ret == -EAGAIN) {
			full = 1;
			break;
		}
		T_OK(ret);
	}
	cr_assert(full);
	cr_assert_eq(pinshm_fanin_send(&p[0], buf, 100, 0, PINSHM_WAIT_NONE),
		     -EAGAIN);
	send_one(&p[1], 0, 8);
	/* Many laps through lane 0: wrap fillers included. */
	sent = (uint32_t)i;
	for (want = 0; want < (uint32_t)i + 300; ) {
		got = pinshm_fanin_recv(&c, buf, sizeof(buf), &type,
					PINSHM_WAIT_NONE);
		if (got == -EAGAIN) {
			memset(buf, (int)sent, 100);
			T_OK(pinshm_fanin_send(&p[0], buf, 100, sent,
					       PINSHM_WAIT_NONE));
			sent++;
			continue;
		}
		cr_assert_geq(got, 0, "recv %d", got);
		if (c.id == 1)
			continue;
		cr_assert_eq(got, 100);
		cr_assert_eq(type, want, "type %u want %u", type, want);
		cr_assert_eq(buf[99], (uint8_t)want);
		want++;
	}
	cr_assert_geq(pinshm_obj_stats(g_r, "f", &(struct pinshm_ring_stats){0}),
		      0);
	T_OK(pinshm_fanin_detach(&p[0]));
	T_OK(pinshm_fanin_detach(&p[1]));
	T_OK(pinshm_fanin_detach(&c));
}

Test(fanin, recv_leaves_a_record_too_big_for_the_buffer)
{
	struct pinshm_fanin p[2], c;
	uint8_t buf[64];
	uint32_t type;

	mk_ring(2, 4096, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(0), &p[0]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p[1]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	send_one(&p[1], 1, 8);
	send_one(&p[1], 2, 100);
	cr_assert_eq(pinshm_fanin_recv(&c, buf, sizeof(buf), &type,
				       PINSHM_WAIT_NONE), 8);
	T_ERR(pinshm_fanin_recv(&c, buf, sizeof(buf), &type, PINSHM_WAIT_NONE),
	      -EMSGSIZE);
	T_ERR(pinshm_fanin_recv(&c, buf, sizeof(buf), &type, PINSHM_WAIT_NONE),
	      -EMSGSIZE);
	{
		uint8_t big[128];

		cr_assert_eq(pinshm_fanin_recv(&c, big, sizeof(big), &type,
					       PINSHM_WAIT_NONE), 100);
		cr_assert_eq(type, 2);
	}
	T_OK(pinshm_fanin_detach(&c));
}

Test(fanin, takes_over_a_producer_lane_and_resumes_after_its_last)
{
	struct pinshm_fanin_shared *sh;
	struct pinshm_fanin p, p2, c;
	struct pinshm_msg m;
	void *d = NULL;
	uint32_t i;

	sh = mk_ring(2, 4096, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p));
	T_ERR(pinshm_fanin_last(&p, &m), -ENOENT);
	for (i = 0; i < 5; i++)
		send_one(&p, i, 16);
	/* A claim never committed, then "death": a holder that is gone. */
	T_OK(pinshm_fanin_claim(&p, 16, &d));
	memset(d, 0xee, 16);
	lane_sh(sh, 1)->producer.holder = PINSHM_ROLE_WORD(0x7ffffff0, 1);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p2));
	T_OK(pinshm_fanin_last(&p2, &m));
	cr_assert_eq(word_of(&m), (1ULL << 32) | 4);
	send_one(&p2, 5, 16);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	for (i = 0; i < 6; i++) {
		T_OK(pinshm_fanin_peek(&c, &m));
		cr_assert_eq(word_of(&m), (1ULL << 32) | i);
	}
	T_ERR(pinshm_fanin_peek(&c, &m), -EAGAIN);
	T_ERR(pinshm_fanin_last(&c, &m), -EPERM);
	T_OK(pinshm_fanin_detach(&c));
	T_OK(pinshm_fanin_detach(&p2));
}

Test(fanin, a_new_consumer_gets_unreleased_peeks_again)
{
	struct pinshm_fanin_shared *sh;
	struct pinshm_fanin p, c, c2;
	struct pinshm_msg m;
	uint32_t i;

	sh = mk_ring(1, 4096, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER, &p));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	for (i = 0; i < 6; i++)
		send_one(&p, i, 8);
	for (i = 0; i < 3; i++)
		T_OK(pinshm_fanin_peek(&c, &m));
	pinshm_fanin_release(&c);
	T_OK(pinshm_fanin_peek(&c, &m));	/* seq 3, never released */
	sh->consumer.holder = PINSHM_ROLE_WORD(0x7ffffff0, 1);	/* "died" */
	free(c.lane_c);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c2));
	for (i = 3; i < 6; i++) {
		T_OK(pinshm_fanin_peek(&c2, &m));
		cr_assert_eq(word_of(&m), i);
	}
	T_OK(pinshm_fanin_detach(&c2));
}

Test(fanin, a_corrupt_lane_is_reported_once_and_the_others_go_on)
{
	struct pinshm_fanin_shared *sh;
	struct pinshm_fanin p[2], c;
	struct pinshm_ring_stats s;
	struct pinshm_msg m;
	struct pinshm_rec *rec;

	sh = mk_ring(2, 4096, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(0), &p[0]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p[1]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	/* Lane 0: a header claiming more than the lane holds. */
	rec = (struct pinshm_rec *)((uint8_t *)lane_sh(sh, 0) +
				    PINSHM_SPSC_HDR_SIZE);
	rec->len = PINSHM_REC_COMMIT | 100000;
	send_one(&p[1], 9, 8);
	T_ERR(pinshm_fanin_peek(&c, &m), -EBADMSG);
	cr_assert_eq(c.id, 0);
	T_OK(pinshm_fanin_peek(&c, &m));
	cr_assert_eq(c.id, 1);
	cr_assert_eq(word_of(&m), (1ULL << 32) | 9);
	T_ERR(pinshm_fanin_peek(&c, &m), -EAGAIN);
	T_OK(pinshm_fanin_wait(&c, 0) == -ETIMEDOUT ? 0 : -1);
	T_OK(pinshm_obj_stats(g_r, "f", &s));
	cr_assert_geq(s.corrupt, 1);
	T_OK(pinshm_fanin_detach(&c));
}

Test(fanin, attach_checks_every_header_word)
{
	struct pinshm_fanin_shared *sh;
	struct pinshm_fanin x;
	struct pinshm_fanin_shared save;

	sh = mk_ring(2, 4096, 0);
	save = *sh;
#define BAD(stmt, err)							\
	do {								\
		stmt;							\
		T_ERR(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &x), err); \
		T_ERR(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER, &x), err); \
		*sh = save;						\
	} while (0)
	BAD(sh->magic = 1, -EBADMSG);
	BAD(sh->version = 99, -EPROTONOSUPPORT);
	BAD(sh->lanes = 0, -EBADMSG);
	BAD(sh->lanes = 65, -EBADMSG);
	BAD(sh->lanes = 3, -EBADMSG);
	BAD(sh->lane_capacity = 8192, -EBADMSG);
	BAD(sh->lane_capacity = 4095, -EBADMSG);
	BAD(sh->max_record = 4096, -EBADMSG);
	BAD(sh->lane_off = 0, -EBADMSG);
	BAD(sh->lane_size = 1, -EBADMSG);
#undef BAD
	/* A lane of another geometry: the producer of it is refused, the
	 * consumer skips it and counts it. */
	lane_sh(sh, 1)->capacity = 2048;
	T_ERR(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &x),
	      -EBADMSG);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &x));
	cr_assert_eq(x.bad, 2);
	T_OK(pinshm_fanin_detach(&x));
	lane_sh(sh, 1)->capacity = 4096;
	lane_sh(sh, 1)->head = 3;	/* misaligned: skipped */
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &x));
	cr_assert_eq(x.bad, 2);
	T_OK(pinshm_fanin_detach(&x));
}

Test(fanin, wait_times_out_then_sees_a_commit)
{
	struct pinshm_fanin p, c;

	mk_ring(4, 4096, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(3), &p));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	T_ERR(pinshm_fanin_wait(&c, 1000000), -ETIMEDOUT);
	T_ERR(pinshm_fanin_wait(&p, 0), -EPERM);
	send_one(&p, 1, 8);
	T_OK(pinshm_fanin_wait(&c, 1000000));
	T_OK(pinshm_fanin_detach(&c));
	T_OK(pinshm_fanin_detach(&p));
}

Test(fanin, wakes_a_sleeping_consumer)
{
	struct pinshm_fanin p, c;
	uint8_t buf[16];
	uint32_t type;
	pid_t pid;
	int st;

	mk_ring(2, 4096, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
		    pinshm_fanin_attach(r, "f", PINSHM_PRODUCER_ID(1), &p))
			_exit(2);
		usleep(100000);
		_exit(pinshm_fanin_send(&p, "wake up", 8, 5,
					PINSHM_WAIT_NONE) ? 3 : 0);
	}
	cr_assert_eq(pinshm_fanin_recv(&c, buf, sizeof(buf), &type,
				       PINSHM_WAIT_FUTEX), 8);
	cr_assert_eq(type, 5);
	cr_assert_eq(c.id, 1);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	T_OK(pinshm_fanin_detach(&c));
}

Test(fanin, stats_sum_the_lanes)
{
	struct pinshm_fanin p[2], c;
	struct pinshm_ring_stats s;
	struct pinshm_msg m;

	mk_ring(2, 4096, 0);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(0), &p[0]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p[1]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	send_one(&p[0], 0, 8);
	send_one(&p[1], 0, 16);
	send_one(&p[1], 1, 16);
	T_OK(pinshm_fanin_peek(&c, &m));
	pinshm_fanin_release(&c);
	T_OK(pinshm_obj_stats(g_r, "f", &s));
	cr_assert_eq(s.msgs_in, 3);
	cr_assert_eq(s.bytes_in, 40);
	cr_assert_eq(s.msgs_out, 1);
	cr_assert_eq(s.consumer_pid, (uint32_t)getpid());
	T_OK(pinshm_fanin_detach(&c));
}
