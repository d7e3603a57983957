// SPDX-License-Identifier: MIT
/*
 * Suite "bcast_mp": the broadcast ring between processes. A writer child
 * opens the region read-write; reader children open it read-only
 * (PINSHM_RDONLY, one PINSHM_OBSERVE), so any write a reader made to
 * shared memory would kill it with SIGSEGV.
 *
 * Record n: payload bytes [0, 8) hold n, [8, 16) a checksum of n and the
 * bytes [16, len), the rest a pattern of n; len = 16..48 is a function of
 * n (64-byte slots: one record, one cache line). Every reader checks that
 * m.seq == the payload's n, the checksum, and that seqs strictly increase;
 * a torn record fails the checksum.
 *
 * Three readers, one deliberately slow:
 *  - two fast readers (one copying with recv, one zero-copy peek_batch +
 *    release) must see every record: the writer never waits for the ring,
 *    but the test keeps it less than half a ring ahead of them (through
 *    the test's own bookkeeping page, not the ring), so that they "keep
 *    up" even on two shared cores;
 *  - the slow reader sleeps now and then and is lapped many times; its
 *    counters must be exact: received + lost == records, lost == the sum
 *    of the gaps it saw. Half its reads are zero-copy peeks validated
 *    with pinshm_bcast_check(): a record the check passes must verify.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "testutil.h"
#include "../bcast_records.h"

#define BMP_SLOTS	1024
#define BMP_ERRLEN	256
#define BMP_READERS	3

struct bmp_result {
	uint64_t received;
	uint64_t lost;
	uint64_t gaps;		/* sum of seq jumps seen */
	uint64_t lapped;
	uint64_t stale;
	uint64_t zc_checked;	/* slow: zero-copy records validated */
	uint64_t zc_stale;	/* slow: ... found overwritten */
};

struct bmp_shared {
	_Atomic uint64_t fast_pos[2];	/* fast readers: next seq wanted */
	_Atomic int ready;
	_Atomic int fail;
	_Atomic uint64_t writer_next;	/* kill test: writer progress */
	char err[BMP_ERRLEN];
	struct bmp_result res[BMP_READERS];
};

static struct bmp_shared *g_mp;
static struct pinshm_region *g_r;
static const char *g_name;

static void bmp_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(bcast_mp, .fini = bmp_fini, .timeout = 120);

static __attribute__((format(printf, 1, 2), noreturn)) void
bmp_fail(const char *fmt, ...)
{
	va_list ap;
	int zero = 0;

	if (atomic_compare_exchange_strong(&g_mp->fail, &zero, 1)) {
		va_start(ap, fmt);
		vsnprintf(g_mp->err, BMP_ERRLEN, fmt, ap);
		va_end(ap);
	}
	_exit(1);
}

static void relax(unsigned int *spins)
{
	pinshm_cpu_relax();
	if (++*spins >= 64) {
		*spins = 0;
		sched_yield();
	}
}

static void sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

/* Writer: records [0, count); throttle: stay < slots/2 ahead of fast
 * readers. Batches of 1..16 (1: commit / send). */
static void writer(uint64_t count, bool throttle, uint64_t seed)
{
	struct pinshm_region *r;
	struct pinshm_bcast w;
	uint64_t n, rs = seed | 1, lim;
	unsigned int spins = 0, staged = 0, batch = 1;
	uint8_t buf[64];
	void *d;
	int ret;

	if ((ret = pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r)))
		bmp_fail("writer open: %s", strerror(-ret));
	if ((ret = pinshm_bcast_attach(r, "b", PINSHM_WRITER, &w)))
		bmp_fail("writer attach: %s", strerror(-ret));
	while (atomic_load(&g_mp->ready) < BMP_READERS)
		relax(&spins);
	for (n = 0; n < count; n++) {
		uint32_t len = rec_len(n);

		if (throttle) {
			lim = atomic_load_explicit(&g_mp->fast_pos[0],
						   memory_order_relaxed);
			if (atomic_load_explicit(&g_mp->fast_pos[1],
						 memory_order_relaxed) < lim)
				lim = atomic_load(&g_mp->fast_pos[1]);
			if (n - lim >= BMP_SLOTS / 2) {
				/* Never wait holding a batch back. */
				pinshm_bcast_publish(&w);
				staged = 0;
				while (n - atomic_load(&g_mp->fast_pos[0]) >=
					       BMP_SLOTS / 2 ||
				       n - atomic_load(&g_mp->fast_pos[1]) >=
					       BMP_SLOTS / 2)
					relax(&spins);
			}
		}
		if (batch == 1 && (n & 1)) {
			fill(buf, n, len);
			if ((ret = pinshm_bcast_send(&w, buf, len,
						     (uint32_t)n)))
				bmp_fail("send %llu: %s",
					 (unsigned long long)n, strerror(-ret));
			batch = 1 + (unsigned int)(t_rand(&rs) % 16);
			continue;
		}
		if ((ret = pinshm_bcast_claim(&w, len, &d)))
			bmp_fail("claim %llu: %s", (unsigned long long)n,
				 strerror(-ret));
		fill(d, n, len);
		pinshm_bcast_stage(&w, len, (uint32_t)n);
		if (++staged >= batch) {
			pinshm_bcast_publish(&w);
			staged = 0;
			batch = 1 + (unsigned int)(t_rand(&rs) % 16);
		}
	}
	pinshm_bcast_detach(&w);
	pinshm_region_close(r);
	_exit(0);
}

