/**
 * Sums of the OS tier: per query (over the backend rows of one database and query id, parallel
 * workers included since their rows carry their leader's query id) and host pressure over the
 * interval.
 *
 * A query sum gives block-I/O delay only when every summed row has it, and I/O bytes only when
 * every summed row has them, so a sum never silently covers part of the processes. Rows without a
 * database or a query id (background processes, servers before 14) are in no query sum.
 *
 * @module
 */

import type {
  HostPressure,
  KernelBackendRow,
  KernelQueryRow,
  PressureStall,
  ResourcePressure,
} from "../../core/model.ts";
import { roundMs } from "./deltas.ts";
import { PRESSURE_RESOURCES, type PressureLine, type PressureReading } from "./procfs.ts";

type Summed = "cpuUserMs" | "cpuSysMs" | "onCpuMs" | "runQueueMs" | "offCpuMs";
const SUMMED: readonly Summed[] = ["cpuUserMs", "cpuSysMs", "onCpuMs", "runQueueMs", "offCpuMs"];
type Optional = "blkioDelayMs" | "readBytes" | "writeBytes";
const OPTIONAL: readonly Optional[] = ["blkioDelayMs", "readBytes", "writeBytes"];

/** The per-query sums of `rows`, ordered by database, then on-CPU time (most first), then query id. */
export function perQueryRows(rows: readonly KernelBackendRow[]): KernelQueryRow[] {
  const groups = new Map<string, KernelBackendRow[]>();
  for (const r of rows) {
    if (r.databaseName === undefined || r.queryId === undefined) continue;
    const key = `${r.databaseName}\u0000${r.queryId}`;
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  const out: KernelQueryRow[] = [];
  for (const list of groups.values()) {
    const first = list[0];
    const q: KernelQueryRow = {
      databaseName: first.databaseName!,
      queryId: first.queryId!,
      backends: list.length,
      parallelWorkers: list.filter((r) => r.leaderPid !== undefined).length,
      intervalMs: Math.max(...list.map((r) => r.intervalMs)),
      cpuUserMs: 0,
      cpuSysMs: 0,
      onCpuMs: 0,
      runQueueMs: 0,
      offCpuMs: 0,
      voluntaryCtxSwitches: list.reduce((s, r) => s + r.voluntaryCtxSwitches, 0),
      involuntaryCtxSwitches: list.reduce((s, r) => s + r.involuntaryCtxSwitches, 0),
      tier: "procfs",
    };
    for (const k of SUMMED) q[k] = roundMs(list.reduce((s, r) => s + r[k], 0));
    for (const k of OPTIONAL) {
      if (list.every((r) => r[k] !== undefined)) q[k] = roundMs(list.reduce((s, r) => s + r[k]!, 0));
    }
    out.push(q);
  }
  return out.sort((a, b) =>
    a.databaseName < b.databaseName ? -1 : a.databaseName > b.databaseName ? 1 : b.onCpuMs - a.onCpuMs ||
      (a.queryId < b.queryId ? -1 : a.queryId > b.queryId ? 1 : 0)
  );
}

function stall(before: PressureLine | undefined, after: PressureLine): PressureStall {
  return {
    avg10Pct: after.avg10,
    avg60Pct: after.avg60,
    avg300Pct: after.avg300,
    stallMs: roundMs(before === undefined ? 0 : Math.max(0, after.totalUs - before.totalUs) / 1000),
    totalUs: after.totalUs,
  };
}

/**
 * Host pressure at the later reading, with the stall time between the readings; undefined when the
 * later reading has no pressure file. A resource missing from the earlier reading has 0 stall time.
 */
export function hostPressure(before: PressureReading, after: PressureReading): HostPressure | undefined {
  const out: HostPressure = {};
  for (const resource of PRESSURE_RESOURCES) {
    const a = after[resource];
    if (a === undefined) continue;
    const b = before[resource];
    const r: ResourcePressure = { some: stall(b?.some, a.some) };
    if (a.full !== undefined) r.full = stall(b?.full, a.full);
    out[resource] = r;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}
