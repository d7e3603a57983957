// SPDX-License-Identifier: MIT
/*
 * Suite "meta": the metadata page (uapi struct pinshm_meta) as the shm
 * backend writes it: header fields, the attach table, deaths found by
 * pinshm_region_recover(), and the seq protocol.
 *
 * The shm backend finds deaths by polling (pid plus start time), so it can
 * say neither the exit status nor the signal: a dead attacher gets
 * exit_code PINSHM_EXIT_UNKNOWN and signal 0.
 */
#include <stddef.h>

#include "testutil.h"

TestSuite(meta, .fini = t_cleanup, .timeout = 30);

static struct pinshm_meta meta_of(struct pinshm_region *r)
{
	struct pinshm_meta m;

	T_OK(pinshm_region_meta(r, &m));
	return m;
}

/* The page exactly as it is in the file (for a region we no longer have). */
static struct pinshm_meta meta_from_file(const char *name)
{
	struct pinshm_meta m;
	int fd = open(t_shm_path(name), O_RDONLY);

	cr_assert_geq(fd, 0, "open %s: %s", t_shm_path(name), strerror(errno));
	cr_assert_eq(pread(fd, &m, sizeof(m), 0), (ssize_t)sizeof(m));
	close(fd);
	return m;
}

/* Slot of pid in a given state, or -1. */
static int find_slot(const struct pinshm_meta *m, pid_t pid, int state)
{
	unsigned int i;

	for (i = 0; i < PINSHM_MAX_ATTACH; i++)
		if (m->attach[i].tgid == (uint32_t)pid &&
		    m->attach[i].state == state)
			return (int)i;
	return -1;
}

static unsigned int count_state(const struct pinshm_meta *m, int state)
{
	unsigned int i, n = 0;

	for (i = 0; i < PINSHM_MAX_ATTACH; i++)
		n += m->attach[i].state == state;
	return n;
}

static void assert_seq_even(struct pinshm_region *r, const char *when)
{
	uint32_t seq = pinshm_load_acquire(&pinshm_region_meta_page(r)->seq);

	cr_assert_eq(seq & 1, 0, "seq %u is odd %s", seq, when);
}

Test(meta, records_the_header_fields_at_create)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	const char *name;
	uint64_t before, after;

	before = t_now_ns(CLOCK_REALTIME);
	r = t_create("hdr", 12288, &name);
	after = t_now_ns(CLOCK_REALTIME);
	m = meta_of(r);
	cr_assert_eq(m.magic, PINSHM_META_MAGIC);
	cr_assert_eq(m.abi_version, PINSHM_ABI_VERSION);
	cr_assert_eq(m.hdr_size, PINSHM_META_HDR_SIZE);
	cr_assert_eq(m.seq & 1, 0);
	cr_assert_eq(m.features, PINSHM_FEAT_RW_SLOTS | PINSHM_FEAT_DEATH_LOG);
	cr_assert_eq(m.rw_slots, PINSHM_RW_SLOTS);
	cr_assert_eq(m.nr_untracked, 0);
	cr_assert_eq(m.untracked_total, 0);
	cr_assert_eq(m.death_off, offsetof(struct pinshm_meta, deaths));
	cr_assert_eq(m.death_size, sizeof(struct pinshm_death));
	cr_assert_eq(m.nr_deaths, PINSHM_DEATH_LOG);
	for (unsigned int i = 0; i < PINSHM_DEATH_LOG; i++)
		cr_assert_eq(m.deaths[i].nr, 0, "death log entry %u is empty", i);
	cr_assert_eq(m.flags & (PINSHM_F_CONTIGUOUS | PINSHM_F_DESTROYED), 0,
		     "shm memory is not contiguous, not destroyed: %#x",
		     m.flags);
	cr_assert_eq(m.backend, PINSHM_BACKEND_SHM);
	cr_assert_eq(m.nr_slots, PINSHM_MAX_ATTACH);
	cr_assert_str_eq(m.name, name);
	cr_assert_eq(m.size, 12288);
	cr_assert_eq(m.data_off, 4096);
	cr_assert_geq(m.created_ns, before);
	cr_assert_leq(m.created_ns, after);
	cr_assert_eq(m.generation, 0);
	cr_assert_eq(m.crashes, 0);
	cr_assert_eq(m.node, PINSHM_NODE_ANY);
	cr_assert_eq(m.uid, geteuid());
	cr_assert_eq(m.gid, getegid());
	cr_assert_eq(m.mode, 0600);
	cr_assert_eq(m.nr_attached, 1);
	cr_assert_eq(m.slot_off, offsetof(struct pinshm_meta, attach));
	cr_assert_eq(m.slot_size, sizeof(struct pinshm_attach));
	T_OK(pinshm_region_close(r));
}

