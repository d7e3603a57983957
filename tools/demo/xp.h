/* SPDX-License-Identifier: MIT */
/*
 * The transports behind trade.h's tr_* calls: one table of operations per
 * transport (xp_pinshm.c: pinshm rings; xp_sock.c: UNIX and TCP sockets),
 * chosen by cfg.transport. xp.c holds the tr_* entry points, which look
 * the table up (tr_setup, tr_teardown, tr_describe, tr_io_open) or find it
 * in the io handle, whose first member is struct tr_io.
 */
#ifndef PINSHM_DEMO_XP_H
#define PINSHM_DEMO_XP_H

#include "trade.h"

struct tr_xp_ops {
	const char *name;
	int (*setup)(struct tr_shared *sh);
	void (*teardown)(struct tr_shared *sh);
	const char *(*describe)(const struct tr_shared *sh, char *buf,
				size_t len);
	int (*io_open)(struct tr_shared *sh, int proc, bool restarted,
		       struct tr_io **out);
	void (*io_close)(struct tr_io *io);
	void *(*claim)(struct tr_io *io, int link);
	void (*commit)(struct tr_io *io, int link);
	int (*peek)(struct tr_io *io, int link, const void **m,
		    int64_t timeout_ns);
	void (*release)(struct tr_io *io, int link);
	int (*slot_write)(struct tr_io *io, int link, const void *v,
			  size_t len);
	int (*slot_read)(struct tr_io *io, int link, void *v, size_t len);
	int (*last)(struct tr_io *io, int link, uint64_t *word);
};

/* The head of every transport's io handle (its first member). */
struct tr_io {
	const struct tr_xp_ops *ops;
};

extern const struct tr_xp_ops xp_pinshm_ops;	/* xp_pinshm.c */
extern const struct tr_xp_ops xp_sock_ops;	/* xp_sock.c: T_UNIX, T_TCP */

/* The table of cfg.transport. */
const struct tr_xp_ops *xp_ops(const struct tr_shared *sh);

#endif /* PINSHM_DEMO_XP_H */
