// SPDX-License-Identifier: MIT
/*
 * Suite "dir": the object directory at the start of a region's data area
 * (libshm/src/dir.c): adding rings, finding them, listing them in the
 * order they were added, and the errors: duplicate names, bad names, a
 * full directory, a region with no room, a read-only region. Also the
 * directory lock: concurrent adders, and a lock left by a dead process;
 * and the role word every ring role and the lock are taken with.
 */
#include <stdbool.h>
#include <sys/ptrace.h>

#include "testutil.h"

static struct pinshm_region *g_r;
static const char *g_name;

static void dir_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(dir, .fini = dir_fini, .timeout = 30);

static struct pinshm_dir *dir_of(struct pinshm_region *r)
{
	return pinshm_region_data(r);
}

Test(dir, a_new_region_has_an_empty_directory)
{
	struct pinshm_obj_info info[4];
	struct pinshm_dir *d;

	g_r = t_create("empty", 1 << 20, &g_name);
	cr_assert_eq(pinshm_obj_list(g_r, info, 4), 0);
	cr_assert_eq(pinshm_obj_list(g_r, NULL, 0), 0);
	T_ERR(pinshm_obj_find(g_r, "q", &info[0]), -ENOENT);
	d = dir_of(g_r);
	cr_assert_eq(d->magic, PINSHM_DIR_MAGIC);
	cr_assert_eq(d->version, PINSHM_DIR_VERSION);
	cr_assert_eq(d->max_entries, PINSHM_DIR_MAX);
	cr_assert_eq(d->nr_entries, 0);
	cr_assert_eq(d->data_size, 1 << 20);
	cr_assert_eq(d->lock.holder, 0);
	cr_assert_geq(d->next_off, sizeof(struct pinshm_dir));
	cr_assert_eq(d->next_off % PINSHM_OBJ_ALIGN, 0);
}

static const struct {
	const char *name;
	uint64_t cap, max_record, want_max;
} rings[] = {
	{ "md",		4096,	0,	4096 / 4 - 16 },
	{ "orders",	65536,	100,	100 },
	{ "exec",	8192,	2714,	2714 },
	{ "log.0",	16384,	0,	16384 / 4 - 16 },
	{ "A-z_9",	4096,	1,	1 },
};
#define NR_RINGS (sizeof(rings) / sizeof(rings[0]))

static void add_rings(void)
{
	unsigned int i;

	for (i = 0; i < NR_RINGS; i++)
		T_OK(pinshm_spsc_create(g_r, rings[i].name, rings[i].cap,
					rings[i].max_record));
}

static void check_info(const struct pinshm_obj_info *o, unsigned int i)
{
	cr_assert_str_eq(o->name, rings[i].name);
	cr_assert_eq(o->type, PINSHM_OBJ_SPSC);
	cr_assert_eq(o->capacity, rings[i].cap);
	cr_assert_eq(o->max_record, rings[i].want_max, "%s: max_record %llu",
		     o->name, (unsigned long long)o->max_record);
	cr_assert_eq(o->offset % PINSHM_OBJ_ALIGN, 0);
	cr_assert_geq(o->offset, sizeof(struct pinshm_dir));
	cr_assert_geq(o->size, PINSHM_SPSC_HDR_SIZE + rings[i].cap);
	cr_assert_leq(o->offset + o->size, pinshm_region_size(g_r));
}

Test(dir, finds_each_ring_by_name)
{
	struct pinshm_obj_info o;
	unsigned int i;

	g_r = t_create("find", 1 << 20, &g_name);
	add_rings();
	for (i = 0; i < NR_RINGS; i++) {
		T_OK(pinshm_obj_find(g_r, rings[i].name, &o));
		check_info(&o, i);
	}
	T_ERR(pinshm_obj_find(g_r, "md2", &o), -ENOENT);
	T_ERR(pinshm_obj_find(g_r, "m", &o), -ENOENT);
}

