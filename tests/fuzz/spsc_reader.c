// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the SPSC ring's readers with the whole ring memory
 * under the attacker's control (issue 4: no crash, no hang, no read out of
 * bounds). See fuzz.h for the input layout. Modes (input[0] % 4):
 *
 *   0  consumer: the ring's header and buffer are fuzzer bytes (role words
 *      cleared, so the attach gets past them). pinshm_spsc_attach() must
 *      say 0 or -EBADMSG; then a bounded run of peek / peek_batch /
 *      release / recv / pinshm_spsc_wait(0) chosen by the op codes. Every
 *      record handed out must lie inside the ring's buffer.
 *   1  producer: same memory; the attach runs the recovery walk over it
 *      (0 or -EBADMSG), then claims, stages, publishes, sends and
 *      pinshm_spsc_last() chosen by the op codes, each claim inside the
 *      buffer; then a consumer drains what there is.
 *   2  directory: the object directory is fuzzer bytes; pinshm_obj_list,
 *      _find, _stats and both attaches must fail cleanly or return
 *      entries inside the region.
 *   3  consumer again, with a valid header: only the consumer's head
 *      (first 8 bytes) and the record buffer are fuzzer bytes, so the
 *      fuzzer spends its time on record parsing rather than on the magic.
 *
 * ASan guards the region around the ring (fuzz.h): the ring sits right
 * after the directory, and the rest of the region is poisoned.
 */
#include <errno.h>


#include "fuzz.h"

#define CAP		1024ULL
#define RING_OFF	FZ_DIR_BYTES
#define RING_BYTES	(PINSHM_SPSC_HDR_SIZE + CAP)

static void check_msg(const struct pinshm_spsc *ring,
		      const struct pinshm_msg *m)
{
	FZ_CHECK(fz_inside((const uint8_t *)m->data - PINSHM_REC_HDR,
			   PINSHM_REC_HDR + (uint64_t)m->len, ring->buf,
			   ring->cap),
		 "record %p len %u outside buffer %p cap %llu", m->data,
		 m->len, (void *)ring->buf, (unsigned long long)ring->cap);
	FZ_CHECK(m->len <= ring->max_record, "len %u > max_record %llu",
		 m->len, (unsigned long long)ring->max_record);
	/* Touch every byte: ASan reports a read of a poisoned one. */
	if (m->len) {
		volatile uint8_t sum = 0;
		uint32_t i;

		for (i = 0; i < m->len; i++)
			sum += ((const uint8_t *)m->data)[i];
		(void)sum;
	}
}

/* The ring of a successful attach lies where the directory says. */
static void check_ring(const struct pinshm_spsc *ring)
{
	FZ_CHECK(fz_inside(ring->sh, PINSHM_SPSC_HDR_SIZE, fz.data, fz.size),
		 "header outside the region");
	FZ_CHECK(fz_inside(ring->buf, ring->cap, fz.data, fz.size),
		 "buffer outside the region");
	FZ_CHECK(ring->cap && !(ring->cap & (ring->cap - 1)), "capacity %llu",
		 (unsigned long long)ring->cap);
}

