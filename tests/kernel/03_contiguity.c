// SPDX-License-Identifier: GPL-2.0
/*
 * 03_contiguity - 4 KiB, 2 MiB, 4 MiB and 64 MiB regions are physically
 * contiguous, zeroed, and described correctly by their metadata page.
 *
 * Runs as root (CAP_SYS_ADMIN), so /proc/self/pagemap shows real PFNs and
 * INFO.phys_addr is filled in. For every data page of the mapping (pages
 * touched first) PFN[i] must be PFN[0] + i and INFO.phys_addr must be
 * PFN[0] << 12. Pinned: after /proc/sys/vm/compact_memory no PFN changed.
 * Regions of 2 MiB and more must be 2 MiB aligned physically
 * and say PINSHM_F_HUGE_ALIGNED (DESIGN.md: "2 MiB-aligned where its size
 * allows"); any region that says HUGE_ALIGNED must be.
 * Create/destroy times are printed as TAP comments, never asserted.
 */
#include "common.h"

#define PM_PRESENT (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define SZ_2M (2UL << 20)

static const struct {
	uint64_t bytes;
	const char *label;
} sizes[] = {
	{ 4096, "4 KiB" },
	{ 2UL << 20, "2 MiB" },
	{ 4UL << 20, "4 MiB" },
	{ 64UL << 20, "64 MiB" },
};

#define PER_SIZE 18

static void skip_rest(int from, const char *label)
{
	for (int i = from; i < PER_SIZE; i++)
		tap_ok(0, "%s: not reached (earlier step failed)", label);
}

