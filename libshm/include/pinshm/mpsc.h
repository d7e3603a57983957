/* SPDX-License-Identifier: MIT */
/*
 * MPSC ring: many producer processes, one consumer process, variable-length
 * records, zero-copy claim/commit and peek/release. Setup, roles, recovery
 * and counters live in src/mpsc.c; the per-message paths are inline here.
 *
 * A record is an 8-byte header {len, type} and its payload, padded to 8
 * bytes. The 32-bit len word says everything about the record:
 *
 *   0                          nothing here (never claimed, or zeroed)
 *   CLAIMED|id<<25|size/8      claimed by producer id, being written
 *                              ("negative": bit 31), size = whole record
 *   COMMIT|len                 committed, len payload bytes ("positive")
 *   PAD|size/8                 filler of size bytes (the wrap, a shortened
 *                              commit, or a dead producer's claim)
 *
 * Claim. DESIGN.md asks for "one atomic add". We use a CAS loop on the tail
 * instead (uncontended: one successful CAS, the same cost as an add): an
 * add cannot be undone, so a producer that finds the ring full after its
 * add would own space it may not write, and every later producer would be
 * pushed further past the consumer. With a CAS the producer checks the
 * space first and claims only what fits, so a full ring is refused with
 * -EAGAIN and counted in full_events (once per run of refusals): back-
 * pressure, never silent loss, never an overrun.
 *
 * Space. The consumer zeroes what it has consumed and then publishes the
 * index "zeroed"; producers claim only below zeroed + capacity. So every
 * byte a producer may claim is zero until a producer writes it, and bytes
 * of an earlier lap can never be taken for a header. It zeroes in batches,
 * once zero_lag bytes are released (PINSHM_MPSC_ZERO_BATCH at most), and
 * a claim is at most (capacity - zero_lag) / 2 bytes, so any claim fits
 * once the consumer has caught up (__pinshm_mpsc_zero_lag()); the consumer
 * never reads at or past zeroed + capacity, where an old record may still
 * lie. One message moves one cache line: the consumer polls the len word
 * of the record at its own position and never reads the tail on the fast
 * path; a producer reads zeroed only when its cached copy says the ring is
 * full.
 *
 * Shared fields and their writers:
 *   sh->tail ................ ALL producers, by CAS only (the one field
 *                             with several writers; its own 128-byte block)
 *   record len/type words ... the producer that claimed them; PAD headers
 *                             of a dead producer's claim: the consumer
 *                             (recovery); zeroing: the consumer
 *   sh->prod[i] (256 bytes) . the holder of producer slot i (role word:
 *                             CAS by attachers, as every pinshm role)
 *   sh->head, zeroed, msgs_out, bytes_out, recoveries, corrupt,
 *   sh->rec_pad[] ........... the consumer
 *   sh->waitq.waiters ....... the consumer, the only sleeper (atomic add/
 *                             sub in wait.c; reset when a consumer attaches)
 *   sh->waitq.seq ........... ALL producers, by atomic add (their wakes)
 *
 * Ordering pairs:
 *   (I1) producer: store-release intent_pos (after intent_size and the
 *        slot's owner), then CAS the tail (acq_rel: the intent is visible
 *        to anyone who sees the claim)
 *     pairs with
 *   (I2) recovery: load-acquire tail, then load-acquire intent_pos, read
 *        intent_size and the owner.
 *   (H1) producer: after its CAS, store-release the CLAIMED len word
 *     pairs with (H2) recovery: load-acquire len (attribution by id).
 *   (A)  producer: write payload, type (and the PAD header of a shortened
 *        record's tail), then store-release len = COMMIT|len
 *     pairs with
 *   (B)  consumer: load-acquire len, then read type and payload.
 *   (C)  consumer, on release: store-release head; once zero_lag bytes
 *        are released, release fence, zero them with relaxed stores,
 *        store-release zeroed (Z1)
 *     pairs with
 *   (Z2) producer: load-acquire zeroed, then CAS the tail and write below
 *        zeroed + capacity; and with
 *   (C') a restarting producer: load-acquire len, acquire fence, load head
 *        (seeing a zero written after (C) implies seeing head).
 *   (L1) producer, per commit: pend_word/type/len, then store-release
 *        pend_pos, then (A), then last_* and store-release last_pos; a
 *        restarted producer (pinshm_mpsc_attach()) reads them after
 *        the old holder died (its stores are all visible then).
 *   (R1) consumer recovery: store rec_pad[id] before the PAD header, both
 *        before (C) moves head past it
 *     pairs with
 *   (R2) restarting producer: load-acquire head, then read rec_pad[id].
 *   (W1) producer, after the commits of a batch (A) or an abort's filler:
 *        compiler barrier, load waitq.waiters; if not 0, wake (wait.h)
 *     pairs with
 *   (W2) consumer, pinshm_mpsc_wait(): add 1 to waiters, membarrier,
 *        re-check the len word at its position (B), FUTEX_WAIT. Either the
 *        consumer sees the commit or the producer sees the sleeper.
 *   Counters are relaxed statistics with one writer each.
 *
 * Waiting: a CLAIMED (or still 0) word at the consumer's position is not
 * ready, and the consumer may sleep on it: its producer kicks the queue
 * when it commits (or aborts). A producer killed in between kicks nobody,
 * so pinshm_mpsc_wait() sleeps in slices of PINSHM_MPSC_WAIT_SLICE_NS and
 * looks for dead producers' claims between two slices, as peek does.
 *
 * Crash of a producer between claim and commit (DESIGN "Crash recovery"):
 * a record stays CLAIMED (or 0, if the producer died right after its CAS)
 * and the consumer stops at it. It is turned into padding only when the
 * region's metadata page says the producer that owns it is gone (no
 * ATTACHED entry of its pid + start time left: DIED, EXEC, DETACHED or a
 * recycled DIED entry), never on a timeout: see pinshm_mpsc_recover() and
 * src/mpsc.c for every window.
 *
 * Nothing read from shared memory is trusted: a header, length, producer
 * id or position that no producer of ours could have written gives
 * -EBADMSG and bumps the corrupt counter; every scan is bounded.
 */
