/**
 * Helpers for tests of the pg_querylens extension: clusters that preload it, its SQL functions
 * decoded into typed rows, and direct access to its shared-memory segment and discovery file.
 *
 * ```ts
 * await using cluster = await startQueryLensCluster({ name: "ql", settings: { "pg_querylens.ring_slots": "64" } });
 * const rows = await readRecords(cluster.sql(), "tests");
 * ```
 *
 * @module
 */

import { QL_FLAGS, WAIT_CLASSES } from "../../src/extensions/querylens_record.ts";
import type postgres from "postgres";
import { join } from "node:path";
import { type Cluster, serverUser, startCluster } from "./cluster.ts";
import { debianServer, type ServerInstall } from "./servers.ts";

/** Name of the extension and of its shared library. */
export const QUERYLENS = "pg_querylens";

/** Bits of a record's `flags` (QL_FLAG_* of extension/pg_querylens_layout.h). */
export const QL_FLAG = QL_FLAGS;

/** Bits of the header's `capabilities` (QL_CAP_*). */
export const QL_CAP = {
  CPU_THREAD: 0x0001,
  CPU_SAMPLED: 0x0002,
  IO_TIMING: 0x0004,
  SAMPLER: 0x0008,
  ERRORS: 0x0010,
} as const;

/** Index of each wait class in `waitSamples` (QL_WAIT_*), by the names of {@link WAIT_CLASSES}. */
export const WAIT_CLASS = Object.fromEntries(WAIT_CLASSES.map((name, i) => [name, i])) as Record<
  (typeof WAIT_CLASSES)[number],
  number
>;

/** One row of `pg_querylens_read`, decoded. */
export interface QueryLensRow {
  /** Ring (proc number) the record came from. */
  ring: number;
  /** Record number within its ring. */
  seq: bigint;
  /** `query` for a completed execution, `error` for one ended by an error. */
  recordType: "query" | "error";
  /** Process that executed. */
  pid: number;
  /** Database OID. */
  dbid: number;
  /** Role OID. */
  userid: number;
  /** Whether the execution was at nesting level 0. */
  toplevel: boolean;
  /** Nesting level (0 at top level). */
  nestingLevel: number;
  /** CmdType (1 SELECT, 2 UPDATE, 3 INSERT, 4 DELETE). */
  cmdType: number;
  /** QL_FLAG_* bits. */
  flags: number;
  /** Per-ring execution number. */
  execSeq: bigint;
  /** Core query id (signed, as PostgreSQL shows it). */
  queryId: bigint;
  /** Plan-shape id. */
  planId: bigint;
  /** Query id of the top-level execution, 0 for top-level records. */
  parentQueryId: bigint;
  /** Start of the execution. */
  startTime: Date;
  /** ExecutorStart to ExecutorEnd (or the abort), nanoseconds. */
  durationNs: number;
  /** Rows processed. */
  rows: number;
  /** Shared buffer hits. */
  sharedBlksHit: number;
  /** Shared blocks read. */
  sharedBlksRead: number;
  /** Shared blocks dirtied. */
  sharedBlksDirtied: number;
  /** Shared blocks written. */
  sharedBlksWritten: number;
  /** Temporary-file blocks read. */
  tempBlksRead: number;
  /** Temporary-file blocks written. */
  tempBlksWritten: number;
  /** WAL bytes. */
  walBytes: number;
  /** WAL records. */
  walRecords: number;
  /** I/O times in microseconds, present when the record has QL_FLAG_IO_TIMING. */
  io?: {
    sharedReadUs: number;
    sharedWriteUs: number;
    localReadUs: number;
    localWriteUs: number;
    tempReadUs: number;
    tempWriteUs: number;
  };
  /** CPU times in microseconds, present when the record has QL_FLAG_CPU_VALID. */
  cpu?: { userUs: number; sysUs: number };
  /** Sampler hits per wait class, in {@link WAIT_CLASS} order. */
  waitSamples: number[];
  /** Raw wait_event_info of the last wait sampled during the execution, 0 when none. */
  waitEventLast: number;
  /** Type name of `waitEventLast`. */
  waitEventType: string | null;
  /** Event name of `waitEventLast`. */
  waitEvent: string | null;
  /** SQLSTATE of an error record. */
  sqlstate: string | null;
  /** Low 32 bits of the segment generation the record was written in. */
  generation: number;
}

