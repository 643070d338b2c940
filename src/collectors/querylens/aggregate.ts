/**
 * pg_querylens aggregates: every record of a cycle (kept by the sampler or not) added up per
 * database oid, query id and plan id.
 *
 * Records are added batch by batch as they are read; {@link finishAggregates} turns the sums into
 * model rows (resolving database names and wait events) and starts the next cycle. The number of
 * keys per cycle is bounded: once `maxKeys` keys exist, records of new keys are counted as overflow
 * and left out (records of existing keys are still added).
 *
 * @module
 */

import type { QueryLensAggregate, WaitSamplesByClass } from "../../core/model.ts";
import { WAIT_CLASS_FIELDS } from "../../core/querylens_catalog.ts";
import type { QueryLensRecord } from "../../extensions/querylens_record.ts";
import { rfc3339Micros, round3 } from "./executions.ts";

/** Most keys an aggregator holds per cycle, by default. */
export const MAX_AGGREGATE_KEYS = 10_000;

interface Sums {
  dbid: number;
  queryId: bigint;
  planId: bigint;
  calls: number;
  errors: number;
  totalNs: number;
  minNs: number;
  maxNs: number;
  rows: number;
  sharedBlksHit: number;
  sharedBlksRead: number;
  tempBlksRead: number;
  tempBlksWritten: number;
  walBytes: number;
  cpuCalls: number;
  cpuUserUs: number;
  cpuSysUs: number;
  waits: number[];
  waitEventLast: number;
  waitEventEndUs: number;
  firstStartUs: number;
  lastEndUs: number;
}

/** The sums of the current cycle. */
export interface Aggregator {
  /** Most keys per cycle. */
  readonly maxKeys: number;
  /** Sums by `dbid:queryId:planId`. */
  readonly sums: Map<string, Sums>;
  /** Records of this cycle left out because their key would have exceeded `maxKeys`. */
  overflow: number;
}

/**
 * A new, empty aggregator.
 *
 * @throws RangeError when `maxKeys` is not a positive integer.
 */
export function createAggregator(maxKeys: number = MAX_AGGREGATE_KEYS): Aggregator {
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new RangeError(`aggregator: maxKeys must be a positive integer, got ${maxKeys}`);
  }
  return { maxKeys, sums: new Map(), overflow: 0 };
}

function endUs(r: QueryLensRecord): number {
  return r.startUs + r.durationNs / 1000;
}

/** Adds `records` to the current cycle's sums. */
export function addRecords(agg: Aggregator, records: readonly QueryLensRecord[]): void {
  for (const r of records) {
    const key = `${r.dbid}:${r.queryId}:${r.planId}`;
    let s = agg.sums.get(key);
    if (s === undefined) {
      if (agg.sums.size >= agg.maxKeys) {
        agg.overflow++;
        continue;
      }
      s = {
        dbid: r.dbid,
        queryId: r.queryId,
        planId: r.planId,
        calls: 0,
        errors: 0,
        totalNs: 0,
        minNs: Infinity,
        maxNs: 0,
        rows: 0,
        sharedBlksHit: 0,
        sharedBlksRead: 0,
        tempBlksRead: 0,
        tempBlksWritten: 0,
        walBytes: 0,
        cpuCalls: 0,
        cpuUserUs: 0,
        cpuSysUs: 0,
        waits: WAIT_CLASS_FIELDS.map(() => 0),
        waitEventLast: 0,
        waitEventEndUs: -Infinity,
        firstStartUs: Infinity,
        lastEndUs: -Infinity,
      };
      agg.sums.set(key, s);
    }
    s.calls++;
    if (r.type === "error") s.errors++;
    s.totalNs += r.durationNs;
    s.minNs = Math.min(s.minNs, r.durationNs);
    s.maxNs = Math.max(s.maxNs, r.durationNs);
    s.rows += r.rows;
    s.sharedBlksHit += r.sharedBlksHit;
    s.sharedBlksRead += r.sharedBlksRead;
    s.tempBlksRead += r.tempBlksRead;
    s.tempBlksWritten += r.tempBlksWritten;
    s.walBytes += r.walBytes;
    if (r.cpu) {
      s.cpuCalls++;
      s.cpuUserUs += r.cpu.userUs;
      s.cpuSysUs += r.cpu.sysUs;
    }
    for (let i = 0; i < s.waits.length; i++) s.waits[i] += r.waitSamples[i] ?? 0;
    const end = endUs(r);
    if (r.waitEventLast !== 0 && end >= s.waitEventEndUs) {
      s.waitEventLast = r.waitEventLast;
      s.waitEventEndUs = end;
    }
    s.firstStartUs = Math.min(s.firstStartUs, r.startUs);
    s.lastEndUs = Math.max(s.lastEndUs, end);
  }
}

