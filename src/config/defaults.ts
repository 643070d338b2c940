/**
 * The option catalog and the default configuration.
 *
 * Every option is declared once here: its flag name (snake_case, as in nri-postgresql), the
 * environment variable that presets it, its key in the TOML file, how its text is parsed and
 * which {@link Config} field it sets. The flag parser, the environment reader, the file reader
 * and the usage text all read this table.
 *
 * @module
 */

import type { Config, Mode, QueryLensMode, QueryLensSourceChoice, TemporalityPreference } from "./types.ts";
import type { AshMode } from "./types.ts";
import type { OsMetricsMode } from "./types.ts";
import { parseQueryLensRules } from "./validate.ts";

/** Default bound of each OTLP export queue: 16 MiB of encoded requests. */
export const DEFAULT_OTEL_QUEUE_BYTES = 16 * 1024 * 1024;

/** Default configuration: nri-postgresql's defaults plus the collector's own. */
export function defaultConfig(): Config {
  return {
    username: "",
    password: "",
    hostname: "localhost",
    port: "5432",
    database: "postgres",
    timeout: 10,
    collectionList: "{}",
    collectionIgnoreDatabaseList: [],
    collectionIgnoreTableList: [],
    enableSsl: false,
    trustServerCertificate: false,
    sslRootCertLocation: "",
    sslCertLocation: "",
    sslKeyLocation: "",
    pgbouncer: false,
    collectDbLockMetrics: false,
    collectBloatMetrics: true,
    collectSystemSchemas: false,
    customMetricsQuery: "",
    customMetricsConfig: "",
    enableQueryMonitoring: false,
    queryMonitoringResponseTimeThreshold: 1,
    queryMonitoringCountThreshold: 20,
    isRds: false,
    verbose: false,
    pretty: false,
    metrics: false,
    inventory: false,
    events: false,
    metadata: false,
    nriAddHostname: false,
    nriCluster: "",
    nriService: "",
    tempDir: "/tmp/pgquerylens",
    cacheTtlSeconds: 360,
    showVersion: false,
    mode: "nri",
    nriProtocol: 3,
    compat: true,
    session: { applicationName: "pgquerylens", statementTimeoutMs: 5000, lockTimeoutMs: 1000 },
    explain: { timeoutMs: 2000, maxPerCycle: 50, cacheTtlSeconds: 3600 },
    activitySampling: { intervalMs: 200, samples: 5 },
    otel: {
      endpoint: "",
      protocol: "",
      headers: "",
      compression: "",
      timeoutMs: 0,
      certificate: "",
      serviceName: "",
      resourceAttributes: "",
      temporality: "cumulative",
      queueBytes: DEFAULT_OTEL_QUEUE_BYTES,
    },
    querylens: {
      mode: "auto",
      source: "auto",
      ratePerSecond: 20,
      burst: 100,
      maxPerCycle: 1000,
      pollMs: 25,
      rules: [],
    },
    ash: { mode: "auto", intervalMs: 1000, retentionSeconds: 3600, maxSamples: 1_000_000, oneshotSamples: 3 },
    plans: { topQueries: 20, dictionaryMax: 5000, regressionRatio: 1.5, regressionMinExecutions: 5 },
    os: { mode: "auto", oneshotIntervalMs: 200 },
    ebpf: { enabled: false, thresholdMs: 10, sampleEvery: 1 },
  };
}

/** TOML value types, as named in error messages. */
export type TomlType = "string" | "integer" | "float" | "boolean" | "array" | "table" | "datetime";

/** Fields shared by every option. */
interface OptionBase {
  /** Flag name (snake_case); also the key of the option in messages. */
  name: string;
  /** Whether the option can be given on the command line. */
  flag: boolean;
  /** Environment variable that presets it, if any. */
  env?: string;
  /** Key in the TOML file (`table.key` inside a table), if it can be set there. */
  file?: string;
  /** TOML types accepted at `file`. */
  fileTypes: readonly TomlType[];
  /** One-line description for the usage text. */
  help: string;
}

