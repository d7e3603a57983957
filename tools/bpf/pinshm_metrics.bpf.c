// SPDX-License-Identifier: GPL-2.0
/*
 * pinshm metrics: BPF programs on the module's tracepoints (TRACE_SYSTEM
 * pinshm) and on libpinshm's USDT probes (provider pinshm), counting into
 * the maps that pinshm_metrics.h describes. `pinshm metrics load` loads
 * them (tools/pinshm/cmd_metrics.c) and pins the maps under
 * /sys/fs/bpf/pinshm/ and the links under /sys/fs/bpf/pinshm/links/.
 *
 * Every module tracepoint has two programs with one body: tp_btf (when the
 * module has BTF, /sys/kernel/btf/pinshm) and raw_tp (when it has none);
 * the loader autoloads one of the two. Both read the tracepoint's
 * arguments (TP_PROTO) by position, so no kernel struct is read here.
 *
 * Only slow-path events reach these programs: the library fires its probes
 * on transitions (ring found full, reader lapped, sleep, wake, repair,
 * roles, region lifecycle), never per message.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "pinshm_metrics.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PINSHM_M_MAX_REGIONS);
	__type(key, struct pinshm_key_region);
	__type(value, struct pinshm_region_metrics);
} regions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PINSHM_M_MAX_RINGS);
	__type(key, struct pinshm_key_ring);
	__type(value, struct pinshm_ring_metrics);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PINSHM_M_MAX_PROCS);
	__type(key, struct pinshm_key_proc);
	__type(value, struct pinshm_proc_metrics);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PINSHM_M_HIST_SLOTS);
	__type(key, __u32);
	__type(value, struct pinshm_hist_slot);
} sleep_ns_log2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PINSHM_M_HIST_SLOTS);
	__type(key, __u32);
	__type(value, struct pinshm_hist_slot);
} wake_ns_log2 SEC(".maps");

/*
 * wake_pair (not pinned): one word per key that pairs a wake with its
 * sleeper's return, whichever of their events comes first (they fire on
 * two CPUs, the wake's after the wake itself):
 *   0                     nothing pending
 *   PINSHM_M_WAKE | t     a wake was made at t; its sleeper is not back
 *   PINSHM_M_BACK | t     a sleeper woken (ret 0) was back at t, before
 *                         the event of the wake that woke it
 * Each side moves the word with a compare-and-swap, so the second event
 * always finds the first one's mark: two CPUs that each looked, found
 * nothing and then stored their own mark would lose the sample. Each
 * tries four times (written out: no loop for the verifier); the other
 * side moves the word once in between, and a wake may first count a
 * sleeper back.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PINSHM_M_MAX_RINGS);
	__type(key, struct pinshm_key_wake);
	__type(value, __u64);
} wake_pair SEC(".maps");

#define PINSHM_M_WAKE	(1ULL << 63)
#define PINSHM_M_BACK	(1ULL << 62)
#define PINSHM_M_TS	(PINSHM_M_BACK - 1)

/*
 * tp_waited (not pinned): thread (pid_tgid) -> when the module's wait
 * tracepoint last fired in it. A module WAIT is reported twice: by the
 * tracepoint inside the ioctl, then by the library's woken probe right
 * after it returns in the same thread. The tracepoint counts it (it sees
 * every process, probes or not, and knows the word's offset); the probe
 * that follows within PINSHM_M_SAME_WAIT_NS skips it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PINSHM_M_MAX_PROCS);
	__type(key, __u64);
	__type(value, __u64);
} tp_waited SEC(".maps");

#define PINSHM_M_SAME_WAIT_NS	(1000ULL * 1000 * 1000)

/* ---- helpers ----------------------------------------------------------- */

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r, s;

	r = (v > 0xffffffffULL) << 5;
	v >>= r;
	s = (v > 0xffff) << 4;
	v >>= s;
	r |= s;
	s = (v > 0xff) << 3;
	v >>= s;
	r |= s;
	s = (v > 0xf) << 2;
	v >>= s;
	r |= s;
	s = (v > 0x3) << 1;
	v >>= s;
	r |= s;
	return r | (__u32)(v >> 1);
}

static __always_inline void hist_add(void *map, __u64 ns)
{
	__u32 slot = log2_u64(ns);
	struct pinshm_hist_slot *h;

	if (slot >= PINSHM_M_HIST_SLOTS)
		slot = PINSHM_M_HIST_SLOTS - 1;
	h = bpf_map_lookup_elem(map, &slot);
	if (!h)
		return;
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
}

