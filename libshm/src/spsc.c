// SPDX-License-Identifier: MIT
/*
 * SPSC ring setup, roles and recovery; the per-message paths and the
 * ordering protocol (A)-(E) are in include/pinshm/spsc.h.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "probes.h"

#define SPSC_MIN_CAP		1024ULL
#define SPSC_MAX_RECORD		((uint64_t)PINSHM_REC_LEN_MASK)

struct spsc_init {
	uint64_t capacity;
	uint64_t max_record;
};

static bool max_record_ok(uint64_t cap, uint64_t max_record)
{
	/*
	 * An empty ring must always take the largest record: the newest
	 * released record (kept, see spsc.h), filler to the end of the
	 * buffer, the record itself and a zero header after it: three
	 * records' worth at most.
	 */
	return max_record <= SPSC_MAX_RECORD &&
	       3 * (max_record + 2 * PINSHM_REC_HDR) <= cap;
}

/*
 * Released bytes the consumer may leave unzeroed: what the ring has beyond
 * the three records' worth of max_record_ok(), so that an empty ring still
 * takes the largest record.
 */
static uint64_t zero_batch_of(uint64_t cap, uint64_t max_record)
{
	uint64_t spare = cap - 3 * (max_record + 2 * PINSHM_REC_HDR);

	if (spare > PINSHM_SPSC_ZERO_MAX)
		spare = PINSHM_SPSC_ZERO_MAX;
	return spare & ~(uint64_t)(PINSHM_REC_ALIGN - 1);
}

static void spsc_init_obj(void *obj, void *arg)
{
	struct pinshm_spsc_shared *sh = obj;
	const struct spsc_init *in = arg;

	memset(sh, 0, PINSHM_SPSC_HDR_SIZE + in->capacity);
	sh->magic = PINSHM_SPSC_MAGIC;
	sh->version = PINSHM_SPSC_VERSION;
	sh->capacity = in->capacity;
	sh->max_record = in->max_record;
	sh->data_off = PINSHM_SPSC_HDR_SIZE;
	sh->last = PINSHM_POS_NONE;
	/* Published by the directory's (D1). */
}

__pinshm_export int pinshm_spsc_create(struct pinshm_region *r,
				       const char *name, uint64_t capacity,
				       uint64_t max_record)
{
	struct spsc_init in;

	if (!r || !__pinshm_is_pow2(capacity) || capacity < SPSC_MIN_CAP ||
	    capacity > (1ULL << 40))
		return -EINVAL;
	if (max_record == 0)
		max_record = capacity / 4 - 2 * PINSHM_REC_HDR;
	if (!max_record_ok(capacity, max_record))
		return -EINVAL;
	in.capacity = capacity;
	in.max_record = max_record;
	return __pinshm_dir_add(r, name, PINSHM_OBJ_SPSC,
				PINSHM_SPSC_HDR_SIZE + capacity, capacity,
				max_record, spsc_init_obj, &in);
}

/* Find the ring, check its header against its directory entry. */
static int spsc_lookup(const struct pinshm_region *r, const char *name,
		       struct pinshm_spsc_shared **shp, uint64_t *cap,
		       uint64_t *max_record)
{
	struct pinshm_obj_info info;
	struct pinshm_spsc_shared *sh;
	int ret;

	ret = __pinshm_dir_get(r, name, &info);
	if (ret)
		return ret;
	if (info.type != PINSHM_OBJ_SPSC)
		return -EPROTOTYPE;
	sh = (struct pinshm_spsc_shared *)((uint8_t *)r->data + info.offset);
	*cap = PINSHM_READ_ONCE(sh->capacity);
	*max_record = PINSHM_READ_ONCE(sh->max_record);
	if (info.size >= PINSHM_SPSC_HDR_SIZE &&
	    PINSHM_READ_ONCE(sh->magic) == PINSHM_SPSC_MAGIC &&
	    PINSHM_READ_ONCE(sh->version) != PINSHM_SPSC_VERSION)
		return -EPROTONOSUPPORT;	/* another library's layout */
	if (info.size < PINSHM_SPSC_HDR_SIZE ||
	    PINSHM_READ_ONCE(sh->magic) != PINSHM_SPSC_MAGIC ||
	    PINSHM_READ_ONCE(sh->version) != PINSHM_SPSC_VERSION ||
	    PINSHM_READ_ONCE(sh->data_off) != PINSHM_SPSC_HDR_SIZE ||
	    !__pinshm_is_pow2(*cap) || *cap < SPSC_MIN_CAP ||
	    *cap != info.capacity || *cap > info.size - PINSHM_SPSC_HDR_SIZE ||
	    !max_record_ok(*cap, *max_record))
		return -EBADMSG;
	*shp = sh;
	return 0;
}

