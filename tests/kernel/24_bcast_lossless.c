// SPDX-License-Identifier: GPL-2.0
/*
 * The lossless broadcast ring of libpinshm on the real module: a writer
 * and two registered reader processes over a ring in kernel memory move
 * every record, in order, none lost; a read-only mapping cannot register
 * (-EACCES) but reads; a registered reader that stops reading holds the
 * writer (-EAGAIN) while alive, and once it is killed with SIGKILL and the
 * kernel records the death in the metadata page, the writer drops its gate
 * and goes on.
 */
#include "common.h"

#include <pinshm.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define SLOTS	256ULL
#define NMSG	200000ULL

static const char *region;

static int gated(struct pinshm_region **r, struct pinshm_bcast *rd)
{
	return pinshm_region_open(region, PINSHM_RDWR, PINSHM_BACKEND_AUTO, r) ?:
	       pinshm_bcast_attach(*r, "b", PINSHM_READER | PINSHM_BCAST_GATING, rd);
}

/* A registered reader: NMSG records {seq, ~seq}, in order, none lost. */
static void reader(volatile int *ready)
{
	struct pinshm_region *r;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;
	struct pinshm_bcast_stats st;
	uint64_t v[2], next = 0, deadline;

	if (gated(&r, &rd))
		_exit(10);
	__atomic_add_fetch(ready, 1, __ATOMIC_SEQ_CST);
	deadline = mono_us() + 120 * 1000000ULL;
	while (next < NMSG) {
		int ret = pinshm_bcast_recv(&rd, v, sizeof(v), &m, PINSHM_WAIT_FUTEX);

		if (ret != (int)sizeof(v) || mono_us() > deadline)
			_exit(11);
		if (m.seq != next || v[0] != next || v[1] != ~next)
			_exit(12);
		next++;
	}
	pinshm_bcast_stats(&rd, &st);
	if (st.lost || st.lapped)
		_exit(13);
	pinshm_bcast_detach(&rd);
	pinshm_region_close(r);
	_exit(0);
}

/* Registers, reads `n` records, then sleeps until killed. */
static void stopper(volatile int *ready, uint64_t n)
{
	struct pinshm_region *r;
	struct pinshm_bcast rd;
	struct pinshm_bcast_msg m;
	uint64_t v[2];

	if (gated(&r, &rd))
		_exit(10);
	__atomic_add_fetch(ready, 1, __ATOMIC_SEQ_CST);
	while (n && pinshm_bcast_recv(&rd, v, sizeof(v), &m, PINSHM_WAIT_FUTEX) > 0)
		n--;
	__atomic_add_fetch(ready, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
}

static int send(struct pinshm_bcast *w, uint64_t n)
{
	uint64_t v[2] = { n, ~n };

	return pinshm_bcast_send(w, v, sizeof(v), 0);
}

int main(void)
{
	struct pinshm_region_opts o;
	struct pinshm_region *r, *ro;
	struct pinshm_bcast w, rd;
	struct pinshm_meta meta;
	struct pinshm_ring_stats s;
	volatile int *ready;
	uint64_t n, tries;
	pid_t pid[2], vp;
	int st, ret, i, ok, died = 0;

	tap_plan(9);
	region = tname("bcll");
	cleanup_add(region);
	ready = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ready == MAP_FAILED)
		tap_bail("mmap");

	pinshm_region_opts_init(&o);
	o.size = 4 << 20;
	ret = pinshm_region_create(region, &o, &r);
	if (!tap_ok(ret == 0 && pinshm_region_backend(r) == PINSHM_BACKEND_KMOD,
		    "a region on the module (%d)", ret))
		tap_bail("no region");
	ret = pinshm_bcast_create_flags(r, "b", SLOTS, 16, PINSHM_BCAST_LOSSLESS);
	tap_ok(ret == 0, "lossless broadcast ring of %llu slots in kernel memory (%d)",
	       SLOTS, ret);
	ret = pinshm_bcast_attach(r, "b", PINSHM_WRITER, &w);
	if (!tap_ok(ret == 0, "writer attached (%d)", ret))
		tap_bail("no writer");

	/* Two registered readers, the writer held by the library only. */
	*ready = 0;
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			reader(ready);
	}
	while (*ready < 2)
		usleep(1000);
	for (n = 0, ok = 1; n < NMSG && ok; n++)
		while ((ret = send(&w, n)) == -EAGAIN)
			sched_yield();
	for (i = 0; i < 2; i++) {
		waitpid(pid[i], &st, 0);
		ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	pinshm_obj_stats(r, "b", &s);
	tap_ok(ok && ret == 0, "2 registered readers x %llu records, in order, none lost "
	       "(writer held %llu times)", NMSG, (unsigned long long)s.full_events);

	/* Read-only: no gate, but a lossy read. */
	ret = pinshm_region_open(region, PINSHM_RDONLY, PINSHM_BACKEND_AUTO, &ro);
	if (ret == 0) {
		ret = pinshm_bcast_attach(ro, "b", PINSHM_READER | PINSHM_BCAST_GATING, &rd);
		ok = pinshm_bcast_attach(ro, "b", PINSHM_READER, &rd) == 0;
		pinshm_region_close(ro);
	}
	tap_ok(ret == -EACCES && ok, "a read-only mapping cannot register (%d) but reads", ret);

	/* A reader that stops: held while alive, dropped once dead. */
	*ready = 0;
	vp = fork();
	if (vp == 0)
		stopper(ready, 10);
	while (*ready < 1)
		usleep(1000);
	for (n = NMSG; n < NMSG + 10; n++)
		while (send(&w, n) == -EAGAIN)
			sched_yield();
	while (*ready < 2)
		usleep(1000);
	for (; n < NMSG + 10 + SLOTS; n++)
		if (send(&w, n))
			break;
	for (tries = 0, ok = 1; tries < 20 * PINSHM_BCAST_DEATH_CHECK; tries++)
		ok &= send(&w, n) == -EAGAIN;
	tap_ok(ok && n == NMSG + 10 + SLOTS,
	       "a live reader that stopped holds the writer a ring ahead of it");
	kill(vp, SIGKILL);
	waitpid(vp, &st, 0);
	pinshm_region_meta(r, &meta);
	for (i = 0; i < PINSHM_MAX_ATTACH; i++)
		if (meta.attach[i].tgid == (uint32_t)vp &&
		    meta.attach[i].state == PINSHM_ST_DIED && meta.attach[i].signal == SIGKILL)
			died = 1;
	tap_ok(died, "the killed reader shows as died with signal 9");
	for (tries = 0; tries < 100 * PINSHM_BCAST_DEATH_CHECK; tries++)
		if ((ret = send(&w, n)) != -EAGAIN)
			break;
	pinshm_obj_stats(r, "b", &s);
	tap_ok(ret == 0 && s.recoveries == 1,
	       "the writer dropped the dead reader's gate and went on (%d, %llu)", ret,
	       (unsigned long long)s.recoveries);

	pinshm_bcast_detach(&w);
	tap_ok(pinshm_region_close(r) == 0 &&
	       pinshm_region_destroy(region, PINSHM_BACKEND_AUTO) == 0,
	       "close and destroy");
	return tap_finish();
}
