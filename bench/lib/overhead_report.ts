/**
 * The printed report of the pg_querylens overhead benchmark: figures as rows with ratios against no
 * extension where that reads well, then spreads, method, the checks that each configuration was in
 * effect, and the targets' verdicts as notes.
 *
 * @module
 */

import { overheadNsPerTransaction, spread } from "./overhead_math.ts";
import {
  BUSY_CORES_SELECT_ONE,
  BUSY_CORES_SELECT_ONLY,
  type OverheadResult,
  SELECT_ONE_CPU,
  type Verdict,
} from "./overhead_result.ts";
import { COMMON_SETTINGS, type ConfigId, type Configuration, configuration } from "./querylens_configs.ts";
import type { BenchReport, ReportRow } from "./report.ts";
import { median } from "./stats.ts";

const round1 = (x: number) => Math.round(x * 10) / 10;

function pgbenchRows(result: OverheadResult, configs: Configuration[]): ReportRow[] {
  const rows: ReportRow[] = [];
  const kinds = [
    { key: "selectOnly", name: "pgbench -S -M prepared -c 2 -j 2", cores: BUSY_CORES_SELECT_ONLY },
    { key: "selectOne", name: "pgbench SELECT 1 -c 1 -j 1", cores: BUSY_CORES_SELECT_ONE },
  ] as const;
  for (const kind of kinds) {
    const runs = (id: ConfigId) => result.pgbench[id]?.[kind.key] ?? [];
    if (runs("none").length === 0) continue;
    const none = median(runs("none").map((r) => r.tps));
    for (const c of configs) {
      if (runs(c.id).length === 0) continue;
      const tps = median(runs(c.id).map((r) => r.tps));
      rows.push({
        metric: `${kind.name}: median TPS, ${c.label}`,
        value: Math.round(tps),
        unit: "count",
        baseline: c.id === "none"
          ? undefined
          : { value: Math.round(none), label: "no extension, same rounds" },
      });
      if (c.id !== "none") {
        rows.push({
          metric: `${kind.name}: ns added per transaction, ${c.label}`,
          value: round1(overheadNsPerTransaction(tps, none, kind.cores)),
          unit: "count",
        });
      }
    }
  }
  return rows;
}

function selfTimingRows(result: OverheadResult, configs: Configuration[]): ReportRow[] {
  const rows: ReportRow[] = [];
  for (const c of configs) {
    const st = result.selfTiming[c.id];
    if (!st) continue;
    rows.push({
      metric: `self-timing: ns of own code per statement, ${c.label}`,
      value: round1(st.nsPerExecution),
      unit: "count",
    });
    for (const h of st.hooks) {
      rows.push({
        metric: `self-timing: ${h.hook} mean ns, ${c.label}`,
        value: round1(h.meanNs),
        unit: "count",
      });
    }
  }
  return rows;
}

function callgrindRows(result: OverheadResult, configs: Configuration[]): ReportRow[] {
  const rows: ReportRow[] = [];
  const none = result.callgrind.none;
  const rate = result.instructionsPerNs;
  for (const c of configs) {
    const cg = result.callgrind[c.id];
    if (!cg) continue;
    rows.push({
      metric: `callgrind: instructions per statement, ${c.label}`,
      value: round1(cg.perStatement),
      unit: "count",
      baseline: none && c.id !== "none"
        ? { value: round1(none.perStatement), label: "no extension" }
        : undefined,
    });
    if (c.id === "none" || !none) continue;
    const added = cg.perStatement - none.perStatement;
    rows.push({
      metric: `callgrind: instructions added per statement, ${c.label}`,
      value: round1(added),
      unit: "count",
    });
    if (rate !== undefined) {
      rows.push({
        metric: `callgrind: ns added per statement, ${c.label}`,
        value: round1(added / rate),
        unit: "count",
      });
    }
    if (c.preload.length === 0) continue;
    const qid = result.callgrind.qid;
    if (qid) {
      rows.push({
        metric: `callgrind: of which beyond computing query ids, ${c.label}`,
        value: round1(cg.perStatement - qid.perStatement),
        unit: "count",
      });
    }
    rows.push({
      metric: `callgrind: of which in ${c.preload.join("+")} code, ${c.label}`,
      value: round1(cg.libraryPerStatement),
      unit: "count",
    });
  }
  if (result.nativeCpuNsPerStatement !== undefined) {
    rows.push({
      metric: "single-user, no extension: CPU ns per statement (native)",
      value: round1(result.nativeCpuNsPerStatement),
      unit: "count",
    });
  }
  if (rate !== undefined) {
    rows.push({
      metric: "single-user, no extension: instructions per ns",
      value: Math.round(rate * 100) / 100,
      unit: "count",
    });
  }
  return rows;
}

