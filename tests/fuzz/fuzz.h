/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the libFuzzer targets of tests/fuzz/.
 *
 * Each target builds one real region of the shm backend per process (in
 * LLVMFuzzerInitialize, the same for every target, below: under a name
 * unique to the process, unlinked as soon as it is set up), adds its
 * object to it (struct fz_target, which each target defines) and keeps a
 * pristine copy of the whole data area. Every input starts from that copy, then
 * overwrites the memory under test (a ring's header and buffer, or the
 * directory) with fuzzer bytes, so inputs never depend on each other.
 *
 * The region is mapped memory, which AddressSanitizer does not guard by
 * itself: fz_guard() poisons every byte of the data area a reader has no
 * business touching (everything but the directory and the objects under
 * test), so a read past a ring is reported like a heap overflow. Reads
 * past the end of the region hit whatever lies beyond it and are caught
 * by the explicit bounds checks (FZ_CHECK) on everything a reader returns.
 *
 * An input is laid out as
 *   [0]        mode: which memory is fuzzed and which API is driven
 *   [1, 16)    op codes, read in turn by fz_op() (the API calls to make)
 *   [16, ...)  bytes copied over the memory under test (zero-filled when
 *              the input is shorter)
 */
#ifndef PINSHM_FUZZ_H
#define PINSHM_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinshm.h>

/* Test code: the metadata writers of the shm backend (fz_plant_dead). */
#include "../../libshm/src/internal.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define FZ_ASAN 1
#endif
#endif
#ifndef FZ_ASAN
#define ASAN_POISON_MEMORY_REGION(a, n)		((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n)	((void)(a), (void)(n))
#endif

#define FZ_HDR		16	/* mode byte + op codes */
#define FZ_DIR_BYTES	8192	/* sizeof(struct pinshm_dir), page-rounded */

_Static_assert(sizeof(struct pinshm_dir) <= FZ_DIR_BYTES, "directory size");

/* A violated property: print it and abort (libFuzzer saves the input). */
#define FZ_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "FZ_CHECK failed: %s (%s:%d): ", \
				#cond, __FILE__, __LINE__);		\
			fprintf(stderr, __VA_ARGS__);			\
			fprintf(stderr, "\n");				\
			abort();					\
		}							\
	} while (0)

struct fz_region {
	struct pinshm_region *r;
	uint8_t *data;
	uint64_t size;
	uint8_t *pristine;
	char name[PINSHM_NAME_MAX];
	struct pinshm_obj_info obj;	/* the object under test */
	/* Byte ranges of the data area readers may touch (besides the dir). */
	uint64_t open_off[8];
	uint64_t open_len[8];
	unsigned int nr_open;
};

static struct fz_region fz;

/* What a target fuzzes: one object, where the directory must put it. */
struct fz_target {
	const char *tag;	/* its type, in the region's name */
	const char *name;	/* the object's name */
	uint64_t region_size;
	int (*create)(struct pinshm_region *r, const char *name);
	uint64_t off;		/* its offset in the data area */
	uint64_t size_min;	/* bounds of the size the directory gives it */
	uint64_t size_max;	/* (0: no upper bound) */
	uint64_t open_len;	/* its bytes readers may touch (0: all) */
	bool plant_dead;	/* fz_plant_dead(): dead attachers to name */
};

/* Each target defines it, once. */
static const struct fz_target fz_target;

static void fz_atexit(void)
{
	if (!fz.r)
		return;
	ASAN_UNPOISON_MEMORY_REGION(fz.data, fz.size);
	pinshm_region_close(fz.r);
	pinshm_region_destroy(fz.name, PINSHM_BACKEND_SHM);
	fz.r = NULL;
}

/* Create the region "fz-<tag>-<pid>"; the caller adds objects, then
 * calls fz_snapshot(). */
static inline void fz_create(const char *tag, uint64_t size)
{
	struct pinshm_region_opts o;
	int ret;

	snprintf(fz.name, sizeof(fz.name), "fz-%s-%d", tag, (int)getpid());
	pinshm_region_destroy(fz.name, PINSHM_BACKEND_SHM);	/* a leftover */
	pinshm_region_opts_init(&o);
	o.size = size;
	o.backend = PINSHM_BACKEND_SHM;
	ret = pinshm_region_create(fz.name, &o, &fz.r);
	FZ_CHECK(ret == 0, "create %s: %s", fz.name, strerror(-ret));
	fz.data = pinshm_region_data(fz.r);
	fz.size = pinshm_region_size(fz.r);
	atexit(fz_atexit);
}

/* Let readers touch [off, off + len) of the data area. */
static inline void fz_open(uint64_t off, uint64_t len)
{
	FZ_CHECK(fz.nr_open < 8 && off + len <= fz.size, "fz_open");
	fz.open_off[fz.nr_open] = off;
	fz.open_len[fz.nr_open++] = len;
}

/*
 * Keep a pristine copy, and unlink the region: the mapping and the file
 * descriptor stay valid, and a fuzzer that crashes or times out (no atexit
 * then) leaves nothing behind in /dev/shm.
 */
static inline void fz_snapshot(void)
{
	fz.pristine = malloc(fz.size);
	FZ_CHECK(fz.pristine != NULL, "malloc");
	memcpy(fz.pristine, fz.data, fz.size);
	pinshm_region_destroy(fz.name, PINSHM_BACKEND_SHM);
}

