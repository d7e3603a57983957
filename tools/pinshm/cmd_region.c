// SPDX-License-Identifier: MIT
/*
 * pinshm(1): region commands — create, ls, info, rm, recover (and stat).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd.h"

#define CTL_MAX_OBJS	PINSHM_DIR_MAX

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

static const char *ctl_meta_backend(const struct pinshm_meta *m)
{
	switch (m->backend) {
	case PINSHM_BACKEND_KMOD:
		return "kmod";
	case PINSHM_BACKEND_SHM:
		return "shm";
	default:
		return "?";
	}
}

/* Our own inspection attach is not interesting: leave it out. */
static bool ctl_is_self(const struct pinshm_attach *a)
{
	return a->state == PINSHM_ST_ATTACHED && a->tgid == (uint32_t)getpid();
}

static unsigned int ctl_nr_slots(const struct pinshm_meta *m)
{
	return m->nr_slots < PINSHM_MAX_ATTACH ? m->nr_slots : PINSHM_MAX_ATTACH;
}

static unsigned int ctl_attached_others(const struct pinshm_meta *m)
{
	unsigned int i, n = 0;

	for (i = 0; i < ctl_nr_slots(m); i++)
		if (m->attach[i].state == PINSHM_ST_ATTACHED && !ctl_is_self(&m->attach[i]))
			n++;
	return n;
}

/* The one positional NAME of a region command. */
static int ctl_one_name(const struct ctl_cmd *c, int argc, char **argv,
			const char **name)
{
	if (optind >= argc)
		return ctl_usage_error(c, "missing region NAME");
	if (optind + 1 < argc)
		return ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
	*name = argv[optind];
	if (!pinshm_name_valid(*name)) {
		ctl_errorf("%s %s: %s", c->name, *name, ctl_name_rule());
		return CTL_EXIT_FAIL;
	}
	return -1;	/* go on */
}

