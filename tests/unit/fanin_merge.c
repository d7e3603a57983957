// SPDX-License-Identifier: MIT
/*
 * Suite "fanin_merge": pinshm_fanin_peek_merged() and
 * pinshm_fanin_look_merged(), the consumer's merge of the fan-in ring's
 * lanes by a key in each record. Records carry
 * (lane << 32 | index in the lane) in bytes 0..7 and the key, a u64, at
 * KEY_OFF; lengths vary, so lanes wrap with fillers. Producer i writes the
 * keys i, i + N, i + 2N, ... of N producers, so a drained merge must give
 * 0, 1, 2, ... each once.
 *
 * Real processes where it matters: producers that wrote and died (their
 * records are merged, their empty lanes hold nobody up), and a consumer
 * killed with SIGKILL holding merged peeks (its successor gets them
 * again, in the same order).
 */
#include "testutil.h"

#define KEY_OFF		8u
#define MAX_LEN		80u

static struct pinshm_region *g_r;
static const char *g_name;

static void merge_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(fanin_merge, .fini = merge_fini, .timeout = 60);

static struct pinshm_fanin_shared *mk_ring(unsigned int lanes, uint64_t cap)
{
	struct pinshm_obj_info info;

	g_r = t_create("fmerge", lanes * (cap + 4096) + (64 << 10), &g_name);
	T_OK(pinshm_fanin_create(g_r, "f", lanes, cap, 0));
	T_OK(pinshm_obj_find(g_r, "f", &info));
	return (struct pinshm_fanin_shared *)((uint8_t *)pinshm_region_data(g_r) +
					      info.offset);
}

/* 16..80 bytes, a function of the key. */
static uint32_t len_of(uint64_t key)
{
	return 16 + (uint32_t)(key * 7 % 9) * 8;
}

/* Record idx of lane id with key; 0 or -errno (never asserts: children
 * call it too). */
static int send_key(struct pinshm_fanin *p, uint32_t idx, uint64_t key)
{
	uint8_t buf[MAX_LEN];
	uint64_t w = (uint64_t)p->id << 32 | idx;
	uint32_t len = len_of(key);

	memset(buf, (int)(key & 0xff), sizeof(buf));
	memcpy(buf, &w, 8);
	memcpy(buf + KEY_OFF, &key, 8);
	return pinshm_fanin_send(p, buf, len, p->id, PINSHM_WAIT_NONE);
}

static uint64_t key_of(const struct pinshm_msg *m)
{
	uint64_t key;

	cr_assert_geq(m->len, KEY_OFF + 8);
	memcpy(&key, (const uint8_t *)m->data + KEY_OFF, 8);
	return key;
}

/* The record checks out: its lane is c->id, its length and bytes fit
 * its key; returns the key. */
static uint64_t check(const struct pinshm_fanin *c, const struct pinshm_msg *m)
{
	uint64_t w, key = key_of(m);
	const uint8_t *p = m->data;
	uint32_t i;

	memcpy(&w, p, 8);
	cr_assert_eq(w >> 32, c->id, "record of lane %llu handed out as lane %u",
		     (unsigned long long)(w >> 32), c->id);
	cr_assert_eq(m->type, c->id);
	cr_assert_eq(m->len, len_of(key), "key %llu: len %u",
		     (unsigned long long)key, m->len);
	for (i = KEY_OFF + 8; i < m->len; i++)
		cr_assert_eq(p[i], (uint8_t)key, "key %llu torn at %u",
			     (unsigned long long)key, i);
	return key;
}

/* Child: producer id writes keys id, id + n, ... (count of them), then
 * exits without detaching; 0 or an exit status saying what failed. */
static void fill_lane_and_die(unsigned int id, unsigned int n, uint32_t count)
{
	struct pinshm_region *r;
	struct pinshm_fanin p;
	uint32_t k;

	t_child_init();
	if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
	    pinshm_fanin_attach(r, "f", PINSHM_PRODUCER_ID((int)id), &p))
		_exit(2);
	for (k = 0; k < count; k++)
		if (send_key(&p, k, id + (uint64_t)k * n))
			_exit(3);
	_exit(0);
}

