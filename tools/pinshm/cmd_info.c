// SPDX-License-Identifier: MIT
/*
 * pinshm(1): info, and how a region's metadata page reads (also for ls).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd.h"

#define CTL_MAX_OBJS	PINSHM_DIR_MAX

/* A fan-in ring's lanes, from its directory entry (size and lane capacity). */
static uint64_t ctl_fanin_lanes(const struct pinshm_obj_info *oi)
{
	uint64_t lane = PINSHM_SPSC_HDR_SIZE + oi->capacity;

	return oi->size > PINSHM_FANIN_HDR_SIZE ? (oi->size - PINSHM_FANIN_HDR_SIZE) / lane : 0;
}

static const char *ctl_access_name(unsigned int acc)
{
	switch (acc) {
	case PINSHM_ACC_RO:
		return "ro";
	case PINSHM_ACC_RW:
		return "rw";
	default:
		return "?";
	}
}

static const char *ctl_state_name(unsigned int st)
{
	switch (st) {
	case PINSHM_ST_FREE:
		return "free";
	case PINSHM_ST_ATTACHED:
		return "attached";
	case PINSHM_ST_DETACHED:
		return "detached";
	case PINSHM_ST_DIED:
		return "died";
	case PINSHM_ST_EXEC:
		return "exec";
	default:
		return "?";
	}
}

/* The death log's entries, newest first, into out; returns how many. */
static unsigned int ctl_deaths(const struct pinshm_meta *m,
			       const struct pinshm_death *out[PINSHM_DEATH_LOG])
{
	unsigned int i, j, n = 0;

	for (i = 0; i < PINSHM_DEATH_LOG; i++) {
		const struct pinshm_death *d = &m->deaths[i];

		if (!d->nr)
			continue;
		for (j = n++; j > 0 && out[j - 1]->nr < d->nr; j--)
			out[j] = out[j - 1];
		out[j] = d;
	}
	return n;
}

/* "deaths": [{nr, pid, access, slot, exit, signal, died_at, died_ns}], newest first. */
struct json_object *ctl_deaths_json(const struct pinshm_meta *m)
{
	const struct pinshm_death *ds[PINSHM_DEATH_LOG];
	struct json_object *arr = json_object_new_array();
	unsigned int i, n = ctl_deaths(m, ds);
	char tbuf[64];

	for (i = 0; i < n; i++) {
		const struct pinshm_death *d = ds[i];
		struct json_object *s = json_object_new_object();

		json_object_object_add(s, "nr", json_object_new_uint64(d->nr));
		json_object_object_add(s, "pid", json_object_new_int64(d->tgid));
		json_object_object_add(s, "access", json_object_new_string(ctl_access_name(d->access)));
		json_object_object_add(s, "slot", d->slot != PINSHM_SLOT_NONE ?
				       json_object_new_int(d->slot) : NULL);
		json_object_object_add(s, "exit", d->exit_code != PINSHM_EXIT_UNKNOWN ?
				       json_object_new_int(d->exit_code) : NULL);
		json_object_object_add(s, "signal", d->signal ?
				       json_object_new_int((int)d->signal) : NULL);
		json_object_object_add(s, "died_at",
				       json_object_new_string(ctl_fmt_time(d->died_ns, tbuf, sizeof(tbuf))));
		json_object_object_add(s, "died_ns", json_object_new_uint64(d->died_ns));
		json_object_array_add(arr, s);
	}
	return arr;
}

struct ctl_obj {
	struct pinshm_obj_info info;
	struct pinshm_ring_stats st;
	int st_err;
};

