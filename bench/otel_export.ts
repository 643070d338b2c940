/**
 * Benchmark: what OTLP export costs. One-shot cycles of the collector in `--mode=otel` (over
 * HTTP/protobuf and over gRPC) and `--mode=hybrid` against the same cycle in `--mode=nri`, all on
 * one server in the same run, with a real OTLP receiver (PyPI oteltest) taking the requests.
 *
 * The server holds one database of 300 tables × 2 indexes plus 200 distinct statements, run again
 * before every collector run, with query monitoring on, so a cycle carries base samples of ~900 entities and every QPM event type. Each
 * mode keeps its own state directory, so after the warm-up every run continues from saved state
 * (rates, series start times, top-query counters) as the infrastructure agent's runs do.
 * The rounds interleave the modes; figures are medians, ratios are mode / nri.
 *
 * @module
 */

import { join } from "node:path";
import { type Cluster, startCluster } from "../tests/support/cluster.ts";
import { clusterEnv } from "../tests/support/collector.ts";
import { type OtlpReceiver, startReceiver } from "../tests/support/oteltest.ts";
import { runTimedCollector, type TimedCollectorRun } from "./lib/collector_process.ts";
import type { Benchmark, BenchReport, ReportRow } from "./lib/report.ts";
import { median } from "./lib/stats.ts";
import { createTableFixture } from "./lib/table_fixture.ts";

/** Sizes of the benchmark. */
export interface OtelExportOptions {
  /** Tables of the one fixture database. */
  tables: number;
  /** Distinct statements run before the rounds. */
  statements: number;
  /** Measured rounds (after one warm-up round). */
  rounds: number;
}

/** The sizes `deno task bench` uses. */
export const DEFAULT_OPTIONS: OtelExportOptions = { tables: 300, statements: 200, rounds: 5 };

/** The modes measured against `nri`. */
export const MODES = ["otel-http", "otel-grpc", "hybrid-http"] as const;
type Mode = "nri" | typeof MODES[number];

function modeEnv(mode: Mode, rx: OtlpReceiver, stateRoot: string): Record<string, string> {
  const env: Record<string, string> = {
    PGQUERYLENS_MODE: mode.split("-")[0],
    TEMP_DIR: join(stateRoot, mode),
  };
  if (mode === "nri") return env;
  const grpc = mode.endsWith("grpc");
  return {
    ...env,
    OTEL_EXPORTER_OTLP_PROTOCOL: grpc ? "grpc" : "http/protobuf",
    OTEL_EXPORTER_OTLP_ENDPOINT: grpc ? `http://${rx.grpcEndpoint}` : rx.httpEndpoint,
  };
}

async function workload(
  cluster: Cluster,
  database: string,
  tables: number,
  statements: number,
): Promise<void> {
  const db = cluster.sql(database);
  try {
    for (let i = 1; i <= statements; i++) {
      await db.unsafe(`SELECT count(*) FROM public.t_${(i % tables) + 1} WHERE v = ${i % 7} AND id > ${i}`);
    }
  } finally {
    await db.end();
  }
}

/** Counts the data points and log records of what the receiver got since `skip` requests per signal. */
async function received(rx: OtlpReceiver, skip: { metrics: number; logs: number }) {
  const got = await rx.received();
  let points = 0, records = 0;
  for (const r of got.metrics.slice(skip.metrics)) {
    // deno-lint-ignore no-explicit-any
    for (const rm of (r.request as any).resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) points += (m.sum ?? m.gauge)?.dataPoints?.length ?? 0;
      }
    }
  }
  for (const r of got.logs.slice(skip.logs)) {
    // deno-lint-ignore no-explicit-any
    for (const rl of (r.request as any).resourceLogs ?? []) {
      for (const sl of rl.scopeLogs ?? []) records += sl.logRecords?.length ?? 0;
    }
  }
  return { points, records, counts: { metrics: got.metrics.length, logs: got.logs.length } };
}

