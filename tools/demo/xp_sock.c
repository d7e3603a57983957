// SPDX-License-Identifier: MIT
/*
 * pinshm-demo: the sockets transports (--transport unix, tcp) behind the
 * same calls as the rings (trade.h, xp.h).
 *
 * Every link that has a socket has exactly one listening socket, made by
 * tr_setup in the runner before any fork (so every stage inherits it, and
 * a connect never waits for its peer to start):
 *   risk.in, oms.in, log (MPSC), exec.in, rpt.S (SPSC): the consumer owns
 *     the listener; each producer connects once, so an MPSC inbox is one
 *     stream per producer and the consumer polls them all, round robin;
 *   ticks (bcast): md owns the listener; every reader (the strategies, and
 *     exec, which keeps its book from the ticks: there is no shared slot)
 *     connects, and md writes each tick to each reader without waiting
 *     (lossy, as the ring: a reader whose socket is full misses ticks);
 *   pos.S (slot): the strategy owns the listener, risk connects; risk
 *     writes without waiting (only the newest value is kept pending), the
 *     strategy drains the stream to its newest value and never blocks;
 *   book.I (slot): nothing; md's writes are no-ops, exec's reads come
 *     from its ticks.
 * The connecting side first sends a 64-byte hello (magic, the run's
 * token, link, its enum tr_proc); the accepting side checks it. A peer
 * that sends anything else, closes before quit, or tears a record is an
 * error (-EPROTO, -EPIPE), never a crash. Records are whole 64-byte
 * records (a slot: its value's length) over streams; partial reads and
 * writes are carried over. TCP sockets set TCP_NODELAY.
 *
 * Sleeping is poll(); spinning (the proc's bit in cfg.spin) is
 * non-blocking reads in a loop. A producer whose consumer's socket is
 * full waits in poll(POLLOUT) (back-pressure), checking sh->stop == 2.
 *
 * tr_last: the first word of each process's last committed record per
 * link lives in an anonymous shared mapping made by tr_setup, so it
 * survives a restart; what the socket buffers held does not (which is why
 * the runner refuses --chaos on sockets).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <pinshm/barrier.h>

#include "xp.h"

#define XP_MAGIC	0x6f6d656468736870ULL	/* "phshdemo" */
#define XP_SLOT_MAX	512		/* largest slot value */
#define XP_RBUF		4096		/* receive buffer per stream */
#define XP_RBUF_TICKS	16384
#define XP_MAX_CONN	(TR_MAX_PROCS + 4)
#define XP_HELLO_MS	500		/* a new peer's hello arrives within */
#define XP_READERS_MS	2000		/* md waits this long for its readers */
#define XP_WAIT_MS	50		/* back-pressure waits re-check stop */

struct xp_hello {
	uint64_t magic;
	uint64_t token;
	uint32_t link;
	uint32_t proc;
	uint8_t __pad[40];
};

_Static_assert(sizeof(struct xp_hello) == TR_MSG, "one record");

/* Made by tr_setup, inherited by every stage (fork, no exec). */
struct xp_sock_shared {
	uint64_t token;			/* runner: this run's */
	/* [proc][link]: written by proc only (its commits) */
	uint64_t last[TR_MAX_PROCS][TR_LINKS];
	uint8_t has_last[TR_MAX_PROCS][TR_LINKS];
};

static struct xp_sock_shared *xs;
static int listen_fd[TR_LINKS] = { [0 ... TR_LINKS - 1] = -1 };
static bool made_sock_dir;

/* One stream's receive side. */
struct xp_conn {
	int fd;
	int peer;		/* the hello's proc */
	bool eof;
	bool ready;		/* poll() saw it readable */
	uint32_t cap, roff, rlen;	/* bytes [roff, rlen) not consumed */
	uint8_t *rbuf;
};

/* One stream's send side that never waits (ticks, slots). */
struct xp_out {
	int fd;
	uint32_t off, len;		/* bytes [off, len) still to send */
	uint8_t buf[2 * XP_SLOT_MAX];
};

