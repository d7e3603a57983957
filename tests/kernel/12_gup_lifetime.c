// SPDX-License-Identifier: GPL-2.0
/*
 * 12_gup_lifetime - region pages work with get_user_pages(), and page
 * references taken that way outlive the region safely.
 *
 * DESIGN.md: data is mapped with vm_insert_pages() so that GUP and O_DIRECT
 * keep working. Checked here:
 *   - /proc/self/mem (GUP with FOLL_FORCE) reads the data;
 *   - /proc/self/mem cannot write through a read-only mapping of the data,
 *     nor through the metadata page mapping (FOLL_FORCE must not beat
 *     VM_MAYWRITE);
 *   - vmsplice() takes page references into a pipe; the region is then
 *     unmapped, closed and DESTROYed (the module drops its references), and
 *     the pipe must still return the original bytes: the pages may only be
 *     freed when the pipe lets go (init_on_free=1 would zero them, and a bad
 *     free shows up as "Bad page state" in the kernel log run.sh checks).
 */
#include "common.h"
#include <sys/uio.h>

#define BYTES (64 * 1024UL)
#define SPLICED (4 * PAGE_SZ)

static unsigned char pat(size_t i)
{
	return (unsigned char)(i * 13 + 7);
}

int main(void)
{
	const char *name = tname("gup");
	unsigned char *d, *ro, buf[SPLICED];
	const struct pinshm_meta *meta;
	int ctl, fd, rofd, mem, pfd[2], ok;
	struct iovec iov;
	char path[256];
	ssize_t n;
	uint32_t magic;

	test_timeout(120);
	tap_plan(10);
	ctl = ctl_open();
	cleanup_add(name);
	fd = pshm_create(ctl, name, BYTES, PINSHM_NODE_ANY, 0644);
	if (!tap_success(fd, "CREATE %s", name))
		tap_bail("no region");
	d = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 PINSHM_META_SIZE);
	if (!tap_ok(d != MAP_FAILED, "mmap the data"))
		tap_bail("mmap: %s", strerror(errno));
	for (size_t i = 0; i < BYTES; i++)
		d[i] = pat(i);

	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (mem < 0)
		tap_bail("/proc/self/mem: %s", strerror(errno));
	memset(buf, 0, sizeof(buf));
	n = pread(mem, buf, sizeof(buf), (off_t)(uintptr_t)(d + PAGE_SZ));
	ok = n == (ssize_t)sizeof(buf);
	for (size_t i = 0; ok && i < sizeof(buf); i++)
		ok = buf[i] == pat(PAGE_SZ + i);
	tap_ok(ok, "/proc/self/mem (GUP) reads the data (n=%zd%s%s)", n,
	       n < 0 ? ", " : "", n < 0 ? strerror(errno) : "");

	/* FOLL_FORCE writes must respect read-only mappings */
	rofd = pshm_open(ctl, name, 0);
	ro = rofd >= 0 ? mmap(NULL, BYTES, PROT_READ, MAP_SHARED, rofd,
			      PINSHM_META_SIZE) : MAP_FAILED;
	if (ro == MAP_FAILED)
		tap_bail("read-only OPEN/mmap: %s", strerror(errno));
	memset(buf, 0xee, sizeof(buf));
	n = pwrite(mem, buf, 16, (off_t)(uintptr_t)ro);
	tap_ok(n < 0, "/proc/self/mem cannot write through a read-only "
	       "mapping (%s)", n < 0 ? strerror(errno) : "it wrote");
	tap_ok(d[0] == pat(0) && ro[0] == pat(0),
	       "the data is unchanged after the refused write");
	meta = map_meta(fd);
	if (meta == MAP_FAILED)
		tap_bail("metadata mmap: %s", strerror(errno));
	magic = 0xdeadbeef;
	n = pwrite(mem, &magic, sizeof(magic), (off_t)(uintptr_t)meta);
	tap_ok(n < 0, "/proc/self/mem cannot write the metadata page (%s)",
	       n < 0 ? strerror(errno) : "it wrote");
	tap_ok(meta->magic == PINSHM_META_MAGIC, "metadata magic intact");
	munmap((void *)meta, PINSHM_META_SIZE);
	pshm_detach(rofd);
	munmap(ro, BYTES);
	close(rofd);
	close(mem);

	/* vmsplice takes page references; they must outlive the region */
	if (pipe(pfd))
		tap_bail("pipe: %s", strerror(errno));
	iov.iov_base = d + 2 * PAGE_SZ;
	iov.iov_len = SPLICED;
	n = vmsplice(pfd[1], &iov, 1, 0);
	tap_ok(n == (ssize_t)SPLICED, "vmsplice of %lu bytes of the data "
	       "(n=%zd%s%s)", SPLICED, n, n < 0 ? ", " : "",
	       n < 0 ? strerror(errno) : "");

	pshm_detach(fd);
	munmap(d, BYTES);
	close(fd);
	snprintf(path, sizeof(path), SYSFS_REGIONS "/%s", name);
	tap_ok(pshm_destroy(ctl, name) == 0 && !path_exists(path) &&
	       pshm_listed(ctl, name) == 0,
	       "DESTROY with every fd and mapping gone (pages still in the pipe)");

	/* churn memory a little so freed pages would get reused */
	{
		size_t churn = 32UL << 20;
		unsigned char *c = mmap(NULL, churn, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (c != MAP_FAILED) {
			memset(c, 0x99, churn);
			munmap(c, churn);
		}
	}
	memset(buf, 0, sizeof(buf));
	n = read(pfd[0], buf, sizeof(buf));
	ok = n == (ssize_t)sizeof(buf);
	for (size_t i = 0; ok && i < sizeof(buf); i++)
		ok = buf[i] == pat(2 * PAGE_SZ + i);
	tap_ok(ok, "the pipe still returns the original bytes after the "
	       "region is gone (n=%zd, first byte 0x%02x want 0x%02x)", n,
	       buf[0], pat(2 * PAGE_SZ));
	close(pfd[0]);
	close(pfd[1]);
	close(ctl);
	return tap_finish();
}
