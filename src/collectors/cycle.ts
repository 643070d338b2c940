/**
 * One collection cycle: connect (or reuse sessions), probe, run the collectors, and return the
 * snapshot. Long-lived state (sessions, caches) lives in the {@link Collector} so daemon mode
 * reuses it across cycles.
 *
 * @module
 */

import type { Config } from "../config/types.ts";
import { collectionDatabases, parseCollectionList } from "../config/mod.ts";
import { type CollectionIssue, emptySnapshot, type UnifiedMetrics } from "../core/model.ts";
import type { IssueReporter } from "../core/log.ts";
import { CapabilityCache } from "../query_engine/capabilities.ts";
import { ConnectionManager, PGBOUNCER_CONSOLE, type Session } from "../query_engine/connection.ts";
import { resolveDatabases } from "./databases.ts";
import { collectBase, publishes } from "./base/mod.ts";
import { collectPgBouncerSamples } from "./pgbouncer/collect.ts";
import { collectQpm, MIN_QPM_MAJOR } from "./qpm/mod.ts";
import { PlanCapture } from "./plan_capture/capture.ts";
import { PlanTracker } from "./plan_capture/mod.ts";
import { StatementTextCache } from "./qpm/statement_texts.ts";
import type { CustomQueryDef } from "./custom/config_file.ts";
import { readStatsResets } from "./stats_reset.ts";
import { QueryLensCollector } from "./querylens/collect.ts";
import { AshCollector } from "./ash/collect.ts";
import { OsCollector } from "./os/collect.ts";
import { EbpfTier } from "./os/ebpf.ts";

/** PgBouncer's admin console database. */
const PGBOUNCER_DATABASE = "pgbouncer";

/** What the collector needs besides the configuration. */
export interface CollectorOptions {
  /** Queries of CUSTOM_METRICS_CONFIG, loaded and checked at startup. */
  customQueries?: readonly CustomQueryDef[];
}

/** The collector: sessions and caches kept across cycles. */
export class Collector {
  readonly #config: Config;
  readonly #issues: IssueReporter;
  readonly #connections: ConnectionManager;
  readonly #caps = new CapabilityCache();
  readonly #texts = new StatementTextCache();
  readonly #plans: PlanCapture;
  readonly #planTracker: PlanTracker;
  readonly #customQueries: readonly CustomQueryDef[];
  readonly #querylens: QueryLensCollector;
  readonly #ash: AshCollector;
  readonly #os: OsCollector;
  readonly #ebpf: EbpfTier;

  /**
   * @param config validated configuration
   * @param issues where problems are reported
   * @param options custom queries read at startup
   */
  constructor(config: Config, issues: IssueReporter, options: CollectorOptions = {}) {
    this.#customQueries = options.customQueries ?? [];
    this.#config = config;
    this.#issues = issues;
    this.#connections = new ConnectionManager(config, { report: (i) => issues.report(i) });
    this.#plans = new PlanCapture(this.#connections, this.#caps, config.explain);
    this.#planTracker = new PlanTracker({ config, plans: this.#plans, texts: this.#texts });
    this.#querylens = new QueryLensCollector(config, config.intervalSeconds !== undefined);
    this.#ash = new AshCollector(config, this.#connections, config.intervalSeconds !== undefined);
    this.#os = new OsCollector(config, this.#connections, config.intervalSeconds !== undefined);
    this.#ebpf = new EbpfTier(config, config.intervalSeconds !== undefined);
  }

  /** Runs one cycle. Connection failures are reported in the snapshot's issues, never thrown. */
  async collect(): Promise<UnifiedMetrics> {
    const cfg = this.#config;
    const snap = emptySnapshot({
      host: cfg.hostname,
      port: cfg.port,
      serverVersionNum: 0,
      majorVersion: 0,
      serverVersion: "",
    });
    const report = (issue: UnifiedMetrics["issues"][number]) => {
      snap.issues.push(issue);
      this.#issues.report(issue);
    };
    const adminConsole = cfg.pgbouncer && cfg.database === PGBOUNCER_DATABASE;
    if (adminConsole) {
      report({
        component: "pgbouncer",
        cause: "admin_console",
        severity: "debug",
        message:
          "DATABASE=pgbouncer with PGBOUNCER=true: PgBouncer's admin console, only PgBouncerSample is collected",
      });
    } else {
      await this.#collectPostgres(snap, report);
    }
    if (cfg.pgbouncer && publishes(cfg).metrics) {
      try {
        const session = this.#connections.sql(PGBOUNCER_DATABASE, PGBOUNCER_CONSOLE);
        snap.baseSamples.push(...await collectPgBouncerSamples(session, cfg.hostname, cfg.port, report));
      } catch (e) {
        const message = `cannot collect PgBouncer metrics from ${cfg.hostname}:${cfg.port}: ${
          (e as Error).message
        }`;
        report({
          component: "pgbouncer",
          cause: `error:${(e as Error).message}`,
          severity: "error",
          message,
        });
      }
    }
    return snap;
  }

