// SPDX-License-Identifier: MIT
/*
 * pinshm-demo: the logger stage, the log file's format, and reading the
 * file back for the accounting.
 *
 * Every stage commits struct tr_log records on the log link (MPSC, its
 * producer id is its enum tr_proc); the logger sleeps on that link (it
 * never spins: it has no core of its own) and writes one line per record:
 *
 *   <src> <seq> <EVENT> id=<order id, hex> instr=<i> px=<price> qty=<q> t=<ns>
 *
 *   strat.1 17 ORDER id=0x2000000000011 instr=4 px=100.1250 qty=30 t=123456
 *
 * src is the stage (md, risk, oms, exec, log, strat.S), seq its own
 * record number (1, 2, ... with no gaps), t the record's TSC stamp in
 * nanoseconds. The logger's own START / RESTART and STOP lines carry
 * src "log" and its own seq.
 *
 * Exactly once, across the logger's restarts (kill -9 at any moment):
 * each line goes to the file with one write() before the record is
 * released, so a record released is in the file, and a record in the
 * file but not yet released comes back after a restart. The restarted
 * logger rebuilds each source's high-water seq from the file (cutting a
 * torn last line, bytes after the last newline), and skips every record
 * at or below it: no line twice, none missing. This needs only that each
 * source's records arrive in its seq order, which one producer's stream
 * on an MPSC ring (or a socket) guarantees.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "xp.h"

#define LOG_WAIT_NS	(30 * 1000000LL)	/* sees stop and quit within */
#define LOG_IDLE_NS	(100 * 1000000ULL)	/* empty this long: drained */
#define LOG_OPEN_MS	5000			/* attach retries (-EAGAIN) */
#define LOG_LINE	256
/*
 * After each drain the logger naps this long before it waits again: it
 * is off the trading path, and records gathered meanwhile cost their
 * producers nothing (on the rings a kick is one load while nobody sleeps;
 * a sleeping logger would be woken for nearly every record). It wakes at
 * most about 1000 times a second, whatever the log rate.
 */
#define LOG_BATCH_NS	1000000L

static const char *const event_names[TR_LOG_EVENTS] = {
	[E_START] = "START", [E_RESTART] = "RESTART", [E_BURST] = "BURST",
	[E_ORDER] = "ORDER", [E_ACCEPT] = "ACCEPT", [E_REJECT] = "REJECT",
	[E_OMS_NEW] = "OMS_NEW", [E_OMS_ACCEPTED] = "OMS_ACCEPTED",
	[E_OMS_REJECTED] = "OMS_REJECTED", [E_OMS_PARTIAL] = "OMS_PARTIAL",
	[E_OMS_FILLED] = "OMS_FILLED", [E_OMS_CANCELLED] = "OMS_CANCELLED",
	[E_FILL] = "FILL", [E_CANCEL] = "CANCEL", [E_REPORT] = "REPORT",
	[E_STOP] = "STOP",
};

const char *tr_log_event_name(int event)
{
	if (event < 0 || event >= TR_LOG_EVENTS || !event_names[event])
		return "?";
	return event_names[event];
}

static int event_of(const char *name)
{
	for (int e = 0; e < TR_LOG_EVENTS; e++)
		if (event_names[e] && !strcmp(name, event_names[e]))
			return e;
	return -1;
}