/** How {@link finishAggregates} names oids and wait events. */
export interface AggregateNames {
  /** Database oid → name. */
  databases: ReadonlyMap<number, string>;
  /** Raw `wait_event_info` → `Type:Event`; wait events are left out when absent or unresolved. */
  waitEventName?: (info: number) => string | undefined;
}

/** The aggregates of a cycle and the records left out of them. */
export interface CycleAggregates {
  /** One row per key, the largest total time first (then by database oid, query id and plan id). */
  aggregates: QueryLensAggregate[];
  /** Records left out because the key limit was reached. */
  overflow: number;
}

function toRow(s: Sums, names: AggregateNames): QueryLensAggregate {
  const waits = {} as WaitSamplesByClass;
  WAIT_CLASS_FIELDS.forEach((w, i) => waits[w.field] = s.waits[i]);
  const lastSeenUs = Math.round(s.lastEndUs);
  const row: QueryLensAggregate = {
    dbid: s.dbid,
    queryId: s.queryId.toString(),
    planId: s.planId.toString(),
    calls: s.calls,
    errors: s.errors,
    totalDurationMs: round3(s.totalNs / 1e6),
    minDurationMs: round3(s.minNs / 1e6),
    maxDurationMs: round3(s.maxNs / 1e6),
    rows: s.rows,
    sharedBlksHit: s.sharedBlksHit,
    sharedBlksRead: s.sharedBlksRead,
    tempBlksRead: s.tempBlksRead,
    tempBlksWritten: s.tempBlksWritten,
    walBytes: s.walBytes,
    cpuMeasuredCalls: s.cpuCalls,
    ...waits,
    firstSeen: rfc3339Micros(s.firstStartUs),
    firstSeenUnixUs: s.firstStartUs,
    lastSeen: rfc3339Micros(lastSeenUs),
    lastSeenUnixUs: lastSeenUs,
  };
  const database = names.databases.get(s.dbid);
  if (database !== undefined) row.databaseName = database;
  if (s.cpuCalls > 0) {
    row.cpuUserTimeMs = round3(s.cpuUserUs / 1000);
    row.cpuSysTimeMs = round3(s.cpuSysUs / 1000);
  }
  if (s.waitEventLast !== 0) {
    const name = names.waitEventName?.(s.waitEventLast);
    if (name !== undefined) row.waitEventLast = name;
  }
  return row;
}

function compare(a: Sums, b: Sums): number {
  if (a.totalNs !== b.totalNs) return b.totalNs - a.totalNs;
  if (a.dbid !== b.dbid) return a.dbid - b.dbid;
  if (a.queryId !== b.queryId) return a.queryId < b.queryId ? -1 : 1;
  return a.planId === b.planId ? 0 : a.planId < b.planId ? -1 : 1;
}

/** The current cycle's aggregates; the aggregator starts the next cycle empty. */
export function finishAggregates(agg: Aggregator, names: AggregateNames): CycleAggregates {
  const aggregates = [...agg.sums.values()].sort(compare).map((s) => toRow(s, names));
  const overflow = agg.overflow;
  agg.sums.clear();
  agg.overflow = 0;
  return { aggregates, overflow };
}
