/**
 * Configuration of the collector: options from flags (Go syntax, nri-postgresql names), the
 * environment and a TOML file, with defaults, validation and redaction.
 *
 * @example
 * ```ts
 * import { loadConfig, redactConfig } from "./mod.ts";
 * const { config, warnings } = loadConfig(Deno.args, {
 *   env: (name) => Deno.env.get(name),
 *   readTextFile: (path) => Deno.readTextFileSync(path),
 * });
 * for (const w of warnings) console.error(w);
 * console.error(JSON.stringify(redactConfig(config)));
 * ```
 *
 * @module
 */

export * from "./types.ts";
export { defaultConfig, findFlag, findOption, OPTIONS } from "./defaults.ts";
export type { OptionSpec, TomlType } from "./defaults.ts";
export { parseBool, parseDuration, parseFlags, usage, wantsHelp } from "./flags.ts";
export type { ParsedFlags } from "./flags.ts";
export { clearParserEnv, ENV_NAMES, readEnv } from "./env.ts";
export type { EnvReader } from "./env.ts";
export { parseConfigToml, readConfigFile, tomlTypeOf } from "./file.ts";
export type { TextFileReader } from "./file.ts";
export {
  collectionDatabases,
  MAX_QUERY_COUNT_THRESHOLD,
  MISSING_CREDENTIALS,
  parseCollectionList,
  validateConfig,
} from "./validate.ts";
export type { CollectionList, OriginOf } from "./validate.ts";
export { loadConfig } from "./load.ts";
export type { LoadedConfig, LoadOptions } from "./load.ts";
export { redactConfig, REDACTED, scrubSecrets } from "./redact.ts";
