// SPDX-License-Identifier: MIT
/*
 * Suite "badinput": bad arguments and hostile shared memory.
 *
 * Shared memory is untrusted input: another process (buggy or hostile) may
 * truncate the region's file or write anything anywhere in it. Opening,
 * attaching and peeking must then fail with an error (-EBADMSG for a
 * corrupt region or ring) or hand out only plausible records — never crash,
 * never loop forever (every test here has a timeout). And nothing bad input
 * does may change an existing region's data.
 *
 * The corruption is written through the file (pwrite on the shm backend's
 * /dev/shm/pinshm.<name>), as any process with access could.
 */
#include <stddef.h>

#include "testutil.h"

static struct pinshm_region *g_r;

static void bad_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(badinput, .fini = bad_fini, .timeout = 10);

/* ---- helpers ---------------------------------------------------------- */

static void file_write(const char *name, uint64_t off, const void *p,
		       size_t len)
{
	int fd = open(t_shm_path(name), O_RDWR);

	cr_assert_geq(fd, 0, "open %s: %s", t_shm_path(name), strerror(errno));
	cr_assert_eq(pwrite(fd, p, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void file_random(const char *name, uint64_t off, size_t len,
			uint64_t seed)
{
	uint8_t *b = malloc(len);

	cr_assert_not_null(b);
	t_fill_random(b, len, seed);
	file_write(name, off, b, len);
	free(b);
}

static struct pinshm_meta file_meta(const char *name)
{
	struct pinshm_meta m;
	int fd = open(t_shm_path(name), O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &m, sizeof(m), 0), (ssize_t)sizeof(m));
	close(fd);
	return m;
}

/* Write one field of the metadata page. */
#define META_SET(name, field, value)					\
	do {								\
		__typeof__(((struct pinshm_meta *)0)->field) v_ = (value); \
		file_write(name, offsetof(struct pinshm_meta, field), &v_, \
			   sizeof(v_));					\
	} while (0)

/*
 * A closed region of 64 KiB with ring "q" (4 KiB) holding nrec records;
 * returns the ring's offset in the data area through *ring_off.
 */
static const char *mk_closed(const char *tag, unsigned int nrec,
			     uint64_t *ring_off)
{
	struct pinshm_region *r;
	struct pinshm_spsc p;
	struct pinshm_obj_info o;
	const char *name;
	unsigned int i;
	char buf[100];

	r = t_create(tag, 64 << 10, &name);
	T_OK(pinshm_spsc_create(r, "q", 4096, 0));
	T_OK(pinshm_obj_find(r, "q", &o));
	if (ring_off)
		*ring_off = o.offset;
	T_OK(pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &p));
	for (i = 0; i < nrec; i++) {
		t_pat_fill(buf, sizeof(buf), i);
		T_OK(pinshm_spsc_send(&p, buf, 20 + i * 7 % 80, i,
				      PINSHM_WAIT_NONE));
	}
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_region_close(r));
	return name;
}

static uint64_t data_off(const char *name)
{
	return file_meta(name).data_off;
}

/* Open must refuse: -EBADMSG, both ways. */
static void expect_open_badmsg(const char *name, const char *what)
{
	struct pinshm_region *r = NULL;
	int ret;

	ret = pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r);
	cr_assert_eq(ret, -EBADMSG, "%s: open rw gave %d", what, ret);
	ret = pinshm_region_open(name, PINSHM_RDONLY, T_BACKEND, &r);
	cr_assert_eq(ret, -EBADMSG, "%s: open ro gave %d", what, ret);
}

/*
 * Consume whatever a (possibly corrupt) ring offers, checking that every
 * record handed out lies inside the buffer and within max_record. Bounded:
 * a ring of cap bytes holds at most cap / 8 records.
 */
static int drain_plausible(struct pinshm_spsc *c)
{
	struct pinshm_msg m = { 0 };
	uint64_t i, limit = c->cap / PINSHM_REC_HDR + 16;
	int ret = 0;

	for (i = 0; i < limit; i++) {
		ret = pinshm_spsc_peek(c, &m);
		if (ret)
			break;
		cr_assert_leq(m.len, c->max_record);
		cr_assert_geq((const uint8_t *)m.data, c->buf);
		cr_assert_leq((const uint8_t *)m.data + m.len, c->buf + c->cap,
			      "record of %u bytes runs past the buffer", m.len);
		pinshm_spsc_release(c);
	}
	cr_assert_lt(i, limit, "peek kept returning records");
	cr_assert(ret == -EAGAIN || ret == -EBADMSG, "peek: %d", ret);
	/* A corrupt or empty ring stays so: asking again is not a loop. */
	cr_assert_eq(pinshm_spsc_peek(c, &m), ret);
	return ret;
}

/* ---- arguments -------------------------------------------------------- */

Test(badinput, bad_region_names_give_EINVAL)
{
	char n64[65], n300[301];
	const char *bad[] = { "/a", "a/b", "a/", "/", n300, n64, "", ".",
			      "..", ".hidden", "a b", "a\n", "caf\xc3\xa9",
			      "../../etc/passwd", "a\\b", NULL };
	struct pinshm_region *r = NULL;
	unsigned int i;

	memset(n64, 'n', 64);
	n64[64] = '\0';
	memset(n300, 'x', 300);
	n300[300] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_ERR(t_try_create(bad[i], 4096, &r), -EINVAL);
		T_ERR(pinshm_region_open(bad[i], PINSHM_RDWR, T_BACKEND, &r),
		      -EINVAL);
		T_ERR(pinshm_region_destroy(bad[i], T_BACKEND), -EINVAL);
	}
	cr_assert_null(r);
}

Test(badinput, a_size_of_0_gives_EINVAL)
{
	struct pinshm_region *r = NULL;
	const char *name = t_name("zero");

	T_ERR(t_try_create(name, 0, &r), -EINVAL);
	cr_assert_null(r);
	cr_assert_neq(access(t_shm_path(name), F_OK), 0, "a file was left");
}

