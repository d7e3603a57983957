// SPDX-License-Identifier: MIT
/*
 * Fan-in ring setup, roles, the consumer's wait and counters; the
 * per-message paths are inline in include/pinshm/fanin.h and are the SPSC
 * ring's, lane by lane (spsc.h has the ordering protocol (A)-(E); the
 * wait queue's (W1)/(W2) are wait.h's). Each lane is set up, taken over
 * and recovered by spsc.c's own steps. The merge by key is here, out of
 * line: it looks at every lane on each call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "probes.h"

struct fanin_init {
	unsigned int lanes;
	uint64_t lane_capacity;
	uint64_t max_record;
};

static uint64_t lane_size_of(uint64_t cap)
{
	return PINSHM_SPSC_HDR_SIZE + cap;
}

static struct pinshm_spsc_shared *lane_at(struct pinshm_fanin_shared *sh,
					  uint64_t lane_size, unsigned int i)
{
	return (struct pinshm_spsc_shared *)((uint8_t *)sh +
		PINSHM_FANIN_HDR_SIZE + (uint64_t)i * lane_size);
}

static void fanin_init_obj(void *obj, void *arg)
{
	struct pinshm_fanin_shared *sh = obj;
	const struct fanin_init *in = arg;
	uint64_t lane_size = lane_size_of(in->lane_capacity);
	unsigned int i;

	memset(sh, 0, PINSHM_FANIN_HDR_SIZE);
	sh->magic = PINSHM_FANIN_MAGIC;
	sh->version = PINSHM_FANIN_VERSION;
	sh->lanes = in->lanes;
	sh->lane_capacity = in->lane_capacity;
	sh->max_record = in->max_record;
	sh->lane_off = PINSHM_FANIN_HDR_SIZE;
	sh->lane_size = lane_size;
	for (i = 0; i < in->lanes; i++)
		__pinshm_spsc_init(lane_at(sh, lane_size, i), in->lane_capacity,
				   in->max_record);
	/* Published by the directory's (D1). */
}

__pinshm_export int pinshm_fanin_create(struct pinshm_region *r,
					const char *name, unsigned int lanes,
					uint64_t lane_capacity,
					uint64_t max_record)
{
	struct fanin_init in;

	if (!r || lanes == 0 || lanes > PINSHM_FANIN_LANES ||
	    !__pinshm_is_pow2(lane_capacity) || lane_capacity > (1ULL << 32))
		return -EINVAL;
	if (max_record == 0 && lane_capacity >= 64)
		max_record = lane_capacity / 4 - 2 * PINSHM_REC_HDR;
	if (!__pinshm_spsc_geometry_ok(lane_capacity, max_record))
		return -EINVAL;
	in.lanes = lanes;
	in.lane_capacity = lane_capacity;
	in.max_record = max_record;
	return __pinshm_dir_add(r, name, PINSHM_OBJ_FANIN,
				PINSHM_FANIN_HDR_SIZE +
				lanes * lane_size_of(lane_capacity),
				lane_capacity, max_record, fanin_init_obj, &in);
}

/* Find the ring, check its header against its directory entry. */
static int fanin_lookup(const struct pinshm_region *r, const char *name,
			struct pinshm_fanin_shared **shp, unsigned int *lanes,
			uint64_t *cap, uint64_t *max_record)
{
	struct pinshm_obj_info info;
	struct pinshm_fanin_shared *sh;
	uint32_t n;
	int ret;

	ret = __pinshm_dir_get(r, name, &info);
	if (ret)
		return ret;
	if (info.type != PINSHM_OBJ_FANIN)
		return -EPROTOTYPE;
	if (info.size < PINSHM_FANIN_HDR_SIZE)
		return -EBADMSG;
	sh = (struct pinshm_fanin_shared *)((uint8_t *)r->data + info.offset);
	/* Block 0 is constant since creation: published by (D1). */
	if (PINSHM_READ_ONCE(sh->magic) != PINSHM_FANIN_MAGIC)
		return -EBADMSG;
	if (PINSHM_READ_ONCE(sh->version) != PINSHM_FANIN_VERSION)
		return -EPROTONOSUPPORT;	/* another library's layout */
	n = PINSHM_READ_ONCE(sh->lanes);
	*cap = PINSHM_READ_ONCE(sh->lane_capacity);
	*max_record = PINSHM_READ_ONCE(sh->max_record);
	if (n == 0 || n > PINSHM_FANIN_LANES ||
	    *cap != info.capacity || *cap > (1ULL << 32) ||
	    !__pinshm_spsc_geometry_ok(*cap, *max_record) ||
	    PINSHM_READ_ONCE(sh->lane_off) != PINSHM_FANIN_HDR_SIZE ||
	    PINSHM_READ_ONCE(sh->lane_size) != lane_size_of(*cap) ||
	    (info.size - PINSHM_FANIN_HDR_SIZE) / lane_size_of(*cap) < n)
		return -EBADMSG;
	*shp = sh;
	*lanes = n;
	return 0;
}

