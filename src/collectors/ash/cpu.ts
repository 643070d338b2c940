/**
 * Per-backend CPU time between active-session samples, from `/proc/<pid>/stat` (user + system
 * time, in clock ticks of {@link CLOCK_TICKS_PER_SECOND}).
 *
 * At each sample the meter reads the stat of every sampled backend and keeps it until the next
 * sample. A backend's CPU seconds in a sample are the growth of its CPU time since the previous
 * sample, so they are known only when the backend was in that previous sample too (a backend seen
 * for the first time, or again after it was idle, has none), and they count toward the state the
 * backend is in at the later sample. A reading is used only when it is the server's backend
 * ({@link isBackendOf}): a child of its postmaster, started when the server says the backend
 * started.
 *
 * @module
 */

import { isBackendOf, type LocalServer } from "./locality.ts";
import { CLOCK_TICKS_PER_SECOND, type ReadProcFile, readProcFile, readProcStat } from "./proc_stat.ts";

/** A backend to measure. */
export interface MeasuredBackend {
  /** Process id. */
  pid: number;
  /** `backend_start`, ms since the epoch. */
  backendStartMs?: number;
}

/** Result of one measurement. */
export interface CpuMeasurement {
  /** CPU seconds since the previous measurement, by pid (only backends that were in it). */
  cpuSeconds: Map<number, number>;
  /** Backends whose `/proc` entry was missing or was not the server's backend. */
  unverified: number;
}

/** Measures the CPU time of backends from one sample to the next. */
export interface CpuMeter {
  /** Reads the backends' CPU times and returns what each used since the previous call. */
  measure(backends: readonly MeasuredBackend[]): CpuMeasurement;
}

interface Reading {
  cpuTicks: number;
  startTicks: number;
}

/** A meter for the backends of `server`, reading `/proc` through `read`. */
export function createCpuMeter(server: LocalServer, read: ReadProcFile = readProcFile): CpuMeter {
  let previous = new Map<number, Reading>();
  return {
    measure(backends) {
      const current = new Map<number, Reading>();
      const cpuSeconds = new Map<number, number>();
      let unverified = 0;
      for (const b of backends) {
        const stat = readProcStat(b.pid, read);
        if (stat === undefined || !isBackendOf(stat, server, b.backendStartMs)) {
          unverified++;
          continue;
        }
        current.set(b.pid, { cpuTicks: stat.cpuTicks, startTicks: stat.startTicks });
        const before = previous.get(b.pid);
        if (before !== undefined && before.startTicks === stat.startTicks) {
          cpuSeconds.set(b.pid, Math.max(0, stat.cpuTicks - before.cpuTicks) / CLOCK_TICKS_PER_SECOND);
        }
      }
      previous = current;
      return { cpuSeconds, unverified };
    },
  };
}
