/**
 * pg_querylens over SQL: the extension's status (`pg_querylens_info()`) and its records decoded by
 * the server (`pg_querylens_read()`), for collectors that cannot map the host's shared memory.
 *
 * Records are consumed under a named consumer whose cursors live in the server, so a later call (or
 * a later run of the collector) resumes where this one stopped; what the rings overwrote in between
 * is counted by the server per consumer (`pg_querylens_consumers()`).
 *
 * @module
 */

import { MARKER } from "../query_engine/marker.ts";
import type { Session } from "../query_engine/connection.ts";
import type { QueryLensRecord } from "./querylens_record.ts";

/** The extension's status, from `pg_querylens_info()`. */
export interface QueryLensInfo {
  /** POSIX shared-memory object name, e.g. `/pg_querylens.5432`. */
  segmentName: string;
  /** Layout version of the segment. */
  layoutVersion: number;
  /** Generation of the segment (bumped when the server reinitializes shared memory). */
  generation: bigint;
  /** `initializing`, `ready` or `closing`. */
  state: string;
  /** Process id of the postmaster. */
  postmasterPid: number;
  /** Number of rings (one per server process slot). */
  nrings: number;
  /** Records each ring retains. */
  slotsPerRing: number;
  /** `off`, `thread` or `sampled`. */
  cpuMode: string;
  /** Wait sampler period in milliseconds (0 when off). */
  samplePeriodMs: number;
  /** Process id of the wait sampler, undefined when it is not running. */
  samplerPid?: number;
  /** Records written into all rings since the segment was (re)initialized. */
  recordsWritten: bigint;
  /** Records overwritten before the shared-memory reader read them. */
  overwrittenUnread: bigint;
  /** Executions not recorded (too deeply nested or interleaved). */
  dropped: bigint;
}

/** Double-quotes an identifier for SQL text. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Reads `pg_querylens_info()` from the extension installed in `schema`. */
export async function readQueryLensInfo(sql: Session, schema: string): Promise<QueryLensInfo> {
  const [r] = await sql.unsafe(
    `${MARKER} SELECT segment_name, layout_version, generation::text AS generation, state,
       postmaster_pid, nrings, slots_per_ring, cpu_mode, sample_period_ms, sampler_pid,
       records_written::text AS records_written, overwritten_unread::text AS overwritten_unread,
       dropped::text AS dropped
     FROM ${ident(schema)}.pg_querylens_info()`,
  );
  if (!r) throw new Error("pg_querylens_info() returned no row");
  return {
    segmentName: String(r.segment_name),
    layoutVersion: Number(r.layout_version),
    generation: BigInt(r.generation),
    state: String(r.state),
    postmasterPid: Number(r.postmaster_pid),
    nrings: Number(r.nrings),
    slotsPerRing: Number(r.slots_per_ring),
    cpuMode: String(r.cpu_mode),
    samplePeriodMs: Number(r.sample_period_ms),
    samplerPid: r.sampler_pid === null ? undefined : Number(r.sampler_pid),
    recordsWritten: BigInt(r.records_written ?? 0),
    overwrittenUnread: BigInt(r.overwritten_unread ?? 0),
    dropped: BigInt(r.dropped ?? 0),
  };
}

/** Columns of `pg_querylens_read()` as the decoder wants them (ids as text, counters as float8). */
const READ_COLUMNS = `ring, seq::text AS seq, record_type, pid, dbid::int8 AS dbid, userid::int8 AS userid,
  toplevel, nesting_level, cmd_type, flags, generation::text AS generation, exec_seq::text AS exec_seq,
  queryid::text AS queryid, planid::text AS planid, parent_queryid::text AS parent_queryid,
  (extract(epoch FROM start_time) * 1000000)::float8 AS start_us, duration_ns::float8 AS duration_ns,
  rows::float8 AS rows, shared_blks_hit::float8 AS shared_blks_hit,
  shared_blks_read::float8 AS shared_blks_read, shared_blks_dirtied::float8 AS shared_blks_dirtied,
  shared_blks_written::float8 AS shared_blks_written, local_blks_hit::float8 AS local_blks_hit,
  local_blks_read::float8 AS local_blks_read, local_blks_dirtied::float8 AS local_blks_dirtied,
  local_blks_written::float8 AS local_blks_written, temp_blks_read::float8 AS temp_blks_read,
  temp_blks_written::float8 AS temp_blks_written, wal_bytes::float8 AS wal_bytes,
  wal_records::float8 AS wal_records, wal_fpi::float8 AS wal_fpi,
  shared_read_us::float8 AS shared_read_us, shared_write_us::float8 AS shared_write_us,
  local_read_us::float8 AS local_read_us, local_write_us::float8 AS local_write_us,
  temp_read_us::float8 AS temp_read_us, temp_write_us::float8 AS temp_write_us,
  cpu_user_us::float8 AS cpu_user_us, cpu_sys_us::float8 AS cpu_sys_us,
  array_to_string(wait_samples, ',') AS wait_samples,
  wait_event_last, sqlstate`;