static void reader_open(struct pinshm_region **r,
			struct pinshm_bcast *rd, int access)
{
	int ret;

	if ((ret = pinshm_region_open(g_name, access, T_BACKEND, r)))
		bmp_fail("reader open: %s", strerror(-ret));
	if (pinshm_region_writable(*r))
		bmp_fail("a read-only open gave a writable mapping");
	if ((ret = (pinshm_bcast_attach(*r, "b", PINSHM_READER,
				       rd) ?: pinshm_bcast_seek(rd, PINSHM_BCAST_OLDEST))))
		bmp_fail("reader attach: %s", strerror(-ret));
	atomic_fetch_add(&g_mp->ready, 1);
}

static void save(int who, const struct pinshm_bcast *rd, uint64_t gaps)
{
	struct pinshm_bcast_stats s;

	pinshm_bcast_stats(rd, &s);
	g_mp->res[who].received = s.msgs;
	g_mp->res[who].lost = s.lost;
	g_mp->res[who].lapped = s.lapped;
	g_mp->res[who].stale = s.stale;
	g_mp->res[who].gaps = gaps;
}

/* Fast reader 0: recv, every record in order. */
static void fast_copy(uint64_t count)
{
	struct pinshm_region *r;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m = { 0 };
	uint8_t buf[64];
	uint64_t next = 0;
	int ret;

	reader_open(&r, &rd, PINSHM_RDONLY);
	while (next < count) {
		ret = pinshm_bcast_recv(&rd, buf, sizeof(buf), &m,
					PINSHM_WAIT_YIELD);
		if (ret < 0)
			bmp_fail("fast recv at %llu: %s",
				 (unsigned long long)next, strerror(-ret));
		if (m.seq != next)
			bmp_fail("fast reader: seq %llu, expected %llu",
				 (unsigned long long)m.seq,
				 (unsigned long long)next);
		if (verify(buf, m.len, next) || m.type != (uint32_t)next)
			bmp_fail("fast reader: record %llu torn",
				 (unsigned long long)next);
		next++;
		atomic_store_explicit(&g_mp->fast_pos[0], next,
				      memory_order_relaxed);
	}
	save(0, &rd, 0);
	_exit(0);
}

/* Fast reader 1: zero-copy peek_batch, verify in place, release. */
static void fast_zc(uint64_t count)
{
	struct pinshm_region *r;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m[32];
	uint64_t next = 0, rs = 99;
	unsigned int spins = 0;
	int n, i, bad;

	reader_open(&r, &rd, PINSHM_OBSERVE);
	while (next < count) {
		n = pinshm_bcast_peek_batch(&rd, m,
					    1 + (unsigned int)(t_rand(&rs) % 32));
		if (n < 0)
			bmp_fail("fast peek at %llu: %s",
				 (unsigned long long)next, strerror(-n));
		if (n == 0) {
			relax(&spins);
			continue;
		}
		bad = -1;
		for (i = 0; i < n; i++) {
			if (m[i].seq != next + (uint64_t)i)
				bmp_fail("fast zc reader: seq %llu, expected %llu",
					 (unsigned long long)m[i].seq,
					 (unsigned long long)(next + i));
			if (bad < 0 && verify(m[i].data, m[i].len, m[i].seq))
				bad = i;
		}
		if (pinshm_bcast_release(&rd))
			bmp_fail("fast zc reader lapped at %llu",
				 (unsigned long long)next);
		if (bad >= 0)
			bmp_fail("fast zc reader: record %llu torn, yet valid",
				 (unsigned long long)(next + bad));
		next += (uint64_t)n;
		atomic_store_explicit(&g_mp->fast_pos[1], next,
				      memory_order_relaxed);
	}
	save(1, &rd, 0);
	_exit(0);
}

