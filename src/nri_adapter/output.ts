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
import { type BaseEncoding, encodeBaseDocument } from "./base.ts";
import { RateStore } from "../core/rates.ts";
import { instanceEntity } from "../core/entities.ts";

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
 * Encodes the base document (rates from `rates`) and the QPM documents of `snapshot` and writes
 * them through `write` (stdout by default), base first as nri-postgresql publishes.
 * Values left out of a row because they were not finite numbers are logged as a warning.
 * Resolves to the number of documents written.
 */
export async function writeNri(
  snapshot: UnifiedMetrics,
  config: Config,
  logger: Logger,
  write: (text: string) => Promise<void> = writeStdout,
  rates: RateStore = RateStore.memory(config.cacheTtlSeconds),
): Promise<number> {
  const options = nriOptionsFromConfig(config);
  const base = baseDocument(snapshot, options, rates);
  const qpm = encodeQpmDocuments(snapshot, options);
  const documents = [...(base ? [base.document] : []), ...qpm.documents];
  const dropped = [...(base?.dropped ?? []), ...qpm.dropped];
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

/**
 * The base document of `snapshot` (protocol 3): raw counters turned into per-second rates by
 * `rates`, the instance entity first with the inventory. Undefined when there is nothing to publish
 * (e.g. the server could not be reached) or for protocol 4, which carries no event-type samples.
 */
export function baseDocument(
  snapshot: UnifiedMetrics,
  options: NriOptions,
  rates: RateStore,
): BaseEncoding | undefined {
  if (options.protocol !== 3) return undefined;
  if (snapshot.baseSamples.length === 0 && snapshot.inventory === undefined) return undefined;
  const nowMs = snapshot.collectedAt.getTime();
  const samples = snapshot.baseSamples.map((s) => rates.apply(s, nowMs));
  return encodeBaseDocument(
    {
      instance: instanceEntity(snapshot.instance.host, snapshot.instance.port),
      samples,
      inventory: snapshot.inventory,
    },
    options,
  );
}

/** Writes `text` to stdout completely (a single `write` may take only part of it). */
export async function writeStdout(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
}
