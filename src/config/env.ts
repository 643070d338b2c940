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

/** Reads one environment variable (e.g. `Deno.env.get`). */
export type EnvReader = (name: string) => string | undefined;

/**
 * Variables the PostgreSQL driver (postgres.js) reads whatever its options say: PGAPPNAME (the
 * collector's own application_name always overrides it) and PGTARGETSESSIONATTRS (honoured as
 * libpq does). Every other PG* variable is shadowed by explicit options and never read.
 */
export const DRIVER_ENV_NAMES: readonly string[] = ["PGAPPNAME", "PGTARGETSESSIONATTRS"];

/**
 * Every environment variable the collector may read; the `env` permission of the compiled
 * collector lists exactly these.
 */
export const ENV_NAMES: readonly string[] = [
  ...OPTIONS.flatMap((o) => (o.env === undefined ? [] : [o.env])),
  ...DRIVER_ENV_NAMES,
];

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
