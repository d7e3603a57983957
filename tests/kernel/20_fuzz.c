// SPDX-License-Identifier: GPL-2.0
/*
 * 20_fuzz - a bounded, seeded ioctl/mmap fuzzer of /dev/pinshm and its
 * region fds, run by several processes at once, half of them as uid 65534.
 *
 * Usage: 20_fuzz [/path/to/pinshm.ko]
 * Environment:
 *   KFUZZ_SECONDS  how long to fuzz (default 60)
 *   KFUZZ_SEED     the seed (default: from the clock; printed either way)
 *   KFUZZ_PROCS    worker processes (default 6; the odd ones drop to 65534)
 *   KFUZZ_SKIP     operations to leave out, by the names the summary prints,
 *                  comma-separated (e.g. "fork,madvise"), to narrow a finding
 *
 * Each worker draws random operations from its seed (derived from the run's
 * seed, its index and how often its index was restarted): the eight ioctls
 * with valid, mutated and garbage structs (the size field, flags, names of
 * random bytes and lengths, sizes, nodes, modes, offsets, timeouts, bytes
 * after the struct), the size encoded in the command changed, unknown
 * command numbers; arguments at good, unaligned, read-only, unmapped,
 * kernel and random addresses and straddling a guard page; mmap of region
 * fds and of /dev/pinshm with random offsets, lengths, protections and flags
 * (MAP_FIXED only inside an arena of its own); munmap, mprotect, madvise and
 * mremap of whole and part mappings; reads and writes of the mappings
 * (faults caught); poll and read; close; fork of children that work a
 * little and then exit, kill themselves with SIGKILL, exec /bin/true or exec
 * this program. The parent SIGKILLs and restarts random workers all along.
 * The regions share a handful of names, so CREATE/OPEN/DESTROY/mmap race.
 *
 * For the run, the module's per-region and total caps are lowered (so that
 * random sizes stay cheap) and restored afterwards.
 *
 * Asserts: the workers ran; the documented rules held (no MAP_PRIVATE, no
 * writable metadata or read-only-fd mapping, no split or moved mapping,
 * ioctl errors only from the documented set); every worker ended by our
 * signal or cleanly, none stuck in the kernel; every region the run left can
 * be destroyed; the module unloads and loads again; MemFree came back. The
 * kernel log (WARN, BUG, Oops, slab poison) is checked by run.sh, and the
 * guest runs with panic_on_warn=1.
 *
 * To reproduce a failure, run it again with the seed it printed
 * (KFUZZ_SEED=0x... KFUZZ_SECONDS=... KFUZZ_PROCS=...): the operations each
 * process draws are the same; their interleaving is not.
 */
#include "common.h"
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>

#define NAMEPOOL	8
#define MAXFD		16
#define MAXMAP		16
#define ARENA_PAGES	64
#define NOBODY		65534
#define MAX_REGION_MB	16	/* caps for the run */
#define MAX_TOTAL_MB	256
/*
 * MemFree after the run, caches dropped, against before: -44 MB to +6 MB
 * seen over runs of the whole guest suite (the kernel's own memory after
 * some 16k forks and 13k execs, not regions: those are checked exactly by
 * the module unloading); five leaked regions of MAX_REGION_MB exceed it.
 */
#define MEM_TOLERANCE_KB (64 * 1024)
#define CHILD_OPS	40

enum {
	OP_CREATE, OP_OPEN, OP_DESTROY, OP_DETACH, OP_LIST, OP_INFO, OP_WAIT,
	OP_WAKE, OP_RAWIOCTL, OP_MMAP, OP_MMAP_CTL, OP_MUNMAP, OP_MPROTECT,
	OP_MADVISE, OP_MREMAP, OP_TOUCH, OP_POLLREAD, OP_CLOSE, OP_FORK,
	OP_NR
};

static const char *const op_names[OP_NR] = {
	"CREATE", "OPEN", "DESTROY", "DETACH", "LIST", "INFO", "WAIT", "WAKE",
	"raw-ioctl", "mmap", "mmap-ctl", "munmap", "mprotect", "madvise",
	"mremap", "touch", "poll/read", "close", "fork",
};

/* relative weights of the operations */
static const unsigned int op_weight[OP_NR] = {
	10, 10, 6, 3, 3, 4, 3, 3, 12, 14, 2, 6, 4, 4, 3, 8, 3, 4, 2,
};

#define NERR 140

struct stats {
	unsigned long ops;
	unsigned long ok[OP_NR];
	unsigned long err[OP_NR][NERR];
	unsigned long faults;
	unsigned long forks, execs, child_kills;
	unsigned long bad;
	char first_bad[256];
};

static struct stats *st;
static uint64_t rs;			/* this process's random state */
static unsigned char *argbuf;		/* 2 pages rw + 1 guard */
static unsigned char *robuf;		/* 1 page read-only */
static unsigned char *arena;		/* MAP_FIXED playground */
static volatile sig_atomic_t stop;
static sigjmp_buf touch_jmp;
static volatile sig_atomic_t in_touch;
static int child_mode;
static char self_path[256];

struct fdent {
	int fd;
	int writable;
};

struct mapent {
	unsigned char *addr;
	size_t len;
	int prot;
};

static struct fdent fds[MAXFD];
static int nfds;
static struct mapent maps[MAXMAP];
static int nmaps;
static int ctl = -1;

static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t save = rs, r;

	rs = a ^ (b * 0xd6e8feb86659fd93ULL);
	r = rnd();
	rs = save;
	return r;
}

static unsigned int rn(unsigned int n)
{
	return n ? (unsigned int)(rnd() % n) : 0;
}

static int chance(unsigned int pct)
{
	return rn(100) < pct;
}

static void bad(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void bad(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&st->bad, 1, __ATOMIC_RELAXED) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(st->first_bad, sizeof(st->first_bad), fmt, ap);
	va_end(ap);
}