/** Plain text. */
export interface StringOption extends OptionBase {
  /** Discriminant. */
  kind: "string";
  /** Stores the value. */
  set: (config: Config, value: string) => void;
}

/** A Go `strconv.ParseBool` boolean; a bare flag means true. */
export interface BoolOption extends OptionBase {
  /** Discriminant. */
  kind: "bool";
  /** Stores the value. */
  set: (config: Config, value: boolean) => void;
}

/** A decimal integer. */
export interface IntOption extends OptionBase {
  /** Discriminant. */
  kind: "int";
  /** Stores the value. */
  set: (config: Config, value: number) => void;
}

/** A decimal number (`1.5`, `2`, `2e0`). */
export interface NumberOption extends OptionBase {
  /** Discriminant. */
  kind: "number";
  /** Stores the value. */
  set: (config: Config, value: number) => void;
}

/** A Go-style duration (`15s`, `1m30s`, `500ms`); a bare number counts in `unit`. */
export interface DurationOption extends OptionBase {
  /** Discriminant. */
  kind: "duration";
  /** Unit of the stored value and of a bare number. */
  unit: "s" | "ms";
  /** Stores the value, in `unit`. */
  set: (config: Config, value: number) => void;
}

/** A JSON array of strings. */
export interface ListOption extends OptionBase {
  /** Discriminant. */
  kind: "list";
  /** Stores the value. */
  set: (config: Config, value: string[]) => void;
}

/** One of a fixed set of words. */
export interface ChoiceOption extends OptionBase {
  /** Discriminant. */
  kind: "choice";
  /** Accepted values. */
  choices: readonly string[];
  /** Stores the value (one of `choices`). */
  set: (config: Config, value: string) => void;
}

/** An option consumed by the loader itself (the config file path, the password file path). */
export interface LoaderOption extends OptionBase {
  /** Discriminant. */
  kind: "loader";
}

/** One configuration option. */
export type OptionSpec =
  | StringOption
  | BoolOption
  | IntOption
  | NumberOption
  | DurationOption
  | ListOption
  | ChoiceOption
  | LoaderOption;

const upper = (name: string) => name.toUpperCase();

function str(name: string, help: string, set: StringOption["set"]): StringOption {
  return { kind: "string", name, flag: true, env: upper(name), file: name, fileTypes: ["string"], help, set };
}

function bool(name: string, help: string, set: BoolOption["set"]): BoolOption {
  return { kind: "bool", name, flag: true, env: upper(name), file: name, fileTypes: ["boolean"], help, set };
}

function int(name: string, help: string, set: IntOption["set"]): IntOption {
  return {
    kind: "int",
    name,
    flag: true,
    env: upper(name),
    file: name,
    fileTypes: ["integer", "string"],
    help,
    set,
  };
}

function fileInt(file: string, help: string, set: IntOption["set"]): IntOption {
  return { kind: "int", name: file, flag: false, file, fileTypes: ["integer"], help, set };
}

