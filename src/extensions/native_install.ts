/**
 * Extracts the native pieces ({@link NATIVE_ASSETS}) into a private, versioned directory
 * `<temp_dir>/native/<version>-<digest>/` at start, so that `Deno.dlopen` and libbpf load real
 * files — a compiled binary cannot load a library from inside itself — and the collector's FFI
 * permission can name that directory alone.
 *
 * The directory must be safe to load code from: `native/` and the version directory are real
 * directories (not symbolic links) of the collector's own user with no access for group or others,
 * and every file is compared with the embedded bytes (SHA-256) before it is used. A copy that
 * differs is replaced atomically (temporary file, then rename). Directories of other versions that
 * were not used for {@link PRUNE_AFTER_MS} are removed.
 *
 * @module
 */

import { join } from "node:path";
import { errorText } from "../core/state_dir.ts";
import { NATIVE_ASSET_NAMES, NATIVE_ASSETS, type NativeAsset, setInstalledAssets } from "./native_assets.ts";

/**
 * The directories the collector's permission set lets it write (and load native code from, below
 * `native/`); `temp_dir` must be one of them for the native pieces to load.
 */
export const STATE_ROOTS: readonly string[] = ["/tmp/pgquerylens", "/var/lib/pgquerylens"];

/** Other versions' directories unused for this long are removed (7 days). */
export const PRUNE_AFTER_MS = 7 * 24 * 3600 * 1000;

/** Outcome of {@link installNativeAssets}. */
export interface NativeInstallReport {
  /** The versioned directory, when it could be prepared. */
  dir?: string;
  /** Extracted pieces and their paths. */
  paths: Partial<Record<NativeAsset, string>>;
  /** Pieces that are not available, and why. */
  problems: Partial<Record<NativeAsset, string>>;
  /** Whether a piece had to be written (false when every copy was already in place). */
  wrote: boolean;
  /** Directories of other versions removed. */
  pruned: string[];
}

