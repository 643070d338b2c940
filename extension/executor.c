/*-------------------------------------------------------------------------
 *
 * executor.c
 *		The hooks that turn executions into records.
 *
 * Hot path.  ExecutorStart reads the monotonic clock once, copies the wait
 * sampler's class counters of this process (eight words in the segment),
 * optionally reads CPU time, and, after the standard ExecutorStart, stores
 * the execution in a small backend-local table keyed by its QueryDesc:
 * query id, plan id, nesting level, command, the counters at start.  It
 * allocates the query-level Instrumentation (buffers and WAL, no timer)
 * when nobody did, which is the only allocation.  ExecutorEnd reads the
 * clock again, builds the record on the stack and appends it to this
 * process's ring (ring.c).  Nothing on this path takes a lock or makes a
 * system call other than the vDSO clock reads, unless pg_querylens.cpu
 * asks for getrusage.  pg_querylens.enabled = off costs one branch.
 *
 * Wall-clock start times are the monotonic start plus a per-backend offset
 * between CLOCK_REALTIME and CLOCK_MONOTONIC taken once, so each execution
 * costs one clock read at each end.
 *
 * Open executions.  A portal's ExecutorStart and ExecutorEnd need not
 * nest with other executions (cursors, partially fetched portals), so the
 * table is searched by QueryDesc from its most recent entry.  It holds
 * QL_MAX_OPEN executions; one more is counted in the ring's `dropped` and
 * not recorded.  Nesting follows pg_stat_statements: ExecutorRun,
 * ExecutorFinish and ProcessUtility raise the level around the call and
 * restore it in PG_CATCH when an error unwinds them.  EXECUTE, PREPARE and
 * DEALLOCATE do not raise it, so an executed prepared statement is top
 * level.  The innermost open execution is published in the process slot for
 * readers of the segment, and cleared when the top level is reached.
 *
 * Errors.  ExecutorEnd does not run for an execution ended by an error.
 * The error's SQLSTATE is taken where the error passes: in the PG_CATCH of
 * the Run/Finish/Utility hooks (geterrcode on the error being thrown) and
 * in emit_log_hook for errors that reach the log; both only store an int.
 * The transaction-abort callback then writes an ERROR record for every
 * open execution and clears the table; the subtransaction-abort callback
 * does the same for executions started inside the aborted subtransaction
 * (a PL/pgSQL EXCEPTION block).  Their counters are what is known without
 * touching the aborted QueryDesc: duration, buffer and WAL usage as the
 * difference of the backend's totals since the end of ExecutorStart (as
 * the query-level instrumentation, which counts from ExecutorRun on), CPU
 * and waits.  The same difference stands in for the instrumentation at
 * ExecutorEnd when a module that allocated it left out buffer or WAL usage.
 *
 * Self-timing.  With pg_querylens.self_timing, each hook reads the clock
 * around its own code only (not around the chained or standard executor
 * calls) and accumulates calls and nanoseconds per part, minus the cost of
 * the extra clock reads, which is calibrated once per backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/resource.h>
#include <time.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/bufmgr.h"
#include "tcop/utility.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "compat.h"
#include "querylens.h"

/* Executions one backend can have open at once */
#define QL_MAX_OPEN 32

#ifdef RUSAGE_THREAD
#define QL_RUSAGE_WHO RUSAGE_THREAD
#else
#define QL_RUSAGE_WHO RUSAGE_SELF
#endif

/* One execution between ExecutorStart and ExecutorEnd */
typedef struct QlOpenExec
{
	QueryDesc  *qd;
	uint64		queryid;
	uint64		planid;
	uint64		parent_queryid;
	uint64		exec_seq;
	int64		start_ns;		/* CLOCK_MONOTONIC */
	int64		cpu_user_us;	/* at start, when QL_FLAG_CPU_VALID */
	int64		cpu_sys_us;
	Oid			userid;
	SubTransactionId subid;
	uint32		flags;
	uint32		wait_pass;		/* last_wait_pass at start */
	uint32		waits[QL_WAIT_CLASSES]; /* wait_counts at start */
	uint8		nesting_level;
	uint8		cmd_type;
	/* these two stay last: ExecutorStart copies the fields before them */
	BufferUsage buf_start;		/* backend totals after ExecutorStart */
	WalUsage	wal_start;
} QlOpenExec;