Test(meta, the_raw_page_agrees_with_the_consistent_copy)
{
	struct pinshm_region *r;
	struct pinshm_meta m;

	r = t_create("raw", 4096, NULL);
	m = meta_of(r);
	cr_assert_arr_eq(pinshm_region_meta_page(r), &m, sizeof(m));
	T_OK(pinshm_region_close(r));
}

Test(meta, the_creator_is_attached_read_write)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	uint64_t before, after;
	int s;

	before = t_now_ns(CLOCK_REALTIME);
	r = t_create("self", 4096, NULL);
	after = t_now_ns(CLOCK_REALTIME);
	m = meta_of(r);
	s = find_slot(&m, getpid(), PINSHM_ST_ATTACHED);
	cr_assert_geq(s, 0, "no ATTACHED slot for pid %d", getpid());
	cr_assert_eq(m.attach[s].access, PINSHM_ACC_RW);
	cr_assert_eq(m.attach[s].exit_code, 0);
	cr_assert_eq(m.attach[s].signal, 0);
	cr_assert_neq(m.attach[s].start_time, 0);
	cr_assert_geq(m.attach[s].attach_ns, before);
	cr_assert_leq(m.attach[s].attach_ns, after);
	cr_assert_eq(m.attach[s].detach_ns, 0);
	cr_assert_eq(count_state(&m, PINSHM_ST_ATTACHED), 1);
	cr_assert_eq(count_state(&m, PINSHM_ST_FREE), PINSHM_MAX_ATTACH - 1);
	T_OK(pinshm_region_close(r));
}

Test(meta, close_marks_the_slot_detached_with_a_detach_time)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	const char *name;
	uint64_t before, after;
	int s;

	r = t_create("close", 4096, &name);
	before = t_now_ns(CLOCK_REALTIME);
	T_OK(pinshm_region_close(r));
	after = t_now_ns(CLOCK_REALTIME);
	m = meta_from_file(name);
	cr_assert_eq(m.seq & 1, 0);
	cr_assert_eq(find_slot(&m, getpid(), PINSHM_ST_ATTACHED), -1);
	s = find_slot(&m, getpid(), PINSHM_ST_DETACHED);
	cr_assert_geq(s, 0, "no DETACHED slot for pid %d", getpid());
	cr_assert_geq(m.attach[s].detach_ns, before);
	cr_assert_leq(m.attach[s].detach_ns, after);
	cr_assert_leq(m.attach[s].attach_ns, m.attach[s].detach_ns);
	cr_assert_eq(m.nr_attached, 0);
	cr_assert_eq(m.generation, 0, "a clean detach is not a death");
	cr_assert_eq(m.crashes, 0);
}

Test(meta, a_second_open_gets_its_own_slot)
{
	struct pinshm_region *r, *o;
	struct pinshm_meta m;
	const char *name;

	r = t_create("two", 4096, &name);
	T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &o));
	m = meta_of(r);
	cr_assert_eq(m.nr_attached, 2);
	cr_assert_eq(count_state(&m, PINSHM_ST_ATTACHED), 2);
	T_OK(pinshm_region_close(o));
	m = meta_of(r);
	cr_assert_eq(m.nr_attached, 1);
	cr_assert_eq(count_state(&m, PINSHM_ST_ATTACHED), 1);
	cr_assert_eq(count_state(&m, PINSHM_ST_DETACHED), 1);
	T_OK(pinshm_region_close(r));
}

