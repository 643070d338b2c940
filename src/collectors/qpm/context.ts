/**
 * What every QPM collector receives: the main session, its capabilities, the thresholds, and a
 * way to report problems.
 *
 * @module
 */

import type { CollectionIssue } from "../../core/model.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Sql } from "../../query_engine/connection.ts";
import type { Config } from "../../config/types.ts";
import type { StatementTextCache } from "./statement_texts.ts";

/** Inputs shared by the QPM collectors for one cycle. */
export interface QpmContext {
  /** The main session (connected to DATABASE). */
  sql: Sql;
  /** Its capabilities. */
  caps: Capabilities;
  /** Collected databases (COLLECTION_LIST after the ignore list). */
  databases: string[];
  /** Rows per QPM query, 0..30. */
  countThreshold: number;
  /** Individual queries must average strictly more than this (ms). */
  responseTimeThresholdMs: number;
  /** Configuration (for timeouts and sampling settings). */
  config: Config;
  /** pg_stat_statements texts, cached across cycles. */
  texts: StatementTextCache;
  /** Reports a problem (logged once per cause). */
  report(issue: CollectionIssue): void;
}

/** Quotes an identifier for SQL (used only for extension schema names read from the catalog). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Schema-qualified name of an extension object, or undefined when the extension is absent. */
export function extObject(caps: Capabilities, ext: string, object: string): string | undefined {
  const info = caps.extensions.get(ext);
  return info ? `${quoteIdent(info.schema)}.${object}` : undefined;
}

/** Formats a UTC timestamp as `YYYY-MM-DDTHH:MM:SSZ` (the QPM collection_timestamp format). */
export function collectionTimestamp(d: Date): string {
  return d.toISOString().slice(0, 19) + "Z";
}

/**
 * Formats `YYYY-MM-DDTHH:MM:SS.ffffff` (UTC, from SQL) as RFC 3339 with trailing zeros of the
 * fraction removed, as Go renders time.RFC3339Nano.
 */
export function rfc3339Nano(utcText: string): string {
  const [sec, frac = ""] = utcText.split(".");
  const f = frac.replace(/0+$/, "");
  return `${sec}${f ? "." + f : ""}Z`;
}

/** SQL expression rendering timestamptz `col` as UTC text with microseconds. */
export function utcMicros(col: string): string {
  return `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
}