static QlOpenExec ql_open[QL_MAX_OPEN];
static int	ql_nopen = 0;

/* Current nesting level and the query id of the current top-level statement */
static int	ql_nesting = 0;
static uint64 ql_top_queryid = 0;

/* SQLSTATE of the error being thrown or just thrown, 0 when none */
static int	ql_error_sqlstate = 0;
static bool ql_in_log_hook = false;

/* CLOCK_REALTIME - CLOCK_MONOTONIC, nanoseconds, taken once */
static int64 ql_realtime_offset_ns = 0;

/* Executions counted for pg_querylens.cpu = sampled */
static uint32 ql_cpu_counter = 0;

/* Self-timing */
const char *const ql_part_names[QL_NUM_PARTS] = {"executor_start", "executor_end"};
static uint64 ql_part_calls[QL_NUM_PARTS];
static uint64 ql_part_ns[QL_NUM_PARTS];
static int64 ql_clock_cost_ns = -1;

/* Saved hooks */
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

static inline int64
ql_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void
ql_cpu_now(int64 *user_us, int64 *sys_us)
{
	struct rusage ru;

	getrusage(QL_RUSAGE_WHO, &ru);
	*user_us = (int64) ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
	*sys_us = (int64) ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
}

static inline uint32
ql_sat32(int64 v)
{
	if (v <= 0)
		return 0;
	return v > (int64) PG_UINT32_MAX ? PG_UINT32_MAX : (uint32) v;
}

static inline uint32
ql_instr_us(instr_time t)
{
	return ql_sat32((int64) INSTR_TIME_GET_MICROSEC(t));
}

/* Binds the process to its ring on first use */
static inline bool
ql_ready(void)
{
	struct timespec mono;
	struct timespec real;

	if (likely(ql_my_ring != NULL))
		return true;
	if (!ql_producer_attach())
		return false;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	ql_realtime_offset_ns = ((int64) real.tv_sec - (int64) mono.tv_sec) * 1000000000 +
		((int64) real.tv_nsec - (int64) mono.tv_nsec);
	return true;
}

/* Cost of one clock read, the mean of back-to-back pairs */
static void
ql_calibrate_clock(void)
{
	const int	rounds = 1000;
	int64		total = 0;

	for (int i = 0; i < rounds; i++)
	{
		int64		a = ql_monotonic_ns();
		int64		b = ql_monotonic_ns();

		total += b - a;
	}
	ql_clock_cost_ns = total / rounds;
}

/*
 * Adds one call of a hook part.  `ns` is the sum of the measured intervals;
 * `extra_reads` the clock reads in them that exist only for self-timing.
 */
static void
ql_account(int part, int64 ns, int extra_reads)
{
	if (ql_clock_cost_ns < 0)
		ql_calibrate_clock();
	ns -= extra_reads * ql_clock_cost_ns;
	ql_part_calls[part]++;
	ql_part_ns[part] += ns > 0 ? (uint64) ns : 0;
}

/* Self-timing counters of this backend */
void
ql_self_timing_get(int part, uint64 *calls, uint64 *total_ns)
{
	*calls = ql_part_calls[part];
	*total_ns = ql_part_ns[part];
}

/* Zeroes this backend's self-timing counters */
void
ql_self_timing_reset(void)
{
	memset(ql_part_calls, 0, sizeof(ql_part_calls));
	memset(ql_part_ns, 0, sizeof(ql_part_ns));
}

