/**
 * The eBPF tier's loader: the C library `ffi/build/libpgquerylens_bpf.so` (over libbpf) opened with
 * `Deno.dlopen`, loading the BPF object `bpf/build/pgql_delay.bpf.o` and attaching it to one
 * PostgreSQL server. Every call is synchronous and bounded; nothing calls back into JavaScript.
 *
 * ```ts
 * const probe = probeTier(postmasterPid);
 * if (!probe.ok) console.error(probe.message);
 * using tracer = openTracer(postmasterPid, { thresholdNs: 10_000_000, sampleEvery: 1 });
 * const events = tracer.poll();
 * ```
 *
 * Failures throw a {@link BpfTierError} whose `code` says what is missing (privileges, BTF, the
 * server's executable or its USDT probes, the object or the library) and whose message says what to
 * do. Before anything is opened, the library's ABI version, event size, counter count and the offset
 * of every event field are compared with the decoder's; a mismatch refuses to load.
 *
 * @module
 */

import { FFI_PERMISSION_HINT, nativeAssetPath, withAssetProblem } from "./native_assets.ts";
import {
  BPF_ABI_VERSION,
  COUNTER_NAMES,
  countersFrom,
  decodeEvent,
  EVENT_OFFSETS,
  EVENT_SIZE,
  type OsDelayEvent,
  type TracerCounters,
} from "./bpf_event.ts";

export type { OsDelayEvent, TracerCounters } from "./bpf_event.ts";

/** What went wrong, as {@link BpfTierError.code}. */
export type BpfTierErrorCode =
  | "not_permitted"
  | "no_btf"
  | "no_binary"
  | "no_usdt"
  | "no_tracefs"
  | "no_object"
  | "load_failed"
  | "attach_failed"
  | "invalid"
  | "os_error"
  | "no_library"
  | "abi_mismatch";

/** The library's status codes (`PQB_*` of ffi/bpf_loader.h) by their {@link BpfTierErrorCode}. */
export const STATUS_CODES: Readonly<Record<number, BpfTierErrorCode>> = {
  [-1]: "not_permitted",
  [-2]: "no_btf",
  [-3]: "no_binary",
  [-4]: "no_usdt",
  [-5]: "no_tracefs",
  [-6]: "no_object",
  [-7]: "load_failed",
  [-8]: "attach_failed",
  [-9]: "invalid",
  [-10]: "os_error",
};

/** A failure to load the library, to attach the tier, or to read it. */
export class BpfTierError extends Error {
  /** What went wrong. */
  readonly code: BpfTierErrorCode;

  /** An error with `code` and a message that says what is missing and what to do. */
  constructor(code: BpfTierErrorCode, message: string) {
    super(message);
    this.name = "BpfTierError";
    this.code = code;
  }
}

/** The error of a negative library status, with the library's explanation. */
export function statusError(status: number, message: string): BpfTierError {
  return new BpfTierError(STATUS_CODES[status] ?? "os_error", message || `status ${status}`);
}

const SYMBOLS = {
  pqb_abi_version: { parameters: [], result: "u32" },
  pqb_event_size: { parameters: [], result: "u32" },
  pqb_counter_count: { parameters: [], result: "u32" },
  pqb_event_offsets: { parameters: ["buffer", "u32"], result: "i32" },
  pqb_probe: { parameters: ["buffer", "i32", "buffer", "u32"], result: "i32" },
  pqb_open: { parameters: ["buffer", "i32", "u64", "u32", "buffer", "buffer", "u32"], result: "pointer" },
  pqb_poll: { parameters: ["pointer", "buffer", "u32", "i32"], result: "i32" },
  pqb_counters: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  pqb_describe: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  pqb_log: { parameters: ["buffer", "u32"], result: "i32" },
  pqb_process_info: { parameters: ["i32", "buffer"], result: "i32" },
  pqb_clock_offset_ns: { parameters: [], result: "i64" },
  pqb_close: { parameters: ["pointer"], result: "void" },
} as const;

/** The loaded loader library. */
export type LoaderLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

