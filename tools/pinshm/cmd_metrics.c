// SPDX-License-Identifier: MIT
/*
 * pinshm(1): metrics load|unload|show, the BPF programs of tools/bpf/ on
 * the module's tracepoints and libpinshm's USDT probes.
 *
 * load opens the skeleton, picks the tracepoint programs' flavour (tp_btf
 * when the module has BTF, raw_tp when it has none, none when the module
 * is not loaded), loads, attaches, and pins the maps under
 * /sys/fs/bpf/pinshm/ and every link it made under /sys/fs/bpf/pinshm/links/,
 * so that counting goes on after it exits. Whatever fails removes what was
 * pinned: the directory is there whole or not at all. unload removes it,
 * links first; show reads the pinned maps.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <json-c/json.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmd.h"
#include "pinshm_metrics.h"
#include "pinshm_metrics.skel.h"

#define BPFFS		"/sys/fs/bpf"
#define PIN_DIR		BPFFS "/pinshm"
#define PIN_LINKS	PIN_DIR "/links"
#define VMLINUX_BTF	"/sys/kernel/btf/vmlinux"
#define MODULE_BTF	"/sys/kernel/btf/pinshm"
#define MODULE_SYSFS	"/sys/module/pinshm"
#define LIBPINSHM	"libpinshm.so.1"

_Static_assert(PINSHM_M_REGION_LEN == PINSHM_NAME_MAX, "region names");
_Static_assert(PINSHM_M_RING_LEN == PINSHM_OBJ_NAME_MAX, "ring names");
_Static_assert(PINSHM_M_ST_DETACHED == PINSHM_ST_DETACHED &&
	       PINSHM_M_ST_DIED == PINSHM_ST_DIED, "attacher states");

/* The maps load pins, by name; show reads them. */
static const char *const pinned_maps[] = {
	"regions", "rings", "procs", "sleep_ns_log2", "wake_ns_log2",
};
#define NR_PINNED_MAPS	(sizeof(pinned_maps) / sizeof(pinned_maps[0]))

/* The library's probes, each with its program. */
struct usdt_probe {
	const char *name;
	struct bpf_program *(*prog)(struct pinshm_metrics_bpf *s);
};

