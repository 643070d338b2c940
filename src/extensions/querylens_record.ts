/**
 * The binary layout of the pg_querylens shared-memory segment as the collector reads it: the
 * constants of `extension/pg_querylens_layout.h`, the offsets of every record field, and decoders of
 * one 256-byte record slot ({@link decodeRecord}) and of the global header ({@link decodeHeader}).
 *
 * All integers are little-endian. Query ids (`queryid`, `planid`, `parent_queryid`) are 8 raw bytes
 * that PostgreSQL shows as signed bigint, so they decode as signed 64-bit BigInts. Other 64-bit
 * counters decode as numbers, exact below 2^53.
 *
 * ```ts
 * const view = new DataView(buffer.buffer);
 * const rec = decodeRecord(view, 0);
 * console.log(rec.queryId, rec.durationNs, WAIT_CLASSES[0], rec.waitSamples[0]);
 * ```
 *
 * @module
 */

/** Layout version this decoder reads (`QL_LAYOUT_VERSION`). */
export const QL_LAYOUT_VERSION = 1;
/** Size of one record slot in bytes (`QL_SLOT_SIZE`). */
export const QL_SLOT_SIZE = 256;
/** Size of the global header page in bytes (`QL_HEADER_SIZE`). */
export const QL_HEADER_SIZE = 4096;
/** `"PGQLENS\0"` read as a little-endian u64 (`QL_MAGIC`). */
export const QL_MAGIC = 0x00534E454C514750n;
/** Record version this decoder reads (`QL_REC_VERSION`). */
export const QL_REC_VERSION = 1;
/** `QlRecord.type` of an execution that reached ExecutorEnd. */
export const QL_REC_QUERY = 1;
/** `QlRecord.type` of an execution ended by an error. */
export const QL_REC_ERROR = 2;

/** Bits of `QlRecord.flags` (`QL_FLAG_*`). */
export const QL_FLAGS = {
  /** Nesting level 0. */
  TOPLEVEL: 0x0001,
  /** The query id was computed by core. */
  QUERYID: 0x0002,
  /** `cpu_user_us` and `cpu_sys_us` were measured. */
  CPU_VALID: 0x0004,
  /** The I/O times were measured (`track_io_timing`). */
  IO_TIMING: 0x0008,
  /** The wait sampler was running. */
  WAITS: 0x0010,
  /** The plan id comes from `PlannedStmt->planId`. */
  PLANID_CORE: 0x0020,
  /** The plan walk hit the node cap. */
  PLAN_TRUNCATED: 0x0040,
  /** The execution ended by a transaction abort. */
  ABORTED: 0x0080,
} as const;

/** Names of the wait classes of {@link QueryLensRecord.waitSamples}, in `QL_WAIT_*` order. */
export const WAIT_CLASSES = ["CPU", "LWLock", "Lock", "BufferPin", "IO", "IPC", "Timeout", "Other"] as const;

/**
 * Byte offset of every `QlRecord` field, in declaration order (the reader library's `qlr_offsets`
 * reports the same list; the two are compared before any record is decoded).
 */
export const RECORD_OFFSETS = {
  seq: 0,
  type: 8,
  rec_version: 9,
  nesting_level: 10,
  cmd_type: 11,
  flags: 12,
  pid: 16,
  dbid: 20,
  userid: 24,
  generation: 28,
  exec_seq: 32,
  queryid: 40,
  planid: 48,
  parent_queryid: 56,
  start_us: 64,
  duration_ns: 72,
  rows: 80,
  shared_blks_hit: 88,
  shared_blks_read: 96,
  shared_blks_dirtied: 104,
  shared_blks_written: 112,
  local_blks_hit: 120,
  local_blks_read: 128,
  local_blks_dirtied: 136,
  local_blks_written: 144,
  temp_blks_read: 152,
  temp_blks_written: 160,
  wal_bytes: 168,
  wal_records: 176,
  wal_fpi: 184,
  shared_read_us: 192,
  shared_write_us: 196,
  local_read_us: 200,
  local_write_us: 204,
  temp_read_us: 208,
  temp_write_us: 212,
  cpu_user_us: 216,
  cpu_sys_us: 220,
  wait_samples: 224,
  wait_event_last: 240,
  sqlstate: 244,
  reserved: 248,
} as const;

