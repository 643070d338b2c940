/**
 * Values of custom query results: the columns of a result, source type names, and the conversion
 * of one column value to a metric number or an attribute string.
 *
 * The session's driver returns `int2`, `int4`, `oid`, `float4` and `float8` as numbers, `int8` and
 * `numeric` as decimal text, booleans as booleans, `date`/`timestamp`/`timestamptz` as `Date`s,
 * `json`/`jsonb` as parsed values and `bytea` as bytes; everything else arrives as text. Here:
 * - a metric value is a finite number: numbers as they are, decimal text parsed, booleans 1/0
 *   (as the infrastructure SDK does); anything else, and NaN or ±Infinity, is a problem;
 * - an attribute is text: booleans `true`/`false`, numbers in JavaScript's shortest form, `date` as
 *   `YYYY-MM-DD`, `timestamp` as `YYYY-MM-DDTHH:MM:SS.sss` (no zone, as stored), `timestamptz` as
 *   ISO-8601 UTC (`…Z`, millisecond precision), bytes decoded as UTF-8, JSON re-encoded;
 * - SQL NULL is neither: the column is left out of the sample.
 *
 * @module
 */

import type { SourceType } from "../../core/model.ts";
import type { Row } from "../../query_engine/connection.ts";

/** The six source types a custom metric may have, in the order messages list them. */
export const SOURCE_TYPES: readonly SourceType[] = ["gauge", "rate", "delta", "prate", "pdelta", "attribute"];

/** Type OIDs of the numeric column types (int2, int4, int8, float4, float8, numeric, oid). */
export const NUMERIC_TYPE_OIDS: ReadonlySet<number> = new Set([21, 23, 20, 700, 701, 1700, 26]);

const DATE_OID = 1082;
const TIMESTAMP_OID = 1114;

/**
 * The source type named by `name`, compared without regard to case (as the SDK does), or undefined
 * when `name` is not one of {@link SOURCE_TYPES}.
 */
export function sourceTypeOf(name: string): SourceType | undefined {
  const lower = name.toLowerCase();
  return SOURCE_TYPES.find((t) => t === lower);
}

/** A result column: its name and type OID (0 when the driver did not describe it). */
export interface ResultColumn {
  /** Column name as returned by the server. */
  name: string;
  /** Type OID. */
  type: number;
}

/**
 * The columns of a query result in result order, each name once (a repeated name keeps its first
 * position; the row object holds the last column of that name). Taken from the driver's column
 * descriptions, or from the first row's keys (type 0) when there are none.
 */
export function resultColumns(rows: readonly Row[]): ResultColumn[] {
  const described = (rows as { columns?: unknown }).columns;
  const out: ResultColumn[] = [];
  const seen = new Set<string>();
  const add = (name: string, type: number) => {
    if (seen.has(name)) return;
    seen.add(name);
    out.push({ name, type });
  };
  if (Array.isArray(described)) {
    for (const c of described as { name?: unknown; type?: unknown }[]) {
      if (typeof c?.name === "string") add(c.name, typeof c.type === "number" ? c.type : 0);
    }
  } else if (rows.length > 0) {
    for (const name of Object.keys(rows[0])) add(name, 0);
  }
  return out;
}

/** A converted value, or why the value could not be converted. */
export type Converted<T> = { value: T } | { problem: string };

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL = /^[+-]?(nan|inf|infinity)$/i;

/** How `value` is shown in a problem message. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "an invalid date" : value.toISOString();
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === "object" && value !== null) return Object.prototype.toString.call(value);
  return String(value);
}

/**
 * `value` as a metric number: a finite number, decimal text, a bigint or a boolean (1/0).
 * NaN, ±Infinity and anything else give a problem naming the value.
 */
export function metricNumber(value: unknown): Converted<number> {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "bigint") n = Number(value);
  else if (typeof value === "boolean") n = value ? 1 : 0;
  else if (typeof value === "string" && DECIMAL.test(value.trim())) n = Number(value.trim());
  else if (typeof value === "string" && SPECIAL.test(value.trim())) n = NaN;
  else return { problem: `not a number: ${describeValue(value)}` };
  if (!Number.isFinite(n)) return { problem: `not a finite number: ${describeValue(value)}` };
  return { value: n };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

function dateText(d: Date, typeOid: number): Converted<string> {
  if (Number.isNaN(d.getTime())) return { problem: "not a finite date or time (infinity?)" };
  if (typeOid === DATE_OID) return { value: d.toISOString().slice(0, 10) };
  if (typeOid === TIMESTAMP_OID) {
    // The driver read the zoneless text as local time; the local fields give it back unchanged
    // (except a wall-clock time that does not exist locally, in a daylight-saving gap).
    const date = `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    return { value: `${date}T${time}.${pad(d.getMilliseconds(), 3)}` };
  }
  return { value: d.toISOString() };
}

const utf8 = new TextDecoder();

/**
 * `value` (of a column of type `typeOid`) as attribute text; see the module documentation for
 * the forms. A date that is not finite gives a problem.
 */
export function attributeText(value: unknown, typeOid: number): Converted<string> {
  if (typeof value === "string") return { value };
  if (typeof value === "boolean") return { value: value ? "true" : "false" };
  if (typeof value === "number" || typeof value === "bigint") return { value: String(value) };
  if (value instanceof Date) return dateText(value, typeOid);
  if (value instanceof Uint8Array) return { value: utf8.decode(value) };
  return { value: JSON.stringify(value) };
}

/** Problems of one kind met while converting rows: how many, and the first one's detail. */
export type ProblemCounts = Map<string, { count: number; first: string }>;

/** Counts one occurrence of problem `key`, keeping `detail` when it is the first. */
export function countProblem(counts: ProblemCounts, key: string, detail: string): void {
  const seen = counts.get(key);
  if (seen) seen.count++;
  else counts.set(key, { count: 1, first: detail });
}