/* Tools that only look (pinshm ls/info/stat) must not fill the table. */
Test(meta, an_observer_leaves_no_slot_and_cannot_write)
{
	struct pinshm_region *r, *o;
	struct pinshm_meta m;
	const char *name;
	int i;

	r = t_create("obs", 4096, &name);
	for (i = 0; i < 3 * PINSHM_MAX_ATTACH; i++) {
		T_OK(pinshm_region_open(name, PINSHM_OBSERVE, T_BACKEND, &o));
		cr_assert_not(pinshm_region_writable(o));
		T_ERR(pinshm_spsc_create(o, "q", 4096, 0), -EACCES);
		T_OK(pinshm_region_close(o));
	}
	m = meta_of(r);
	cr_assert_eq(m.nr_attached, 1);
	cr_assert_eq(count_state(&m, PINSHM_ST_ATTACHED), 1);
	cr_assert_eq(count_state(&m, PINSHM_ST_DETACHED), 0);
	T_OK(pinshm_region_close(r));
}

Test(meta, a_read_only_open_shows_access_ro)
{
	struct pinshm_region *r, *o;
	struct pinshm_meta m;
	const char *name;
	unsigned int i, ro = 0, rw = 0;

	r = t_create("acc", 4096, &name);
	T_OK(pinshm_region_open(name, PINSHM_RDONLY, T_BACKEND, &o));
	m = meta_of(o);
	for (i = 0; i < PINSHM_MAX_ATTACH; i++) {
		if (m.attach[i].state != PINSHM_ST_ATTACHED)
			continue;
		cr_assert_eq(m.attach[i].tgid, (uint32_t)getpid());
		ro += m.attach[i].access == PINSHM_ACC_RO;
		rw += m.attach[i].access == PINSHM_ACC_RW;
	}
	cr_assert_eq(ro, 1);
	cr_assert_eq(rw, 1);
	T_OK(pinshm_region_close(o));
	T_OK(pinshm_region_close(r));
}

