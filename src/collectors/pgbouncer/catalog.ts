/**
 * The metric catalog of PgBouncerSample: what `SHOW STATS` and `SHOW POOLS` on PgBouncer's admin
 * console are read into.
 *
 * Every metric is declared once, by the column names it is read from. Columns are matched by name,
 * so the column sets of every PgBouncer version map with the same declarations:
 *
 * | PgBouncer | `SHOW STATS` | `SHOW POOLS` |
 * | --- | --- | --- |
 * | before 1.8 | `total_requests`, `avg_req`, `avg_query` | no cancel columns |
 * | 1.8 – 1.17 | `total_xact_count`, `total_query_count`, `avg_query_time`, … | `cl_cancel_req` (1.16, 1.17) |
 * | 1.18 – 1.22 | same | `cl_active_cancel_req`, `cl_waiting_cancel_req`, `sv_active_cancel`, `sv_being_canceled` |
 * | 1.23 and later | adds `total_server_assignment_count`, `avg_server_assignment_count` | same (1.24 adds `load_balance_hosts`) |
 *
 * A column a version lacks leaves its metric out; a column the catalog does not know is ignored.
 * Values keep PgBouncer's own units: times are in **microseconds** and `maxwait` in **seconds**,
 * although the metric names say milliseconds (the names are nri-postgresql's and stay as they are).
 *
 * @module
 */

import type { SourceType } from "../../core/model.ts";

/** Event type of the PgBouncer samples. */
export const PGBOUNCER_SAMPLE = "PgBouncerSample";

/** The admin console command a metric is read by: `SHOW STATS` or `SHOW POOLS`. */
export type PgBouncerQuery = "stats" | "pools";

/** Every {@link PgBouncerQuery}, in the order their samples are collected. */
export const PGBOUNCER_QUERIES: readonly PgBouncerQuery[] = ["stats", "pools"];

/** The admin console command of each query (the console takes no comments, so no marker). */
export const PGBOUNCER_COMMANDS: Readonly<Record<PgBouncerQuery, string>> = {
  stats: "SHOW STATS",
  pools: "SHOW POOLS",
};

/** Column holding the PgBouncer database name, the entity of each row. */
export const DATABASE_COLUMN = "database";

/** The declaration of one PgBouncerSample metric or attribute. */
export interface PgBouncerMetricDef {
  /** Query the metric is read by. */
  query: PgBouncerQuery;
  /** Columns it is read from, in preference order: the first one present and not NULL gives the value. */
  columns: readonly string[];
  /** NRI metric name. */
  name: string;
  /** NRI source type (cumulative totals are `rate`: published per second). */
  sourceType: SourceType;
  /** PgBouncer versions having the column(s), when not every version does. */
  versions?: string;
  /** One-line meaning, for docs and OTLP. */
  description: string;
  /** UCUM unit of the raw value (as PgBouncer reports it). */
  unit: string;
}

function def(
  query: PgBouncerQuery,
  columns: string | readonly string[],
  name: string,
  sourceType: SourceType,
  unit: string,
  description: string,
  versions?: string,
): PgBouncerMetricDef {
  const cols = typeof columns === "string" ? [columns] : columns;
  return { query, columns: cols, name, sourceType, ...(versions ? { versions } : {}), description, unit };
}

