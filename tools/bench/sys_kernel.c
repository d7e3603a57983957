// SPDX-License-Identifier: MIT
/*
 * pinshm bench: kernel IPC, with the same message size and the same
 * harness as the rings: pipe, unix (socketpair), tcp (loopback), eventfd
 * (a signal per message, the payload in shared memory) and POSIX message
 * queues. Every one blocks in the kernel (no busy polling), as they are
 * normally used. The parent makes the endpoints before the fork.
 *
 * eventfd pingpong (bscratch.ping: side A only; .pong: side B only):
 *   (E1) A: write ping, release fence, write(efd_ab)
 *     pairs with
 *   (E2) B: read(efd_ab) returns, acquire fence, read ping;
 *   (E3) B: write pong, release fence, write(efd_ba)
 *     pairs with
 *   (E4) A: read(efd_ba) returns, acquire fence, read pong.
 *   The eventfd counter changes under its wait-queue lock, which already
 *   orders the two sides; the fences keep the compiler from moving the
 *   copies across the system calls and document the pairing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "bench.h"

/* ---------------------------------------------------------------- */
/* Kernel IPC                                                        */
/* ---------------------------------------------------------------- */

static void fd_write_all(struct bench_side *s, int fd, const void *p,
			 size_t n, const char *what)
{
	const uint8_t *q = p;
	ssize_t w;

	while (n) {
		w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			side_fail(s, "%s: write: %s", what,
				  w < 0 && (errno == EAGAIN) ? "timed out" :
				  strerror(w < 0 ? errno : EPIPE));
		q += w;
		n -= (size_t)w;
	}
}

static void fd_read_all(struct bench_side *s, int fd, void *p, size_t n,
			const char *what)
{
	uint8_t *q = p;
	ssize_t r;

	while (n) {
		r = read(fd, q, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			side_fail(s, "%s: read: %s", what,
				  r == 0 ? "peer closed" :
				  errno == EAGAIN ? "timed out" :
				  strerror(errno));
		q += r;
		n -= (size_t)r;
	}
}

/* The descriptors of a byte-stream system, for side s. */
static void fd_pair(const struct bench_side *s, int sys, int *tx, int *rx)
{
	const struct bench_fds *k = s->k;
	bool a = s->id == 0;

	switch (sys) {
	case SYS_PIPE:
		*tx = a ? k->pipe_ab[1] : k->pipe_ba[1];
		*rx = a ? k->pipe_ba[0] : k->pipe_ab[0];
		break;
	case SYS_UNIX:
		*tx = *rx = k->unix_sv[s->id];
		break;
	default:
		*tx = *rx = k->tcp[s->id];
		break;
	}
}

void bench_fd_pingpong(struct bench_side *s, int sys, uint64_t warm,
		       uint64_t n)
{
	const char *what = bench_systems[sys].name;
	uint32_t size = s->o->size;
	uint64_t i, t0, t1;
	int tx, rx;

	fd_pair(s, sys, &tx, &rx);
	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			put_seq(s, i);
			fd_write_all(s, tx, s->tmpl, size, what);
			fd_read_all(s, rx, s->buf, size, what);
			t1 = bench_now();
			check_seq(s, s->buf, size, i, what);
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
		} else {
			fd_read_all(s, rx, s->buf, size, what);
			check_seq(s, s->buf, size, i, what);
			fd_write_all(s, tx, s->buf, size, what);
		}
	}
}

double bench_fd_stream(struct bench_side *s, int sys, uint64_t count)
{
	const char *what = bench_systems[sys].name;
	uint32_t size = s->o->size;
	uint64_t i, t_first = 0;
	int tx, rx;

	fd_pair(s, sys, &tx, &rx);
	if (s->id == 0) {
		for (i = 0; i < count; i++) {
			put_seq(s, i);
			fd_write_all(s, tx, s->tmpl, size, what);
		}
		return 0;
	}
	for (i = 0; i < count; i++) {
		fd_read_all(s, rx, s->buf, size, what);
		if (i == 0)
			t_first = bench_now();
		check_seq(s, s->buf, size, i, what);
	}
	return bench_rate(s, count, t_first, bench_now());
}

static void efd_signal(struct bench_side *s, int fd)
{
	uint64_t one = 1;

	fd_write_all(s, fd, &one, sizeof(one), "eventfd");
}

static uint64_t efd_wait(struct bench_side *s, int fd)
{
	uint64_t v;

	fd_read_all(s, fd, &v, sizeof(v), "eventfd");
	return v;
}

