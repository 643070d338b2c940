/**
 * The pg_querylens ring reader: the C library `ffi/build/libpgquerylens.so` opened with
 * `Deno.dlopen`. The library maps the extension's shared-memory segment and copies complete,
 * seqlock-validated record slots into one reused 1 MiB buffer (4096 records); this module calls it
 * synchronously until the rings are caught up and decodes the slots.
 *
 * ```ts
 * using reader = openRingReader("/pg_querylens.5432", { mode: "oldest", publish: true });
 * const { records, lost, generationChanged } = reader.drain();
 * ```
 *
 * Open failures and a replaced segment throw a {@link QueryLensReaderError} whose `code` says what
 * happened. Before the first read, the library's layout version, slot size and record field offsets
 * are compared with the decoder's; a mismatch refuses to open.
 *
 * @module
 */

import { FFI_PERMISSION_HINT, nativeAssetPath, withAssetProblem } from "./native_assets.ts";
import {
  decodeHeader,
  decodeRecord,
  HEADER_STRUCT_SIZE,
  isKnownRecord,
  QL_HEADER_SIZE,
  QL_LAYOUT_VERSION,
  QL_SLOT_SIZE,
  type QueryLensRecord,
  RECORD_OFFSETS,
  type RingHeaderInfo,
} from "./querylens_record.ts";

export type { QueryLensRecord, RingHeaderInfo } from "./querylens_record.ts";

/** What went wrong, as {@link QueryLensReaderError.code}. */
export type QueryLensReaderErrorCode =
  | "no_segment"
  | "permission"
  | "bad_magic"
  | "layout_mismatch"
  | "replaced"
  | "os_error"
  | "no_library";

/** A failure to load the reader library, to open a segment, or to keep reading it. */
export class QueryLensReaderError extends Error {
  /** What went wrong. */
  readonly code: QueryLensReaderErrorCode;

  /** An error with `code` and a message that names the segment or library and what to do. */
  constructor(code: QueryLensReaderErrorCode, message: string) {
    super(message);
    this.name = "QueryLensReaderError";
    this.code = code;
  }
}

/** Where the first read of a ring starts. */
export type RingReaderMode = "head" | "oldest" | "resume";

/** Options of {@link openRingReader}. */
export interface RingReaderOptions {
  /**
   * `head`: only records written after open; `oldest`: everything the rings still hold; `resume`:
   * where the previous publishing reader stopped, when the segment generation is the same (else as
   * `oldest`).
   */
  mode: RingReaderMode;
  /**
   * Write the cursors, a heartbeat and the totals into the segment's reader page (needs write
   * access to the segment; producers then count what they overwrite unread).
   */
  publish: boolean;
  /** Path of the reader library; {@link defaultLibraryPath} by default. */
  libraryPath?: string;
}

/** Counts of one {@link RingReader.drainWith} call. */
export interface DrainStats {
  /** Records handed to the visitor. */
  count: number;
  /** Records lapped by the producers before they could be read. */
  lost: number;
  /** Records of a type or version this decoder does not read (not handed to the visitor). */
  skipped: number;
  /** The segment was reinitialized (server crash-restart): the cursors restarted at 0. */
  generationChanged: boolean;
  /** The segment is initializing or closing; nothing was read after that. */
  notReady: boolean;
}

/** What {@link RingReader.drain} returns. */
export interface DrainResult {
  /** The records, ring by ring in the library's round-robin order. */
  records: QueryLensRecord[];
  /** Records lapped by the producers before they could be read. */
  lost: number;
  /** Records of a type or version this decoder does not read (left out of `records`). */
  skipped: number;
  /** The segment was reinitialized (server crash-restart): the cursors restarted at 0. */
  generationChanged: boolean;
  /** The segment is initializing or closing; nothing was read after that. */
  notReady: boolean;
}

/** Totals of a reader since it was opened (of the current generation's reads and earlier ones). */
export interface ReaderTotals {
  /** Records copied. */
  copied: number;
  /** Records lost. */
  lost: number;
  /** Segment generation the reader follows. */
  generation: number;
}

/** An open reader of one segment. */
export interface RingReader {
  /** The segment's name. */
  readonly segmentName: string;
  /**
   * Reads and decodes what the rings hold, up to `maxRecords` ({@link DEFAULT_MAX_RECORDS} by
   * default): calls the library until a call returns fewer records than fit.
   *
   * @throws QueryLensReaderError `replaced` when the segment was removed or replaced (reopen it).
   */
  drain(maxRecords?: number): DrainResult;
  /**
   * Like {@link drain} without allocating records: `visit` gets the buffer's view and the offset of
   * each record slot (decode what it needs with {@link decodeRecord} or the offsets of
   * `RECORD_OFFSETS`). The view is reused by the next call; copy what must outlive `visit`.
   */
  drainWith(visit: (view: DataView, offset: number) => void, maxRecords?: number): DrainStats;
  /** A fresh copy of the segment's global header. */
  header(): RingHeaderInfo;
  /** Totals since open, as of the last read. */
  totals(): ReaderTotals;
  /** Unmaps the segment and unloads the library; later calls throw. Safe to call twice. */
  close(): void;
  /** Same as close(), for `using`. */
  [Symbol.dispose](): void;
}