/** Every PgBouncerSample metric, grouped by query, in emission order. */
export const PGBOUNCER_METRICS: readonly PgBouncerMetricDef[] = [
  // SHOW STATS: one row per database.
  def(
    "stats",
    "total_xact_count",
    "pgbouncer.stats.transactionsPerSecond",
    "rate",
    "{transaction}",
    "SQL transactions pooled",
    ">=1.8",
  ),
  def(
    "stats",
    "total_query_count",
    "pgbouncer.stats.queriesPerSecond",
    "rate",
    "{query}",
    "SQL queries pooled",
    ">=1.8",
  ),
  def(
    "stats",
    "total_server_assignment_count",
    "pgbouncer.stats.totalServerAssignmentCount",
    "gauge",
    "{assignment}",
    "times a server connection was assigned to a client (cumulative)",
    ">=1.23",
  ),
  def(
    "stats",
    "total_received",
    "pgbouncer.stats.bytesInPerSecond",
    "rate",
    "By",
    "bytes received from clients",
  ),
  def("stats", "total_sent", "pgbouncer.stats.bytesOutPerSecond", "rate", "By", "bytes sent to clients"),
  def(
    "stats",
    "total_xact_time",
    "pgbouncer.stats.totalTransactionDurationInMillisecondsPerSecond",
    "rate",
    "us",
    "time connected to a server in a transaction or idle in transaction",
    ">=1.8",
  ),
  def(
    "stats",
    "total_query_time",
    "pgbouncer.stats.totalQueryDurationInMillisecondsPerSecond",
    "rate",
    "us",
    "time actively connected to a server running queries",
  ),
  def(
    "stats",
    "total_requests",
    "pgbouncer.stats.requestsPerSecond",
    "rate",
    "{request}",
    "SQL requests pooled",
    "<1.8",
  ),
  def(
    "stats",
    "avg_xact_count",
    "pgbouncer.stats.avgTransactionCount",
    "gauge",
    "{transaction}/s",
    "transactions per second in the last statistics period",
    ">=1.8",
  ),
  def(
    "stats",
    "avg_xact_time",
    "pgbouncer.stats.avgTransactionDurationInMilliseconds",
    "gauge",
    "us",
    "average transaction duration in the last statistics period",
    ">=1.8",
  ),
  def(
    "stats",
    "avg_query_count",
    "pgbouncer.stats.avgQueryCount",
    "gauge",
    "{query}/s",
    "queries per second in the last statistics period",
    ">=1.8",
  ),
  def(
    "stats",
    "avg_server_assignment_count",
    "pgbouncer.stats.avgServerAssignmentCount",
    "gauge",
    "{assignment}/s",
    "server assignments per second in the last statistics period",
    ">=1.23",
  ),
  def(
    "stats",
    "avg_recv",
    "pgbouncer.stats.avgBytesIn",
    "gauge",
    "By/s",
    "bytes received from clients per second in the last statistics period",
  ),
  def(
    "stats",
    "avg_sent",
    "pgbouncer.stats.avgBytesOut",
    "gauge",
    "By/s",
    "bytes sent to clients per second in the last statistics period",
  ),
  def(
    "stats",
    "avg_req",
    "pgbouncer.stats.avgRequestsPerSecond",
    "gauge",
    "{request}/s",
    "requests per second in the last statistics period",
    "<1.8",
  ),
  def(
    "stats",
    ["avg_query_time", "avg_query"],
    "pgbouncer.stats.avgQueryDurationInMilliseconds",
    "gauge",
    "us",
    "average query duration in the last statistics period (avg_query before PgBouncer 1.8)",
  ),
  // SHOW POOLS: one row per database and user.
  def("pools", "user", "pgbouncer.pools.user", "attribute", "1", "user of the pool"),
  def(
    "pools",
    "cl_cancel_req",
    "pgbouncer.pools.clientConnectionsCancelReq",
    "gauge",
    "{connection}",
    "client connections that sent a cancel request not yet forwarded",
    "1.16-1.17",
  ),
  def(
    "pools",
    "cl_active",
    "pgbouncer.pools.clientConnectionsActive",
    "gauge",
    "{connection}",
    "client connections linked to a server connection or idle with no queries waiting",
  ),
  def(
    "pools",
    "cl_waiting",
    "pgbouncer.pools.clientConnectionsWaiting",
    "gauge",
    "{connection}",
    "client connections that sent a query and wait for a server connection",
  ),
  def(
    "pools",
    "cl_waiting_cancel_req",
    "pgbouncer.pools.clientConnectionsWaitingCancelReq",
    "gauge",
    "{connection}",
    "client connections whose cancel request is not yet forwarded to the server",
    ">=1.18",
  ),
  def(
    "pools",
    "cl_active_cancel_req",
    "pgbouncer.pools.clientConnectionsActiveCancelReq",
    "gauge",
    "{connection}",
    "client connections whose cancel request was forwarded and awaits the server's answer",
    ">=1.18",
  ),
  def(
    "pools",
    "sv_active_cancel",
    "pgbouncer.pools.serverConnectionsActiveCancel",
    "gauge",
    "{connection}",
    "server connections forwarding a cancel request",
    ">=1.18",
  ),
  def(
    "pools",
    "sv_being_canceled",
    "pgbouncer.pools.serverConnectionsBeingCancel",
    "gauge",
    "{connection}",
    "server connections a cancel request is under way for, kept out of the pool until it ends",
    ">=1.18",
  ),
  def(
    "pools",
    "sv_active",
    "pgbouncer.pools.serverConnectionsActive",
    "gauge",
    "{connection}",
    "server connections linked to a client",
  ),
  def(
    "pools",
    "sv_idle",
    "pgbouncer.pools.serverConnectionsIdle",
    "gauge",
    "{connection}",
    "server connections unused and ready for a client",
  ),
  def(
    "pools",
    "sv_used",
    "pgbouncer.pools.serverConnectionsUsed",
    "gauge",
    "{connection}",
    "server connections idle longer than server_check_delay, to be checked before use",
  ),
  def(
    "pools",
    "sv_tested",
    "pgbouncer.pools.serverConnectionsTested",
    "gauge",
    "{connection}",
    "server connections running server_reset_query or server_check_query",
  ),
  def(
    "pools",
    "sv_login",
    "pgbouncer.pools.serverConnectionsLogin",
    "gauge",
    "{connection}",
    "server connections logging in",
  ),
  def(
    "pools",
    "maxwait",
    "pgbouncer.pools.maxwaitInMilliseconds",
    "gauge",
    "s",
    "how long the oldest waiting client has waited (whole seconds)",
  ),
];

/** The metrics of one query, in emission order. */
export function pgbouncerMetricsFor(query: PgBouncerQuery): PgBouncerMetricDef[] {
  return PGBOUNCER_METRICS.filter((m) => m.query === query);
}
