// SPDX-License-Identifier: MIT
/*
 * Suite "wait_rings": futex sleeping (pinshm/wait.h) for the MPSC consumer
 * (pinshm_mpsc_wait()), broadcast readers (pinshm_bcast_wait()) and
 * latest-value slot readers (pinshm_slot_wait()), and the PINSHM_WAIT_FUTEX
 * strategy of their receive helpers.
 *
 * Writers are forked children that open the region themselves; their
 * attach registers them for the membarrier pairing, and every commit,
 * publish or write kicks the object's wait queue: nothing here helps.
 *
 * Every wake bumps waitq.seq, so "seq did not move" proves the writer made
 * no wake syscall. Every way out of a wait leaves waitq.waiters at 0. A
 * lost wakeup hangs a sleeper that has no timeout: the suite's .timeout
 * turns it into a failure. Read-only readers sleep too, armed in the
 * region's metadata page (ro_pending); one that may not write the region's
 * file cannot (-EACCES) and its PINSHM_WAIT_FUTEX helpers yield instead:
 * it still gets everything. Latencies are never asserted (the machine is
 * shared).
 */
#include <sched.h>

#include "waitutil.h"
#define WR_READERS	2
#define WR_WAKE_ROUNDS	20
#define WR_BURST	50	/* records per round of the read-only tests */
#define WR_STRESS	100000ULL
#define WR_SEC		1000000000LL

struct wr_shared {
	_Atomic uint64_t go;			/* parent → writer: round */
	_Atomic uint64_t acked[WR_READERS];	/* readers: records seen */
	_Atomic uint32_t ready;			/* readers attached */
	_Atomic uint32_t claimed;		/* mpsc: the doomed claim */
};

static struct wr_shared *g_s;
static struct pinshm_region *g_r, *g_ro;
static const char *g_name;

static void wr_fini(void)
{
	if (g_ro)
		pinshm_region_close(g_ro);
	if (g_r)
		pinshm_region_close(g_r);
	g_ro = g_r = NULL;
	t_cleanup();
}

TestSuite(wait_rings, .fini = wr_fini, .timeout = 240);

static void wr_setup(const char *tag, uint64_t size)
{
	g_s = t_shared_alloc(sizeof(*g_s));
	wt_setup();
	g_r = t_create(tag, size, &g_name);
}

/* Writer side of the wake tests: round by round, once someone sleeps. */
static void wr_await_sleeper(uint64_t round, const struct pinshm_waitq *wq)
{
	int i;

	while (atomic_load(&g_s->go) < round)
		wt_yield();
	while (wt_waiters(wq) == 0)
		wt_yield();
	/* Let the sleeper get from the membarrier into the futex. */
	for (i = 0; i < 20; i++)
		sched_yield();
}

/*
 * The same for a read-only sleeper, which waiters does not count: it
 * armed ro_pending (the writer's handle points at it).
 */
static void wr_await_ro_sleeper(uint64_t round, const uint32_t *ro_pending)
{
	int i;

	if (!ro_pending)
		wt_fail("the writer does not watch ro_pending");
	while (atomic_load(&g_s->go) < round)
		wt_yield();
	while (atomic_load((_Atomic uint32_t *)ro_pending) == 0)
		wt_yield();
	for (i = 0; i < 20; i++)
		sched_yield();
}

/*
 * In a child: become somebody who may read the region's file but not write
 * it (the test made it mode 0444): root turns into nobody, anyone else is
 * the owner, whom mode 0444 bars from writing.
 */
static void wr_become_reader_only(void)
{
	if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
		wt_fail("cannot become nobody: %s", strerror(errno));
}

/* A random short pause, so that "empty → sleep" races "publish → kick". */
static void wr_pause(uint64_t *rs)
{
	uint64_t x = t_rand(rs);
	unsigned int i;

	if (x % 4 == 0) {
		for (i = 0; i < (x >> 32) % 256; i++)
			pinshm_cpu_relax();
	} else if (x % 4 == 1 && (x >> 40) % 64 == 0) {
		usleep((useconds_t)((x >> 20) % 50));
	} else if (x % 4 == 2 && (x >> 40) % 8 == 0) {
		sched_yield();
	}
}

static uint64_t wr_seed(void)
{
	uint64_t rs = (uint64_t)getpid() * 7919 + (uint64_t)time(NULL);

	cr_log_info("seed %llu", (unsigned long long)rs);
	return rs;
}

/* ================================================================== */
/* MPSC                                                                */
/* ================================================================== */

static void m_setup(uint64_t cap)
{
	wr_setup("wm", cap + (128 << 10));
	T_OK(pinshm_mpsc_create(g_r, "q", cap, 0));
}

static void m_attach_producer(struct pinshm_region *r, int id,
			      struct pinshm_mpsc *p)
{
	int ret = pinshm_mpsc_attach(r, "q", PINSHM_PRODUCER_ID(id), p);

	if (ret)
		wt_fail("attach producer %d: %s", id, strerror(-ret));
}

/* A record: the producer's sequence number, then its id. */
static void m_send(struct pinshm_mpsc *p, uint64_t seq, uint64_t id)
{
	uint64_t rec[2] = { seq, id };
	int ret = pinshm_mpsc_send(p, rec, sizeof(rec), (uint32_t)id,
				   PINSHM_WAIT_YIELD);

	if (ret)
		wt_fail("send %llu: %s", (unsigned long long)seq, strerror(-ret));
}

static void m_wake_producer(void)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDWR);
	struct pinshm_mpsc p;
	uint64_t round;

	m_attach_producer(r, -1, &p);
	for (round = 1; round <= WR_WAKE_ROUNDS; round++) {
		wr_await_sleeper(round, &p.sh->waitq);
		m_send(&p, round, 0);
	}
	pinshm_mpsc_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

