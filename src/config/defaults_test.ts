import assert from "node:assert/strict";
import { defaultConfig, findFlag, findOption, OPTIONS } from "./defaults.ts";
import type { Config } from "./types.ts";

/** Leaf paths of a config object whose values differ between `a` and `b`. */
function changedPaths(a: Config, b: Config): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (typeof x === "object" && x !== null && !Array.isArray(x)) {
      const keys = new Set([...Object.keys(x), ...Object.keys(y as object)]);
      for (const k of keys) {
        walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      }
    } else if (JSON.stringify(x) !== JSON.stringify(y)) {
      out.push(path);
    }
  };
  walk(a, b, "");
  return out;
}

/** Paths of the non-object values of `x`. */
function leafPaths(x: object, prefix = ""): string[] {
  return Object.entries(x).flatMap(([k, v]) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? leafPaths(v, `${prefix}${k}.`)
      : [`${prefix}${k}`]
  );
}

Deno.test("defaultConfig holds nri-postgresql's defaults", () => {
  const c = defaultConfig();
  assert.equal(c.username, "");
  assert.equal(c.password, "");
  assert.equal(c.hostname, "localhost");
  assert.equal(c.port, "5432");
  assert.equal(c.database, "postgres");
  assert.equal(c.timeout, 10);
  assert.equal(c.collectionList, "{}");
  assert.deepEqual(c.collectionIgnoreDatabaseList, []);
  assert.deepEqual(c.collectionIgnoreTableList, []);
  assert.equal(c.collectBloatMetrics, true);
  assert.equal(c.collectSystemSchemas, false);
  for (
    const off of [
      "enableSsl",
      "trustServerCertificate",
      "pgbouncer",
      "collectDbLockMetrics",
      "enableQueryMonitoring",
      "isRds",
      "verbose",
      "pretty",
      "metrics",
      "inventory",
      "events",
      "metadata",
      "nriAddHostname",
      "showVersion",
    ] as const
  ) {
    assert.equal(c[off], false, off);
  }
  assert.equal(c.queryMonitoringResponseTimeThreshold, 1);
  assert.equal(c.queryMonitoringCountThreshold, 20);
  assert.equal(c.cacheTtlSeconds, 6 * 60);
  for (
    const empty of [
      "sslRootCertLocation",
      "sslCertLocation",
      "sslKeyLocation",
      "nriCluster",
      "nriService",
    ] as const
  ) {
    assert.equal(c[empty], "", empty);
  }
  assert.equal(c.customMetricsQuery, "");
  assert.equal(c.customMetricsConfig, "");
});

Deno.test("defaultConfig holds the collector's own defaults", () => {
  const c = defaultConfig();
  assert.equal(c.mode, "nri");
  assert.equal(c.intervalSeconds, undefined);
  assert.equal("intervalSeconds" in c, false);
  assert.equal(c.nriProtocol, 3);
  assert.equal(c.compat, true);
  assert.equal(c.tempDir, "/tmp/pgquerylens");
  assert.deepEqual(c.session, {
    applicationName: "pgquerylens",
    statementTimeoutMs: 5000,
    lockTimeoutMs: 1000,
  });
  assert.deepEqual(c.explain, { timeoutMs: 2000, maxPerCycle: 50, cacheTtlSeconds: 3600 });
  assert.deepEqual(c.activitySampling, { intervalMs: 200, samples: 5 });
});

Deno.test("defaultConfig returns a fresh object each time", () => {
  const a = defaultConfig();
  a.session.applicationName = "changed";
  a.collectionIgnoreDatabaseList.push("x");
  const b = defaultConfig();
  assert.equal(b.session.applicationName, "pgquerylens");
  assert.deepEqual(b.collectionIgnoreDatabaseList, []);
});

Deno.test("every upstream flag is an option whose variable is its upper-case name", () => {
  const upstream = [
    "username",
    "password",
    "hostname",
    "port",
    "database",
    "collection_list",
    "collection_ignore_database_list",
    "collection_ignore_table_list",
    "ssl_root_cert_location",
    "ssl_cert_location",
    "ssl_key_location",
    "timeout",
    "custom_metrics_query",
    "custom_metrics_config",
    "enable_ssl",
    "trust_server_certificate",
    "pgbouncer",
    "collect_db_lock_metrics",
    "collect_bloat_metrics",
    "show_version",
    "enable_query_monitoring",
    "query_monitoring_response_time_threshold",
    "query_monitoring_count_threshold",
    "is_rds",
    "verbose",
    "pretty",
    "metrics",
    "inventory",
    "events",
    "metadata",
    "nri_add_hostname",
    "nri_cluster",
    "nri_service",
    "temp_dir",
    "cache_ttl",
  ];
  for (const name of upstream) {
    const o = findFlag(name);
    assert.ok(o, name);
    assert.equal(o.env, name.toUpperCase(), name);
    assert.equal(o.file, name, name);
  }
});