/*
 * Slow reader: sleeps now and then; gets lapped. Strictly increasing
 * seqs, every record whole, and lost == the gaps it saw.
 */
static void slow(uint64_t count, int who, int access)
{
	struct pinshm_region *r;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m = { 0 };
	uint8_t buf[64];
	uint64_t prev = UINT64_MAX, gaps = 0, got = 0;
	unsigned int spins = 0;
	int ret;

	reader_open(&r, &rd, access);
	for (;;) {
		if (got & 1) {
			ret = pinshm_bcast_recv(&rd, buf, sizeof(buf), &m,
						PINSHM_WAIT_NONE);
			if (ret >= 0 && verify(buf, m.len, m.seq))
				bmp_fail("slow reader: record %llu torn",
					 (unsigned long long)m.seq);
		} else {
			ret = pinshm_bcast_peek(&rd, &m);
			if (ret == 0) {
				bool bad = verify(m.data, m.len, m.seq);

				g_mp->res[who].zc_checked++;
				if (pinshm_bcast_release(&rd)) {
					g_mp->res[who].zc_stale++;
					continue;	/* discard */
				}
				if (bad)
					bmp_fail("slow reader: record %llu "
						 "torn, yet released",
						 (unsigned long long)m.seq);
			} else if (ret == -ESTALE) {
				continue;
			}
		}
		if (ret == -EAGAIN) {
			if (prev == count - 1)
				break;
			relax(&spins);
			continue;
		}
		if (ret < 0)
			bmp_fail("slow reader at %llu: %s",
				 (unsigned long long)prev, strerror(-ret));
		if (prev != UINT64_MAX && m.seq <= prev)
			bmp_fail("slow reader: seq %llu after %llu",
				 (unsigned long long)m.seq,
				 (unsigned long long)prev);
		gaps += m.seq - (prev == UINT64_MAX ? 0 : prev + 1);
		prev = m.seq;
		if (++got % 64 == 0)
			sleep_us(got % 1024 ? 20 : 2000);
	}
	save(who, &rd, gaps);
	_exit(0);
}

static pid_t spawn(void (*fn)(void), int cpu)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		cpu_set_t set;

		t_child_init();
		CPU_ZERO(&set);
		if (!sched_getaffinity(0, sizeof(set), &set) &&
		    CPU_COUNT(&set) >= 2) {
			int c, seen = 0;

			for (c = 0; c < CPU_SETSIZE; c++)
				if (CPU_ISSET(c, &set) && seen++ == cpu) {
					CPU_ZERO(&set);
					CPU_SET(c, &set);
					sched_setaffinity(0, sizeof(set), &set);
					break;
				}
		}
		fn();
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid, const char *who)
{
	int st = t_wait(pid);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "%s (pid %d) failed (status %#x): %s", who, (int)pid, st,
		  g_mp->fail ? g_mp->err : "no message");
}

static uint64_t g_count;

static void run_writer(void) { writer(g_count, true, 7); }
static void run_fast_copy(void) { fast_copy(g_count); }
static void run_fast_zc(void) { fast_zc(g_count); }
static void run_slow(void) { slow(g_count, 2, PINSHM_RDONLY); }