/** Records that fit in the read buffer (1 MiB). */
export const READ_BUFFER_RECORDS = 4096;
/** Records one drain returns at most unless asked otherwise. */
export const DEFAULT_MAX_RECORDS = 262_144;
/** Generation changes one drain follows before it returns (a server in a crash loop). */
const MAX_GENERATION_CHANGES = 4;

const MODES: Record<RingReaderMode, number> = { head: 0, oldest: 1, resume: 2 };
const STAT_BYTES = 64;
const MAX_NAME_BYTES = 255;

const SYMBOLS = {
  qlr_open: { parameters: ["buffer", "i32", "i32", "buffer"], result: "pointer" },
  qlr_read: { parameters: ["pointer", "buffer", "u32", "buffer"], result: "i32" },
  qlr_header: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  qlr_close: { parameters: ["pointer"], result: "void" },
  qlr_layout_version: { parameters: [], result: "u32" },
  qlr_slot_size: { parameters: [], result: "u32" },
  qlr_offsets: { parameters: ["buffer", "u32"], result: "i32" },
} as const;

/** The loaded reader library. */
export type ReaderLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

/**
 * The reader library: its extracted copy once the native pieces were installed at start, otherwise
 * `ffi/build/libpgquerylens.so` of this source tree (where `make -C ffi` builds it).
 */
export function defaultLibraryPath(): string {
  return nativeAssetPath("reader");
}

/**
 * Loads the reader library and checks that it reads the layout this decoder decodes: layout
 * version, slot size and the offset of every record field.
 *
 * @throws QueryLensReaderError `no_library` when it cannot be loaded, `layout_mismatch` when it
 * was built for another layout.
 */
export function loadReaderLibrary(path: string = defaultLibraryPath()): ReaderLibrary {
  let lib: ReaderLibrary;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
  } catch (e) {
    const hint = e instanceof Deno.errors.NotCapable
      ? FFI_PERMISSION_HINT
      : `build it with "make -C ffi" or set the library path`;
    throw new QueryLensReaderError(
      "no_library",
      withAssetProblem(
        "reader",
        `cannot load the pg_querylens reader library ${path}: ${(e as Error).message}; ${hint}`,
      ),
    );
  }
  const problem = layoutProblem(lib);
  if (problem) {
    lib.close();
    throw new QueryLensReaderError(
      "layout_mismatch",
      `the pg_querylens reader library ${path} was built for another layout (${problem}); rebuild it ` +
        `from this source tree with "make -C ffi"`,
    );
  }
  return lib;
}

function layoutProblem(lib: ReaderLibrary): string | undefined {
  const version = lib.symbols.qlr_layout_version();
  if (version !== QL_LAYOUT_VERSION) return `layout version ${version}, decoder ${QL_LAYOUT_VERSION}`;
  const slot = lib.symbols.qlr_slot_size();
  if (slot !== QL_SLOT_SIZE) return `slot size ${slot}, decoder ${QL_SLOT_SIZE}`;
  const names = Object.keys(RECORD_OFFSETS) as (keyof typeof RECORD_OFFSETS)[];
  const out = new Uint32Array(names.length + 8);
  const count = lib.symbols.qlr_offsets(out, out.length);
  if (count !== names.length) return `${count} record fields, decoder ${names.length}`;
  for (let i = 0; i < names.length; i++) {
    if (out[i] !== RECORD_OFFSETS[names[i]]) {
      return `field ${names[i]} at offset ${out[i]}, decoder ${RECORD_OFFSETS[names[i]]}`;
    }
  }
  return undefined;
}

/**
 * The error for a negative status of `qlr_open` or `qlr_read` (other than generation changed and not
 * ready), naming the segment and what to do.
 */
export function statusError(status: number, segmentName: string, errno = 0): QueryLensReaderError {
  const seg = `pg_querylens segment ${segmentName}`;
  switch (status) {
    case -1:
      return new QueryLensReaderError(
        "no_segment",
        `${seg} does not exist: is pg_querylens in shared_preload_libraries and the server running? ` +
          `(the segment name is in $PGDATA/pg_querylens.discovery)`,
      );
    case -2:
      return new QueryLensReaderError(
        "permission",
        `no permission to open ${seg}: run the collector as the server's OS user, or set ` +
          `pg_querylens.segment_mode 0660 (the reader maps the segment read-write to publish its cursors) and share the server's group`,
      );
    case -3:
      return new QueryLensReaderError("bad_magic", `${seg} is not a pg_querylens segment (bad magic)`);
    case -4:
      return new QueryLensReaderError(
        "layout_mismatch",
        `${seg} has a layout this collector does not read (layout version, slot size or geometry ` +
          `differ from layout ${QL_LAYOUT_VERSION}); use a collector and an extension of matching versions`,
      );
    case -6:
      return new QueryLensReaderError(
        "replaced",
        `${seg} was removed or replaced (the server restarted); close the reader and open it again`,
      );
    case -8:
      return new QueryLensReaderError("os_error", `the reader library rejected an argument for ${seg}`);
    case -9:
      return new QueryLensReaderError("os_error", `OS error ${errno} while reading ${seg}`);
    default:
      return new QueryLensReaderError("os_error", `unexpected status ${status} from the reader of ${seg}`);
  }
}

