/**
 * Benchmark: the cost of one active-session-history sample at 200 and at 500 backends.
 *
 * A throwaway cluster (Debian PostgreSQL 15, `max_connections` above the largest count) gets the
 * backends opened by one postgres.js pool, first 200 of them, then 500. At each count the
 * collector's own sampler (`AshCollector` in a one-shot burst, samples `ash_interval_ms` = 100 ms
 * apart) is measured twice: with every backend idle (the statement scans them and returns none),
 * and with every backend idle in a transaction (every backend is a row of every sample: the
 * sampler's worst case). For each:
 *
 * - server time per sample: `mean_exec_time` of the sampling statement in pg_stat_statements
 *   (reset before the measurement);
 * - client wall time per sample: the median of back-to-back `takeAshSample` round trips;
 * - collector CPU per sample: this process's user + system CPU (`process.cpuUsage`) over the burst,
 *   divided by its samples, once with per-backend CPU read from /proc (the server is on this host)
 *   and once without (configured as another host).
 *
 * Each figure at 500 backends is printed against the same figure at 200, measured side by side in
 * the same run, so the ratio shows how the cost grows with the backend count.
 *
 * @module
 */

import process from "node:process";
import postgres from "postgres";
import { defaultConfig } from "../src/config/defaults.ts";
import type { Config } from "../src/config/types.ts";
import { AshCollector } from "../src/collectors/ash/collect.ts";
import { takeAshSample } from "../src/collectors/ash/sampler.ts";
import { emptySnapshot } from "../src/core/model.ts";
import { probeCapabilities } from "../src/query_engine/capabilities.ts";
import { ConnectionManager } from "../src/query_engine/connection.ts";
import { type Cluster, startCluster } from "../tests/support/cluster.ts";
import type { Benchmark, BenchReport, ReportRow } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

/** Sizes of the benchmark. */
export interface AshBenchOptions {
  /** The smaller backend count (the baseline). */
  fewBackends: number;
  /** The larger backend count. */
  manyBackends: number;
  /** Samples per burst (each measurement runs one burst with and one without /proc). */
  samples: number;
  /** Back-to-back round trips timed for the wall time. */
  roundTrips: number;
}

/** The sizes `deno task bench` uses. */
export const DEFAULT_OPTIONS: Readonly<AshBenchOptions> = {
  fewBackends: 200,
  manyBackends: 500,
  samples: 40,
  roundTrips: 30,
};

const DATABASE = "postgres";
const INTERVAL_MS = 100;
/** The sampling statement as pg_stat_statements normalizes it starts so. */
const SAMPLER_TEXT = "/* pgquerylens */ SELECT a.pid, a.datname, a.usename, a.state";

/** What one measurement gives, per sample. */
export interface SampleCost {
  /** Server execution time, ms. */
  serverMs: number;
  /** Client round trip, ms. */
  wallMs: number;
  /** Collector CPU with per-backend CPU read from /proc, ms. */
  cpuWithProcMs: number;
  /** Collector CPU without /proc, ms. */
  cpuWithoutProcMs: number;
  /** Session-samples per sample. */
  rows: number;
}

function checkOptions(o: AshBenchOptions): void {
  for (const [key, value] of Object.entries(o)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`ash: option ${key} must be a positive integer, got ${value}`);
    }
  }
  if (o.manyBackends <= o.fewBackends) {
    throw new Error(`ash: manyBackends (${o.manyBackends}) must exceed fewBackends (${o.fewBackends})`);
  }
}

function collectorConfig(cluster: Cluster, hostname: string, samples: number): Config {
  const c = defaultConfig();
  return {
    ...c,
    username: cluster.superuser,
    password: cluster.password,
    hostname,
    port: String(cluster.port),
    database: DATABASE,
    ash: { ...c.ash, mode: "on", intervalMs: INTERVAL_MS, oneshotSamples: samples },
  };
}

/** CPU ms this process used while `fn` ran, and `fn`'s result. */
async function cpuOf<T>(fn: () => Promise<T>): Promise<{ cpuMs: number; result: T }> {
  const before = process.cpuUsage();
  const result = await fn();
  const used = process.cpuUsage(before);
  return { cpuMs: (used.user + used.system) / 1000, result };
}

