/*-------------------------------------------------------------------------
 *
 * pgql_delay.bpf.c
 *		Per-query OS delay of PostgreSQL backends: where each query's
 *		latency went, on CPU, waiting for a CPU, waiting for block I/O, or
 *		sleeping (locks, latches, the client).
 *
 * Query boundaries come from the USDT probes that PostgreSQL's dtrace build
 * (Debian's) leaves in the postgres binary; the loader attaches them with
 * libbpf at their sites, so no debug symbols and no structure offsets are
 * needed:
 *
 * - query__start (argument: the query text) and query__done bound a query
 *	 of the simple protocol (exec_simple_query);
 * - query__execute__start and query__execute__done, inside PortalRun, bound
 *	 an Execute message of the extended protocol.  They also fire inside a
 *	 simple query (once per statement) and inside EXECUTE of a prepared
 *	 statement; there a depth counter treats them as nested and the outer
 *	 query keeps the whole time;
 * - transaction__abort closes a query that failed (an error leaves
 *	 exec_simple_query by longjmp, so query__done never fires).  A ROLLBACK
 *	 statement fires it too, just before its own end;
 * - a uprobe on AbortCurrentTransaction (an exported function) closes a
 *	 query that failed inside a subtransaction, where AbortTransaction, and
 *	 so transaction__abort, is not reached.
 *
 * Between its boundaries a query is in flight: an entry in the inflight
 * hash, keyed by the backend's pid, holds its start, its accumulated waits
 * and a prefix of its text (the probe argument for the simple protocol, the
 * exported global debug_query_string for the extended one).  The scheduler
 * hooks, BTF-typed tracepoints that cost one hash lookup per context switch
 * when nothing is in flight, split the time the backend spends switched
 * out:
 *
 * - sched_switch with the backend as prev remembers when and in which state
 *	 it left the CPU: runnable (preempted), D (uninterruptible, block I/O)
 *	 or S (interruptible: heavyweight-lock waits, latches, the client);
 * - sched_wakeup remembers when a sleeping backend became runnable;
 * - sched_switch with the backend as next accounts the time away: all of it
 *	 as run-queue wait when it was preempted, otherwise the time until the
 *	 wake-up as I/O or sleep and the rest as run-queue wait.
 *
 * On-CPU time is the latency less the three waits.  When the query closes,
 * a fixed-size event (struct pgql_event) goes to the ring buffer, which the
 * collector polls; queries shorter than the configured threshold are only
 * counted.  Counters (per CPU) count probe hits, events, queries below the
 * threshold and everything lost: a full ring buffer, a full in-flight map,
 * queries never closed.  A backend that exits with a query in flight has
 * its entry removed by sched_process_exit.
 *
 * Configuration lives in read-only data the loader sets before loading: the
 * threshold, one query in sample_every traced (counted over all backends;
 * the others still get an entry, so their nested probes are recognized, but
 * no accounting), the
 * address of debug_query_string, and the postmaster whose children alone
 * are traced.  A uprobe traps every process running the binary, so the
 * filter saves the work, not the trap; that is why the tier is off by
 * default.
 *
 * Requires BTF (tp_btf programs), the BPF ring buffer (Linux 5.8) and the
 * four-argument sched_switch tracepoint (Linux 5.18).  No kprobes, no
 * fentry.
 *
 *-------------------------------------------------------------------------
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>

#include "pgql_delay.h"

char		LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Task states as sched_switch reports them (include/linux/sched.h). */
#define TASK_INTERRUPTIBLE		0x0001
#define TASK_UNINTERRUPTIBLE	0x0002

/* How a traced backend left the CPU. */
#define OUT_RUNNABLE	0
#define OUT_SLEEP		1
#define OUT_IO			2

/* Most queries in flight at once (backends of all traced clusters). */
#define MAX_INFLIGHT	8192

const volatile struct pgql_config pgql_cfg = {};

