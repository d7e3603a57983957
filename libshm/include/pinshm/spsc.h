/* SPDX-License-Identifier: MIT */
/*
 * SPSC ring: one producer process, one consumer process, variable-length
 * records, zero-copy claim/commit and peek/release. The fast path is all
 * inline here: no call, no syscall, no lock.
 *
 * One message moves one cache line. The consumer never reads the
 * producer's index: it polls the length word of the record at its own
 * position, where 0 means "not yet" (published words carry
 * PINSHM_REC_COMMIT, so empty payloads are records too). For that, every
 * byte the producer may write next is zero: the consumer zeroes what it
 * has released and hands the space back through sh->zeroed. The newest
 * released record stays intact, so a restarted producer can read its last
 * message back; the rest is zeroed in batches, not per release: on a
 * machine whose two cores sit far apart, writing each consumed line back
 * at once made the unbatched stream 2-4x slower (docs/performance.md).
 * When it zeroes: PINSHM_SPSC_ZERO_BATCH. The zeroed lines are demoted to
 * the shared cache, where the producer's writes find them
 * (__pinshm_demote()). The producer reads sh->zeroed only when its cached
 * copy says the ring is full.
 *
 * Ownership of the buffer, by position (free-running byte counts):
 *   [zeroed, head)        consumer's: released, zeroed later (all but
 *                         the newest released record, [rlast, head))
 *   [head, tail)          published records, read-only to both
 *   [tail, zeroed + cap)  producer's: all zero until it writes; it
 *                         leaves the last 8 bytes (a header) unwritten
 * Shared words and their single writer:
 *   record headers (len, type) ............ producer; zeroed by the consumer
 *                                           once released (ownership above)
 *   sh->tail, last, msgs_in, bytes_in, full_events ...... producer
 *   sh->head, zeroed, rlast, msgs_out, bytes_out, corrupt  consumer
 *
 * Ordering:
 *   (A) producer: write payload and type, then store-release len
 *     pairs with
 *   (B) consumer: load-acquire len, then read type and payload.
 *   (C) consumer: finish reading, store rlast, store-release head (a
 *       restart point: everything below is consumed); then (a release)
 *       zero [zeroed, rlast), or later (an empty peek) its oldest part,
 *       then store-release zeroed
 *     pairs with
 *   (D) producer: load-acquire zeroed, then write into the bytes below
 *       zeroed + cap (they are zero and nobody reads them).
 *   (E) producer: store sh->last, then store-release sh->tail, both after
 *       (A); a restarted producer (pinshm_spsc_attach()) starts from tail
 *       (or head, if the consumer is past it) and walks forward over
 *       published headers, so a producer killed between (A) and (E) loses
 *       nothing; it then zeroes its free space, which a dead producer may
 *       have written without publishing. The counters are relaxed.
 *
 * A batch: pinshm_spsc_stage() writes every header but the first with a
 * relaxed store and keeps the first back; pinshm_spsc_publish() then
 * store-releases it (A), which makes the whole batch visible at once.
 *
 * Nothing read from shared memory is trusted: a length that is too large
 * or runs past the buffer makes pinshm_spsc_peek() fail with -EBADMSG.
 */
#ifndef PINSHM_SPSC_H
#define PINSHM_SPSC_H

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

/*
 * Released bytes the SPSC consumer lets pile up before it zeroes them in
 * one go: a peek that finds nothing zeroes the older half once
 * PINSHM_SPSC_ZERO_BATCH are pending, a release all once
 * PINSHM_SPSC_ZERO_MAX are (less on rings whose max_record leaves less
 * room, see spsc.c). A consumer that always finds records waiting still
 * zeroes; one that waits for them zeroes while it waits, not on its way
 * to the next record.
 */
#define PINSHM_SPSC_ZERO_BATCH	4096
#define PINSHM_SPSC_ZERO_MAX	8192

/* Process-private handle; fields without sh/buf point nowhere shared. */
struct pinshm_spsc {
	struct pinshm_spsc_shared *sh;
	uint8_t *buf;
	uint64_t cap;
	uint64_t mask;
	uint64_t max_record;
	int role;
	bool blocked;		/* producer: last claim was refused */
	bool held;		/* producer: first staged header kept back */
	struct pinshm_waitq_ref wref;	/* the consumer's wait queue */
	struct pinshm_waitq *kwq;	/* that queue: the ring's own, or the
					 * fan-in ring's that the lane is of */

