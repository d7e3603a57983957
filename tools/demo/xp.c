// SPDX-License-Identifier: MIT
/*
 * trade.h's transport calls, dispatched to the table of the run's
 * transport (xp.h). One indirect call per message: the io handle carries
 * its table, so no lookup on the per-message path.
 */
#include <errno.h>

#include "xp.h"

const struct tr_xp_ops *xp_ops(const struct tr_shared *sh)
{
	return sh->cfg.transport == T_PINSHM ? &xp_pinshm_ops : &xp_sock_ops;
}

int tr_setup(struct tr_shared *sh)
{
	return xp_ops(sh)->setup(sh);
}

void tr_teardown(struct tr_shared *sh)
{
	xp_ops(sh)->teardown(sh);
}

const char *tr_describe(const struct tr_shared *sh, char *buf, size_t len)
{
	return xp_ops(sh)->describe(sh, buf, len);
}

int tr_io_open(struct tr_shared *sh, int proc, bool restarted,
	       struct tr_io **out)
{
	const struct tr_xp_ops *ops = xp_ops(sh);
	int ret;

	*out = NULL;
	ret = ops->io_open(sh, proc, restarted, out);
	if (ret == 0 && *out)
		(*out)->ops = ops;
	return ret;
}

void tr_io_close(struct tr_io *io)
{
	if (io)
		io->ops->io_close(io);
}

void *tr_claim(struct tr_io *io, int link)
{
	return io->ops->claim(io, link);
}

void tr_commit(struct tr_io *io, int link)
{
	io->ops->commit(io, link);
}

int tr_peek(struct tr_io *io, int link, const void **m, int64_t timeout_ns)
{
	return io->ops->peek(io, link, m, timeout_ns);
}

void tr_release(struct tr_io *io, int link)
{
	io->ops->release(io, link);
}

int tr_slot_write(struct tr_io *io, int link, const void *v, size_t len)
{
	return io->ops->slot_write(io, link, v, len);
}

int tr_slot_read(struct tr_io *io, int link, void *v, size_t len)
{
	return io->ops->slot_read(io, link, v, len);
}

int tr_last(struct tr_io *io, int link, uint64_t *word)
{
	return io->ops->last(io, link, word);
}
