/* SPDX-License-Identifier: MIT */
/*
 * The data area of a region, as every process sees it. This layout is the
 * contract between processes (and between library versions): fields are
 * only appended, and every value read from it is checked before use, since
 * another process may be buggy or hostile.
 *
 *   data + 0                 struct pinshm_dir: the object directory
 *   data + dir entry.offset  one object (a ring or a slot), 4 KiB aligned:
 *                            struct pinshm_{spsc,mpsc,bcast,slot,fanin}_shared
 *
 * Every shared structure is here, and its size and the block of each
 * writer's fields are checked at compile time (the end of this file). The
 * metadata page (page 0, written by the kernel or the shm backend) is the
 * uapi header's.
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
#define PINSHM_DIR_VERSION	2	/* 2: the lock is a struct pinshm_role */
#define PINSHM_DIR_MAX		63	/* entries: header + 63 = 8 KiB */
#define PINSHM_OBJ_NAME_MAX	32	/* bytes, including the NUL */

/* pinshm_dir_entry.type */
#define PINSHM_OBJ_SPSC		1
#define PINSHM_OBJ_MPSC		2
#define PINSHM_OBJ_BCAST	3
#define PINSHM_OBJ_SLOT		4
#define PINSHM_OBJ_FANIN	5

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
 * A role (a ring's producer, consumer or writer, an MPSC producer slot) or
 * the directory lock: one 64-bit word naming its holder, taken with one
 * compare-and-swap (libshm/src/dir.c). The low 32 bits are the holder's
 * pid, the high 32 a fingerprint of its start time (pid reuse), never 0
 * for a known start time; 0 means the holder could not read its own,
 * and then it counts as alive as long as its pid exists. A word of 0 is
 * free; every other value, whatever wrote it, names a holder, alive or
 * dead: no observer ever sees half a take.
 */
struct pinshm_role {
	uint64_t holder;	/* PINSHM_ROLE_WORD(pid, fp); 0 when free */
	uint64_t __reserved;	/* 0 */
};

#define PINSHM_ROLE_WORD(pid, fp)	((uint64_t)(uint32_t)(pid) | \
					 (uint64_t)(uint32_t)(fp) << 32)
#define PINSHM_ROLE_PID(w)		((uint32_t)(w))
#define PINSHM_ROLE_FP(w)		((uint32_t)((uint64_t)(w) >> 32))

/*
 * Written only under the directory lock (a role word naming its holder;
 * a lock whose holder is dead is taken over). An entry is filled before
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
	struct pinshm_role lock;	/* the directory lock */
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
#define PINSHM_SPSC_VERSION	3	/* 2: waitq.pending; 3: one-word roles */
#define PINSHM_POS_NONE		UINT64_MAX

/* ------------------------------------------------------------------ */
/* MPSC ring: variable-length records, many producers, one consumer    */
/* ------------------------------------------------------------------ */

#define PINSHM_MPSC_MAGIC	0x4353504dU	/* "MPSC" */
#define PINSHM_MPSC_VERSION	3	/* 2: waitq.pending, batched zeroing;
					 * 3: one-word roles */
#define PINSHM_MPSC_PRODUCERS	64	/* producer slots per ring */
#define PINSHM_MPSC_MAX_CAP	(1ULL << 29)
#define PINSHM_MPSC_MIN_CAP	1024ULL

/* len word of an MPSC record (see the top comment of pinshm/mpsc.h). */
#define PINSHM_MPSC_CLAIMED	0x80000000u
#define PINSHM_MPSC_ID_SHIFT	25
#define PINSHM_MPSC_ID_MASK	0x3fu
#define PINSHM_MPSC_CUNITS	0x01ffffffu	/* size/8 of a claimed record */
#define PINSHM_MPSC_PAD		0x20000000u
#define PINSHM_MPSC_PUNITS	0x1fffffffu	/* size/8 of a pad */

