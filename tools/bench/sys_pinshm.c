// SPDX-License-Identifier: MIT
/*
 * pinshm bench: the systems that live in the region under test, the
 * pinshm rings (SPSC, MPSC, broadcast) and the raw baselines beside them
 * (raw.c), as run by one side.
 *
 * (K1)/(K2): pinshm-bcast-keepup. Reader k store-releases the count of
 * records it has taken (bshared.bc_pos[k], reader k only) when done with
 * them; the writer load-acquires every reader's count and stays within half
 * the ring of the smallest.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* ---------------------------------------------------------------- */
/* A side's region: rings and scratch area                           */
/* ---------------------------------------------------------------- */

uint64_t bench_scratch_bytes(const struct bench_opts *o,
			     const struct bench_raw_shape *shape,
			     uint64_t *peers_off)
{
	uint64_t rbytes = (bench_raw_ring_bytes(shape) + BENCH_BLOCK - 1) &
			  ~(uint64_t)(BENCH_BLOCK - 1);

	*peers_off = (sizeof(struct bscratch) + 3 * rbytes + 4095) & ~4095ULL;
	return *peers_off + bench_peers_bytes(o);
}

void bench_side_attach(struct bench_side *s)
{
	const struct bench_opts *o = s->o;
	const char *tx = s->id ? "ba" : "ab", *rx = s->id ? "ab" : "ba";
	uint64_t rbytes, peers_off;
	void *scr;
	int ret;

	/* Broadcast readers register with the lossless ring: they write
	 * their gates, so every side maps the region read-write. */
	ret = pinshm_region_open(s->region, PINSHM_RDWR, o->backend, &s->r);
	if (ret)
		side_fail(s, "open region %s: %s", s->region,
			  strerror(-ret));
	memset(s->tmpl, 0xa5, sizeof(s->tmpl));
	if (bench_group_mpsc(o->group)) {
		if (s->id == 1)
			ret = pinshm_mpsc_attach(s->r, "mp", PINSHM_CONSUMER, &s->mc);
		else
			ret = pinshm_mpsc_attach(s->r, "mp",
						 PINSHM_PRODUCER_ID(s->id ? 1 : 0),
						 &s->mp);
		if (ret)
			side_fail(s, "pinshm_mpsc_attach: %s", strerror(-ret));
		if (s->id == 1)
			ret = pinshm_fanin_attach(s->r, "fi", PINSHM_CONSUMER, &s->fc);
		else
			ret = pinshm_fanin_attach(s->r, "fi",
						  PINSHM_PRODUCER_ID(s->id ? 1 : 0),
						  &s->fp);
		if (ret)
			side_fail(s, "pinshm_fanin_attach: %s", strerror(-ret));
	} else if (o->group == GRP_BCAST) {
		if (s->id == 0)
			ret = pinshm_bcast_attach(s->r, "bc", PINSHM_WRITER, &s->bw) ?:
			      pinshm_bcast_attach(s->r, "bcl", PINSHM_WRITER, &s->blw);
		else
			ret = pinshm_bcast_attach(s->r, "bc",
						  PINSHM_READER,
						  &s->br) ?:
			      pinshm_bcast_attach(s->r, "bcl", PINSHM_READER |
						  PINSHM_BCAST_GATING, &s->blr);
		if (ret)
			side_fail(s, "pinshm_bcast_attach: %s",
				  strerror(-ret));
	}
	rbytes = bench_scratch_bytes(o, &s->shape, &peers_off);
	ret = bench_region_scratch(s->r, rbytes, &scr);
	if (ret)
		side_fail(s, "scratch area: %s", strerror(-ret));
	/* The extra producer (mpsc) needs the peers' rings too. */
	if (o->group != GRP_BCAST)
		bench_peers_attach(s, (uint8_t *)scr + peers_off);
	if (s->id >= 2)
		return;	/* extra producer or readers: that ring only */
	ret = pinshm_spsc_attach(s->r, tx, PINSHM_PRODUCER, &s->tx);
	if (!ret)
		ret = pinshm_spsc_attach(s->r, rx, PINSHM_CONSUMER, &s->rx);
	if (ret)
		side_fail(s, "pinshm_spsc_attach: %s", strerror(-ret));
	rbytes = (bench_raw_ring_bytes(&s->shape) + BENCH_BLOCK - 1) &
		 ~(uint64_t)(BENCH_BLOCK - 1);
	s->scr = scr;
	s->raw = (struct bench_raw_ring *)((uint8_t *)scr +
					   sizeof(struct bscratch));
	s->evr = (struct bench_raw_ring *)((uint8_t *)s->raw + rbytes);
	s->rback = (struct bench_raw_ring *)((uint8_t *)s->evr + rbytes);
}

