// SPDX-License-Identifier: GPL-2.0
/*
 * pinshm: region objects, argument checks, permissions, caps, and the
 * physically contiguous, zeroed, pinned memory behind each region.
 *
 * Memory comes as order-0 pages with one reference each, so both paths
 * free the same way and a page still referenced elsewhere (a GUP pin, a
 * vmspliced pipe buffer) is only freed when that reference goes:
 *   <= 4 MiB: one buddy block (naturally aligned), split_page(), tail freed;
 *   >  4 MiB: a free-range search plus alloc_contig_range() (what
 *             alloc_contig_pages() does, which 6.1 does not export), over
 *             ZONE_NORMAL and below, at 2 MiB-aligned starts.
 * Nothing is on an LRU list and nothing has a mapping, so it is never
 * reclaimed, swapped or migrated: pinned.
 *
 * Charged to the creator: its memory cgroup (__GFP_ACCOUNT) for the struct,
 * the metadata page and buddy data (alloc_contig_range() cannot charge
 * one, and 6.1 exports no call that could), its user's locked_vm against
 * RLIMIT_MEMLOCK for data and metadata page; and counted against
 * max_regions, max_regions_per_uid and max_total_mb (pinshm_region_reserve()).
 */
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/hashtable.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/sched/user.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "pinshm_compat.h"
#include "pinshm_priv.h"
#include "pinshm_trace.h"

static unsigned int max_region_mb = 1024;
module_param(max_region_mb, uint, 0644);
MODULE_PARM_DESC(max_region_mb, "Largest region in MiB (default 1024); larger: -EFBIG");

static unsigned int max_total_mb;
module_param(max_total_mb, uint, 0644);
MODULE_PARM_DESC(max_total_mb, "All regions together in MiB, data, metadata and bookkeeping (default: half of RAM); over: -ENOSPC");

static unsigned int max_regions = 4096;
module_param(max_regions, uint, 0644);
MODULE_PARM_DESC(max_regions, "Regions in all (default 4096); over: -ENOSPC");

static unsigned int max_regions_per_uid = 256;
module_param(max_regions_per_uid, uint, 0644);
MODULE_PARM_DESC(max_regions_per_uid, "Regions per owner uid (default 256); over: -EDQUOT");

/*
 * What every region costs besides its data, counted against max_total_mb:
 * the metadata page, struct pinshm_region (a kmalloc size class), and an
 * estimate of its sysfs directory (a kobject and a dozen kernfs nodes).
 */
#define PINSHM_SYSFS_COST	2048
#define PINSHM_OVERHEAD_PAGES						\
	(1 + DIV_ROUND_UP(roundup_pow_of_two(sizeof(struct pinshm_region)) + \
			  PINSHM_SYSFS_COST, PAGE_SIZE))

/*
 * The region table's counts, under pinshm_acct_lock (a spinlock: regions
 * are released wherever their last reference goes): regions and pages of
 * every region not yet freed (destroyed ones still mapped included), and
 * regions per owner uid.
 */
static DEFINE_SPINLOCK(pinshm_acct_lock);
static unsigned long pinshm_total_pages;
static unsigned int pinshm_nr_regions;

#define PINSHM_UID_BITS		6
static DEFINE_HASHTABLE(pinshm_uids, PINSHM_UID_BITS);

struct pinshm_uid {
	struct hlist_node node;
	kuid_t uid;
	unsigned int regions;
};

#define PINSHM_HUGE_PAGES	(PINSHM_HUGE_SIZE >> PAGE_SHIFT)

void pinshm_caps_init(void)
{
	if (!max_total_mb)
		max_total_mb = max(1UL,
				   totalram_pages() >> (21 - PAGE_SHIFT));
}

/* 1..63 of [A-Za-z0-9._-], NUL-terminated, not starting with '.'. */
int pinshm_name_check(const char *name)
{
	size_t len = strnlen(name, PINSHM_NAME_MAX);
	size_t i;

	if (len == 0 || len == PINSHM_NAME_MAX || name[0] == '.')
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];

		/* Not isalnum(): the kernel's ctype accepts Latin-1 letters. */
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '.' && c != '_' && c != '-')
			return -EINVAL;
	}
	return 0;
}

int pinshm_node_check(s32 node)
{
	if (node == PINSHM_NODE_ANY)
		return 0;
	if (node < 0 || node >= nr_node_ids || !node_online(node) ||
	    !node_state(node, N_MEMORY))
		return -EINVAL;
	return 0;
}

