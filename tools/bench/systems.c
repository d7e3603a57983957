// SPDX-License-Identifier: MIT
/*
 * pinshm bench: the systems measured, each with its properties (which
 * patterns it runs in, which group runs it, its JSON names, batching,
 * processes) and its runners, so that the rest of the bench asks the table
 * instead of testing system numbers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define PP	(1u << PAT_PINGPONG)
#define ST	(1u << PAT_STREAM)
#define OW	(1u << PAT_ONEWAY)
#define G_SPSC	(1u << GRP_SPSC)
#define G_MPSC	(1u << GRP_MPSC)
#define G_BCAST	(1u << GRP_BCAST)
#define G_PEERS	(1u << GRP_PEERS)
#define G_ALL	(G_SPSC | G_MPSC | G_BCAST | G_PEERS)

const char *const bench_pat_names[NR_PAT] = { "pingpong", "stream",
					       "oneway" };

const struct bench_system bench_systems[NR_SYS] = {
	[SYS_RAW] = {
		.name = "raw", .kind = KIND_RAW, .pats = PP | ST | OW,
		.groups = G_ALL, .batch = 1,
		.json = { [PAT_PINGPONG] = "raw-pingpong",
			  [PAT_STREAM] = "raw-stream",
			  [PAT_ONEWAY] = "raw-oneway" },
		.pingpong = bench_raw_pingpong, .stream = bench_raw_stream,
		.oneway = bench_raw_oneway,
	},
	[SYS_RAW_RING] = {	/* raw-stream is one */
		.name = "raw-ring", .kind = KIND_RAW, .pats = PP,
		.groups = G_ALL, .batch = 1,
		.json = { [PAT_PINGPONG] = "raw-ring-pingpong" },
		.pingpong = bench_raw_ring_pingpong,
	},
	[SYS_SPSC] = {
		.name = "pinshm-spsc", .kind = KIND_PINSHM,
		.pats = PP | ST | OW, .groups = G_ALL, .batch = 1,
		.pingpong = bench_spsc_pingpong, .stream = bench_spsc_stream,
		.oneway = bench_spsc_oneway,
	},
	[SYS_RAW_B] = {
		.name = "raw-batch32", .kind = KIND_RAW, .pats = ST,
		.groups = G_SPSC | G_MPSC | G_PEERS, .batch = BENCH_BATCH,
		.json = { [PAT_STREAM] = "raw-stream-batch32" },
		.stream = bench_raw_stream,
	},
	[SYS_SPSC_B] = {
		.name = "pinshm-spsc-batch32", .kind = KIND_PINSHM, .pats = ST,
		.groups = G_SPSC | G_MPSC | G_PEERS, .batch = BENCH_BATCH,
		.stream = bench_spsc_stream,
	},
	[SYS_SPSC_BK] = {	/* the consumer backs off: PINSHM_WAIT_BACKOFF */
		.name = "pinshm-spsc-backoff", .kind = KIND_PINSHM, .pats = ST,
		.groups = G_SPSC, .batch = 1, .idle = PINSHM_WAIT_BACKOFF,
		.vs_spsc = true, .stream = bench_spsc_stream,
	},
	[SYS_MPSC] = {
		.name = "pinshm-mpsc", .kind = KIND_PINSHM, .pats = PP | ST,
		.groups = G_MPSC | G_PEERS, .json_group = "mpsc", .batch = 1,
		.producers = 1, .vs_spsc = true,
		.pingpong = bench_mpsc_pingpong, .stream = bench_mpsc_stream,
	},
	[SYS_MPSC2] = {
		.name = "pinshm-mpsc-2p", .kind = KIND_PINSHM, .pats = ST,
		.groups = G_MPSC | G_PEERS, .json_group = "mpsc", .batch = 1,
		.producers = 2, .vs_spsc = true, .all_sides = true,
		.stream = bench_mpsc_stream,
	},
	[SYS_MPSC2_B] = {
		.name = "pinshm-mpsc-2p-batch32", .kind = KIND_PINSHM,
		.pats = ST, .groups = G_MPSC, .json_group = "mpsc",
		.batch = BENCH_BATCH, .producers = 2, .vs_spsc = true,
		.all_sides = true, .stream = bench_mpsc_stream,
	},
	[SYS_FANIN] = {
		.name = "pinshm-fanin", .kind = KIND_PINSHM, .pats = ST,
		.groups = G_MPSC | G_PEERS, .json_group = "mpsc", .batch = 1,
		.producers = 1, .vs_spsc = true,
		.stream = bench_fanin_stream,
	},
	[SYS_FANIN2] = {
		.name = "pinshm-fanin-2p", .kind = KIND_PINSHM, .pats = ST,
		.groups = G_MPSC | G_PEERS, .json_group = "mpsc", .batch = 1,
		.producers = 2, .vs_spsc = true, .all_sides = true,
		.stream = bench_fanin_stream,
	},
	[SYS_FANIN2_B] = {
		.name = "pinshm-fanin-2p-batch32", .kind = KIND_PINSHM,
		.pats = ST, .groups = G_MPSC, .json_group = "mpsc",
		.batch = BENCH_BATCH, .producers = 2, .vs_spsc = true,
		.all_sides = true, .stream = bench_fanin_stream,
	},
	[SYS_BCAST] = {
		.name = "pinshm-bcast", .kind = KIND_PINSHM, .pats = PP | ST,
		.groups = G_BCAST, .json_group = "bcast", .batch = 1,
		.bcast = true, .vs_spsc = true, .all_sides = true,
		.pingpong = bench_bcast_pingpong, .stream = bench_bcast_stream,
	},
	[SYS_BCAST_KEEP] = {	/* a stream only */
		.name = "pinshm-bcast-keepup", .kind = KIND_PINSHM, .pats = ST,
		.groups = G_BCAST, .json_group = "bcast", .batch = 1,
		.bcast = true, .keepup = true, .vs_spsc = true,
		.all_sides = true, .stream = bench_bcast_stream,
	},
	[SYS_BCAST_LOSSLESS] = {	/* a stream only */
		.name = "pinshm-bcast-lossless", .kind = KIND_PINSHM,
		.pats = ST, .groups = G_BCAST, .json_group = "bcast",
		.batch = 1, .bcast = true, .lossless = true, .vs_spsc = true,
		.all_sides = true, .stream = bench_bcast_stream,
	},
	[SYS_BCAST_LOSSLESS_P] = {	/* readers poll up to 32 at a time */
		.name = "pinshm-bcast-lossless-poll32", .kind = KIND_PINSHM,
		.pats = ST, .groups = G_BCAST, .json_group = "bcast",
		.batch = 1, .bcast = true, .lossless = true, .poll = BENCH_BATCH,
		.vs_spsc = true, .all_sides = true, .stream = bench_bcast_stream,
	},
	[SYS_BCAST_LOSSLESS_BK] = {	/* readers back off */
		.name = "pinshm-bcast-lossless-backoff", .kind = KIND_PINSHM,
		.pats = ST, .groups = G_BCAST, .json_group = "bcast",
		.batch = 1, .bcast = true, .lossless = true,
		.idle = PINSHM_WAIT_BACKOFF, .vs_spsc = true, .all_sides = true,
		.stream = bench_bcast_stream,
	},
	[SYS_PIPE] = {
		.name = "pipe", .kind = KIND_KERNEL, .pats = PP | ST,
		.vs = true, .batch = 1,
		.pingpong = bench_fd_pingpong, .stream = bench_fd_stream,
	},
	[SYS_UNIX] = {
		.name = "unix", .kind = KIND_KERNEL, .pats = PP | ST,
		.vs = true, .batch = 1,
		.pingpong = bench_fd_pingpong, .stream = bench_fd_stream,
	},
	[SYS_TCP] = {
		.name = "tcp", .kind = KIND_KERNEL, .pats = PP | ST,
		.vs = true, .batch = 1,
		.pingpong = bench_fd_pingpong, .stream = bench_fd_stream,
	},
	[SYS_EVENTFD] = {
		.name = "eventfd", .kind = KIND_KERNEL, .pats = PP | ST,
		.vs = true, .batch = 1,
		.pingpong = bench_efd_pingpong, .stream = bench_efd_stream,
	},
	[SYS_MQ] = {
		.name = "mq", .kind = KIND_KERNEL, .pats = PP | ST,
		.vs = true, .batch = 1,
		.pingpong = bench_mq_pingpong, .stream = bench_mq_stream,
	},
	[SYS_SPSC_SLEEP] = {
		.name = "pinshm-spsc-sleep", .kind = KIND_PINSHM,
		.pats = PP | ST, .vs = true, .batch = 1, .sleep = true,
		.pingpong = bench_spsc_pingpong, .stream = bench_spsc_stream,
	},
	/* Peers (sys_peers.c): --vs ck, rte (or a name, or all when built);
	 * the peers group runs those built in (rte-mp-2p only when named). */
	[SYS_CK_SPSC] = {
		.name = "ck-spsc", .kind = KIND_PEER, .pats = PP | ST,
		.vs = true, .groups = G_PEERS, .peer = "ck",
		.pkg = "libck-dev", .batch = 1, .vs_spsc = true,
		.pingpong = bench_ck_pingpong, .stream = bench_ck_stream,
	},
	[SYS_RTE_SPSC] = {
		.name = "rte-spsc", .kind = KIND_PEER, .pats = PP | ST,
		.vs = true, .groups = G_PEERS, .peer = "rte",
		.pkg = "libdpdk-dev", .batch = 1, .vs_spsc = true,
		.pingpong = bench_rte_pingpong, .stream = bench_rte_stream,
	},
	[SYS_RTE_SPSC_B] = {
		.name = "rte-spsc-burst32", .kind = KIND_PEER, .pats = ST,
		.vs = true, .groups = G_PEERS, .peer = "rte",
		.pkg = "libdpdk-dev", .batch = BENCH_BATCH, .vs_spsc = true,
		.stream = bench_rte_stream,
	},
	[SYS_RTE_MP] = {
		.name = "rte-mp", .kind = KIND_PEER, .pats = ST,
		.vs = true, .groups = G_PEERS, .vs_groups = G_MPSC,
		.peer = "rte", .pkg = "libdpdk-dev", .json_group = "mpsc",
		.batch = 1, .producers = 1, .vs_spsc = true,
		.stream = bench_rte_stream,
	},
	[SYS_RTE_MP2] = {
		/* Two producers that share a core stall each other: one
		 * preempted in its enqueue holds the other for a time slice
		 * (docs/performance.md). Only when named. */
		.name = "rte-mp-2p", .kind = KIND_PEER, .pats = ST,
		.vs = true, .named_only = true, .vs_groups = G_MPSC,
		.peer = "rte",
		.pkg = "libdpdk-dev", .json_group = "mpsc", .batch = 1,
		.producers = 2, .vs_spsc = true, .all_sides = true,
		.stream = bench_rte_stream,
	},
	[SYS_RTE_RTS] = {
		.name = "rte-rts", .kind = KIND_PEER, .pats = ST,
		.vs = true, .groups = G_PEERS, .vs_groups = G_MPSC,
		.peer = "rte", .pkg = "libdpdk-dev", .json_group = "mpsc",
		.batch = 1, .producers = 1, .vs_spsc = true,
		.stream = bench_rte_stream,
	},
	[SYS_RTE_RTS2] = {
		.name = "rte-rts-2p", .kind = KIND_PEER, .pats = ST,
		.vs = true, .groups = G_PEERS, .vs_groups = G_MPSC,
		.peer = "rte", .pkg = "libdpdk-dev", .json_group = "mpsc",
		.batch = 1, .producers = 2, .vs_spsc = true, .all_sides = true,
		.stream = bench_rte_stream,
	},
	[SYS_RTE_HTS] = {
		.name = "rte-hts", .kind = KIND_PEER, .pats = ST,
		.vs = true, .groups = G_PEERS, .vs_groups = G_MPSC,
		.peer = "rte", .pkg = "libdpdk-dev", .json_group = "mpsc",
		.batch = 1, .producers = 1, .vs_spsc = true,
		.stream = bench_rte_stream,
	},
	[SYS_RTE_HTS2] = {
		.name = "rte-hts-2p", .kind = KIND_PEER, .pats = ST,
		.vs = true, .groups = G_PEERS, .vs_groups = G_MPSC,
		.peer = "rte", .pkg = "libdpdk-dev", .json_group = "mpsc",
		.batch = 1, .producers = 2, .vs_spsc = true, .all_sides = true,
		.stream = bench_rte_stream,
	},
};

