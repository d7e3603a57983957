// SPDX-License-Identifier: GPL-2.0
/*
 * 21_reload_cycles - many insmod/rmmod cycles with live regions in between:
 * no leak, no kernel complaint.
 *
 * Usage: 21_reload_cycles /path/to/pinshm.ko [cycles]   (or PINSHM_KO=...)
 * Cycles: argv[2], else KFUZZ_RELOADS, else DEFAULT_CYCLES (1000, as make
 * check runs them).
 *
 * Each cycle: finit_module(2); open /dev/pinshm; CREATE a (4 KiB, 0600) and
 * b (64 KiB, 0644), and every 16th cycle c (8 MiB, the alloc_contig_range
 * path); OPEN b read-only; map a's metadata page and its data read-write,
 * write and read back; map b's data read-only; every 8th cycle a forked
 * child maps a and is killed with SIGKILL (a DIED slot); delete_module(2)
 * must then fail (EAGAIN, or EBUSY) and leave the module working; DESTROY
 * every region, every other cycle while a is still mapped (the memory
 * lingers until the unmap); DETACH, unmap, close; delete_module succeeds.
 *
 * After 10 warm-up cycles, MemFree (after drop_caches) must end within
 * 16 MiB of where it started, and unreclaimable slab within
 * SLAB_TOLERANCE_KB plus 512 bytes a cycle: a leaked region (its struct
 * alone is 3.5 KiB, its pages 4 KiB and more) shows in one or the other.
 * The kernel log is checked by run.sh afterwards. The module is left
 * loaded, as it was found.
 */
#include "common.h"
#include <sys/syscall.h>

#define DEFAULT_CYCLES		1000
#define WARMUP			10
#define MEM_TOLERANCE_KB	16384
#define SLAB_TOLERANCE_KB	2048

static const char *ko;

struct mem {
	long free_kb, sunreclaim_kb, percpu_kb;
};

static struct mem mem_now(void)
{
	struct mem m;

	sync();
	write_file("/proc/sys/vm/drop_caches", "3");
	m.free_kb = file_field("/proc/meminfo", "MemFree: %ld kB");
	m.sunreclaim_kb = file_field("/proc/meminfo", "SUnreclaim: %ld kB");
	m.percpu_kb = file_field("/proc/meminfo", "Percpu: %ld kB");
	return m;
}

static int busy_refusals;