#define PROBE(n) { #n, probe_##n }
#define PROBE_FN(n) \
	static struct bpf_program *probe_##n(struct pinshm_metrics_bpf *s) \
	{ return s->progs.usdt_##n; }
PROBE_FN(region_create)
PROBE_FN(region_open)
PROBE_FN(region_destroy)
PROBE_FN(role_takeover)
PROBE_FN(backpressure)
PROBE_FN(lapped)
PROBE_FN(recovery)
PROBE_FN(mpsc_pad)
PROBE_FN(sleep)
PROBE_FN(woken)
PROBE_FN(wake)

static const struct usdt_probe usdt_probes[] = {
	PROBE(region_create), PROBE(region_open), PROBE(region_destroy), PROBE(role_takeover),
	PROBE(backpressure), PROBE(lapped), PROBE(recovery), PROBE(mpsc_pad), PROBE(sleep),
	PROBE(woken), PROBE(wake),
};
#define NR_PROBES	(sizeof(usdt_probes) / sizeof(usdt_probes[0]))

static const struct ctl_opt ctl_metrics_opts[] = {
	{ "binary", 'B', "PATH", "load: attach the library's probes in PATH (a libpinshm.so, or a "
	  "program linked with libpinshm.a) instead of the libpinshm.so.1 the dynamic linker "
	  "finds", 0 },
	{ "json", 'j', NULL, "show: one JSON object {regions, rings, procs, sleep_ns_log2, "
	  "wake_ns_log2}", 0 },
	{ "prometheus", 'P', NULL, "show: the Prometheus text exposition format (for "
	  "node_exporter's textfile collector)", 0 },
	{ NULL },
};

const struct ctl_cmd ctl_cmd_metrics = {
	.name = "metrics", .run = cmd_metrics, .args = "load|unload|show",
	.opts = ctl_metrics_opts,
	.summary = "BPF metrics: load, unload, show",
	.help =
	"load (as root): load the BPF programs of pinshm's metrics, attach them to the\n"
	"module's tracepoints (if pinshm.ko is loaded) and to libpinshm's USDT probes\n"
	"for every process (system-wide), and pin their maps under /sys/fs/bpf/pinshm/\n"
	"and their links under /sys/fs/bpf/pinshm/links/: counting goes on after the\n"
	"command exits. Mounts bpffs on /sys/fs/bpf if it is not mounted.\n"
	"unload: remove everything load pinned (the programs go with their links).\n"
	"show: print the maps: per region (creates, opens, attaches, clean detaches,\n"
	"deaths by signal and by exit, destroys, the last dead pid), per ring\n"
	"(back-pressure, laps, records lost, recoveries, MPSC pads, sleeps, wakes,\n"
	"takeovers), per process (attaches, deaths, back-pressure met) and two log2\n"
	"histograms: consumer time asleep and wake-to-running latency.\n",
	.notes =
	"A program linked statically with libpinshm.a carries the probes itself:\n"
	"give it with --binary. The maps can be read with bpftool as well:\n"
	"  bpftool map dump pinned /sys/fs/bpf/pinshm/regions\n",
	.examples =
	"  pinshm metrics load\n"
	"  pinshm metrics load --binary /usr/local/bin/md-engine\n"
	"  pinshm metrics show --prometheus > /var/lib/node_exporter/pinshm.prom\n"
	"  pinshm metrics unload\n",
};

struct ctl_metrics_args {
	const char *binary;
	bool json, prometheus;
};

static int ctl_metrics_opt(const struct ctl_cmd *c, const struct ctl_opt *opt, const char *arg,
			   void *data)
{
	struct ctl_metrics_args *a = data;

	(void)c;
	switch (opt->key) {
	case 'B':
		a->binary = arg;
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

/* libbpf says nothing unless PINSHM_BPF_DEBUG is set: errors are ours to say. */
static int ctl_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!getenv("PINSHM_BPF_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ---- unload ------------------------------------------------------------- */

/* Remove every file in dir, then dir; 0 or -errno. */
static int ctl_rm_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	int err = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && !err)
			err = -errno;
	}
	closedir(d);
	if (rmdir(dir) && !err)
		err = -errno;
	return err;
}

/* Links first (their programs go with them), then the maps. */
static int ctl_unpin_all(void)
{
	int err = ctl_rm_dir(PIN_LINKS);

	return ctl_rm_dir(PIN_DIR) ?: err;
}

static int ctl_metrics_unload(void)
{
	struct stat st;
	int err;

	if (stat(PIN_DIR, &st)) {
		if (errno == ENOENT) {
			ctl_errorf("metrics unload: nothing loaded (no %s)", PIN_DIR);
			return -ENOENT;
		}
		ctl_errorf("metrics unload: %s: %s", PIN_DIR, strerror(errno));
		return -errno;
	}
	err = ctl_unpin_all();
	if (err) {
		ctl_errorf("metrics unload: cannot remove %s: %s%s", PIN_DIR, strerror(-err),
			   err == -EPERM || err == -EACCES ? " (run as root)" : "");
		return err;
	}
	printf("unloaded: removed %s\n", PIN_DIR);
	return 0;
}

/* ---- load: the library's probes ------------------------------------------ */

/* The libpinshm.so.1 the dynamic linker would give this program. */
static int ctl_find_library(char *out, size_t len)
{
	struct link_map *lm = NULL;
	void *h = dlopen(LIBPINSHM, RTLD_LAZY | RTLD_LOCAL);
	int ret = -ENOENT;

	if (!h)
		return -ENOENT;
	if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0]) {
		char real[PATH_MAX];

		if (realpath(lm->l_name, real)) {
			snprintf(out, len, "%s", real);
			ret = 0;
		}
	}
	dlclose(h);
	return ret;
}

/*
 * Which of usdt_probes path has (provider pinshm in .note.stapsdt, as
 * `readelf -n` shows them): found[i] set; the count, or -errno once said.
 */
static int ctl_probes_in(const char *path, bool found[NR_PROBES])
{
	size_t shstrndx, i;
	Elf_Scn *scn = NULL;
	int fd, n = 0;
	Elf *e;

	memset(found, 0, NR_PROBES * sizeof(found[0]));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ctl_errorf("metrics load: %s: %s", path, strerror(errno));
		return -errno;
	}
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx)) {
		ctl_errorf("metrics load: %s: not an ELF file", path);
		if (e)
			elf_end(e);
		close(fd);
		return -ENOEXEC;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, next, name_off, desc_off;
		const char *sname;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		sname = elf_strptr(e, shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, ".note.stapsdt"))
			continue;
		data = elf_getdata(scn, NULL);
		while (data && (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *d = (const char *)data->d_buf + desc_off;
			const char *prov, *probe;

			off = next;
			if (nh.n_type != 3 || strcmp((const char *)data->d_buf + name_off, "stapsdt") ||
			    nh.n_descsz < 3 * 8 + 2)
				continue;
			prov = d + 3 * 8;
			if (strnlen(prov, nh.n_descsz - 3 * 8) >= nh.n_descsz - 3 * 8 - 1 ||
			    strcmp(prov, "pinshm"))
				continue;
			probe = prov + strlen(prov) + 1;
			for (i = 0; i < NR_PROBES; i++)
				if (!strcmp(probe, usdt_probes[i].name) && !found[i]) {
					found[i] = true;
					n++;
				}
		}
	}
	elf_end(e);
	close(fd);
	return n;
}

/* ---- load: pinning -------------------------------------------------------- */