Test(dir, lists_objects_in_the_order_they_were_added)
{
	struct pinshm_obj_info o[8];
	unsigned int i, j;

	g_r = t_create("list", 1 << 20, &g_name);
	add_rings();
	cr_assert_eq(pinshm_obj_list(g_r, o, 8), (int)NR_RINGS);
	for (i = 0; i < NR_RINGS; i++)
		check_info(&o[i], i);
	/* Objects never overlap. */
	for (i = 0; i < NR_RINGS; i++)
		for (j = i + 1; j < NR_RINGS; j++)
			cr_assert(o[i].offset + o[i].size <= o[j].offset ||
				  o[j].offset + o[j].size <= o[i].offset,
				  "%s and %s overlap", o[i].name, o[j].name);
	memset(o, 0, sizeof(o));
	cr_assert_eq(pinshm_obj_list(g_r, o, 2), (int)NR_RINGS,
		     "a short array still gets the total");
	check_info(&o[0], 0);
	check_info(&o[1], 1);
	cr_assert_eq(o[2].name[0], '\0', "wrote past max");
}

Test(dir, a_new_ring_is_zeroed_and_has_a_valid_header)
{
	struct pinshm_spsc_shared *sh;
	const uint8_t *buf;
	uint64_t i;

	g_r = t_create("hdr", 1 << 20, &g_name);
	/* Dirty the memory first: create must clear what it hands out. */
	memset((uint8_t *)pinshm_region_data(g_r) + 8192, 0xee, (1 << 20) - 8192);
	T_OK(pinshm_spsc_create(g_r, "q", 8192, 0));
	sh = t_ring_hdr(g_r, "q");
	cr_assert_eq(sh->magic, PINSHM_SPSC_MAGIC);
	cr_assert_eq(sh->version, PINSHM_SPSC_VERSION);
	cr_assert_eq(sh->capacity, 8192);
	cr_assert_eq(sh->max_record, 8192 / 4 - 16);
	cr_assert_eq(sh->data_off, PINSHM_SPSC_HDR_SIZE);
	cr_assert_eq(sh->head, 0);
	cr_assert_eq(sh->tail, 0);
	cr_assert_eq(sh->producer.holder, 0);
	cr_assert_eq(sh->consumer.holder, 0);
	buf = (const uint8_t *)sh + sh->data_off;
	for (i = 0; i < 8192; i++)
		cr_assert_eq(buf[i], 0, "buffer byte %llu", (unsigned long long)i);
}

Test(dir, a_duplicate_name_gives_EEXIST)
{
	struct pinshm_obj_info o[4];

	g_r = t_create("dup", 1 << 20, &g_name);
	T_OK(pinshm_spsc_create(g_r, "q", 4096, 0));
	T_ERR(pinshm_spsc_create(g_r, "q", 4096, 0), -EEXIST);
	T_ERR(pinshm_spsc_create(g_r, "q", 8192, 100), -EEXIST);
	cr_assert_eq(pinshm_obj_list(g_r, o, 4), 1);
	cr_assert_eq(o[0].capacity, 4096, "the first ring is untouched");
	T_OK(pinshm_spsc_create(g_r, "Q", 4096, 0));	/* case matters */
}

Test(dir, invalid_object_names_give_EINVAL)
{
	static const char *bad[] = {
		"", ".", "..", ".x", "a/b", "/a", "a b", "a\tb", "tab\n",
		"caf\xc3\xa9", "a*", "0123456789012345678901234567890123",
		"01234567890123456789012345678901",	/* 32: one too many */
	};
	struct pinshm_obj_info o;
	unsigned int i;

	g_r = t_create("names", 1 << 20, &g_name);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_ERR(pinshm_spsc_create(g_r, bad[i], 4096, 0), -EINVAL);
		T_ERR(pinshm_obj_find(g_r, bad[i], &o), -EINVAL);
	}
	cr_assert_eq(pinshm_obj_list(g_r, NULL, 0), 0, "nothing was added");
	T_OK(pinshm_spsc_create(g_r, "0123456789012345678901234567890", 4096,
				0));	/* 31 */
}

