import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import { clusterEnv } from "../../tests/support/collector.ts";
import { runTimedCollector } from "./collector_process.ts";
import {
  rankingMatchesCollector,
  runNaive,
  runRanking,
  runRankingWithTexts,
  timeInterleaved,
} from "./ranking.ts";
import { mixSchemaSql, mixStatements } from "./statement_mix.ts";

Deno.test("timeInterleaved warms up, then rotates which operation goes first", async () => {
  const order: string[] = [];
  const op = (name: string) => ({ name, run: () => Promise.resolve(order.push(name)) });
  const samples = await timeInterleaved([op("a"), op("b"), op("c")], 3);
  assert.deepEqual(order, ["a", "b", "c", "a", "b", "c", "b", "c", "a", "c", "a", "b"]);
  assert.deepEqual([...samples.keys()], ["a", "b", "c"]);
  for (const s of samples.values()) {
    assert.equal(s.length, 3);
    assert.ok(s.every((ms) => ms >= 0));
  }
});

Deno.test("timeInterleaved rejects bad rounds and repeated names", async () => {
  const op = { name: "x", run: () => Promise.resolve() };
  await assert.rejects(timeInterleaved([op], 0), /rounds must be a positive integer, got 0/);
  await assert.rejects(timeInterleaved([op, op], 1), /operation name "x" repeats/);
});

Deno.test("the ranking without texts agrees with the naive one and with the collector", async () => {
  await using cluster = await startCluster({
    name: "benchrank",
    preload: ["pg_stat_statements"],
    settings: { "pg_stat_statements.track": "top" },
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("ranked");
  await cluster.createRole("monitor", "monitor-secret", { grants: ["pg_read_all_stats"] });
  const app = cluster.sql("ranked");
  await app.unsafe(mixSchemaSql(4, 200)).simple();
  const sql = cluster.sql();
  await sql`SELECT pg_stat_statements_reset()`;
  const statements = mixStatements(200, 4);
  for (let call = 0; call < 3; call++) {
    await app.unsafe(statements.map((s) => s.text(call)).join(";\n")).simple();
  }
  const ranked = await runRanking(sql, ["ranked"], 20);
  assert.equal(ranked.length, 20);
  assert.deepEqual(await runNaive(sql, ["ranked"], 20), ranked);
  assert.deepEqual(await runRanking(sql, ["nothing"], 20), []);
  assert.equal(await runRankingWithTexts(sql, ["ranked"], 20), 20);

  const run = await runTimedCollector([], {
    ...clusterEnv(cluster, "monitor", "monitor-secret"),
    ENABLE_QUERY_MONITORING: "true",
    COLLECTION_LIST: '["ranked"]',
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(await rankingMatchesCollector(sql, "monitor"), true);
  assert.equal(await rankingMatchesCollector(sql, "postgres"), false);
});
