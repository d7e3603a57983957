// SPDX-License-Identifier: MIT
/*
 * Suite "bcast_lossless": broadcast rings made with PINSHM_BCAST_LOSSLESS,
 * whose writer is gated by its registered readers (libshm/src/bcast.c:
 * gate_register, gate_leave, __pinshm_bcast_gate, gates_drop_dead; the
 * claim and release of pinshm/bcast.h). In one process, with forked
 * readers for the read-only, death and multi-process cases.
 */
#include <sched.h>
#include <stdatomic.h>

#include "testutil.h"

static struct pinshm_region *g_r;
static const char *g_name;

static void ll_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(bcast_lossless, .fini = ll_fini, .timeout = 60);

static void mk_ring(uint64_t slots, uint32_t flags)
{
	g_r = t_create("bcll", slots * 256 + (64 << 10), &g_name);
	T_OK(pinshm_bcast_create_flags(g_r, "b", slots, 48, flags));
}

static struct pinshm_bcast_shared *ring_hdr(void)
{
	struct pinshm_obj_info info;

	T_OK(pinshm_obj_find(g_r, "b", &info));
	return (struct pinshm_bcast_shared *)((uint8_t *)
					      pinshm_region_data(g_r) +
					      info.offset);
}

static struct pinshm_bcast_gate *gate(unsigned int k)
{
	return (struct pinshm_bcast_gate *)((uint8_t *)ring_hdr() +
					    PINSHM_BCAST_HDR_SIZE) + k;
}

static int send_n(struct pinshm_bcast *w, uint64_t n)
{
	return pinshm_bcast_send(w, &n, sizeof(n), (uint32_t)n);
}

static void expect_n(struct pinshm_bcast *rd, uint64_t n)
{
	struct pinshm_bcast_msg m;
	uint64_t v;

	T_OK(pinshm_bcast_peek(rd, &m));
	cr_assert_eq(m.seq, n, "seq %llu, expected %llu",
		     (unsigned long long)m.seq, (unsigned long long)n);
	cr_assert_eq(m.len, sizeof(v));
	memcpy(&v, m.data, sizeof(v));
	cr_assert_eq(v, n);
	T_OK(pinshm_bcast_release(rd));
}

static void gattach(struct pinshm_bcast *rd)
{
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_READER | PINSHM_BCAST_GATING,
				 rd));
}

Test(bcast_lossless, create_checks_flags_and_lays_out_the_gate_table)
{
	struct pinshm_bcast_shared *sh;

	mk_ring(64, PINSHM_BCAST_LOSSLESS);
	T_ERR(pinshm_bcast_create_flags(g_r, "x", 64, 48, 0x2), -EINVAL);
	sh = ring_hdr();
	cr_assert_eq(sh->version, PINSHM_BCAST_VERSION_GATED);
	cr_assert_eq(sh->flags, PINSHM_BCAST_LOSSLESS);
	cr_assert_eq(sh->gates, PINSHM_BCAST_GATES);
	cr_assert_eq(sh->data_off, PINSHM_BCAST_HDR_SIZE +
		     PINSHM_BCAST_GATES * PINSHM_BCAST_GATE_SIZE);
	/* A lossy ring keeps the version-3 layout. */
	T_OK(pinshm_bcast_create_flags(g_r, "l", 64, 48, 0));
}

Test(bcast_lossless, the_writer_is_held_by_an_unread_slot_and_counts_it)
{
	struct pinshm_bcast w, rd;
	struct pinshm_ring_stats st;
	uint64_t n;

	mk_ring(16, PINSHM_BCAST_LOSSLESS);
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w));
	gattach(&rd);
	for (n = 0; n < 16; n++)
		T_OK(send_n(&w, n));
	/* Record 16 would overwrite record 0, unread. */
	T_ERR(send_n(&w, 16), -EAGAIN);
	T_ERR(send_n(&w, 16), -EAGAIN);
	T_OK(pinshm_obj_stats(g_r, "b", &st));
	cr_assert_eq(st.full_events, 2);
	cr_assert_eq(st.head, 0);
	expect_n(&rd, 0);
	T_OK(send_n(&w, 16));
	T_ERR(send_n(&w, 17), -EAGAIN);
	for (n = 1; n <= 16; n++)
		expect_n(&rd, n);
	/* Laps and laps, never lapped. */
	for (n = 17; n < 17 + 16 * 100; n++) {
		T_OK(send_n(&w, n));
		expect_n(&rd, n);
	}
	T_OK(pinshm_bcast_detach(&rd));
	T_OK(pinshm_bcast_detach(&w));
}

