/**
 * Totals of an active statement since its `query_start`, as far as the readings cover it.
 *
 * Each interval's use is attributed to the statement a backend runs at the interval's end (the same
 * attribution as the per-query sums). A statement seen running at two consecutive readings (same
 * `query_start`) keeps adding intervals; one first seen at a reading starts with that interval,
 * counted from its `query_start` when it began within the interval. `queryObservedMs` says how much
 * of `queryElapsedMs` the totals cover: all of it for a statement that started after the previous
 * reading, less for one that was already running when the collector first saw it.
 *
 * @module
 */

import type { KernelBackendRow } from "../../core/model.ts";
import { type ProcessDelta, roundMs } from "./deltas.ts";

/** The totals fields of a backend row. */
export type QueryTotals =
  & Required<
    Pick<
      KernelBackendRow,
      "queryElapsedMs" | "queryObservedMs" | "queryOnCpuMs" | "queryRunQueueMs" | "queryOffCpuMs"
    >
  >
  & Pick<KernelBackendRow, "queryBlkioDelayMs">;

interface Running {
  queryStartMs: number;
  observedMs: number;
  onCpuMs: number;
  runQueueMs: number;
  offCpuMs: number;
  blkioDelayMs?: number;
}

/** Keeps each active statement's totals from one reading to the next. */
export interface QueryTotalsTracker {
  /**
   * Adds `delta` (the interval ending at `atMs`) to the statement `pid` runs since `queryStartMs`
   * and returns its totals.
   */
  add(pid: number, queryStartMs: number, delta: ProcessDelta, atMs: number): QueryTotals;
  /** Forgets every statement not added since the last call (they ended, or their backend did). */
  endReading(): void;
}

/** A new, empty tracker. */
export function createQueryTotals(): QueryTotalsTracker {
  let running = new Map<number, Running>();
  let next = new Map<number, Running>();
  return {
    add(pid, queryStartMs, delta, atMs) {
      const prev = running.get(pid);
      const cur: Running = prev !== undefined && prev.queryStartMs === queryStartMs
        ? { ...prev }
        : { queryStartMs, observedMs: 0, onCpuMs: 0, runQueueMs: 0, offCpuMs: 0, blkioDelayMs: 0 };
      const covered = Math.min(delta.intervalMs, Math.max(0, atMs - queryStartMs));
      cur.observedMs += covered;
      cur.onCpuMs += delta.onCpuMs;
      cur.runQueueMs += delta.runQueueMs;
      cur.offCpuMs += Math.max(0, covered - delta.onCpuMs - delta.runQueueMs);
      cur.blkioDelayMs = delta.blkioDelayMs === undefined || cur.blkioDelayMs === undefined
        ? undefined
        : cur.blkioDelayMs + delta.blkioDelayMs;
      next.set(pid, cur);
      const totals: QueryTotals = {
        queryElapsedMs: roundMs(Math.max(0, atMs - queryStartMs)),
        queryObservedMs: roundMs(cur.observedMs),
        queryOnCpuMs: roundMs(cur.onCpuMs),
        queryRunQueueMs: roundMs(cur.runQueueMs),
        queryOffCpuMs: roundMs(cur.offCpuMs),
      };
      if (cur.blkioDelayMs !== undefined) totals.queryBlkioDelayMs = roundMs(cur.blkioDelayMs);
      return totals;
    },
    endReading() {
      running = next;
      next = new Map();
    },
  };
}
