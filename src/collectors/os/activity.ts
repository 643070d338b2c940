/**
 * The server processes the OS tier measures: one read of pg_stat_activity.
 *
 * Every process of the server is listed — client backends of the monitored databases, their
 * parallel workers, and the processes attached to no database (checkpointer, WAL writer, …) —
 * except the collector's own sessions (by `application_name`) and the reading session itself.
 * Client backends of databases that are not monitored are left out.
 *
 * @module
 */

import type { Session } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { arrayLiteral } from "../../query_engine/params.ts";

/** One server process as pg_stat_activity shows it. */
export interface ServerProcess {
  /** Process id. */
  pid: number;
  /** Pid of the parallel group's leader, for a parallel worker; absent otherwise. */
  leaderPid?: number;
  /** `backend_type`, e.g. `client backend`, `parallel worker`, `checkpointer`. */
  backendType: string;
  /** Database; absent for processes attached to none. */
  databaseName?: string;
  /** Role; absent when unknown. */
  userName?: string;
  /** `state`; absent for background processes and for other roles' sessions without pg_read_all_stats. */
  state?: string;
  /** `wait_event_type`; absent when not waiting. */
  waitEventType?: string;
  /** `wait_event`; absent when not waiting. */
  waitEvent?: string;
  /** Query id of the current or most recent statement, decimal; absent before 14 or when not computed. */
  queryId?: string;
  /** `query_start`, ms since the epoch; absent when unknown. */
  queryStartMs?: number;
  /** `backend_start`, ms since the epoch; absent when unknown. */
  backendStartMs?: number;
}

/** What a read of the server's processes covers. */
export interface ActivityScope {
  /** Monitored databases; client backends of other databases are left out. */
  databases: readonly string[];
  /** `application_name` of the collector's sessions, which are left out. */
  applicationName: string;
  /** Whether pg_stat_activity has `query_id` (PostgreSQL 14+). */
  hasQueryId: boolean;
}

/** The statement (parameters: the databases as a text array, the collector's application name). */
export function activitySql(hasQueryId: boolean): string {
  const queryId = hasQueryId ? "a.query_id::text" : "NULL::text";
  const ms = (column: string) => `(extract(epoch FROM a.${column}) * 1000)::float8`;
  return `${MARKER} SELECT a.pid, a.leader_pid, a.backend_type, a.datname, a.usename, a.state,
       a.wait_event_type, a.wait_event, ${queryId} AS query_id,
       ${ms("query_start")} AS query_start_ms, ${ms("backend_start")} AS backend_start_ms
     FROM pg_stat_activity a
     WHERE a.pid <> pg_backend_pid() AND a.application_name IS DISTINCT FROM $2
       AND (a.datname IS NULL OR a.datname = ANY($1::text[]))
     ORDER BY a.pid`;
}

const text = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));

/** Maps one row of {@link activitySql}. */
export function processFromRow(r: Record<string, unknown>): ServerProcess {
  const p: ServerProcess = { pid: Number(r.pid), backendType: String(r.backend_type ?? "") };
  const leader = num(r.leader_pid);
  if (leader !== undefined && leader !== p.pid) p.leaderPid = leader;
  const optional: [keyof ServerProcess, string | number | undefined][] = [
    ["databaseName", text(r.datname)],
    ["userName", text(r.usename)],
    ["state", text(r.state)],
    ["waitEventType", text(r.wait_event_type)],
    ["waitEvent", text(r.wait_event)],
    ["queryStartMs", num(r.query_start_ms)],
    ["backendStartMs", num(r.backend_start_ms)],
  ];
  for (const [key, value] of optional) {
    if (value !== undefined) (p as unknown as Record<string, unknown>)[key] = value;
  }
  const queryId = text(r.query_id);
  if (queryId !== undefined && queryId !== "0") p.queryId = queryId;
  return p;
}

/** Reads the server's processes through `sql`. */
export async function readServerProcesses(sql: Session, scope: ActivityScope): Promise<ServerProcess[]> {
  const rows = await sql.unsafe(activitySql(scope.hasQueryId), [
    arrayLiteral(scope.databases),
    scope.applicationName,
  ]);
  return rows.map(processFromRow);
}