void bench_side_detach(struct bench_side *s)
{
	const struct bench_opts *o = s->o;

	if (bench_group_mpsc(o->group) && s->id == 1) {
		pinshm_mpsc_detach(&s->mc);
		pinshm_fanin_detach(&s->fc);
	} else if (bench_group_mpsc(o->group)) {
		pinshm_mpsc_detach(&s->mp);
		pinshm_fanin_detach(&s->fp);
	} else if (o->group == GRP_BCAST && s->id == 0) {
		pinshm_bcast_detach(&s->bw);
		pinshm_bcast_detach(&s->blw);
	} else if (o->group == GRP_BCAST) {
		pinshm_bcast_detach(&s->br);
		pinshm_bcast_detach(&s->blr);
	}
	if (o->group != GRP_BCAST)
		bench_peers_detach(s);
	if (s->id < 2) {
		pinshm_spsc_detach(&s->tx);
		pinshm_spsc_detach(&s->rx);
	}
	pinshm_region_close(s->r);
}

/* ---------------------------------------------------------------- */
/* The raw baselines                                                 */
/* ---------------------------------------------------------------- */

void bench_raw_pingpong(struct bench_side *s, int sys, uint64_t warm,
			uint64_t n)
{
	(void)sys;
	if (s->id == 0)
		bench_pp_initiator(&s->scr->pp, warm, n, &s->sh->cur);
	else
		bench_pp_responder(&s->scr->pp, warm, n);
}

void bench_raw_ring_pingpong(struct bench_side *s, int sys, uint64_t warm,
			     uint64_t n)
{
	bool a = s->id == 0;

	(void)sys;
	/* A writes raw, B writes rback. */
	if (bench_raw_ring_pp(a ? s->raw : s->rback, a ? s->rback : s->raw,
			      &s->shape, s->tmpl, warm, n,
			      a ? &s->sh->cur : NULL))
		side_fail(s, "raw-ring pingpong: out of sequence");
}

double bench_raw_stream(struct bench_side *s, int sys, uint64_t n)
{
	unsigned int batch = bench_systems[sys].batch;
	double mps;

	if (s->id == 0) {
		bench_raw_produce(s->raw, &s->shape, s->tmpl, 0, n, batch,
				  false);
		return 0;
	}
	mps = bench_raw_consume(s->raw, &s->shape, n, batch, &s->clk);
	if (mps < 0)
		side_fail(s, "raw stream: sequence out of order");
	return mps;
}

/*
 * Paced one-way over one raw line: the floor of a message's one-way trip.
 * B's memory of the last word it saw lasts across runs (ow_last).
 */
void bench_raw_oneway(struct bench_side *s, int sys, uint64_t warm,
		      uint64_t n)
{
	(void)sys;
	if (s->id == 0) {
		bench_oneway_raw_send(&s->scr->pp, warm, n, s->interval);
		return;
	}
	s->sh->ow_ahead[s->run] +=
		bench_oneway_raw_recv(&s->scr->pp, warm, n, &s->sh->cur,
				      &s->sh->ow_missed[s->run], &s->ow_last);
}

/* ---------------------------------------------------------------- */
/* The SPSC ring                                                     */
/* ---------------------------------------------------------------- */

static void *spsc_claim_spin(struct bench_side *s, uint32_t len)
{
	void *dst;
	int ret;

	while ((ret = pinshm_spsc_claim(&s->tx, len, &dst)) == -EAGAIN)
		pinshm_cpu_relax();
	if (ret)
		side_fail(s, "pinshm_spsc_claim: %s", strerror(-ret));
	return dst;
}

/*
 * pinshm-spsc-sleep: nothing there, so sleep in pinshm_spsc_wait() at once,
 * as a blocking read of kernel IPC does: no spin first.
 */
