// SPDX-License-Identifier: GPL-2.0
/*
 * pinshm: named, pinned, physically contiguous shared-memory regions.
 *
 * /dev/pinshm is the control device (CREATE, OPEN, DESTROY, LIST, INFO);
 * CREATE and OPEN return a region fd (pinshm_file.c: mmap, poll, read,
 * DETACH, INFO, WAIT, WAKE). Regions are listed, in creation order, by LIST
 * and under /sys/class/misc/pinshm/regions/<name>/ (pinshm_sysfs.c).
 *
 * Here: module init and exit, the misc device, the name table, and the
 * handlers of every ioctl but WAIT and WAKE (pinshm_wait.c). Elsewhere:
 * region memory, checks and permissions in pinshm_region.c, mappings in
 * pinshm_mmap.c, the metadata page in pinshm_meta.c, kernel-version
 * differences in pinshm_compat.h.
 *
 * ioctl structs start with __u32 size and are read with
 * copy_struct_from_user(). Commands are matched on type, number and
 * direction, not on the size bits, so a larger (newer) struct reaches the
 * same handler and is judged by its size field.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringhash.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "pinshm_priv.h"

#define CREATE_TRACE_POINTS
#include "pinshm_trace.h"

static_assert(sizeof(struct pinshm_create) == 88);
static_assert(sizeof(struct pinshm_open) == 72);
static_assert(sizeof(struct pinshm_destroy) == 72);
static_assert(sizeof(struct pinshm_detach) == 8);
static_assert(sizeof(struct pinshm_list) == 24);
static_assert(sizeof(struct pinshm_info) == 136);

/* Protects pinshm_regions, pinshm_names, region->state and the sysfs dirs. */
DEFINE_MUTEX(pinshm_lock);
static LIST_HEAD(pinshm_regions);		/* creation order, for LIST */
#define PINSHM_NAME_BITS	10
static DEFINE_HASHTABLE(pinshm_names, PINSHM_NAME_BITS);	/* by name */

/* /dev/pinshm's mode; its group comes from the udev rule, else root. */
static unsigned int open_mode = 0660;
module_param(open_mode, uint, 0444);
MODULE_PARM_DESC(open_mode, "Mode of /dev/pinshm (default 0660: root and group pinshm by the udev rule; 0666: everyone)");

/* ---- name table ---- */

static u32 pinshm_name_hash(const char *name)
{
	return full_name_hash(NULL, name, strlen(name));
}

/* Any state: a name being created is taken too. */
static struct pinshm_region *pinshm_lookup(const char *name)
{
	struct pinshm_region *r;

	lockdep_assert_held(&pinshm_lock);
	hash_for_each_possible(pinshm_names, r, hnode, pinshm_name_hash(name))
		if (!strcmp(r->name, name))
			return r;
	return NULL;
}

/* A LIVE region, with a reference, or NULL. */
static struct pinshm_region *pinshm_find_get(const char *name)
{
	struct pinshm_region *r = pinshm_lookup(name);

	if (!r || r->state != PINSHM_LIVE)
		return NULL;
	pinshm_region_get(r);
	return r;
}

static void pinshm_link(struct pinshm_region *r)
{
	lockdep_assert_held(&pinshm_lock);
	list_add_tail(&r->link, &pinshm_regions);
	hash_add(pinshm_names, &r->hnode, pinshm_name_hash(r->name));
}

static void pinshm_unlink(struct pinshm_region *r)
{
	lockdep_assert_held(&pinshm_lock);
	list_del(&r->link);
	hash_del(&r->hnode);
	r->state = PINSHM_UNLINKED;
}

/* ---- ioctls: every struct read with pinshm_copy_in() ---- */

/*
 * Read an ioctl struct: its first __u32 is its size, at least min (the
 * first version of the struct), at most a page; unknown non-zero trailing
 * bytes give -E2BIG.
 */