/* Producer slot: 256 bytes, written by its holder only. */
struct pinshm_mpsc_pslot {
	struct pinshm_role role;	/* CAS by attachers (dir.c) */
	uint32_t owner_pid;		/* holder whose claims intent_* are */
	uint32_t __pad0;
	uint64_t owner_start;		/* its start time as the metadata says */
	uint64_t intent_pos;		/* (I1) start of the current claim */
	uint64_t intent_size;		/* its bytes (wrap pad included); 0 none */
	uint64_t pend_pos;		/* (L1) record being committed */
	uint64_t pend_word;		/* its first 8 payload bytes */
	uint32_t pend_type;
	uint32_t pend_len;
	uint64_t last_pos;		/* last committed record, POS_NONE */
	uint64_t last_word;
	uint32_t last_type;
	uint32_t last_len;
	uint64_t msgs_in;
	uint64_t bytes_in;
	uint64_t full_events;		/* claims refused, ring full */
	uint8_t __pad1[2 * PINSHM_BLOCK - 120];
};

struct pinshm_mpsc_shared {
	/* Block 0: written once by the creator, before the directory entry
	 * that points here is published (D1). */
	uint32_t magic;
	uint32_t version;
	uint64_t capacity;	/* record buffer bytes, power of two */
	uint64_t max_record;	/* largest payload */
	uint64_t data_off;	/* header to record buffer */
	uint32_t nr_producers;	/* PINSHM_MPSC_PRODUCERS */
	uint32_t __pad0;
	uint8_t __pad0b[PINSHM_BLOCK - 40];

	/* Block 1: every producer, by CAS. */
	uint64_t tail;		/* end of everything claimed */
	uint8_t __pad1[PINSHM_BLOCK - 8];

	/* Block 2: consumer only. */
	uint64_t head;		/* start of the oldest unreleased record */
	uint64_t zeroed;	/* everything below is zero again */
	uint64_t msgs_out;
	uint64_t bytes_out;
	uint64_t recoveries;	/* dead producers' claims padded */
	uint64_t corrupt;	/* peeks refused as -EBADMSG */
	struct pinshm_role consumer;
	uint8_t __pad2[PINSHM_BLOCK - 64];

	/* Block 3: the consumer's wait queue (waiters: the consumer asleep;
	 * seq: the producers' wakes). */
	struct pinshm_waitq waitq;
	uint8_t __pad3[PINSHM_WAITQ_PAD];

	/* Blocks 4-7: consumer only: where recovery padded each producer's
	 * last claim from (R1), POS_NONE if never. */
	uint64_t rec_pad[PINSHM_MPSC_PRODUCERS];

	/* Producer slots. */
	struct pinshm_mpsc_pslot prod[PINSHM_MPSC_PRODUCERS];
};

#define PINSHM_MPSC_HDR_SIZE	20480	/* sizeof rounded to 4 KiB */

/* ------------------------------------------------------------------ */
/* Broadcast ring: fixed-size slots, one writer, any number of readers */
/* ------------------------------------------------------------------ */

#define PINSHM_BCAST_MAGIC	0x54534342U	/* "BCST" */
#define PINSHM_BCAST_VERSION	3	/* 2: waitq.pending; 3: one-word roles */
/* A lossless ring's version: 3, plus flags, gates and the gate table
 * (a library that knows only 3 refuses it with -EPROTONOSUPPORT instead
 * of writing over records its readers have not read). */
#define PINSHM_BCAST_VERSION_GATED	4
#define PINSHM_BCAST_HDR_SIZE	512u
#define PINSHM_BCAST_SLOT_HDR	16u
#define PINSHM_BCAST_SLOT_ALIGN	64u
#define PINSHM_BCAST_MAX_SLOT	(1u << 20)	/* largest slot, bytes */
#define PINSHM_BCAST_MAX_SLOTS	(1u << 24)
/* pinshm_bcast_shared.flags */
#define PINSHM_BCAST_LOSSLESS	0x1u	/* the writer is gated by its readers */
#define PINSHM_BCAST_GATES	16u	/* reader gates of a lossless ring */
#define PINSHM_BCAST_GATE_SIZE	PINSHM_BLOCK

/*
 * A registered reader's gate, one 128-byte block each, after the header of
 * a lossless ring. Taken by a reader with a CAS of holder from 0 (the
 * role word protocol, dir.c), written by that reader only, until the
 * writer drops it: a CAS of holder back to 0, once the metadata page says
 * its owner died.
 */
