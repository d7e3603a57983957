// SPDX-License-Identifier: MIT
/*
 * pinshm(1): the --seq record format, written by pub and checked by tail:
 * the payload of one ring record, or a slot's value (native endian):
 *
 *   0   u64 seq        1, 2, 3, ...
 *   8   u32 magic      CTL_SEQ_MAGIC
 *   12  u32 id         producer id (pub --id)
 *   16  u32 len        payload length, equal to the ring record's length
 *   20  u32 flags      0
 *   24  filler         bytes derived from (seq, id, offset)
 *   L-8 u32 len        the length again (the trailer)
 *   L-4 u32 hash       of bytes [0, L-8)
 *
 * and the ring record's type is CTL_SEQ_TYPE (slots have no type: the
 * value's header gives its length). tail --check-seq checks the type,
 * magic, all three lengths and the hash: a record assembled from bytes of
 * two different writes (a torn record) fails at least one.
 *
 * Resuming `pub --seq` after a crash: the sequence number of the last
 * committed record of this producer is read back from the ring, never from
 * a word of our own that could be out of step with the commit.
 *   spsc   pinshm_spsc_last() reads the last published record back (the
 *          consumer zeroes released records one behind, so it stays
 *          intact even when consumed); checked in full.
 *   mpsc   pinshm_mpsc_last() gives the first 8 payload bytes and the type
 *          of the last record producer id committed, across restarts:
 *          hence seq first in the header.
 *   bcast  the last published record (the writer role continues after it)
 *          read back by a reader of our own; checked in full.
 *   slot   the current value, read in place by its (new) writer: a writer
 *          that died mid-write leaves its new header (or the old one), so
 *          resuming after it never goes backwards.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

_Static_assert(sizeof(struct ctl_seq_hdr) == CTL_SEQ_HDR, "seq header size");
_Static_assert(__builtin_offsetof(struct ctl_seq_hdr, seq) == 0, "seq first (mpsc_last)");

/* 64-bit FNV-style hash over 8-byte words, folded to 32 bits. */
static uint32_t ctl_seq_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL, w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* Build a --seq payload of len bytes (len >= CTL_SEQ_MIN) into p. */
void ctl_seq_fill(uint8_t *p, uint32_t len, uint32_t id, uint64_t seq, bool corrupt)
{
	struct ctl_seq_hdr h = {
		.seq = seq, .magic = CTL_SEQ_MAGIC, .id = id, .len = len, .flags = 0,
	};
	uint64_t x = (seq * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)id << 48);
	uint32_t i, hash;

	memcpy(p, &h, sizeof(h));
	for (i = CTL_SEQ_HDR; i < len - CTL_SEQ_TRAILER; i++)
		p[i] = (uint8_t)(x >> ((i & 7) * 8)) ^ (uint8_t)i;
	hash = ctl_seq_hash(p, len - CTL_SEQ_TRAILER);
	if (corrupt)
		hash ^= 0x5a5a5a5a;
	memcpy(p + len - 8, &len, 4);
	memcpy(p + len - 4, &hash, 4);
}

/*
 * Check a --seq payload. Returns 0 and fills *h, or writes why it is bad
 * into why and returns -EBADMSG.
 */
int ctl_seq_check(const uint8_t *p, uint32_t len, uint32_t type, struct ctl_seq_hdr *h,
		  char *why, size_t whylen)
{
	uint32_t tlen, thash;

	if (type != CTL_SEQ_TYPE) {
		snprintf(why, whylen, "record of type 0x%x is not a pub --seq record", type);
		return -EBADMSG;
	}
	if (len < CTL_SEQ_MIN) {
		snprintf(why, whylen, "torn record: length %u below the minimum %u", len,
			 CTL_SEQ_MIN);
		return -EBADMSG;
	}
	memcpy(h, p, sizeof(*h));
	memcpy(&tlen, p + len - 8, 4);
	memcpy(&thash, p + len - 4, 4);
	if (h->magic != CTL_SEQ_MAGIC) {
		snprintf(why, whylen, "torn record: bad magic 0x%08x", h->magic);
		return -EBADMSG;
	}
	if (h->len != len || tlen != len) {
		snprintf(why, whylen,
			 "torn record (seq %" PRIu64 "?): wrong length: record %u, header %u, trailer %u",
			 h->seq, len, h->len, tlen);
		return -EBADMSG;
	}
	if (ctl_seq_hash(p, len - CTL_SEQ_TRAILER) != thash) {
		snprintf(why, whylen, "torn record (seq %" PRIu64 "?): bad checksum", h->seq);
		return -EBADMSG;
	}
	return 0;
}
