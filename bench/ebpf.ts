/**
 * Benchmark: what the eBPF tier costs the server, measured with the tier's own loader on a cluster
 * run from a private copy of Debian's PostgreSQL 15 binaries (so the probes touch no other
 * cluster), as root, in interleaved rounds with the tier off and on (the collector's default
 * threshold and sampling, so no event is written for these short queries):
 *
 * 1. **Cost per probe hit**: one session runs `SELECT 1` (simple protocol) back to back, a fixed
 *    number of times per visit. The trap of a probe hit, the BPF program and the scheduler hooks
 *    run in the backend's context, so they show in its CPU time (`/proc/<pid>/schedstat`, which
 *    leaves out the time the backend waited for a CPU, the noise of a shared machine). The BPF
 *    program counts its probe hits; the cost per hit is (median backend CPU per query on − off) ÷
 *    (hits per query).
 * 2. **Wall time per query**: the same `SELECT 1` from pgbench (one client, 1 ÷ TPS), on vs off.
 * 3. **pgbench TPS ratio**: `pgbench -S -M prepared` with two clients, on vs off; the medians and
 *    their ratio, and the probe hits per transaction.
 *
 * Each visit with the tier on checks that the program saw the visit's queries (its hit counters
 * grew by the expected amount), and after the run that the kernel holds none of its programs; the
 * benchmark fails otherwise. On a shared machine the wall-clock figures move with the load; the CPU
 * figure is the one to quote.
 *
 * @module
 */

import type postgres from "postgres";
import { defaultConfig } from "../src/config/defaults.ts";
import { openTracer, type Tracer } from "../src/extensions/bpf_ffi.ts";
import { probeHits } from "../src/extensions/bpf_event.ts";
import { type Cluster, startCluster } from "../tests/support/cluster.ts";
import { loadedPrograms, privateInstall } from "../tests/support/ebpf.ts";
import { initPgbench, runPgbench } from "./lib/pgbench.ts";
import { postmasterPid } from "./lib/pg_server.ts";
import type { Benchmark, BenchReport } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

/** Sizes of the benchmark. */
export interface EbpfBenchOptions {
  /** Interleaved rounds (each visits off and on). */
  rounds: number;
  /** `SELECT 1` statements per visit (for both the CPU and the wall-time measure). */
  selectOneQueries: number;
  /** Seconds of `pgbench -S` per visit. */
  pgbenchSeconds: number;
  /** pgbench scale of the `-S` tables. */
  scale: number;
}

/** The sizes `deno task bench` uses. */
export const DEFAULT_OPTIONS: Readonly<EbpfBenchOptions> = {
  rounds: 5,
  selectOneQueries: 20_000,
  pgbenchSeconds: 10,
  scale: 10,
};

/** Probe hits of one simple-protocol `SELECT 1`: query start and done, execute start and done. */
export const HITS_PER_SIMPLE_QUERY = 4;

const DATABASE = "postgres";

function checkOptions(o: EbpfBenchOptions): void {
  for (const [key, value] of Object.entries(o)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`ebpf: option ${key} must be a positive integer, got ${value}`);
    }
  }
}

/** The cost of one probe hit in ns from the two median times per query (ns) and the hits per query. */
export function costPerHitNs(perQueryOnNs: number, perQueryOffNs: number, hitsPerQuery: number): number {
  if (!(hitsPerQuery > 0)) throw new Error(`ebpf: no probe hits per query (${hitsPerQuery})`);
  return (perQueryOnNs - perQueryOffNs) / hitsPerQuery;
}

