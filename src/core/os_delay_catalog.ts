/**
 * The catalog of the eBPF tier: the event type `PostgresQueryOsDelays` (one event per traced query
 * at or above the threshold), declared the way `catalog.ts` declares the QPM types, with the key each
 * field carries on the OTLP `pgquerylens.query.os_delay` log record.
 *
 * The type is data nri-postgresql does not have: it is published as its own event type, after the
 * other extended types, whatever the compatibility mode.
 *
 * @module
 */

import type { EventTypeSpec, FieldSpec } from "./catalog.ts";
import type { QueryOsDelay } from "./model.ts";

/** A field of `PostgresQueryOsDelays` with its OTLP log-record key. */
export interface OsDelayFieldSpec extends FieldSpec<QueryOsDelay> {
  /** Attribute key on the OTLP log record; absent when the record carries the value otherwise. */
  otel?: string;
}

/** The eBPF tier's event type, its fields naming their OTLP keys. */
export interface OsDelayEventTypeSpec extends EventTypeSpec<QueryOsDelay> {
  /** Fields in declaration order. */
  fields: OsDelayFieldSpec[];
}

function attr(
  field: keyof QueryOsDelay & string,
  nri: string,
  otel: string | undefined,
  required: boolean,
  description: string,
): OsDelayFieldSpec {
  return { field, nri, ...(otel === undefined ? {} : { otel }), type: "attribute", required, description };
}

function ms(
  field: keyof QueryOsDelay & string,
  nri: string,
  otel: string,
  description: string,
): OsDelayFieldSpec {
  return { field, nri, otel, type: "gauge", required: true, unit: "ms", description };
}

function int(
  field: keyof QueryOsDelay & string,
  nri: string,
  otel: string,
  unit: string,
  required: boolean,
  description: string,
): OsDelayFieldSpec {
  return { field, nri, otel, type: "gauge", integer: true, required, unit, description };
}

/** Fields of PostgresQueryOsDelays. */
export const QUERY_OS_DELAYS: OsDelayEventTypeSpec = {
  eventType: "PostgresQueryOsDelays",
  source: "queryOsDelays",
  fields: [
    int("pid", "pid", "postgresql.pid", "{process}", true, "backend process id"),
    attr("databaseName", "database_name", "db.namespace", false, "database of the backend"),
    attr("userName", "user_name", "postgresql.rolname", false, "role of the backend"),
    attr("protocol", "protocol", "pgquerylens.protocol", true, "simple (Query) or extended (Execute)"),
    int(
      "aborted",
      "aborted",
      "pgquerylens.aborted",
      "1",
      true,
      "1 when a transaction abort (an error or a ROLLBACK) closed the query",
    ),
    attr("startTime", "start_time", undefined, true, "start of the query (RFC 3339, microseconds)"),
    ms("durationMs", "duration_ms", "pgquerylens.duration", "time between the query's probes"),
    ms("onCpuMs", "on_cpu_ms", "pgquerylens.os.on_cpu", "time on a CPU"),
    ms("runQueueMs", "run_queue_ms", "pgquerylens.os.run_queue", "time runnable, waiting for a CPU"),
    ms("ioWaitMs", "io_wait_ms", "pgquerylens.os.io_wait", "time in uninterruptible sleep (block I/O)"),
    ms(
      "sleepMs",
      "sleep_ms",
      "pgquerylens.os.sleep",
      "time in interruptible sleep (locks, latches, the client)",
    ),
    int("switches", "switches", "pgquerylens.os.switches", "{switch}", true, "times switched out"),
    attr(
      "queryText",
      "query_text",
      "db.query.text",
      false,
      "first bytes of the query text, literals replaced by ?",
    ),
    attr("queryId", "query_id", "postgresql.queryid", false, "query id of the joined pg_querylens execution"),
    attr("planId", "plan_id", "pgquerylens.planid", false, "plan id of the joined pg_querylens execution"),
    int(
      "execSeq",
      "exec_seq",
      "pgquerylens.exec_seq",
      "{execution}",
      false,
      "exec_seq of the joined pg_querylens execution",
    ),
  ],
};

/** The eBPF tier's event types in publish order (after the other extended types). */
// deno-lint-ignore no-explicit-any
export const OS_DELAY_EVENT_TYPES: EventTypeSpec<any>[] = [QUERY_OS_DELAYS];
