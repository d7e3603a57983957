// SPDX-License-Identifier: MIT
/*
 * The sockets transports (tools/demo/xp_sock.c), unix and tcp, with real
 * processes: producers into an inbox, the ticks to their readers, a slot's
 * newest value, a peer that closes, a peer that sends garbage.
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "demotest.h"

#define BOTH(fn)							\
	Test(xp_sock, fn##_over_unix, .timeout = 60) { fn(T_UNIX); }	\
	Test(xp_sock, fn##_over_tcp, .timeout = 60) { fn(T_TCP); }

struct rec {
	uint64_t seq;
	uint32_t proc;
	uint8_t fill[52];
};

_Static_assert(sizeof(struct rec) == TR_MSG, "one record");

static void setup(struct tr_shared *sh)
{
	int err = tr_setup(sh);

	cr_assert_eq(err, 0, "tr_setup: %s", strerror(-err));
}

/* A producer: count records 1..n on link, then checks tr_last. */
static int produce(struct tr_shared *sh, int proc, int link, uint64_t n)
{
	struct tr_io *io;
	uint64_t last = 0;

	if (tr_io_open(sh, proc, false, &io))
		return 10;
	if (tr_last(io, link, &last) != -ENOENT)
		return 11;
	for (uint64_t i = 1; i <= n; i++) {
		struct rec *r = tr_claim(io, link);

		if (!r)
			return 12;
		r->seq = i;
		r->proc = (uint32_t)proc;
		memset(r->fill, (int)(i & 0xff), sizeof(r->fill));
		tr_commit(io, link);
	}
	if (tr_last(io, link, &last) || last != n)
		return 13;
	demo_child_exit(sh, 0);
	return 0;
}

static void producers_into_an_inbox(enum tr_transport t)
{
	enum { N = 20000 };
	struct tr_shared *sh = demo_shared(t, 3);
	int procs[] = { P_STRAT(0), P_STRAT(1), P_STRAT(2), P_OMS };
	uint64_t next[TR_MAX_PROCS] = { 0 }, got = 0;
	pid_t pid[4];
	struct tr_io *io;
	uint64_t end;

	setup(sh);
	cr_assert_eq(tr_io_open(sh, P_RISK, false, &io), 0);
	for (int i = 0; i < 4; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(produce(sh, procs[i], L_RISK_IN, N));
	}
	for (int p = 0; p < TR_MAX_PROCS; p++)
		next[p] = 1;
	end = demo_ms() + 30000;
	while (got < 4 * N && demo_ms() < end) {
		const struct rec *r;
		int ret = tr_peek(io, L_RISK_IN, (const void **)&r, 50000000);

		cr_assert_geq(ret, 0, "peek: %s", strerror(-ret));
		if (!ret)
			continue;
		cr_assert_lt(r->proc, TR_MAX_PROCS);
		cr_assert_eq(r->seq, next[r->proc], "proc %u: seq %lu, not %lu",
			     r->proc, (unsigned long)r->seq,
			     (unsigned long)next[r->proc]);
		cr_assert_eq(r->fill[51], (uint8_t)(r->seq & 0xff));
		next[r->proc]++;
		got++;
		tr_release(io, L_RISK_IN);
	}
	cr_assert_eq(got, 4 * N);
	demo_quit(sh);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(demo_wait(pid[i]), 0, "producer %d", i);
	tr_io_close(io);
	tr_teardown(sh);
}
BOTH(producers_into_an_inbox)

/* Tells the parent a child is through, then waits for quit. */
static void done(struct tr_shared *sh, int proc, int status)
{
	__atomic_store_n(&sh->st[proc].idle, 1, __ATOMIC_RELEASE);
	demo_child_exit(sh, status);
}

/* Until every proc listed is done (or 30 s), then quit. */
static void wait_done(struct tr_shared *sh, const int *procs, int n)
{
	uint64_t end = demo_ms() + 30000;

	for (int i = 0; i < n; i++)
		while (!__atomic_load_n(&sh->st[procs[i]].idle, __ATOMIC_ACQUIRE) &&
		       demo_ms() < end)
			usleep(1000);
	demo_quit(sh);
}

