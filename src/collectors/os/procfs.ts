/**
 * Linux `/proc` files of the OS tier: what one process's `stat`, `schedstat`, `status` and `io`
 * say, host pressure stall information (`/proc/pressure/{cpu,io,memory}`) and whether block-I/O
 * delay accounting is on (`/proc/sys/kernel/task_delayacct`).
 *
 * Every reading is cumulative since the process started (or, for pressure, since boot); the
 * sampler turns two readings into deltas. Units as the kernel gives them:
 *
 * | File | Fields | Unit |
 * | --- | --- | --- |
 * | `stat` | `utime` (14), `stime` (15), `delayacct_blkio_ticks` (42), `ppid` (4), `starttime` (22) | clock ticks ({@link CLOCK_TICKS_PER_SECOND}) |
 * | `schedstat` | time on a CPU, time waiting in the run queue, timeslices | ns, ns, count |
 * | `status` | `voluntary_ctxt_switches`, `nonvoluntary_ctxt_switches`, `NSpid` | count |
 * | `io` | `rchar`, `wchar`, `read_bytes`, `write_bytes` | bytes |
 * | `pressure/*` | `some`/`full` `avg10`/`avg60`/`avg300`, `total` | %, %, %, µs |
 *
 * `stat`'s times cover all of a process's threads, but `schedstat` and `stat`'s state are those of
 * its main thread; PostgreSQL's processes have one thread, so for them the two agree.
 *
 * `delayacct_blkio_ticks` grows only while `kernel.task_delayacct` is 1; with 0 it stays put, so
 * the delay is then unknown, not zero. `io` is readable only by the process's own user, root or a
 * holder of CAP_SYS_PTRACE: the others get EACCES, which {@link readProcessSample} reports as
 * `io: "denied"` (and a kernel without I/O accounting has no such file: `io: "absent"`).
 *
 * @module
 */

import type { ProcFileReader } from "./proc_reader.ts";

/** Clock ticks per second of `/proc` times (`USER_HZ`, fixed at 100 by Linux's user interface). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** What the tier uses of one `/proc/<pid>/stat` line. */
export interface ProcStat {
  /** Process id. */
  pid: number;
  /** Command name (field 2, without its parentheses). */
  comm: string;
  /** State letter (field 3): R running, S sleeping, D uninterruptible (I/O), … */
  state: string;
  /** Parent process id (field 4). */
  ppid: number;
  /** User-mode CPU time, clock ticks (field 14). */
  utimeTicks: number;
  /** Kernel-mode CPU time, clock ticks (field 15). */
  stimeTicks: number;
  /** Start time after boot, clock ticks (field 22). */
  startTicks: number;
  /** Block-I/O delay, clock ticks (field 42); grows only with `kernel.task_delayacct` = 1. */
  blkioTicks: number;
}

/** `/proc/<pid>/schedstat`: scheduler times (kernel `CONFIG_SCHED_INFO`). */
export interface ProcSchedstat {
  /** Time spent on a CPU, ns. */
  onCpuNs: number;
  /** Time spent runnable, waiting in a run queue for a CPU, ns. */
  runQueueNs: number;
  /** Timeslices run on a CPU. */
  timeslices: number;
}

/** What the tier uses of `/proc/<pid>/status`. */
export interface ProcStatus {
  /** Context switches the process asked for (it blocked or slept). */
  voluntaryCtxSwitches: number;
  /** Context switches forced on it (preempted). */
  involuntaryCtxSwitches: number;
  /** `NSpid`: the pid in each PID namespace, outermost first; absent on kernels without the line. */
  nsPids?: number[];
}

/** `/proc/<pid>/io`: I/O counters. */
export interface ProcIo {
  /** Bytes read through read-like system calls (page cache included). */
  readChars: number;
  /** Bytes written through write-like system calls. */
  writeChars: number;
  /** Bytes the process caused to be fetched from storage. */
  readBytes: number;
  /** Bytes the process caused to be sent to storage. */
  writeBytes: number;
}

/** One line of a pressure file: the share of time some (or all) tasks stalled on the resource. */
export interface PressureLine {
  /** Share of the last 10 s, %. */
  avg10: number;
  /** Share of the last 60 s, %. */
  avg60: number;
  /** Share of the last 300 s, %. */
  avg300: number;
  /** Total stall time since boot, µs. */
  totalUs: number;
}