static void spsc_sleep(struct bench_side *s)
{
	int ret = pinshm_spsc_wait(&s->rx, -1);

	if (ret && ret != -EINTR)
		side_fail(s, "pinshm_spsc_wait: %s%s", strerror(-ret),
			  ret == -EOPNOTSUPP || ret == -ENOSYS ?
			  " (the consumer cannot sleep on this kernel)" : "");
}

static void spsc_peek_spin(struct bench_side *s, struct pinshm_msg *m)
{
	int ret;

	while ((ret = pinshm_spsc_peek(&s->rx, m)) == -EAGAIN) {
		if (s->sleep)
			spsc_sleep(s);
		else
			pinshm_cpu_relax();
	}
	if (ret)
		side_fail(s, "pinshm_spsc_peek: %s", strerror(-ret));
}

static void spsc_pp_initiator(struct bench_side *s, uint64_t warm, uint64_t n)
{
	uint32_t size = s->o->size;
	struct pinshm_msg m;
	uint64_t i, t0, t1;
	void *dst;

	for (i = 0; i < warm + n; i++) {
		t0 = bench_now();
		dst = spsc_claim_spin(s, size);
		put_msg(s, dst, i);
		pinshm_spsc_commit(&s->tx, size, 0);
		spsc_peek_spin(s, &m);
		check_seq(s, m.data, m.len, i, "pinshm-spsc reply");
		pinshm_spsc_release(&s->rx);
		t1 = bench_now();
		if (i >= warm)
			bench_hist_add(&s->sh->cur, t1 - t0);
	}
}

static void spsc_pp_responder(struct bench_side *s, uint64_t warm, uint64_t n)
{
	struct pinshm_msg m;
	uint64_t i;
	void *dst;

	for (i = 0; i < warm + n; i++) {
		spsc_peek_spin(s, &m);
		check_seq(s, m.data, m.len, i, "pinshm-spsc request");
		dst = spsc_claim_spin(s, m.len);
		memcpy(dst, m.data, m.len);
		pinshm_spsc_commit(&s->tx, m.len, 0);
		pinshm_spsc_release(&s->rx);
	}
}

static void spsc_stream_produce(struct bench_side *s, uint64_t count,
				unsigned int batch)
{
	uint32_t size = s->o->size;
	uint64_t i = 0;
	unsigned int k;
	void *dst;
	int ret;

	if (batch <= 1) {
		for (i = 0; i < count; i++) {
			dst = spsc_claim_spin(s, size);
			put_msg(s, dst, i);
			pinshm_spsc_commit(&s->tx, size, 0);
		}
		return;
	}
	while (i < count) {
		for (k = 0; k < batch && i < count; k++, i++) {
			ret = pinshm_spsc_claim(&s->tx, size, &dst);
			if (ret == -EAGAIN)
				break;
			if (ret)
				side_fail(s, "pinshm_spsc_claim: %s",
					  strerror(-ret));
			put_msg(s, dst, i);
			pinshm_spsc_stage(&s->tx, size, 0);
		}
		if (k)
			pinshm_spsc_publish(&s->tx);
		else
			pinshm_cpu_relax();
	}
}

static double spsc_stream_consume(struct bench_side *s, uint64_t count,
				  unsigned int batch, int idle)
{
	struct pinshm_msg m[BENCH_BATCH];
	uint64_t i = 0, t_first = 0;
	unsigned int spins = 0;
	int n, j;

	if (batch > BENCH_BATCH)
		batch = BENCH_BATCH;
	while (i < count) {
		n = pinshm_spsc_peek_batch(&s->rx, m, batch);
		if (n == 0) {
			if (s->sleep)
				spsc_sleep(s);
			else if (idle)
				__pinshm_wait_step(idle, &spins);
			else
				pinshm_cpu_relax();
			continue;
		}
		if (n < 0)
			side_fail(s, "pinshm_spsc_peek_batch: %s",
				  strerror(-n));
		if (i == 0)
			t_first = bench_now();
		for (j = 0; j < n; j++, i++)
			check_seq(s, m[j].data, m[j].len, i,
				  "pinshm-spsc stream");
		pinshm_spsc_release(&s->rx);
	}
	return bench_rate(s, count, t_first, bench_now());
}