/* bytes as given by CREATE: -EINVAL for 0, -EFBIG above max_region_mb. */
int pinshm_size_check(u64 bytes)
{
	if (!bytes)
		return -EINVAL;
	if (bytes > (u64)READ_ONCE(max_region_mb) * SZ_1M)
		return -EFBIG;
	return 0;
}

/*
 * The ipcperms() model: owner bits if fsuid owns the region, else group
 * bits if in its group, else other bits; CAP_IPC_OWNER in the initial user
 * namespace overrides (regions are global, so no ns_capable()).
 */
bool pinshm_may_access(const struct pinshm_region *r, bool write)
{
	umode_t want = write ? 0006 : 0004;	/* rw- or r-- */
	umode_t granted = r->mode;

	if (uid_eq(current_fsuid(), r->uid))
		granted >>= 6;
	else if (in_group_p(r->gid))
		granted >>= 3;
	if (!(want & ~granted & 0007))
		return true;
	return capable(CAP_IPC_OWNER);
}

bool pinshm_is_owner(const struct pinshm_region *r)
{
	return uid_eq(current_fsuid(), r->uid) || capable(CAP_IPC_OWNER);
}

/*
 * A region in state CREATING, holding one reference (the name table's) and
 * one module reference; arguments were checked by the caller.
 */
struct pinshm_region *pinshm_region_new(const char *name, u64 bytes,
					umode_t mode)
{
	struct pinshm_region *r;
	int i;

	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-ENODEV);
	/* At its memcg's limit CREATE fails: no OOM kill (RETRY_MAYFAIL). */
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL);
	if (!r) {
		module_put(THIS_MODULE);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&r->ref);
	INIT_LIST_HEAD(&r->link);
	INIT_HLIST_NODE(&r->hnode);
	r->state = PINSHM_CREATING;
	strscpy(r->name, name, sizeof(r->name));
	r->nr_pages = PAGE_ALIGN(bytes) >> PAGE_SHIFT;
	r->nid = NUMA_NO_NODE;
	r->uid = current_fsuid();
	r->gid = current_fsgid();
	r->mode = mode ? mode : 0600;
	r->created_ns = ktime_get_real_ns();
	r->born_ns = ktime_get_boottime_ns();
	mutex_init(&r->lock);
	init_waitqueue_head(&r->waitq);
	for (i = 0; i < PINSHM_WAITQ_NR; i++)
		init_waitqueue_head(&r->wordq[i]);
	for (i = 0; i < PINSHM_WAKEQ_NR; i++)
		init_waitqueue_head(&r->wakeq[i]);
	return r;
}

static struct pinshm_uid *pinshm_uid_find(kuid_t uid)
{
	struct pinshm_uid *u;

