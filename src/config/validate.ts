/**
 * Checks of a configuration, with nri-postgresql's corrections (thresholds brought back into
 * range with a warning), and parsing of COLLECTION_LIST.
 *
 * @module
 */

import {
  type AshConfig,
  type Config,
  ConfigError,
  type EbpfConfig,
  type OsConfig,
  type PlansConfig,
  type QueryLensCmdType,
  type QueryLensConfig,
  type QueryLensRule,
  type QueryLensRuleMatch,
} from "./types.ts";
import { resolveOtelSettings } from "../otel_adapter/settings.ts";

/** Upstream's message when credentials are missing (kept verbatim for compatibility). */
export const MISSING_CREDENTIALS = "invalid configuration: must specify a username and password";

/** Largest QUERY_MONITORING_COUNT_THRESHOLD; larger values are clamped to it. */
export const MAX_QUERY_COUNT_THRESHOLD = 30;

/** PostgreSQL truncates identifiers such as `application_name` to this many bytes. */
const MAX_NAME_BYTES = 63;

/** A parsed COLLECTION_LIST. */
export type CollectionList =
  | { kind: "all" }
  | { kind: "databases"; names: string[] }
  | { kind: "explicit"; databases: Record<string, Record<string, Record<string, string[]>>> };

const LIST_FORMS =
  'expected ALL, a JSON array of database names, or a JSON object {"db":{"schema":{"table":["index"]}}}';

/**
 * Parses COLLECTION_LIST: `ALL` (any case), a JSON array of database names, or a JSON object
 * `{database: {schema: {table: [index, ...]}}}` (JSON `null` at any level counts as empty).
 *
 * @throws {ConfigError} "failed to parse collection list", naming the key `collection_list`
 */
export function parseCollectionList(raw: string): CollectionList {
  if (raw.trim().toUpperCase() === "ALL") return { kind: "all" };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw listError(`not JSON; ${LIST_FORMS}`);
  }
  if (Array.isArray(json)) {
    if (!json.every((n) => typeof n === "string")) throw listError("the array must hold only strings");
    return { kind: "databases", names: json };
  }
  if (!isObject(json)) throw listError(LIST_FORMS);
  const databases: Record<string, Record<string, Record<string, string[]>>> = {};
  for (const [db, schemas] of Object.entries(json)) {
    if (schemas !== null && !isObject(schemas)) throw listError(`database "${db}" must map to an object`);
    databases[db] = {};
    for (const [schema, tables] of Object.entries(schemas ?? {})) {
      const at = `database "${db}", schema "${schema}"`;
      if (tables !== null && !isObject(tables)) throw listError(`${at} must map to an object`);
      databases[db][schema] = {};
      for (const [table, indexes] of Object.entries(tables ?? {})) {
        const ok = indexes === null ||
          (Array.isArray(indexes) && indexes.every((i) => typeof i === "string"));
        if (!ok) throw listError(`${at}, table "${table}" must map to an array of index names`);
        databases[db][schema][table] = (indexes as string[] | null) ?? [];
      }
    }
  }
  return { kind: "explicit", databases };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function listError(detail: string): ConfigError {
  return new ConfigError(`collection_list: failed to parse collection list: ${detail}`, "collection_list");
}

/**
 * The databases a collection list names, without those in `ignore`; `"all"` when they are
 * discovered from the server (the caller then applies `ignore` to what it finds).
 */
export function collectionDatabases(list: CollectionList, ignore: readonly string[] = []): string[] | "all" {
  if (list.kind === "all") return "all";
  const names = list.kind === "databases" ? list.names : Object.keys(list.databases);
  return [...new Set(names)].filter((n) => !ignore.includes(n));
}

/** Describes where a key's value came from (e.g. "flag -port"), when known. */
export type OriginOf = (key: string) => string | undefined;

/**
 * Checks `config` and returns a corrected copy with the warnings about what was corrected.
 * With `showVersion`, the credential and TLS checks are skipped (the version is printed without
 * connecting).
 *
 * @param originOf names the source of a key in messages
 * @throws {ConfigError} naming the key and the problem
 */
