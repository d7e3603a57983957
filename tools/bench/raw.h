/* SPDX-License-Identifier: MIT */
/*
 * The physical baselines every ring is compared with, in shared memory:
 * a raw cache-line ping-pong between two cores (bench_pp, with a TSC skew
 * probe and a paced one-way line), and a minimal inline fixed-slot ring
 * (bench_raw_ring) for streaming and for ring-shaped round trips.
 *
 * Protocol of the shared words written here (STYLE.md, memory ordering):
 *   bench_pp.ping.seq/.tsc ...... initiator (one-way: sender) only
 *   bench_pp.pong.seq/.tsc ...... responder only
 *   (P1) initiator: store-release ping.seq  pairs with  (P2) responder:
 *        load-acquire ping.seq.
 *   (P3) responder: store-release pong.seq (after pong.tsc)  pairs with
 *        (P4) initiator: load-acquire pong.seq, then read pong.tsc.
 *   (P1') one-way sender: store-release ping.tsc  pairs with  (P2')
 *        receiver: load-acquire ping.tsc (one word: nothing else to order,
 *        release/acquire only to mirror a real message's publication).
 * On x86-64 every one of these is a plain mov: the ping-pong costs exactly
 * the cache-line transfers, which is what makes it the baseline.
 *
 * The raw ring: each slot is a u64 stamp followed by the payload, so a
 * 56-byte payload fills exactly one 64-byte line, as an SPSC record with
 * its 8-byte header does. The consumer polls the stamp of the slot at its
 * position (never the producer's index); the producer reads the consumer's
 * index only when its cached copy says full. One memcpy per message. The
 * floor for streaming: one line moved per message and nothing else shared
 * on the way.
 *
 * A slot's stamp is its free-running position + 1, so a stamp left from an
 * earlier lap (or run) never looks new. Each payload starts with its u64
 * sequence number (first, first + 1, ...), which the consumer checks.
 * Positions continue across runs.
 *
 * With batch > 1 the producer writes the stamps of a batch relaxed but
 * keeps the first back, and store-releases it last: the consumer sees the
 * whole batch at once (as pinshm_spsc_stage()/publish() do); the consumer
 * releases its index once per batch.
 *
 * Protocol (STYLE.md, memory ordering):
 *   the slots (stamp and payload), bench_raw_ring.tail ...... producer only
 *   bench_raw_ring.head ...................................... consumer only
 *   (R1) producer: write the payload (and later stamps of a batch), then
 *        store-release the stamp
 *     pairs with
 *   (R2) consumer: load-acquire the stamp, then read the payload.
 *   (R3) consumer: read the payload, then store-release head
 *     pairs with
 *   (R4) producer: load-acquire head, then overwrite slots below it.
 *   tail is the producer's own position, kept between runs; nobody else
 *   reads it.
 */
#ifndef PINSHM_BENCH_RAW_H
#define PINSHM_BENCH_RAW_H

#include <stdbool.h>
#include <stdint.h>

#include <pinshm.h>

#include "clock.h"
#include "cpu.h"
#include "hist.h"

/* ------------------------------------------------------------------ */
/* Raw cache-line ping-pong: the physical baseline                     */
/* ------------------------------------------------------------------ */

struct bench_pp_line {
	_Alignas(BENCH_BLOCK) uint64_t seq;
	uint64_t tsc;
	uint8_t __pad[BENCH_BLOCK - 16];
};

/* Two lines, each alone in its 128-byte block; lives in shared memory. */
struct bench_pp {
	struct bench_pp_line ping;	/* initiator writes */
	struct bench_pp_line pong;	/* responder writes */
};

/*
 * Initiator: n round trips after warm unrecorded ones; each round trip's
 * TSC delta goes into h. The sequence continues from where the lines are,
 * so the same lines serve any number of runs.
 */
void bench_pp_initiator(struct bench_pp *pp, uint64_t warm, uint64_t n,
			struct bench_hist *h);
void bench_pp_responder(struct bench_pp *pp, uint64_t warm, uint64_t n);

/*
 * TSC offset between the responder's core and ours: the responder stamps
 * its TSC into the pong line; from the fastest of n round trips,
 * offset = t_responder - (t0 + t1) / 2, good to +- half that round trip.
 * Sets *offset and *uncertainty in ticks.
 */
