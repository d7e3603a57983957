// SPDX-License-Identifier: MIT
/*
 * pinshm bench: the peers, other libraries' rings measured by the same
 * harness, in the same region, with the same message sizes and CPUs:
 *
 *   ck-spsc           Concurrency Kit's ck_ring (libck-dev), SPSC, its
 *                     typed-buffer form: each slot holds the whole message
 *                     (--size bytes), which enqueue copies in and dequeue
 *                     copies out (what CK_RING_PROTOTYPE's rings do, with
 *                     the size known at run time: _ck_ring_enqueue_sp and
 *                     _ck_ring_dequeue_sc of <ck_ring.h>)
 *   rte-spsc          DPDK's rte_ring (libdpdk-dev, librte-ring23) with
 *                     elements of --size bytes rounded up to 4 (the _elem
 *                     API): SP enqueue, SC dequeue, one at a time
 *   rte-spsc-burst32  the same, up to 32 per enqueue and dequeue call
 *   rte-mp, rte-rts, rte-hts   the many-producer pattern (mpsc): MP, RTS
 *                     (relaxed tail sync) or HTS (head/tail sync) enqueue,
 *                     SC dequeue, one at a time; -2p: two producer processes
 *
 * So each peer moves the payload through its ring as the pinshm rings do
 * (a producer writes --size bytes into the ring's memory, the consumer reads
 * them there), where the pinshm rings claim and peek in place and the peers
 * copy in and out: their APIs. The rings live in the region's scratch area,
 * after the raw rings (bench_peers_bytes()), set up by the parent before the
 * fork: rte_ring_init() on our own memory needs no EAL (no rte_eal_init(),
 * no memzone), and neither ring keeps a pointer in shared memory. Each ring
 * holds the largest power of two of messages that fits --capacity bytes.
 *
 * The rings' own protocols order their shared words (ck: ck_pr fences
 * around p_tail and c_head; rte: acquire/release on the head/tail pairs);
 * nothing here adds a shared word beyond the payload, whose first 8 bytes
 * hold the message's sequence number (mpsc: the producer in the top 8 bits).
 *
 * Built in when scripts/bench-peers.sh found the packages (PINSHM_BENCH_CK,
 * PINSHM_BENCH_RTE); otherwise --vs ck / rte says which package to install.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifdef PINSHM_BENCH_CK
#include <ck_ring.h>
#endif
#ifdef PINSHM_BENCH_RTE
#include <rte_ring.h>
#include <rte_ring_elem.h>
#endif

#define PEER_ALIGN	4096ULL
#define PEER_SEQ_BITS	56

enum { PR_AB, PR_BA, PR_MP, PR_RTS, PR_HTS, NR_PR };	/* rte rings */

/* Where each ring is in the peers' area, from the options alone. */
struct peer_layout {
	uint32_t ck_n, rte_n;		/* messages a ring holds (power of 2) */
	uint32_t esize;			/* rte element: size rounded up to 4 */
	uint64_t ck_ring[2], ck_buf[2];	/* ab, ba */
	uint64_t rte[NR_PR];
	uint64_t bytes;
};

/* This process's view of the rings (each side is its own process). */
static struct {
	struct peer_layout l;
	void *ck_ring[2], *ck_buf[2];
	void *rte[NR_PR];
	uint8_t *batch;			/* BENCH_BATCH elements */
} ps;

static inline uint64_t align_up(uint64_t v)
{
	return (v + PEER_ALIGN - 1) & ~(PEER_ALIGN - 1);
}

/* The largest power of two n with n * bytes <= cap (at least 8). */
static uint32_t ring_entries(uint64_t cap, uint32_t bytes)
{
	uint32_t n = 8;

	while ((uint64_t)n * 2 * bytes <= cap)
		n *= 2;
	return n;
}

static inline bool want_peer(const struct bench_opts *o, const char *peer)
{
	int k;

	for (k = 0; k < NR_SYS; k++)
		if ((o->vs & (1u << k)) && bench_systems[k].peer &&
		    !strcmp(bench_systems[k].peer, peer))
			return true;
	return false;
}