/** One burst of the collector's sampler; returns CPU ms per sample and session-samples per sample. */
async function burst(
  cluster: Cluster,
  cm: ConnectionManager,
  hostname: string,
  samples: number,
): Promise<{ cpuMs: number; rows: number; cpuMeasured: boolean }> {
  const caps = await probeCapabilities(cm.sql(DATABASE));
  const ash = new AshCollector(collectorConfig(cluster, hostname, samples), cm, false);
  const snap = emptySnapshot({
    host: hostname,
    port: "0",
    serverVersionNum: 0,
    majorVersion: 0,
    serverVersion: "",
  });
  const issues: string[] = [];
  try {
    // A first burst of one sample opens the session and settles the /proc check outside the measure.
    const warm = new AshCollector(collectorConfig(cluster, hostname, 1), cm, false);
    await warm.collect({ caps, databases: [DATABASE], report: () => {} }, snap);
    await warm.close();
    const { cpuMs } = await cpuOf(() =>
      ash.collect({ caps, databases: [DATABASE], report: (i) => issues.push(i.message) }, snap)
    );
    const stats = snap.ashStats;
    if (stats === undefined || stats.cycleSamples !== samples) {
      throw new Error(
        `ash: the burst took ${stats?.cycleSamples} of ${samples} samples: ${issues.join("; ")}`,
      );
    }
    return {
      cpuMs: cpuMs / samples,
      rows: stats.ringSessionSamples / samples,
      cpuMeasured: stats.cpuMeasured,
    };
  } finally {
    await ash.close();
  }
}

/** Measures one sample's cost with the backends as they are. */
async function measure(cluster: Cluster, o: AshBenchOptions, expectRows: number): Promise<SampleCost> {
  const admin = cluster.sql(DATABASE);
  const cm = new ConnectionManager(collectorConfig(cluster, cluster.host, 1));
  try {
    await admin`SELECT pg_stat_statements_reset()`;
    const withProc = await burst(cluster, cm, cluster.host, o.samples);
    const withoutProc = await burst(cluster, cm, "db.elsewhere.example", o.samples);
    if (!withProc.cpuMeasured || withoutProc.cpuMeasured) {
      throw new Error("ash: /proc must be readable on this host (run the benchmark with -A)");
    }
    if (withProc.rows !== expectRows) {
      throw new Error(`ash: expected ${expectRows} sessions per sample, the sampler saw ${withProc.rows}`);
    }
    const [stat] = await admin`SELECT sum(calls)::int AS calls, sum(total_exec_time) / sum(calls) AS mean_ms
      FROM pg_stat_statements WHERE query LIKE ${SAMPLER_TEXT + "%"}`;
    if (!(stat.calls >= 2 * o.samples)) {
      throw new Error(
        `ash: pg_stat_statements counted ${stat.calls} sampler calls, expected ${2 * o.samples}`,
      );
    }
    const scope = { databases: [DATABASE], applicationName: "pgquerylens", hasQueryId: true };
    const sql = cm.sql(DATABASE, "ash");
    const trips: number[] = [];
    for (let i = 0; i < o.roundTrips; i++) {
      const t0 = performance.now();
      await takeAshSample(sql, scope);
      trips.push(performance.now() - t0);
    }
    return {
      serverMs: stat.mean_ms,
      wallMs: median(trips),
      cpuWithProcMs: withProc.cpuMs,
      cpuWithoutProcMs: withoutProc.cpuMs,
      rows: withProc.rows,
    };
  } finally {
    await cm.close();
    await admin.end();
  }
}

/** Opened backends: idle, or each in an open transaction. */
interface Backends {
  count: number;
  /** Puts every backend in a transaction (idle in transaction). */
  begin(): Promise<void>;
  /** Ends every transaction (idle again). */
  rollback(): Promise<void>;
  /** Opens more backends, up to `count` in all. */
  grow(count: number): Promise<void>;
  close(): Promise<void>;
}

