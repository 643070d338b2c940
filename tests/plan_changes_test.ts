/**
 * Plan changes end to end: the collector run as a process under the `collector` permission set
 * (one-shot runs sharing a state directory, as the agent runs it) captures a query's plan, sees
 * the plan change after DROP INDEX and the query slow down, exports exactly one PostgresPlanChanges
 * event with is_regression = 1 (and its OTLP record), and after a restart its dictionary still
 * knows both plans. Once with pg_stat_statements only (plan ids are EXPLAIN shape hashes), once
 * with pg_querylens (plan ids are the extension's planids, the ones of its per-plan aggregates).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Cluster } from "./support/cluster.ts";
import { startCluster } from "./support/cluster.ts";
import { clusterEnv, type MetricSet, metricSetsByType, runCollectorProcess } from "./support/collector.ts";
import { startReceiver } from "./support/oteltest.ts";
import { startQueryLensCluster } from "./support/querylens.ts";
import { assertValidDocuments } from "./support/schema.ts";
import { planStateName } from "../src/collectors/plan_capture/store.ts";

const QUERY = "SELECT count(*) FROM items WHERE x = $1";
const BEFORE_RUNS = 30;
const AFTER_RUNS = 10;

interface DictionaryFile {
  plans: {
    databaseName: string;
    queryId: string;
    planId: string;
    executionCount: number;
    avgDurationMs: number;
  }[];
  queries: { databaseName: string; queryId: string; currentPlanId: string; pending?: unknown }[];
}

async function prepare(
  cluster: Cluster,
): Promise<{ queryId: () => Promise<string>; run: (n: number) => Promise<void> }> {
  await cluster.createDatabase("shop");
  await cluster.createRole("monitor", "monitor-pw", { grants: ["pg_monitor"] });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createExtension("shop", "pg_stat_statements");
  const app = cluster.sql("shop");
  await app.unsafe(`CREATE TABLE items (id int PRIMARY KEY, x int NOT NULL, pad text);
    INSERT INTO items SELECT g, g % 1000, repeat('p', 60) FROM generate_series(1, 400000) g;
    CREATE INDEX items_x_idx ON items (x); ANALYZE items;
    GRANT SELECT ON items TO monitor;`);
  await cluster.sql().unsafe("SELECT pg_stat_statements_reset()");
  return {
    run: async (n) => {
      for (let i = 0; i < n; i++) await app.unsafe(QUERY, [i % 1000]);
    },
    queryId: async () => {
      const rows = await cluster.sql().unsafe(
        "SELECT DISTINCT queryid::text AS id FROM pg_stat_statements WHERE query = $1 AND toplevel",
        [QUERY],
      );
      assert.equal(rows.length, 1, JSON.stringify(rows));
      return rows[0].id;
    },
  };
}

function baseEnv(cluster: Cluster, name: string): Record<string, string> & { TEMP_DIR: string } {
  return {
    ...clusterEnv(cluster, "monitor", "monitor-pw"),
    ENABLE_QUERY_MONITORING: "true",
    COLLECTION_LIST: '["shop"]',
    TEMP_DIR: `/tmp/pgquerylens/test-${name}-${crypto.randomUUID()}`,
  };
}

/** Removes the state directory `path` when disposed. */
function removedAtEnd(path: string): AsyncDisposable {
  return { [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}

async function readDictionary(cluster: Cluster, env: Record<string, string>): Promise<DictionaryFile> {
  const path = join(env.TEMP_DIR, planStateName(cluster.host, String(cluster.port)));
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  return JSON.parse(await Deno.readTextFile(path));
}

function sets(stdout: string, type: string): MetricSet[] {
  return metricSetsByType(stdout).get(type) ?? [];
}

async function collect(args: string[], env: Record<string, string>): Promise<string> {
  const run = await runCollectorProcess(args, env);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /\[ERROR\]/);
  assertValidDocuments(run.stdout);
  return run.stdout;
}

/** The plan change of `queryId` in `stdout`, asserted to be the only one. */
function onlyChange(stdout: string, queryId: string): MetricSet {
  const changes = sets(stdout, "PostgresPlanChanges");
  assert.equal(changes.length, 1, JSON.stringify(changes));
  assert.equal(changes[0].query_id, queryId);
  assert.equal(changes[0].database_name, "shop");
  return changes[0];
}

Deno.test("pg_stat_statements only: one regression after DROP INDEX, in NRI and OTLP; a restart knows both plans", async () => {
  await using cluster = await startCluster({ name: "planchg", preload: ["pg_stat_statements"] });
  const { run, queryId } = await prepare(cluster);
  const env = baseEnv(cluster, "plans");
  await using _state = removedAtEnd(env.TEMP_DIR);
  await run(BEFORE_RUNS);
  const qid = await queryId();

  const first = await collect([], env);
  assert.deepEqual(sets(first, "PostgresPlanChanges"), []);
  const before = await readDictionary(cluster, env);
  const oldPlans = before.plans.filter((p) => p.queryId === qid);
  assert.equal(oldPlans.length, 1, JSON.stringify(before.plans));
  assert.equal(oldPlans[0].executionCount, BEFORE_RUNS);

  await cluster.sql("shop").unsafe("DROP INDEX items_x_idx");
  await run(AFTER_RUNS);
  await using rx = await startReceiver();
  const second = await collect(["--mode=hybrid"], {
    ...env,
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.httpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
  });
  const change = onlyChange(second, qid);
  assert.equal(change.previous_plan_id, oldPlans[0].planId);
  assert.notEqual(change.plan_id, change.previous_plan_id);
  assert.equal(change.is_regression, 1);
  assert.equal(change.executions_before, BEFORE_RUNS);
  assert.equal(change.executions_after, AFTER_RUNS);
  assert.ok(
    Number(change.avg_duration_after_ms) >= 1.5 * Number(change.avg_duration_before_ms),
    JSON.stringify(change),
  );
  assert.ok(Number(change.total_cost) > Number(change.previous_total_cost));
  const records = (await rx.received()).logs.flatMap((r) =>
    (r.request.resourceLogs as {
      scopeLogs: { logRecords: { eventName: string; attributes: { key: string; value: unknown }[] }[] }[];
    }[])
      .flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords))
  ).filter((r) => r.eventName === "pgquerylens.plan.change");
  assert.equal(records.length, 1);
  const attrs = new Map(records[0].attributes.map((a) => [a.key, a.value]));
  assert.deepEqual(attrs.get("pgquerylens.plan.is_regression"), { boolValue: true });
  assert.deepEqual(attrs.get("pgquerylens.previous_planid"), { stringValue: change.previous_plan_id });
  assert.deepEqual(attrs.get("pgquerylens.planid"), { stringValue: change.plan_id });

  await run(3);
  const third = await collect([], env);
  assert.deepEqual(sets(third, "PostgresPlanChanges"), [], "a restart neither repeats nor loses the change");
  const after = await readDictionary(cluster, env);
  const known = new Map(
    after.plans.filter((p) => p.queryId === qid).map((p) => [p.planId, p.executionCount]),
  );
  assert.deepEqual(
    known,
    new Map([[change.previous_plan_id, BEFORE_RUNS], [change.plan_id, AFTER_RUNS + 3]]),
  );
  const query = after.queries.find((q) => q.queryId === qid);
  assert.equal(query?.currentPlanId, change.plan_id);
  assert.equal(query?.pending, undefined);
});

