import assert from "node:assert/strict";
import { countNri } from "./nri_counts.ts";

function doc(data: unknown[]): string {
  return JSON.stringify({ name: "com.newrelic.postgresql", protocol_version: "3", data });
}

const instance = { name: "db:5432", type: "pg-instance", id_attributes: [] };
const table = (name: string, database = "d") => ({
  name,
  type: "pg-table",
  id_attributes: [{ Key: "pg-database", Value: database }],
});

Deno.test("countNri counts metric sets per event type, entities per type and numeric values", () => {
  const stdout = [
    doc([
      {
        entity: instance,
        metrics: [{
          event_type: "PostgresqlInstanceSample",
          displayName: "db:5432",
          "bgwriter.x": 1,
          "y": 2,
        }],
        inventory: { "a/setting": { value: "1" } },
      },
      {
        entity: table("t1"),
        metrics: [
          { event_type: "PostgresqlTableSample", database: "d", "table.liveRows": 5 },
          {
            event_type: "PostgresqlTableSample",
            database: "d",
            "table.bloatRatio": 0,
            "table.dataSizeInBytes": 8192,
          },
        ],
      },
      { entity: table("t-without-metrics"), metrics: [], inventory: {} },
    ]),
    "",
    doc([{ entity: table("t1"), metrics: [{ event_type: "PostgresqlTableSample", "table.deadRows": 0 }] }]),
    doc([{ entity: table("t2"), metrics: [{ event_type: "PostgresqlTableSample", "table.deadRows": 1 }] }]),
    doc([{ entity: table("t2", "e"), metrics: [{ event_type: "PostgresqlTableSample" }] }]),
  ].join("\n");
  const counts = countNri(stdout);
  assert.deepEqual([...counts.samplesByType], [["PostgresqlInstanceSample", 1], [
    "PostgresqlTableSample",
    5,
  ]]);
  assert.deepEqual([...counts.entitiesByType], [["pg-instance", 1], ["pg-table", 3]], "t2 of d and of e");
  assert.equal(counts.metricValues, 2 + 1 + 2 + 1 + 1);
});

Deno.test("countNri of no output is empty, and a broken line is named", () => {
  const empty = countNri("\n");
  assert.equal(empty.samplesByType.size, 0);
  assert.equal(empty.metricValues, 0);
  assert.throws(() => countNri(`${doc([])}\n{not json`), /stdout line 2 is not a JSON document/);
});
