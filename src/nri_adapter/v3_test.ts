import assert from "node:assert/strict";
import type { MetricSet } from "./metric_set.ts";
import {
  batches,
  encodeSamples,
  encodeV3Document,
  entityJson,
  eventJson,
  INTEGRATION_NAME,
  pgInstanceEntity,
  PUBLISH_THRESHOLD,
} from "./v3.ts";

const OPTS = { integrationVersion: "2.29.0", pretty: false, addHostname: false };
const sample = (n: number): MetricSet => new Map<string, string | number>([["event_type", "T"], ["n", n]]);

Deno.test("v3: the pg-instance entity is <host>:<port> without id attributes", () => {
  const entity = pgInstanceEntity({ host: "db1.example.net", port: "5432" });
  assert.deepEqual(entity, { name: "db1.example.net:5432", type: "pg-instance", idAttributes: [] });
  assert.deepEqual(entityJson(entity), {
    name: "db1.example.net:5432",
    type: "pg-instance",
    id_attributes: [],
  });
});

Deno.test("v3: id attributes are written as {Key,Value}, sorted by key", () => {
  const json = entityJson({
    name: "idx",
    type: "pg-index",
    idAttributes: [
      { key: "port", value: "5432" },
      { key: "pg-table", value: "t" },
      { key: "host", value: "db1" },
      { key: "pg-database", value: "shop" },
      { key: "pg-schema", value: "public" },
    ],
  });
  assert.deepEqual((json as { id_attributes: { Key: string }[] }).id_attributes.map((a) => a.Key), [
    "host",
    "pg-database",
    "pg-schema",
    "pg-table",
    "port",
  ]);
});

Deno.test("v3: document members come in the SDK's struct order", () => {
  const doc = encodeV3Document(
    [{ entity: pgInstanceEntity({ host: "h", port: "1" }), metrics: [sample(1)] }],
    OPTS,
  );
  assert.equal(
    doc,
    '{"name":"com.newrelic.postgresql","protocol_version":"3","integration_version":"2.29.0","data":[' +
      '{"entity":{"name":"h:1","type":"pg-instance","id_attributes":[]},"metrics":[{"event_type":"T","n":1}],' +
      '"inventory":{},"events":[]}]}\n',
  );
  assert.equal(INTEGRATION_NAME, "com.newrelic.postgresql");
});

Deno.test("v3: add_hostname is the last member of every data item, only when asked", () => {
  const entity = pgInstanceEntity({ host: "h", port: "1" });
  const doc = JSON.parse(encodeV3Document([{ entity, metrics: [] }, { entity, metrics: [] }], {
    ...OPTS,
    addHostname: true,
  }));
  for (const item of doc.data) {
    assert.deepEqual(Object.keys(item), ["entity", "metrics", "inventory", "events", "add_hostname"]);
    assert.equal(item.add_hostname, true);
  }
  const plain = JSON.parse(encodeV3Document([{ entity, metrics: [] }], OPTS));
  assert.deepEqual(Object.keys(plain.data[0]), ["entity", "metrics", "inventory", "events"]);
});

Deno.test("v3: inventory is a sorted map and events keep summary/category/attributes", () => {
  const doc = encodeV3Document([{
    entity: pgInstanceEntity({ host: "h", port: "1" }),
    metrics: [],
    inventory: new Map([["work_mem/setting", new Map([["value", "4096"]])], [
      "autovacuum/setting",
      new Map([["value", "on"]]),
    ]]),
    events: [{ summary: "restarted", category: "notifications" }],
  }], OPTS);
  assert.match(
    doc,
    /"inventory":\{"autovacuum\/setting":\{"value":"on"\},"work_mem\/setting":\{"value":"4096"\}\},"events":\[\{"summary":"restarted","category":"notifications"\}\]/,
  );
  assert.deepEqual(eventJson({ summary: "s", category: "c", attributes: new Map([["k", 1]]) }), {
    summary: "s",
    category: "c",
    attributes: new Map([["k", 1]]),
  });
});

Deno.test("v3: pretty output is tab-indented and still one document ending in a newline", () => {
  const doc = encodeV3Document(
    [{ entity: pgInstanceEntity({ host: "h", port: "1" }), metrics: [sample(2)] }],
    {
      ...OPTS,
      pretty: true,
    },
  );
  assert.equal(
    doc,
    '{\n\t"name": "com.newrelic.postgresql",\n\t"protocol_version": "3",\n\t"integration_version": "2.29.0",\n' +
      '\t"data": [\n\t\t{\n\t\t\t"entity": {\n\t\t\t\t"name": "h:1",\n\t\t\t\t"type": "pg-instance",\n' +
      '\t\t\t\t"id_attributes": []\n\t\t\t},\n\t\t\t"metrics": [\n\t\t\t\t{\n\t\t\t\t\t"event_type": "T",\n' +
      '\t\t\t\t\t"n": 2\n\t\t\t\t}\n\t\t\t],\n\t\t\t"inventory": {},\n\t\t\t"events": []\n\t\t}\n\t]\n}\n',
  );
});

Deno.test("v3: encodeSamples publishes at most 600 sets per document and nothing for none", () => {
  const entity = pgInstanceEntity({ host: "h", port: "1" });
  assert.equal(PUBLISH_THRESHOLD, 600);
  assert.deepEqual(encodeSamples(entity, [], OPTS), []);
  const sets = Array.from({ length: 1201 }, (_, i) => sample(i));
  const docs = encodeSamples(entity, sets, OPTS).map((d) => JSON.parse(d));
  assert.deepEqual(docs.map((d) => d.data[0].metrics.length), [600, 600, 1]);
  assert.deepEqual(
    docs.flatMap((d) => d.data[0].metrics.map((m: { n: number }) => m.n)),
    sets.map((_, i) => i),
  );
  assert.deepEqual(
    encodeSamples(entity, sets.slice(0, 5), OPTS, 2).map((d) => JSON.parse(d).data[0].metrics.length),
    [
      2,
      2,
      1,
    ],
  );
});

Deno.test("v3: batches refuses a size that is not a positive integer", () => {
  assert.throws(() => batches([1], 0), /batch size must be a positive integer, got 0/);
  assert.throws(() => batches([1], 1.5), /got 1.5/);
  assert.deepEqual(batches([1, 2, 3], 600), [[1, 2, 3]]);
});