static void one_size(int ctl, int pm, uint64_t bytes, const char *label)
{
	const char *name = tname(label);
	uint64_t t0, t1, npages = bytes / PAGE_SZ, pfn0, bad = 0;
	uint64_t *pfns;
	struct pinshm_info inf;
	struct pinshm_meta snap;
	const struct pinshm_meta *meta;
	const struct pinshm_attach *a;
	volatile unsigned char *d;
	unsigned long sum = 0;
	int fd, r, done = 0;
	ssize_t n;

	cleanup_add(name);
	t0 = mono_us();
	fd = pshm_create(ctl, name, bytes, PINSHM_NODE_ANY, 0600);
	t1 = mono_us();
	done++;
	if (!tap_success(fd, "%s: CREATE", label))
		return skip_rest(done, label);
	tap_diag("create %s: %llu us", label, (unsigned long long)(t1 - t0));

	d = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 PINSHM_META_SIZE);
	meta = map_meta(fd);
	done++;
	if (!tap_ok(d != MAP_FAILED && meta != MAP_FAILED,
		    "%s: mmap of data and metadata", label)) {
		tap_diag("  mmap: %s", strerror(errno));
		close(fd);
		pshm_destroy(ctl, name);
		return skip_rest(done, label);
	}

	/* touch every page (read), and check it is zeroed */
	for (uint64_t i = 0; i < bytes; i += 8)
		sum |= *(volatile uint64_t *)(d + i);

	pfns = calloc(npages, sizeof(*pfns));
	n = pread(pm, pfns, npages * 8, ((uintptr_t)d / PAGE_SZ) * 8);
	for (uint64_t i = 0; n == (ssize_t)(npages * 8) && i < npages; i++)
		if (!(pfns[i] & PM_PRESENT))
			bad++;
	done++;
	tap_ok(n == (ssize_t)(npages * 8) && bad == 0,
	       "%s: pagemap shows all %llu data pages present", label,
	       (unsigned long long)npages);
	if (n != (ssize_t)(npages * 8))
		tap_diag("  pagemap read %zd: %s", n, strerror(errno));
	else if (bad)
		tap_diag("  %llu pages not present", (unsigned long long)bad);

	pfn0 = pfns[0] & PM_PFN_MASK;
	bad = 0;
	for (uint64_t i = 0; i < npages; i++) {
		if ((pfns[i] & PM_PFN_MASK) != pfn0 + i) {
			if (!bad)
				tap_diag("  first break at page %llu: pfn 0x%llx, want 0x%llx",
					 (unsigned long long)i,
					 (unsigned long long)(pfns[i] & PM_PFN_MASK),
					 (unsigned long long)(pfn0 + i));
			bad++;
		}
	}
	done++;
	tap_ok(pfn0 != 0 && bad == 0,
	       "%s: physically contiguous, PFN[i] == PFN[0] + i (PFN[0] 0x%llx)",
	       label, (unsigned long long)pfn0);

	r = pshm_info(fd, NULL, &inf);
	done++;
	tap_ok(r == 0 && inf.phys_addr == pfn0 << 12,
	       "%s: INFO.phys_addr == PFN[0] << 12 (0x%llx vs 0x%llx)", label,
	       (unsigned long long)inf.phys_addr,
	       (unsigned long long)(pfn0 << 12));

	done++;
	tap_ok(sum == 0, "%s: new region is zeroed", label);

	/* pinned: compaction must not move a page (and data stays put) */
	for (uint64_t i = 0; i < bytes; i += PAGE_SZ)
		d[i] = (unsigned char)(i >> 12);
	t0 = mono_us();
	write_file("/proc/sys/vm/compact_memory", "1");
	t1 = mono_us();
	{
		uint64_t *again = calloc(npages, sizeof(*again));
		uint64_t moved = 0, wrong = 0;

		n = pread(pm, again, npages * 8, ((uintptr_t)d / PAGE_SZ) * 8);
		for (uint64_t i = 0; i < npages; i++) {
			if ((again[i] & PM_PFN_MASK) != (pfns[i] & PM_PFN_MASK))
				moved++;
			if (d[i * PAGE_SZ] != (unsigned char)i)
				wrong++;
		}
		done++;
		tap_ok(n == (ssize_t)(npages * 8) && moved == 0 && wrong == 0,
		       "%s: after compaction (%llu ms) no page moved and data "
		       "intact (%llu moved, %llu wrong)", label,
		       (unsigned long long)(t1 - t0) / 1000,
		       (unsigned long long)moved, (unsigned long long)wrong);
		free(again);
	}

	r = meta_snapshot(meta, &snap);
	done++;
	tap_ok(r == 0 && snap.magic == PINSHM_META_MAGIC &&
	       snap.abi_version == PINSHM_ABI_VERSION &&
	       snap.hdr_size == PINSHM_META_HDR_SIZE &&
	       snap.backend == PINSHM_BACKEND_KMOD,
	       "%s: meta magic 0x%x abi %u hdr_size %u backend %u", label,
	       snap.magic, snap.abi_version, snap.hdr_size, snap.backend);
	done++;
	tap_ok(snap.nr_slots == PINSHM_MAX_ATTACH &&
	       snap.slot_off == offsetof(struct pinshm_meta, attach) &&
	       snap.slot_size == sizeof(struct pinshm_attach),
	       "%s: meta nr_slots %u slot_off %u slot_size %u", label,
	       snap.nr_slots, snap.slot_off, snap.slot_size);
	done++;
	tap_ok(strncmp(snap.name, name, PINSHM_NAME_MAX) == 0,
	       "%s: meta name \"%.63s\"", label, snap.name);
	done++;
	tap_eq_u64(snap.size, bytes, "%s: meta size", label);
	done++;
	tap_eq_u64(snap.data_off, PINSHM_META_SIZE, "%s: meta data_off", label);
	done++;
	tap_ok((snap.flags & (PINSHM_F_CONTIGUOUS | PINSHM_F_PINNED)) ==
	       (PINSHM_F_CONTIGUOUS | PINSHM_F_PINNED) &&
	       !(snap.flags & PINSHM_F_DESTROYED) &&
	       snap.flags == inf.region_flags,
	       "%s: meta flags 0x%x has CONTIGUOUS|PINNED and matches INFO (0x%x)",
	       label, snap.flags, inf.region_flags);
	done++;
	tap_ok(snap.node == inf.node && (snap.node >= 0 ||
					 snap.node == PINSHM_NODE_ANY),
	       "%s: meta node %d matches INFO node %d", label, snap.node,
	       inf.node);
	done++;
	tap_ok(snap.uid == getuid() && snap.gid == getgid() &&
	       snap.mode == 0600,
	       "%s: meta uid %u gid %u mode 0%o", label, snap.uid, snap.gid,
	       snap.mode);
	a = meta_slot(&snap, getpid());
	done++;
	tap_ok(!(snap.seq & 1) && snap.nr_attached == 1 && a &&
	       a->state == PINSHM_ST_ATTACHED && a->access == PINSHM_ACC_RW,
	       "%s: meta shows this process ATTACHED rw, nr_attached 1", label);
	if (!a || a->state != PINSHM_ST_ATTACHED)
		meta_dump_slots(&snap);

	done++;
	if (bytes >= SZ_2M) {
		tap_ok((snap.flags & PINSHM_F_HUGE_ALIGNED) &&
		       (pfn0 << 12) % SZ_2M == 0,
		       "%s: HUGE_ALIGNED set and physical start 2 MiB aligned "
		       "(flags 0x%x, phys 0x%llx)", label, snap.flags,
		       (unsigned long long)(pfn0 << 12));
	} else {
		tap_ok(!(snap.flags & PINSHM_F_HUGE_ALIGNED) ||
		       (pfn0 << 12) % SZ_2M == 0,
		       "%s: HUGE_ALIGNED only if 2 MiB aligned (flags 0x%x)",
		       label, snap.flags);
	}

	pshm_detach(fd);
	munmap((void *)d, bytes);
	munmap((void *)meta, PINSHM_META_SIZE);
	close(fd);
	free(pfns);
	t0 = mono_us();
	r = pshm_destroy(ctl, name);
	t1 = mono_us();
	done++;
	tap_success(r, "%s: DESTROY", label);
	tap_diag("destroy %s: %llu us", label, (unsigned long long)(t1 - t0));
}

int main(void)
{
	int ctl, pm;

	test_timeout(240);
	tap_plan(PER_SIZE * (int)(sizeof(sizes) / sizeof(sizes[0])));
	if (geteuid() != 0)
		tap_bail("must run as root to read PFNs from pagemap");
	ctl = ctl_open();
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		tap_bail("/proc/self/pagemap: %s", strerror(errno));
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		one_size(ctl, pm, sizes[i].bytes, sizes[i].label);
	close(pm);
	close(ctl);
	return tap_finish();
}