/**
 * The loader library: its extracted copy once the native pieces were installed at start, otherwise
 * `ffi/build/libpgquerylens_bpf.so` of this source tree (where `make -C ffi` builds it).
 */
export function defaultLoaderPath(): string {
  return nativeAssetPath("bpf_loader");
}

/**
 * The BPF object: its extracted copy once the native pieces were installed at start, otherwise
 * `bpf/build/pgql_delay.bpf.o` of this source tree (where `make -C bpf` builds it).
 */
export function defaultObjectPath(): string {
  return nativeAssetPath("bpf_object");
}

const MESSAGE_BYTES = 4096;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cString(value: string, what: string): Uint8Array<ArrayBuffer> {
  if (typeof value !== "string" || value === "" || value.includes("\0")) {
    throw new TypeError(`${what} must be a non-empty string without NUL, got ${JSON.stringify(value)}`);
  }
  const bytes = encoder.encode(value);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function readCString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return decoder.decode(buf.subarray(0, end < 0 ? buf.length : end));
}

function checkPid(pid: number, what = "postmaster pid"): void {
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) {
    throw new RangeError(`${what} must be a positive integer, got ${pid}`);
  }
}

/**
 * Loads the loader library and checks that it speaks this decoder's ABI.
 *
 * @throws BpfTierError `no_library` when it cannot be loaded, `abi_mismatch` when it was built from
 * another `bpf/pgql_delay.h`.
 */
export function loadLoaderLibrary(path: string = defaultLoaderPath()): LoaderLibrary {
  let lib: LoaderLibrary;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
  } catch (e) {
    const hint = e instanceof Deno.errors.NotCapable
      ? FFI_PERMISSION_HINT
      : `build it with "make -C ffi" (it needs libbpf-dev and libelf-dev)`;
    throw new BpfTierError(
      "no_library",
      withAssetProblem(
        "bpf_loader",
        `cannot load the eBPF loader library ${path}: ${(e as Error).message}; ${hint}`,
      ),
    );
  }
  const problem = abiProblem(lib);
  if (problem) {
    lib.close();
    throw new BpfTierError(
      "abi_mismatch",
      `the eBPF loader library ${path} was built for another event layout (${problem}); rebuild it with ` +
        `"make -C ffi"`,
    );
  }
  return lib;
}

/** How the library's ABI differs from the decoder's; undefined when it does not. */
function abiProblem(lib: LoaderLibrary): string | undefined {
  const abi = lib.symbols.pqb_abi_version();
  if (abi !== BPF_ABI_VERSION) return `ABI ${abi}, decoder ${BPF_ABI_VERSION}`;
  const size = lib.symbols.pqb_event_size();
  if (size !== EVENT_SIZE) return `event of ${size} bytes, decoder ${EVENT_SIZE}`;
  const counters = lib.symbols.pqb_counter_count();
  if (counters !== COUNTER_NAMES.length) return `${counters} counters, decoder ${COUNTER_NAMES.length}`;
  const names = Object.keys(EVENT_OFFSETS) as (keyof typeof EVENT_OFFSETS)[];
  const out = new Uint32Array(names.length + 4);
  const count = lib.symbols.pqb_event_offsets(new Uint8Array(out.buffer), out.length);
  if (count !== names.length) return `${count} event fields, decoder ${names.length}`;
  for (let i = 0; i < names.length; i++) {
    if (out[i] !== EVENT_OFFSETS[names[i]]) {
      return `field ${names[i]} at offset ${out[i]}, decoder ${EVENT_OFFSETS[names[i]]}`;
    }
  }
  return undefined;
}

/** Where the native parts are. */
export interface NativePaths {
  /** Path of the loader library; {@link defaultLoaderPath} by default. */
  libraryPath?: string;
  /** Path of the BPF object; {@link defaultObjectPath} by default. */
  objectPath?: string;
}

/** What {@link probeTier} found. */
export type ProbeResult =
  | { ok: true; message: string }
  | { ok: false; code: BpfTierErrorCode; message: string };

