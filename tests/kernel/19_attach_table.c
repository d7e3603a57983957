// SPDX-License-Identifier: GPL-2.0
/*
 * 19_attach_table - read access cannot take the attach table from writers,
 * death records outlive attach churn, fork cannot smuggle in a writer.
 *
 * The region is root's, mode 0644: uid 65534 ("nobody", no capabilities)
 * may map it read-only.
 *   - nobody maps the data 200 times (more than the table's slots): its
 *     mappings take only read-only slots, the rest are counted; root's
 *     read-write mmap and libpinshm's read-write open still work, up to
 *     PINSHM_RW_SLOTS writers, and the next writer gets -ENOSPC; a reader
 *     never fails for want of a slot. Killing nobody logs its deaths.
 *   - a writer and a reader are killed (DIED records), then nobody does
 *     1000 read-only attach/detach cycles: both records are still there.
 *   - ten writers die with exit codes 0..9: the death log keeps the last
 *     eight, in order, whatever the table's churn.
 *   - madvise(MADV_DOFORK) on a read-write data mapping, then fork(): the
 *     child's access to the copy is SIGBUS, the region is unchanged and
 *     the table shows no new attacher.
 */
#include "common.h"

#include <grp.h>
#include <sys/resource.h>

#include <pinshm.h>

#define BYTES		(64 * 1024UL)
#define NOBODY		65534
#define NR_RO_MAPS	200
#define RO_CYCLES	1000

static const char *region;
static struct pinshm_meta *meta;	/* the kernel's page, read-only */

static int snap(struct pinshm_meta *out)
{
	return meta_snapshot(meta, out);
}

static int drop_to_nobody(void)
{
	return setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	       setresuid(NOBODY, NOBODY, NOBODY) || geteuid() != NOBODY;
}

/* As nobody: map the data read-only n times, report "M", wait for death. */
static void ro_mapper(int ctl, int n, int out)
{
	int fd, i;

	if (drop_to_nobody())
		_exit(40);
	fd = pshm_open(ctl, region, 0);
	if (fd < 0)
		_exit(41);
	for (i = 0; i < n; i++)
		if (mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, fd,
			 PINSHM_META_SIZE) == MAP_FAILED)
			_exit(42);
	if (write(out, "M", 1) != 1)
		_exit(43);
	for (;;)
		pause();
}

/* As nobody: n read-only attach/detach cycles; exit 0 if all worked. */
static void ro_cycler(int ctl, int n)
{
	void *p;
	int fd, i;

	if (drop_to_nobody())
		_exit(40);
	fd = pshm_open(ctl, region, 0);
	if (fd < 0)
		_exit(41);
	for (i = 0; i < n; i++) {
		p = mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, fd,
			 PINSHM_META_SIZE);
		if (p == MAP_FAILED)
			_exit(42);
		if (i & 1)
			pshm_detach(fd);
		munmap(p, PAGE_SZ);
	}
	_exit(0);
}

/* Map the data (write or not), say "M", then die as told. */
static void mapper(int ctl, bool write_access, int code, int out)
{
	volatile unsigned char *d;
	int fd;

	fd = pshm_open(ctl, region, write_access ? PINSHM_OPEN_WRITE : 0);
	if (fd < 0)
		_exit(40);
	d = mmap(NULL, PAGE_SZ, PROT_READ | (write_access ? PROT_WRITE : 0),
		 MAP_SHARED, fd, PINSHM_META_SIZE);
	if (d == MAP_FAILED)
		_exit(41);
	(void)d[0];
	if (write(out, "M", 1) != 1)
		_exit(42);
	if (code < 0)
		for (;;)
			pause();
	_exit(code);
}

/* Fork a mapper, wait for its "M", then kill it (code < 0) or reap it. */
static pid_t run_mapper(int ctl, bool write_access, int code, int *status)
{
	int pfd[2];
	char c;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		mapper(ctl, write_access, code, pfd[1]);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		tap_diag("mapper %d did not map", (int)pid);
	close(pfd[0]);
	if (code < 0)
		kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return pid;
}

