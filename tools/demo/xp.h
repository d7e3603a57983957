/* SPDX-License-Identifier: MIT */
/*
 * pinshm-demo: how the transports plug in behind trade.h.
 *
 * Each transport (xp_pinshm.c, xp_sock.c) fills one struct tr_xp_ops.
 * xp.c defines trade.h's tr_* functions: tr_setup, tr_teardown,
 * tr_describe and tr_io_open pick the table from cfg.transport; every
 * call on an open io goes through io->ops, the table that opened it.
 * A transport's own io struct embeds struct tr_io as its first member:
 *
 *	struct xp_sock_io { struct tr_io io; ... };
 *	static struct xp_sock_io *sock_io(struct tr_io *io)
 *	{ return container_of(io, struct xp_sock_io, io); }
 *
 * xp.c also holds what both transports need to know about the links:
 * their kind, names, who produces and who consumes each, producer ids.
 */
#ifndef PINSHM_DEMO_XP_H
#define PINSHM_DEMO_XP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trade.h"

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

struct tr_xp_ops {
	const char *name;		/* "pinshm", "unix", "tcp" */
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

/*
 * Every transport's io starts with this. tr_io_open sets ops after the
 * transport's io_open; sh and proc are the transport's to set and use.
 */
struct tr_io {
	const struct tr_xp_ops *ops;
	struct tr_shared *sh;
	int proc;			/* enum tr_proc */
};

extern const struct tr_xp_ops xp_pinshm_ops;	/* xp_pinshm.c */
extern const struct tr_xp_ops xp_sock_ops;	/* xp_sock.c: unix, tcp */

/* The table cfg.transport selects; NULL for an unknown transport. */
const struct tr_xp_ops *tr_xp_ops(const struct tr_cfg *cfg);

/* The same, for a run (never NULL: the sockets' table for non-pinshm). */
const struct tr_xp_ops *xp_ops(const struct tr_shared *sh);

/* ---- the links ---------------------------------------------------------- */

enum tr_link_kind { LK_BCAST, LK_MPSC, LK_SPSC, LK_SLOT };

enum tr_link_kind tr_link_kind(int link);

/* "ticks", "risk.in", "oms.in", "exec.in", "log", "rpt.S", "pos.S", "book.I". */
const char *tr_link_name(int link, char *buf, size_t len);

/* "md", "risk", "oms", "exec", "log", "strat.S" (a static string). */
const char *tr_proc_name(int proc);

/* The link exists in this run (rpt.S and pos.S only for S < strategies). */
bool tr_link_used(const struct tr_cfg *cfg, int link);

/* The process exists in this run (strategies below cfg.strategies). */
bool tr_proc_used(const struct tr_cfg *cfg, int proc);

/*
 * proc commits records on link (or writes the slot). The logger produces
 * on no link: it writes its own lines to the file.
 */
bool tr_proc_produces(const struct tr_cfg *cfg, int proc, int link);

/*
 * proc reads link (peeks, or reads the slot). On ticks: the strategies
 * (the sockets transport also feeds exec's book from them).
 */
bool tr_proc_consumes(const struct tr_cfg *cfg, int proc, int link);

/*
 * proc's producer id on an MPSC link (see trade.h), or -1 when proc does
 * not produce on it. On SPSC links and slots 0.
 */
int tr_producer_id(int link, int proc);

/* The consumer of an MPSC or SPSC link or slot; -1 for the ticks. */
int tr_link_consumer(int link);

/* The single producer of an SPSC link, slot or the ticks; -1 for MPSC. */
int tr_link_producer(int link);

#endif /* PINSHM_DEMO_XP_H */
