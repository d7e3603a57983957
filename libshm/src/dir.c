// SPDX-License-Identifier: MIT
/*
 * The object directory at the start of every region's data area, and the
 * role words of rings.
 *
 * Writers of the directory hold its lock word (a struct pinshm_role, taken
 * as every role is: (R1)/(R2) below; a holder found dead is replaced).
 * Ordering:
 *   (D1) adder: fill the entry and the object's header, then store-release
 *        nr_entries
 *     pairs with
 *   (D2) reader: load-acquire nr_entries, then read entries and objects.
 *   (D3) initialiser: fill the header, then store-release magic; readers
 *        load-acquire magic (D4) before trusting the header.
 * Every value read from the directory is checked against the region's own
 * size before use: a corrupt directory gives -EBADMSG, never a wild access.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define DIR_LOCK_TIMEOUT_NS	(5ULL * 1000000000ULL)

static uint64_t dir_bytes(void)
{
	return (sizeof(struct pinshm_dir) + PINSHM_OBJ_ALIGN - 1) &
	       ~(uint64_t)(PINSHM_OBJ_ALIGN - 1);
}

void __pinshm_dir_init(struct pinshm_region *r)
{
	struct pinshm_dir *d = r->data;

	if (r->size < dir_bytes())
		return;	/* too small for objects: stays empty forever */
	d->version = PINSHM_DIR_VERSION;
	d->max_entries = PINSHM_DIR_MAX;
	d->data_size = r->size;
	d->next_off = dir_bytes();
	/* (D3) the header before the magic */
	pinshm_store_release(&d->magic, PINSHM_DIR_MAGIC);
}

/*
 * This process's role word. Computed once per process (a forked child has
 * another pid, and computes its own): reading /proc/self/stat at every
 * take would cost microseconds.
 */
uint64_t __pinshm_role_self(void)
{
	static _Atomic uint64_t cached;
	uint32_t pid = (uint32_t)getpid();
	uint64_t w = atomic_load_explicit(&cached, memory_order_relaxed);
	uint64_t start = 0;

	if (w && PINSHM_ROLE_PID(w) == pid)
		return w;
	if (__pinshm_self_start_time(&start) == 0 && start)
		w = PINSHM_ROLE_WORD(pid, __pinshm_start_fp(start));
	else
		w = PINSHM_ROLE_WORD(pid, 0);	/* unknown: alive while pid is */
	/* Private to this process: any thread's copy is the same value. */
	atomic_store_explicit(&cached, w, memory_order_relaxed);
	return w;
}

/*
 * Does the word cur (not ours, not 0) name a live holder? Any value,
 * whoever wrote it, gets an answer: an impossible pid is dead.
 */
static bool holder_alive(uint64_t cur, uint64_t self)
{
	uint32_t pid = PINSHM_ROLE_PID(cur), fp = PINSHM_ROLE_FP(cur);

	if (pid == 0)
		return false;	/* no holder named: free */
	if (pid == PINSHM_ROLE_PID(self))
		/* Our pid: us if either start is unknown, else a dead
		 * process our pid once belonged to. */
		return fp == 0 || PINSHM_ROLE_FP(self) == 0;
	return __pinshm_pid_alive_fp(pid, fp);
}

/*
 * Take a role or lock word. The whole identity of the holder (pid and the
 * fingerprint of its start time) goes in with one CAS, so an observer sees
 * either the previous holder or us, never our pid with someone else's
 * start time. A live holder means -EBUSY (for roles) — callers that wait
 * loop themselves. A dead one is replaced, and *dead (if not NULL) says
 * whose it was (0: the word was free).
 *
 * (R1) taker: CAS the word from the value judged free or dead to ours,
 *      acquire
 *   pairs with
 * (R2) dropper: CAS its own word to 0, release: the previous holder's
 *      writes to what the role guards happen-before ours.
 * A CAS from the exact value judged makes the judgement and the take one
 * step: if the word changed since (another taker won), the CAS fails and
 * the new value is judged again.
 */
int __pinshm_role_take(struct pinshm_role *role, uint32_t *dead)
{
	_Atomic uint64_t *w = (_Atomic uint64_t *)&role->holder;
	uint64_t self = __pinshm_role_self();
	/* Relaxed: only judged; the CAS below orders (R1). */
	uint64_t cur = atomic_load_explicit(w, memory_order_relaxed);

	for (;;) {
		if (cur == self)
			return -EBUSY;	/* this process holds it already */
		if (holder_alive(cur, self))
			return -EBUSY;
		/* (R1) pairs with (R2); on failure cur is reloaded. */
		if (atomic_compare_exchange_strong_explicit(
			    w, &cur, self, memory_order_acquire,
			    memory_order_relaxed))
			break;
	}
	if (dead)
		*dead = PINSHM_ROLE_PID(cur);
	return 0;
}