/* One cycle; returns NULL on success or a description of what failed. */
static const char *cycle(int i)
{
	static char err[320];
	char name[3][PINSHM_NAME_MAX];
	int ctl = -1, fa = -1, fb = -1, fbro = -1, fc = -1, tries;
	unsigned char *meta = MAP_FAILED, *da = MAP_FAILED, *db = MAP_FAILED;
	int big = i % 16 == 0, kid = i % 8 == 0, destroy_mapped = i & 1;
	pid_t child = -1;

	memset(name, 0, sizeof(name));
#define FAIL(...) do { snprintf(err, sizeof(err), __VA_ARGS__); goto out; } while (0)
	if (mod_load(ko, ""))
		FAIL("insmod: %s", strerror(errno));
	for (tries = 0; tries < 200; tries++) {
		ctl = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);
		if (ctl >= 0)
			break;
		usleep(10000);
	}
	if (ctl < 0)
		FAIL("open %s: %s", PINSHM_DEV_PATH, strerror(errno));
	for (int k = 0; k < 3; k++)
		snprintf(name[k], sizeof(name[k]), "reload-%d-%c", i, 'a' + k);
	fa = pshm_create(ctl, name[0], PAGE_SZ, PINSHM_NODE_ANY, 0600);
	if (fa < 0)
		FAIL("CREATE a: %s", strerror(errno));
	fb = pshm_create(ctl, name[1], 65536, PINSHM_NODE_ANY, 0644);
	if (fb < 0)
		FAIL("CREATE b: %s", strerror(errno));
	if (big) {
		fc = pshm_create(ctl, name[2], 8UL << 20, PINSHM_NODE_ANY, 0600);
		if (fc < 0)
			FAIL("CREATE c (8 MiB): %s", strerror(errno));
	}
	fbro = pshm_open(ctl, name[1], 0);
	if (fbro < 0)
		FAIL("OPEN b read-only: %s", strerror(errno));
	meta = mmap(NULL, PINSHM_META_SIZE, PROT_READ, MAP_SHARED, fa, 0);
	if (meta == MAP_FAILED)
		FAIL("mmap a's metadata: %s", strerror(errno));
	da = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fa,
		  PINSHM_META_SIZE);
	if (da == MAP_FAILED)
		FAIL("mmap a rw: %s", strerror(errno));
	da[100] = (unsigned char)i;
	if (da[100] != (unsigned char)i ||
	    ((struct pinshm_meta *)meta)->magic != PINSHM_META_MAGIC)
		FAIL("a's data or metadata reads wrong");
	db = mmap(NULL, 65536, PROT_READ, MAP_SHARED, fbro, PINSHM_META_SIZE);
	if (db == MAP_FAILED)
		FAIL("mmap b ro: %s", strerror(errno));
	if (db[65535] != 0)
		FAIL("b is not zeroed");
	if (kid) {
		int st;

		child = fork();
		if (child == 0) {
			void *p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
				       MAP_SHARED, fa, PINSHM_META_SIZE);

			if (p == MAP_FAILED)
				_exit(2);
			pause();
			_exit(0);
		}
		if (child < 0)
			FAIL("fork: %s", strerror(errno));
		/* wait until its mapping shows, then kill it */
		for (tries = 0; tries < 2000; tries++) {
			if (((volatile struct pinshm_meta *)meta)->nr_attached >= 2)
				break;
			if (waitpid(child, &st, WNOHANG) == child) {
				child = -1;
				FAIL("child could not map a (status 0x%x)", st);
			}
			usleep(1000);
		}
		kill(child, SIGKILL);
		waitpid(child, &st, 0);
		child = -1;
		if (((volatile struct pinshm_meta *)meta)->crashes != 1)
			FAIL("a's crash count is %llu after a child's kill -9, not 1",
			     (unsigned long long)((struct pinshm_meta *)meta)->crashes);
	}
	/* live regions: the module must stay */
	if (mod_unload() == 0)
		FAIL("delete_module worked with live regions");
	if (errno != EAGAIN && errno != EBUSY)
		FAIL("delete_module with live regions: %s, not EAGAIN or EBUSY",
		     strerror(errno));
	busy_refusals++;
	if (pshm_listed(ctl, name[0]) != 1)
		FAIL("a is not listed after the refused unload");
	if (destroy_mapped)
		for (int k = 0; k < 3; k++)
			if ((k < 2 || big) && pshm_destroy(ctl, name[k]))
				FAIL("DESTROY %s (mapped): %s", name[k], strerror(errno));
	pshm_detach(fa);
	munmap(da, PAGE_SZ);
	da = MAP_FAILED;
	munmap(db, 65536);
	db = MAP_FAILED;
	munmap(meta, PINSHM_META_SIZE);
	meta = MAP_FAILED;
	if (!destroy_mapped)
		for (int k = 0; k < 3; k++)
			if ((k < 2 || big) && pshm_destroy(ctl, name[k]))
				FAIL("DESTROY %s: %s", name[k], strerror(errno));
	close(fa);
	close(fb);
	close(fbro);
	if (fc >= 0)
		close(fc);
	fa = fb = fbro = fc = -1;
	close(ctl);
	ctl = -1;
	if (mod_unload())
		FAIL("rmmod: %s", strerror(errno));
	return NULL;
out:
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (da != MAP_FAILED)
		munmap(da, PAGE_SZ);
	if (db != MAP_FAILED)
		munmap(db, 65536);
	if (meta != MAP_FAILED)
		munmap(meta, PINSHM_META_SIZE);
	for (int k = 0, fds[4] = { fa, fb, fbro, fc }; k < 4; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	if (ctl >= 0) {
		for (int k = 0; k < 3; k++)
			pshm_destroy(ctl, name[k]);
		close(ctl);
	}
	mod_unload();
	return err;
#undef FAIL
}

