// SPDX-License-Identifier: MIT
/*
 * Regions: the backend-independent half. Each backend maps a metadata page
 * (struct pinshm_meta) and a data area; this file checks what it mapped,
 * hands out consistent copies of the metadata, and dispatches.
 *
 * Metadata page protocol (the kernel follows the same one):
 *   (M1) writer: seq odd, smp_wmb, write the body, smp_wmb, seq even
 *     pairs with
 *   (M2) reader: load-acquire seq, copy, smp_rmb, reload seq; retry while
 *        odd or changed.
 * Writers are serialised by the kernel's region lock, or, in the shm
 * backend, by flock() on the region file (which a dying holder drops).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "probes.h"

static const struct pinshm_backend_ops *backend_ops(int backend)
{
	return backend == PINSHM_BACKEND_KMOD ? &__pinshm_kmod_ops :
						&__pinshm_shm_ops;
}

__pinshm_export void pinshm_region_opts_init(struct pinshm_region_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->node = PINSHM_NODE_ANY;
	o->mode = 0600;
	o->backend = PINSHM_BACKEND_AUTO;
}

static int region_alloc(const char *name, int backend,
			struct pinshm_region **out)
{
	struct pinshm_region *r;
	int b;

	if (!pinshm_name_valid(name))
		return -EINVAL;
	b = pinshm_backend_resolve(backend);
	if (b < 0)
		return b;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->backend = b;
	r->ops = backend_ops(b);
	r->fd = -1;
	r->slot = -1;
	strcpy(r->name, name);	/* length checked by pinshm_name_valid() */
	*out = r;
	return 0;
}

__pinshm_export int pinshm_region_create(const char *name,
					 const struct pinshm_region_opts *o,
					 struct pinshm_region **out)
{
	struct pinshm_region *r;
	int ret;

	if (!out || !o || o->size == 0 || (o->mode & ~0777U) ||
	    o->node < PINSHM_NODE_ANY)
		return -EINVAL;
	ret = region_alloc(name, o->backend, &r);
	if (ret)
		return ret;
	ret = r->ops->create(r, o);
	if (ret) {
		free(r);
		return ret;
	}
	PINSHM_PROBE3(region_create, r->name, r->size, r->backend);
	*out = r;
	return 0;
}

__pinshm_export int pinshm_region_open(const char *name, int access,
				       int backend, struct pinshm_region **out)
{
	struct pinshm_region *r;
	int ret;

	if (!out || (access != PINSHM_RDONLY && access != PINSHM_RDWR &&
		     access != PINSHM_OBSERVE))
		return -EINVAL;
	ret = region_alloc(name, backend, &r);
	if (ret)
		return ret;
	ret = r->ops->open(r, access);
	if (ret) {
		free(r);
		return ret;
	}
	PINSHM_PROBE3(region_open, r->name, access, r->backend);
	*out = r;
	return 0;
}

__pinshm_export int pinshm_region_close(struct pinshm_region *r)
{
	if (!r)
		return -EINVAL;
	r->ops->close(r);
	PINSHM_PROBE1(region_close, r->name);
	free(r);
	return 0;
}

__pinshm_export int pinshm_region_destroy(const char *name, int backend)
{
	int b, ret;

	if (!pinshm_name_valid(name))
		return -EINVAL;
	b = pinshm_backend_resolve(backend);
	if (b < 0)
		return b;
	ret = backend_ops(b)->destroy(name);
	if (ret == 0)
		PINSHM_PROBE2(region_destroy, name, b);
	return ret;
}

__pinshm_export int pinshm_region_list(int backend,
				       char (*names)[PINSHM_NAME_MAX],
				       unsigned int max)
{
	const struct pinshm_backend_ops *ops;
	char (*all)[PINSHM_NAME_MAX] = NULL;
	unsigned int room = 64;
	int b = pinshm_backend_resolve(backend), n;

	if (b < 0)
		return b;
	if (max && !names)
		return -EINVAL;
	ops = backend_ops(b);
	/* All names, sorted, then the first max of them. */
	for (;;) {
		free(all);
		all = calloc(room, PINSHM_NAME_MAX);
		if (!all)
			return -ENOMEM;
		n = ops->list(all, room);
		if (n < 0 || (unsigned int)n <= room)
			break;
		if ((unsigned int)n > (1U << 20)) {
			n = -EOVERFLOW;
			break;
		}
		room = (unsigned int)n + 64;	/* more appeared meanwhile? */
	}
	if (n > 0 && max) {
		qsort(all, (size_t)n, PINSHM_NAME_MAX, __pinshm_cmp_names);
		memcpy(names, all, (size_t)((unsigned int)n < max ? (unsigned int)n : max) *
		       PINSHM_NAME_MAX);
	}
	free(all);
	return n;
}

