/**
 * Benchmark: how many pg_querylens records per second the collector's ring reader drains. The ring
 * stress harness (`ffi/build/ring_stress`) fills a segment of large rings; then, in the same run:
 *
 * - the harness's built-in reader (C, the reader library's own code, no verification) drains it;
 * - the Deno FFI reader drains it with `drain()` (records decoded into objects) and with
 *   `drainWith()` (slots visited, nothing decoded);
 * - live: one harness producer writes at full speed while the Deno reader drains and decodes; the
 *   baseline is what the producer wrote, so the ratio is the share the reader kept up with.
 *
 * The static figures are medians over passes (each pass reopens the reader at the oldest record);
 * the FFI figures are given as ratios against the C reader. The target is 1,000,000 records/s through
 * Deno FFI with decoding.
 *
 * @module
 */

import { openRingReader } from "../src/extensions/querylens_ffi.ts";
import {
  buildFfi,
  type ReadReport,
  removeSegment,
  ringStressOk,
  startRingStress,
  stressSegmentName,
} from "../tests/support/ring_stress.ts";
import type { Benchmark, BenchReport } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

/** Sizes of the benchmark. */
export interface QueryLensReaderOptions {
  /** Rings of the segment. */
  rings: number;
  /** Slots per ring (a power of two); the fill writes exactly this many records per ring. */
  slots: number;
  /** Static passes per reader. */
  passes: number;
  /** Duration of the live measure, milliseconds. */
  liveMs: number;
}

/** The sizes `deno task bench` uses: 16 rings × 16384 slots (64 MiB, 262,144 records). */
export const DEFAULT_OPTIONS: QueryLensReaderOptions = { rings: 16, slots: 16384, passes: 5, liveMs: 2000 };

/** Records per second the FFI reader with decoding is expected to reach. */
export const TARGET_RECORDS_PER_SECOND = 1_000_000;

/** Records one drain call of the benchmark asks for (the collector drains in bounded batches too). */
const DRAIN_BATCH = 16_384;

function checkOptions(opts: QueryLensReaderOptions): void {
  for (const key of ["rings", "slots", "passes", "liveMs"] as const) {
    if (!Number.isInteger(opts[key]) || opts[key] < 1) {
      throw new Error(`option ${key} must be a positive integer, got ${opts[key]}`);
    }
  }
  if ((opts.slots & (opts.slots - 1)) !== 0) {
    throw new Error(`option slots must be a power of two, got ${opts.slots}`);
  }
}

/** Records per second of one FFI pass over a full segment; throws unless it got every record. */
function ffiPass(name: string, expected: number, decode: boolean): number {
  using reader = openRingReader(name, { mode: "oldest", publish: false });
  let got = 0;
  let sink = 0;
  const start = performance.now();
  for (;;) {
    let n: number;
    if (decode) {
      const r = reader.drain(DRAIN_BATCH);
      n = r.records.length;
      if (n > 0) sink += r.records[n - 1].durationNs;
    } else {
      n = reader.drainWith((view, at) => {
        sink += view.getUint8(at + 8);
      }, DRAIN_BATCH).count;
    }
    got += n;
    if (n === 0) break;
  }
  const seconds = (performance.now() - start) / 1000;
  if (got !== expected || !Number.isFinite(sink)) {
    throw new Error(`the FFI reader got ${got} records of ${expected}`);
  }
  return got / seconds;
}

/**
 * Drains and decodes for `ms` while a full-speed producer appends to a segment already holding
 * `before` records; records/s read and written, and records lost.
 */
async function livePass(
  name: string,
  ms: number,
  before: number,
): Promise<{ read: number; written: number; lost: number }> {
  using reader = openRingReader(name, { mode: "head", publish: true });
  const producer = startRingStress(["produce", name, "--producers", "1", "--duration-ms", String(ms)]);
  let read = 0;
  let lost = 0;
  const start = performance.now();
  while (!producer.exited()) {
    const r = reader.drain(DRAIN_BATCH);
    read += r.records.length;
    lost += r.lost;
    if (r.records.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const report = await producer.done;
  for (;;) {
    const r = reader.drain(DRAIN_BATCH);
    read += r.records.length;
    lost += r.lost;
    if (r.records.length === 0) break;
  }
  const seconds = (performance.now() - start) / 1000;
  const written = report.written - before;
  if (read + lost !== written) throw new Error(`live: read ${read} + lost ${lost} != written ${written}`);
  return { read: read / seconds, written: written / report.seconds, lost };
}

/** Runs the benchmark with `opts`. */
export async function runQueryLensReader(opts: QueryLensReaderOptions): Promise<BenchReport> {
  checkOptions(opts);
  await buildFfi();
  const name = stressSegmentName("bench");
  const total = opts.rings * opts.slots;
  try {
    await ringStressOk(["create", name, "--rings", String(opts.rings), "--slots", String(opts.slots)]);
    await ringStressOk(["produce", name, "--producers", "2", "--records", String(opts.slots)]);

    const c: number[] = [];
    const decoded: number[] = [];
    const raw: number[] = [];
    for (let pass = 0; pass < opts.passes; pass++) {
      const read = await ringStressOk<ReadReport>(["read", name, "--mode", "oldest", "--no-verify"]);
      if (read.copied !== total) throw new Error(`the C reader got ${read.copied} records of ${total}`);
      c.push(read.records_per_second);
      decoded.push(ffiPass(name, total, true));
      raw.push(ffiPass(name, total, false));
    }
    const live = await livePass(name, opts.liveMs, total);

    const cMedian = Math.round(median(c));
    const decodedMedian = Math.round(median(decoded));
    const label = "C reader, same segment";
    return {
      title: `pg_querylens ring reader: records/s draining ${opts.rings} rings × ${opts.slots} slots ` +
        `(${total} records of 256 B)`,
      rows: [
        { metric: "C reader (ring_stress read): records/s", value: cMedian, unit: "count" },
        {
          metric: "Deno FFI drain() with decoding: records/s",
          value: decodedMedian,
          unit: "count",
          baseline: { value: cMedian, label },
        },
        {
          metric: "Deno FFI drainWith() without decoding: records/s",
          value: Math.round(median(raw)),
          unit: "count",
          baseline: { value: cMedian, label },
        },
        {
          metric: "live, 1 full-speed producer: records/s drained and decoded",
          value: Math.round(live.read),
          unit: "count",
          baseline: { value: Math.round(live.written), label: "records/s the producer wrote" },
        },
        { metric: "live: records lost (lapped)", value: live.lost, unit: "count" },
      ],
      notes: [
        `${opts.passes} passes per reader, medians; each pass reopens at the oldest record and drains in ` +
        `batches of ${DRAIN_BATCH}`,
        `target ${TARGET_RECORDS_PER_SECOND} records/s through FFI with decoding: ` +
        (decodedMedian >= TARGET_RECORDS_PER_SECOND ? "met" : "NOT met"),
        `live: ${opts.liveMs} ms, producer and reader share the machine's cores`,
      ],
    };
  } finally {
    await removeSegment(name);
  }
}

/** The benchmark as `deno task bench` runs it. */
export const benchmark: Benchmark = {
  name: "querylens_reader",
  description: "records/s the pg_querylens ring reader drains: C alone vs Deno FFI with decoding",
  run: () => runQueryLensReader(DEFAULT_OPTIONS),
};
