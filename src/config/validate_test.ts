import assert from "node:assert/strict";
import { defaultConfig } from "./defaults.ts";
import { type Config, ConfigError } from "./types.ts";
import {
  collectionDatabases,
  MAX_QUERY_COUNT_THRESHOLD,
  MISSING_CREDENTIALS,
  parseCollectionList,
  parseQueryLensRules,
  validateConfig,
} from "./validate.ts";

function valid(overrides: Partial<Config> = {}): Config {
  return { ...defaultConfig(), username: "monitor", password: "pw-7731", ...overrides };
}

function assertConfigError(fn: () => unknown, key: string | undefined, ...parts: string[]): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
  assert.equal(caught.key, key);
  for (const part of parts) assert.ok(caught.message.includes(part), `"${caught.message}" lacks "${part}"`);
  return caught;
}

Deno.test("a complete default configuration is valid and unchanged", () => {
  const input = valid();
  const { config, warnings } = validateConfig(input);
  assert.deepEqual(config, input);
  assert.notEqual(config, input);
  assert.deepEqual(warnings, []);
});

Deno.test("missing username or password gives upstream's message", () => {
  const a = assertConfigError(() => validateConfig(valid({ username: "" })), "username", MISSING_CREDENTIALS);
  assert.equal(a.message, "invalid configuration: must specify a username and password");
  assertConfigError(() => validateConfig(valid({ password: "" })), "password", MISSING_CREDENTIALS);
  assertConfigError(() => validateConfig(defaultConfig()), "username", MISSING_CREDENTIALS);
});

Deno.test("show_version skips the credential and TLS checks", () => {
  const c = { ...defaultConfig(), showVersion: true, enableSsl: true };
  assert.equal(validateConfig(c).config.showVersion, true);
});

Deno.test("TLS without trusting the server needs a root certificate", () => {
  assertConfigError(
    () => validateConfig(valid({ enableSsl: true, sslCertLocation: "c", sslKeyLocation: "k" })),
    "ssl_root_cert_location",
    "ssl_root_cert_location",
    "invalid configuration",
  );
  const ok = validateConfig(
    valid({ enableSsl: true, sslRootCertLocation: "root.pem", sslCertLocation: "c", sslKeyLocation: "k" }),
  );
  assert.deepEqual(ok.warnings, []);
  const trusted = validateConfig(valid({ enableSsl: true, trustServerCertificate: true }));
  assert.equal(trusted.warnings.length, 1);
  assert.match(trusted.warnings[0], /ssl_cert_location/);
  assert.deepEqual(validateConfig(valid({ trustServerCertificate: true })).warnings, []);
});

Deno.test("port must be an integer from 1 to 65535", () => {
  for (const port of ["0", "65536", "abc", "", "-1", "5432x", "1.5"]) {
    assertConfigError(() => validateConfig(valid({ port })), "port", "port", "1 to 65535");
  }
  assert.equal(validateConfig(valid({ port: "1" })).config.port, "1");
  assert.equal(validateConfig(valid({ port: "65535" })).config.port, "65535");
});

Deno.test("messages name where the value came from", () => {
  assertConfigError(
    () =>
      validateConfig(
        valid({ port: "70000" }),
        (key) => key === "port" ? "environment variable PORT" : undefined,
      ),
    "port",
    "port (environment variable PORT): must be an integer from 1 to 65535",
  );
});

Deno.test("timeout must be a whole number >= 0", () => {
  assert.equal(validateConfig(valid({ timeout: 0 })).config.timeout, 0);
  assertConfigError(() => validateConfig(valid({ timeout: -1 })), "timeout", "timeout");
  assertConfigError(() => validateConfig(valid({ timeout: 1.5 })), "timeout", "timeout");
});

