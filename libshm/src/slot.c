// SPDX-License-Identifier: MIT
/*
 * Latest-value slot setup, the writer role and its recovery, readers'
 * sleep; the seqlock itself and its ordering protocol (W1)/(W3), (R1)/(R2),
 * (K1)/(K2) are in include/pinshm/slot.h.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "probes.h"

static uint64_t obj_size(uint64_t size)
{
	/* Whole 64-byte lines: the 8-byte word copies stay inside. */
	return (PINSHM_SLOT_VALUE_OFF + size + 63) & ~63ULL;
}

static void slot_init_obj(void *obj, void *arg)
{
	struct pinshm_slot_shared *sh = obj;
	uint64_t size = *(const uint64_t *)arg;

	memset(sh, 0, obj_size(size));
	sh->magic = PINSHM_SLOT_MAGIC;
	sh->version = PINSHM_SLOT_VERSION;
	sh->size = size;
	sh->value_off = PINSHM_SLOT_VALUE_OFF;
	/* seq 0, state EMPTY. Published by the directory's (D1). */
}

__pinshm_export int pinshm_slot_create(struct pinshm_region *r,
				       const char *name, uint32_t size)
{
	uint64_t sz = size;

	if (!r || size == 0 || size > PINSHM_SLOT_MAX_SIZE)
		return -EINVAL;
	return __pinshm_dir_add(r, name, PINSHM_OBJ_SLOT, obj_size(sz), sz, sz,
				slot_init_obj, &sz);
}

static int slot_lookup(const struct pinshm_region *r, const char *name,
		       struct pinshm_slot_shared **shp, uint32_t *size)
{
	struct pinshm_obj_info info;
	struct pinshm_slot_shared *sh;
	uint64_t sz;
	int ret;

	ret = __pinshm_dir_get(r, name, &info);
	if (ret)
		return ret;
	if (info.type != PINSHM_OBJ_SLOT)
		return -EPROTOTYPE;
	if (info.size < PINSHM_SLOT_VALUE_OFF)
		return -EBADMSG;
	sh = (struct pinshm_slot_shared *)((uint8_t *)r->data + info.offset);
	sz = PINSHM_READ_ONCE(sh->size);
	if (PINSHM_READ_ONCE(sh->magic) == PINSHM_SLOT_MAGIC &&
	    PINSHM_READ_ONCE(sh->version) != PINSHM_SLOT_VERSION)
		return -EPROTONOSUPPORT;	/* another library's layout */
	if (PINSHM_READ_ONCE(sh->magic) != PINSHM_SLOT_MAGIC ||
	    PINSHM_READ_ONCE(sh->version) != PINSHM_SLOT_VERSION ||
	    PINSHM_READ_ONCE(sh->value_off) != PINSHM_SLOT_VALUE_OFF ||
	    sz == 0 || sz > PINSHM_SLOT_MAX_SIZE || sz != info.capacity ||
	    obj_size(sz) > info.size)
		return -EBADMSG;
	*shp = sh;
	*size = (uint32_t)sz;
	return 0;
}

static void handle_init(struct pinshm_slot *s, struct pinshm_slot_shared *sh,
			uint32_t size)
{
	memset(s, 0, sizeof(*s));
	s->sh = sh;
	s->value = sh->value;
	s->size = size;
}

static int writer_attach(struct pinshm_region *r, const char *name,
			 struct pinshm_slot *out)
{
	struct pinshm_slot_shared *sh;
	struct pinshm_slot s;
	uint32_t size, dead;
	uint64_t seq;
	bool fixed = false;
	int ret;

