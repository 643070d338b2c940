/**
 * pg_querylens records as model rows: the executions the sampler kept (`QueryExecution`), and the
 * PostgresIndividualQueries rows of this cycle's slow queries taken from the ring (used when
 * pg_stat_monitor is absent).
 *
 * Database oids, role oids and raw wait events are resolved through what the caller passes in; an
 * oid that is not known leaves its name out of the row.
 *
 * @module
 */

import type { QueryLensRecord } from "../../extensions/querylens_record.ts";
import type { IndividualQuery, QueryCommand, QueryExecution, WaitSamplesByClass } from "../../core/model.ts";
import { WAIT_CLASS_FIELDS } from "../../core/querylens_catalog.ts";
import { individualLimit } from "../qpm/individual_queries.ts";
import type { SlowQueryRow } from "../qpm/slow_queries.ts";

/** PostgreSQL's default block size, used for temporary-file bytes when the server's is not known. */
export const DEFAULT_BLOCK_SIZE = 8192;

/** How oids and raw wait events become names. */
export interface NameResolvers {
  /** Database oid → name. */
  databases: ReadonlyMap<number, string>;
  /** Role oid → name. */
  users: ReadonlyMap<number, string>;
  /** Raw `wait_event_info` → `Type:Event`; wait events are left out when absent or unresolved. */
  waitEventName?: (info: number) => string | undefined;
  /** Server block size in bytes (temporary-file bytes); {@link DEFAULT_BLOCK_SIZE} when absent. */
  blockSize?: number;
}

/** A record the sampler kept, with why. */
export interface SampledRecord {
  /** The record. */
  record: QueryLensRecord;
  /** `slow`, `error`, `rule:<name>` or `default`. */
  reason: string;
}

/**
 * The statement kind of an executor command type (`CmdType`: 1 SELECT, 2 UPDATE, 3 INSERT,
 * 4 DELETE; MERGE, utility and the rest are OTHER).
 */
export function commandOf(cmdType: number): QueryCommand {
  switch (cmdType) {
    case 1:
      return "SELECT";
    case 2:
      return "UPDATE";
    case 3:
      return "INSERT";
    case 4:
      return "DELETE";
    default:
      return "OTHER";
  }
}

/**
 * RFC 3339 text in UTC with microseconds of `unixUs` (microseconds since the Unix epoch), e.g.
 * `2024-05-01T12:00:00.123456Z`.
 *
 * @throws RangeError when `unixUs` is not a finite number in the range of dates.
 */
export function rfc3339Micros(unixUs: number): string {
  if (!Number.isFinite(unixUs)) throw new RangeError(`not a time in microseconds: ${unixUs}`);
  const us = Math.round(unixUs);
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString();
  const micros = String(us - ms * 1000).padStart(3, "0");
  return `${iso.slice(0, -1)}${micros}Z`;
}

/** Milliseconds rounded to microseconds. */
export function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Execution time of a record in milliseconds (microsecond precision). */
export function durationMsOf(r: QueryLensRecord): number {
  return round3(r.durationNs / 1e6);
}

/** The wait samples of a record by class (missing entries count 0). */
export function waitSamplesOf(r: QueryLensRecord): WaitSamplesByClass {
  const out = {} as WaitSamplesByClass;
  WAIT_CLASS_FIELDS.forEach((w, i) => out[w.field] = r.waitSamples[i] ?? 0);
  return out;
}

function usToMs(us: number): number {
  return round3(us / 1000);
}

