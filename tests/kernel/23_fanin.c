// SPDX-License-Identifier: GPL-2.0
/*
 * The fan-in ring of libpinshm on the real module: three producer
 * processes, each on its own lane of a ring in kernel memory, and a
 * consumer that sleeps in the module's WAIT between bursts (every lane's
 * commit kicks the one queue through WAKE). Every producer's messages
 * arrive in its order, none torn or lost. Producer 1 is killed with
 * SIGKILL mid-stream: the kernel records the death, the other lanes go on
 * while its lane waits, and a replacement with the same id takes the lane
 * over and resumes exactly after the last committed message
 * (pinshm_fanin_last()).
 */
#include "common.h"

#include <pinshm.h>
#include <signal.h>
#include <sys/wait.h>

#define NPROD	3u
#define NMSG	100000ULL

static const char *region;

/* Producer id: send from..to, each payload = {id, seq, ~seq}; from 0:
 * resume after the lane's last record. */
static void produce(unsigned int id, uint64_t from, uint64_t to, int slow)
{
	struct pinshm_region *r;
	struct pinshm_fanin p;
	struct pinshm_msg last;
	uint64_t seq, msg[3];

	if (pinshm_region_open(region, PINSHM_RDWR, PINSHM_BACKEND_AUTO, &r) ||
	    pinshm_fanin_attach(r, "f", PINSHM_PRODUCER_ID((int)id), &p))
		_exit(10);
	if (from == 0) {
		from = 1;
		if (pinshm_fanin_last(&p, &last) == 0 && last.len == sizeof(msg)) {
			memcpy(msg, last.data, sizeof(msg));
			from = msg[1] + 1;
		}
	}
	for (seq = from; seq <= to; seq++) {
		msg[0] = id;
		msg[1] = seq;
		msg[2] = ~seq;
		if (pinshm_fanin_send(&p, msg, sizeof(msg), id, PINSHM_WAIT_YIELD))
			_exit(11);
		if (slow && seq % 64 == 0)
			usleep(50);
	}
	pinshm_fanin_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

/* Receive until every producer in mask reached to[id]; counts problems. */
static uint64_t consume(struct pinshm_fanin *c, uint64_t *next, const uint64_t *to,
			unsigned int mask, uint64_t *sleeps)
{
	uint64_t bad = 0, msg[3], deadline = mono_us() + 120 * 1000000ULL;
	uint32_t type;
	unsigned int id, k;
	int ret;

	for (;;) {
		for (k = 0, id = 0; id < NPROD; id++)
			if ((mask >> id & 1) && next[id] <= to[id])
				k++;
		if (!k)
			return bad;
		ret = pinshm_fanin_recv(c, msg, sizeof(msg), &type, PINSHM_WAIT_NONE);
		if (ret == -EAGAIN) {
			if (mono_us() > deadline)
				return bad + 1000000;
			ret = pinshm_fanin_wait(c, 100000000LL);
			if (ret != 0 && ret != -ETIMEDOUT)
				return bad + 1000000;
			++*sleeps;
			continue;
		}
		if (ret != (int)sizeof(msg) || msg[0] != c->id || type != c->id ||
		    msg[0] >= NPROD)
			return bad + 1;
		id = (unsigned int)msg[0];
		if (msg[1] != next[id] || msg[2] != ~msg[1])
			bad++;
		next[id] = msg[1] + 1;
	}
}

int main(void)
{
	struct pinshm_region_opts o;
	struct pinshm_region *r;
	struct pinshm_meta meta;
	struct pinshm_fanin c;
	struct pinshm_ring_stats s;
	uint64_t next[NPROD] = { 1, 1, 1 }, to[NPROD], bad, sleeps = 0;
	pid_t pid[NPROD], p1;
	unsigned int id;
	int st, ret, i, ok, died = 0;

	tap_plan(10);
	region = tname("fanin");
	cleanup_add(region);

	pinshm_region_opts_init(&o);
	o.size = 4 << 20;
	ret = pinshm_region_create(region, &o, &r);
	if (!tap_ok(ret == 0 && pinshm_region_backend(r) == PINSHM_BACKEND_KMOD,
		    "a region on the module (%d)", ret))
		tap_bail("no region");
	ret = pinshm_fanin_create(r, "f", NPROD, 64 << 10, 0);
	tap_ok(ret == 0, "fan-in ring of %u lanes in kernel memory (%d)", NPROD, ret);
	ret = pinshm_fanin_attach(r, "f", PINSHM_CONSUMER, &c);
	if (!tap_ok(ret == 0, "consumer attached (%d)", ret))
		tap_bail("no consumer");

	/* Three clean producers, one slow, so the consumer sleeps too. */
	for (id = 0; id < NPROD; id++) {
		to[id] = NMSG;
		pid[id] = fork();
		if (pid[id] == 0)
			produce(id, 1, NMSG, id == 2);
	}
	bad = consume(&c, next, to, 7, &sleeps);
	for (ok = 1, id = 0; id < NPROD; id++) {
		waitpid(pid[id], &st, 0);
		ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	tap_ok(bad == 0 && ok, "%u producers x %llu messages, each in order, none torn (bad %llu)",
	       NPROD, NMSG, (unsigned long long)bad);
	tap_ok(pinshm_fanin_wait(&c, 1000000) == -ETIMEDOUT,
	       "the module's WAIT times out on empty lanes (%llu sleeps before)",
	       (unsigned long long)sleeps);

	/* Producer 1 killed mid-stream while 0 goes on; then replaced. */
	to[0] = 3 * NMSG;
	to[1] = NMSG + 20000;
	pid[0] = fork();
	if (pid[0] == 0)
		produce(0, NMSG + 1, 3 * NMSG, 1);
	p1 = fork();
	if (p1 == 0)
		produce(1, NMSG + 1, 4 * NMSG, 1);
	bad = consume(&c, next, to, 2, &sleeps);	/* 1 is mid-stream now */
	kill(p1, SIGKILL);
	waitpid(p1, &st, 0);
	pinshm_region_meta(r, &meta);
	for (i = 0; i < PINSHM_MAX_ATTACH; i++)
		if (meta.attach[i].tgid == (uint32_t)p1 &&
		    meta.attach[i].state == PINSHM_ST_DIED && meta.attach[i].signal == SIGKILL)
			died = 1;
	tap_ok(died, "the killed producer shows as died with signal 9");
	bad += consume(&c, next, to, 1, &sleeps);	/* lane 0 is not held up */
	waitpid(pid[0], &st, 0);
	tap_ok(bad == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "producer 0 finished past the dead lane (bad %llu)", (unsigned long long)bad);
	to[1] = 4 * NMSG;
	p1 = fork();
	if (p1 == 0)
		produce(1, 0, 4 * NMSG, 0);
	bad = consume(&c, next, to, 2, &sleeps);
	waitpid(p1, &st, 0);
	tap_ok(bad == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "the replacement took lane 1 over and resumed after the last committed "
	       "message (bad %llu)", (unsigned long long)bad);
	ret = pinshm_fanin_recv(&c, (uint64_t[3]){ 0 }, 24, NULL, PINSHM_WAIT_NONE);
	pinshm_obj_stats(r, "f", &s);
	/* msgs_in may be one short: a producer killed between its tail and
	 * its counter (statistics, not ledgers). */
	tap_ok(ret == -EAGAIN && s.msgs_out == 8 * NMSG &&
	       s.msgs_in + 1 >= s.msgs_out && s.msgs_in <= s.msgs_out && s.corrupt == 0,
	       "nothing twice, nothing left: %llu in, %llu out",
	       (unsigned long long)s.msgs_in, (unsigned long long)s.msgs_out);

	pinshm_fanin_detach(&c);
	tap_ok(pinshm_region_close(r) == 0 &&
	       pinshm_region_destroy(region, PINSHM_BACKEND_AUTO) == 0,
	       "close and destroy");
	return tap_finish();
}