Test(wait_rings, a_sleeping_mpsc_consumer_wakes_when_a_producer_process_commits)
{
	struct pinshm_mpsc c;
	uint64_t round, rec[2];
	uint32_t seq0;
	pid_t pid;
	int ret;

	wt_need_membarrier();
	m_setup(4096);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	seq0 = wt_seq(&c.sh->waitq);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		m_wake_producer();
	for (round = 1; round <= WR_WAKE_ROUNDS; round++) {
		atomic_store(&g_s->go, round);
		ret = pinshm_mpsc_wait(&c, 30 * WR_SEC);
		cr_assert_eq(ret, 0, "round %llu: %s",
			     (unsigned long long)round, strerror(-ret));
		cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
		T_ERR(pinshm_mpsc_recv(&c, rec, sizeof(rec), NULL,
				       PINSHM_WAIT_NONE), (int)sizeof(rec));
		cr_assert_eq(rec[0], round);
	}
	wt_reap_ok(pid, "producer");
	cr_assert_geq(wt_seq(&c.sh->waitq) - seq0, 1, "no wake was issued");
	cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
}

Test(wait_rings, mpsc_wait_times_out_with_no_waiter_left_and_checks_its_arguments)
{
	struct pinshm_mpsc c;
	struct pinshm_mpsc p;
	uint64_t t0, ns;

	wt_need_membarrier();
	m_setup(4096);
	T_ERR(pinshm_mpsc_wait(NULL, 0), -EINVAL);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	T_ERR(pinshm_mpsc_wait(&c, 0), -ETIMEDOUT);
	/* Longer than a slice: the slices add up to the timeout. */
	t0 = t_now_ns(CLOCK_MONOTONIC);
	T_ERR(pinshm_mpsc_wait(&c, 3 * PINSHM_MPSC_WAIT_SLICE_NS / 2),
	      -ETIMEDOUT);
	ns = t_now_ns(CLOCK_MONOTONIC) - t0;
	cr_assert_geq(ns, 3 * PINSHM_MPSC_WAIT_SLICE_NS / 2);
	cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
	cr_assert_eq(wt_seq(&c.sh->waitq), 0, "nobody woke anyone");
	/* Something there: at once, with or without a timeout. */
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
	T_OK(pinshm_mpsc_send(&p, &t0, 8, 1, PINSHM_WAIT_NONE));
	T_OK(pinshm_mpsc_wait(&c, 0));
	T_OK(pinshm_mpsc_wait(&c, -1));
	cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
}

/* Consumer attach resets a count left by a consumer that died asleep. */
Test(wait_rings, an_mpsc_consumer_attach_resets_a_dead_sleepers_count)
{
	struct pinshm_mpsc c;

	m_setup(4096);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	atomic_store((_Atomic uint32_t *)&c.sh->waitq.waiters, 3);
	T_OK(pinshm_mpsc_detach(&c));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
}

Test(wait_rings, an_mpsc_burst_with_no_sleeper_makes_no_wake_call)
{
	struct pinshm_mpsc p;
	struct pinshm_mpsc c;
	uint64_t i, rec[2];
	uint32_t seq0;

	m_setup(64 << 10);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	seq0 = wt_seq(&c.sh->waitq);
	for (i = 0; i < WR_STRESS; i++) {
		rec[0] = i;
		rec[1] = 0;
		T_OK(pinshm_mpsc_send(&p, rec, sizeof(rec), 0,
				      PINSHM_WAIT_NONE));
		T_ERR(pinshm_mpsc_recv(&c, rec, sizeof(rec), NULL,
				       PINSHM_WAIT_NONE), (int)sizeof(rec));
		cr_assert_eq(rec[0], i);
	}
	cr_assert_eq(wt_seq(&c.sh->waitq), seq0,
		     "seq moved: the producer's fast path woke someone");
	cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
}

static void m_stress_producer(unsigned int id, uint64_t count, uint64_t seed)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDWR);
	struct pinshm_mpsc p;
	uint64_t seq, rs = seed | 1;

	m_attach_producer(r, (int)id, &p);
	for (seq = 0; seq < count; seq++) {
		m_send(&p, seq, id);
		wr_pause(&rs);
	}
	pinshm_mpsc_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

/*
 * Two producer processes, count records each, in order per producer. The
 * consumer sleeps every time the ring is empty: with peek + pinshm_mpsc_
 * wait() (no timeout), or through pinshm_mpsc_recv(PINSHM_WAIT_FUTEX).
 */
static void m_stress(uint64_t count, bool use_recv)
{
	uint64_t rs = wr_seed(), next[2] = { 0, 0 }, got = 0, sleeps = 0;
	uint64_t rec[2];
	struct pinshm_mpsc c;
	struct pinshm_msg m;
	uint32_t seq0;
	pid_t pid[2];
	int ret, k;

	wt_need_membarrier();
	m_setup(16 << 10);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	seq0 = wt_seq(&c.sh->waitq);
	for (k = 0; k < 2; k++) {
		pid[k] = fork();
		cr_assert_geq(pid[k], 0);
		if (pid[k] == 0)
			m_stress_producer((unsigned int)k, count,
					  rs + (uint64_t)k * 1000003);
	}
	while (got < 2 * count) {
		if (use_recv) {
			ret = pinshm_mpsc_recv(&c, rec, sizeof(rec), NULL,
					       PINSHM_WAIT_FUTEX);
			cr_assert_eq(ret, (int)sizeof(rec), "recv: %d (%s)",
				     ret, ret < 0 ? strerror(-ret) : "");
		} else {
			ret = pinshm_mpsc_peek(&c, &m);
			if (ret == -EAGAIN) {
				sleeps++;
				ret = pinshm_mpsc_wait(&c, -1);
				cr_assert_eq(ret, 0, "wait: %s", strerror(-ret));
				continue;
			}
			cr_assert_eq(ret, 0, "peek: %s", strerror(-ret));
			cr_assert_eq(m.len, sizeof(rec));
			memcpy(rec, m.data, sizeof(rec));
			pinshm_mpsc_release(&c);
		}
		cr_assert_lt(rec[1], 2);
		cr_assert_eq(rec[0], next[rec[1]],
			     "producer %llu: expected %llu, got %llu",
			     (unsigned long long)rec[1],
			     (unsigned long long)next[rec[1]],
			     (unsigned long long)rec[0]);
		next[rec[1]]++;
		got++;
	}
	for (k = 0; k < 2; k++)
		wt_reap_ok(pid[k], "producer");
	cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
	T_ERR(pinshm_mpsc_peek(&c, &m), -EAGAIN);
	cr_log_info("%llu records; the consumer went to wait %llu times, "
		    "%u wakes issued", (unsigned long long)got,
		    (unsigned long long)sleeps, wt_seq(&c.sh->waitq) - seq0);
}

