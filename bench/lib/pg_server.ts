/**
 * Running a throwaway cluster's server programs (`pg_ctl`, `postgres --single`, possibly under
 * valgrind or GNU time) as the OS user that owns its data directory, and restarting its server
 * with another configuration.
 *
 * Settings are given on the server's command line (`-c name=value`), so each restart states the
 * whole configuration it measures and nothing is left behind in the data directory's files.
 *
 * @module
 */

import { join } from "node:path";
import { type Cluster, serverUser } from "../../tests/support/cluster.ts";

/** Server settings, `name` → value, passed as `-c name=value`. */
export type ServerSettings = Record<string, string>;

/** Outcome of one program run. */
export interface ProgramRun {
  /** Exit code. */
  code: number;
  /** Standard output (empty when it was discarded). */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Options of {@link runProgram}. */
export interface ProgramOptions {
  /** Text written to the program's standard input (closed afterwards); none by default. */
  stdin?: string;
  /** Keep standard output (`piped`, the default) or discard it (`null`). */
  stdout?: "piped" | "null";
}

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;
/** Values that pass unquoted through `pg_ctl -o` (which hands its options to a shell). */
const SETTING_VALUE = /^[A-Za-z0-9_.,:/+-]*$/;
const START_TIMEOUT_SECONDS = "60";

/**
 * The settings as command-line arguments: `-c name=value` for each, in order.
 *
 * @throws Error naming the setting when a name or value holds characters other than letters,
 * digits and `_ . , : / + -` (the values travel through a shell unquoted).
 */
export function settingArgs(settings: ServerSettings): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(settings)) {
    if (!SETTING_NAME.test(name)) throw new Error(`invalid server setting name "${name}"`);
    if (!SETTING_VALUE.test(value)) {
      throw new Error(
        `server setting ${name}: value "${value}" may only hold letters, digits and _ . , : / + -`,
      );
    }
    args.push("-c", `${name}=${value}`);
  }
  return args;
}

/** Path of one of the cluster's server programs (`pg_ctl`, `postgres`, `pgbench`, ...). */
export function serverProgram(cluster: Cluster, program: string): string {
  return join(cluster.server.binDir, program);
}

/**
 * The command line that runs `exe args` as the server's OS user (through `runuser` when this
 * process is root), with the install's library directory on `LD_LIBRARY_PATH` when it has one.
 */
export function asServerUser(cluster: Cluster, exe: string, args: string[]): string[] {
  const env = cluster.server.libDir ? [`LD_LIBRARY_PATH=${cluster.server.libDir}`] : [];
  const user = serverUser();
  const inner = ["env", ...env, exe, ...args];
  return user ? ["runuser", "-u", user.name, "--", ...inner] : inner;
}

/** Runs `argv` to completion, feeding `opts.stdin`, and returns its exit code and output. */
export async function runProgram(argv: string[], opts: ProgramOptions = {}): Promise<ProgramRun> {
  if (argv.length === 0) throw new Error("runProgram: empty command line");
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: opts.stdout ?? "piped",
    stderr: "piped",
  }).spawn();
  const feed = (async () => {
    if (opts.stdin === undefined) return;
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(opts.stdin));
      await writer.close();
    } catch {
      // the program exited before reading everything; its exit code and stderr tell why
    }
  })();
  const stdoutP = opts.stdout === "null" ? Promise.resolve("") : new Response(child.stdout).text();
  const stderrP = new Response(child.stderr).text();
  const [status, stdout, stderr] = await Promise.all([child.status, stdoutP, stderrP, feed]);
  return { code: status.code, stdout, stderr };
}

/** Whether the cluster's postmaster is running (its data directory holds `postmaster.pid`). */
export function serverRunning(cluster: Cluster): boolean {
  try {
    return Deno.statSync(join(cluster.dataDir, "postmaster.pid")).isFile;
  } catch {
    return false;
  }
}

/**
 * The pid of the cluster's postmaster (first line of `postmaster.pid`).
 *
 * @throws Error when the server is not running.
 */
export function postmasterPid(cluster: Cluster): number {
  let text: string;
  try {
    text = Deno.readTextFileSync(join(cluster.dataDir, "postmaster.pid"));
  } catch {
    throw new Error(`the server of ${cluster.dataDir} is not running (no postmaster.pid)`);
  }
  const pid = Number(text.split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new Error(`postmaster.pid of ${cluster.dataDir} holds no pid`);
  }
  return pid;
}

/**
 * Restricts the postmaster to the CPUs in `cpus` (a `taskset` list such as `0` or `0-1`). Backends
 * forked afterwards inherit it; processes already running keep theirs. A restart undoes it.
 *
 * @throws Error when the server is not running or taskset fails.
 */
export async function pinPostmaster(cluster: Cluster, cpus: string): Promise<void> {
  const res = await runProgram(["taskset", "-p", "-c", cpus, String(postmasterPid(cluster))]);
  if (res.code !== 0) throw new Error(`taskset -p -c ${cpus} failed (${res.code}): ${res.stderr.trim()}`);
}

/**
 * Stops the cluster's server with a fast shutdown and waits for it; does nothing when it is not
 * running.
 *
 * @throws Error with pg_ctl's output when the server does not stop.
 */
export async function stopServer(cluster: Cluster): Promise<void> {
  if (!serverRunning(cluster)) return;
  const argv = asServerUser(cluster, serverProgram(cluster, "pg_ctl"), [
    "-D",
    cluster.dataDir,
    "-m",
    "fast",
    "-w",
    "stop",
  ]);
  const res = await runProgram(argv);
  if (res.code !== 0) {
    throw new Error(`pg_ctl stop failed (${res.code}): ${(res.stdout + res.stderr).trim()}`);
  }
}

/**
 * Starts the cluster's server (stopping it first when it runs) on its port with `settings` on the
 * command line, and waits until it accepts connections.
 *
 * @throws Error with the tail of the server log when it does not start (e.g. a library in
 * `shared_preload_libraries` that is not installed).
 */
export async function restartServer(cluster: Cluster, settings: ServerSettings): Promise<void> {
  const options = ["-p", String(cluster.port), ...settingArgs(settings)].join(" ");
  await stopServer(cluster);
  const argv = asServerUser(cluster, serverProgram(cluster, "pg_ctl"), [
    "-D",
    cluster.dataDir,
    "-l",
    cluster.logFile,
    "-o",
    options,
    "-w",
    "-t",
    START_TIMEOUT_SECONDS,
    "start",
  ]);
  const res = await runProgram(argv);
  if (res.code !== 0) {
    throw new Error(
      `server did not start with ${options}: ${res.stderr.trim()}\n--- server log ---\n${
        cluster.logTail(20)
      }`,
    );
  }
}
