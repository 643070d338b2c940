import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import { stopServer } from "./pg_server.ts";
import { initPgbench } from "./pgbench.ts";
import { checkSingleUserRun, runSingleUser, selectScript, timeSingleUser } from "./single_user.ts";

Deno.test("selectScript is deterministic, a longer script starts with a shorter one, ids are in range", () => {
  const short = selectScript(50, 2, 7);
  const long = selectScript(500, 2, 7);
  assert.equal(selectScript(50, 2, 7), short);
  assert.ok(long.startsWith(short));
  assert.notEqual(selectScript(50, 2, 8), short, "another seed draws other ids");
  const ids = long.trimEnd().split("\n").map((line) => {
    const m = /^SELECT abalance FROM pgbench_accounts WHERE aid = (\d+);$/.exec(line);
    assert.ok(m, line);
    return Number(m[1]);
  });
  assert.equal(ids.length, 500);
  assert.ok(ids.every((id) => id >= 1 && id <= 200_000));
  assert.ok(new Set(ids).size > 450, "ids are spread, not repeated");
  assert.ok(Math.max(...ids) > 150_000 && Math.min(...ids) < 50_000, "ids cover the range");
  assert.throws(() => selectScript(0, 1), /statement count must be a positive integer: 0/);
  assert.throws(() => selectScript(1, 0.5), /scale must be a positive integer: 0.5/);
});

Deno.test("checkSingleUserRun fails on a non-zero exit or an error message", () => {
  checkSingleUserRun("ok", { code: 0, stdout: "", stderr: "LOG:  checkpoint complete\n" });
  checkSingleUserRun("ok", { code: 0, stdout: "", stderr: "LOG:  ERRORS: none\n" });
  assert.throws(
    () => checkSingleUserRun("run", { code: 1, stdout: "", stderr: "bye\n" }),
    /run failed \(exit 1\):\nbye/,
  );
  assert.throws(
    () =>
      checkSingleUserRun("run", {
        code: 0,
        stdout: "",
        stderr: '2026-01-01 00:00:00 UTC [9] ERROR:  relation "x" does not exist\n',
      }),
    /run failed \(exit 0\):\n.*ERROR: {2}relation "x" does not exist/,
  );
});

Deno.test("single-user runs execute the script, report CPU time, and fail on a bad statement", async () => {
  await using cluster = await startCluster({ name: "bench-single" });
  await initPgbench(cluster, "postgres", 1);
  await stopServer(cluster);
  const run = { database: "postgres", settings: { shared_buffers: "32MB" }, input: selectScript(20_000, 1) };
  const short = await timeSingleUser(cluster, { ...run, input: selectScript(10, 1) });
  const long = await timeSingleUser(cluster, run);
  assert.equal(long.exitStatus, 0);
  assert.ok(
    long.cpuMs > short.cpuMs,
    `20,000 statements took ${long.cpuMs} ms CPU, 10 took ${short.cpuMs} ms`,
  );

  await runSingleUser(cluster, { ...run, input: "CREATE TABLE made_single (x int);\n" });
  await assert.rejects(
    runSingleUser(cluster, { ...run, input: "SELECT * FROM made_single;\nSELECT * FROM missing_table;\n" }),
    /single-user run failed \(exit 0\):[\s\S]*relation "missing_table" does not exist/,
  );
  await assert.rejects(
    runSingleUser(cluster, { ...run, settings: { shared_preload_libraries: "no_such_library" } }),
    /single-user run failed[\s\S]*no_such_library/,
  );
});