int pinshm_copy_in(void *k, size_t ksize, size_t min, void __user *uarg,
		   u32 *usize)
{
	u32 size;
	int ret;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size < min)
		return -EINVAL;
	if (size > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(k, ksize, uarg, size);
	if (ret)
		return ret;
	*usize = size;
	return 0;
}

static void pinshm_info_fill(struct pinshm_region *r, struct pinshm_info *k)
{
	struct user_namespace *ns = current_user_ns();

	memcpy(k->name, r->name, sizeof(k->name));
	k->bytes = (u64)r->nr_pages << PAGE_SHIFT;
	/* A question, not an access decision: no audit record. */
	k->phys_addr = ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN) ?
		       pinshm_region_phys(r) : 0;
	k->created_ns = r->created_ns;
	k->node = r->nid;
	k->uid = from_kuid_munged(ns, r->uid);
	k->gid = from_kgid_munged(ns, r->gid);
	k->mode = r->mode;
	mutex_lock(&r->lock);
	k->generation = r->generation;
	k->crashes = r->crashes;
	k->region_flags = r->flags;
	k->nr_attached = r->nr_attached;
	mutex_unlock(&r->lock);
}

static long pinshm_info_out(struct pinshm_region *r, struct pinshm_info *k,
			    void __user *uarg, u32 usize)
{
	pinshm_info_fill(r, k);
	if (copy_to_user(uarg, k, min_t(size_t, usize, sizeof(*k))))
		return -EFAULT;
	return 0;
}

/* DETACH and INFO of a region fd (pinshm_file.c dispatches them) */
long pinshm_ioc_detach(struct pinshm_region *r, void __user *uarg)
{
	struct pinshm_detach k;
	u32 usize;
	int ret;

	ret = pinshm_copy_in(&k, sizeof(k), sizeof(k), uarg, &usize);
	if (ret)
		return ret;
	if (k.flags)
		return -EINVAL;
	pinshm_meta_detach_mm(r, current->mm);
	return 0;
}

long pinshm_ioc_region_info(struct pinshm_region *r, void __user *uarg)
{
	struct pinshm_info k;
	u32 usize;
	int ret;

	ret = pinshm_copy_in(&k, sizeof(k), sizeof(k), uarg, &usize);
	if (ret)
		return ret;
	if (k.flags)
		return -EINVAL;
	return pinshm_info_out(r, &k, uarg, usize);
}

/* ---- control device ioctls ---- */

static long pinshm_ioc_create(void __user *uarg)
{
	struct pinshm_region *r;
	struct pinshm_create k;
	struct file *file;
	u32 usize;
	int fd, ret;

	ret = pinshm_copy_in(&k, sizeof(k), sizeof(k), uarg, &usize);
	if (ret)
		return ret;
	if (k.flags || (k.mode & ~0777))
		return -EINVAL;
	ret = pinshm_name_check(k.name);
	if (!ret)
		ret = pinshm_node_check(k.node);
	if (!ret)
		ret = pinshm_size_check(k.bytes);
	if (ret)
		return ret;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	r = pinshm_region_new(k.name, k.bytes, k.mode);
	if (IS_ERR(r)) {
		ret = PTR_ERR(r);
		goto out_put_fd;
	}

	/* Reserve the name and the memory; allocate without the lock. */
	mutex_lock(&pinshm_lock);
	if (!pinshm_sysfs_ready())
		ret = -ENODEV;
	else if (pinshm_lookup(k.name))
		ret = -EEXIST;
	else
		ret = pinshm_region_reserve(r);
	if (!ret)
		pinshm_link(r);
	mutex_unlock(&pinshm_lock);
	if (ret)
		goto out_put_region;

	ret = pinshm_region_alloc(r, k.node);
	if (ret)
		goto out_unlink;
	file = pinshm_region_file(r, true);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto out_unlink;
	}

	mutex_lock(&pinshm_lock);
	ret = pinshm_sysfs_add(r);
	if (!ret)
		r->state = PINSHM_LIVE;
	mutex_unlock(&pinshm_lock);
	if (ret)
		goto out_fput;

	trace_pinshm_region_create(r->name, (u64)r->nr_pages << PAGE_SHIFT,
				   r->nid, r->flags,
				   from_kuid(&init_user_ns, r->uid), r->mode);
	fd_install(fd, file);
	return fd;

