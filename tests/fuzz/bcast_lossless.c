// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: a lossless broadcast ring (PINSHM_BCAST_LOSSLESS,
 * pinshm/bcast.h, src/bcast.c) with its header, its gate table and its
 * slots under the attacker's control: the writer's attach and claims,
 * which read every gate (holder, pos, owner, owner_pid, owner_start) when
 * they meet the cached limit, and after PINSHM_BCAST_DEATH_CHECK refused
 * claims in a row drop the gates of owners the metadata page shows dead
 * (four dead attachers are planted); registered readers' attach (taking a
 * gate, the limit handshake), peek / release / recv / seek / detach; and
 * plain readers. No crash, no hang (a claim only ever returns), nothing
 * handed out or written outside the ring's slots, a registration never
 * starts ahead of the tail. The writer's role word is cleared.
 *
 * Modes (input[0] % 4): 0 readers, 1 writer then readers, 2 and 3 the
 * same with header block 0 (magic, geometry, flags, gates) kept valid;
 * 3 also makes every held gate vouch for a dead owner.
 */
#include <errno.h>

#include "fuzz.h"

#define SLOTS		16ULL
#define PAYLOAD		48u
#define SLOT_SIZE	64ULL
#define RING_OFF	FZ_DIR_BYTES
#define GATES_BYTES	(PINSHM_BCAST_GATES * PINSHM_BCAST_GATE_SIZE)
#define RING_BYTES	(PINSHM_BCAST_HDR_SIZE + GATES_BYTES + SLOTS * SLOT_SIZE)

static void check_msg(const struct pinshm_bcast *r,
		      const struct pinshm_bcast_msg *m)
{
	const uint8_t *d = m->data;

	FZ_CHECK(fz_inside(d - PINSHM_BCAST_SLOT_HDR,
			   PINSHM_BCAST_SLOT_HDR + (uint64_t)m->len, r->base,
			   r->slots * r->slot_size),
		 "record %p len %u outside the slots", m->data, m->len);
	FZ_CHECK(m->len <= r->max_payload, "len %u", m->len);
}

static void read_ring(struct fz_ops *ops, bool gating)
{
	struct pinshm_bcast r;
	struct pinshm_bcast_msg m;
	uint8_t buf[128];
	unsigned int it, op;
	uint64_t tail;
	int ret;

	ret = pinshm_bcast_attach(fz.r, "b", PINSHM_READER |
				  (gating ? PINSHM_BCAST_GATING : 0), &r);
	FZ_CHECK(ret == 0 || ret == -EBADMSG || ret == -EPROTONOSUPPORT ||
		 (gating && (ret == -ENOSPC || ret == -EOPNOTSUPP)),
		 "reader attach %d", ret);
	if (ret)
		return;
	FZ_CHECK(fz_inside(r.base, r.slots * r.slot_size, fz.data, fz.size),
		 "slots outside the region");
	if (gating) {
		FZ_CHECK(r.kgate && fz_inside(r.kgate, sizeof(*r.kgate),
					      fz.data, fz.size),
			 "gate outside the region");
		tail = PINSHM_READ_ONCE(r.sh->tail);
		FZ_CHECK(r.pos <= tail, "registered at %llu, tail %llu",
			 (unsigned long long)r.pos, (unsigned long long)tail);
	}
	for (it = 0; it < 2 * SLOTS + 10; it++) {
		op = fz_op(ops);
		switch (op % 4) {
		case 0:
			ret = pinshm_bcast_peek(&r, &m);
			FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -ESTALE ||
				 ret == -EBADMSG, "peek %d", ret);
			if (!ret)
				check_msg(&r, &m);
			break;
		case 1:
			ret = pinshm_bcast_release(&r);
			FZ_CHECK(ret == 0 || ret == -ESTALE, "release %d", ret);
			break;
		case 2:
			ret = pinshm_bcast_recv(&r, buf, sizeof(buf), &m,
						PINSHM_WAIT_NONE);
			FZ_CHECK(ret == -EAGAIN || ret == -EBADMSG ||
				 (ret >= 0 && ret <= (int)sizeof(buf)),
				 "recv %d", ret);
			break;
		default:
			ret = pinshm_bcast_seek(&r, (int)((op >> 2) % 3));
			FZ_CHECK(ret == 0, "seek %d", ret);
			break;
		}
	}
	ret = pinshm_bcast_detach(&r);
	FZ_CHECK(ret == 0, "reader detach %d", ret);
}

