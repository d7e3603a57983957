// SPDX-License-Identifier: MIT
/*
 * Suite "probes": what the library's USDT probes report (libshm/src/
 * probes.c): the names a ring handle carries are the process's own copies,
 * made at attach, and outlive both the caller's string and any rewrite of
 * the shared directory; the same names share one entry; the out-of-line
 * slow paths of the inline fast paths keep the counters (once per run of
 * refusals, once per lap). Whether the probes fire is for a tracer to see:
 * make check-usdt and tests/usdt/provoke.
 */
#include "testutil.h"
#include "../../libshm/src/probes.h"

static struct pinshm_region *g_r;

static void probes_fini(void)
{
	if (g_r)
		pinshm_region_close(g_r);
	g_r = NULL;
	t_cleanup();
}

TestSuite(probes, .fini = probes_fini, .timeout = 30);

Test(probes, a_handle_names_its_region_and_ring_from_copies)
{
	struct pinshm_dir *d;
	struct pinshm_spsc h;
	const struct pinshm_probe_names *n;
	char ring[PINSHM_OBJ_NAME_MAX];

	g_r = t_create("names", 1 << 20, NULL);
	cr_assert_eq(pinshm_spsc_create(g_r, "orders", 4096, 0), 0);
	strcpy(ring, "orders");
	cr_assert_eq(pinshm_spsc_attach(g_r, ring, PINSHM_PRODUCER, &h), 0);
	/* Neither the caller's string nor the shared directory is kept. */
	memset(ring, 'x', sizeof(ring) - 1);
	d = pinshm_region_data(g_r);
	memcpy(d->entry[0].name, "forged", 7);
	n = __pinshm_probe_names(h.wref.probe);
	cr_assert_neq(h.wref.probe, 0);
	cr_assert_str_eq(n->region, pinshm_region_name(g_r));
	cr_assert_str_eq(n->ring, "orders");
	cr_assert_eq(n->type, PINSHM_OBJ_SPSC);
	cr_assert_eq(n->id, -1);
	pinshm_spsc_detach(&h);
	/* Still there after detach: a copied handle may fire later. */
	cr_assert_str_eq(__pinshm_probe_names(h.wref.probe)->ring, "orders");
}

Test(probes, the_same_names_share_one_entry)
{
	struct pinshm_spsc a, b;
	struct pinshm_mpsc p0, p1;

	g_r = t_create("share", 1 << 20, NULL);
	cr_assert_eq(pinshm_spsc_create(g_r, "s", 4096, 0), 0);
	cr_assert_eq(pinshm_mpsc_create(g_r, "m", 4096, 0), 0);
	cr_assert_eq(pinshm_spsc_attach(g_r, "s", PINSHM_PRODUCER, &a), 0);
	cr_assert_eq(pinshm_spsc_attach(g_r, "s", PINSHM_CONSUMER, &b), 0);
	cr_assert_eq(a.wref.probe, b.wref.probe);
	pinshm_spsc_detach(&a);
	cr_assert_eq(pinshm_spsc_attach(g_r, "s", PINSHM_PRODUCER, &a), 0);
	cr_assert_eq(a.wref.probe, b.wref.probe);
	/* MPSC producers differ by id. */
	cr_assert_eq(pinshm_mpsc_attach(g_r, "m", PINSHM_PRODUCER_ID(0), &p0), 0);
	cr_assert_eq(pinshm_mpsc_attach(g_r, "m", PINSHM_PRODUCER_ID(5), &p1), 0);
	cr_assert_neq(p0.wref.probe, p1.wref.probe);
	cr_assert_neq(p0.wref.probe, a.wref.probe);
	cr_assert_eq(__pinshm_probe_names(p1.wref.probe)->id, 5);
	cr_assert_eq(__pinshm_probe_names(p1.wref.probe)->type, PINSHM_OBJ_MPSC);
	cr_assert_str_eq(__pinshm_probe_names(p1.wref.probe)->ring, "m");
	pinshm_mpsc_detach(&p0);
	pinshm_mpsc_detach(&p1);
	pinshm_spsc_detach(&a);
	pinshm_spsc_detach(&b);
}

Test(probes, no_names_reads_as_empty_strings)
{
	const struct pinshm_probe_names *n = __pinshm_probe_names(0);

	cr_assert_str_eq(n->region, "");
	cr_assert_str_eq(n->ring, "");
	cr_assert_eq(n->type, 0);
	/* A number never handed out gives the same. */
	cr_assert_str_eq(__pinshm_probe_names(65535)->ring, "");
}

Test(probes, a_full_spsc_ring_counts_once_per_run_of_refusals)
{
	struct pinshm_spsc p, c;
	struct pinshm_ring_stats st;
	struct pinshm_msg m;
	unsigned int run;
	void *d;

	g_r = t_create("full", 1 << 20, NULL);
	cr_assert_eq(pinshm_spsc_create(g_r, "f", 4096, 0), 0);
	cr_assert_eq(pinshm_spsc_attach(g_r, "f", PINSHM_PRODUCER, &p), 0);
	cr_assert_eq(pinshm_spsc_attach(g_r, "f", PINSHM_CONSUMER, &c), 0);
	for (run = 1; run <= 3; run++) {
		while (pinshm_spsc_claim(&p, 100, &d) == 0)
			pinshm_spsc_commit(&p, 100, 0);
		cr_assert_eq(pinshm_spsc_claim(&p, 100, &d), -EAGAIN);
		cr_assert(p.blocked);
		cr_assert_eq(pinshm_obj_stats(g_r, "f", &st), 0);
		cr_assert_eq(st.full_events, run);
		while (pinshm_spsc_peek(&c, &m) == 0)
			pinshm_spsc_release(&c);
	}
	pinshm_spsc_detach(&p);
	pinshm_spsc_detach(&c);
}

Test(probes, a_lapped_reader_counts_each_lap_and_every_record_lost)
{
	struct pinshm_bcast w, rd;
	struct pinshm_bcast_stats st;
	struct pinshm_bcast_msg m;
	uint64_t v, expect = 0;
	unsigned int lap, k;

	g_r = t_create("lap", 1 << 20, NULL);
	cr_assert_eq(pinshm_bcast_create(g_r, "b", 8, 48), 0);
	cr_assert_eq(pinshm_bcast_attach(g_r, "b", PINSHM_WRITER, &w), 0);
	cr_assert_eq(pinshm_bcast_attach(g_r, "b", PINSHM_READER, &rd), 0);
	for (lap = 1; lap <= 3; lap++) {
		for (k = 0; k < 8 + 3 * lap; k++) {
			v = expect++;
			cr_assert_eq(pinshm_bcast_send(&w, &v, 8, 0), 0);
		}
		/* The first peek resyncs (out of line) and returns the
		 * oldest record still valid. */
		cr_assert_eq(pinshm_bcast_peek(&rd, &m), 0);
		cr_assert_eq(m.seq, expect - 8);
		cr_assert_eq(pinshm_bcast_release(&rd), 0);
		while (pinshm_bcast_peek(&rd, &m) == 0)
			cr_assert_eq(pinshm_bcast_release(&rd), 0);
		cr_assert_eq(pinshm_bcast_stats(&rd, &st), 0);
		cr_assert_eq(st.lapped, lap);
	}
	/* Lost: 3, 6 and 9 records past a full ring. */
	cr_assert_eq(st.lost, 3 + 6 + 9);
	pinshm_bcast_detach(&rd);
	pinshm_bcast_detach(&w);
}
