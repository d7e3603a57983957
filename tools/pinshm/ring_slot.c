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
	*dst = pinshm_slot_write_begin(ring);
	return *dst ? 0 : -EPERM;
}

static void ctl_slot_commit(void *ring, uint32_t len, uint32_t type)
{
	(void)type;
	pinshm_slot_write_end(ring, len);
}

/* The current value, read by its writer (see ctl_pub_resume()). */
static int ctl_slot_last(struct pinshm_slot *s, struct ctl_seq_hdr *h, char *why,
			 size_t whylen)
{
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

int ctl_pub_slot(struct ctl_pub *o, struct pinshm_region *r, const char *ring)
{
	static const struct ctl_pub_ops ops = { ctl_slot_claim, ctl_slot_commit };
	struct pinshm_slot s;
	struct ctl_seq_hdr lh;
	char why[256] = "";
	uint64_t first = 1;
	int ret, err;

	ret = pinshm_slot_writer_attach(r, ring, &s);
	if (ret == -EBUSY)
		return ctl_role_busy(o->ctx, r, ring, "writer", true);
	if (ret)
		return ctl_fail(o->ctx, ret, CTL_ROLE);
	err = ctl_pub_size(o, s.size, "value size");
	if (!err && o->seq) {
		ret = ctl_slot_last(&s, &lh, why, sizeof(why));
		err = ctl_pub_resume(o, ret, &lh, why, "value in the slot", &first);
	}
	if (!err)
		err = ctl_pub_loop(o, first, &ops, &s);
	ret = pinshm_slot_detach(&s);
	if (ret && !err)
		err = ctl_fail(o->ctx, ret, CTL_ROLE);
	return err;
}

/* ------------------------------------------------------------------ */

/* A slot and the version the tail has seen: what pinshm_slot_wait() needs. */
struct ctl_slot_seen {
	struct pinshm_slot *s;
	uint64_t version;
};

static int ctl_slot_wait(void *arg, int64_t timeout_ns)
{
	const struct ctl_slot_seen *w = arg;

	return pinshm_slot_wait(w->s, w->version, timeout_ns);
}

static int ctl_tail_slot_run(struct ctl_tail *t, struct pinshm_slot *s)
{
	uint64_t idle_since = 0, version, last_version = 0;
	unsigned int spins = 0;
	bool dirty = false, done = false, seen = false, cannot_sleep = false;
	struct ctl_slot_seen w = { .s = s };
	struct ctl_seq_hdr h;
	uint32_t len, type;
	uint8_t *buf;
	int ret, err = 0;

	buf = calloc(1, s->size);
	if (!buf)
		return ctl_tail_finish_output(t, ctl_fail(t->ctx, -ENOMEM, CTL_OBJECT));
	while (!done && !ctl_stop) {
		ret = pinshm_slot_read(s, buf, s->size, &version);
		if (ret == -ENODATA || ret == -EAGAIN || (ret >= 0 && seen &&
							  version == last_version)) {
			/* No value, a writer too busy to read past, or nothing new. */
			if (dirty) {
				fflush(stdout);
				dirty = false;
			}
			if (ret == -EAGAIN) {	/* a write in progress: soon */
				ctl_idle(&idle_since, &spins);
				continue;
			}
			/* Sleep until the version is another than this one. */
			w.version = ret == -ENODATA ? version : last_version;
			ctl_idle_wait(&idle_since, &spins, ctl_slot_wait, &w,
				      &cannot_sleep);
			continue;
		}
		if (ret < 0) {
			err = ctl_fail(t->ctx, ret, CTL_OBJECT);
			break;
		}
		spins = 0;
		idle_since = 0;
		if (!t->t_first)
			t->t_first = ctl_now_ns();
		if (seen && version < last_version) {
			ctl_problem(t, "the slot's version went backwards: %" PRIu64 " after %" PRIu64,
				    version, last_version);
			break;
		}
		seen = true;
		last_version = t->version = version;
		/* A --seq value's header gives its length (the rest is stale). */
		len = s->size;
		type = 0;
		if (s->size >= CTL_SEQ_MIN) {
			memcpy(&h, buf, sizeof(h));
			if (h.magic == CTL_SEQ_MAGIC) {
				type = CTL_SEQ_TYPE;
				if (h.len <= s->size)
					len = h.len;
			}
		}
		ctl_tail_record(t, buf, len, type);
		dirty = !t->quiet;
		/* The first problem ends a --check-seq run: nothing can hang on it. */
		done = t->problems || ctl_tail_done(t);
		if (ferror(stdout))
			break;
		if (!done)
			ctl_tail_pace(t);
	}
	free(buf);
	return ctl_tail_finish_output(t, err);
}

int ctl_tail_slot(struct ctl_tail *t, struct pinshm_region *r, const char *ring)
{
	struct pinshm_slot s;
	int ret, err;

	ret = pinshm_slot_reader_attach(r, ring, &s);
	if (ret)
		return ctl_fail(t->ctx, ret, CTL_OBJECT);
	err = ctl_tail_slot_run(t, &s);
	ret = pinshm_slot_detach(&s);
	if (ret && !err)
		err = ctl_fail(t->ctx, ret, CTL_OBJECT);
	return err;
}