/*
 * A producer taking over: start from the published tail hint (or the
 * consumer's head, if it is past the hint) and walk forward over headers
 * published after it (a producer killed between (A) and (E) left them).
 * Stops at the first empty header; bounded by one capacity; anything
 * malformed is -EBADMSG. Then zero the producer's free space, where a dead
 * producer may have written records it never published.
 */
static int producer_recover(struct pinshm_spsc *ring)
{
	struct pinshm_spsc_shared *sh = ring->sh;
	/* (D): the consumer's zeroing is done below zeroed. */
	uint64_t zeroed = pinshm_load_acquire(&sh->zeroed);
	/* (C): rlast was stored before this head. */
	uint64_t head = pinshm_load_acquire(&sh->head);
	uint64_t rlast = PINSHM_READ_ONCE(sh->rlast);
	uint64_t pos = PINSHM_READ_ONCE(sh->tail);
	uint64_t last = PINSHM_READ_ONCE(sh->last), walked = PINSHM_POS_NONE;
	uint64_t msgs = 0, bytes = 0;

	/* Records start 8-aligned: anything else is a forged position. */
	if ((head | pos | zeroed) % PINSHM_REC_ALIGN ||
	    (last != PINSHM_POS_NONE && last % PINSHM_REC_ALIGN) ||
	    head - zeroed > ring->cap)
		return -EBADMSG;
	if (pos - head > ring->cap) {
		/* The consumer is ahead of the hint: trust its position. */
		if (head - pos > ring->cap)
			return -EBADMSG;
		pos = head;
	}
	/* Our frontier header lies within one capacity of zeroed. */
	if (pos + PINSHM_REC_HDR - zeroed > ring->cap)
		return -EBADMSG;
	for (;;) {
		uint64_t off = pos & ring->mask, size;
		/* (B) as a reader of what the dead producer published */
		uint32_t len = pinshm_load_acquire(
			&__pinshm_spsc_rec(ring, pos)->len);

		if (len == 0)
			break;
		if (len == PINSHM_REC_PAD) {
			if (off == 0)
				return -EBADMSG;
			size = ring->cap - off;
		} else {
			if (!(len & PINSHM_REC_COMMIT) || (len & PINSHM_REC_PAD))
				return -EBADMSG;
			len &= PINSHM_REC_LEN_MASK;
			size = __pinshm_rec_size(len);
			if (len > ring->max_record || off + size > ring->cap)
				return -EBADMSG;
			walked = pos;
			msgs++;
			bytes += len;
		}
		if (pos + size + PINSHM_REC_HDR - zeroed > ring->cap)
			return -EBADMSG;
		pos += size;
	}
	/*
	 * The newest published record: one we walked over; else, if the
	 * consumer released past the hint, the newest released one, which
	 * starts at rlast (checked below, and by pinshm_spsc_last()); else
	 * the hint.
	 */
	if (walked != PINSHM_POS_NONE)
		last = walked;
	else if (head == pos && rlast != head && rlast - zeroed < head - zeroed &&
		 !(rlast % PINSHM_REC_ALIGN))
		last = rlast;
	if (last != PINSHM_POS_NONE && (pos - last > ring->cap || last >= pos))
		last = PINSHM_POS_NONE;
	/*
	 * Ours from here to zeroed + cap: make it all zero again. The
	 * consumer may be polling the length word at pos: store it
	 * atomically; nobody reads the rest.
	 */
	PINSHM_WRITE_ONCE(__pinshm_spsc_rec(ring, pos)->len, 0);
	__pinshm_spsc_zero(ring, pos + sizeof(uint32_t), zeroed + ring->cap);
	ring->tail = pos;
	ring->zeroed_cache = zeroed;
	ring->last_pos = last;
	ring->msgs_in = PINSHM_READ_ONCE(sh->msgs_in) + msgs;
	ring->bytes_in = PINSHM_READ_ONCE(sh->bytes_in) + bytes;
	ring->full_events = PINSHM_READ_ONCE(sh->full_events);
	PINSHM_WRITE_ONCE(sh->msgs_in, ring->msgs_in);
	PINSHM_WRITE_ONCE(sh->bytes_in, ring->bytes_in);
	/* (E) */
	PINSHM_WRITE_ONCE(sh->last, last);
	pinshm_store_release(&sh->tail, pos);
	return 0;
}