/* Publishes the innermost open execution (or none) for segment readers */
static inline void
ql_publish_current(void)
{
	volatile QlProcSlot *slot = ql_my_proc;

	if (slot == NULL)
		return;
	if (ql_nesting > 0 && ql_nopen > 0)
	{
		QlOpenExec *e = &ql_open[ql_nopen - 1];

		slot->queryid = e->queryid;
		slot->planid = e->planid;
		slot->exec_seq = e->exec_seq;
	}
	else
	{
		slot->queryid = 0;
		slot->planid = 0;
		slot->exec_seq = 0;
	}
}

static inline int
ql_find_open(QueryDesc *qd)
{
	for (int i = ql_nopen - 1; i >= 0; i--)
	{
		if (ql_open[i].qd == qd)
			return i;
	}
	return -1;
}

static inline void
ql_remove_open(int i)
{
	ql_nopen--;
	if (i < ql_nopen)
		memmove(&ql_open[i], &ql_open[i + 1], sizeof(QlOpenExec) * (ql_nopen - i));
}

/* Fields every record takes from its open execution */
static void
ql_record_init(QlRecord *rec, const QlOpenExec *e, uint8 type, int64 end_ns)
{
	memset(rec, 0, sizeof(QlRecord));
	rec->type = type;
	rec->rec_version = QL_REC_VERSION;
	rec->nesting_level = e->nesting_level;
	rec->cmd_type = e->cmd_type;
	rec->flags = e->flags;
	rec->pid = MyProcPid;
	rec->dbid = MyDatabaseId;
	rec->userid = e->userid;
	rec->generation = (uint32) ql_header->generation;
	rec->exec_seq = e->exec_seq;
	rec->queryid = e->queryid;
	rec->planid = e->planid;
	rec->parent_queryid = e->parent_queryid;
	rec->start_us = (e->start_ns + ql_realtime_offset_ns) / 1000;
	rec->duration_ns = end_ns > e->start_ns ? (uint64) (end_ns - e->start_ns) : 0;
}

static void
ql_record_buffers(QlRecord *rec, const BufferUsage *b)
{
	rec->shared_blks_hit = b->shared_blks_hit;
	rec->shared_blks_read = b->shared_blks_read;
	rec->shared_blks_dirtied = b->shared_blks_dirtied;
	rec->shared_blks_written = b->shared_blks_written;
	rec->local_blks_hit = b->local_blks_hit;
	rec->local_blks_read = b->local_blks_read;
	rec->local_blks_dirtied = b->local_blks_dirtied;
	rec->local_blks_written = b->local_blks_written;
	rec->temp_blks_read = b->temp_blks_read;
	rec->temp_blks_written = b->temp_blks_written;
	if (rec->flags & QL_FLAG_IO_TIMING)
	{
		rec->shared_read_us = ql_instr_us(QL_SHARED_READ_TIME(b));
		rec->shared_write_us = ql_instr_us(QL_SHARED_WRITE_TIME(b));
#ifdef QL_HAVE_LOCAL_BLK_TIME
		rec->local_read_us = ql_instr_us(QL_LOCAL_READ_TIME(b));
		rec->local_write_us = ql_instr_us(QL_LOCAL_WRITE_TIME(b));
#endif
#ifdef QL_HAVE_TEMP_BLK_TIME
		rec->temp_read_us = ql_instr_us(b->temp_blk_read_time);
		rec->temp_write_us = ql_instr_us(b->temp_blk_write_time);
#endif
	}
}

static void
ql_record_wal(QlRecord *rec, const WalUsage *w)
{
	rec->wal_bytes = w->wal_bytes;
	rec->wal_records = w->wal_records;
	rec->wal_fpi = w->wal_fpi;
}

