// SPDX-License-Identifier: MIT
/*
 * pinshm(1): ring add, which adds a ring or a latest-value slot to a region.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

/* Validate ring add's parameters for type; prints the error. */
static int ctl_ring_check(const char *ctx, int type, uint64_t cap, const char *cap_arg,
			  uint64_t maxrec, bool maxrec_given)
{
	char b1[32];

	switch (type) {
	case PINSHM_OBJ_FANIN:
		if (cap > (1ULL << 32)) {
			ctl_errorf("%s: invalid capacity %s (fanin: bytes per lane, a power of "
				   "two, 1K to 4G)", ctx, cap_arg);
			return -EINVAL;
		}
		/* each lane is an spsc ring */
		__attribute__((fallthrough));
	case PINSHM_OBJ_SPSC:
		if (!ctl_is_power_of_two(cap) || cap < 1024) {
			ctl_errorf("%s: invalid capacity %s (a power of two, at least 1K)", ctx,
				   cap_arg);
			return -EINVAL;
		}
		if (maxrec && (3 * (maxrec + 16) > cap || maxrec > PINSHM_REC_LEN_MASK)) {
			ctl_errorf("%s: invalid max record %" PRIu64 " (at most %" PRIu64
				   " for capacity %s: 3 * (max_record + 16) <= capacity)", ctx,
				   maxrec, cap / 3 - 16, ctl_fmt_size(cap, b1, sizeof(b1)));
			return -EINVAL;
		}
		break;
	case PINSHM_OBJ_MPSC:
		if (!ctl_is_power_of_two(cap) || cap < PINSHM_MPSC_MIN_CAP ||
		    cap > PINSHM_MPSC_MAX_CAP) {
			ctl_errorf("%s: invalid capacity %s (a power of two, 1K to 512M)", ctx,
				   cap_arg);
			return -EINVAL;
		}
		if (maxrec_given && (!maxrec || maxrec + 8 > cap / 2)) {
			ctl_errorf("%s: invalid max record %" PRIu64 " (1 to %" PRIu64
				   " for capacity %s: max_record + 8 <= capacity / 2)", ctx,
				   maxrec, cap / 2 - 8, ctl_fmt_size(cap, b1, sizeof(b1)));
			return -EINVAL;
		}
		break;
	case PINSHM_OBJ_BCAST:
		if (!ctl_is_power_of_two(cap) || cap < 2 || cap > PINSHM_BCAST_MAX_SLOTS) {
			ctl_errorf("%s: invalid capacity %s (bcast: a number of slots, a power "
				   "of two, 2 to 16M)", ctx, cap_arg);
			return -EINVAL;
		}
		if (maxrec_given && (!maxrec ||
				     maxrec > PINSHM_BCAST_MAX_SLOT - PINSHM_BCAST_SLOT_HDR)) {
			ctl_errorf("%s: invalid max record %" PRIu64 " (bcast: 1 to %u)", ctx,
				   maxrec, PINSHM_BCAST_MAX_SLOT - PINSHM_BCAST_SLOT_HDR);
			return -EINVAL;
		}
		break;
	case PINSHM_OBJ_SLOT:
		if (!cap || cap > PINSHM_SLOT_MAX_SIZE) {
			ctl_errorf("%s: invalid capacity %s (slot: the value size, 1 to 64K)", ctx,
				   cap_arg);
			return -EINVAL;
		}
		if (maxrec_given) {
			ctl_errorf("%s: --max-record does not apply to a slot (--capacity is its "
				   "value size)", ctx);
			return -EINVAL;
		}
		break;
	}
	return 0;
}

static const struct ctl_opt ctl_ring_opts[] = {
	{ "type", 't', "spsc|mpsc|fanin|bcast|slot", "the type, see above; required",
	  CTL_OPT_REQUIRED },
	{ "capacity", 'c', "SIZE", "see above; K, M, G suffixes; required", CTL_OPT_REQUIRED },
	{ "max-record", 'r', "SIZE", "largest payload (spsc, mpsc, fanin, bcast)", 0 },
	{ "lanes", 'l', "N", "fanin: producer lanes, 1 to 64 (default 8)", 0 },
	{ "lossless", 'L', NULL, "bcast: the writer waits for its registered readers", 0 },
	{ NULL },
};

