// SPDX-License-Identifier: MIT
/*
 * pinshm(1): stat, the rates of a region's rings every interval.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd.h"

#define CTL_MAX_OBJS	PINSHM_DIR_MAX

struct ctl_stat_ring {
	char region[PINSHM_NAME_MAX];
	char name[PINSHM_OBJ_NAME_MAX];
	uint32_t type;
	bool have_prev;		/* cur holds a sample; prev the one before */
	struct pinshm_ring_stats prev, cur;
};

struct ctl_stat {
	struct pinshm_region **regions;
	unsigned int nregions;
	struct ctl_stat_ring *rings;
	unsigned int nrings, maxrings;
};

/* Refresh the list of rings and their counters; keeps earlier samples. */
/* Rings whose head and tail are byte positions (a fan-in ring's: sums of its
 * lanes'), so that tail - head is the backlog. */
static bool ctl_queue_type(uint32_t type)
{
	return type == PINSHM_OBJ_SPSC || type == PINSHM_OBJ_MPSC || type == PINSHM_OBJ_FANIN;
}

static void ctl_stat_sample(struct ctl_stat *s)
{
	struct pinshm_obj_info infos[CTL_MAX_OBJS];
	unsigned int i, j, k;
	int n;

	for (i = 0; i < s->nregions; i++) {
		const char *rname = pinshm_region_name(s->regions[i]);

		n = pinshm_obj_list(s->regions[i], infos, CTL_MAX_OBJS);
		for (j = 0; n > 0 && j < (unsigned int)n && j < CTL_MAX_OBJS; j++) {
			struct ctl_stat_ring *sr = NULL;

			infos[j].name[PINSHM_OBJ_NAME_MAX - 1] = '\0';
			for (k = 0; k < s->nrings; k++)
				if (!strcmp(s->rings[k].region, rname) &&
				    !strcmp(s->rings[k].name, infos[j].name))
					sr = &s->rings[k];
			if (!sr) {
				if (s->nrings == s->maxrings) {
					unsigned int m = s->maxrings ? 2 * s->maxrings : 16;
					void *p = realloc(s->rings, m * sizeof(*s->rings));

					if (!p)
						continue;
					s->rings = p;
					s->maxrings = m;
				}
				sr = &s->rings[s->nrings++];
				memset(sr, 0, sizeof(*sr));
				snprintf(sr->region, sizeof(sr->region), "%s", rname);
				memcpy(sr->name, infos[j].name, sizeof(sr->name));
				sr->type = infos[j].type;
			}
			sr->prev = sr->cur;
			if (pinshm_obj_stats(s->regions[i], sr->name, &sr->cur) == 0) {
				if (!sr->have_prev)
					sr->prev = sr->cur;	/* first sample: rates 0 */
				sr->have_prev = true;
			}
		}
	}
}

static double ctl_per_s(uint64_t now, uint64_t before, double secs)
{
	return now >= before && secs > 0 ? (double)(now - before) / secs : 0;
}