void bench_spsc_pingpong(struct bench_side *s, int sys, uint64_t warm,
			 uint64_t n)
{
	s->sleep = bench_systems[sys].sleep;
	if (s->id == 0)
		spsc_pp_initiator(s, warm, n);
	else
		spsc_pp_responder(s, warm, n);
	s->sleep = false;
}

double bench_spsc_stream(struct bench_side *s, int sys, uint64_t n)
{
	unsigned int batch = bench_systems[sys].batch;
	double mps;

	if (s->id == 0) {
		spsc_stream_produce(s, n, batch);
		return 0;
	}
	s->sleep = bench_systems[sys].sleep;
	mps = spsc_stream_consume(s, n, batch, bench_systems[sys].idle);
	s->sleep = false;
	return mps;
}

/*
 * Paced one-way: one message every s->interval ticks, its payload starting
 * with the sequence number and the sender's TSC; B records now - stamp.
 */
static void spsc_oneway_send(struct bench_side *s, uint64_t warm, uint64_t n)
{
	uint64_t interval = s->interval, i, next = bench_now() + interval, t;
	uint32_t size = s->o->size;
	void *dst;

	for (i = 0; i < warm + n; i++) {
		bench_wait_until(next);
		next += interval;
		t = bench_now();
		put_seq(s, i);
		memcpy(s->tmpl + sizeof(i), &t, sizeof(t));
		dst = spsc_claim_spin(s, size);
		memcpy(dst, s->tmpl, size);
		pinshm_spsc_commit(&s->tx, size, 0);
		if (bench_now() > next + 100 * interval)
			next = bench_now() + interval;	/* we were preempted */
	}
}

/* Returns how many stamps were ahead of our TSC (skew): they count as 0. */
static uint64_t spsc_oneway_recv(struct bench_side *s, uint64_t warm,
				 uint64_t n)
{
	uint64_t i, t, stamp, ahead = 0;
	struct pinshm_msg m;

	for (i = 0; i < warm + n; i++) {
		spsc_peek_spin(s, &m);
		t = bench_now();
		check_seq(s, m.data, m.len, i, "pinshm-spsc one-way");
		memcpy(&stamp, (const uint8_t *)m.data + sizeof(i),
		       sizeof(stamp));
		pinshm_spsc_release(&s->rx);
		if (i < warm)
			continue;
		if (t < stamp) {
			ahead++;
			t = stamp;
		}
		bench_hist_add(&s->sh->cur, t - stamp);
	}
	return ahead;
}

void bench_spsc_oneway(struct bench_side *s, int sys, uint64_t warm,
		       uint64_t n)
{
	(void)sys;
	if (s->id == 0)
		spsc_oneway_send(s, warm, n);
	else
		s->sh->ow_ahead[s->run] += spsc_oneway_recv(s, warm, n);
}

/* ---------------------------------------------------------------- */
/* The MPSC and broadcast rings (patterns mpsc and bcast)            */
/* ---------------------------------------------------------------- */

/* Claim on the MPSC ring as producer of nprod, waiting while it is full. */
static void *mpsc_claim_spin(struct bench_side *s, uint32_t len,
			     unsigned int nprod)
{
	unsigned int spins = 0;
	void *dst;
	int ret;

	while ((ret = pinshm_mpsc_claim(&s->mp, len, &dst)) == -EAGAIN)
		producer_full_wait(s, nprod, &spins);
	if (ret)
		side_fail(s, "pinshm_mpsc_claim: %s", strerror(-ret));
	return dst;
}

static void mpsc_peek_spin(struct bench_side *s, struct pinshm_msg *m)
{
	int ret;

	while ((ret = pinshm_mpsc_peek(&s->mc, m)) == -EAGAIN)
		pinshm_cpu_relax();
	if (ret)
		side_fail(s, "pinshm_mpsc_peek: %s", strerror(-ret));
}

