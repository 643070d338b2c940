/**
 * The base integration for one cycle, in nri-postgresql's order: the instance sample, the database
 * samples (with the lock sample when COLLECT_DB_LOCK_METRICS is on), the table and index samples of
 * every discovered database (on that database's own session, a few databases at a time; a database
 * that cannot be reached only loses its own tables and indexes), the custom query
 * (CUSTOM_METRICS_QUERY), the custom query file (CUSTOM_METRICS_CONFIG) and the inventory. Each
 * part fails alone: its error is reported and the others are still collected.
 *
 * What is published follows the SDK flags: if none of `metrics`, `inventory` and `events` is set,
 * everything is; otherwise only what is set.
 *
 * @module
 */

import type { Config } from "../../config/types.ts";
import type { CollectionIssue, UnifiedMetrics } from "../../core/model.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Session, Sql } from "../../query_engine/connection.ts";
import { collectCustomQuerySamples } from "../custom/metric_query.ts";
import { collectCustomConfigSamples } from "../custom/config_queries.ts";
import type { CustomQueryDef } from "../custom/config_file.ts";
import { collectDatabaseSamples } from "./database.ts";
import { collectInstanceSample } from "./instance.ts";
import { collectInventory } from "./inventory.ts";
import { collectRelationSamples } from "./relation_samples.ts";

/** Which parts of the base document a configuration publishes. */
export function publishes(config: Pick<Config, "metrics" | "inventory" | "events">): {
  metrics: boolean;
  inventory: boolean;
} {
  const all = !config.metrics && !config.inventory && !config.events;
  return { metrics: all || config.metrics, inventory: all || config.inventory };
}

/** Inputs of {@link collectBase}. */
export interface BaseContext {
  /** The main session (DATABASE). */
  sql: Sql;
  /** Its capabilities. */
  caps: Capabilities;
  /** Configuration. */
  config: Config;
  /** Collected databases. */
  databases: string[];
  /** One session per database (the custom query file and per-database samples use them). */
  connections: { sql(database: string): Session };
  /** Queries of CUSTOM_METRICS_CONFIG, loaded at startup. */
  customQueries: readonly CustomQueryDef[];
  /** Issue sink. */
  report(issue: CollectionIssue): void;
}

async function guarded(ctx: BaseContext, component: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const message = (e as Error).message;
    ctx.report({ component, cause: `error:${message}`, severity: "error", message });
  }
}

/** Collects the base samples and inventory into `snap`. */
export async function collectBase(ctx: BaseContext, snap: UnifiedMetrics): Promise<void> {
  const { config } = ctx;
  const parts = publishes(config);
  if (parts.metrics) {
    await guarded(ctx, "base.instance", async () => {
      snap.baseSamples.push(await collectInstanceSample(ctx.sql, ctx.caps, config.hostname, config.port));
    });
    if (ctx.databases.length > 0) {
      await guarded(ctx, "base.database", async () => {
        snap.baseSamples.push(
          ...await collectDatabaseSamples(ctx.sql, ctx.caps, ctx.databases, config.hostname, config.port, {
            locks: config.collectDbLockMetrics,
          }),
        );
      });
    }
    await guarded(ctx, "base.discovery", async () => {
      snap.baseSamples.push(...await collectRelationSamples(ctx));
    });
    if (config.customMetricsQuery.trim() !== "") {
      await guarded(ctx, "custom.query", async () => {
        snap.baseSamples.push(
          ...await collectCustomQuerySamples(
            ctx.sql,
            config.customMetricsQuery,
            config.hostname,
            config.port,
            ctx.report,
          ),
        );
      });
    }
    if (ctx.customQueries.length > 0) {
      snap.baseSamples.push(
        ...await collectCustomConfigSamples(
          ctx.connections,
          ctx.customQueries,
          config.database,
          config.hostname,
          config.port,
          ctx.report,
        ),
      );
    }
  }
  if (parts.inventory) {
    await guarded(ctx, "base.inventory", async () => {
      snap.inventory = await collectInventory(ctx.sql, ctx.report);
    });
  }
}
