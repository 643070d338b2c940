/**
 * Connections and QPM contexts for tests that run the collectors against a throwaway cluster.
 *
 * ```ts
 * await using cluster = await startCluster({ preload: ["pg_stat_statements"] });
 * const cm = clusterConnections(cluster);
 * const { ctx, issues } = await qpmContext(cm, "postgres", { countThreshold: 5 });
 * ```
 *
 * @module
 */

import type { Cluster } from "./cluster.ts";
import { defaultConfig } from "../../src/config/defaults.ts";
import type { CollectionIssue } from "../../src/core/model.ts";
import { probeCapabilities } from "../../src/query_engine/capabilities.ts";
import { type ConnectionConfig, ConnectionManager } from "../../src/query_engine/connection.ts";
import type { QpmContext } from "../../src/collectors/qpm/context.ts";
import { StatementTextCache } from "../../src/collectors/qpm/statement_texts.ts";

/**
 * A connection manager that logs in to `cluster` over TCP as its superuser, with the default
 * configuration otherwise; `overrides` replace any of its settings (e.g. `session`).
 */
export function clusterConnections(
  cluster: Cluster,
  overrides: Partial<ConnectionConfig> = {},
): ConnectionManager {
  return new ConnectionManager({
    ...defaultConfig(),
    username: cluster.superuser,
    password: cluster.password,
    hostname: cluster.host,
    port: String(cluster.port),
    ...overrides,
  });
}

/** A QPM context and the issues its `report` has received. */
export interface TestQpmContext {
  /** The context. */
  ctx: QpmContext;
  /** Every issue reported through `ctx.report`, in order. */
  issues: CollectionIssue[];
}

/**
 * A QPM context on the main session of `database`, with capabilities probed on that session,
 * collected databases `["shop"]`, N = 20, a 1 ms response time threshold, the default
 * configuration, an empty statement text cache, and a `report` that appends to `issues`. Fields
 * of `over` replace those defaults.
 */
export async function qpmContext(
  cm: ConnectionManager,
  database: string,
  over: Partial<QpmContext> = {},
): Promise<TestQpmContext> {
  const sql = cm.sql(database);
  const issues: CollectionIssue[] = [];
  const ctx: QpmContext = {
    sql,
    caps: await probeCapabilities(sql),
    databases: ["shop"],
    countThreshold: 20,
    responseTimeThresholdMs: 1,
    config: defaultConfig(),
    texts: new StatementTextCache(),
    report: (i) => issues.push(i),
    ...over,
  };
  return { ctx, issues };
}
