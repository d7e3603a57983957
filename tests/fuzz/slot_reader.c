// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the latest-value slot (pinshm/slot.h, src/slot.c) with
 * its header, seqlock word and value under the attacker's control: the
 * reader's attach, pinshm_slot_read (copying, bounded retries) and the
 * in-place read_begin / read_retry; the writer's attach (takeover of a
 * dead writer: a half-written value is withdrawn) and its writes. No
 * crash, no hang, nothing read or written outside the slot. See fuzz.h
 * for the input layout; the payload goes over the slot's header and its
 * value. The writer's role word is cleared.
 *
 * Modes (input[0] % 4): 0 reader, 1 writer then reader, 2 and 3 the same
 * with header block 0 (magic, size, value offset) kept valid.
 */
#include <errno.h>

#include "fuzz.h"

#define VALUE		200u
#define OBJ_OFF		FZ_DIR_BYTES

static void check_handle(const struct pinshm_slot *s)
{
	FZ_CHECK(s->size >= 1 && s->size <= PINSHM_SLOT_MAX_SIZE, "size %u",
		 s->size);
	FZ_CHECK(fz_inside(s->value, s->size, fz.data + OBJ_OFF, fz.obj.size),
		 "value %p size %u outside the slot", (void *)s->value,
		 s->size);
}

static void read_slot(struct fz_ops *ops)
{
	struct pinshm_slot r;
	uint8_t buf[512];
	unsigned int it, op, n, tries;
	uint64_t version, seq;
	const uint8_t *v;
	int ret;

	ret = pinshm_slot_attach(fz.r, "s", PINSHM_READER, &r);
	FZ_CHECK(ret == 0 || ret == -EBADMSG ||
		 ret == -EPROTONOSUPPORT, "reader attach %d", ret);
	if (ret)
		return;
	check_handle(&r);
	for (it = 0; it < 8; it++) {
		op = fz_op(ops);
		switch (op % 3) {
		case 0:
		case 1:
			n = (op >> 2) * 8;	/* 0..504 */
			ret = pinshm_slot_read(&r, buf, n, &version);
			FZ_CHECK(ret == -ENODATA || ret == -EAGAIN ||
				 (ret >= 0 && (uint32_t)ret <= n &&
				  (uint32_t)ret <= r.size),
				 "read %d into %u", ret, n);
			break;
		default:
			tries = 0;
			do {
				volatile uint8_t sum = 0;
				uint32_t i;

				v = pinshm_slot_peek(&r, &seq);
				if (v) {
					FZ_CHECK(v == r.value, "read_begin");
					for (i = 0; i < r.size; i++)
						sum += v[i];
				}
				(void)sum;
			} while (pinshm_slot_release(&r, seq) && ++tries < 4);
			break;
		}
	}
	ret = pinshm_slot_detach(&r);
	FZ_CHECK(ret == 0, "reader detach %d", ret);
}

static void write_slot(struct fz_ops *ops)
{
	struct pinshm_slot w;
	uint8_t src[512];
	unsigned int it, op;
	uint32_t len;
	uint8_t *v;
	int ret;

	ret = pinshm_slot_attach(fz.r, "s", PINSHM_WRITER, &w);
	FZ_CHECK(ret == 0 || ret == -EBADMSG ||
		 ret == -EPROTONOSUPPORT, "writer attach %d", ret);
	if (ret)
		return;
	check_handle(&w);
	memset(src, 0x77, sizeof(src));
	for (it = 0; it < 8; it++) {
		op = fz_op(ops);
		len = (op >> 1) * 4;	/* 0..508: -EMSGSIZE too */
		if (op & 1) {
			ret = pinshm_slot_send(&w, src, len);
			FZ_CHECK(ret == 0 || (ret == -EMSGSIZE && len > w.size),
				 "write %d of %u", ret, len);
		} else {
			v = pinshm_slot_claim(&w);
			FZ_CHECK(v == w.value, "write_begin");
			memset(v, (int)op, w.size);
			pinshm_slot_commit(&w, w.size);
		}
	}
	ret = pinshm_slot_detach(&w);
	FZ_CHECK(ret == 0, "writer detach %d", ret);
}

static int create(struct pinshm_region *r, const char *name)
{
	return pinshm_slot_create(r, name, VALUE);
}

static const struct fz_target fz_target = {
	.tag = "slot", .name = "s", .region_size = OBJ_OFF + 4096,
	.create = create, .off = OBJ_OFF,
	.size_min = PINSHM_SLOT_VALUE_OFF + VALUE, .size_max = 4096,
};

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
	struct fz_ops ops = fz_ops_of(in, n);
	int mode = fz_mode(in, n);
	struct pinshm_slot_shared *sh;
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
		fz_fill(OBJ_OFF + PINSHM_BLOCK, fz.obj.size - PINSHM_BLOCK, &p,
			&left);
	} else {
		fz_fill(OBJ_OFF, fz.obj.size, &p, &left);
	}
	sh = (struct pinshm_slot_shared *)(fz.data + OBJ_OFF);
	memset(&sh->writer, 0, sizeof(sh->writer));
	fz_guard(1);
	if (mode % 2 == 1)
		write_slot(&ops);
	read_slot(&ops);
	return 0;
}
