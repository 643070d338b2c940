import assert from "node:assert/strict";
import { INDIVIDUAL_QUERIES, SLOW_QUERIES } from "../core/catalog.ts";
import type { IndividualQuery, SlowQuery } from "../core/model.ts";
import { goJsonStringify } from "./go_json.ts";
import { buildMetricSet, catalogMetricSet, gaugeValue, sdkAttributes } from "./metric_set.ts";

Deno.test("metric_set: gauges become numbers, attributes strings, NULLs are omitted", () => {
  const { set, dropped } = buildMetricSet("TestSample", [
    { key: "z.gauge", type: "gauge", value: 12.5 },
    { key: "a.flag", type: "gauge", value: true },
    { key: "b.flag", type: "gauge", value: false },
    { key: "numeric", type: "gauge", value: "  -3.25e2 " },
    { key: "big", type: "gauge", value: 9007199254740993n },
    { key: "attr.num", type: "attribute", value: 5432 },
    { key: "attr.str", type: "attribute", value: "x" },
    { key: "missing", type: "gauge", value: undefined },
    { key: "null", type: "attribute", value: null },
  ]);
  assert.deepEqual(dropped, []);
  assert.equal(
    goJsonStringify(set),
    '{"a.flag":1,"attr.num":"5432","attr.str":"x","b.flag":0,"big":9007199254740992,"event_type":"TestSample",' +
      '"numeric":-325,"z.gauge":12.5}',
  );
});

Deno.test("metric_set: a gauge that is not a finite number is dropped and reported", () => {
  const { set, dropped } = buildMetricSet("TestSample", [
    { key: "nan", type: "gauge", value: NaN },
    { key: "inf", type: "gauge", value: -Infinity },
    { key: "word", type: "gauge", value: "fast" },
    { key: "huge", type: "gauge", value: "1e400" },
    { key: "obj", type: "gauge", value: { n: 1 } },
    { key: "ok", type: "gauge", value: 0 },
  ]);
  assert.deepEqual([...set.keys()], ["event_type", "ok"]);
  assert.deepEqual(dropped, [
    { eventType: "TestSample", key: "nan", reason: "not a finite number: NaN" },
    { eventType: "TestSample", key: "inf", reason: "not a finite number: -Infinity" },
    { eventType: "TestSample", key: "word", reason: 'not a number: "fast"' },
    { eventType: "TestSample", key: "huge", reason: 'not a finite number: "1e400"' },
    { eventType: "TestSample", key: "obj", reason: "not a number: [object Object]" },
  ]);
});

Deno.test("metric_set: gaugeValue accepts decimal strings only", () => {
  assert.equal(gaugeValue("42"), 42);
  assert.equal(gaugeValue(".5"), 0.5);
  assert.equal(gaugeValue("7."), 7);
  assert.deepEqual(gaugeValue(""), { reason: 'not a number: ""' });
  assert.deepEqual(gaugeValue("0x10"), { reason: 'not a number: "0x10"' });
  assert.deepEqual(gaugeValue("Infinity"), { reason: 'not a number: "Infinity"' });
});

Deno.test("metric_set: the SDK attributes are added only when set", () => {
  assert.deepEqual(sdkAttributes({}), []);
  assert.deepEqual(sdkAttributes({ cluster: "", service: "" }), []);
  assert.deepEqual(sdkAttributes({ cluster: "prod", service: "shop" }), [["cluster_name", "prod"], [
    "service_name",
    "shop",
  ]]);
  const { set } = buildMetricSet("T", [], { service: "shop" });
  assert.deepEqual([...set], [["event_type", "T"], ["service_name", "shop"]]);
});

Deno.test("metric_set: a catalog row yields exactly the catalog's keys", () => {
  const row: SlowQuery = {
    queryId: "-6410924811397428219",
    queryText: "SELECT $1",
    databaseName: "shop",
    schemaName: "public",
    executionCount: 3,
    avgElapsedTimeMs: 0.125,
    avgDiskReads: 0,
    avgDiskWrites: 0,
    statementType: "SELECT",
    collectionTimestamp: "2026-08-19T10:15:00Z",
    totalExecTimeMs: 0.375,
    rows: 3,
  };
  const { set, dropped } = catalogMetricSet(SLOW_QUERIES, row);
  assert.deepEqual(dropped, []);
  assert.deepEqual([...set.keys()].sort(), ["event_type", ...SLOW_QUERIES.fields.map((f) => f.nri)].sort());
  assert.equal(set.get("query_id"), "-6410924811397428219");
  assert.equal(set.get("execution_count"), 3);
});

Deno.test("metric_set: model-only fields of an individual query never reach the set", () => {
  const row: IndividualQuery = {
    queryText: "SELECT $1",
    queryId: "1",
    databaseName: "shop",
    planId: "77",
    execTimeMs: 2,
    source: "pg_stat_monitor",
    rawText: "SELECT 'secret'",
  };
  const { set } = catalogMetricSet(INDIVIDUAL_QUERIES, row);
  assert.deepEqual([...set.keys()], [
    "event_type",
    "query_text",
    "query_id",
    "database_name",
    "plan_id",
    "exec_time_ms",
  ]);
  assert.ok(![...set.values()].includes("SELECT 'secret'"));
});