/** One pressure file: `some` (at least one task stalled) and `full` (all non-idle tasks stalled). */
export interface PressureFile {
  /** The `some` line. */
  some: PressureLine;
  /** The `full` line; absent where the kernel has none (system-wide CPU before 5.13). */
  full?: PressureLine;
}

/** The resources pressure is read for. */
export const PRESSURE_RESOURCES = ["cpu", "io", "memory"] as const;

/** A resource of {@link PRESSURE_RESOURCES}. */
export type PressureResource = (typeof PRESSURE_RESOURCES)[number];

/** Host pressure by resource; a resource whose file is missing or unreadable is absent. */
export type PressureReading = Partial<Record<PressureResource, PressureFile>>;

/** The files of one process at one moment. */
export interface ProcessSample {
  /** `stat`. */
  stat: ProcStat;
  /** `schedstat`. */
  schedstat: ProcSchedstat;
  /** `status`. */
  status: ProcStatus;
  /** `io`; `"denied"` when this process may not read it, `"absent"` when the kernel has none. */
  io: ProcIo | "denied" | "absent";
}

const notA = (what: string, text: string) =>
  new Error(`not a ${what}: ${JSON.stringify(text.slice(0, 160))}`);

/**
 * Parses a `/proc/<pid>/stat` line. The command name is parenthesized and may hold spaces and
 * parentheses, so the fields after it are counted from its last `)`.
 *
 * @throws Error quoting the line when it is not a stat line (fewer than 42 fields, or a field the
 * tier uses is not a whole number)
 */
export function parseStat(line: string): ProcStat {
  const open = line.indexOf("(");
  const close = line.lastIndexOf(")");
  if (open < 0 || close < open) throw notA("/proc/<pid>/stat line", line);
  const rest = line.slice(close + 1).trim().split(/\s+/);
  // rest[0] is field 3 (state).
  const field = (n: number) => Number(rest[n - 3]);
  const stat: ProcStat = {
    pid: Number(line.slice(0, open).trim()),
    comm: line.slice(open + 1, close),
    state: rest[0] ?? "",
    ppid: field(4),
    utimeTicks: field(14),
    stimeTicks: field(15),
    startTicks: field(22),
    blkioTicks: field(42),
  };
  const numbers = [stat.pid, stat.ppid, stat.utimeTicks, stat.stimeTicks, stat.startTicks, stat.blkioTicks];
  if (rest.length < 40 || !numbers.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw notA("/proc/<pid>/stat line", line);
  }
  return stat;
}

/**
 * Parses `/proc/<pid>/schedstat` (`run_ns wait_ns timeslices`).
 *
 * @throws Error quoting the text when it is not three whole numbers
 */
export function parseSchedstat(text: string): ProcSchedstat {
  const parts = text.trim().split(/\s+/).map(Number);
  if (parts.length !== 3 || !parts.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw notA("/proc/<pid>/schedstat", text);
  }
  return { onCpuNs: parts[0], runQueueNs: parts[1], timeslices: parts[2] };
}

/** The `Key:\tvalue` lines of a `status` or `io` file. */
function keyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) out.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return out;
}

function wholeNumber(values: Map<string, string>, key: string, what: string, text: string): number {
  const raw = values.get(key);
  const n = raw === undefined || !/^\d+$/.test(raw) ? NaN : Number(raw);
  if (!Number.isSafeInteger(n)) throw notA(`${what} (no whole-number ${key})`, text);
  return n;
}

/**
 * Parses `/proc/<pid>/status`: the context-switch counters and `NSpid`.
 *
 * @throws Error when a context-switch counter is missing or not a whole number
 */
export function parseStatus(text: string): ProcStatus {
  const v = keyValues(text);
  const status: ProcStatus = {
    voluntaryCtxSwitches: wholeNumber(v, "voluntary_ctxt_switches", "/proc/<pid>/status", text),
    involuntaryCtxSwitches: wholeNumber(v, "nonvoluntary_ctxt_switches", "/proc/<pid>/status", text),
  };
  const ns = v.get("NSpid");
  if (ns !== undefined && /^\d+(\s+\d+)*$/.test(ns)) status.nsPids = ns.split(/\s+/).map(Number);
  return status;
}

/**
 * Parses `/proc/<pid>/io`.
 *
 * @throws Error when `rchar`, `wchar`, `read_bytes` or `write_bytes` is missing or not a whole number
 */
