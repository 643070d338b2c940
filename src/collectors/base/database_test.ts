import assert from "node:assert/strict";
import postgres from "postgres";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { matrixServers } from "../../../tests/support/servers.ts";
import type { BaseSample } from "../../core/model.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import { collectDatabaseSamples } from "./database.ts";
import { waitUntil } from "../../../tests/support/workload.ts";

const ACTIVITY = [
  "db.maxconnections",
  "db.connections",
  "db.commitsPerSecond",
  "db.rollbacksPerSecond",
  "db.readsPerSecond",
  "db.bufferHitsPerSecond",
  "db.rowsReturnedPerSecond",
  "db.rowsFetchedPerSecond",
  "db.rowsInsertedPerSecond",
  "db.rowsUpdatedPerSecond",
  "db.rowsDeletedPerSecond",
  "db.conflicts.tablespacePerSecond",
  "db.conflicts.locksPerSecond",
  "db.conflicts.snapshotPerSecond",
  "db.conflicts.bufferpinPerSecond",
  "db.conflicts.deadlockPerSecond",
];

const IO = [
  "db.tempFilesCreatedPerSecond",
  "db.tempWrittenInBytesPerSecond",
  "db.deadlocksPerSecond",
  "db.readTimeInMillisecondsPerSecond",
  "db.writeTimeInMillisecondsPerSecond",
];

const LOCKS = [
  "db.locks.accessExclusiveLock",
  "db.locks.accessShareLock",
  "db.locks.exclusiveLock",
  "db.locks.rowExclusiveLock",
  "db.locks.rowShareLock",
  "db.locks.shareLock",
  "db.locks.shareRowExclusiveLock",
  "db.locks.shareUpdateExclusiveLock",
];

const HOST = "db1.example";
const TRANSACTIONS = 25;

/** The samples of `db`, in order. */
function samplesOf(samples: BaseSample[], db: string): BaseSample[] {
  return samples.filter((s) => s.entity.name === db);
}

/** Metric `name` of the first sample of `db` that has it. */
function value(samples: BaseSample[], db: string, name: string): number {
  const m = samplesOf(samples, db).flatMap((s) => s.metrics).find((x) => x.name === name);
  assert.ok(m, `${db}: ${name} missing`);
  assert.equal(typeof m.value, "number", name);
  return m.value as number;
}