/**
 * Checks, without loading any BPF program, whether the tier can run for the server whose postmaster
 * is `postmasterPid`: the library and object, privileges, BTF, uprobes, the server's executable and
 * its USDT probes. Never throws for a missing requirement; says which one is missing.
 *
 * @throws RangeError for an invalid pid.
 */
export function probeTier(postmasterPid: number, paths: NativePaths = {}): ProbeResult {
  checkPid(postmasterPid);
  let lib: LoaderLibrary;
  try {
    lib = loadLoaderLibrary(paths.libraryPath);
  } catch (e) {
    const err = e as BpfTierError;
    return { ok: false, code: err.code, message: err.message };
  }
  try {
    const msg = new Uint8Array(MESSAGE_BYTES);
    const object = cString(paths.objectPath ?? defaultObjectPath(), "object path");
    const status = lib.symbols.pqb_probe(object, postmasterPid, msg, msg.length);
    const message = readCString(msg);
    return status === 0
      ? { ok: true, message }
      : { ok: false, code: statusError(status, message).code, message };
  } finally {
    lib.close();
  }
}

/** What the loader attached, as `pqb_describe` reports it. */
export interface TracerDescription {
  /** Postmaster the programs filter on. */
  postmasterPid: number;
  /** The server's executable, as /proc/<pid>/exe pointed to it. */
  executable: string;
  /** USDT links (one per probe, each covering every site of the probe). */
  usdtLinks: number;
  /** Scheduler hooks attached. */
  tracepointLinks: number;
  /** Whether failures inside subtransactions are closed at error recovery. */
  errorProbe: boolean;
  /** Whether extended-protocol queries get their text (debug_query_string was found). */
  queryTextExtended: boolean;
  /** Latency threshold of emitted events, ns. */
  thresholdNs: number;
  /** One query in this many is traced. */
  sampleEvery: number;
}

/** Options of {@link openTracer}. */
export interface TracerOptions extends NativePaths {
  /** Queries shorter than this many nanoseconds are counted, not emitted. */
  thresholdNs: number;
  /** Trace one query in this many (1: every query). */
  sampleEvery: number;
}

/** An attached tier. */
export interface Tracer {
  /** What was attached. */
  readonly description: TracerDescription;
  /**
   * Events written since the last call, up to `maxEvents` (all by default): calls the library until
   * a call returns fewer events than fit.
   *
   * @throws BpfTierError when the ring buffer cannot be read.
   */
  poll(maxEvents?: number): OsDelayEvent[];
  /** The program's counters, cumulative since it was loaded. */
  counters(): TracerCounters;
  /** CLOCK_REALTIME − CLOCK_MONOTONIC now, in nanoseconds (event times are monotonic). */
  clockOffsetNs(): bigint;
  /** Detaches every probe and unloads the library; later calls throw. Safe to call twice. */
  close(): void;
  /** Same as close(), for `using`. */
  [Symbol.dispose](): void;
}

/** Events one library call copies at most (192 KiB of buffer). */
export const POLL_BATCH_EVENTS = 1024;

/**
 * Loads the BPF object and attaches it to the server whose postmaster is `postmasterPid`.
 *
 * @throws BpfTierError naming what is missing or what failed (with libbpf's explanation).
 * @throws RangeError or TypeError for invalid arguments.
 */