#ifndef PINSHM_MPSC_H
#define PINSHM_MPSC_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/pinshm.h>
#include <pinshm/barrier.h>
#include <pinshm/layout.h>
#include <pinshm/ring.h>
#include <pinshm/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pinshm_region;

#define PINSHM_MPSC_BATCH_MAX	64	/* records per claim_batch */

/*
 * Released bytes the consumer lets pile up before it zeroes them in one go
 * (less on small rings, see __pinshm_mpsc_zero_lag()), as the SPSC consumer
 * does: zeroing each released line at once pulls it back into the
 * consumer's cache just before a producer writes it again
 * (docs/performance.md has what each placement measured).
 */
#define PINSHM_MPSC_ZERO_BATCH	4096

/* Misses of the consumer before it looks for dead producers anyway. */
#define PINSHM_MPSC_RECOVER_POLLS	(1u << 16)

/* pinshm_mpsc_wait(): longest sleep before it looks for dead producers. */
#define PINSHM_MPSC_WAIT_SLICE_NS	20000000LL
/* Fillers the wait's readiness check walks over before it says "ready". */
#define PINSHM_MPSC_WAIT_PADS		64u

/*
 * Process-private handle of a producer or of the consumer: role says which,
 * and only that role's fields below mean anything. The verbs of the other
 * role must not be called on it (the inline ones do not check; the others
 * say -EPERM).
 */
struct pinshm_mpsc {
	struct pinshm_mpsc_shared *sh;
	uint8_t *buf;
	uint64_t cap;
	uint64_t mask;
	uint64_t max_record;
	int role;		/* PINSHM_PRODUCER or PINSHM_CONSUMER */
	struct pinshm_waitq_ref wref;	/* the consumer's wait queue */
	union {
		struct {	/* producer */
			struct pinshm_mpsc_pslot *slot;
			uint64_t batch_max;	/* bytes one claim may take,
						 * filler aside */
			unsigned int id;
			bool blocked;		/* the last claim was refused */
			unsigned int nclaim;	/* records claimed, not yet
						 * committed */
			uint64_t claim_pos;	/* first claimed record (after a
						 * wrap pad) */
			uint64_t claim_end;
			uint64_t zeroed_cache;	/* last zeroed seen, <=
						 * sh->zeroed */
			uint64_t msgs_in;
			uint64_t bytes_in;
			uint64_t full_events;
			uint32_t csize[PINSHM_MPSC_BATCH_MAX];	/* claimed record
								 * sizes */
		};
		struct {	/* consumer */
			struct pinshm_region *region;
			const struct pinshm_meta *meta;	/* read-only metadata
							 * page */
			uint64_t head;		/* released position */
			uint64_t rpos;		/* head plus everything peeked */
			uint64_t zeroed;
			uint64_t zero_lag;	/* zero once this much is
						 * released */
			uint64_t generation;	/* metadata generation at the
						 * last check */
			uint32_t misses;	/* empty polls since the last
						 * check */
			uint32_t peeked_msgs;
			uint64_t peeked_bytes;
			uint64_t msgs_out;
			uint64_t bytes_out;
		};
	};
};

