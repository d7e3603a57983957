// SPDX-License-Identifier: GPL-2.0
/*
 * 18_limits - what a region costs is charged to its creator and capped.
 *
 * Usage: 18_limits /path/to/pinshm.ko   (the module is reloaded to test
 * open_mode; it is left loaded with its defaults, as run.sh loaded it)
 *
 * Create loops of one-page regions, each in a forked child that joins a
 * memory cgroup or sets RLIMIT_MEMLOCK as root, drops to the uid asked for
 * (no capabilities left) and creates on the control fd opened while root.
 * The errnos are the uapi header's:
 *   RLIMIT_MEMLOCK (data + metadata page, CAP_IPC_LOCK exempt)  -EPERM
 *   max_regions_per_uid                                          -EDQUOT
 *   max_regions, max_total_mb (data + metadata + bookkeeping)    -ENOSPC
 *   the creator's memory cgroup at memory.max                    -ENOMEM
 * An unprivileged loop with the default limits stops at one of them with
 * the guest's MemAvailable nearly where it was; destroying gives every
 * charge back (1000 create/destroy cycles within a 64 KiB RLIMIT_MEMLOCK);
 * the memory cgroup's memory.current grows by what the regions cost and
 * shrinks when they go. /dev/pinshm is 0660 by default (root only without
 * the udev rule) and open_mode=0666 opens it to everyone.
 */
#include "common.h"
#include <grp.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define NOBODY 65534
#define OTHER 65533
#define CG_ROOT "/sys/fs/cgroup"
#define CG CG_ROOT "/pinshm18"
#define NO_CG NULL

static const char *ko;
static int ctl;

/* ---- module parameters ---- */

static long param_get(const char *p)
{
	char path[128];

	snprintf(path, sizeof(path), MODPARAM_DIR "/%s", p);
	return file_field(path, "%ld");
}

static int param_set(const char *p, long v)
{
	char path[128], val[32];

	snprintf(path, sizeof(path), MODPARAM_DIR "/%s", p);
	snprintf(val, sizeof(val), "%ld", v);
	return write_file(path, val);
}

/* ---- create loops in a child ---- */

struct loop_res {
	int made;	/* regions created */
	int err;	/* errno of the CREATE that failed, 0 if none did */
	int setup;	/* 0, or errno of the setup that failed */
};

static const char *rname(const char *tag, int i)
{
	static char b[PINSHM_NAME_MAX];

	snprintf(b, sizeof(b), "t18-%s-%d", tag, i);
	return b;
}

/*
 * Fork a child that joins cgroup cg (if not NULL), sets RLIMIT_MEMLOCK to
 * memlock (RLIM_INFINITY for none), drops to uid (unless 0) and creates up
 * to max one-page regions tag-0, tag-1, ...; destroy, if set, destroys each
 * right after creating it. The regions stay for the caller to destroy.
 */
static struct loop_res loop(const char *tag, uid_t uid, rlim_t memlock,
			    const char *cg, int max, int destroy)
{
	struct loop_res res = { 0, 0, EIO }, *out;
	int st;
	pid_t pid;

	/*
	 * The result comes back in a page both sides have touched before
	 * the fork, not through a pipe: a child at its cgroup's memory.max
	 * would need a charged page (a pipe buffer, a page table) to tell,
	 * and the OOM killer would take it.
	 */
	out = mmap(NULL, sizeof(*out), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (out == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	*out = res;
	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		struct rlimit rl = { memlock, memlock };
		char me[32];
		int fd;

		out->made = 0;	/* our page table entry, before the cgroup */
		res.setup = 0;
		snprintf(me, sizeof(me), "%d", (int)getpid());
		/*
		 * At memory.max, an allocation the kernel makes for a CREATE
		 * outside the module (the fd's struct file) may call the
		 * cgroup's OOM killer, which would kill us, its only member;
		 * unkillable, we see that allocation fail with ENOMEM too.
		 */
		if (cg && write_file("/proc/self/oom_score_adj", "-1000"))
			res.setup = errno;
		if (cg && write_file(CG "/cgroup.procs", me))
			res.setup = errno;
		if (setrlimit(RLIMIT_MEMLOCK, &rl))
			res.setup = errno;
		if (uid && (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
			    setresuid(uid, uid, uid)))
			res.setup = errno;
		for (int i = 0; !res.setup && i < max; i++) {
			fd = pshm_create(ctl, rname(tag, i), PAGE_SZ,
					 PINSHM_NODE_ANY, 0600);
			if (fd < 0) {
				res.err = errno;
				break;
			}
			close(fd);
			if (destroy && pshm_destroy(ctl, rname(tag, i))) {
				res.err = errno;
				break;
			}
			res.made++;
		}
		*out = res;
		_exit(0);
	}
	st = wait_child(pid, 200000);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		tap_diag("loop %s: child status 0x%x", tag, st);
		out->setup = EIO;
	}
	res = *out;
	munmap(out, sizeof(*out));
	return res;
}

