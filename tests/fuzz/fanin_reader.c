// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the fan-in ring (pinshm/fanin.h, src/fanin.c) with its
 * memory under the attacker's control: the consumer's attach, peek,
 * peek_batch, release, recv, wait(0) and the merge by key (peek_merged,
 * look_merged, at offsets inside records, past them and near UINT32_MAX)
 * across the lanes, and a producer's attach (the takeover walk over its
 * lane). No crash, no hang, nothing handed out outside the lane it came
 * from, no lane both empty and corrupt. See fuzz.h for the
 * input layout. The ring has NR_LANES lanes of CAP bytes. Modes
 * (input[0] % 4):
 *   0  the whole ring (header and every lane) is fuzzer bytes; consumer;
 *   1  the same, producer of lane (op 0 % NR_LANES) first, then consumer;
 *   2  the header kept valid, the lanes fuzzer bytes; consumer;
 *   3  headers kept valid, each lane's head and buffer fuzzer bytes, so
 *      the fuzzer spends its time on record parsing.
 * Role words are cleared, so the attaches get past them. ASan guards the
 * region around the ring (fuzz.h).
 */
#include <errno.h>

#include "fuzz.h"

#define CAP		1024ULL
#define NR_LANES	3u
#define RING_OFF	FZ_DIR_BYTES
#define LANE_BYTES	(PINSHM_SPSC_HDR_SIZE + CAP)
#define RING_BYTES	(PINSHM_FANIN_HDR_SIZE + NR_LANES * LANE_BYTES)

static struct pinshm_spsc_shared *lane(unsigned int i)
{
	return (struct pinshm_spsc_shared *)(fz.data + RING_OFF +
					     PINSHM_FANIN_HDR_SIZE +
					     i * LANE_BYTES);
}

static void check_lane_msg(const struct pinshm_fanin *c, unsigned int id,
			   const struct pinshm_msg *m)
{
	const struct pinshm_spsc *l;
	volatile uint8_t sum = 0;
	uint32_t i;

	FZ_CHECK(id < c->lanes, "lane %u of %u", id, c->lanes);
	l = &c->lane_c[id];
	FZ_CHECK(fz_inside((const uint8_t *)m->data - PINSHM_REC_HDR,
			   PINSHM_REC_HDR + (uint64_t)m->len, l->buf, l->cap),
		 "record %p len %u outside lane %u", m->data, m->len, id);
	FZ_CHECK(fz_inside(l->buf, l->cap, fz.data + RING_OFF, RING_BYTES),
		 "lane buffer");
	for (i = 0; i < m->len; i++)
		sum += ((const uint8_t *)m->data)[i];
	(void)sum;
}

static void check_msg(const struct pinshm_fanin *c, const struct pinshm_msg *m)
{
	check_lane_msg(c, c->id, m);
}

/* The merge: peek or only look, the key inside the records, past them,
 * or where key_off + 8 overflows 32 bits. */
static void merge_op(struct pinshm_fanin *c, unsigned int op)
{
	uint64_t empty = ~0ULL, all = c->lanes == 64 ? ~0ULL :
		(1ULL << c->lanes) - 1;
	unsigned int q = op / 6;	/* op % 6 chose the merge */
	uint32_t key_off = (q >> 1) & 1 ? UINT32_MAX - (q >> 2) : (q >> 2) * 7;
	struct pinshm_msg m;
	int ret;

	if (q & 1) {
		ret = pinshm_fanin_look_merged(c, &m, key_off, &empty);
		FZ_CHECK(ret >= 0 || ret == -EAGAIN || ret == -EBADMSG,
			 "look_merged %d", ret);
		if (ret >= 0)
			check_lane_msg(c, (unsigned int)ret, &m);
	} else {
		ret = pinshm_fanin_peek_merged(c, &m, key_off, &empty);
		FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EBADMSG,
			 "peek_merged %d", ret);
		if (!ret)
			check_msg(c, &m);
	}
	if (ret == -EBADMSG)
		return;
	FZ_CHECK(!(empty & ~all) && !(empty & c->bad), "empty %llx bad %llx",
		 (unsigned long long)empty, (unsigned long long)c->bad);
	if (ret == -EAGAIN)
		FZ_CHECK(empty == (all & ~c->bad), "nothing, yet empty %llx",
			 (unsigned long long)empty);
}

static void clear_roles(void)
{
	struct pinshm_fanin_shared *sh =
		(struct pinshm_fanin_shared *)(fz.data + RING_OFF);
	unsigned int i;

	memset(&sh->consumer, 0, sizeof(sh->consumer));
	for (i = 0; i < NR_LANES; i++) {
		memset(&lane(i)->producer, 0, sizeof(lane(i)->producer));
		memset(&lane(i)->consumer, 0, sizeof(lane(i)->consumer));
	}
	memset(&sh->waitq, 0, sizeof(sh->waitq));
}

