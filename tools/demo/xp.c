// SPDX-License-Identifier: MIT
/*
 * pinshm-demo: trade.h's transport calls, dispatched to the transport the
 * run uses (see xp.h), and the facts about the links both transports use.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xp.h"

const struct tr_xp_ops *tr_xp_ops(const struct tr_cfg *cfg)
{
	switch (cfg->transport) {
	case T_PINSHM:
		return &xp_pinshm_ops;
	case T_UNIX:
	case T_TCP:
		return &xp_sock_ops;
	}
	return NULL;
}

const struct tr_xp_ops *xp_ops(const struct tr_shared *sh)
{
	return sh->cfg.transport == T_PINSHM ? &xp_pinshm_ops : &xp_sock_ops;
}

const char *tr_transport_name(enum tr_transport t)
{
	switch (t) {
	case T_PINSHM:
		return "pinshm";
	case T_UNIX:
		return "unix";
	case T_TCP:
		return "tcp";
	}
	return "?";
}

int tr_setup(struct tr_shared *sh)
{
	const struct tr_xp_ops *ops = tr_xp_ops(&sh->cfg);

	if (!ops)
		return -EINVAL;
	return ops->setup(sh);
}

void tr_teardown(struct tr_shared *sh)
{
	const struct tr_xp_ops *ops = tr_xp_ops(&sh->cfg);

	if (ops)
		ops->teardown(sh);
}

const char *tr_describe(const struct tr_shared *sh, char *buf, size_t len)
{
	const struct tr_xp_ops *ops = tr_xp_ops(&sh->cfg);

	if (!ops) {
		snprintf(buf, len, "unknown transport %d", (int)sh->cfg.transport);
		return buf;
	}
	return ops->describe(sh, buf, len);
}

int tr_io_open(struct tr_shared *sh, int proc, bool restarted,
	       struct tr_io **out)
{
	const struct tr_xp_ops *ops = tr_xp_ops(&sh->cfg);
	int ret;

	*out = NULL;
	if (!ops || proc < 0 || proc >= TR_MAX_PROCS)
		return -EINVAL;
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

/* ---- the links ---------------------------------------------------------- */

enum tr_link_kind tr_link_kind(int link)
{
	switch (link) {
	case L_TICKS:
		return LK_BCAST;
	case L_RISK_IN:
	case L_OMS_IN:
	case L_LOG:
		return LK_MPSC;
	case L_EXEC_IN:
		return LK_SPSC;
	}
	if (link >= L_RPT0 && link < L_RPT0 + TR_MAX_STRAT)
		return LK_SPSC;
	return LK_SLOT;
}

const char *tr_link_name(int link, char *buf, size_t len)
{
	if (link == L_TICKS)
		snprintf(buf, len, "ticks");
	else if (link == L_RISK_IN)
		snprintf(buf, len, "risk.in");
	else if (link == L_OMS_IN)
		snprintf(buf, len, "oms.in");
	else if (link == L_EXEC_IN)
		snprintf(buf, len, "exec.in");
	else if (link == L_LOG)
		snprintf(buf, len, "log");
	else if (link >= L_RPT0 && link < L_RPT0 + TR_MAX_STRAT)
		snprintf(buf, len, "rpt.%d", link - L_RPT0);
	else if (link >= L_POS0 && link < L_POS0 + TR_MAX_STRAT)
		snprintf(buf, len, "pos.%d", link - L_POS0);
	else if (link >= L_BOOK0 && link < L_BOOK0 + TR_INSTR)
		snprintf(buf, len, "book.%d", link - L_BOOK0);
	else
		snprintf(buf, len, "link%d", link);
	return buf;
}

