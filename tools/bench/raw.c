// SPDX-License-Identifier: MIT
/*
 * The physical baselines (raw.h, which holds their protocols): raw lines,
 * the inline raw ring, and the scratch area of a region they live in.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include <pinshm/barrier.h>

#include "raw.h"

/* ------------------------------------------------------------------ */
/* Scratch memory in a region                                          */
/* ------------------------------------------------------------------ */

/*
 * The last bytes of a region's data area, for baselines that must live in
 * the same memory as the rings (raw lines, an inline ring). Checks that no
 * object of the directory reaches into them: create every object first.
 * Returns 0 or -ENOSPC / -EBADMSG.
 */
int bench_region_scratch(const struct pinshm_region *r, uint64_t bytes,
			 void **out)
{
	struct pinshm_obj_info obj[PINSHM_DIR_MAX];
	uint64_t size = pinshm_region_size(r), end = 0, start;
	int i, n;

	bytes = (bytes + 4095) & ~4095ULL;
	n = pinshm_obj_list(r, obj, PINSHM_DIR_MAX);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < PINSHM_DIR_MAX; i++)
		if (obj[i].offset + obj[i].size > end)
			end = obj[i].offset + obj[i].size;
	if (bytes > size)
		return -ENOSPC;
	start = size - bytes;
	if (end > start)
		return -ENOSPC;
	*out = (uint8_t *)pinshm_region_data(r) + start;
	return 0;
}

void bench_pp_initiator(struct bench_pp *pp, uint64_t warm, uint64_t n,
			struct bench_hist *h)
{
	uint64_t seq = PINSHM_READ_ONCE(pp->ping.seq);	/* we are its writer */
	uint64_t i, t0, t1;

	for (i = 0; i < warm + n; i++) {
		seq++;
		t0 = bench_now();
		/* (P1) pairs with (P2). */
		pinshm_store_release(&pp->ping.seq, seq);
		/* (P4) pairs with (P3). */
		while (pinshm_load_acquire(&pp->pong.seq) != seq)
			pinshm_cpu_relax();
		t1 = bench_now();
		if (i >= warm)
			bench_hist_add(h, t1 - t0);
	}
}

void bench_pp_responder(struct bench_pp *pp, uint64_t warm, uint64_t n)
{
	uint64_t seq = PINSHM_READ_ONCE(pp->pong.seq);	/* we are its writer */
	uint64_t i;

	for (i = 0; i < warm + n; i++) {
		seq++;
		/* (P2) pairs with (P1). */
		while (pinshm_load_acquire(&pp->ping.seq) != seq)
			pinshm_cpu_relax();
		/* (P3) pairs with (P4). */
		pinshm_store_release(&pp->pong.seq, seq);
	}
}

/*
 * TSC offset between the responder's core and ours: the responder stamps
 * its TSC into the pong line; from the fastest of n round trips,
 * offset = t_responder - (t0 + t1) / 2, good to +- half that round trip.
 * Sets *offset and *uncertainty in ticks.
 */
void bench_skew_initiator(struct bench_pp *pp, uint64_t n, int64_t *offset,
			  uint64_t *uncertainty)
{
	uint64_t seq = PINSHM_READ_ONCE(pp->ping.seq);	/* we are its writer */
	uint64_t i, t0, t1, tr, best = UINT64_MAX;

	*offset = 0;
	*uncertainty = 0;
	for (i = 0; i < n; i++) {
		seq++;
		t0 = bench_now();
		/* (P1) pairs with (P2). */
		pinshm_store_release(&pp->ping.seq, seq);
		/* (P4) pairs with (P3): pong.tsc is written before pong.seq. */
		while (pinshm_load_acquire(&pp->pong.seq) != seq)
			pinshm_cpu_relax();
		t1 = bench_now();
		tr = PINSHM_READ_ONCE(pp->pong.tsc);
		if (t1 - t0 < best) {
			best = t1 - t0;
			*offset = (int64_t)(tr - (t0 + (t1 - t0) / 2));
			*uncertainty = best / 2;
		}
	}
}

