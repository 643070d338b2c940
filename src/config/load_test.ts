import assert from "node:assert/strict";
import full from "../../tests/fixtures/config/full.toml" with { type: "text" };
import minimal from "../../tests/fixtures/config/minimal.toml" with { type: "text" };
import syntaxError from "../../tests/fixtures/config/syntax_error.toml" with { type: "text" };
import { defaultConfig } from "./defaults.ts";
import { ENV_NAMES } from "./env.ts";
import { loadConfig, type LoadedConfig } from "./load.ts";
import { MISSING_CREDENTIALS } from "./validate.ts";
import { assertConfigError } from "./testing.ts";

/** Loads with an environment limited to ENV_NAMES and an in-memory file system. */
function load(
  argv: string[],
  vars: Record<string, string> = {},
  files: Record<string, string> = {},
): LoadedConfig {
  return loadConfig(argv, {
    env: (name) => {
      if (!ENV_NAMES.includes(name)) throw new Error(`read of ${name} is not permitted`);
      return vars[name];
    },
    readTextFile: (path) => {
      if (!(path in files)) {
        throw new Deno.errors.NotFound(`No such file or directory (os error 2): readfile '${path}'`);
      }
      return files[path];
    },
  });
}

const CREDS = ["-username=monitor", "-password=pw-5521"];

Deno.test("with only credentials, every other value is the default", () => {
  const { config, warnings } = load(CREDS);
  assert.deepEqual(config, { ...defaultConfig(), username: "monitor", password: "pw-5521" });
  assert.deepEqual(warnings, []);
});

Deno.test("flag beats environment beats file beats default", () => {
  const file = 'hostname = "from-file"\nport = 1111\ndatabase = "file_db"\ntimeout = 3\nmode = "otel"\n' +
    "pretty = true\n[session]\nstatement_timeout_ms = 700\n";
  const files = { "c.toml": file };
  const vars = { PGQUERYLENS_CONFIG: "c.toml", HOSTNAME: "from-env", PORT: "2222", TIMEOUT: "4" };
  const { config } = load([...CREDS, "-hostname=from-flag", "-pretty=false"], vars, files);
  assert.equal(config.hostname, "from-flag"); // flag over env and file
  assert.equal(config.port, "2222"); // env over file
  assert.equal(config.timeout, 4); // env over file
  assert.equal(config.database, "file_db"); // file over default
  assert.equal(config.mode, "otel");
  assert.equal(config.pretty, false); // flag over file
  assert.equal(config.session.statementTimeoutMs, 700);
  assert.equal(config.session.lockTimeoutMs, 1000); // default
  assert.equal(config.collectBloatMetrics, true); // default
});

Deno.test("an environment variable presets a flag; empty variables are ignored", () => {
  const { config } = load([], { USERNAME: "env-user", PASSWORD: "env-pw-1", PRETTY: "T", HOSTNAME: "" });
  assert.equal(config.username, "env-user");
  assert.equal(config.password, "env-pw-1");
  assert.equal(config.pretty, true);
  assert.equal(config.hostname, "localhost");
});

Deno.test("an empty flag value overrides the environment", () => {
  const { config } = load([...CREDS, "-nri_cluster="], { NRI_CLUSTER: "from-env" });
  assert.equal(config.nriCluster, "");
});

Deno.test("the config file comes from -config over PGQUERYLENS_CONFIG", () => {
  const files = { "a.toml": 'hostname = "a"', "b.toml": 'hostname = "b"' };
  assert.equal(
    load([...CREDS, "-config", "a.toml"], { PGQUERYLENS_CONFIG: "b.toml" }, files).config.hostname,
    "a",
  );
  assert.equal(load(CREDS, { PGQUERYLENS_CONFIG: "b.toml" }, files).config.hostname, "b");
  assert.equal(
    load([...CREDS, "-config="], { PGQUERYLENS_CONFIG: "b.toml" }, files).config.hostname,
    "localhost",
  );
  assertConfigError(() => load(["-config=nope.toml"]), "cannot read config file nope.toml");
});

