// SPDX-License-Identifier: MIT
/*
 * The pinshm transport: trade.h's links as libpinshm rings and slots in
 * three regions, on the backend of cfg.backend (pinshm.ko or shm).
 *
 *   <prefix>-md    ticks (bcast, lossy) and book.I (slots): md writes,
 *                  strategies and exec map it read-only
 *   <prefix>-risk  pos.S (slots): risk writes, strategy S maps it read-only
 *   <prefix>-ord   risk.in, oms.in, log (MPSC), exec.in, rpt.S (SPSC)
 *
 * Every stage process opens the regions itself after the fork (the
 * module's mappings are not inherited) and attaches its roles. A restarted
 * stage takes its dead predecessor's roles over: rings continue from their
 * committed positions, an MPSC producer continues its pinshm_mpsc_last(),
 * and an MPSC producer slot whose dead holder left a claim gives -EAGAIN
 * until the consumer has padded it (retried here).
 *
 * Waiting: tr_peek() spins for a stage named in cfg.spin, else sleeps in
 * the ring's wait (futex on shm, the module's WAIT on pinshm.ko) for at
 * most the caller's timeout; where the kernel cannot sleep on the memory
 * it naps 20 us between looks instead. Producers never sleep on a full
 * ring (nobody would wake them): they yield, then nap, and give up only
 * when the runner says stop == 2.
 *
 * The rings' own protocols order every record; the only atomics here are
 * relaxed loads of sh->stop (the runner's flag, needed only eventually:
 * nothing is read because of it). Records are checked (length) before a
 * stage sees them; a ring that holds garbage gives -EBADMSG.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pinshm.h>

#include "xp.h"

enum xp_kind {
	K_NONE, K_BCAST_W, K_BCAST_R, K_MPSC_P, K_MPSC_C, K_SPSC_P, K_SPSC_C,
	K_SLOT_W, K_SLOT_R
};

#define XP_TICK_SLOTS	8192
#define XP_MPSC_CAP	(512u << 10)
#define XP_LOG_CAP	(1u << 20)
#define XP_SPSC_CAP	(128u << 10)
#define XP_MD_SIZE	(2u << 20)
#define XP_ORD_SIZE	(4u << 20)
#define XP_RISK_SIZE	(64u << 10)
#define XP_NAP_NS	20000

struct xp_link {
	enum xp_kind kind;
	bool no_sleep;		/* the ring's wait cannot sleep here */
	bool peeked;
	union {
		struct pinshm_bcast b;
		struct pinshm_mpsc m;
		struct pinshm_spsc s;
		struct pinshm_slot sl;
	};
	uint64_t lost;		/* bcast reader: lost records counted so far */
	uint8_t buf[TR_MSG] __attribute__((aligned(8)));  /* bcast copy */
};

struct xp_pio {
	struct tr_io io;
	struct tr_shared *sh;
	int proc;
	bool spin;
	struct pinshm_region *md, *risk, *ord;
	struct xp_link l[TR_LINKS];
};

static struct xp_pio *pio(struct tr_io *io)
{
	return (struct xp_pio *)io;	/* io is the first member */
}

static void region_name(const struct tr_shared *sh, const char *what,
			char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s", sh->cfg.prefix[0] ? sh->cfg.prefix :
		 "trade", what);
}

