/**
 * The base integration for one cycle: the instance sample, the database samples (with the lock
 * sample when COLLECT_DB_LOCK_METRICS is on) and the inventory, each failing alone.
 *
 * What is published follows the SDK flags: if none of `metrics`, `inventory` and `events` is set,
 * everything is; otherwise only what is set.
 *
 * @module
 */

import type { Config } from "../../config/types.ts";
import type { CollectionIssue, UnifiedMetrics } from "../../core/model.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { collectDatabaseSamples } from "./database.ts";
import { collectInstanceSample } from "./instance.ts";
import { collectInventory } from "./inventory.ts";

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
  }
  if (parts.inventory) {
    await guarded(ctx, "base.inventory", async () => {
      snap.inventory = await collectInventory(ctx.sql, ctx.report);
    });
  }
}