	lockdep_assert_held(&pinshm_acct_lock);
	hash_for_each_possible(pinshm_uids, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/*
 * Charge nr pages to user's locked memory against the caller's
 * RLIMIT_MEMLOCK, as io_uring and RDMA charge pinned memory that outlives
 * the process: on the user, not the mm. -EPERM over the limit.
 * locked_vm is a counter only (io_uring and others add to it the same
 * way): nothing is published through it, so it pairs with no barrier.
 */
static int pinshm_lock_pages(struct user_struct *user, unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	long cur = atomic_long_read(&user->locked_vm);

	do {
		if (nr > limit || cur > limit - nr)
			return -EPERM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, cur + nr));
	return 0;
}

/*
 * Count the region against the caps (table: -ENOSPC; its owner's regions:
 * -EDQUOT; max_total_mb: -ENOSPC) and charge its pinned pages to the
 * caller's locked memory (-EPERM over RLIMIT_MEMLOCK, CAP_IPC_LOCK
 * exempt). Undone by pinshm_region_release(). Caller holds pinshm_lock.
 */
int pinshm_region_reserve(struct pinshm_region *r)
{
	unsigned long cap = (unsigned long)READ_ONCE(max_total_mb) <<
			    (20 - PAGE_SHIFT);
	unsigned long pages = r->nr_pages + PINSHM_OVERHEAD_PAGES;
	struct pinshm_uid *u, *nu;
	int ret = 0;

	lockdep_assert_held(&pinshm_lock);
	nu = kzalloc(sizeof(*nu), GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL);
	if (!nu)
		return -ENOMEM;
	nu->uid = r->uid;

	spin_lock(&pinshm_acct_lock);
	u = pinshm_uid_find(r->uid);
	if (pinshm_nr_regions >= READ_ONCE(max_regions))
		ret = -ENOSPC;
	else if (u && u->regions >= READ_ONCE(max_regions_per_uid))
		ret = -EDQUOT;
	else if (!READ_ONCE(max_regions_per_uid))
		ret = -EDQUOT;
	else if (pages > cap || pinshm_total_pages > cap - pages)
		ret = -ENOSPC;
	if (!ret) {
		if (!u) {
			u = nu;
			nu = NULL;
			hash_add(pinshm_uids, &u->node, __kuid_val(u->uid));
		}
		u->regions++;
		pinshm_nr_regions++;
		pinshm_total_pages += pages;
		r->cost_pages = pages;
		r->accounted = true;
	}
	spin_unlock(&pinshm_acct_lock);
	kfree(nu);
	if (ret)
		return ret;

	/* Data and metadata page: what is pinned. */
	if (!capable(CAP_IPC_LOCK)) {
		struct user_struct *user = get_uid(current_user());

		ret = pinshm_lock_pages(user, r->nr_pages + 1);
		if (ret) {
			free_uid(user);
			return ret;	/* the caps go with the region */
		}
		r->locked_user = user;
	}
	return 0;
}

static void pinshm_region_unreserve(struct pinshm_region *r)
{
	struct pinshm_uid *u;

	if (r->locked_user) {
		atomic_long_sub(r->nr_pages + 1, &r->locked_user->locked_vm);
		free_uid(r->locked_user);
	}
	if (!r->accounted)
		return;
	spin_lock(&pinshm_acct_lock);
	pinshm_total_pages -= r->cost_pages;
	pinshm_nr_regions--;
	u = pinshm_uid_find(r->uid);
	if (!WARN_ON_ONCE(!u) && !--u->regions) {
		hash_del(&u->node);
		kfree(u);
	}
	spin_unlock(&pinshm_acct_lock);
}

static void pinshm_free_pages(struct page *page, unsigned long nr)
{
	unsigned long i;

	/* Drops our reference; a page pinned elsewhere goes later. */
	for (i = 0; i < nr; i++) {
		__free_page(nth_page(page, i));
		if (!(i & 511))
			cond_resched();
	}
}

static struct page *pinshm_alloc_buddy(unsigned long nr, int node)
{
	unsigned int order = get_order(nr << PAGE_SHIFT);
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN |
		    __GFP_RETRY_MAYFAIL;
	struct page *page;
	unsigned long i;

	if (node == PINSHM_NODE_ANY)
		page = alloc_pages(gfp, order);
	else
		page = alloc_pages_node(node, gfp | __GFP_THISNODE, order);
	if (!page)
		return NULL;
	/* One reference per page, like alloc_contig_range() gives. */
	split_page(page, order);
	for (i = nr; i < (1UL << order); i++)
		__free_page(nth_page(page, i));
	return page;
}

static bool pinshm_pfn_usable(struct zone *z, unsigned long pfn)
{
	struct page *page = pfn_to_online_page(pfn);

	return page && page_zone(page) == z && !PageReserved(page) &&
	       !PageHuge(page);
}

/*
 * First fit in one zone. Starts are 2 MiB aligned; pfns before checked
 * already passed pinshm_pfn_usable(), so each pfn is scanned about once.
 */
static int pinshm_alloc_contig_zone(struct zone *z, unsigned long nr,
				    struct page **out)
{
	unsigned long end = zone_end_pfn(z);
	unsigned long pfn = ALIGN(z->zone_start_pfn, PINSHM_HUGE_PAGES);
	unsigned long checked = pfn;
	int ret;

	while (pfn < end && nr <= end - pfn) {
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
		if (checked < pfn)
			checked = pfn;
		while (checked < pfn + nr && pinshm_pfn_usable(z, checked))
			checked++;
		if (checked < pfn + nr) {
			pfn = ALIGN(checked + 1, PINSHM_HUGE_PAGES);
			continue;
		}
		ret = alloc_contig_range(pfn, pfn + nr, MIGRATE_MOVABLE,
					 GFP_KERNEL | __GFP_NOWARN);
		if (!ret) {
			*out = pfn_to_page(pfn);
			return 0;
		}
		if (ret == -EINTR)
			return ret;
		pfn += PINSHM_HUGE_PAGES;	/* -EBUSY, -ENOMEM: next start */
	}
	return -ENOMEM;
}

/* Pinned memory stays out of ZONE_MOVABLE and ZONE_DEVICE. */
static int pinshm_alloc_contig_node(int nid, unsigned long nr,
				    struct page **out)
{
	pg_data_t *pgdat = NODE_DATA(nid);
	int zi, ret;

