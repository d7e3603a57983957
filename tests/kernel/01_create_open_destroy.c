// SPDX-License-Identifier: GPL-2.0
/*
 * 01_create_open_destroy - region lifetime through the control device.
 *
 * CREATE returns an O_CLOEXEC read-write region fd; a second CREATE of the
 * same name is -EEXIST; OPEN gives read-only or read-write fds; LIST, INFO
 * and sysfs (/sys/class/misc/pinshm/regions/<name>/...) report the region
 * while it lives; DESTROY unlinks it (OPEN/INFO -> -ENOENT, sysfs entry
 * gone, metadata page says DESTROYED while an old mapping lingers) and the
 * name can be reused at once for a new, distinct region.
 */
#include "common.h"

static void check_sysfs_file(const char *name, const char *file,
			     const char *want)
{
	char path[256], buf[128];
	int r;

	snprintf(path, sizeof(path), SYSFS_REGIONS "/%s/%s", name, file);
	r = read_file(path, buf, sizeof(buf));
	if (!want) {
		tap_ok(r == 0, "sysfs %s exists while the region lives", file);
		if (r)
			tap_diag("  %s: %s", path, strerror(errno));
		return;
	}
	tap_ok(r == 0 && strcmp(buf, want) == 0,
	       "sysfs %s reads \"%s\"", file, want);
	if (r)
		tap_diag("  %s: %s", path, strerror(errno));
	else if (strcmp(buf, want))
		tap_diag("  %s: read \"%s\"", path, buf);
}

