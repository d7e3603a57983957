// SPDX-License-Identifier: MIT
/*
 * Objects of the directory by type: pinshm_obj_stats() hands each to its
 * ring's counters. dir.c knows entries, not rings; the rings call dir.c,
 * never the other way round.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

__pinshm_export int pinshm_obj_stats(const struct pinshm_region *r,
				     const char *name,
				     struct pinshm_ring_stats *out)
{
	struct pinshm_obj_info info;
	int ret;

	if (!r || !out)
		return -EINVAL;
	ret = __pinshm_dir_get(r, name, &info);
	if (ret)
		return ret;
	memset(out, 0, sizeof(*out));
	switch (info.type) {
	case PINSHM_OBJ_SPSC:
		return __pinshm_spsc_stats(r, name, out);
	case PINSHM_OBJ_BCAST:
		return __pinshm_bcast_stats(r, name, out);
	case PINSHM_OBJ_SLOT:
		return __pinshm_slot_stats(r, name, out);
	case PINSHM_OBJ_MPSC:
		return __pinshm_mpsc_stats(r, name, out);
	case PINSHM_OBJ_FANIN:
		return __pinshm_fanin_stats(r, name, out);
	}
	return -EOPNOTSUPP;
}