/* The value for key in a hash map, inserted zeroed when missing. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

static const __u64 zero_u64;

/*
 * One attempt of a sleeper on key, back at now (woken: ret 0): the
 * wake-to-running latency, from the wake's mark; without one, its own
 * mark for the wake to find. Back from anything but a wake (ret != 0), it
 * drops a wake's mark, which was not for it. False: the word moved under
 * it, try again.
 */
static __always_inline bool back_try(__u64 *w, __u64 now, bool woken)
{
	__u64 old = *w, t;

	if (old & PINSHM_M_WAKE) {
		if (__sync_val_compare_and_swap(w, old, 0) != old)
			return false;
		t = old & PINSHM_M_TS;
		/* Two CPUs' clocks may differ by a little: a sleeper back
		 * "before" its wake took 0 ns. */
		if (woken)
			hist_add(&wake_ns_log2, now > t ? now - t : 0);
		return true;
	}
	if (!woken)
		return true;
	return __sync_val_compare_and_swap(w, old, PINSHM_M_BACK | now) == old;
}

static __always_inline void sleeper_back(struct pinshm_key_wake *k, __u64 now, bool woken)
{
	/* Not woken, it has no mark to leave: only one to drop. */
	__u64 *w = woken ? lookup_or_init(&wake_pair, k, &zero_u64) :
			   bpf_map_lookup_elem(&wake_pair, k);

	if (w && !back_try(w, now, woken) && !back_try(w, now, woken) &&
	    !back_try(w, now, woken))
		back_try(w, now, woken);
}

/*
 * One attempt of a wake on key made at now (nr sleepers woken, 1 when not
 * known): a sleeper already back counts 0 ns; the others measure from
 * now. False: try again (the word moved, or a sleeper back was counted
 * and others are left to measure).
 */
static __always_inline bool wake_try(__u64 *w, __u64 now, __u32 *nr)
{
	__u64 old = *w, t, d;

	if (old & PINSHM_M_BACK) {
		if (__sync_val_compare_and_swap(w, old, 0) != old)
			return false;
		/* Either order: two CPUs' clocks may differ. */
		t = old & PINSHM_M_TS;
		d = now >= t ? now - t : t - now;
		if (d < PINSHM_M_SAME_WAIT_NS) {
			hist_add(&wake_ns_log2, 0);
			if (*nr <= 1)
				return true;
			(*nr)--;
		}
		return false;
	}
	/* Nobody left asleep to measure from this wake. */
	if (!*nr)
		return true;
	return __sync_val_compare_and_swap(w, old, PINSHM_M_WAKE | now) == old;
}

static __always_inline void waker_done(struct pinshm_key_wake *k, __u64 now, __u32 nr)
{
	__u64 *w = lookup_or_init(&wake_pair, k, &zero_u64);

	if (w && !wake_try(w, now, &nr) && !wake_try(w, now, &nr) &&
	    !wake_try(w, now, &nr))
		wake_try(w, now, &nr);
}

static const struct pinshm_region_metrics zero_region;
static const struct pinshm_ring_metrics zero_ring;
static const struct pinshm_proc_metrics zero_proc;

static __always_inline struct pinshm_region_metrics *region_k(const char *name)
{
	struct pinshm_key_region k = {};

	bpf_probe_read_kernel_str(k.name, sizeof(k.name), name);
	return lookup_or_init(&regions, &k, &zero_region);
}

static __always_inline struct pinshm_region_metrics *region_u(const char *name)
{
	struct pinshm_key_region k = {};

	bpf_probe_read_user_str(k.name, sizeof(k.name), name);
	return lookup_or_init(&regions, &k, &zero_region);
}

static __always_inline struct pinshm_ring_metrics *ring_u(const char *region, const char *ring)
{
	struct pinshm_key_ring k = {};

	bpf_probe_read_user_str(k.region, sizeof(k.region), region);
	bpf_probe_read_user_str(k.ring, sizeof(k.ring), ring);
	return lookup_or_init(&rings, &k, &zero_ring);
}