/* Destroy tag-0 .. tag-(n-1) as root; how many were there. */
static int unloop(const char *tag, int n)
{
	int gone = 0;

	for (int i = 0; i < n; i++)
		gone += pshm_destroy(ctl, rname(tag, i)) == 0;
	return gone;
}

static int loop_is(struct loop_res r, int made, int err, const char *what)
{
	int ok = !r.setup && r.made == made && r.err == err;

	tap_ok(ok, "%s: %d created, then %s", what, made,
	       err ? strerror(err) : "no error");
	if (!ok)
		tap_diag("  got %d created, then %s (setup: %s)", r.made,
			 r.err ? strerror(r.err) : "no error",
			 r.setup ? strerror(r.setup) : "ok");
	return ok;
}

/* ---- /dev/pinshm and open_mode ---- */

static int insmod(const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), r, e;

	if (fd < 0)
		return -1;
	r = syscall(SYS_finit_module, fd, params, 0);
	e = errno;
	close(fd);
	for (int i = 0; !r && i < 200 && !path_exists(PINSHM_DEV_PATH); i++)
		usleep(10000);
	errno = e;
	return r;
}

static int rmmod(void)
{
	return syscall(SYS_delete_module, "pinshm", O_NONBLOCK);
}

static int dev_mode(void)
{
	struct stat st;

	if (stat(PINSHM_DEV_PATH, &st))
		return -1;
	return st.st_mode & 07777;
}

/* Can uid open /dev/pinshm? 0, or the errno. */
static int open_as(uid_t uid)
{
	pid_t pid = fork();
	int st, fd;

	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
		    setresuid(uid, uid, uid))
			_exit(255);
		fd = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);
		_exit(fd < 0 ? errno : 0);
	}
	st = wait_child(pid, 10000);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 254;
}

static void test_dev_mode(void)
{
	int m = dev_mode();

	tap_ok(m == 0660, "/dev/pinshm is 0660 by default (got 0%o)", m);
	tap_eq_u64(open_as(NOBODY), EACCES,
		   "uid 65534 cannot open the default /dev/pinshm (EACCES)");
	close(ctl);
	if (rmmod())
		tap_bail("rmmod: %s", strerror(errno));
	if (!tap_ok(insmod("open_mode=0666") == 0,
		    "insmod open_mode=0666 works"))
		tap_diag("  %s", strerror(errno));
	m = dev_mode();
	tap_ok(m == 0666, "open_mode=0666 gives /dev/pinshm mode 0666 (got 0%o)",
	       m);
	tap_eq_u64(open_as(NOBODY), 0, "uid 65534 then opens /dev/pinshm");
	rmmod();
	errno = 0;
	m = insmod("open_mode=01666") == -1 ? errno : 0;
	tap_ok(m == EINVAL, "insmod open_mode=01666 fails with EINVAL (%s)",
	       m ? strerror(m) : "it loaded");
	rmmod();	/* in case it loaded */
	tap_ok(insmod("") == 0, "insmod with the defaults works again");
	tap_ok(dev_mode() == 0660, "/dev/pinshm is 0660 again");
	ctl = ctl_open();
}

/* ---- memory cgroup ---- */

static long cg_current(void)
{
	return file_field(CG "/memory.current", "%ld");
}

static int cg_setup(void)
{
	if (!path_exists(CG_ROOT "/cgroup.controllers")) {
		mkdir(CG_ROOT, 0755);
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
			return -1;
	}
	write_file(CG_ROOT "/cgroup.subtree_control", "+memory");
	if (mkdir(CG, 0755) && errno != EEXIST)
		return -1;
	return path_exists(CG "/memory.current") ? 0 : -1;
}

