/* SPDX-License-Identifier: MIT */
/*
 * Fan-in ring: many producer processes, one consumer process, each
 * producer with a lane of its own. A lane is a whole SPSC ring (layout.h,
 * struct pinshm_fanin_shared): the producer's claim and commit are
 * pinshm_spsc_claim() and pinshm_spsc_commit() on it, with no word shared
 * with another producer, so each producer streams at SPSC speed and a
 * slow, stopped or dead producer touches nobody else. The consumer polls
 * the lanes round-robin, staying on a lane for up to PINSHM_FANIN_BURST
 * records while it has them.
 *
 * Order: FIFO per producer (per lane), no order across producers unless
 * the consumer asks for a merge by a key the producers write, e.g. a
 * timestamp (pinshm_fanin_peek_merged(), below: it orders what is
 * present). Use the MPSC ring (pinshm/mpsc.h) when every consumer must
 * see one total order of all producers' records, in the order they were
 * committed; use this one for throughput per producer and isolation
 * between them.
 *
 * Ordering: that of spsc.h, lane by lane, (A)-(E) on each lane's own
 * words; the one thing added is the wait queue:
 *   (W1) producer, after (A) on its lane: the kick of wait.h on the
 *        ring's one queue (the lane handle's kwq)
 *     pairs with
 *   (W2) consumer, pinshm_fanin_wait(): sleep on that queue, its re-check
 *        looking at every lane's next record with (B).
 * The merge (pinshm_fanin_peek_merged()) adds nothing: it reads each
 * lane's next record with (B), as peek does, and moves only the
 * consumer's private read positions until a release (C).
 * Shared words and their single writer: each lane's as in spsc.h (its
 * producer block: lane i's producer; its consumer block: the ring's
 * consumer); the header's block 0: the creator; consumer and corrupt:
 * the consumer; waitq.waiters/pending: the sleeping consumer, seq and
 * pending's clearing: the waking producer (wait.h).
 *
 * Crash guarantees: a producer killed at any point leaves at most the
 * record it had claimed and not committed, in its own lane, where nobody
 * sees it; the next holder of its id takes the lane over
 * (pinshm_fanin_attach()) and resumes after its last committed record
 * (pinshm_fanin_last()). A consumer killed at any point is taken over
 * the same way and gets again what it had peeked but not released.
 *
 * Nothing read from shared memory is trusted: a lane holding what no
 * producer of ours could have written makes peek say -EBADMSG once
 * (counted in the header's corrupt) and is skipped from then on by this
 * consumer handle; the other lanes go on.
 */
#ifndef PINSHM_FANIN_H
#define PINSHM_FANIN_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <pinshm/barrier.h>
#include <pinshm/layout.h>
#include <pinshm/ring.h>
#include <pinshm/spsc.h>
#include <pinshm/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pinshm_region;

/* Records the consumer takes from one lane in a row while others wait. */
#define PINSHM_FANIN_BURST	64

/*
 * Process-private handle of a producer (one lane) or of the consumer (all
 * of them). Only the role's fields mean anything; the consumer's lane
 * table is allocated by attach and freed by detach.
 */
struct pinshm_fanin {
	struct pinshm_fanin_shared *sh;
	unsigned int lanes;	/* lanes of the ring */
	int role;		/* PINSHM_PRODUCER or PINSHM_CONSUMER */
	unsigned int id;	/* producer: its lane; consumer: the lane of
				 * the record the last peek handed out */
	/* producer: its lane, an SPSC producer handle */
	struct pinshm_spsc lane;
	/* consumer */
	struct pinshm_spsc *lane_c;	/* one consumer handle per lane */
	struct pinshm_waitq_ref wref;	/* the ring's wait queue */
	unsigned int cur;	/* lane the next peek looks at first */
	unsigned int burst;	/* records peeked from cur in a row */
	uint64_t peeked;	/* lanes with peeked, unreleased records */
	uint64_t bad;		/* lanes found corrupt: skipped */
	uint64_t prev_rlast;	/* lane id's rlast before the last peek */
};

