/**
 * OTLP exporter settings from the standard `OTEL_EXPORTER_OTLP_*` environment variables.
 *
 * Each setting is taken from its per-signal variable (`OTEL_EXPORTER_OTLP_METRICS_*` or
 * `OTEL_EXPORTER_OTLP_LOGS_*`) when that is non-empty, else from the generic one, else from the
 * default. With HTTP, the generic endpoint gets `/v1/<signal>` appended to its path; a per-signal
 * endpoint is used exactly as given. With gRPC, both are used as given (scheme, host and port).
 *
 * @module
 */

import { ConfigError } from "../../config/types.ts";
import type { EnvReader } from "../../config/env.ts";

/** The two signals the collector exports. */
export type OtlpSignal = "metrics" | "logs";

/** Transport protocols supported for export. */
export type OtlpProtocol = "grpc" | "http/protobuf";

/** Compression applied to request bodies. */
export type OtlpCompression = "none" | "gzip";

/** Resolved settings for exporting one signal. */
export interface OtlpSettings {
  /** The signal these settings are for. */
  readonly signal: OtlpSignal;
  /** Transport protocol. */
  readonly protocol: OtlpProtocol;
  /**
   * Where to send: for HTTP the full URL of the POST (e.g. `http://host:4318/v1/metrics`); for gRPC
   * the server's URL (`http://host:4317` plaintext, `https://host:4317` TLS).
   */
  readonly endpoint: string;
  /** Extra request headers (gRPC metadata), names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** Compression of request bodies. */
  readonly compression: OtlpCompression;
  /** Time limit of one export request, in milliseconds. */
  readonly timeoutMs: number;
  /** Path of a PEM file with the CA certificate(s) trusted for TLS, if set. */
  readonly certificateFile?: string;
}

/** Default time limit of one export request (the specification's 10 s). */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Default endpoints per protocol (the standard local ports). */
export const DEFAULT_ENDPOINTS: Readonly<Record<OtlpProtocol, string>> = {
  "grpc": "http://localhost:4317",
  "http/protobuf": "http://localhost:4318",
};

const SUFFIXES = ["ENDPOINT", "PROTOCOL", "HEADERS", "COMPRESSION", "TIMEOUT", "CERTIFICATE"] as const;

function variable(signal: OtlpSignal | undefined, suffix: Suffix): string {
  return signal === undefined
    ? `OTEL_EXPORTER_OTLP_${suffix}`
    : `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_${suffix}`;
}

/** Every environment variable {@link resolveOtlpSettings} may read (generic and per-signal forms). */
export const OTLP_ENV_NAMES: readonly string[] = [undefined, "metrics" as const, "logs" as const].flatMap(
  (signal) => SUFFIXES.map((suffix) => variable(signal, suffix)),
);

/**
 * Environment variables `@grpc/grpc-js` reads (logging and tracing at load, proxies and TLS roots
 * when a channel is made); the collector's `env` permission must list them or loading fails.
 */
export const GRPC_LIBRARY_ENV_NAMES: readonly string[] = [
  "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
  "GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION",
  "GRPC_NODE_DEBUG_SEND_ERROR_DETAILS",
  "GRPC_NODE_TRACE",
  "GRPC_NODE_USE_ALTERNATIVE_RESOLVER",
  "GRPC_NODE_VERBOSITY",
  "GRPC_SSL_CIPHER_SUITES",
  "GRPC_TRACE",
  "GRPC_VERBOSITY",
  "grpc_proxy",
  "http_proxy",
  "https_proxy",
  "no_grpc_proxy",
  "no_proxy",
];

/** A setting's text and the name of where it came from (a variable, a flag, a file key). */
export interface SettingSource {
  /** The text. */
  readonly value: string;
  /** Names its origin in error messages. */
  readonly name: string;
}

/**
 * Generic (both signals) settings already resolved elsewhere, e.g. from the configuration; each one
 * given here replaces the generic `OTEL_EXPORTER_OTLP_*` variable of the same suffix.
 */
export type GenericSettings = Partial<Readonly<Record<Suffix, SettingSource>>>;

/** The suffixes of the OTLP exporter variables (`OTEL_EXPORTER_OTLP_<SUFFIX>`). */
export type Suffix = typeof SUFFIXES[number];

/**
 * The per-signal value, else the generic one (from `generic` when given there, else from the
 * generic variable), else undefined.
 */
function pick(
  env: EnvReader,
  signal: OtlpSignal,
  suffix: Suffix,
  generic: GenericSettings,
): SettingSource | undefined {
  const candidates: (SettingSource | undefined)[] = [
    fromEnv(env, variable(signal, suffix)),
    generic[suffix] ?? fromEnv(env, variable(undefined, suffix)),
  ];
  return candidates.find((c) => c !== undefined && c.value.trim() !== "");
}

function fromEnv(env: EnvReader, name: string): SettingSource | undefined {
  const value = env(name)?.trim();
  return value === undefined || value === "" ? undefined : { value, name };
}

