// SPDX-License-Identifier: GPL-2.0
/*
 * 13_stress_race - concurrent CREATE/OPEN/mmap/DETACH/DESTROY/INFO/LIST/
 * poll on a few shared names from several processes, while the parent
 * SIGKILLs random workers (some in the middle of a mapping or an ioctl)
 * and starts new ones.
 *
 * Asserts: every call either works or fails with the errno the race
 * explains (EEXIST for CREATE of a taken name, ENOENT for a name just
 * destroyed, ENOMEM for an 8 MiB CREATE: the contiguous-range allocator
 * may find no 8 MiB free while other regions' pages are still being
 * freed or pinned, and says "no contiguous memory now"; but some of those
 * must succeed); data written through a mapping reads back; no worker dies
 * of anything but our SIGKILL; thousands of operations ran; afterwards the
 * regions can all be destroyed and none is left. The kernel log is checked
 * by run.sh (slub_debug poison/redzones catch use-after-free in the
 * teardown paths).
 */
#include "common.h"
#include <poll.h>

#define NWORK 4
#define NNAMES 4
#define SECONDS 8

/*
 * The workers' counts, in a shared mapping: relaxed adds, as nothing is
 * ordered by them; the parent reads them only after it has reaped every
 * worker, and waitpid() orders a child's writes before its return.
 */
struct shared {
	unsigned long ops;
	unsigned long bad;
	unsigned long big_ok, big_enomem;	/* 8 MiB CREATEs */
	char first_bad[160];
};

