import assert from "node:assert/strict";
import { join } from "node:path";
import type { BaseEntity } from "../core/model.ts";
import { assertValidDocuments } from "../../tests/support/schema.ts";
import { type BaseDocumentInput, baseEntityKey, encodeBaseDocument, type PublishedSample } from "./base.ts";

const FIXTURES = join(import.meta.dirname!, "..", "..", "tests", "fixtures", "nri");
const golden = (name: string) => Deno.readTextFileSync(join(FIXTURES, name));
const OPTS = { integrationVersion: "2.29.0", pretty: false, addHostname: false };

const HOST = "db1.example.net";
const instance: BaseEntity = { name: `${HOST}:5432`, type: "pg-instance", idAttributes: [] };
const database = (name: string): BaseEntity => ({
  name,
  type: "pg-database",
  idAttributes: [{ key: "port", value: "5432" }, { key: "host", value: HOST }],
});
const table: BaseEntity = {
  name: "orders & <lines>",
  type: "pg-table",
  idAttributes: [
    { key: "port", value: "5432" },
    { key: "pg-schema", value: "public" },
    { key: "host", value: HOST },
    { key: "pg-database", value: "shop" },
  ],
};
const index: BaseEntity = {
  name: "orders_pkey",
  type: "pg-index",
  idAttributes: [
    { key: "pg-table", value: "orders & <lines>" },
    { key: "port", value: "5432" },
    { key: "host", value: HOST },
    { key: "pg-schema", value: "public" },
    { key: "pg-database", value: "shop" },
  ],
};
const named = (e: BaseEntity, entityName: string): [string, string][] => [
  ["displayName", e.name],
  ["entityName", entityName],
];

/**
 * The fixture document: samples arrive interleaved (a database before the instance, the two
 * databases alternating), the inventory has three settings, one with a NULL boot value.
 */
function fixture(): BaseDocumentInput {
  const shop = database("shop");
  const archive = database("archive");
  const samples: PublishedSample[] = [
    {
      entity: shop,
      eventType: "PostgresqlDatabaseSample",
      values: [...named(shop, "database:shop"), ["db.connections", 7], ["db.commitsPerSecond", 12.5]],
    },
    {
      entity: instance,
      eventType: "PostgresqlInstanceSample",
      values: [
        ...named(instance, `pg-instance:${instance.name}`),
        ["bgwriter.buffersAllocatedPerSecond", 41.2],
        ["checkpointer.checkpointsRequestedPerSecond", 0],
      ],
    },
    {
      entity: archive,
      eventType: "PostgresqlDatabaseSample",
      values: [...named(archive, "database:archive"), ["db.connections", 0], ["db.commitsPerSecond", 0]],
    },
    {
      entity: shop,
      eventType: "PostgresqlDatabaseSample",
      values: [...named(shop, "database:shop"), ["db.deadlocksPerSecond", 0], ["db.maxconnections", 100]],
    },
    {
      entity: archive,
      eventType: "PostgresqlDatabaseSample",
      values: [
        ...named(archive, "database:archive"),
        ["db.deadlocksPerSecond", 0.25],
        ["db.maxconnections", 100],
      ],
    },
    {
      entity: table,
      eventType: "PostgresqlTableSample",
      values: [
        ...named(table, `table:${table.name}`),
        ["database", "shop"],
        ["schema", "public"],
        ["table.bloatRatio", 1.25],
        ["table.dataSizeInBytes", 8192],
        ["table.liveRows", 1e21],
      ],
    },
    {
      entity: index,
      eventType: "PostgresqlIndexSample",
      values: [
        ...named(index, "index:orders_pkey"),
        ["database", "shop"],
        ["schema", "public"],
        ["table", table.name],
        ["index.sizeInBytes", 16384],
        ["index.rowsReadPerSecond", 1.5e-7],
      ],
    },
  ];
  const inventory = new Map<string, string | null>([
    ["max_connections/setting", "100"],
    ["max_connections/boot_val", "100"],
    ["max_connections/reset_val", "100"],
    ["config_file/setting", "/etc/postgresql/15/main/postgresql.conf"],
    ["config_file/boot_val", null],
    ["config_file/reset_val", "/etc/postgresql/15/main/postgresql.conf"],
    ["work_mem/setting", "8192"],
    ["work_mem/boot_val", "4096"],
    ["work_mem/reset_val", "4096"],
  ]);
  return { instance, samples, inventory };
}

type Doc = {
  data: {
    entity: { name: string; type: string; id_attributes: { Key: string; Value: string }[] };
    metrics: Record<string, unknown>[];
    inventory: Record<string, { value: string | null }>;
    events: unknown[];
    add_hostname?: boolean;
  }[];
};