/** Options of {@link installNativeAssets}. */
export interface NativeInstallOptions {
  /** Pieces to install; all by default. */
  assets?: readonly NativeAsset[];
  /** Bytes of a piece; the embedded bytes by default. */
  load?: (asset: NativeAsset) => Promise<Uint8Array>;
  /** Record the paths for the FFI bindings ({@link setInstalledAssets}); true by default. */
  register?: boolean;
  /** Clock for pruning; `Date.now` by default. */
  now?: () => number;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Why the directory `path` (owned, per `info`) is not private to `uid`; undefined when it is. */
function privacyProblem(path: string, info: Deno.FileInfo, uid: number): string | undefined {
  if (info.isSymlink) return `${path} is a symbolic link`;
  if (!info.isDirectory) return `${path} is not a directory`;
  if (info.uid !== uid) return `${path} belongs to uid ${info.uid}, not to the collector's uid ${uid}`;
  if (((info.mode ?? 0) & 0o077) !== 0) {
    return `${path} has mode ${((info.mode ?? 0) & 0o777).toString(8)}; it must not be accessible to group ` +
      `or others`;
  }
  return undefined;
}

/** Creates `path` (mode 0700) when missing; makes an existing own directory private. */
async function privateDir(path: string, uid: number | undefined): Promise<void> {
  const before = await lstatOrUndefined(path);
  if (before === undefined) await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  const info = (await lstatOrUndefined(path))!;
  if (uid !== undefined && info.isDirectory && !info.isSymlink && info.uid === uid) {
    if (((info.mode ?? 0) & 0o077) !== 0) await Deno.chmod(path, 0o700);
  }
}

async function checkPrivate(path: string, uid: number): Promise<void> {
  const info = await Deno.lstat(path);
  const problem = privacyProblem(path, info, uid);
  if (problem !== undefined) throw new Error(`refusing to load native code from it: ${problem}`);
}

/** Writes `bytes` to `target` via a temporary file in the same directory, mode 0500. */
async function replaceFile(dir: string, target: string, bytes: Uint8Array): Promise<void> {
  const tmp = await Deno.makeTempFile({ dir, prefix: ".extract-" });
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.chmod(tmp, 0o500);
    await Deno.rename(tmp, target);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Whether `target` is a regular file of `uid` holding exactly the bytes with digest `digest`. */
async function upToDate(target: string, uid: number, digest: string): Promise<boolean> {
  const info = await lstatOrUndefined(target);
  if (info === undefined || !info.isFile || info.isSymlink || info.uid !== uid) return false;
  return await sha256Hex(await Deno.readFile(target)) === digest;
}

/** The uid that owns files this process creates, learnt from a file it creates in `dir`. */
async function ownUid(dir: string): Promise<number> {
  const probe = await Deno.makeTempFile({ dir, prefix: ".owner-" });
  try {
    return (await Deno.lstat(probe)).uid!;
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
}

async function prune(base: string, keep: string, now: number): Promise<string[]> {
  const removed: string[] = [];
  for await (const entry of Deno.readDir(base)) {
    if (entry.name === keep || !entry.isDirectory) continue;
    const path = join(base, entry.name);
    const info = await Deno.lstat(path);
    if (info.mtime !== null && now - info.mtime.getTime() > PRUNE_AFTER_MS) {
      await Deno.remove(path, { recursive: true });
      removed.push(path);
    }
  }
  return removed;
}

/**
 * Extracts the native pieces into `<root>/native/<version>-<digest>/` (digest of their bytes) and,
 * unless told otherwise, records their paths for the FFI bindings. A piece that cannot be loaded
 * (not built in a source tree) is reported in `problems`; so is every piece when the directory
 * cannot be made private or written.
 */
export async function installNativeAssets(
  root: string,
  version: string,
  options: NativeInstallOptions = {},
): Promise<NativeInstallReport> {
  const assets = options.assets ?? NATIVE_ASSET_NAMES;
  const load = options.load ?? ((a: NativeAsset) => NATIVE_ASSETS[a].load());
  const report: NativeInstallReport = { paths: {}, problems: {}, wrote: false, pruned: [] };
  const bytes = new Map<NativeAsset, Uint8Array>();
  for (const asset of assets) {
    try {
      bytes.set(asset, await load(asset));
    } catch (e) {
      report.problems[asset] = `${NATIVE_ASSETS[asset].sourcePath} is not available (${errorText(e)}); ` +
        `build it with "${NATIVE_ASSETS[asset].buildHint}"`;
    }
  }
  if (bytes.size > 0) {
    const digests = new Map<NativeAsset, string>();
    for (const [asset, b] of bytes) digests.set(asset, await sha256Hex(b));
    const combined = await sha256Hex(
      new TextEncoder().encode([...digests].map(([a, d]) => `${a}:${d}`).join()),
    );
    const base = join(root, "native");
    const name = `${version}-${combined.slice(0, 12)}`;
    const dir = join(base, name);
    try {
      await privateDir(root, undefined);
      await privateDir(base, undefined);
      const uid = await ownUid(base);
      await privateDir(base, uid);
      await checkPrivate(base, uid);
      await privateDir(dir, uid);
      await checkPrivate(dir, uid);
      for (const [asset, b] of bytes) {
        const target = join(dir, NATIVE_ASSETS[asset].file);
        if (!await upToDate(target, uid, digests.get(asset)!)) {
          await replaceFile(dir, target, b);
          report.wrote = true;
        }
        report.paths[asset] = target;
      }
      report.dir = dir;
      const now = (options.now ?? Date.now)();
      await Deno.utime(dir, new Date(now), new Date(now));
      report.pruned = await prune(base, name, now);
    } catch (e) {
      const why = e instanceof Deno.errors.NotCapable
        ? `${errorText(e)}; the collector may write only below ${STATE_ROOTS.join(" and ")}, so temp_dir ` +
          `must be one of them`
        : errorText(e);
      for (const asset of bytes.keys()) {
        delete report.paths[asset];
        report.problems[asset] = `cannot extract the native pieces into ${dir}: ${why}`;
      }
    }
  }
  if (options.register ?? true) setInstalledAssets(report.paths, report.problems);
  return report;
}
