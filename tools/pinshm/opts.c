// SPDX-License-Identifier: MIT
/*
 * pinshm(1): options, usage lines and --help, all from each command's
 * table (struct ctl_cmd, struct ctl_opt in cmd.h), so that what a command
 * accepts and what its help says cannot drift apart; tests/cli/test_man.sh
 * holds pinshm.1 to the same.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define CTL_HELP_WIDTH	79	/* --help wraps its lines to this */
#define CTL_DOC_COL	21	/* option descriptions start here, at least */
#define CTL_DOC_COL_MAX	27	/* an option spec wider than this has its description below */
#define CTL_SUMMARY_COL	54	/* pinshm --help: what each command does (25 columns) */

/*
 * The length of the next unit of text that ctl_wrap() keeps on one line:
 * a word, or in a synopsis an option with its value, [--opt ARG] or
 * --opt ARG.
 */
static size_t ctl_unit(const char *p, bool synopsis)
{
	bool glue = synopsis && p[0] == '-';
	int depth = 0;
	size_t n;

	if (!synopsis)
		return strcspn(p, " \n");
	for (n = 0; p[n] && p[n] != '\n'; n++) {
		if (p[n] == '[') {
			depth++;
		} else if (p[n] == ']') {
			depth--;
		} else if (p[n] == ' ' && depth <= 0) {
			if (!glue || p[n + 1] == '-' || p[n + 1] == '[')
				break;
			glue = false;
		}
	}
	return n;
}

/*
 * Print text from column col on, wrapped at CTL_HELP_WIDTH to column
 * indent; a '\n' in text starts a new line there too.
 */
static void ctl_wrap(FILE *f, const char *text, int col, int indent, bool synopsis)
{
	const char *p = text;
	bool first = true;	/* of its line */

	while (*p) {
		size_t n = ctl_unit(p, synopsis);

		if (!first && col + 1 + (int)n > CTL_HELP_WIDTH) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (!first) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += (int)n;
		first = false;
		p += n;
		if (*p == '\n') {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
			first = true;
		}
		while (*p == ' ' || *p == '\n')
			p++;
	}
	fputc('\n', f);
}

static bool ctl_opt_in_usage(const struct ctl_opt *o)
{
	return o->name && !(o->flags & CTL_OPT_NOUSAGE);
}

char *ctl_usage(const struct ctl_cmd *c, char *buf, size_t len)
{
	const struct ctl_opt *o;
	size_t n;

	n = (size_t)snprintf(buf, len, "pinshm");
	if (c->name)
		n += (size_t)snprintf(buf + n, len - n, " %s%s%s", c->name, c->args ? " " : "",
				      c->args ? c->args : "");
	for (o = c->opts; o && (o->name || o->doc) && n < len; o++) {
		bool req = o->flags & CTL_OPT_REQUIRED;

		if (!ctl_opt_in_usage(o))
			continue;
		n += (size_t)snprintf(buf + n, len - n, " %s--%s%s%s%s", req ? "" : "[", o->name,
				      o->arg ? " " : "", o->arg ? o->arg : "", req ? "" : "]");
	}
	/* pinshm's own options come before its operands, COMMAND [ARGS]. */
	if (!c->name && n < len)
		snprintf(buf + n, len - n, " %s", c->args);
	return buf;
}

/* "-s, --size SIZE" */
static int ctl_opt_spec(const struct ctl_opt *o, char *buf, size_t len)
{
	if (o->key < CTL_OPT_LONG)
		return snprintf(buf, len, "  -%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
				o->arg ? o->arg : "");
	return snprintf(buf, len, "      --%s%s%s", o->name, o->arg ? " " : "",
			o->arg ? o->arg : "");
}

void ctl_print_opts(FILE *f, const struct ctl_opt *opts)
{
	const struct ctl_opt *o;
	char spec[96];
	int col = CTL_DOC_COL, n;

	for (o = opts; o->name || o->doc; o++) {
		n = o->name ? ctl_opt_spec(o, spec, sizeof(spec)) + 2 : 0;
		if (n > col && n <= CTL_DOC_COL_MAX)
			col = n;
	}
	for (o = opts; o->name || o->doc; o++) {
		if (!o->name) {		/* a heading */
			fprintf(f, "\n%s\n", o->doc);
			continue;
		}
		n = ctl_opt_spec(o, spec, sizeof(spec));
		fputs(spec, f);
		if (n + 2 > col) {
			fputc('\n', f);
			n = 0;
		}
		fprintf(f, "%*s", col - n, "");
		ctl_wrap(f, o->doc, col, col, false);
	}
}