Test(bcast_mp, fast_readers_lose_nothing_and_a_slow_readers_losses_are_exact)
{
	struct pinshm_ring_stats s;
	const struct bmp_result *sr;
	pid_t w, f0, f1, sl;
	uint64_t t0, ns;

	g_count = 5000000;
	g_mp = t_shared_alloc(sizeof(*g_mp));
	g_r = t_create("bmp", BMP_SLOTS * 64 + (64 << 10), &g_name);
	T_OK(pinshm_bcast_create(g_r, "b", BMP_SLOTS, 48));
	t0 = t_now_ns(CLOCK_MONOTONIC);
	f0 = spawn(run_fast_copy, 1);
	f1 = spawn(run_fast_zc, 1);
	sl = spawn(run_slow, 1);
	w = spawn(run_writer, 0);
	reap(w, "writer");
	reap(f0, "fast copying reader");
	reap(f1, "fast zero-copy reader");
	reap(sl, "slow reader");
	ns = t_now_ns(CLOCK_MONOTONIC) - t0;
	cr_assert_eq(g_mp->fail, 0, "%s", g_mp->err);
	T_OK(pinshm_obj_stats(g_r, "b", &s));
	cr_assert_eq(s.msgs_in, g_count);
	cr_assert_eq(s.tail, g_count);
	cr_assert_eq(s.producer_pid, 0);
	cr_assert_eq(g_mp->res[0].received, g_count);
	cr_assert_eq(g_mp->res[0].lost, 0);
	cr_assert_eq(g_mp->res[1].received, g_count);
	cr_assert_eq(g_mp->res[1].lost, 0);
	sr = &g_mp->res[2];
	cr_assert_eq(sr->received + sr->lost, g_count,
		     "slow: received %llu + lost %llu != %llu",
		     (unsigned long long)sr->received,
		     (unsigned long long)sr->lost,
		     (unsigned long long)g_count);
	cr_assert_eq(sr->lost, sr->gaps, "slow: lost %llu, gaps seen %llu",
		     (unsigned long long)sr->lost,
		     (unsigned long long)sr->gaps);
	cr_assert_gt(sr->lapped, 0, "the slow reader was never lapped");
	cr_log_info("%llu records in %.2f s (%.2f M/s, writer throttled to "
		    "the fast readers); slow reader: %llu received, %llu lost "
		    "in %llu laps, %llu stale, zero-copy %llu checked / %llu "
		    "stale",
		    (unsigned long long)g_count, ns / 1e9,
		    g_count * 1e3 / (double)ns,
		    (unsigned long long)sr->received,
		    (unsigned long long)sr->lost,
		    (unsigned long long)sr->lapped,
		    (unsigned long long)sr->stale,
		    (unsigned long long)sr->zc_checked,
		    (unsigned long long)sr->zc_stale);
}

/*
 * No throttle at all: the writer runs flat out and laps everybody. Every
 * reader's counters stay exact and nothing torn gets through.
 */
static void run_writer_free(void) { writer(g_count, false, 11); }
static void run_slow0(void) { slow(g_count, 0, PINSHM_RDONLY); }
static void run_slow1(void) { slow(g_count, 1, PINSHM_OBSERVE); }

Test(bcast_mp, an_unthrottled_writer_laps_readers_who_still_count_exactly)
{
	pid_t w, a, b;
	int i;

	g_count = 3000000;
	g_mp = t_shared_alloc(sizeof(*g_mp));
	g_r = t_create("bmpf", 64 * 64 + (64 << 10), &g_name);
	T_OK(pinshm_bcast_create(g_r, "b", 64, 48));
	atomic_store(&g_mp->ready, 1);	/* two readers, not three */
	a = spawn(run_slow0, 1);
	b = spawn(run_slow1, 0);
	while (atomic_load(&g_mp->ready) < BMP_READERS)	/* from record 0 */
		sleep_us(100);
	w = spawn(run_writer_free, 0);
	reap(w, "writer");
	reap(a, "reader 0");
	reap(b, "reader 1");
	for (i = 0; i < 2; i++) {
		const struct bmp_result *r = &g_mp->res[i];

		cr_assert_eq(r->received + r->lost, g_count);
		cr_assert_eq(r->lost, r->gaps);
		cr_log_info("reader %d: %llu received, %llu lost in %llu laps; "
			    "zero-copy %llu checked / %llu stale", i,
			    (unsigned long long)r->received,
			    (unsigned long long)r->lost,
			    (unsigned long long)r->lapped,
			    (unsigned long long)r->zc_checked,
			    (unsigned long long)r->zc_stale);
	}
}

/*
 * kill -9 the writer at random moments (mid-batch included) and start a
 * new one: it takes the role over, withdraws what was staged, continues
 * at the published tail. A reader sees strictly increasing, whole records,
 * each carrying its own record number, and exact counts.
 */
