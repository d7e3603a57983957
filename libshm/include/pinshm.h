/* SPDX-License-Identifier: MIT */
/*
 * libpinshm: named shared-memory regions and the rings on top of them.
 *
 * Regions come from pinshm.ko (/dev/pinshm: pinned, physically contiguous,
 * kernel-kept crash metadata) or from the embedded "shm" backend (a file
 * under /dev/shm, pre-faulted, mlock'ed where allowed, THP where the kernel
 * offers it), behind one API. PINSHM_BACKEND=auto|kmod|shm in the
 * environment overrides the backend a program asks for with
 * PINSHM_BACKEND_AUTO.
 *
 * Every function returns 0 (or a count) on success and -errno on failure;
 * none sets errno. Setup and recovery live in the library; the per-message
 * fast paths are static inline in each ring's header, which this one
 * includes: pinshm/spsc.h, mpsc.h, bcast.h, slot.h (one verb set for all,
 * pinshm/ring.h). This header holds regions and their object directory.
 */
#ifndef PINSHM_H
#define PINSHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/pinshm.h>
#include <pinshm/barrier.h>
#include <pinshm/layout.h>
#include <pinshm/ring.h>
#include <pinshm/wait.h>
#include <pinshm/spsc.h>
#include <pinshm/mpsc.h>
#include <pinshm/bcast.h>
#include <pinshm/slot.h>
#include <pinshm/fanin.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The project's version (the Makefile's VERSION). The ABI is the soname,
 * libpinshm.so.1, and the symbol version node PINSHM_1.0 (libshm.map).
 */
#define PINSHM_VERSION_MAJOR	0
#define PINSHM_VERSION_MINOR	2

/* Backends: PINSHM_BACKEND_KMOD and PINSHM_BACKEND_SHM come from the uapi. */
#define PINSHM_BACKEND_AUTO	0

/* Largest region the shm backend creates (the module has its own caps). */
#define PINSHM_SHM_MAX_SIZE	(64ULL << 30)

/* pinshm_region_open() access */
#define PINSHM_RDONLY		0
#define PINSHM_RDWR		1
/*
 * Read-only, for tools that only look: the shm backend records no attach
 * slot and marks no deaths on open (pinshm_region_recover() still does);
 * the module records every data mapping, so kmod shows a read-only attach.
 */
#define PINSHM_OBSERVE		2

struct pinshm_region;

struct pinshm_region_opts {
	uint64_t size;		/* data bytes; rounded up to 4 KiB */
	int node;		/* NUMA node or PINSHM_NODE_ANY */
	unsigned int mode;	/* permission bits; 0 means 0600 */
	int backend;		/* PINSHM_BACKEND_* */
};

/* Default options: 0 size, any node, mode 0600, auto backend. */
void pinshm_region_opts_init(struct pinshm_region_opts *o);

/*
 * Create a region and attach to it read-write; its data area starts with an
 * empty object directory. Errors: -EINVAL bad name or size 0, -EEXIST,
 * -EFBIG above the backend's per-region limit, -ENOSPC no room (tmpfs full,
 * module cap), -ENOMEM, -EACCES, -ENODEV backend kmod asked for but
 * /dev/pinshm missing.
 */
int pinshm_region_create(const char *name, const struct pinshm_region_opts *o,
			 struct pinshm_region **out);

/*
 * Attach to an existing region (access PINSHM_RDONLY, _RDWR or _OBSERVE).
 * The metadata and the file size are checked here. On the shm backend the
 * region is a file that any process with write permission could truncate
 * later; accesses past the new end then fault (SIGBUS), which no library
 * check can prevent: keep region files 0600 or 0640 to trusted users. The
 * module's regions cannot be truncated.
 * Errors: -ENOENT, -EACCES, -EINVAL bad name or access, -EBADMSG the region's metadata is not a pinshm region's
 * (garbage, truncated, wrong ABI), -ENOSPC attach table full.
 */
int pinshm_region_open(const char *name, int access, int backend,
		       struct pinshm_region **out);

/*
 * Detach cleanly (recorded as "detached", not "died") and unmap. Roles
 * taken on the region's rings stay this process's until it exits: detach
 * them first. The library's mappings are not inherited by fork() on the
 * kmod backend (VM_DONTCOPY): a child opens the region itself.
 */
int pinshm_region_close(struct pinshm_region *r);