/* The name of the program of obj whose id is id, or NULL. */
static const char *ctl_prog_name(struct bpf_object *obj, __u32 id)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info pi = { 0 };
		__u32 len = sizeof(pi);

		if (bpf_program__fd(p) >= 0 &&
		    bpf_obj_get_info_by_fd(bpf_program__fd(p), &pi, &len) == 0 && pi.id == id)
			return bpf_program__name(p);
	}
	return NULL;
}

/*
 * Pin every BPF link of obj's programs that this process holds under
 * PIN_LINKS, as PROGRAM_LINKID (bpffs takes no dot; a USDT attachment is one link per probe
 * site, which libbpf does not hand out); the count or -errno.
 */
static int ctl_pin_links(struct bpf_object *obj)
{
	char fdpath[64], target[64], path[PATH_MAX];
	struct dirent *de;
	int n = 0, err = 0;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct bpf_link_info li = { 0 };
		__u32 len = sizeof(li);
		int fd = atoi(de->d_name);
		const char *pname;
		ssize_t tl;

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		tl = readlink(fdpath, target, sizeof(target) - 1);
		if (tl < 0)
			continue;
		target[tl] = '\0';
		if (strcmp(target, "anon_inode:bpf_link"))
			continue;
		if (bpf_obj_get_info_by_fd(fd, &li, &len)) {
			err = -errno;
			break;
		}
		pname = ctl_prog_name(obj, li.prog_id);
		if (!pname)
			continue;
		snprintf(path, sizeof(path), "%s/%s_%u", PIN_LINKS, pname, li.id);
		if (bpf_obj_pin(fd, path)) {
			err = -errno;
			break;
		}
		n++;
	}
	closedir(d);
	return err ?: n;
}

static bool ctl_is_bpffs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == BPF_FS_MAGIC;
}

static bool ctl_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The tracepoint programs: [0] tp_btf, [1] raw_tp, per event. */
static void ctl_tp_progs(struct pinshm_metrics_bpf *s, struct bpf_program *p[6][2])
{
	struct bpf_program *t[6][2] = {
		{ s->progs.btf_region_create, s->progs.raw_region_create },
		{ s->progs.btf_region_destroy, s->progs.raw_region_destroy },
		{ s->progs.btf_attach, s->progs.raw_attach },
		{ s->progs.btf_detach, s->progs.raw_detach },
		{ s->progs.btf_wait, s->progs.raw_wait },
		{ s->progs.btf_wake, s->progs.raw_wake },
	};

	memcpy(p, t, sizeof(t));
}