struct pinshm_bcast_gate {
	struct pinshm_role role;	/* holder: 0 free, else the reader */
	uint64_t pos;		/* next record the reader reads: (G1)/(G2) */
	uint64_t owner;		/* holder's word once owner_* are valid (G5) */
	uint32_t owner_pid;	/* the reader, as the metadata page */
	uint32_t __pad0;	/* knows it: pid and start time */
	uint64_t owner_start;
	uint8_t __pad1[PINSHM_BCAST_GATE_SIZE - 48];
};

struct pinshm_bcast_shared {
	/* Block 0: written once by the creator. */
	uint32_t magic;
	uint32_t version;
	uint64_t slots;		/* number of slots, power of two */
	uint64_t slot_size;	/* bytes per slot, multiple of 64 */
	uint64_t max_payload;	/* slot_size - PINSHM_BCAST_SLOT_HDR */
	uint64_t data_off;	/* PINSHM_BCAST_HDR_SIZE + gates *
				 * PINSHM_BCAST_GATE_SIZE */
	uint32_t flags;		/* PINSHM_BCAST_LOSSLESS (version 4) */
	uint32_t gates;		/* gate table entries: 0, or
				 * PINSHM_BCAST_GATES when lossless */
	uint8_t __pad0[PINSHM_BLOCK - 48];

	/* Block 1: the writer only. */
	uint64_t tail;		/* records published: (W4)/(R4) */
	uint64_t msgs_in;
	uint64_t bytes_in;
	uint64_t recoveries;	/* takeovers that withdrew staged records */
	struct pinshm_role writer;
	uint64_t limit;		/* lossless: the writer claims below
				 * limit; (G3)/(G4) */
	uint64_t full_events;	/* lossless: claims refused, a reader
				 * behind */
	uint64_t dropped;	/* lossless: dead readers' gates dropped */
	uint8_t __pad1[PINSHM_BLOCK - 72];

	/* Block 2: the readers' wait queue (waiters: sleeping readers, with a
	 * writable mapping; seq: the writer's wakes). */
	struct pinshm_waitq waitq;
	uint8_t __pad2[PINSHM_WAITQ_PAD];

	/* Block 3: reserved. */
	uint8_t __reserved[PINSHM_BLOCK];
};

/* The header of every slot; the payload follows. */
struct pinshm_bcast_slot {
	uint64_t seq;		/* 0, 2i+1 writing, 2i+2 published */
	uint32_t len;		/* payload bytes */
	uint32_t type;		/* user's message type */
};

/* ------------------------------------------------------------------ */
/* Latest-value slot: a seqlock over one value                         */
/* ------------------------------------------------------------------ */

#define PINSHM_SLOT_MAGIC	0x544f4c53U	/* "SLOT" */
#define PINSHM_SLOT_VERSION	3	/* 2: waitq.pending; 3: one-word roles */
#define PINSHM_SLOT_MAX_SIZE	(64u << 10)	/* largest value */
#define PINSHM_SLOT_VALUE_OFF	400u		/* header, wait queue, seq, state */

/* pinshm_slot_shared.state */
#define PINSHM_SLOT_EMPTY	0
#define PINSHM_SLOT_VALID	1

struct pinshm_slot_shared {
	/* Block 0: written once by the creator. */
	uint32_t magic;
	uint32_t version;
	uint64_t size;		/* value bytes, 1..PINSHM_SLOT_MAX_SIZE */
	uint64_t value_off;	/* PINSHM_SLOT_VALUE_OFF */
	uint8_t __pad0[PINSHM_BLOCK - 24];

	/* Block 1: the writer only; readers never look here. */
	uint64_t writes;	/* values written */
	uint64_t bytes_in;
	uint64_t recoveries;	/* dead writers' torn values withdrawn */
	struct pinshm_role writer;
	uint8_t __pad1[PINSHM_BLOCK - 40];

