/**
 * The OTLP exporter of a run: turns each snapshot into metrics and log records, encodes them into
 * request bodies and hands those to one bounded queue per signal, which sends in the background.
 *
 * {@link OtelExporter.exportSnapshot} never waits for the network: encoding is synchronous and
 * queues only grow up to their byte bound (dropping and counting the oldest beyond it), so an
 * unreachable receiver costs memory up to the bound and never delays a cycle or the NRI output.
 * Warnings about failed exports are logged once per reason; counters are exported as
 * self-telemetry and logged at `-verbose`.
 *
 * @module
 */

import type { Logger } from "../core/log.ts";
import type { UnifiedMetrics } from "../core/model.ts";
import { createTopQueryState, snapshotLogs, type TopQueryState } from "./logs.ts";
import {
  createSeriesState,
  dateToNs,
  type ResourceMetricsData,
  scope,
  type SeriesState,
  snapshotMetrics,
} from "./metrics.ts";
import { decodeExportResponse } from "./otlp_proto.ts";
import { attributesKey, instanceResource } from "./resource.ts";
import { type ExportCounters, SelfTelemetry } from "./self_telemetry.ts";
import type { OtelSettings } from "./settings.ts";
import { encodeLogsBodies, encodeMetricsBodies } from "./to_proto.ts";
import type { OtlpSignal } from "./transport/endpoint.ts";
import { createExportQueue, type ExportQueue } from "./transport/queue.ts";
import type { BackoffPolicy, OtlpSender } from "./transport/retry.ts";
import { createOtlpSender } from "./transport/sender.ts";

/** Largest request body the exporter builds (bigger snapshots are split by resource or record). */
export const MAX_PART_BYTES = 4 * 1024 * 1024;

/** State carried between snapshots (and, in one-shot runs, between processes). */
export interface ExportState {
  /** Start times and previous values of metric series. */
  readonly series: SeriesState;
  /** Previous slow-query counters (for `db.server.top_query` deltas). */
  readonly topQueries: TopQueryState;
}

/** Options of {@link createOtelExporter}. */
export interface OtelExporterOptions {
  /** Resolved settings. */
  readonly settings: OtelSettings;
  /** Where warnings and the `-verbose` summary go. */
  readonly logger: Logger;
  /** State to continue from (a one-shot run's saved state); empty when absent. */
  readonly state?: ExportState;
  /** Creates the sender of a signal; the transport of its settings when absent. */
  readonly createSender?: (signal: OtlpSignal) => Promise<OtlpSender>;
  /** Backoff settings of the queues (the OTLP defaults when absent). */
  readonly backoff?: BackoffPolicy;
  /** Start of the process, the start time of self-telemetry sums (now when absent). */
  readonly startNs?: bigint;
}

