import assert from "node:assert/strict";
import type postgres from "postgres";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { assertValidDocuments } from "../../../tests/support/schema.ts";
import { databaseEntity, instanceEntity } from "../../core/entities.ts";
import type { BaseSample, CollectionIssue, RawMetric, SourceType } from "../../core/model.ts";
import { RateStore } from "../../core/rates.ts";
import { encodeBaseDocument } from "../../nri_adapter/base.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { type CustomQueryDef, DEFAULT_CUSTOM_SAMPLE, parseCustomQueries } from "./config_file.ts";
import {
  collectCustomConfigSamples,
  CUSTOM_CONFIG_COMPONENT,
  CUSTOM_CONFIG_CONCURRENCY,
  type CustomQueryConnections,
} from "./config_queries.ts";

const HOST = "db1.example";
const PORT = "5432";

const def = (query: string, over: Partial<CustomQueryDef> = {}): CustomQueryDef => ({
  query,
  metricTypes: new Map(),
  sampleName: DEFAULT_CUSTOM_SAMPLE,
  ...over,
});
const m = (name: string, sourceType: SourceType, value: number | string): RawMetric => ({
  name,
  sourceType,
  value,
});
const g = (name: string, value: number) => m(name, "gauge", value);
const a = (name: string, value: string) => m(name, "attribute", value);
const db = (name: string) => a("database", name);

/** Every column kind, two rows; `maybe` is NULL in the first. */
const TYPES_QUERY = `
  SELECT g AS n, g::int2 AS small, (g * 10)::int4 AS medium, (9007199254740990 + g)::int8 AS large,
    (g / 2.0)::float4 AS f4, (g * 1.25)::float8 AS f8, (g * 1.5)::numeric AS num, g::oid AS o,
    g % 2 = 0 AS even, timestamp '2024-01-02 03:04:05.25' + g * interval '1 day' AS ts,
    timestamptz '2024-01-02 03:04:05+00' AS tstz, date '2024-02-27' + g AS d, 'row ' || g AS label,
    jsonb_build_object('g', g) AS doc, '\\x6869'::bytea AS raw, CASE WHEN g = 1 THEN NULL ELSE g END AS maybe,
    (g * 100)::text AS counter_text, g * 7 AS typed_attr, (g * 1000)::int8 AS total, g % 2 = 0 AS flag
  FROM generate_series(1, 2) AS g ORDER BY g`;

const TYPES: Record<string, SourceType> = {
  even: "gauge",
  counter_text: "rate",
  total: "delta",
  medium: "prate",
  small: "pdelta",
  typed_attr: "attribute",
};

/** What each row of TYPES_QUERY gives, in column order. */
function typesRow(i: number, database: string): RawMetric[] {
  const row = [
    db(database),
    g("n", i),
    m("small", "pdelta", i),
    m("medium", "prate", i * 10),
    g("large", 9007199254740990 + i),
    g("f4", i / 2),
    g("f8", i * 1.25),
    g("num", i * 1.5),
    g("o", i),
    g("even", i % 2 === 0 ? 1 : 0),
    a("ts", `2024-01-0${2 + i}T03:04:05.250`),
    a("tstz", "2024-01-02T03:04:05.000Z"),
    a("d", i === 1 ? "2024-02-28" : "2024-02-29"),
    a("label", `row ${i}`),
    a("doc", `{"g":${i}}`),
    a("raw", "hi"),
  ];
  if (i !== 1) row.push(g("maybe", i));
  row.push(
    m("counter_text", "rate", i * 100),
    a("typed_attr", String(i * 7)),
    m("total", "delta", i * 1000),
    a("flag", i % 2 === 0 ? "true" : "false"),
  );
  return row;
}

/** Checks entity and event type of `samples` and returns their metrics. */
function metricsOf(samples: BaseSample[], database: string, eventType: string): RawMetric[][] {
  for (const s of samples) {
    assert.deepEqual(s.entity, databaseEntity(HOST, PORT, database));
    assert.equal(s.eventType, eventType);
  }
  return samples.map((s) => s.metrics);
}

async function collect(
  connections: CustomQueryConnections,
  defs: CustomQueryDef[],
  mainDatabase = "postgres",
): Promise<{ samples: BaseSample[]; issues: CollectionIssue[] }> {
  const issues: CollectionIssue[] = [];
  const samples = await collectCustomConfigSamples(
    connections,
    defs,
    mainDatabase,
    HOST,
    PORT,
    (i) => issues.push(i),
  );
  return { samples, issues };
}

