// SPDX-License-Identifier: MIT
/*
 * pinshm(1): pub and tail on mpsc rings.
 *
 * pub takes producer id --id (0..63): the slot whose counters and last
 * record survive a restart, so `pub --seq --id N` run again after a crash
 * resumes after the last sequence id N committed (pinshm_mpsc_last() gives
 * the first 8 bytes of that record: the --seq header starts with seq).
 * Without --id and --seq, pub takes the first free producer id.
 *
 * tail takes the consumer role. A producer killed between claim and commit
 * leaves a claimed record the consumer stops at; the library pads it once
 * the region's metadata says that producer died. While it waits, tail asks
 * for that (pinshm_mpsc_recover()) every 20 ms instead of relying on the
 * library's own check every 65536 empty polls, which an idle tail takes
 * long to make.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"

#define CTL_MPSC_RECOVER_NS	20000000ULL	/* stuck: look for the dead */

static int ctl_mpsc_claim(void *ring, uint32_t len, void **dst)
{
	return pinshm_mpsc_claim(ring, len, dst);		/* -EAGAIN: full */
}

static void ctl_mpsc_commit(void *ring, uint32_t len, uint32_t type)
{
	pinshm_mpsc_commit(ring, len, type);
}

/* Take producer id (-1: any free one), waiting while the slot's dead
 * holder still has a claim ahead of the consumer: 0, -EINTR (stopped
 * while waiting) or -errno. */
static int ctl_mpsc_attach_producer(const struct ctl_pub *o, struct pinshm_region *r,
				    const char *ring, int id, struct pinshm_mpsc *p)
{
	struct timespec ts = { 0, 10000000 };
	bool said = false;
	int ret;

	while ((ret = pinshm_mpsc_attach(r, ring, PINSHM_PRODUCER_ID(id), p)) == -EAGAIN) {
		if (!said && !o->quiet)
			fprintf(stderr, "pinshm: %s: producer %d: waiting for the consumer to move "
				"past the claim its dead holder left\n", o->ctx, id);
		said = true;
		nanosleep(&ts, NULL);
		if (ctl_stop)
			return -EINTR;
	}
	switch (ret) {
	case 0:
		return 0;
	case -EBUSY:
		ctl_errorf("%s: producer id %d is held by another live process", o->ctx, id);
		return ret;
	case -ENOSPC:
		ctl_errorf("%s: all %d producer ids are held by live processes", o->ctx,
			   PINSHM_MPSC_PRODUCERS);
		return ret;
	case -EPERM:
		ctl_errorf("%s: this process has no attach of its own on the region", o->ctx);
		return ret;
	default:
		return ctl_fail(o->ctx, ret, CTL_ROLE);
	}
}

/* The first 8 bytes of its last record are the --seq header's seq. */
static int ctl_mpsc_last(void *ring, struct ctl_seq_hdr *h, char *why, size_t whylen)
{
	struct pinshm_mpsc *p = ring;
	uint64_t word;
	uint32_t type;
	int ret;

	(void)why;
	(void)whylen;
	ret = pinshm_mpsc_last(p, &word, &type);
	if (ret)
		return ret;
	if (type != CTL_SEQ_TYPE)
		return -ENOMSG;
	h->seq = word;
	h->id = p->id;
	return 0;
}

static int ctl_mpsc_detach(void *ring)
{
	return pinshm_mpsc_detach(ring);
}

static int ctl_pub_mpsc(struct ctl_pub *o, struct pinshm_region *r, const char *ring)
{
	static const struct ctl_pub_ops ops = {
		.claim = ctl_mpsc_claim, .commit = ctl_mpsc_commit, .last = ctl_mpsc_last,
		.detach = ctl_mpsc_detach, .max_what = "max record",
		.last_where = "last record of this producer id",
	};
	struct pinshm_mpsc p;
	int ret, id;

	if (o->id >= PINSHM_MPSC_PRODUCERS) {
		ctl_errorf("%s: --id %u out of range (an mpsc ring has producer ids 0..%d)", o->ctx,
			   o->id, PINSHM_MPSC_PRODUCERS - 1);
		return -ERANGE;
	}
	id = o->id_given || o->seq ? (int)o->id : -1;
	ret = ctl_mpsc_attach_producer(o, r, ring, id, &p);
	if (ret == -EINTR)
		return 0;	/* stopped before it began */
	if (ret)
		return ret;
	return ctl_pub_run(o, &ops, &p, p.max_record);
}

