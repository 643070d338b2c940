import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { assertValidDocuments } from "../../../tests/support/schema.ts";
import { instanceEntity } from "../../core/entities.ts";
import type { BaseSample, CollectionIssue, RawMetric } from "../../core/model.ts";
import { RateStore } from "../../core/rates.ts";
import { encodeBaseDocument } from "../../nri_adapter/base.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { collectCustomQuerySamples, CUSTOM_QUERY_COMPONENT, CUSTOM_QUERY_SAMPLE } from "./metric_query.ts";

const HOST = "db1.example";
const PORT = 5432;
const NAMING: RawMetric[] = [
  { name: "displayName", sourceType: "attribute", value: "db1.example:5432" },
  { name: "entityName", sourceType: "attribute", value: "pg-instance:db1.example:5432" },
];
const attr = (name: string, value: string): RawMetric => ({ name, sourceType: "attribute", value });

/** The metrics of each sample, after checking entity and event type. */
function metricsOf(samples: BaseSample[]): RawMetric[][] {
  for (const s of samples) {
    assert.deepEqual(s.entity, instanceEntity(HOST, PORT));
    assert.equal(s.eventType, CUSTOM_QUERY_SAMPLE);
  }
  return samples.map((s) => s.metrics);
}

/** Six good rows (one per source type, with extra columns) and six bad ones. */
const MIXED_QUERY = `
  SELECT metric_name, metric_type, metric_value, region, active, shard, seen, note
  FROM (VALUES
    (1, 'cpu.load', 'gauge', 1.5::numeric, 'eu', true, 7::int8, timestamptz '2024-01-02 03:04:05.5+00', NULL::text),
    (2, 'io.reads', 'rate', 100, 'us', false, 8, NULL, 'n2'),
    (3, 'io.delta', 'DELTA', 5, NULL, NULL, NULL, NULL, NULL),
    (4, 'io.prate', 'Prate', 6, NULL, NULL, NULL, NULL, NULL),
    (5, 'io.pdelta', 'pdelta', 7, NULL, NULL, NULL, NULL, NULL),
    (6, 'server.tier', 'attribute', 15.10, 'ap', NULL, NULL, NULL, NULL),
    (7, NULL, 'gauge', 1, NULL, NULL, NULL, NULL, NULL),
    (8, '', 'gauge', 1, NULL, NULL, NULL, NULL, NULL),
    (9, 'x', 'gaug', 1, NULL, NULL, NULL, NULL, NULL),
    (10, 'y', NULL, 1, NULL, NULL, NULL, NULL, NULL),
    (11, 'z', 'gauge', NULL, NULL, NULL, NULL, NULL, NULL),
    (12, 'w', 'rate', 'NaN', NULL, NULL, NULL, NULL, NULL)
  ) AS v(ord, metric_name, metric_type, metric_value, region, active, shard, seen, note)
  ORDER BY ord`;

