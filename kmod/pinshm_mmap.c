// SPDX-License-Identifier: GPL-2.0
/*
 * pinshm: mmap of a region fd, and telling a clean detach from a death.
 *
 * Offset 0, one page: the metadata page, always read-only. Offset
 * PAGE_SIZE onward: the data (any page range inside it), writable only
 * through a writable fd. MAP_SHARED only. Pages are inserted with
 * vm_insert_pages() at mmap time (refcounted pages: GUP and O_DIRECT work),
 * so there is no fault handler. VMAs are never copied on fork (nor their
 * pages, after MADV_DOFORK: see pinshm_data_open()), never
 * expanded, split or moved, and left out of core dumps: one VMA is one
 * attach, from mmap to close.
 *
 * A data VMA's close without a prior DETACH is classified from the context
 * it runs in (see pinshm_classify()).
 *
 * Built for 6.1 and 6.12: 6.3 made vma->vm_flags read-only behind
 * vm_flags_set() and vm_flags_clear(), which 6.1 gets from pinshm_compat.h.
 */
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "pinshm_compat.h"
#include "pinshm_priv.h"

#define PINSHM_VM_FLAGS		(VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP)

#define PINSHM_INSERT_BATCH	64

static int pinshm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static int pinshm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

/* The exit code the kernel recorded for t (status << 8 | signal). */
static int pinshm_exit_code(struct task_struct *t)
{
	if (READ_ONCE(t->signal->flags) & SIGNAL_GROUP_EXIT)
		return READ_ONCE(t->signal->group_exit_code);
	return READ_ONCE(t->exit_code);
}

/*
 * Why is this data VMA going away? Runs in ->close, without DETACH.
 *  - current->mm is the VMA's mm: munmap() (or an aborted mremap()), a
 *    clean detach;
 *  - current is the attacher's thread group and is exiting: exit_mm() has
 *    cleared current->mm and exit_code is set: DIED;
 *  - current is the attacher's thread group, not exiting, with another
 *    mm: execve() dropped the old mm: EXEC;
 *  - otherwise the last mmput() ran elsewhere (a /proc reader, ptrace,
 *    mmput_async()): ask the attacher's task, if it still exists.
 * *code is the exit code for DIED, negative when unknown.
 */
static u16 pinshm_classify(struct pinshm_mapping *map,
			   struct vm_area_struct *vma, int *code)
{
	struct task_struct *t;
	u16 state = PINSHM_ST_DIED;

	*code = -1;
	if (current->mm == vma->vm_mm)
		return PINSHM_ST_DETACHED;
	if (task_tgid(current) == map->pid) {
		if (!(current->flags & PF_EXITING))
			return PINSHM_ST_EXEC;
		*code = pinshm_exit_code(current);
		return PINSHM_ST_DIED;
	}
	rcu_read_lock();
	t = pid_task(map->pid, PIDTYPE_TGID);
	if (t && (READ_ONCE(t->flags) & PF_EXITING))
		*code = pinshm_exit_code(t);
	else if (t && READ_ONCE(t->mm) != map->mm)
		state = PINSHM_ST_EXEC;
	rcu_read_unlock();
	return state;
}

/*
 * Only copies reach ->open: mremap()'s copy_vma() before ->mremap refuses
 * the move, or fork() after madvise(MADV_DOFORK), which clears
 * VM_DONTCOPY (only VM_IO would stop it, and VM_IO would stop GUP too). A
 * copy is not an attach. A child's copy must not reach the pages either,
 * or the child would write the region unrecorded: its page table entries
 * go, and with no fault handler its access is SIGBUS. dup_mmap() calls
 * ->open after copying the entries on 6.1 (zap them) and before on 6.12,
 * where VM_WIPEONFORK makes it skip the copy (and the zap finds nothing).
 * Both run with the child's mmap_lock held for writing.
 */
