/**
 * PostgresqlTableSample and PostgresqlIndexSample of every database COLLECTION_LIST covers.
 *
 * Discovery resolves the list to schemas, tables and indexes (system schemas only with
 * COLLECT_SYSTEM_SCHEMAS); then each database is read on its own session, at most
 * {@link RELATION_CONCURRENCY} databases at a time. A database that cannot be discovered (no
 * CONNECT privilege, dropped, connection refused) is reported once as a warning and loses only its
 * own table and index samples; a failing query of one database loses only that database's samples
 * of that kind.
 *
 * @module
 */

import { parseCollectionList } from "../../config/mod.ts";
import type { BaseSample, CollectionIssue } from "../../core/model.ts";
import type { Config } from "../../config/types.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Session } from "../../query_engine/connection.ts";
import { forEachLimited } from "../limit.ts";
import { discoverCollection } from "./discovery.ts";
import { collectIndexSamples } from "./index_sample.ts";
import { collectTableSamples } from "./table.ts";

/** Databases whose tables and indexes are read at the same time. */
export const RELATION_CONCURRENCY = 4;

/** Inputs of {@link collectRelationSamples}. */
export interface RelationContext {
  /** Capabilities of the server (its version selects the columns). */
  caps: Pick<Capabilities, "version">;
  /** Configuration: collection list, ignore lists, system schemas, bloat, host and port. */
  config: Config;
  /** The databases of the cycle, already resolved from an `ALL` or array COLLECTION_LIST. */
  databases: readonly string[];
  /** One session per database. */
  connections: { sql(database: string): Session };
  /** Issue sink. */
  report(issue: CollectionIssue): void;
}

/**
 * The table samples then the index samples of each covered database, databases in name order.
 *
 * @throws Error when the collection list cannot be parsed (checked at startup, so not expected).
 */
export async function collectRelationSamples(ctx: RelationContext): Promise<BaseSample[]> {
  const { config } = ctx;
  const list = parseCollectionList(config.collectionList);
  const { databases, issues } = await discoverCollection(list, {
    connections: ctx.connections,
    mainDatabase: config.database,
    ignoreDatabases: config.collectionIgnoreDatabaseList,
    ignoreTables: config.collectionIgnoreTableList,
    includeSystemSchemas: config.collectSystemSchemas,
    resolved: list.kind === "explicit" ? undefined : ctx.databases,
  });
  for (const issue of issues) {
    ctx.report({
      component: "base.discovery",
      cause: `unreachable:${issue.database}`,
      severity: "warning",
      message: `database "${issue.database}": no table or index samples: ${issue.message}`,
    });
  }
  const entries = [...databases].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const perDatabase: BaseSample[][] = entries.map(() => []);
  await forEachLimited(entries, RELATION_CONCURRENCY, async ([database, tree], i) => {
    const sql = ctx.connections.sql(database);
    const { hostname: host, port } = config;
    perDatabase[i].push(
      ...await collectTableSamples(sql, ctx.caps, database, tree, host, port, {
        bloat: config.collectBloatMetrics,
        report: ctx.report,
      }),
    );
    try {
      perDatabase[i].push(...await collectIndexSamples(sql, ctx.caps, database, tree, host, port));
    } catch (e) {
      const message = `indexes of database "${database}" not collected: ${(e as Error).message}`;
      ctx.report({ component: "base.index", cause: `error:${message}`, severity: "error", message });
    }
  });
  return perDatabase.flat();
}