/* Request through the MPSC ring, reply through the SPSC ring "ba". */
void bench_mpsc_pingpong(struct bench_side *s, int sys, uint64_t warm,
			 uint64_t n)
{
	uint32_t size = s->o->size;
	struct pinshm_msg m;
	uint64_t i, t0, t1;
	void *dst;

	(void)sys;
	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			dst = mpsc_claim_spin(s, size, 1);
			put_msg(s, dst, i);
			pinshm_mpsc_commit(&s->mp, size, 0);
			spsc_peek_spin(s, &m);
			check_seq(s, m.data, m.len, i, "pinshm-mpsc reply");
			pinshm_spsc_release(&s->rx);
			t1 = bench_now();
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
		} else {
			mpsc_peek_spin(s, &m);
			check_seq(s, m.data, m.len, i, "pinshm-mpsc request");
			dst = spsc_claim_spin(s, m.len);
			memcpy(dst, m.data, m.len);
			pinshm_spsc_commit(&s->tx, m.len, 0);
			pinshm_mpsc_release(&s->mc);
		}
	}
}

/* Producer k (type k) of nprod: its share of count, numbered from 0. */
static uint64_t mpsc_share(uint64_t count, unsigned int nprod, unsigned int k)
{
	return count / nprod + (k < count % nprod);
}

static void mpsc_stream_produce(struct bench_side *s, uint64_t count,
				unsigned int nprod, unsigned int batch)
{
	unsigned int k = s->id == 0 ? 0 : 1, j, spins = 0;
	uint64_t i, n = mpsc_share(count, nprod, k);
	uint32_t size = s->o->size, lens[BENCH_BATCH], types[BENCH_BATCH];
	void *dst, *outs[BENCH_BATCH];
	int ret;

	if (batch <= 1) {
		for (i = 0; i < n; i++) {
			dst = mpsc_claim_spin(s, size, nprod);
			put_msg(s, dst, i);
			pinshm_mpsc_commit(&s->mp, size, k);
		}
		return;
	}
	/* Batched: one claim (one CAS) and one commit per batch records. */
	for (j = 0; j < batch; j++) {
		lens[j] = size;
		types[j] = k;
	}
	for (i = 0; i < n; i += j) {
		unsigned int m = n - i < batch ? (unsigned int)(n - i) : batch;

		while ((ret = pinshm_mpsc_claim_batch(&s->mp, m, lens,
						      outs)) == -EAGAIN)
			producer_full_wait(s, nprod, &spins);
		if (ret)
			side_fail(s, "pinshm_mpsc_claim_batch: %s",
				  strerror(-ret));
		for (j = 0; j < m; j++)
			put_msg(s, outs[j], i + j);
		pinshm_mpsc_commit_batch(&s->mp, lens, types);
	}
}

/*
 * Each producer's records in its own order; count of them in all. The
 * consumer peeks batch records at a time, as the SPSC stream's consumer
 * it is compared with does (1 on the unbatched rows): how often a consumer
 * releases decides which regime a stream runs in (docs/performance.md).
 */
static double mpsc_stream_consume(struct bench_side *s, uint64_t count,
				  unsigned int nprod, unsigned int batch)
{
	struct pinshm_msg m[BENCH_BATCH];
	uint64_t i = 0, t_first = 0, next[2] = { 0, 0 };
	int n, j;

	if (batch > BENCH_BATCH)
		batch = BENCH_BATCH;
	while (i < count) {
		n = pinshm_mpsc_peek_batch(&s->mc, m, batch);
		if (n == 0) {
			pinshm_cpu_relax();
			continue;
		}
		if (n < 0)
			side_fail(s, "pinshm_mpsc_peek_batch: %s",
				  strerror(-n));
		if (i == 0)
			t_first = bench_now();
		for (j = 0; j < n; j++, i++) {
			if (m[j].type >= nprod)
				side_fail(s, "pinshm-mpsc stream: type %u from "
					  "%u producers", m[j].type, nprod);
			check_seq(s, m[j].data, m[j].len, next[m[j].type]++,
				  "pinshm-mpsc stream");
		}
		pinshm_mpsc_release(&s->mc);
	}
	return bench_rate(s, count, t_first, bench_now());
}

double bench_mpsc_stream(struct bench_side *s, int sys, uint64_t n)
{
	const struct bench_system *y = &bench_systems[sys];

	if (s->id == 1)
		return mpsc_stream_consume(s, n, y->producers, y->batch);
	mpsc_stream_produce(s, n, y->producers, y->batch);
	return 0;
}