/** I/O times of an execution in microseconds (present only with `QL_FLAG_IO_TIMING`). */
export interface QueryLensIoTimes {
  /** Shared buffer reads (and local ones before PostgreSQL 17). */
  sharedReadUs: number;
  /** Shared buffer writes (and local ones before PostgreSQL 17). */
  sharedWriteUs: number;
  /** Local buffer reads (PostgreSQL 17+). */
  localReadUs: number;
  /** Local buffer writes (PostgreSQL 17+). */
  localWriteUs: number;
  /** Temp file reads. */
  tempReadUs: number;
  /** Temp file writes. */
  tempWriteUs: number;
}

/** CPU time of an execution in microseconds (present only with `QL_FLAG_CPU_VALID`). */
export interface QueryLensCpuTimes {
  /** User CPU time. */
  userUs: number;
  /** System CPU time. */
  sysUs: number;
}

/** One execution recorded by pg_querylens; both the FFI and the SQL source produce this type. */
export interface QueryLensRecord {
  /** Ring (proc number) the record was read from. */
  ring: number;
  /** Record number n within the ring (the seqlock word is 2n+2). */
  seq: bigint;
  /** `query` for an execution that reached ExecutorEnd, `error` for one ended by an error. */
  type: "query" | "error";
  /** Backend process id. */
  pid: number;
  /** Database oid. */
  dbid: number;
  /** User oid. */
  userid: number;
  /** Nesting level 0 (`QL_FLAG_TOPLEVEL`). */
  toplevel: boolean;
  /** Nesting level (0 for top level). */
  nestingLevel: number;
  /** CmdType (1 SELECT, 2 UPDATE, 3 INSERT, 4 DELETE, ...). */
  cmdType: number;
  /** `QL_FLAG_*` bits, see {@link QL_FLAGS}. */
  flags: number;
  /** Low 32 bits of the segment generation the record was written in. */
  generation: number;
  /** Per-ring execution number. */
  execSeq: bigint;
  /** Query id (signed, as PostgreSQL shows it). */
  queryId: bigint;
  /** Plan id (signed). */
  planId: bigint;
  /** Query id of the top-level execution (signed). */
  parentQueryId: bigint;
  /** Start time, Unix epoch microseconds. */
  startUs: number;
  /** ExecutorStart to ExecutorEnd (or abort), nanoseconds. */
  durationNs: number;
  /** Rows processed. */
  rows: number;
  /** Shared blocks hit. */
  sharedBlksHit: number;
  /** Shared blocks read. */
  sharedBlksRead: number;
  /** Shared blocks dirtied. */
  sharedBlksDirtied: number;
  /** Shared blocks written. */
  sharedBlksWritten: number;
  /** Local blocks hit. */
  localBlksHit: number;
  /** Local blocks read. */
  localBlksRead: number;
  /** Local blocks dirtied. */
  localBlksDirtied: number;
  /** Local blocks written. */
  localBlksWritten: number;
  /** Temp blocks read. */
  tempBlksRead: number;
  /** Temp blocks written (temp bytes = this × BLCKSZ). */
  tempBlksWritten: number;
  /** WAL bytes. */
  walBytes: number;
  /** WAL records. */
  walRecords: number;
  /** WAL full-page images. */
  walFpi: number;
  /** I/O times, when measured. */
  io?: QueryLensIoTimes;
  /** CPU times, when measured. */
  cpu?: QueryLensCpuTimes;
  /** Sampler hits by wait class, 8 entries in {@link WAIT_CLASSES} order. */
  waitSamples: number[];
  /** Raw `wait_event_info` of the last sampled wait, 0 when none. */
  waitEventLast: number;
  /** SQLSTATE (5 characters), error records only. */
  sqlstate?: string;
}

/** `state` of the segment's global header. */
export type RingState = "initializing" | "ready" | "closing";