Test(wait_rings, no_mpsc_wakeup_is_lost_with_a_consumer_that_sleeps_when_empty,
     .timeout = 300)
{
	m_stress(WR_STRESS / 2, false);
}

Test(wait_rings, mpsc_recv_with_WAIT_FUTEX_gets_every_record, .timeout = 300)
{
	m_stress(WR_STRESS / 4, true);
}

/*
 * A producer killed between claim and commit never kicks. The consumer,
 * asleep on its claim, finds it dead between two slices, pads the claim
 * and gets the record another producer committed after it. Every process
 * opens the region before the death, and nobody looks for the dead but
 * the consumer: the metadata's generation does not move until the
 * consumer's own recovery, so only the slices can end the sleep.
 */
static void m_doomed_producer(void)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDWR);
	struct pinshm_mpsc p;
	void *d;
	int ret;

	m_attach_producer(r, 0, &p);
	ret = pinshm_mpsc_claim(&p, 16, &d);
	if (ret)
		wt_fail("claim: %s", strerror(-ret));
	atomic_store(&g_s->claimed, 1);
	kill(getpid(), SIGKILL);
	_exit(2);
}

static void m_late_producer(void)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDWR);
	struct pinshm_mpsc p;

	m_attach_producer(r, 1, &p);
	atomic_fetch_add(&g_s->ready, 1);
	wr_await_sleeper(1, &p.sh->waitq);
	m_send(&p, 42, 1);
	pinshm_mpsc_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

Test(wait_rings, an_mpsc_consumer_asleep_on_a_dead_producers_claim_moves_on)
{
	struct pinshm_mpsc c;
	struct pinshm_meta meta;
	uint64_t rec[2];
	pid_t dead, late;
	int st, ret, waits = 0;

	wt_need_membarrier();
	m_setup(4096);
	T_OK(pinshm_mpsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	/* Look once: the consumer knows the metadata's generation. */
	T_ERR(pinshm_mpsc_recv(&c, rec, sizeof(rec), NULL, PINSHM_WAIT_NONE),
	      -EAGAIN);
	late = fork();
	cr_assert_geq(late, 0);
	if (late == 0)
		m_late_producer();
	while (atomic_load(&g_s->ready) < 1)
		wt_yield();
	dead = fork();
	cr_assert_geq(dead, 0);
	if (dead == 0)
		m_doomed_producer();
	st = t_wait(dead);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		  "doomed producer: status %#x: %s", st, wt_err());
	cr_assert_eq(atomic_load(&g_s->claimed), 1);
	T_OK(pinshm_region_meta(g_r, &meta));
	cr_assert_eq(meta.generation, c.generation, "a death already seen");
	cr_assert_eq(c.sh->recoveries, 0);
	atomic_store(&g_s->go, 1);
	while ((ret = pinshm_mpsc_recv(&c, rec, sizeof(rec), NULL,
				       PINSHM_WAIT_NONE)) == -EAGAIN) {
		cr_assert_lt(++waits, 1000);
		T_OK(pinshm_mpsc_wait(&c, 60 * WR_SEC));
		cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
	}
	cr_assert_eq(ret, (int)sizeof(rec), "recv: %d", ret);
	cr_assert_eq(rec[0], 42);
	cr_assert_eq(rec[1], 1);
	cr_assert_eq(c.sh->recoveries, 1);
	wt_reap_ok(late, "late producer");
}

/* ================================================================== */
/* Broadcast                                                           */
/* ================================================================== */

#define B_SLOTS		1024
#define B_WINDOW	512	/* writer: at most this far ahead of readers */

static void b_setup(void)
{
	wr_setup("wb", B_SLOTS * 64 + (128 << 10));
	T_OK(pinshm_bcast_create(g_r, "b", B_SLOTS, 48));
}

static void b_attach_writer(struct pinshm_region *r,
			    struct pinshm_bcast *w)
{
	int ret = pinshm_bcast_attach(r, "b", PINSHM_WRITER, w);

	if (ret)
		wt_fail("attach writer: %s", strerror(-ret));
}

static void b_send(struct pinshm_bcast *w, uint64_t v)
{
	int ret = pinshm_bcast_send(w, &v, sizeof(v), 1);

	if (ret)
		wt_fail("send %llu: %s", (unsigned long long)v, strerror(-ret));
}

static void b_wake_writer(void)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDWR);
	struct pinshm_bcast w;
	uint64_t round;

	b_attach_writer(r, &w);
	for (round = 1; round <= WR_WAKE_ROUNDS; round++) {
		wr_await_sleeper(round, &w.sh->waitq);
		b_send(&w, round);
	}
	pinshm_bcast_detach(&w);
	pinshm_region_close(r);
	_exit(0);
}

Test(wait_rings, a_sleeping_bcast_reader_wakes_when_a_writer_process_publishes)
{
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;
	uint64_t round, v;
	uint32_t seq0;
	pid_t pid;
	int ret;

	wt_need_membarrier();
	b_setup();
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd));
	seq0 = wt_seq(&rd.sh->waitq);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		b_wake_writer();
	for (round = 1; round <= WR_WAKE_ROUNDS; round++) {
		atomic_store(&g_s->go, round);
		ret = pinshm_bcast_wait(&rd, 30 * WR_SEC);
		cr_assert_eq(ret, 0, "round %llu: %s",
			     (unsigned long long)round, strerror(-ret));
		cr_assert_eq(wt_waiters(&rd.sh->waitq), 0);
		T_ERR(pinshm_bcast_recv(&rd, &v, sizeof(v), &m,
					PINSHM_WAIT_NONE), (int)sizeof(v));
		cr_assert_eq(v, round);
		cr_assert_eq(m.seq, round - 1);
	}
	wt_reap_ok(pid, "writer");
	cr_assert_geq(wt_seq(&rd.sh->waitq) - seq0, 1, "no wake was issued");
}

