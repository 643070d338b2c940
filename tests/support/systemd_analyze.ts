/**
 * Runs `systemd-analyze` on a unit without a running systemd: the unit and its drop-ins are staged in
 * a temporary directory put in front of the unit search path (`SYSTEMD_UNIT_PATH=<dir>:`), so
 * `verify` and `security --offline=true` load them as systemd would, drop-ins included.
 * `verify` insists that the `ExecStart=` program exists, so the staged copy points it at a stand-in
 * executable in the same directory.
 *
 * @module
 */

import { join } from "node:path";

/** Where Debian installs `systemd-analyze` (package `systemd`). */
export const SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";

/** Output of one `systemd-analyze` run. */
export interface AnalyzeRun {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error (warnings about the unit land here). */
  stderr: string;
}

/**
 * Runs `systemd-analyze args` with `unitDir` first in the unit search path and `env` added to the
 * environment, from a working directory that holds no unit (a unit name that is also a file name
 * there would be read as a path).
 *
 * @throws Error saying that systemd-analyze is needed, when it is not installed
 */
export async function analyze(
  args: string[],
  unitDir?: string,
  env: Record<string, string> = {},
): Promise<AnalyzeRun> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(SYSTEMD_ANALYZE, {
      args,
      cwd: "/",
      env: unitDir === undefined ? env : { ...env, SYSTEMD_UNIT_PATH: `${unitDir}:` },
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `${SYSTEMD_ANALYZE} is needed to check the systemd units (Debian package "systemd"; ` +
          "scripts/setup.sh installs it)",
      );
    }
    throw e;
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A unit staged for `systemd-analyze`. */
export interface StagedUnit extends AsyncDisposable {
  /** The directory to put first in the unit search path. */
  dir: string;
  /** The unit's name. */
  name: string;
}

/**
 * Writes `unitText` as `<dir>/<name>` with its `ExecStart=` program `program` replaced by a
 * stand-in executable in `dir`, and each drop-in as `<dir>/<name>.d/<file>`. Disposing removes `dir`.
 *
 * @throws Error when `program` does not appear on an `ExecStart=` line of the unit
 */
