/**
 * One active-session sample: a single read of pg_stat_activity.
 *
 * A sample holds every client backend of the monitored databases that is not idle (active, idle in
 * transaction, …), except the collector's own sessions (by `application_name`) and the sampling
 * session itself. For each: pid, database, role, state, wait event, query id (PostgreSQL 14+, when
 * computed), backend type, the backend, transaction and statement start times, and — for a backend
 * waiting on a heavyweight lock only, so the lock manager is consulted for no one else —
 * `pg_blocking_pids()`.
 *
 * Other roles' sessions show a NULL state without `pg_read_all_stats` (or `pg_monitor`), so they
 * are not sampled then.
 *
 * @module
 */

import type { Session } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { arrayLiteral } from "../../query_engine/params.ts";

/** One backend seen in one sample. */
export interface AshSession {
  /** Process id. */
  pid: number;
  /** Database name. */
  databaseName: string;
  /** Role name; absent when unknown. */
  userName?: string;
  /** pg_stat_activity `state`. */
  state: string;
  /** `wait_event_type`; absent when not waiting. */
  waitEventType?: string;
  /** `wait_event`; absent when not waiting. */
  waitEvent?: string;
  /** Query id as a decimal string; absent before 14 or when not computed. */
  queryId?: string;
  /** `backend_type`. */
  backendType: string;
  /** `backend_start`, ms since the epoch. */
  backendStartMs?: number;
  /** `xact_start`, ms since the epoch; absent outside a transaction. */
  xactStartMs?: number;
  /** `query_start`, ms since the epoch. */
  queryStartMs?: number;
  /** `pg_blocking_pids()`, for a backend waiting on a heavyweight lock. */
  blockingPids?: number[];
  /** CPU seconds the backend used since the previous sample, when measured. */
  cpuSeconds?: number;
}

/** One sample of pg_stat_activity. */
export interface AshSample {
  /** When the sample was taken (just before its statement was sent), ms since the epoch. */
  atMs: number;
  /** The backends seen. */
  sessions: AshSession[];
}

/** What a sample reads. */
export interface AshSampleScope {
  /** Monitored databases; backends of other databases are left out. */
  databases: readonly string[];
  /** `application_name` of the collector's sessions, which are left out. */
  applicationName: string;
  /** Whether pg_stat_activity has `query_id` (PostgreSQL 14+). */
  hasQueryId: boolean;
}

/** The sampling statement (parameters: the databases as a text array, the collector's application name). */
export function ashSampleSql(hasQueryId: boolean): string {
  const queryId = hasQueryId ? "a.query_id::text" : "NULL::text";
  const ms = (column: string) => `(extract(epoch FROM a.${column}) * 1000)::float8`;
  return `${MARKER} SELECT a.pid, a.datname, a.usename, a.state, a.wait_event_type, a.wait_event,
       ${queryId} AS query_id, a.backend_type, ${ms("backend_start")} AS backend_start_ms,
       ${ms("xact_start")} AS xact_start_ms, ${ms("query_start")} AS query_start_ms,
       CASE WHEN a.wait_event_type = 'Lock' THEN array_to_string(pg_blocking_pids(a.pid), ',') END AS blocking_pids
     FROM pg_stat_activity a
     WHERE a.backend_type = 'client backend' AND a.state <> 'idle' AND a.pid <> pg_backend_pid()
       AND a.datname = ANY($1::text[]) AND a.application_name IS DISTINCT FROM $2`;
}

const optionalText = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
const optionalNumber = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));

/** Maps one row of {@link ashSampleSql} to a session. */
export function sessionFromRow(r: Record<string, unknown>): AshSession {
  const s: AshSession = {
    pid: Number(r.pid),
    databaseName: String(r.datname),
    state: String(r.state),
    backendType: String(r.backend_type),
  };
  const userName = optionalText(r.usename);
  if (userName !== undefined) s.userName = userName;
  const waitEventType = optionalText(r.wait_event_type);
  if (waitEventType !== undefined) {
    s.waitEventType = waitEventType;
    const waitEvent = optionalText(r.wait_event);
    if (waitEvent !== undefined) s.waitEvent = waitEvent;
  }
  const queryId = optionalText(r.query_id);
  if (queryId !== undefined && queryId !== "0") s.queryId = queryId;
  const times = [
    ["backendStartMs", r.backend_start_ms],
    ["xactStartMs", r.xact_start_ms],
    ["queryStartMs", r.query_start_ms],
  ] as const;
  for (const [key, value] of times) {
    const n = optionalNumber(value);
    if (n !== undefined) s[key] = n;
  }
  const blocking = optionalText(r.blocking_pids);
  if (blocking !== undefined) s.blockingPids = blocking === "" ? [] : blocking.split(",").map(Number);
  return s;
}

/** Takes one sample through `sql`. */
export async function takeAshSample(
  sql: Session,
  scope: AshSampleScope,
  now: () => number = Date.now,
): Promise<AshSample> {
  const atMs = now();
  const rows = await sql.unsafe(ashSampleSql(scope.hasQueryId), [
    arrayLiteral(scope.databases),
    scope.applicationName,
  ]);
  return { atMs, sessions: rows.map(sessionFromRow) };
}