  /**
   * The PostgreSQL part of a cycle: probe, base samples and inventory, then QPM. Failures are
   * reported, never thrown.
   */
  async #collectPostgres(snap: UnifiedMetrics, report: (issue: CollectionIssue) => void): Promise<void> {
    const cfg = this.#config;
    // Active session history samples on its own session while the rest of the cycle runs.
    let ash: Promise<void> | undefined;
    // OS metrics of the server's processes are read while the rest of the cycle runs.
    let os: Promise<void> | undefined;
    try {
      const sql = this.#connections.sql(cfg.database);
      const { caps } = await this.#caps.get(cfg.database, sql);
      snap.instance.serverVersionNum = caps.version.num;
      snap.instance.majorVersion = caps.version.major;
      snap.instance.serverVersion = caps.serverVersion;
      const selection = collectionDatabases(parseCollectionList(cfg.collectionList));
      const databases = await resolveDatabases(sql, selection, cfg.collectionIgnoreDatabaseList);
      await this.#ebpf.attach({ sql, report });
      ash = this.#ash.collect({ caps, databases, report }, snap);
      os = this.#os.collect({ caps, databases, report }, snap);
      await collectBase({
        sql,
        caps,
        config: cfg,
        databases,
        connections: this.#connections,
        customQueries: this.#customQueries,
        report,
      }, snap);
      if (cfg.mode !== "nri") await this.#readStatsResets(snap, sql, caps.version.major, report);
      if (databases.length > 0) await this.#querylens.collect({ sql, caps, databases, report }, snap);
      await this.#ebpf.collect({ sql, report }, snap);
      if (!cfg.enableQueryMonitoring) return;
      if (databases.length === 0) {
        report({
          component: "qpm",
          cause: "no_databases",
          severity: "warning",
          message: "No databases found: COLLECTION_LIST names no database to monitor",
        });
        return;
      }
      await collectQpm(
        {
          config: cfg,
          connections: this.#connections,
          capabilities: this.#caps,
          plans: this.#plans,
          texts: this.#texts,
          report,
          ringIndividuals: this.#querylens.active()
            ? (slow) =>
              this.#querylens.individualQueries(
                slow,
                cfg.queryMonitoringCountThreshold,
                cfg.queryMonitoringResponseTimeThreshold,
              )
            : undefined,
        },
        snap,
        databases,
      );
      if (caps.version.major >= MIN_QPM_MAJOR) {
        await this.#planTracker.collect({ sql, caps, databases, report }, snap);
      }
    } catch (e) {
      const hint = cfg.database === PGBOUNCER_DATABASE
        ? " (if this is PgBouncer's admin console, set PGBOUNCER=true to collect PgBouncerSample from it)"
        : "";
      report({
        component: "connection",
        cause: `error:${(e as Error).message}`,
        severity: "error",
        message: `cannot collect from ${cfg.hostname}:${cfg.port}/${cfg.database}: ${
          (e as Error).message
        }${hint}`,
      });
    } finally {
      await ash;
      await os;
    }
  }

  /**
   * The `stats_reset` times OTLP sums take as their start (one statement, OTLP modes only); a
   * failure is a warning and the series start at their first observation instead.
   */
  async #readStatsResets(
    snap: UnifiedMetrics,
    sql: Session,
    major: number,
    report: (issue: CollectionIssue) => void,
  ): Promise<void> {
    try {
      snap.statsResets = await readStatsResets(sql, major);
    } catch (e) {
      report({
        component: "otel.stats_reset",
        cause: `error:${(e as Error).message}`,
        severity: "warning",
        message: `cannot read stats_reset times (OTLP sums start at their first observation): ${
          (e as Error).message
        }`,
      });
    }
  }

  /**
   * Stops the pg_querylens feed and the active-session sampler, detaches the eBPF tier, and closes
   * every session.
   */
  async close(): Promise<void> {
    this.#querylens.close();
    await this.#ash.close();
    this.#os.close();
    this.#ebpf.close();
    await this.#connections.close();
  }
}
