// SPDX-License-Identifier: GPL-2.0
/*
 * 07_attacher_states - how the metadata page records each way of leaving.
 *
 * Each scenario forks a child that OPENs the region for writing, maps the
 * data (one attach) and then leaves:
 *   kill -9            -> DIED, signal 9, generation bumped, crashes + 1
 *   DETACH, exit(0)    -> DETACHED, generation and crashes unchanged
 *   execve busybox true-> EXEC, crashes unchanged
 *   exit(3), no DETACH -> DIED, exit_code 3, signal 0, generation bumped,
 *                         crashes + 1
 *   SIGSEGV            -> DIED, signal 11, crashes + 1
 * The parent only maps the metadata page (so it is never an attacher) and
 * checks the child's slot after waitpid(); INFO and sysfs must agree.
 */
#include "common.h"

#define BYTES (64 * 1024UL)

enum how { KILL9, DETACH_EXIT, EXEC, EXIT3, SEGV };
static const char *const how_name[] = {
	"kill -9", "DETACH+exit(0)", "execve", "exit(3) without DETACH", "SIGSEGV",
};

static const char *busybox(void)
{
	return access("/bin/busybox", X_OK) == 0 ? "/bin/busybox" : NULL;
}

static void child(int ctl, const char *name, enum how how, int out)
{
	volatile unsigned char *d;
	int fd;

	fd = pshm_open(ctl, name, PINSHM_OPEN_WRITE);
	if (fd < 0)
		_exit(40);
	d = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 PINSHM_META_SIZE);
	if (d == MAP_FAILED)
		_exit(41);
	d[0]++;
	if (write(out, "M", 1) != 1)
		_exit(42);
	switch (how) {
	case KILL9:
		for (;;)
			pause();
	case DETACH_EXIT:
		if (pshm_detach(fd))
			_exit(43);
		_exit(0);
	case EXEC:
		if (busybox())
			execl("/bin/busybox", "true", (char *)NULL);
		else
			execl("/bin/true", "true", (char *)NULL);
		_exit(44);
	case EXIT3:
		_exit(3);
	case SEGV:
	{
		/* a real fault: write to a PROT_NONE page */
		volatile int *bad = mmap(NULL, PAGE_SZ, PROT_NONE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		signal(SIGSEGV, SIG_DFL);
		*bad = 1;
		_exit(45);
	}
	}
	_exit(46);
}

/* Run one scenario; fill *slot with the child's final slot. */
static int scenario(int ctl, const char *name, const struct pinshm_meta *meta,
		    enum how how, struct pinshm_meta *before,
		    struct pinshm_meta *after, struct pinshm_attach *slot,
		    int *status)
{
	const struct pinshm_attach *a;
	int pfd[2], ok_attach;
	char c = 0;
	pid_t pid;

	memset(slot, 0, sizeof(*slot));
	if (pipe(pfd))
		tap_bail("pipe: %s", strerror(errno));
	meta_snapshot(meta, before);
	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		child(ctl, name, how, pfd[1]);
	}
	close(pfd[1]);
	alarm(20);
	ok_attach = read(pfd[0], &c, 1) == 1 && c == 'M';
	alarm(0);
	close(pfd[0]);
	if (ok_attach) {
		struct pinshm_meta mid;

		meta_snapshot(meta, &mid);
		a = meta_slot(&mid, pid);
		ok_attach = a && a->state == PINSHM_ST_ATTACHED &&
			    a->access == PINSHM_ACC_RW;
		/* EXEC/exit children may already be gone: accept their end */
		if (how != KILL9 && a && a->state != PINSHM_ST_FREE)
			ok_attach = 1;
		if (!ok_attach)
			meta_dump_slots(&mid);
	}
	tap_ok(ok_attach, "%s: child attached (slot ATTACHED rw)",
	       how_name[how]);
	if (how == KILL9)
		kill(pid, SIGKILL);
	*status = wait_child(pid, 20000);
	/* the slot is final once the child is reaped; allow 1 s for safety */
	for (int i = 0; i < 200; i++) {
		meta_snapshot(meta, after);
		a = meta_slot(after, pid);
		if (a && a->state != PINSHM_ST_ATTACHED)
			break;
		if (i == 1)
			tap_diag("  slot still ATTACHED after waitpid(); waiting");
		usleep(5000);
	}
	if (a)
		*slot = *a;
	if (!a || a->state == PINSHM_ST_ATTACHED)
		meta_dump_slots(after);
	return pid;
}