out_fput:
	fput(file);
out_unlink:
	mutex_lock(&pinshm_lock);
	pinshm_unlink(r);
	mutex_unlock(&pinshm_lock);
out_put_region:
	pinshm_region_put(r);
out_put_fd:
	put_unused_fd(fd);
	return ret;
}

static long pinshm_ioc_open(void __user *uarg)
{
	struct pinshm_region *r;
	struct pinshm_open k;
	struct file *file;
	bool write;
	u32 usize;
	int fd, ret;

	ret = pinshm_copy_in(&k, sizeof(k), sizeof(k), uarg, &usize);
	if (ret)
		return ret;
	if (k.flags & ~PINSHM_OPEN_WRITE)
		return -EINVAL;
	ret = pinshm_name_check(k.name);
	if (ret)
		return ret;
	write = k.flags & PINSHM_OPEN_WRITE;

	mutex_lock(&pinshm_lock);
	r = pinshm_find_get(k.name);
	mutex_unlock(&pinshm_lock);
	if (!r)
		return -ENOENT;
	if (!pinshm_may_access(r, write)) {
		ret = -EACCES;
		goto out_put_region;
	}

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto out_put_region;
	}
	file = pinshm_region_file(r, write);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto out_put_fd;
	}
	pinshm_region_put(r);
	fd_install(fd, file);
	return fd;

out_put_fd:
	put_unused_fd(fd);
out_put_region:
	pinshm_region_put(r);
	return ret;
}

static long pinshm_ioc_destroy(void __user *uarg)
{
	struct pinshm_destroy k;
	struct pinshm_region *r;
	u32 usize;
	int ret;

	ret = pinshm_copy_in(&k, sizeof(k), sizeof(k), uarg, &usize);
	if (ret)
		return ret;
	if (k.flags)
		return -EINVAL;
	ret = pinshm_name_check(k.name);
	if (ret)
		return ret;

	mutex_lock(&pinshm_lock);
	r = pinshm_find_get(k.name);
	if (!r) {
		mutex_unlock(&pinshm_lock);
		return -ENOENT;
	}
	if (!pinshm_is_owner(r)) {
		mutex_unlock(&pinshm_lock);
		pinshm_region_put(r);
		return -EPERM;
	}
	/* Unlink: the name is free again, OPEN gives -ENOENT. */
	pinshm_unlink(r);
	pinshm_sysfs_del(r);
	mutex_unlock(&pinshm_lock);

	pinshm_meta_set_destroyed(r);
	trace_pinshm_region_destroy(r->name, (u64)r->nr_pages << PAGE_SHIFT,
				    READ_ONCE(r->generation),
				    READ_ONCE(r->crashes),
				    READ_ONCE(r->nr_attached),
				    ktime_get_boottime_ns() - r->born_ns);
	pinshm_region_put(r);	/* ours from pinshm_find_get() */
	pinshm_region_put(r);	/* the name table's */
	return 0;
}

