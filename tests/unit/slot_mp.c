// SPDX-License-Identifier: MIT
/*
 * Suite "slot_mp": the latest-value slot between processes. A writer
 * child writes values at full speed; reader children open the region
 * read-only and read as fast as they can, each value checked:
 *
 *   value bytes [0, 8) its sequence number s (1, 2, 3, ...), [8, 16) a
 *   checksum of s and every other byte, the rest a pattern of s.
 *
 * A torn value fails its checksum; s and the slot's version must never go
 * backwards for a reader. One reader copies (pinshm_slot_read), one reads
 * in place (read_begin / read_retry) and copies the fields itself; both
 * count how often they had to retry, which shows the torn-read detection
 * at work. Two sizes: 64 bytes (one line, the usual book top) and 16 KiB
 * (a write takes long enough for readers to meet it mid-way often).
 */
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "testutil.h"
#include "../rec_csum.h"

#define SMP_ERRLEN	256
#define SMP_READERS	2

struct smp_result {
	uint64_t reads;
	uint64_t retries;
	uint64_t busy;
	uint64_t distinct;	/* different values seen */
	uint64_t last;
};

struct smp_shared {
	_Atomic int ready;
	_Atomic int done;	/* writer finished */
	_Atomic int fail;
	char err[SMP_ERRLEN];
	struct smp_result res[SMP_READERS];
};

static struct smp_shared *g_mp;
static struct pinshm_region *g_r;
static const char *g_name;
static uint32_t g_size;
static uint64_t g_writes;

static void smp_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(slot_mp, .fini = smp_fini, .timeout = 120);

static __attribute__((format(printf, 1, 2), noreturn)) void
smp_fail(const char *fmt, ...)
{
	va_list ap;
	int zero = 0;

	if (atomic_compare_exchange_strong(&g_mp->fail, &zero, 1)) {
		va_start(ap, fmt);
		vsnprintf(g_mp->err, SMP_ERRLEN, fmt, ap);
		va_end(ap);
	}
	_exit(1);
}

static void fill(uint8_t *p, uint32_t len, uint64_t s)
{
	uint64_t c;
	uint32_t i;

	memcpy(p, &s, 8);
	for (i = 16; i < len; i++)
		p[i] = (uint8_t)(s * 13 + i * 7);
	c = rec_csum(p, len, s);
	memcpy(p + 8, &c, 8);
}

/* Returns s, or fails the test on a torn value. */
static uint64_t check(const uint8_t *p, uint32_t len)
{
	uint64_t s, c;

	memcpy(&s, p, 8);
	memcpy(&c, p + 8, 8);
	if (c != rec_csum(p, len, s))
		smp_fail("value %llu torn", (unsigned long long)s);
	return s;
}

static void writer(void)
{
	struct pinshm_region *r;
	struct pinshm_slot w;
	uint8_t *buf = malloc(g_size);
	uint64_t s;
	int ret;

	if (!buf)
		smp_fail("malloc");
	if ((ret = pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r)) ||
	    (ret = pinshm_slot_attach(r, "v", PINSHM_WRITER, &w)))
		smp_fail("writer: %s", strerror(-ret));
	while (atomic_load(&g_mp->ready) < SMP_READERS)
		sched_yield();
	for (s = 1; s <= g_writes; s++) {
		if (s & 1) {
			fill(buf, g_size, s);
			if ((ret = pinshm_slot_send(&w, buf, g_size)))
				smp_fail("write: %s", strerror(-ret));
		} else {
			/* In place: the writer's zero-copy path. */
			fill(pinshm_slot_claim(&w), g_size, s);
			pinshm_slot_commit(&w, g_size);
		}
	}
	pinshm_slot_detach(&w);
	atomic_store(&g_mp->done, 1);
	_exit(0);
}