	/* producer */
	uint64_t tail;		/* end of everything staged */
	uint64_t zeroed_cache;	/* last sh->zeroed seen */
	uint64_t claim_pad;	/* bytes of filler before the claimed record */
	uint64_t held_off;
	uint64_t last_pos;	/* start of the last staged record */
	uint32_t held_len;
	uint32_t staged_msgs;
	uint64_t staged_bytes;
	uint64_t msgs_in;
	uint64_t bytes_in;
	uint64_t full_events;

	/* consumer */
	uint64_t head;		/* released position */
	uint64_t rpos;		/* read position: head plus peeked records */
	uint64_t rlast;		/* start of the last peeked record */
	uint64_t zeroed;	/* our copy of sh->zeroed */
	uint64_t zero_batch;	/* release zeroes once this much is
				 * pending (at most PINSHM_SPSC_ZERO_MAX) */
	uint32_t peeked_msgs;
	uint64_t peeked_bytes;
	uint64_t msgs_out;
	uint64_t bytes_out;
};

/* ---- setup ------------------------------------------------------------- */

/*
 * Add an SPSC ring of capacity bytes (power of two, >= 1 KiB) to a region.
 * max_record 0 picks capacity/4 - 16; any value must leave room for three
 * records: 3 * (max_record + 16) <= capacity. Errors: -EINVAL, -EEXIST,
 * -ENOSPC (no room in the region or the directory), -EACCES read-only.
 */
int pinshm_spsc_create(struct pinshm_region *r, const char *name,
		       uint64_t capacity, uint64_t max_record);

/*
 * Take the producer or consumer role of a ring. A role held by a live
 * process gives -EBUSY; one left by a dead process is taken over and the
 * ring continues from its committed positions. -ENOENT, -EPROTOTYPE (the
 * object is not an SPSC ring), -EBADMSG (header invalid),
 * -EPROTONOSUPPORT (the ring was made by a libpinshm of another ring
 * layout version: processes sharing a ring must use one version), -EACCES
 * (read-only region). The same -EPROTONOSUPPORT holds for every ring
 * type's attach.
 */
int pinshm_spsc_attach(struct pinshm_region *r, const char *name, int role,
		       struct pinshm_spsc *out);

/*
 * Producer only: the last record this producer role published (or staged),
 * read back from
 * the buffer (the producer never overwrites it until it writes again). A
 * restarted producer uses it to resume exactly after its last committed
 * message (`pinshm pub --seq` does; there is no separate "user_word").
 * -ENOENT nothing published yet, -EBADMSG corrupt, -EPERM not the producer.
 */
int pinshm_spsc_last(struct pinshm_spsc *ring, struct pinshm_msg *out);

/* Publish anything staged and give the role back. */
int pinshm_spsc_detach(struct pinshm_spsc *ring);

/* Slow path of the claim, src/spsc.c: count a back-pressure event (the
 * ring was found full after a claim that was not), set blocked. */
void __pinshm_spsc_full(struct pinshm_spsc *ring);

static inline struct pinshm_rec *__pinshm_spsc_rec(struct pinshm_spsc *r,
						   uint64_t pos)
{
	return (struct pinshm_rec *)(r->buf + (pos & r->mask));
}

/*
 * Reserve room for a record of up to len payload bytes and point *out at
 * its payload. Returns 0, -EAGAIN when the ring is full (counted in
 * full_events once per run of refusals, out of line: __pinshm_spsc_full()),
 * -EMSGSIZE when len > max_record.
 */
static inline int pinshm_spsc_claim(struct pinshm_spsc *r, uint32_t len,
				    void **out)
{
	uint64_t size, off, pad, need;

	if (len > r->max_record)
		return -EMSGSIZE;
	size = __pinshm_rec_size(len);
	off = r->tail & r->mask;
	pad = __pinshm_wrap_pad(off, size, r->cap);
	/*
	 * The record, the filler before it, and the header after it, which
	 * must stay zero: at zeroed + cap lies the newest released record,
	 * kept intact, whose header must not be read as a new one.
	 */
	need = pad + size + PINSHM_REC_HDR;
	if (r->tail + need - r->zeroed_cache > r->cap) {
		/* (D) pairs with (C): these bytes are zero and unread. */
		r->zeroed_cache = pinshm_load_acquire(&r->sh->zeroed);
		if (r->tail + need - r->zeroed_cache > r->cap) {
			if (!r->blocked)
				__pinshm_spsc_full(r);
			return -EAGAIN;
		}
	}
	r->blocked = false;
	r->claim_pad = pad;
	*out = r->buf + ((off + pad) & r->mask) + PINSHM_REC_HDR;
	return 0;
}