/** The model row of one kept record. */
export function toQueryExecution(
  r: QueryLensRecord,
  sampleReason: string,
  names: NameResolvers,
): QueryExecution {
  const blockSize = names.blockSize ?? DEFAULT_BLOCK_SIZE;
  const row: QueryExecution = {
    queryId: r.queryId.toString(),
    planId: r.planId.toString(),
    parentQueryId: r.parentQueryId.toString(),
    dbid: r.dbid,
    userid: r.userid,
    pid: r.pid,
    execSeq: Number(r.execSeq),
    startTime: rfc3339Micros(r.startUs),
    startUnixUs: r.startUs,
    durationMs: durationMsOf(r),
    rows: r.rows,
    sharedBlksHit: r.sharedBlksHit,
    sharedBlksRead: r.sharedBlksRead,
    sharedBlksDirtied: r.sharedBlksDirtied,
    sharedBlksWritten: r.sharedBlksWritten,
    localBlksHit: r.localBlksHit,
    localBlksRead: r.localBlksRead,
    localBlksDirtied: r.localBlksDirtied,
    localBlksWritten: r.localBlksWritten,
    tempBytesRead: r.tempBlksRead * blockSize,
    tempBytesWritten: r.tempBlksWritten * blockSize,
    walBytes: r.walBytes,
    walRecords: r.walRecords,
    walFpi: r.walFpi,
    ...waitSamplesOf(r),
    failed: r.type === "error",
    toplevel: r.toplevel,
    nestingLevel: r.nestingLevel,
    command: commandOf(r.cmdType),
    sampleReason,
  };
  const database = names.databases.get(r.dbid);
  if (database !== undefined) row.databaseName = database;
  const user = names.users.get(r.userid);
  if (user !== undefined) row.userName = user;
  if (r.io) {
    row.sharedReadTimeMs = usToMs(r.io.sharedReadUs);
    row.sharedWriteTimeMs = usToMs(r.io.sharedWriteUs);
    row.localReadTimeMs = usToMs(r.io.localReadUs);
    row.localWriteTimeMs = usToMs(r.io.localWriteUs);
    row.tempReadTimeMs = usToMs(r.io.tempReadUs);
    row.tempWriteTimeMs = usToMs(r.io.tempWriteUs);
  }
  if (r.cpu) {
    row.cpuUserTimeMs = usToMs(r.cpu.userUs);
    row.cpuSysTimeMs = usToMs(r.cpu.sysUs);
  }
  if (r.waitEventLast !== 0) {
    const name = names.waitEventName?.(r.waitEventLast);
    if (name !== undefined) row.waitEventLast = name;
  }
  if (r.type === "error" && r.sqlstate !== undefined) row.sqlstate = r.sqlstate;
  return row;
}

/** The model rows of the kept records, in their order. */
export function queryExecutions(sampled: readonly SampledRecord[], names: NameResolvers): QueryExecution[] {
  return sampled.map((s) => toQueryExecution(s.record, s.reason, names));
}

/**
 * PostgresIndividualQueries from the ring: for each slow query, its completed executions (same
 * query id and database oid) that took strictly longer than the response-time threshold, longest
 * first, at most `individualLimit(countThreshold)` of them (a slow query listed twice, e.g. for two
 * roles, gets its rows once). Failed executions are left out (the slow query's statistics do not
 * count them either).
 */
export function individualFromRing(
  slow: readonly SlowQueryRow[],
  records: readonly QueryLensRecord[],
  ctx: { countThreshold: number; responseTimeThresholdMs: number },
): IndividualQuery[] {
  const limit = individualLimit(ctx.countThreshold);
  if (slow.length === 0 || limit <= 0) return [];
  const wanted = new Set(slow.map((s) => `${s.dbid}\u0000${s.queryId}`));
  const byQuery = new Map<string, QueryLensRecord[]>();
  for (const r of records) {
    if (r.type !== "query" || durationMsOf(r) <= ctx.responseTimeThresholdMs) continue;
    const key = `${r.dbid}\u0000${r.queryId}`;
    if (!wanted.has(key)) continue;
    const list = byQuery.get(key);
    if (list === undefined) byQuery.set(key, [r]);
    else list.push(r);
  }
  const out: IndividualQuery[] = [];
  const done = new Set<string>();
  for (const s of slow) {
    const key = `${s.dbid}\u0000${s.queryId}`;
    if (done.has(key)) continue;
    done.add(key);
    const matches = (byQuery.get(key) ?? [])
      .toSorted((a, b) => b.durationNs - a.durationNs)
      .slice(0, limit);
    for (const r of matches) {
      const row: IndividualQuery = {
        queryText: s.queryText,
        queryId: s.queryId,
        databaseName: s.databaseName,
        planId: r.planId.toString(),
        execTimeMs: durationMsOf(r),
        avgExecTimeMs: s.avgElapsedTimeMs,
        source: "pg_querylens",
      };
      if (r.cpu) row.cpuTimeMs = usToMs(r.cpu.userUs + r.cpu.sysUs);
      out.push(row);
    }
  }
  return out;
}
