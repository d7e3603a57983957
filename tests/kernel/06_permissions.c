// SPDX-License-Identifier: GPL-2.0
/*
 * 06_permissions - SysV-shm style permission checks.
 *
 * Root creates a 0600 and a 0644 region. A forked child that dropped to
 * uid/gid 65534 (setgroups(0), setresgid, setresuid: no capabilities left)
 * and uses the control fd opened while still root (so the /dev node's mode
 * is not what is tested) must get:
 *   OPEN 0600 region, read or write       -> EACCES
 *   OPEN 0644 region read-only            -> works (and maps PROT_READ)
 *   OPEN 0644 region for writing          -> EACCES
 *   DESTROY of either                     -> EPERM
 *   INFO.phys_addr                        -> 0 (root sees it non-zero)
 * Whether nobody may CREATE (and then DESTROY) its own region is policy
 * (CAP_IPC_LOCK may be required) and is only reported as a comment.
 * The child reports each result as one byte per check over a pipe; the
 * parent prints the TAP lines.
 */
#include "common.h"
#include <grp.h>

#define NOBODY 65534
#define BYTES (64 * 1024UL)

enum {
	C_DROP,		/* privileges dropped */
	C_OPEN600_RO,
	C_OPEN600_RW,
	C_OPEN644_RO,
	C_MAP644_RO,
	C_MAP644_W,
	C_OPEN644_RW,
	C_DESTROY600,
	C_DESTROY644,
	C_INFO_NAME,
	C_INFO_FD,
	C_CREATE_OWN,
	C_DESTROY_OWN,
	C_NR
};

static const char *const what[C_NR] = {
	[C_DROP] = "child drops to uid/gid 65534 with no capabilities",
	[C_OPEN600_RO] = "nobody: OPEN read-only of a 0600 root region -> EACCES",
	[C_OPEN600_RW] = "nobody: OPEN for writing of a 0600 root region -> EACCES",
	[C_OPEN644_RO] = "nobody: OPEN read-only of a 0644 root region works",
	[C_MAP644_RO] = "nobody: PROT_READ mmap of the 0644 region sees root's data",
	[C_MAP644_W] = "nobody: PROT_WRITE mmap of the 0644 region -> EACCES",
	[C_OPEN644_RW] = "nobody: OPEN for writing of a 0644 root region -> EACCES",
	[C_DESTROY600] = "nobody: DESTROY of the 0600 root region -> EPERM",
	[C_DESTROY644] = "nobody: DESTROY of the 0644 root region -> EPERM",
	[C_INFO_NAME] = "nobody: INFO by name of the 0644 region has phys_addr 0",
	[C_INFO_FD] = "nobody: INFO on its region fd has phys_addr 0",
	[C_CREATE_OWN] = "nobody: CREATE of its own region works, owned by 65534",
	[C_DESTROY_OWN] = "nobody: DESTROY of its own region works",
};

/* result byte: 0 = as expected, otherwise errno (or 255) seen */
static unsigned char res[C_NR];

static unsigned char expect_err(int r, int want)
{
	if (r == -1 && errno == want)
		return 0;
	if (r >= 0)
		return 255;
	return errno ? (unsigned char)errno : 254;
}

static void child(int ctl, const char *n600, const char *n644,
		  const char *nown, int out)
{
	struct pinshm_info inf;
	unsigned char *p;
	void *m;
	int fd, r;

	memset(res, 253, sizeof(res));	/* 253: not reached */
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY) || geteuid() != NOBODY) {
		res[C_DROP] = errno ? errno : 255;
		goto out;
	}
	res[C_DROP] = 0;

	r = pshm_open(ctl, n600, 0);
	res[C_OPEN600_RO] = expect_err(r, EACCES);
	r = pshm_open(ctl, n600, PINSHM_OPEN_WRITE);
	res[C_OPEN600_RW] = expect_err(r, EACCES);

	fd = pshm_open(ctl, n644, 0);
	res[C_OPEN644_RO] = fd >= 0 ? 0 : (unsigned char)errno;
	if (fd >= 0) {
		p = mmap(NULL, BYTES, PROT_READ, MAP_SHARED, fd,
			 PINSHM_META_SIZE);
		res[C_MAP644_RO] = p == MAP_FAILED ? (unsigned char)errno :
				   (p[0] == 0x6b && p[BYTES - 1] == 0x6b ? 0 : 255);
		m = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 PINSHM_META_SIZE);
		res[C_MAP644_W] = expect_err(m == MAP_FAILED ? -1 : 0, EACCES);
		r = pshm_info(fd, NULL, &inf);
		res[C_INFO_FD] = r < 0 ? (unsigned char)errno :
				 (inf.phys_addr == 0 && inf.bytes == BYTES ? 0 : 255);
		if (p != MAP_FAILED) {
			pshm_detach(fd);
			munmap(p, BYTES);
		}
		close(fd);
	}
	r = pshm_open(ctl, n644, PINSHM_OPEN_WRITE);
	res[C_OPEN644_RW] = expect_err(r, EACCES);

	res[C_DESTROY600] = expect_err(pshm_destroy(ctl, n600), EPERM);
	res[C_DESTROY644] = expect_err(pshm_destroy(ctl, n644), EPERM);

	r = pshm_info(ctl, n644, &inf);
	res[C_INFO_NAME] = r < 0 ? (unsigned char)errno :
			   (inf.phys_addr == 0 && inf.bytes == BYTES ? 0 : 255);

	fd = pshm_create(ctl, nown, 4096, PINSHM_NODE_ANY, 0600);
	if (fd < 0) {
		res[C_CREATE_OWN] = (unsigned char)errno;
	} else {
		r = pshm_info(fd, NULL, &inf);
		res[C_CREATE_OWN] = (r == 0 && inf.uid == NOBODY &&
				     inf.gid == NOBODY && inf.phys_addr == 0)
				    ? 0 : 255;
		close(fd);
	}
	res[C_DESTROY_OWN] = pshm_destroy(ctl, nown) == 0 ? 0 :
			     (unsigned char)errno;
