/**
 * Array parameters as PostgreSQL array literals.
 *
 * The driver runs without its type-discovery query (which would be an unmarked statement of the
 * collector's own on every connection), so arrays are bound as the text of an array literal and
 * cast in SQL (`$1::text[]`, `$1::bigint[]`): still one bound parameter, never spliced into SQL.
 *
 * @module
 */

/** The array literal of `values`, every element double-quoted and escaped (`{"a","b\"c"}`). */
export function arrayLiteral(values: readonly (string | number | bigint)[]): string {
  return `{${values.map((v) => `"${String(v).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")}}`;
}