Test(badinput, a_size_over_the_limit_gives_EFBIG)
{
	struct pinshm_region *r = NULL;
	const char *name = t_name("big");

	T_ERR(t_try_create(name, PINSHM_SHM_MAX_SIZE + 1, &r), -EFBIG);
	T_ERR(t_try_create(name, PINSHM_SHM_MAX_SIZE + 4096, &r), -EFBIG);
	T_ERR(t_try_create(name, 1ull << 62, &r), -EFBIG);
	/* Rounding up to a page must not wrap to a small size. */
	T_ERR(t_try_create(name, UINT64_MAX, &r), -EFBIG);
	T_ERR(t_try_create(name, UINT64_MAX - 4094, &r), -EFBIG);
	cr_assert_null(r);
	cr_assert_neq(access(t_shm_path(name), F_OK), 0, "a file was left");
}

Test(badinput, bad_options_and_access_give_EINVAL)
{
	struct pinshm_region_opts o;
	struct pinshm_region *r = NULL, *ok;
	const char *name;

	pinshm_region_opts_init(&o);
	o.size = 4096;
	o.backend = T_BACKEND;
	o.mode = 01777;
	T_ERR(pinshm_region_create(t_name("mode"), &o, &r), -EINVAL);
	o.mode = 0600;
	o.backend = 42;
	T_ERR(pinshm_region_create(t_name("backend"), &o, &r), -EINVAL);
	T_ERR(pinshm_region_create(t_name("nullopts"), NULL, &r), -EINVAL);
	cr_assert_null(r);

	ok = t_create("acc", 4096, &name);
	T_ERR(pinshm_region_open(name, 3, T_BACKEND, &r), -EINVAL);
	T_ERR(pinshm_region_open(name, -1, T_BACKEND, &r), -EINVAL);
	T_ERR(pinshm_region_open(name, PINSHM_RDWR, 42, &r), -EINVAL);
	cr_assert_null(r);
	T_OK(pinshm_region_close(ok));

	/* No place for the handle: refused, in a child in case it crashes. */
	{
		pid_t pid = fork();
		int st;

		cr_assert_geq(pid, 0);
		if (pid == 0) {
			t_child_init();
			o.backend = T_BACKEND;
			if (pinshm_region_open(name, PINSHM_RDWR, T_BACKEND,
					       NULL) != -EINVAL)
				_exit(2);
			if (pinshm_region_create(t_name("nullout"), &o, NULL) !=
			    -EINVAL)
				_exit(3);
			_exit(0);
		}
		st = t_wait(pid);
		pinshm_region_destroy(t_name("nullout"), T_BACKEND);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "NULL out: %s %d", WIFEXITED(st) ? "exit" : "signal",
			  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
}

Test(badinput, opening_a_region_that_does_not_exist_gives_ENOENT)
{
	struct pinshm_region *r = NULL;

	T_ERR(pinshm_region_open(t_name("absent"), PINSHM_RDWR, T_BACKEND, &r),
	      -ENOENT);
	T_ERR(pinshm_region_open(t_name("absent2"), PINSHM_RDONLY, T_BACKEND,
				 &r), -ENOENT);
	cr_assert_null(r);
}

Test(badinput, ring_parameters_that_cannot_work_are_refused)
{
	struct pinshm_spsc p;
	void *d = NULL;

	g_r = t_create("ringarg", 1 << 20, NULL);
	/* max_record too big for the capacity: two records must fit. */
	T_ERR(pinshm_spsc_create(g_r, "q", 4096, 4096), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 4096, 2033), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 4096, 1ull << 40), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 65536, 1ull << 33), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 6000, 0), -EINVAL);
	T_ERR(pinshm_spsc_create(NULL, "q", 4096, 0), -EINVAL);
	T_OK(pinshm_spsc_create(g_r, "q", 4096, 100));
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
	T_ERR(pinshm_spsc_claim(&p, 101, &d), -EMSGSIZE);
	T_ERR(pinshm_spsc_claim(&p, 1u << 31, &d), -EMSGSIZE);
	T_ERR(pinshm_spsc_claim(&p, PINSHM_REC_PAD, &d), -EMSGSIZE);
	T_ERR(pinshm_spsc_claim(&p, UINT32_MAX, &d), -EMSGSIZE);
	T_OK(pinshm_spsc_detach(&p));
}

/* ---- a damaged region file ---------------------------------------------- */