static int proc_of(const char *name)
{
	for (int p = 0; p < TR_MAX_PROCS; p++)
		if (!strcmp(name, tr_proc_name(p)))
			return p;
	return -1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* One line, newline included; its length. */
static int format_line(char *buf, size_t len, const struct tr_shared *sh,
		       const struct tr_log *r)
{
	uint64_t apx = r->px < 0 ? -(uint64_t)r->px : (uint64_t)r->px;
	uint64_t t = r->t;

	if (sh->clk.ticks_per_ns > 0)
		t = (uint64_t)((double)r->t / sh->clk.ticks_per_ns);
	return snprintf(buf, len, "%s %" PRIu64 " %s id=%#" PRIx64
			" instr=%u px=%s%" PRIu64 ".%04u qty=%u t=%" PRIu64 "\n",
			tr_proc_name(r->src), r->seq, tr_log_event_name(r->event),
			r->order_id, r->instr, r->px < 0 ? "-" : "",
			apx / TR_PX_SCALE, (unsigned int)(apx % TR_PX_SCALE),
			r->qty, t);
}

/* src, seq and event of one line (without its newline); 0 or -EINVAL. */
static int parse_line(const char *line, int *src, uint64_t *seq, int *event)
{
	char sname[16], ename[24];
	int n = 0;

	if (sscanf(line, "%15s %" SCNu64 " %23s id=%*x instr=%*u px=%*s "
		   "qty=%*u t=%*u%n", sname, seq, ename, &n) < 3 || n == 0 ||
	    line[n] != '\0')
		return -EINVAL;
	*src = proc_of(sname);
	*event = event_of(ename);
	if (*src < 0 || *event < 0 || *seq == 0)
		return -EINVAL;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A restart: each source's highest seq in the file, into hw; a torn last
 * line (after the last newline) is cut off. 0 or -errno.
 */
static int recover_file(int fd, uint64_t hw[TR_MAX_PROCS])
{
	char buf[65536], line[LOG_LINE];
	size_t ll = 0;
	off_t pos = 0, good = 0;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			char ch = buf[i];

			pos++;
			if (ch != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = ch;
				continue;
			}
			line[ll] = '\0';
			ll = 0;
			good = pos;

			int src, event;
			uint64_t seq;

			if (!parse_line(line, &src, &seq, &event) && seq > hw[src])
				hw[src] = seq;
		}
	}
	if (n < 0)
		return -errno;
	if (good != pos && ftruncate(fd, good) < 0)
		return -errno;
	if (lseek(fd, good, SEEK_SET) < 0)
		return -errno;
	return 0;
}

static int open_io(struct tr_shared *sh, bool restarted, struct tr_io **io)
{
	uint64_t end = mono_ns() + LOG_OPEN_MS * 1000000ULL;
	int err;

	/* A dead producer's claim may need recovering first: retry. */
	while ((err = tr_io_open(sh, P_LOG, restarted, io)) == -EAGAIN &&
	       mono_ns() < end)
		usleep(2000);
	return err;
}

/* The logger's own line (START, RESTART, STOP), straight to the file. */
static int own_line(int fd, struct tr_shared *sh, uint64_t hw[], int event)
{
	struct tr_log r = {
		.seq = hw[P_LOG] + 1, .t = bench_now(), .src = P_LOG,
		.event = (uint8_t)event,
	};
	char line[LOG_LINE];
	int len = format_line(line, sizeof(line), sh, &r);
	int err = write_all(fd, line, (size_t)len);

	if (!err)
		hw[P_LOG] = r.seq;
	return err;
}

