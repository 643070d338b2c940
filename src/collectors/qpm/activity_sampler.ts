/**
 * Sampled executions from pg_stat_activity.
 *
 * Within one cycle the sampler reads the active client backends a few times. Each distinct
 * (pid, query_start) is one execution; its duration is the longest time it was seen running (a
 * lower bound), and every sample records the wait event it was in. These executions give
 * PostgresIndividualQueries (with the literal text for EXPLAIN) when pg_stat_monitor is absent, and
 * PostgresWaitEvents when pg_wait_sampling is absent.
 *
 * @module
 */

import { arrayLiteral } from "../../query_engine/params.ts";
import { MARKER } from "../../query_engine/marker.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { matchKey } from "../../query_engine/sql_text.ts";

/** One execution seen in pg_stat_activity. */
export interface SampledExecution {
  /** Backend pid. */
  pid: number;
  /** Database name. */
  databaseName: string;
  /** Query id (14+, when compute_query_id is on), else undefined. */
  queryId?: string;
  /** Statement text as the backend reports it (with literals; may be truncated). */
  text: string;
  /** Whether the text may be truncated by track_activity_query_size. */
  truncated: boolean;
  /** `query_start` as epoch milliseconds. */
  startMs: number;
  /** Longest observed running time in milliseconds. */
  runningMs: number;
  /** Wait events seen, `type:event` → number of samples. */
  waits: Map<string, number>;
  /** Number of samples the execution was seen in. */
  samples: number;
}

/** Result of one sampling run. */
export interface ActivitySamples {
  /** Executions keyed by `pid:query_start`. */
  executions: SampledExecution[];
  /** Milliseconds between samples. */
  intervalMs: number;
  /** Number of samples taken. */
  samples: number;
}

/** Takes `samples` samples `intervalMs` apart of the active client backends of `databases`. */
export async function sampleActivity(
  sql: Sql,
  caps: Capabilities,
  databases: string[],
  applicationName: string,
  samples: number,
  intervalMs: number,
): Promise<ActivitySamples> {
  const byKey = new Map<string, SampledExecution>();
  const qid = caps.activityHasQueryId ? "a.query_id::text" : "NULL::text";
  for (let i = 0; i < samples; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, intervalMs));
    const rows = await sql.unsafe(
      `${MARKER} SELECT a.pid, a.datname, ${qid} AS query_id, a.query,
         (extract(epoch FROM a.query_start) * 1000)::float8 AS start_ms,
         (extract(epoch FROM clock_timestamp() - a.query_start) * 1000)::float8 AS running_ms,
         a.wait_event_type, a.wait_event
       FROM pg_stat_activity a
       WHERE a.state = 'active' AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
         AND a.datname = ANY($1::text[]) AND a.application_name <> $2 AND a.query_start IS NOT NULL
         AND a.query NOT LIKE $3`,
      [arrayLiteral(databases), applicationName, `${MARKER}%`],
    );
    for (const r of rows) {
      const key = `${r.pid}:${r.start_ms}`;
      let e = byKey.get(key);
      if (!e) {
        const text = String(r.query ?? "");
        e = {
          pid: Number(r.pid),
          databaseName: r.datname,
          queryId: r.query_id && r.query_id !== "0" ? r.query_id : undefined,
          text,
          truncated: new TextEncoder().encode(text).length >= caps.trackActivityQuerySize - 1,
          startMs: r.start_ms,
          runningMs: 0,
          waits: new Map(),
          samples: 0,
        };
        byKey.set(key, e);
      }
      e.samples++;
      e.runningMs = Math.max(e.runningMs, r.running_ms);
      if (r.wait_event_type) {
        const w = `${r.wait_event_type}:${r.wait_event}`;
        e.waits.set(w, (e.waits.get(w) ?? 0) + 1);
      }
    }
  }
  return { executions: [...byKey.values()], intervalMs, samples };
}

/**
 * Gives query ids to executions that have none (PostgreSQL 13, or compute_query_id off) by
 * matching the parser's fingerprint of their text with that of a known normalized statement text.
 * Truncated texts are left unlinked.
 */
export function linkExecutions(
  activity: ActivitySamples,
  known: { queryId: string; databaseName: string; queryText: string }[],
): number {
  const unlinked = activity.executions.filter((e) => !e.queryId && !e.truncated);
  if (unlinked.length === 0) return 0;
  const byKey = new Map<string, string>();
  for (const k of known) {
    const key = matchKey(k.queryText);
    if (key) byKey.set(`${k.databaseName}\u0000${key}`, k.queryId);
  }
  let linked = 0;
  for (const e of unlinked) {
    const key = matchKey(e.text);
    const id = key ? byKey.get(`${e.databaseName}\u0000${key}`) : undefined;
    if (id) {
      e.queryId = id;
      linked++;
    }
  }
  return linked;
}