out:
	if (write(out, res, sizeof(res)) != sizeof(res))
		_exit(2);
	_exit(0);
}

int main(void)
{
	const char *n600 = tname("p600");
	const char *n644 = tname("p644");
	const char *nown = tname("own");
	struct pinshm_info inf;
	unsigned char *d;
	char devmode[32];
	struct stat st;
	int ctl, f600, f644, pfd[2], status, r;
	ssize_t n;
	pid_t pid;

	test_timeout(120);
	tap_plan(3 + C_CREATE_OWN + 3);
	if (geteuid() != 0)
		tap_bail("must start as root");
	ctl = ctl_open();
	cleanup_add(n600);
	cleanup_add(n644);
	cleanup_add(nown);
	if (stat(PINSHM_DEV_PATH, &st) == 0)
		snprintf(devmode, sizeof(devmode), "0%o", st.st_mode & 07777);
	else
		snprintf(devmode, sizeof(devmode), "?");
	tap_diag("%s mode %s", PINSHM_DEV_PATH, devmode);

	f600 = pshm_create(ctl, n600, BYTES, PINSHM_NODE_ANY, 0600);
	f644 = pshm_create(ctl, n644, BYTES, PINSHM_NODE_ANY, 0644);
	if (!tap_ok(f600 >= 0 && f644 >= 0, "root creates a 0600 and a 0644 region"))
		tap_bail("CREATE: %s", strerror(errno));
	d = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, f644,
		 PINSHM_META_SIZE);
	if (d == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	memset(d, 0x6b, BYTES);
	pshm_detach(f644);
	munmap(d, BYTES);

	r = pshm_info(ctl, n644, &inf);
	tap_ok(r == 0 && inf.phys_addr != 0,
	       "root: INFO.phys_addr is non-zero (0x%llx)",
	       (unsigned long long)inf.phys_addr);
	r = pshm_info(ctl, n600, &inf);
	tap_ok(r == 0 && inf.mode == 0600 && inf.uid == 0,
	       "root: the 0600 region is owned by root with mode 0600");

	if (pipe(pfd))
		tap_bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		child(ctl, n600, n644, nown, pfd[1]);
	}
	close(pfd[1]);
	n = read(pfd[0], res, sizeof(res));
	status = wait_child(pid, 30000);
	if (n != (ssize_t)sizeof(res)) {
		tap_diag("child sent %zd bytes, status 0x%x", n, status);
		memset(res, 253, sizeof(res));
	}
	for (int i = 0; i < C_NR; i++) {
		if (i >= C_CREATE_OWN) {
			/* unprivileged CREATE is a policy choice: report only */
			tap_diag("%s: %s (informational)", what[i],
				 res[i] == 0 ? "yes" : res[i] < 250 ?
				 strerror(res[i]) : "no");
			continue;
		}
		tap_ok(res[i] == 0, "%s", what[i]);
		if (res[i] == 253)
			tap_diag("  not reached");
		else if (res[i] == 255)
			tap_diag("  succeeded or returned wrong data/ids");
		else if (res[i])
			tap_diag("  got errno %d (%s)", res[i], strerror(res[i]));
	}

	/* root still has both, untouched */
	tap_ok(pshm_listed(ctl, n600) == 1 && pshm_listed(ctl, n644) == 1,
	       "both root regions survive the refused DESTROYs");
	close(f600);
	close(f644);
	tap_success(pshm_destroy(ctl, n600), "root: DESTROY 0600 region");
	tap_success(pshm_destroy(ctl, n644), "root: DESTROY 0644 region");
	close(ctl);
	return tap_finish();
}