static int ctl_metrics_load(const struct ctl_metrics_args *a)
{
	struct bpf_link *links[6 + NR_PROBES];
	struct bpf_program *tp[6][2];
	struct pinshm_metrics_bpf *s = NULL;
	bool found[NR_PROBES];
	char lib[PATH_MAX], path[PATH_MAX], missing[256] = "";
	const char *flavour, *tp_env;
	int variant, nprobes, nlinks, err = 0;
	unsigned int i, nattached = 0;
	uint64_t t0 = bench_mono_ns();
	bool pinned = false;

	if (geteuid() != 0) {
		ctl_errorf("metrics load: needs root (loading BPF programs takes CAP_BPF, "
			   "CAP_PERFMON and CAP_SYS_ADMIN)");
		return -EPERM;
	}
	if (!ctl_exists(VMLINUX_BTF)) {
		ctl_errorf("metrics load: this kernel has no BTF (%s missing: "
			   "CONFIG_DEBUG_INFO_BTF=y is needed)", VMLINUX_BTF);
		return -ENOTSUP;
	}
	if (!ctl_is_bpffs(BPFFS)) {
		if (mount("bpf", BPFFS, "bpf", 0, "mode=0700")) {
			ctl_errorf("metrics load: no bpffs on %s and cannot mount it: %s", BPFFS,
				   strerror(errno));
			return -errno;
		}
		printf("mounted bpffs on %s\n", BPFFS);
	}
	if (ctl_exists(PIN_DIR)) {
		ctl_errorf("metrics load: already loaded; pinshm metrics unload first");
		return -EEXIST;
	}

	/* The library's probes: where, and which. */
	if (a->binary) {
		snprintf(lib, sizeof(lib), "%s", a->binary);
	} else if (ctl_find_library(lib, sizeof(lib))) {
		ctl_errorf("metrics load: no %s found by the dynamic linker (this pinshm is "
			   "linked statically): give the library or program with --binary PATH",
			   LIBPINSHM);
		return -ENOENT;
	}
	nprobes = ctl_probes_in(lib, found);
	if (nprobes < 0)
		return nprobes;
	if (nprobes == 0) {
		ctl_errorf("metrics load: %s has no pinshm USDT probes (readelf -n shows no "
			   "stapsdt notes of provider pinshm)", lib);
		return -ENOENT;
	}
	for (i = 0; i < NR_PROBES; i++)
		if (!found[i])
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 " %s", usdt_probes[i].name);

	/*
	 * The module's tracepoints: tp_btf with its BTF, raw_tp without, or
	 * none. PINSHM_METRICS_TP=raw takes raw_tp even with BTF (the tests
	 * run both bodies on one kernel).
	 */
	tp_env = getenv("PINSHM_METRICS_TP");
	if (tp_env && *tp_env && strcmp(tp_env, "raw") && strcmp(tp_env, "auto")) {
		ctl_errorf("metrics load: PINSHM_METRICS_TP=%s: raw or auto", tp_env);
		return -EINVAL;
	}
	if (!ctl_exists(MODULE_SYSFS)) {
		variant = -1;
		flavour = "none (pinshm.ko is not loaded: its tracepoints are skipped)";
	} else if (tp_env && !strcmp(tp_env, "raw")) {
		variant = 1;
		flavour = "raw_tp (PINSHM_METRICS_TP=raw)";
	} else if (ctl_exists(MODULE_BTF)) {
		variant = 0;
		flavour = "tp_btf";
	} else {
		variant = 1;
		flavour = "raw_tp (the module has no BTF)";
	}

	libbpf_set_print(ctl_libbpf_print);
	s = pinshm_metrics_bpf__open();
	if (!s) {
		err = -errno;
		ctl_errorf("metrics load: opening the BPF object: %s", strerror(-err));
		return err;
	}
	ctl_tp_progs(s, tp);
	for (i = 0; i < 6; i++) {
		bpf_program__set_autoload(tp[i][0], variant == 0);
		bpf_program__set_autoload(tp[i][1], variant == 1);
	}
	for (i = 0; i < NR_PROBES; i++)
		bpf_program__set_autoload(usdt_probes[i].prog(s), found[i]);
	err = pinshm_metrics_bpf__load(s);
	if (err) {
		ctl_errorf("metrics load: loading the BPF programs: %s (PINSHM_BPF_DEBUG=1 shows "
			   "the verifier's log)", strerror(-err));
		goto out;
	}
	for (i = 0; variant >= 0 && i < 6; i++) {
		struct bpf_link *l = bpf_program__attach(tp[i][variant]);

		if (!l) {
			err = -errno;
			ctl_errorf("metrics load: attaching %s: %s",
				   bpf_program__section_name(tp[i][variant]), strerror(-err));
			goto out;
		}
		links[nattached++] = l;
	}
	for (i = 0; i < NR_PROBES; i++) {
		struct bpf_link *l;

		if (!found[i])
			continue;
		l = bpf_program__attach_usdt(usdt_probes[i].prog(s), -1, lib, "pinshm",
					     usdt_probes[i].name, NULL);
		if (!l) {
			err = -errno;
			ctl_errorf("metrics load: attaching probe pinshm:%s in %s: %s",
				   usdt_probes[i].name, lib, strerror(-err));
			goto out;
		}
		links[nattached++] = l;
	}

	/* Pin: the directory whole, or nothing. */
	if (mkdir(PIN_DIR, 0700)) {
		err = -errno;
		ctl_errorf("metrics load: %s: %s", PIN_DIR, err == -EEXIST ?
			   "already loaded; pinshm metrics unload first" : strerror(-err));
		goto out;
	}
	pinned = true;
	if (mkdir(PIN_LINKS, 0700)) {
		err = -errno;
		ctl_errorf("metrics load: %s: %s", PIN_LINKS, strerror(-err));
		goto out;
	}
	for (i = 0; i < NR_PINNED_MAPS; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(s->obj, pinned_maps[i]);

		snprintf(path, sizeof(path), "%s/%s", PIN_DIR, pinned_maps[i]);
		if (!m || bpf_map__pin(m, path)) {
			err = m ? -errno : -ENOENT;
			ctl_errorf("metrics load: pinning %s: %s", path, strerror(-err));
			goto out;
		}
	}
	nlinks = ctl_pin_links(s->obj);
	if (nlinks < 0 || (unsigned int)nlinks < nattached) {
		err = nlinks < 0 ? nlinks : -ENOTSUP;
		ctl_errorf("metrics load: pinning the links under %s: %s", PIN_LINKS,
			   nlinks < 0 ? strerror(-err) : "fewer BPF links than attachments "
			   "(this kernel attaches uprobes without BPF links)");
		goto out;
	}
	printf("loaded in %.1f ms: %d links pinned under %s\n",
	       (double)(bench_mono_ns() - t0) / 1e6, nlinks, PIN_LINKS);
	printf("  tracepoints: %s\n", flavour);
	printf("  probes: %d of %zu in %s\n", nprobes, NR_PROBES, lib);
	if (missing[0])
		ctl_warnf("metrics load: %s lacks the probes%s", lib, missing);
