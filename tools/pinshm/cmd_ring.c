// SPDX-License-Identifier: MIT
/*
 * pinshm(1): ring add, which adds a ring or a latest-value slot to a region.
 */
#include <errno.h>
#include <getopt.h>
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
	bool maxrec_given = false;
	struct pinshm_region *r;
	char ctx[160];
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
			maxrec_given = true;
			break;
		case 'h':
			ctl_print_help(c);
			return 0;
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
		return -EINVAL;
	}
	if (!pinshm_obj_name_valid(ring)) {
		ctl_errorf("%s: %s", ctx, ctl_obj_name_rule());
		return -EINVAL;
	}
	if (type != PINSHM_OBJ_SPSC && type != PINSHM_OBJ_MPSC && type != PINSHM_OBJ_BCAST &&
	    type != PINSHM_OBJ_SLOT) {
		ctl_errorf("%s: %s rings are not supported yet", ctx, type_arg);
		return -EOPNOTSUPP;
	}
	ret = ctl_ring_check(ctx, type, cap, cap_arg, maxrec, maxrec_given);
	if (ret)
		return ret;

	ret = ctl_open_region(name, PINSHM_RDWR, &r);
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	switch (type) {
	case PINSHM_OBJ_SPSC:
		ret = pinshm_spsc_create(r, ring, cap, maxrec);
		break;
	case PINSHM_OBJ_MPSC:
		ret = pinshm_mpsc_create(r, ring, cap, maxrec);
		break;
	case PINSHM_OBJ_BCAST:
		/* Default: 48-byte payloads, one 64-byte line per slot. */
		ret = pinshm_bcast_create(r, ring, cap,
					  maxrec_given ? (uint32_t)maxrec :
					  PINSHM_BCAST_SLOT_ALIGN - PINSHM_BCAST_SLOT_HDR);
		break;
	default:
		ret = pinshm_slot_create(r, ring, (uint32_t)cap);
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