/** Every option, in usage order. */
export const OPTIONS: readonly OptionSpec[] = [
  str("username", "Role used to connect (required)", (c, v) => c.username = v),
  str("password", "Password of the role (required unless password_file is set)", (c, v) => c.password = v),
  str("hostname", "Host name or unix-socket directory", (c, v) => c.hostname = v),
  {
    ...str("port", "Port (1..65535)", (c, v) => c.port = v),
    fileTypes: ["integer", "string"],
  },
  str("database", "Database for the main connection", (c, v) => c.database = v),
  int("timeout", "Connect timeout in seconds (0: none)", (c, v) => c.timeout = v),
  {
    ...str(
      "collection_list",
      "JSON object, JSON array of database names, or ALL",
      (c, v) => c.collectionList = v,
    ),
    fileTypes: ["array", "table", "string"],
  },
  {
    kind: "list",
    name: "collection_ignore_database_list",
    flag: true,
    env: "COLLECTION_IGNORE_DATABASE_LIST",
    file: "collection_ignore_database_list",
    fileTypes: ["array", "string"],
    help: "JSON array of databases never collected",
    set: (c, v) => c.collectionIgnoreDatabaseList = v,
  },
  {
    kind: "list",
    name: "collection_ignore_table_list",
    flag: true,
    env: "COLLECTION_IGNORE_TABLE_LIST",
    file: "collection_ignore_table_list",
    fileTypes: ["array", "string"],
    help: "JSON array of table names never collected when tables are discovered",
    set: (c, v) => c.collectionIgnoreTableList = v,
  },
  bool("enable_ssl", "Connect with TLS", (c, v) => c.enableSsl = v),
  bool("trust_server_certificate", "With TLS, skip server certificate verification", (c, v) => {
    c.trustServerCertificate = v;
  }),
  str("ssl_root_cert_location", "PEM root CA file", (c, v) => c.sslRootCertLocation = v),
  str("ssl_cert_location", "Client certificate file", (c, v) => c.sslCertLocation = v),
  str("ssl_key_location", "Client key file", (c, v) => c.sslKeyLocation = v),
  bool("pgbouncer", "Also collect PgBouncer metrics", (c, v) => c.pgbouncer = v),
  bool(
    "collect_db_lock_metrics",
    "Collect lock-mode counts per database",
    (c, v) => c.collectDbLockMetrics = v,
  ),
  bool("collect_bloat_metrics", "Collect the table bloat estimate", (c, v) => c.collectBloatMetrics = v),
  bool(
    "collect_system_schemas",
    "With COLLECTION_LIST ALL or a list of databases, also sample the tables of system schemas",
    (c, v) => c.collectSystemSchemas = v,
  ),
  str(
    "custom_metrics_query",
    "One SQL query emitted as PgCustomQuerySample",
    (c, v) => c.customMetricsQuery = v,
  ),
  str("custom_metrics_config", "YAML file of custom queries", (c, v) => c.customMetricsConfig = v),
  bool("enable_query_monitoring", "Run Query Performance Monitoring", (c, v) => c.enableQueryMonitoring = v),
  int(
    "query_monitoring_response_time_threshold",
    "Minimum mean milliseconds of an individual query",
    (c, v) => c.queryMonitoringResponseTimeThreshold = v,
  ),
  int("query_monitoring_count_threshold", "Rows per QPM query (0..30)", (c, v) => {
    c.queryMonitoringCountThreshold = v;
  }),
  bool("is_rds", "Use the RDS/Aurora QPM pipeline", (c, v) => c.isRds = v),
  bool("verbose", "Debug logging on stderr", (c, v) => c.verbose = v),
  bool("pretty", "Indent the JSON output", (c, v) => c.pretty = v),
  bool("metrics", "Publish metrics", (c, v) => c.metrics = v),
  bool("inventory", "Publish inventory", (c, v) => c.inventory = v),
  bool("events", "Publish events", (c, v) => c.events = v),
  bool("metadata", "Add NRI_COM.NEWRELIC.POSTGRESQL_* variables as attributes", (c, v) => c.metadata = v),
  bool("nri_add_hostname", "Mark each data item with add_hostname", (c, v) => c.nriAddHostname = v),
  str("nri_cluster", "cluster_name attribute on every sample", (c, v) => c.nriCluster = v),
  str("nri_service", "service_name attribute on every sample", (c, v) => c.nriService = v),
  str("temp_dir", "Directory of the rate state", (c, v) => c.tempDir = v),
  {
    kind: "duration",
    name: "cache_ttl",
    flag: true,
    env: "CACHE_TTL",
    file: "cache_ttl",
    fileTypes: ["string", "integer", "float"],
    unit: "s",
    help: "Validity of stored rate values (duration like 6m; bare number: seconds)",
    set: (c, v) => c.cacheTtlSeconds = v,
  },
  bool("show_version", "Print the version line and exit", (c, v) => c.showVersion = v),
  {
    kind: "loader",
    name: "config",
    flag: true,
    env: "PGQUERYLENS_CONFIG",
    fileTypes: [],
    help: "TOML configuration file",
  },
  {
    kind: "choice",
    name: "mode",
    flag: true,
    env: "PGQUERYLENS_MODE",
    file: "mode",
    fileTypes: ["string"],
    choices: ["nri", "otel", "hybrid"],
    help: "Output: nri (JSON on stdout), otel (OTLP) or hybrid (both)",
    set: (c, v) => c.mode = v as Mode,
  },
  {
    kind: "duration",
    name: "interval",
    flag: true,
    env: "PGQUERYLENS_INTERVAL",
    file: "interval",
    fileTypes: ["string", "integer", "float"],
    unit: "s",
    help: "Run a cycle every interval (duration like 15s; bare number: seconds); absent: one cycle",
    set: (c, v) => c.intervalSeconds = v,
  },
  {
    kind: "choice",
    name: "nri_protocol",
    flag: true,
    env: "PGQUERYLENS_NRI_PROTOCOL",
    file: "nri_protocol",
    fileTypes: ["integer", "string"],
    choices: ["3", "4"],
    help: "NRI protocol version of the JSON output (3 or 4)",
    set: (c, v) => c.nriProtocol = v === "4" ? 4 : 3,
  },
  {
    kind: "bool",
    name: "compat",
    flag: true,
    env: "PGQUERYLENS_COMPAT",
    file: "compat",
    fileTypes: ["boolean"],
    help: "Keep the QPM event types exactly as nri-postgresql emits them",
    set: (c, v) => c.compat = v,
  },
  {
    kind: "loader",
    name: "password_file",
    flag: true,
    env: "PGQUERYLENS_PASSWORD_FILE",
    file: "password_file",
    fileTypes: ["string"],
    help: "File holding the password (a trailing newline is ignored)",
  },
  {
    kind: "string",
    name: "application_name",
    flag: true,
    env: "PGQUERYLENS_APPLICATION_NAME",
    file: "session.application_name",
    fileTypes: ["string"],
    help: "application_name of the collector's sessions",
    set: (c, v) => c.session.applicationName = v,
  },
  {
    kind: "duration",
    name: "statement_timeout",
    flag: true,
    env: "PGQUERYLENS_STATEMENT_TIMEOUT",
    file: "session.statement_timeout_ms",
    fileTypes: ["integer"],
    unit: "ms",
    help: "statement_timeout of the collector's sessions (duration; bare number: milliseconds)",
    set: (c, v) => c.session.statementTimeoutMs = v,
  },
  {
    kind: "duration",
    name: "lock_timeout",
    flag: true,
    env: "PGQUERYLENS_LOCK_TIMEOUT",
    file: "session.lock_timeout_ms",
    fileTypes: ["integer"],
    unit: "ms",
    help: "lock_timeout of the collector's sessions (duration; bare number: milliseconds)",
    set: (c, v) => c.session.lockTimeoutMs = v,
  },
  fileInt("explain.timeout_ms", "statement_timeout of one EXPLAIN, in milliseconds", (c, v) => {
    c.explain.timeoutMs = v;
  }),
  fileInt("explain.max_per_cycle", "Most EXPLAINs per cycle", (c, v) => c.explain.maxPerCycle = v),
  fileInt("explain.cache_ttl_seconds", "Seconds a captured plan is reused", (c, v) => {
    c.explain.cacheTtlSeconds = v;
  }),
  fileInt("activity_sampling.interval_ms", "Milliseconds between pg_stat_activity samples", (c, v) => {
    c.activitySampling.intervalMs = v;
  }),
  fileInt("activity_sampling.samples", "pg_stat_activity samples per cycle", (c, v) => {
    c.activitySampling.samples = v;
  }),
  ...otelOptions(),
  ...queryLensOptions(),
  ...ashOptions(),
  ...planOptions(),
  ...osOptions(),
  ...ebpfOptions(),
];