Test(wait_rings, bcast_wait_times_out_and_checks_its_arguments)
{
	struct pinshm_bcast rd;
	struct pinshm_bcast w;
	uint64_t v = 7;

	wt_need_membarrier();
	b_setup();
	T_ERR(pinshm_bcast_wait(NULL, 0), -EINVAL);
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd));
	T_ERR(pinshm_bcast_wait(&rd, 0), -ETIMEDOUT);
	T_ERR(pinshm_bcast_wait(&rd, 20000000), -ETIMEDOUT);
	cr_assert_eq(wt_waiters(&rd.sh->waitq), 0);
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w));
	T_OK(pinshm_bcast_send(&w, &v, sizeof(v), 1));
	T_OK(pinshm_bcast_wait(&rd, 0));
	T_OK(pinshm_bcast_wait(&rd, -1));
	cr_assert_eq(wt_seq(&rd.sh->waitq), 0, "nobody woke anyone");
	T_OK(pinshm_bcast_detach(&rd));
	T_ERR(pinshm_bcast_wait(&rd, 0), -EINVAL);
}

Test(wait_rings, a_bcast_burst_with_no_sleeper_makes_no_wake_call)
{
	struct pinshm_bcast w;
	struct pinshm_bcast rd;
	uint64_t i, v;
	uint32_t seq0;

	b_setup();
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w));
	T_OK(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd));
	seq0 = wt_seq(&w.sh->waitq);
	for (i = 0; i < WR_STRESS; i++) {
		T_OK(pinshm_bcast_send(&w, &i, sizeof(i), 1));
		T_ERR(pinshm_bcast_recv(&rd, &v, sizeof(v), NULL,
					PINSHM_WAIT_NONE), (int)sizeof(v));
		cr_assert_eq(v, i);
	}
	cr_assert_eq(wt_seq(&w.sh->waitq), seq0,
		     "seq moved: the writer's fast path woke someone");
	cr_assert_eq(wt_waiters(&w.sh->waitq), 0);
}

/*
 * Writer of the stress tests: count records, never more than B_WINDOW
 * ahead of the slowest of nreaders readers (so nobody is lapped and every
 * record must arrive), random short pauses in between.
 */
static void b_write_all(struct pinshm_region *r, uint64_t count, int nreaders,
			uint64_t seed)
{
	struct pinshm_bcast w;
	uint64_t i, rs = seed | 1;
	int k;

	b_attach_writer(r, &w);
	while (atomic_load(&g_s->ready) < (uint32_t)nreaders)
		wt_yield();
	for (i = 0; i < count; i++) {
		for (k = 0; k < nreaders; k++)
			while (i - atomic_load(&g_s->acked[k]) >= B_WINDOW)
				wt_yield();
		b_send(&w, i);
		wr_pause(&rs);
	}
	pinshm_bcast_detach(&w);
}

static void b_stress_writer(uint64_t count, int nreaders, uint64_t seed)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDWR);

	b_write_all(r, count, nreaders, seed);
	pinshm_region_close(r);
	_exit(0);
}

/*
 * Reader k: every record in order, none lost. mode 0: peek/release and
 * pinshm_bcast_wait() whenever empty; 1: recv with PINSHM_WAIT_FUTEX.
 */
static uint64_t b_read_all(struct pinshm_bcast *rd, int k,
			   uint64_t count, int mode)
{
	struct pinshm_bcast_stats st;
	struct pinshm_bcast_msg m;
	uint64_t next = 0, v, sleeps = 0;
	int ret;

	while (next < count) {
		if (mode == 1) {
			ret = pinshm_bcast_recv(rd, &v, sizeof(v), &m,
						PINSHM_WAIT_FUTEX);
			if (ret != (int)sizeof(v))
				wt_fail("reader %d: recv %d", k, ret);
		} else {
			ret = pinshm_bcast_peek(rd, &m);
			if (ret == -EAGAIN) {
				sleeps++;
				ret = pinshm_bcast_wait(rd, -1);
				if (ret)
					wt_fail("reader %d: wait: %s", k,
						strerror(-ret));
				continue;
			}
			if (ret || m.len != sizeof(v))
				wt_fail("reader %d: peek %d len %u", k, ret,
					m.len);
			memcpy(&v, m.data, sizeof(v));
			if (pinshm_bcast_release(rd))
				wt_fail("reader %d: record %llu overwritten",
					k, (unsigned long long)next);
		}
		if (v != next || m.seq != next)
			wt_fail("reader %d: expected %llu, got %llu (seq %llu)",
				k, (unsigned long long)next,
				(unsigned long long)v,
				(unsigned long long)m.seq);
		next++;
		atomic_store(&g_s->acked[k], next);
	}
	pinshm_bcast_stats(rd, &st);
	if (st.lost || st.lapped)
		wt_fail("reader %d: lost %llu", k, (unsigned long long)st.lost);
	return sleeps;
}

static void b_stress_reader(int k, uint64_t count, int access)
{
	struct pinshm_region *r = wt_open(g_name, access);
	struct pinshm_bcast rd;
	int ret = (pinshm_bcast_attach(r, "b", PINSHM_READER, &rd) ?: pinshm_bcast_seek(&rd, PINSHM_BCAST_OLDEST));

	if (ret)
		wt_fail("reader %d: attach: %s", k, strerror(-ret));
	atomic_fetch_add(&g_s->ready, 1);
	b_read_all(&rd, k, count, k);
	pinshm_region_close(r);
	_exit(0);
}

/*
 * count records to two reader processes with the given access, both asleep
 * whenever they are caught up: one in pinshm_bcast_wait(), one in
 * pinshm_bcast_recv(PINSHM_WAIT_FUTEX). No wakeup may be lost.
 */
static void b_stress(int access, uint64_t count)
{
	uint64_t rs = wr_seed();
	struct pinshm_bcast_shared *sh;
	struct pinshm_obj_info info;
	pid_t rd[WR_READERS], wr;
	uint32_t seq0;
	int k;

	wt_need_membarrier();
	b_setup();
	T_OK(pinshm_obj_find(g_r, "b", &info));
	sh = (struct pinshm_bcast_shared *)((uint8_t *)pinshm_region_data(g_r) +
					    info.offset);
	seq0 = wt_seq(&sh->waitq);
	for (k = 0; k < WR_READERS; k++) {
		rd[k] = fork();
		cr_assert_geq(rd[k], 0);
		if (rd[k] == 0)
			b_stress_reader(k, count, access);
	}
	wr = fork();
	cr_assert_geq(wr, 0);
	if (wr == 0)
		b_stress_writer(count, WR_READERS, rs);
	wt_reap_ok(wr, "writer");
	for (k = 0; k < WR_READERS; k++)
		wt_reap_ok(rd[k], "reader");
	cr_assert_eq(wt_waiters(&sh->waitq), 0);
	cr_log_info("%u wakes issued", wt_seq(&sh->waitq) - seq0);
}

