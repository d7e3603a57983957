/* SPDX-License-Identifier: MIT */
/*
 * Broadcast ring: one writer, any number of readers, each at its own pace.
 * The writer never waits for readers; a reader that falls more than a ring
 * behind is lapped: it notices, counts exactly how many records it lost,
 * and resynchronises to the oldest record still valid. Readers write no
 * shared memory at all, so a read-only mapping (PINSHM_RDONLY or
 * PINSHM_OBSERVE) is enough; their cursors and counters are private. The
 * one exception is sleeping (pinshm_bcast_wait(), PINSHM_WAIT_FUTEX): a
 * sleeper counts itself in the header's wait queue, which takes a writable
 * mapping. A read-only reader sleeps too, by arming its queue's word in
 * the region's metadata page instead (ro_pending, which the writer's kick
 * also reads): on a pinshm.ko region the module arms it (PINSHM_IOC_WAIT_F_ARM);
 * on the shm backend the reader does, which takes write access to the
 * region's file (without it, -EACCES: spin or yield instead).
 *
 * Layout: a 512-byte header (block 0 constant, block 1 the writer's tail,
 * counters and role, block 2 the wait queue, block 3 reserved), then
 * `slots` fixed-size slots (a power of two) of
 * slot_size bytes (a multiple of 64). Record i (free-running from 0) lives
 * in slot i & (slots - 1). A slot is a 16-byte header {seq, len, type} and
 * up to slot_size - 16 payload bytes: with 64-byte slots a record of up to
 * 48 bytes is one cache line, and one message moves one line — readers
 * poll the slot's own seq word, never the writer's tail. Fixed slots keep
 * record boundaries known after a lap.
 *
 * Each slot is a seqlock for the record in it. Its seq word says:
 *   seq == 2i + 1   record i is being written (claimed, or staged in a
 *                   batch not published yet)
 *   seq == 2i + 2   record i is published
 *   0               never written
 * A reader at record i loads seq:
 *   == 2i + 2       the record is there: read it, then re-check seq;
 *   <= 2i + 1       not written yet (-EAGAIN);
 *   >  2i + 2       lapped: seq names a newer record j = (seq - 1) / 2 in
 *                   the same slot (claimed or published), so records up to
 *                   j - slots are gone, and so are those up to tail - 1 -
 *                   slots (tail: records published, read from the header).
 *                   The reader moves to oldest = max(j + 1, tail) - slots,
 *                   the first record not known to be gone, and counts
 *                   oldest - i lost: exact, every record skipped had its
 *                   slot taken. Its seq check on the next attempt decides
 *                   whether it is still valid (the writer may be claiming
 *                   its slot right now); if not, that is one more lap.
 *
 * Shared fields and their single writer:
 *   header block 0 (magic, ..., max_payload) .... creator, before (D1)
 *   sh->tail, msgs_in, bytes_in, writer ......... the writer role
 *   slot seq, len, type, payload ................ the writer role
 *   sh->waitq.seq ............................... the writer role (wakes,
 *                                                 by atomic add)
 *   sh->waitq.waiters ........................... every sleeping reader,
 *                                                 by atomic add/sub (wait.c)
 *   (readers write nothing else; read-only readers nothing at all)
 *
 * Ordering:
 *   (W1) writer, claim: store seq = 2i+1, release fence, then write the
 *        payload, len and type
 *     pairs with
 *   (R3) reader: read len, type and payload, acquire fence, re-load seq:
 *        a reader that saw any byte of record i + k*slots sees seq moved.
 *   (W3) writer, publish: payload, len, type (and the seqs of the rest of
 *        a batch, W2) before store-release seq = 2i+2
 *     pairs with
 *   (R1) reader: load-acquire seq, then read len, type and payload.
 *   (W2) batch: the seqs of every staged record but the first are stored
 *        relaxed; the first one's (W3) release publishes the whole batch.
 *        A reader reaches them only through the first (readers go in
 *        order), and a lapped reader meeting one only learns it is lapped.
 *   (W4) writer: store-release sh->tail after (W3)
 *     pairs with
 *   (R4) reader: load-acquire sh->tail, when attaching and resyncing.
 *        tail is never polled per message. The counters are relaxed.
 *   (K1) writer, after (W3)/(W4) of a publish: compiler barrier, load
 *        waitq.waiters (and the metadata page's ro_pending); if a
 *        sleeper is there, wake every sleeper ((W1) of
 *        wait.h, __pinshm_waitq_kick_ro())
 *     pairs with
 *   (K2) reader, pinshm_bcast_wait(): add 1 to waiters (read-only: arm
 *        ro_pending), membarrier, re-load its slot's seq as
 *        (R1) does, then sleep ((W2) of wait.h). Either the reader sees
 *        the even seq, or the writer the sleeper.
 *
 * Waiting: waiters counts every reader asleep, so it is never reset (there
 * are many readers, and no role word for them). A reader killed while
 * asleep leaves it one too high: nothing is lost, but from then on every
 * publish makes a wake syscall, until the ring is created anew. A writer killed
 * between a publish and its kick leaves sleepers asleep until the next
 * publish (its successor's attach kicks once).
 *
 * Zero-copy reading: pinshm_bcast_peek() hands out the record in place,
 * but the writer may overwrite it while the caller looks at it (it never
 * waits for readers). What was read in place is valid only if
 * pinshm_bcast_check() (one record) or pinshm_bcast_release() (everything
 * peeked) returns 0 afterwards; -ESTALE means the writer lapped the record
 * meanwhile: discard what was read from it. Until then treat the record as
 * untrusted: copy fields to locals, follow no pointer, loop on no count
 * read from it. pinshm_bcast_recv() copies, then validates, so a received
 * record is never torn.
 *
 * Shared memory is untrusted: a len above max_payload, or a seq that names
 * a record in another slot or too far ahead of tail gives -EBADMSG (and
 * bumps the reader's corrupt counter); every loop is bounded.
 *
 * Lossless rings (pinshm_bcast_create_flags(), PINSHM_BCAST_LOSSLESS): the
 * header is followed by a table of PINSHM_BCAST_GATES reader gates, one
 * 128-byte block each (struct pinshm_bcast_gate), and the writer never
 * overwrites a record a registered reader has not released. A reader
 * attaching with PINSHM_READER | PINSHM_BCAST_GATING takes a free gate (a
 * CAS of its holder word from 0), starts at the writer's position and
 * store-releases its position into the gate at every release; leaving
 * gives the gate back. The writer keeps a private limit (the slowest
 * gate's position plus slots, as the Disruptor's cached gating sequence):
 * claiming record n < limit costs one compare; at the limit it rescans the
 * gates out of line (__pinshm_bcast_gate()) and, still blocked, refuses
 * with -EAGAIN, counts sh->full_events and fires the backpressure probe.
 * A gate whose owner the region's metadata page shows no longer attached
 * (died, exec, detached) is dropped by the writer while it is blocked on
 * it; never on a timeout, so a slow or stopped live reader is never
 * dropped. A gate position ahead of the writer's tail is corrupt and
 * ignored; a gate behind (however far) holds the writer: that is the
 * mode's promise, and the writer only ever gets -EAGAIN, never a hang.
 * Readers without a gate (PINSHM_READER, read-only mappings) still read a
 * lossless ring, lossily: they may be lapped.
 *
 * Shared fields of a lossless ring and their single writer:
 *   sh->flags, sh->gates, the gate table's place .. creator, before (D1)
 *   sh->limit, full_events, dropped .............. the writer role
 *   gate holder ................................. CAS: a reader 0 -> self,
 *                                                 self -> 0; the writer
 *                                                 dead -> 0
 *   gate pos, owner, owner_pid, owner_start ..... the gate's holder
 * Ordering (lossless):
 *   (G1) reader, release: the reads of records below pos, then
 *        store-release gate pos
 *     pairs with
 *   (G2) writer, refresh: load-acquire gate pos, then overwrite (W1) the
 *        slots of records below it.
 *   (G3) writer, refresh: store-release limit' = tail + slots (raised
 *        only), full fence, then read the gates; it claims below
 *        min(gates, tail) + slots <= limit'
 *     pairs with
 *   (G4) reader, register: CAS the holder, store pos = p (tail), full
 *        fence, then load-acquire limit and move to max(p, limit -
 *        slots) (at most tail, which the acquire makes at least limit -
 *        slots). Dekker: either the writer's scan sees the gate, or the
 *        reader sees limit' and starts where nothing it will read can
 *        have been overwritten.
 *   (G5) reader, register: owner_pid and owner_start, then store-release
 *        owner = holder word
 *     pairs with
 *   (G6) writer, death check: load-acquire owner; equal to the holder it
 *        loaded, owner_pid/owner_start are that holder's; else the gate is
 *        being taken, and counts as alive.
 *   (G7) reader, leave: owner = 0, then CAS holder self -> 0, release,
 *        pairs with the next taker's acquire CAS (role words, dir.c).
 */