/* A child that opens, then waits to be killed; reports "ready" by pipe. */
static pid_t spawn_attacher(const char *name, int access, int how)
{
	int p[2];
	char c;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *r;

		t_child_init();
		close(p[0]);
		if (pinshm_region_open(name, access, T_BACKEND, &r))
			_exit(2);
		if (how == 1) {		/* close cleanly, then exit */
			pinshm_region_close(r);
			_exit(0);
		}
		if (how == 2)		/* exit without closing */
			_exit(7);
		if (write(p[1], "r", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(p[1]);
	if (how == 0)
		cr_assert_eq(read(p[0], &c, 1), 1, "child did not get ready");
	close(p[0]);
	return pid;
}

Test(meta, a_child_killed_by_SIGKILL_is_marked_died_after_recover)
{
	struct pinshm_region *r;
	struct pinshm_meta m0, m;
	const char *name;
	uint64_t before;
	pid_t pid;
	int s, st;

	r = t_create("kill", 4096, &name);
	pid = spawn_attacher(name, PINSHM_RDWR, 0);
	m0 = meta_of(r);
	s = find_slot(&m0, pid, PINSHM_ST_ATTACHED);
	cr_assert_geq(s, 0, "child %d has no ATTACHED slot", pid);
	cr_assert_eq(m0.attach[s].access, PINSHM_ACC_RW);
	cr_assert_eq(m0.nr_attached, 2);
	cr_assert_eq(pinshm_region_recover(r), 0, "the child is alive");

	before = t_now_ns(CLOCK_REALTIME);
	kill(pid, SIGKILL);
	st = t_wait(pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	cr_assert_eq(pinshm_region_recover(r), 1, "one death to find");
	assert_seq_even(r, "after recover");
	m = meta_of(r);
	cr_assert_eq(m.attach[s].tgid, (uint32_t)pid);
	cr_assert_eq(m.attach[s].state, PINSHM_ST_DIED);
	cr_assert_eq(m.attach[s].exit_code, PINSHM_EXIT_UNKNOWN);
	cr_assert_eq(m.attach[s].signal, 0,
		     "the shm backend cannot know the signal");
	cr_assert_geq(m.attach[s].detach_ns, before);
	cr_assert_eq(m.generation, m0.generation + 1);
	cr_assert_eq(m.crashes, m0.crashes + 1);
	cr_assert_eq(m.nr_attached, 1);
	s = find_slot(&m, getpid(), PINSHM_ST_ATTACHED);
	cr_assert_geq(s, 0, "the parent is still attached");

	cr_assert_eq(pinshm_region_recover(r), 0, "a death is counted once");
	m0 = m;
	m = meta_of(r);
	cr_assert_eq(m.generation, m0.generation);
	cr_assert_eq(m.crashes, m0.crashes);
	T_OK(pinshm_region_close(r));
}

Test(meta, a_child_that_exits_without_closing_is_marked_died)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	const char *name;
	pid_t pid;
	int s, st;

	r = t_create("noclose", 4096, &name);
	pid = spawn_attacher(name, PINSHM_RDONLY, 2);
	st = t_wait(pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status %#x", st);
	cr_assert_eq(pinshm_region_recover(r), 1);
	m = meta_of(r);
	s = find_slot(&m, pid, PINSHM_ST_DIED);
	cr_assert_geq(s, 0);
	cr_assert_eq(m.attach[s].access, PINSHM_ACC_RO);
	cr_assert_eq(m.attach[s].exit_code, PINSHM_EXIT_UNKNOWN);
	cr_assert_eq(m.generation, 1);
	cr_assert_eq(m.crashes, 1);
	T_OK(pinshm_region_close(r));
}

/* Until its parent reaps it, a dead process is a zombie: still dead. */
Test(meta, a_zombie_counts_as_dead)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	const char *name;
	pid_t pid;
	siginfo_t si;

	r = t_create("zombie", 4096, &name);
	pid = spawn_attacher(name, PINSHM_RDWR, 0);
	kill(pid, SIGKILL);
	/* Wait for the death but leave the zombie in place. */
	cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	cr_assert_eq(pinshm_region_recover(r), 1);
	m = meta_of(r);
	cr_assert_geq(find_slot(&m, pid, PINSHM_ST_DIED), 0);
	t_wait(pid);
	T_OK(pinshm_region_close(r));
}

Test(meta, a_child_that_closes_cleanly_is_detached_and_the_generation_stays)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	const char *name;
	pid_t pid;
	int s;

	r = t_create("clean", 4096, &name);
	pid = spawn_attacher(name, PINSHM_RDWR, 1);
	T_CHILD_OK(pid);
	cr_assert_eq(pinshm_region_recover(r), 0);
	m = meta_of(r);
	s = find_slot(&m, pid, PINSHM_ST_DETACHED);
	cr_assert_geq(s, 0, "child %d has no DETACHED slot", pid);
	cr_assert_neq(m.attach[s].detach_ns, 0);
	cr_assert_eq(m.attach[s].exit_code, 0);
	cr_assert_eq(m.generation, 0);
	cr_assert_eq(m.crashes, 0);
	cr_assert_eq(m.nr_attached, 1);
	T_OK(pinshm_region_close(r));
}

Test(meta, several_deaths_bump_the_generation_once_each)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	const char *name;
	pid_t pids[5];
	unsigned int i;

	r = t_create("many", 4096, &name);
	for (i = 0; i < 5; i++)
		pids[i] = spawn_attacher(name, i & 1 ? PINSHM_RDONLY :
					 PINSHM_RDWR, 0);
	for (i = 0; i < 5; i++) {
		kill(pids[i], SIGKILL);
		t_wait(pids[i]);
	}
	cr_assert_eq(pinshm_region_recover(r), 5);
	m = meta_of(r);
	cr_assert_eq(m.generation, 5);
	cr_assert_eq(m.crashes, 5);
	cr_assert_eq(count_state(&m, PINSHM_ST_DIED), 5);
	cr_assert_eq(m.nr_attached, 1);
	T_OK(pinshm_region_close(r));
}

/*
 * The next open also notices the dead (it looks before it takes a slot),
 * so a region with no supervisor still learns of deaths.
 */
Test(meta, an_open_after_a_death_sees_it_recorded)
{
	struct pinshm_region *r, *o;
	struct pinshm_meta m;
	const char *name;
	pid_t pid;

	r = t_create("openrec", 4096, &name);
	pid = spawn_attacher(name, PINSHM_RDWR, 0);
	kill(pid, SIGKILL);
	t_wait(pid);
	T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &o));
	m = meta_of(o);
	cr_assert_geq(find_slot(&m, pid, PINSHM_ST_DIED), 0);
	cr_assert_eq(m.generation, 1);
	cr_assert_eq(pinshm_region_recover(r), 0);
	T_OK(pinshm_region_close(o));
	T_OK(pinshm_region_close(r));
}

