/**
 * The collector's configuration, after loading and validation.
 *
 * Names follow nri-postgresql's flags (snake_case in files and flags, upper case in the
 * environment); the TOML file groups the collector's own options in tables.
 *
 * @module
 */

/** Output mode: NRI JSON on stdout, OTLP export, or both from one collection. */
export type Mode = "nri" | "otel" | "hybrid";

/** Validated configuration. */
export interface Config {
  /** Role used to connect. */
  username: string;
  /** Password (never logged). */
  password: string;
  /** Host name or unix-socket directory; also names the pg-instance entity. */
  hostname: string;
  /** Port, as a string (it is part of the entity name). */
  port: string;
  /** Database for the main connection and all QPM statements. */
  database: string;
  /** Connect timeout in seconds (0: none). */
  timeout: number;
  /** Raw COLLECTION_LIST (JSON object, JSON array or `ALL`). */
  collectionList: string;
  /** Databases never collected. */
  collectionIgnoreDatabaseList: string[];
  /** Bare table names never collected when tables are discovered. */
  collectionIgnoreTableList: string[];
  /** Whether TLS is used. */
  enableSsl: boolean;
  /** With TLS, accept the server certificate without verification. */
  trustServerCertificate: boolean;
  /** PEM root CA path. */
  sslRootCertLocation: string;
  /** Client certificate path. */
  sslCertLocation: string;
  /** Client key path. */
  sslKeyLocation: string;
  /** Collect PgBouncer metrics. */
  pgbouncer: boolean;
  /** Collect lock-mode counts per database. */
  collectDbLockMetrics: boolean;
  /** Collect the table bloat estimate. */
  collectBloatMetrics: boolean;
  /** Also collect tables and indexes of pg_catalog, information_schema and pg_toast (COLLECT_SYSTEM_SCHEMAS). */
  collectSystemSchemas: boolean;
  /** Single custom SQL (PgCustomQuerySample). */
  customMetricsQuery: string;
  /** Path of a YAML file of custom queries. */
  customMetricsConfig: string;
  /** Run Query Performance Monitoring. */
  enableQueryMonitoring: boolean;
  /** Individual queries must average strictly more than this many milliseconds. */
  queryMonitoringResponseTimeThreshold: number;
  /** Rows per QPM query (0..30). */
  queryMonitoringCountThreshold: number;
  /** Use the RDS/Aurora QPM pipeline. */
  isRds: boolean;
  /** Debug logging on stderr. */
  verbose: boolean;
  /** Tab-indented JSON. */
  pretty: boolean;
  /** Publish metrics (if none of metrics/inventory/events is set, all are published). */
  metrics: boolean;
  /** Publish inventory. */
  inventory: boolean;
  /** Publish events. */
  events: boolean;
  /** Add NRI_COM.NEWRELIC.POSTGRESQL_* variables as attributes. */
  metadata: boolean;
  /** Add `"add_hostname": true` to each data item. */
  nriAddHostname: boolean;
  /** `cluster_name` attribute on every sample, when set. */
  nriCluster: string;
  /** `service_name` attribute on every sample, when set. */
  nriService: string;
  /** Directory of the rate state. */
  tempDir: string;
  /** Validity of stored rate values, in seconds. */
  cacheTtlSeconds: number;
  /** Print the version line and exit. */
  showVersion: boolean;

  /** Output mode. */
  mode: Mode;
  /** Seconds between cycles; absent: one cycle and exit. */
  intervalSeconds?: number;
  /** NRI protocol version to emit (3, or 4 for the v4 envelope). */
  nriProtocol: 3 | 4;
  /**
   * Compatibility mode (default on): the five QPM types carry exactly upstream's keys; extended
   * data goes to separate event types.
   */
  compat: boolean;
  /** Session settings applied to every connection. */
  session: SessionConfig;
  /** Plan capture settings. */
  explain: ExplainConfig;
  /** Individual-query sampling from pg_stat_activity when pg_stat_monitor is absent. */
  activitySampling: ActivitySamplingConfig;
  /** OTLP export settings (modes otel and hybrid). */
  otel: OtelConfig;
  /** pg_querylens: reading per-execution records and sampling what is exported. */
  querylens: QueryLensConfig;
  /** Active session history: sampling pg_stat_activity continuously. */
  ash: AshConfig;
  /** Plan tracking: plan dictionary, plan changes and regressions (`[plans]` table). */
  plans: PlansConfig;
  /** OS metrics of the server's processes, read from `/proc` (`[os]` table). */
  os: OsConfig;
  /** eBPF tier: per-query OS delay from kernel probes (`[ebpf]` table). */
  ebpf: EbpfConfig;
}