static const struct pinshm_attach *find_slot(const struct pinshm_meta *m,
					     pid_t tgid, int *idx)
{
	for (int i = 0; i < PINSHM_MAX_ATTACH; i++)
		if (m->attach[i].tgid == (uint32_t)tgid &&
		    m->attach[i].state != PINSHM_ST_FREE) {
			*idx = i;
			return &m->attach[i];
		}
	return NULL;
}

static const struct pinshm_death *log_entry(const struct pinshm_meta *m,
					    uint64_t nr)
{
	const struct pinshm_death *d;

	if (!nr)
		return NULL;
	d = &m->deaths[(nr - 1) % PINSHM_DEATH_LOG];
	return d->nr == nr ? d : NULL;
}

static void test_ro_flood(int ctl, int rfd)
{
	struct pinshm_meta m;
	struct pinshm_region *lr = NULL;
	void *rw[PINSHM_RW_SLOTS + 1], *ro;
	int pfd[2], ro_in_rw = 0, ro_attached = 0, i, ret, st, nrw = 0, rofd;
	uint64_t crashes0;
	char c;
	pid_t pid;

	snap(&m);
	crashes0 = m.crashes;
	if (pipe(pfd))
		tap_bail("pipe");
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		ro_mapper(ctl, NR_RO_MAPS, pfd[1]);
	}
	close(pfd[1]);
	ret = read(pfd[0], &c, 1);
	close(pfd[0]);
	if (!tap_ok(ret == 1, "nobody maps the data read-only %d times", NR_RO_MAPS)) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		tap_diag("mapper status %#x", st);
		return;
	}

	snap(&m);
	for (i = 0; i < PINSHM_MAX_ATTACH; i++) {
		if (m.attach[i].tgid != (uint32_t)pid ||
		    m.attach[i].state != PINSHM_ST_ATTACHED)
			continue;
		ro_attached++;
		if (i < PINSHM_RW_SLOTS)
			ro_in_rw++;
	}
	tap_ok(ro_in_rw == 0 && ro_attached == PINSHM_MAX_ATTACH - PINSHM_RW_SLOTS &&
	       m.rw_slots == PINSHM_RW_SLOTS,
	       "its mappings take only the %d read-only slots (%d listed, %d in writers' slots)",
	       PINSHM_MAX_ATTACH - PINSHM_RW_SLOTS, ro_attached, ro_in_rw);
	tap_ok(m.nr_untracked == (uint32_t)(NR_RO_MAPS - ro_attached) &&
	       m.untracked_total >= m.nr_untracked,
	       "the other %d are counted: nr_untracked %u, untracked_total %llu",
	       NR_RO_MAPS - ro_attached, m.nr_untracked,
	       (unsigned long long)m.untracked_total);

	for (i = 0; i < PINSHM_RW_SLOTS + 1; i++) {
		rw[i] = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, rfd,
			     PINSHM_META_SIZE);
		if (rw[i] == MAP_FAILED)
			break;
		nrw++;
		if (i == 0)
			*(volatile unsigned char *)rw[0] = 0x77;
	}
	tap_ok(nrw >= 1, "the owner's read-write mmap works with %d readers mapped (%s)",
	       NR_RO_MAPS, nrw ? "ok" : strerror(errno));
	tap_ok(nrw == PINSHM_RW_SLOTS && errno == ENOSPC,
	       "%d writers fit; the next read-write mmap is ENOSPC (%d mapped, %s)",
	       PINSHM_RW_SLOTS, nrw, strerror(errno));
	rofd = pshm_open(ctl, region, 0);
	ro = rofd < 0 ? MAP_FAILED :
	     mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, rofd, PINSHM_META_SIZE);
	tap_ok(ro != MAP_FAILED, "a reader still maps with every slot taken (%s)",
	       ro == MAP_FAILED ? strerror(errno) : "ok");
	if (ro != MAP_FAILED)
		munmap(ro, PAGE_SZ);
	if (rofd >= 0)
		close(rofd);
	for (i = 0; i < nrw; i++)
		munmap(rw[i], PAGE_SZ);

	ret = pinshm_region_open(region, PINSHM_RDWR, PINSHM_BACKEND_KMOD, &lr);
	tap_ok(ret == 0, "libpinshm opens it read-write too (%d)", ret);
	if (!ret)
		pinshm_region_close(lr);

	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	snap(&m);
	tap_ok(WIFSIGNALED(st) && m.nr_untracked == 0 &&
	       m.crashes == crashes0 + NR_RO_MAPS,
	       "killing nobody: all %d mappings died (crashes +%llu, untracked now %u)",
	       NR_RO_MAPS, (unsigned long long)(m.crashes - crashes0), m.nr_untracked);
	{
		int ok = 0;

		for (uint64_t nr = m.crashes; nr + PINSHM_DEATH_LOG > m.crashes && nr; nr--) {
			const struct pinshm_death *d = log_entry(&m, nr);

			ok += d && d->tgid == (uint32_t)pid && d->signal == SIGKILL &&
			      d->access == PINSHM_ACC_RO && d->died_ns;
		}
		tap_ok(ok == PINSHM_DEATH_LOG, "the death log holds its last %d deaths (%d)",
		       PINSHM_DEATH_LOG, ok);
	}
}

