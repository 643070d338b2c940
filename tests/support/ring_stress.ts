/**
 * Drives the ring stress harness `ffi/build/ring_stress` (see ffi/README.md): segments with the
 * pg_querylens layout but no PostgreSQL, producers that write records whose every field is a
 * deterministic function of (ring, record number, generation), and {@link expectedRecord}, the
 * TypeScript twin of the harness's record function, so a test can check every field of every record
 * a reader returns.
 *
 * ```ts
 * await buildFfi();
 * const name = stressSegmentName("demo");
 * await ringStress(["create", name, "--rings", "4", "--slots", "64"]);
 * const producers = startRingStress(["produce", name, "--producers", "2", "--duration-ms", "500"]);
 * const report = await producers.done;
 * await removeSegment(name);
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { QL_FLAGS, type QueryLensRecord, unpackSqlstate } from "../../src/extensions/querylens_record.ts";
import { repoRoot } from "./servers.ts";

/** Heads of a segment as the harness prints them. */
export interface StressHeads {
  /** Segment name. */
  name: string;
  /** Header generation. */
  generation: number;
  /** Number of rings. */
  nrings: number;
  /** Slots per ring. */
  slots_per_ring: number;
  /** Head of every ring (records written since the generation began). */
  heads: number[];
  /** Sum of the heads. */
  written: number;
  /** Sum of the rings' overwritten_unread counters. */
  overwritten_unread: number;
}

/** Output of `ring_stress produce`. */
export interface ProduceReport extends StressHeads {
  /** Crash-restarts played. */
  bumps: number;
  /** Wall time of the run. */
  seconds: number;
}

/** Output of `ring_stress read`. */
export interface ReadReport extends Partial<StressHeads> {
  /** Open/drain passes. */
  passes: number;
  /** Records copied. */
  copied: number;
  /** Records lost. */
  lost: number;
  /** Copied records that did not match the expected record (must be 0). */
  torn: number;
  /** Generation changes seen. */
  generation_changes: number;
  /** Calls that found the segment not ready. */
  not_ready: number;
  /** Read calls. */
  calls: number;
  /** Time spent reading. */
  seconds: number;
  /** copied / seconds. */
  records_per_second: number;
  /** 0, or the library status that stopped the reader (e.g. -2 permission denied). */
  status: number;
}

/** A finished harness run. */
export interface StressRun<T> {
  /** Exit code. */
  code: number;
  /** The JSON object printed on stdout (undefined when none was printed). */
  report: T | undefined;
  /** Standard error. */
  stderr: string;
}

/** The `ffi/` directory. */
export function ffiDir(): string {
  return join(repoRoot(), "ffi");
}

/** Path of the harness executable. */
export function ringStressPath(): string {
  return join(ffiDir(), "build", "ring_stress");
}

let built: Promise<void> | undefined;

