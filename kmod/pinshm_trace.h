/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinshm tracepoints: /sys/kernel/tracing/events/pinshm/pinshm_<event>.
 * BPF: SEC("tracepoint/pinshm/pinshm_attach") (the fields below, as the
 * event's format file lists them), SEC("raw_tp/pinshm_attach") and, where
 * the module has BTF, SEC("tp_btf/pinshm_attach") (the TP_PROTO arguments).
 *
 * Compatibility: names, and the fields and arguments of earlier versions,
 * keep their order, types and offsets; new ones are appended.
 *
 * Every event carries name (the region; "" where there is none yet),
 * and pid (tgid in the initial pid namespace), comm and uid (fsuid, the
 * uid the module checks permissions with, in the initial user namespace)
 * of the task the event fired in (current). In pinshm_detach that task is
 * not always the attacher: tgid is the attacher's, pid is current's (see
 * there).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pinshm

#if !defined(_PINSHM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PINSHM_TRACE_H

#include <linux/cred.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>
#include <linux/pinshm.h>

#ifndef PINSHM_TRACE_CURRENT
/* The fields pid, uid and comm of entry e, from current. */
#define PINSHM_TRACE_CURRENT(e) do {					\
		(e)->pid = task_tgid_nr(current);			\
		(e)->uid = from_kuid(&init_user_ns, current_fsuid());	\
		memcpy((e)->comm, current->comm, TASK_COMM_LEN);	\
	} while (0)
#endif

/* uid: the owner given to the region (the creator's fsuid, as above). */
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
		__field(pid_t, pid)
		__array(char, comm, TASK_COMM_LEN)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->size = size;
		__entry->node = node;
		__entry->flags = flags;
		__entry->uid = uid;
		__entry->mode = mode;
		__entry->pid = task_tgid_nr(current);
		memcpy(__entry->comm, current->comm, TASK_COMM_LEN);
	),
	TP_printk("name=%s size=%llu node=%d flags=0x%x uid=%u mode=0%o pid=%d comm=%s",
		  __entry->name, __entry->size, __entry->node, __entry->flags,
		  __entry->uid, __entry->mode, __entry->pid, __entry->comm)
);

/* lifetime_ns: from CREATE to this DESTROY (CLOCK_BOOTTIME). */
TRACE_EVENT(pinshm_region_destroy,
	TP_PROTO(const char *name, u64 size, u64 generation, u64 crashes,
		 u32 nr_attached, u64 lifetime_ns),
	TP_ARGS(name, size, generation, crashes, nr_attached, lifetime_ns),
	TP_STRUCT__entry(
		__array(char, name, PINSHM_NAME_MAX)
		__field(u64, size)
		__field(u64, generation)
		__field(u64, crashes)
		__field(u32, nr_attached)
		__field(u64, lifetime_ns)
		__field(pid_t, pid)
		__field(u32, uid)
		__array(char, comm, TASK_COMM_LEN)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->size = size;
		__entry->generation = generation;
		__entry->crashes = crashes;
		__entry->nr_attached = nr_attached;
		__entry->lifetime_ns = lifetime_ns;
		PINSHM_TRACE_CURRENT(__entry);
	),
	TP_printk("name=%s size=%llu generation=%llu crashes=%llu attached=%u lifetime_ns=%llu pid=%d comm=%s uid=%u",
		  __entry->name, __entry->size, __entry->generation,
		  __entry->crashes, __entry->nr_attached,
		  __entry->lifetime_ns, __entry->pid, __entry->comm,
		  __entry->uid)
);

/* A data mmap: the attacher (tgid) is current (pid). */
TRACE_EVENT(pinshm_attach,
	TP_PROTO(const char *name, pid_t tgid, int slot, u16 access),
	TP_ARGS(name, tgid, slot, access),
	TP_STRUCT__entry(
		__array(char, name, PINSHM_NAME_MAX)
		__field(pid_t, tgid)
		__field(int, slot)
		__field(u16, access)
		__field(pid_t, pid)
		__field(u32, uid)
		__array(char, comm, TASK_COMM_LEN)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->tgid = tgid;
		__entry->slot = slot;
		__entry->access = access;
		PINSHM_TRACE_CURRENT(__entry);
	),
	TP_printk("name=%s tgid=%d slot=%d access=%s pid=%d comm=%s uid=%u",
		  __entry->name, __entry->tgid, __entry->slot,
		  __entry->access == PINSHM_ACC_RW ? "rw" : "ro",
		  __entry->pid, __entry->comm, __entry->uid)
);