/*
 * Add a fan-in ring of lanes lanes (1..PINSHM_FANIN_LANES) of
 * lane_capacity bytes each (power of two, >= 1 KiB) to a region.
 * max_record 0 picks lane_capacity/4 - 16; any value must leave room for
 * three records: 3 * (max_record + 16) <= lane_capacity (as SPSC).
 * -EINVAL, -EEXIST, -ENOSPC, -EACCES.
 */
int pinshm_fanin_create(struct pinshm_region *r, const char *name,
			unsigned int lanes, uint64_t lane_capacity,
			uint64_t max_record);

/*
 * Take a role. PINSHM_PRODUCER_ID(id): the producer of lane id
 * (0..lanes-1); PINSHM_PRODUCER: the first lane never held or cleanly
 * left, else the first left by a dead process (out->id says which). A
 * lane held by a live process gives -EBUSY; one left by a dead process is
 * taken over: the new holder continues its counters and its last record
 * (pinshm_fanin_last()). PINSHM_CONSUMER: the consumer role (-EBUSY if a
 * live process holds it), taken over from a dead one at its last release.
 * -ENOSPC no lane free (PINSHM_PRODUCER), -EINVAL (also an id out of
 * range), -ENOENT, -EPROTOTYPE, -EBADMSG, -EPROTONOSUPPORT, -EACCES,
 * -ENOMEM (the consumer's lane table).
 */
int pinshm_fanin_attach(struct pinshm_region *r, const char *name, int role,
			struct pinshm_fanin *out);

/* Producer: publish anything staged; consumer: release what it peeked.
 * Then give the role back (and free the consumer's lane table). */
int pinshm_fanin_detach(struct pinshm_fanin *h);

/*
 * Producer: the last record its lane holds from this id (committed by it
 * or by a dead predecessor of the id), as pinshm_spsc_last(). -ENOENT,
 * -EBADMSG, -EPERM not a producer.
 */
int pinshm_fanin_last(struct pinshm_fanin *p, struct pinshm_msg *out);

/*
 * Consumer: sleep until some lane has a record (or something corrupt)
 * at the read position, or timeout_ns passes (< 0: none; 0: just look).
 * 0, -ETIMEDOUT, -EINTR, -EPERM, -ENOSYS, -EOPNOTSUPP as
 * pinshm_spsc_wait().
 */
int pinshm_fanin_wait(struct pinshm_fanin *c, int64_t timeout_ns);

/* Slow path of peek, src/fanin.c: lane i is corrupt; count and skip it. */
void __pinshm_fanin_corrupt(struct pinshm_fanin *c, unsigned int i);

/* ---- producer: its lane's SPSC fast path -------------------------------- */

/* As pinshm_spsc_claim(): 0, -EAGAIN (lane full), -EMSGSIZE. */
static inline int pinshm_fanin_claim(struct pinshm_fanin *p, uint32_t len,
				     void **out)
{
	return pinshm_spsc_claim(&p->lane, len, out);
}

/* As pinshm_spsc_commit(); (A), (E) and the kick (W1) of the lane. */
static inline void pinshm_fanin_commit(struct pinshm_fanin *p, uint32_t len,
				       uint32_t type)
{
	pinshm_spsc_commit(&p->lane, len, type);
}

/* As pinshm_spsc_stage() and pinshm_spsc_publish(): batches. */
static inline void pinshm_fanin_stage(struct pinshm_fanin *p, uint32_t len,
				      uint32_t type)
{
	pinshm_spsc_stage(&p->lane, len, type);
}

static inline void pinshm_fanin_publish(struct pinshm_fanin *p)
{
	pinshm_spsc_publish(&p->lane);
}

/* As pinshm_spsc_send(): 0, -EAGAIN (PINSHM_WAIT_NONE only), -EMSGSIZE. */
static inline int pinshm_fanin_send(struct pinshm_fanin *p, const void *data,
				    uint32_t len, uint32_t type, int wait)
{
	return pinshm_spsc_send(&p->lane, data, len, type, wait);
}

/* ---- consumer ----------------------------------------------------------- */