/** The row of `pg_querylens_info()`, decoded. */
export interface QueryLensInfo {
  /** Name of the POSIX shared-memory object. */
  segmentName: string;
  /** Layout version. */
  layoutVersion: number;
  /** Bytes per record slot. */
  slotSize: number;
  /** Records per ring. */
  slotsPerRing: number;
  /** Number of rings. */
  nrings: number;
  /** Size of the segment in bytes. */
  segmentSize: number;
  /** Incremented at every (re)initialization. */
  generation: number;
  /** `initializing`, `ready` or `closing`. */
  state: string;
  /** Postmaster pid. */
  postmasterPid: number;
  /** QL_CAP_* bits. */
  capabilities: number;
  /** Session value of pg_querylens.cpu. */
  cpuMode: string;
  /** Sampler period in milliseconds. */
  samplePeriodMs: number;
  /** Pid of the wait sampler, null when it is not running. */
  samplerPid: number | null;
  /** Passes the sampler has made. */
  samplerPasses: number;
  /** Time of the sampler's last pass. */
  samplerHeartbeat: Date | null;
  /** Sum of every ring's head. */
  recordsWritten: number;
  /** Sum of every ring's overwritten_unread. */
  overwrittenUnread: number;
  /** Sum of every ring's dropped. */
  dropped: number;
  /** Pid an external reader published, null when none. */
  readerPid: number | null;
}

/** A ring of `pg_querylens_rings()`. */
export interface RingRow {
  /** Ring index. */
  ring: number;
  /** Its current producer, 0 when none. */
  pid: number;
  /** Next record number. */
  head: number;
  /** Records overwritten before the external reader read them. */
  overwrittenUnread: number;
  /** Executions not recorded. */
  dropped: number;
}

/** Options of {@link startQueryLensCluster}. */
export interface QueryLensClusterOptions {
  /** Cluster directory prefix. */
  name?: string;
  /** Server settings (pg_querylens.* and others). */
  settings?: Record<string, string>;
  /** Libraries preloaded before pg_querylens (their extensions are created too). */
  before?: string[];
  /** Libraries preloaded after pg_querylens (their extensions are created too). */
  after?: string[];
}

/**
 * Whether pg_querylens is installed into a server (control file and module present).
 */
export function querylensInstalled(server: ServerInstall = debianServer()): boolean {
  return server.extensions.includes(QUERYLENS);
}

/**
 * Starts a Debian PostgreSQL 15 cluster with pg_querylens preloaded (after `before`, before `after`)
 * and creates the extension (and those of `before` and `after`) in the `postgres` database.
 *
 * @throws Error when pg_querylens is not installed into the server.
 */
