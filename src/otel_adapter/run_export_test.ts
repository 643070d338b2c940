import assert from "node:assert/strict";
import { join } from "node:path";
import { defaultConfig } from "../config/defaults.ts";
import type { Config } from "../config/types.ts";
import { createLogger } from "../core/log.ts";
import { dateToNs } from "./metrics.ts";
import type { LogsRequest, MetricsRequest } from "./otlp_proto.ts";
import { CLOSE_GRACE_MS, openExport } from "./run_export.ts";
import { exportStateName } from "./state_store.ts";
import { FIXTURE_INSTANCE, fixtureSnapshot, startOtlpServer, testSettings } from "./testing.ts";

const T0 = new Date("2026-03-01T10:00:00Z");
const T1 = new Date("2026-03-01T10:00:30Z");
const START_NS = dateToNs(new Date("2026-03-01T09:00:00Z"));

function capture() {
  const lines: string[] = [];
  return { lines, logger: createLogger("debug", (l) => lines.push(l)) };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pgql-run-export-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function configIn(tempDir: string, over: Partial<Config> = {}): Config {
  return {
    ...defaultConfig(),
    mode: "otel",
    hostname: FIXTURE_INSTANCE.host,
    port: FIXTURE_INSTANCE.port,
    tempDir,
    ...over,
  };
}

function commits(req: MetricsRequest) {
  const m = req.resourceMetrics.flatMap((rm) => rm.scopeMetrics[0].metrics).find((x) =>
    x.name === "postgresql.commits"
  );
  assert.ok(m?.kind === "sum", "no postgresql.commits sum");
  return m.dataPoints[0];
}

function events(req: LogsRequest): string[] {
  return req.resourceLogs.flatMap((rl) =>
    rl.scopeLogs.flatMap((sl) => sl.logRecords.map((r) => r.eventName!))
  )
    .sort();
}

Deno.test("one-shot runs save the state in temp_dir and the next run continues from it", async () => {
  await withTempDir(async (root) => {
    await using srv = startOtlpServer();
    const { lines, logger } = capture();
    const tempDir = join(root, "state");
    const config = configIn(tempDir);
    const settings = testSettings(srv.endpoint);
    const path = join(tempDir, exportStateName(config.hostname, config.port));

    const first = await openExport(config, settings, logger, START_NS);
    first.exporter.exportSnapshot(fixtureSnapshot(T0, 0), 5);
    await first.finish();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const saved = JSON.parse(await Deno.readTextFile(path));
    assert.equal(saved.version, 1);
    assert.ok(saved.series.series.length >= 4);
    assert.equal(saved.topQueries.length, 1);

    const second = await openExport(config, settings, logger, START_NS);
    assert.deepEqual(second.exporter.state().series.series, first.exporter.state().series.series);
    assert.deepEqual(second.exporter.state().topQueries.previous, first.exporter.state().topQueries.previous);
    second.exporter.exportSnapshot(fixtureSnapshot(T1, 3), 5);
    await second.finish();

    const metrics = srv.metrics();
    assert.equal(metrics.length, 2);
    assert.deepEqual([commits(metrics[0]).startTimeUnixNano, commits(metrics[0]).value], [
      dateToNs(T0),
      981234n,
    ]);
    // The second process keeps the first observation as the series start.
    assert.deepEqual([commits(metrics[1]).startTimeUnixNano, commits(metrics[1]).value], [
      dateToNs(T0),
      981264n,
    ]);
    const logs = srv.logs();
    assert.deepEqual(events(logs[0]), ["pgquerylens.wait_event"]);
    assert.deepEqual(events(logs[1]), ["db.server.top_query", "pgquerylens.wait_event"]);
    const top = logs[1].resourceLogs[0].scopeLogs[0].logRecords.find((r) =>
      r.eventName === "db.server.top_query"
    )!;
    assert.deepEqual(top.attributes!.find((kv) => kv.key === "postgresql.calls")?.value, 3n);
    assert.deepEqual(lines.filter((l) => l.startsWith("[WARN]") || l.startsWith("[ERROR]")), []);

    const resaved = JSON.parse(await Deno.readTextFile(path));
    assert.ok(
      resaved.series.series.every((e: [string, string, number, string]) => e[3] === String(dateToNs(T1))),
    );
  });
});

Deno.test("a corrupt state file is reported and the run starts over", async () => {
  await withTempDir(async (tempDir) => {
    await using srv = startOtlpServer();
    const { lines, logger } = capture();
    const config = configIn(tempDir);
    const path = join(tempDir, exportStateName(config.hostname, config.port));
    await Deno.writeTextFile(path, "{");
    const run = await openExport(config, testSettings(srv.endpoint), logger, START_NS);
    assert.equal(run.exporter.state().series.series.size, 0);
    run.exporter.exportSnapshot(fixtureSnapshot(T1, 0), 5);
    await run.finish();
    const warnings = lines.filter((l) => l.startsWith("[WARN]"));
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.ok(warnings[0].startsWith(`[WARN] OTLP state ${path} is corrupt (`), warnings[0]);
    assert.ok(warnings[0].endsWith("): starting empty"), warnings[0]);
    assert.equal(commits(srv.metrics()[0]).startTimeUnixNano, dateToNs(T1));
    assert.equal(JSON.parse(await Deno.readTextFile(path)).version, 1);
  });
});

Deno.test("a daemon neither loads nor saves state", async () => {
  await withTempDir(async (root) => {
    await using srv = startOtlpServer();
    const { lines, logger } = capture();
    const tempDir = join(root, "state");
    const oneShot = await openExport(configIn(tempDir), testSettings(srv.endpoint), logger, START_NS);
    oneShot.exporter.exportSnapshot(fixtureSnapshot(T0, 0), 5);
    await oneShot.finish();
    const path = join(tempDir, exportStateName(FIXTURE_INSTANCE.host, FIXTURE_INSTANCE.port));
    const before = await Deno.readTextFile(path);

    const daemon = await openExport(
      configIn(tempDir, { intervalSeconds: 60 }),
      testSettings(srv.endpoint),
      logger,
      START_NS,
    );
    assert.equal(daemon.exporter.state().series.series.size, 0);
    daemon.exporter.exportSnapshot(fixtureSnapshot(T1, 2), 5);
    await daemon.finish();
    assert.equal(await Deno.readTextFile(path), before);
    assert.equal(commits(srv.metrics()[1]).startTimeUnixNano, dateToNs(T1));

    const elsewhere = join(root, "daemon-only");
    const other = await openExport(
      configIn(elsewhere, { intervalSeconds: 60 }),
      testSettings(srv.endpoint),
      logger,
      START_NS,
    );
    other.exporter.exportSnapshot(fixtureSnapshot(T1, 2), 5);
    await other.finish();
    await assert.rejects(Deno.stat(elsewhere), Deno.errors.NotFound);
    assert.equal(srv.metrics().length, 3);
    assert.deepEqual(lines.filter((l) => l.startsWith("[WARN]") || l.startsWith("[ERROR]")), []);
  });
});

Deno.test("an unusable state directory is logged and the export still runs", async () => {
  await withTempDir(async (root) => {
    await using srv = startOtlpServer();
    const { lines, logger } = capture();
    const file = join(root, "not-a-dir");
    await Deno.writeTextFile(file, "");
    const run = await openExport(configIn(file), testSettings(srv.endpoint), logger, START_NS);
    run.exporter.exportSnapshot(fixtureSnapshot(T0, 0), 5);
    await run.finish();
    assert.deepEqual(lines.filter((l) => l.startsWith("[ERROR]")), [
      `[ERROR] OTLP state directory ${file} exists but is not a directory; OTLP series start over this run`,
    ]);
    assert.equal(srv.metrics().length, 1);
  });
});

Deno.test("a certificate file that cannot be read makes openExport throw naming the file", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "missing-ca.pem");
    for (const protocol of ["http/protobuf", "grpc"]) {
      const settings = testSettings("https://127.0.0.1:4318", { certificate: missing, protocol });
      await assert.rejects(
        openExport(configIn(dir), settings, capture().logger, START_NS),
        (e: Error) => e.message.includes(`cannot read certificate file ${missing}`),
        protocol,
      );
    }
  });
});

Deno.test("finish waits up to the export timeout, warns about requests left, and still saves the state", async () => {
  await withTempDir(async (tempDir) => {
    await using srv = startOtlpServer(() => "hang");
    const { lines, logger } = capture();
    const config = configIn(tempDir);
    const run = await openExport(config, testSettings(srv.endpoint, { timeoutMs: 300 }), logger, START_NS);
    run.exporter.exportSnapshot(fixtureSnapshot(T0, 0), 5);
    run.exporter.exportSnapshot(fixtureSnapshot(T1, 1), 5);
    const t0 = performance.now();
    await run.finish();
    const took = performance.now() - t0;
    assert.ok(took >= 290 && took < 300 + CLOSE_GRACE_MS + 1000, `finish took ${took} ms`);
    // Per signal: one request in flight (hanging) and the second cycle's waiting behind it.
    assert.deepEqual(lines.filter((l) => l.includes("undelivered at exit")), [
      "[WARN] OTLP: 4 request(s) undelivered at exit got one last attempt (receiver unreachable or slow)",
    ]);
    await Deno.stat(join(tempDir, exportStateName(config.hostname, config.port)));
    srv.release();
    await run.exporter.flush(5000);
  });
});