Test(badinput, a_truncated_region_file_gives_EBADMSG)
{
	static const off_t sizes[] = { 0, 1, 100, 4095, 4096, 4097, 8192,
				       4096 + (32 << 10), 4096 + (64 << 10) - 1 };
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const char *name = mk_closed("trunc", 3, NULL);
		char what[64];

		cr_assert_eq(truncate(t_shm_path(name), sizes[i]), 0);
		snprintf(what, sizeof(what), "truncated to %lld",
			 (long long)sizes[i]);
		expect_open_badmsg(name, what);
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

/* Large regions keep their data 2 MiB into the file. */
Test(badinput, a_truncated_large_region_file_gives_EBADMSG)
{
	struct pinshm_region *r;
	const char *name;

	r = t_create("trunc2m", 2 << 20, &name);
	T_OK(pinshm_region_close(r));
	cr_assert_eq(truncate(t_shm_path(name), (2 << 20) + 4096), 0);
	expect_open_badmsg(name, "2 MiB region cut to one data page");
}

Test(badinput, random_bytes_over_the_metadata_page_give_EBADMSG)
{
	uint64_t seed;

	for (seed = 1; seed <= 20; seed++) {
		const char *name = mk_closed("metarand", 2, NULL);

		file_random(name, 0, PINSHM_META_SIZE, seed);
		expect_open_badmsg(name, "random metadata page");
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

/*
 * Garbage behind a valid-looking header: open may succeed or refuse, but
 * whatever it does, nothing crashes or hangs afterwards.
 */
Test(badinput, random_bytes_over_the_attach_table_do_no_harm)
{
	uint64_t seed;

	for (seed = 1; seed <= 10; seed++) {
		const char *name = mk_closed("slotrand", 2, NULL);
		struct pinshm_region *r;
		struct pinshm_meta m;
		int ret;

		file_random(name, PINSHM_META_HDR_SIZE,
			    PINSHM_META_SIZE - PINSHM_META_HDR_SIZE, seed);
		ret = pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r);
		cr_assert(ret == 0 || ret == -EBADMSG || ret == -ENOSPC,
			  "open: %d", ret);
		if (ret == 0) {
			cr_assert_geq(pinshm_region_recover(r), 0);
			ret = pinshm_region_meta(r, &m);
			cr_assert(ret == 0 || ret == -EBADMSG, "meta: %d", ret);
			T_OK(pinshm_region_close(r));
		}
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

Test(badinput, each_invalid_metadata_field_gives_EBADMSG)
{
	struct pinshm_meta good;
	char longname[PINSHM_NAME_MAX];
	unsigned int i;

	for (i = 0; i < 13; i++) {
		const char *name = mk_closed("metafield", 1, NULL);

		good = file_meta(name);
		switch (i) {
		case 0: META_SET(name, magic, good.magic ^ 1); break;
		case 1: META_SET(name, abi_version, 99); break;
		case 2: META_SET(name, hdr_size, 128); break;
		case 3: META_SET(name, backend, PINSHM_BACKEND_KMOD); break;
		case 4: META_SET(name, nr_slots, 100000); break;
		case 5: META_SET(name, slot_off, 4000); break;
		case 6: META_SET(name, slot_size, 4096); break;
		case 7:	/* another region's name */
			file_write(name, offsetof(struct pinshm_meta, name),
				   "other", 6);
			break;
		case 8:	/* no terminating NUL */
			memset(longname, 'z', sizeof(longname));
			file_write(name, offsetof(struct pinshm_meta, name),
				   longname, sizeof(longname));
			break;
		case 9: META_SET(name, size, 0); break;
		case 10: META_SET(name, size, good.size + 4096); break;
		case 11: META_SET(name, size, UINT64_MAX - 4095); break;
		case 12: META_SET(name, data_off, 12345); break;
		}
		expect_open_badmsg(name, "bad metadata field");
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

Test(badinput, a_data_offset_past_the_file_gives_EBADMSG)
{
	const char *name = mk_closed("dataoff", 1, NULL);

	META_SET(name, data_off, 1ull << 40);
	expect_open_badmsg(name, "data_off 1 TiB");
}

/* A writer that died mid-write leaves seq odd; the next writer fixes it. */
Test(badinput, a_metadata_page_left_mid_write_is_repaired_by_the_next_writer)
{
	const char *name = mk_closed("oddseq", 1, NULL);
	struct pinshm_region *r;
	struct pinshm_meta m;

	META_SET(name, seq, file_meta(name).seq | 1);
	T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
	T_OK(pinshm_region_meta(r, &m));
	cr_assert_eq(m.seq & 1, 0);
	T_OK(pinshm_region_close(r));
}

/*
 * An odd seq that nobody repairs: reading gives up with -EAGAIN (being
 * updated), not -EBADMSG (corrupt), and recover repairs it (issue 15).
 */
Test(badinput, a_metadata_page_stuck_mid_write_makes_meta_fail_not_hang)
{
	struct pinshm_meta m;
	const char *name;
	uint64_t t0;

	g_r = t_create("stuck", 4096, &name);
	META_SET(name, seq, file_meta(name).seq | 1);
	t0 = t_now_ns(CLOCK_MONOTONIC);
	T_ERR(pinshm_region_meta(g_r, &m), -EAGAIN);
	cr_log_info("gave up after %.3f s",
		    (t_now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	cr_assert_geq(pinshm_region_recover(g_r), 0);
	T_OK(pinshm_region_meta(g_r, &m));
	cr_assert_eq(m.seq & 1, 0);
}

Test(badinput, things_that_are_not_region_files_give_an_error)
{
	struct pinshm_region *r = NULL;
	const char *lnk = t_name("symlink"), *fifo = t_name("fifo");
	const char *dir = t_name("dir"), *target_name = mk_closed("target", 1,
								 NULL);
	struct pinshm_meta before = file_meta(target_name), after;
	char target[512];
	int ret;

	/* A symlink to a real region is not followed. */
	snprintf(target, sizeof(target), "%s", t_shm_path(target_name));
	cr_assert_eq(symlink(target, t_shm_path(lnk)), 0);
	ret = pinshm_region_open(lnk, PINSHM_RDWR, T_BACKEND, &r);
	cr_assert_lt(ret, 0, "opened a region through a symlink");
	after = file_meta(target_name);
	cr_assert_eq(memcmp(&before, &after, sizeof(before)), 0,
		     "the symlink's target was written to");
	/* A FIFO must not block the open. */
	cr_assert_eq(mkfifo(t_shm_path(fifo), 0600), 0);
	T_ERR(pinshm_region_open(fifo, PINSHM_RDWR, T_BACKEND, &r), -EBADMSG);
	T_ERR(pinshm_region_open(fifo, PINSHM_RDONLY, T_BACKEND, &r), -EBADMSG);
	/* Nor a directory. */
	cr_assert_eq(mkdir(t_shm_path(dir), 0700), 0);
	ret = pinshm_region_open(dir, PINSHM_RDWR, T_BACKEND, &r);
	rmdir(t_shm_path(dir));
	cr_assert_lt(ret, 0);
	cr_assert_null(r);
}

/* ---- a damaged directory ---------------------------------------------- */

Test(badinput, random_bytes_over_the_directory_give_EBADMSG)
{
	uint64_t seed;

	for (seed = 1; seed <= 10; seed++) {
		const char *name = mk_closed("dirrand", 2, NULL);
		struct pinshm_region *r;
		struct pinshm_obj_info o[4];
		struct pinshm_ring_stats s;
		struct pinshm_spsc x;

		file_random(name, data_off(name), sizeof(struct pinshm_dir),
			    seed);
		T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
		T_ERR(pinshm_obj_list(r, o, 4), -EBADMSG);
		T_ERR(pinshm_obj_find(r, "q", o), -EBADMSG);
		T_ERR(pinshm_obj_stats(r, "q", &s), -EBADMSG);
		T_ERR(pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &x), -EBADMSG);
		T_ERR(pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &x), -EBADMSG);
		cr_assert_lt(pinshm_spsc_create(r, "new", 4096, 0), 0);
		T_OK(pinshm_region_close(r));
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

/* A valid header over random entries: errors or plausible entries only. */
Test(badinput, random_directory_entries_give_errors_or_plausible_objects)
{
	uint64_t seed;

	for (seed = 1; seed <= 10; seed++) {
		const char *name = mk_closed("entrand", 2, NULL);
		uint64_t doff = data_off(name);
		struct pinshm_region *r;
		struct pinshm_obj_info o[PINSHM_DIR_MAX];
		struct pinshm_spsc x;
		uint32_t nr = PINSHM_DIR_MAX;
		int n, i, ret;

		file_random(name, doff + offsetof(struct pinshm_dir, entry),
			    sizeof(struct pinshm_dir) -
			    offsetof(struct pinshm_dir, entry), seed);
		file_write(name, doff + offsetof(struct pinshm_dir, nr_entries),
			   &nr, sizeof(nr));
		T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
		n = pinshm_obj_list(r, o, PINSHM_DIR_MAX);
		cr_assert(n == -EBADMSG || (n >= 0 && n <= PINSHM_DIR_MAX),
			  "list: %d", n);
		for (i = 0; i < n; i++) {
			cr_assert(pinshm_obj_name_valid(o[i].name));
			cr_assert_leq(o[i].offset + o[i].size,
				      pinshm_region_size(r));
			ret = pinshm_spsc_attach(r, o[i].name, PINSHM_CONSUMER,
						 &x);
			if (ret == 0) {
				drain_plausible(&x);
				T_OK(pinshm_spsc_detach(&x));
			}
		}
		T_OK(pinshm_region_close(r));
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

/* Each lie a directory entry can tell, one at a time. */
Test(badinput, each_invalid_directory_field_gives_EBADMSG)
{
	unsigned int i;

	for (i = 0; i < 10; i++) {
		const char *name = mk_closed("dirfield", 1, NULL);
		uint64_t doff = data_off(name), v64;
		uint64_t e0 = doff + offsetof(struct pinshm_dir, entry[0]);
		struct pinshm_region *r;
		struct pinshm_obj_info o;
		struct pinshm_spsc x;
		uint32_t v32;
		int ret;

		switch (i) {
		case 0:
			v32 = PINSHM_DIR_MAX + 1;
			file_write(name, doff + offsetof(struct pinshm_dir,
							 nr_entries), &v32, 4);
			break;
		case 1:
			v32 = UINT32_MAX;
			file_write(name, doff + offsetof(struct pinshm_dir,
							 nr_entries), &v32, 4);
			break;
		case 2:
			v64 = 1ull << 40;	/* object far past the end */
			file_write(name, e0 + offsetof(struct pinshm_dir_entry,
						       offset), &v64, 8);
			break;
		case 3:
			v64 = UINT64_MAX;	/* offset + size wraps */
			file_write(name, e0 + offsetof(struct pinshm_dir_entry,
						       size), &v64, 8);
			break;
		case 4:
			v64 = 4096;		/* inside the directory */
			file_write(name, e0 + offsetof(struct pinshm_dir_entry,
						       offset), &v64, 8);
			break;
		case 5:
			v64 = 8192 + 100;	/* not page aligned */
			file_write(name, e0 + offsetof(struct pinshm_dir_entry,
						       offset), &v64, 8);
			break;
		case 6:
			v32 = 99;		/* no such type */
			file_write(name, e0 + offsetof(struct pinshm_dir_entry,
						       type), &v32, 4);
			break;
		case 7: {			/* name without NUL */
			char n[PINSHM_OBJ_NAME_MAX];

			memset(n, 'q', sizeof(n));
			file_write(name, e0, n, sizeof(n));
			break;
		}
		case 8:
			v32 = 0x12345678;	/* wrong magic */
			file_write(name, doff, &v32, 4);
			break;
		case 9:
			v64 = 1ull << 50;	/* data_size not the region's */
			file_write(name, doff + offsetof(struct pinshm_dir,
							 data_size), &v64, 8);
			break;
		}
		T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
		ret = pinshm_obj_find(r, "q", &o);
		cr_assert_eq(ret, -EBADMSG, "field %u: find gave %d", i, ret);
		ret = pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &x);
		cr_assert_eq(ret, -EBADMSG, "field %u: attach gave %d", i, ret);
		cr_assert_eq(pinshm_obj_list(r, &o, 1), -EBADMSG);
		T_OK(pinshm_region_close(r));
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

/* next_off is only a hint of where free space starts: never trusted. */
Test(badinput, a_wild_next_offset_does_not_make_create_write_outside)
{
	static const uint64_t wild[] = { 1ull << 40, UINT64_MAX - 100, 0, 100 };
	unsigned int i;

	for (i = 0; i < sizeof(wild) / sizeof(wild[0]); i++) {
		const char *name = mk_closed("nextoff", 1, NULL);
		uint64_t doff = data_off(name);
		struct pinshm_region *r;
		struct pinshm_obj_info o;
		int ret;

		file_write(name, doff + offsetof(struct pinshm_dir, next_off),
			   &wild[i], 8);
		T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
		ret = pinshm_spsc_create(r, "new", 4096, 0);
		if (ret == 0) {
			/* Then it must have put it somewhere sane. */
			T_OK(pinshm_obj_find(r, "new", &o));
			cr_assert_geq(o.offset, sizeof(struct pinshm_dir));
			cr_assert_leq(o.offset + o.size, pinshm_region_size(r));
			{
				struct pinshm_obj_info q;

				T_OK(pinshm_obj_find(r, "q", &q));
				cr_assert(o.offset >= q.offset + q.size ||
					  o.offset + o.size <= q.offset,
					  "next_off %#llx: new ring on top of q",
					  (unsigned long long)wild[i]);
			}
		} else {
			cr_assert_lt(ret, 0);
		}
		T_OK(pinshm_region_close(r));
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

/* ---- a damaged ring ---------------------------------------------------- */

Test(badinput, random_bytes_over_a_ring_header_give_EBADMSG)
{
	uint64_t seed;

	for (seed = 1; seed <= 10; seed++) {
		uint64_t roff;
		const char *name = mk_closed("hdrrand", 3, &roff);
		struct pinshm_region *r;
		struct pinshm_ring_stats s;
		struct pinshm_spsc x;

		/* Block 0: what the creator wrote once. */
		file_random(name, data_off(name) + roff, PINSHM_BLOCK, seed);
		T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
		T_ERR(pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &x), -EBADMSG);
		T_ERR(pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &x), -EBADMSG);
		T_ERR(pinshm_obj_stats(r, "q", &s), -EBADMSG);
		T_OK(pinshm_region_close(r));
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

Test(badinput, a_hostile_ring_header_gives_EBADMSG_on_attach)
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		uint64_t roff, base, v;
		const char *name = mk_closed("hostile", 3, &roff);
		struct pinshm_region *r;
		struct pinshm_spsc x;
		size_t off = 0;

		switch (i) {
		case 0: off = offsetof(struct pinshm_spsc_shared, capacity);
			v = 5000; break;		/* not a power of two */
		case 1: off = offsetof(struct pinshm_spsc_shared, capacity);
			v = 1ull << 20; break;		/* past the object */
		case 2: off = offsetof(struct pinshm_spsc_shared, capacity);
			v = 0; break;
		case 3: off = offsetof(struct pinshm_spsc_shared, data_off);
			v = 1ull << 40; break;		/* out of bounds */
		case 4: off = offsetof(struct pinshm_spsc_shared, data_off);
			v = 1; break;			/* misaligned */
		case 5: off = offsetof(struct pinshm_spsc_shared, max_record);
			v = 4096; break;		/* bigger than fits */
		case 6: off = offsetof(struct pinshm_spsc_shared, max_record);
			v = UINT64_MAX; break;
		case 7: off = offsetof(struct pinshm_spsc_shared, magic);
			v = 0; break;
		}
		base = data_off(name) + roff;
		file_write(name, base + off, &v,
			   i == 7 ? 4 : sizeof(v));
		T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
		T_ERR(pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &x), -EBADMSG);
		T_ERR(pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &x), -EBADMSG);
		T_OK(pinshm_region_close(r));
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

/*
 * Records start on 8-byte boundaries, so a head or tail that is not a
 * multiple of 8 was written by nobody of ours; using it would mean
 * misaligned (atomic) loads of record headers. Attach must refuse it.
 */
Test(badinput, a_misaligned_head_or_tail_gives_EBADMSG_on_attach)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		uint64_t roff, v = i < 2 ? 3 : 4096 + 5;
		const char *name = mk_closed("misalign", 0, &roff);
		size_t off = i & 1 ? offsetof(struct pinshm_spsc_shared, tail) :
				     offsetof(struct pinshm_spsc_shared, head);
		struct pinshm_region *r;
		struct pinshm_spsc x;
		int ret;

		file_write(name, data_off(name) + roff + off, &v, sizeof(v));
		if (i & 1) {		/* the tail: head stays 0 */
			T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND,
						&r));
			ret = pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &x);
			cr_assert_eq(ret, -EBADMSG, "tail %llu: attach gave %d",
				     (unsigned long long)v, ret);
		} else {		/* the head */
			T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND,
						&r));
			ret = pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &x);
			cr_assert_eq(ret, -EBADMSG, "head %llu: consumer attach "
				     "gave %d", (unsigned long long)v, ret);
			ret = pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &x);
			cr_assert_eq(ret, -EBADMSG, "head %llu: producer attach "
				     "gave %d", (unsigned long long)v, ret);
		}
		T_OK(pinshm_region_close(r));
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

/*
 * Found by tests/fuzz/spsc_reader: a forged tail more than a ring past
 * the consumer's zeroed index made the producer's takeover zero a range
 * whose end lay before its start (a wild memset). Ring of 4096 bytes.
 */
Test(badinput, a_tail_a_ring_past_zeroed_gives_EBADMSG_on_producer_attach)
{
	static const struct { uint64_t zeroed, head, tail; } bad[] = {
		{ 0, 736, 4096 + 8 },	/* head fine, tail a ring past zeroed */
		{ 0, 0, 4096 },		/* frontier header beyond the ring */
		{ 8, 8, 4096 + 16 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t roff;
		const char *name = mk_closed("pastzero", 0, &roff);
		uint64_t base = data_off(name) + roff;
		struct pinshm_region *r;
		struct pinshm_spsc x;
		int ret;

		file_write(name, base + offsetof(struct pinshm_spsc_shared, zeroed),
			   &bad[i].zeroed, sizeof(uint64_t));
		file_write(name, base + offsetof(struct pinshm_spsc_shared, head),
			   &bad[i].head, sizeof(uint64_t));
		file_write(name, base + offsetof(struct pinshm_spsc_shared, tail),
			   &bad[i].tail, sizeof(uint64_t));
		T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
		ret = pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &x);
		cr_assert_eq(ret, -EBADMSG, "case %u: producer attach gave %d",
			     i, ret);
		T_OK(pinshm_region_close(r));
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

/*
 * Random head, tail and role words: attach may refuse (-EBADMSG, or
 * -EBUSY if a role word happens to name a live process) or succeed; when
 * it succeeds, peeks and claims stay in bounds and terminate.
 */
Test(badinput, random_indices_give_errors_or_bounded_behaviour)
{
	uint64_t seed;

	for (seed = 1; seed <= 20; seed++) {
		uint64_t roff;
		const char *name = mk_closed("idxrand", 5, &roff);
		struct pinshm_region *r;
		struct pinshm_spsc p, c;
		void *d = NULL;
		int ret, i;

		file_random(name, data_off(name) + roff + PINSHM_BLOCK,
			    2 * PINSHM_BLOCK, seed);
		T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
		ret = pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &c);
		cr_assert(ret == 0 || ret == -EBADMSG || ret == -EBUSY,
			  "consumer attach: %d", ret);
		if (ret == 0) {
			drain_plausible(&c);
			T_OK(pinshm_spsc_detach(&c));
		}
		ret = pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &p);
		cr_assert(ret == 0 || ret == -EBADMSG || ret == -EBUSY,
			  "producer attach: %d", ret);
		if (ret == 0) {
			for (i = 0; i < 100; i++) {
				ret = pinshm_spsc_claim(&p, 50, &d);
				if (ret)
					break;
				cr_assert_geq((uint8_t *)d, p.buf);
				cr_assert_leq((uint8_t *)d + 50, p.buf + p.cap);
				memset(d, 0x11, 50);
				pinshm_spsc_commit(&p, 50, 1);
			}
			cr_assert(ret == 0 || ret == -EAGAIN, "claim: %d", ret);
			T_OK(pinshm_spsc_detach(&p));
		}
		T_OK(pinshm_region_close(r));
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

Test(badinput, random_bytes_over_the_record_buffer_give_errors_or_plausible_records)
{
	uint64_t seed;

	for (seed = 1; seed <= 30; seed++) {
		uint64_t roff;
		const char *name = mk_closed("bufrand", 6, &roff);
		struct pinshm_region *r;
		struct pinshm_spsc p, c;
		int ret;

		file_random(name, data_off(name) + roff + PINSHM_SPSC_HDR_SIZE,
			    4096, seed);
		T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
		T_OK(pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &c));
		drain_plausible(&c);
		/* The producer re-derives its position by walking headers. */
		ret = pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &p);
		cr_assert(ret == 0 || ret == -EBADMSG, "producer attach: %d",
			  ret);
		if (ret == 0) {
			ret = pinshm_spsc_send(&p, "abc", 3, 1, PINSHM_WAIT_NONE);
			cr_assert(ret == 0 || ret == -EAGAIN, "send: %d", ret);
			T_OK(pinshm_spsc_detach(&p));
		}
		T_OK(pinshm_spsc_detach(&c));
		T_OK(pinshm_region_close(r));
		T_OK(pinshm_region_destroy(name, T_BACKEND));
		t_nr_names--;
	}
}

/* Headers with small plausible lengths everywhere: records, not crashes. */
Test(badinput, a_buffer_full_of_fake_headers_yields_only_in_bounds_records)
{
	uint64_t roff, rs = 77;
	const char *name = mk_closed("fakehdr", 0, &roff);
	struct pinshm_region *r;
	struct pinshm_spsc c;
	uint8_t buf[4096];
	unsigned int off;

	for (off = 0; off < sizeof(buf); off += 8) {
		uint32_t len = (uint32_t)(t_rand(&rs) % 1100);	/* some > max */
		uint32_t type = 7;

		memcpy(buf + off, &len, 4);
		memcpy(buf + off + 4, &type, 4);
	}
	file_write(name, data_off(name) + roff + PINSHM_SPSC_HDR_SIZE, buf,
		   sizeof(buf));
	T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &r));
	T_OK(pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &c));
	drain_plausible(&c);
	T_OK(pinshm_spsc_detach(&c));
	T_OK(pinshm_region_close(r));
}

/* The consumer side of a corrupt length, case by case. */
Test(badinput, a_corrupt_record_length_makes_peek_return_EBADMSG)
{
	static const uint32_t lens[] = { 1009, 4096, 0x7fffffff, 0xffffffff,
					 PINSHM_REC_PAD | 1, PINSHM_REC_PAD - 1 };
	unsigned int i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct pinshm_spsc p, c;
		struct pinshm_msg m = { 0 };
		struct pinshm_ring_stats s;
		struct pinshm_rec *rec;
		char buf[64];

		g_r = t_create("badlen", 64 << 10, NULL);
		T_OK(pinshm_spsc_create(g_r, "q", 4096, 0));	/* max 1008 */
		T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
		T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
		T_OK(pinshm_spsc_send(&p, buf, 10, 1, PINSHM_WAIT_NONE));
		T_OK(pinshm_spsc_send(&p, buf, 10, 2, PINSHM_WAIT_NONE));
		T_OK(pinshm_spsc_peek(&c, &m));
		pinshm_spsc_release(&c);
		/* The second record (at offset 0 + 24 = 24) lies. */
		rec = (struct pinshm_rec *)(c.buf + 24);
		rec->len = lens[i];
		T_ERR(pinshm_spsc_peek(&c, &m), -EBADMSG);
		T_ERR(pinshm_spsc_peek(&c, &m), -EBADMSG);
		T_ERR(pinshm_spsc_recv(&c, buf, sizeof(buf), NULL,
				       PINSHM_WAIT_SPIN), -EBADMSG);
		T_OK(pinshm_obj_stats(g_r, "q", &s));
		cr_assert_geq(s.corrupt, 1, "corrupt peeks are counted");
		cr_assert_eq(s.msgs_out, 1);
		T_OK(pinshm_spsc_detach(&p));
		T_OK(pinshm_spsc_detach(&c));
		T_OK(pinshm_region_close(g_r));
		g_r = NULL;
		T_OK(pinshm_region_destroy(t_names[--t_nr_names], T_BACKEND));
	}
}

