// SPDX-License-Identifier: GPL-2.0
/*
 * pinshm: the crash-recovery metadata page (struct pinshm_meta, mmap
 * offset 0 of a region fd) and the attach table in it.
 *
 * Protocol. The page has a single writer: this file, under region->lock.
 * Userspace maps it read-only (VM_MAYWRITE cleared) and reads it with the
 * retry loop documented in the uapi header.
 *   (W1) writer: seq becomes odd, smp_wmb(), then the body is written.
 *        Pairs with (R2) reader: copy the body, acquire fence, reload seq.
 *   (W2) writer: body written, smp_wmb(), then seq becomes even.
 *        Pairs with (R1) reader: load-acquire seq, then copy the body.
 * A reader that loads the same even seq at (R1) and (R2) copied a body no
 * writer was changing.
 *
 * Kernel-side mirrors for lockless readers (poll, read, sysfs):
 * r->generation, r->crashes, r->nr_attached, r->flags are written here
 * with WRITE_ONCE under region->lock and read with READ_ONCE.
 *   (G1) death: store r->generation, then wake_up (takes the waitqueue
 *        lock). Pairs with (G2) in pinshm_region_poll(): poll_wait()
 *        (takes the waitqueue lock), then load r->generation. Either the
 *        waker sees the waiter queued, or the waiter sees the new value.
 *
 * Slots (the rules are the uapi header's, at PINSHM_MAX_ATTACH): a
 * read-write mmap may take any slot, a read-only one only those from
 * PINSHM_RW_SLOTS on; FREE first, then the DETACHED or EXEC slot that ended
 * longest ago, then the DIED one. A read-write mmap with no such slot fails
 * with -ENOSPC; a read-only one is attached without a slot, on
 * r->untracked, and counted. A slot ends as DETACHED (DETACH ioctl, or
 * plain munmap), DIED (exit without DETACH: generation and crashes bumped,
 * a death log entry written, pollers woken) or EXEC (execve without
 * DETACH); an untracked mapping ends the same way, without a slot to mark.
 */
#include <linux/cred.h>
#include <linux/lockdep.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/user_namespace.h>

#include "pinshm_priv.h"
#include "pinshm_trace.h"

static_assert(sizeof(struct pinshm_attach) == 40);
static_assert(sizeof(struct pinshm_death) == 40);
static_assert(offsetof(struct pinshm_meta, attach) == PINSHM_META_HDR_SIZE);
static_assert(PINSHM_RW_SLOTS < PINSHM_MAX_ATTACH);
static_assert(sizeof(struct pinshm_meta) == PINSHM_META_SIZE);
static_assert(PINSHM_META_SIZE <= PAGE_SIZE);

static struct pinshm_meta *pinshm_meta_begin(struct pinshm_region *r)
{
	struct pinshm_meta *m = r->meta;

	lockdep_assert_held(&r->lock);
	WRITE_ONCE(m->seq, m->seq + 1);
	/* (W1) pairs with (R2): odd seq before the body. */
	smp_wmb();
	return m;
}

static void pinshm_meta_end(struct pinshm_region *r)
{
	struct pinshm_meta *m = r->meta;

	/* (W2) pairs with (R1): the body before the even seq. */
	smp_wmb();
	WRITE_ONCE(m->seq, m->seq + 1);
}

/* Before the region is visible; the lock keeps one rule for all writes. */
void pinshm_meta_init(struct pinshm_region *r)
{
	struct pinshm_meta *m;

	mutex_lock(&r->lock);
	m = pinshm_meta_begin(r);
	m->magic = PINSHM_META_MAGIC;
	m->abi_version = PINSHM_ABI_VERSION;
	m->hdr_size = PINSHM_META_HDR_SIZE;
	m->features = PINSHM_FEAT_RW_SLOTS | PINSHM_FEAT_DEATH_LOG;
	m->flags = r->flags;
	m->backend = PINSHM_BACKEND_KMOD;
	m->nr_slots = PINSHM_MAX_ATTACH;
	memcpy(m->name, r->name, sizeof(m->name));
	m->size = (u64)r->nr_pages << PAGE_SHIFT;
	m->data_off = PAGE_SIZE;
	m->created_ns = r->created_ns;
	m->generation = 0;
	m->crashes = 0;
	m->node = r->nid;
	m->uid = from_kuid(&init_user_ns, r->uid);
	m->gid = from_kgid(&init_user_ns, r->gid);
	m->mode = r->mode;
	m->nr_attached = 0;
	m->slot_off = offsetof(struct pinshm_meta, attach);
	m->slot_size = sizeof(struct pinshm_attach);
	m->rw_slots = PINSHM_RW_SLOTS;
	m->nr_untracked = 0;
	m->untracked_total = 0;
	m->death_off = offsetof(struct pinshm_meta, deaths);
	m->death_size = sizeof(struct pinshm_death);
	m->nr_deaths = PINSHM_DEATH_LOG;
	pinshm_meta_end(r);
	INIT_LIST_HEAD(&r->untracked);
	mutex_unlock(&r->lock);
}