Test(wait_rings, no_bcast_wakeup_is_lost_with_two_readers_that_sleep_when_caught_up,
     .timeout = 300)
{
	b_stress(PINSHM_RDWR, WR_STRESS);
}

/* The same with read-only readers, which arm ro_pending to sleep. */
Test(wait_rings, no_bcast_wakeup_is_lost_with_two_read_only_readers_that_sleep,
     .timeout = 300)
{
	b_stress(PINSHM_RDONLY, WR_STRESS / 2);
}

static void b_ro_wake_writer(void)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDWR);
	struct pinshm_bcast w;
	uint64_t round, i;

	b_attach_writer(r, &w);
	for (round = 1; round <= WR_WAKE_ROUNDS; round++) {
		wr_await_ro_sleeper(round, w.wref.ro_pending);
		for (i = 0; i < WR_BURST; i++)
			b_send(&w, round * WR_BURST + i);
	}
	pinshm_bcast_detach(&w);
	pinshm_region_close(r);
	_exit(0);
}

/*
 * A read-only reader (it may write the region's file, so its metadata page
 * is writable) sleeps: armed in ro_pending, not counted in waiters. Each
 * round it sleeps once and the writer then publishes a burst: the first
 * publish wakes it, the rest make no wake call (one wake per sleep).
 */
Test(wait_rings, a_read_only_bcast_reader_sleeps_and_a_burst_wakes_it_once)
{
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;
	uint64_t round, i, v;
	uint32_t seq0;
	pid_t pid;
	int ret;

	wt_need_membarrier();
	b_setup();
	T_OK(pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &g_ro));
	cr_assert(!pinshm_region_writable(g_ro));
	T_OK(pinshm_bcast_attach(g_ro, "b", PINSHM_READER, &rd));
	T_ERR(pinshm_bcast_wait(&rd, 0), -ETIMEDOUT);
	T_ERR(pinshm_bcast_wait(&rd, 10000000), -ETIMEDOUT);
	seq0 = wt_seq(&rd.sh->waitq);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		b_ro_wake_writer();
	for (round = 1; round <= WR_WAKE_ROUNDS; round++) {
		atomic_store(&g_s->go, round);
		ret = pinshm_bcast_wait(&rd, 30 * WR_SEC);
		cr_assert_eq(ret, 0, "round %llu: %s",
			     (unsigned long long)round, strerror(-ret));
		for (i = 0; i < WR_BURST; i++) {
			T_ERR(pinshm_bcast_recv(&rd, &v, sizeof(v), &m,
						PINSHM_WAIT_SPIN),
			      (int)sizeof(v));
			cr_assert_eq(v, round * WR_BURST + i);
		}
	}
	wt_reap_ok(pid, "writer");
	cr_assert_eq(wt_waiters(&rd.sh->waitq), 0);
	/* The timed-out wait left its arm: the writer's attach wakes
	 * (nobody) once more. */
	cr_assert_eq(wt_seq(&rd.sh->waitq) - seq0, WR_WAKE_ROUNDS + 1,
		     "%u wakes for %d sleeps", wt_seq(&rd.sh->waitq) - seq0,
		     WR_WAKE_ROUNDS + 1);
}

static void b_reader_only_reader(uint64_t count)
{
	struct pinshm_bcast rd;
	struct pinshm_region *r;
	int ret;

	t_child_init();
	wr_become_reader_only();
	ret = pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &r);
	if (ret)
		wt_fail("open: %s", strerror(-ret));
	ret = pinshm_bcast_attach(r, "b", PINSHM_READER, &rd);
	if (!ret)
		ret = pinshm_bcast_seek(&rd, PINSHM_BCAST_OLDEST);
	if (ret)
		wt_fail("attach: %s", strerror(-ret));
	if (pinshm_bcast_wait(&rd, 0) != -EACCES ||
	    pinshm_bcast_wait(&rd, -1) != -EACCES)
		wt_fail("a reader that cannot arm was let sleep");
	atomic_store(&g_s->ready, 1);
	b_read_all(&rd, 0, count, 1);
	pinshm_region_close(r);
	_exit(0);
}

/*
 * A reader that may not write the region's file cannot tell the writer it
 * sleeps: -EACCES. Its recv with PINSHM_WAIT_FUTEX yields instead and
 * still gets every record; nothing arms, so the writer wakes nobody.
 */
Test(wait_rings, a_bcast_reader_barred_from_the_file_gets_EACCES_and_yields,
     .timeout = 300)
{
	uint64_t rs = wr_seed(), count = WR_STRESS / 5;
	struct pinshm_bcast_shared *sh;
	struct pinshm_obj_info info;
	uint32_t seq0;
	pid_t rd;

	b_setup();
	T_OK(pinshm_obj_find(g_r, "b", &info));
	sh = (struct pinshm_bcast_shared *)((uint8_t *)pinshm_region_data(g_r) +
					    info.offset);
	cr_assert_eq(chmod(t_shm_path(g_name), 0444), 0, "chmod: %s",
		     strerror(errno));
	seq0 = wt_seq(&sh->waitq);
	rd = fork();
	cr_assert_geq(rd, 0);
	if (rd == 0)
		b_reader_only_reader(count);
	/* The writer is us, on the mapping made before the chmod. */
	b_write_all(g_r, count, 1, rs);
	wt_reap_ok(rd, "reader");
	cr_assert_eq(wt_waiters(&sh->waitq), 0);
	cr_assert_eq(wt_seq(&sh->waitq), seq0, "a wake with no sleeper");
}

/* ================================================================== */
/* Latest-value slot                                                   */
/* ================================================================== */

struct s_val {
	uint64_t n;
	uint64_t check;
};

