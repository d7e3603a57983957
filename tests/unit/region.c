// SPDX-License-Identifier: MIT
/*
 * Suite "region": tests of libshm/src/region.c (with the shm backend,
 * libshm/src/shm.c, underneath): create, open, close, destroy and list
 * regions by name; size, mode and zeroing; sharing between processes.
 *
 * The shm backend keeps a region in one file, $PINSHM_SHM_DIR (default
 * /dev/shm) /pinshm.<name>: the metadata page at offset 0, the data at
 * meta.data_off (4 KiB, or 2 MiB for regions of 2 MiB and more).
 */
#include <stdatomic.h>

#include "testutil.h"

TestSuite(region, .fini = t_cleanup, .timeout = 30);

Test(region, creates_a_region_that_open_finds_by_name)
{
	struct pinshm_region *r, *o;
	const char *name;

	r = t_create("basic", 64 << 10, &name);
	cr_assert_str_eq(pinshm_region_name(r), name);
	cr_assert_eq(pinshm_region_size(r), 64 << 10);
	cr_assert_eq(pinshm_region_backend(r), PINSHM_BACKEND_SHM);
	cr_assert(pinshm_region_writable(r));
	cr_assert_not_null(pinshm_region_data(r));
	cr_assert_not_null(pinshm_region_meta_page(r));

	T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &o));
	cr_assert_str_eq(pinshm_region_name(o), name);
	cr_assert_eq(pinshm_region_size(o), 64 << 10);
	cr_assert(pinshm_region_writable(o));
	T_OK(pinshm_region_close(o));
	T_OK(pinshm_region_close(r));
	T_OK(pinshm_region_destroy(name, T_BACKEND));
	T_ERR(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &o), -ENOENT);
}

Test(region, the_auto_backend_follows_the_environment)
{
	struct pinshm_region_opts opt;
	struct pinshm_region *r;
	const char *name = t_name("auto");

	setenv("PINSHM_BACKEND", "shm", 1);
	pinshm_region_opts_init(&opt);
	opt.size = 4096;
	T_OK(pinshm_region_create(name, &opt, &r));
	cr_assert_eq(pinshm_region_backend(r), PINSHM_BACKEND_SHM);
	cr_assert_eq(access(t_shm_path(name), F_OK), 0, "%s missing",
		     t_shm_path(name));
	T_OK(pinshm_region_close(r));
}

Test(region, rounds_the_size_up_to_whole_pages)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	struct stat st;
	const char *name;

	r = t_create("round", 5000, &name);
	cr_assert_eq(pinshm_region_size(r), 8192);
	T_OK(pinshm_region_meta(r, &m));
	cr_assert_eq(m.size, 8192);
	cr_assert_eq(stat(t_shm_path(name), &st), 0, "stat %s: %s",
		     t_shm_path(name), strerror(errno));
	cr_assert_eq((uint64_t)st.st_size, m.data_off + 8192,
		     "file size %lld, data_off %llu", (long long)st.st_size,
		     (unsigned long long)m.data_off);
	T_OK(pinshm_region_close(r));
}

Test(region, a_one_page_region_is_exactly_one_page)
{
	struct pinshm_region *r;
	struct stat st;
	const char *name;

	r = t_create("page", 1, &name);
	cr_assert_eq(pinshm_region_size(r), 4096);
	cr_assert_eq(stat(t_shm_path(name), &st), 0);
	cr_assert_eq(st.st_size, 2 * 4096, "metadata page plus one data page");
	T_OK(pinshm_region_close(r));
}

Test(region, aligns_the_data_of_large_regions_to_2_MiB)
{
	struct pinshm_region *r;
	struct pinshm_meta m;

	r = t_create("huge", 4 << 20, NULL);
	cr_assert_eq((uintptr_t)pinshm_region_data(r) % (2 << 20), 0,
		     "data at %p", pinshm_region_data(r));
	T_OK(pinshm_region_meta(r, &m));
	cr_assert(m.flags & PINSHM_F_HUGE_ALIGNED, "flags %#x", m.flags);
	T_OK(pinshm_region_close(r));
}

Test(region, honours_the_mode_given_at_create)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	struct stat st;
	const char *name;

	r = t_create_mode("mode", 4096, 0640, &name);
	cr_assert_eq(stat(t_shm_path(name), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_uid, geteuid());
	T_OK(pinshm_region_meta(r, &m));
	cr_assert_eq(m.mode, 0640, "meta mode %o", m.mode);
	cr_assert_eq(m.uid, geteuid());
	cr_assert_eq(m.gid, getegid());
	T_OK(pinshm_region_close(r));
}

