/**
 * pg_querylens's self-timing: with `pg_querylens.self_timing = on` the extension times its own
 * hook code in each backend and `pg_querylens_self_timing()` reports, for the calling backend, the
 * calls and nanoseconds per hook. {@link measureSelfTiming} runs a fixed number of pgbench `-S`
 * statements as prepared statements in one session and reads what they cost the extension.
 *
 * @module
 */

import type postgres from "postgres";
import { ACCOUNTS_PER_SCALE } from "./single_user.ts";

/** One hook's figures from `pg_querylens_self_timing()`. */
export interface HookTiming {
  /** Hook name as the extension reports it. */
  hook: string;
  /** Calls timed. */
  calls: number;
  /** Nanoseconds spent in the extension's code of this hook. */
  totalNs: number;
  /** totalNs ÷ calls (0 without calls). */
  meanNs: number;
}

/** Self-timing of a run of prepared statements. */
export interface SelfTiming {
  /** Statements executed. */
  executions: number;
  /** Per-hook figures, by hook name. */
  hooks: HookTiming[];
  /** Nanoseconds of the extension's own code per statement: the hooks' total ÷ executions. */
  nsPerExecution: number;
}

/** Options of {@link measureSelfTiming}. */
export interface SelfTimingOptions {
  /** Statements to execute. */
  executions: number;
  /** pgbench scale of the database (account ids are drawn from its accounts). */
  scale: number;
  /** Statements sent per pipelined batch; 500 by default. */
  batch?: number;
}

/** Reads `pg_querylens_self_timing()` on the session of `sql`. */
export async function readSelfTiming(sql: postgres.Sql): Promise<HookTiming[]> {
  const rows = await sql`
    SELECT hook, calls::float8 AS calls, total_ns::float8 AS total_ns, mean_ns::float8 AS mean_ns
    FROM pg_querylens_self_timing() ORDER BY hook`;
  return rows.map((r) => ({ hook: r.hook, calls: r.calls, totalNs: r.total_ns, meanNs: r.mean_ns ?? 0 }));
}

/**
 * On the session of `sql` (a client with one connection, in a database filled by `pgbench -i`):
 * switches self-timing on, resets it, executes `executions` pgbench `-S` statements as one prepared
 * statement with varying account ids, and reads the self-timing.
 *
 * @throws Error when the extension timed fewer calls than statements were executed (it is not
 * loaded, or self-timing did not switch on).
 */
export async function measureSelfTiming(sql: postgres.Sql, opts: SelfTimingOptions): Promise<SelfTiming> {
  const { executions, scale } = opts;
  const batch = opts.batch ?? 500;
  if (!Number.isInteger(executions) || executions < 1) {
    throw new Error(`executions must be a positive integer: ${executions}`);
  }
  const accounts = scale * ACCOUNTS_PER_SCALE;
  await sql`SET pg_querylens.self_timing = on`;
  await sql`SELECT pg_querylens_self_timing_reset()`;
  for (let done = 0; done < executions;) {
    const n = Math.min(batch, executions - done);
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const aid = 1 + ((done + i) * 7919) % accounts;
      pending.push(sql`SELECT abalance FROM pgbench_accounts WHERE aid = ${aid}`);
    }
    await Promise.all(pending);
    done += n;
  }
  const hooks = await readSelfTiming(sql);
  const maxCalls = Math.max(0, ...hooks.map((h) => h.calls));
  if (maxCalls < executions) {
    throw new Error(
      `pg_querylens timed ${maxCalls} calls of any hook for ${executions} statements: ` +
        "is the library preloaded and pg_querylens.self_timing effective?",
    );
  }
  const totalNs = hooks.reduce((sum, h) => sum + h.totalNs, 0);
  return { executions, hooks, nsPerExecution: totalNs / executions };
}