Deno.test("the full example file loads into the configuration it describes", () => {
  const { config, warnings } = load(["--config=full.toml"], {}, { "full.toml": full });
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, {
    username: "monitor",
    password: "file-secret-9f2c",
    hostname: "db1.example.net",
    port: "6432",
    database: "shop",
    timeout: 7,
    collectionList: '{"shop":{"public":{"orders":["orders_pkey","orders_customer_idx"],"customers":[]}}}',
    collectionIgnoreDatabaseList: ["azure_maintenance", "azure_sys"],
    collectionIgnoreTableList: ["audit_log"],
    enableSsl: true,
    trustServerCertificate: false,
    sslRootCertLocation: "/etc/pgquerylens/root.pem",
    sslCertLocation: "/etc/pgquerylens/client.pem",
    sslKeyLocation: "/etc/pgquerylens/client.key",
    pgbouncer: true,
    collectDbLockMetrics: true,
    collectBloatMetrics: false,
    collectSystemSchemas: true,
    customMetricsQuery:
      "SELECT 'orders_open' AS metric_name, 'gauge' AS metric_type, count(*) AS metric_value FROM orders",
    customMetricsConfig: "/etc/pgquerylens/custom.yml",
    enableQueryMonitoring: true,
    queryMonitoringResponseTimeThreshold: 250,
    queryMonitoringCountThreshold: 25,
    isRds: true,
    verbose: true,
    pretty: true,
    metrics: true,
    inventory: true,
    events: true,
    metadata: true,
    nriAddHostname: true,
    nriCluster: "prod-eu",
    nriService: "checkout",
    tempDir: "/var/lib/pgquerylens",
    cacheTtlSeconds: 600,
    showVersion: false,
    mode: "hybrid",
    intervalSeconds: 15,
    nriProtocol: 4,
    compat: false,
    session: { applicationName: "pgquerylens-prod", statementTimeoutMs: 3000, lockTimeoutMs: 250 },
    explain: { timeoutMs: 1500, maxPerCycle: 10, cacheTtlSeconds: 600 },
    activitySampling: { intervalMs: 100, samples: 8 },
    otel: {
      endpoint: "https://otlp.example.net:4318",
      protocol: "grpc",
      headers: "api-key=0123abcd",
      compression: "gzip",
      timeoutMs: 5000,
      certificate: "/etc/pgquerylens/otlp-ca.pem",
      serviceName: "postgres-eu",
      resourceAttributes: "deployment.environment.name=prod",
      temporality: "delta",
      queueBytes: 8388608,
    },
    querylens: {
      mode: "on",
      source: "sql",
      slowMs: 500,
      ratePerSecond: 5,
      burst: 40,
      maxPerCycle: 300,
      pollMs: 50,
      rules: [
        {
          name: "checkout-writes",
          priority: 10,
          rate: 1,
          bypassRateLimit: true,
          match: { database: "shop", cmdType: "update", toplevel: true },
        },
        {
          name: "one-query",
          priority: 0,
          rate: 0.25,
          bypassRateLimit: false,
          match: { queryId: "-6410924811397428219", minDurationMs: 2.5 },
        },
      ],
    },
    ash: { mode: "on", intervalMs: 250, retentionSeconds: 900, maxSamples: 200000, oneshotSamples: 5 },
    plans: { topQueries: 12, dictionaryMax: 800, regressionRatio: 2.25, regressionMinExecutions: 9 },
    os: { mode: "on", oneshotIntervalMs: 350 },
    ebpf: { enabled: true, thresholdMs: 2.5, sampleEvery: 4 },
  });
});

Deno.test("the minimal example file needs nothing else", () => {
  const { config } = load([], { PGQUERYLENS_CONFIG: "m.toml" }, { "m.toml": minimal });
  assert.equal(config.collectionList, '["postgres","shop"]');
  assert.equal(config.hostname, "localhost");
});

Deno.test("durations: interval in seconds, session timeouts in milliseconds, cache_ttl in seconds", () => {
  const a = load([
    ...CREDS,
    "-interval=1m",
    "-statement_timeout=2s",
    "-lock_timeout",
    "250",
    "-cache_ttl=90s",
  ]);
  assert.equal(a.config.intervalSeconds, 60);
  assert.equal(a.config.session.statementTimeoutMs, 2000);
  assert.equal(a.config.session.lockTimeoutMs, 250);
  assert.equal(a.config.cacheTtlSeconds, 90);
  const b = load(CREDS, { PGQUERYLENS_INTERVAL: "30", PGQUERYLENS_LOCK_TIMEOUT: "1.5s", CACHE_TTL: "1h" });
  assert.equal(b.config.intervalSeconds, 30);
  assert.equal(b.config.session.lockTimeoutMs, 1500);
  assert.equal(b.config.cacheTtlSeconds, 3600);
});