/*
 * The consumer's zeroing lag on a ring: it zeroes what it released once
 * lag bytes are pending, so up to lag - 8 released bytes are not free yet.
 * A claim of b bytes takes at most 2b - 8 with the filler before it, so a
 * claim of up to (capacity - lag) / 2 bytes always fits once the consumer
 * has caught up: that is the largest claim, and a record of max_record
 * (<= capacity/2 - 8) must stay below it, hence the second bound.
 */
static inline uint64_t __pinshm_mpsc_zero_lag(uint64_t cap,
					      uint64_t max_record)
{
	uint64_t lag = cap / 4 < PINSHM_MPSC_ZERO_BATCH ?
		       cap / 4 : PINSHM_MPSC_ZERO_BATCH;
	uint64_t room = cap - 2 * __pinshm_rec_size((uint32_t)max_record);

	return lag < room ? lag : room;
}

static inline struct pinshm_rec *__pinshm_mpsc_rec(uint8_t *buf,
						   uint64_t mask, uint64_t pos)
{
	return (struct pinshm_rec *)(buf + (pos & mask));
}

/*
 * Add an MPSC ring of capacity bytes (power of two, 1 KiB..512 MiB) to a
 * region. max_record 0 picks capacity/4 - 8; any value must be at most
 * capacity/2 - 8. -EINVAL, -EEXIST, -ENOSPC, -EACCES.
 */
int pinshm_mpsc_create(struct pinshm_region *r, const char *name,
		       uint64_t capacity, uint64_t max_record);

/*
 * Take a role of a ring. role PINSHM_PRODUCER_ID(id): producer slot id
 * (0..PINSHM_MPSC_PRODUCERS-1); PINSHM_PRODUCER: the first free one (then
 * out->id says which). A slot held by a live process gives -EBUSY; one left
 * by a dead process is taken over, and the new holder continues its
 * counters and pinshm_mpsc_last(). -EAGAIN: the dead holder left a claim
 * the consumer has not moved past yet (retry later). -ENOSPC no free slot
 * (PINSHM_PRODUCER), -EPERM this process has no attach of its own on the
 * region (a forked child must pinshm_region_open() it).
 * PINSHM_CONSUMER: the consumer role (-EBUSY if a live process holds it).
 * Either: -EINVAL (also an id out of range), -ENOENT, -EPROTOTYPE,
 * -EBADMSG, -EPROTONOSUPPORT (another library version's ring), -EACCES.
 */
int pinshm_mpsc_attach(struct pinshm_region *r, const char *name, int role,
		       struct pinshm_mpsc *out);

/*
 * Give the role back: a producer's outstanding claim becomes filler first;
 * the consumer releases what it peeked.
 */
int pinshm_mpsc_detach(struct pinshm_mpsc *h);

/* Producer: turn the outstanding claim (if any) into filler. */
int pinshm_mpsc_abort(struct pinshm_mpsc *p);

/*
 * The first 8 payload bytes (zero-filled if shorter) and the type of the
 * last record this producer id committed, across restarts of the slot's
 * holder; the record itself may be consumed already. -ENOENT nothing
 * committed by this id yet, -EPERM not a producer.
 */
int pinshm_mpsc_last(struct pinshm_mpsc *p, uint64_t *word, uint32_t *type);

