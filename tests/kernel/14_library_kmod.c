// SPDX-License-Identifier: GPL-2.0
/*
 * libpinshm's kmod backend against the real module: the library picks the
 * module by itself, reports what the kernel wrote (contiguous, pinned,
 * attacher states), moves sequence-numbered messages between processes
 * over an SPSC ring in kernel memory, and a producer killed with SIGKILL
 * mid-stream is replaced without losing or repeating a committed message.
 * `pinshm info --json` must say the same as the library.
 */
#include "common.h"

#include <pinshm.h>
#include <signal.h>
#include <sys/wait.h>

#define NMSG	200000ULL
#define PINSHM_CLI	"/usr/local/bin/pinshm"

static const char *region;

/* Producer: send seq from..to, each payload = {seq, ~seq}. */
static void produce(uint64_t from, uint64_t to, int slow)
{
	struct pinshm_region *r;
	struct pinshm_spsc p;
	struct pinshm_msg last;
	uint64_t seq, msg[2];

	if (pinshm_region_open(region, PINSHM_RDWR, PINSHM_BACKEND_AUTO, &r) ||
	    pinshm_spsc_attach(r, "q", PINSHM_PRODUCER, &p))
		_exit(10);
	if (from == 0) {	/* a restart: resume after the last published */
		from = 1;
		if (pinshm_spsc_last(&p, &last) == 0 && last.len == sizeof(msg)) {
			memcpy(msg, last.data, sizeof(msg));
			from = msg[0] + 1;
		}
	}
	for (seq = from; seq <= to; seq++) {
		msg[0] = seq;
		msg[1] = ~seq;
		if (pinshm_spsc_send(&p, msg, sizeof(msg), 1, PINSHM_WAIT_YIELD))
			_exit(11);
		if (slow && seq % 64 == 0)
			usleep(50);
	}
	pinshm_spsc_detach(&p);
	pinshm_region_close(r);
	_exit(0);
}

/* Receive until seq 'to'; returns the number of problems seen. */
static uint64_t consume(struct pinshm_spsc *c, uint64_t *next, uint64_t to)
{
	uint64_t bad = 0, msg[2];
	struct pinshm_msg m;
	uint64_t deadline = mono_us() + 120 * 1000000ULL;

	while (*next <= to) {
		int ret = pinshm_spsc_peek(c, &m);

		if (ret == -EAGAIN) {
			if (mono_us() > deadline)
				return bad + 1000000;
			sched_yield();
			continue;
		}
		if (ret || m.len != sizeof(msg))
			return bad + 1;
		memcpy(msg, m.data, sizeof(msg));
		if (msg[0] != *next || msg[1] != ~msg[0])
			bad++;
		*next = msg[0] + 1;
		pinshm_spsc_release(c);
	}
	return bad;
}

static int cli_json_has(const char *json, const char *want)
{
	char flat[1 << 16];
	size_t i, n = 0;

	for (i = 0; json[i] && n + 1 < sizeof(flat); i++)
		if (json[i] != ' ' && json[i] != '\n' && json[i] != '\t')
			flat[n++] = json[i];
	flat[n] = '\0';
	return strstr(flat, want) != NULL;
}

