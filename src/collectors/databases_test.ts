import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import { resolveDatabases } from "./databases.ts";

Deno.test("resolveDatabases against a real server", async (t) => {
  await using cluster = await startCluster({ name: "dbs" });
  const admin = cluster.sql();
  for (const name of ["zeta", "alpha", "closed", "tmpl", "Mixed Case"]) {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  }
  await admin.unsafe(`ALTER DATABASE closed ALLOW_CONNECTIONS false`);
  await admin.unsafe(`ALTER DATABASE tmpl IS_TEMPLATE true`);
  const sql = cluster.sql();

  await t.step("all: connectable non-template databases, sorted", async () => {
    const [tmpl] = await admin`SELECT datallowconn FROM pg_database WHERE datname = 'tmpl'`;
    assert.equal(tmpl.datallowconn, true, "precondition: the template accepts connections");
    assert.deepEqual(await resolveDatabases(sql, "all", []), ["Mixed Case", "alpha", "postgres", "zeta"]);
  });

  await t.step("all, less the ignore list (names match exactly)", async () => {
    assert.deepEqual(await resolveDatabases(sql, "all", ["zeta", "mixed case", "absent"]), [
      "Mixed Case",
      "alpha",
      "postgres",
    ]);
    assert.deepEqual(await resolveDatabases(sql, "all", ["Mixed Case", "alpha", "postgres", "zeta"]), []);
  });

  await t.step("a database created later is found by the next resolution", async () => {
    await admin.unsafe(`CREATE DATABASE beta`);
    assert.deepEqual(await resolveDatabases(sql, "all", ["Mixed Case"]), [
      "alpha",
      "beta",
      "postgres",
      "zeta",
    ]);
  });

  await t.step("names: taken as given, deduplicated, sorted, ignore applied, no query", async () => {
    const ended = cluster.sql();
    await ended.end();
    assert.deepEqual(
      await resolveDatabases(ended, ["zeta", "closed", "zeta", "nosuchdb", "alpha"], ["alpha"]),
      [
        "closed",
        "nosuchdb",
        "zeta",
      ],
    );
    assert.deepEqual(await resolveDatabases(ended, [], []), []);
    await assert.rejects(resolveDatabases(ended, "all", []), "precondition: the ended client cannot query");
  });

  await t.step("the caller's arrays are left unchanged", async () => {
    const names = ["b", "a", "b"];
    const ignore = ["a"];
    assert.deepEqual(await resolveDatabases(sql, names, ignore), ["b"]);
    assert.deepEqual(names, ["b", "a", "b"]);
    assert.deepEqual(ignore, ["a"]);
  });
});