/* Lane i's header, checked against the ring's geometry; NULL if bad. */
static struct pinshm_spsc_shared *lane_get(struct pinshm_fanin_shared *sh,
					   uint64_t cap, uint64_t max_record,
					   unsigned int i)
{
	struct pinshm_spsc_shared *l = lane_at(sh, lane_size_of(cap), i);

	return __pinshm_spsc_hdr_ok(l, cap, max_record) ? l : NULL;
}

/* ------------------------------------------------------------------ */
/* Producer                                                            */
/* ------------------------------------------------------------------ */

static int producer_try(struct pinshm_region *r, const char *name,
			struct pinshm_fanin *p, uint64_t cap,
			uint64_t max_record, unsigned int id, uint32_t *dead)
{
	struct pinshm_spsc_shared *l = lane_get(p->sh, cap, max_record, id);
	int ret;

	if (!l)
		return -EBADMSG;
	__pinshm_spsc_handle(&p->lane, r, l, cap, max_record, PINSHM_PRODUCER,
			     &p->sh->waitq);
	ret = __pinshm_role_take(&l->producer, dead);
	if (ret)
		return ret;
	/* The lane's (E) and (D): continue from what it published. */
	ret = __pinshm_spsc_producer_resume(&p->lane);
	if (ret) {
		__pinshm_role_drop(&l->producer);
		return ret;
	}
	p->id = id;
	p->lane.wref.probe = __pinshm_probe_intern(r->name, name,
						   PINSHM_OBJ_FANIN, (int)id);
	return 0;
}

static int producer_attach(struct pinshm_region *r, const char *name, int id,
			   struct pinshm_fanin *out)
{
	struct pinshm_fanin p;
	uint64_t cap, max_record;
	uint32_t dead = 0;
	unsigned int i;
	int ret, pass;

	memset(&p, 0, sizeof(p));
	ret = fanin_lookup(r, name, &p.sh, &p.lanes, &cap, &max_record);
	if (ret)
		return ret;
	p.role = PINSHM_PRODUCER;
	if (id >= 0) {
		if ((unsigned int)id >= p.lanes)
			return -EINVAL;
		ret = producer_try(r, name, &p, cap, max_record,
				   (unsigned int)id, &dead);
	} else {
		/* First a never-used or cleanly left lane, then a dead one's. */
		ret = -ENOSPC;
		for (pass = 0; pass < 2 && ret; pass++) {
			for (i = 0; i < p.lanes; i++) {
				struct pinshm_spsc_shared *l =
					lane_get(p.sh, cap, max_record, i);

				/* Relaxed: a hint; the take is the CAS. */
				if (!l || (pass == 0 && PINSHM_READ_ONCE(
						l->producer.holder) != 0))
					continue;
				ret = producer_try(r, name, &p, cap,
						   max_record, i, &dead);
				if (ret == 0)
					break;
				ret = -ENOSPC;
			}
		}
	}
	if (ret)
		return ret;
	/* For (W1)/(W2) of wait.h; without membarrier the consumer spins. */
	pinshm_wait_register();
	__pinshm_probe_role_attach(p.lane.wref.probe, PINSHM_PRODUCER, dead);
	if (dead)
		/* The lane of a dead producer, taken over: one recovery. */
		__pinshm_probe_recovery(p.lane.wref.probe, 1);
	*out = p;
	return 0;
}

__pinshm_export int pinshm_fanin_last(struct pinshm_fanin *p,
				      struct pinshm_msg *out)
{
	if (!p || !p->sh || !out)
		return -EINVAL;
	if (p->role != PINSHM_PRODUCER)
		return -EPERM;
	return pinshm_spsc_last(&p->lane, out);
}

/* ------------------------------------------------------------------ */
/* Consumer                                                            */
/* ------------------------------------------------------------------ */

__pinshm_export void __pinshm_fanin_corrupt(struct pinshm_fanin *c,
					    unsigned int i)
{
	c->bad |= 1ULL << i;
	/* Our own word (the consumer's block): relaxed, a counter. */
	PINSHM_WRITE_ONCE(c->sh->corrupt, PINSHM_READ_ONCE(c->sh->corrupt) + 1);
}

