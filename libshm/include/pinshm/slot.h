/* SPDX-License-Identifier: MIT */
/*
 * Latest-value slot: a seqlock holding the newest value of something (a
 * book top, a parameter set) that is written far less often than read.
 * One writer, any number of readers; readers never block the writer and
 * never write shared memory, so a read-only mapping (PINSHM_RDONLY or
 * PINSHM_OBSERVE) is enough to read. Readers usually poll; one that would
 * rather sleep until the next write calls pinshm_slot_wait() (or
 * pinshm_slot_recv() with PINSHM_WAIT_FUTEX), which counts it in the
 * slot's wait queue and so takes a writable mapping; a read-only reader
 * arms its queue's word in the metadata page instead (see pinshm/bcast.h),
 * which on the shm backend takes write access to the region's file:
 * without it, -EACCES there, and pinshm_slot_recv() yields instead.
 *
 * Layout (struct pinshm_slot_shared, below): block 0 constant, block 1 the
 * writer's counters and role (never read on a read path), block 2 the
 * wait queue, then the seqlock line: seq, state and the value right after
 * them, so that a value of up to 48 bytes shares its cache line with seq
 * and one update moves one line.
 *
 * Shared fields and their single writer:
 *   magic, version, size, value_off ...... creator, before the directory
 *                                          entry is published (D1)
 *   writes, bytes_in, recoveries, writer . the writer role
 *   seq, state, value[] ................. the writer role
 *   waitq.seq ............................ the writer role (its wakes, by
 *                                          atomic add)
 *   waitq.waiters ........................ every sleeping reader, by
 *                                          atomic add/sub (wait.c)
 *
 * seq is even when the value is stable and odd while it is being written;
 * seq / 2 is the value's version (it only grows). state is PINSHM_SLOT_VALID
 * once a value has been written, PINSHM_SLOT_EMPTY before that and after a
 * writer died in the middle of a write (its value is torn and withdrawn).
 *
 * Ordering:
 *   (W1) writer: store seq odd, release fence, then write state and value
 *     pairs with
 *   (R2) reader: read state and value, acquire fence, then re-load seq:
 *        a reader that saw any byte of a new write sees seq changed.
 *   (W3) writer: write state and value, then store-release seq even
 *     pairs with
 *   (R1) reader: load-acquire seq, then read state and value: a reader
 *        that saw the even seq sees the whole value it stands for.
 *   A read is good when seq was even at (R1) and equal at (R2).
 *   The counters are relaxed statistics, in a block readers never touch.
 *   (K1) writer, after (W3): compiler barrier, load waitq.waiters; if not
 *        0, wake every sleeper ((W1) of wait.h)
 *     pairs with
 *   (K2) reader, pinshm_slot_wait(): add 1 to waiters, membarrier, re-load
 *        seq as (R1) does, FUTEX_WAIT ((W2) of wait.h): either the reader
 *        sees the new seq, or the writer sees the sleeper.
 *
 * Waiting: waiters counts every reader asleep and is never reset (many
 * readers, no role word for them). A reader killed while asleep leaves it
 * one too high: nothing is lost, but every write then makes a wake syscall
 * until the slot is created anew. A writer killed between (W3) and (K1) leaves
 * sleepers asleep until the next write (its successor's attach kicks).
 *
 * Recovery: a writer that dies between (W1) and (W3) leaves seq odd for
 * ever; readers then give up with -EAGAIN after PINSHM_SLOT_READ_TRIES
 * attempts instead of spinning. The next writer takes the dead writer's
 * role over (pinshm_slot_attach()), marks the value EMPTY and makes
 * seq even again, so readers get -ENODATA (no value, never a torn one)
 * until it writes.
 *
 * Zero-copy reading: the value may change under a reader at any moment,
 * so an in-place read is only a guess until pinshm_slot_release() says
 * it was stable. Between peek and release never follow a pointer,
 * index an array or loop on a count read from the value: copy the fields
 * you need into locals and act on them only after release() returns 0.
 */
#ifndef PINSHM_SLOT_H
#define PINSHM_SLOT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
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
 * Attempts a copying read makes before it gives up with -EAGAIN: a reader
 * never waits on a writer for ever (a dead writer leaves seq odd). Each
 * attempt that fails spins one pause; a 48-byte value is copied in a few
 * nanoseconds, so a live writer must be mid-write on every one of 1024
 * attempts for a read to fail.
 */
#define PINSHM_SLOT_READ_TRIES	1024

/*
 * Process-private handle of a writer or a reader. Counters without sh are
 * this process's own.
 */
struct pinshm_slot {
	struct pinshm_slot_shared *sh;	/* read-only for readers */
	uint8_t *value;			/* sh->value */
	uint32_t size;
	bool writer;
	bool may_wait;			/* reader, writable mapping: may sleep */
	struct pinshm_waitq_ref wref;	/* the readers' wait queue */