/**
 * Consumes up to `maxRows` records under `consumer` from the extension installed in `schema`.
 * Rows are returned in the server's order (ring by ring).
 */
export async function readQueryLensRecords(
  sql: Session,
  schema: string,
  consumer: string,
  maxRows: number,
): Promise<QueryLensRecord[]> {
  const rows = await sql.unsafe(
    `${MARKER} SELECT ${READ_COLUMNS} FROM ${ident(schema)}.pg_querylens_read($1::int, $2::text, true)`,
    [maxRows, consumer],
  );
  return rows.map(recordFromRow);
}

/** Records lost per consumer as the server counts them, from `pg_querylens_consumers()`. */
export async function readConsumerLost(sql: Session, schema: string, consumer: string): Promise<bigint> {
  const [r] = await sql.unsafe(
    `${MARKER} SELECT records_lost::text AS lost FROM ${ident(schema)}.pg_querylens_consumers()
     WHERE consumer = $1`,
    [consumer],
  );
  return r ? BigInt(r.lost) : 0n;
}

function num(v: unknown): number {
  return v === null || v === undefined ? 0 : Number(v);
}

/** Decodes one row of `pg_querylens_read()` (as selected by this module) into a record. */
export function recordFromRow(r: Record<string, unknown>): QueryLensRecord {
  const flags = num(r.flags);
  const io = r.shared_read_us === null || r.shared_read_us === undefined ? undefined : {
    sharedReadUs: num(r.shared_read_us),
    sharedWriteUs: num(r.shared_write_us),
    localReadUs: num(r.local_read_us),
    localWriteUs: num(r.local_write_us),
    tempReadUs: num(r.temp_read_us),
    tempWriteUs: num(r.temp_write_us),
  };
  const cpu = r.cpu_user_us === null || r.cpu_user_us === undefined
    ? undefined
    : { userUs: num(r.cpu_user_us), sysUs: num(r.cpu_sys_us) };
  const waits = typeof r.wait_samples === "string" && r.wait_samples !== ""
    ? r.wait_samples.split(",").map(num)
    : [];
  while (waits.length < 8) waits.push(0);
  const rec: QueryLensRecord = {
    ring: num(r.ring),
    seq: BigInt(String(r.seq)),
    type: r.record_type === "error" ? "error" : "query",
    pid: num(r.pid),
    dbid: num(r.dbid),
    userid: num(r.userid),
    toplevel: Boolean(r.toplevel),
    nestingLevel: num(r.nesting_level),
    cmdType: num(r.cmd_type),
    flags,
    generation: Number(BigInt(String(r.generation)) & 0xffffffffn),
    execSeq: BigInt(String(r.exec_seq)),
    queryId: BigInt(String(r.queryid)),
    planId: BigInt(String(r.planid)),
    parentQueryId: BigInt(String(r.parent_queryid)),
    startUs: num(r.start_us),
    durationNs: num(r.duration_ns),
    rows: num(r.rows),
    sharedBlksHit: num(r.shared_blks_hit),
    sharedBlksRead: num(r.shared_blks_read),
    sharedBlksDirtied: num(r.shared_blks_dirtied),
    sharedBlksWritten: num(r.shared_blks_written),
    localBlksHit: num(r.local_blks_hit),
    localBlksRead: num(r.local_blks_read),
    localBlksDirtied: num(r.local_blks_dirtied),
    localBlksWritten: num(r.local_blks_written),
    tempBlksRead: num(r.temp_blks_read),
    tempBlksWritten: num(r.temp_blks_written),
    walBytes: num(r.wal_bytes),
    walRecords: num(r.wal_records),
    walFpi: num(r.wal_fpi),
    waitSamples: waits.slice(0, 8),
    waitEventLast: num(r.wait_event_last),
  };
  if (io) rec.io = io;
  if (cpu) rec.cpu = cpu;
  if (r.sqlstate !== null && r.sqlstate !== undefined) rec.sqlstate = String(r.sqlstate);
  return rec;
}