export async function startQueryLensCluster(opts: QueryLensClusterOptions = {}): Promise<Cluster> {
  const server = debianServer();
  if (!querylensInstalled(server)) {
    throw new Error(
      "pg_querylens is not installed into PostgreSQL 15: run " +
        "`make -C extension PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config install` as root (or scripts/setup.sh)",
    );
  }
  const preload = [...(opts.before ?? []), QUERYLENS, ...(opts.after ?? [])];
  const cluster = await startCluster({
    server,
    name: opts.name ?? "querylens",
    preload,
    settings: opts.settings,
  });
  try {
    for (const ext of preload) await cluster.createExtension("postgres", ext);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

type Raw = Record<string, unknown>;

const num = (v: unknown): number => Number(v);
const big = (v: unknown): bigint => BigInt(v as string | number);

/** Decodes one row of `pg_querylens_read`. */
export function decodeRecord(r: Raw): QueryLensRow {
  const row: QueryLensRow = {
    ring: num(r.ring),
    seq: big(r.seq),
    recordType: r.record_type as "query" | "error",
    pid: num(r.pid),
    dbid: num(r.dbid),
    userid: num(r.userid),
    toplevel: r.toplevel as boolean,
    nestingLevel: num(r.nesting_level),
    cmdType: num(r.cmd_type),
    flags: num(r.flags),
    execSeq: big(r.exec_seq),
    queryId: big(r.queryid),
    planId: big(r.planid),
    parentQueryId: big(r.parent_queryid),
    startTime: r.start_time as Date,
    durationNs: num(r.duration_ns),
    rows: num(r.rows),
    sharedBlksHit: num(r.shared_blks_hit),
    sharedBlksRead: num(r.shared_blks_read),
    sharedBlksDirtied: num(r.shared_blks_dirtied),
    sharedBlksWritten: num(r.shared_blks_written),
    tempBlksRead: num(r.temp_blks_read),
    tempBlksWritten: num(r.temp_blks_written),
    walBytes: num(r.wal_bytes),
    walRecords: num(r.wal_records),
    waitSamples: (r.wait_samples as unknown[]).map(num),
    waitEventLast: num(r.wait_event_last),
    waitEventType: (r.wait_event_type as string | null) ?? null,
    waitEvent: (r.wait_event as string | null) ?? null,
    sqlstate: (r.sqlstate as string | null) ?? null,
    generation: num(r.generation),
  };
  if (r.shared_read_us !== null) {
    row.io = {
      sharedReadUs: num(r.shared_read_us),
      sharedWriteUs: num(r.shared_write_us),
      localReadUs: num(r.local_read_us),
      localWriteUs: num(r.local_write_us),
      tempReadUs: num(r.temp_read_us),
      tempWriteUs: num(r.temp_write_us),
    };
  }
  if (r.cpu_user_us !== null) row.cpu = { userUs: num(r.cpu_user_us), sysUs: num(r.cpu_sys_us) };
  return row;
}

/** Options of {@link readRecords}. */
export interface ReadOptions {
  /** Most records to return (pg_querylens_read's max_rows); 100000 by default. */
  maxRows?: number;
  /** false only peeks (consume => false). */
  consume?: boolean;
  /** Keep only records of this process. */
  pid?: number;
}

/** Reads records for a consumer through `pg_querylens_read`. */
export async function readRecords(
  sql: postgres.Sql,
  consumer: string,
  opts: ReadOptions = {},
): Promise<QueryLensRow[]> {
  const rows = await sql`
    SELECT * FROM pg_querylens_read(${opts.maxRows ?? 100000}::int, ${consumer}::text, ${
    opts.consume ?? true
  }::bool)`;
  const records = rows.map((r) => decodeRecord(r as Raw));
  return opts.pid === undefined ? records : records.filter((r) => r.pid === opts.pid);
}

/** Reads `pg_querylens_info()`. */
export async function querylensInfo(sql: postgres.Sql): Promise<QueryLensInfo> {
  const [r] = await sql`SELECT * FROM pg_querylens_info()`;
  const opt = (v: unknown) => (v === null ? null : Number(v));
  return {
    segmentName: r.segment_name,
    layoutVersion: num(r.layout_version),
    slotSize: num(r.slot_size),
    slotsPerRing: num(r.slots_per_ring),
    nrings: num(r.nrings),
    segmentSize: num(r.segment_size),
    generation: num(r.generation),
    state: r.state,
    postmasterPid: num(r.postmaster_pid),
    capabilities: num(r.capabilities),
    cpuMode: r.cpu_mode,
    samplePeriodMs: num(r.sample_period_ms),
    samplerPid: opt(r.sampler_pid),
    samplerPasses: num(r.sampler_passes),
    samplerHeartbeat: r.sampler_heartbeat as Date | null,
    recordsWritten: num(r.records_written),
    overwrittenUnread: num(r.overwritten_unread),
    dropped: num(r.dropped),
    readerPid: opt(r.reader_pid),
  };
}

/** Reads `pg_querylens_rings()`. */
export async function querylensRings(sql: postgres.Sql): Promise<RingRow[]> {
  const rows = await sql`SELECT * FROM pg_querylens_rings() ORDER BY ring`;
  return rows.map((r) => ({
    ring: num(r.ring),
    pid: num(r.pid),
    head: num(r.head),
    overwrittenUnread: num(r.overwritten_unread),
    dropped: num(r.dropped),
  }));
}

/** Path of a cluster's segment in the shared-memory file system. */
export function segmentPath(port: number): string {
  return `/dev/shm/pg_querylens.${port}`;
}

/** Path of a cluster's discovery file. */
export function discoveryPath(cluster: Cluster): string {
  return join(cluster.dataDir, "pg_querylens.discovery");
}

/**
 * Parses a discovery file (`key=value` lines).
 *
 * @throws Error naming the first line that is not `key=value`.
 */
export function parseDiscovery(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    const m = /^([a-z_]+)=(.*)$/.exec(line);
    if (!m) throw new Error(`discovery file line ${i + 1} is not key=value: ${JSON.stringify(line)}`);
    out[m[1]] = m[2];
  }
  return out;
}

/** Offset of the reader page's pointer in the global header. */
const READER_PAGE_OFFSET_FIELD = 32;
/** Offset of the cursors in the reader page. */
const READER_CURSORS = 64;

/** What {@link writeReaderPage} stores. */
export interface ReaderPageState {
  /** reader_pid (0 detaches the reader). */
  readerPid: number;
  /** Cursors to store, by ring index. */
  cursors?: Map<number, bigint>;
}

/**
 * Writes the reader page of a segment file, as an external reader would: its pid and some
 * per-ring cursors (the next record it expects). The page's offset is read from the header.
 */
export async function writeReaderPage(path: string, state: ReaderPageState): Promise<void> {
  using file = await Deno.open(path, { read: true, write: true });
  const header = new Uint8Array(40);
  await file.seek(0, Deno.SeekMode.Start);
  if ((await file.read(header)) !== header.length) throw new Error(`${path} is too short for a header`);
  const pageOffset = Number(new DataView(header.buffer).getBigUint64(READER_PAGE_OFFSET_FIELD, true));
  const write = async (offset: number, bytes: Uint8Array) => {
    await file.seek(offset, Deno.SeekMode.Start);
    let done = 0;
    while (done < bytes.length) done += await file.write(bytes.subarray(done));
  };
  for (const [ring, cursor] of state.cursors ?? new Map()) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, cursor, true);
    await write(pageOffset + READER_CURSORS + 8 * ring, b);
  }
  const pid = new Uint8Array(4);
  new DataView(pid.buffer).setInt32(0, state.readerPid, true);
  await write(pageOffset, pid);
}

/**
 * Stops a cluster's server with `pg_ctl -m fast` (a real shutdown, unlike Cluster.stop's immediate
 * mode). The cluster object must still be stopped afterwards to remove its directory.
 *
 * @throws Error when pg_ctl fails.
 */
export async function stopFast(cluster: Cluster): Promise<void> {
  const user = serverUser();
  const pgCtl = join(cluster.server.binDir, "pg_ctl");
  const args = ["-D", cluster.dataDir, "-m", "fast", "-w", "stop"];
  const [cmd, cmdArgs] = user ? ["runuser", ["-u", user.name, "--", pgCtl, ...args]] : [pgCtl, args];
  const out = await new Deno.Command(cmd, { args: cmdArgs, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    throw new Error(`pg_ctl stop -m fast failed: ${text.trim()}`);
  }
}

/** Whether a path exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