/** The global header of a segment (`QlGlobalHeader`), as {@link decodeHeader} returns it. */
export interface RingHeaderInfo {
  /** Layout version of the segment. */
  layoutVersion: number;
  /** Header size in bytes. */
  headerSize: number;
  /** Slot size in bytes. */
  slotSize: number;
  /** Slots per ring (a power of two). */
  slotsPerRing: number;
  /** Number of rings (one per proc number). */
  nrings: number;
  /** Segment state; an unknown value is reported as its number. */
  state: RingState | number;
  /** Segment size in bytes. */
  segmentSize: number;
  /** Bumped on every (re)initialization of the segment. */
  generation: number;
  /** The cluster's system identifier. */
  systemIdentifier: bigint;
  /** Postmaster start time, Unix epoch microseconds. */
  postmasterStartUs: number;
  /** Postmaster process id. */
  postmasterPid: number;
  /** `PG_VERSION_NUM` of the server. */
  pgVersionNum: number;
  /** `BLCKSZ` of the server. */
  blcksz: number;
  /** `QL_CAP_*` bits. */
  capabilities: number;
  /** Wait sampler period in milliseconds (0: no sampler). */
  samplePeriodMs: number;
  /** With `cpu = sampled`: every Nth execution is measured. */
  cpuSampleEvery: number;
  /** Last sampler pass, Unix epoch microseconds. */
  samplerHeartbeatUs: number;
  /** Sampler passes since start. */
  samplerPasses: number;
  /** Sampler process id, 0 when not running. */
  samplerPid: number;
  /** Size of the reader page in bytes. */
  readerPageSize: number;
  /** Name of the shared-memory object. */
  segmentName: string;
}

/** Bytes of `QlGlobalHeader` that {@link decodeHeader} reads. */
export const HEADER_STRUCT_SIZE = 208;

const TWO_32 = 2 ** 32;
const SAFE_HIGH = 0x200000; // high words below this make a u64 below 2^53

/** An unsigned 64-bit field as a number (exact below 2^53). */
function u64(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * TWO_32 + view.getUint32(at, true);
}

/** A signed 64-bit field as a number (exact between ±2^53). */
function i64(view: DataView, at: number): number {
  return view.getInt32(at + 4, true) * TWO_32 + view.getUint32(at, true);
}

/**
 * The 5-character SQLSTATE packed by PostgreSQL's `MAKE_SQLSTATE` (6 bits per character, first
 * character in the low bits).
 */
export function unpackSqlstate(packed: number): string {
  let s = "";
  for (let i = 0; i < 5; i++) s += String.fromCharCode(((packed >>> (6 * i)) & 0x3f) + 48);
  return s;
}

/** Does the slot at `offset` hold a record type and version this decoder reads? */
export function isKnownRecord(view: DataView, offset: number): boolean {
  const type = view.getUint8(offset + RECORD_OFFSETS.type);
  return (type === QL_REC_QUERY || type === QL_REC_ERROR) &&
    view.getUint8(offset + RECORD_OFFSETS.rec_version) === QL_REC_VERSION;
}

function checkBounds(view: DataView, offset: number, size: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + size > view.byteLength) {
    throw new RangeError(
      `${what} at offset ${offset} does not fit in the ${view.byteLength}-byte view (needs ${size} bytes)`,
    );
  }
}

/**
 * Decodes the record slot at `offset` of `view` (as copied by the reader library: the ring index is
 * in the `reserved` word).
 *
 * @throws RangeError when the slot does not fit in the view, or its type or record version is not
 * one this decoder reads (check with {@link isKnownRecord} first to skip such records).
 */
