/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pinshm: named, pinned, physically contiguous shared-memory regions.
 *
 * This header is the whole ABI between pinshm.ko and userspace (libpinshm,
 * the pinshm tool). It is also the layout of the metadata page that the
 * library's embedded "shm" backend writes itself, so every tool reads both
 * backends the same way.
 *
 * Rules: fixed-width types only, naturally aligned, explicit padding, no
 * pointers (user addresses travel as __aligned_u64), no enums or bitfields.
 * Every ioctl struct starts with __u32 size and is read with
 * copy_struct_from_user(): fields are only ever appended, a zero field means
 * "the old behaviour", and non-zero bytes the kernel does not know are
 * refused with -E2BIG.
 */
#ifndef _UAPI_LINUX_PINSHM_H
#define _UAPI_LINUX_PINSHM_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define PINSHM_DEV_PATH		"/dev/pinshm"

/* Region names: 1..63 of [A-Za-z0-9._-], not starting with '.'. */
#define PINSHM_NAME_MAX		64	/* bytes, including the NUL */

#define PINSHM_NODE_ANY		(-1)	/* no NUMA preference */

/* ------------------------------------------------------------------ */
/* The metadata page: mmap offset 0 of a region fd, always read-only.  */
/* ------------------------------------------------------------------ */

#define PINSHM_META_MAGIC	0x4d485350U	/* "PSHM" in memory order */
/*
 * The page's layout version. It changes when a reader written for the
 * previous one would misread the page (version 2: 88 attach slots instead
 * of 96, and the death log after them); fields are never moved, and what
 * is added is announced in features as well. A reader refuses a version
 * it does not know.
 */
#define PINSHM_ABI_VERSION	2
#define PINSHM_META_SIZE	4096	/* one page, the whole of it */
#define PINSHM_META_HDR_SIZE	256

/*
 * A word at data offset off belongs to queue PINSHM_WAITQ_OF(off) (its
 * 128-byte block, modulo the queues): the metadata page's ro_pending[]
 * word of its read-only sleepers. (The module's own queues of sleepers
 * are finer and not part of the ABI.)
 */
#define PINSHM_WAITQ_NR		8
#define PINSHM_WAITQ_OF(off)	(((off) >> 7) & (PINSHM_WAITQ_NR - 1))
/*
 * The attach table, and who may take which slot. Read access is enough to
 * map a region's data read-only, so read-only attachers must not be able to
 * use up what writers need, nor evict the record of a writer that died:
 * - slots [0, PINSHM_RW_SLOTS) are taken by read-write mappings only; a
 *   read-write mapping may take any slot, a read-only one only slots
 *   [PINSHM_RW_SLOTS, PINSHM_MAX_ATTACH);
 * - a mapping takes a FREE slot of its range, else the DETACHED or EXEC
 *   slot that ended longest ago, else the DIED slot that ended longest ago:
 *   a death record goes only when nothing else can;
 * - when its range has no such slot, a read-write mmap fails with -ENOSPC
 *   (only writers can fill the writers' slots), and a read-only mmap
 *   succeeds without a slot: it is counted (nr_untracked, untracked_total),
 *   not listed, so any number of readers can map a region.
 * Every death, with or without a slot, is also written to the death log
 * (deaths[]), which keeps the last PINSHM_DEATH_LOG whatever the attach
 * churn: the newest entry has nr == crashes, at deaths[(nr - 1) % its size].
 * Counting rather than listing every reader was preferred to a bigger
 * table because the page is one page: slots beyond the reserved ones
 * still show the readers of a normal deployment by pid.
 */
#define PINSHM_MAX_ATTACH	88	/* slots in the attach table */
#define PINSHM_RW_SLOTS		24	/* of them, for read-write mappings only */
#define PINSHM_DEATH_LOG	8	/* entries in the death log */
#define PINSHM_SLOT_NONE	0xffffU	/* pinshm_death.slot: had no slot */

/* pinshm_meta.features: what this page has beyond version 1's fields */
#define PINSHM_FEAT_RW_SLOTS	(1U << 0)	/* rw_slots, nr_untracked... */
#define PINSHM_FEAT_DEATH_LOG	(1U << 1)	/* deaths[] */