/* 63 entries; each 4 KiB ring takes 8 KiB with its header page. */
Test(dir, a_full_directory_gives_ENOSPC)
{
	struct pinshm_obj_info o[PINSHM_DIR_MAX + 1];
	char name[16];
	unsigned int i;

	g_r = t_create("full", 2 << 20, &g_name);
	for (i = 0; i < PINSHM_DIR_MAX; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		T_OK(pinshm_spsc_create(g_r, name, 4096, 0));
	}
	T_ERR(pinshm_spsc_create(g_r, "one-more", 4096, 0), -ENOSPC);
	cr_assert_eq(pinshm_obj_list(g_r, o, PINSHM_DIR_MAX + 1),
		     PINSHM_DIR_MAX);
	for (i = 0; i < PINSHM_DIR_MAX; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		cr_assert_str_eq(o[i].name, name);
	}
	T_OK(pinshm_obj_find(g_r, "r62", &o[0]));
	/* A duplicate is still a duplicate when the directory is full. */
	T_ERR(pinshm_spsc_create(g_r, "r5", 4096, 0), -EEXIST);
}

Test(dir, a_region_too_small_for_a_ring_gives_ENOSPC)
{
	struct pinshm_obj_info o;

	g_r = t_create("small", 64 << 10, &g_name);
	T_ERR(pinshm_spsc_create(g_r, "big", 64 << 10, 0), -ENOSPC);
	T_ERR(pinshm_spsc_create(g_r, "big", 1 << 20, 0), -ENOSPC);
	T_ERR(pinshm_obj_find(g_r, "big", &o), -ENOENT);
	/* The failure took no room: the space that is left is usable. */
	T_OK(pinshm_spsc_create(g_r, "a", 32 << 10, 0));
	T_OK(pinshm_spsc_create(g_r, "b", 16 << 10, 0));
	T_ERR(pinshm_spsc_create(g_r, "c", 16 << 10, 0), -ENOSPC);
	T_OK(pinshm_obj_find(g_r, "b", &o));
	cr_assert_leq(o.offset + o.size, 64 << 10);
}

/* Smaller than the directory itself: no objects, ever, and no crash. */
Test(dir, a_one_page_region_holds_no_objects)
{
	struct pinshm_obj_info o;
	struct pinshm_spsc x;

	g_r = t_create("tiny", 4096, &g_name);
	cr_assert_eq(pinshm_obj_list(g_r, &o, 1), 0);
	T_ERR(pinshm_spsc_create(g_r, "q", 4096, 0), -ENOSPC);
	T_ERR(pinshm_obj_find(g_r, "q", &o), -ENOENT);
	T_ERR(pinshm_spsc_attach(g_r, "q", PINSHM_PRODUCER, &x), -ENOENT);
}

Test(dir, adding_on_a_read_only_open_gives_EACCES)
{
	struct pinshm_region *ro;
	struct pinshm_obj_info o;

	g_r = t_create("ro", 1 << 20, &g_name);
	T_OK(pinshm_spsc_create(g_r, "q", 4096, 0));
	T_OK(pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &ro));
	T_ERR(pinshm_spsc_create(ro, "r", 4096, 0), -EACCES);
	/* Reading the directory works read-only. */
	T_OK(pinshm_obj_find(ro, "q", &o));
	cr_assert_eq(pinshm_obj_list(ro, NULL, 0), 1);
	T_OK(pinshm_region_close(ro));
	T_ERR(pinshm_obj_find(g_r, "r", &o), -ENOENT);
}

Test(dir, bad_ring_parameters_give_EINVAL)
{
	g_r = t_create("param", 1 << 20, &g_name);
	T_ERR(pinshm_spsc_create(g_r, "q", 0, 0), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 5000, 0), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 4097, 0), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 3 << 12, 0), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", UINT64_MAX, 0), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 1ull << 63, 0), -EINVAL);
	/* 3 * (max_record + 16) <= capacity */
	T_ERR(pinshm_spsc_create(g_r, "q", 4096, 1350), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 4096, 4096), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 4096, UINT64_MAX), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 4096, UINT64_MAX / 2), -EINVAL);
	cr_assert_eq(pinshm_obj_list(g_r, NULL, 0), 0);
	T_OK(pinshm_spsc_create(g_r, "q", 4096, 1349));
}

