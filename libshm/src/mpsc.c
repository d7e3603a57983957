// SPDX-License-Identifier: MIT
/*
 * MPSC ring setup, roles, crash recovery and counters. The record format,
 * the per-message paths and the ordering pairs (I1)..(R2) are in
 * include/pinshm/mpsc.h.
 *
 * Producer claim, step by step, and what a kill -9 at each point leaves:
 *
 *   1. read tail, check space against zeroed
 *        -> nothing claimed, nothing to recover
 *   2. store intent_size, store-release intent_pos (I1)
 *        -> a stale intent; harmless: nobody's claim is judged by it alone
 *           (see "header 0" below), and the slot's successor sees the claim
 *           never happened (tail <= intent_pos) or waits until the consumer
 *           is past it
 *   3. CAS tail (claim made)
 *        -> header still 0 at the claimed position: the consumer finds the
 *           owner through the intents (the winner's intent covers it)
 *   4. store-release CLAIMED|id|size into each record's len word (H1)
 *        -> the header names the owner
 *   5. write payload, pend_* (L1), type, store-release COMMIT (A)
 *        -> before (A): uncommitted (padded by recovery, the successor sees
 *           pend_pos != last_pos and finds the record not committed);
 *           after (A): committed, delivered; the successor sees COMMIT (or
 *           the consumer already past it with no recovery mark) and takes
 *           the pending record as its last
 *   6. last_* and last_pos (L1), intent_size = 0
 *        -> nothing left to recover
 *
 * Recovery (consumer side: pinshm_mpsc_recover(), and peek when stuck).
 * At the consumer's position h the len word is
 *   - CLAIMED by id: the owner is slot id's owner (a slot changes owner
 *     only once its old owner's claim is behind the consumer, see
 *     producer_takeover()); padded from h to the end of that owner's claim
 *     iff the metadata page says that owner (pid + start time) DIED;
 *   - 0 while the tail is past h: somebody won the CAS at (or a batch over)
 *     h and has not written its header yet. Every producer whose intent
 *     covers h is a candidate, and the winner is one of them (its intent is
 *     unchanged until its headers are written, and visible by (I1)/(I2)).
 *     If any candidate is alive: wait. If all are dead and agree on where
 *     the claim ends: pad to there. If dead candidates starting at h
 *     disagree (producers killed within a few instructions of each other
 *     at the same position), the winner is told by what follows its claim
 *     (winner_end()). Candidates whose claim starts at h win over ones
 *     that merely cover h: a loser's intent can only start at a position
 *     that was a tail value. Candidates that only cover h and disagree:
 *     nothing is padded, the ring waits, and pinshm_mpsc_recover() says
 *     -EDEADLK.
 * "Alive" is never decided by a timeout, only by the metadata page: an
 * owner is dead once no ATTACHED entry with its pid and start time is left
 * (DIED, EXEC, DETACHED, or a DIED entry the shm backend recycled; see
 * __pinshm_meta_owner_gone()). The shm backend's metadata learns of deaths from
 * pinshm_region_recover(), which the consumer calls before it looks.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "probes.h"

struct mpsc_init {
	uint64_t capacity;
	uint64_t max_record;
};

static bool max_record_ok(uint64_t cap, uint64_t max_record)
{
	/* One record may take half the ring: it always fits eventually. */
	return max_record <= cap / 2 - PINSHM_REC_HDR;
}

static void mpsc_init_obj(void *obj, void *arg)
{
	struct pinshm_mpsc_shared *sh = obj;
	const struct mpsc_init *in = arg;
	unsigned int i;

	memset(sh, 0, PINSHM_MPSC_HDR_SIZE + in->capacity);
	sh->magic = PINSHM_MPSC_MAGIC;
	sh->version = PINSHM_MPSC_VERSION;
	sh->capacity = in->capacity;
	sh->max_record = in->max_record;
	sh->data_off = PINSHM_MPSC_HDR_SIZE;
	sh->nr_producers = PINSHM_MPSC_PRODUCERS;
	for (i = 0; i < PINSHM_MPSC_PRODUCERS; i++) {
		sh->rec_pad[i] = PINSHM_POS_NONE;
		sh->prod[i].last_pos = PINSHM_POS_NONE;
		sh->prod[i].pend_pos = PINSHM_POS_NONE;
	}
	/* Published by the directory's (D1). */
}

