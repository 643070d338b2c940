/**
 * The slow-query ranking the collector runs each cycle, and the naive query it replaces, as
 * statements the benchmark can time side by side.
 *
 * {@link rankingSql} has the structure of the statement in `src/collectors/qpm/slow_queries.ts`
 * (same query id); only its leading comment differs, so its pg_stat_statements entry is told
 * apart from the collector's. {@link rankingMatchesCollector} checks that the two still agree.
 *
 * @module
 */

import type postgres from "postgres";

/** Leading comment of the benchmark's copy of the ranking statement. */
export const RANKING_TAG = "/* pgquerylens-bench:ranking */";

/** Leading comment of the naive baseline. */
export const NAIVE_TAG = "/* pgquerylens-bench:naive */";

/** Leading comment of the text fetch of a cold cycle. */
export const TEXT_FETCH_TAG = "/* pgquerylens-bench:texts */";

/** Columns both rankings return. */
const COLUMNS = `s.queryid::text AS query_id, s.dbid::text AS dbid, d.datname,
       s.calls::float8 AS calls, round((s.total_exec_time / s.calls)::numeric, 3)::float8 AS avg_ms,
       (s.shared_blks_read / s.calls)::float8 AS avg_reads,
       (s.shared_blks_written / s.calls)::float8 AS avg_writes,
       s.total_exec_time::float8 AS total_ms, s.rows::float8 AS rows`;

/**
 * The collector's ranking: `pg_stat_statements(false)` (no texts), top `$3` by mean execution time
 * in databases `$1`, leaving out query ids `$2`.
 */
export function rankingSql(): string {
  return `${RANKING_TAG} SELECT ${COLUMNS}
     FROM pg_stat_statements(false) s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname = ANY($1::text[]) AND s.calls > 0 AND s.queryid IS NOT NULL
       AND s.queryid <> ALL($2::bigint[])
     ORDER BY s.total_exec_time / s.calls DESC
     LIMIT $3`;
}

/**
 * The naive ranking: the full view (every text read and carried through the sort), top `$2` by mean
 * execution time in databases `$1`, with each text cut to 4095 characters.
 */
export function naiveSql(): string {
  return `${NAIVE_TAG} SELECT ${COLUMNS}, left(s.query, 4095) AS query
     FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname = ANY($1::text[]) AND s.calls > 0 AND s.queryid IS NOT NULL
     ORDER BY s.total_exec_time / s.calls DESC
     LIMIT $2`;
}

/** The text fetch of a cold cycle: the texts of query ids `$1` (as the collector's text cache). */
export function textFetchSql(): string {
  return `${TEXT_FETCH_TAG} SELECT s.dbid, s.queryid::text AS queryid, s.query
       FROM pg_stat_statements s WHERE s.queryid = ANY($1::bigint[])`;
}

/** Runs the ranking for `databases`, top `limit`; returns the query ids in rank order. */
export async function runRanking(sql: postgres.Sql, databases: string[], limit: number): Promise<string[]> {
  const rows = await sql.unsafe(rankingSql(), [databases, [], limit]);
  return rows.map((r) => r.query_id as string);
}

/** Runs the naive ranking for `databases`, top `limit`; returns the query ids in rank order. */
export async function runNaive(sql: postgres.Sql, databases: string[], limit: number): Promise<string[]> {
  const rows = await sql.unsafe(naiveSql(), [databases, limit]);
  return rows.map((r) => r.query_id as string);
}

/** Runs the ranking, then fetches the texts of what it returned (the work of a cold cycle). */
export async function runRankingWithTexts(
  sql: postgres.Sql,
  databases: string[],
  limit: number,
): Promise<number> {
  const ids = await runRanking(sql, databases, limit);
  const texts = await sql.unsafe(textFetchSql(), [ids]);
  return texts.length;
}

/**
 * Whether the collector's role `role` has run a statement with the query id of
 * {@link rankingSql} as executed by the current user, i.e. whether the benchmark's copy still has the
 * collector's structure. Call after both have run.
 */
export async function rankingMatchesCollector(sql: postgres.Sql, role: string): Promise<boolean> {
  const [row] = await sql`
    SELECT EXISTS (
      SELECT 1 FROM pg_stat_statements mine JOIN pg_stat_statements theirs ON theirs.queryid = mine.queryid
      WHERE mine.userid = (SELECT oid FROM pg_roles WHERE rolname = current_user)
        AND left(mine.query, ${RANKING_TAG.length}) = ${RANKING_TAG}
        AND theirs.userid = (SELECT oid FROM pg_roles WHERE rolname = ${role})
        AND theirs.userid <> mine.userid
    ) AS matches`;
  return row.matches as boolean;
}

/** A named operation timed by {@link timeInterleaved}. */
export interface TimedOperation {
  /** Name the samples are reported under. */
  name: string;
  /** Runs the operation once. */
  run(): Promise<unknown>;
}

/**
 * Times each operation `rounds` times, interleaved (round r starts with operation r mod n, so no
 * operation always runs first), after one untimed warm-up run of each. Returns the samples in ms
 * by name.
 *
 * @throws Error when rounds is not a positive integer or names repeat.
 */
export async function timeInterleaved(
  ops: TimedOperation[],
  rounds: number,
): Promise<Map<string, number[]>> {
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new Error(`timeInterleaved: rounds must be a positive integer, got ${rounds}`);
  }
  const samples = new Map<string, number[]>();
  for (const op of ops) {
    if (samples.has(op.name)) throw new Error(`timeInterleaved: operation name "${op.name}" repeats`);
    samples.set(op.name, []);
  }
  for (const op of ops) await op.run();
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < ops.length; k++) {
      const op = ops[(r + k) % ops.length];
      const t0 = performance.now();
      await op.run();
      samples.get(op.name)!.push(performance.now() - t0);
    }
  }
  return samples;
}
