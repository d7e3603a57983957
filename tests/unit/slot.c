// SPDX-License-Identifier: MIT
/*
 * Suite "slot": the latest-value slot (seqlock) in one process, plus
 * forked read-only readers and a writer that dies mid-write —
 * libshm/src/slot.c and the inline paths of pinshm/slot.h.
 *
 * A torn read cannot be produced by chance in one thread, so the tests
 * force one: a write (or half a write) lands between read_begin() and
 * read_retry(), and read_retry() must say so.
 */
#include "testutil.h"

static struct pinshm_region *g_r;
static const char *g_name;

static void slot_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(slot, .fini = slot_fini, .timeout = 30);

static void mk_slot(uint32_t size)
{
	struct pinshm_obj_info info;

	g_r = t_create("slot", (256 << 10), &g_name);
	T_OK(pinshm_slot_create(g_r, "v", size));
	T_OK(pinshm_obj_find(g_r, "v", &info));
	cr_assert_eq(info.type, PINSHM_OBJ_SLOT);
	cr_assert_eq(info.capacity, size);
}

static struct pinshm_slot_shared *slot_hdr(void)
{
	return (struct pinshm_slot_shared *)t_ring_hdr(g_r, "v");
}

static struct pinshm_ring_stats stats(void)
{
	struct pinshm_ring_stats s;

	T_OK(pinshm_obj_stats(g_r, "v", &s));
	return s;
}

Test(slot, create_rejects_bad_sizes)
{
	mk_slot(48);
	T_ERR(pinshm_slot_create(g_r, "x", 0), -EINVAL);
	T_ERR(pinshm_slot_create(g_r, "x", (64 << 10) + 1), -EINVAL);
	T_ERR(pinshm_slot_create(NULL, "x", 8), -EINVAL);
	T_ERR(pinshm_slot_create(g_r, "v", 8), -EEXIST);
	T_OK(pinshm_slot_create(g_r, "big", 64 << 10));
}

Test(slot, attach_checks_type_and_role)
{
	struct pinshm_slot w, w2, rd;

	mk_slot(48);
	T_OK(pinshm_spsc_create(g_r, "s", 4096, 0));
	T_ERR(pinshm_slot_attach(g_r, "s", PINSHM_WRITER, &w), -EPROTOTYPE);
	T_ERR(pinshm_slot_attach(g_r, "s", PINSHM_READER, &rd), -EPROTOTYPE);
	T_ERR(pinshm_slot_attach(g_r, "nope", PINSHM_READER, &rd), -ENOENT);
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_WRITER, &w));
	cr_assert_eq(stats().producer_pid, (uint32_t)getpid());
	T_ERR(pinshm_slot_attach(g_r, "v", PINSHM_WRITER, &w2), -EBUSY);
	T_OK(pinshm_slot_detach(&w));
	cr_assert_eq(stats().producer_pid, 0);
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_WRITER, &w2));
	T_OK(pinshm_slot_detach(&w2));
	T_ERR(pinshm_slot_detach(&w2), -EINVAL);
}

Test(slot, an_unwritten_slot_has_no_value)
{
	struct pinshm_slot rd;
	uint64_t seq;
	char buf[48];

	mk_slot(48);
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_READER, &rd));
	T_ERR(pinshm_slot_read(&rd, buf, sizeof(buf), NULL), -ENODATA);
	cr_assert_null(pinshm_slot_peek(&rd, &seq));
	cr_assert_not(pinshm_slot_release(&rd, seq));
}

Test(slot, a_reader_gets_the_latest_value_and_its_version)
{
	struct pinshm_slot w, rd;
	uint64_t v, ver = 0, i;
	uint8_t buf[48];

	mk_slot(48);
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_WRITER, &w));
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_READER, &rd));
	T_ERR(pinshm_slot_send(&rd, buf, 8), -EPERM);
	cr_assert_null(pinshm_slot_claim(&rd));
	for (i = 1; i <= 10; i++) {
		t_pat_fill(buf, 48, i);
		T_OK(pinshm_slot_send(&w, buf, 48));
	}
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(pinshm_slot_read(&rd, buf, sizeof(buf), &ver), 48);
	cr_assert_eq(t_pat_check(buf, 48, 10), -1);
	cr_assert_eq(ver, 10);
	/* A prefix only. */
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(pinshm_slot_read(&rd, buf, 5, NULL), 5);
	cr_assert_eq(t_pat_check(buf, 5, 10), -1);
	cr_assert_eq(buf[5], 0);
	/* A short write keeps the old tail. */
	v = 0x1122334455667788ull;
	T_OK(pinshm_slot_send(&w, &v, 8));
	cr_assert_eq(pinshm_slot_read(&rd, buf, sizeof(buf), &ver), 48);
	cr_assert_eq(memcmp(buf, &v, 8), 0);
	for (i = 8; i < 48; i++)
		cr_assert_eq(buf[i], t_pat(10, (uint32_t)i), "byte %llu",
			     (unsigned long long)i);
	cr_assert_eq(ver, 11);
	T_ERR(pinshm_slot_send(&w, (uint8_t[64]){ 0 }, 49), -EMSGSIZE);
	cr_assert_eq(rd.reads, 3);
	cr_assert_eq(stats().msgs_in, 11);
	cr_assert_eq(stats().bytes_in, 10 * 48 + 8);
	cr_assert_eq(stats().tail, 11);
	T_OK(pinshm_slot_detach(&w));
}