Deno.test("the collector's own flags use PGQUERYLENS_ variables", () => {
  const own: Record<string, string> = {
    config: "PGQUERYLENS_CONFIG",
    mode: "PGQUERYLENS_MODE",
    interval: "PGQUERYLENS_INTERVAL",
    nri_protocol: "PGQUERYLENS_NRI_PROTOCOL",
    compat: "PGQUERYLENS_COMPAT",
    password_file: "PGQUERYLENS_PASSWORD_FILE",
    application_name: "PGQUERYLENS_APPLICATION_NAME",
    statement_timeout: "PGQUERYLENS_STATEMENT_TIMEOUT",
    lock_timeout: "PGQUERYLENS_LOCK_TIMEOUT",
  };
  for (const [name, env] of Object.entries(own)) assert.equal(findFlag(name)?.env, env, name);
});

Deno.test("option names, variables and file keys are unique", () => {
  for (const field of ["name", "env", "file"] as const) {
    const seen = OPTIONS.map((o) => o[field]).filter((v) => v !== undefined);
    assert.equal(new Set(seen).size, seen.length, field);
  }
});

Deno.test("file-only options are not flags", () => {
  assert.equal(findFlag("explain.timeout_ms"), undefined);
  assert.equal(findOption("explain.timeout_ms")?.file, "explain.timeout_ms");
  assert.equal(findOption("no_such_option"), undefined);
});

Deno.test("each option sets exactly one config field, and no two options share one", () => {
  const owners = new Map<string, string>();
  for (const o of OPTIONS) {
    if (o.kind === "loader") continue;
    const c = defaultConfig();
    switch (o.kind) {
      case "string":
        o.set(c, o.name === "querylens.rules" ? '[{"name":"zz-distinct","rate":1}]' : "zz-distinct");
        break;
      case "bool":
        o.set(c, true);
        if (changedPaths(defaultConfig(), c).length === 0) o.set(c, false);
        break;
      case "int":
      case "number":
      case "duration":
        o.set(c, 987654);
        break;
      case "list":
        o.set(c, ["zz-distinct"]);
        break;
      case "choice":
        o.set(c, o.choices[o.choices.length - 1]);
        break;
    }
    const changed = changedPaths(defaultConfig(), c);
    assert.equal(changed.length, 1, `${o.name} changed ${JSON.stringify(changed)}`);
    assert.ok(!owners.has(changed[0]), `${o.name} and ${owners.get(changed[0])} both set ${changed[0]}`);
    owners.set(changed[0], o.name);
  }
  // Every config field is reachable from some option (the password also from password_file).
  const allPaths = [...leafPaths(defaultConfig()), "intervalSeconds", "querylens.slowMs"];
  for (const path of allPaths) assert.ok(owners.has(path), `no option sets ${path}`);
});

Deno.test("active session history defaults: auto, 1 s samples kept an hour, 1,000,000 session-samples, 3 one-shot samples", () => {
  assert.deepEqual(defaultConfig().ash, {
    mode: "auto",
    intervalMs: 1000,
    retentionSeconds: 3600,
    maxSamples: 1_000_000,
    oneshotSamples: 3,
  });
  assert.equal(findFlag("ash")?.file, "ash.enabled");
  assert.equal(findFlag("ash_interval_ms")?.env, "PGQUERYLENS_ASH_INTERVAL_MS");
});

Deno.test("OS metrics defaults: auto, one-shot readings 200 ms apart; -os_metrics is os.enabled", () => {
  assert.deepEqual(defaultConfig().os, { mode: "auto", oneshotIntervalMs: 200 });
  assert.equal(findFlag("os_metrics")?.file, "os.enabled");
  assert.equal(findFlag("os_metrics")?.env, "PGQUERYLENS_OS_METRICS");
  assert.equal(findFlag("os_oneshot_interval_ms")?.env, "PGQUERYLENS_OS_ONESHOT_INTERVAL_MS");
});

Deno.test("eBPF tier defaults: off, 10 ms threshold, every query; -ebpf is ebpf.enabled", () => {
  assert.deepEqual(defaultConfig().ebpf, { enabled: false, thresholdMs: 10, sampleEvery: 1 });
  assert.equal(findFlag("ebpf")?.file, "ebpf.enabled");
  assert.equal(findFlag("ebpf")?.env, "PGQUERYLENS_EBPF");
  assert.equal(findFlag("ebpf_threshold_ms")?.env, "PGQUERYLENS_EBPF_THRESHOLD_MS");
  assert.equal(findFlag("ebpf_sample_every")?.file, "ebpf.sample_every");
});
