import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import { collectionTimestamp, extObject, quoteIdent, rfc3339Nano, utcMicros } from "./context.ts";

Deno.test("quoteIdent doubles embedded quotes", () => {
  assert.equal(quoteIdent("public"), '"public"');
  assert.equal(quoteIdent('we"ird'), '"we""ird"');
  assert.equal(quoteIdent('""'), '""""""');
  assert.equal(quoteIdent(""), '""');
});

Deno.test("collectionTimestamp: UTC seconds with Z, fraction dropped", () => {
  assert.equal(collectionTimestamp(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))), "2024-01-02T03:04:05Z");
  assert.equal(
    collectionTimestamp(new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999))),
    "1999-12-31T23:59:59Z",
  );
  const now = new Date();
  assert.equal(Date.parse(collectionTimestamp(now)), Math.floor(now.getTime() / 1000) * 1000);
});

Deno.test("rfc3339Nano trims trailing zeros of the fraction as Go does", () => {
  assert.equal(rfc3339Nano("2024-01-02T03:04:05.123456"), "2024-01-02T03:04:05.123456Z");
  assert.equal(rfc3339Nano("2024-01-02T03:04:05.120000"), "2024-01-02T03:04:05.12Z");
  assert.equal(rfc3339Nano("2024-01-02T03:04:05.000100"), "2024-01-02T03:04:05.0001Z");
  assert.equal(rfc3339Nano("2024-01-02T03:04:05.000000"), "2024-01-02T03:04:05Z");
  assert.equal(rfc3339Nano("2024-01-02T03:04:05"), "2024-01-02T03:04:05Z");
});

Deno.test("utcMicros and extObject on a real server", async (t) => {
  await using cluster = await startCluster({ name: "qpmctx", preload: ["pg_stat_statements"] });
  const sql = cluster.sql();
  await sql.unsafe(`SET TimeZone = 'Asia/Kolkata'`);

  await t.step("utcMicros renders UTC with microseconds whatever the session time zone", async () => {
    const [r] = await sql.unsafe(
      `SELECT ${utcMicros("'2024-01-02 03:04:05.123456+02'::timestamptz")} AS t,
              ${utcMicros("'2024-06-30 23:59:59+00'::timestamptz")} AS whole,
              ${utcMicros("now()")} AS now, extract(epoch FROM now())::float8 * 1000 AS now_ms`,
    );
    assert.equal(r.t, "2024-01-02T01:04:05.123456");
    assert.equal(r.whole, "2024-06-30T23:59:59.000000");
    assert.equal(rfc3339Nano(r.whole), "2024-06-30T23:59:59Z");
    assert.ok(Math.abs(Date.parse(rfc3339Nano(r.now)) - r.now_ms) < 1, `${r.now} vs ${r.now_ms}`);
  });

  await t.step("utcMicros of NULL stays NULL", async () => {
    const [r] = await sql.unsafe(`SELECT ${utcMicros("NULL::timestamptz")} AS t`);
    assert.equal(r.t, null);
  });

  await t.step("extObject names an extension object that the server resolves", async () => {
    const schema = 'odd "stats"';
    await sql.unsafe(
      `CREATE SCHEMA ${quoteIdent(schema)}; CREATE EXTENSION pg_stat_statements SCHEMA ${quoteIdent(schema)}`,
    );
    const caps = await probeCapabilities(sql);
    const view = extObject(caps, "pg_stat_statements", "pg_stat_statements");
    assert.equal(view, '"odd ""stats""".pg_stat_statements');
    const rows = await sql.unsafe(`SELECT count(*)::int AS n FROM ${view}`);
    assert.equal(typeof rows[0].n, "number");
    const fn = extObject(caps, "pg_stat_statements", "pg_stat_statements");
    await sql.unsafe(`SELECT count(*) FROM ${fn}(false)`);
    assert.equal(extObject(caps, "pg_wait_sampling", "pg_wait_sampling_history"), undefined);
  });
});