void bench_skew_initiator(struct bench_pp *pp, uint64_t n, int64_t *offset,
			  uint64_t *uncertainty);
void bench_skew_responder(struct bench_pp *pp, uint64_t n);

/*
 * Paced one-way latency over one raw line: one message every interval
 * ticks, warm + n of them; both sides pass the same warm and n. The
 * receiver records now - stamp into h after warm; *last is its own memory
 * of the last word it saw (0 before the first run); messages it missed
 * while late are added to *missed, not sampled. Returns how many stamps
 * were ahead of the receiver's TSC (skew): they count as 0.
 */
void bench_oneway_raw_send(struct bench_pp *pp, uint64_t warm, uint64_t n,
			   uint64_t interval);
uint64_t bench_oneway_raw_recv(struct bench_pp *pp, uint64_t warm,
			       uint64_t n, struct bench_hist *h,
			       uint64_t *missed, uint64_t *last);

/* ------------------------------------------------------------------ */
/* Inline streaming ring: the baseline for throughput                  */
/* ------------------------------------------------------------------ */

struct bench_raw_ring {
	_Alignas(BENCH_BLOCK) uint64_t tail;	/* producer only */
	_Alignas(BENCH_BLOCK) uint64_t head;	/* consumer only */
	_Alignas(BENCH_BLOCK) uint8_t slots[];
};

/* Shape of a raw ring: nslots (a power of two) slots of slot bytes. */
struct bench_raw_shape {
	uint64_t nslots;
	uint32_t slot;		/* stamp + payload rounded up to 8 */
	uint32_t size;		/* payload bytes, >= 8 */
};

/* The largest power-of-two slot count whose slots fit in bytes. */
struct bench_raw_shape bench_raw_shape_of(uint32_t size, uint64_t bytes);

static inline uint64_t bench_raw_ring_bytes(const struct bench_raw_shape *sh)
{
	return sizeof(struct bench_raw_ring) + sh->nslots * sh->slot;
}

/*
 * Producer: count messages copied from tmpl (size bytes; its first 8 are
 * overwritten with the sequence number, first, first + 1, ...). yield:
 * sched_yield() while full instead of spinning (for a consumer that
 * sleeps).
 */
void bench_raw_produce(struct bench_raw_ring *rr,
		       const struct bench_raw_shape *sh, void *tmpl,
		       uint64_t first, uint64_t count, unsigned int batch,
		       bool yield);

/*
 * Consumer: take what has been published, up to want messages, checking
 * sequence numbers from *next on. Spins until at least one is there unless
 * nowait. Returns how many were taken, or -EBADMSG on a wrong sequence.
 * *t_first is stamped when the first message of the run (*next == 0)
 * arrives.
 */
int64_t bench_raw_take(struct bench_raw_ring *rr,
		       const struct bench_raw_shape *sh, uint64_t *next,
		       uint64_t want, unsigned int batch, bool nowait,
		       uint64_t *t_first);

/*
 * Consumer of a whole run: count messages; returns messages per second
 * from the first arrival to the last, 0 if unmeasurable, or -EBADMSG.
 */
double bench_raw_consume(struct bench_raw_ring *rr,
			 const struct bench_raw_shape *sh, uint64_t count,
			 unsigned int batch, const struct bench_clock *clk);

/*
 * Round trips over two raw rings, out (ours to write) and in (theirs),
 * each message in the next slot: the floor for any ring that moves one
 * line per message. The initiator (h not NULL) times each reply into h
 * after warm; the responder (h NULL) sends each request back. Returns 0
 * or -EBADMSG (a reply out of sequence).
 */
int bench_raw_ring_pp(struct bench_raw_ring *out, struct bench_raw_ring *in,
		      const struct bench_raw_shape *sh, void *tmpl,
		      uint64_t warm, uint64_t n, struct bench_hist *h);

/*
 * The last bytes of a region's data area, for baselines that must live in
 * the same memory as the rings (raw lines, an inline ring). Checks that no
 * object of the directory reaches into them: create every object first.
 * Returns 0 or -ENOSPC / -EBADMSG.
 */
int bench_region_scratch(const struct pinshm_region *r, uint64_t bytes,
			 void **out);

#endif /* PINSHM_BENCH_RAW_H */
