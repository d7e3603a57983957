/* SPDX-License-Identifier: MIT */
/*
 * Percentile curves of latency histograms, drawn by gnuplot into a PNG:
 * one panel, or a grid of panels, of curves on log-log axes where x is
 * 1 / (1 - p) (90% is 10, 99% is 100: HdrHistogram's plot). Used by
 * pinshm bench --plot and pinshm-demo --plot.
 */
#ifndef PINSHM_BENCH_PLOT_H
#define PINSHM_BENCH_PLOT_H

#include <stdbool.h>

#include "clock.h"
#include "hist.h"

struct bench_plot_curve {
	const char *legend;		/* shown as is */
	const struct bench_hist *h;	/* TSC ticks; empty: left out */
};

struct bench_plot_panel {
	const char *title;		/* NULL: none */
	const char *ylabel;
	const struct bench_plot_curve *curve;
	unsigned int ncurves;
};

/* Is gnuplot on $PATH? */
bool bench_have_gnuplot(void);

/*
 * Draw npanels panels (a grid of two columns when more than one) into the
 * PNG file path under title. Panels without a sample are left out.
 * 0, -EIO (gnuplot failed), -ENODATA (no sample at all) or -errno.
 */
int bench_plot_hists(const char *path, const char *title,
		     const struct bench_plot_panel *panel,
		     unsigned int npanels, const struct bench_clock *clk);

#endif /* PINSHM_BENCH_PLOT_H */