/* The process pid's entry; its comm is filled when current is that process. */
static __always_inline struct pinshm_proc_metrics *proc(__u32 pid)
{
	struct pinshm_key_proc k = { .pid = pid };
	struct pinshm_proc_metrics *p = bpf_map_lookup_elem(&procs, &k);

	if (p)
		return p;
	bpf_map_update_elem(&procs, &k, &zero_proc, BPF_NOEXIST);
	p = bpf_map_lookup_elem(&procs, &k);
	if (p && (bpf_get_current_pid_tgid() >> 32) == pid)
		bpf_get_current_comm(p->comm, sizeof(p->comm));
	return p;
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/* ---- the module's tracepoints ------------------------------------------ */
/*
 * TP_PROTO positions (kmod/pinshm_trace.h):
 *   pinshm_region_create(name, size, node, flags, uid, mode)
 *   pinshm_region_destroy(name, size, generation, crashes, nr_attached, lifetime_ns)
 *   pinshm_attach(name, tgid, slot, access)
 *   pinshm_detach(name, tgid, slot, state, exit_code, signal, attached_ns)
 *   pinshm_wait(name, offset, slept_ns, ret)
 *   pinshm_wake(name, offset, woken)
 * detach's tgid is the attacher (for a death, the mapping's owner, which
 * need not be current); wait fires when a sleeper returns, wake after
 * the word's sleepers were woken (woken: how many).
 */

static __always_inline int on_region_create(unsigned long long *ctx)
{
	struct pinshm_region_metrics *r = region_k((const char *)ctx[0]);

	if (r)
		__sync_fetch_and_add(&r->creates, 1);
	return 0;
}

static __always_inline int on_region_destroy(unsigned long long *ctx)
{
	struct pinshm_region_metrics *r = region_k((const char *)ctx[0]);

	if (r)
		__sync_fetch_and_add(&r->destroys, 1);
	return 0;
}

static __always_inline int on_attach(unsigned long long *ctx)
{
	struct pinshm_region_metrics *r = region_k((const char *)ctx[0]);
	struct pinshm_proc_metrics *p = proc((__u32)ctx[1]);

	if (r)
		__sync_fetch_and_add(&r->attaches, 1);
	if (p)
		__sync_fetch_and_add(&p->attaches, 1);
	return 0;
}

static __always_inline int on_detach(unsigned long long *ctx)
{
	struct pinshm_region_metrics *r = region_k((const char *)ctx[0]);
	__u32 tgid = (__u32)ctx[1];
	__u16 state = (__u16)ctx[3];
	__s32 exit_code = (__s32)ctx[4];
	__u32 sig = (__u32)ctx[5];
	struct pinshm_proc_metrics *p;

	if (!r)
		return 0;
	if (state == PINSHM_M_ST_DETACHED) {
		__sync_fetch_and_add(&r->detaches, 1);
	} else if (state == PINSHM_M_ST_DIED) {
		if (sig)
			__sync_fetch_and_add(&r->deaths_signal, 1);
		else
			__sync_fetch_and_add(&r->deaths_exit, 1);
		r->last_dead_pid = tgid;
		r->last_exit_code = exit_code;
		r->last_signal = sig;
		p = proc(tgid);
		if (p)
			__sync_fetch_and_add(&p->deaths, 1);
	}
	return 0;
}

static __always_inline int on_wait(unsigned long long *ctx)
{
	struct pinshm_key_wake k = {};
	__u64 now = bpf_ktime_get_ns(), id = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&tp_waited, &id, &now, BPF_ANY);
	hist_add(&sleep_ns_log2, ctx[2]);
	bpf_probe_read_kernel_str(k.region, sizeof(k.region), (const char *)ctx[0]);
	k.offset = ctx[1];
	sleeper_back(&k, now, (int)ctx[3] == 0);
	return 0;
}

static __always_inline int on_wake(unsigned long long *ctx)
{
	struct pinshm_key_wake k = {};
	__u64 now = bpf_ktime_get_ns();

	/*
	 * woken 0: nobody was queued. A sleeper that saw the word move and
	 * left the queue just before this WAKE came back at once: it is
	 * counted as 0 ns by waker_done(); no new measurement starts.
	 */
	bpf_probe_read_kernel_str(k.region, sizeof(k.region), (const char *)ctx[0]);
	k.offset = ctx[1];
	waker_done(&k, now, (__u32)ctx[2]);
	return 0;
}