Deno.test("the collector's own options come from PGQUERYLENS_ variables", () => {
  const { config } = load(CREDS, {
    PGQUERYLENS_MODE: "hybrid",
    PGQUERYLENS_NRI_PROTOCOL: "4",
    PGQUERYLENS_COMPAT: "false",
    PGQUERYLENS_APPLICATION_NAME: "lens-a",
    PGQUERYLENS_STATEMENT_TIMEOUT: "900",
  });
  assert.equal(config.mode, "hybrid");
  assert.equal(config.nriProtocol, 4);
  assert.equal(config.compat, false);
  assert.equal(config.session.applicationName, "lens-a");
  assert.equal(config.session.statementTimeoutMs, 900);
});

Deno.test("the ignore lists parse from JSON", () => {
  const { config } = load([...CREDS, '-collection_ignore_database_list=["azure_sys"]'], {
    COLLECTION_IGNORE_TABLE_LIST: '["audit"]',
  });
  assert.deepEqual(config.collectionIgnoreDatabaseList, ["azure_sys"]);
  assert.deepEqual(config.collectionIgnoreTableList, ["audit"]);
  assert.deepEqual(load([...CREDS, "-collection_ignore_table_list="]).config.collectionIgnoreTableList, []);
});

Deno.test("the upstream credential message comes through loadConfig", () => {
  const err = assertConfigError(() => load(["-username=monitor"]), MISSING_CREDENTIALS);
  assert.equal(err.key, "password");
  assert.equal(load(["-show_version"]).config.showVersion, true);
});

Deno.test("bad values name the key and where they came from", () => {
  const cases: [string[], Record<string, string>, string, string][] = [
    [["-port=0"], {}, "port", "flag -port"],
    [[], { PORT: "http" }, "port", "environment variable PORT"],
    [["-timeout=ten"], {}, "timeout", "is not an integer"],
    [["-timeout=-1"], {}, "timeout", "flag -timeout"],
    [[], { ENABLE_SSL: "yes" }, "enable_ssl", "environment variable ENABLE_SSL"],
    [[], { VERBOSE: "on" }, "verbose", '"on"'],
    [["-query_monitoring_count_threshold=many"], {}, "query_monitoring_count_threshold", "not an integer"],
    [
      ["-query_monitoring_response_time_threshold=1.5"],
      {},
      "query_monitoring_response_time_threshold",
      "integer",
    ],
    [["-collection_list=nope"], {}, "collection_list", "failed to parse collection list"],
    [[], { COLLECTION_IGNORE_DATABASE_LIST: "azure_sys" }, "collection_ignore_database_list", "JSON array"],
    [["-collection_ignore_table_list=[1]"], {}, "collection_ignore_table_list", "JSON array"],
    [["-mode=prometheus"], {}, "mode", "nri, otel, hybrid"],
    [[], { PGQUERYLENS_NRI_PROTOCOL: "5" }, "nri_protocol", "3, 4"],
    [["-interval=0"], {}, "interval", "> 0"],
    [["-interval=soon"], {}, "interval", "not a duration"],
    [["-statement_timeout=0s"], {}, "statement_timeout", "> 0"],
    [["-lock_timeout=fast"], {}, "lock_timeout", "not a duration"],
    [["-cache_ttl=-5m"], {}, "cache_ttl", ">= 0"],
    [["-compat=maybe"], {}, "compat", "-compat"],
    [["-application_name="], {}, "application_name", "must not be empty"],
    [["-hostname="], {}, "hostname", "must not be empty"],
    [["-enable_ssl"], {}, "ssl_root_cert_location", "root certificate"],
  ];
  for (const [argv, vars, key, part] of cases) {
    const err = assertConfigError(() => load([...CREDS, ...argv], vars), key, part);
    assert.equal(err.key, key, err.message);
  }
});