static struct shared *sh;
static char names[NNAMES][PINSHM_NAME_MAX];
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void bad(const char *what, int e)
{
	if (__atomic_fetch_add(&sh->bad, 1, __ATOMIC_RELAXED) == 0)
		snprintf(sh->first_bad, sizeof(sh->first_bad),
			 "pid %d: %s: %s", (int)getpid(), what, strerror(e));
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void worker(int ctl)
{
	uint64_t seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL + 1;
	static const uint64_t sizes[] = { 4096, 65536, 1UL << 20, 8UL << 20 };

	signal(SIGTERM, on_term);
	while (!stop) {
		const char *n = names[rnd(&seed) % NNAMES];
		unsigned int op = rnd(&seed) % 8;
		struct pinshm_info inf;
		int fd;

		switch (op) {
		case 0: {
			unsigned int si = rnd(&seed) % 20 == 0 ? 3 : rnd(&seed) % 3;

			fd = pshm_create(ctl, n, sizes[si], PINSHM_NODE_ANY, 0600);
			if (fd >= 0) {
				close(fd);
				if (si == 3)
					__atomic_fetch_add(&sh->big_ok, 1,
							   __ATOMIC_RELAXED);
			} else if (si == 3 && errno == ENOMEM) {
				__atomic_fetch_add(&sh->big_enomem, 1,
						   __ATOMIC_RELAXED);
			} else if (errno != EEXIST) {
				bad("CREATE", errno);
			}
			break;
		}
		case 1:
			if (pshm_destroy(ctl, n) && errno != ENOENT)
				bad("DESTROY", errno);
			break;
		case 2:
		case 3: {
			volatile uint32_t *d;

			fd = pshm_open(ctl, n, PINSHM_OPEN_WRITE);
			if (fd < 0) {
				if (errno != ENOENT)
					bad("OPEN", errno);
				break;
			}
			d = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, PINSHM_META_SIZE);
			if (d == MAP_FAILED) {
				bad("mmap", errno);
			} else {
				uint32_t v = (uint32_t)rnd(&seed);

				d[64 + (getpid() % 64)] = v;
				if (d[64 + (getpid() % 64)] != v)
					bad("readback", EIO);
				if (op == 2 && pshm_detach(fd))
					bad("DETACH", errno);
				munmap((void *)d, PAGE_SZ);
			}
			close(fd);
			break;
		}
		case 4:
			if (pshm_info(ctl, n, &inf) && errno != ENOENT)
				bad("INFO", errno);
			break;
		case 5: {
			unsigned int total;

			if (pshm_list(ctl, NULL, 0, &total) < 0)
				bad("LIST", errno);
			break;
		}
		case 6: {
			struct pollfd p;
			uint64_t gen;

			fd = pshm_open(ctl, n, 0);
			if (fd < 0) {
				if (errno != ENOENT)
					bad("OPEN ro", errno);
				break;
			}
			p.fd = fd;
			p.events = POLLIN | POLLPRI;
			if (poll(&p, 1, 0) < 0)
				bad("poll", errno);
			if (read(fd, &gen, sizeof(gen)) != sizeof(gen))
				bad("read", errno);
			if (pshm_info(fd, NULL, &inf))
				bad("INFO fd", errno);
			close(fd);
			break;
		}
		case 7: {
			/* a mapping left for exit (or our SIGKILL) to tear down */
			static void *keep;

			if (keep)
				break;
			fd = pshm_open(ctl, n, PINSHM_OPEN_WRITE);
			if (fd < 0) {
				if (errno != ENOENT)
					bad("OPEN keep", errno);
				break;
			}
			keep = mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, fd,
				    PINSHM_META_SIZE);
			if (keep == MAP_FAILED) {
				bad("mmap keep", errno);
				keep = NULL;
			}
			close(fd);
			break;
		}
		}
		__atomic_fetch_add(&sh->ops, 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

static pid_t spawn(int ctl)
{
	pid_t p = fork();

	if (p == 0)
		worker(ctl);
	if (p < 0)
		tap_bail("fork: %s", strerror(errno));
	return p;
}

int main(void)
{
	pid_t w[NWORK];
	int ctl, st, killed = 0, odd = 0, left = 0, r;
	unsigned int total0 = 0, total1 = 0;
	uint64_t seed = 12345, t_end;

	test_timeout(180);
	tap_plan(6);
	ctl = ctl_open();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	for (int i = 0; i < NNAMES; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "s%d", i);
		set_name(names[i], tname(tag));
		cleanup_add(names[i]);
	}
	pshm_list(ctl, NULL, 0, &total0);
	/* workers inherit the handler: no window where SIGTERM kills them */
	signal(SIGTERM, on_term);

	for (int i = 0; i < NWORK; i++)
		w[i] = spawn(ctl);
	t_end = mono_us() + SECONDS * 1000000ULL;
	while (mono_us() < t_end) {
		int i = (int)(rnd(&seed) % NWORK);

		usleep(50000 + rnd(&seed) % 100000);
		kill(w[i], SIGKILL);
		st = wait_child(w[i], 10000);
		if (st == -1 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
			if (!(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
				odd++;
			tap_diag("worker %d ended with status 0x%x", w[i], st);
		}
		killed++;
		w[i] = spawn(ctl);
	}
	for (int i = 0; i < NWORK; i++)
		kill(w[i], SIGTERM);
	for (int i = 0; i < NWORK; i++) {
		st = wait_child(w[i], 20000);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			odd++;
			tap_diag("worker %d ended with status 0x%x", w[i], st);
		}
	}

	tap_ok(sh->bad == 0, "no call failed with an errno the race does not "
	       "explain (%lu bad%s%s)", sh->bad, sh->bad ? "; first: " : "",
	       sh->bad ? sh->first_bad : "");
	tap_ok(odd == 0, "every worker ended by our SIGKILL or cleanly "
	       "(%d SIGKILLed mid-run, %d odd)", killed, odd);
	tap_ok(sh->ops > 500, "the workers ran %lu operations", sh->ops);
	tap_ok(sh->big_ok > 0, "8 MiB regions (contiguous range) created %lu "
	       "times; %lu found no contiguous memory (ENOMEM)", sh->big_ok,
	       sh->big_enomem);

	for (int i = 0; i < NNAMES; i++) {
		r = pshm_destroy(ctl, names[i]);
		if (r && errno != ENOENT) {
			tap_diag("DESTROY %s: %s", names[i], strerror(errno));
			left++;
		}
	}
	tap_ok(left == 0, "every remaining region can be destroyed");
	pshm_list(ctl, NULL, 0, &total1);
	tap_ok(total1 == total0, "no region left (%u now, %u before)", total1,
	       total0);
	close(ctl);
	return tap_finish();
}
