// SPDX-License-Identifier: MIT
/*
 * tr_stage_main(): the body of every stage process. It opens the stage's
 * ends of its links, resumes its log sequence, and runs the stage.
 */
#include <stdio.h>
#include <string.h>

#include "stages.h"

int tr_stage_main(struct tr_shared *sh, int proc, bool restarted)
{
	struct stage g;
	uint64_t last = 0;
	int ret;

	if (proc == P_LOG)
		return tr_logger_main(sh, restarted);
	if (proc < 0 || proc >= TR_MAX_PROCS || !sh->rec ||
	    (proc >= P_STRAT0 &&
	     (unsigned int)(proc - P_STRAT0) >= sh->cfg.strategies))
		return 2;
	memset(&g, 0, sizeof(g));
	g.sh = sh;
	g.rec = sh->rec;
	g.proc = proc;
	g.restarted = restarted;
	g.st = &sh->st[proc];
	g.st->spins = (sh->cfg.spin >> proc) & 1;
	ret = tr_io_open(sh, proc, restarted, &g.io);
	if (ret) {
		fprintf(stderr, "pinshm-demo: stage %d: %s\n", proc,
			strerror(-ret));
		return 1;
	}
	/* Continue the log seq after the last committed record (ours or a
	 * killed predecessor's). */
	if (tr_last(g.io, L_LOG, &last) == 0)
		g.log_seq = last;
	switch (proc) {
	case P_MD:
		st_log(&g, restarted ? E_RESTART : E_START, 0, 0, 0, 0, 0);
		ret = tr_md_main(&g);
		break;
	case P_RISK:
		ret = tr_risk_main(&g);
		break;
	case P_OMS:
		st_log(&g, restarted ? E_RESTART : E_START, 0, 0, 0, 0, 0);
		ret = tr_oms_main(&g);
		break;
	case P_EXEC:
		st_log(&g, restarted ? E_RESTART : E_START, 0, 0, 0, 0, 0);
		ret = tr_exec_main(&g);
		break;
	default:
		ret = tr_strat_main(&g);
		break;
	}
	tr_io_close(g.io);
	return ret;
}