/**
 * The eBPF tier options: flags `-ebpf` and `-ebpf_<key>`, variables `PGQUERYLENS_EBPF` and
 * `PGQUERYLENS_EBPF_<KEY>`, keys of the `[ebpf]` table (`enabled` for `-ebpf`).
 */
function ebpfOptions(): OptionSpec[] {
  const ebpf = (key: string, fileKey: string, help: string) => {
    const name = key === "" ? "ebpf" : `ebpf_${key}`;
    return { name, flag: true, env: `PGQUERYLENS_${name.toUpperCase()}`, file: `ebpf.${fileKey}`, help };
  };
  return [
    {
      kind: "bool",
      ...ebpf(
        "",
        "enabled",
        "Trace each query's OS delay with eBPF (needs root; every probe hit costs microseconds)",
      ),
      fileTypes: ["boolean"],
      set: (c, v) => c.ebpf.enabled = v,
    },
    {
      kind: "number",
      ...ebpf("threshold_ms", "threshold_ms", "eBPF tier: export queries of at least this many milliseconds"),
      fileTypes: ["float", "integer", "string"],
      set: (c, v) => c.ebpf.thresholdMs = v,
    },
    {
      kind: "int",
      ...ebpf("sample_every", "sample_every", "eBPF tier: trace one query in this many (1: every query)"),
      fileTypes: ["integer", "string"],
      set: (c, v) => c.ebpf.sampleEvery = v,
    },
  ];
}