Test(fanin_merge, producer_processes_interleaved_keys_come_out_sorted_once)
{
	enum { N = 4, PER = 60 };
	struct pinshm_fanin c;
	struct pinshm_ring_stats s;
	struct pinshm_msg m;
	uint32_t next_idx[N] = { 0 };
	uint64_t key, want = 0, empty = ~0ULL;
	pid_t pid[N];
	unsigned int i;

	mk_ring(N, 8192);
	for (i = 0; i < N; i++) {
		pid[i] = fork();
		cr_assert_geq(pid[i], 0);
		if (pid[i] == 0)
			fill_lane_and_die(i, N, PER);
	}
	for (i = 0; i < N; i++)
		T_CHILD_OK(pid[i]);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	while (pinshm_fanin_peek_merged(&c, &m, KEY_OFF, &empty) == 0) {
		uint64_t w;

		key = check(&c, &m);
		cr_assert_eq(key, want, "merged key %llu, want %llu",
			     (unsigned long long)key, (unsigned long long)want);
		cr_assert_eq(key % N, c.id);
		memcpy(&w, m.data, 8);
		cr_assert_eq((uint32_t)w, next_idx[c.id]);
		next_idx[c.id]++;
		/* Every lane has a record waiting until the last round. */
		if (want < N * (PER - 1))
			cr_assert_eq(empty, 0, "key %llu: empty %llx",
				     (unsigned long long)key,
				     (unsigned long long)empty);
		want++;
		if (want % 5 == 0)
			pinshm_fanin_release(&c);
	}
	cr_assert_eq(want, N * PER);
	cr_assert_eq(empty, (1ULL << N) - 1, "every lane drained: %llx",
		     (unsigned long long)empty);
	pinshm_fanin_release(&c);
	T_OK(pinshm_obj_stats(g_r, "f", &s));
	cr_assert_eq(s.msgs_in, N * PER);
	cr_assert_eq(s.msgs_out, N * PER);
	T_ERR(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL), -EAGAIN);
	T_OK(pinshm_fanin_detach(&c));
}

/* Many rounds through lanes of 4 KiB: fillers at the wrap, keys sorted
 * across rounds, the lanes refilled after every drain. */
Test(fanin_merge, merges_across_wraps_round_after_round)
{
	enum { N = 3, ROUND = 25, ROUNDS = 12 };
	struct pinshm_fanin p[N], c;
	struct pinshm_msg m;
	uint32_t idx[N] = { 0 };
	uint64_t key, want = 0;
	unsigned int i, r, k;

	mk_ring(N, 4096);
	for (i = 0; i < N; i++)
		T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID((int)i),
					 &p[i]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < N; i++)
			for (k = 0; k < ROUND; k++, idx[i]++)
				T_OK(send_key(&p[i], idx[i],
					      i + (uint64_t)idx[i] * N));
		while (pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL) == 0) {
			key = check(&c, &m);
			cr_assert_eq(key, want, "round %u: key %llu, want %llu",
				     r, (unsigned long long)key,
				     (unsigned long long)want);
			want++;
			if (want % 11 == 0)
				pinshm_fanin_release(&c);
		}
		pinshm_fanin_release(&c);
	}
	cr_assert_eq(want, (uint64_t)N * ROUND * ROUNDS);
	for (i = 0; i < N; i++)
		T_OK(pinshm_fanin_detach(&p[i]));
	T_OK(pinshm_fanin_detach(&c));
}

/*
 * Merged peeks, plain peeks, releases and recv (fitting or not) in a mix:
 * every record exactly once, the merged ones in increasing key order
 * (whatever else took records from the heads, what is left is above the
 * last merged key), and each release gives back everything peeked.
 */
