// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the broadcast ring (pinshm/bcast.h, src/bcast.c) with
 * its header and slots under the attacker's control: readers' attach
 * (OLDEST/NEWEST/NEXT), peek / peek_batch / check / release / recv /
 * seek, with lapping and resync; and the writer's attach (takeover of a
 * dead writer's role, withdrawing staged records), then its claims. No
 * crash, no hang, nothing handed out or written outside the ring's slots.
 * See fuzz.h for the input layout; the payload goes over the 512-byte
 * header and the 16 slots of 64 bytes. The writer's role word is cleared.
 *
 * Modes (input[0] % 4): 0 reader, 1 writer then reader, 2 and 3 the same
 * with header block 0 (magic, geometry) kept valid.
 */
#include <errno.h>

#include "fuzz.h"

#define SLOTS		16ULL
#define PAYLOAD		48u
#define SLOT_SIZE	64ULL
#define RING_OFF	FZ_DIR_BYTES
#define RING_BYTES	(PINSHM_BCAST_HDR_SIZE + SLOTS * SLOT_SIZE)

static void check_msg(const struct pinshm_bcast *r,
		      const struct pinshm_bcast_msg *m)
{
	const uint8_t *d = m->data;
	uint64_t off;

	FZ_CHECK(fz_inside(d - PINSHM_BCAST_SLOT_HDR,
			   PINSHM_BCAST_SLOT_HDR + (uint64_t)m->len, r->base,
			   r->slots * r->slot_size),
		 "record %p len %u outside the slots", m->data, m->len);
	off = (uint64_t)(d - PINSHM_BCAST_SLOT_HDR - r->base);
	FZ_CHECK(off % r->slot_size == 0 &&
		 PINSHM_BCAST_SLOT_HDR + (uint64_t)m->len <= r->slot_size,
		 "record at %llu len %u not within one slot",
		 (unsigned long long)off, m->len);
	FZ_CHECK(m->len <= r->max_payload, "len %u", m->len);
	{
		volatile uint8_t sum = 0;
		uint32_t i;

		for (i = 0; i < m->len; i++)
			sum += d[i];
		(void)sum;
	}
}

static void read_ring(struct fz_ops *ops)
{
	struct pinshm_bcast r;
	struct pinshm_bcast_stats st;
	struct pinshm_bcast_msg m[8], rm;
	uint8_t buf[128];
	unsigned int it, op, n;
	int ret, i;

	op = fz_op(ops);
	ret = pinshm_bcast_attach(fz.r, "b", PINSHM_READER, &r);
	if (!ret)
		ret = pinshm_bcast_seek(&r, (int)(op % 3));
	FZ_CHECK(ret == 0 || ret == -EBADMSG ||
		 ret == -EPROTONOSUPPORT, "reader attach %d", ret);
	if (ret)
		return;
	FZ_CHECK(fz_inside(r.base, r.slots * r.slot_size, fz.data, fz.size),
		 "slots outside the region");
	for (it = 0; it < 2 * SLOTS + 10; it++) {
		op = fz_op(ops);
		switch (op % 7) {
		case 0:
			ret = pinshm_bcast_peek(&r, &m[0]);
			FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -ESTALE ||
				 ret == -EBADMSG, "peek %d", ret);
			if (!ret) {
				check_msg(&r, &m[0]);
				ret = pinshm_bcast_check(&r, &m[0]);
				FZ_CHECK(ret == 0 || ret == -ESTALE, "check %d",
					 ret);
			}
			break;
		case 1:
			n = 1 + (op >> 3) % 8;
			ret = pinshm_bcast_peek_batch(&r, m, n);
			FZ_CHECK(ret == -ESTALE || ret == -EBADMSG ||
				 (ret >= 0 && ret <= (int)n),
				 "peek_batch %d", ret);
			for (i = 0; i < ret; i++)
				check_msg(&r, &m[i]);
			break;
		case 2:
			ret = pinshm_bcast_release(&r);
			FZ_CHECK(ret == 0 || ret == -ESTALE, "release %d", ret);
			break;
		case 3:
			n = (op >> 3) * 4;	/* 0..124: -EMSGSIZE too */
			ret = pinshm_bcast_recv(&r, buf, n, &rm,
						PINSHM_WAIT_NONE);
			FZ_CHECK(ret == -EAGAIN || ret == -EBADMSG ||
				 ret == -EMSGSIZE || (ret >= 0 && ret <= (int)n),
				 "recv %d into %u", ret, n);
			if (ret >= 0)
				FZ_CHECK(rm.data == buf && rm.len == (uint32_t)ret,
					 "recv message");
			break;
		case 4:
			ret = pinshm_bcast_seek(&r, (int)((op >> 3) % 3));
			FZ_CHECK(ret == 0 || ret == -EBADMSG, "seek %d", ret);
			break;
		case 5:
			ret = pinshm_bcast_stats(&r, &st);
			FZ_CHECK(ret == 0, "stats %d", ret);
			break;
		default:
			ret = pinshm_bcast_peek(&r, &m[0]);
			if (!ret)
				check_msg(&r, &m[0]);
			pinshm_bcast_release(&r);
			break;
		}
	}
	pinshm_bcast_detach(&r);
}