#ifndef PINSHM_BCAST_H
#define PINSHM_BCAST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <pinshm/barrier.h>
#include <pinshm/layout.h>
#include <pinshm/ring.h>
#include <pinshm/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pinshm_region;

/* Where a reader goes on pinshm_bcast_seek() (attaching: the NEXT record). */
#define PINSHM_BCAST_OLDEST	0	/* the oldest record still valid */
#define PINSHM_BCAST_NEWEST	1	/* the last published record */
#define PINSHM_BCAST_NEXT	2	/* the next record to be published */

/* Lapped again on every attempt: a peek gives up (-EAGAIN) after this. */
#define PINSHM_BCAST_PEEK_TRIES	8
/* recv: records found overwritten after copying before -EAGAIN. */
#define PINSHM_BCAST_RECV_STALE	64

/* Or'ed into PINSHM_READER by pinshm_bcast_attach(): register a gate. */
#define PINSHM_BCAST_GATING	0x10000
/* Blocked refreshes in a row before the writer asks the metadata page
 * whether the readers holding it back are alive. */
#define PINSHM_BCAST_DEATH_CHECK	256

/* A record handed out by peek (data in the ring) or recv (data = buf). */
struct pinshm_bcast_msg {
	const void *data;
	uint32_t len;
	uint32_t type;
	uint64_t seq;		/* the record's number: 0, 1, 2, ... */
};

