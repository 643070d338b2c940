/**
 * The CUSTOM_METRICS_CONFIG file: a YAML mapping whose only key, `queries`, lists query
 * definitions, each with the keys
 *
 * | Key | Required | Meaning |
 * | --- | --- | --- |
 * | `query` | yes | the SQL to run (one statement), a non-empty string |
 * | `database` | no | database to run it in; DATABASE when absent, null or empty |
 * | `metric_types` | no | mapping of column name to `gauge`, `rate`, `delta`, `prate`, `pdelta` or `attribute` (any case) |
 * | `sample_name` | no | event type of its samples; `PostgresqlCustomSample` when absent, null or empty |
 *
 * The file is read and checked once, at start-up. Anything else — a syntax error, an unknown key,
 * a value of the wrong type, an unknown source type, an event type name New Relic would not
 * accept (letters, digits, `_` and `:`, at most 255 characters) — is a {@link ConfigError} naming the
 * file, the item (`queries[2]`) and the key. nri-postgresql ignored unknown keys and logged a bad
 * file only when it came to run it; this collector refuses to start instead.
 *
 * @module
 */

import { readFailure } from "../../config/read_failure.ts";
import { parseDocument } from "yaml";
import type { SourceType } from "../../core/model.ts";
import type { TextFileReader } from "../../config/file.ts";
import { ConfigError } from "../../config/types.ts";
import { SOURCE_TYPES, sourceTypeOf } from "./values.ts";

/** Event type of custom config samples without a `sample_name`. */
export const DEFAULT_CUSTOM_SAMPLE = "PostgresqlCustomSample";

/** One query of the CUSTOM_METRICS_CONFIG file, checked. */
export interface CustomQueryDef {
  /** The SQL to run (one statement). */
  query: string;
  /** Database to run it in; undefined for the main DATABASE. */
  database?: string;
  /** Source type by column name; columns not named here are typed by their SQL type. */
  metricTypes: ReadonlyMap<string, SourceType>;
  /** Event type of its samples. */
  sampleName: string;
}

/** The configuration key of the file, as named in messages. */
const KEY = "custom_metrics_config";

const ITEM_KEYS = ["query", "database", "metric_types", "sample_name"];

const EVENT_TYPE = /^[A-Za-z0-9_:]{1,255}$/;

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The YAML kind of a parsed value, as named in messages. */
export function yamlKindOf(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "list";
  if (typeof value === "object") return "mapping";
  return typeof value;
}

/** `parent.key`, or `parent["odd key"]` for a key that is not a plain name. */
function child(parent: string, key: string): string {
  return PLAIN_NAME.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return yamlKindOf(value) === "mapping";
}

/**
 * Reads and checks the CUSTOM_METRICS_CONFIG file at `path` (see the module documentation).
 *
 * @throws {ConfigError} naming the path when the file cannot be read or is invalid
 */
export function loadCustomQueries(path: string, readTextFile: TextFileReader): CustomQueryDef[] {
  let text: string;
  try {
    text = readTextFile(path);
  } catch (err) {
    throw new ConfigError(`${KEY} ${path}: cannot read the file: ${readFailure(err)}`, KEY);
  }
  return parseCustomQueries(text, path);
}

/**
 * Parses and checks the text of a CUSTOM_METRICS_CONFIG file; `path` only names it in messages.
 *
 * @throws {ConfigError} on a YAML error (with line and column), or an invalid structure or value
 */
