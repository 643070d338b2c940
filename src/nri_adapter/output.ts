/**
 * Writes a snapshot's NRI documents to stdout, one after another, each ending in a newline.
 *
 * @module
 */

import type { Config } from "../config/types.ts";
import type { Logger } from "../core/log.ts";
import type { UnifiedMetrics } from "../core/model.ts";
import { VERSION } from "../version.ts";
import type { DroppedValue } from "./metric_set.ts";
import { encodeQpmDocuments, type NriOptions } from "./qpm.ts";

/** The encoder options that `config` selects. */
export function nriOptionsFromConfig(config: Config, integrationVersion: string = VERSION): NriOptions {
  return {
    integrationVersion,
    pretty: config.pretty,
    addHostname: config.nriAddHostname,
    cluster: config.nriCluster || undefined,
    service: config.nriService || undefined,
    isRds: config.isRds,
    compat: config.compat,
    protocol: config.nriProtocol,
    intervalMs: config.intervalSeconds === undefined ? 0 : Math.round(config.intervalSeconds * 1000),
  };
}

/** One line summarizing dropped values, e.g. `PostgresSlowQueries.avg_elapsed_time_ms (2)`. */
export function describeDropped(dropped: readonly DroppedValue[]): string {
  const counts = new Map<string, number>();
  for (const d of dropped) {
    const key = `${d.eventType}.${d.key} (${d.reason})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => (n > 1 ? `${key} x${n}` : key)).join(", ");
}

/**
 * Encodes the QPM documents of `snapshot` and writes them through `write` (stdout by default).
 * Values left out of a row because they were not finite numbers are logged as a warning.
 * Resolves to the number of documents written.
 */
export async function writeNri(
  snapshot: UnifiedMetrics,
  config: Config,
  logger: Logger,
  write: (text: string) => Promise<void> = writeStdout,
): Promise<number> {
  const { documents, dropped } = encodeQpmDocuments(snapshot, nriOptionsFromConfig(config));
  if (dropped.length > 0) {
    logger.log(
      "warn",
      `NRI output: left out ${dropped.length} value(s) that are not finite numbers: ${
        describeDropped(dropped)
      }`,
    );
  }
  for (const doc of documents) await write(doc);
  return documents.length;
}

/** Writes `text` to stdout completely (a single `write` may take only part of it). */
export async function writeStdout(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
}
