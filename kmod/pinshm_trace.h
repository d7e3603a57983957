/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinshm tracepoints: /sys/kernel/tracing/events/pinshm/pinshm_<event>.
 * BPF: SEC("tracepoint/pinshm/pinshm_attach"), SEC("raw_tp/pinshm_attach").
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pinshm

#if !defined(_PINSHM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PINSHM_TRACE_H

#include <linux/tracepoint.h>
#include <linux/pinshm.h>

TRACE_EVENT(pinshm_region_create,
	TP_PROTO(const char *name, u64 size, int node, u32 flags, u32 uid,
		 u32 mode),
	TP_ARGS(name, size, node, flags, uid, mode),
	TP_STRUCT__entry(
		__array(char, name, PINSHM_NAME_MAX)
		__field(u64, size)
		__field(int, node)
		__field(u32, flags)
		__field(u32, uid)
		__field(u32, mode)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->size = size;
		__entry->node = node;
		__entry->flags = flags;
		__entry->uid = uid;
		__entry->mode = mode;
	),
	TP_printk("name=%s size=%llu node=%d flags=0x%x uid=%u mode=0%o",
		  __entry->name, __entry->size, __entry->node, __entry->flags,
		  __entry->uid, __entry->mode)
);

TRACE_EVENT(pinshm_region_destroy,
	TP_PROTO(const char *name, u64 size, u64 generation, u64 crashes,
		 u32 nr_attached),
	TP_ARGS(name, size, generation, crashes, nr_attached),
	TP_STRUCT__entry(
		__array(char, name, PINSHM_NAME_MAX)
		__field(u64, size)
		__field(u64, generation)
		__field(u64, crashes)
		__field(u32, nr_attached)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->size = size;
		__entry->generation = generation;
		__entry->crashes = crashes;
		__entry->nr_attached = nr_attached;
	),
	TP_printk("name=%s size=%llu generation=%llu crashes=%llu attached=%u",
		  __entry->name, __entry->size, __entry->generation,
		  __entry->crashes, __entry->nr_attached)
);

TRACE_EVENT(pinshm_attach,
	TP_PROTO(const char *name, pid_t tgid, int slot, u16 access),
	TP_ARGS(name, tgid, slot, access),
	TP_STRUCT__entry(
		__array(char, name, PINSHM_NAME_MAX)
		__field(pid_t, tgid)
		__field(int, slot)
		__field(u16, access)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->tgid = tgid;
		__entry->slot = slot;
		__entry->access = access;
	),
	TP_printk("name=%s tgid=%d slot=%d access=%s",
		  __entry->name, __entry->tgid, __entry->slot,
		  __entry->access == PINSHM_ACC_RW ? "rw" : "ro")
);

/* clean is 1 for DETACHED; exit_code and signal are set for DIED. */
TRACE_EVENT(pinshm_detach,
	TP_PROTO(const char *name, pid_t tgid, int slot, u16 state,
		 s32 exit_code, u32 signal),
	TP_ARGS(name, tgid, slot, state, exit_code, signal),
	TP_STRUCT__entry(
		__array(char, name, PINSHM_NAME_MAX)
		__field(pid_t, tgid)
		__field(int, slot)
		__field(u16, state)
		__field(u8, clean)
		__field(s32, exit_code)
		__field(u32, signal)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->tgid = tgid;
		__entry->slot = slot;
		__entry->state = state;
		__entry->clean = state == PINSHM_ST_DETACHED;
		__entry->exit_code = exit_code;
		__entry->signal = signal;
	),
	TP_printk("name=%s tgid=%d slot=%d state=%s clean=%u exit_code=%d signal=%u",
		  __entry->name, __entry->tgid, __entry->slot,
		  __print_symbolic(__entry->state,
				   { PINSHM_ST_DETACHED, "detached" },
				   { PINSHM_ST_DIED, "died" },
				   { PINSHM_ST_EXEC, "exec" }),
		  __entry->clean, __entry->exit_code, __entry->signal)
);

TRACE_EVENT(pinshm_alloc_fail,
	TP_PROTO(u64 size, unsigned int order, int node, int error),
	TP_ARGS(size, order, node, error),
	TP_STRUCT__entry(
		__field(u64, size)
		__field(unsigned int, order)
		__field(int, node)
		__field(int, error)
	),
	TP_fast_assign(
		__entry->size = size;
		__entry->order = order;
		__entry->node = node;
		__entry->error = error;
	),
	TP_printk("size=%llu order=%u node=%d error=%d",
		  __entry->size, __entry->order, __entry->node, __entry->error)
);

/* A WAIT that slept: how long, and how it ended (0 woken, or -errno). */
TRACE_EVENT(pinshm_wait,
	TP_PROTO(const char *name, u64 offset, u64 slept_ns, int ret),
	TP_ARGS(name, offset, slept_ns, ret),
	TP_STRUCT__entry(
		__array(char, name, PINSHM_NAME_MAX)
		__field(u64, offset)
		__field(u64, slept_ns)
		__field(int, ret)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->offset = offset;
		__entry->slept_ns = slept_ns;
		__entry->ret = ret;
	),
	TP_printk("name=%s offset=%llu slept_ns=%llu ret=%d", __entry->name,
		  __entry->offset, __entry->slept_ns, __entry->ret)
);

TRACE_EVENT(pinshm_wake,
	TP_PROTO(const char *name, u64 offset),
	TP_ARGS(name, offset),
	TP_STRUCT__entry(
		__array(char, name, PINSHM_NAME_MAX)
		__field(u64, offset)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->offset = offset;
	),
	TP_printk("name=%s offset=%llu", __entry->name, __entry->offset)
);

#endif /* _PINSHM_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pinshm_trace
#include <trace/define_trace.h>
