/*-------------------------------------------------------------------------
 *
 * pg_querylens.c
 *		Entry point of pg_querylens: settings, hooks, shared memory.
 *
 * pg_querylens writes one fixed-size record per executor run (ExecutorStart
 * to ExecutorEnd, or to the abort that ended it) into a ring that belongs
 * to the executing process, in a POSIX shared-memory object that processes
 * outside PostgreSQL can map.  PostgreSQL aggregates nothing; readers do.
 *
 * It must be loaded through shared_preload_libraries: the segment is
 * created by the postmaster and inherited by every child, and the SQL
 * consumers' cursors live in PostgreSQL's shared memory.  _PG_init defines
 * the pg_querylens.* settings, asks core to compute query ids, requests
 * the consumers' shared memory and LWLock, registers the wait-sampling
 * worker and installs the executor hooks.  Every hook saves the one it
 * replaces and calls it, so other extensions keep working in any order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/guc.h"

#include "compat.h"
#include "querylens.h"

QL_MODULE_MAGIC;

bool		ql_enabled = true;
int			ql_ring_slots = 1024;
int			ql_segment_mode = 0600;
int			ql_cpu_mode = QL_CPU_OFF;
int			ql_cpu_sample_every = 16;
int			ql_sample_period = 10;
bool		ql_track_errors = true;
int			ql_max_plan_nodes = 1000;
bool		ql_self_timing = false;

static const struct config_enum_entry ql_cpu_options[] = {
	{"off", QL_CPU_OFF, false},
	{"thread", QL_CPU_THREAD, false},
	{"sampled", QL_CPU_SAMPLED, false},
	{NULL, 0, false}
};

#ifdef QL_HAVE_SHMEM_REQUEST_HOOK
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

static bool
ql_check_ring_slots(int *newval, void **extra, GucSource source)
{
	if ((*newval & (*newval - 1)) != 0)
	{
		GUC_check_errdetail("pg_querylens.ring_slots must be a power of two between 16 and 65536.");
		return false;
	}
	return true;
}

static const char *
ql_show_segment_mode(void)
{
	static char buf[12];

	snprintf(buf, sizeof(buf), "%04o", ql_segment_mode);
	return buf;
}

static void
ql_define_settings(void)
{
	DefineCustomBoolVariable("pg_querylens.enabled",
							 "Records executions in the pg_querylens rings.",
							 NULL,
							 &ql_enabled,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pg_querylens.ring_slots",
							"Records each process's ring holds (a power of two).",
							NULL,
							&ql_ring_slots,
							1024,
							16, 65536,
							PGC_POSTMASTER,
							0,
							ql_check_ring_slots, NULL, NULL);
	DefineCustomIntVariable("pg_querylens.segment_mode",
							"File mode of the shared-memory segment.",
							"The value is an octal number, as for the chmod and umask commands.",
							&ql_segment_mode,
							0600,
							0000, 0777,
							PGC_POSTMASTER,
							0,
							NULL, NULL, ql_show_segment_mode);
	DefineCustomEnumVariable("pg_querylens.cpu",
							 "Measures CPU time per execution: off, thread, or sampled.",
							 "thread calls getrusage(RUSAGE_THREAD) at the start and end of every "
							 "execution; sampled does so for every cpu_sample_every-th execution.",
							 &ql_cpu_mode,
							 QL_CPU_OFF,
							 ql_cpu_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pg_querylens.cpu_sample_every",
							"With pg_querylens.cpu = sampled, measures CPU time of every Nth execution.",
							NULL,
							&ql_cpu_sample_every,
							16,
							1, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_querylens.sample_period",
							"Period of the wait sampler; 0 does not start it.",
							"Whether the sampler is registered is decided at server start.",
							&ql_sample_period,
							10,
							0, 60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_querylens.track_errors",
							 "Writes a record for executions ended by an error.",
							 NULL,
							 &ql_track_errors,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pg_querylens.max_plan_nodes",
							"Plan nodes hashed into a plan id at most.",
							NULL,
							&ql_max_plan_nodes,
							1000,
							1, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_querylens.self_timing",
							 "Measures the time spent in pg_querylens's executor hooks.",
							 "The totals are per backend, shown by pg_querylens_self_timing().",
							 &ql_self_timing,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	QL_RESERVE_GUC_PREFIX("pg_querylens");
}

#ifdef QL_HAVE_SHMEM_REQUEST_HOOK
static void
ql_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	ql_consumers_request();
}
#endif

static void
ql_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	ql_consumers_startup();
	ql_segment_startup();
}

/* Module load: only from shared_preload_libraries */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_querylens must be loaded via shared_preload_libraries"),
				 errhint("Add pg_querylens to shared_preload_libraries in postgresql.conf and restart the server.")));

	ql_define_settings();
#ifdef QL_HAVE_CORE_QUERYID
	EnableQueryId();
#endif

#ifdef QL_HAVE_SHMEM_REQUEST_HOOK
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ql_shmem_request;
#else
	ql_consumers_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ql_shmem_startup;

	ql_register_sampler();
	ql_install_executor_hooks();
}