/*
 * peek_batch() hands out the records before a corrupt one, then reports it:
 * whether the liar's header differs from the records' before it or repeats
 * it (the batch takes a repeated header's size from the one before, and
 * must still find that the record runs past the buffer).
 */
Test(badinput, peek_batch_returns_the_records_before_a_corrupt_one_then_EBADMSG)
{
	static const uint32_t lens[] = { 1009, 4096, 0x7fffffff, 0xffffffff,
					 PINSHM_REC_PAD | 1, PINSHM_REC_PAD - 1,
					 PINSHM_REC_PAD };
	unsigned int i, k;

	for (i = 0; i <= sizeof(lens) / sizeof(lens[0]); i++) {
		bool repeat = i == sizeof(lens) / sizeof(lens[0]);
		uint32_t len = repeat ? 1000 : 10, size = repeat ? 1008 : 24;
		unsigned int good = repeat ? 4 : 3;
		struct pinshm_spsc p, c;
		struct pinshm_msg m[8];
		struct pinshm_ring_stats s;
		char buf[1000] = { 0 };

		g_r = t_create("badbatch", 64 << 10, NULL);
		T_OK(pinshm_spsc_create(g_r, "q", 4096, 0));	/* max 1008 */
		T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
		T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
		for (k = 0; k < good + (repeat ? 0 : 2); k++)
			T_OK(pinshm_spsc_send(&p, buf, len, k,
					      PINSHM_WAIT_NONE));
		/* Repeated: a fifth record of 1000 at 4032 would end at 5040. */
		((struct pinshm_rec *)(c.buf + good * size))->len =
			repeat ? PINSHM_REC_COMMIT | 1000 : lens[i];
		cr_assert_eq(pinshm_spsc_peek_batch(&c, m, 8), (int)good,
			     "liar %u", i);
		for (k = 0; k < good; k++) {
			cr_assert_eq(m[k].type, k);
			cr_assert_eq(m[k].len, len);
		}
		T_ERR(pinshm_spsc_peek_batch(&c, m, 8), -EBADMSG);
		pinshm_spsc_release(&c);
		T_ERR(pinshm_spsc_peek_batch(&c, m, 8), -EBADMSG);
		T_OK(pinshm_obj_stats(g_r, "q", &s));
		cr_assert_geq(s.corrupt, 2, "liar %u: counted", i);
		cr_assert_eq(s.msgs_out, good);
		T_OK(pinshm_spsc_detach(&p));
		T_OK(pinshm_spsc_detach(&c));
		T_OK(pinshm_region_close(g_r));
		g_r = NULL;
		T_OK(pinshm_region_destroy(t_names[--t_nr_names], T_BACKEND));
	}
}

