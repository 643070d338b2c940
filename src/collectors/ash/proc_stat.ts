/**
 * Reading Linux `/proc`: one process's `/proc/<pid>/stat` line and the boot time of `/proc/stat`.
 *
 * Times in `/proc/<pid>/stat` count clock ticks (`USER_HZ`), which the kernel's user interface fixes
 * at 100 per second on Linux whatever the kernel's internal tick rate (`getconf CLK_TCK` prints
 * 100); {@link CLOCK_TICKS_PER_SECOND} is that constant, since the collector may not run `getconf`.
 *
 * @module
 */

/** Clock ticks per second of `/proc` times (`USER_HZ`: 100 on Linux). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** What the collector uses of one `/proc/<pid>/stat` line. */
export interface ProcStat {
  /** Process id. */
  pid: number;
  /** Command name (field 2, without its parentheses; at most 15 bytes). */
  comm: string;
  /** Parent process id. */
  ppid: number;
  /** User plus system CPU time, in clock ticks. */
  cpuTicks: number;
  /** Start time after boot, in clock ticks. */
  startTicks: number;
}

/**
 * Reads a whole text file, or returns undefined when it does not exist or the OS refuses it; throws
 * {@link ProcNotPermitted} when the runtime does not let this process read `/proc` at all.
 */
export type ReadProcFile = (path: string) => string | undefined;

/**
 * The runtime does not let this process read `/proc`: Deno refuses every `/proc` path to a process
 * without `--allow-all`, whatever its read permissions list (the collector's permission set lists
 * `/proc`, which Deno does not honour for it).
 */
export class ProcNotPermitted extends Error {
  /** @param path the path that was refused */
  constructor(path: string) {
    super(`this process may not read ${path}: Deno allows /proc only to a process run with --allow-all`);
    this.name = "ProcNotPermitted";
  }
}

/**
 * Reads `path` with `Deno.readTextFileSync`; undefined when it is missing or the OS refuses it.
 *
 * @throws {ProcNotPermitted} when Deno's permissions refuse it
 */
export function readProcFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw new ProcNotPermitted(path);
    return undefined;
  }
}

/**
 * Parses a `/proc/<pid>/stat` line. The command name is parenthesized and may hold spaces and
 * parentheses, so the other fields are counted after its last `)`.
 *
 * @throws Error quoting the line when it is not a stat line
 */
export function parseProcStat(line: string): ProcStat {
  const open = line.indexOf("(");
  const close = line.lastIndexOf(")");
  const rest = close < 0 ? [] : line.slice(close + 1).trim().split(/\s+/);
  // After the name: state(3) ppid(4) … utime(14) stime(15) … starttime(22), counted from 3.
  const field = (n: number) => Number(rest[n - 3]);
  const stat = {
    pid: Number(line.slice(0, open).trim()),
    comm: line.slice(open + 1, close),
    ppid: field(4),
    cpuTicks: field(14) + field(15),
    startTicks: field(22),
  };
  const numbers = [stat.pid, stat.ppid, stat.cpuTicks, stat.startTicks];
  if (open < 0 || close < open || rest.length < 20 || !numbers.every(Number.isSafeInteger)) {
    throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(line.slice(0, 120))}`);
  }
  return stat;
}

/** The stat of process `pid`, or undefined when its entry is gone, unreadable or not a stat line. */
export function readProcStat(pid: number, read: ReadProcFile = readProcFile): ProcStat | undefined {
  const line = read(`/proc/${pid}/stat`);
  if (line === undefined) return undefined;
  try {
    return parseProcStat(line);
  } catch {
    return undefined;
  }
}

/** The boot time in ms since the epoch (`btime` of `/proc/stat`), or undefined when unreadable. */
export function bootTimeMs(read: ReadProcFile = readProcFile): number | undefined {
  const text = read("/proc/stat");
  const match = text?.match(/^btime\s+(\d+)\s*$/m);
  return match ? Number(match[1]) * 1000 : undefined;
}

/** The start of a process in ms since the epoch, from its stat and the boot time. */
export function processStartMs(stat: ProcStat, bootMs: number): number {
  return bootMs + (stat.startTicks * 1000) / CLOCK_TICKS_PER_SECOND;
}