const struct ctl_cmd ctl_cmd_ring = {
	.name = "ring", .run = cmd_ring, .args = "add NAME RING", .opts = ctl_ring_opts,
	.summary = "add a ring or a slot",
	.help =
	"Add a ring (or a latest-value slot) called RING to region NAME.\n"
	"\n"
	"Types, and what --capacity and --max-record mean for each:\n"
	"  spsc   one producer, one consumer, variable-length records.\n"
	"         capacity: ring bytes, a power of two, at least 1K; max record:\n"
	"         default capacity/4 - 16, with 3 * (max_record + 16) <= capacity\n"
	"  mpsc   up to 64 producers (ids 0..63), one consumer.\n"
	"         capacity: ring bytes, a power of two, 1K to 512M; max record:\n"
	"         default capacity/4 - 8, with max_record + 8 <= capacity / 2\n"
	"  fanin  up to 64 producers (ids 0..lanes-1, --lanes), one consumer; each\n"
	"         producer has a lane of its own (an spsc ring): FIFO per producer, no\n"
	"         order across producers (mpsc gives one order, at a shared tail's cost).\n"
	"         capacity: bytes per lane, as spsc; max record: as spsc\n"
	"  bcast  one writer, any number of readers at their own pace (the writer\n"
	"         never waits: a slow reader is lapped and loses records). With\n"
	"         --lossless, the writer waits for its slowest registered reader (up\n"
	"         to 16; tail registers) and nothing is lost; readers that cannot\n"
	"         write the region still read, lossily. Pick lossy for market data\n"
	"         that must never wait, lossless when every record must arrive.\n"
	"         capacity: the number of records kept (slots), a power of two, 2 to\n"
	"         16M; max record: payload per slot, 1 to 1M - 16, default 48 (one\n"
	"         64-byte line per record); rounded up to fill 64-byte lines\n"
	"  slot   the latest value only (a seqlock): one writer, any number of readers.\n"
	"         capacity: the value size, 1 to 64K; no --max-record\n",
	.examples =
	"  pinshm ring add md quotes --type spsc --capacity 1M\n"
	"  pinshm ring add md big --type spsc --capacity 64K --max-record 16K\n"
	"  pinshm ring add md orders --type mpsc --capacity 4M\n"
	"  pinshm ring add md fills --type fanin --lanes 4 --capacity 256K\n"
	"  pinshm ring add md feed --type bcast --capacity 64K\n"
	"  pinshm ring add md fills --type bcast --lossless --capacity 4K\n"
	"  pinshm ring add md book --type slot --capacity 256\n",
};

struct ctl_ring_args {
	const char *type_arg, *cap_arg;
	uint64_t cap, maxrec;
	bool maxrec_given;
	uint64_t lanes;
	bool lanes_given;
	bool lossless;
};

static int ctl_ring_opt(const struct ctl_cmd *c, const struct ctl_opt *opt, const char *arg,
			void *data)
{
	struct ctl_ring_args *a = data;

	switch (opt->key) {
	case 't':
		a->type_arg = arg;
		break;
	case 'c':
		a->cap_arg = arg;
		if (ctl_parse_size(arg, &a->cap))
			return ctl_usage_error(c, "bad --capacity '%s' (bytes, K/M/G suffix)", arg);
		break;
	case 'r':
		if (ctl_parse_size(arg, &a->maxrec))
			return ctl_usage_error(c, "bad --max-record '%s' (bytes, K/M/G suffix)",
					       arg);
		a->maxrec_given = true;
		break;
	case 'l':
		if (ctl_parse_size(arg, &a->lanes) || a->lanes < 1 ||
		    a->lanes > PINSHM_FANIN_LANES)
			return ctl_usage_error(c, "bad --lanes '%s' (1 to %d)", arg,
					       PINSHM_FANIN_LANES);
		a->lanes_given = true;
		break;
	case 'L':
		a->lossless = true;
		break;
	}
	return 0;
}

