/**
 * Resource usage of a child process as GNU `time` reports it.
 *
 * The benchmarks run the collector under `/usr/bin/time -o FILE -f TIME_FORMAT`, which waits for
 * the process and writes its rusage (CPU time, peak resident set) to FILE. {@link parseTimeReport}
 * reads that file back.
 *
 * @module
 */

/** Path of GNU time. */
export const TIME_BINARY = "/usr/bin/time";

/** The `-f` format the benchmarks give GNU time: one line of `key=value` pairs. */
export const TIME_FORMAT = "wall_s=%e user_s=%U sys_s=%S max_rss_kb=%M exit=%x";

/** Resource usage of one finished process. */
export interface ProcessUsage {
  /** Elapsed real time in milliseconds (10 ms resolution). */
  wallMs: number;
  /** CPU time in user mode, milliseconds. */
  userMs: number;
  /** CPU time in kernel mode, milliseconds. */
  sysMs: number;
  /** User plus system CPU time, milliseconds. */
  cpuMs: number;
  /** Peak resident set size in kibibytes. */
  maxRssKb: number;
  /** Exit status; 0 when the process was killed by a signal. */
  exitStatus: number;
  /** The signal that terminated the process, if one did. */
  signal?: number;
}

const KEYS = ["wall_s", "user_s", "sys_s", "max_rss_kb", "exit"] as const;

/**
 * Parses what GNU time wrote with {@link TIME_FORMAT}. The report line is the last line holding
 * `max_rss_kb=`; a preceding `Command terminated by signal N` line sets {@link ProcessUsage.signal}.
 *
 * @throws Error naming the problem when no report line is found or a field is missing or not a
 * number.
 */
export function parseTimeReport(text: string): ProcessUsage {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const reportLine = lines.findLast((l) => l.includes("max_rss_kb="));
  if (reportLine === undefined) {
    throw new Error(`GNU time report has no line with max_rss_kb=: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const fields = new Map(
    reportLine.split(/\s+/).map((pair) => {
      const eq = pair.indexOf("=");
      return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
    }),
  );
  const num = (key: (typeof KEYS)[number]): number => {
    const raw = fields.get(key);
    if (raw === undefined) throw new Error(`GNU time report lacks ${key}=: "${reportLine}"`);
    const value = Number(raw);
    if (raw === "" || !Number.isFinite(value)) {
      throw new Error(`GNU time report field ${key} is not a number: "${raw}"`);
    }
    return value;
  };
  const userMs = num("user_s") * 1000;
  const sysMs = num("sys_s") * 1000;
  const signalLine = lines.find((l) => /^Command terminated by signal \d+$/.test(l));
  const usage: ProcessUsage = {
    wallMs: num("wall_s") * 1000,
    userMs,
    sysMs,
    cpuMs: userMs + sysMs,
    maxRssKb: num("max_rss_kb"),
    exitStatus: num("exit"),
  };
  if (signalLine) usage.signal = Number(signalLine.split(" ").pop());
  return usage;
}