/* Unlink a region by name; attachers keep their mapping. -ENOENT, -EPERM. */
int pinshm_region_destroy(const char *name, int backend);

/*
 * Names of the regions of a backend (AUTO: the one auto picks), sorted.
 * Fills up to max names; returns how many exist (may exceed max).
 */
int pinshm_region_list(int backend, char (*names)[PINSHM_NAME_MAX],
		       unsigned int max);

const char *pinshm_region_name(const struct pinshm_region *r);
void *pinshm_region_data(const struct pinshm_region *r);
uint64_t pinshm_region_size(const struct pinshm_region *r);
int pinshm_region_backend(const struct pinshm_region *r);
bool pinshm_region_writable(const struct pinshm_region *r);

/* The raw, read-only metadata page (changes under you: use _meta()). */
const struct pinshm_meta *pinshm_region_meta_page(const struct pinshm_region *r);

/* A consistent copy of the metadata page (seq retry). -EBADMSG if torn
 * for too long or invalid. */
int pinshm_region_meta(const struct pinshm_region *r, struct pinshm_meta *out);

/*
 * shm backend: mark attachers whose process is gone as died, bumping the
 * generation; kmod: the kernel does this itself (returns 0). Returns how
 * many deaths were found.
 */
int pinshm_region_recover(struct pinshm_region *r);

/*
 * Physical address of the data (kmod backend, CAP_SYS_ADMIN). *phys is 0
 * on any error: -EOPNOTSUPP (shm backend), -EPERM, -EINVAL.
 */
int pinshm_region_phys(const struct pinshm_region *r, uint64_t *phys);

/* PINSHM_BACKEND_AUTO resolved: env PINSHM_BACKEND, then /dev/pinshm. */
int pinshm_backend_resolve(int backend);
const char *pinshm_backend_name(int backend);
/* "auto", "kmod", "shm" → PINSHM_BACKEND_*; -EINVAL otherwise. */
int pinshm_backend_parse(const char *s);

bool pinshm_name_valid(const char *name);
bool pinshm_obj_name_valid(const char *name);

/* "64", "4K", "2M", "1G" (powers of 1024) → bytes. -EINVAL, -ERANGE. */
int pinshm_parse_size(const char *s, uint64_t *out);

const char *pinshm_obj_type_name(uint32_t type);	/* "spsc", ... */
int pinshm_obj_type_parse(const char *s);

/* ---------------------------------------------------------------- */
/* Object directory                                                  */
/* ---------------------------------------------------------------- */

/* A validated copy of one directory entry. */
struct pinshm_obj_info {
	char name[PINSHM_OBJ_NAME_MAX];
	uint32_t type;
	uint64_t offset;
	uint64_t size;
	uint64_t capacity;
	uint64_t max_record;
};

/* Up to max entries; returns how many exist, or -EBADMSG (corrupt). */
int pinshm_obj_list(const struct pinshm_region *r, struct pinshm_obj_info *out,
		    unsigned int max);
/* -ENOENT, -EBADMSG. */
int pinshm_obj_find(const struct pinshm_region *r, const char *name,
		    struct pinshm_obj_info *out);

/*
 * Counters of a ring or slot, read without attaching a role. Statistics,
 * not ledgers: their writers publish them after the records they count
 * (an mpsc producer once per committed batch, a consumer once per
 * release), so a writer killed in between leaves them short by up to that
 * batch.
 */
struct pinshm_ring_stats {
	uint64_t msgs_in;
	uint64_t bytes_in;
	uint64_t msgs_out;
	uint64_t bytes_out;
	uint64_t full_events;	/* back-pressure: writes refused, ring full */
	uint64_t corrupt;	/* reads refused as -EBADMSG */
	uint64_t lapped;	/* 0: bcast readers keep theirs private
				 * (pinshm_bcast_reader_stats()) */
	uint64_t recoveries;	/* mpsc: dead producers' claims padded;
				 * bcast/slot: a dead writer's half-written
				 * record or value repaired by its successor */
	uint64_t head;
	uint64_t tail;
	uint32_t producer_pid;	/* spsc/bcast/slot writer; 0 for mpsc */
	uint32_t consumer_pid;	/* spsc/mpsc consumer; 0 otherwise */
};

int pinshm_obj_stats(const struct pinshm_region *r, const char *name,
		     struct pinshm_ring_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* PINSHM_H */
