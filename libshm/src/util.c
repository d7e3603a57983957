// SPDX-License-Identifier: MIT
/* Names, sizes, backends, clocks and process liveness. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static bool name_ok(const char *name, size_t max)
{
	size_t i;

	if (!name || !name[0] || name[0] == '.')
		return false;
	for (i = 0; name[i]; i++) {
		unsigned char c = (unsigned char)name[i];

		if (i + 1 >= max)
			return false;
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
		if (c >= 0x80)
			return false;
	}
	return true;
}

__pinshm_export bool pinshm_name_valid(const char *name)
{
	return name_ok(name, PINSHM_NAME_MAX);
}

__pinshm_export bool pinshm_obj_name_valid(const char *name)
{
	return name_ok(name, PINSHM_OBJ_NAME_MAX);
}

__pinshm_export int pinshm_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		shift = 20;
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	default:
		return -EINVAL;
	}
	/* Accept "4K", "4KiB" and "4KB" alike. */
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

__pinshm_export const char *pinshm_backend_name(int backend)
{
	switch (backend) {
	case PINSHM_BACKEND_AUTO:
		return "auto";
	case PINSHM_BACKEND_KMOD:
		return "kmod";
	case PINSHM_BACKEND_SHM:
		return "shm";
	}
	return "unknown";
}

__pinshm_export int pinshm_backend_parse(const char *s)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "auto"))
		return PINSHM_BACKEND_AUTO;
	if (!strcmp(s, "kmod"))
		return PINSHM_BACKEND_KMOD;
	if (!strcmp(s, "shm"))
		return PINSHM_BACKEND_SHM;
	return -EINVAL;
}

__pinshm_export int pinshm_backend_resolve(int backend)
{
	const char *env;
	int b;

	if (backend == PINSHM_BACKEND_KMOD || backend == PINSHM_BACKEND_SHM)
		return backend;
	if (backend != PINSHM_BACKEND_AUTO)
		return -EINVAL;
	env = getenv("PINSHM_BACKEND");
	if (env && *env) {
		b = pinshm_backend_parse(env);
		if (b < 0)
			return b;
		if (b != PINSHM_BACKEND_AUTO)
			return b;
	}
	return access(PINSHM_DEV_PATH, F_OK) == 0 ? PINSHM_BACKEND_KMOD :
						    PINSHM_BACKEND_SHM;
}

__pinshm_export const char *pinshm_obj_type_name(uint32_t type)
{
	switch (type) {
	case PINSHM_OBJ_SPSC:
		return "spsc";
	case PINSHM_OBJ_MPSC:
		return "mpsc";
	case PINSHM_OBJ_BCAST:
		return "bcast";
	case PINSHM_OBJ_SLOT:
		return "slot";
	case PINSHM_OBJ_FANIN:
		return "fanin";
	}
	return "unknown";
}

__pinshm_export int pinshm_obj_type_parse(const char *s)
{
	uint32_t t;

	for (t = PINSHM_OBJ_SPSC; t <= PINSHM_OBJ_FANIN; t++)
		if (s && !strcmp(s, pinshm_obj_type_name(t)))
			return (int)t;
	return -EINVAL;
}

/* Wall-clock time (CLOCK_REALTIME), for the metadata page's timestamps. */
uint64_t __pinshm_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC, for deadlines. */
uint64_t __pinshm_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Start time of a process in ns since boot, from field 22 of
 * /proc/PID/stat (clock ticks), and its state letter (field 3).
 */
int __pinshm_pid_start_time(pid_t pid, uint64_t *start_ns, char *state)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: start after the last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	p += 2;
	if (state)
		*state = *p;
	for (field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
	}
	if (sscanf(p, "%llu", &ticks) != 1 || hz <= 0)
		return -EIO;
	*start_ns = ticks * (1000000000ULL / (unsigned long long)hz);
	return 0;
}

int __pinshm_self_start_time(uint64_t *start_ns)
{
	return __pinshm_pid_start_time(getpid(), start_ns, NULL);
}

/*
 * Is pid a live process, and which start time has it? 0: gone (or a
 * zombie), 1: alive with *st its start time, 2: alive as far as we can
 * tell (its start time unreadable: never declare a live one dead).
 */
static int pid_state(uint32_t pid, uint64_t *st)
{
	char state = '?';
	int ret;

	if (pid == 0 || pid > 0x3fffffff)
		return 0;
	ret = __pinshm_pid_start_time((pid_t)pid, st, &state);
	if (ret == -ENOENT || ret == -ESRCH)
		return 0;
	if (ret)
		return 2;
	if (state == 'Z' || state == 'X')
		return 0;
	return 1;
}

/* Alive: exists, is not a zombie, and is the same process (no pid reuse). */
bool __pinshm_pid_alive(uint32_t pid, uint64_t start_ns)
{
	uint64_t st = 0;

	switch (pid_state(pid, &st)) {
	case 0:
		return false;
	case 1:
		return start_ns == 0 || st == start_ns;
	}
	return true;
}

/*
 * The 32-bit fingerprint of a start time kept in role words: a mix of all
 * its bits, never 0 (0 stands for "unknown").
 */
uint32_t __pinshm_start_fp(uint64_t start_ns)
{
	uint64_t x = start_ns;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (uint32_t)x ? (uint32_t)x : 1;
}

/* The same, for a fingerprint: fp 0 (unknown start) is alive while pid is. */
bool __pinshm_pid_alive_fp(uint32_t pid, uint32_t fp)
{
	uint64_t st = 0;

	switch (pid_state(pid, &st)) {
	case 0:
		return false;
	case 1:
		return fp == 0 || __pinshm_start_fp(st) == fp;
	}
	return true;
}

int __pinshm_cmp_names(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

bool __pinshm_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}
