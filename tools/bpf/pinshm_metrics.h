/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * pinshm metrics: the keys and values of the BPF maps pinned under
 * /sys/fs/bpf/pinshm/, shared by pinshm_metrics.bpf.c and the loader
 * (tools/pinshm/cmd_metrics.c). Every type is named, so the object's BTF
 * carries them and `bpftool map dump pinned /sys/fs/bpf/pinshm/MAP` prints
 * named fields. Fixed-width fields only; both sides include this after
 * their own definition of __u64/__u32/__s32 (vmlinux.h, <linux/types.h>).
 */
#ifndef PINSHM_METRICS_H
#define PINSHM_METRICS_H

#define PINSHM_M_REGION_LEN	64	/* PINSHM_NAME_MAX */
#define PINSHM_M_RING_LEN	32	/* PINSHM_OBJ_NAME_MAX */
#define PINSHM_M_COMM_LEN	16	/* TASK_COMM_LEN */
#define PINSHM_M_HIST_SLOTS	64	/* log2 of nanoseconds: slot i holds [2^i, 2^(i+1)) */
#define PINSHM_M_MAX_REGIONS	1024
#define PINSHM_M_MAX_RINGS	4096
#define PINSHM_M_MAX_PROCS	8192

/* The module's attacher states (uapi PINSHM_ST_*), as its tracepoints give them. */
#define PINSHM_M_ST_DETACHED	2
#define PINSHM_M_ST_DIED	3

/* The backend argument of the library's region_* probes. */
#define PINSHM_M_BACKEND_KMOD	1
#define PINSHM_M_BACKEND_SHM	2

/* regions: per region name. */
struct pinshm_key_region {
	char name[PINSHM_M_REGION_LEN];
};

struct pinshm_region_metrics {
	__u64 creates;
	__u64 opens;
	__u64 attaches;
	__u64 detaches;		/* clean detaches */
	__u64 deaths_signal;	/* attachers that died by a signal */
	__u64 deaths_exit;	/* attachers that exited without detaching */
	__u64 destroys;
	__u32 last_dead_pid;
	__s32 last_exit_code;
	__u32 last_signal;
	__u32 __reserved;
};

/* rings: per region and ring name (the library's probes). */
struct pinshm_key_ring {
	char region[PINSHM_M_REGION_LEN];
	char ring[PINSHM_M_RING_LEN];
};

struct pinshm_ring_metrics {
	__u64 backpressure;	/* producer met a full ring (transitions to blocked) */
	__u64 laps;		/* bcast reader lapped */
	__u64 lost;		/* records lost to laps */
	__u64 recoveries;	/* repairs, as the ring's recoveries counter counts them */
	__u64 pads;		/* MPSC claims of dead producers padded */
	__u64 sleeps;
	__u64 wakes;
	__u64 takeovers;
};

/* procs: per process (tgid). */
struct pinshm_key_proc {
	__u32 pid;
};

struct pinshm_proc_metrics {
	char comm[PINSHM_M_COMM_LEN];
	__u64 attaches;
	__u64 deaths;
	__u64 backpressure;
};

/* sleep_ns_log2, wake_ns_log2: array maps of PINSHM_M_HIST_SLOTS of these. */
struct pinshm_hist_slot {
	__u64 count;
	__u64 sum_ns;		/* so that a histogram can give its sum */
};

/* wake_pair (not pinned): a wake and its sleeper's return, paired. */
struct pinshm_key_wake {
	char region[PINSHM_M_REGION_LEN];
	char ring[PINSHM_M_RING_LEN];
	__u64 offset;		/* module WAIT/WAKE: the word's offset; probes: 0 */
};

#endif /* PINSHM_METRICS_H */