/* The header documents capacity >= 1 KiB. */
Test(dir, a_capacity_below_1_KiB_gives_EINVAL)
{
	g_r = t_create("min", 1 << 20, &g_name);
	T_ERR(pinshm_spsc_create(g_r, "q", 512, 0), -EINVAL);
	T_ERR(pinshm_spsc_create(g_r, "q", 64, 0), -EINVAL);
	T_OK(pinshm_spsc_create(g_r, "q", 1024, 0));
	T_OK(pinshm_spsc_create(g_r, "r", 2048, 0));
}

Test(dir, another_process_finds_the_rings)
{
	pid_t pid;

	g_r = t_create("xproc", 1 << 20, &g_name);
	add_rings();
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;
		struct pinshm_obj_info o[8];
		unsigned int i;

		t_child_init();
		if (pinshm_region_open(g_name, PINSHM_RDONLY, T_BACKEND, &r))
			_exit(2);
		if (pinshm_obj_list(r, o, 8) != (int)NR_RINGS)
			_exit(3);
		for (i = 0; i < NR_RINGS; i++)
			if (strcmp(o[i].name, rings[i].name) ||
			    o[i].capacity != rings[i].cap)
				_exit(4);
		pinshm_region_close(r);
		_exit(0);
	}
	T_CHILD_OK(pid);
}

/* Two processes adding at once: the lock keeps every entry whole. */
Test(dir, concurrent_adders_lose_no_entry)
{
	struct pinshm_obj_info o[PINSHM_DIR_MAX];
	pid_t pid[2];
	unsigned int i, j, k;
	int n;

	g_r = t_create("race", 4 << 20, &g_name);
	for (k = 0; k < 2; k++) {
		pid[k] = fork();
		cr_assert_geq(pid[k], 0);
		if (pid[k] == 0) {
			struct pinshm_region *r;
			char name[16];

			t_child_init();
			if (pinshm_region_open(g_name, PINSHM_RDWR, T_BACKEND, &r))
				_exit(2);
			for (i = 0; i < 30; i++) {
				snprintf(name, sizeof(name), "p%u-%u", k, i);
				if (pinshm_spsc_create(r, name, 4096, 0))
					_exit(3);
			}
			/* Both also try the same name: exactly one wins. */
			n = pinshm_spsc_create(r, "shared", 4096, 0);
			pinshm_region_close(r);
			_exit(n == 0 ? 0 : n == -EEXIST ? 10 : 4);
		}
	}
	{
		int st0 = t_wait(pid[0]), st1 = t_wait(pid[1]);

		cr_assert(WIFEXITED(st0) && WIFEXITED(st1));
		cr_assert((WEXITSTATUS(st0) == 0 && WEXITSTATUS(st1) == 10) ||
			  (WEXITSTATUS(st0) == 10 && WEXITSTATUS(st1) == 0),
			  "exit statuses %d and %d", WEXITSTATUS(st0),
			  WEXITSTATUS(st1));
	}
	n = pinshm_obj_list(g_r, o, PINSHM_DIR_MAX);
	cr_assert_eq(n, 61);
	for (i = 0; i < 61; i++)
		for (j = i + 1; j < 61; j++) {
			cr_assert_str_neq(o[i].name, o[j].name);
			cr_assert(o[i].offset + o[i].size <= o[j].offset ||
				  o[j].offset + o[j].size <= o[i].offset,
				  "%s and %s overlap", o[i].name, o[j].name);
		}
}