/* A ticks reader: every tick, in order; exec: its book from them. */
static int read_ticks(struct tr_shared *sh, int proc, uint64_t n)
{
	struct tr_io *io;
	uint64_t last = 0, end = demo_ms() + 20000;

	if (tr_io_open(sh, proc, false, &io))
		return 10;
	while (demo_ms() < end) {
		if (proc == P_EXEC) {
			struct tr_tick t;
			const void *m;

			/* Sleeps on exec.in; the ticks feed the book meanwhile. */
			if (tr_peek(io, L_EXEC_IN, &m, 5000000) < 0)
				return 11;
			if (tr_slot_read(io, L_BOOK((n - 1) % TR_INSTR), &t,
					 sizeof(t)) == 0 && t.seq == n)
				done(sh, proc, 0);
			continue;
		}
		const struct tr_tick *t;
		int r = tr_peek(io, L_TICKS, (const void **)&t, 50000000);

		if (r < 0)
			return 12;
		if (!r)
			continue;
		if (t->seq != last + 1 || t->instr != (t->seq - 1) % TR_INSTR)
			return 13;
		last = t->seq;
		tr_release(io, L_TICKS);
		if (last == n)
			done(sh, proc, sh->st[proc].lapped ? 14 : 0);
	}
	return 15;
}

static void ticks_reach_every_reader(enum tr_transport t)
{
	enum { N = 5000 };
	struct tr_shared *sh = demo_shared(t, 2);
	int readers[] = { P_STRAT(0), P_STRAT(1), P_EXEC };
	pid_t pid[3], md;
	struct tr_io *io;

	setup(sh);
	for (int i = 0; i < 3; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(read_ticks(sh, readers[i], N));
	}
	md = fork();
	if (md == 0) {
		if (tr_io_open(sh, P_MD, false, &io))
			_exit(10);
		for (uint64_t i = 1; i <= N; i++) {
			struct tr_tick *tk = tr_claim(io, L_TICKS);

			if (!tk)
				_exit(11);
			memset(tk, 0, sizeof(*tk));
			tk->seq = i;
			tk->instr = (uint32_t)((i - 1) % TR_INSTR);
			tk->bid_px = 100 * TR_PX_SCALE;
			tk->ask_px = tk->bid_px + 1;
			tr_commit(io, L_TICKS);
			if (tr_slot_write(io, L_BOOK(tk->instr), tk, sizeof(*tk)))
				_exit(12);
			if (i % 16 == 0)
				usleep(200);	/* paced: no reader falls behind */
		}
		done(sh, P_MD, 0);
	}
	wait_done(sh, readers, 3);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(demo_wait(pid[i]), 0, "reader %s",
			     tr_proc_name(readers[i]));
	cr_expect_eq(demo_wait(md), 0, "md");
	tr_teardown(sh);
}
BOTH(ticks_reach_every_reader)

static void a_slot_reads_its_newest_value(enum tr_transport t)
{
	enum { N = 100000 };
	struct tr_shared *sh = demo_shared(t, 1);
	struct tr_pos v;
	uint64_t prev = 0, reads = 0, t0, end;
	struct tr_io *io;
	pid_t risk;
	int r;

	setup(sh);
	cr_assert_eq(tr_io_open(sh, P_STRAT(0), false, &io), 0);
	t0 = demo_ms();
	cr_assert_eq(tr_slot_read(io, L_POS(0), &v, sizeof(v)), -ENODATA);
	cr_assert_lt(demo_ms() - t0, 100, "a slot read never waits");
	risk = fork();
	if (risk == 0) {
		struct tr_io *w;
		struct tr_pos p = { 0 };
		const void *m;

		if (tr_io_open(sh, P_RISK, false, &w))
			_exit(10);
		for (uint64_t i = 1; i <= N; i++) {
			p.version = i;
			p.pos[i % TR_INSTR] = (int64_t)i;
			if (tr_slot_write(w, L_POS(0), &p, sizeof(p)))
				_exit(11);
		}
		/* What is still pending goes out as risk waits on its inbox. */
		while (!__atomic_load_n(&sh->quit, __ATOMIC_ACQUIRE))
			if (tr_peek(w, L_RISK_IN, &m, 1000000) < 0)
				_exit(12);
		_exit(0);
	}
	end = demo_ms() + 30000;
	while (prev < N && demo_ms() < end) {
		r = tr_slot_read(io, L_POS(0), &v, sizeof(v));
		if (r == -ENODATA)
			continue;
		cr_assert_eq(r, 0, "slot read: %s", strerror(-r));
		cr_assert_geq(v.version, prev);
		cr_assert_eq(v.pos[v.version % TR_INSTR], (int64_t)v.version);
		prev = v.version;
		reads++;
		usleep(100);
	}
	cr_expect_eq(prev, N, "the newest value reached the reader");
	cr_expect_lt(reads, N, "the reader skipped to the newest value");
	demo_quit(sh);
	cr_expect_eq(demo_wait(risk), 0);
	tr_io_close(io);
	tr_teardown(sh);
}
BOTH(a_slot_reads_its_newest_value)

