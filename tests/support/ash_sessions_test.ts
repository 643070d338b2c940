import assert from "node:assert/strict";
import { startCluster } from "./cluster.ts";
import { LOCK_TABLE, startSessionStates } from "./ash_sessions.ts";

Deno.test("startSessionStates: sessions in the states asked for, all gone after stop()", async () => {
  await using cluster = await startCluster({ name: "ashstates" });
  const observer = cluster.sql();
  const states = await startSessionStates(cluster, "postgres", { busy: 2, waiters: 3, idleInTx: 2 });
  const all = [...states.busyPids, ...states.waiterPids, states.holderPid, ...states.idleInTxPids];
  assert.equal(new Set(all).size, 8);
  const rows = await observer.unsafe(
    "SELECT pid, state, wait_event_type FROM pg_stat_activity WHERE pid = ANY($1::int[])",
    [all],
  );
  const byPid = new Map(rows.map((r) => [r.pid, [r.state, r.wait_event_type]]));
  for (const pid of states.busyPids) assert.deepEqual(byPid.get(pid), ["active", null]);
  for (const pid of states.waiterPids) assert.deepEqual(byPid.get(pid), ["active", "Lock"]);
  for (const pid of [states.holderPid, ...states.idleInTxPids]) {
    assert.equal(byPid.get(pid)?.[0], "idle in transaction");
  }
  await states.stop();
  await states.stop();
  const left = await observer.unsafe(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])",
    [
      all,
    ],
  );
  assert.equal(left[0].n, 0, "every session closed");
  const [{ v }] = await observer.unsafe(`SELECT v FROM ${LOCK_TABLE} WHERE id = 1`);
  assert.equal(v, 3, "the holder rolled back; each waiter's update went through");
});

Deno.test("startSessionStates: counts must be integers >= 0", async () => {
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    startSessionStates(undefined as any, "postgres", { busy: -1, waiters: 0, idleInTx: 0 }),
    /busy must be an integer >= 0, got -1/,
  );
});