export function openTracer(postmasterPid: number, options: TracerOptions): Tracer {
  checkPid(postmasterPid);
  const { thresholdNs, sampleEvery } = options;
  if (!Number.isSafeInteger(thresholdNs) || thresholdNs < 0) {
    throw new RangeError(`thresholdNs must be an integer >= 0, got ${thresholdNs}`);
  }
  if (!Number.isInteger(sampleEvery) || sampleEvery < 1 || sampleEvery > 0xffffffff) {
    throw new RangeError(`sampleEvery must be an integer >= 1, got ${sampleEvery}`);
  }
  const object = cString(options.objectPath ?? defaultObjectPath(), "object path");
  const lib = loadLoaderLibrary(options.libraryPath);
  const status = new Int32Array(1);
  const msg = new Uint8Array(MESSAGE_BYTES);
  const handle = lib.symbols.pqb_open(
    object,
    postmasterPid,
    BigInt(thresholdNs),
    sampleEvery,
    new Uint8Array(status.buffer),
    msg,
    msg.length,
  );
  if (handle === null) {
    lib.close();
    throw statusError(status[0], readCString(msg));
  }
  let open = true;
  const live = () => {
    if (!open) throw new Error(`the eBPF tracer of postmaster ${postmasterPid} is closed`);
    return handle;
  };
  const close = () => {
    if (!open) return;
    open = false;
    lib.symbols.pqb_close(handle);
    lib.close();
  };
  let description: TracerDescription;
  try {
    const buf = new Uint8Array(MESSAGE_BYTES * 2);
    const n = lib.symbols.pqb_describe(handle, buf, buf.length);
    if (n < 0) throw statusError(n, "cannot describe the attached tracer");
    const d = JSON.parse(readCString(buf));
    description = {
      postmasterPid: d.postmaster_pid,
      executable: d.executable,
      usdtLinks: d.usdt_links,
      tracepointLinks: d.tracepoint_links,
      errorProbe: d.error_probe,
      queryTextExtended: d.query_text_extended,
      thresholdNs: d.threshold_ns,
      sampleEvery: d.sample_every,
    };
  } catch (e) {
    close();
    throw e;
  }

  const buf = new Uint8Array(POLL_BATCH_EVENTS * EVENT_SIZE);
  const view = new DataView(buf.buffer);
  const counterBuf = new BigUint64Array(COUNTER_NAMES.length);

  return {
    description,
    poll(maxEvents = Infinity): OsDelayEvent[] {
      if (maxEvents !== Infinity && (!Number.isInteger(maxEvents) || maxEvents < 1)) {
        throw new RangeError(`maxEvents must be a positive integer or Infinity, got ${maxEvents}`);
      }
      const h = live();
      const events: OsDelayEvent[] = [];
      while (events.length < maxEvents) {
        const want = Math.min(POLL_BATCH_EVENTS, maxEvents - events.length);
        const got = lib.symbols.pqb_poll(h, buf, want * EVENT_SIZE, 0);
        if (got < 0) throw statusError(got, `cannot read the eBPF ring buffer (status ${got})`);
        for (let i = 0; i < got; i++) events.push(decodeEvent(view, i * EVENT_SIZE));
        if (got < want) break;
      }
      return events;
    },
    counters(): TracerCounters {
      const n = lib.symbols.pqb_counters(live(), new Uint8Array(counterBuf.buffer), counterBuf.length);
      if (n !== counterBuf.length) throw statusError(n < 0 ? n : -10, "cannot read the eBPF counters");
      return countersFrom(counterBuf);
    },
    clockOffsetNs: () => {
      live();
      return lib.symbols.pqb_clock_offset_ns() as bigint;
    },
    close,
    [Symbol.dispose]: close,
  };
}

/** A process as this host's `/proc` shows it. */
export interface ProcessInfo {
  /** Parent process id. */
  ppid: number;
  /** Start time, ms since the epoch (10 ms resolution, boot time in whole seconds). */
  startMs: number;
}

/**
 * The parent and start time of process `pid`, read by the loader library (so it works under a
 * permission set that does not let this process read `/proc` itself); undefined when there is no
 * such process.
 *
 * @throws BpfTierError `no_library` or `abi_mismatch` for the library, `os_error` when `/proc` cannot
 * be read.
 */
export function processInfo(pid: number, libraryPath?: string): ProcessInfo | undefined {
  checkPid(pid, "pid");
  const lib = loadLoaderLibrary(libraryPath);
  try {
    const out = new BigUint64Array(2);
    const status = lib.symbols.pqb_process_info(pid, new Uint8Array(out.buffer));
    if (status === -3) return undefined;
    if (status !== 0) throw statusError(status, `cannot read /proc/${pid}/stat`);
    return { ppid: Number(out[0]), startMs: Number(out[1]) };
  } finally {
    lib.close();
  }
}