int cmd_ring(int argc, char **argv)
{
	static const char *const need[] = { "region NAME", "RING", NULL };
	const struct ctl_cmd *c = &ctl_cmd_ring;
	struct ctl_ring_args a = { .lanes = 8 };
	const char *name, *ring;
	struct pinshm_region *r;
	char ctx[160];
	int ret, type;

	ret = ctl_parse(c, argc, argv, ctl_ring_opt, &a);
	if (ret)
		return ret < 0 ? ret : 0;
	if (optind >= argc)
		return ctl_usage_error(c, "missing subcommand (add)");
	if (strcmp(argv[optind], "add"))
		return ctl_usage_error(c, "unknown subcommand '%s' (add)", argv[optind]);
	optind++;
	ret = ctl_operands(c, argc, argv, need, 2);
	if (ret)
		return ret;
	name = argv[optind];
	ring = argv[optind + 1];
	if (!a.type_arg)
		return ctl_usage_error(c, "missing --type");
	type = pinshm_obj_type_parse(a.type_arg);
	if (type < 0)
		return ctl_usage_error(c, "unknown --type '%s' (spsc, mpsc, fanin, bcast or slot)",
				       a.type_arg);
	if (!a.cap_arg)
		return ctl_usage_error(c, "missing --capacity");

	snprintf(ctx, sizeof(ctx), "ring add %s/%s", name, ring);
	if (!pinshm_name_valid(name)) {
		ctl_errorf("%s: %s", ctx, ctl_name_rule());
		return -EINVAL;
	}
	if (!pinshm_obj_name_valid(ring)) {
		ctl_errorf("%s: %s", ctx, ctl_obj_name_rule());
		return -EINVAL;
	}
	if (a.lanes_given && type != PINSHM_OBJ_FANIN)
		return ctl_usage_error(c, "--lanes is for fanin rings only");
	if (a.lossless && type != PINSHM_OBJ_BCAST)
		return ctl_usage_error(c, "--lossless is for bcast rings only");
	if (type != PINSHM_OBJ_SPSC && type != PINSHM_OBJ_MPSC && type != PINSHM_OBJ_BCAST &&
	    type != PINSHM_OBJ_SLOT && type != PINSHM_OBJ_FANIN) {
		ctl_errorf("%s: %s rings are not supported yet", ctx, a.type_arg);
		return -EOPNOTSUPP;
	}
	ret = ctl_ring_check(ctx, type, a.cap, a.cap_arg, a.maxrec, a.maxrec_given);
	if (ret)
		return ret;

	ret = ctl_open_region(name, PINSHM_RDWR, &r);
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	switch (type) {
	case PINSHM_OBJ_SPSC:
		ret = pinshm_spsc_create(r, ring, a.cap, a.maxrec);
		break;
	case PINSHM_OBJ_MPSC:
		ret = pinshm_mpsc_create(r, ring, a.cap, a.maxrec);
		break;
	case PINSHM_OBJ_FANIN:
		ret = pinshm_fanin_create(r, ring, (unsigned int)a.lanes, a.cap, a.maxrec);
		break;
	case PINSHM_OBJ_BCAST:
		/* Default: 48-byte payloads, one 64-byte line per slot. */
		ret = pinshm_bcast_create_flags(r, ring, a.cap,
						a.maxrec_given ? (uint32_t)a.maxrec :
						PINSHM_BCAST_SLOT_ALIGN -
						PINSHM_BCAST_SLOT_HDR,
						a.lossless ? PINSHM_BCAST_LOSSLESS : 0);
		break;
	default:
		ret = pinshm_slot_create(r, ring, (uint32_t)a.cap);
		break;
	}
	pinshm_region_close(r);
	if (ret == -EEXIST) {
		ctl_errorf("%s: ring exists (an object of that name is in the region)", ctx);
		return ret;
	}
	if (ret)
		return ctl_fail(ctx, ret, CTL_OBJ_CREATE);
	return 0;
}