/* pinshm_meta.backend: who wrote this page */
#define PINSHM_BACKEND_KMOD	1	/* pinshm.ko */
#define PINSHM_BACKEND_SHM	2	/* libpinshm's embedded /dev/shm backend */

/* pinshm_meta.flags */
#define PINSHM_F_CONTIGUOUS	(1U << 0)	/* physically contiguous */
#define PINSHM_F_PINNED		(1U << 1)	/* never swapped or migrated */
#define PINSHM_F_HUGE_ALIGNED	(1U << 2)	/* data is 2 MiB aligned */
#define PINSHM_F_DESTROYED	(1U << 3)	/* name unlinked, memory lingers */

/* pinshm_attach.access */
#define PINSHM_ACC_RO		1
#define PINSHM_ACC_RW		2

/* pinshm_attach.state */
#define PINSHM_ST_FREE		0	/* slot never used */
#define PINSHM_ST_ATTACHED	1	/* mapped the data, still there */
#define PINSHM_ST_DETACHED	2	/* said DETACH before unmapping */
#define PINSHM_ST_DIED		3	/* mapping torn down by exit, no DETACH */
#define PINSHM_ST_EXEC		4	/* mapping torn down by execve() */

/* pinshm_attach.exit_code when the exit status is not known */
#define PINSHM_EXIT_UNKNOWN	(-1)

/*
 * One attacher: one successful mmap of the data area by one process.
 * 40 bytes; 88 of them follow the 256-byte header, the death log fills
 * the rest of the page.
 */
struct pinshm_attach {
	__u32 tgid;		/* process id (in the initial pid namespace) */
	__u16 access;		/* PINSHM_ACC_* */
	__u16 state;		/* PINSHM_ST_* */
	__s32 exit_code;	/* DIED: exit status 0..255 or EXIT_UNKNOWN */
	__u32 signal;		/* DIED: fatal signal number, 0 for none */
	__aligned_u64 start_time; /* process start, ns since boot (pid reuse) */
	__aligned_u64 attach_ns;  /* CLOCK_REALTIME */
	__aligned_u64 detach_ns;  /* CLOCK_REALTIME; 0 while attached */
};

/*
 * One death (an attacher whose mapping went away by exit, without DETACH),
 * as its slot said when it died. 40 bytes.
 */
struct pinshm_death {
	__u32 tgid;
	__u16 access;		/* PINSHM_ACC_* */
	__u16 slot;		/* its attach[] index, or PINSHM_SLOT_NONE */
	__s32 exit_code;	/* exit status 0..255 or EXIT_UNKNOWN */
	__u32 signal;		/* fatal signal number, 0 for none */
	__aligned_u64 start_time; /* process start, ns since boot */
	__aligned_u64 died_ns;	/* CLOCK_REALTIME */
	__aligned_u64 nr;	/* crashes after this death (1, 2...); 0: unused */
};

/*
 * Writers (the kernel, or the shm backend under an flock) make seq odd,
 * write, then make it even again (smp_wmb() on both sides of the body).
 * Readers copy the page between two loads of an even, equal seq:
 *
 *	do {
 *		s = load_acquire(&m->seq);
 *		copy = *m;
 *		fence(acquire);
 *	} while ((s & 1) || s != load_relaxed(&m->seq));
 */
struct pinshm_meta {
	__u32 magic;		/* PINSHM_META_MAGIC */
	__u32 abi_version;	/* PINSHM_ABI_VERSION */
	__u32 hdr_size;		/* PINSHM_META_HDR_SIZE */
	__u32 seq;		/* sequence counter, odd while being written */

	__u32 features;		/* PINSHM_FEAT_* */
	__u32 flags;		/* PINSHM_F_* */
	__u32 backend;		/* PINSHM_BACKEND_* */
	__u32 nr_slots;		/* entries in attach[] (PINSHM_MAX_ATTACH) */

	char name[PINSHM_NAME_MAX];

	__aligned_u64 size;	/* bytes of data */
	__aligned_u64 data_off;	/* mmap offset of the data area */
	__aligned_u64 created_ns; /* CLOCK_REALTIME */
	__aligned_u64 generation; /* bumped whenever an attacher dies */
	__aligned_u64 crashes;	/* attachers that died, ever */