/*
 * Process-private handle of the writer or of a reader: role says which, and
 * only that role's fields below mean anything. The verbs of the other role
 * must not be called on it (the inline ones do not check; the others say
 * -EPERM).
 */
struct pinshm_bcast {
	struct pinshm_bcast_shared *sh;	/* read-only for readers */
	uint8_t *base;		/* slot 0 */
	uint64_t slots;
	uint64_t mask;
	uint64_t slot_size;
	uint32_t max_payload;
	int role;		/* PINSHM_WRITER or PINSHM_READER */
	struct pinshm_waitq_ref wref;	/* the readers' wait queue */
	struct pinshm_bcast_gate *kgates;	/* lossless: the gate table;
						 * NULL otherwise */
	uint32_t ngates;
	union {
		struct {	/* writer */
			uint64_t limit;		/* claims below this need no
						 * look at the gates;
						 * UINT64_MAX when lossy */
			uint64_t limit_pub;	/* the highest sh->limit
						 * stored (G3) */
			uint64_t full_events;
			uint64_t dropped;
			uint32_t blocked;	/* refreshes refused in a row */
			struct pinshm_region *region;	/* its metadata */
			bool claimed;	/* slot of `next` marked 2i+1 */
			bool held;	/* a batch is staged; its first seq
					 * held back */
			uint64_t tail;		/* records published */
			uint64_t next;		/* next record to claim */
			uint64_t held_seq;	/* first record of the staged
						 * batch */
			uint64_t staged_bytes;
			uint64_t msgs_in;
			uint64_t bytes_in;
		};
		struct {	/* reader */
			struct pinshm_bcast_gate *kgate; /* ours, or NULL */
			uint32_t npeeked;	/* records peeked since the last
						 * release */
			bool may_wait;		/* writable mapping: may sleep
						 * (waitq); else arms
						 * wref.ro_pending */
			uint64_t pos;		/* next record after the last
						 * release */
			uint64_t rpos;		/* next record to peek */
			uint64_t peeked_bytes;

