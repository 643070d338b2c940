/**
 * One collection cycle: connect (or reuse sessions), probe, run the collectors, and return the
 * snapshot. Long-lived state (sessions, caches) lives in the {@link Collector} so daemon mode
 * reuses it across cycles.
 *
 * @module
 */

import type { Config } from "../config/types.ts";
import { collectionDatabases, parseCollectionList } from "../config/mod.ts";
import { emptySnapshot, type UnifiedMetrics } from "../core/model.ts";
import type { IssueReporter } from "../core/log.ts";
import { CapabilityCache } from "../query_engine/capabilities.ts";
import { ConnectionManager } from "../query_engine/connection.ts";
import { resolveDatabases } from "./databases.ts";
import { collectBase } from "./base/mod.ts";
import { collectQpm } from "./qpm/mod.ts";
import { PlanCapture } from "./qpm/plan_capture.ts";
import { StatementTextCache } from "./qpm/statement_texts.ts";

/** The collector: sessions and caches kept across cycles. */
export class Collector {
  readonly #config: Config;
  readonly #issues: IssueReporter;
  readonly #connections: ConnectionManager;
  readonly #caps = new CapabilityCache();
  readonly #texts = new StatementTextCache();
  readonly #plans: PlanCapture;

  /**
   * @param config validated configuration
   * @param issues where problems are reported
   */
  constructor(config: Config, issues: IssueReporter) {
    this.#config = config;
    this.#issues = issues;
    this.#connections = new ConnectionManager(config);
    this.#plans = new PlanCapture(this.#connections, this.#caps, config.explain);
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
    try {
      const sql = this.#connections.sql(cfg.database);
      const { caps } = await this.#caps.get(cfg.database, sql);
      snap.instance.serverVersionNum = caps.version.num;
      snap.instance.majorVersion = caps.version.major;
      snap.instance.serverVersion = caps.serverVersion;
      const selection = collectionDatabases(parseCollectionList(cfg.collectionList));
      const databases = await resolveDatabases(sql, selection, cfg.collectionIgnoreDatabaseList);
      await collectBase({ sql, caps, config: cfg, databases, report }, snap);
      if (!cfg.enableQueryMonitoring) return snap;
      if (databases.length === 0) {
        report({
          component: "qpm",
          cause: "no_databases",
          severity: "warning",
          message: "No databases found: COLLECTION_LIST names no database to monitor",
        });
        return snap;
      }
      await collectQpm(
        {
          config: cfg,
          connections: this.#connections,
          capabilities: this.#caps,
          plans: this.#plans,
          texts: this.#texts,
          report,
        },
        snap,
        databases,
      );
    } catch (e) {
      report({
        component: "connection",
        cause: `error:${(e as Error).message}`,
        severity: "error",
        message: `cannot collect from ${cfg.hostname}:${cfg.port}/${cfg.database}: ${(e as Error).message}`,
      });
    }
    return snap;
  }

  /** Closes every session. */
  async close(): Promise<void> {
    await this.#connections.close();
  }
}