Test(fanin_merge, mixes_with_peek_release_and_recv)
{
	enum { N = 3, PER = 40, TOTAL = N * PER };
	struct pinshm_fanin p[N], c;
	struct pinshm_ring_stats s;
	struct pinshm_msg m;
	uint8_t seen[TOTAL] = { 0 }, buf[MAX_LEN], tiny[KEY_OFF + 7];
	uint64_t key, last_merged = 0, got = 0, released = 0, pending = 0;
	uint32_t type = 0, k;
	unsigned int i, step;
	bool any_merged = false;
	int ret;

	mk_ring(N, 8192);
	for (i = 0; i < N; i++) {
		T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID((int)i),
					 &p[i]));
		for (k = 0; k < PER; k++)
			T_OK(send_key(&p[i], k, i + (uint64_t)k * N));
	}
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	for (step = 0; got < TOTAL; step++) {
		switch (step % 7) {
		case 0: case 1: case 3:
			T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
			key = check(&c, &m);
			cr_assert(!any_merged || key > last_merged,
				  "merged %llu after %llu",
				  (unsigned long long)key,
				  (unsigned long long)last_merged);
			last_merged = key;
			any_merged = true;
			break;
		case 2:
			pinshm_fanin_release(&c);
			released += pending;
			pending = 0;
			T_OK(pinshm_obj_stats(g_r, "f", &s));
			cr_assert_eq(s.msgs_out, released);
			continue;
		case 4:
			T_OK(pinshm_fanin_peek(&c, &m));
			key = check(&c, &m);
			break;
		case 5:
			/* Every record is too big for tiny: it stays, and so
			 * do the peeks before it. */
			T_ERR(pinshm_fanin_recv(&c, tiny, sizeof(tiny), &type,
						PINSHM_WAIT_NONE), -EMSGSIZE);
			T_OK(pinshm_obj_stats(g_r, "f", &s));
			cr_assert_eq(s.msgs_out, released);
			continue;
		default:
			ret = pinshm_fanin_recv(&c, buf, sizeof(buf), &type,
						PINSHM_WAIT_NONE);
			cr_assert_gt(ret, 0, "recv %d", ret);
			m = (struct pinshm_msg){ buf, (uint32_t)ret, type };
			key = check(&c, &m);
			cr_assert_lt(key, TOTAL);
			cr_assert_not(seen[key], "key %llu twice",
				      (unsigned long long)key);
			seen[key] = 1;
			got++;
			/* recv released everything peeked before. */
			released += pending + 1;
			pending = 0;
			T_OK(pinshm_obj_stats(g_r, "f", &s));
			cr_assert_eq(s.msgs_out, released);
			continue;
		}
		cr_assert_lt(key, TOTAL);
		cr_assert_not(seen[key], "key %llu twice",
			      (unsigned long long)key);
		seen[key] = 1;
		got++;
		pending++;
	}
	T_ERR(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL), -EAGAIN);
	T_ERR(pinshm_fanin_peek(&c, &m), -EAGAIN);
	pinshm_fanin_release(&c);
	T_OK(pinshm_obj_stats(g_r, "f", &s));
	cr_assert_eq(s.msgs_out, TOTAL);
	for (k = 0; k < TOTAL; k++)
		cr_assert(seen[k], "key %u never came", k);
	T_OK(pinshm_fanin_detach(&c));
}

/*
 * Lane 0 never written, lane 1's producer a process that committed a few
 * records, claimed one more and was killed: its records are merged, the
 * claim is never seen, and once it is drained neither empty lane holds up
 * lanes 2 and 3. *empty names the lanes with nothing waiting.
 */
Test(fanin_merge, an_empty_or_dead_lane_does_not_hold_the_others)
{
	struct pinshm_fanin p[4], c;
	struct pinshm_msg m;
	volatile uint32_t *ready = t_shared_alloc(4096);
	uint64_t key, empty, want[] = { 1, 2, 3, 5, 7, 9, 10, 11, 12, 13 };
	unsigned int i, k;
	pid_t pid;
	int st;

	mk_ring(4, 4096);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		void *d;

		t_child_init();
		if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
		    pinshm_fanin_attach(r, "f", PINSHM_PRODUCER_ID(1), &p[1]) ||
		    send_key(&p[1], 0, 1) || send_key(&p[1], 1, 5) ||
		    send_key(&p[1], 2, 9) ||
		    pinshm_fanin_claim(&p[1], 32, &d))
			_exit(2);
		memset(d, 0, 32);	/* key 0: it would come first */
		__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
		for (;;)
			pause();
	}
	while (!__atomic_load_n(ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	kill(pid, SIGKILL);
	st = t_wait(pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(2), &p[2]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(3), &p[3]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	T_OK(send_key(&p[2], 0, 2));
	T_OK(send_key(&p[2], 1, 3));
	T_OK(send_key(&p[3], 0, 7));
	T_OK(send_key(&p[3], 1, 10));
	T_OK(send_key(&p[3], 2, 12));
	T_OK(send_key(&p[2], 2, 11));
	T_OK(send_key(&p[2], 3, 13));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, &empty));
		key = check(&c, &m);
		cr_assert_eq(key, want[i], "#%u: key %llu, want %llu", i,
			     (unsigned long long)key,
			     (unsigned long long)want[i]);
		/* Lane 0 is always empty; lane 1 once key 9 was taken. */
		cr_assert_eq(empty & 1, 1);
		cr_assert_eq(empty >> 1 & 1, key > 9 ? 1u : 0u,
			     "key %llu: empty %llx", (unsigned long long)key,
			     (unsigned long long)empty);
		if (i % 3 == 2)
			pinshm_fanin_release(&c);
	}
	T_ERR(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, &empty), -EAGAIN);
	cr_assert_eq(empty, 0xf);
	/* A new holder of lane 1 goes on after the dead one's last record. */
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p[1]));
	T_OK(pinshm_fanin_last(&p[1], &m));
	cr_assert_eq(key_of(&m), 9);
	T_OK(send_key(&p[1], 3, 14));
	for (k = 0; k < 2; k++)
		T_OK(send_key(&p[3], 3 + k, 15 + k));
	for (key = 14; key <= 16; key++) {
		T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
		cr_assert_eq(check(&c, &m), key);
	}
	pinshm_fanin_release(&c);
	T_OK(pinshm_fanin_detach(&c));
	munmap((void *)ready, 4096);
}

