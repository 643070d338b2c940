/**
 * The native pieces the collector loads: the ring and /proc reader library, the eBPF loader library
 * and the BPF object. They are imported as bytes, so `deno compile` embeds them in the binary and a
 * run from the source tree reads them from where `make -C ffi` and `make -C bpf` build them; either
 * way {@link installNativeAssets} writes them to a private directory and the FFI bindings load them
 * from there ({@link nativeAssetPath}).
 *
 * @module
 */

import { join } from "node:path";

/** One of the native pieces. */
export type NativeAsset = "reader" | "bpf_loader" | "bpf_object";

/** Description of one native piece. */
export interface NativeAssetSpec {
  /** File name, in the source tree and in the extraction directory. */
  file: string;
  /** Path relative to the repository root where the build puts it. */
  sourcePath: string;
  /** What builds it, for messages. */
  buildHint: string;
  /** Its bytes, from the module graph (embedded in a compiled binary). */
  load: () => Promise<Uint8Array>;
}

// Literal specifiers, so that `deno compile` sees and embeds every piece.
const bytesOf = (m: { default: Uint8Array }) => m.default;

/** Every native piece, by name. */
export const NATIVE_ASSETS: Readonly<Record<NativeAsset, NativeAssetSpec>> = {
  reader: {
    file: "libpgquerylens.so",
    sourcePath: "ffi/build/libpgquerylens.so",
    buildHint: "make -C ffi",
    load: () => import("../../ffi/build/libpgquerylens.so", { with: { type: "bytes" } }).then(bytesOf),
  },
  bpf_loader: {
    file: "libpgquerylens_bpf.so",
    sourcePath: "ffi/build/libpgquerylens_bpf.so",
    buildHint: "make -C ffi (it needs libbpf-dev and libelf-dev)",
    load: () => import("../../ffi/build/libpgquerylens_bpf.so", { with: { type: "bytes" } }).then(bytesOf),
  },
  bpf_object: {
    file: "pgql_delay.bpf.o",
    sourcePath: "bpf/build/pgql_delay.bpf.o",
    buildHint: "make -C bpf (it needs clang and bpftool)",
    load: () => import("../../bpf/build/pgql_delay.bpf.o", { with: { type: "bytes" } }).then(bytesOf),
  },
};

/** Names of every native piece, in a fixed order. */
export const NATIVE_ASSET_NAMES: readonly NativeAsset[] = ["reader", "bpf_loader", "bpf_object"];

interface Installed {
  paths: Partial<Record<NativeAsset, string>>;
  problems: Partial<Record<NativeAsset, string>>;
}

let installed: Installed | undefined;

/** Records where the pieces were extracted (and why some were not); used by {@link nativeAssetPath}. */
export function setInstalledAssets(
  paths: Partial<Record<NativeAsset, string>>,
  problems: Partial<Record<NativeAsset, string>>,
): void {
  installed = { paths: { ...paths }, problems: { ...problems } };
}

/** Forgets what {@link setInstalledAssets} recorded: paths point at the source tree again. */
export function clearInstalledAssets(): void {
  installed = undefined;
}

/** Where the source tree has `asset` (the build output), from this module's location. */
export function sourceAssetPath(asset: NativeAsset): string {
  const dir = import.meta.dirname;
  if (!dir) throw new Error("native_assets.ts must be loaded from a local file to find the native pieces");
  return join(dir, "..", "..", NATIVE_ASSETS[asset].sourcePath);
}

/**
 * The path to load `asset` from: its extracted copy once the pieces were installed, otherwise the
 * source tree's build output (library users and tests that call the bindings directly).
 */
export function nativeAssetPath(asset: NativeAsset): string {
  return installed?.paths[asset] ?? sourceAssetPath(asset);
}

/**
 * Why `asset` has no extracted copy, when installation was attempted and failed for it; appended to
 * load errors so that they say what to fix.
 */
export function nativeAssetProblem(asset: NativeAsset): string | undefined {
  return installed?.problems[asset];
}

/** A load error's message plus the extraction problem of `asset`, if there was one. */
export function withAssetProblem(asset: NativeAsset, message: string): string {
  const problem = nativeAssetProblem(asset);
  return problem === undefined ? message : `${message} (${problem})`;
}

/**
 * What to say when FFI of a library was refused: the permission set allows native code only below
 * the state directories, where the pieces are extracted at start.
 */
export const FFI_PERMISSION_HINT = "the collector's permission set allows native libraries only below " +
  "/tmp/pgquerylens and /var/lib/pgquerylens, where they are extracted to <temp_dir>/native/ at start";