/*
 * pid plus start time: a slot whose pid is alive but belongs to another
 * process (pid reuse) is a death. We forge one: our own pid with a start
 * time that is not ours.
 */
Test(meta, an_attacher_whose_pid_was_reused_is_marked_died)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	struct pinshm_attach fake;
	const char *name;
	int fd, s, fs;

	r = t_create("reuse", 4096, &name);
	m = meta_of(r);
	s = find_slot(&m, getpid(), PINSHM_ST_ATTACHED);
	cr_assert_geq(s, 0);
	fs = s + 1;
	cr_assert_eq(m.attach[fs].state, PINSHM_ST_FREE);
	fake = m.attach[s];
	fake.start_time += 1000000000ull;	/* one second off */
	fd = open(t_shm_path(name), O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, &fake, sizeof(fake),
			    offsetof(struct pinshm_meta, attach[fs])),
		     (ssize_t)sizeof(fake));
	m.nr_attached++;
	cr_assert_eq(pwrite(fd, &m.nr_attached, sizeof(m.nr_attached),
			    offsetof(struct pinshm_meta, nr_attached)),
		     (ssize_t)sizeof(m.nr_attached));
	close(fd);

	cr_assert_eq(pinshm_region_recover(r), 1);
	m = meta_of(r);
	cr_assert_eq(m.attach[fs].state, PINSHM_ST_DIED);
	cr_assert_eq(m.attach[s].state, PINSHM_ST_ATTACHED, "we are alive");
	cr_assert_eq(m.generation, 1);
	T_OK(pinshm_region_close(r));
}

Test(meta, seq_is_even_after_every_operation)
{
	struct pinshm_region *r, *o, *ro;
	const char *name;
	uint32_t s0, s1;
	pid_t pid;

	r = t_create("seq", 4096, &name);
	assert_seq_even(r, "after create");
	s0 = pinshm_region_meta_page(r)->seq;
	T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &o));
	assert_seq_even(r, "after open");
	s1 = pinshm_region_meta_page(r)->seq;
	cr_assert_gt(s1, s0, "an open writes the page: seq must move");
	T_OK(pinshm_region_open(name, PINSHM_RDONLY, T_BACKEND, &ro));
	assert_seq_even(r, "after a read-only open");
	T_OK(pinshm_region_close(o));
	assert_seq_even(r, "after close");
	cr_assert_gt(pinshm_region_meta_page(r)->seq, s1);
	pid = spawn_attacher(name, PINSHM_RDWR, 0);
	assert_seq_even(r, "after a child's open");
	kill(pid, SIGKILL);
	t_wait(pid);
	cr_assert_eq(pinshm_region_recover(r), 1);
	assert_seq_even(r, "after recover");
	cr_assert_eq(pinshm_region_recover(r), 0);
	assert_seq_even(r, "after an empty recover");
	pid = spawn_attacher(name, PINSHM_RDWR, 1);
	T_CHILD_OK(pid);
	assert_seq_even(r, "after a child's clean close");
	T_OK(pinshm_region_close(ro));
	assert_seq_even(r, "after the last close but one");
	T_OK(pinshm_region_close(r));
	cr_assert_eq(meta_from_file(name).seq & 1, 0);
}

/*
 * Readers racing a writer never get a torn copy: a child opens and closes
 * in a loop while we take copies and check they are self-consistent.
 */
Test(meta, copies_taken_during_writes_are_consistent)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	const char *name;
	unsigned int i, j, att;
	pid_t pid;

	r = t_create("race", 4096, &name);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pinshm_region *c;

		t_child_init();
		for (i = 0; i < 2000; i++) {
			if (pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &c))
				_exit(2);
			pinshm_region_close(c);
		}
		_exit(0);
	}
	for (i = 0; i < 20000; i++) {
		T_OK(pinshm_region_meta(r, &m));
		cr_assert_eq(m.seq & 1, 0);
		for (j = 0, att = 0; j < PINSHM_MAX_ATTACH; j++)
			att += m.attach[j].state == PINSHM_ST_ATTACHED;
		cr_assert_eq(att, m.nr_attached,
			     "copy %u: %u ATTACHED slots, nr_attached %u", i,
			     att, m.nr_attached);
	}
	T_CHILD_OK(pid);
	T_OK(pinshm_region_close(r));
}

