// SPDX-License-Identifier: MIT
/*
 * Suite "fanin_mp": the fan-in ring between processes. NPROD producer
 * children, each opening the region by name (its own attach) and writing
 * its lane; the consumer in the test process checks that every producer's
 * records arrive in its order, whole, none lost or twice. In the crash
 * case producers are killed with SIGKILL at random moments and restarted
 * with the same id: the restarted one resumes after its lane's last record
 * (pinshm_fanin_last()), and the consumer must still see 1..N once per
 * producer, while the other producers are never held up.
 */
#include <sched.h>

#include "testutil.h"

#define NPROD	4u
#define PER	100000ULL

static struct pinshm_region *g_r;
static const char *g_name;

static void mp_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(fanin_mp, .fini = mp_fini, .timeout = 240);

/* Child: producer id sends {id, seq} for seq up to to, resuming after its
 * lane's last record. Never returns. */
static void producer(unsigned int id, uint64_t to, int slow)
{
	struct pinshm_region *r;
	struct pinshm_fanin p;
	struct pinshm_msg last;
	uint64_t msg[2] = { id, 0 }, seq = 1;
	uint32_t len;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r) ||
	    pinshm_fanin_attach(r, "f", PINSHM_PRODUCER_ID((int)id), &p))
		_exit(2);
	if (pinshm_fanin_last(&p, &last) == 0) {
		if (last.len < sizeof(msg))
			_exit(3);
		memcpy(msg, last.data, sizeof(msg));
		seq = msg[1] + 1;
	}
	for (; seq <= to; seq++) {
		msg[0] = id;
		msg[1] = seq;
		/* 16..80 bytes, a function of seq; the tail is a pattern */
		len = 16 + (uint32_t)(seq % 9) * 8;
		{
			uint8_t buf[80];

			memset(buf, (int)(seq * 7 + id), sizeof(buf));
			memcpy(buf, msg, sizeof(msg));
			if (pinshm_fanin_send(&p, buf, len, id, PINSHM_WAIT_YIELD))
				_exit(4);
		}
		if (slow && seq % 256 == 0)
			usleep(20);
	}
	pinshm_fanin_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

static pid_t spawn(unsigned int id, uint64_t to, int slow)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		producer(id, to, slow);
	return pid;
}

/* Take one record, check it against next[]; false when none came. */
static bool take(struct pinshm_fanin *c, uint64_t *next)
{
	uint8_t buf[80], want[80];
	uint64_t msg[2];
	uint32_t type;
	int n = pinshm_fanin_recv(c, buf, sizeof(buf), &type, PINSHM_WAIT_NONE);

	if (n == -EAGAIN)
		return false;
	cr_assert_geq(n, 16, "recv %d", n);
	memcpy(msg, buf, sizeof(msg));
	cr_assert_lt(msg[0], NPROD);
	cr_assert_eq(msg[0], c->id, "record of %llu in lane %u",
		     (unsigned long long)msg[0], c->id);
	cr_assert_eq(type, c->id);
	cr_assert_eq(msg[1], next[msg[0]], "producer %llu: seq %llu, want %llu",
		     (unsigned long long)msg[0], (unsigned long long)msg[1],
		     (unsigned long long)next[msg[0]]);
	cr_assert_eq((uint32_t)n, 16 + (uint32_t)(msg[1] % 9) * 8);
	memset(want, (int)(msg[1] * 7 + msg[0]), sizeof(want));
	cr_assert_eq(memcmp(buf + 16, want + 16, (size_t)n - 16), 0, "torn");
	next[msg[0]]++;
	return true;
}

static bool all_done(const uint64_t *next)
{
	unsigned int i;

	for (i = 0; i < NPROD; i++)
		if (next[i] <= PER)
			return false;
	return true;
}

Test(fanin_mp, producer_processes_each_deliver_in_order_nothing_lost)
{
	struct pinshm_fanin c;
	struct pinshm_ring_stats s;
	uint64_t next[NPROD];
	pid_t pid[NPROD];
	unsigned int i;
	int st;

	g_r = t_create("fmp", NPROD * (16 << 10) + (256 << 10), &g_name);
	T_OK(pinshm_fanin_create(g_r, "f", NPROD, 16 << 10, 0));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	for (i = 0; i < NPROD; i++) {
		next[i] = 1;
		pid[i] = spawn(i, PER, i == 0);
	}
	while (!all_done(next))
		if (!take(&c, next))
			sched_yield();
	for (i = 0; i < NPROD; i++) {
		cr_assert_eq(waitpid(pid[i], &st, 0), pid[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer %u: %d", i, st);
	}
	cr_assert_not(take(&c, next), "a record past the end");
	T_OK(pinshm_obj_stats(g_r, "f", &s));
	cr_assert_eq(s.msgs_in, NPROD * PER);
	cr_assert_eq(s.msgs_out, NPROD * PER);
	T_OK(pinshm_fanin_detach(&c));
}

Test(fanin_mp, killed_producers_resume_on_their_lane_and_block_nobody)
{
	struct pinshm_fanin c;
	uint64_t next[NPROD], until;
	pid_t pid[NPROD];
	unsigned int i, k, kills = 0;
	int st;

	srand((unsigned int)getpid());
	g_r = t_create("fmpk", NPROD * (16 << 10) + (256 << 10), &g_name);
	T_OK(pinshm_fanin_create(g_r, "f", NPROD, 16 << 10, 0));
	T_OK(pinshm_fanin_attach(g_r, "f", PINSHM_CONSUMER, &c));
	for (i = 0; i < NPROD; i++) {
		next[i] = 1;
		pid[i] = spawn(i, PER, 1);
	}
	/* Kill a random producer 12 times, after a random stretch of
	 * records each time, and start it again at once. */
	for (k = 0; k < 12; k++) {
		until = (uint64_t)(rand() % 4000) + 500;
		while (until--)
			if (!take(&c, next))
				sched_yield();
		i = (unsigned int)rand() % NPROD;
		if (kill(pid[i], SIGKILL) == 0)
			kills++;
		cr_assert_eq(waitpid(pid[i], &st, 0), pid[i]);
		pid[i] = spawn(i, PER, 1);
	}
	while (!all_done(next))
		if (!take(&c, next))
			sched_yield();
	for (i = 0; i < NPROD; i++) {
		cr_assert_eq(waitpid(pid[i], &st, 0), pid[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer %u: %d", i, st);
	}
	cr_assert_not(take(&c, next), "a record past the end");
	cr_assert_gt(kills, 0);
	T_OK(pinshm_fanin_detach(&c));
}