/*
 * Consumer: look for dead producers' claims at the consumer's position (on
 * the shm backend it first calls pinshm_region_recover() to learn of
 * deaths) and turn each into filler. Returns how many were padded, 0 if none (nothing
 * stuck, or its producer is alive), -EDEADLK when two dead producers'
 * intents cannot be told apart (nothing is padded; only for batches killed
 * in their claim that each cover the position without starting there),
 * -EBADMSG, -EPERM not the consumer.
 */
int pinshm_mpsc_recover(struct pinshm_mpsc *c);

/*
 * The most bytes one claim_batch may take (records with their headers):
 * half the ring less half the consumer's zeroing lag (at most 2 KiB), and
 * never less than one record of max_record. Any claim up to it fits once
 * the consumer has caught up.
 */
static inline uint64_t
pinshm_mpsc_batch_max(const struct pinshm_mpsc *p)
{
	return p->batch_max;
}

/* Slow paths, src/mpsc.c. */
int __pinshm_mpsc_corrupt(struct pinshm_mpsc *c);
int __pinshm_mpsc_stuck(struct pinshm_mpsc *c);
int __pinshm_mpsc_claim_refresh(struct pinshm_mpsc *p, uint64_t tail,
				uint64_t need);

/*
 * Claim n consecutive records of lens[i] payload bytes with one CAS and
 * point outs[i] at their payloads. Returns 0, -EAGAIN when the ring is full
 * (counted once per run of refusals in full_events), -EMSGSIZE when a len
 * is above max_record or the records' bytes (8-byte header each, payload
 * rounded up to 8) are above pinshm_mpsc_batch_max(), -EINVAL (n is 0 or
 * above PINSHM_MPSC_BATCH_MAX, or a claim is outstanding), -EBADMSG.
 */
static inline int pinshm_mpsc_claim_batch(struct pinshm_mpsc *p,
					  unsigned int n, const uint32_t *lens,
					  void **outs)
{
	struct pinshm_mpsc_shared *sh = p->sh;
	uint64_t tail, off, pad, need = 0, pos;
	unsigned int i;

	if (n == 0 || n > PINSHM_MPSC_BATCH_MAX || p->nclaim)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (lens[i] > p->max_record)
			return -EMSGSIZE;
		p->csize[i] = (uint32_t)__pinshm_rec_size(lens[i]);
		need += p->csize[i];
	}
	if (need > p->batch_max)
		return -EMSGSIZE;
	tail = PINSHM_READ_ONCE(sh->tail);
	for (;;) {
		uint64_t total;

		off = tail & p->mask;
		pad = __pinshm_wrap_pad(off, need, p->cap);
		total = pad + need;
		if ((tail & (PINSHM_REC_ALIGN - 1)) ||
		    tail + total - p->zeroed_cache > p->cap) {
			/* (Z2) inside; 1: our tail was stale, reload it. */
			int ret = __pinshm_mpsc_claim_refresh(p, tail, total);

			if (ret == 1) {
				tail = PINSHM_READ_ONCE(sh->tail);
				continue;
			}
			if (ret)
				return ret;
		}
		/* (I1): who claims what, before the claim itself. */
		PINSHM_WRITE_ONCE(p->slot->intent_size, total);
		pinshm_store_release(&p->slot->intent_pos, tail);
		/* (I1) pairs with (I2); acquire for (Z2)'s zero stores. */
		if (atomic_compare_exchange_weak_explicit(
			    (_Atomic uint64_t *)&sh->tail, &tail, tail + total,
			    memory_order_acq_rel, memory_order_relaxed))
			break;
		pinshm_cpu_relax();
	}
	p->blocked = false;
	if (pad)	/* read by the consumer only after (H1)/(A) below */
		PINSHM_WRITE_ONCE(__pinshm_mpsc_rec(p->buf, p->mask, tail)->len,
				  PINSHM_MPSC_PAD | (uint32_t)(pad >> 3));
	pos = tail + pad;
	p->claim_pos = pos;
	p->claim_end = tail + pad + need;
	p->nclaim = n;
	for (i = 0; i < n; i++) {
		struct pinshm_rec *rec = __pinshm_mpsc_rec(p->buf, p->mask, pos);

		/* (H1) pairs with (H2): the claim carries its owner. */
		pinshm_store_release(&rec->len, PINSHM_MPSC_CLAIMED |
				     (p->id << PINSHM_MPSC_ID_SHIFT) |
				     (p->csize[i] >> 3));
		outs[i] = rec + 1;
		pos += p->csize[i];
	}
	return 0;
}