/* A lock word naming a process that is gone is taken over at once. */
Test(dir, a_lock_left_by_a_dead_process_is_taken_over)
{
	struct pinshm_dir *d;
	pid_t pid;

	g_r = t_create("deadlock", 1 << 20, &g_name);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(0);
	t_wait(pid);
	d = dir_of(g_r);
	d->lock.holder = PINSHM_ROLE_WORD(pid, 12345);	/* gone */
	T_OK(pinshm_spsc_create(g_r, "q", 4096, 0));
	cr_assert_eq(d->lock.holder, 0, "the lock is free again");
}

/*
 * A lock held by a live process that never lets go: adding gives an error
 * after a bounded wait, never hangs.
 */
Test(dir, a_lock_held_forever_by_a_live_process_is_an_error_not_a_hang,
     .timeout = 20)
{
	struct pinshm_dir *d;
	uint64_t t0;
	int ret;
	pid_t pid;

	g_r = t_create("stuck", 1 << 20, &g_name);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		t_child_init();
		for (;;)
			pause();
	}
	d = dir_of(g_r);
	/* unknown start (fingerprint 0): counts as alive */
	d->lock.holder = PINSHM_ROLE_WORD(pid, 0);
	t0 = t_now_ns(CLOCK_MONOTONIC);
	ret = pinshm_spsc_create(g_r, "q", 4096, 0);
	kill(pid, SIGKILL);
	t_wait(pid);
	cr_assert_lt(ret, 0, "created under somebody else's lock");
	cr_assert_neq(ret, -EINVAL);
	cr_assert_lt(t_now_ns(CLOCK_MONOTONIC) - t0, 15000000000ull);
	/* Now the holder is dead: the next add succeeds. */
	T_OK(pinshm_spsc_create(g_r, "q", 4096, 0));
}

/* The wake bit of a bcast ring's or slot's wait queue (at 256 in both). */
static uint32_t ro_bit_of(const struct pinshm_obj_info *o)
{
	return PINSHM_RO_BIT(o->offset +
			     (o->type == PINSHM_OBJ_BCAST ?
			      offsetof(struct pinshm_bcast_shared, waitq) :
			      offsetof(struct pinshm_slot_shared, waitq)));
}

/*
 * Read-only sleepers of a region's bcast rings and slots share one word of
 * the metadata page, a bit per queue: placed back to back, bcast rings of
 * 512 slots (9 pages each) all hash to nearly one bit, and a busy writer
 * would wake the idle reader of another ring at every publish. With room
 * to spare, each goes where its bit is free: 32 of them get 32 bits, and
 * the spsc ring between them is not moved.
 */
Test(dir, bcast_rings_and_slots_get_distinct_wake_bits_when_there_is_room)
{
	struct pinshm_obj_info o[40];
	uint32_t used = 0;
	char name[16];
	int i, n;

	g_r = t_create("robits", 4 << 20, &g_name);
	for (i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		T_OK(pinshm_bcast_create(g_r, name, 512, 48));
	}
	T_OK(pinshm_spsc_create(g_r, "q", 4096, 0));
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		T_OK(pinshm_slot_create(g_r, name, 64));
	}
	n = pinshm_obj_list(g_r, o, 40);
	cr_assert_eq(n, 33);
	for (i = 0; i < n; i++) {
		if (o[i].type == PINSHM_OBJ_SPSC) {
			cr_assert_eq(o[i].offset, o[i - 1].offset +
				     ((o[i - 1].size + 4095) & ~4095ULL),
				     "the spsc ring was moved");
			continue;
		}
		cr_assert_eq(used & ro_bit_of(&o[i]), 0,
			     "%s shares wake bit %#x", o[i].name,
			     ro_bit_of(&o[i]));
		used |= ro_bit_of(&o[i]);
	}
	cr_assert_eq(used, 0xffffffffu);
	/* A 33rd shares a bit: still made. */
	T_OK(pinshm_slot_create(g_r, "one-more", 64));
}

