/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinshm: what differs between the kernels the module is built for, 6.1
 * (Debian 12) and 6.12 (bookworm-backports, generic and PREEMPT_RT). Each
 * difference is bridged here, once, so the code elsewhere is written for
 * one kernel. Tested by feature, not by version number (kmod/Kbuild looks
 * for what a macro cannot tell).
 */
#ifndef _PINSHM_COMPAT_H
#define _PINSHM_COMPAT_H

#include <linux/mm.h>
#include <linux/mmzone.h>

/* The largest order the buddy allocator hands out. */
#ifdef MAX_PAGE_ORDER			/* 6.8 on (6.12): that order */
#define PINSHM_BUDDY_MAX_ORDER	MAX_PAGE_ORDER
#else					/* 6.1: one past it */
#define PINSHM_BUDDY_MAX_ORDER	(MAX_ORDER - 1)
#endif

#ifndef PINSHM_HAVE_VM_FLAGS_SET
/* 6.3 made vm_flags read-only, written through these (per-VMA locks). */
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/* Remove the page table entries of all of vma (mmap_lock held). */
static inline void pinshm_zap_vma(struct vm_area_struct *vma)
{
#ifdef PINSHM_HAVE_ZAP_PAGE_RANGE	/* 6.1 */
	zap_page_range(vma, vma->vm_start, vma->vm_end - vma->vm_start);
#else					/* 6.3 on: 6.1's is not exported */
	zap_page_range_single(vma, vma->vm_start, vma->vm_end - vma->vm_start,
			      NULL);
#endif
}

#endif /* _PINSHM_COMPAT_H */
