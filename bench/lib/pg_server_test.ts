import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import {
  asServerUser,
  pinPostmaster,
  postmasterPid,
  restartServer,
  runProgram,
  serverProgram,
  serverRunning,
  settingArgs,
  stopServer,
} from "./pg_server.ts";

Deno.test("settingArgs turns settings into -c pairs and rejects what a shell would mangle", () => {
  assert.deepEqual(settingArgs({ shared_buffers: "256MB", "pg_querylens.cpu": "thread", x: "" }), [
    "-c",
    "shared_buffers=256MB",
    "-c",
    "pg_querylens.cpu=thread",
    "-c",
    "x=",
  ]);
  assert.throws(() => settingArgs({ "bad name": "1" }), /invalid server setting name "bad name"/);
  assert.throws(
    () => settingArgs({ application_name: "a b" }),
    /application_name: value "a b" may only hold/,
  );
  assert.throws(() => settingArgs({ work_mem: "4MB;rm" }), /work_mem: value/);
});

Deno.test("runProgram feeds standard input and returns output and exit code", async () => {
  const res = await runProgram(["sh", "-c", "tr a-z A-Z; echo oops >&2; exit 3"], { stdin: "hello\n" });
  assert.deepEqual(res, { code: 3, stdout: "HELLO\n", stderr: "oops\n" });
  const quiet = await runProgram(["echo", "x"], { stdout: "null" });
  assert.equal(quiet.stdout, "");
  await assert.rejects(runProgram([]), /empty command line/);
});

Deno.test("restartServer applies a configuration, pinPostmaster pins new backends, stopServer stops", async () => {
  await using cluster = await startCluster({ name: "bench-pgserver" });
  await restartServer(cluster, { shared_preload_libraries: "pg_stat_statements", work_mem: "7MB" });
  const sql = cluster.sql();
  try {
    const [lib] = await sql`SHOW shared_preload_libraries`;
    const [mem] = await sql`SHOW work_mem`;
    assert.equal(lib.shared_preload_libraries, "pg_stat_statements");
    assert.equal(mem.work_mem, "7MB");
  } finally {
    await sql.end();
  }

  await pinPostmaster(cluster, "0");
  const pinned = cluster.sql();
  try {
    const [{ pid }] = await pinned`SELECT pg_backend_pid() AS pid`;
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    assert.match(status, /^Cpus_allowed_list:\s+0$/m);
  } finally {
    await pinned.end();
  }

  await restartServer(cluster, {});
  const again = cluster.sql();
  try {
    const [lib] = await again`SHOW shared_preload_libraries`;
    assert.equal(lib.shared_preload_libraries, "", "a restart states the whole configuration");
    const [{ pid }] = await again`SELECT pg_backend_pid() AS pid`;
    assert.doesNotMatch(Deno.readTextFileSync(`/proc/${pid}/status`), /^Cpus_allowed_list:\s+0$/m);
  } finally {
    await again.end();
  }

  await assert.rejects(
    restartServer(cluster, { shared_preload_libraries: "no_such_library" }),
    /server did not start with .*no_such_library[\s\S]*--- server log ---[\s\S]*no_such_library/,
  );
  assert.equal(serverRunning(cluster), false);
  await restartServer(cluster, {});
  assert.ok(postmasterPid(cluster) > 0);
  await stopServer(cluster);
  assert.equal(serverRunning(cluster), false);
  await stopServer(cluster); // nothing to stop
  assert.throws(() => postmasterPid(cluster), /is not running/);

  const version = await runProgram(asServerUser(cluster, serverProgram(cluster, "postgres"), ["--version"]));
  assert.equal(version.code, 0);
  assert.match(version.stdout, new RegExp(`\\(PostgreSQL\\) ${cluster.major}\\.`));
});
