import assert from "node:assert/strict";
import postgres from "postgres";
import { startCluster } from "../../../tests/support/cluster.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { initSqlParser } from "../../query_engine/sql_text.ts";
import { HIDDEN_TEXT, MAX_TEXT, StatementTextCache } from "./statement_texts.ts";

await initSqlParser();

const PGSS = "public.pg_stat_statements";

Deno.test("StatementTextCache: LRU bound and text limits (no server needed)", () => {
  const cache = new StatementTextCache(2);
  cache.put(1, "10", "SELECT 10");
  cache.put(1, "11", "SELECT 11");
  assert.ok(cache.get(1, "10"), "touch 10 so that 11 is the least recently used");
  cache.put(1, "12", "SELECT 12");
  assert.equal(cache.get(1, "11"), undefined);
  assert.ok(cache.get(1, "10"));
  assert.ok(cache.get(1, "12"));
  assert.equal(cache.get(2, "10"), undefined, "keys include the database oid");
  const long = cache.put(1, "13", `SELECT ${"abc, ".repeat(2000)}1`);
  assert.equal(long.text.length, MAX_TEXT);
  assert.equal(long.type, "SELECT");
  assert.equal(cache.get(1, "10"), undefined, "10 was the least recently used (12 was read after it)");
  assert.equal(cache.put(1, "14", `  ${MARKER} SELECT 1`).own, true);
  assert.deepEqual(cache.ownQueryIds(), ["14"]);
  assert.equal(cache.get(1, "12"), undefined);
  assert.equal(cache.get(1, "13")?.text.length, MAX_TEXT);
  cache.put(1, "15", "SELECT 15");
  assert.equal(cache.get(1, "14"), undefined, "the bound holds for own statements too");
  assert.deepEqual(cache.ownQueryIds(), ["14"], "own ids outlive their texts");
  assert.ok(cache.get(1, "13") && cache.get(1, "15"));
});

