/**
 * pg_querylens in the collection cycle: finds the extension, chooses its source (the shared-memory
 * rings when the server runs on this host, else SQL), keeps the feed running between cycles in
 * daemon mode, and fills the snapshot's executions, per-plan aggregates and counters.
 *
 * `querylens = auto` reads the extension where it is created in the monitored database and says
 * once, at debug level, when it is not; `on` reports its absence as an error. A shared-memory
 * source that cannot be opened (another host, no access to the segment, the library missing) is
 * reported once and the SQL source is used instead, unless `querylens_source = ffi` was asked for.
 *
 * @module
 */

import type { Config } from "../../config/types.ts";
import type { CollectionIssue, IndividualQuery, UnifiedMetrics } from "../../core/model.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Session } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { arrayLiteral } from "../../query_engine/params.ts";
import { readQueryLensInfo } from "../../extensions/querylens_sql.ts";
import { finishAggregates } from "./aggregate.ts";
import { individualFromRing, queryExecutions } from "./executions.ts";
import { QueryLensFeed } from "./feed.ts";
import { samplerSettings } from "./sampler.ts";
import { ffiSource, type QueryLensSource, sqlSource } from "./source.ts";
import type { SlowQueryRow } from "../qpm/slow_queries.ts";
import { WaitEventNames } from "./wait_names.ts";

/** Extension name. */
export const EXTENSION = "pg_querylens";

/** Consumer name of the SQL source. */
export const SQL_CONSUMER = "pgquerylens";

/** What one cycle gives the collector. */
export interface QueryLensCycleInput {
  /** Session on the monitored database (the extension's functions are called there). */
  sql: Session;
  /** Its capabilities. */
  caps: Capabilities;
  /** Names of the monitored databases. */
  databases: readonly string[];
  /** Issue sink. */
  report(issue: CollectionIssue): void;
}

/** Whether the configured host is this machine (so the server's shared memory can be mapped). */
export function isLocalHost(hostname: string): boolean {
  const h = hostname.trim().toLowerCase();
  return h === "" || h === "localhost" || h === "127.0.0.1" || h === "::1" || h === "[::1]" ||
    h.startsWith("/");
}

/** Options of {@link QueryLensCollector}. */
export interface QueryLensCollectorOptions {
  /** Path of the ffi/ library; the built-in default when absent. */
  libraryPath?: string;
}

/** pg_querylens for the collector: one per monitored instance, kept across cycles. */
export class QueryLensCollector {
  readonly #config: Config;
  readonly #daemon: boolean;
  readonly #libraryPath: string | undefined;
  #feed: QueryLensFeed | undefined;
  #since = Date.now();
  #waitNames: WaitEventNames | undefined;
  #slow: ReturnType<QueryLensFeed["takeCycle"]>["slow"] = [];

  /**
   * @param config validated configuration
   * @param daemon whether cycles repeat (the feed then polls between cycles)
   * @param options where the ffi/ library is
   */
  constructor(config: Config, daemon: boolean, options: QueryLensCollectorOptions = {}) {
    this.#config = config;
    this.#daemon = daemon;
    this.#libraryPath = options.libraryPath;
  }

  /** Whether pg_querylens is read at all with this configuration. */
  enabled(): boolean {
    const q = this.#config.querylens;
    return q.mode === "on" || (q.mode === "auto" && this.#config.enableQueryMonitoring);
  }

  /** Whether this cycle has ring data (so PostgresIndividualQueries may come from it). */
  active(): boolean {
    return this.#feed !== undefined;
  }

  /**
   * Runs the pg_querylens part of a cycle and fills `snap.queryExecutions`,
   * `snap.queryLensAggregates` and `snap.queryLensStats`. Failures are reported, never thrown.
   */
  async collect(input: QueryLensCycleInput, snap: UnifiedMetrics): Promise<void> {
    if (!this.enabled()) return;
    try {
      const feed = this.#feed ?? await this.#open(input);
      if (!feed) return;
      const names = await this.#names(input);
      feed.setScope({ databases: names.databases, ownPids: names.ownPids });
      let failed: Error | undefined;
      try {
        await feed.poll();
      } catch (e) {
        failed = e as Error;
        input.report({
          component: "querylens",
          cause: `poll:${failed.message}`,
          severity: "error",
          message: `cannot read pg_querylens records: ${failed.message}`,
        });
      }
      const background = failed ? undefined : feed.lastError;
      if (background) {
        input.report({
          component: "querylens",
          cause: `poll:${background.message}`,
          severity: "warning",
          message: `reading pg_querylens records failed between cycles: ${background.message}`,
        });
      }
      // What was read before a failure is still this cycle's; a reader whose segment is gone is
      // closed and the next cycle opens the server's new one.
      const cycle = feed.takeCycle();
      if (failed && (failed as { code?: string }).code !== undefined) this.close();
      this.#slow = cycle.slow;
      const waitNames = this.#waitNames ??= new WaitEventNames(
        input.sql,
        input.caps.extensions.get(EXTENSION)!.schema,
      );
      try {
        await waitNames.resolve([
          ...cycle.sampled.map((s) => s.record.waitEventLast),
          ...[...cycle.aggregator.sums.values()].map((s) => s.waitEventLast),
        ]);
      } catch (e) {
        input.report({
          component: "querylens",
          cause: `wait_names:${(e as Error).message}`,
          severity: "warning",
          message: `cannot name pg_querylens wait events (they are left out): ${(e as Error).message}`,
        });
      }
      const waitEventName = (info: number) => waitNames.name(info);
      snap.queryExecutions = queryExecutions(cycle.sampled, { ...names, waitEventName });
      const agg = finishAggregates(cycle.aggregator, { databases: names.databases, waitEventName });
      snap.queryLensAggregates = agg.aggregates;
      const total = feed.total;
      snap.queryLensStats = {
        source: feed.sourceKind,
        sinceUnixMs: this.#since,
        sampled: feed.totalSampled,
        cycleSampled: cycle.cycleSampled,
        recordsRead: total.read,
        recordsLost: total.lost,
        cycleRecordsRead: cycle.cycle.read,
        cycleRecordsLost: cycle.cycle.lost,
        aggregateOverflow: agg.overflow,
      };
      if (cycle.cycle.lost > 0) {
        input.report({
          component: "querylens",
          cause: "records_lost",
          severity: "warning",
          message: `pg_querylens rings overwrote ${cycle.cycle.lost} records before they were read ` +
            `(raise pg_querylens.ring_slots or lower querylens_poll_ms)`,
        });
      }
      if (cycle.cycle.generationChanges > 0) {
        input.report({
          component: "querylens",
          cause: "generation_changed",
          severity: "warning",
          message: "the server reinitialized pg_querylens shared memory (a crash restart): reading resumed",
        });
      }
    } catch (e) {
      input.report({
        component: "querylens",
        cause: `error:${(e as Error).message}`,
        severity: "error",
        message: `pg_querylens: ${(e as Error).message}`,
      });
    }
  }

