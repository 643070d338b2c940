import assert from "node:assert/strict";
import {
  databaseEntity,
  displayNameOf,
  entityKey,
  entityNameOf,
  indexEntity,
  instanceEntity,
  isBaseEntityType,
  namingAttributes,
  pgbouncerEntity,
  tableEntity,
} from "./entities.ts";

Deno.test("instance entity: <host>:<port>, no identity attributes", () => {
  const e = instanceEntity("db1.example", 5432);
  assert.deepEqual(e, { name: "db1.example:5432", type: "pg-instance", idAttributes: [] });
  assert.deepEqual(namingAttributes(e), [
    { name: "displayName", sourceType: "attribute", value: "db1.example:5432" },
    { name: "entityName", sourceType: "attribute", value: "pg-instance:db1.example:5432" },
  ]);
});

Deno.test("database entity: identified by host and port", () => {
  const e = databaseEntity("localhost", "5433", "shop");
  assert.deepEqual(e, {
    name: "shop",
    type: "pg-database",
    idAttributes: [{ key: "host", value: "localhost" }, { key: "port", value: "5433" }],
  });
  assert.equal(entityNameOf(e), "database:shop");
  assert.equal(displayNameOf(e), "shop");
});

Deno.test("table and index entities: identity attributes sorted by key", () => {
  const t = tableEntity("h", 1, "shop", "sales", "orders");
  assert.equal(t.type, "pg-table");
  assert.equal(t.name, "orders");
  assert.deepEqual(t.idAttributes.map((a) => `${a.key}=${a.value}`), [
    "host=h",
    "pg-database=shop",
    "pg-schema=sales",
    "port=1",
  ]);
  assert.equal(entityNameOf(t), "table:orders");
  const i = indexEntity("h", 1, "shop", "sales", "orders", "orders_pkey");
  assert.equal(i.type, "pg-index");
  assert.deepEqual(i.idAttributes.map((a) => a.key), [
    "host",
    "pg-database",
    "pg-schema",
    "pg-table",
    "port",
  ]);
  assert.equal(i.idAttributes[3].value, "orders");
  assert.equal(entityNameOf(i), "index:orders_pkey");
  assert.equal(displayNameOf(i), "orders_pkey");
});

Deno.test("pgbouncer entity", () => {
  const e = pgbouncerEntity("pool.example", 6432, "shop");
  assert.equal(e.type, "pgbouncer");
  assert.deepEqual(e.idAttributes, [{ key: "host", value: "pool.example" }, { key: "port", value: "6432" }]);
  assert.equal(entityNameOf(e), "pgbouncer:shop");
});

Deno.test("entity key: type, name and lower-cased identity attributes", () => {
  const e = indexEntity("LocalHost", 5432, "Demo", "public", "T", "Idx");
  assert.equal(
    entityKey(e),
    "pg-index:Idx:host=localhost:pg-database=demo:pg-schema=public:pg-table=t:port=5432",
  );
  assert.equal(entityKey(instanceEntity("h", 5432)), "pg-instance:h:5432");
  const unsorted = {
    name: "d",
    type: "pg-database",
    idAttributes: [{ key: "port", value: "1" }, { key: "host", value: "H" }],
  };
  assert.equal(entityKey(unsorted), "pg-database:d:host=h:port=1");
});

Deno.test("empty names and unknown entity types are rejected with the culprit named", () => {
  assert.throws(() => instanceEntity("", 5432), /host must not be empty/);
  assert.throws(() => instanceEntity("h", ""), /port must not be empty/);
  assert.throws(() => databaseEntity("h", 1, " "), /database name must not be empty/);
  assert.throws(() => tableEntity("h", 1, "d", "", "t"), /schema name must not be empty/);
  assert.throws(() => indexEntity("h", 1, "d", "s", "t", ""), /index name must not be empty/);
  assert.throws(() => pgbouncerEntity("h", 1, ""), /PgBouncer database name must not be empty/);
  assert.equal(isBaseEntityType("pg-table"), true);
  assert.equal(isBaseEntityType("toString"), false);
  assert.throws(
    () => entityNameOf({ name: "x", type: "pg-thing", idAttributes: [] }),
    /unknown entity type "pg-thing"/,
  );
});