/** Largest number of sessions seen running `pattern` (a LIKE pattern) while `work` runs. */
async function peakRunning(
  observer: postgres.Sql,
  pattern: string,
  work: () => Promise<void>,
): Promise<number> {
  let peak = 0;
  let done = false;
  const watching = (async () => {
    while (!done) {
      const [{ n }] = await observer`
        SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE ${pattern}`;
      peak = Math.max(peak, n);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    await work();
  } finally {
    done = true;
    await watching;
  }
  return peak;
}

Deno.test("custom config queries against a real server", async (t) => {
  await using cluster = await startCluster({ name: "custom-config" });
  await cluster.createDatabase("shop");
  const cm = clusterConnections(cluster);
  try {
    await t.step(
      "typed and untyped columns of every kind, rows and column order kept, NULL left out",
      async () => {
        const { samples, issues } = await collect(cm, [
          def(TYPES_QUERY, {
            database: "shop",
            metricTypes: new Map(Object.entries(TYPES)),
            sampleName: "TypesSample",
          }),
        ]);
        assert.deepEqual(issues, []);
        assert.deepEqual(metricsOf(samples, "shop", "TypesSample"), [
          typesRow(1, "shop"),
          typesRow(2, "shop"),
        ]);
      },
    );

    await t.step(
      "queries from a YAML file: main and second database, default sample name, def order",
      async () => {
        const defs = parseCustomQueries(
          `queries:
  - query: SELECT current_database() AS here, 1 AS one
  - query: SELECT current_database() AS here, x AS v FROM generate_series(1, 3) AS x ORDER BY x
    database: shop
    sample_name: ShopSample
    metric_types: {v: Rate}
  - query: SELECT 'last' AS word
    database: ""
`,
          "inline.yml",
        );
        const { samples, issues } = await collect(cm, defs);
        assert.deepEqual(issues, []);
        assert.deepEqual(metricsOf(samples.slice(0, 1), "postgres", DEFAULT_CUSTOM_SAMPLE), [
          [db("postgres"), a("here", "postgres"), g("one", 1)],
        ]);
        assert.deepEqual(
          metricsOf(samples.slice(1, 4), "shop", "ShopSample"),
          [1, 2, 3].map((x) => [db("shop"), a("here", "shop"), m("v", "rate", x)]),
        );
        assert.deepEqual(metricsOf(samples.slice(4), "postgres", DEFAULT_CUSTOM_SAMPLE), [
          [db("postgres"), a("word", "last")],
        ]);
      },
    );

    await t.step("the main database is the one given to the collector", async () => {
      const { samples } = await collect(cm, [def("SELECT current_database() AS here")], "shop");
      assert.deepEqual(metricsOf(samples, "shop", DEFAULT_CUSTOM_SAMPLE), [[db("shop"), a("here", "shop")]]);
    });

    await t.step("each statement runs after the collector's marker", async () => {
      const query = "SELECT current_query() AS q";
      const { samples } = await collect(cm, [def(query)]);
      assert.deepEqual(samples[0].metrics, [db("postgres"), a("q", `${MARKER} ${query}`)]);
    });

    await t.step("a failing query or database loses only its own samples, and is reported", async () => {
      const { samples, issues } = await collect(cm, [
        def("SELECT 1 AS first"),
        def("SELECT nope FROM nowhere", { database: "shop" }),
        def("SELECT 2 AS second", { database: "shop" }),
        def("SELECT 3 AS third", { database: "no_such_db" }),
        def("SELECT 4 AS fourth; SELECT 5", { database: "shop" }),
        def("SELECT 6 AS sixth"),
      ]);
      assert.deepEqual(samples.map((s) => s.metrics), [
        [db("postgres"), g("first", 1)],
        [db("shop"), g("second", 2)],
        [db("postgres"), g("sixth", 6)],
      ]);
      assert.deepEqual(issues.map((i) => [i.component, i.severity]), [
        [CUSTOM_CONFIG_COMPONENT, "error"],
        [CUSTOM_CONFIG_COMPONENT, "error"],
        [CUSTOM_CONFIG_COMPONENT, "error"],
      ]);
      const byQuery = Object.fromEntries(issues.map((i) => [i.cause.split(":")[0], i.message]));
      assert.deepEqual(Object.keys(byQuery).sort(), ["queries[1]", "queries[3]", "queries[4]"]);
      assert.match(
        byQuery["queries[1]"],
        /^custom_metrics_config queries\[1\] \(database shop\): the query failed: relation "nowhere" does not exist$/,
      );
      assert.match(
        byQuery["queries[3]"],
        /^custom_metrics_config queries\[3\] \(database no_such_db\): the query failed: .*no_such_db/,
      );
      assert.match(
        byQuery["queries[4]"],
        /queries\[4\] \(database shop\): the query failed: .*multiple commands/,
      );
    });

    await t.step("values that cannot be metrics leave out only their column, counted per query", async () => {
      // Issues come in the order each problem was first met (row by row, column by column).
      const { samples, issues } = await collect(cm, [
        def(
          `SELECT x AS n, CASE WHEN x = 2 THEN 'NaN'::numeric ELSE x END AS num, 'Infinity'::float8 AS inf,
             'abc' AS word, 'infinity'::timestamptz AS forever
           FROM generate_series(1, 3) AS x ORDER BY x`,
          { metricTypes: new Map([["word", "gauge"]]) },
        ),
      ]);
      assert.deepEqual(samples.map((s) => s.metrics), [
        [db("postgres"), g("n", 1), g("num", 1)],
        [db("postgres"), g("n", 2)],
        [db("postgres"), g("n", 3), g("num", 3)],
      ]);
      assert.deepEqual(issues, [
        {
          component: CUSTOM_CONFIG_COMPONENT,
          cause: "queries[0]:left_out_column:inf",
          severity: "warning",
          message:
            'custom_metrics_config queries[0] (database postgres): left out column "inf" in 3 row(s): ' +
            "not a finite number: Infinity",
        },
        {
          component: CUSTOM_CONFIG_COMPONENT,
          cause: "queries[0]:left_out_column:word",
          severity: "warning",
          message:
            'custom_metrics_config queries[0] (database postgres): left out column "word" in 3 row(s): ' +
            'not a number: "abc" (typed gauge)',
        },
        {
          component: CUSTOM_CONFIG_COMPONENT,
          cause: "queries[0]:left_out_column:forever",
          severity: "warning",
          message:
            'custom_metrics_config queries[0] (database postgres): left out column "forever" in 3 row(s): ' +
            "not a finite date or time (infinity?)",
        },
        {
          component: CUSTOM_CONFIG_COMPONENT,
          cause: "queries[0]:left_out_column:num",
          severity: "warning",
          message:
            'custom_metrics_config queries[0] (database postgres): left out column "num" in 1 row(s): ' +
            'not a finite number: "NaN"',
        },
      ]);
    });

    await t.step("the samples encode to a base document that meets the schema", async () => {
      const { samples } = await collect(cm, [
        def(TYPES_QUERY, { database: "shop", metricTypes: new Map(Object.entries(TYPES)) }),
        def("SELECT 'x' AS database, 5 AS five"),
      ]);
      const store = RateStore.memory();
      const { document, dropped } = encodeBaseDocument(
        { instance: instanceEntity(HOST, PORT), samples: samples.map((s) => store.apply(s, Date.now())) },
        { integrationVersion: "0.0.0", pretty: false, addHostname: false },
      );
      assert.deepEqual(dropped, []);
      const [{ doc }] = assertValidDocuments(document);
      const data = (doc as { data: { entity: unknown; metrics: Record<string, unknown>[] }[] }).data;
      const shop = data.find((d) => (d.entity as { name: string }).name === "shop")!;
      assert.deepEqual(shop.entity, {
        name: "shop",
        type: "pg-database",
        id_attributes: [{ Key: "host", Value: HOST }, { Key: "port", Value: PORT }],
      });
      assert.equal(shop.metrics.length, 2);
      assert.equal(shop.metrics[1].event_type, DEFAULT_CUSTOM_SAMPLE);
      assert.equal(shop.metrics[1].database, "shop");
      assert.equal(shop.metrics[1].num, 3);
      assert.ok(!("displayName" in shop.metrics[1]) && !("entityName" in shop.metrics[1]));
      const main = data.find((d) => (d.entity as { name: string }).name === "postgres")!;
      assert.deepEqual(main.metrics, [{ event_type: DEFAULT_CUSTOM_SAMPLE, database: "x", five: 5 }]);
    });

    await t.step(`at most ${CUSTOM_CONFIG_CONCURRENCY} databases are queried at once`, async () => {
      const names = Array.from({ length: 15 }, (_, i) => `conc_${String(i).padStart(2, "0")}`);
      for (const name of names) await cluster.createDatabase(name);
      // Sessions are kept across cycles: a first cycle connects them, so the measured one only queries.
      const warm = await collect(cm, names.map((name) => def("SELECT 1 AS one", { database: name })));
      assert.deepEqual(warm.issues, []);
      const defs = names.map((name) => def("SELECT pg_sleep(0.5) AS slept", { database: name }));
      let result: Awaited<ReturnType<typeof collect>> | undefined;
      const started = performance.now();
      const peak = await peakRunning(cluster.sql(), `${MARKER} SELECT pg_sleep(0.5)%`, async () => {
        result = await collect(cm, defs);
      });
      const elapsed = performance.now() - started;
      assert.deepEqual(result!.issues, []);
      assert.deepEqual(result!.samples.map((s) => s.entity.name), names, "one sample per query, in order");
      assert.equal(CUSTOM_CONFIG_CONCURRENCY, 10, "nri-postgresql's limit");
      assert.equal(peak, 10, "ten at once, never more");
      assert.ok(elapsed >= 1000, `15 queries of 0.5 s, 10 at a time, take two rounds; took ${elapsed} ms`);
      assert.deepEqual(
        result!.samples[0].metrics,
        [db(names[0]), a("slept", "")],
        "void is an empty attribute",
      );
    });

    await t.step("queries of one database run one after the other on its session", async () => {
      const defs = Array.from(
        { length: 4 },
        () => def("SELECT pg_sleep(0.15) AS slept", { database: "shop" }),
      );
      const started = performance.now();
      const peak = await peakRunning(cluster.sql(), `${MARKER} SELECT pg_sleep(0.15)%`, async () => {
        const { samples, issues } = await collect(cm, defs);
        assert.deepEqual(issues, []);
        assert.equal(samples.length, 4);
      });
      assert.equal(peak, 1);
      assert.ok(performance.now() - started >= 600);
    });
  } finally {
    await cm.close();
  }
});