static void a_peer_that_closes_is_an_error(enum tr_transport t)
{
	struct tr_shared *sh = demo_shared(t, 1);
	const struct rec *r;
	struct tr_io *io;
	pid_t pid;
	int ret;

	setup(sh);
	cr_assert_eq(tr_io_open(sh, P_RISK, false, &io), 0);
	pid = fork();
	if (pid == 0) {
		struct tr_io *p;

		if (tr_io_open(sh, P_STRAT(0), false, &p))
			_exit(10);
		for (uint64_t i = 1; i <= 3; i++) {
			struct rec *w = tr_claim(p, L_RISK_IN);

			w->seq = i;
			w->proc = P_STRAT(0);
			tr_commit(p, L_RISK_IN);
		}
		_exit(0);	/* before quit: its stream ends early */
	}
	for (uint64_t i = 1; i <= 3; i++) {
		do
			ret = tr_peek(io, L_RISK_IN, (const void **)&r, 1000000000);
		while (ret == 0);
		cr_assert_eq(ret, 1, "peek: %d", ret);
		cr_assert_eq(r->seq, i);
		tr_release(io, L_RISK_IN);
	}
	cr_assert_eq(demo_wait(pid), 0);
	do
		ret = tr_peek(io, L_RISK_IN, (const void **)&r, 1000000000);
	while (ret == 0);
	cr_assert_eq(ret, -EPIPE, "peek after the peer left: %d", ret);
	/* The consumer goes on: nothing else is there. */
	cr_assert_eq(tr_peek(io, L_RISK_IN, (const void **)&r, 0), 0);
	tr_io_close(io);
	tr_teardown(sh);
}
BOTH(a_peer_that_closes_is_an_error)

/* A stranger on the inbox's address, sending bytes that are no hello. */
static int raw_connect(const struct tr_shared *sh, int link)
{
	char name[32];
	int fd;

	if (sh->cfg.transport == T_TCP) {
		struct sockaddr_in sa = { .sin_family = AF_INET };

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons(sh->cfg.tcp_port[link]);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return -1;
	} else {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		char path[256];

		snprintf(path, sizeof(path), "%s/%s-%s.sock", sh->cfg.sock_dir,
			 sh->cfg.prefix, tr_link_name(link, name, sizeof(name)));
		if (strlen(path) >= sizeof(sa.sun_path))
			return -1;
		memcpy(sa.sun_path, path, strlen(path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return -1;
	}
	return fd;
}

static void garbage_is_refused(enum tr_transport t)
{
	struct tr_shared *sh = demo_shared(t, 1);
	uint8_t junk[TR_MSG];
	const struct rec *r;
	struct tr_io *io;
	int fd, ret;
	pid_t pid;

	setup(sh);
	cr_assert_eq(tr_io_open(sh, P_RISK, false, &io), 0);
	fd = raw_connect(sh, L_RISK_IN);
	cr_assert_geq(fd, 0);
	for (unsigned int i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	do
		ret = tr_peek(io, L_RISK_IN, (const void **)&r, 1000000000);
	while (ret == 0);
	cr_assert_eq(ret, -EPROTO, "peek with a garbage peer: %d", ret);
	close(fd);
	/* A stranger that connects and says nothing is refused as well. */
	fd = raw_connect(sh, L_RISK_IN);
	cr_assert_geq(fd, 0);
	do
		ret = tr_peek(io, L_RISK_IN, (const void **)&r, 1000000000);
	while (ret == 0);
	cr_assert_eq(ret, -EPROTO, "peek with a silent peer: %d", ret);
	close(fd);
	/* The inbox still works for its real producers. */
	pid = fork();
	if (pid == 0)
		_exit(produce(sh, P_STRAT(0), L_RISK_IN, 10));
	for (uint64_t i = 1; i <= 10; i++) {
		do
			ret = tr_peek(io, L_RISK_IN, (const void **)&r, 1000000000);
		while (ret == 0);
		cr_assert_eq(ret, 1, "peek: %d", ret);
		cr_assert_eq(r->seq, i);
		tr_release(io, L_RISK_IN);
	}
	demo_quit(sh);
	cr_assert_eq(demo_wait(pid), 0);
	tr_io_close(io);
	tr_teardown(sh);
}
BOTH(garbage_is_refused)

Test(xp_sock, teardown_leaves_no_socket_file)
{
	struct tr_shared *sh = demo_shared(T_UNIX, 2);
	char dir[128];

	setup(sh);
	snprintf(dir, sizeof(dir), "%s", sh->cfg.sock_dir);
	cr_assert_eq(access(dir, F_OK), 0);
	tr_teardown(sh);
	cr_assert_neq(access(dir, F_OK), 0, "%s is gone", dir);
}
