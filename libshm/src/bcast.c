// SPDX-License-Identifier: MIT
/*
 * Broadcast ring setup, the writer role and its recovery, reader
 * positioning, readers' sleep; lossless rings' gates: registering,
 * leaving, the writer's refresh of its limit and its dropping of dead
 * readers. The per-message paths and the ordering protocol (W1)-(W4),
 * (R1)-(R4), (K1)/(K2), (G1)-(G7) are in include/pinshm/bcast.h.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "probes.h"

struct bcast_init {
	uint64_t slots;
	uint64_t slot_size;
	uint32_t flags;
	uint32_t gates;
};

static uint64_t data_off_for(uint32_t gates)
{
	return PINSHM_BCAST_HDR_SIZE + (uint64_t)gates * PINSHM_BCAST_GATE_SIZE;
}

static void bcast_init_obj(void *obj, void *arg)
{
	struct pinshm_bcast_shared *sh = obj;
	const struct bcast_init *in = arg;

	memset(sh, 0, data_off_for(in->gates) + in->slots * in->slot_size);
	sh->magic = PINSHM_BCAST_MAGIC;
	sh->version = in->flags ? PINSHM_BCAST_VERSION_GATED :
				  PINSHM_BCAST_VERSION;
	sh->slots = in->slots;
	sh->slot_size = in->slot_size;
	sh->max_payload = in->slot_size - PINSHM_BCAST_SLOT_HDR;
	sh->data_off = data_off_for(in->gates);
	sh->flags = in->flags;
	sh->gates = in->gates;
	/* Published by the directory's (D1). */
}

__pinshm_export int pinshm_bcast_create_flags(struct pinshm_region *r,
					      const char *name, uint64_t slots,
					      uint32_t max_payload,
					      uint32_t flags)
{
	struct bcast_init in;

	if (!r || !__pinshm_is_pow2(slots) || slots < 2 ||
	    slots > PINSHM_BCAST_MAX_SLOTS ||
	    max_payload > PINSHM_BCAST_MAX_SLOT - PINSHM_BCAST_SLOT_HDR ||
	    (flags & ~PINSHM_BCAST_LOSSLESS))
		return -EINVAL;
	in.slots = slots;
	in.slot_size = __pinshm_bcast_slot_size(max_payload);
	in.flags = flags;
	in.gates = (flags & PINSHM_BCAST_LOSSLESS) ? PINSHM_BCAST_GATES : 0;
	return __pinshm_dir_add(r, name, PINSHM_OBJ_BCAST,
				data_off_for(in.gates) + slots * in.slot_size,
				slots, in.slot_size - PINSHM_BCAST_SLOT_HDR,
				bcast_init_obj, &in);
}

__pinshm_export int pinshm_bcast_create(struct pinshm_region *r,
					const char *name, uint64_t slots,
					uint32_t max_payload)
{
	return pinshm_bcast_create_flags(r, name, slots, max_payload, 0);
}

/* A validated copy of the ring's geometry. */
struct bcast_geom {
	struct pinshm_bcast_shared *sh;
	uint64_t slots;
	uint64_t slot_size;
	uint64_t max_payload;
	uint64_t data_off;	/* header (and gates) to slot 0 */
	uint32_t flags;
	uint32_t gates;		/* 0, or PINSHM_BCAST_GATES (lossless) */
};

/* Find the ring, check its header against its directory entry. */
static int bcast_lookup(const struct pinshm_region *r, const char *name,
			struct bcast_geom *g)
{
	struct pinshm_obj_info info;
	struct pinshm_bcast_shared *sh;
	uint32_t ver;
	int ret;