enum xp_role {
	XR_NONE,
	XR_PROD,	/* MPSC, SPSC producer: one connection */
	XR_CONS,	/* MPSC, SPSC consumer: listener + connections */
	XR_TICKS_PROD,	/* md: listener + a connection per reader */
	XR_TICKS_CONS,	/* a strategy: its connection to md */
	XR_SLOT_PROD,	/* risk, pos.S */
	XR_SLOT_CONS,	/* a strategy, pos.S */
	XR_BOOK_PROD,	/* md, book.I: nothing to do */
	XR_BOOK_CONS,	/* exec, book.I: from its ticks */
};

struct xp_link {
	enum xp_role role;
	int fd;				/* XR_PROD: the connection */
	bool broken;			/* XR_PROD: the consumer went away */
	uint8_t out[TR_MSG] __attribute__((aligned(64)));
	int lfd;			/* listener it owns */
	unsigned int expect;		/* peers it should see connect */
	struct xp_conn *conn[XP_MAX_CONN];
	unsigned int nconn, cur;
	int held;			/* conn of the peeked record, -1 */
	unsigned long looks;		/* spinning: accept() every 4096 */
	struct xp_out *outs[XP_MAX_CONN];	/* XR_TICKS_PROD, XR_SLOT_PROD */
	unsigned int nouts;
	uint32_t slot_len;
	bool have_val;
	uint8_t val[XP_SLOT_MAX] __attribute__((aligned(8)));
};

struct xp_sock_io {
	struct tr_io io;
	bool spin;
	bool tcp;
	struct xp_conn *book_feed;	/* exec: its ticks */
	bool have_book[TR_INSTR];
	struct tr_tick book[TR_INSTR];
	uint64_t garbage;		/* bad records seen on the book feed */
	uint64_t tick_seq;		/* a strategy: the last tick's seq */
	struct xp_link l[TR_LINKS];
};

