/**
 * The TOML configuration file. Top-level keys are the flag names; the collector's session,
 * EXPLAIN, activity-sampling, OTLP and pg_querylens settings live in the tables `[session]`,
 * `[explain]`, `[activity_sampling]`, `[otel]`, `[querylens]` (with its array of tables
 * `[[querylens.rules]]`), `[ash]`, `[plans]`, `[os]` and `[ebpf]`. Unknown keys and wrong types are errors.
 *
 * Values are normalized to the text a flag would carry (`5432`, `true`, a JSON array), so
 * every source goes through the same parsing afterwards. Inside arrays and tables, an integer
 * beyond what a JSON number holds exactly (±2^53) becomes a decimal string, so 64-bit query ids
 * keep every digit.
 *
 * @module
 */

import { readFailure } from "./read_failure.ts";
import { parse, TomlDate, TomlError } from "smol-toml";
import { OPTIONS, type OptionSpec, type TomlType } from "./defaults.ts";
import { ConfigError } from "./types.ts";

/** Reads a whole text file (e.g. `Deno.readTextFileSync`). */
export type TextFileReader = (path: string) => string;

const TABLES = new Set(OPTIONS.flatMap((o) => (o.file?.includes(".") ? [o.file.split(".")[0]] : [])));

/** The TOML type of a parsed value, as named in messages. */
export function tomlTypeOf(value: unknown): TomlType {
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "bigint") return "integer";
  if (typeof value === "number") return "float";
  if (Array.isArray(value)) return "array";
  if (value instanceof TomlDate) return "datetime";
  return "table";
}

/**
 * Reads and parses the configuration file at `path`.
 *
 * @returns the raw value of every option the file sets, by option name
 * @throws {ConfigError} naming the path when the file cannot be read or is invalid
 */
export function readConfigFile(path: string, readTextFile: TextFileReader): Map<string, string> {
  let text: string;
  try {
    text = readTextFile(path);
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${readFailure(err)}`, "config");
  }
  return parseConfigToml(text, path);
}

/**
 * Parses the text of a configuration file; `path` only names the file in messages.
 *
 * @returns the raw value of every option the file sets, by option name
 * @throws {ConfigError} on a TOML syntax error (file, line and column, without the text around
 * it, which may hold a password), an unknown key, or a value of the wrong type
 */
export function parseConfigToml(text: string, path: string): Map<string, string> {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text, { integersAsBigInt: true, unsafeKeyBehaviour: "throw" });
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = err.message.split("\n")[0].replace(/^Invalid TOML document:\s*/, "");
    throw new ConfigError(
      `config file ${path}: TOML syntax error at line ${err.line}, column ${err.column}: ${reason}`,
      "config",
    );
  }
  const values = new Map<string, string>();
  for (const [key, value] of Object.entries(doc)) {
    if (TABLES.has(key)) {
      if (tomlTypeOf(value) !== "table") {
        const same = OPTIONS.find((o) => o.name === key && o.file !== undefined);
        const hint = same === undefined
          ? ""
          : ` (set it as ${same.file!.split(".")[1]} in the [${key}] table)`;
        throw new ConfigError(
          `config file ${path}: key "${key}" must be a table, got ${tomlTypeOf(value)}${hint}`,
          key,
        );
      }
      for (const [sub, subValue] of Object.entries(value as Record<string, unknown>)) {
        take(values, `${key}.${sub}`, subValue, path);
      }
    } else if (key.includes(".")) {
      throw unknownKey(key, path);
    } else {
      take(values, key, value, path);
    }
  }
  return values;
}

function take(values: Map<string, string>, fileKey: string, value: unknown, path: string): void {
  const spec = OPTIONS.find((o) => o.file === fileKey);
  if (spec === undefined) throw unknownKey(fileKey, path);
  const type = tomlTypeOf(value);
  if (!spec.fileTypes.includes(type)) {
    throw new ConfigError(
      `config file ${path}: key "${fileKey}" must be ${spec.fileTypes.join(" or ")}, got ${type}`,
      spec.name,
    );
  }
  values.set(spec.name, toRaw(value, type));
}

function unknownKey(fileKey: string, path: string): ConfigError {
  const same: OptionSpec | undefined = OPTIONS.find((o) => o.name === fileKey);
  let hint = "";
  if (same?.file !== undefined) {
    const [table, key] = same.file.split(".");
    hint = ` (set it as ${key} in the [${table}] table)`;
  } else if (same !== undefined) {
    hint = " (it can only be given as a flag or environment variable)";
  }
  return new ConfigError(`config file ${path}: unknown key "${fileKey}"${hint}`, fileKey);
}

function toRaw(value: unknown, type: TomlType): string {
  if (type === "string") return value as string;
  if (type === "array" || type === "table") return JSON.stringify(toJson(value));
  return String(value);
}

function toJson(value: unknown): unknown {
  if (typeof value === "bigint") {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (value instanceof TomlDate) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}
