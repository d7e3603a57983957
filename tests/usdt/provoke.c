// SPDX-License-Identifier: MIT
/*
 * Provoke an exact number of the library's slow-path events on a fresh
 * shm-backend region, and check the always-on counters show exactly them:
 *
 *   --backpressure N   an SPSC producer finds its ring full N times (each
 *                      after the consumer drained it): N back-pressure
 *                      events, full_events == N
 *   --laps M           a broadcast reader is lapped M times (each time the
 *                      writer publishes two rings' worth past it): its
 *                      lapped == M, lost == what it prints
 *   --recoveries K     K MPSC producers (child processes) die between
 *                      claim and commit; the consumer pads each claim:
 *                      recoveries == K (K mpsc_pad and recovery probes)
 *   --takeovers T      T SPSC producers (child processes) die holding the
 *                      role; this process takes it over from each
 *   --wakes W          an SPSC consumer (a thread) goes to sleep W times;
 *                      each time, once it is asleep, the producer publishes
 *                      a record and makes one wake system call
 *   --region NAME      the region's name (default provoke-PID); destroyed
 *                      at the end
 *
 * A tracer attached to the library's USDT probes (provider pinshm) counts
 * the same in this process: N backpressure, M lapped (their lost args
 * summing to lost), K recovery and K mpsc_pad, T role_takeover, W wake,
 * and W sleep and W woken. Children count region_open, role_attach (and
 * nothing else) in their own processes. Prints what it did; exits 0 when
 * every counter matched, 1 otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pinshm.h>

#define SPSC_CAP	4096
#define BCAST_SLOTS	8
#define MPSC_CAP	4096

static int fail(const char *what, int ret)
{
	fprintf(stderr, "provoke: %s: %s\n", what, strerror(-ret));
	return 1;
}

static int backpressure(struct pinshm_region *r, unsigned long n)
{
	struct pinshm_spsc p, c;
	struct pinshm_ring_stats st;
	struct pinshm_msg m;
	unsigned long i;
	void *d;
	int ret;

	ret = pinshm_spsc_create(r, "bp", SPSC_CAP, 0);
	if (ret)
		return fail("spsc_create", ret);
	ret = pinshm_spsc_attach(r, "bp", PINSHM_PRODUCER, &p);
	if (!ret)
		ret = pinshm_spsc_attach(r, "bp", PINSHM_CONSUMER, &c);
	if (ret)
		return fail("spsc_attach", ret);
	for (i = 0; i < n; i++) {
		/* Fill: the first refused claim is the event; the second
		 * is the same run of refusals and counts nothing. */
		while ((ret = pinshm_spsc_claim(&p, 64, &d)) == 0) {
			memset(d, 0x5a, 64);
			pinshm_spsc_commit(&p, 64, 0);
		}
		if (ret != -EAGAIN || pinshm_spsc_claim(&p, 64, &d) != -EAGAIN)
			return fail("spsc_claim", ret);
		/* Drain: released bytes are zeroed and handed back. */
		while (pinshm_spsc_peek(&c, &m) == 0)
			pinshm_spsc_release(&c);
	}
	pinshm_spsc_detach(&p);
	pinshm_spsc_detach(&c);
	ret = pinshm_obj_stats(r, "bp", &st);
	if (ret)
		return fail("obj_stats", ret);
	printf("backpressure %lu: spsc full_events %" PRIu64 "\n", n,
	       st.full_events);
	return st.full_events == n ? 0 : 1;
}

static int laps(struct pinshm_region *r, unsigned long n)
{
	struct pinshm_bcast w, rd;
	struct pinshm_bcast_stats st;
	struct pinshm_bcast_msg m;
	unsigned long i, k;
	uint64_t v;
	int ret;

	ret = pinshm_bcast_create(r, "laps", BCAST_SLOTS, 48);
	if (ret)
		return fail("bcast_create", ret);
	ret = pinshm_bcast_attach(r, "laps", PINSHM_WRITER, &w);
	if (!ret)
		ret = pinshm_bcast_attach(r, "laps", PINSHM_READER, &rd);
	if (ret)
		return fail("bcast_attach", ret);
	for (i = 0; i < n; i++) {
		/* Two rings past the reader: its next peek is lapped once,
		 * then it reads the ring that is left without a lap. */
		for (k = 0; k < 2 * BCAST_SLOTS; k++) {
			v = k;
			ret = pinshm_bcast_send(&w, &v, sizeof(v), 0);
			if (ret)
				return fail("bcast_send", ret);
		}
		while ((ret = pinshm_bcast_peek(&rd, &m)) == 0)
			if (pinshm_bcast_release(&rd))
				return fail("bcast_release", -ESTALE);
		if (ret != -EAGAIN)
			return fail("bcast_peek", ret);
	}
	ret = pinshm_bcast_stats(&rd, &st);
	if (ret)
		return fail("bcast_stats", ret);
	pinshm_bcast_detach(&rd);
	pinshm_bcast_detach(&w);
	printf("laps %lu: bcast reader lapped %" PRIu64 " lost %" PRIu64 "\n",
	       n, st.lapped, st.lost);
	return st.lapped == n && st.lost == n * BCAST_SLOTS ? 0 : 1;
}