			/* This process's counters (pinshm_bcast_stats()). */
			uint64_t msgs;		/* records delivered (released,
						 * received) */
			uint64_t bytes;
			uint64_t lapped;	/* times this reader was lapped */
			uint64_t lost;		/* records it lost to lapping,
						 * exactly */
			uint64_t stale;		/* peeked/copied records found
						 * overwritten */
			uint64_t corrupt;	/* -EBADMSG returned */
		};
	};
};

/* A reader's own counters, pinshm_bcast_stats(). */
struct pinshm_bcast_stats {
	uint64_t msgs;
	uint64_t bytes;
	uint64_t lapped;
	uint64_t lost;
	uint64_t stale;
	uint64_t corrupt;
	uint64_t pos;		/* next record this reader will deliver */
};

/* Bytes of a slot for payloads of up to max_payload (create's geometry). */
static inline uint64_t __pinshm_bcast_slot_size(uint64_t max_payload)
{
	return (max_payload + PINSHM_BCAST_SLOT_HDR + PINSHM_BCAST_SLOT_ALIGN -
		1) & ~(uint64_t)(PINSHM_BCAST_SLOT_ALIGN - 1);
}

static inline struct pinshm_bcast_slot *
__pinshm_bcast_wslot(const struct pinshm_bcast *w, uint64_t i)
{
	return (struct pinshm_bcast_slot *)(w->base +
					    (i & w->mask) * w->slot_size);
}

static inline const struct pinshm_bcast_slot *
__pinshm_bcast_rslot(const struct pinshm_bcast *r, uint64_t i)
{
	return (const struct pinshm_bcast_slot *)(r->base +
						  (i & r->mask) * r->slot_size);
}

/* ---- writer ------------------------------------------------------------ */

/*
 * Slow path of the claim on a lossless ring, src/bcast.c: the cached limit
 * says record w->next may still be unread. Rescan the gates (dropping
 * dead readers' when blocked long enough) and set w->limit. 0: claim on;
 * -EAGAIN: a registered reader has not read the record in that slot;
 * -EBADMSG.
 */
int __pinshm_bcast_gate(struct pinshm_bcast *w);

/*
 * Claim the slot of the next record and point *out at its payload (room
 * for max_payload bytes; len is checked against it). Claiming marks the
 * slot as being written: the record it held before is gone for readers.
 * Claiming again without staging returns the same slot. Returns 0,
 * -EMSGSIZE (len > max_payload), -ENOBUFS (a staged batch already holds
 * slots - 1 records: publish first), and on a lossless ring -EAGAIN (a
 * registered reader has not read the record in that slot yet: try again;
 * a staged batch may be published meanwhile). Never waits.
 */
static inline int pinshm_bcast_claim(struct pinshm_bcast *w,
				     uint32_t len, void **out)
{
	struct pinshm_bcast_slot *sl;

	if (len > w->max_payload)
		return -EMSGSIZE;
	if (w->next - w->tail >= w->slots - 1)
		return -ENOBUFS;
	sl = __pinshm_bcast_wslot(w, w->next);
	if (!w->claimed) {
		if (w->next >= w->limit) {
			/* Lossless, at the cached gate: (G2) inside. */
			int ret = __pinshm_bcast_gate(w);

			if (ret)
				return ret;
		}
		PINSHM_WRITE_ONCE(sl->seq, 2 * w->next + 1);
		/* (W1) pairs with (R3): odd seq before any payload byte. */
		__pinshm_seq_wmb();
		w->claimed = true;
	}
	*out = sl + 1;
	return 0;
}