static void test_memcg(void)
{
	const int n = 64;
	long before, after, gone, max;
	struct loop_res r;
	char buf[32];
	int made;

	if (cg_setup()) {
		for (int i = 0; i < 3; i++)
			tap_skip("no cgroup2 memory controller", "memcg");
		return;
	}
	/* One region: data page, metadata page, struct, sysfs: > 8 KiB. */
	before = cg_current();
	r = loop("cg", 0, RLIM_INFINITY, CG, n, 0);
	after = cg_current();
	tap_ok(!r.setup && r.made == n && after - before >= n * 8192L,
	       "%d one-page regions charge their creator's memory cgroup: "
	       "memory.current +%ld KiB (at least %d KiB; %ld KiB each)",
	       r.made, (after - before) >> 10, n * 8,
	       (after - before) / 1024 / n);
	unloop("cg", n);
	gone = cg_current();
	tap_ok(after - gone >= n * 8192L,
	       "DESTROY uncharges it: memory.current -%ld KiB",
	       (after - gone) >> 10);

	/* At memory.max the creator gets ENOMEM (an unkillable one: loop()). */
	param_set("max_regions_per_uid", 100000);
	param_set("max_regions", 100000);
	max = cg_current() + (4L << 20);
	snprintf(buf, sizeof(buf), "%ld", max);
	write_file(CG "/memory.max", buf);
	r = loop("cgmax", 0, RLIM_INFINITY, CG, 5000, 0);
	made = r.made;
	tap_ok(!r.setup && r.err == ENOMEM && made > 0 && made < 1000,
	       "memory.max 4 MiB above: CREATE stops with ENOMEM after %d "
	       "regions (%s)", made, r.err ? strerror(r.err) : "no error");
	unloop("cgmax", 5000);
	write_file(CG "/memory.max", "max");
	param_set("max_regions_per_uid", 256);
	param_set("max_regions", 4096);
	rmdir(CG);
}

/* ---- the rest ---- */

static long mem_avail_kb(void)
{
	return file_field("/proc/meminfo", "MemAvailable: %ld kB");
}