static void ctl_stat_print(const struct ctl_stat *s, bool json, double secs, unsigned int nth)
{
	struct json_object *arr = NULL, *top = NULL;
	char b1[32], b2[32], b3[32], b4[32];
	unsigned int k;

	if (json) {
		top = json_object_new_object();
		arr = json_object_new_array();
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		json_object_object_add(top, "time", json_object_new_string(
			ctl_fmt_time((uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec,
				     b1, sizeof(b1))));
		json_object_object_add(top, "interval_s", json_object_new_double(secs));
	} else if (nth == 0 || s->nrings > 1) {
		printf("%-32s %10s %10s %10s %10s %10s %8s %8s %8s\n", "REGION/RING", "MSGS_IN/S",
		       "MSGS_OUT/S", "BYTES_IN/S", "BYTES_OUT/S", "BACKLOG", "FULL", "PRODUCER",
		       "CONSUMER");
	}
	for (k = 0; k < s->nrings; k++) {
		const struct ctl_stat_ring *sr = &s->rings[k];
		const struct pinshm_ring_stats *c = &sr->cur, *p = &sr->prev;
		/* bcast and slot keep no backlog: their head/tail are not bytes. */
		uint64_t backlog = c->tail >= c->head && ctl_queue_type(sr->type) ?
				   c->tail - c->head : 0;

		if (!sr->have_prev)
			continue;
		if (json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "region", json_object_new_string(sr->region));
			json_object_object_add(o, "ring", json_object_new_string(sr->name));
			json_object_object_add(o, "type", json_object_new_string(
				pinshm_obj_type_name(sr->type) ? pinshm_obj_type_name(sr->type)
							       : "unknown"));
			json_object_object_add(o, "msgs_in", json_object_new_uint64(c->msgs_in));
			json_object_object_add(o, "msgs_out", json_object_new_uint64(c->msgs_out));
			json_object_object_add(o, "bytes_in", json_object_new_uint64(c->bytes_in));
			json_object_object_add(o, "bytes_out", json_object_new_uint64(c->bytes_out));
			json_object_object_add(o, "full_events", json_object_new_uint64(c->full_events));
			json_object_object_add(o, "lapped", json_object_new_uint64(c->lapped));
			json_object_object_add(o, "recoveries", json_object_new_uint64(c->recoveries));
			json_object_object_add(o, "corrupt", json_object_new_uint64(c->corrupt));
			json_object_object_add(o, "backlog_bytes", json_object_new_uint64(backlog));
			json_object_object_add(o, "msgs_in_per_s", json_object_new_double(
				ctl_per_s(c->msgs_in, p->msgs_in, secs)));
			json_object_object_add(o, "msgs_out_per_s", json_object_new_double(
				ctl_per_s(c->msgs_out, p->msgs_out, secs)));
			json_object_object_add(o, "bytes_in_per_s", json_object_new_double(
				ctl_per_s(c->bytes_in, p->bytes_in, secs)));
			json_object_object_add(o, "bytes_out_per_s", json_object_new_double(
				ctl_per_s(c->bytes_out, p->bytes_out, secs)));
			json_object_object_add(o, "producer_pid", c->producer_pid ?
					       json_object_new_int64(c->producer_pid) : NULL);
			json_object_object_add(o, "consumer_pid", c->consumer_pid ?
					       json_object_new_int64(c->consumer_pid) : NULL);
			json_object_array_add(arr, o);
		} else {
			char rr[PINSHM_NAME_MAX + PINSHM_OBJ_NAME_MAX + 2];
			char pp[16] = "-", cp[16] = "-";

			snprintf(rr, sizeof(rr), "%s/%s", sr->region, sr->name);
			if (c->producer_pid)
				snprintf(pp, sizeof(pp), "%u", c->producer_pid);
			if (c->consumer_pid)
				snprintf(cp, sizeof(cp), "%u", c->consumer_pid);
			printf("%-32s %10s %10s %10s %10s %10" PRIu64 " %8" PRIu64 " %8s %8s\n", rr,
			       ctl_fmt_rate(ctl_per_s(c->msgs_in, p->msgs_in, secs), b1, sizeof(b1)),
			       ctl_fmt_rate(ctl_per_s(c->msgs_out, p->msgs_out, secs), b2, sizeof(b2)),
			       ctl_fmt_rate(ctl_per_s(c->bytes_in, p->bytes_in, secs), b3, sizeof(b3)),
			       ctl_fmt_rate(ctl_per_s(c->bytes_out, p->bytes_out, secs), b4, sizeof(b4)),
			       backlog, c->full_events, pp, cp);
		}
	}
	if (json) {
		json_object_object_add(top, "rings", arr);
		ctl_put_json(top, JSON_C_TO_STRING_PLAIN);
	}
	fflush(stdout);
}

