import assert from "node:assert/strict";
import postgres from "postgres";
import { startCluster } from "../../tests/support/cluster.ts";
import { MARKER } from "../../src/query_engine/marker.ts";
import {
  callsDelta,
  countConnections,
  logOffset,
  logSince,
  statementCalls,
  unmarkedStatements,
} from "./pg_counters.ts";

Deno.test("countConnections matches the role exactly", () => {
  const log = [
    "2025-01-01 00:00:00 UTC [10] LOG:  connection received: host=127.0.0.1 port=5000",
    "2025-01-01 00:00:00 UTC [10] LOG:  connection authorized: user=monitor database=postgres",
    "2025-01-01 00:00:00 UTC [11] LOG:  connection authorized: user=monitor2 database=postgres",
    "2025-01-01 00:00:00 UTC [12] LOG:  connection authorized: user=monitor database=bench application_name=x",
  ].join("\n");
  assert.equal(countConnections(log, "monitor"), 2);
  assert.equal(countConnections(log, "monitor2"), 1);
  assert.equal(countConnections(log, "m.nitor"), 0);
});

Deno.test("statement calls and connections of one role, counted by the server", async () => {
  await using cluster = await startCluster({
    name: "benchcount",
    preload: ["pg_stat_statements"],
    settings: { "pg_stat_statements.track": "top", log_connections: "on" },
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createRole("watcher", "watcher-secret", { grants: ["pg_read_all_stats"] });
  const admin = cluster.sql();
  const before = await statementCalls(admin, "watcher");
  const offset = logOffset(cluster.logFile);
  for (let i = 0; i < 2; i++) {
    const sql = postgres({
      host: cluster.host,
      port: cluster.port,
      user: "watcher",
      password: "watcher-secret",
      database: "postgres",
      max: 1,
      fetch_types: false,
      onnotice: () => {},
    });
    try {
      for (let j = 0; j < 3; j++) await sql.unsafe(`${MARKER} SELECT ${j} AS n`);
      await sql.unsafe("SELECT 1 AS a, 2 AS b");
    } finally {
      await sql.end();
    }
  }
  const after = await statementCalls(admin, "watcher");
  assert.deepEqual(callsDelta(before, after), { byRole: 8, marked: 6 });
  assert.deepEqual(await unmarkedStatements(admin, "watcher"), [{
    text: "SELECT $1 AS a, $2 AS b",
    calls: 2,
  }]);
  assert.deepEqual(await unmarkedStatements(admin, "pg_monitor"), []);
  assert.equal(countConnections(logSince(cluster.logFile, offset), "watcher"), 2);
  assert.equal(countConnections(logSince(cluster.logFile, logOffset(cluster.logFile)), "watcher"), 0);
});
