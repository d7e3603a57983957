// SPDX-License-Identifier: MIT
/*
 * pinshm(1): region commands — create, ls, rm, recover.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cmd.h"

/* The one positional NAME of a region command. */
int ctl_one_name(const struct ctl_cmd *c, int argc, char **argv,
		 const char **name)
{
	if (optind >= argc)
		return ctl_usage_error(c, "missing region NAME");
	if (optind + 1 < argc)
		return ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
	*name = argv[optind];
	if (!pinshm_name_valid(*name)) {
		ctl_errorf("%s %s: %s", c->name, *name, ctl_name_rule());
		return -EINVAL;
	}
	return 0;
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
			return 0;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	ret = ctl_one_name(c, argc, argv, &name);
	if (ret)
		return ret;
	if (!size_arg)
		return ctl_usage_error(c, "missing --size");
	snprintf(ctx, sizeof(ctx), "create %s", name);
	if (o.size == 0) {
		ctl_errorf("%s: invalid size 0 (at least 1 byte; rounded up to 4K)", ctx);
		return -EINVAL;
	}
	ret = pinshm_region_create(name, &o, &r);
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
			return 0;
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
	return ctl_flush_stdout();
}

/* ------------------------------------------------------------------ */

/*
 * Open to look and to recover: an observer leaves no attach slot behind
 * on the shm backend, and may still mark the dead (the shm backend writes
 * the metadata itself when the file is writable to us; the kernel marks
 * them on its own).
 */
int ctl_open_for_recovery(const char *name, struct pinshm_region **r)
{
	return ctl_open_region(name, PINSHM_OBSERVE, r);
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
			return 0;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
	ret = ctl_one_name(c, argc, argv, &name);
	if (ret)
		return ret;
	snprintf(ctx, sizeof(ctx), "rm %s", name);
	ret = pinshm_region_destroy(name, ctl_backend);
	if (ret)
		return ctl_fail(ctx, ret, CTL_REGION);
	return 0;
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
			return 0;
		default:
			return ctl_bad_option(c, opt, argv);
		}
	}
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