void bench_skew_responder(struct bench_pp *pp, uint64_t n)
{
	uint64_t seq = PINSHM_READ_ONCE(pp->pong.seq);	/* we are its writer */
	uint64_t i;

	for (i = 0; i < n; i++) {
		seq++;
		/* (P2) pairs with (P1). */
		while (pinshm_load_acquire(&pp->ping.seq) != seq)
			pinshm_cpu_relax();
		/* Ordered before pong.seq by (P3). */
		PINSHM_WRITE_ONCE(pp->pong.tsc, bench_now());
		/* (P3) pairs with (P4). */
		pinshm_store_release(&pp->pong.seq, seq);
	}
}

/*
 * Paced one-way latency over one raw line. The sender publishes one word,
 * ping.tsc = (TSC << 16) | (message number & 0xffff), so stamp and number
 * travel in a single store and can never be torn apart; the receiver spins
 * until the word changes and records now - stamp (modulo 2^48 ticks, a day
 * and more). The line holds only the latest message: messages the receiver
 * missed while it was late (preempted) are counted, not sampled. Both sides
 * pass the same warm and n. ping.seq is left alone (ping-pong continues).
 */
#define BENCH_OW_MASK	((1ULL << 48) - 1)

void bench_oneway_raw_send(struct bench_pp *pp, uint64_t warm, uint64_t n,
			   uint64_t interval)
{
	uint64_t base = PINSHM_READ_ONCE(pp->ping.tsc);	/* we are its writer */
	uint64_t i, next = bench_now() + interval, t;

	for (i = 1; i <= warm + n; i++) {
		bench_wait_until(next);
		next += interval;
		t = bench_now();
		/* (P1') pairs with (P2'): one word, stamp and number. */
		pinshm_store_release(&pp->ping.tsc,
				     (t << 16) | ((base + i) & 0xffff));
		if (bench_now() > next + 100 * interval)
			next = bench_now() + interval;	/* we were preempted */
	}
}

/*
 * *last is the receiver's own memory of the last word it saw (0 before the
 * first run), so a run that starts before we look is still counted right.
 * Returns how many stamps were ahead of our TSC (skew); they count as 0.
 */
uint64_t bench_oneway_raw_recv(struct bench_pp *pp, uint64_t warm, uint64_t n,
			       struct bench_hist *h, uint64_t *missed,
			       uint64_t *last)
{
	uint64_t base = *last & 0xffff, got = 0, w, t, d, k, neg = 0;

	while (got < warm + n) {
		/* (P2') pairs with (P1'). */
		while ((w = pinshm_load_acquire(&pp->ping.tsc)) == *last)
			pinshm_cpu_relax();
		t = bench_now();
		*last = w;
		/* Messages since the last one we saw: 1 unless we were late. */
		k = ((w & 0xffff) - ((base + got) & 0xffff)) & 0xffff;
		*missed += k - 1;
		got += k;
		d = ((t & BENCH_OW_MASK) - (w >> 16)) & BENCH_OW_MASK;
		if (d > BENCH_OW_MASK / 2) {
			neg++;
			d = 0;
		}
		if (got > warm)
			bench_hist_add(h, d);
	}
	return neg;
}


struct bench_raw_shape bench_raw_shape_of(uint32_t size, uint64_t bytes)
{
	struct bench_raw_shape sh;

	sh.size = size;
	sh.slot = 8 + ((size + 7) & ~7u);
	for (sh.nslots = 2; sh.nslots * 2 * sh.slot <= bytes;)
		sh.nslots *= 2;
	return sh;
}

static inline uint64_t *bench_raw_stamp(struct bench_raw_ring *rr,
					const struct bench_raw_shape *sh,
					uint64_t pos)
{
	return (uint64_t *)(rr->slots + (pos & (sh->nslots - 1)) * sh->slot);
}

/*
 * Producer: count messages copied from tmpl (size bytes; its first 8 are
 * overwritten with the sequence number, first, first + 1, ...). yield:
 * sched_yield() while full instead of spinning (for a consumer that
 * sleeps).
 */