export function parseCustomQueries(text: string, path: string): CustomQueryDef[] {
  const fail = (where: string, problem: string): never => {
    throw new ConfigError(`${KEY} ${path}: ${where ? `${where}: ` : ""}${problem}`, KEY);
  };
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const [first] = [...doc.errors, ...doc.warnings];
  if (first) {
    const at = first.linePos ? ` at line ${first.linePos[0].line}, column ${first.linePos[0].col}` : "";
    const reason = first.code === "MULTIPLE_DOCS"
      ? "the file holds more than one YAML document"
      : first.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    fail("", `YAML error${at}: ${reason}`);
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    fail("", `YAML error: ${(err as Error).message}`);
  }
  if (root === null || root === undefined) {
    fail("", "the file is empty (expected a mapping with a queries list)");
  }
  if (!isMapping(root)) fail("", `the file must be a mapping with a queries list, got a ${yamlKindOf(root)}`);
  const top = root as Record<string, unknown>;
  for (const key of Object.keys(top)) {
    if (key !== "queries") fail("", `unknown key ${JSON.stringify(key)} (the only key is queries)`);
  }
  if (!Object.hasOwn(top, "queries")) fail("queries", "missing (a list of query definitions is required)");
  const queries = top.queries;
  if (!Array.isArray(queries)) {
    fail("queries", `must be a list of query definitions, got a ${yamlKindOf(queries)}`);
  }
  return (queries as unknown[]).map((item, i) => checkItem(item, `queries[${i}]`, fail));
}

function checkItem(
  item: unknown,
  where: string,
  fail: (where: string, problem: string) => never,
): CustomQueryDef {
  if (!isMapping(item)) {
    return fail(
      where,
      `must be a mapping with a query (and optionally ${ITEM_KEYS.slice(1).join(", ")}), ` +
        `got a ${yamlKindOf(item)}`,
    );
  }
  for (const key of Object.keys(item)) {
    if (!ITEM_KEYS.includes(key)) {
      fail(where, `unknown key ${JSON.stringify(key)} (expected ${ITEM_KEYS.join(", ")})`);
    }
  }
  const query = item.query;
  if (query === undefined || query === null) fail(`${where}.query`, "missing (the SQL to run is required)");
  if (typeof query !== "string") fail(`${where}.query`, `must be a string, got a ${yamlKindOf(query)}`);
  if ((query as string).trim() === "") fail(`${where}.query`, "must not be empty");
  const def: CustomQueryDef = {
    query: query as string,
    metricTypes: checkMetricTypes(item.metric_types, `${where}.metric_types`, fail),
    sampleName: DEFAULT_CUSTOM_SAMPLE,
  };
  const database = optionalString(item.database, `${where}.database`, fail);
  if (database !== undefined) def.database = database;
  const sampleName = optionalString(item.sample_name, `${where}.sample_name`, fail);
  if (sampleName !== undefined) {
    if (!EVENT_TYPE.test(sampleName)) {
      fail(
        `${where}.sample_name`,
        `${JSON.stringify(sampleName)} is not a valid event type name ` +
          `(letters, digits, "_" and ":" only, at most 255 characters)`,
      );
    }
    def.sampleName = sampleName;
  }
  return def;
}

/** A string value, or undefined when absent, null or empty. */
function optionalString(
  value: unknown,
  where: string,
  fail: (where: string, problem: string) => never,
): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") fail(where, `must be a string, got a ${yamlKindOf(value)}`);
  return value as string;
}

function checkMetricTypes(
  value: unknown,
  where: string,
  fail: (where: string, problem: string) => never,
): Map<string, SourceType> {
  const types = new Map<string, SourceType>();
  if (value === undefined || value === null) return types;
  if (!isMapping(value)) {
    fail(where, `must be a mapping of column name to source type, got a ${yamlKindOf(value)}`);
  }
  for (const [column, name] of Object.entries(value as Record<string, unknown>)) {
    if (column === "") fail(where, "a column name must not be empty");
    const at = child(where, column);
    if (typeof name !== "string") {
      fail(at, `must be one of ${SOURCE_TYPES.join(", ")}, got a ${yamlKindOf(name)}`);
    }
    const type = sourceTypeOf(name as string);
    if (type === undefined) fail(at, `${JSON.stringify(name)} is not one of ${SOURCE_TYPES.join(", ")}`);
    types.set(column, type!);
  }
  return types;
}