/* A region sized to its objects gets them back to back, as before. */
Test(dir, a_region_sized_to_its_objects_holds_them_without_gaps)
{
	struct pinshm_obj_info o[2];
	uint64_t obj;

	/* Size of one bcast ring of 512 slots, in whole pages. */
	g_r = t_create("robits-tight", 1 << 20, &g_name);
	T_OK(pinshm_bcast_create(g_r, "probe", 512, 48));
	T_OK(pinshm_obj_find(g_r, "probe", &o[0]));
	obj = (o[0].size + 4095) & ~4095ULL;
	pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();

	g_r = t_create("robits-tight", o[0].offset + 2 * obj, &g_name);
	T_OK(pinshm_bcast_create(g_r, "a", 512, 48));
	T_OK(pinshm_bcast_create(g_r, "b", 512, 48));
	cr_assert_eq(pinshm_obj_list(g_r, o, 2), 2);
	cr_assert_eq(o[1].offset, o[0].offset + obj);
	cr_assert_eq(ro_bit_of(&o[0]), ro_bit_of(&o[1]),
		     "these two share a bit when back to back");
}

/* ---- taking a role: one atomic step (issue 15, defect 5) ------------- */

/* libshm/src/dir.c: the role and lock words' take and drop. */
int __pinshm_role_take(struct pinshm_role *role, uint32_t *dead);
void __pinshm_role_drop(struct pinshm_role *role);
uint64_t __pinshm_role_self(void);

/* What the word holds when the stepped taker starts. */
enum role_start {
	ROLE_NEVER_USED,	/* all zero */
	ROLE_DROPPED,		/* taken and dropped by a process now gone */
	ROLE_DEAD,		/* held by a process that died */
	ROLE_LIVE,		/* held by a live process */
	ROLE_NR_STARTS,
};

static const char *const role_start_name[ROLE_NR_STARTS] = {
	"never used", "dropped", "held by a dead process",
	"held by a live process",
};

/*
 * Prepare *role through the library only, from other processes. Returns
 * the live holder to kill afterwards (ROLE_LIVE), else 0.
 */
static pid_t role_prepare(struct pinshm_role *role, enum role_start st)
{
	int fds[2];
	char c = 0;
	pid_t pid;

	memset(role, 0, sizeof(*role));
	if (st == ROLE_NEVER_USED)
		return 0;
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		t_child_init();
		c = __pinshm_role_take(role, NULL) == 0;
		if (st == ROLE_DROPPED)
			__pinshm_role_drop(role);
		if (write(fds[1], &c, 1) != 1 || st != ROLE_LIVE)
			_exit(0);
		for (;;)
			pause();
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	cr_assert_eq(c, 1, "the preparing process could not take the role");
	/* Start times count clock ticks: the taker forked next must not
	 * start in the same tick as this holder. */
	usleep(2 * 1000000 / sysconf(_SC_CLK_TCK) + 1000);
	if (st == ROLE_LIVE)
		return pid;
	T_CHILD_OK(pid);
	return 0;
}

/* Child: stop for the tracer, take the role, report through the status. */
static void __attribute__((noreturn)) stepped_taker(struct pinshm_role *role)
{
	int ret;

	t_child_init();
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(3);
	raise(SIGSTOP);
	ret = __pinshm_role_take(role, NULL);
	_exit(ret == 0 ? 0 : ret == -EBUSY ? 1 : 2);
}

struct step_run {
	uint64_t steps;		/* instruction boundaries stepped */
	uint64_t changed;	/* first boundary where the word had changed */
	uint64_t probe_won;	/* first boundary >= changed where a take by
				 * another process would have succeeded */
	int child;		/* the taker: 0 took, 1 -EBUSY, else failed */
	bool real_won;		/* the parent really took the role */
};

/*
 * Single-step a child through __pinshm_role_take() on the word in *role,
 * stopping it at every instruction boundary. At each stop the parent, a
 * second process, tries to take the role too:
 *  - real_from >= 0: for real, at every boundary from real_from on until
 *    it succeeds (then it holds the role to the end);
 *  - always, on a private copy of the word (the child is stopped, so the
 *    copy is exactly what a take at this boundary would see: a take on it
 *    succeeds exactly when a real one would CAS the shared word from the
 *    same value and succeed).
 */
