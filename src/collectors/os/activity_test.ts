import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { defaultConfig } from "../../config/defaults.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { activitySql, processFromRow, readServerProcesses } from "./activity.ts";

Deno.test("activitySql: one marked statement; query_id only where the server has it", () => {
  assert.ok(activitySql(true).startsWith(MARKER));
  assert.match(activitySql(true), /a\.query_id::text AS query_id/);
  assert.match(activitySql(false), /NULL::text AS query_id/);
  assert.match(activitySql(true), /a\.datname IS NULL OR a\.datname = ANY\(\$1::text\[\]\)/);
});

Deno.test("processFromRow: NULLs are absent, query id 0 is none, a leader is not its own leader", () => {
  const row = {
    pid: 70,
    leader_pid: null,
    backend_type: "checkpointer",
    datname: null,
    usename: null,
    state: null,
    wait_event_type: "Activity",
    wait_event: "CheckpointerMain",
    query_id: null,
    query_start_ms: null,
    backend_start_ms: 1000.5,
  };
  assert.deepEqual(processFromRow(row), {
    pid: 70,
    backendType: "checkpointer",
    waitEventType: "Activity",
    waitEvent: "CheckpointerMain",
    backendStartMs: 1000.5,
  });
  const worker = processFromRow({
    ...row,
    pid: 71,
    leader_pid: 9,
    backend_type: "parallel worker",
    datname: "shop",
    usename: "app",
    state: "active",
    query_id: "-42",
    query_start_ms: 2000,
  });
  assert.deepEqual(
    [
      worker.leaderPid,
      worker.databaseName,
      worker.userName,
      worker.state,
      worker.queryId,
      worker.queryStartMs,
    ],
    [9, "shop", "app", "active", "-42", 2000],
  );
  assert.equal(processFromRow({ ...row, leader_pid: 70 }).leaderPid, undefined);
  assert.equal(processFromRow({ ...row, query_id: "0" }).queryId, undefined);
});

Deno.test("readServerProcesses: the monitored databases' backends and the background processes", async () => {
  await using cluster = await startCluster({ name: "osactivity", settings: { compute_query_id: "on" } });
  await cluster.createDatabase("shop");
  await cluster.createDatabase("crm");
  const cm = clusterConnections(cluster);
  try {
    const reader = cm.sql("shop", "os");
    const collectorOwn = cm.sql("shop", "main");
    const ownPid = Number((await collectorOwn.unsafe("SELECT pg_backend_pid() AS pid"))[0].pid);
    const readerPid = Number((await reader.unsafe("SELECT pg_backend_pid() AS pid"))[0].pid);
    const app = cluster.sql("shop");
    const appPid = Number((await app`SELECT pg_backend_pid() AS pid`)[0].pid);
    const other = cluster.sql("crm");
    const otherPid = Number((await other`SELECT pg_backend_pid() AS pid`)[0].pid);

    const listed = await readServerProcesses(reader, {
      databases: ["shop"],
      applicationName: defaultConfig().session.applicationName,
      hasQueryId: true,
    });
    const byPid = new Map(listed.map((p) => [p.pid, p]));
    const mine = byPid.get(appPid);
    assert.ok(mine, "the application's backend in a monitored database is listed");
    assert.equal(mine.backendType, "client backend");
    assert.equal(mine.databaseName, "shop");
    assert.equal(mine.userName, "postgres");
    assert.equal(mine.state, "idle");
    assert.match(mine.queryId ?? "", /^-?\d+$/, "the most recent statement's query id");
    assert.ok(mine.backendStartMs !== undefined && Math.abs(mine.backendStartMs - Date.now()) < 60_000);
    assert.ok(!byPid.has(ownPid), "the collector's own sessions are left out");
    assert.ok(!byPid.has(readerPid), "the reading session is left out");
    assert.ok(!byPid.has(otherPid), "backends of databases that are not monitored are left out");
    const checkpointer = listed.find((p) => p.backendType === "checkpointer");
    assert.ok(checkpointer, "background processes are listed");
    assert.equal(checkpointer.databaseName, undefined);
    assert.deepEqual(listed.map((p) => p.pid), [...listed.map((p) => p.pid)].sort((a, b) => a - b));
  } finally {
    await cm.close();
  }
});
