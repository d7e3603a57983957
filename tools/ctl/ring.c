// SPDX-License-Identifier: MIT
/*
 * pinshm(1): ring commands — ring add, pub, tail.
 *
 * The --seq record format (payload of one ring record, native endian):
 *
 *   0   u32 magic      CTL_SEQ_MAGIC
 *   4   u32 id         producer id (pub --id)
 *   8   u64 seq        1, 2, 3, ...
 *   16  u32 len        payload length, equal to the ring record's length
 *   20  u32 flags      0
 *   24  filler         bytes derived from (seq, id, offset)
 *   L-8 u32 len        the length again (the trailer)
 *   L-4 u32 hash       of bytes [0, L-8)
 *
 * and the ring record's type is CTL_SEQ_TYPE. tail --check-seq checks the
 * type, magic, all three lengths and the hash: a record assembled from
 * bytes of two different writes (a torn record) fails at least one.
 *
 * Resuming `pub --seq` after a crash. The sequence number of the last
 * committed record is kept in the ring itself: after pinshm_spsc_attach()
 * takes over the producer role, pinshm_spsc_last() reads back the last
 * published record, and we accept it only when its type, magic, lengths
 * and hash all agree. The library keeps that record intact even when it
 * has been consumed (the consumer zeroes released records one behind,
 * and a producer never writes past zeroed + capacity), so nothing else is
 * needed: no shared word to keep in step with the commit.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define CTL_SEQ_MAGIC	0x31515350U	/* "PSQ1" */
#define CTL_SEQ_TYPE	0x51455350U	/* record type "PSEQ" */
#define CTL_SEQ_HDR	24u
#define CTL_SEQ_TRAILER	8u
#define CTL_SEQ_MIN	(CTL_SEQ_HDR + CTL_SEQ_TRAILER)

struct ctl_seq_hdr {
	uint32_t magic;
	uint32_t id;
	uint64_t seq;
	uint32_t len;
	uint32_t flags;
};

_Static_assert(sizeof(struct ctl_seq_hdr) == CTL_SEQ_HDR, "seq header size");

/* 64-bit FNV-style hash over 8-byte words, folded to 32 bits. */
static uint32_t ctl_seq_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL, w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* Build a --seq payload of len bytes (len >= CTL_SEQ_MIN) into p. */
static void ctl_seq_fill(uint8_t *p, uint32_t len, uint32_t id, uint64_t seq, bool corrupt)
{
	struct ctl_seq_hdr h = {
		.magic = CTL_SEQ_MAGIC, .id = id, .seq = seq, .len = len, .flags = 0,
	};
	uint64_t x = (seq * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)id << 48);
	uint32_t i, hash;

	memcpy(p, &h, sizeof(h));
	for (i = CTL_SEQ_HDR; i < len - CTL_SEQ_TRAILER; i++)
		p[i] = (uint8_t)(x >> ((i & 7) * 8)) ^ (uint8_t)i;
	hash = ctl_seq_hash(p, len - CTL_SEQ_TRAILER);
	if (corrupt)
		hash ^= 0x5a5a5a5a;
	memcpy(p + len - 8, &len, 4);
	memcpy(p + len - 4, &hash, 4);
}

/*
 * Check a --seq payload. Returns 0 and fills *h, or writes why it is bad
 * into why and returns -EBADMSG.
 */
static int ctl_seq_check(const uint8_t *p, uint32_t len, uint32_t type,
			 struct ctl_seq_hdr *h, char *why, size_t whylen)
{
	uint32_t tlen, thash;

	if (type != CTL_SEQ_TYPE) {
		snprintf(why, whylen, "record of type 0x%x is not a pub --seq record", type);
		return -EBADMSG;
	}
	if (len < CTL_SEQ_MIN) {
		snprintf(why, whylen, "torn record: length %u below the minimum %u", len,
			 CTL_SEQ_MIN);
		return -EBADMSG;
	}
	memcpy(h, p, sizeof(*h));
	memcpy(&tlen, p + len - 8, 4);
	memcpy(&thash, p + len - 4, 4);
	if (h->magic != CTL_SEQ_MAGIC) {
		snprintf(why, whylen, "torn record: bad magic 0x%08x", h->magic);
		return -EBADMSG;
	}
	if (h->len != len || tlen != len) {
		snprintf(why, whylen,
			 "torn record (seq %" PRIu64 "?): wrong length: record %u, header %u, trailer %u",
			 h->seq, len, h->len, tlen);
		return -EBADMSG;
	}
	if (ctl_seq_hash(p, len - CTL_SEQ_TRAILER) != thash) {
		snprintf(why, whylen, "torn record (seq %" PRIu64 "?): bad checksum", h->seq);
		return -EBADMSG;
	}
	return 0;
}

