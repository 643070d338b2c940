/**
 * Checks that a configuration of the pg_querylens overhead benchmark was really in effect during a
 * pgbench visit, as the server and the extensions themselves report it.
 *
 * @module
 */

import type postgres from "postgres";
import { type ConfigId, type Configuration, usesQuerylens } from "./querylens_configs.ts";

/** What one visit of the pgbench rounds found about the configuration in effect. */
export interface VisitCheck {
  /** Configuration visited. */
  config: ConfigId;
  /** Round (0-based). */
  round: number;
  /** Position within the round (0-based). */
  position: number;
  /** `SHOW shared_preload_libraries`. */
  preload: string;
  /** Transactions pgbench ran during the visit (warm-up and measured runs). */
  transactions: number;
  /** pg_stat_statements calls of the pgbench `-S` statement during the visit (pgss only). */
  pgssCalls?: number;
  /** pg_querylens's view of the visit (pg_querylens configurations only). */
  querylens?: {
    /** `records_written` of pg_querylens_info(): records since the restart. */
    recordsWritten: number;
    /** Records pg_querylens_read() returned. */
    recordsRead: number;
    /** Of those, records with CPU figures. */
    recordsWithCpu: number;
    /** `sample_period_ms` of pg_querylens_info(). */
    samplePeriodMs: number;
    /** Whether pg_querylens_info() names a running sampler. */
    samplerRunning: boolean;
    /** `cpu_mode` of pg_querylens_info(). */
    cpuMode: string;
  };
}

/**
 * Reads, on a session of the server just measured, whether configuration `c` was in effect:
 * `shared_preload_libraries`; for pg_stat_statements, the calls of the pgbench `-S` statement (at
 * least the visit's transactions); for pg_querylens, the records written since the restart (at
 * least the transactions), that pg_querylens_read() returns records, the sampler running exactly
 * when a period is set, the CPU mode, and CPU figures in records exactly when it is `thread`.
 *
 * @throws Error naming the configuration, the round and what was not as configured.
 */
export async function checkVisit(
  sql: postgres.Sql,
  c: Configuration,
  base: Omit<VisitCheck, "preload" | "pgssCalls" | "querylens">,
): Promise<VisitCheck> {
  const [{ shared_preload_libraries: preload }] = await sql`SHOW shared_preload_libraries`;
  const check: VisitCheck = { ...base, preload };
  const fail = (what: string) => {
    throw new Error(`${c.id}, round ${base.round}: ${what}`);
  };
  if (preload !== c.preload.join(",")) fail(`shared_preload_libraries is "${preload}"`);
  if (c.preload.includes("pg_stat_statements")) {
    const [row] = await sql`
      SELECT coalesce(sum(calls), 0)::float8 AS calls FROM pg_stat_statements
      WHERE query LIKE 'SELECT abalance FROM pgbench_accounts WHERE aid = %'`;
    check.pgssCalls = row.calls;
    if (row.calls < base.transactions) {
      fail(`pg_stat_statements counted ${row.calls} calls for ${base.transactions} transactions`);
    }
  }
  if (usesQuerylens(c)) {
    const [info] = await sql`
      SELECT records_written::float8 AS written, sample_period_ms, sampler_pid, cpu_mode
      FROM pg_querylens_info()`;
    const [read] = await sql`
      SELECT count(*)::int AS n, count(*) FILTER (WHERE cpu_user_us IS NOT NULL)::int AS with_cpu
      FROM pg_querylens_read(100000, 'bench', true)`;
    const ql = {
      recordsWritten: info.written,
      recordsRead: read.n,
      recordsWithCpu: read.with_cpu,
      samplePeriodMs: info.sample_period_ms,
      samplerRunning: info.sampler_pid !== null,
      cpuMode: info.cpu_mode,
    };
    check.querylens = ql;
    const period = Number(c.settings["pg_querylens.sample_period"]);
    if (ql.recordsWritten < base.transactions) {
      fail(`pg_querylens wrote ${ql.recordsWritten} records for ${base.transactions} transactions`);
    }
    if (ql.recordsRead === 0) fail("pg_querylens_read returned no records");
    if (ql.samplePeriodMs !== period || ql.samplerRunning !== period > 0) {
      fail(`sampler: period ${ql.samplePeriodMs} ms, running ${ql.samplerRunning}; configured ${period} ms`);
    }
    if (ql.cpuMode !== c.settings["pg_querylens.cpu"]) fail(`cpu_mode is ${ql.cpuMode}`);
    if ((ql.recordsWithCpu > 0) !== (ql.cpuMode === "thread")) {
      fail(`${ql.recordsWithCpu} of ${ql.recordsRead} records carry CPU figures with cpu=${ql.cpuMode}`);
    }
  }
  return check;
}