Test(meta, a_full_attach_table_gives_ENOSPC)
{
	struct pinshm_region *r, *h[PINSHM_MAX_ATTACH];
	struct pinshm_meta m;
	const char *name;
	unsigned int i;

	r = t_create("full", 4096, &name);
	for (i = 0; i < PINSHM_MAX_ATTACH - 1; i++)
		T_OK(pinshm_region_open(name, i & 1, T_BACKEND, &h[i]));
	m = meta_of(r);
	cr_assert_eq(m.nr_attached, PINSHM_MAX_ATTACH);
	T_ERR(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &h[i]), -ENOSPC);
	/* A detached slot is reused. */
	T_OK(pinshm_region_close(h[0]));
	T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &h[0]));
	m = meta_of(r);
	cr_assert_eq(m.nr_attached, PINSHM_MAX_ATTACH);
	cr_assert_eq(m.seq & 1, 0);
	for (i = 0; i < PINSHM_MAX_ATTACH - 1; i++)
		T_OK(pinshm_region_close(h[i]));
	T_OK(pinshm_region_close(r));
}

Test(meta, destroy_does_not_disturb_the_attachers_page)
{
	struct pinshm_region *r;
	struct pinshm_meta m;
	const char *name;

	r = t_create("destroy", 4096, &name);
	T_OK(pinshm_region_destroy(name, T_BACKEND));
	m = meta_of(r);
	cr_assert_str_eq(m.name, name);
	cr_assert_eq(m.nr_attached, 1);
	cr_assert_eq(pinshm_region_recover(r), 0);
	T_OK(pinshm_region_close(r));
}

/*
 * Read access is enough to open a region read-only: readers past the
 * table's read-only slots are counted, never refused, and never take the
 * writers' slots. A broadcast writer arriving after them still writes to
 * every one of them.
 */
#define MANY_READERS	120

Test(meta, more_readers_than_slots_leave_the_writers_room)
{
	struct pinshm_region *r, *rd[MANY_READERS], *w[PINSHM_RW_SLOTS + 1];
	struct pinshm_bcast brd[2], bw;
	struct pinshm_bcast_msg bm;
	struct pinshm_meta m;
	const char *name;
	unsigned int i, in_rw = 0, ro = 0;
	char buf[16];

	r = t_create_mode("many", 65536, 0644, &name);
	T_OK(pinshm_bcast_create(r, "b", 16, 8));
	T_OK(pinshm_region_close(r));
	for (i = 0; i < MANY_READERS; i++)
		T_OK(pinshm_region_open(name, PINSHM_RDONLY, T_BACKEND, &rd[i]));
	T_OK(pinshm_bcast_attach(rd[0], "b", PINSHM_READER, &brd[0]));
	T_OK(pinshm_bcast_attach(rd[MANY_READERS - 1], "b", PINSHM_READER, &brd[1]));
	m = meta_of(rd[0]);
	for (i = 0; i < PINSHM_MAX_ATTACH; i++) {
		if (m.attach[i].state != PINSHM_ST_ATTACHED)
			continue;
		ro++;
		in_rw += i < PINSHM_RW_SLOTS;
	}
	cr_assert_eq(in_rw, 0, "%u readers in the writers' slots", in_rw);
	cr_assert_eq(ro, PINSHM_MAX_ATTACH - PINSHM_RW_SLOTS);
	cr_assert_eq(m.untracked_total, MANY_READERS - ro);
	cr_assert_eq(m.nr_untracked, 0, "the shm backend counts no current untracked");

	/* The writer comes last and still writes to every reader. */
	T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &w[0]));
	T_OK(pinshm_bcast_attach(w[0], "b", PINSHM_WRITER, &bw));
	T_OK(pinshm_bcast_send(&bw, "hello", 5, 1));
	for (i = 0; i < 2; i++) {
		cr_assert_eq(pinshm_bcast_recv(&brd[i], buf, sizeof(buf), &bm,
					       PINSHM_WAIT_NONE), 5);
		cr_assert_arr_eq(buf, "hello", 5);
	}
	/* Writers have PINSHM_RW_SLOTS; past them the error is the writers' own. */
	for (i = 1; i < PINSHM_RW_SLOTS; i++)
		T_OK(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &w[i]));
	T_ERR(pinshm_region_open(name, PINSHM_RDWR, T_BACKEND, &w[i]), -ENOSPC);
	T_OK(pinshm_region_open(name, PINSHM_RDONLY, T_BACKEND, &w[i]));
	T_OK(pinshm_region_close(w[i]));

	T_OK(pinshm_bcast_detach(&bw));
	for (i = 0; i < PINSHM_RW_SLOTS; i++)
		T_OK(pinshm_region_close(w[i]));
	for (i = 0; i < MANY_READERS; i++)
		T_OK(pinshm_region_close(rd[i]));
}