static void count(int op, long r)
{
	__atomic_fetch_add(&st->ops, 1, __ATOMIC_RELAXED);
	if (r >= 0 || r == -2)
		__atomic_fetch_add(&st->ok[op], 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&st->err[op][errno < NERR ? errno : 0], 1,
				   __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* inputs                                                              */
/* ------------------------------------------------------------------ */

static void pool_name(char *dst)
{
	memset(dst, 0, PINSHM_NAME_MAX);
	if (chance(85))
		snprintf(dst, PINSHM_NAME_MAX, "kfz%u", rn(NAMEPOOL));
	else
		snprintf(dst, PINSHM_NAME_MAX, "kfz-%u.%u", rn(64), rn(4));
}

/* A name: mostly from the pool, else random bytes of a random length. */
static void fuzz_name(char *dst)
{
	static const char ok_chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	unsigned int len, i;

	pool_name(dst);
	if (chance(75))
		return;
	switch (rn(6)) {
	case 0:		/* empty */
		memset(dst, 0, PINSHM_NAME_MAX);
		break;
	case 1:		/* no NUL at all */
		for (i = 0; i < PINSHM_NAME_MAX; i++)
			dst[i] = ok_chars[rn(sizeof(ok_chars) - 1)];
		break;
	case 2:		/* random bytes */
		len = rn(PINSHM_NAME_MAX + 1);
		for (i = 0; i < len && i < PINSHM_NAME_MAX; i++)
			dst[i] = (char)(rn(255) + 1);
		if (len < PINSHM_NAME_MAX)
			dst[len] = 0;
		break;
	case 3:		/* leading dot, "." and ".." */
		dst[0] = '.';
		if (chance(30))
			dst[1] = chance(50) ? '.' : 0;
		break;
	case 4:		/* legal characters, random length up to 63 */
		len = rn(PINSHM_NAME_MAX - 1) + 1;
		memset(dst, 0, PINSHM_NAME_MAX);
		for (i = 0; i < len; i++)
			dst[i] = ok_chars[rn(sizeof(ok_chars) - 1)];
		if (dst[0] == '.')
			dst[0] = 'k';
		break;
	default:	/* garbage after the NUL */
		for (i = strlen(dst) + 1; i < PINSHM_NAME_MAX; i++)
			dst[i] = (char)rnd();
		break;
	}
}

static uint64_t fuzz_bytes(void)
{
	static const uint64_t v[] = {
		0, 1, 4095, 4096, 4097, 8192, 65536, 1UL << 20, 2UL << 20,
		(4UL << 20) - 4096, 4UL << 20, (4UL << 20) + 4096, 8UL << 20,
		16UL << 20, (16UL << 20) + 1, 1UL << 30, 1ULL << 40,
		~0ULL, ~0ULL - 4095, 1ULL << 63,
	};

	if (chance(60))
		return 4096ULL << rn(4);
	if (chance(80))
		return v[rn(sizeof(v) / sizeof(v[0]))];
	return rnd() >> rn(64);
}

static uint32_t fuzz_size_field(uint32_t good)
{
	static const uint32_t v[] = {
		0, 1, 4, 7, 8, 16, 24, 64, 4095, 4096, 4097, 8192, 0x7fffffff,
		0x80000000u, 0xffffffffu,
	};

	switch (rn(5)) {
	case 0:
		return v[rn(sizeof(v) / sizeof(v[0]))];
	case 1:
		return good - 1 - rn(good);
	case 2:
		return good + 1 + rn(64);
	case 3:
		return rn(8193);
	default:
		return (uint32_t)rnd();
	}
}

/* Where the ioctl's argument lives; len is how much valid struct there is. */
static void *fuzz_ptr(void *good, size_t len)
{
	unsigned int c = rn(100);

	if (c < 76)
		return good;
	if (c < 84) {		/* ends at the guard page */
		unsigned char *p = argbuf + 2 * PAGE_SZ - len;

		memmove(p, good, len);
		return p;
	}
	if (c < 87) {		/* unaligned */
		memmove(argbuf + 1, good, len);
		return argbuf + 1;
	}
	if (c < 90)		/* read-only copy: copy_to_user fails */
		return robuf;
	if (c < 93)
		return NULL;
	if (c < 95)
		return (void *)0xffff888000000000UL;
	if (c < 97)
		return argbuf + 2 * PAGE_SZ;	/* the guard page */
	return (void *)(uintptr_t)rnd();
}

/* ------------------------------------------------------------------ */
/* fd and mapping tables                                               */
/* ------------------------------------------------------------------ */

/* Remember fd; writable is what its file mode says (O_RDWR or not). */
static void fd_add(int fd)
{
	int fl = fcntl(fd, F_GETFL), writable;

	if (fd < 0 || fl < 0)
		return;
	writable = (fl & O_ACCMODE) != O_RDONLY;
	if (nfds == MAXFD) {
		int i = (int)rn(MAXFD);

		close(fds[i].fd);
		fds[i].fd = fd;
		fds[i].writable = writable;
		return;
	}
	fds[nfds].fd = fd;
	fds[nfds++].writable = writable;
}

static struct fdent *fd_pick(void)
{
	return nfds ? &fds[rn(nfds)] : NULL;
}

static void map_add(void *a, size_t len, int prot)
{
	if (nmaps == MAXMAP) {
		int i = (int)rn(MAXMAP);

		munmap(maps[i].addr, maps[i].len);
		maps[i] = (struct mapent){ a, len, prot };
		return;
	}
	maps[nmaps++] = (struct mapent){ a, len, prot };
}

static void map_del(int i)
{
	maps[i] = maps[--nmaps];
}

/* the control fd, or any fd */
static int ioctl_fd(void)
{
	struct fdent *f;

	if (chance(60) || !(f = fd_pick()))
		return ctl;
	return f->fd;
}

/* ------------------------------------------------------------------ */
/* ioctls                                                              */
/* ------------------------------------------------------------------ */

static int allowed_errno(int e)
{
	switch (e) {
	case EINVAL: case E2BIG: case EFAULT: case ENOTTY: case EEXIST:
	case ENOENT: case EACCES: case EPERM: case EFBIG: case ENOSPC:
	case ENOMEM: case EINTR: case EAGAIN: case ETIMEDOUT: case EBADF:
	case EMFILE: case ENFILE: case EDQUOT: case EBUSY: case EUSERS:
		return 1;
	}
	return 0;
}

/* Change the size bits of the command (the module must ignore them). */
static unsigned long fuzz_cmd(unsigned long cmd)
{
	if (chance(80))
		return cmd;
	return (cmd & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
	       ((unsigned long)rn(_IOC_SIZEMASK + 1) << _IOC_SIZESHIFT);
}

/*
 * Build a valid-looking struct of len bytes at buf (room: two pages), then
 * mutate it: the size field, random bytes, bytes after the struct.
 */
static void mutate(unsigned char *buf, size_t len)
{
	uint32_t *size = (uint32_t *)buf;

	memset(buf + len, 0, 2 * PAGE_SZ - len);
	if (chance(30))
		*size = fuzz_size_field((uint32_t)len);
	if (chance(15))
		for (unsigned int n = rn(8) + 1; n; n--)
			buf[rn((unsigned int)len)] = (unsigned char)rnd();
	if (chance(10)) {
		unsigned int extra = rn(64) + 1;

		for (unsigned int i = 0; i < extra; i++)
			buf[len + i] = chance(50) ? 0 : (unsigned char)rnd();
		if (chance(70))
			*size = (uint32_t)(len + extra);
	}
}

static long do_ioctl(int fd, unsigned long cmd, void *arg, int op)
{
	long r = ioctl(fd, fuzz_cmd(cmd), arg);

	if (r < 0 && !allowed_errno(errno))
		bad("%s: errno %d (%s) is not a documented error", op_names[op],
		    errno, strerror(errno));
	count(op, r);
	return r;
}

static void op_create(void)
{
	struct pinshm_create *c = (struct pinshm_create *)argbuf;
	long r;

	memset(argbuf, 0, 2 * PAGE_SZ);
	c->size = sizeof(*c);
	fuzz_name(c->name);
	c->bytes = fuzz_bytes();
	c->node = chance(80) ? PINSHM_NODE_ANY : (int)rn(4) - 2;
	if (chance(10))
		c->node = (int)rnd();
	c->mode = chance(50) ? 0666 : rn(01000);
	if (chance(5))
		c->mode = (uint32_t)rnd();
	if (chance(5))
		c->flags = (uint32_t)rnd();
	mutate(argbuf, sizeof(*c));
	r = do_ioctl(ioctl_fd(), PINSHM_IOC_CREATE,
		     fuzz_ptr(argbuf, sizeof(*c)), OP_CREATE);
	fd_add((int)r);
}

static void op_open(void)
{
	struct pinshm_open *o = (struct pinshm_open *)argbuf;
	long r;

	memset(argbuf, 0, 2 * PAGE_SZ);
	o->size = sizeof(*o);
	o->flags = chance(50) ? PINSHM_OPEN_WRITE : 0;
	if (chance(5))
		o->flags = (uint32_t)rnd();
	fuzz_name(o->name);
	mutate(argbuf, sizeof(*o));
	r = do_ioctl(ioctl_fd(), PINSHM_IOC_OPEN,
		     fuzz_ptr(argbuf, sizeof(*o)), OP_OPEN);
	fd_add((int)r);
}

static void op_destroy(void)
{
	struct pinshm_destroy *d = (struct pinshm_destroy *)argbuf;

	memset(argbuf, 0, 2 * PAGE_SZ);
	d->size = sizeof(*d);
	if (chance(5))
		d->flags = (uint32_t)rnd();
	fuzz_name(d->name);
	mutate(argbuf, sizeof(*d));
	do_ioctl(ioctl_fd(), PINSHM_IOC_DESTROY,
		 fuzz_ptr(argbuf, sizeof(*d)), OP_DESTROY);
}

static void op_detach(void)
{
	struct pinshm_detach *d = (struct pinshm_detach *)argbuf;
	struct fdent *f = fd_pick();

	memset(argbuf, 0, 2 * PAGE_SZ);
	d->size = sizeof(*d);
	if (chance(5))
		d->flags = (uint32_t)rnd();
	mutate(argbuf, sizeof(*d));
	do_ioctl(f && chance(90) ? f->fd : ctl, PINSHM_IOC_DETACH,
		 fuzz_ptr(argbuf, sizeof(*d)), OP_DETACH);
}

static void op_list(void)
{
	struct pinshm_list *l = (struct pinshm_list *)argbuf;
	unsigned int room = (2 * PAGE_SZ - 128) / PINSHM_NAME_MAX;

	memset(argbuf, 0, 2 * PAGE_SZ);
	l->size = sizeof(*l);
	l->max = chance(70) ? rn(room + 1) : (uint32_t)rnd();
	if (chance(5))
		l->__reserved = (uint32_t)rnd();
	mutate(argbuf, sizeof(*l));
	/*
	 * The names pointer is not mutated: a near miss lands in our own
	 * memory, which the kernel then rightly overwrites.
	 */
	switch (rn(8)) {
	case 0:
		l->names = 0;
		break;
	case 1:
		l->names = (uintptr_t)robuf;
		break;
	case 2:
		l->names = (uintptr_t)(argbuf + 2 * PAGE_SZ - PINSHM_NAME_MAX);
		break;
	case 3:
		l->names = rnd();
		break;
	default:	/* after the struct, in the two pages */
		l->names = (uintptr_t)(argbuf + 128);
		break;
	}
	do_ioctl(ioctl_fd(), PINSHM_IOC_LIST, fuzz_ptr(argbuf, sizeof(*l)),
		 OP_LIST);
}

static void op_info(void)
{
	struct pinshm_info *in = (struct pinshm_info *)argbuf;

	memset(argbuf, 0, 2 * PAGE_SZ);
	in->size = sizeof(*in);
	fuzz_name(in->name);
	if (chance(5))
		in->flags = (uint32_t)rnd();
	if (chance(10))	/* out fields are inputs too, to the size check */
		in->bytes = rnd();
	mutate(argbuf, sizeof(*in));
	do_ioctl(ioctl_fd(), PINSHM_IOC_INFO, fuzz_ptr(argbuf, sizeof(*in)),
		 OP_INFO);
}

static uint64_t fuzz_offset(void)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 4, 124, 128, 4092, 4096, 65532, 65536, (2UL << 20) - 4,
		1UL << 40, ~0ULL - 3, ~0ULL,
	};

	if (chance(50))
		return (uint64_t)rn(4096 / 4) * 4;
	if (chance(70))
		return v[rn(sizeof(v) / sizeof(v[0]))];
	return rnd();
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void op_wait(void)
{
	struct pinshm_wait *w = (struct pinshm_wait *)argbuf;
	struct fdent *f = fd_pick();
	int armed = 0;

	memset(argbuf, 0, 2 * PAGE_SZ);
	w->size = sizeof(*w);
	w->offset = fuzz_offset();
	w->val = chance(70) ? 0 : (uint32_t)rnd();
	switch (rn(6)) {
	case 0:
		w->flags = PINSHM_IOC_WAIT_F_ARM;
		break;
	case 1:
		w->flags = PINSHM_IOC_WAIT_F_RO;
		break;
	case 2:
		w->flags = (uint32_t)rnd();
		break;
	}
	switch (rn(5)) {
	case 0:
		w->timeout_ns = 0;
		break;
	case 1:		/* no timeout: a timer signal ends it (EINTR) */
		w->timeout_ns = -1 - (int64_t)rn(100);
		armed = 1;
		break;
	case 2:
		w->timeout_ns = (int64_t)rnd();
		armed = 1;
		break;
	default:
		w->timeout_ns = 1000 + rn(2000000);
		break;
	}
	if (chance(5))
		w->__reserved = (uint32_t)rnd();
	mutate(argbuf, sizeof(*w));
	if (armed) {
		struct itimerval it = { { 0, 0 }, { 0, 1000 + rn(20000) } };

		setitimer(ITIMER_REAL, &it, NULL);
	}
	do_ioctl(f && chance(95) ? f->fd : ctl, PINSHM_IOC_WAIT,
		 fuzz_ptr(argbuf, sizeof(*w)), OP_WAIT);
	if (armed) {
		struct itimerval it = { { 0, 0 }, { 0, 0 } };

		setitimer(ITIMER_REAL, &it, NULL);
	}
}

static void op_wake(void)
{
	struct pinshm_wake *w = (struct pinshm_wake *)argbuf;
	struct fdent *f = fd_pick();

	memset(argbuf, 0, 2 * PAGE_SZ);
	w->size = sizeof(*w);
	w->offset = fuzz_offset();
	if (chance(5))
		w->flags = (uint32_t)rnd();
	mutate(argbuf, sizeof(*w));
	do_ioctl(f && chance(95) ? f->fd : ctl, PINSHM_IOC_WAKE,
		 fuzz_ptr(argbuf, sizeof(*w)), OP_WAKE);
}

/*
 * An unknown or malformed command. Commands of other magics go through the
 * VFS's generic ioctls first: keep away from the ones that act on the
 * filesystem (FIFREEZE/FITHAW/FITRIM are 'X').
 */
static void op_rawioctl(void)
{
	unsigned long cmd;
	long r;
	int pinshm_magic = chance(70);

	if (pinshm_magic)
		cmd = _IOC(rn(4), PINSHM_IOC_MAGIC, chance(80) ? rn(16) : rn(256),
			   rn(_IOC_SIZEMASK + 1));
	else
		do
			cmd = (uint32_t)rnd();
		while (_IOC_TYPE(cmd) == 'X' || _IOC_TYPE(cmd) == 0 ||
		       _IOC_TYPE(cmd) == 0x94 || _IOC_TYPE(cmd) == 'f' ||
		       _IOC_TYPE(cmd) == 'T');
	for (unsigned int i = 0; i < 2 * PAGE_SZ; i += 8)
		*(uint64_t *)(argbuf + i) = chance(50) ? 0 : rnd();
	*(uint32_t *)argbuf = chance(50) ? (uint32_t)_IOC_SIZE(cmd)
					 : fuzz_size_field(64);
	r = ioctl(ioctl_fd(), cmd, fuzz_ptr(argbuf, 256));
	if (pinshm_magic && r < 0 && !allowed_errno(errno))
		bad("ioctl 0x%lx: errno %d (%s) is not a documented error",
		    cmd, errno, strerror(errno));
	count(OP_RAWIOCTL, r);
	/*
	 * A command that happened to be CREATE or OPEN returned an fd (LIST
	 * returns a count: only a new fd of ours counts).
	 */
	if (pinshm_magic && r > 2 && r != ctl) {
		for (int i = 0; i < nfds; i++)
			if (fds[i].fd == r)
				return;
		fd_add((int)r);
	}
}

/* ------------------------------------------------------------------ */
/* mappings                                                            */
/* ------------------------------------------------------------------ */

static size_t fuzz_len(void)
{
	static const size_t v[] = {
		0, 1, 4095, 4096, 8192, 65536, 2UL << 20, 4UL << 20, 16UL << 20,
		(16UL << 20) + 4096, 1UL << 30, ~0UL, ~0UL - 4095,
	};

	if (chance(70))
		return (size_t)(rn(16) + 1) * PAGE_SZ;
	if (chance(80))
		return v[rn(sizeof(v) / sizeof(v[0]))];
	return (size_t)(rnd() >> rn(64));
}

static int fuzz_prot(void)
{
	static const int v[] = {
		PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE, PROT_NONE,
		PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
	};

	if (chance(95))
		return v[rn(sizeof(v) / sizeof(v[0]))];
	return (int)rnd();
}

/*
 * A region fd to map: one of ours, else a plain OPEN (or CREATE) of a
 * pool name, so that mappings do not wait for a lucky mutated OPEN.
 */
static struct fdent *region_fd(void)
{
	struct fdent *f = fd_pick();
	char name[PINSHM_NAME_MAX];
	int fd;

	if ((f && f->fd != ctl) || chance(20))
		return f;
	pool_name(name);
	fd = pshm_open(ctl, name, chance(50) ? PINSHM_OPEN_WRITE : 0);
	if (fd < 0 && errno == ENOENT)
		fd = pshm_create(ctl, name, 4096UL << rn(4), PINSHM_NODE_ANY,
				 chance(70) ? 0666 : 0600);
	if (fd < 0)
		return f;
	fd_add(fd);
	for (int i = 0; i < nfds; i++)
		if (fds[i].fd == fd)
			return &fds[i];
	return f;
}

static void op_mmap(int on_ctl)
{
	struct fdent *f = on_ctl ? NULL : region_fd();
	int fd = on_ctl || !f ? ctl : f->fd;
	size_t len = fuzz_len();
	int prot = fuzz_prot();
	int flags = chance(85) ? MAP_SHARED : MAP_PRIVATE;
	off_t off;
	int fixed = 0;
	void *hint = NULL;
	unsigned char *p;

	if (chance(50))
		off = PINSHM_META_SIZE;
	else if (chance(40))
		off = 0;
	else if (chance(70))
		off = (off_t)rn(4096) * PAGE_SZ;
	else
		off = (off_t)rnd();
	if (chance(20) && off == 0)
		len = PINSHM_META_SIZE;
	if (chance(5))
		flags = MAP_SHARED_VALIDATE;
	if (chance(10))
		flags |= MAP_POPULATE;
	if (chance(5))
		flags |= MAP_LOCKED;
	if (chance(3))
		flags |= MAP_NORESERVE;
	if (chance(2))
		flags = (int)rnd() & ~(MAP_FIXED | MAP_FIXED_NOREPLACE |
				       MAP_ANONYMOUS);
	if (chance(10) && len <= ARENA_PAGES * PAGE_SZ) {
		/* MAP_FIXED only where nothing of ours lives */
		hint = arena + (size_t)rn(ARENA_PAGES) * PAGE_SZ;
		if ((unsigned char *)hint + len > arena + ARENA_PAGES * PAGE_SZ)
			hint = arena;
		flags |= chance(50) ? MAP_FIXED : MAP_FIXED_NOREPLACE;
		fixed = 1;
	}
	p = mmap(hint, len, prot, flags, fd, off);
	count(on_ctl ? OP_MMAP_CTL : OP_MMAP, p == MAP_FAILED ? -1 : 0);
	/*
	 * A MAP_FIXED mmap unmaps its range before the driver can refuse:
	 * give the arena back its reservation whatever happened, before a
	 * later mmap lands in the hole.
	 */
	if (fixed)
		mmap(arena, ARENA_PAGES * PAGE_SZ, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (flags & MAP_ANONYMOUS) {	/* random flags: not ours */
		munmap(p, len);
		return;
	}
	if (fd == ctl)
		bad("mmap of /dev/pinshm worked (len %zu off 0x%llx)", len,
		    (unsigned long long)off);
	else if ((flags & MAP_TYPE) == MAP_PRIVATE)
		bad("MAP_PRIVATE mapping of a region fd worked");
	else if (off == 0 && (prot & PROT_WRITE))
		bad("writable mapping of the metadata page worked");
	else if (f && !f->writable && (prot & PROT_WRITE))
		bad("writable mapping through a read-only region fd worked");
	if (fixed)
		return;
	if (chance(50) && fd != ctl) {
		struct pinshm_detach d = { .size = sizeof(d) };

		ioctl(fd, PINSHM_IOC_DETACH, &d);
	}
	/* mmap ignores unknown bits (mprotect does not) */
	map_add(p, len, prot & (PROT_READ | PROT_WRITE | PROT_EXEC));
}

/* The /proc/self/maps line of the mapping at addr, for a report. */
static void vma_desc(const void *addr, char *out, size_t n)
{
	char line[256];
	FILE *f = fopen("/proc/self/maps", "re");

	snprintf(out, n, "no mapping at %p", addr);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
		    (uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, n, "%.150s", line);
			break;
		}
	}
	fclose(f);
}

static void op_munmap(void)
{
	int i;
	struct mapent *m;
	char desc[160];
	int r;

	if (!nmaps)
		return;
	i = (int)rn(nmaps);
	m = &maps[i];
	if (chance(75) || m->len <= PAGE_SZ) {
		r = munmap(m->addr, m->len);
		count(OP_MUNMAP, r);
		if (!r)
			map_del(i);
		return;
	}
	/* part of it: the module refuses to split */
	vma_desc(m->addr, desc, sizeof(desc));
	r = chance(50) ? munmap(m->addr, PAGE_SZ)
		       : munmap(m->addr + m->len - PAGE_SZ, PAGE_SZ);
	count(OP_MUNMAP, r);
	if (!r) {
		bad("partial munmap of a region mapping worked (%p+%zu, prot %d: "
		    "%s)", m->addr, m->len, m->prot, desc);
		munmap(m->addr, m->len);
		map_del(i);
	}
}

static void op_mprotect(void)
{
	struct mapent *m;
	int prot = fuzz_prot(), r;
	char desc[160];
	size_t len;

	if (!nmaps)
		return;
	m = &maps[rn(nmaps)];
	len = chance(70) || m->len <= PAGE_SZ ? m->len : PAGE_SZ;
	if (len != m->len)
		vma_desc(m->addr, desc, sizeof(desc));
	r = mprotect(m->addr, len, prot);
	count(OP_MPROTECT, r);
	if (r)
		return;
	if (len == m->len)
		m->prot = prot;
	else if (prot != m->prot)
		bad("partial mprotect of a region mapping worked (%p+%zu, prot "
		    "%d to %d: %s)", m->addr, m->len, m->prot, prot, desc);
}

static void op_madvise(void)
{
	static const int adv[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
		MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTFORK,
		MADV_DOFORK, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE,
		MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK,
		MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, 22 /* POPULATE_READ */,
		23 /* POPULATE_WRITE */, 25 /* COLLAPSE */,
	};
	struct mapent *m;
	size_t len;
	int a;

	if (!nmaps)
		return;
	m = &maps[rn(nmaps)];
	len = chance(70) || m->len <= PAGE_SZ ? m->len : PAGE_SZ;
	a = chance(95) ? adv[rn(sizeof(adv) / sizeof(adv[0]))] : (int)rn(128);
	count(OP_MADVISE, madvise(m->addr, len, a));
}

static void op_mremap(void)
{
	int i;
	struct mapent *m;
	size_t nlen;
	char desc[160];
	int flags = 0;
	void *r, *target = NULL;

	if (!nmaps)
		return;
	i = (int)rn(nmaps);
	m = &maps[i];
	switch (rn(4)) {
	case 0:
		nlen = m->len + PAGE_SZ;
		break;
	case 1:
		nlen = m->len > PAGE_SZ ? m->len - PAGE_SZ : m->len;
		break;
	default:
		nlen = m->len;
		break;
	}
	if (chance(60))
		flags |= MREMAP_MAYMOVE;
	if ((flags & MREMAP_MAYMOVE) && chance(30) &&
	    nlen <= ARENA_PAGES * PAGE_SZ) {
		flags |= MREMAP_FIXED;
		target = arena;
	}
	vma_desc(m->addr, desc, sizeof(desc));
	r = mremap(m->addr, m->len, nlen, flags, target);
	count(OP_MREMAP, r == MAP_FAILED ? -1 : 0);
	/*
	 * MREMAP_FIXED unmaps the target before it fails: fill the arena again
	 * before a later mmap lands in the hole (a later arena reset would
	 * then replace that mapping behind our back).
	 */
	if (target && r != (void *)arena)
		mmap(arena, ARENA_PAGES * PAGE_SZ, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (r == MAP_FAILED)
		return;
	if (r != (void *)m->addr || nlen != m->len) {
		bad("mremap of a region mapping worked (%p+%zu -> %zu bytes, %s, "
		    "flags %d: %s)", m->addr, m->len, nlen,
		    r != (void *)m->addr ? "moved" : "in place", flags, desc);
		munmap(r, nlen);
		if (r == (void *)arena)
			mmap(arena, ARENA_PAGES * PAGE_SZ, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		map_del(i);
	}
}

static void on_fault(int sig)
{
	if (in_touch)
		siglongjmp(touch_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void op_touch(void)
{
	struct mapent *m;
	volatile unsigned char *p;
	size_t off;

	if (!nmaps)
		return;
	m = &maps[rn(nmaps)];
	if (!m->len)
		return;
	off = (size_t)(rnd() % m->len);
	p = m->addr + off;
	if (sigsetjmp(touch_jmp, 1)) {
		in_touch = 0;
		__atomic_fetch_add(&st->faults, 1, __ATOMIC_RELAXED);
		count(OP_TOUCH, -2);
		return;
	}
	in_touch = 1;
	if ((m->prot & PROT_WRITE) && chance(60))
		*p = (unsigned char)rnd();
	else
		(void)*p;
	in_touch = 0;
	count(OP_TOUCH, 0);
}

static void op_pollread(void)
{
	struct fdent *f = fd_pick();
	struct pollfd pf;
	size_t n;
	long r;

	if (!f)
		return;
	if (chance(50)) {
		pf.fd = f->fd;
		pf.events = (short)(chance(80) ? POLLIN | POLLPRI : rnd());
		count(OP_POLLREAD, poll(&pf, 1, (int)rn(3)));
		return;
	}
	n = chance(70) ? 8 : rn(32);
	r = read(f->fd, chance(90) ? (void *)argbuf : fuzz_ptr(argbuf, 8), n);
	count(OP_POLLREAD, r);
}

static void op_close(void)
{
	int i;

	if (!nfds)
		return;
	i = (int)rn(nfds);
	count(OP_CLOSE, close(fds[i].fd));
	fds[i] = fds[--nfds];
}

static void do_op(int op);
static int pick_op(void);

/*
 * A child: a few operations with what it inherited (fds; mappings only
 * where MADV_DOFORK let them through), then one of four ends.
 */
static void run_child(void)
{
	char seed[32], ops[16];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(10);
	/* mappings are not inherited (VM_DONTCOPY) unless DOFORK'd */
	nmaps = 0;
	for (unsigned int n = rn(CHILD_OPS); n; n--) {
		int op = pick_op();

		if (op != OP_FORK)
			do_op(op);
	}
	switch (rn(4)) {
	case 0:
		_exit((int)rn(256));
	case 1:
		raise(SIGKILL);
		_exit(0);
	case 2:
		__atomic_fetch_add(&st->execs, 1, __ATOMIC_RELAXED);
		execl("/bin/true", "true", (char *)NULL);
		_exit(0);
	default:
		__atomic_fetch_add(&st->execs, 1, __ATOMIC_RELAXED);
		snprintf(seed, sizeof(seed), "%llu", (unsigned long long)rnd());
		snprintf(ops, sizeof(ops), "%u", rn(CHILD_OPS) + 1);
		execl(self_path, "20_fuzz", "--child", seed, ops, (char *)NULL);
		_exit(0);
	}
}

static pid_t kids[4];

static void reap_kids(int block)
{
	for (int i = 0; i < 4; i++) {
		int status;

		if (!kids[i])
			continue;
		if (block) {
			if (wait_child(kids[i], 15000) == -1)
				bad("child %d of a worker did not end in 15 s",
				    (int)kids[i]);
			kids[i] = 0;
		} else if (waitpid(kids[i], &status, WNOHANG) == kids[i]) {
			kids[i] = 0;
		}
	}
}

static void op_fork(void)
{
	int slot = -1;
	pid_t p;

	reap_kids(0);
	for (int i = 0; i < 4; i++)
		if (!kids[i])
			slot = i;
	if (slot < 0)
		return;
	rnd();		/* the child's stream differs from ours */
	p = fork();
	if (p == 0) {
		rs = mix(rs, (uint64_t)getpid());
		run_child();
	}
	count(OP_FORK, p);
	if (p > 0) {
		kids[slot] = p;
		__atomic_fetch_add(&st->forks, 1, __ATOMIC_RELAXED);
		if (chance(30)) {
			usleep(rn(2000));
			kill(p, SIGKILL);
			__atomic_fetch_add(&st->child_kills, 1, __ATOMIC_RELAXED);
		}
	}
}

static void do_op(int op)
{
	switch (op) {
	case OP_CREATE: op_create(); break;
	case OP_OPEN: op_open(); break;
	case OP_DESTROY: op_destroy(); break;
	case OP_DETACH: op_detach(); break;
	case OP_LIST: op_list(); break;
	case OP_INFO: op_info(); break;
	case OP_WAIT: op_wait(); break;
	case OP_WAKE: op_wake(); break;
	case OP_RAWIOCTL: op_rawioctl(); break;
	case OP_MMAP: op_mmap(0); break;
	case OP_MMAP_CTL: op_mmap(1); break;
	case OP_MUNMAP: op_munmap(); break;
	case OP_MPROTECT: op_mprotect(); break;
	case OP_MADVISE: op_madvise(); break;
	case OP_MREMAP: op_mremap(); break;
	case OP_TOUCH: op_touch(); break;
	case OP_POLLREAD: op_pollread(); break;
	case OP_CLOSE: op_close(); break;
	case OP_FORK: if (!child_mode) op_fork(); break;
	}
}

static unsigned int op_weight_now[OP_NR];

/* KFUZZ_SKIP: operations left out, by name, comma-separated ("fork,madvise"). */
static void weights_init(void)
{
	const char *skip = getenv("KFUZZ_SKIP");

	for (int i = 0; i < OP_NR; i++) {
		char pat[32];

		snprintf(pat, sizeof(pat), ",%s,", op_names[i]);
		op_weight_now[i] = op_weight[i];
		if (skip && *skip) {
			char list[256];

			snprintf(list, sizeof(list), ",%s,", skip);
			if (strstr(list, pat))
				op_weight_now[i] = 0;
		}
	}
}

static int pick_op(void)
{
	static unsigned int total;
	unsigned int r;

	if (!total) {
		weights_init();
		for (int i = 0; i < OP_NR; i++)
			total += op_weight_now[i];
	}
	r = rn(total);
	for (int i = 0; i < OP_NR; i++) {
		if (r < op_weight_now[i])
			return i;
		r -= op_weight_now[i];
	}
	return 0;
}

static void setup_process(void)
{
	struct sigaction sa;

	argbuf = mmap(NULL, 3 * PAGE_SZ, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	robuf = mmap(NULL, PAGE_SZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	arena = mmap(NULL, ARENA_PAGES * PAGE_SZ, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (argbuf == MAP_FAILED || robuf == MAP_FAILED || arena == MAP_FAILED)
		_exit(99);
	mprotect(argbuf + 2 * PAGE_SZ, PAGE_SZ, PROT_NONE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sa.sa_handler = on_alarm;	/* no SA_RESTART: WAIT sees EINTR */
	sigaction(SIGALRM, &sa, NULL);
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void worker(int idx, uint64_t seed, uint64_t end_us)
{
	struct sigaction sa;
	int own;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	rs = seed;
	setup_process();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (idx & 1) {
		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(98);
		prctl(PR_SET_DUMPABLE, 1);
	}
	/* its own control fd too, where the device's mode lets it */
	own = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (own >= 0)
		fd_add(own);
	while (!stop && mono_us() < end_us) {
		do_op(pick_op());
		if ((st->ops & 63) == 0)
			reap_kids(0);
	}
	for (int i = 0; i < 4; i++)
		if (kids[i])
			kill(kids[i], SIGKILL);
	reap_kids(1);
	_exit(0);
}

/* After execve() of this program by a child: a few operations, then exit. */
static int child_main(char **argv)
{
	static struct stats local;
	unsigned int n = (unsigned int)strtoul(argv[3], NULL, 0);

	child_mode = 1;
	st = &local;
	rs = strtoull(argv[2], NULL, 0);
	setup_process();
	ctl = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return 0;
	while (n--)
		do_op(pick_op());
	return 0;
}

/* ------------------------------------------------------------------ */
/* the parent                                                          */
/* ------------------------------------------------------------------ */

static long memfree_kb(void)
{
	sync();
	write_file("/proc/sys/vm/drop_caches", "3");
	return file_field("/proc/meminfo", "MemFree: %ld kB");
}

static int param_get(const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), MODPARAM_DIR "/%s", name);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return atoi(buf);
}

static void param_set(const char *name, int v)
{
	char path[128], buf[32];

	if (v < 0)
		return;
	snprintf(path, sizeof(path), MODPARAM_DIR "/%s", name);
	snprintf(buf, sizeof(buf), "%d", v);
	if (write_file(path, buf))
		tap_diag("cannot set %s to %d", name, v);
}

/* How the guest is doing: free memory, regions and their pages. */
static void report_health(uint64_t t0)
{
	unsigned int total = 0;
	int c = open(PINSHM_DEV_PATH, O_RDWR | O_CLOEXEC);

	if (c >= 0) {
		pshm_list(c, NULL, 0, &total);
		close(c);
	}
	tap_diag("at %3llu s: %llu ops, MemFree %ld kB, Unevictable %ld kB, "
		 "%u regions", (unsigned long long)(mono_us() - t0) / 1000000,
		 (unsigned long long)st->ops,
		 file_field("/proc/meminfo", "MemFree: %ld kB"),
		 file_field("/proc/meminfo", "Unevictable: %ld kB"), total);
}

static pid_t spawn(int idx, uint64_t seed, uint64_t end_us)
{
	pid_t p = fork();

	if (p == 0)
		worker(idx, seed, end_us);
	if (p < 0)
		tap_bail("fork: %s", strerror(errno));
	return p;
}

static void dump_stuck(pid_t p)
{
	char path[64], buf[2048];

	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)p);
	if (!read_file(path, buf, sizeof(buf)))
		tap_diag("  pid %d wchan: %s", (int)p, buf);
	snprintf(path, sizeof(path), "/proc/%d/stack", (int)p);
	if (!read_file(path, buf, sizeof(buf)))
		tap_diag("  pid %d stack:\n%s", (int)p, buf);
}

/* Destroy every region not listed at the start; returns how many remain. */
static int destroy_all(int c, char (*keep)[PINSHM_NAME_MAX], unsigned int nkeep,
		       unsigned int *destroyed)
{
	static char names[4096][PINSHM_NAME_MAX];
	unsigned int total = 0;
	int n, left = 0;

	n = pshm_list(c, names, 4096, &total);
	if (n < 0) {
		tap_diag("LIST: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int ours = 1;

		for (unsigned int k = 0; k < nkeep; k++)
			if (!strncmp(names[i], keep[k], PINSHM_NAME_MAX))
				ours = 0;
		if (!ours)
			continue;
		if (pshm_destroy(c, names[i]) == 0) {
			(*destroyed)++;
		} else if (errno != ENOENT) {
			tap_diag("DESTROY %.63s: %s", names[i], strerror(errno));
			left++;
		}
	}
	return left + (int)(total > (unsigned int)n ? total - n : 0);
}

/*
 * /proc/self/maps names a region mapping "anon_inode:[pinshm:NAME]"; with a
 * name of 63 characters it must still read (the kernel renders such names
 * into 64 bytes, and a read that cannot render one grows its buffer until a
 * 1 GiB vmalloc fails). Returns 1 when maps read whole and showed the region.
 */
static int maps_readable_long_name(int c)
{
	char name[PINSHM_NAME_MAX], buf[4096];
	int fd, mfd, seen = 0, ok = 1;
	void *p;
	ssize_t n;

	memset(name, 'L', PINSHM_NAME_MAX - 1);
	name[PINSHM_NAME_MAX - 1] = 0;
	memcpy(name, "kfz-long-", 9);
	fd = pshm_create(c, name, PAGE_SZ, PINSHM_NODE_ANY, 0600);
	if (fd < 0) {
		tap_diag("CREATE %s: %s", name, strerror(errno));
		return 0;
	}
	p = mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, fd, PINSHM_META_SIZE);
	if (p == MAP_FAILED) {
		tap_diag("mmap: %s", strerror(errno));
		ok = 0;
	} else {
		mfd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
		while (mfd >= 0 && (n = read(mfd, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = 0;
			if (strstr(buf, "pinshm:kfz-long-"))
				seen = 1;
		}
		if (mfd < 0 || n < 0) {
			tap_diag("reading /proc/self/maps: %s", strerror(errno));
			ok = 0;
		}
		if (mfd >= 0)
			close(mfd);
		pshm_detach(fd);
		munmap(p, PAGE_SZ);
	}
	close(fd);
	pshm_destroy(c, name);
	return ok && seen;
}

int main(int argc, char **argv)
{
	static char keep[256][PINSHM_NAME_MAX];
	const char *ko = argc > 1 ? argv[1] : getenv("PINSHM_KO");
	const char *e;
	unsigned int seconds = 60, nproc = 6, nkeep = 0, total = 0;
	unsigned int destroyed = 0, restarts = 0, odd = 0, stuck = 0;
	uint64_t seed, end_us, t0, next_report;
	pid_t w[64];
	unsigned int gen[64];
	long before, after;
	int old_region, old_total, left, r;

	if (argc >= 4 && !strcmp(argv[1], "--child"))
		return child_main(argv);
	if (readlink("/proc/self/exe", self_path, sizeof(self_path) - 1) < 0)
		snprintf(self_path, sizeof(self_path), "%s", argv[0]);

	e = getenv("KFUZZ_SECONDS");
	if (e && *e)
		seconds = (unsigned int)strtoul(e, NULL, 0);
	e = getenv("KFUZZ_PROCS");
	if (e && *e)
		nproc = (unsigned int)strtoul(e, NULL, 0);
	if (nproc < 2)
		nproc = 2;
	if (nproc > 64)
		nproc = 64;
	e = getenv("KFUZZ_SEED");
	if (e && *e)
		seed = strtoull(e, NULL, 0);
	else
		seed = now_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32);

	test_timeout(seconds + 240);
	tap_plan(8);
	tap_diag("seed 0x%llx, %u s, %u processes (reproduce: KFUZZ_SEED=0x%llx "
		 "KFUZZ_SECONDS=%u KFUZZ_PROCS=%u)", (unsigned long long)seed,
		 seconds, nproc, (unsigned long long)seed, seconds, nproc);

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	ctl = ctl_open();
	r = pshm_list(ctl, keep, 256, &total);
	nkeep = r > 0 ? (unsigned int)r : 0;
	if (nkeep)
		tap_diag("%u regions existed before the run; they are left alone",
			 nkeep);
	tap_ok(maps_readable_long_name(ctl), "/proc/self/maps reads whole with a "
	       "63-character region name mapped");
	before = memfree_kb();
	old_region = param_get("max_region_mb");
	old_total = param_get("max_total_mb");
	param_set("max_region_mb", MAX_REGION_MB);
	param_set("max_total_mb", MAX_TOTAL_MB);

	/* workers inherit the handler: no window where SIGTERM kills one */
	signal(SIGTERM, on_term);
	t0 = mono_us();
	end_us = t0 + (uint64_t)seconds * 1000000ULL;
	rs = seed;
	for (unsigned int i = 0; i < nproc; i++) {
		gen[i] = 0;
		w[i] = spawn((int)i, mix(seed, i << 16), end_us + 5000000);
	}
	/* kill -9 and restart workers at random until the time is up */
	next_report = t0;
	while (mono_us() < end_us) {
		unsigned int i = rn(nproc);
		int status;

		if (mono_us() >= next_report) {
			report_health(t0);
			next_report += 10000000;
		}

		usleep(20000 + rn(300000));
		if (mono_us() >= end_us)
			break;
		kill(w[i], SIGKILL);
		status = wait_child(w[i], 30000);
		if (status == -1) {
			stuck++;
			tap_diag("worker %d (index %u) did not die of SIGKILL in 30 s",
				 (int)w[i], i);
			dump_stuck(w[i]);
		} else if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) &&
			   !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			odd++;
			tap_diag("worker %d (index %u, generation %u) ended with "
				 "status 0x%x", (int)w[i], i, gen[i], status);
		}
		restarts++;
		gen[i]++;
		w[i] = spawn((int)i, mix(seed, (i << 16) | gen[i]),
			     end_us + 5000000);
	}
	/* the end: half told to stop, half killed */
	for (unsigned int i = 0; i < nproc; i++)
		kill(w[i], (i & 2) ? SIGKILL : SIGTERM);
	for (unsigned int i = 0; i < nproc; i++) {
		int status = wait_child(w[i], 30000);

		if (status == -1) {
			stuck++;
			tap_diag("worker %d (index %u) did not end in 30 s",
				 (int)w[i], i);
			dump_stuck(w[i]);
		} else if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) &&
			   !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			odd++;
			tap_diag("worker %d (index %u, generation %u) ended with "
				 "status 0x%x", (int)w[i], i, gen[i], status);
		}
	}
	/* orphaned children die with their worker (PDEATHSIG): let them go */
	usleep(200000);
	param_set("max_region_mb", old_region);
	param_set("max_total_mb", old_total);

	tap_diag("%lu operations in %llu ms by %u processes (%u restarts after "
		 "kill -9), %lu forks, %lu execs, %lu children killed, %lu faults "
		 "caught", st->ops, (unsigned long long)(mono_us() - t0) / 1000,
		 nproc, restarts, st->forks, st->execs, st->child_kills, st->faults);
	for (int op = 0; op < OP_NR; op++) {
		char line[512];
		int n = snprintf(line, sizeof(line), "%-10s ok %lu", op_names[op],
				 st->ok[op]);

		for (int er = 0; er < NERR && n < (int)sizeof(line) - 32; er++)
			if (st->err[op][er])
				n += snprintf(line + n, sizeof(line) - n, ", %s %lu",
					      er ? strerrorname_np(er) : "?",
					      st->err[op][er]);
		tap_diag("  %s", line);
	}

	tap_ok(st->ops >= (unsigned long)seconds * 50 && st->ok[OP_CREATE] &&
	       st->ok[OP_MMAP], "the workers ran %lu operations (%lu regions "
	       "created, %lu mappings)", st->ops, st->ok[OP_CREATE],
	       st->ok[OP_MMAP]);
	tap_ok(st->bad == 0, "the documented rules held (%lu violations%s%s)",
	       st->bad, st->bad ? "; first: " : "", st->bad ? st->first_bad : "");
	tap_ok(!stuck && !odd, "every worker ended by our signal or cleanly "
	       "(%u stuck, %u odd)", stuck, odd);

	left = destroy_all(ctl, keep, nkeep, &destroyed);
	for (int i = 0; i < 10 && left; i++) {
		usleep(100000);
		left = destroy_all(ctl, keep, nkeep, &destroyed);
	}
	pshm_list(ctl, NULL, 0, &total);
	tap_ok(left == 0 && total == nkeep, "every region the run left could be "
	       "destroyed (%u destroyed; %u listed now, %u before)", destroyed,
	       total, nkeep);
	close(ctl);

	if (!ko || !path_exists(ko) || nkeep) {
		tap_skip(nkeep ? "regions existed before" : "no pinshm.ko path",
			 "the module unloads after the run");
		tap_skip("module not reloaded", "the module loads again");
		tap_skip("module not reloaded", "MemFree came back");
		return tap_finish();
	}
	/* the last references (fds, mappings) of dead processes go away */
	for (int i = 0; i < 100 && (r = (int)mod_unload()) && errno == EAGAIN; i++)
		usleep(100000);
	if (!tap_success(r, "the module unloads after the run (nothing leaked "
			 "a region or a reference)")) {
		char buf[64] = "";

		read_file("/sys/module/pinshm/refcnt", buf, sizeof(buf));
		tap_diag("  refcnt %s", buf);
	}
	r = path_exists("/sys/module/pinshm") ? 0 : (int)mod_load(ko, "");
	tap_success(r, "the module loads again");
	for (int i = 0; i < 200 && !path_exists(PINSHM_DEV_PATH); i++)
		usleep(10000);
	/* what dead processes and RCU hand back comes back within seconds */
	after = memfree_kb();
	for (int i = 0; i < 10 && after < before - MEM_TOLERANCE_KB; i++) {
		sleep(1);
		after = memfree_kb();
	}
	tap_ok(before > 0 && after >= before - MEM_TOLERANCE_KB,
	       "MemFree came back within %d kB (before %ld kB, after %ld kB, "
	       "delta %ld kB)", MEM_TOLERANCE_KB, before, after, after - before);
	if (tap_failed)
		tap_diag("seed 0x%llx (KFUZZ_SEED=0x%llx KFUZZ_SECONDS=%u "
			 "KFUZZ_PROCS=%u)", (unsigned long long)seed,
			 (unsigned long long)seed, seconds, nproc);
	return tap_finish();
}
