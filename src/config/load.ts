/**
 * Loading the configuration: command-line flags over environment variables over the TOML file
 * (`-config` or `PGQUERYLENS_CONFIG`) over the defaults, then validation.
 *
 * @module
 */

import { readFailure } from "./read_failure.ts";
import { defaultConfig, OPTIONS, type OptionSpec } from "./defaults.ts";
import { type EnvReader, readEnv } from "./env.ts";
import { readConfigFile, type TextFileReader } from "./file.ts";
import { parseBool, parseDuration, parseFlags } from "./flags.ts";
import { scrubSecrets } from "./redact.ts";
import { type Config, ConfigError } from "./types.ts";
import { validateConfig } from "./validate.ts";

/** Where {@link loadConfig} reads the environment and files. */
export interface LoadOptions {
  /** Reads one environment variable; called only for names in `ENV_NAMES`. */
  env: EnvReader;
  /** Reads a whole text file (the config file, the password file). */
  readTextFile: TextFileReader;
}

/** A loaded configuration and the warnings about values that were corrected. */
export interface LoadedConfig {
  /** The validated configuration. */
  config: Config;
  /** Human-readable warnings (not printed here). */
  warnings: string[];
}

/** One source of raw option values. */
interface Layer {
  values: Map<string, string>;
  describe: (spec: OptionSpec) => string;
}

/** The value an option takes and where it came from. */
interface Winner {
  raw: string;
  origin: string;
  rank: number;
}

/**
 * Loads and validates the configuration from `argv` (without the program name), the
 * environment and the TOML file. With `-h`/`-help` in `argv` it fails: callers check
 * `wantsHelp(argv)` (flags.ts) first and print `usage()`.
 *
 * @throws {ConfigError} naming the key and the problem; no message contains the password
 */
export function loadConfig(argv: readonly string[], opts: LoadOptions): LoadedConfig {
  const secrets = new Set<string>(passwordsInArgv(argv));
  try {
    return load(argv, opts, secrets);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(scrubSecrets(err.message, secrets), err.key);
    throw err;
  }
}

function load(argv: readonly string[], opts: LoadOptions, secrets: Set<string>): LoadedConfig {
  const flags = parseFlags(argv);
  if (flags.help) throw new ConfigError("usage requested with -help", "help");
  const env = readEnv(opts.env);
  const envPassword = env.get("password");
  if (envPassword !== undefined) secrets.add(envPassword);

  const configPath = flags.values.get("config") ?? env.get("config") ?? "";
  const file = configPath === "" ? new Map<string, string>() : readConfigFile(configPath, opts.readTextFile);
  const filePassword = file.get("password");
  if (filePassword !== undefined) secrets.add(filePassword);

  const layers: Layer[] = [
    { values: file, describe: (o) => `key "${o.file}" in config file ${configPath}` },
    { values: env, describe: (o) => `environment variable ${o.env}` },
    { values: flags.values, describe: (o) => `flag -${o.name}` },
  ];
  const winner = (spec: OptionSpec): Winner | undefined => {
    for (let rank = layers.length - 1; rank >= 0; rank--) {
      const raw = layers[rank].values.get(spec.name);
      if (raw !== undefined) return { raw, origin: layers[rank].describe(spec), rank };
    }
    return undefined;
  };

  // The password file is read first so that no later message can repeat its content.
  const passwordFile = resolvePasswordFile(winner);
  const filedPassword = passwordFile && readPasswordFile(passwordFile, opts.readTextFile);
  if (filedPassword !== undefined) secrets.add(filedPassword);

  const config = defaultConfig();
  const origins = new Map<string, string>();
  for (const spec of OPTIONS) {
    const won = winner(spec);
    if (won === undefined || spec.kind === "loader") continue;
    apply(config, spec, won);
    origins.set(spec.name, won.origin);
  }
  if (passwordFile !== undefined && filedPassword !== undefined) {
    config.password = filedPassword;
    origins.set("password", passwordFile.origin);
  }
  return validateConfig(config, (key) => origins.get(key));
}

/** The password file to read, when it outranks a password given directly. */
function resolvePasswordFile(winner: (spec: OptionSpec) => Winner | undefined): Winner | undefined {
  const byName = (name: string) => OPTIONS.find((o) => o.name === name) as OptionSpec;
  const pf = winner(byName("password_file"));
  if (pf === undefined || pf.raw === "") return undefined;
  const pw = winner(byName("password"));
  if (pw === undefined || pf.rank > pw.rank) return pf;
  if (pf.rank < pw.rank) return undefined;
  throw new ConfigError(
    `password_file (${pf.origin}): set either password or password_file, not both`,
    "password_file",
  );
}

function readPasswordFile(pf: Winner, readTextFile: TextFileReader): string {
  let text: string;
  try {
    text = readTextFile(pf.raw);
  } catch (err) {
    throw new ConfigError(
      `password_file (${pf.origin}): cannot read ${pf.raw} (${readFailure(err)})`,
      "password_file",
    );
  }
  return text.replace(/[\r\n]+$/, "");
}

/** Parses `won.raw` as `spec` says and stores it in `config`. */
function apply(config: Config, spec: OptionSpec, won: Winner): void {
  const { raw, origin } = won;
  const bad = (problem: string) => new ConfigError(`${spec.name} (${origin}): ${problem}`, spec.name);
  switch (spec.kind) {
    case "string":
      spec.set(config, raw);
      return;
    case "bool": {
      const value = parseBool(raw);
      if (value === undefined) throw bad(`invalid boolean value "${raw}" (use true or false)`);
      spec.set(config, value);
      return;
    }
    case "int":
      if (!/^[+-]?\d+$/.test(raw)) throw bad(`"${raw}" is not an integer`);
      spec.set(config, Number(raw));
      return;
    case "number": {
      const text = raw.trim();
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw bad(`"${raw}" is not a number`);
      spec.set(config, Number(text));
      return;
    }
    case "duration": {
      const value = parseDuration(raw, spec.unit);
      if (value === undefined) {
        const bare = spec.unit === "s" ? "seconds" : "milliseconds";
        throw bad(`"${raw}" is not a duration (like 15s, 1m30s, 500ms, or a number of ${bare})`);
      }
      spec.set(config, value);
      return;
    }
    case "list":
      spec.set(config, parseStringArray(raw, bad));
      return;
    case "choice": {
      const word = raw.trim().toLowerCase();
      if (!spec.choices.includes(word)) throw bad(`must be one of ${spec.choices.join(", ")}, got "${raw}"`);
      spec.set(config, word);
      return;
    }
    case "loader":
      return;
  }
}

function parseStringArray(raw: string, bad: (problem: string) => ConfigError): string[] {
  if (raw.trim() === "") return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw bad('must be a JSON array of strings, like ["a","b"] (not JSON)');
  }
  if (json === null) return [];
  if (!Array.isArray(json) || !json.every((n) => typeof n === "string")) {
    throw bad('must be a JSON array of strings, like ["a","b"]');
  }
  return json;
}

/** Values given to `-password` in `argv`, so that no message can repeat them. */
function passwordsInArgv(argv: readonly string[]): string[] {
  const found: string[] = [];
  argv.forEach((arg, i) => {
    const m = /^--?password(=(.*))?$/s.exec(arg);
    if (m === null) return;
    const value = m[1] !== undefined ? m[2] : argv[i + 1];
    if (value !== undefined) found.push(value);
  });
  return found;
}