static const struct pinshm_death *death_nr(const struct pinshm_meta *m, uint64_t nr)
{
	const struct pinshm_death *d = &m->deaths[(nr - 1) % PINSHM_DEATH_LOG];

	return nr && d->nr == nr ? d : NULL;
}

/*
 * DIED records outlive DETACHED ones: 1000 read-only open/close cycles do
 * not evict a dead reader's record, nor a dead writer's; and the death log
 * keeps the last deaths, in order.
 */
Test(meta, a_died_record_outlives_read_only_churn_and_is_logged, .timeout = 120)
{
	struct pinshm_region *r, *o;
	struct pinshm_meta m;
	const struct pinshm_death *d;
	const char *name;
	pid_t pr, pw, pids[10];
	int sr, sw, i;

	r = t_create("churn", 4096, &name);
	pr = spawn_attacher(name, PINSHM_RDONLY, 0);
	pw = spawn_attacher(name, PINSHM_RDWR, 0);
	kill(pr, SIGKILL);
	t_wait(pr);
	kill(pw, SIGKILL);
	t_wait(pw);
	cr_assert_eq(pinshm_region_recover(r), 2);
	m = meta_of(r);
	sr = find_slot(&m, pr, PINSHM_ST_DIED);
	sw = find_slot(&m, pw, PINSHM_ST_DIED);
	cr_assert(sr >= PINSHM_RW_SLOTS && sw >= 0 && sw < PINSHM_RW_SLOTS,
		  "reader slot %d, writer slot %d", sr, sw);
	cr_assert_eq(m.crashes, 2);
	for (i = 0; i < 1000; i++) {
		T_OK(pinshm_region_open(name, PINSHM_RDONLY, T_BACKEND, &o));
		T_OK(pinshm_region_close(o));
	}
	m = meta_of(r);
	cr_assert_eq(find_slot(&m, pr, PINSHM_ST_DIED), sr, "the dead reader's record went");
	cr_assert_eq(find_slot(&m, pw, PINSHM_ST_DIED), sw, "the dead writer's record went");
	/* One recover found both, in slot order: the writer's first. */
	d = death_nr(&m, 1);
	cr_assert(d && d->tgid == (uint32_t)pw && d->access == PINSHM_ACC_RW && d->slot == sw);
	d = death_nr(&m, 2);
	cr_assert(d && d->tgid == (uint32_t)pr && d->access == PINSHM_ACC_RO &&
		  d->slot == sr && d->exit_code == PINSHM_EXIT_UNKNOWN && d->died_ns);

	for (i = 0; i < 10; i++) {
		pids[i] = spawn_attacher(name, PINSHM_RDWR, 0);
		kill(pids[i], SIGKILL);
		t_wait(pids[i]);
		cr_assert_eq(pinshm_region_recover(r), 1);
	}
	m = meta_of(r);
	cr_assert_eq(m.crashes, 12);
	for (i = 0; i < PINSHM_DEATH_LOG; i++) {
		d = death_nr(&m, 12 - (uint64_t)i);
		cr_assert(d && d->tgid == (uint32_t)pids[9 - i],
			  "death %d is not the %dth child's", 12 - i, 9 - i);
	}
	cr_assert_null(death_nr(&m, 4), "only the last %d deaths are kept", PINSHM_DEATH_LOG);
	T_OK(pinshm_region_close(r));
}