Deno.test("PgCustomQuerySample against a real server", async (t) => {
  await using cluster = await startCluster({ name: "custom-query" });
  const cm = clusterConnections(cluster);
  const sql = cm.sql("postgres");
  const collect = async (query: string) => {
    const issues: CollectionIssue[] = [];
    const samples = await collectCustomQuerySamples(sql, query, HOST, PORT, (i) => issues.push(i));
    return { samples, issues };
  };

  try {
    await t.step(
      "one sample per good row: every source type, extra columns as strings, NULLs left out",
      async () => {
        const { samples, issues } = await collect(MIXED_QUERY);
        assert.deepEqual(metricsOf(samples), [
          [
            ...NAMING,
            attr("region", "eu"),
            attr("active", "true"),
            attr("shard", "7"),
            attr("seen", "2024-01-02T03:04:05.500Z"),
            { name: "cpu.load", sourceType: "gauge", value: 1.5 },
          ],
          [
            ...NAMING,
            attr("region", "us"),
            attr("active", "false"),
            attr("shard", "8"),
            attr("note", "n2"),
            { name: "io.reads", sourceType: "rate", value: 100 },
          ],
          [...NAMING, { name: "io.delta", sourceType: "delta", value: 5 }],
          [...NAMING, { name: "io.prate", sourceType: "prate", value: 6 }],
          [...NAMING, { name: "io.pdelta", sourceType: "pdelta", value: 7 }],
          [...NAMING, attr("region", "ap"), { name: "server.tier", sourceType: "attribute", value: "15.10" }],
        ]);
        assert.deepEqual(issues, [
          {
            component: CUSTOM_QUERY_COMPONENT,
            cause: "skipped_row:metric_name",
            severity: "warning",
            message:
              "custom_metrics_query: skipped 2 row(s) whose metric_name is NULL, empty or not text (first: null)",
          },
          {
            component: CUSTOM_QUERY_COMPONENT,
            cause: "skipped_row:metric_type",
            severity: "warning",
            message: "custom_metrics_query: skipped 2 row(s) whose metric_type is not one of " +
              'gauge, rate, delta, prate, pdelta, attribute (first: metric "x": "gaug")',
          },
          {
            component: CUSTOM_QUERY_COMPONENT,
            cause: "skipped_row:metric_value",
            severity: "warning",
            message:
              "custom_metrics_query: skipped 2 row(s) whose metric_value is NULL or not a finite number " +
              'for a numeric metric type (first: metric "z" (gauge): NULL)',
          },
        ]);
      },
    );

    await t.step("text, bigint and boolean values: numeric text parsed, other text skipped", async () => {
      const { samples, issues } = await collect(
        `SELECT * FROM (VALUES ('t', 'gauge', '12.5'), ('u', 'gauge', 'abc'), ('v', 'attribute', 'hello'),
           ('big', 'gauge', '9007199254740993')) AS v(metric_name, metric_type, metric_value)`,
      );
      assert.deepEqual(metricsOf(samples), [
        [...NAMING, { name: "t", sourceType: "gauge", value: 12.5 }],
        [...NAMING, { name: "v", sourceType: "attribute", value: "hello" }],
        [...NAMING, { name: "big", sourceType: "gauge", value: 9007199254740992 }],
      ]);
      assert.equal(issues.length, 1);
      assert.equal(issues[0].cause, "skipped_row:metric_value");
      assert.ok(issues[0].message.includes("skipped 1 row(s)"), issues[0].message);
      assert.ok(
        issues[0].message.endsWith('(first: metric "u" (gauge): not a number: "abc")'),
        issues[0].message,
      );

      const counted = await collect(
        `SELECT 'conns' AS metric_name, 'gauge' AS metric_type, count(*) AS metric_value, 'x' AS tag
         FROM generate_series(1, 41)
         UNION ALL SELECT 'up', 'GAUGE', 1, NULL`,
      );
      assert.deepEqual(counted.issues, []);
      assert.deepEqual(metricsOf(counted.samples), [
        [...NAMING, attr("tag", "x"), { name: "conns", sourceType: "gauge", value: 41 }],
        [...NAMING, { name: "up", sourceType: "gauge", value: 1 }],
      ]);
      const flag = await collect("SELECT 'up' AS metric_name, 'gauge' AS metric_type, true AS metric_value");
      assert.deepEqual(metricsOf(flag.samples), [[...NAMING, { name: "up", sourceType: "gauge", value: 1 }]]);
    });

    await t.step("a metric_name that is not text skips the row", async () => {
      const { samples, issues } = await collect(
        "SELECT 5 AS metric_name, 'gauge' AS metric_type, 1 AS metric_value",
      );
      assert.deepEqual(samples, []);
      assert.equal(issues[0].cause, "skipped_row:metric_name");
      assert.ok(issues[0].message.endsWith("(first: 5)"), issues[0].message);
    });

    await t.step("the statement runs after the collector's marker", async () => {
      const query = "SELECT 'q' AS metric_name, 'attribute' AS metric_type, current_query() AS metric_value";
      const { samples } = await collect(query);
      assert.deepEqual(metricsOf(samples), [[...NAMING, attr("q", `${MARKER} ${query}`)]]);
    });

    await t.step("a result without a required column gives nothing and one error", async () => {
      const { samples, issues } = await collect(
        "SELECT 1 AS metric_value, 'a' AS name FROM generate_series(1, 3)",
      );
      assert.deepEqual(samples, []);
      assert.deepEqual(issues, [{
        component: CUSTOM_QUERY_COMPONENT,
        cause: "missing_columns:metric_name,metric_type",
        severity: "error",
        message:
          "custom_metrics_query: the result has no metric_name, metric_type column (the query must return " +
          "metric_name, metric_type, metric_value); no PgCustomQuerySample was collected",
      }]);
    });

    await t.step("no rows, no samples, no issues", async () => {
      const { samples, issues } = await collect(
        "SELECT 'a' AS metric_name, 'gauge' AS metric_type, 1 AS metric_value WHERE false",
      );
      assert.deepEqual(samples, []);
      assert.deepEqual(issues, []);
    });

    await t.step("a failing query rejects, and the session still works afterwards", async () => {
      await assert.rejects(collect("SELECT metric_name FROM no_such_table"), /no_such_table/);
      await assert.rejects(
        collect("SELECT 'a' AS metric_name, 'gauge' AS metric_type, 1 AS metric_value; SELECT 2"),
        /multiple commands/,
        "one statement only",
      );
      await assert.rejects(collect("  "), TypeError);
      const { samples } = await collect(
        "SELECT 'a' AS metric_name, 'gauge' AS metric_type, 2 AS metric_value",
      );
      assert.deepEqual(metricsOf(samples), [[...NAMING, { name: "a", sourceType: "gauge", value: 2 }]]);
    });

    await t.step("the samples encode to a base document that meets the schema", async () => {
      const { samples } = await collect(MIXED_QUERY);
      const store = RateStore.memory();
      const rated = samples.map((s) => store.apply(s, Date.now()));
      const { document, dropped } = encodeBaseDocument(
        { instance: instanceEntity(HOST, PORT), samples: rated },
        { integrationVersion: "0.0.0", pretty: false, addHostname: false },
      );
      assert.deepEqual(dropped, []);
      const [{ doc }] = assertValidDocuments(document);
      const sets = (doc as { data: { metrics: Record<string, unknown>[] }[] }).data[0].metrics;
      assert.equal(sets.length, 6);
      assert.deepEqual(sets[0], {
        event_type: "PgCustomQuerySample",
        displayName: "db1.example:5432",
        entityName: "pg-instance:db1.example:5432",
        region: "eu",
        active: "true",
        shard: "7",
        seen: "2024-01-02T03:04:05.500Z",
        "cpu.load": 1.5,
      });
      assert.equal(sets[1]["io.reads"], 0, "a first rate observation is 0");
      assert.equal(sets[5]["server.tier"], "15.10");
    });
  } finally {
    await cm.close();
  }
});
