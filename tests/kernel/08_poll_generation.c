// SPDX-License-Identifier: GPL-2.0
/*
 * 08_poll_generation - poll() on a region fd wakes on a death.
 *
 * A fresh region fd polls as not ready (poll with 0 timeout returns 0), and
 * stays so while a child attaches. A helper process kills the attached child
 * 300 ms later while the parent is blocked in poll(): poll must return with
 * POLLIN|POLLPRI, not before the kill and within 2 s of it. read() of 8 bytes
 * returns the current generation (as the metadata page and INFO say) and
 * acknowledges it: poll with 0 timeout returns 0 again. Acknowledgement is
 * per fd: a second fd still reports the death until it reads. A clean
 * DETACH+exit does not wake anyone; a second death (exit(3)) does again.
 */
#include "common.h"
#include <poll.h>

#define BYTES (64 * 1024UL)

static int poll1(int fd, int timeout_ms, short *revents)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };
	int r = poll(&p, 1, timeout_ms);

	*revents = p.revents;
	return r;
}

/* child: attach; then pause (0), DETACH+exit (1), exit(3) (2) */
static pid_t attacher(int ctl, const char *name, int mode)
{
	int pfd[2];
	char c;
	pid_t pid;

	if (pipe(pfd))
		tap_bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = pshm_open(ctl, name, PINSHM_OPEN_WRITE);
		void *d;

		close(pfd[0]);
		if (fd < 0)
			_exit(40);
		d = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 PINSHM_META_SIZE);
		if (d == MAP_FAILED)
			_exit(41);
		if (write(pfd[1], "M", 1) != 1)
			_exit(42);
		if (mode == 1) {
			pshm_detach(fd);
			_exit(0);
		}
		if (mode == 2)
			_exit(3);
		for (;;)
			pause();
	}
	close(pfd[1]);
	alarm(20);
	if (read(pfd[0], &c, 1) != 1 || c != 'M') {
		int st = wait_child(pid, 1000);

		tap_bail("attacher did not attach (status 0x%x)", st);
	}
	alarm(0);
	close(pfd[0]);
	return pid;
}

int main(void)
{
	const char *name = tname("poll");
	struct pinshm_meta snap;
	struct pinshm_info inf;
	const struct pinshm_meta *meta;
	uint64_t *kill_us, t_wake, gen = 0, gen2 = 0, gen3 = 0;
	int ctl, fd, fd2, r, r2, st;
	pid_t a, k, b;
	short ev, ev2;
	ssize_t n;

	test_timeout(120);
	tap_plan(16);
	ctl = ctl_open();
	cleanup_add(name);
	kill_us = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	fd = pshm_create(ctl, name, BYTES, PINSHM_NODE_ANY, 0600);
	if (!tap_success(fd, "CREATE %s", name))
		tap_bail("no region");
	fd2 = pshm_open(ctl, name, 0);
	meta = map_meta(fd);
	if (fd2 < 0 || meta == MAP_FAILED)
		tap_bail("OPEN/mmap: %s", strerror(errno));

	r = poll1(fd, 0, &ev);
	r2 = poll1(fd2, 0, &ev2);
	tap_ok(r == 0 && r2 == 0, "fresh fds poll as not ready (%d 0x%x, %d 0x%x)",
	       r, ev, r2, ev2);

	a = attacher(ctl, name, 0);
	r = poll1(fd, 0, &ev);
	tap_ok(r == 0, "an attach does not make the fd ready (%d 0x%x)", r, ev);

	/* kill the attacher 300 ms from now, from another process */
	k = fork();
	if (k == 0) {
		usleep(300000);
		kill_us[0] = mono_us();
		kill(a, SIGKILL);
		_exit(0);
	}
	r = poll1(fd, 5000, &ev);
	t_wake = mono_us();
	tap_ok(r == 1 && (ev & POLLIN) && (ev & POLLPRI),
	       "poll wakes with POLLIN|POLLPRI on the death (r=%d revents 0x%x)",
	       r, ev);
	wait_child(k, 5000);
	st = wait_child(a, 5000);
	tap_ok(kill_us[0] != 0 && t_wake >= kill_us[0],
	       "poll did not return before the kill");
	tap_ok(kill_us[0] != 0 && t_wake - kill_us[0] < 2000000,
	       "poll returned within 2 s of the kill (%lld us, child status 0x%x)",
	       (long long)(t_wake - kill_us[0]), st);

	n = read(fd, &gen, sizeof(gen));
	meta_snapshot(meta, &snap);
	r = pshm_info(fd, NULL, &inf);
	tap_ok(n == 8 && r == 0 && gen == snap.generation &&
	       gen == inf.generation,
	       "read() of 8 bytes returns the generation (n=%zd gen %llu, "
	       "meta %llu, INFO %llu)", n, (unsigned long long)gen,
	       (unsigned long long)snap.generation,
	       (unsigned long long)inf.generation);
	if (n < 0)
		tap_diag("  read: %s", strerror(errno));
	r = poll1(fd, 0, &ev);
	tap_ok(r == 0, "after read() the fd polls as not ready (%d 0x%x)", r, ev);

	r = poll1(fd2, 0, &ev);
	tap_ok(r == 1 && (ev & POLLIN) && (ev & POLLPRI),
	       "a second fd still reports the death (%d 0x%x)", r, ev);
	n = read(fd2, &gen2, sizeof(gen2));
	r = poll1(fd2, 0, &ev);
	tap_ok(n == 8 && gen2 == gen && r == 0,
	       "the second fd acknowledges with its own read()");

	n = read(fd, &gen2, sizeof(gen2));
	tap_ok(n == 8 && gen2 == gen,
	       "a second read() returns the same generation");

	b = attacher(ctl, name, 1);
	st = wait_child(b, 5000);
	r = poll1(fd, 100, &ev);
	tap_ok(r == 0, "a clean DETACH+exit does not wake poll (%d 0x%x, "
	       "status 0x%x)", r, ev, st);

	b = attacher(ctl, name, 2);
	r = poll1(fd, 2000, &ev);
	st = wait_child(b, 5000);
	tap_ok(r == 1 && (ev & (POLLIN | POLLPRI)) == (POLLIN | POLLPRI),
	       "a second death (exit 3) wakes poll again (%d 0x%x, status 0x%x)",
	       r, ev, st);
	n = read(fd, &gen3, sizeof(gen3));
	tap_ok(n == 8 && gen3 > gen, "generation grew: %llu -> %llu",
	       (unsigned long long)gen, (unsigned long long)gen3);
	r = poll1(fd, 0, &ev);
	tap_ok(r == 0, "acknowledged again (%d 0x%x)", r, ev);

	munmap((void *)meta, PINSHM_META_SIZE);
	close(fd2);
	close(fd);
	tap_success(pshm_destroy(ctl, name), "DESTROY");
	close(ctl);
	return tap_finish();
}
