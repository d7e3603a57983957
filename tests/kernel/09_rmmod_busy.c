// SPDX-License-Identifier: GPL-2.0
/*
 * 09_rmmod_busy - the module cannot be unloaded while anything needs it.
 *
 * Usage: 09_rmmod_busy /path/to/pinshm.ko   (or PINSHM_KO=...)
 *
 * delete_module(2) ("rmmod pinshm", with O_NONBLOCK as rmmod does) must fail
 * with EAGAIN (= EWOULDBLOCK, the 6.1 answer for a module in use; EBUSY is
 * accepted too) while:
 *   - a region exists, with no fd or mapping open (one module reference per
 *     live region);
 *   - no region exists but a control fd is open;
 *   - a DESTROYed region is still mapped, with every fd closed.
 * Once all regions are destroyed and every fd and mapping is gone, unloading
 * succeeds and /dev/pinshm disappears. The test then loads the module again
 * with finit_module(2), so the tests after it find it loaded.
 */
#include "common.h"
#include <sys/syscall.h>

static const char *ko;

static int mod_loaded(void)
{
	return path_exists("/sys/module/pinshm");
}

static int wait_path(const char *path, int present, int ms)
{
	for (int i = 0; i < ms; i += 10) {
		if (path_exists(path) == present)
			return 1;
		usleep(10000);
	}
	return path_exists(path) == present;
}

#define tap_busy(ret, ...) ({						\
	long __r = (ret);						\
	int __e = errno;						\
	int __c = __r == -1 && (__e == EAGAIN || __e == EBUSY);		\
	tap_ok(__c, __VA_ARGS__);					\
	if (__r == 0)							\
		tap_diag("  the module was UNLOADED; reloading");	\
	else if (!__c)							\
		tap_diag("  errno %d (%s)", __e, strerror(__e));	\
	if (__r == 0 && mod_load(ko, ""))					\
		tap_bail("reload failed: %s", strerror(errno));		\
	__c;								\
})

int main(int argc, char **argv)
{
	const char *r1 = tname("r1");
	const char *r2 = tname("r2");
	char path[256], refcnt[32] = "?";
	unsigned int total = 99;
	unsigned char *d;
	int ctl, fd, r;

	test_timeout(120);
	tap_plan(12);
	ko = argc > 1 ? argv[1] : getenv("PINSHM_KO");
	if (!ko || !path_exists(ko))
		tap_bail("need the path of pinshm.ko as argv[1] or PINSHM_KO");
	if (!tap_ok(mod_loaded(), "pinshm is loaded"))
		tap_bail("module not loaded");
	cleanup_add(r1);
	cleanup_add(r2);

	/* 1. a region with nothing open */
	ctl = ctl_open();
	fd = pshm_create(ctl, r1, 4096, PINSHM_NODE_ANY, 0600);
	tap_success(fd, "CREATE %s", r1);
	close(fd);
	close(ctl);
	read_file("/sys/module/pinshm/refcnt", refcnt, sizeof(refcnt));
	tap_diag("refcnt with one region and no fd: %s", refcnt);
	tap_busy(mod_unload(), "rmmod refused while a region exists (no fd open)");
	snprintf(path, sizeof(path), SYSFS_REGIONS "/%s", r1);
	tap_ok(mod_loaded() && path_exists(path),
	       "module and region still there after the refused rmmod");

	/* 2. no region, a control fd open */
	ctl = ctl_open();
	tap_success(pshm_destroy(ctl, r1), "DESTROY %s", r1);
	tap_busy(mod_unload(), "rmmod refused while a control fd is open");

	/* 3. a destroyed region still mapped, no fd */
	fd = pshm_create(ctl, r2, 64 * 1024, PINSHM_NODE_ANY, 0600);
	d = fd >= 0 ? mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, PINSHM_META_SIZE) : MAP_FAILED;
	if (d == MAP_FAILED)
		tap_bail("CREATE/mmap %s: %s", r2, strerror(errno));
	memset(d, 0x3c, 64 * 1024);
	close(fd);
	pshm_destroy(ctl, r2);
	close(ctl);
	tap_busy(mod_unload(), "rmmod refused while a destroyed region is mapped");
	d[1] = 0x3d;
	tap_ok(d[0] == 0x3c && d[1] == 0x3d && d[65535] == 0x3c,
	       "the mapping still works after the refused rmmod");
	munmap(d, 64 * 1024);

	/* 4. nothing left: unload works */
	r = mod_unload();
	tap_success(r, "rmmod succeeds once nothing is left");
	tap_ok(!mod_loaded() && wait_path(PINSHM_DEV_PATH, 0, 2000),
	       "/sys/module/pinshm and /dev/pinshm are gone");

	/* 5. load it again for the next tests */
	r = mod_loaded() ? 0 : mod_load(ko, "");
	tap_success(r, "module loads again (finit_module %s)", ko);
	wait_path(PINSHM_DEV_PATH, 1, 2000);
	ctl = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);
	r = ctl >= 0 ? pshm_list(ctl, NULL, 0, &total) : -1;
	tap_ok(ctl >= 0 && r == 0 && total == 0,
	       "/dev/pinshm is back and lists no regions (total %u)", total);
	if (ctl >= 0)
		close(ctl);
	return tap_finish();
}