Deno.test("hostname, database, temp_dir and application_name must not be empty", () => {
  assertConfigError(() => validateConfig(valid({ hostname: "" })), "hostname", "hostname");
  assertConfigError(() => validateConfig(valid({ database: "" })), "database", "database");
  assertConfigError(() => validateConfig(valid({ tempDir: "" })), "temp_dir", "temp_dir");
  const c = valid();
  c.session.applicationName = "";
  assertConfigError(() => validateConfig(c), "application_name", "application_name");
});

Deno.test("a long application_name is accepted with a warning", () => {
  const c = valid();
  c.session.applicationName = "x".repeat(64);
  assert.match(validateConfig(c).warnings[0], /application_name .* 63 bytes/);
});

Deno.test("query_monitoring_count_threshold: negative becomes 20, above 30 becomes 30, 0 stays", () => {
  const neg = validateConfig(valid({ queryMonitoringCountThreshold: -5 }));
  assert.equal(neg.config.queryMonitoringCountThreshold, 20);
  assert.equal(neg.warnings.length, 1);
  assert.match(neg.warnings[0], /query_monitoring_count_threshold -5/);
  const high = validateConfig(valid({ queryMonitoringCountThreshold: 31 }));
  assert.equal(high.config.queryMonitoringCountThreshold, MAX_QUERY_COUNT_THRESHOLD);
  assert.equal(MAX_QUERY_COUNT_THRESHOLD, 30);
  assert.match(high.warnings[0], /query_monitoring_count_threshold 31/);
  for (const kept of [0, 30]) {
    const r = validateConfig(valid({ queryMonitoringCountThreshold: kept }));
    assert.equal(r.config.queryMonitoringCountThreshold, kept);
    assert.deepEqual(r.warnings, []);
  }
});

Deno.test("query_monitoring_response_time_threshold: negative becomes 1, 0 stays", () => {
  const neg = validateConfig(valid({ queryMonitoringResponseTimeThreshold: -1 }));
  assert.equal(neg.config.queryMonitoringResponseTimeThreshold, 1);
  assert.match(neg.warnings[0], /query_monitoring_response_time_threshold -1/);
  assert.equal(
    validateConfig(valid({ queryMonitoringResponseTimeThreshold: 0 })).config
      .queryMonitoringResponseTimeThreshold,
    0,
  );
  assertConfigError(
    () => validateConfig(valid({ queryMonitoringResponseTimeThreshold: 0.5 })),
    "query_monitoring_response_time_threshold",
    "query_monitoring_response_time_threshold",
  );
});

Deno.test("collection_list must parse", () => {
  for (const bad of ["", "[1]", '"shop"', "{", '{"db":["x"]}', "all databases", "42"]) {
    assertConfigError(
      () => validateConfig(valid({ collectionList: bad })),
      "collection_list",
      "collection_list",
      "failed to parse collection list",
    );
  }
});

Deno.test("ignore lists must be arrays of strings", () => {
  assertConfigError(
    () => validateConfig(valid({ collectionIgnoreDatabaseList: [1] as unknown as string[] })),
    "collection_ignore_database_list",
    "collection_ignore_database_list",
  );
  assertConfigError(
    () => validateConfig(valid({ collectionIgnoreTableList: "x" as unknown as string[] })),
    "collection_ignore_table_list",
    "collection_ignore_table_list",
  );
});

Deno.test("mode, nri_protocol and interval are checked", () => {
  assertConfigError(
    () => validateConfig(valid({ mode: "prometheus" as Config["mode"] })),
    "mode",
    "mode",
    "prometheus",
  );
  assertConfigError(() => validateConfig(valid({ nriProtocol: 2 as 3 })), "nri_protocol", "nri_protocol");
  for (const intervalSeconds of [0, -1, Infinity, NaN]) {
    assertConfigError(() => validateConfig(valid({ intervalSeconds })), "interval", "interval");
  }
  assert.equal(validateConfig(valid({ intervalSeconds: 0.5 })).config.intervalSeconds, 0.5);
});