/*
 * Let go of a role this process holds. A word that no longer names us (a
 * forked child's copy of a handle, or memory someone else scribbled on)
 * is left alone: we never free a role for another holder.
 */
void __pinshm_role_drop(struct pinshm_role *role)
{
	uint64_t self = __pinshm_role_self();

	/* (R2) pairs with (R1): our writes before the next holder's. */
	atomic_compare_exchange_strong_explicit(
		(_Atomic uint64_t *)&role->holder, &self, 0,
		memory_order_release, memory_order_relaxed);
}

static int dir_lock(struct pinshm_dir *d)
{
	uint64_t deadline = __pinshm_mono_ns() + DIR_LOCK_TIMEOUT_NS;
	int ret;

	while ((ret = __pinshm_role_take(&d->lock, NULL)) == -EBUSY) {
		if (__pinshm_mono_ns() > deadline)
			return -EDEADLK;
		sched_yield();
	}
	return ret;
}

static void dir_unlock(struct pinshm_dir *d)
{
	__pinshm_role_drop(&d->lock);
}

/* Validated copies of the header; nr from (D2). */
static int dir_header(const struct pinshm_region *r, uint32_t *nr)
{
	const struct pinshm_dir *d = r->data;
	uint32_t magic;

	if (r->size < dir_bytes()) {
		*nr = 0;
		return 0;
	}
	/* (D4) pairs with (D3) */
	magic = pinshm_load_acquire(&d->magic);
	if (magic == 0) {
		*nr = 0;	/* never initialised: empty */
		return 0;
	}
	/* (D2) pairs with (D1) */
	*nr = pinshm_load_acquire(&d->nr_entries);
	if (magic == PINSHM_DIR_MAGIC &&
	    PINSHM_READ_ONCE(d->version) != PINSHM_DIR_VERSION)
		return -EPROTONOSUPPORT;	/* another library's layout */
	if (magic != PINSHM_DIR_MAGIC ||
	    PINSHM_READ_ONCE(d->version) != PINSHM_DIR_VERSION ||
	    PINSHM_READ_ONCE(d->max_entries) != PINSHM_DIR_MAX ||
	    PINSHM_READ_ONCE(d->data_size) != r->size ||
	    *nr > PINSHM_DIR_MAX)
		return -EBADMSG;
	return 0;
}

/* Copy entry i and check it against the region. */
static int dir_entry(const struct pinshm_region *r, uint32_t i,
		     struct pinshm_obj_info *out)
{
	const struct pinshm_dir_entry *e =
		&((const struct pinshm_dir *)r->data)->entry[i];
	struct pinshm_dir_entry c;

	memcpy(&c, e, sizeof(c));
	if (!memchr(c.name, '\0', sizeof(c.name)) ||
	    !pinshm_obj_name_valid(c.name) ||
	    c.type < PINSHM_OBJ_SPSC || c.type > PINSHM_OBJ_FANIN ||
	    c.offset < dir_bytes() || c.offset % PINSHM_OBJ_ALIGN ||
	    c.size == 0 || c.offset > r->size || c.size > r->size - c.offset)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	strcpy(out->name, c.name);
	out->type = c.type;
	out->offset = c.offset;
	out->size = c.size;
	out->capacity = c.capacity;
	out->max_record = c.param[0];
	return 0;
}

__pinshm_export int pinshm_obj_list(const struct pinshm_region *r,
				    struct pinshm_obj_info *out,
				    unsigned int max)
{
	uint32_t nr, i;
	int ret;

	if (!r || (max && !out))
		return -EINVAL;
	ret = dir_header(r, &nr);
	if (ret)
		return ret;
	for (i = 0; i < nr && i < max; i++) {
		ret = dir_entry(r, i, &out[i]);
		if (ret)
			return ret;
	}
	return (int)nr;
}

int __pinshm_dir_get(const struct pinshm_region *r, const char *name,
		     struct pinshm_obj_info *out)
{
	uint32_t nr, i;
	int ret;

	if (!pinshm_obj_name_valid(name))
		return -EINVAL;
	ret = dir_header(r, &nr);
	if (ret)
		return ret;
	for (i = 0; i < nr; i++) {
		ret = dir_entry(r, i, out);
		if (ret)
			return ret;
		if (!strcmp(out->name, name))
			return 0;
	}
	return -ENOENT;
}

__pinshm_export int pinshm_obj_find(const struct pinshm_region *r,
				    const char *name,
				    struct pinshm_obj_info *out)
{
	if (!r || !out)
		return -EINVAL;
	return __pinshm_dir_get(r, name, out);
}