void bench_raw_produce(struct bench_raw_ring *rr,
		       const struct bench_raw_shape *sh, void *tmpl,
		       uint64_t first, uint64_t count, unsigned int batch,
		       bool yield)
{
	uint64_t tail = PINSHM_READ_ONCE(rr->tail);	/* we are its writer */
	uint64_t head_cache, i, held_v = 0, *stamp, *held = NULL;
	unsigned int k = 0;

	/* (R4) pairs with (R3). */
	head_cache = pinshm_load_acquire(&rr->head);
	for (i = first; i < first + count; i++) {
		while (tail - head_cache >= sh->nslots) {
			if (held) {
				/* (R1) pairs with (R2): the batch so far. */
				pinshm_store_release(held, held_v);
				held = NULL;
				k = 0;
			}
			/* (R4) pairs with (R3): the consumer is done. */
			head_cache = pinshm_load_acquire(&rr->head);
			if (tail - head_cache >= sh->nslots) {
				if (yield)
					sched_yield();
				else
					pinshm_cpu_relax();
			}
		}
		stamp = bench_raw_stamp(rr, sh, tail);
		/* In place, the number last: see put_msg() in bench.h. */
		memcpy(stamp + 1, tmpl, sh->size);
		memcpy(stamp + 1, &i, sizeof(i));
		if (batch <= 1) {
			/* (R1) pairs with (R2): payload before stamp. */
			pinshm_store_release(stamp, tail + 1);
		} else if (!held) {
			held = stamp;
			held_v = tail + 1;
		} else {
			/* Made visible by the release of the held stamp. */
			PINSHM_WRITE_ONCE(*stamp, tail + 1);
		}
		tail++;
		if (held && ++k >= batch) {
			/* (R1) pairs with (R2): the whole batch. */
			pinshm_store_release(held, held_v);
			held = NULL;
			k = 0;
		}
	}
	if (held)
		/* (R1) pairs with (R2): the whole batch. */
		pinshm_store_release(held, held_v);
	PINSHM_WRITE_ONCE(rr->tail, tail);
}

/*
 * Consumer: take what has been published, up to want messages, checking
 * sequence numbers from *next on. Spins until at least one is there unless
 * nowait. Returns how many were taken, or -EBADMSG on a wrong sequence.
 * *t_first is stamped when the first message of the run (*next == 0)
 * arrives.
 */
int64_t bench_raw_take(struct bench_raw_ring *rr,
		       const struct bench_raw_shape *sh, uint64_t *next,
		       uint64_t want, unsigned int batch, bool nowait,
		       uint64_t *t_first)
{
	uint64_t head = PINSHM_READ_ONCE(rr->head);	/* we are its writer */
	uint64_t released = head, seq, n = 0, *stamp;

	stamp = bench_raw_stamp(rr, sh, head);
	/* (R2) pairs with (R1): the payload is written. */
	while (pinshm_load_acquire(stamp) != head + 1) {
		if (nowait)
			return 0;
		pinshm_cpu_relax();
	}
	if (*next == 0)
		*t_first = bench_now();
	while (n < want) {
		stamp = bench_raw_stamp(rr, sh, head);
		/* (R2) pairs with (R1): the payload is written. */
		if (pinshm_load_acquire(stamp) != head + 1)
			break;
		memcpy(&seq, stamp + 1, sizeof(seq));
		if (seq != *next)
			return -EBADMSG;
		(*next)++;
		head++;
		n++;
		if (head - released >= batch) {
			/* (R3) pairs with (R4): payload read. */
			pinshm_store_release(&rr->head, head);
			released = head;
		}
	}
	if (released != head)
		/* (R3) pairs with (R4): payload read. */
		pinshm_store_release(&rr->head, head);
	return (int64_t)n;
}

/*
 * Consumer of a whole run: count messages; returns messages per second
 * from the first arrival to the last, 0 if unmeasurable, or -EBADMSG.
 */
double bench_raw_consume(struct bench_raw_ring *rr,
			 const struct bench_raw_shape *sh, uint64_t count,
			 unsigned int batch, const struct bench_clock *clk)
{
	uint64_t next = 0, t_first = 0, t_last;
	int64_t n;

	while (next < count) {
		n = bench_raw_take(rr, sh, &next, count - next, batch, false,
				   &t_first);
		if (n < 0)
			return (double)n;
	}
	t_last = bench_now();
	if (count < 2 || t_last <= t_first)
		return 0;
	return (double)(count - 1) /
	       (bench_ticks_to_ns(clk, t_last - t_first) * 1e-9);
}