Test(bcast_lossless, without_a_registered_reader_the_writer_runs_free)
{
	struct pinshm_bcast w, plain;
	struct pinshm_bcast_stats s;
	struct pinshm_bcast_msg m;
	uint64_t n;

	mk_ring(16, PINSHM_BCAST_LOSSLESS);
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w));
	/* A reader without a gate reads lossily. */
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &plain));
	for (n = 0; n < 100; n++)
		T_OK(send_n(&w, n));
	T_OK(pinshm_bcast_peek(&plain, &m));
	cr_assert_eq(m.seq, 100 - 16);
	T_OK(pinshm_bcast_stats(&plain, &s));
	cr_assert_eq(s.lost, 100 - 16);
}

Test(bcast_lossless, readers_register_and_leave_at_run_time)
{
	struct pinshm_bcast w, a, b;
	uint64_t n;

	mk_ring(16, PINSHM_BCAST_LOSSLESS);
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w));
	for (n = 0; n < 40; n++)
		T_OK(send_n(&w, n));
	gattach(&a);	/* starts at the writer's position */
	for (; n < 56; n++)
		T_OK(send_n(&w, n));
	T_ERR(send_n(&w, 56), -EAGAIN);
	expect_n(&a, 40);
	T_OK(send_n(&w, 56));
	gattach(&b);
	cr_assert_eq(gate(1)->pos, 57);
	for (n = 41; n <= 56; n++)
		expect_n(&a, n);
	for (n = 57; n < 57 + 16; n++)
		T_OK(send_n(&w, n));
	T_ERR(send_n(&w, n), -EAGAIN);	/* b has read nothing */
	T_OK(pinshm_bcast_detach(&b));
	cr_assert_eq(gate(1)->role.holder, 0);
	for (n = 57; n < 57 + 16; n++)
		expect_n(&a, n);
	T_OK(send_n(&w, n));		/* only a, which kept up */
	T_OK(pinshm_bcast_detach(&a));
	for (n++; n < 200; n++)		/* nobody */
		T_OK(send_n(&w, n));
}

Test(bcast_lossless, a_reader_registering_while_the_writer_is_ahead_starts_safe)
{
	struct pinshm_bcast w, a;
	uint64_t n;

	mk_ring(16, PINSHM_BCAST_LOSSLESS);
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w));
	T_OK(send_n(&w, 0));	/* the writer's limit is now 0 + 16 */
	for (n = 1; n < 10; n++)
		T_OK(send_n(&w, n));
	/* Register: either the writer sees the gate, or the reader sees
	 * the limit; here, single-threaded, both, and the reader starts at
	 * the writer's tail. */
	gattach(&a);
	for (n = 10; n < 26; n++)
		T_OK(send_n(&w, n));
	T_ERR(send_n(&w, 26), -EAGAIN);
	for (n = 10; n < 26; n++)
		expect_n(&a, n);
}

Test(bcast_lossless, gating_attach_errors)
{
	struct pinshm_bcast rd[PINSHM_BCAST_GATES + 1];
	struct pinshm_region *ro;
	unsigned int k;

	mk_ring(16, PINSHM_BCAST_LOSSLESS);
	T_OK(pinshm_bcast_create_flags(g_r, "lossy", 16, 48, 0));
	T_ERR(pinshm_bcast_attach(g_r, "lossy",
				  PINSHM_READER | PINSHM_BCAST_GATING, &rd[0]),
	      -EOPNOTSUPP);
	T_ERR(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER | PINSHM_BCAST_GATING,
				  &rd[0]), -EINVAL);
	for (k = 0; k < PINSHM_BCAST_GATES; k++)
		gattach(&rd[k]);
	T_ERR(pinshm_bcast_attach(g_r, "b", PINSHM_READER | PINSHM_BCAST_GATING,
				  &rd[k]), -ENOSPC);
	T_OK(pinshm_bcast_detach(&rd[3]));
	gattach(&rd[3]);
	/* A read-only mapping cannot write a gate. */
	T_OK(pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &ro));
	T_ERR(pinshm_bcast_attach(ro, "b", PINSHM_READER | PINSHM_BCAST_GATING,
				  &rd[k]), -EACCES);
	T_OK(pinshm_bcast_attach(ro, "b", PINSHM_READER, &rd[k]));
	pinshm_region_close(ro);
}

