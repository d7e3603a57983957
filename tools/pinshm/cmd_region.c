// SPDX-License-Identifier: MIT
/*
 * pinshm(1): region commands — create, ls, rm, recover.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cmd.h"

/* ------------------------------------------------------------------ */

static const struct ctl_opt ctl_create_opts[] = {
	{ "size", 's', "SIZE", "data bytes; K, M, G suffixes (powers of 1024); required",
	  CTL_OPT_REQUIRED },
	{ "node", 'n', "N", "NUMA node for the memory (default: any)", 0 },
	{ "mode", 'm', "OCTAL", "permission bits, as for files (default 0600)", 0 },
	{ NULL },
};

const struct ctl_cmd ctl_cmd_create = {
	.name = "create", .run = cmd_create, .args = "NAME", .opts = ctl_create_opts,
	.summary = "create a region",
	.help =
	"Create a region NAME with SIZE bytes of data (rounded up to 4 KiB), owned by\n"
	"you. The region lives until `pinshm rm`, with or without attachers.\n",
	.examples =
	"  pinshm create md --size 64M\n"
	"  pinshm --backend shm create orders --size 2M --mode 0660\n",
};

struct ctl_create {
	struct pinshm_region_opts o;
	bool size_given;
};

static int ctl_create_opt(const struct ctl_cmd *c, const struct ctl_opt *opt, const char *arg,
			  void *data)
{
	struct ctl_create *cr = data;
	long node;

	switch (opt->key) {
	case 's':
		cr->size_given = true;
		if (ctl_parse_size(arg, &cr->o.size))
			return ctl_usage_error(c, "bad --size '%s' (bytes, K/M/G suffix)", arg);
		break;
	case 'n':
		if (!strcmp(arg, "any")) {
			cr->o.node = PINSHM_NODE_ANY;
			break;
		}
		if (ctl_parse_int(arg, -1, 1 << 20, &node))
			return ctl_usage_error(c, "bad --node '%s' (a NUMA node number or 'any')",
					       arg);
		cr->o.node = (int)node;
		break;
	case 'm':
		if (ctl_parse_octal(arg, &cr->o.mode))
			return ctl_usage_error(c, "bad --mode '%s' (octal, at most 0777)", arg);
		break;
	}
	return 0;
}

int cmd_create(int argc, char **argv)
{
	const struct ctl_cmd *c = &ctl_cmd_create;
	struct ctl_create cr = { .size_given = false };
	struct pinshm_region *r;
	const char *name;
	char ctx[128];
	int ret;

	pinshm_region_opts_init(&cr.o);
	cr.o.backend = ctl_backend;
	ret = ctl_parse(c, argc, argv, ctl_create_opt, &cr);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = ctl_one_name(c, argc, argv, &name);
	if (ret)
		return ret;
	if (!cr.size_given)
		return ctl_usage_error(c, "missing --size");
	snprintf(ctx, sizeof(ctx), "create %s", name);
	if (cr.o.size == 0) {
		ctl_errorf("%s: invalid size 0 (at least 1 byte; rounded up to 4K)", ctx);
		return -EINVAL;
	}
	ret = pinshm_region_create(name, &cr.o, &r);
	if (ret == -EFBIG && pinshm_backend_resolve(ctl_backend) == PINSHM_BACKEND_SHM) {
		char lim[32];

		ctl_errorf("%s: size above the backend's limit (shm: %s)", ctx,
			   ctl_fmt_size(PINSHM_SHM_MAX_SIZE, lim, sizeof(lim)));
		return ret;
	}
	if (ret)
		return ctl_fail(ctx, ret, CTL_CREATE);
	ret = pinshm_region_close(r);
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	return 0;
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

static const struct ctl_opt ctl_ls_opts[] = {
	{ "json", 'j', NULL, "print a JSON array of {name, backend, size, attached, generation, "
	  "crashes, deaths[]}", 0 },
	{ NULL },
};

const struct ctl_cmd ctl_cmd_ls = {
	.name = "ls", .run = cmd_ls, .opts = ctl_ls_opts,
	.summary = "list regions",
	.help =
	"List the regions of the backend, one per line: name, data size, backend,\n"
	"processes attached (not counting this one), generation (bumped whenever\n"
	"an attacher dies) and crashes.\n",
	.examples =
	"  pinshm ls\n"
	"  pinshm ls --json | python3 -m json.tool\n",
};

int cmd_ls(int argc, char **argv)
{
	static const char *const none[] = { NULL };
	const struct ctl_cmd *c = &ctl_cmd_ls;
	char (*names)[PINSHM_NAME_MAX] = NULL;
	struct ctl_ls_row *rows;
	bool json = false;
	int n, i, ret;

	ret = ctl_parse(c, argc, argv, ctl_opt_true, &json);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = ctl_operands(c, argc, argv, none, 0);
	if (ret)
		return ret;

	n = ctl_list_regions("ls", &names);
	if (n < 0)
		return n;
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
				json_object_object_add(o, "deaths", ctl_deaths_json(m));
			}
			json_object_array_add(arr, o);
		}
		ctl_put_json(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
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
	return ctl_flush_stdout();
}

/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */

const struct ctl_cmd ctl_cmd_rm = {
	.name = "rm", .run = cmd_rm, .args = "NAME",
	.summary = "destroy a region",
	.help =
	"Destroy region NAME: its name goes at once; processes still attached keep\n"
	"their mapping until they detach.\n",
	.examples =
	"  pinshm rm md\n",
};

int cmd_rm(int argc, char **argv)
{
	const struct ctl_cmd *c = &ctl_cmd_rm;
	const char *name;
	char ctx[128];
	int ret;

	ret = ctl_parse(c, argc, argv, NULL, NULL);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = ctl_one_name(c, argc, argv, &name);
	if (ret)
		return ret;
	snprintf(ctx, sizeof(ctx), "rm %s", name);
	ret = pinshm_region_destroy(name, ctl_backend);
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	return 0;
}

const struct ctl_cmd ctl_cmd_recover = {
	.name = "recover", .run = cmd_recover, .args = "NAME",
	.summary = "find attachers that died",
	.help =
	"Look for attachers of NAME whose process is gone and mark them died,\n"
	"bumping the generation (the kmod backend does this itself at exit; the shm\n"
	"backend detects deaths by polling). Prints how many were found.\n",
	.examples =
	"  pinshm recover md\n",
};

int cmd_recover(int argc, char **argv)
{
	const struct ctl_cmd *c = &ctl_cmd_recover;
	struct pinshm_region *r;
	struct pinshm_meta *m;
	const char *name;
	char ctx[128];
	int ret, found;

	ret = ctl_parse(c, argc, argv, NULL, NULL);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = ctl_one_name(c, argc, argv, &name);
	if (ret)
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
	return 0;
}