export function validateConfig(
  config: Config,
  originOf: OriginOf = () => undefined,
): { config: Config; warnings: string[] } {
  const c: Config = structuredClone(config);
  const warnings: string[] = [];
  const fail = (key: string, problem: string): never => {
    const origin = originOf(key);
    throw new ConfigError(`${key}${origin ? ` (${origin})` : ""}: ${problem}`, key);
  };

  if (!c.showVersion) {
    if (c.username === "" || c.password === "") {
      throw new ConfigError(MISSING_CREDENTIALS, c.username === "" ? "username" : "password");
    }
    if (c.enableSsl && !c.trustServerCertificate && c.sslRootCertLocation === "") {
      fail(
        "ssl_root_cert_location",
        "invalid configuration: a root certificate is required when enable_ssl is true and " +
          "trust_server_certificate is false",
      );
    }
  }
  if (c.enableSsl && (c.sslCertLocation === "" || c.sslKeyLocation === "")) {
    warnings.push(
      "enable_ssl is true but ssl_cert_location or ssl_key_location is empty: no client certificate",
    );
  }

  if (c.hostname === "") fail("hostname", "must not be empty");
  if (c.database === "") fail("database", "must not be empty");
  const port = /^\d+$/.test(c.port) ? Number(c.port) : NaN;
  if (!(port >= 1 && port <= 65535)) fail("port", `must be an integer from 1 to 65535, got "${c.port}"`);
  if (!(Number.isInteger(c.timeout) && c.timeout >= 0)) {
    fail("timeout", `must be a whole number of seconds >= 0, got ${c.timeout}`);
  }

  parseCollectionList(c.collectionList);
  for (const key of ["collection_ignore_database_list", "collection_ignore_table_list"] as const) {
    const list = key === "collection_ignore_database_list"
      ? c.collectionIgnoreDatabaseList
      : c.collectionIgnoreTableList;
    if (!Array.isArray(list) || !list.every((n) => typeof n === "string")) {
      fail(key, "must be a JSON array of strings");
    }
  }

  const count = c.queryMonitoringCountThreshold;
  if (!Number.isInteger(count)) fail("query_monitoring_count_threshold", `must be an integer, got ${count}`);
  if (count < 0) {
    c.queryMonitoringCountThreshold = 20;
    warnings.push(`query_monitoring_count_threshold ${count} is negative; using 20`);
  } else if (count > MAX_QUERY_COUNT_THRESHOLD) {
    c.queryMonitoringCountThreshold = MAX_QUERY_COUNT_THRESHOLD;
    warnings.push(
      `query_monitoring_count_threshold ${count} exceeds the maximum; using ${MAX_QUERY_COUNT_THRESHOLD}`,
    );
  }
  const rt = c.queryMonitoringResponseTimeThreshold;
  if (!Number.isInteger(rt)) {
    fail("query_monitoring_response_time_threshold", `must be an integer, got ${rt}`);
  }
  if (rt < 0) {
    c.queryMonitoringResponseTimeThreshold = 1;
    warnings.push(`query_monitoring_response_time_threshold ${rt} is negative; using 1`);
  }

  if (c.tempDir === "") fail("temp_dir", "must not be empty");
  if (!(Number.isFinite(c.cacheTtlSeconds) && c.cacheTtlSeconds >= 0)) {
    fail("cache_ttl", `must be a duration >= 0, got ${c.cacheTtlSeconds}s`);
  }

  if (!["nri", "otel", "hybrid"].includes(c.mode)) {
    fail("mode", `must be nri, otel or hybrid, got "${c.mode}"`);
  }
  if (c.nriProtocol !== 3 && c.nriProtocol !== 4) {
    fail("nri_protocol", `must be 3 or 4, got ${c.nriProtocol}`);
  }
  if (c.mode !== "nri") resolveOtelSettings(c.otel, () => undefined, originOf);
  if (c.intervalSeconds !== undefined && !(Number.isFinite(c.intervalSeconds) && c.intervalSeconds > 0)) {
    fail("interval", `must be a duration > 0, got ${c.intervalSeconds}s`);
  }

  if (c.session.applicationName === "") fail("application_name", "must not be empty");
  if (new TextEncoder().encode(c.session.applicationName).length > MAX_NAME_BYTES) {
    warnings.push(`application_name is longer than ${MAX_NAME_BYTES} bytes; PostgreSQL will truncate it`);
  }
  positiveMs(c.session.statementTimeoutMs, "statement_timeout", fail);
  positiveMs(c.session.lockTimeoutMs, "lock_timeout", fail);
  positiveMs(c.explain.timeoutMs, "explain.timeout_ms", fail);
  wholeAtLeast(c.explain.maxPerCycle, 0, "explain.max_per_cycle", fail);
  wholeAtLeast(c.explain.cacheTtlSeconds, 0, "explain.cache_ttl_seconds", fail);
  positiveMs(c.activitySampling.intervalMs, "activity_sampling.interval_ms", fail);
  wholeAtLeast(c.activitySampling.samples, 1, "activity_sampling.samples", fail);
  checkQueryLens(c.querylens, fail);
  checkPlans(c.plans, fail);
  checkAsh(c.ash, fail);
  checkOs(c.os, fail);
  checkEbpf(c.ebpf, fail);

  return { config: c, warnings };
}

