/**
 * From the adapter's plain structures (attributes as records) to the protocol module's request
 * types, and to encoded request bodies no larger than a bound.
 *
 * @module
 */

import type { ResourceLogsData } from "./logs.ts";
import type { MetricData, ResourceMetricsData } from "./metrics.ts";
import {
  encodeLogsRequest,
  encodeMetricsRequest,
  type KeyValue,
  type LogsRequest,
  type Metric,
  type MetricsRequest,
} from "./otlp_proto.ts";
import type { Attributes } from "./resource.ts";

/** Attributes as protocol key-value pairs, in insertion order. */
export function keyValues(attrs: Attributes): KeyValue[] {
  return Object.entries(attrs).map(([key, value]) => ({ key, value }));
}

function metric(m: MetricData): Metric {
  const dataPoints = m.points.map((p) => ({
    attributes: keyValues(p.attributes),
    ...(p.startTimeUnixNano === undefined ? {} : { startTimeUnixNano: p.startTimeUnixNano }),
    timeUnixNano: p.timeUnixNano,
    value: p.value,
  }));
  const base = { name: m.name, description: m.description, unit: m.unit };
  if (m.type === "gauge") return { ...base, kind: "gauge", dataPoints };
  return {
    ...base,
    kind: "sum",
    isMonotonic: m.monotonic ?? false,
    temporality: m.temporality ?? "cumulative",
    dataPoints,
  };
}

/** The `ExportMetricsServiceRequest` of `resources`. */
export function metricsRequest(resources: readonly ResourceMetricsData[]): MetricsRequest {
  return {
    resourceMetrics: resources.map((r) => ({
      resource: { attributes: keyValues(r.resource) },
      scopeMetrics: r.scopeMetrics.map((sm) => ({ scope: sm.scope, metrics: sm.metrics.map(metric) })),
    })),
  };
}

/** The `ExportLogsServiceRequest` of `resources`. */
export function logsRequest(resources: readonly ResourceLogsData[]): LogsRequest {
  return {
    resourceLogs: resources.map((r) => ({
      resource: { attributes: keyValues(r.resource) },
      scopeLogs: r.scopeLogs.map((sl) => ({
        scope: sl.scope,
        logRecords: sl.logRecords.map((lr) => ({
          eventName: lr.eventName,
          timeUnixNano: lr.timeUnixNano,
          observedTimeUnixNano: lr.timeUnixNano,
          severityNumber: 9,
          severityText: "INFO",
          attributes: keyValues(lr.attributes),
          ...(lr.body === undefined ? {} : { body: lr.body }),
        })),
      })),
    })),
  };
}

/**
 * Encodes `items` into request bodies of at most `maxBytes` each where possible: the whole list
 * when it fits, else each half, recursively. A single item larger than the bound is encoded alone
 * (the queue then drops and counts it).
 *
 * @param items resources (or records) in order
 * @param encode encodes a non-empty slice into one request body
 */
export function encodeInParts<T>(
  items: readonly T[],
  maxBytes: number,
  encode: (part: readonly T[]) => Uint8Array,
): Uint8Array[] {
  if (items.length === 0) return [];
  const body = encode(items);
  if (body.length <= maxBytes || items.length === 1) return [body];
  const mid = Math.ceil(items.length / 2);
  return [
    ...encodeInParts(items.slice(0, mid), maxBytes, encode),
    ...encodeInParts(items.slice(mid), maxBytes, encode),
  ];
}

/** Metrics request bodies of `resources`, each at most `maxBytes` where a resource allows. */
export function encodeMetricsBodies(
  resources: readonly ResourceMetricsData[],
  maxBytes: number,
): Uint8Array[] {
  return encodeInParts(resources, maxBytes, (part) => encodeMetricsRequest(metricsRequest(part)));
}

/**
 * Logs request bodies of `resources` (one resource in practice), split by records so that each
 * body is at most `maxBytes` where a record allows.
 */
export function encodeLogsBodies(resources: readonly ResourceLogsData[], maxBytes: number): Uint8Array[] {
  return resources.flatMap((r) =>
    r.scopeLogs.flatMap((sl) =>
      encodeInParts(
        sl.logRecords,
        maxBytes,
        (records) =>
          encodeLogsRequest(
            logsRequest([{
              resource: r.resource,
              scopeLogs: [{ scope: sl.scope, logRecords: [...records] }],
            }]),
          ),
      )
    )
  );
}