int main(void)
{
	struct pinshm_region_opts o;
	struct pinshm_region *r;
	struct pinshm_meta meta;
	struct pinshm_spsc c;
	uint64_t phys = 0, next = 1, gen0, bad;
	char cmd[256], json[1 << 16];
	const struct pinshm_attach *a;
	pid_t pid;
	int st, ret, i, died = 0;
	size_t n;
	FILE *f;

	tap_plan(18);
	region = tname("lib");
	cleanup_add(region);

	tap_ok(pinshm_backend_resolve(PINSHM_BACKEND_AUTO) == PINSHM_BACKEND_KMOD,
	       "auto picks the module when /dev/pinshm exists");
	pinshm_region_opts_init(&o);
	o.size = 4 << 20;
	ret = pinshm_region_create(region, &o, &r);
	if (!tap_ok(ret == 0, "create a 4 MiB region through the library (%d)", ret))
		tap_bail("no region");
	tap_ok(pinshm_region_backend(r) == PINSHM_BACKEND_KMOD, "region is on the kmod backend");
	ret = pinshm_region_meta(r, &meta);
	tap_ok(ret == 0 && meta.backend == PINSHM_BACKEND_KMOD &&
	       (meta.flags & PINSHM_F_CONTIGUOUS) && (meta.flags & PINSHM_F_PINNED),
	       "kernel metadata: backend kmod, contiguous, pinned (flags %#x)", meta.flags);
	ret = pinshm_region_phys(r, &phys);
	tap_ok(ret == 0 && phys != 0 && phys % (2 << 20) == 0,
	       "root sees the 2 MiB-aligned physical address (%#llx)", (unsigned long long)phys);
	tap_ok(pinshm_spsc_create(r, "q", 64 << 10, 0) == 0, "SPSC ring in kernel memory");
	ret = pinshm_spsc_attach(r, "q", PINSHM_CONSUMER, &c);
	if (!tap_ok(ret == 0, "consumer attached (%d)", ret))
		tap_bail("no consumer");

	/* A clean producer, NMSG messages. */
	pid = fork();
	if (pid == 0)
		produce(1, NMSG, 0);
	bad = consume(&c, &next, NMSG);
	waitpid(pid, &st, 0);
	tap_ok(bad == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "%llu messages across processes, in order, none torn (bad %llu)",
	       NMSG, (unsigned long long)bad);
	pinshm_region_meta(r, &meta);
	a = NULL;
	for (i = 0; i < PINSHM_MAX_ATTACH; i++)
		if (meta.attach[i].tgid == (uint32_t)pid)
			a = &meta.attach[i];
	tap_ok(a && a->state == PINSHM_ST_DETACHED,
	       "the producer's clean close shows as detached in the kernel's table");
	gen0 = meta.generation;

	/* A producer killed mid-stream, then a replacement. */
	pid = fork();
	if (pid == 0)
		produce(NMSG + 1, 4 * NMSG, 1);
	bad = consume(&c, &next, NMSG + 20000);	/* it is mid-stream now */
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	pinshm_region_meta(r, &meta);
	for (i = 0; i < PINSHM_MAX_ATTACH; i++)
		if (meta.attach[i].tgid == (uint32_t)pid &&
		    meta.attach[i].state == PINSHM_ST_DIED &&
		    meta.attach[i].signal == SIGKILL)
			died = 1;
	tap_ok(died, "the killed producer shows as died with signal 9");
	tap_ok(meta.generation == gen0 + 1 && meta.crashes >= 1,
	       "generation bumped by the death (%llu -> %llu)",
	       (unsigned long long)gen0, (unsigned long long)meta.generation);
	pid = fork();
	if (pid == 0)
		produce(0, 4 * NMSG, 0);
	bad += consume(&c, &next, 4 * NMSG);
	waitpid(pid, &st, 0);
	tap_ok(bad == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "the replacement resumed exactly after the last committed message (bad %llu)",
	       (unsigned long long)bad);
	tap_ok(pinshm_spsc_peek(&c, &(struct pinshm_msg){ 0 }) == -EAGAIN,
	       "nothing left over: no message twice");

	/* The command line reads the same metadata. */
	snprintf(cmd, sizeof(cmd), PINSHM_CLI " info %s --json", region);
	f = popen(cmd, "r");
	n = f ? fread(json, 1, sizeof(json) - 1, f) : 0;
	json[n] = '\0';
	ret = f ? pclose(f) : -1;
	tap_ok(ret == 0 && cli_json_has(json, "\"backend\":\"kmod\"") &&
	       cli_json_has(json, "\"contiguous\":true") &&
	       cli_json_has(json, "\"pinned\":true"),
	       "pinshm info --json: backend kmod, contiguous, pinned");
	tap_ok(cli_json_has(json, "\"state\":\"died\"") &&
	       cli_json_has(json, "\"state\":\"detached\"") &&
	       cli_json_has(json, "\"state\":\"attached\""),
	       "pinshm info --json lists attached, detached and died attachers");
	if (ret || !cli_json_has(json, "\"backend\":\"kmod\""))
		tap_diag("pinshm said: %.400s", json);

	pinshm_spsc_detach(&c);
	tap_ok(pinshm_region_close(r) == 0, "close detaches cleanly");
	tap_ok(pinshm_region_destroy(region, PINSHM_BACKEND_AUTO) == 0,
	       "destroy through the library");
	tap_ok(pinshm_region_open(region, PINSHM_RDONLY, PINSHM_BACKEND_AUTO, &r) == -ENOENT,
	       "open after destroy: -ENOENT");
	return tap_finish();
}
