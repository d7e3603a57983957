// SPDX-License-Identifier: MIT
/*
 * The embedded "shm" backend: a region is one file under /dev/shm (or the
 * tmpfs directory $PINSHM_SHM_DIR), laid out as
 *
 *   [0, 4 KiB)                    struct pinshm_meta, as the module writes it
 *   [data_off, data_off + size)   the data; data_off is 2 MiB for regions of
 *                                 2 MiB or more (a hole, no memory, keeps the
 *                                 data THP-aligned in the file), else 4 KiB
 *
 * A region is built in an unnamed O_TMPFILE and linked under its name only
 * when complete, so nobody ever opens a half-made one. Metadata writers
 * take flock(LOCK_EX) on the file (dropped by the kernel if they die) and
 * follow the seq protocol of region.c. Deaths are found by polling: an
 * ATTACHED slot whose pid is gone, a zombie, or reused (start time
 * differs) is marked DIED and written to the death log; the exit status is
 * unknown to this backend. Without a kernel to see it, execve() looks like
 * a death here. Slots are taken by the module's rules (uapi header, at
 * PINSHM_MAX_ATTACH): read-only attachers never take the writers' slots
 * nor make a writer's open fail; with no slot for them they are counted
 * in untracked_total only, since no death of theirs could be seen.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define SHM_PREFIX	"pinshm."

#ifndef MPOL_BIND
#define MPOL_BIND	2
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif

static const char *shm_dir(void)
{
	const char *d = getenv("PINSHM_SHM_DIR");

	return d && *d ? d : "/dev/shm";
}

static int shm_path(const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/" SHM_PREFIX "%s", shm_dir(), name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int lock_meta(struct pinshm_region *r)
{
	while (flock(r->fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void unlock_meta(struct pinshm_region *r)
{
	flock(r->fd, LOCK_UN);
}

/* Under the lock: mark the dead; returns how many. */
static int reap_dead(struct pinshm_meta *m)
{
	uint32_t i;
	int found = 0;

	for (i = 0; i < PINSHM_MAX_ATTACH; i++) {
		struct pinshm_attach *a = &m->attach[i];

		if (a->state != PINSHM_ST_ATTACHED ||
		    __pinshm_pid_alive(a->tgid, a->start_time))
			continue;
		if (!found)
			__pinshm_meta_write_begin(m);
		a->state = PINSHM_ST_DIED;
		a->exit_code = PINSHM_EXIT_UNKNOWN;
		a->signal = 0;
		a->detach_ns = __pinshm_wall_ns();
		m->generation++;
		m->crashes++;
		if (m->nr_attached)
			m->nr_attached--;
		m->deaths[(m->crashes - 1) % PINSHM_DEATH_LOG] =
			(struct pinshm_death){
				.tgid = a->tgid,
				.access = a->access,
				.slot = (uint16_t)i,
				.exit_code = PINSHM_EXIT_UNKNOWN,
				.start_time = a->start_time,
				.died_ns = a->detach_ns,
				.nr = m->crashes,
			};
		found++;
	}
	if (found)
		__pinshm_meta_write_end(m);
	return found;
}

/*
 * Under the lock: the slot an attacher with this access takes: a free one
 * of its range, else the one that ended longest ago, a DIED one last; -1
 * if every slot of the range is attached.
 */
static int pick_slot(const struct pinshm_meta *m, bool rw)
{
	uint64_t oldest[2] = { UINT64_MAX, UINT64_MAX };
	int i, pick[2] = { -1, -1 };	/* [0]: detached or exec, [1]: died */

	for (i = rw ? 0 : PINSHM_RW_SLOTS; i < PINSHM_MAX_ATTACH; i++) {
		const struct pinshm_attach *a = &m->attach[i];
		int k = a->state == PINSHM_ST_DIED;

		if (a->state == PINSHM_ST_FREE)
			return i;
		if (a->state != PINSHM_ST_ATTACHED &&
		    (pick[k] < 0 || a->detach_ns < oldest[k])) {
			oldest[k] = a->detach_ns;
			pick[k] = i;
		}
	}
	return pick[0] >= 0 ? pick[0] : pick[1];
}

