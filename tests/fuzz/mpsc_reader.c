// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the MPSC ring (pinshm/mpsc.h, src/mpsc.c) with its
 * memory under the attacker's control: the consumer's peek/release/recv,
 * its recovery of dead producers' claims (pinshm_mpsc_recover() and the
 * one peek runs by itself), and a producer's attach (the takeover of a
 * slot: intent, pending and last records). No crash, no hang, nothing
 * handed out or written outside the ring's buffer. See fuzz.h for the
 * input layout; the payload goes over, in this order:
 *   header blocks 0-7 (1 KiB: geometry, tail, consumer block, waitq,
 *   rec_pad[]), the record buffer (1 KiB), producer slots 0-3 (1 KiB).
 * Other producer slots stay as created. Role words are cleared, so the
 * attaches get past them. The metadata page says that FZ_NR_DEAD
 * processes died (fz_plant_dead()): an input that names one as the owner
 * of a claim reaches the padding code.
 *
 * Modes (input[0] % 4): 0 consumer, 1 producer then consumer, 2 and 3 the
 * same with block 0 (magic, geometry) kept valid, so that the fuzzer
 * spends its time past the header checks.
 */
#include <errno.h>

#include "fuzz.h"

#define CAP		1024ULL
#define RING_OFF	FZ_DIR_BYTES
#define RING_BYTES	(PINSHM_MPSC_HDR_SIZE + CAP)
#define NR_SLOTS	4

static void check_msg(const struct pinshm_mpsc *c,
		      const struct pinshm_msg *m)
{
	volatile uint8_t sum = 0;
	uint32_t i;

	FZ_CHECK(fz_inside((const uint8_t *)m->data - PINSHM_REC_HDR,
			   PINSHM_REC_HDR + (uint64_t)m->len, c->buf, c->cap),
		 "record %p len %u outside buffer %p", m->data, m->len,
		 (void *)c->buf);
	FZ_CHECK(m->len <= c->max_record, "len %u", m->len);
	for (i = 0; i < m->len; i++)
		sum += ((const uint8_t *)m->data)[i];
	(void)sum;
}

static void consume(struct fz_ops *ops)
{
	struct pinshm_mpsc c;
	struct pinshm_msg m[16];
	uint8_t buf[512];
	unsigned int it, op, n;
	uint32_t type;
	int ret, i;

	ret = pinshm_mpsc_attach(fz.r, "m", PINSHM_CONSUMER, &c);
	FZ_CHECK(ret == 0 || ret == -EBADMSG ||
		 ret == -EPROTONOSUPPORT, "attach consumer %d", ret);
	if (ret)
		return;
	FZ_CHECK(fz_inside(c.buf, c.cap, fz.data, fz.size), "buffer");
	for (it = 0; it < c.cap / 8 + 10; it++) {
		op = fz_op(ops);
		switch (op % 6) {
		case 0:
			ret = pinshm_mpsc_peek(&c, &m[0]);
			FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EBADMSG,
				 "peek %d", ret);
			if (!ret)
				check_msg(&c, &m[0]);
			break;
		case 1:
			n = 1 + (op >> 3) % 16;
			ret = pinshm_mpsc_peek_batch(&c, m, n);
			FZ_CHECK(ret == -EBADMSG || (ret >= 0 && ret <= (int)n),
				 "peek_batch %d", ret);
			for (i = 0; i < ret; i++)
				check_msg(&c, &m[i]);
			break;
		case 2:
			pinshm_mpsc_release(&c);
			break;
		case 3:
			n = (op >> 3) * 16;
			ret = pinshm_mpsc_recv(&c, buf, n, &type,
					       PINSHM_WAIT_NONE);
			FZ_CHECK(ret == -EAGAIN || ret == -EBADMSG ||
				 ret == -EMSGSIZE || (ret >= 0 && ret <= (int)n),
				 "recv %d", ret);
			break;
		case 4:
			ret = pinshm_mpsc_recover(&c);
			FZ_CHECK(ret == -EBADMSG || ret == -EDEADLK ||
				 (ret >= 0 && ret <= PINSHM_MPSC_PRODUCERS + 1),
				 "recover %d", ret);
			break;
		default:
			ret = pinshm_mpsc_peek(&c, &m[0]);
			if (!ret)
				check_msg(&c, &m[0]);
			pinshm_mpsc_release(&c);
			break;
		}
	}
	pinshm_mpsc_detach(&c);
}

static void check_claim(const struct pinshm_mpsc *p, void *d,
			uint32_t len)
{
	FZ_CHECK(fz_inside((uint8_t *)d - PINSHM_REC_HDR,
			   PINSHM_REC_HDR + (uint64_t)len, p->buf, p->cap),
		 "claim of %u at %p outside the buffer", len, d);
	memset(d, 0x5a, len);	/* ASan: every claimed byte is ours */
}