/** The exporter of a run. */
export interface OtelExporter {
  /**
   * Encodes `snapshot` (and the self-telemetry of its cycle, which took `durationMs`) and queues
   * the requests. Never throws and never waits for the network.
   */
  exportSnapshot(snapshot: UnifiedMetrics, durationMs: number): void;
  /** Resolves true when everything queued has been sent or given up on, false at `timeoutMs`. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Current counters. */
  counters(): ExportCounters;
  /** The state to save for the next run. */
  state(): ExportState;
  /** Stops the queues (each waiting request gets one last attempt, within `timeoutMs`). */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Creates the exporter and its senders.
 *
 * @throws Error when a sender cannot be created (e.g. the certificate file cannot be read)
 */
export async function createOtelExporter(options: OtelExporterOptions): Promise<OtelExporter> {
  const { settings, logger } = options;
  const series = options.state?.series ?? createSeriesState();
  const topQueries = options.state?.topQueries ?? createTopQueryState();
  const telemetry = new SelfTelemetry(options.startNs ?? dateToNs(new Date()), settings.temporality);
  const resourceOptions = {
    serviceName: settings.serviceName,
    resourceAttributes: settings.resourceAttributes,
  };
  const warned = new Set<string>();
  const warnOnce = (message: string) => {
    if (warned.has(message)) return;
    warned.add(message);
    logger.log("warn", message);
  };
  const makeSender = options.createSender ??
    ((signal: OtlpSignal) => createOtlpSender(settings.transports[signal]));
  const senders: Partial<Record<OtlpSignal, OtlpSender>> = {};
  try {
    for (const signal of ["metrics", "logs"] as const) senders[signal] = await makeSender(signal);
  } catch (e) {
    for (const sender of Object.values(senders)) sender.close();
    throw e;
  }
  const queues = {} as Record<OtlpSignal, ExportQueue>;
  for (const signal of ["metrics", "logs"] as const) {
    const endpoint = settings.transports[signal].endpoint;
    queues[signal] = createExportQueue({
      sender: senders[signal]!,
      maxBytes: settings.queueBytes,
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      onResponse: (body) => {
        const partial = decodePartial(signal, body);
        if (partial !== undefined && partial.message !== "") {
          warnOnce(`OTLP ${signal} export to ${endpoint}: partial success: ${partial.message}`);
        }
        return partial === undefined ? undefined : { rejected: partial.rejected };
      },
      onFailure: (reason) => warnOnce(`OTLP ${signal} export to ${endpoint} failed: ${reason}`),
    });
  }
  let encodeFailures = 0;
  const unmappedSeen = new Set<string>();
  const partBytes = Math.min(MAX_PART_BYTES, Math.floor(settings.queueBytes / 4));
  const counters = (): ExportCounters => ({
    queues: { metrics: queues.metrics.counters(), logs: queues.logs.counters() },
    encodeFailures,
  });
  const failed = (what: string, e: unknown) => {
    encodeFailures++;
    logger.log("error", `OTLP ${what} of this cycle not exported: ${(e as Error).message}`);
  };

  function enqueueAll(signal: OtlpSignal, bodies: Uint8Array[]): void {
    for (const body of bodies) queues[signal].enqueue(body);
  }

  function exportSnapshot(snapshot: UnifiedMetrics, durationMs: number): void {
    telemetry.recordCycle(durationMs, snapshot.issues);
    const nowNs = dateToNs(snapshot.collectedAt);
    let resources: ResourceMetricsData[] = [];
    try {
      const result = snapshotMetrics(snapshot, {
        ...resourceOptions,
        state: series,
        temporality: settings.temporality,
      });
      resources = result.resourceMetrics;
      const fresh = result.unmapped.filter((n) => !unmappedSeen.has(n));
      for (const n of fresh) unmappedSeen.add(n);
      if (fresh.length > 0) logger.log("debug", `OTLP: metrics without an OTLP mapping: ${fresh.join(", ")}`);
    } catch (e) {
      failed("metrics", e);
    }
    try {
      const own = instanceResource(snapshot.instance, resourceOptions);
      const selfMetrics = telemetry.metrics(dateToNs(new Date()), counters());
      const home = resources.find((r) => attributesKey(r.resource) === attributesKey(own));
      if (home === undefined) {
        resources.push({ resource: own, scopeMetrics: [{ scope: scope(), metrics: selfMetrics }] });
      } else home.scopeMetrics[0].metrics.push(...selfMetrics);
      enqueueAll("metrics", encodeMetricsBodies(resources, partBytes));
    } catch (e) {
      failed("metrics", e);
    }
    try {
      const logs = snapshotLogs(snapshot, { ...resourceOptions, state: topQueries, nowNs });
      enqueueAll("logs", encodeLogsBodies(logs, partBytes));
    } catch (e) {
      failed("log records", e);
    }
    logger.log("debug", telemetry.summary(counters()));
  }

  async function flush(timeoutMs: number): Promise<boolean> {
    return await withDeadline(Promise.all([queues.metrics.flush(), queues.logs.flush()]), timeoutMs);
  }

  return {
    exportSnapshot,
    flush,
    counters,
    state: () => ({ series, topQueries }),
    async close(timeoutMs: number) {
      await withDeadline(Promise.all([queues.metrics.close(), queues.logs.close()]), timeoutMs);
    },
  };
}

function decodePartial(
  signal: OtlpSignal,
  body: Uint8Array,
): { rejected: number; message: string } | undefined {
  try {
    const p = decodeExportResponse(signal, body);
    return p === null ? undefined : { rejected: p.rejected, message: p.errorMessage };
  } catch {
    // A success whose body is not a valid response still delivered the data.
    return undefined;
  }
}

/** Resolves true when `work` settles within `timeoutMs`, false otherwise. */
async function withDeadline(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
  });
  try {
    return await Promise.race([work.then(() => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