/** Largest `ebpf_threshold_ms` (one hour): the threshold is a latency, not a schedule. */
export const MAX_EBPF_THRESHOLD_MS = 3_600_000;

function checkEbpf(e: EbpfConfig, fail: Fail): void {
  if (typeof e.enabled !== "boolean") fail("ebpf", `must be true or false, got ${JSON.stringify(e.enabled)}`);
  if (!(Number.isFinite(e.thresholdMs) && e.thresholdMs >= 0 && e.thresholdMs <= MAX_EBPF_THRESHOLD_MS)) {
    fail(
      "ebpf_threshold_ms",
      `must be a number of milliseconds from 0 to ${MAX_EBPF_THRESHOLD_MS}, got ${e.thresholdMs}`,
    );
  }
  if (!(Number.isInteger(e.sampleEvery) && e.sampleEvery >= 1 && e.sampleEvery <= 0xffffffff)) {
    fail("ebpf_sample_every", `must be an integer from 1 to ${0xffffffff}, got ${e.sampleEvery}`);
  }
}

/** Bounds of `os_oneshot_interval_ms`: shorter intervals measure little, longer ones delay a run. */
export const OS_ONESHOT_INTERVAL_BOUNDS_MS = { min: 50, max: 10_000 } as const;

function checkOs(o: OsConfig, fail: Fail): void {
  if (!["auto", "on", "off"].includes(o.mode)) fail("os_metrics", `must be auto, on or off, got "${o.mode}"`);
  const { min, max } = OS_ONESHOT_INTERVAL_BOUNDS_MS;
  if (!(Number.isInteger(o.oneshotIntervalMs) && o.oneshotIntervalMs >= min && o.oneshotIntervalMs <= max)) {
    fail(
      "os_oneshot_interval_ms",
      `must be a whole number of milliseconds from ${min} to ${max}, got ${o.oneshotIntervalMs}`,
    );
  }
}

/** Least `ash_interval_ms`: sampling pg_stat_activity more often costs more than it tells. */
export const MIN_ASH_INTERVAL_MS = 100;

function checkAsh(a: AshConfig, fail: Fail): void {
  if (!["auto", "on", "off"].includes(a.mode)) fail("ash", `must be auto, on or off, got "${a.mode}"`);
  if (!(Number.isInteger(a.intervalMs) && a.intervalMs >= MIN_ASH_INTERVAL_MS)) {
    fail(
      "ash_interval_ms",
      `must be a whole number of milliseconds >= ${MIN_ASH_INTERVAL_MS}, got ${a.intervalMs}`,
    );
  }
  wholeAtLeast(a.retentionSeconds, 1, "ash_retention_seconds", fail);
  wholeAtLeast(a.maxSamples, 1, "ash_max_samples", fail);
  wholeAtLeast(a.oneshotSamples, 1, "ash_oneshot_samples", fail);
}

function checkPlans(p: PlansConfig, fail: Fail): void {
  wholeAtLeast(p.topQueries, 0, "plan_top_queries", fail);
  wholeAtLeast(p.dictionaryMax, 1, "plan_dictionary_max", fail);
  if (!(Number.isFinite(p.regressionRatio) && p.regressionRatio > 1)) {
    fail("plan_regression_ratio", `must be a number > 1, got ${p.regressionRatio}`);
  }
  wholeAtLeast(p.regressionMinExecutions, 1, "plan_regression_min_executions", fail);
}