static struct xp_sock_io *sock_io(struct tr_io *io)
{
	return container_of(io, struct xp_sock_io, io);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool is_tcp(const struct tr_cfg *cfg)
{
	return cfg->transport == T_TCP;
}

/* Whether link has a listening socket, and whose it is. */
static bool has_listener(const struct tr_cfg *cfg, int link)
{
	if (!tr_link_used(cfg, link))
		return false;
	return tr_link_kind(link) != LK_SLOT || (link >= L_POS0 &&
						 link < L_POS0 + TR_MAX_STRAT);
}

static int unix_path(const struct tr_cfg *cfg, int link, struct sockaddr_un *sa)
{
	char name[32];
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s-%s.sock",
		     cfg->sock_dir, cfg->prefix[0] ? cfg->prefix : "demo",
		     tr_link_name(link, name, sizeof(name)));
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static void set_nodelay(int fd, bool tcp)
{
	int one = 1;

	if (tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int make_listener(struct tr_cfg *cfg, int link)
{
	int fd, one = 1, err;

	if (is_tcp(cfg)) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sa);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
			goto fail;
		cfg->tcp_port[link] = ntohs(sa.sin_port);
	} else {
		struct sockaddr_un sa;

		err = unix_path(cfg, link, &sa);
		if (err)
			return err;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		unlink(sa.sun_path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
	}
	if (listen(fd, 64) < 0 || set_nonblock(fd) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

static void sock_teardown(struct tr_shared *sh)
{
	struct tr_cfg *cfg = &sh->cfg;

	for (int link = 0; link < TR_LINKS; link++) {
		if (listen_fd[link] < 0)
			continue;
		close(listen_fd[link]);
		listen_fd[link] = -1;
		if (!is_tcp(cfg)) {
			struct sockaddr_un sa;

			if (!unix_path(cfg, link, &sa))
				unlink(sa.sun_path);
		}
	}
	if (made_sock_dir) {
		rmdir(cfg->sock_dir);
		cfg->sock_dir[0] = '\0';
		made_sock_dir = false;
	}
	if (xs) {
		munmap(xs, sizeof(*xs));
		xs = NULL;
	}
}

static int sock_setup(struct tr_shared *sh)
{
	struct tr_cfg *cfg = &sh->cfg;
	struct timespec ts;
	int err;

	xs = mmap(NULL, sizeof(*xs), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (xs == MAP_FAILED) {
		xs = NULL;
		return -errno;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	xs->token = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^
		    ((uint64_t)ts.tv_sec << 20) ^ cfg->seed;
	if (!is_tcp(cfg) && !cfg->sock_dir[0]) {
		snprintf(cfg->sock_dir, sizeof(cfg->sock_dir),
			 "/tmp/pinshm-demo-XXXXXX");
		if (!mkdtemp(cfg->sock_dir)) {
			err = -errno;
			cfg->sock_dir[0] = '\0';
			goto fail;
		}
		made_sock_dir = true;
	}
	for (int link = 0; link < TR_LINKS; link++) {
		if (!has_listener(cfg, link))
			continue;
		listen_fd[link] = make_listener(cfg, link);
		if (listen_fd[link] < 0) {
			err = listen_fd[link];
			listen_fd[link] = -1;
			goto fail;
		}
	}
	return 0;
fail:
	sock_teardown(sh);
	return err;
}

static const char *sock_describe(const struct tr_shared *sh, char *buf,
				 size_t len)
{
	if (is_tcp(&sh->cfg))
		snprintf(buf, len, "tcp sockets on 127.0.0.1 (TCP_NODELAY), "
			 "one stream per producer and inbox");
	else
		snprintf(buf, len, "unix stream sockets in %s, one stream per "
			 "producer and inbox", sh->cfg.sock_dir);
	return buf;
}

/* ---- streams -------------------------------------------------------------- */

/* Sends all of buf, waiting for room (back-pressure); 0 or -errno. */
static int send_all(struct xp_sock_io *x, int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		/* A failure ends waits (relaxed: trade.h). */
		if (__atomic_load_n(&x->io.sh->stop, __ATOMIC_RELAXED) == 2)
			return -ECANCELED;
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		poll(&pfd, 1, XP_WAIT_MS);
	}
	return 0;
}

/* Reads exactly len bytes within ms milliseconds; 0 or -errno. */
static int recv_all(int fd, void *buf, size_t len, int ms)
{
	uint8_t *p = buf;
	uint64_t end = now_ns() + (uint64_t)ms * 1000000ULL;

	while (len) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		uint64_t now = now_ns();

		if (now >= end)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		poll(&pfd, 1, (int)((end - now) / 1000000ULL) + 1);
	}
	return 0;
}

static int connect_link(struct xp_sock_io *x, int link)
{
	const struct tr_cfg *cfg = &x->io.sh->cfg;
	struct xp_hello h = {
		.magic = XP_MAGIC, .token = xs->token,
		.link = (uint32_t)link, .proc = (uint32_t)x->io.proc,
	};
	int fd, err;

	if (x->tcp) {
		struct sockaddr_in sa = { .sin_family = AF_INET };

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons(cfg->tcp_port[link]);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
	} else {
		struct sockaddr_un sa;

		err = unix_path(cfg, link, &sa);
		if (err)
			return err;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
	}
	set_nodelay(fd, x->tcp);
	err = set_nonblock(fd);
	if (!err)
		err = send_all(x, fd, &h, sizeof(h));
	if (err) {
		close(fd);
		return err;
	}
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/*
 * Accepts one pending connection on lfd and checks its hello: the fd
 * (with *peer), 0 when none is pending, or -errno (-EPROTO: not a hello
 * of this run and link from a process that may send on it).
 */
static int accept_peer(struct xp_sock_io *x, int lfd, int link, int *peer)
{
	const struct tr_cfg *cfg = &x->io.sh->cfg;
	struct xp_hello h;
	int fd, err;
	bool ok;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		       errno == EINTR ? 0 : -errno;
	set_nodelay(fd, x->tcp);
	err = recv_all(fd, &h, sizeof(h), XP_HELLO_MS);
	if (err) {
		close(fd);
		return err == -ETIMEDOUT || err == -EPIPE ? -EPROTO : err;
	}
	ok = h.magic == XP_MAGIC && h.token == xs->token && h.link == (uint32_t)link &&
	     h.proc < TR_MAX_PROCS;
	if (ok && link == L_TICKS)
		ok = tr_proc_consumes(cfg, (int)h.proc, link) || h.proc == P_EXEC;
	else if (ok)
		ok = tr_proc_produces(cfg, (int)h.proc, link);
	if (!ok) {
		close(fd);
		return -EPROTO;
	}
	*peer = (int)h.proc;
	return fd;
}

static struct xp_conn *conn_new(int fd, int peer, uint32_t cap)
{
	struct xp_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (posix_memalign((void **)&c->rbuf, 64, cap)) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->peer = peer;
	c->cap = cap;
	return c;
}

static void conn_free(struct xp_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->rbuf);
	free(c);
}

/*
 * One non-blocking read of what the socket holds: 1 bytes came (or the
 * peer closed: c->eof), 0 nothing, -errno.
 */
static int conn_fill(struct xp_conn *c, uint32_t rec)
{
	ssize_t n;

	if (c->eof)
		return 0;
	if (c->roff == c->rlen) {
		c->roff = 0;
		c->rlen = 0;
	} else if (c->cap - c->rlen < rec) {
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
	}
	n = recv(c->fd, c->rbuf + c->rlen, c->cap - c->rlen, MSG_DONTWAIT);
	if (n > 0) {
		c->rlen += (uint32_t)n;
		return 1;
	}
	if (n == 0) {
		c->eof = true;
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -errno;
}

static bool conn_has(const struct xp_conn *c, uint32_t rec)
{
	return c->rlen - c->roff >= rec;
}

/*
 * A connection whose peer has closed and whose whole records are all
 * consumed: gone quietly once the run quits, else an error (a torn last
 * record always is).
 */
static int conn_closed(struct xp_sock_io *x, const struct xp_conn *c)
{
	/* The peer may leave now (relaxed: trade.h). */
	if (c->rlen == c->roff &&
	    __atomic_load_n(&x->io.sh->quit, __ATOMIC_RELAXED))
		return 0;
	return -EPIPE;
}

static void link_drop_conn(struct xp_link *L, unsigned int i)
{
	conn_free(L->conn[i]);
	L->conn[i] = L->conn[--L->nconn];
	L->conn[L->nconn] = NULL;
	if (L->cur >= L->nconn)
		L->cur = 0;
}

/* Accepts every pending producer of a consumed link; 0 or -errno. */
static int link_accept(struct xp_sock_io *x, int link)
{
	struct xp_link *L = &x->l[link];

	for (;;) {
		int peer, fd = accept_peer(x, L->lfd, link, &peer);
		struct xp_conn *c;

		if (fd <= 0)
			return fd;
		if (L->nconn == XP_MAX_CONN) {
			close(fd);
			return -EMFILE;
		}
		c = conn_new(fd, peer, XP_RBUF);
		if (!c) {
			close(fd);
			return -ENOMEM;
		}
		L->conn[L->nconn++] = c;
	}
}

/* exec: every tick its feed holds goes into its book; 0 or -errno. */
static int book_drain(struct xp_sock_io *x)
{
	struct xp_conn *c = x->book_feed;
	int r;

	if (!c)
		return 0;
	do {
		r = conn_fill(c, TR_MSG);
		if (r < 0)
			return r;
		while (conn_has(c, TR_MSG)) {
			const struct tr_tick *t = (const void *)(c->rbuf + c->roff);

			if (t->instr < TR_INSTR) {
				x->book[t->instr] = *t;
				x->have_book[t->instr] = true;
			} else {
				x->garbage++;
			}
			c->roff += TR_MSG;
		}
		if (c->eof) {
			r = conn_closed(x, c);
			conn_free(c);
			x->book_feed = NULL;
			return r;
		}
	} while (r > 0);
	return 0;
}

/* ---- the calls --------------------------------------------------------------- */

static void *sock_claim(struct tr_io *io, int link)
{
	struct xp_sock_io *x = sock_io(io);
	struct xp_link *L;

	if (link < 0 || link >= TR_LINKS)
		return NULL;
	L = &x->l[link];
	if (L->role == XR_PROD && L->broken)
		return NULL;
	if (L->role != XR_PROD && L->role != XR_TICKS_PROD)
		return NULL;
	return L->out;
}

static void record_last(struct xp_sock_io *x, int link, const void *rec)
{
	uint64_t w;

	memcpy(&w, rec, sizeof(w));
	xs->last[x->io.proc][link] = w;
	xs->has_last[x->io.proc][link] = 1;
}

/* Moves what o holds without waiting; 0 or -errno (the peer went away). */
static int out_flush(struct xp_out *o)
{
	while (o->off < o->len) {
		ssize_t n = send(o->fd, o->buf + o->off, o->len - o->off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			o->off += (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return n < 0 ? -errno : -EPIPE;
	}
	o->off = 0;
	o->len = 0;
	return 0;
}

static void outs_drop(struct xp_link *L, unsigned int i)
{
	close(L->outs[i]->fd);
	free(L->outs[i]);
	L->outs[i] = L->outs[--L->nouts];
	L->outs[L->nouts] = NULL;
}

/* md: takes on readers that connected; 0 or -errno. */
static int ticks_accept(struct xp_sock_io *x)
{
	struct xp_link *L = &x->l[L_TICKS];

	for (;;) {
		int peer, fd = accept_peer(x, L->lfd, L_TICKS, &peer);
		struct xp_out *o;

		if (fd <= 0)
			return fd;
		if (L->nouts == XP_MAX_CONN) {
			close(fd);
			return -EMFILE;
		}
		o = calloc(1, sizeof(*o));
		if (!o) {
			close(fd);
			return -ENOMEM;
		}
		o->fd = fd;
		L->outs[L->nouts++] = o;
	}
}

/* md: the tick to every reader that has room for it (lossy). */
static void ticks_publish(struct xp_sock_io *x, const void *rec)
{
	struct xp_link *L = &x->l[L_TICKS];

	if (L->nouts < L->expect && ticks_accept(x) < 0)
		fprintf(stderr, "pinshm-demo: md: a bad ticks reader refused\n");
	for (unsigned int i = 0; i < L->nouts; i++) {
		struct xp_out *o = L->outs[i];

		/* A record half sent first, else this one is lost to it. */
		if (out_flush(o) < 0) {
			outs_drop(L, i--);
			continue;
		}
		if (o->len)
			continue;
		memcpy(o->buf, rec, TR_MSG);
		o->len = TR_MSG;
		if (out_flush(o) < 0)
			outs_drop(L, i--);
	}
}

static void sock_commit(struct tr_io *io, int link)
{
	struct xp_sock_io *x = sock_io(io);
	struct xp_link *L = &x->l[link];
	int err;

	if (L->role == XR_TICKS_PROD) {
		ticks_publish(x, L->out);
		record_last(x, link, L->out);
		return;
	}
	if (L->role != XR_PROD || L->broken)
		return;
	err = send_all(x, L->fd, L->out, TR_MSG);
	if (err) {
		if (err != -ECANCELED) {
			char name[32];

			fprintf(stderr, "pinshm-demo: %s: %s: %s\n",
				tr_proc_name(io->proc),
				tr_link_name(link, name, sizeof(name)),
				strerror(-err));
			L->broken = true;
		}
		return;
	}
	record_last(x, link, L->out);
}

/* risk: values still pending for a strategy go out when there is room. */
static void slots_flush(struct xp_sock_io *x)
{
	for (int s = 0; s < TR_MAX_STRAT; s++) {
		struct xp_link *L = &x->l[L_POS(s)];

		if (L->role == XR_SLOT_PROD && L->nouts && L->outs[0]->len &&
		    out_flush(L->outs[0]) < 0)
			outs_drop(L, 0);
	}
}

enum { FILL_NONE, FILL_ALL, FILL_READY };

/*
 * A whole record from one of L's streams, round robin; 1, 0, -errno.
 * fill: read the sockets first (all of them, or those poll() saw ready).
 */
static int take(struct xp_sock_io *x, struct xp_link *L, const void **m,
		int fill)
{
	for (unsigned int k = 0; k < L->nconn; k++) {
		unsigned int i = (L->cur + k) % L->nconn;
		struct xp_conn *c = L->conn[i];
		int r = 0;

		if (!conn_has(c, TR_MSG) &&
		    (fill == FILL_ALL || (fill == FILL_READY && c->ready)))
			r = conn_fill(c, TR_MSG);
		c->ready = false;
		if (r < 0) {
			link_drop_conn(L, i);
			return r;
		}
		if (conn_has(c, TR_MSG)) {
			L->held = (int)i;
			L->cur = i + 1;
			*m = c->rbuf + c->roff;
			return 1;
		}
		if (c->eof) {
			r = conn_closed(x, c);
			link_drop_conn(L, i);
			if (r)
				return r;
			k--;	/* the last one moved into i */
		}
	}
	return 0;
}

static int sock_peek(struct tr_io *io, int link, const void **m,
		     int64_t timeout_ns)
{
	struct xp_sock_io *x = sock_io(io);
	struct xp_link *L;
	uint64_t deadline = 0;
	int fill = FILL_ALL;
	bool slept = false;
	int r;

	if (link < 0 || link >= TR_LINKS)
		return -EINVAL;
	L = &x->l[link];
	if (L->role != XR_CONS && L->role != XR_TICKS_CONS)
		return -EINVAL;
	if (L->held >= 0)
		return -EBUSY;
	slots_flush(x);
	r = take(x, L, m, FILL_NONE);
	if (r)
		return r;
	if (timeout_ns > 0)
		deadline = now_ns() + (uint64_t)timeout_ns;
	for (;;) {
		if (L->lfd >= 0 && (L->nconn < L->expect ||
				    (x->spin && (++L->looks & 4095) == 0))) {
			r = link_accept(x, link);
			if (r < 0)
				return r;
		}
		r = take(x, L, m, fill);
		if (r == 1 && slept)	/* as the rings count them */
			io->sh->st[io->proc].wakes++;
		if (r)
			return r;
		if (timeout_ns <= 0 ||
		    __atomic_load_n(&io->sh->stop, __ATOMIC_RELAXED) == 2)
			return 0;	/* pairs with the runner's store of stop */
		uint64_t now = now_ns();

		if (now >= deadline)
			return 0;
		if (x->spin) {
			pinshm_cpu_relax();
			continue;
		}

		struct pollfd pfd[XP_MAX_CONN + 2];
		unsigned int n = 0;
		struct timespec ts = {
			.tv_sec = (time_t)((deadline - now) / 1000000000ULL),
			.tv_nsec = (long)((deadline - now) % 1000000000ULL),
		};

		for (unsigned int i = 0; i < L->nconn; i++)
			pfd[n++] = (struct pollfd){ .fd = L->conn[i]->fd, .events = POLLIN };
		if (L->lfd >= 0)
			pfd[n++] = (struct pollfd){ .fd = L->lfd, .events = POLLIN };
		if (x->book_feed)
			pfd[n++] = (struct pollfd){ .fd = x->book_feed->fd, .events = POLLIN };
		if (ppoll(pfd, n, &ts, NULL) < 0 && errno != EINTR)
			return -errno;
		slept = true;
		fill = FILL_READY;
		for (unsigned int i = 0; i < L->nconn; i++)
			L->conn[i]->ready = pfd[i].revents != 0;
		if (x->book_feed && (pfd[n - 1].revents & POLLIN)) {
			r = book_drain(x);
			if (r < 0)
				return r;
		}
		if (L->lfd >= 0 && (pfd[L->nconn].revents & POLLIN)) {
			r = link_accept(x, link);
			if (r < 0)
				return r;
		}
	}
}

static void sock_release(struct tr_io *io, int link)
{
	struct xp_sock_io *x = sock_io(io);
	struct xp_link *L = &x->l[link];

	if (L->held < 0 || (unsigned int)L->held >= L->nconn)
		return;
	if (L->role == XR_TICKS_CONS) {
		/* Ticks md could not send (the socket was full): the laps. */
		uint64_t seq;

		memcpy(&seq, L->conn[L->held]->rbuf + L->conn[L->held]->roff,
		       sizeof(seq));
		if (x->tick_seq && seq > x->tick_seq + 1)
			io->sh->st[io->proc].lapped += seq - x->tick_seq - 1;
		if (seq > x->tick_seq)
			x->tick_seq = seq;
	}
	L->conn[L->held]->roff += TR_MSG;
	L->held = -1;
}

static int sock_slot_write(struct tr_io *io, int link, const void *v,
			   size_t len)
{
	struct xp_sock_io *x = sock_io(io);
	struct xp_link *L;
	struct xp_out *o;

	if (link < 0 || link >= TR_LINKS || len == 0 || len > XP_SLOT_MAX)
		return -EINVAL;
	L = &x->l[link];
	if (L->role == XR_BOOK_PROD) {
		record_last(x, link, v);
		return 0;
	}
	if (L->role != XR_SLOT_PROD || (L->slot_len && L->slot_len != len))
		return -EINVAL;
	L->slot_len = (uint32_t)len;
	if (!L->nouts)
		return -EPIPE;
	o = L->outs[0];
	if (out_flush(o) < 0) {
		outs_drop(L, 0);
		return -EPIPE;
	}
	if (o->off == 0) {		/* nothing of the pending one sent: replace it */
		memcpy(o->buf, v, len);
		o->len = (uint32_t)len;
	} else {			/* behind the half-sent one, the newest */
		memcpy(o->buf + len, v, len);
		o->len = 2 * (uint32_t)len;
	}
	if (out_flush(o) < 0) {
		outs_drop(L, 0);
		return -EPIPE;
	}
	record_last(x, link, v);
	return 0;
}

static int sock_slot_read(struct tr_io *io, int link, void *v, size_t len)
{
	struct xp_sock_io *x = sock_io(io);
	struct xp_link *L;
	int r;

	if (link < 0 || link >= TR_LINKS || len == 0 || len > XP_SLOT_MAX)
		return -EINVAL;
	L = &x->l[link];
	if (L->role == XR_BOOK_CONS) {
		int i = link - L_BOOK0;

		if (len != sizeof(struct tr_tick))
			return -EINVAL;
		r = book_drain(x);
		if (r < 0)
			return r;
		if (!x->have_book[i])
			return -ENODATA;
		memcpy(v, &x->book[i], len);
		return 0;
	}
	if (L->role != XR_SLOT_CONS || (L->slot_len && L->slot_len != len))
		return -EINVAL;
	L->slot_len = (uint32_t)len;
	if (!L->nconn) {
		r = link_accept(x, link);
		if (r < 0)
			return r;
	}
	if (L->nconn) {
		/* Only the newest connection counts: a new writer took over. */
		while (L->nconn > 1) {
			conn_free(L->conn[0]);
			memmove(L->conn, L->conn + 1,
				--L->nconn * sizeof(L->conn[0]));
			L->conn[L->nconn] = NULL;
		}
		struct xp_conn *c = L->conn[0];

		do {
			r = conn_fill(c, (uint32_t)len);
			if (r < 0) {
				link_drop_conn(L, 0);
				return r;
			}
			while (conn_has(c, (uint32_t)len)) {
				memcpy(L->val, c->rbuf + c->roff, len);
				L->have_val = true;
				c->roff += (uint32_t)len;
			}
		} while (r > 0 && !c->eof);
		if (c->eof) {
			r = conn_closed(x, c);
			link_drop_conn(L, 0);
			if (r)
				return r;
		}
	}
	if (!L->have_val)
		return -ENODATA;
	memcpy(v, L->val, len);
	return 0;
}

static int sock_last(struct tr_io *io, int link, uint64_t *word)
{
	if (link < 0 || link >= TR_LINKS || !xs->has_last[io->proc][link])
		return -ENOENT;
	*word = xs->last[io->proc][link];
	return 0;
}

/* ---- opening and closing ------------------------------------------------------ */

static void sock_io_close(struct tr_io *io)
{
	struct xp_sock_io *x;

	if (!io)
		return;
	x = sock_io(io);
	for (int link = 0; link < TR_LINKS; link++) {
		struct xp_link *L = &x->l[link];

		if (L->fd >= 0)
			close(L->fd);
		while (L->nconn)
			link_drop_conn(L, L->nconn - 1);
		while (L->nouts)
			outs_drop(L, L->nouts - 1);
	}
	conn_free(x->book_feed);
	free(x);
}

static unsigned int producers(const struct tr_cfg *cfg, int link)
{
	unsigned int n = 0;

	for (int p = 0; p < TR_MAX_PROCS; p++)
		n += tr_proc_produces(cfg, p, link);
	return n;
}

/* md: its readers connect as they start; wait a little for all of them. */
static int ticks_wait_readers(struct xp_sock_io *x)
{
	struct xp_link *L = &x->l[L_TICKS];
	uint64_t end = now_ns() + XP_READERS_MS * 1000000ULL;

	while (L->nouts < L->expect && now_ns() < end &&
	       !__atomic_load_n(&x->io.sh->stop, __ATOMIC_RELAXED)) {
		struct pollfd pfd = { .fd = L->lfd, .events = POLLIN };
		int r;

		poll(&pfd, 1, 20);
		r = ticks_accept(x);
		if (r < 0)
			return r;
	}
	return 0;
}

static int open_link(struct xp_sock_io *x, int link)
{
	const struct tr_cfg *cfg = &x->io.sh->cfg;
	struct xp_link *L = &x->l[link];
	int proc = x->io.proc;
	bool prod = tr_proc_produces(cfg, proc, link);
	bool cons = tr_proc_consumes(cfg, proc, link);
	enum tr_link_kind kind = tr_link_kind(link);

	if (!prod && !cons)
		return 0;
	if (kind == LK_SLOT && link >= L_BOOK0) {
		L->role = prod ? XR_BOOK_PROD : XR_BOOK_CONS;
		return 0;
	}
	if (kind == LK_BCAST) {
		if (prod) {
			L->role = XR_TICKS_PROD;
			L->lfd = listen_fd[link];
			L->expect = cfg->strategies + 1;	/* and exec */
			return L->lfd < 0 ? -EBADF : 0;
		}
		L->role = XR_TICKS_CONS;
		L->fd = connect_link(x, link);
		if (L->fd < 0)
			return L->fd;
		L->conn[0] = conn_new(L->fd, P_MD, XP_RBUF_TICKS);
		if (!L->conn[0])
			return -ENOMEM;
		L->nconn = 1;
		L->fd = -1;	/* the conn owns it */
		return 0;
	}
	if (cons) {
		L->role = kind == LK_SLOT ? XR_SLOT_CONS : XR_CONS;
		L->lfd = listen_fd[link];
		L->expect = kind == LK_SLOT ? 1 : producers(cfg, link);
		return L->lfd < 0 ? -EBADF : 0;
	}
	if (kind == LK_SLOT) {
		struct xp_out *o = calloc(1, sizeof(*o));
		int fd;

		if (!o)
			return -ENOMEM;
		fd = connect_link(x, link);
		if (fd < 0) {
			free(o);
			return fd;
		}
		o->fd = fd;
		L->outs[0] = o;
		L->nouts = 1;
		L->role = XR_SLOT_PROD;
		return 0;
	}
	L->role = XR_PROD;
	L->fd = connect_link(x, link);
	return L->fd < 0 ? L->fd : 0;
}

static int sock_io_open(struct tr_shared *sh, int proc, bool restarted,
			struct tr_io **out)
{
	struct xp_sock_io *x;
	int err = 0;

	(void)restarted;	/* a new connection is all a restart needs */
	if (!xs)
		return -ENXIO;	/* tr_setup did not run in this process tree */
	if (!tr_proc_used(&sh->cfg, proc))
		return -EINVAL;
	if (posix_memalign((void **)&x, 64, sizeof(*x)))
		return -ENOMEM;
	memset(x, 0, sizeof(*x));
	x->io.ops = &xp_sock_ops;
	x->io.sh = sh;
	x->io.proc = proc;
	x->spin = sh->cfg.spin >> proc & 1;
	x->tcp = is_tcp(&sh->cfg);
	for (int link = 0; link < TR_LINKS; link++) {
		x->l[link].fd = -1;
		x->l[link].lfd = -1;
		x->l[link].held = -1;
	}
	for (int link = 0; link < TR_LINKS && !err; link++)
		err = open_link(x, link);
	if (!err && proc == P_EXEC) {
		int fd = connect_link(x, L_TICKS);

		if (fd < 0) {
			err = fd;
		} else {
			x->book_feed = conn_new(fd, P_MD, XP_RBUF_TICKS);
			if (!x->book_feed) {
				close(fd);
				err = -ENOMEM;
			}
		}
	}
	if (!err && proc == P_MD)
		err = ticks_wait_readers(x);
	if (err) {
		sock_io_close(&x->io);
		return err;
	}
	*out = &x->io;
	return 0;
}

const struct tr_xp_ops xp_sock_ops = {
	.name = "sockets",
	.setup = sock_setup,
	.teardown = sock_teardown,
	.describe = sock_describe,
	.io_open = sock_io_open,
	.io_close = sock_io_close,
	.claim = sock_claim,
	.commit = sock_commit,
	.peek = sock_peek,
	.release = sock_release,
	.slot_write = sock_slot_write,
	.slot_read = sock_slot_read,
	.last = sock_last,
};