static void peer_layout(const struct bench_opts *o, struct peer_layout *l)
{
	uint64_t off = 0;
	int i;

	memset(l, 0, sizeof(*l));
	l->esize = (o->size + 3) & ~3u;
	l->ck_n = ring_entries(o->capacity, o->size);
	l->rte_n = ring_entries(o->capacity, l->esize);
#ifdef PINSHM_BENCH_CK
	if (want_peer(o, "ck")) {
		for (i = 0; i < 2; i++) {
			l->ck_ring[i] = off;
			off += align_up(sizeof(struct ck_ring));
			l->ck_buf[i] = off;
			off += align_up((uint64_t)l->ck_n * o->size);
		}
	}
#endif
#ifdef PINSHM_BENCH_RTE
	if (want_peer(o, "rte")) {
		for (i = 0; i < NR_PR; i++) {
			l->rte[i] = off;
			off += align_up((uint64_t)rte_ring_get_memsize_elem(
						l->esize, l->rte_n));
		}
	}
#endif
	(void)i;
	l->bytes = off;
}

bool bench_peer_built(int sys)
{
	const char *p = bench_systems[sys].peer;

	if (!p)
		return true;
#ifdef PINSHM_BENCH_CK
	if (!strcmp(p, "ck"))
		return true;
#endif
#ifdef PINSHM_BENCH_RTE
	if (!strcmp(p, "rte"))
		return true;
#endif
	return false;
}

uint64_t bench_peers_bytes(const struct bench_opts *o)
{
	struct peer_layout l;

	peer_layout(o, &l);
	return l.bytes;
}

/* The parent, before the fork: empty rings in area. 0 or -errno. */
int bench_peers_init(const struct bench_opts *o, void *area)
{
	struct peer_layout l;
	uint8_t *a = area;
	int i;

	peer_layout(o, &l);
	if (!l.bytes)
		return 0;
	memset(area, 0, l.bytes);
#ifdef PINSHM_BENCH_CK
	if (want_peer(o, "ck"))
		for (i = 0; i < 2; i++)
			ck_ring_init((struct ck_ring *)(a + l.ck_ring[i]),
				     l.ck_n);
#endif
#ifdef PINSHM_BENCH_RTE
	if (want_peer(o, "rte")) {
		static const char *const name[NR_PR] = {
			"pinshm-bench-ab", "pinshm-bench-ba", "pinshm-bench-mp",
			"pinshm-bench-rts", "pinshm-bench-hts" };
		static const unsigned int flags[NR_PR] = {
			RING_F_SP_ENQ | RING_F_SC_DEQ,
			RING_F_SP_ENQ | RING_F_SC_DEQ,
			RING_F_SC_DEQ,
			RING_F_MP_RTS_ENQ | RING_F_SC_DEQ,
			RING_F_MP_HTS_ENQ | RING_F_SC_DEQ };
		int ret;

		for (i = 0; i < NR_PR; i++) {
			ret = rte_ring_init((struct rte_ring *)(a + l.rte[i]),
					    name[i], l.rte_n, flags[i]);
			if (ret)
				return ret < 0 ? ret : -EINVAL;
		}
	}
#endif
	(void)a;
	(void)i;
	return 0;
}

/* A side: find the rings in area (its own mapping of the region). */
void bench_peers_attach(struct bench_side *s, void *area)
{
	struct peer_layout *l = &ps.l;
	uint8_t *a = area;
	int i;

	peer_layout(s->o, l);
	if (!l->bytes)
		return;
	for (i = 0; i < 2; i++) {
		ps.ck_ring[i] = a + l->ck_ring[i];
		ps.ck_buf[i] = a + l->ck_buf[i];
	}
	for (i = 0; i < NR_PR; i++)
		ps.rte[i] = a + l->rte[i];
	ps.batch = aligned_alloc(BENCH_LINE, (size_t)BENCH_BATCH *
				 (BENCH_MAX_SIZE + 4));
	if (!ps.batch)
		side_fail(s, "peers: out of memory");
	for (i = 0; i < BENCH_BATCH; i++)
		memcpy(ps.batch + (size_t)i * l->esize, s->tmpl, l->esize);
}

void bench_peers_detach(struct bench_side *s)
{
	(void)s;
	free(ps.batch);
	ps.batch = NULL;
}

/* Producer k of nprod: its share of count messages. */
static inline uint64_t share_of(uint64_t count, unsigned int nprod, unsigned int k)
{
	return count / nprod + (k < count % nprod);
}

/* A peer's blocking send or receive of one message on ring 0 (ab) or 1
 * (ba). */
typedef void (*peer_io)(struct bench_side *s, int ring, void *msg);

/*
 * The round trip and the one-at-a-time stream, one loop for every peer:
 * always inlined with constant send and recv, so that each peer's loop
 * calls its own ring's code directly, with no pointer in the measured
 * loop. A: ab out, ba back; B: the reverse.
 */