/**
 * The OS metrics options: flags `-os_metrics` and `-os_<key>`, variables `PGQUERYLENS_OS_METRICS`
 * and `PGQUERYLENS_OS_<KEY>`, keys of the `[os]` table (`enabled` for `-os_metrics`).
 */
function osOptions(): OptionSpec[] {
  return [
    {
      kind: "choice",
      name: "os_metrics",
      flag: true,
      env: "PGQUERYLENS_OS_METRICS",
      file: "os.enabled",
      fileTypes: ["string"],
      help: "Measure the server's processes from /proc: auto (when the server runs on this host), on or off",
      choices: ["auto", "on", "off"],
      set: (c, v) => c.os.mode = v as OsMetricsMode,
    },
    {
      kind: "int",
      name: "os_oneshot_interval_ms",
      flag: true,
      env: "PGQUERYLENS_OS_ONESHOT_INTERVAL_MS",
      file: "os.oneshot_interval_ms",
      fileTypes: ["integer", "string"],
      help: "Milliseconds between the two /proc readings of a one-shot run (50 to 10000)",
      set: (c, v) => c.os.oneshotIntervalMs = v,
    },
  ];
}

/**
 * The plan-tracking options: flags `-plan_<key>`, variables `PGQUERYLENS_PLAN_<KEY>`, keys of the
 * `[plans]` table.
 */
function planOptions(): OptionSpec[] {
  const plan = (key: string, help: string) => ({
    name: `plan_${key}`,
    flag: true,
    env: `PGQUERYLENS_PLAN_${key.toUpperCase()}`,
    file: `plans.${key}`,
    help,
  });
  const whole = (key: string, help: string, set: IntOption["set"]): IntOption => ({
    kind: "int",
    ...plan(key, help),
    fileTypes: ["integer", "string"],
    set,
  });
  return [
    whole(
      "top_queries",
      "Queries whose plans are tracked each cycle, the top ones by execution time (0: off)",
      (c, v) => c.plans.topQueries = v,
    ),
    whole("dictionary_max", "Most plans kept in the plan dictionary", (c, v) => c.plans.dictionaryMax = v),
    {
      kind: "number",
      ...plan(
        "regression_ratio",
        "A plan change is a regression at this ratio of mean durations, after/before (> 1)",
      ),
      fileTypes: ["float", "integer", "string"],
      set: (c, v) => c.plans.regressionRatio = v,
    },
    whole(
      "regression_min_executions",
      "Executions of each plan needed before a plan change is judged (>= 1)",
      (c, v) => c.plans.regressionMinExecutions = v,
    ),
  ];
}

