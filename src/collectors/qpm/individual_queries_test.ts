import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections, qpmContext } from "../../../tests/support/qpm.ts";
import { initSqlParser } from "../../query_engine/sql_text.ts";
import { type ActivitySamples, sampleActivity, type SampledExecution } from "./activity_sampler.ts";
import {
  individualFromActivity,
  individualFromPgStatMonitor,
  individualLimit,
  MAX_INDIVIDUAL_PER_QUERY,
} from "./individual_queries.ts";
import { collectSlowQueries, type SlowQueryRow } from "./slow_queries.ts";

await initSqlParser();

function slow(queryId: string, databaseName: string, avg: number): SlowQueryRow {
  return {
    queryId,
    dbid: "5",
    queryText: `SELECT $1 /* ${queryId} */`,
    databaseName,
    schemaName: "public",
    executionCount: 3,
    avgElapsedTimeMs: avg,
    avgDiskReads: 0,
    avgDiskWrites: 0,
    statementType: "SELECT",
    collectionTimestamp: "2025-01-01T00:00:00Z",
  };
}

let nextPid = 1000;
function exec(queryId: string | undefined, databaseName: string, runningMs: number, truncated = false) {
  const e: SampledExecution = {
    pid: nextPid++,
    databaseName,
    queryId,
    text: `SELECT ${runningMs} /* ${queryId} */`,
    truncated,
    startMs: 0,
    runningMs,
    waits: new Map(),
    samples: 1,
  };
  return e;
}

const samples = (executions: SampledExecution[]): ActivitySamples => ({
  executions,
  intervalMs: 200,
  samples: 5,
});

Deno.test("individualLimit is min(N, 10)", () => {
  assert.equal(MAX_INDIVIDUAL_PER_QUERY, 10);
  assert.deepEqual([0, 1, 9, 10, 11, 30].map(individualLimit), [0, 1, 9, 10, 10, 10]);
});

Deno.test("individualFromActivity: per-query limit, strict threshold, longest first", () => {
  const many = Array.from({ length: 14 }, (_, i) => exec("1", "shop", 10 + i * 1.23456));
  const activity = samples([
    ...many,
    exec("2", "shop", 5), // exactly at the threshold: left out
    exec("2", "shop", 5.0001),
    exec("2", "other", 99), // same id in another database
    exec(undefined, "shop", 500), // unlinked
    exec("3", "shop", 50), // no slow query for it
    exec("2", "shop", 7, true),
  ]);
  const rows = individualFromActivity([slow("1", "shop", 20), slow("2", "shop", 6)], activity, {
    countThreshold: 20,
    responseTimeThresholdMs: 5,
  });
  const one = rows.filter((r) => r.queryId === "1");
  assert.equal(one.length, 10);
  const expected = many.map((e) => e.runningMs).sort((a, b) => b - a).slice(0, 10);
  assert.deepEqual(one.map((r) => r.execTimeMs), expected.map((v) => Math.round(v * 1000) / 1000));
  const two = rows.filter((r) => r.queryId === "2");
  assert.deepEqual(two.map((r) => r.execTimeMs), [7, 5]);
  assert.equal(two[0].rawText, undefined, "a truncated text is not offered to EXPLAIN");
  assert.equal(two[1].rawText, "SELECT 5.0001 /* 2 */");
  for (const r of rows) {
    assert.equal(r.source, "pg_stat_activity");
    assert.equal(r.planId, "");
    assert.equal(r.databaseName, "shop");
    assert.equal(r.queryText, `SELECT $1 /* ${r.queryId} */`);
    assert.equal(r.avgExecTimeMs, r.queryId === "1" ? 20 : 6);
  }
  assert.deepEqual(rows.map((r) => r.queryId), [...one, ...two].map((r) => r.queryId), "in slow-query order");

  const small = individualFromActivity([slow("1", "shop", 20)], activity, {
    countThreshold: 3,
    responseTimeThresholdMs: 0,
  });
  assert.deepEqual(small.map((r) => r.execTimeMs), one.slice(0, 3).map((r) => r.execTimeMs));
  assert.deepEqual(
    individualFromActivity([slow("1", "shop", 20)], activity, {
      countThreshold: 0,
      responseTimeThresholdMs: 0,
    }),
    [],
  );
  assert.deepEqual(
    individualFromActivity([slow("1", "shop", 20)], activity, {
      countThreshold: 5,
      responseTimeThresholdMs: 1e9,
    }),
    [],
  );
});

Deno.test("individual queries from a real running statement", async () => {
  await using cluster = await startCluster({ name: "indiv", preload: ["pg_stat_statements"] });
  await cluster.createExtension("postgres", "pg_stat_statements");
  const cm = clusterConnections(cluster);
  const worker = cluster.sql();
  try {
    await worker.unsafe("SELECT pg_sleep(0.05), 'indiv_probe' AS tag");
    const { ctx } = await qpmContext(cm, "postgres", {
      databases: ["postgres"],
      responseTimeThresholdMs: 100,
      report: () => {},
    });
    const running = worker.unsafe("SELECT pg_sleep(1.2), 'indiv_probe' AS tag").then(() => {});
    await new Promise((r) => setTimeout(r, 200));
    const activity = await sampleActivity(
      cm.sql("postgres", "sampler"),
      ctx.caps,
      ["postgres"],
      "pgquerylens",
      3,
      100,
    );
    await running;
    const slowRows = await collectSlowQueries(ctx, new Date());
    const rows = individualFromActivity(slowRows, activity, ctx);
    const row = rows.find((r) => r.rawText === "SELECT pg_sleep(1.2), 'indiv_probe' AS tag");
    assert.ok(row, JSON.stringify({ rows, executions: activity.executions }));
    assert.ok(row.execTimeMs! > 100 && row.execTimeMs! < 1200, String(row.execTimeMs));
    assert.equal(row.queryText, "SELECT pg_sleep($1), $2 AS tag");
    assert.deepEqual(await individualFromPgStatMonitor(ctx, slowRows), [], "pg_stat_monitor is absent");
  } finally {
    await cm.close();
  }
});