/*
 * Finish the claimed record with its final length (<= max_payload) and
 * type, without publishing it: stage several, then publish them at once.
 * Does nothing without a claim.
 */
static inline void pinshm_bcast_stage(struct pinshm_bcast *w,
				      uint32_t len, uint32_t type)
{
	struct pinshm_bcast_slot *sl;
	uint64_t i = w->next;

	if (!w->claimed)
		return;
	if (len > w->max_payload)
		len = w->max_payload;
	sl = __pinshm_bcast_wslot(w, i);
	/* Published by (W3), as the payload is. */
	__PINSHM_SEQ_STORE(sl->len, len);
	__PINSHM_SEQ_STORE(sl->type, type);
	if (!w->held) {
		w->held = true;
		w->held_seq = i;
	} else {
		/* (W2): made visible by the held record's (W3). */
		PINSHM_WRITE_ONCE(sl->seq, 2 * i + 2);
	}
	w->claimed = false;
	w->next = i + 1;
	w->staged_bytes += len;
}

/* Make every staged record visible at once. */
static inline void pinshm_bcast_publish(struct pinshm_bcast *w)
{
	if (!w->held)
		return;
	/* (W3) pairs with (R1): the batch's payloads, lengths and later
	 * seqs (W2) before the first record's even seq. */
	pinshm_store_release(&__pinshm_bcast_wslot(w, w->held_seq)->seq,
			     2 * w->held_seq + 2);
	w->held = false;
	w->msgs_in += w->next - w->tail;
	w->bytes_in += w->staged_bytes;
	w->staged_bytes = 0;
	w->tail = w->next;
	/* (W4) pairs with (R4): tail only after the records it counts. */
	pinshm_store_release(&w->sh->tail, w->tail);
	PINSHM_WRITE_ONCE(w->sh->msgs_in, w->msgs_in);
	PINSHM_WRITE_ONCE(w->sh->bytes_in, w->bytes_in);
	/* (K1) pairs with (K2): one load of waiters (and of ro_pending);
	 * a wake only when a reader sleeps. */
	__pinshm_waitq_kick_ro(&w->sh->waitq, &w->wref);
}

static inline void pinshm_bcast_commit(struct pinshm_bcast *w,
				       uint32_t len, uint32_t type)
{
	pinshm_bcast_stage(w, len, type);
	pinshm_bcast_publish(w);
}

/*
 * Copy helper: claim, copy, commit (publishing any staged batch with it).
 * Never waits. 0, -EMSGSIZE, -ENOBUFS, -EAGAIN (lossless; as claim).
 */
static inline int pinshm_bcast_send(struct pinshm_bcast *w,
				    const void *p, uint32_t len, uint32_t type)
{
	void *d;
	int ret = pinshm_bcast_claim(w, len, &d);

	if (ret)
		return ret;
	__pinshm_copy_in(d, p, len);
	pinshm_bcast_commit(w, len, type);
	return 0;
}

/* ---- reader ------------------------------------------------------------ */

/*
 * Slow path of the peek, src/bcast.c: the reader was lapped at rd->rpos
 * (slot seq s, nothing peeked) on attempt tries. Counts the records lost,
 * moves to the oldest one still valid and peeks on from attempt tries + 1.
 * A tail call of the inline peek, whose registers it therefore leaves
 * alone.
 */
int __pinshm_bcast_lapped(struct pinshm_bcast *rd, struct pinshm_bcast_msg *m,
			  uint64_t s, unsigned int tries);

static inline int __pinshm_bcast_corrupt(struct pinshm_bcast *r)
{
	r->corrupt++;
	return -EBADMSG;
}

/* Forget everything peeked since the last release (it will come again
 * if it is still valid). */
static inline void __pinshm_bcast_unpeek(struct pinshm_bcast *r)
{
	r->rpos = r->pos;
	r->npeeked = 0;
	r->peeked_bytes = 0;
}