/** On-CPU nanoseconds of a process so far: the first field of `/proc/<pid>/schedstat`. */
export function cpuNs(pid: number): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/schedstat`);
  const ns = Number(text.split(" ")[0]);
  if (!Number.isFinite(ns)) throw new Error(`ebpf: /proc/${pid}/schedstat is not a schedstat line: ${text}`);
  return ns;
}

/** Runs `fn` with the tier attached to the cluster (the collector's default threshold and sampling). */
async function withTier<T>(cluster: Cluster, fn: (tracer: Tracer) => Promise<T>): Promise<T> {
  const { ebpf } = defaultConfig();
  const tracer = openTracer(postmasterPid(cluster), {
    thresholdNs: Math.round(ebpf.thresholdMs * 1e6),
    sampleEvery: ebpf.sampleEvery,
  });
  try {
    return await fn(tracer);
  } finally {
    tracer.close();
  }
}

/** Backend CPU ns per `SELECT 1` over `n` back-to-back statements of one session. */
async function backendCpuPerQuery(sql: postgres.Sql, pid: number, n: number): Promise<number> {
  const before = cpuNs(pid);
  for (let i = 0; i < n; i++) await sql.unsafe("SELECT 1");
  return (cpuNs(pid) - before) / n;
}

/** What the rounds measured. */
interface Samples {
  cpuOffNs: number[];
  cpuOnNs: number[];
  hitsPerQuery: number[];
  wallOffNs: number[];
  wallOnNs: number[];
  tpsOff: number[];
  tpsOn: number[];
  hitsPerTransaction: number[];
  emitted: number;
}

/** Runs the benchmark with `o` and returns its report. */
export async function runEbpfBench(o: EbpfBenchOptions = DEFAULT_OPTIONS): Promise<BenchReport> {
  checkOptions(o);
  if (Deno.uid() !== 0) throw new Error("ebpf: loading BPF programs needs root");
  await using install = await privateInstall();
  await using cluster = await startCluster({ server: install.server, name: "bench-ebpf" });
  await initPgbench(cluster, DATABASE, o.scale);
  const sql = cluster.sql(DATABASE);
  const [{ pid }] = await sql`SELECT pg_backend_pid() AS pid`;
  const script = await Deno.makeTempFile({ prefix: "pgquerylens-bench-ebpf-", suffix: ".sql" });
  const s: Samples = {
    cpuOffNs: [],
    cpuOnNs: [],
    hitsPerQuery: [],
    wallOffNs: [],
    wallOnNs: [],
    tpsOff: [],
    tpsOn: [],
    hitsPerTransaction: [],
    emitted: 0,
  };
  try {
    await Deno.writeTextFile(script, "SELECT 1;\n");
    const n = String(o.selectOneQueries);
    const selectOne = ["-n", "-f", script, "-M", "simple", "-c", "1", "-j", "1", "-t", n];
    const selectOnly = ["-n", "-S", "-M", "prepared", "-c", "2", "-j", "2", "-T", String(o.pgbenchSeconds)];
    await runPgbench(cluster, DATABASE, [...selectOnly.slice(0, -1), "2"]);
    await backendCpuPerQuery(sql, pid, 1000);
    for (let round = 0; round < o.rounds; round++) {
      // Alternate which configuration goes first, so drifts of the machine hit both alike.
      for (const on of round % 2 === 0 ? [false, true] : [true, false]) {
        if (!on) {
          s.cpuOffNs.push(await backendCpuPerQuery(sql, pid, o.selectOneQueries));
          s.wallOffNs.push(1e9 / (await runPgbench(cluster, DATABASE, selectOne)).tps);
          s.tpsOff.push((await runPgbench(cluster, DATABASE, selectOnly)).tps);
          continue;
        }
        await withTier(cluster, async (tracer) => {
          let before = probeHits(tracer.counters());
          s.cpuOnNs.push(await backendCpuPerQuery(sql, pid, o.selectOneQueries));
          const perQuery = (probeHits(tracer.counters()) - before) / o.selectOneQueries;
          if (perQuery < HITS_PER_SIMPLE_QUERY) {
            throw new Error(
              `ebpf: the program saw ${perQuery} hits per query, ${HITS_PER_SIMPLE_QUERY} expected`,
            );
          }
          s.hitsPerQuery.push(perQuery);
          s.wallOnNs.push(1e9 / (await runPgbench(cluster, DATABASE, selectOne)).tps);
          before = probeHits(tracer.counters());
          const bench = await runPgbench(cluster, DATABASE, selectOnly);
          s.tpsOn.push(bench.tps);
          s.hitsPerTransaction.push((probeHits(tracer.counters()) - before) / bench.transactions);
          s.emitted += tracer.counters().emitted;
          tracer.poll();
        });
      }
    }
  } finally {
    await Deno.remove(script);
  }
  const left = await loadedPrograms();
  if (left.length > 0) throw new Error(`ebpf: programs outlived the tracer: ${JSON.stringify(left)}`);
  return report(s, o);
}

function report(s: Samples, o: EbpfBenchOptions): BenchReport {
  const cpuOff = median(s.cpuOffNs);
  const cpuOn = median(s.cpuOnNs);
  const hits = median(s.hitsPerQuery);
  const off = { label: "eBPF tier off" };
  const { ebpf } = defaultConfig();
  return {
    title: "eBPF tier: cost per probe hit and pgbench TPS, on vs off",
    rows: [
      {
        metric: "backend CPU per SELECT 1 (ns), eBPF tier on",
        value: Math.round(cpuOn),
        unit: "count",
        baseline: { ...off, value: Math.round(cpuOff) },
      },
      { metric: "probe hits per SELECT 1", value: hits, unit: "count" },
      {
        metric: "cost per probe hit (ns of backend CPU)",
        value: Math.round(costPerHitNs(cpuOn, cpuOff, hits)),
        unit: "count",
      },
      {
        metric: "SELECT 1 wall time per query (ns), eBPF tier on",
        value: Math.round(median(s.wallOnNs)),
        unit: "count",
        baseline: { ...off, value: Math.round(median(s.wallOffNs)) },
      },
      {
        metric: "pgbench -S -M prepared TPS, eBPF tier on",
        value: median(s.tpsOn),
        unit: "count",
        baseline: { ...off, value: median(s.tpsOff) },
      },
      { metric: "probe hits per pgbench -S transaction", value: median(s.hitsPerTransaction), unit: "count" },
    ],
    notes: [
      `${o.rounds} interleaved rounds on Debian PostgreSQL 15 run from a private copy of its binaries; medians.`,
      `SELECT 1 (simple protocol), ${o.selectOneQueries} per visit: backend CPU from /proc/<pid>/schedstat ` +
      `(run-queue waits left out); wall time per query = 1 ÷ TPS of pgbench with one client.`,
      `Cost per probe hit = (backend CPU per query on − off) ÷ hits per query (hits counted by the BPF ` +
      `program); it includes the scheduler hooks the backend runs.`,
      `pgbench -S -M prepared -c 2 -j 2, ${o.pgbenchSeconds} s per visit, scale ${o.scale}.`,
      `The tier ran with the collector's defaults (threshold ${ebpf.thresholdMs} ms, one query in ` +
      `${ebpf.sampleEvery} traced): ${s.emitted} events written in all.`,
    ],
  };
}

/** The benchmark as `deno task bench` runs it. */
export const benchmark: Benchmark = {
  name: "ebpf",
  description:
    "eBPF tier: cost per probe hit (backend CPU, SELECT 1 on vs off) and pgbench TPS ratio on vs off",
  run: () => runEbpfBench(DEFAULT_OPTIONS),
};