out:
	if (err && pinned)
		ctl_unpin_all();
	/*
	 * On success the pinned links live on: disconnect ours, or libbpf's
	 * detach would disable the uprobes' perf events under them. This
	 * process's descriptors close at exit.
	 */
	while (nattached) {
		if (!err)
			bpf_link__disconnect(links[nattached - 1]);
		bpf_link__destroy(links[--nattached]);
	}
	pinshm_metrics_bpf__destroy(s);
	return err;
}

/* ---- show ------------------------------------------------------------------ */

struct ctl_metrics {
	struct pinshm_key_region *rk;
	struct pinshm_region_metrics *rv;
	struct pinshm_key_ring *gk;
	struct pinshm_ring_metrics *gv;
	struct pinshm_key_proc *pk;
	struct pinshm_proc_metrics *pv;
	size_t nr, ng, np;
	struct pinshm_hist_slot sleep[PINSHM_M_HIST_SLOTS], wake[PINSHM_M_HIST_SLOTS];
};

/* Every entry of the pinned hash map name: keys and values, malloc'd; the count. */
static int ctl_read_hash(const char *name, size_t ksz, size_t vsz, void **keys, void **vals,
			 size_t *n)
{
	char path[PATH_MAX];
	size_t cap = 64;
	char *k, *v, *prev = NULL;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", PIN_DIR, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	k = malloc(cap * ksz);
	v = malloc(cap * vsz);
	*n = 0;
	while (k && v) {
		if (*n == cap) {
			char *nk = realloc(k, 2 * cap * ksz), *nv;

			if (!nk)
				break;
			k = nk;
			nv = realloc(v, 2 * cap * vsz);
			if (!nv)
				break;
			v = nv;
			cap *= 2;
		}
		if (bpf_map_get_next_key(fd, prev, k + *n * ksz))
			break;
		prev = k + *n * ksz;
		if (bpf_map_lookup_elem(fd, prev, v + *n * vsz) == 0)
			(*n)++;
	}
	if (!k || !v || (*n == cap))
		err = -ENOMEM;
	close(fd);
	if (err) {
		free(k);
		free(v);
		return err;
	}
	*keys = k;
	*vals = v;
	return 0;
}

static int ctl_read_hist(const char *name, struct pinshm_hist_slot *h)
{
	char path[PATH_MAX];
	__u32 i;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", PIN_DIR, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	for (i = 0; i < PINSHM_M_HIST_SLOTS; i++)
		if (bpf_map_lookup_elem(fd, &i, &h[i]))
			memset(&h[i], 0, sizeof(h[i]));
	close(fd);
	return 0;
}

static int ctl_metrics_read(struct ctl_metrics *m)
{
	int err;

	memset(m, 0, sizeof(*m));
	err = ctl_read_hash("regions", sizeof(*m->rk), sizeof(*m->rv), (void **)&m->rk,
			    (void **)&m->rv, &m->nr);
	if (!err)
		err = ctl_read_hash("rings", sizeof(*m->gk), sizeof(*m->gv), (void **)&m->gk,
				    (void **)&m->gv, &m->ng);
	if (!err)
		err = ctl_read_hash("procs", sizeof(*m->pk), sizeof(*m->pv), (void **)&m->pk,
				    (void **)&m->pv, &m->np);
	if (!err)
		err = ctl_read_hist("sleep_ns_log2", m->sleep);
	if (!err)
		err = ctl_read_hist("wake_ns_log2", m->wake);
	return err;
}

static void ctl_metrics_free(struct ctl_metrics *m)
{
	free(m->rk);
	free(m->rv);
	free(m->gk);
	free(m->gv);
	free(m->pk);
	free(m->pv);
}

static void ctl_str(char *dst, const char *src, size_t len)
{
	snprintf(dst, len + 1, "%.*s", (int)len, src);
}

static void ctl_hist_text(const char *title, const struct pinshm_hist_slot *h)
{
	uint64_t total = 0, max = 0;
	int i, lo = -1, hi = -1;

	for (i = 0; i < PINSHM_M_HIST_SLOTS; i++) {
		total += h[i].count;
		if (h[i].count) {
			if (lo < 0)
				lo = i;
			hi = i;
			if (h[i].count > max)
				max = h[i].count;
		}
	}
	printf("\n%s: %" PRIu64 " samples\n", title, total);
	if (!total)
		return;
	printf("  %20s  %10s\n", "NS", "COUNT");
	for (i = lo; i <= hi; i++) {
		char range[48], bar[41];
		int w = (int)(h[i].count * 40 / max);

		snprintf(range, sizeof(range), "[%" PRIu64 ", %" PRIu64 ")",
			 i ? (uint64_t)1 << i : 0, i < 63 ? (uint64_t)1 << (i + 1) : UINT64_MAX);
		memset(bar, '#', (size_t)w);
		bar[w] = '\0';
		printf("  %20s  %10llu %s\n", range, h[i].count, bar);
	}
}