	/* writer */
	uint64_t seq;			/* current even seq */
	uint64_t writes;
	uint64_t bytes_in;

	/* reader */
	uint64_t reads;			/* successful copying reads */
	uint64_t retries;		/* attempts that met a write */
	uint64_t busy;			/* reads that gave up: -EAGAIN */
};

/* ---- writer ------------------------------------------------------------ */

/*
 * Claim the value to write it in place: returns it (size bytes), or NULL
 * if this handle is not the writer. Readers see the old value (or retry)
 * until pinshm_slot_commit(). Do not sleep in between: readers spin.
 */
static inline void *pinshm_slot_claim(struct pinshm_slot *w)
{
	if (!w->writer)
		return NULL;
	PINSHM_WRITE_ONCE(w->sh->seq, w->seq + 1);
	/* (W1) pairs with (R2): the odd seq before any byte of the value. */
	__pinshm_seq_wmb();
	return w->value;
}

/* Publish the value written since pinshm_slot_claim(). */
static inline void pinshm_slot_commit(struct pinshm_slot *w, uint32_t len)
{
	if (!w->writer)
		return;
	__PINSHM_SEQ_STORE(w->sh->state, PINSHM_SLOT_VALID);
	w->seq += 2;
	/* (W3) pairs with (R1): state and value before the even seq. */
	pinshm_store_release(&w->sh->seq, w->seq);
	w->writes++;
	w->bytes_in += len;
	PINSHM_WRITE_ONCE(w->sh->writes, w->writes);
	PINSHM_WRITE_ONCE(w->sh->bytes_in, w->bytes_in);
	/* (K1) pairs with (K2): one load of waiters (and of ro_pending);
	 * a wake only when a reader sleeps. */
	__pinshm_waitq_kick_ro(&w->sh->waitq, &w->wref);
}

/*
 * Copy len (<= size) bytes in as the new value; bytes past len keep what
 * the previous value had there. Returns 0, -EMSGSIZE, -EPERM (a reader's
 * handle).
 */
static inline int pinshm_slot_send(struct pinshm_slot *w, const void *p,
				   uint32_t len)
{
	void *v;

	if (len > w->size)
		return -EMSGSIZE;
	v = pinshm_slot_claim(w);
	if (!v)
		return -EPERM;
	__pinshm_copy_in(v, p, len);
	pinshm_slot_commit(w, len);
	return 0;
}

/* ---- reader ------------------------------------------------------------ */

/*
 * Copy the current value (its first min(buflen, size) bytes) into buf.
 * Returns the number of bytes copied, -ENODATA when the slot holds no value
 * (never written, or withdrawn after its writer died mid-write), -EAGAIN
 * when PINSHM_SLOT_READ_TRIES attempts all met a write in progress (a
 * writer far too busy, or dead mid-write with no successor yet). version,
 * if not NULL, receives the value's version (grows with every write), also
 * with -ENODATA (the version of "no value"). A copied value is never torn.
 */
static inline int pinshm_slot_read(struct pinshm_slot *r, void *buf,
				   uint32_t buflen, uint64_t *version)
{
	const struct pinshm_slot_shared *sh = r->sh;
	uint32_t n = buflen < r->size ? buflen : r->size;
	uint64_t s1;
	uint32_t state;
	unsigned int tries;

	for (tries = 0; tries < PINSHM_SLOT_READ_TRIES; tries++) {
		/* (R1) pairs with (W3): a stable seq, then its value. */
		s1 = pinshm_load_acquire(&sh->seq);
		if (!(s1 & 1)) {
			state = __PINSHM_SEQ_LOAD(sh->state);
			__pinshm_copy_out(buf, r->value, n);
			/* (R2) pairs with (W1): the copy before the re-check. */
			__pinshm_seq_rmb();
			if (PINSHM_READ_ONCE(sh->seq) == s1) {
				if (version)
					*version = s1 >> 1;
				if (state != PINSHM_SLOT_VALID)
					return -ENODATA;
				r->reads++;
				return (int)n;
			}
		}
		r->retries++;
		pinshm_cpu_relax();
	}
	r->busy++;
	return -EAGAIN;
}

/*
 * In-place reading, for callers who want a few fields of a large value:
 *
 *	do {
 *		v = pinshm_slot_peek(&s, &seq);
 *		if (v)
 *			bid = v->bid, ask = v->ask;	(copies only)
 *	} while (pinshm_slot_release(&s, seq) == -EAGAIN && ++tries < LIMIT);
 *
 * peek returns the value, or NULL when the slot holds none (valid only
 * once release() returns 0 too). release() returns 0 when the fields read
 * since peek were stable, -EAGAIN when they may be torn: read again, or
 * give up after a bound of your own (see PINSHM_SLOT_READ_TRIES). See the
 * top comment for what must not be done with the fields before release().
 */