/* Write a length word now, or keep it back if it opens a batch. */
static inline void __pinshm_spsc_put_len(struct pinshm_spsc *r, uint64_t pos,
					 uint32_t len)
{
	if (!r->held) {
		r->held = true;
		r->held_off = pos;
		r->held_len = len;
		return;
	}
	/* Made visible by the release of the held header (A). */
	PINSHM_WRITE_ONCE(__pinshm_spsc_rec(r, pos)->len, len);
}

/*
 * Finish the claimed record with its final length (<= the claimed length)
 * and type, without making it visible yet.
 */
static inline void pinshm_spsc_stage(struct pinshm_spsc *r, uint32_t len,
				     uint32_t type)
{
	uint64_t size = __pinshm_rec_size(len);

	if (r->claim_pad) {
		__pinshm_spsc_put_len(r, r->tail, PINSHM_REC_PAD);
		r->tail += r->claim_pad;
		r->claim_pad = 0;
	}
	__pinshm_spsc_rec(r, r->tail)->type = type;	/* published by (A) */
	__pinshm_spsc_put_len(r, r->tail, PINSHM_REC_COMMIT | len);
	r->last_pos = r->tail;
	r->tail += size;
	r->staged_msgs++;
	r->staged_bytes += len;
}

/* After (A): the restart point and counters, then a wake if needed. */
static inline void __pinshm_spsc_published(struct pinshm_spsc *r)
{
	/* (E): last before tail; see the top comment. */
	PINSHM_WRITE_ONCE(r->sh->last, r->last_pos);
	pinshm_store_release(&r->sh->tail, r->tail);
	PINSHM_WRITE_ONCE(r->sh->msgs_in, r->msgs_in);
	PINSHM_WRITE_ONCE(r->sh->bytes_in, r->bytes_in);
	/* (W1) of wait.h: a sleeping consumer, if any, gets a wake. */
	__pinshm_waitq_kick(r->kwq, &r->wref);
}

/* Make every staged record visible to the consumer at once. */
static inline void pinshm_spsc_publish(struct pinshm_spsc *r)
{
	if (!r->held)
		return;
	/* (A) pairs with (B): payloads and later headers before this length. */
	pinshm_store_release(&__pinshm_spsc_rec(r, r->held_off)->len,
			     r->held_len);
	r->held = false;
	r->msgs_in += r->staged_msgs;
	r->bytes_in += r->staged_bytes;
	r->staged_msgs = 0;
	r->staged_bytes = 0;
	__pinshm_spsc_published(r);
}

/*
 * Finish the claimed record and make it (and anything staged before it)
 * visible. A lone record without filler in front, the common case, takes
 * the short way: its own length word is the one released.
 */
static inline void pinshm_spsc_commit(struct pinshm_spsc *r, uint32_t len,
				      uint32_t type)
{
	struct pinshm_rec *rec;

	if (__builtin_expect(r->held || r->claim_pad, 0)) {
		pinshm_spsc_stage(r, len, type);
		pinshm_spsc_publish(r);
		return;
	}
	rec = __pinshm_spsc_rec(r, r->tail);
	rec->type = type;	/* published by (A) */
	/* (A) pairs with (B): payload and type before this length. */
	pinshm_store_release(&rec->len, PINSHM_REC_COMMIT | len);
	r->last_pos = r->tail;
	r->tail += __pinshm_rec_size(len);
	r->msgs_in++;
	r->bytes_in += len;
	__pinshm_spsc_published(r);
}

/* Zero [from, to) of the buffer, positions free-running, and demote it
 * (the producer's next writes go there). */
static inline void __pinshm_spsc_zero(struct pinshm_spsc *r, uint64_t from,
				      uint64_t to)
{
	uint64_t off = from & r->mask, len = to - from;

	if (off + len > r->cap) {
		memset(r->buf + off, 0, r->cap - off);
		__pinshm_demote(r->buf + off, r->cap - off);
		len -= r->cap - off;
		off = 0;
	}
	memset(r->buf + off, 0, len);
	__pinshm_demote(r->buf + off, len);
}

/* (C): zero released space up to to (<= rlast: the newest released
 * record stays intact) and hand it over. */
static inline void __pinshm_spsc_zero_to(struct pinshm_spsc *r, uint64_t to)
{
	__pinshm_spsc_zero(r, r->zeroed, to);
	r->zeroed = to;
	/* (C) pairs with (D): the zeroes before the space is handed over. */
	pinshm_store_release(&r->sh->zeroed, to);
}

/*
 * A peek found nothing: the consumer has time, so once
 * PINSHM_SPSC_ZERO_BATCH released bytes are pending it zeroes the older
 * half of them: a small piece of work (a record that arrives meanwhile
 * waits for it), on lines read long ago. Nothing may be peeked and
 * unreleased: rlast is then the newest released record.
 */