/* A filler at offset 0 cannot be: there is nothing to skip. */
Test(badinput, a_filler_at_the_start_of_the_buffer_gives_EBADMSG)
{
	struct pinshm_spsc c;
	struct pinshm_msg m = { 0 };

	g_r = t_create("pad0", 64 << 10, NULL);
	T_OK(pinshm_spsc_create(g_r, "q", 4096, 0));
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	((struct pinshm_rec *)c.buf)->len = PINSHM_REC_PAD;
	T_ERR(pinshm_spsc_peek(&c, &m), -EBADMSG);
	T_OK(pinshm_spsc_detach(&c));
}

/* A length that is allowed but runs past the end of the buffer. */
Test(badinput, a_record_running_past_the_buffer_end_gives_EBADMSG)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m = { 0 };
	char buf[504];
	unsigned int i;

	g_r = t_create("pastend", 64 << 10, NULL);
	T_OK(pinshm_spsc_create(g_r, "q", 4096, 0));	/* max 1008 */
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	/* Seven 512-byte records: the consumer ends up at 3584. */
	memset(buf, 1, sizeof(buf));
	for (i = 0; i < 7; i++) {
		T_OK(pinshm_spsc_send(&p, buf, sizeof(buf), i,
				      PINSHM_WAIT_NONE));
		T_OK(pinshm_spsc_peek(&c, &m));
		pinshm_spsc_release(&c);
	}
	cr_assert_eq(c.head, 3584);
	/* 1000 bytes fit max_record, but 3584 + 1008 > 4096. */
	((struct pinshm_rec *)(c.buf + 3584))->len = 1000;
	T_ERR(pinshm_spsc_peek(&c, &m), -EBADMSG);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/* A filler in the middle of nowhere, followed by a lie at offset 0. */