/* ------------------------------------------------------------------ */

/* The consumer, and how long the ring has been stuck (see the top). */
struct ctl_mpsc_tail {
	struct pinshm_mpsc c;
	uint64_t stuck_since;	/* 0: a record came since the last look */
	bool said_deadlk;
};

static int ctl_mpsc_next(struct ctl_tail *t, void *ring, struct ctl_rec *rec)
{
	struct ctl_mpsc_tail *mt = ring;
	struct pinshm_msg m = { 0 };	/* gcc cannot see peek fill it */
	int ret;

	(void)t;
	ret = pinshm_mpsc_peek(&mt->c, &m);
	if (ret)
		return ret;
	mt->stuck_since = 0;
	*rec = (struct ctl_rec){ m.data, m.len, m.type };
	return 0;
}

static void ctl_mpsc_release(void *ring)
{
	struct ctl_mpsc_tail *mt = ring;

	pinshm_mpsc_release(&mt->c);
}

/* Every CTL_MPSC_RECOVER_NS of an empty ring, pad dead producers' claims. */
static int ctl_mpsc_idle(struct ctl_tail *t, void *ring)
{
	struct ctl_mpsc_tail *mt = ring;
	uint64_t now = bench_mono_ns();
	int ret;

	if (!mt->stuck_since)
		mt->stuck_since = now;
	if (now - mt->stuck_since < CTL_MPSC_RECOVER_NS)
		return 0;
	mt->stuck_since = now;
	ret = pinshm_mpsc_recover(&mt->c);
	if (ret > 0)
		return 1;	/* a dead producer's claim padded */
	if (ret == -EDEADLK && !mt->said_deadlk) {
		ctl_warnf("%s: two dead producers' claims at the same place cannot be told "
			  "apart; the ring waits", t->ctx);
		mt->said_deadlk = true;
	} else if (ret < 0 && ret != -EDEADLK) {
		return ctl_fail(t->ctx, ret, CTL_OBJECT);
	}
	return 0;
}

static int ctl_mpsc_wait(void *ring, int64_t timeout_ns)
{
	struct ctl_mpsc_tail *mt = ring;

	return pinshm_mpsc_wait(&mt->c, timeout_ns);
}

static int ctl_tail_mpsc(struct ctl_tail *t, struct pinshm_region *r, const char *ring)
{
	static const struct ctl_tail_ops ops = {
		.next = ctl_mpsc_next, .release = ctl_mpsc_release, .idle = ctl_mpsc_idle,
		.wait = ctl_mpsc_wait,
	};
	struct ctl_mpsc_tail mt = { .stuck_since = 0 };
	int ret, err;

	ret = pinshm_mpsc_attach(r, ring, PINSHM_CONSUMER, &mt.c);
	if (ret == -EBUSY)
		return ctl_role_busy(t->ctx, r, ring, "consumer", false);
	if (ret)
		return ctl_fail(t->ctx, ret, CTL_ROLE);
	t->fresh = mt.c.head == 0;
	err = ctl_tail_loop(t, &ops, &mt);
	ret = pinshm_mpsc_detach(&mt.c);
	if (ret && !err)
		err = ctl_fail(t->ctx, ret, CTL_ROLE);
	return err;
}

const struct ctl_ring_type ctl_ring_mpsc = {
	.type = PINSHM_OBJ_MPSC, .kind = CTL_TAIL_QUEUE, .tail_access = PINSHM_RDWR,
	.pub = ctl_pub_mpsc, .tail = ctl_tail_mpsc,
};