static inline void __pinshm_spsc_idle(struct pinshm_spsc *r)
{
	if (r->rpos == r->head &&
	    r->rlast - r->zeroed >= PINSHM_SPSC_ZERO_BATCH)
		__pinshm_spsc_zero_to(r,
				      r->zeroed + PINSHM_SPSC_ZERO_BATCH / 2);
}

/*
 * Peek a run of up to n plain records, with the positions in registers:
 * each record's header is found from the one before, so the handle's
 * fields written back per record stood in that chain. Stops at n, at an
 * empty header (*empty set) and at anything else (filler, corrupt), which
 * pinshm_spsc_peek() then takes. Returns how many it took.
 */
static inline unsigned int __pinshm_spsc_peek_run(struct pinshm_spsc *r,
						  struct pinshm_msg *m,
						  unsigned int n, bool *empty)
{
	const uint8_t *buf = r->buf;
	uint64_t mask = r->mask, cap = r->cap, rpos = r->rpos, rlast = r->rlast;
	uint64_t end = r->zeroed + cap, bytes = 0;
	/* The last header taken and its record's size; to begin with, those
	 * of an empty record, which are valid: never 0. */
	uint32_t word = PINSHM_REC_COMMIT;
	uint64_t size = __pinshm_rec_size(0);
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t off = rpos & mask;
		const struct pinshm_rec *rec = (const void *)(buf + off);
		/* (B) pairs with (A): the payload is complete once len is seen. */
		uint32_t len = pinshm_load_acquire(&rec->len);

		/*
		 * A header like the last one has its size: a branch, which
		 * the CPU predicts and runs past, so the next header's address
		 * does not wait for this one's load (a stream's records are
		 * mostly of one length).
		 */
		if (__builtin_expect(len != word, 0)) {
			/* Kept a branch, not a conditional move: see
			 * __pinshm_wrap_pad(). */
			__asm__ __volatile__("" : "+r"(len));
			if ((len & (PINSHM_REC_COMMIT | PINSHM_REC_PAD)) !=
			    PINSHM_REC_COMMIT) {
				*empty = len == 0;
				break;
			}
			if ((len & PINSHM_REC_LEN_MASK) > r->max_record)
				break;
			word = len;
			size = __pinshm_rec_size(len & PINSHM_REC_LEN_MASK);
		}
		len &= PINSHM_REC_LEN_MASK;
		/* Nothing lies past zeroed + cap: the producer never writes
		 * there. This also bounds what release() zeroes to less than
		 * a ring. */
		if (off + size > cap || rpos + size > end)
			break;
		m[i].data = (void *)(rec + 1);
		m[i].len = len;
		m[i].type = rec->type;
		rlast = rpos;
		rpos += size;
		bytes += len;
	}
	r->rpos = rpos;
	r->rlast = rlast;
	r->peeked_msgs += i;
	r->peeked_bytes += bytes;
	return i;
}

/*
 * Look at the next record without consuming it. Successive peeks walk
 * forward; pinshm_spsc_release() gives back everything peeked so far.
 * Returns 0, -EAGAIN when nothing is there, -EBADMSG when the ring holds
 * something no producer of ours could have written.
 */
static inline int pinshm_spsc_peek(struct pinshm_spsc *r,
				   struct pinshm_msg *m)
{
	uint64_t off = r->rpos & r->mask;
	bool empty = false;

	if (__pinshm_spsc_peek_run(r, m, 1, &empty))
		return 0;
	if (empty) {
		__pinshm_spsc_idle(r);
		return -EAGAIN;
	}
	/* (B) again, for what stopped the run: a filler skips to the start
	 * of the buffer (none can lie at offset 0), anything else is
	 * corrupt. */
	if (off != 0 &&
	    pinshm_load_acquire(&__pinshm_spsc_rec(r, r->rpos)->len) ==
	    PINSHM_REC_PAD) {
		r->rpos += r->cap - off;
		if (__pinshm_spsc_peek_run(r, m, 1, &empty))
			return 0;
		if (empty)
			return -EAGAIN;
	}
	PINSHM_WRITE_ONCE(r->sh->corrupt, PINSHM_READ_ONCE(r->sh->corrupt) + 1);
	return -EBADMSG;
}

/* Peek up to n records; returns how many (0 when empty) or -EBADMSG. */
static inline int pinshm_spsc_peek_batch(struct pinshm_spsc *r,
					 struct pinshm_msg *m, unsigned int n)
{
	unsigned int i = 0;
	bool empty = false;
	int ret;