int main(void)
{
	const char *name = tname("a");
	const char *name2 = tname("mode");
	struct pinshm_info inf;
	struct pinshm_meta snap;
	const struct pinshm_meta *meta;
	char path[256];
	unsigned char *data, *data2;
	int ctl, fd, fd2, ro, rw, r, fl;
	const uint64_t bytes = 64 * 1024;

	test_timeout(120);
	tap_plan(46);
	ctl = ctl_open();
	cleanup_add(name);
	cleanup_add(name2);

	/* CREATE */
	fd = pshm_create(ctl, name, bytes, PINSHM_NODE_ANY, 0);
	if (!tap_success(fd, "CREATE %s returns a region fd", name))
		tap_bail("cannot continue without a region");
	fl = fcntl(fd, F_GETFD);
	tap_ok(fl >= 0 && (fl & FD_CLOEXEC), "CREATE fd is close-on-exec");
	fl = fcntl(fd, F_GETFL);
	tap_ok(fl >= 0 && (fl & O_ACCMODE) == O_RDWR, "CREATE fd is O_RDWR");
	tap_ok(fd != ctl, "region fd is not the control fd");

	r = pshm_create(ctl, name, bytes, PINSHM_NODE_ANY, 0);
	tap_errno(r, EEXIST, "second CREATE of the same name -> EEXIST");
	if (r >= 0)
		close(r);

	/* OPEN */
	ro = pshm_open(ctl, name, 0);
	tap_success(ro, "OPEN read-only works");
	fl = ro >= 0 ? fcntl(ro, F_GETFL) : -1;
	tap_ok(fl >= 0 && (fl & O_ACCMODE) == O_RDONLY,
	       "OPEN without PINSHM_OPEN_WRITE gives an O_RDONLY fd");
	fl = ro >= 0 ? fcntl(ro, F_GETFD) : -1;
	tap_ok(fl >= 0 && (fl & FD_CLOEXEC), "OPEN fd is close-on-exec");
	rw = pshm_open(ctl, name, PINSHM_OPEN_WRITE);
	tap_success(rw, "OPEN with PINSHM_OPEN_WRITE works");
	fl = rw >= 0 ? fcntl(rw, F_GETFL) : -1;
	tap_ok(fl >= 0 && (fl & O_ACCMODE) == O_RDWR,
	       "OPEN with PINSHM_OPEN_WRITE gives an O_RDWR fd");

	/* LIST */
	tap_ok(pshm_listed(ctl, name) == 1, "LIST includes the region");

	/* INFO by name */
	r = pshm_info(ctl, name, &inf);
	tap_success(r, "INFO by name works");
	tap_eq_u64(inf.bytes, bytes, "INFO.bytes is the requested size");
	tap_eq_u64(inf.mode, 0600, "INFO.mode is 0600 when created with mode 0");
	tap_eq_u64(inf.uid, getuid(), "INFO.uid is the creator");
	tap_eq_u64(inf.gid, getgid(), "INFO.gid is the creator's group");
	tap_ok((inf.region_flags & (PINSHM_F_CONTIGUOUS | PINSHM_F_PINNED)) ==
	       (PINSHM_F_CONTIGUOUS | PINSHM_F_PINNED) &&
	       !(inf.region_flags & PINSHM_F_DESTROYED),
	       "INFO.region_flags has CONTIGUOUS|PINNED, not DESTROYED (0x%x)",
	       inf.region_flags);
	tap_ok(inf.created_ns > 0 &&
	       inf.created_ns <= now_ns(CLOCK_REALTIME) &&
	       now_ns(CLOCK_REALTIME) - inf.created_ns < 60ULL * 1000000000ULL,
	       "INFO.created_ns is within the last minute");
	tap_eq_u64(inf.crashes, 0, "INFO.crashes is 0 for a new region");

	/* INFO on a region fd fills in the name */
	r = pshm_info(ro, NULL, &inf);
	tap_ok(r >= 0 && strcmp(inf.name, name) == 0 && inf.bytes == bytes,
	       "INFO on a region fd reports its name and size");
	if (r < 0)
		tap_diag("  INFO on region fd: %s", strerror(errno));

	/* sysfs */
	snprintf(path, sizeof(path), SYSFS_REGIONS "/%s", name);
	tap_ok(path_exists(path), "sysfs directory %s exists", path);
	check_sysfs_file(name, "size", "65536");
	check_sysfs_file(name, "node", NULL);
	check_sysfs_file(name, "generation", NULL);
	check_sysfs_file(name, "crashes", "0");
	check_sysfs_file(name, "attached", "0");

	/* map data and metadata through the CREATE fd, write something */
	data = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    PINSHM_META_SIZE);
	meta = map_meta(fd);
	if (data == MAP_FAILED || meta == MAP_FAILED)
		tap_bail("mmap of the new region failed: %s", strerror(errno));
	memset(data, 0xa5, bytes);
	check_sysfs_file(name, "attached", "1");

	/* mode given at CREATE is kept */
	fd2 = pshm_create(ctl, name2, 4096, PINSHM_NODE_ANY, 0640);
	tap_success(fd2, "CREATE with mode 0640 works");
	r = pshm_info(ctl, name2, &inf);
	tap_ok(r >= 0 && inf.mode == 0640, "INFO.mode is 0640 (got 0%o)",
	       inf.mode);
	tap_success(pshm_destroy(ctl, name2), "DESTROY of the 0640 region");
	if (fd2 >= 0)
		close(fd2);

	/* DESTROY */
	r = pshm_destroy(ctl, name);
	tap_success(r, "DESTROY works while fds and a mapping are open");
	r = pshm_open(ctl, name, 0);
	tap_errno(r, ENOENT, "OPEN after DESTROY -> ENOENT");
	if (r >= 0)
		close(r);
	r = pshm_info(ctl, name, &inf);
	tap_errno(r, ENOENT, "INFO by name after DESTROY -> ENOENT");
	r = pshm_destroy(ctl, name);
	tap_errno(r, ENOENT, "second DESTROY -> ENOENT");
	tap_ok(pshm_listed(ctl, name) == 0, "LIST no longer includes it");
	tap_ok(!path_exists(path), "sysfs directory is gone after DESTROY");

	/* the old mapping lingers and knows it was destroyed */
	r = meta_snapshot(meta, &snap);
	tap_ok(r == 0 && (snap.flags & PINSHM_F_DESTROYED),
	       "metadata page of the lingering region has PINSHM_F_DESTROYED "
	       "(flags 0x%x)", snap.flags);
	r = pshm_info(fd, NULL, &inf);
	tap_ok(r >= 0 && (inf.region_flags & PINSHM_F_DESTROYED),
	       "INFO on the old fd works and says DESTROYED");
	tap_ok(data[0] == 0xa5 && data[bytes - 1] == 0xa5,
	       "old mapping still holds its data after DESTROY");

	/* the name is reusable at once, for a distinct region */
	fd2 = pshm_create(ctl, name, bytes, PINSHM_NODE_ANY, 0);
	tap_success(fd2, "name is reusable after DESTROY");
	tap_ok(path_exists(path), "sysfs directory is back for the new region");
	data2 = fd2 >= 0 ? mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd2, PINSHM_META_SIZE) : MAP_FAILED;
	if (data2 != MAP_FAILED) {
		size_t i;

		for (i = 0; i < bytes && data2[i] == 0; i++)
			;
		tap_ok(i == bytes, "new region with the old name is zeroed "
		       "(distinct from the old one)");
		data2[0] = 0x11;
		tap_ok(data[0] == 0xa5,
		       "writing the new region does not touch the old one");
		munmap(data2, bytes);
	} else {
		tap_ok(0, "mmap of the re-created region (%s)",
		       strerror(errno));
		tap_ok(0, "writing the new region does not touch the old one");
	}
	r = pshm_info(ctl, name, &inf);
	tap_ok(r >= 0 && !(inf.region_flags & PINSHM_F_DESTROYED),
	       "INFO by name reports the new region, not DESTROYED");
	tap_success(pshm_destroy(ctl, name), "DESTROY of the re-created region");
	if (fd2 >= 0)
		close(fd2);

	/* closing everything frees the old one (no crash; checked via kmsg) */
	munmap(data, bytes);
	munmap((void *)meta, PINSHM_META_SIZE);
	close(fd);
	close(ro);
	close(rw);
	tap_ok(pshm_listed(ctl, name) == 0 && !path_exists(path),
	       "nothing left after the last fd and mapping close");
	close(ctl);
	return tap_finish();
}
