/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every difference between the PostgreSQL 13-18 server APIs that
 *		pg_querylens depends on, in one place.
 *
 * The rest of the extension is written against these macros and inline
 * functions only; no other file tests PG_VERSION_NUM.  Each block names the
 * release that introduced the change:
 *
 *	 13  no core query jumbling, InstrAlloc(n, options), ProcessUtility
 *		 without readOnlyTree, wait-event API in pgstat.h
 *	 14  EnableQueryId(), InstrAlloc(n, options, async_mode), readOnlyTree,
 *		 utils/wait_event.h, TidRangeScan and Memoize plan nodes
 *	 15  shmem_request_hook (RequestAddinShmemSpace only from there),
 *		 MarkGUCPrefixReserved(), temp block I/O times
 *	 16  the jumbling header moves to nodes/queryjumble.h
 *	 17  MyProcNumber, shared/local block I/O times split, the BufferPin
 *		 wait class macro is spelled PG_WAIT_BUFFERPIN
 *	 18  ExecutorRun loses execute_once, PlannedStmt->planId,
 *		 PG_MODULE_MAGIC_EXT, the registered background worker list
 *		 becomes a dlist
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_QUERYLENS_COMPAT_H
#define PG_QUERYLENS_COMPAT_H

#include "postgres.h"

#include "access/twophase.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "postmaster/autovacuum.h"
#include "postmaster/bgworker_internals.h"
#include "replication/walsender.h"
#include "storage/proc.h"
#include "utils/guc.h"

#if PG_VERSION_NUM < 130000
#error "pg_querylens supports PostgreSQL 13 and later"
#endif

/*
 * The rings are written with pg_atomic_write_u64 on fields of the shared
 * layout, which must then be plain 8-byte words.
 */
#ifdef PG_HAVE_ATOMIC_U64_SIMULATION
#error "pg_querylens needs native 64-bit atomics"
#endif

/* Module magic */
#if PG_VERSION_NUM >= 180000
#define QL_MODULE_MAGIC PG_MODULE_MAGIC_EXT(.name = "pg_querylens", .version = "1.0")
#else
#define QL_MODULE_MAGIC PG_MODULE_MAGIC
#endif

/* Shared-memory requests: shmem_request_hook from 15, _PG_init before */
#if PG_VERSION_NUM >= 150000
#define QL_HAVE_SHMEM_REQUEST_HOOK 1
#endif

/* Core query jumbling */
#if PG_VERSION_NUM >= 160000
#include "nodes/queryjumble.h"
#define QL_HAVE_CORE_QUERYID 1
#elif PG_VERSION_NUM >= 140000
#include "utils/queryjumble.h"
#define QL_HAVE_CORE_QUERYID 1
#endif

/* Wait-event names and classes */
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#else
#include "pgstat.h"
#endif
#if PG_VERSION_NUM >= 170000
#define QL_PG_WAIT_BUFFERPIN PG_WAIT_BUFFERPIN
#else
#define QL_PG_WAIT_BUFFERPIN PG_WAIT_BUFFER_PIN
#endif

/* ExecutorRun: execute_once removed in 18 */
#if PG_VERSION_NUM >= 180000
#define QL_EXECUTOR_RUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define QL_EXECUTOR_RUN_CALL queryDesc, direction, count
#else
#define QL_EXECUTOR_RUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define QL_EXECUTOR_RUN_CALL queryDesc, direction, count, execute_once
#endif

/* ProcessUtility: readOnlyTree from 14 */
#if PG_VERSION_NUM >= 140000
#define QL_PROCESS_UTILITY_ARGS \
	PlannedStmt *pstmt, const char *queryString, bool readOnlyTree, \
	ProcessUtilityContext context, ParamListInfo params, \
	QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc
#define QL_PROCESS_UTILITY_CALL \
	pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc
#else
#define QL_PROCESS_UTILITY_ARGS \
	PlannedStmt *pstmt, const char *queryString, \
	ProcessUtilityContext context, ParamListInfo params, \
	QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc
#define QL_PROCESS_UTILITY_CALL \
	pstmt, queryString, context, params, queryEnv, dest, qc
#endif

/* InstrAlloc: async_mode from 14 */
#if PG_VERSION_NUM >= 140000
#define QL_INSTR_ALLOC(n, options) InstrAlloc((n), (options), false)
#else
#define QL_INSTR_ALLOC(n, options) InstrAlloc((n), (options))
#endif

/*
 * BufferUsage I/O times.  Up to 16 one pair covers shared and local blocks;
 * 17 splits them.  Temp block times exist from 15.
 */
#if PG_VERSION_NUM >= 170000
#define QL_SHARED_READ_TIME(b)	((b)->shared_blk_read_time)
#define QL_SHARED_WRITE_TIME(b) ((b)->shared_blk_write_time)
#define QL_HAVE_LOCAL_BLK_TIME 1
#define QL_LOCAL_READ_TIME(b)	((b)->local_blk_read_time)
#define QL_LOCAL_WRITE_TIME(b)	((b)->local_blk_write_time)
#else
#define QL_SHARED_READ_TIME(b)	((b)->blk_read_time)
#define QL_SHARED_WRITE_TIME(b) ((b)->blk_write_time)
#endif
#if PG_VERSION_NUM >= 150000
#define QL_HAVE_TEMP_BLK_TIME 1
#endif

/* This process's proc number (ring index), -1 without a PGPROC */
#if PG_VERSION_NUM >= 170000
#define QL_MY_PROC_NUMBER() ((int) MyProcNumber)
#else
#define QL_MY_PROC_NUMBER() (MyProc != NULL ? MyProc->pgprocno : -1)
#endif

/* Plan id slot in PlannedStmt from 18 */
#if PG_VERSION_NUM >= 180000
#define QL_HAVE_CORE_PLANID 1
#endif

/* TidRangeScan exists from 14 */
#if PG_VERSION_NUM >= 140000
#define QL_HAVE_TID_RANGE_SCAN 1
#endif

/* Reserving the GUC prefix */
#if PG_VERSION_NUM >= 150000
#define QL_RESERVE_GUC_PREFIX(prefix) MarkGUCPrefixReserved(prefix)
#else
#define QL_RESERVE_GUC_PREFIX(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/*
 * Number of PGPROCs, which is the number of rings.  From 15 MaxBackends is
 * valid in shmem_request_hook; before, _PG_init runs before it is computed,
 * so the same sum is formed from the settings it is made of.
 */
static inline int
ql_total_procs(void)
{
#if PG_VERSION_NUM >= 150000
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
#else
	return MaxConnections + autovacuum_max_workers + 1 +
		max_worker_processes + max_wal_senders +
		NUM_AUXILIARY_PROCS + max_prepared_xacts;
#endif
}

/*
 * Number of background workers registered so far; RegisterBackgroundWorker
 * reports no failure to its caller, so registration is checked by counting.
 */
static inline int
ql_registered_bgworkers(void)
{
	int			n = 0;
#if PG_VERSION_NUM >= 180000
	dlist_iter	iter;

	dlist_foreach(iter, &BackgroundWorkerList)
		n++;
#else
	slist_iter	iter;

	slist_foreach(iter, &BackgroundWorkerList)
		n++;
#endif
	return n;
}

#endif							/* PG_QUERYLENS_COMPAT_H */
