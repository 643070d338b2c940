/**
 * Runs the collector as its own process, as `deno task start` does (`deno run -P=collector
 * main.ts` with a clean environment), under GNU time so that its CPU time and peak RSS are known.
 *
 * One-shot runs end by themselves. Daemon runs (`-interval=… -verbose`) are stopped with SIGTERM
 * once stderr shows the wanted number of `cycle took N ms` lines; the signal goes to the collector
 * (time's child), so time still writes its report.
 *
 * @module
 */

import { repoRoot } from "../../tests/support/servers.ts";
import { cycleDurationsMs } from "./cycle_log.ts";
import { childPids } from "./proc.ts";
import { parseTimeReport, type ProcessUsage, TIME_BINARY, TIME_FORMAT } from "./time_report.ts";

/** Options of {@link runTimedCollector}. */
export interface TimedRunOptions {
  /** Daemon runs: send SIGTERM once this many cycles were logged (needs `-verbose`). */
  stopAfterCycles?: number;
  /** Kill the run and fail after this many milliseconds; 120000 by default. */
  timeoutMs?: number;
}

/** Outcome of one timed collector process. */
export interface TimedCollectorRun {
  /** Exit code of the collector. */
  code: number;
  /** Standard output (NRI documents). */
  stdout: string;
  /** Standard error (logs). */
  stderr: string;
  /** Wall time from spawn to exit, measured by the caller's clock, in milliseconds. */
  wallMs: number;
  /** CPU time and peak RSS of the collector process. */
  usage: ProcessUsage;
  /** Durations of the cycles logged on stderr (only with `-verbose`). */
  cycleMs: number[];
}

/**
 * Runs `deno run -P=collector main.ts ...args` under GNU time with environment `env` (plus PATH and
 * HOME) and returns its output and resource usage.
 *
 * @throws Error when the run exceeds its timeout (the processes are killed first).
 */
export async function runTimedCollector(
  args: string[],
  env: Record<string, string>,
  opts: TimedRunOptions = {},
): Promise<TimedCollectorRun> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const usageFile = await Deno.makeTempFile({ prefix: "pgquerylens-bench-time-" });
  try {
    const started = performance.now();
    const child = new Deno.Command(TIME_BINARY, {
      args: [
        "-o",
        usageFile,
        "-f",
        TIME_FORMAT,
        Deno.execPath(),
        "run",
        "-P=collector",
        "--quiet",
        "main.ts",
        ...args,
      ],
      cwd: repoRoot(),
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root", ...env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const signalCollector = (signal: Deno.Signal) => {
      const pids = childPids(child.pid);
      for (const pid of pids) Deno.kill(pid, signal);
      return pids.length;
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (signalCollector("SIGKILL") === 0) child.kill("SIGKILL");
    }, timeoutMs);
    try {
      const stdoutP = new Response(child.stdout).text();
      const stderrP = (async () => {
        let text = "";
        let stopped = false;
        for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
          text += chunk;
          if (!stopped && opts.stopAfterCycles !== undefined) {
            if (cycleDurationsMs(text).length >= opts.stopAfterCycles) {
              stopped = signalCollector("SIGTERM") > 0;
            }
          }
        }
        return text;
      })();
      const [status, stdout, stderr] = await Promise.all([child.status, stdoutP, stderrP]);
      const wallMs = performance.now() - started;
      if (timedOut) {
        throw new Error(
          `collector ${args.join(" ")} did not finish within ${timeoutMs} ms; stderr tail:\n${
            stderr.trimEnd().split("\n").slice(-10).join("\n")
          }`,
        );
      }
      const usage = parseTimeReport(await Deno.readTextFile(usageFile));
      return { code: status.code, stdout, stderr, wallMs, usage, cycleMs: cycleDurationsMs(stderr) };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await Deno.remove(usageFile).catch(() => {});
  }
}
