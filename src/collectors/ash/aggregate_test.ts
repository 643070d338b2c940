import assert from "node:assert/strict";
import { aggregateAsh, MAX_BLOCKING_PIDS } from "./aggregate.ts";
import type { AshSample, AshSession } from "./sampler.ts";

const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);

function s(pid: number, over: Partial<AshSession> = {}): AshSession {
  return {
    pid,
    databaseName: "shop",
    userName: "app",
    state: "active",
    backendType: "client backend",
    ...over,
  };
}

const busy = (pid: number, cpu?: number) =>
  s(pid, { queryId: "11", ...(cpu === undefined ? {} : { cpuSeconds: cpu }) });
const waiting = (pid: number, blockers: number[]) =>
  s(pid, { queryId: "22", waitEventType: "Lock", waitEvent: "transactionid", blockingPids: blockers });
const idleInTx = (pid: number) =>
  s(pid, { state: "idle in transaction", waitEventType: "Client", waitEvent: "ClientRead", queryId: "33" });

Deno.test("aggregateAsh: groups by database, role, state, wait event and query id", () => {
  const samples: AshSample[] = [
    { atMs: T0, sessions: [busy(1, 0.5), busy(2), waiting(3, [9]), idleInTx(9)] },
    { atMs: T0 + 1000, sessions: [busy(1, 0.75), waiting(3, [9]), waiting(4, [3, 9]), idleInTx(9)] },
    { atMs: T0 + 2000, sessions: [busy(1, 1), idleInTx(9)] },
    { atMs: T0 + 3000, sessions: [] },
  ];
  const { aggregates, overflow } = aggregateAsh(samples, 1000);
  assert.equal(overflow, 0);
  const window = {
    windowSamples: 4,
    sampleIntervalMs: 1000,
    windowStart: "2026-03-01T10:00:00.000Z",
    windowStartUnixMs: T0,
    windowEnd: "2026-03-01T10:00:03.000Z",
    windowEndUnixMs: T0 + 3000,
  };
  assert.deepEqual(aggregates, [
    {
      databaseName: "shop",
      userName: "app",
      state: "active",
      queryId: "11",
      samples: 4,
      sessions: 2,
      averageActiveSessions: 1,
      cpuSeconds: 2.25,
      cpuSamples: 3,
      blockedSamples: 0,
      ...window,
    },
    {
      databaseName: "shop",
      userName: "app",
      state: "active",
      waitEventType: "Lock",
      waitEvent: "transactionid",
      queryId: "22",
      samples: 3,
      sessions: 2,
      averageActiveSessions: 0.75,
      cpuSamples: 0,
      blockedSamples: 3,
      blockingPids: "3,9",
      ...window,
    },
    {
      databaseName: "shop",
      userName: "app",
      state: "idle in transaction",
      waitEventType: "Client",
      waitEvent: "ClientRead",
      queryId: "33",
      samples: 3,
      sessions: 1,
      averageActiveSessions: 0.75,
      cpuSamples: 0,
      blockedSamples: 0,
      ...window,
    },
  ]);
});

Deno.test("aggregateAsh: the same state in another database, role or query is another group", () => {
  const samples: AshSample[] = [{
    atMs: T0,
    sessions: [
      s(1),
      s(2, { databaseName: "crm" }),
      s(3, { userName: undefined }),
      s(4, { queryId: "5" }),
      s(5, { waitEventType: "IO" }),
      s(6, { waitEventType: "IO", waitEvent: "DataFileRead" }),
      s(7),
    ],
  }];
  const { aggregates } = aggregateAsh(samples, 250);
  assert.equal(aggregates.length, 6);
  assert.deepEqual(aggregates[0], {
    databaseName: "shop",
    userName: "app",
    state: "active",
    samples: 2,
    sessions: 2,
    averageActiveSessions: 2,
    cpuSamples: 0,
    blockedSamples: 0,
    windowSamples: 1,
    sampleIntervalMs: 250,
    windowStart: "2026-03-01T10:00:00.000Z",
    windowStartUnixMs: T0,
    windowEnd: "2026-03-01T10:00:00.000Z",
    windowEndUnixMs: T0,
  });
  assert.equal(aggregates.find((a) => a.databaseName === "crm")?.samples, 1);
  assert.ok(aggregates.some((a) => a.userName === undefined && !("userName" in a)));
});

Deno.test("aggregateAsh: a waiter whose blockers are gone is not blocked; blocking pids are capped", () => {
  const many = Array.from({ length: MAX_BLOCKING_PIDS + 5 }, (_, i) => 500 - i);
  const samples: AshSample[] = [{ atMs: T0, sessions: [waiting(1, []), waiting(2, many)] }];
  const [group] = aggregateAsh(samples, 1000).aggregates;
  assert.equal(group.samples, 2);
  assert.equal(group.blockedSamples, 1);
  const listed = group.blockingPids!.split(",").map(Number);
  assert.equal(listed.length, MAX_BLOCKING_PIDS);
  assert.deepEqual(listed, [...many].sort((a, b) => a - b).slice(0, MAX_BLOCKING_PIDS));
});

Deno.test("aggregateAsh: beyond the group bound the largest groups are kept and the rest counted", () => {
  const sessions = [
    s(1, { queryId: "1" }),
    s(2, { queryId: "1" }),
    s(3, { queryId: "2" }),
    s(4, { queryId: "3" }),
  ];
  const { aggregates, overflow } = aggregateAsh(
    [{ atMs: T0, sessions }, { atMs: T0 + 10, sessions }],
    100,
    2,
  );
  assert.deepEqual(aggregates.map((a) => [a.queryId, a.samples]), [["1", 4], ["2", 2]]);
  assert.equal(overflow, 2);
});

Deno.test("aggregateAsh: no samples, no groups; average active sessions round to 4 decimals", () => {
  assert.deepEqual(aggregateAsh([], 1000), { aggregates: [], overflow: 0 });
  const three = [0, 1, 2].map((i) => ({ atMs: T0 + i, sessions: i === 0 ? [s(1)] : [] }));
  assert.equal(aggregateAsh(three, 1000).aggregates[0].averageActiveSessions, 0.3333);
});