static uint64_t s_check(uint64_t n)
{
	return n * 0x9E3779B97F4A7C15ull ^ 0x5a5a5a5a5a5a5a5aull;
}

static void s_setup(void)
{
	wr_setup("ws", 128 << 10);
	T_OK(pinshm_slot_create(g_r, "s", sizeof(struct s_val)));
}

static void s_attach_writer(struct pinshm_region *r, struct pinshm_slot *w)
{
	int ret = pinshm_slot_attach(r, "s", PINSHM_WRITER, w);

	if (ret)
		wt_fail("attach writer: %s", strerror(-ret));
}

static void s_write(struct pinshm_slot *w, uint64_t n)
{
	struct s_val v = { n, s_check(n) };
	int ret = pinshm_slot_send(w, &v, sizeof(v));

	if (ret)
		wt_fail("write %llu: %s", (unsigned long long)n, strerror(-ret));
}

static void s_wake_writer(void)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDWR);
	struct pinshm_slot w;
	uint64_t round;

	s_attach_writer(r, &w);
	for (round = 1; round <= WR_WAKE_ROUNDS; round++) {
		wr_await_sleeper(round, &w.sh->waitq);
		s_write(&w, round);
	}
	pinshm_slot_detach(&w);
	pinshm_region_close(r);
	_exit(0);
}

Test(wait_rings, a_sleeping_slot_reader_wakes_when_a_writer_process_writes)
{
	struct pinshm_slot rd;
	struct s_val v;
	uint64_t round, ver;
	uint32_t seq0;
	pid_t pid;
	int ret;

	wt_need_membarrier();
	s_setup();
	T_OK(pinshm_slot_attach(g_r, "s", PINSHM_READER, &rd));
	seq0 = wt_seq(&rd.sh->waitq);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		s_wake_writer();
	for (round = 1; round <= WR_WAKE_ROUNDS; round++) {
		atomic_store(&g_s->go, round);
		/* Version round - 1 is the one we saw last. */
		ret = pinshm_slot_wait(&rd, round - 1, 30 * WR_SEC);
		cr_assert_eq(ret, 0, "round %llu: %s",
			     (unsigned long long)round, strerror(-ret));
		cr_assert_eq(wt_waiters(&rd.sh->waitq), 0);
		T_ERR(pinshm_slot_read(&rd, &v, sizeof(v), &ver),
		      (int)sizeof(v));
		cr_assert_eq(ver, round);
		cr_assert_eq(v.n, round);
	}
	wt_reap_ok(pid, "writer");
	cr_assert_geq(wt_seq(&rd.sh->waitq) - seq0, 1, "no wake was issued");
}

Test(wait_rings, slot_wait_times_out_and_checks_its_arguments)
{
	struct pinshm_slot rd, w;
	struct s_val v;
	uint64_t ver = 99;

	wt_need_membarrier();
	s_setup();
	T_ERR(pinshm_slot_wait(NULL, 0, 0), -EINVAL);
	T_OK(pinshm_slot_attach(g_r, "s", PINSHM_READER, &rd));
	T_OK(pinshm_slot_attach(g_r, "s", PINSHM_WRITER, &w));
	T_ERR(pinshm_slot_wait(&w, 0, 0), -EPERM);
	T_ERR(pinshm_slot_wait(&rd, 0, 0), -ETIMEDOUT);
	T_ERR(pinshm_slot_wait(&rd, 0, 20000000), -ETIMEDOUT);
	cr_assert_eq(wt_waiters(&rd.sh->waitq), 0);
	/* No value yet: version 0, reported with -ENODATA too. */
	T_ERR(pinshm_slot_read(&rd, &v, sizeof(v), &ver), -ENODATA);
	cr_assert_eq(ver, 0);
	T_ERR(pinshm_slot_recv(&rd, &v, sizeof(v), &ver, PINSHM_WAIT_NONE),
	      -EAGAIN);
	s_write(&w, 5);
	/* A version other than the current one: at once. */
	T_OK(pinshm_slot_wait(&rd, 0, -1));
	T_OK(pinshm_slot_wait(&rd, 7, 0));
	T_ERR(pinshm_slot_wait(&rd, 1, 0), -ETIMEDOUT);
	T_ERR(pinshm_slot_recv(&rd, &v, sizeof(v), &ver, PINSHM_WAIT_NONE),
	      (int)sizeof(v));
	cr_assert_eq(ver, 1);
	cr_assert_eq(v.n, 5);
	T_ERR(pinshm_slot_recv(&rd, &v, sizeof(v), &ver, PINSHM_WAIT_NONE),
	      -EAGAIN);
	cr_assert_eq(wt_seq(&rd.sh->waitq), 0, "nobody woke anyone");
	cr_assert_eq(wt_waiters(&rd.sh->waitq), 0);
}

Test(wait_rings, a_slot_burst_with_no_sleeper_makes_no_wake_call)
{
	struct pinshm_slot w, rd;
	struct s_val v;
	uint64_t i, ver = 0;
	uint32_t seq0;

	s_setup();
	T_OK(pinshm_slot_attach(g_r, "s", PINSHM_WRITER, &w));
	T_OK(pinshm_slot_attach(g_r, "s", PINSHM_READER, &rd));
	seq0 = wt_seq(&w.sh->waitq);
	for (i = 1; i <= WR_STRESS; i++) {
		s_write(&w, i);
		T_ERR(pinshm_slot_recv(&rd, &v, sizeof(v), &ver,
				       PINSHM_WAIT_NONE), (int)sizeof(v));
		cr_assert_eq(v.n, i);
	}
	cr_assert_eq(wt_seq(&w.sh->waitq), seq0,
		     "seq moved: the writer's fast path woke someone");
	cr_assert_eq(wt_waiters(&w.sh->waitq), 0);
}

/*
 * Writer in lock step: it writes value n only once the reader has seen
 * n - 1, after a random short pause, so every write races a reader on its
 * way to sleep.
 */
static void s_stress_writer(uint64_t count, uint64_t seed)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDWR);
	struct pinshm_slot w;
	uint64_t n, rs = seed | 1;

	s_attach_writer(r, &w);
	for (n = 1; n <= count; n++) {
		while (atomic_load(&g_s->acked[0]) < n - 1)
			wt_yield();
		wr_pause(&rs);
		s_write(&w, n);
	}
	pinshm_slot_detach(&w);
	pinshm_region_close(r);
	_exit(0);
}