int tr_logger_main(struct tr_shared *sh, bool restarted)
{
	struct tr_proc_stats *st = &sh->st[P_LOG];
	uint64_t hw[TR_MAX_PROCS] = { 0 };
	uint64_t empty_since = 0, bad = 0;
	bool got = false;		/* a record since the last nap */
	struct tr_io *io = NULL;
	int fd, err, ret = 1;

	fd = open(sh->cfg.log_path, O_RDWR | O_CREAT | O_CLOEXEC |
		  (restarted ? 0 : O_TRUNC), 0644);
	if (fd < 0) {
		fprintf(stderr, "pinshm-demo: log: %s: %s\n",
			sh->cfg.log_path, strerror(errno));
		return 1;
	}
	err = restarted ? recover_file(fd, hw) : 0;
	if (!err)
		err = open_io(sh, restarted, &io);
	if (!err)
		err = own_line(fd, sh, hw, restarted ? E_RESTART : E_START);
	if (err) {
		fprintf(stderr, "pinshm-demo: log: start: %s\n", strerror(-err));
		goto out;
	}
	for (;;) {
		const void *m;
		int r;

		/* Relaxed, as every flag of sh (trade.h). */
		uint32_t stop = __atomic_load_n(&sh->stop, __ATOMIC_RELAXED);

		if (stop == 2)
			goto out;
		bool quit = __atomic_load_n(&sh->quit, __ATOMIC_RELAXED);

		/* After quit, what is still there, then leave. After a
		 * record, a look without a wait: an empty ring then naps. */
		r = tr_peek(io, L_LOG, &m, quit || got ? 0 : LOG_WAIT_NS);
		if (quit && r == 0)
			break;
		if (r < 0) {
			fprintf(stderr, "pinshm-demo: log: %s\n", strerror(-r));
			goto out;
		}
		if (r == 0) {
			uint64_t now = mono_ns();

			if (got) {
				struct timespec ts = { 0, LOG_BATCH_NS };

				got = false;
				nanosleep(&ts, NULL);
				continue;
			}
			if (!empty_since)
				empty_since = now;
			if (stop && now - empty_since >= LOG_IDLE_NS)
				/* Drained; relaxed, as every flag of sh. */
				__atomic_store_n(&st->idle, 1, __ATOMIC_RELAXED);
			continue;
		}
		empty_since = 0;
		got = true;
		if (st->idle)
			__atomic_store_n(&st->idle, 0, __ATOMIC_RELAXED);

		struct tr_log rec;

		memcpy(&rec, m, sizeof(rec));	/* a peer's bytes: checked */
		uint64_t now = bench_now();

		if (rec.src >= TR_MAX_PROCS || rec.src == P_LOG ||
		    rec.event >= TR_LOG_EVENTS || rec.seq == 0) {
			bad++;
		} else if (rec.seq > hw[rec.src]) {
			char line[LOG_LINE];
			int len = format_line(line, sizeof(line), sh, &rec);

			err = write_all(fd, line, (size_t)len);
			if (err) {
				fprintf(stderr, "pinshm-demo: log: %s: %s\n",
					sh->cfg.log_path, strerror(-err));
				goto out;
			}
			hw[rec.src] = rec.seq;
		}
		if (now > rec.t_send && rec.t_send)
			bench_hist_add(&sh->hop[H_TO_LOG], now - rec.t_send);
		/* Counters: this process writes them, the runner reads them. */
		__atomic_store_n(&st->in[L_LOG], st->in[L_LOG] + 1,
				 __ATOMIC_RELAXED);
		tr_release(io, L_LOG);
	}
	err = own_line(fd, sh, hw, E_STOP);
	if (err)
		fprintf(stderr, "pinshm-demo: log: %s: %s\n", sh->cfg.log_path,
			strerror(-err));
	else if (fsync(fd) < 0 && errno != EINVAL)
		fprintf(stderr, "pinshm-demo: log: fsync: %s\n", strerror(errno));
	else
		ret = 0;
	if (bad) {
		fprintf(stderr, "pinshm-demo: log: %" PRIu64 " bad records\n", bad);
		ret = 1;
	}
out:
	tr_io_close(io);
	close(fd);
	return ret;
}

/* ---- reading the file back --------------------------------------------------- */

/* Seqs seen per source, a bit each, growing. */
struct seen {
	uint8_t *bits;
	uint64_t nbits;
};

static int seen_mark(struct seen *s, uint64_t seq, bool *twice)
{
	if (seq >= s->nbits) {
		uint64_t n = s->nbits ? s->nbits : 4096;
		uint8_t *b;

		while (n <= seq)
			n *= 2;
		b = realloc(s->bits, n / 8);
		if (!b)
			return -ENOMEM;
		memset(b + s->nbits / 8, 0, (n - s->nbits) / 8);
		s->bits = b;
		s->nbits = n;
	}
	*twice = s->bits[seq / 8] >> (seq % 8) & 1;
	s->bits[seq / 8] |= (uint8_t)(1u << (seq % 8));
	return 0;
}

int tr_log_read(const char *path, struct tr_log_summary *out)
{
	struct seen seen[TR_MAX_PROCS] = { { 0 } };
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		int src, event;
		uint64_t seq;
		bool twice;

		out->lines++;
		if (line[n - 1] != '\n' || (line[n - 1] = '\0',
		    parse_line(line, &src, &seq, &event))) {
			out->bad++;
			continue;
		}
		if (seq > (1ULL << 36)) {	/* not a count this run could reach */
			out->bad++;
			continue;
		}
		err = seen_mark(&seen[src], seq, &twice);
		if (err)
			break;
		if (twice) {
			out->dups++;
			continue;
		}
		out->events[src][event]++;
		if (seq > out->last[src])
			out->last[src] = seq;
	}
	for (int p = 0; p < TR_MAX_PROCS && !err; p++)
		for (uint64_t q = 1; q <= out->last[p]; q++)
			out->gaps += !(seen[p].bits[q / 8] >> (q % 8) & 1);
	for (int p = 0; p < TR_MAX_PROCS; p++)
		free(seen[p].bits);
	free(line);
	fclose(f);
	return err;
}