__pinshm_export int pinshm_mpsc_create(struct pinshm_region *r,
				       const char *name, uint64_t capacity,
				       uint64_t max_record)
{
	struct mpsc_init in;

	if (!r || !__pinshm_is_pow2(capacity) ||
	    capacity < PINSHM_MPSC_MIN_CAP || capacity > PINSHM_MPSC_MAX_CAP)
		return -EINVAL;
	if (max_record == 0)
		max_record = capacity / 4 - PINSHM_REC_HDR;
	if (!max_record_ok(capacity, max_record))
		return -EINVAL;
	in.capacity = capacity;
	in.max_record = max_record;
	return __pinshm_dir_add(r, name, PINSHM_OBJ_MPSC,
				PINSHM_MPSC_HDR_SIZE + capacity, capacity,
				max_record, mpsc_init_obj, &in);
}

static int mpsc_lookup(const struct pinshm_region *r, const char *name,
		       struct pinshm_mpsc_shared **shp, uint64_t *cap,
		       uint64_t *max_record)
{
	struct pinshm_obj_info info;
	struct pinshm_mpsc_shared *sh;
	int ret;

	ret = __pinshm_dir_get(r, name, &info);
	if (ret)
		return ret;
	if (info.type != PINSHM_OBJ_MPSC)
		return -EPROTOTYPE;
	if (info.size < PINSHM_MPSC_HDR_SIZE)
		return -EBADMSG;
	sh = (struct pinshm_mpsc_shared *)((uint8_t *)r->data + info.offset);
	*cap = PINSHM_READ_ONCE(sh->capacity);
	*max_record = PINSHM_READ_ONCE(sh->max_record);
	if (PINSHM_READ_ONCE(sh->magic) == PINSHM_MPSC_MAGIC &&
	    PINSHM_READ_ONCE(sh->version) != PINSHM_MPSC_VERSION)
		return -EPROTONOSUPPORT;	/* another library's layout */
	if (PINSHM_READ_ONCE(sh->magic) != PINSHM_MPSC_MAGIC ||
	    PINSHM_READ_ONCE(sh->version) != PINSHM_MPSC_VERSION ||
	    PINSHM_READ_ONCE(sh->data_off) != PINSHM_MPSC_HDR_SIZE ||
	    PINSHM_READ_ONCE(sh->nr_producers) != PINSHM_MPSC_PRODUCERS ||
	    !__pinshm_is_pow2(*cap) || *cap < PINSHM_MPSC_MIN_CAP ||
	    *cap > PINSHM_MPSC_MAX_CAP || *cap != info.capacity ||
	    *cap > info.size - PINSHM_MPSC_HDR_SIZE ||
	    !max_record_ok(*cap, *max_record))
		return -EBADMSG;
	*shp = sh;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Producers                                                           */
/* ------------------------------------------------------------------ */

__pinshm_export int __pinshm_mpsc_claim_refresh(struct pinshm_mpsc *p,
						uint64_t tail, uint64_t need)
{
	/* (Z2) pairs with (Z1): the consumer's zeroes before our writes. */
	uint64_t z = pinshm_load_acquire(&p->sh->zeroed);

	if (z % PINSHM_REC_ALIGN)
		return -EBADMSG;
	if ((int64_t)(tail - z) < 0) {
		/* Our tail is older than the consumer: read it again. A tail
		 * read after zeroed is never behind it, unless forged. */
		if ((int64_t)(PINSHM_READ_ONCE(p->sh->tail) - z) < 0)
			return -EBADMSG;
		p->zeroed_cache = z;
		return 1;
	}
	if (tail % PINSHM_REC_ALIGN || tail - z > p->cap)
		return -EBADMSG;
	p->zeroed_cache = z;
	if (tail + need - z <= p->cap)
		return 0;
	if (!p->blocked) {
		p->blocked = true;
		PINSHM_WRITE_ONCE(p->slot->full_events, ++p->full_events);
		__pinshm_probe_backpressure(p->wref.probe);
	}
	return -EAGAIN;
}

/* Our own start time as the metadata page records it. */
int __pinshm_self_meta_start(struct pinshm_region *r, uint64_t *out)
{
	struct pinshm_meta m;
	uint64_t mine = 0, best = UINT64_MAX;
	uint32_t self = (uint32_t)getpid(), i;
	int ret = pinshm_region_meta(r, &m);

	if (ret)
		return ret;
	__pinshm_self_start_time(&mine);
	for (i = 0; i < PINSHM_MAX_ATTACH; i++) {
		const struct pinshm_attach *a = &m.attach[i];
		uint64_t d;

		if (a->tgid != self || a->state != PINSHM_ST_ATTACHED)
			continue;
		d = a->start_time > mine ? a->start_time - mine :
					   mine - a->start_time;
		if (d < best) {
			best = d;
			*out = a->start_time;
		}
	}
	/* No attach of our own: a forked child using its parent's mapping
	 * could never be told dead, so it may not produce. */
	return best == UINT64_MAX ? -EPERM : 0;
}

/* Was the pending record at pp committed? The old holder is dead. */
static bool pending_committed(struct pinshm_mpsc *p, uint64_t pp)
{
	struct pinshm_mpsc_pslot *s = p->slot;
	/* (C') with the consumer's fence: a zero seen means head seen. */
	uint32_t v = pinshm_load_acquire(
		&__pinshm_mpsc_rec(p->buf, p->mask, pp)->len);
	uint64_t h, rp, ip;

	pinshm_smp_rmb();
	/* (R2) pairs with (R1) */
	h = pinshm_load_acquire(&p->sh->head);
	if ((int64_t)(pp - h) >= 0)	/* still in the ring, this lap */
		return v == (PINSHM_REC_COMMIT | PINSHM_READ_ONCE(s->pend_len));
	/* Consumed: committed unless recovery padded it. */
	rp = PINSHM_READ_ONCE(p->sh->rec_pad[p->id]);
	ip = PINSHM_READ_ONCE(s->intent_pos);
	return !(rp != PINSHM_POS_NONE && (int64_t)(rp - ip) >= 0 &&
		 (int64_t)(pp - rp) >= 0);
}

/*
 * We hold the role of slot id; its previous holder (if any) is dead. Its
 * last claim must be behind the consumer before we may own the slot, or
 * the consumer could no longer tell whose claim it is. -EAGAIN otherwise.
 */
static int producer_takeover(struct pinshm_mpsc *p,
			     uint64_t meta_start)
{
	struct pinshm_mpsc_pslot *s = p->slot;
	uint64_t ip = PINSHM_READ_ONCE(s->intent_pos);
	uint64_t is = PINSHM_READ_ONCE(s->intent_size);
	uint64_t lp, pp;

	if (is) {
		/* (I2)-like: the tail, then the consumer's position. */
		uint64_t t = pinshm_load_acquire(&p->sh->tail);
		uint64_t h = pinshm_load_acquire(&p->sh->head);
		uint64_t lim = (int64_t)(t - (ip + is)) < 0 ? t : ip + is;

		if (is > p->cap)
			return -EBADMSG;
		if ((int64_t)(t - ip) > 0 && (int64_t)(h - lim) < 0)
			return -EAGAIN;
	}
	lp = PINSHM_READ_ONCE(s->last_pos);
	pp = PINSHM_READ_ONCE(s->pend_pos);
	if (pp != lp && pp != PINSHM_POS_NONE) {
		if (pp % PINSHM_REC_ALIGN)
			return -EBADMSG;
		if (pending_committed(p, pp)) {
			PINSHM_WRITE_ONCE(s->last_word,
					  PINSHM_READ_ONCE(s->pend_word));
			PINSHM_WRITE_ONCE(s->last_type,
					  PINSHM_READ_ONCE(s->pend_type));
			PINSHM_WRITE_ONCE(s->last_len,
					  PINSHM_READ_ONCE(s->pend_len));
			/* (L1) */
			pinshm_store_release(&s->last_pos, pp);
			PINSHM_WRITE_ONCE(s->msgs_in,
					  PINSHM_READ_ONCE(s->msgs_in) + 1);
			PINSHM_WRITE_ONCE(s->bytes_in,
					  PINSHM_READ_ONCE(s->bytes_in) +
					  PINSHM_READ_ONCE(s->pend_len));
		} else {
			pinshm_store_release(&s->pend_pos, lp);
		}
	}
	/* The owner before any intent of ours (I1). */
	PINSHM_WRITE_ONCE(s->intent_size, 0);
	PINSHM_WRITE_ONCE(s->owner_start, meta_start);
	PINSHM_WRITE_ONCE(s->owner_pid, (uint32_t)getpid());
	pinshm_smp_wmb();
	p->msgs_in = PINSHM_READ_ONCE(s->msgs_in);
	p->bytes_in = PINSHM_READ_ONCE(s->bytes_in);
	p->full_events = PINSHM_READ_ONCE(s->full_events);
	p->zeroed_cache = pinshm_load_acquire(&p->sh->zeroed);	/* (Z2) */
	return 0;
}

static int producer_try(struct pinshm_mpsc *p, unsigned int id,
			uint64_t meta_start, uint32_t *dead)
{
	int ret;

	p->id = id;
	p->slot = &p->sh->prod[id];
	ret = __pinshm_role_take(&p->slot->role, dead);
	if (ret)
		return ret;
	ret = producer_takeover(p, meta_start);
	if (ret)
		__pinshm_role_drop(&p->slot->role);
	return ret;
}

static int producer_attach(struct pinshm_region *r, const char *name, int id,
			   struct pinshm_mpsc *out)
{
	struct pinshm_mpsc p;
	uint64_t cap, max_record, meta_start = 0;
	uint32_t dead = 0;
	int ret, pass, i;

	memset(&p, 0, sizeof(p));
	ret = mpsc_lookup(r, name, &p.sh, &cap, &max_record);
	if (ret)
		return ret;
	ret = __pinshm_self_meta_start(r, &meta_start);
	if (ret)
		return ret;
	p.role = PINSHM_PRODUCER;
	__pinshm_waitq_ref_init(&p.wref, r, &p.sh->waitq);
	p.buf = (uint8_t *)p.sh + PINSHM_MPSC_HDR_SIZE;
	p.cap = cap;
	p.mask = cap - 1;
	p.max_record = max_record;
	p.batch_max = (cap - __pinshm_mpsc_zero_lag(cap, max_record)) / 2;
	if (id >= 0) {
		ret = producer_try(&p, (unsigned int)id, meta_start, &dead);
	} else {
		/* First a never-used or cleanly left slot, then a dead one. */
		ret = -ENOSPC;
		for (pass = 0; pass < 2 && ret; pass++) {
			for (i = 0; i < PINSHM_MPSC_PRODUCERS; i++) {
				if (pass == 0 && PINSHM_READ_ONCE(
					    p.sh->prod[i].role.holder) != 0)
					continue;
				ret = producer_try(&p, (unsigned int)i,
						   meta_start, &dead);
				if (ret == 0 || ret == -EBADMSG)
					break;
				ret = -ENOSPC;
			}
		}
	}
	if (ret)
		return ret;
	/* For (W1)/(W2) of wait.h; without membarrier the consumer spins. */
	pinshm_wait_register();
	p.wref.probe = __pinshm_probe_intern(r->name, name, PINSHM_OBJ_MPSC,
					     (int)p.id);
	__pinshm_probe_role_attach(p.wref.probe, PINSHM_PRODUCER, dead);
	*out = p;
	return 0;
}

/* Turn what is left of our claim into filler: it is ours, we are alive. */
__pinshm_export int pinshm_mpsc_abort(struct pinshm_mpsc *p)
{
	uint64_t size;

	if (!p || !p->sh)
		return -EINVAL;
	if (p->role != PINSHM_PRODUCER)
		return -EPERM;
	if (!p->nclaim)
		return 0;
	size = p->claim_end - p->claim_pos;
	/* (A) pairs with (B): one filler over every uncommitted record. */
	pinshm_store_release(&__pinshm_mpsc_rec(p->buf, p->mask,
						p->claim_pos)->len,
			     PINSHM_MPSC_PAD | (uint32_t)(size >> 3));
	p->nclaim = 0;
	PINSHM_WRITE_ONCE(p->slot->intent_size, 0);
	/* (W1) pairs with (W2): a consumer asleep on our claim moves on. */
	__pinshm_waitq_kick(&p->sh->waitq, &p->wref);
	return 0;
}

__pinshm_export int pinshm_mpsc_last(struct pinshm_mpsc *p,
				     uint64_t *word, uint32_t *type)
{
	struct pinshm_mpsc_pslot *s;

	if (!p || !p->sh || !word)
		return -EINVAL;
	if (p->role != PINSHM_PRODUCER)
		return -EPERM;
	s = p->slot;
	if (PINSHM_READ_ONCE(s->last_pos) == PINSHM_POS_NONE)
		return -ENOENT;
	*word = PINSHM_READ_ONCE(s->last_word);
	if (type)
		*type = PINSHM_READ_ONCE(s->last_type);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Consumer                                                            */
/* ------------------------------------------------------------------ */

static int consumer_attach(struct pinshm_region *r, const char *name,
			   struct pinshm_mpsc *out)
{
	struct pinshm_mpsc c;
	struct pinshm_mpsc_shared *sh;
	uint64_t cap, max_record, head, zeroed;
	uint32_t dead;
	int ret;

	ret = mpsc_lookup(r, name, &sh, &cap, &max_record);
	if (ret)
		return ret;
	ret = __pinshm_role_take(&sh->consumer, &dead);
	if (ret)
		return ret;
	/* Acquire: a dead predecessor's stores to its own role's words
	 * happen-before ours (the role take above already ordered them). */
	head = pinshm_load_acquire(&sh->head);
	zeroed = pinshm_load_acquire(&sh->zeroed);
	if ((head | zeroed) % PINSHM_REC_ALIGN || head - zeroed > cap) {
		__pinshm_role_drop(&sh->consumer);
		return -EBADMSG;
	}
	memset(&c, 0, sizeof(c));
	c.sh = sh;
	c.role = PINSHM_CONSUMER;
	__pinshm_waitq_ref_init(&c.wref, r, &sh->waitq);
	c.region = r;
	c.meta = r->meta;
	c.buf = (uint8_t *)sh + PINSHM_MPSC_HDR_SIZE;
	c.cap = cap;
	c.mask = cap - 1;
	c.max_record = max_record;
	c.zero_lag = __pinshm_mpsc_zero_lag(cap, max_record);
	/*
	 * The last consumer left [zeroed, head) released but not zeroed yet
	 * (its zeroing lag), or half zeroed if it died while zeroing: zero it
	 * now. No producer writes there (zeroed was never moved), so this is
	 * idempotent.
	 */
	__pinshm_mpsc_zero(c.buf, c.mask, zeroed, head);
	/* (Z1) */
	pinshm_store_release(&sh->zeroed, head);
	c.head = c.rpos = c.zeroed = head;
	c.generation = UINT64_MAX;	/* look for the dead at the first miss */
	c.msgs_out = PINSHM_READ_ONCE(sh->msgs_out);
	c.bytes_out = PINSHM_READ_ONCE(sh->bytes_out);
	/*
	 * The consumer is the ring's only sleeper: a predecessor that died
	 * asleep must not leave every commit making a wake syscall.
	 */
	PINSHM_WRITE_ONCE(sh->waitq.waiters, 0);
	c.wref.probe = __pinshm_probe_intern(r->name, name, PINSHM_OBJ_MPSC,
					     -1);
	__pinshm_probe_role_attach(c.wref.probe, PINSHM_CONSUMER, dead);
	*out = c;
	return 0;
}

__pinshm_export int pinshm_mpsc_attach(struct pinshm_region *r,
				       const char *name, int role,
				       struct pinshm_mpsc *out)
{
	int id = -1;

	if (!r || !out)
		return -EINVAL;
	role = __pinshm_role_parse(role, PINSHM_MPSC_PRODUCERS, &id);
	if (role < 0)
		return role;
	if (!r->writable)
		return -EACCES;
	return role == PINSHM_PRODUCER ? producer_attach(r, name, id, out) :
					 consumer_attach(r, name, out);
}

__pinshm_export int pinshm_mpsc_detach(struct pinshm_mpsc *h)
{
	if (!h || !h->sh)
		return -EINVAL;
	if (h->role == PINSHM_PRODUCER) {
		pinshm_mpsc_abort(h);
		__pinshm_role_drop(&h->slot->role);
	} else {
		pinshm_mpsc_release(h);
		__pinshm_role_drop(&h->sh->consumer);
	}
	__pinshm_probe_role_detach(h->wref.probe, h->role);
	h->sh = NULL;
	return 0;
}

__pinshm_export int __pinshm_mpsc_corrupt(struct pinshm_mpsc *c)
{
	PINSHM_WRITE_ONCE(c->sh->corrupt, PINSHM_READ_ONCE(c->sh->corrupt) + 1);
	return -EBADMSG;
}

/*
 * The metadata says (pid, start) is gone: no ATTACHED entry of it is left.
 * Its entry was ATTACHED before it wrote its slot's owner (which we read
 * before this copy of the metadata), so it is now DIED, EXEC, DETACHED,
 * or was DIED and recycled (the shm backend reuses the entries of the
 * gone when its table is full): in every case that process maps the
 * region no more and can never write to it again. An attacher whose death
 * is not recorded yet is still ATTACHED: we wait for it.
 */
bool __pinshm_meta_owner_gone(const struct pinshm_meta *m, uint32_t pid,
			      uint64_t start)
{
	uint32_t i;

	if (pid == 0)
		return false;
	for (i = 0; i < PINSHM_MAX_ATTACH; i++) {
		const struct pinshm_attach *a = &m->attach[i];

		if (a->tgid == pid && a->start_time == start &&
		    a->state == PINSHM_ST_ATTACHED)
			return false;
	}
	return true;
}

/* Consumer: filler over [from, to), split at the end of the buffer. */
static void pad_range(struct pinshm_mpsc *c, uint64_t from,
		      uint64_t to)
{
	while (from < to) {
		uint64_t off = from & c->mask;
		uint64_t n = to - from < c->cap - off ? to - from : c->cap - off;

		/* Read back only by ourselves. */
		PINSHM_WRITE_ONCE(__pinshm_mpsc_rec(c->buf, c->mask, from)->len,
				  PINSHM_MPSC_PAD | (uint32_t)(n >> 3));
		from += n;
	}
}

struct intent {
	uint64_t pos, size, start;
	uint32_t pid;
};

/*
 * Dead producers' intents in cand all start at h, the header there is
 * still 0, and their ends differ: one of them won the CAS from h (the
 * others' failed) and died before writing anything. The winner moved the
 * tail from h to its end, so the tail never stood between h and that end:
 * every smaller end lies inside the winner's unwritten claim, where the
 * word is 0 and no producer can intend to claim. At the winner's end, the
 * tail is still there, or the next claim starts: its header is written, or
 * its owner's intent (published before its CAS, which our load of t saw:
 * (I1)/(I2)) is still there. So the first end, in increasing order, that
 * is t, holds a header or starts an intent is the winner's. Returns it, 0
 * when no end qualifies (the caller waits: -EDEADLK).
 */
static uint64_t winner_end(struct pinshm_mpsc *c,
			   const struct intent *in, uint64_t cand, uint64_t h,
			   uint64_t t)
{
	uint64_t prev = 0, best, d, e;
	unsigned int i;

	/* Distances from h, each round the next larger: at most 64 rounds. */
	for (;;) {
		best = 0;
		for (i = 0; i < PINSHM_MPSC_PRODUCERS; i++) {
			d = in[i].pos + in[i].size - h;
			if ((cand & (1ULL << i)) && d > prev && (!best || d < best))
				best = d;
		}
		/* Past the tail: nobody's claim ends there, nor further. */
		if (!best || best > t - h)
			return 0;
		e = h + best;
		if (e == t)
			return e;
		if (e % PINSHM_REC_ALIGN == 0 &&
		    /* (H2): a header written by the next claimant */
		    pinshm_load_acquire(&__pinshm_mpsc_rec(c->buf, c->mask,
							   e)->len))
			return e;
		for (i = 0; i < PINSHM_MPSC_PRODUCERS; i++)
			if (in[i].size && in[i].pos == e)
				return e;
		prev = best;
	}
}

/*
 * One step of recovery at the consumer's position. Returns 1 when a dead
 * producer's claim was padded, 0 when there is nothing to do (or a live
 * producer to wait for), -EDEADLK when the owner cannot be told apart,
 * -EBADMSG.
 */
static int recover_one(struct pinshm_mpsc *c, bool *reaped)
{
	struct pinshm_mpsc_shared *sh = c->sh;
	struct intent in[PINSHM_MPSC_PRODUCERS];
	struct pinshm_meta m;
	uint64_t h = c->rpos, t, end = 0;
	uint64_t cand = 0, startm = 0;
	unsigned int i, id = 0;
	bool any_start = false;
	/* (H2) pairs with (H1) */
	uint32_t v = pinshm_load_acquire(&__pinshm_mpsc_rec(c->buf, c->mask,
							     h)->len);
	int ret;

	if (h - c->zeroed >= c->cap)
		return 0;	/* all peeked: the word is an old lap's */
	if (v != 0 && !(v & PINSHM_MPSC_CLAIMED))
		return 0;	/* committed or filler: peek's business */
	/* (I2) pairs with (I1): a claim seen in the tail shows its intent. */
	t = pinshm_load_acquire(&sh->tail);
	if (v == 0 && (int64_t)(t - h) <= 0)
		return 0;	/* empty */
	if (t % PINSHM_REC_ALIGN || t - c->zeroed > c->cap)
		return __pinshm_mpsc_corrupt(c);
	for (i = 0; i < PINSHM_MPSC_PRODUCERS; i++) {
		struct pinshm_mpsc_pslot *s = &sh->prod[i];

		/* (I2) */
		in[i].pos = pinshm_load_acquire(&s->intent_pos);
		in[i].size = PINSHM_READ_ONCE(s->intent_size);
		in[i].pid = PINSHM_READ_ONCE(s->owner_pid);
		in[i].start = PINSHM_READ_ONCE(s->owner_start);
	}
	/* The metadata after the owners: an owner we saw is in it. */
	if (!*reaped && c->region->backend == PINSHM_BACKEND_SHM) {
		pinshm_region_recover(c->region);	/* mark the dead */
		*reaped = true;
	}
	ret = pinshm_region_meta(c->region, &m);
	if (ret)
		return ret;
	c->generation = m.generation;
	if (v & PINSHM_MPSC_CLAIMED) {
		uint64_t rsize = (uint64_t)(v & PINSHM_MPSC_CUNITS) << 3;

		id = (v >> PINSHM_MPSC_ID_SHIFT) & PINSHM_MPSC_ID_MASK;
		if (rsize < PINSHM_REC_HDR || (h & c->mask) + rsize > c->cap)
			return __pinshm_mpsc_corrupt(c);
		if (!__pinshm_meta_owner_gone(&m, in[id].pid, in[id].start))
			return 0;	/* alive (or not known dead): wait */
		end = h + rsize;
		if (in[id].size && h - in[id].pos < in[id].size)
			end = in[id].pos + in[id].size;	/* rest of a batch */
		cand = 1ULL << id;
	} else {
		/* Header 0: the winner's intent covers h. */
		for (i = 0; i < PINSHM_MPSC_PRODUCERS; i++) {
			if (!in[i].size || h - in[i].pos >= in[i].size)
				continue;
			if (!__pinshm_meta_owner_gone(&m, in[i].pid, in[i].start))
				return 0;	/* a live candidate: wait */
			cand |= 1ULL << i;
			if (in[i].pos == h) {
				any_start = true;
				startm |= 1ULL << i;
			}
		}
		if (any_start)
			cand = startm;
		if (!cand)
			return 0;	/* nobody known: wait */
		for (i = 0; i < PINSHM_MPSC_PRODUCERS; i++) {
			if (!(cand & (1ULL << i)))
				continue;
			if (end && end != in[i].pos + in[i].size) {
				/* Killed together: what follows tells. */
				end = any_start ? winner_end(c, in, cand, h, t) : 0;
				if (!end)
					return -EDEADLK;
				break;
			}
			end = in[i].pos + in[i].size;
		}
	}
	if (end - h > c->cap || (int64_t)(t - end) < 0 ||
	    end % PINSHM_REC_ALIGN)
		return __pinshm_mpsc_corrupt(c);
	/* The owner is dead, so the header cannot change under us. */
	if (pinshm_load_acquire(&__pinshm_mpsc_rec(c->buf, c->mask, h)->len) != v)
		return 0;
	for (i = 0; i < PINSHM_MPSC_PRODUCERS; i++)
		if (cand & (1ULL << i))	/* (R1) before the filler and head */
			PINSHM_WRITE_ONCE(sh->rec_pad[i], h);
	pad_range(c, h, end);
	PINSHM_WRITE_ONCE(sh->recoveries, PINSHM_READ_ONCE(sh->recoveries) + 1);
	if (PINSHM_PROBE_ON(mpsc_pad)) {
		const struct pinshm_probe_names *pn =
			__pinshm_probe_names(c->wref.probe);
		uint32_t dead_pid = 0;

		/* The claim's owner: the candidate whose claim ends there. */
		for (i = 0; i < PINSHM_MPSC_PRODUCERS; i++)
			if ((cand & (1ULL << i)) && (!dead_pid ||
			    in[i].pos + in[i].size == end))
				dead_pid = in[i].pid;
		STAP_PROBE4(pinshm, mpsc_pad, pn->region, pn->ring,
			    (int)dead_pid, end - h);
	}
	__pinshm_probe_recovery(c->wref.probe, 1);
	return 1;
}

static int recover(struct pinshm_mpsc *c)
{
	bool reaped = false;
	int n = 0, ret, i;

	/* Bounded: at most one claim per producer slot, plus the walk. */
	for (i = 0; i <= PINSHM_MPSC_PRODUCERS; i++) {
		ret = recover_one(c, &reaped);
		if (ret <= 0)
			return n ? n : ret;
		n++;
		/* Skip the filler we wrote, stop at the next record. */
		for (;;) {
			uint64_t off = c->rpos & c->mask;
			uint32_t len = PINSHM_READ_ONCE(
				__pinshm_mpsc_rec(c->buf, c->mask, c->rpos)->len);
			uint64_t size = (uint64_t)(len & PINSHM_MPSC_PUNITS) << 3;

			if ((len & (PINSHM_MPSC_CLAIMED | PINSHM_REC_COMMIT)) ||
			    !(len & PINSHM_MPSC_PAD) || size == 0 ||
			    off + size > c->cap ||
			    c->rpos + size - c->zeroed > c->cap)
				break;
			c->rpos += size;
		}
	}
	return n;
}

__pinshm_export int __pinshm_mpsc_stuck(struct pinshm_mpsc *c)
{
	uint64_t gen = PINSHM_READ_ONCE(c->meta->generation);
	int ret;

	c->misses = 0;
	c->generation = gen;
	ret = recover(c);
	return ret > 0 ? ret : 0;
}

__pinshm_export int pinshm_mpsc_recover(struct pinshm_mpsc *c)
{
	if (!c || !c->sh)
		return -EINVAL;
	if (c->role != PINSHM_CONSUMER)
		return -EPERM;
	return recover(c);
}

/* ------------------------------------------------------------------ */
/* Consumer sleep (futex, pinshm/wait.h)                               */
/* ------------------------------------------------------------------ */

/*
 * Would pinshm_mpsc_peek() get anywhere? The word at the consumer's
 * position: COMMIT yes; 0 or CLAIMED no (the producer kicks when it
 * commits); filler is walked over as peek does, boundedly; anything peek
 * would call corrupt counts as ready (peek then says -EBADMSG). A death
 * recorded since the consumer last looked counts as ready too: peek then
 * looks for dead producers' claims.
 */
static bool mpsc_ready(void *arg)
{
	struct pinshm_mpsc *c = arg;
	uint64_t pos = c->rpos, off, size;
	unsigned int i;
	uint32_t len;

	if (PINSHM_READ_ONCE(c->meta->generation) != c->generation)
		return true;
	for (i = 0; i < PINSHM_MPSC_WAIT_PADS; i++) {
		if (pos - c->zeroed >= c->cap)
			return true;	/* all peeked: peek says -EAGAIN */
		off = pos & c->mask;
		/* (B) pairs with (A): the load peek makes; in the sleeper's
		 * re-check of (W2) it follows the membarrier. */
		len = pinshm_load_acquire(
			&__pinshm_mpsc_rec(c->buf, c->mask, pos)->len);
		if (len == 0 || (len & PINSHM_MPSC_CLAIMED))
			return false;
		if ((len & PINSHM_REC_COMMIT) || !(len & PINSHM_MPSC_PAD))
			return true;
		size = (uint64_t)(len & PINSHM_MPSC_PUNITS) << 3;
		if (size == 0 || off + size > c->cap ||
		    pos + size - c->zeroed > c->cap)
			return true;	/* corrupt: peek reports it */
		pos += size;
	}
	return true;	/* a long run of filler: let peek skip it */
}

__pinshm_export int pinshm_mpsc_wait(struct pinshm_mpsc *c,
				     int64_t timeout_ns)
{
	uint64_t deadline = 0;
	int64_t slice, left;
	int ret;

	if (!c || !c->sh)
		return -EINVAL;
	if (c->role != PINSHM_CONSUMER)
		return -EPERM;
	/* A death not looked at yet: recover first, or ready() stays true. */
	if (PINSHM_READ_ONCE(c->meta->generation) != c->generation &&
	    __pinshm_mpsc_stuck(c) > 0)
		return 0;
	if (timeout_ns == 0)
		return __pinshm_waitq_sleep(&c->sh->waitq, &c->wref, mpsc_ready,
					    c, 0, false);
	if (timeout_ns > 0)
		deadline = __pinshm_mono_ns() + (uint64_t)timeout_ns;
	for (;;) {
		slice = PINSHM_MPSC_WAIT_SLICE_NS;
		if (timeout_ns > 0) {
			left = (int64_t)(deadline - __pinshm_mono_ns());
			if (left <= 0)
				return mpsc_ready(c) ? 0 : -ETIMEDOUT;
			if (left < slice)
				slice = left;
		}
		/* (W2) of wait.h, pairs with the producers' (W1). */
		ret = __pinshm_waitq_sleep(&c->sh->waitq, &c->wref, mpsc_ready,
					   c, slice, false);
		if (ret != -ETIMEDOUT)
			return ret;
		/*
		 * A slice without a wake. A producer killed between its claim
		 * and its commit never kicks: look for dead producers' claims
		 * at our position (cheap when there is none: one load of the
		 * word, one of the tail).
		 */
		if (__pinshm_mpsc_stuck(c) > 0)
			return 0;
	}
}

int __pinshm_mpsc_stats(const struct pinshm_region *r, const char *name,
			struct pinshm_ring_stats *out)
{
	struct pinshm_mpsc_shared *sh;
	uint64_t cap, max_record;
	unsigned int i;
	int ret;

	ret = mpsc_lookup(r, name, &sh, &cap, &max_record);
	if (ret)
		return ret;
	for (i = 0; i < PINSHM_MPSC_PRODUCERS; i++) {
		out->msgs_in += PINSHM_READ_ONCE(sh->prod[i].msgs_in);
		out->bytes_in += PINSHM_READ_ONCE(sh->prod[i].bytes_in);
		out->full_events += PINSHM_READ_ONCE(sh->prod[i].full_events);
	}
	out->tail = PINSHM_READ_ONCE(sh->tail);
	out->msgs_out = PINSHM_READ_ONCE(sh->msgs_out);
	out->bytes_out = PINSHM_READ_ONCE(sh->bytes_out);
	out->corrupt = PINSHM_READ_ONCE(sh->corrupt);
	out->recoveries = PINSHM_READ_ONCE(sh->recoveries);
	out->head = PINSHM_READ_ONCE(sh->head);
	out->consumer_pid = PINSHM_ROLE_PID(
		PINSHM_READ_ONCE(sh->consumer.holder));
	return 0;
}
