/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the Criterion unit tests of libpinshm.
 *
 * Every test runs in its own process (Criterion forks one per test), so a
 * region name built from getpid() and a tag is unique per test run. Every
 * name handed out by t_name() is destroyed by t_cleanup(), which each
 * suite installs as its .fini, so /dev/shm is not littered even when an
 * assertion fails.
 *
 * The tests pass PINSHM_BACKEND_SHM explicitly: they need no module and no
 * root, and PINSHM_BACKEND=shm in the environment is then redundant.
 *
 * Child processes (fork) never use cr_assert: they report through their
 * exit status or a shared anonymous mapping, and leave with _exit() so that
 * Criterion's own atexit handlers do not run twice. They ask the kernel to
 * kill them when the test process dies (a timed-out test must not leave
 * spinning orphans behind).
 */
#ifndef PINSHM_TESTUTIL_H
#define PINSHM_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <pinshm.h>

#define T_BACKEND	PINSHM_BACKEND_SHM
#define T_MAX_NAMES	16

/* Names this test created (or may have created), destroyed at teardown. */
static __attribute__((unused)) char t_names[T_MAX_NAMES][PINSHM_NAME_MAX];
static __attribute__((unused)) unsigned int t_nr_names;

/* "t<pid>-<tag>": unique per test process; remembered for t_cleanup(). */
static inline const char *t_name(const char *tag)
{
	char *n;

	cr_assert_lt(t_nr_names, T_MAX_NAMES, "too many names in one test");
	n = t_names[t_nr_names++];
	snprintf(n, PINSHM_NAME_MAX, "t%d-%s", (int)getpid(), tag);
	return n;
}

/* A private directory for the shm backend (PINSHM_SHM_DIR), if any. */
static __attribute__((unused)) char t_dir[64];

static inline void t_cleanup(void)
{
	unsigned int i;

	for (i = 0; i < t_nr_names; i++)
		pinshm_region_destroy(t_names[i], T_BACKEND);
	t_nr_names = 0;
	if (t_dir[0]) {
		rmdir(t_dir);
		unsetenv("PINSHM_SHM_DIR");
		t_dir[0] = '\0';
	}
}

/*
 * Give this test its own tmpfs directory, so that listing sees only the
 * regions this test made (tests run in parallel).
 */
static inline void t_private_dir(void)
{
	snprintf(t_dir, sizeof(t_dir), "/dev/shm/pinshm-test.XXXXXX");
	cr_assert_not_null(mkdtemp(t_dir), "mkdtemp: %s", strerror(errno));
	setenv("PINSHM_SHM_DIR", t_dir, 1);
}

/* Path of the file behind a region of the shm backend. */
static inline const char *t_shm_path(const char *name)
{
	static char path[256 + PINSHM_NAME_MAX];
	const char *dir = getenv("PINSHM_SHM_DIR");

	snprintf(path, sizeof(path), "%s/pinshm.%s",
		 dir && *dir ? dir : "/dev/shm", name);
	return path;
}

#define T_OK(expr)							\
	do {								\
		int t_ret_ = (expr);					\
		cr_assert_eq(t_ret_, 0, "%s: %d (%s)", #expr, t_ret_,	\
			     t_ret_ < 0 ? strerror(-t_ret_) : "positive"); \
	} while (0)

#define T_ERR(expr, err)						\
	do {								\
		int t_ret_ = (expr);					\
		cr_assert_eq(t_ret_, (err), "%s: %d (%s), expected %d (%s)", \
			     #expr, t_ret_,				\
			     t_ret_ < 0 ? strerror(-t_ret_) : "not an error", \
			     (err), strerror(-(err)));			\
	} while (0)

/* Create a region of the shm backend under a fresh name; asserts. */
static inline struct pinshm_region *t_create_mode(const char *tag,
						  uint64_t size,
						  unsigned int mode,
						  const char **name_out)
{
	struct pinshm_region_opts o;
	struct pinshm_region *r = NULL;
	const char *name = t_name(tag);

	pinshm_region_opts_init(&o);
	o.size = size;
	o.mode = mode;
	o.backend = T_BACKEND;
	T_OK(pinshm_region_create(name, &o, &r));
	cr_assert_not_null(r);
	if (name_out)
		*name_out = name;
	return r;
}

static inline struct pinshm_region *t_create(const char *tag, uint64_t size,
					     const char **name_out)
{
	return t_create_mode(tag, size, 0, name_out);
}

/* Raw create for tests that expect an error; name not recorded. */
static inline int t_try_create(const char *name, uint64_t size,
			       struct pinshm_region **out)
{
	struct pinshm_region_opts o;

	pinshm_region_opts_init(&o);
	o.size = size;
	o.backend = T_BACKEND;
	return pinshm_region_create(name, &o, out);
}

/* In a forked child: die with the test process. */
static inline void t_child_init(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* Anonymous shared memory for parent/child bookkeeping. */
static inline void *t_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}

static inline uint64_t t_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* waitpid() that retries EINTR; returns the raw status. */
static inline int t_wait(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/* Assert a child exited with status 0. */
#define T_CHILD_OK(pid)							\
	do {								\
		int t_st_ = t_wait(pid);				\
		cr_assert(WIFEXITED(t_st_) && WEXITSTATUS(t_st_) == 0,	\
			  "child %d: %s %d", (int)(pid),		\
			  WIFEXITED(t_st_) ? "exit status" : "signal",	\
			  WIFEXITED(t_st_) ? WEXITSTATUS(t_st_)		\
					   : WTERMSIG(t_st_));		\
	} while (0)

/* xorshift64*: reproducible random numbers for test data. */
static inline uint64_t t_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static inline void t_fill_random(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	uint64_t s = seed | 1;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(t_rand(&s) >> 56);
}

/* Payload byte i of a record tagged with seq: cheap and seq-dependent. */
static inline uint8_t t_pat(uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 131u + i * 7u + (seq >> 8));
}

static inline void t_pat_fill(void *p, uint32_t len, uint64_t seq)
{
	uint8_t *b = p;
	uint32_t i;

	for (i = 0; i < len; i++)
		b[i] = t_pat(seq, i);
}

/* Index of the first mismatching byte, or -1. */
static inline long t_pat_check(const void *p, uint32_t len, uint64_t seq)
{
	const uint8_t *b = p;
	uint32_t i;

	for (i = 0; i < len; i++)
		if (b[i] != t_pat(seq, i))
			return (long)i;
	return -1;
}

/* The ring header of object name, through the directory. */
static inline struct pinshm_spsc_shared *t_ring_hdr(struct pinshm_region *r,
						    const char *name)
{
	struct pinshm_obj_info info;

	T_OK(pinshm_obj_find(r, name, &info));
	return (struct pinshm_spsc_shared *)((uint8_t *)pinshm_region_data(r) +
					     info.offset);
}

#endif /* PINSHM_TESTUTIL_H */
