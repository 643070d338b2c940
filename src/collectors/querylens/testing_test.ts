import assert from "node:assert/strict";
import { WAIT_CLASSES } from "../../extensions/querylens_record.ts";
import { qlRecord, qlRecords, QUERY_ID, T0_US } from "./testing.ts";

Deno.test("qlRecord: a completed top-level SELECT at T0, fields overridable", () => {
  const r = qlRecord();
  assert.equal(r.type, "query");
  assert.equal(r.queryId, QUERY_ID);
  assert.equal(new Date(r.startUs / 1000).toISOString(), "2026-03-01T10:00:00.000Z");
  assert.equal(r.startUs, T0_US);
  assert.equal(r.waitSamples.length, WAIT_CLASSES.length);
  assert.equal(r.io, undefined);
  assert.equal(r.cpu, undefined);
  assert.equal(qlRecord({ pid: 7, type: "error" }).pid, 7);
  assert.equal(qlRecord({ pid: 7, type: "error" }).type, "error");
});

Deno.test("qlRecords: distinct execution numbers from 1", () => {
  const rs = qlRecords(3, { dbid: 5 });
  assert.deepEqual(rs.map((r) => r.execSeq), [1n, 2n, 3n]);
  assert.ok(rs.every((r) => r.dbid === 5));
});