void bench_efd_pingpong(struct bench_side *s, int sys, uint64_t warm,
			uint64_t n)
{
	uint32_t size = s->o->size;
	uint64_t i, t0, t1;

	(void)sys;
	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			put_seq(s, i);
			memcpy(s->scr->ping, s->tmpl, size);
			/* (E1) pairs with (E2): ping before the signal. */
			pinshm_smp_wmb();
			efd_signal(s, s->k->efd_ab);
			efd_wait(s, s->k->efd_ba);
			/* (E4) pairs with (E3): pong after the signal. */
			pinshm_smp_rmb();
			memcpy(s->buf, s->scr->pong, size);
			t1 = bench_now();
			check_seq(s, s->buf, size, i, "eventfd reply");
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
		} else {
			efd_wait(s, s->k->efd_ab);
			/* (E2) pairs with (E1). */
			pinshm_smp_rmb();
			memcpy(s->scr->pong, s->scr->ping, size);
			check_seq(s, s->scr->pong, size, i, "eventfd request");
			/* (E3) pairs with (E4): pong before the signal. */
			pinshm_smp_wmb();
			efd_signal(s, s->k->efd_ba);
		}
	}
}

/*
 * The inline ring with a wakeup per message. No wakeup is lost: the
 * producer publishes a slot before it signals, and the consumer drains the
 * ring after each wait, so a message is either seen by a drain or followed
 * by a signal that ends the next wait. Signals of messages a drain already
 * took stay counted in efd_st (even into the next run): a wait that returns
 * for them finds nothing new and waits again.
 */
double bench_efd_stream(struct bench_side *s, int sys, uint64_t count)
{
	uint64_t i, next = 0, t_first = 0;
	int64_t got;

	(void)sys;
	if (s->id == 0) {
		for (i = 0; i < count; i++) {
			bench_raw_produce(s->evr, &s->shape, s->tmpl, i, 1, 1,
					  true);
			efd_signal(s, s->k->efd_st);
		}
		return 0;
	}
	while (next < count) {
		efd_wait(s, s->k->efd_st);
		got = bench_raw_take(s->evr, &s->shape, &next, count - next,
				     1, true, &t_first);
		if (got < 0)
			side_fail(s, "eventfd stream: sequence out of order");
	}
	return bench_rate(s, count, t_first, bench_now());
}

static void mq_put(struct bench_side *s, mqd_t q, const void *p)
{
	while (mq_send(q, p, s->o->size, 0) < 0)
		if (errno != EINTR)
			side_fail(s, "mq: mq_send: %s", strerror(errno));
}

static void mq_get(struct bench_side *s, mqd_t q, void *p, uint64_t want,
		   const char *what)
{
	ssize_t r;

	while ((r = mq_receive(q, p, BENCH_MAX_SIZE, NULL)) < 0)
		if (errno != EINTR)
			side_fail(s, "mq: mq_receive: %s", strerror(errno));
	check_seq(s, p, (uint32_t)r, want, what);
}

void bench_mq_pingpong(struct bench_side *s, int sys, uint64_t warm,
		       uint64_t n)
{
	uint64_t i, t0, t1;

	(void)sys;
	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			put_seq(s, i);
			mq_put(s, s->k->mq_ab, s->tmpl);
			mq_get(s, s->k->mq_ba, s->buf, i, "mq reply");
			t1 = bench_now();
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
		} else {
			mq_get(s, s->k->mq_ab, s->buf, i, "mq request");
			mq_put(s, s->k->mq_ba, s->buf);
		}
	}
}

double bench_mq_stream(struct bench_side *s, int sys, uint64_t count)
{
	uint64_t i, t_first = 0;

	(void)sys;
	if (s->id == 0) {
		for (i = 0; i < count; i++) {
			put_seq(s, i);
			mq_put(s, s->k->mq_ab, s->tmpl);
		}
		return 0;
	}
	for (i = 0; i < count; i++) {
		mq_get(s, s->k->mq_ab, s->buf, i, "mq stream");
		if (i == 0)
			t_first = bench_now();
	}
	return bench_rate(s, count, t_first, bench_now());
}


/* ---------------------------------------------------------------- */
/* Set-up of the kernel endpoints (parent, before the fork)          */
/* ---------------------------------------------------------------- */

void bench_fds_init(struct bench_fds *k)
{
	k->pipe_ab[0] = k->pipe_ab[1] = k->pipe_ba[0] = k->pipe_ba[1] = -1;
	k->unix_sv[0] = k->unix_sv[1] = -1;
	k->tcp[0] = k->tcp[1] = -1;
	k->efd_ab = k->efd_ba = k->efd_st = -1;
	k->mq_ab = k->mq_ba = (mqd_t)-1;
}

