// SPDX-License-Identifier: GPL-2.0
/*
 * 04_numa_node - CREATE's node argument.
 *
 * Out-of-range or offline nodes (64, -2, INT_MIN, INT_MAX, the first node
 * that is not online) -> -EINVAL, with no region left behind. Node 0 and
 * PINSHM_NODE_ANY work; INFO and the metadata page report node 0 for a node 0
 * region. A second online node, when the machine has one, must work too;
 * on a one-node guest that single check is a TAP SKIP (hardware lacks it).
 */
#include "common.h"
#include <limits.h>

/* Parse /sys/devices/system/node/online ("0" or "0-3" or "0,2"). */
static int online_nodes(int *nodes, int max)
{
	char buf[256], *p;
	int n = 0;

	if (read_file("/sys/devices/system/node/online", buf, sizeof(buf)))
		return -1;
	p = buf;
	while (*p && n < max) {
		long a = strtol(p, &p, 10), b = a;

		if (*p == '-')
			b = strtol(p + 1, &p, 10);
		for (long i = a; i <= b && n < max; i++)
			nodes[n++] = (int)i;
		if (*p == ',')
			p++;
		else
			break;
	}
	return n;
}

static int is_online(const int *nodes, int n, int node)
{
	for (int i = 0; i < n; i++)
		if (nodes[i] == node)
			return 1;
	return 0;
}

int main(void)
{
	const char *name = tname("n");
	int bad[] = { 64, -2, INT_MIN, INT_MAX, 1024, 0 /* set below */ };
	int nodes[64], nn, ctl, fd, r, other = -1;
	struct pinshm_info inf;
	struct pinshm_meta snap;
	const struct pinshm_meta *meta;

	test_timeout(120);
	tap_plan(13);
	ctl = ctl_open();
	cleanup_add(name);

	nn = online_nodes(nodes, 64);
	if (nn <= 0) {
		tap_diag("cannot read online nodes; assuming node 0 only");
		nodes[0] = 0;
		nn = 1;
	}
	tap_diag("%d online node(s)", nn);
	/* the first offline node id */
	for (bad[5] = 0; is_online(nodes, nn, bad[5]); bad[5]++)
		;
	for (int i = 1; i < nn; i++)
		if (nodes[i] != 0) {
			other = nodes[i];
			break;
		}

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = pshm_create(ctl, name, 4096, bad[i], 0600);
		tap_errno(r, EINVAL, "CREATE on node %d -> EINVAL", bad[i]);
		if (r >= 0) {
			close(r);
			pshm_destroy(ctl, name);
		}
	}
	tap_ok(pshm_listed(ctl, name) == 0,
	       "no region left behind by the refused CREATEs");

	/* node 0 */
	fd = pshm_create(ctl, name, 64 * 1024, 0, 0600);
	tap_success(fd, "CREATE on node 0 works");
	r = fd >= 0 ? pshm_info(fd, NULL, &inf) : -1;
	tap_ok(r == 0 && inf.node == 0, "INFO.node == 0 (got %d)", inf.node);
	meta = fd >= 0 ? map_meta(fd) : MAP_FAILED;
	memset(&snap, 0, sizeof(snap));
	snap.node = -99;
	r = meta != MAP_FAILED ? meta_snapshot(meta, &snap) : -1;
	tap_ok(r == 0 && snap.node == 0, "metadata node == 0 (got %d)",
	       snap.node);
	if (meta != MAP_FAILED)
		munmap((void *)meta, PINSHM_META_SIZE);
	if (fd >= 0)
		close(fd);
	pshm_destroy(ctl, name);

	/* any node */
	fd = pshm_create(ctl, name, 64 * 1024, PINSHM_NODE_ANY, 0600);
	tap_success(fd, "CREATE with PINSHM_NODE_ANY works");
	r = fd >= 0 ? pshm_info(fd, NULL, &inf) : -1;
	tap_ok(r == 0 && (inf.node == PINSHM_NODE_ANY ||
			  is_online(nodes, nn, inf.node)),
	       "INFO.node is NODE_ANY or an online node (got %d)", inf.node);
	if (fd >= 0)
		close(fd);
	pshm_destroy(ctl, name);

	/* a second node, where the hardware has one */
	if (other < 0) {
		tap_skip("one NUMA node", "CREATE on a node other than 0");
	} else {
		fd = pshm_create(ctl, name, 64 * 1024, other, 0600);
		r = fd >= 0 ? pshm_info(fd, NULL, &inf) : -1;
		tap_ok(fd >= 0 && r == 0 && inf.node == other,
		       "CREATE on node %d works and INFO says so", other);
		if (fd >= 0)
			close(fd);
		pshm_destroy(ctl, name);
	}
	close(ctl);
	return tap_finish();
}