	__s32 node;		/* NUMA node of the memory, or NODE_ANY */
	__u32 uid;		/* owner, as seen from the initial user ns */
	__u32 gid;
	__u32 mode;		/* permission bits, 0777 mask */
	__u32 nr_attached;	/* slots in state ATTACHED */
	__u32 slot_off;		/* offset of attach[] in this page */
	__u32 slot_size;	/* sizeof(struct pinshm_attach) */
	__u32 __reserved0;

	/*
	 * Outside the seq protocol: read-only sleepers of a word of queue i
	 * arm it (PINSHM_IOC_WAIT_F_ARM): they set the word's bit,
	 * PINSHM_RO_BIT(); a WAKE of the word clears that bit. libpinshm's
	 * shm backend, which has no kernel to ask, keeps the same words in
	 * its metadata page, with the same bits.
	 */
	__u32 ro_pending[PINSHM_WAITQ_NR];

	/* PINSHM_FEAT_RW_SLOTS (under the seq protocol, as all below) */
	__u32 rw_slots;		/* PINSHM_RW_SLOTS: attach[0..) for writers */
	/* read-only mappings attached without a slot (the shm backend, which
	 * could not see such a reader die, keeps 0 here)
	 */
	__u32 nr_untracked;
	__aligned_u64 untracked_total; /* read-only attaches without a slot, ever */
	/* PINSHM_FEAT_DEATH_LOG */
	__u32 death_off;	/* offset of deaths[] in this page */
	__u32 death_size;	/* sizeof(struct pinshm_death) */
	__u32 nr_deaths;	/* entries in deaths[] (PINSHM_DEATH_LOG) */
	__u32 __reserved1;
	__aligned_u64 __reserved[3];

	struct pinshm_attach attach[PINSHM_MAX_ATTACH];
	struct pinshm_death deaths[PINSHM_DEATH_LOG];
};

/* ------------------------------------------------------------------ */
/* ioctls. CREATE/OPEN/DESTROY/LIST/INFO go to /dev/pinshm; DETACH and */
/* INFO also to a region fd.                                           */
/* ------------------------------------------------------------------ */

#define PINSHM_IOC_MAGIC	0xB8	/* free in ioctl-number.rst (6.1) */

/* pinshm_open.flags */
#define PINSHM_OPEN_WRITE	(1U << 0)	/* want a writable fd */

/*
 * CREATE: allocate a region and return a read-write region fd (O_CLOEXEC)
 * as the ioctl's return value.
 * -EINVAL bad name, size 0 or not a page multiple... (size is rounded up to
 *         the page size), bad node, unknown flag bits;
 * -EEXIST name taken; -EFBIG above max_region_mb; -ENOMEM no contiguous
 * memory right now, or the creator's memory cgroup is at its limit.
 * Limits (every region counts until its memory is freed, after DESTROY
 * and the last fd and mapping):
 * -ENOSPC max_regions regions exist, or max_total_mb would be passed
 *         (data, metadata page and bookkeeping count);
 * -EDQUOT the owner (the caller's fsuid) has max_regions_per_uid regions;
 * -EPERM  the data and metadata pages would take the caller's user past
 *         its RLIMIT_MEMLOCK (charged to the user, as io_uring's memory,
 *         with mlock()'s rlimit; CAP_IPC_LOCK: no limit).
 */
struct pinshm_create {
	__u32 size;		/* sizeof(struct pinshm_create) */
	__u32 flags;		/* none defined: must be 0 */
	char name[PINSHM_NAME_MAX];
	__aligned_u64 bytes;	/* data size, rounded up to PAGE_SIZE */
	__s32 node;		/* NUMA node, or PINSHM_NODE_ANY */
	__u32 mode;		/* permission bits; 0 means 0600 */
};

/*
 * OPEN: return a region fd (O_CLOEXEC), read-only unless PINSHM_OPEN_WRITE.
 * -ENOENT no such region, -EACCES mode refuses the access asked for.
 */
struct pinshm_open {
	__u32 size;
	__u32 flags;		/* PINSHM_OPEN_* */
	char name[PINSHM_NAME_MAX];
};

/*
 * DESTROY: unlink the name. The memory is freed when the last fd and
 * mapping go. Owner or CAP_IPC_OWNER only (-EPERM otherwise).
 */
struct pinshm_destroy {
	__u32 size;
	__u32 flags;		/* none defined: must be 0 */
	char name[PINSHM_NAME_MAX];
};