const char *tr_proc_name(int proc)
{
	static const char *const names[TR_MAX_PROCS] = {
		[P_MD] = "md", [P_RISK] = "risk", [P_OMS] = "oms",
		[P_EXEC] = "exec", [P_LOG] = "log",
		[P_STRAT0 + 0] = "strat.0", [P_STRAT0 + 1] = "strat.1",
		[P_STRAT0 + 2] = "strat.2", [P_STRAT0 + 3] = "strat.3",
		[P_STRAT0 + 4] = "strat.4", [P_STRAT0 + 5] = "strat.5",
		[P_STRAT0 + 6] = "strat.6", [P_STRAT0 + 7] = "strat.7",
	};

	if (proc < 0 || proc >= TR_MAX_PROCS)
		return "?";
	return names[proc];
}

bool tr_proc_used(const struct tr_cfg *cfg, int proc)
{
	if (proc < 0 || proc >= TR_MAX_PROCS)
		return false;
	return proc < P_STRAT0 || (unsigned int)(proc - P_STRAT0) < cfg->strategies;
}

bool tr_link_used(const struct tr_cfg *cfg, int link)
{
	if (link < 0 || link >= TR_LINKS)
		return false;
	if (link >= L_RPT0 && link < L_RPT0 + TR_MAX_STRAT)
		return (unsigned int)(link - L_RPT0) < cfg->strategies;
	if (link >= L_POS0 && link < L_POS0 + TR_MAX_STRAT)
		return (unsigned int)(link - L_POS0) < cfg->strategies;
	return true;
}

static bool is_strat(int proc)
{
	return proc >= P_STRAT0 && proc < P_STRAT0 + TR_MAX_STRAT;
}

int tr_producer_id(int link, int proc)
{
	switch (link) {
	case L_RISK_IN:
		if (is_strat(proc))
			return proc - P_STRAT0;
		return proc == P_OMS ? TR_OMS_ID_RISK : -1;
	case L_OMS_IN:
		if (proc == P_RISK)
			return 0;
		return proc == P_EXEC ? 1 : -1;
	case L_LOG:
		return proc == P_LOG ? -1 : proc;
	}
	return tr_link_producer(link) == proc ? 0 : -1;
}

int tr_link_producer(int link)
{
	if (link == L_TICKS)
		return P_MD;
	if (link == L_EXEC_IN)
		return P_OMS;
	if (link >= L_RPT0 && link < L_RPT0 + TR_MAX_STRAT)
		return P_OMS;
	if (link >= L_POS0 && link < L_POS0 + TR_MAX_STRAT)
		return P_RISK;
	if (link >= L_BOOK0 && link < L_BOOK0 + TR_INSTR)
		return P_MD;
	return -1;
}

int tr_link_consumer(int link)
{
	switch (link) {
	case L_TICKS:
		return -1;
	case L_RISK_IN:
		return P_RISK;
	case L_OMS_IN:
		return P_OMS;
	case L_EXEC_IN:
		return P_EXEC;
	case L_LOG:
		return P_LOG;
	}
	if (link >= L_RPT0 && link < L_RPT0 + TR_MAX_STRAT)
		return P_STRAT(link - L_RPT0);
	if (link >= L_POS0 && link < L_POS0 + TR_MAX_STRAT)
		return P_STRAT(link - L_POS0);
	if (link >= L_BOOK0 && link < L_BOOK0 + TR_INSTR)
		return P_EXEC;
	return -1;
}

bool tr_proc_produces(const struct tr_cfg *cfg, int proc, int link)
{
	if (!tr_proc_used(cfg, proc) || !tr_link_used(cfg, link))
		return false;
	if (tr_link_kind(link) == LK_MPSC)
		return tr_producer_id(link, proc) >= 0 &&
		       (link != L_RISK_IN || proc == P_OMS ||
			tr_proc_used(cfg, proc));
	return tr_link_producer(link) == proc;
}

bool tr_proc_consumes(const struct tr_cfg *cfg, int proc, int link)
{
	if (!tr_proc_used(cfg, proc) || !tr_link_used(cfg, link))
		return false;
	if (link == L_TICKS)
		return is_strat(proc);
	return tr_link_consumer(link) == proc;
}