	if (!r->writable)
		return -EACCES;
	ret = slot_lookup(r, name, &sh, &size);
	if (ret)
		return ret;
	ret = __pinshm_role_take(&sh->writer, &dead);
	if (ret)
		return ret;
	handle_init(&s, sh, size);
	s.writer = true;
	seq = PINSHM_READ_ONCE(sh->seq);	/* ours now: no pairing */
	if (seq & 1) {
		/*
		 * The last writer died inside a write: withdraw the torn
		 * value under the still-odd seq, then make seq even (W3), so
		 * readers see "no value" instead of spinning or tearing.
		 */
		PINSHM_WRITE_ONCE(sh->state, PINSHM_SLOT_EMPTY);
		seq++;
		/* (W3) pairs with (R1): EMPTY before the even seq. */
		pinshm_store_release(&sh->seq, seq);
		PINSHM_WRITE_ONCE(sh->recoveries,
				  PINSHM_READ_ONCE(sh->recoveries) + 1);
		fixed = true;
	}
	s.seq = seq;
	s.writes = PINSHM_READ_ONCE(sh->writes);
	s.bytes_in = PINSHM_READ_ONCE(sh->bytes_in);
	/* For (K1)/(K2); without membarrier, readers poll. */
	pinshm_wait_register();
	__pinshm_waitq_ref_init(&s.wref, r, &sh->waitq);
	s.wref.probe = __pinshm_probe_intern(r->name, name, PINSHM_OBJ_SLOT,
					     -1);
	__pinshm_probe_role_attach(s.wref.probe, PINSHM_WRITER, dead);
	if (fixed)
		__pinshm_probe_recovery(s.wref.probe, 1);
	/* (K1) pairs with (K2): a withdrawn value, or one a dead writer
	 * published without its kick, wakes its sleepers. */
	__pinshm_waitq_kick_ro(&sh->waitq, &s.wref);
	*out = s;
	return 0;
}

static int reader_attach(struct pinshm_region *r, const char *name,
			 struct pinshm_slot *out)
{
	struct pinshm_slot_shared *sh;
	uint32_t size;
	int ret;

	ret = slot_lookup(r, name, &sh, &size);
	if (ret)
		return ret;
	handle_init(out, sh, size);
	out->may_wait = r->writable;
	__pinshm_waitq_ref_init(&out->wref, r, &sh->waitq);
	out->wref.probe = __pinshm_probe_intern(r->name, name,
						PINSHM_OBJ_SLOT, -1);
	/* Readers take no role word: never a takeover. */
	__pinshm_probe_role_attach(out->wref.probe, PINSHM_READER, 0);
	return 0;
}

__pinshm_export int pinshm_slot_attach(struct pinshm_region *r,
				       const char *name, int role,
				       struct pinshm_slot *out)
{
	if (!r || !out)
		return -EINVAL;
	if (role == PINSHM_WRITER)
		return writer_attach(r, name, out);
	if (role == PINSHM_READER)
		return reader_attach(r, name, out);
	return -EINVAL;
}

struct slot_wait {
	const struct pinshm_slot_shared *sh;
	uint64_t version;
};

/* Has the version moved past the one the caller saw? */
static bool slot_ready(void *arg)
{
	const struct slot_wait *a = arg;

	/* (R1) pairs with (W3); in (K2) it follows the sleeper's
	 * membarrier. != rather than >: seq is not trusted to grow. */
	return (pinshm_load_acquire(&a->sh->seq) >> 1) != a->version;
}

__pinshm_export int pinshm_slot_wait(struct pinshm_slot *r,
				     uint64_t last_seen_version,
				     int64_t timeout_ns)
{
	struct slot_wait a;

	if (!r || !r->sh)
		return -EINVAL;
	if (r->writer)
		return -EPERM;
	a.sh = r->sh;
	a.version = last_seen_version;
	/* (K2) pairs with (K1); a reader on a read-only mapping arms
	 * ro_pending, or -EACCES. */
	return __pinshm_waitq_sleep(&r->sh->waitq, &r->wref, slot_ready, &a,
				    timeout_ns, !r->may_wait);
}

__pinshm_export int pinshm_slot_detach(struct pinshm_slot *s)
{
	if (!s || !s->sh)
		return -EINVAL;
	if (s->writer)
		__pinshm_role_drop(&s->sh->writer);
	__pinshm_probe_role_detach(s->wref.probe, s->writer ? PINSHM_WRITER :
							      PINSHM_READER);
	s->sh = NULL;
	s->writer = false;
	return 0;
}

/* The writer's counters; tail is the value's version, head its seq. */
int __pinshm_slot_stats(const struct pinshm_region *r, const char *name,
			struct pinshm_ring_stats *out)
{
	struct pinshm_slot_shared *sh;
	uint32_t size;
	int ret;

	ret = slot_lookup(r, name, &sh, &size);
	if (ret)
		return ret;
	out->msgs_in = PINSHM_READ_ONCE(sh->writes);
	out->bytes_in = PINSHM_READ_ONCE(sh->bytes_in);
	out->recoveries = PINSHM_READ_ONCE(sh->recoveries);
	out->head = PINSHM_READ_ONCE(sh->seq);
	out->tail = out->head >> 1;
	out->producer_pid = PINSHM_ROLE_PID(
		PINSHM_READ_ONCE(sh->writer.holder));
	return 0;
}
