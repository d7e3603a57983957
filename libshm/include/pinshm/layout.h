/* SPDX-License-Identifier: MIT */
/*
 * The data area of a region, as every process sees it. This layout is the
 * contract between processes (and between library versions): fields are
 * only appended, and every value read from it is checked before use, since
 * another process may be buggy or hostile.
 *
 *   data + 0                 struct pinshm_dir: the object directory
 *   data + dir entry.offset  one object (a ring or a slot), 4 KiB aligned
 *
 * Layout rules: every shared field has one writer; fields of different
 * writers live in different 128-byte blocks (adjacent-line prefetch pulls
 * lines in pairs); indices are free-running 64-bit byte positions;
 * capacities are powers of two.
 */
#ifndef PINSHM_LAYOUT_H
#define PINSHM_LAYOUT_H

#include <stdint.h>

#define PINSHM_BLOCK		128	/* false-sharing unit */
#define PINSHM_OBJ_ALIGN	4096	/* objects start page-aligned */

/* ------------------------------------------------------------------ */
/* Object directory                                                    */
/* ------------------------------------------------------------------ */

#define PINSHM_DIR_MAGIC	0x52494450U	/* "PDIR" */
#define PINSHM_DIR_VERSION	1
#define PINSHM_DIR_MAX		63	/* entries: header + 63 = 8 KiB */
#define PINSHM_OBJ_NAME_MAX	32	/* bytes, including the NUL */

/* pinshm_dir_entry.type */
#define PINSHM_OBJ_SPSC		1
#define PINSHM_OBJ_MPSC		2
#define PINSHM_OBJ_BCAST	3
#define PINSHM_OBJ_SLOT		4

struct pinshm_dir_entry {
	char name[PINSHM_OBJ_NAME_MAX];	/* [A-Za-z0-9._-], NUL-terminated */
	uint32_t type;			/* PINSHM_OBJ_* */
	uint32_t flags;			/* 0 today */
	uint64_t offset;		/* from the start of the data area */
	uint64_t size;			/* bytes the object occupies */
	uint64_t capacity;		/* ring bytes (power of two) */
	uint64_t param[4];		/* per type; SPSC: [0] = max record */
	uint64_t __reserved[4];
};

/*
 * Written only under the directory lock (a word holding the owner's pid;
 * a lock whose owner is dead is taken over). An entry is filled before
 * nr_entries is store-released to cover it (D1), and readers load-acquire
 * nr_entries before reading entries (D2).
 */
struct pinshm_dir {
	uint32_t magic;			/* PINSHM_DIR_MAGIC; 0: empty */
	uint32_t version;
	uint32_t max_entries;		/* PINSHM_DIR_MAX */
	uint32_t nr_entries;		/* (D1)/(D2) */
	uint64_t data_size;		/* bytes of data area */
	uint64_t next_off;		/* first free byte, OBJ_ALIGN aligned */
	uint32_t lock_pid;		/* 0 when free */
	uint32_t __pad0;
	uint64_t lock_start_time;	/* owner's start time (pid reuse) */
	uint8_t __pad1[PINSHM_BLOCK - 48];
	struct pinshm_dir_entry entry[PINSHM_DIR_MAX];
};

/* ------------------------------------------------------------------ */
/* SPSC ring: variable-length records, one producer, one consumer      */
/* ------------------------------------------------------------------ */

#define PINSHM_SPSC_MAGIC	0x43535053U	/* "SPSC" */

/*
 * A record: an 8-byte header, then the payload, padded to 8 bytes.
 * The length word is 0 for "nothing here yet", PINSHM_REC_COMMIT | bytes
 * for a published record (so an empty payload is a record too), and
 * PINSHM_REC_PAD for the filler that skips to the end of the buffer when a
 * record would not fit.
 */
struct pinshm_rec {
	uint32_t len;		/* 0, PINSHM_REC_COMMIT | bytes, or _PAD */
	uint32_t type;		/* user's message type */
};

#define PINSHM_REC_HDR		8u
#define PINSHM_REC_PAD		0x80000000u
#define PINSHM_REC_COMMIT	0x40000000u
#define PINSHM_REC_LEN_MASK	0x3fffffffu
#define PINSHM_REC_ALIGN	8u

/*
 * A wait queue for futex sleeping (pinshm/wait.h). seq is the futex word,
 * bumped by every wake; waiters counts sleepers and is written only by
 * sleepers; pending is set by every sleeper before it sleeps and taken
 * back to 0 by the one waker that wakes it, so a sleeper costs its wakers
 * one system call, not one per publish until it runs again. It lives in
 * a 128-byte block of its own.
 */
struct pinshm_waitq {
	uint32_t seq;
	uint32_t waiters;
	uint32_t pending;
	uint32_t __pad;
};

/* What follows a struct pinshm_waitq in its 128-byte block. */
#define PINSHM_WAITQ_PAD	(PINSHM_BLOCK - sizeof(struct pinshm_waitq))

struct pinshm_role {
	uint32_t pid;		/* holder, 0 when free */
	uint32_t __pad;
	uint64_t start_time;	/* holder's start time, for pid reuse */
};

struct pinshm_spsc_shared {
	/* Block 0: written once by the creator, before the directory
	 * entry that points here is published. */
	uint32_t magic;
	uint32_t version;
	uint64_t capacity;	/* bytes of record buffer, power of two */
	uint64_t max_record;	/* largest payload accepted */
	uint64_t data_off;	/* from this header to the record buffer */
	uint8_t __pad0[PINSHM_BLOCK - 32];

	/* Block 1: producer only. */
	uint64_t tail;		/* end of the last published record */
	uint64_t msgs_in;
	uint64_t bytes_in;
	uint64_t full_events;	/* claims refused for lack of space */
	struct pinshm_role producer;
	uint64_t last;		/* start of the last published record,
				 * PINSHM_POS_NONE before the first */
	uint8_t __pad1[PINSHM_BLOCK - 56];

	/* Block 2: consumer only. */
	uint64_t head;		/* start of the oldest unreleased record */
	uint64_t msgs_out;
	uint64_t bytes_out;
	uint64_t corrupt;	/* peeks refused as -EBADMSG */
	struct pinshm_role consumer;
	uint64_t zeroed;	/* bytes below this are zero again and free;
				 * at most the consumer's zero batch below
				 * rlast */
	uint64_t rlast;		/* start of the newest released record */
	uint8_t __pad2[PINSHM_BLOCK - 64];

	/* Block 3: the consumer's wait queue (written by sleepers). */
	struct pinshm_waitq waitq;
	uint8_t __pad3[PINSHM_WAITQ_PAD];
};

#define PINSHM_SPSC_HDR_SIZE	512
#define PINSHM_SPSC_VERSION	2	/* 2: waitq.pending */
#define PINSHM_POS_NONE		UINT64_MAX

#endif /* PINSHM_LAYOUT_H */
