/**
 * The catalog of active session history: the event type `PostgresActiveSessionHistory` (one event per
 * database, role, state, wait event and query id of a cycle), declared the way `catalog.ts` declares
 * the QPM types, with the key each field carries on the OTLP `pgquerylens.ash.aggregate` log record.
 * The group's identity fields are also the attributes of its OTLP metric points.
 *
 * The type is data nri-postgresql does not have: it is published as its own event type, after the
 * QPM and pg_querylens types, whatever the compatibility mode.
 *
 * @module
 */

import type { EventTypeSpec, FieldSpec } from "./catalog.ts";
import type { AshAggregate } from "./model.ts";

/** A field of `PostgresActiveSessionHistory` with its OTLP key. */
export interface AshFieldSpec extends FieldSpec<AshAggregate> {
  /** Attribute key on the OTLP log record; absent when the record carries the value otherwise. */
  otel?: string;
  /** Whether the field identifies the group (and is an attribute of its metric points). */
  identity?: boolean;
}

/** The active session history event type, its fields naming their OTLP keys. */
export interface AshEventTypeSpec extends EventTypeSpec<AshAggregate> {
  /** Fields in declaration order. */
  fields: AshFieldSpec[];
}

function attr(
  field: keyof AshAggregate & string,
  nri: string,
  otel: string | undefined,
  required: boolean,
  description: string,
  identity = false,
): AshFieldSpec {
  return {
    field,
    nri,
    ...(otel === undefined ? {} : { otel }),
    ...(identity ? { identity } : {}),
    type: "attribute",
    required,
    description,
  };
}

function gauge(
  field: keyof AshAggregate & string,
  nri: string,
  otel: string,
  unit: string,
  integer: boolean,
  required: boolean,
  description: string,
): AshFieldSpec {
  return { field, nri, otel, type: "gauge", ...(integer ? { integer } : {}), required, unit, description };
}

/** Fields of PostgresActiveSessionHistory. */
export const ACTIVE_SESSION_HISTORY: AshEventTypeSpec = {
  eventType: "PostgresActiveSessionHistory",
  source: "activeSessionHistory",
  fields: [
    attr("databaseName", "database_name", "db.namespace", true, "database", true),
    attr("userName", "user_name", "postgresql.rolname", false, "role", true),
    attr("state", "state", "postgresql.state", true, "pg_stat_activity state, e.g. active", true),
    attr(
      "waitEventType",
      "wait_event_type",
      "postgresql.wait_event_type",
      false,
      "wait event type; absent when not waiting",
      true,
    ),
    attr(
      "waitEvent",
      "wait_event",
      "postgresql.wait_event",
      false,
      "wait event; absent when not waiting",
      true,
    ),
    attr("queryId", "query_id", "postgresql.queryid", false, "query id (decimal)", true),
    gauge("samples", "samples", "pgquerylens.ash.samples", "{sample}", true, true, "session-samples"),
    gauge("sessions", "sessions", "pgquerylens.ash.sessions", "{session}", true, true, "distinct backends"),
    gauge(
      "averageActiveSessions",
      "average_active_sessions",
      "pgquerylens.ash.active_sessions",
      "{session}",
      false,
      true,
      "average active sessions: samples × interval ÷ window",
    ),
    gauge(
      "cpuSeconds",
      "cpu_seconds",
      "pgquerylens.ash.cpu_time",
      "s",
      false,
      false,
      "CPU time of the backends between consecutive samples; absent when not measured",
    ),
    gauge(
      "cpuSamples",
      "cpu_samples",
      "pgquerylens.ash.cpu_samples",
      "{sample}",
      true,
      true,
      "session-samples whose CPU time was measured",
    ),
    gauge(
      "blockedSamples",
      "blocked_samples",
      "pgquerylens.ash.blocked_samples",
      "{sample}",
      true,
      true,
      "session-samples blocked by another backend's lock",
    ),
    attr(
      "blockingPids",
      "blocking_pids",
      "pgquerylens.ash.blocking_pids",
      false,
      "pids that blocked the sessions, ascending, comma-separated (at most 20)",
    ),
    gauge(
      "windowSamples",
      "window_samples",
      "pgquerylens.ash.window_samples",
      "{sample}",
      true,
      true,
      "samples taken in the window",
    ),
    gauge(
      "sampleIntervalMs",
      "sample_interval_ms",
      "pgquerylens.ash.sample_interval",
      "ms",
      true,
      true,
      "milliseconds between samples",
    ),
    attr("windowStart", "window_start", undefined, true, "time of the window's first sample (RFC 3339)"),
    attr("windowEnd", "window_end", undefined, true, "time of the window's last sample (RFC 3339)"),
  ],
};

/** The active session history event types in publish order (after the pg_querylens types). */
// deno-lint-ignore no-explicit-any
export const ASH_EVENT_TYPES: EventTypeSpec<any>[] = [ACTIVE_SESSION_HISTORY];
