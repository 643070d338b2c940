/**
 * Environment variables: each option is preset from its variable when that is non-empty
 * (nri-postgresql's upper-case names, `PGQUERYLENS_*` for the collector's own options).
 *
 * The collector runs with `--allow-env` limited to {@link ENV_NAMES}, so the environment is read
 * only through an injected function and only for those names.
 *
 * @module
 */

import { OPTIONS } from "./defaults.ts";
import { GRPC_LIBRARY_ENV_NAMES, OTLP_ENV_NAMES } from "../otel_adapter/transport/endpoint.ts";

/** Reads one environment variable (e.g. `Deno.env.get`). */
export type EnvReader = (name: string) => string | undefined;

/**
 * Variables the PostgreSQL driver (postgres.js) reads whatever its options say: PGAPPNAME (the
 * collector's own application_name always overrides it) and PGTARGETSESSIONATTRS (honoured as
 * libpq does). Every other PG* variable is shadowed by explicit options and never read.
 */
export const DRIVER_ENV_NAMES: readonly string[] = ["PGAPPNAME", "PGTARGETSESSIONATTRS"];

/**
 * Variables the YAML parser (for CUSTOM_METRICS_CONFIG) reads on every parse to switch on its own
 * debug printing to stdout, which would corrupt the protocol output. The collector removes them
 * from its environment at startup ({@link clearParserEnv}), so they are never honoured.
 */
export const PARSER_ENV_NAMES: readonly string[] = ["LOG_TOKENS", "LOG_STREAM"];

/**
 * Every environment variable the collector may read (its options, the driver's, the parser's, the
 * OTLP exporter's per-signal forms and those gRPC reads); the `env` permission of the compiled
 * collector lists exactly these.
 */
export const ENV_NAMES: readonly string[] = [
  ...new Set([
    ...OPTIONS.flatMap((o) => (o.env === undefined ? [] : [o.env])),
    ...DRIVER_ENV_NAMES,
    ...PARSER_ENV_NAMES,
    ...OTLP_ENV_NAMES,
    ...GRPC_LIBRARY_ENV_NAMES,
  ]),
];

/** Removes {@link PARSER_ENV_NAMES} from the process environment (`remove` is `Deno.env.delete`). */
export function clearParserEnv(remove: (name: string) => void): void {
  for (const name of PARSER_ENV_NAMES) remove(name);
}

/** Raw value of every option whose variable is set and non-empty, by option name. */
export function readEnv(getEnv: EnvReader): Map<string, string> {
  const values = new Map<string, string>();
  for (const o of OPTIONS) {
    if (o.env === undefined) continue;
    const value = getEnv(o.env);
    if (value !== undefined && value !== "") values.set(o.name, value);
  }
  return values;
}