static void ctl_metrics_text(const struct ctl_metrics *m)
{
	char a[PINSHM_M_REGION_LEN + 1], b[PINSHM_M_RING_LEN + 1], c[PINSHM_M_COMM_LEN + 1];
	size_t i;

	printf("%-24s %7s %7s %8s %8s %8s %8s %8s %9s %5s %4s\n", "REGION", "CREATES", "OPENS",
	       "ATTACHES", "DETACHES", "KILLED", "EXITED", "DESTROYS", "LAST_DEAD", "EXIT", "SIG");
	for (i = 0; i < m->nr; i++) {
		const struct pinshm_region_metrics *v = &m->rv[i];

		ctl_str(a, m->rk[i].name, PINSHM_M_REGION_LEN);
		printf("%-24s %7llu %7llu %8llu %8llu %8llu %8llu %8llu %9u %5d %4u\n", a,
		       v->creates, v->opens, v->attaches, v->detaches, v->deaths_signal,
		       v->deaths_exit, v->destroys, v->last_dead_pid, v->last_exit_code,
		       v->last_signal);
	}
	printf("\n%-32s %9s %7s %9s %10s %6s %8s %8s %9s\n", "REGION/RING", "BACKPRESS", "LAPS",
	       "LOST", "RECOVERIES", "PADS", "SLEEPS", "WAKES", "TAKEOVERS");
	for (i = 0; i < m->ng; i++) {
		const struct pinshm_ring_metrics *v = &m->gv[i];
		char rr[PINSHM_M_REGION_LEN + PINSHM_M_RING_LEN + 2];

		ctl_str(a, m->gk[i].region, PINSHM_M_REGION_LEN);
		ctl_str(b, m->gk[i].ring, PINSHM_M_RING_LEN);
		snprintf(rr, sizeof(rr), "%s/%s", a, b);
		printf("%-32s %9llu %7llu %9llu %10llu %6llu %8llu %8llu %9llu\n", rr,
		       v->backpressure, v->laps, v->lost, v->recoveries, v->pads, v->sleeps,
		       v->wakes, v->takeovers);
	}
	printf("\n%-8s %-16s %8s %8s %9s\n", "PID", "COMM", "ATTACHES", "DEATHS", "BACKPRESS");
	for (i = 0; i < m->np; i++) {
		const struct pinshm_proc_metrics *v = &m->pv[i];

		ctl_str(c, v->comm, PINSHM_M_COMM_LEN);
		printf("%-8u %-16s %8llu %8llu %9llu\n", m->pk[i].pid, c[0] ? c : "-",
		       v->attaches, v->deaths, v->backpressure);
	}
	ctl_hist_text("consumer time asleep (sleep_ns_log2)", m->sleep);
	ctl_hist_text("wake to running (wake_ns_log2)", m->wake);
}

static struct json_object *ctl_hist_json(const struct pinshm_hist_slot *h)
{
	struct json_object *arr = json_object_new_array();
	int i;

	for (i = 0; i < PINSHM_M_HIST_SLOTS; i++) {
		struct json_object *o;

		if (!h[i].count)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "slot", json_object_new_int(i));
		json_object_object_add(o, "from_ns", json_object_new_uint64(i ? 1ULL << i : 0));
		json_object_object_add(o, "to_ns", json_object_new_uint64(
			i < 63 ? 1ULL << (i + 1) : UINT64_MAX));
		json_object_object_add(o, "count", json_object_new_uint64(h[i].count));
		json_object_object_add(o, "sum_ns", json_object_new_uint64(h[i].sum_ns));
		json_object_array_add(arr, o);
	}
	return arr;
}

#define JU64(o, s, f) json_object_object_add(o, #f, json_object_new_uint64((s)->f))

