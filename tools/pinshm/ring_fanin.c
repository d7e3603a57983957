// SPDX-License-Identifier: MIT
/*
 * pinshm(1): pub and tail on fan-in rings.
 *
 * pub takes the lane of producer id --id (0..lanes-1): a restarted
 * `pub --seq --id N` takes lane N over and resumes after the last record
 * in it (pinshm_fanin_last()), which is id N's last committed one.
 * Without --id and --seq, pub takes the first free lane.
 *
 * tail takes the consumer role: records come lane by lane, FIFO per
 * producer; --check-seq checks each producer id's sequence on its own
 * (--producers K). With --merge OFF the lanes are merged by the u64 at
 * payload offset OFF (pinshm_fanin_peek_merged()): the sequence number of
 * `pub --seq` records at 0, say. A restarted tail continues after the
 * last release.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "cmd.h"

static int ctl_fanin_claim(void *ring, uint32_t len, void **dst)
{
	return pinshm_fanin_claim(ring, len, dst);		/* -EAGAIN: full */
}

static void ctl_fanin_commit(void *ring, uint32_t len, uint32_t type)
{
	pinshm_fanin_commit(ring, len, type);
}

/* The last record of this lane, when it is a --seq record of this id. */
static int ctl_fanin_last(void *ring, struct ctl_seq_hdr *h, char *why, size_t whylen)
{
	struct pinshm_msg m;
	int ret;

	ret = pinshm_fanin_last(ring, &m);
	if (ret)
		return ret;
	if (m.type != CTL_SEQ_TYPE)
		return -ENOMSG;
	if (ctl_seq_check(m.data, m.len, m.type, h, why, whylen))
		return -EBADMSG;
	return 0;
}

static int ctl_fanin_detach(void *ring)
{
	return pinshm_fanin_detach(ring);
}

static int ctl_pub_fanin(struct ctl_pub *o, struct pinshm_region *r, const char *ring)
{
	static const struct ctl_pub_ops ops = {
		.claim = ctl_fanin_claim, .commit = ctl_fanin_commit, .last = ctl_fanin_last,
		.detach = ctl_fanin_detach, .max_what = "max record",
		.last_where = "last record of this producer id's lane",
	};
	struct pinshm_fanin p;
	int ret, id;

	id = o->id_given || o->seq ? (int)o->id : -1;
	ret = pinshm_fanin_attach(r, ring, PINSHM_PRODUCER_ID(id), &p);
	switch (ret) {
	case 0:
		break;
	case -EBUSY:
		ctl_errorf("%s: producer id %d is held by another live process", o->ctx, id);
		return ret;
	case -ENOSPC:
		ctl_errorf("%s: every lane is held by a live process", o->ctx);
		return ret;
	case -EINVAL:
		ctl_errorf("%s: --id %u out of range (a lane of the ring: 0 to lanes - 1, "
			   "see pinshm info)", o->ctx, o->id);
		return -ERANGE;
	default:
		return ctl_fail(o->ctx, ret, CTL_ROLE);
	}
	o->id = p.id;
	return ctl_pub_run(o, &ops, &p, p.lane.max_record);
}

static int ctl_fanin_next(struct ctl_tail *t, void *ring, struct ctl_rec *rec)
{
	struct pinshm_msg m = { 0 };	/* gcc cannot see peek fill it */
	int ret;

	ret = t->merge ? pinshm_fanin_peek_merged(ring, &m, t->merge_off, NULL) :
			 pinshm_fanin_peek(ring, &m);
	if (ret)
		return ret;
	*rec = (struct ctl_rec){ m.data, m.len, m.type };
	return 0;
}

static void ctl_fanin_release(void *ring)
{
	pinshm_fanin_release(ring);
}

static int ctl_fanin_wait(void *ring, int64_t timeout_ns)
{
	return pinshm_fanin_wait(ring, timeout_ns);
}

static int ctl_tail_fanin(struct ctl_tail *t, struct pinshm_region *r, const char *ring)
{
	static const struct ctl_tail_ops ops = {
		.next = ctl_fanin_next, .release = ctl_fanin_release, .wait = ctl_fanin_wait,
	};
	struct pinshm_fanin c;
	unsigned int i;
	uint64_t max;
	int ret, err;

	ret = pinshm_fanin_attach(r, ring, PINSHM_CONSUMER, &c);
	if (ret == -EBUSY)
		return ctl_role_busy(t->ctx, r, ring, "consumer", false);
	if (ret)
		return ctl_fail(t->ctx, ret, CTL_ROLE);
	/* Constant since the ring was made, checked by the attach. */
	max = PINSHM_READ_ONCE(c.sh->max_record);
	if (t->merge && (uint64_t)t->merge_off + 8 > max) {
		ctl_errorf("%s: --merge %u: the 8-byte key lies past the ring's max record "
			   "(%" PRIu64 " bytes)", t->ctx, t->merge_off, max);
		pinshm_fanin_detach(&c);
		return -EINVAL;
	}
	t->fresh = true;
	for (i = 0; i < c.lanes; i++)
		if (!(c.bad >> i & 1) && c.lane_c[i].head != 0)
			t->fresh = false;
	err = ctl_tail_loop(t, &ops, &c);
	ret = pinshm_fanin_detach(&c);
	if (ret && !err)
		err = ctl_fail(t->ctx, ret, CTL_ROLE);
	return err;
}

const struct ctl_ring_type ctl_ring_fanin = {
	.type = PINSHM_OBJ_FANIN, .kind = CTL_TAIL_QUEUE, .tail_access = PINSHM_RDWR,
	.pub = ctl_pub_fanin, .tail = ctl_tail_fanin,
};