static const struct ctl_opt ctl_stat_opts[] = {
	{ "interval", 'i', "MS", "milliseconds between reports (default 1000)", 0 },
	{ "count", 'n', "N", "stop after N reports (default: until interrupted)", 0 },
	{ "json", 'j', NULL, "one JSON object per report and line: {time, interval_s, rings: "
	  "[{region, ring, type, msgs_in, msgs_out, bytes_in, bytes_out, full_events, lapped, "
	  "recoveries, corrupt, backlog_bytes, msgs_in_per_s, msgs_out_per_s, bytes_in_per_s, "
	  "bytes_out_per_s, producer_pid, consumer_pid}]}", 0 },
	{ "prometheus", 'P', NULL, "print the rings' counters once, in the Prometheus text "
	  "exposition format (pinshm_ring_msgs_in_total{region,ring,type}, ...), and exit", 0 },
	{ NULL },
};

const struct ctl_cmd ctl_cmd_stat = {
	.name = "stat", .run = cmd_stat, .args = "[NAME]", .opts = ctl_stat_opts,
	.summary = "ring rates every interval",
	.help =
	"Every interval, print the rates of every ring of region NAME (or of all\n"
	"regions): messages and bytes in and out per second, backlog (bytes\n"
	"published but not yet released), full events (producer found the ring\n"
	"full), producer and consumer pids. Read-only: takes no ring role. bcast and\n"
	"slot have no backlog (0); a slot's messages in are its writes.\n",
	.examples =
	"  pinshm stat md\n"
	"  pinshm stat --interval 100 --count 10 --json\n"
	"  pinshm stat --prometheus > /var/lib/node_exporter/pinshm-rings.prom\n",
};

struct ctl_stat_args {
	uint64_t interval, count;
	bool json, prometheus;
};

/* The counters of every ring, once, in the Prometheus text format. */
static void ctl_stat_prom(const struct ctl_stat *s)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} f[] = {
#define SF(n, t, h, m) { n, t, h, offsetof(struct pinshm_ring_stats, m) }
		SF("pinshm_ring_msgs_in_total", "counter", "Messages published.", msgs_in),
		SF("pinshm_ring_msgs_out_total", "counter", "Messages consumed.", msgs_out),
		SF("pinshm_ring_bytes_in_total", "counter", "Payload bytes published.", bytes_in),
		SF("pinshm_ring_bytes_out_total", "counter", "Payload bytes consumed.", bytes_out),
		SF("pinshm_ring_full_events_total", "counter",
		   "Times a producer found the ring full.", full_events),
		SF("pinshm_ring_lapped_total", "counter", "Records lost by lapped readers.", lapped),
		SF("pinshm_ring_recoveries_total", "counter", "Ring repairs.", recoveries),
		SF("pinshm_ring_corrupt_total", "counter", "Corrupt records seen.", corrupt),
#undef SF
	};
	char la[4 * PINSHM_NAME_MAX], lb[4 * PINSHM_OBJ_NAME_MAX];
	unsigned int i, k;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		ctl_prom_head(f[i].name, f[i].type, f[i].help);
		for (k = 0; k < s->nrings; k++) {
			const struct ctl_stat_ring *sr = &s->rings[k];
			const char *t = pinshm_obj_type_name(sr->type);

			if (!sr->have_prev)
				continue;
			printf("%s{region=\"%s\",ring=\"%s\",type=\"%s\"} %" PRIu64 "\n", f[i].name,
			       ctl_prom_label(sr->region, la, sizeof(la)),
			       ctl_prom_label(sr->name, lb, sizeof(lb)), t ? t : "unknown",
			       *(const uint64_t *)((const char *)&sr->cur + f[i].off));
		}
	}
	ctl_prom_head("pinshm_ring_backlog_bytes", "gauge",
		      "Bytes published and not yet released (spsc, mpsc).");
	for (k = 0; k < s->nrings; k++) {
		const struct ctl_stat_ring *sr = &s->rings[k];
		const struct pinshm_ring_stats *c = &sr->cur;
		const char *t = pinshm_obj_type_name(sr->type);

		if (!sr->have_prev)
			continue;
		printf("pinshm_ring_backlog_bytes{region=\"%s\",ring=\"%s\",type=\"%s\"} %" PRIu64 "\n",
		       ctl_prom_label(sr->region, la, sizeof(la)),
		       ctl_prom_label(sr->name, lb, sizeof(lb)), t ? t : "unknown",
		       c->tail >= c->head && ctl_queue_type(sr->type) ? c->tail - c->head : 0);
	}
	fflush(stdout);
}

