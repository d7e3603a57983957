// SPDX-License-Identifier: MIT
/*
 * Suite "wait": futex wait/wake (libshm/src/wait.c, pinshm/wait.h) and the
 * SPSC consumer's sleep, pinshm_spsc_wait() (pinshm/spsc.h).
 *
 * Producers are forked children that open the region themselves; their
 * attach registers them for the membarrier pairing and every
 * pinshm_spsc_publish() kicks the ring's wait queue: nothing here helps.
 *
 * Every wake bumps waitq.seq, so "seq did not move" proves that the
 * producer's fast path made no wake syscall. Every way out of a wait must
 * leave waitq.waiters at 0. A lost wakeup would hang a sleeper with no
 * timeout: the suite's .timeout turns that into a failure.
 */
#include <sched.h>

#include "waitutil.h"

struct w_shared {
	_Atomic uint64_t t_commit;	/* producer: CLOCK_MONOTONIC at commit */
	_Atomic uint64_t go;		/* consumer → producer: round to run */
	_Atomic uint64_t done;		/* producer: rounds finished */
	_Atomic uint32_t flag;		/* waitq tests: the condition */
	struct pinshm_waitq wq;		/* waitq tests: anonymous shared */
};

static struct w_shared *g_w;
static struct pinshm_region *g_r;
static const char *g_name;

static void w_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(wait, .fini = w_fini, .timeout = 120);

static void w_setup(uint64_t cap)
{
	g_w = t_shared_alloc(sizeof(*g_w));
	wt_setup();
	g_r = t_create("wait", cap + (64 << 10), &g_name);
	T_OK(pinshm_spsc_create(g_r, "q", cap, 0));
}

/* In a child: open the region, take the producer role, register. */
static void w_producer_attach(struct pinshm_region **r, struct pinshm_spsc *p)
{
	int ret;

	*r = wt_open(g_name, PINSHM_RDWR);
	ret = pinshm_spsc_attach(*r, "q", PINSHM_PRODUCER, p);
	if (ret)
		wt_fail("attach producer: %s", strerror(-ret));
}

/* Send seq as an 8-byte record (the publish wakes a sleeping consumer). */
static void w_send(struct pinshm_spsc *p, uint64_t seq)
{
	int ret = pinshm_spsc_send(p, &seq, sizeof(seq), 1, PINSHM_WAIT_YIELD);

	if (ret)
		wt_fail("send %llu: %s", (unsigned long long)seq, strerror(-ret));
}

static void w_consumer(struct pinshm_spsc *c)
{
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_CONSUMER, c));
}

static uint64_t w_recv_seq(struct pinshm_spsc *c)
{
	struct pinshm_msg m = { 0 };
	uint64_t seq;

	T_OK(pinshm_spsc_peek(c, &m));
	cr_assert_eq(m.len, sizeof(seq));
	memcpy(&seq, m.data, sizeof(seq));
	pinshm_spsc_release(c);
	return seq;
}

static bool w_flag_ready(void *arg)
{
	return atomic_load((_Atomic uint32_t *)arg) != 0;
}

/* ------------------------------------------------------------------ */

Test(wait, registering_twice_is_fine)
{
	int ret = pinshm_wait_register();

	if (ret == -ENOSYS)
		cr_skip_test("no membarrier GLOBAL_EXPEDITED in this kernel");
	T_OK(ret);
	T_OK(pinshm_wait_register());
}

Test(wait, bad_arguments_give_EINVAL_or_EPERM)
{
	struct pinshm_spsc p;
	struct pinshm_waitq wq = { .seq = 0 };

	w_setup(4096);
	T_ERR(pinshm_spsc_wait(NULL, 0), -EINVAL);
	T_ERR(pinshm_waitq_wait(NULL, w_flag_ready, &g_w->flag, 0), -EINVAL);
	T_ERR(pinshm_waitq_wait(&wq, NULL, NULL, 0), -EINVAL);
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
	T_ERR(pinshm_spsc_wait(&p, 0), -EPERM);
}