export function parseIo(text: string): ProcIo {
  const v = keyValues(text);
  const what = "/proc/<pid>/io";
  return {
    readChars: wholeNumber(v, "rchar", what, text),
    writeChars: wholeNumber(v, "wchar", what, text),
    readBytes: wholeNumber(v, "read_bytes", what, text),
    writeBytes: wholeNumber(v, "write_bytes", what, text),
  };
}

function parsePressureLine(line: string, text: string): PressureLine {
  const fields = new Map<string, number>();
  for (const part of line.trim().split(/\s+/).slice(1)) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq), Number(part.slice(eq + 1)));
  }
  const p = {
    avg10: fields.get("avg10") ?? NaN,
    avg60: fields.get("avg60") ?? NaN,
    avg300: fields.get("avg300") ?? NaN,
    totalUs: fields.get("total") ?? NaN,
  };
  if (![p.avg10, p.avg60, p.avg300].every((n) => Number.isFinite(n) && n >= 0)) {
    throw notA("pressure file", text);
  }
  if (!Number.isSafeInteger(p.totalUs) || p.totalUs < 0) throw notA("pressure file", text);
  return p;
}

/**
 * Parses a `/proc/pressure/<resource>` file (`some avg10=… avg60=… avg300=… total=…`, then
 * optionally the same for `full`).
 *
 * @throws Error when there is no valid `some` line, or a line has a missing or negative value
 */
export function parsePressure(text: string): PressureFile {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const some = lines.find((l) => l.startsWith("some "));
  if (some === undefined) throw notA("pressure file", text);
  const out: PressureFile = { some: parsePressureLine(some, text) };
  const full = lines.find((l) => l.startsWith("full "));
  if (full !== undefined) out.full = parsePressureLine(full, text);
  return out;
}

/**
 * Parses `/proc/sys/kernel/task_delayacct`: whether block-I/O (and other) delay accounting is on.
 *
 * @throws Error when the text is not `0` or `1`
 */
export function parseTaskDelayacct(text: string): boolean {
  const t = text.trim();
  if (t !== "0" && t !== "1") throw notA("kernel.task_delayacct value", text);
  return t === "1";
}

/** Milliseconds of `ticks` clock ticks. */
export function ticksToMs(ticks: number): number {
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Reads the files of process `pid` through `read`. Undefined when the process is gone (its `stat`,
 * `schedstat` or `status` is missing: it exited between the SQL and the read) or a file is not
 * what the kernel writes.
 */
export function readProcessSample(pid: number, read: ProcFileReader): ProcessSample | undefined {
  const texts = [`/proc/${pid}/stat`, `/proc/${pid}/schedstat`, `/proc/${pid}/status`].map(read);
  const [stat, schedstat, status] = texts;
  if (!stat.ok || !schedstat.ok || !status.ok) return undefined;
  const io = read(`/proc/${pid}/io`);
  try {
    return {
      stat: parseStat(stat.text),
      schedstat: parseSchedstat(schedstat.text),
      status: parseStatus(status.text),
      io: io.ok ? parseIo(io.text) : io.error === "denied" ? "denied" : "absent",
    };
  } catch {
    return undefined;
  }
}

/** Host pressure through `read`; a resource whose file is missing, unreadable or malformed is left out. */
export function readPressure(read: ProcFileReader): PressureReading {
  const out: PressureReading = {};
  for (const resource of PRESSURE_RESOURCES) {
    const r = read(`/proc/pressure/${resource}`);
    if (!r.ok) continue;
    try {
      out[resource] = parsePressure(r.text);
    } catch {
      // A file the kernel did not write (or PSI switched off: reading it fails with EOPNOTSUPP).
    }
  }
  return out;
}

/**
 * `kernel.task_delayacct` through `read`; undefined when it cannot be read. Kernels before 5.14 have
 * no such switch (accounting is on there unless booted with `nodelayacct`, which cannot be told from
 * `/proc`), so the tier then treats the block-I/O delay as unknown.
 */
export function readTaskDelayacct(read: ProcFileReader): boolean | undefined {
  const r = read("/proc/sys/kernel/task_delayacct");
  if (!r.ok) return undefined;
  try {
    return parseTaskDelayacct(r.text);
  } catch {
    return undefined;
  }
}

/** `btime` of `/proc/stat` (boot time) in ms since the epoch; undefined when unreadable. */
export function readBootTimeMs(read: ProcFileReader): number | undefined {
  const r = read("/proc/stat");
  const match = r.ok ? r.text.match(/^btime\s+(\d+)\s*$/m) : null;
  return match ? Number(match[1]) * 1000 : undefined;
}