/*
 * The fan-in ring: producer k (side A: lane 0, side C: lane 1) writes its
 * share as the SPSC stream's producer does (claim and commit, or claim and
 * stage batch records, then publish them at once); the consumer peeks
 * batch records at a time across the lanes and releases them, as the SPSC
 * stream's consumer does, and checks each producer's order.
 */
static void fanin_stream_produce(struct bench_side *s, uint64_t count,
				 unsigned int nprod, unsigned int batch)
{
	unsigned int k = s->id == 0 ? 0 : 1, j, spins = 0;
	uint64_t i = 0, n = mpsc_share(count, nprod, k);
	uint32_t size = s->o->size;
	void *dst;
	int ret;

	while (i < n) {
		for (j = 0; j < batch && i < n; j++, i++) {
			ret = pinshm_fanin_claim(&s->fp, size, &dst);
			if (ret == -EAGAIN)
				break;
			if (ret)
				side_fail(s, "pinshm_fanin_claim: %s",
					  strerror(-ret));
			put_msg(s, dst, i);
			if (batch <= 1)
				pinshm_fanin_commit(&s->fp, size, k);
			else
				pinshm_fanin_stage(&s->fp, size, k);
		}
		if (j && batch > 1)
			pinshm_fanin_publish(&s->fp);
		if (!j)
			producer_full_wait(s, nprod, &spins);
	}
}

static double fanin_stream_consume(struct bench_side *s, uint64_t count,
				   unsigned int nprod, unsigned int batch)
{
	struct pinshm_msg m[BENCH_BATCH];
	uint64_t i = 0, t_first = 0, next[2] = { 0, 0 };
	int n, j;

	if (batch > BENCH_BATCH)
		batch = BENCH_BATCH;
	while (i < count) {
		n = pinshm_fanin_peek_batch(&s->fc, m, batch);
		if (n == 0) {
			pinshm_cpu_relax();
			continue;
		}
		if (n < 0)
			side_fail(s, "pinshm_fanin_peek_batch: %s",
				  strerror(-n));
		if (i == 0)
			t_first = bench_now();
		for (j = 0; j < n; j++, i++) {
			if (m[j].type >= nprod)
				side_fail(s, "pinshm-fanin stream: type %u from "
					  "%u producers", m[j].type, nprod);
			check_seq(s, m[j].data, m[j].len, next[m[j].type]++,
				  "pinshm-fanin stream");
		}
		pinshm_fanin_release(&s->fc);
	}
	return bench_rate(s, count, t_first, bench_now());
}

double bench_fanin_stream(struct bench_side *s, int sys, uint64_t n)
{
	const struct bench_system *y = &bench_systems[sys];

	if (s->id == 1)
		return fanin_stream_consume(s, n, y->producers, y->batch);
	fanin_stream_produce(s, n, y->producers, y->batch);
	return 0;
}

/* Request published on the broadcast ring, reply through "ba" (SPSC). */
void bench_bcast_pingpong(struct bench_side *s, int sys, uint64_t warm,
			  uint64_t n)
{
	uint32_t size = s->o->size;
	struct pinshm_bcast_msg bm;
	struct pinshm_msg m;
	uint64_t i, t0, t1;
	void *dst;
	int ret;

	(void)sys;
	for (i = 0; i < warm + n; i++) {
		if (s->id == 0) {
			t0 = bench_now();
			ret = pinshm_bcast_claim(&s->bw, size, &dst);
			if (ret)
				side_fail(s, "pinshm_bcast_claim: %s",
					  strerror(-ret));
			put_msg(s, dst, i);
			pinshm_bcast_commit(&s->bw, size, 0);
			spsc_peek_spin(s, &m);
			check_seq(s, m.data, m.len, i, "pinshm-bcast reply");
			pinshm_spsc_release(&s->rx);
			t1 = bench_now();
			if (i >= warm)
				bench_hist_add(&s->sh->cur, t1 - t0);
			continue;
		}
		while ((ret = pinshm_bcast_peek(&s->br, &bm)) == -EAGAIN)
			pinshm_cpu_relax();
		if (ret)
			side_fail(s, "pinshm_bcast_peek: %s", strerror(-ret));
		dst = spsc_claim_spin(s, bm.len <= size ? bm.len : size);
		memcpy(dst, bm.data, bm.len <= size ? bm.len : size);
		/* The writer waits for our reply: nothing can lap us. */
		if (pinshm_bcast_release(&s->br))
			side_fail(s, "pinshm-bcast request: overwritten");
		check_seq(s, dst, bm.len, i, "pinshm-bcast request");
		pinshm_spsc_commit(&s->tx, bm.len, 0);
	}
}

