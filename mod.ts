/**
 * pgquerylens as a library: load a configuration, run collection cycles, and encode snapshots.
 *
 * ```ts
 * import { Collector, encodeQpmDocuments, loadConfig } from "./mod.ts";
 * ```
 *
 * @module
 */

export * from "./src/core/model.ts";
export * from "./src/core/catalog.ts";
export { createLogger, IssueReporter } from "./src/core/log.ts";
export type { Logger, LogLevel } from "./src/core/log.ts";
export { ConfigError, loadConfig, parseCollectionList } from "./src/config/mod.ts";
export type { Config, Mode } from "./src/config/mod.ts";
export { Collector } from "./src/collectors/cycle.ts";
export { initSqlParser } from "./src/query_engine/sql_text.ts";
export { encodeQpmDocuments, nriOptionsFromConfig } from "./src/nri_adapter/mod.ts";
export { runCollector } from "./src/run.ts";
export type { RunOptions } from "./src/run.ts";
export { resolveOtelSettings } from "./src/otel_adapter/settings.ts";
export type { OtelSettings } from "./src/otel_adapter/settings.ts";
export { VERSION } from "./src/version.ts";