static void step_take(struct pinshm_role *role, int64_t real_from,
		      struct step_run *out)
{
	struct pinshm_role init = *role, copy;
	int st, sig = 0;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->changed = out->probe_won = UINT64_MAX;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		stepped_taker(role);
	st = t_wait(pid);
	cr_assert(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP,
		  "the taker did not stop for tracing (status %#x)", st);
	for (;;) {
		if (out->changed == UINT64_MAX &&
		    memcmp(&init, role, sizeof(init)))
			out->changed = out->steps;
		copy = *role;
		if (out->changed != UINT64_MAX &&
		    out->probe_won == UINT64_MAX &&
		    __pinshm_role_take(&copy, NULL) == 0)
			out->probe_won = out->steps;
		if (real_from >= 0 && !out->real_won &&
		    out->steps >= (uint64_t)real_from &&
		    __pinshm_role_take(role, NULL) == 0)
			out->real_won = true;
		cr_assert_eq(ptrace(PTRACE_SINGLESTEP, pid, NULL,
				    (void *)(long)sig), 0,
			     "PTRACE_SINGLESTEP: %s", strerror(errno));
		st = t_wait(pid);
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
		cr_assert(WIFSTOPPED(st));
		sig = WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st);
		out->steps++;
	}
	cr_assert(WIFEXITED(st), "the taker died of signal %d",
		  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	out->child = WEXITSTATUS(st);
	cr_assert_lt(out->child, 2, "the taker failed (%d)", out->child);
	if (out->real_won)
		__pinshm_role_drop(role);
}

/*
 * A second process that tries to take a role at any instruction boundary
 * of another's take never holds it at the same time: stepping a taker
 * through the whole claim, with another process trying at every stop, at
 * most one of them ever holds the role, and exactly one when the word
 * started free, dropped or held by a dead process (a live holder keeps it
 * from both). A take that left the word naming its taker with its
 * predecessor's start time let the second process call the first dead.
 */
Test(dir, a_role_is_taken_in_one_step_no_other_taker_can_misread,
     .timeout = 120)
{
	struct pinshm_role *role = t_shared_alloc(sizeof(*role));
	struct step_run a, b, c;
	unsigned int s;
	pid_t live;

	for (s = 0; s < ROLE_NR_STARTS; s++) {
		const char *what = role_start_name[s];
		bool free = s != ROLE_LIVE;

		/* Probing only: the taker runs undisturbed. */
		live = role_prepare(role, (enum role_start)s);
		step_take(role, -1, &a);
		cr_log_info("role %s: %llu boundaries stepped, word changed at %llu",
			    what, (unsigned long long)a.steps,
			    (unsigned long long)a.changed);
		cr_assert_eq(a.child, free ? 0 : 1, "%s: the taker got %d",
			     what, a.child);
		cr_assert_eq(a.probe_won, UINT64_MAX,
			     "%s: a second taker would also have taken the role "
			     "at boundary %llu of %llu (the word changed at %llu)",
			     what, (unsigned long long)a.probe_won,
			     (unsigned long long)a.steps,
			     (unsigned long long)a.changed);
		if (free)
			cr_assert_neq(a.changed, UINT64_MAX);
		/* A second process taking for real from the first boundary:
		 * it wins at once, and the stepped taker must then lose. */
		if (live) {
			kill(live, SIGKILL);
			t_wait(live);
		}
		live = role_prepare(role, (enum role_start)s);
		step_take(role, 0, &b);
		cr_assert_eq(b.real_won + (b.child == 0), free ? 1 : 0,
			     "%s, second taker first: %s and the taker %s",
			     what, b.real_won ? "it took the role" : "it did not",
			     b.child == 0 ? "took it too" : "did not");
		/* ... and from the boundary where the word changed on. */
		if (live) {
			kill(live, SIGKILL);
			t_wait(live);
		}
		live = role_prepare(role, (enum role_start)s);
		step_take(role, free ? (int64_t)a.changed : 0, &c);
		cr_assert_eq(c.real_won + (c.child == 0), free ? 1 : 0,
			     "%s, second taker from boundary %llu: %s and the "
			     "taker %s", what, (unsigned long long)a.changed,
			     c.real_won ? "it took the role" : "it did not",
			     c.child == 0 ? "took it too" : "did not");
		if (live) {
			kill(live, SIGKILL);
			t_wait(live);
		}
	}
}

