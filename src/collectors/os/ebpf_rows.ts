/**
 * From the eBPF tier's events to `PostgresQueryOsDelays` rows: times converted from the kernel's
 * monotonic clock to the epoch, the backend's database and role attached, the text's literals
 * replaced, and the pg_querylens execution joined when the extension recorded the same query.
 *
 * The join: a top-level execution of the same backend pid that started and ended within the traced
 * query's window (with {@link JOIN_SLACK_US} of slack for the two clocks). Nested executions (inside
 * functions) are never joined: the traced query is the client's statement. A simple-protocol query
 * may hold several statements; the one that ran longest is taken.
 *
 * @module
 */

import type { QueryExecution, QueryOsDelay } from "../../core/model.ts";
import type { OsDelayEvent } from "../../extensions/bpf_event.ts";
import { rfc3339Micros } from "../querylens/executions.ts";

/** Slack of the join window, µs: the probes and the extension read different clocks. */
export const JOIN_SLACK_US = 2_000;

/** The database and role of a backend, as pg_stat_activity showed them. */
export interface BackendNames {
  /** Database name. */
  databaseName?: string;
  /** Role name. */
  userName?: string;
}

/** What turning events into rows needs. */
export interface RowContext {
  /** CLOCK_REALTIME − CLOCK_MONOTONIC, ns. */
  clockOffsetNs: bigint;
  /** Database and role by backend pid. */
  backends: ReadonlyMap<number, BackendNames>;
  /** pg_querylens executions that may be joined. */
  executions: readonly QueryExecution[];
  /** Replaces the literals of a query text (an empty result drops the text). */
  obfuscate(text: string): string;
}

const nsToMs = (ns: number) => ns / 1e6;

/** Microseconds since the epoch of a monotonic time in ns. */
export function epochMicros(monotonicNs: bigint, clockOffsetNs: bigint): number {
  return Number((monotonicNs + clockOffsetNs) / 1_000n);
}

/**
 * The longest top-level execution of `pid` that lies inside [`startUs`, `endUs`] (widened by
 * {@link JOIN_SLACK_US}); undefined when none does.
 */
export function joinExecution(
  pid: number,
  startUs: number,
  endUs: number,
  executions: readonly QueryExecution[],
): QueryExecution | undefined {
  let best: QueryExecution | undefined;
  for (const x of executions) {
    if (x.pid !== pid || !x.toplevel) continue;
    const xEnd = x.startUnixUs + x.durationMs * 1000;
    if (x.startUnixUs < startUs - JOIN_SLACK_US || xEnd > endUs + JOIN_SLACK_US) continue;
    if (best === undefined || x.durationMs > best.durationMs) best = x;
  }
  return best;
}

/** The row of one event. */
export function osDelayRow(e: OsDelayEvent, ctx: RowContext): QueryOsDelay {
  const startUs = epochMicros(e.startNs, ctx.clockOffsetNs);
  const endUs = epochMicros(e.endNs, ctx.clockOffsetNs);
  const names = ctx.backends.get(e.pid);
  const row: QueryOsDelay = {
    pid: e.pid,
    protocol: e.protocol,
    aborted: e.aborted,
    startTime: rfc3339Micros(startUs),
    startUnixUs: startUs,
    durationMs: nsToMs(Number(e.endNs - e.startNs)),
    onCpuMs: nsToMs(e.onCpuNs),
    runQueueMs: nsToMs(e.runQueueNs),
    ioWaitMs: nsToMs(e.ioWaitNs),
    sleepMs: nsToMs(e.sleepNs),
    switches: e.switches,
  };
  const exec = joinExecution(e.pid, startUs, endUs, ctx.executions);
  const databaseName = names?.databaseName ?? exec?.databaseName;
  const userName = names?.userName ?? exec?.userName;
  if (databaseName !== undefined) row.databaseName = databaseName;
  if (userName !== undefined) row.userName = userName;
  if (e.text !== undefined) {
    const text = ctx.obfuscate(e.text).trim();
    if (text !== "") row.queryText = text;
  }
  if (exec) {
    row.queryId = exec.queryId;
    row.planId = exec.planId;
    row.execSeq = exec.execSeq;
  }
  return row;
}