Test(fanin_merge, a_corrupt_lane_is_reported_once_and_the_merge_goes_on)
{
	struct pinshm_fanin_shared *sh;
	struct pinshm_fanin p[3], c;
	struct pinshm_msg m;
	struct pinshm_rec *rec;
	uint64_t empty;
	unsigned int i;

	sh = mk_ring(3, 4096);
	for (i = 0; i < 3; i++)
		T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID((int)i),
					 &p[i]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	T_OK(send_key(&p[0], 0, 4));
	T_OK(send_key(&p[2], 0, 3));
	T_OK(send_key(&p[2], 1, 6));
	/* Lane 1: a header claiming more than the lane holds. */
	rec = (struct pinshm_rec *)((uint8_t *)sh + sh->lane_off +
				    sh->lane_size + PINSHM_SPSC_HDR_SIZE);
	rec->len = PINSHM_REC_COMMIT | 100000;
	T_ERR(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL), -EBADMSG);
	cr_assert_eq(c.id, 1);
	cr_assert_eq(c.bad, 2);
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, &empty));
	cr_assert_eq(check(&c, &m), 3);
	cr_assert_eq(empty, 0, "a corrupt lane is not an empty one");
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
	cr_assert_eq(check(&c, &m), 4);
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, &empty));
	cr_assert_eq(check(&c, &m), 6);
	cr_assert_eq(empty, 1);
	T_ERR(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, &empty), -EAGAIN);
	cr_assert_eq(empty, 5);
	T_OK(pinshm_fanin_detach(&c));
}

/*
 * Looking takes nothing: no lane moves, c->id stays, the record looked at
 * stays intact through releases. A consumer that holds the merge back
 * while lane 1 is empty gets lane 1's late, smaller key first.
 */
Test(fanin_merge, look_takes_nothing_and_lets_a_late_lane_catch_up)
{
	struct pinshm_fanin p[2], c;
	struct pinshm_ring_stats s;
	struct pinshm_msg m, seen;
	uint64_t empty;
	int i;

	mk_ring(2, 4096);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(0), &p[0]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p[1]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	T_ERR(pinshm_fanin_look_merged(&c, &m, KEY_OFF, &empty), -EAGAIN);
	cr_assert_eq(empty, 3);
	T_OK(send_key(&p[0], 0, 10));
	T_OK(send_key(&p[0], 1, 30));
	T_OK(send_key(&p[1], 0, 5));
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
	cr_assert_eq(check(&c, &m), 5);
	cr_assert_eq(c.id, 1);
	/* Lane 1 is empty now: look, and hold key 10 back. */
	for (i = 0; i < 3; i++) {
		cr_assert_eq(pinshm_fanin_look_merged(&c, &seen, KEY_OFF,
						      &empty), 0);
		cr_assert_eq(key_of(&seen), 10);
		cr_assert_eq(empty, 2);
		cr_assert_eq(c.id, 1, "look leaves c->id alone");
		pinshm_fanin_release(&c);
	}
	T_OK(pinshm_obj_stats(g_r, "f", &s));
	cr_assert_eq(s.msgs_out, 1);
	/* Lane 1 catches up with a smaller key: it goes first. */
	T_OK(send_key(&p[1], 1, 8));
	cr_assert_eq(pinshm_fanin_look_merged(&c, &m, KEY_OFF, &empty), 1);
	cr_assert_eq(key_of(&m), 8);
	cr_assert_eq(empty, 0);
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
	cr_assert_eq(check(&c, &m), 8);
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
	cr_assert_eq(check(&c, &m), 10);
	cr_assert_eq(m.data, seen.data, "the record looked at is the one peeked");
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, &empty));
	cr_assert_eq(check(&c, &m), 30);
	cr_assert_eq(empty, 2);
	pinshm_fanin_release(&c);
	T_OK(pinshm_obj_stats(g_r, "f", &s));
	cr_assert_eq(s.msgs_out, 4);
	T_ERR(pinshm_fanin_look_merged(&p[0], &m, KEY_OFF, NULL), -EPERM);
	T_OK(pinshm_fanin_detach(&c));
}