Deno.test("with pg_querylens: the same single regression, under the extension's planids", async () => {
  await using cluster = await startQueryLensCluster({ name: "planchgql", before: ["pg_stat_statements"] });
  const { run, queryId } = await prepare(cluster);
  await cluster.createExtension("shop", "pg_querylens");
  const [{ fn }] = await cluster.sql("shop").unsafe(
    "SELECT to_regprocedure('pg_querylens_explain_planid()') IS NOT NULL AS fn",
  );
  assert.equal(fn, true, "the installed pg_querylens has pg_querylens_explain_planid()");
  const env = { ...baseEnv(cluster, "plans-ql"), QUERY_MONITORING_RESPONSE_TIME_THRESHOLD: "2" };
  await using _state = removedAtEnd(env.TEMP_DIR);
  await run(BEFORE_RUNS);
  const qid = await queryId();

  const first = await collect([], env);
  assert.deepEqual(sets(first, "PostgresPlanChanges"), []);
  const oldAggregates = sets(first, "PostgresQueryPlanAggregates").filter((a) => a.query_id === qid);
  assert.deepEqual(oldAggregates.map((a) => a.calls), [BEFORE_RUNS]);
  const before = await readDictionary(cluster, env);
  assert.deepEqual(
    before.plans.filter((p) => p.queryId === qid).map((p) => [p.planId, p.executionCount]),
    [[oldAggregates[0].plan_id, BEFORE_RUNS]],
    "the dictionary's plan is the extension's planid",
  );

  await cluster.sql("shop").unsafe("DROP INDEX items_x_idx");
  await run(AFTER_RUNS);
  const second = await collect([], env);
  const change = onlyChange(second, qid);
  const newAggregates = sets(second, "PostgresQueryPlanAggregates").filter((a) => a.query_id === qid);
  assert.deepEqual(newAggregates.map((a) => [a.plan_id, a.calls]), [[change.plan_id, AFTER_RUNS]]);
  assert.equal(change.previous_plan_id, oldAggregates[0].plan_id);
  assert.equal(change.is_regression, 1);
  assert.equal(change.executions_before, BEFORE_RUNS);
  assert.equal(change.executions_after, AFTER_RUNS);
  assert.ok(Number(change.total_cost) > 0, "the captured plan carries the same planid, so its cost is known");
  const planRows = sets(second, "PostgresExecutionPlanMetrics").filter((p) => p.query_id === qid);
  assert.ok(planRows.length > 0, "the slow executions are individual queries, with their plan");
  assert.ok(planRows.every((p) => p.plan_id === change.plan_id), JSON.stringify(planRows));
  const individual = sets(second, "PostgresIndividualQueries").filter((i) => i.query_id === qid);
  assert.ok(individual.length > 0 && individual.every((i) => i.plan_id === change.plan_id));

  await run(3);
  const third = await collect([], env);
  assert.deepEqual(sets(third, "PostgresPlanChanges"), []);
  const after = await readDictionary(cluster, env);
  const known = new Map(
    after.plans.filter((p) => p.queryId === qid).map((p) => [p.planId, p.executionCount]),
  );
  assert.deepEqual(
    known,
    new Map([[change.previous_plan_id, BEFORE_RUNS], [change.plan_id, AFTER_RUNS + 3]]),
  );
});
