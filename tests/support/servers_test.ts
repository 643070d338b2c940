import assert from "node:assert/strict";
import { join } from "node:path";
import {
  availableServers,
  debianServer,
  detectExtensions,
  EMBEDDED_MAJORS,
  matrixServers,
  repoRoot,
  SERVER_IDS,
  serverById,
} from "./servers.ts";

Deno.test("servers: repoRoot is the checkout holding deno.json and this file", () => {
  const root = repoRoot();
  assert.ok(Deno.statSync(join(root, "deno.json")).isFile);
  assert.ok(Deno.statSync(join(root, "tests", "support", "servers_test.ts")).isFile);
});

Deno.test("servers: every embedded major has a server id, in matrix order after debian15", () => {
  assert.deepEqual(SERVER_IDS, ["debian15", ...EMBEDDED_MAJORS.map((m) => `pg${m}`)]);
  for (const server of availableServers()) {
    assert.equal(serverById(server.id).binDir, server.binDir);
    if (server.id !== "debian15") assert.equal(server.major, Number(server.id.slice(2)));
    assert.equal(server.libDir === undefined, server.id === "debian15", `${server.id}: own libraries`);
  }
});

Deno.test("servers: debian15 is installed with the extensions the collector reads", () => {
  const server = debianServer();
  assert.equal(server.id, "debian15");
  assert.equal(server.major, 15);
  for (const ext of ["pg_stat_statements", "pg_wait_sampling", "pg_stat_kcache"]) {
    assert.ok(server.extensions.includes(ext), `${ext} missing from ${server.extensions.join(",")}`);
  }
});

Deno.test("servers: detectExtensions needs both the control file and the module", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "ext"));
    await Deno.mkdir(join(dir, "lib"));
    await Deno.writeTextFile(join(dir, "ext", "both.control"), "");
    await Deno.writeTextFile(join(dir, "lib", "both.so"), "");
    await Deno.writeTextFile(join(dir, "ext", "sql_only.control"), "");
    await Deno.writeTextFile(join(dir, "lib", "module_only.so"), "");
    assert.deepEqual(detectExtensions(join(dir, "ext"), join(dir, "lib")), ["both"]);
    assert.deepEqual(detectExtensions(join(dir, "missing"), join(dir, "lib")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("servers: PGQL_MATRIX selects ids in order and rejects unknown ones", () => {
  const installed = availableServers().map((s) => s.id);
  assert.ok(installed.includes("debian15"));
  assert.deepEqual(matrixServers("").map((s) => s.id), installed);
  const pick = installed.slice().reverse();
  assert.deepEqual(matrixServers(` ${pick.join(" , ")} ,`).map((s) => s.id), pick);
  assert.throws(() => matrixServers("debian15,pg99"), /unknown PostgreSQL server id "pg99"/);
  assert.throws(() => serverById("nope"), /unknown PostgreSQL server id "nope"/);
});

Deno.test("servers: a requested install that is missing is an error, never a skip", async () => {
  const emptyCheckout = await Deno.makeTempDir();
  try {
    const embedded = SERVER_IDS.filter((id) => id !== "debian15");
    assert.deepEqual(availableServers(emptyCheckout).map((s) => s.id), ["debian15"]);
    for (const id of embedded) {
      assert.throws(
        () => serverById(id, emptyCheckout),
        new RegExp(`"${id}" is not installed; run scripts/setup\\.sh`),
      );
    }
    assert.throws(() => matrixServers("debian15,pg14", emptyCheckout), /"pg14" is not installed/);
    assert.deepEqual(matrixServers("debian15", emptyCheckout).map((s) => s.id), ["debian15"]);
    assert.deepEqual(matrixServers("", emptyCheckout).map((s) => s.id), ["debian15"]);
  } finally {
    await Deno.remove(emptyCheckout);
  }
});