	ret = __pinshm_dir_get(r, name, &info);
	if (ret)
		return ret;
	if (info.type != PINSHM_OBJ_BCAST)
		return -EPROTOTYPE;
	if (info.size < PINSHM_BCAST_HDR_SIZE)
		return -EBADMSG;
	sh = (struct pinshm_bcast_shared *)((uint8_t *)r->data + info.offset);
	g->sh = sh;
	g->slots = PINSHM_READ_ONCE(sh->slots);
	g->slot_size = PINSHM_READ_ONCE(sh->slot_size);
	g->max_payload = PINSHM_READ_ONCE(sh->max_payload);
	g->data_off = PINSHM_READ_ONCE(sh->data_off);
	g->flags = PINSHM_READ_ONCE(sh->flags);
	g->gates = PINSHM_READ_ONCE(sh->gates);
	ver = PINSHM_READ_ONCE(sh->version);
	if (PINSHM_READ_ONCE(sh->magic) == PINSHM_BCAST_MAGIC &&
	    ver != PINSHM_BCAST_VERSION && ver != PINSHM_BCAST_VERSION_GATED)
		return -EPROTONOSUPPORT;	/* another library's layout */
	/* Version 3 has zeros where flags and gates are; version 4 is
	 * lossless, with its gate table between header and slots. */
	if (ver == PINSHM_BCAST_VERSION ? g->flags || g->gates :
	    g->flags != PINSHM_BCAST_LOSSLESS || g->gates != PINSHM_BCAST_GATES)
		return -EBADMSG;
	if (PINSHM_READ_ONCE(sh->magic) != PINSHM_BCAST_MAGIC ||
	    g->data_off != data_off_for(g->gates) ||
	    !__pinshm_is_pow2(g->slots) || g->slots < 2 ||
	    g->slots > PINSHM_BCAST_MAX_SLOTS || g->slots != info.capacity ||
	    g->slot_size < PINSHM_BCAST_SLOT_ALIGN ||
	    g->slot_size > PINSHM_BCAST_MAX_SLOT ||
	    g->slot_size % PINSHM_BCAST_SLOT_ALIGN ||
	    g->max_payload != g->slot_size - PINSHM_BCAST_SLOT_HDR ||
	    info.size < g->data_off ||
	    g->slots * g->slot_size > info.size - g->data_off)
		return -EBADMSG;
	return 0;
}

static struct pinshm_bcast_gate *ggates(const struct bcast_geom *g)
{
	return g->gates ? (struct pinshm_bcast_gate *)((uint8_t *)g->sh +
						       PINSHM_BCAST_HDR_SIZE) :
			  NULL;
}

static struct pinshm_bcast_slot *gslot(const struct bcast_geom *g, uint64_t i)
{
	return (struct pinshm_bcast_slot *)((uint8_t *)g->sh + g->data_off +
					    (i & (g->slots - 1)) * g->slot_size);
}

/*
 * A writer taking over. Records published after the stored tail (a writer
 * killed between (W3) and (W4)) are kept: walk forward over slots holding
 * exactly 2i + 2. Then withdraw what the dead writer had claimed or staged
 * but not published: any slot naming a record at or after the new tail is
 * set to "record i being written" (2i + 1) for the record that will really
 * go there, which this writer writes next; a lapped reader meeting it still
 * learns it is lapped, a reader waiting for it waits. Bounded by slots.
 */
static int writer_recover(const struct bcast_geom *g, uint64_t *tailp,
			  uint64_t *fixed)
{
	uint64_t tail = pinshm_load_acquire(&g->sh->tail);	/* (R4) */
	uint64_t k, s, i, n = 0;

	/* (R1): each slot's record before the next. */
	for (k = 0; k < g->slots - 1; k++) {
		if (pinshm_load_acquire(&gslot(g, tail)->seq) != 2 * tail + 2)
			break;
		tail++;
	}
	for (k = 0; k < g->slots; k++) {
		i = tail + k;	/* the record this slot holds next */
		s = PINSHM_READ_ONCE(gslot(g, i)->seq);
		if (s < 2 * tail + 1)
			continue;	/* an older record, or nothing */
		/* Only a record of this slot, at most a ring ahead. */
		if (((s - 1) / 2 - i) & (g->slots - 1) ||
		    (s - 1) / 2 >= tail + g->slots)
			return -EBADMSG;
		PINSHM_WRITE_ONCE(gslot(g, i)->seq, 2 * i + 1);
		n++;
	}
	*tailp = tail;
	*fixed = n;
	return 0;
}

