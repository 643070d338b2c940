/**
 * What a collector run costs the server, counted by the server itself: statements from
 * pg_stat_statements (calls of the collector's role, and of those the calls whose text starts with
 * the collector's marker) and connections from the server log (`log_connections = on`).
 *
 * Counts are totals; a benchmark takes one before and one after a run and subtracts.
 *
 * @module
 */

import type postgres from "postgres";
import { MARKER } from "../../src/query_engine/marker.ts";

/** Calls recorded in pg_stat_statements. */
export interface StatementCalls {
  /** Calls of every statement run by the role. */
  byRole: number;
  /** Calls of the role's statements whose text starts with the collector's marker comment. */
  marked: number;
}

/**
 * Total calls of `role`'s statements in pg_stat_statements (every database). `sql` must see other
 * roles' texts (superuser or pg_read_all_stats).
 */
export async function statementCalls(sql: postgres.Sql, role: string): Promise<StatementCalls> {
  const [row] = await sql`
    SELECT coalesce(sum(s.calls), 0)::float8 AS by_role,
           coalesce(sum(s.calls) FILTER (WHERE left(s.query, ${MARKER.length}) = ${MARKER}), 0)::float8 AS marked
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
    WHERE r.rolname = ${role}`;
  return { byRole: row.by_role, marked: row.marked };
}

/** `after - before`, field by field. */
export function callsDelta(before: StatementCalls, after: StatementCalls): StatementCalls {
  return { byRole: after.byRole - before.byRole, marked: after.marked - before.marked };
}

/** Current size of the server log in bytes: the offset from which later lines are read. */
export function logOffset(logFile: string): number {
  return Deno.statSync(logFile).size;
}

/** The server log written since `offset`. */
export function logSince(logFile: string, offset: number): string {
  const bytes = Deno.readFileSync(logFile);
  return new TextDecoder().decode(bytes.subarray(offset));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Number of `connection authorized` lines for `role` in a server log excerpt. */
export function countConnections(logText: string, role: string): number {
  const line = new RegExp(`connection authorized: user=${escapeRegExp(role)}(\\s|$)`);
  return logText.split("\n").filter((l) => line.test(l)).length;
}

/** A statement of the role that does not start with the marker, with its calls so far. */
export interface UnmarkedStatement {
  /** Its pg_stat_statements text (normalized), whitespace collapsed. */
  text: string;
  /** Calls so far. */
  calls: number;
}

/**
 * The statements of `role` in pg_stat_statements whose text does not start with the collector's
 * marker, most called first: statements the collector would not recognize as its own.
 */
export async function unmarkedStatements(sql: postgres.Sql, role: string): Promise<UnmarkedStatement[]> {
  const rows = await sql`
    SELECT s.query, sum(s.calls)::float8 AS calls
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
    WHERE r.rolname = ${role} AND left(s.query, ${MARKER.length}) <> ${MARKER}
    GROUP BY s.query ORDER BY 2 DESC, 1`;
  return rows.map((r) => ({ text: (r.query as string).replace(/\s+/g, " ").trim(), calls: r.calls }));
}
