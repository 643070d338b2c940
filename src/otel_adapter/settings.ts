/**
 * The complete OTLP export settings of a run: the transport of each signal, the resource's service
 * name and extra attributes, the temporality of sums and the queue bound.
 *
 * Precedence per transport setting: the per-signal variable (`OTEL_EXPORTER_OTLP_METRICS_*`,
 * `OTEL_EXPORTER_OTLP_LOGS_*`), then the configuration's generic value (flag `-otel_*` over the
 * generic `OTEL_EXPORTER_OTLP_*` variable over the `[otel]` table of the file), then the default.
 *
 * @module
 */

import type { EnvReader } from "../config/env.ts";
import { ConfigError, type OtelConfig } from "../config/types.ts";
import type { OriginOf } from "../config/validate.ts";
import type { Temporality } from "./metrics.ts";
import { DEFAULT_SERVICE_NAME } from "./resource.ts";
import {
  type GenericSettings,
  type OtlpSettings,
  type OtlpSignal,
  resolveOtlpSettings,
  type SettingSource,
} from "./transport/endpoint.ts";

/** Resolved OTLP export settings. */
export interface OtelSettings {
  /** Transport of each signal. */
  readonly transports: Readonly<Record<OtlpSignal, OtlpSettings>>;
  /** `service.name`: the configured one, else `service.name` of the resource attributes, else `pgquerylens`. */
  readonly serviceName: string;
  /** Extra resource attributes (never overriding the collector's own keys). */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** Temporality of monotonic sums (`lowmemory` is cumulative for observed counters). */
  readonly temporality: Temporality;
  /** Bound of each signal's queue, in bytes. */
  readonly queueBytes: number;
}

/** Smallest accepted queue bound (one typical request must fit). */
export const MIN_QUEUE_BYTES = 64 * 1024;

function source(key: string, value: string, originOf: OriginOf): SettingSource | undefined {
  if (value.trim() === "") return undefined;
  const origin = originOf(key);
  return { value, name: origin === undefined ? key : `${key} (${origin})` };
}

/** The configuration's generic transport settings, each named by its option and origin. */
export function genericSettings(otel: OtelConfig, originOf: OriginOf = () => undefined): GenericSettings {
  const entries: [keyof GenericSettings, string, string][] = [
    ["ENDPOINT", "otel_endpoint", otel.endpoint],
    ["PROTOCOL", "otel_protocol", otel.protocol],
    ["HEADERS", "otel_headers", otel.headers],
    ["COMPRESSION", "otel_compression", otel.compression],
    ["TIMEOUT", "otel_timeout", otel.timeoutMs > 0 ? String(otel.timeoutMs) : ""],
    ["CERTIFICATE", "otel_certificate", otel.certificate],
  ];
  const out: Record<string, SettingSource> = {};
  for (const [suffix, key, value] of entries) {
    const s = source(key, value, originOf);
    if (s !== undefined) out[suffix] = s;
  }
  return out;
}

/**
 * Parses `key=value,key=value` resource attributes (W3C baggage style, URL-decoded, trimmed).
 *
 * @throws ConfigError naming `name` and the entry's position when an entry is malformed
 */
export function parseResourceAttributes(text: string, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, entry] of text.split(",").entries()) {
    if (entry.trim() === "") continue;
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new ConfigError(`${name}: entry ${i + 1} is not of the form key=value`, name);
    try {
      out[decodeURIComponent(entry.slice(0, eq)).trim()] = decodeURIComponent(entry.slice(eq + 1)).trim();
    } catch {
      throw new ConfigError(`${name}: entry ${i + 1} has invalid percent-encoding`, name);
    }
  }
  return out;
}

/**
 * Resolves the settings of both signals and the resource from the configuration and `env`.
 *
 * @param otel the configuration's `[otel]` settings
 * @param env reads the per-signal variables (`Deno.env.get`); pass `() => undefined` to check the
 *   configuration alone
 * @param originOf names where a configuration value came from
 * @throws ConfigError naming the option or variable at fault
 */
export function resolveOtelSettings(
  otel: OtelConfig,
  env: EnvReader,
  originOf: OriginOf = () => undefined,
): OtelSettings {
  const generic = genericSettings(otel, originOf);
  if (!(Number.isSafeInteger(otel.queueBytes) && otel.queueBytes >= MIN_QUEUE_BYTES)) {
    const s = source("otel_queue_bytes", String(otel.queueBytes), originOf)!;
    throw new ConfigError(
      `${s.name}: must be an integer >= ${MIN_QUEUE_BYTES}, got ${otel.queueBytes}`,
      s.name,
    );
  }
  const attrs = source("otel_resource_attributes", otel.resourceAttributes, originOf);
  const resourceAttributes = attrs === undefined ? {} : parseResourceAttributes(attrs.value, attrs.name);
  return {
    transports: {
      metrics: resolveOtlpSettings("metrics", env, generic),
      logs: resolveOtlpSettings("logs", env, generic),
    },
    // As the SDKs do: OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES, else ours.
    serviceName: otel.serviceName.trim() || resourceAttributes["service.name"]?.trim() ||
      DEFAULT_SERVICE_NAME,
    resourceAttributes,
    temporality: otel.temporality === "delta" ? "delta" : "cumulative",
    queueBytes: otel.queueBytes,
  };
}