/*
 * A record shorter than key_off + 8 has key 0: it comes out as soon as it
 * is at its lane's head (ties: the lower lane), and the key is never read
 * past the record, even at offsets near UINT32_MAX.
 */
Test(fanin_merge, a_record_too_short_for_the_key_sorts_as_key_0)
{
	struct pinshm_fanin p[2], c;
	struct pinshm_msg m;
	uint8_t rec[KEY_OFF + 7];
	uint64_t key = 50;
	unsigned int i;

	mk_ring(2, 4096);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(0), &p[0]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID(1), &p[1]));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	T_OK(send_key(&p[0], 0, 10));
	T_OK(send_key(&p[0], 1, 20));
	/* Lane 1: 15 bytes (one short of the key), then key 15, then an
	 * empty record, then key 30. */
	memset(rec, 0xff, sizeof(rec));
	T_OK(pinshm_fanin_send(&p[1], rec, sizeof(rec), 100, PINSHM_WAIT_NONE));
	T_OK(send_key(&p[1], 1, 15));
	T_OK(pinshm_fanin_send(&p[1], rec, 0, 101, PINSHM_WAIT_NONE));
	T_OK(send_key(&p[1], 3, 30));

	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
	cr_assert_eq(c.id, 1);
	cr_assert_eq(m.type, 100);
	cr_assert_eq(m.len, sizeof(rec));
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
	cr_assert_eq(check(&c, &m), 10);
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
	cr_assert_eq(check(&c, &m), 15);
	/* The empty record, key 0, before lane 0's key 20. */
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
	cr_assert_eq(c.id, 1);
	cr_assert_eq(m.type, 101);
	cr_assert_eq(m.len, 0);
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
	cr_assert_eq(check(&c, &m), 20);
	T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
	cr_assert_eq(check(&c, &m), 30);
	pinshm_fanin_release(&c);

	/* Past every record: all keys 0, so lane 0 first, then lane 1. */
	T_OK(send_key(&p[1], 4, 1));
	T_OK(send_key(&p[0], 2, 2));
	T_OK(send_key(&p[0], 3, 3));
	for (i = 0; i < 3; i++) {
		T_OK(pinshm_fanin_peek_merged(&c, &m, UINT32_MAX - 3, NULL));
		cr_assert_eq(c.id, i < 2 ? 0u : 1u, "#%u from lane %u", i, c.id);
	}
	pinshm_fanin_release(&c);
	/* An unaligned offset reads the bytes there, in native order. */
	memset(rec, 0, sizeof(rec));
	memcpy(rec + 3, &key, 8);
	T_OK(pinshm_fanin_send(&p[0], rec, 11, 7, PINSHM_WAIT_NONE));
	key = 40;
	memcpy(rec + 3, &key, 8);
	T_OK(pinshm_fanin_send(&p[1], rec, 11, 8, PINSHM_WAIT_NONE));
	T_OK(pinshm_fanin_peek_merged(&c, &m, 3, NULL));
	cr_assert_eq(m.type, 8);
	T_OK(pinshm_fanin_peek_merged(&c, &m, 3, NULL));
	cr_assert_eq(m.type, 7);
	/* Not the consumer, or detached: refused. */
	T_ERR(pinshm_fanin_peek_merged(&p[0], &m, 0, NULL), -EPERM);
	T_OK(pinshm_fanin_detach(&c));
	T_ERR(pinshm_fanin_peek_merged(&c, &m, 0, NULL), -EINVAL);
}