static int consumer_attach(struct pinshm_region *r, const char *name,
			   struct pinshm_fanin *out)
{
	struct pinshm_fanin c;
	struct pinshm_spsc_shared *l;
	uint64_t cap, max_record;
	uint32_t dead;
	unsigned int i;
	int ret;

	memset(&c, 0, sizeof(c));
	ret = fanin_lookup(r, name, &c.sh, &c.lanes, &cap, &max_record);
	if (ret)
		return ret;
	c.lane_c = calloc(c.lanes, sizeof(*c.lane_c));
	if (!c.lane_c)
		return -ENOMEM;
	ret = __pinshm_role_take(&c.sh->consumer, &dead);
	if (ret) {
		free(c.lane_c);
		return ret;
	}
	c.role = PINSHM_CONSUMER;
	__pinshm_waitq_ref_init(&c.wref, r, &c.sh->waitq);
	c.wref.probe = __pinshm_probe_intern(r->name, name, PINSHM_OBJ_FANIN,
					     -1);
	for (i = 0; i < c.lanes; i++) {
		l = lane_get(c.sh, cap, max_record, i);
		/* A lane whose header or positions are bad is skipped, the
		 * others go on: one hostile lane blocks nobody. */
		if (!l) {
			c.bad |= 1ULL << i;
			continue;
		}
		__pinshm_spsc_handle(&c.lane_c[i], r, l, cap, max_record,
				     PINSHM_CONSUMER, &c.sh->waitq);
		c.lane_c[i].wref.probe = c.wref.probe;
		/* The lane's consumer words are ours (this role's): the
		 * role take ordered a dead predecessor's stores before. */
		if (__pinshm_spsc_consumer_resume(&c.lane_c[i]))
			c.bad |= 1ULL << i;
	}
	if (c.bad)
		PINSHM_WRITE_ONCE(c.sh->corrupt,
				  PINSHM_READ_ONCE(c.sh->corrupt) +
				  (uint64_t)__builtin_popcountll(c.bad));
	/*
	 * The consumer is the ring's only sleeper: a predecessor that died
	 * asleep must not leave every commit making a wake syscall.
	 */
	PINSHM_WRITE_ONCE(c.sh->waitq.waiters, 0);
	__pinshm_probe_role_attach(c.wref.probe, PINSHM_CONSUMER, dead);
	*out = c;
	return 0;
}

__pinshm_export int pinshm_fanin_attach(struct pinshm_region *r,
					const char *name, int role,
					struct pinshm_fanin *out)
{
	int id = -1;

	if (!r || !out)
		return -EINVAL;
	role = __pinshm_role_parse(role, PINSHM_FANIN_LANES, &id);
	if (role < 0)
		return role;
	if (!r->writable)
		return -EACCES;
	return role == PINSHM_PRODUCER ? producer_attach(r, name, id, out) :
					 consumer_attach(r, name, out);
}

__pinshm_export int pinshm_fanin_detach(struct pinshm_fanin *h)
{
	if (!h || !h->sh)
		return -EINVAL;
	if (h->role == PINSHM_PRODUCER) {
		pinshm_spsc_publish(&h->lane);
		__pinshm_role_drop(&h->lane.sh->producer);
		__pinshm_probe_role_detach(h->lane.wref.probe, h->role);
	} else {
		pinshm_fanin_release(h);
		__pinshm_role_drop(&h->sh->consumer);
		__pinshm_probe_role_detach(h->wref.probe, h->role);
		free(h->lane_c);
		h->lane_c = NULL;
	}
	h->sh = NULL;
	return 0;
}

/* The key of a record: key_off + 8 bytes within its length, else 0. */
static uint64_t merge_key(const struct pinshm_msg *m, uint32_t key_off)
{
	uint64_t key = 0;

	/* Payload after (B) of its lane; its length is checked, its key is
	 * data that only decides the order. */
	if ((uint64_t)key_off + sizeof(key) <= m->len)
		memcpy(&key, (const uint8_t *)m->data + key_off, sizeof(key));
	return key;
}

/*
 * The record with the smallest key at the head of the lanes into *m;
 * take: peek it (its lane moves on, c->id names it; returns 0), else only
 * look (returns its lane). Every lane is put back where it was but the
 * one taken from.
 */