export function decodeRecord(view: DataView, offset: number): QueryLensRecord {
  checkBounds(view, offset, QL_SLOT_SIZE, "a record");
  if (!isKnownRecord(view, offset)) {
    const type = view.getUint8(offset + RECORD_OFFSETS.type);
    const version = view.getUint8(offset + RECORD_OFFSETS.rec_version);
    throw new RangeError(
      `unknown pg_querylens record at offset ${offset}: type ${type}, record version ${version} ` +
        `(this decoder reads types 1-2, version ${QL_REC_VERSION})`,
    );
  }
  const o = offset;
  const flags = view.getUint32(o + 12, true);
  const isError = view.getUint8(o + 8) === QL_REC_ERROR;
  const seqHigh = view.getUint32(o + 4, true);
  const seq = seqHigh < SAFE_HIGH
    ? BigInt((seqHigh * TWO_32 + view.getUint32(o, true) - 2) / 2)
    : (view.getBigUint64(o, true) >> 1n) - 1n;
  const rec: QueryLensRecord = {
    ring: view.getUint32(o + 248, true),
    seq,
    type: isError ? "error" : "query",
    pid: view.getInt32(o + 16, true),
    dbid: view.getUint32(o + 20, true),
    userid: view.getUint32(o + 24, true),
    toplevel: (flags & QL_FLAGS.TOPLEVEL) !== 0,
    nestingLevel: view.getUint8(o + 10),
    cmdType: view.getUint8(o + 11),
    flags,
    generation: view.getUint32(o + 28, true),
    execSeq: view.getBigUint64(o + 32, true),
    queryId: view.getBigInt64(o + 40, true),
    planId: view.getBigInt64(o + 48, true),
    parentQueryId: view.getBigInt64(o + 56, true),
    startUs: i64(view, o + 64),
    durationNs: u64(view, o + 72),
    rows: u64(view, o + 80),
    sharedBlksHit: u64(view, o + 88),
    sharedBlksRead: u64(view, o + 96),
    sharedBlksDirtied: u64(view, o + 104),
    sharedBlksWritten: u64(view, o + 112),
    localBlksHit: u64(view, o + 120),
    localBlksRead: u64(view, o + 128),
    localBlksDirtied: u64(view, o + 136),
    localBlksWritten: u64(view, o + 144),
    tempBlksRead: u64(view, o + 152),
    tempBlksWritten: u64(view, o + 160),
    walBytes: u64(view, o + 168),
    walRecords: u64(view, o + 176),
    walFpi: u64(view, o + 184),
    waitSamples: [
      view.getUint16(o + 224, true),
      view.getUint16(o + 226, true),
      view.getUint16(o + 228, true),
      view.getUint16(o + 230, true),
      view.getUint16(o + 232, true),
      view.getUint16(o + 234, true),
      view.getUint16(o + 236, true),
      view.getUint16(o + 238, true),
    ],
    waitEventLast: view.getUint32(o + 240, true),
  };
  if ((flags & QL_FLAGS.IO_TIMING) !== 0) {
    rec.io = {
      sharedReadUs: view.getUint32(o + 192, true),
      sharedWriteUs: view.getUint32(o + 196, true),
      localReadUs: view.getUint32(o + 200, true),
      localWriteUs: view.getUint32(o + 204, true),
      tempReadUs: view.getUint32(o + 208, true),
      tempWriteUs: view.getUint32(o + 212, true),
    };
  }
  if ((flags & QL_FLAGS.CPU_VALID) !== 0) {
    rec.cpu = { userUs: view.getUint32(o + 216, true), sysUs: view.getUint32(o + 220, true) };
  }
  if (isError) rec.sqlstate = unpackSqlstate(view.getUint32(o + 244, true));
  return rec;
}

const STATES: readonly RingState[] = ["initializing", "ready", "closing"];

/**
 * Decodes a copy of the segment's global header (`QlGlobalHeader`) at `offset` of `view`.
 *
 * @throws RangeError when the header does not fit in the view, or its magic is not pg_querylens's.
 */
export function decodeHeader(view: DataView, offset = 0): RingHeaderInfo {
  checkBounds(view, offset, HEADER_STRUCT_SIZE, "a segment header");
  const o = offset;
  const magic = view.getBigUint64(o, true);
  if (magic !== QL_MAGIC) {
    throw new RangeError(`not a pg_querylens segment header: magic 0x${magic.toString(16)}`);
  }
  const state = view.getUint32(o + 28, true);
  const nameBytes = new Uint8Array(view.buffer, view.byteOffset + o + 144, 64);
  const end = nameBytes.indexOf(0);
  return {
    layoutVersion: view.getUint32(o + 8, true),
    headerSize: view.getUint32(o + 12, true),
    slotSize: view.getUint32(o + 16, true),
    slotsPerRing: view.getUint32(o + 20, true),
    nrings: view.getUint32(o + 24, true),
    state: STATES[state] ?? state,
    segmentSize: u64(view, o + 64),
    generation: u64(view, o + 72),
    systemIdentifier: view.getBigUint64(o + 80, true),
    postmasterStartUs: i64(view, o + 88),
    postmasterPid: view.getInt32(o + 96, true),
    pgVersionNum: view.getUint32(o + 100, true),
    blcksz: view.getUint32(o + 104, true),
    capabilities: view.getUint32(o + 108, true),
    samplePeriodMs: view.getUint32(o + 112, true),
    cpuSampleEvery: view.getUint32(o + 116, true),
    samplerHeartbeatUs: u64(view, o + 120),
    samplerPasses: u64(view, o + 128),
    samplerPid: view.getInt32(o + 136, true),
    readerPageSize: view.getUint32(o + 140, true),
    segmentName: new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? 64 : end)),
  };
}