Test(wait, a_ready_condition_returns_at_once_without_touching_the_queue)
{
	struct pinshm_waitq wq = { .seq = 7 };
	uint32_t one = 1;

	T_OK(pinshm_waitq_wait(&wq, w_flag_ready, &one, -1));
	T_OK(pinshm_waitq_wait(&wq, w_flag_ready, &one, 0));
	cr_assert_eq(wq.seq, 7);
	cr_assert_eq(wq.waiters, 0);
}

Test(wait, a_timeout_gives_ETIMEDOUT_after_at_least_the_timeout)
{
	struct pinshm_spsc c;
	uint64_t t0, ns;
	int i;

	w_setup(4096);
	w_consumer(&c);
	T_ERR(pinshm_spsc_wait(&c, 0), -ETIMEDOUT);
	for (i = 0; i < 3; i++) {
		t0 = t_now_ns(CLOCK_MONOTONIC);
		T_ERR(pinshm_spsc_wait(&c, 20000000), -ETIMEDOUT);
		ns = t_now_ns(CLOCK_MONOTONIC) - t0;
		/* A lower bound is the contract, not a timing measurement. */
		cr_assert_geq(ns, 20000000, "woke after %llu ns",
			      (unsigned long long)ns);
		cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
	}
	cr_assert_eq(wt_seq(&c.sh->waitq), 0, "nobody woke anyone");
}

Test(wait, a_record_already_there_returns_0_at_once)
{
	struct pinshm_spsc p, c;
	uint64_t seq = 42;

	w_setup(4096);
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
	w_consumer(&c);
	T_OK(pinshm_spsc_send(&p, &seq, sizeof(seq), 1, PINSHM_WAIT_NONE));
	T_OK(pinshm_spsc_wait(&c, 0));
	T_OK(pinshm_spsc_wait(&c, -1));
	cr_assert_eq(w_recv_seq(&c), 42);
	T_ERR(pinshm_spsc_wait(&c, 1000000), -ETIMEDOUT);
	cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
}

/* Records that end exactly at the buffer's end, then a pad: the wait
 * looks past the pad like peek does. */
Test(wait, a_record_after_a_pad_at_the_wrap_counts_as_ready)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m;
	uint8_t buf[1000] = { 0 };
	int i, n = 0;

	w_setup(4096);
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
	w_consumer(&c);
	/* 1000 bytes + 8 = 1008: the fourth record wraps with a pad. */
	for (i = 0; i < 40; i++) {
		T_OK(pinshm_spsc_send(&p, buf, 1000, 1, PINSHM_WAIT_NONE));
		T_OK(pinshm_spsc_wait(&c, 0));
		T_OK(pinshm_spsc_peek(&c, &m));
		pinshm_spsc_release(&c);
		T_ERR(pinshm_spsc_wait(&c, 0), -ETIMEDOUT);
		n++;
	}
	cr_assert_eq(n, 40);
}

/*
 * The producer's fast path: with nobody asleep, a burst of commits and
 * kicks leaves seq where it was (no wake issued, so no syscall); with a
 * sleeper flagged, each kick wakes (bumps seq).
 */
Test(wait, the_producer_makes_no_wake_call_unless_someone_sleeps)
{
	struct pinshm_spsc p, c;
	struct pinshm_waitq *wq;
	struct pinshm_msg m;
	uint64_t seq;
	uint32_t seq0;

	w_setup(64 << 10);
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
	w_consumer(&c);
	wq = &p.sh->waitq;
	seq0 = wt_seq(wq);
	for (seq = 0; seq < 100000; seq++) {
		T_OK(pinshm_spsc_send(&p, &seq, sizeof(seq), 1, PINSHM_WAIT_NONE));
		pinshm_waitq_kick(wq);
		T_OK(pinshm_spsc_peek(&c, &m));
		pinshm_spsc_release(&c);
	}
	cr_assert_eq(wt_seq(wq), seq0, "seq moved: the fast path woke someone");
	cr_assert_eq(wt_waiters(wq), 0);

	/* A (pretend) sleeper: the first kick wakes it, the next ones find
	 * it woken (pending 0) and make no call, until it sleeps again. */
	atomic_fetch_add((_Atomic uint32_t *)&wq->waiters, 1);
	atomic_store((_Atomic uint32_t *)&wq->pending, 1);
	for (seq = 0; seq < 10; seq++)
		pinshm_waitq_kick(wq);
	cr_assert_eq(wt_seq(wq), seq0 + 1);
	atomic_store((_Atomic uint32_t *)&wq->pending, 1);
	for (seq = 0; seq < 10; seq++)
		pinshm_waitq_kick(wq);
	atomic_fetch_sub((_Atomic uint32_t *)&wq->waiters, 1);
	cr_assert_eq(wt_seq(wq), seq0 + 2);
	cr_assert_eq(atomic_load((_Atomic uint32_t *)&wq->pending), 0);
}