static void write_ring(struct fz_ops *ops)
{
	struct pinshm_bcast w;
	uint8_t src[64];
	unsigned int it, op, k;
	uint32_t len;
	void *d;
	int ret;

	ret = pinshm_bcast_attach(fz.r, "b", PINSHM_WRITER, &w);
	FZ_CHECK(ret == 0 || ret == -EBADMSG ||
		 ret == -EPROTONOSUPPORT, "writer attach %d", ret);
	if (ret)
		return;
	FZ_CHECK(fz_inside(w.base, w.slots * w.slot_size, fz.data, fz.size),
		 "slots outside the region");
	memset(src, 0x3c, sizeof(src));
	for (it = 0; it < 48; it++) {
		op = fz_op(ops);
		len = (op >> 2) % 64;
		switch (op % 4) {
		case 0:
			ret = pinshm_bcast_claim(&w, len, &d);
			FZ_CHECK(ret == 0 || ret == -EMSGSIZE ||
				 ret == -ENOBUFS || ret == -EAGAIN,
				 "claim %d", ret);
			if (ret)
				break;
			FZ_CHECK(fz_inside((uint8_t *)d - PINSHM_BCAST_SLOT_HDR,
					   PINSHM_BCAST_SLOT_HDR + (uint64_t)len,
					   w.base, w.slots * w.slot_size),
				 "claim %p len %u outside the slots", d, len);
			memset(d, (int)op, len);
			pinshm_bcast_commit(&w, len, op);
			break;
		case 1:
			pinshm_bcast_publish(&w);
			break;
		case 2:
			/* Held long enough to ask the metadata. */
			for (k = 0; k <= PINSHM_BCAST_DEATH_CHECK; k++) {
				ret = pinshm_bcast_send(&w, src, 8, op);
				FZ_CHECK(ret == 0 || ret == -ENOBUFS ||
					 ret == -EAGAIN, "send %d", ret);
				if (ret == -ENOBUFS)
					pinshm_bcast_publish(&w);
			}
			break;
		default:
			ret = pinshm_bcast_send(&w, src, len, op);
			FZ_CHECK(ret == 0 || ret == -EMSGSIZE ||
				 ret == -ENOBUFS || ret == -EAGAIN,
				 "send %d", ret);
			break;
		}
	}
	ret = pinshm_bcast_detach(&w);
	FZ_CHECK(ret == 0, "writer detach %d", ret);
}

static int create(struct pinshm_region *r, const char *name)
{
	return pinshm_bcast_create_flags(r, name, SLOTS, PAYLOAD,
					 PINSHM_BCAST_LOSSLESS);
}

static const struct fz_target fz_target = {
	.tag = "bcll", .name = "b", .region_size = RING_OFF + 8192,
	.create = create, .off = RING_OFF, .size_min = RING_BYTES,
	.size_max = RING_BYTES, .open_len = RING_BYTES, .plant_dead = true,
};

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
	struct fz_ops ops = fz_ops_of(in, n);
	int mode = fz_mode(in, n);
	struct pinshm_bcast_shared *sh;
	struct pinshm_bcast_gate *g;
	const uint8_t *p;
	size_t left;
	unsigned int k;

	if (mode < 0)
		return 0;

	p = fz_payload(in, n, &left);
	fz_restore();
	if (mode >= 2) {	/* block 0 stays valid: skip its bytes */
		size_t s = left < PINSHM_BLOCK ? left : PINSHM_BLOCK;

		p += s;
		left -= s;
		fz_fill(RING_OFF + PINSHM_BLOCK, RING_BYTES - PINSHM_BLOCK, &p,
			&left);
	} else {
		fz_fill(RING_OFF, RING_BYTES, &p, &left);
	}
	sh = (struct pinshm_bcast_shared *)(fz.data + RING_OFF);
	memset(&sh->writer, 0, sizeof(sh->writer));
	g = (struct pinshm_bcast_gate *)(fz.data + RING_OFF +
					 PINSHM_BCAST_HDR_SIZE);
	if (mode == 3)
		for (k = 0; k < PINSHM_BCAST_GATES; k++) {
			if (!g[k].role.holder)
				continue;
			g[k].owner = g[k].role.holder;
			g[k].owner_pid = FZ_DEAD_PID + k % FZ_NR_DEAD;
			g[k].owner_start = FZ_DEAD_START + k % FZ_NR_DEAD;
		}
	fz_guard(1);
	if (mode % 2 == 1)
		write_ring(&ops);
	read_ring(&ops, true);
	read_ring(&ops, false);
	return 0;
}