/* A producer that claims and dies without committing. */
static void dying_producer(const char *region)
{
	struct pinshm_region *r;
	struct pinshm_mpsc p;
	void *d;

	if (pinshm_region_open(region, PINSHM_RDWR, PINSHM_BACKEND_SHM, &r) ||
	    pinshm_mpsc_attach(r, "rec", PINSHM_PRODUCER, &p) ||
	    pinshm_mpsc_claim(&p, 64, &d))
		_exit(2);
	memset(d, 0x5a, 32);	/* half written */
	_exit(0);
}

static int recoveries(struct pinshm_region *r, unsigned long n)
{
	struct pinshm_mpsc c;
	struct pinshm_ring_stats st;
	struct pinshm_msg m;
	unsigned long i, padded = 0;
	int ret, status;
	pid_t pid;

	ret = pinshm_mpsc_create(r, "rec", MPSC_CAP, 0);
	if (ret)
		return fail("mpsc_create", ret);
	ret = pinshm_mpsc_attach(r, "rec", PINSHM_CONSUMER, &c);
	if (ret)
		return fail("mpsc_attach", ret);
	for (i = 0; i < n; i++) {
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return fail("fork", -errno);
		if (pid == 0)
			dying_producer(pinshm_region_name(r));
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "provoke: producer %d failed\n", (int)pid);
			return 1;
		}
		ret = pinshm_mpsc_recover(&c);
		if (ret < 0)
			return fail("mpsc_recover", ret);
		padded += (unsigned long)ret;
		/* Give the filler back, so the next dead slot's claim is
		 * behind the consumer. */
		if (pinshm_mpsc_peek(&c, &m) != -EAGAIN)
			return fail("mpsc_peek", -EBADMSG);
	}
	pinshm_mpsc_detach(&c);
	ret = pinshm_obj_stats(r, "rec", &st);
	if (ret)
		return fail("obj_stats", ret);
	printf("recoveries %lu: mpsc claims padded %lu, recoveries %" PRIu64
	       "\n", n, padded, st.recoveries);
	return st.recoveries == n && padded == n ? 0 : 1;
}

static int takeovers(struct pinshm_region *r, unsigned long n)
{
	struct pinshm_ring_stats st;
	struct pinshm_spsc p;
	unsigned long i, taken = 0;
	int ret, status;
	pid_t pid;

	ret = pinshm_spsc_create(r, "tk", SPSC_CAP, 0);
	if (ret)
		return fail("spsc_create", ret);
	for (i = 0; i < n; i++) {
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return fail("fork", -errno);
		if (pid == 0)	/* the shm backend's mapping is inherited */
			_exit(pinshm_spsc_attach(r, "tk", PINSHM_PRODUCER, &p) ?
			      2 : 0);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "provoke: producer %d failed\n", (int)pid);
			return 1;
		}
		/* The dead child still holds the role: take it over. */
		ret = pinshm_obj_stats(r, "tk", &st);
		if (ret)
			return fail("obj_stats", ret);
		ret = pinshm_spsc_attach(r, "tk", PINSHM_PRODUCER, &p);
		if (ret)
			return fail("spsc_attach", ret);
		taken += st.producer_pid == (uint32_t)pid;
		pinshm_spsc_detach(&p);
	}
	printf("takeovers %lu: spsc producer role taken over from %lu dead "
	       "holders\n", n, taken);
	return taken == n ? 0 : 1;
}

struct sleeper {
	struct pinshm_spsc c;
	unsigned long n, got;
	int ret;
};

