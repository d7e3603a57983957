// SPDX-License-Identifier: GPL-2.0
/*
 * pinshm: /sys/class/misc/pinshm/regions/<name>/, one directory per LIVE
 * region with one value per file (size, node, generation, crashes,
 * attached, uid, gid, mode, flags; phys_addr for root only).
 *
 * The regions directory and every region directory change under
 * pinshm_lock. A region directory lives from CREATE to DESTROY.
 */
#include <linux/kobject.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/user_namespace.h>

#include "pinshm_priv.h"

static struct kobject *pinshm_regions_kobj;	/* NULL until init is done */

/*
 * kobject_del() waits for running show() calls, so region is valid in
 * them; the holder itself may outlive the region while a sysfs file stays
 * open.
 */
struct pinshm_kobj {
	struct kobject kobj;
	struct pinshm_region *region;
};

static struct pinshm_region *pinshm_kobj_region(struct kobject *kobj)
{
	return container_of(kobj, struct pinshm_kobj, kobj)->region;
}

#define PINSHM_SHOW(field, fmt, expr)					\
static ssize_t field##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	struct pinshm_region *r = pinshm_kobj_region(kobj);		\
									\
	return sysfs_emit(buf, fmt "\n", expr);				\
}

PINSHM_SHOW(size, "%llu", (u64)r->nr_pages << PAGE_SHIFT)
PINSHM_SHOW(node, "%d", r->nid)
PINSHM_SHOW(generation, "%llu", READ_ONCE(r->generation))
PINSHM_SHOW(crashes, "%llu", READ_ONCE(r->crashes))
PINSHM_SHOW(attached, "%u", READ_ONCE(r->nr_attached))
PINSHM_SHOW(uid, "%u", from_kuid(&init_user_ns, r->uid))
PINSHM_SHOW(gid, "%u", from_kgid(&init_user_ns, r->gid))
PINSHM_SHOW(mode, "%04o", r->mode)
PINSHM_SHOW(flags, "0x%x", READ_ONCE(r->flags))
PINSHM_SHOW(phys_addr, "0x%llx", (u64)pinshm_region_phys(r))

static struct kobj_attribute pinshm_attr_size = __ATTR_RO(size);
static struct kobj_attribute pinshm_attr_node = __ATTR_RO(node);
static struct kobj_attribute pinshm_attr_generation = __ATTR_RO(generation);
static struct kobj_attribute pinshm_attr_crashes = __ATTR_RO(crashes);
static struct kobj_attribute pinshm_attr_attached = __ATTR_RO(attached);
static struct kobj_attribute pinshm_attr_uid = __ATTR_RO(uid);
static struct kobj_attribute pinshm_attr_gid = __ATTR_RO(gid);
static struct kobj_attribute pinshm_attr_mode = __ATTR_RO(mode);
static struct kobj_attribute pinshm_attr_flags = __ATTR_RO(flags);
static struct kobj_attribute pinshm_attr_phys_addr = __ATTR_RO_MODE(phys_addr, 0400);

static struct attribute *pinshm_region_attrs[] = {
	&pinshm_attr_size.attr,
	&pinshm_attr_node.attr,
	&pinshm_attr_generation.attr,
	&pinshm_attr_crashes.attr,
	&pinshm_attr_attached.attr,
	&pinshm_attr_uid.attr,
	&pinshm_attr_gid.attr,
	&pinshm_attr_mode.attr,
	&pinshm_attr_flags.attr,
	&pinshm_attr_phys_addr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pinshm_region);

static void pinshm_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct pinshm_kobj, kobj));
}

static struct kobj_type pinshm_region_ktype = {
	.release = pinshm_kobj_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = pinshm_region_groups,
};

/* The regions directory under parent, the misc device's. */
int pinshm_sysfs_init(struct kobject *parent)
{
	lockdep_assert_held(&pinshm_lock);
	pinshm_regions_kobj = kobject_create_and_add("regions", parent);
	if (!pinshm_regions_kobj)
		return -ENOMEM;
	return 0;
}

void pinshm_sysfs_exit(void)
{
	kobject_put(pinshm_regions_kobj);
}

/* The regions directory exists: region directories can be added. */
bool pinshm_sysfs_ready(void)
{
	lockdep_assert_held(&pinshm_lock);
	return pinshm_regions_kobj;
}

int pinshm_sysfs_add(struct pinshm_region *r)
{
	struct pinshm_kobj *pk;
	int ret;

	lockdep_assert_held(&pinshm_lock);
	pk = kzalloc(sizeof(*pk), GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL);
	if (!pk)
		return -ENOMEM;
	pk->region = r;
	ret = kobject_init_and_add(&pk->kobj, &pinshm_region_ktype,
				   pinshm_regions_kobj, "%s", r->name);
	if (ret) {
		kobject_put(&pk->kobj);
		return ret;
	}
	r->kobj = &pk->kobj;
	return 0;
}

void pinshm_sysfs_del(struct pinshm_region *r)
{
	lockdep_assert_held(&pinshm_lock);
	kobject_del(r->kobj);
	kobject_put(r->kobj);
	r->kobj = NULL;
}