Deno.test("cache_ttl must be >= 0", () => {
  assertConfigError(() => validateConfig(valid({ cacheTtlSeconds: -1 })), "cache_ttl", "cache_ttl");
  assert.equal(validateConfig(valid({ cacheTtlSeconds: 0 })).config.cacheTtlSeconds, 0);
});

Deno.test("session, explain and sampling settings are checked", () => {
  const cases: [string, (c: Config) => void][] = [
    ["statement_timeout", (c) => c.session.statementTimeoutMs = 0],
    ["statement_timeout", (c) => c.session.statementTimeoutMs = 2.5],
    ["lock_timeout", (c) => c.session.lockTimeoutMs = -1],
    ["explain.timeout_ms", (c) => c.explain.timeoutMs = 0],
    ["explain.max_per_cycle", (c) => c.explain.maxPerCycle = -1],
    ["explain.cache_ttl_seconds", (c) => c.explain.cacheTtlSeconds = -1],
    ["activity_sampling.interval_ms", (c) => c.activitySampling.intervalMs = 0],
    ["activity_sampling.samples", (c) => c.activitySampling.samples = 0],
  ];
  for (const [key, change] of cases) {
    const c = valid();
    change(c);
    assertConfigError(() => validateConfig(c), key, key);
  }
  const zero = valid();
  zero.explain.maxPerCycle = 0;
  zero.explain.cacheTtlSeconds = 0;
  assert.equal(validateConfig(zero).config.explain.maxPerCycle, 0);
});

Deno.test("parseCollectionList reads ALL in any case", () => {
  for (const all of ["ALL", "all", "All", " aLl "]) {
    assert.deepEqual(parseCollectionList(all), { kind: "all" });
  }
});

Deno.test("parseCollectionList reads an array of database names", () => {
  assert.deepEqual(parseCollectionList('["postgres","shop"]'), {
    kind: "databases",
    names: ["postgres", "shop"],
  });
  assert.deepEqual(parseCollectionList("[]"), { kind: "databases", names: [] });
});

Deno.test("parseCollectionList reads the object form, null counting as empty", () => {
  const raw = '{"postgres":{"public":{"pg_table1":["pg_index1","pg_index2"],"pg_table2":[]}},' +
    '"shop":null,"crm":{"sales":null,"s":{"t":null}}}';
  assert.deepEqual(parseCollectionList(raw), {
    kind: "explicit",
    databases: {
      postgres: { public: { pg_table1: ["pg_index1", "pg_index2"], pg_table2: [] } },
      shop: {},
      crm: { sales: {}, s: { t: [] } },
    },
  });
  assert.deepEqual(parseCollectionList("{}"), { kind: "explicit", databases: {} });
});

Deno.test("parseCollectionList says what is wrong", () => {
  assertConfigError(() => parseCollectionList('{"db":{"s":{"t":[1]}}}'), "collection_list", 'table "t"');
  assertConfigError(() => parseCollectionList('{"db":{"s":["t"]}}'), "collection_list", 'schema "s"');
  assertConfigError(() => parseCollectionList('{"db":"x"}'), "collection_list", 'database "db"');
  assertConfigError(() => parseCollectionList('["a", 2]'), "collection_list", "only strings");
  assertConfigError(() => parseCollectionList("null"), "collection_list", "failed to parse collection list");
});

Deno.test("collectionDatabases lists names without the ignored ones", () => {
  assert.equal(collectionDatabases(parseCollectionList("ALL"), ["x"]), "all");
  assert.deepEqual(collectionDatabases(parseCollectionList('["a","b","a"]'), ["b"]), ["a"]);
  assert.deepEqual(collectionDatabases(parseCollectionList('{"a":{},"azure_sys":{}}'), ["azure_sys"]), ["a"]);
  assert.deepEqual(collectionDatabases(parseCollectionList("{}")), []);
});

function withQueryLens(over: Partial<Config["querylens"]>): Config {
  const c = valid();
  return { ...c, querylens: { ...c.querylens, ...over } };
}