/*
 * pinshm-bcast-keepup: the fewest records any reader has taken this run.
 * (K2) load-acquire each reader's count, pairs with (K1): the reader is
 * done with the records it counts.
 */
static uint64_t bcast_slowest(const struct bench_side *s)
{
	uint64_t min = UINT64_MAX, v;
	unsigned int k;

	for (k = 0; k < s->o->readers; k++) {
		v = pinshm_load_acquire(&s->sh->bc_pos[k].taken);
		if (v < min)
			min = v;
	}
	return min;
}

/*
 * pinshm-bcast: the writer never waits, and a slow reader is lapped and
 * loses records. pinshm-bcast-keepup (keep): the bench holds the writer
 * back instead, so readers keep up: what they lose then is a bug.
 */
static double bcast_stream_write(struct bench_side *s, uint64_t count,
				 bool keep, struct pinshm_bcast *w)
{
	uint32_t size = s->o->size;
	uint64_t i, t0 = bench_now(), slowest = 0;
	unsigned int spins = 0;
	void *dst;
	int ret;

	/* Read by readers after a record: published with it (W3)/(R1). */
	s->sh->bc_t0 = t0;
	for (i = 0; i < count; i++) {
		/* keepup: never more than half the ring ahead of the slowest
		 * reader, which then loses nothing (the library's writer
		 * never waits; this one is held back by the bench). */
		while (keep && i - slowest >= BENCH_BCAST_SLOTS / 2) {
			slowest = bcast_slowest(s);
			if (i - slowest >= BENCH_BCAST_SLOTS / 2)
				spin_then_yield(&spins);
		}
		/* lossless: -EAGAIN while a registered reader has not read
		 * the record in the slot (the library holds the writer). */
		while ((ret = pinshm_bcast_claim(w, size, &dst)) == -EAGAIN)
			spin_then_yield(&spins);
		if (ret)
			side_fail(s, "pinshm_bcast_claim: %s", strerror(-ret));
		put_msg(s, dst, i);
		pinshm_bcast_commit(w, size, 0);
	}
	return bench_rate(s, count + 1, t0, bench_now());
}

/*
 * Reader k: take records until the last one (count - 1, never
 * overwritten: the writer stops there), checking that each intact one
 * holds what the writer put in that record number. Stores what it got,
 * what it lost to lapping and its rate: records delivered per second from
 * the writer's start to the last one (the TSC is the same on every CPU:
 * constant_tsc), so a reader that gets only the end of the stream is not
 * credited with its drain rate.
 */
static void bcast_stream_read(struct bench_side *s, uint64_t count,
			      unsigned int run, unsigned int rep, bool keep,
			      bool yield, int idle, struct pinshm_bcast *br)
{
	struct pinshm_bcast_stats st0, st1;
	unsigned int k = (unsigned int)s->id - 1, spins = 0;
	uint64_t seq, base = 0, got = 0, t_last = 0;
	struct pinshm_bcast_msg bm;
	uint32_t len;
	int ret;

	pinshm_bcast_stats(br, &st0);
	for (;;) {
		ret = pinshm_bcast_peek(br, &bm);
		if (ret == -EAGAIN) {
			if (idle)	/* its pauses, then as the others */
				__pinshm_wait_step(idle, &spins);
			if (yield && br == &s->blr &&
			    ++spins >= BENCH_BCAST_LL_SPINS) {
				/* Caught up: the writer waits for the
				 * other reader, maybe on our core. */
				spins = 0;
				sched_yield();
			} else if (yield)
				spin_then_yield(&spins);
			else
				pinshm_cpu_relax();
			continue;
		}
		if (ret == -ESTALE)
			continue;
		if (ret)
			side_fail(s, "pinshm_bcast_peek: %s", strerror(-ret));
		memcpy(&seq, bm.data, sizeof(seq));
		len = bm.len;
		if (pinshm_bcast_release(br))
			continue;	/* overwritten while we read it */
		if (got++ == 0)
			base = bm.seq - seq;
		if (bm.seq - seq != base || len != s->o->size || seq >= count)
			side_fail(s, "pinshm-bcast stream: record %llu holds "
				  "seq %llu len %u", (unsigned long long)bm.seq,
				  (unsigned long long)seq, len);
		if (keep)	/* (K1) pairs with (K2): done with seq */
			pinshm_store_release(&s->sh->bc_pos[k].taken,
					     seq + 1);
		if (seq == count - 1) {
			/* Once, not per record: a timestamp costs as much
			 * as a record does. */
			t_last = bench_now();
			break;
		}
	}
	pinshm_bcast_stats(br, &st1);
	s->sh->bc_mps[run][k][rep] = bench_rate(s, got + 1, s->sh->bc_t0,
					     t_last);
	s->sh->bc_msgs[run][k][rep] = got;
	s->sh->bc_lost[run][k][rep] = count - got;
	s->sh->bc_lapped[run][k][rep] = st1.lapped - st0.lapped;
}

