import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../tests/support/cluster.ts";
import { clusterEnv, metricSetsByType, runCollectorProcess } from "../tests/support/collector.ts";
import { type ReceivedRequest, startReceiver } from "../tests/support/oteltest.ts";
import { defaultConfig } from "./config/defaults.ts";
import type { Config } from "./config/types.ts";
import { createLogger, IssueReporter } from "./core/log.ts";
import { resolveOtelSettings } from "./otel_adapter/settings.ts";
import { exportStateName } from "./otel_adapter/state_store.ts";
import { testSettings } from "./otel_adapter/testing.ts";
import { rateStateName, runCollector } from "./run.ts";

/** Metric names per resource (keyed by its `server.port` and `postgresql.database.name`) of `requests`. */
function metricNames(requests: ReceivedRequest[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of requests) {
    // deno-lint-ignore no-explicit-any
    for (const rm of (r.request as any).resourceMetrics ?? []) {
      // deno-lint-ignore no-explicit-any
      const attr = (k: string) => rm.resource.attributes.find((a: any) => a.key === k)?.value;
      const key = `${attr("server.port")?.intValue}/${attr("postgresql.database.name")?.stringValue ?? ""}`;
      const names = out.get(key) ?? new Set<string>();
      // deno-lint-ignore no-explicit-any
      for (const sm of rm.scopeMetrics) for (const m of sm.metrics) names.add((m as any).name);
      out.set(key, names);
    }
  }
  return out;
}

/** A fresh state directory under the only path the collector process may write. */
function processTempDir(): string {
  return `/tmp/pgquerylens/run-test-${crypto.randomUUID()}`;
}

function capture() {
  const lines: string[] = [];
  const logger = createLogger("debug", (l) => lines.push(l));
  return { lines, logger, issues: new IssueReporter(logger) };
}