/*
 * DETACH (region fd): the calling process is about to unmap; mark its
 * ATTACHED slots DETACHED so that its exit is not counted as a death.
 */
struct pinshm_detach {
	__u32 size;
	__u32 flags;		/* none defined: must be 0 */
};

/*
 * LIST (/dev/pinshm): copy up to max names (PINSHM_NAME_MAX bytes each) to
 * the user array at names; set total to the number of regions. Returns the
 * number of names copied.
 */
struct pinshm_list {
	__u32 size;
	__u32 max;		/* capacity of the names array, in names */
	__aligned_u64 names;	/* user pointer to char[max][PINSHM_NAME_MAX] */
	__u32 total;		/* out: regions that exist */
	__u32 __reserved;
};

/*
 * INFO: on /dev/pinshm, for the region called name; on a region fd, for
 * that region (name is then filled in).
 */
struct pinshm_info {
	__u32 size;
	__u32 flags;		/* none defined: must be 0 */
	char name[PINSHM_NAME_MAX];
	__aligned_u64 bytes;
	__aligned_u64 phys_addr; /* first byte's physical address; 0 unless CAP_SYS_ADMIN */
	__aligned_u64 generation;
	__aligned_u64 crashes;
	__aligned_u64 created_ns;
	__s32 node;
	__u32 region_flags;	/* PINSHM_F_* */
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 nr_attached;
};

/*
 * WAIT (region fd): sleep while the naturally aligned __u32 at offset bytes
 * into the data still holds val, as FUTEX_WAIT does (shared futexes cannot
 * be keyed on the module's pages on Linux 6.1, whose page->mapping is
 * NULL). The word is read again at every WAKE on the region. Returns 0 once
 * the word differs (at once, or after a WAKE), -EAGAIN when it already
 * differed at the call, -ETIMEDOUT after timeout_ns (< 0: no timeout),
 * -EINTR on a signal (not restarted), -EINVAL bad flags, offset outside
 * the data or not 4-aligned.
 * With PINSHM_IOC_WAIT_F_ARM it does not look or sleep: it sets the word's
 * bit, PINSHM_RO_BIT(offset), of the metadata page's
 * ro_pending[PINSHM_WAITQ_OF(offset)] and returns 0. A sleeper
 * with a read-only mapping, which cannot count itself in the ring, arms
 * before it re-checks the ring and sleeps; writers read ro_pending and
 * WAKE its word, which disarms it again (bits below). Such a sleeper
 * WAITs with PINSHM_IOC_WAIT_F_RO: it also returns 0 once its bit of the
 * queue's ro_pending is clear (at once, or after a WAKE), and arms again.
 */
#define PINSHM_IOC_WAIT_F_ARM	(1U << 0)
#define PINSHM_IOC_WAIT_F_RO	(1U << 1)

/*
 * Bits of ro_pending[i]: PINSHM_RO_BIT(offset) is set while read-only
 * sleepers of the word at offset are armed (one of 32, by a hash of its
 * 128-byte block: words that share a bit wake each other's sleepers, a
 * spare wake, never a lost one). An arm sets its bit, a WAKE of the word
 * clears it and leaves the others; a WAIT with PINSHM_IOC_WAIT_F_RO
 * returns once its bit is clear.
 */
#define PINSHM_RO_BIT(off)	(1U << ((__u32)((__u32)((off) >> 7) *	\
					       0x9E3779B1U) >> 27))

struct pinshm_wait {
	__u32 size;
	__u32 flags;		/* 0 or one PINSHM_IOC_WAIT_F_* */
	__aligned_u64 offset;	/* of the __u32 word in the data area */
	__u32 val;
	__u32 __reserved;	/* must be 0 */
	__s64 timeout_ns;	/* relative; < 0: none, 0: only look */
};

/*
 * WAKE (region fd opened for writing, -EBADF otherwise): make every WAIT on
 * the word at offset read it again (and set ro_pending of its queue to 0);
 * change the word first. Same offset checks as WAIT.
 */
struct pinshm_wake {
	__u32 size;
	__u32 flags;		/* none defined: must be 0 */
	__aligned_u64 offset;
};