/*
 * An attach ended. clean is 1 for DETACHED; exit_code and signal are set
 * for DIED (the exit status and the signal that killed it, as wait()
 * reports them). attached_ns: how long that attach lasted (CLOCK_BOOTTIME).
 *
 * tgid is the attacher, pid/comm/uid the task the event fired in. For a
 * DETACH ioctl or a munmap they are the same process. A death is seen when
 * the mapping is torn down: usually in the dying process itself (pid ==
 * tgid, comm its name), but the last reference to its mm may be dropped
 * by another task (a /proc reader, ptrace, mmput_async()), and then pid
 * and comm are that task's.
 */
TRACE_EVENT(pinshm_detach,
	TP_PROTO(const char *name, pid_t tgid, int slot, u16 state,
		 s32 exit_code, u32 signal, u64 attached_ns),
	TP_ARGS(name, tgid, slot, state, exit_code, signal, attached_ns),
	TP_STRUCT__entry(
		__array(char, name, PINSHM_NAME_MAX)
		__field(pid_t, tgid)
		__field(int, slot)
		__field(u16, state)
		__field(u8, clean)
		__field(s32, exit_code)
		__field(u32, signal)
		__field(u64, attached_ns)
		__field(pid_t, pid)
		__field(u32, uid)
		__array(char, comm, TASK_COMM_LEN)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->tgid = tgid;
		__entry->slot = slot;
		__entry->state = state;
		__entry->clean = state == PINSHM_ST_DETACHED;
		__entry->exit_code = exit_code;
		__entry->signal = signal;
		__entry->attached_ns = attached_ns;
		PINSHM_TRACE_CURRENT(__entry);
	),
	TP_printk("name=%s tgid=%d slot=%d state=%s clean=%u exit_code=%d signal=%u attached_ns=%llu pid=%d comm=%s uid=%u",
		  __entry->name, __entry->tgid, __entry->slot,
		  __print_symbolic(__entry->state,
				   { PINSHM_ST_DETACHED, "detached" },
				   { PINSHM_ST_DIED, "died" },
				   { PINSHM_ST_EXEC, "exec" }),
		  __entry->clean, __entry->exit_code, __entry->signal,
		  __entry->attached_ns, __entry->pid, __entry->comm,
		  __entry->uid)
);

/* CREATE found no memory: the region being created (name). */
TRACE_EVENT(pinshm_alloc_fail,
	TP_PROTO(u64 size, unsigned int order, int node, int error,
		 const char *name),
	TP_ARGS(size, order, node, error, name),
	TP_STRUCT__entry(
		__field(u64, size)
		__field(unsigned int, order)
		__field(int, node)
		__field(int, error)
		__array(char, name, PINSHM_NAME_MAX)
		__field(pid_t, pid)
		__field(u32, uid)
		__array(char, comm, TASK_COMM_LEN)
	),
	TP_fast_assign(
		__entry->size = size;
		__entry->order = order;
		__entry->node = node;
		__entry->error = error;
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		PINSHM_TRACE_CURRENT(__entry);
	),
	TP_printk("size=%llu order=%u node=%d error=%d name=%s pid=%d comm=%s uid=%u",
		  __entry->size, __entry->order, __entry->node, __entry->error,
		  __entry->name, __entry->pid, __entry->comm, __entry->uid)
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
		__field(pid_t, pid)
		__field(u32, uid)
		__array(char, comm, TASK_COMM_LEN)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->offset = offset;
		__entry->slept_ns = slept_ns;
		__entry->ret = ret;
		PINSHM_TRACE_CURRENT(__entry);
	),
	TP_printk("name=%s offset=%llu slept_ns=%llu ret=%d pid=%d comm=%s uid=%u",
		  __entry->name, __entry->offset, __entry->slept_ns,
		  __entry->ret, __entry->pid, __entry->comm, __entry->uid)
);

/*
 * A WAKE. woken: the sleepers it woke, that is every task asleep on the
 * queues of the word (pinshm_wait.c): those of other words that share a
 * queue are woken too, re-check their word and sleep again.
 */
TRACE_EVENT(pinshm_wake,
	TP_PROTO(const char *name, u64 offset, u32 woken),
	TP_ARGS(name, offset, woken),
	TP_STRUCT__entry(
		__array(char, name, PINSHM_NAME_MAX)
		__field(u64, offset)
		__field(u32, woken)
		__field(pid_t, pid)
		__field(u32, uid)
		__array(char, comm, TASK_COMM_LEN)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, PINSHM_NAME_MAX);
		__entry->offset = offset;
		__entry->woken = woken;
		PINSHM_TRACE_CURRENT(__entry);
	),
	TP_printk("name=%s offset=%llu woken=%u pid=%d comm=%s uid=%u",
		  __entry->name, __entry->offset, __entry->woken,
		  __entry->pid, __entry->comm, __entry->uid)
);

#endif /* _PINSHM_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pinshm_trace
#include <trace/define_trace.h>