#define PINSHM_TP(event, body)						\
	SEC("tp_btf/pinshm_" #event)					\
	int btf_##event(unsigned long long *ctx) { return body(ctx); }	\
	SEC("raw_tp/pinshm_" #event)					\
	int raw_##event(unsigned long long *ctx) { return body(ctx); }

PINSHM_TP(region_create, on_region_create)
PINSHM_TP(region_destroy, on_region_destroy)
PINSHM_TP(attach, on_attach)
PINSHM_TP(detach, on_detach)
PINSHM_TP(wait, on_wait)
PINSHM_TP(wake, on_wake)

/* ---- the library's USDT probes ----------------------------------------- */
/*
 * Regions: creates and destroys of kmod regions come from the module's
 * tracepoints (which see every caller), so the probes count them on the
 * shm backend only; opens come from the probes on both.
 */
SEC("usdt")
int BPF_USDT(usdt_region_create, const char *region, __u64 size, int backend)
{
	struct pinshm_region_metrics *r;

	if (backend == PINSHM_M_BACKEND_KMOD)
		return 0;
	r = region_u(region);
	if (r)
		__sync_fetch_and_add(&r->creates, 1);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_region_open, const char *region, int access, int backend)
{
	struct pinshm_region_metrics *r = region_u(region);

	if (r)
		__sync_fetch_and_add(&r->opens, 1);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_region_destroy, const char *region, int backend)
{
	struct pinshm_region_metrics *r;

	if (backend == PINSHM_M_BACKEND_KMOD)
		return 0;
	r = region_u(region);
	if (r)
		__sync_fetch_and_add(&r->destroys, 1);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_role_takeover, const char *region, const char *ring, int type, int role,
	     int id, int dead_pid)
{
	struct pinshm_ring_metrics *m = ring_u(region, ring);

	if (m)
		__sync_fetch_and_add(&m->takeovers, 1);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_backpressure, const char *region, const char *ring, int type, int id)
{
	struct pinshm_ring_metrics *m = ring_u(region, ring);
	struct pinshm_proc_metrics *p = proc(current_tgid());

	if (m)
		__sync_fetch_and_add(&m->backpressure, 1);
	if (p)
		__sync_fetch_and_add(&p->backpressure, 1);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_lapped, const char *region, const char *ring, __u64 lost)
{
	struct pinshm_ring_metrics *m = ring_u(region, ring);

	if (m) {
		__sync_fetch_and_add(&m->laps, 1);
		__sync_fetch_and_add(&m->lost, lost);
	}
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_recovery, const char *region, const char *ring, int type, __u64 count)
{
	struct pinshm_ring_metrics *m = ring_u(region, ring);

	if (m)
		__sync_fetch_and_add(&m->recoveries, count);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_mpsc_pad, const char *region, const char *ring, int dead_pid, __u64 bytes)
{
	struct pinshm_ring_metrics *m = ring_u(region, ring);

	if (m)
		__sync_fetch_and_add(&m->pads, 1);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_sleep, const char *region, const char *ring, int type)
{
	struct pinshm_ring_metrics *m = ring_u(region, ring);

	if (m)
		__sync_fetch_and_add(&m->sleeps, 1);
	return 0;
}

static __always_inline void wake_key_u(struct pinshm_key_wake *k, const char *region,
				       const char *ring)
{
	bpf_probe_read_user_str(k->region, sizeof(k->region), region);
	bpf_probe_read_user_str(k->ring, sizeof(k->ring), ring);
}

SEC("usdt")
int BPF_USDT(usdt_woken, const char *region, const char *ring, int type, __u64 slept_ns,
	     int ret)
{
	struct pinshm_key_wake k = {};
	__u64 now = bpf_ktime_get_ns(), id = bpf_get_current_pid_tgid(), *ts;
	bool counted = false;

	/* A module WAIT that its tracepoint has just counted in this thread. */
	ts = bpf_map_lookup_elem(&tp_waited, &id);
	if (ts) {
		counted = now >= *ts && now - *ts < PINSHM_M_SAME_WAIT_NS;
		bpf_map_delete_elem(&tp_waited, &id);
	}
	if (!counted)
		hist_add(&sleep_ns_log2, slept_ns);
	wake_key_u(&k, region, ring);
	if (counted)
		bpf_map_delete_elem(&wake_pair, &k);
	else
		sleeper_back(&k, now, ret == 0);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_wake, const char *region, const char *ring, int type)
{
	struct pinshm_ring_metrics *m = ring_u(region, ring);
	struct pinshm_key_wake k = {};
	__u64 now = bpf_ktime_get_ns();

	if (m)
		__sync_fetch_and_add(&m->wakes, 1);
	wake_key_u(&k, region, ring);
	waker_done(&k, now, 1);
	return 0;
}