/** Plan tracking settings (`[plans]` table, `-plan_*` flags, `PGQUERYLENS_PLAN_*` variables). */
export interface PlansConfig {
  /** Queries whose plans are tracked each cycle (the top ones by execution time this cycle); 0: off. */
  topQueries: number;
  /** Most plans the dictionary keeps (least recently seen ones are dropped). */
  dictionaryMax: number;
  /** A plan change is a regression when the mean duration after it is at least this times the one before. */
  regressionRatio: number;
  /** Executions of the new plan (and of the previous one) needed before a change is judged (>= 1). */
  regressionMinExecutions: number;
}

/** Whether OS metrics are read: `auto` (with query monitoring, when the server runs on this host), `on` or `off`. */
export type OsMetricsMode = "auto" | "on" | "off";

/** OS metrics settings (`[os]` table, `-os_*` flags, `PGQUERYLENS_OS_*` variables). */
export interface OsConfig {
  /** Whether the server's processes are measured from `/proc`. */
  mode: OsMetricsMode;
  /** Milliseconds between the two readings of a one-shot run (daemon mode reads once per cycle). */
  oneshotIntervalMs: number;
}

/** eBPF tier settings (`[ebpf]` table, `-ebpf*` flags, `PGQUERYLENS_EBPF*` variables). */
export interface EbpfConfig {
  /** Whether the tier runs (off by default: every probe hit traps into the kernel). */
  enabled: boolean;
  /** Queries shorter than this many milliseconds are counted, not exported (>= 0). */
  thresholdMs: number;
  /** Trace one query in this many (1: every query). */
  sampleEvery: number;
}

/** Whether active session history is sampled: `auto` (when query monitoring is on), `on` or `off`. */
export type AshMode = "auto" | "on" | "off";

/** Active session history settings (`[ash]` table, `-ash*` flags, `PGQUERYLENS_ASH*` variables). */
export interface AshConfig {
  /** Whether sessions are sampled. */
  mode: AshMode;
  /** Milliseconds between samples (at least 100). */
  intervalMs: number;
  /** How long samples are kept in memory, in seconds (the ring holds this many seconds of samples). */
  retentionSeconds: number;
  /** Most session-samples (one session in one sample) kept in memory; the oldest samples go first. */
  maxSamples: number;
  /** Samples a one-shot run takes, `intervalMs` apart, while its cycle runs. */
  oneshotSamples: number;
}

/** Whether pg_querylens records are read: `auto` when the extension is found, `on` (required), `off`. */
export type QueryLensMode = "auto" | "on" | "off";

/** How records are read: `ffi` (the shared-memory rings), `sql` (`pg_querylens_read()`), `auto`. */
export type QueryLensSourceChoice = "auto" | "ffi" | "sql";

/** Statement kinds a sampling rule can match. */
export type QueryLensCmdType = "select" | "update" | "insert" | "delete" | "other";

/** What a sampling rule matches; every given condition must hold (none given: every execution). */
export interface QueryLensRuleMatch {
  /** Database name. */
  database?: string;
  /** Query id as a decimal string. */
  queryId?: string;
  /** Executions of at least this many milliseconds. */
  minDurationMs?: number;
  /** Statement kind. */
  cmdType?: QueryLensCmdType;
  /** Top-level (true) or nested (false) executions. */
  toplevel?: boolean;
}

