// SPDX-License-Identifier: MIT
/*
 * pinshm(1): pub and tail on broadcast rings.
 *
 * pub takes the writer role; the writer never waits for readers. A
 * restarted `pub --seq` reads the last published record back with a reader
 * of its own (the library continues after it on takeover) and resumes
 * after its sequence.
 *
 * tail is a reader: it needs only a read-only mapping (the region is
 * opened PINSHM_RDONLY) and starts at the oldest record still valid. A
 * reader the writer lapped loses records: tail reports the lost range on
 * stderr (at most ten lines a second, laps in between are summed into the
 * next line) and goes on. Each record carries its number in the ring
 * (pinshm_bcast_msg.seq), so tail counts the lost records itself and
 * checks the count against the library's (pinshm_bcast_stats()).
 * With --check-seq, every sequence gap of a producer must be covered by
 * records lost to lapping, and at the end (a tail that started at the
 * ring's first record) every lost record must be such a gap: received +
 * lost accounts for every sequence, exactly.
 *
 * On a lossless ring tail opens the region read-write and registers
 * (PINSHM_BCAST_GATING): the writer waits for it, and it is never lapped;
 * it starts at the writer's position (records published before it
 * registered are not its). pub waits while a registered reader is behind.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

#define CTL_LAP_REPORT_NS	100000000ULL	/* at most 10 lap lines a second */

/* The writer, and where a reader of our own finds its ring. */
struct ctl_bcast_pub {
	struct pinshm_bcast w;
	struct pinshm_region *r;
	const char *ring;
};

static int ctl_bcast_claim(void *ring, uint32_t len, void **dst)
{
	struct ctl_bcast_pub *bp = ring;

	return pinshm_bcast_claim(&bp->w, len, dst);	/* never waits */
}

static void ctl_bcast_commit(void *ring, uint32_t len, uint32_t type)
{
	struct ctl_bcast_pub *bp = ring;

	pinshm_bcast_commit(&bp->w, len, type);
}

/* The last published record, read back by a reader of our own. */
static int ctl_bcast_last(void *ring, struct ctl_seq_hdr *h, char *why, size_t whylen)
{
	struct ctl_bcast_pub *bp = ring;
	uint32_t max = bp->w.max_payload;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;
	uint8_t *buf;
	int ret;

	buf = malloc(max ? max : 1);
	if (!buf)
		return -ENOMEM;
	ret = pinshm_bcast_attach(bp->r, bp->ring, PINSHM_READER, &rd);
	if (!ret)
		ret = pinshm_bcast_seek(&rd, PINSHM_BCAST_NEWEST);
	if (ret) {
		free(buf);
		return ret;
	}
	/* We are the writer: nothing changes under this read. */
	ret = pinshm_bcast_recv(&rd, buf, max, &m, PINSHM_WAIT_NONE);
	pinshm_bcast_detach(&rd);
	if (ret == -EAGAIN)
		ret = -ENOENT;		/* nothing published yet */
	else if (ret >= 0 && m.type != CTL_SEQ_TYPE)
		ret = -ENOMSG;
	else if (ret >= 0)
		ret = ctl_seq_check(buf, m.len, m.type, h, why, whylen);
	free(buf);
	return ret;
}

static int ctl_bcast_detach(void *ring)
{
	struct ctl_bcast_pub *bp = ring;

	return pinshm_bcast_detach(&bp->w);
}

static int ctl_pub_bcast(struct ctl_pub *o, struct pinshm_region *r, const char *ring)
{
	static const struct ctl_pub_ops ops = {
		.claim = ctl_bcast_claim, .commit = ctl_bcast_commit, .last = ctl_bcast_last,
		.detach = ctl_bcast_detach, .max_what = "max record",
		.last_where = "last record in the ring",
	};
	struct ctl_bcast_pub bp = { .r = r, .ring = ring };
	int ret;

	ret = pinshm_bcast_attach(r, ring, PINSHM_WRITER, &bp.w);
	if (ret == -EBUSY)
		return ctl_role_busy(o->ctx, r, ring, "writer", true);
	if (ret)
		return ctl_fail(o->ctx, ret, CTL_ROLE);
	return ctl_pub_run(o, &ops, &bp, bp.w.max_payload);
}

