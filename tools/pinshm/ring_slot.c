// SPDX-License-Identifier: MIT
/*
 * pinshm(1): pub and tail on latest-value slots.
 *
 * pub takes the writer role and writes each message as the new value (a
 * --seq value has the --seq record layout; its header gives its length).
 * A restarted `pub --seq` resumes after the sequence of the current value,
 * read in place: we are its only writer. A value its dead predecessor left
 * half-written was withdrawn by the library (readers never see it) but its
 * bytes are still there: the header is written first, so it names either
 * the torn value's sequence or the one before, and resuming after it never
 * goes backwards (a reader may see a sequence skipped: normal for a slot).
 *
 * tail is a reader (read-only mapping: the region is opened PINSHM_RDONLY)
 * polling the latest value: it handles each new version once. A slot only
 * holds the newest value, so sequences may jump; with --check-seq they
 * must never go backwards (nor repeat) per producer id and no value may be
 * torn (the checksum of every value read is checked). --count N ends the
 * run once every producer id has reached sequence N (without --check-seq:
 * after N values).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static int ctl_slot_claim(void *ring, uint32_t len, void **dst)
{
	(void)len;
	*dst = pinshm_slot_claim(ring);
	return *dst ? 0 : -EPERM;
}

static void ctl_slot_commit(void *ring, uint32_t len, uint32_t type)
{
	(void)type;
	pinshm_slot_commit(ring, len);
}

/* The current value, read by its writer. */
static int ctl_slot_last(void *ring, struct ctl_seq_hdr *h, char *why, size_t whylen)
{
	struct pinshm_slot *s = ring;
	uint32_t len;

	if (s->seq == 0)
		return -ENOENT;		/* never written */
	if (s->size < CTL_SEQ_MIN)
		return -ENOMSG;
	memcpy(h, s->value, sizeof(*h));
	if (h->magic != CTL_SEQ_MAGIC)
		return -ENOMSG;
	if (PINSHM_READ_ONCE(s->sh->state) != PINSHM_SLOT_VALID)
		return 0;		/* withdrawn, torn: its header will do */
	len = h->len <= s->size ? h->len : s->size;
	return ctl_seq_check(s->value, len, CTL_SEQ_TYPE, h, why, whylen);
}

static int ctl_slot_detach(void *ring)
{
	return pinshm_slot_detach(ring);
}

static int ctl_pub_slot(struct ctl_pub *o, struct pinshm_region *r, const char *ring)
{
	static const struct ctl_pub_ops ops = {
		.claim = ctl_slot_claim, .commit = ctl_slot_commit, .last = ctl_slot_last,
		.detach = ctl_slot_detach, .max_what = "value size",
		.last_where = "value in the slot",
	};
	struct pinshm_slot s;
	int ret;

	ret = pinshm_slot_attach(r, ring, PINSHM_WRITER, &s);
	if (ret == -EBUSY)
		return ctl_role_busy(o->ctx, r, ring, "writer", true);
	if (ret)
		return ctl_fail(o->ctx, ret, CTL_ROLE);
	return ctl_pub_run(o, &ops, &s, s.size);
}

/* ------------------------------------------------------------------ */

/* The slot, a copy of its value, and the versions seen. */
struct ctl_slot_tail {
	struct pinshm_slot s;
	uint8_t *buf;
	bool seen;		/* a value, of last_version */
	uint64_t last_version;
	uint64_t wait_version;	/* sleep until the version is another */
};

static int ctl_slot_next(struct ctl_tail *t, void *ring, struct ctl_rec *rec)
{
	struct ctl_slot_tail *st = ring;
	struct pinshm_slot *s = &st->s;
	struct ctl_seq_hdr h;
	uint64_t version;
	int ret;

	ret = pinshm_slot_read(s, st->buf, s->size, &version);
	if (ret == -EAGAIN)
		return -EINPROGRESS;	/* a writer too busy to read past: soon */
	if (ret == -ENODATA || (ret >= 0 && st->seen && version == st->last_version)) {
		/* No value, or nothing new. */
		st->wait_version = ret == -ENODATA ? version : st->last_version;
		return -EAGAIN;
	}
	if (ret < 0)
		return ret;
	if (st->seen && version < st->last_version) {
		ctl_problem(t, "the slot's version went backwards: %" PRIu64 " after %" PRIu64,
			    version, st->last_version);
		return -EAGAIN;		/* the loop ends on the problem */
	}
	st->seen = true;
	st->last_version = t->version = version;
	/* A --seq value's header gives its length (the rest is stale). */
	*rec = (struct ctl_rec){ st->buf, s->size, 0 };
	if (s->size >= CTL_SEQ_MIN) {
		memcpy(&h, st->buf, sizeof(h));
		if (h.magic == CTL_SEQ_MAGIC) {
			rec->type = CTL_SEQ_TYPE;
			if (h.len <= s->size)
				rec->len = h.len;
		}
	}
	return 0;
}

static int ctl_slot_wait(void *ring, int64_t timeout_ns)
{
	struct ctl_slot_tail *st = ring;

	return pinshm_slot_wait(&st->s, st->wait_version, timeout_ns);
}

static int ctl_tail_slot(struct ctl_tail *t, struct pinshm_region *r, const char *ring)
{
	static const struct ctl_tail_ops ops = { .next = ctl_slot_next, .wait = ctl_slot_wait };
	struct ctl_slot_tail st = { .seen = false };
	int ret, err;

	ret = pinshm_slot_attach(r, ring, PINSHM_READER, &st.s);
	if (ret)
		return ctl_fail(t->ctx, ret, CTL_OBJECT);
	st.buf = calloc(1, st.s.size);
	if (st.buf) {
		err = ctl_tail_loop(t, &ops, &st);
		free(st.buf);
	} else {
		err = ctl_fail(t->ctx, -ENOMEM, CTL_OBJECT);
	}
	ret = pinshm_slot_detach(&st.s);
	if (ret && !err)
		err = ctl_fail(t->ctx, ret, CTL_OBJECT);
	return err;
}

const struct ctl_ring_type ctl_ring_slot = {
	.type = PINSHM_OBJ_SLOT, .kind = CTL_TAIL_SLOT, .tail_access = PINSHM_RDONLY,
	.pub = ctl_pub_slot, .tail = ctl_tail_slot,
};