static int writer_attach(struct pinshm_region *r, const char *name,
			 struct pinshm_bcast *out)
{
	struct pinshm_bcast w;
	struct bcast_geom g;
	uint64_t tail, fixed;
	uint32_t dead;
	int ret;

	if (!r->writable)
		return -EACCES;
	ret = bcast_lookup(r, name, &g);
	if (ret)
		return ret;
	ret = __pinshm_role_take(&g.sh->writer, &dead);
	if (ret)
		return ret;
	ret = writer_recover(&g, &tail, &fixed);
	if (ret) {
		__pinshm_role_drop(&g.sh->writer);
		return ret;
	}
	memset(&w, 0, sizeof(w));
	w.sh = g.sh;
	w.role = PINSHM_WRITER;
	w.base = (uint8_t *)g.sh + g.data_off;
	w.kgates = ggates(&g);
	w.ngates = g.gates;
	w.region = r;
	/* Lossless: the first claim reads the gates (and stores limit,
	 * (G3)); lossy: never. */
	w.limit = w.kgates ? 0 : UINT64_MAX;
	w.full_events = PINSHM_READ_ONCE(g.sh->full_events);
	w.dropped = PINSHM_READ_ONCE(g.sh->dropped);
	w.slots = g.slots;
	w.mask = g.slots - 1;
	w.slot_size = g.slot_size;
	w.max_payload = (uint32_t)g.max_payload;
	w.tail = w.next = tail;
	w.bytes_in = PINSHM_READ_ONCE(g.sh->bytes_in);
	/*
	 * Every record below tail was published exactly once, so msgs_in is
	 * tail: derive it rather than trust the stored counter, which a
	 * writer killed between (W4) and its msgs_in store (or between (W3)
	 * and (W4)) left short. (bytes_in cannot be derived: it may stay
	 * short by that last batch.)
	 */
	w.msgs_in = tail;
	if (PINSHM_READ_ONCE(g.sh->msgs_in) != tail)
		PINSHM_WRITE_ONCE(g.sh->msgs_in, tail);
	if (fixed)
		PINSHM_WRITE_ONCE(g.sh->recoveries,
				  PINSHM_READ_ONCE(g.sh->recoveries) + 1);
	/* (W4): the slots fixed above, then tail. */
	pinshm_store_release(&g.sh->tail, tail);
	/* For (K1)/(K2); without membarrier, readers spin or yield. */
	pinshm_wait_register();
	__pinshm_waitq_ref_init(&w.wref, r, &g.sh->waitq);
	w.wref.probe = __pinshm_probe_intern(r->name, name, PINSHM_OBJ_BCAST,
					     -1);
	__pinshm_probe_role_attach(w.wref.probe, PINSHM_WRITER, dead);
	if (fixed)
		__pinshm_probe_recovery(w.wref.probe, 1);
	/* (K1) pairs with (K2): records a dead writer published without
	 * its kick (killed between (W3) and (K1)) wake their sleepers. */
	__pinshm_waitq_kick_ro(&g.sh->waitq, &w.wref);
	*out = w;
	return 0;
}

static uint64_t start_pos(const struct pinshm_bcast *rd, int from)
{
	/* (R4) pairs with (W4): records below tail are published. */
	uint64_t tail = pinshm_load_acquire(&rd->sh->tail);

	switch (from) {
	case PINSHM_BCAST_NEWEST:
		return tail ? tail - 1 : 0;
	case PINSHM_BCAST_NEXT:
		return tail;
	default:	/* OLDEST; if its slot is being claimed right now, the
			 * first peek counts it as lost */
		return tail >= rd->slots ? tail - rd->slots : 0;
	}
}