/** Runs the benchmark with `opts`. */
export async function runOtelExport(opts: OtelExportOptions): Promise<BenchReport> {
  for (const key of ["tables", "statements", "rounds"] as const) {
    if (!Number.isInteger(opts[key]) || opts[key] < 1) {
      throw new Error(`option ${key} must be a positive integer, got ${opts[key]}`);
    }
  }
  await using cluster = await startCluster({ name: "bench-otel", preload: ["pg_stat_statements"] });
  await using rx = await startReceiver();
  const [database] = await createTableFixture(cluster, {
    databases: 1,
    tables: opts.tables,
    indexesPerTable: 2,
    rowsPerTable: 10,
    prefix: "otel",
  });
  await cluster.createExtension(database, "pg_stat_statements");
  // The fixture's thousands of set-up statements would fill the slow-query ranking and never grow.
  await cluster.sql(database).unsafe("SELECT pg_stat_statements_reset()");
  await workload(cluster, database, opts.tables, opts.statements);
  const stateRoot = join("/tmp/pgquerylens", `bench-otel-${crypto.randomUUID().slice(0, 8)}`);
  const base = {
    ...clusterEnv(cluster, "postgres", cluster.password),
    DATABASE: database, // where pg_stat_statements is created
    COLLECTION_LIST: "ALL",
    ENABLE_QUERY_MONITORING: "true",
    // The benchmark's statements are fast; every one of them should be a slow-query row.
    QUERY_MONITORING_RESPONSE_TIME_THRESHOLD: "0",
  };
  const runs = new Map<Mode, TimedCollectorRun[]>();
  const exported = new Map<Mode, { points: number; records: number }[]>();
  let seen = { metrics: 0, logs: 0 };
  try {
    for (let round = 0; round <= opts.rounds; round++) {
      for (const mode of ["nri", ...MODES] as Mode[]) {
        // The statements grow between runs, so each run has top-query deltas (log records) to export.
        await workload(cluster, database, opts.tables, opts.statements);
        const run = await runTimedCollector([], { ...base, ...modeEnv(mode, rx, stateRoot) });
        if (run.code !== 0) throw new Error(`${mode} run exited ${run.code}: ${run.stderr.slice(-2000)}`);
        const got = await received(rx, seen);
        seen = got.counts;
        if (mode !== "nri" && got.points === 0) throw new Error(`${mode}: the receiver got no data points`);
        if (round === 0) continue; // warm-up: state files are written, caches filled
        runs.set(mode, [...(runs.get(mode) ?? []), run]);
        exported.set(mode, [...(exported.get(mode) ?? []), got]);
      }
    }
  } finally {
    await Deno.remove(stateRoot, { recursive: true }).catch(() => {});
  }
  const nri = runs.get("nri")!;
  const med = (rs: TimedCollectorRun[], f: (r: TimedCollectorRun) => number) => median(rs.map(f));
  const rows: ReportRow[] = [];
  for (const mode of MODES) {
    const rs = runs.get(mode)!;
    const label = "nri one-shot";
    rows.push(
      {
        metric: `${mode}: CPU per cycle (user+sys)`,
        value: med(rs, (r) => r.usage.cpuMs),
        unit: "ms",
        baseline: { value: med(nri, (r) => r.usage.cpuMs), label },
      },
      {
        metric: `${mode}: wall time per cycle`,
        value: med(rs, (r) => r.wallMs),
        unit: "ms",
        baseline: { value: med(nri, (r) => r.wallMs), label },
      },
      {
        metric: `${mode}: peak RSS`,
        value: med(rs, (r) => r.usage.maxRssKb / 1024),
        unit: "MiB",
        baseline: { value: med(nri, (r) => r.usage.maxRssKb / 1024), label },
      },
      {
        metric: `${mode}: data points per cycle`,
        value: median(exported.get(mode)!.map((e) => e.points)),
        unit: "count",
      },
      {
        metric: `${mode}: log records per cycle`,
        value: median(exported.get(mode)!.map((e) => e.records)),
        unit: "count",
      },
    );
  }
  return {
    title: `OTLP export cost: one-shot cycles on 1 database × ${opts.tables} tables × 2 indexes + ` +
      `${opts.statements} statements, by mode vs nri`,
    rows,
    notes: [
      `${opts.rounds} rounds after one warm-up, modes interleaved; medians; each mode continues from its own saved state`,
      "receiver: PyPI oteltest (gRPC and HTTP sinks) on loopback; one-shot runs wait for delivery before exiting",
    ],
  };
}

/** The benchmark as `deno task bench` runs it. */
export const benchmark: Benchmark = {
  name: "otel_export",
  description: "one-shot cycles in otel (HTTP, gRPC) and hybrid mode vs nri mode on the same server",
  run: () => runOtelExport(DEFAULT_OPTIONS),
};