/* One message of bench_raw_ring_pp(): seq and the rest of tmpl. */
static inline void __bench_raw_ring_send(struct bench_raw_ring *out,
					 const struct bench_raw_shape *sh,
					 void *tmpl, uint64_t seq,
					 uint64_t *tail, uint64_t *head_cache)
{
	uint64_t *stamp;

	while (*tail - *head_cache >= sh->nslots)
		/* (R4) pairs with (R3): the consumer is done. */
		*head_cache = pinshm_load_acquire(&out->head);
	stamp = bench_raw_stamp(out, sh, *tail);
	memcpy(stamp + 1, tmpl, sh->size);
	memcpy(stamp + 1, &seq, sizeof(seq));
	/* (R1) pairs with (R2): payload before stamp. */
	pinshm_store_release(stamp, *tail + 1);
	++*tail;
}

/* Wait for message seq at *head and copy it into tmpl; -EBADMSG if not. */
static inline int __bench_raw_ring_recv(struct bench_raw_ring *in,
					const struct bench_raw_shape *sh,
					void *tmpl, uint64_t seq,
					uint64_t *head)
{
	uint64_t *stamp = bench_raw_stamp(in, sh, *head), got;

	/* (R2) pairs with (R1): the payload is written. */
	while (pinshm_load_acquire(stamp) != *head + 1)
		pinshm_cpu_relax();
	memcpy(&got, stamp + 1, sizeof(got));
	if (got != seq)
		return -EBADMSG;
	memcpy(tmpl, stamp + 1, sh->size);
	++*head;
	/* (R3) pairs with (R4): payload read. */
	pinshm_store_release(&in->head, *head);
	return 0;
}

/*
 * Round trips over two raw rings, out (ours to write) and in (theirs):
 * every message goes to the next slot, a line the ring has not used since
 * its last lap, as a ring's records do, where raw-pingpong rewrites the
 * same two lines. On some machines (AMD Zen 4 here, docs/performance.md) a
 * different line each time costs up to twice a bounced one: this is the
 * floor for any ring that moves one line per message. The initiator (h
 * not NULL) sends sequence numbers 0..warm+n-1 and times each reply into
 * h after warm; the responder (h NULL) sends each request back. Returns 0
 * or -EBADMSG (a reply out of sequence). Protocol: (R1)..(R4) above; the
 * producer loads head only when its cached copy says full. Not built on
 * bench_raw_produce(), which loads the consumer's head on every call (one
 * more line per message when called per message), nor on bench_raw_take(),
 * which does not copy the payload: the responder echoes it, as the ring's
 * responder in `pinshm bench` does.
 */
int bench_raw_ring_pp(struct bench_raw_ring *out, struct bench_raw_ring *in,
		      const struct bench_raw_shape *sh, void *tmpl,
		      uint64_t warm, uint64_t n, struct bench_hist *h)
{
	uint64_t tail = PINSHM_READ_ONCE(out->tail);	/* we are its writer */
	uint64_t head = PINSHM_READ_ONCE(in->head);	/* we are its writer */
	uint64_t head_cache, i, t0;
	int ret = 0;

	/* (R4) pairs with (R3). */
	head_cache = pinshm_load_acquire(&out->head);
	for (i = 0; i < warm + n && !ret; i++) {
		if (!h) {	/* responder */
			ret = __bench_raw_ring_recv(in, sh, tmpl, i, &head);
			if (!ret)
				__bench_raw_ring_send(out, sh, tmpl, i, &tail,
						      &head_cache);
			continue;
		}
		t0 = bench_now();
		__bench_raw_ring_send(out, sh, tmpl, i, &tail, &head_cache);
		ret = __bench_raw_ring_recv(in, sh, tmpl, i, &head);
		if (i >= warm)
			bench_hist_add(h, bench_now() - t0);
	}
	PINSHM_WRITE_ONCE(out->tail, tail);
	return ret;
}