Test(bcast_lossless, a_gate_ahead_of_the_writer_is_ignored_and_garbage_is_refused)
{
	struct pinshm_bcast w, a;
	struct pinshm_bcast_shared *sh;
	uint64_t n, i;

	mk_ring(16, PINSHM_BCAST_LOSSLESS);
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w));
	gattach(&a);
	/* A hostile reader claims to be far ahead: not a gate. */
	gate(0)->pos = UINT64_MAX - 3;
	for (n = 0; n < 100; n++)
		T_OK(send_n(&w, n));
	/* Far behind: holds the writer (from its next look at the gates,
	 * within a ring), which only ever says -EAGAIN. */
	gate(0)->pos = 0;
	for (n = 100; n < 100 + 16 && send_n(&w, n) == 0; n++)
		;
	cr_assert_lt(n, 100 + 16);
	for (i = 0; i < 3 * PINSHM_BCAST_DEATH_CHECK; i++)
		T_ERR(send_n(&w, n), -EAGAIN);
	/* A header that lies about its gate table is refused. */
	sh = ring_hdr();
	sh->gates = 7;
	T_ERR(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &a), -EBADMSG);
	sh->gates = PINSHM_BCAST_GATES;
	sh->flags = 0;
	T_ERR(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &a), -EBADMSG);
}

/* Shared with forked readers. */
struct ll_shared {
	_Atomic uint32_t ready;
	_Atomic uint32_t failed;
	_Atomic uint64_t got[2];
};

static struct ll_shared *shared_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	memset(p, 0, 4096);
	return p;
}

/* A child: registers, says so, reads `reads` records, then stops. */
static pid_t gated_child(struct ll_shared *s, uint64_t reads)
{
	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_bcast rd;
		struct pinshm_bcast_msg m;
		uint64_t got = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
		    pinshm_bcast_attach(r, "b",
					PINSHM_READER | PINSHM_BCAST_GATING,
					&rd))
			_exit(2);
		atomic_fetch_add(&s->ready, 1);
		while (got < reads) {
			if (pinshm_bcast_peek(&rd, &m) == 0 &&
			    pinshm_bcast_release(&rd) == 0)
				got++;
		}
		atomic_store(&s->got[0], got);
		for (;;)
			pause();
	}
	while (atomic_load(&s->ready) == 0)
		sched_yield();
	return pid;
}

Test(bcast_lossless, a_dead_reader_is_dropped_only_once_its_death_is_recorded)
{
	struct ll_shared *s = shared_page();
	struct pinshm_bcast w, a;
	struct pinshm_ring_stats st;
	uint64_t n, tries;
	pid_t pid;
	int ret = 0;

	mk_ring(16, PINSHM_BCAST_LOSSLESS);
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w));
	gattach(&a);	/* a live reader of ours, which keeps up */
	pid = gated_child(s, 4);
	for (n = 0; n < 16; n++) {
		T_OK(send_n(&w, n));
		expect_n(&a, n);
	}
	while (atomic_load(&s->got[0]) < 4)
		sched_yield();
	/* The child is alive, stopped reading at 4: never dropped. */
	for (n = 16; n < 20; n++)
		T_OK(send_n(&w, n));
	for (tries = 0; tries < 20 * PINSHM_BCAST_DEATH_CHECK; tries++)
		T_ERR(send_n(&w, 20), -EAGAIN);
	kill(pid, SIGSTOP);
	for (tries = 0; tries < 4 * PINSHM_BCAST_DEATH_CHECK; tries++)
		T_ERR(send_n(&w, 20), -EAGAIN);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* Dead: the writer drops its gate when it next checks. */
	for (tries = 0; tries < 100 * PINSHM_BCAST_DEATH_CHECK; tries++) {
		ret = send_n(&w, 20);
		if (ret != -EAGAIN)
			break;
	}
	T_OK(ret);
	T_OK(pinshm_obj_stats(g_r, "b", &st));
	cr_assert_eq(st.recoveries, 1);
	for (n = 16; n <= 20; n++)
		expect_n(&a, n);
	for (n = 21; n < 100; n++) {
		T_OK(send_n(&w, n));
		expect_n(&a, n);
	}
	munmap(s, 4096);
}

/* Writer + 2 gated reader processes: every record, in order, whole. */
#define MP_COUNT	400000ULL