static void consume(struct pinshm_spsc *c, struct fz_ops *ops)
{
	struct pinshm_msg m[16];
	uint8_t buf[512];
	unsigned int it, op, n;
	uint32_t type;
	int ret, i;

	check_ring(c);
	for (it = 0; it < c->cap / 8 + 10; it++) {
		op = fz_op(ops);
		switch (op % 6) {
		case 0:
			ret = pinshm_spsc_peek(c, &m[0]);
			FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EBADMSG,
				 "peek %d", ret);
			if (!ret)
				check_msg(c, &m[0]);
			break;
		case 1:
			n = 1 + (op >> 3) % 16;
			ret = pinshm_spsc_peek_batch(c, m, n);
			FZ_CHECK(ret == -EBADMSG || (ret >= 0 && ret <= (int)n),
				 "peek_batch %d of %u", ret, n);
			for (i = 0; i < ret; i++)
				check_msg(c, &m[i]);
			break;
		case 2:
			pinshm_spsc_release(c);
			break;
		case 3:
			n = (op >> 3) * 16;	/* 0..496: -EMSGSIZE too */
			ret = pinshm_spsc_recv(c, buf, n, &type,
					       PINSHM_WAIT_NONE);
			FZ_CHECK(ret == -EAGAIN || ret == -EBADMSG ||
				 ret == -EMSGSIZE || (ret >= 0 && ret <= (int)n),
				 "recv %d into %u", ret, n);
			break;
		case 4:
			ret = pinshm_spsc_wait(c, 0);
			FZ_CHECK(ret == 0 || ret == -ETIMEDOUT, "wait %d", ret);
			break;
		default:
			ret = pinshm_spsc_peek(c, &m[0]);
			if (!ret)
				check_msg(c, &m[0]);
			pinshm_spsc_release(c);
			break;
		}
	}
	pinshm_spsc_detach(c);
}

static void produce(struct pinshm_spsc *p, struct fz_ops *ops)
{
	struct pinshm_msg m;
	uint8_t src[256];
	unsigned int it, op;
	uint32_t len;
	void *d;
	int ret;

	check_ring(p);
	memset(src, 0xa5, sizeof(src));
	for (it = 0; it < 64; it++) {
		op = fz_op(ops);
		len = (uint32_t)((op >> 3) * 9) % 256;
		switch (op % 5) {
		case 0:
		case 4:
			ret = pinshm_spsc_claim(p, len, &d);
			FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EMSGSIZE,
				 "claim %d", ret);
			if (ret)
				break;
			FZ_CHECK(fz_inside((uint8_t *)d - PINSHM_REC_HDR,
					   PINSHM_REC_HDR + (uint64_t)len,
					   p->buf, p->cap),
				 "claim of %u at %p outside the buffer", len, d);
			memset(d, (int)op, len);
			if (op % 5 == 0)
				pinshm_spsc_stage(p, len, op);
			else
				pinshm_spsc_commit(p, len, op);
			break;
		case 1:
			pinshm_spsc_publish(p);
			break;
		case 2:
			ret = pinshm_spsc_send(p, src, len, op, PINSHM_WAIT_NONE);
			FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EMSGSIZE,
				 "send %d", ret);
			break;
		default:
			ret = pinshm_spsc_last(p, &m);
			FZ_CHECK(ret == 0 || ret == -ENOENT || ret == -EBADMSG,
				 "last %d", ret);
			if (!ret)
				check_msg(p, &m);
			break;
		}
	}
	pinshm_spsc_detach(p);
}

static void clear_roles(void)
{
	struct pinshm_spsc_shared *sh =
		(struct pinshm_spsc_shared *)(fz.data + RING_OFF);

	memset(&sh->producer, 0, sizeof(sh->producer));
	memset(&sh->consumer, 0, sizeof(sh->consumer));
}

static void fuzz_ring(const uint8_t *in, size_t n, int mode)
{
	struct fz_ops ops = fz_ops_of(in, n);
	struct pinshm_spsc ring;
	int ret;

	if (mode == 3) {
		/* Valid header; head and buffer from the input. */
		struct pinshm_spsc_shared *sh;
		uint64_t head = 0;

		fz_reset(RING_OFF + PINSHM_SPSC_HDR_SIZE, CAP,
			 n > FZ_HDR + 8 ? in + FZ_HDR + 8 : NULL,
			 n > FZ_HDR + 8 ? n - FZ_HDR - 8 : 0);
		sh = (struct pinshm_spsc_shared *)(fz.data + RING_OFF);
		if (n >= FZ_HDR + 8)
			memcpy(&head, in + FZ_HDR, 8);
		sh->head = head;
	} else {
		fz_reset(RING_OFF, RING_BYTES, n > FZ_HDR ? in + FZ_HDR : NULL,
			 n > FZ_HDR ? n - FZ_HDR : 0);
	}
	clear_roles();
	fz_guard(1);
	ret = pinshm_spsc_attach(fz.r, "q", mode == 1 ? PINSHM_PRODUCER :
						       PINSHM_CONSUMER, &ring);
	FZ_CHECK(ret == 0 || ret == -EBADMSG ||
		 ret == -EPROTONOSUPPORT, "attach: %d", ret);
	if (ret)
		return;
	if (mode == 1) {
		produce(&ring, &ops);
		ret = pinshm_spsc_attach(fz.r, "q", PINSHM_CONSUMER, &ring);
		FZ_CHECK(ret == 0 || ret == -EBADMSG ||
			 ret == -EPROTONOSUPPORT, "consumer attach: %d",
			 ret);
		if (ret)
			return;
	}
	consume(&ring, &ops);
}