static struct json_object *ctl_json_u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static struct json_object *ctl_info_json(const struct pinshm_meta *m,
					 const struct ctl_obj *objs, int nobj,
					 int obj_err)
{
	struct json_object *o = json_object_new_object();
	struct json_object *att = json_object_new_array();
	struct json_object *arr = json_object_new_array();
	char tbuf[64];
	unsigned int i;
	int k;

	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "backend", json_object_new_string(ctl_meta_backend(m)));
	json_object_object_add(o, "size", ctl_json_u64(m->size));
	json_object_object_add(o, "numa_node", json_object_new_int(m->node));
	json_object_object_add(o, "contiguous",
			       json_object_new_boolean(!!(m->flags & PINSHM_F_CONTIGUOUS)));
	json_object_object_add(o, "pinned",
			       json_object_new_boolean(!!(m->flags & PINSHM_F_PINNED)));
	json_object_object_add(o, "huge_aligned",
			       json_object_new_boolean(!!(m->flags & PINSHM_F_HUGE_ALIGNED)));
	json_object_object_add(o, "destroyed",
			       json_object_new_boolean(!!(m->flags & PINSHM_F_DESTROYED)));
	json_object_object_add(o, "generation", ctl_json_u64(m->generation));
	json_object_object_add(o, "crashes", ctl_json_u64(m->crashes));
	json_object_object_add(o, "created",
			       json_object_new_string(ctl_fmt_time(m->created_ns, tbuf, sizeof(tbuf))));
	json_object_object_add(o, "created_ns", ctl_json_u64(m->created_ns));
	json_object_object_add(o, "uid", json_object_new_int64(m->uid));
	json_object_object_add(o, "gid", json_object_new_int64(m->gid));
	snprintf(tbuf, sizeof(tbuf), "%04o", m->mode & 0777);
	json_object_object_add(o, "mode", json_object_new_string(tbuf));
	json_object_object_add(o, "attached", json_object_new_int64(ctl_attached_others(m)));
	json_object_object_add(o, "untracked", json_object_new_int64(m->nr_untracked));
	json_object_object_add(o, "untracked_total", ctl_json_u64(m->untracked_total));

	for (i = 0; i < ctl_nr_slots(m); i++) {
		const struct pinshm_attach *a = &m->attach[i];
		struct json_object *s;
		bool died = a->state == PINSHM_ST_DIED;

		if (a->state == PINSHM_ST_FREE || ctl_is_self(a))
			continue;
		s = json_object_new_object();
		json_object_object_add(s, "pid", json_object_new_int64(a->tgid));
		json_object_object_add(s, "access", json_object_new_string(ctl_access_name(a->access)));
		json_object_object_add(s, "state", json_object_new_string(ctl_state_name(a->state)));
		json_object_object_add(s, "exit", died && a->exit_code != PINSHM_EXIT_UNKNOWN ?
				       json_object_new_int(a->exit_code) : NULL);
		json_object_object_add(s, "signal", died && a->signal ?
				       json_object_new_int((int)a->signal) : NULL);
		json_object_object_add(s, "attached_at",
				       json_object_new_string(ctl_fmt_time(a->attach_ns, tbuf, sizeof(tbuf))));
		json_object_object_add(s, "detached_at", a->detach_ns ?
				       json_object_new_string(ctl_fmt_time(a->detach_ns, tbuf, sizeof(tbuf))) :
				       NULL);
		json_object_array_add(att, s);
	}
	json_object_object_add(o, "attachers", att);
	json_object_object_add(o, "deaths", ctl_deaths_json(m));

	for (k = 0; k < nobj; k++) {
		const struct ctl_obj *ob = &objs[k];
		struct json_object *s = json_object_new_object();
		const char *tn = pinshm_obj_type_name(ob->info.type);

		json_object_object_add(s, "name", json_object_new_string(ob->info.name));
		json_object_object_add(s, "type", json_object_new_string(tn ? tn : "unknown"));
		json_object_object_add(s, "offset", ctl_json_u64(ob->info.offset));
		json_object_object_add(s, "size", ctl_json_u64(ob->info.size));
		json_object_object_add(s, "capacity", ctl_json_u64(ob->info.capacity));
		json_object_object_add(s, "max_record", ctl_json_u64(ob->info.max_record));
		if (ob->info.type == PINSHM_OBJ_FANIN)
			json_object_object_add(s, "lanes", ctl_json_u64(ctl_fanin_lanes(&ob->info)));
		if (ob->st_err) {
			json_object_object_add(s, "error",
				json_object_new_string(ctl_strerror(ob->st_err, CTL_OBJECT)));
		} else {
			json_object_object_add(s, "msgs_in", ctl_json_u64(ob->st.msgs_in));
			json_object_object_add(s, "msgs_out", ctl_json_u64(ob->st.msgs_out));
			json_object_object_add(s, "bytes_in", ctl_json_u64(ob->st.bytes_in));
			json_object_object_add(s, "bytes_out", ctl_json_u64(ob->st.bytes_out));
			json_object_object_add(s, "full_events", ctl_json_u64(ob->st.full_events));
			json_object_object_add(s, "lapped", ctl_json_u64(ob->st.lapped));
			json_object_object_add(s, "recoveries", ctl_json_u64(ob->st.recoveries));
			json_object_object_add(s, "corrupt", ctl_json_u64(ob->st.corrupt));
			json_object_object_add(s, "head", ctl_json_u64(ob->st.head));
			json_object_object_add(s, "tail", ctl_json_u64(ob->st.tail));
			json_object_object_add(s, "producer_pid",
					       ob->st.producer_pid ?
					       json_object_new_int64(ob->st.producer_pid) : NULL);
			json_object_object_add(s, "consumer_pid",
					       ob->st.consumer_pid ?
					       json_object_new_int64(ob->st.consumer_pid) : NULL);
		}
		json_object_array_add(arr, s);
	}
	json_object_object_add(o, "objects", arr);
	if (obj_err)
		json_object_object_add(o, "objects_error",
				       json_object_new_string(ctl_strerror(obj_err, CTL_OBJECT)));
	return o;
}