static void
ql_record_cpu_and_waits(QlRecord *rec, const QlOpenExec *e)
{
	if (e->flags & QL_FLAG_CPU_VALID)
	{
		int64		user_us;
		int64		sys_us;

		ql_cpu_now(&user_us, &sys_us);
		rec->cpu_user_us = ql_sat32(user_us - e->cpu_user_us);
		rec->cpu_sys_us = ql_sat32(sys_us - e->cpu_sys_us);
	}
	if (e->flags & QL_FLAG_WAITS)
	{
		volatile QlProcSlot *slot = ql_my_proc;
		uint32		pass;

		for (int c = 0; c < QL_WAIT_CLASSES; c++)
		{
			uint32		d = slot->wait_counts[c] - e->waits[c];

			rec->wait_samples[c] = d > PG_UINT16_MAX ? PG_UINT16_MAX : (uint16) d;
		}
		pass = slot->last_wait_pass;
		pg_read_barrier();
		if (pass != e->wait_pass)
			rec->wait_event_last = slot->last_wait_event;
	}
}

/* Difference of two BufferUsage totals */
static void
ql_buffer_diff(BufferUsage *d, const BufferUsage *now, const BufferUsage *start)
{
	memset(d, 0, sizeof(BufferUsage));
	d->shared_blks_hit = now->shared_blks_hit - start->shared_blks_hit;
	d->shared_blks_read = now->shared_blks_read - start->shared_blks_read;
	d->shared_blks_dirtied = now->shared_blks_dirtied - start->shared_blks_dirtied;
	d->shared_blks_written = now->shared_blks_written - start->shared_blks_written;
	d->local_blks_hit = now->local_blks_hit - start->local_blks_hit;
	d->local_blks_read = now->local_blks_read - start->local_blks_read;
	d->local_blks_dirtied = now->local_blks_dirtied - start->local_blks_dirtied;
	d->local_blks_written = now->local_blks_written - start->local_blks_written;
	d->temp_blks_read = now->temp_blks_read - start->temp_blks_read;
	d->temp_blks_written = now->temp_blks_written - start->temp_blks_written;
	INSTR_TIME_ACCUM_DIFF(QL_SHARED_READ_TIME(d), QL_SHARED_READ_TIME(now),
						  QL_SHARED_READ_TIME(start));
	INSTR_TIME_ACCUM_DIFF(QL_SHARED_WRITE_TIME(d), QL_SHARED_WRITE_TIME(now),
						  QL_SHARED_WRITE_TIME(start));
#ifdef QL_HAVE_LOCAL_BLK_TIME
	INSTR_TIME_ACCUM_DIFF(QL_LOCAL_READ_TIME(d), QL_LOCAL_READ_TIME(now),
						  QL_LOCAL_READ_TIME(start));
	INSTR_TIME_ACCUM_DIFF(QL_LOCAL_WRITE_TIME(d), QL_LOCAL_WRITE_TIME(now),
						  QL_LOCAL_WRITE_TIME(start));
#endif
#ifdef QL_HAVE_TEMP_BLK_TIME
	INSTR_TIME_ACCUM_DIFF(d->temp_blk_read_time, now->temp_blk_read_time,
						  start->temp_blk_read_time);
	INSTR_TIME_ACCUM_DIFF(d->temp_blk_write_time, now->temp_blk_write_time,
						  start->temp_blk_write_time);
#endif
}

/* Buffer usage of an execution as the backend's totals since its start */
static void
ql_record_buffers_since(QlRecord *rec, const QlOpenExec *e)
{
	BufferUsage buf;

	ql_buffer_diff(&buf, &pgBufferUsage, &e->buf_start);
	ql_record_buffers(rec, &buf);
}

/* WAL usage of an execution as the backend's totals since its start */
static void
ql_record_wal_since(QlRecord *rec, const QlOpenExec *e)
{
	rec->wal_bytes = pgWalUsage.wal_bytes - e->wal_start.wal_bytes;
	rec->wal_records = pgWalUsage.wal_records - e->wal_start.wal_records;
	rec->wal_fpi = pgWalUsage.wal_fpi - e->wal_start.wal_fpi;
}