	/* Block 2: the readers' wait queue (waiters: sleeping readers, with
	 * a writable mapping; seq: the writer's wakes). */
	struct pinshm_waitq waitq;
	uint8_t __pad2[PINSHM_WAITQ_PAD];

	/* The seqlock line: the writer only; the value follows. */
	uint64_t seq;		/* (W1)/(W3), (R1)/(R2) */
	uint32_t state;		/* PINSHM_SLOT_EMPTY or _VALID */
	uint32_t __pad3;
	uint8_t value[];
};

/* ------------------------------------------------------------------ */
/* Fan-in ring: one SPSC lane per producer, one consumer               */
/* ------------------------------------------------------------------ */

#define PINSHM_FANIN_MAGIC	0x4e494e46U	/* "FNIN" */
#define PINSHM_FANIN_VERSION	1
#define PINSHM_FANIN_LANES	64	/* most lanes (producers) a ring has */
#define PINSHM_FANIN_HDR_SIZE	512u

/*
 * The header, then lanes lanes of lane_size bytes each: lane i at
 * lane_off + i * lane_size is a whole SPSC ring (struct
 * pinshm_spsc_shared, its buffer after it) whose producer role is producer
 * i's. The lanes' own consumer role words and wait queues are not used:
 * the ring has one consumer (its role word here) and one wait queue (here)
 * that every lane's commit kicks.
 */
struct pinshm_fanin_shared {
	/* Block 0: written once by the creator, before the directory entry
	 * that points here is published (D1). */
	uint32_t magic;
	uint32_t version;
	uint32_t lanes;		/* 1..PINSHM_FANIN_LANES */
	uint32_t __pad0;
	uint64_t lane_capacity;	/* record buffer bytes of each lane */
	uint64_t max_record;	/* largest payload */
	uint64_t lane_off;	/* header to lane 0: PINSHM_FANIN_HDR_SIZE */
	uint64_t lane_size;	/* PINSHM_SPSC_HDR_SIZE + lane_capacity */
	uint8_t __pad0b[PINSHM_BLOCK - 48];

	/* Block 1: consumer only. */
	struct pinshm_role consumer;
	uint64_t corrupt;	/* lanes found corrupt (then skipped) */
	uint8_t __pad1[PINSHM_BLOCK - 24];

	/* Block 2: the consumer's wait queue (waiters: the consumer asleep;
	 * seq: every lane producer's wakes). */
	struct pinshm_waitq waitq;
	uint8_t __pad2[PINSHM_WAITQ_PAD];

	/* Block 3: reserved. */
	uint8_t __reserved[PINSHM_BLOCK];
};

/* ------------------------------------------------------------------ */
/* Checked at compile time: sizes, and each writer's fields in its own */
/* block                                                               */
/* ------------------------------------------------------------------ */

#define __PINSHM_OFF(type, field)	__builtin_offsetof(struct type, field)
#define __PINSHM_BLOCK_OF(type, field)	(__PINSHM_OFF(type, field) / PINSHM_BLOCK)

_Static_assert(sizeof(struct pinshm_dir_entry) == 128, "dir entry size");
_Static_assert(sizeof(struct pinshm_dir) ==
	       (PINSHM_DIR_MAX + 1) * sizeof(struct pinshm_dir_entry),
	       "directory size");
_Static_assert(__PINSHM_OFF(pinshm_dir, entry) == PINSHM_BLOCK,
	       "directory entries after one block");
_Static_assert(sizeof(struct pinshm_role) == 16 &&
	       __PINSHM_OFF(pinshm_role, holder) == 0, "role word");
_Static_assert(__PINSHM_OFF(pinshm_dir, lock) == 32, "directory lock");
_Static_assert(sizeof(struct pinshm_rec) == PINSHM_REC_HDR, "record header");
_Static_assert(sizeof(struct pinshm_waitq) == 16, "wait queue size");
_Static_assert(__PINSHM_OFF(pinshm_waitq, pending) == 8, "waitq.pending");

_Static_assert(sizeof(struct pinshm_spsc_shared) == PINSHM_SPSC_HDR_SIZE,
	       "spsc header size");