Deno.test("runCollector in otel mode with an unreadable certificate returns 1 naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pgql-run-cert-" });
  try {
    const missing = join(dir, "missing-ca.pem");
    const { lines, logger, issues } = capture();
    const config: Config = {
      ...defaultConfig(),
      username: "u",
      password: "p",
      mode: "otel",
      tempDir: dir,
      otel: { ...defaultConfig().otel, endpoint: "https://127.0.0.1:4318", certificate: missing },
    };
    const otelSettings = resolveOtelSettings(config.otel, () => undefined);
    assert.equal(await runCollector(config, logger, issues, { otelSettings }), 1);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /^\[ERROR\] OTLP export: OTLP metrics: cannot read certificate file /);
    assert.ok(lines[0].includes(missing), lines[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runCollector against a real server", async (t) => {
  await using cluster = await startCluster({ name: "run" });
  const base: Config = {
    ...defaultConfig(),
    username: "postgres",
    password: cluster.password,
    hostname: cluster.host,
    port: String(cluster.port),
    session: { applicationName: "pgql-run-test", statementTimeoutMs: 5000, lockTimeoutMs: 1000 },
  };
  const sessions = async () =>
    (await cluster
      .sql()`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pgql-run-test'`)[0]
      .n;

  await t.step("one-shot: one cycle, exit code 0, sessions closed", async () => {
    const { lines, logger, issues } = capture();
    assert.equal(await runCollector(base, logger, issues), 0);
    assert.equal(lines.filter((l) => l.startsWith("[DEBUG] cycle took")).length, 1, lines.join("\n"));
    assert.deepEqual(lines.filter((l) => l.startsWith("[ERROR]") || l.startsWith("[WARN]")), []);
    for (let i = 0; (await sessions()) > 0; i++) {
      assert.ok(i < 100, "sessions left open");
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  await t.step("daemon: cycles until SIGTERM, which ends the wait at once", async () => {
    const { lines, logger, issues } = capture();
    const cycles = () => lines.filter((l) => l.startsWith("[DEBUG] cycle took")).length;
    const run = runCollector({ ...base, intervalSeconds: 0.3 }, logger, issues);
    for (let i = 0; cycles() < 2; i++) {
      assert.ok(i < 200, `no second cycle: ${lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const live = await sessions();
    assert.equal(live, 1, "one session reused across cycles");
    const slow = runCollector({ ...base, intervalSeconds: 3600 }, capture().logger, issues);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    Deno.kill(Deno.pid, "SIGTERM");
    assert.deepEqual(await Promise.all([run, slow]), [0, 0]);
    assert.ok(performance.now() - t0 < 2000, "the hour-long wait was cut short");
    for (let i = 0; (await sessions()) > 0; i++) {
      assert.ok(i < 100, "sessions left open");
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  await t.step("hybrid one-shot: NRI and OTLP from the same cycle, state of both saved", async () => {
    await using rx = await startReceiver();
    const tempDir = await Deno.makeTempDir({ prefix: "pgql-run-hybrid-" });
    try {
      const { lines, logger, issues } = capture();
      const config: Config = { ...base, mode: "hybrid", tempDir, collectionList: '["postgres"]' };
      assert.equal(
        await runCollector(config, logger, issues, { otelSettings: testSettings(rx.httpEndpoint) }),
        0,
      );
      assert.deepEqual(lines.filter((l) => l.startsWith("[ERROR]") || l.startsWith("[WARN]")), []);
      assert.equal(lines.filter((l) => l.startsWith("[DEBUG] cycle took")).length, 1);
      // The NRI side ran: one-shot NRI runs keep their rate state.
      await Deno.stat(join(tempDir, `${rateStateName(config.hostname, config.port)}.json`));
      await Deno.stat(join(tempDir, exportStateName(config.hostname, config.port)));
      const { metrics } = await rx.received();
      assert.equal(metrics.length, 1);
      const names = metricNames(metrics);
      assert.ok(
        names.get(`${cluster.port}/`)?.has("pgquerylens.collector.cycle.duration"),
        [...names.keys()].join(),
      );
      assert.ok(names.get(`${cluster.port}/postgres`)?.has("postgresql.commits"), [...names.keys()].join());
      const atExit = lines.find((l) => l.startsWith("[DEBUG] OTLP at exit: "));
      assert.ok(atExit, lines.join("\n"));
      const queues = JSON.parse(atExit.slice("[DEBUG] OTLP at exit: ".length));
      assert.deepEqual([queues.metrics.sent, queues.metrics.failed, queues.metrics.queued], [1, 0, 0]);
    } finally {
      await Deno.remove(tempDir, { recursive: true });
    }
  });

  await t.step("otel mode, as the collector process: OTLP over gRPC and nothing on stdout", async () => {
    await using rx = await startReceiver();
    const tempDir = processTempDir();
    try {
      const run = await runCollectorProcess(
        ["-mode=otel", "-verbose", `-otel_endpoint=http://${rx.grpcEndpoint}`, "-otel_protocol=grpc"],
        { ...clusterEnv(cluster, "postgres", cluster.password), TEMP_DIR: tempDir, COLLECTION_LIST: "ALL" },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /\[DEBUG\] otlp: cycle \d+ ms; metrics: /);
      const { metrics } = await rx.received();
      assert.ok(metrics.length >= 1 && metrics.every((m) => m.transport === "grpc"));
      assert.ok(metricNames(metrics).get(`${cluster.port}/postgres`)?.has("postgresql.commits"));
      await Deno.stat(join(tempDir, exportStateName(cluster.host, String(cluster.port))));
      await assert.rejects(
        Deno.stat(join(tempDir, `${rateStateName(cluster.host, String(cluster.port))}.json`)),
      );
    } finally {
      await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    }
  });

  await t.step("hybrid mode, as the collector process: NRI documents on stdout and OTLP", async () => {
    await using rx = await startReceiver();
    const tempDir = processTempDir();
    try {
      const run = await runCollectorProcess(
        ["-mode=hybrid", `-otel_endpoint=${rx.httpEndpoint}`],
        { ...clusterEnv(cluster, "postgres", cluster.password), TEMP_DIR: tempDir, COLLECTION_LIST: "ALL" },
      );
      assert.equal(run.code, 0, run.stderr);
      const sets = metricSetsByType(run.stdout);
      assert.ok(
        (sets.get("PostgresqlDatabaseSample") ?? []).some((m) => m.displayName === "postgres"),
        run.stdout,
      );
      const { metrics } = await rx.received();
      assert.ok(metrics.length >= 1 && metrics.every((m) => m.transport === "http"));
      assert.ok(metricNames(metrics).get(`${cluster.port}/postgres`)?.has("postgresql.commits"));
    } finally {
      await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    }
  });
});