/* ------------------------------------------------------------------ */

/* Laps not reported yet. */
struct ctl_laps {
	uint64_t laps, lost;
	uint64_t from, to;	/* first and last record number lost */
	uint64_t printed_ns;
};

/*
 * Report the laps gathered so far: while reading, at most every
 * CTL_LAP_REPORT_NS, and only if stderr can take the line now (a reader
 * blocked on a full stderr pipe would stop reading): else the laps stay
 * gathered for a later line, and t->held_back counts the report held.
 * At the end (final), always.
 */
static void ctl_laps_print(struct ctl_tail *t, struct ctl_laps *l, bool final)
{
	struct pollfd pfd = { .fd = STDERR_FILENO, .events = POLLOUT };
	uint64_t now = bench_mono_ns();
	char line[512];
	int n;

	if (!l->lost)
		return;
	if (!final && now - l->printed_ns < CTL_LAP_REPORT_NS)
		return;
	if (l->laps <= 1)
		n = snprintf(line, sizeof(line), "pinshm: %s: lapped: lost %" PRIu64 " record%s "
			     "(#%" PRIu64 "..#%" PRIu64 ")\n", t->ctx, l->lost,
			     l->lost == 1 ? "" : "s", l->from, l->to);
	else
		n = snprintf(line, sizeof(line), "pinshm: %s: lapped %" PRIu64 " times: lost %"
			     PRIu64 " records between #%" PRIu64 " and #%" PRIu64 "\n", t->ctx,
			     l->laps, l->lost, l->from, l->to);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	fflush(stdout);
	if (final) {
		fputs(line, stderr);
	} else if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT) ||
		   write(STDERR_FILENO, line, (size_t)n) != n) {
		/* Would block (one line fits a pipe with room: never cut). */
		t->held_back++;
		l->printed_ns = now;
		return;
	}
	l->laps = l->lost = 0;
	l->printed_ns = now;
}

/* The reader, its buffer, and where it is in the ring. */
struct ctl_bcast_tail {
	struct pinshm_bcast rd;
	uint8_t *buf;
	uint64_t next;			/* the record number expected next */
	uint64_t lib_lost, lib_laps;	/* the library's counts so far */
	struct ctl_laps laps;
};

static int ctl_bcast_next(struct ctl_tail *t, void *ring, struct ctl_rec *rec)
{
	struct ctl_bcast_tail *bt = ring;
	struct pinshm_bcast_stats st;
	struct pinshm_bcast_msg m;
	int ret;

	ret = pinshm_bcast_recv(&bt->rd, bt->buf, bt->rd.max_payload, &m, PINSHM_WAIT_NONE);
	if (ret < 0)
		return ret;
	pinshm_bcast_stats(&bt->rd, &st);
	if (m.seq != bt->next || st.lost != bt->lib_lost) {
		/* Lapped: records next .. m.seq - 1 are gone. */
		uint64_t n = m.seq - bt->next;

		if (m.seq < bt->next || st.lost - bt->lib_lost != n) {
			ctl_problem(t, "lapped count mismatch: the reader skipped from #%" PRIu64
				    " to #%" PRIu64 ", the library counted %" PRIu64 " lost",
				    bt->next, m.seq, st.lost - bt->lib_lost);
			return -EAGAIN;		/* the loop ends on the problem */
		}
		if (!bt->laps.lost)
			bt->laps.from = bt->next;
		bt->laps.to = m.seq - 1;
		bt->laps.lost += n;
		bt->laps.laps += st.lapped - bt->lib_laps;
		t->laps += st.lapped - bt->lib_laps;
		t->lost += n;
		t->unexplained += n;
		ctl_laps_print(t, &bt->laps, false);
	}
	bt->lib_lost = st.lost;
	bt->lib_laps = st.lapped;
	bt->next = m.seq + 1;
	*rec = (struct ctl_rec){ bt->buf, m.len, m.type };
	return 0;
}