static void test_died_survives(int ctl)
{
	struct pinshm_meta m;
	const struct pinshm_attach *a, *b;
	int st_w, st_r, st, iw = -1, ir = -1;
	pid_t w, r, cyc;

	w = run_mapper(ctl, true, -1, &st_w);
	r = run_mapper(ctl, false, -1, &st_r);
	snap(&m);
	a = find_slot(&m, w, &iw);
	b = find_slot(&m, r, &ir);
	tap_ok(a && a->state == PINSHM_ST_DIED && a->signal == SIGKILL &&
	       b && b->state == PINSHM_ST_DIED && b->signal == SIGKILL,
	       "a killed writer (slot %d) and a killed reader (slot %d) are DIED", iw, ir);

	cyc = fork();
	if (cyc == 0)
		ro_cycler(ctl, RO_CYCLES);
	waitpid(cyc, &st, 0);
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "nobody: %d read-only attach/detach cycles (status %#x)", RO_CYCLES, st);
	snap(&m);
	a = &m.attach[iw];
	b = &m.attach[ir];
	tap_ok(iw >= 0 && a->tgid == (uint32_t)w && a->state == PINSHM_ST_DIED &&
	       a->signal == SIGKILL,
	       "the writer's DIED record survives them (slot %d: pid %u %s)", iw, a->tgid,
	       state_name(a->state));
	tap_ok(ir >= 0 && b->tgid == (uint32_t)r && b->state == PINSHM_ST_DIED &&
	       b->signal == SIGKILL,
	       "the reader's DIED record survives them too: DETACHED slots go first "
	       "(slot %d: pid %u %s)", ir, b->tgid, state_name(b->state));
}

static void test_death_log(int ctl)
{
	struct pinshm_meta m;
	pid_t pids[10];
	int i, st, ok = 0;

	for (i = 0; i < 10; i++)
		pids[i] = run_mapper(ctl, true, i, &st);
	snap(&m);
	for (i = 0; i < PINSHM_DEATH_LOG; i++) {
		/* newest first: exit code 9 has nr == crashes */
		const struct pinshm_death *d = log_entry(&m, m.crashes - (uint64_t)i);

		if (d && d->tgid == (uint32_t)pids[9 - i] && d->exit_code == 9 - i &&
		    d->signal == 0 && d->access == PINSHM_ACC_RW && d->slot < PINSHM_MAX_ATTACH)
			ok++;
		else
			tap_diag("entry nr %llu: %s", (unsigned long long)(m.crashes - i),
				 d ? "wrong" : "missing");
	}
	tap_ok(ok == PINSHM_DEATH_LOG,
	       "ten writers exit(0..9): the death log keeps the last %d, in order (%d)",
	       PINSHM_DEATH_LOG, ok);
	tap_ok(m.death_off == offsetof(struct pinshm_meta, deaths) &&
	       m.death_size == sizeof(struct pinshm_death) &&
	       m.nr_deaths == PINSHM_DEATH_LOG &&
	       (m.features & (PINSHM_FEAT_RW_SLOTS | PINSHM_FEAT_DEATH_LOG)) ==
	       (PINSHM_FEAT_RW_SLOTS | PINSHM_FEAT_DEATH_LOG) &&
	       m.abi_version == PINSHM_ABI_VERSION,
	       "the page describes its death log (abi %u, features %#x, off %u)",
	       m.abi_version, m.features, m.death_off);
}