static inline int pinshm_mpsc_claim(struct pinshm_mpsc *p,
				    uint32_t len, void **out)
{
	return pinshm_mpsc_claim_batch(p, 1, &len, out);
}

/* Commit one claimed record at pos, claimed csize bytes. */
static inline void __pinshm_mpsc_commit_one(struct pinshm_mpsc *p,
					    uint64_t pos, uint32_t csize,
					    uint32_t len, uint32_t type)
{
	struct pinshm_mpsc_pslot *s = p->slot;
	struct pinshm_rec *rec = __pinshm_mpsc_rec(p->buf, p->mask, pos);
	uint64_t size = __pinshm_rec_size(len), word = 0;

	if (size < csize)	/* shortened: the rest becomes filler (A) */
		PINSHM_WRITE_ONCE(__pinshm_mpsc_rec(p->buf, p->mask,
						    pos + size)->len,
				  PINSHM_MPSC_PAD |
				  (uint32_t)((csize - size) >> 3));
	memcpy(&word, rec + 1, len < 8 ? len : 8);
	/* (L1) the pending record before its commit. */
	PINSHM_WRITE_ONCE(s->pend_word, word);
	PINSHM_WRITE_ONCE(s->pend_type, type);
	PINSHM_WRITE_ONCE(s->pend_len, len);
	pinshm_store_release(&s->pend_pos, pos);
	PINSHM_WRITE_ONCE(rec->type, type);
	/* (A) pairs with (B): payload, type and filler before len. */
	pinshm_store_release(&rec->len, PINSHM_REC_COMMIT | len);
	/* (L1) promote. */
	PINSHM_WRITE_ONCE(s->last_word, word);
	PINSHM_WRITE_ONCE(s->last_type, type);
	PINSHM_WRITE_ONCE(s->last_len, len);
	pinshm_store_release(&s->last_pos, pos);
	p->msgs_in++;
	p->bytes_in += len;
}

/*
 * Commit every record of the last claim_batch, in order, each with its
 * final length (<= the claimed one) and type.
 */
static inline void pinshm_mpsc_commit_batch(struct pinshm_mpsc *p,
					    const uint32_t *lens,
					    const uint32_t *types)
{
	uint64_t pos = p->claim_pos;
	unsigned int i;

	for (i = 0; i < p->nclaim; i++) {
		uint32_t len = lens[i];

		if (__pinshm_rec_size(len) > p->csize[i])
			len = p->csize[i] - PINSHM_REC_HDR;	/* caller bug */
		__pinshm_mpsc_commit_one(p, pos, p->csize[i], len, types[i]);
		pos += p->csize[i];
	}
	p->nclaim = 0;
	/* The claim is all committed: nothing left for recovery. */
	PINSHM_WRITE_ONCE(p->slot->intent_size, 0);
	PINSHM_WRITE_ONCE(p->slot->msgs_in, p->msgs_in);
	PINSHM_WRITE_ONCE(p->slot->bytes_in, p->bytes_in);
	/* (W1) pairs with (W2): the commits (A) above, then one load of
	 * waiters; a wake only when the consumer sleeps. */
	__pinshm_waitq_kick(&p->sh->waitq, &p->wref);
}

static inline void pinshm_mpsc_commit(struct pinshm_mpsc *p,
				      uint32_t len, uint32_t type)
{
	pinshm_mpsc_commit_batch(p, &len, &type);
}

/*
 * Copy helper: claim, copy, commit. wait: PINSHM_WAIT_NONE/SPIN/YIELD;
 * producers never sleep on a full ring (nobody would wake them), so
 * PINSHM_WAIT_FUTEX waits as PINSHM_WAIT_YIELD does.
 */
static inline int pinshm_mpsc_send(struct pinshm_mpsc *p,
				   const void *data, uint32_t len,
				   uint32_t type, int wait)
{
	unsigned int spins = 0;
	void *dst;
	int ret;

	if (wait == PINSHM_WAIT_FUTEX)
		wait = PINSHM_WAIT_YIELD;
	while ((ret = pinshm_mpsc_claim(p, len, &dst)) == -EAGAIN) {
		if (wait == PINSHM_WAIT_NONE)
			return ret;
		__pinshm_wait_step(wait, &spins);
	}
	if (ret)
		return ret;
	memcpy(dst, data, len);
	pinshm_mpsc_commit(p, len, type);
	return 0;
}

