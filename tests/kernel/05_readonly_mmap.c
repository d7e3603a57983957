// SPDX-License-Identifier: GPL-2.0
/*
 * 05_readonly_mmap - what the mmap of a region fd refuses.
 *
 * Read-only fd (OPEN without PINSHM_OPEN_WRITE): the data maps PROT_READ;
 * a write through it kills the writer with SIGSEGV (checked in a forked
 * child); mprotect(PROT_WRITE) -> EACCES; mmap with PROT_WRITE -> EACCES.
 * Metadata page (offset 0), even through the read-write CREATE fd: mmap with
 * PROT_WRITE fails (EACCES or EPERM), mprotect(PROT_WRITE) -> EACCES, a write
 * kills the writer with SIGSEGV.
 * Data: MAP_PRIVATE -> EINVAL; mappings past the end of the region fail;
 * mremap (grow, shrink, move) fails; munmap or mprotect of half the mapping
 * (a VMA split) -> EINVAL thanks to .may_split, and the mapping stays whole.
 * The mapping is not inherited over fork (VM_DONTCOPY): a child touching it
 * gets SIGSEGV.
 */
#include "common.h"

#define BYTES (64 * 1024UL)

/*
 * Fork a child that maps len bytes of fd at off PROT_READ (the mapping is not
 * inherited: VM_DONTCOPY), checks that the first 32-bit word reads as want,
 * then writes to it. Returns the child's wait status: SIGSEGV expected;
 * exit 20 = the child's mmap failed, 21 = it read the wrong value,
 * 0 = the write went through.
 */
static int child_write(int fd, off_t off, size_t len, uint32_t want)
{
	pid_t pid = fork();

	if (pid == 0) {
		volatile uint32_t *p;

		alarm(10);
		p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off);
		if (p == MAP_FAILED)
			_exit(20);
		if (p[0] != want)
			_exit(21);
		p[0] = 0x42424242;
		_exit(0);
	}
	if (pid < 0)
		return -1;
	return wait_child(pid, 15000);
}

static int child_read(volatile unsigned char *p)
{
	pid_t pid = fork();

	if (pid == 0) {
		alarm(10);
		_exit(p[0] == 0x5a ? 0 : 3);
	}
	if (pid < 0)
		return -1;
	return wait_child(pid, 15000);
}

static void check_segv(int st, const char *what)
{
	tap_ok(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	       "%s: SIGSEGV (status 0x%x)", what, st);
}

