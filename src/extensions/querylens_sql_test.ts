import assert from "node:assert/strict";
import { clusterConnections } from "../../tests/support/qpm.ts";
import { startQueryLensCluster } from "../../tests/support/querylens.ts";
import { openRingReader } from "./querylens_ffi.ts";
import { readConsumerLost, readQueryLensInfo, readQueryLensRecords, recordFromRow } from "./querylens_sql.ts";

Deno.test("pg_querylens over SQL decodes exactly what the shared-memory reader decodes", async () => {
  await using cluster = await startQueryLensCluster({
    name: "qlsql",
    settings: { track_io_timing: "on", "pg_querylens.cpu": "thread" },
  });
  const cm = clusterConnections(cluster);
  try {
    const sql = cm.sql("postgres");
    const app = cluster.sql("postgres");
    await app.unsafe("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await app.unsafe("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
    await app.unsafe("SELECT count(*) FROM t WHERE v LIKE $1", ["a%"]);
    await app.unsafe("SELECT pg_sleep(0.05)");
    await assert.rejects(() => app.unsafe("SELECT 1 / (id - 3) FROM t"), /division by zero/);

    const info = await readQueryLensInfo(sql, "public");
    assert.equal(info.state, "ready");
    assert.equal(info.segmentName, `/pg_querylens.${cluster.port}`);
    assert.equal(info.cpuMode, "thread");
    assert.ok(info.recordsWritten > 0n);

    const reader = openRingReader(info.segmentName, { mode: "oldest", publish: false });
    const viaFfi = reader.drain().records;
    reader.close();
    const viaSql = await readQueryLensRecords(sql, "public", "test", 100_000);
    const key = (r: { ring: number; seq: bigint }) => `${r.ring}:${r.seq}`;
    const ffiByKey = new Map(viaFfi.map((r) => [key(r), r]));
    const common = viaSql.filter((r) => ffiByKey.has(key(r)));
    assert.ok(common.length >= 5, `${common.length} records in common`);
    for (const r of common) {
      const f = ffiByKey.get(key(r))!;
      // SQL shows the start as a timestamptz (microseconds): the same instant.
      assert.deepEqual({ ...r, startUs: Math.round(r.startUs) }, { ...f, startUs: f.startUs });
    }
    const failed = common.filter((r) => r.type === "error");
    assert.equal(failed.length, 1);
    assert.equal(failed[0].sqlstate, "22012");
    assert.ok(common.some((r) => r.io !== undefined && r.cpu !== undefined));

    // Consumed: the consumer's next read starts after them; nothing was lost.
    assert.deepEqual(
      (await readQueryLensRecords(sql, "public", "test", 100_000)).filter((r) => ffiByKey.has(key(r))),
      [],
    );
    assert.equal(await readConsumerLost(sql, "public", "test"), 0n);
  } finally {
    await cm.close();
  }
});

Deno.test("recordFromRow: NULL I/O and CPU columns mean not measured; ids stay exact", () => {
  const r = recordFromRow({
    ring: 2,
    seq: "41",
    record_type: "query",
    pid: 77,
    dbid: "5",
    userid: "10",
    toplevel: true,
    nesting_level: 0,
    cmd_type: 1,
    flags: 3,
    generation: "4294967297",
    exec_seq: "9",
    queryid: "-9223372036854775807",
    planid: "9223372036854775807",
    parent_queryid: "-9223372036854775807",
    start_us: 1.5e15,
    duration_ns: 1000,
    rows: 1,
    shared_read_us: null,
    cpu_user_us: null,
    wait_samples: "1,2",
    wait_event_last: 0,
    sqlstate: null,
  });
  assert.equal(r.queryId, -9223372036854775807n);
  assert.equal(r.planId, 9223372036854775807n);
  assert.equal(r.generation, 1);
  assert.equal(r.io, undefined);
  assert.equal(r.cpu, undefined);
  assert.deepEqual(r.waitSamples, [1, 2, 0, 0, 0, 0, 0, 0]);
  assert.equal(r.sqlstate, undefined);
});
