/**
 * The marker every collector statement starts with.
 *
 * pg_stat_statements and pg_stat_activity keep a statement's leading comment, so the marker lets the
 * collector leave its own statements out of what it reports. The texts of nri-postgresql's own
 * statements are excluded too, so that both can run side by side during a migration.
 *
 * @module
 */

/** Leading comment of every collector statement. */
export const MARKER = "/* pgquerylens */";

/** `LIKE`/`ILIKE` patterns of statements that must never be reported (ours and nri-postgresql's). */
export const OWN_STATEMENT_PATTERNS: readonly string[] = [
  `${MARKER}%`,
  "EXPLAIN (FORMAT JSON)%",
  "SELECT $1 as newrelic%",
  "WITH wait_history AS%",
  "select -- BLOATQUERY%",
  "select -- INDEXQUERY%",
  "SELECT -- TABLEQUERY%",
  "SELECT table_schema%",
  "SELECT D.datname%",
];

/** Whether `text` is one of the collector's own statements (or nri-postgresql's). */
export function isOwnStatement(text: string): boolean {
  const t = text.trimStart().toLowerCase();
  return OWN_STATEMENT_PATTERNS.some((p) => t.startsWith(p.slice(0, -1).toLowerCase()));
}
