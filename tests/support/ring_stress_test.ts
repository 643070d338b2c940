import assert from "node:assert/strict";
import { openRingReader } from "../../src/extensions/querylens_ffi.ts";
import {
  buildFfi,
  expectedRecord,
  type ReadReport,
  recordMismatch,
  removeSegment,
  ringStress,
  ringStressOk,
  startRingStress,
  stressSegmentName,
} from "./ring_stress.ts";

await buildFfi();

Deno.test("segment names are unique, short enough, and tags are checked", () => {
  const a = stressSegmentName("x");
  const b = stressSegmentName("x");
  assert.notEqual(a, b);
  assert.match(a, new RegExp(`^/pg_querylens\\.stress\\.${Deno.pid}\\.x\\.[0-9a-f]{8}$`));
  assert.ok(stressSegmentName("abcdefghijkl").length < 64);
  assert.throws(
    () => stressSegmentName("Bad Tag"),
    /segment tag must be 1-12 of \[a-z0-9_-\], got "Bad Tag"/,
  );
});

Deno.test("expectedRecord is the harness's record function: C and TypeScript agree on every field", async () => {
  const name = stressSegmentName("twin");
  try {
    await ringStressOk(["create", name, "--rings", "3", "--slots", "64"]);
    const produced = await ringStressOk(["produce", name, "--producers", "2", "--records", "40"]);
    assert.deepEqual(produced.heads, [40, 40, 40]);
    // the harness's C reader verifies with its own copy of the function
    const c = await ringStressOk<ReadReport>(["read", name]);
    assert.equal(c.copied, 120);
    assert.equal(c.torn, 0);
    // the FFI reader's records equal the TypeScript function's, field by field
    using reader = openRingReader(name, { mode: "oldest", publish: false });
    const records = reader.drain().records;
    assert.equal(records.length, 120);
    for (const r of records) assert.deepStrictEqual(r, expectedRecord(r.ring, Number(r.seq), 1));
  } finally {
    await removeSegment(name);
  }
});

Deno.test("records differ between laps of a slot and between rings", () => {
  const a = expectedRecord(0, 5, 1);
  const lapped = expectedRecord(0, 5 + 64, 1);
  const other = expectedRecord(1, 5, 1);
  for (const key of ["durationNs", "rows", "queryId", "startUs", "walBytes", "dbid"] as const) {
    assert.notEqual(a[key], lapped[key], key);
    assert.notEqual(a[key], other[key], key);
  }
  assert.deepStrictEqual(expectedRecord(0, 5, 1), a, "deterministic");
  assert.equal(expectedRecord(0, 5, 2).generation, 2);
});

Deno.test("recordMismatch names the first field that differs", () => {
  const rec = expectedRecord(2, 9, 1);
  assert.equal(recordMismatch(rec), undefined);
  assert.match(
    recordMismatch({ ...rec, rows: rec.rows + 1 }) ?? "",
    /^ring 2 #9\.rows: got \d+, expected \d+$/,
  );
  assert.match(
    recordMismatch({ ...rec, waitSamples: [...rec.waitSamples.slice(0, 7), 1] }) ?? "",
    /waitSamples\.7/,
  );
  // a record with CPU times, missing them, is a mismatch on cpu
  let n = 0;
  while (expectedRecord(2, n, 1).cpu === undefined) n++;
  const withCpu = expectedRecord(2, n, 1);
  delete withCpu.cpu;
  assert.match(recordMismatch(withCpu) ?? "", new RegExp(`^ring 2 #${n}\\.cpu: got undefined`));
});

Deno.test("bad usage exits 2 with the usage text; a failed operation exits 1", async () => {
  const bad = await ringStress(["create", "/x", "--rings"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--rings needs a value[\s\S]*usage: ring_stress COMMAND NAME/);
  const missing = await ringStress(["produce", stressSegmentName("none"), "--records", "1"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot open segment/);
  await assert.rejects(ringStressOk(["bump", stressSegmentName("none")]), /ring_stress bump .* exited 1/);
});

Deno.test("a background producer reports its heads when it exits", async () => {
  const name = stressSegmentName("bg");
  try {
    await ringStressOk(["create", name, "--rings", "2", "--slots", "16"]);
    const p = startRingStress(["produce", name, "--producers", "1", "--records", "10"]);
    const report = await p.done;
    assert.equal(p.exited(), true);
    assert.deepEqual(report.heads, [10, 10]);
    assert.equal(report.written, 20);
    assert.equal(report.bumps, 0);
  } finally {
    await removeSegment(name);
  }
});
