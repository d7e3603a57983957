// SPDX-License-Identifier: GPL-2.0
/*
 * The trading demo (pinshm-demo) on pinshm.ko: a short run over pinshm
 * rings in module memory, then a short --chaos run (a strategy, risk and
 * the logger killed with SIGKILL and restarted), each of which must exit 0:
 * every stage exited 0 (or was killed by the chaos and replaced), the log
 * holds every record once and the accounting reconciles. Afterwards no
 * region of the demo is left in the module. The demo's own output is
 * echoed as TAP diagnostics.
 */
#include "common.h"

#include <dirent.h>
#include <sys/wait.h>

#define PINSHM_DEMO	"/usr/local/bin/pinshm-demo"

/* Run the demo with args; its output as diagnostics; its exit status. */
static int run_demo(const char *const *args)
{
	const char *argv[24];
	char line[512];
	int pfd[2], st, n = 0;
	FILE *f;
	pid_t pid;

	argv[n++] = PINSHM_DEMO;
	for (; *args && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execv(PINSHM_DEMO, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		tap_diag("%s", line);
	}
	if (f)
		fclose(f);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Regions whose name starts with "demo" (the demo's prefix). */
static int demo_regions_left(void)
{
	struct dirent *e;
	DIR *d = opendir(SYSFS_REGIONS);
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "demo", 4)) {
			tap_diag("left behind: %s", e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

int main(void)
{
	static const char *const plain[] = { "--backend", "kmod", "--transport",
		"pinshm", "--seconds", "3", "--rate", "2000", "--quiet",
		"--log", "/tmp/22_demo.log", NULL };
	static const char *const chaos[] = { "--backend", "kmod", "--chaos",
		"--seconds", "4", "--rate", "2000", "--seed", "22", "--quiet",
		"--log", "/tmp/22_demo-chaos.log", NULL };
	int ret;

	tap_plan(4);
	if (access(PINSHM_DEMO, X_OK))
		tap_bail("%s: %s (vm.sh copies it with EXTRA_BINS)", PINSHM_DEMO,
			 strerror(errno));
	if (access("/dev/pinshm", F_OK))
		tap_bail("/dev/pinshm: %s", strerror(errno));

	ret = run_demo(plain);
	tap_ok(ret == 0, "pinshm-demo over pinshm.ko: every stage exits 0, the "
	       "accounting reconciles (exit %d)", ret);
	ret = run_demo(chaos);
	tap_ok(ret == 0, "pinshm-demo --chaos over pinshm.ko: a strategy, risk "
	       "and the logger killed -9 and restarted, nothing lost or "
	       "duplicated (exit %d)", ret);
	tap_ok(demo_regions_left() == 0, "no region of the demo is left");
	ret = run_demo((const char *const[]){ "--backend", "kmod", "--chaos",
		       "--transport", "unix", NULL });
	tap_ok(ret == 2, "--chaos over sockets is refused (exit %d)", ret);
	return tap_finish();
}
