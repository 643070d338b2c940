/**
 * One reading of the OS tier: the server's processes from pg_stat_activity, then each one's `/proc`
 * files, the host pressure and the delay-accounting switch, stamped with the time the files were
 * read.
 *
 * A process's files are used only when they are the server's process: a child of the server's
 * postmaster whose start time is the `backend_start` the server reports (within
 * {@link START_TOLERANCE_MS}). A pid that names another process on this host (another PID
 * namespace, or a pid reused since the SQL ran) is counted as unverified and left out.
 *
 * Two readings make an interval (`deltas.ts`). In a one-shot run the collector takes them
 * `os_oneshot_interval_ms` (200 ms by default) apart; in daemon mode it keeps the last reading of a
 * cycle and takes one per cycle, so each interval is the time between two cycles.
 *
 * @module
 */

import type { Session } from "../../query_engine/connection.ts";
import { type LocalServer, START_TOLERANCE_MS } from "../ash/locality.ts";
import { type ActivityScope, readServerProcesses, type ServerProcess } from "./activity.ts";
import type { ProcFileReader } from "./proc_reader.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  type PressureReading,
  type ProcessSample,
  type ProcStat,
  readPressure,
  readProcessSample,
  readTaskDelayacct,
} from "./procfs.ts";

/** One server process in a reading. */
export interface ProcessReading {
  /** What pg_stat_activity said. */
  process: ServerProcess;
  /** What its `/proc` files said. */
  sample: ProcessSample;
}

/** One reading. */
export interface OsReading {
  /** When the `/proc` files were read, ms since the epoch. */
  atMs: number;
  /** The server's processes whose files were read, by pid. */
  processes: Map<number, ProcessReading>;
  /** Processes whose `/proc` entry was gone or was not the server's process. */
  unverified: number;
  /** Host pressure. */
  pressure: PressureReading;
  /** `kernel.task_delayacct`; undefined when unreadable. */
  delayAccounting?: boolean;
}

/** What {@link takeReading} needs. */
export interface ReadingContext {
  /** Session for pg_stat_activity. */
  sql: Session;
  /** Which processes to read. */
  scope: ActivityScope;
  /** How `/proc` is read. */
  read: ProcFileReader;
  /** The server's postmaster on this host. */
  server: LocalServer;
  /** Clock, ms since the epoch. */
  now?: () => number;
}

/** Start of a process in ms since the epoch, from its stat and the host's boot time. */
export function processStartMs(stat: Pick<ProcStat, "startTicks">, bootMs: number): number {
  return bootMs + (stat.startTicks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Whether `stat` is the server's process that started at `backendStartMs`: a child of its postmaster
 * started then (within {@link START_TOLERANCE_MS}).
 */
export function belongsToServer(
  stat: Pick<ProcStat, "ppid" | "startTicks">,
  server: LocalServer,
  backendStartMs: number | undefined,
): boolean {
  return backendStartMs !== undefined && stat.ppid === server.postmasterPid &&
    Math.abs(processStartMs(stat, server.bootMs) - backendStartMs) <= START_TOLERANCE_MS;
}

/** Takes one reading (one statement, then four files per process and four host files). */
export async function takeReading(ctx: ReadingContext): Promise<OsReading> {
  const now = ctx.now ?? Date.now;
  const listed = await readServerProcesses(ctx.sql, ctx.scope);
  const atMs = now();
  const processes = new Map<number, ProcessReading>();
  let unverified = 0;
  for (const process of listed) {
    const sample = readProcessSample(process.pid, ctx.read);
    if (sample === undefined || !belongsToServer(sample.stat, ctx.server, process.backendStartMs)) {
      unverified++;
      continue;
    }
    processes.set(process.pid, { process, sample });
  }
  const reading: OsReading = { atMs, processes, unverified, pressure: readPressure(ctx.read) };
  const delayAccounting = readTaskDelayacct(ctx.read);
  if (delayAccounting !== undefined) reading.delayAccounting = delayAccounting;
  return reading;
}