/**
 * The pg_querylens options: flags `-querylens` and `-querylens_<key>`, variables
 * `PGQUERYLENS_QUERYLENS` and `PGQUERYLENS_QUERYLENS_<KEY>`, keys of the `[querylens]` table
 * (`enabled` for `-querylens`), and the file-only `[[querylens.rules]]`.
 */
function queryLensOptions(): OptionSpec[] {
  const ql = (key: string, fileKey: string, help: string) => {
    const name = key === "" ? "querylens" : `querylens_${key}`;
    return { name, flag: true, env: `PGQUERYLENS_${name.toUpperCase()}`, file: `querylens.${fileKey}`, help };
  };
  const whole = (key: string, help: string, set: IntOption["set"]): IntOption => ({
    kind: "int",
    ...ql(key, key, help),
    fileTypes: ["integer", "string"],
    set,
  });
  return [
    {
      kind: "choice",
      ...ql("", "enabled", "Read pg_querylens records: auto (when the extension is found), on or off"),
      fileTypes: ["string"],
      choices: ["auto", "on", "off"],
      set: (c, v) => c.querylens.mode = v as QueryLensMode,
    },
    {
      kind: "choice",
      ...ql("source", "source", "pg_querylens reader: auto, ffi (shared memory on this host) or sql"),
      fileTypes: ["string"],
      choices: ["auto", "ffi", "sql"],
      set: (c, v) => c.querylens.source = v as QueryLensSourceChoice,
    },
    whole(
      "slow_ms",
      "Always export executions of at least this many ms (default: the response-time threshold)",
      (c, v) => c.querylens.slowMs = v,
    ),
    whole(
      "rate_per_second",
      "Executions per second exported beyond the slow, failed and bypassing ones",
      (c, v) => c.querylens.ratePerSecond = v,
    ),
    whole("burst", "Executions the rate limiter lets through at once", (c, v) => c.querylens.burst = v),
    whole("max_per_cycle", "Most executions exported per cycle", (c, v) => c.querylens.maxPerCycle = v),
    whole("poll_ms", "Milliseconds between reads of the pg_querylens rings (>= 5)", (c, v) => {
      c.querylens.pollMs = v;
    }),
    {
      kind: "string",
      name: "querylens.rules",
      flag: false,
      file: "querylens.rules",
      fileTypes: ["array"],
      help: "Sampling rules ([[querylens.rules]] tables: name, priority, rate, bypass_rate_limit, match)",
      set: (c, v) => c.querylens.rules = parseQueryLensRules(JSON.parse(v)),
    },
  ];
}

/**
 * The active session history options: flags `-ash` and `-ash_<key>`, variables `PGQUERYLENS_ASH` and
 * `PGQUERYLENS_ASH_<KEY>`, keys of the `[ash]` table (`enabled` for `-ash`).
 */
function ashOptions(): OptionSpec[] {
  const ash = (key: string, fileKey: string, help: string) => {
    const name = key === "" ? "ash" : `ash_${key}`;
    return { name, flag: true, env: `PGQUERYLENS_${name.toUpperCase()}`, file: `ash.${fileKey}`, help };
  };
  const whole = (key: string, help: string, set: IntOption["set"]): IntOption => ({
    kind: "int",
    ...ash(key, key, help),
    fileTypes: ["integer", "string"],
    set,
  });
  return [
    {
      kind: "choice",
      ...ash("", "enabled", "Sample active sessions: auto (when query monitoring is on), on or off"),
      fileTypes: ["string"],
      choices: ["auto", "on", "off"],
      set: (c, v) => c.ash.mode = v as AshMode,
    },
    whole("interval_ms", "Milliseconds between active session samples (>= 100)", (c, v) => {
      c.ash.intervalMs = v;
    }),
    whole("retention_seconds", "Seconds of active session samples kept in memory", (c, v) => {
      c.ash.retentionSeconds = v;
    }),
    whole("max_samples", "Most session-samples kept in memory (oldest samples dropped first)", (c, v) => {
      c.ash.maxSamples = v;
    }),
    whole("oneshot_samples", "Active session samples a one-shot run takes, ash_interval_ms apart", (c, v) => {
      c.ash.oneshotSamples = v;
    }),
  ];
}

