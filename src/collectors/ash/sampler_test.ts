import assert from "node:assert/strict";
import postgres from "postgres";
import { startCluster } from "../../../tests/support/cluster.ts";
import { startSessionStates } from "../../../tests/support/ash_sessions.ts";
import { serverById } from "../../../tests/support/servers.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { ashSampleSql, type AshSession, sessionFromRow, takeAshSample } from "./sampler.ts";

Deno.test("ashSampleSql: one marked statement; query_id only where the server has it", () => {
  const with14 = ashSampleSql(true);
  assert.ok(with14.startsWith(MARKER));
  assert.match(with14, /a\.query_id::text AS query_id/);
  assert.match(ashSampleSql(false), /NULL::text AS query_id/);
  assert.match(with14, /CASE WHEN a\.wait_event_type = 'Lock' THEN array_to_string\(pg_blocking_pids/);
});

Deno.test("sessionFromRow: NULLs are absent, query id 0 is none, blocking pids are numbers", () => {
  const row = {
    pid: 7,
    datname: "shop",
    usename: null,
    state: "active",
    wait_event_type: null,
    wait_event: null,
    query_id: "0",
    backend_type: "client backend",
    backend_start_ms: 1000.5,
    xact_start_ms: null,
    query_start_ms: 2000,
    blocking_pids: null,
  };
  assert.deepEqual(sessionFromRow(row), {
    pid: 7,
    databaseName: "shop",
    state: "active",
    backendType: "client backend",
    backendStartMs: 1000.5,
    queryStartMs: 2000,
  });
  const waiting = sessionFromRow({
    ...row,
    wait_event_type: "Lock",
    wait_event: "tuple",
    query_id: "-12",
    blocking_pids: "31,30",
  });
  assert.deepEqual(
    [waiting.waitEventType, waiting.waitEvent, waiting.queryId, waiting.blockingPids],
    ["Lock", "tuple", "-12", [31, 30]],
  );
  assert.deepEqual(sessionFromRow({ ...row, wait_event_type: "Lock", blocking_pids: "" }).blockingPids, []);
});

const byPid = (sessions: AshSession[]) => new Map(sessions.map((s) => [s.pid, s]));

Deno.test("takeAshSample reads the sessions of the monitored databases that are not idle", async () => {
  await using cluster = await startCluster({ name: "ashsampler" });
  await cluster.createDatabase("shop");
  await cluster.createDatabase("crm");
  await using states = await startSessionStates(cluster, "shop", { busy: 2, waiters: 3, idleInTx: 2 });
  // Left out: an idle session, a busy one in another database, one carrying the collector's name.
  const idle = cluster.sql("shop");
  const idlePid = (await idle`SELECT pg_backend_pid() AS pid`)[0].pid;
  const elsewhere = cluster.sql("crm");
  const elsewherePid = (await elsewhere`SELECT pg_backend_pid() AS pid`)[0].pid;
  const elsewhereSleep = elsewhere`SELECT pg_sleep(60)`.catch(() => {});
  const own = postgres({
    host: cluster.host,
    port: cluster.port,
    user: "postgres",
    password: cluster.password,
    database: "shop",
    max: 1,
    connection: { application_name: "pgquerylens-test" },
  });
  const ownPid = (await own`SELECT pg_backend_pid() AS pid`)[0].pid;
  const ownSleep = own`SELECT pg_sleep(60)`.catch(() => {});
  const sampler = cluster.sql("shop");
  const samplerPid = (await sampler`SELECT pg_backend_pid() AS pid`)[0].pid;
  try {
    const before = Date.now();
    const sample = await takeAshSample(sampler, {
      databases: ["shop"],
      applicationName: "pgquerylens-test",
      hasQueryId: true,
    });
    assert.ok(sample.atMs >= before && sample.atMs <= Date.now());
    const seen = byPid(sample.sessions);
    const expected = [...states.busyPids, ...states.waiterPids, states.holderPid, ...states.idleInTxPids];
    assert.deepEqual([...seen.keys()].sort(), [...expected].sort());
    for (const pid of [idlePid, elsewherePid, ownPid, samplerPid]) assert.ok(!seen.has(pid), `pid ${pid}`);

    for (const pid of states.busyPids) {
      const s = seen.get(pid)!;
      assert.equal(s.state, "active");
      assert.equal(s.waitEventType, undefined);
      assert.equal(s.blockingPids, undefined);
      assert.match(s.queryId ?? "", /^-?\d+$/);
    }
    const lockWaits = states.waiterPids.map((pid) => seen.get(pid)!);
    for (const s of lockWaits) {
      assert.equal(s.state, "active");
      assert.equal(s.waitEventType, "Lock");
      assert.ok(["transactionid", "tuple"].includes(s.waitEvent!), String(s.waitEvent));
      assert.ok(s.blockingPids!.length > 0, `pid ${s.pid} names who blocks it`);
    }
    assert.ok(
      lockWaits.some((s) => s.blockingPids!.includes(states.holderPid)),
      "the holder blocks the first waiter",
    );
    for (const pid of [states.holderPid, ...states.idleInTxPids]) {
      const s = seen.get(pid)!;
      assert.equal(s.state, "idle in transaction");
      assert.equal(s.blockingPids, undefined);
      assert.ok(s.xactStartMs! <= sample.atMs + 1000);
    }
    for (const s of sample.sessions) {
      assert.equal(s.databaseName, "shop");
      assert.equal(s.userName, "postgres");
      assert.equal(s.backendType, "client backend");
      assert.ok(s.backendStartMs! > before - 600_000 && s.backendStartMs! <= sample.atMs + 1000);
    }

    const other = await takeAshSample(sampler, {
      databases: ["crm"],
      applicationName: "x",
      hasQueryId: true,
    });
    assert.deepEqual(other.sessions.map((s) => s.pid), [elsewherePid], "only the other database's session");
  } finally {
    await states.stop();
    await sampler.unsafe("SELECT pg_cancel_backend($1), pg_cancel_backend($2)", [elsewherePid, ownPid]);
    await Promise.all([elsewhereSleep, ownSleep]);
    await own.end();
  }
});

Deno.test("takeAshSample runs on the oldest and newest servers (no query_id before 14)", async () => {
  for (const id of ["pg13", "pg18"]) {
    await using cluster = await startCluster({ name: `ash${id}`, server: serverById(id) });
    const busy = cluster.sql();
    const busyPid = (await busy`SELECT pg_backend_pid() AS pid`)[0].pid;
    const sleeping = busy`SELECT pg_sleep(60)`.catch(() => {});
    const sampler = cluster.sql();
    try {
      const sample = await takeAshSample(sampler, {
        databases: ["postgres"],
        applicationName: "pgquerylens",
        hasQueryId: cluster.major >= 14,
      });
      const s = sample.sessions.find((x) => x.pid === busyPid);
      assert.ok(s, `${id}: the sleeping session is sampled`);
      assert.deepEqual([s.state, s.waitEventType, s.waitEvent], ["active", "Timeout", "PgSleep"], id);
      assert.equal(s.queryId === undefined, cluster.major < 14, `${id}: query id ${s.queryId}`);
    } finally {
      await sampler.unsafe("SELECT pg_cancel_backend($1)", [busyPid]);
      await sleeping;
    }
  }
});
