/**
 * Reading `/proc` files, with the outcome the OS tier needs: the text, the file is missing (the
 * process exited), or the OS refused it (EACCES: `/proc/<pid>/io` of another user's process).
 *
 * Deno refuses most of `/proc` (`/proc/stat`, `/proc/<pid>/*`, `/proc/sys/*`) to a process that
 * does not run with `--allow-all`, whatever its `--allow-read` list says; only `/proc/pressure/*`
 * is readable under a read permission. The collector runs under a scoped permission set that may
 * load one native library, its own (`ffi/build/libpgquerylens.so`, see `src/extensions/`). So
 * {@link openProcReader} picks:
 *
 * 1. `Deno.readTextFileSync`, when the runtime lets this process read `/proc/self/stat`;
 * 2. otherwise `qlr_proc_read` of the collector's own library, which reads only the few `/proc`
 *    files this tier needs (the list is checked in C, ffi/proc_read.c);
 * 3. otherwise nothing, with the reason and what to do.
 *
 * @module
 */

import { defaultLibraryPath } from "../../extensions/querylens_ffi.ts";
import { withAssetProblem } from "../../extensions/native_assets.ts";

/** Outcome of reading one file. */
export type ProcReadResult =
  | { ok: true; text: string }
  | {
    ok: false;
    /** `missing`: no such file or process; `denied`: the OS refused it (EACCES, EPERM). */
    error: "missing" | "denied";
  };

/** Reads one `/proc` file. */
export type ProcFileReader = (path: string) => ProcReadResult;

/** How {@link openProcReader} reads `/proc`. */
export type ProcReaderKind = "deno" | "ffi";

/** Outcome of {@link openProcReader}. */
export type ProcReaderChoice =
  | { ok: true; kind: ProcReaderKind; read: ProcFileReader; close(): void }
  | { ok: false; reason: string };

const ENOENT = 2;
const ESRCH = 3;
/** `qlr_proc_read` refusals (ffi/proc_read.h). */
const NOT_ALLOWED = -100000;
const TOO_LARGE = -100001;
const BUFFER_SIZE = 64 * 1024;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * A reader through `Deno.readTextFileSync`.
 *
 * @throws Deno.errors.NotCapable from a read when the runtime refuses the path
 */
export function denoProcReader(): ProcFileReader {
  return (path) => {
    try {
      return { ok: true, text: Deno.readTextFileSync(path) };
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) throw e;
      if (e instanceof Deno.errors.PermissionDenied) return { ok: false, error: "denied" };
      return { ok: false, error: "missing" };
    }
  };
}

const PROC_SYMBOLS = {
  qlr_proc_read: { parameters: ["buffer", "buffer", "u32"], result: "i32" },
} as const;

/** A reader through the collector's library; `close()` unloads it. */
export interface FfiProcReader {
  /** Reads one of the files `qlr_proc_read` allows. */
  read: ProcFileReader;
  /** Unloads the library. */
  close(): void;
}

/**
 * A reader that calls `qlr_proc_read` of the collector's own library (`libraryPath`): it reads only
 * the `/proc` files the OS tier and active session history need, a list checked in C
 * (ffi/proc_read.c), so allowing the library does not allow reading anything else.
 *
 * @throws Error when the library cannot be loaded (naming it and the runtime's reason), and from a
 * read of a path outside that list
 */
export function ffiProcReader(libraryPath: string = defaultLibraryPath()): FfiProcReader {
  let lib: Deno.DynamicLibrary<typeof PROC_SYMBOLS>;
  try {
    lib = Deno.dlopen(libraryPath, PROC_SYMBOLS);
  } catch (e) {
    throw new Error(
      withAssetProblem("reader", `cannot load ${libraryPath} to read /proc: ${(e as Error).message}`),
    );
  }
  let buf = new Uint8Array(BUFFER_SIZE);
  const read: ProcFileReader = (path) => {
    const cpath = encoder.encode(`${path}\0`);
    for (;;) {
      const n = lib.symbols.qlr_proc_read(cpath, buf, buf.length);
      if (n >= 0) return { ok: true, text: decoder.decode(buf.subarray(0, n)) };
      if (n === NOT_ALLOWED) throw new Error(`the /proc reader does not read ${path}`);
      if (n === TOO_LARGE && buf.length < 16 * 1024 * 1024) {
        buf = new Uint8Array(buf.length * 4);
        continue;
      }
      if (n === TOO_LARGE) throw new Error(`${path} is larger than 16 MiB`);
      return { ok: false, error: -n === ENOENT || -n === ESRCH ? "missing" : "denied" };
    }
  };
  return { read, close: () => lib.close() };
}

/** Options of {@link openProcReader}. */
export interface OpenProcReaderOptions {
  /** Library for the libc reader; the collector's own by default. */
  libraryPath?: string;
  /** Skip `Deno.readTextFileSync` and use the libc reader (tests of the fallback). */
  forceFfi?: boolean;
}

/**
 * The best way this process has to read `/proc` (see the module documentation), or why it has none.
 */
export function openProcReader(options: OpenProcReaderOptions = {}): ProcReaderChoice {
  let denoRefusal = "";
  if (!options.forceFfi) {
    const read = denoProcReader();
    try {
      read("/proc/self/stat");
      return { ok: true, kind: "deno", read, close: () => {} };
    } catch (e) {
      denoRefusal = (e as Error).message;
    }
  }
  try {
    const ffi = ffiProcReader(options.libraryPath);
    const probe = ffi.read("/proc/self/stat");
    if (!probe.ok) {
      ffi.close();
      return { ok: false, reason: `/proc/self/stat cannot be read through the library (${probe.error})` };
    }
    return { ok: true, kind: "ffi", read: ffi.read, close: ffi.close };
  } catch (e) {
    const runtime = denoRefusal === "" ? "" : `the runtime refuses /proc (${denoRefusal}) and `;
    return {
      ok: false,
      reason: `${runtime}${(e as Error).message}; build the collector's library ("make -C ffi") and ` +
        `allow it (--allow-ffi), or run with --allow-all`,
    };
  }
}