/*
 * A consumer process peeks merged records, releases some, and is killed
 * with SIGKILL while holding the rest: the next consumer takes the role
 * over and gets the unreleased ones again, in the same merged order, then
 * the others.
 */
Test(fanin_merge, a_killed_consumer_gets_its_merged_peeks_again)
{
	enum { N = 3, PER = 10, TOTAL = N * PER, RELEASED = 7, HELD = 9 };
	struct pinshm_fanin p[N], c;
	struct pinshm_ring_stats s;
	struct pinshm_msg m;
	volatile uint32_t *ready = t_shared_alloc(4096);
	uint64_t key;
	unsigned int i;
	uint32_t k;
	pid_t pid;
	int st = 0;

	mk_ring(N, 4096);
	for (i = 0; i < N; i++) {
		T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_PRODUCER_ID((int)i),
					 &p[i]));
		for (k = 0; k < PER; k++)
			T_OK(send_key(&p[i], k, i + (uint64_t)k * N));
	}
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_fanin cc;
		uint64_t want;

		t_child_init();
		if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
		    pinshm_fanin_attach(r, "f", PINSHM_CONSUMER, &cc))
			_exit(2);
		for (want = 0; want < RELEASED + HELD; want++) {
			if (pinshm_fanin_peek_merged(&cc, &m, KEY_OFF, NULL))
				_exit(3);
			memcpy(&key, (const uint8_t *)m.data + KEY_OFF, 8);
			if (key != want)
				_exit(4);
			if (want + 1 == RELEASED)
				pinshm_fanin_release(&cc);
		}
		__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
		for (;;)
			pause();
	}
	while (!__atomic_load_n(ready, __ATOMIC_ACQUIRE)) {
		cr_assert_eq(waitpid(pid, &st, WNOHANG), 0,
			     "consumer exited: %d", WEXITSTATUS(st));
		usleep(1000);
	}
	kill(pid, SIGKILL);
	st = t_wait(pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	T_OK(pinshm_obj_stats(g_r, "f", &s));
	cr_assert_eq(s.msgs_out, RELEASED);

	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	for (key = RELEASED; key < TOTAL; key++) {
		T_OK(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL));
		cr_assert_eq(check(&c, &m), key);
	}
	T_ERR(pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL), -EAGAIN);
	pinshm_fanin_release(&c);
	T_OK(pinshm_obj_stats(g_r, "f", &s));
	cr_assert_eq(s.msgs_out, TOTAL);
	T_OK(pinshm_fanin_detach(&c));
	munmap((void *)ready, 4096);
}

/* The waiting loop of the manual: wait, then merge; a producer process
 * commits while the consumer sleeps. */
Test(fanin_merge, waits_then_merges)
{
	struct pinshm_fanin c;
	struct pinshm_msg m;
	uint64_t want = 0;
	pid_t pid;
	int ret;

	mk_ring(2, 4096);
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_fanin pp;
		uint32_t k;

		t_child_init();
		if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
		    pinshm_fanin_attach(r, "f", PINSHM_PRODUCER_ID(1), &pp))
			_exit(2);
		for (k = 0; k < 4; k++) {
			usleep(20000);
			if (send_key(&pp, k, k))
				_exit(3);
		}
		_exit(pinshm_fanin_detach(&pp) ? 4 : 0);
	}
	while (want < 4) {
		ret = pinshm_fanin_peek_merged(&c, &m, KEY_OFF, NULL);
		if (ret == -EAGAIN) {
			pinshm_fanin_release(&c);
			ret = pinshm_fanin_wait(&c, 10000000000LL);
			cr_assert(ret == 0 || ret == -ENOSYS ||
				  ret == -EOPNOTSUPP, "wait %d", ret);
			if (ret)
				usleep(1000);
			continue;
		}
		T_OK(ret);
		cr_assert_eq(check(&c, &m), want);
		want++;
	}
	T_CHILD_OK(pid);
	T_OK(pinshm_fanin_detach(&c));
}