/* pinshm_bcast_peek() from attempt tries on (each lap is one). */
static inline int __pinshm_bcast_peek_from(struct pinshm_bcast *r,
					    struct pinshm_bcast_msg *m,
					    unsigned int tries)
{
	const struct pinshm_bcast_slot *sl;
	uint64_t i, s;
	uint32_t len;

	for (; tries < PINSHM_BCAST_PEEK_TRIES; tries++) {
		i = r->rpos;
		sl = __pinshm_bcast_rslot(r, i);
		/* (R1) pairs with (W3): the record is whole once seq is. */
		s = pinshm_load_acquire(&sl->seq);
		if (s == 2 * i + 2) {
			len = __PINSHM_SEQ_LOAD(sl->len);
			if (len > r->max_payload) {
				/* (R3) pairs with (W1): torn, or corrupt? */
				__pinshm_seq_rmb();
				if (PINSHM_READ_ONCE(sl->seq) != s)
					continue;	/* lapped: look again */
				return __pinshm_bcast_corrupt(r);
			}
			m->data = sl + 1;
			m->len = len;
			m->type = __PINSHM_SEQ_LOAD(sl->type);
			m->seq = i;
			r->rpos = i + 1;
			r->npeeked++;
			r->peeked_bytes += len;
			return 0;
		}
		if (s <= 2 * i + 1)
			return -EAGAIN;
		if (r->npeeked) {
			/* The oldest peek is a ring older than record i: its
			 * slot went before this one's. */
			__pinshm_bcast_unpeek(r);
			r->stale++;
			return -ESTALE;
		}
		/* Lapped: resynchronise and peek on, out of line. */
		return __pinshm_bcast_lapped(r, m, s, tries);
	}
	return -EAGAIN;
}

/*
 * Look at the next record in place. Successive peeks walk forward;
 * pinshm_bcast_release() validates and consumes everything peeked. The
 * record may be overwritten while you look at it: see the top comment.
 * Returns 0; -EAGAIN when there is nothing new (or the reader was lapped
 * PINSHM_BCAST_PEEK_TRIES times in a row); -ESTALE when the writer lapped
 * records peeked earlier and not yet released (they are dropped: discard
 * them; peek again); -EBADMSG on a corrupt ring. Lapping is handled here:
 * the reader moves on to the oldest valid record and counts the loss (see
 * pinshm_bcast_stats(), and m->seq jumps).
 */
static inline int pinshm_bcast_peek(struct pinshm_bcast *r,
				    struct pinshm_bcast_msg *m)
{
	return __pinshm_bcast_peek_from(r, m, 0);
}

/* Peek up to n records; returns how many, or -ESTALE / -EBADMSG. */
static inline int pinshm_bcast_peek_batch(struct pinshm_bcast *r,
					  struct pinshm_bcast_msg *m,
					  unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = pinshm_bcast_peek(r, &m[i]);
		if (ret == -EAGAIN)
			break;
		if (ret == -ESTALE)
			return ret;	/* m[0..i) were dropped too */
		if (ret)
			return i ? (int)i : ret;
	}
	return (int)i;
}

/*
 * Was record m (from peek) still intact after everything the caller read
 * from it? 0 yes, -ESTALE it was overwritten (discard what was read).
 */
static inline int pinshm_bcast_check(const struct pinshm_bcast *r,
				     const struct pinshm_bcast_msg *m)
{
	/* (R3) pairs with (W1): the caller's reads before the re-check. */
	__pinshm_seq_rmb();
	return PINSHM_READ_ONCE(__pinshm_bcast_rslot(r, m->seq)->seq) ==
	       2 * m->seq + 2 ? 0 : -ESTALE;
}

/*
 * Consume everything peeked. Returns 0 when all of it was still intact
 * after the caller's reads; -ESTALE when the writer overwrote some of it
 * meanwhile: then nothing is consumed, the caller discards all it read
 * since the last release, and the next peek counts the lap. (The writer
 * goes in order, so the oldest peeked record is the first to go: checking
 * it checks them all.)
 */