Deno.test("base: the fixture document matches its golden file byte for byte and is valid", () => {
  const { document, dropped } = encodeBaseDocument(fixture(), OPTS);
  assert.deepEqual(dropped, []);
  assert.equal(document, golden("base-default.golden"));
  const [parsed, ...rest] = assertValidDocuments(document, { partial: true });
  assert.equal(rest.length, 0, "one document");
  assert.equal(parsed.schema, "base.schema.json");
});

Deno.test("base: decorated, pretty output matches its golden file and is valid", () => {
  const { document } = encodeBaseDocument(fixture(), {
    ...OPTS,
    pretty: true,
    addHostname: true,
    cluster: "prod-eu",
    service: "<checkout & pay>",
  });
  assert.equal(document, golden("base-decorated.golden"));
  const [parsed] = assertValidDocuments(document, { partial: true });
  for (const item of (parsed.doc as Doc).data) {
    assert.equal(item.add_hostname, true);
    for (const set of item.metrics) {
      assert.equal(set.cluster_name, "prod-eu");
      assert.equal(set.service_name, "<checkout & pay>");
    }
  }
});

Deno.test("base: entities in first-seen order (instance first), sets in sample order, inventory on the instance", () => {
  const doc = JSON.parse(encodeBaseDocument(fixture(), OPTS).document) as Doc;
  assert.deepEqual(doc.data.map((d) => `${d.entity.type}/${d.entity.name}`), [
    "pg-instance/db1.example.net:5432",
    "pg-database/shop",
    "pg-database/archive",
    "pg-table/orders & <lines>",
    "pg-index/orders_pkey",
  ]);
  assert.deepEqual(doc.data[1].metrics.map((m) => Object.keys(m).filter((k) => k.startsWith("db."))), [
    ["db.commitsPerSecond", "db.connections"],
    ["db.deadlocksPerSecond", "db.maxconnections"],
  ]);
  assert.deepEqual(doc.data[2].metrics.map((m) => m["db.deadlocksPerSecond"]), [undefined, 0.25]);
  assert.deepEqual(doc.data[0].inventory["config_file/boot_val"], { value: null });
  assert.equal(Object.keys(doc.data[0].inventory).length, 9);
  for (const item of doc.data.slice(1)) assert.deepEqual(item.inventory, {});
  for (const item of doc.data) assert.deepEqual(item.events, []);
  assert.deepEqual(doc.data[4].entity.id_attributes.map((a) => a.Key), [
    "host",
    "pg-database",
    "pg-schema",
    "pg-table",
    "port",
  ]);
  assert.deepEqual(doc.data[3].entity.id_attributes[1], { Key: "pg-database", Value: "shop" });
});

Deno.test("base: numbers stay numbers and strings stay strings, even numeric-looking ones", () => {
  const { document } = encodeBaseDocument({
    instance,
    samples: [{
      entity: instance,
      eventType: "PostgresqlInstanceSample",
      values: [["displayName", "5432"], ["entityName", "x"], ["n", 5432], ["neg", -0.5]],
    }],
  }, OPTS);
  const set = (JSON.parse(document) as Doc).data[0].metrics[0];
  assert.deepEqual(set, {
    displayName: "5432",
    entityName: "x",
    event_type: "PostgresqlInstanceSample",
    n: 5432,
    neg: -0.5,
  });
});

Deno.test("base: a non-finite number is dropped and reported, the rest of its sample is kept", () => {
  const shop = database("shop");
  const { document, dropped } = encodeBaseDocument({
    instance,
    samples: [{
      entity: shop,
      eventType: "PostgresqlDatabaseSample",
      values: [...named(shop, "database:shop"), ["db.a", NaN], ["db.b", 3], ["db.c", -Infinity]],
    }],
  }, OPTS);
  assert.deepEqual(dropped, [
    { eventType: "PostgresqlDatabaseSample", key: "db.a", reason: "not a finite number: NaN" },
    { eventType: "PostgresqlDatabaseSample", key: "db.c", reason: "not a finite number: -Infinity" },
  ]);
  const [parsed] = assertValidDocuments(document, { partial: true });
  assert.deepEqual(Object.keys((parsed.doc as Doc).data[1].metrics[0]), [
    "db.b",
    "displayName",
    "entityName",
    "event_type",
  ]);
});

Deno.test("base: the instance comes first even without samples; no inventory gives {}", () => {
  const { document } = encodeBaseDocument({ instance, samples: [] }, OPTS);
  assert.equal(
    document,
    '{"name":"com.newrelic.postgresql","protocol_version":"3","integration_version":"2.29.0","data":[' +
      '{"entity":{"name":"db1.example.net:5432","type":"pg-instance","id_attributes":[]},"metrics":[],' +
      '"inventory":{},"events":[]}]}\n',
  );
});

