import assert from "node:assert/strict";
import type { Config } from "../config/types.ts";
import { defaultConfig } from "../config/defaults.ts";
import type { Logger, LogLevel } from "../core/log.ts";
import { emptySnapshot } from "../core/model.ts";
import { VERSION } from "../version.ts";
import { describeDropped, nriOptionsFromConfig, writeNri } from "./output.ts";

function config(overrides: Partial<Config> = {}): Config {
  return { ...defaultConfig(), username: "u", password: "p", hostname: "db1", ...overrides };
}

function snapshot() {
  const snap = emptySnapshot(
    { host: "db1", port: "5432", serverVersionNum: 150018, majorVersion: 15, serverVersion: "15.18" },
    new Date("2026-08-19T10:15:00Z"),
  );
  snap.blockingSessions.push({
    blockedPid: 10,
    blockedQuery: "UPDATE t SET x = ?",
    blockedQueryStart: "2026-08-19T10:14:00Z",
    databaseName: "shop",
    blockingPid: NaN,
    blockingQuery: "UPDATE t SET x = ?",
    blockingQueryStart: "2026-08-19T10:13:00Z",
  });
  snap.slowQueries.push({
    queryId: "1",
    queryText: "SELECT 1",
    databaseName: "shop",
    schemaName: "public",
    executionCount: 1,
    avgElapsedTimeMs: 1,
    avgDiskReads: 0,
    avgDiskWrites: 0,
    statementType: "SELECT",
    collectionTimestamp: "2026-08-19T10:15:00Z",
  });
  return snap;
}

function recordingLogger(): Logger & { lines: [LogLevel, string][] } {
  const lines: [LogLevel, string][] = [];
  return { lines, log: (level, message) => void lines.push([level, message]) };
}

Deno.test("output: options follow the configuration", () => {
  assert.deepEqual(nriOptionsFromConfig(config()), {
    integrationVersion: VERSION,
    pretty: false,
    addHostname: false,
    cluster: undefined,
    service: undefined,
    isRds: false,
    compat: true,
    protocol: 3,
    intervalMs: 0,
  });
  assert.deepEqual(
    nriOptionsFromConfig(
      config({
        pretty: true,
        nriAddHostname: true,
        nriCluster: "prod",
        nriService: "shop",
        isRds: true,
        compat: false,
        nriProtocol: 4,
        intervalSeconds: 15,
      }),
      "9.9.9",
    ),
    {
      integrationVersion: "9.9.9",
      pretty: true,
      addHostname: true,
      cluster: "prod",
      service: "shop",
      isRds: true,
      compat: false,
      protocol: 4,
      intervalMs: 15000,
    },
  );
});

Deno.test("output: writeNri writes each document in order and warns about dropped values", async () => {
  const written: string[] = [];
  const logger = recordingLogger();
  const count = await writeNri(snapshot(), config({ nriCluster: "prod" }), logger, async (text) => {
    await Promise.resolve();
    written.push(text);
  });
  assert.equal(count, 3);
  assert.deepEqual(written.map((d) => JSON.parse(d).data[0].metrics[0].event_type), [
    "PostgresBlockingSessions",
    "PostgresSlowQueries",
    "PgQueryLensSlowQueryDetails",
  ]);
  assert.equal(JSON.parse(written[0]).data[0].metrics[0].cluster_name, "prod");
  assert.deepEqual(logger.lines, [[
    "warn",
    "NRI output: left out 1 value(s) that are not finite numbers: " +
    "PostgresBlockingSessions.blocking_pid (not a finite number: NaN)",
  ]]);
});

Deno.test("output: -compat=false writes the detail fields into PostgresSlowQueries instead", async () => {
  const written: string[] = [];
  const snap = snapshot();
  snap.slowQueries[0].totalExecTimeMs = 2.5;
  snap.slowQueries[0].rows = 4;
  const count = await writeNri(snap, config({ compat: false }), recordingLogger(), (text) => {
    written.push(text);
    return Promise.resolve();
  });
  assert.equal(count, 2);
  const slow = JSON.parse(written[1]).data[0].metrics[0];
  assert.equal(slow.event_type, "PostgresSlowQueries");
  assert.equal(slow.total_exec_time_ms, 2.5);
  assert.equal(slow.rows, 4);
});

Deno.test("output: nothing is written or logged for an empty snapshot", async () => {
  const logger = recordingLogger();
  const snap = emptySnapshot({
    host: "h",
    port: "1",
    serverVersionNum: 0,
    majorVersion: 0,
    serverVersion: "",
  });
  const count = await writeNri(snap, config(), logger, () => Promise.reject(new Error("must not write")));
  assert.equal(count, 0);
  assert.deepEqual(logger.lines, []);
});

Deno.test("output: describeDropped groups repeated causes", () => {
  const d = {
    eventType: "PostgresSlowQueries",
    key: "avg_elapsed_time_ms",
    reason: "not a finite number: NaN",
  };
  assert.equal(
    describeDropped([d, d, { ...d, key: "execution_count" }]),
    "PostgresSlowQueries.avg_elapsed_time_ms (not a finite number: NaN) x2, " +
      "PostgresSlowQueries.execution_count (not a finite number: NaN)",
  );
});