Test(region, the_default_mode_is_0600)
{
	struct pinshm_region *r;
	struct stat st;
	const char *name;

	r = t_create_mode("mode0", 4096, 0, &name);
	cr_assert_eq(stat(t_shm_path(name), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	T_OK(pinshm_region_close(r));
}

/* Like SysV shm, the mode is what was asked for, whatever the umask. */
Test(region, the_umask_does_not_change_the_mode)
{
	struct pinshm_region *r;
	struct stat st;
	const char *name;

	umask(077);
	r = t_create_mode("umask", 4096, 0664, &name);
	cr_assert_eq(stat(t_shm_path(name), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0664, "mode %o", st.st_mode & 07777);
	T_OK(pinshm_region_close(r));
}

Test(region, the_data_area_is_zeroed_apart_from_the_directory)
{
	struct pinshm_region *r;
	const uint8_t *d;
	uint64_t i, size = 1 << 20;

	r = t_create("zero", size, NULL);
	d = pinshm_region_data(r);
	for (i = sizeof(struct pinshm_dir); i < size; i++)
		cr_assert_eq(d[i], 0, "byte %llu is %#x", (unsigned long long)i,
			     d[i]);
	for (i = offsetof(struct pinshm_dir, entry); i < sizeof(struct pinshm_dir);
	     i++)
		cr_assert_eq(d[i], 0, "directory byte %llu is %#x",
			     (unsigned long long)i, d[i]);
	T_OK(pinshm_region_close(r));
}

/* The child opens the region by name: its own mapping of the same memory. */
Test(region, two_processes_see_each_others_writes)
{
	struct pinshm_region *r;
	const char *name;
	uint8_t *d;
	uint64_t size = 256 << 10, i;
	pid_t pid;

	r = t_create("share", size, &name);
	d = pinshm_region_data(r);
	/* Words at 64 KiB: [0] parent's token, [1] child's answer. */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *c;
		_Atomic uint64_t *w;
		uint8_t *cd;
		uint64_t tok, n;

		t_child_init();
		if (pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &c))
			_exit(2);
		cd = pinshm_region_data(c);
		w = (_Atomic uint64_t *)(cd + (64 << 10));
		for (n = 0; !(tok = atomic_load(&w[0])); n++)
			if (n > 2000000000ull)
				_exit(3);
		/* The parent filled the second half before its token. */
		for (i = size / 2; i < size; i++)
			if (cd[i] != (uint8_t)(i * 7 + 1))
				_exit(4);
		for (i = 128 << 10; i < size / 2; i++)
			cd[i] = (uint8_t)(i * 13 + 5);
		atomic_store(&w[1], tok + 1);
		pinshm_region_close(c);
		_exit(0);
	}
	for (i = size / 2; i < size; i++)
		d[i] = (uint8_t)(i * 7 + 1);
	atomic_store((_Atomic uint64_t *)(d + (64 << 10)), 0x1234);
	T_CHILD_OK(pid);
	cr_assert_eq(atomic_load((_Atomic uint64_t *)(d + (64 << 10)) + 1),
		     0x1235);
	for (i = 128 << 10; i < size / 2; i++)
		cr_assert_eq(d[i], (uint8_t)(i * 13 + 5), "byte %llu",
			     (unsigned long long)i);
	T_OK(pinshm_region_close(r));
}

Test(region, data_survives_close_and_reopen)
{
	struct pinshm_region *r;
	const char *name;

	r = t_create("keep", 64 << 10, &name);
	t_fill_random((uint8_t *)pinshm_region_data(r) + (32 << 10), 32 << 10,
		      42);
	T_OK(pinshm_region_close(r));
	T_OK(pinshm_region_open(name, PINSHM_RDONLY, T_BACKEND, &r));
	{
		uint8_t want[32 << 10];

		t_fill_random(want, sizeof(want), 42);
		cr_assert_arr_eq((uint8_t *)pinshm_region_data(r) + (32 << 10),
				 want, sizeof(want));
	}
	T_OK(pinshm_region_close(r));
}

Test(region, list_returns_the_regions_sorted)
{
	static const char *tags[] = { "m", "c", "z", "a", "k" };
	char names[16][PINSHM_NAME_MAX];
	struct pinshm_region *r;
	unsigned int i;
	int n;

	t_private_dir();
	cr_assert_eq(pinshm_region_list(T_BACKEND, names, 16), 0,
		     "a fresh directory lists nothing");
	for (i = 0; i < 5; i++) {
		r = t_create(tags[i], 4096, NULL);
		T_OK(pinshm_region_close(r));
	}
	n = pinshm_region_list(T_BACKEND, names, 16);
	cr_assert_eq(n, 5);
	for (i = 1; i < 5; i++)
		cr_assert_lt(strcmp(names[i - 1], names[i]), 0,
			     "%s listed before %s", names[i - 1], names[i]);
	cr_assert_str_eq(names[0], t_names[3]);	/* ...-a */
	cr_assert_str_eq(names[4], t_names[2]);	/* ...-z */
	cr_assert_eq(pinshm_region_list(T_BACKEND, NULL, 0), 5,
		     "counting needs no array");
}

Test(region, list_ignores_files_that_are_not_regions)
{
	char names[8][PINSHM_NAME_MAX], path[128];
	struct pinshm_region *r;
	int fd;

	t_private_dir();
	r = t_create("only", 4096, NULL);
	T_OK(pinshm_region_close(r));
	snprintf(path, sizeof(path), "%s/other-file", t_dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(pinshm_region_list(T_BACKEND, names, 8), 1);
	cr_assert_str_eq(names[0], t_names[0]);
	unlink(path);
}

/* A short array gets the first names of the sorted list, like `ls | head`. */
Test(region, list_with_a_short_array_returns_the_total_and_the_first_names)
{
	static const char *tags[] = { "q", "d", "x", "b", "m", "h", "a", "t" };
	char names[8][PINSHM_NAME_MAX], few[3][PINSHM_NAME_MAX];
	struct pinshm_region *r;
	unsigned int i;

	t_private_dir();
	for (i = 0; i < 8; i++) {
		r = t_create(tags[i], 4096, NULL);
		T_OK(pinshm_region_close(r));
	}
	cr_assert_eq(pinshm_region_list(T_BACKEND, names, 8), 8);
	cr_assert_eq(pinshm_region_list(T_BACKEND, few, 3), 8);
	for (i = 0; i < 3; i++)
		cr_assert_str_eq(few[i], names[i],
				 "short list [%u] is %s, the sorted list has %s",
				 i, few[i], names[i]);
}

Test(region, destroy_then_open_gives_ENOENT)
{
	struct pinshm_region *r;
	const char *name;

	r = t_create("gone", 4096, &name);
	T_OK(pinshm_region_close(r));
	T_OK(pinshm_region_destroy(name, T_BACKEND));
	T_ERR(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r), -ENOENT);
	T_ERR(pinshm_region_open(name, PINSHM_RDONLY, T_BACKEND, &r), -ENOENT);
	T_ERR(pinshm_region_destroy(name, T_BACKEND), -ENOENT);
	cr_assert_neq(access(t_shm_path(name), F_OK), 0);
}

Test(region, create_twice_gives_EEXIST_and_leaves_the_first_alone)
{
	struct pinshm_region *r, *r2 = NULL;
	struct stat st;
	const char *name;

	r = t_create("twice", 64 << 10, &name);
	memset(pinshm_region_data(r), 0xab, 64 << 10);
	T_ERR(t_try_create(name, 64 << 10, &r2), -EEXIST);
	T_ERR(t_try_create(name, 4096, &r2), -EEXIST);
	T_ERR(t_try_create(name, 8 << 20, &r2), -EEXIST);
	cr_assert_null(r2);
	cr_assert_eq(stat(t_shm_path(name), &st), 0);
	cr_assert_eq(st.st_size, 4096 + (64 << 10));
	for (unsigned int i = 0; i < 64 << 10; i++)
		cr_assert_eq(((uint8_t *)pinshm_region_data(r))[i], 0xab);
	T_OK(pinshm_region_close(r));
}

Test(region, a_destroyed_name_can_be_created_again)
{
	struct pinshm_region *r, *r2;
	const char *name;

	r = t_create("again", 4096, &name);
	T_OK(pinshm_region_destroy(name, T_BACKEND));
	T_OK(t_try_create(name, 64 << 10, &r2));
	cr_assert_eq(pinshm_region_size(r2), 64 << 10);
	T_OK(pinshm_region_close(r2));
	T_OK(pinshm_region_close(r));
}

Test(region, destroy_of_a_missing_region_gives_ENOENT)
{
	T_ERR(pinshm_region_destroy(t_name("never"), T_BACKEND), -ENOENT);
}

Test(region, attachers_keep_their_mapping_after_destroy)
{
	struct pinshm_region *r, *o;
	const char *name;
	uint8_t *d, *od;

	r = t_create("linger", 64 << 10, &name);
	T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &o));
	T_OK(pinshm_region_destroy(name, T_BACKEND));
	d = pinshm_region_data(r);
	od = pinshm_region_data(o);
	d[40000] = 0x5a;
	cr_assert_eq(od[40000], 0x5a, "both handles still share the memory");
	od[50000] = 0xa5;
	cr_assert_eq(d[50000], 0xa5);
	T_OK(pinshm_region_close(o));
	T_OK(pinshm_region_close(r));
}

