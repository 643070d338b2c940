/**
 * pgquerylens as a library: load a configuration, run collection cycles, and encode snapshots; read
 * pg_querylens records from a server's shared memory or over SQL.
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
export { QUERYLENS_EVENT_TYPES } from "./src/core/querylens_catalog.ts";
export { openRingReader, QueryLensReaderError } from "./src/extensions/querylens_ffi.ts";
export type { DrainResult, RingReader, RingReaderOptions } from "./src/extensions/querylens_ffi.ts";
export { decodeRecord, WAIT_CLASSES } from "./src/extensions/querylens_record.ts";
export type { QueryLensRecord } from "./src/extensions/querylens_record.ts";
export { readQueryLensInfo, readQueryLensRecords } from "./src/extensions/querylens_sql.ts";
export type { QueryLensInfo } from "./src/extensions/querylens_sql.ts";
export { VERSION } from "./src/version.ts";