static void killable_writer(uint64_t count, uint64_t seed)
{
	struct pinshm_region *r;
	struct pinshm_bcast w;
	uint64_t rs = seed | 1;
	unsigned int staged = 0, batch = 1;
	void *d;
	int ret;

	if ((ret = pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r)))
		bmp_fail("writer open: %s", strerror(-ret));
	while ((ret = pinshm_bcast_attach(r, "b", PINSHM_WRITER, &w)) == -EBUSY)
		sched_yield();	/* the previous one is still dying */
	if (ret)
		bmp_fail("writer attach: %s", strerror(-ret));
	while (w.next < count) {
		uint64_t n = w.next;
		uint32_t len = rec_len(n);

		if ((ret = pinshm_bcast_claim(&w, len, &d)))
			bmp_fail("claim %llu: %s", (unsigned long long)n,
				 strerror(-ret));
		fill(d, n, len);
		pinshm_bcast_stage(&w, len, (uint32_t)n);
		if (++staged >= batch) {
			pinshm_bcast_publish(&w);
			atomic_store(&g_mp->writer_next, w.next);
			staged = 0;
			batch = 1 + (unsigned int)(t_rand(&rs) % 16);
		}
	}
	pinshm_bcast_detach(&w);
	atomic_store(&g_mp->writer_next, count);
	_exit(0);
}

static void run_slow_k(void) { slow(g_count, 0, PINSHM_RDONLY); }

Test(bcast_mp, a_killed_writer_is_replaced_and_readers_see_no_torn_record)
{
	uint64_t rs = (uint64_t)getpid() * 7919 + (uint64_t)time(NULL);
	unsigned int kills = 0, round;
	struct pinshm_ring_stats s;
	pid_t w, rd;
	int st;

	cr_log_info("seed %llu", (unsigned long long)rs);
	g_count = 6000000;
	g_mp = t_shared_alloc(sizeof(*g_mp));
	g_r = t_create("bmpk", 256 * 64 + (64 << 10), &g_name);
	T_OK(pinshm_bcast_create(g_r, "b", 256, 48));
	atomic_store(&g_mp->ready, BMP_READERS - 1);
	rd = spawn(run_slow_k, 1);
	while (atomic_load(&g_mp->ready) < BMP_READERS)	/* from record 0 */
		sleep_us(100);
	for (round = 0;; round++) {
		uint64_t at = atomic_load(&g_mp->writer_next);

		w = fork();
		cr_assert_geq(w, 0);
		if (w == 0) {
			t_child_init();
			killable_writer(g_count, t_rand(&rs));
		}
		if (round == 10) {
			reap(w, "last writer");
			break;
		}
		/* Kill after a random amount of progress (not time: the
		 * writer is fast and the machine's load unknown). */
		at += 1000 + t_rand(&rs) % 50000;
		while (atomic_load(&g_mp->writer_next) < at && !g_mp->fail)
			pinshm_cpu_relax();
		for (unsigned int k = t_rand(&rs) % 4096; k; k--)
			pinshm_cpu_relax();	/* land mid-batch too */
		kill(w, SIGKILL);
		st = t_wait(w);
		if (WIFEXITED(st)) {
			cr_assert_eq(WEXITSTATUS(st), 0, "writer: %s",
				     g_mp->err);
			break;
		}
		kills++;
	}
	reap(rd, "reader");
	T_OK(pinshm_obj_stats(g_r, "b", &s));
	cr_assert_eq(s.tail, g_count);
	cr_assert_eq(s.msgs_in, g_count);
	cr_assert_geq(kills, 3, "only %u writers were killed", kills);
	cr_assert_gt(s.recoveries, 0, "no kill landed with records staged");
	cr_assert_eq(g_mp->res[0].received + g_mp->res[0].lost, g_count);
	cr_assert_eq(g_mp->res[0].lost, g_mp->res[0].gaps);
	cr_log_info("%u writers killed (%llu takeovers withdrew staged "
		    "records); reader: %llu received, %llu lost",
		    kills, (unsigned long long)s.recoveries,
		    (unsigned long long)g_mp->res[0].received,
		    (unsigned long long)g_mp->res[0].lost);
}