/* Zero [from, to) of the ring, to - from <= capacity (relaxed stores),
 * then demote its lines (the producers write there next). */
static inline void __pinshm_mpsc_zero(uint8_t *buf, uint64_t mask,
				      uint64_t from, uint64_t to)
{
	uint64_t pos;

	for (pos = from; pos < to; pos += 8)
		PINSHM_WRITE_ONCE(*(uint64_t *)(buf + (pos & mask)), 0);
	for (pos = from & ~(uint64_t)63; pos < to; pos += 64)
		__pinshm_demote(buf + (pos & mask), 1);
}

/* Give every peeked record (and skipped filler) back to the producers. */
static inline void pinshm_mpsc_release(struct pinshm_mpsc *c)
{
	struct pinshm_mpsc_shared *sh = c->sh;

	if (c->rpos == c->head)
		return;
	c->head = c->rpos;
	c->msgs_out += c->peeked_msgs;
	c->bytes_out += c->peeked_bytes;
	c->peeked_msgs = 0;
	c->peeked_bytes = 0;
	/* (C): our reads are done; head before the zeroes (C'). */
	pinshm_store_release(&sh->head, c->head);
	if (c->head - c->zeroed >= c->zero_lag) {
		pinshm_smp_wmb();	/* (C') pairs with the restart's fence */
		__pinshm_mpsc_zero(c->buf, c->mask, c->zeroed, c->head);
		c->zeroed = c->head;
		/* (Z1) pairs with (Z2): the zeroes before the space is
		 * handed out. */
		pinshm_store_release(&sh->zeroed, c->zeroed);
	}
	PINSHM_WRITE_ONCE(sh->msgs_out, c->msgs_out);
	PINSHM_WRITE_ONCE(sh->bytes_out, c->bytes_out);
}

static inline int __pinshm_mpsc_bad(struct pinshm_mpsc *c)
{
	return __pinshm_mpsc_corrupt(c);
}

/*
 * Look at the next committed record without consuming it; successive
 * peeks walk forward, pinshm_mpsc_release() gives everything peeked back.
 * Returns 0, -EAGAIN when nothing is committed at the consumer's position,
 * -EBADMSG when the ring holds something no producer could have written.
 * While the record at the consumer's position stays claimed, peek looks
 * for dead producers when the metadata generation changes (one load) and
 * every PINSHM_MPSC_RECOVER_POLLS misses (see pinshm_mpsc_recover()).
 */
static inline int pinshm_mpsc_peek(struct pinshm_mpsc *c,
				   struct pinshm_msg *m)
{
	for (;;) {
		uint64_t off = c->rpos & c->mask, size;
		struct pinshm_rec *rec = (struct pinshm_rec *)(c->buf + off);
		uint32_t len;

		/* Peeked up to zeroed + capacity: the word there is one we
		 * released (not zeroed yet) or peeked ourselves, and nothing
		 * new can be there until we release. */
		if (c->rpos - c->zeroed >= c->cap)
			return -EAGAIN;
		/* (B) pairs with (A): payload complete once COMMIT is seen. */
		len = pinshm_load_acquire(&rec->len);

		if (len == 0 || (len & PINSHM_MPSC_CLAIMED)) {
			if (__builtin_expect(++c->misses >=
					     PINSHM_MPSC_RECOVER_POLLS, 0) ||
			    __builtin_expect(PINSHM_READ_ONCE(
					     c->meta->generation) !=
					     c->generation, 0)) {
				if (__pinshm_mpsc_stuck(c) > 0)
					continue;	/* padded: look again */
			}
			/* Only filler skipped and no record held: give the
			 * filler back now, or nobody would. */
			if (c->rpos != c->head && c->peeked_msgs == 0)
				pinshm_mpsc_release(c);
			return -EAGAIN;
		}
		if (len & PINSHM_REC_COMMIT) {
			len &= PINSHM_REC_LEN_MASK;
			size = __pinshm_rec_size(len);
			if (len > c->max_record || off + size > c->cap ||
			    c->rpos + size - c->zeroed > c->cap)
				return __pinshm_mpsc_bad(c);
			c->misses = 0;
			m->data = rec + 1;
			m->len = len;
			m->type = rec->type;
			c->rpos += size;
			c->peeked_msgs++;
			c->peeked_bytes += len;
			return 0;
		}
		if (!(len & PINSHM_MPSC_PAD))
			return __pinshm_mpsc_bad(c);
		/* Filler: skip it. Each step moves >= 8 bytes and rpos stays
		 * within a lap of zeroed, so this loop is bounded. */
		size = (uint64_t)(len & PINSHM_MPSC_PUNITS) << 3;
		if (size == 0 || off + size > c->cap ||
		    c->rpos + size - c->zeroed > c->cap)
			return __pinshm_mpsc_bad(c);
		c->rpos += size;
	}
}