static void pinshm_data_open(struct vm_area_struct *vma)
{
	vma->vm_private_data = NULL;
	if (vma->vm_mm == current->mm)
		return;		/* mremap()'s copy: unmapped again */
	vm_flags_set(vma, VM_WIPEONFORK);
	pinshm_zap_vma(vma);
}

static void pinshm_data_close(struct vm_area_struct *vma)
{
	struct pinshm_mapping *map = vma->vm_private_data;
	u16 state;
	int code;

	if (!map)
		return;
	state = pinshm_classify(map, vma, &code);
	pinshm_meta_end_attach(map->region, map, state, code);
	put_pid(map->pid);
	kfree(map);
}

static const struct vm_operations_struct pinshm_meta_vm_ops = {
	.may_split = pinshm_may_split,
	.mremap = pinshm_mremap,
};

static const struct vm_operations_struct pinshm_data_vm_ops = {
	.open = pinshm_data_open,
	.close = pinshm_data_close,
	.may_split = pinshm_may_split,
	.mremap = pinshm_mremap,
};

static int pinshm_mmap_meta(struct pinshm_region *r,
			    struct vm_area_struct *vma)
{
	if (vma_pages(vma) != 1)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EACCES;
	vm_flags_clear(vma, VM_MAYWRITE);
	vm_flags_set(vma, PINSHM_VM_FLAGS);
	vma->vm_ops = &pinshm_meta_vm_ops;
	return vm_insert_page(vma, vma->vm_start, r->meta_page);
}

/*
 * On error some pages may be mapped already; mmap_region() unmaps the
 * range when ->mmap fails, which drops their references.
 */
static int pinshm_insert_pages(struct vm_area_struct *vma, struct page *page,
			       unsigned long nr)
{
	struct page *batch[PINSHM_INSERT_BATCH];
	unsigned long addr = vma->vm_start;
	unsigned long done = 0;

	while (done < nr) {
		unsigned long n = min_t(unsigned long, nr - done,
					PINSHM_INSERT_BATCH);
		unsigned long left = n;
		unsigned long i;
		int ret;

		for (i = 0; i < n; i++)
			batch[i] = nth_page(page, done + i);
		ret = vm_insert_pages(vma, addr, batch, &left);
		if (ret)
			return ret;
		addr += n << PAGE_SHIFT;
		done += n;
		cond_resched();
	}
	return 0;
}

static int pinshm_mmap_data(struct file *file, struct pinshm_region *r,
			    struct vm_area_struct *vma)
{
	unsigned long first = vma->vm_pgoff - 1;
	unsigned long nr = vma_pages(vma);
	struct pinshm_mapping *map;
	int ret;

	if (first >= r->nr_pages || nr > r->nr_pages - first)
		return -EINVAL;

	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		return -ENOMEM;
	map->region = r;
	map->mm = vma->vm_mm;
	map->pid = get_task_pid(current, PIDTYPE_TGID);
	map->tgid = task_tgid_nr(current);
	map->slot = -1;
	if (file->f_mode & FMODE_WRITE) {
		map->access = PINSHM_ACC_RW;
	} else {
		/* do_mmap() did this already for MAP_SHARED; keep it explicit. */
		map->access = PINSHM_ACC_RO;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	vm_flags_set(vma, PINSHM_VM_FLAGS);

	ret = pinshm_insert_pages(vma, nth_page(r->pages, first), nr);
	if (ret)
		goto out_free_map;
	ret = pinshm_meta_attach(r, map);
	if (ret)
		goto out_free_map;
	vma->vm_private_data = map;
	vma->vm_ops = &pinshm_data_vm_ops;
	return 0;

out_free_map:
	put_pid(map->pid);
	kfree(map);
	return ret;
}

int pinshm_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct pinshm_file *pf = file->private_data;

	/* Not VM_SHARED: do_mmap() clears it for read-only files. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff == 0)
		return pinshm_mmap_meta(pf->region, vma);
	return pinshm_mmap_data(file, pf->region, vma);
}