static void write_ring(struct fz_ops *ops)
{
	struct pinshm_bcast w;
	uint8_t src[64];
	unsigned int it, op;
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
		case 1:
			ret = pinshm_bcast_claim(&w, len, &d);
			FZ_CHECK(ret == 0 || ret == -EMSGSIZE || ret == -ENOBUFS,
				 "claim %d", ret);
			if (ret)
				break;
			FZ_CHECK(fz_inside((uint8_t *)d - PINSHM_BCAST_SLOT_HDR,
					   PINSHM_BCAST_SLOT_HDR + (uint64_t)len,
					   w.base, w.slots * w.slot_size),
				 "claim %p len %u outside the slots", d, len);
			memset(d, (int)op, len);
			if (op % 4)
				pinshm_bcast_commit(&w, len, op);
			else
				pinshm_bcast_stage(&w, len, op);
			break;
		case 2:
			pinshm_bcast_publish(&w);
			break;
		default:
			ret = pinshm_bcast_send(&w, src, len, op);
			FZ_CHECK(ret == 0 || ret == -EMSGSIZE || ret == -ENOBUFS,
				 "send %d", ret);
			break;
		}
	}
	ret = pinshm_bcast_detach(&w);
	FZ_CHECK(ret == 0, "writer detach %d", ret);
}

static int create(struct pinshm_region *r, const char *name)
{
	return pinshm_bcast_create(r, name, SLOTS, PAYLOAD);
}

static const struct fz_target fz_target = {
	.tag = "bcast", .name = "b", .region_size = RING_OFF + 4096,
	.create = create, .off = RING_OFF, .size_min = RING_BYTES,
	.size_max = RING_BYTES, .open_len = RING_BYTES,
};

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
	struct fz_ops ops = fz_ops_of(in, n);
	int mode = fz_mode(in, n);
	struct pinshm_bcast_shared *sh;
	const uint8_t *p;
	size_t left;

	if (mode < 0)
		return 0;

	p = fz_payload(in, n, &left);
	fz_restore();
	if (mode >= 2) {	/* block 0 stays valid: skip its bytes */
		size_t k = left < PINSHM_BLOCK ? left : PINSHM_BLOCK;

		p += k;
		left -= k;
		fz_fill(RING_OFF + PINSHM_BLOCK, RING_BYTES - PINSHM_BLOCK, &p,
			&left);
	} else {
		fz_fill(RING_OFF, RING_BYTES, &p, &left);
	}
	sh = (struct pinshm_bcast_shared *)(fz.data + RING_OFF);
	memset(&sh->writer, 0, sizeof(sh->writer));
	fz_guard(1);
	if (mode % 2 == 1)
		write_ring(&ops);
	read_ring(&ops);
	return 0;
}