static void nap(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- setup and teardown (the runner) ----------------------------------- */

static int make_region(struct tr_shared *sh, const char *what, uint64_t size,
		       struct pinshm_region **out)
{
	struct pinshm_region_opts o;
	char name[PINSHM_NAME_MAX];
	int ret;

	region_name(sh, what, name, sizeof(name));
	pinshm_region_opts_init(&o);
	o.size = size;
	o.mode = 0600;
	o.backend = sh->cfg.backend;
	ret = pinshm_region_create(name, &o, out);
	if (ret == -EEXIST) {	/* left by a run that was killed: replace */
		pinshm_region_destroy(name, sh->cfg.backend);
		ret = pinshm_region_create(name, &o, out);
	}
	if (ret)
		fprintf(stderr, "pinshm-demo: region %s: %s\n", name,
			strerror(-ret));
	return ret;
}

static int xp_setup(struct tr_shared *sh)
{
	struct pinshm_region *md = NULL, *risk = NULL, *ord = NULL;
	char n[32];
	unsigned int i;
	int ret;

	if (sh->cfg.strategies < 1 || sh->cfg.strategies > TR_MAX_STRAT)
		return -EINVAL;
	ret = make_region(sh, "md", XP_MD_SIZE, &md);
	if (ret)
		goto out;
	ret = pinshm_bcast_create(md, "ticks", XP_TICK_SLOTS, TR_MSG);
	for (i = 0; !ret && i < TR_INSTR; i++) {
		tr_link_name(L_BOOK(i), n, sizeof(n));
		ret = pinshm_slot_create(md, n, sizeof(struct tr_tick));
	}
	if (ret)
		goto out_objs;
	ret = make_region(sh, "risk", XP_RISK_SIZE, &risk);
	if (ret)
		goto out;
	for (i = 0; !ret && i < sh->cfg.strategies; i++) {
		tr_link_name(L_POS(i), n, sizeof(n));
		ret = pinshm_slot_create(risk, n, sizeof(struct tr_pos));
	}
	if (ret)
		goto out_objs;
	ret = make_region(sh, "ord", XP_ORD_SIZE, &ord);
	if (ret)
		goto out;
	ret = pinshm_mpsc_create(ord, "risk.in", XP_MPSC_CAP, TR_MSG);
	if (!ret)
		ret = pinshm_mpsc_create(ord, "oms.in", XP_MPSC_CAP, TR_MSG);
	if (!ret)
		ret = pinshm_mpsc_create(ord, "log", XP_LOG_CAP, TR_MSG);
	if (!ret)
		ret = pinshm_spsc_create(ord, "exec.in", XP_SPSC_CAP, TR_MSG);
	for (i = 0; !ret && i < sh->cfg.strategies; i++) {
		tr_link_name(L_RPT(i), n, sizeof(n));
		ret = pinshm_spsc_create(ord, n, XP_SPSC_CAP, TR_MSG);
	}
out_objs:
	if (ret)
		fprintf(stderr, "pinshm-demo: rings: %s\n", strerror(-ret));
out:
	if (md)
		pinshm_region_close(md);
	if (risk)
		pinshm_region_close(risk);
	if (ord)
		pinshm_region_close(ord);
	if (ret)
		xp_pinshm_ops.teardown(sh);
	return ret;
}

static void xp_teardown(struct tr_shared *sh)
{
	static const char *const what[] = { "md", "risk", "ord" };
	char name[PINSHM_NAME_MAX];
	unsigned int i;

	for (i = 0; i < 3; i++) {
		region_name(sh, what[i], name, sizeof(name));
		pinshm_region_destroy(name, sh->cfg.backend);
	}
}

static const char *xp_describe(const struct tr_shared *sh, char *buf,
			       size_t len)
{
	int b = pinshm_backend_resolve(sh->cfg.backend);

	snprintf(buf, len, "pinshm rings, %s backend (%s)",
		 b >= 0 ? pinshm_backend_name(b) : "unknown",
		 b == PINSHM_BACKEND_KMOD ? "/dev/pinshm: pinned, contiguous" :
		 "files under /dev/shm");
	return buf;
}

/* ---- a stage's ends ---------------------------------------------------- */

static int open_region(struct xp_pio *p, const char *what, int access,
		       struct pinshm_region **out)
{
	char name[PINSHM_NAME_MAX];

	if (*out)
		return 0;
	region_name(p->sh, what, name, sizeof(name));
	return pinshm_region_open(name, access, p->sh->cfg.backend, out);
}

/*
 * Attach one role. A restarted stage may find its predecessor's role
 * still held (-EBUSY: its death not seen yet) or its half-made claim not
 * padded yet (-EAGAIN): retry for up to 10 s, unless the run is failing.
 */
static int attach(struct xp_pio *p, int link, enum xp_kind kind, int prod_id)
{
	struct pinshm_region *r;
	struct xp_link *l = &p->l[link];
	char n[32];
	unsigned int tries;
	int ret;

	if (link == L_TICKS || link >= L_BOOK0)
		r = p->md;
	else if (link >= L_POS0 && link < L_POS0 + TR_MAX_STRAT)
		r = p->risk;
	else
		r = p->ord;
	tr_link_name(link, n, sizeof(n));
	for (tries = 0; ; tries++) {
		switch (kind) {
		case K_BCAST_W:
		case K_BCAST_R:
			ret = pinshm_bcast_attach(r, n, kind == K_BCAST_W ?
						  PINSHM_WRITER : PINSHM_READER,
						  &l->b);
			break;
		case K_MPSC_P:
		case K_MPSC_C:
			ret = pinshm_mpsc_attach(r, n, kind == K_MPSC_P ?
						 PINSHM_PRODUCER_ID(prod_id) :
						 PINSHM_CONSUMER, &l->m);
			break;
		case K_SPSC_P:
		case K_SPSC_C:
			ret = pinshm_spsc_attach(r, n, kind == K_SPSC_P ?
						 PINSHM_PRODUCER :
						 PINSHM_CONSUMER, &l->s);
			break;
		default:
			ret = pinshm_slot_attach(r, n, kind == K_SLOT_W ?
						 PINSHM_WRITER : PINSHM_READER,
						 &l->sl);
			break;
		}
		if ((ret != -EAGAIN && ret != -EBUSY) || tries >= 10000 ||
		    __atomic_load_n(&p->sh->stop, __ATOMIC_RELAXED) == 2)
			break;
		if (ret == -EBUSY)	/* shm: look for deaths ourselves */
			pinshm_region_recover(r);
		nap(1000000);
	}
	if (ret) {
		fprintf(stderr, "pinshm-demo: %s: attach %s: %s\n",
			p->proc >= P_STRAT0 ? "strategy" : "stage", n,
			strerror(-ret));
		return ret;
	}
	l->kind = kind;
	return 0;
}

static int xp_io_open(struct tr_shared *sh, int proc, bool restarted,
		      struct tr_io **out)
{
	struct xp_pio *p;
	unsigned int i, ns = sh->cfg.strategies;
	int ret = 0;

	(void)restarted;	/* the libraries' attach takes roles over */
	if (proc < 0 || proc >= TR_MAX_PROCS ||
	    (proc >= P_STRAT0 && (unsigned int)(proc - P_STRAT0) >= ns))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->sh = sh;
	p->proc = proc;
	p->spin = (sh->cfg.spin >> proc) & 1;
	if (proc == P_MD) {
		ret = open_region(p, "md", PINSHM_RDWR, &p->md);
	} else if (proc >= P_STRAT0 || proc == P_EXEC) {
		ret = open_region(p, "md", PINSHM_RDONLY, &p->md);
		if (!ret && proc >= P_STRAT0)
			ret = open_region(p, "risk", PINSHM_RDONLY, &p->risk);
	} else if (proc == P_RISK) {
		ret = open_region(p, "risk", PINSHM_RDWR, &p->risk);
	}
	if (!ret)
		ret = open_region(p, "ord", PINSHM_RDWR, &p->ord);
	if (ret) {
		fprintf(stderr, "pinshm-demo: open regions: %s\n",
			strerror(-ret));
		goto fail;
	}
	if (proc != P_LOG)
		ret = attach(p, L_LOG, K_MPSC_P, proc);
	switch (proc) {
	case P_MD:
		if (!ret)
			ret = attach(p, L_TICKS, K_BCAST_W, 0);
		for (i = 0; !ret && i < TR_INSTR; i++)
			ret = attach(p, L_BOOK(i), K_SLOT_W, 0);
		break;
	case P_RISK:
		if (!ret)
			ret = attach(p, L_RISK_IN, K_MPSC_C, 0);
		if (!ret)
			ret = attach(p, L_OMS_IN, K_MPSC_P, 0);
		for (i = 0; !ret && i < ns; i++)
			ret = attach(p, L_POS(i), K_SLOT_W, 0);
		break;
	case P_OMS:
		if (!ret)
			ret = attach(p, L_OMS_IN, K_MPSC_C, 0);
		if (!ret)
			ret = attach(p, L_EXEC_IN, K_SPSC_P, 0);
		if (!ret)
			ret = attach(p, L_RISK_IN, K_MPSC_P, TR_OMS_ID_RISK);
		for (i = 0; !ret && i < ns; i++)
			ret = attach(p, L_RPT(i), K_SPSC_P, 0);
		break;
	case P_EXEC:
		if (!ret)
			ret = attach(p, L_EXEC_IN, K_SPSC_C, 0);
		if (!ret)
			ret = attach(p, L_OMS_IN, K_MPSC_P, 1);
		for (i = 0; !ret && i < TR_INSTR; i++)
			ret = attach(p, L_BOOK(i), K_SLOT_R, 0);
		break;
	case P_LOG:
		ret = attach(p, L_LOG, K_MPSC_C, 0);
		break;
	default:	/* a strategy */
		i = (unsigned int)(proc - P_STRAT0);
		if (!ret)
			ret = attach(p, L_TICKS, K_BCAST_R, 0);
		if (!ret)
			ret = attach(p, L_RISK_IN, K_MPSC_P, (int)i);
		if (!ret)
			ret = attach(p, L_RPT(i), K_SPSC_C, 0);
		if (!ret)
			ret = attach(p, L_POS(i), K_SLOT_R, 0);
		break;
	}
	if (ret)
		goto fail;
	*out = &p->io;
	return 0;
fail:
	xp_pinshm_ops.io_close(&p->io);
	return ret;
}

static void xp_io_close(struct tr_io *io)
{
	struct xp_pio *p = pio(io);
	unsigned int i;

	for (i = 0; i < TR_LINKS; i++) {
		struct xp_link *l = &p->l[i];

		switch (l->kind) {
		case K_BCAST_W:
		case K_BCAST_R:
			pinshm_bcast_detach(&l->b);
			break;
		case K_MPSC_P:
		case K_MPSC_C:
			pinshm_mpsc_detach(&l->m);
			break;
		case K_SPSC_P:
		case K_SPSC_C:
			pinshm_spsc_detach(&l->s);
			break;
		case K_SLOT_W:
		case K_SLOT_R:
			pinshm_slot_detach(&l->sl);
			break;
		default:
			break;
		}
	}
	if (p->md)
		pinshm_region_close(p->md);
	if (p->risk)
		pinshm_region_close(p->risk);
	if (p->ord)
		pinshm_region_close(p->ord);
	free(p);
}

/* ---- producers ------------------------------------------------------- */

static void *xp_claim(struct tr_io *io, int link)
{
	struct xp_pio *p = pio(io);
	struct xp_link *l;
	unsigned int spins = 0;
	void *d = NULL;
	int ret;

	if (link < 0 || link >= TR_LINKS)
		return NULL;
	l = &p->l[link];
	for (;;) {
		switch (l->kind) {
		case K_BCAST_W:
			ret = pinshm_bcast_claim(&l->b, TR_MSG, &d);
			break;
		case K_MPSC_P:
			ret = pinshm_mpsc_claim(&l->m, TR_MSG, &d);
			break;
		case K_SPSC_P:
			ret = pinshm_spsc_claim(&l->s, TR_MSG, &d);
			break;
		default:
			return NULL;
		}
		if (ret != -EAGAIN)
			return ret ? NULL : d;
		/* Full: back-pressure. Spin a little, then yield, then nap. */
		if (__atomic_load_n(&p->sh->stop, __ATOMIC_RELAXED) == 2)
			return NULL;
		if (++spins < 64)
			pinshm_cpu_relax();
		else if (spins < 256 || p->spin)
			sched_yield();
		else
			nap(XP_NAP_NS);
	}
}

static void xp_commit(struct tr_io *io, int link)
{
	struct xp_link *l = &pio(io)->l[link];

	switch (l->kind) {
	case K_BCAST_W:
		pinshm_bcast_commit(&l->b, TR_MSG, 0);
		break;
	case K_MPSC_P:
		pinshm_mpsc_commit(&l->m, TR_MSG, 0);
		break;
	case K_SPSC_P:
		pinshm_spsc_commit(&l->s, TR_MSG, 0);
		break;
	default:
		break;
	}
}

static int xp_last(struct tr_io *io, int link, uint64_t *word)
{
	struct xp_link *l;
	struct pinshm_msg m;
	uint32_t type;
	int ret;

	*word = 0;
	if (link < 0 || link >= TR_LINKS)
		return -EINVAL;
	l = &pio(io)->l[link];
	switch (l->kind) {
	case K_MPSC_P:
		ret = pinshm_mpsc_last(&l->m, word, &type);
		break;
	case K_SPSC_P:
		ret = pinshm_spsc_last(&l->s, &m);
		if (!ret)
			memcpy(word, m.data, m.len < 8 ? m.len : 8);
		break;
	default:
		return -EINVAL;
	}
	return ret;
}

/* ---- consumers ------------------------------------------------------- */

/* One look: 1 and *m, 0 nothing, -EBADMSG. Odd-sized records are skipped. */
static int try_peek(struct xp_pio *p, struct xp_link *l, const void **m)
{
	struct pinshm_bcast_msg bm;
	struct pinshm_msg pm = { 0 };
	unsigned int tries;
	int ret;

	for (tries = 0; tries < 64; tries++) {
		switch (l->kind) {
		case K_MPSC_C:
			ret = pinshm_mpsc_peek(&l->m, &pm);
			if (ret == 0 && pm.len != TR_MSG) {
				pinshm_mpsc_release(&l->m);
				continue;
			}
			break;
		case K_SPSC_C:
			ret = pinshm_spsc_peek(&l->s, &pm);
			if (ret == 0 && pm.len != TR_MSG) {
				pinshm_spsc_release(&l->s);
				continue;
			}
			break;
		case K_BCAST_R:
			ret = pinshm_bcast_peek(&l->b, &bm);
			if (ret == -ESTALE)
				continue;
			if (ret)
				break;
			if (bm.len == TR_MSG)
				__pinshm_copy_out(l->buf, bm.data, TR_MSG);
			/* Overwritten while we copied: the next peek counts
			 * the lap. A record of another size: skip it. */
			if (pinshm_bcast_release(&l->b) || bm.len != TR_MSG)
				continue;
			pm.data = l->buf;
			break;
		default:
			return -EINVAL;
		}
		if (ret == -EAGAIN)
			return 0;
		if (ret)
			return ret;
		*m = pm.data;
		l->peeked = true;
		return 1;
	}
	(void)p;
	return 0;
}

static int ring_wait(struct xp_link *l, int64_t ns)
{
	switch (l->kind) {
	case K_MPSC_C:
		return pinshm_mpsc_wait(&l->m, ns);
	case K_SPSC_C:
		return pinshm_spsc_wait(&l->s, ns);
	case K_BCAST_R:
		return pinshm_bcast_wait(&l->b, ns);
	default:
		return -EINVAL;
	}
}

static int xp_peek(struct tr_io *io, int link, const void **m,
		   int64_t timeout_ns)
{
	struct xp_pio *p = pio(io);
	struct xp_link *l;
	uint64_t deadline = 0, now;
	unsigned int n = 0;
	bool slept = false;
	int ret;

	if (link < 0 || link >= TR_LINKS)
		return -EINVAL;
	l = &p->l[link];
	*m = NULL;
	for (;;) {
		ret = try_peek(p, l, m);
		if (ret) {
			if (ret == 1 && slept)
				p->sh->st[p->proc].wakes++;
			return ret;
		}
		if (timeout_ns <= 0)
			return 0;
		if (p->spin) {
			if ((++n & 255) != 0) {
				pinshm_cpu_relax();
				continue;
			}
		}
		now = mono_ns();
		if (!deadline)
			deadline = now + (uint64_t)timeout_ns;
		else if (now >= deadline)
			return 0;
		if (p->spin)
			continue;
		if (!l->no_sleep) {
			ret = ring_wait(l, (int64_t)(deadline - now));
			if (ret == 0 || ret == -ETIMEDOUT || ret == -EINTR) {
				slept = true;
				continue;
			}
			l->no_sleep = true;	/* cannot sleep here: nap */
		}
		nap(XP_NAP_NS);
		slept = true;
	}
}

static void xp_release(struct tr_io *io, int link)
{
	struct xp_link *l = &pio(io)->l[link];
	struct pinshm_bcast_stats bs;

	if (!l->peeked)
		return;
	l->peeked = false;
	switch (l->kind) {
	case K_MPSC_C:
		pinshm_mpsc_release(&l->m);
		break;
	case K_SPSC_C:
		pinshm_spsc_release(&l->s);
		break;
	case K_BCAST_R:	/* released as copied; count what laps lost */
		if (pinshm_bcast_stats(&l->b, &bs) == 0 && bs.lost > l->lost) {
			pio(io)->sh->st[pio(io)->proc].lapped +=
				bs.lost - l->lost;
			l->lost = bs.lost;
		}
		break;
	default:
		break;
	}
}

/* ---- slots ------------------------------------------------------------- */

static int xp_slot_write(struct tr_io *io, int link, const void *v,
			 size_t len)
{
	struct xp_link *l;

	if (link < 0 || link >= TR_LINKS)
		return -EINVAL;
	l = &pio(io)->l[link];
	if (l->kind != K_SLOT_W)
		return -EINVAL;
	return pinshm_slot_send(&l->sl, v, (uint32_t)len);
}

static int xp_slot_read(struct tr_io *io, int link, void *v, size_t len)
{
	struct xp_link *l;
	int ret;

	if (link < 0 || link >= TR_LINKS)
		return -EINVAL;
	l = &pio(io)->l[link];
	if (l->kind != K_SLOT_R)
		return -EINVAL;
	ret = pinshm_slot_read(&l->sl, v, (uint32_t)len, NULL);
	if (ret < 0)
		return ret == -EAGAIN ? -ENODATA : ret;
	return (size_t)ret == len ? 0 : -ENODATA;
}

const struct tr_xp_ops xp_pinshm_ops = {
	.name = "pinshm",
	.setup = xp_setup,
	.teardown = xp_teardown,
	.describe = xp_describe,
	.io_open = xp_io_open,
	.io_close = xp_io_close,
	.claim = xp_claim,
	.commit = xp_commit,
	.peek = xp_peek,
	.release = xp_release,
	.slot_write = xp_slot_write,
	.slot_read = xp_slot_read,
	.last = xp_last,
};