static void segv_exit(int sig)
{
	(void)sig;
	_exit(42);
}

Test(region, a_read_only_open_sees_data_but_cannot_write_it)
{
	struct pinshm_region *r, *ro;
	const char *name;
	pid_t pid;
	int st;

	r = t_create("ro", 64 << 10, &name);
	((uint8_t *)pinshm_region_data(r))[20000] = 77;
	T_OK(pinshm_region_open(name, PINSHM_RDONLY, T_BACKEND, &ro));
	cr_assert_not(pinshm_region_writable(ro));
	cr_assert_eq(((uint8_t *)pinshm_region_data(ro))[20000], 77);
	((uint8_t *)pinshm_region_data(r))[20001] = 78;
	cr_assert_eq(((volatile uint8_t *)pinshm_region_data(ro))[20001], 78);

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = segv_exit };

		t_child_init();
		/* Our own handler: sanitizers catch SIGSEGV otherwise. */
		sigaction(SIGSEGV, &sa, NULL);
		/* The inherited read-only mapping must fault. */
		((volatile uint8_t *)pinshm_region_data(ro))[20000] = 1;
		_exit(0);
	}
	st = t_wait(pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 42,
		  "writing through a read-only open did not fault (status %#x)",
		  st);
	cr_assert_eq(((uint8_t *)pinshm_region_data(r))[20000], 77);
	T_OK(pinshm_region_close(ro));
	T_OK(pinshm_region_close(r));
}