/** Least `querylens_poll_ms`. */
export const MIN_QUERYLENS_POLL_MS = 5;

/** Statement kinds a rule's `match.cmd_type` accepts. */
export const QUERYLENS_CMD_TYPES: readonly QueryLensCmdType[] = [
  "select",
  "update",
  "insert",
  "delete",
  "other",
];

function checkQueryLens(q: QueryLensConfig, fail: Fail): void {
  if (!["auto", "on", "off"].includes(q.mode)) fail("querylens", `must be auto, on or off, got "${q.mode}"`);
  if (!["auto", "ffi", "sql"].includes(q.source)) {
    fail("querylens_source", `must be auto, ffi or sql, got "${q.source}"`);
  }
  if (q.slowMs !== undefined) wholeAtLeast(q.slowMs, 0, "querylens_slow_ms", fail);
  wholeAtLeast(q.ratePerSecond, 0, "querylens_rate_per_second", fail);
  wholeAtLeast(q.burst, 0, "querylens_burst", fail);
  wholeAtLeast(q.maxPerCycle, 0, "querylens_max_per_cycle", fail);
  wholeAtLeast(q.pollMs, MIN_QUERYLENS_POLL_MS, "querylens_poll_ms", fail);
  if (!Array.isArray(q.rules)) fail("querylens.rules", "must be an array of rules");
  const problem = rulesProblem(q.rules);
  if (problem !== undefined) fail("querylens.rules", problem);
}

const RULE_KEYS = new Set(["name", "priority", "rate", "bypass_rate_limit", "match"]);
const MATCH_KEYS = new Set(["database", "query_id", "min_duration_ms", "cmd_type", "toplevel"]);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Reads the `[[querylens.rules]]` of the configuration file (as the file reader hands them over:
 * JSON of the TOML array, snake_case keys) into typed rules, then checks them.
 *
 * Each rule has `name` (string, unique), `rate` (0..1), optional `priority` (integer, default 0),
 * `bypass_rate_limit` (boolean, default false) and a `match` table with optional `database`,
 * `query_id` (decimal string or integer), `min_duration_ms` (number >= 0), `cmd_type` (select,
 * update, insert, delete or other) and `toplevel` (boolean).
 *
 * @throws {ConfigError} on key `querylens.rules`, naming the rule (number from 1 and name), the key
 * and the value at fault
 */
export function parseQueryLensRules(json: unknown): QueryLensRule[] {
  const bad = (problem: string): never => {
    throw new ConfigError(`querylens.rules: ${problem}`, "querylens.rules");
  };
  if (!Array.isArray(json)) bad(`must be an array of tables ([[querylens.rules]]), got ${show(json)}`);
  const rules = (json as unknown[]).map((raw, i): QueryLensRule => {
    const at = (problem: string) => bad(`${ruleLabel(i, raw)}: ${problem}`);
    if (!isObject(raw)) return at(`must be a table, got ${show(raw)}`);
    for (const key of Object.keys(raw)) {
      if (!RULE_KEYS.has(key)) at(`unknown key "${key}" (known: ${[...RULE_KEYS].join(", ")})`);
    }
    const match: QueryLensRuleMatch = {};
    if (raw.match !== undefined) {
      if (!isObject(raw.match)) at(`match must be a table, got ${show(raw.match)}`);
      const m = raw.match as Record<string, unknown>;
      for (const key of Object.keys(m)) {
        if (!MATCH_KEYS.has(key)) at(`unknown key "match.${key}" (known: ${[...MATCH_KEYS].join(", ")})`);
      }
      if (m.database !== undefined) match.database = m.database as string;
      if (m.query_id !== undefined) {
        const id = m.query_id;
        const ok = (typeof id === "number" && Number.isSafeInteger(id)) ||
          (typeof id === "string" && /^[+-]?\d+$/.test(id.trim()));
        if (!ok) at(`match.query_id must be a decimal query id, got ${show(id)}`);
        match.queryId = BigInt(String(id).trim()).toString();
      }
      if (m.min_duration_ms !== undefined) match.minDurationMs = m.min_duration_ms as number;
      if (m.cmd_type !== undefined) {
        match.cmdType =
          (typeof m.cmd_type === "string" ? m.cmd_type.toLowerCase() : m.cmd_type) as QueryLensCmdType;
      }
      if (m.toplevel !== undefined) match.toplevel = m.toplevel as boolean;
    }
    return {
      name: raw.name as string,
      priority: (raw.priority ?? 0) as number,
      rate: raw.rate as number,
      bypassRateLimit: (raw.bypass_rate_limit ?? false) as boolean,
      match,
    };
  });
  const problem = rulesProblem(rules);
  if (problem !== undefined) bad(problem);
  return rules;
}