/*
 * A consumer asleep in pinshm_spsc_wait() wakes when a producer process
 * commits. The producer waits until the consumer is flagged as a sleeper
 * (and a little more, so that it is in FUTEX_WAIT), then commits. The wake
 * latency is printed, never asserted.
 */
#define WAKE_ROUNDS	50

static void wake_producer(void)
{
	struct pinshm_region *r;
	struct pinshm_spsc p;
	uint64_t round, t;
	int i;

	w_producer_attach(&r, &p);
	for (round = 1; round <= WAKE_ROUNDS; round++) {
		while (atomic_load(&g_w->go) < round)
			wt_yield();
		while (wt_waiters(&p.sh->waitq) == 0)
			wt_yield();
		/* Let the sleeper get from the membarrier into the futex. */
		for (i = 0; i < 20; i++)
			sched_yield();
		t = t_now_ns(CLOCK_MONOTONIC);
		atomic_store(&g_w->t_commit, t);
		w_send(&p, round);
		atomic_store(&g_w->done, round);
	}
	pinshm_spsc_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

Test(wait, a_sleeping_consumer_wakes_when_a_producer_process_commits)
{
	uint64_t lat[WAKE_ROUNDS], round, woken;
	struct pinshm_spsc c;
	uint32_t seq0;
	pid_t pid;
	int ret;

	wt_need_membarrier();
	w_setup(4096);
	w_consumer(&c);
	seq0 = wt_seq(&c.sh->waitq);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		wake_producer();
	for (round = 1; round <= WAKE_ROUNDS; round++) {
		atomic_store(&g_w->go, round);
		ret = pinshm_spsc_wait(&c, 30LL * 1000000000LL);
		woken = t_now_ns(CLOCK_MONOTONIC);
		cr_assert_eq(ret, 0, "round %llu: %s", (unsigned long long)round,
			     strerror(-ret));
		cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
		cr_assert_eq(w_recv_seq(&c), round);
		lat[round - 1] = woken - atomic_load(&g_w->t_commit);
	}
	wt_reap_ok(pid, "producer");
	cr_assert_geq(wt_seq(&c.sh->waitq) - seq0, 1, "no wake was issued");
	qsort(lat, WAKE_ROUNDS, sizeof(lat[0]), cmp_u64);
	cr_log_info("wake latency, commit to consumer running, %d rounds: "
		    "min %llu ns, p50 %llu ns, max %llu ns; %u wakes issued",
		    WAKE_ROUNDS, (unsigned long long)lat[0],
		    (unsigned long long)lat[WAKE_ROUNDS / 2],
		    (unsigned long long)lat[WAKE_ROUNDS - 1],
		    wt_seq(&c.sh->waitq) - seq0);
}

/*
 * No lost wakeup: 200k messages, the consumer sleeps (no timeout) every
 * time the ring is empty, the producer pauses for random short spells, so
 * the race between "ring empty → sleep" and "commit → kick" is run many
 * thousand times. A lost wakeup hangs the consumer: the test times out.
 */
#define STRESS_MSGS	200000ULL

static void stress_producer(uint64_t seed)
{
	struct pinshm_region *r;
	struct pinshm_spsc p;
	uint64_t seq, rs = seed | 1, x;
	unsigned int i;

	w_producer_attach(&r, &p);
	for (seq = 0; seq < STRESS_MSGS; seq++) {
		w_send(&p, seq);
		x = t_rand(&rs);
		if (x % 4 == 0) {		/* a spin of 0..~2 us */
			for (i = 0; i < (x >> 32) % 256; i++)
				pinshm_cpu_relax();
		} else if (x % 4 == 1 && (x >> 40) % 64 == 0) {
			usleep((useconds_t)((x >> 20) % 50));
		} else if (x % 4 == 2 && (x >> 40) % 8 == 0) {
			sched_yield();
		}
	}
	pinshm_spsc_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

Test(wait, no_wakeup_is_lost_in_200k_messages_with_a_consumer_that_sleeps_when_empty,
     .timeout = 180)
{
	uint64_t rs = (uint64_t)getpid() * 7919 + (uint64_t)time(NULL);
	uint64_t next = 0, seq, sleeps = 0, t0, ns;
	struct pinshm_spsc c;
	struct pinshm_msg m;
	uint32_t seq0;
	pid_t pid;
	int ret;

	wt_need_membarrier();
	cr_log_info("seed %llu", (unsigned long long)rs);
	w_setup(16 << 10);
	w_consumer(&c);
	seq0 = wt_seq(&c.sh->waitq);
	t0 = t_now_ns(CLOCK_MONOTONIC);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		stress_producer(rs);
	while (next < STRESS_MSGS) {
		ret = pinshm_spsc_peek(&c, &m);
		if (ret == -EAGAIN) {
			sleeps++;
			ret = pinshm_spsc_wait(&c, -1);	/* no timeout */
			cr_assert_eq(ret, 0, "wait: %s", strerror(-ret));
			continue;
		}
		cr_assert_eq(ret, 0, "peek at %llu: %s",
			     (unsigned long long)next, strerror(-ret));
		cr_assert_eq(m.len, sizeof(seq));
		memcpy(&seq, m.data, sizeof(seq));
		cr_assert_eq(seq, next, "expected %llu, got %llu",
			     (unsigned long long)next, (unsigned long long)seq);
		pinshm_spsc_release(&c);
		next++;
	}
	wt_reap_ok(pid, "producer");
	ns = t_now_ns(CLOCK_MONOTONIC) - t0;
	cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
	T_ERR(pinshm_spsc_peek(&c, &m), -EAGAIN);
	/* A wake only for a sleep that has not had one (waitq.pending). */
	cr_assert_leq(wt_seq(&c.sh->waitq) - seq0, sleeps,
		      "%u wakes for %llu waits", wt_seq(&c.sh->waitq) - seq0,
		      (unsigned long long)sleeps);
	cr_log_info("%llu messages in %.2f s; the consumer went to wait %llu "
		    "times, %u wakes issued",
		    STRESS_MSGS, ns / 1e9, (unsigned long long)sleeps,
		    wt_seq(&c.sh->waitq) - seq0);
}

/*
 * Bursts to a consumer asleep: a wakeup takes 10-20 us, in which the
 * producer publishes a whole burst. Only the first publish may make a wake
 * call (waitq.pending); before it, every one of them did.
 */
#define BURST_ROUNDS	50
#define BURST_MSGS	256

static void burst_producer(void)
{
	struct pinshm_region *r;
	struct pinshm_spsc p;
	uint64_t round, i, seq = 0;

	w_producer_attach(&r, &p);
	for (round = 1; round <= BURST_ROUNDS; round++) {
		/* The consumer drained the last burst and went to sleep. */
		while (atomic_load(&g_w->go) != round ||
		       wt_waiters(&p.sh->waitq) == 0)
			wt_yield();
		/* Let it get from the membarrier into the futex. */
		for (i = 0; i < 20; i++)
			sched_yield();
		for (i = 0; i < BURST_MSGS; i++)
			w_send(&p, seq++);
	}
	pinshm_spsc_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

Test(wait, a_burst_to_a_sleeping_consumer_costs_the_producer_one_wake_call)
{
	uint64_t round, next = 0, waits = 0, seq, spins, t0;
	struct pinshm_spsc c;
	struct pinshm_msg m;
	uint32_t seq0, wakes;
	pid_t pid;
	int ret;

	wt_need_membarrier();
	w_setup(64 << 10);
	w_consumer(&c);
	seq0 = wt_seq(&c.sh->waitq);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		burst_producer();
	for (round = 1; round <= BURST_ROUNDS; round++) {
		atomic_store(&g_w->go, round);
		while (next < round * BURST_MSGS) {
			ret = pinshm_spsc_peek(&c, &m);
			/* Spin a while first, as PINSHM_WAIT_FUTEX does. */
			for (spins = 0; ret == -EAGAIN && spins < 4096; spins++) {
				pinshm_cpu_relax();
				ret = pinshm_spsc_peek(&c, &m);
			}
			if (ret == -EAGAIN) {
				waits++;
				t0 = t_now_ns(CLOCK_MONOTONIC);
				T_OK(pinshm_spsc_wait(&c, 5LL * 1000000000LL));
				/* Ready after its timeout: the wake was lost. */
				cr_assert_lt(t_now_ns(CLOCK_MONOTONIC) - t0,
					     2000000000ULL, "a wait of %llu ns",
					     (unsigned long long)
					     (t_now_ns(CLOCK_MONOTONIC) - t0));
				continue;
			}
			cr_assert_eq(ret, 0, "peek: %s", strerror(-ret));
			memcpy(&seq, m.data, sizeof(seq));
			cr_assert_eq(seq, next);
			pinshm_spsc_release(&c);
			next++;
		}
	}
	wt_reap_ok(pid, "producer");
	wakes = wt_seq(&c.sh->waitq) - seq0;
	cr_log_info("%d bursts of %d: the consumer waited %llu times, the "
		    "producer made %u wake calls", BURST_ROUNDS, BURST_MSGS,
		    (unsigned long long)waits, wakes);
	cr_assert_geq(waits, BURST_ROUNDS);
	cr_assert_leq(wakes, waits, "%u wakes for %llu waits", wakes,
		      (unsigned long long)waits);
	cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
}

/* One wake wakes every sleeper of a queue (several readers, one flag). */
static void flag_sleeper(void)
{
	int ret;

	t_child_init();
	ret = pinshm_waitq_wait(&g_w->wq, w_flag_ready, &g_w->flag,
				30LL * 1000000000LL);
	if (ret)
		wt_fail("sleeper %d: %s", (int)getpid(), strerror(-ret));
	_exit(0);
}

Test(wait, one_wake_wakes_every_sleeper_of_the_queue)
{
	pid_t pid[3];
	int i;

	wt_need_membarrier();
	g_w = t_shared_alloc(sizeof(*g_w));
	wt_setup();
	for (i = 0; i < 3; i++) {
		pid[i] = fork();
		cr_assert_geq(pid[i], 0);
		if (pid[i] == 0)
			flag_sleeper();
	}
	while (wt_waiters(&g_w->wq) < 3)
		wt_yield();
	usleep(20000);
	atomic_store(&g_w->flag, 1);
	pinshm_waitq_kick(&g_w->wq);
	for (i = 0; i < 3; i++)
		wt_reap_ok(pid[i], "sleeper");
	cr_assert_eq(wt_waiters(&g_w->wq), 0);
	cr_assert_geq(wt_seq(&g_w->wq), 1);
}

/* A signal (handler without SA_RESTART) ends the wait with -EINTR. */
static void on_usr1(int sig)
{
	(void)sig;
}

Test(wait, a_signal_gives_EINTR_and_leaves_no_waiter_behind)
{
	struct sigaction sa;
	struct pinshm_spsc c;
	pid_t parent = getpid(), pid;
	int ret;

	wt_need_membarrier();
	w_setup(4096);
	w_consumer(&c);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* The shm backend's mapping is inherited by fork(). */
		t_child_init();
		while (wt_waiters(&c.sh->waitq) == 0)
			wt_yield();
		usleep(20000);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	ret = pinshm_spsc_wait(&c, 30LL * 1000000000LL);
	T_CHILD_OK(pid);
	cr_assert_eq(ret, -EINTR, "got %d (%s)", ret, strerror(-ret));
	cr_assert_eq(wt_waiters(&c.sh->waitq), 0);
}