/*
 * Offset of an object's wait queue, for the types whose readers may sleep
 * read-only (they arm PINSHM_RO_BIT() of it); UINT64_MAX otherwise.
 */
static uint64_t ro_waitq_off(uint32_t type)
{
	switch (type) {
	case PINSHM_OBJ_BCAST:
		return offsetof(struct pinshm_bcast_shared, waitq);
	case PINSHM_OBJ_SLOT:
		return offsetof(struct pinshm_slot_shared, waitq);
	}
	return UINT64_MAX;
}

/*
 * Where to put a new object of type whose first possible place is off.
 * Read-only sleepers of every bcast ring and slot of a region arm one word
 * of the metadata page (their queues sit at one offset of 4 KiB-aligned
 * objects), each the bit PINSHM_RO_BIT() of its queue's offset, and
 * queues sharing a bit wake each other's sleepers, at every publish of a
 * busy writer while the other ring's reader sleeps (and consecutive
 * objects of some sizes, 9 or 65 pages, hash to one bit). So a bcast ring
 * or a slot goes to the first of the next 32 pages whose bit no other
 * has, skipping at most a quarter of the room that would be left after
 * it: a region sized to its objects places them as before, with no gap.
 * Else (32 of them already, or no room) at off. Under the directory lock;
 * the caller checked that obj_size fits at off.
 */
static uint64_t dir_place(struct pinshm_region *r, uint32_t nr, uint32_t type,
			  uint64_t off, uint64_t obj_size)
{
	const struct pinshm_dir *d = r->data;
	uint64_t wq = ro_waitq_off(type), cand;
	uint64_t skip_max = (r->size - off - obj_size) / 4;
	uint32_t used = 0, i;

	if (wq == UINT64_MAX)
		return off;
	for (i = 0; i < nr; i++) {
		uint64_t w = ro_waitq_off(PINSHM_READ_ONCE(d->entry[i].type));

		if (w != UINT64_MAX)
			used |= PINSHM_RO_BIT(PINSHM_READ_ONCE(
					      d->entry[i].offset) + w);
	}
	for (i = 0, cand = off; i < 32 && cand - off <= skip_max;
	     i++, cand += PINSHM_OBJ_ALIGN)
		if (!(used & PINSHM_RO_BIT(cand + wq)))
			return cand;
	return off;
}

int __pinshm_dir_add(struct pinshm_region *r, const char *name, uint32_t type,
		     uint64_t obj_size, uint64_t capacity, uint64_t param0,
		     void (*init)(void *obj, void *arg), void *arg)
{
	struct pinshm_dir *d = r->data;
	struct pinshm_dir_entry *e;
	struct pinshm_obj_info info;
	uint64_t off;
	uint32_t nr, i;
	int ret;

	if (!pinshm_obj_name_valid(name))
		return -EINVAL;
	if (!r->writable)
		return -EACCES;
	if (r->size < dir_bytes())
		return -ENOSPC;
	ret = dir_lock(d);
	if (ret)
		return ret;
	/* (D4) pairs with (D3): another adder's initialisation, if any. */
	if (pinshm_load_acquire(&d->magic) == 0)
		__pinshm_dir_init(r);	/* a region made by a bare ioctl */
	ret = dir_header(r, &nr);
	if (ret)
		goto out;
	for (i = 0; i < nr; i++) {
		ret = dir_entry(r, i, &info);
		if (ret)
			goto out;
		if (!strcmp(info.name, name)) {
			ret = -EEXIST;
			goto out;
		}
	}
	ret = -ENOSPC;
	if (nr >= PINSHM_DIR_MAX)
		goto out;
	off = PINSHM_READ_ONCE(d->next_off);
	off = (off + PINSHM_OBJ_ALIGN - 1) & ~(uint64_t)(PINSHM_OBJ_ALIGN - 1);
	if (off < dir_bytes() || off > r->size) {
		ret = -EBADMSG;
		goto out;
	}
	if (obj_size > r->size - off)
		goto out;	/* -ENOSPC */
	off = dir_place(r, nr, type, off, obj_size);
	init((uint8_t *)r->data + off, arg);
	e = &d->entry[nr];
	memset(e, 0, sizeof(*e));
	strcpy(e->name, name);
	e->type = type;
	e->offset = off;
	e->size = obj_size;
	e->capacity = capacity;
	e->param[0] = param0;
	d->next_off = off + obj_size;
	/* (D1) the entry and the object before the count that covers them */
	pinshm_store_release(&d->nr_entries, nr + 1);
	ret = 0;
out:
	dir_unlock(d);
	return ret;
}
