/**
 * The pg_querylens ring reader across a server crash-restart: a cluster with pg_querylens preloaded
 * (small rings), load from several connections, a reader draining continuously through FFI, then
 * one backend killed with SIGKILL. The postmaster reinitializes shared memory (generation + 1); the
 * reader must report the change (or a replaced segment, then reopen), accept only records of the
 * new generation afterwards, every one of them plausible, and keep getting records after the reset.
 */

import assert from "node:assert/strict";
import type postgres from "postgres";
import { openRingReader, QueryLensReaderError, type RingReader } from "../src/extensions/querylens_ffi.ts";
import type { QueryLensRecord } from "../src/extensions/querylens_record.ts";
import { discoveryPath, parseDiscovery, startQueryLensCluster } from "./support/querylens.ts";
import { buildFfi } from "./support/ring_stress.ts";
import { waitUntil } from "./support/workload.ts";

await buildFfi();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const WORKERS = 4;
const LOAD_MARK = 9_417_000; // the workers' statements return k >= this

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** One connection running a marked statement in a loop, reconnecting through the crash. */
async function worker(sql: postgres.Sql, id: number, pids: Set<number>, stop: () => boolean) {
  let k = 0;
  while (!stop()) {
    try {
      const rows = await sql.unsafe("SELECT pg_backend_pid() AS pid, $1::int AS k, $2::int AS w", [
        LOAD_MARK + k++,
        id,
      ]);
      pids.add(rows[0].pid as number);
    } catch {
      await sleep(20); // the connection was terminated by the crash, or the server is recovering
    }
  }
}