static void ctl_metrics_json(const struct ctl_metrics *m)
{
	char a[PINSHM_M_REGION_LEN + 1], b[PINSHM_M_RING_LEN + 1], c[PINSHM_M_COMM_LEN + 1];
	struct json_object *top = json_object_new_object(), *arr;
	size_t i;

	arr = json_object_new_array();
	for (i = 0; i < m->nr; i++) {
		const struct pinshm_region_metrics *v = &m->rv[i];
		struct json_object *o = json_object_new_object();

		ctl_str(a, m->rk[i].name, PINSHM_M_REGION_LEN);
		json_object_object_add(o, "region", json_object_new_string(a));
		JU64(o, v, creates);
		JU64(o, v, opens);
		JU64(o, v, attaches);
		JU64(o, v, detaches);
		JU64(o, v, deaths_signal);
		JU64(o, v, deaths_exit);
		JU64(o, v, destroys);
		JU64(o, v, last_dead_pid);
		json_object_object_add(o, "last_exit_code", json_object_new_int(v->last_exit_code));
		JU64(o, v, last_signal);
		json_object_array_add(arr, o);
	}
	json_object_object_add(top, "regions", arr);
	arr = json_object_new_array();
	for (i = 0; i < m->ng; i++) {
		const struct pinshm_ring_metrics *v = &m->gv[i];
		struct json_object *o = json_object_new_object();

		ctl_str(a, m->gk[i].region, PINSHM_M_REGION_LEN);
		ctl_str(b, m->gk[i].ring, PINSHM_M_RING_LEN);
		json_object_object_add(o, "region", json_object_new_string(a));
		json_object_object_add(o, "ring", json_object_new_string(b));
		JU64(o, v, backpressure);
		JU64(o, v, laps);
		JU64(o, v, lost);
		JU64(o, v, recoveries);
		JU64(o, v, pads);
		JU64(o, v, sleeps);
		JU64(o, v, wakes);
		JU64(o, v, takeovers);
		json_object_array_add(arr, o);
	}
	json_object_object_add(top, "rings", arr);
	arr = json_object_new_array();
	for (i = 0; i < m->np; i++) {
		const struct pinshm_proc_metrics *v = &m->pv[i];
		struct json_object *o = json_object_new_object();

		ctl_str(c, v->comm, PINSHM_M_COMM_LEN);
		json_object_object_add(o, "pid", json_object_new_int64(m->pk[i].pid));
		json_object_object_add(o, "comm", json_object_new_string(c));
		JU64(o, v, attaches);
		JU64(o, v, deaths);
		JU64(o, v, backpressure);
		json_object_array_add(arr, o);
	}
	json_object_object_add(top, "procs", arr);
	json_object_object_add(top, "sleep_ns_log2", ctl_hist_json(m->sleep));
	json_object_object_add(top, "wake_ns_log2", ctl_hist_json(m->wake));
	ctl_put_json(top, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
}

/* A Prometheus label value: \, " and newline escaped. */
const char *ctl_prom_label(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	for (; *s && n + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[n++] = '\\';
			buf[n++] = *s;
		} else if (*s == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
	return buf;
}

void ctl_prom_head(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * A log2 histogram of nanoseconds as a Prometheus histogram in seconds:
 * cumulative buckets le=2^(i+1) ns, _sum and _count.
 */
static void ctl_prom_hist(const char *name, const char *help, const struct pinshm_hist_slot *h)
{
	uint64_t cum = 0, sum = 0;
	int i, hi = 0;

	for (i = 0; i < PINSHM_M_HIST_SLOTS; i++)
		if (h[i].count)
			hi = i;
	ctl_prom_head(name, "histogram", help);
	for (i = 0; i <= hi && i < 63; i++) {
		cum += h[i].count;
		sum += h[i].sum_ns;
		printf("%s_bucket{le=\"%.9g\"} %" PRIu64 "\n", name,
		       (double)(1ULL << (i + 1)) / 1e9, cum);
	}
	for (; i < PINSHM_M_HIST_SLOTS; i++) {
		cum += h[i].count;
		sum += h[i].sum_ns;
	}
	printf("%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	printf("%s_sum %.9f\n%s_count %" PRIu64 "\n", name, (double)sum / 1e9, name, cum);
}

struct ctl_prom_field {
	const char *name, *help;
	size_t off;
};

#define RF(f, h) { "pinshm_region_" #f "_total", h, offsetof(struct pinshm_region_metrics, f) }
#define GF(f, h) { "pinshm_ring_" #f "_total", h, offsetof(struct pinshm_ring_metrics, f) }
#define PF(f, h) { "pinshm_process_" #f "_total", h, offsetof(struct pinshm_proc_metrics, f) }

static void ctl_metrics_prom(const struct ctl_metrics *m)
{
	static const struct ctl_prom_field rf[] = {
		RF(creates, "Regions created."),
		RF(opens, "Regions opened through libpinshm."),
		RF(attaches, "Processes attached to the region (module)."),
		RF(detaches, "Clean detaches (module)."),
		RF(deaths_signal, "Attached processes killed by a signal (module)."),
		RF(deaths_exit, "Attached processes that exited without detaching (module)."),
		RF(destroys, "Regions destroyed."),
	};
	static const struct ctl_prom_field gf[] = {
		GF(backpressure, "Times a producer found the ring full."),
		GF(laps, "Times a broadcast reader was lapped."),
		GF(lost, "Records lost by lapped broadcast readers."),
		GF(recoveries, "Ring repairs by the library."),
		GF(pads, "MPSC claims of dead producers padded."),
		GF(sleeps, "Times a consumer went to sleep."),
		GF(wakes, "Wake system calls made."),
		GF(takeovers, "Ring roles taken over from a dead holder."),
	};
	static const struct ctl_prom_field pf[] = {
		PF(attaches, "Region attaches by the process (module)."),
		PF(deaths, "Deaths of the process while attached (module)."),
		PF(backpressure, "Times the process found a ring full."),
	};
	char a[PINSHM_M_REGION_LEN + 1], b[PINSHM_M_RING_LEN + 1], c[PINSHM_M_COMM_LEN + 1];
	char la[4 * PINSHM_M_REGION_LEN], lb[4 * PINSHM_M_RING_LEN], lc[4 * PINSHM_M_COMM_LEN];
	size_t f, i;

	for (f = 0; f < sizeof(rf) / sizeof(rf[0]); f++) {
		ctl_prom_head(rf[f].name, "counter", rf[f].help);
		for (i = 0; i < m->nr; i++) {
			ctl_str(a, m->rk[i].name, PINSHM_M_REGION_LEN);
			printf("%s{region=\"%s\"} %llu\n", rf[f].name,
			       ctl_prom_label(a, la, sizeof(la)),
			       *(const __u64 *)((const char *)&m->rv[i] + rf[f].off));
		}
	}
	ctl_prom_head("pinshm_region_last_dead_pid", "gauge",
		      "The last attached process that died (module).");
	for (i = 0; i < m->nr; i++) {
		ctl_str(a, m->rk[i].name, PINSHM_M_REGION_LEN);
		printf("pinshm_region_last_dead_pid{region=\"%s\"} %u\n",
		       ctl_prom_label(a, la, sizeof(la)), m->rv[i].last_dead_pid);
	}
	for (f = 0; f < sizeof(gf) / sizeof(gf[0]); f++) {
		ctl_prom_head(gf[f].name, "counter", gf[f].help);
		for (i = 0; i < m->ng; i++) {
			ctl_str(a, m->gk[i].region, PINSHM_M_REGION_LEN);
			ctl_str(b, m->gk[i].ring, PINSHM_M_RING_LEN);
			printf("%s{region=\"%s\",ring=\"%s\"} %llu\n", gf[f].name,
			       ctl_prom_label(a, la, sizeof(la)), ctl_prom_label(b, lb, sizeof(lb)),
			       *(const __u64 *)((const char *)&m->gv[i] + gf[f].off));
		}
	}
	for (f = 0; f < sizeof(pf) / sizeof(pf[0]); f++) {
		ctl_prom_head(pf[f].name, "counter", pf[f].help);
		for (i = 0; i < m->np; i++) {
			ctl_str(c, m->pv[i].comm, PINSHM_M_COMM_LEN);
			printf("%s{pid=\"%u\",comm=\"%s\"} %llu\n", pf[f].name, m->pk[i].pid,
			       ctl_prom_label(c, lc, sizeof(lc)),
			       *(const __u64 *)((const char *)&m->pv[i] + pf[f].off));
		}
	}
	ctl_prom_hist("pinshm_consumer_sleep_seconds", "Time consumers slept before waking.",
		      m->sleep);
	ctl_prom_hist("pinshm_wake_latency_seconds",
		      "Time from a wake call to the sleeper running again.", m->wake);
}

static int ctl_metrics_show(const struct ctl_metrics_args *a)
{
	struct ctl_metrics m;
	int err;

	if (!ctl_exists(PIN_DIR)) {
		ctl_errorf("metrics show: nothing loaded (no %s; pinshm metrics load)", PIN_DIR);
		return -ENOENT;
	}
	err = ctl_metrics_read(&m);
	if (err) {
		ctl_errorf("metrics show: reading the maps under %s: %s%s", PIN_DIR,
			   strerror(-err), err == -EPERM || err == -EACCES ? " (run as root)" : "");
		ctl_metrics_free(&m);
		return err;
	}
	if (a->json)
		ctl_metrics_json(&m);
	else if (a->prometheus)
		ctl_metrics_prom(&m);
	else
		ctl_metrics_text(&m);
	ctl_metrics_free(&m);
	return ctl_flush_stdout();
}

int cmd_metrics(int argc, char **argv)
{
	const struct ctl_cmd *c = &ctl_cmd_metrics;
	struct ctl_metrics_args a = { 0 };
	static const char *const need[] = { "load|unload|show", NULL };
	const char *verb;
	int ret;

	ret = ctl_parse(c, argc, argv, ctl_metrics_opt, &a);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = ctl_operands(c, argc, argv, need, 1);
	if (ret)
		return ret;
	verb = argv[optind];
	if (strcmp(verb, "load") && strcmp(verb, "unload") && strcmp(verb, "show"))
		return ctl_usage_error(c, "unknown action '%s' (load, unload or show)", verb);
	if (a.binary && strcmp(verb, "load"))
		return ctl_usage_error(c, "--binary is for load");
	if ((a.json || a.prometheus) && strcmp(verb, "show"))
		return ctl_usage_error(c, "--%s is for show", a.json ? "json" : "prometheus");
	if (a.json && a.prometheus)
		return ctl_usage_error(c, "--json or --prometheus, not both");
	if (!strcmp(verb, "load"))
		return ctl_metrics_load(&a);
	if (!strcmp(verb, "unload"))
		return ctl_metrics_unload();
	return ctl_metrics_show(&a);
}