Deno.test("file values that fail validation name the file key", () => {
  const files = { "c.toml": "[explain]\nmax_per_cycle = -2\n" };
  const err = assertConfigError(() => load([...CREDS, "-config=c.toml"], {}, files), "explain.max_per_cycle");
  assert.equal(err.key, "explain.max_per_cycle");
  assertConfigError(
    () => load([...CREDS, "-config=d.toml"], {}, { "d.toml": "[session]\nlock_timeout_ms = 0\n" }),
    'lock_timeout (key "session.lock_timeout_ms" in config file d.toml)',
  );
});

Deno.test("unknown flag and unknown file key are errors", () => {
  assertConfigError(() => load([...CREDS, "-query_monitoring_only"]), "unknown flag -query_monitoring_only");
  assertConfigError(
    () => load([...CREDS, "-config=c.toml"], {}, { "c.toml": 'hostnme = "x"' }),
    'unknown key "hostnme"',
    "c.toml",
  );
});

Deno.test("warnings about corrected values are returned", () => {
  const { config, warnings } = load([...CREDS, "-query_monitoring_count_threshold=50"], {
    QUERY_MONITORING_RESPONSE_TIME_THRESHOLD: "-4",
  });
  assert.equal(config.queryMonitoringCountThreshold, 30);
  assert.equal(config.queryMonitoringResponseTimeThreshold, 1);
  assert.equal(warnings.length, 2);
});

Deno.test("the password can come from a file, trailing newline trimmed", () => {
  const files = { "/run/secrets/pg": "s3cret-file-pw\n" };
  const viaEnv = load(["-username=u"], { PGQUERYLENS_PASSWORD_FILE: "/run/secrets/pg" }, files);
  assert.equal(viaEnv.config.password, "s3cret-file-pw");
  const viaFlag = load(["-username=u", "-password_file", "/run/secrets/pg"], {}, files);
  assert.equal(viaFlag.config.password, "s3cret-file-pw");
  const crlf = load(["-username=u", "-password_file=p"], {}, { p: "pw with space \r\n" });
  assert.equal(crlf.config.password, "pw with space ");
});

Deno.test("password and password_file: the higher-ranked source wins, the same source is an error", () => {
  const files = { p: "from-file-pw" };
  assert.equal(
    load(["-username=u", "-password=flag-pw"], { PGQUERYLENS_PASSWORD_FILE: "p" }, files).config.password,
    "flag-pw",
  );
  assert.equal(
    load(["-username=u", "-password_file=p"], { PASSWORD: "env-pw" }, files).config.password,
    "from-file-pw",
  );
  const err = assertConfigError(
    () => load(["-username=u", "-password=flag-pw-77", "-password_file=p"], {}, files),
    "password_file",
    "not both",
  );
  assert.ok(!err.message.includes("flag-pw-77"));
});

Deno.test("an unreadable password file names the path, not the content", () => {
  const err = assertConfigError(
    () => load(["-username=u", "-password_file=/run/secrets/missing"]),
    "/run/secrets/missing",
    "no such file",
  );
  assert.equal(err.key, "password_file");
});

Deno.test("no error message contains the password", () => {
  const secret = "Zq9-hunter2-Xy";
  const attempts: [string[], Record<string, string>, Record<string, string>][] = [
    [["-username=u", `-password=${secret}`, "-port=99999"], {}, {}],
    [["-username=u", "-password", secret, "-enable_ssl=maybe"], {}, {}],
    [["-username=u", `--password=${secret}`, `-timeout=${secret}`], {}, {}],
    [["-username=u", "-password", secret, `-interval=${secret}`], {}, {}],
    [["-username=u", `-password=${secret}`, `-mode=${secret}`], {}, {}],
    [["-username=u", `-password=${secret}`, secret], {}, {}],
    [["-username=u", "-verbose", "-password", secret, "-nonsense"], {}, {}],
    [["-username=u"], { PASSWORD: secret, PORT: secret }, {}],
    [["-username=u"], { PASSWORD: secret, COLLECTION_LIST: secret }, {}],
    [["-config=c.toml"], {}, { "c.toml": `username = "u"\npassword = "${secret}"\nport = "${secret}"` }],
    [["-config=c.toml"], {}, { "c.toml": `password = "${secret}\nport = 1` }],
    [["-username=u", "-password_file=p", `-nri_protocol=${secret}`], {}, { p: secret }],
  ];
  for (const [argv, vars, files] of attempts) {
    const err = assertConfigError(() => load(argv, vars, files));
    assert.ok(!err.message.includes(secret), `leaked in: ${err.message}`);
  }
});