static inline __attribute__((always_inline, unused)) void
peer_pingpong(struct bench_side *s, int sys, uint64_t warm, uint64_t n,
	      peer_io send, peer_io recv)
{
	uint32_t size = s->o->size;
	uint64_t i, t0, t1;
	char req[64], reply[64];

	snprintf(req, sizeof(req), "%s request", bench_systems[sys].name);
	snprintf(reply, sizeof(reply), "%s reply", bench_systems[sys].name);
	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			put_seq(s, i);
			send(s, 0, s->tmpl);
			recv(s, 1, s->buf);
			check_seq(s, s->buf, size, i, reply);
			t1 = bench_now();
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
		} else {
			recv(s, 0, s->buf);
			check_seq(s, s->buf, size, i, req);
			send(s, 1, s->buf);
		}
	}
}

static inline __attribute__((always_inline, unused)) double
peer_stream(struct bench_side *s, int sys, uint64_t n, peer_io send,
	    peer_io recv)
{
	uint64_t i, t_first = 0;
	char what[64];

	if (s->id == 0) {
		for (i = 0; i < n; i++) {
			put_seq(s, i);
			send(s, 0, s->tmpl);
		}
		return 0;
	}
	snprintf(what, sizeof(what), "%s stream", bench_systems[sys].name);
	for (i = 0; i < n; i++) {
		recv(s, 0, s->buf);
		if (i == 0)
			t_first = bench_now();
		check_seq(s, s->buf, s->o->size, i, what);
	}
	return bench_rate(s, n, t_first, bench_now());
}

/* ---------------------------------------------------------------- */
/* ck_ring                                                           */
/* ---------------------------------------------------------------- */

#ifdef PINSHM_BENCH_CK
static inline void ck_send(struct bench_side *s, int ring, void *msg)
{
	while (!_ck_ring_enqueue_sp(ps.ck_ring[ring], ps.ck_buf[ring], msg,
				    s->o->size, NULL))
		pinshm_cpu_relax();
}

static inline void ck_recv(struct bench_side *s, int ring, void *msg)
{
	while (!_ck_ring_dequeue_sc(ps.ck_ring[ring], ps.ck_buf[ring], msg,
				    s->o->size))
		pinshm_cpu_relax();
}

void bench_ck_pingpong(struct bench_side *s, int sys, uint64_t warm,
		       uint64_t n)
{
	peer_pingpong(s, sys, warm, n, ck_send, ck_recv);
}

double bench_ck_stream(struct bench_side *s, int sys, uint64_t n)
{
	return peer_stream(s, sys, n, ck_send, ck_recv);
}
#else
void bench_ck_pingpong(struct bench_side *s, int sys, uint64_t warm,
		       uint64_t n)
{
	(void)warm;
	(void)n;
	side_fail(s, "%s: not built in", bench_systems[sys].name);
}

double bench_ck_stream(struct bench_side *s, int sys, uint64_t n)
{
	(void)n;
	side_fail(s, "%s: not built in", bench_systems[sys].name);
}
#endif

/* ---------------------------------------------------------------- */
/* rte_ring                                                          */
/* ---------------------------------------------------------------- */

#ifdef PINSHM_BENCH_RTE
static inline void rte_send(struct bench_side *s, int ring, void *msg)
{
	(void)s;
	while (rte_ring_sp_enqueue_elem(ps.rte[ring], msg, ps.l.esize))
		pinshm_cpu_relax();
}

static inline void rte_recv(struct bench_side *s, int ring, void *msg)
{
	(void)s;
	while (rte_ring_sc_dequeue_elem(ps.rte[ring], msg, ps.l.esize))
		pinshm_cpu_relax();
}

void bench_rte_pingpong(struct bench_side *s, int sys, uint64_t warm,
			uint64_t n)
{
	peer_pingpong(s, sys, warm, n, rte_send, rte_recv);
}