static inline const void *pinshm_slot_peek(const struct pinshm_slot *r,
					   uint64_t *seq)
{
	/* (R1) pairs with (W3). */
	*seq = pinshm_load_acquire(&r->sh->seq);
	return __PINSHM_SEQ_LOAD(r->sh->state) == PINSHM_SLOT_VALID ?
	       r->value : NULL;
}

static inline int pinshm_slot_release(const struct pinshm_slot *r,
				      uint64_t seq)
{
	/* (R2) pairs with (W1): the caller's reads before the re-check. */
	__pinshm_seq_rmb();
	return (seq & 1) || PINSHM_READ_ONCE(r->sh->seq) != seq ? -EAGAIN : 0;
}

/* Version of the value a peek()/release() pair saw. */
static inline uint64_t pinshm_slot_version(uint64_t seq)
{
	return seq >> 1;
}

/*
 * Reader: sleep until the slot's version is no longer last_seen_version
 * (a newer value, or a write in progress past it, or the value withdrawn),
 * or timeout_ns passes (< 0: no timeout; 0: just look). Version 0 is "never
 * written": waiting on it waits for the first write. Returns 0, -ETIMEDOUT,
 * -EINTR, -EINVAL, -EPERM (the writer's handle); -EACCES for a reader on a
 * read-only mapping of the shm backend that may not write the region's
 * file either: a sleeper must tell the writer it sleeps and cannot (see
 * the top); -ENOSYS (no membarrier
 * GLOBAL_EXPEDITED) or -EOPNOTSUPP (the kernel cannot sleep on this
 * memory: see pinshm_waitq_wait()). On the last three, poll instead
 * (pinshm_slot_recv() does, yielding).
 */
int pinshm_slot_wait(struct pinshm_slot *r, uint64_t last_seen_version,
		     int64_t timeout_ns);

/*
 * Wait for a value newer than *version, then copy it as pinshm_slot_read()
 * does. *version: in, the last version seen (0: none yet); out, the version
 * copied (also with -ENODATA: the next call waits for one newer than the
 * withdrawn value). Values written in between are skipped: this is the
 * latest value, not a queue. wait: PINSHM_WAIT_NONE (-EAGAIN when nothing
 * is newer), _SPIN, _YIELD, or _FUTEX (spin PINSHM_YIELD_SPINS times, then
 * sleep in pinshm_slot_wait(); readers that cannot sleep there, read-only
 * ones included, yield). Returns the bytes copied, -ENODATA, -EAGAIN (also:
 * a read met writes in progress PINSHM_SLOT_READ_TRIES times, with
 * PINSHM_WAIT_NONE only; other strategies try again), -EINTR (asleep in
 * PINSHM_WAIT_FUTEX, a signal).
 */
static inline int pinshm_slot_recv(struct pinshm_slot *r, void *buf,
				   uint32_t buflen, uint64_t *version,
				   int wait)
{
	unsigned int spins = 0;
	uint64_t v = *version;
	int ret;

	for (;;) {
		/* (R1) pairs with (W3); pinshm_slot_read() loads it again. */
		if ((pinshm_load_acquire(&r->sh->seq) >> 1) != *version) {
			ret = pinshm_slot_read(r, buf, buflen, &v);
			if (ret != -EAGAIN) {
				*version = v;
				return ret;
			}
		}
		if (wait == PINSHM_WAIT_NONE)
			return -EAGAIN;
		if (wait == PINSHM_WAIT_FUTEX && spins >= PINSHM_YIELD_SPINS) {
			ret = pinshm_slot_wait(r, *version, -1);
			if (ret == -EINTR)
				return ret;
			if (ret)	/* -EACCES, -EPERM, -ENOSYS, -EOPNOTSUPP */
				wait = PINSHM_WAIT_YIELD;
			continue;
		}
		__pinshm_wait_step(wait, &spins);
	}
}

/* ---- setup ------------------------------------------------------------- */

/*
 * Add a latest-value slot holding a value of size bytes (1..64 KiB) to a
 * region. -EINVAL, -EEXIST, -ENOSPC, -EACCES (read-only region).
 */
int pinshm_slot_create(struct pinshm_region *r, const char *name,
		       uint32_t size);

/*
 * Take a role of a slot. PINSHM_WRITER: -EBUSY while a live process holds
 * it; a dead writer's role is taken over, and a value it left half-written
 * is withdrawn: readers get -ENODATA until the next write; -EACCES
 * (read-only region). PINSHM_READER: any access, read-only mappings
 * included; no shared state. Either: -EINVAL, -ENOENT, -EPROTOTYPE (not a
 * slot), -EBADMSG (header invalid), -EPROTONOSUPPORT (another library
 * version's slot).
 */
int pinshm_slot_attach(struct pinshm_region *r, const char *name, int role,
		       struct pinshm_slot *out);

/* Give the writer role back (readers: just forget the handle). */
int pinshm_slot_detach(struct pinshm_slot *s);

#ifdef __cplusplus
}
#endif

#endif /* PINSHM_SLOT_H */