void bench_fds_close(struct bench_fds *k)
{
	int *fds[] = { &k->pipe_ab[0], &k->pipe_ab[1], &k->pipe_ba[0],
		       &k->pipe_ba[1], &k->unix_sv[0], &k->unix_sv[1],
		       &k->tcp[0], &k->tcp[1], &k->efd_ab, &k->efd_ba,
		       &k->efd_st };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (k->mq_ab != (mqd_t)-1)
		mq_close(k->mq_ab);
	if (k->mq_ba != (mqd_t)-1)
		mq_close(k->mq_ba);
	k->mq_ab = k->mq_ba = (mqd_t)-1;
}

/* Bounded: a peer that stops answering gives an error, not a hang. */
static int sock_bound(int fd)
{
	struct timeval tv = { .tv_sec = BENCH_SOCK_TIMEOUT_S };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/*
 * A loopback TCP connection on an ephemeral port: tcp[0] and tcp[1].
 * Returns 0, or -errno with why[] saying what failed.
 */
static int tcp_pair(int tcp[2], char *why, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1, ls, ret = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0) {
		ret = -errno;
		snprintf(why, len, "socket: %s", strerror(-ret));
		return ret;
	}
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls, 1) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
		ret = -errno;
		snprintf(why, len, "listen on 127.0.0.1: %s", strerror(-ret));
		goto out;
	}
	tcp[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tcp[0] < 0 || sock_bound(tcp[0]) ||
	    connect(tcp[0], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		snprintf(why, len, "connect to 127.0.0.1:%u: %s",
			 ntohs(sa.sin_port), strerror(-ret));
		goto out;
	}
	/* The connection is queued already: accept cannot block. */
	tcp[1] = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (tcp[1] < 0 || sock_bound(tcp[1]) ||
	    setsockopt(tcp[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(tcp[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
		ret = -errno;
		snprintf(why, len, "accept: %s", strerror(-ret));
	}
out:
	close(ls);
	return ret;
}

static mqd_t mq_make(const char *dir, uint32_t size, char *why, size_t len)
{
	struct mq_attr attr = { .mq_maxmsg = 8, .mq_msgsize = size };
	char name[64];
	mqd_t q;

	snprintf(name, sizeof(name), "/pinshm-bench-%d-%s", (int)getpid(),
		 dir);
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
	if (q == (mqd_t)-1) {
		int err = errno;

		snprintf(why, len, "mq_open: %s", strerror(err));
		errno = err;	/* the caller returns it */
		return q;
	}
	mq_unlink(name);	/* the descriptors keep it alive */
	return q;
}

/* Returns 0, or -errno with why[] saying which system failed and how. */
int bench_fds_open(struct bench_fds *k, unsigned int vs, uint32_t size,
		   char *why, size_t len)
{
	char m[200] = "";
	int ret;

	if (vs & (1u << SYS_PIPE)) {
		if (pipe2(k->pipe_ab, O_CLOEXEC) || pipe2(k->pipe_ba, O_CLOEXEC)) {
			ret = -errno;
			snprintf(why, len, "pipe: %s", strerror(-ret));
			return ret;
		}
	}
	if (vs & (1u << SYS_UNIX)) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			       k->unix_sv) ||
		    sock_bound(k->unix_sv[0]) || sock_bound(k->unix_sv[1])) {
			ret = -errno;
			snprintf(why, len, "unix: socketpair: %s",
				 strerror(-ret));
			return ret;
		}
	}
	if (vs & (1u << SYS_TCP)) {
		ret = tcp_pair(k->tcp, m, sizeof(m));
		if (ret) {
			snprintf(why, len, "tcp: %s", m);
			return ret;
		}
	}
	if (vs & (1u << SYS_EVENTFD)) {
		k->efd_ab = eventfd(0, EFD_CLOEXEC);
		k->efd_ba = eventfd(0, EFD_CLOEXEC);
		k->efd_st = eventfd(0, EFD_CLOEXEC);
		if (k->efd_ab < 0 || k->efd_ba < 0 || k->efd_st < 0) {
			ret = -errno;
			snprintf(why, len, "eventfd: %s", strerror(-ret));
			return ret;
		}
	}
	if (vs & (1u << SYS_MQ)) {
		k->mq_ab = mq_make("ab", size, m, sizeof(m));
		if (k->mq_ab != (mqd_t)-1)
			k->mq_ba = mq_make("ba", size, m, sizeof(m));
		if (k->mq_ab == (mqd_t)-1 || k->mq_ba == (mqd_t)-1) {
			ret = -errno;
			snprintf(why, len, "mq: %s", m);
			return ret;
		}
	}
	return 0;
}

