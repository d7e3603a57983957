// SPDX-License-Identifier: GPL-2.0
/*
 * 11_bad_arguments - every ioctl refuses bad input, with the right errno,
 * and without side effects.
 *
 * For each ioctl (CREATE, OPEN, DESTROY, LIST, INFO on /dev/pinshm; INFO and
 * DETACH on a region fd), the leading __u32 size is checked the
 * copy_struct_from_user() way:
 *   size 0, size 4                           -> EINVAL
 *   size > sizeof, non-zero trailing bytes   -> E2BIG
 *   size 0xffffffff                          -> E2BIG (or EFAULT)
 *   size > sizeof, zero trailing bytes       -> works
 *   argument NULL or (void *)1               -> EFAULT
 * Unknown flag bits -> EINVAL. Names: "", ".", "..", ".hidden", "a/b",
 * "a b", control and non-ASCII bytes, 64 bytes without a NUL (also what a
 * 300-char name truncated to the field looks like) -> EINVAL, for CREATE
 * and for OPEN/DESTROY/INFO. 63-char and "-_." names work. Unknown ioctl
 * commands -> ENOTTY. Size 0 -> EINVAL; above max_region_mb -> EFBIG; a size
 * that would wrap when rounded up -> fails; 1 byte rounds up to one page.
 * OPEN/INFO/DESTROY of a missing name -> ENOENT. LIST with a bad names
 * pointer -> EFAULT. Over max_total_mb -> ENOSPC, and a DESTROY gives the
 * memory back to the cap. At the end no region but ours exists.
 */
#include "common.h"

static int ctl, rfd;
static char base[PINSHM_NAME_MAX];	/* a region that exists throughout */
static char victim[PINSHM_NAME_MAX];	/* created for DESTROY tests */
static char created[PINSHM_NAME_MAX];	/* CREATE tests' name */

/* buffer: struct at the start, room for trailing bytes after it */
static union {
	unsigned char b[8192];
	uint64_t align;
} buf;

struct op {
	const char *name;
	unsigned long cmd;
	size_t sz;
	int on_region;			/* issue on the region fd */
	size_t flags_off;		/* offset of flags, or 0 if none */
	unsigned int bad_flag;		/* lowest unknown flag bit */
	void (*fill)(void *s);		/* a valid request */
	void (*undo)(long ret);		/* after a success */
};

static void fill_create(void *s)
{
	struct pinshm_create *c = s;

	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	set_name(c->name, created);
	c->bytes = 4096;
	c->node = PINSHM_NODE_ANY;
}

static void undo_create(long r)
{
	close((int)r);
	pshm_destroy(ctl, created);
}

static void fill_open(void *s)
{
	struct pinshm_open *o = s;

	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	set_name(o->name, base);
}

static void undo_close(long r)
{
	close((int)r);
}

static void fill_destroy(void *s)
{
	struct pinshm_destroy *d = s;

	memset(d, 0, sizeof(*d));
	d->size = sizeof(*d);
	set_name(d->name, victim);
}

static void undo_destroy(long r)
{
	int fd;

	(void)r;
	/* make the victim exist again for the next DESTROY test */
	fd = pshm_create(ctl, victim, 4096, PINSHM_NODE_ANY, 0600);
	if (fd >= 0)
		close(fd);
}

static void fill_list(void *s)
{
	struct pinshm_list *l = s;

	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
}

static void fill_info(void *s)
{
	struct pinshm_info *i = s;

	memset(i, 0, sizeof(*i));
	i->size = sizeof(*i);
	set_name(i->name, base);
}

static void fill_info_fd(void *s)
{
	struct pinshm_info *i = s;

	memset(i, 0, sizeof(*i));
	i->size = sizeof(*i);
}

static void fill_detach(void *s)
{
	struct pinshm_detach *d = s;

	memset(d, 0, sizeof(*d));
	d->size = sizeof(*d);
}

static void undo_nothing(long r)
{
	(void)r;
}