/*
 * Reader: every value 1..count, each whole. mode 0: read, and
 * pinshm_slot_wait() whenever the version is the one seen last; 1:
 * pinshm_slot_recv() with PINSHM_WAIT_FUTEX.
 */
static uint64_t s_read_all(struct pinshm_slot *rd, uint64_t count, int mode)
{
	uint64_t last = 0, ver = 0, sleeps = 0;
	struct s_val v;
	int ret;

	while (last < count) {
		if (mode == 1) {
			ret = pinshm_slot_recv(rd, &v, sizeof(v), &ver,
					       PINSHM_WAIT_FUTEX);
		} else {
			ret = pinshm_slot_read(rd, &v, sizeof(v), &ver);
			if (ret == -EAGAIN)
				continue;
			if (ret == -ENODATA || ver == last) {
				sleeps++;
				ret = pinshm_slot_wait(rd, last, -1);
				cr_assert_eq(ret, 0, "wait: %s", strerror(-ret));
				continue;
			}
		}
		cr_assert_eq(ret, (int)sizeof(v), "read: %d", ret);
		cr_assert_eq(ver, last + 1, "version %llu after %llu",
			     (unsigned long long)ver, (unsigned long long)last);
		cr_assert_eq(v.n, ver);
		cr_assert_eq(v.check, s_check(v.n), "torn value %llu",
			     (unsigned long long)v.n);
		last = ver;
		atomic_store(&g_s->acked[0], last);
	}
	return sleeps;
}

static void s_stress(struct pinshm_region *r, uint64_t count, int mode)
{
	uint64_t rs = wr_seed(), sleeps;
	struct pinshm_slot rd;
	uint32_t seq0;
	pid_t wr;

	T_OK(pinshm_slot_attach(r, "s", PINSHM_READER, &rd));
	seq0 = wt_seq(&rd.sh->waitq);
	wr = fork();
	cr_assert_geq(wr, 0);
	if (wr == 0)
		s_stress_writer(count, rs);
	sleeps = s_read_all(&rd, count, mode);
	wt_reap_ok(wr, "writer");
	cr_assert_eq(wt_waiters(&rd.sh->waitq), 0);
	cr_log_info("%llu values; the reader went to wait %llu times, "
		    "%u wakes issued", (unsigned long long)count,
		    (unsigned long long)sleeps, wt_seq(&rd.sh->waitq) - seq0);
	/* One wake per sleep, for read-only sleepers (ro_pending) too; one
	 * more if the writer's attach found the reader already asleep
	 * (before the first value, it sleeps on in the same wait). */
	if (mode == 0)
		cr_assert_leq(wt_seq(&rd.sh->waitq) - seq0, sleeps + 1,
			      "%u wakes for %llu sleeps",
			      wt_seq(&rd.sh->waitq) - seq0,
			      (unsigned long long)sleeps);
}

Test(wait_rings, no_slot_wakeup_is_lost_with_a_reader_that_sleeps_until_the_next_write,
     .timeout = 300)
{
	wt_need_membarrier();
	s_setup();
	s_stress(g_r, WR_STRESS, 0);
}

Test(wait_rings, slot_recv_with_WAIT_FUTEX_gets_every_value_written_in_lock_step,
     .timeout = 300)
{
	wt_need_membarrier();
	s_setup();
	s_stress(g_r, WR_STRESS / 4, 1);
}

/* Read-only readers: the metadata page's ro_pending stands in for waiters. */
Test(wait_rings, no_slot_wakeup_is_lost_with_a_read_only_reader_that_sleeps,
     .timeout = 300)
{
	wt_need_membarrier();
	s_setup();
	T_OK(pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &g_ro));
	cr_assert(!pinshm_region_writable(g_ro));
	s_stress(g_ro, WR_STRESS / 2, 0);
}

Test(wait_rings, read_only_slot_recv_with_WAIT_FUTEX_gets_every_value,
     .timeout = 300)
{
	wt_need_membarrier();
	s_setup();
	T_OK(pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &g_ro));
	s_stress(g_ro, WR_STRESS / 4, 1);
}

static void s_reader_only_reader(void)
{
	struct pinshm_region *r;
	struct pinshm_slot rd;
	uint64_t ver = 0;
	struct s_val v;
	int ret;

	t_child_init();
	wr_become_reader_only();
	ret = pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &r);
	if (ret)
		wt_fail("open: %s", strerror(-ret));
	ret = pinshm_slot_attach(r, "s", PINSHM_READER, &rd);
	if (ret)
		wt_fail("attach: %s", strerror(-ret));
	if (pinshm_slot_wait(&rd, 0, 0) != -EACCES ||
	    pinshm_slot_wait(&rd, 0, -1) != -EACCES)
		wt_fail("a reader that cannot arm was let sleep");
	atomic_store(&g_s->ready, 1);
	ret = pinshm_slot_recv(&rd, &v, sizeof(v), &ver, PINSHM_WAIT_FUTEX);
	if (ret != (int)sizeof(v) || ver != 1 || v.n != 7 ||
	    v.check != s_check(7))
		wt_fail("recv %d, version %llu, value %llu", ret,
			(unsigned long long)ver, (unsigned long long)v.n);
	pinshm_region_close(r);
	_exit(0);
}

/*
 * A reader that may not write the region's file cannot sleep (-EACCES);
 * its recv with PINSHM_WAIT_FUTEX yields until the value comes, and the
 * writer wakes nobody.
 */
Test(wait_rings, a_slot_reader_barred_from_the_file_gets_EACCES_and_yields)
{
	struct pinshm_slot w;
	uint32_t seq0;
	pid_t rd;

	s_setup();
	cr_assert_eq(chmod(t_shm_path(g_name), 0444), 0, "chmod: %s",
		     strerror(errno));
	T_OK(pinshm_slot_attach(g_r, "s", PINSHM_WRITER, &w));
	seq0 = wt_seq(&w.sh->waitq);
	rd = fork();
	cr_assert_geq(rd, 0);
	if (rd == 0)
		s_reader_only_reader();
	while (!atomic_load(&g_s->ready))
		wt_yield();
	usleep(20000);	/* into its recv */
	s_write(&w, 7);
	wt_reap_ok(rd, "reader");
	cr_assert_eq(wt_seq(&w.sh->waitq), seq0, "a wake with no sleeper");
}

