import assert from "node:assert/strict";
import {
  databaseEntity,
  indexEntity,
  instanceEntity,
  pgbouncerEntity,
  tableEntity,
} from "../core/entities.ts";
import type { InstanceInfo } from "../core/model.ts";
import {
  attributesKey,
  DEFAULT_SERVICE_NAME,
  entityResource,
  instanceResource,
  SERVICE_INSTANCE_NAMESPACE,
  serviceInstanceId,
  uuidV5,
} from "./resource.ts";

const INSTANCE: InstanceInfo = {
  host: "db1.example.internal",
  port: "5432",
  serverVersionNum: 160004,
  majorVersion: 16,
  serverVersion: "16.4",
};

Deno.test("uuidV5: the RFC 9562 example (www.example.com in the DNS namespace)", () => {
  assert.equal(
    uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com"),
    "2ed6657d-e927-568b-95e1-2665a8aea6a2",
  );
  assert.throws(() => uuidV5("not-a-uuid", "x"), /invalid namespace UUID "not-a-uuid"/);
});

Deno.test("serviceInstanceId: stable per address and port, distinct otherwise, version 5", () => {
  const id = serviceInstanceId("db1.example.internal", "5432");
  assert.equal(id, serviceInstanceId("db1.example.internal", 5432));
  assert.equal(id, uuidV5(SERVICE_INSTANCE_NAMESPACE, "db1.example.internal:5432"));
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(id, serviceInstanceId("db1.example.internal", 5433));
  assert.notEqual(id, serviceInstanceId("db2.example.internal", 5432));
  assert.throws(() => serviceInstanceId("h", "54x"), /invalid server port "54x"/);
  assert.throws(() => serviceInstanceId("h", 70000), /invalid server port 70000/);
  assert.throws(() => serviceInstanceId(" ", 5432), /server address must not be empty/);
});

Deno.test("instanceResource: service, instance id, db system and server attributes", () => {
  assert.deepEqual(instanceResource(INSTANCE), {
    "service.name": DEFAULT_SERVICE_NAME,
    "service.instance.id": serviceInstanceId("db1.example.internal", 5432),
    "server.address": "db1.example.internal",
    "server.port": 5432n,
    "db.system.name": "postgresql",
  });
  assert.equal(instanceResource(INSTANCE, { serviceName: "orders-db" })["service.name"], "orders-db");
  assert.throws(() => instanceResource({ ...INSTANCE, port: "" }), /invalid server port ""/);
});

Deno.test("entityResource: contrib's per-entity attributes at each level", () => {
  const h = INSTANCE.host;
  const base = instanceResource(INSTANCE);
  assert.deepEqual(entityResource(instanceEntity(h, 5432), INSTANCE), base);
  assert.deepEqual(entityResource(databaseEntity(h, 5432, "shop"), INSTANCE), {
    ...base,
    "postgresql.database.name": "shop",
  });
  assert.deepEqual(entityResource(tableEntity(h, 5432, "shop", "sales", "orders"), INSTANCE), {
    ...base,
    "postgresql.database.name": "shop",
    "postgresql.schema.name": "sales",
    "postgresql.table.name": "orders",
  });
  assert.deepEqual(entityResource(indexEntity(h, 5432, "shop", "sales", "orders", "orders_pkey"), INSTANCE), {
    ...base,
    "postgresql.database.name": "shop",
    "postgresql.schema.name": "sales",
    "postgresql.table.name": "orders",
    "postgresql.index.name": "orders_pkey",
  });
});

Deno.test("entityResource: PgBouncer is its own server, without db.system.name", () => {
  const r = entityResource(pgbouncerEntity("pool.example.internal", 6432, "shop"), INSTANCE, {
    serviceName: "svc",
  });
  assert.deepEqual(r, {
    "service.name": "svc",
    "service.instance.id": serviceInstanceId("pool.example.internal", 6432),
    "server.address": "pool.example.internal",
    "server.port": 6432n,
    "pgbouncer.database.name": "shop",
  });
});

Deno.test("entityResource: unknown types and missing identity attributes are named", () => {
  assert.throws(
    () => entityResource({ name: "x", type: "pg-view", idAttributes: [] }, INSTANCE),
    /unknown entity type "pg-view" of entity "x"/,
  );
  assert.throws(
    () => entityResource({ name: "t", type: "pg-table", idAttributes: [] }, INSTANCE),
    /pg-table entity "t" has no "pg-database" identity attribute/,
  );
});

Deno.test("attributesKey: order-independent, tells ints from strings", () => {
  assert.equal(attributesKey({ a: "1", b: 2n }), attributesKey({ b: 2n, a: "1" }));
  assert.notEqual(attributesKey({ a: 1n }), attributesKey({ a: "1" }));
  assert.notEqual(attributesKey({ a: 1n }), attributesKey({ a: 1 }));
});