static const struct op ops[] = {
	{ "CREATE", PINSHM_IOC_CREATE, sizeof(struct pinshm_create), 0,
	  offsetof(struct pinshm_create, flags), 1, fill_create, undo_create },
	{ "OPEN", PINSHM_IOC_OPEN, sizeof(struct pinshm_open), 0,
	  offsetof(struct pinshm_open, flags), 2, fill_open, undo_close },
	{ "DESTROY", PINSHM_IOC_DESTROY, sizeof(struct pinshm_destroy), 0,
	  offsetof(struct pinshm_destroy, flags), 1, fill_destroy, undo_destroy },
	{ "LIST", PINSHM_IOC_LIST, sizeof(struct pinshm_list), 0,
	  0, 0, fill_list, undo_nothing },
	{ "INFO", PINSHM_IOC_INFO, sizeof(struct pinshm_info), 0,
	  offsetof(struct pinshm_info, flags), 1, fill_info, undo_nothing },
	{ "INFO(region fd)", PINSHM_IOC_INFO, sizeof(struct pinshm_info), 1,
	  offsetof(struct pinshm_info, flags), 1, fill_info_fd, undo_nothing },
	{ "DETACH(region fd)", PINSHM_IOC_DETACH, sizeof(struct pinshm_detach), 1,
	  offsetof(struct pinshm_detach, flags), 1, fill_detach, undo_nothing },
};
#define NOPS (int)(sizeof(ops) / sizeof(ops[0]))
#define PER_OP 10	/* size 0, 4, big+junk, 0xffffffff, big+zero, NULL, 1,
			 * flag low bit, flag bit 31, no side effect */

static long do_ioctl(const struct op *o, void *arg)
{
	return ioctl(o->on_region ? rfd : ctl, o->cmd, arg);
}

/* expect failure with errno want; undo if it succeeded after all */
static void expect(const struct op *o, void *arg, int want, int alt,
		   const char *what)
{
	long r = do_ioctl(o, arg);
	int e = errno;
	int ok = r == -1 && (e == want || (alt && e == alt));

	tap_ok(ok, "%s: %s -> %s%s%s", o->name, what, strerror(want),
	       alt ? " or " : "", alt ? strerror(alt) : "");
	if (!ok)
		tap_diag("  got ret=%ld errno=%d (%s)", r, r == -1 ? e : 0,
			 r == -1 ? strerror(e) : "none");
	if (r >= 0)
		o->undo(r);
}

static void one_op(const struct op *o)
{
	uint32_t *size = (uint32_t *)buf.b;
	long r;
	int e;

	o->fill(buf.b);
	*size = 0;
	expect(o, buf.b, EINVAL, 0, "size 0");

	o->fill(buf.b);
	*size = 4;
	expect(o, buf.b, EINVAL, 0, "size 4");

	o->fill(buf.b);
	memset(buf.b + o->sz, 0, 64);
	buf.b[o->sz + 13] = 0x5a;
	*size = (uint32_t)(o->sz + 64);
	expect(o, buf.b, E2BIG, 0, "size + 64 with a non-zero trailing byte");

	o->fill(buf.b);
	*size = 0xffffffffU;
	expect(o, buf.b, E2BIG, EFAULT, "size 0xffffffff");

	o->fill(buf.b);
	memset(buf.b + o->sz, 0, 64);
	*size = (uint32_t)(o->sz + 64);
	r = do_ioctl(o, buf.b);
	e = errno;
	tap_ok(r >= 0, "%s: size + 64 with zero trailing bytes works", o->name);
	if (r < 0)
		tap_diag("  errno %d (%s)", e, strerror(e));
	else
		o->undo(r);

	expect(o, NULL, EFAULT, 0, "NULL argument");
	expect(o, (void *)1, EFAULT, 0, "argument (void *)1");

	if (o->flags_off) {
		o->fill(buf.b);
		*(uint32_t *)(buf.b + o->flags_off) = o->bad_flag;
		expect(o, buf.b, EINVAL, 0, "lowest unknown flag bit");
		o->fill(buf.b);
		*(uint32_t *)(buf.b + o->flags_off) = 0x80000000U;
		expect(o, buf.b, EINVAL, 0, "flag bit 31");
	} else {
		struct pinshm_list *l = (void *)buf.b;

		/* LIST has no flags: check its names pointer instead */
		o->fill(buf.b);
		l->max = 4;
		l->names = 0;
		expect(o, buf.b, EFAULT, 0, "max 4 with a NULL names pointer");
		o->fill(buf.b);
		l->max = 4;
		l->names = 1;
		expect(o, buf.b, EFAULT, 0, "max 4 with names (void *)1");
	}

	/* no side effect: base exists, created does not, victim does */
	tap_ok(pshm_listed(ctl, base) == 1 && pshm_listed(ctl, created) == 0 &&
	       pshm_listed(ctl, victim) == 1,
	       "%s: the refused calls changed nothing", o->name);
}

