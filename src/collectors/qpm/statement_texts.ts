/**
 * pg_stat_statements texts, cached across cycles.
 *
 * Reading texts makes pg_stat_statements load its whole text file, which is the expensive part of
 * the view on a busy server. The collector ranks statements with `pg_stat_statements(false)` and
 * fetches texts only for query ids it has not seen yet. Texts are obfuscated once, on arrival, so
 * utility statements (which pg_stat_statements does not normalize) never leak literals.
 *
 * @module
 */

import { isOwnStatement, MARKER } from "../../query_engine/marker.ts";
import { arrayLiteral } from "../../query_engine/params.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { obfuscateSql, type StatementType, statementType } from "../../query_engine/sql_text.ts";

/** A cached statement text. */
export interface StatementText {
  /** Obfuscated normalized text, at most 4095 characters. */
  text: string;
  /** Statement type from the parse tree. */
  type: StatementType;
  /** Whether the statement is the collector's own (or nri-postgresql's). */
  own: boolean;
}

/** What PostgreSQL shows instead of another role's statement without pg_read_all_stats. */
export const HIDDEN_TEXT = "<insufficient privilege>";

/** Maximum text length, as upstream's LEFT(query, 4095). */
export const MAX_TEXT = 4095;

/**
 * Cache of texts keyed by `dbid:queryid`, bounded in entries. Pairs that pg_stat_statements did
 * not have when asked are remembered as absent for `absentTtlMs`, so a query id looked up in every
 * collected database (pg_wait_sampling has no database) does not re-read the texts each cycle.
 */
export class StatementTextCache {
  readonly #byKey = new Map<string, StatementText>();
  readonly #absentUntil = new Map<string, number>();
  readonly #ownIds = new Set<string>();
  readonly #max: number;
  readonly #absentTtlMs: number;

  /**
   * @param maxEntries most texts (and absent pairs) kept; least recently used ones are dropped
   * @param absentTtlMs how long a pair found absent is not asked for again
   */
  constructor(maxEntries = 20000, absentTtlMs = 300_000) {
    this.#max = maxEntries;
    this.#absentTtlMs = absentTtlMs;
  }

  /** Query ids known to be the collector's own statements. */
  ownQueryIds(): string[] {
    return [...this.#ownIds];
  }

  /** The cached text of (`dbid`, `queryId`), if known. */
  get(dbid: number | string, queryId: string): StatementText | undefined {
    const key = `${dbid}:${queryId}`;
    const hit = this.#byKey.get(key);
    if (hit) {
      this.#byKey.delete(key);
      this.#byKey.set(key, hit);
    }
    return hit;
  }

  /**
   * Stores a raw pg_stat_statements text. An application's text clears the id from the collector's
   * own ids: with `pg_stat_statements.track = all`, the statement nested in the collector's EXPLAIN
   * of a query is counted under that query's id.
   */
  put(dbid: number | string, queryId: string, rawText: string): StatementText {
    const own = isOwnStatement(rawText);
    if (own) this.#ownIds.add(queryId);
    else this.#ownIds.delete(queryId);
    const entry: StatementText = {
      text: obfuscateSql(rawText).slice(0, MAX_TEXT),
      type: statementType(rawText),
      own,
    };
    this.#byKey.set(`${dbid}:${queryId}`, entry);
    while (this.#byKey.size > this.#max) this.#byKey.delete(this.#byKey.keys().next().value as string);
    return entry;
  }

  /**
   * Ensures texts for the given (dbid, queryid) pairs are cached, reading pg_stat_statements once
   * for all the missing ones. `pgss` is the schema-qualified view name.
   */
  async fill(
    sql: Sql,
    pgss: string,
    wanted: { dbid: number | string; queryId: string }[],
    now = Date.now(),
  ): Promise<number> {
    const missing = wanted.filter((w) =>
      !this.get(w.dbid, w.queryId) && !((this.#absentUntil.get(`${w.dbid}:${w.queryId}`) ?? 0) > now)
    );
    if (missing.length === 0) return 0;
    const ids = [...new Set(missing.map((m) => m.queryId))];
    const rows = await sql.unsafe(
      `${MARKER} SELECT s.dbid, s.queryid::text AS queryid, s.query
       FROM ${pgss} s WHERE s.queryid = ANY($1::bigint[])`,
      [arrayLiteral(ids)],
    );
    // Several entries can share a (dbid, queryid) (per role, top level or nested): an application's
    // text wins over the collector's own.
    const chosen = new Map<string, { dbid: number; queryid: string; query: string }>();
    for (const r of rows) {
      if (r.query === null || r.query === HIDDEN_TEXT) continue;
      const key = `${r.dbid}:${r.queryid}`;
      const prev = chosen.get(key);
      if (prev === undefined || (isOwnStatement(prev.query) && !isOwnStatement(r.query))) {
        chosen.set(key, { dbid: r.dbid, queryid: r.queryid, query: r.query });
      }
    }
    const returned = new Set<string>(rows.map((r) => `${r.dbid}:${r.queryid}`));
    for (const r of chosen.values()) this.put(r.dbid, r.queryid, r.query);
    for (const m of missing) {
      const key = `${m.dbid}:${m.queryId}`;
      if (returned.has(key)) continue;
      this.#absentUntil.delete(key);
      this.#absentUntil.set(key, now + this.#absentTtlMs);
    }
    while (this.#absentUntil.size > this.#max) {
      this.#absentUntil.delete(this.#absentUntil.keys().next().value as string);
    }
    return rows.length;
  }
}
