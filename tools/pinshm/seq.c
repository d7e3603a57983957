// SPDX-License-Identifier: MIT
/*
 * pinshm(1): the --seq record format, written by pub and checked by tail
 * (each record, and the sequence of each producer id; tail prints them here
 * too). A record is the payload of one ring record, or a slot's value
 * (native endian):
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
#include <stdarg.h>
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

/* ------------------------------------------------------------------ */

void ctl_problem(struct ctl_tail *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	t->problems++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fflush(stdout);
	ctl_errorf("%s: %s", t->ctx, line);
}

static void ctl_hexdump(const uint8_t *p, uint32_t len)
{
	uint32_t i, j;

	for (i = 0; i < len; i += 16) {
		printf("  %06x ", i);
		for (j = i; j < i + 16; j++) {
			if (j < len)
				printf(" %02x", p[j]);
			else
				fputs("   ", stdout);
		}
		fputs("  |", stdout);
		for (j = i; j < i + 16 && j < len; j++)
			putchar(p[j] >= 0x20 && p[j] < 0x7f ? p[j] : '.');
		fputs("|\n", stdout);
	}
}

/* bcast: a sequence gap of n records must be records lost to lapping. */
static void ctl_gap(struct ctl_tail *t, uint32_t id, uint64_t want, uint64_t got)
{
	uint64_t n = got - want;

	if (t->kind == CTL_TAIL_BCAST && n <= t->unexplained) {
		t->unexplained -= n;
		t->explained += n;
		return;
	}
	if (t->kind == CTL_TAIL_BCAST)
		ctl_problem(t, "producer %u: gap: expected seq %" PRIu64 ", got %" PRIu64
			    " (%" PRIu64 " missing, %" PRIu64 " lost to lapping unaccounted for)",
			    id, want, got, n, t->unexplained);
	else
		ctl_problem(t, "producer %u: gap: expected seq %" PRIu64 ", got %" PRIu64, id,
			    want, got);
}

/* Print and check one record (or slot value: t->version is its version). */
void ctl_tail_record(struct ctl_tail *t, const uint8_t *p, uint32_t len, uint32_t type)
{
	bool slot = t->kind == CTL_TAIL_SLOT;
	struct ctl_seq_hdr h;
	struct ctl_prod *pr;
	char why[256];
	bool valid;

	t->records++;
	valid = !ctl_seq_check(p, len, type, &h, why, sizeof(why));
	if (!t->quiet) {
		if (valid && slot)
			printf("id=%u seq=%" PRIu64 " len=%u version=%" PRIu64 "\n", h.id, h.seq,
			       len, t->version);
		else if (valid)
			printf("id=%u seq=%" PRIu64 " len=%u\n", h.id, h.seq, len);
		else if (slot)
			printf("len=%u version=%" PRIu64 "\n", len, t->version);
		else
			printf("len=%u type=%u\n", len, type);
		if (t->hex)
			ctl_hexdump(p, len);
	}
	if (!t->check)
		return;

	if (!valid) {
		if (slot && type != CTL_SEQ_TYPE)
			ctl_problem(t, "version %" PRIu64 ": value is not a pub --seq value",
				    t->version);
		else if (slot)
			ctl_problem(t, "version %" PRIu64 ": %s", t->version, why);
		else
			ctl_problem(t, "record %" PRIu64 ": %s", t->records, why);
		return;
	}
	if (h.id >= t->producers) {
		ctl_problem(t, "producer %u: unexpected producer id (--producers %u)", h.id,
			    t->producers);
		return;
	}
	pr = &t->prod[h.id];
	pr->records++;
	if (!pr->seen) {
		pr->seen = true;
		pr->first = h.seq;
		if (t->fresh && h.seq != 1 && !slot)
			ctl_gap(t, h.id, 1, h.seq);
		else if (!t->fresh && h.seq != 1 && !t->quiet && !slot)
			fprintf(stderr, "pinshm: %s: producer %u: first seq %" PRIu64 " (%s)\n",
				t->ctx, h.id, h.seq, t->kind == CTL_TAIL_BCAST ?
				"older records are gone" : "the ring was consumed before");
		pr->last = h.seq;
	} else if (h.seq == pr->last + 1) {
		pr->last = h.seq;
	} else if (h.seq > pr->last + 1) {
		if (!slot)	/* a slot holds the latest value: skipping is normal */
			ctl_gap(t, h.id, pr->last + 1, h.seq);
		pr->last = h.seq;
	} else if (h.seq == pr->last) {
		if (slot)
			ctl_problem(t, "producer %u: duplicate: seq %" PRIu64
				    " again in version %" PRIu64, h.id, h.seq, t->version);
		else
			ctl_problem(t, "producer %u: duplicate: seq %" PRIu64 " twice", h.id,
				    h.seq);
	} else if (slot) {
		ctl_problem(t, "producer %u: went backwards: seq %" PRIu64 " after %" PRIu64
			    " (version %" PRIu64 ")", h.id, h.seq, pr->last, t->version);
	} else {
		ctl_problem(t, "producer %u: out of order: seq %" PRIu64 " after %" PRIu64, h.id,
			    h.seq, pr->last);
	}
}

bool ctl_tail_done(const struct ctl_tail *t)
{
	uint32_t i;

	if (!t->count)
		return false;
	if (!t->check)
		return t->records >= t->count;
	for (i = 0; i < t->producers; i++)
		if (!t->prod[i].seen || t->prod[i].last < t->count)
			return false;
	return true;
}
