// SPDX-License-Identifier: MIT
/*
 * Suite "mpsc_mp": the MPSC ring between processes. Every producer and the
 * consumer is a forked child that opens the region by name (its own attach
 * in the metadata page).
 *
 * A record is 16 bytes: its producer's sequence number, then the producer
 * id; the type word repeats the id. The consumer keeps one expected
 * sequence per producer id and fails on any gap, duplicate, reordering,
 * wrong length or torn record.
 *
 *  - stress: 3 producers x 10 M records (one claims and commits one at a
 *    time, one in batches of 8 with one CAS each, one through the copying
 *    send helper); PINSHM_MPSC_MP_COUNT overrides the count (for
 *    longer runs by hand; the ASan build runs the full count too).
 *  - crashes: producers are killed with SIGKILL at random moments and
 *    restarted with the same id; each resumes after pinshm_mpsc_last(). The
 *    consumer recovers their claims (as the metadata records the deaths)
 *    and must still see every sequence exactly once, in order (3 M per
 *    producer).
 */
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "testutil.h"

#define MP_PRODUCERS	3
#define MP_ERRLEN	256

struct mp_shared {
	_Atomic uint64_t next[MP_PRODUCERS];	/* consumer: next expected */
	_Atomic uint64_t recoveries;
	_Atomic int fail;
	char err[MP_ERRLEN];
};

static struct mp_shared *g_mp;
static struct pinshm_region *g_r;
static const char *g_name;

static void mp_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(mpsc_mp, .fini = mp_fini, .timeout = 300);

static __attribute__((format(printf, 1, 2), noreturn)) void
mp_fail(const char *fmt, ...)
{
	va_list ap;
	int zero = 0;

	if (atomic_compare_exchange_strong(&g_mp->fail, &zero, 1)) {
		va_start(ap, fmt);
		vsnprintf(g_mp->err, MP_ERRLEN, fmt, ap);
		va_end(ap);
	}
	_exit(1);
}

static void mp_setup(uint64_t cap)
{
	g_mp = t_shared_alloc(sizeof(*g_mp));
	g_r = t_create("mmp", cap + (64 << 10), &g_name);
	T_OK(pinshm_mpsc_create(g_r, "q", cap, 0));
}

static uint64_t mp_count(uint64_t dflt)
{
	const char *e = getenv("PINSHM_MPSC_MP_COUNT");

	return e && *e ? strtoull(e, NULL, 10) : dflt;
}

static struct pinshm_region *mp_open(void)
{
	struct pinshm_region *r;
	int ret;

	t_child_init();
	ret = pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r);
	if (ret)
		mp_fail("open: %s", strerror(-ret));
	return r;
}

static inline void mp_relax(unsigned int *spins)
{
	pinshm_cpu_relax();
	if (++*spins >= 64) {
		*spins = 0;
		sched_yield();
	}
}

/* Consumer: until every producer reached count. */
static void mp_consumer(uint64_t count)
{
	struct pinshm_region *r = mp_open();
	struct pinshm_mpsc c;
	struct pinshm_msg m[32];
	uint64_t next[MP_PRODUCERS] = { 0 }, done = 0;
	unsigned int spins = 0;
	int ret, i;

	ret = pinshm_mpsc_attach(r, "q", PINSHM_CONSUMER, &c);
	if (ret)
		mp_fail("attach consumer: %s", strerror(-ret));
	while (done < MP_PRODUCERS) {
		int n = pinshm_mpsc_peek_batch(&c, m, 32);

		if (n < 0)
			mp_fail("peek: %s", strerror(-n));
		if (n == 0) {
			mp_relax(&spins);
			continue;
		}
		for (i = 0; i < n; i++) {
			uint64_t seq, id;

			if (m[i].len != 16)
				mp_fail("record of %u bytes", m[i].len);
			memcpy(&seq, m[i].data, 8);
			memcpy(&id, (const uint8_t *)m[i].data + 8, 8);
			if (id >= MP_PRODUCERS || m[i].type != id)
				mp_fail("torn record: id %llu type %u",
					(unsigned long long)id, m[i].type);
			if (seq != next[id])
				mp_fail("producer %llu: expected %llu, got %llu (%s)",
					(unsigned long long)id,
					(unsigned long long)next[id],
					(unsigned long long)seq,
					seq < next[id] ? "duplicate" : "gap");
			if (++next[id] == count)
				done++;
		}
		pinshm_mpsc_release(&c);
		for (i = 0; i < MP_PRODUCERS; i++)
			atomic_store(&g_mp->next[i], next[i]);
	}
	atomic_store(&g_mp->recoveries, c.sh->recoveries);
	pinshm_mpsc_detach(&c);
	pinshm_region_close(r);
	_exit(0);
}