	for (zi = ZONE_NORMAL; zi >= 0; zi--) {
		struct zone *z = &pgdat->node_zones[zi];

		if (!populated_zone(z))
			continue;
		ret = pinshm_alloc_contig_zone(z, nr, out);
		if (ret != -ENOMEM)
			return ret;
	}
	return -ENOMEM;
}

static int pinshm_alloc_contig(unsigned long nr, int node, struct page **out)
{
	int first = numa_node_id();
	int nid, ret;

	if (node != PINSHM_NODE_ANY)
		return pinshm_alloc_contig_node(node, nr, out);
	if (node_state(first, N_MEMORY)) {
		ret = pinshm_alloc_contig_node(first, nr, out);
		if (ret != -ENOMEM)
			return ret;
	}
	for_each_node_state(nid, N_MEMORY) {
		if (nid == first)
			continue;
		ret = pinshm_alloc_contig_node(nid, nr, out);
		if (ret != -ENOMEM)
			return ret;
	}
	return -ENOMEM;
}

static void pinshm_zero_pages(struct page *page, unsigned long nr)
{
	unsigned long i;

	for (i = 0; i < nr; i++) {
		clear_highpage(nth_page(page, i));
		if (!(i & 511))
			cond_resched();
	}
}

/*
 * Allocate the data (on node, or anywhere for PINSHM_NODE_ANY) and the
 * metadata page (next to the data), and initialise the metadata.
 * -ENOMEM: no contiguous memory now; -EINTR: fatal signal while searching.
 */
int pinshm_region_alloc(struct pinshm_region *r, int node)
{
	u64 bytes = (u64)r->nr_pages << PAGE_SHIFT;
	struct page *page = NULL;
	int ret = 0;

	if (r->nr_pages <= (1UL << PINSHM_BUDDY_MAX_ORDER)) {
		page = pinshm_alloc_buddy(r->nr_pages, node);
		if (!page)
			ret = -ENOMEM;
	} else {
		ret = pinshm_alloc_contig(r->nr_pages, node, &page);
		if (!ret)
			pinshm_zero_pages(page, r->nr_pages);
	}
	if (ret) {
		trace_pinshm_alloc_fail(bytes, get_order(bytes), node, ret,
					r->name);
		return ret;
	}
	r->pages = page;
	r->nid = page_to_nid(page);

	r->meta_page = alloc_pages_node(r->nid, GFP_KERNEL_ACCOUNT | __GFP_ZERO |
					__GFP_RETRY_MAYFAIL, 0);
	if (!r->meta_page) {
		trace_pinshm_alloc_fail(PAGE_SIZE, 0, r->nid, -ENOMEM,
					r->name);
		return -ENOMEM;	/* r->pages goes with the region */
	}
	r->meta = page_address(r->meta_page);

	r->flags = PINSHM_F_CONTIGUOUS | PINSHM_F_PINNED;
	if (bytes >= PINSHM_HUGE_SIZE &&
	    IS_ALIGNED(page_to_phys(page), PINSHM_HUGE_SIZE))
		r->flags |= PINSHM_F_HUGE_ALIGNED;
	pinshm_meta_init(r);
	return 0;
}

phys_addr_t pinshm_region_phys(const struct pinshm_region *r)
{
	return page_to_phys(r->pages);
}

/* Last reference gone: no fd, no mapping, name unlinked. */
void pinshm_region_release(struct kref *ref)
{
	struct pinshm_region *r = container_of(ref, struct pinshm_region, ref);

	if (r->pages)
		pinshm_free_pages(r->pages, r->nr_pages);
	if (r->meta_page)
		__free_page(r->meta_page);
	pinshm_region_unreserve(r);
	mutex_destroy(&r->lock);
	kfree(r);
	/* The caller holds a file or the control fd, which pin the module. */
	module_put(THIS_MODULE);
}
