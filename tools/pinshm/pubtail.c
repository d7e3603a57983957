// SPDX-License-Identifier: MIT
/*
 * pinshm(1): pub and tail, the parts every ring type shares: options,
 * opening the ring, the write loop, printing and checking what is read,
 * pacing and idling. Each ring type runs in its ring_TYPE.c; the --seq
 * record format is in seq.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

/* What pub and tail do on an object of type; NULL (said so) for others. */
static const struct ctl_ring_type *ctl_ring_type(const char *ctx, uint32_t type)
{
	static const struct ctl_ring_type *const types[] = {
		&ctl_ring_spsc, &ctl_ring_mpsc, &ctl_ring_bcast, &ctl_ring_slot,
		&ctl_ring_fanin,
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i]->type == type)
			return types[i];
	ctl_errorf("%s: objects of type %u are not supported", ctx, type);
	return NULL;
}

/*
 * Open region NAME with access and find object RING in it: 0 with *r open
 * and *oi filled, or -errno.
 */
static int ctl_open_ring(const char *ctx, const char *name, const char *ring_name, int access,
			 struct pinshm_region **r, struct pinshm_obj_info *oi)
{
	int ret;

	if (!pinshm_obj_name_valid(ring_name)) {
		ctl_errorf("%s: %s", ctx, ctl_obj_name_rule());
		return -EINVAL;
	}
	ret = ctl_open_region(name, access, r);
	if (ret == -EINVAL) {
		ctl_errorf("%s: %s", ctx, ctl_name_rule());
		return ret;
	}
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	ret = pinshm_obj_find(*r, ring_name, oi);
	if (ret) {
		pinshm_region_close(*r);
		return ctl_fail(ctx, ret, CTL_OBJECT);
	}
	oi->name[PINSHM_OBJ_NAME_MAX - 1] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */

/*
 * --size against the ring's largest payload max (what: "max record",
 * "value size"); without --size, 64 or max if smaller.
 */
static int ctl_pub_size(struct ctl_pub *o, uint64_t max, const char *what)
{
	if (!o->size_given && max < o->size)
		o->size = max;
	if (o->size > max) {
		ctl_errorf("%s: --size %" PRIu64 " above the ring's %s %" PRIu64, o->ctx, o->size,
			   what, max);
		return -EMSGSIZE;
	}
	if (o->seq && o->size < CTL_SEQ_MIN) {
		ctl_errorf("%s: --size %" PRIu64 " too small for --seq records (at least %u)",
			   o->ctx, o->size, CTL_SEQ_MIN);
		return -EINVAL;
	}
	return 0;
}

/*
 * Where a --seq producer starts, from what the ring says about its last
 * record (found: 0 with *lh, -ENOENT none, -ENOMSG not a --seq record,
 * -EBADMSG with why: a --seq record that does not check out, or -errno).
 * where names it: "last record in the ring", "value in the slot".
 */
static int ctl_pub_resume(const struct ctl_pub *o, int found, const struct ctl_seq_hdr *lh,
			  const char *why, const char *where, uint64_t *first)
{
	*first = 1;
	if (found == 0 && lh->id == o->id) {
		*first = lh->seq + 1;
		if (!o->quiet)
			fprintf(stderr, "pinshm: %s: producer %u resumes after seq %" PRIu64 "\n",
				o->ctx, o->id, lh->seq);
	} else if (found == 0) {
		ctl_warnf("%s: the %s is from producer %u; producer %u starts at seq 1", o->ctx,
			  where, lh->id, o->id);
	} else if (found == -ENOMSG) {
		ctl_warnf("%s: the %s is not a pub --seq record; starting at seq 1", o->ctx, where);
	} else if (found == -EBADMSG && why[0]) {
		ctl_errorf("%s: cannot resume: %s: %s", o->ctx, where, why);
		return found;
	} else if (found != -ENOENT) {
		return ctl_fail(o->ctx, found, CTL_OBJECT);
	}
	return 0;
}

/* Room for len bytes, waiting while the ring is full: 0, -EINTR, -errno. */
static int ctl_pub_claim(const struct ctl_pub_ops *ops, void *ring, uint32_t len, void **dst)
{
	unsigned int spins = 0;
	int ret;

	while ((ret = ops->claim(ring, len, dst)) == -EAGAIN) {
		if (ctl_stop)
			return -EINTR;
		__pinshm_wait_step(PINSHM_WAIT_YIELD, &spins);
	}
	return ret;
}

/* Write the messages; the summary goes to stderr. */
static int ctl_pub_loop(const struct ctl_pub *o, uint64_t first,
			const struct ctl_pub_ops *ops, void *ring)
{
	uint64_t last_done = 0, sent = 0, i, seq, t0, t1;
	uint32_t len = (uint32_t)o->size;
	uint8_t *msg;
	char b1[32], b2[32];
	int ret, err = 0, reps;
	void *dst;

	msg = calloc(1, o->size ? o->size : 1);
	if (!msg)
		return ctl_fail(o->ctx, -ENOMEM, CTL_OBJECT);
	for (i = 0; i < o->size; i++)
		msg[i] = (uint8_t)("pinshm "[i % 7]);

	t0 = bench_mono_ns();
	for (i = 0, seq = first; !ctl_stop; i++, seq++) {
		if (o->seq ? (o->count && seq > o->count) : (o->count && i >= o->count))
			break;
		if (o->seq && seq == o->skip_seq)
			continue;
		if (o->rate > 0)
			ctl_pace(t0 + (uint64_t)((double)sent * 1e9 / o->rate));
		for (reps = (o->seq && seq == o->dup_seq) ? 2 : 1; reps > 0; reps--) {
			ret = ctl_pub_claim(ops, ring, len, &dst);
			if (ret == -EINTR)
				goto out;
			if (ret) {
				err = ctl_fail(o->ctx, ret, CTL_OBJECT);
				goto out;
			}
			if (o->seq) {
				ctl_seq_fill(dst, len, o->id, seq, seq == o->corrupt_seq);
				ops->commit(ring, len, CTL_SEQ_TYPE);
			} else {
				memcpy(dst, msg, len);
				if (len >= 8)
					memcpy(dst, &i, 8);
				ops->commit(ring, len, 0);
			}
			sent++;
		}
		last_done = seq;
	}
out:
	t1 = bench_mono_ns();
	free(msg);
	if (!o->quiet) {
		double secs = (double)(t1 - t0) / 1e9;

		fprintf(stderr, "pinshm: %s: %" PRIu64 " message%s of %" PRIu64 " bytes in %.3f s "
			"(%s msg/s, %s B/s)", o->ctx, sent, sent == 1 ? "" : "s", o->size, secs,
			ctl_fmt_rate(secs > 0 ? (double)sent / secs : 0, b1, sizeof(b1)),
			ctl_fmt_rate(secs > 0 ? (double)(sent * o->size) / secs : 0, b2, sizeof(b2)));
		if (o->seq && last_done >= first)
			fprintf(stderr, "; producer %u seq %" PRIu64 "..%" PRIu64, o->id, first,
				last_done);
		else if (o->seq)
			fprintf(stderr, "; producer %u already at seq %" PRIu64, o->id, first - 1);
		fprintf(stderr, "%s\n", ctl_stop ? " (interrupted)" : "");
	}
	return err;
}

int ctl_pub_run(struct ctl_pub *o, const struct ctl_pub_ops *ops, void *ring, uint64_t max)
{
	struct ctl_seq_hdr lh = { 0 };
	char why[256] = "";
	uint64_t first = 1;
	int ret, err;

	err = ctl_pub_size(o, max, ops->max_what);
	if (!err && o->seq) {
		ret = ops->last(ring, &lh, why, sizeof(why));
		err = ctl_pub_resume(o, ret, &lh, why, ops->last_where, &first);
	}
	if (!err)
		err = ctl_pub_loop(o, first, ops, ring);
	ret = ops->detach(ring);
	if (ret && !err)
		err = ctl_fail(o->ctx, ret, CTL_ROLE);
	return err;
}

/* spsc: claim room for len bytes, waiting while the ring is full. */
enum { CTL_OPT_SKIP = CTL_OPT_LONG, CTL_OPT_DUP, CTL_OPT_CORRUPT };

static const struct ctl_opt ctl_pub_opts[] = {
	{ "count", 'n', "N", "messages to write (default 1; 0: until interrupted); with --seq: "
	  "the last sequence number to reach", 0 },
	{ "rate", 'r', "R", "messages per second (default: as fast as possible)", 0 },
	{ "size", 's', "B", "payload bytes (default 64, or the ring's max record or value size "
	  "if smaller; K suffix allowed)", 0 },
	{ "seq", 'S', NULL, "sequence-numbered, self-checking records (see below)", 0 },
	{ "id", 'i', "N", "producer id written into --seq records (default 0); on an mpsc ring "
	  "also the producer slot taken (0..63; without --id and --seq, the first free one)", 0 },
	{ "quiet", 'q', NULL, "no summary", 0 },
	{ .doc = "Testing only (to check that `tail --check-seq` catches faults):", 0 },
	{ "skip-seq", CTL_OPT_SKIP, "N", "never write sequence N (a gap)", CTL_OPT_NOUSAGE },
	{ "dup-seq", CTL_OPT_DUP, "N", "write sequence N twice (a duplicate)", CTL_OPT_NOUSAGE },
	{ "corrupt-seq", CTL_OPT_CORRUPT, "N", "write sequence N with a bad hash (a torn record)",
	  CTL_OPT_NOUSAGE },
	{ NULL },
};

const struct ctl_cmd ctl_cmd_pub = {
	.name = "pub", .run = cmd_pub, .args = "NAME RING", .opts = ctl_pub_opts,
	.summary = "write messages to a ring",
	.help =
	"Take the producer role of RING in region NAME (spsc: the producer; mpsc:\n"
	"producer id --id; bcast, slot: the writer) and write messages (slot: values).\n"
	"spsc and mpsc wait while the ring is full; a bcast writer never waits (slow\n"
	"readers are lapped). SIGINT/SIGTERM: finish the current message, detach,\n"
	"exit 0. Prints a summary on stderr at the end.\n",
	.notes =
	"With --seq each payload is: u64 sequence number, u32 magic, u32 producer id,\n"
	"u32 length, u32 0, filler derived from (seq, id), then a trailer {u32 length,\n"
	"u32 hash of everything before it}; --size must be 32 or more. Sequences\n"
	"start at 1; a restarted pub finds the last sequence it committed in the ring\n"
	"(spsc, bcast: the last record; mpsc: the last record of producer id --id;\n"
	"slot: the current value) and resumes after it, so `pub --seq --count N` run\n"
	"again after a crash finishes the same job.\n",
	.examples =
	"  pinshm pub md quotes --count 1000 --size 56 --rate 10000\n"
	"  pinshm pub md quotes --seq --count 1000000\n"
	"  pinshm pub md orders --seq --id 2 --count 1000000\n",
};

static int ctl_pub_opt(const struct ctl_cmd *c, const struct ctl_opt *opt, const char *arg,
		       void *data)
{
	struct ctl_pub *o = data;
	uint64_t v;

	switch (opt->key) {
	case 'n':
		if (ctl_parse_u64(arg, &o->count))
			return ctl_usage_error(c, "bad --count '%s'", arg);
		break;
	case 'r':
		if (ctl_parse_double(arg, &o->rate) || o->rate <= 0)
			return ctl_usage_error(c, "bad --rate '%s' (messages per second, > 0)", arg);
		break;
	case 's':
		if (ctl_parse_size(arg, &o->size))
			return ctl_usage_error(c, "bad --size '%s' (bytes, K suffix)", arg);
		o->size_given = true;
		break;
	case 'S':
		o->seq = true;
		break;
	case 'i':
		if (ctl_parse_u64(arg, &v) || v > UINT32_MAX)
			return ctl_usage_error(c, "bad --id '%s' (0..4294967295)", arg);
		o->id = (uint32_t)v;
		o->id_given = true;
		break;
	case 'q':
		o->quiet = true;
		break;
	default:	/* --skip-seq, --dup-seq, --corrupt-seq */
		if (ctl_parse_u64(arg, &v) || !v)
			return ctl_usage_error(c, "bad --%s '%s' (a sequence number >= 1)",
					       opt->name, arg);
		if (opt->key == CTL_OPT_SKIP)
			o->skip_seq = v;
		else if (opt->key == CTL_OPT_DUP)
			o->dup_seq = v;
		else
			o->corrupt_seq = v;
		break;
	}
	return 0;
}

int cmd_pub(int argc, char **argv)
{
	static const char *const need[] = { "region NAME", "RING", NULL };
	const struct ctl_cmd *c = &ctl_cmd_pub;
	struct ctl_pub o = { .count = 1, .size = 64 };
	struct pinshm_obj_info oi;
	struct pinshm_region *r;
	char ctx[160];
	const struct ctl_ring_type *rt;
	int ret, err;

	ret = ctl_parse(c, argc, argv, ctl_pub_opt, &o);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = ctl_operands(c, argc, argv, need, 2);
	if (ret)
		return ret;
	if ((o.skip_seq || o.dup_seq || o.corrupt_seq) && !o.seq)
		return ctl_usage_error(c, "--skip-seq, --dup-seq and --corrupt-seq need --seq");
	snprintf(ctx, sizeof(ctx), "pub %s/%s", argv[optind], argv[optind + 1]);
	o.ctx = ctx;
	if (o.seq && o.size_given && o.size < CTL_SEQ_MIN) {
		ctl_errorf("%s: --size %" PRIu64 " too small for --seq records (at least %u)", ctx,
			   o.size, CTL_SEQ_MIN);
		return -EINVAL;
	}
	if (o.size > PINSHM_REC_LEN_MASK) {
		ctl_errorf("%s: --size %" PRIu64 " too large", ctx, o.size);
		return -EMSGSIZE;
	}

	ctl_install_signals();
	ret = ctl_open_ring(ctx, argv[optind], argv[optind + 1], PINSHM_RDWR, &r, &oi);
	if (ret)
		return ret;
	rt = ctl_ring_type(ctx, oi.type);
	err = rt ? rt->pub(&o, r, oi.name) : -EOPNOTSUPP;
	ret = pinshm_region_close(r);
	if (ret && !err)
		err = ctl_fail(ctx, ret, CTL_REGION);
	return err;
}

/* --rate: hold the next record back until its time. */
static void ctl_tail_pace(struct ctl_tail *t)
{
	if (t->rate > 0 && t->t_first)
		ctl_pace(t->t_first + (uint64_t)((double)t->records * 1e9 / t->rate));
}

/* Flush stdout at the end of a tail; a closed pipe is a normal end. */
static int ctl_tail_finish_output(struct ctl_tail *t, int err)
{
	t->t_last = bench_mono_ns();
	if ((fflush(stdout) || ferror(stdout)) && !err) {
		err = errno ? -errno : -EIO;
		/* `pinshm tail ... | head` is a normal way to stop. */
		if (err == -EPIPE)
			return 0;
		ctl_errorf("%s: writing output: %s", t->ctx, strerror(-err));
	}
	return err;
}

/*
 * Released implies written: the lines of the records read so far go out
 * (fflush) before the ring is told they are consumed, so a tail killed at
 * any moment has printed every record it released; a successor resumes
 * after them. Killed between the two, its last batch is printed again by
 * the successor: never lost. -errno if the output failed (nothing is
 * released then).
 */
static int ctl_tail_commit(const struct ctl_tail_ops *ops, void *ring, unsigned int *batch,
			   bool *dirty)
{
	if (*dirty) {
		if (fflush(stdout) || ferror(stdout))
			return errno ? -errno : -EIO;
		*dirty = false;
	}
	if (*batch && ops->release) {
		ops->release(ring);
		*batch = 0;
	}
	return 0;
}

/*
 * Bytes tail may print for a record of len bytes: its line, and the hex
 * dump (80 bytes a 16-byte row, rounded up).
 */
static size_t ctl_tail_line_max(const struct ctl_tail *t, uint32_t len)
{
	return 128 + (t->hex ? ((size_t)len / 16 + 1) * 80 : 0);
}

/* Read and print records until done; the summary is left to the caller. */
int ctl_tail_loop(struct ctl_tail *t, const struct ctl_tail_ops *ops, void *ring)
{
	struct ctl_rec rec;
	uint64_t idle_since = 0;
	unsigned int spins = 0, batch = 0;
	bool dirty = false, done = false, cannot_sleep = false;
	int ret, err = 0;

	while (!done && !ctl_stop) {
		ret = ops->next(t, ring, &rec);
		if (t->problems)
			break;
		if (ret == -EAGAIN || ret == -EINPROGRESS) {
			if (ctl_tail_commit(ops, ring, &batch, &dirty))
				break;
			if (ret == -EINPROGRESS) {	/* a write under way: soon */
				ctl_idle(&idle_since, &spins);
				continue;
			}
			ret = ops->idle ? ops->idle(t, ring) : 0;
			if (ret > 0)
				continue;
			if (ret < 0) {
				err = ret;
				break;
			}
			ctl_idle_wait(&idle_since, &spins, ops->wait, ring, &cannot_sleep);
			continue;
		}
		if (ret) {
			err = ctl_fail(t->ctx, ret, CTL_OBJECT);
			break;
		}
		spins = 0;
		idle_since = 0;
		if (!t->t_first)
			t->t_first = bench_mono_ns();
		/*
		 * Only whole lines leave the buffer: when this record's lines
		 * might not fit in what is left of it, what is there goes out
		 * first (with its release), so stdio never writes a cut line.
		 */
		if (dirty && __fpending(stdout) + ctl_tail_line_max(t, rec.len) >
			     __fbufsize(stdout) &&
		    ctl_tail_commit(ops, ring, &batch, &dirty))
			break;
		ctl_tail_record(t, rec.data, rec.len, rec.type);
		dirty = !t->quiet;
		batch++;
		/* The first problem ends a --check-seq run: nothing can hang on it. */
		done = t->problems || ctl_tail_done(t);
		/* Release in batches (and whenever the ring is empty, above). */
		if ((batch >= 64 || t->rate > 0) && ctl_tail_commit(ops, ring, &batch, &dirty))
			break;
		if (ferror(stdout))
			break;
		if (!done)
			ctl_tail_pace(t);
	}
	/* What was printed goes out before its records are released. */
	err = ctl_tail_finish_output(t, err);
	if (!ferror(stdout) && ops->release)
		ops->release(ring);
	if (ops->end)
		ops->end(t, ring, done);
	return err;
}

static void ctl_tail_summary(const struct ctl_tail *t)
{
	double secs = t->t_first ? (double)(t->t_last - t->t_first) / 1e9 : 0;
	char b1[32];
	uint32_t i;

	fprintf(stderr, "pinshm: %s: %" PRIu64 " %s%s in %.3f s (%s/s)", t->ctx, t->records,
		t->kind == CTL_TAIL_SLOT ? "value" : "record", t->records == 1 ? "" : "s", secs,
		ctl_fmt_rate(secs > 0 ? (double)t->records / secs : 0, b1, sizeof(b1)));
	if (t->kind == CTL_TAIL_BCAST)
		fprintf(stderr, "; lapped %" PRIu64 " time%s, %" PRIu64 " record%s lost", t->laps,
			t->laps == 1 ? "" : "s", t->lost, t->lost == 1 ? "" : "s");
	if (t->held_back)
		fprintf(stderr, "; %" PRIu64 " lap report%s held back (stderr full)", t->held_back,
			t->held_back == 1 ? "" : "s");
	if (t->check) {
		for (i = 0; i < t->producers; i++) {
			if (t->prod[i].seen)
				fprintf(stderr, "; producer %u: last seq %" PRIu64, i, t->prod[i].last);
			else
				fprintf(stderr, "; producer %u: nothing", i);
		}
		fprintf(stderr, "; %" PRIu64 " problem%s", t->problems, t->problems == 1 ? "" : "s");
	}
	fprintf(stderr, "%s\n", ctl_stop ? " (interrupted)" : "");
}

static const struct ctl_opt ctl_tail_opts[] = {
	{ "count", 'n', "N", "exit after N records (slot: values); with --check-seq, once every "
	  "producer id 0..K-1 has reached sequence N", 0 },
	{ "check-seq", 'c', NULL, "check `pub --seq` records, per producer id: stop and exit 1 at "
	  "the first gap, duplicate, out-of-order or torn record (bad length or hash), printing "
	  "what it was on stderr. bcast: a gap is fine where records were lost to lapping, and "
	  "received + lost must account for every sequence; slot: sequences may skip, never "
	  "repeat or go backwards", 0 },
	{ "producers", 'p', "K", "producer ids 0..K-1 expected (default 1)", 0 },
	{ "merge", 'm', "OFF", "fanin: take the lanes merged by the u64 at payload offset OFF "
	  "(native byte order), smallest first, ties to the lower lane; a record too short for "
	  "it counts as 0. The merge orders the records present when each is read. `pub --seq` "
	  "records have their sequence number at 0", 0 },
	{ "rate", 'r', "R", "read at most R records per second (a slow consumer)", 0 },
	{ "hex", 'x', NULL, "hex dump of each payload", 0 },
	{ "quiet", 'q', NULL, "print nothing per record", 0 },
	{ NULL },
};

const struct ctl_cmd ctl_cmd_tail = {
	.name = "tail", .run = cmd_tail, .args = "NAME RING", .opts = ctl_tail_opts,
	.summary = "read messages from a ring",
	.help =
	"Read RING in region NAME and print each record, one line each (seq, id and\n"
	"length of --seq records; length and type of others). spsc, mpsc: takes the\n"
	"consumer role, and a restarted tail continues after the last record\n"
	"released; idle, it sleeps until the producer's next commit. bcast: a reader\n"
	"(a read-only attach) from the oldest record still in the ring; when the\n"
	"writer laps it, the records lost are reported on stderr (at most 10 lines a\n"
	"second, gathered into later lines while stderr would block) and reading goes\n"
	"on: lapping is not a failure. slot: a reader (read-only) polling the latest\n"
	"value, one line per new version seen. fanin: the consumer, FIFO per producer\n"
	"and the lanes in turn, or with --merge the lanes merged by a key in the\n"
	"records. Runs until --count is reached or SIGINT/SIGTERM (then exits 0\n"
	"unless an error was seen).\n",
	.notes =
	"A summary (records, last sequence per producer, rate; bcast: laps and\n"
	"records lost) goes to stderr.\n",
	.examples =
	"  pinshm tail md quotes\n"
	"  pinshm tail md quotes --check-seq --count 1000000 --quiet\n"
	"  pinshm tail md orders --check-seq --producers 3 --count 1000000 --quiet\n"
	"  pinshm tail md ticks --merge 0\n"
	"  pinshm tail md feed --rate 1000\n",
};

struct ctl_tail_args {
	struct ctl_tail *t;
	bool producers_given;
};

static int ctl_tail_opt(const struct ctl_cmd *c, const struct ctl_opt *opt, const char *arg,
			void *data)
{
	struct ctl_tail_args *a = data;
	struct ctl_tail *t = a->t;
	uint64_t v;

	switch (opt->key) {
	case 'n':
		if (ctl_parse_u64(arg, &t->count))
			return ctl_usage_error(c, "bad --count '%s'", arg);
		break;
	case 'c':
		t->check = true;
		break;
	case 'p':
		if (ctl_parse_u64(arg, &v) || v < 1 || v > 65536)
			return ctl_usage_error(c, "bad --producers '%s' (1..65536)", arg);
		t->producers = (uint32_t)v;
		a->producers_given = true;
		break;
	case 'r':
		if (ctl_parse_double(arg, &t->rate) || t->rate <= 0)
			return ctl_usage_error(c, "bad --rate '%s' (records per second, > 0)", arg);
		break;
	case 'm':
		if (ctl_parse_u64(arg, &v) || v > UINT32_MAX)
			return ctl_usage_error(c, "bad --merge '%s' (a payload offset in bytes)", arg);
		t->merge = true;
		t->merge_off = (uint32_t)v;
		break;
	case 'x':
		t->hex = true;
		break;
	case 'q':
		t->quiet = true;
		break;
	}
	return 0;
}

int cmd_tail(int argc, char **argv)
{
	static const char *const need[] = { "region NAME", "RING", NULL };
	const struct ctl_cmd *c = &ctl_cmd_tail;
	struct ctl_tail t = { .producers = 1 };
	struct ctl_tail_args a = { .t = &t };
	struct pinshm_obj_info oi;
	struct pinshm_region *r;
	char ctx[160];
	const struct ctl_ring_type *rt;
	int ret, err, access;

	ret = ctl_parse(c, argc, argv, ctl_tail_opt, &a);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = ctl_operands(c, argc, argv, need, 2);
	if (ret)
		return ret;
	if (a.producers_given && !t.check)
		return ctl_usage_error(c, "--producers needs --check-seq");
	snprintf(ctx, sizeof(ctx), "tail %s/%s", argv[optind], argv[optind + 1]);
	t.ctx = ctx;

	/*
	 * The ring's type decides the access: a consumer (spsc, mpsc) writes
	 * the ring, a bcast or slot reader needs only a read-only mapping. So
	 * look first with an observer (no attach left behind), then open.
	 */
	ret = ctl_open_ring(ctx, argv[optind], argv[optind + 1], PINSHM_OBSERVE, &r, &oi);
	if (ret)
		return ret;
	rt = ctl_ring_type(ctx, oi.type);
	access = !rt ? 0 : rt->tail_access_of ? rt->tail_access_of(r, oi.name) :
		 rt->tail_access;
	pinshm_region_close(r);
	if (!rt)
		return -EOPNOTSUPP;
	if (t.merge && rt->type != PINSHM_OBJ_FANIN) {
		ctl_errorf("%s: --merge takes the lanes of a fanin ring; this one is %s", ctx,
			   pinshm_obj_type_name(rt->type));
		return -EINVAL;
	}
	t.kind = rt->kind;
	t.prod = calloc(t.producers, sizeof(*t.prod));
	if (!t.prod)
		return ctl_fail(ctx, -ENOMEM, CTL_OBJECT);
	/*
	 * A big buffer into a file or pipe, unless the environment chose the
	 * buffering (stdbuf(1) sets it before main and says so in _STDBUF_O)
	 * or stdout is line-buffered already.
	 */
	if (!isatty(STDOUT_FILENO) && !getenv("_STDBUF_O") && !__flbf(stdout))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	ctl_install_signals();
	ret = ctl_open_ring(ctx, argv[optind], argv[optind + 1], access, &r, &oi);
	if (ret) {
		free(t.prod);
		return ret;
	}
	/* The same type as above: an object's type never changes. */
	err = rt->tail(&t, r, oi.name);
	ret = pinshm_region_close(r);
	if (ret && !err)
		err = ctl_fail(ctx, ret, CTL_REGION);
	/* Nothing was read when the role could not be taken: no summary. */
	if (t.t_last)
		ctl_tail_summary(&t);
	free(t.prod);
	if (!err && t.problems)
		err = -EBADMSG;	/* each one said why */
	return err;
}