static inline void mp_fill(void *d, uint64_t seq, uint64_t id)
{
	memcpy(d, &seq, 8);
	memcpy((uint8_t *)d + 8, &id, 8);
}

/*
 * Producer id from its last committed sequence + 1 up to count.
 * mode 0: claim/commit; 1: batches of 8; 2: send().
 */
static void mp_producer(unsigned int id, uint64_t count, int mode)
{
	struct pinshm_region *r = mp_open();
	struct pinshm_mpsc p;
	uint64_t seq = 0, w;
	unsigned int spins = 0;
	int ret;

	while ((ret = pinshm_mpsc_attach(r, "q", PINSHM_PRODUCER_ID((int)id), &p)) == -EAGAIN)
		usleep(200);
	if (ret)
		mp_fail("attach producer %u: %s", id, strerror(-ret));
	ret = pinshm_mpsc_last(&p, &w, NULL);
	if (ret == 0)
		seq = w + 1;
	else if (ret != -ENOENT)
		mp_fail("last: %s", strerror(-ret));
	while (seq < count) {
		if (mode == 1) {
			uint32_t lens[8], types[8];
			void *outs[8];
			unsigned int n = count - seq < 8 ? (unsigned int)(count - seq) : 8, i;

			for (i = 0; i < n; i++) {
				lens[i] = 16;
				types[i] = id;
			}
			while ((ret = pinshm_mpsc_claim_batch(&p, n, lens, outs)) == -EAGAIN)
				mp_relax(&spins);
			if (ret)
				mp_fail("claim_batch: %s", strerror(-ret));
			for (i = 0; i < n; i++)
				mp_fill(outs[i], seq + i, id);
			pinshm_mpsc_commit_batch(&p, lens, types);
			seq += n;
		} else if (mode == 2) {
			uint8_t rec[16];

			mp_fill(rec, seq, id);
			ret = pinshm_mpsc_send(&p, rec, 16, id, PINSHM_WAIT_YIELD);
			if (ret)
				mp_fail("send: %s", strerror(-ret));
			seq++;
		} else {
			void *d;

			while ((ret = pinshm_mpsc_claim(&p, 16, &d)) == -EAGAIN)
				mp_relax(&spins);
			if (ret)
				mp_fail("claim: %s", strerror(-ret));
			mp_fill(d, seq, id);
			pinshm_mpsc_commit(&p, 16, id);
			seq++;
		}
	}
	pinshm_mpsc_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

static pid_t spawn_producer(unsigned int id, uint64_t count, int mode)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		mp_producer(id, count, mode);
	return pid;
}

/* On a failure: the ring's shared state, for the log. */
static void mp_dump(void)
{
	struct pinshm_obj_info info;
	struct pinshm_mpsc_shared *sh;
	unsigned int i;

	if (pinshm_obj_find(g_r, "q", &info))
		return;
	sh = (struct pinshm_mpsc_shared *)((uint8_t *)pinshm_region_data(g_r) +
					   info.offset);
	fprintf(stderr, "head %llu zeroed %llu tail %llu len@head %#x\n",
		(unsigned long long)sh->head, (unsigned long long)sh->zeroed,
		(unsigned long long)sh->tail,
		*(uint32_t *)((uint8_t *)sh + PINSHM_MPSC_HDR_SIZE +
			      (sh->head & (sh->capacity - 1))));
	{
		struct pinshm_meta m;
		int ret = pinshm_region_meta(g_r, &m);
		unsigned int j;

		fprintf(stderr, "meta: %d gen %llu\n", ret,
			(unsigned long long)m.generation);
		for (i = 0; i < MP_PRODUCERS; i++)
			for (j = 0; j < PINSHM_MAX_ATTACH; j++)
				if (m.attach[j].tgid == sh->prod[i].owner_pid)
					fprintf(stderr, "  owner of %u: entry %u state %u start %llu\n",
						i, j, m.attach[j].state,
						(unsigned long long)m.attach[j].start_time);
	}
	for (i = 0; i < MP_PRODUCERS; i++)
		fprintf(stderr, "slot %u: role %u owner %u/%llu intent %llu+%llu "
			"last %llu pend %llu\n", i, PINSHM_ROLE_PID(sh->prod[i].role.holder),
			sh->prod[i].owner_pid,
			(unsigned long long)sh->prod[i].owner_start,
			(unsigned long long)sh->prod[i].intent_pos,
			(unsigned long long)sh->prod[i].intent_size,
			(unsigned long long)sh->prod[i].last_pos,
			(unsigned long long)sh->prod[i].pend_pos);
}