/* ERROR record of an execution ended by an abort */
static void
ql_write_error(const QlOpenExec *e, int64 now_ns)
{
	QlRecord	rec;

	ql_record_init(&rec, e, QL_REC_ERROR, now_ns);
	rec.flags |= QL_FLAG_ABORTED;
	rec.sqlstate = (uint32) ql_error_sqlstate;
	ql_record_buffers_since(&rec, e);
	ql_record_wal_since(&rec, e);
	ql_record_cpu_and_waits(&rec, e);
	ql_ring_write(&rec);
}

static void
ql_warn_overwrite(void)
{
	ql_overwrite_warn_pending = false;
	ereport(LOG,
			(errmsg("pg_querylens: process %d overwrote records of its ring that the reader had not read",
					MyProcPid),
			 errdetail("Overwritten records are counted in overwritten_unread; this is reported once per process."),
			 errhint("Read the rings more often or raise pg_querylens.ring_slots."),
			 errhidestmt(true)));
}

/*
 * The plan identity of the last plan EXPLAINed (without ANALYZE) in this
 * backend, for pg_querylens_explain_planid(): a collector that captures
 * plans with EXPLAIN links them to the planid of the records this way.
 * EXPLAIN is off the hot path; executions never pass here.
 */
static uint64 ql_explained_planid = 0;
static bool ql_explained_valid = false;

static void
ql_note_explained_plan(PlannedStmt *pstmt)
{
	bool		truncated;

#ifdef QL_HAVE_CORE_PLANID
	if (pstmt->planId != 0)
		ql_explained_planid = (uint64) pstmt->planId;
	else
#endif
		ql_explained_planid = ql_compute_planid(pstmt, ql_max_plan_nodes, &truncated);
	ql_explained_valid = true;
}

/*
 * The planid of the last plan EXPLAINed in this backend; false when none was.
 */
bool
ql_last_explained_planid(uint64 *planid)
{
	*planid = ql_explained_planid;
	return ql_explained_valid;
}

static void
ql_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	QlOpenExec	pending;
	QlOpenExec *e;
	PlannedStmt *pstmt;
	int64		t_mark = 0;
	int64		t_post = 0;
	bool		timed;

	if (!ql_enabled || (eflags & EXEC_FLAG_EXPLAIN_ONLY) || IsParallelWorker() || !ql_ready())
	{
		if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) && !IsParallelWorker())
			ql_note_explained_plan(queryDesc->plannedstmt);
		if (prev_ExecutorStart)
			prev_ExecutorStart(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
		return;
	}

	/* before the standard ExecutorStart: what must be taken at the start */
	pending.start_ns = ql_monotonic_ns();
	timed = ql_self_timing;
	pending.flags = 0;
	pending.wait_pass = 0;
	pending.cpu_user_us = 0;
	pending.cpu_sys_us = 0;
	if (ql_header->sampler_pid != 0)
	{
		volatile QlProcSlot *slot = ql_my_proc;

		pending.flags |= QL_FLAG_WAITS;
		pending.wait_pass = slot->last_wait_pass;
		for (int c = 0; c < QL_WAIT_CLASSES; c++)
			pending.waits[c] = slot->wait_counts[c];
	}
	if (ql_cpu_mode == QL_CPU_THREAD ||
		(ql_cpu_mode == QL_CPU_SAMPLED && ++ql_cpu_counter % (uint32) ql_cpu_sample_every == 0))
	{
		pending.flags |= QL_FLAG_CPU_VALID;
		ql_cpu_now(&pending.cpu_user_us, &pending.cpu_sys_us);
	}
	if (timed)
		t_mark = ql_monotonic_ns();

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (timed)
		t_post = ql_monotonic_ns();
	if (ql_nopen >= QL_MAX_OPEN)
	{
		ql_my_ring->dropped++;
		goto done;
	}
	e = &ql_open[ql_nopen++];
	memcpy(e, &pending, offsetof(QlOpenExec, buf_start));
	e->buf_start = pgBufferUsage;
	e->wal_start = pgWalUsage;
	pstmt = queryDesc->plannedstmt;
	e->qd = queryDesc;
	e->queryid = (uint64) pstmt->queryId;
	if (e->queryid != 0)
		e->flags |= QL_FLAG_QUERYID;
