/*-------------------------------------------------------------------------
 *
 * sampler.c
 *		The wait-sampling background worker.
 *
 * Core keeps no per-query wait accounting, so waits are sampled.  Every
 * pg_querylens.sample_period milliseconds the worker looks at every PGPROC
 * with a non-zero pid, reads its wait_event_info (an aligned 4-byte load,
 * without ProcArrayLock: a torn or stale view costs one sample at most) and
 * increments one of eight class counters in the process's QlProcSlot: CPU
 * when the process reports no wait event, else LWLock, Lock, BufferPin, IO,
 * IPC, Timeout or Other by the event's class byte.  The worker is the only
 * writer of those counters, so plain increments suffice; a backend copies
 * them at ExecutorStart and stores the differences in its record at
 * ExecutorEnd.  The last non-zero event and the pass that saw it are kept
 * as well, for the record's wait_event_last.
 *
 * After each pass the worker stores the pass count and a heartbeat in the
 * segment header.  It publishes its pid there while it samples and clears
 * it when it exits or when the period is set to 0, so readers can tell
 * whether wait data is being collected.
 *
 * The worker needs a background-worker slot (max_worker_processes).  It is
 * registered from _PG_init only when pg_querylens.sample_period > 0; when
 * registration fails, the reason is logged once and records are written
 * without QL_FLAG_WAITS.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"

#include "compat.h"
#include "querylens.h"

bool		ql_sampler_registered = false;

/* Restart delay after the worker dies, seconds */
#define QL_SAMPLER_RESTART_SECONDS 5
/* How often a paused worker (period 0) checks its settings, milliseconds */
#define QL_SAMPLER_IDLE_MS 1000

/* Monotonic clock, microseconds: the pass schedule */
static int64
ql_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Class of a wait_event_info value, one of QL_WAIT_* */
int
ql_wait_class(uint32 wait_event_info)
{
	if (wait_event_info == 0)
		return QL_WAIT_CPU;
	switch (wait_event_info & 0xFF000000U)
	{
		case PG_WAIT_LWLOCK:
			return QL_WAIT_LWLOCK;
		case PG_WAIT_LOCK:
			return QL_WAIT_LOCK;
		case QL_PG_WAIT_BUFFERPIN:
			return QL_WAIT_BUFFERPIN;
		case PG_WAIT_IO:
			return QL_WAIT_IO;
		case PG_WAIT_IPC:
			return QL_WAIT_IPC;
		case PG_WAIT_TIMEOUT:
			return QL_WAIT_TIMEOUT;
		default:
			return QL_WAIT_OTHER;
	}
}

/* From _PG_init in the postmaster */
void
ql_register_sampler(void)
{
	BackgroundWorker worker;
	int			before;

	if (ql_sample_period <= 0 || !IsPostmasterEnvironment)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = QL_SAMPLER_RESTART_SECONDS;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_querylens");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pg_querylens_sampler_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_querylens sampler");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_querylens sampler");

	before = ql_registered_bgworkers();
	RegisterBackgroundWorker(&worker);
	ql_sampler_registered = ql_registered_bgworkers() > before;
	if (!ql_sampler_registered)
		ereport(LOG,
				(errmsg("pg_querylens: the wait sampler could not be registered; per-query wait samples are not collected"),
				 errdetail("All %d background worker slots (max_worker_processes) are taken.",
						   max_worker_processes),
				 errhint("Increase max_worker_processes by one, or set pg_querylens.sample_period = 0.")));
}

static void
ql_sampler_exit(int code, Datum arg)
{
	if (ql_header != NULL && ql_header->sampler_pid == MyProcPid)
		ql_header->sampler_pid = 0;
}

/* One pass over every process */
static void
ql_sample_pass(void)
{
	uint32		nprocs = Min(ProcGlobal->allProcCount, ql_header->nrings);
	uint64		pass = ql_header->sampler_passes + 1;

	for (uint32 i = 0; i < nprocs; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		volatile QlProcSlot *slot = &ql_procs[i];
		uint32		info;

		if (proc == MyProc || *((volatile int *) &proc->pid) == 0)
			continue;
		info = *((volatile uint32 *) &proc->wait_event_info);
		slot->wait_counts[ql_wait_class(info)]++;
		if (info != 0)
		{
			slot->last_wait_event = info;
			pg_write_barrier();
			slot->last_wait_pass = (uint32) pass;
		}
	}
	pg_write_barrier();
	pg_atomic_write_u64((pg_atomic_uint64 *) &ql_header->sampler_passes, pass);
	pg_atomic_write_u64((pg_atomic_uint64 *) &ql_header->sampler_heartbeat_us,
						(uint64) ql_realtime_us());
}

/* Entry point of the worker */
void
pg_querylens_sampler_main(Datum arg)
{
	int64		next_us;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (ql_header == NULL)
	{
		ereport(LOG,
				(errmsg("pg_querylens sampler: no shared memory segment, exiting")));
		proc_exit(0);
	}
	on_shmem_exit(ql_sampler_exit, (Datum) 0);
	next_us = ql_monotonic_us();

	for (;;)
	{
		long		timeout_ms;
		int64		now_us;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			ql_header->sample_period_ms = (uint32) Max(ql_sample_period, 0);
		}

		if (ql_sample_period > 0)
		{
			if (ql_header->sampler_pid != MyProcPid)
				ql_header->sampler_pid = MyProcPid;
			ql_sample_pass();
			/* keep the period steady: the next pass is due a period after this one was */
			now_us = ql_monotonic_us();
			next_us += (int64) ql_sample_period * 1000;
			if (next_us <= now_us || next_us > now_us + (int64) ql_sample_period * 1000)
				next_us = now_us + (int64) ql_sample_period * 1000;
			timeout_ms = (long) ((next_us - now_us + 999) / 1000);
		}
		else
		{
			ql_header->sampler_pid = 0;
			next_us = ql_monotonic_us();
			timeout_ms = QL_SAMPLER_IDLE_MS;
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