Deno.test("a crash-restart of the server: generation change reported, only new records after, records continue", async () => {
  const testStartUs = Date.now() * 1000;
  await using cluster = await startQueryLensCluster({
    name: "querylens-crash",
    settings: { "pg_querylens.ring_slots": "64", restart_after_crash: "on" },
  });
  const disc = parseDiscovery(Deno.readTextFileSync(discoveryPath(cluster)));
  const segment = disc.segment_name;
  assert.equal(segment, `/pg_querylens.${cluster.port}`);
  assert.equal(Number(disc.slots_per_ring), 64);

  // From the head: records of processes this test knows (its connections, pg_stat_activity).
  let reader: RingReader = openRingReader(segment, { mode: "head", publish: true });
  assert.equal(reader.header().generation, 1);

  // Backend pids seen by the workers and in pg_stat_activity: the pids records may carry.
  const pids = new Set<number>();
  let stopLoad = false;
  const clients = Array.from({ length: WORKERS }, () => cluster.sql());
  const load = clients.map((sql, i) => worker(sql, i, pids, () => stopLoad));
  const watcher = cluster.sql();
  const watch = (async () => {
    while (!stopLoad) {
      try {
        for (const r of await watcher`SELECT pid FROM pg_stat_activity`) pids.add(r.pid as number);
      } catch { /* the crash */ }
      await sleep(50);
    }
  })();

  // The reader: drains continuously, records every batch with the generation it follows.
  const batches: { records: QueryLensRecord[]; changed: boolean }[] = [];
  let changes = 0;
  let replaced = 0;
  let stopReader = false;
  const reading = (async () => {
    while (!stopReader) {
      try {
        const r = reader.drain();
        if (r.generationChanged) changes++;
        batches.push({ records: r.records, changed: r.generationChanged });
      } catch (e) {
        if (!(e instanceof QueryLensReaderError) || e.code !== "replaced") throw e;
        replaced++;
        reader.close();
        await waitUntil("the segment to come back", () => {
          try {
            reader = openRingReader(segment, { mode: "oldest", publish: true });
            return Promise.resolve(true);
          } catch {
            return Promise.resolve(false);
          }
        }, 20_000);
        batches.push({ records: [], changed: true });
      }
      await sleep(5);
    }
  })();

  try {
    const marked = () =>
      batches.flatMap((b) => b.records).filter((r) => r.generation === 1 && r.cmdType === 1 && r.rows === 1);
    await waitUntil("load records of generation 1", () => Promise.resolve(marked().length > 200), 20_000);

    // Kill one of the workers' backends: the postmaster resets shared memory.
    const victim = (await clients[0]`SELECT pg_backend_pid() AS pid`)[0].pid as number;
    const killedAt = Date.now();
    Deno.kill(victim, "SIGKILL");
    await waitUntil("the reader to see the reset", () => Promise.resolve(changes + replaced > 0), 30_000);
    await waitUntil(
      "records of the new generation",
      () =>
        Promise.resolve(batches.some((b) => b.records.some((r) => r.generation >= 2 && r.pid !== victim))),
      30_000,
    );
    await sleep(500);

    stopLoad = true;
    await Promise.all(load);
    await watch;
    stopReader = true;
    await reading;
    const rest = reader.drain(); // the rest, checked below with the others
    batches.push({ records: rest.records, changed: rest.generationChanged });
    const header = reader.header();
    assert.equal(header.generation, 2, "exactly one reset");
    assert.equal(header.state, "ready");

    // Until the reader noticed, records are of generation 1; from then on, of generation 2 only.
    const changedAt = batches.findIndex((b) => b.changed);
    assert.ok(changedAt >= 0);
    const beforeRecords = batches.slice(0, changedAt).flatMap((b) => b.records);
    const after = batches.slice(changedAt).flatMap((b) => b.records);
    assert.ok(beforeRecords.every((r) => r.generation === 1), "before the change: generation 1 only");
    assert.ok(
      batches.slice(changedAt + 1).every((b) => b.records.every((r) => r.generation === 2)),
      "after the change: generation 2 only",
    );
    // within the drain that saw the change, generation 1 records can only precede the change
    const order = batches[changedAt].records.map((r) => r.generation);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));

    // Records continue after the reset, from backends started after it.
    const newRecords = after.filter((r) => r.generation === 2);
    assert.ok(newRecords.length > 100, `only ${newRecords.length} records after the reset`);
    assert.ok(
      newRecords.every((r) => r.startUs >= killedAt * 1000 - 1_000_000),
      "new records start after the kill",
    );

    // Every accepted record is plausible.
    const wallNs = (Date.now() * 1000 - testStartUs) * 1000;
    const nowUs = Date.now() * 1000;
    const lastSeq = new Map<string, bigint>();
    for (const r of [...beforeRecords, ...after]) {
      const where = `ring ${r.ring} #${r.seq} (generation ${r.generation}, pid ${r.pid})`;
      assert.ok(r.type === "query" || r.type === "error", where);
      assert.ok(r.pid > 0 && (pids.has(r.pid) || alive(r.pid)), `${where}: unknown pid`);
      assert.ok(r.ring >= 0 && r.ring < header.nrings, `${where}: ring`);
      assert.ok(r.durationNs >= 0 && r.durationNs < wallNs, `${where}: duration ${r.durationNs} ns`);
      assert.ok(r.startUs >= testStartUs - 1_000_000 && r.startUs <= nowUs, `${where}: start ${r.startUs}`);
      assert.ok(r.dbid > 0 && r.userid > 0, `${where}: dbid ${r.dbid}, userid ${r.userid}`);
      assert.equal(r.waitSamples.length, 8);
      const key = `${r.generation}/${r.ring}`;
      const prev = lastSeq.get(key);
      assert.ok(prev === undefined || r.seq > prev, `${where}: seq after ${prev}`);
      lastSeq.set(key, r.seq);
      if (r.type === "error") assert.match(r.sqlstate ?? "", /^[0-9A-Z]{5}$/, where);
    }
    // The workers' statements are recognisable: SELECT, one row, top level.
    const workerRecords = newRecords.filter((r) => r.cmdType === 1 && r.rows === 1 && r.toplevel);
    assert.ok(workerRecords.length > 50, `${workerRecords.length} worker statements after the reset`);
    assert.ok(!newRecords.some((r) => r.pid === victim), "the killed backend wrote nothing after the reset");
  } finally {
    stopLoad = true;
    stopReader = true;
    await Promise.allSettled([...load, watch, reading]);
    reader.close();
  }
});
