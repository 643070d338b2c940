/**
 * Command-line flags in Go `flag` syntax, as nri-postgresql accepts them: `-name=value`,
 * `--name=value`, `-name value`, and a bare `-name` for a boolean (true). `--` ends the flags.
 * Also the value syntaxes flags share with the environment: Go booleans and Go durations.
 *
 * @module
 */

import { findFlag, OPTIONS } from "./defaults.ts";
import { ConfigError } from "./types.ts";

const TRUE_WORDS = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_WORDS = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * Parses a boolean the way Go's `strconv.ParseBool` does (1, t, T, TRUE, true, True and their
 * false counterparts); `undefined` for anything else.
 */
export function parseBool(raw: string): boolean | undefined {
  if (TRUE_WORDS.has(raw)) return true;
  if (FALSE_WORDS.has(raw)) return false;
  return undefined;
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3,
  "\u03bcs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const BARE_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const DURATION_PART = /(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;

/**
 * Parses a duration and returns it in `unit` (seconds or milliseconds): Go `time.ParseDuration`
 * syntax (`6m`, `1h30m`, `1.5s`, `500ms`, optional sign), or a bare number counted in `unit`.
 * Returns `undefined` when `raw` is neither.
 */
export function parseDuration(raw: string, unit: "s" | "ms"): number | undefined {
  if (BARE_NUMBER.test(raw)) return Number(raw);
  let rest = raw;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "") return undefined;
  let ms = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < rest.length) {
    const match = DURATION_PART.exec(rest);
    if (match === null) return undefined;
    ms += Number(match[1]) * UNIT_MS[match[2]];
  }
  const value = sign * ms;
  return unit === "ms" ? value : value / 1000;
}

/** Result of scanning a command line. */
export interface ParsedFlags {
  /** Raw value of every flag given, by option name (a bare boolean flag gives "true"). */
  values: Map<string, string>;
  /** Whether `-h` or `-help` was met (parsing stops there, as in Go). */
  help: boolean;
}

/**
 * Parses `argv` in Go `flag` syntax. Later occurrences of a flag win. A non-boolean flag without
 * `=` takes the next argument as its value, whatever it looks like. Booleans are checked here.
 *
 * @throws {ConfigError} on an unknown flag, a flag without its value, a bad boolean, a malformed
 * flag, or an argument that is not a flag (values are not echoed, as one may be a password).
 */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      if (i + 1 < argv.length) throw positional(i + 1);
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") throw positional(i);
    const body = arg.slice(arg[1] === "-" ? 2 : 1);
    if (body === "" || body[0] === "-" || body[0] === "=") {
      throw new ConfigError(`malformed flag "${arg.split("=")[0]}" (expected -name or -name=value)`);
    }
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    if (name === "h" || name === "help") return { values, help: true };
    const spec = findFlag(name);
    if (spec === undefined) throw new ConfigError(`unknown flag -${name}`, name);
    let value: string;
    if (eq >= 0) {
      value = body.slice(eq + 1);
    } else if (spec.kind === "bool") {
      value = "true";
    } else if (i + 1 < argv.length) {
      value = argv[++i];
    } else {
      throw new ConfigError(`flag -${name} needs a value`, name);
    }
    if (spec.kind === "bool" && parseBool(value) === undefined) {
      throw new ConfigError(
        `invalid boolean value "${value}" for flag -${name} (use true or false, as -${name}=false)`,
        name,
      );
    }
    values.set(name, value);
  }
  return { values, help: false };
}

function positional(index: number): ConfigError {
  return new ConfigError(
    `unexpected argument #${index + 1}: not a flag (a boolean flag takes a value only as -name=value)`,
  );
}

/** Whether `argv` asks for the usage text (`-h`, `-help`, `--help`) before any error. */
export function wantsHelp(argv: readonly string[]): boolean {
  try {
    return parseFlags(argv).help;
  } catch {
    return false;
  }
}

/** Usage text listing every flag with its environment variable. */
export function usage(program: string): string {
  const lines = [`Usage of ${program}:`];
  for (const o of OPTIONS) {
    if (!o.flag) continue;
    const arg = o.kind === "bool" ? "" : " value";
    lines.push(`  -${o.name}${arg}`);
    lines.push(`        ${o.help}${o.env ? ` (env ${o.env})` : ""}`);
  }
  return lines.join("\n") + "\n";
}