static inline int pinshm_bcast_release(struct pinshm_bcast *r)
{
	uint64_t i = r->pos;

	if (!r->npeeked)
		return 0;
	/* (R3) pairs with (W1): the caller's reads before the re-check. */
	__pinshm_seq_rmb();
	if (PINSHM_READ_ONCE(__pinshm_bcast_rslot(r, i)->seq) != 2 * i + 2) {
		__pinshm_bcast_unpeek(r);
		r->stale++;
		return -ESTALE;
	}
	r->msgs += r->npeeked;
	r->bytes += r->peeked_bytes;
	r->pos = r->rpos;
	r->npeeked = 0;
	r->peeked_bytes = 0;
	if (r->kgate)
		/* (G1) pairs with (G2): our reads of the records below pos
		 * before the writer's claim of their slots. */
		pinshm_store_release(&r->kgate->pos, r->pos);
	return 0;
}

/*
 * Sleep until the record at the reader's position is published (or the
 * reader is lapped, or its slot holds something corrupt: peek then says
 * so), or timeout_ns passes (< 0: no timeout; 0: just look). Returns 0,
 * -ETIMEDOUT, -EINTR, -EINVAL, -EPERM (the writer); -EACCES for a reader on a read-only mapping
 * of the shm backend that may not write the region's file either: a
 * sleeper must tell the writer it sleeps and cannot (a read-only reader
 * arms ro_pending in the metadata page; on pinshm.ko regions the module
 * does it for it); -ENOSYS (no membarrier GLOBAL_EXPEDITED)
 * or -EOPNOTSUPP (the kernel cannot sleep on this memory: see
 * pinshm_waitq_wait()). On the last three, spin or yield.
 */
int pinshm_bcast_wait(struct pinshm_bcast *rd, int64_t timeout_ns);

/*
 * Copy the next record into buf, then validate it: a received record is
 * never torn. Returns its length (m, if not NULL, gets len, type, seq and
 * data = buf); -EAGAIN (PINSHM_WAIT_NONE and nothing there, or the writer
 * kept overwriting what was being copied); -EMSGSIZE (the record does not
 * fit in buflen; it stays next); -EBADMSG; -EINTR (PINSHM_WAIT_FUTEX: a
 * signal arrived while asleep). wait: PINSHM_WAIT_NONE, _SPIN, _YIELD or
 * _FUTEX (spin PINSHM_YIELD_SPINS times, then sleep in pinshm_bcast_wait();
 * readers that cannot sleep there, read-only ones included, yield).
 * Records peeked and not released before are released first.
 */
static inline int pinshm_bcast_recv(struct pinshm_bcast *r, void *buf,
				    uint32_t buflen, struct pinshm_bcast_msg *m,
				    int wait)
{
	struct pinshm_bcast_msg pm;
	unsigned int spins = 0, stale = 0;
	int ret;

	for (;;) {
		ret = pinshm_bcast_peek(r, &pm);
		if (ret == -EAGAIN) {
			if (wait == PINSHM_WAIT_NONE)
				return ret;
			if (wait == PINSHM_WAIT_FUTEX &&
			    spins >= PINSHM_YIELD_SPINS) {
				ret = pinshm_bcast_wait(r, -1);
				if (ret == -EINTR)
					return ret;
				if (ret)	/* -EACCES, -ENOSYS, -EOPNOTSUPP */
					wait = PINSHM_WAIT_YIELD;
				continue;
			}
			__pinshm_wait_step(wait, &spins);
			continue;
		}
		if (ret == -ESTALE)
			continue;	/* earlier peeks dropped; go on */
		if (ret)
			return ret;
		if (pm.len > buflen) {
			if (pinshm_bcast_check(r, &pm) == 0) {
				r->rpos = pm.seq;
				r->npeeked--;
				r->peeked_bytes -= pm.len;
				return -EMSGSIZE;
			}
		} else {
			__pinshm_copy_out(buf, pm.data, pm.len);
			if (pinshm_bcast_release(r) == 0)
				break;
		}
		/* Overwritten while we looked: the next peek counts it. */
		if (pm.len > buflen) {
			__pinshm_bcast_unpeek(r);
			r->stale++;
		}
		if (++stale >= PINSHM_BCAST_RECV_STALE)
			return -EAGAIN;
	}
	if (m) {
		m->data = buf;
		m->len = pm.len;
		m->type = pm.type;
		m->seq = pm.seq;
	}
	return (int)pm.len;
}