/* SP/SC, one at a time or bursts of up to batch. */
static double rte_spsc_stream(struct bench_side *s, int sys, uint64_t n,
			      unsigned int batch)
{
	uint32_t esize = ps.l.esize, size = s->o->size;
	uint64_t i = 0, t_first = 0, seq;
	unsigned int j, m, got;

	if (batch <= 1)
		return peer_stream(s, sys, n, rte_send, rte_recv);
	if (s->id == 0) {
		while (i < n) {
			m = n - i < batch ? (unsigned int)(n - i) : batch;
			for (j = 0; j < m; j++) {
				seq = i + j;
				memcpy(ps.batch + (size_t)j * esize, &seq,
				       sizeof(seq));
			}
			got = rte_ring_sp_enqueue_burst_elem(ps.rte[PR_AB],
							     ps.batch, esize,
							     m, NULL);
			if (!got)
				pinshm_cpu_relax();
			i += got;
		}
		return 0;
	}
	while (i < n) {
		got = rte_ring_sc_dequeue_burst_elem(ps.rte[PR_AB], ps.batch,
						     esize, batch, NULL);
		if (!got) {
			pinshm_cpu_relax();
			continue;
		}
		if (i == 0)
			t_first = bench_now();
		for (j = 0; j < got; j++, i++)
			check_seq(s, ps.batch + (size_t)j * esize, size, i,
				  "rte-spsc-burst32 stream");
	}
	return bench_rate(s, n, t_first, bench_now());
}

/* The many-producer rings: ring's kind of enqueue, one message. */
static inline bool rte_mp_enqueue(int ring, const void *msg)
{
	struct rte_ring *r = ps.rte[ring];

	switch (ring) {
	case PR_RTS:
		return rte_ring_mp_rts_enqueue_bulk_elem(r, msg, ps.l.esize,
							 1, NULL);
	case PR_HTS:
		return rte_ring_mp_hts_enqueue_bulk_elem(r, msg, ps.l.esize,
							 1, NULL);
	default:
		return rte_ring_mp_enqueue_bulk_elem(r, msg, ps.l.esize, 1,
						     NULL);
	}
}

/* Producer k (side A: 0, side C: 1) of nprod, then the consumer (B). */
static double rte_mp_stream(struct bench_side *s, int ring, uint64_t count,
			    unsigned int nprod)
{
	const char *what = bench_systems[s->runs[s->run].sys].name;
	unsigned int k = s->id == 0 ? 0 : 1, spins = 0;
	uint64_t i, n, t_first = 0, next[2] = { 0, 0 }, seq;

	if (s->id != 1) {
		n = share_of(count, nprod, k);
		for (i = 0; i < n; i++) {
			seq = i | (uint64_t)k << PEER_SEQ_BITS;
			memcpy(s->tmpl, &seq, sizeof(seq));
			while (!rte_mp_enqueue(ring, s->tmpl))
				producer_full_wait(s, nprod, &spins);
		}
		return 0;
	}
	for (i = 0; i < count; i++) {
		rte_recv(s, ring, s->buf);
		if (i == 0)
			t_first = bench_now();
		memcpy(&seq, s->buf, sizeof(seq));
		k = (unsigned int)(seq >> PEER_SEQ_BITS);
		if (k >= nprod)
			side_fail(s, "%s stream: producer %u of %u", what, k,
				  nprod);
		seq &= (1ULL << PEER_SEQ_BITS) - 1;
		if (seq != next[k]++)
			side_fail(s, "%s stream: producer %u sent seq %llu, "
				  "want %llu", what, k,
				  (unsigned long long)seq,
				  (unsigned long long)next[k] - 1);
	}
	for (k = 0; k < nprod; k++)
		if (next[k] != share_of(count, nprod, k))
			side_fail(s, "%s stream: %llu messages from producer "
				  "%u, want %llu", what,
				  (unsigned long long)next[k], k,
				  (unsigned long long)share_of(count, nprod, k));
	return bench_rate(s, count, t_first, bench_now());
}

double bench_rte_stream(struct bench_side *s, int sys, uint64_t n)
{
	const struct bench_system *y = &bench_systems[sys];

	switch (sys) {
	case SYS_RTE_MP:
	case SYS_RTE_MP2:
		return rte_mp_stream(s, PR_MP, n, y->producers);
	case SYS_RTE_RTS:
	case SYS_RTE_RTS2:
		return rte_mp_stream(s, PR_RTS, n, y->producers);
	case SYS_RTE_HTS:
	case SYS_RTE_HTS2:
		return rte_mp_stream(s, PR_HTS, n, y->producers);
	default:
		return rte_spsc_stream(s, sys, n, y->batch);
	}
}
#else
void bench_rte_pingpong(struct bench_side *s, int sys, uint64_t warm,
			uint64_t n)
{
	(void)warm;
	(void)n;
	side_fail(s, "%s: not built in", bench_systems[sys].name);
}

double bench_rte_stream(struct bench_side *s, int sys, uint64_t n)
{
	(void)n;
	side_fail(s, "%s: not built in", bench_systems[sys].name);
}
#endif