static void *consume(void *arg)
{
	struct sleeper *s = arg;
	struct pinshm_msg m;

	while (s->got < s->n) {
		if (pinshm_spsc_peek(&s->c, &m) == 0) {
			pinshm_spsc_release(&s->c);
			s->got++;
			continue;
		}
		s->ret = pinshm_spsc_wait(&s->c, 5000000000LL);
		if (s->ret)
			break;
	}
	return NULL;
}

static int wakes(struct pinshm_region *r, unsigned long n)
{
	struct sleeper s = { .n = n };
	struct pinshm_spsc p;
	unsigned long i;
	pthread_t t;
	uint64_t v;
	int ret, polls;

	ret = pinshm_spsc_create(r, "wk", SPSC_CAP, 0);
	if (ret)
		return fail("spsc_create", ret);
	ret = pinshm_spsc_attach(r, "wk", PINSHM_PRODUCER, &p);
	if (!ret)
		ret = pinshm_spsc_attach(r, "wk", PINSHM_CONSUMER, &s.c);
	if (ret)
		return fail("spsc_attach", ret);
	ret = pthread_create(&t, NULL, consume, &s);
	if (ret)
		return fail("pthread_create", -ret);
	for (i = 0; i < n; i++) {
		/* The consumer flags itself before it sleeps: publish only
		 * then (and a little later, so that it is in the kernel). */
		for (polls = 0; !(PINSHM_READ_ONCE(p.sh->waitq.waiters) &&
				  PINSHM_READ_ONCE(p.sh->waitq.pending)); polls++) {
			if (polls > 5000 || s.ret)
				break;
			usleep(1000);
		}
		usleep(2000);
		v = i;
		ret = pinshm_spsc_send(&p, &v, sizeof(v), 0, PINSHM_WAIT_NONE);
		if (ret)
			return fail("spsc_send", ret);
		/* Until it took the record: the next sleep is a new one. */
		for (polls = 0; PINSHM_READ_ONCE(s.got) <= i && polls < 5000;
		     polls++)
			usleep(1000);
	}
	pthread_join(t, NULL);
	pinshm_spsc_detach(&p);
	pinshm_spsc_detach(&s.c);
	if (s.ret)
		return fail("spsc_wait", s.ret);
	printf("wakes %lu: consumer woke and took %lu records\n", n, s.got);
	return s.got == n ? 0 : 1;
}

static int count_arg(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || !*s || *end || *s == '-' ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long nbp = 0, nlaps = 0, nrec = 0, ntk = 0, nwk = 0;
	struct pinshm_region_opts o;
	struct pinshm_region *r;
	char name[PINSHM_NAME_MAX];
	int i, ret, bad = 0;

	snprintf(name, sizeof(name), "provoke-%d", (int)getpid());
	for (i = 1; i < argc; i++) {
		unsigned long *dst = NULL;

		if (!strcmp(argv[i], "--backpressure"))
			dst = &nbp;
		else if (!strcmp(argv[i], "--laps"))
			dst = &nlaps;
		else if (!strcmp(argv[i], "--recoveries"))
			dst = &nrec;
		else if (!strcmp(argv[i], "--takeovers"))
			dst = &ntk;
		else if (!strcmp(argv[i], "--wakes"))
			dst = &nwk;
		else if (!strcmp(argv[i], "--region") && i + 1 < argc &&
			 pinshm_name_valid(argv[i + 1])) {
			snprintf(name, sizeof(name), "%s", argv[++i]);
			continue;
		}
		if (!dst || i + 1 >= argc || count_arg(argv[++i], dst)) {
			fprintf(stderr, "usage: provoke [--backpressure N] "
				"[--laps M] [--recoveries K] [--takeovers T] "
				"[--wakes W] [--region NAME]\n");
			return 2;
		}
	}
	pinshm_region_opts_init(&o);
	o.size = 1 << 20;
	o.backend = PINSHM_BACKEND_SHM;
	ret = pinshm_region_create(name, &o, &r);
	if (ret)
		return fail("region_create", ret);
	printf("region %s (shm)\n", name);
	if (nbp)
		bad |= backpressure(r, nbp);
	if (nlaps)
		bad |= laps(r, nlaps);
	if (nrec)
		bad |= recoveries(r, nrec);
	if (ntk)
		bad |= takeovers(r, ntk);
	if (nwk)
		bad |= wakes(r, nwk);
	pinshm_region_close(r);
	pinshm_region_destroy(name, PINSHM_BACKEND_SHM);
	if (bad)
		fprintf(stderr, "provoke: a counter did not match\n");
	return bad ? 1 : 0;
}