static long pinshm_ioc_list(void __user *uarg)
{
	struct pinshm_list __user *ul = uarg;
	struct pinshm_region *r;
	struct pinshm_list k;
	u32 usize, total = 0, n = 0, cap;
	char *names = NULL;
	int ret;

	ret = pinshm_copy_in(&k, sizeof(k), sizeof(k), uarg, &usize);
	if (ret)
		return ret;
	if (k.__reserved)
		return -EINVAL;

	/* Size the buffer first: no allocation or user access under the lock. */
	mutex_lock(&pinshm_lock);
	list_for_each_entry(r, &pinshm_regions, link)
		total += r->state == PINSHM_LIVE;
	mutex_unlock(&pinshm_lock);
	cap = min(k.max, total);
	if (cap) {
		names = kvcalloc(cap, PINSHM_NAME_MAX, GFP_KERNEL);
		if (!names)
			return -ENOMEM;
	}

	total = 0;
	mutex_lock(&pinshm_lock);
	list_for_each_entry(r, &pinshm_regions, link) {
		if (r->state != PINSHM_LIVE)
			continue;
		if (n < cap)
			memcpy(names + (size_t)n++ * PINSHM_NAME_MAX, r->name,
			       PINSHM_NAME_MAX);
		total++;
	}
	mutex_unlock(&pinshm_lock);

	ret = n;
	if (n && copy_to_user(u64_to_user_ptr(k.names), names,
			      (size_t)n * PINSHM_NAME_MAX))
		ret = -EFAULT;
	else if (put_user(total, &ul->total))
		ret = -EFAULT;
	kvfree(names);
	return ret;
}

static long pinshm_ioc_info(void __user *uarg)
{
	struct pinshm_region *r;
	struct pinshm_info k;
	u32 usize;
	long ret;

	ret = pinshm_copy_in(&k, sizeof(k), sizeof(k), uarg, &usize);
	if (ret)
		return ret;
	if (k.flags)
		return -EINVAL;
	ret = pinshm_name_check(k.name);
	if (ret)
		return ret;

	mutex_lock(&pinshm_lock);
	r = pinshm_find_get(k.name);
	mutex_unlock(&pinshm_lock);
	if (!r)
		return -ENOENT;
	ret = pinshm_info_out(r, &k, uarg, usize);
	pinshm_region_put(r);
	return ret;
}

static long pinshm_ctl_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (PINSHM_IOC_BASE(cmd)) {
	case PINSHM_IOC_BASE(PINSHM_IOC_CREATE):
		return pinshm_ioc_create(uarg);
	case PINSHM_IOC_BASE(PINSHM_IOC_OPEN):
		return pinshm_ioc_open(uarg);
	case PINSHM_IOC_BASE(PINSHM_IOC_DESTROY):
		return pinshm_ioc_destroy(uarg);
	case PINSHM_IOC_BASE(PINSHM_IOC_LIST):
		return pinshm_ioc_list(uarg);
	case PINSHM_IOC_BASE(PINSHM_IOC_INFO):
		return pinshm_ioc_info(uarg);
	}
	return -ENOTTY;
}

static const struct file_operations pinshm_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = pinshm_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice pinshm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pinshm",
	.fops = &pinshm_ctl_fops,
};

/*
 * misc_register() is the last step that can fail: once /dev/pinshm exists
 * it can be opened, and a module whose init fails is freed under open
 * files. The regions directory can only go under the device registered,
 * so a failure to make it after that is not fatal: CREATE gives -ENODEV.
 */
static int __init pinshm_init(void)
{
	int ret;

	if (open_mode & ~0777) {
		pr_err("pinshm: open_mode=%#o: only permission bits\n",
		       open_mode);
		return -EINVAL;
	}
	pinshm_misc.mode = open_mode;
	pinshm_caps_init();
	/* CREATE waits on pinshm_lock until the regions dir exists. */
	mutex_lock(&pinshm_lock);
	ret = misc_register(&pinshm_misc);
	if (!ret && pinshm_sysfs_init(&pinshm_misc.this_device->kobj))
		pr_err("pinshm: no sysfs regions directory: CREATE fails with -ENODEV\n");
	mutex_unlock(&pinshm_lock);
	return ret;
}

/*
 * Nothing can use the device here: an open file holds a module reference,
 * and so does every region. The regions directory goes before the device
 * it lives under.
 */
static void __exit pinshm_exit(void)
{
	pinshm_sysfs_exit();
	misc_deregister(&pinshm_misc);
}

module_init(pinshm_init);
module_exit(pinshm_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("pinshm developers");
MODULE_DESCRIPTION("Named, pinned, physically contiguous shared-memory regions");