/* A query in flight. */
struct qstate
{
	__u64		start_ns;
	__u64		out_ns;			/* when it was switched out; 0 while on CPU */
	__u64		wake_ns;		/* when it was woken after out_ns; 0 until then */
	__u64		runq_ns;
	__u64		io_ns;
	__u64		sleep_ns;
	__u32		switches;
	__u16		depth;			/* nested execute probes open */
	__u16		text_len;
	__u8		protocol;
	__u8		sampled;
	__u8		out_state;
	__u8		flags;
	char		text[PGQL_TEXT_LEN];
};

struct
{
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, struct qstate);
}			inflight SEC(".maps");

struct
{
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
}			events SEC(".maps");

struct
{
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PGQL_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
}			counters SEC(".maps");

/* Queries opened, for sample_every (one counter for all CPUs, incremented atomically). */
struct
{
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
}			sample_seq SEC(".maps");

static __always_inline void
count(__u32 index)
{
	__u64	   *c = bpf_map_lookup_elem(&counters, &index);

	if (c)
		(*c)++;
}

static __always_inline __u32
current_pid(void)
{
	return (__u32) bpf_get_current_pid_tgid();
}

/* Whether the current process is a child of the traced postmaster. */
static __always_inline bool
traced_process(void)
{
	struct task_struct *task;

	if (pgql_cfg.postmaster_tgid == 0)
		return true;
	task = (struct task_struct *) bpf_get_current_task();
	return BPF_CORE_READ(task, real_parent, tgid) == (int) pgql_cfg.postmaster_tgid;
}

/* Starts tracing a query of the current backend, replacing what was in flight. */
static __always_inline void
open_query(__u32 pid, __u8 protocol, const char *text)
{
	struct qstate s = {};

	s.protocol = protocol;
	s.sampled = 1;
	if (pgql_cfg.sample_every > 1)
	{
		__u32		zero = 0;
		__u64	   *seq = bpf_map_lookup_elem(&sample_seq, &zero);

		if (seq)
			s.sampled = (__sync_fetch_and_add(seq, 1) % pgql_cfg.sample_every) == 0;
	}
	if (!s.sampled)
		count(PGQL_C_UNSAMPLED);
	else if (text)
	{
		long		n = bpf_probe_read_user_str(s.text, sizeof(s.text), text);

		if (n > 0)
		{
			s.text_len = (__u16) (n - 1);
			s.flags |= PGQL_EV_TEXT;
		}
	}
	s.start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&inflight, &pid, &s, BPF_ANY) != 0)
		count(PGQL_C_INFLIGHT_FULL);
}

/* Ends the query in flight: emits its event when it was sampled and long enough. */
static __always_inline void
close_query(__u32 pid, struct qstate *s, __u8 flags)
{
	__u64		now = bpf_ktime_get_ns();

	if (s->sampled)
	{
		__u64		latency = now - s->start_ns;

		count(PGQL_C_CLOSED);
		if (latency < pgql_cfg.threshold_ns)
			count(PGQL_C_BELOW_THRESHOLD);
		else
		{
			struct pgql_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

			if (!e)
				count(PGQL_C_RING_FULL);
			else
			{
				__u64		waits = s->runq_ns + s->io_ns + s->sleep_ns;

				e->pid = pid;
				e->protocol = s->protocol;
				e->flags = s->flags | flags;
				e->text_len = s->text_len;
				e->start_ns = s->start_ns;
				e->end_ns = now;
				e->oncpu_ns = latency > waits ? latency - waits : 0;
				e->runq_ns = s->runq_ns;
				e->io_ns = s->io_ns;
				e->sleep_ns = s->sleep_ns;
				e->switches = s->switches;
				e->reserved = 0;
				__builtin_memcpy(e->text, s->text, PGQL_TEXT_LEN);
				bpf_ringbuf_submit(e, 0);
				count(PGQL_C_EMITTED);
			}
		}
	}
	bpf_map_delete_elem(&inflight, &pid);
}

SEC("usdt")
int
BPF_USDT(query_start, const char *query)
{
	__u32		pid = current_pid();

	count(PGQL_C_HIT_QUERY_START);
	if (!traced_process())
	{
		count(PGQL_C_FOREIGN);
		return 0;
	}
	/* exec_simple_query never nests: what is in flight was never closed */
	if (bpf_map_lookup_elem(&inflight, &pid))
		count(PGQL_C_ORPHANED);
	open_query(pid, PGQL_PROTO_SIMPLE, query);
	return 0;
}

