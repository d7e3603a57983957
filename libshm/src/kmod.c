// SPDX-License-Identifier: MIT
/*
 * The "kmod" backend: regions of pinshm.ko through /dev/pinshm. The kernel
 * allocates, pins and keeps the metadata page; this file only asks and maps.
 * Each data mapping is one attach in the kernel's table; DETACH before the
 * unmap tells the kernel it was a clean goodbye, not a death.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static int ctl_open(void)
{
	int fd = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	return fd;
}

/* Map the metadata page and the data of region fd r->fd. */
static int kmod_map(struct pinshm_region *r)
{
	struct pinshm_meta *m;
	uint64_t size, data_off;
	int prot = PROT_READ | (r->writable ? PROT_WRITE : 0);
	void *p;

	m = mmap(NULL, PINSHM_META_SIZE, PROT_READ, MAP_SHARED, r->fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	r->meta = m;
	size = PINSHM_READ_ONCE(m->size);
	data_off = PINSHM_READ_ONCE(m->data_off);
	if (__pinshm_meta_check(m, PINSHM_BACKEND_KMOD, r->name) ||
	    data_off != PINSHM_META_SIZE || size > SIZE_MAX / 2)
		return -EBADMSG;
	r->size = size;
	p = mmap(NULL, (size_t)size, prot, MAP_SHARED | MAP_POPULATE, r->fd,
		 (off_t)data_off);
	if (p == MAP_FAILED)
		return -errno;
	r->data = p;
	r->map_base = p;
	r->map_len = (size_t)size;
	r->locked = true;	/* the kernel pinned it */
	return 0;
}

static void kmod_unmap(struct pinshm_region *r)
{
	struct pinshm_detach d = { .size = sizeof(d) };

	if (r->map_base) {
		/* Say goodbye before the unmap, or it counts as a death. */
		ioctl(r->fd, PINSHM_IOC_DETACH, &d);
		munmap(r->map_base, r->map_len);
	}
	if (r->meta)
		munmap(r->meta, PINSHM_META_SIZE);
	if (r->fd >= 0)
		close(r->fd);
	r->map_base = NULL;
	r->meta = NULL;
	r->fd = -1;
}

static int kmod_create(struct pinshm_region *r,
		       const struct pinshm_region_opts *o)
{
	struct pinshm_create c = {
		.size = sizeof(c),
		.bytes = o->size,
		.node = o->node,
		.mode = o->mode,
	};
	int ctl, ret;

	strcpy(c.name, r->name);
	ctl = ctl_open();
	if (ctl < 0)
		return ctl;
	r->fd = ioctl(ctl, PINSHM_IOC_CREATE, &c);
	ret = r->fd < 0 ? -errno : 0;
	close(ctl);
	if (ret)
		return ret;
	r->writable = true;
	ret = kmod_map(r);
	if (ret) {
		kmod_unmap(r);
		pinshm_region_destroy(r->name, PINSHM_BACKEND_KMOD);
		return ret;
	}
	__pinshm_dir_init(r);
	return 0;
}

static int kmod_open(struct pinshm_region *r, int access)
{
	struct pinshm_open op = {
		.size = sizeof(op),
		.flags = access == PINSHM_RDWR ? PINSHM_OPEN_WRITE : 0,
	};
	int ctl, ret;

	strcpy(op.name, r->name);
	ctl = ctl_open();
	if (ctl < 0)
		return ctl;
	r->fd = ioctl(ctl, PINSHM_IOC_OPEN, &op);
	ret = r->fd < 0 ? -errno : 0;
	close(ctl);
	if (ret)
		return ret;
	r->writable = access == PINSHM_RDWR;
	ret = kmod_map(r);
	if (ret)
		kmod_unmap(r);
	return ret;
}

static int kmod_destroy(const char *name)
{
	struct pinshm_destroy d = { .size = sizeof(d) };
	int ctl, ret;

	strcpy(d.name, name);
	ctl = ctl_open();
	if (ctl < 0)
		return ctl;
	ret = ioctl(ctl, PINSHM_IOC_DESTROY, &d) < 0 ? -errno : 0;
	close(ctl);
	return ret;
}

static int kmod_list(char (*names)[PINSHM_NAME_MAX], unsigned int max)
{
	struct pinshm_list l = {
		.size = sizeof(l),
		.max = max,
		.names = (uintptr_t)names,
	};
	int ctl, ret;

	ctl = ctl_open();
	if (ctl < 0)
		return ctl;
	ret = ioctl(ctl, PINSHM_IOC_LIST, &l);
	ret = ret < 0 ? -errno : (int)l.total;
	close(ctl);
	return ret;
}

static int kmod_recover(struct pinshm_region *r)
{
	(void)r;	/* the kernel marks deaths as they happen */
	return 0;
}

static int kmod_phys(const struct pinshm_region *r, uint64_t *phys)
{
	struct pinshm_info in = { .size = sizeof(in) };

	if (ioctl(r->fd, PINSHM_IOC_INFO, &in) < 0)
		return -errno;
	*phys = in.phys_addr;
	return in.phys_addr ? 0 : -EPERM;
}

const struct pinshm_backend_ops __pinshm_kmod_ops = {
	.create = kmod_create,
	.open = kmod_open,
	.close = kmod_unmap,
	.destroy = kmod_destroy,
	.list = kmod_list,
	.recover = kmod_recover,
	.phys = kmod_phys,
};