/* JSON pattern name: mpsc-pingpong, bcast-stream, ... for the new rings. */
const char *bench_pat_json_name(const struct bench_run *run)
{
	static const char *const grouped[][NR_PAT] = {
		{ "mpsc-pingpong", "mpsc-stream", NULL },
		{ "bcast-pingpong", "bcast-stream", NULL },
	};
	const char *g = bench_systems[run->sys].json_group;

	if (!g)
		return bench_pat_names[run->pat];
	return grouped[strcmp(g, "mpsc") ? 1 : 0][run->pat];
}

const char *bench_sys_json_name(const struct bench_run *run)
{
	const struct bench_system *y = &bench_systems[run->sys];

	return y->json[run->pat] ? y->json[run->pat] : y->name;
}

int bench_find_run(const struct bench_run *runs, unsigned int nruns, int pat,
		   int sys)
{
	unsigned int i;

	for (i = 0; i < nruns; i++)
		if (runs[i].pat == pat && runs[i].sys == sys)
			return (int)i;
	return -1;
}

/* The systems a group runs without --vs (peers: those built in). */
unsigned int bench_group_vs(int group)
{
	unsigned int vs = 0;
	int k;

	for (k = 0; k < NR_SYS; k++)
		if ((bench_systems[k].groups & (1u << group)) &&
		    bench_peer_built(k))
			vs |= 1u << k;
	return vs;
}

