/**
 * PostgresIndividualQueries: executions of this cycle's slow queries that took longer than the
 * response-time threshold.
 *
 * Source: pg_stat_monitor's last 60 s of buckets where that extension is created (as
 * nri-postgresql); otherwise executions sampled from pg_stat_activity, matched to the slow query by
 * query id (see `linkExecutions` for servers without query ids in pg_stat_activity). At most
 * min(N, 10) rows per slow query, longest first.
 *
 * @module
 */

import type { IndividualQuery } from "../../core/model.ts";
import { arrayLiteral } from "../../query_engine/params.ts";
import { MARKER } from "../../query_engine/marker.ts";
import type { ActivitySamples } from "./activity_sampler.ts";
import { extObject, type QpmContext } from "./context.ts";
import type { SlowQueryRow } from "./slow_queries.ts";
import { MAX_TEXT } from "./statement_texts.ts";

/** Most individual rows per slow query (nri-postgresql's MaxIndividualQueryCountThreshold). */
export const MAX_INDIVIDUAL_PER_QUERY = 10;

/** Per-slow-query row limit for count threshold `n`. */
export function individualLimit(n: number): number {
  return Math.min(n, MAX_INDIVIDUAL_PER_QUERY);
}

/** Individual queries from sampled pg_stat_activity executions. */
export function individualFromActivity(
  slow: SlowQueryRow[],
  activity: ActivitySamples,
  ctx: Pick<QpmContext, "countThreshold" | "responseTimeThresholdMs">,
): IndividualQuery[] {
  const limit = individualLimit(ctx.countThreshold);
  const out: IndividualQuery[] = [];
  for (const s of slow) {
    const matches = activity.executions.filter((e) =>
      e.queryId === s.queryId && e.databaseName === s.databaseName &&
      e.runningMs > ctx.responseTimeThresholdMs
    ).sort((a, b) => b.runningMs - a.runningMs).slice(0, limit);
    for (const e of matches) {
      out.push({
        queryText: s.queryText,
        queryId: s.queryId,
        databaseName: s.databaseName,
        planId: "",
        execTimeMs: round3(e.runningMs),
        avgExecTimeMs: s.avgElapsedTimeMs,
        source: "pg_stat_activity",
        rawText: e.truncated ? undefined : e.text.slice(0, MAX_TEXT),
      });
    }
  }
  return out;
}

/** Individual queries from pg_stat_monitor (one statement for all slow queries). */
export async function individualFromPgStatMonitor(
  ctx: QpmContext,
  slow: SlowQueryRow[],
): Promise<IndividualQuery[]> {
  const view = extObject(ctx.caps, "pg_stat_monitor", "pg_stat_monitor");
  if (!view || slow.length === 0) return [];
  const total = ctx.caps.pgssTotalTimeColumn;
  const rows = await ctx.sql.unsafe(
    `${MARKER} SELECT * FROM (
       SELECT left(m.query, ${MAX_TEXT}) AS query, m.queryid::text AS query_id, m.datname,
         round(((m.cpu_user_time + m.cpu_sys_time) / NULLIF(m.calls, 0))::numeric, 3)::float8 AS cpu_ms,
         (m.${total} / NULLIF(m.calls, 0))::float8 AS exec_ms,
         row_number() OVER (PARTITION BY m.queryid, m.datname ORDER BY m.${total} / NULLIF(m.calls, 0) DESC) AS rn
       FROM ${view} m
       WHERE m.queryid = ANY($1::bigint[]) AND m.datname = ANY($2::text[])
         AND m.${total} / NULLIF(m.calls, 0) > $3
         AND m.bucket_start_time >= now() - interval '60 seconds') x
     WHERE x.rn <= $4 ORDER BY x.exec_ms DESC`,
    [
      arrayLiteral(slow.map((s) => s.queryId)),
      arrayLiteral(ctx.databases),
      ctx.responseTimeThresholdMs,
      individualLimit(ctx.countThreshold),
    ],
  );
  const bySlow = new Map(slow.map((s) => [`${s.databaseName}\u0000${s.queryId}`, s]));
  return rows.flatMap((r) => {
    const s = bySlow.get(`${r.datname}\u0000${r.query_id}`);
    if (!s) return [];
    return [{
      queryText: s.queryText,
      queryId: s.queryId,
      databaseName: s.databaseName,
      planId: "",
      cpuTimeMs: r.cpu_ms ?? undefined,
      execTimeMs: r.exec_ms ?? undefined,
      avgExecTimeMs: s.avgElapsedTimeMs,
      source: "pg_stat_monitor" as const,
      rawText: r.query ?? undefined,
    }];
  });
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