Deno.test("StatementTextCache.fill against pg_stat_statements", async (t) => {
  await using cluster = await startCluster({ name: "texts", preload: ["pg_stat_statements"] });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createRole("plain", "pw-plain");
  const admin = cluster.sql();
  const sql = cluster.sql();
  const idOf = async (like: string) => {
    const rows = await admin`SELECT dbid, queryid::text AS id, query FROM pg_stat_statements
      WHERE query LIKE ${like} ORDER BY calls DESC LIMIT 1`;
    assert.equal(rows.length, 1, `no pg_stat_statements entry like ${like}`);
    return { dbid: rows[0].dbid as number, queryId: rows[0].id as string, raw: rows[0].query as string };
  };
  /** Executions of fill's own statement, as pg_stat_statements counts them. */
  const fillCalls = async () =>
    Number(
      (await admin`SELECT coalesce(sum(calls), 0)::int AS n FROM pg_stat_statements
        WHERE query LIKE ${MARKER + " SELECT s.dbid, s.queryid::text AS queryid%"}`)[0].n,
    );
  // Structurally different statements (an alias alone does not change a query id).
  await admin.unsafe("SELECT length('alpha') AS texts_alpha");
  await admin.unsafe("SELECT upper('beta') AS texts_beta, 42");
  await admin.unsafe(`${MARKER} SELECT lower('own') AS texts_own, 1, 2`);
  await admin.unsafe("CREATE ROLE leaky PASSWORD 'hunter2-secret'");
  const alpha = await idOf("%texts_alpha%");
  const beta = await idOf("%texts_beta%");
  const own = await idOf("%texts_own%");
  const utility = await idOf("CREATE ROLE leaky%");
  const cache = new StatementTextCache();

  await t.step("fetches only missing ids, in one statement per fill", async () => {
    const c0 = await fillCalls();
    assert.equal(await cache.fill(sql, PGSS, [alpha]), 1);
    assert.equal(cache.get(alpha.dbid, alpha.queryId)?.text, "SELECT length($1) AS texts_alpha");
    assert.equal(cache.get(alpha.dbid, alpha.queryId)?.type, "SELECT");
    assert.equal(await cache.fill(sql, PGSS, [alpha, beta, beta]), 1, "only beta is read");
    assert.equal(await cache.fill(sql, PGSS, [alpha, beta]), 0);
    assert.equal(await fillCalls(), c0 + 2, "the third fill ran no statement");
    assert.equal(cache.get(beta.dbid, beta.queryId)?.text, "SELECT upper($1) AS texts_beta, $2");
  });

  await t.step(
    "a query id shared with the collector's EXPLAIN of it keeps the application's text",
    async () => {
      // With pg_stat_statements.track = all the statement nested in the collector's EXPLAIN is counted
      // under the explained query's id (a second, non-top-level entry with the EXPLAIN's text).
      await admin.unsafe("CREATE TABLE texts_shared (id int PRIMARY KEY, v int)");
      await admin.unsafe("UPDATE texts_shared SET v = 2 WHERE id = 7");
      await admin.unsafe(`${MARKER} EXPLAIN (FORMAT JSON) UPDATE texts_shared SET v = 2 WHERE id = 7`);
      const app = await idOf("UPDATE texts_shared%");
      const rows = await admin`SELECT query FROM pg_stat_statements WHERE queryid = ${app.queryId}::bigint`;
      assert.ok(rows.some((r) => r.query.startsWith(MARKER)), `no collector entry: ${JSON.stringify(rows)}`);
      const cache2 = new StatementTextCache();
      await cache2.fill(sql, PGSS, [app]);
      assert.equal(cache2.get(app.dbid, app.queryId)?.text, "UPDATE texts_shared SET v = $1 WHERE id = $2");
      assert.equal(cache2.get(app.dbid, app.queryId)?.own, false);
      assert.ok(!cache2.ownQueryIds().includes(app.queryId));
    },
  );

  await t.step("absent pairs are not asked for again until their TTL has passed", async () => {
    const ghost = { dbid: alpha.dbid, queryId: "123456789" };
    const t0 = Date.now();
    assert.equal(await cache.fill(sql, PGSS, [ghost], t0), 0);
    assert.equal(cache.get(ghost.dbid, ghost.queryId), undefined);
    const c0 = await fillCalls();
    await cache.fill(sql, PGSS, [ghost], t0 + 1000);
    assert.equal(await fillCalls(), c0, "within the TTL: no statement");
    await cache.fill(sql, PGSS, [ghost], t0 + 301_000);
    assert.equal(await fillCalls(), c0 + 1, "after the TTL: asked again");
  });

  await t.step("own statements are recognised and their ids listed", async () => {
    await cache.fill(sql, PGSS, [own]);
    assert.equal(cache.get(own.dbid, own.queryId)?.own, true);
    assert.equal(cache.get(alpha.dbid, alpha.queryId)?.own, false);
    assert.ok(cache.ownQueryIds().includes(own.queryId));
    assert.ok(!cache.ownQueryIds().includes(alpha.queryId));
  });

  await t.step("utility statement texts are obfuscated on arrival", async () => {
    assert.ok(utility.raw.includes("hunter2-secret"), "precondition: pg_stat_statements keeps the literal");
    await cache.fill(sql, PGSS, [utility]);
    const text = cache.get(utility.dbid, utility.queryId)!;
    assert.ok(!text.text.includes("hunter2"), text.text);
    assert.match(text.text, /^CREATE ROLE leaky PASSWORD \?$/);
    assert.equal(text.type, "OTHER");
  });

  await t.step("statements hidden from an unprivileged role are not cached", async () => {
    const plain = postgres({
      host: cluster.host,
      port: cluster.port,
      username: "plain",
      password: "pw-plain",
      database: "postgres",
      max: 1,
      onnotice: () => {},
    });
    try {
      const [seen] = await plain.unsafe(
        `SELECT query FROM ${PGSS} WHERE query = $1 OR query IS NULL LIMIT 1`,
        [
          HIDDEN_TEXT,
        ],
      );
      assert.equal(seen?.query, HIDDEN_TEXT, "precondition: the role sees hidden rows");
      const fresh = new StatementTextCache();
      await fresh.fill(plain, PGSS, [alpha, beta]);
      assert.equal(fresh.get(alpha.dbid, alpha.queryId), undefined);
      assert.equal(fresh.get(beta.dbid, beta.queryId), undefined);
      assert.equal(
        await fresh.fill(sql, PGSS, [alpha], Date.now() + 301_000),
        1,
        "once the absence has expired, a privileged session fills it",
      );
      assert.ok(fresh.get(alpha.dbid, alpha.queryId));
    } finally {
      await plain.end();
    }
  });
});
