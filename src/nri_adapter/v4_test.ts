import assert from "node:assert/strict";
import type { MetricSet } from "./metric_set.ts";
import { pgInstanceEntity } from "./v3.ts";
import { encodeV4Document, encodeV4Samples, metricSetEvent, v4EntityJson } from "./v4.ts";

const TS = Date.parse("2026-08-19T10:15:00Z");
const OPTS = { integrationVersion: "0.1.0", pretty: false, timestampMs: TS, intervalMs: 15000 };
const ENTITY = pgInstanceEntity({ host: "db1", port: "5432" });

function slowSet(id: string): MetricSet {
  return new Map<string, string | number>([
    ["event_type", "PostgresSlowQueries"],
    ["query_id", id],
    ["query_text", "SELECT a < $1"],
    ["execution_count", 4],
  ]);
}

Deno.test("v4: the envelope carries protocol 4, the integration and the common block", () => {
  const doc = encodeV4Document([{ entity: ENTITY }], OPTS);
  assert.equal(
    doc,
    '{"protocol_version":"4","integration":{"name":"com.newrelic.postgresql","version":"0.1.0"},"data":[' +
      `{"common":{"timestamp":${TS},"interval.ms":15000,"attributes":{}},"metrics":[],` +
      '"entity":{"name":"db1:5432","displayName":"db1:5432","type":"pg-instance","metadata":{}},' +
      '"inventory":{},"events":[]}]}\n',
  );
});

Deno.test("v4: a metric set becomes one event with the whole row as attributes", () => {
  const event = metricSetEvent(slowSet("-1"), TS);
  assert.equal(event.summary, "PostgresSlowQueries");
  assert.equal(event.category, "PostgresSlowQueries");
  assert.equal(event.timestamp, TS);
  assert.deepEqual(event.attributes, slowSet("-1"));
  const json = JSON.parse(encodeV4Document([{ entity: ENTITY, events: [event] }], OPTS));
  assert.deepEqual(json.data[0].events[0], {
    timestamp: TS,
    summary: "PostgresSlowQueries",
    category: "PostgresSlowQueries",
    attributes: {
      event_type: "PostgresSlowQueries",
      execution_count: 4,
      query_id: "-1",
      query_text: "SELECT a < $1",
    },
  });
});

Deno.test("v4: a metric set without event_type cannot become an event", () => {
  assert.throws(() => metricSetEvent(new Map([["k", 1]]), TS), /metric set has no event_type/);
});

Deno.test("v4: strings keep Go's escaping and sets keep their sorted keys", () => {
  const doc = encodeV4Samples(ENTITY, [slowSet("7")], OPTS)[0];
  assert.match(
    doc,
    /"attributes":\{"event_type":"PostgresSlowQueries","execution_count":4,"query_id":"7","query_text":"SELECT a \\u003c \$1"\}/,
  );
});

Deno.test("v4: samples are split into documents of at most the batch size", () => {
  const sets = Array.from({ length: 5 }, (_, i) => slowSet(String(i)));
  const docs = encodeV4Samples(ENTITY, sets, OPTS, 2).map((d) => JSON.parse(d));
  assert.deepEqual(docs.map((d) => d.data[0].events.length), [2, 2, 1]);
  assert.deepEqual(
    docs.flatMap((d) =>
      d.data[0].events.map((e: { attributes: { query_id: string } }) => e.attributes.query_id)
    ),
    [
      "0",
      "1",
      "2",
      "3",
      "4",
    ],
  );
  assert.deepEqual(encodeV4Samples(ENTITY, [], OPTS), []);
});

Deno.test("v4: dimensional metrics and identifying attributes are written", () => {
  const entity = {
    name: "shop",
    type: "pg-database",
    idAttributes: [{ key: "port", value: "5432" }, { key: "host", value: "db1" }],
  };
  assert.deepEqual(
    JSON.parse(
      JSON.stringify(
        Object.fromEntries((v4EntityJson(entity) as { metadata: Map<string, string> }).metadata),
      ),
    ),
    {
      port: "5432",
      host: "db1",
    },
  );
  const doc = encodeV4Document([{
    entity,
    metrics: [{
      name: "db.connections",
      type: "gauge",
      value: 3,
      attributes: new Map<string, string | number>([["b", "2"], ["a", 1]]),
    }, {
      name: "db.commits",
      type: "count",
      value: 10,
      timestamp: TS,
      intervalMs: 15000,
      attributes: new Map(),
    }],
  }], OPTS);
  assert.match(doc, /"metadata":\{"host":"db1","port":"5432"\}/);
  assert.match(
    doc,
    new RegExp(
      '"metrics":\\[\\{"name":"db.connections","type":"gauge","attributes":\\{"a":1,"b":"2"\\},"value":3\\},' +
        `\\{"timestamp":${TS},"name":"db.commits","type":"count","attributes":\\{\\},"interval.ms":15000,"value":10\\}\\]`,
    ),
  );
});