#ifdef QL_HAVE_CORE_PLANID
	if (pstmt->planId != 0)
	{
		e->planid = (uint64) pstmt->planId;
		e->flags |= QL_FLAG_PLANID_CORE;
	}
	else
#endif
	{
		bool		truncated;

		e->planid = ql_compute_planid(pstmt, ql_max_plan_nodes, &truncated);
		if (truncated)
			e->flags |= QL_FLAG_PLAN_TRUNCATED;
	}
	e->nesting_level = (uint8) Min(ql_nesting, PG_UINT8_MAX);
	if (ql_nesting == 0)
	{
		e->flags |= QL_FLAG_TOPLEVEL;
		ql_top_queryid = e->queryid;
		e->parent_queryid = 0;
	}
	else
		e->parent_queryid = ql_top_queryid;
	if (track_io_timing)
		e->flags |= QL_FLAG_IO_TIMING;
	e->exec_seq = ++ql_my_ring->exec_seq;
	e->userid = GetUserId();
	e->subid = GetCurrentSubTransactionId();
	e->cmd_type = (uint8) queryDesc->operation;

	/*
	 * Query-level instrumentation for buffer and WAL counters.  No timer is
	 * needed for our own record, but a hook installed after ours (it calls
	 * us) may read totaltime expecting one, as pg_stat_statements does.
	 */
	if (queryDesc->totaltime == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
		int			options = INSTRUMENT_BUFFERS | INSTRUMENT_WAL;

		if (ExecutorStart_hook != ql_ExecutorStart)
			options = INSTRUMENT_ALL;
		queryDesc->totaltime = QL_INSTR_ALLOC(1, options);
		MemoryContextSwitchTo(oldcxt);
	}

	{
		volatile QlProcSlot *slot = ql_my_proc;

		slot->queryid = e->queryid;
		slot->planid = e->planid;
		slot->exec_seq = e->exec_seq;
	}

done:
	if (timed)
		ql_account(QL_PART_EXECUTOR_START,
				   (t_mark - pending.start_ns) + (ql_monotonic_ns() - t_post), 1);
}

static void
ql_ExecutorRun(QL_EXECUTOR_RUN_ARGS)
{
	if (!ql_enabled && ql_nopen == 0)
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(QL_EXECUTOR_RUN_CALL);
		else
			standard_ExecutorRun(QL_EXECUTOR_RUN_CALL);
		return;
	}
	ql_nesting++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(QL_EXECUTOR_RUN_CALL);
		else
			standard_ExecutorRun(QL_EXECUTOR_RUN_CALL);
	}
	PG_CATCH();
	{
		ql_nesting--;
		if (ql_nopen > 0)
			ql_error_sqlstate = geterrcode();
		PG_RE_THROW();
	}
	PG_END_TRY();
	ql_nesting--;
}

static void
ql_ExecutorFinish(QueryDesc *queryDesc)
{
	if (!ql_enabled && ql_nopen == 0)
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
		return;
	}
	ql_nesting++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_CATCH();
	{
		ql_nesting--;
		if (ql_nopen > 0)
			ql_error_sqlstate = geterrcode();
		PG_RE_THROW();
	}
	PG_END_TRY();
	ql_nesting--;
}