function formatVerdict(v: Verdict): string {
  const fmt = (x: number) => `${x.toFixed(1)} ${v.unit}`;
  const status = v.pass ? "PASS" : "FAIL";
  const tag = v.trusted ? "" : " [informational: too noisy to decide]";
  const relation = v.claim.includes("no more than")
    ? `pg_stat_statements adds ${fmt(v.limit)}`
    : `limit ${fmt(v.limit)}`;
  return `${status}: ${v.claim} — by ${v.method}: ${fmt(v.value)} (${relation})${tag}`;
}

function checkNotes(result: OverheadResult, configs: Configuration[]): string[] {
  const notes: string[] = [];
  for (const c of configs) {
    const visits = result.checks.filter((v) => v.config === c.id);
    if (visits.length === 0) continue;
    const parts = [`shared_preload_libraries='${visits[0].preload}' on all ${visits.length} visits`];
    if (c.preload.includes("pg_stat_statements")) {
      parts.push(
        `pg_stat_statements counted ${median(visits.map((v) => v.pgssCalls ?? 0))} calls per visit (median)`,
      );
    }
    const ql = visits.map((v) => v.querylens).filter((q) => q !== undefined);
    if (ql.length > 0) {
      parts.push(
        `pg_querylens wrote ${median(ql.map((q) => q.recordsWritten))} records per visit (median), ` +
          `pg_querylens_read returned ${median(ql.map((q) => q.recordsRead))}, sampler ${
            ql[0].samplerRunning ? "running" : "off"
          }, cpu_mode ${ql[0].cpuMode}`,
      );
    }
    notes.push(`checked ${c.id}: ${parts.join("; ")}`);
  }
  return notes;
}

/** The report of a run: figures as rows, then spreads, method, checks and the verdicts as notes. */
export function overheadReport(result: OverheadResult): BenchReport {
  const opts = result.options;
  const configs = opts.configurations.map(configuration);
  const rows = [
    ...pgbenchRows(result, configs),
    ...selfTimingRows(result, configs),
    ...callgrindRows(result, configs),
  ];
  const spreads = configs.filter((c) => result.pgbench[c.id]).map((c) => {
    const s = spread(result.pgbench[c.id]!.selectOnly.map((r) => r.tps));
    return `${c.id} ${Math.round(s.min)}–${Math.round(s.max)}`;
  });
  const [n1, n2] = opts.callgrindStatements;
  const notes = [
    `configurations: ${configs.map((c) => `${c.id} = ${c.label}`).join("; ")}`,
    `common settings: ${
      Object.entries(COMMON_SETTINGS).map(([k, v]) => `${k}=${v}`).join(", ")
    }; pgbench scale ${opts.scale}`,
    `pgbench: ${opts.rounds} interleaved rounds (rotating order), restart + ${opts.warmupSeconds} s warm-up per visit, ` +
    `${opts.pgbenchSeconds} s -S runs` +
    (opts.selectOneSeconds > 0
      ? ` and ${opts.selectOneSeconds} s SELECT 1 runs (backend and pgbench pinned to CPU ${SELECT_ONE_CPU})`
      : "") +
    `; ns added per transaction = (cores ÷ TPS − cores ÷ TPS_none) × 1e9 with 2 cores for -c 2, 1 for -c 1`,
    `pgbench -S TPS spread (min–max): ${spreads.join(", ")}`,
    `self-timing: ${opts.selfTimingExecutions} prepared -S statements in one session; ns per statement = all hooks' ` +
    "total ÷ statements (the extension times its own code in each hook, less the calibrated cost of its timer reads)",
    `callgrind: postgres --single running ${n1} and ${n2} -S statements (same account ids); instructions per ` +
    `statement = (I(${n2}) − I(${n1})) ÷ ${n2 - n1}. Counts user-space instructions only: system calls ` +
    "(getrusage for cpu=thread) cost time that callgrind does not see. The sampler is a separate process " +
    "that single-user mode never starts, so it is not measured this way; its cost to backends shows in self-timing. " +
    "Both extensions switch on the core's query-id computation (compute_query_id=auto); qid measures that part alone",
    `instructions per ns: callgrind instructions per statement of no extension ÷ CPU time (user+sys) per statement ` +
    `of the same workload run natively (${opts.rateStatements} vs ${n1} statements, median of ${opts.rateRepeats}); ` +
    "counting system time makes the conversion err towards more ns",
    ...checkNotes(result, configs),
    ...result.verdicts.map(formatVerdict),
  ];
  return {
    title:
      "pg_querylens overhead per statement: none vs pg_stat_statements vs pg_querylens (pgbench, self-timing, callgrind)",
    rows,
    notes,
  };
}