/* Peek up to n records; returns how many (0 when empty) or -EBADMSG. */
static inline int pinshm_mpsc_peek_batch(struct pinshm_mpsc *c,
					 struct pinshm_msg *m, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = pinshm_mpsc_peek(c, &m[i]);
		if (ret == -EAGAIN)
			break;
		if (ret)
			return i ? (int)i : ret;
	}
	return (int)i;
}

/*
 * Consumer: sleep until the record at the consumer's position is committed
 * (or filler, or something corrupt, which peek then reports), a death is
 * recorded in the metadata (peek then looks for dead producers' claims),
 * or timeout_ns passes (< 0: no timeout; 0: just look). The sleep is cut
 * into slices of PINSHM_MPSC_WAIT_SLICE_NS; between two, a dead producer's
 * claim at the consumer's position is turned into filler (as by
 * pinshm_mpsc_recover()), since its producer will never kick. Returns 0,
 * -ETIMEDOUT, -EINTR, -EINVAL, -ENOSYS (no membarrier GLOBAL_EXPEDITED) or
 * -EOPNOTSUPP (the kernel cannot sleep on this memory: see
 * pinshm_waitq_wait()): on the last two, spin or yield instead; -EPERM
 * not the consumer. waitq.waiters is back to what it was on every return.
 */
int pinshm_mpsc_wait(struct pinshm_mpsc *c, int64_t timeout_ns);

/*
 * Copy the next record into buf and release it. Returns its length,
 * -EAGAIN (PINSHM_WAIT_NONE only), -EMSGSIZE when it does not fit (it stays
 * in the ring), -EBADMSG, -EINTR (PINSHM_WAIT_FUTEX: a signal arrived while
 * asleep). PINSHM_WAIT_FUTEX spins PINSHM_YIELD_SPINS times, then sleeps in
 * pinshm_mpsc_wait(); where that cannot sleep it yields instead.
 */
static inline int pinshm_mpsc_recv(struct pinshm_mpsc *c, void *buf,
				   uint32_t buflen, uint32_t *type, int wait)
{
	struct pinshm_msg m;
	unsigned int spins = 0;
	int ret;

	while ((ret = pinshm_mpsc_peek(c, &m)) == -EAGAIN) {
		if (wait == PINSHM_WAIT_NONE)
			return ret;
		if (wait == PINSHM_WAIT_FUTEX && spins >= PINSHM_YIELD_SPINS) {
			ret = pinshm_mpsc_wait(c, -1);
			if (ret == -EINTR)
				return ret;
			if (ret)	/* -ENOSYS, -EOPNOTSUPP: cannot sleep */
				wait = PINSHM_WAIT_YIELD;
			continue;
		}
		__pinshm_wait_step(wait, &spins);
	}
	if (ret)
		return ret;
	if (m.len > buflen) {
		/* Step back over this record only (filler stays skipped). */
		c->rpos -= __pinshm_rec_size(m.len);
		c->peeked_msgs--;
		c->peeked_bytes -= m.len;
		return -EMSGSIZE;
	}
	memcpy(buf, m.data, m.len);
	if (type)
		*type = m.type;
	pinshm_mpsc_release(c);
	return (int)m.len;
}

#ifdef __cplusplus
}
#endif

#endif /* PINSHM_MPSC_H */