/*
 * Register: take a free gate, name ourselves in it, and start where no
 * record we will read can have been overwritten, (G4)/(G5). Returns the
 * gate and the starting position, -ENOSPC, -EPERM.
 */
static int gate_register(struct pinshm_region *r, const struct bcast_geom *g,
			 struct pinshm_bcast_gate **gatep, uint64_t *posp)
{
	struct pinshm_bcast_gate *gt = ggates(g);
	uint64_t self = __pinshm_role_self(), start = 0, cur, p, lim, t2;
	uint32_t k;
	int ret;

	ret = __pinshm_self_meta_start(r, &start);
	if (ret)
		return ret;
	for (k = 0; k < g->gates; k++, gt++) {
		cur = 0;
		/* (G7): acquire, pairs with the last holder's release. */
		if (atomic_compare_exchange_strong_explicit(
			    (_Atomic uint64_t *)&gt->role.holder, &cur, self,
			    memory_order_acquire, memory_order_relaxed))
			break;
	}
	if (k == g->gates)
		return -ENOSPC;
	PINSHM_WRITE_ONCE(gt->owner_pid, (uint32_t)getpid());
	PINSHM_WRITE_ONCE(gt->owner_start, start);
	/* (G5) pairs with (G6): our identity before the word vouching
	 * for it. */
	pinshm_store_release(&gt->owner, self);
	/* (R4) pairs with (W4): records below tail are published. */
	p = pinshm_load_acquire(&g->sh->tail);
	PINSHM_WRITE_ONCE(gt->pos, p);
	/* (G4) pairs with (G3): our gate before the writer's limit. */
	pinshm_smp_mb();
	/* (G3'): acquire, pairs with the writer's release of limit: the
	 * tail it was computed from is published, so t2 >= limit - slots. */
	lim = pinshm_load_acquire(&g->sh->limit);
	/* (R4) pairs with (W4): a real limit is at most tail + slots. */
	t2 = pinshm_load_acquire(&g->sh->tail);
	if (lim >= g->slots && lim - g->slots > p) {
		p = lim - g->slots < t2 ? lim - g->slots : t2;
		/* (G1): we read nothing yet; pos only moves forward. */
		pinshm_store_release(&gt->pos, p);
	}
	*gatep = gt;
	*posp = p;
	return 0;
}

/* Give a gate back (G7): it names us no more, then it is free. A gate
 * that is not ours (a forked child's copy of the handle, or dropped) is
 * left alone. */
static void gate_leave(struct pinshm_bcast_gate *gt)
{
	if (PINSHM_READ_ONCE(gt->role.holder) != __pinshm_role_self())
		return;
	PINSHM_WRITE_ONCE(gt->owner, 0);
	/* (G7), inside: CAS self -> 0, release, pairs with the next taker's
	 * acquire; a gate the writer dropped (we were judged dead: we are
	 * not, but left the region) is left alone. */
	__pinshm_role_drop(&gt->role);
}

static int reader_attach(struct pinshm_region *r, const char *name,
			 bool gating, struct pinshm_bcast *out)
{
	struct pinshm_bcast rd;
	struct bcast_geom g;
	int ret;

	ret = bcast_lookup(r, name, &g);
	if (ret)
		return ret;
	if (gating && !g.gates)
		return -EOPNOTSUPP;
	if (gating && !r->writable)
		return -EACCES;
	memset(&rd, 0, sizeof(rd));
	rd.sh = g.sh;
	rd.role = PINSHM_READER;
	rd.base = (uint8_t *)g.sh + g.data_off;
	rd.kgates = ggates(&g);
	rd.ngates = g.gates;
	rd.slots = g.slots;
	rd.mask = g.slots - 1;
	rd.slot_size = g.slot_size;
	rd.max_payload = (uint32_t)g.max_payload;
	rd.may_wait = r->writable;
	__pinshm_waitq_ref_init(&rd.wref, r, &g.sh->waitq);
	rd.wref.probe = __pinshm_probe_intern(r->name, name, PINSHM_OBJ_BCAST,
					      -1);
	if (gating) {
		ret = gate_register(r, &g, &rd.kgate, &rd.pos);
		if (ret)
			return ret;
		rd.rpos = rd.pos;
	} else {
		rd.pos = rd.rpos = start_pos(&rd, PINSHM_BCAST_NEXT);
	}
	/* Readers take no role word: never a takeover. */
	__pinshm_probe_role_attach(rd.wref.probe, PINSHM_READER, 0);
	*out = rd;
	return 0;
}