/** Runs `make -C ffi` once per process (it rebuilds only what changed). */
export function buildFfi(): Promise<void> {
  built ??= (async () => {
    const out = await new Deno.Command("make", { args: ["-C", ffiDir()], stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      throw new Error(`make -C ffi failed (exit ${out.code}):\n${text}`);
    }
  })();
  return built;
}

/** A segment name for one test, unique to this process (under the 64-byte limit). */
export function stressSegmentName(tag: string): string {
  if (!/^[a-z0-9_-]{1,12}$/.test(tag)) {
    throw new Error(`segment tag must be 1-12 of [a-z0-9_-], got "${tag}"`);
  }
  return `/pg_querylens.stress.${Deno.pid}.${tag}.${crypto.randomUUID().slice(0, 8)}`;
}

function parseReport<T>(stdout: string): T | undefined {
  const line = stdout.trim().split("\n").pop();
  if (!line) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}

/** Runs the harness with `args` (a command, a segment name and options) and parses its report. */
export async function ringStress<T = StressHeads>(args: string[], user?: string): Promise<StressRun<T>> {
  const [cmd, cmdArgs] = user ? ["runuser", ["-u", user, "--", ringStressPath(), ...args]] : [
    ringStressPath(),
    args,
  ];
  const out = await new Deno.Command(cmd, { args: cmdArgs, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: out.code, report: parseReport<T>(dec.decode(out.stdout)), stderr: dec.decode(out.stderr) };
}

/** Runs the harness and returns its report, or throws with its stderr when it fails. */
export async function ringStressOk<T = StressHeads>(args: string[]): Promise<T> {
  const run = await ringStress<T>(args);
  if (run.code !== 0 || run.report === undefined) {
    throw new Error(`ring_stress ${args.join(" ")} exited ${run.code}: ${run.stderr.trim()}`);
  }
  return run.report;
}

/** A harness process running in the background. */
export interface BackgroundStress<T> {
  /** The process. */
  child: Deno.ChildProcess;
  /** Resolves to the report when it exits 0; rejects with its stderr otherwise. */
  done: Promise<T>;
  /** True once the process has exited. */
  exited(): boolean;
}

/** Starts the harness in the background (for `produce`, while a test reads). */
export function startRingStress<T = ProduceReport>(args: string[]): BackgroundStress<T> {
  const child = new Deno.Command(ringStressPath(), { args, stdout: "piped", stderr: "piped" }).spawn();
  let finished = false;
  const done = child.output().then((out) => {
    finished = true;
    const dec = new TextDecoder();
    const report = parseReport<T>(dec.decode(out.stdout));
    if (out.code !== 0 || report === undefined) {
      throw new Error(`ring_stress ${args.join(" ")} exited ${out.code}: ${dec.decode(out.stderr).trim()}`);
    }
    return report;
  });
  return { child, done, exited: () => finished };
}

/** Removes a segment (no error when it does not exist). */
export async function removeSegment(name: string): Promise<void> {
  await ringStress(["unlink", name]);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Field k of record (ring, n): the harness's `field_hash`. */
function fieldHash(ring: number, nLo: number, nHi: number, k: number): number {
  const inner = (nHi + Math.imul(ring, 0x9e3779b9) + Math.imul(k, 0x7feb352d)) >>> 0;
  return fmix32((nLo ^ fmix32(inner)) >>> 0);
}

/**
 * The record the harness writes as record `n` of `ring` in generation `generation` (low 32 bits),
 * decoded: what a correct reader must return for it.
 */
export function expectedRecord(ring: number, n: number, generation: number): QueryLensRecord {
  const nLo = n >>> 0;
  const nHi = Math.floor(n / 2 ** 32);
  const h = (k: number) => fieldHash(ring, nLo, nHi, k);
  const u53 = (k: number) => (h(k) & 0x1fffff) * 2 ** 32 + h(k + 1);
  const u64 = (k: number) => (BigInt(h(k)) << 32n) | BigInt(h(k + 1));
  const counters = Array.from({ length: 15 }, (_, j) => u53(17 + 2 * j));
  const times = Array.from({ length: 8 }, (_, j) => h(47 + j));
  const flags = h(3);
  const isError = (h(0) & 7) === 0;
  const rec: QueryLensRecord = {
    ring,
    seq: BigInt(n),
    type: isError ? "error" : "query",
    pid: h(4) & 0x3fffffff,
    dbid: h(5),
    userid: h(6),
    toplevel: (flags & QL_FLAGS.TOPLEVEL) !== 0,
    nestingLevel: h(1) & 0xff,
    cmdType: h(2) & 0xff,
    flags,
    generation: generation >>> 0,
    execSeq: u64(7),
    queryId: BigInt.asIntN(64, u64(9)),
    planId: BigInt.asIntN(64, u64(11)),
    parentQueryId: BigInt.asIntN(64, u64(13)),
    startUs: u53(15),
    durationNs: counters[0],
    rows: counters[1],
    sharedBlksHit: counters[2],
    sharedBlksRead: counters[3],
    sharedBlksDirtied: counters[4],
    sharedBlksWritten: counters[5],
    localBlksHit: counters[6],
    localBlksRead: counters[7],
    localBlksDirtied: counters[8],
    localBlksWritten: counters[9],
    tempBlksRead: counters[10],
    tempBlksWritten: counters[11],
    walBytes: counters[12],
    walRecords: counters[13],
    walFpi: counters[14],
    waitSamples: Array.from({ length: 8 }, (_, j) => h(55 + j) & 0xffff),
    waitEventLast: h(63),
  };
  if ((flags & QL_FLAGS.IO_TIMING) !== 0) {
    rec.io = {
      sharedReadUs: times[0],
      sharedWriteUs: times[1],
      localReadUs: times[2],
      localWriteUs: times[3],
      tempReadUs: times[4],
      tempWriteUs: times[5],
    };
  }
  if ((flags & QL_FLAGS.CPU_VALID) !== 0) rec.cpu = { userUs: times[6], sysUs: times[7] };
  if (isError) rec.sqlstate = unpackSqlstate(h(64) & 0x3fffffff);
  return rec;
}

function differs(a: unknown, b: unknown, path: string): string | undefined {
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return Object.is(a, b) ? undefined : `${path}: got ${String(a)}, expected ${String(b)}`;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const d = differs(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      `${path}.${key}`,
    );
    if (d) return d;
  }
  return undefined;
}

/**
 * Checks a record returned by a reader against {@link expectedRecord} for its ring, record number
 * and generation: undefined when every field matches, else the first difference.
 */
export function recordMismatch(rec: QueryLensRecord): string | undefined {
  return differs(
    rec,
    expectedRecord(rec.ring, Number(rec.seq), rec.generation),
    `ring ${rec.ring} #${rec.seq}`,
  );
}