function ruleLabel(i: number, rule: unknown): string {
  const name = isObject(rule) && typeof rule.name === "string" ? ` ("${rule.name}")` : "";
  return `rule ${i + 1}${name}`;
}

function show(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

/** The first problem of typed rules, as `rule <n> ("<name>"): <key> …, got <value>`; undefined when none. */
function rulesProblem(rules: readonly QueryLensRule[]): string | undefined {
  const seen = new Set<string>();
  for (const [i, r] of rules.entries()) {
    const problem = ruleProblem(r, seen);
    if (problem !== undefined) return `${ruleLabel(i, r)}: ${problem}`;
    seen.add(r.name);
  }
  return undefined;
}

function ruleProblem(r: QueryLensRule, seen: ReadonlySet<string>): string | undefined {
  if (!isObject(r)) return `must be a table, got ${show(r)}`;
  if (typeof r.name !== "string" || r.name.trim() === "") {
    return `name must be a non-empty string, got ${show(r.name)}`;
  }
  if (seen.has(r.name)) return `name "${r.name}" is used by an earlier rule`;
  if (typeof r.rate !== "number" || !(r.rate >= 0 && r.rate <= 1)) {
    return `rate must be a number from 0 to 1, got ${show(r.rate)}`;
  }
  if (typeof r.priority !== "number" || !Number.isSafeInteger(r.priority)) {
    return `priority must be an integer, got ${show(r.priority)}`;
  }
  if (typeof r.bypassRateLimit !== "boolean") {
    return `bypass_rate_limit must be true or false, got ${show(r.bypassRateLimit)}`;
  }
  const m = r.match;
  if (!isObject(m)) return `match must be a table, got ${show(m)}`;
  if (m.database !== undefined && (typeof m.database !== "string" || m.database === "")) {
    return `match.database must be a non-empty string, got ${show(m.database)}`;
  }
  if (m.queryId !== undefined) {
    const id = typeof m.queryId === "string" && /^[+-]?\d+$/.test(m.queryId) ? BigInt(m.queryId) : undefined;
    if (id === undefined || id < INT64_MIN || id > INT64_MAX) {
      return `match.query_id must be a decimal 64-bit query id, got ${show(m.queryId)}`;
    }
  }
  if (
    m.minDurationMs !== undefined &&
    (typeof m.minDurationMs !== "number" || !Number.isFinite(m.minDurationMs) || m.minDurationMs < 0)
  ) {
    return `match.min_duration_ms must be a number >= 0, got ${show(m.minDurationMs)}`;
  }
  if (m.cmdType !== undefined && !(QUERYLENS_CMD_TYPES as readonly unknown[]).includes(m.cmdType)) {
    return `match.cmd_type must be one of ${QUERYLENS_CMD_TYPES.join(", ")}, got ${show(m.cmdType)}`;
  }
  if (m.toplevel !== undefined && typeof m.toplevel !== "boolean") {
    return `match.toplevel must be true or false, got ${show(m.toplevel)}`;
  }
  return undefined;
}

type Fail = (key: string, problem: string) => never;

function positiveMs(value: number, key: string, fail: Fail): void {
  if (!(Number.isInteger(value) && value > 0)) {
    fail(key, `must be a whole number of milliseconds > 0, got ${value}`);
  }
}

function wholeAtLeast(value: number, min: number, key: string, fail: Fail): void {
  if (!(Number.isInteger(value) && value >= min)) fail(key, `must be an integer >= ${min}, got ${value}`);
}