int main(void)
{
	const char *name = tname("ro");
	int ctl, fd, ro, r, st;
	unsigned char *rw, *p, *q;
	void *m;

	test_timeout(120);
	tap_plan(26);
	ctl = ctl_open();
	cleanup_add(name);

	fd = pshm_create(ctl, name, BYTES, PINSHM_NODE_ANY, 0644);
	if (!tap_success(fd, "CREATE %s", name))
		tap_bail("no region");
	rw = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		  PINSHM_META_SIZE);
	if (rw == MAP_FAILED)
		tap_bail("rw mmap: %s", strerror(errno));
	memset(rw, 0x5a, BYTES);

	/* ---- read-only fd ---- */
	ro = pshm_open(ctl, name, 0);
	if (!tap_success(ro, "OPEN read-only"))
		tap_bail("no read-only fd");
	p = mmap(NULL, BYTES, PROT_READ, MAP_SHARED, ro, PINSHM_META_SIZE);
	tap_ok(p != MAP_FAILED && p[0] == 0x5a && p[BYTES - 1] == 0x5a,
	       "read-only fd maps the data PROT_READ and sees the data");
	if (p == MAP_FAILED)
		tap_bail("read-only mmap: %s", strerror(errno));
	check_segv(child_write(ro, PINSHM_META_SIZE, BYTES, 0x5a5a5a5a),
		   "write through a read-only mapping");
	tap_ok(p[0] == 0x5a, "the refused write changed nothing");
	tap_errno(mprotect(p, BYTES, PROT_READ | PROT_WRITE), EACCES,
		  "mprotect(PROT_WRITE) of a read-only mapping -> EACCES");
	m = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, ro,
		 PINSHM_META_SIZE);
	tap_errno(m == MAP_FAILED ? -1 : 0, EACCES,
		  "mmap PROT_WRITE of a read-only fd -> EACCES");
	if (m != MAP_FAILED)
		munmap(m, BYTES);
	pshm_detach(ro);
	munmap(p, BYTES);

	/* ---- metadata page, through the read-write fd ---- */
	m = mmap(NULL, PINSHM_META_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	r = (m == MAP_FAILED) ? errno : 0;
	tap_ok(m == MAP_FAILED && (r == EACCES || r == EPERM),
	       "mmap PROT_WRITE of the metadata page fails (%s)",
	       r ? strerror(r) : "it succeeded");
	if (m != MAP_FAILED)
		munmap(m, PINSHM_META_SIZE);
	q = mmap(NULL, PINSHM_META_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	tap_ok(q != MAP_FAILED && ((struct pinshm_meta *)q)->magic ==
	       PINSHM_META_MAGIC, "metadata page maps PROT_READ from a rw fd");
	if (q == MAP_FAILED)
		tap_bail("metadata mmap: %s", strerror(errno));
	tap_errno(mprotect(q, PINSHM_META_SIZE, PROT_READ | PROT_WRITE), EACCES,
		  "mprotect(PROT_WRITE) of the metadata page -> EACCES");
	check_segv(child_write(fd, 0, PINSHM_META_SIZE, PINSHM_META_MAGIC),
		   "write to a PROT_READ mapping of the metadata page");
	tap_ok(((struct pinshm_meta *)q)->magic == PINSHM_META_MAGIC,
	       "metadata magic intact");
	munmap(q, PINSHM_META_SIZE);

	/* ---- data mapping shapes ---- */
	m = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		 PINSHM_META_SIZE);
	tap_errno(m == MAP_FAILED ? -1 : 0, EINVAL,
		  "MAP_PRIVATE mmap of the data -> EINVAL");
	if (m != MAP_FAILED)
		munmap(m, BYTES);
	m = mmap(NULL, BYTES, PROT_READ, MAP_PRIVATE, fd, PINSHM_META_SIZE);
	tap_errno(m == MAP_FAILED ? -1 : 0, EINVAL,
		  "MAP_PRIVATE PROT_READ mmap of the data -> EINVAL");
	if (m != MAP_FAILED)
		munmap(m, BYTES);
	m = mmap(NULL, BYTES + PAGE_SZ, PROT_READ, MAP_SHARED, fd,
		 PINSHM_META_SIZE);
	r = (m == MAP_FAILED) ? errno : 0;
	tap_ok(m == MAP_FAILED, "mmap longer than the region fails (%s)",
	       r ? strerror(r) : "it succeeded");
	if (m != MAP_FAILED)
		munmap(m, BYTES + PAGE_SZ);
	m = mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, fd,
		 PINSHM_META_SIZE + BYTES);
	r = (m == MAP_FAILED) ? errno : 0;
	tap_ok(m == MAP_FAILED, "mmap at an offset past the end fails (%s)",
	       r ? strerror(r) : "it succeeded");
	if (m != MAP_FAILED)
		munmap(m, PAGE_SZ);

	/* mremap: grow, shrink, move */
	m = mremap(rw, BYTES, BYTES * 2, MREMAP_MAYMOVE);
	tap_ok(m == MAP_FAILED, "mremap to grow fails (%s)",
	       m == MAP_FAILED ? strerror(errno) : "it succeeded");
	if (m != MAP_FAILED)
		rw = m;
	m = mremap(rw, BYTES, BYTES / 2, 0);
	tap_ok(m == MAP_FAILED, "mremap to shrink fails (%s)",
	       m == MAP_FAILED ? strerror(errno) : "it succeeded");
	if (m != MAP_FAILED)
		tap_bail("the mapping was shrunk; cannot go on");
	{
		/* reserve a target, then try to move the mapping onto it */
		void *tgt = mmap(NULL, BYTES, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		m = mremap(rw, BYTES, BYTES, MREMAP_MAYMOVE | MREMAP_FIXED,
			   tgt);
		tap_ok(m == MAP_FAILED, "mremap to move fails (%s)",
		       m == MAP_FAILED ? strerror(errno) : "it succeeded");
		if (m != MAP_FAILED)
			rw = m;
		else
			munmap(tgt, BYTES);
	}
	tap_ok(rw[0] == 0x5a && rw[BYTES - 1] == 0x5a,
	       "mapping intact after the refused mremaps");

	/* split: munmap or mprotect of half the mapping */
	r = munmap(rw + BYTES / 2, BYTES / 2);
	tap_errno(r, EINVAL, "munmap of half the mapping (a split) -> EINVAL");
	if (r == 0)
		tap_bail("half the mapping is gone; cannot go on");
	r = mprotect(rw, BYTES / 2, PROT_READ);
	tap_errno(r, EINVAL, "mprotect of half the mapping (a split) -> EINVAL");
	r = madvise(rw + PAGE_SZ, PAGE_SZ, MADV_DONTFORK);
	tap_diag("madvise(MADV_DONTFORK) of one page: %s (informational)",
		 r ? strerror(errno) : "ok");
	rw[BYTES - 1] = 0x5b;
	tap_ok(rw[0] == 0x5a && rw[BYTES - 1] == 0x5b,
	       "whole mapping still readable and writable after refused splits");

	/* not inherited over fork */
	st = child_read(rw);
	tap_ok(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	       "a forked child does not inherit the mapping (VM_DONTCOPY): "
	       "SIGSEGV (status 0x%x)", st);

	pshm_detach(fd);
	tap_success(munmap(rw, BYTES), "munmap of the whole mapping works");
	close(ro);
	close(fd);
	tap_success(pshm_destroy(ctl, name), "DESTROY");
	close(ctl);
	return tap_finish();
}