Test(region, the_shm_backend_has_no_physical_address)
{
	struct pinshm_region *r;
	uint64_t phys = 12345;
	int ret;

	r = t_create("phys", 4096, NULL);
	ret = pinshm_region_phys(r, &phys);
	cr_assert(ret == 0 || ret == -EOPNOTSUPP, "phys: %d", ret);
	cr_assert_eq(phys, 0);
	T_OK(pinshm_region_close(r));
}

Test(region, a_node_that_does_not_exist_gives_EINVAL)
{
	struct pinshm_region_opts o;
	struct pinshm_region *r;

	pinshm_region_opts_init(&o);
	o.size = 4096;
	o.backend = T_BACKEND;
	o.node = 63;
	if (access("/sys/devices/system/node/node63", F_OK) == 0)
		cr_skip_test("this machine has a node 63");
	T_ERR(pinshm_region_create(t_name("node"), &o, &r), -EINVAL);
	o.node = -2;
	T_ERR(pinshm_region_create(t_name("node2"), &o, &r), -EINVAL);
	o.node = 0;
	T_OK(pinshm_region_create(t_name("node0"), &o, &r));
	T_OK(pinshm_region_close(r));
}

/*
 * Permissions as for a file: another user gets -EACCES for what the mode
 * refuses. Needs root to become someone else; as a plain user the test only
 * checks that the owner gets in.
 */
Test(region, another_user_gets_only_what_the_mode_allows)
{
	struct pinshm_region *r, *o;
	const char *priv, *pub;
	pid_t pid;

	r = t_create_mode("priv", 4096, 0600, &priv);
	T_OK(pinshm_region_close(r));
	r = t_create_mode("pub", 4096, 0644, &pub);
	T_OK(pinshm_region_open(priv, PINSHM_RDWR, T_BACKEND, &o));
	T_OK(pinshm_region_close(o));
	((uint8_t *)pinshm_region_data(r))[100] = 0x42;
	if (geteuid() != 0) {
		T_OK(pinshm_region_close(r));
		cr_skip_test("not root: cannot become another user");
	}
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *c;

		t_child_init();
		if (setgid(65534) || setuid(65534))
			_exit(9);
		if (pinshm_region_open(priv, PINSHM_RDONLY, T_BACKEND, &c) !=
		    -EACCES)
			_exit(2);
		if (pinshm_region_open(priv, PINSHM_RDWR, T_BACKEND, &c) !=
		    -EACCES)
			_exit(3);
		if (pinshm_region_open(pub, PINSHM_RDWR, T_BACKEND, &c) !=
		    -EACCES)
			_exit(4);
		if (pinshm_region_open(pub, PINSHM_RDONLY, T_BACKEND, &c))
			_exit(5);
		if (((uint8_t *)pinshm_region_data(c))[100] != 0x42)
			_exit(6);
		pinshm_region_close(c);
		_exit(0);
	}
	T_CHILD_OK(pid);
	T_OK(pinshm_region_close(r));
}
