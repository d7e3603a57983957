// SPDX-License-Identifier: GPL-2.0
/*
 * 02_two_process_share - two processes see each other's writes.
 *
 * Parent and a forked child each OPEN the region for writing and mmap the
 * data (offset PINSHM_META_SIZE, MAP_SHARED). Each writes a pattern over the
 * whole area that the other then verifies. While both are attached the
 * metadata page (offset 0) shows two ATTACHED read-write slots, one per tgid;
 * after the child says DETACH and exits, its slot is DETACHED.
 */
#include "common.h"

#define BYTES (256 * 1024UL)

static int verify(const unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7 + (i >> 12)))
			return 0;
	return 1;
}

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7 + (i >> 12));
}

/* one byte through a pipe, with a timeout; returns the byte or -1 */
static int recv_byte(int fd)
{
	char c;
	int tries;

	for (tries = 0; tries < 2000; tries++) {
		ssize_t n = read(fd, &c, 1);

		if (n == 1)
			return (unsigned char)c;
		if (n == 0)
			return -1;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		usleep(10000);
	}
	return -1;
}

static void send_byte(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(99);
}

/*
 * Child: open, map, say 'M'; wait 'P' (parent wrote), verify, write its own
 * pattern, say 'C' or 'X' on mismatch; wait 'D', DETACH, exit 0.
 */
static void child(int ctl, const char *name, int to_parent, int from_parent)
{
	unsigned char *d;
	int fd, c;

	fd = pshm_open(ctl, name, PINSHM_OPEN_WRITE);
	if (fd < 0)
		_exit(10);
	d = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 PINSHM_META_SIZE);
	if (d == MAP_FAILED)
		_exit(11);
	send_byte(to_parent, 'M');
	c = recv_byte(from_parent);
	if (c != 'P')
		_exit(12);
	if (!verify(d, BYTES, 0x31)) {
		send_byte(to_parent, 'X');
		_exit(13);
	}
	fill(d, BYTES, 0x77);
	send_byte(to_parent, 'C');
	c = recv_byte(from_parent);
	if (c != 'D')
		_exit(14);
	if (pshm_detach(fd) < 0)
		_exit(15);
	_exit(0);
}

int main(void)
{
	const char *name = tname("share");
	int ctl, fd, p2c[2], c2p[2], st, c, r;
	struct pinshm_meta snap;
	const struct pinshm_meta *meta;
	const struct pinshm_attach *ap, *ac;
	unsigned char *d;
	pid_t pid;

	test_timeout(120);
	tap_plan(17);
	ctl = ctl_open();
	cleanup_add(name);

	r = pshm_create(ctl, name, BYTES, PINSHM_NODE_ANY, 0600);
	if (!tap_success(r, "CREATE %s (%lu KiB)", name, BYTES >> 10))
		tap_bail("no region");
	close(r);

	if (pipe2(p2c, O_NONBLOCK) || pipe2(c2p, O_NONBLOCK))
		tap_bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		child(ctl, name, c2p[1], p2c[0]);
	}
	close(p2c[0]);
	close(c2p[1]);

	fd = pshm_open(ctl, name, PINSHM_OPEN_WRITE);
	tap_success(fd, "parent OPENs the region for writing");
	d = fd >= 0 ? mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			   PINSHM_META_SIZE) : MAP_FAILED;
	tap_ok(d != MAP_FAILED, "parent maps the data MAP_SHARED at offset %d",
	       PINSHM_META_SIZE);
	meta = fd >= 0 ? map_meta(fd) : MAP_FAILED;
	tap_ok(meta != MAP_FAILED, "parent maps the metadata page at offset 0");
	if (d == MAP_FAILED || meta == MAP_FAILED) {
		kill(pid, SIGKILL);
		tap_bail("cannot map: %s", strerror(errno));
	}

	c = recv_byte(c2p[0]);
	tap_ok(c == 'M', "child opened and mapped the region");
	if (c != 'M') {
		st = wait_child(pid, 2000);
		tap_diag("  child status 0x%x", st);
		tap_bail("child could not attach");
	}

	/* both attached: the metadata page shows both */
	r = meta_snapshot(meta, &snap);
	ap = r == 0 ? meta_slot(&snap, getpid()) : NULL;
	ac = r == 0 ? meta_slot(&snap, pid) : NULL;
	tap_ok(r == 0 && snap.nr_attached == 2,
	       "metadata nr_attached == 2 with both mapped (got %u)",
	       snap.nr_attached);
	tap_ok(ap && ap->state == PINSHM_ST_ATTACHED &&
	       ap->access == PINSHM_ACC_RW,
	       "metadata has an ATTACHED read-write slot for the parent");
	tap_ok(ac && ac->state == PINSHM_ST_ATTACHED &&
	       ac->access == PINSHM_ACC_RW,
	       "metadata has an ATTACHED read-write slot for the child");
	tap_ok(ap && ac && ap->attach_ns && ac->attach_ns &&
	       ap->detach_ns == 0 && ac->detach_ns == 0,
	       "attached slots have attach_ns set and detach_ns 0");
	if (!ap || !ac)
		meta_dump_slots(&snap);

	/* parent -> child */
	fill(d, BYTES, 0x31);
	send_byte(p2c[1], 'P');
	c = recv_byte(c2p[0]);
	tap_ok(c == 'C', "child sees every byte the parent wrote");
	/* child -> parent */
	tap_ok(c == 'C' && verify(d, BYTES, 0x77),
	       "parent sees every byte the child wrote");

	send_byte(p2c[1], 'D');
	st = wait_child(pid, 10000);
	tap_ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "child DETACHed and exited 0 (status 0x%x)", st);

	r = meta_snapshot(meta, &snap);
	ac = r == 0 ? meta_slot(&snap, pid) : NULL;
	tap_ok(ac && ac->state == PINSHM_ST_DETACHED && ac->detach_ns != 0,
	       "child's slot is DETACHED with detach_ns set after it left");
	tap_ok(r == 0 && snap.nr_attached == 1,
	       "nr_attached back to 1 (got %u)", snap.nr_attached);
	tap_eq_u64(snap.crashes, 0, "a clean detach is not a crash");
	if (!ac || ac->state != PINSHM_ST_DETACHED)
		meta_dump_slots(&snap);

	/* data survives the other attacher */
	tap_ok(verify(d, BYTES, 0x77), "data survives the child's exit");

	pshm_detach(fd);
	munmap(d, BYTES);
	munmap((void *)meta, PINSHM_META_SIZE);
	close(fd);
	tap_success(pshm_destroy(ctl, name), "DESTROY");
	close(ctl);
	return tap_finish();
}