/* Idle: say what was lost so far (within the same rate limit). */
static int ctl_bcast_idle(struct ctl_tail *t, void *ring)
{
	struct ctl_bcast_tail *bt = ring;

	ctl_laps_print(t, &bt->laps, false);
	return 0;
}

static int ctl_bcast_wait(void *ring, int64_t timeout_ns)
{
	struct ctl_bcast_tail *bt = ring;

	return pinshm_bcast_wait(&bt->rd, timeout_ns);
}

static void ctl_bcast_end(struct ctl_tail *t, void *ring, bool done)
{
	struct ctl_bcast_tail *bt = ring;

	ctl_laps_print(t, &bt->laps, true);
	if (done && !t->problems && t->check && t->fresh && t->unexplained)
		ctl_problem(t, "%" PRIu64 " record%s lost to lapping, but the sequences skipped "
			    "only %" PRIu64, t->lost, t->lost == 1 ? "" : "s", t->explained);
}

static int ctl_tail_bcast(struct ctl_tail *t, struct pinshm_region *r, const char *ring)
{
	static const struct ctl_tail_ops ops = {
		.next = ctl_bcast_next, .idle = ctl_bcast_idle, .wait = ctl_bcast_wait,
		.end = ctl_bcast_end,
	};
	struct ctl_bcast_tail bt = { .buf = NULL };
	struct pinshm_bcast_stats st;
	int ret, err;

	/* A lossless ring, opened read-write for it: register. */
	ret = pinshm_bcast_attach(r, ring, PINSHM_READER | PINSHM_BCAST_GATING, &bt.rd);
	if (ret == -EOPNOTSUPP || ret == -EACCES)
		ret = pinshm_bcast_attach(r, ring, PINSHM_READER, &bt.rd);
	if (!ret)
		ret = pinshm_bcast_seek(&bt.rd, PINSHM_BCAST_OLDEST);
	if (ret)
		return ctl_fail(t->ctx, ret, CTL_OBJECT);
	/* From the ring's first record: every sequence is received or lost. */
	t->fresh = bt.rd.pos == 0;
	bt.buf = malloc(bt.rd.max_payload ? bt.rd.max_payload : 1);
	if (bt.buf) {
		pinshm_bcast_stats(&bt.rd, &st);
		bt.next = st.pos;
		err = ctl_tail_loop(t, &ops, &bt);
		free(bt.buf);
	} else {
		err = ctl_fail(t->ctx, -ENOMEM, CTL_OBJECT);
	}
	ret = pinshm_bcast_detach(&bt.rd);
	if (ret && !err)
		err = ctl_fail(t->ctx, ret, CTL_OBJECT);
	return err;
}

/* A lossless ring's reader registers, which takes a writable mapping. */
static int ctl_bcast_tail_access(struct pinshm_region *r, const char *ring)
{
	struct pinshm_bcast rd;
	bool gated;

	if (pinshm_bcast_attach(r, ring, PINSHM_READER, &rd))
		return PINSHM_RDONLY;	/* tail itself says what is wrong */
	gated = rd.kgates != NULL;
	pinshm_bcast_detach(&rd);
	return gated ? PINSHM_RDWR : PINSHM_RDONLY;
}

const struct ctl_ring_type ctl_ring_bcast = {
	.type = PINSHM_OBJ_BCAST, .kind = CTL_TAIL_BCAST, .tail_access = PINSHM_RDONLY,
	.tail_access_of = ctl_bcast_tail_access, .pub = ctl_pub_bcast, .tail = ctl_tail_bcast,
};