static void ctl_info_text(const struct pinshm_meta *m, const struct ctl_obj *objs,
			  int nobj, int obj_err)
{
	const struct pinshm_death *ds[PINSHM_DEATH_LOG];
	char b1[64], b2[64];
	unsigned int i, n, shown = 0;
	int k;

	printf("region %s\n", m->name);
	printf("  backend     %s\n", ctl_meta_backend(m));
	printf("  size        %s (%" PRIu64 " bytes)\n",
	       ctl_fmt_size(m->size, b1, sizeof(b1)), (uint64_t)m->size);
	if (m->node == PINSHM_NODE_ANY)
		printf("  numa node   any\n");
	else
		printf("  numa node   %d\n", m->node);
	printf("  flags       %s%s%s%s%s\n",
	       m->flags & PINSHM_F_CONTIGUOUS ? "contiguous " : "",
	       m->flags & PINSHM_F_PINNED ? "pinned " : "",
	       m->flags & PINSHM_F_HUGE_ALIGNED ? "huge-aligned " : "",
	       m->flags & PINSHM_F_DESTROYED ? "destroyed " : "",
	       m->flags & (PINSHM_F_CONTIGUOUS | PINSHM_F_PINNED | PINSHM_F_HUGE_ALIGNED |
			   PINSHM_F_DESTROYED) ? "" : "-");
	printf("  owner       uid %u gid %u mode %04o\n", m->uid, m->gid, m->mode & 0777);
	printf("  created     %s\n", ctl_fmt_time(m->created_ns, b1, sizeof(b1)));
	printf("  generation  %" PRIu64 "\n", (uint64_t)m->generation);
	printf("  crashes     %" PRIu64 "\n", (uint64_t)m->crashes);
	printf("  attached    %u\n", ctl_attached_others(m));
	if (m->nr_untracked || m->untracked_total)
		printf("  untracked   %u read-only now, %" PRIu64 " ever (no slot left)\n",
		       m->nr_untracked, (uint64_t)m->untracked_total);

	for (i = 0; i < ctl_nr_slots(m); i++) {
		const struct pinshm_attach *a = &m->attach[i];
		char ex[32] = "-", sg[32] = "-";

		if (a->state == PINSHM_ST_FREE || ctl_is_self(a))
			continue;
		if (!shown++)
			printf("\nattachers:\n  %-8s %-6s %-9s %-5s %-6s %-24s %s\n", "PID",
			       "ACCESS", "STATE", "EXIT", "SIGNAL", "ATTACHED AT", "DETACHED AT");
		if (a->state == PINSHM_ST_DIED) {
			if (a->exit_code != PINSHM_EXIT_UNKNOWN)
				snprintf(ex, sizeof(ex), "%d", a->exit_code);
			if (a->signal)
				snprintf(sg, sizeof(sg), "%u", a->signal);
		}
		printf("  %-8u %-6s %-9s %-5s %-6s %-24s %s\n", a->tgid,
		       ctl_access_name(a->access), ctl_state_name(a->state), ex, sg,
		       ctl_fmt_time(a->attach_ns, b1, sizeof(b1)),
		       a->detach_ns ? ctl_fmt_time(a->detach_ns, b2, sizeof(b2)) : "-");
	}
	if (!shown)
		printf("\nattachers: none\n");

	n = ctl_deaths(m, ds);
	if (n)
		printf("\ndeaths (last %u):\n  %-6s %-8s %-6s %-5s %-5s %-6s %s\n", n, "NR",
		       "PID", "ACCESS", "SLOT", "EXIT", "SIGNAL", "DIED AT");
	for (i = 0; i < n; i++) {
		const struct pinshm_death *d = ds[i];
		char sl[16] = "-", ex[32] = "-", sg[32] = "-";

		if (d->slot != PINSHM_SLOT_NONE)
			snprintf(sl, sizeof(sl), "%u", d->slot);
		if (d->exit_code != PINSHM_EXIT_UNKNOWN)
			snprintf(ex, sizeof(ex), "%d", d->exit_code);
		if (d->signal)
			snprintf(sg, sizeof(sg), "%u", d->signal);
		printf("  %-6" PRIu64 " %-8u %-6s %-5s %-5s %-6s %s\n", (uint64_t)d->nr, d->tgid,
		       ctl_access_name(d->access), sl, ex, sg,
		       ctl_fmt_time(d->died_ns, b1, sizeof(b1)));
	}

	if (obj_err) {
		printf("\nobjects: %s\n", ctl_strerror(obj_err, CTL_OBJECT));
		return;
	}
	if (!nobj) {
		printf("objects: none\n");
		return;
	}
	printf("\nobjects:\n  %-16s %-6s %8s %8s %12s %12s %14s %14s %8s %8s %8s %8s\n", "NAME",
	       "TYPE", "CAPACITY", "MAXREC", "MSGS_IN", "MSGS_OUT", "BYTES_IN", "BYTES_OUT", "FULL",
	       "LAPPED", "RECOVER", "CORRUPT");
	for (k = 0; k < nobj; k++) {
		const struct ctl_obj *ob = &objs[k];
		const char *tn = pinshm_obj_type_name(ob->info.type);

		ctl_fmt_size(ob->info.capacity, b1, sizeof(b1));
		if (ob->info.type == PINSHM_OBJ_FANIN) {
			/* lanes x bytes per lane */
			char b3[sizeof(b1) + 24];

			snprintf(b3, sizeof(b3), "%" PRIu64 "x%s", ctl_fanin_lanes(&ob->info), b1);
			snprintf(b1, sizeof(b1), "%.40s", b3);
		}
		printf("  %-16s %-6s %8s %8s", ob->info.name, tn ? tn : "?", b1,
		       ctl_fmt_size(ob->info.max_record, b2, sizeof(b2)));
		if (ob->st_err)
			printf("  (%s)\n", ctl_strerror(ob->st_err, CTL_OBJECT));
		else
			printf(" %12" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14" PRIu64
			       " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
			       ob->st.msgs_in, ob->st.msgs_out, ob->st.bytes_in, ob->st.bytes_out,
			       ob->st.full_events, ob->st.lapped, ob->st.recoveries,
			       ob->st.corrupt);
	}
}