Deno.test("querylens: scalar settings out of range name their key and value", () => {
  const cases: [Partial<Config["querylens"]>, string, string][] = [
    [{ pollMs: 4 }, "querylens_poll_ms", "must be an integer >= 5, got 4"],
    [{ slowMs: -1 }, "querylens_slow_ms", "got -1"],
    [{ ratePerSecond: 2.5 }, "querylens_rate_per_second", "got 2.5"],
    [{ burst: -3 }, "querylens_burst", "got -3"],
    [{ maxPerCycle: -1 }, "querylens_max_per_cycle", "got -1"],
    [{ mode: "maybe" as "on" }, "querylens", 'must be auto, on or off, got "maybe"'],
    [{ source: "shm" as "ffi" }, "querylens_source", 'got "shm"'],
  ];
  for (const [over, key, text] of cases) {
    assertConfigError(() => validateConfig(withQueryLens(over)), key, `${key}`, text);
  }
  assert.equal(
    validateConfig(withQueryLens({ pollMs: 5, slowMs: 0, burst: 0, ratePerSecond: 0 })).config.querylens
      .pollMs,
    5,
  );
});

Deno.test("querylens rules: the file's tables become typed rules", () => {
  assert.deepEqual(
    parseQueryLensRules([
      { name: "a", rate: 0.5 },
      {
        name: "b",
        priority: -2,
        rate: 1,
        bypass_rate_limit: true,
        match: {
          database: "shop",
          query_id: "+0042",
          min_duration_ms: 10,
          cmd_type: "DELETE",
          toplevel: false,
        },
      },
      { name: "c", rate: 0, match: { query_id: -12 } },
    ]),
    [
      { name: "a", priority: 0, rate: 0.5, bypassRateLimit: false, match: {} },
      {
        name: "b",
        priority: -2,
        rate: 1,
        bypassRateLimit: true,
        match: { database: "shop", queryId: "42", minDurationMs: 10, cmdType: "delete", toplevel: false },
      },
      { name: "c", priority: 0, rate: 0, bypassRateLimit: false, match: { queryId: "-12" } },
    ],
  );
  assert.deepEqual(parseQueryLensRules([]), []);
});

Deno.test("querylens rules: each problem names the rule by number and name, the key and the value", () => {
  const cases: [unknown, string][] = [
    [{ rules: 1 }, 'must be an array of tables ([[querylens.rules]]), got {"rules":1}'],
    [[{ name: "a", rate: 1 }, "x"], 'rule 2: must be a table, got "x"'],
    [[{ rate: 1 }], "rule 1: name must be a non-empty string, got nothing"],
    [[{ name: "", rate: 1 }], 'rule 1 (""): name must be a non-empty string, got ""'],
    [[{ name: "a", rate: 1 }, { name: "a", rate: 1 }], 'rule 2 ("a"): name "a" is used by an earlier rule'],
    [[{ name: "hot", rate: 1.5 }], 'rule 1 ("hot"): rate must be a number from 0 to 1, got 1.5'],
    [[{ name: "hot" }], 'rule 1 ("hot"): rate must be a number from 0 to 1, got nothing'],
    [[{ name: "hot", rate: "1" }], 'rule 1 ("hot"): rate must be a number from 0 to 1, got "1"'],
    [[{ name: "hot", rate: 1, priority: 1.5 }], 'rule 1 ("hot"): priority must be an integer, got 1.5'],
    [
      [{ name: "hot", rate: 1, bypass_rate_limit: "yes" }],
      'bypass_rate_limit must be true or false, got "yes"',
    ],
    [[{ name: "hot", rate: 1, ratio: 1 }], 'rule 1 ("hot"): unknown key "ratio"'],
    [[{ name: "hot", rate: 1, match: [] }], 'rule 1 ("hot"): match must be a table, got []'],
    [[{ name: "hot", rate: 1, match: { db: "x" } }], 'rule 1 ("hot"): unknown key "match.db"'],
    [[{ name: "hot", rate: 1, match: { database: 5 } }], "match.database must be a non-empty string, got 5"],
    [
      [{ name: "hot", rate: 1, match: { query_id: "12a" } }],
      'match.query_id must be a decimal query id, got "12a"',
    ],
    [
      [{ name: "hot", rate: 1, match: { query_id: 1.5 } }],
      "match.query_id must be a decimal query id, got 1.5",
    ],
    [
      [{ name: "hot", rate: 1, match: { query_id: "9223372036854775808" } }],
      'match.query_id must be a decimal 64-bit query id, got "9223372036854775808"',
    ],
    [
      [{ name: "hot", rate: 1, match: { min_duration_ms: -1 } }],
      "match.min_duration_ms must be a number >= 0, got -1",
    ],
    [
      [{ name: "hot", rate: 1, match: { cmd_type: "merge" } }],
      'match.cmd_type must be one of select, update, insert, delete, other, got "merge"',
    ],
    [[{ name: "hot", rate: 1, match: { toplevel: 1 } }], "match.toplevel must be true or false, got 1"],
  ];
  for (const [json, text] of cases) {
    assertConfigError(() => parseQueryLensRules(json), "querylens.rules", "querylens.rules: ", text);
  }
});