/* ------------------------------------------------------------------ */

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "node", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c = ctl_find_cmd("create");
	struct pinshm_region_opts o;
	struct pinshm_region *r;
	const char *name, *size_arg = NULL;
	char ctx[128];
	long node;
	int opt, ret;

	pinshm_region_opts_init(&o);
	o.backend = ctl_backend;
	while ((opt = getopt_long(argc, argv, ":s:n:m:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			size_arg = optarg;
			if (ctl_parse_size(optarg, &o.size))
				return ctl_usage_error(c, "bad --size '%s' (bytes, K/M/G suffix)",
						       optarg);
			break;
		case 'n':
			if (!strcmp(optarg, "any")) {
				o.node = PINSHM_NODE_ANY;
				break;
			}
			if (ctl_parse_int(optarg, -1, 1 << 20, &node))
				return ctl_usage_error(c, "bad --node '%s' (a NUMA node number or 'any')",
						       optarg);
			o.node = (int)node;
			break;
		case 'm':
			if (ctl_parse_octal(optarg, &o.mode))
				return ctl_usage_error(c, "bad --mode '%s' (octal, at most 0777)",
						       optarg);
			break;
		case 'h':
			ctl_print_help(c);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	ret = ctl_one_name(c, argc, argv, &name);
	if (ret >= 0)
		return ret;
	if (!size_arg)
		return ctl_usage_error(c, "missing --size");
	snprintf(ctx, sizeof(ctx), "create %s", name);
	if (o.size == 0) {
		ctl_errorf("%s: invalid size 0 (at least 1 byte; rounded up to 4K)", ctx);
		return CTL_EXIT_FAIL;
	}
	ret = pinshm_region_create(name, &o, &r);
	if (ret == -EFBIG && pinshm_backend_resolve(ctl_backend) == PINSHM_BACKEND_SHM) {
		char lim[32];

		ctl_errorf("%s: size above the backend's limit (shm: %s)", ctx,
			   ctl_fmt_size(PINSHM_SHM_MAX_SIZE, lim, sizeof(lim)));
		return CTL_EXIT_FAIL;
	}
	if (ret)
		return ctl_fail(ctx, ret, CTL_CREATE);
	ret = pinshm_region_close(r);
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------ */

struct ctl_ls_row {
	char name[PINSHM_NAME_MAX];
	int err;
	struct pinshm_meta meta;
};

static void ctl_ls_read(struct ctl_ls_row *row)
{
	struct pinshm_region *r;
	int ret;

	ret = pinshm_region_open(row->name, PINSHM_OBSERVE, ctl_backend, &r);
	if (ret) {
		row->err = ret;
		return;
	}
	ret = pinshm_region_meta(r, &row->meta);
	if (ret)
		row->err = ret;
	pinshm_region_close(r);
}

int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c = ctl_find_cmd("ls");
	char (*names)[PINSHM_NAME_MAX] = NULL;
	struct ctl_ls_row *rows;
	bool json = false;
	unsigned int max = 256;
	int opt, n, i;

	while ((opt = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			ctl_print_help(c);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	if (optind < argc)
		return ctl_usage_error(c, "unexpected argument '%s'", argv[optind]);

	for (;;) {
		free(names);
		names = calloc(max, sizeof(*names));
		if (!names)
			return ctl_fail("ls", -ENOMEM, CTL_REGION);
		n = pinshm_region_list(ctl_backend, names, max);
		if (n < 0) {
			free(names);
			return ctl_fail("ls", n, CTL_REGION);
		}
		if ((unsigned int)n <= max)
			break;
		max = (unsigned int)n + 16;
	}
	rows = calloc((size_t)n + 1, sizeof(*rows));
	if (!rows) {
		free(names);
		return ctl_fail("ls", -ENOMEM, CTL_REGION);
	}
	for (i = 0; i < n; i++) {
		memcpy(rows[i].name, names[i], PINSHM_NAME_MAX);
		rows[i].name[PINSHM_NAME_MAX - 1] = '\0';
		ctl_ls_read(&rows[i]);
	}
	free(names);

	if (json) {
		struct json_object *arr = json_object_new_array();

		for (i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();
			const struct pinshm_meta *m = &rows[i].meta;

			json_object_object_add(o, "name", json_object_new_string(rows[i].name));
			if (rows[i].err) {
				json_object_object_add(o, "error",
					json_object_new_string(ctl_strerror(rows[i].err, CTL_REGION)));
			} else {
				json_object_object_add(o, "backend",
						       json_object_new_string(ctl_meta_backend(m)));
				json_object_object_add(o, "size", json_object_new_int64((int64_t)m->size));
				json_object_object_add(o, "attached",
						       json_object_new_int64(ctl_attached_others(m)));
				json_object_object_add(o, "generation",
						       json_object_new_int64((int64_t)m->generation));
				json_object_object_add(o, "crashes",
						       json_object_new_int64((int64_t)m->crashes));
			}
			json_object_array_add(arr, o);
		}
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	} else {
		printf("%-24s %8s %-7s %8s %10s %7s\n", "NAME", "SIZE", "BACKEND",
		       "ATTACHED", "GENERATION", "CRASHES");
		for (i = 0; i < n; i++) {
			const struct pinshm_meta *m = &rows[i].meta;
			char sz[32];

			if (rows[i].err) {
				printf("%-24s %8s %-7s %8s %10s %7s  (%s)\n", rows[i].name, "?",
				       "?", "?", "?", "?", ctl_strerror(rows[i].err, CTL_REGION));
				continue;
			}
			printf("%-24s %8s %-7s %8u %10" PRIu64 " %7" PRIu64 "\n", rows[i].name,
			       ctl_fmt_size(m->size, sz, sizeof(sz)), ctl_meta_backend(m),
			       ctl_attached_others(m), (uint64_t)m->generation,
			       (uint64_t)m->crashes);
		}
	}
	free(rows);
	return fflush(stdout) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

/* ------------------------------------------------------------------ */

/*
 * Open to look and to recover: an observer leaves no attach slot behind
 * on the shm backend, and may still mark the dead (the shm backend writes
 * the metadata itself when the file is writable to us; the kernel marks
 * them on its own).
 */
static int ctl_open_for_recovery(const char *name, struct pinshm_region **r)
{
	return ctl_open_region(name, PINSHM_OBSERVE, r);
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
	char b1[64], b2[64];
	unsigned int i, shown = 0;
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

		printf("  %-16s %-6s %8s %8s", ob->info.name, tn ? tn : "?",
		       ctl_fmt_size(ob->info.capacity, b1, sizeof(b1)),
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

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c = ctl_find_cmd("info");
	struct pinshm_obj_info infos[CTL_MAX_OBJS];
	struct ctl_obj objs[CTL_MAX_OBJS];
	struct pinshm_region *r;
	struct pinshm_meta *m;
	const char *name;
	bool json = false;
	char ctx[128];
	int opt, ret, nobj, obj_err = 0, i;

	while ((opt = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			ctl_print_help(c);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	ret = ctl_one_name(c, argc, argv, &name);
	if (ret >= 0)
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

		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		ctl_info_text(m, objs, nobj, obj_err);
	}
	free(m);
	return fflush(stdout) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

/* ------------------------------------------------------------------ */

int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c = ctl_find_cmd("rm");
	const char *name;
	char ctx[128];
	int opt, ret;

	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			ctl_print_help(c);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	ret = ctl_one_name(c, argc, argv, &name);
	if (ret >= 0)
		return ret;
	snprintf(ctx, sizeof(ctx), "rm %s", name);
	ret = pinshm_region_destroy(name, ctl_backend);
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	return CTL_EXIT_OK;
}

int cmd_recover(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c = ctl_find_cmd("recover");
	struct pinshm_region *r;
	struct pinshm_meta *m;
	const char *name;
	char ctx[128];
	int opt, ret, found;

	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			ctl_print_help(c);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	ret = ctl_one_name(c, argc, argv, &name);
	if (ret >= 0)
		return ret;
	snprintf(ctx, sizeof(ctx), "recover %s", name);
	ret = ctl_open_for_recovery(name, &r);
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	found = pinshm_region_recover(r);
	if (found < 0) {
		pinshm_region_close(r);
		return ctl_fail(ctx, found, CTL_REGION);
	}
	/*
	 * The shm backend also reaps the dead when a region is opened (to
	 * reuse their slots), so the count is what this call found; the
	 * totals say what happened before.
	 */
	m = malloc(sizeof(*m));
	if (m && !pinshm_region_meta(r, m))
		printf("%s: %d dead attacher%s found; generation %" PRIu64 ", crashes %" PRIu64 "\n",
		       name, found, found == 1 ? "" : "s", (uint64_t)m->generation,
		       (uint64_t)m->crashes);
	else
		printf("%s: %d dead attacher%s found\n", name, found, found == 1 ? "" : "s");
	free(m);
	pinshm_region_close(r);
	return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------ */

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
		uint64_t backlog = c->tail >= c->head && (sr->type == PINSHM_OBJ_SPSC ||
							  sr->type == PINSHM_OBJ_MPSC) ?
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
		puts(json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(top);
	}
	fflush(stdout);
}

int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c = ctl_find_cmd("stat");
	char (*names)[PINSHM_NAME_MAX] = NULL;
	struct ctl_stat s = { 0 };
	uint64_t interval = 1000, count = 0, t0, t1, nth;
	bool json = false;
	int opt, ret, n = 0, i, err = CTL_EXIT_OK;

	while ((opt = getopt_long(argc, argv, ":i:n:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (ctl_parse_u64(optarg, &interval) || !interval || interval > 3600000)
				return ctl_usage_error(c, "bad --interval '%s' (milliseconds, 1..3600000)",
						       optarg);
			break;
		case 'n':
			if (ctl_parse_u64(optarg, &count))
				return ctl_usage_error(c, "bad --count '%s'", optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			ctl_print_help(c);
			return CTL_EXIT_OK;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	if (argc - optind > 1)
		return ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);

	if (optind < argc) {
		char ctx[128];

		snprintf(ctx, sizeof(ctx), "stat %s", argv[optind]);
		if (!pinshm_name_valid(argv[optind])) {
			ctl_errorf("%s: %s", ctx, ctl_name_rule());
			return CTL_EXIT_FAIL;
		}
		names = calloc(1, sizeof(*names));
		if (!names)
			return ctl_fail(ctx, -ENOMEM, CTL_REGION);
		snprintf(names[0], sizeof(names[0]), "%s", argv[optind]);
		n = 1;
	} else {
		unsigned int max = 256;

		for (;;) {
			free(names);
			names = calloc(max, sizeof(*names));
			if (!names)
				return ctl_fail("stat", -ENOMEM, CTL_REGION);
			n = pinshm_region_list(ctl_backend, names, max);
			if (n < 0) {
				free(names);
				return ctl_fail("stat", n, CTL_REGION);
			}
			if ((unsigned int)n <= max)
				break;
			max = (unsigned int)n + 16;
		}
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

	ctl_install_signals();
	ctl_stat_sample(&s);
	t0 = ctl_now_ns();
	for (nth = 0; !ctl_stop && (!count || nth < count); nth++) {
		struct timespec ts = {
			.tv_sec = (time_t)(interval / 1000),
			.tv_nsec = (long)(interval % 1000) * 1000000L,
		};

		nanosleep(&ts, NULL);
		if (ctl_stop)
			break;
		ctl_stat_sample(&s);
		t1 = ctl_now_ns();
		ctl_stat_print(&s, json, (double)(t1 - t0) / 1e9, (unsigned int)nth);
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