/*
 * The last published record of a freshly attached producer, when it is a
 * --seq record (see the top comment). Returns 0 with *h filled and *size
 * its record size, -ENOENT when the ring never held a record, -ENOMSG when
 * the last record is not a --seq record, -EBADMSG when it is one but does
 * not check out (then resuming could duplicate or skip: refuse).
 */
static int ctl_seq_find_last(struct pinshm_spsc *ring, struct ctl_seq_hdr *h,
			     char *why, size_t whylen)
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

/* ------------------------------------------------------------------ */

static int ctl_role_fail(const char *ctx, struct pinshm_region *r, const char *ring,
			 int role, int err)
{
	struct pinshm_ring_stats st;
	const char *who = role == PINSHM_PRODUCER ? "producer" : "consumer";

	if (err == -EBUSY) {
		uint32_t pid = 0;

		if (!pinshm_obj_stats(r, ring, &st))
			pid = role == PINSHM_PRODUCER ? st.producer_pid : st.consumer_pid;
		if (pid)
			ctl_errorf("%s: the %s role is held by live process %u", ctx, who, pid);
		else
			ctl_errorf("%s: the %s role is held by another live process", ctx, who);
		return CTL_EXIT_FAIL;
	}
	if (err == -ENOENT) {
		struct pinshm_obj_info oi;

		/* Is it the ring, or something of another type? */
		if (pinshm_obj_find(r, ring, &oi) == 0 && oi.type != PINSHM_OBJ_SPSC) {
			const char *tn = pinshm_obj_type_name(oi.type);

			ctl_errorf("%s: %s rings are not supported yet", ctx, tn ? tn : "such");
			return CTL_EXIT_FAIL;
		}
	}
	return ctl_fail(ctx, err, CTL_ROLE);
}

/* Open NAME read-write and take a role of RING in it. */
static int ctl_attach(const char *ctx, const char *name, const char *ring_name, int role,
		      struct pinshm_region **r, struct pinshm_spsc *ring)
{
	struct pinshm_obj_info oi;
	int ret;

	if (!pinshm_obj_name_valid(ring_name)) {
		ctl_errorf("%s: %s", ctx, ctl_obj_name_rule());
		return CTL_EXIT_FAIL;
	}
	ret = ctl_open_region(name, PINSHM_RDWR, r);
	if (ret == -EINVAL) {
		ctl_errorf("%s: %s", ctx, ctl_name_rule());
		return CTL_EXIT_FAIL;
	}
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	ret = pinshm_obj_find(*r, ring_name, &oi);
	if (ret == 0 && oi.type != PINSHM_OBJ_SPSC) {
		const char *tn = pinshm_obj_type_name(oi.type);

		ctl_errorf("%s: %s rings are not supported yet", ctx, tn ? tn : "such");
		pinshm_region_close(*r);
		return CTL_EXIT_FAIL;
	}
	ret = pinshm_spsc_attach(*r, ring_name, role, ring);
	if (ret) {
		ret = ctl_role_fail(ctx, *r, ring_name, role, ret);
		pinshm_region_close(*r);
		return ret;
	}
	return -1;	/* attached */
}

/* ------------------------------------------------------------------ */