static const struct ctl_opt ctl_info_opts[] = {
	{ "json", 'j', NULL, "print one JSON object: name, backend, size, numa_node, contiguous, "
	  "pinned, generation, crashes, created, attachers[], deaths[], objects[]", 0 },
	{ NULL },
};

const struct ctl_cmd ctl_cmd_info = {
	.name = "info", .run = cmd_info, .args = "NAME", .opts = ctl_info_opts,
	.summary = "show a region and rings",
	.help =
	"Show a region: size, NUMA node, flags, generation and crashes, the attach\n"
	"table (every slot ever used: pid, ro/rw, attached/detached/died/exec, exit\n"
	"code or signal; read-only attachers beyond the table are only counted), the\n"
	"last deaths (pid, exit code or signal, time) and its objects (rings and slots with their counters:\n"
	"messages and bytes in and out, full events, lapped, recoveries of dead\n"
	"producers' records, corrupt reads).\n"
	"Dead attachers are detected first (as `pinshm recover` does), so a process\n"
	"that died shows as died. This command's own attach is not shown.\n",
	.examples =
	"  pinshm info md\n"
	"  pinshm info md --json\n",
};

int cmd_info(int argc, char **argv)
{
	const struct ctl_cmd *c = &ctl_cmd_info;
	struct pinshm_obj_info infos[CTL_MAX_OBJS];
	struct ctl_obj objs[CTL_MAX_OBJS];
	struct pinshm_region *r;
	struct pinshm_meta *m;
	const char *name;
	bool json = false;
	char ctx[128];
	int ret, nobj, obj_err = 0, i;

	ret = ctl_parse(c, argc, argv, ctl_opt_true, &json);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = ctl_one_name(c, argc, argv, &name);
	if (ret)
		return ret;
	snprintf(ctx, sizeof(ctx), "info %s", name);

	ret = ctl_open_for_recovery(name, &r);
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	ret = pinshm_region_recover(r);
	if (ret < 0 && ret != -EACCES && ret != -EPERM)
		ctl_warnf("%s: recovery failed: %s", ctx, ctl_strerror(ret, CTL_REGION));

	m = malloc(sizeof(*m));
	if (!m) {
		pinshm_region_close(r);
		return ctl_fail(ctx, -ENOMEM, CTL_REGION);
	}
	ret = pinshm_region_meta(r, m);
	if (ret) {
		free(m);
		pinshm_region_close(r);
		return ctl_fail(ctx, ret, CTL_REGION);
	}
	m->name[PINSHM_NAME_MAX - 1] = '\0';

	nobj = pinshm_obj_list(r, infos, CTL_MAX_OBJS);
	if (nobj < 0) {
		obj_err = nobj;
		nobj = 0;
	} else if (nobj > CTL_MAX_OBJS) {
		nobj = CTL_MAX_OBJS;
	}
	memset(objs, 0, sizeof(objs));
	for (i = 0; i < nobj; i++) {
		objs[i].info = infos[i];
		objs[i].info.name[PINSHM_OBJ_NAME_MAX - 1] = '\0';
		objs[i].st_err = pinshm_obj_stats(r, objs[i].info.name, &objs[i].st);
	}
	pinshm_region_close(r);

	if (json) {
		struct json_object *o = ctl_info_json(m, objs, nobj, obj_err);

		ctl_put_json(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
	} else {
		ctl_info_text(m, objs, nobj, obj_err);
	}
	free(m);
	return ctl_flush_stdout();
}