/*
 * Under the lock: record the caller as an attacher. Returns its slot, -1
 * for a read-only attacher left without one (counted only), or -ENOSPC
 * when a read-write one finds every slot attached.
 */
static int add_attacher(struct pinshm_meta *m, int access)
{
	bool rw = access == PINSHM_RDWR;
	uint64_t start = 0;
	int pick = pick_slot(m, rw);

	if (pick < 0 && rw)
		return -ENOSPC;
	if (pick < 0) {
		__pinshm_meta_write_begin(m);
		m->untracked_total++;
		__pinshm_meta_write_end(m);
		return -1;
	}
	__pinshm_self_start_time(&start);
	__pinshm_meta_write_begin(m);
	m->attach[pick] = (struct pinshm_attach){
		.tgid = (uint32_t)getpid(),
		.access = rw ? PINSHM_ACC_RW : PINSHM_ACC_RO,
		.state = PINSHM_ST_ATTACHED,
		.exit_code = 0,
		.start_time = start,
		.attach_ns = __pinshm_wall_ns(),
	};
	m->nr_attached++;
	__pinshm_meta_write_end(m);
	return pick;
}

/* Map [data_off, data_off + size) of fd, 2 MiB aligned when it is that big. */
static int map_data(struct pinshm_region *r, uint64_t data_off, int prot,
		    int node)
{
	size_t len = (size_t)r->size;
	size_t extra = len >= PINSHM_HUGE ? PINSHM_HUGE : 0;
	uint8_t *base, *p, *end;
	size_t off;

	/* Reserve len + 2 MiB of address space, map at the aligned spot. */
	base = mmap(NULL, len + extra, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	p = base;
	if (extra)
		p = (uint8_t *)(((uintptr_t)base + extra - 1) & ~(extra - 1));
	if (mmap(p, len, prot, MAP_SHARED | MAP_FIXED, r->fd,
		 (off_t)data_off) == MAP_FAILED) {
		int err = -errno;

		munmap(base, len + extra);
		return err;
	}
	end = base + len + extra;
	if (p > base)
		munmap(base, (size_t)(p - base));
	if (end > p + len)
		munmap(p + len, (size_t)(end - (p + len)));
	r->map_base = p;
	r->map_len = len;
	r->data = p;

	if (node >= 0 && node < 64) {
		unsigned long mask = 1UL << node;

		/* Best effort: a failing mbind leaves the default policy. */
		syscall(SYS_mbind, p, len, MPOL_BIND, &mask, 64UL, 0U);
	}
	madvise(p, len, MADV_HUGEPAGE);
	/* Pre-fault (the memory is already allocated by fallocate). */
	if (madvise(p, len, (prot & PROT_WRITE) ? MADV_POPULATE_WRITE :
			    MADV_POPULATE_READ) < 0) {
		for (off = 0; off < len; off += PINSHM_PAGE)
			(void)PINSHM_READ_ONCE(p[off]);
	}
	r->locked = mlock(p, len) == 0;
	return 0;
}

static void unmap_all(struct pinshm_region *r)
{
	if (r->map_base)
		munmap(r->map_base, r->map_len);
	if (r->meta)
		munmap(r->meta, PINSHM_META_SIZE);
	if (r->fd >= 0)
		close(r->fd);
	r->map_base = NULL;
	r->meta = NULL;
	r->fd = -1;
}

static int node_valid(int node)
{
	char path[64];

	if (node == PINSHM_NODE_ANY)
		return 1;
	if (node < 0 || node >= 64)
		return 0;
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
	return access(path, F_OK) == 0;
}

static int shm_create(struct pinshm_region *r, const struct pinshm_region_opts *o)
{
	char path[PATH_MAX], fdpath[64];
	struct pinshm_meta *m;
	uint64_t size, data_off, start = 0;
	unsigned int mode = o->mode ? o->mode : 0600;
	int ret;

	if (o->size > PINSHM_SHM_MAX_SIZE)
		return -EFBIG;
	if (!node_valid(o->node))
		return -EINVAL;
	size = (o->size + PINSHM_PAGE - 1) & ~(PINSHM_PAGE - 1);
	data_off = size >= PINSHM_HUGE ? PINSHM_HUGE : PINSHM_PAGE;
	ret = shm_path(r->name, path, sizeof(path));
	if (ret)
		return ret;
	if (access(path, F_OK) == 0)
		return -EEXIST;

	r->fd = open(shm_dir(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (r->fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	if (fchmod(r->fd, mode) < 0 ||
	    ftruncate(r->fd, (off_t)(data_off + size)) < 0) {
		ret = -errno;
		goto out;
	}
	/* Reserve the memory now: ENOSPC here, not SIGBUS later. */
	ret = posix_fallocate(r->fd, 0, PINSHM_META_SIZE);
	if (!ret)
		ret = posix_fallocate(r->fd, (off_t)data_off, (off_t)size);
	if (ret) {
		ret = ret == EFBIG ? -ENOSPC : -ret;
		goto out;
	}
	m = mmap(NULL, PINSHM_META_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 r->fd, 0);
	if (m == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	r->meta = m;
	r->meta_writable = true;
	r->size = size;
	r->writable = true;
	ret = map_data(r, data_off, PROT_READ | PROT_WRITE, o->node);
	if (ret)
		goto out;

	/* Nobody can see the file yet: no lock, no seq dance needed. */
	__pinshm_self_start_time(&start);
	m->magic = PINSHM_META_MAGIC;
	m->abi_version = PINSHM_ABI_VERSION;
	m->hdr_size = PINSHM_META_HDR_SIZE;
	m->backend = PINSHM_BACKEND_SHM;
	m->nr_slots = PINSHM_MAX_ATTACH;
	m->slot_off = PINSHM_META_HDR_SIZE;
	m->slot_size = sizeof(struct pinshm_attach);
	m->features = PINSHM_FEAT_RW_SLOTS | PINSHM_FEAT_DEATH_LOG;
	m->rw_slots = PINSHM_RW_SLOTS;
	m->death_off = offsetof(struct pinshm_meta, deaths);
	m->death_size = sizeof(struct pinshm_death);
	m->nr_deaths = PINSHM_DEATH_LOG;
	strcpy(m->name, r->name);
	m->size = size;
	m->data_off = data_off;
	m->created_ns = __pinshm_wall_ns();
	m->node = o->node;
	m->uid = (uint32_t)geteuid();
	m->gid = (uint32_t)getegid();
	m->mode = mode;
	m->flags = (r->locked ? PINSHM_F_PINNED : 0) |
		   (((uintptr_t)r->data % PINSHM_HUGE) == 0 &&
		    size >= PINSHM_HUGE ? PINSHM_F_HUGE_ALIGNED : 0);
	m->attach[0] = (struct pinshm_attach){
		.tgid = (uint32_t)getpid(),
		.access = PINSHM_ACC_RW,
		.state = PINSHM_ST_ATTACHED,
		.start_time = start,
		.attach_ns = m->created_ns,
	};
	m->nr_attached = 1;
	r->slot = 0;
	__pinshm_dir_init(r);

	/* Publish under the name; fails if somebody was quicker. */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", r->fd);
	if (linkat(AT_FDCWD, fdpath, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0) {
		ret = -errno;
		goto out;
	}
	return 0;
out:
	unmap_all(r);
	return ret;
}

static int shm_open_region(struct pinshm_region *r, int access)
{
	char path[PATH_MAX];
	struct stat st;
	struct pinshm_meta *m;
	uint64_t size, data_off;
	int prot, ret;

	ret = shm_path(r->name, path, sizeof(path));
	if (ret)
		return ret;
	/* The metadata needs a writable fd even for read-only attachers. */
	r->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (r->fd >= 0) {
		r->meta_writable = true;
	} else if (errno == EACCES && access != PINSHM_RDWR) {
		r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (r->fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(r->fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	ret = -EBADMSG;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)PINSHM_META_SIZE)
		goto out;
	m = mmap(NULL, PINSHM_META_SIZE,
		 PROT_READ | (r->meta_writable ? PROT_WRITE : 0), MAP_SHARED,
		 r->fd, 0);
	if (m == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	r->meta = m;
	/* Read once, check, then use only the checked copies. */
	size = PINSHM_READ_ONCE(m->size);
	data_off = PINSHM_READ_ONCE(m->data_off);
	if (__pinshm_meta_check(m, PINSHM_BACKEND_SHM, r->name) ||
	    size > PINSHM_SHM_MAX_SIZE ||
	    (data_off != PINSHM_PAGE && data_off != PINSHM_HUGE) ||
	    (uint64_t)st.st_size < data_off + size) {
		ret = -EBADMSG;
		goto out;
	}
	r->size = size;
	if (access == PINSHM_RDWR && !r->meta_writable) {
		ret = -EACCES;
		goto out;
	}
	r->writable = access == PINSHM_RDWR;
	prot = PROT_READ | (r->writable ? PROT_WRITE : 0);
	ret = map_data(r, data_off, prot, PINSHM_NODE_ANY);
	if (ret)
		goto out;
	if (r->meta_writable && access != PINSHM_OBSERVE) {
		ret = lock_meta(r);
		if (ret)
			goto out;
		reap_dead(m);
		ret = add_attacher(m, access);
		unlock_meta(r);
		if (ret < -1)
			goto out;
		r->slot = ret;
		ret = 0;
	}
	return 0;
out:
	unmap_all(r);
	return ret;
}

static void shm_close(struct pinshm_region *r)
{
	struct pinshm_meta *m = r->meta;

	if (r->slot >= 0 && r->meta_writable && lock_meta(r) == 0) {
		struct pinshm_attach *a = &m->attach[r->slot];

		if (a->tgid == (uint32_t)getpid() &&
		    a->state == PINSHM_ST_ATTACHED) {
			__pinshm_meta_write_begin(m);
			a->state = PINSHM_ST_DETACHED;
			a->detach_ns = __pinshm_wall_ns();
			if (m->nr_attached)
				m->nr_attached--;
			__pinshm_meta_write_end(m);
		}
		unlock_meta(r);
	}
	unmap_all(r);
}

static int shm_destroy(const char *name)
{
	char path[PATH_MAX];
	int ret = shm_path(name, path, sizeof(path));

	if (ret)
		return ret;
	return unlink(path) < 0 ? -errno : 0;
}

static int shm_list(char (*names)[PINSHM_NAME_MAX], unsigned int max)
{
	const size_t plen = sizeof(SHM_PREFIX) - 1;
	struct dirent *de;
	unsigned int n = 0;
	DIR *d = opendir(shm_dir());

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;

		if (strncmp(nm, SHM_PREFIX, plen) || !pinshm_name_valid(nm + plen))
			continue;
		if (n < max)
			strcpy(names[n], nm + plen);
		if (n < INT32_MAX)
			n++;
	}
	closedir(d);
	return (int)n;
}

static int shm_recover(struct pinshm_region *r)
{
	int ret;

	if (!r->meta_writable)
		return -EACCES;
	ret = lock_meta(r);
	if (ret)
		return ret;
	/* Under the lock no writer is mid-write: an odd seq is one that died
	 * there. A write of nothing makes it even again (M1); the body it
	 * left is checked by every reader. */
	if (PINSHM_READ_ONCE(r->meta->seq) & 1) {
		__pinshm_meta_write_begin(r->meta);
		__pinshm_meta_write_end(r->meta);
	}
	ret = reap_dead(r->meta);
	unlock_meta(r);
	return ret;
}

static int shm_phys(const struct pinshm_region *r, uint64_t *phys)
{
	(void)r;
	*phys = 0;
	return -EOPNOTSUPP;
}

const struct pinshm_backend_ops __pinshm_shm_ops = {
	.create = shm_create,
	.open = shm_open_region,
	.close = shm_close,
	.destroy = shm_destroy,
	.list = shm_list,
	.recover = shm_recover,
	.phys = shm_phys,
};