Deno.test("-help is refused by loadConfig", () => {
  assert.equal(assertConfigError(() => load(["-help"])).key, "help");
});

Deno.test("the syntax error fixture names its file and line through loadConfig", () => {
  const err = assertConfigError(
    () => load(["-config=etc/syntax_error.toml"], {}, { "etc/syntax_error.toml": syntaxError }),
    "etc/syntax_error.toml",
    "line 3",
  );
  assert.ok(!err.message.includes("file-secret-9f2c"));
});

Deno.test("pg_querylens settings from flags, environment and file; rules only from the file", () => {
  const file = '[querylens]\nenabled = "off"\nburst = 5\nrate_per_second = 3\n' +
    '[[querylens.rules]]\nname = "hot"\nrate = 0.5\nmatch = { cmd_type = "select" }\n';
  const { config } = load(
    [...CREDS, "-querylens=ON", "-querylens_poll_ms=30", "-config=q.toml"],
    { PGQUERYLENS_QUERYLENS_BURST: "8", PGQUERYLENS_QUERYLENS_SOURCE: "ffi" },
    { "q.toml": file },
  );
  assert.deepEqual(config.querylens, {
    mode: "on",
    source: "ffi",
    ratePerSecond: 3,
    burst: 8,
    maxPerCycle: 1000,
    pollMs: 30,
    rules: [{ name: "hot", priority: 0, rate: 0.5, bypassRateLimit: false, match: { cmdType: "select" } }],
  });
  assertConfigError(
    () => load([...CREDS, "-querylens_poll_ms=2"]),
    "querylens_poll_ms (flag -querylens_poll_ms)",
    "got 2",
  );
  assertConfigError(() => load([...CREDS, "-querylens=sometimes"]), "must be one of auto, on, off");
  assertConfigError(() => load([...CREDS, "-querylens.rules=[]"]), "querylens.rules");
  const badRule = '[[querylens.rules]]\nname = "hot"\nrate = 2\n';
  assertConfigError(
    () => load([...CREDS, "-config=r.toml"], {}, { "r.toml": badRule }),
    'querylens.rules: rule 1 ("hot"): rate must be a number from 0 to 1, got 2',
  );
});

Deno.test("plan settings from flags, environment and file; the ratio is a decimal number", () => {
  const file = "[plans]\ntop_queries = 7\nregression_ratio = 3\n";
  const { config } = load(
    [...CREDS, "-plan_regression_ratio=1.75", "-config=p.toml"],
    { PGQUERYLENS_PLAN_DICTIONARY_MAX: "90", PGQUERYLENS_PLAN_REGRESSION_MIN_EXECUTIONS: "2" },
    { "p.toml": file },
  );
  assert.deepEqual(config.plans, {
    topQueries: 7,
    dictionaryMax: 90,
    regressionRatio: 1.75,
    regressionMinExecutions: 2,
  });
  assert.equal(load([...CREDS, "-plan_regression_ratio", "2e0"]).config.plans.regressionRatio, 2);
  assert.equal(load(CREDS, { PGQUERYLENS_PLAN_REGRESSION_RATIO: " .5e1 " }).config.plans.regressionRatio, 5);
  assertConfigError(
    () => load([...CREDS, "-plan_regression_ratio=fast"]),
    "plan_regression_ratio (flag -plan_regression_ratio)",
    '"fast" is not a number',
  );
  assertConfigError(
    () => load(CREDS, { PGQUERYLENS_PLAN_REGRESSION_RATIO: "1" }),
    "plan_regression_ratio (environment variable PGQUERYLENS_PLAN_REGRESSION_RATIO)",
    "must be a number > 1, got 1",
  );
  assertConfigError(
    () => load([...CREDS, "-config=q.toml"], {}, { "q.toml": '[plans]\nregression_ratio = "x1.5"\n' }),
    'plan_regression_ratio (key "plans.regression_ratio" in config file q.toml)',
    '"x1.5" is not a number',
  );
  assertConfigError(
    () => load([...CREDS, "-config=q.toml"], {}, { "q.toml": "[plans]\ntop = 3\n" }),
    'unknown key "plans.top"',
  );
});