__pinshm_export int pinshm_bcast_attach(struct pinshm_region *r,
					const char *name, int role,
					struct pinshm_bcast *out)
{
	if (!r || !out)
		return -EINVAL;
	if (role == PINSHM_WRITER)
		return writer_attach(r, name, out);
	if (role == PINSHM_READER)
		return reader_attach(r, name, false, out);
	if (role == (PINSHM_READER | PINSHM_BCAST_GATING))
		return reader_attach(r, name, true, out);
	return -EINVAL;
}

__pinshm_export int pinshm_bcast_detach(struct pinshm_bcast *h)
{
	if (!h || !h->sh)
		return -EINVAL;
	if (h->role == PINSHM_WRITER) {
		pinshm_bcast_publish(h);
		__pinshm_role_drop(&h->sh->writer);
	} else if (h->kgate) {
		gate_leave(h->kgate);
		h->kgate = NULL;
	}
	__pinshm_probe_role_detach(h->wref.probe, h->role);
	h->sh = NULL;
	return 0;
}

__pinshm_export int pinshm_bcast_seek(struct pinshm_bcast *rd, int from)
{
	if (!rd || !rd->sh || from < PINSHM_BCAST_OLDEST ||
	    from > PINSHM_BCAST_NEXT)
		return -EINVAL;
	if (rd->role != PINSHM_READER)
		return -EPERM;
	rd->npeeked = 0;
	rd->peeked_bytes = 0;
	if (rd->kgate) {
		uint64_t p = start_pos(rd, from);

		/* Behind the gate, records may be gone: forward only. */
		if (p > rd->pos) {
			rd->pos = p;
			/* (G1) pairs with (G2): done with what is below. */
			pinshm_store_release(&rd->kgate->pos, p);
		}
		rd->rpos = rd->pos;
		return 0;
	}
	rd->pos = rd->rpos = start_pos(rd, from);
	return 0;
}

__pinshm_export int pinshm_bcast_stats(const struct pinshm_bcast *rd,
				       struct pinshm_bcast_stats *out)
{
	if (!rd || !out)
		return -EINVAL;
	if (rd->role != PINSHM_READER)
		return -EPERM;
	out->msgs = rd->msgs;
	out->bytes = rd->bytes;
	out->lapped = rd->lapped;
	out->lost = rd->lost;
	out->stale = rd->stale;
	out->corrupt = rd->corrupt;
	out->pos = rd->pos;
	return 0;
}

/*
 * The slowest registered reader's position among n gates: the least gate
 * position at or below tail (a gate ahead of it is corrupt: ignored), or
 * tail when no gate holds one. Bounded by the gate count.
 */
static uint64_t gates_min_of(const struct pinshm_bcast_gate *gt, uint32_t n,
			     uint64_t tail)
{
	uint64_t m = tail, p;
	uint32_t k;

	for (k = 0; k < n; k++, gt++) {
		/* Relaxed: a holder seen is judged by its pos below. */
		if (!PINSHM_READ_ONCE(gt->role.holder))
			continue;
		/* (G2) pairs with (G1): its reads before our overwrite. */
		p = pinshm_load_acquire(&gt->pos);
		if (p < m)
			m = p;
	}
	return m;
}

static uint64_t gates_min(const struct pinshm_bcast *w)
{
	return gates_min_of(w->kgates, w->ngates, w->tail);
}

