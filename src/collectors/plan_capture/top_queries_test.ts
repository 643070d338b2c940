import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { createDictionary } from "./dictionary.ts";
import {
  hasToplevelColumn,
  rankByTimeDelta,
  readStatementTotals,
  type StatementTotals,
} from "./top_queries.ts";

const row = (queryId: string, calls: number, totalMs: number, databaseName = "shop"): StatementTotals => ({
  dbid: "16384",
  databaseName,
  queryId,
  calls,
  totalMs,
});

Deno.test("rankByTimeDelta: the first cycle ranks by total time, later ones by time this cycle", () => {
  const d = createDictionary(100);
  const first = rankByTimeDelta(d, [row("1", 10, 100), row("2", 1000, 50), row("3", 1, 400)], 2, 1);
  assert.deepEqual(first.map((r) => [r.queryId, r.delta.totalMs, r.delta.firstSeen]), [
    ["3", 400, true],
    ["1", 100, true],
  ]);
  const second = rankByTimeDelta(d, [row("1", 11, 101), row("2", 1100, 80), row("3", 1, 400)], 5, 2);
  assert.deepEqual(second.map((r) => [r.queryId, r.delta.calls, r.delta.totalMs]), [
    ["2", 100, 30],
    ["1", 1, 1],
  ], "query 3 did not run this cycle");
});

Deno.test("rankByTimeDelta: ties are ordered by database and query id; a limit of 0 ranks nothing", () => {
  const d = createDictionary(100);
  const ranked = rankByTimeDelta(d, [row("9", 1, 5, "b"), row("8", 1, 5, "b"), row("1", 1, 5, "a")], 10, 1);
  assert.deepEqual(ranked.map((r) => `${r.databaseName}/${r.queryId}`), ["a/1", "b/8", "b/9"]);
  assert.deepEqual(rankByTimeDelta(d, [row("1", 2, 9, "a")], 0, 2), []);
  assert.equal(d.counters.size, 3, "every statement's counters are kept, ranked or not");
});

Deno.test("readStatementTotals adds up a statement's entries per database, top level only where told apart", async () => {
  await using cluster = await startCluster({
    name: "plantop",
    preload: ["pg_stat_statements"],
    settings: { "pg_stat_statements.track": "all" },
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("shop");
  await cluster.createDatabase("other");
  const admin = cluster.sql();
  await admin`SELECT pg_stat_statements_reset()`;
  const shop = cluster.sql("shop");
  await shop.unsafe("CREATE TABLE t (id int)");
  for (let i = 0; i < 4; i++) await shop.unsafe(`SELECT count(*) FROM t WHERE id > ${i}`).simple();
  // The same statement nested in a function: another entry (toplevel = false), same query id.
  await shop.unsafe(
    "CREATE FUNCTION f() RETURNS SETOF bigint LANGUAGE plpgsql AS 'BEGIN RETURN QUERY SELECT count(*) FROM t WHERE id > 7; END'",
  );
  await shop.unsafe("SELECT f()");
  await cluster.sql("other").unsafe("SELECT count(*) FROM pg_class WHERE oid > $1", [0]);
  await shop.unsafe(`${MARKER} SELECT 1`);
  const [{ id: ownId }] = await admin.unsafe(
    `SELECT queryid::text AS id FROM pg_stat_statements WHERE query LIKE '${MARKER} SELECT%'`,
  );
  const [{ id: countId }] = await admin.unsafe(
    "SELECT queryid::text AS id FROM pg_stat_statements WHERE query = 'SELECT count(*) FROM t WHERE id > $1'",
  );
  const source = { fn: "public.pg_stat_statements", totalColumn: "total_exec_time" as const };
  assert.equal(await hasToplevelColumn(admin, '"public".pg_stat_statements'), true);
  const all = await readStatementTotals(admin, { ...source, hasToplevel: false }, ["shop"], [ownId]);
  assert.equal(all.find((t) => t.queryId === countId)?.calls, 5, "4 top-level calls and 1 nested one");
  const totals = await readStatementTotals(admin, { ...source, hasToplevel: true }, ["shop"], [ownId]);
  const count = totals.find((t) => t.queryId === countId);
  assert.ok(count, JSON.stringify(totals));
  assert.equal(count.calls, 4, "top-level calls only");
  assert.equal(count.databaseName, "shop");
  assert.ok(count.totalMs > 0);
  assert.ok(totals.every((t) => t.databaseName === "shop"), "only the monitored databases");
  assert.ok(!totals.some((t) => t.queryId === ownId), "own statements are left out");
  assert.equal(new Set(totals.map((t) => t.queryId)).size, totals.length, "one row per query id");
});