/*
 * In a child: map read-write, MADV_DOFORK, fork; the grandchild writes.
 * Exit codes: 0 the grandchild was SIGBUS'd and nothing changed.
 */
static void test_dofork(int ctl)
{
	struct pinshm_meta before, after;
	int pfd[2], st;
	unsigned char res[4];
	pid_t pid;

	if (pipe(pfd))
		tap_bail("pipe");
	snap(&before);
	pid = fork();
	if (pid == 0) {
		volatile unsigned char *d;
		int fd, gst = 0;
		pid_t g;

		close(pfd[0]);
		memset(res, 0xff, sizeof(res));
		fd = pshm_open(ctl, region, PINSHM_OPEN_WRITE);
		d = fd < 0 ? MAP_FAILED : mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
					       MAP_SHARED, fd, PINSHM_META_SIZE);
		if (d == MAP_FAILED)
			_exit(40);
		d[8] = 0x11;
		res[0] = madvise((void *)d, PAGE_SZ, MADV_DOFORK) == 0 ? 0 : (unsigned char)errno;
		g = fork();
		if (g == 0) {
			d[8] = 0x22;	/* SIGBUS expected */
			_exit(0);
		}
		waitpid(g, &gst, 0);
		res[1] = WIFSIGNALED(gst) ? (unsigned char)WTERMSIG(gst) :
			 (unsigned char)(100 + WEXITSTATUS(gst));
		res[2] = d[8];
		d[9] = 0x33;	/* the parent's own mapping is untouched */
		res[3] = d[9];
		if (write(pfd[1], res, sizeof(res)) != sizeof(res))
			_exit(41);
		pshm_detach(fd);
		_exit(0);
	}
	close(pfd[1]);
	memset(res, 0, sizeof(res));
	if (read(pfd[0], res, sizeof(res)) != sizeof(res))
		tap_diag("no result from the DOFORK child");
	close(pfd[0]);
	waitpid(pid, &st, 0);
	snap(&after);
	tap_ok(res[0] == 0, "madvise(MADV_DOFORK) on a read-write data mapping is accepted (%d)",
	       res[0]);
	tap_ok(res[1] == SIGBUS && res[2] == 0x11,
	       "the forked child's write to the copy is SIGBUS, the data unchanged "
	       "(child %s %d, byte %#x)", res[1] >= 100 ? "exit" : "signal",
	       res[1] >= 100 ? res[1] - 100 : res[1], res[2]);
	tap_ok(res[3] == 0x33 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	       after.crashes == before.crashes,
	       "the parent's mapping still works and detaches cleanly (crashes %llu -> %llu)",
	       (unsigned long long)before.crashes, (unsigned long long)after.crashes);
}

int main(void)
{
	int ctl, rfd;

	tap_plan(18);
	test_timeout(600);
	ctl = ctl_open();
	region = tname("tbl");
	cleanup_add(region);
	rfd = pshm_create(ctl, region, BYTES, PINSHM_NODE_ANY, 0644);
	if (rfd < 0)
		tap_bail("create %s: %s", region, strerror(errno));
	meta = map_meta(rfd);
	if (meta == MAP_FAILED)
		tap_bail("map meta: %s", strerror(errno));

	test_ro_flood(ctl, rfd);
	test_died_survives(ctl);
	test_death_log(ctl);
	test_dofork(ctl);

	pshm_destroy(ctl, region);
	return tap_finish();
}
