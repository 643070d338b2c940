/*-------------------------------------------------------------------------
 *
 * querylens.h
 *		Declarations shared by the source files of pg_querylens.
 *
 * The extension is split by purpose:
 *
 *	 pg_querylens.c  _PG_init: settings, hook installation, shared memory
 *	 executor.c		 executor and utility hooks, the backend's table of open
 *					 executions, error records, self-timing
 *	 ring.c			 the external segment (create, reset, unlink), the
 *					 discovery file and the producer side of the rings
 *	 planid.c		 the plan-shape hash
 *	 sampler.c		 the wait-sampling background worker
 *	 consumer.c		 SQL consumers: cursors in PostgreSQL's shared memory
 *					 and the seqlock-validated ring reader
 *	 sql.c			 the SQL-callable functions
 *
 * The binary layout of the segment is in pg_querylens_layout.h; version
 * differences of the server API are in compat.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_QUERYLENS_H
#define PG_QUERYLENS_H

#include "postgres.h"

#include "nodes/plannodes.h"

#include "pg_querylens_layout.h"

/* pg_querylens.cpu */
typedef enum QlCpuMode
{
	QL_CPU_OFF,
	QL_CPU_THREAD,
	QL_CPU_SAMPLED
} QlCpuMode;

/* Settings (pg_querylens.c) */
extern bool ql_enabled;
extern int	ql_ring_slots;
extern int	ql_segment_mode;
extern int	ql_cpu_mode;
extern int	ql_cpu_sample_every;
extern int	ql_sample_period;
extern bool ql_track_errors;
extern int	ql_max_plan_nodes;
extern bool ql_self_timing;

/* Name of the shared-memory area and LWLock tranche of the SQL consumers */
#define QL_SHMEM_NAME "pg_querylens"

/* The segment, mapped by the postmaster and inherited by its children */
extern QlGlobalHeader *ql_header;
extern QlReaderPage *ql_reader;
extern QlRingHeader *ql_rings;
extern QlProcSlot *ql_procs;
extern char *ql_slots;

/* This process's ring, valid after ql_producer_attach() returned true */
extern QlRingHeader *ql_my_ring;
extern QlProcSlot *ql_my_proc;
extern bool ql_overwrite_warn_pending;

/* ring.c */
extern void ql_segment_startup(void);
extern bool ql_producer_attach(void);
extern void ql_ring_write(QlRecord *rec);
extern uint32 ql_startup_capabilities(void);
extern int64 ql_realtime_us(void);

/* Address of record n's slot in ring r */
static inline QlRecord *
ql_slot_at(uint32 ring, uint64 n)
{
	uint64		spr = ql_header->slots_per_ring;

	return (QlRecord *) (ql_slots +
						 ((uint64) ring * spr + (n & (spr - 1))) * QL_SLOT_SIZE);
}

/* planid.c */
extern uint64 ql_compute_planid(PlannedStmt *stmt, int max_nodes, bool *truncated);

/* executor.c */
extern bool ql_last_explained_planid(uint64 *planid);

/* sampler.c */
extern bool ql_sampler_registered;
extern void ql_register_sampler(void);
extern int	ql_wait_class(uint32 wait_event_info);
extern PGDLLEXPORT void pg_querylens_sampler_main(Datum arg);

/* consumer.c */
#define QL_MAX_CONSUMERS 16

/* Records returned by one ql_consumer_read call */
typedef struct QlBatch
{
	QlRecord   *records;
	uint32	   *rings;			/* ring of each record */
	int			count;
	uint64		lost;			/* records lapped before this read */
	uint64		generation;
} QlBatch;

/* One consumer, as listed by ql_consumer_list */
typedef struct QlConsumerInfo
{
	char		name[NAMEDATALEN];
	uint64		records_read;
	uint64		records_lost;
	uint64		generation;
} QlConsumerInfo;

extern void ql_consumers_request(void);
extern void ql_consumers_startup(void);
extern uint64 ql_current_generation(void);
extern void ql_consumer_read(const char *name, int max_rows, bool consume, QlBatch *batch);
extern int	ql_consumer_list(QlConsumerInfo *out);
extern void ql_reset_counters(void);
extern void ql_check_available(void);

/* executor.c */
extern void ql_install_executor_hooks(void);

/* Parts of the hooks measured by pg_querylens.self_timing */
typedef enum QlTimedPart
{
	QL_PART_EXECUTOR_START,
	QL_PART_EXECUTOR_END,
	QL_NUM_PARTS
} QlTimedPart;

extern const char *const ql_part_names[QL_NUM_PARTS];
extern void ql_self_timing_get(int part, uint64 *calls, uint64 *total_ns);
extern void ql_self_timing_reset(void);

#endif							/* PG_QUERYLENS_H */