/*
 * The slot a data mmap with this access takes, or -1. One pass over the
 * table, as before read-only attachers had their own range.
 */
static int pinshm_attach_slot_pick(struct pinshm_region *r, u16 access)
{
	const struct pinshm_attach_slot *as = r->attach_slots;
	int i = access == PINSHM_ACC_RW ? 0 : PINSHM_RW_SLOTS;
	int ended = -1, died = -1;

	for (; i < PINSHM_MAX_ATTACH; i++) {
		u16 state = r->meta->attach[i].state;
		int *best = state == PINSHM_ST_DIED ? &died : &ended;

		if (state == PINSHM_ST_FREE)
			return i;
		if (state == PINSHM_ST_ATTACHED)
			continue;
		if (*best < 0 || as[i].ended < as[*best].ended)
			*best = i;
	}
	return ended >= 0 ? ended : died;
}

/*
 * A data mmap by current. -ENOSPC for a read-write one when every slot is
 * ATTACHED; a read-only one then attaches without a slot.
 */
int pinshm_meta_attach(struct pinshm_region *r, struct pinshm_mapping *map)
{
	struct pinshm_attach *a;
	struct pinshm_meta *m;
	int slot;

	map->start_time = current->group_leader->start_boottime;
	map->since = ktime_get_boottime_ns();
	mutex_lock(&r->lock);
	slot = pinshm_attach_slot_pick(r, map->access);
	if (slot < 0 && map->access == PINSHM_ACC_RW) {
		mutex_unlock(&r->lock);
		return -ENOSPC;
	}
	m = pinshm_meta_begin(r);
	if (slot < 0) {
		r->nr_untracked++;
		r->untracked_total++;
		m->nr_untracked = r->nr_untracked;
		m->untracked_total = r->untracked_total;
		pinshm_meta_end(r);
		list_add(&map->node, &r->untracked);
		map->slot = PINSHM_UNTRACKED;
		trace_pinshm_attach(r->name, map->tgid, -1, map->access);
		mutex_unlock(&r->lock);
		return 0;
	}
	a = &m->attach[slot];
	a->tgid = map->tgid;
	a->access = map->access;
	a->state = PINSHM_ST_ATTACHED;
	a->exit_code = 0;
	a->signal = 0;
	a->start_time = map->start_time;
	a->attach_ns = ktime_get_real_ns();
	a->detach_ns = 0;
	WRITE_ONCE(r->nr_attached, r->nr_attached + 1);
	m->nr_attached = r->nr_attached;
	pinshm_meta_end(r);
	r->attach_slots[slot].map = map;
	map->slot = slot;
	trace_pinshm_attach(r->name, map->tgid, slot, map->access);
	mutex_unlock(&r->lock);
	return 0;
}

/*
 * Under r->lock, inside begin/end: map, ATTACHED with or without a slot,
 * is no longer.
 */