static void check_child(pid_t pid, const char *who)
{
	int st = t_wait(pid);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed: %s", who,
		  g_mp->fail ? g_mp->err : "no message");
}

Test(mpsc_mp, three_producers_of_10M_records_each_arrive_complete_and_in_order)
{
	uint64_t count = mp_count(10000000), t0, t1;
	struct pinshm_ring_stats s;
	pid_t cons, prod[MP_PRODUCERS];
	unsigned int i;

	mp_setup(1 << 20);
	t0 = t_now_ns(CLOCK_MONOTONIC);
	cons = fork();
	cr_assert_geq(cons, 0);
	if (cons == 0)
		mp_consumer(count);
	for (i = 0; i < MP_PRODUCERS; i++)
		prod[i] = spawn_producer(i, count, (int)i);
	for (i = 0; i < MP_PRODUCERS; i++)
		check_child(prod[i], "producer");
	check_child(cons, "consumer");
	t1 = t_now_ns(CLOCK_MONOTONIC);
	T_OK(pinshm_obj_stats(g_r, "q", &s));
	cr_assert_eq(s.msgs_in, MP_PRODUCERS * count);
	cr_assert_eq(s.msgs_out, MP_PRODUCERS * count);
	cr_assert_eq(s.recoveries, 0);
	cr_assert_eq(s.corrupt, 0);
	fprintf(stderr, "mpsc_mp: %u x %llu records in %.2f s (%.1f M/s), "
		"%llu full events\n", MP_PRODUCERS, (unsigned long long)count,
		(double)(t1 - t0) / 1e9,
		(double)(MP_PRODUCERS * count) * 1e3 / (double)(t1 - t0),
		(unsigned long long)s.full_events);
}

Test(mpsc_mp, producers_killed_at_random_points_resume_and_nothing_is_lost_or_duplicated)
{
	uint64_t count = mp_count(3000000), rs = 12345, kills = 0;
	uint64_t deadline = t_now_ns(CLOCK_MONOTONIC) + 60000000000ull;
	struct pinshm_ring_stats s;
	pid_t cons, prod[MP_PRODUCERS];
	unsigned int i;
	int st;

	mp_setup(64 << 10);
	cons = fork();
	cr_assert_geq(cons, 0);
	if (cons == 0)
		mp_consumer(count);
	for (i = 0; i < MP_PRODUCERS; i++)
		prod[i] = spawn_producer(i, count, (int)i);
	/* Kill one at random every 0..1 ms; restart it at once. */
	for (;;) {
		unsigned int k = (unsigned int)(t_rand(&rs) % MP_PRODUCERS);

		usleep((useconds_t)(t_rand(&rs) % 1000));
		cr_assert_eq(g_mp->fail, 0, "%s", g_mp->err);
		if (t_now_ns(CLOCK_MONOTONIC) >= deadline)
			mp_dump();
		cr_assert_lt(t_now_ns(CLOCK_MONOTONIC), deadline,
			     "stuck at %llu/%llu/%llu",
			     (unsigned long long)g_mp->next[0],
			     (unsigned long long)g_mp->next[1],
			     (unsigned long long)g_mp->next[2]);
		if (waitpid(cons, &st, WNOHANG) == cons) {
			cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
				  "consumer failed: %s", g_mp->err);
			break;
		}
		if (g_mp->next[k] >= count)
			continue;
		kill(prod[k], SIGKILL);
		t_wait(prod[k]);
		kills++;
		prod[k] = spawn_producer(k, count, (int)k);
	}
	for (i = 0; i < MP_PRODUCERS; i++)
		check_child(prod[i], "producer");
	T_OK(pinshm_obj_stats(g_r, "q", &s));
	cr_assert_gt(kills, 20);
	cr_assert_eq(s.corrupt, 0);
	fprintf(stderr, "mpsc_mp: %llu kills, %llu claims recovered\n",
		(unsigned long long)kills, (unsigned long long)s.recoveries);
}
