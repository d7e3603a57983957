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
	unsigned int spins = 0;
	int ret;

	while ((ret = pinshm_mpsc_claim(ring, len, dst)) == -EAGAIN) {
		if (ctl_stop)
			return -EINTR;
		__pinshm_wait_step(PINSHM_WAIT_YIELD, &spins);
	}
	return ret;
}

static void ctl_mpsc_commit(void *ring, uint32_t len, uint32_t type)
{
	pinshm_mpsc_commit(ring, len, type);
}

/* Take producer id (-1: any free one), waiting while the slot's dead
 * holder still has a claim ahead of the consumer: 0, -EINTR (stopped
 * while waiting) or -errno. */
static int ctl_mpsc_attach_producer(const struct ctl_pub *o, struct pinshm_region *r,
				    const char *ring, int id, struct pinshm_mpsc_producer *p)
{
	struct timespec ts = { 0, 10000000 };
	bool said = false;
	int ret;

	while ((ret = pinshm_mpsc_attach_producer(r, ring, id, p)) == -EAGAIN) {
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

int ctl_pub_mpsc(struct ctl_pub *o, struct pinshm_region *r, const char *ring)
{
	static const struct ctl_pub_ops ops = { ctl_mpsc_claim, ctl_mpsc_commit };
	struct pinshm_mpsc_producer p;
	struct ctl_seq_hdr lh;
	uint64_t first = 1, word;
	uint32_t type;
	int ret, err, id;

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
	err = ctl_pub_size(o, p.max_record, "max record");
	if (!err && o->seq) {
		memset(&lh, 0, sizeof(lh));
		ret = pinshm_mpsc_last(&p, &word, &type);
		if (ret == 0 && type != CTL_SEQ_TYPE) {
			ret = -ENOMSG;
		} else if (ret == 0) {
			lh.seq = word;
			lh.id = p.id;
		}
		err = ctl_pub_resume(o, ret, &lh, NULL, "last record of this producer id", &first);
	}
	if (!err)
		err = ctl_pub_loop(o, first, &ops, &p);
	ret = pinshm_mpsc_detach_producer(&p);
	if (ret && !err)
		err = ctl_fail(o->ctx, ret, CTL_ROLE);
	return err;
}

/* ------------------------------------------------------------------ */

static int ctl_mpsc_wait(void *c, int64_t timeout_ns)
{
	return pinshm_mpsc_wait(c, timeout_ns);
}

static int ctl_tail_mpsc_run(struct ctl_tail *t, struct pinshm_mpsc_consumer *c)
{
	struct pinshm_msg m = { 0 };
	uint64_t idle_since = 0, stuck_check = 0, now;
	unsigned int spins = 0, batch = 0;
	bool dirty = false, done = false, said_deadlk = false, cannot_sleep = false;
	int ret, err = 0;

	while (!done && !ctl_stop) {
		ret = pinshm_mpsc_peek(c, &m);
		if (ret == -EAGAIN) {
			if (batch) {
				pinshm_mpsc_release(c);
				batch = 0;
			}
			if (dirty) {
				fflush(stdout);
				dirty = false;
			}
			now = ctl_now_ns();
			if (!stuck_check)
				stuck_check = now;
			if (now - stuck_check >= CTL_MPSC_RECOVER_NS) {
				stuck_check = now;
				ret = pinshm_mpsc_recover(c);
				if (ret > 0)
					continue;	/* a dead producer's claim padded */
				if (ret == -EDEADLK && !said_deadlk) {
					ctl_warnf("%s: two dead producers' claims at the same place "
						  "cannot be told apart; the ring waits", t->ctx);
					said_deadlk = true;
				} else if (ret < 0 && ret != -EDEADLK) {
					err = ctl_fail(t->ctx, ret, CTL_OBJECT);
					break;
				}
			}
			ctl_idle_wait(&idle_since, &spins, ctl_mpsc_wait, c, &cannot_sleep);
			continue;
		}
		if (ret) {
			pinshm_mpsc_release(c);
			err = ctl_fail(t->ctx, ret, CTL_OBJECT);
			break;
		}
		spins = 0;
		idle_since = 0;
		stuck_check = 0;
		if (!t->t_first)
			t->t_first = ctl_now_ns();
		ctl_tail_record(t, m.data, m.len, m.type);
		dirty = !t->quiet;
		/* The first problem ends a --check-seq run: nothing can hang on it. */
		done = t->problems || ctl_tail_done(t);
		/* Release in batches (and whenever the ring is empty, above). */
		if (++batch >= 64 || t->rate > 0) {
			pinshm_mpsc_release(c);
			batch = 0;
			if (ferror(stdout))
				break;
			ctl_tail_pace(t);
		}
	}
	pinshm_mpsc_release(c);
	return ctl_tail_finish_output(t, err);
}

int ctl_tail_mpsc(struct ctl_tail *t, struct pinshm_region *r, const char *ring)
{
	struct pinshm_mpsc_consumer c;
	int ret, err;

	ret = pinshm_mpsc_attach_consumer(r, ring, &c);
	if (ret == -EBUSY)
		return ctl_role_busy(t->ctx, r, ring, "consumer", false);
	if (ret)
		return ctl_fail(t->ctx, ret, CTL_ROLE);
	t->fresh = c.head == 0;
	err = ctl_tail_mpsc_run(t, &c);
	ret = pinshm_mpsc_detach_consumer(&c);
	if (ret && !err)
		err = ctl_fail(t->ctx, ret, CTL_ROLE);
	return err;
}