Deno.test("collectDatabaseSamples on the version matrix", async (t) => {
  for (const server of matrixServers()) {
    await t.step(server.id, async (s) => {
      await using cluster = await startCluster({ name: `base-db-${server.id}`, server });
      await cluster.createDatabase("alpha");
      await cluster.createDatabase("beta");
      await cluster.sql("alpha").unsafe("CREATE TABLE items (id int PRIMARY KEY, note text)");
      const cm = clusterConnections(cluster);
      const sql = cm.sql("postgres");
      const caps = await probeCapabilities(sql);
      const collect = (databases: string[], locks = true) =>
        collectDatabaseSamples(sql, caps, databases, HOST, cluster.port, { locks });
      try {
        await s.step("one sample per query and database; unknown and template databases absent", async () => {
          const samples = await collect(["alpha", "nope", "beta", "template1", "alpha"]);
          assert.deepEqual(samples.map((x) => x.entity.name), [
            "alpha",
            "alpha",
            "alpha",
            "beta",
            "beta",
            "beta",
          ]);
          const [{ max_connections }] = await cluster.sql().unsafe("SHOW max_connections");
          for (const db of ["alpha", "beta"]) {
            const [a, b, l] = samplesOf(samples, db);
            for (const x of [a, b, l]) {
              assert.equal(x.eventType, "PostgresqlDatabaseSample");
              assert.deepEqual(x.entity, {
                name: db,
                type: "pg-database",
                idAttributes: [{ key: "host", value: HOST }, { key: "port", value: String(cluster.port) }],
              });
              assert.deepEqual(x.metrics.slice(0, 2), [
                { name: "displayName", sourceType: "attribute", value: db },
                { name: "entityName", sourceType: "attribute", value: `database:${db}` },
              ]);
              assert.ok(!x.metrics.some((m) => m.name === "database"), "no database attribute");
              for (const m of x.metrics.slice(2)) {
                assert.ok(typeof m.value === "number" && Number.isInteger(m.value) && m.value >= 0, m.name);
              }
            }
            assert.deepEqual(a.metrics.slice(2).map((m) => m.name), ACTIVITY);
            assert.deepEqual(b.metrics.slice(2).map((m) => m.name), IO);
            assert.deepEqual(l.metrics.slice(2).map((m) => m.name), LOCKS);
            assert.ok(l.metrics.slice(2).every((m) => m.sourceType === "gauge"));
            assert.equal(value(samples, db, "db.maxconnections"), Number(max_connections));
            assert.equal(a.metrics.find((m) => m.name === "db.maxconnections")?.sourceType, "gauge");
            assert.equal(a.metrics.find((m) => m.name === "db.commitsPerSecond")?.sourceType, "rate");
          }
          assert.deepEqual(await collect(["nope"]), []);
          assert.deepEqual(await collect([]), []);
        });

        await s.step("without lock metrics: two samples per database", async () => {
          const samples = await collect(["beta", "alpha"], false);
          assert.deepEqual(samples.map((x) => x.entity.name), ["beta", "beta", "alpha", "alpha"]);
          assert.ok(samples.every((x) => !x.metrics.some((m) => m.name.startsWith("db.locks."))));
        });

        await s.step(`counters grow after ${TRANSACTIONS} transactions in alpha only`, async () => {
          const before = await collect(["alpha", "beta"], false);
          // A session of its own, ended afterwards: a backend flushes its pending statistics when it
          // exits, instead of after an idle delay (up to 10 s from PostgreSQL 15, or never while idle
          // before).
          const alpha = postgres({
            host: cluster.host,
            port: cluster.port,
            user: cluster.superuser,
            password: cluster.password,
            database: "alpha",
            max: 1,
            onnotice: () => {},
          });
          try {
            for (let i = 1; i <= TRANSACTIONS; i++) {
              await alpha.unsafe("INSERT INTO items VALUES ($1, 'n')", [i]);
            }
            await alpha.unsafe("DELETE FROM items WHERE id <= 5");
          } finally {
            await alpha.end({ timeout: 5 });
          }
          let after = before;
          await waitUntil("alpha's commits and inserts are counted", async () => {
            after = await collect(["alpha", "beta"], false);
            return value(after, "alpha", "db.commitsPerSecond") >=
                value(before, "alpha", "db.commitsPerSecond") + TRANSACTIONS &&
              value(after, "alpha", "db.rowsInsertedPerSecond") >=
                value(before, "alpha", "db.rowsInsertedPerSecond") + TRANSACTIONS &&
              value(after, "alpha", "db.rowsDeletedPerSecond") >=
                value(before, "alpha", "db.rowsDeletedPerSecond") + 5;
          });
          assert.ok(value(after, "alpha", "db.connections") >= 1, "the test's session on alpha is counted");
          for (const name of ["db.rowsInsertedPerSecond", "db.rowsDeletedPerSecond"]) {
            assert.equal(value(after, "beta", name), value(before, "beta", name), `beta's ${name} unchanged`);
          }
        });

        await s.step("the lock sample counts an AccessExclusiveLock held by another session", async () => {
          const holder = cm.sql("alpha", "holder");
          await holder.unsafe("BEGIN");
          try {
            await holder.unsafe("LOCK TABLE items IN ACCESS EXCLUSIVE MODE");
            const held = await collect(["alpha", "beta"]);
            assert.equal(value(held, "alpha", "db.locks.accessExclusiveLock"), 1);
            assert.ok(value(held, "alpha", "db.locks.exclusiveLock") >= 1, "the holder's virtual xid");
            for (const name of LOCKS) assert.equal(value(held, "beta", name), 0, `beta: ${name}`);
          } finally {
            await holder.unsafe("ROLLBACK");
          }
          const released = await collect(["alpha"]);
          assert.equal(value(released, "alpha", "db.locks.accessExclusiveLock"), 0);
        });

        await s.step("the collecting session's own locks are not counted", async () => {
          // The collecting session is connected to postgres and holds AccessShareLocks on the
          // catalogs it reads while the lock query runs.
          const own = await collect(["postgres"]);
          assert.equal(value(own, "postgres", "db.locks.accessShareLock"), 0);
        });
      } finally {
        await cm.close();
      }
    });
  }
});