int main(void)
{
	const char *name = tname("st");
	struct pinshm_meta before, after;
	struct pinshm_attach s;
	struct pinshm_info inf;
	const struct pinshm_meta *meta;
	char path[256], buf[64];
	int ctl, fd, st, r;

	test_timeout(180);
	tap_plan(27);
	ctl = ctl_open();
	cleanup_add(name);
	fd = pshm_create(ctl, name, BYTES, PINSHM_NODE_ANY, 0600);
	if (!tap_success(fd, "CREATE %s", name))
		tap_bail("no region");
	meta = map_meta(fd);
	if (meta == MAP_FAILED)
		tap_bail("metadata mmap: %s", strerror(errno));

	/* kill -9 */
	scenario(ctl, name, meta, KILL9, &before, &after, &s, &st);
	tap_ok(s.state == PINSHM_ST_DIED, "kill -9: state DIED (got %s)",
	       state_name(s.state));
	tap_ok(s.signal == SIGKILL, "kill -9: signal 9 (got %u, exit_code %d)",
	       s.signal, s.exit_code);
	tap_ok(after.generation > before.generation,
	       "kill -9: generation bumped (%llu -> %llu)",
	       (unsigned long long)before.generation,
	       (unsigned long long)after.generation);
	tap_eq_u64(after.crashes, before.crashes + 1, "kill -9: crashes + 1");
	tap_ok(s.detach_ns >= s.attach_ns && s.detach_ns != 0,
	       "kill -9: detach_ns set");
	r = pshm_info(fd, NULL, &inf);
	tap_ok(r == 0 && inf.generation == after.generation &&
	       inf.crashes == after.crashes,
	       "kill -9: INFO generation/crashes agree with the metadata page");

	/* DETACH then exit */
	scenario(ctl, name, meta, DETACH_EXIT, &before, &after, &s, &st);
	tap_ok(s.state == PINSHM_ST_DETACHED && st >= 0 && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0, "DETACH+exit: state DETACHED (got %s, "
	       "status 0x%x)", state_name(s.state), st);
	tap_ok(after.generation == before.generation &&
	       after.crashes == before.crashes,
	       "DETACH+exit: generation and crashes unchanged");

	/* exec */
	scenario(ctl, name, meta, EXEC, &before, &after, &s, &st);
	tap_ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "execve: the new image ran and exited 0 (status 0x%x)", st);
	tap_ok(s.state == PINSHM_ST_EXEC, "execve: state EXEC (got %s)",
	       state_name(s.state));
	tap_eq_u64(after.crashes, before.crashes, "execve: not counted as a crash");
	tap_diag("execve: generation %llu -> %llu (not asserted)",
		 (unsigned long long)before.generation,
		 (unsigned long long)after.generation);

	/* exit(3) */
	scenario(ctl, name, meta, EXIT3, &before, &after, &s, &st);
	tap_ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 3,
	       "exit(3): child exited 3 (status 0x%x)", st);
	tap_ok(s.state == PINSHM_ST_DIED && s.exit_code == 3 && s.signal == 0,
	       "exit(3): DIED with exit_code 3, signal 0 (got %s, %d, %u)",
	       state_name(s.state), s.exit_code, s.signal);
	tap_ok(after.generation > before.generation,
	       "exit(3): generation bumped (%llu -> %llu)",
	       (unsigned long long)before.generation,
	       (unsigned long long)after.generation);
	tap_eq_u64(after.crashes, before.crashes + 1, "exit(3): crashes + 1");

	/* SIGSEGV */
	scenario(ctl, name, meta, SEGV, &before, &after, &s, &st);
	tap_ok(s.state == PINSHM_ST_DIED && s.signal == SIGSEGV,
	       "SIGSEGV: DIED with signal 11 (got %s, %u, status 0x%x)",
	       state_name(s.state), s.signal, st);
	tap_eq_u64(after.crashes, before.crashes + 1, "SIGSEGV: crashes + 1");

	/* totals */
	meta_snapshot(meta, &after);
	tap_eq_u64(after.nr_attached, 0, "nobody attached at the end");
	tap_eq_u64(after.crashes, 3, "three crashes in total");
	snprintf(path, sizeof(path), SYSFS_REGIONS "/%s/crashes", name);
	r = read_file(path, buf, sizeof(buf));
	tap_ok(r == 0 && strtoull(buf, NULL, 0) == after.crashes,
	       "sysfs crashes agrees (%s)", r == 0 ? buf : strerror(errno));

	munmap((void *)meta, PINSHM_META_SIZE);
	close(fd);
	tap_success(pshm_destroy(ctl, name), "DESTROY");
	close(ctl);
	return tap_finish();
}