/**
 * The OTLP options: flags `-otel_*`, keys of the `[otel]` table, and the standard OpenTelemetry
 * variables (the generic `OTEL_EXPORTER_OTLP_*` forms; the per-signal forms are read at export
 * setup and take precedence).
 */
function otelOptions(): OptionSpec[] {
  /** The fields every OTLP option shares: flag `-otel_<key>`, key `<key>` of the `[otel]` table. */
  const otel = (key: string, env: string, help: string, fileTypes: TomlType[] = ["string"]) => ({
    name: `otel_${key}`,
    flag: true,
    env,
    file: `otel.${key}`,
    fileTypes,
    help,
  });
  const text = (key: string, env: string, help: string, set: StringOption["set"]): StringOption => ({
    kind: "string",
    ...otel(key, env, help),
    set,
  });
  const choice = (
    key: string,
    env: string,
    choices: string[],
    help: string,
    set: ChoiceOption["set"],
  ): ChoiceOption => ({ kind: "choice", ...otel(key, env, help), choices, set });
  const std = (suffix: string) => `OTEL_EXPORTER_OTLP_${suffix}`;
  return [
    text(
      "endpoint",
      std("ENDPOINT"),
      "OTLP endpoint URL (default localhost 4318/4317)",
      (c, v) => c.otel.endpoint = v,
    ),
    choice(
      "protocol",
      std("PROTOCOL"),
      ["grpc", "http/protobuf"],
      "OTLP transport",
      (c, v) => c.otel.protocol = v,
    ),
    text("headers", std("HEADERS"), "OTLP headers as key=value,key=value", (c, v) => c.otel.headers = v),
    choice(
      "compression",
      std("COMPRESSION"),
      ["gzip", "none"],
      "OTLP compression",
      (c, v) => c.otel.compression = v,
    ),
    {
      kind: "duration",
      ...otel(
        "timeout",
        std("TIMEOUT"),
        "Time limit of one OTLP request (duration; bare number: milliseconds; default 10s)",
        ["string", "integer"],
      ),
      unit: "ms",
      set: (c, v) => c.otel.timeoutMs = v,
    },
    text("certificate", std("CERTIFICATE"), "PEM CA file for OTLP TLS", (c, v) => c.otel.certificate = v),
    text("service_name", "OTEL_SERVICE_NAME", "service.name of the export", (c, v) => c.otel.serviceName = v),
    text("resource_attributes", "OTEL_RESOURCE_ATTRIBUTES", "Resource attributes k=v,…", (c, v) => {
      c.otel.resourceAttributes = v;
    }),
    choice(
      "temporality",
      std("METRICS_TEMPORALITY_PREFERENCE"),
      ["cumulative", "delta", "lowmemory"],
      "Temporality of monotonic sums (lowmemory: cumulative here)",
      (c, v) => c.otel.temporality = v as TemporalityPreference,
    ),
    {
      kind: "int",
      ...otel(
        "queue_bytes",
        "PGQUERYLENS_OTEL_QUEUE_BYTES",
        "Bound of each signal's OTLP export queue in bytes (oldest requests dropped beyond it)",
        ["integer", "string"],
      ),
      set: (c, v) => c.otel.queueBytes = v,
    },
  ];
}

/** The option named `name` (flag name, or `table.key` for file-only options), if any. */
export function findOption(name: string): OptionSpec | undefined {
  return OPTIONS.find((o) => o.name === name);
}

/** The option given as a command-line flag named `name`, if any. */
export function findFlag(name: string): OptionSpec | undefined {
  return OPTIONS.find((o) => o.flag && o.name === name);
}