/* names CREATE must refuse; the unterminated ones are built in main() */
static char bad_names[][PINSHM_NAME_MAX] = {
	"", ".", "..", ".hidden", "a/b", "/", "a b", "a\nb", "tab\there",
	"caf\xc3\xa9", "\xff", "\xe9t\xe9", "\xc0", "a:b", "a*b", "a\\b",
	"x",	/* replaced: 64 'x', no NUL */
	"y",	/* replaced: first 64 bytes of a 300-char name */
};
#define NBAD (int)(sizeof(bad_names) / sizeof(bad_names[0]))

static long create_raw(const char name[PINSHM_NAME_MAX], uint64_t bytes)
{
	struct pinshm_create c;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	memcpy(c.name, name, PINSHM_NAME_MAX);
	c.bytes = bytes;
	c.node = PINSHM_NODE_ANY;
	return ioctl(ctl, PINSHM_IOC_CREATE, &c);
}

static const char *printable(const char *n)
{
	static char out[PINSHM_NAME_MAX * 4 + 1];
	char *p = out;

	for (int i = 0; i < PINSHM_NAME_MAX && n[i]; i++) {
		unsigned char c = (unsigned char)n[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			p += sprintf(p, "\\x%02x", c);
		else
			*p++ = (char)c;
		if (i == 12 && strnlen(n, PINSHM_NAME_MAX) > 20) {
			p += sprintf(p, "...(%zu bytes%s)",
				     strnlen(n, PINSHM_NAME_MAX),
				     strnlen(n, PINSHM_NAME_MAX) ==
				     PINSHM_NAME_MAX ? ", no NUL" : "");
			break;
		}
	}
	*p = 0;
	return out;
}

static void names(void)
{
	char n63[PINSHM_NAME_MAX];
	long r;

	memset(bad_names[NBAD - 2], 'x', PINSHM_NAME_MAX);
	{
		char longname[301];

		memset(longname, 'y', 300);
		longname[300] = 0;
		memcpy(bad_names[NBAD - 1], longname, PINSHM_NAME_MAX);
	}
	for (int i = 0; i < NBAD; i++) {
		r = create_raw(bad_names[i], 4096);
		tap_errno(r, EINVAL, "CREATE name \"%s\" -> EINVAL",
			  printable(bad_names[i]));
		if (r >= 0) {
			close((int)r);
			struct pinshm_destroy d = { .size = sizeof(d) };

			memcpy(d.name, bad_names[i], PINSHM_NAME_MAX);
			ioctl(ctl, PINSHM_IOC_DESTROY, &d);
		}
	}
	/* OPEN/DESTROY/INFO refuse bad names the same way (not ENOENT) */
	{
		static const int pick[] = { 2, 4, NBAD - 2 };

		for (unsigned int k = 0; k < 3; k++) {
			const char *n = bad_names[pick[k]];
			struct pinshm_open o = { .size = sizeof(o) };
			struct pinshm_destroy d = { .size = sizeof(d) };
			struct pinshm_info inf = { .size = sizeof(inf) };

			memcpy(o.name, n, PINSHM_NAME_MAX);
			memcpy(d.name, n, PINSHM_NAME_MAX);
			memcpy(inf.name, n, PINSHM_NAME_MAX);
			r = ioctl(ctl, PINSHM_IOC_OPEN, &o);
			tap_errno(r, EINVAL, "OPEN name \"%s\" -> EINVAL",
				  printable(n));
			if (r >= 0)
				close((int)r);
			tap_errno(ioctl(ctl, PINSHM_IOC_DESTROY, &d), EINVAL,
				  "DESTROY name \"%s\" -> EINVAL", printable(n));
			tap_errno(ioctl(ctl, PINSHM_IOC_INFO, &inf), EINVAL,
				  "INFO name \"%s\" -> EINVAL", printable(n));
		}
	}
	/* good names */
	memset(n63, 0, sizeof(n63));
	memset(n63, 'z', 63);
	r = create_raw(n63, 4096);
	tap_success(r, "CREATE with a 63-char name works");
	if (r >= 0) {
		close((int)r);
		tap_success(pshm_destroy(ctl, n63), "DESTROY the 63-char name");
	} else {
		tap_ok(0, "DESTROY the 63-char name (not created)");
	}
	r = pshm_create(ctl, "-A-z_0.9", 4096, PINSHM_NODE_ANY, 0600);
	tap_success(r, "CREATE name \"-A-z_0.9\" works");
	if (r >= 0)
		close((int)r);
	pshm_destroy(ctl, "-A-z_0.9");
}
#define NAME_TESTS (NBAD + 9 + 3)

static void unknown_cmds(void)
{
	struct pinshm_info inf;

	fill_info(&inf);
	tap_errno(ioctl(ctl, _IOWR(PINSHM_IOC_MAGIC, 0x7f, struct pinshm_info),
			&inf), ENOTTY, "control fd: unknown number 0x7f -> ENOTTY");
	tap_errno(ioctl(ctl, _IOWR(PINSHM_IOC_MAGIC, 0x00, struct pinshm_info),
			&inf), ENOTTY, "control fd: unknown number 0x00 -> ENOTTY");
	tap_errno(ioctl(ctl, _IO('x', 1), 0), ENOTTY,
		  "control fd: foreign magic -> ENOTTY");
	tap_errno(ioctl(ctl, TCGETS, &inf), ENOTTY,
		  "control fd: TCGETS -> ENOTTY");
	fill_info_fd(&inf);
	tap_errno(ioctl(rfd, _IOWR(PINSHM_IOC_MAGIC, 0x7f, struct pinshm_info),
			&inf), ENOTTY, "region fd: unknown number 0x7f -> ENOTTY");
	tap_errno(ioctl(rfd, _IO('x', 1), 0), ENOTTY,
		  "region fd: foreign magic -> ENOTTY");
	{
		struct pinshm_create c;
		long r;

		fill_create(&c);
		r = ioctl(rfd, PINSHM_IOC_CREATE, &c);
		tap_errno(r, ENOTTY, "region fd: CREATE (a control-fd command) -> ENOTTY");
		if (r >= 0)
			undo_create(r);
	}
}
#define CMD_TESTS 7

static void sizes(void)
{
	char param[64], orig[64] = "";
	unsigned long max_mb = 0;
	struct pinshm_info inf;
	long r;
	int lowered = 0;

	r = pshm_create(ctl, created, 0, PINSHM_NODE_ANY, 0600);
	tap_errno(r, EINVAL, "CREATE of 0 bytes -> EINVAL");
	if (r >= 0)
		undo_create(r);

	if (read_file(MODPARAM_DIR "/max_region_mb", orig, sizeof(orig)) == 0) {
		max_mb = strtoul(orig, NULL, 0);
		/* lower the cap so that the test asks for little memory */
		if (write_file(MODPARAM_DIR "/max_region_mb", "8") == 0 &&
		    read_file(MODPARAM_DIR "/max_region_mb", param,
			      sizeof(param)) == 0 && strtoul(param, NULL, 0) == 8) {
			max_mb = 8;
			lowered = 1;
		}
	}
	tap_ok(max_mb > 0, "module parameter max_region_mb exists (%s%s)",
	       orig[0] ? orig : "missing", lowered ? ", lowered to 8" : "");
	if (max_mb) {
		r = pshm_create(ctl, created, (max_mb + 1) << 20,
				PINSHM_NODE_ANY, 0600);
		tap_errno(r, EFBIG, "CREATE of max_region_mb + 1 MiB -> EFBIG");
		if (r >= 0)
			undo_create(r);
		if (lowered) {
			r = pshm_create(ctl, created, max_mb << 20,
					PINSHM_NODE_ANY, 0600);
			tap_success(r, "CREATE of exactly max_region_mb works");
			if (r >= 0)
				undo_create(r);
		} else {
			tap_skip("max_region_mb is read-only",
				 "CREATE of exactly max_region_mb works");
		}
	} else {
		tap_ok(0, "CREATE above max_region_mb -> EFBIG (no parameter)");
		tap_ok(0, "CREATE of exactly max_region_mb (no parameter)");
	}
	if (lowered)
		write_file(MODPARAM_DIR "/max_region_mb", orig);
	r = pshm_create(ctl, created, 1ULL << 50, PINSHM_NODE_ANY, 0600);
	tap_errno(r, EFBIG, "CREATE of 1 PiB -> EFBIG");
	if (r >= 0)
		undo_create(r);
	r = pshm_create(ctl, created, ~0ULL - 100, PINSHM_NODE_ANY, 0600);
	tap_ok(r == -1 && (errno == EFBIG || errno == EINVAL),
	       "CREATE of 2^64-101 bytes (wraps when rounded up) -> EFBIG or EINVAL (%s)",
	       r == -1 ? strerror(errno) : "it succeeded");
	if (r >= 0)
		undo_create(r);

	/* total cap: -ENOSPC, and destroyed regions give their share back */
	if (read_file(MODPARAM_DIR "/max_total_mb", orig, sizeof(orig)) == 0 &&
	    write_file(MODPARAM_DIR "/max_total_mb", "8") == 0) {
		const char *other = tname("total");
		long r2;

		cleanup_add(other);
		r = pshm_create(ctl, created, 4UL << 20, PINSHM_NODE_ANY, 0600);
		r2 = pshm_create(ctl, other, 4UL << 20, PINSHM_NODE_ANY, 0600);
		tap_ok(r >= 0 && r2 == -1 && errno == ENOSPC,
		       "max_total_mb 8: 4 MiB works, another 4 MiB -> ENOSPC (%s)",
		       r2 >= 0 ? "it succeeded" : strerror(errno));
		if (r2 >= 0) {
			close((int)r2);
			pshm_destroy(ctl, other);
		}
		if (r >= 0)
			undo_create(r);
		r2 = pshm_create(ctl, other, 4UL << 20, PINSHM_NODE_ANY, 0600);
		tap_success(r2, "after DESTROY of the first, 4 MiB fits again");
		if (r2 >= 0) {
			close((int)r2);
			pshm_destroy(ctl, other);
		}
		write_file(MODPARAM_DIR "/max_total_mb", orig);
	} else {
		tap_ok(0, "module parameter max_total_mb exists and is writable");
		tap_ok(0, "ENOSPC check not run");
	}

	r = pshm_create(ctl, created, 1, PINSHM_NODE_ANY, 0600);
	tap_success(r, "CREATE of 1 byte works");
	if (r >= 0) {
		pshm_info(ctl, created, &inf);
		tap_eq_u64(inf.bytes, 4096, "1 byte is rounded up to one page");
		undo_create(r);
	} else {
		tap_ok(0, "1 byte is rounded up to one page (not created)");
	}
	r = pshm_create(ctl, created, 4097, PINSHM_NODE_ANY, 0600);
	if (r >= 0) {
		pshm_info(ctl, created, &inf);
		tap_eq_u64(inf.bytes, 8192, "4097 bytes are rounded up to 8192");
		undo_create(r);
	} else {
		tap_ok(0, "4097 bytes are rounded up to 8192 (CREATE: %s)",
		       strerror(errno));
	}
}
#define SIZE_TESTS 11

static void missing(void)
{
	const char *n = tname("nonexistent");
	struct pinshm_info inf;
	long r;

	r = pshm_open(ctl, n, 0);
	tap_errno(r, ENOENT, "OPEN of a missing name -> ENOENT");
	if (r >= 0)
		close((int)r);
	tap_errno(pshm_open(ctl, n, PINSHM_OPEN_WRITE), ENOENT,
		  "OPEN for writing of a missing name -> ENOENT");
	tap_errno(pshm_destroy(ctl, n), ENOENT,
		  "DESTROY of a missing name -> ENOENT");
	tap_errno(pshm_info(ctl, n, &inf), ENOENT,
		  "INFO of a missing name -> ENOENT");
}
#define MISSING_TESTS 4

static void list(void)
{
	static char names[4][PINSHM_NAME_MAX];
	unsigned int total = 0;
	int r;

	r = pshm_list(ctl, NULL, 0, &total);
	tap_ok(r == 0 && total >= 2, "LIST with max 0 copies nothing and "
	       "reports the total (r=%d total=%u)", r, total);
	memset(names, 0x7e, sizeof(names));
	r = pshm_list(ctl, names, 1, &total);
	tap_ok(r == 1 && total >= 2 && names[1][0] == 0x7e &&
	       strnlen(names[0], PINSHM_NAME_MAX) < PINSHM_NAME_MAX,
	       "LIST with max 1 copies one NUL-terminated name, no more "
	       "(r=%d total=%u)", r, total);
}
#define LIST_TESTS 2

int main(void)
{
	unsigned int total0 = 0;
	void *map;
	long r;

	test_timeout(180);
	tap_plan(1 + NOPS * PER_OP + NAME_TESTS + CMD_TESTS + SIZE_TESTS +
		 MISSING_TESTS + LIST_TESTS + 2);
	ctl = ctl_open();
	set_name(base, tname("base"));
	set_name(victim, tname("victim"));
	set_name(created, tname("created"));
	cleanup_add(base);
	cleanup_add(victim);
	cleanup_add(created);

	rfd = pshm_create(ctl, base, 4096, PINSHM_NODE_ANY, 0600);
	r = pshm_create(ctl, victim, 4096, PINSHM_NODE_ANY, 0600);
	if (!tap_ok(rfd >= 0 && r >= 0, "CREATE the regions the test uses"))
		tap_bail("CREATE: %s", strerror(errno));
	close((int)r);
	pshm_list(ctl, NULL, 0, &total0);
	/* be an attacher, so that DETACH has something to detach */
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rfd,
		   PINSHM_META_SIZE);
	if (map == MAP_FAILED)
		tap_diag("mmap of the base region: %s", strerror(errno));

	for (int i = 0; i < NOPS; i++)
		one_op(&ops[i]);
	names();
	unknown_cmds();
	sizes();
	missing();
	list();

	/* the refused calls left nothing behind */
	{
		static char all[256][PINSHM_NAME_MAX];
		unsigned int total = 0;
		int cnt = pshm_list(ctl, all, 256, &total);

		for (int i = 0; i < cnt; i++)
			if (strncmp(all[i], base, PINSHM_NAME_MAX) &&
			    strncmp(all[i], victim, PINSHM_NAME_MAX))
				tap_diag("  region \"%s\" exists",
					 printable(all[i]));
		tap_ok(cnt >= 0 && total == total0,
		       "no region left behind (%u regions, %u at the start)",
		       total, total0);
	}
	if (map != MAP_FAILED)
		munmap(map, 4096);
	close(rfd);
	tap_ok(pshm_destroy(ctl, base) == 0 && pshm_destroy(ctl, victim) == 0,
	       "DESTROY the test's regions");
	close(ctl);
	return tap_finish();
}