static void pinshm_attach_end(struct pinshm_region *r,
			      struct pinshm_mapping *map, u16 state,
			      s32 exit_code, u32 signal)
{
	int i = map->slot;

	if (i == PINSHM_UNTRACKED) {
		list_del(&map->node);
		r->nr_untracked--;
		r->meta->nr_untracked = r->nr_untracked;
		i = -1;
	} else {
		struct pinshm_attach *a = &r->meta->attach[i];
		struct pinshm_attach_slot *as = &r->attach_slots[i];

		a->state = state;
		a->exit_code = exit_code;
		a->signal = signal;
		a->detach_ns = ktime_get_real_ns();
		WRITE_ONCE(r->nr_attached, r->nr_attached - 1);
		r->meta->nr_attached = r->nr_attached;
		as->map = NULL;
		as->ended = ++r->slot_clock;
	}
	map->slot = -1;
	trace_pinshm_detach(r->name, map->tgid, i, state, exit_code, signal,
			    ktime_get_boottime_ns() - map->since);
}

/* Under r->lock, inside begin/end, r->crashes just counted this death. */
static void pinshm_death_log(struct pinshm_region *r,
			     struct pinshm_mapping *map, int slot,
			     s32 exit_code, u32 signal)
{
	struct pinshm_death *d;

	d = &r->meta->deaths[(r->crashes - 1) % PINSHM_DEATH_LOG];
	d->tgid = map->tgid;
	d->access = map->access;
	d->slot = slot >= 0 ? slot : PINSHM_SLOT_NONE;
	d->exit_code = exit_code;
	d->signal = signal;
	d->start_time = map->start_time;
	d->died_ns = ktime_get_real_ns();
	d->nr = r->crashes;
}

/* DETACH ioctl: every mapping mm holds in this region. Returns how many. */
int pinshm_meta_detach_mm(struct pinshm_region *r, struct mm_struct *mm)
{
	struct pinshm_mapping *map, *tmp;
	int i, n = 0;

	mutex_lock(&r->lock);
	for (i = 0; i < PINSHM_MAX_ATTACH; i++) {
		map = r->attach_slots[i].map;
		if (!map || map->mm != mm)
			continue;
		if (!n++)
			pinshm_meta_begin(r);
		pinshm_attach_end(r, map, PINSHM_ST_DETACHED, 0, 0);
	}
	list_for_each_entry_safe(map, tmp, &r->untracked, node) {
		if (map->mm != mm)
			continue;
		if (!n++)
			pinshm_meta_begin(r);
		pinshm_attach_end(r, map, PINSHM_ST_DETACHED, 0, 0);
	}
	if (n)
		pinshm_meta_end(r);
	mutex_unlock(&r->lock);
	return n;
}

/*
 * A data VMA went away without DETACH (nothing to do if it had one).
 * For PINSHM_ST_DIED, code is the kernel's exit code (status << 8 |
 * signal), or negative when unknown.
 */
void pinshm_meta_end_attach(struct pinshm_region *r,
			    struct pinshm_mapping *map, u16 state, int code)
{
	s32 exit_code = 0;
	u32 signal = 0;
	bool died = state == PINSHM_ST_DIED;
	int slot;

	if (died && code < 0) {
		exit_code = PINSHM_EXIT_UNKNOWN;
	} else if (died) {
		exit_code = (code >> 8) & 0xff;
		signal = code & 0x7f;
	}

	mutex_lock(&r->lock);
	slot = map->slot;
	if (slot == -1) {
		mutex_unlock(&r->lock);
		return;
	}
	pinshm_meta_begin(r);
	pinshm_attach_end(r, map, state, exit_code, signal);
	if (died) {
		WRITE_ONCE(r->generation, r->generation + 1);
		WRITE_ONCE(r->crashes, r->crashes + 1);
		r->meta->generation = r->generation;
		r->meta->crashes = r->crashes;
		pinshm_death_log(r, map, slot, exit_code, signal);
	}
	pinshm_meta_end(r);
	mutex_unlock(&r->lock);

	/* (G1) pairs with (G2): generation stored before the wakeup. */
	if (died)
		wake_up_interruptible_poll(&r->waitq,
					   EPOLLIN | EPOLLRDNORM | EPOLLPRI);
}

void pinshm_meta_set_destroyed(struct pinshm_region *r)
{
	struct pinshm_meta *m;

	mutex_lock(&r->lock);
	m = pinshm_meta_begin(r);
	WRITE_ONCE(r->flags, r->flags | PINSHM_F_DESTROYED);
	m->flags = r->flags;
	pinshm_meta_end(r);
	mutex_unlock(&r->lock);
}