static void consume(struct fz_ops *ops)
{
	struct pinshm_fanin c;
	struct pinshm_msg m[16];
	uint8_t buf[512];
	unsigned int it, op, n;
	uint32_t type;
	int ret, i;

	ret = pinshm_fanin_attach(fz.r, "f", PINSHM_CONSUMER, &c);
	FZ_CHECK(ret == 0 || ret == -EBADMSG || ret == -EPROTONOSUPPORT,
		 "attach consumer %d", ret);
	if (ret)
		return;
	for (it = 0; it < NR_LANES * CAP / 8 + 10; it++) {
		op = fz_op(ops);
		switch (op % 6) {
		case 0:
			ret = pinshm_fanin_peek(&c, &m[0]);
			FZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EBADMSG,
				 "peek %d", ret);
			if (!ret)
				check_msg(&c, &m[0]);
			break;
		case 1:
			n = 1 + (op >> 3) % 16;
			ret = pinshm_fanin_peek_batch(&c, m, n);
			FZ_CHECK(ret == -EBADMSG || (ret >= 0 && ret <= (int)n),
				 "peek_batch %d", ret);
			/* Only the last one's lane is known: check that. */
			if (ret > 0)
				check_msg(&c, &m[ret - 1]);
			for (i = 0; i < ret; i++)
				FZ_CHECK(fz_inside(m[i].data, m[i].len,
						   fz.data + RING_OFF,
						   RING_BYTES), "batch record");
			break;
		case 2:
			pinshm_fanin_release(&c);
			break;
		case 3:
			ret = pinshm_fanin_recv(&c, buf, (op >> 3) % 2 ? 16 :
						sizeof(buf), &type,
						PINSHM_WAIT_NONE);
			FZ_CHECK(ret == -EAGAIN || ret == -EBADMSG ||
				 ret == -EMSGSIZE || (ret >= 0 && ret <= 512),
				 "recv %d", ret);
			break;
		case 4:
			ret = pinshm_fanin_wait(&c, 0);
			FZ_CHECK(ret == 0 || ret == -ETIMEDOUT ||
				 ret == -ENOSYS || ret == -EOPNOTSUPP,
				 "wait %d", ret);
			break;
		case 5:
			merge_op(&c, op);
			break;
		}
	}
	pinshm_fanin_release(&c);
	FZ_CHECK(pinshm_fanin_detach(&c) == 0, "detach");
}

static void produce(struct fz_ops *ops)
{
	struct pinshm_fanin p;
	struct pinshm_msg m;
	unsigned int id = fz_op(ops) % NR_LANES, k;
	void *d;
	int ret;

	ret = pinshm_fanin_attach(fz.r, "f", PINSHM_PRODUCER_ID((int)id), &p);
	FZ_CHECK(ret == 0 || ret == -EBADMSG || ret == -EPROTONOSUPPORT,
		 "attach producer %d", ret);
	if (ret)
		return;
	ret = pinshm_fanin_last(&p, &m);
	FZ_CHECK(ret == 0 || ret == -ENOENT || ret == -EBADMSG, "last %d", ret);
	if (!ret)
		FZ_CHECK(fz_inside(m.data, m.len, p.lane.buf, p.lane.cap),
			 "last record");
	for (k = 0; k < 8; k++) {
		ret = pinshm_fanin_claim(&p, 8 + fz_op(ops) % 64, &d);
		if (ret)
			break;
		FZ_CHECK(fz_inside(d, 8, p.lane.buf, p.lane.cap), "claim");
		memset(d, 0x5a, 8);
		pinshm_fanin_commit(&p, 8, k);
	}
	FZ_CHECK(pinshm_fanin_detach(&p) == 0, "detach");
}

static void fuzz_ring(const uint8_t *in, size_t n, int mode)
{
	struct fz_ops ops = fz_ops_of(in, n);
	size_t left;
	const uint8_t *p = fz_payload(in, n, &left);
	unsigned int i;

	if (mode <= 1) {
		fz_reset(RING_OFF, RING_BYTES, left ? p : NULL, left);
	} else if (mode == 2) {
		fz_reset(RING_OFF + PINSHM_FANIN_HDR_SIZE,
			 NR_LANES * LANE_BYTES, left ? p : NULL, left);
	} else {
		fz_restore();
		for (i = 0; i < NR_LANES; i++) {
			uint64_t head = 0;
			size_t take = left < 8 ? left : 8;

			memcpy(&head, p, take);
			p += take;
			left -= take;
			lane(i)->head = head;
			fz_fill(RING_OFF + PINSHM_FANIN_HDR_SIZE + i * LANE_BYTES +
				PINSHM_SPSC_HDR_SIZE, CAP, &p, &left);
		}
	}
	clear_roles();
	fz_guard(1);
	if (mode == 1)
		produce(&ops);
	consume(&ops);
	fz_guard(0);
}

static int create(struct pinshm_region *r, const char *name)
{
	return pinshm_fanin_create(r, name, NR_LANES, CAP, 0);
}

static const struct fz_target fz_target = {
	.tag = "fanin", .name = "f", .region_size = RING_OFF + 8192,
	.create = create, .off = RING_OFF, .size_min = RING_BYTES,
	.open_len = RING_BYTES,
};

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
	int mode = fz_mode(in, n);

	if (mode < 0)
		return 0;
	fuzz_ring(in, n, mode);
	return 0;
}
