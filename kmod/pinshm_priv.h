/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinshm: internal definitions shared by the module's files.
 *
 * Objects and their lifetimes:
 *
 *   struct pinshm_region   one named region. Reference counted (ref): the
 *                          name table holds one reference while the name
 *                          is linked (until DESTROY), every region fd holds
 *                          one. A VMA holds its region fd (vm_file), so the
 *                          memory goes when the last fd and mapping go.
 *                          Each region also holds one module reference.
 *   struct pinshm_file     private data of one region fd (acknowledged
 *                          generation for poll/read).
 *   struct pinshm_mapping  vm_private_data of one data VMA: one attach.
 *
 * Locks (never nested in each other):
 *   pinshm_lock    global mutex: the name table (a list in creation order
 *                  and a hash by name), region->state, the sysfs region
 *                  dirs.
 *   region->lock   per-region mutex: the metadata page, the attach table
 *                  and the counters mirrored from it. Taken inside
 *                  mmap_lock by ->mmap and ->close.
 * No user memory is touched under either.
 */
#ifndef _PINSHM_PRIV_H
#define _PINSHM_PRIV_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/pinshm.h>

#define PINSHM_HUGE_SIZE	SZ_2M

struct file;
struct kobject;
struct mm_struct;
struct page;
struct pid;
struct user_struct;

/* region->state, under pinshm_lock */
enum pinshm_state {
	PINSHM_CREATING,	/* name reserved, memory being allocated */
	PINSHM_LIVE,		/* visible to OPEN, INFO, LIST and sysfs */
	PINSHM_UNLINKED,	/* destroyed or failed: no longer in the table */
};

/* Kernel-side shadow of attach slot i (meta->attach[i]), under region->lock. */
struct pinshm_attach_slot {
	struct pinshm_mapping *map;	/* owner while ATTACHED, else NULL */
	u64 ended;			/* region->slot_clock when it ended */
};

/*
 * Queues for the WAIT sleepers of a region that count themselves in their
 * ring (all but read-only ones): a WAKE wakes only the sleepers of words
 * that hash alike, not those of every ring whose wait queue sits at the
 * same offset of its page, as the PINSHM_WAITQ_NR queues would.
 */
#define PINSHM_WAKEQ_BITS	6
#define PINSHM_WAKEQ_NR		(1 << PINSHM_WAKEQ_BITS)

struct pinshm_region {
	struct kref ref;
	struct list_head link;		/* in pinshm_regions, under pinshm_lock */
	struct hlist_node hnode;	/* in the name hash, under pinshm_lock */
	enum pinshm_state state;	/* under pinshm_lock */
	struct kobject *kobj;		/* sysfs dir while LIVE */
	char name[PINSHM_NAME_MAX];

	/* Set before the region is LIVE, constant afterwards. */
	struct page *pages;		/* first of nr_pages contiguous pages */
	unsigned long nr_pages;
	bool accounted;			/* counted in the caps (cost_pages) */
	unsigned long cost_pages;	/* data, metadata page, bookkeeping */
	struct user_struct *locked_user; /* charged nr_pages + 1, or NULL */
	struct page *meta_page;
	struct pinshm_meta *meta;	/* page_address(meta_page) */
	int nid;			/* node the memory is on */
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	u64 created_ns;			/* CLOCK_REALTIME, for the metadata */
	u64 born_ns;			/* CLOCK_BOOTTIME, for lifetimes */

	/* The metadata page and everything below, written under lock. */
	struct mutex lock;
	u32 flags;			/* PINSHM_F_*; READ_ONCE for sysfs */
	u64 generation;			/* READ_ONCE for poll, read and sysfs */
	u64 crashes;
	u32 nr_attached;
	u64 slot_clock;			/* orders ended slots for reuse */
	struct pinshm_attach_slot attach_slots[PINSHM_MAX_ATTACH];
	struct list_head untracked;	/* read-only mappings without a slot */
	u32 nr_untracked;
	u64 untracked_total;