function checkMaxRecords(maxRecords: number): void {
  if (maxRecords !== Infinity && (!Number.isInteger(maxRecords) || maxRecords < 1)) {
    throw new RangeError(`maxRecords must be a positive integer or Infinity, got ${maxRecords}`);
  }
}

function encodeName(segmentName: string): Uint8Array<ArrayBuffer> {
  if (typeof segmentName !== "string" || segmentName === "" || segmentName.includes("\0")) {
    throw new TypeError(
      `segment name must be a non-empty string without NUL, got ${JSON.stringify(segmentName)}`,
    );
  }
  const bytes = new TextEncoder().encode(segmentName);
  if (bytes.length > MAX_NAME_BYTES) {
    throw new RangeError(`segment name is ${bytes.length} bytes, at most ${MAX_NAME_BYTES}`);
  }
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** A u64 of the stats buffer as a number. */
function stat(view: DataView, index: number): number {
  return view.getUint32(index * 8 + 4, true) * 2 ** 32 + view.getUint32(index * 8, true);
}

/**
 * Opens the pg_querylens segment `segmentName` (for example `/pg_querylens.5432`).
 *
 * @throws QueryLensReaderError `no_library` or `layout_mismatch` for the library; `no_segment`,
 * `permission`, `bad_magic`, `layout_mismatch` or `os_error` for the segment.
 * @throws TypeError or RangeError for a malformed name or mode.
 */
export function openRingReader(segmentName: string, options: RingReaderOptions): RingReader {
  const name = encodeName(segmentName);
  const mode = MODES[options?.mode];
  if (mode === undefined) {
    throw new TypeError(`mode must be "head", "oldest" or "resume", got ${JSON.stringify(options?.mode)}`);
  }
  const lib = loadReaderLibrary(options.libraryPath ?? defaultLibraryPath());
  const err = new Int32Array(1);
  const handle = lib.symbols.qlr_open(name, mode, options.publish ? 1 : 0, new Uint8Array(err.buffer));
  if (handle === null) {
    lib.close();
    throw statusError(err[0], segmentName);
  }

  const buf = new Uint8Array(READ_BUFFER_RECORDS * QL_SLOT_SIZE);
  const view = new DataView(buf.buffer);
  const stats = new Uint8Array(STAT_BYTES);
  const statsView = new DataView(stats.buffer);
  const headerBuf = new Uint8Array(QL_HEADER_SIZE);
  let open = true;
  let totals: ReaderTotals = { copied: 0, lost: 0, generation: 0 };

  const live = () => {
    if (!open) throw new Error(`the reader of pg_querylens segment ${segmentName} is closed`);
    return handle;
  };

  const drainWith = (visit: (view: DataView, offset: number) => void, maxRecords = DEFAULT_MAX_RECORDS) => {
    checkMaxRecords(maxRecords);
    const h = live();
    const result: DrainStats = { count: 0, lost: 0, skipped: 0, generationChanged: false, notReady: false };
    let changes = 0;
    while (result.count + result.skipped < maxRecords) {
      const want = Math.min(READ_BUFFER_RECORDS, maxRecords - result.count - result.skipped);
      const got = lib.symbols.qlr_read(h, buf, want * QL_SLOT_SIZE, stats);
      if (got === -5) {
        result.generationChanged = true;
        if (++changes > MAX_GENERATION_CHANGES) break;
        continue;
      }
      if (got === -7) {
        result.notReady = true;
        break;
      }
      if (got < 0) throw statusError(got, segmentName, stat(statsView, 6));
      totals = { copied: stat(statsView, 2), lost: stat(statsView, 3), generation: stat(statsView, 4) };
      result.lost += stat(statsView, 1);
      for (let i = 0, at = 0; i < got; i++, at += QL_SLOT_SIZE) {
        if (isKnownRecord(view, at)) {
          visit(view, at);
          result.count++;
        } else {
          result.skipped++;
        }
      }
      if (got < want) break;
    }
    return result;
  };

  const close = () => {
    if (!open) return;
    open = false;
    lib.symbols.qlr_close(handle);
    lib.close();
  };

  return {
    segmentName,
    drainWith,
    drain(maxRecords = DEFAULT_MAX_RECORDS): DrainResult {
      const records: QueryLensRecord[] = [];
      const s = drainWith((v, at) => records.push(decodeRecord(v, at)), maxRecords);
      return {
        records,
        lost: s.lost,
        skipped: s.skipped,
        generationChanged: s.generationChanged,
        notReady: s.notReady,
      };
    },
    header(): RingHeaderInfo {
      const n = lib.symbols.qlr_header(live(), headerBuf, headerBuf.length);
      if (n < HEADER_STRUCT_SIZE) throw statusError(n < 0 ? n : -9, segmentName);
      return decodeHeader(new DataView(headerBuf.buffer));
    },
    totals: () => ({ ...totals }),
    close,
    [Symbol.dispose]: close,
  };
}
