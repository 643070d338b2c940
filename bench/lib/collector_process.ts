/**
 * Runs the collector as its own process, as `deno task start` does (`deno run -P=collector
 * main.ts` with a clean environment), under GNU time so that its peak RSS is known, itself under
 * bash, whose `times` gives the CPU time to the millisecond (GNU time prints it in 10 ms steps).
 *
 * One-shot runs end by themselves. Daemon runs (`-interval=… -verbose`) are stopped with SIGTERM
 * once stderr shows the wanted number of `cycle took N ms` lines; the signal goes to the collector
 * (time's child, bash's grandchild), so time and bash still write their reports.
 *
 * {@link runTimedCommand} runs any other command the same way (a trivial script under the start
 * task's flags, a compiled binary), so that start-up figures compare like with like. Every run
 * also records when the first byte reached stdout, seen from the caller's clock while it streams.
 *
 * @module
 */

import { repoRoot } from "../../tests/support/servers.ts";
import { startTaskArgs } from "../../scripts/start_task.ts";
import { cycleDurationsMs } from "./cycle_log.ts";
import { childPids } from "./proc.ts";
import { parseTimeReport, type ProcessUsage, TIME_BINARY, TIME_FORMAT } from "./time_report.ts";
import { BASH_BINARY, CHILD_TIMES_SCRIPT, parseChildTimes } from "./child_times.ts";

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Options of {@link runTimedCollector} and {@link runTimedCommand}. */
export interface TimedRunOptions {
  /** Daemon runs: send SIGTERM once this many cycles were logged (needs `-verbose`). */
  stopAfterCycles?: number;
  /** Kill the run and fail after this many milliseconds; 120000 by default. */
  timeoutMs?: number;
  /** Working directory; the repository root by default. */
  cwd?: string;
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
  /**
   * Time from spawn to the first byte on stdout, measured by the caller's clock while it reads, in
   * milliseconds; undefined when the process wrote nothing to stdout.
   */
  firstStdoutMs?: number;
  /**
   * CPU time and peak RSS of the collector process. CPU is bash's `times` for its children (the
   * process and GNU time, which adds well under a millisecond), to the millisecond.
   */
  usage: ProcessUsage;
  /** Durations of the cycles logged on stderr (only with `-verbose`). */
  cycleMs: number[];
}

/**
 * Runs the collector as `deno task start` does (`deno` with the start task's arguments, then `args`)
 * under GNU time with environment `env` (plus PATH and HOME) and returns its output and resource
 * usage.
 *
 * @throws Error when the run exceeds its timeout (the processes are killed first).
 */
export function runTimedCollector(
  args: string[],
  env: Record<string, string>,
  opts: TimedRunOptions = {},
): Promise<TimedCollectorRun> {
  return runTimedCommand([Deno.execPath(), ...startTaskArgs(), ...args], env, opts);
}

/**
 * Runs `command` (program, then its arguments) under GNU time with a clean environment holding
 * only `env` plus PATH and HOME, and returns its output and resource usage.
 *
 * @throws Error when `command` is empty, or when the run exceeds its timeout (the processes are
 * killed first).
 */
export async function runTimedCommand(
  command: string[],
  env: Record<string, string>,
  opts: TimedRunOptions = {},
): Promise<TimedCollectorRun> {
  if (command.length === 0 || command[0] === "") throw new Error("runTimedCommand: command is empty");
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const usageFile = await Deno.makeTempFile({ prefix: "pgquerylens-bench-time-" });
  const timesFile = await Deno.makeTempFile({ prefix: "pgquerylens-bench-times-" });
  try {
    const started = performance.now();
    const child = new Deno.Command(BASH_BINARY, {
      args: [
        "-c",
        CHILD_TIMES_SCRIPT,
        "timed-run",
        timesFile,
        TIME_BINARY,
        "-o",
        usageFile,
        "-f",
        TIME_FORMAT,
        ...command,
      ],
      cwd: opts.cwd ?? repoRoot(),
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root", ...env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const signal = (pids: number[], sig: Deno.Signal) => {
      let sent = 0;
      for (const pid of pids) {
        try {
          Deno.kill(pid, sig);
          sent++;
        } catch {
          // exited meanwhile
        }
      }
      return sent;
    };
    // bash → GNU time → the command.
    const signalCollector = (sig: Deno.Signal) => signal(childPids(child.pid).flatMap(childPids), sig);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (signalCollector("SIGKILL") === 0 && signal(childPids(child.pid), "SIGKILL") === 0) {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    try {
      let firstStdoutMs: number | undefined;
      const stdoutP = (async () => {
        const parts: Uint8Array[] = [];
        for await (const chunk of child.stdout) {
          if (chunk.length === 0) continue;
          firstStdoutMs ??= performance.now() - started;
          parts.push(chunk);
        }
        return new TextDecoder().decode(concat(parts));
      })();
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
          `${command.join(" ")} did not finish within ${timeoutMs} ms; stderr tail:\n${
            stderr.trimEnd().split("\n").slice(-10).join("\n")
          }`,
        );
      }
      const usage = parseTimeReport(await Deno.readTextFile(usageFile));
      const cpu = parseChildTimes(await Deno.readTextFile(timesFile));
      usage.userMs = cpu.userMs;
      usage.sysMs = cpu.sysMs;
      usage.cpuMs = cpu.userMs + cpu.sysMs;
      const run: TimedCollectorRun = {
        code: status.code,
        stdout,
        stderr,
        wallMs,
        usage,
        cycleMs: cycleDurationsMs(stderr),
      };
      if (firstStdoutMs !== undefined) run.firstStdoutMs = firstStdoutMs;
      return run;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await Deno.remove(usageFile).catch(() => {});
    await Deno.remove(timesFile).catch(() => {});
  }
}