export async function stageUnit(
  name: string,
  unitText: string,
  program: string,
  dropIns: Record<string, string> = {},
): Promise<StagedUnit> {
  const dir = await Deno.makeTempDir({ prefix: "pgquerylens-unit-" });
  const standIn = join(dir, "bin", program.split("/").at(-1)!);
  let replaced = 0;
  const text = unitText.replace(/^(ExecStart=[-@:+!]*)(\S+)/gm, (line, prefix: string, path: string) => {
    if (path !== program) return line;
    replaced++;
    return prefix + standIn;
  });
  if (replaced === 0) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`${name}: no ExecStart= runs ${program}`);
  }
  await Deno.mkdir(join(dir, "bin"));
  await Deno.writeTextFile(standIn, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  await Deno.writeTextFile(join(dir, name), text);
  if (Object.keys(dropIns).length > 0) await Deno.mkdir(join(dir, `${name}.d`));
  for (const [file, content] of Object.entries(dropIns)) {
    await Deno.writeTextFile(join(dir, `${name}.d`, file), content);
  }
  return { dir, name, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** One check of `systemd-analyze security` that the unit does not pass. */
export interface Exposure {
  /** The check, e.g. `PrivateNetwork=` or `CapabilityBoundingSet=~CAP_BPF`. */
  name: string;
  /** systemd's sentence about it. */
  description: string;
  /** Its weight in the overall figure. */
  exposure: number;
}

/** The offline security assessment of a staged unit. */
export interface SecurityReport {
  /** Overall exposure, 0.0 (best) to 10.0. */
  score: number;
  /** systemd's word for the score (OK, MEDIUM, EXPOSED, UNSAFE, ...). */
  verdict: string;
  /** The checks the unit does not pass. */
  exposures: Exposure[];
}

/**
 * Runs `systemd-analyze security --offline=true` on a staged unit (text for the overall figure,
 * JSON for the checks).
 *
 * @throws Error when systemd-analyze fails or its output has no overall figure
 */
export async function security(unit: StagedUnit): Promise<SecurityReport> {
  const base = ["security", "--offline=true", "--no-pager"];
  const text = await analyze([...base, unit.name], unit.dir);
  const m = /Overall exposure level for \S+: (\d+\.\d) (\w+)/.exec(text.stdout);
  if (text.code !== 0 || m === null) {
    throw new Error(
      `systemd-analyze security ${unit.name} failed (${text.code}): ${text.stderr}${text.stdout}`,
    );
  }
  const json = await analyze([...base, "--json=short", unit.name], unit.dir);
  if (json.code !== 0) throw new Error(`systemd-analyze security --json failed: ${json.stderr}`);
  const checks = JSON.parse(json.stdout) as {
    set: boolean | null;
    name: string;
    description: string;
    exposure: string | null;
  }[];
  const exposures = checks
    .filter((c) => c.set === false && c.exposure !== null && Number(c.exposure) > 0)
    .map((c) => ({ name: c.name, description: c.description, exposure: Number(c.exposure) }));
  return { score: Number(m[1]), verdict: m[2], exposures };
}

/**
 * The system calls each `@group` of `systemd-analyze syscall-filter` stands for, nested groups
 * expanded.
 */
export async function syscallGroups(): Promise<Map<string, Set<string>>> {
  const run = await analyze(["syscall-filter", "--no-pager"]);
  if (run.code !== 0) throw new Error(`systemd-analyze syscall-filter failed: ${run.stderr}`);
  const direct = new Map<string, string[]>();
  let group: string[] | undefined;
  for (const raw of run.stdout.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!/^\s/.test(raw) && line.startsWith("@")) {
      group = [];
      direct.set(line, group);
    } else {
      group?.push(line);
    }
  }
  const expanded = new Map<string, Set<string>>();
  const expand = (name: string, seen: Set<string>): Set<string> => {
    const done = expanded.get(name);
    if (done !== undefined) return done;
    const out = new Set<string>();
    for (const member of direct.get(name) ?? []) {
      if (!member.startsWith("@")) out.add(member);
      else if (!seen.has(member)) { for (const s of expand(member, new Set([...seen, name]))) out.add(s); }
    }
    expanded.set(name, out);
    return out;
  };
  for (const name of direct.keys()) expand(name, new Set());
  return expanded;
}

/**
 * The system calls a list of `SystemCallFilter=` values allows, as systemd combines them: the first
 * value decides between an allow list (no `~`) and a deny list; in an allow list, later values add
 * their calls and `~` values remove theirs. Returns undefined for a deny list (not an allow list).
 *
 * @throws Error naming an unknown `@group`
 */
export function allowedSyscalls(
  filters: string[],
  groups: Map<string, Set<string>>,
): Set<string> | undefined {
  if (filters.length === 0 || filters[0].startsWith("~")) return undefined;
  const allowed = new Set<string>();
  for (const filter of filters) {
    const deny = filter.startsWith("~");
    for (const item of filter.replace(/^~/, "").split(/\s+/).filter((w) => w !== "")) {
      const calls = item.startsWith("@") ? groups.get(item) : new Set([item]);
      if (calls === undefined) throw new Error(`unknown system call group ${item}`);
      for (const call of calls) deny ? allowed.delete(call) : allowed.add(call);
    }
  }
  return allowed;
}

/**
 * The keys of `expected` whose value systemd does not read from `text` as `expected` says. systemd
 * parses environment files (`EnvironmentFile=`) and os-release files with one parser, so `text` is
 * given to `systemd-analyze condition` as the os-release file (`SYSTEMD_OS_RELEASE`) and each
 * value is checked with `ConditionOSRelease="KEY=value"` (string equality), one run per key (a run
 * stops at its first failed condition).
 *
 * @throws Error when `expected` is empty or holds an empty value (a condition cannot test for one),
 * or when systemd-analyze gives no verdict
 */
export async function envFileMismatches(text: string, expected: Map<string, string>): Promise<string[]> {
  if (expected.size === 0) throw new Error("nothing to check");
  const file = await Deno.makeTempFile({ prefix: "pgquerylens-env-" });
  try {
    await Deno.writeTextFile(file, text);
    const quote = (s: string) => `"${s.replace(/[\\"]/g, (c) => "\\" + c)}"`;
    const failed: string[] = [];
    for (const [key, value] of expected) {
      if (value === "") throw new Error(`${key}: an empty value cannot be checked with ConditionOSRelease=`);
      const run = await analyze(["condition", `ConditionOSRelease=${quote(`${key}=${value}`)}`], undefined, {
        SYSTEMD_OS_RELEASE: file,
      });
      const out = run.stderr + run.stdout;
      if (/Conditions succeeded\./.test(out) && run.code === 0) continue;
      if (!/Conditions failed\./.test(out)) {
        throw new Error(`systemd-analyze condition gave no verdict: ${out}`);
      }
      failed.push(key);
    }
    return failed;
  } finally {
    await Deno.remove(file);
  }
}