/*
 * Look at the next record of some lane without consuming it: the lane of
 * the last record while it has more and its burst lasts, else the next
 * lanes in turn. c->id says which lane (producer id) the record is from.
 * Returns 0, -EAGAIN when every lane is empty, -EBADMSG when a lane holds
 * something no producer of ours wrote (once: the lane is skipped after).
 */
static inline int pinshm_fanin_peek(struct pinshm_fanin *c,
				    struct pinshm_msg *m)
{
	unsigned int i, n = c->lanes, lane = c->cur;
	uint64_t rlast = 0;
	int ret;

	if (c->burst < PINSHM_FANIN_BURST && !(c->bad >> lane & 1)) {
		rlast = c->lane_c[lane].rlast;
		/* (B) of spsc.h, on lane cur. */
		ret = pinshm_spsc_peek(&c->lane_c[lane], m);
		if (ret == 0)
			goto got;
		if (ret != -EAGAIN)
			goto bad;
		n--;	/* looked at already */
	}
	for (i = 1; i <= n; i++) {
		lane = c->cur + i;
		if (lane >= c->lanes)
			lane -= c->lanes;
		if (c->bad >> lane & 1)
			continue;
		rlast = c->lane_c[lane].rlast;
		/* (B) of spsc.h, on the next lane. */
		ret = pinshm_spsc_peek(&c->lane_c[lane], m);
		if (ret == 0) {
			c->cur = lane;
			c->burst = 0;
			goto got;
		}
		if (ret != -EAGAIN)
			goto bad;
	}
	return -EAGAIN;
got:
	c->burst++;
	c->id = lane;
	c->prev_rlast = rlast;
	c->peeked |= 1ULL << lane;
	return 0;
bad:
	c->id = lane;
	__pinshm_fanin_corrupt(c, lane);
	return ret;
}

/*
 * Peek up to n records; how many (0 when all lanes are empty; c->id: the
 * lane of the last), or -EBADMSG as pinshm_fanin_peek() when it meets a
 * corrupt lane first. Once pinshm_fanin_peek() has found a lane with a
 * record, the rest of the lane's burst comes from pinshm_spsc_peek_batch()
 * on it: taken one by one through pinshm_fanin_peek(), records cost the
 * consumer of a batched stream up to a third of its rate.
 */
static inline int pinshm_fanin_peek_batch(struct pinshm_fanin *c,
					  struct pinshm_msg *m, unsigned int n)
{
	unsigned int i = 0, id = c->id, more;
	int ret;

	while (i < n) {
		ret = pinshm_fanin_peek(c, &m[i]);
		if (ret == -EAGAIN)
			break;
		if (ret) {
			if (!i)
				return ret;
			c->id = id;	/* the lane of m[i - 1], not the bad one */
			return (int)i;
		}
		id = c->id;
		i++;
		more = PINSHM_FANIN_BURST - c->burst;
		if (more > n - i)
			more = n - i;
		if (!more)
			continue;
		/* (B) of spsc.h, on the same lane. */
		ret = pinshm_spsc_peek_batch(&c->lane_c[id], &m[i], more);
		if (ret < 0) {
			__pinshm_fanin_corrupt(c, id);
			break;
		}
		/* Fewer than more: the lane ran dry, and the next
		 * pinshm_fanin_peek() looks at the others. */
		i += (unsigned int)ret;
		c->burst += (unsigned int)ret;
	}
	return (int)i;
}

