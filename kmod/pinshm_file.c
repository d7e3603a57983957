// SPDX-License-Identifier: GPL-2.0
/*
 * pinshm: the region fd that CREATE and OPEN return, an anon_inode file,
 * read-write or read-only as the caller may (its FMODE_WRITE allows a
 * writable data mapping and WAKE). Its operations: mmap (pinshm_mmap.c),
 * read and poll of the generation (here), and the ioctls DETACH, INFO
 * (pinshm_main.c), WAIT and WAKE (pinshm_wait.c). Each file holds a
 * reference to its region; a mapping holds its file.
 */
#include <linux/anon_inodes.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pinshm_priv.h"

static int pinshm_region_release_file(struct inode *inode, struct file *file)
{
	struct pinshm_file *pf = file->private_data;

	pinshm_region_put(pf->region);
	kfree(pf);
	return 0;
}

/* 8 bytes: the current generation, which this fd then acknowledges. */
static ssize_t pinshm_region_read(struct file *file, char __user *buf,
				  size_t count, loff_t *ppos)
{
	struct pinshm_file *pf = file->private_data;
	u64 gen;

	if (count < sizeof(gen))
		return -EINVAL;
	gen = READ_ONCE(pf->region->generation);
	if (copy_to_user(buf, &gen, sizeof(gen)))
		return -EFAULT;
	WRITE_ONCE(pf->acked, gen);
	return sizeof(gen);
}

static __poll_t pinshm_region_poll(struct file *file, poll_table *wait)
{
	struct pinshm_file *pf = file->private_data;
	struct pinshm_region *r = pf->region;

	poll_wait(file, &r->waitq, wait);
	/* (G2) pairs with (G1) in pinshm_meta.c: queued, then load. */
	if (READ_ONCE(r->generation) != READ_ONCE(pf->acked))
		return EPOLLIN | EPOLLRDNORM | EPOLLPRI;
	return 0;
}

static long pinshm_region_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	struct pinshm_file *pf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (PINSHM_IOC_BASE(cmd)) {
	case PINSHM_IOC_BASE(PINSHM_IOC_DETACH):
		return pinshm_ioc_detach(pf->region, uarg);
	case PINSHM_IOC_BASE(PINSHM_IOC_INFO):
		return pinshm_ioc_region_info(pf->region, uarg);
	case PINSHM_IOC_BASE(PINSHM_IOC_WAIT):
		return pinshm_ioc_wait(pf->region, uarg);
	case PINSHM_IOC_BASE(PINSHM_IOC_WAKE):
		return pinshm_ioc_wake(file, pf->region, uarg);
	}
	return -ENOTTY;
}

static const struct file_operations pinshm_region_fops = {
	.owner = THIS_MODULE,
	.release = pinshm_region_release_file,
	.read = pinshm_region_read,
	.poll = pinshm_region_poll,
	.mmap = pinshm_region_mmap,
	.unlocked_ioctl = pinshm_region_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	/* No .llseek: lseek() says -ESPIPE (6.12 removed no_llseek). */
};

/*
 * The label shows in /proc/PID/maps as "anon_inode:<label>", rendered by
 * dynamic_dname() into 64 bytes: a longer one makes every read of that
 * maps file fail after growing its buffer up to a 1 GiB vmalloc. So names
 * longer than PINSHM_LABEL_NAME are cut, with "..." to say so.
 */
#define PINSHM_LABEL_MAX	(64 - sizeof("anon_inode:"))
#define PINSHM_LABEL_NAME	(PINSHM_LABEL_MAX - sizeof("[pinshm:]"))

/* A new region fd holding its own reference to r. */
struct file *pinshm_region_file(struct pinshm_region *r, bool write)
{
	char label[PINSHM_LABEL_MAX + 1];
	struct pinshm_file *pf;
	struct file *file;

	pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	if (!pf)
		return ERR_PTR(-ENOMEM);
	pf->region = r;
	pf->acked = READ_ONCE(r->generation);
	if (strlen(r->name) <= PINSHM_LABEL_NAME)
		snprintf(label, sizeof(label), "[pinshm:%s]", r->name);
	else
		snprintf(label, sizeof(label), "[pinshm:%.*s...]",
			 (int)PINSHM_LABEL_NAME - 3, r->name);
	file = anon_inode_getfile(label, &pinshm_region_fops, pf,
				  write ? O_RDWR : O_RDONLY);
	if (IS_ERR(file)) {
		kfree(pf);
		return file;
	}
	pinshm_region_get(r);
	return file;
}