/*
 * Is the header at sh an SPSC ring of cap bytes and max_record, of this
 * library's layout? For the rings of the directory (spsc_lookup()) and the
 * lanes of a fan-in ring (fanin.c), which check cap and max_record first.
 */
bool __pinshm_spsc_hdr_ok(const struct pinshm_spsc_shared *sh, uint64_t cap,
			  uint64_t max_record)
{
	/* Constant since creation: published by the directory's (D1). */
	return PINSHM_READ_ONCE(sh->magic) == PINSHM_SPSC_MAGIC &&
	       PINSHM_READ_ONCE(sh->version) == PINSHM_SPSC_VERSION &&
	       PINSHM_READ_ONCE(sh->data_off) == PINSHM_SPSC_HDR_SIZE &&
	       PINSHM_READ_ONCE(sh->capacity) == cap &&
	       PINSHM_READ_ONCE(sh->max_record) == max_record;
}

bool __pinshm_spsc_geometry_ok(uint64_t cap, uint64_t max_record)
{
	return __pinshm_is_pow2(cap) && cap >= SPSC_MIN_CAP &&
	       cap <= (1ULL << 40) && max_record_ok(cap, max_record);
}

void __pinshm_spsc_init(void *obj, uint64_t capacity, uint64_t max_record)
{
	struct spsc_init in = { .capacity = capacity, .max_record = max_record };

	spsc_init_obj(obj, &in);
}

/*
 * A handle for role on the ring sh (checked by __pinshm_spsc_hdr_ok()),
 * whose consumer sleeps on wq: the ring's own queue, or the fan-in ring's.
 */
void __pinshm_spsc_handle(struct pinshm_spsc *ring,
			  const struct pinshm_region *r,
			  struct pinshm_spsc_shared *sh, uint64_t cap,
			  uint64_t max_record, int role,
			  struct pinshm_waitq *wq)
{
	memset(ring, 0, sizeof(*ring));
	ring->sh = sh;
	ring->buf = (uint8_t *)sh + PINSHM_SPSC_HDR_SIZE;
	ring->cap = cap;
	ring->mask = cap - 1;
	ring->max_record = max_record;
	ring->role = role;
	ring->last_pos = PINSHM_POS_NONE;
	ring->kwq = wq;
	__pinshm_waitq_ref_init(&ring->wref, r, wq);
}

int __pinshm_spsc_producer_resume(struct pinshm_spsc *ring)
{
	return producer_recover(ring);
}

/*
 * The consumer role was taken: continue from the last release; unreleased
 * peeks come again. A predecessor that died mid-zeroing left [zeroed,
 * head) partly unzeroed: our next release zeroes it again.
 */
int __pinshm_spsc_consumer_resume(struct pinshm_spsc *ring)
{
	struct pinshm_spsc_shared *sh = ring->sh;

	ring->head = PINSHM_READ_ONCE(sh->head);	/* our own role's */
	ring->zeroed = PINSHM_READ_ONCE(sh->zeroed);
	if ((ring->head | ring->zeroed) % PINSHM_REC_ALIGN ||
	    ring->head - ring->zeroed > ring->cap)
		return -EBADMSG;
	ring->rpos = ring->head;
	ring->rlast = ring->zeroed;
	ring->zero_batch = zero_batch_of(ring->cap, ring->max_record);
	ring->msgs_out = PINSHM_READ_ONCE(sh->msgs_out);
	ring->bytes_out = PINSHM_READ_ONCE(sh->bytes_out);
	return 0;
}

__pinshm_export int pinshm_spsc_attach(struct pinshm_region *r,
				       const char *name, int role,
				       struct pinshm_spsc *out)
{
	struct pinshm_spsc_shared *sh;
	struct pinshm_spsc ring;
	uint64_t cap, max_record;
	uint32_t dead;
	int ret;

	if (!r || !out || (role != PINSHM_PRODUCER && role != PINSHM_CONSUMER))
		return -EINVAL;
	if (!r->writable)
		return -EACCES;
	ret = spsc_lookup(r, name, &sh, &cap, &max_record);
	if (ret)
		return ret;
	__pinshm_spsc_handle(&ring, r, sh, cap, max_record, role, &sh->waitq);
	ring.wref.probe = __pinshm_probe_intern(r->name, name, PINSHM_OBJ_SPSC,
						-1);