Test(badinput, a_filler_followed_by_a_corrupt_record_gives_EBADMSG)
{
	struct pinshm_spsc p, c;
	struct pinshm_msg m = { 0 };
	char buf[16] = { 0 };

	g_r = t_create("padlie", 64 << 10, NULL);
	T_OK(pinshm_spsc_create(g_r, "q", 4096, 0));
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	T_OK(pinshm_spsc_send(&p, buf, 8, 1, PINSHM_WAIT_NONE));
	T_OK(pinshm_spsc_peek(&c, &m));
	pinshm_spsc_release(&c);
	((struct pinshm_rec *)(c.buf + 16))->len = PINSHM_REC_PAD;
	((struct pinshm_rec *)c.buf)->len = 5000;
	T_ERR(pinshm_spsc_peek(&c, &m), -EBADMSG);
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/* ---- nothing bad input does touches an existing region ------------------ */

Test(badinput, bad_calls_leave_an_existing_region_byte_identical, .timeout = 20)
{
	struct pinshm_region *ro = NULL, *x = NULL, *other;
	struct pinshm_spsc p, c, y;
	struct pinshm_meta m0, m1;
	struct pinshm_obj_info o;
	struct stat st0, st1;
	const char *name, *oname;
	uint64_t size = 256 << 10, i;
	uint8_t *snap;
	char big[64];
	void *d = NULL;

	g_r = t_create("keep", size, &name);
	T_OK(pinshm_spsc_create(g_r, "q", 16384, 0));
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &p));
	T_OK(pinshm_spsc_attach(g_r, "q", PINSHM_CONSUMER, &c));
	for (i = 0; i < 40; i++) {
		t_pat_fill(big, sizeof(big), i);
		T_OK(pinshm_spsc_send(&p, big, (uint32_t)(1 + i % 63),
				      (uint32_t)i, PINSHM_WAIT_NONE));
	}
	T_OK(pinshm_obj_find(g_r, "q", &o));
	t_fill_random((uint8_t *)pinshm_region_data(g_r) + o.offset + o.size,
		      size - o.offset - o.size, 4242);
	T_OK(pinshm_region_meta(g_r, &m0));
	cr_assert_eq(stat(t_shm_path(name), &st0), 0);
	snap = malloc(size);
	cr_assert_not_null(snap);
	memcpy(snap, pinshm_region_data(g_r), size);

	/* Create over it, with every kind of size. */
	T_ERR(t_try_create(name, size, &x), -EEXIST);
	T_ERR(t_try_create(name, 4096, &x), -EEXIST);
	T_ERR(t_try_create(name, 16 << 20, &x), -EEXIST);
	cr_assert_lt(t_try_create(name, 0, &x), 0);
	cr_assert_lt(t_try_create(name, UINT64_MAX, &x), 0);
	/* Bad names that look like it. */
	{
		char n[2 * PINSHM_NAME_MAX];

		snprintf(n, sizeof(n), "%s/", name);
		T_ERR(t_try_create(n, 4096, &x), -EINVAL);
		T_ERR(pinshm_region_destroy(n, T_BACKEND), -EINVAL);
		snprintf(n, sizeof(n), "../%s", name);
		T_ERR(pinshm_region_destroy(n, T_BACKEND), -EINVAL);
		snprintf(n, sizeof(n), ".%s", name);
		T_ERR(pinshm_region_destroy(n, T_BACKEND), -EINVAL);
		snprintf(n, sizeof(n), "%s-%063d", name, 0);	/* > 63 */
		T_ERR(t_try_create(n, 4096, &x), -EINVAL);
		T_ERR(pinshm_region_open(n, PINSHM_RDWR, T_BACKEND, &x), -EINVAL);
	}
	T_ERR(pinshm_region_open(name, 7, T_BACKEND, &x), -EINVAL);
	cr_assert_null(x);
	/* Through a read-only open. */
	T_OK(pinshm_region_open(name, PINSHM_RDONLY, T_BACKEND, &ro));
	T_ERR(pinshm_spsc_create(ro, "r", 4096, 0), -EACCES);
	T_ERR(pinshm_spsc_attach(ro, "q", PINSHM_PRODUCER, &y), -EACCES);
	T_ERR(pinshm_spsc_attach(ro, "q", PINSHM_CONSUMER, &y), -EACCES);
	T_OK(pinshm_region_close(ro));
	/* Bad ring calls on it. */
	T_ERR(pinshm_spsc_create(g_r, "q", 4096, 0), -EEXIST);
	T_ERR(pinshm_spsc_create(g_r, "big", 1 << 20, 0), -ENOSPC);
	T_ERR(pinshm_spsc_create(g_r, "odd", 6000, 0), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "huge", 4096, 4096), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "a/b", 4096, 0), -EINVAL);
	T_ERR(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &y), -EBUSY);
	T_ERR(pinshm_spsc_attach(g_r, "q", PINSHM_CONSUMER, &y), -EBUSY);
	T_ERR(pinshm_spsc_attach(g_r, "q", 9, &y), -EINVAL);
	T_ERR(pinshm_spsc_attach(g_r, "none", PINSHM_PRODUCER, &y), -ENOENT);
	T_ERR(pinshm_spsc_claim(&p, 100000, &d), -EMSGSIZE);
	{
		char small[4];

		T_ERR(pinshm_spsc_recv(&c, small, 0, NULL, PINSHM_WAIT_NONE),
		      -EMSGSIZE);
	}
	/* Another region, wrecked next to it. */
	other = t_create("wreck", 64 << 10, &oname);
	T_OK(pinshm_region_close(other));
	file_random(oname, 0, 4096 + (64 << 10), 99);
	T_ERR(pinshm_region_open(oname, PINSHM_RDWR, T_BACKEND, &x), -EBADMSG);

	cr_assert_eq(memcmp(snap, pinshm_region_data(g_r), size), 0,
		     "the region's data changed");
	free(snap);
	T_OK(pinshm_region_meta(g_r, &m1));
	cr_assert_eq(m1.size, m0.size);
	cr_assert_eq(m1.mode, m0.mode);
	cr_assert_eq(m1.generation, m0.generation);
	cr_assert_eq(m1.crashes, m0.crashes);
	cr_assert_eq(m1.created_ns, m0.created_ns);
	cr_assert_str_eq(m1.name, m0.name);
	cr_assert_eq(stat(t_shm_path(name), &st1), 0);
	cr_assert_eq(st1.st_size, st0.st_size);
	cr_assert_eq(st1.st_mode, st0.st_mode);
	cr_assert_eq(st1.st_ino, st0.st_ino, "the file was replaced");
	/* And the ring still works. */
	for (i = 0; i < 40; i++) {
		struct pinshm_msg m = { 0 };

		T_OK(pinshm_spsc_peek(&c, &m));
		cr_assert_eq(m.type, (uint32_t)i);
		cr_assert_eq(t_pat_check(m.data, m.len, i), -1);
		pinshm_spsc_release(&c);
	}
	T_OK(pinshm_spsc_detach(&p));
	T_OK(pinshm_spsc_detach(&c));
}

