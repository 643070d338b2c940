/**
 * PostgresBlockingSessions: backends waiting on a lock and the backends holding it.
 *
 * Uses `pg_blocking_pids()` for every backend waiting on a heavyweight lock, which covers every
 * lock type (the classic pg_locks self-join misses some and can pair unrelated sessions). Texts are
 * pg_stat_statements' normalized ones where the query id is known (14+); otherwise the raw text is
 * obfuscated by the SQL scanner. Rows are kept when pg_stat_statements has no entry for a query.
 *
 * @module
 */

import type { BlockingSession } from "../../core/model.ts";
import { arrayLiteral } from "../../query_engine/params.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { obfuscateSql } from "../../query_engine/sql_text.ts";
import { extObject, type QpmContext, rfc3339Nano, utcMicros } from "./context.ts";
import { MAX_TEXT } from "./statement_texts.ts";

/** Collects PostgresBlockingSessions rows, oldest blocked statement first. */
export async function collectBlockingSessions(ctx: QpmContext): Promise<BlockingSession[]> {
  if (ctx.countThreshold === 0 || ctx.databases.length === 0) return [];
  const withIds = ctx.caps.activityHasQueryId;
  const ids = withIds ? "w.query_id::text AS blocked_qid, b.query_id::text AS blocking_qid," : "";
  const rows = await ctx.sql.unsafe(
    `${MARKER} SELECT w.pid AS blocked_pid, w.query AS blocked_query, w.datname, w.datid::text AS dbid,
       ${utcMicros("coalesce(w.query_start, w.xact_start, w.backend_start)")} AS blocked_start,
       b.pid AS blocking_pid, b.query AS blocking_query, b.datid::text AS blocking_dbid, ${ids}
       ${utcMicros("coalesce(b.query_start, b.xact_start, b.backend_start)")} AS blocking_start
     FROM pg_stat_activity w
     CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid)
     JOIN pg_stat_activity b ON b.pid = bp.pid
     WHERE w.wait_event_type = 'Lock' AND w.datname = ANY($1::text[]) AND w.pid <> pg_backend_pid()
     ORDER BY w.query_start ASC NULLS LAST, w.pid, b.pid
     LIMIT $2`,
    [arrayLiteral(ctx.databases), ctx.countThreshold],
  );
  const pgss = extObject(ctx.caps, "pg_stat_statements", "pg_stat_statements");
  const validId = (id: string | null | undefined) => (id && id !== "0" ? id : undefined);
  if (pgss && withIds) {
    const wanted = rows.flatMap((r) =>
      [[r.dbid, validId(r.blocked_qid)], [r.blocking_dbid ?? r.dbid, validId(r.blocking_qid)]]
        .filter(([, q]) => !!q).map(([dbid, queryId]) => ({ dbid, queryId: queryId as string }))
    );
    await ctx.texts.fill(ctx.sql, pgss, wanted);
  }
  const textOf = (dbid: string, id: string | undefined, raw: string | null) => {
    const cached = id ? ctx.texts.get(dbid, id) : undefined;
    return cached ? cached.text : obfuscateSql(String(raw ?? "")).slice(0, MAX_TEXT);
  };
  return rows.map((r) => {
    const blockedId = withIds ? validId(r.blocked_qid) : undefined;
    const blockingId = withIds ? validId(r.blocking_qid) : undefined;
    return {
      blockedPid: Number(r.blocked_pid),
      blockedQuery: textOf(r.dbid, blockedId, r.blocked_query),
      blockedQueryId: blockedId,
      blockedQueryStart: rfc3339Nano(r.blocked_start),
      databaseName: r.datname,
      blockingPid: Number(r.blocking_pid),
      blockingQuery: textOf(r.blocking_dbid ?? r.dbid, blockingId, r.blocking_query),
      blockingQueryId: blockingId,
      blockingQueryStart: rfc3339Nano(r.blocking_start),
    };
  });
}