Deno.test("querylens rules: validateConfig checks typed rules too, naming where they came from", () => {
  const bad = withQueryLens({
    rules: [{ name: "hot", priority: 0, rate: 2, bypassRateLimit: false, match: {} }],
  });
  assertConfigError(
    () => validateConfig(bad, (key) => (key === "querylens.rules" ? "config file q.toml" : undefined)),
    "querylens.rules",
    'querylens.rules (config file q.toml): rule 1 ("hot"): rate must be a number from 0 to 1, got 2',
  );
});

Deno.test("ash: settings out of range name their key and value; the least interval is accepted", () => {
  const withAsh = (over: Partial<Config["ash"]>): Config => {
    const c = valid();
    return { ...c, ash: { ...c.ash, ...over } };
  };
  const cases: [Partial<Config["ash"]>, string, string][] = [
    [{ intervalMs: 99 }, "ash_interval_ms", "must be a whole number of milliseconds >= 100, got 99"],
    [{ intervalMs: 250.5 }, "ash_interval_ms", "got 250.5"],
    [{ retentionSeconds: 0 }, "ash_retention_seconds", "must be an integer >= 1, got 0"],
    [{ maxSamples: 0 }, "ash_max_samples", "got 0"],
    [{ oneshotSamples: 0 }, "ash_oneshot_samples", "got 0"],
    [{ mode: "always" as "on" }, "ash", 'must be auto, on or off, got "always"'],
  ];
  for (const [over, key, text] of cases) {
    assertConfigError(() => validateConfig(withAsh(over)), key, `${key}: `, text);
  }
  const ok = validateConfig(withAsh({ intervalMs: 100, maxSamples: 1, oneshotSamples: 1 })).config.ash;
  assert.deepEqual(ok, {
    mode: "auto",
    intervalMs: 100,
    retentionSeconds: 3600,
    maxSamples: 1,
    oneshotSamples: 1,
  });
});

Deno.test("plans: defaults are valid; settings out of range name their key and value", () => {
  assert.deepEqual(validateConfig(valid()).config.plans, {
    topQueries: 20,
    dictionaryMax: 5000,
    regressionRatio: 1.5,
    regressionMinExecutions: 5,
  });
  const cases: [Partial<Config["plans"]>, string, string][] = [
    [{ topQueries: -1 }, "plan_top_queries", "must be an integer >= 0, got -1"],
    [{ topQueries: 2.5 }, "plan_top_queries", "got 2.5"],
    [{ dictionaryMax: 0 }, "plan_dictionary_max", "must be an integer >= 1, got 0"],
    [{ regressionRatio: 1 }, "plan_regression_ratio", "must be a number > 1, got 1"],
    [{ regressionRatio: 0.5 }, "plan_regression_ratio", "got 0.5"],
    [{ regressionRatio: NaN }, "plan_regression_ratio", "got NaN"],
    [{ regressionRatio: Infinity }, "plan_regression_ratio", "got Infinity"],
    [{ regressionMinExecutions: 0 }, "plan_regression_min_executions", "must be an integer >= 1, got 0"],
  ];
  for (const [over, key, text] of cases) {
    const c = valid();
    c.plans = { ...c.plans, ...over };
    assertConfigError(() => validateConfig(c), key, key, text);
  }
  const edge = valid();
  edge.plans = { topQueries: 0, dictionaryMax: 1, regressionRatio: 1.01, regressionMinExecutions: 1 };
  assert.deepEqual(validateConfig(edge).config.plans, edge.plans);
});