static void mp_reader(struct ll_shared *s, int who)
{
	struct pinshm_region *r;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;
	struct pinshm_bcast_stats st;
	uint64_t next = 0, v[2];
	uint8_t buf[48];
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
	    pinshm_bcast_attach(r, "b", PINSHM_READER | PINSHM_BCAST_GATING,
				&rd))
		_exit(2);
	atomic_fetch_add(&s->ready, 1);
	while (next < MP_COUNT) {
		if (who == 0) {
			ret = pinshm_bcast_recv(&rd, buf, sizeof(buf), &m,
						PINSHM_WAIT_YIELD);
			if (ret < 0)
				_exit(3);
			memcpy(v, buf, sizeof(v));
		} else {
			ret = pinshm_bcast_peek(&rd, &m);
			if (ret == -EAGAIN)
				continue;
			if (ret)
				_exit(3);
			memcpy(v, m.data, sizeof(v));
			if (pinshm_bcast_release(&rd))
				_exit(4);	/* overwritten: lost */
		}
		if (m.seq != next || v[0] != next || v[1] != ~next ||
		    m.type != (uint32_t)next)
			_exit(5);
		next++;
	}
	pinshm_bcast_stats(&rd, &st);
	if (st.lost || st.lapped || st.stale)
		_exit(6);
	atomic_store(&s->got[who], next);
	pinshm_bcast_detach(&rd);
	_exit(0);
}

Test(bcast_lossless, a_writer_and_two_reader_processes_lose_nothing,
     .timeout = 120)
{
	struct ll_shared *s = shared_page();
	struct pinshm_bcast w;
	struct pinshm_ring_stats st;
	pid_t pid[2];
	uint64_t n, v[2];
	int i, status;

	mk_ring(256, PINSHM_BCAST_LOSSLESS);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		cr_assert_neq(pid[i], -1);
		if (pid[i] == 0)
			mp_reader(s, i);
	}
	while (atomic_load(&s->ready) < 2)
		sched_yield();
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w));
	for (n = 0; n < MP_COUNT; n++) {
		v[0] = n;
		v[1] = ~n;
		while (pinshm_bcast_send(&w, v, sizeof(v), (uint32_t)n) ==
		       -EAGAIN)
			pinshm_cpu_relax();
	}
	for (i = 0; i < 2; i++) {
		cr_assert_eq(waitpid(pid[i], &status, 0), pid[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "reader %d: status %#x", i, status);
		cr_assert_eq(atomic_load(&s->got[i]), MP_COUNT);
	}
	T_OK(pinshm_obj_stats(g_r, "b", &st));
	cr_assert_eq(st.msgs_in, MP_COUNT);
	munmap(s, 4096);
}

Test(bcast_lossless, a_registered_reader_seeks_forward_only)
{
	struct pinshm_bcast w, a;
	uint64_t n;

	mk_ring(16, PINSHM_BCAST_LOSSLESS);
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w));
	gattach(&a);
	for (n = 0; n < 10; n++)
		T_OK(send_n(&w, n));
	expect_n(&a, 0);
	expect_n(&a, 1);
	/* OLDEST would go back behind the gate: stays at 2. */
	T_OK(pinshm_bcast_seek(&a, PINSHM_BCAST_OLDEST));
	expect_n(&a, 2);
	/* NEWEST goes forward, and so does the gate. */
	T_OK(pinshm_bcast_seek(&a, PINSHM_BCAST_NEWEST));
	cr_assert_eq(gate(0)->pos, 9);
	expect_n(&a, 9);
	for (n = 10; n < 10 + 16; n++)
		T_OK(send_n(&w, n));
	T_ERR(send_n(&w, n), -EAGAIN);
}

Test(bcast_lossless, a_forked_copy_of_a_registered_handle_leaves_the_gate_alone)
{
	struct pinshm_bcast a;
	uint64_t holder, owner;
	pid_t pid;
	int st;

	mk_ring(16, PINSHM_BCAST_LOSSLESS);
	gattach(&a);
	holder = gate(0)->role.holder;
	owner = gate(0)->owner;
	cr_assert_neq(holder, 0);
	cr_assert_eq(owner, holder);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0)
		_exit(pinshm_bcast_detach(&a) == 0 ? 0 : 1);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(gate(0)->role.holder, holder);
	cr_assert_eq(gate(0)->owner, holder);
	T_OK(pinshm_bcast_detach(&a));
	cr_assert_eq(gate(0)->role.holder, 0);
	cr_assert_eq(gate(0)->owner, 0);
}
