// SPDX-License-Identifier: MIT
/*
 * Percentile curves of histograms through gnuplot (plot.h): the data and
 * script go to a private temporary directory, gnuplot runs as a child,
 * and both files are removed whatever happens.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "plot.h"

bool bench_have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char dir[4096], file[4200];
	const char *p, *e;

	for (p = path ? path : "/usr/bin:/bin"; *p; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		snprintf(dir, sizeof(dir), "%.*s", (int)(e - p), p);
		snprintf(file, sizeof(file), "%s/gnuplot", *dir ? dir : ".");
		if (!access(file, X_OK))
			return true;
	}
	return false;
}

static bool panel_has_data(const struct bench_plot_panel *p)
{
	unsigned int i;

	for (i = 0; i < p->ncurves; i++)
		if (p->curve[i].h && p->curve[i].h->count)
			return true;
	return false;
}

/* gnuplot's single-quoted strings end at a quote: drop quotes. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; s && *s; s++)
		if (*s != '\'')
			fputc(*s, f);
	fputc('\'', f);
}

/* One data block per curve with samples, in order; returns xmax. */
static double write_data(FILE *f, const struct bench_plot_panel *panel,
			 unsigned int npanels, const struct bench_clock *clk)
{
	double x, xmax = 10;
	unsigned int i, j;

	for (i = 0; i < npanels; i++) {
		for (j = 0; j < panel[i].ncurves; j++) {
			const struct bench_hist *h = panel[i].curve[j].h;
			uint64_t total;

			if (!h || !h->count)
				continue;
			total = h->count;
			fprintf(f, "# %s\n", panel[i].curve[j].legend);
			for (x = 1; x < (double)total; x *= 1.06) {
				double p = 100.0 * (1.0 - 1.0 / x);

				fprintf(f, "%.6g %.1f\n", x, bench_ticks_to_ns(clk,
					bench_hist_percentile(h, p)));
				if (x > xmax)
					xmax = x;
			}
			fprintf(f, "%.6g %.1f\n\n\n", (double)total,
				bench_ticks_to_ns(clk, h->max));
		}
	}
	return xmax;
}

static void write_script(FILE *f, const char *path, const char *title,
			 const struct bench_plot_panel *panel,
			 unsigned int npanels, const char *data, double xmax)
{
	static const char *const colors[] = { "#000000", "#d62728", "#1f77b4",
		"#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2" };
	unsigned int i, j, shown = 0, block = 0, rows;

	for (i = 0; i < npanels; i++)
		shown += panel_has_data(&panel[i]);
	rows = (shown + 1) / 2;
	if (shown > 1)
		fprintf(f, "set terminal pngcairo size 1200,%u font 'sans,10'\n",
			80 + 330 * rows);
	else
		fprintf(f, "set terminal pngcairo size 960,600 font 'sans,11'\n");
	fprintf(f, "set output ");
	put_quoted(f, path);
	fprintf(f, "\n");
	fprintf(f,
		"set logscale xy\n"
		"set xrange [1:%g]\n"
		/* gnuplot reads tic labels as formats: it wants %% for %. */
		"set xtics ('0%%%%' 1, '50%%%%' 2, '90%%%%' 10, '99%%%%' 100, "
		"'99.9%%%%' 1000, '99.99%%%%' 10000, '99.999%%%%' 100000, "
		"'99.9999%%%%' 1000000)\n"
		"set ytics ('10 ns' 10, '100 ns' 100, '1 us' 1000, "
		"'10 us' 10000, '100 us' 100000, '1 ms' 1000000, "
		"'10 ms' 10000000, '100 ms' 100000000, '1 s' 1000000000)\n"
		"set xlabel 'percentile'\n"
		"set grid xtics ytics mytics lc rgb '#dddddd'\n"
		"set key top left box opaque\n", xmax * 1.3);
	if (shown > 1) {
		fprintf(f, "set multiplot layout %u,2 title ", rows);
		put_quoted(f, title);
		fprintf(f, "\n");
	}
	for (i = 0; i < npanels; i++) {
		unsigned int c = 0;

		if (!panel_has_data(&panel[i]))
			continue;
		fprintf(f, "set title ");
		put_quoted(f, shown > 1 ? panel[i].title : title);
		fprintf(f, "\nset ylabel ");
		put_quoted(f, panel[i].ylabel);
		fprintf(f, "\nplot ");
		for (j = 0; j < panel[i].ncurves; j++) {
			const struct bench_hist *h = panel[i].curve[j].h;

			if (!h || !h->count)
				continue;
			fprintf(f, "%s'%s' index %u with lines lw 2 lc rgb '%s' "
				"title ", c ? ", \\\n     " : "", data, block,
				colors[c % 8]);
			put_quoted(f, panel[i].curve[j].legend);
			block++;
			c++;
		}
		fprintf(f, "\n");
	}
	if (shown > 1)
		fprintf(f, "unset multiplot\n");
}

int bench_plot_hists(const char *path, const char *title,
		     const struct bench_plot_panel *panel,
		     unsigned int npanels, const struct bench_clock *clk)
{
	char dir[] = "/tmp/pinshm-plot.XXXXXX", data[64], script[64];
	unsigned int i, shown = 0;
	double xmax;
	FILE *f;
	pid_t pid;
	int st, ret = 0;

	for (i = 0; i < npanels; i++)
		shown += panel_has_data(&panel[i]);
	if (!shown)
		return -ENODATA;
	if (!mkdtemp(dir))
		return -errno;
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(script, sizeof(script), "%s/plot.gp", dir);
	f = fopen(data, "w");
	if (!f) {
		ret = -errno;
		goto out;
	}
	xmax = write_data(f, panel, npanels, clk);
	if (fclose(f)) {
		ret = -errno;
		goto out;
	}
	f = fopen(script, "w");
	if (!f) {
		ret = -errno;
		goto out;
	}
	write_script(f, path, title, panel, npanels, data, xmax);
	if (fclose(f)) {
		ret = -errno;
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			ret = -errno;
			goto out;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		ret = -EIO;
out:
	unlink(data);
	unlink(script);
	rmdir(dir);
	return ret;
}