/** A sampling rule: the matching execution is kept with probability `rate`. */
export interface QueryLensRule {
  /** Unique name (the `rule:<name>` reason in counters). */
  name: string;
  /** Rules are tried highest priority first (equal priorities in file order); the first match decides. */
  priority: number;
  /** Fraction of matching executions kept, 0..1. */
  rate: number;
  /** Whether kept executions skip the rate limit (the per-cycle cap still applies). */
  bypassRateLimit: boolean;
  /** Conditions. */
  match: QueryLensRuleMatch;
}

/** pg_querylens settings (`[querylens]` table, `-querylens*` flags, `PGQUERYLENS_QUERYLENS*` variables). */
export interface QueryLensConfig {
  /** Whether records are read. */
  mode: QueryLensMode;
  /** Which reader is used. */
  source: QueryLensSourceChoice;
  /**
   * Executions at or above this many milliseconds are always exported; absent:
   * `queryMonitoringResponseTimeThreshold`.
   */
  slowMs?: number;
  /** Sustained rate (executions per second) of exported executions beyond the slow, failed and bypassing ones. */
  ratePerSecond: number;
  /** Size of the rate limiter's bucket: how many executions it lets through at once. */
  burst: number;
  /** Most executions exported per cycle, whatever their reason. */
  maxPerCycle: number;
  /** Milliseconds between reads of the rings. */
  pollMs: number;
  /** Sampling rules (TOML `[[querylens.rules]]` only). */
  rules: QueryLensRule[];
}

/** Metric temporality preference, as `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` names it. */
export type TemporalityPreference = "cumulative" | "delta" | "lowmemory";

/**
 * OTLP export settings that apply to both signals. Empty strings mean "not set": the standard
 * defaults apply, and the per-signal `OTEL_EXPORTER_OTLP_METRICS_*` / `_LOGS_*` variables take
 * precedence over every value here.
 */
export interface OtelConfig {
  /** Base endpoint URL (`/v1/<signal>` is appended for HTTP). */
  endpoint: string;
  /** `grpc` or `http/protobuf`; empty: http/protobuf. */
  protocol: string;
  /** Request headers as `key=value,key=value` (URL-encoded). */
  headers: string;
  /** `gzip` or `none`; empty: none. */
  compression: string;
  /** Time limit of one export request in milliseconds; 0: the default 10 s. */
  timeoutMs: number;
  /** PEM file of trusted CA certificates for TLS. */
  certificate: string;
  /** `service.name` of every resource; empty: `service.name` of the resource attributes, else `pgquerylens`. */
  serviceName: string;
  /** Extra resource attributes as `key=value,key=value` (OTEL_RESOURCE_ATTRIBUTES). */
  resourceAttributes: string;
  /** Temporality of monotonic sums. */
  temporality: TemporalityPreference;
  /** Bound of each signal's export queue, in bytes of encoded requests. */
  queueBytes: number;
}

/** Settings every collector session applies. */
export interface SessionConfig {
  /** `application_name` of every collector connection. */
  applicationName: string;
  /** `statement_timeout` in milliseconds. */
  statementTimeoutMs: number;
  /** `lock_timeout` in milliseconds. */
  lockTimeoutMs: number;
}

/** EXPLAIN settings for plan capture. */
export interface ExplainConfig {
  /** `statement_timeout` for one EXPLAIN, in milliseconds. */
  timeoutMs: number;
  /** Most EXPLAINs run per cycle (cache hits do not count). */
  maxPerCycle: number;
  /** How long a captured plan (or a failure) is reused, in seconds. */
  cacheTtlSeconds: number;
}

/** Sampling of pg_stat_activity to derive individual executions when pg_stat_monitor is absent. */
export interface ActivitySamplingConfig {
  /** Milliseconds between samples within one cycle. */
  intervalMs: number;
  /** Number of samples taken per cycle. */
  samples: number;
}

/** A configuration error: exit code 1 with a message naming the key and the problem. */
export class ConfigError extends Error {
  /** The configuration key (flag, env variable, or file key) at fault, if any. */
  readonly key?: string;
  /**
   * @param message what is wrong, naming the key and the value's problem
   * @param key the offending key
   */
  constructor(message: string, key?: string) {
    super(message);
    this.name = "ConfigError";
    this.key = key;
  }
}