Test(slot, values_of_every_shape_round_trip)
{
	static const uint32_t sizes[] = { 1, 7, 8, 9, 48, 49, 63, 64, 65,
					  4096, 40000, 64 << 10 };
	static uint8_t in[64 << 10], out[64 << 10];
	struct pinshm_slot w, rd;
	char name[8];
	unsigned int k;

	g_r = t_create("shapes", 1 << 20, &g_name);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		snprintf(name, sizeof(name), "v%u", k);
		T_OK(pinshm_slot_create(g_r, name, sizes[k]));
		T_OK(pinshm_slot_attach(g_r, name, PINSHM_WRITER, &w));
		T_OK(pinshm_slot_attach(g_r, name, PINSHM_READER, &rd));
		t_fill_random(in, sizes[k], k + 1);
		T_OK(pinshm_slot_send(&w, in, sizes[k]));
		memset(out, 0, sizes[k]);
		cr_assert_eq(pinshm_slot_read(&rd, out, sizeof(out), NULL),
			     (int)sizes[k]);
		cr_assert_eq(memcmp(in, out, sizes[k]), 0, "size %u",
			     sizes[k]);
		T_OK(pinshm_slot_detach(&w));
	}
}

/* In place: a write between read_begin and read_retry is caught. */
Test(slot, a_write_between_read_begin_and_read_retry_is_detected)
{
	struct pinshm_slot w, rd;
	const uint64_t *v;
	uint64_t seq, a, b, x;

	mk_slot(16);
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_WRITER, &w));
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_READER, &rd));
	x = 1;
	T_OK(pinshm_slot_send(&w, (uint64_t[]){ 1, 1 }, 16));

	/* Undisturbed: no retry. */
	v = pinshm_slot_peek(&rd, &seq);
	cr_assert_not_null(v);
	a = v[0];
	b = v[1];
	cr_assert_not(pinshm_slot_release(&rd, seq));
	cr_assert_eq(a, 1);
	cr_assert_eq(b, 1);
	cr_assert_eq(pinshm_slot_version(seq), 1);

	/* A whole write lands between the two fields: torn, and caught. */
	v = pinshm_slot_peek(&rd, &seq);
	a = v[0];
	x = 2;
	T_OK(pinshm_slot_send(&w, (uint64_t[]){ x, x }, 16));
	b = v[1];
	cr_assert_neq(a, b, "the read really is torn");
	cr_assert(pinshm_slot_release(&rd, seq));

	/* Half a write: begun before read_begin, still open. */
	uint64_t *wv = pinshm_slot_claim(&w);
	wv[0] = 3;
	v = pinshm_slot_peek(&rd, &seq);
	a = v[0];
	b = v[1];
	cr_assert(pinshm_slot_release(&rd, seq), "odd seq: retry");
	/* Half a write begun after read_begin. */
	pinshm_slot_commit(&w, 16);
	v = pinshm_slot_peek(&rd, &seq);
	a = v[0];
	wv = pinshm_slot_claim(&w);
	wv[1] = 4;
	b = v[1];
	cr_assert(pinshm_slot_release(&rd, seq));
	pinshm_slot_commit(&w, 16);
	(void)a;
	(void)b;
	T_OK(pinshm_slot_detach(&w));
}

/* A write that never ends: copying reads give up, bounded. */
Test(slot, a_read_during_an_endless_write_gives_up_with_EAGAIN)
{
	struct pinshm_slot w, rd;
	uint64_t val = 5, got = 0, t0;

	mk_slot(8);
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_WRITER, &w));
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_READER, &rd));
	T_OK(pinshm_slot_send(&w, &val, 8));
	pinshm_slot_claim(&w);
	t0 = t_now_ns(CLOCK_MONOTONIC);
	T_ERR(pinshm_slot_read(&rd, &got, 8, NULL), -EAGAIN);
	cr_log_info("gave up after %d tries in %.1f us", PINSHM_SLOT_READ_TRIES,
		    (t_now_ns(CLOCK_MONOTONIC) - t0) / 1e3);
	cr_assert_eq(rd.busy, 1);
	cr_assert_eq(rd.retries, PINSHM_SLOT_READ_TRIES);
	pinshm_slot_commit(&w, 8);
	cr_assert_eq(pinshm_slot_read(&rd, &got, 8, NULL), 8);
	cr_assert_eq(got, 5, "write_end of an unchanged value republishes it");
	T_OK(pinshm_slot_detach(&w));
}