static void
ql_ExecutorEnd(QueryDesc *queryDesc)
{
	int			i;

	if (ql_nopen > 0 && (i = ql_find_open(queryDesc)) >= 0)
	{
		int64		end_ns = ql_monotonic_ns();
		QlOpenExec *e = &ql_open[i];
		Instrumentation *instr = queryDesc->totaltime;
		QlRecord	rec;

		ql_record_init(&rec, e, QL_REC_QUERY, end_ns);
		if (queryDesc->estate != NULL)
			rec.rows = queryDesc->estate->es_processed;

		/*
		 * The query-level instrumentation, unless a module that allocated it
		 * before us left out buffer or WAL usage: then the backend's totals
		 * since the start.
		 */
		if (instr != NULL && instr->need_bufusage)
			ql_record_buffers(&rec, &instr->bufusage);
		else
			ql_record_buffers_since(&rec, e);
		if (instr != NULL && instr->need_walusage)
			ql_record_wal(&rec, &instr->walusage);
		else
			ql_record_wal_since(&rec, e);
		ql_record_cpu_and_waits(&rec, e);
		ql_ring_write(&rec);
		ql_remove_open(i);
		ql_publish_current();
		if (ql_self_timing)
			ql_account(QL_PART_EXECUTOR_END, ql_monotonic_ns() - end_ns, 0);
	}

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);

	if (unlikely(ql_overwrite_warn_pending))
		ql_warn_overwrite();
}

static void
ql_ProcessUtility(QL_PROCESS_UTILITY_ARGS)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, ExecuteStmt) || IsA(parsetree, PrepareStmt) ||
		IsA(parsetree, DeallocateStmt))
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(QL_PROCESS_UTILITY_CALL);
		else
			standard_ProcessUtility(QL_PROCESS_UTILITY_CALL);
		return;
	}

	if (ql_nesting == 0)
		ql_top_queryid = (uint64) pstmt->queryId;
	ql_nesting++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(QL_PROCESS_UTILITY_CALL);
		else
			standard_ProcessUtility(QL_PROCESS_UTILITY_CALL);
	}
	PG_CATCH();
	{
		ql_nesting--;
		if (ql_nopen > 0)
			ql_error_sqlstate = geterrcode();
		PG_RE_THROW();
	}
	PG_END_TRY();
	ql_nesting--;
}

/*
 * Remembers the SQLSTATE of an error on its way to the log.  Only an int is
 * stored; nothing here can raise or log, and the flag keeps a hook chained
 * after ours from re-entering this part.
 */
static void
ql_emit_log(ErrorData *edata)
{
	if (!ql_in_log_hook)
	{
		ql_in_log_hook = true;
		if (edata->elevel >= ERROR && ql_nopen > 0)
			ql_error_sqlstate = edata->sqlerrcode;
		ql_in_log_hook = false;
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * Ends the open executions started in subtransaction min_subid or a later
 * one (all of them for InvalidSubTransactionId) with ERROR records, or
 * silently when track_errors is off.
 */
static void
ql_abort_open(SubTransactionId min_subid)
{
	int64		now_ns = ql_monotonic_ns();

	for (int i = ql_nopen - 1; i >= 0; i--)
	{
		if (ql_open[i].subid < min_subid)
			continue;
		if (ql_track_errors && ql_my_ring != NULL)
			ql_write_error(&ql_open[i], now_ns);
		ql_remove_open(i);
	}
}

static void
ql_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
			if (ql_nopen > 0)
			{
				ql_abort_open(InvalidSubTransactionId);
				ql_publish_current();
			}
			ql_error_sqlstate = 0;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
			/* every portal has ended by now; anything left is not ours to wait for */
			if (ql_nopen > 0)
			{
				if (ql_my_ring != NULL)
					ql_my_ring->dropped += ql_nopen;
				ql_nopen = 0;
				ql_publish_current();
			}
			ql_error_sqlstate = 0;
			break;
		default:
			break;
	}
}

static void
ql_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	if (ql_nopen > 0)
	{
		ql_abort_open(mySubid);
		ql_publish_current();
	}
	ql_error_sqlstate = 0;
}

/* From _PG_init: install the hooks, saving the ones found */
void
ql_install_executor_hooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = ql_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = ql_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = ql_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = ql_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = ql_ProcessUtility;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = ql_emit_log;
	RegisterXactCallback(ql_xact_callback, NULL);
	RegisterSubXactCallback(ql_subxact_callback, NULL);
}