/**
 * Parses a headers variable: comma-separated `key=value` pairs (W3C baggage style), each key and
 * value URL-decoded and trimmed; keys are lower-cased.
 *
 * @param text the variable's value
 * @param name the variable's name, for error messages
 * @throws ConfigError when an entry has no `=`, an empty key, or bad percent-encoding
 */
export function parseOtlpHeaders(text: string, name: string): Record<string, string> {
  const headers: Record<string, string> = {};
  // Values are often credentials: messages name an entry by its position and key, never its value.
  for (const [i, entry] of text.split(",").entries()) {
    if (entry.trim() === "") continue;
    const which = `entry ${i + 1}`;
    const eq = entry.indexOf("=");
    if (eq < 0) throw new ConfigError(`${name}: ${which} is not of the form key=value`, name);
    let key: string, value: string;
    try {
      key = decodeURIComponent(entry.slice(0, eq)).trim().toLowerCase();
      value = decodeURIComponent(entry.slice(eq + 1)).trim();
    } catch {
      throw new ConfigError(`${name}: ${which} has invalid percent-encoding`, name);
    }
    if (key === "") throw new ConfigError(`${name}: ${which} has an empty key`, name);
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(key)) {
      throw new ConfigError(`${name}: ${which}: "${key}" is not a valid header name`, name);
    }
    headers[key] = value;
  }
  return headers;
}

function parseProtocol(value: string, name: string): OtlpProtocol {
  if (value === "grpc" || value === "http/protobuf") return value;
  if (value === "http/json") {
    throw new ConfigError(
      `${name}: protocol "http/json" is not supported; use "http/protobuf" or "grpc"`,
      name,
    );
  }
  throw new ConfigError(`${name}: unknown protocol "${value}"; expected "http/protobuf" or "grpc"`, name);
}

function parseCompression(value: string, name: string): OtlpCompression {
  if (value === "gzip" || value === "none") return value;
  throw new ConfigError(`${name}: unknown compression "${value}"; expected "gzip" or "none"`, name);
}

function parseTimeout(value: string, name: string): number {
  if (!/^\d+$/.test(value)) {
    throw new ConfigError(`${name}: "${value}" is not a whole number of milliseconds`, name);
  }
  const ms = Number(value);
  if (!Number.isSafeInteger(ms)) throw new ConfigError(`${name}: ${value} milliseconds is too large`, name);
  return ms;
}

function parseUrl(value: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}: "${value}" is not a URL (expected e.g. http://host:4318)`, name);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${name}: scheme "${url.protocol}" is not supported; use http or https`, name);
  }
  return url;
}

/** Appends `v1/<signal>` to the path of a generic HTTP endpoint (keeping any path prefix). */
function withSignalPath(url: URL, signal: OtlpSignal): string {
  const base = url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`;
  url.pathname = `${base}v1/${signal}`;
  return url.href;
}

/**
 * Resolves the OTLP settings of one signal from the environment.
 *
 * @param signal which signal's variables take precedence over the generic ones
 * @param env reads one variable (e.g. `Deno.env.get`); only {@link OTLP_ENV_NAMES} are read
 * @param generic generic settings resolved elsewhere (configuration), replacing generic variables
 * @throws ConfigError naming the variable when a value is invalid
 */
export function resolveOtlpSettings(
  signal: OtlpSignal,
  env: EnvReader,
  generic: GenericSettings = {},
): OtlpSettings {
  const protocolVar = pick(env, signal, "PROTOCOL", generic);
  const protocol = protocolVar === undefined
    ? "http/protobuf"
    : parseProtocol(protocolVar.value, protocolVar.name);

  const endpointVar = pick(env, signal, "ENDPOINT", generic);
  let endpoint: string;
  if (endpointVar === undefined) {
    const url = new URL(DEFAULT_ENDPOINTS[protocol]);
    endpoint = protocol === "grpc" ? url.origin : withSignalPath(url, signal);
  } else {
    const url = parseUrl(endpointVar.value, endpointVar.name);
    const perSignal = endpointVar.name === variable(signal, "ENDPOINT");
    endpoint = protocol === "http/protobuf" && !perSignal ? withSignalPath(url, signal) : url.href;
  }

  const headersVar = pick(env, signal, "HEADERS", generic);
  const compressionVar = pick(env, signal, "COMPRESSION", generic);
  const timeoutVar = pick(env, signal, "TIMEOUT", generic);
  const certificateVar = pick(env, signal, "CERTIFICATE", generic);
  return {
    signal,
    protocol,
    endpoint,
    headers: headersVar === undefined ? {} : parseOtlpHeaders(headersVar.value, headersVar.name),
    compression: compressionVar === undefined
      ? "none"
      : parseCompression(compressionVar.value, compressionVar.name),
    timeoutMs: timeoutVar === undefined
      ? DEFAULT_TIMEOUT_MS
      : parseTimeout(timeoutVar.value, timeoutVar.name),
    ...(certificateVar === undefined ? {} : { certificateFile: certificateVar.value }),
  };
}