/* Of the systems in vs, those --vs adds to group's runs (the peers
 * group: those of the spsc and of the mpsc group). */
unsigned int bench_vs_in_group(unsigned int vs, int group)
{
	unsigned int in = 0, g;
	unsigned int want = group == GRP_PEERS ? G_SPSC | G_MPSC :
			    1u << group;
	int k;

	for (k = 0; k < NR_SYS; k++) {
		g = bench_systems[k].vs_groups ? bench_systems[k].vs_groups :
		    G_SPSC;
		if ((vs & (1u << k)) && (g & want))
			in |= 1u << k;
	}
	return in;
}

/*
 * A comma-separated list of --vs names: a system, a peer's library (ck,
 * rte: its systems), or all (every one built in).
 */
int bench_parse_vs(const char *s, unsigned int *vs, char *bad, size_t len)
{
	char buf[256], *tok, *save = NULL;
	const struct bench_system *y;
	bool found;
	int k;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		bool all = !strcmp(tok, "all");

		found = all;
		for (k = 0; k < NR_SYS; k++) {
			y = &bench_systems[k];
			if (!y->vs)
				continue;
			if (all) {
				if (bench_peer_built(k) && !y->named_only)
					*vs |= 1u << k;
				continue;
			}
			if (strcmp(tok, y->name) && (!y->peer || y->named_only ||
						     strcmp(tok, y->peer)))
				continue;
			if (!bench_peer_built(k)) {
				snprintf(bad, len, "%s", y->pkg);
				return -ENOPKG;
			}
			*vs |= 1u << k;
			found = true;
		}
		if (!found) {
			snprintf(bad, len, "%s", tok);
			return -EINVAL;
		}
	}
	return 0;
}

/* Every (pattern, system) to measure, pattern by pattern; how many. */
unsigned int bench_plan(const struct bench_opts *o, struct bench_run *runs)
{
	unsigned int n = 0;
	int pat, sys;

	for (pat = 0; pat < NR_PAT; pat++) {
		for (sys = 0; o->pat[pat] && sys < NR_SYS; sys++) {
			if (!(o->vs & (1u << sys)) ||
			    !(bench_systems[sys].pats & (1u << pat)))
				continue;
			/* peers: the many-producer rings' streams only,
			 * the rows of its table. */
			if (o->group == GRP_PEERS && pat == PAT_PINGPONG &&
			    bench_systems[sys].producers)
				continue;
			runs[n].pat = pat;
			runs[n++].sys = sys;
		}
	}
	return n;
}