/*
 * Whatever the role word holds, a take gives an answer: a free word, a
 * word naming no pid, an impossible pid, a dead process, a live process
 * with another start time (its pid reused), a previous process of our own
 * pid are all taken; a live process, or one whose start time is unknown
 * (fingerprint 0), keeps it. A drop never frees a word naming another.
 */
Test(dir, a_role_word_of_any_value_is_judged_and_never_dropped_for_another)
{
	struct pinshm_role *role = t_shared_alloc(sizeof(*role));
	uint64_t self = __pinshm_role_self(), other;
	uint32_t me = (uint32_t)getpid(), dead;
	pid_t gone, live;
	int fds[2];

	cr_assert_eq(PINSHM_ROLE_PID(self), me);
	cr_assert_neq(PINSHM_ROLE_FP(self), 0, "our start time is readable");
	gone = fork();
	cr_assert_geq(gone, 0);
	if (gone == 0)
		_exit(0);
	t_wait(gone);
	cr_assert_eq(pipe(fds), 0);
	live = fork();
	cr_assert_geq(live, 0);
	if (live == 0) {
		t_child_init();
		other = __pinshm_role_self();
		if (write(fds[1], &other, sizeof(other)) != sizeof(other))
			_exit(1);
		for (;;)
			pause();
	}
	cr_assert_eq(read(fds[0], &other, sizeof(other)), sizeof(other));
	close(fds[0]);
	close(fds[1]);

	const struct {
		uint64_t word;
		int want;
		uint32_t dead;
	} cases[] = {
		{ 0, 0, 0 },
		{ PINSHM_ROLE_WORD(0, 0xdeadbeef), 0, 0 },
		{ PINSHM_ROLE_WORD(0x7fffffff, 1), 0, 0x7fffffff },
		{ PINSHM_ROLE_WORD(0xffffffff, 0), 0, 0xffffffff },
		{ PINSHM_ROLE_WORD(gone, 0), 0, (uint32_t)gone },
		{ PINSHM_ROLE_WORD(gone, 77), 0, (uint32_t)gone },
		{ other ^ (1ull << 40), 0, (uint32_t)live },	/* pid reused */
		{ self ^ (1ull << 40), 0, me },		/* ours, before */
		{ other, -EBUSY, 0 },
		{ PINSHM_ROLE_WORD(live, 0), -EBUSY, 0 },
		{ self, -EBUSY, 0 },
		{ PINSHM_ROLE_WORD(me, 0), -EBUSY, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		role->holder = cases[i].word;
		role->__reserved = ~0ull;	/* ignored */
		dead = 12345;
		cr_assert_eq(__pinshm_role_take(role, &dead), cases[i].want,
			     "case %u: word %#llx", i,
			     (unsigned long long)cases[i].word);
		if (cases[i].want)
			continue;
		cr_assert_eq(role->holder, self, "case %u", i);
		cr_assert_eq(dead, cases[i].dead, "case %u: dead %u", i, dead);
		__pinshm_role_drop(role);
		cr_assert_eq(role->holder, 0, "case %u", i);
	}
	role->holder = other;
	__pinshm_role_drop(role);
	cr_assert_eq(role->holder, other, "dropped another's role");
	kill(live, SIGKILL);
	t_wait(live);
	cr_assert_eq(__pinshm_role_take(role, &dead), 0, "its holder died");
	cr_assert_eq(dead, (uint32_t)live);
}
