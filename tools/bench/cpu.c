// SPDX-License-Identifier: MIT
/* CPUs for the benchmarks (cpu.h): placement and noise. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"

bool bench_cpu_flag(const char *flag)
{
	char line[8192];
	size_t fl = strlen(flag);
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "flags", 5))
			continue;
		for (p = strstr(line, flag); p; p = strstr(p + 1, flag)) {
			if ((p == line || p[-1] == ' ') &&
			    (p[fl] == ' ' || p[fl] == '\n' || p[fl] == 0)) {
				found = true;
				break;
			}
		}
		break;
	}
	fclose(f);
	return found;
}

int bench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	return 0;
}

int bench_allowed_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int i, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (i = 0; i < CPU_SETSIZE && n < max; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	return n;
}

int bench_parse_cpus(const char *s, int cpus[2])
{
	char *end;
	long a, b;

	a = strtol(s, &end, 10);
	if (end == s || *end != ',')
		return -EINVAL;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (end == s || *end || a < 0 || b < 0 || a >= CPU_SETSIZE ||
	    b >= CPU_SETSIZE || a == b)
		return -EINVAL;
	cpus[0] = (int)a;
	cpus[1] = (int)b;
	return 0;
}

int bench_cpustat_read(int cpu, struct bench_cpustat *out)
{
	unsigned long long v[10] = { 0 };
	char line[512], want[32];
	int n, ret = -ENOENT;
	FILE *f = fopen("/proc/stat", "r");

	memset(out, 0, sizeof(*out));
	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		n = sscanf(line + strlen(want),
			   "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7], &v[8], &v[9]);
		if (n >= 8) {
			out->busy = v[0] + v[1] + v[2] + v[5] + v[6];
			out->steal = v[7];
			out->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] +
				     v[6] + v[7];
			ret = 0;
		}
		break;
	}
	fclose(f);
	return ret;
}

void bench_cpustat_noise(const struct bench_cpustat *a,
			 const struct bench_cpustat *b, double ours_us,
			 double *other_pct, double *steal_pct)
{
	double hz = (double)sysconf(_SC_CLK_TCK);
	double total = (double)(b->total - a->total);
	double other = (double)(b->busy - a->busy) - ours_us * 1e-6 * hz;

	*other_pct = 0;
	*steal_pct = 0;
	if (total <= 0)
		return;
	*other_pct = other > 0 ? 100.0 * other / total : 0;
	*steal_pct = 100.0 * (double)(b->steal - a->steal) / total;
}