  /** PostgresIndividualQueries of this cycle's slow queries from the ring's slow executions. */
  individualQueries(
    slow: SlowQueryRow[],
    countThreshold: number,
    responseTimeThresholdMs: number,
  ): IndividualQuery[] {
    return individualFromRing(slow, this.#slow, { countThreshold, responseTimeThresholdMs });
  }

  /** Stops the feed and closes its source. */
  close(): void {
    this.#feed?.close();
    this.#feed = undefined;
  }

  async #open(input: QueryLensCycleInput): Promise<QueryLensFeed | undefined> {
    const cfg = this.#config;
    const ext = input.caps.extensions.get(EXTENSION);
    if (!ext) {
      const preloaded = input.caps.preloaded?.includes(EXTENSION);
      const how = preloaded === false
        ? `add ${EXTENSION} to shared_preload_libraries, restart, then CREATE EXTENSION ${EXTENSION}`
        : `CREATE EXTENSION ${EXTENSION}`;
      input.report({
        component: "querylens",
        cause: "not_created",
        severity: cfg.querylens.mode === "on" ? "error" : "debug",
        message:
          `extension ${EXTENSION} is not created in database ${cfg.database}: per-execution data is off (${how})`,
      });
      return undefined;
    }
    const source = await this.#openSource(input, ext.schema);
    if (!source) return undefined;
    const feed = new QueryLensFeed(source, samplerSettings(cfg), cfg.queryMonitoringResponseTimeThreshold);
    this.#feed = feed;
    this.#since = Date.now();
    if (this.#daemon && source.kind === "ffi") feed.start(cfg.querylens.pollMs);
    return feed;
  }

  async #openSource(input: QueryLensCycleInput, schema: string): Promise<QueryLensSource | undefined> {
    const choice = this.#config.querylens.source;
    if (choice === "sql") return sqlSource(input.sql, schema, SQL_CONSUMER);
    let why: string;
    if (!isLocalHost(this.#config.hostname)) {
      why = `the server ${this.#config.hostname} is not on this host`;
    } else {
      const info = await readQueryLensInfo(input.sql, schema);
      if (info.state !== "ready") {
        why = `the segment ${info.segmentName} is ${info.state}`;
      } else {
        try {
          return ffiSource(info.segmentName, {
            postmasterPid: info.postmasterPid,
            libraryPath: this.#libraryPath,
          });
        } catch (e) {
          why = (e as Error).message;
        }
      }
    }
    input.report({
      component: "querylens",
      cause: `ffi:${why}`,
      severity: choice === "ffi" ? "error" : "warning",
      message: choice === "ffi"
        ? `cannot read the pg_querylens rings from shared memory: ${why}`
        : `cannot read the pg_querylens rings from shared memory (${why}): reading them over SQL instead`,
    });
    return choice === "ffi" ? undefined : sqlSource(input.sql, schema, SQL_CONSUMER);
  }

  async #names(input: QueryLensCycleInput): Promise<{
    databases: Map<number, string>;
    users: Map<number, string>;
    ownPids: Set<number>;
  }> {
    const rows = await input.sql.unsafe(
      `${MARKER} SELECT 'd' AS kind, oid::int8 AS oid, datname AS name FROM pg_database
         WHERE datname = ANY($1::text[])
       UNION ALL SELECT 'u', oid::int8, rolname FROM pg_roles
       UNION ALL SELECT 'p', pid, NULL FROM pg_stat_activity WHERE application_name = $2`,
      [arrayLiteral(input.databases), this.#config.session.applicationName],
    );
    const databases = new Map<number, string>();
    const users = new Map<number, string>();
    const ownPids = new Set<number>();
    for (const r of rows) {
      if (r.kind === "d") databases.set(Number(r.oid), String(r.name));
      else if (r.kind === "u") users.set(Number(r.oid), String(r.name));
      else ownPids.add(Number(r.oid));
    }
    return { databases, users, ownPids };
  }
}