/*
 * A ring made by a libpinshm of another layout version (its version word
 * differs, everything else valid) is refused with -EPROTONOSUPPORT by every
 * attach, not taken for corrupt, and attaches again once it says ours.
 */
Test(badinput, a_ring_of_another_layout_version_gives_EPROTONOSUPPORT)
{
	static const char *const objs[4] = { "s", "m", "b", "l" };
	static const uint32_t ours[4] = {
		PINSHM_SPSC_VERSION, PINSHM_MPSC_VERSION, PINSHM_BCAST_VERSION,
		PINSHM_SLOT_VERSION,
	};
	struct pinshm_region *r;
	struct pinshm_obj_info info;
	struct pinshm_spsc s;
	struct pinshm_mpsc mc;
	struct pinshm_mpsc mp;
	struct pinshm_bcast bw;
	struct pinshm_bcast br;
	struct pinshm_slot sw, sr;
	uint32_t *ver[4];
	const char *name;
	unsigned int i;

	r = t_create("oldver", 1 << 20, &name);
	T_OK(pinshm_spsc_create(r, "s", 4096, 0));
	T_OK(pinshm_mpsc_create(r, "m", 4096, 0));
	T_OK(pinshm_bcast_create(r, "b", 16, 64));
	T_OK(pinshm_slot_create(r, "l", 64));
	for (i = 0; i < 4; i++) {
		T_OK(pinshm_obj_find(r, objs[i], &info));
		/* Every ring header starts with magic, then version. */
		ver[i] = (uint32_t *)((uint8_t *)pinshm_region_data(r) +
				      info.offset) + 1;
		cr_assert_eq(*ver[i], ours[i]);
		*ver[i] = ours[i] - 1;
	}
	T_ERR(pinshm_spsc_attach(r, "s", PINSHM_CONSUMER, &s), -EPROTONOSUPPORT);
	T_ERR(pinshm_spsc_attach(r, "s", PINSHM_PRODUCER, &s), -EPROTONOSUPPORT);
	T_ERR(pinshm_mpsc_attach(r, "m", PINSHM_CONSUMER, &mc), -EPROTONOSUPPORT);
	T_ERR(pinshm_mpsc_attach(r, "m", PINSHM_PRODUCER_ID(0), &mp), -EPROTONOSUPPORT);
	T_ERR(pinshm_bcast_attach(r, "b", PINSHM_WRITER, &bw), -EPROTONOSUPPORT);
	T_ERR(pinshm_bcast_attach(r, "b", PINSHM_READER, &br) ?: pinshm_bcast_seek(&br, PINSHM_BCAST_OLDEST),
	      -EPROTONOSUPPORT);
	T_ERR(pinshm_slot_attach(r, "l", PINSHM_WRITER, &sw), -EPROTONOSUPPORT);
	T_ERR(pinshm_slot_attach(r, "l", PINSHM_READER, &sr), -EPROTONOSUPPORT);
	for (i = 0; i < 4; i++)
		*ver[i] = ours[i];
	T_OK(pinshm_spsc_attach(r, "s", PINSHM_CONSUMER, &s));
	T_OK(pinshm_mpsc_attach(r, "m", PINSHM_CONSUMER, &mc));
	T_OK(pinshm_bcast_attach(r, "b", PINSHM_WRITER, &bw));
	T_OK(pinshm_bcast_attach(r, "b", PINSHM_READER, &br) ?: pinshm_bcast_seek(&br, PINSHM_BCAST_OLDEST));
	T_OK(pinshm_slot_attach(r, "l", PINSHM_WRITER, &sw));
	T_OK(pinshm_slot_attach(r, "l", PINSHM_READER, &sr));
}