	while (i < n) {
		i += __pinshm_spsc_peek_run(r, m + i, n - i, &empty);
		if (i == n)
			break;
		if (empty) {
			__pinshm_spsc_idle(r);
			break;
		}
		/* A filler, or something corrupt: the one-record way. */
		ret = pinshm_spsc_peek(r, &m[i]);
		if (ret == -EAGAIN)
			break;
		if (ret)
			return i ? (int)i : ret;
		i++;
	}
	return (int)i;
}

/* Give every peeked record back to the producer. */
static inline void pinshm_spsc_release(struct pinshm_spsc *r)
{
	if (r->rpos == r->head)
		return;
	r->head = r->rpos;
	r->msgs_out += r->peeked_msgs;
	r->bytes_out += r->peeked_bytes;
	r->peeked_msgs = 0;
	r->peeked_bytes = 0;
	/* (C) rlast before head: a restarted producer reads them in turn. */
	PINSHM_WRITE_ONCE(r->sh->rlast, r->rlast);
	/* (C) our payload reads are done; below head is consumed. */
	pinshm_store_release(&r->sh->head, r->head);
	if (r->rlast - r->zeroed >= r->zero_batch)
		__pinshm_spsc_zero_to(r, r->rlast);
	PINSHM_WRITE_ONCE(r->sh->msgs_out, r->msgs_out);
	PINSHM_WRITE_ONCE(r->sh->bytes_out, r->bytes_out);
}

/*
 * Consumer only: sleep until the record at the read position is published
 * (or something corrupt is there, which peek then reports), or timeout_ns
 * passes (< 0: no timeout; 0: just look). Returns 0, -ETIMEDOUT, -EINTR,
 * -EPERM (not the consumer), -ENOSYS (no membarrier GLOBAL_EXPEDITED) or
 * -EOPNOTSUPP (the kernel cannot sleep on this memory: see
 * pinshm_waitq_wait()): on the last two, spin or yield instead.
 */
int pinshm_spsc_wait(struct pinshm_spsc *ring, int64_t timeout_ns);

/*
 * Copy helpers. pinshm_spsc_send(): claim, copy, commit. wait:
 * PINSHM_WAIT_NONE/SPIN/YIELD; a producer never sleeps on a full ring (the
 * consumer wakes nobody), so PINSHM_WAIT_FUTEX waits as PINSHM_WAIT_YIELD
 * does. Returns 0, -EAGAIN (PINSHM_WAIT_NONE only), -EMSGSIZE.
 */
static inline int pinshm_spsc_send(struct pinshm_spsc *r, const void *p,
				   uint32_t len, uint32_t type, int wait)
{
	unsigned int spins = 0;
	void *dst;
	int ret;

	if (wait == PINSHM_WAIT_FUTEX)
		wait = PINSHM_WAIT_YIELD;
	while ((ret = pinshm_spsc_claim(r, len, &dst)) == -EAGAIN) {
		if (wait == PINSHM_WAIT_NONE)
			return ret;
		__pinshm_wait_step(wait, &spins);
	}
	if (ret)
		return ret;
	memcpy(dst, p, len);
	pinshm_spsc_commit(r, len, type);
	return 0;
}

/*
 * Copy the next record into buf. Returns its length, -EAGAIN (only with
 * PINSHM_WAIT_NONE), -EMSGSIZE if it does not fit in buflen (it stays in
 * the ring), -EBADMSG on a corrupt ring, -EINTR (PINSHM_WAIT_FUTEX: a
 * signal arrived while asleep).
 */
static inline int pinshm_spsc_recv(struct pinshm_spsc *r, void *buf,
				   uint32_t buflen, uint32_t *type, int wait)
{
	struct pinshm_msg m;
	unsigned int spins = 0;
	uint64_t rpos = r->rpos, rlast = r->rlast;
	int ret;

	while ((ret = pinshm_spsc_peek(r, &m)) == -EAGAIN) {
		if (wait == PINSHM_WAIT_NONE)
			return ret;
		if (wait == PINSHM_WAIT_FUTEX && spins >= PINSHM_YIELD_SPINS) {
			ret = pinshm_spsc_wait(r, -1);
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
		r->rpos = rpos;
		r->rlast = rlast;
		r->peeked_msgs--;
		r->peeked_bytes -= m.len;
		return -EMSGSIZE;
	}
	memcpy(buf, m.data, m.len);
	if (type)
		*type = m.type;
	pinshm_spsc_release(r);
	return (int)m.len;
}

#ifdef __cplusplus
}
#endif

#endif /* PINSHM_SPSC_H */
