import assert from "node:assert/strict";
import { emptySnapshot } from "../core/model.ts";
import { assertValidDocuments } from "../../tests/support/schema.ts";
import * as nri from "./mod.ts";

Deno.test("mod: the public entry encodes a snapshot end to end", () => {
  const snap = emptySnapshot(
    { host: "db1", port: "5432", serverVersionNum: 170000, majorVersion: 17, serverVersion: "17.0" },
    new Date("2026-08-19T10:15:00Z"),
  );
  snap.waitEvents.push({
    waitEventName: "LWLock:WALWrite",
    waitCategory: "Locks",
    totalWaitTimeMs: 0.000000125,
    collectionTimestamp: "2026-08-19T10:15:00Z",
    queryId: "42",
    queryText: "INSERT INTO t VALUES ($1)",
    databaseName: "shop",
  });
  const opts: nri.NriOptions = {
    integrationVersion: "0.1.0",
    pretty: false,
    addHostname: false,
    isRds: false,
    protocol: 3,
  };
  const { documents } = nri.encodeQpmDocuments(snap, opts);
  assert.equal(documents.length, 1);
  assert.match(documents[0], /"total_wait_time_ms":1\.25e-7,/);
  assert.equal(assertValidDocuments(documents.join(""))[0].schema, "wait-events.schema.json");
});

Deno.test("mod: the building blocks compose into a base-style document", () => {
  const entity: nri.NriEntity = {
    name: "shop",
    type: "pg-database",
    idAttributes: [{ key: "port", value: "5432" }, { key: "host", value: "db1" }],
  };
  const { set } = nri.buildMetricSet("PostgresqlDatabaseSample", [
    { key: "displayName", type: "attribute", value: "shop" },
    { key: "entityName", type: "attribute", value: "database:shop" },
    { key: "db.connections", type: "gauge", value: "3" },
  ]);
  const docs = nri.encodeSamples(entity, [set], {
    integrationVersion: "0.1.0",
    pretty: false,
    addHostname: false,
  });
  const [parsed] = assertValidDocuments(docs.join(""), { partial: true });
  assert.equal(parsed.schema, "base.schema.json");
  assert.deepEqual((parsed.doc as { data: { entity: unknown }[] }).data[0].entity, {
    name: "shop",
    type: "pg-database",
    id_attributes: [{ Key: "host", Value: "db1" }, { Key: "port", Value: "5432" }],
  });
});
