/**
 * What a run of the pg_querylens overhead benchmark measured, and the verdicts on its targets:
 * pg_querylens with its ring only adds under 1 µs per statement, and no more than
 * pg_stat_statements adds.
 *
 * @module
 */

import type { PgbenchResult } from "./pgbench.ts";
import { overheadNsPerTransaction } from "./overhead_math.ts";
import type { QuerylensOverheadOptions } from "./overhead_options.ts";
import type { ConfigId } from "./querylens_configs.ts";
import type { SelfTiming } from "./self_timing.ts";
import { median } from "./stats.ts";
import type { VisitCheck } from "./visit_check.ts";

/** The per-statement budget of pg_querylens with its ring only, ns. */
export const RING_TARGET_NS = 1000;
/** Saturated cores during `pgbench -S -c 2 -j 2` (clients and server share two cores). */
export const BUSY_CORES_SELECT_ONLY = 2;
/** Busy cores during the `SELECT 1` runs (backend and client pinned to one CPU). */
export const BUSY_CORES_SELECT_ONE = 1;
/** The CPU that the `SELECT 1` runs pin the backend and pgbench to. */
export const SELECT_ONE_CPU = "0";

/** pgbench figures of one configuration, one entry per round. */
export interface PgbenchRuns {
  /** `-S -M prepared -c 2 -j 2` runs. */
  selectOnly: PgbenchResult[];
  /** `SELECT 1` `-c 1 -j 1` runs (empty when skipped). */
  selectOne: PgbenchResult[];
}

/** callgrind figures of one configuration. */
export interface CallgrindFigures {
  /** Statements and instructions of the two runs. */
  runs: [{ statements: number; instructions: number }, { statements: number; instructions: number }];
  /** Instructions per statement. */
  perStatement: number;
  /** Instructions per statement in the preloaded library's own code (0 for none). */
  libraryPerStatement: number;
}

/** One target and whether this run meets it. */
export interface Verdict {
  /** The claim checked. */
  claim: string;
  /** How it was measured. */
  method: string;
  /** The measured value. */
  value: number;
  /** The limit it must not exceed (pass: value ≤ limit, or < limit for strict limits). */
  limit: number;
  /** Unit of value and limit. */
  unit: "ns" | "instructions";
  /** Whether the target holds. */
  pass: boolean;
  /** False for figures too noisy on this machine to decide the target (reported only). */
  trusted: boolean;
}

/** Everything a run measured. */
export interface OverheadResult {
  /** The options of the run. */
  options: QuerylensOverheadOptions;
  /** pgbench runs by configuration. */
  pgbench: Partial<Record<ConfigId, PgbenchRuns>>;
  /** What every visit found, in visiting order. */
  checks: VisitCheck[];
  /** Self-timing by configuration. */
  selfTiming: Partial<Record<ConfigId, SelfTiming>>;
  /** callgrind figures by configuration. */
  callgrind: Partial<Record<ConfigId, CallgrindFigures>>;
  /** Native CPU time per statement of the single-user workload without extension, ns. */
  nativeCpuNsPerStatement?: number;
  /** Instructions per ns of that workload (callgrind instructions ÷ native CPU time). */
  instructionsPerNs?: number;
  /** The targets' verdicts. */
  verdicts: Verdict[];
}

/**
 * The targets' verdicts from what a run measured: ring-only under 1 µs per statement by
 * self-timing and by callgrind (at the measured instructions per ns), ring-only no more than
 * pg_stat_statements by callgrind instructions, and both by pgbench medians (reported as untrusted).
 * A verdict whose measures are missing is left out.
 */
export function computeVerdicts(result: OverheadResult): Verdict[] {
  const out: Verdict[] = [];
  const ring = "ql_ring";
  const st = result.selfTiming[ring];
  if (st) {
    out.push({
      claim: "ring-only adds under 1 µs per statement",
      method: "self-timing",
      value: st.nsPerExecution,
      limit: RING_TARGET_NS,
      unit: "ns",
      pass: st.nsPerExecution < RING_TARGET_NS,
      trusted: true,
    });
  }
  const cg = result.callgrind;
  if (cg.none && cg[ring]) {
    const added = cg[ring].perStatement - cg.none.perStatement;
    if (result.instructionsPerNs !== undefined) {
      const ns = added / result.instructionsPerNs;
      out.push({
        claim: "ring-only adds under 1 µs per statement",
        method: `callgrind, at ${result.instructionsPerNs.toFixed(2)} instructions/ns`,
        value: ns,
        limit: RING_TARGET_NS,
        unit: "ns",
        pass: ns < RING_TARGET_NS,
        trusted: true,
      });
    }
    if (cg.pgss) {
      const pgss = cg.pgss.perStatement - cg.none.perStatement;
      out.push({
        claim: "ring-only adds no more than pg_stat_statements",
        method: "callgrind instructions per statement",
        value: added,
        limit: pgss,
        unit: "instructions",
        pass: added <= pgss,
        trusted: true,
      });
    }
  }
  const tps = (id: ConfigId) => {
    const runs = result.pgbench[id]?.selectOnly;
    return runs && runs.length > 0 ? median(runs.map((r) => r.tps)) : undefined;
  };
  const none = tps("none"), ringTps = tps(ring), pgssTps = tps("pgss");
  if (none !== undefined && ringTps !== undefined) {
    const ns = overheadNsPerTransaction(ringTps, none, BUSY_CORES_SELECT_ONLY);
    out.push({
      claim: "ring-only adds under 1 µs per statement",
      method: "pgbench -S median TPS (noisy)",
      value: ns,
      limit: RING_TARGET_NS,
      unit: "ns",
      pass: ns < RING_TARGET_NS,
      trusted: false,
    });
    if (pgssTps !== undefined) {
      const pgssNs = overheadNsPerTransaction(pgssTps, none, BUSY_CORES_SELECT_ONLY);
      out.push({
        claim: "ring-only adds no more than pg_stat_statements",
        method: "pgbench -S median TPS (noisy)",
        value: ns,
        limit: pgssNs,
        unit: "ns",
        pass: ns <= pgssNs,
        trusted: false,
      });
    }
  }
  return out;
}