__pinshm_export int pinshm_region_recover(struct pinshm_region *r)
{
	return r ? r->ops->recover(r) : -EINVAL;
}

__pinshm_export int pinshm_region_phys(const struct pinshm_region *r,
				       uint64_t *phys)
{
	if (!r || !phys)
		return -EINVAL;
	*phys = 0;
	return r->ops->phys(r, phys);
}

__pinshm_export const char *pinshm_region_name(const struct pinshm_region *r)
{
	return r->name;
}

__pinshm_export void *pinshm_region_data(const struct pinshm_region *r)
{
	return r->data;
}

__pinshm_export uint64_t pinshm_region_size(const struct pinshm_region *r)
{
	return r->size;
}

__pinshm_export int pinshm_region_backend(const struct pinshm_region *r)
{
	return r->backend;
}

__pinshm_export bool pinshm_region_writable(const struct pinshm_region *r)
{
	return r->writable;
}

__pinshm_export const struct pinshm_meta *
pinshm_region_meta_page(const struct pinshm_region *r)
{
	return r->meta;
}

/*
 * Is this page a pinshm metadata page for a region of that name? Only the
 * fields the library relies on are checked; values are copied by callers.
 */
int __pinshm_meta_check(const struct pinshm_meta *m, int backend,
			const char *name)
{
	if (m->magic != PINSHM_META_MAGIC ||
	    m->abi_version != PINSHM_ABI_VERSION ||
	    m->hdr_size != PINSHM_META_HDR_SIZE ||
	    m->backend != (uint32_t)backend ||
	    m->nr_slots != PINSHM_MAX_ATTACH ||
	    m->slot_off != PINSHM_META_HDR_SIZE ||
	    m->slot_size != sizeof(struct pinshm_attach) ||
	    m->rw_slots != PINSHM_RW_SLOTS ||
	    m->death_off != offsetof(struct pinshm_meta, deaths) ||
	    m->death_size != sizeof(struct pinshm_death) ||
	    m->nr_deaths != PINSHM_DEATH_LOG)
		return -EBADMSG;
	if (memchr(m->name, '\0', sizeof(m->name)) == NULL ||
	    (name && strcmp(m->name, name)))
		return -EBADMSG;
	if (m->size == 0 || m->size % PINSHM_PAGE ||
	    m->data_off % PINSHM_PAGE || m->data_off == 0)
		return -EBADMSG;
	return 0;
}

__pinshm_export int pinshm_region_meta(const struct pinshm_region *r,
				       struct pinshm_meta *out)
{
	const struct pinshm_meta *m;
	unsigned int tries;
	uint32_t s1, s2;

	if (!r || !out)
		return -EINVAL;
	m = r->meta;
	for (tries = 0; tries < 100000; tries++) {
		/* (M2) pairs with (M1) */
		s1 = pinshm_load_acquire(&m->seq);
		if (s1 & 1) {
			if (tries > 1000)
				sched_yield();
			pinshm_cpu_relax();
			continue;
		}
		memcpy(out, m, sizeof(*out));
		/* (M2): the copy before the second read of seq */
		pinshm_smp_rmb();
		s2 = PINSHM_READ_ONCE(m->seq);
		if (s1 == s2)
			return __pinshm_meta_check(out, r->backend, r->name);
	}
	/*
	 * Still odd, or changing under us: being updated. If it stays so, a
	 * shm writer died mid-write and pinshm_region_recover() repairs it.
	 */
	return -EAGAIN;
}

void __pinshm_meta_write_begin(struct pinshm_meta *m)
{
	/* (M1) odd seq before the body; an odd seq left by a writer that
	 * died mid-write (shm backend) just stays odd. */
	PINSHM_WRITE_ONCE(m->seq, (m->seq + 1) | 1);
	pinshm_smp_wmb();
}

void __pinshm_meta_write_end(struct pinshm_meta *m)
{
	/* (M1) the body before the even seq */
	pinshm_store_release(&m->seq, m->seq + 1);
}
