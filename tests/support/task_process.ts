/**
 * The collector started literally as an operator starts it from a checkout, `deno task start
 * <flags>`, with a clean environment; its output read while it runs; its process tree read from
 * /proc; and commands run under a pseudo-terminal, where a permission prompt would wait for an
 * answer.
 *
 * ```ts
 * await using run = spawnStartTask(["-interval", "2s"], { USERNAME: "u", PASSWORD: "p" });
 * await waitUntil("a document", () => Promise.resolve(run.stdout().includes("\n")));
 * const { code, stdout } = await run.stop();
 * ```
 *
 * @module
 */

import { repoRoot } from "./servers.ts";

/** The environment a run gets: the test process's PATH and HOME, plus `env`. */
export function taskEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root", ...env };
}

/** The arguments of `deno task --quiet start <args>`. */
export function startTaskCommandArgs(args: readonly string[]): string[] {
  return ["task", "--quiet", "start", ...args];
}

/** Collects a byte stream into text as it arrives. */
function drain(stream: ReadableStream<Uint8Array>): { text(): string; done: Promise<void> } {
  const dec = new TextDecoder();
  let text = "";
  const done = (async () => {
    for await (const chunk of stream) text += dec.decode(chunk, { stream: true });
  })();
  return { text: () => text, done };
}

/** What a finished run left. */
export interface TaskOutcome {
  /** Exit code of `deno task`. */
  code: number;
  /** Signal that ended it, when one did. */
  signal: Deno.Signal | null;
  /** Everything it wrote on stdout. */
  stdout: string;
  /** Everything it wrote on stderr. */
  stderr: string;
}

/** A running `deno task start`; disposing it SIGKILLs every process of it still running. */
export interface TaskProcess extends AsyncDisposable {
  /** Pid of the `deno task` process. */
  pid: number;
  /** What it has written on stdout so far. */
  stdout(): string;
  /** What it has written on stderr so far. */
  stderr(): string;
  /** Waits for it to exit by itself. */
  finished(): Promise<TaskOutcome>;
  /**
   * Unless it has exited already, sends `signal` (SIGTERM by default) to `deno task`, which passes
   * it on to the collector, and waits for the exit; SIGKILLs the whole tree when it has not exited
   * after `graceMs` (30 s). SIGKILL goes to every process of the tree at once.
   */
  stop(signal?: Deno.Signal, graceMs?: number): Promise<TaskOutcome>;
}

/**
 * Starts `deno task --quiet start <args>` in the repository root with a clean environment holding
 * only {@link taskEnv}(`env`), its output piped and read as it arrives. Dispose (or stop()) ends it.
 */
export function spawnStartTask(args: readonly string[], env: Record<string, string>): TaskProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: startTaskCommandArgs(args),
    cwd: repoRoot(),
    env: taskEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = drain(child.stdout);
  const err = drain(child.stderr);
  const outcome = (async (): Promise<TaskOutcome> => {
    const status = await child.status;
    await Promise.all([out.done, err.done]);
    return { code: status.code, signal: status.signal, stdout: out.text(), stderr: err.text() };
  })();
  let exited = false;
  outcome.finally(() => exited = true);
  const stop = async (signal: Deno.Signal = "SIGTERM", graceMs = 30_000) => {
    if (exited) return await outcome;
    const tree = [...descendants(child.pid), child.pid];
    if (signal === "SIGKILL") killAll(tree);
    try {
      child.kill(signal);
    } catch {
      // it has exited already
    }
    const hard = setTimeout(() => killAll(tree), graceMs);
    try {
      return await outcome;
    } finally {
      clearTimeout(hard);
    }
  };
  return {
    pid: child.pid,
    stdout: out.text,
    stderr: err.text,
    finished: () => outcome,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop("SIGKILL");
    },
  };
}

/** The direct children of `pid` (empty when it has none or is gone). */
export function childPids(pid: number): number[] {
  const pids: number[] = [];
  let threads: Deno.DirEntry[];
  try {
    threads = [...Deno.readDirSync(`/proc/${pid}/task`)];
  } catch {
    return [];
  }
  for (const t of threads) {
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`);
      pids.push(...text.trim().split(/\s+/).filter((s) => s !== "").map(Number));
    } catch {
      // the thread ended meanwhile
    }
  }
  return [...new Set(pids)];
}

/** Every process below `pid`: its children, theirs, and so on (deepest last). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const c of childPids(pid)) out.push(c, ...descendants(c));
  return out;
}

/** The command line of `pid`, one element per argument; undefined when it is gone. */
export function cmdline(pid: number): string[] | undefined {
  try {
    const raw = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    return raw === "" ? undefined : raw.replace(/\0$/, "").split("\0");
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live process (a zombie, already dead but not reaped, is not). */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** SIGKILLs each of `pids` that is still there. */
function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

/** `word` quoted for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** Text written to a terminal, without colour escapes and carriage returns. */
export function plainTerminalText(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replaceAll("\r", "");
}

/** Outcome of {@link runInPty}. */
export interface PtyRun {
  /** Exit code of the command; undefined when it was killed at the timeout. */
  code: number | undefined;
  /** Whether it was still running at the timeout (and was killed). */
  timedOut: boolean;
  /** How long it ran, in milliseconds. */
  ms: number;
  /** Everything written to the terminal (stdout and stderr together), as plain text. */
  output: string;
  /** Processes of the run still alive after it ended (none, unless one escaped the kill). */
  leftover: number[];
}

/**
 * Runs `command args` on a pseudo-terminal (util-linux `script`), so that standard input and error
 * are a terminal, with a clean environment holding only {@link taskEnv}(`env`), from the repository
 * root. After `timeoutMs` every process of the run is SIGKILLed.
 *
 * @throws Error when `timeoutMs` is not positive
 */
export async function runInPty(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<PtyRun> {
  if (!(timeoutMs > 0)) throw new Error(`runInPty: timeoutMs must be positive, got ${timeoutMs}`);
  const line = [command, ...args].map(shellQuote).join(" ");
  const started = performance.now();
  const child = new Deno.Command("script", {
    args: ["--quiet", "--return", "--command", line, "/dev/null"],
    cwd: repoRoot(),
    env: taskEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = drain(child.stdout);
  const err = drain(child.stderr);
  const seen = new Set<number>();
  const watch = setInterval(() => descendants(child.pid).forEach((p) => seen.add(p)), 50);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    const tree = descendants(child.pid);
    tree.forEach((p) => seen.add(p));
    killAll(tree.reverse());
    killAll([child.pid]);
  }, timeoutMs);
  try {
    const status = await child.status;
    await Promise.all([out.done, err.done]);
    const ms = performance.now() - started;
    // A process SIGKILLed just now may take a moment to be gone.
    const deadline = Date.now() + 3000;
    while ([...seen].some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const leftover = [...seen].filter(isAlive);
    return {
      code: timedOut ? undefined : status.code,
      timedOut,
      ms,
      output: plainTerminalText(out.text() + err.text()),
      leftover,
    };
  } finally {
    clearTimeout(timer);
    clearInterval(watch);
  }
}
