/**
 * CPU time and peak memory of a running process, read from Linux `/proc`.
 *
 * Two CPU clocks are read at once:
 *
 * - `/proc/<pid>/stat` fields `utime` and `stime`: every thread of the process, also those that
 *   exited, in clock ticks (10 ms);
 * - `/proc/<pid>/task/<tid>/schedstat`, first field: run time of each live thread in nanoseconds.
 *
 * {@link cpuDeltaMs} uses the nanosecond clock when every thread alive at the first reading is still
 * alive at the second (so no run time left the sum), and the tick clock otherwise. Peak resident
 * memory is `VmHWM` of `/proc/<pid>/status`.
 *
 * @module
 */

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** CPU times of a `/proc/<pid>/stat` line, in clock ticks. */
export interface StatTimes {
  /** User-mode time of the process's threads. */
  utime: number;
  /** Kernel-mode time of the process's threads. */
  stime: number;
  /** User-mode time of its waited-for children. */
  cutime: number;
  /** Kernel-mode time of its waited-for children. */
  cstime: number;
}

/** One reading of a process's CPU clocks. */
export interface CpuReading {
  /** User plus system time of every thread (live or exited), from `/proc/<pid>/stat`, in ms. */
  statMs: number;
  /** Run time of each live thread (thread id → nanoseconds), from the threads' `schedstat`. */
  threadNs: Map<number, number>;
}

/**
 * The CPU times of a `/proc/<pid>/stat` line. The command name (field 2) is parenthesized and may
 * hold spaces or parentheses, so fields are counted after its last `)`.
 *
 * @throws Error when the line is not a stat line.
 */
export function parseStatTimes(statLine: string): StatTimes {
  const close = statLine.lastIndexOf(")");
  const rest = close < 0 ? [] : statLine.slice(close + 1).trim().split(/\s+/);
  // rest[0] is field 3 (state); utime, stime, cutime and cstime are fields 14 to 17.
  const times = rest.slice(11, 15).map(Number);
  if (times.length < 4 || times.some((t) => !Number.isInteger(t) || t < 0)) {
    throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(statLine.slice(0, 120))}`);
  }
  const [utime, stime, cutime, cstime] = times;
  return { utime, stime, cutime, cstime };
}

/**
 * The run time in nanoseconds of a `schedstat` line (`<run ns> <wait ns> <timeslices>`).
 *
 * @throws Error when the line does not start with a non-negative integer.
 */
export function parseSchedstatNs(line: string): number {
  const first = line.trim().split(/\s+/)[0];
  const ns = Number(first);
  if (first === "" || !Number.isSafeInteger(ns) || ns < 0) {
    throw new Error(`not a schedstat line: ${JSON.stringify(line.slice(0, 120))}`);
  }
  return ns;
}

/**
 * A `kB` field of a `/proc/<pid>/status` text, such as `VmHWM` or `VmRSS`, in kibibytes.
 *
 * @throws Error naming the field when it is absent or not a number of kB.
 */
export function statusFieldKb(status: string, field: string): number {
  const line = status.split("\n").find((l) => l.startsWith(`${field}:`));
  const m = line ? /^\S+:\s+(\d+) kB$/.exec(line.trim()) : null;
  if (!m) throw new Error(`/proc status has no "${field}: N kB" line`);
  return Number(m[1]);
}

function readProcFile(pid: number, file: string): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/${file}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`process ${pid} is not running`);
    throw e;
  }
}

/**
 * Reads both CPU clocks of process `pid`.
 *
 * @throws Error when the process is not running.
 */
export function readCpu(pid: number): CpuReading {
  const threadNs = new Map<number, number>();
  let tasks: Deno.DirEntry[];
  try {
    tasks = [...Deno.readDirSync(`/proc/${pid}/task`)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`process ${pid} is not running`);
    throw e;
  }
  for (const entry of tasks) {
    const tid = Number(entry.name);
    try {
      threadNs.set(tid, parseSchedstatNs(Deno.readTextFileSync(`/proc/${pid}/task/${tid}/schedstat`)));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // the thread exited while we looked
    }
  }
  const t = parseStatTimes(readProcFile(pid, "stat"));
  return { statMs: (t.utime + t.stime) * 1000 / CLOCK_TICKS_PER_SECOND, threadNs };
}

/**
 * CPU time (ms) the process used between two readings: the sum of its threads' run times when no
 * thread of `before` is missing from `after`, else the difference of the tick clock.
 */
export function cpuDeltaMs(before: CpuReading, after: CpuReading): number {
  let ns = 0;
  for (const [tid, start] of before.threadNs) {
    const end = after.threadNs.get(tid);
    if (end === undefined) return after.statMs - before.statMs;
    ns += end - start;
  }
  for (const [tid, end] of after.threadNs) if (!before.threadNs.has(tid)) ns += end;
  return ns / 1e6;
}

/** Total CPU time (ms) of the process since it started: user plus system time of all its threads. */
export function totalCpuMs(pid: number): number {
  return readCpu(pid).statMs;
}

/** Peak resident set size (`VmHWM`) of process `pid`, in kibibytes. */
export function peakRssKb(pid: number): number {
  return statusFieldKb(readProcFile(pid, "status"), "VmHWM");
}

/** Options of {@link settledCpu}. */
export interface SettleOptions {
  /** Time between readings, ms; 25 by default. */
  stepMs?: number;
  /** The process counts as idle once it used less than this much CPU in one step, ms; 0.5 by default. */
  idleCpuMs?: number;
  /** Give up waiting after this long and return the last reading, ms; 1000 by default. */
  maxWaitMs?: number;
}

/**
 * Reads the CPU clocks of `pid` once the process has gone idle (less than `idleCpuMs` of CPU in one
 * step), so that work it finishes after answering (such as garbage collection) is counted.
 */
export async function settledCpu(pid: number, opts: SettleOptions = {}): Promise<CpuReading> {
  const step = opts.stepMs ?? 25;
  const idle = opts.idleCpuMs ?? 0.5;
  const deadline = performance.now() + (opts.maxWaitMs ?? 1000);
  let last = readCpu(pid);
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, step));
    const next = readCpu(pid);
    const used = cpuDeltaMs(last, next);
    last = next;
    if (used < idle) break;
  }
  return last;
}