SEC("usdt")
int
BPF_USDT(query_done)
{
	__u32		pid = current_pid();
	struct qstate *s;

	count(PGQL_C_HIT_QUERY_DONE);
	s = bpf_map_lookup_elem(&inflight, &pid);
	if (s && s->protocol == PGQL_PROTO_SIMPLE)
		close_query(pid, s, 0);
	return 0;
}

SEC("usdt")
int
BPF_USDT(execute_start)
{
	__u32		pid = current_pid();
	struct qstate *s;
	const char *text = NULL;

	count(PGQL_C_HIT_EXEC_START);
	s = bpf_map_lookup_elem(&inflight, &pid);
	if (s)
	{
		/* a statement of a simple query, or EXECUTE inside an Execute */
		s->depth++;
		count(PGQL_C_NESTED);
		return 0;
	}
	if (!traced_process())
	{
		count(PGQL_C_FOREIGN);
		return 0;
	}
	if (pgql_cfg.dqs_addr != 0)
		bpf_probe_read_user(&text, sizeof(text), (const void *) pgql_cfg.dqs_addr);
	open_query(pid, PGQL_PROTO_EXTENDED, text);
	return 0;
}

SEC("usdt")
int
BPF_USDT(execute_done)
{
	__u32		pid = current_pid();
	struct qstate *s;

	count(PGQL_C_HIT_EXEC_DONE);
	s = bpf_map_lookup_elem(&inflight, &pid);
	if (!s)
		return 0;
	if (s->depth > 0)
		s->depth--;
	else if (s->protocol == PGQL_PROTO_EXTENDED)
		close_query(pid, s, 0);
	return 0;
}

SEC("usdt")
int
BPF_USDT(transaction_abort)
{
	__u32		pid = current_pid();
	struct qstate *s;

	count(PGQL_C_HIT_ABORT);
	s = bpf_map_lookup_elem(&inflight, &pid);
	if (s)
		close_query(pid, s, PGQL_EV_ABORTED);
	return 0;
}

SEC("uprobe")
int
BPF_KPROBE(error_recovery)
{
	__u32		pid = current_pid();
	struct qstate *s;

	count(PGQL_C_HIT_ERROR);
	s = bpf_map_lookup_elem(&inflight, &pid);
	if (s)
		close_query(pid, s, PGQL_EV_ABORTED);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int
BPF_PROG(on_wakeup, struct task_struct *p)
{
	__u32		pid = p->pid;
	struct qstate *s = bpf_map_lookup_elem(&inflight, &pid);

	if (s && s->sampled && s->out_ns != 0 && s->wake_ns == 0)
		s->wake_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_switch")
int
BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
		 unsigned int prev_state)
{
	__u64		now = bpf_ktime_get_ns();
	__u32		pid = prev->pid;
	struct qstate *s = bpf_map_lookup_elem(&inflight, &pid);

	if (s && s->sampled)
	{
		s->out_ns = now;
		s->wake_ns = 0;
		s->switches++;
		if (preempt || (prev_state & (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)) == 0)
			s->out_state = OUT_RUNNABLE;
		else if (prev_state & TASK_UNINTERRUPTIBLE)
			s->out_state = OUT_IO;
		else
			s->out_state = OUT_SLEEP;
	}

	pid = next->pid;
	s = bpf_map_lookup_elem(&inflight, &pid);
	if (s && s->sampled && s->out_ns != 0)
	{
		if (s->out_state == OUT_RUNNABLE)
			s->runq_ns += now - s->out_ns;
		else
		{
			__u64		woken = s->wake_ns != 0 ? s->wake_ns : now;

			if (s->out_state == OUT_IO)
				s->io_ns += woken - s->out_ns;
			else
				s->sleep_ns += woken - s->out_ns;
			s->runq_ns += now - woken;
		}
		s->out_ns = 0;
		s->wake_ns = 0;
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int
BPF_PROG(on_exit, struct task_struct *p)
{
	__u32		pid = p->pid;

	if (bpf_map_delete_elem(&inflight, &pid) == 0)
		count(PGQL_C_EXITED);
	return 0;
}