static void reader(int who)
{
	struct smp_result *res = &g_mp->res[who];
	struct pinshm_region *r;
	struct pinshm_slot rd;
	uint8_t *buf = malloc(g_size);
	uint64_t s, prev = 0, ver, prev_ver = 0, seq;
	const uint8_t *v;
	unsigned int tries;
	int ret, done;

	if (!buf)
		smp_fail("malloc");
	if ((ret = pinshm_region_open(g_name, who ? PINSHM_OBSERVE :
					      PINSHM_RDONLY, T_BACKEND, &r)) ||
	    (ret = pinshm_slot_attach(r, "v", PINSHM_READER, &rd)))
		smp_fail("reader: %s", strerror(-ret));
	atomic_fetch_add(&g_mp->ready, 1);
	do {
		done = atomic_load(&g_mp->done);
		if (who == 0) {
			ret = pinshm_slot_read(&rd, buf, g_size, &ver);
			if (ret == -ENODATA || ret == -EAGAIN)
				continue;
			if (ret != (int)g_size)
				smp_fail("read: %d", ret);
		} else {
			for (tries = 0; tries < PINSHM_SLOT_READ_TRIES;
			     tries++) {
				v = pinshm_slot_peek(&rd, &seq);
				if (v)
					memcpy(buf, v, g_size);
				if (!pinshm_slot_release(&rd, seq))
					break;
				res->retries++;
				pinshm_cpu_relax();
			}
			if (tries == PINSHM_SLOT_READ_TRIES) {
				rd.busy++;	/* gave up, as slot_read does */
				continue;
			}
			if (!v)
				continue;
			rd.reads++;
			ver = pinshm_slot_version(seq);
		}
		s = check(buf, g_size);
		if (s < prev || ver < prev_ver)
			smp_fail("went backwards: value %llu after %llu, "
				 "version %llu after %llu",
				 (unsigned long long)s,
				 (unsigned long long)prev,
				 (unsigned long long)ver,
				 (unsigned long long)prev_ver);
		if (s != ver)
			smp_fail("value %llu has version %llu",
				 (unsigned long long)s, (unsigned long long)ver);
		if (s != prev)
			res->distinct++;
		prev = s;
		prev_ver = ver;
	} while (!done);
	if (prev != g_writes)
		smp_fail("reader %d ended at value %llu of %llu", who,
			 (unsigned long long)prev,
			 (unsigned long long)g_writes);
	res->reads = rd.reads;
	if (who == 0)
		res->retries = rd.retries;
	res->busy = rd.busy;
	res->last = prev;
	_exit(0);
}

static pid_t spawn(int who)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		t_child_init();
		if (who < 0)
			writer();
		reader(who);
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

static void run(uint32_t size, uint64_t writes)
{
	struct pinshm_ring_stats st;
	pid_t w, r0, r1;
	uint64_t t0, ns;
	int i;

	g_size = size;
	g_writes = writes;
	g_mp = t_shared_alloc(sizeof(*g_mp));
	g_r = t_create("smp", size + (64 << 10), &g_name);
	T_OK(pinshm_slot_create(g_r, "v", size));
	t0 = t_now_ns(CLOCK_MONOTONIC);
	r0 = spawn(0);
	r1 = spawn(1);
	w = spawn(-1);
	reap(w, "writer");
	reap(r0, "copying reader");
	reap(r1, "in-place reader");
	ns = t_now_ns(CLOCK_MONOTONIC) - t0;
	cr_assert_eq(g_mp->fail, 0, "%s", g_mp->err);
	T_OK(pinshm_obj_stats(g_r, "v", &st));
	cr_assert_eq(st.msgs_in, writes);
	cr_assert_eq(st.tail, writes, "version == writes");
	cr_log_info("%u-byte values: %llu writes in %.2f s (%.2f M/s)",
		    size, (unsigned long long)writes, ns / 1e9,
		    writes * 1e3 / (double)ns);
	for (i = 0; i < SMP_READERS; i++)
		cr_log_info("  reader %d (%s): %llu good reads, %llu distinct "
			    "values, %llu retries (torn or mid-write "
			    "detected), %llu gave up (-EAGAIN)", i,
			    i ? "in place" : "copy",
			    (unsigned long long)g_mp->res[i].reads,
			    (unsigned long long)g_mp->res[i].distinct,
			    (unsigned long long)g_mp->res[i].retries,
			    (unsigned long long)g_mp->res[i].busy);
}

Test(slot_mp, readers_of_a_64_byte_value_never_see_it_torn_or_going_back)
{
	run(64, 10000000);
}

Test(slot_mp, readers_of_a_16_KiB_value_never_see_it_torn_or_going_back)
{
	run(16 << 10, 30000);
}