_Static_assert(__PINSHM_BLOCK_OF(pinshm_spsc_shared, data_off) == 0,
	       "spsc constant block");
_Static_assert(__PINSHM_BLOCK_OF(pinshm_spsc_shared, tail) == 1 &&
	       __PINSHM_BLOCK_OF(pinshm_spsc_shared, producer) == 1 &&
	       __PINSHM_BLOCK_OF(pinshm_spsc_shared, full_events) == 1 &&
	       __PINSHM_BLOCK_OF(pinshm_spsc_shared, last) == 1,
	       "spsc producer block");
_Static_assert(__PINSHM_BLOCK_OF(pinshm_spsc_shared, head) == 2 &&
	       __PINSHM_BLOCK_OF(pinshm_spsc_shared, consumer) == 2 &&
	       __PINSHM_BLOCK_OF(pinshm_spsc_shared, bytes_out) == 2 &&
	       __PINSHM_BLOCK_OF(pinshm_spsc_shared, rlast) == 2,
	       "spsc consumer block");
_Static_assert(__PINSHM_OFF(pinshm_spsc_shared, waitq) == 3 * PINSHM_BLOCK,
	       "spsc wait queue block");

_Static_assert(sizeof(struct pinshm_mpsc_pslot) == 256, "pslot size");
_Static_assert(__PINSHM_OFF(pinshm_mpsc_shared, tail) == 128, "tail block");
_Static_assert(__PINSHM_OFF(pinshm_mpsc_shared, head) == 256,
	       "consumer block");
_Static_assert(__PINSHM_OFF(pinshm_mpsc_shared, waitq) == 384, "waitq block");
_Static_assert(__PINSHM_OFF(pinshm_mpsc_shared, rec_pad) == 512,
	       "rec_pad blocks");
_Static_assert(__PINSHM_OFF(pinshm_mpsc_shared, prod) == 1024,
	       "producer slots");
_Static_assert(sizeof(struct pinshm_mpsc_shared) <= PINSHM_MPSC_HDR_SIZE,
	       "header fits");

_Static_assert(sizeof(struct pinshm_bcast_shared) == PINSHM_BCAST_HDR_SIZE,
	       "bcast header size");
_Static_assert(__PINSHM_OFF(pinshm_bcast_shared, tail) == 128,
	       "bcast writer block");
_Static_assert(__PINSHM_OFF(pinshm_bcast_shared, waitq) == 256,
	       "bcast wait queue block");
_Static_assert(sizeof(struct pinshm_bcast_slot) == PINSHM_BCAST_SLOT_HDR,
	       "bcast slot header");
_Static_assert(__PINSHM_OFF(pinshm_bcast_shared, gates) == 44,
	       "bcast gates in the constant block");
_Static_assert(__PINSHM_BLOCK_OF(pinshm_bcast_shared, dropped) == 1,
	       "bcast lossless counters in the writer block");
_Static_assert(sizeof(struct pinshm_bcast_gate) == PINSHM_BCAST_GATE_SIZE &&
	       __PINSHM_OFF(pinshm_bcast_gate, pos) == 16,
	       "bcast gate: one block");

_Static_assert(__PINSHM_OFF(pinshm_slot_shared, writes) == 128,
	       "slot writer block");
_Static_assert(__PINSHM_OFF(pinshm_slot_shared, waitq) == 256,
	       "slot wait queue block");
_Static_assert(__PINSHM_OFF(pinshm_slot_shared, seq) == 384,
	       "slot seqlock line");
_Static_assert(__PINSHM_OFF(pinshm_slot_shared, value) ==
	       PINSHM_SLOT_VALUE_OFF, "slot value offset");

_Static_assert(sizeof(struct pinshm_fanin_shared) == PINSHM_FANIN_HDR_SIZE,
	       "fanin header size");
_Static_assert(__PINSHM_OFF(pinshm_fanin_shared, consumer) == PINSHM_BLOCK,
	       "fanin consumer block");
_Static_assert(__PINSHM_OFF(pinshm_fanin_shared, waitq) == 2 * PINSHM_BLOCK,
	       "fanin wait queue block");

#endif /* PINSHM_LAYOUT_H */