/* ================================================================== */
/* Read-only sleepers of different objects                            */
/* ================================================================== */

/*
 * Read-only sleepers of a region's broadcast rings and slots arm one word
 * of the metadata page (their wait queues sit at the same offset of their
 * 4 KiB-aligned objects): each sets its queue's bit, PINSHM_RO_BIT().
 */
static bool x_armed_with(const struct pinshm_slot *sw, uint32_t v)
{
	return atomic_load((_Atomic uint32_t *)sw->wref.ro_pending) == v;
}

/*
 * Writer of x_wait(): once the read-only reader of slot "s" is armed (and
 * with both, the broadcast reader), publish WR_BURST records to the
 * broadcast ring "b", then, 50 ms later, write the slot. The slot's bit
 * must stay set through the publishes, which clear only the broadcast
 * ring's (both: one wake; else none).
 */
static void x_writer(bool both)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDWR);
	struct pinshm_bcast bw;
	struct pinshm_slot sw;
	uint32_t sbit, bbit, seq0;
	int i;

	b_attach_writer(r, &bw);
	s_attach_writer(r, &sw);
	if (!sw.wref.ro_pending || sw.wref.ro_pending != bw.wref.ro_pending)
		wt_fail("slot and broadcast ring do not share ro_pending");
	sbit = 1u << sw.wref.ro_bit;
	bbit = 1u << bw.wref.ro_bit;
	if (sbit == bbit)
		wt_fail("the two queues have the same bit");
	while (!x_armed_with(&sw, both ? sbit | bbit : sbit))
		wt_yield();
	usleep(20000);	/* into their FUTEX_WAIT */
	seq0 = wt_seq(&bw.sh->waitq);
	for (i = 0; i < WR_BURST; i++)
		b_send(&bw, (uint64_t)i);
	if (wt_seq(&bw.sh->waitq) - seq0 != (both ? 1u : 0u) ||
	    !x_armed_with(&sw, sbit))
		wt_fail("%u wakes from the broadcast ring, ro_pending %#x",
			wt_seq(&bw.sh->waitq) - seq0,
			atomic_load((_Atomic uint32_t *)sw.wref.ro_pending));
	usleep(50000);
	s_write(&sw, 1);
	pinshm_slot_detach(&sw);
	pinshm_bcast_detach(&bw);
	pinshm_region_close(r);
	_exit(0);
}

/* A read-only broadcast reader that sleeps until its first record. */
static void x_bcast_sleeper(void)
{
	struct pinshm_region *r = wt_open(g_name, PINSHM_RDONLY);
	struct pinshm_bcast rd;
	int ret = pinshm_bcast_attach(r, "b", PINSHM_READER, &rd);

	if (!ret)
		ret = pinshm_bcast_wait(&rd, 20 * WR_SEC);
	if (ret)
		wt_fail("broadcast sleeper: %s", strerror(-ret));
	pinshm_region_close(r);
	_exit(0);
}

/*
 * A read-only slot reader sleeps while the broadcast ring of the same
 * region publishes, then the slot is written: the reader must wake then,
 * not at its timeout, and the broadcast ring must not wake it for nothing.
 * both: a read-only broadcast reader sleeps too (its bit set as well): the
 * first publish wakes every sleeper on the word, the slot reader sleeps
 * on with its bit set, and no later publish wakes it.
 */
static void x_wait(bool both)
{
	struct pinshm_slot rd;
	struct s_val v;
	uint64_t ver = 0, t0;
	pid_t pid, bpid = 0;
	int ret;

	wt_need_membarrier();
	wr_setup("wx", 256 << 10);
	T_OK(pinshm_bcast_create(g_r, "b", B_SLOTS, 48));
	T_OK(pinshm_slot_create(g_r, "s", sizeof(struct s_val)));
	T_OK(pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &g_ro));
	T_OK(pinshm_slot_attach(g_ro, "s", PINSHM_READER, &rd));
	if (both) {
		bpid = fork();
		cr_assert_geq(bpid, 0);
		if (bpid == 0)
			x_bcast_sleeper();
	}
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		x_writer(both);
	t0 = t_now_ns(CLOCK_MONOTONIC);
	ret = pinshm_slot_wait(&rd, 0, 10 * WR_SEC);
	cr_assert_eq(ret, 0, "slot wait: %s after %llu ms", strerror(-ret),
		     (unsigned long long)(t_now_ns(CLOCK_MONOTONIC) - t0) / 1000000);
	T_ERR(pinshm_slot_read(&rd, &v, sizeof(v), &ver), (int)sizeof(v));
	cr_assert_eq(ver, 1);
	wt_reap_ok(pid, "writer");
	if (bpid)
		wt_reap_ok(bpid, "broadcast sleeper");
}

Test(wait_rings, a_read_only_sleeper_is_not_woken_by_another_objects_publishes)
{
	x_wait(false);
}

Test(wait_rings, a_read_only_sleeper_sleeps_on_while_another_objects_is_woken)
{
	x_wait(true);
}

/*
 * fork(): the child keeps the parent's shm mappings, and with them what
 * the library knows of them (wait.c drops only pinshm.ko mappings, which
 * the child does not inherit): a read-only reader in the child, on the
 * parent's handle, can still arm and sleep rather than get -EACCES.
 */
Test(wait_rings, a_forked_child_can_sleep_on_its_parents_read_only_reader)
{
	struct pinshm_slot rd;
	pid_t pid;

	wt_need_membarrier();
	s_setup();
	T_OK(pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &g_ro));
	T_OK(pinshm_slot_attach(g_ro, "s", PINSHM_READER, &rd));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int ret = pinshm_slot_wait(&rd, 0, 20000000);

		if (ret != -ETIMEDOUT)
			wt_fail("slot wait in the child: %s", strerror(-ret));
		_exit(0);
	}
	wt_reap_ok(pid, "child");
}