#define PINSHM_IOC_CREATE	_IOWR(PINSHM_IOC_MAGIC, 0x01, struct pinshm_create)
#define PINSHM_IOC_OPEN		_IOWR(PINSHM_IOC_MAGIC, 0x02, struct pinshm_open)
#define PINSHM_IOC_DESTROY	_IOW(PINSHM_IOC_MAGIC, 0x03, struct pinshm_destroy)
#define PINSHM_IOC_DETACH	_IOW(PINSHM_IOC_MAGIC, 0x04, struct pinshm_detach)
#define PINSHM_IOC_LIST		_IOWR(PINSHM_IOC_MAGIC, 0x05, struct pinshm_list)
#define PINSHM_IOC_INFO		_IOWR(PINSHM_IOC_MAGIC, 0x06, struct pinshm_info)
#define PINSHM_IOC_WAIT		_IOW(PINSHM_IOC_MAGIC, 0x07, struct pinshm_wait)
#define PINSHM_IOC_WAKE		_IOW(PINSHM_IOC_MAGIC, 0x08, struct pinshm_wake)

/*
 * A region fd also supports:
 * - mmap: offset 0, one page: the metadata page (PROT_WRITE refused);
 *   offset PINSHM_META_SIZE onward: the data, MAP_SHARED only, writable
 *   only through an fd opened for writing. Each data mapping is one attach.
 * - poll: POLLPRI | POLLIN when the generation differs from the one this fd
 *   last acknowledged;
 * - read: 8 bytes, the current generation, which is thereby acknowledged.
 */

/*
 * Details of pinshm.ko's behaviour (comments only, no new ABI):
 * - Names: a name with no NUL in its PINSHM_NAME_MAX bytes is -EINVAL, like
 *   every other bad name; bytes after the NUL are ignored.
 * - ioctls are matched on magic, number and direction, not on the size
 *   encoded in the command, so a larger struct from newer headers reaches
 *   the same handler. size below the first version of the struct: -EINVAL;
 *   above PAGE_SIZE, or unknown non-zero trailing bytes: -E2BIG; bad
 *   pointers: -EFAULT. Arguments are checked before anything is done.
 * - CREATE: bytes above max_region_mb is -EFBIG (checked before rounding);
 *   mode bits outside 0777 are -EINVAL; a fatal signal during a large
 *   allocation gives -EINTR. The region is owned by the caller's fsuid and
 *   fsgid. DESTROY: owner means the caller's fsuid equals the region's uid.
 * - OPEN: read-only needs r, PINSHM_OPEN_WRITE needs r and w in the bits
 *   that apply (owner, group or other), as shmat() does.
 * - INFO needs no permission (sysfs shows the same); LIST returns names in
 *   creation order.
 * - mmap: the metadata mapping must be exactly offset 0, one page; with
 *   PROT_WRITE it is -EACCES. A data mapping may cover any page range of
 *   the data; past the end is -EINVAL, MAP_PRIVATE is -EINVAL. Partial
 *   munmap/mprotect and mremap moves fail with -EINVAL (growing fails with
 *   -EFAULT, from the kernel, because of VM_DONTEXPAND). Mappings are not
 *   inherited by fork().
 * - Attach table: as described at PINSHM_MAX_ATTACH. A read-write data
 *   mmap that finds every slot ATTACHED fails with -ENOSPC; a read-only
 *   one never fails for want of a slot.
 * - A mapping copied into a child by fork() after madvise(MADV_DOFORK)
 *   (which clears VM_DONTCOPY) is not an attach and maps nothing: the
 *   child's access to it raises SIGBUS, so no unrecorded process writes
 *   the region.
 * - A data mapping unmapped without DETACH: munmap() by the process is
 *   DETACHED (clean); teardown by exit is DIED; teardown by execve() is
 *   EXEC (not a death: generation unchanged). For DIED, exit_code is the
 *   exit status (exit(3) gives 3; 0 when killed by a signal) and signal
 *   the fatal signal (SIGKILL gives 9; 0 for a normal exit). When the last
 *   reference to the address space was dropped by another task and the
 *   attacher is already gone, exit_code is PINSHM_EXIT_UNKNOWN.
 * - poll/read: a new region fd starts acknowledged at the generation
 *   current when it was opened. read() never blocks and needs count >= 8
 *   (-EINVAL otherwise).
 */

#endif /* _UAPI_LINUX_PINSHM_H */
