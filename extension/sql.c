/*-------------------------------------------------------------------------
 *
 * sql.c
 *		SQL-callable functions of pg_querylens.
 *
 * These decode the segment for clients that cannot map it (remote
 * collectors, psql): the header and counters (pg_querylens_info,
 * pg_querylens_rings), the records through named consumers
 * (pg_querylens_read, pg_querylens_consumers; the reading itself is in
 * consumer.c), wait-event names, and this backend's self-timing totals.
 * Set-returning functions materialize their result in a tuplestore; the
 * rings are copied under the consumers' LWLock first, and decoded into
 * tuples after it is released.  Their SQL definitions are in
 * pg_querylens--1.0.sql.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "querylens.h"

PG_FUNCTION_INFO_V1(pg_querylens_info);
PG_FUNCTION_INFO_V1(pg_querylens_explain_planid);
PG_FUNCTION_INFO_V1(pg_querylens_rings);
PG_FUNCTION_INFO_V1(pg_querylens_read);
PG_FUNCTION_INFO_V1(pg_querylens_consumers);
PG_FUNCTION_INFO_V1(pg_querylens_reset_counters);
PG_FUNCTION_INFO_V1(pg_querylens_wait_event_name);
PG_FUNCTION_INFO_V1(pg_querylens_self_timing);
PG_FUNCTION_INFO_V1(pg_querylens_self_timing_reset);

#define QL_INFO_COLS 21
#define QL_RINGS_COLS 5
#define QL_READ_COLS 44
#define QL_CONSUMERS_COLS 4
#define QL_SELF_TIMING_COLS 4

/* Unix-epoch microseconds as timestamptz */
static Datum
ql_timestamptz(int64 unix_us)
{
	return TimestampTzGetDatum((TimestampTz) (unix_us -
											  (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY));
}

static Datum
ql_numeric_u64(uint64 v)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), UINT64_FORMAT, v);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* Sets up materialize mode; returns the tuplestore and its descriptor. */
static Tuplestorestate *
ql_srf_begin(FunctionCallInfo fcinfo, TupleDesc *tupdesc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcxt;
	TupleDesc	desc;
	Tuplestorestate *store;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialize mode required, but it is not allowed in this context")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	desc = CreateTupleDescCopy(desc);
	store = tuplestore_begin_heap(rsinfo->allowedModes & SFRM_Materialize_Random, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = desc;
	MemoryContextSwitchTo(oldcxt);
	*tupdesc = desc;
	return store;
}

static const char *
ql_state_name(uint32 state)
{
	switch (state)
	{
		case QL_STATE_INITIALIZING:
			return "initializing";
		case QL_STATE_READY:
			return "ready";
		case QL_STATE_CLOSING:
			return "closing";
		default:
			return "unknown";
	}
}

static const char *
ql_cpu_mode_name(int mode)
{
	switch (mode)
	{
		case QL_CPU_THREAD:
			return "thread";
		case QL_CPU_SAMPLED:
			return "sampled";
		default:
			return "off";
	}
}

/* pg_querylens_info(): the header, sums of the ring counters, reader state */
Datum
pg_querylens_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[QL_INFO_COLS];
	bool		nulls[QL_INFO_COLS];
	QlGlobalHeader *h;
	volatile QlReaderPage *reader;
	uint64		written = 0;
	uint64		overwritten = 0;
	uint64		dropped = 0;
	int			i = 0;

	ql_check_available();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	h = ql_header;
	reader = ql_reader;
	for (uint32 r = 0; r < h->nrings; r++)
	{
		written += pg_atomic_read_u64((pg_atomic_uint64 *) &ql_rings[r].head);
		overwritten += ql_rings[r].overwritten_unread;
		dropped += ql_rings[r].dropped;
	}

	memset(nulls, 0, sizeof(nulls));
	values[i++] = CStringGetTextDatum(h->segment_name);
	values[i++] = Int32GetDatum((int32) h->layout_version);
	values[i++] = Int32GetDatum((int32) h->slot_size);
	values[i++] = Int32GetDatum((int32) h->slots_per_ring);
	values[i++] = Int32GetDatum((int32) h->nrings);
	values[i++] = Int64GetDatum((int64) h->segment_size);
	values[i++] = Int64GetDatum((int64) ql_current_generation());
	values[i++] = CStringGetTextDatum(ql_state_name(h->state));
	values[i++] = Int32GetDatum(h->postmaster_pid);
	values[i++] = Int32GetDatum((int32) h->capabilities);
	values[i++] = CStringGetTextDatum(ql_cpu_mode_name(ql_cpu_mode));
	values[i++] = Int32GetDatum((int32) h->sample_period_ms);
	nulls[i] = (h->sampler_pid == 0);
	values[i++] = Int32GetDatum(h->sampler_pid);
	nulls[i] = (h->sampler_heartbeat_us == 0);
	values[i++] = ql_timestamptz((int64) h->sampler_heartbeat_us);
	values[i++] = Int64GetDatum((int64) h->sampler_passes);
	values[i++] = Int64GetDatum((int64) written);
	values[i++] = Int64GetDatum((int64) overwritten);
	values[i++] = Int64GetDatum((int64) dropped);
	nulls[i] = (reader->reader_pid == 0);
	values[i++] = Int32GetDatum(reader->reader_pid);
	nulls[i] = (reader->heartbeat_us == 0);
	values[i++] = ql_timestamptz((int64) reader->heartbeat_us);
	values[i++] = Int64GetDatum((int64) reader->records_lost);
	Assert(i == QL_INFO_COLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* pg_querylens_rings(): every ring that has been written to */
Datum
pg_querylens_rings(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Tuplestorestate *store;

	ql_check_available();
	store = ql_srf_begin(fcinfo, &tupdesc);
	for (uint32 r = 0; r < ql_header->nrings; r++)
	{
		QlRingHeader *ring = &ql_rings[r];
		uint64		head = pg_atomic_read_u64((pg_atomic_uint64 *) &ring->head);
		Datum		values[QL_RINGS_COLS];
		bool		nulls[QL_RINGS_COLS] = {0};

		if (head == 0)
			continue;
		values[0] = Int32GetDatum((int32) r);
		values[1] = Int32GetDatum(ring->pid);
		values[2] = Int64GetDatum((int64) head);
		values[3] = Int64GetDatum((int64) ring->overwritten_unread);
		values[4] = Int64GetDatum((int64) ring->dropped);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

/* One record as a row of pg_querylens_read */
static void
ql_record_row(const QlRecord *rec, uint32 ring, Datum *values, bool *nulls)
{
	Datum		waits[QL_WAIT_CLASSES];
	bool		io = (rec->flags & QL_FLAG_IO_TIMING) != 0;
	bool		cpu = (rec->flags & QL_FLAG_CPU_VALID) != 0;
	const char *event_type = NULL;
	const char *event = NULL;
	int			i = 0;

	memset(nulls, 0, sizeof(bool) * QL_READ_COLS);
	for (int c = 0; c < QL_WAIT_CLASSES; c++)
		waits[c] = Int32GetDatum((int32) rec->wait_samples[c]);
	if (rec->wait_event_last != 0)
	{
		event_type = pgstat_get_wait_event_type(rec->wait_event_last);
		event = pgstat_get_wait_event(rec->wait_event_last);
	}

	values[i++] = Int32GetDatum((int32) ring);
	values[i++] = Int64GetDatum((int64) ((rec->seq - 2) / 2));
	values[i++] = CStringGetTextDatum(rec->type == QL_REC_ERROR ? "error" : "query");
	values[i++] = Int32GetDatum(rec->pid);
	values[i++] = ObjectIdGetDatum((Oid) rec->dbid);
	values[i++] = ObjectIdGetDatum((Oid) rec->userid);
	values[i++] = BoolGetDatum((rec->flags & QL_FLAG_TOPLEVEL) != 0);
	values[i++] = Int32GetDatum((int32) rec->nesting_level);
	values[i++] = Int32GetDatum((int32) rec->cmd_type);
	values[i++] = Int32GetDatum((int32) rec->flags);
	values[i++] = Int64GetDatum((int64) rec->exec_seq);
	values[i++] = Int64GetDatum((int64) rec->queryid);
	values[i++] = Int64GetDatum((int64) rec->planid);
	values[i++] = Int64GetDatum((int64) rec->parent_queryid);
	values[i++] = ql_timestamptz(rec->start_us);
	values[i++] = Int64GetDatum((int64) rec->duration_ns);
	values[i++] = Int64GetDatum((int64) rec->rows);
	values[i++] = Int64GetDatum((int64) rec->shared_blks_hit);
	values[i++] = Int64GetDatum((int64) rec->shared_blks_read);
	values[i++] = Int64GetDatum((int64) rec->shared_blks_dirtied);
	values[i++] = Int64GetDatum((int64) rec->shared_blks_written);
	values[i++] = Int64GetDatum((int64) rec->local_blks_hit);
	values[i++] = Int64GetDatum((int64) rec->local_blks_read);
	values[i++] = Int64GetDatum((int64) rec->local_blks_dirtied);
	values[i++] = Int64GetDatum((int64) rec->local_blks_written);
	values[i++] = Int64GetDatum((int64) rec->temp_blks_read);
	values[i++] = Int64GetDatum((int64) rec->temp_blks_written);
	values[i++] = ql_numeric_u64(rec->wal_bytes);
	values[i++] = Int64GetDatum((int64) rec->wal_records);
	values[i++] = Int64GetDatum((int64) rec->wal_fpi);
	nulls[i] = !io;
	values[i++] = Int64GetDatum((int64) rec->shared_read_us);
	nulls[i] = !io;
	values[i++] = Int64GetDatum((int64) rec->shared_write_us);
	nulls[i] = !io;
	values[i++] = Int64GetDatum((int64) rec->local_read_us);
	nulls[i] = !io;
	values[i++] = Int64GetDatum((int64) rec->local_write_us);
	nulls[i] = !io;
	values[i++] = Int64GetDatum((int64) rec->temp_read_us);
	nulls[i] = !io;
	values[i++] = Int64GetDatum((int64) rec->temp_write_us);
	nulls[i] = !cpu;
	values[i++] = Int64GetDatum((int64) rec->cpu_user_us);
	nulls[i] = !cpu;
	values[i++] = Int64GetDatum((int64) rec->cpu_sys_us);
	values[i++] = PointerGetDatum(construct_array(waits, QL_WAIT_CLASSES, INT4OID,
												  sizeof(int32), true, TYPALIGN_INT));
	values[i++] = Int32GetDatum((int32) rec->wait_event_last);
	nulls[i] = (event_type == NULL);
	values[i++] = event_type ? CStringGetTextDatum(event_type) : (Datum) 0;
	nulls[i] = (event == NULL);
	values[i++] = event ? CStringGetTextDatum(event) : (Datum) 0;
	if (rec->type == QL_REC_ERROR && rec->sqlstate != 0)
		values[i] = CStringGetTextDatum(unpack_sql_state((int) rec->sqlstate));
	else
		nulls[i] = true;
	i++;
	values[i++] = Int64GetDatum((int64) rec->generation);
	Assert(i == QL_READ_COLS);
}

/*
 * Most records one pg_querylens_read() call returns: the batch is copied out
 * of the rings into memory first (256 bytes each), so this bounds what one
 * call can allocate (25 MB).
 */
#define QL_READ_MAX_ROWS	100000

/* pg_querylens_read(max_rows, consumer, consume): records in ring order */
Datum
pg_querylens_read(PG_FUNCTION_ARGS)
{
	int32		max_rows = PG_GETARG_INT32(0);
	char	   *consumer = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		consume = PG_GETARG_BOOL(2);
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	QlBatch		batch;

	if (max_rows < 0 || max_rows > QL_READ_MAX_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must be between 0 and %d, got %d",
						QL_READ_MAX_ROWS, max_rows)));
	if (consumer[0] == '\0' || strlen(consumer) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("consumer name must have 1 to %d bytes", NAMEDATALEN - 1)));
	ql_check_available();
	store = ql_srf_begin(fcinfo, &tupdesc);
	ql_consumer_read(consumer, max_rows, consume, &batch);
	for (int n = 0; n < batch.count; n++)
	{
		Datum		values[QL_READ_COLS];
		bool		nulls[QL_READ_COLS];

		ql_record_row(&batch.records[n], batch.rings[n], values, nulls);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

/* pg_querylens_consumers(): name and counters of every consumer */
Datum
pg_querylens_consumers(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	QlConsumerInfo list[QL_MAX_CONSUMERS];
	int			n;

	ql_check_available();
	store = ql_srf_begin(fcinfo, &tupdesc);
	n = ql_consumer_list(list);
	for (int k = 0; k < n; k++)
	{
		Datum		values[QL_CONSUMERS_COLS];
		bool		nulls[QL_CONSUMERS_COLS] = {0};

		values[0] = CStringGetTextDatum(list[k].name);
		values[1] = Int64GetDatum((int64) list[k].records_read);
		values[2] = Int64GetDatum((int64) list[k].records_lost);
		values[3] = Int64GetDatum((int64) list[k].generation);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

/* pg_querylens_reset_counters() */
Datum
pg_querylens_reset_counters(PG_FUNCTION_ARGS)
{
	ql_reset_counters();
	PG_RETURN_VOID();
}

/* pg_querylens_wait_event_name(info): type and name of a wait_event_info */
Datum
pg_querylens_wait_event_name(PG_FUNCTION_ARGS)
{
	uint32		info = (uint32) PG_GETARG_INT32(0);
	TupleDesc	tupdesc;
	Datum		values[2] = {0};
	bool		nulls[2] = {true, true};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (info != 0)
	{
		const char *type = pgstat_get_wait_event_type(info);
		const char *name = pgstat_get_wait_event(info);

		if (type != NULL)
		{
			values[0] = CStringGetTextDatum(type);
			nulls[0] = false;
		}
		if (name != NULL)
		{
			values[1] = CStringGetTextDatum(name);
			nulls[1] = false;
		}
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* pg_querylens_self_timing(): this backend's time in the hooks */
Datum
pg_querylens_self_timing(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Tuplestorestate *store = ql_srf_begin(fcinfo, &tupdesc);

	for (int part = 0; part < QL_NUM_PARTS; part++)
	{
		Datum		values[QL_SELF_TIMING_COLS];
		bool		nulls[QL_SELF_TIMING_COLS] = {0};
		uint64		calls;
		uint64		total_ns;

		ql_self_timing_get(part, &calls, &total_ns);
		values[0] = CStringGetTextDatum(ql_part_names[part]);
		values[1] = Int64GetDatum((int64) calls);
		values[2] = Int64GetDatum((int64) total_ns);
		nulls[3] = (calls == 0);
		values[3] = Float8GetDatum(calls > 0 ? (double) total_ns / (double) calls : 0.0);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

/* pg_querylens_self_timing_reset() */
Datum
pg_querylens_self_timing_reset(PG_FUNCTION_ARGS)
{
	ql_self_timing_reset();
	PG_RETURN_VOID();
}

/*
 * pg_querylens_explain_planid(): the planid of the last plan EXPLAINed in this
 * session, computed as for the records; NULL before the first EXPLAIN.
 */
Datum
pg_querylens_explain_planid(PG_FUNCTION_ARGS)
{
	uint64		planid;

	if (!ql_last_explained_planid(&planid))
		PG_RETURN_NULL();
	PG_RETURN_INT64((int64) planid);
}