static int fanin_merge(struct pinshm_fanin *c, struct pinshm_msg *m,
		       uint32_t key_off, uint64_t *empty, bool take)
{
	struct pinshm_spsc *l;
	struct pinshm_msg head;
	uint64_t rpos, rlast, key, best_key = 0, none = 0;
	uint64_t best_rpos = 0, best_rlast = 0, best_prev = 0;
	unsigned int i, best = ~0u;
	int ret;

	if (!c || !c->sh || !m)
		return -EINVAL;
	if (c->role != PINSHM_CONSUMER)
		return -EPERM;
	for (i = 0; i < c->lanes; i++) {
		if (c->bad >> i & 1)
			continue;
		l = &c->lane_c[i];
		rpos = l->rpos;
		rlast = l->rlast;
		/* (B) of spsc.h, on lane i's next record, as peek does. */
		ret = pinshm_spsc_peek(l, &head);
		if (ret == -EAGAIN) {
			none |= 1ULL << i;
			continue;
		}
		if (ret) {
			l->rpos = rpos;	/* a filler skipped before it */
			c->id = i;
			__pinshm_fanin_corrupt(c, i);
			return ret;
		}
		key = merge_key(&head, key_off);
		if (best == ~0u || key < best_key) {
			best = i;
			best_key = key;
			best_rpos = l->rpos;
			best_rlast = l->rlast;
			best_prev = rlast;
			*m = head;
		}
		/* Looked at, not taken: lane i stays where it was. */
		l->rpos = rpos;
		l->rlast = rlast;
		l->peeked_msgs--;
		l->peeked_bytes -= head.len;
	}
	if (empty)
		*empty = none;
	if (best == ~0u)
		return -EAGAIN;
	if (!take)
		return (int)best;
	/* Take the smallest: lane best as if pinshm_fanin_peek() had. */
	c->id = best;
	l = &c->lane_c[best];
	l->rpos = best_rpos;
	l->rlast = best_rlast;
	l->peeked_msgs++;
	l->peeked_bytes += m->len;
	c->prev_rlast = best_prev;
	c->peeked |= 1ULL << best;
	return 0;
}

__pinshm_export int pinshm_fanin_peek_merged(struct pinshm_fanin *c,
					     struct pinshm_msg *m,
					     uint32_t key_off, uint64_t *empty)
{
	return fanin_merge(c, m, key_off, empty, true);
}

__pinshm_export int pinshm_fanin_look_merged(struct pinshm_fanin *c,
					     struct pinshm_msg *m,
					     uint32_t key_off, uint64_t *empty)
{
	return fanin_merge(c, m, key_off, empty, false);
}

/*
 * Would pinshm_fanin_peek() find something in some lane (or something
 * corrupt, which peek then reports)? In the sleeper's re-check of (W2),
 * each lane's load is (B) of spsc.h, after the membarrier.
 */
static bool fanin_ready(void *arg)
{
	const struct pinshm_fanin *c = arg;
	unsigned int i;

	for (i = 0; i < c->lanes; i++)
		if (!(c->bad >> i & 1) && __pinshm_spsc_ready(&c->lane_c[i]))
			return true;
	return false;
}

__pinshm_export int pinshm_fanin_wait(struct pinshm_fanin *c,
				      int64_t timeout_ns)
{
	if (!c || !c->sh)
		return -EINVAL;
	if (c->role != PINSHM_CONSUMER)
		return -EPERM;
	/* (W2) of wait.h, pairs with every lane producer's (W1). */
	return __pinshm_waitq_sleep(&c->sh->waitq, &c->wref, fanin_ready, c,
				    timeout_ns, false);
}

int __pinshm_fanin_stats(const struct pinshm_region *r, const char *name,
			 struct pinshm_ring_stats *out)
{
	struct pinshm_fanin_shared *sh;
	struct pinshm_spsc_shared *l;
	uint64_t cap, max_record;
	unsigned int lanes, i;
	int ret;

	ret = fanin_lookup(r, name, &sh, &lanes, &cap, &max_record);
	if (ret)
		return ret;
	/* Counters and positions, each word read once: relaxed. */
	for (i = 0; i < lanes; i++) {
		l = lane_get(sh, cap, max_record, i);
		if (!l)
			continue;
		out->msgs_in += PINSHM_READ_ONCE(l->msgs_in);
		out->bytes_in += PINSHM_READ_ONCE(l->bytes_in);
		out->full_events += PINSHM_READ_ONCE(l->full_events);
		out->msgs_out += PINSHM_READ_ONCE(l->msgs_out);
		out->bytes_out += PINSHM_READ_ONCE(l->bytes_out);
		out->corrupt += PINSHM_READ_ONCE(l->corrupt);
		out->tail += PINSHM_READ_ONCE(l->tail);
		out->head += PINSHM_READ_ONCE(l->head);
	}
	out->corrupt += PINSHM_READ_ONCE(sh->corrupt);
	out->consumer_pid = PINSHM_ROLE_PID(
		PINSHM_READ_ONCE(sh->consumer.holder));
	return 0;
}