Deno.test("os: settings out of range name their key and value; the bounds are accepted", () => {
  const withOs = (over: Partial<Config["os"]>): Config => {
    const c = valid();
    return { ...c, os: { ...c.os, ...over } };
  };
  const cases: [Partial<Config["os"]>, string, string][] = [
    [
      { oneshotIntervalMs: 49 },
      "os_oneshot_interval_ms",
      "must be a whole number of milliseconds from 50 to 10000, got 49",
    ],
    [{ oneshotIntervalMs: 10_001 }, "os_oneshot_interval_ms", "got 10001"],
    [{ oneshotIntervalMs: 200.5 }, "os_oneshot_interval_ms", "got 200.5"],
    [{ mode: "always" as "on" }, "os_metrics", 'must be auto, on or off, got "always"'],
  ];
  for (const [over, key, text] of cases) {
    assertConfigError(() => validateConfig(withOs(over)), key, `${key}: `, text);
  }
  assert.deepEqual(validateConfig(withOs({ oneshotIntervalMs: 50 })).config.os, {
    mode: "auto",
    oneshotIntervalMs: 50,
  });
  assert.deepEqual(validateConfig(withOs({ mode: "off", oneshotIntervalMs: 10_000 })).config.os, {
    mode: "off",
    oneshotIntervalMs: 10_000,
  });
});

Deno.test("ebpf: off by default; settings out of range name their key and value; the bounds are accepted", () => {
  assert.deepEqual(validateConfig(valid()).config.ebpf, { enabled: false, thresholdMs: 10, sampleEvery: 1 });
  const withEbpf = (over: Partial<Config["ebpf"]>): Config => {
    const c = valid();
    return { ...c, ebpf: { ...c.ebpf, ...over } };
  };
  const cases: [Partial<Config["ebpf"]>, string, string][] = [
    [{ thresholdMs: -1 }, "ebpf_threshold_ms", "must be a number of milliseconds from 0 to 3600000, got -1"],
    [{ thresholdMs: 3_600_001 }, "ebpf_threshold_ms", "got 3600001"],
    [{ thresholdMs: NaN }, "ebpf_threshold_ms", "got NaN"],
    [{ sampleEvery: 0 }, "ebpf_sample_every", "must be an integer from 1 to 4294967295, got 0"],
    [{ sampleEvery: 2.5 }, "ebpf_sample_every", "got 2.5"],
    [{ enabled: "yes" as unknown as boolean }, "ebpf", 'must be true or false, got "yes"'],
  ];
  for (const [over, key, text] of cases) {
    assertConfigError(() => validateConfig(withEbpf(over)), key, `${key}: `, text);
  }
  assert.deepEqual(
    validateConfig(withEbpf({ enabled: true, thresholdMs: 0, sampleEvery: 1 })).config.ebpf,
    { enabled: true, thresholdMs: 0, sampleEvery: 1 },
  );
  assert.deepEqual(
    validateConfig(withEbpf({ thresholdMs: 3_600_000, sampleEvery: 0xffffffff })).config.ebpf,
    { enabled: false, thresholdMs: 3_600_000, sampleEvery: 0xffffffff },
  );
});