int cmd_ring(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "max-record", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c = ctl_find_cmd("ring");
	const char *type_arg = NULL, *cap_arg = NULL, *name, *ring;
	uint64_t cap = 0, maxrec = 0;
	struct pinshm_region *r;
	char ctx[160], b1[32];
	int opt, ret, type;

	while ((opt = getopt_long(argc, argv, ":t:c:r:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			type_arg = optarg;
			break;
		case 'c':
			cap_arg = optarg;
			if (ctl_parse_size(optarg, &cap))
				return ctl_usage_error(c, "bad --capacity '%s' (bytes, K/M/G suffix)",
						       optarg);
			break;
		case 'r':
			if (ctl_parse_size(optarg, &maxrec))
				return ctl_usage_error(c, "bad --max-record '%s' (bytes, K/M/G suffix)",
						       optarg);
			break;
		case 'h':
			ctl_print_help(c);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage_error(c, "missing subcommand (add)");
	if (strcmp(argv[optind], "add"))
		return ctl_usage_error(c, "unknown subcommand '%s' (add)", argv[optind]);
	if (argc - optind < 3)
		return ctl_usage_error(c, "missing %s", argc - optind < 2 ? "region NAME and RING"
									  : "RING");
	if (argc - optind > 3)
		return ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 3]);
	name = argv[optind + 1];
	ring = argv[optind + 2];
	if (!type_arg)
		return ctl_usage_error(c, "missing --type");
	type = pinshm_obj_type_parse(type_arg);
	if (type < 0)
		return ctl_usage_error(c, "unknown --type '%s' (spsc, mpsc, bcast or slot)",
				       type_arg);
	if (!cap_arg)
		return ctl_usage_error(c, "missing --capacity");

	snprintf(ctx, sizeof(ctx), "ring add %s/%s", name, ring);
	if (!pinshm_name_valid(name)) {
		ctl_errorf("%s: %s", ctx, ctl_name_rule());
		return CTL_EXIT_FAIL;
	}
	if (!pinshm_obj_name_valid(ring)) {
		ctl_errorf("%s: %s", ctx, ctl_obj_name_rule());
		return CTL_EXIT_FAIL;
	}
	if (type != PINSHM_OBJ_SPSC) {
		ctl_errorf("%s: %s rings are not supported yet", ctx, type_arg);
		return CTL_EXIT_FAIL;
	}
	if (!ctl_is_power_of_two(cap) || cap < 1024) {
		ctl_errorf("%s: invalid capacity %s (a power of two, at least 1K)", ctx, cap_arg);
		return CTL_EXIT_FAIL;
	}
	if (maxrec && (3 * (maxrec + 16) > cap || maxrec > PINSHM_REC_LEN_MASK)) {
		ctl_errorf("%s: invalid max record %" PRIu64 " (at most %" PRIu64
			   " for capacity %s: 3 * (max_record + 16) <= capacity)", ctx, maxrec,
			   cap / 3 - 16, ctl_fmt_size(cap, b1, sizeof(b1)));
		return CTL_EXIT_FAIL;
	}

	ret = ctl_open_region(name, PINSHM_RDWR, &r);
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	ret = pinshm_spsc_create(r, ring, cap, maxrec);
	pinshm_region_close(r);
	if (ret == -EEXIST) {
		ctl_errorf("%s: ring exists (an object of that name is in the region)", ctx);
		return CTL_EXIT_FAIL;
	}
	if (ret)
		return ctl_fail(ctx, ret, CTL_OBJ_CREATE);
	return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------ */

/* Wait until the absolute CLOCK_MONOTONIC time t (ns). */
static void ctl_pace(uint64_t t)
{
	uint64_t now = ctl_now_ns();
	struct timespec ts;

	if (now >= t)
		return;
	if (t - now > 200000) {
		/* Sleep most of it, spin the rest: clock_nanosleep oversleeps. */
		uint64_t wake = t - 50000;

		ts.tv_sec = (time_t)(wake / 1000000000ULL);
		ts.tv_nsec = (long)(wake % 1000000000ULL);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	while (!ctl_stop && ctl_now_ns() < t)
		pinshm_cpu_relax();
}

struct ctl_pub {
	uint64_t count;
	double rate;
	uint64_t size;
	bool seq;
	bool quiet;
	uint32_t id;
	uint64_t skip_seq, dup_seq, corrupt_seq;
};

/* Claim room for len bytes, waiting while the ring is full. */
static int ctl_claim(struct pinshm_spsc *ring, uint32_t len, void **dst)
{
	unsigned int spins = 0;
	int ret;

	while ((ret = pinshm_spsc_claim(ring, len, dst)) == -EAGAIN) {
		if (ctl_stop)
			return -EINTR;
		__pinshm_wait_step(PINSHM_WAIT_YIELD, &spins);
	}
	return ret;
}

static int ctl_pub_run(const char *ctx, struct pinshm_spsc *ring, const struct ctl_pub *o)
{
	uint64_t first = 1, last_done = 0, sent = 0, i, seq, t0, t1;
	uint32_t len = (uint32_t)o->size;
	struct ctl_seq_hdr lh;
	uint8_t *msg;
	char b1[32], b2[32], why[256] = "";
	int ret, err = 0, reps;
	void *dst;

	if (o->size > ring->max_record) {
		ctl_errorf("%s: --size %" PRIu64 " above the ring's max record %" PRIu64, ctx,
			   o->size, ring->max_record);
		return CTL_EXIT_FAIL;
	}
	if (o->seq) {
		ret = ctl_seq_find_last(ring, &lh, why, sizeof(why));
		if (ret == 0 && lh.id == o->id) {
			first = lh.seq + 1;
			if (!o->quiet)
				fprintf(stderr, "pinshm: %s: producer %u resumes after seq %" PRIu64 "\n",
					ctx, o->id, lh.seq);
		} else if (ret == 0) {
			ctl_warnf("%s: the last record in the ring is from producer %u; "
				  "producer %u starts at seq 1", ctx, lh.id, o->id);
		} else if (ret == -ENOMSG) {
			ctl_warnf("%s: the last record in the ring is not a pub --seq record; "
				  "starting at seq 1", ctx);
		} else if (ret == -EBADMSG && why[0]) {
			ctl_errorf("%s: cannot resume: last record in the ring: %s", ctx, why);
			return CTL_EXIT_FAIL;
		} else if (ret != -ENOENT) {
			return ctl_fail(ctx, ret, CTL_OBJECT);
		}
	}

	msg = calloc(1, o->size ? o->size : 1);
	if (!msg)
		return ctl_fail(ctx, -ENOMEM, CTL_OBJECT);
	for (i = 0; i < o->size; i++)
		msg[i] = (uint8_t)("pinshm "[i % 7]);

	t0 = ctl_now_ns();
	for (i = 0, seq = first; !ctl_stop; i++, seq++) {
		if (o->seq ? (o->count && seq > o->count) : (o->count && i >= o->count))
			break;
		if (o->seq && seq == o->skip_seq)
			continue;
		if (o->rate > 0)
			ctl_pace(t0 + (uint64_t)((double)sent * 1e9 / o->rate));
		for (reps = (o->seq && seq == o->dup_seq) ? 2 : 1; reps > 0; reps--) {
			ret = ctl_claim(ring, len, &dst);
			if (ret == -EINTR)
				goto out;
			if (ret) {
				err = ctl_fail(ctx, ret, CTL_OBJECT);
				goto out;
			}
			if (o->seq) {
				ctl_seq_fill(dst, len, o->id, seq, seq == o->corrupt_seq);
				pinshm_spsc_commit(ring, len, CTL_SEQ_TYPE);
			} else {
				memcpy(dst, msg, len);
				if (len >= 8)
					memcpy(dst, &i, 8);
				pinshm_spsc_commit(ring, len, 0);
			}
			sent++;
		}
		last_done = seq;
	}
out:
	t1 = ctl_now_ns();
	free(msg);
	if (!o->quiet) {
		double secs = (double)(t1 - t0) / 1e9;

		fprintf(stderr, "pinshm: %s: %" PRIu64 " message%s of %" PRIu64 " bytes in %.3f s "
			"(%s msg/s, %s B/s)", ctx, sent, sent == 1 ? "" : "s", o->size, secs,
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

int cmd_pub(int argc, char **argv)
{
	enum { OPT_SKIP = 256, OPT_DUP, OPT_CORRUPT };
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "seq", no_argument, NULL, 'S' },
		{ "id", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "skip-seq", required_argument, NULL, OPT_SKIP },
		{ "dup-seq", required_argument, NULL, OPT_DUP },
		{ "corrupt-seq", required_argument, NULL, OPT_CORRUPT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c = ctl_find_cmd("pub");
	struct ctl_pub o = { .count = 1, .size = 64 };
	struct pinshm_region *r;
	struct pinshm_spsc ring;
	uint64_t v;
	char ctx[160];
	int opt, ret, err;

	while ((opt = getopt_long(argc, argv, ":n:r:s:Si:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (ctl_parse_u64(optarg, &o.count))
				return ctl_usage_error(c, "bad --count '%s'", optarg);
			break;
		case 'r':
			if (ctl_parse_double(optarg, &o.rate) || o.rate <= 0)
				return ctl_usage_error(c, "bad --rate '%s' (messages per second, > 0)",
						       optarg);
			break;
		case 's':
			if (ctl_parse_size(optarg, &o.size))
				return ctl_usage_error(c, "bad --size '%s' (bytes, K suffix)", optarg);
			break;
		case 'S':
			o.seq = true;
			break;
		case 'i':
			if (ctl_parse_u64(optarg, &v) || v > UINT32_MAX)
				return ctl_usage_error(c, "bad --id '%s' (0..4294967295)", optarg);
			o.id = (uint32_t)v;
			break;
		case 'q':
			o.quiet = true;
			break;
		case OPT_SKIP:
		case OPT_DUP:
		case OPT_CORRUPT:
			if (ctl_parse_u64(optarg, &v) || !v)
				return ctl_usage_error(c, "bad %s '%s' (a sequence number >= 1)",
						       argv[optind - 1], optarg);
			if (opt == OPT_SKIP)
				o.skip_seq = v;
			else if (opt == OPT_DUP)
				o.dup_seq = v;
			else
				o.corrupt_seq = v;
			break;
		case 'h':
			ctl_print_help(c);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	if (argc - optind < 2)
		return ctl_usage_error(c, "missing %s", argc - optind < 1 ? "region NAME and RING"
									  : "RING");
	if (argc - optind > 2)
		return ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 2]);
	if ((o.skip_seq || o.dup_seq || o.corrupt_seq) && !o.seq)
		return ctl_usage_error(c, "--skip-seq, --dup-seq and --corrupt-seq need --seq");
	snprintf(ctx, sizeof(ctx), "pub %s/%s", argv[optind], argv[optind + 1]);
	if (o.seq && o.size < CTL_SEQ_MIN) {
		ctl_errorf("%s: --size %" PRIu64 " too small for --seq records (at least %u)", ctx,
			   o.size, CTL_SEQ_MIN);
		return CTL_EXIT_FAIL;
	}
	if (o.size > PINSHM_REC_LEN_MASK) {
		ctl_errorf("%s: --size %" PRIu64 " too large", ctx, o.size);
		return CTL_EXIT_FAIL;
	}

	ctl_install_signals();
	ret = ctl_attach(ctx, argv[optind], argv[optind + 1], PINSHM_PRODUCER, &r, &ring);
	if (ret >= 0)
		return ret;
	err = ctl_pub_run(ctx, &ring, &o);
	ret = pinshm_spsc_detach(&ring);
	if (ret && !err)
		err = ctl_fail(ctx, ret, CTL_ROLE);
	ret = pinshm_region_close(r);
	if (ret && !err)
		err = ctl_fail(ctx, ret, CTL_REGION);
	return err;
}

/* ------------------------------------------------------------------ */

struct ctl_prod {
	uint64_t last;		/* highest seq seen */
	uint64_t first;		/* first seq seen */
	uint64_t records;
	bool seen;
};

struct ctl_tail {
	const char *ctx;
	uint64_t count;
	uint32_t producers;
	bool check, hex, quiet;
	bool fresh;		/* ring never consumed before: seqs start at 1 */

	uint64_t records;
	uint64_t problems;
	uint32_t done_producers;
	struct ctl_prod *prod;
	uint64_t t_first, t_last;
};

static void ctl_problem(struct ctl_tail *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ctl_problem(struct ctl_tail *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	t->problems++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fflush(stdout);
	ctl_errorf("%s: %s", t->ctx, line);
}

static void ctl_hexdump(const uint8_t *p, uint32_t len)
{
	uint32_t i, j;

	for (i = 0; i < len; i += 16) {
		printf("  %06x ", i);
		for (j = i; j < i + 16; j++) {
			if (j < len)
				printf(" %02x", p[j]);
			else
				fputs("   ", stdout);
		}
		fputs("  |", stdout);
		for (j = i; j < i + 16 && j < len; j++)
			putchar(p[j] >= 0x20 && p[j] < 0x7f ? p[j] : '.');
		fputs("|\n", stdout);
	}
}

/* Print and check one record. */
static void ctl_tail_record(struct ctl_tail *t, const struct pinshm_msg *m)
{
	const uint8_t *p = m->data;
	struct ctl_seq_hdr h;
	struct ctl_prod *pr;
	char why[256];
	bool valid;

	t->records++;
	valid = !ctl_seq_check(p, m->len, m->type, &h, why, sizeof(why));
	if (!t->quiet) {
		if (valid)
			printf("id=%u seq=%" PRIu64 " len=%u\n", h.id, h.seq, m->len);
		else
			printf("len=%u type=%u\n", m->len, m->type);
		if (t->hex)
			ctl_hexdump(p, m->len);
	}
	if (!t->check)
		return;

	if (!valid) {
		ctl_problem(t, "record %" PRIu64 ": %s", t->records, why);
		return;
	}
	if (h.id >= t->producers) {
		ctl_problem(t, "producer %u: unexpected producer id (--producers %u)", h.id,
			    t->producers);
		return;
	}
	pr = &t->prod[h.id];
	pr->records++;
	if (!pr->seen) {
		pr->seen = true;
		pr->first = h.seq;
		if (t->fresh && h.seq != 1)
			ctl_problem(t, "producer %u: gap: expected seq 1, got %" PRIu64, h.id, h.seq);
		else if (!t->fresh && h.seq != 1 && !t->quiet)
			fprintf(stderr, "pinshm: %s: producer %u: first seq %" PRIu64
				" (the ring was consumed before)\n", t->ctx, h.id, h.seq);
		pr->last = h.seq;
	} else if (h.seq == pr->last + 1) {
		pr->last = h.seq;
	} else if (h.seq > pr->last + 1) {
		ctl_problem(t, "producer %u: gap: expected seq %" PRIu64 ", got %" PRIu64, h.id,
			    pr->last + 1, h.seq);
		pr->last = h.seq;
	} else if (h.seq == pr->last) {
		ctl_problem(t, "producer %u: duplicate: seq %" PRIu64 " twice", h.id, h.seq);
	} else {
		ctl_problem(t, "producer %u: out of order: seq %" PRIu64 " after %" PRIu64, h.id,
			    h.seq, pr->last);
	}
}

static bool ctl_tail_done(struct ctl_tail *t)
{
	uint32_t i;

	if (!t->count)
		return false;
	if (!t->check)
		return t->records >= t->count;
	for (i = 0; i < t->producers; i++)
		if (!t->prod[i].seen || t->prod[i].last < t->count)
			return false;
	return true;
}

static void ctl_idle(uint64_t *idle_since, unsigned int *spins)
{
	uint64_t now;

	if (*spins < PINSHM_YIELD_SPINS) {
		__pinshm_wait_step(PINSHM_WAIT_YIELD, spins);
		return;
	}
	now = ctl_now_ns();
	if (!*idle_since)
		*idle_since = now;
	if (now - *idle_since < 100000000ULL) {
		sched_yield();
	} else {
		/* Idle for a while: do not burn a CPU, poll every 200 us. */
		struct timespec ts = { 0, 200000 };

		nanosleep(&ts, NULL);
	}
}

static int ctl_tail_run(struct ctl_tail *t, struct pinshm_spsc *ring)
{
	struct pinshm_msg m;
	uint64_t idle_since = 0;
	unsigned int spins = 0, batch = 0;
	bool dirty = false, done = false;
	int ret, err = 0;

	while (!done && !ctl_stop) {
		ret = pinshm_spsc_peek(ring, &m);
		if (ret == -EAGAIN) {
			if (batch) {
				pinshm_spsc_release(ring);
				batch = 0;
			}
			if (dirty) {
				fflush(stdout);
				dirty = false;
			}
			ctl_idle(&idle_since, &spins);
			continue;
		}
		if (ret) {
			pinshm_spsc_release(ring);
			err = ctl_fail(t->ctx, ret, CTL_OBJECT);
			break;
		}
		spins = 0;
		idle_since = 0;
		if (!t->t_first)
			t->t_first = ctl_now_ns();
		ctl_tail_record(t, &m);
		dirty = !t->quiet;
		/* The first problem ends a --check-seq run: nothing can hang on it. */
		done = t->problems || ctl_tail_done(t);
		if (++batch >= 64) {
			pinshm_spsc_release(ring);
			batch = 0;
			if (ferror(stdout))
				break;
		}
	}
	pinshm_spsc_release(ring);
	t->t_last = ctl_now_ns();
	if ((fflush(stdout) || ferror(stdout)) && !err) {
		/* `pinshm tail ... | head` is a normal way to stop. */
		if (errno == EPIPE)
			return 0;
		ctl_errorf("%s: writing output: %s", t->ctx, strerror(errno));
		err = CTL_EXIT_FAIL;
	}
	return err;
}

static void ctl_tail_summary(const struct ctl_tail *t)
{
	double secs = t->t_first ? (double)(t->t_last - t->t_first) / 1e9 : 0;
	char b1[32];
	uint32_t i;

	fprintf(stderr, "pinshm: %s: %" PRIu64 " record%s in %.3f s (%s/s)", t->ctx, t->records,
		t->records == 1 ? "" : "s", secs,
		ctl_fmt_rate(secs > 0 ? (double)t->records / secs : 0, b1, sizeof(b1)));
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

int cmd_tail(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "check-seq", no_argument, NULL, 'c' },
		{ "producers", required_argument, NULL, 'p' },
		{ "hex", no_argument, NULL, 'x' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c = ctl_find_cmd("tail");
	struct ctl_tail t = { .producers = 1 };
	struct pinshm_region *r;
	struct pinshm_spsc ring;
	bool producers_given = false;
	uint64_t v;
	char ctx[160];
	int opt, ret, err;

	while ((opt = getopt_long(argc, argv, ":n:cp:xqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (ctl_parse_u64(optarg, &t.count))
				return ctl_usage_error(c, "bad --count '%s'", optarg);
			break;
		case 'c':
			t.check = true;
			break;
		case 'p':
			if (ctl_parse_u64(optarg, &v) || v < 1 || v > 65536)
				return ctl_usage_error(c, "bad --producers '%s' (1..65536)", optarg);
			t.producers = (uint32_t)v;
			producers_given = true;
			break;
		case 'x':
			t.hex = true;
			break;
		case 'q':
			t.quiet = true;
			break;
		case 'h':
			ctl_print_help(c);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	if (argc - optind < 2)
		return ctl_usage_error(c, "missing %s", argc - optind < 1 ? "region NAME and RING"
									  : "RING");
	if (argc - optind > 2)
		return ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 2]);
	if (producers_given && !t.check)
		return ctl_usage_error(c, "--producers needs --check-seq");
	snprintf(ctx, sizeof(ctx), "tail %s/%s", argv[optind], argv[optind + 1]);
	t.ctx = ctx;
	t.prod = calloc(t.producers, sizeof(*t.prod));
	if (!t.prod)
		return ctl_fail(ctx, -ENOMEM, CTL_OBJECT);
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	ctl_install_signals();
	ret = ctl_attach(ctx, argv[optind], argv[optind + 1], PINSHM_CONSUMER, &r, &ring);
	if (ret >= 0) {
		free(t.prod);
		return ret;
	}
	t.fresh = ring.head == 0;
	err = ctl_tail_run(&t, &ring);
	ret = pinshm_spsc_detach(&ring);
	if (ret && !err)
		err = ctl_fail(ctx, ret, CTL_ROLE);
	ret = pinshm_region_close(r);
	if (ret && !err)
		err = ctl_fail(ctx, ret, CTL_REGION);
	ctl_tail_summary(&t);
	free(t.prod);
	if (!err && t.problems)
		err = CTL_EXIT_FAIL;
	return err;
}