static void produce(struct fz_ops *ops)
{
	struct pinshm_mpsc p;
	uint32_t lens[4], types[4] = { 1, 2, 3, 4 };
	uint8_t src[256];
	void *outs[4];
	unsigned int it, op, n, i;
	uint64_t word;
	int ret, id;

	op = fz_op(ops);
	id = op & 0x80 ? -1 : (int)(op % NR_SLOTS);
	ret = pinshm_mpsc_attach(fz.r, "m", PINSHM_PRODUCER_ID(id), &p);
	FZ_CHECK(ret == 0 || ret == -EBADMSG ||
		 ret == -EPROTONOSUPPORT || ret == -EAGAIN ||
		 (id < 0 && ret == -ENOSPC), "attach producer %d: %d", id, ret);
	if (ret)
		return;
	FZ_CHECK(p.id < PINSHM_MPSC_PRODUCERS, "id %u", p.id);
	memset(src, 0xa5, sizeof(src));
	for (it = 0; it < 64; it++) {
		op = fz_op(ops);
		switch (op % 6) {
		case 0:
		case 1:
			lens[0] = ((op >> 3) * 9) % 256;
			ret = pinshm_mpsc_claim(&p, lens[0], &outs[0]);
			FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EMSGSIZE ||
				 ret == -EBADMSG || ret == -EINVAL,
				 "claim %d", ret);
			if (ret)
				break;
			check_claim(&p, outs[0], lens[0]);
			if (op % 6 == 0)
				pinshm_mpsc_commit(&p, lens[0] / 2, 7);
			break;
		case 2:
			n = 1 + (op >> 3) % 4;
			for (i = 0; i < n; i++)
				lens[i] = (op * (i + 3)) % 120;
			ret = pinshm_mpsc_claim_batch(&p, n, lens, outs);
			FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EMSGSIZE ||
				 ret == -EBADMSG || ret == -EINVAL,
				 "claim_batch %d", ret);
			if (ret)
				break;
			for (i = 0; i < n; i++)
				check_claim(&p, outs[i], lens[i]);
			pinshm_mpsc_commit_batch(&p, lens, types);
			break;
		case 3:
			ret = pinshm_mpsc_send(&p, src, ((op >> 3) * 7) % 256, 9,
					       PINSHM_WAIT_NONE);
			FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EMSGSIZE ||
				 ret == -EBADMSG || ret == -EINVAL,
				 "send %d", ret);
			break;
		case 4:
			ret = pinshm_mpsc_abort(&p);
			FZ_CHECK(ret == 0, "abort %d", ret);
			break;
		default:
			ret = pinshm_mpsc_last(&p, &word, NULL);
			FZ_CHECK(ret == 0 || ret == -ENOENT, "last %d", ret);
			break;
		}
	}
	pinshm_mpsc_detach(&p);
}

static void clear_roles(void)
{
	struct pinshm_mpsc_shared *sh =
		(struct pinshm_mpsc_shared *)(fz.data + RING_OFF);
	unsigned int i;

	memset(&sh->consumer, 0, sizeof(sh->consumer));
	for (i = 0; i < NR_SLOTS; i++)
		memset(&sh->prod[i].role, 0, sizeof(sh->prod[i].role));
}

static int create(struct pinshm_region *r, const char *name)
{
	return pinshm_mpsc_create(r, name, CAP, 0);
}

static const struct fz_target fz_target = {
	.tag = "mpsc", .name = "m",
	.region_size = RING_OFF + ((RING_BYTES + 4095) & ~4095ULL),
	.create = create, .off = RING_OFF, .size_min = RING_BYTES,
	.open_len = RING_BYTES, .plant_dead = true,
};

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
	struct fz_ops ops = fz_ops_of(in, n);
	int mode = fz_mode(in, n);
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
		fz_fill(RING_OFF + PINSHM_BLOCK, 1024 - PINSHM_BLOCK, &p, &left);
	} else {
		fz_fill(RING_OFF, 1024, &p, &left);
	}
	fz_fill(RING_OFF + PINSHM_MPSC_HDR_SIZE, CAP, &p, &left);
	fz_fill(RING_OFF + offsetof(struct pinshm_mpsc_shared, prod),
		NR_SLOTS * sizeof(struct pinshm_mpsc_pslot), &p, &left);
	clear_roles();
	fz_guard(1);
	if (mode % 2 == 1)
		produce(&ops);
	consume(&ops);
	return 0;
}
