import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import { clusterConnections } from "../../tests/support/qpm.ts";
import { debianServer, matrixServers, type ServerInstall } from "../../tests/support/servers.ts";
import { waitUntil } from "../../tests/support/workload.ts";
import type { StatsResetTimes } from "../core/model.ts";
import type { Session } from "../query_engine/connection.ts";
import { MARKER } from "../query_engine/marker.ts";
import { readStatsResets, statsResetSql } from "./stats_reset.ts";

Deno.test("statsResetSql: one marked statement; checkpointer and I/O only from 17 on", () => {
  for (const major of [undefined, 13, 16, 17, 18]) {
    const text = statsResetSql(major);
    assert.ok(text.startsWith(MARKER), text);
    assert.ok(!text.includes(";"), "one statement");
    assert.match(text, /FROM pg_stat_bgwriter/);
    assert.match(text, /FROM pg_stat_database/);
    const since17 = major !== undefined && major >= 17;
    assert.equal(/pg_stat_checkpointer/.test(text), since17, `checkpointer for ${major}`);
    assert.equal(/pg_stat_io/.test(text), since17, `io for ${major}`);
  }
});

/** The read times, once `ready` holds for them (statistics are asynchronous before 15). */
async function readWhen(
  sql: Session,
  major: number | undefined,
  what: string,
  ready: (r: StatsResetTimes) => boolean,
): Promise<StatsResetTimes> {
  let last: StatsResetTimes | undefined;
  await waitUntil(what, async () => {
    last = await readStatsResets(sql, major);
    return ready(last);
  });
  return last!;
}

function within(d: Date | undefined, from: number, to: number, what: string): number {
  assert.ok(d instanceof Date, `${what}: no time`);
  const t = d.getTime();
  assert.ok(t >= from && t <= to, `${what}: ${d.toISOString()} not within the reset call`);
  return t;
}

async function scenario(server: ServerInstall): Promise<void> {
  await using cluster = await startCluster({ name: `stats-reset-${server.id}`, server });
  await cluster.createDatabase("shop");
  const cm = clusterConnections(cluster);
  try {
    const sql = cm.sql("postgres");
    const shop = cm.sql("shop");
    const since17 = cluster.major >= 17;

    // Every time read is a real time of the past; only existing databases are named.
    const first = await readStatsResets(sql, cluster.major);
    const names = new Set((await sql.unsafe("SELECT datname FROM pg_database")).map((r) => r.datname));
    for (const [db, d] of first.databases) {
      assert.ok(names.has(db), `unknown database ${db}`);
      assert.ok(d.getTime() <= Date.now(), `${db}: reset in the future`);
    }

    // Resetting the shared counters moves the instance (and, on 17+, checkpointer and I/O) times.
    const sharedFrom = Date.now();
    await sql.unsafe("SELECT pg_stat_reset_shared('bgwriter')");
    if (since17) {
      await sql.unsafe("SELECT pg_stat_reset_shared('checkpointer')");
      await sql.unsafe("SELECT pg_stat_reset_shared('io')");
    }
    const shared = await readWhen(
      sql,
      cluster.major,
      "the shared stats_reset times to move",
      (r) =>
        (r.instance?.getTime() ?? 0) >= sharedFrom &&
        (!since17 ||
          ((r.checkpointer?.getTime() ?? 0) >= sharedFrom && (r.io?.getTime() ?? 0) >= sharedFrom)),
    );
    const sharedTo = Date.now();
    within(shared.instance, sharedFrom, sharedTo, "instance");
    if (since17) {
      within(shared.checkpointer, sharedFrom, sharedTo, "checkpointer");
      within(shared.io, sharedFrom, sharedTo, "io");
    } else {
      assert.deepEqual([shared.checkpointer, shared.io], [undefined, undefined]);
    }
    // Without the major version, the statement is valid on every version and skips the 17+ times.
    const plain = await readStatsResets(sql);
    assert.deepEqual([plain.instance, plain.checkpointer, plain.io], [shared.instance, undefined, undefined]);

    // pg_stat_reset() in shop moves shop's time forward, and only shop's.
    const before = shared.databases.get("shop")?.getTime() ?? 0;
    const postgresBefore = shared.databases.get("postgres")?.getTime();
    const from = Date.now();
    await shop.unsafe("SELECT pg_stat_reset()");
    const afterReset = await readWhen(
      sql,
      cluster.major,
      "shop's stats_reset to move",
      (r) => (r.databases.get("shop")?.getTime() ?? 0) >= from,
    );
    const t1 = within(afterReset.databases.get("shop"), from, Date.now(), "shop");
    assert.ok(t1 > before, "shop's stats_reset moved forward");
    assert.equal(afterReset.databases.get("postgres")?.getTime(), postgresBefore, "postgres is unchanged");

    // And once more: strictly later than the first reset.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await shop.unsafe("SELECT pg_stat_reset()");
    const again = await readWhen(
      sql,
      cluster.major,
      "shop's stats_reset to move again",
      (r) => (r.databases.get("shop")?.getTime() ?? 0) > t1,
    );
    assert.ok(again.databases.get("shop")!.getTime() > t1);
  } finally {
    await cm.close();
  }
}

Deno.test("readStatsResets on the default server", async () => {
  await scenario(debianServer());
});

Deno.test("readStatsResets on PostgreSQL 13 and 18", async (t) => {
  const servers = matrixServers().filter((s) => s.id === "pg13" || s.id === "pg18");
  for (const server of servers) await t.step(server.id, () => scenario(server));
});