static int ctl_stat_opt(const struct ctl_cmd *c, const struct ctl_opt *opt, const char *arg,
			void *data)
{
	struct ctl_stat_args *a = data;

	switch (opt->key) {
	case 'i':
		if (ctl_parse_u64(arg, &a->interval) || !a->interval || a->interval > 3600000)
			return ctl_usage_error(c, "bad --interval '%s' (milliseconds, 1..3600000)",
					       arg);
		break;
	case 'n':
		if (ctl_parse_u64(arg, &a->count))
			return ctl_usage_error(c, "bad --count '%s'", arg);
		break;
	case 'j':
		a->json = true;
		break;
	case 'P':
		a->prometheus = true;
		break;
	}
	return 0;
}

int cmd_stat(int argc, char **argv)
{
	static const char *const none[] = { NULL };
	const struct ctl_cmd *c = &ctl_cmd_stat;
	struct ctl_stat_args a = { .interval = 1000 };
	char (*names)[PINSHM_NAME_MAX] = NULL;
	struct ctl_stat s = { 0 };
	uint64_t t0, t1, nth;
	int ret, n = 0, i, err = 0;

	ret = ctl_parse(c, argc, argv, ctl_stat_opt, &a);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = ctl_operands(c, argc, argv, none, 1);
	if (ret)
		return ret;
	if (a.json && a.prometheus)
		return ctl_usage_error(c, "--json or --prometheus, not both");

	if (optind < argc) {
		char ctx[128];

		snprintf(ctx, sizeof(ctx), "stat %s", argv[optind]);
		if (!pinshm_name_valid(argv[optind])) {
			ctl_errorf("%s: %s", ctx, ctl_name_rule());
			return -EINVAL;
		}
		names = calloc(1, sizeof(*names));
		if (!names)
			return ctl_fail(ctx, -ENOMEM, CTL_REGION);
		snprintf(names[0], sizeof(names[0]), "%s", argv[optind]);
		n = 1;
	} else {
		n = ctl_list_regions("stat", &names);
		if (n < 0)
			return n;
	}
	s.regions = calloc((size_t)n + 1, sizeof(*s.regions));
	if (!s.regions) {
		free(names);
		return ctl_fail("stat", -ENOMEM, CTL_REGION);
	}
	for (i = 0; i < n; i++) {
		names[i][PINSHM_NAME_MAX - 1] = '\0';
		ret = pinshm_region_open(names[i], PINSHM_OBSERVE, ctl_backend,
					 &s.regions[s.nregions]);
		if (ret == 0) {
			s.nregions++;
		} else if (optind < argc) {
			char ctx[128];

			snprintf(ctx, sizeof(ctx), "stat %s", names[i]);
			err = ctl_fail(ctx, ret, CTL_REGION);
			goto out;
		}
	}

	ctl_stat_sample(&s);
	if (a.prometheus) {
		ctl_stat_prom(&s);
		goto out;
	}
	ctl_install_signals();
	t0 = bench_mono_ns();
	for (nth = 0; !ctl_stop && (!a.count || nth < a.count); nth++) {
		struct timespec ts = {
			.tv_sec = (time_t)(a.interval / 1000),
			.tv_nsec = (long)(a.interval % 1000) * 1000000L,
		};

		nanosleep(&ts, NULL);
		if (ctl_stop)
			break;
		ctl_stat_sample(&s);
		t1 = bench_mono_ns();
		ctl_stat_print(&s, a.json, (double)(t1 - t0) / 1e9, (unsigned int)nth);
		t0 = t1;
	}
out:
	for (i = 0; i < (int)s.nregions; i++)
		pinshm_region_close(s.regions[i]);
	free(s.regions);
	free(s.rings);
	free(names);
	return err;
}