/*
 * Merge by key: peek the record whose key is the smallest among the
 * records at the head of every lane, the key being the uint64_t in native
 * byte order at payload offset key_off (unaligned is fine); ties go to the
 * lower lane. A record shorter than key_off + 8 bytes has key 0: it comes
 * out as soon as it is at its lane's head. The other lanes' heads are
 * looked at, not peeked: they stay where they are.
 *
 * What is handed out is peeked as by pinshm_fanin_peek(): c->id is its
 * lane, pinshm_fanin_release() gives it back with everything else peeked,
 * a consumer killed before that release is taken over and gets it again,
 * and plain peeks, peek_batch and recv may be mixed in (they take the
 * lanes in turn, not by key). Only the lane of the record handed out
 * moves.
 *
 * The merge orders what is present: a record that arrives after one with
 * a larger key was handed out is not put back in front of it. So the
 * merged order is exact only while every live lane has a record waiting
 * (a drained burst of every producer, say); *empty, when empty is not
 * NULL, says which lanes had nothing waiting at this call (bit i: lane i;
 * corrupt lanes aside, see c->bad): none of the lanes the caller expects
 * records from means the record is the smallest it will ever see, as long
 * as each producer's keys never go down. To hold a record back until the
 * lanes have caught up, look first (pinshm_fanin_look_merged()).
 *
 * Keys are data from shared memory: they decide the order and nothing
 * else (the record's length bounds the read); a producer that writes
 * small keys is served first. Each call looks at the head of every lane,
 * N loads (B) for N lanes: plain pinshm_fanin_peek() stays the cheap
 * one. Sleep in pinshm_fanin_wait() when this says -EAGAIN, then call it
 * again.
 *
 * Returns 0, -EAGAIN when every lane is empty, -EBADMSG as
 * pinshm_fanin_peek() (once per corrupt lane, c->id naming it; the
 * others go on), -EINVAL (a detached handle), -EPERM (not the consumer).
 */
int pinshm_fanin_peek_merged(struct pinshm_fanin *c, struct pinshm_msg *m,
			     uint32_t key_off, uint64_t *empty);

/*
 * The record pinshm_fanin_peek_merged() would hand out now, and *empty,
 * without taking it: no lane moves, c->id stays. m->data stays valid
 * until the consumer releases past it (a release gives back only what
 * was peeked, so at the earliest once it has been peeked and released).
 * For a caller that holds the merge back while a lane it expects is
 * empty, up to a staleness bound of its own, then peeks (which may hand
 * out a record that came in meanwhile with a smaller key: the merge).
 * Returns the record's lane (>= 0), or the errors of
 * pinshm_fanin_peek_merged().
 */
int pinshm_fanin_look_merged(struct pinshm_fanin *c, struct pinshm_msg *m,
			     uint32_t key_off, uint64_t *empty);

/* Give every peeked record, of every lane, back to its producer: (C) of
 * spsc.h on each of those lanes. */
static inline void pinshm_fanin_release(struct pinshm_fanin *c)
{
	uint64_t m = c->peeked;

	while (m) {
		pinshm_spsc_release(&c->lane_c[__builtin_ctzll(m)]);
		m &= m - 1;
	}
	c->peeked = 0;
}

/*
 * Copy the next record of some lane into buf and release it (with
 * everything peeked before). c->id says which lane. Returns its length,
 * -EAGAIN (PINSHM_WAIT_NONE only), -EMSGSIZE if it does not fit in buflen
 * (it stays), -EBADMSG, -EINTR (PINSHM_WAIT_FUTEX).
 */
static inline int pinshm_fanin_recv(struct pinshm_fanin *c, void *buf,
				    uint32_t buflen, uint32_t *type, int wait)
{
	struct pinshm_msg m;
	struct pinshm_spsc *l;
	unsigned int spins = 0;
	int ret;

	while ((ret = pinshm_fanin_peek(c, &m)) == -EAGAIN) {
		if (wait == PINSHM_WAIT_NONE)
			return ret;
		if (wait == PINSHM_WAIT_FUTEX && spins >= PINSHM_YIELD_SPINS) {
			ret = pinshm_fanin_wait(c, -1);
			if (ret == -EINTR)
				return ret;
			if (ret == -ENOSYS || ret == -EOPNOTSUPP)
				wait = PINSHM_WAIT_YIELD;
			continue;
		}
		__pinshm_wait_step(wait, &spins);
	}
	if (ret)
		return ret;
	if (m.len > buflen) {
		/* Un-peek it: back to its start (past a filler before it). */
		l = &c->lane_c[c->id];
		l->rpos = l->rlast;
		l->rlast = c->prev_rlast;
		l->peeked_msgs--;
		l->peeked_bytes -= m.len;
		c->burst--;
		return -EMSGSIZE;
	}
	memcpy(buf, m.data, m.len);
	if (type)
		*type = m.type;
	pinshm_fanin_release(c);
	return (int)m.len;
}

#ifdef __cplusplus
}
#endif

#endif /* PINSHM_FANIN_H */