Deno.test("base: entities with the same SDK key are one entity (id order and id value case do not matter)", () => {
  assert.equal(
    baseEntityKey(index),
    "pg-index:orders_pkey:host=db1.example.net:pg-database=shop:pg-schema=public:pg-table=orders & <lines>:port=5432",
  );
  assert.equal(baseEntityKey(instance), "pg-instance:db1.example.net:5432");
  const a: BaseEntity = {
    name: "Shop",
    type: "pg-database",
    idAttributes: [{ key: "host", value: "H" }, { key: "port", value: "1" }],
  };
  const b: BaseEntity = {
    name: "Shop",
    type: "pg-database",
    idAttributes: [{ key: "port", value: "1" }, { key: "host", value: "h" }],
  };
  const c: BaseEntity = { ...a, name: "shop" };
  const d: BaseEntity = { ...a, type: "pg-table" };
  assert.equal(baseEntityKey(a), baseEntityKey(b));
  assert.notEqual(baseEntityKey(a), baseEntityKey(c), "names keep their case");
  const sample = (entity: BaseEntity, n: number): PublishedSample => ({
    entity,
    eventType: "PostgresqlDatabaseSample",
    values: [["displayName", entity.name], ["entityName", `database:${entity.name}`], ["n", n]],
  });
  const doc = JSON.parse(
    encodeBaseDocument({ instance, samples: [sample(a, 1), sample(c, 2), sample(b, 3), sample(d, 4)] }, OPTS)
      .document,
  ) as Doc;
  assert.deepEqual(
    doc.data.map((item) => [item.entity.name, item.entity.type, item.metrics.map((m) => m.n)]),
    [
      ["db1.example.net:5432", "pg-instance", []],
      ["Shop", "pg-database", [1, 3]],
      ["shop", "pg-database", [2]],
      ["Shop", "pg-table", [4]],
    ],
  );
  assert.equal(doc.data[1].entity.id_attributes[0].Value, "H", "the first-seen entity is written");
});

Deno.test("base: thousands of entities make a single document", () => {
  const count = 4000;
  const samples: PublishedSample[] = [];
  for (let i = 0; i < count; i++) {
    const entity: BaseEntity = { ...table, name: `t${i}` };
    samples.push({
      entity,
      eventType: "PostgresqlTableSample",
      values: [...named(entity, `table:t${i}`), ["database", "shop"], ["schema", "public"], [
        "table.bloatRatio",
        i,
      ]],
    });
  }
  const { document } = encodeBaseDocument({ instance, samples }, OPTS);
  assert.equal(document.indexOf("\n"), document.length - 1, "one line");
  const [parsed, ...rest] = assertValidDocuments(document, { partial: true });
  assert.equal(rest.length, 0);
  const data = (parsed.doc as Doc).data;
  assert.equal(data.length, count + 1);
  assert.deepEqual(data.slice(1).map((d) => d.metrics[0]["table.bloatRatio"]), samples.map((_, i) => i));
});

Deno.test("base: malformed input is refused with an error naming the problem", () => {
  const ok = fixture();
  const cases: [BaseDocumentInput, RegExp][] = [
    [
      { ...ok, instance: { ...instance, type: "pg-database" } },
      /instance: the entity type must be pg-instance/,
    ],
    [{ ...ok, instance: { ...instance, name: "" } }, /instance: the entity name must be a non-empty string/],
    [
      { ...ok, samples: [{ ...ok.samples[0], eventType: "" }] },
      /samples\[0\]: eventType must be a non-empty string/,
    ],
    [
      { ...ok, samples: [ok.samples[0], { ...ok.samples[1], values: [["x", true as unknown as number]] }] },
      /samples\[1\]\.values\[0\] \(x\): the value must be a number or a string, got boolean/,
    ],
    [
      { ...ok, samples: [{ ...ok.samples[0], values: [["", 1]] }] },
      /samples\[0\]\.values\[0\]: the name must be a non-empty string/,
    ],
    [
      {
        ...ok,
        samples: [{
          ...ok.samples[0],
          entity: { ...table, idAttributes: [...table.idAttributes, { key: "host", value: "other" }] },
        }],
      },
      /samples\[0\]\.entity \(pg-table orders & <lines>\): id attribute "host" is repeated/,
    ],
    [
      { ...ok, samples: [{ ...ok.samples[0], entity: { ...table, type: "" } }] },
      /samples\[0\]\.entity \(orders & <lines>\): the entity type must be a non-empty string/,
    ],
    [
      { ...ok, inventory: new Map([["a/setting", 5 as unknown as string]]) },
      /inventory item "a\/setting": the value must be a string or null/,
    ],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => encodeBaseDocument(input, OPTS),
      (e: Error) => e instanceof TypeError && message.test(e.message),
    );
  }
});
