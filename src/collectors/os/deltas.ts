/**
 * Per-process deltas between two readings of the OS tier.
 *
 * A process in the later reading is measured from:
 * - its entry in the earlier reading, when it is the same process (same start time);
 * - its start, when it started after the earlier reading (a parallel worker or a new connection):
 *   every counter of a new process starts at zero, so its counters are its use within the interval,
 *   and its interval is the time since it started.
 *
 * A process of the earlier reading only (it exited) is not measured: its last use cannot be read.
 *
 * Off-CPU time is the interval less the time on a CPU and the time waiting for one: time blocked
 * on I/O, a lock, a latch or the client. Block-I/O delay is given only when delay accounting was on
 * at both readings; I/O bytes only when both `io` files were read.
 *
 * A process is reported when it used anything in the interval (CPU, a context switch, I/O) or was
 * running a statement at the later reading; idle connections that did nothing are left out.
 *
 * @module
 */

import type { KernelBackendRow, ProcessDelta } from "../../core/model.ts";

export type { ProcessDelta } from "../../core/model.ts";
import { ticksToMs } from "./procfs.ts";
import type { ProcessSample } from "./procfs.ts";
import { type OsReading, processStartMs } from "./sampler.ts";

/** Rounds to microseconds (3 decimals of a millisecond). */
export const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;

const grew = (after: number, before: number) => Math.max(0, after - before);

/**
 * The use of a process between `before` (undefined: it started within the interval, all counters
 * from zero) and `after`, over `intervalMs`.
 */
export function processDelta(
  before: ProcessSample | undefined,
  after: ProcessSample,
  intervalMs: number,
  delayAccounting: boolean,
): ProcessDelta {
  const b = before;
  const onCpuMs = grew(after.schedstat.onCpuNs, b?.schedstat.onCpuNs ?? 0) / 1e6;
  const runQueueMs = grew(after.schedstat.runQueueNs, b?.schedstat.runQueueNs ?? 0) / 1e6;
  const d: ProcessDelta = {
    intervalMs: roundMs(intervalMs),
    cpuUserMs: ticksToMs(grew(after.stat.utimeTicks, b?.stat.utimeTicks ?? 0)),
    cpuSysMs: ticksToMs(grew(after.stat.stimeTicks, b?.stat.stimeTicks ?? 0)),
    onCpuMs: roundMs(onCpuMs),
    runQueueMs: roundMs(runQueueMs),
    offCpuMs: roundMs(Math.max(0, intervalMs - onCpuMs - runQueueMs)),
    timeslices: grew(after.schedstat.timeslices, b?.schedstat.timeslices ?? 0),
    voluntaryCtxSwitches: grew(after.status.voluntaryCtxSwitches, b?.status.voluntaryCtxSwitches ?? 0),
    involuntaryCtxSwitches: grew(after.status.involuntaryCtxSwitches, b?.status.involuntaryCtxSwitches ?? 0),
  };
  if (delayAccounting) d.blkioDelayMs = ticksToMs(grew(after.stat.blkioTicks, b?.stat.blkioTicks ?? 0));
  const ioBefore = b === undefined ? { readBytes: 0, writeBytes: 0, readChars: 0, writeChars: 0 } : b.io;
  if (typeof after.io === "object" && typeof ioBefore === "object") {
    d.readBytes = grew(after.io.readBytes, ioBefore.readBytes);
    d.writeBytes = grew(after.io.writeBytes, ioBefore.writeBytes);
    d.readChars = grew(after.io.readChars, ioBefore.readChars);
    d.writeChars = grew(after.io.writeChars, ioBefore.writeChars);
  }
  return d;
}

/** Whether the process used anything in the interval. */
export function usedAnything(d: ProcessDelta): boolean {
  return d.cpuUserMs + d.cpuSysMs + d.onCpuMs + d.runQueueMs + d.voluntaryCtxSwitches +
      d.involuntaryCtxSwitches + (d.blkioDelayMs ?? 0) + (d.readBytes ?? 0) + (d.writeBytes ?? 0) +
      (d.readChars ?? 0) + (d.writeChars ?? 0) > 0;
}

/** A measured process of the later reading. */
export interface MeasuredProcess {
  /** Its pid. */
  pid: number;
  /** Its use over its interval. */
  delta: ProcessDelta;
  /** Whether it was the same process in the earlier reading (false: it started within the interval). */
  seenBefore: boolean;
}

/**
 * The processes of `after` that can be measured against `before` (see the module documentation),
 * with their deltas. `bootMs` (the host's boot time) places a process's start; without it, a
 * process not in `before` is not measured.
 */
export function measureProcesses(
  before: OsReading,
  after: OsReading,
  bootMs: number | undefined,
): MeasuredProcess[] {
  const delayAccounting = before.delayAccounting === true && after.delayAccounting === true;
  const out: MeasuredProcess[] = [];
  for (const [pid, { sample }] of after.processes) {
    const prev = before.processes.get(pid)?.sample;
    if (prev !== undefined && prev.stat.startTicks === sample.stat.startTicks) {
      out.push({
        pid,
        delta: processDelta(prev, sample, after.atMs - before.atMs, delayAccounting),
        seenBefore: true,
      });
      continue;
    }
    if (bootMs === undefined) continue;
    const started = processStartMs(sample.stat, bootMs);
    if (started < before.atMs) continue;
    out.push({
      pid,
      delta: processDelta(undefined, sample, Math.max(0, after.atMs - started), delayAccounting),
      seenBefore: false,
    });
  }
  return out;
}

/** The backend row of a measured process, with the pg_stat_activity fields of `after`. */
export function backendRow(m: MeasuredProcess, after: OsReading): KernelBackendRow {
  const p = after.processes.get(m.pid)!.process;
  const row: KernelBackendRow = { pid: m.pid, backendType: p.backendType, ...m.delta, tier: "procfs" };
  if (p.leaderPid !== undefined) row.leaderPid = p.leaderPid;
  if (p.databaseName !== undefined) row.databaseName = p.databaseName;
  if (p.userName !== undefined) row.userName = p.userName;
  if (p.state !== undefined) row.state = p.state;
  if (p.waitEventType !== undefined) row.waitEventType = p.waitEventType;
  if (p.waitEvent !== undefined) row.waitEvent = p.waitEvent;
  const queryId = p.queryId ??
    (p.leaderPid === undefined ? undefined : after.processes.get(p.leaderPid)?.process.queryId);
  if (queryId !== undefined) row.queryId = queryId;
  return row;
}

/** Whether a measured process is reported: it used something, or runs a statement. */
export function isReported(m: MeasuredProcess, after: OsReading): boolean {
  const state = after.processes.get(m.pid)?.process.state;
  return usedAnything(m.delta) || (state !== undefined && state !== "idle");
}