int main(int argc, char **argv)
{
	long total_mb, avail0, avail1, nregions;
	struct loop_res r;
	uint64_t t0, t1, t2;
	unsigned int total = 0;
	int made;

	ko = argc > 1 ? argv[1] : getenv("PINSHM_KO");
	test_timeout(600);
	tap_plan(26);
	if (geteuid() != 0)
		tap_bail("must start as root");
	if (!ko)
		tap_bail("usage: 18_limits /path/to/pinshm.ko");
	ctl = ctl_open();

	/* What create costs: 1000 one-page regions, then their DESTROYs. */
	param_set("max_regions_per_uid", 100000);
	t0 = mono_us();
	for (int i = 0; i < 1000; i++) {
		int fd = pshm_create(ctl, rname("time", i), PAGE_SZ,
				     PINSHM_NODE_ANY, 0600);

		if (fd < 0) {
			tap_diag("CREATE %d: %s", i, strerror(errno));
			unloop("time", i);
			tap_bail("cannot time 1000 CREATEs");
		}
		close(fd);
	}
	t1 = mono_us();
	unloop("time", 1000);
	t2 = mono_us();
	param_set("max_regions_per_uid", 256);
	tap_diag("1000 one-page CREATEs %llu us (%llu us each), DESTROYs %llu us",
		 (unsigned long long)(t1 - t0),
		 (unsigned long long)(t1 - t0) / 1000,
		 (unsigned long long)(t2 - t1));

	/* RLIMIT_MEMLOCK: data + metadata page, two pages per region. */
	r = loop("ml0", NOBODY, 0, NO_CG, 10, 0);
	loop_is(r, 0, EPERM, "uid 65534, RLIMIT_MEMLOCK 0");
	unloop("ml0", 10);
	r = loop("mlroot", 0, 0, NO_CG, 3, 0);
	loop_is(r, 3, 0, "root (CAP_IPC_LOCK), RLIMIT_MEMLOCK 0");
	unloop("mlroot", 3);
	r = loop("ml64", NOBODY, 64 << 10, NO_CG, 100, 0);
	loop_is(r, 8, EPERM, "uid 65534, RLIMIT_MEMLOCK 64 KiB");
	unloop("ml64", 100);
	r = loop("ml64", NOBODY, 64 << 10, NO_CG, 100, 0);
	loop_is(r, 8, EPERM, "after DESTROY, again (the charge was given back)");
	unloop("ml64", 100);
	r = loop("cycle", NOBODY, 64 << 10, NO_CG, 1000, 1);
	loop_is(r, 1000, 0,
		"uid 65534, RLIMIT_MEMLOCK 64 KiB: 1000 CREATE+DESTROY cycles");

	/* Per uid: max_regions_per_uid. */
	tap_ok(param_get("max_regions_per_uid") == 256 &&
	       param_get("max_regions") == 4096,
	       "defaults: max_regions_per_uid 256, max_regions 4096");
	param_set("max_regions_per_uid", 3);
	r = loop("uid", NOBODY, RLIM_INFINITY, NO_CG, 10, 0);
	loop_is(r, 3, EDQUOT, "uid 65534, max_regions_per_uid 3");
	r = loop("uid2", OTHER, RLIM_INFINITY, NO_CG, 10, 0);
	loop_is(r, 3, EDQUOT, "uid 65533 beside it, max_regions_per_uid 3");
	unloop("uid", 10);
	unloop("uid2", 10);
	param_set("max_regions_per_uid", 256);

	/* In all: max_regions. */
	pshm_list(ctl, NULL, 0, &total);
	nregions = total;
	param_set("max_regions", nregions + 5);
	r = loop("tab", NOBODY, RLIM_INFINITY, NO_CG, 10, 0);
	loop_is(r, 5, ENOSPC, "max_regions 5 above the live ones");
	unloop("tab", 10);
	param_set("max_regions", 4096);

	/*
	 * max_total_mb 1 counts metadata and bookkeeping: a one-page region
	 * costs 3 pages or more, so far fewer than 256 fit.
	 */
	total_mb = param_get("max_total_mb");
	param_set("max_total_mb", 1);
	r = loop("tot", 0, RLIM_INFINITY, NO_CG, 1000, 0);
	made = r.made;
	tap_ok(!r.setup && r.err == ENOSPC && made > 0 && made <= 256 / 3,
	       "max_total_mb 1: %d one-page regions, then %s (at most %d: "
	       "metadata and bookkeeping count)", made,
	       r.err ? strerror(r.err) : "no error", 256 / 3);
	unloop("tot", 1000);
	param_set("max_total_mb", total_mb);

	/*
	 * The defaults, unprivileged, the default RLIMIT_MEMLOCK (8 MiB), and
	 * unlimited: the loop stops at a documented errno; the guest keeps
	 * its memory.
	 */
	avail0 = mem_avail_kb();
	r = loop("dflt", NOBODY, 8 << 20, NO_CG, 20000, 0);
	avail1 = mem_avail_kb();
	tap_ok(!r.setup && (r.err == EPERM || r.err == EDQUOT) &&
	       r.made <= 256,
	       "uid 65534, defaults, RLIMIT_MEMLOCK 8 MiB: stops after %d at %s",
	       r.made, r.err ? strerror(r.err) : "no error");
	tap_ok(avail1 > avail0 - 16384,
	       "MemAvailable %ld -> %ld kB (less than 16 MiB used)", avail0,
	       avail1);
	unloop("dflt", 20000);
	param_set("max_regions_per_uid", 100000);
	avail0 = mem_avail_kb();
	r = loop("unl", NOBODY, RLIM_INFINITY, NO_CG, 20000, 0);
	avail1 = mem_avail_kb();
	tap_ok(!r.setup && r.err == ENOSPC && r.made <= 4096,
	       "uid 65534, no per-uid cap, unlimited RLIMIT_MEMLOCK: the table "
	       "(max_regions 4096) stops it after %d at %s", r.made,
	       r.err ? strerror(r.err) : "no error");
	tap_ok(avail1 > avail0 / 2, "MemAvailable %ld -> %ld kB (most left)",
	       avail0, avail1);
	unloop("unl", 20000);
	param_set("max_regions_per_uid", 256);

	test_memcg();
	test_dev_mode();

	pshm_list(ctl, NULL, 0, &total);
	tap_eq_u64(total, nregions, "no region of this test is left");
	close(ctl);
	return tap_finish();
}