async function openBackends(cluster: Cluster, count: number): Promise<Backends> {
  const pool = postgres({
    host: cluster.host,
    port: cluster.port,
    user: cluster.superuser,
    password: cluster.password,
    database: DATABASE,
    max: 1000,
    idle_timeout: 0,
    onnotice: () => {},
  });
  const held: postgres.ReservedSql[] = [];
  const b: Backends = {
    count: 0,
    async grow(n: number) {
      const more = await Promise.all(Array.from({ length: n - held.length }, () => pool.reserve()));
      // Each reserved connection logs in on its first statement.
      await Promise.all(more.map((r) => r`SELECT 1`));
      held.push(...more);
      b.count = held.length;
    },
    async begin() {
      await Promise.all(held.map(async (r) => {
        await r.unsafe("BEGIN");
        await r.unsafe("SELECT 1");
      }));
    },
    async rollback() {
      await Promise.all(held.map((r) => r.unsafe("ROLLBACK")));
    },
    async close() {
      for (const r of held) r.release();
      await pool.end({ timeout: 5 });
    },
  };
  await b.grow(count);
  return b;
}

/** Both variants at the current backend count. */
async function measureBoth(cluster: Cluster, backends: Backends, o: AshBenchOptions) {
  const idle = await measure(cluster, o, 0);
  await backends.begin();
  try {
    const inTx = await measure(cluster, o, backends.count);
    return { idle, inTx };
  } finally {
    await backends.rollback();
  }
}

function rows(label: string, many: SampleCost, few: SampleCost, fewCount: number): ReportRow[] {
  const base = `same at ${fewCount} backends`;
  const row = (metric: string, key: keyof SampleCost, unit: "ms" | "count"): ReportRow => ({
    metric: `${label}: ${metric}`,
    value: many[key],
    unit,
    baseline: { value: few[key], label: base },
  });
  return [
    row("session-samples per sample", "rows", "count"),
    row("server time per sample", "serverMs", "ms"),
    row("client wall time per sample", "wallMs", "ms"),
    row("collector CPU per sample, /proc CPU on", "cpuWithProcMs", "ms"),
    row("collector CPU per sample, /proc CPU off", "cpuWithoutProcMs", "ms"),
  ];
}

/** Runs the benchmark with `o` and returns its report. */
export async function runAshBench(o: AshBenchOptions = DEFAULT_OPTIONS): Promise<BenchReport> {
  checkOptions(o);
  await using cluster = await startCluster({
    name: "benchash",
    preload: ["pg_stat_statements"],
    settings: { max_connections: String(o.manyBackends + 30) },
  });
  await cluster.createExtension(DATABASE, "pg_stat_statements");
  const backends = await openBackends(cluster, o.fewBackends);
  try {
    const few = await measureBoth(cluster, backends, o);
    await backends.grow(o.manyBackends);
    const many = await measureBoth(cluster, backends, o);
    return {
      title: `Active session history: cost per sample at ${o.manyBackends} vs ${o.fewBackends} backends`,
      rows: [
        ...rows(`${o.manyBackends} idle`, many.idle, few.idle, o.fewBackends),
        ...rows(`${o.manyBackends} idle in transaction`, many.inTx, few.inTx, o.fewBackends),
      ],
      notes: [
        `PostgreSQL ${cluster.major}, max_connections ${
          o.manyBackends + 30
        }; backends opened by one postgres.js pool.`,
        `Each measurement: a burst of ${o.samples} samples ${INTERVAL_MS} ms apart through AshCollector, ` +
        `with per-backend CPU from /proc and again without; server time is pg_stat_statements' mean over both ` +
        `bursts, wall time the median of ${o.roundTrips} back-to-back round trips.`,
        "Idle backends are scanned but not returned; idle-in-transaction backends are rows of every sample.",
        "Collector CPU is this process's user + system time over the burst (process.cpuUsage), per sample.",
      ],
    };
  } finally {
    await backends.close();
  }
}

/** The benchmark `deno task bench` runs. */
export const benchmark: Benchmark = {
  name: "ash",
  description: "cost of one active session history sample at 200 and 500 backends",
  run: () => runAshBench(DEFAULT_OPTIONS),
};