	wait_queue_head_t waitq;	/* pollers of the generation */
	/* Read-only WAIT sleepers, by their ro_pending word (uapi header). */
	wait_queue_head_t wordq[PINSHM_WAITQ_NR];
	/* The other WAIT sleepers, by a hash of their word's 128-byte block. */
	wait_queue_head_t wakeq[PINSHM_WAKEQ_NR];
};

/* One region fd. */
struct pinshm_file {
	struct pinshm_region *region;
	u64 acked;			/* generation last returned by read() */
};

/* One data mapping (attach); owned by its VMA. */
struct pinshm_mapping {
	struct pinshm_region *region;
	struct mm_struct *mm;		/* identity only, never dereferenced */
	struct pid *pid;		/* thread group of the attacher */
	pid_t tgid;			/* in the initial pid namespace */
	u16 access;			/* PINSHM_ACC_* */
	int slot;			/* index while ATTACHED, else -1; */
					/* PINSHM_UNTRACKED: attached, no slot */
	struct list_head node;		/* in region->untracked then */
	u64 start_time;			/* of the attacher, CLOCK_BOOTTIME */
	u64 since;			/* attached then (CLOCK_BOOTTIME) */
};

#define PINSHM_UNTRACKED	(-2)

/*
 * An ioctl command's type, number and direction: the size bits may differ,
 * a larger (newer) struct reaches the same handler (pinshm_copy_in()).
 */
#define PINSHM_IOC_BASE(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/* pinshm_main.c */
extern struct mutex pinshm_lock;
int pinshm_copy_in(void *k, size_t ksize, size_t min, void __user *uarg,
		   u32 *usize);
long pinshm_ioc_detach(struct pinshm_region *r, void __user *uarg);
long pinshm_ioc_region_info(struct pinshm_region *r, void __user *uarg);

/* pinshm_file.c */
struct file *pinshm_region_file(struct pinshm_region *r, bool write);

/* pinshm_wait.c */
long pinshm_ioc_wait(struct pinshm_region *r, void __user *uarg);
long pinshm_ioc_wake(struct file *file, struct pinshm_region *r,
		     void __user *uarg);

/* pinshm_sysfs.c */
int pinshm_sysfs_init(struct kobject *parent);
void pinshm_sysfs_exit(void);
bool pinshm_sysfs_ready(void);
int pinshm_sysfs_add(struct pinshm_region *r);
void pinshm_sysfs_del(struct pinshm_region *r);

/* pinshm_region.c */
void pinshm_caps_init(void);
int pinshm_name_check(const char *name);
int pinshm_node_check(s32 node);
int pinshm_size_check(u64 bytes);
bool pinshm_may_access(const struct pinshm_region *r, bool write);
bool pinshm_is_owner(const struct pinshm_region *r);
struct pinshm_region *pinshm_region_new(const char *name, u64 bytes,
					umode_t mode);
int pinshm_region_reserve(struct pinshm_region *r);
int pinshm_region_alloc(struct pinshm_region *r, int node);
void pinshm_region_release(struct kref *ref);
phys_addr_t pinshm_region_phys(const struct pinshm_region *r);

static inline void pinshm_region_get(struct pinshm_region *r)
{
	kref_get(&r->ref);
}

static inline void pinshm_region_put(struct pinshm_region *r)
{
	kref_put(&r->ref, pinshm_region_release);
}

/* pinshm_mmap.c */
int pinshm_region_mmap(struct file *file, struct vm_area_struct *vma);

/* pinshm_meta.c */
void pinshm_meta_init(struct pinshm_region *r);
int pinshm_meta_attach(struct pinshm_region *r, struct pinshm_mapping *map);
int pinshm_meta_detach_mm(struct pinshm_region *r, struct mm_struct *mm);
void pinshm_meta_end_attach(struct pinshm_region *r,
			    struct pinshm_mapping *map, u16 state, int code);
void pinshm_meta_set_destroyed(struct pinshm_region *r);

#endif /* _PINSHM_PRIV_H */
