/* pg_querylens--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_querylens" to load this file. \quit

CREATE FUNCTION pg_querylens_info(
    OUT segment_name text,
    OUT layout_version int,
    OUT slot_size int,
    OUT slots_per_ring int,
    OUT nrings int,
    OUT segment_size bigint,
    OUT generation bigint,
    OUT state text,
    OUT postmaster_pid int,
    OUT capabilities int,
    OUT cpu_mode text,
    OUT sample_period_ms int,
    OUT sampler_pid int,
    OUT sampler_heartbeat timestamptz,
    OUT sampler_passes bigint,
    OUT records_written bigint,
    OUT overwritten_unread bigint,
    OUT dropped bigint,
    OUT reader_pid int,
    OUT reader_heartbeat timestamptz,
    OUT reader_records_lost bigint
)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_querylens_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION pg_querylens_info() IS
'pg_querylens segment header, ring counter sums, wait sampler and external reader state';

CREATE FUNCTION pg_querylens_rings(
    OUT ring int,
    OUT pid int,
    OUT head bigint,
    OUT overwritten_unread bigint,
    OUT dropped bigint
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_querylens_rings'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION pg_querylens_rings() IS
'pg_querylens rings that have been written to: producer pid, head and counters';

CREATE FUNCTION pg_querylens_read(
    max_rows int DEFAULT 10000,
    consumer text DEFAULT 'sql',
    consume bool DEFAULT true,
    OUT ring int,
    OUT seq bigint,
    OUT record_type text,
    OUT pid int,
    OUT dbid oid,
    OUT userid oid,
    OUT toplevel bool,
    OUT nesting_level int,
    OUT cmd_type int,
    OUT flags int,
    OUT exec_seq bigint,
    OUT queryid bigint,
    OUT planid bigint,
    OUT parent_queryid bigint,
    OUT start_time timestamptz,
    OUT duration_ns bigint,
    OUT rows bigint,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT shared_blks_dirtied bigint,
    OUT shared_blks_written bigint,
    OUT local_blks_hit bigint,
    OUT local_blks_read bigint,
    OUT local_blks_dirtied bigint,
    OUT local_blks_written bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT wal_bytes numeric,
    OUT wal_records bigint,
    OUT wal_fpi bigint,
    OUT shared_read_us bigint,
    OUT shared_write_us bigint,
    OUT local_read_us bigint,
    OUT local_write_us bigint,
    OUT temp_read_us bigint,
    OUT temp_write_us bigint,
    OUT cpu_user_us bigint,
    OUT cpu_sys_us bigint,
    OUT wait_samples int[],
    OUT wait_event_last int,
    OUT wait_event_type text,
    OUT wait_event text,
    OUT sqlstate text,
    OUT generation bigint
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_querylens_read'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pg_querylens_read(int, text, bool) IS
'pg_querylens records not yet read by a consumer (consume => false only peeks)';

CREATE FUNCTION pg_querylens_consumers(
    OUT consumer text,
    OUT records_read bigint,
    OUT records_lost bigint,
    OUT generation bigint
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_querylens_consumers'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION pg_querylens_consumers() IS
'pg_querylens SQL consumers with the records they read and lost';

CREATE FUNCTION pg_querylens_reset_counters()
RETURNS void
AS 'MODULE_PATHNAME', 'pg_querylens_reset_counters'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pg_querylens_reset_counters() IS
'zeroes overwritten_unread and dropped of every ring and the consumers'' counters';

CREATE FUNCTION pg_querylens_wait_event_name(
    info int,
    OUT wait_event_type text,
    OUT wait_event text
)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_querylens_wait_event_name'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

COMMENT ON FUNCTION pg_querylens_wait_event_name(int) IS
'type and name of a raw wait_event_info value';

CREATE FUNCTION pg_querylens_self_timing(
    OUT hook text,
    OUT calls bigint,
    OUT total_ns bigint,
    OUT mean_ns float8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_querylens_self_timing'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_querylens_self_timing() IS
'time this backend spent in pg_querylens executor hooks (pg_querylens.self_timing)';

CREATE FUNCTION pg_querylens_self_timing_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'pg_querylens_self_timing_reset'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_querylens_self_timing_reset() IS
'zeroes this backend''s pg_querylens self-timing totals';

CREATE FUNCTION pg_querylens_explain_planid()
RETURNS bigint
AS 'MODULE_PATHNAME', 'pg_querylens_explain_planid'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION pg_querylens_explain_planid() IS
'planid of the last plan EXPLAINed in this session, as pg_querylens records carry it (NULL before the first EXPLAIN)';

REVOKE ALL ON FUNCTION pg_querylens_info() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_querylens_explain_planid() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_querylens_rings() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_querylens_read(int, text, bool) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_querylens_consumers() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_querylens_reset_counters() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_querylens_wait_event_name(int) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_querylens_self_timing() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_querylens_self_timing_reset() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pg_querylens_info() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_querylens_explain_planid() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_querylens_rings() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_querylens_read(int, text, bool) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_querylens_consumers() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_querylens_wait_event_name(int) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_querylens_self_timing() TO pg_read_all_stats;