void ctl_print_help(const struct ctl_cmd *c)
{
	char usage[512];

	printf("usage: %s\n", ctl_usage(c, usage, sizeof(usage)));
	if (c->help)
		printf("\n%s", c->help);
	if (c->opts) {
		printf("\nOptions:\n");
		ctl_print_opts(stdout, c->opts);
	}
	if (c->notes)
		printf("\n%s", c->notes);
	if (c->examples)
		printf("\nExamples:\n%s", c->examples);
}

/* The summary line of c in `pinshm --help`: its usage, then what it does. */
void ctl_print_summary(const struct ctl_cmd *c)
{
	char usage[512];
	const char *u = ctl_usage(c, usage, sizeof(usage)) + strlen("pinshm ");
	int n = 2 + (int)strlen(u);

	printf("  ");
	if (n + 2 <= CTL_SUMMARY_COL) {
		printf("%s%*s%s\n", u, CTL_SUMMARY_COL - n, "", c->summary);
		return;
	}
	ctl_wrap(stdout, u, 2, 6, true);
	printf("%*s%s\n", CTL_SUMMARY_COL, "", c->summary);
}

int ctl_usage_error(const struct ctl_cmd *c, const char *fmt, ...)
{
	char msg[512], usage[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->name)
		fprintf(stderr, "pinshm %s: %s\nusage: %s\n", c->name, msg,
			ctl_usage(c, usage, sizeof(usage)));
	else
		fprintf(stderr, "pinshm: %s\nusage: %s  (pinshm --help)\n", msg,
			ctl_usage(c, usage, sizeof(usage)));
	return -CTL_EUSAGE;
}

/* getopt_long() returned '?' or ':' (optstring starts with ':'). */
int ctl_bad_option(const struct ctl_cmd *c, int opt, char **argv)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		return ctl_usage_error(c, "option '%s' needs a value", arg);
	if (optopt && (!arg || strncmp(arg, "--", 2)))
		return ctl_usage_error(c, "unknown option '-%c'", optopt);
	return ctl_usage_error(c, "unknown option '%s'", arg);
}

/*
 * getopt_long()'s tables for opts (NULL: none), with -h, --help when help
 * is set: lo has room for CTL_MAX_OPTS + 2 entries, so for 3 * CTL_MAX_OPTS
 * + 4 characters. Returns 0, or -E2BIG when opts has too many.
 */
int ctl_getopt_tables(const struct ctl_opt *opts, bool help, const char *prefix,
		      struct option *lo, char *so)
{
	const struct ctl_opt *o;
	int n = 0;

	so += sprintf(so, "%s:", prefix);
	for (o = opts; o && (o->name || o->doc); o++) {
		if (!o->name)
			continue;
		if (n == CTL_MAX_OPTS)
			return -E2BIG;
		lo[n++] = (struct option){ o->name, o->arg ? required_argument : no_argument,
					   NULL, o->key };
		if (o->key < CTL_OPT_LONG)
			so += sprintf(so, "%c%s", o->key, o->arg ? ":" : "");
	}
	if (help) {
		lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
		strcpy(so, "h");
	}
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	return 0;
}

static const struct ctl_opt *ctl_find_opt(const struct ctl_opt *opts, int key)
{
	for (; opts && (opts->name || opts->doc); opts++)
		if (opts->name && opts->key == key)
			return opts;
	return NULL;
}

int ctl_parse(const struct ctl_cmd *c, int argc, char **argv, ctl_opt_fn *set, void *data)
{
	struct option lo[CTL_MAX_OPTS + 2];
	char so[3 * CTL_MAX_OPTS + 4];
	const struct ctl_opt *o;
	int key, ret;

	ret = ctl_getopt_tables(c->opts, true, "", lo, so);
	if (ret)
		return ret;
	while ((key = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (key == 'h') {
			ctl_print_help(c);
			return 1;
		}
		o = ctl_find_opt(c->opts, key);
		if (!o)
			return ctl_bad_option(c, key, argv);
		ret = set(c, o, optarg, data);
		if (ret)
			return ret;
	}
	return 0;
}

/* A ctl_opt_fn for a command whose options are flags: sets the bool at data. */
int ctl_opt_true(const struct ctl_cmd *c, const struct ctl_opt *opt, const char *arg, void *data)
{
	(void)c;
	(void)opt;
	(void)arg;
	*(bool *)data = true;
	return 0;
}

int ctl_operands(const struct ctl_cmd *c, int argc, char **argv, const char *const need[],
		 int max)
{
	char missing[128] = "";
	int have = argc - optind, i;

	for (i = 0; need[i]; i++)
		if (i >= have)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 "%s%s", i > have ? " and " : "", need[i]);
	if (missing[0])
		return ctl_usage_error(c, "missing %s", missing);
	if (have > max)
		return ctl_usage_error(c, "unexpected argument '%s'", argv[optind + max]);
	return 0;
}
