/* SPDX-License-Identifier: MIT */
/* libpinshm internals: not installed, not exported. */
#ifndef PINSHM_INTERNAL_H
#define PINSHM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <pinshm.h>

#define PINSHM_PAGE		4096ULL
#define PINSHM_HUGE		(2ULL << 20)

#define __pinshm_export		__attribute__((visibility("default")))

struct pinshm_region {
	const struct pinshm_backend_ops *ops;
	int backend;			/* PINSHM_BACKEND_KMOD or _SHM */
	int fd;				/* region fd or backing file */
	bool writable;			/* data mapped read-write */
	bool meta_writable;		/* shm: we may write the metadata */
	bool locked;			/* shm: mlock succeeded */
	int slot;			/* shm: our attach slot, or -1 */
	struct pinshm_meta *meta;	/* metadata page mapping */
	void *data;
	uint64_t size;
	void *map_base;			/* shm: what to munmap */
	size_t map_len;
	char name[PINSHM_NAME_MAX];
};

struct pinshm_backend_ops {
	int (*create)(struct pinshm_region *r, const struct pinshm_region_opts *o);
	int (*open)(struct pinshm_region *r, int access);
	void (*close)(struct pinshm_region *r);
	int (*destroy)(const char *name);
	int (*list)(char (*names)[PINSHM_NAME_MAX], unsigned int max);
	int (*recover)(struct pinshm_region *r);
	int (*phys)(const struct pinshm_region *r, uint64_t *phys);
};

extern const struct pinshm_backend_ops __pinshm_shm_ops;
extern const struct pinshm_backend_ops __pinshm_kmod_ops;

/* wait.c: what a handle's wake and wait need of region r, queue wq */
void __pinshm_waitq_ref_init(struct pinshm_waitq_ref *ref,
			     const struct pinshm_region *r,
			     const struct pinshm_waitq *wq);
/* wait.c: sleep on a ring's queue; ro: a reader on a read-only mapping,
 * which arms ref->ro_pending (__pinshm_waitq_kick_ro()) */
int __pinshm_waitq_sleep(struct pinshm_waitq *wq,
			 const struct pinshm_waitq_ref *ref,
			 bool (*ready)(void *arg), void *arg, int64_t timeout_ns,
			 bool ro);

/* util.c */
uint64_t __pinshm_wall_ns(void);
uint64_t __pinshm_mono_ns(void);
int __pinshm_pid_start_time(pid_t pid, uint64_t *start_ns, char *state);
bool __pinshm_pid_alive(uint32_t pid, uint64_t start_ns);
uint32_t __pinshm_start_fp(uint64_t start_ns);
bool __pinshm_pid_alive_fp(uint32_t pid, uint32_t fp);
int __pinshm_self_start_time(uint64_t *start_ns);
int __pinshm_cmp_names(const void *a, const void *b);
bool __pinshm_is_pow2(uint64_t v);

/* region.c */
int __pinshm_meta_check(const struct pinshm_meta *m, int backend,
			const char *name);
void __pinshm_meta_write_begin(struct pinshm_meta *m);
void __pinshm_meta_write_end(struct pinshm_meta *m);

/* mpsc.c: this process's start time as the metadata page records it
 * (-EPERM: no attach of its own); and whether (pid, start) has no
 * ATTACHED entry left in m, so can never write the region again */
int __pinshm_self_meta_start(struct pinshm_region *r, uint64_t *out);
bool __pinshm_meta_owner_gone(const struct pinshm_meta *m, uint32_t pid,
			      uint64_t start);

/* dir.c */
void __pinshm_dir_init(struct pinshm_region *r);
int __pinshm_dir_add(struct pinshm_region *r, const char *name, uint32_t type,
		     uint64_t obj_size, uint64_t capacity, uint64_t param0,
		     void (*init)(void *obj, void *arg), void *arg);
int __pinshm_dir_get(const struct pinshm_region *r, const char *name,
		     struct pinshm_obj_info *out);
/* dead: the holder replaced (a dead one's pid), 0 if the word was free */
int __pinshm_role_take(struct pinshm_role *role, uint32_t *dead);
void __pinshm_role_drop(struct pinshm_role *role);
/*
 * A role of pinshm_X_attach() for a ring with ids producer slots:
 * PINSHM_CONSUMER, or PINSHM_PRODUCER with *id set (-1: the first free
 * one, from PINSHM_PRODUCER_ID(-1) alias PINSHM_PRODUCER); -EINVAL for
 * anything else, an id out of range included.
 */
static inline int __pinshm_role_parse(int role, int ids, int *id)
{
	if (role == PINSHM_CONSUMER)
		return PINSHM_CONSUMER;
	if (role <= 0 || role % 256 != PINSHM_PRODUCER ||
	    role / 256 - 1 >= ids)
		return -EINVAL;
	*id = role / 256 - 1;
	return PINSHM_PRODUCER;
}

/* This process's role word: PINSHM_ROLE_WORD(pid, start fingerprint) */
uint64_t __pinshm_role_self(void);

/* spsc.c, for the lanes of a fan-in ring (fanin.c) */
bool __pinshm_spsc_geometry_ok(uint64_t cap, uint64_t max_record);
bool __pinshm_spsc_hdr_ok(const struct pinshm_spsc_shared *sh, uint64_t cap,
			  uint64_t max_record);
void __pinshm_spsc_init(void *obj, uint64_t capacity, uint64_t max_record);
void __pinshm_spsc_handle(struct pinshm_spsc *ring,
			  const struct pinshm_region *r,
			  struct pinshm_spsc_shared *sh, uint64_t cap,
			  uint64_t max_record, int role,
			  struct pinshm_waitq *wq);
/* after the role is taken: recover the producer's position, or resume the
 * consumer's; -EBADMSG */
int __pinshm_spsc_producer_resume(struct pinshm_spsc *ring);
int __pinshm_spsc_consumer_resume(struct pinshm_spsc *ring);
/* wait.c: would pinshm_spsc_peek() find something (or something corrupt)? */
bool __pinshm_spsc_ready(const struct pinshm_spsc *r);

/* Per-type counters for pinshm_obj_stats() (obj.c dispatches on type). */
int __pinshm_spsc_stats(const struct pinshm_region *r, const char *name,
			struct pinshm_ring_stats *out);
int __pinshm_bcast_stats(const struct pinshm_region *r, const char *name,
			 struct pinshm_ring_stats *out);
int __pinshm_slot_stats(const struct pinshm_region *r, const char *name,
			struct pinshm_ring_stats *out);
int __pinshm_mpsc_stats(const struct pinshm_region *r, const char *name,
			struct pinshm_ring_stats *out);
int __pinshm_fanin_stats(const struct pinshm_region *r, const char *name,
			 struct pinshm_ring_stats *out);

#endif /* PINSHM_INTERNAL_H */
