import assert from "node:assert/strict";
import {
  buildFfi,
  removeSegment,
  ringStressOk,
  stressSegmentName,
} from "../../../tests/support/ring_stress.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { startQueryLensCluster } from "../../../tests/support/querylens.ts";
import { ffiSource, sqlSource } from "./source.ts";

async function segment(tag: string) {
  await buildFfi();
  const name = stressSegmentName(tag);
  await ringStressOk(["create", name, "--rings", "2", "--slots", "64"]);
  return { name, [Symbol.asyncDispose]: () => removeSegment(name) };
}

Deno.test("ffiSource: resumes from the cursors the previous reader published", async () => {
  await using seg = await segment("src-resume");
  await ringStressOk(["produce", seg.name, "--records", "5"]);
  const first = ffiSource(seg.name);
  assert.equal((await first.poll()).records.length, 10);
  first.close();
  await ringStressOk(["produce", seg.name, "--records", "3"]);
  const second = ffiSource(seg.name);
  try {
    const batch = await second.poll();
    assert.equal(batch.records.length, 6, "only the records written since the first reader stopped");
    assert.equal(batch.lost, 0);
    assert.deepEqual(batch.records.filter((r) => r.ring === 0).map((r) => r.seq), [5n, 6n, 7n]);
  } finally {
    second.close();
  }
});

Deno.test("ffiSource: a segment of another postmaster is refused; a replaced one fails the poll", async () => {
  await using seg = await segment("src-pid");
  const probe = ffiSource(seg.name, { mode: "head" });
  probe.close();
  assert.throws(
    () => ffiSource(seg.name, { postmasterPid: 1 }),
    /belongs to postmaster \d+, not to the monitored server's 1/,
  );
  const source = ffiSource(seg.name, { mode: "head" });
  try {
    await ringStressOk(["replace", seg.name]);
    await new Promise((r) => setTimeout(r, 1100)); // the library checks the name about once a second
    await assert.rejects(() => source.poll(), (e: unknown) => (e as { code?: string }).code === "replaced");
  } finally {
    source.close();
  }
  await assert.rejects(() => source.poll(), /closed/);
});

Deno.test("sqlSource: consumes under its name and counts what the rings overwrote", async () => {
  await using cluster = await startQueryLensCluster({
    name: "qlsrcsql",
    settings: { "pg_querylens.ring_slots": "16" },
  });
  const cm = clusterConnections(cluster);
  try {
    const source = sqlSource(cm.sql("postgres"), "public", "srctest");
    await source.poll();
    const app = cluster.sql("postgres");
    const [{ pid }] = await app.unsafe("SELECT pg_backend_pid() AS pid");
    for (let i = 0; i < 100; i++) await app.unsafe("SELECT $1::int", [i]);
    const batch = await source.poll();
    const mine = batch.records.filter((r) => r.pid === pid);
    assert.equal(mine.length, 16, "a ring keeps its last 16 records");
    assert.ok(batch.lost >= 84, `${batch.lost} lost`);
    assert.equal(batch.generationChanged, false);
    assert.equal((await source.poll()).records.filter((r) => r.pid === pid).length, 0);
  } finally {
    await cm.close();
  }
});
