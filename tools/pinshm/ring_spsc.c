// SPDX-License-Identifier: MIT
/*
 * pinshm(1): pub and tail on spsc rings.
 *
 * pub takes the producer role and waits while the ring is full; a
 * restarted `pub --seq` reads the last published record back
 * (pinshm_spsc_last()) and resumes after its sequence.
 *
 * tail takes the consumer role: a restarted tail continues after the last
 * record released. Records are read in place and released in batches.
 */
#include <errno.h>
#include <stdio.h>

#include "cmd.h"

/*
 * The last published record of a freshly attached producer, when it is a
 * --seq record (see seq.c). Returns 0 with *h filled, -ENOENT
 * when the ring never held a record, -ENOMSG when the last record is not a
 * --seq record, -EBADMSG when it is one but does not check out (then
 * resuming could duplicate or skip: refuse).
 */
static int ctl_spsc_last(void *ring, struct ctl_seq_hdr *h, char *why, size_t whylen)
{
	struct pinshm_msg m;
	int ret;

	ret = pinshm_spsc_last(ring, &m);
	if (ret)
		return ret;
	if (m.type != CTL_SEQ_TYPE)
		return -ENOMSG;
	if (ctl_seq_check(m.data, m.len, m.type, h, why, whylen))
		return -EBADMSG;
	return 0;
}

/* Take a role of the spsc ring RING in the open region r: 0 or -errno. */
static int ctl_spsc_attach(const char *ctx, struct pinshm_region *r, const char *ring_name,
			   int role, struct pinshm_spsc *ring)
{
	int ret = pinshm_spsc_attach(r, ring_name, role, ring);

	if (ret == -EBUSY)
		return ctl_role_busy(ctx, r, ring_name,
				     role == PINSHM_PRODUCER ? "producer" : "consumer",
				     role == PINSHM_PRODUCER);
	if (ret)
		return ctl_fail(ctx, ret, CTL_ROLE);
	return 0;
}

static int ctl_spsc_claim(void *ring, uint32_t len, void **dst)
{
	return pinshm_spsc_claim(ring, len, dst);		/* -EAGAIN: full */
}

static void ctl_spsc_commit(void *ring, uint32_t len, uint32_t type)
{
	pinshm_spsc_commit(ring, len, type);
}

static int ctl_spsc_detach(void *ring)
{
	return pinshm_spsc_detach(ring);
}

static int ctl_pub_spsc(struct ctl_pub *o, struct pinshm_region *r, const char *ring_name)
{
	static const struct ctl_pub_ops ops = {
		.claim = ctl_spsc_claim, .commit = ctl_spsc_commit, .last = ctl_spsc_last,
		.detach = ctl_spsc_detach, .max_what = "max record",
		.last_where = "last record in the ring",
	};
	struct pinshm_spsc ring;
	int ret;

	ret = ctl_spsc_attach(o->ctx, r, ring_name, PINSHM_PRODUCER, &ring);
	if (ret)
		return ret;
	return ctl_pub_run(o, &ops, &ring, ring.max_record);
}

static int ctl_spsc_next(struct ctl_tail *t, void *ring, struct ctl_rec *rec)
{
	struct pinshm_msg m;
	int ret;

	(void)t;
	ret = pinshm_spsc_peek(ring, &m);
	if (ret)
		return ret;
	*rec = (struct ctl_rec){ m.data, m.len, m.type };
	return 0;
}

static void ctl_spsc_release(void *ring)
{
	pinshm_spsc_release(ring);
}

static int ctl_spsc_wait(void *ring, int64_t timeout_ns)
{
	return pinshm_spsc_wait(ring, timeout_ns);
}

static int ctl_tail_spsc(struct ctl_tail *t, struct pinshm_region *r, const char *ring_name)
{
	static const struct ctl_tail_ops ops = {
		.next = ctl_spsc_next, .release = ctl_spsc_release, .wait = ctl_spsc_wait,
	};
	struct pinshm_spsc ring;
	int ret, err;

	ret = ctl_spsc_attach(t->ctx, r, ring_name, PINSHM_CONSUMER, &ring);
	if (ret)
		return ret;
	t->fresh = ring.head == 0;
	err = ctl_tail_loop(t, &ops, &ring);
	ret = pinshm_spsc_detach(&ring);
	if (ret && !err)
		err = ctl_fail(t->ctx, ret, CTL_ROLE);
	return err;
}

const struct ctl_ring_type ctl_ring_spsc = {
	.type = PINSHM_OBJ_SPSC, .kind = CTL_TAIL_QUEUE, .tail_access = PINSHM_RDWR,
	.pub = ctl_pub_spsc, .tail = ctl_tail_spsc,
};