/*
 * A writer killed mid-write leaves seq odd: readers give up (-EAGAIN),
 * never spin for ever; its successor withdraws the torn value (readers
 * get -ENODATA) and makes seq even again; its first write is a value.
 */
Test(slot, a_writer_dead_mid_write_is_replaced_and_its_torn_value_withdrawn)
{
	struct pinshm_slot w, rd;
	uint64_t val[2] = { 7, 7 }, got[2];
	pid_t pid;

	mk_slot(16);
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_READER, &rd));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_slot cw;
		uint64_t *v;

		t_child_init();
		if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
		    pinshm_slot_attach(r, "v", PINSHM_WRITER, &cw) ||
		    pinshm_slot_send(&cw, val, 16))
			_exit(1);
		v = pinshm_slot_claim(&cw);
		v[0] = 8;	/* torn: v[1] stays 7 */
		_exit(0);	/* dies inside the write */
	}
	T_CHILD_OK(pid);
	cr_assert(slot_hdr()->seq & 1);
	T_ERR(pinshm_slot_read(&rd, got, sizeof(got), NULL), -EAGAIN);
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_WRITER, &w));
	cr_assert_eq(slot_hdr()->seq & 1, 0, "the successor evens seq");
	cr_assert_eq(stats().recoveries, 1);
	T_ERR(pinshm_slot_read(&rd, got, sizeof(got), NULL), -ENODATA);
	val[0] = val[1] = 9;
	T_OK(pinshm_slot_send(&w, val, 16));
	cr_assert_eq(pinshm_slot_read(&rd, got, sizeof(got), NULL), 16);
	cr_assert_eq(got[0], 9);
	cr_assert_eq(got[1], 9);
	T_OK(pinshm_slot_detach(&w));
	/* A clean detach leaves nothing to recover. */
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_WRITER, &w));
	cr_assert_eq(stats().recoveries, 1);
	T_OK(pinshm_slot_detach(&w));
}

static void ro_child(int access)
{
	struct pinshm_region *r;
	struct pinshm_slot rd, w;
	uint64_t got[4], seq, ver;
	const uint64_t *v;

	t_child_init();
	if (pinshm_region_open(g_name, access, T_BACKEND, &r))
		_exit(10);
	if (pinshm_slot_attach(r, "v", PINSHM_WRITER, &w) != -EACCES)
		_exit(11);
	if (pinshm_slot_attach(r, "v", PINSHM_READER, &rd))
		_exit(12);
	if (pinshm_slot_read(&rd, got, sizeof(got), &ver) != 32 ||
	    got[0] != 42 || got[3] != 45 || ver != 1)
		_exit(13);
	v = pinshm_slot_peek(&rd, &seq);
	if (!v || pinshm_slot_release(&rd, seq) || v[1] != 43)
		_exit(14);
	if (pinshm_slot_send(&rd, got, 8) != -EPERM)
		_exit(15);
	pinshm_region_close(r);
	_exit(0);
}

static void ro_reader(int access)
{
	struct pinshm_slot w;
	uint64_t val[4] = { 42, 43, 44, 45 };
	pid_t pid;

	mk_slot(32);
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_WRITER, &w));
	T_OK(pinshm_slot_send(&w, val, 32));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		ro_child(access);
	T_CHILD_OK(pid);
	T_OK(pinshm_slot_detach(&w));
}

Test(slot, a_reader_works_on_a_read_only_mapping)
{
	ro_reader(PINSHM_RDONLY);
}

Test(slot, a_reader_works_on_an_observe_mapping)
{
	ro_reader(PINSHM_OBSERVE);
}

Test(slot, a_corrupt_header_is_refused_at_attach)
{
	struct pinshm_slot rd;
	uint64_t got;

	mk_slot(8);
	slot_hdr()->size = 1 << 20;
	T_ERR(pinshm_slot_attach(g_r, "v", PINSHM_READER, &rd), -EBADMSG);
	slot_hdr()->size = 8;
	slot_hdr()->value_off = 0;
	T_ERR(pinshm_slot_attach(g_r, "v", PINSHM_READER, &rd), -EBADMSG);
	slot_hdr()->value_off = PINSHM_SLOT_VALUE_OFF;
	T_OK(pinshm_slot_attach(g_r, "v", PINSHM_READER, &rd));
	/* Garbage state: no value, not a crash. */
	slot_hdr()->state = 0xdead;
	slot_hdr()->seq = 4;
	T_ERR(pinshm_slot_read(&rd, &got, 8, NULL), -ENODATA);
}