/* ---- setup ------------------------------------------------------------- */

/*
 * Add a broadcast ring of `slots` slots (power of two, 2..2^24), each
 * holding a record of up to max_payload bytes; the slot size is
 * max_payload + 16 rounded up to 64 (so the effective max_payload, which
 * pinshm_obj_find() reports as max_record, may be larger). -EINVAL,
 * -EEXIST, -ENOSPC, -EACCES (read-only region).
 */
int pinshm_bcast_create(struct pinshm_region *r, const char *name,
			uint64_t slots, uint32_t max_payload);

/*
 * The same, with flags: 0 (a lossy ring, as pinshm_bcast_create()) or
 * PINSHM_BCAST_LOSSLESS: the writer is gated by its registered readers
 * (up to PINSHM_BCAST_GATES of them; see the top). Unknown flags: -EINVAL.
 */
int pinshm_bcast_create_flags(struct pinshm_region *r, const char *name,
			      uint64_t slots, uint32_t max_payload,
			      uint32_t flags);

/*
 * Take a role of a ring. PINSHM_WRITER: -EBUSY while a live process holds
 * it; a dead writer's role is taken over and the ring continues after its
 * last published record (records it had claimed or staged are withdrawn);
 * -EACCES (read-only region). PINSHM_READER: a reader at the next record
 * to be published (pinshm_bcast_seek() moves it). Works on read-only
 * regions: readers never write shared memory (except to sleep in
 * pinshm_bcast_wait(), which read-only readers do through the metadata
 * page, see the top). Any number of readers, no registration.
 * PINSHM_READER | PINSHM_BCAST_GATING, on a lossless ring: a registered
 * reader, which takes a gate, starts at the next record to be published
 * and is never lapped (the writer waits for it); pinshm_bcast_detach()
 * gives the gate back, and a reader that dies keeps it until the writer,
 * blocked on it, finds the death in the metadata page. -EACCES (read-only
 * region: it could not write its gate), -ENOSPC (every gate taken),
 * -EOPNOTSUPP (a lossy ring), -EPERM (the process has no attach of its own
 * in the metadata page: a forked child could never be told dead). Either:
 * -EINVAL, -ENOENT, -EPROTOTYPE, -EBADMSG, -EPROTONOSUPPORT (another
 * library version's ring).
 */
int pinshm_bcast_attach(struct pinshm_region *r, const char *name, int role,
			struct pinshm_bcast *out);

/* The writer publishes anything staged and gives the role back; a
 * registered reader gives its gate back. */
int pinshm_bcast_detach(struct pinshm_bcast *h);

/*
 * Reader: move to PINSHM_BCAST_OLDEST, _NEWEST or _NEXT (dropping its
 * peeks), e.g. past a corrupt record. A registered reader only moves
 * forward (records behind its gate may be gone): a place behind its
 * position leaves it where it is. -EINVAL, -EPERM (the writer).
 */
int pinshm_bcast_seek(struct pinshm_bcast *rd, int from);

/*
 * Reader: its own counters (process-local). -EINVAL, -EPERM (the writer).
 * A lossless writer's refused claims and the dead readers' gates it
 * dropped are shared: pinshm_obj_stats(), full_events and recoveries.
 */
int pinshm_bcast_stats(const struct pinshm_bcast *rd,
		       struct pinshm_bcast_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* PINSHM_BCAST_H */
