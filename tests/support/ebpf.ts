/**
 * Helpers for tests and benchmarks of the eBPF tier, which run as root:
 *
 * - {@link privateInstall}: a private copy of Debian's PostgreSQL 15 `bin/` directory. A uprobe traps
 *   every process that runs the probed binary inode, so clusters traced by a test run from their own
 *   copy and probes never touch other clusters on the host.
 * - {@link mountTracefs}: mounts tracefs when it is not mounted, and unmounts it afterwards only if
 *   it mounted it.
 * - {@link loadedPrograms}: the BPF programs the kernel holds with given names (`bpftool prog show`),
 *   to check that nothing outlives the collector.
 * - {@link evictFromPageCache}: drops files from the page cache (`dd iflag=nocache`), so the next
 *   reads go to the disk.
 * - {@link withoutCapabilities}: a command line that runs a program as root without any capability
 *   (`setpriv`), where loading BPF is not permitted.
 *
 * @module
 */

import { join } from "node:path";
import { debianServer, type ServerInstall } from "./servers.ts";

/** Where tracefs is mounted when the test mounts it. */
export const TRACEFS_DIR = "/sys/kernel/tracing";

/** Names of the eBPF tier's programs as bpftool shows them (in full, from their BTF). */
export const TIER_PROGRAM_NAMES: readonly string[] = [
  "query_start",
  "query_done",
  "execute_start",
  "execute_done",
  "transaction_abort",
  "error_recovery",
  "on_switch",
  "on_wakeup",
  "on_exit",
];

/** A private copy of an install's binaries; remove() deletes it. */
export interface PrivateInstall {
  /** The install to start clusters from: the copy's `bin/`, the original's libraries and share files. */
  server: ServerInstall;
  /** Directory holding the copy. */
  dir: string;
  /** Deletes the copy (stop its clusters first). Safe to call twice. */
  remove(): Promise<void>;
  /** Same as remove(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Copies `base`'s `bin/` into a new directory under the system temp directory (readable by the server
 * user) and links `lib` beside it to the original `pkgLibDir`: PostgreSQL finds its modules relative to
 * its executable, and its share files at the compiled-in path.
 *
 * @throws Error when `base` is not an install whose modules live in `<prefix>/lib` beside `bin/`
 * (Debian's layout).
 */
export async function privateInstall(base: ServerInstall = debianServer()): Promise<PrivateInstall> {
  if (base.libDir !== undefined || join(base.binDir, "..", "lib") !== base.pkgLibDir) {
    throw new Error(
      `privateInstall needs an install with bin/ and lib/ side by side (Debian's), got ${base.binDir}`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "pgql-ebpf-server-" });
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await Deno.chmod(dir, 0o755);
    const bin = join(dir, "bin");
    await Deno.mkdir(bin, { mode: 0o755 });
    for await (const entry of Deno.readDir(base.binDir)) {
      if (!entry.isFile && !entry.isSymlink) continue;
      const target = join(bin, entry.name);
      await Deno.copyFile(join(base.binDir, entry.name), target);
      await Deno.chmod(target, 0o755);
    }
    await Deno.symlink(base.pkgLibDir, join(dir, "lib"));
  } catch (e) {
    await remove();
    throw e;
  }
  const server: ServerInstall = { ...base, binDir: join(dir, "bin"), pkgLibDir: join(dir, "lib") };
  return { server, dir, remove, [Symbol.asyncDispose]: remove };
}

/** A tracefs mount the test may have made. */
export interface TracefsMount {
  /** Whether this call mounted tracefs (and dispose unmounts it). */
  mountedHere: boolean;
  /** Unmounts tracefs if this call mounted it. */
  [Symbol.asyncDispose](): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Whether a filesystem of type `fsType` is mounted at `dir` (from /proc/self/mounts). */
export async function isMounted(dir: string, fsType: string): Promise<boolean> {
  const mounts = await Deno.readTextFile("/proc/self/mounts");
  return mounts.split("\n").some((line) => {
    const f = line.split(" ");
    return f[1] === dir && f[2] === fsType;
  });
}

/**
 * Mounts tracefs at {@link TRACEFS_DIR} unless it is mounted there already.
 *
 * @throws Error when the mount fails (not root).
 */
export async function mountTracefs(): Promise<TracefsMount> {
  if (await isMounted(TRACEFS_DIR, "tracefs")) {
    return { mountedHere: false, [Symbol.asyncDispose]: () => Promise.resolve() };
  }
  const res = await run("mount", ["-t", "tracefs", "nodev", TRACEFS_DIR]);
  if (!res.ok) throw new Error(`cannot mount tracefs at ${TRACEFS_DIR}: ${res.stderr.trim()}`);
  let done = false;
  return {
    mountedHere: true,
    async [Symbol.asyncDispose]() {
      if (done) return;
      done = true;
      const un = await run("umount", [TRACEFS_DIR]);
      if (!un.ok) throw new Error(`cannot unmount tracefs at ${TRACEFS_DIR}: ${un.stderr.trim()}`);
    },
  };
}

/** A BPF program the kernel holds. */
export interface LoadedProgram {
  /** Program id. */
  id: number;
  /** Program name. */
  name: string;
  /** Program type, e.g. `kprobe` or `tracing`. */
  type: string;
}

/**
 * The loaded BPF programs whose names are in `names` ({@link TIER_PROGRAM_NAMES} by default).
 *
 * @throws Error when bpftool fails.
 */
export async function loadedPrograms(
  names: readonly string[] = TIER_PROGRAM_NAMES,
): Promise<LoadedProgram[]> {
  const res = await run("bpftool", ["prog", "show", "--json"]);
  if (!res.ok) throw new Error(`bpftool prog show failed: ${res.stderr.trim()}`);
  const progs = JSON.parse(res.stdout) as { id: number; name?: string; type: string }[];
  return progs
    .filter((p) => p.name !== undefined && names.includes(p.name))
    .map((p) => ({ id: p.id, name: p.name!, type: p.type }));
}

/**
 * Drops every page of the files from the page cache (GNU dd's `iflag=nocache` with `count=0`
 * advises the kernel to drop the whole file), so that the next reads go to the disk.
 *
 * @throws Error naming the file when dd fails.
 */
export async function evictFromPageCache(paths: readonly string[]): Promise<void> {
  await run("sync", []);
  for (const path of paths) {
    const res = await run("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"]);
    if (!res.ok) throw new Error(`cannot evict ${path} from the page cache: ${res.stderr.trim()}`);
  }
}

/**
 * `command` and `args` prefixed so that they run as the same user without any capability: no
 * effective, permitted, inheritable, ambient or bounding capability, so even root cannot regain one
 * across exec (loading BPF then fails with "not permitted").
 */
export function withoutCapabilities(command: string, args: readonly string[]): [string, string[]] {
  return [
    "setpriv",
    ["--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", "--", command, ...args],
  ];
}