/* Poison what no reader should touch; guard = 0 opens everything. */
static inline void fz_guard(int guard)
{
	unsigned int i;

	ASAN_UNPOISON_MEMORY_REGION(fz.data, fz.size);
	if (!guard)
		return;
	ASAN_POISON_MEMORY_REGION(fz.data + FZ_DIR_BYTES,
				  fz.size - FZ_DIR_BYTES);
	for (i = 0; i < fz.nr_open; i++)
		ASAN_UNPOISON_MEMORY_REGION(fz.data + fz.open_off[i],
					    fz.open_len[i]);
}

/* Back to the pristine region (everything unpoisoned). */
static inline void fz_restore(void)
{
	ASAN_UNPOISON_MEMORY_REGION(fz.data, fz.size);
	memcpy(fz.data, fz.pristine, fz.size);
}

/*
 * The next len input bytes (*p, *n: what is left of the input) over
 * [off, off + len) of the data area; zeroes once the input runs out.
 */
static inline void fz_fill(uint64_t off, uint64_t len, const uint8_t **p,
			   size_t *n)
{
	size_t k = *n < len ? *n : (size_t)len;

	if (k) {
		memcpy(fz.data + off, *p, k);
		*p += k;
		*n -= k;
	}
	memset(fz.data + off + k, 0, len - k);
}

/* Back to the pristine region, then fuzzer bytes over [off, off + len). */
static inline void fz_reset(uint64_t off, uint64_t len, const uint8_t *p,
			    size_t n)
{
	fz_restore();
	fz_fill(off, len, &p, &n);
}

/* The bytes of an input after its header. */
static inline const uint8_t *fz_payload(const uint8_t *in, size_t n,
					size_t *left)
{
	*left = n > FZ_HDR ? n - FZ_HDR : 0;
	return n > FZ_HDR ? in + FZ_HDR : in;
}

/*
 * Dead attachers the recovery paths can find: FZ_NR_DEAD slots of the
 * metadata page (written by the library itself on the shm backend) say
 * that process FZ_DEAD_PID + i, started at FZ_DEAD_START + i, died (the
 * last one: exec'ed). Inputs name them as owners of claims.
 */
#define FZ_NR_DEAD	4
#define FZ_DEAD_PID	0x3ffff0u	/* above any pid this test runs */
#define FZ_DEAD_START	0x1000u

static inline void fz_plant_dead(void)
{
	struct pinshm_meta *m =
		(struct pinshm_meta *)pinshm_region_meta_page(fz.r);
	unsigned int i, n = 0;

	__pinshm_meta_write_begin(m);
	for (i = 0; i < PINSHM_MAX_ATTACH && n < FZ_NR_DEAD; i++) {
		struct pinshm_attach *a = &m->attach[i];

		if (a->tgid)
			continue;
		memset(a, 0, sizeof(*a));
		a->tgid = FZ_DEAD_PID + n;
		a->start_time = FZ_DEAD_START + n;
		a->access = PINSHM_ACC_RW;
		a->state = n == FZ_NR_DEAD - 1 ? PINSHM_ST_EXEC : PINSHM_ST_DIED;
		a->signal = 9;
		n++;
	}
	m->generation++;
	m->crashes += n;
	__pinshm_meta_write_end(m);
}

/*
 * Modes this run may take: PINSHM_FUZZ_MODES="023" in the environment
 * skips the others (an input of a skipped mode returns at once). For long
 * runs by hand while a known bug of one mode waits for its fix; make
 * check-fuzz runs every mode.
 */
static inline int fz_mode(const uint8_t *in, size_t n)
{
	static const char *allowed;
	static int init;
	int mode = n ? in[0] % 4 : 0;

	if (!init) {
		allowed = getenv("PINSHM_FUZZ_MODES");
		init = 1;
	}
	if (allowed && *allowed && !strchr(allowed, '0' + mode))
		return -1;
	return mode;
}

/* The op codes of an input, read in turn, cycling. */
struct fz_ops {
	const uint8_t *op;
	size_t n, i;
};

static inline struct fz_ops fz_ops_of(const uint8_t *in, size_t n)
{
	struct fz_ops o = { in + 1, n > FZ_HDR ? FZ_HDR - 1 : (n ? n - 1 : 0), 0 };

	return o;
}

static inline unsigned int fz_op(struct fz_ops *o)
{
	if (!o->n)
		return 0;
	return o->op[o->i++ % o->n];
}

/* [p, p + len) inside [base, base + cap)? */
static inline int fz_inside(const void *p, uint64_t len, const void *base,
			    uint64_t cap)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;

	return a >= b && a - b <= cap && len <= cap - (a - b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct fz_target *t = &fz_target;
	struct pinshm_obj_info *o = &fz.obj;
	int ret;

	(void)argc;
	(void)argv;
	fz_create(t->tag, t->region_size);
	ret = t->create(fz.r, t->name);
	FZ_CHECK(ret == 0, "%s_create: %d", t->tag, ret);
	ret = pinshm_obj_find(fz.r, t->name, o);
	FZ_CHECK(ret == 0 && o->offset == t->off && o->size >= t->size_min &&
		 (!t->size_max || o->size <= t->size_max),
		 "%s at %llu, %llu bytes", t->tag,
		 (unsigned long long)o->offset, (unsigned long long)o->size);
	if (t->plant_dead)
		fz_plant_dead();
	fz_open(t->off, t->open_len ? t->open_len : o->size);
	fz_snapshot();
	return 0;
}

#endif /* PINSHM_FUZZ_H */