static void fuzz_dir(const uint8_t *in, size_t n)
{
	struct pinshm_obj_info info[PINSHM_DIR_MAX + 1];
	struct pinshm_ring_stats st;
	struct fz_ops ops = fz_ops_of(in, n);
	struct pinshm_spsc ring;
	int ret, nr, i, role;

	fz_reset(0, FZ_DIR_BYTES, n > FZ_HDR ? in + FZ_HDR : NULL,
		 n > FZ_HDR ? n - FZ_HDR : 0);
	/* Objects may be anywhere in the region now: all of it is fair. */
	fz_guard(0);
	nr = pinshm_obj_list(fz.r, info, PINSHM_DIR_MAX + 1);
	FZ_CHECK(nr == -EBADMSG || nr == -EPROTONOSUPPORT ||
		 (nr >= 0 && nr <= PINSHM_DIR_MAX), "obj_list %d", nr);
	for (i = 0; i < nr; i++) {
		FZ_CHECK(memchr(info[i].name, 0, sizeof(info[i].name)) &&
			 pinshm_obj_name_valid(info[i].name), "entry name");
		FZ_CHECK(info[i].offset <= fz.size &&
			 info[i].size <= fz.size - info[i].offset,
			 "entry %d: %llu+%llu outside %llu", i,
			 (unsigned long long)info[i].offset,
			 (unsigned long long)info[i].size,
			 (unsigned long long)fz.size);
		ret = pinshm_obj_stats(fz.r, info[i].name, &st);
		FZ_CHECK(ret <= 0, "stats %d", ret);
	}
	ret = pinshm_obj_find(fz.r, "q", &info[0]);
	FZ_CHECK(ret == 0 || ret == -ENOENT || ret == -EBADMSG ||
		 ret == -EPROTONOSUPPORT, "find %d", ret);
	if (ret == 0)
		FZ_CHECK(info[0].offset <= fz.size &&
			 info[0].size <= fz.size - info[0].offset, "find: bounds");
	ret = pinshm_obj_stats(fz.r, "q", &st);
	FZ_CHECK(ret <= 0, "stats %d", ret);
	role = fz_op(&ops) & 1 ? PINSHM_PRODUCER : PINSHM_CONSUMER;
	ret = pinshm_spsc_attach(fz.r, "q", role, &ring);
	FZ_CHECK(ret <= 0, "attach %d", ret);
	if (ret)
		return;
	if (role == PINSHM_PRODUCER)
		produce(&ring, &ops);
	else
		consume(&ring, &ops);
}

static int create(struct pinshm_region *r, const char *name)
{
	return pinshm_spsc_create(r, name, CAP, 0);
}

static const struct fz_target fz_target = {
	.tag = "spsc", .name = "q", .region_size = RING_OFF + 4096,
	.create = create, .off = RING_OFF, .size_min = RING_BYTES,
	.open_len = RING_BYTES,
};

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
	int mode = fz_mode(in, n);

	if (mode < 0)
		return 0;

	if (mode == 2)
		fuzz_dir(in, n);
	else
		fuzz_ring(in, n, mode);
	return 0;
}
