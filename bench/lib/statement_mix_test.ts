import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import { mixCapacity, mixSchemaSql, mixStatements, SHAPES, tableName } from "./statement_mix.ts";

Deno.test("mixStatements makes distinct structures up to the capacity, spread over tables and shapes", () => {
  const tables = 3;
  const all = mixStatements(mixCapacity(tables), tables);
  assert.equal(all.length, tables * SHAPES * 255);
  assert.equal(new Set(all.map((s) => s.key)).size, all.length);
  assert.equal(new Set(all.map((s) => s.text(0))).size, all.length);
  const perTable = new Map<string, number>();
  for (const s of mixStatements(120, tables)) {
    const t = s.key.split("/")[0];
    perTable.set(t, (perTable.get(t) ?? 0) + 1);
  }
  assert.deepEqual([...perTable.values()], [40, 40, 40]);
});

Deno.test("tableName cycles through the domains, then numbers them", () => {
  assert.equal(tableName(0), "app_orders_000");
  assert.equal(tableName(9), "app_invoices_001");
});

Deno.test("a statement's executions differ only in constants", () => {
  for (const s of mixStatements(40, 5)) {
    const [a, b] = [s.text(0), s.text(1)];
    assert.notEqual(a, b, s.key);
    assert.equal(a.replace(/\d+/g, "N"), b.replace(/\d+/g, "N"), s.key);
  }
});

Deno.test("texts run from about a hundred to several hundred characters", () => {
  const lengths = mixStatements(2000, 20).map((s) => s.text(0).length);
  assert.ok(Math.min(...lengths) >= 100, `shortest ${Math.min(...lengths)}`);
  assert.ok(Math.max(...lengths) >= 500, `longest ${Math.max(...lengths)}`);
});

Deno.test("the mix rejects counts it cannot make", () => {
  assert.throws(() => mixStatements(mixCapacity(2) + 1, 2), /count must be an integer between 1 and 2040/);
  assert.throws(() => mixStatements(10, 0), /tables must be an integer between 1 and 9999/);
  assert.throws(() => mixSchemaSql(2, 1.5), /rows must be an integer/);
});

Deno.test("every statement of the mix is its own pg_stat_statements entry", async () => {
  await using cluster = await startCluster({
    name: "benchmix",
    preload: ["pg_stat_statements"],
    settings: { "pg_stat_statements.track": "top" },
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("mix");
  const sql = cluster.sql("mix");
  await sql.unsafe(mixSchemaSql(4, 50)).simple();
  const statements = mixStatements(400, 4);
  for (let call = 0; call < 2; call++) {
    await sql.unsafe(statements.map((s) => s.text(call)).join(";\n")).simple();
  }
  const [row] = await cluster.sql()`
    SELECT count(*)::int AS entries, count(DISTINCT s.queryid)::int AS ids, min(s.calls)::int AS min_calls,
           max(s.calls)::int AS max_calls
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = 'mix' AND s.query LIKE '/* app=%'`;
  assert.deepEqual(row, { entries: 400, ids: 400, min_calls: 2, max_calls: 2 });
});