int main(int argc, char **argv)
{
	const char *env = getenv("KFUZZ_RELOADS");
	int cycles = DEFAULT_CYCLES, failed = 0;
	struct mem before, after;
	uint64_t t0, t1;
	const char *e = NULL, *first = NULL;
	long slab_bound;

	if (argc > 2)
		cycles = atoi(argv[2]);
	else if (env && *env)
		cycles = atoi(env);
	if (cycles < 1)
		cycles = 1;
	test_timeout(120 + cycles / 4);
	tap_plan(7);
	ko = argc > 1 ? argv[1] : getenv("PINSHM_KO");
	if (!ko || !path_exists(ko))
		tap_bail("need the path of pinshm.ko as argv[1] or PINSHM_KO");

	if (path_exists("/sys/module/pinshm"))
		tap_success(mod_unload(), "initial rmmod (no regions are left over)");
	else
		tap_ok(1, "module was not loaded");
	if (path_exists("/sys/module/pinshm"))
		tap_bail("cannot unload pinshm: %s", strerror(errno));

	for (int i = 0; i < WARMUP && !e; i++)
		e = cycle(-1 - i);
	tap_ok(!e, "%d warm-up cycles%s%s", WARMUP, e ? ": " : "", e ? e : "");

	before = mem_now();
	busy_refusals = 0;
	t0 = mono_us();
	for (int i = 0; i < cycles; i++) {
		e = cycle(i);
		if (e) {
			if (!failed++)
				first = e;
			tap_diag("cycle %d: %s", i, e);
			if (failed > 5)
				break;
		}
	}
	t1 = mono_us();
	after = mem_now();
	tap_ok(!failed, "%d cycles of insmod, regions created, mapped, "
	       "unloading refused, destroyed, unmapped, rmmod%s%s", cycles,
	       first ? "; first failure: " : "", first ? first : "");
	tap_ok(busy_refusals == cycles, "delete_module refused in each cycle "
	       "while regions lived (%d of %d)", busy_refusals, cycles);
	tap_diag("%d cycles in %llu ms (%llu us each)", cycles,
		 (unsigned long long)(t1 - t0) / 1000,
		 (unsigned long long)(t1 - t0) / (cycles ? cycles : 1));
	tap_diag("MemFree %ld -> %ld kB, SUnreclaim %ld -> %ld kB, Percpu %ld -> %ld kB",
		 before.free_kb, after.free_kb, before.sunreclaim_kb,
		 after.sunreclaim_kb, before.percpu_kb, after.percpu_kb);
	tap_ok(before.free_kb > 0 && after.free_kb >= before.free_kb - MEM_TOLERANCE_KB,
	       "MemFree after %d cycles within %d kB of before (delta %ld kB)",
	       cycles, MEM_TOLERANCE_KB, after.free_kb - before.free_kb);
	slab_bound = SLAB_TOLERANCE_KB + (long)cycles / 2;
	tap_ok(before.sunreclaim_kb >= 0 &&
	       after.sunreclaim_kb - before.sunreclaim_kb <= slab_bound,
	       "unreclaimable slab grew by at most %ld kB (delta %ld kB)",
	       slab_bound, after.sunreclaim_kb - before.sunreclaim_kb);

	/* leave it loaded */
	tap_success(mod_load(ko, ""), "module loads again at the end");
	{
		int ctl = -1;
		unsigned int total = 99;

		for (int i = 0; i < 200 && ctl < 0; i++) {
			ctl = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);
			if (ctl < 0)
				usleep(10000);
		}
		if (ctl < 0 || pshm_list(ctl, NULL, 0, &total) != 0 || total)
			tap_diag("after the reload: /dev/pinshm %s, %u regions",
				 ctl < 0 ? "missing" : "there", total);
		if (ctl >= 0)
			close(ctl);
	}
	return tap_finish();
}