	ret = __pinshm_role_take(role == PINSHM_PRODUCER ? &sh->producer :
							   &sh->consumer, &dead);
	if (ret)
		return ret;
	if (role == PINSHM_PRODUCER) {
		ret = producer_recover(&ring);
		if (ret) {
			__pinshm_role_drop(&sh->producer);
			return ret;
		}
		/* For (W1)/(W2) of wait.h; without membarrier, waits spin. */
		pinshm_wait_register();
	} else {
		/*
		 * The consumer is the ring's only sleeper: a predecessor that
		 * died asleep must not leave every publish making a syscall.
		 */
		PINSHM_WRITE_ONCE(sh->waitq.waiters, 0);
		ret = __pinshm_spsc_consumer_resume(&ring);
		if (ret) {
			__pinshm_role_drop(&sh->consumer);
			return ret;
		}
	}
	__pinshm_probe_role_attach(ring.wref.probe, role, dead);
	*out = ring;
	return 0;
}

__pinshm_export int pinshm_spsc_last(struct pinshm_spsc *ring,
				     struct pinshm_msg *out)
{
	struct pinshm_rec *rec;
	uint64_t off, pos;
	uint32_t len;

	if (!ring || !out)
		return -EINVAL;
	if (ring->role != PINSHM_PRODUCER)
		return -EPERM;
	pos = ring->last_pos;
	if (pos == PINSHM_POS_NONE)
		return -ENOENT;
	off = pos & ring->mask;
	rec = __pinshm_spsc_rec(ring, pos);
	len = PINSHM_READ_ONCE(rec->len);	/* ours: no ordering needed */
	if (!(len & PINSHM_REC_COMMIT) || (len & PINSHM_REC_PAD))
		return -EBADMSG;
	len &= PINSHM_REC_LEN_MASK;
	/* It must be the record that ends where the producer stands. */
	if (len > ring->max_record || off + __pinshm_rec_size(len) > ring->cap ||
	    pos + __pinshm_rec_size(len) != ring->tail)
		return -EBADMSG;
	out->data = rec + 1;
	out->len = len;
	out->type = rec->type;
	return 0;
}

__pinshm_export int pinshm_spsc_detach(struct pinshm_spsc *ring)
{
	if (!ring || !ring->sh)
		return -EINVAL;
	if (ring->role == PINSHM_PRODUCER) {
		pinshm_spsc_publish(ring);
		__pinshm_role_drop(&ring->sh->producer);
	} else {
		pinshm_spsc_release(ring);
		__pinshm_role_drop(&ring->sh->consumer);
	}
	__pinshm_probe_role_detach(ring->wref.probe, ring->role);
	ring->sh = NULL;
	return 0;
}

/*
 * The producer's claim found the ring full, and its last claim did not:
 * one back-pressure event. Out of line, so that the inline claim of a
 * program fires the library's probe.
 */
__pinshm_export void __pinshm_spsc_full(struct pinshm_spsc *ring)
{
	ring->blocked = true;
	PINSHM_WRITE_ONCE(ring->sh->full_events, ++ring->full_events);
	__pinshm_probe_backpressure(ring->wref.probe);
}

int __pinshm_spsc_stats(const struct pinshm_region *r, const char *name,
			struct pinshm_ring_stats *out)
{
	struct pinshm_spsc_shared *sh;
	uint64_t cap, max_record;
	int ret;

	ret = spsc_lookup(r, name, &sh, &cap, &max_record);
	if (ret)
		return ret;
	out->msgs_in = PINSHM_READ_ONCE(sh->msgs_in);
	out->bytes_in = PINSHM_READ_ONCE(sh->bytes_in);
	out->full_events = PINSHM_READ_ONCE(sh->full_events);
	out->tail = PINSHM_READ_ONCE(sh->tail);
	out->producer_pid = PINSHM_ROLE_PID(
		PINSHM_READ_ONCE(sh->producer.holder));
	out->msgs_out = PINSHM_READ_ONCE(sh->msgs_out);
	out->bytes_out = PINSHM_READ_ONCE(sh->bytes_out);
	out->corrupt = PINSHM_READ_ONCE(sh->corrupt);
	out->head = PINSHM_READ_ONCE(sh->head);
	out->consumer_pid = PINSHM_ROLE_PID(
		PINSHM_READ_ONCE(sh->consumer.holder));
	return 0;
}