/*
 * pinshm-bcast-lossless-poll32: a registered reader peeks up to `poll`
 * records, checks them and releases them at once (one gate store per
 * poll), as an Aeron subscriber polls up to its fragment limit. Nothing
 * may be lost: a release that fails is a failure.
 */
static void bcast_stream_poll(struct bench_side *s, uint64_t count,
			      unsigned int run, unsigned int rep,
			      unsigned int poll, struct pinshm_bcast *br)
{
	struct pinshm_bcast_msg bm[BENCH_BATCH];
	unsigned int k = (unsigned int)s->id - 1, spins = 0, i;
	uint64_t seq[BENCH_BATCH], base = 0, got = 0, t_last = 0;
	int n;

	if (poll > BENCH_BATCH)
		poll = BENCH_BATCH;
	for (;;) {
		n = pinshm_bcast_peek_batch(br, bm, poll);
		if (n == 0) {
			if (++spins >= BENCH_BCAST_LL_SPINS) {
				spins = 0;	/* see bcast_stream_read() */
				sched_yield();
			} else {
				pinshm_cpu_relax();
			}
			continue;
		}
		if (n < 0)
			side_fail(s, "pinshm_bcast_peek_batch: %s",
				  strerror(-n));
		for (i = 0; i < (unsigned int)n; i++)
			memcpy(&seq[i], bm[i].data, sizeof(seq[i]));
		if (pinshm_bcast_release(br))
			side_fail(s, "pinshm-bcast-lossless: a registered "
				  "reader's record was overwritten");
		if (got == 0)
			base = bm[0].seq - seq[0];
		for (i = 0; i < (unsigned int)n; i++)
			if (bm[i].seq - seq[i] != base ||
			    bm[i].len != s->o->size || seq[i] >= count)
				side_fail(s, "pinshm-bcast stream: record %llu "
					  "holds seq %llu len %u",
					  (unsigned long long)bm[i].seq,
					  (unsigned long long)seq[i], bm[i].len);
		got += (uint64_t)n;
		if (seq[n - 1] == count - 1) {
			t_last = bench_now();	/* once, as above */
			break;
		}
	}
	s->sh->bc_mps[run][k][rep] = bench_rate(s, got + 1, s->sh->bc_t0,
					     t_last);
	s->sh->bc_msgs[run][k][rep] = got;
	s->sh->bc_lost[run][k][rep] = count - got;
	s->sh->bc_lapped[run][k][rep] = 0;
}

/*
 * The writer's rate (side A), or 0: the readers store theirs, per reader,
 * for the run and rep being measured.
 */
double bench_bcast_stream(struct bench_side *s, int sys, uint64_t n)
{
	bool keep = bench_systems[sys].keepup;
	bool ll = bench_systems[sys].lossless;

	if (s->id == 0)
		return bcast_stream_write(s, n, keep, ll ? &s->blw : &s->bw);
	if (bench_systems[sys].poll > 1) {
		bcast_stream_poll(s, n, s->run, s->rep, bench_systems[sys].poll,
				  &s->blr);
		return 0;
	}
	/* Lossless readers share cores as keepup's do: spin, then yield. */
	bcast_stream_read(s, n, s->run, s->rep, keep, keep || ll,
			  bench_systems[sys].idle, ll ? &s->blr : &s->br);
	return 0;
}