/*
 * Blocked for long: drop the gates, holding us back, whose owners the
 * metadata page shows gone. Returns how many were dropped.
 */
static unsigned int gates_drop_dead(struct pinshm_bcast *w)
{
	struct pinshm_bcast_gate *gt = w->kgates;
	uint64_t hold[PINSHM_BCAST_GATES], start[PINSHM_BCAST_GATES], h, p;
	uint32_t pid[PINSHM_BCAST_GATES], k;
	struct pinshm_meta m;
	unsigned int n = 0;

	for (k = 0; k < w->ngates; k++) {
		hold[k] = 0;
		/* Relaxed: the owner word below vouches for h (G6). */
		h = PINSHM_READ_ONCE(gt[k].role.holder);
		/* (G2) pairs with (G1), as in gates_min_of(). */
		p = pinshm_load_acquire(&gt[k].pos);
		if (!h || p > w->tail || p + w->slots > w->next)
			continue;	/* free, corrupt, or not in the way */
		/* (G6) pairs with (G5): the identity h vouched for. */
		if (pinshm_load_acquire(&gt[k].owner) != h)
			continue;	/* being taken: alive */
		pid[k] = PINSHM_READ_ONCE(gt[k].owner_pid);
		start[k] = PINSHM_READ_ONCE(gt[k].owner_start);
		hold[k] = h;
	}
	/* The metadata after the owners: an owner we saw is in it. */
	if (w->region->backend == PINSHM_BACKEND_SHM)
		pinshm_region_recover(w->region);	/* mark the dead */
	if (pinshm_region_meta(w->region, &m))
		return 0;
	for (k = 0; k < w->ngates; k++) {
		h = hold[k];
		if (!h || !__pinshm_meta_owner_gone(&m, pid[k], start[k]))
			continue;
		/* Acq_rel: the dead holder's writes are all there is (it can
		 * write no more); the next taker's acquire pairs with it. */
		if (!atomic_compare_exchange_strong_explicit(
			    (_Atomic uint64_t *)&gt[k].role.holder, &h, 0,
			    memory_order_acq_rel, memory_order_relaxed))
			continue;
		n++;
		__pinshm_probe_recovery(w->wref.probe, 1);
	}
	if (n) {
		w->dropped += n;
		PINSHM_WRITE_ONCE(w->sh->dropped, w->dropped);
	}
	return n;
}

__pinshm_export int __pinshm_bcast_gate(struct pinshm_bcast *w)
{
	uint64_t lim = w->tail + w->slots;

	if (!w->kgates) {
		w->limit = UINT64_MAX;
		return 0;
	}
	if (lim > w->limit_pub) {
		w->limit_pub = lim;
		/* (G3'): release, pairs with the registering reader's
		 * acquire: the tail this limit comes from is seen with it. */
		pinshm_store_release(&w->sh->limit, lim);
	}
	/* (G3) pairs with (G4): limit before we read the gates (the last
	 * store of limit is before this fence, or an earlier one). */
	pinshm_smp_mb();
	w->limit = gates_min(w) + w->slots;
	if (w->next < w->limit) {
		w->blocked = 0;
		return 0;
	}
	if (++w->blocked >= PINSHM_BCAST_DEATH_CHECK) {
		w->blocked = 0;
		if (gates_drop_dead(w)) {
			w->limit = gates_min(w) + w->slots;
			if (w->next < w->limit)
				return 0;
		}
	}
	PINSHM_WRITE_ONCE(w->sh->full_events, ++w->full_events);
	__pinshm_probe_backpressure(w->wref.probe);
	return -EAGAIN;
}

/*
 * Lapped at r->rpos (nothing peeked): slot seq s names record j in the
 * same slot, newer. Move to the oldest record still valid and count the
 * records in between as lost. -EBADMSG if s is impossible.
 */
