/**
 * PostgresWaitEvents: where the top queries wait.
 *
 * With pg_wait_sampling, waits come from its history ring (sample durations summed per query and
 * wait event, as nri-postgresql does). Without it, they come from this cycle's pg_stat_activity
 * samples (samples × interval), so servers without the extension still report lock and I/O waits.
 *
 * @module
 */

import type { WaitEvent } from "../../core/model.ts";
import { arrayLiteral } from "../../query_engine/params.ts";
import { MARKER } from "../../query_engine/marker.ts";
import type { ActivitySamples } from "./activity_sampler.ts";
import { collectionTimestamp, extObject, type QpmContext } from "./context.ts";

/** Maps a wait event type to nri-postgresql's wait category. */
export function waitCategory(eventType: string): string {
  if (eventType === "LWLock" || eventType === "Lock") return "Locks";
  if (eventType === "IO") return "Disk IO";
  if (eventType === "CPU") return "CPU";
  return "Other";
}

interface WaitAgg {
  eventType: string;
  event: string;
  queryId: string;
  databaseName?: string;
  dbid?: string;
  totalMs?: number;
}

/** Collects PostgresWaitEvents rows from pg_wait_sampling, or from `activity` samples without it. */
export async function collectWaitEvents(
  ctx: QpmContext,
  now: Date,
  activity: ActivitySamples | undefined,
): Promise<WaitEvent[]> {
  const pgss = extObject(ctx.caps, "pg_stat_statements", "pg_stat_statements");
  if (!pgss || ctx.countThreshold === 0) return [];
  const history = extObject(ctx.caps, "pg_wait_sampling", "pg_wait_sampling_history");
  const aggs = history ? await fromWaitSampling(ctx, history) : fromActivity(activity);
  const dbOids = await databaseOids(ctx);
  for (const a of aggs) if (!a.dbid && a.databaseName) a.dbid = dbOids.get(a.databaseName);
  const candidates = (a: WaitAgg): [string, string][] =>
    a.dbid ? [[a.databaseName ?? "", a.dbid]] : [...dbOids.entries()];
  await ctx.texts.fill(
    ctx.sql,
    pgss,
    aggs.flatMap((a) => candidates(a).map(([, dbid]) => ({ dbid, queryId: a.queryId }))),
  );
  const ts = collectionTimestamp(now);
  const out: WaitEvent[] = [];
  for (const a of aggs) {
    const match = candidates(a).map(([name, dbid]) => ({ name, text: ctx.texts.get(dbid, a.queryId) }))
      .find((c) => c.text !== undefined);
    if (!match?.text || match.text.own) continue;
    const databaseName = a.databaseName ?? match.name;
    if (!ctx.databases.includes(databaseName)) continue;
    out.push({
      waitEventName: `${a.eventType}:${a.event}`,
      waitCategory: waitCategory(a.eventType),
      totalWaitTimeMs: a.totalMs,
      collectionTimestamp: ts,
      queryId: a.queryId,
      queryText: match.text.text,
      databaseName,
    });
    if (out.length >= ctx.countThreshold) break;
  }
  return out;
}

async function databaseOids(ctx: QpmContext): Promise<Map<string, string>> {
  const rows = await ctx.sql.unsafe(
    `${MARKER} SELECT datname, oid::text AS oid FROM pg_database WHERE datname = ANY($1::text[])`,
    [arrayLiteral(ctx.databases)],
  );
  return new Map(rows.map((r) => [r.datname as string, r.oid as string]));
}

async function fromWaitSampling(ctx: QpmContext, history: string): Promise<WaitAgg[]> {
  const own = ctx.texts.ownQueryIds();
  const rows = await ctx.sql.unsafe(
    `${MARKER} WITH h AS (
       SELECT wh.event_type, wh.event, wh.queryid,
              lead(wh.ts) OVER (PARTITION BY wh.pid ORDER BY wh.ts) - wh.ts AS duration
       FROM ${history} wh)
     SELECT h.event_type, h.event, h.queryid::text AS query_id,
            (extract(epoch FROM sum(h.duration)) * 1000)::float8 AS total_ms
     FROM h
     WHERE h.event_type IS NOT NULL AND h.queryid IS NOT NULL AND h.queryid <> 0
       AND h.queryid <> ALL($1::bigint[])
     GROUP BY 1, 2, 3
     ORDER BY total_ms DESC NULLS LAST
     LIMIT $2`,
    [arrayLiteral(own), ctx.countThreshold * 3],
  );
  return rows.map((r) => ({
    eventType: r.event_type,
    event: r.event,
    queryId: r.query_id,
    totalMs: r.total_ms ?? undefined,
  }));
}

function fromActivity(activity: ActivitySamples | undefined): WaitAgg[] {
  if (!activity) return [];
  const byKey = new Map<string, WaitAgg>();
  for (const e of activity.executions) {
    if (!e.queryId) continue;
    for (const [w, n] of e.waits) {
      const i = w.indexOf(":");
      const key = `${e.databaseName}\u0000${e.queryId}\u0000${w}`;
      const agg = byKey.get(key) ??
        {
          eventType: w.slice(0, i),
          event: w.slice(i + 1),
          queryId: e.queryId,
          databaseName: e.databaseName,
          totalMs: 0,
        };
      agg.totalMs = (agg.totalMs ?? 0) + n * activity.intervalMs;
      byKey.set(key, agg);
    }
  }
  return [...byKey.values()].sort((a, b) => (b.totalMs ?? 0) - (a.totalMs ?? 0));
}