static int resync(struct pinshm_bcast *r, uint64_t s)
{
	uint64_t i = r->rpos, j = (s - 1) / 2, tail, oldest;

	/* (R4) pairs with (W4). Loaded after s: tail can only have grown. */
	tail = pinshm_load_acquire(&r->sh->tail);
	/* j shares i's slot, and a writer is never a ring ahead of tail
	 * (a batch holds at most slots - 1 records). */
	if (((j - i) & r->mask) || j >= tail + r->slots)
		return __pinshm_bcast_corrupt(r);
	/* > i, since j >= i + slots. */
	oldest = (j + 1 > tail ? j + 1 : tail) - r->slots;
	r->lost += oldest - i;
	r->lapped++;
	r->pos = r->rpos = oldest;
	if (PINSHM_PROBE_ON(lapped)) {
		const struct pinshm_probe_names *p =
			__pinshm_probe_names(r->wref.probe);

		STAP_PROBE3(pinshm, lapped, p->region, p->ring, oldest - i);
	}
	return 0;
}

/*
 * The inline peek's lapped reader: out of line, so that a program that
 * inlines the peek fires the library's probe, and a tail call there.
 */
__pinshm_export int __pinshm_bcast_lapped(struct pinshm_bcast *rd,
					  struct pinshm_bcast_msg *m,
					  uint64_t s, unsigned int tries)
{
	int ret = resync(rd, s);

	if (ret)
		return ret;
	return __pinshm_bcast_peek_from(rd, m, tries + 1);
}

/* Would pinshm_bcast_peek() find something (or lapping, or corruption)? */
static bool bcast_ready(void *arg)
{
	const struct pinshm_bcast *rd = arg;
	uint64_t i = rd->rpos;

	/* (R1) pairs with (W3): the load peek makes; in (K2) it follows the
	 * sleeper's membarrier. Peek says -EAGAIN exactly when s <= 2i+1. */
	return pinshm_load_acquire(&__pinshm_bcast_rslot(rd, i)->seq) >
	       2 * i + 1;
}

__pinshm_export int pinshm_bcast_wait(struct pinshm_bcast *rd,
				      int64_t timeout_ns)
{
	if (!rd || !rd->sh)
		return -EINVAL;
	if (rd->role != PINSHM_READER)
		return -EPERM;
	/* (K2) pairs with (K1). A writable mapping makes sh ours to write,
	 * in the wait queue only; else the sleeper arms ro_pending, or
	 * -EACCES. */
	return __pinshm_waitq_sleep(&rd->sh->waitq, &rd->wref, bcast_ready, rd,
				    timeout_ns, !rd->may_wait);
}

/*
 * Shared counters only: readers keep theirs private (they may not write),
 * so lapped, msgs_out and corrupt stay 0 here; head is the oldest record
 * still valid between two writes (lossless: the slowest registered
 * reader's position), tail the number published; full_events counts the
 * lossless writer's refused claims, recoveries include dead readers'
 * gates dropped.
 */
int __pinshm_bcast_stats(const struct pinshm_region *r, const char *name,
			 struct pinshm_ring_stats *out)
{
	struct bcast_geom g;
	int ret;

	ret = bcast_lookup(r, name, &g);
	if (ret)
		return ret;
	out->msgs_in = PINSHM_READ_ONCE(g.sh->msgs_in);
	out->bytes_in = PINSHM_READ_ONCE(g.sh->bytes_in);
	out->recoveries = PINSHM_READ_ONCE(g.sh->recoveries);
	out->tail = PINSHM_READ_ONCE(g.sh->tail);
	out->head = out->tail >= g.slots ? out->tail - g.slots : 0;
	out->full_events = PINSHM_READ_ONCE(g.sh->full_events);
	out->recoveries += PINSHM_READ_ONCE(g.sh->dropped);
	if (g.gates)	/* lossless: head is the slowest registered reader */
		out->head = gates_min_of(ggates(&g), g.gates, out->tail);
	out->producer_pid = PINSHM_ROLE_PID(
		PINSHM_READ_ONCE(g.sh->writer.holder));
	return 0;
}
